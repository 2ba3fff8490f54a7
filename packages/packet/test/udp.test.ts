import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EmitError,
  emitUdp,
  fillUdpChecksumV4,
  fillUdpChecksumV6,
  formatUdp,
  fromHex,
  l4ChecksumV4,
  l4ChecksumV6,
  parseUdp,
  ReprError,
  udpLen,
  UdpView,
  updateChecksum16,
  updateChecksum32,
  verifyUdpChecksumV4,
  verifyUdpChecksumV6,
  WireErrorCode,
  type UdpRepr,
} from '@ovnts/packet';

// A DNS query for example.com A from 10.0.0.1:50000 to 8.8.8.8:53; tshark:
// "User Datagram Protocol, Src Port: 50000, Dst Port: 53", "Checksum: 0x406c [correct]".
const SRC = 0x0a000001;
const DST = 0x08080808;
const bytes = fromHex('c350 0035 0025 406c' + '1234 0100 0001 0000 0000 0000 076578616d706c6503636f6d00 0001 0001');
const repr: UdpRepr = { srcPort: 50000, dstPort: 53, length: 37, checksum: 0x406c };

// IPv6 (2001:db8::1 -> 2001:db8::2) + Destination Options (PadN) + UDP 54321 -> 53 with 4 data
// bytes; tshark: "Checksum: 0x325d [correct]".
const v6 = fromHex(
  '6000000000143c40 20010db8000000000000000000000001 20010db8000000000000000000000002' +
    '1100010400000000 d4310035000c325ddeadbeef',
);
const V6_UDP = 48;

describe('udp', () => {
  it('deconstructs the canonical bytes', () => {
    expect(UdpView.check(bytes, 0, bytes.length)).toBe(WireErrorCode.Ok);
    const v = new UdpView().reset(bytes, 0, bytes.length);
    expect([v.srcPort, v.dstPort, v.length, v.checksum]).toEqual([50000, 53, 37, 0x406c]);
    expect(v.payloadOffset).toBe(8);
    expect(v.payloadLength).toBe(29);
  });

  it('constructs the canonical bytes through the view', () => {
    const b = bytes.slice();
    b.fill(0, 0, 8);
    const v = new UdpView().reset(b, 0, b.length);
    v.srcPort = 50000;
    v.dstPort = 53;
    v.length = 37;
    expect(fillUdpChecksumV4(b, 0, SRC, DST)).toBe(0x406c);
    expect(b).toEqual(bytes);
    v.checksum = 0;
    v.checksum = 0x406c;
    expect(b).toEqual(bytes);
  });

  it('parses, emits and formats the canonical bytes', () => {
    expect(parseUdp(bytes)).toEqual({ ok: true, value: repr });
    const out = new Uint8Array(udpLen(repr));
    expect(emitUdp(repr, out)).toBe(8);
    expect(out).toEqual(bytes.subarray(0, 8));
    expect(formatUdp(repr)).toBe('User Datagram Protocol, Src Port: 50000, Dst Port: 53');
    expect(() => emitUdp(repr, new Uint8Array(7))).toThrow(EmitError);
  });

  it('reports truncation at every shorter length, BadLength for length < 8', () => {
    for (let n = 0; n < bytes.length; n++) {
      const r = parseUdp(bytes.subarray(0, n));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(WireErrorCode.Truncated);
    }
    for (const l of [0, 1, 7]) {
      const b = bytes.slice();
      b[4] = 0;
      b[5] = l;
      const r = parseUdp(b);
      expect(!r.ok && r.error.code).toBe(WireErrorCode.BadLength);
    }
    // Trailing bytes beyond the length field (padding) are fine.
    expect(parseUdp(new Uint8Array([...bytes, 0, 0, 0])).ok).toBe(true);
  });

  describe('checksum', () => {
    it('verifies the canonical datagrams over IPv4 and IPv6 (computed as tshark does)', () => {
      expect(verifyUdpChecksumV4(bytes, 0, SRC, DST)).toBe(true);
      expect(verifyUdpChecksumV6(v6, V6_UDP, 0)).toBe(true);
      const b = v6.slice();
      expect(fillUdpChecksumV6(b, V6_UDP, 0)).toBe(0x325d);
      expect(b).toEqual(v6);
    });

    it('breaks when any covered byte changes (IPv4 and IPv6)', () => {
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes.slice();
        b[i]! ^= 0x5a;
        if (i === 4 || i === 5) continue; // the length field changes the span instead
        expect(verifyUdpChecksumV4(b, 0, SRC, DST), `byte ${i}`).toBe(false);
      }
      expect(verifyUdpChecksumV4(bytes, 0, SRC ^ 1, DST)).toBe(false);
      for (let i = 8; i < v6.length; i++) {
        if (i >= 40 && i < V6_UDP) continue; // extension header: not covered
        const b = v6.slice();
        b[i]! ^= 0x21;
        if (i === V6_UDP + 4 || i === V6_UDP + 5) continue;
        expect(verifyUdpChecksumV6(b, V6_UDP, 0), `byte ${i}`).toBe(false);
      }
    });

    it('treats 0 as "no checksum" over IPv4 and as invalid over IPv6', () => {
      const b = bytes.slice();
      b[6] = b[7] = 0;
      b[10] ^= 0xff; // even with a corrupted payload
      expect(verifyUdpChecksumV4(b, 0, SRC, DST)).toBe(true);
      const c = v6.slice();
      c[V6_UDP + 6] = c[V6_UDP + 7] = 0;
      expect(verifyUdpChecksumV6(c, V6_UDP, 0)).toBe(false);
      // Even when 0 would verify arithmetically (the data sums to one's complement zero).
      c[c.length - 2] = c[c.length - 1] = 0;
      const need = l4ChecksumV6(c, V6_UDP, 12, 17, 0);
      c[c.length - 2] = need >>> 8;
      c[c.length - 1] = need & 0xff;
      expect(l4ChecksumV6(c, V6_UDP, 12, 17, 0)).toBe(0);
      expect(verifyUdpChecksumV6(c, V6_UDP, 0)).toBe(false);
      expect(fillUdpChecksumV6(c, V6_UDP, 0)).toBe(0xffff);
      expect(verifyUdpChecksumV6(c, V6_UDP, 0)).toBe(true);
    });

    it('sends a computed zero as 0xffff (RFC 768)', () => {
      // Pick the payload so the one's complement sum is 0xffff: the checksum computes to 0.
      const b = fromHex('0001 0002 000a 0000 0000');
      const need = l4ChecksumV4(b, 0, 10, 17, 0, 0); // complement of the sum without the last word
      b[8] = need >>> 8;
      b[9] = need & 0xff;
      expect(l4ChecksumV4(b, 0, 10, 17, 0, 0)).toBe(0);
      expect(fillUdpChecksumV4(b, 0, 0, 0)).toBe(0xffff);
      expect(new UdpView().reset(b, 0, 10).checksum).toBe(0xffff);
      expect(verifyUdpChecksumV4(b, 0, 0, 0)).toBe(true);
    });

    it('refuses to fill or verify a datagram whose bytes are missing', () => {
      expect(() => fillUdpChecksumV4(bytes.subarray(0, 20), 0, SRC, DST)).toThrow(ReprError);
      expect(() => fillUdpChecksumV6(v6, V6_UDP, 30)).toThrow(ReprError);
      expect(verifyUdpChecksumV4(bytes.subarray(0, 20), 0, SRC, DST)).toBe(false);
      expect(verifyUdpChecksumV6(v6.subarray(0, 50), V6_UDP, 0)).toBe(false);
    });

    it('updates incrementally (RFC 1624) as a recomputation does, after NAT of address and port', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 64 }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffff }),
          (data, src, newSrc, newPort) => {
            const b = new Uint8Array(8 + data.length);
            b.set(data, 8);
            emitUdp({ srcPort: 1234, dstPort: 80, length: b.length, checksum: 0 }, b);
            fillUdpChecksumV4(b, 0, src, DST);
            const v = new UdpView().reset(b, 0, b.length);
            let c = updateChecksum32(v.checksum, src, newSrc);
            c = updateChecksum16(c, v.srcPort, newPort);
            v.srcPort = newPort;
            v.checksum = c;
            expect(verifyUdpChecksumV4(b, 0, newSrc, DST)).toBe(true);
            const rec = fillUdpChecksumV4(b.slice(), 0, newSrc, DST);
            // Equal, except that incremental update may give 0x0000 where a fresh computation
            // sends 0xffff (both are one's complement zero; RFC 768 forbids sending 0).
            expect(c === rec || (c === 0 && rec === 0xffff)).toBe(true);
          },
        ),
      );
    });
  });

  const arbRepr = fc.record({
    srcPort: fc.integer({ min: 0, max: 0xffff }),
    dstPort: fc.integer({ min: 0, max: 0xffff }),
    length: fc.integer({ min: 8, max: 64 }),
    checksum: fc.integer({ min: 0, max: 0xffff }),
  });

  it('round-trips any header, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const b = new Uint8Array(at + r.length);
        expect(emitUdp(r, b, at)).toBe(8);
        expect(parseUdp(b, at)).toEqual({ ok: true, value: r });
      }),
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(64), (b, at) => {
        const r = parseUdp(b);
        expect(r.ok).toBe(UdpView.check(b, 0, b.length) === WireErrorCode.Ok);
        expect(typeof verifyUdpChecksumV4(b, at, 1, 2)).toBe('boolean');
        expect(typeof verifyUdpChecksumV6(b, at, 0)).toBe('boolean');
      }),
    );
  });
});
