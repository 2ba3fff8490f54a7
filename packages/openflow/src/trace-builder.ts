/**
 * Building a trace while a packet is translated: OVS's `oftrace_node` tree (bridge, table, action,
 * detail, warning, error, bucket and thaw nodes in the places OVS puts them), the datapath actions,
 * and the union of the masks the lookups consulted, for the packet and then for each recirculation
 * `ct(table=N)` forked (one section each, in OVS's breadth-first order).
 *
 * The pipeline reports into the builder through `TraceSink` (xlate.ts) and opens nested nodes with
 * `enterTable`/`enter`, restoring the previous position with `leave`. Printing the tree with
 * ofproto/trace's indentation rule is trace-format.ts's job.
 */
import { formatIpv4 } from '@ovnts/packet';
import { actionSetOrder, formatAction, type Action, type CtPrep, type Op } from './actions.js';
import { ETH_TYPE_IPV6, formatSubfield } from './fields.js';
import { hexC } from './ofctl-lex.js';
import { FlowKey, KEY_WORDS, W } from './flowkey.js';
import { formatFlow, formatMatch, type Flow } from './ofctl-text.js';
import type { EmittedFrame } from './output-log.js';
import { formatFlowKey, formatMegaflow, type TraceRecircSection, type TraceResult } from './trace-format.js';
import { XlateError, type TraceNodeType, type TraceSink } from './xlate.js';

/** One node of a trace tree (OVS `oftrace_node`). */
export interface TraceNode {
  /** Type. */
  type: TraceNodeType;
  /** Text (without the ` -> `/` >> ` markers). */
  text: string;
  /** Nested nodes. */
  children: TraceNode[];
  /** Table nodes: the table id (-1 for the action set node). */
  tableId?: number;
  /** Table nodes: the flow matched (absent on a miss). */
  flow?: Flow;
}

/** One recirculation in a trace (`recirc(0xN)` section of ofproto/trace). */
export interface TraceRecirc {
  /** Recirculation id (1, 2, ... in order of creation). */
  id: number;
  /** ct_state the trace assumed (`--ct-next`, default trk|new). */
  ctState: number;
  /** The state was the next `--ct-next` one (false: the list was used up, the default was taken). */
  explicitCt: boolean;
  /** `Replacing src/dst IP/ports to simulate NAT:` lines, when the ct had NAT. */
  natLines: string[] | null;
  /** The flow the pass started with. */
  initial: FlowKey;
  /** The final flow. */
  final: FlowKey;
  /** Trace nodes (bridge, thaw, tables). */
  nodes: TraceNode[];
  /** Datapath actions. */
  dp: string[];
  /** Megaflow mask words. */
  wc: Uint32Array;
  /** Failure text, if any. */
  error?: string;
  /** Recirculation depth (for OVS's breadth-first printing order). */
  depth: number;
}

/** Where a section's reports go (saved while a recirculation section is built). */
export interface TraceSection {
  /** The section's top-level nodes. */
  readonly nodes: TraceNode[];
  /** Where reports go now. */
  cur: TraceNode[];
  /** Datapath actions. */
  readonly dp: string[];
  /** Union of the masks the lookups consulted. */
  readonly wc: Uint32Array;
}

/** The flow text of a table node: the match and priority, as ofproto/trace prints a rule. */
function tableText(flow: Flow | null, tableId: number): string {
  const pad = tableId < 10 ? ` ${tableId}` : String(tableId);
  if (!flow) return `${pad}. No match.`;
  const m = formatFlow({ ...flow, priority: 32768, instructions: { apply: [], clearActions: false } }).replace(/ ?actions=drop$/, '');
  // ofproto/trace prints the rule's match and priority only (no timeouts, importance or flags).
  const match = m
    .replace(/^(table=\d+,?)?(cookie=0x[0-9a-f]+,?)?/, '')
    .replace(/(^|,)(idle_timeout|hard_timeout|importance)=\d+(?=,|$)|(^|,)(send_flow_rem|check_overlap|reset_counts|no_packet_counts|no_byte_counts)(?=,|$)/g, '')
    .replace(/^,/, '');
  return `${pad}. ${match ? `${match}, ` : ''}priority ${flow.priority}${flow.cookie ? `, cookie 0x${flow.cookie.toString(16)}` : ''}`;
}

/** A trace under construction. */
export class TraceBuilder implements TraceSink {
  /** The packet's section (the main trace). */
  readonly main: TraceSection;
  /** The section being built. */
  private sec: TraceSection;
  /** The ct_state each recirculation assumes, in order (`--ct-next`); default trk|new. */
  readonly ctNext: number[];
  /** The recirculation sections, in OVS's order (breadth first). */
  readonly recircs: TraceRecirc[] = [];
  /** The trace stopped at `MAX_TRACE_RECIRCS` recirculation sections (more were pending). */
  recircLimitHit = false;
  /** Side effects are suppressed (a trace of a flow without `--generate`): packet-ins are marked `dont_send`. */
  readonly dontSend: boolean;

  constructor(
    /** Bridge name (`bridge("br0")`). */
    readonly bridge: string,
    ctNext: readonly number[] = [],
    /** The trace may have side effects (OVS: it was given a packet, or `-generate`). */
    sideEffects = true,
  ) {
    this.dontSend = !sideEffects;
    this.ctNext = ctNext.slice();
    this.main = this.newSection();
    this.sec = this.main;
  }

  private newSection(): TraceSection {
    const bridge: TraceNode = { type: 'bridge', text: `bridge("${this.bridge}")`, children: [] };
    return { nodes: [bridge], cur: bridge.children, dp: [], wc: new Uint32Array(KEY_WORDS + 2) };
  }

  /** Start a recirculation section (reports go there until `endSection`); returns it. */
  beginSection(): TraceSection {
    this.sec = this.newSection();
    return this.sec;
  }

  /** Back to the packet's section. */
  endSection(): void {
    this.sec = this.main;
  }

  /** A node under the current one; returns its children list. */
  report(type: TraceNodeType, text: string): TraceNode[] {
    const node: TraceNode = { type, text, children: [] };
    this.sec.cur.push(node);
    return node.children;
  }

  /** A datapath action. */
  datapath(text: string): void {
    this.sec.dp.push(text);
  }

  /** The datapath actions of the section being built (commit.ts appends its `set(...)` actions). */
  get dp(): string[] {
    return this.sec.dp;
  }

  /** A lookup consulted the bits of `m` (null: none reported). */
  consulted(m: Uint32Array | null): void {
    if (m === null) return;
    const wc = this.sec.wc;
    for (let i = 0; i < wc.length; i++) wc[i] = (wc[i]! | m[i]!) >>> 0;
  }

  /** A conjunctive match consulted `conj_id`. */
  consultedConjId(): void {
    this.sec.wc[W.conj_id] = 0xffffffff;
  }

  /**
   * The translation un-wildcarded `bits` of key word `word` (OVS `ctx->wc`, see `TraceWildcards`).
   * OVS writes an action's mask into `ipv6_label` through `mf_set_flow_value()`, which keeps only
   * the label's 20 bits: the 32-bit mask an exact match gave (see ovs-classifier-wc.ts) shrinks
   * to 0xfffff, which the megaflow then prints as a mask.
   */
  markWc(word: number, bits: number): void {
    const wc = this.sec.wc;
    wc[word] = word === W.ipv6_label ? (wc[word]! | bits) & 0xfffff : (wc[word]! | bits) >>> 0;
  }

  /** The section's megaflow mask so far (the classifier emulation ORs into it). */
  get wc(): Uint32Array {
    return this.sec.wc;
  }

  /** Open a table node for a lookup in `tableId` that found `flow` (or missed); returns where to `leave` to. */
  enterTable(flow: Flow | null, tableId: number): TraceNode[] {
    return this.enter({ type: 'table', text: tableText(flow, tableId), children: [], tableId, ...(flow ? { flow } : {}) });
  }

  /** Open `node` under the current one; returns where to `leave` to. */
  enter(node: TraceNode): TraceNode[] {
    const prev = this.sec.cur;
    prev.push(node);
    this.sec.cur = node.children;
    return prev;
  }

  /** Reports go to `to` again (what `enter` returned). */
  leave(to: TraceNode[]): void {
    this.sec.cur = to;
  }

  /** `action set was/is ...` after clear_actions / write_actions. */
  actionSet(verb: string, set: readonly Op[]): void {
    const list = actionSetOrder(set, []);
    if (list.length) this.report('detail', `action set ${verb}: ${list.map((x) => x.text).join(',')}`);
    else this.report('detail', `action set ${verb} empty`);
  }

  /**
   * The finished trace: the packet's flow before (`initial`) and after (`final`) the pipeline, the
   * translation's error (`XlateError`: 1 too deep, 2 too many resubmits) and the frames it sent.
   */
  result(initial: FlowKey, final: FlowKey, error: number, outputs: EmittedFrame[]): TraceResult {
    const tables: { tableId: number; flow?: string }[] = [];
    const walk = (ns: readonly TraceNode[]): void => {
      for (const n of ns) {
        if (n.type === 'table' && n.tableId !== undefined && n.tableId >= 0) tables.push({ tableId: n.tableId, ...(n.flow ? { flow: formatFlow(n.flow) } : {}) });
        walk(n.children);
      }
    };
    const m = this.main;
    walk(m.nodes);
    const res: TraceResult = {
      bridge: this.bridge,
      initialFlow: formatFlowKey(initial),
      nodes: m.nodes,
      tables,
      finalFlow: sameFlow(initial, final) ? null : formatFlowKey(final),
      megaflow: formatMegaflow(initial, m.wc, 0, error === 0),
      datapathActions: error ? [] : optimizeOdpActions(m.dp),
      outputs,
    };
    if (error === XlateError.RecursionTooDeep) res.error = 'Recursion too deep';
    else if (error === XlateError.TooManyResubmits) res.error = 'Too many resubmits';
    else if (error === XlateError.TooManyMplsLabels) res.error = 'Too many MPLS labels';
    if (this.recircLimitHit) res.recircLimit = this.recircs.length;
    if (this.recircs.length) {
      res.recirculations = this.recircs.map((r) => {
        const id = `recirc_id=0x${r.id.toString(16)}`;
        const sec: TraceRecircSection = {
          id: r.id, ctState: r.ctState, natLines: r.natLines, explicitCt: r.explicitCt,
          initialFlow: `${id},${ctPrefix(r.initial)}${formatFlowKey(withoutCt(r.initial))}`,
          nodes: r.nodes, finalFlow: sameFlow(r.initial, r.final) ? null : `${id},${ctPrefix(r.final)}${formatFlowKey(withoutCt(r.final))}`,
          megaflow: formatMegaflow(r.initial, r.wc, r.id, !r.error),
          datapathActions: r.error ? [] : optimizeOdpActions(r.dp),
        };
        if (r.error) sec.error = r.error;
        return sec;
      });
    }
    return res;
  }

  /** The flow a `learn` installs, as ofproto/trace details it. */
  learned(f: Flow): void {
    const m = formatMatch(f.match, 32768);
    let t = `table=${f.table} ${m ? `${m} ` : ''}priority=${f.priority}`;
    if (f.cookie) t += ` cookie=0x${f.cookie.toString(16)}`;
    if (f.idleTimeout) t += ` idle=${f.idleTimeout}`;
    if (f.hardTimeout) t += ` hard=${f.hardTimeout}`;
    if (f.flags.includes('send_flow_rem')) t += ' send_flow_rem';
    // The learned flow's loads are reg_load actions in OVS (learn_execute), printed `load:`.
    t += ` actions=${f.instructions.apply.map(formatLearnedAction).join(',') || 'drop'}`;
    this.report('detail', t);
  }
}

/**
 * OVS `xlate_optimize_odp_actions()`: a `clone(...)` that ends the datapath actions is replaced by
 * the actions it holds (nothing follows that could see the packet it protects).
 */
export function optimizeOdpActions(dp: readonly string[]): string[] {
  const last = dp[dp.length - 1];
  if (last === undefined || !last.startsWith('clone(') || !last.endsWith(')')) return dp.slice();
  const inner = last.slice(6, -1);
  return inner === '' ? dp.slice(0, -1) : [...dp.slice(0, -1), inner];
}

/** One action of a learned flow as ofproto/trace prints it: a `set_field` from a load spec as `load:`. */
export function formatLearnedAction(a: Action): string {
  if (a.type !== 'set_field') return formatAction(a);
  const f = a.field;
  let ofs = 0;
  let nBits = f.bits;
  let v = a.value;
  if (a.mask !== undefined) {
    let m = a.mask;
    while (m !== 0n && (m & 1n) === 0n) {
      m >>= 1n;
      ofs++;
    }
    nBits = m.toString(2).length;
    v >>= BigInt(ofs);
  }
  return `load:${hexC(v)}->${formatSubfield({ field: f, ofs, nBits })}`;
}

function fmtIpFlow(w: Uint32Array, v6: boolean): string {
  if (!v6) return `nw_src=${formatIpv4(w[W.nw_src]!)},tp_src=${w[W.tp_src]},nw_dst=${formatIpv4(w[W.nw_dst]!)},tp_dst=${w[W.tp_dst]}`;
  const f6 = (o: number): string => `[${Array.from({ length: 8 }, (_, i) => ((w[o + (i >> 1)]! >>> (i & 1 ? 0 : 16)) & 0xffff).toString(16)).join(':')}]`;
  return `ipv6_src=${f6(W.ipv6_src)},tp_src=${w[W.tp_src]},ipv6_dst=${f6(W.ipv6_dst)},tp_dst=${w[W.tp_dst]}`;
}

/**
 * ofproto/trace's NAT simulation for a recirculation (`ofproto_trace_recirc_node`): the flow takes
 * the first address (and first port) of the range. Returns the lines it prints, or null.
 */
export function simulateNat(k: FlowKey, c: CtPrep): string[] | null {
  const n = c.nat;
  if (!n) return null;
  const w = k.w;
  const v6 = n.addrMin !== undefined ? n.addrMin.startsWith('[') : w[W.dl_type] === ETH_TYPE_IPV6;
  // oftrace_print_ip_flow() prints nothing for a NAT without an address range (AF_UNSPEC).
  const ipFlow = (): string => (n.addrMin === undefined ? '' : fmtIpFlow(w, v6));
  const lines = ['Replacing src/dst IP/ports to simulate NAT:', ` Initial flow: ${ipFlow()}`];
  if (n.kind && n.addrMin !== undefined && c.act.nat) {
    const min = c.act.nat.minAddr;
    if (n.kind === 'src') {
      if (v6) for (let i = 0; i < 4; i++) w[W.ipv6_src + i] = min[i]!;
      else w[W.nw_src] = min[0]!;
      if (n.portMin) w[W.tp_src] = n.portMin;
    } else {
      if (v6) for (let i = 0; i < 4; i++) w[W.ipv6_dst + i] = min[i]!;
      else w[W.nw_dst] = min[0]!;
      if (n.portMin) w[W.tp_dst] = n.portMin;
    }
  }
  lines.push(` Modified flow: ${ipFlow()}`);
  return lines;
}

function sameFlow(a: FlowKey, b: FlowKey): boolean {
  return a.w.every((x, i) => x === b.w[i]) && a.vlan2Tci === b.vlan2Tci && a.vlanTpid === b.vlanTpid;
}

const CT_STATE_BITS: ReadonlyArray<readonly [string, number]> = [
  ['new', 0x01], ['est', 0x02], ['rel', 0x04], ['rpl', 0x08], ['inv', 0x10], ['trk', 0x20], ['snat', 0x40], ['dnat', 0x80],
];

/** `trk,est` / `+trk+est` / `trk|est` to ct_state bits. */
export function parseCtState(s: string): number {
  let v = 0;
  for (const tok of s.split(/[,|+\s]+/).filter(Boolean)) {
    const b = CT_STATE_BITS.find(([n]) => n === tok);
    if (!b) throw new RangeError(`unknown ct_state flag "${tok}"`);
    v |= b[1];
  }
  return v;
}

/** ct_state as OVS prints it in a flow (`new|trk`). */
export function formatCtState(v: number): string {
  return CT_STATE_BITS.filter(([, b]) => v & b).map(([n]) => n).join('|');
}

/** The ct part of a recirculated flow as OVS's flow_format puts it before `eth,`. */
function ctPrefix(k: FlowKey): string {
  const w = k.w;
  const parts: string[] = [];
  if (w[W.ct_state]) parts.push(`ct_state=${formatCtState(w[W.ct_state]!)}`);
  if (w[W.ct_zone]) parts.push(`ct_zone=${w[W.ct_zone]}`);
  if (w[W.ct_mark]) parts.push(`ct_mark=0x${w[W.ct_mark]!.toString(16)}`);
  if (w[W.ct_label] || w[W.ct_label + 1] || w[W.ct_label + 2] || w[W.ct_label + 3]) {
    parts.push(`ct_label=0x${Array.from(w.subarray(W.ct_label, W.ct_label + 4), (x) => x.toString(16).padStart(8, '0')).join('').replace(/^0+/, '')}`);
  }
  // The recirc_id before it always makes match_format() print the packet type.
  return parts.length ? `${parts.join(',')},eth,` : 'eth,';
}

function withoutCt(k: FlowKey): FlowKey {
  const c = new FlowKey().copyFrom(k);
  c.w[W.ct_state] = 0;
  c.w[W.ct_zone] = 0;
  c.w[W.ct_mark] = 0;
  c.w.fill(0, W.ct_label, W.ct_label + 4);
  return c;
}
