import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, ReprError, toHex, WireErrorCode } from '@ovnts/packet';
import {
  checkOvnOption,
  emitGeneve,
  formatOvnKeys,
  geneveLen,
  ovnDatapathVni,
  ovnEgressKey,
  ovnGeneveOption,
  ovnGeneveRepr,
  ovnIngressKey,
  ovnKeysOf,
  OVN_OPTION_ABSENT,
  OVN_OPTION_INVALID,
  packOvnKeys,
  parseGeneve,
  readOvnOption,
  writeOvnOption,
} from '@ovnts/geneve';

// What ovn-controller's put_encapsulation() produces for datapath 5, inport 3, outport 0x1234:
// tun_id=5, tun_metadata0 (class 0x0102, type 0x80, len 4) = 3 << 16 | 0x1234, C bit set
// because the option is critical. tshark 4.0 names class 0x0102 "Open Virtual Networking (OVN)".
const bytes = fromHex('02 40 6558 00000500  0102 80 01 00031234');

describe('ovn option', () => {
  it('builds the header OVN sends', () => {
    const r = ovnGeneveRepr({ datapath: 5, ingress: 3, egress: 0x1234 });
    expect(r.critical).toBe(true);
    const out = new Uint8Array(geneveLen(r));
    emitGeneve(r, out);
    expect(toHex(out)).toBe(toHex(bytes));
    const p = parseGeneve(bytes);
    expect(p.ok && ovnKeysOf(p.value)).toEqual({ datapath: 5, ingress: 3, egress: 0x1234 });
  });

  it('reads the packed keys without allocating, or -1 when absent', () => {
    expect(readOvnOption(bytes, 8, 8)).toBe(0x00031234);
    expect(ovnIngressKey(0x00031234)).toBe(3);
    expect(ovnEgressKey(0x00031234)).toBe(0x1234);
    expect(readOvnOption(bytes, 8, 0)).toBe(OVN_OPTION_ABSENT);
    // Another class first, then OVN's.
    const two = fromHex('ffff 00 01 0000000b  0102 80 01 7fffffff');
    expect(readOvnOption(two, 0, 16)).toBe(0x7fffffff);
    expect(ovnIngressKey(0x7fffffff)).toBe(0x7fff);
    expect(ovnEgressKey(0x7fffffff)).toBe(0xffff);
    // Same class, non-critical type: not OVN's.
    expect(readOvnOption(fromHex('0102 00 01 00031234'), 0, 8)).toBe(OVN_OPTION_ABSENT);
  });

  it('flags a malformed OVN option: reserved bit, wrong length', () => {
    const reserved = fromHex('0102 80 01 80031234');
    expect(checkOvnOption(reserved, 0)).toBe(WireErrorCode.BadValue);
    expect(readOvnOption(reserved, 0, 8)).toBe(OVN_OPTION_INVALID);
    const long = fromHex('0102 80 02 00031234 00000000');
    expect(checkOvnOption(long, 0)).toBe(WireErrorCode.BadLength);
    expect(readOvnOption(long, 0, 12)).toBe(OVN_OPTION_INVALID);
    const empty = fromHex('0102 80 00');
    expect(checkOvnOption(empty, 0)).toBe(WireErrorCode.BadLength);
    expect(readOvnOption(empty, 0, 4)).toBe(OVN_OPTION_INVALID);
    expect(checkOvnOption(fromHex('0102 80'), 0)).toBe(WireErrorCode.Truncated);
    expect(ovnKeysOf({ oam: false, critical: true, protocolType: 0x6558, vni: 1, options: [{ optClass: 0x102, type: 0x80, data: fromHex('80000001') }] })).toBeUndefined();
  });

  it('writes the 8-byte TLV in place', () => {
    const b = new Uint8Array(10).fill(0xee);
    expect(writeOvnOption(b, 1, packOvnKeys(3, 0x1234))).toBe(8);
    expect(toHex(b)).toBe('ee0102800100031234ee');
    expect(() => writeOvnOption(b, 0, 0x80000000)).toThrow(ReprError);
    expect(() => writeOvnOption(b, 0, -1)).toThrow(ReprError);
  });

  it('validates key ranges', () => {
    expect(() => packOvnKeys(0x8000, 0)).toThrow(ReprError);
    expect(() => packOvnKeys(0, 0x10000)).toThrow(ReprError);
    expect(() => packOvnKeys(-1, 0)).toThrow(ReprError);
    expect(() => packOvnKeys(1.5, 0)).toThrow(ReprError);
    expect(() => ovnDatapathVni(0x1000000)).toThrow(ReprError);
    expect(ovnDatapathVni(0xffffff)).toBe(0xffffff);
    expect(toHex(ovnGeneveOption(0x7fff, 0xffff).data)).toBe('7fffffff');
    expect(formatOvnKeys({ datapath: 5, ingress: 3, egress: 4 })).toBe('datapath=5,inport=3,outport=4');
  });

  it('round-trips any keys through the wire', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffff }),
        fc.integer({ min: 0, max: 0x7fff }),
        fc.integer({ min: 0, max: 0xffff }),
        (datapath, ingress, egress) => {
          const r = ovnGeneveRepr({ datapath, ingress, egress });
          const b = new Uint8Array(geneveLen(r));
          emitGeneve(r, b);
          const packed = readOvnOption(b, 8, 8);
          expect(packed).toBe(packOvnKeys(ingress, egress));
          expect([ovnIngressKey(packed), ovnEgressKey(packed)]).toEqual([ingress, egress]);
          const p = parseGeneve(b);
          expect(p.ok && ovnKeysOf(p.value)).toEqual({ datapath, ingress, egress });
        },
      ),
    );
  });

  it('never throws reading arbitrary option areas', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const v = readOvnOption(b, 0, b.length - (b.length % 4));
        expect(v === OVN_OPTION_ABSENT || v === OVN_OPTION_INVALID || (v >= 0 && v <= 0x7fffffff)).toBe(true);
      }),
    );
  });
});
