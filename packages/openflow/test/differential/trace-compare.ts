/**
 * Line-by-line comparison of our `of-trace` text with `ovs-appctl ofproto/trace`, with every
 * difference put into a category named after the kind of line (initial flow, table line,
 * action, detail, `Final flow`, `Megaflow`, `Datapath actions`, ...), so a run reports which
 * parts of the trace text agree.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flowText, groupText, startOvs, type GenFlow, type GenGroup, type OvsOracle } from '@ovnts/testkit';

/** The kind of a trace line. */
export type TraceLineKind =
  | 'flow' | 'bridge' | 'table' | 'action' | 'detail' | 'warning' | 'error' | 'bucket' | 'thaw'
  | 'final-flow' | 'megaflow' | 'datapath-actions' | 'translation-failed' | 'recirc' | 'blank' | 'other';

/** What kind of line this is. */
export function lineKind(l: string): TraceLineKind {
  const t = l.trimStart();
  if (t === '') return 'blank';
  if (l.startsWith('Flow: ')) return 'flow';
  if (l.startsWith('Final flow: ')) return 'final-flow';
  if (l.startsWith('Megaflow: ')) return 'megaflow';
  if (l.startsWith('Datapath actions: ')) return 'datapath-actions';
  if (l.startsWith('Translation failed')) return 'translation-failed';
  if (/^bridge\("/.test(t) || /^-+$/.test(t) || /^=+$/.test(t)) return 'bridge';
  if (/^recirc\(0x/.test(t)) return 'recirc';
  if (/^\d+\. /.test(t)) return 'table';
  if (t.startsWith('-> ')) return 'detail';
  if (t.startsWith('>>>> ')) return 'error';
  if (t.startsWith('>> ')) return 'warning';
  if (t.startsWith('bucket ')) return 'bucket';
  if (t.startsWith('thaw')) return 'thaw';
  if (/^[a-z_]+[(:,]|^[a-z_]+$/.test(t)) return 'action';
  return 'other';
}

/**
 * The order in which OVS floods (`FLOOD`, `ALL`, NORMAL's flooding) is the iteration order of a
 * hash map of ports that ovs-vswitchd copies into a new map at every reconfiguration, which
 * reverses the entries sharing a bucket: it depends on the daemon's history, not on the table.
 * When a trace floods, runs of consecutive port numbers in its `Datapath actions` lines (also
 * inside `clone(...)` and `check_pkt_len` branches) are sorted on both sides before comparing
 * (docs/openflow-differences.md).
 */
export function normalizeFloodOrder(text: string): { text: string; applied: boolean } {
  if (!/^\s+(FLOOD|ALL)$|no learned MAC for destination, flooding/m.test(text)) return { text, applied: false };
  const out = text.replace(/^(Datapath actions: )(.*)$/gm, (_m, head: string, body: string) => head + sortPortRuns(body));
  return { text: out, applied: true };
}

/** Sort the runs of port numbers in a datapath action list, also inside `clone(...)` and `check_pkt_len(...)`'s branches. */
function sortPortRuns(body: string): string {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of body) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  const res: string[] = [];
  for (let i = 0; i < parts.length; ) {
    if (!/^\d+$/.test(parts[i]!)) {
      const nested = /^(clone|check_pkt_len|gt|le)\(([\s\S]*)\)$/.exec(parts[i]!);
      res.push(nested ? `${nested[1]}(${sortPortRuns(nested[2]!)})` : parts[i]!);
      i++;
      continue;
    }
    let j = i;
    while (j < parts.length && /^\d+$/.test(parts[j]!)) j++;
    res.push(...parts.slice(i, j).sort((a, b) => Number(a) - Number(b)));
    i = j;
  }
  return res.join(',');
}

/**
 * Recirculation ids (a `ct(table=N)`'s `recirc(0xN)`, a packet-in's continuation
 * `recirc_id=N`) come from a pool of ovs-vswitchd's that a long-lived daemon keeps numbering
 * across traces, while ours start at 1 in every trace: both sides are renumbered by order of first
 * appearance in the trace (0, the packet's own, stays 0).
 */
export function normalizeRecircIds(text: string): string {
  const ids = new Map<number, number>([[0, 0]]);
  const id = (v: number): number => {
    let n = ids.get(v);
    if (n === undefined) {
      n = ids.size;
      ids.set(v, n);
    }
    return n;
  };
  return text.replace(/(recirc\(0x|recirc_id=0x)([0-9a-f]+)|(recirc_id=)(\d+)/g, (_m, hexHead: string | undefined, hex: string | undefined, decHead: string | undefined, dec: string | undefined) =>
    hexHead !== undefined ? `${hexHead}${id(parseInt(hex!, 16)).toString(16)}` : `${decHead!}${id(Number(dec))}`);
}

/** The outcome of comparing one trace. */
export interface TraceDiff {
  /** True when every line is equal. */
  same: boolean;
  /** The kinds of the lines that differ (OVS's line kind, or ours when OVS has no line there). */
  kinds: Set<TraceLineKind>;
  /** The first difference, for reports. */
  first?: { line: number; ours: string; theirs: string };
  /** Every differing line with its kind. */
  lines: { kind: TraceLineKind; line: number; ours: string; theirs: string }[];
  /** The flood order of a `Datapath actions` line was normalised (on either side). */
  floodSorted: boolean;
}

/** Compare two trace texts line by line (trailing blanks ignored, flood order and recirculation ids normalised). */
export function diffTrace(ours0: string, theirs0: string): TraceDiff {
  const o = normalizeFloodOrder(normalizeRecircIds(ours0));
  const t = normalizeFloodOrder(normalizeRecircIds(theirs0));
  const floodSorted = o.applied || t.applied;
  const a = o.text.replace(/\s+$/, '').split('\n');
  const b = t.text.replace(/\s+$/, '').split('\n');
  const kinds = new Set<TraceLineKind>();
  const lines: TraceDiff['lines'] = [];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    const kind = lineKind(y ?? x ?? '');
    kinds.add(kind);
    lines.push({ kind, line: i, ours: x ?? '(none)', theirs: y ?? '(none)' });
  }
  const first = lines[0];
  return { same: kinds.size === 0, kinds, lines, floodSorted, ...(first ? { first: { line: first.line, ours: first.ours, theirs: first.theirs } } : {}) };
}

/**
 * OVS's trace of a case just loaded, asked again (after 100 ms, then 400 ms) while it differs from
 * ours in its `Megaflow:` line alone. `replace-flows` makes the old flows invisible at once but
 * ovs-vswitchd removes them from its classifier only after an RCU grace period; until then their
 * prefixes still sit in the classifier's tries and subtables, and the megaflow of a lookup can
 * differ from the one the same table gives a moment later (seen on 3 of 1,000 traces). Only for
 * traces without side effects (asking again must not change anything). `settled` says whether the
 * answer changed.
 */
export async function settledTrace(ask: () => Promise<string>, ours: string): Promise<{ text: string; settled: boolean }> {
  const first = await ask();
  let text = first;
  for (const ms of [100, 400]) {
    const d = diffTrace(ours, text);
    if (d.same || [...d.kinds].some((k) => k !== 'megaflow')) break;
    await new Promise((r) => setTimeout(r, ms));
    text = await ask();
  }
  return { text, settled: text !== first };
}

/** A daemon whose only bridge, br0, has `ports` (so datapath port N is port N, LOCAL 100) and no marker flows. */
export async function freshTraceOvs(ports: readonly number[]): Promise<OvsOracle> {
  const o = await startOvs();
  await o.bridge('br0', { ports: [...ports], portPrefix: 't', markers: false });
  return o;
}

/**
 * Why a table lands in the `ovs-abort` excuse bucket: ovs-vswitchd 3.1 aborts on an assertion
 * (`ofproto-dpif-rid.c:235: assertion state->action_set_len <= state->ofpacts_len failed in
 * recirc_alloc_id__()`) when a dp_hash select group freezes the translation inside another group's
 * bucket while the action set holds more than the frozen rest of the bucket (minimised in
 * docs/openflow-differences.md). The rest of that table is not compared and the daemon restarts.
 */
export const OVS_ABORT_WHY = 'ovs-vswitchd 3.1 aborted while tracing (recirc_alloc_id__ assertion: a dp_hash select group freezing inside a group bucket with a non-empty action set); table skipped, daemon restarted';

/** True when the oracle's ovs-vswitchd went away during a call (it aborted on an assertion). */
export function daemonDied(e: unknown): boolean {
  return e instanceof Error && /connection closed|cannot connect/.test(e.message);
}

let dumped = 0;

/**
 * With `OVNTS_TRACE_DUMP=DIR`, write a differing case (its flows and groups, our trace, OVS's) to
 * `DIR/N.txt` for reading side by side; nothing otherwise.
 */
export function dumpPair(where: string, d: TraceDiff, t: { flows: readonly GenFlow[]; groups: readonly GenGroup[] }, ours: string, theirs: string): void {
  const dir = process.env.OVNTS_TRACE_DUMP;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const diffs = d.lines.map((l) => `line ${l.line} ${l.kind}\n  ours: ${l.ours}\n  OVS:  ${l.theirs}`);
  const body = [where, ...diffs, '', ...t.groups.map(groupText), ...t.flows.map(flowText), '', '----- ours', ours, '----- OVS', theirs].join('\n');
  writeFileSync(join(dir, `${++dumped}.txt`), body);
}

/** Totals per category over a run. */
export class TraceTally {
  traces = 0;
  identical = 0;
  /** Traces whose flood order was normalised. */
  floodSorted = 0;
  readonly byKind = new Map<TraceLineKind, number>();
  readonly examples = new Map<TraceLineKind, string[]>();

  constructor(readonly maxExamples = 3) {}

  /** Count one comparison; `where` names the case for the examples. */
  add(d: TraceDiff, where: string): void {
    this.traces++;
    if (d.floodSorted) this.floodSorted++;
    if (d.same) {
      this.identical++;
      return;
    }
    for (const k of d.kinds) {
      this.byKind.set(k, (this.byKind.get(k) ?? 0) + 1);
      const ex = this.examples.get(k) ?? [];
      const line = d.lines.find((x) => x.kind === k);
      if (ex.length < this.maxExamples && line) ex.push(`${where}\n      ours: ${line.ours}\n      OVS:  ${line.theirs}`);
      this.examples.set(k, ex);
    }
  }

  /** One line per category, with examples. */
  report(title: string): string {
    const lines = [`${title}: ${this.traces} traces, ${this.identical} identical, ${this.traces - this.identical} different (flood order normalised in ${this.floodSorted})`];
    for (const [k, v] of [...this.byKind].sort((x, y) => y[1] - x[1])) {
      lines.push(`  ${k}: ${v} traces differ`);
      for (const e of this.examples.get(k) ?? []) lines.push(`    ${e}`);
    }
    return lines.join('\n');
  }
}
