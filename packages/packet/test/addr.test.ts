import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressParseError, formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '@ovnts/packet';

describe('addresses', () => {
  it('formats IPv6 per RFC 5952', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['fe80:0:0:0:0:0:0:0', 'fe80::'],
      ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
      ['2001:DB8::A', '2001:db8::a'],
    ];
    for (const [input, want] of cases) expect(formatIpv6(parseIpv6(input))).toBe(want);
  });

  it('rejects bad text with a typed error', () => {
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3:4:5:6:7', '::1.2.3']) {
      expect(() => parseIpv6(bad)).toThrow(AddressParseError);
    }
    for (const bad of ['1.2.3', '256.1.1.1', '01.1.1.1', 'a.b.c.d']) expect(() => parseIpv4(bad)).toThrow(AddressParseError);
    for (const bad of ['00:11:22:33:44', '00:11:22:33:44:gg']) expect(() => parseMac(bad)).toThrow(AddressParseError);
  });

  it('round-trips addresses', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (a) => parseIpv6(formatIpv6(a)) === a));
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (a) => parseIpv4(formatIpv4(a)) === a));
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (a) => parseMac(formatMac(a)) === a));
  });
});
