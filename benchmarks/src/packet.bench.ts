/**
 * Parse + extract: the headers of a Geneve-encapsulated TCP frame (outer Ethernet/IPv4/UDP/
 * Geneve with OVN's option, inner Ethernet/IPv4/TCP), against baseline A (`Buffer.readUInt*`, an
 * object per header) and baseline B (`buffer-layout`). Three of ours:
 *  - views: each layer's view `check()`, `reset()` and getters into a preallocated result;
 *  - views with the allocation-free lane getters (`dstHi16`/`dstLo32`, `srcInt32`, `seqInt32`...);
 *  - the switch's datapath, the line the issue targets are judged on: `decapsulate()` (with
 *    checksum verification) and `extractFlowKey()` of the inner frame into a `FlowKey` with the
 *    tunnel metadata, plus the seven compared fields a switch does not keep read on the side
 *    (see `extractDatapath` in extract.ts).
 * All five extract the same 31 fields; that is checked on all 1024 frames before anything is
 * timed. Then the heap and GC activity over one million frames of each.
 *
 * Diagnostic: the same `ours` loop is run once more in a child process with V8's cumulative
 * inlining budget raised (`--max-inlined-bytecode-size-cumulative`, default 920 bytes of
 * bytecode). With the default budget TurboFan stops inlining the view getters part-way through
 * `extractGeneveTcp`; each getter left as a call returns its number boxed when it is not a small
 * integer (MACs, and IPv4 addresses and TCP sequence numbers of 2^31 and up), which is where both
 * the time and the per-frame allocation go. The child's figures show what the same code does
 * when everything is inlined; they are reported, never used for the targets.
 */
import { WireErrorCode } from '@ovnts/packet';
import { decodeWithBuffer, decodeWithBufferLayout, type BufferLayoutFrame, type DecodedFrame } from './baseline-decoder.js';
import {
  DatapathFields,
  extractDatapath,
  extractGeneveTcp,
  extractGeneveTcpLanes,
  GeneveTcpHeaders,
  normalizeBuffer,
  normalizeBufferLayout,
  normalizeDatapath,
  normalizeOurs,
} from './extract.js';
import { FRAME_COUNT, geneveTcpFrames } from './frames.js';
import { allocation, allocationTable, check, measureAll, table, target, type Measurement } from './harness.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

const MASK = FRAME_COUNT - 1;
const frames = geneveTcpFrames();
const out = new GeneveTcpHeaders();
const outLanes = new GeneveTcpHeaders();
const dp = new DatapathFields();

// The five decoders must agree on every frame before any timing.
for (let i = 0; i < FRAME_COUNT; i++) {
  const f = frames[i]!;
  check(extractGeneveTcp(f, 0, f.length, out) === WireErrorCode.Ok, `frame ${i}: our extraction failed`);
  const ours = normalizeOurs(out);
  check(isDeepStrictEqual(ours, normalizeBuffer(decodeWithBuffer(f))), `frame ${i}: baseline A extracts different fields`);
  check(isDeepStrictEqual(ours, normalizeBufferLayout(decodeWithBufferLayout(f))), `frame ${i}: baseline B extracts different fields`);
  check(extractGeneveTcpLanes(f, 0, f.length, outLanes) === WireErrorCode.Ok && isDeepStrictEqual(normalizeOurs(outLanes), ours), `frame ${i}: the lane getters extract different fields`);
  check(extractDatapath(f, 0, f.length, dp) === WireErrorCode.Ok, `frame ${i}: datapath extraction failed`);
  check(isDeepStrictEqual(normalizeDatapath(dp), ours), `frame ${i}: the datapath (decapsulate + extractFlowKey) extracts different fields`);
}
const bytesPerFrame = frames.reduce((n, f) => n + f.length, 0) / FRAME_COUNT;
console.log(`\nparse+extract: ${FRAME_COUNT} distinct Geneve/TCP frames (avg ${bytesPerFrame.toFixed(1)} B: outer eth/IPv4/UDP/Geneve+OVN option, inner eth/IPv4/TCP), fields checked equal across all five decoders`);

// Results escape to module scope so no decoder's work can be optimised away. The loops fold a
// 32-bit field of each result into an int32 checksum (`| 0`): a running float64 sum of values up
// to 2^32 can itself cost a heap number per frame in the loop, which is not the decoders' doing.
let sink = 0;
let lastA: DecodedFrame | undefined;
let lastB: BufferLayoutFrame | undefined;

function runOurs(n: number): void {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const f = frames[i & MASK]!;
    s = (s + extractGeneveTcp(f, 0, f.length, out) + out.tcpSeq) | 0;
  }
  sink += s;
}

function runLanes(n: number): void {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const f = frames[i & MASK]!;
    s = (s + extractGeneveTcpLanes(f, 0, f.length, outLanes) + outLanes.tcpSeq) | 0;
  }
  sink += s;
}

function runDatapath(n: number): void {
  let s = 0;
  const x = dp.extra;
  for (let i = 0; i < n; i++) {
    const f = frames[i & MASK]!;
    s = (s + extractDatapath(f, 0, f.length, dp) + x[7]!) | 0;
  }
  sink += s;
}

function runA(n: number): void {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = decodeWithBuffer(frames[i & MASK]!);
    s = (s + d.inner.tcp.seq) | 0;
    lastA = d;
  }
  sink += s;
}

function runB(n: number): void {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = decodeWithBufferLayout(frames[i & MASK]!);
    s = (s + d.t.seq) | 0;
    lastB = d;
  }
  sink += s;
}

const DIAG_FLAG = '--max-inlined-bytecode-size-cumulative=5000';
if (process.env.BENCH_INLINE_DIAG === '1') {
  const [base, m] = measureAll(
    [
      { name: 'baseline A', fn: runA, ops: 400_000 },
      { name: 'ours', fn: runOurs, ops: 1_000_000, warmup: 1_000_000 },
    ],
    5,
  ) as [Measurement, Measurement];
  const h = allocation(1_000_000, () => runOurs(1_000_000));
  console.log(JSON.stringify({ opsPerSec: m.opsPerSec, vsA: m.opsPerSec / base.opsPerSec, bytesPerFrame: h.allocated / 1_000_000, gcs: h.gcs }));
  process.exit(0);
}

const [a, b, ours, lanes, datapath] = measureAll(
  [
    { name: 'baseline A: Buffer.readUInt*, object per header', fn: runA, ops: 400_000 },
    { name: 'baseline B: buffer-layout structs', fn: runB, ops: 200_000 },
    { name: 'ours: views check+reset, preallocated result', fn: runOurs, ops: 1_000_000, warmup: 1_000_000 },
    { name: 'ours: views, allocation-free lane getters', fn: runLanes, ops: 1_000_000, warmup: 1_000_000 },
    { name: 'ours: decapsulate + extractFlowKey(inner) (switch datapath)', fn: runDatapath, ops: 1_000_000, warmup: 1_000_000 },
  ],
  7,
) as [Measurement, Measurement, Measurement, Measurement, Measurement];
table('parse+extract Geneve-encapsulated TCP frame (frames/s, one core)', [{ m: a }, { m: b }, { m: ours, vs: [a, b] }, { m: lanes, vs: [a, b] }, { m: datapath, vs: [a, b] }]);

// Heap and GC activity over one million frames, each loop already optimised.
const N = 1_000_000;
const heapOurs = allocation(N, () => runOurs(N));
const heapLanes = allocation(N, () => runLanes(N));
const heapDatapath = allocation(N, () => runDatapath(N));
const heapA = allocation(N, () => runA(N));
const heapB = allocation(N, () => runB(N));
allocationTable(`heap over ${N.toLocaleString('en-US')} frames, parse+extract hot loop (full GC before; allocated = GC-profiler accounting)`, [
  { name: 'baseline A: Buffer.readUInt*', a: heapA },
  { name: 'baseline B: buffer-layout', a: heapB },
  { name: 'ours: views', a: heapOurs },
  { name: 'ours: views, lane getters', a: heapLanes },
  { name: 'ours: decapsulate + extractFlowKey', a: heapDatapath },
]);

const child = spawnSync(process.execPath, ['--expose-gc', DIAG_FLAG, fileURLToPath(import.meta.url)], {
  env: { ...process.env, BENCH_INLINE_DIAG: '1', BENCH_TARGETS: '' },
  encoding: 'utf8',
});
const diag = child.status === 0 ? (JSON.parse(child.stdout.trim().split('\n').pop()!) as { opsPerSec: number; vsA: number; bytesPerFrame: number; gcs: number }) : undefined;
console.log(`\ndiagnostic (not a target): the same ours loop under node ${DIAG_FLAG}:`);
console.log(
  diag
    ? `  ${(diag.opsPerSec / 1e6).toFixed(2)} M frames/s (${diag.vsA.toFixed(1)}x baseline A measured alongside it), ${diag.bytesPerFrame.toFixed(2)} B/frame, ${diag.gcs} GCs over 1M frames`
    : `  child failed: ${child.stderr}`,
);

console.log('');
console.log(
  `  views (not the target line): ${(ours.opsPerSec / a.opsPerSec).toFixed(1)}x baseline A, ${(ours.opsPerSec / b.opsPerSec).toFixed(1)}x baseline B, ` +
    `${(ours.opsPerSec / 1e6).toFixed(2)} M frames/s, ${(heapOurs.allocated / N).toFixed(2)} B/frame, ${heapOurs.gcs} GCs`,
);
console.log(
  `  views with lane getters (not the target line): ${(lanes.opsPerSec / a.opsPerSec).toFixed(1)}x baseline A, ${(lanes.opsPerSec / b.opsPerSec).toFixed(1)}x baseline B, ` +
    `${(lanes.opsPerSec / 1e6).toFixed(2)} M frames/s, ${(heapLanes.allocated / N).toFixed(2)} B/frame, ${heapLanes.gcs} GCs`,
);
// The targets are judged on the switch's own datapath: decapsulate + extractFlowKey(inner).
const worst = Math.min(datapath.opsPerSec / a.opsPerSec, datapath.opsPerSec / b.opsPerSec);
target(
  'parse+extract >= 5x baseline',
  worst >= 5,
  `decapsulate + extractFlowKey: ${(datapath.opsPerSec / a.opsPerSec).toFixed(1)}x baseline A (Buffer.readUInt*), ${(datapath.opsPerSec / b.opsPerSec).toFixed(1)}x baseline B (buffer-layout)`,
);
target('parse+extract >= 5 M frames/s on one core', datapath.opsPerSec >= 5e6, `decapsulate + extractFlowKey: ${(datapath.opsPerSec / 1e6).toFixed(2)} M frames/s`);
target(
  'zero allocation per frame, parse+extract hot loop',
  heapDatapath.allocated / N < 1 && heapDatapath.gcs === 0,
  `decapsulate + extractFlowKey: ${(heapDatapath.allocated / N).toFixed(2)} B/frame allocated over 1M frames, ${heapDatapath.gcs} GCs`,
);
if (sink === 42 && lastA && lastB) console.log('');
