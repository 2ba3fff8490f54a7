/**
 * pcap read throughput: a 300,000-frame IMIX capture generated once (7 x 60, 4 x 590, 1 x 1514
 * captured bytes), read whole from memory with `readCapture(buf)` (frames are zero-copy
 * subarrays) against a straightforward reader (`readUInt32*` per record field, a `Buffer.from`
 * copy per frame), then streamed from a temporary file with `openCaptureFile(path)` against a
 * straightforward stream reader (`Buffer.concat` of the leftover and each chunk, a copy per
 * frame). Every reader hands out the same fields (bytes, original length, timestamp in ns), which
 * is checked over the whole file before timing. Each pass touches every frame (its length and
 * first byte). MB/s counts file bytes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCaptureFile, PcapWriter, readCapture } from '@ovnts/capture';
import { readPcapCopying, streamPcapCopying } from './baseline-decoder.js';
import { imixFrames } from './frames.js';
import { check, measureAll, measureAsync, table, type Measurement } from './harness.js';

const FRAMES = 300_000;
const w = new PcapWriter({ resolution: 'us' });
const frames = imixFrames(FRAMES);
let ts = 1_700_000_000_000_000_000n;
for (const data of frames) {
  w.write({ data, timestampNs: ts });
  ts += 1_234_000n;
}
const file = w.toBuffer();
const MB = file.length / 1e6;
console.log(`\npcap read: ${FRAMES.toLocaleString('en-US')} IMIX frames, ${MB.toFixed(1)} MB (avg ${(file.length / FRAMES).toFixed(0)} B per record incl. 16-byte header)`);

// Same frames, same fields, from both readers.
{
  const a = readCapture(file)[Symbol.iterator]();
  const b = readPcapCopying(file);
  let n = 0;
  for (;;) {
    const x = a.next();
    const y = b.next();
    check(x.done === y.done, `frame ${n}: readers disagree on the number of frames`);
    if (x.done || y.done) break;
    check(Buffer.compare(x.value.data, y.value.data) === 0 && x.value.origLen === y.value.origLen && x.value.timestampNs === y.value.timestampNs, `frame ${n}: readers disagree`);
    n++;
  }
  check(n === FRAMES, `read ${n} frames, wrote ${FRAMES}`);
}

let sink = 0;
const passOurs = (): void => {
  let s = 0;
  for (const f of readCapture(file)) s += f.data.length + f.data[0]!;
  sink += s;
};
const passBase = (): void => {
  let s = 0;
  for (const f of readPcapCopying(file)) s += f.data.length + f.data[0]!;
  sink += s;
};
// One operation = one pass over the file; converted to frames/s and MB/s.
const passes = (fn: () => void) => (n: number): void => {
  for (let i = 0; i < n; i++) fn();
};
const perFrame = (m: Measurement): Measurement => ({ name: m.name, opsPerSec: m.opsPerSec * FRAMES, extra: `${(m.opsPerSec * MB).toFixed(0)} MB/s` });
const [memBase, memOurs] = measureAll(
  [
    { name: 'baseline: readUInt32* + Buffer.from copy per frame', fn: passes(passBase), ops: 1, warmup: 1 },
    { name: 'ours: readCapture(buf), zero-copy subarrays', fn: passes(passOurs), ops: 1, warmup: 1 },
  ],
  5,
).map(perFrame) as [Measurement, Measurement];

const dir = mkdtempSync(join(tmpdir(), 'ovnts-bench-'));
const path = join(dir, 'imix.pcap');
let streamBase: Measurement;
let streamOurs: Measurement;
try {
  writeFileSync(path, file);
  let n = 0;
  for await (const f of openCaptureFile(path)) n += f.data.length > 0 ? 1 : 0;
  check(n === FRAMES, `streaming reader saw ${n} frames, wrote ${FRAMES}`);
  let m = 0;
  for await (const f of streamPcapCopying(path)) m += f.data.length > 0 ? 1 : 0;
  check(m === FRAMES, `streaming baseline saw ${m} frames, wrote ${FRAMES}`);
  const sb = await measureAsync('baseline: stream, concat leftover + copy per frame', FRAMES, async () => {
    let s = 0;
    for await (const f of streamPcapCopying(path)) s += f.data.length + f.data[0]!;
    sink += s;
  }, { runs: 3 });
  const so = await measureAsync('ours: openCaptureFile(path), 1 MiB chunks', FRAMES, async () => {
    let s = 0;
    for await (const f of openCaptureFile(path)) s += f.data.length + f.data[0]!;
    sink += s;
  }, { runs: 3 });
  streamBase = { ...sb, extra: `${((sb.opsPerSec / FRAMES) * MB).toFixed(0)} MB/s` };
  streamOurs = { ...so, extra: `${((so.opsPerSec / FRAMES) * MB).toFixed(0)} MB/s` };
} finally {
  rmSync(dir, { recursive: true, force: true });
}

table('pcap read (frames/s and MB/s of file, one core; the file is in the page cache)', [
  { m: memBase },
  { m: memOurs, vs: memBase },
  { m: streamBase },
  { m: streamOurs, vs: streamBase },
]);
if (sink === 42) console.log('');
