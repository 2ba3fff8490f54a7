/**
 * Interoperability with real Wireshark tools: tshark reads what we write, and we read what
 * editcap writes from our files (pcap <-> pcapng, micro <-> nanoseconds).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex } from '@ovnts/packet';
import { requireTools } from '@ovnts/testkit';
import { PcapngWriter, PcapWriter, readCapture, type CaptureFrame } from '@ovnts/capture';
import { ascii, cat, epb, idb, opt, shb, spb } from './build.js';

const req = requireTools('capture interop with Wireshark', ['tshark', 'editcap'], 'apt-get install -y tshark');

interface TsharkRow {
  len: number;
  capLen: number;
  timeNs: bigint;
  ifid: string;
  encap: number;
  md5: string;
}

function tshark(path: string): TsharkRow[] {
  const out = execFileSync(
    'tshark',
    ['-r', path, '-o', 'frame.generate_md5_hash:TRUE', '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch', '-e', 'frame.interface_id', '-e', 'frame.encap_type', '-e', 'frame.md5_hash'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [len, capLen, time, ifid, encap, md5] = l.split('\t');
      const [sec, frac = ''] = time!.split('.');
      return { len: Number(len), capLen: Number(capLen), timeNs: BigInt(sec!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9)), ifid: ifid!, encap: Number(encap), md5: md5! };
    });
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
/** Wireshark's WTAP_ENCAP numbers for the link types used here. */
const wtapEncap: Record<number, number> = { 1: 1, 101: 7 };

function rowsOf(frames: CaptureFrame[], pcapng: boolean): TsharkRow[] {
  return frames.map((f) => ({ len: f.origLen, capLen: f.data.length, timeNs: f.timestampNs, ifid: pcapng ? String(f.interfaceId) : '', encap: wtapEncap[f.linkType]!, md5: md5(f.data) }));
}

describe.skipIf(req.skip)('tshark and editcap interoperability', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-tshark-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const file = (ext: string, bytes?: Uint8Array): string => {
    const p = join(dir, `f${n++}.${ext}`);
    if (bytes) writeFileSync(p, bytes);
    return p;
  };

  it('tshark decodes the hand-made canonical pcap as we do', () => {
    const buf = fromHex(`d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000
      00f15365 40e20100 0e000000 3c000000 ffffffffffff 020000000001 0806
      01f15365 3f420f00 04000000 04000000 deadbeef`);
    const rows = tshark(file('pcap', buf));
    expect(rows.map((r) => [r.len, r.capLen, r.timeNs])).toEqual([
      [60, 14, 1700000000123456000n],
      [4, 4, 1700000001999999000n],
    ]);
    expect(rows).toEqual(rowsOf([...readCapture(buf)], false));
  });

  it('tshark decodes a hand-made two-interface pcapng (options, SPB) as we do', () => {
    for (const le of [true, false]) {
      const buf = cat(
        shb(le, [opt(le, 4, ascii('test'))]),
        idb(le, 1, 16, [opt(le, 2, ascii('eth0')), opt(le, 9, [9])]),
        idb(le, 101, 0),
        epb(le, { ifid: 0, units: 1700000000123456789n, data: fromHex('ffffffffffff0200000000010806'), orig: 60, options: [opt(le, 1, ascii('hi'))] }),
        epb(le, { ifid: 1, units: 1700000001000001n, data: fromHex('4500001c00000000'), orig: 28 }),
        spb(le, 20, Uint8Array.from({ length: 16 }, (_, i) => i + 1)),
      );
      const ours = [...readCapture(buf)];
      const rows = tshark(file('pcapng', buf));
      expect(rows.map((r) => [r.len, r.capLen, r.timeNs, r.ifid])).toEqual([
        [60, 14, 1700000000123456789n, '0'],
        [28, 8, 1700000001000001000n, '1'],
        [20, 16, 0n, '0'],
      ]);
      expect(rows).toEqual(rowsOf(ours, true));
    }
  });

  const arbFrames = fc.array(
    fc.record({
      data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
      extra: fc.nat(50),
      timestampNs: fc.bigInt({ min: 0n, max: 4_000_000_000n * 1_000_000_000n }),
      ifid: fc.nat(1),
    }),
    { minLength: 1, maxLength: 20 },
  );

  it('tshark reads our pcap files (both byte orders and resolutions) frame for frame', () => {
    fc.assert(
      fc.property(arbFrames, fc.constantFrom('le' as const, 'be' as const), fc.constantFrom('us' as const, 'ns' as const), (fs, byteOrder, resolution) => {
        const w = new PcapWriter({ byteOrder, resolution, linkType: 1 });
        for (const f of fs) w.write({ data: f.data, origLen: f.data.length + f.extra, timestampNs: f.timestampNs });
        const buf = w.toBuffer();
        expect(tshark(file('pcap', buf))).toEqual(rowsOf([...readCapture(buf)], false));
        expect([...readCapture(buf)].map((f) => f.timestampNs)).toEqual(fs.map((f) => (resolution === 'ns' ? f.timestampNs : (f.timestampNs / 1000n) * 1000n)));
      }),
      { numRuns: 6 },
    );
  });

  it('tshark reads our pcapng files (two interfaces, both byte orders) frame for frame', () => {
    fc.assert(
      fc.property(arbFrames, fc.constantFrom('le' as const, 'be' as const), (fs, byteOrder) => {
        const w = new PcapngWriter({ byteOrder, interfaces: [{ linkType: 1, name: 'eth0', tsresol: 'ns' }, { linkType: 101, tsresol: 'us' }] });
        for (const f of fs) w.write({ data: f.data, origLen: f.data.length + f.extra, timestampNs: f.timestampNs, interfaceId: f.ifid });
        const buf = w.toBuffer();
        expect(tshark(file('pcapng', buf))).toEqual(rowsOf([...readCapture(buf)], true));
      }),
      { numRuns: 6 },
    );
  });

  it('we read what editcap converts from our files (pcap <-> pcapng, usec <-> nsec)', () => {
    const conversions: [string, 'pcap' | 'pcapng', string][] = [
      ['pcap', 'pcapng', 'pcapng'],
      ['pcap', 'pcapng', 'nsecpcap'],
      ['pcapng', 'pcap', 'pcap'],
      ['pcapng', 'pcap', 'nsecpcap'],
    ];
    fc.assert(
      fc.property(arbFrames, fc.constantFrom(...conversions), (fs, [, from, to]) => {
        const input = fs.map((f) => ({ data: f.data, origLen: f.data.length + f.extra, timestampNs: (f.timestampNs / 1000n) * 1000n }));
        let buf: Buffer;
        if (from === 'pcap') {
          const w = new PcapWriter({ resolution: 'us' });
          for (const f of input) w.write(f);
          buf = w.toBuffer();
        } else {
          const w = new PcapngWriter({ interfaces: [{ linkType: 1, tsresol: 'us' }] });
          for (const f of input) w.write(f);
          buf = w.toBuffer();
        }
        const src = file(from, buf);
        const dst = file(to);
        execFileSync('editcap', ['-F', to, src, dst], { stdio: ['ignore', 'ignore', 'pipe'] });
        const back = readFileSync(dst);
        const magic = back.readUInt32BE(0);
        if (to === 'pcapng') expect(magic).toBe(0x0a0d0d0a);
        else expect([0xa1b23c4d, 0x4d3cb2a1, 0xa1b2c3d4, 0xd4c3b2a1]).toContain(magic);
        const got = [...readCapture(back)].map((f) => ({ data: Uint8Array.from(f.data), origLen: f.origLen, timestampNs: f.timestampNs, linkType: f.linkType, interfaceId: f.interfaceId }));
        expect(got).toEqual(input.map((f) => ({ data: Uint8Array.from(f.data), origLen: f.origLen, timestampNs: f.timestampNs, linkType: 1, interfaceId: 0 })));
      }),
      { numRuns: 8 },
    );
  });
});
