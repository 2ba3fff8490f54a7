// Issue 14, item 11: continuous fuzzing. Every target (one per parser family) replays its corpus
// of inputs that once failed, then runs seeded inputs for a bounded time (FUZZ_TEST_MS per
// target, default 2500; `npm run fuzz` runs longer with a fresh seed). Then the harness itself:
// it must catch an untyped exception, nondeterminism, a hang and a crash.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusFiles, defineTarget, execInput, formatFailure, fuzzTarget, fuzzTargetNames, isTypedError, shrinkInput } from '@ovnts/testkit';

const BUDGET = Number(process.env.FUZZ_TEST_MS ?? 2500);
const SEED = 14;

describe('fuzz targets keep every property (no hang, no untyped exception, determinism)', () => {
  const names = fuzzTargetNames();
  it('has a target per parser family', () => {
    expect(names).toEqual(expect.arrayContaining(['capture', 'flow-text', 'frames', 'nb-file', 'ovn-actions', 'ovn-expr']));
  });
  for (const t of names) {
    it(`${t}: corpus replayed, then ${BUDGET} ms of seed ${SEED}`, async () => {
      const n = corpusFiles(t).length;
      const r = await fuzzTarget(t, { seed: SEED, timeMs: BUDGET });
      console.log(`[fuzz] ${t}: ${n} corpus inputs and ${r.execs - n} drawn in ${r.ms} ms (seed ${SEED}), slowest ${r.slowestMs} ms`);
      expect(r.failures.map(formatFailure)).toEqual([]);
      expect(r.execs).toBeGreaterThan(n + 10);
    }, BUDGET + 60_000);
  }
});

describe('the harness', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-fuzz-harness-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  class ParseProblem extends Error {
    override readonly name = 'ParseProblem';
  }

  it('tells typed errors from untyped ones', () => {
    expect(isTypedError(new ParseProblem('x'))).toBe(true);
    for (const e of [new Error('x'), new TypeError('x'), new RangeError('Maximum call stack size exceeded'), 'a string', null]) expect(isTypedError(e)).toBe(false);
  });

  it('flags an untyped exception, nondeterminism, and shrinks the input', () => {
    const t = defineTarget({
      name: 'inline',
      about: 'test',
      generate: () => new Uint8Array(0),
      run(b) {
        if (b.includes(0xee)) return (null as unknown as { x: number }).x; // a raw TypeError
        if (b.includes(0xdd)) return Math.random();
        if (b.includes(0xcc)) throw new ParseProblem('bad input');
        return b.length;
      },
    });
    expect(execInput(t, Uint8Array.of(1, 2))).toMatchObject({ ok: true, threw: false });
    expect(execInput(t, Uint8Array.of(0xcc))).toMatchObject({ ok: true, threw: true });
    expect(execInput(t, Uint8Array.of(1, 0xee, 2))).toMatchObject({ ok: false, kind: 'untyped' });
    expect(execInput(t, Uint8Array.of(0xdd))).toMatchObject({ ok: false, kind: 'nondeterministic' });
    expect(Array.from(shrinkInput(t, Uint8Array.of(1, 2, 3, 0xee, 4, 5, 6, 7), 'untyped'))).toEqual([0xee]);
  });

  it('stops a hang and a crash in the worker, names the input, and goes on', async () => {
    const target = join(dir, 'hangs.mjs');
    // Each input is one byte 0..9: 3 loops forever, 6 kills its process (as a fatal V8 error would).
    writeFileSync(
      target,
      `export default {
        name: 'hangs', about: 'test',
        generate: (r) => Uint8Array.of(r.int(0, 9)),
        run(b) {
          if (b[0] === 3) for (;;);
          if (b[0] === 6) process.abort();
          return b[0];
        },
      };\n`,
    );
    const r = await fuzzTarget(target, { seed: 1, timeMs: 30_000, maxExecs: 16, hangMs: 500 });
    const kinds = new Set(r.failures.map((f) => f.kind));
    expect(kinds).toEqual(new Set(['hang', 'crash']));
    for (const f of r.failures) expect(Array.from(f.input)).toEqual([f.kind === 'hang' ? 3 : 6]);
    expect(r.failures[0]!.source).toMatch(/seed 1 input \d+/);
    expect(r.execs).toBeGreaterThan(10); // it went on after each
  }, 60_000);
});
