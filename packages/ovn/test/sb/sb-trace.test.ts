/**
 * A real southbound database drives our ovn-trace (issue 8: "import a real southbound database
 * file ... so a real SB can drive ovn-trace").
 *
 * Stored: for every topology of the ovn-trace corpus (fixtures/trace: the northd fixture cases and
 * the random ones), fixtures/sb holds the SB real ovn-northd 23.03 wrote for its NB file
 * (fixtures/sb/gen.sh serves that very file, so the port keys are those of the corpus run). Our
 * ovnTrace on that imported SB must print what real ovn-trace printed for each stored microflow
 * (fixtures/trace/*.traces.json.gz, --minimal and --summary), traces the database does not
 * determine counted apart as in the NB corpus test.
 *
 * Live (with OVN installed): an ovsdb-server serves one SB fixture file as it is, and real
 * ovn-trace and ours trace a sample of microflows on exactly that database.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { loadSb, minimalText, summaryText, traceTree, type SbDatabase } from '@ovnts/ovn';
import { repoRoot, requireTools } from '@ovnts/testkit';
import { norm, TRACE_FIXTURES, corpusCases, type StoredTrace } from '../trace/corpus.js';

const SB_DIR = join(repoRoot, 'fixtures', 'sb');

/** The SB fixture of a corpus case. */
function sbFixture(corpusName: string): string | undefined {
  const f = join(SB_DIR, `${corpusName}.sb.db.gz`);
  return existsSync(f) ? f : undefined;
}

const cases = corpusCases(TRACE_FIXTURES).filter((n) => sbFixture(n) !== undefined);
const totals = { traces: 0, minimal: 0, summary: 0, ties: 0, failures: 0 };

function ours(sb: SbDatabase, t: StoredTrace): { minimal: string; summary: string; tie: boolean } {
  try {
    const tree = traceTree(sb, t.datapath, t.microflow, { ct: t.ct, ...(t.lbDst ? { lbDst: t.lbDst } : {}) });
    return { minimal: tree.header + minimalText(tree.root), summary: tree.header + summaryText(tree.root), tie: tree.ties.length > 0 || tree.randomChoices.length > 0 };
  } catch (e) {
    const out = (e as { output?: string }).output ?? String((e as Error).stack);
    return { minimal: out, summary: out, tie: false };
  }
}

describe('our ovn-trace on real southbound databases = real ovn-trace (stored corpus)', () => {
  test('every corpus topology has its SB fixture', () => {
    expect(cases.length).toBe(corpusCases(TRACE_FIXTURES).length);
  });
  test.each(cases)('%s', (name) => {
    const sb = loadSb(gunzipSync(readFileSync(sbFixture(name)!)));
    const traces = JSON.parse(gunzipSync(readFileSync(join(TRACE_FIXTURES, `${name}.traces.json.gz`))).toString('utf8')) as StoredTrace[];
    const failures: string[] = [];
    for (const t of traces) {
      const o = ours(sb, t);
      totals.traces++;
      if (o.tie) totals.ties++;
      const m = norm(o.minimal) === norm(t.minimal);
      const s = norm(o.summary) === norm(t.summary);
      if (m) totals.minimal++;
      if (s) totals.summary++;
      if ((!m || !s) && !o.tie) failures.push(`${t.datapath} ${t.microflow}\nexpected:\n${m ? t.summary : t.minimal}got:\n${m ? o.summary : o.minimal}`);
    }
    totals.failures += failures.length;
    expect(failures.slice(0, 3).join('\n---\n')).toBe('');
  });
  afterAll(() => {
    console.log(
      `[sb trace] real SB -> our ovn-trace: ${totals.traces} traces, --minimal ${totals.minimal}/${totals.traces}, --summary ${totals.summary}/${totals.traces} equal to real ovn-trace; ` +
        `${totals.ties} not determined by the database (equal-priority ties, random choices); ${totals.failures} determined mismatches`,
    );
  });
});

const req = requireTools('sb trace (live)', ['ovsdb-server', 'ovsdb-client', 'ovn-trace'], 'apt-get install -y ovn-central');

describe.skipIf(req.skip)('our ovn-trace = real ovn-trace on the very same SB file (live)', () => {
  test('a sample of microflows per case, both forms', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovnts-sbtrace-'));
    let pid = 0;
    let n = 0;
    let equal = 0;
    const mism: string[] = [];
    try {
      const sample = cases.filter((_, i) => i % 7 === 0);
      for (const name of sample) {
        const bytes = gunzipSync(readFileSync(sbFixture(name)!));
        const db = join(dir, `${name}.db`);
        writeFileSync(db, bytes);
        const sock = join(dir, `${name}.sock`);
        execFileSync('ovsdb-server', ['--detach', '--no-chdir', `--pidfile=${join(dir, `${name}.pid`)}`, `--unixctl=${join(dir, `${name}.ctl`)}`, `--remote=punix:${sock}`, `--log-file=${join(dir, `${name}.log`)}`, db]);
        pid = Number(readFileSync(join(dir, `${name}.pid`), 'utf8').trim());
        const sb = loadSb(bytes);
        const traces = (JSON.parse(gunzipSync(readFileSync(join(TRACE_FIXTURES, `${name}.traces.json.gz`))).toString('utf8')) as StoredTrace[]).filter((_, i) => i % 8 === 0);
        for (const t of traces) {
          const o = ours(sb, t);
          if (o.tie) continue;
          for (const fmt of ['minimal', 'summary'] as const) {
            const r = spawnSync('ovn-trace', [`--db=unix:${sock}`, ...t.ct.map((c) => `--ct=${c}`), ...(t.lbDst ? [`--lb-dst=${t.lbDst}`] : []), `--${fmt}`, t.datapath, t.microflow], { encoding: 'utf8' });
            if (r.status !== 0) continue;
            n++;
            if (norm(r.stdout) === norm(o[fmt])) equal++;
            else mism.push(`${name} --${fmt} ${t.datapath} ${t.microflow}\nreal:\n${r.stdout}ours:\n${o[fmt]}`);
          }
        }
        process.kill(pid);
        pid = 0;
      }
    } finally {
      if (pid) process.kill(pid);
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`[sb trace live] ${n} traces on the same SB files: ${equal}/${n} equal`);
    expect(n).toBeGreaterThan(60);
    expect(mism.slice(0, 3).join('\n---\n')).toBe('');
  }, 300_000);
});
