import { describe, expect, it } from 'vitest';
import { CaptureErrorCode, CaptureParser, PcapngWriter, readCapture, type CaptureFrame } from '@ovnts/capture';
import { ascii, block, cat, epb, idb, n16, n32, n64, opt, readAll, shb, spb, truncationSweep } from './build.js';

const eth14 = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06]);
const ip8 = Uint8Array.from([0x45, 0, 0, 0x1c, 0, 0, 0, 0]);
const spbData = Uint8Array.from({ length: 20 }, (_, i) => i + 1);

/**
 * Two interfaces (Ethernet with if_name, if_tsresol=9 and snaplen 16; raw IP with the default
 * microsecond resolution and no snaplen), a custom block, an EPB with options on each interface,
 * and an SPB whose 20-byte frame is cut to IDB 0's snaplen.
 */
function canonical(le: boolean): { buf: Uint8Array; ends: number[] } {
  const blocks = [
    shb(le, [opt(le, 4, ascii('test'))]),
    idb(le, 1, 16, [opt(le, 2, ascii('eth0')), opt(le, 9, [9])]),
    idb(le, 101, 0),
    block(le, 0xbad, cat(n32(32473, le), ascii('abcd'))),
    epb(le, { ifid: 0, units: 1700000000123456789n, data: eth14, orig: 60, options: [opt(le, 1, ascii('hi'))] }),
    epb(le, { ifid: 1, units: 1700000001000001n, data: ip8, orig: 28 }),
    spb(le, 20, spbData.subarray(0, 16)),
  ];
  const ends = [0];
  for (const b of blocks) ends.push(ends[ends.length - 1]! + b.length);
  return { buf: cat(...blocks), ends };
}

const expected: CaptureFrame[] = [
  { data: eth14, origLen: 60, timestampNs: 1700000000123456789n, interfaceId: 0, linkType: 1 },
  { data: ip8, origLen: 28, timestampNs: 1700000001000001000n, interfaceId: 1, linkType: 101 },
  { data: spbData.subarray(0, 16), origLen: 20, timestampNs: 0n, interfaceId: 0, linkType: 1 },
];
const framesUpTo = [0, 0, 0, 0, 0, 1, 2, 3];

function plain(fs: Iterable<CaptureFrame>): CaptureFrame[] {
  return [...fs].map((f) => ({ ...f, data: Uint8Array.from(f.data) }));
}

describe('pcapng reader', () => {
  for (const le of [true, false]) {
    it(`reads two interfaces, options, a custom block and an SPB (${le ? 'little' : 'big'}-endian)`, () => {
      const { buf } = canonical(le);
      expect(plain(readCapture(buf))).toEqual(expected);
      const p = new CaptureParser();
      let pos = 0;
      for (let n; (n = p.step(buf, pos, buf.length, true)) >= 0; ) pos += n;
      expect(p.format).toBe('pcapng');
      expect(p.littleEndian).toBe(le);
      expect(p.interfaces).toEqual([
        { linkType: 1, snaplen: 16, name: 'eth0', tsresol: 9, tsoffset: 0n },
        { linkType: 101, snaplen: 0, tsresol: 6, tsoffset: 0n },
      ]);
    });
  }

  it('hands out frames as views of the file buffer', () => {
    const { buf, ends } = canonical(true);
    const [f] = readCapture(buf);
    expect(f!.data.buffer).toBe(buf.buffer);
    expect(f!.data.byteOffset).toBe(ends[4]! + 28);
  });

  it('honours if_tsresol (decimal and binary) and if_tsoffset', () => {
    const le = true;
    const buf = cat(
      shb(le),
      idb(le, 1, 0, [opt(le, 9, [3])]), // milliseconds
      idb(le, 1, 0, [opt(le, 9, [0x8a])]), // 2^-10 s
      idb(le, 1, 0, [opt(le, 9, [12]), opt(le, 14, n64(10n, le))]), // picoseconds, +10 s
      epb(le, { ifid: 0, units: 1500n, data: [1] }),
      epb(le, { ifid: 1, units: 3n * 1024n + 512n, data: [2] }),
      epb(le, { ifid: 2, units: 2_000_000_000_123n, data: [3] }),
    );
    expect([...readCapture(buf)].map((f) => f.timestampNs)).toEqual([1_500_000_000n, 3_500_000_000n, 12_000_000_000n]);
  });

  it('skips unknown blocks and several sections, resetting interfaces per section', () => {
    const buf = cat(
      shb(true),
      idb(true, 1, 0),
      block(true, 0x12345678, [1, 2, 3, 4, 5]),
      epb(true, { ifid: 0, units: 1n, data: [0xaa] }),
      shb(false, [], 1),
      block(false, 0x40000001, []),
      idb(false, 228, 0, [opt(false, 2, ascii('v4')), opt(false, 3, ascii('descr'))]),
      idb(false, 229, 0),
      epb(false, { ifid: 1, units: 2n, data: [0xbb, 0xcc] }),
    );
    const fs = plain(readCapture(buf));
    expect(fs.map((f) => [f.interfaceId, f.linkType, f.timestampNs, [...f.data]])).toEqual([
      [0, 1, 1000n, [0xaa]],
      [1, 229, 2000n, [0xbb, 0xcc]],
    ]);
  });

  it('accepts an SHB with a real section length instead of -1', () => {
    const body = cat(n32(0x1a2b3c4d, true), n16(1, true), n16(0, true), n64(36n, true));
    const buf = cat(block(true, 0x0a0d0d0a, body), idb(true, 1, 0), epb(true, { ifid: 0, units: 0n, data: [] }));
    expect(plain(readCapture(buf))).toHaveLength(1);
  });

  it('rejects corrupt block lengths with the offset of the length field', () => {
    const le = true;
    const head = cat(shb(le), idb(le, 1, 0));
    const cases: [Uint8Array, string][] = [
      [block(le, 6, new Uint8Array(20), { trail: 36 }), `pcapng: trailing block length 36 does not match leading length 32 at offset ${head.length + 28}`],
      [block(le, 6, new Uint8Array(20), { lead: 30 }), `pcapng: block total length 30 is not a multiple of 4 at offset ${head.length + 4}`],
      [block(le, 6, new Uint8Array(20), { lead: 8 }), `pcapng: block total length 8 too small (minimum 12) at offset ${head.length + 4}`],
      [block(le, 6, new Uint8Array(8)), `pcapng: enhanced packet block length 20 too small (minimum 32) at offset ${head.length + 4}`],
      [block(le, 1, new Uint8Array(4)), `pcapng: interface description block length 16 too small (minimum 20) at offset ${head.length + 4}`],
      [epb(le, { ifid: 3, units: 0n, data: [] }), `pcapng: enhanced packet block names interface 3, but the section defines 1 at offset ${head.length + 8}`],
      [block(le, 6, cat(n32(0, le), n32(0, le), n32(0, le), n32(9, le), n32(9, le), [1, 2, 3, 4])), `pcapng: captured length 9 exceeds the block body (4 bytes) at offset ${head.length + 20}`],
      [idb(le, 1, 0, [cat(n16(2, le), n16(200, le))]), `pcapng: option 2 length 200 overruns its block at offset ${head.length + 16}`],
    ];
    for (const [bad, msg] of cases) {
      const r = readAll(cat(head, bad, epb(le, { ifid: 0, units: 0n, data: [] })));
      expect(r.error?.message).toBe(msg);
      expect(r.error!.code === CaptureErrorCode.BadLength || r.error!.code === CaptureErrorCode.BadValue).toBe(true);
    }
  });

  it('rejects an SPB without an interface, a bad byte-order magic and an unknown major version', () => {
    expect(readAll(cat(shb(true), spb(true, 1, [1]))).error!.message).toBe('pcapng: simple packet block before any interface description block at offset 28');
    const badBom = shb(true);
    badBom[8] = 0;
    expect(readAll(badBom).error!.code).toBe(CaptureErrorCode.BadMagic);
    expect(readAll(badBom).error!.offset).toBe(8);
    const v2 = readAll(shb(false, [], 2)).error!;
    expect(v2.code).toBe(CaptureErrorCode.BadVersion);
    expect(v2.offset).toBe(12);
  });

  it('truncation sweep: every prefix gives the complete frames, then Truncated at the cut block', () => {
    for (const le of [true, false]) {
      const { buf, ends } = canonical(le);
      truncationSweep(buf, ends, (k) => expected.slice(0, framesUpTo[k]));
    }
  });
});

describe('pcapng writer', () => {
  it('writes SHB, IDBs with if_name/if_tsresol and EPBs that read back', () => {
    for (const byteOrder of ['le', 'be'] as const) {
      const w = new PcapngWriter({ byteOrder, interfaces: [{ linkType: 1, name: 'eth0', tsresol: 'ns' }] });
      const raw = w.addInterface({ linkType: 101, snaplen: 0, tsresol: 'us' });
      expect(raw).toBe(1);
      w.write({ data: eth14, origLen: 60, timestampNs: 1700000000123456789n });
      w.write({ data: ip8, origLen: 28, timestampNs: 1700000001000001999n, interfaceId: 1 });
      const buf = w.toBuffer();
      const fs = plain(readCapture(buf));
      expect(fs).toEqual([expected[0], { ...expected[1], timestampNs: 1700000001000001000n }]);
      const p = new CaptureParser();
      let pos = 0;
      for (let n; (n = p.step(buf, pos, buf.length, true)) >= 0; ) pos += n;
      expect(p.interfaces.map((i) => [i.name, i.tsresol, i.snaplen])).toEqual([['eth0', 9, 262144], [undefined, 6, 0]]);
      expect(p.littleEndian).toBe(byteOrder === 'le');
    }
  });

  it('rejects undefined interfaces and mismatched link types', () => {
    const w = new PcapngWriter();
    expect(() => w.write({ data: new Uint8Array(1), interfaceId: 1 })).toThrow(/interface 1 is not defined/);
    expect(() => w.write({ data: new Uint8Array(1), linkType: 101 })).toThrow(/link type 101 differs/);
    expect(() => w.write({ data: new Uint8Array(1), timestampNs: -5n })).toThrow(/negative/);
  });
});
