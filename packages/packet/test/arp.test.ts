import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ArpOp,
  ArpView,
  arpLen,
  EmitError,
  emitArp,
  formatArp,
  fromHex,
  parseArp,
  parseIpv4,
  parseMac,
  WireErrorCode,
  type ArpRepr,
} from '@ovnts/packet';

// The ARP part of a broadcast request; tshark: "Who has 192.168.1.1? Tell 192.168.1.10",
// Sender MAC 52:54:00:12:34:56, Target MAC 00:00:00:00:00:00.
const bytes = fromHex('0001 0800 06 04 0001 525400123456 c0a8010a 000000000000 c0a80101');
const repr: ArpRepr = {
  op: ArpOp.Request,
  sha: parseMac('52:54:00:12:34:56'),
  spa: parseIpv4('192.168.1.10'),
  tha: 0,
  tpa: parseIpv4('192.168.1.1'),
};

describe('arp', () => {
  it('deconstructs the canonical bytes', () => {
    expect(ArpView.check(bytes, 0, bytes.length)).toBe(WireErrorCode.Ok);
    const v = new ArpView().reset(bytes, 0, bytes.length);
    expect([v.htype, v.ptype, v.hlen, v.plen, v.op]).toEqual([1, 0x0800, 6, 4, 1]);
    expect(v.sha).toBe(repr.sha);
    expect(v.spa).toBe(repr.spa);
    expect(v.tha).toBe(0);
    expect(v.tpa).toBe(repr.tpa);
  });

  it('constructs the canonical bytes through the view', () => {
    const b = new Uint8Array(28).fill(0xee);
    const v = new ArpView().reset(b, 0, 28);
    v.htype = 1;
    v.ptype = 0x0800;
    v.hlen = 6;
    v.plen = 4;
    v.op = ArpOp.Request;
    v.sha = repr.sha;
    v.spa = repr.spa;
    v.tha = repr.tha;
    v.tpa = repr.tpa;
    expect(b).toEqual(bytes);
  });

  it('parses, emits and formats the canonical bytes', () => {
    expect(parseArp(bytes)).toEqual({ ok: true, value: repr });
    const out = new Uint8Array(arpLen(repr));
    expect(emitArp(repr, out)).toBe(28);
    expect(out).toEqual(bytes);
    expect(formatArp(repr)).toBe('Address Resolution Protocol (request), Who has 192.168.1.1? Tell 192.168.1.10');
    expect(formatArp({ ...repr, op: ArpOp.Reply })).toBe(
      'Address Resolution Protocol (reply), 192.168.1.10 is at 52:54:00:12:34:56',
    );
    expect(() => emitArp(repr, new Uint8Array(27))).toThrow(EmitError);
  });

  it('reports truncation at every shorter length', () => {
    for (let n = 0; n < bytes.length; n++) {
      const r = parseArp(bytes.subarray(0, n));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(WireErrorCode.Truncated);
    }
  });

  it('rejects other hardware/protocol types and lengths with BadValue', () => {
    for (const [i, v] of [
      [1, 6], // htype 6 (IEEE 802)
      [2, 0x86], // ptype 0x86dd
      [4, 8], // hlen 8
      [5, 16], // plen 16
    ] as const) {
      const b = bytes.slice();
      b[i] = v;
      const r = parseArp(b);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(WireErrorCode.BadValue);
    }
  });

  const arbRepr = fc.record({
    op: fc.integer({ min: 0, max: 0xffff }),
    sha: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    spa: fc.integer({ min: 0, max: 0xffffffff }),
    tha: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    tpa: fc.integer({ min: 0, max: 0xffffffff }),
  });

  it('round-trips any packet, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const b = new Uint8Array(at + arpLen(r));
        expect(emitArp(r, b, at)).toBe(28);
        expect(parseArp(b, at)).toEqual({ ok: true, value: r });
        expect(typeof formatArp(r)).toBe('string');
      }),
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        if (b.length >= 6) b.set([0, 1, 8, 0, 6, 4]);
        const r = parseArp(b);
        expect(r.ok).toBe(b.length >= 28);
      }),
    );
  });
});
