/**
 * Connection entries as `ovs-appctl dpctl/dump-conntrack` prints them (lib/ct-dpif.c,
 * `ct_dpif_format_entry()` without verbosity or statistics): protocol, original and reply tuples,
 * then `zone`, `mark` (decimal) and `labels` (hex) when non-zero, and for TCP the connection state:
 * the higher of the two peer states, with FIN_WAIT_2 shown as TIME_WAIT and SYN_RECV as
 * ESTABLISHED (`coalesce_tcp_state()`).
 */
import { formatIpv4, formatIpv6Ntop as formatIpv6 } from '@ovnts/packet';
import { TCP_STATE_NAMES, TcpState } from './constants.js';
import { T_DPORT, T_DST, T_META, T_SPORT, T_SRC } from './store.js';

/** One live connection. */
export interface CtEntry {
  /** Connection id (internal; stable while the connection lives). */
  id: number;
  /** Zone. */
  zone: number;
  /** Original-direction tuple words (see store.ts `T_*`). */
  orig: Uint32Array;
  /** Reply-direction tuple words. */
  reply: Uint32Array;
  /** ct_mark. */
  mark: number;
  /** ct_label lanes, most significant first. */
  label: Uint32Array;
  /** TCP peer states (original sender, reply sender); meaningless for other protocols. */
  tcpStates: [number, number];
  /** UDP/other state (0 first, 1 multiple, 2 bidirectional) or ICMP state (0 first, 1 reply). */
  state: number;
  /** Milliseconds until expiry. */
  timeoutMs: number;
  /** NAT action bits. */
  nat: number;
}

/** Protocol name as `ct_dpif_format_ipproto()` prints it. */
export function ctProtoName(p: number): string {
  switch (p) {
    case 1: return 'icmp';
    case 58: return 'icmpv6';
    case 6: return 'tcp';
    case 17: return 'udp';
    case 132: return 'sctp';
    case 136: return 'udplite';
    case 33: return 'dccp';
    case 2: return 'igmp';
    default: return String(p);
  }
}

function addr(t: Uint32Array, o: number, v6: boolean): string {
  if (!v6) return formatIpv4(t[o]!);
  return formatIpv6((BigInt(t[o]!) << 96n) | (BigInt(t[o + 1]!) << 64n) | (BigInt(t[o + 2]!) << 32n) | BigInt(t[o + 3]!));
}

/** `src=..,dst=..,sport=..,dport=..` or, for ICMP, `src=..,dst=..,id=..,type=..,code=..`. */
export function formatCtTuple(t: Uint32Array): string {
  const meta = t[T_META]!;
  const v6 = (meta & 1) !== 0;
  const proto = (meta >>> 8) & 0xff;
  let s = `src=${addr(t, T_SRC, v6)},dst=${addr(t, T_DST, v6)}`;
  const sp = t[T_SPORT]!;
  if (proto === 1 || proto === 58) s += `,id=${sp >>> 16},type=${(sp >>> 8) & 0xff},code=${sp & 0xff}`;
  else s += `,sport=${sp >>> 16},dport=${t[T_DPORT]! >>> 16}`;
  return s;
}

/** The TCP state `dump-conntrack` shows for two peer states. */
export function coalescedTcpState(a: number, b: number): string {
  let s = Math.max(a, b);
  if (s === TcpState.FIN_WAIT_2) s = TcpState.TIME_WAIT;
  else if (s === TcpState.SYN_RECV) s = TcpState.ESTABLISHED;
  return TCP_STATE_NAMES[s] ?? `[${s}]`;
}

/** One `dump-conntrack` line. */
export function formatCtEntry(e: CtEntry): string {
  const proto = (e.orig[T_META]! >>> 8) & 0xff;
  let s = `${ctProtoName(proto)},orig=(${formatCtTuple(e.orig)}),reply=(${formatCtTuple(e.reply)})`;
  if (e.zone) s += `,zone=${e.zone}`;
  if (e.mark) s += `,mark=${e.mark >>> 0}`;
  if (e.label[0] || e.label[1] || e.label[2] || e.label[3]) {
    let hex = '';
    for (let i = 0; i < 4; i++) hex += (e.label[i]! >>> 0).toString(16).padStart(8, '0');
    s += `,labels=0x${hex.replace(/^0+/, '')}`;
  }
  if (proto === 6) s += `,protoinfo=(state=${coalescedTcpState(e.tcpStates[0], e.tcpStates[1])})`;
  return s;
}
