/**
 * A real southbound database drives our ovn-trace (issue 8: "import a real southbound database
 * file ... so a real SB can drive ovn-trace").
 *
 * Stored: for every topology of the ovn-trace corpus (fixtures/trace: the northd fixture cases and
 * the random ones), fixtures/sb holds the SB real ovn-northd 23.03 wrote for its NB file
 * (fixtures/sb/gen.sh serves that very file, so the port keys are those of the corpus run). Our
 * ovnTrace on that imported SB must print what real ovn-trace printed for each stored microflow
 * (fixtures/trace/*.traces.json.gz, --minimal, --summary and --detailed with each flow's
 * `northd.c` source read from the SB row, uuids masked), traces the database does not determine
 * counted apart as in the NB corpus test.
 *
 * Live (with OVN installed): an ovsdb-server serves one SB fixture file as it is, and real
 * ovn-trace and ours trace a sample of microflows on exactly that database.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { loadSb, minimalText, printDetails, summaryText, traceTree, type SbDatabase } from '@ovnts/ovn';
import { repoRoot, requireTools } from '@ovnts/testkit';
import { norm, TRACE_FIXTURES, corpusCases, type StoredTrace } from '../trace/corpus.js';

const SB_DIR = join(repoRoot, 'fixtures', 'sb');

/** The SB fixture of a corpus case. */
function sbFixture(corpusName: string): string | undefined {
  const f = join(SB_DIR, `${corpusName}.sb.db.gz`);
  return existsSync(f) ? f : undefined;
}

const cases = corpusCases(TRACE_FIXTURES).filter((n) => sbFixture(n) !== undefined);
const totals = { traces: 0, minimal: 0, summary: 0, detailed: 0, ties: 0, failures: 0 };
const run = promisify(execFile);

function ours(sb: SbDatabase, t: StoredTrace): { minimal: string; summary: string; detailed: string; tie: boolean } {
  try {
    const tree = traceTree(sb, t.datapath, t.microflow, { ct: t.ct, ...(t.lbDst ? { lbDst: t.lbDst } : {}) });
    return {
      minimal: tree.header + minimalText(tree.root), summary: tree.header + summaryText(tree.root), detailed: tree.header + printDetails(tree.root),
      tie: tree.ties.length > 0 || tree.randomChoices.length > 0,
    };
  } catch (e) {
    const out = (e as { output?: string }).output ?? String((e as Error).stack);
    return { minimal: out, summary: out, detailed: out, tie: false };
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
      const d = norm(o.detailed) === norm(t.detailed);
      if (m) totals.minimal++;
      if (s) totals.summary++;
      if (d) totals.detailed++;
      const bad = !m ? 'minimal' : !s ? 'summary' : !d ? 'detailed' : null;
      if (bad !== null && !o.tie) failures.push(`${t.datapath} ${t.microflow}\nexpected:\n${t[bad]}got:\n${o[bad]}`);
    }
    totals.failures += failures.length;
    expect(failures.slice(0, 3).join('\n---\n')).toBe('');
  });
  afterAll(() => {
    console.log(
      `[sb trace] real SB -> our ovn-trace: ${totals.traces} traces, --minimal ${totals.minimal}/${totals.traces}, --summary ${totals.summary}/${totals.traces}, --detailed ${totals.detailed}/${totals.traces} equal to real ovn-trace; ` +
        `${totals.ties} not determined by the database (equal-priority ties, random choices); ${totals.failures} determined mismatches`,
    );
  });
});

const req = requireTools('sb trace (live)', ['ovsdb-server', 'ovsdb-client', 'ovn-trace'], 'apt-get install -y ovn-central');

describe.skipIf(req.skip)('our ovn-trace = real ovn-trace on the very same SB file (live)', () => {
  // Asynchronous: hundreds of ovn-trace runs must not block the worker (vitest's RPC times out).
  test('a sample of microflows per case, three forms', async () => {
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
        await run('ovsdb-server', ['--detach', '--no-chdir', `--pidfile=${join(dir, `${name}.pid`)}`, `--unixctl=${join(dir, `${name}.ctl`)}`, `--remote=punix:${sock}`, `--log-file=${join(dir, `${name}.log`)}`, db]);
        pid = Number(readFileSync(join(dir, `${name}.pid`), 'utf8').trim());
        const sb = loadSb(bytes);
        const traces = (JSON.parse(gunzipSync(readFileSync(join(TRACE_FIXTURES, `${name}.traces.json.gz`))).toString('utf8')) as StoredTrace[]).filter((_, i) => i % 8 === 0);
        for (const t of traces) {
          const o = ours(sb, t);
          if (o.tie) continue;
          for (const fmt of ['minimal', 'summary', 'detailed'] as const) {
            let stdout: string;
            try {
              ({ stdout } = await run('ovn-trace', [`--db=unix:${sock}`, ...t.ct.map((c) => `--ct=${c}`), ...(t.lbDst ? [`--lb-dst=${t.lbDst}`] : []), `--${fmt}`, t.datapath, t.microflow], { encoding: 'utf8' }));
            } catch {
              continue;
            }
            n++;
            // The same SB file on both sides: even the flows' uuids are compared.
            if (stdout.replace(/\s+$/, '') === o[fmt].replace(/\s+$/, '')) equal++;
            else mism.push(`${name} --${fmt} ${t.datapath} ${t.microflow}\nreal:\n${stdout}ours:\n${o[fmt]}`);
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
