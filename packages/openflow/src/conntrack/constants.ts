/**
 * Named values of the connection tracker: ct_state bits, OVS's TCP peer states (ct-dpif.h), the
 * timeout-policy attributes with OVS userspace defaults (lib/conntrack-tp.c) and the NAT action
 * bits. Numbers, not enums, so that unknown values still print.
 */

/** ct_state bits (ovs-fields(7); the same values as `CT_STATE_FLAGS`). */
export const CtState = {
  New: 0x01,
  Established: 0x02,
  Related: 0x04,
  Reply: 0x08,
  Invalid: 0x10,
  Tracked: 0x20,
  SrcNat: 0x40,
  DstNat: 0x80,
} as const;

/** TCP peer states as OVS numbers them (`CT_DPIF_TCPS_*`); the pf-style tracker uses a subset. */
export const TcpState = {
  CLOSED: 0,
  LISTEN: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  ESTABLISHED: 4,
  CLOSE_WAIT: 5,
  FIN_WAIT_1: 6,
  CLOSING: 7,
  LAST_ACK: 8,
  FIN_WAIT_2: 9,
  TIME_WAIT: 10,
} as const;

/** State names by number, as `dpctl/dump-conntrack` prints them. */
export const TCP_STATE_NAMES: readonly string[] = [
  'CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT_1', 'CLOSING', 'LAST_ACK', 'FIN_WAIT_2', 'TIME_WAIT',
];

/**
 * Timeout-policy attributes in OVS's order (`CT_DPIF_TP_ATTR_*`), the names `ovs-vsctl
 * add-zone-tp` and the `CT_Timeout_Policy` table use.
 */
export const TIMEOUT_NAMES = [
  'tcp_syn_sent', 'tcp_syn_recv', 'tcp_established', 'tcp_fin_wait', 'tcp_time_wait', 'tcp_close',
  'udp_first', 'udp_single', 'udp_multiple', 'icmp_first', 'icmp_reply',
] as const;

/** One timeout-policy attribute name. */
export type TimeoutName = (typeof TIMEOUT_NAMES)[number];

/** A timeout policy: seconds per attribute; missing attributes keep OVS's defaults. */
export type TimeoutPolicy = Partial<Record<TimeoutName, number>>;

/** Index of each attribute in a policy array. */
export const Tm = {
  TCP_SYN_SENT: 0,
  TCP_SYN_RECV: 1,
  TCP_ESTABLISHED: 2,
  TCP_FIN_WAIT: 3,
  TCP_TIME_WAIT: 4,
  TCP_CLOSE: 5,
  UDP_FIRST: 6,
  UDP_SINGLE: 7,
  UDP_MULTIPLE: 8,
  ICMP_FIRST: 9,
  ICMP_REPLY: 10,
} as const;

/** OVS userspace defaults in seconds (`ct_dpif_netdev_tp_def[]` in lib/conntrack-tp.c). */
export const DEFAULT_TIMEOUTS: Readonly<Record<TimeoutName, number>> = {
  tcp_syn_sent: 30,
  tcp_syn_recv: 30,
  tcp_established: 24 * 60 * 60,
  tcp_fin_wait: 15 * 60,
  tcp_time_wait: 45,
  tcp_close: 30,
  udp_first: 60,
  udp_single: 60,
  udp_multiple: 30,
  icmp_first: 60,
  icmp_reply: 30,
};

/** NAT action bits (OVS `NAT_ACTION_*`). */
export const NatAction = {
  SRC: 1,
  SRC_PORT: 2,
  DST: 4,
  DST_PORT: 8,
} as const;

/** Why a commit did not create a connection (`CtResult.fail`). */
export const CtFail = {
  None: 0,
  /** The global limit (`setMaxConns`, OVS `conntrack_full`). */
  Full: 1,
  /** The zone's limit (OVS `conntrack_zone_full`). */
  ZoneFull: 2,
  /** No free NAT tuple in the range (OVS "tuple space exhaustion"). */
  NatExhausted: 3,
} as const;

/** One of `CtFail`. */
export type CtFail = (typeof CtFail)[keyof typeof CtFail];

/** OVS's default global connection limit (`DEFAULT_N_CONN_LIMIT`). */
export const DEFAULT_MAX_CONNS = 3_000_000;

/** OVS's default sweep interval of the clean thread, in ms (`ct->sweep_ms`). */
export const DEFAULT_SWEEP_MS = 20_000;
