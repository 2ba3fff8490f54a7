import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressParseError, formatPrefix, parseIpv4, parsePrefix, prefixContains, prefixesOverlap, prefixHas } from '@ovnts/packet';

describe('prefixes', () => {
  it('parses and formats', () => {
    expect(formatPrefix(parsePrefix('10.0.0.7/24'))).toBe('10.0.0.0/24');
    expect(formatPrefix(parsePrefix('2001:DB8::1/64'))).toBe('2001:db8::/64');
    expect(formatPrefix(parsePrefix('10.0.0.7'))).toBe('10.0.0.7/32');
    expect(formatPrefix(parsePrefix('0.0.0.0/0'))).toBe('0.0.0.0/0');
  });
  it('rejects bad text, and host bits when strict', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/x', '10.0.0/8', '::/129', '10.0.0.0/08']) {
      expect(() => parsePrefix(bad)).toThrow(AddressParseError);
    }
    expect(() => parsePrefix('10.0.0.1/24', true)).toThrow(/host bits/);
    expect(parsePrefix('10.0.0.0/24', true).length).toBe(24);
  });
  it('answers containment and overlap like OVN-Kubernetes reserved-range checks need', () => {
    const join = parsePrefix('100.64.0.0/16');
    expect(prefixesOverlap(join, parsePrefix('100.64.3.0/24'))).toBe(true);
    expect(prefixesOverlap(parsePrefix('100.0.0.0/8'), join)).toBe(true);
    expect(prefixesOverlap(join, parsePrefix('100.65.0.0/16'))).toBe(false);
    expect(prefixContains(join, parsePrefix('100.64.0.0/15'))).toBe(false);
    expect(prefixesOverlap(parsePrefix('fd00::/8'), join)).toBe(false);
  });
  it('prefixHas agrees with containment of host prefixes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (a, n, h) => {
        const p = parsePrefix(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${n}`);
        const host = parsePrefix(`${h >>> 24}.${(h >>> 16) & 255}.${(h >>> 8) & 255}.${h & 255}`);
        expect(prefixHas(p, host.address)).toBe(prefixContains(p, host));
      }),
    );
    expect(prefixHas(parsePrefix('10.1.0.0/16'), parseIpv4('10.1.255.3'))).toBe(true);
  });
});
