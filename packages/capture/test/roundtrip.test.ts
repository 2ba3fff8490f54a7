import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureFormatError, PcapngWriter, PcapWriter, readCapture, readCaptureStream, type CaptureFrame } from '@ovnts/capture';
import { boundaries, readAll, truncationSweep } from './build.js';

const arbFrame = fc.record({
  data: fc.uint8Array({ maxLength: 200 }),
  extra: fc.nat(100),
  timestampNs: fc.bigInt({ min: 0n, max: 0xffff_ffffn * 1_000_000_000n + 999_999_999n }),
});

interface Spec {
  format: 'pcap' | 'pcapng';
  byteOrder: 'le' | 'be';
  ns: boolean;
  linkTypes: number[];
  frames: { data: Uint8Array; extra: number; timestampNs: bigint; ifid: number }[];
}

const arbSpec: fc.Arbitrary<Spec> = fc
  .record({
    format: fc.constantFrom('pcap' as const, 'pcapng' as const),
    byteOrder: fc.constantFrom('le' as const, 'be' as const),
    ns: fc.boolean(),
    linkTypes: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 4 }),
    frames: fc.array(fc.record({ f: arbFrame, ifid: fc.nat() }), { maxLength: 12 }),
  })
  .map((s) => ({
    ...s,
    linkTypes: s.format === 'pcap' ? s.linkTypes.slice(0, 1) : s.linkTypes,
    frames: s.frames.map(({ f, ifid }) => ({ ...f, ifid: s.format === 'pcap' ? 0 : ifid % s.linkTypes.length })),
  }));

function write(s: Spec): Buffer {
  if (s.format === 'pcap') {
    const w = new PcapWriter({ byteOrder: s.byteOrder, resolution: s.ns ? 'ns' : 'us', linkType: s.linkTypes[0]! });
    for (const f of s.frames) w.write({ data: f.data, origLen: f.data.length + f.extra, timestampNs: f.timestampNs });
    return w.toBuffer();
  }
  const w = new PcapngWriter({ byteOrder: s.byteOrder, interfaces: s.linkTypes.map((linkType, i) => ({ linkType, tsresol: s.ns ? 'ns' : 'us', name: `if${i}` })) });
  for (const f of s.frames) w.write({ data: f.data, origLen: f.data.length + f.extra, timestampNs: f.timestampNs, interfaceId: f.ifid });
  return w.toBuffer();
}

function expectedFrames(s: Spec): CaptureFrame[] {
  return s.frames.map((f) => ({
    data: f.data,
    origLen: f.data.length + f.extra,
    timestampNs: s.ns ? f.timestampNs : (f.timestampNs / 1000n) * 1000n,
    interfaceId: f.ifid,
    linkType: s.linkTypes[f.ifid]!,
  }));
}

/** Split `buf` at random cut points (as copies, like a stream would deliver). */
function chunk(buf: Uint8Array, cuts: number[]): Uint8Array[] {
  const pts = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...pts, buf.length]) {
    out.push(buf.slice(prev, p));
    prev = p;
  }
  return out;
}

async function readStreamAll(chunks: Uint8Array[]): Promise<{ frames: CaptureFrame[]; error?: CaptureFormatError }> {
  const frames: CaptureFrame[] = [];
  async function* src() {
    for (const c of chunks) yield c;
  }
  try {
    for await (const f of readCaptureStream(src())) frames.push({ ...f, data: Uint8Array.from(f.data) });
  } catch (e) {
    if (e instanceof CaptureFormatError) return { frames, error: e };
    throw e;
  }
  return { frames };
}

describe('round trip writer -> reader', () => {
  it('reads back random frames, timestamps and link types in both formats, orders and resolutions', () => {
    fc.assert(
      fc.property(arbSpec, (s) => {
        const got = readAll(write(s));
        expect(got.error).toBeUndefined();
        expect(got.frames).toEqual(expectedFrames(s));
      }),
      { numRuns: 300 },
    );
  });

  it('truncation sweep over random written files', () => {
    fc.assert(
      fc.property(arbSpec, (s) => {
        const buf = write(s);
        const { ends, framesAt } = boundaries(buf);
        const all = expectedFrames(s);
        truncationSweep(buf, ends, (k) => all.slice(0, framesAt[k]));
      }),
      { numRuns: 40 },
    );
  });
});

describe('robustness', () => {
  const prefixes = [
    Uint8Array.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]),
    Uint8Array.from([0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4]),
    Uint8Array.from([0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0]),
    Uint8Array.from([0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0x1c, 0x1a, 0x2b, 0x3c, 0x4d, 0, 1]),
    new Uint8Array(0),
  ];
  it('arbitrary bytes (also behind valid magics) never throw anything but CaptureFormatError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 400 }), (pre, tail) => {
        const buf = new Uint8Array(pre.length + tail.length);
        buf.set(pre);
        buf.set(tail, pre.length);
        readAll(buf); // rethrows anything that is not a CaptureFormatError
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated valid files never throw anything but CaptureFormatError', () => {
    fc.assert(
      fc.property(arbSpec, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (s, muts) => {
        const buf = write(s);
        for (const [at, v] of muts) buf[at % buf.length] = v;
        readAll(buf);
      }),
      { numRuns: 500 },
    );
  });
});

describe('streaming reader', () => {
  it('equals the sync reader for random chunkings, errors included', async () => {
    await fc.assert(
      fc.asyncProperty(arbSpec, fc.array(fc.nat(), { maxLength: 20 }), fc.nat(), async (s, cuts, cutEnd) => {
        const full = write(s);
        const buf = cutEnd % 3 === 0 ? full.subarray(0, cutEnd % (full.length + 1)) : full;
        const sync = readAll(buf);
        const str = await readStreamAll(chunk(buf, cuts));
        expect(str.frames).toEqual(sync.frames);
        expect(str.error?.message).toEqual(sync.error?.message);
      }),
      { numRuns: 300 },
    );
  });

  it('byte-by-byte chunks work, and mutated files give the same errors as the sync reader', async () => {
    await fc.assert(
      fc.asyncProperty(arbSpec, fc.nat(), fc.integer({ min: 0, max: 255 }), async (s, at, v) => {
        const buf = write(s);
        buf[at % buf.length] = v;
        const sync = readAll(buf);
        const str = await readStreamAll(Array.from(buf, (b) => Uint8Array.of(b)));
        expect(str.frames).toEqual(sync.frames);
        expect(str.error?.message).toEqual(sync.error?.message);
      }),
      { numRuns: 100 },
    );
  });

  it('frames that fit in a chunk are views of that chunk (no copy)', async () => {
    const w = new PcapWriter();
    for (let i = 0; i < 4; i++) w.write({ data: new Uint8Array(100).fill(i) });
    const buf = w.toBuffer();
    const chunks = [buf.subarray(0, 24 + 116 * 2), buf.subarray(24 + 116 * 2)];
    async function* src() {
      yield* chunks;
    }
    const seen: ArrayBufferLike[] = [];
    for await (const f of readCaptureStream(src())) seen.push(f.data.buffer);
    expect(seen).toHaveLength(4);
    for (const b of seen) expect(b).toBe(buf.buffer);
  });
});

describe('readCapture', () => {
  it('is re-iterable and gives the same frames each time', () => {
    const w = new PcapngWriter();
    w.write({ data: Uint8Array.of(1, 2, 3), timestampNs: 7n });
    const it = readCapture(w.toBuffer());
    expect([...it]).toEqual([...it]);
  });
});
