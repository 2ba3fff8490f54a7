/**
 * `ovn-sbctl lflow-list` text: flows grouped by datapath and pipeline, sorted as ovn-sbctl sorts
 * them (datapath name, datapath uuid, ingress before egress, table, priority descending, match,
 * actions; strings compared bytewise like strcmp), each line
 * `  table=N (stage_name         ), priority=P    , match=(...), action=(...)`.
 * Also a reader for that text, so the differential tests can compare sets of flows.
 */
import type { LogicalFlow } from './types.js';

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sort flows the way `ovn-sbctl lflow-list` does. */
export function sortFlows(flows: readonly LogicalFlow[]): LogicalFlow[] {
  return [...flows].sort(
    (a, b) =>
      cmp(a.datapath.name, b.datapath.name) ||
      cmp(a.datapath.uuid, b.datapath.uuid) ||
      (a.pipeline === b.pipeline ? 0 : a.pipeline === 'ingress' ? -1 : 1) ||
      a.table - b.table ||
      b.priority - a.priority ||
      cmp(a.match, b.match) ||
      cmp(a.actions, b.actions),
  );
}

function padRight(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** One flow line as lflow-list prints it (without a trailing newline). */
export function formatFlowLine(f: { table: number; stage: string; priority: number; match: string; actions: string }): string {
  return `  table=${padRight(String(f.table), 2)}(${padRight(f.stage, 19)}), priority=${padRight(String(f.priority), 5)}, match=(${f.match}), action=(${f.actions})`;
}

/** Flows in `ovn-sbctl lflow-list` form. */
export function formatLflowList(flows: readonly LogicalFlow[]): string {
  let out = '';
  let prevDp: LogicalFlow['datapath'] | undefined;
  let prevPl = '';
  for (const f of sortFlows(flows)) {
    if (f.datapath !== prevDp || f.pipeline !== prevPl) {
      out += `Datapath: "${f.datapath.name}" (${f.datapath.uuid})  Pipeline: ${f.pipeline}\n`;
      prevDp = f.datapath;
      prevPl = f.pipeline;
    }
    out += `${formatFlowLine(f)}\n`;
  }
  return out;
}

/** A flow read back from lflow-list text. */
export interface ListedFlow {
  /** Datapath name. */
  readonly datapath: string;
  /** Datapath uuid as printed. */
  readonly datapathUuid: string;
  /** Pipeline. */
  readonly pipeline: 'ingress' | 'egress';
  /** Table number. */
  readonly table: number;
  /** Stage name. */
  readonly stage: string;
  /** Priority. */
  readonly priority: number;
  /** Match text. */
  readonly match: string;
  /** Action text. */
  readonly actions: string;
}

const HEADER = /^Datapath: "(.*)" \(([0-9a-f-]+)\)  Pipeline: (ingress|egress)$/;
const LINE = /^ {2}(?:[0-9a-f]{8} )?table=([0-9]+) *\(([a-z0-9_]+) *\), priority=([0-9]+) *, match=\((.*)\), action=\((.*)\)$/;

/** Parse `ovn-sbctl lflow-list` output. */
export function parseLflowList(text: string): ListedFlow[] {
  const out: ListedFlow[] = [];
  let dp = '';
  let dpUuid = '';
  let pl: 'ingress' | 'egress' = 'ingress';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const h = HEADER.exec(line);
    if (h) {
      dp = h[1]!;
      dpUuid = h[2]!;
      pl = h[3] as 'ingress' | 'egress';
      continue;
    }
    const m = LINE.exec(line);
    if (!m) continue;
    out.push({ datapath: dp, datapathUuid: dpUuid, pipeline: pl, table: Number(m[1]), stage: m[2]!, priority: Number(m[3]), match: m[4]!, actions: m[5]! });
  }
  return out;
}

/** The comparison key of a flow: datapath name, pipeline, table, stage, priority, match, actions. */
export function flowKey(f: { datapath: string | { name: string }; pipeline: string; table: number; stage: string; priority: number; match: string; actions: string }): string {
  const dp = typeof f.datapath === 'string' ? f.datapath : f.datapath.name;
  return `${dp} ${f.pipeline} ${formatFlowLine(f).trimStart()}`;
}
