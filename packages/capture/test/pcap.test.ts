import { describe, expect, it } from 'vitest';
import { fromHex } from '@ovnts/packet';
import { CaptureErrorCode, CaptureFormatError, LinkType, PcapWriter, readCapture } from '@ovnts/capture';
import { cat, pcapHeader, pcapRecord, readAll, truncationSweep } from './build.js';

// A hand-made little-endian microsecond pcap: an ARP Ethernet header captured from a 60-byte
// frame (incl 14 < orig 60), then a 4-byte frame. tshark reads it as frames of 60 and 4 bytes at
// 1700000000.123456 and 1700000001.999999 (see tshark.test.ts).
const canonicalLeUs = fromHex(`
  d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000
  00f15365 40e20100 0e000000 3c000000  ffffffffffff 020000000001 0806
  01f15365 3f420f00 04000000 04000000  deadbeef`);
const eth = fromHex('ffffffffffff 020000000001 0806');
const dead = fromHex('deadbeef');
const expected = [
  { data: eth, origLen: 60, timestampNs: 1700000000123456000n, interfaceId: 0, linkType: 1 },
  { data: dead, origLen: 4, timestampNs: 1700000001999999000n, interfaceId: 0, linkType: 1 },
];

function variant(le: boolean, ns: boolean): Uint8Array {
  return cat(
    pcapHeader({ le, ns }),
    pcapRecord({ le, sec: 1700000000, frac: ns ? 123456000 : 123456, data: eth, orig: 60 }),
    pcapRecord({ le, sec: 1700000001, frac: ns ? 999999000 : 999999, data: dead }),
  );
}

describe('pcap reader', () => {
  it('the builder reproduces the literal canonical file', () => {
    expect(variant(true, false)).toEqual(canonicalLeUs);
  });

  for (const le of [true, false]) {
    for (const ns of [false, true]) {
      it(`reads the canonical file (${le ? 'little' : 'big'}-endian, ${ns ? 'nano' : 'micro'}seconds)`, () => {
        const buf = variant(le, ns);
        const frames = [...readCapture(buf)];
        expect(frames.map((f) => ({ ...f, data: Uint8Array.from(f.data) }))).toEqual(expected);
        // zero copy: the frame views the file buffer
        expect(frames[0]!.data.buffer).toBe(buf.buffer);
        expect(frames[0]!.data.byteOffset).toBe(buf.byteOffset + 40);
      });
    }
  }

  it('distinguishes nanosecond timestamps from microsecond ones', () => {
    const b = cat(pcapHeader({ le: true, ns: true }), pcapRecord({ le: true, sec: 1, frac: 123456789, data: [1] }));
    expect([...readCapture(b)][0]!.timestampNs).toBe(1_123_456_789n);
  });

  it('reports any link type and honours the snaplen bound', () => {
    const b = cat(pcapHeader({ le: false, linkType: 0xbeef, snaplen: 8 }), pcapRecord({ le: false, sec: 0, frac: 0, data: [1, 2, 3, 4, 5, 6, 7, 8], orig: 100 }));
    const [f] = [...readCapture(b)];
    expect(f!.linkType).toBe(0xbeef);
    expect(f!.origLen).toBe(100);
    const bad = cat(pcapHeader({ le: false, snaplen: 8 }), pcapRecord({ le: false, sec: 0, frac: 0, data: new Uint8Array(9) }));
    const r = readAll(bad);
    expect(r.error).toBeInstanceOf(CaptureFormatError);
    expect(r.error!.code).toBe(CaptureErrorCode.BadLength);
    expect(r.error!.offset).toBe(24 + 8);
    expect(r.error!.message).toBe('pcap: record length 9 exceeds snaplen 8 at offset 32');
  });

  it('a zero snaplen means libpcap\'s maximum', () => {
    const ok = cat(pcapHeader({ le: true, snaplen: 0 }), pcapRecord({ le: true, sec: 0, frac: 0, data: new Uint8Array(70000) }));
    expect([...readCapture(ok)][0]!.data.length).toBe(70000);
    const tooBig = cat(pcapHeader({ le: true, snaplen: 0 }), pcapRecord({ le: true, sec: 0, frac: 0, data: [], incl: 262145, orig: 262145 }));
    expect(readAll(tooBig).error!.message).toMatch(/record length 262145 exceeds snaplen 262144 at offset 32/);
  });

  it('bounds records by 64 MiB even when the header allows more', () => {
    const b = cat(pcapHeader({ le: true, snaplen: 0xffffffff }), pcapRecord({ le: true, sec: 0, frac: 0, data: [], incl: 0x4000001, orig: 0x4000001 }));
    expect(readAll(b).error!.message).toBe('pcap: record length 67108865 exceeds the 67108864-byte limit at offset 32');
  });

  it('rejects incl_len > orig_len with the offset of the field', () => {
    const b = cat(variant(true, false), pcapRecord({ le: true, sec: 0, frac: 0, data: [1, 2, 3], orig: 2 }));
    const r = readAll(b);
    expect(r.frames).toHaveLength(2);
    expect(r.error!.code).toBe(CaptureErrorCode.BadLength);
    expect(r.error!.offset).toBe(canonicalLeUs.length + 8);
    expect(r.error!.message).toMatch(/captured length 3 exceeds original length 2/);
  });

  it('rejects bad magic, modified pcap and unknown versions', () => {
    expect(readAll(fromHex('00112233 00000000')).error!.message).toBe('capture: bad magic 0x00112233 (neither pcap nor pcapng) at offset 0');
    expect(readAll(fromHex('34cdb2a1 0200 0400')).error!.message).toMatch(/modified \(Kuznetzov\) pcap/);
    const v = readAll(pcapHeader({ le: true, major: 3 })).error!;
    expect(v.code).toBe(CaptureErrorCode.BadVersion);
    expect(v.offset).toBe(4);
  });

  it('names truncated headers and records with their offsets, after delivering the frames before them', () => {
    expect(readAll(new Uint8Array(0)).error!.message).toBe('capture: empty file (no pcap or pcapng header) at offset 0');
    expect(readAll(canonicalLeUs.subarray(0, 10)).error!.message).toBe('pcap: truncated pcap file header (needs 24 bytes, 10 remain) at offset 0');
    const cutHeader = readAll(canonicalLeUs.subarray(0, 24 + 30 + 5));
    expect(cutHeader.frames).toHaveLength(1);
    expect(cutHeader.error!.message).toBe('pcap: truncated record header (needs 16 bytes, 5 remain) at offset 54');
    const cutData = readAll(canonicalLeUs.subarray(0, canonicalLeUs.length - 1));
    expect(cutData.frames).toHaveLength(1);
    expect(cutData.error!.message).toBe('pcap: truncated record (needs 20 bytes, 19 remain) at offset 54');
  });

  it('truncation sweep: every prefix gives the complete frames, then Truncated at the cut record', () => {
    for (const le of [true, false]) {
      for (const ns of [false, true]) {
        truncationSweep(variant(le, ns), [0, 24, 54, 74], (k) => expected.slice(0, Math.max(0, k - 1)));
      }
    }
  });
});

describe('pcap writer', () => {
  it('constructs the canonical bytes', () => {
    const w = new PcapWriter({ byteOrder: 'le', snaplen: 65535 });
    for (const f of expected) w.write(f);
    expect(new Uint8Array(w.toBuffer())).toEqual(canonicalLeUs);
  });

  for (const le of [true, false]) {
    for (const ns of [false, true]) {
      it(`writes ${le ? 'little' : 'big'}-endian ${ns ? 'nano' : 'micro'}second files byte-exact`, () => {
        const w = new PcapWriter({ byteOrder: le ? 'le' : 'be', resolution: ns ? 'ns' : 'us', snaplen: 65535, linkType: LinkType.ETHERNET });
        for (const f of expected) w.write(f);
        expect(new Uint8Array(w.toBuffer())).toEqual(variant(le, ns));
      });
    }
  }

  it('truncates to snaplen, keeps origLen, and rejects what pcap cannot hold', () => {
    const w = new PcapWriter({ snaplen: 4, resolution: 'ns' });
    w.write({ data: new Uint8Array(10), timestampNs: 5n });
    const [f] = [...readCapture(w.toBuffer())];
    expect(f!.data.length).toBe(4);
    expect(f!.origLen).toBe(10);
    expect(f!.timestampNs).toBe(5n);
    expect(() => w.write({ data: new Uint8Array(3), origLen: 2 })).toThrow(/origLen 2 is smaller/);
    expect(() => w.write({ data: new Uint8Array(3), timestampNs: -1n })).toThrow(/outside the 32-bit seconds range/);
    expect(() => w.write({ data: new Uint8Array(3), linkType: 101 })).toThrow(/link type 101 differs/);
    expect(() => new PcapWriter({ linkType: 0x10000 })).toThrow(/16-bit/);
  });
});
