/**
 * Trace text in `ovs-appctl ofproto/trace`'s layout, OVS's `flow_format()` for a packet's key, and
 * the microflow syntax ofproto/trace accepts, turned into a frame the way OVS's `flow_compose()`
 * builds one for `-generate`.
 *
 * Layout. OVS prints its trace tree with one rule (oftrace_node_print_details): a node is indented
 * by 4 x (level + more) spaces, where `more` is true when the node is not the last of its list or
 * is a leaf type (action, detail, warning, error, bucket); its children are printed at level
 * `level + 2 x more`. Details get ` -> `, warnings ` >> `, errors ` >>>> ... <<<<`. Because the
 * top-level table node is the last child of the bridge node, its actions print at 4 spaces and a
 * table reached by goto_table or resubmit prints at 4 (+ the `%2d.` padding) while the tree goes on.
 */
import { internetChecksum, l4ChecksumV4, l4ChecksumV6 } from '@ovnts/packet';
import { TextParseError } from './errors.js';
import { ETH_TYPE_IP, ETH_TYPE_IPV6, PROTOCOL_KEYWORDS, field, fieldByName, isEthTypeMpls, parseFieldValue } from './fields.js';
import { FlowKey, KEY_WORDS, W, WC_SKB_PRIORITY, WC_VLAN1, fieldOnes } from './flowkey.js';
import { Match, prereqOkKey } from './match.js';
import { splitTopLevel } from './ofctl-lex.js';
import { formatMatch } from './ofctl-text.js';
import { OFPP } from './ports.js';
import type { EmittedFrame, TraceNode } from './pipeline.js';

/** What `Switch.trace()` returns. */
export interface TraceResult {
  /** Bridge name. */
  bridge: string;
  /** The packet's flow before the pipeline (OVS `flow_format`). */
  initialFlow: string;
  /** The trace tree: one bridge node holding the table nodes. */
  nodes: TraceNode[];
  /** Tables visited in order, with the flow that matched (its ovs-ofctl text) or none on a miss. */
  tables: { tableId: number; flow?: string }[];
  /** The flow after the pipeline, or null when unchanged. */
  finalFlow: string | null;
  /** The fields the lookups consulted, as a match (see docs: approximates OVS's megaflow). */
  megaflow: string;
  /** Datapath actions equivalent to what the packet underwent (`set(ipv4(src=...)),2`). */
  datapathActions: string[];
  /** Frames sent, in order (outputs and packet-ins), with their bytes. */
  outputs: EmittedFrame[];
  /** `Recursion too deep` or `Too many resubmits` when translation failed (nothing is sent). */
  error?: string;
  /** The clones `ct(table=N)` forked, traced after the packet as ofproto/trace does (breadth first). */
  recirculations?: TraceRecircSection[];
  /**
   * Set when the trace stopped after this many recirculation sections with more pending (a limit
   * of ours: ofproto/trace has none). Forwarding drops a packet after `MAX_RECIRC_DEPTH` nested passes.
   */
  recircLimit?: number;
}

/** One `recirc(0xN)` section of a trace. */
export interface TraceRecircSection {
  /** Recirculation id. */
  id: number;
  /** The ct_state assumed (`--ct-next`, default trk|new). */
  ctState: number;
  /** True when the state came from `ctNext` (the header then names it); false once `ctNext` is used up. */
  explicitCt: boolean;
  /** NAT simulation lines, when the ct had NAT. */
  natLines: string[] | null;
  /** The flow the clone resumes with (`recirc_id=0x1,ct_state=new|trk,eth,...`). */
  initialFlow: string;
  /** Trace nodes: bridge, thaw, tables. */
  nodes: TraceNode[];
  /** Final flow, or null when unchanged. */
  finalFlow: string | null;
  /** Megaflow line. */
  megaflow: string;
  /** Datapath actions. */
  datapathActions: string[];
  /** Failure, if any. */
  error?: string;
}

function printNodes(out: string[], nodes: readonly TraceNode[], level: number): void {
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (n.type === 'bridge') out.push('\n');
    const terminal = n.type === 'action' || n.type === 'detail' || n.type === 'warn' || n.type === 'error' || n.type === 'bucket';
    const more = i < nodes.length - 1 || terminal ? 1 : 0;
    const pad = ' '.repeat((level + more) * 4);
    switch (n.type) {
      case 'detail':
        out.push(`${pad} -> ${n.text}\n`);
        break;
      case 'warn':
        out.push(`${pad} >> ${n.text}\n`);
        break;
      case 'error':
        out.push(`${pad} >>>> ${n.text} <<<<\n`);
        break;
      case 'bridge':
        out.push(`${pad}${n.text}\n${pad}${'-'.repeat(n.text.length)}\n`);
        break;
      default:
        out.push(`${pad}${n.text}\n`);
    }
    printNodes(out, n.children, level + 2 * more);
  }
}

/** Print a trace as `ovs-appctl ofproto/trace` does. */
export function formatTrace(t: TraceResult): string {
  const out: string[] = [`Flow: ${t.initialFlow}\n`];
  printNodes(out, t.nodes, 0);
  out.push(`\nFinal flow: ${t.finalFlow ?? 'unchanged'}\n`);
  out.push(`Megaflow: ${t.megaflow}\n`);
  out.push(`Datapath actions: ${t.error || t.datapathActions.length === 0 ? 'drop' : t.datapathActions.join(',')}\n`);
  // OVS ends the Datapath actions line without a newline (a failure or slow-path note starts with
  // one and ends with one); a recirculation section starts with two.
  let tail: boolean;
  if (t.error) out.push(`Translation failed (${t.error}), packet is dropped.\n`);
  else out.push(explainSlowPath(t.datapathActions));
  tail = t.error !== undefined || explainSlowPath(t.datapathActions) !== '';
  for (const r of t.recirculations ?? []) {
    const bar = '='.repeat(79);
    const states = ['new', 'est', 'rel', 'rpl', 'inv', 'trk', 'snat', 'dnat'].filter((_, i) => r.ctState & (1 << i)).join('|');
    out.push(`${tail ? '\n' : ''}\n${bar}\nrecirc(0x${r.id.toString(16)})`);
    out.push(r.explicitCt ? ` - resume conntrack with ct_state=${states}\n` : ' - resume conntrack with default ct_state=trk|new (use --ct-next to customize)\n');
    if (r.natLines) out.push(r.natLines.join('\n') + '\n');
    out.push(`${bar}\n\nFlow: ${r.initialFlow}\n`);
    printNodes(out, r.nodes, 0);
    out.push(`\nFinal flow: ${r.finalFlow ?? 'unchanged'}\n`);
    out.push(`Megaflow: ${r.megaflow}\n`);
    out.push(`Datapath actions: ${r.error || r.datapathActions.length === 0 ? 'drop' : r.datapathActions.join(',')}\n`);
    if (r.error) out.push(`Translation failed (${r.error}), packet is dropped.\n`);
    else out.push(explainSlowPath(r.datapathActions));
    tail = r.error !== undefined || explainSlowPath(r.datapathActions) !== '';
  }
  if (t.recircLimit !== undefined) {
    out.push(`\n>> trace stopped after ${t.recircLimit} recirculations with more pending (a limit of ovnts: ofproto/trace has none and never ends); forwarding drops the packet after 6 nested recirculations (dpif-netdev MAX_RECIRC_DEPTH)\n`);
  }
  return out.join('');
}

/**
 * ofproto-dpif-trace.c `explain_slow_path()`: the lines OVS adds after `Datapath actions` when
 * the datapath cannot run the flow itself. Of OVS's reasons only SLOW_ACTION can arise here, from
 * datapath set actions the datapath does not implement (odp-util.c `commit_set_arp_action`,
 * `commit_set_icmp_action`, `commit_set_nd_action`, `commit_set_nd_extensions_action`).
 */
export function explainSlowPath(dpActions: readonly string[]): string {
  const slow = dpActions.some((a) => /(^|[(,])set\((arp|icmp|icmpv6|nd|nd_ext)\(/.test(a));
  return slow ? 'This flow is handled by the userspace slow path because it:\n  - Uses action(s) not supported by datapath.\n' : '';
}

function maskAll(m: Uint32Array, word: number, n: number, v = 0xffffffff): void {
  for (let i = 0; i < n; i++) m[word + i] = v;
}

/**
 * A packet's flow as OVS's `flow_format()` prints it: the fields `flow_wildcards_init_for_packet()`
 * selects for the packet's protocols, with zero-valued metadata (in_port, pkt_mark, ct_*, registers,
 * metadata) left out.
 */
export function formatFlowKey(key: FlowKey): string {
  let s = formatMatch(packetMatch(key));
  // After a tagged outer VLAN OVS also shows the second one (match_format(): `dl_vlan1`/
  // `dl_vlan_pcp1` when it is present, else the all-zero `vlan_tci1`).
  if ((key.w[W.vlan_tci]! & 0x1000) !== 0) {
    const t = key.vlan2Tci;
    const t1 = t & 0x1000 ? `dl_vlan1=${t & 0xfff},dl_vlan_pcp1=${t >>> 13}` : `vlan_tci1=0x${t.toString(16).padStart(4, '0')}`;
    s = s.replace(/(,|^)dl_src=/, `$1${t1},dl_src=`);
  }
  return s;
}

/**
 * The exact match on a packet's flow that OVS's `match_wc_init()` builds
 * (`flow_wildcards_init_for_packet()`): the fields the packet's protocols carry, exact; metadata
 * (in_port, pkt_mark, ct_*, registers, metadata, tunnel) only where non-zero. OVS checks a
 * packet-out's actions against it.
 */
export function packetMatch(key: FlowKey): Match {
  const v = key.w;
  const mask = new Uint32Array(KEY_WORDS);
  const tunSet = v[W.tun_dst] !== 0 || v[W.tun_ipv6_dst] !== 0 || v[W.tun_ipv6_dst + 1] !== 0 || v[W.tun_ipv6_dst + 2] !== 0 || v[W.tun_ipv6_dst + 3] !== 0;
  if (tunSet) {
    maskAll(mask, W.tun_id, 2);
    maskAll(mask, W.tun_src, 2);
  } else if (v[W.tun_id] !== 0 || v[W.tun_id + 1] !== 0) maskAll(mask, W.tun_id, 2);
  if (v[W.pkt_mark]) mask[W.pkt_mark] = 0xffffffff;
  if (v[W.ct_state]) mask[W.ct_state] = 0xffffffff;
  if (v[W.ct_zone]) mask[W.ct_zone] = 0xffff;
  if (v[W.ct_mark]) mask[W.ct_mark] = 0xffffffff;
  for (let i = 0; i < 4; i++) if (v[W.ct_label + i]) maskAll(mask, W.ct_label, 4);
  for (let i = 0; i < 16; i++) if (v[W.regs + i]) mask[W.regs + i] = 0xffffffff;
  if (v[W.metadata] || v[W.metadata + 1]) maskAll(mask, W.metadata, 2);
  if (v[W.in_port]) mask[W.in_port] = 0xffff;
  maskAll(mask, W.dl_dst, 2);
  mask[W.dl_dst] = 0xffff;
  maskAll(mask, W.dl_src, 2);
  mask[W.dl_src] = 0xffff;
  mask[W.dl_type] = 0xffff;
  mask[W.vlan_tci] = 0xffff;
  const dl = v[W.dl_type]!;
  let l3 = false;
  if (dl === ETH_TYPE_IP) {
    maskAll(mask, W.nw_src, 2);
    l3 = true;
  } else if (dl === ETH_TYPE_IPV6) {
    maskAll(mask, W.ipv6_src, 8);
    mask[W.ipv6_label] = 0xfffff;
    const nd = v[W.nw_proto] === 58 && v[W.tp_dst] === 0 && (v[W.tp_src] === 135 || v[W.tp_src] === 136);
    if (nd) {
      maskAll(mask, W.arp_sha, 2);
      mask[W.arp_sha] = 0xffff;
      maskAll(mask, W.arp_tha, 2);
      mask[W.arp_tha] = 0xffff;
      maskAll(mask, W.nd_target, 4);
    }
    l3 = true;
  } else if (isEthTypeMpls(dl)) {
    // The label stack entries up to the bottom of stack.
    for (let i = 0; i < 3; i++) {
      mask[W.mpls_lse + i] = 0xffffffff;
      if ((v[W.mpls_lse + i]! & 0x100) !== 0) break;
    }
  } else if (dl === 0x0806 || dl === 0x8035) {
    maskAll(mask, W.nw_src, 2);
    mask[W.nw_proto] = 0xff;
    maskAll(mask, W.arp_sha, 2);
    mask[W.arp_sha] = 0xffff;
    maskAll(mask, W.arp_tha, 2);
    mask[W.arp_tha] = 0xffff;
  }
  if (l3) {
    mask[W.nw_frag] = 3;
    mask[W.nw_tos] = 0xff;
    mask[W.nw_ttl] = 0xff;
    mask[W.nw_proto] = 0xff;
    const p = v[W.nw_proto]!;
    if ((v[W.nw_frag]! & 2) === 0 && (p === 1 || p === 58 || p === 6 || p === 17 || p === 132 || p === 2)) {
      mask[W.tp_src] = 0xffff;
      mask[W.tp_dst] = 0xffff;
      if (p === 6) mask[W.tcp_flags] = 0xfff;
    }
  }
  const value = new Uint32Array(KEY_WORDS);
  for (let i = 0; i < KEY_WORDS; i++) value[i] = (v[i]! & mask[i]!) >>> 0;
  return new Match(value, mask);
}

/** The initial flow and a frame built from ofproto/trace's microflow syntax. */
export interface Microflow {
  /** `in_port` of the flow (`OFPP.NONE` when not given, as in OVS). */
  inPort: number;
  /** The flow's field values (a `FlowKey.w`), what ofproto/trace traces. */
  flow: Uint32Array;
  /** The frame OVS's `flow_compose()` would build. */
  frame: Uint8Array;
}

function put16(b: number[], v: number): void {
  b.push((v >>> 8) & 0xff, v & 0xff);
}
function put32(b: number[], v: number): void {
  b.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}
function putMac(b: number[], w: Uint32Array, word: number): void {
  put16(b, w[word]!);
  put32(b, w[word + 1]!);
}

/**
 * Parse an exact flow as OVS's `parse_ofp_exact_flow()` (what ofproto/trace reads): `key=value`
 * pairs and protocol keywords, left to right, each field only once its prerequisites are already
 * in the flow (`tcp_dst` after `tcp`), no field twice, no wildcards; `in_port` defaults to NONE.
 * Refusals are `TextParseError`s with OVS's wording ("prerequisites not met for setting tcp_dst").
 */
export function parseExactFlow(text: string): Match {
  const m = new Match();
  const w = m.value;
  for (const { text: raw, col: c0 } of splitTopLevel(text, 0, ', \t\r\n')) {
    const tok = raw.trim();
    if (tok === '') continue;
    const col = c0 + raw.length - raw.trimStart().length;
    const kv = /^([^=:(]*)(?:([=:(])([\s\S]*))?$/.exec(tok)!;
    const key = kv[1]!.trim();
    let value = kv[3] ?? '';
    if (kv[2] === '(' && value.endsWith(')')) value = value.slice(0, -1);
    const err = (msg: string): never => {
      throw new TextParseError(text, col, msg);
    };
    const proto = PROTOCOL_KEYWORDS[key];
    if (proto) {
      if (w[W.dl_type] !== 0) err('Ethernet type set multiple times');
      m.set(field('eth_type'), BigInt(proto.ethType));
      if (proto.ipProto !== undefined) {
        if (w[W.nw_proto] !== 0) err('network protocol set multiple times');
        m.set(field('nw_proto'), BigInt(proto.ipProto));
      }
      continue;
    }
    const f = fieldByName(key);
    if (!f) return err(`unknown field ${key}`);
    if (!prereqOkKey(f.prereq, w)) err(`prerequisites not met for setting ${key}`);
    if (m.getValue(f) !== 0n) err(`field ${key} set multiple times`);
    let parsed: { value: bigint; mask?: bigint };
    try {
      parsed = parseFieldValue(f, value, text, col + key.length + 1);
    } catch (e) {
      if (e instanceof TextParseError) return err(`bad value for ${key} (${e.expected})`);
      throw e;
    }
    const ones = fieldOnes(f);
    // Flag fields give their defined bits as the mask of an unmasked value (`ct_state=trk`).
    const flagBits = f.format === 'ct_state' ? 0xffn : BigInt(f.vmask);
    if (parsed.mask !== undefined && parsed.mask !== ones && parsed.mask !== flagBits) {
      err(`bad value for ${key} (${value}: wildcards not allowed here)`);
    }
    m.set(f, parsed.value, ones);
  }
  if (w[W.in_port] === 0) w[W.in_port] = OFPP.NONE;
  return m;
}

/**
 * Parse a microflow (`in_port=1,tcp,nw_dst=10.0.0.2,tp_dst=80`, see `parseExactFlow`) and build the packet OVS's
 * `flow_compose()` builds from it, with `l7Len` payload bytes 0, 1, 2, ... (ofproto/trace's default
 * is 64). Fields not given are zero (TTL 0, MACs 00:00:00:00:00:00), as in ofproto/trace.
 * TCP gets no payload when SYN, FIN or RST is set; ICMP only for echo; SCTP never.
 */
export function parseMicroflow(text: string, l7Len = 64): Microflow {
  const w = parseExactFlow(text).value;
  const b: number[] = [];
  putMac(b, w, W.dl_dst);
  putMac(b, w, W.dl_src);
  if ((w[W.vlan_tci]! & 0x1000) !== 0) {
    put16(b, 0x8100);
    put16(b, w[W.vlan_tci]! & ~0x1000 & 0xffff);
  }
  const dl = w[W.dl_type]!;
  put16(b, dl);
  if (isEthTypeMpls(dl)) {
    // OVS flow_compose(): the entries up to the first with the bottom-of-stack bit, at most three.
    let n = 1;
    while (n < 3 && (w[W.mpls_lse + n - 1]! & 0x100) === 0) n++;
    for (let i = 0; i < n; i++) put32(b, w[W.mpls_lse + i]!);
  }
  const l3 = b.length;
  const payload = (): number[] => Array.from({ length: l7Len }, (_, i) => i & 0xff);
  const proto = w[W.nw_proto]!;
  const later = (w[W.nw_frag]! & 2) !== 0;
  const l4 = (): number[] => {
    const o: number[] = [];
    if (later) return o;
    if (proto === 6) {
      put16(o, w[W.tp_src]!);
      put16(o, w[W.tp_dst]!);
      put32(o, 0);
      put32(o, 0);
      put16(o, (5 << 12) | (w[W.tcp_flags]! & 0xfff));
      put16(o, 0);
      put32(o, 0);
      if ((w[W.tcp_flags]! & 0x7) === 0) o.push(...payload());
    } else if (proto === 17) {
      put16(o, w[W.tp_src]!);
      put16(o, w[W.tp_dst]!);
      put16(o, 8 + l7Len);
      put16(o, 0);
      o.push(...payload());
    } else if (proto === 132) {
      put16(o, w[W.tp_src]!);
      put16(o, w[W.tp_dst]!);
      put32(o, 0);
      put32(o, 0);
    } else if (proto === 1 && dl === ETH_TYPE_IP) {
      o.push(w[W.tp_src]! & 0xff, w[W.tp_dst]! & 0xff, 0, 0, 0, 0, 0, 0);
      if ((o[0] === 8 || o[0] === 0) && o[1] === 0) o.push(...payload());
    } else if (proto === 2 && dl === ETH_TYPE_IP) {
      o.push(w[W.tp_src]! & 0xff, w[W.tp_dst]! & 0xff, 0, 0, 0, 0, 0, 0);
    } else if (proto === 58 && dl === ETH_TYPE_IPV6) {
      const type = w[W.tp_src]! & 0xff;
      const code = w[W.tp_dst]! & 0xff;
      o.push(type, code, 0, 0, 0, 0, 0, 0);
      if (code === 0 && (type === 135 || type === 136)) {
        for (let i = 0; i < 4; i++) put32(o, w[W.nd_target + i]!);
        if (w[W.arp_sha] || w[W.arp_sha + 1]) {
          o.push(1, 1);
          putMac(o, w, W.arp_sha);
        }
        if (w[W.arp_tha] || w[W.arp_tha + 1]) {
          o.push(2, 1);
          putMac(o, w, W.arp_tha);
        }
      } else if (code === 0 && (type === 128 || type === 129)) o.push(...payload());
    }
    return o;
  };
  if (dl === ETH_TYPE_IP) {
    const seg = l4();
    b.push(0x45, w[W.nw_tos]! & 0xff);
    put16(b, 20 + seg.length);
    put16(b, 0);
    let frag = 0;
    if (w[W.nw_frag]! & 1) {
      frag |= 0x2000;
      if (later) frag |= 100;
    }
    put16(b, frag);
    b.push(w[W.nw_ttl]! & 0xff, proto);
    put16(b, 0);
    put32(b, w[W.nw_src]!);
    put32(b, w[W.nw_dst]!);
    b.push(...seg);
  } else if (dl === ETH_TYPE_IPV6) {
    const seg = l4();
    put32(b, ((6 << 28) | ((w[W.nw_tos]! & 0xff) << 20) | (w[W.ipv6_label]! & 0xfffff)) >>> 0);
    put16(b, seg.length);
    b.push(proto, w[W.nw_ttl]! & 0xff);
    for (let i = 0; i < 4; i++) put32(b, w[W.ipv6_src + i]!);
    for (let i = 0; i < 4; i++) put32(b, w[W.ipv6_dst + i]!);
    b.push(...seg);
  } else if (dl === 0x0806 || dl === 0x8035) {
    const op = w[W.nw_proto]!;
    put16(b, 1);
    put16(b, 0x0800);
    b.push(6, 4);
    put16(b, op);
    if (op === 1 || op === 2) {
      putMac(b, w, W.arp_sha);
      put32(b, w[W.nw_src]!);
      putMac(b, w, W.arp_tha);
      put32(b, w[W.nw_dst]!);
    } else for (let i = 0; i < 20; i++) b.push(0);
  }
  const f = Uint8Array.from(b);
  if (dl === ETH_TYPE_IP) {
    const c = internetChecksum(f, l3, 20);
    f[l3 + 10] = c >>> 8;
    f[l3 + 11] = c & 0xff;
    const l4o = l3 + 20;
    const len = f.length - l4o;
    const src = w[W.nw_src]!;
    const dst = w[W.nw_dst]!;
    if (!later) {
      if (proto === 6 && len >= 20) setCk(f, l4o + 16, l4ChecksumV4(f, l4o, len, 6, src, dst));
      else if (proto === 17 && len >= 8) setCk(f, l4o + 6, l4ChecksumV4(f, l4o, len, 17, src, dst) || 0xffff);
      else if ((proto === 1 || proto === 2) && len >= 8) setCk(f, l4o + 2, internetChecksum(f, l4o, len));
    }
  } else if (dl === ETH_TYPE_IPV6 && !later) {
    const l4o = l3 + 40;
    const len = f.length - l4o;
    if (proto === 6 && len >= 20) setCk(f, l4o + 16, l4ChecksumV6(f, l4o, len, 6, l3));
    else if (proto === 17 && len >= 8) setCk(f, l4o + 6, l4ChecksumV6(f, l4o, len, 17, l3) || 0xffff);
    else if (proto === 58 && len >= 8) setCk(f, l4o + 2, l4ChecksumV6(f, l4o, len, 58, l3));
  }
  return { inPort: w[W.in_port]!, flow: w, frame: f };
}

function setCk(f: Uint8Array, at: number, c: number): void {
  f[at] = c >>> 8;
  f[at + 1] = c & 0xff;
}

/**
 * The `Megaflow:` line: the mask OVS builds while translating (`wc`: what its classifier and the
 * actions un-wildcarded, see ovs-classifier-wc.ts and `TraceWildcards`) over the packet's initial
 * flow, finished as OVS's `xlate_actions` finishes it: in_port, dl_type and (for IP) the fragment
 * bits always exact, then (unless the translation failed: `finished` false) `xlate_wc_finish()`: no metadata, registers, action-set output or
 * conj_id (not packet fields); ICMP type/code masks cut to 8 bits; the VLAN CFI wherever the TCI
 * is consulted, but no VLAN bits at all when the packet arrived untagged; no L4 ports for later
 * fragments; no tunnel fields for a packet that did not come through a tunnel.
 */
export function formatMegaflow(initial: FlowKey, wc: Uint32Array, recircId = 0, finished = true): string {
  const mask = wc.slice(0, KEY_WORDS);
  // The second VLAN header: xlate_wc_finish() drops it unless the packet came with one.
  let vlan1 = wc.length > WC_VLAN1 ? wc[WC_VLAN1]! & 0xffff : 0;
  if (finished) vlan1 = (initial.vlan2Tci & VLAN_CFI_BIT) === 0 ? 0 : vlan1 === 0 ? 0 : vlan1 | VLAN_CFI_BIT;
  const iw = initial.w;
  mask[W.in_port] = 0xffff;
  mask[W.dl_type] = 0xffff;
  const dl = iw[W.dl_type]!;
  const ip = dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6;
  if (ip) mask[W.nw_frag] = (mask[W.nw_frag]! | 3) >>> 0;
  if (finished) wcFinish(iw, mask);
  // ipv6_label: OVS's mask is 32 bits, exact only when all are set (see TraceBuilder.markWc).
  const label = mask[W.ipv6_label]!;
  if (label === 0xffffffff) mask[W.ipv6_label] = 0xfffff;
  const value = new Uint32Array(KEY_WORDS);
  for (let i = 0; i < KEY_WORDS; i++) value[i] = (iw[i]! & mask[i]!) >>> 0;
  // OVS match_format(): pkt_mark, recirc_id, the ct fields, then `eth` (the packet type) and the rest.
  const parts = splitTop(formatMatch(new Match(value, mask)));
  if (label === 0xfffff) {
    const at = parts.findIndex((p) => p.startsWith('ipv6_label='));
    if (at >= 0) parts[at] += '/0xfffff';
  }
  if (vlan1 !== 0) {
    // match_format() goes on to the second header only after the first.
    let at = -1;
    parts.forEach((p, j) => {
      if (/^(vlan_tci|dl_vlan|dl_vlan_pcp)=/.test(p)) at = j;
    });
    if (at >= 0) parts.splice(at + 1, 0, ...vlanTciText('1', initial.vlan2Tci & vlan1, vlan1));
  }
  const head: string[] = [];
  let i = 0;
  if (parts[0]?.startsWith('pkt_mark=')) head.push(parts[i++]!);
  head.push(`recirc_id=${recircId === 0 ? '0' : `0x${recircId.toString(16)}`}`);
  // match_format(): skb_priority (printed `%#x`) after recirc_id, dp_hash and conj_id.
  if (wc.length > WC_SKB_PRIORITY && wc[WC_SKB_PRIORITY] !== 0) head.push(`skb_priority=${initial.skbPriority ? `0x${initial.skbPriority.toString(16)}` : '0'}`);
  while (i < parts.length && /^ct_(state|zone|mark|label|nw_src|nw_dst|ipv6_src|ipv6_dst|nw_proto|tp_src|tp_dst)=/.test(parts[i]!)) head.push(parts[i++]!);
  return [...head, 'eth', ...parts.slice(i)].join(',');
}

/** OVS `xlate_wc_finish()` (skipped when the translation failed). */
function wcFinish(iw: Uint32Array, mask: Uint32Array): void {
  const dl = iw[W.dl_type]!;
  const ip = dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6;
  mask.fill(0, W.metadata, W.metadata + 2);
  mask.fill(0, W.regs, W.regs + 16);
  mask[W.actset_output] = 0;
  mask[W.conj_id] = 0;
  const proto = iw[W.nw_proto]!;
  if ((dl === ETH_TYPE_IP && proto === 1) || (dl === ETH_TYPE_IPV6 && proto === 58)) {
    mask[W.tp_src] = (mask[W.tp_src]! & 0xff) >>> 0;
    mask[W.tp_dst] = (mask[W.tp_dst]! & 0xff) >>> 0;
  }
  // No label stack bits for a packet that arrived without one (a push or set_field marked them).
  if (!isEthTypeMpls(dl)) mask.fill(0, W.mpls_lse, W.mpls_lse + 3);
  if ((iw[W.vlan_tci]! & VLAN_CFI_BIT) === 0) mask[W.vlan_tci] = 0;
  else if (mask[W.vlan_tci] !== 0) mask[W.vlan_tci] = (mask[W.vlan_tci]! | VLAN_CFI_BIT) >>> 0;
  if (ip && (iw[W.nw_frag]! & 2) !== 0) {
    mask[W.tp_src] = 0;
    mask[W.tp_dst] = 0;
  }
  const tunnel = iw[W.tun_dst] !== 0 || iw[W.tun_ipv6_dst] !== 0 || iw[W.tun_ipv6_dst + 1] !== 0 || iw[W.tun_ipv6_dst + 2] !== 0 || iw[W.tun_ipv6_dst + 3] !== 0;
  if (!tunnel) mask.fill(0, W.tun_id, W.tun_metadata7 + 4);
}

/** One VLAN header of a match as OVS's match_format() prints it (`dl_vlan1=5`, `vlan_tci1=0x0000`, ...). */
function vlanTciText(suffix: string, tci: number, mask: number): string[] {
  const vid = mask & 0xfff;
  const pcp = mask & 0xe000;
  if ((mask & VLAN_CFI_BIT) !== 0 && (tci & VLAN_CFI_BIT) !== 0 && (vid === 0 || vid === 0xfff) && (pcp === 0 || pcp === 0xe000) && (vid !== 0 || pcp !== 0)) {
    const out: string[] = [];
    if (vid !== 0) out.push(`dl_vlan${suffix}=${tci & 0xfff}`);
    if (pcp !== 0) out.push(`dl_vlan_pcp${suffix}=${tci >>> 13}`);
    return out;
  }
  const h = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`;
  return [mask === 0xffff ? `vlan_tci${suffix}=${h(tci)}` : `vlan_tci${suffix}=${h(tci)}/${h(mask)}`];
}

function splitTop(s: string): string[] {
  if (s === '') return [];
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const VLAN_CFI_BIT = 0x1000;
