/**
 * The ovn-trace differential corpus (fixtures/trace/NAME.nb.db + NAME.traces.json.gz, written by
 * fixtures/trace/gen.mjs with real OVN 23.03) and the comparison of our ovnTrace with it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { repoRoot } from '@ovnts/testkit';
import { loadNbFile, minimalText, summaryText, traceTree, type NbDatabase } from '@ovnts/ovn';

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
}

/** Case names in a corpus folder. */
export function corpusCases(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.traces.json.gz'))
    .map((f) => f.slice(0, -'.traces.json.gz'.length))
    .sort();
}

/** ovn-trace output compared after normalising whitespace (runs of blanks, trailing newline). */
export function norm(s: string): string {
  return s.replace(/[ \t]+/g, ' ').replace(/\s+$/, '');
}

/** The outcome of comparing one case. */
export interface CaseResult {
  name: string;
  traces: number;
  minimalMatched: number;
  summaryMatched: number;
  /**
   * Traces whose outcome the NB does not determine: two flows of equal priority matched
   * (ovn-trace picks by SB row order) or ovn-trace chose at random (`select` without
   * `--select-id`, `ct_lb_mark` with several backends and no `--lb-dst`).
   */
  ties: number;
  /** Mismatches on traces without ties. */
  failures: { fmt: 'minimal' | 'summary'; trace: StoredTrace; got: string }[];
  /** Mismatches on such undetermined traces. */
  tieMismatches: number;
}

/** Compares our traces with a stored case. */
export function compareCase(dir: string, name: string): CaseResult {
  const db: NbDatabase = loadNbFile(join(dir, `${name}.nb.db`));
  const traces = JSON.parse(gunzipSync(readFileSync(join(dir, `${name}.traces.json.gz`))).toString('utf8')) as StoredTrace[];
  const r: CaseResult = { name, traces: traces.length, minimalMatched: 0, summaryMatched: 0, ties: 0, failures: [], tieMismatches: 0 };
  for (const t of traces) {
    let minimal: string;
    let summary: string;
    let tie = false;
    try {
      const tree = traceTree(db, t.datapath, t.microflow, { ct: t.ct, ...(t.lbDst ? { lbDst: t.lbDst } : {}) });
      minimal = tree.header + minimalText(tree.root);
      summary = tree.header + summaryText(tree.root);
      tie = tree.ties.length > 0 || tree.randomChoices.length > 0;
    } catch (e) {
      const out = (e as { output?: string }).output ?? String((e as Error).stack);
      minimal = summary = out;
    }
    if (tie) r.ties++;
    for (const [fmt, got] of [['minimal', minimal], ['summary', summary]] as const) {
      if (norm(got) === norm(t[fmt])) {
        if (fmt === 'minimal') r.minimalMatched++;
        else r.summaryMatched++;
      } else if (tie) r.tieMismatches++;
      else r.failures.push({ fmt, trace: t, got });
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
        `--- ${r.name} ${f.fmt}: ovn-trace ${f.trace.ct.map((c) => `--ct=${c} `).join('')}${f.trace.lbDst ? `--lb-dst=${f.trace.lbDst} ` : ''}${f.trace.datapath} '${f.trace.microflow}'\n` +
        `expected:\n${f.trace[f.fmt]}got:\n${f.got}`,
    )
    .join('\n');
}
