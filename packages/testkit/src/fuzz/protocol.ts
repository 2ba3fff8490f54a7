/** What the fuzzing runner and its child process exchange (see runner.ts and worker.ts). */

/**
 * The progress file the child rewrites (from offset 0) before each input: a header of three
 * little-endian int32 (`PROGRESS` slots), then the input's bytes (up to `INPUT_CAP`).
 */
export const PROGRESS = {
  /** Index of the input being run; -1 before the first; -(i + 2) while failing input i is being shrunk. */
  index: 0,
  /** Bumped with every write (the watchdog's heartbeat). */
  tick: 1,
  /** Length of the input. */
  length: 2,
} as const;

/** Bytes of the progress header. */
export const PROGRESS_HEADER = 12;

/** Most input bytes the progress file keeps. */
export const INPUT_CAP = 4 << 20;

/** The job a child runs (passed as JSON in `OVNTS_FUZZ_JOB`). */
export interface WorkerJob {
  /** A target's name, or the absolute path of a module whose default export is a target. */
  target: string;
  seed: number;
  /** First input index. */
  start: number;
  /** Inputs to draw after the corpus (0: the corpus only). */
  maxExecs: number;
  /** Stop drawing after this long. */
  timeMs: number;
  /** Corpus files, run first (inputs 0..n-1; drawn input k is then input n + k). */
  corpus: string[];
  shrinkMs: number;
  /** The progress file. */
  progressFile: string;
}

/** A message from a child (over its IPC channel); inputs travel as hex. */
export type WorkerMessage =
  | { type: 'failure'; index: number; kind: 'untyped' | 'property' | 'nondeterministic'; detail: string; input: string }
  | { type: 'done'; execs: number; ms: number; slowestMs: number; slowestIndex: number };
