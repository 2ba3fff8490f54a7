/**
 * Differential tests of ovnTrace against real ovn-trace 23.03: every stored trace of the corpus
 * (fixtures/trace/, written by fixtures/trace/gen.mjs from the northd fixture topologies and
 * seeded random ones) must print exactly what ovn-trace printed, in --minimal, --summary and
 * --detailed form (with each flow's `(northd.c:LINE)`), after normalising whitespace and the
 * random southbound uuids. Traces the NB does not determine are counted apart, in a capped excuse
 * bucket: where two flows of equal priority match, ovn-trace picks by southbound row order, and
 * it picks `select` members and load-balancer backends at random unless told. With OVN installed,
 * new random topologies are generated live and compared the same way (skipped with a printed
 * reason otherwise, never under CI).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Excuses, repoRoot, requireOracle, seedFromEnv } from '@ovnts/testkit';
import { FORMS, TRACE_FIXTURES, compareCase, corpusCases, formatFailures, type CaseResult, type Form } from './corpus.js';

/**
 * The excuse buckets: a trace the NB does not determine (equal-priority flows both matching,
 * which ovn-trace orders by its southbound rows' random uuids; a random `select` member or
 * load-balancer backend) counts as matching only if ovn-trace printed one of the traces we print
 * for some resolution of those choices (corpus.ts tries them all); it is then set aside in its
 * form's bucket, since ovn-trace's own choice is random (two runs of real ovn-trace on the same
 * NB differed on 219 of the 4,051 corpus traces). Caps, per form, as a share of the traces of a
 * run: --minimal 1 % (6 of 4,051 in the corpus), --summary 8 % (210), --detailed 10 % (316;
 * the detailed form also shows which of two tied flows matched when their actions are equal).
 * A trace that no resolution explains fails the test, tie or not.
 */
const UNDETERMINED_CAPS: Record<Form, number> = { minimal: 0.01, summary: 0.08, detailed: 0.1 };
/**
 * The live run's caps: its six topologies are new each run, and the share of traces with ties the
 * NB leaves open varies with them (14 % of 842 traces in one run), so its caps are wider.
 */
const LIVE_UNDETERMINED_CAPS: Record<Form, number> = { minimal: 0.02, summary: 0.15, detailed: 0.2 };

function undeterminedExcuses(suite: string, caps: Record<Form, number> = UNDETERMINED_CAPS): Excuses {
  const why = 'ovn-trace took another candidate at a choice the NB does not determine (and printed what we print with that choice)';
  return new Excuses(suite, Object.fromEntries(FORMS.map((f) => [`undetermined --${f}`, { fraction: caps[f], max: 2, why }])));
}

/** Adds a case's numbers to the totals and the excuse buckets; everything determined must match. */
function check(r: CaseResult, totals: Totals, excuses: Excuses): void {
  totals.traces += r.traces;
  totals.ties += r.ties;
  for (const f of FORMS) {
    totals.matched[f] += r.matched[f];
    if (r.tieMismatches[f]) excuses.add(`undetermined --${f}`, r.tieExamples.find((x) => x.includes(`--${f} `)) ?? r.name, r.tieMismatches[f]);
  }
  expect(r.traces).toBeGreaterThan(0);
  expect(r.failures.length, formatFailures(r)).toBe(0);
}

interface Totals {
  traces: number;
  ties: number;
  matched: Record<Form, number>;
}

const newTotals = (): Totals => ({ traces: 0, ties: 0, matched: { minimal: 0, summary: 0, detailed: 0 } });

function report(what: string, t: Totals, excuses: Excuses): string {
  return (
    `[${what}] ${t.traces} traces x 3 forms: ${FORMS.map((f) => `--${f} ${t.matched[f]}/${t.traces}`).join(', ')} identical; ` +
    `${t.ties} traces not determined by the NB; set aside:\n${excuses.summary(t.traces)}`
  );
}

const cases = corpusCases(TRACE_FIXTURES);

describe('ovn-trace vs stored real ovn-trace 23.03 output (fixtures/trace)', () => {
  const totals = newTotals();
  const excuses = undeterminedExcuses('ovn-trace corpus');
  test('the corpus is there', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });
  test.each(cases)('%s', (name) => check(compareCase(TRACE_FIXTURES, name), totals, excuses));
  test('undetermined traces within their cap', () => {
    console.log(report('trace corpus', totals, excuses));
    expect(totals.traces).toBeGreaterThan(3000);
    expect(excuses.overCap(totals.traces)).toEqual([]);
  });
});

const req = requireOracle('ovn-trace differential (live)', 'ovn-sandbox', ['ovn-northd', 'ovn-nbctl', 'ovn-sbctl', 'ovn-trace', 'ovn-appctl', 'ovsdb-client', 'ovsdb-server', 'ovsdb-tool'], 'apt-get install -y ovn-central');

describe.skipIf(req.skip)('ovn-trace vs live ovn-trace (new random topologies)', () => {
  let dir = '';
  let work = '';
  // Six new topologies per run from a fresh seed (printed; OVNTS_TRACE_SEED=N replays a run).
  // gen.mjs runs asynchronously: a synchronous child of minutes would block this worker's event
  // loop and starve vitest's RPC ("Timeout calling onTaskUpdate").
  beforeAll(async () => {
    const { seed } = seedFromEnv('ovn-trace live differential', 'OVNTS_TRACE_SEED', 'time');
    dir = mkdtempSync(join(tmpdir(), 'ovnts-trace-'));
    work = mkdtempSync(join(tmpdir(), 'ovnts-trace-work-'));
    const r = await promisify(execFile)(process.execPath, [join(repoRoot, 'fixtures', 'trace', 'gen.mjs'), '--out', dir, '--random', '6', '--seed', String(seed), '--no-northd-cases'], {
      env: { ...process.env, OVN_SANDBOX: req.script, OVNTS_TRACE_WORKDIR: work },
      timeout: 300_000,
      maxBuffer: 1 << 24,
    });
    if (r.stderr) process.stderr.write(r.stderr);
  }, 320_000);
  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    // gen.mjs stops its daemons itself, unless its timeout killed it: then they are stopped here.
    if (work) {
      await promisify(execFile)('bash', [req.script, 'stop', work]).catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    }
  });
  test('every generated case matches', () => {
    const names = corpusCases(dir);
    expect(names.length).toBe(6);
    const totals = newTotals();
    const excuses = undeterminedExcuses('ovn-trace live', LIVE_UNDETERMINED_CAPS);
    for (const n of names) check(compareCase(dir, n), totals, excuses);
    console.log(report('trace live', totals, excuses));
    expect(excuses.overCap(totals.traces)).toEqual([]);
  });
});
