import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, ReprError, toHex, WireErrorCode } from '@ovnts/packet';
import {
  emitVxlan,
  formatVxlan,
  parseVxlan,
  VXLAN_HEADER_LEN,
  VxlanFlags,
  vxlanLen,
  vxlanRepr,
  VxlanView,
  type VxlanRepr,
} from '@ovnts/geneve';

// The header OVS's tests/tunnel-push-pop.at expects for its VXLAN port with key=123:
// `vxlan(flags=0x8000000,vni=0x7b)` (OVS prints the first word and VNI << 8 as written).
const bytes = fromHex('08000000 00007b00');
const repr: VxlanRepr = { flags: VxlanFlags.I, reserved1: 0, vni: 0x7b, reserved2: 0 };

describe('vxlan', () => {
  it('deconstructs the canonical bytes', () => {
    expect(VxlanView.check(bytes, 0, bytes.length)).toBe(WireErrorCode.Ok);
    const v = new VxlanView().reset(bytes, 0, bytes.length);
    expect(v.flags).toBe(0x08);
    expect(v.reserved1).toBe(0);
    expect(v.vni).toBe(123);
    expect(v.reserved2).toBe(0);
    expect(v.payloadOffset).toBe(8);
    expect(v.payloadLength).toBe(0);
  });

  it('constructs the canonical bytes through the view', () => {
    const b = new Uint8Array(8).fill(0xee);
    const v = new VxlanView().reset(b, 0, 8);
    v.flags = VxlanFlags.I;
    v.reserved1 = 0;
    v.vni = 0x7b;
    v.reserved2 = 0;
    expect(toHex(b)).toBe(toHex(bytes));
  });

  it('parses and emits the canonical bytes', () => {
    expect(parseVxlan(bytes)).toEqual({ ok: true, value: repr });
    expect(vxlanRepr(0x7b)).toEqual(repr);
    const out = new Uint8Array(vxlanLen(repr));
    expect(emitVxlan(repr, out)).toBe(VXLAN_HEADER_LEN);
    expect(toHex(out)).toBe(toHex(bytes));
  });

  it('keeps reserved bits (VXLAN-GBP reuses them)', () => {
    // GBP: G flag 0x80, policy ID 0x1234 in the low 16 reserved bits.
    const gbp = fromHex('88001234 00000a00');
    const r = parseVxlan(gbp);
    expect(r).toEqual({ ok: true, value: { flags: 0x88, reserved1: 0x1234, vni: 10, reserved2: 0 } });
    if (r.ok) {
      const out = new Uint8Array(8);
      emitVxlan(r.value, out);
      expect(toHex(out)).toBe(toHex(gbp));
    }
  });

  it('reports truncation at every shorter length', () => {
    for (let n = 0; n < bytes.length; n++) {
      const r = parseVxlan(bytes.subarray(0, n));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(WireErrorCode.Truncated);
    }
  });

  it('rejects a header without the I flag, and refuses to emit one', () => {
    const b = fromHex('00000000 00007b00');
    expect(VxlanView.check(b, 0, 8)).toBe(WireErrorCode.BadValue);
    const r = parseVxlan(b);
    expect(r.ok === false && r.error.code === WireErrorCode.BadValue && r.error.layer === 'vxlan').toBe(true);
    expect(() => emitVxlan({ ...repr, flags: 0 }, new Uint8Array(8))).toThrow(ReprError);
    expect(() => emitVxlan({ ...repr, vni: 1 << 24 }, new Uint8Array(8))).toThrow(ReprError);
    expect(() => emitVxlan(repr, new Uint8Array(7))).toThrow(RangeError);
  });

  it('formats like tshark', () => {
    expect(formatVxlan(repr)).toBe('Virtual eXtensible Local Area Network, Flags: 0x0800, VNI: 123');
  });

  const arbRepr = fc.record({
    flags: fc.integer({ min: 0, max: 0xff }).map((f) => f | VxlanFlags.I),
    reserved1: fc.integer({ min: 0, max: 0xffffff }),
    vni: fc.integer({ min: 0, max: 0xffffff }),
    reserved2: fc.integer({ min: 0, max: 0xff }),
  });

  it('round-trips any header, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const b = new Uint8Array(at + vxlanLen(r));
        expect(emitVxlan(r, b, at)).toBe(8);
        expect(parseVxlan(b, at)).toEqual({ ok: true, value: r });
      }),
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 32 }), (b) => void parseVxlan(b)));
  });
});
