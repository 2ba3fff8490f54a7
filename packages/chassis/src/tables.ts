/**
 * OVN 23.03's OpenFlow conventions on a chassis (`controller/lflow.h`,
 * `include/ovn/logical-fields.h`): the table layout, the logical registers and the logical flag
 * bits. Everything that builds or reads a chassis's flows takes its numbers from here.
 */

/** OpenFlow table numbers of ovn-controller 23.03 (`OFTABLE_*`). */
export const OFTABLE = {
  /** Physical-to-logical: ports and tunnels to logical datapath and port. */
  PHY_TO_LOG: 0,
  /** First table of the logical ingress pipeline (stage i runs in table 8 + i). */
  LOG_INGRESS_PIPELINE: 8,
  /** `output;` of the ingress pipeline lands here: packet-too-large detection. */
  OUTPUT_LARGE_PKT_DETECT: 37,
  /** Packet-too-large processing. */
  OUTPUT_LARGE_PKT_PROCESS: 38,
  /** Output to remote chassis (tunnels). */
  REMOTE_OUTPUT: 39,
  /** Output to this chassis. */
  LOCAL_OUTPUT: 40,
  /** Drops a packet whose logical inport and outport are equal (unless loopback is allowed). */
  CHECK_LOOPBACK: 41,
  /** First table of the logical egress pipeline. */
  LOG_EGRESS_PIPELINE: 42,
  /** `output;` of the egress pipeline: hairpin handling. */
  SAVE_INPORT: 64,
  /** Logical-to-physical: logical output port to OpenFlow port. */
  LOG_TO_PHY: 65,
  /** MAC bindings: `get_arp`/`get_nd` results. */
  MAC_BINDING: 66,
  /** MAC bindings: `lookup_arp`/`lookup_nd` results. */
  MAC_LOOKUP: 67,
  /** Load balancer hairpin detection. */
  CHK_LB_HAIRPIN: 68,
  /** Load balancer hairpin reply detection. */
  CHK_LB_HAIRPIN_REPLY: 69,
  /** SNAT of hairpinned load balancer traffic to the VIP. */
  CT_SNAT_HAIRPIN: 70,
  /** `get_fdb`. */
  GET_FDB: 71,
  /** `lookup_fdb`. */
  LOOKUP_FDB: 72,
  /** `check_in_port_sec()`. */
  CHK_IN_PORT_SEC: 73,
  /** `check_in_port_sec()` for ARP/ND. */
  CHK_IN_PORT_SEC_ND: 74,
  /** `check_out_port_sec()`. */
  CHK_OUT_PORT_SEC: 75,
  /** `chk_ecmp_nh_mac()`. */
  ECMP_NH_MAC: 76,
  /** `chk_ecmp_nh()`. */
  ECMP_NH: 77,
  /** Load balancer affinity (learned flows). */
  CHK_LB_AFFINITY: 78,
} as const;

/** Logical flag bits of reg10 (`MLF_*_BIT`). */
export const MLF_BIT = {
  ALLOW_LOOPBACK: 0,
  RCV_FROM_RAMP: 1,
  FORCE_SNAT_FOR_DNAT: 2,
  FORCE_SNAT_FOR_LB: 3,
  LOCAL_ONLY: 4,
  NESTED_CONTAINER: 5,
  LOOKUP_MAC: 6,
  LOOKUP_LB_HAIRPIN: 7,
  LOOKUP_FDB: 8,
  SKIP_SNAT_FOR_LB: 9,
  LOCALPORT: 10,
  USE_SNAT_ZONE: 11,
  CHECK_PORT_SEC: 12,
  LOOKUP_COMMIT_ECMP_NH: 13,
  USE_LB_AFF_SESSION: 14,
} as const;

/** The OVS registers that carry logical fields (`MFF_LOG_*`). */
export const LOG_REG = {
  /** `MFF_LOG_FLAGS`. */
  FLAGS: 'reg10',
  /** `MFF_LOG_DNAT_ZONE` (routers). */
  DNAT_ZONE: 'reg11',
  /** `MFF_LOG_SNAT_ZONE` (routers). */
  SNAT_ZONE: 'reg12',
  /** `MFF_LOG_CT_ZONE` (switch ports). */
  CT_ZONE: 'reg13',
  /** `MFF_LOG_INPORT`. */
  INPORT: 'reg14',
  /** `MFF_LOG_OUTPORT`. */
  OUTPORT: 'reg15',
  /** `MFF_LOG_DATAPATH`. */
  DATAPATH: 'metadata',
} as const;

/** Number of logical registers reg0..reg9 (`MFF_N_LOG_REGS`). */
export const N_LOG_REGS = 10;

/** Smallest multicast group key (`OVN_MIN_MULTICAST`). */
export const OVN_MIN_MULTICAST = 32768;

/** OpenFlow port none (`OFPP_NONE`), which table 64 loads into `in_port` to allow hairpinning. */
export const OFPP_NONE = 0xffff;

/** `NX_CTLR_NO_METER`: a controller action without a meter. */
export const NX_CTLR_NO_METER = 0;

/** The pinctrl operation codes carried in the first word of controller userdata (`enum action_opcode`). */
export const ACTION_OPCODE = {
  ARP: 0,
  PUT_ARP: 1,
  PUT_DHCP_OPTS: 2,
  ND_NA: 3,
  PUT_ND: 4,
  PUT_DHCPV6_OPTS: 5,
  DNS_LOOKUP: 6,
  LOG: 7,
  PUT_ND_RA_OPTS: 8,
  ND_NS: 9,
  ICMP: 10,
  TCP_RESET: 11,
  ND_NA_ROUTER: 12,
  PUT_ICMP4_FRAG_MTU: 13,
  ICMP4_ERROR: 14,
  EVENT: 15,
  IGMP: 16,
  BIND_VPORT: 17,
  HANDLE_SVC_CHECK: 18,
  DHCP6_SERVER: 19,
  ICMP6_ERROR: 20,
  PUT_ICMP6_FRAG_MTU: 21,
  REJECT: 22,
  BFD_MSG: 23,
  SCTP_ABORT: 24,
  PUT_FDB: 25,
  ACTIVATION_STRATEGY_RARP: 26,
} as const;
