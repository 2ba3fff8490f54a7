import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, ReprError, toHex, WireErrorCode } from '@ovnts/packet';
import {
  checkGeneveOptions,
  emitGeneve,
  emitGeneveOptions,
  findGeneveOption,
  formatGeneve,
  GENEVE_HEADER_LEN,
  GeneveOptionCursor,
  geneveLen,
  geneveOption,
  geneveRepr,
  GeneveProtocol,
  GeneveView,
  hasCriticalGeneveOption,
  parseGeneve,
  type GeneveOption,
  type GeneveRepr,
} from '@ovnts/geneve';

// The Geneve header (after UDP) of the frame OVS's tests/tunnel-push-pop.at feeds to
// "decapsulation of Geneve packet with options": VNI 0x7b, two options of class 0xffff, one
// critical (type 0x80, data 0xa) and one not (type 0, data 0xb); C bit clear as sent there.
// tshark 4.0 decodes it as exactly these fields (see tshark.test.ts).
const bytes = fromHex('04 00 6558 00007b00  ffff 80 01 0000000a  ffff 00 01 0000000b');
const repr: GeneveRepr = {
  oam: false,
  critical: false,
  protocolType: GeneveProtocol.TransparentEthernetBridging,
  vni: 0x7b,
  options: [
    { optClass: 0xffff, type: 0x80, data: fromHex('0000000a') },
    { optClass: 0xffff, type: 0x00, data: fromHex('0000000b') },
  ],
};

describe('geneve', () => {
  it('deconstructs the canonical bytes', () => {
    expect(GeneveView.check(bytes, 0, bytes.length)).toBe(WireErrorCode.Ok);
    const v = new GeneveView().reset(bytes, 0, bytes.length);
    expect(v.version).toBe(0);
    expect(v.optLenWords).toBe(4);
    expect(v.optionsLength).toBe(16);
    expect(v.oam).toBe(false);
    expect(v.critical).toBe(false);
    expect(v.reservedFlags).toBe(0);
    expect(v.protocolType).toBe(0x6558);
    expect(v.vni).toBe(0x7b);
    expect(v.reserved).toBe(0);
    expect(v.optionsOffset).toBe(8);
    expect(v.headerLength).toBe(24);
    expect(v.payloadOffset).toBe(24);
    expect(v.payloadLength).toBe(0);
  });

  it('walks the options with a reusable cursor', () => {
    const v = new GeneveView().reset(bytes, 0, bytes.length);
    const c = new GeneveOptionCursor().over(v);
    const seen: [number, number, boolean, number, number, number][] = [];
    while (c.next()) seen.push([c.offset, c.optClass, c.critical, c.type, c.dataOffset, c.dataLength]);
    expect(c.error).toBe(WireErrorCode.Ok);
    expect(seen).toEqual([
      [8, 0xffff, true, 0x80, 12, 4],
      [16, 0xffff, false, 0x00, 20, 4],
    ]);
    // Reuse on another area: nothing left over from the first walk.
    c.reset(bytes, 8, 0);
    expect(c.next()).toBe(false);
  });

  it('constructs the canonical bytes through the view', () => {
    const b = new Uint8Array(bytes.length);
    const v = new GeneveView().reset(b, 0, b.length);
    v.version = 0;
    v.optLenWords = 4;
    v.oam = true;
    v.oam = false;
    v.critical = true;
    v.critical = false;
    v.protocolType = 0x6558;
    v.vni = 0x7b;
    v.reserved = 0;
    expect(emitGeneveOptions(repr.options, b, 8)).toBe(16);
    expect(toHex(b)).toBe(toHex(bytes));
    v.oam = true;
    v.critical = true;
    v.reservedFlags = 0x3f;
    expect(b[1]).toBe(0xff);
    expect(v.oam && v.critical).toBe(true);
  });

  it('parses and emits the canonical bytes', () => {
    expect(parseGeneve(bytes)).toEqual({ ok: true, value: repr });
    expect(geneveLen(repr)).toBe(24);
    const out = new Uint8Array(geneveLen(repr));
    expect(emitGeneve(repr, out)).toBe(24);
    expect(toHex(out)).toBe(toHex(bytes));
  });

  it('reports truncation at every shorter length, at the right offset', () => {
    for (let n = 0; n < bytes.length; n++) {
      const r = parseGeneve(bytes.subarray(0, n));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe(WireErrorCode.Truncated);
        expect(r.error.offset).toBe(n < 8 ? 0 : 8);
        expect(r.error.layer).toBe('geneve');
      }
    }
  });

  it('rejects a version other than 0', () => {
    for (const ver of [1, 2, 3]) {
      const b = bytes.slice();
      b[0] = (ver << 6) | (b[0]! & 0x3f);
      expect(GeneveView.check(b, 0, b.length)).toBe(WireErrorCode.BadVersion);
    }
  });

  it('rejects options that do not exactly fill Opt Len', () => {
    // Second option claims 2 words of data: runs 4 bytes past the area.
    const b = bytes.slice();
    b[19] = 2;
    expect(GeneveView.check(b, 0, b.length)).toBe(WireErrorCode.BadOption);
    const r = parseGeneve(b);
    expect(r.ok === false && r.error.code === WireErrorCode.BadOption && r.error.offset === 16).toBe(true);
    // Even when the bytes exist after the area (they belong to the payload).
    const longer = new Uint8Array(b.length + 8);
    longer.set(b);
    expect(GeneveView.check(longer, 0, longer.length)).toBe(WireErrorCode.BadOption);
    // Opt Len one word short of the TLVs.
    const c = bytes.slice();
    c[0] = 3;
    expect(GeneveView.check(c, 0, c.length)).toBe(WireErrorCode.BadOption);
    // The cursor stops on a malformed area instead of reading past it.
    const cur = new GeneveOptionCursor().reset(b, 8, 16);
    let n = 0;
    while (cur.next()) n++;
    expect(n).toBe(1);
    expect(cur.error).toBe(WireErrorCode.BadOption);
    expect(checkGeneveOptions(b, 8, 16)).toBe(WireErrorCode.BadOption);
    expect(checkGeneveOptions(bytes, 8, 16)).toBe(WireErrorCode.Ok);
    expect(checkGeneveOptions(bytes, 8, 15)).toBe(WireErrorCode.BadLength);
  });

  it('accepts an empty options area and a header at an offset', () => {
    const b = fromHex('ffff 00 00 6558 00000500 aabbcc');
    expect(GeneveView.check(b, 2, 11)).toBe(WireErrorCode.Ok);
    const v = new GeneveView().reset(b, 2, 11);
    expect(v.vni).toBe(5);
    expect(v.payloadOffset).toBe(10);
    expect(v.payloadLength).toBe(3);
    expect(parseGeneve(b, 2, 11)).toEqual({ ok: true, value: geneveRepr(5) });
  });

  it('finds options and the critical bit without allocating', () => {
    expect(findGeneveOption(bytes, 8, 16, 0xffff, 0x00)).toBe(16);
    expect(findGeneveOption(bytes, 8, 16, 0xffff, 0x80)).toBe(8);
    expect(findGeneveOption(bytes, 8, 16, 0x0102, 0x80)).toBe(-1);
    expect(hasCriticalGeneveOption(bytes, 8, 16)).toBe(true);
    expect(hasCriticalGeneveOption(bytes, 16, 8)).toBe(false);
  });

  it('builds options and sets C from them', () => {
    const crit = geneveOption(0x0102, 0x80, new Uint8Array(4));
    const plain = geneveOption(0x0103, 0x01, new Uint8Array(0));
    expect(geneveRepr(1, [plain]).critical).toBe(false);
    expect(geneveRepr(1, [plain, crit]).critical).toBe(true);
    expect(() => geneveOption(0x10000, 0, new Uint8Array(0))).toThrow(ReprError);
    expect(() => geneveOption(1, 0x100, new Uint8Array(0))).toThrow(ReprError);
    expect(() => geneveOption(1, 0, new Uint8Array(3))).toThrow(ReprError);
    expect(() => geneveOption(1, 0, new Uint8Array(128))).toThrow(ReprError);
    expect(() => geneveOption(1, 0, new Uint8Array(124))).not.toThrow();
  });

  it('refuses to emit what the wire cannot carry', () => {
    const big = Array.from({ length: 3 }, () => ({ optClass: 1, type: 2, data: new Uint8Array(124) }));
    expect(() => emitGeneve(geneveRepr(1, big), new Uint8Array(400))).toThrow(ReprError); // 384 > 252
    expect(() => emitGeneve(geneveRepr(0x1000000), new Uint8Array(8))).toThrow(ReprError);
    expect(() => emitGeneve(repr, new Uint8Array(23))).toThrow(RangeError);
  });

  it('formats like tshark', () => {
    expect(formatGeneve(repr)).toBe(
      'Generic Network Virtualization Encapsulation, VNI: 0x00007b, Protocol: Transparent Ethernet bridging, ' +
        'Options: {class=0xffff,type=0x80,len=4,0x0000000a}{class=0xffff,type=0x0,len=4,0x0000000b}',
    );
    expect(formatGeneve({ ...geneveRepr(1, [], { oam: true, protocolType: 0x86dd }), critical: true })).toBe(
      'Generic Network Virtualization Encapsulation, VNI: 0x000001, Protocol: IPv6, Flags: OAM, Critical',
    );
  });

  const arbOption: fc.Arbitrary<GeneveOption> = fc.record({
    optClass: fc.integer({ min: 0, max: 0xffff }),
    type: fc.integer({ min: 0, max: 0xff }),
    data: fc.integer({ min: 0, max: 31 }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w })),
  });
  const arbRepr: fc.Arbitrary<GeneveRepr> = fc
    .record({
      oam: fc.boolean(),
      critical: fc.boolean(),
      protocolType: fc.integer({ min: 0, max: 0xffff }),
      vni: fc.integer({ min: 0, max: 0xffffff }),
      options: fc.array(arbOption, { maxLength: 6 }),
    })
    .filter((r) => geneveLen(r) - GENEVE_HEADER_LEN <= 252);

  it('round-trips any header, also at an offset, with a payload behind it', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), fc.uint8Array({ maxLength: 8 }), (r, at, payload) => {
        const n = geneveLen(r);
        const b = new Uint8Array(at + n + payload.length);
        expect(emitGeneve(r, b, at)).toBe(n);
        b.set(payload, at + n);
        expect(parseGeneve(b, at)).toEqual({ ok: true, value: r });
        const v = new GeneveView().reset(b, at, b.length - at);
        expect(v.payloadOffset).toBe(at + n);
        expect(v.payloadLength).toBe(payload.length);
      }),
    );
  });

  it('never throws on arbitrary bytes, and check() guards every accessor', () => {
    const v = new GeneveView();
    const c = new GeneveOptionCursor();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const r = parseGeneve(b);
        if (GeneveView.check(b, 0, b.length) === WireErrorCode.Ok) {
          expect(r.ok).toBe(true);
          v.reset(b, 0, b.length);
          c.over(v);
          let end = v.optionsOffset;
          while (c.next()) {
            expect(c.dataOffset + c.dataLength).toBeLessThanOrEqual(v.optionsOffset + v.optionsLength);
            end = c.dataOffset + c.dataLength;
          }
          expect(c.error).toBe(WireErrorCode.Ok);
          expect(end).toBe(v.optionsOffset + v.optionsLength);
        } else {
          expect(r.ok).toBe(false);
        }
        // The cursor never throws or overruns even on an unchecked area.
        c.reset(b, 0, b.length);
        while (c.next()) expect(c.dataOffset + c.dataLength).toBeLessThanOrEqual(b.length);
      }),
    );
  });
});
