/**
 * A small benchmark harness: each case runs a fixed number of operations after a warm-up,
 * repeated, and reports the median rate. Cases are grouped with a baseline measured in the same
 * run, so the printed ratio compares like with like on whatever machine runs it.
 */

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
  rates.sort((a, b) => a - b);
  return { name, opsPerSec: rates[Math.floor(rates.length / 2)]! };
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
