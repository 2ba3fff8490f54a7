/**
 * Allocation checks for hot paths ("allocates nothing per packet"), robust on a loaded machine.
 *
 * `heapUsed` only grows between two garbage collections, so one long loop proves nothing: a
 * collection in the middle hides any amount of allocation. `minHeapGrowth` runs the path in rounds
 * and keeps only the rounds during which the heap did not shrink (no collection ran); the smallest
 * of those is the path's allocation once V8 has optimized it (unoptimized code may box numbers, and
 * on a loaded machine optimization comes late, so it runs up to `maxRounds`, stopping at the first
 * round under `stopBelow`). At 8 bytes per call a round of 100k calls grows by 800 kB.
 */

/** What `minHeapGrowth` measured. */
export interface HeapGrowth {
  /** The smallest growth (bytes) of a round without a collection; Infinity when every round had one. */
  min: number;
  /** Rounds without a collection. */
  clean: number;
  /** Rounds run. */
  rounds: number;
}

/** Run `round()` (one round of calls) until a collection-free round grows less than `stopBelow` bytes. */
export function minHeapGrowth(round: () => void, opts: { maxRounds?: number; stopBelow?: number } = {}): HeapGrowth {
  const maxRounds = opts.maxRounds ?? 20;
  const stopBelow = opts.stopBelow ?? 64 * 1024;
  let min = Infinity;
  let clean = 0;
  let rounds = 0;
  while (rounds < maxRounds) {
    rounds++;
    const before = process.memoryUsage().heapUsed;
    round();
    const growth = process.memoryUsage().heapUsed - before;
    if (growth < 0) continue;
    clean++;
    if (growth < min) min = growth;
    if (growth < stopBelow) break;
  }
  return { min, clean, rounds };
}
