import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EthernetView, fold, fromHex, i32, internetChecksum, Ipv4View, l4ChecksumV4, sumWords, TcpView, u32 } from '@ovnts/packet';

// The per-packet helpers: signed 32-bit lanes (never boxed by V8) and the checksum primitives.

/** The word-at-a-time one's complement sum the 16-byte-unrolled `sumWords` must equal. */
function sumWordsRef(b: Uint8Array, off: number, len: number, sum = 0): number {
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  return sum;
}

function foldRef(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

describe('i32', () => {
  it('reads the same bits as u32, signed', () => {
    const b = fromHex('00ffffffff80000000 7fffffff 0a000001');
    expect(i32(b, 1)).toBe(-1);
    expect(i32(b, 5)).toBe(-0x80000000);
    expect(i32(b, 9)).toBe(0x7fffffff);
    expect(i32(b, 13)).toBe(0x0a000001);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 12 }), fc.nat(8), (bytes, o) => {
        const off = o % (bytes.length - 3);
        expect(i32(bytes, off) >>> 0).toBe(u32(bytes, off));
        expect(i32(bytes, off) | 0).toBe(i32(bytes, off));
      }),
    );
  });
});

describe('view lanes', () => {
  // Ethernet dst ff:ee:dd:cc:bb:aa, src 02:00:c0:a8:00:01; IPv4 192.168.0.1 -> 200.1.2.3; TCP seq 0xdeadbeef, ack 0x80000001.
  const frame = fromHex(
    'ffeeddccbbaa' + '0200c0a80001' + '0800' +
      '45000028000040004006' + '0000' + 'c0a80001' + 'c8010203' +
      '04d20050' + 'deadbeef' + '80000001' + '5010ffff' + '00000000',
  );
  it('Ethernet MAC lanes recombine to the 48-bit getters', () => {
    const e = new EthernetView().reset(frame, 0, frame.length);
    expect(e.dstHi16).toBe(0xffee);
    expect(e.dstLo32).toBe(0xddccbbaa | 0);
    expect(e.dstHi16 * 2 ** 32 + (e.dstLo32 >>> 0)).toBe(e.dst);
    expect(e.srcHi16 * 2 ** 32 + (e.srcLo32 >>> 0)).toBe(e.src);
    expect(e.src).toBe(0x0200c0a80001);
  });
  it('IPv4 and TCP int32 lanes are the unsigned getters signed', () => {
    const ip = new Ipv4View().reset(frame, 14, 40);
    expect(ip.srcInt32).toBe(0xc0a80001 | 0);
    expect(ip.srcInt32 >>> 0).toBe(ip.src);
    expect(ip.dstInt32 >>> 0).toBe(ip.dst);
    const t = new TcpView().reset(frame, 34, 20);
    expect(t.seqInt32).toBe(0xdeadbeef | 0);
    expect(t.seqInt32 >>> 0).toBe(t.seq);
    expect(t.ackInt32 >>> 0).toBe(0x80000001);
  });
});

describe('checksum primitives', () => {
  it('sumWords equals the word-at-a-time sum for every offset, length and initial sum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), fc.nat(0xfffff), (bytes, o, l, init) => {
        const off = bytes.length ? o % bytes.length : 0;
        const len = l % (bytes.length - off + 1);
        expect(sumWords(bytes, off, len, init)).toBe(sumWordsRef(bytes, off, len, init));
      }),
    );
    const big = new Uint8Array(65535).fill(0xff);
    expect(sumWords(big, 0, big.length)).toBe(sumWordsRef(big, 0, big.length));
  });
  it('fold equals repeated end-around carry, also beyond 32 bits', () => {
    for (const x of [0, 1, 0xffff, 0x10000, 0x1fffe, 0x1ffff, 0xfffeffff, 0xffffffff, 2 ** 32, 2 ** 40 + 12345]) expect(fold(x)).toBe(foldRef(x));
    fc.assert(
      fc.property(fc.nat(), fc.nat(1 << 20), (a, k) => {
        expect(fold(a * k)).toBe(foldRef(a * k));
      }),
    );
  });
  it('l4ChecksumV4 takes addresses signed or unsigned', () => {
    const seg = fromHex('04d20050deadbeef800000015010ffff00000000');
    expect(l4ChecksumV4(seg, 0, seg.length, 6, 0xc0a80001 | 0, 0xc8010203 | 0)).toBe(l4ChecksumV4(seg, 0, seg.length, 6, 0xc0a80001, 0xc8010203));
    expect(internetChecksum(seg, 0, seg.length)).toBe(~foldRef(sumWordsRef(seg, 0, seg.length)) & 0xffff);
  });
});
