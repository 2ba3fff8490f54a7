import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  emitEthernet,
  ethernetLen,
  EthernetView,
  fromHex,
  parseEthernet,
  parseMac,
  WireErrorCode,
  type EthernetRepr,
} from '@ovnts/packet';

const bytes = fromHex('0a0000000002 0a0000000001 0800');
const repr: EthernetRepr = { dst: parseMac('0a:00:00:00:00:02'), src: parseMac('0a:00:00:00:00:01'), etherType: 0x0800 };

describe('ethernet', () => {
  it('deconstructs the canonical bytes', () => {
    const v = new EthernetView().reset(bytes, 0, bytes.length);
    expect(EthernetView.check(bytes, 0, bytes.length)).toBe(WireErrorCode.Ok);
    expect(v.dst).toBe(repr.dst);
    expect(v.src).toBe(repr.src);
    expect(v.etherType).toBe(0x0800);
    expect(v.payloadOffset).toBe(14);
  });

  it('constructs the canonical bytes through the view', () => {
    const b = new Uint8Array(14);
    const v = new EthernetView().reset(b, 0, 14);
    v.dst = repr.dst;
    v.src = repr.src;
    v.etherType = repr.etherType;
    expect(b).toEqual(bytes);
  });

  it('parses and emits the canonical bytes', () => {
    const r = parseEthernet(bytes);
    expect(r).toEqual({ ok: true, value: repr });
    const out = new Uint8Array(ethernetLen(repr));
    expect(emitEthernet(repr, out)).toBe(14);
    expect(out).toEqual(bytes);
  });

  it('reports truncation at every shorter length', () => {
    for (let n = 0; n < bytes.length; n++) {
      const r = parseEthernet(bytes.subarray(0, n));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(WireErrorCode.Truncated);
    }
  });

  const arbRepr = fc.record({
    dst: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    src: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    etherType: fc.integer({ min: 0, max: 0xffff }),
  });

  it('round-trips any header, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const b = new Uint8Array(at + ethernetLen(r));
        expect(emitEthernet(r, b, at)).toBe(ethernetLen(r));
        expect(parseEthernet(b, at)).toEqual({ ok: true, value: r });
      }),
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void parseEthernet(b)));
  });
});
