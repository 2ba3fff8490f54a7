/**
 * The ovn-trace differential corpus (fixtures/trace/NAME.nb.db + NAME.traces.json.gz, written by
 * fixtures/trace/gen.mjs with real OVN 23.03) and the comparison of our ovnTrace with it, in the
 * three forms: --minimal, --summary and --detailed (the default). The detailed form prints each
 * logical flow's southbound uuid, which ovsdb-server draws at random when ovn-northd inserts the
 * row: its first 8 hex digits are replaced by `uuid XXXXXXXX` on both sides before comparing
 * (docs/ovn-trace.md). Everything else, including each flow's `(northd.c:LINE)`, must be equal.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { repoRoot } from '@ovnts/testkit';
import { loadNbFile, minimalText, printDetails, summaryText, traceTree, type NbDatabase } from '@ovnts/ovn';

/** Folder of the stored corpus. */
export const TRACE_FIXTURES = join(repoRoot, 'fixtures', 'trace');

/** One stored trace. */
export interface StoredTrace {
  datapath: string;
  microflow: string;
  ct: string[];
  lbDst: string | null;
  minimal: string;
  summary: string;
  detailed: string;
}

/** The three output forms. */
export const FORMS = ['minimal', 'summary', 'detailed'] as const;
/** One output form. */
export type Form = (typeof FORMS)[number];

/** Case names in a corpus folder. */
export function corpusCases(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.traces.json.gz'))
    .map((f) => f.slice(0, -'.traces.json.gz'.length))
    .sort();
}

/**
 * ovn-trace output compared after normalising whitespace (runs of blanks, trailing newline) and
 * the random southbound uuids of the detailed form.
 */
export function norm(s: string): string {
  return s.replace(/, uuid [0-9a-f]{8}$/gm, ', uuid XXXXXXXX').replace(/[ \t]+/g, ' ').replace(/\s+$/, '');
}

/** The outcome of comparing one case. */
export interface CaseResult {
  name: string;
  traces: number;
  /** Traces printed identically, per form. */
  matched: Record<Form, number>;
  /**
   * Traces whose outcome the NB does not determine: two flows of equal priority matched
   * (ovn-trace picks by SB row order) or ovn-trace chose at random (`select` without
   * `--select-id`, `ct_lb_mark` with several backends and no `--lb-dst`).
   */
  ties: number;
  /** Mismatches that no resolution of the undetermined choices explains. */
  failures: { fmt: Form; trace: StoredTrace; got: string }[];
  /**
   * Undetermined traces where ovn-trace took another candidate than our default (the first)
   * and printed what we print with that choice, per form.
   */
  tieMismatches: Record<Form, number>;
  /** Examples of those (`case --form datapath 'microflow'`), for the excuse report. */
  tieExamples: string[];
}

/** Most alternative traces tried for one undetermined trace. */
const MAX_ALTERNATIVES = 64;

type Tree = ReturnType<typeof traceTree>;

/**
 * Every trace ovn-trace may print for this microflow on this NB, one per resolution of the
 * undetermined choices (equal-priority flows, random select members and backends), the default
 * (first candidate everywhere) first; at most MAX_ALTERNATIVES.
 */
function alternatives(db: NbDatabase, t: StoredTrace, first: Tree): Tree[] {
  const out: Tree[] = [];
  const pending: number[][] = [];
  const branch = (script: readonly number[], points: readonly number[]): void => {
    for (let i = script.length; i < points.length; i++) {
      for (let k = 1; k < points[i]!; k++) pending.push([...script, ...new Array<number>(i - script.length).fill(0), k]);
    }
  };
  out.push(first);
  branch([], first.choicePoints);
  while (pending.length && out.length < MAX_ALTERNATIVES) {
    const script = pending.shift()!;
    const tree = traceTree(db, t.datapath, t.microflow, { ct: t.ct, ...(t.lbDst ? { lbDst: t.lbDst } : {}), choices: script });
    out.push(tree);
    branch(script, tree.choicePoints);
  }
  return out;
}

/** Most traces a guided search (below) may compute for one undetermined trace and form. */
const MAX_GUIDED = 600;

/** Length of the common prefix of two strings. */
function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * Is `want` (normalised) what ovn-trace may print, found by resolving the choices one at a time in
 * trace order: at each choice point the candidate whose text agrees with `want` the longest is
 * kept. Choice points appear in the order the trace prints them, so a choice only changes the text
 * from where its flow is printed on: this finds a resolution the breadth-first `alternatives` (64
 * traces) cannot reach when a trace has many ties (a multicast flood through ports whose egress
 * pipelines each tie). At most MAX_GUIDED traces.
 */
function guidedMatch(db: NbDatabase, t: StoredTrace, first: Tree, fmt: Form, want: string): boolean {
  const run = (script: readonly number[]): Tree => traceTree(db, t.datapath, t.microflow, { ct: t.ct, ...(t.lbDst ? { lbDst: t.lbDst } : {}), choices: [...script] });
  let script: number[] = [];
  let tree = first;
  let budget = MAX_GUIDED;
  for (let point = 0; point < tree.choicePoints.length && budget > 0; point++) {
    let bestK = 0;
    let best = commonPrefix(norm(render(tree, fmt)), want);
    let bestTree = tree;
    for (let k = 1; k < tree.choicePoints[point]! && budget > 0; k++, budget--) {
      const s = [...script, ...new Array<number>(Math.max(0, point - script.length)).fill(0)];
      s[point] = k;
      const alt = run(s);
      const text = norm(render(alt, fmt));
      if (text === want) return true;
      const l = commonPrefix(text, want);
      if (l > best) {
        best = l;
        bestK = k;
        bestTree = alt;
      }
    }
    script = [...script, ...new Array<number>(Math.max(0, point - script.length)).fill(0)];
    script[point] = bestK;
    tree = bestTree;
    if (norm(render(tree, fmt)) === want) return true;
  }
  return false;
}

function render(tree: Tree, fmt: Form): string {
  return tree.header + (fmt === 'minimal' ? minimalText(tree.root) : fmt === 'summary' ? summaryText(tree.root) : printDetails(tree.root));
}

/** Compares our traces with a stored case. */
export function compareCase(dir: string, name: string): CaseResult {
  const db: NbDatabase = loadNbFile(join(dir, `${name}.nb.db`));
  const traces = JSON.parse(gunzipSync(readFileSync(join(dir, `${name}.traces.json.gz`))).toString('utf8')) as StoredTrace[];
  const zero = (): Record<Form, number> => ({ minimal: 0, summary: 0, detailed: 0 });
  const r: CaseResult = { name, traces: traces.length, matched: zero(), ties: 0, failures: [], tieMismatches: zero(), tieExamples: [] };
  for (const t of traces) {
    let tree: Tree | undefined;
    let error = '';
    try {
      tree = traceTree(db, t.datapath, t.microflow, { ct: t.ct, ...(t.lbDst ? { lbDst: t.lbDst } : {}) });
    } catch (e) {
      error = (e as { output?: string }).output ?? String((e as Error).stack);
    }
    const tie = !!tree && tree.choicePoints.length > 0;
    if (tie) r.ties++;
    let alts: Tree[] | undefined;
    for (const fmt of FORMS) {
      const got = tree ? render(tree, fmt) : error;
      if (norm(got) === norm(t[fmt])) {
        r.matched[fmt]++;
        continue;
      }
      if (tie) {
        alts ??= alternatives(db, t, tree!);
        if (alts.some((a) => norm(render(a, fmt)) === norm(t[fmt])) || guidedMatch(db, t, tree!, fmt, norm(t[fmt]))) {
          r.tieMismatches[fmt]++;
          if (r.tieExamples.length < 3) r.tieExamples.push(`${name} --${fmt} ${t.datapath} '${t.microflow}'`);
          continue;
        }
      }
      r.failures.push({ fmt, trace: t, got });
    }
  }
  return r;
}

/** A readable report of the first few failures of a case. */
export function formatFailures(r: CaseResult, max = 3): string {
  return r.failures
    .slice(0, max)
    .map(
      (f) =>
        `--- ${r.name} ${f.fmt}: ovn-trace ${f.trace.ct.map((c) => `--ct=${c} `).join('')}${f.trace.lbDst ? `--lb-dst=${f.trace.lbDst} ` : ''}--${f.fmt} ${f.trace.datapath} '${f.trace.microflow}'\n` +
        `expected:\n${f.trace[f.fmt]}got:\n${f.got}`,
    )
    .join('\n');
}
