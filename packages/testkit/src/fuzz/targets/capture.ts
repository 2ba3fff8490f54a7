/**
 * pcap and pcapng files: captures of random frames in every format variant our writers produce
 * (both byte orders, micro and nanosecond, several pcapng interfaces), mutated, read whole
 * (`readCapture`) and streamed in chunks (`readCaptureStream`); both readers must hand out the
 * same frames and stop with the same error.
 */
import { CaptureFormatError, CaptureParser, readCapture } from '@ovnts/capture';
import { randomFrame } from '../../corpus.js';
import { captureBytes } from '../../tshark.js';
import { defineTarget, FuzzPropertyError, mutateBytes } from '../harness.js';

interface Seen {
  frames: [number, number, string, number][];
  error?: string;
}

function whole(b: Uint8Array): Seen {
  const frames: Seen['frames'] = [];
  try {
    for (const f of readCapture(b)) frames.push([f.data.length, f.origLen, String(f.timestampNs), f.linkType]);
    return { frames };
  } catch (e) {
    if (e instanceof CaptureFormatError) return { frames, error: e.message };
    throw e;
  }
}

/** The incremental parser fed `b` in pieces of `chunk` bytes (as the stream reader feeds it). */
function pieces(b: Uint8Array, chunk: number): Seen {
  const frames: Seen['frames'] = [];
  const p = new CaptureParser();
  let buf = new Uint8Array(0);
  let fed = 0;
  try {
    for (;;) {
      const eof = fed >= b.length;
      const n = p.step(buf, 0, buf.length, eof);
      if (n < 0) return { frames };
      if (n > 0) {
        if (p.frame) frames.push([p.frame.data.length, p.frame.origLen, String(p.frame.timestampNs), p.frame.linkType]);
        buf = buf.slice(n);
        continue;
      }
      const next = b.subarray(fed, fed + Math.max(chunk, p.need - buf.length));
      fed += next.length;
      const joined = new Uint8Array(buf.length + next.length);
      joined.set(buf);
      joined.set(next, buf.length);
      buf = joined;
    }
  } catch (e) {
    if (e instanceof CaptureFormatError) return { frames, error: e.message };
    throw e;
  }
}

export default defineTarget({
  name: 'capture',
  about: 'pcap/pcapng files read whole and streamed in chunks (the two must agree)',
  generate(r) {
    const frames = Array.from({ length: r.int(0, 4) }, (_, i) => ({ data: randomFrame(r).data, timestampNs: BigInt(r.u32()) * 1000n + BigInt(i) }));
    const format = r.chance(0.5) ? 'pcapng' : 'pcap';
    const bytes = captureBytes(frames, {
      format,
      byteOrder: r.chance(0.5) ? 'le' : 'be',
      resolution: r.chance(0.5) ? 'us' : 'ns',
      ...(format === 'pcapng' ? { interfaces: r.int(1, 3) } : {}),
    });
    return r.chance(0.85) ? mutateBytes(r, bytes, 5, 1 << 14) : bytes;
  },
  run(b) {
    const a = whole(b);
    // Chunk sizes from the input itself, so the run is deterministic.
    for (const chunk of [1, 7, 64 + (b.length % 61)]) {
      const s = pieces(b, chunk);
      if (JSON.stringify(s) !== JSON.stringify(a)) {
        throw new FuzzPropertyError(`streaming in ${chunk}-byte chunks gives ${JSON.stringify(s).slice(0, 300)}, reading whole gives ${JSON.stringify(a).slice(0, 300)}`);
      }
    }
    return a;
  },
});
