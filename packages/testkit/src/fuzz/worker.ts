/**
 * The fuzzing child process (started by `runner.ts` with a heap limit): runs one target over
 * generated inputs (or corpus files), checking each with `execInput`, and reports failures
 * (shrunk) to the parent over IPC. Before each input it rewrites the progress file with the
 * input's index and bytes (synchronously: a hung or crashed child has always said which input
 * it was on), so the parent, which kills it after a time bound, knows exactly what hung, and an
 * out-of-memory abort takes down only this process.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Rng } from '../corpus.js';
import { execInput, inputSeed, shrinkInput, type FuzzTarget } from './harness.js';
import { INPUT_CAP, PROGRESS, PROGRESS_HEADER, type WorkerJob, type WorkerMessage } from './protocol.js';

const job = JSON.parse(process.env.OVNTS_FUZZ_JOB ?? '{}') as WorkerJob;
const send = (m: WorkerMessage): Promise<void> => new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));

// A target by name (a file of targets/), or by absolute path (the harness's own tests).
const spec = isAbsolute(job.target) ? pathToFileURL(job.target).href : `./targets/${job.target}.js`;
const t = ((await import(spec)) as { default: FuzzTarget }).default;
const fd = openSync(job.progressFile, 'w');
const head = Buffer.alloc(PROGRESS_HEADER);
let tick = 0;
function progress(index: number, input: Uint8Array): void {
  head.writeInt32LE(index, PROGRESS.index * 4);
  head.writeInt32LE(++tick, PROGRESS.tick * 4);
  head.writeInt32LE(input.length, PROGRESS.length * 4);
  writeSync(fd, head, 0, PROGRESS_HEADER, 0);
  const n = Math.min(input.length, INPUT_CAP);
  if (n > 0) writeSync(fd, input, 0, n, PROGRESS_HEADER);
}

const t0 = Date.now();
let execs = 0;
let slowestMs = 0;
let slowestIndex = -1;
const nc = job.corpus.length;
const n = nc + job.maxExecs;
for (let i = job.start; i < n; i++) {
  if (i >= nc && Date.now() - t0 >= job.timeMs) break;
  const input = i < nc ? new Uint8Array(readFileSync(job.corpus[i]!)) : t.generate(new Rng(inputSeed(job.seed, i - nc)));
  progress(i, input);
  const s = Date.now();
  const o = execInput(t, input);
  const ms = Date.now() - s;
  execs++;
  if (ms > slowestMs) {
    slowestMs = ms;
    slowestIndex = i;
  }
  if (!o.ok) {
    progress(-(i + 2), input); // shrinking input i: the parent allows it longer
    const small = i < nc ? input : shrinkInput(t, input, o.kind, job.shrinkMs);
    await send({ type: 'failure', index: i, kind: o.kind, detail: o.detail, input: Buffer.from(small).toString('hex') });
  }
}
closeSync(fd);
await send({ type: 'done', execs, ms: Date.now() - t0, slowestMs, slowestIndex });
process.disconnect?.();
