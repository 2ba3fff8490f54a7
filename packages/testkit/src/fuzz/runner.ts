/**
 * Running fuzz targets: each run is a child process (`worker.ts`, with a heap limit) watched by a
 * watchdog. Before each input the child rewrites a progress file with the input's index and
 * bytes; when no new input starts within `hangMs`, the watchdog kills the child, records a `hang`
 * failure with those bytes, and (with time left) starts a new child at the next input. A child
 * that dies (out of memory, a fatal error) is a `crash` failure the same way; a process rather
 * than a worker thread, because V8 aborts the whole process on some out-of-memory paths. Targets
 * are the files of `targets/` (compiled: the child runs `dist/`); the corpus of inputs that once
 * failed is `fixtures/fuzz/<target>/`, one input per file, replayed by `replayCorpus`.
 */
import { fork } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../oracles.js';
import { INPUT_CAP, PROGRESS, PROGRESS_HEADER, type WorkerJob, type WorkerMessage } from './protocol.js';

/** Where the compiled harness lives (the worker runs compiled code, also when tests run the sources). */
function distDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.replace(/([\\/])src([\\/]fuzz)$/, '$1dist$2');
}

/** Every fuzz target, by name (the files of `targets/`). */
export function fuzzTargetNames(): string[] {
  return readdirSync(join(distDir(), 'targets'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** The corpus folder of a target. */
export function corpusDir(target: string): string {
  return join(repoRoot, 'fixtures', 'fuzz', target);
}

/** The corpus files of a target (inputs that once failed), sorted. */
export function corpusFiles(target: string): string[] {
  const d = corpusDir(target);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => !f.startsWith('.') && f !== 'README.md')
    .sort()
    .map((f) => join(d, f));
}

/** One input that broke a property. */
export interface FuzzFailure {
  target: string;
  kind: 'untyped' | 'property' | 'nondeterministic' | 'hang' | 'crash';
  detail: string;
  /** Where the input came from: `seed S input I`, or a corpus file. */
  source: string;
  /** The input (shrunk for the first three kinds). */
  input: Uint8Array;
}

/** What a run did. */
export interface FuzzReport {
  target: string;
  seed: number;
  /** Inputs run (each twice: determinism). */
  execs: number;
  ms: number;
  /** The slowest input that finished, and its time. */
  slowestMs: number;
  slowestSource: string;
  failures: FuzzFailure[];
}

/** Options of `fuzzTarget` and `replayCorpus`. */
export interface FuzzOptions {
  /** Seed of the run (default 14). */
  seed?: number;
  /** Wall-clock budget (default 3 s). */
  timeMs?: number;
  /** Most inputs to draw (default unlimited within `timeMs`). */
  maxExecs?: number;
  /** An input running longer than this is a hang (default 5 s). */
  hangMs?: number;
  /** Time spent shrinking a failing input (default 2 s). */
  shrinkMs?: number;
  /** Heap limit of the worker in MiB (default 1024). */
  memoryMb?: number;
  /** Stop at the first failure (default false). */
  stopOnFailure?: boolean;
}

interface WorkerRun {
  execs: number;
  slowestMs: number;
  slowestIndex: number;
  failures: FuzzFailure[];
  /** Index to resume at (after a hang or crash), or undefined when the child finished. */
  resumeAt: number | undefined;
}

function sourceOf(target: string, seed: number, i: number, corpus: string[]): string {
  return i < corpus.length ? corpus[i]! : `target ${target} seed ${seed} input ${i - corpus.length}`;
}

/** The progress file's header and input bytes (see protocol.ts), or undefined before the first write. */
function readProgress(file: string): { index: number; tick: number; input: Uint8Array } | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(PROGRESS_HEADER);
    if (readSync(fd, head, 0, PROGRESS_HEADER, 0) < PROGRESS_HEADER) return undefined;
    const len = Math.min(head.readInt32LE(PROGRESS.length * 4), INPUT_CAP);
    const input = Buffer.alloc(Math.max(0, len));
    if (len > 0) readSync(fd, input, 0, len, PROGRESS_HEADER);
    return { index: head.readInt32LE(PROGRESS.index * 4), tick: head.readInt32LE(PROGRESS.tick * 4), input: new Uint8Array(input) };
  } finally {
    closeSync(fd);
  }
}

function runChild(target: string, job: WorkerJob, hangMs: number, memoryMb: number): Promise<WorkerRun> {
  const failures: FuzzFailure[] = [];
  rmSync(job.progressFile, { force: true }); // the previous child's progress is not this one's
  const child = fork(join(distDir(), 'worker.js'), [], {
    env: { ...process.env, OVNTS_FUZZ_JOB: JSON.stringify(job) },
    execArgv: [`--max-old-space-size=${memoryMb}`],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise((resolve) => {
    let lastTick = -1;
    let lastChange = Date.now();
    let lastIndex = job.start - 1;
    let settled = false;
    const finish = (r: WorkerRun): void => {
      if (settled) return;
      settled = true;
      clearInterval(watch);
      resolve(r);
    };
    /** The input the child was on (index and bytes), from its progress file. */
    const current = (): { index: number; input: Uint8Array } => {
      const p = readProgress(job.progressFile);
      if (!p) return { index: lastIndex + 1, input: new Uint8Array(0) };
      return { index: p.index <= -2 ? -p.index - 2 : p.index, input: p.input };
    };
    const stopped = (kind: 'hang' | 'crash', detail: string): void => {
      if (!readProgress(job.progressFile)) {
        // It never reached an input (the target does not load): no point starting another.
        failures.push({ target, kind, detail: `before the first input: ${detail}`, source: `target ${target}`, input: new Uint8Array(0) });
        finish({ execs: 0, slowestMs: 0, slowestIndex: -1, failures, resumeAt: undefined });
        return;
      }
      const c = current();
      failures.push({ target, kind, detail, source: sourceOf(target, job.seed, c.index, job.corpus), input: c.input });
      finish({ execs: Math.max(0, c.index - job.start), slowestMs: 0, slowestIndex: -1, failures, resumeAt: c.index + 1 });
    };
    const watch = setInterval(() => {
      const p = readProgress(job.progressFile);
      if (p && p.tick !== lastTick) {
        lastTick = p.tick;
        lastChange = Date.now();
        if (p.index >= 0) lastIndex = p.index;
        return;
      }
      // Loading the target's modules (first input) and shrinking a failure get longer.
      const limit = !p ? hangMs + 60_000 : p.index <= -2 ? hangMs + job.shrinkMs : hangMs;
      if (Date.now() - lastChange < limit) return;
      const ms = Date.now() - lastChange;
      child.kill('SIGKILL');
      stopped('hang', `no result after ${ms} ms (bound ${hangMs} ms)`);
    }, 100);
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'failure') {
        failures.push({ target, kind: m.kind, detail: m.detail, source: sourceOf(target, job.seed, m.index, job.corpus), input: new Uint8Array(Buffer.from(m.input, 'hex')) });
      } else finish({ execs: m.execs, slowestMs: m.slowestMs, slowestIndex: m.slowestIndex, failures, resumeAt: undefined });
    });
    child.on('exit', (code, signal) => {
      if (settled) return;
      const why = stderr.includes('heap out of memory') ? 'out of memory' : signal ? `killed by ${signal}` : `exit status ${code}`;
      stopped('crash', `the fuzzing process died (${why})${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
    });
  });
}

/** Run `corpus`, then draw inputs while `opts.timeMs` lasts (`draw` false: the corpus only). */
async function run(target: string, corpus: string[], draw: boolean, opts: FuzzOptions): Promise<FuzzReport> {
  const seed = (opts.seed ?? 14) >>> 0;
  const timeMs = opts.timeMs ?? 3000;
  const t0 = Date.now();
  const report: FuzzReport = { target, seed, execs: 0, ms: 0, slowestMs: 0, slowestSource: '', failures: [] };
  let start = 0;
  const tmp = mkdtempSync(join(tmpdir(), 'ovnts-fuzz-'));
  const progressFile = join(tmp, 'progress');
  try {
    for (;;) {
      const left = timeMs - (Date.now() - t0);
      if (start >= corpus.length && (!draw || left <= 0)) break;
      const job = {
        target,
        seed,
        start,
        maxExecs: draw ? (opts.maxExecs ?? Number.MAX_SAFE_INTEGER) : 0,
        timeMs: Math.max(0, left),
        corpus,
        shrinkMs: opts.shrinkMs ?? 2000,
      };
      const r = await runChild(target, { ...job, progressFile }, opts.hangMs ?? 5000, opts.memoryMb ?? 1024);
      report.execs += r.execs;
      if (r.slowestMs > report.slowestMs) {
        report.slowestMs = r.slowestMs;
        report.slowestSource = sourceOf(target, seed, r.slowestIndex, corpus);
      }
      report.failures.push(...r.failures);
      if (r.resumeAt === undefined || (opts.stopOnFailure && report.failures.length)) break;
      start = r.resumeAt;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  report.ms = Date.now() - t0;
  return report;
}

/**
 * Fuzz `target`: its corpus first (unless `opts.corpus` is false), then generated inputs for
 * `opts.timeMs` (see `FuzzOptions`), in one child process.
 */
export function fuzzTarget(target: string, opts: FuzzOptions & { corpus?: boolean } = {}): Promise<FuzzReport> {
  return run(target, opts.corpus === false ? [] : corpusFiles(target), true, opts);
}

/** Run every corpus file of `target` through it (each must keep every property), nothing else. */
export function replayCorpus(target: string, opts: FuzzOptions = {}): Promise<FuzzReport> {
  const files = corpusFiles(target);
  if (files.length === 0) return Promise.resolve({ target, seed: 0, execs: 0, ms: 0, slowestMs: 0, slowestSource: '', failures: [] });
  return run(target, files, false, opts);
}

/** Save a failing input into the target's corpus folder (named by its digest); returns the path. */
export function saveToCorpus(f: FuzzFailure): string {
  const d = corpusDir(f.target);
  mkdirSync(d, { recursive: true });
  const path = join(d, `${f.kind}-${createHash('sha1').update(f.input).digest('hex').slice(0, 12)}`);
  writeFileSync(path, f.input);
  return path;
}

/** A failure as text: what broke, where the input came from, and the input (printable or hex). */
export function formatFailure(f: FuzzFailure): string {
  const text = Buffer.from(f.input).toString('utf8');
  const printable = /^[\t\n\r\x20-\x7e\u00a0-\uffff]*$/.test(text) && !text.includes('\ufffd');
  const shown = printable ? JSON.stringify(text.length > 400 ? `${text.slice(0, 400)}...` : text) : `hex ${Buffer.from(f.input.subarray(0, 256)).toString('hex')}${f.input.length > 256 ? '...' : ''}`;
  return `${f.target}: ${f.kind} (${f.source}, ${f.input.length} bytes): ${f.detail}\n  input: ${shown}`;
}
