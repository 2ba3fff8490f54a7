/**
 * The match-field table: the one source of truth for every field a flow can match or an action
 * can write. Each entry carries OVS's text names (`eth_src`, aka `dl_src`), its NXM/OXM name and
 * class/field codes (from ovs-fields(7)), its width, whether it can be masked, its prerequisite,
 * whether `set_field` may write it, its text format, and where it lives in a `FlowKey`.
 *
 * Several fields share storage exactly as in OVS's `struct flow` (see flowkey.ts), so the same
 * match bits print under the name that the match's `eth_type`/`ip_proto` select.
 *
 * The table also owns how a field's value is written: `parseFieldValue`/`formatFieldValue` read and
 * print values (and masks) in ovs-ofctl's styles for the field's format, and subfields
 * (`NXM_NX_REG0[0..15]`) are parsed and printed here, so matches, actions and learn specs all use
 * one codec.
 */
import { AddressParseError, formatIpv4, formatIpv6Ntop as formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '@ovnts/packet';
import { TextParseError } from './errors.js';
import { W, fieldOnes, type FieldStorage } from './flowkey.js';
import { hexC, parseUint } from './ofctl-lex.js';
import { formatPort, parsePort } from './ports.js';

/** Prerequisites, as ovs-fields(7) names them. */
export const Prereq = {
  None: 0,
  Ethernet: 1,
  /** `vlan_tci=0x1000/0x1000`: a VLAN header is present. */
  VlanVid: 2,
  /** `eth_type=0x0806` or `0x8035`. */
  Arp: 3,
  Ipv4: 4,
  Ipv6: 5,
  /** IPv4 or IPv6. */
  IpAny: 6,
  Mpls: 7,
  /** IP, `ip_proto=6`, and not later fragments. */
  Tcp: 8,
  Udp: 9,
  Sctp: 10,
  Icmpv4: 11,
  Icmpv6: 12,
  /** ICMPv6 type 135 or 136 with code 0. */
  Nd: 13,
  NdSolicit: 14,
  NdAdvert: 15,
  /** A valid connection-tracking state (`+new`, `+est`, `+rel`, `+rpl`, `+snat`, `+dnat` or `+trk-inv`). */
  Ct: 16,
} as const;

/** One of `Prereq`. */
export type Prereq = (typeof Prereq)[keyof typeof Prereq];

/** How a field's value is written in ovs-ofctl text. */
export type FieldFormat =
  | 'decimal'
  | 'hex'
  | 'mac'
  | 'ipv4'
  | 'ipv6'
  | 'port'
  | 'tcp_flags'
  | 'ct_state'
  | 'frag';

/** NXM/OXM classes. */
export const OxmClass = {
  NXM_OF: 0x0000,
  NXM_NX: 0x0001,
  OPENFLOW_BASIC: 0x8000,
  PACKET_REGS: 0x8001,
} as const;

/** A field's NXM or OXM identity. */
export interface FieldCode {
  /** The name used in subfield syntax, e.g. `NXM_OF_ETH_SRC`. */
  readonly name: string;
  /** The class (`OxmClass`). */
  readonly cls: number;
  /** The field number within the class. */
  readonly code: number;
}

/** One entry of the match-field table. */
export interface MatchField extends FieldStorage {
  /** OVS's canonical name. */
  readonly name: string;
  /** Other names accepted in match text (`dl_src` for `eth_src`). */
  readonly aliases: readonly string[];
  /** NXM identity, if the field has one. */
  readonly nxm?: FieldCode;
  /** OXM identity, if the field has one. */
  readonly oxm?: FieldCode;
  /** Significant bits (OVS's `n_bits`): ovs-fields(7) "only the least-significant N bits may be nonzero", else `bits`. */
  readonly nBits: number;
  /** Arbitrary bitwise masks allowed. */
  readonly maskable: boolean;
  /** What the match must also contain. */
  readonly prereq: Prereq;
  /** `set_field`/`load`/`move` may write it. */
  readonly writable: boolean;
  /** Text format. */
  readonly format: FieldFormat;
  /** Extra storage bits (value = mask) a match on this field also sets, e.g. the VLAN CFI for `dl_vlan`. */
  readonly forceBits: number;
  /** An OVS legacy name that is not an OXM/NXM field (`dl_vlan`, `dl_vlan_pcp`). */
  readonly legacy: boolean;
}

interface Spec {
  name: string;
  aliases?: string[];
  bits: number;
  nBits?: number;
  word: number;
  nwords?: number;
  shift?: number;
  vmask?: number;
  maskable: boolean;
  prereq: Prereq;
  writable: boolean;
  format: FieldFormat;
  nxm?: [string, number, number];
  oxm?: [string, number, number];
  forceBits?: number;
  legacy?: boolean;
}

function def(s: Spec): MatchField {
  const nwords = s.nwords ?? 1;
  return {
    name: s.name,
    aliases: s.aliases ?? [],
    bits: s.bits,
    nBits: s.nBits ?? s.bits,
    word: s.word,
    nwords,
    shift: s.shift ?? 0,
    vmask: s.vmask ?? (nwords === 1 ? (s.bits >= 32 ? 0xffff_ffff : 2 ** s.bits - 1) : 0xffff_ffff),
    maskable: s.maskable,
    prereq: s.prereq,
    writable: s.writable,
    format: s.format,
    forceBits: s.forceBits ?? 0,
    legacy: s.legacy ?? false,
    ...(s.nxm ? { nxm: { name: s.nxm[0], cls: s.nxm[1], code: s.nxm[2] } } : {}),
    ...(s.oxm ? { oxm: { name: s.oxm[0], cls: s.oxm[1], code: s.oxm[2] } } : {}),
  };
}

const { NXM_OF, NXM_NX, OPENFLOW_BASIC: OXM, PACKET_REGS } = OxmClass;
const P = Prereq;
const RW = true;
const RO = false;
const M = true; // maskable
const X = false; // exact only

const specs: Spec[] = [
  { name: 'conj_id', bits: 32, word: W.conj_id, maskable: X, prereq: P.None, writable: RO, format: 'decimal', nxm: ['NXM_NX_CONJ_ID', NXM_NX, 37] },
  { name: 'tun_id', aliases: ['tunnel_id'], bits: 64, word: W.tun_id, nwords: 2, maskable: M, prereq: P.None, writable: RW, format: 'hex', nxm: ['NXM_NX_TUN_ID', NXM_NX, 16], oxm: ['OXM_OF_TUNNEL_ID', OXM, 38] },
  { name: 'tun_src', bits: 32, word: W.tun_src, maskable: M, prereq: P.None, writable: RW, format: 'ipv4', nxm: ['NXM_NX_TUN_IPV4_SRC', NXM_NX, 31] },
  { name: 'tun_dst', bits: 32, word: W.tun_dst, maskable: M, prereq: P.None, writable: RW, format: 'ipv4', nxm: ['NXM_NX_TUN_IPV4_DST', NXM_NX, 32] },
  { name: 'tun_ipv6_src', bits: 128, word: W.tun_ipv6_src, nwords: 4, maskable: M, prereq: P.None, writable: RW, format: 'ipv6', nxm: ['NXM_NX_TUN_IPV6_SRC', NXM_NX, 109] },
  { name: 'tun_ipv6_dst', bits: 128, word: W.tun_ipv6_dst, nwords: 4, maskable: M, prereq: P.None, writable: RW, format: 'ipv6', nxm: ['NXM_NX_TUN_IPV6_DST', NXM_NX, 110] },
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((i): Spec => ({
    name: `tun_metadata${i}`, bits: 128, word: W.tun_metadata0 + 4 * i, nwords: 4, maskable: M, prereq: P.None, writable: RW,
    format: 'hex', nxm: [`NXM_NX_TUN_METADATA${i}`, NXM_NX, 40 + i],
  })),
  { name: 'in_port', bits: 16, word: W.in_port, maskable: X, prereq: P.None, writable: RW, format: 'port', nxm: ['NXM_OF_IN_PORT', NXM_OF, 0] },
  { name: 'pkt_mark', bits: 32, word: W.pkt_mark, maskable: M, prereq: P.None, writable: RW, format: 'hex', nxm: ['NXM_NX_PKT_MARK', NXM_NX, 33] },
  { name: 'actset_output', bits: 32, word: W.actset_output, maskable: X, prereq: P.None, writable: RO, format: 'port', oxm: ['OXM_OF_ACTSET_OUTPUT', OXM, 43] },
  { name: 'ct_state', bits: 32, word: W.ct_state, maskable: M, prereq: P.None, writable: RO, format: 'ct_state', nxm: ['NXM_NX_CT_STATE', NXM_NX, 105] },
  { name: 'ct_zone', bits: 16, word: W.ct_zone, maskable: X, prereq: P.None, writable: RO, format: 'hex', nxm: ['NXM_NX_CT_ZONE', NXM_NX, 106] },
  { name: 'ct_mark', bits: 32, word: W.ct_mark, maskable: M, prereq: P.None, writable: RW, format: 'hex', nxm: ['NXM_NX_CT_MARK', NXM_NX, 107] },
  { name: 'ct_label', bits: 128, word: W.ct_label, nwords: 4, maskable: M, prereq: P.None, writable: RW, format: 'hex', nxm: ['NXM_NX_CT_LABEL', NXM_NX, 108] },
  { name: 'ct_nw_src', bits: 32, word: W.ct_nw_src, maskable: M, prereq: P.Ct, writable: RO, format: 'ipv4', nxm: ['NXM_NX_CT_NW_SRC', NXM_NX, 120] },
  { name: 'ct_nw_dst', bits: 32, word: W.ct_nw_dst, maskable: M, prereq: P.Ct, writable: RO, format: 'ipv4', nxm: ['NXM_NX_CT_NW_DST', NXM_NX, 121] },
  { name: 'ct_ipv6_src', bits: 128, word: W.ct_ipv6_src, nwords: 4, maskable: M, prereq: P.Ct, writable: RO, format: 'ipv6', nxm: ['NXM_NX_CT_IPV6_SRC', NXM_NX, 122] },
  { name: 'ct_ipv6_dst', bits: 128, word: W.ct_ipv6_dst, nwords: 4, maskable: M, prereq: P.Ct, writable: RO, format: 'ipv6', nxm: ['NXM_NX_CT_IPV6_DST', NXM_NX, 123] },
  { name: 'ct_nw_proto', bits: 8, word: W.ct_nw_proto, maskable: X, prereq: P.Ct, writable: RO, format: 'decimal', nxm: ['NXM_NX_CT_NW_PROTO', NXM_NX, 119] },
  { name: 'ct_tp_src', bits: 16, word: W.ct_tp_src, maskable: M, prereq: P.Ct, writable: RO, format: 'decimal', nxm: ['NXM_NX_CT_TP_SRC', NXM_NX, 124] },
  { name: 'ct_tp_dst', bits: 16, word: W.ct_tp_dst, maskable: M, prereq: P.Ct, writable: RO, format: 'decimal', nxm: ['NXM_NX_CT_TP_DST', NXM_NX, 125] },
  { name: 'metadata', bits: 64, word: W.metadata, nwords: 2, maskable: M, prereq: P.None, writable: RW, format: 'hex', oxm: ['OXM_OF_METADATA', OXM, 2] },
  ...Array.from({ length: 16 }, (_, i): Spec => ({
    name: `reg${i}`, bits: 32, word: W.regs + i, maskable: M, prereq: P.None, writable: RW, format: 'hex', nxm: [`NXM_NX_REG${i}`, NXM_NX, i],
  })),
  ...Array.from({ length: 8 }, (_, i): Spec => ({
    name: `xreg${i}`, bits: 64, word: W.regs + 2 * i, nwords: 2, maskable: M, prereq: P.None, writable: RW, format: 'hex', oxm: [`OXM_OF_PKT_REG${i}`, PACKET_REGS, i],
  })),
  ...Array.from({ length: 4 }, (_, i): Spec => ({
    name: `xxreg${i}`, bits: 128, word: W.regs + 4 * i, nwords: 4, maskable: M, prereq: P.None, writable: RW, format: 'hex', nxm: [`NXM_NX_XXREG${i}`, NXM_NX, 111 + i],
  })),
  { name: 'eth_src', aliases: ['dl_src'], bits: 48, word: W.dl_src, nwords: 2, maskable: M, prereq: P.Ethernet, writable: RW, format: 'mac', nxm: ['NXM_OF_ETH_SRC', NXM_OF, 2], oxm: ['OXM_OF_ETH_SRC', OXM, 4] },
  { name: 'eth_dst', aliases: ['dl_dst'], bits: 48, word: W.dl_dst, nwords: 2, maskable: M, prereq: P.Ethernet, writable: RW, format: 'mac', nxm: ['NXM_OF_ETH_DST', NXM_OF, 1], oxm: ['OXM_OF_ETH_DST', OXM, 3] },
  { name: 'eth_type', aliases: ['dl_type'], bits: 16, word: W.dl_type, maskable: X, prereq: P.Ethernet, writable: RO, format: 'hex', nxm: ['NXM_OF_ETH_TYPE', NXM_OF, 3], oxm: ['OXM_OF_ETH_TYPE', OXM, 5] },
  { name: 'vlan_vid', bits: 16, nBits: 12, word: W.vlan_tci, vmask: 0x1fff, maskable: M, prereq: P.Ethernet, writable: RW, format: 'decimal', oxm: ['OXM_OF_VLAN_VID', OXM, 6] },
  { name: 'vlan_pcp', bits: 8, nBits: 3, word: W.vlan_tci, shift: 13, vmask: 7, maskable: X, prereq: P.VlanVid, writable: RW, format: 'decimal', oxm: ['OXM_OF_VLAN_PCP', OXM, 7], forceBits: 0x1000 },
  { name: 'vlan_tci', bits: 16, word: W.vlan_tci, maskable: M, prereq: P.Ethernet, writable: RW, format: 'hex', nxm: ['NXM_OF_VLAN_TCI', NXM_OF, 4] },
  { name: 'dl_vlan', bits: 16, word: W.vlan_tci, vmask: 0xfff, maskable: X, prereq: P.Ethernet, writable: RW, format: 'decimal', forceBits: 0x1000, legacy: true },
  { name: 'dl_vlan_pcp', bits: 8, word: W.vlan_tci, shift: 13, vmask: 7, maskable: X, prereq: P.Ethernet, writable: RW, format: 'decimal', forceBits: 0x1000, legacy: true },
  { name: 'ip_src', aliases: ['nw_src'], bits: 32, word: W.nw_src, maskable: M, prereq: P.Ipv4, writable: RW, format: 'ipv4', nxm: ['NXM_OF_IP_SRC', NXM_OF, 7], oxm: ['OXM_OF_IPV4_SRC', OXM, 11] },
  { name: 'ip_dst', aliases: ['nw_dst'], bits: 32, word: W.nw_dst, maskable: M, prereq: P.Ipv4, writable: RW, format: 'ipv4', nxm: ['NXM_OF_IP_DST', NXM_OF, 8], oxm: ['OXM_OF_IPV4_DST', OXM, 12] },
  { name: 'ipv6_src', bits: 128, word: W.ipv6_src, nwords: 4, maskable: M, prereq: P.Ipv6, writable: RW, format: 'ipv6', nxm: ['NXM_NX_IPV6_SRC', NXM_NX, 19], oxm: ['OXM_OF_IPV6_SRC', OXM, 26] },
  { name: 'ipv6_dst', bits: 128, word: W.ipv6_dst, nwords: 4, maskable: M, prereq: P.Ipv6, writable: RW, format: 'ipv6', nxm: ['NXM_NX_IPV6_DST', NXM_NX, 20], oxm: ['OXM_OF_IPV6_DST', OXM, 27] },
  { name: 'ipv6_label', bits: 32, nBits: 20, word: W.ipv6_label, vmask: 0xfffff, maskable: M, prereq: P.Ipv6, writable: RW, format: 'hex', nxm: ['NXM_NX_IPV6_LABEL', NXM_NX, 27], oxm: ['OXM_OF_IPV6_FLABEL', OXM, 28] },
  { name: 'nw_proto', aliases: ['ip_proto'], bits: 8, word: W.nw_proto, maskable: X, prereq: P.IpAny, writable: RO, format: 'decimal', nxm: ['NXM_OF_IP_PROTO', NXM_OF, 6], oxm: ['OXM_OF_IP_PROTO', OXM, 10] },
  { name: 'nw_ttl', bits: 8, word: W.nw_ttl, maskable: X, prereq: P.IpAny, writable: RW, format: 'decimal', nxm: ['NXM_NX_IP_TTL', NXM_NX, 29] },
  { name: 'ip_frag', aliases: ['nw_frag'], bits: 8, nBits: 2, word: W.nw_frag, vmask: 3, maskable: M, prereq: P.IpAny, writable: RO, format: 'frag', nxm: ['NXM_NX_IP_FRAG', NXM_NX, 26] },
  { name: 'nw_tos', bits: 8, word: W.nw_tos, vmask: 0xfc, maskable: X, prereq: P.IpAny, writable: RW, format: 'decimal', nxm: ['NXM_OF_IP_TOS', NXM_OF, 5] },
  { name: 'ip_dscp', bits: 8, nBits: 6, word: W.nw_tos, shift: 2, vmask: 0x3f, maskable: X, prereq: P.IpAny, writable: RW, format: 'decimal', oxm: ['OXM_OF_IP_DSCP', OXM, 8] },
  { name: 'nw_ecn', aliases: ['ip_ecn'], bits: 8, nBits: 2, word: W.nw_tos, vmask: 3, maskable: X, prereq: P.IpAny, writable: RW, format: 'decimal', nxm: ['NXM_NX_IP_ECN', NXM_NX, 28], oxm: ['OXM_OF_IP_ECN', OXM, 9] },
  { name: 'arp_op', bits: 16, word: W.nw_proto, vmask: 0xff, maskable: X, prereq: P.Arp, writable: RW, format: 'decimal', nxm: ['NXM_OF_ARP_OP', NXM_OF, 15], oxm: ['OXM_OF_ARP_OP', OXM, 21] },
  { name: 'arp_spa', bits: 32, word: W.nw_src, maskable: M, prereq: P.Arp, writable: RW, format: 'ipv4', nxm: ['NXM_OF_ARP_SPA', NXM_OF, 16], oxm: ['OXM_OF_ARP_SPA', OXM, 22] },
  { name: 'arp_tpa', bits: 32, word: W.nw_dst, maskable: M, prereq: P.Arp, writable: RW, format: 'ipv4', nxm: ['NXM_OF_ARP_TPA', NXM_OF, 17], oxm: ['OXM_OF_ARP_TPA', OXM, 23] },
  { name: 'arp_sha', bits: 48, word: W.arp_sha, nwords: 2, maskable: M, prereq: P.Arp, writable: RW, format: 'mac', nxm: ['NXM_NX_ARP_SHA', NXM_NX, 17], oxm: ['OXM_OF_ARP_SHA', OXM, 24] },
  { name: 'arp_tha', bits: 48, word: W.arp_tha, nwords: 2, maskable: M, prereq: P.Arp, writable: RW, format: 'mac', nxm: ['NXM_NX_ARP_THA', NXM_NX, 18], oxm: ['OXM_OF_ARP_THA', OXM, 25] },
  { name: 'tcp_src', aliases: ['tp_src'], bits: 16, word: W.tp_src, maskable: M, prereq: P.Tcp, writable: RW, format: 'decimal', nxm: ['NXM_OF_TCP_SRC', NXM_OF, 9], oxm: ['OXM_OF_TCP_SRC', OXM, 13] },
  { name: 'tcp_dst', aliases: ['tp_dst'], bits: 16, word: W.tp_dst, maskable: M, prereq: P.Tcp, writable: RW, format: 'decimal', nxm: ['NXM_OF_TCP_DST', NXM_OF, 10], oxm: ['OXM_OF_TCP_DST', OXM, 14] },
  { name: 'tcp_flags', bits: 16, nBits: 12, word: W.tcp_flags, vmask: 0xfff, maskable: M, prereq: P.Tcp, writable: RO, format: 'tcp_flags', nxm: ['NXM_NX_TCP_FLAGS', NXM_NX, 34], oxm: ['OXM_OF_TCP_FLAGS', OXM, 42] },
  { name: 'udp_src', bits: 16, word: W.tp_src, maskable: M, prereq: P.Udp, writable: RW, format: 'decimal', nxm: ['NXM_OF_UDP_SRC', NXM_OF, 11], oxm: ['OXM_OF_UDP_SRC', OXM, 15] },
  { name: 'udp_dst', bits: 16, word: W.tp_dst, maskable: M, prereq: P.Udp, writable: RW, format: 'decimal', nxm: ['NXM_OF_UDP_DST', NXM_OF, 12], oxm: ['OXM_OF_UDP_DST', OXM, 16] },
  { name: 'sctp_src', bits: 16, word: W.tp_src, maskable: M, prereq: P.Sctp, writable: RW, format: 'decimal', oxm: ['OXM_OF_SCTP_SRC', OXM, 17] },
  { name: 'sctp_dst', bits: 16, word: W.tp_dst, maskable: M, prereq: P.Sctp, writable: RW, format: 'decimal', oxm: ['OXM_OF_SCTP_DST', OXM, 18] },
  { name: 'icmp_type', bits: 8, word: W.tp_src, vmask: 0xffff, maskable: X, prereq: P.Icmpv4, writable: RW, format: 'decimal', nxm: ['NXM_OF_ICMP_TYPE', NXM_OF, 13], oxm: ['OXM_OF_ICMPV4_TYPE', OXM, 19] },
  { name: 'icmp_code', bits: 8, word: W.tp_dst, vmask: 0xffff, maskable: X, prereq: P.Icmpv4, writable: RW, format: 'decimal', nxm: ['NXM_OF_ICMP_CODE', NXM_OF, 14], oxm: ['OXM_OF_ICMPV4_CODE', OXM, 20] },
  { name: 'icmpv6_type', bits: 8, word: W.tp_src, vmask: 0xffff, maskable: X, prereq: P.Icmpv6, writable: RW, format: 'decimal', nxm: ['NXM_NX_ICMPV6_TYPE', NXM_NX, 21], oxm: ['OXM_OF_ICMPV6_TYPE', OXM, 29] },
  { name: 'icmpv6_code', bits: 8, word: W.tp_dst, vmask: 0xffff, maskable: X, prereq: P.Icmpv6, writable: RW, format: 'decimal', nxm: ['NXM_NX_ICMPV6_CODE', NXM_NX, 22], oxm: ['OXM_OF_ICMPV6_CODE', OXM, 30] },
  { name: 'nd_target', bits: 128, word: W.nd_target, nwords: 4, maskable: M, prereq: P.Nd, writable: RW, format: 'ipv6', nxm: ['NXM_NX_ND_TARGET', NXM_NX, 23], oxm: ['OXM_OF_IPV6_ND_TARGET', OXM, 31] },
  { name: 'nd_sll', bits: 48, word: W.arp_sha, nwords: 2, maskable: M, prereq: P.NdSolicit, writable: RW, format: 'mac', nxm: ['NXM_NX_ND_SLL', NXM_NX, 24], oxm: ['OXM_OF_IPV6_ND_SLL', OXM, 32] },
  { name: 'nd_tll', bits: 48, word: W.arp_tha, nwords: 2, maskable: M, prereq: P.NdAdvert, writable: RW, format: 'mac', nxm: ['NXM_NX_ND_TLL', NXM_NX, 25], oxm: ['OXM_OF_IPV6_ND_TLL', OXM, 33] },
];

/** Every field, in table order. */
export const FIELDS: readonly MatchField[] = specs.map(def);

const byName = new Map<string, MatchField>();
const bySubfieldName = new Map<string, MatchField>();
for (const f of FIELDS) {
  for (const n of [f.name, ...f.aliases]) byName.set(n, f);
  for (const n of [f.name, ...f.aliases]) bySubfieldName.set(n, f);
  if (f.nxm) bySubfieldName.set(f.nxm.name, f);
  if (f.oxm) bySubfieldName.set(f.oxm.name, f);
}

/** Look a field up by a name accepted in match text (`eth_src`, `dl_src`); undefined if unknown. */
export function fieldByName(name: string): MatchField | undefined {
  return byName.get(name);
}

/** Look a field up by a name accepted in subfield syntax (`NXM_NX_REG0`, `OXM_OF_ETH_SRC`, `reg0`). */
export function fieldBySubfieldName(name: string): MatchField | undefined {
  return bySubfieldName.get(name);
}

/** The field with this canonical name; throws a `RangeError` for a name not in the table (a programming error). */
export function field(name: string): MatchField {
  const f = byName.get(name);
  if (!f) throw new RangeError(`no such field ${name}`);
  return f;
}

/** Shorthand protocol keywords: each sets `eth_type` and, for some, `ip_proto`. */
export const PROTOCOL_KEYWORDS: Readonly<Record<string, { ethType: number; ipProto?: number }>> = {
  ip: { ethType: 0x0800 },
  ipv4: { ethType: 0x0800 },
  ip4: { ethType: 0x0800 },
  ipv6: { ethType: 0x86dd },
  ip6: { ethType: 0x86dd },
  icmp: { ethType: 0x0800, ipProto: 1 },
  icmp6: { ethType: 0x86dd, ipProto: 58 },
  tcp: { ethType: 0x0800, ipProto: 6 },
  tcp6: { ethType: 0x86dd, ipProto: 6 },
  udp: { ethType: 0x0800, ipProto: 17 },
  udp6: { ethType: 0x86dd, ipProto: 17 },
  sctp: { ethType: 0x0800, ipProto: 132 },
  sctp6: { ethType: 0x86dd, ipProto: 132 },
  arp: { ethType: 0x0806 },
  rarp: { ethType: 0x8035 },
  mpls: { ethType: 0x8847 },
  mplsm: { ethType: 0x8848 },
};

/** EtherTypes and IP protocol numbers the prerequisite logic names. */
export const ETH_TYPE_IP = 0x0800;
/** IPv6 EtherType. */
export const ETH_TYPE_IPV6 = 0x86dd;
/** ARP EtherType. */
export const ETH_TYPE_ARP = 0x0806;
/** RARP EtherType. */
export const ETH_TYPE_RARP = 0x8035;
/** The VLAN CFI bit OVS uses as "a VLAN header is present" in `vlan_tci`. */
export const VLAN_CFI = 0x1000;

/** ct_state flag bits by name, in the order OVS prints them. */
export const CT_STATE_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['new', 0x01], ['est', 0x02], ['rel', 0x04], ['rpl', 0x08], ['inv', 0x10], ['trk', 0x20], ['snat', 0x40], ['dnat', 0x80],
];

/** TCP flag bits by name, in the order OVS prints them. */
export const TCP_FLAGS: ReadonlyArray<readonly [string, number]> = [
  ['fin', 0x001], ['syn', 0x002], ['rst', 0x004], ['psh', 0x008], ['ack', 0x010], ['urg', 0x020],
  ['ece', 0x040], ['cwr', 0x080], ['ns', 0x100],
];

/** nw_frag bits. */
export const FRAG_ANY = 1;
/** nw_frag "later fragment" bit. */
export const FRAG_LATER = 2;

// ---------------------------------------------------------------------------------------------
// Field values: parsing and formatting as ovs-ofctl reads and prints them

function mask32Prefix(m: number): number {
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1; // not contiguous
  return 32 - Math.log2(inv + 1);
}

function prefixLen128(m: bigint): number {
  const inv = ~m & ((1n << 128n) - 1n);
  if ((inv & (inv + 1n)) !== 0n) return -1;
  return 128 - (inv === 0n ? 0 : inv.toString(2).length);
}

/** An IPv4 value with its mask as OVS prints it: bare, `/prefix`, or `/dotted-mask`. */
export function formatIpv4Masked(v: number, m: number): string {
  if (m === 0xffff_ffff) return formatIpv4(v);
  const p = mask32Prefix(m);
  return `${formatIpv4(v)}/${p >= 0 ? p : formatIpv4(m)}`;
}

/** An IPv6 value with its mask as OVS prints it: bare, `/prefix`, or `/address-mask`. */
export function formatIpv6Masked(v: bigint, m: bigint): string {
  if (m === (1n << 128n) - 1n) return formatIpv6(v);
  const p = prefixLen128(m);
  return `${formatIpv6(v)}/${p >= 0 ? p : formatIpv6(m)}`;
}

/** Flag bits as OVS prints them: `a|b` when fully masked, else `+a-b`. */
export function formatFlagsMasked(names: ReadonlyArray<readonly [string, number]>, v: number, m: number, max: number): string {
  const nameOf = (bit: number): string => names.find(([, b]) => b === bit)?.[0] ?? `[${bit.toString(16)}]`;
  if (m === max) {
    if (v === 0) return '0';
    const parts: string[] = [];
    for (let bit = 1; bit <= max; bit <<= 1) if (v & bit) parts.push(nameOf(bit));
    return parts.join('|');
  }
  if (m === 0) return '0/0';
  let s = '';
  for (let bit = 1; bit <= max; bit <<= 1) if (m & bit) s += (v & bit ? '+' : '-') + nameOf(bit);
  return s;
}

/** OVS's `%i` (decimal, 0x hex, leading-0 octal) at `pos`: [value, length], or undefined. */
function scanInt(s: string, pos: number): [number, number] | undefined {
  const m = /0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*/iy;
  m.lastIndex = pos;
  const r = m.exec(s);
  if (!r) return undefined;
  const t = r[0];
  const v = /^0x/i.test(t) ? parseInt(t.slice(2), 16) : t.length > 1 && t[0] === '0' ? parseInt(t, 8) : Number(t);
  return [v, t.length];
}

/** The flag whose name starts `text` at `pos` and ends at one of `ends` (or the text's end): [bit, name length]. */
function flagAt(text: string, pos: number, ends: string, nameOf: (bit: number) => string | undefined): [number, number] | undefined {
  for (let bit = 1; bit <= 0x8000_0000; bit *= 2) {
    const nm = nameOf(bit);
    if (!nm || !text.startsWith(nm, pos)) continue;
    const after = text[pos + nm.length];
    if (after === undefined || ends.includes(after)) return [bit, nm.length];
  }
  return undefined;
}

/**
 * OVS's `parse_flags()`: `V/M` in numbers, `+flag-flag` (masked), or `flag|flag|N` (exact).
 * Bits outside `allowed` are "unknown"; TCP's reserved bits are named `[200]`, `[400]`, `[800]`.
 */
function parseFlags(
  names: ReadonlyArray<readonly [string, number]>, text: string, allowed: number, label: string, err: (e: string) => never,
): { value: bigint; mask?: bigint } {
  const unknown = (rest: string): never => err(`${rest}: unknown ${label} flag(s)`);
  const nameOf = (bit: number): string | undefined => names.find(([, b]) => b === bit)?.[0] ?? (label === 'TCP' && bit >= 0x200 && bit <= 0x800 ? `[${bit.toString(16)}]` : undefined);
  const v0 = scanInt(text, 0);
  if (v0 && text[v0[1]] === '/') {
    const m0 = scanInt(text, v0[1] + 1);
    if (m0 && v0[1] + 1 + m0[1] === text.length) {
      if ((v0[0] & ~allowed) !== 0 || (m0[0] & ~allowed) !== 0) unknown(text);
      return { value: BigInt(v0[0] & m0[0]), mask: BigInt(m0[0]) };
    }
  }
  if (text[0] === '+' || text[0] === '-') {
    let v = 0;
    let m = 0;
    let pos = 0;
    while (pos < text.length) {
      const sign = text[pos];
      if (sign !== '+' && sign !== '-') err(`${text.slice(pos)}: ${label} must be preceded by '+' (for SET) or '-' (NOT SET)`);
      pos++;
      const fl = flagAt(text, pos, '+-', nameOf);
      if (!fl) return unknown(text.slice(pos));
      const [found, len] = fl;
      if (m & found) err(`${text.slice(pos)}: Each ${label} flag can be specified only once`);
      if (!(found & allowed)) unknown(text.slice(pos));
      if (sign === '+') v |= found;
      m |= found;
      pos += len;
    }
    return { value: BigInt(v), mask: BigInt(m) };
  }
  let v = 0;
  let pos = 0;
  while (pos < text.length) {
    const num = scanInt(text, pos);
    if (num) {
      if ((num[0] & ~allowed) !== 0) unknown(text);
      v |= num[0];
      pos += num[1] + (text[pos + num[1]] === '|' ? 1 : 0);
      continue;
    }
    const fl = flagAt(text, pos, '|', nameOf);
    if (!fl || !(fl[0] & allowed)) return unknown(text);
    const [found, len] = fl;
    v |= found;
    pos += len + (text[pos + len] === '|' ? 1 : 0);
  }
  return { value: BigInt(v), mask: BigInt(allowed) };
}

function parseIntMasked(f: MatchField, text: string, err: (e: string) => never): { value: bigint; mask?: bigint } {
  const [vs, ms] = splitMask(text);
  const value = parseUint(vs);
  if (value === undefined) err(`${vs}: invalid value for ${f.name} (expected a number)`);
  const max = fieldOnes(f);
  if (value > max) err(`${vs}: value too large for ${Math.ceil(f.bits / 8)}-byte field ${f.name}`);
  if (ms === undefined) return { value };
  const mask = parseUint(ms);
  if (mask === undefined) err(`${ms}: invalid mask for ${f.name}`);
  if (mask > max) err(`${ms}: mask too large for ${Math.ceil(f.bits / 8)}-byte field ${f.name}`);
  return { value, mask };
}

/** Split `value/mask` at the first slash. */
export function splitMask(text: string): [string, string | undefined] {
  const i = text.indexOf('/');
  return i < 0 ? [text, undefined] : [text.slice(0, i), text.slice(i + 1)];
}

const FRAG_WORDS: Record<string, [number, number]> = {
  no: [0, FRAG_ANY], yes: [FRAG_ANY, FRAG_ANY], first: [FRAG_ANY, FRAG_ANY | FRAG_LATER],
  later: [FRAG_ANY | FRAG_LATER, FRAG_ANY | FRAG_LATER], not_later: [0, FRAG_LATER],
};

/** Parse a field's value (and optional mask) from ovs-ofctl text. */
export function parseFieldValue(f: MatchField, text: string, input = text, col = 0): { value: bigint; mask?: bigint } {
  const err = (e: string): never => {
    throw new TextParseError(input, col, e);
  };
  try {
    switch (f.format) {
      case 'mac': {
        const [v, m] = splitMask(text);
        return { value: BigInt(parseMac(v)), ...(m !== undefined ? { mask: BigInt(parseMac(m)) } : {}) };
      }
      case 'ipv4': {
        const [v, m] = splitMask(text);
        const value = BigInt(parseIpv4(v));
        if (m === undefined) return { value };
        if (/^\d+$/.test(m)) {
          const n = Number(m);
          if (n > 32) err(`${text}: invalid IP prefix length ${m}`);
          return { value, mask: n === 0 ? 0n : (0xffff_ffffn << BigInt(32 - n)) & 0xffff_ffffn };
        }
        return { value, mask: BigInt(parseIpv4(m)) };
      }
      case 'ipv6': {
        const [v, m] = splitMask(text);
        const value = parseIpv6(v);
        if (m === undefined) return { value };
        if (/^\d+$/.test(m)) {
          const n = Number(m);
          if (n > 128) err(`${text}: invalid IPv6 prefix length ${m}`);
          const ones = (1n << 128n) - 1n;
          return { value, mask: n === 0 ? 0n : (ones << BigInt(128 - n)) & ones };
        }
        return { value, mask: parseIpv6(m) };
      }
      case 'port': {
        const p = parsePort(text);
        if (p === undefined) return err(`${text}: invalid or unknown port for ${f.name}`);
        return { value: BigInt(p) };
      }
      case 'tcp_flags':
        return parseFlags(TCP_FLAGS, text, 0xfff, 'TCP', err);
      case 'ct_state':
        return parseFlags(CT_STATE_FLAGS, text, 0xff, 'ct_state', err);
      case 'frag': {
        const fw = FRAG_WORDS[text];
        if (fw) return { value: BigInt(fw[0]), mask: BigInt(fw[1]) };
        return parseIntMasked(f, text, err);
      }
      default:
        return parseIntMasked(f, text, err);
    }
  } catch (e) {
    if (e instanceof AddressParseError) {
      const what = e.kind === 'mac' ? 'Ethernet address' : e.kind === 'ipv6' ? 'IPv6 address' : 'IP address';
      return err(`${text}: invalid ${what}`);
    }
    throw e;
  }
}

/** Format a field's value (and mask, unless all ones) as `set_field` prints it. */
export function formatFieldValue(f: MatchField, value: bigint, mask?: bigint): string {
  const full = mask === undefined || mask === fieldOnes(f);
  switch (f.format) {
    case 'mac':
      return formatMac(Number(value)) + (full ? '' : `/${formatMac(Number(mask))}`);
    case 'ipv4':
      return formatIpv4Masked(Number(value), full ? 0xffff_ffff : Number(mask));
    case 'ipv6':
      return formatIpv6Masked(value, full ? (1n << 128n) - 1n : mask!);
    case 'port':
      return formatPort(Number(value));
    case 'decimal':
      return full ? value.toString() : `${value}/${hexC(mask!)}`;
    default:
      return hexC(value) + (full ? '' : `/${hexC(mask!)}`);
  }
}



// ---------------------------------------------------------------------------------------------
// Subfields

/** A bit range of a field: `NXM_NX_REG0[0..15]`. */
export interface Subfield {
  /** The field. */
  readonly field: MatchField;
  /** First bit (0 = least significant). */
  readonly ofs: number;
  /** Number of bits. */
  readonly nBits: number;
}

/** Parse `NAME[a..b]`, `NAME[a]` or `NAME[]` (NXM/OXM names or OVS field names). */
export function parseSubfield(text: string, input: string, col: number): Subfield {
  const m = /^([A-Za-z0-9_]+)\[(?:(\d+)(?:\.\.(\d+))?)?\]$/.exec(text.trim());
  if (!m) throw new TextParseError(input, col, `expected a subfield NAME[a..b], got "${text}"`);
  const f = fieldBySubfieldName(m[1]!);
  if (!f) throw new TextParseError(input, col, `unknown field ${m[1]}`);
  if (m[2] === undefined) return { field: f, ofs: 0, nBits: f.bits };
  const a = Number(m[2]);
  const b = m[3] === undefined ? a : Number(m[3]);
  if (b < a || b >= f.bits) throw new TextParseError(input, col, `bit range ${a}..${b} outside ${f.bits}-bit field ${f.name}`);
  return { field: f, ofs: a, nBits: b - a + 1 };
}

/** The name OVS prints for a field in subfield syntax (NXM name preferred, then OXM, then its own). */
export function subfieldName(f: MatchField): string {
  return f.nxm?.name ?? f.oxm?.name ?? f.name;
}

/** Format a subfield the way OVS does (NXM name preferred, `[]` for the whole field). */
export function formatSubfield(s: Subfield): string {
  const name = subfieldName(s.field);
  if (s.ofs === 0 && s.nBits === s.field.bits) return `${name}[]`;
  if (s.nBits === 1) return `${name}[${s.ofs}]`;
  return `${name}[${s.ofs}..${s.ofs + s.nBits - 1}]`;
}
