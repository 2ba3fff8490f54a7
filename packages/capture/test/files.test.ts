import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFormatError, copyFrame, openCaptureFile, PcapWriter, readCapture, readCaptureStream, writePcapFile, type CaptureFrame } from '@ovnts/capture';

const dir = mkdtempSync(join(tmpdir(), 'ovnts-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function frames(n: number): CaptureFrame[] {
  return Array.from({ length: n }, (_, i) => ({
    data: Uint8Array.from({ length: (i * 37) % 1500 }, (_, j) => (i + j) & 0xff),
    origLen: ((i * 37) % 1500) + (i % 3),
    timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_234_567n,
    interfaceId: 0,
    linkType: 1,
  }));
}

describe('files', () => {
  for (const format of ['pcap', 'pcapng'] as const) {
    it(`writePcapFile + openCaptureFile stream a ${format} file in small chunks`, async () => {
      const path = join(dir, `big.${format}`);
      const want = frames(3000);
      await writePcapFile(path, want, { format, resolution: 'ns', interfaces: [{ tsresol: 'ns' }] } as never);
      const got: CaptureFrame[] = [];
      for await (const f of openCaptureFile(path, { chunkSize: 1000 })) got.push(copyFrame(f));
      // compare cheaply: metadata as one array, bytes by hash-free Buffer comparison
      expect(got.map((f) => [f.origLen, f.timestampNs, f.interfaceId, f.linkType])).toEqual(want.map((f) => [f.origLen, f.timestampNs, f.interfaceId, f.linkType]));
      expect(got.every((f, i) => Buffer.compare(f.data, want[i]!.data) === 0)).toBe(true);
      expect([...readCapture(readFileSync(path))].length).toBe(3000);
    });
  }

  it('writePcapFile accepts an async iterable', async () => {
    const path = join(dir, 'async.pcap');
    async function* gen() {
      yield* frames(5);
    }
    await writePcapFile(path, gen());
    expect([...readCapture(readFileSync(path))].map((f) => f.origLen)).toEqual(frames(5).map((f) => f.origLen));
  });

  it('openCaptureFile reports a truncated final record after the frames before it', async () => {
    const path = join(dir, 'cut.pcap');
    const w = new PcapWriter();
    for (const f of frames(3)) w.write(f);
    const buf = w.toBuffer();
    writeFileSync(path, buf.subarray(0, buf.length - 2));
    const got: number[] = [];
    let err: unknown;
    try {
      for await (const f of openCaptureFile(path, { chunkSize: 7 })) got.push(f.origLen);
    } catch (e) {
      err = e;
    }
    expect(got).toEqual([0, 38]);
    expect(err).toBeInstanceOf(CaptureFormatError);
    expect((err as CaptureFormatError).offset).toBe(24 + 16 + 16 + 37);
    expect((err as CaptureFormatError).truncated).toBe(true);
  });

  it('PcapWriter writes to a Node Writable and readCaptureStream reads a Node Readable', async () => {
    const pipe = new PassThrough();
    const w = new PcapWriter({ sink: pipe, resolution: 'ns' });
    const reading = (async () => {
      const out: CaptureFrame[] = [];
      for await (const f of readCaptureStream(pipe)) out.push(copyFrame(f));
      return out;
    })();
    for (const f of frames(50)) if (!w.write(f)) await w.drain();
    await w.end();
    const got = await reading;
    expect(got.map((f) => f.timestampNs)).toEqual(frames(50).map((f) => f.timestampNs));
    expect(() => w.toBuffer()).toThrow(/without a sink/);
    expect(() => w.write(frames(1)[0]!)).toThrow(/write after end/);
  });

  it('copyFrame detaches the bytes from the reader buffer', () => {
    const w = new PcapWriter();
    w.write({ data: Uint8Array.of(1, 2, 3) });
    const buf = w.toBuffer();
    const [f] = readCapture(buf);
    const c = copyFrame(f!);
    buf.fill(0);
    expect([...f!.data]).toEqual([0, 0, 0]);
    expect([...c.data]).toEqual([1, 2, 3]);
  });
});
