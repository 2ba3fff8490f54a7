/**
 * ovs-ofctl text syntax: flows (`add-flow`, `add-flows` files, the `dump-flows` output form) and
 * groups (`add-group`), parsed into typed values and formatted back the way OVS 3.1 prints them
 * under OpenFlow 1.5.
 *
 * Matches print in OVS's `match_format()` order (priority, pkt_mark, conj_id, ct_*, the protocol
 * keyword, registers, tunnel, metadata, in_port, VLAN, Ethernet, L3, L4) with OVS's value styles.
 * Parsing a flow normalises its match as OVS does before it installs it (fields without their
 * protocol are dropped quietly; a VLAN TCI match is reduced to what OpenFlow 1.5's vlan_vid and
 * vlan_pcp can carry), so `formatFlow(parseFlow(text))` is the text `ovs-ofctl dump-flows` shows.
 * `checkFlow()` then raises the OpenFlow error a switch would send.
 */
import { formatMac } from '@ovnts/packet';
import { OpenFlowError, TextParseError } from './errors.js';
import {
  CT_STATE_FLAGS, ETH_TYPE_IP, ETH_TYPE_IPV6, FRAG_ANY, FRAG_LATER, PROTOCOL_KEYWORDS, TCP_FLAGS, VLAN_CFI,
  field, fieldByName, formatFlagsMasked, formatIpv4Masked, formatIpv6Masked, parseFieldValue, splitMask,
} from './fields.js';
import { W, fieldOnes } from './flowkey.js';
import { Match, checkMatchPrereqs } from './match.js';
import {
  checkActionSet, checkActionsAgainst, checkActionsDecoded, checkActionsParsed, checkModTpDecoded, formatActionList, formatInstructions, parseActionList,
  parseInstructions, type Action, type CheckState, type Instructions,
} from './actions.js';
import { normalizeVlanForOxm } from './field-codec.js';
import { hexC, parseUint, splitTopLevel } from './ofctl-lex.js';
import { formatPort, parsePort } from './ports.js';

export { formatFieldValue, parseFieldValue } from './fields.js';

/** OVS's default flow priority. */
export const DEFAULT_PRIORITY = 32768;

/** Flow-mod flags, in the order OVS prints them. */
export const FLOW_FLAGS = ['send_flow_rem', 'check_overlap', 'reset_counts', 'no_packet_counts', 'no_byte_counts'] as const;

/** Statistics shown by `dump-flows`. */
export interface FlowStats {
  /** Time since the flow was added, in milliseconds (OVS prints seconds with 3 decimals). */
  durationMs: number;
  /** Packets matched. */
  nPackets: bigint;
  /** Bytes matched. */
  nBytes: bigint;
  /** Seconds since the flow last matched (OpenFlow 1.0 only), if shown. */
  idleAge?: number;
  /** Seconds since the flow was added or modified (OpenFlow 1.0 only), if shown. */
  hardAge?: number;
}

/** A flow as ovs-ofctl writes it. */
export interface Flow {
  /** Table 0..254. */
  table: number;
  /** 0..65535. */
  priority: number;
  /** Opaque controller cookie. */
  cookie: bigint;
  /** Seconds (0 = none). */
  idleTimeout: number;
  /** Seconds (0 = none). */
  hardTimeout: number;
  /** Eviction importance. */
  importance: number;
  /** Flow-mod flags (`send_flow_rem`, ...). */
  flags: string[];
  /** What it matches. */
  match: Match;
  /** What it does. */
  instructions: Instructions;
  /** Present when parsed from (or to be formatted as) `dump-flows` output. */
  stats?: FlowStats;
}

/** Group types. */
export type GroupType = 'all' | 'select' | 'indirect' | 'ff';

/** A group bucket. */
export interface Bucket {
  /** `bucket_id`, if given. */
  bucketId?: number;
  /** Select weight, if given. */
  weight?: number;
  /** Fast-failover watch port, if given. */
  watchPort?: number;
  /** Fast-failover watch group, if given. */
  watchGroup?: number;
  /** The bucket's actions. */
  actions: Action[];
}

/** A group as `add-group` takes it. */
export interface Group {
  /** Group id. */
  groupId: number;
  /** Type. */
  type: GroupType;
  /** Buckets, in order. */
  buckets: Bucket[];
}

// ---------------------------------------------------------------------------------------------
// Matches

/** Apply one `name=value` (or protocol keyword) to a match, as OVS's flow parser does. */
export function applyMatchText(m: Match, name: string, value: string | undefined, input: string, col: number): void {
  const proto = PROTOCOL_KEYWORDS[name];
  if (proto && value === undefined) {
    m.set(field('eth_type'), BigInt(proto.ethType));
    if (proto.ipProto !== undefined) m.set(field('nw_proto'), BigInt(proto.ipProto));
    return;
  }
  const f = fieldByName(name);
  if (!f) throw new TextParseError(input, col, `unknown keyword ${name}`);
  if (value === undefined) throw new TextParseError(input, col, `field ${name} missing value`);
  const vcol = col + name.length + 1;
  if (f.name === 'dl_vlan') {
    const v = parseUint(value);
    if (v === 0xffffn) {
      // OpenFlow 1.0's OFP_VLAN_NONE: match frames without a VLAN header.
      m.set(field('vlan_tci'), 0n, 0x1fffn);
      return;
    }
  }
  const { value: v, mask } = parseFieldValue(f, value, input, vcol);
  if (mask !== undefined && !f.maskable && mask !== fieldOnes(f)) {
    throw new TextParseError(input, vcol, `${f.name} does not support masking`);
  }
  m.set(f, v, mask ?? fieldOnes(f));
}

/** Parse a bare match (`in_port=1,tcp,tp_dst=80`), normalised as OVS installs it. */
export function parseMatch(text: string): Match {
  const m = new Match();
  for (const { text: tok, col } of splitTopLevel(text, 0, ', \t')) {
    const t = tok.trim();
    if (!t) continue;
    const i = t.indexOf('=');
    applyMatchText(m, i < 0 ? t : t.slice(0, i), i < 0 ? undefined : t.slice(i + 1), text, col);
  }
  normalizeVlanForOxm(m);
  m.normalize();
  return m;
}

function put(out: string[], name: string, v: string): void {
  out.push(`${name}=${v}`);
}

function u32Masked(out: string[], name: string, v: number, m: number): void {
  if (m) put(out, name, hexC(v) + (m === 0xffff_ffff ? '' : `/${hexC(m)}`));
}

function be16Masked(out: string[], name: string, v: number, m: number): void {
  if (m) put(out, name, m === 0xffff ? String(v) : `0x${v.toString(16)}/0x${m.toString(16)}`);
}

function bigMasked(out: string[], name: string, v: bigint, m: bigint, ones: bigint): void {
  if (m) put(out, name, hexC(v) + (m === ones ? '' : `/${hexC(m)}`));
}

function macMasked(out: string[], name: string, m: Match, word: number): void {
  const mk = m.mask[word]! * 0x1_0000_0000 + m.mask[word + 1]!;
  if (!mk) return;
  const v = m.value[word]! * 0x1_0000_0000 + m.value[word + 1]!;
  put(out, name, formatMac(v) + (mk === 0xffff_ffff_ffff ? '' : `/${formatMac(mk)}`));
}

function ip4Masked(out: string[], name: string, m: Match, word: number): void {
  const mk = m.mask[word]!;
  if (mk) put(out, name, formatIpv4Masked(m.value[word]!, mk));
}

function words128(a: Uint32Array, w: number): bigint {
  return (BigInt(a[w]!) << 96n) | (BigInt(a[w + 1]!) << 64n) | (BigInt(a[w + 2]!) << 32n) | BigInt(a[w + 3]!);
}

function ip6Masked(out: string[], name: string, m: Match, word: number): void {
  const mk = words128(m.mask, word);
  if (mk) put(out, name, formatIpv6Masked(words128(m.value, word), mk));
}

/** Format a match in OVS `match_format()` order; `priority` is printed first unless it is 32768. */
export function formatMatch(m: Match, priority = DEFAULT_PRIORITY): string {
  const out: string[] = [];
  const V = m.value;
  const K = m.mask;
  if (priority !== DEFAULT_PRIORITY) put(out, 'priority', String(priority));
  u32Masked(out, 'pkt_mark', V[W.pkt_mark]!, K[W.pkt_mark]!);
  if (K[W.conj_id]) put(out, 'conj_id', String(V[W.conj_id]));
  if (K[W.actset_output]) put(out, 'actset_output', formatPort(V[W.actset_output]!));
  if (K[W.ct_state]) put(out, 'ct_state', formatFlagsMasked(CT_STATE_FLAGS, V[W.ct_state]!, K[W.ct_state]! & 0xff, 0xff));
  if (K[W.ct_zone]) put(out, 'ct_zone', String(V[W.ct_zone]));
  u32Masked(out, 'ct_mark', V[W.ct_mark]!, K[W.ct_mark]!);
  bigMasked(out, 'ct_label', words128(V, W.ct_label), words128(K, W.ct_label), (1n << 128n) - 1n);
  ip4Masked(out, 'ct_nw_src', m, W.ct_nw_src);
  ip6Masked(out, 'ct_ipv6_src', m, W.ct_ipv6_src);
  ip4Masked(out, 'ct_nw_dst', m, W.ct_nw_dst);
  ip6Masked(out, 'ct_ipv6_dst', m, W.ct_ipv6_dst);
  if (K[W.ct_nw_proto]) {
    put(out, 'ct_nw_proto', String(V[W.ct_nw_proto]));
    be16Masked(out, 'ct_tp_src', V[W.ct_tp_src]!, K[W.ct_tp_src]!);
    be16Masked(out, 'ct_tp_dst', V[W.ct_tp_dst]!, K[W.ct_tp_dst]!);
  }
  const dl = K[W.dl_type] ? V[W.dl_type]! : -1;
  const proto = K[W.nw_proto] ? V[W.nw_proto]! : -1;
  let skipType = false;
  let skipProto = false;
  if (dl >= 0) {
    skipType = true;
    if (dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6) {
      const v6 = dl === ETH_TYPE_IPV6;
      const kw = ({ 1: v6 ? undefined : 'icmp', 58: v6 ? 'icmp6' : undefined, 6: 'tcp', 17: 'udp', 132: 'sctp' } as Record<number, string | undefined>)[proto];
      if (kw) {
        out.push(kw === 'icmp' || kw === 'icmp6' || !v6 ? kw : kw + '6');
        skipProto = true;
      } else out.push(v6 ? 'ipv6' : 'ip');
    } else if (dl === 0x0806) out.push('arp');
    else if (dl === 0x8035) out.push('rarp');
    else if (dl === 0x8847) out.push('mpls');
    else if (dl === 0x8848) out.push('mplsm');
    else skipType = false;
  }
  for (let i = 0; i < 16; i++) u32Masked(out, `reg${i}`, V[W.regs + i]!, K[W.regs + i]!);
  bigMasked(out, 'tun_id', (BigInt(V[W.tun_id]!) << 32n) | BigInt(V[W.tun_id + 1]!), (BigInt(K[W.tun_id]!) << 32n) | BigInt(K[W.tun_id + 1]!), (1n << 64n) - 1n);
  ip4Masked(out, 'tun_src', m, W.tun_src);
  ip4Masked(out, 'tun_dst', m, W.tun_dst);
  ip6Masked(out, 'tun_ipv6_src', m, W.tun_ipv6_src);
  ip6Masked(out, 'tun_ipv6_dst', m, W.tun_ipv6_dst);
  for (let i = 0; i < 8; i++) {
    const w = W.tun_metadata0 + 4 * i;
    bigMasked(out, `tun_metadata${i}`, words128(V, w), words128(K, w), (1n << 128n) - 1n);
  }
  bigMasked(out, 'metadata', (BigInt(V[W.metadata]!) << 32n) | BigInt(V[W.metadata + 1]!), (BigInt(K[W.metadata]!) << 32n) | BigInt(K[W.metadata + 1]!), (1n << 64n) - 1n);
  if (K[W.in_port]) put(out, 'in_port', formatPort(V[W.in_port]!));
  const tk = K[W.vlan_tci]!;
  if (tk) {
    const tv = V[W.vlan_tci]!;
    const vidMask = tk & 0x0fff;
    const pcpMask = tk & 0xe000;
    if (tk & VLAN_CFI && tv & VLAN_CFI && (!vidMask || vidMask === 0xfff) && (!pcpMask || pcpMask === 0xe000) && (vidMask || pcpMask)) {
      if (vidMask) put(out, 'dl_vlan', String(tv & 0xfff));
      if (pcpMask) put(out, 'dl_vlan_pcp', String(tv >>> 13));
    } else if (tk === 0xffff) put(out, 'vlan_tci', `0x${tv.toString(16).padStart(4, '0')}`);
    else put(out, 'vlan_tci', `0x${tv.toString(16).padStart(4, '0')}/0x${tk.toString(16).padStart(4, '0')}`);
  }
  macMasked(out, 'dl_src', m, W.dl_src);
  macMasked(out, 'dl_dst', m, W.dl_dst);
  if (!skipType && K[W.dl_type]) put(out, 'dl_type', `0x${V[W.dl_type]!.toString(16).padStart(4, '0')}`);
  const arp = dl === 0x0806 || dl === 0x8035;
  if (dl === ETH_TYPE_IPV6) {
    ip6Masked(out, 'ipv6_src', m, W.ipv6_src);
    ip6Masked(out, 'ipv6_dst', m, W.ipv6_dst);
    const lk = K[W.ipv6_label]!;
    if (lk) {
      const hex5 = (x: number): string => `0x${x.toString(16).padStart(5, '0')}`;
      put(out, 'ipv6_label', hex5(V[W.ipv6_label]!) + (lk === 0xfffff ? '' : `/${hex5(lk)}`));
    }
  } else if (arp) {
    ip4Masked(out, 'arp_spa', m, W.nw_src);
    ip4Masked(out, 'arp_tpa', m, W.nw_dst);
  } else {
    ip4Masked(out, 'nw_src', m, W.nw_src);
    ip4Masked(out, 'nw_dst', m, W.nw_dst);
  }
  if (!skipProto && K[W.nw_proto]) put(out, arp ? 'arp_op' : 'nw_proto', String(V[W.nw_proto]));
  if (arp) {
    macMasked(out, 'arp_sha', m, W.arp_sha);
    macMasked(out, 'arp_tha', m, W.arp_tha);
  }
  if (K[W.nw_tos]! & 0xfc) put(out, 'nw_tos', String(V[W.nw_tos]! & 0xfc));
  if (K[W.nw_tos]! & 0x03) put(out, 'nw_ecn', String(V[W.nw_tos]! & 0x03));
  if (K[W.nw_ttl]) put(out, 'nw_ttl', String(V[W.nw_ttl]));
  // The outermost label stack entry by its parts, the other two entries whole (OVS match_format()).
  const lk = K[W.mpls_lse]!;
  const lv = V[W.mpls_lse]!;
  if (lk & 0xfffff000) put(out, 'mpls_label', String(lv >>> 12));
  if (lk & 0xe00) put(out, 'mpls_tc', String((lv >>> 9) & 7));
  if (lk & 0xff) put(out, 'mpls_ttl', String(lv & 0xff));
  if (lk & 0x100) put(out, 'mpls_bos', String((lv >>> 8) & 1));
  for (let i = 1; i < 3; i++) {
    const mk = K[W.mpls_lse + i]!;
    const mv = V[W.mpls_lse + i]!;
    if (mk) put(out, `mpls_lse${i}`, mk === 0xffffffff ? String(mv) : `0x${mv.toString(16).padStart(8, '0')}/0x${mk.toString(16).padStart(8, '0')}`);
  }
  const fk = K[W.nw_frag]! & 3;
  const fv = V[W.nw_frag]!;
  if (fk === 3) put(out, 'nw_frag', fv & FRAG_ANY ? (fv & FRAG_LATER ? 'later' : 'first') : fv & FRAG_LATER ? '<error>' : 'no');
  else if (fk === FRAG_ANY) put(out, 'nw_frag', fv & FRAG_ANY ? 'yes' : 'no');
  else if (fk === FRAG_LATER) put(out, 'nw_frag', fv & FRAG_LATER ? 'later' : 'not_later');
  const vdl = V[W.dl_type]!;
  const vproto = V[W.nw_proto]!;
  if ((vdl === ETH_TYPE_IP && vproto === 1) || (vdl === ETH_TYPE_IPV6 && vproto === 58)) {
    be16Masked(out, 'icmp_type', V[W.tp_src]!, K[W.tp_src]!);
    be16Masked(out, 'icmp_code', V[W.tp_dst]!, K[W.tp_dst]!);
    if (vdl === ETH_TYPE_IPV6) {
      ip6Masked(out, 'nd_target', m, W.nd_target);
      macMasked(out, 'nd_sll', m, W.arp_sha);
      macMasked(out, 'nd_tll', m, W.arp_tha);
    }
  } else if (vdl === ETH_TYPE_IP && vproto === 2) {
    be16Masked(out, 'igmp_type', V[W.tp_src]!, K[W.tp_src]!);
    be16Masked(out, 'igmp_code', V[W.tp_dst]!, K[W.tp_dst]!);
  } else {
    be16Masked(out, 'tp_src', V[W.tp_src]!, K[W.tp_src]!);
    be16Masked(out, 'tp_dst', V[W.tp_dst]!, K[W.tp_dst]!);
  }
  if ((vdl === ETH_TYPE_IP || vdl === ETH_TYPE_IPV6) && vproto === 6 && K[W.tcp_flags]) {
    put(out, 'tcp_flags', formatFlagsMasked(TCP_FLAGS, V[W.tcp_flags]!, K[W.tcp_flags]! & 0xfff, 0xfff));
  }
  return out.join(',');
}

// ---------------------------------------------------------------------------------------------
// Flows

/**
 * What a flow text is for, as `ovs-ofctl` reads it: `add` (the default: actions required, a cookie
 * mask refused), `modify` (actions required, a cookie mask selects the flows) or `delete` (a match
 * only: no actions). `any` is `modify`.
 */
export type FlowCommand = 'add' | 'modify' | 'delete' | 'any';

/** Options for `parseFlow`. */
export interface ParseFlowOptions {
  /** See `FlowCommand`. */
  command?: FlowCommand;
}

/** A flow modification read from text (`parseFlowMod`). */
export interface FlowMod {
  flow: Flow;
  /** `cookie=V/M`: the flows whose cookie matches V under M (modify, delete). */
  cookieMask?: bigint;
  /** The text names a table (without one, modify and delete cover every table). */
  hasTable: boolean;
  /** The text sets the cookie (`cookie=V` without a mask). */
  newCookie: boolean;
}

/** A fresh flow with OVS's defaults (table 0, priority 32768, no match, drop). */
export function newFlow(): Flow {
  return {
    table: 0, priority: DEFAULT_PRIORITY, cookie: 0n, idleTimeout: 0, hardTimeout: 0, importance: 0, flags: [],
    match: new Match(), instructions: { apply: [], clearActions: false },
  };
}

function parseDec(input: string, col: number, s: string | undefined, what: string, max: number): number {
  if (s === undefined || !/^[0-9]+$/.test(s) || Number(s) > max) throw new TextParseError(input, col, `invalid ${what} "${s ?? ''}"`);
  return Number(s);
}

/**
 * Parse one flow in `ovs-ofctl add-flow` syntax or in the `dump-flows` output form (with
 * `cookie=`, `duration=`, `n_packets=`, ... before the match). Raises `TextParseError`.
 */
export function parseFlow(text: string, opts: ParseFlowOptions = {}): Flow {
  return parseFlowMod(text, opts.command ?? 'add').flow;
}

/**
 * Parse a flow for `command` (see `FlowCommand`), as OVS's `parse_ofp_str()`: an add or modify
 * without actions is refused ("must specify an action"); a delete has none (its `actions` keyword is
 * unknown). Errors are `TextParseError`s over `text` as given.
 */
export function parseFlowMod(text: string, command: FlowCommand = 'add'): FlowMod {
  const flow = newFlow();
  const del = command === 'delete';
  const am = /\bactions?\s*[=:]/.exec(text);
  if (am && del) throw new TextParseError(text, am.index, `unknown keyword ${am[0].replace(/\s*[=:]$/, '')}`);
  if (!am && !del) throw new TextParseError(text, text.length, 'must specify an action');
  const head = am ? text.slice(0, am.index) : text;
  const actCol = am ? am.index + am[0].length : text.length;
  let hasTable = false;
  let newCookie = false;
  const stats: Partial<FlowStats> = {};
  let cookieMask: bigint | undefined;
  for (const { text: tok, col } of splitTopLevel(head, 0, ', \t\r\n')) {
    const t = tok.trim();
    if (!t) continue;
    const lead = tok.length - tok.trimStart().length;
    const c = col + lead;
    const i = t.indexOf('=');
    const name = i < 0 ? t : t.slice(0, i);
    const value = i < 0 ? undefined : t.slice(i + 1);
    switch (name) {
      case 'table':
        flow.table = parseDec(text, c, value, 'table', 254);
        hasTable = true;
        break;
      case 'priority':
        flow.priority = parseDec(text, c, value, 'priority', 65535);
        break;
      case 'idle_timeout':
        flow.idleTimeout = parseDec(text, c, value, 'idle_timeout', 65535);
        break;
      case 'hard_timeout':
        flow.hardTimeout = parseDec(text, c, value, 'hard_timeout', 65535);
        break;
      case 'importance':
        flow.importance = parseDec(text, c, value, 'importance', 65535);
        break;
      case 'cookie': {
        const [v, mk] = splitMask(value ?? '');
        const cv = parseUint(v);
        if (cv === undefined || cv > 0xffff_ffff_ffff_ffffn) throw new TextParseError(text, c, `invalid cookie "${value}"`);
        flow.cookie = cv;
        newCookie = mk === undefined;
        if (mk !== undefined) {
          cookieMask = mk === '-1' ? 0xffff_ffff_ffff_ffffn : parseUint(mk);
          if (cookieMask === undefined) throw new TextParseError(text, c, `invalid cookie mask "${mk}"`);
        }
        break;
      }
      case 'duration': {
        const dm = /^(\d+)(?:\.(\d{1,3}))?s$/.exec(value ?? '');
        if (!dm) throw new TextParseError(text, c, `invalid duration "${value}"`);
        stats.durationMs = Number(dm[1]) * 1000 + Number((dm[2] ?? '0').padEnd(3, '0'));
        break;
      }
      case 'n_packets':
      case 'n_bytes': {
        if (!/^\d+$/.test(value ?? '')) throw new TextParseError(text, c, `invalid ${name} "${value}"`);
        stats[name === 'n_packets' ? 'nPackets' : 'nBytes'] = BigInt(value!);
        break;
      }
      case 'idle_age':
      case 'hard_age':
        stats[name === 'idle_age' ? 'idleAge' : 'hardAge'] = parseDec(text, c, value, name, 0xffffffff);
        break;
      default:
        if ((FLOW_FLAGS as readonly string[]).includes(name) && value === undefined) {
          if (!flow.flags.includes(name)) flow.flags.push(name);
        } else applyMatchText(flow.match, name, value, text, c);
    }
  }
  if (cookieMask !== undefined && command === 'add') {
    throw new TextParseError(text, head.indexOf('cookie'), 'flow additions cannot use a cookie mask');
  }
  flow.flags.sort((a, b) => FLOW_FLAGS.indexOf(a as never) - FLOW_FLAGS.indexOf(b as never));
  // OVS's check_set_l4_port() notes the ip_proto of the match as written, before normalisation
  // (`nw_proto=6` without `tcp` still turns mod_tp_dst into a tcp_dst set_field).
  const rawNwProto = flow.match.nwProto;
  normalizeVlanForOxm(flow.match);
  flow.match.normalize();
  const ctx = { hasVlan: (flow.match.value[W.vlan_tci]! & VLAN_CFI) !== 0, nwProto: rawNwProto };
  if (!del) flow.instructions = parseInstructions(text.slice(actCol), text, actCol, ctx);
  if (stats.nPackets !== undefined || stats.durationMs !== undefined) {
    flow.stats = { durationMs: stats.durationMs ?? 0, nPackets: stats.nPackets ?? 0n, nBytes: stats.nBytes ?? 0n };
    if (stats.idleAge !== undefined) flow.stats.idleAge = stats.idleAge;
    if (stats.hardAge !== undefined) flow.stats.hardAge = stats.hardAge;
  }
  return { flow, ...(cookieMask !== undefined ? { cookieMask } : {}), hasTable, newCookie };
}

/**
 * Format a flow. With `stats` (or `dump: true`) in the `dump-flows` form
 * (` cookie=0x0, duration=0.000s, table=0, n_packets=0, n_bytes=0, priority=5,in_port=1 actions=...`),
 * otherwise in `add-flow` form (`table=1, priority=5,in_port=1 actions=...`, defaults left out).
 */
export function formatFlow(f: Flow, opts: { dump?: boolean } = {}): string {
  const match = formatMatch(f.match, f.priority);
  const acts = `actions=${formatInstructions(f.instructions)}`;
  if (f.stats || opts.dump) {
    const st = f.stats ?? { durationMs: 0, nPackets: 0n, nBytes: 0n };
    let s = ` cookie=${hexC(f.cookie) === '0' ? '0x0' : hexC(f.cookie)}, duration=${Math.floor(st.durationMs / 1000)}.${String(st.durationMs % 1000).padStart(3, '0')}s, table=${f.table}, n_packets=${st.nPackets}, n_bytes=${st.nBytes}, `;
    if (f.idleTimeout) s += `idle_timeout=${f.idleTimeout}, `;
    if (f.hardTimeout) s += `hard_timeout=${f.hardTimeout}, `;
    for (const fl of f.flags) s += `${fl} `;
    if (f.importance) s += `importance=${f.importance}, `;
    if (st.idleAge !== undefined) s += `idle_age=${st.idleAge}, `;
    if (st.hardAge !== undefined) s += `hard_age=${st.hardAge}, `;
    return s + (match ? `${match} ` : '') + acts;
  }
  const parts: string[] = [];
  if (f.table) parts.push(`table=${f.table}`);
  if (f.cookie) parts.push(`cookie=${hexC(f.cookie)}`);
  if (f.idleTimeout) parts.push(`idle_timeout=${f.idleTimeout}`);
  if (f.hardTimeout) parts.push(`hard_timeout=${f.hardTimeout}`);
  if (f.importance) parts.push(`importance=${f.importance}`);
  parts.push(...f.flags);
  if (match) parts.push(match);
  return (parts.length ? parts.join(',') + ' ' : '') + acts;
}

/** One flow of an `add-flows` file, with its 1-based line number. */
export interface FlowLine {
  /** Line number in the file. */
  line: number;
  /** The parsed flow. */
  flow: Flow;
}

/**
 * Parse an `add-flows` file: one flow per line, `#` comments and blank lines skipped. Errors carry
 * the line number. A line may start with `add`/`modify`... in OVS's bundle syntax; only plain flows
 * are accepted here.
 */
export function parseFlowsFile(text: string): FlowLine[] {
  const out: FlowLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const hash = raw.indexOf('#');
    const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (!body) continue;
    try {
      out.push({ line: i + 1, flow: parseFlow(body) });
    } catch (e) {
      if (e instanceof TextParseError) throw new TextParseError(e.input, e.position, e.expected, i + 1);
      throw e;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Groups

/** Parse a group in `ovs-ofctl add-group` syntax: `group_id=1,type=all,bucket=output:1,bucket=...`. */
export function parseGroup(text: string): Group {
  const g: Partial<Group> & { buckets: Bucket[] } = { buckets: [] };
  const bi = text.search(/\bbucket=/);
  const head = bi < 0 ? text : text.slice(0, bi);
  for (const { text: tok, col } of splitTopLevel(head, 0, ', \t')) {
    const t = tok.trim();
    if (!t) continue;
    const [k, v] = t.split('=', 2) as [string, string | undefined];
    if (k === 'group_id') {
      const id = parseUint(v ?? '');
      if (id === undefined || id > 0xffffff00n) throw new TextParseError(text, col, `invalid group_id "${v}"`);
      g.groupId = Number(id);
    } else if (k === 'type') {
      const ty = v === 'fast_failover' ? 'ff' : v;
      if (ty !== 'all' && ty !== 'select' && ty !== 'indirect' && ty !== 'ff') throw new TextParseError(text, col, `invalid group type "${v}" (expected all, select, indirect or ff)`);
      g.type = ty;
    } else throw new TextParseError(text, col, `unknown group keyword ${k}`);
  }
  if (g.groupId === undefined) throw new TextParseError(text, 0, 'must specify a group_id');
  if (g.type === undefined) throw new TextParseError(text, 0, 'must specify a type');
  if (bi >= 0) {
    const parts = text.slice(bi).split(/,?\s*\bbucket=/).slice(1);
    let col = bi;
    for (const p of parts) {
      col = text.indexOf(p, col);
      g.buckets.push(parseBucket(p, text, col));
    }
  }
  if (g.type === 'indirect' && g.buckets.length !== 1) {
    throw new OpenFlowError('OFPGMFC_BAD_BUCKET', 'an indirect group must have exactly one bucket');
  }
  checkGroup(g as Group);
  return g as Group;
}

function parseBucket(text: string, input: string, col: number): Bucket {
  const b: Bucket = { actions: [] };
  const ai = text.search(/\bactions?=/);
  let acts = text;
  let actCol = col;
  if (ai >= 0) {
    for (const { text: tok, col: c } of splitTopLevel(text.slice(0, ai), col, ', ')) {
      const t = tok.trim();
      if (!t) continue;
      const m = /^(bucket_id|weight|watch_port|watch_group)[=:](.+)$/.exec(t);
      if (!m) throw new TextParseError(input, c, `unknown bucket keyword ${t}`);
      const v = m[1] === 'watch_port' ? parsePort(m[2]!) : parseUint(m[2]!) !== undefined ? Number(parseUint(m[2]!)) : undefined;
      if (v === undefined) throw new TextParseError(input, c, `invalid ${m[1]} "${m[2]}"`);
      if (m[1] === 'bucket_id') b.bucketId = v;
      else if (m[1] === 'weight') b.weight = v;
      else if (m[1] === 'watch_port') b.watchPort = v;
      else b.watchGroup = v;
    }
    const eq = text.indexOf('=', ai);
    acts = text.slice(eq + 1);
    actCol = col + eq + 1;
  }
  b.actions = parseActionList(acts, input, actCol, { hasVlan: false, nwProto: -1 });
  return b;
}

/** Format a group as `ovs-ofctl dump-groups` prints it under OpenFlow 1.5. */
export function formatGroup(g: Group): string {
  let s = `group_id=${g.groupId},type=${g.type}`;
  for (const b of g.buckets) {
    const parts: string[] = [];
    if (b.bucketId !== undefined) parts.push(`bucket_id:${b.bucketId}`);
    if (b.weight !== undefined) parts.push(`weight:${b.weight}`);
    if (b.watchPort !== undefined) parts.push(`watch_port:${formatPort(b.watchPort)}`);
    if (b.watchGroup !== undefined) parts.push(`watch_group:${b.watchGroup}`);
    parts.push(`actions=${formatActionList(b.actions)}`);
    s += `,bucket=${parts.join(',')}`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Consistency checks (what a switch refuses): walks of the action table (actions.ts)

/**
 * Raise the `OpenFlowError` an OpenFlow 1.5 switch (OVS 3.1) gives when this flow is added,
 * in OVS's order:
 * 1. what ovs-ofctl refuses while parsing: bad set_field values (`OFPBAC_BAD_SET_ARGUMENT`);
 * 2. its `ofpacts_check()` over apply actions, `write_actions` and `goto_table` in order, with one
 *    match that the apply actions update (so `write_actions` sees the VLAN as they left it):
 *    `OFPBAC_MATCH_INCONSISTENT` (set_field/move/output-from-field/learn/ct without the fields they
 *    need), `OFPBAC_BAD_TAG` (a third VLAN header), `OFPBAC_BAD_OUT_PORT`, `OFPBIC_BAD_TABLE_ID`
 *    (goto_table not forward); then the "OpenFlow 1.0 only" inconsistencies of the apply actions
 *    (pop_vlan without a VLAN: `OFPBAC_BAD_TAG`; dec_ttl/mod_nw_ttl without IP:
 *    `OFPBAC_MATCH_INCONSISTENT`), which OVS ignores inside `write_actions`;
 * 3. the switch decoding the match (`OFPBMC_BAD_PREREQ`);
 * 4. the switch decoding the actions (`OFPBMC_BAD_WILDCARDS`, vlan_vid without OFPVID_PRESENT, and
 *    `OFPBAC_BAD_TYPE` for an action `write_actions` cannot hold).
 */
export function checkFlow(f: Flow): void {
  const ins = f.instructions;
  checkActionsParsed(ins.apply);
  if (ins.writeActions) checkActionsParsed(ins.writeActions);
  const st: CheckState = { m: f.match.clone(), vlan1: 0, table: f.table };
  checkActionsAgainst(ins.apply, st);
  if (ins.writeActions) {
    // OVS check_WRITE_ACTIONS: the same (updated) match, a scratch copy of the usable protocols.
    const sub: CheckState = { m: st.m, vlan1: st.vlan1, table: f.table };
    checkActionsAgainst(ins.writeActions, sub);
  }
  if (ins.gotoTable !== undefined && ins.gotoTable <= f.table) {
    throw new OpenFlowError('OFPBIC_BAD_TABLE_ID', `goto_table:${ins.gotoTable} from table ${f.table} is not forward`);
  }
  if (st.narrowed) throw st.narrowed;
  checkMatchPrereqs(f.match);
  checkActionsDecoded(ins.apply, false);
  if (ins.writeActions) {
    checkModTpDecoded(ins.writeActions, st.m);
    checkActionsDecoded(ins.writeActions, false);
    checkActionSet(ins.writeActions);
  }
}

/**
 * Raise the `OpenFlowError` the switch gives for this group's buckets when it decodes them (OVS
 * checks bucket actions against no match): a bad output port, a set_field value outside its mask,
 * a `vlan_vid` set_field without OFPVID_PRESENT.
 */
export function checkGroup(g: Group): void {
  for (const b of g.buckets) checkActionsDecoded(b.actions, true);
}
