/**
 * The packet ovn-trace follows: a subset of Open vSwitch's `struct flow` (the fields OVN's logical
 * symbols map to), with OVS's sharing of storage between fields (`arp.spa` is `nw_src`, `arp.op`
 * is `nw_proto`, ICMP type/code are `tp_src`/`tp_dst`, `nd.sll`/`nd.tll` are `arp_sha`/`arp_tha`,
 * the logical registers are `reg0`..`reg9`, and `xxreg0` is `reg0..reg3`), plus `flow_format`
 * (the `# tcp,reg14=0x1,...` line ovn-trace prints) and `mf_format` for the values it shows.
 *
 * Design. All values are `bigint`s in a plain record, so a copy (`{ ...flow }`) is a fork of the
 * packet, as ovn-trace copies `struct flow` when conntrack or a patch port forks the trace. OVS
 * field reads and masked writes go through `getField`/`setField` by the OVS field name the
 * expression symbol table records (`OVS_FIELDS`), so an expression evaluated here sees exactly
 * the bits ovn-trace's `expr_evaluate` sees.
 */
import type { OvsField } from '../expr/symbols.js';
import { formatIpv4, formatIpv6Ntop as formatIpv6 } from '@ovnts/packet';
import { putHex } from '../actions/format.js';

/** The fields of a traced packet. */
export interface TraceFlow {
  /** OVS registers reg0..reg15 (32-bit each). */
  regs: bigint[];
  /** OpenFlow metadata (unused by ovn-trace). */
  metadata: bigint;
  /** Packet mark. */
  pkt_mark: bigint;
  /** Conntrack state bits (`CS`). */
  ct_state: bigint;
  /** Conntrack mark. */
  ct_mark: bigint;
  /** Conntrack label. */
  ct_label: bigint;
  /** Original IPv4 destination (set by `ct_lb`). */
  ct_nw_dst: bigint;
  /** Original IPv6 destination (set by `ct_lb`). */
  ct_ipv6_dst: bigint;
  /** Original L4 destination port (set by `ct_lb`). */
  ct_tp_dst: bigint;
  /** Conntrack IP protocol. */
  ct_nw_proto: bigint;
  /** Ethernet source. */
  dl_src: bigint;
  /** Ethernet destination. */
  dl_dst: bigint;
  /** Ethernet type. */
  dl_type: bigint;
  /** VLAN TCI. */
  vlan_tci: bigint;
  /** IPv4 source, or ARP SPA. */
  nw_src: bigint;
  /** IPv4 destination, or ARP TPA. */
  nw_dst: bigint;
  /** IPv6 source. */
  ipv6_src: bigint;
  /** IPv6 destination. */
  ipv6_dst: bigint;
  /** IPv6 flow label. */
  ipv6_label: bigint;
  /** IP protocol, or ARP opcode. */
  nw_proto: bigint;
  /** IP TOS byte (DSCP and ECN). */
  nw_tos: bigint;
  /** IP TTL / hop limit. */
  nw_ttl: bigint;
  /** Fragment flags (1 = fragment, 2 = later fragment). */
  nw_frag: bigint;
  /** ARP SHA, or ND SLL. */
  arp_sha: bigint;
  /** ARP THA, or ND TLL. */
  arp_tha: bigint;
  /** ND target. */
  nd_target: bigint;
  /** L4 source port, or ICMP type. */
  tp_src: bigint;
  /** L4 destination port, or ICMP code. */
  tp_dst: bigint;
  /** TCP flags. */
  tcp_flags: bigint;
}

/** Ethernet types. */
export const ETH_TYPE = { IP: 0x800n, ARP: 0x806n, RARP: 0x8035n, IPV6: 0x86ddn } as const;
/** IP protocols. */
export const IPPROTO = { ICMP: 1n, IGMP: 2n, TCP: 6n, UDP: 17n, ICMPV6: 58n, SCTP: 132n } as const;
/** Conntrack state bits (OVS `CS_*`). */
export const CS = { NEW: 0x01n, EST: 0x02n, REL: 0x04n, RPL: 0x08n, INV: 0x10n, TRK: 0x20n, SNAT: 0x40n, DNAT: 0x80n } as const;

/** A zeroed packet. */
export function emptyFlow(): TraceFlow {
  return {
    regs: new Array<bigint>(16).fill(0n),
    metadata: 0n, pkt_mark: 0n, ct_state: 0n, ct_mark: 0n, ct_label: 0n, ct_nw_dst: 0n, ct_ipv6_dst: 0n, ct_tp_dst: 0n,
    ct_nw_proto: 0n, dl_src: 0n, dl_dst: 0n, dl_type: 0n, vlan_tci: 0n, nw_src: 0n, nw_dst: 0n, ipv6_src: 0n, ipv6_dst: 0n,
    ipv6_label: 0n, nw_proto: 0n, nw_tos: 0n, nw_ttl: 0n, nw_frag: 0n, arp_sha: 0n, arp_tha: 0n, nd_target: 0n, tp_src: 0n,
    tp_dst: 0n, tcp_flags: 0n,
  };
}

/** A copy of `f` (the trace forks). */
export function cloneFlow(f: TraceFlow): TraceFlow {
  return { ...f, regs: [...f.regs] };
}

const M32 = 0xffffffffn;
type Scalar = Exclude<keyof TraceFlow, 'regs'>;

/** Which flow member holds each OVS field (fields stored whole). */
const DIRECT: Readonly<Record<string, Scalar>> = {
  metadata: 'metadata', pkt_mark: 'pkt_mark', ct_state: 'ct_state', ct_mark: 'ct_mark', ct_label: 'ct_label',
  eth_src: 'dl_src', eth_dst: 'dl_dst', eth_type: 'dl_type', vlan_tci: 'vlan_tci',
  ip_src: 'nw_src', ip_dst: 'nw_dst', arp_spa: 'nw_src', arp_tpa: 'nw_dst', arp_op: 'nw_proto',
  ipv6_src: 'ipv6_src', ipv6_dst: 'ipv6_dst', ipv6_label: 'ipv6_label', nw_proto: 'nw_proto', nw_ttl: 'nw_ttl',
  ip_frag: 'nw_frag', arp_sha: 'arp_sha', arp_tha: 'arp_tha', nd_sll: 'arp_sha', nd_tll: 'arp_tha', nd_target: 'nd_target',
  tcp_src: 'tp_src', udp_src: 'tp_src', sctp_src: 'tp_src', tcp_dst: 'tp_dst', udp_dst: 'tp_dst', sctp_dst: 'tp_dst',
  icmp_type: 'tp_src', icmpv6_type: 'tp_src', icmp_code: 'tp_dst', icmpv6_code: 'tp_dst', tcp_flags: 'tcp_flags',
};

/** The value of OVS field `name` in `f`. */
export function getField(f: TraceFlow, name: string): bigint {
  const d = DIRECT[name];
  if (d) return f[d];
  switch (name) {
    case 'xxreg0':
      return (f.regs[0]! << 96n) | (f.regs[1]! << 64n) | (f.regs[2]! << 32n) | f.regs[3]!;
    case 'xxreg1':
      return (f.regs[4]! << 96n) | (f.regs[5]! << 64n) | (f.regs[6]! << 32n) | f.regs[7]!;
    case 'xreg4':
      return (f.regs[8]! << 32n) | f.regs[9]!;
    case 'ip_dscp':
      return f.nw_tos >> 2n;
    case 'nw_ecn':
      return f.nw_tos & 3n;
    default: {
      const m = /^reg(\d+)$/.exec(name);
      if (m) return f.regs[Number(m[1])]!;
      return 0n;
    }
  }
}

/** A reader of OVS field `name` (what `getField(f, name)` returns), resolved once for a hot loop. */
export function fieldReader(name: string): (f: TraceFlow) => bigint {
  const d = DIRECT[name];
  if (d) return (f) => f[d];
  const m = /^reg(\d+)$/.exec(name);
  if (m) {
    const i = Number(m[1]);
    return (f) => f.regs[i]!;
  }
  return (f) => getField(f, name);
}

/** Writes `value` into the bits `mask` of OVS field `name` of `f`. */
export function setField(f: TraceFlow, name: string, value: bigint, mask: bigint): void {
  const upd = (old: bigint) => (old & ~mask) | (value & mask);
  const d = DIRECT[name];
  if (d) {
    f[d] = upd(f[d]);
    return;
  }
  const setRegs = (first: number, n: number, v: bigint) => {
    for (let i = 0; i < n; i++) f.regs[first + i] = (v >> BigInt(32 * (n - 1 - i))) & M32;
  };
  switch (name) {
    case 'xxreg0':
      return setRegs(0, 4, upd(getField(f, name)));
    case 'xxreg1':
      return setRegs(4, 4, upd(getField(f, name)));
    case 'xreg4':
      return setRegs(8, 2, upd(getField(f, name)));
    case 'ip_dscp':
      f.nw_tos = (f.nw_tos & 3n) | ((upd(f.nw_tos >> 2n) & 0x3fn) << 2n);
      return;
    case 'nw_ecn':
      f.nw_tos = (f.nw_tos & ~3n) | (upd(f.nw_tos & 3n) & 3n);
      return;
    default: {
      const m = /^reg(\d+)$/.exec(name);
      if (m) f.regs[Number(m[1])] = upd(f.regs[Number(m[1])]!) & M32;
    }
  }
}

/** True for IPv4 and IPv6 packets. */
export function isIpAny(f: TraceFlow): boolean {
  return f.dl_type === ETH_TYPE.IP || f.dl_type === ETH_TYPE.IPV6;
}

/** True for IPv6 neighbour discovery (NS/NA with code 0). */
export function isNd(f: TraceFlow): boolean {
  return f.dl_type === ETH_TYPE.IPV6 && f.nw_proto === IPPROTO.ICMPV6 && (f.tp_src === 135n || f.tp_src === 136n) && f.tp_dst === 0n;
}

/** OVS's `mf_are_prereqs_ok` for a set-field to OVS field `name`. */
export function fieldPrereqsOk(f: TraceFlow, name: string): boolean {
  const ip4 = f.dl_type === ETH_TYPE.IP;
  const ip6 = f.dl_type === ETH_TYPE.IPV6;
  switch (name) {
    case 'ip_src':
    case 'ip_dst':
      return ip4;
    case 'ipv6_src':
    case 'ipv6_dst':
    case 'ipv6_label':
      return ip6;
    case 'nw_proto':
    case 'ip_dscp':
    case 'nw_ecn':
    case 'nw_ttl':
    case 'ip_frag':
      return isIpAny(f);
    case 'arp_op':
    case 'arp_spa':
    case 'arp_tpa':
    case 'arp_sha':
    case 'arp_tha':
      return f.dl_type === ETH_TYPE.ARP || f.dl_type === ETH_TYPE.RARP;
    case 'tcp_src':
    case 'tcp_dst':
    case 'tcp_flags':
      return isIpAny(f) && f.nw_proto === IPPROTO.TCP;
    case 'udp_src':
    case 'udp_dst':
      return isIpAny(f) && f.nw_proto === IPPROTO.UDP;
    case 'sctp_src':
    case 'sctp_dst':
      return isIpAny(f) && f.nw_proto === IPPROTO.SCTP;
    case 'icmp_type':
    case 'icmp_code':
      return ip4 && f.nw_proto === IPPROTO.ICMP;
    case 'icmpv6_type':
    case 'icmpv6_code':
      return ip6 && f.nw_proto === IPPROTO.ICMPV6;
    case 'nd_target':
      return isNd(f);
    case 'nd_sll':
      return isNd(f) && f.tp_src === 135n;
    case 'nd_tll':
      return isNd(f) && f.tp_src === 136n;
    default:
      return true;
  }
}

/** A MAC (48-bit value) as `xx:xx:xx:xx:xx:xx`. */
export function formatMacBig(v: bigint): string {
  const h = v.toString(16).padStart(12, '0');
  return h.match(/../g)!.join(':');
}

const MAC_FIELDS = new Set(['eth_src', 'eth_dst', 'arp_sha', 'arp_tha', 'nd_sll', 'nd_tll']);
const IP4_FIELDS = new Set(['ip_src', 'ip_dst', 'arp_spa', 'arp_tpa']);
const IP6_FIELDS = new Set(['ipv6_src', 'ipv6_dst', 'nd_target']);
const DEC_FIELDS = new Set([
  'nw_proto', 'ip_dscp', 'nw_ecn', 'nw_ttl', 'arp_op', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst', 'sctp_src', 'sctp_dst',
  'icmp_type', 'icmp_code', 'icmpv6_type', 'icmpv6_code',
]);

const CT_STATE_NAMES: readonly [bigint, string][] = [
  [CS.NEW, 'new'], [CS.EST, 'est'], [CS.REL, 'rel'], [CS.RPL, 'rpl'], [CS.INV, 'inv'], [CS.TRK, 'trk'], [CS.SNAT, 'snat'], [CS.DNAT, 'dnat'],
];

/** OVS `format_flags(ct_state_to_string, state, '|')`. */
export function formatCtState(state: bigint): string {
  if (!state) return '0';
  const out: string[] = [];
  let bad = 0n;
  for (let bit = 1n; bit <= state; bit <<= 1n) {
    if (!(state & bit)) continue;
    const n = CT_STATE_NAMES.find(([b]) => b === bit);
    if (n) out.push(n[1]);
    else bad |= bit;
  }
  if (bad) out.push(`0x${bad.toString(16)}`);
  return out.join('|');
}

/** A bad `--ct` value. */
export class CtStateError extends Error {
  override readonly name = 'CtStateError';
}

/** Parses `--ct` flags (`new`, `est,rpl`, ...): OVS's `parse_ct_state` with `trk` implied. */
export function parseCtState(s: string): bigint {
  let state = CS.TRK;
  for (const part of s.split(/[, ]+/).filter(Boolean)) {
    const n = CT_STATE_NAMES.find(([, name]) => name === part);
    if (!n) throw new CtStateError(`${part}: unknown connection tracking state flag`);
    state |= n[0];
  }
  return state;
}

const TCP_FLAG_NAMES: readonly string[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns', '[200]', '[400]', '[800]'];

function formatTcpFlags(v: bigint): string {
  if (!v) return '0';
  const out: string[] = [];
  for (let i = 0; i < 12; i++) if (v & (1n << BigInt(i))) out.push(TCP_FLAG_NAMES[i]!);
  return out.join('|');
}

/** OVS `mf_format` of a whole-field value of OVS field `field`. */
export function mfFormat(field: OvsField, v: bigint): string {
  if (MAC_FIELDS.has(field.name)) return formatMacBig(v);
  if (IP4_FIELDS.has(field.name)) return formatIpv4(v);
  if (IP6_FIELDS.has(field.name)) return formatIpv6(v);
  if (DEC_FIELDS.has(field.name)) return v.toString();
  if (field.name === 'tcp_flags') return formatTcpFlags(v);
  if (field.name === 'ct_state') return formatCtState(v);
  if (field.name === 'ip_frag') return ['no', 'first', '<error>', 'later'][Number(v & 3n)]!;
  return putHex(v);
}

/** OVS `flow_format` as ovn-trace prints the microflow (and LOG packets). */
export function flowFormat(f: TraceFlow): string {
  const out: string[] = [];
  const ip4 = f.dl_type === ETH_TYPE.IP;
  const ip6 = f.dl_type === ETH_TYPE.IPV6;
  const arp = f.dl_type === ETH_TYPE.ARP || f.dl_type === ETH_TYPE.RARP;
  const ipAny = ip4 || ip6;
  const nd = isNd(f);
  if (f.pkt_mark) out.push(`pkt_mark=0x${f.pkt_mark.toString(16)}`);
  if (f.ct_state) out.push(`ct_state=${formatCtState(f.ct_state)}`);
  if (f.ct_mark) out.push(`ct_mark=0x${f.ct_mark.toString(16)}`);
  if (f.ct_label) out.push(`ct_label=${putHex(f.ct_label)}`);
  let skipProto = false;
  let skipType = true;
  if (ip4 || ip6) {
    const names4: Record<string, string> = { '1': 'icmp', '6': 'tcp', '17': 'udp', '132': 'sctp' };
    const names6: Record<string, string> = { '58': 'icmp6', '6': 'tcp6', '17': 'udp6', '132': 'sctp6' };
    const n = (ip4 ? names4 : names6)[f.nw_proto.toString()];
    if (n) {
      out.push(n);
      skipProto = true;
    } else out.push(ip4 ? 'ip' : 'ipv6');
  } else if (f.dl_type === ETH_TYPE.ARP) out.push('arp');
  else if (f.dl_type === ETH_TYPE.RARP) out.push('rarp');
  else skipType = false;
  f.regs.forEach((r, i) => {
    if (r) out.push(`reg${i}=0x${r.toString(16)}`);
  });
  if (f.metadata) out.push(`metadata=0x${f.metadata.toString(16)}`);
  if (f.vlan_tci & 0x1000n) {
    out.push(`dl_vlan=${f.vlan_tci & 0xfffn}`);
    out.push(`dl_vlan_pcp=${f.vlan_tci >> 13n}`);
  } else out.push(`vlan_tci=0x${f.vlan_tci.toString(16).padStart(4, '0')}`);
  out.push(`dl_src=${formatMacBig(f.dl_src)}`, `dl_dst=${formatMacBig(f.dl_dst)}`);
  if (!skipType) out.push(`dl_type=0x${f.dl_type.toString(16).padStart(4, '0')}`);
  if (!ipAny && !arp) return out.join(',');
  if (ip6) {
    out.push(`ipv6_src=${formatIpv6(f.ipv6_src)}`, `ipv6_dst=${formatIpv6(f.ipv6_dst)}`);
    out.push(`ipv6_label=0x${f.ipv6_label.toString(16).padStart(5, '0')}`);
  } else if (arp) {
    out.push(`arp_spa=${formatIpv4(f.nw_src)}`, `arp_tpa=${formatIpv4(f.nw_dst)}`);
  } else out.push(`nw_src=${formatIpv4(f.nw_src)}`, `nw_dst=${formatIpv4(f.nw_dst)}`);
  if (arp) {
    out.push(`arp_op=${f.nw_proto}`, `arp_sha=${formatMacBig(f.arp_sha)}`, `arp_tha=${formatMacBig(f.arp_tha)}`);
    return out.join(',');
  }
  if (!skipProto) out.push(`nw_proto=${f.nw_proto}`);
  out.push(`nw_tos=${f.nw_tos & 0xfcn}`, `nw_ecn=${f.nw_tos & 3n}`, `nw_ttl=${f.nw_ttl}`);
  const frag = f.nw_frag & 3n;
  out.push(`nw_frag=${frag & 1n ? (frag & 2n ? 'later' : 'first') : frag & 2n ? '<error>' : 'no'}`);
  const later = (f.nw_frag & 2n) !== 0n;
  const p = f.nw_proto;
  const hasL4 = !later && (p === IPPROTO.ICMP || p === IPPROTO.ICMPV6 || p === IPPROTO.TCP || p === IPPROTO.UDP || p === IPPROTO.SCTP || p === IPPROTO.IGMP);
  if (!hasL4) return out.join(',');
  if ((ip4 && p === IPPROTO.ICMP) || (ip6 && p === IPPROTO.ICMPV6)) {
    out.push(`icmp_type=${f.tp_src}`, `icmp_code=${f.tp_dst}`);
    if (ip6 && nd) {
      out.push(`nd_target=${formatIpv6(f.nd_target)}`, `nd_sll=${formatMacBig(f.arp_sha)}`, `nd_tll=${formatMacBig(f.arp_tha)}`);
    }
  } else out.push(`tp_src=${f.tp_src}`, `tp_dst=${f.tp_dst}`);
  if (p === IPPROTO.TCP) out.push(`tcp_flags=${formatTcpFlags(f.tcp_flags)}`);
  return out.join(',');
}
