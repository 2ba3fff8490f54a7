/**
 * A small benchmark harness: each case runs a fixed number of operations after a warm-up,
 * repeated, and reports the median rate. Cases are grouped with a baseline measured in the same
 * run, so the printed ratio compares like with like on whatever machine runs it.
 *
 * Allocation is measured with V8's `GCProfiler`, which records the heap before and after every
 * collection. Bytes allocated over a loop are the growth of the used heap between collections,
 * summed: (used before GC 1 - used at start) + (used before GC 2 - used after GC 1) + ... +
 * (used at end - used after the last GC). That counts garbage that a scavenge freed in the
 * middle of the loop, which a plain `heapUsed` difference would miss. The number of collections
 * during the loop is reported as well: zero collections over a million frames is the plainest
 * evidence that the hot loop allocates nothing.
 *
 * Issue targets are printed as `target ...: PASS/FAIL (measured ...)` lines. When `run.mjs`
 * starts a benchmark it passes `BENCH_TARGETS` (a file path); target lines are appended there
 * too, so `run.mjs` can repeat them all at the end of the run.
 */
import { appendFileSync } from 'node:fs';
import { GCProfiler, getHeapStatistics } from 'node:v8';

/** One measured case. */
export interface Measurement {
  name: string;
  /** Median operations per second. */
  opsPerSec: number;
  /** Optional extra figure (MB/s, bytes/op...). */
  extra?: string;
}

/** Run `fn(n)` (which performs n operations) `runs` times after a warm-up; return the median rate. */
export function measure(name: string, fn: (n: number) => void, opts: { ops?: number; runs?: number; warmup?: number } = {}): Measurement {
  const ops = opts.ops ?? 1_000_000;
  const runs = opts.runs ?? 5;
  fn(opts.warmup ?? Math.min(ops, 200_000));
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    fn(ops);
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push((ops * 1e9) / ns);
  }
  return { name, opsPerSec: median(rates) };
}

/** One case of `measureAll`. */
export interface Case {
  name: string;
  /** Performs n operations. */
  fn: (n: number) => void;
  /** Operations per timed run (aim for 0.1-0.5 s). */
  ops: number;
  /** Operations of the warm-up (default min(ops, 200k)). */
  warmup?: number;
}

/**
 * Measure several cases with their runs interleaved (A, B, C, A, B, C, ...) after warming all of
 * them up, and return each case's median rate. On a shared machine whose load changes while the
 * benchmark runs, interleaving exposes every case to the same conditions, so ratios between the
 * cases stay honest even when the absolute rates drift.
 */
export function measureAll(cases: Case[], runs = 5): Measurement[] {
  for (const c of cases) c.fn(c.warmup ?? Math.min(c.ops, 200_000));
  const rates: number[][] = cases.map(() => []);
  for (let r = 0; r < runs; r++) {
    cases.forEach((c, i) => {
      const t0 = process.hrtime.bigint();
      c.fn(c.ops);
      rates[i]!.push((c.ops * 1e9) / Number(process.hrtime.bigint() - t0));
    });
  }
  return cases.map((c, i) => ({ name: c.name, opsPerSec: median(rates[i]!) }));
}

/** As `measure`, for an async `fn` that performs `ops` operations per call (e.g. one file pass). */
export async function measureAsync(name: string, ops: number, fn: () => Promise<void>, opts: { runs?: number; warmups?: number } = {}): Promise<Measurement> {
  for (let w = 0; w < (opts.warmups ?? 1); w++) await fn();
  const rates: number[] = [];
  for (let r = 0; r < (opts.runs ?? 5); r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    rates.push((ops * 1e9) / Number(process.hrtime.bigint() - t0));
  }
  return { name, opsPerSec: median(rates) };
}

/** The median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Heap growth in bytes while `fn()` runs (needs node --expose-gc for a clean reading). */
export function heapGrowth(fn: () => void): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  fn();
  const after = process.memoryUsage().heapUsed;
  return after - before;
}

/** Live bytes: the JS heap plus ArrayBuffer backing stores, which live outside it (`heapUsed` alone misses them). */
export function liveBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * What `fn()` leaves alive, in bytes, heap and ArrayBuffers (typed arrays' bytes are outside the
 * heap: a `Match` is two 476-byte key arrays); forced GCs before and after (needs --expose-gc).
 */
export function retainedGrowth(fn: () => void): { heap: number; arrayBuffers: number; total: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m0 = process.memoryUsage();
  fn();
  gc?.();
  gc?.();
  const m1 = process.memoryUsage();
  const heap = m1.heapUsed - m0.heapUsed;
  const arrayBuffers = m1.arrayBuffers - m0.arrayBuffers;
  return { heap, arrayBuffers, total: heap + arrayBuffers };
}

/** What `allocation()` found over one run of a loop. */
export interface AllocationReport {
  /** Frames (operations) the loop ran. */
  ops: number;
  /** `heapUsed` after the loop minus before it (a full GC just before; none forced after). */
  heapDelta: number;
  /** `heapUsed` after a full GC following the loop, minus before: what the loop retained. */
  retained: number;
  /** Bytes allocated during the loop (GC-profiler accounting, see the module comment). */
  allocated: number;
  /** Garbage collections during the loop. */
  gcs: number;
  /** Of which scavenges (young generation). */
  scavenges: number;
  /** Of which mark-compacts (full). */
  markCompacts: number;
}

/** Run `fn()` (which performs `ops` operations) once and account for every byte it allocates. */
export function allocation(ops: number, fn: () => void): AllocationReport {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new TypeError('allocation(): run node with --expose-gc');
  gc();
  gc();
  const profiler = new GCProfiler();
  profiler.start();
  const heapBefore = process.memoryUsage().heapUsed;
  const usedStart = getHeapStatistics().used_heap_size;
  fn();
  const usedEnd = getHeapStatistics().used_heap_size;
  const heapAfter = process.memoryUsage().heapUsed;
  const stats = profiler.stop()?.statistics ?? [];
  gc();
  const retained = process.memoryUsage().heapUsed - heapBefore;
  let allocated = 0;
  let prevAfter = usedStart;
  let scavenges = 0;
  let markCompacts = 0;
  for (const s of stats) {
    allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - prevAfter);
    prevAfter = s.afterGC.heapStatistics.usedHeapSize;
    if (/scavenge/i.test(s.gcType)) scavenges++;
    else if (/mark/i.test(s.gcType)) markCompacts++;
  }
  allocated += Math.max(0, usedEnd - prevAfter);
  return { ops, heapDelta: heapAfter - heapBefore, retained, allocated, gcs: stats.length, scavenges, markCompacts };
}

/** Format a rate with SI suffix. */
export function rate(x: number, unit = 'ops/s'): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M${unit}`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k${unit}`;
  return `${x.toFixed(0)} ${unit}`;
}

/** Print a group: each case with its rate and its ratio to the first (the baseline). */
export function report(title: string, rows: Measurement[]): void {
  const base = rows[0]!;
  console.log(`\n${title}`);
  for (const r of rows) {
    const ratio = r === base ? 'baseline' : `${(r.opsPerSec / base.opsPerSec).toFixed(2)}x baseline`;
    console.log(`  ${r.name.padEnd(52)} ${rate(r.opsPerSec).padStart(16)}  ${ratio}${r.extra ? `  ${r.extra}` : ''}`);
  }
}

/** A row of `table()`: a measurement and the baseline it is compared with (none for a baseline row). */
export interface Row {
  m: Measurement;
  /** The baseline(s) of this row; omitted for baseline rows themselves. */
  vs?: Measurement | Measurement[];
  /** The unit of the rate column (default `frames/s`). */
  unit?: string;
}

/** Print a table: name, rate, ratio to its baseline (or `baseline`), extra figure. */
export function table(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  const width = Math.max(...rows.map((r) => r.m.name.length));
  console.log(`  ${'case'.padEnd(width)} ${'rate'.padStart(17)}  ${'ratio'.padEnd(20)} extra`);
  for (const r of rows) {
    const vs = r.vs === undefined ? [] : Array.isArray(r.vs) ? r.vs : [r.vs];
    const ratio = vs.length ? vs.map((b) => `${(r.m.opsPerSec / b.opsPerSec).toFixed(2)}x ${shortName(b.name)}`).join(', ') : 'baseline';
    console.log(`  ${r.m.name.padEnd(width)} ${rate(r.m.opsPerSec, r.unit ?? 'frames/s').padStart(17)}  ${ratio.padEnd(20)} ${r.m.extra ?? ''}`.trimEnd());
  }
}

function shortName(n: string): string {
  const m = /^baseline ([A-Z])\b/.exec(n);
  return m ? `baseline ${m[1]}` : 'baseline';
}

/** Print an allocation report as table rows. */
export function allocationTable(title: string, rows: { name: string; a: AllocationReport }[]): void {
  console.log(`\n${title}`);
  const width = Math.max(4, ...rows.map((r) => r.name.length));
  console.log(`  ${'case'.padEnd(width)} ${'frames'.padStart(9)} ${'allocated'.padStart(12)} ${'B/frame'.padStart(9)} ${'heapUsed delta'.padStart(15)} ${'retained'.padStart(10)} ${'GCs (scav/mc)'.padStart(14)}`);
  for (const { name, a } of rows) {
    console.log(
      `  ${name.padEnd(width)} ${a.ops.toLocaleString('en-US').padStart(9)} ${bytes(a.allocated).padStart(12)} ${(a.allocated / a.ops).toFixed(2).padStart(9)} ${bytes(a.heapDelta).padStart(15)} ${bytes(a.retained).padStart(10)} ${`${a.gcs} (${a.scavenges}/${a.markCompacts})`.padStart(14)}`,
    );
  }
}

/** Bytes with a binary suffix. */
export function bytes(n: number): string {
  const a = Math.abs(n);
  if (a >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (a >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (a >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Print (and record for run.mjs) one issue target: `target <what>: PASS|FAIL (measured <how>)`. */
export function target(what: string, pass: boolean, measured: string): void {
  const line = `target ${what}: ${pass ? 'PASS' : 'FAIL'} (measured ${measured})`;
  console.log(line);
  const file = process.env.BENCH_TARGETS;
  if (file) appendFileSync(file, line + '\n');
}

/** Throw unless `cond` holds (benchmarks refuse to time cases that disagree). */
export function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new BenchmarkError(what);
}

/** A benchmark's own precondition failed (e.g. ours and a baseline extract different fields). */
export class BenchmarkError extends Error {
  override readonly name = 'BenchmarkError';
}
