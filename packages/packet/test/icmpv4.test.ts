import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EmitError,
  emitIcmpv4,
  emitIpv4,
  formatIcmpv4,
  fromHex,
  Icmpv4Type,
  Icmpv4UnreachableCode,
  Icmpv4View,
  icmpv4Len,
  isIcmpv4Error,
  parseIcmpv4,
  parseIpv4Header,
  updateChecksum16,
  WireErrorCode,
  type Icmpv4Repr,
} from '@ovnts/packet';

// An echo request with 8 data bytes; tshark: "Echo (ping) request  id=0x1c46, seq=1/256",
// "Checksum: 0x4a23 [correct]".
const bytes = fromHex('0800 4a23 1c46 0001 6162636465666768');
const repr: Icmpv4Repr = { type: Icmpv4Type.EchoRequest, code: 0, restOfHeader: 0x1c460001, data: fromHex('6162636465666768') };

describe('icmpv4', () => {
  it('deconstructs the canonical bytes', () => {
    expect(Icmpv4View.check(bytes, 0, bytes.length)).toBe(WireErrorCode.Ok);
    const v = new Icmpv4View().reset(bytes, 0, bytes.length);
    expect([v.type, v.code, v.checksum, v.restOfHeader, v.ident, v.seq]).toEqual([8, 0, 0x4a23, 0x1c460001, 0x1c46, 1]);
    expect([v.dataOffset, v.dataLength, v.isError, v.quotedOffset]).toEqual([8, 8, false, -1]);
    expect(v.checksumValid()).toBe(true);
  });

  it('constructs the canonical bytes through the view', () => {
    const b = new Uint8Array(16);
    const v = new Icmpv4View().reset(b, 0, 16);
    v.type = Icmpv4Type.EchoRequest;
    v.code = 0;
    v.ident = 0x1c46;
    v.seq = 1;
    b.set(repr.data, v.dataOffset);
    v.fillChecksum();
    expect(b).toEqual(bytes);
  });

  it('parses, emits and formats the canonical bytes', () => {
    expect(parseIcmpv4(bytes)).toEqual({ ok: true, value: repr });
    const out = new Uint8Array(icmpv4Len(repr));
    expect(emitIcmpv4(repr, out)).toBe(16);
    expect(out).toEqual(bytes);
    expect(formatIcmpv4(repr)).toBe(
      'Internet Control Message Protocol, Type: 8 (Echo (ping) request), Code: 0, id=0x1c46, seq=1',
    );
    expect(() => emitIcmpv4(repr, new Uint8Array(15))).toThrow(EmitError);
  });

  it('reads an error message and the datagram it quotes', () => {
    // Fragmentation needed (MTU 1400) quoting an IPv4 header + 8 bytes.
    const quoted = new Uint8Array(28);
    emitIpv4(
      { dscp: 0, ecn: 0, ident: 7, dontFragment: true, moreFragments: false, fragmentOffset: 0, ttl: 63, protocol: 17, src: 1, dst: 2, options: new Uint8Array(0), payloadLength: 1472 },
      quoted,
    );
    const r: Icmpv4Repr = { type: Icmpv4Type.DestinationUnreachable, code: Icmpv4UnreachableCode.FragmentationNeeded, restOfHeader: 1400, data: quoted };
    const b = new Uint8Array(4 + icmpv4Len(r));
    emitIcmpv4(r, b, 4);
    const v = new Icmpv4View().reset(b, 4, icmpv4Len(r));
    expect(v.checksumValid()).toBe(true);
    expect([v.isError, v.nextHopMtu, v.quotedOffset]).toEqual([true, 1400, 12]);
    // The quote is cut short of its total length, so a strict parse says Truncated.
    const q = parseIpv4Header(b, v.quotedOffset);
    expect(!q.ok && q.error.code).toBe(WireErrorCode.Truncated);
    expect(formatIcmpv4(r)).toBe(
      'Internet Control Message Protocol, Type: 3 (Destination unreachable), Code: 4, MTU of next hop: 1400',
    );
    expect([0, 3, 4, 5, 8, 11, 12].map(isIcmpv4Error)).toEqual([false, true, true, true, false, true, true]);
  });

  it('reports truncation at every shorter header length', () => {
    for (let n = 0; n < 8; n++) {
      const r = parseIcmpv4(bytes.subarray(0, n));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(WireErrorCode.Truncated);
    }
  });

  describe('checksum', () => {
    it('breaks when any byte of the message changes', () => {
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes.slice();
        b[i]! ^= 0x42;
        expect(new Icmpv4View().reset(b, 0, b.length).checksumValid(), `byte ${i}`).toBe(false);
      }
      // It covers the whole message, not only the header.
      expect(new Icmpv4View().reset(bytes, 0, 15).checksumValid()).toBe(false);
    });

    it('updates incrementally (RFC 1624) as a recomputation, when an echo id is rewritten', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 56 }), fc.integer({ min: 0, max: 0xffff }), (data, id) => {
          const r = { ...repr, data };
          const b = new Uint8Array(icmpv4Len(r));
          emitIcmpv4(r, b);
          const v = new Icmpv4View().reset(b, 0, b.length);
          const c = updateChecksum16(v.checksum, v.ident, id);
          v.ident = id;
          v.checksum = c;
          expect(v.checksumValid()).toBe(true);
          v.fillChecksum();
          expect(v.checksum).toBe(c);
        }),
      );
    });
  });

  const arbRepr = fc.record({
    type: fc.integer({ min: 0, max: 255 }),
    code: fc.integer({ min: 0, max: 255 }),
    restOfHeader: fc.integer({ min: 0, max: 0xffffffff }),
    data: fc.uint8Array({ maxLength: 64 }),
  });

  it('round-trips any message, also at an offset, with a valid checksum', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const b = new Uint8Array(at + icmpv4Len(r));
        expect(emitIcmpv4(r, b, at)).toBe(icmpv4Len(r));
        expect(parseIcmpv4(b, at)).toEqual({ ok: true, value: r });
        expect(new Icmpv4View().reset(b, at, b.length - at).checksumValid()).toBe(true);
        expect(formatIcmpv4(r)).toMatch(/^Internet Control Message Protocol, Type: \d+/);
      }),
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const r = parseIcmpv4(b);
        expect(r.ok).toBe(b.length >= 8);
        if (r.ok) expect(r.value.data.length).toBe(b.length - 8);
      }),
    );
  });
});
