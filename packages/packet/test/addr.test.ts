import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressParseError, formatIpv4, formatIpv6, formatIpv6Ntop, formatMac, parseIpv4, parseIpv6, parseMac } from '@ovnts/packet';
import { requireTools } from '@ovnts/testkit';

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

describe('one IPv4 and one IPv6 formatter (and the inet_ntop variant OVS and OVN print)', () => {
  it('formatIpv4 takes a 32-bit number or a bigint', () => {
    expect(formatIpv4(0xc0000201)).toBe('192.0.2.1');
    expect(formatIpv4(0xc0000201n)).toBe('192.0.2.1');
    expect(formatIpv4((1n << 40n) | 0x0a000001n)).toBe('10.0.0.1');
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (a) => formatIpv4(BigInt(a)) === formatIpv4(a)));
  });
  it('formatIpv6Ntop differs from RFC 5952 only for IPv4-compatible addresses', () => {
    const cases: [string, string, string][] = [
      ['::1.2.3.4', '::102:304', '::1.2.3.4'],
      ['::0.1.0.0', '::1:0', '::0.1.0.0'],
      ['::0.0.0.5', '::5', '::5'],
      ['::', '::', '::'],
      ['::ffff:1.2.3.4', '::ffff:1.2.3.4', '::ffff:1.2.3.4'],
      ['::ffff:0:1.2.3.4', '::ffff:0:102:304', '::ffff:0:102:304'],
      ['2001:db8::1', '2001:db8::1', '2001:db8::1'],
    ];
    for (const [input, rfc, ntop] of cases) {
      expect(formatIpv6(parseIpv6(input)), input).toBe(rfc);
      expect(formatIpv6Ntop(parseIpv6(input)), input).toBe(ntop);
    }
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (a) => parseIpv6(formatIpv6Ntop(a)) === a));
  });
  const req = requireTools('glibc inet_ntop (through python3)', ['python3']);
  it.skipIf(req.skip)('formatIpv6Ntop equals glibc inet_ntop on special and random addresses', () => {
    const seed = Date.now() % 100000;
    console.log(`[addr] inet_ntop comparison seed ${seed}`);
    const addrs: bigint[] = [];
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }),
        (g) => {
          addrs.push(g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n));
        },
      ),
      { seed, numRuns: 3000 },
    );
    for (let i = 0n; i < 70000n; i += 997n) addrs.push(i, (0xffffn << 32n) | (i << 8n), i << 16n);
    const script = 'import socket,sys\nfor l in sys.stdin:\n  print(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(l.strip())))';
    const input = addrs.map((a) => a.toString(16).padStart(32, '0')).join('\n') + '\n';
    const out = execFileSync('python3', ['-c', script], { input, encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n');
    expect(out.length).toBe(addrs.length);
    const bad = addrs.map((a, i) => [formatIpv6Ntop(a), out[i]]).filter(([x, y]) => x !== y);
    expect(bad.slice(0, 5)).toEqual([]);
  });
});
