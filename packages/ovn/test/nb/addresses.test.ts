import { formatIpv4, formatIpv6 } from '@ovnts/packet';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { ColumnType } from '../../src/nb/index.js';
import {
  NbError,
  applyDiff,
  datumFromJson,
  datumToJson,
  parseBackends,
  parseExcludeIps,
  parseIpAddr,
  parseIpPort,
  parseIpPrefix,
  parseLspAddress,
  parseMacIps,
  parsePortRange,
} from '../../src/nb/index.js';

describe('address text forms', () => {
  test('Logical_Switch_Port addresses', () => {
    expect(parseLspAddress('router')).toEqual({ kind: 'router', text: 'router' });
    expect(parseLspAddress('unknown')).toEqual({ kind: 'unknown', text: 'unknown' });
    expect(parseLspAddress('dynamic')).toEqual({ kind: 'dynamic', text: 'dynamic' });
    expect(parseLspAddress('0a:00:00:00:00:01 dynamic')).toMatchObject({ kind: 'dynamic', mac: 0x0a0000000001 });
    expect(parseLspAddress('dynamic 10.0.0.5 fd00::5')).toMatchObject({ kind: 'dynamic', ip4: { addr: 0x0a000005 }, ip6: { addr: 0xfd000000000000000000000000000005n } });
    expect(parseLspAddress('00:00:00:00:00:01 10.0.0.1/24 fd00::1')).toMatchObject({
      kind: 'static',
      ips: [
        { family: 4, plen: 24 },
        { family: 6, plen: 128 },
      ],
    });
    expect(() => parseLspAddress('10.0.0.1')).toThrow(NbError);
    expect(() => parseLspAddress('')).toThrow(/empty/);
    expect(() => parseLspAddress('dynamic 10.0.0.1 10.0.0.2')).toThrow(/more than one IPv4/);
  });

  test('port security, prefixes, ports, ranges', () => {
    expect(parseMacIps('00:00:00:00:00:01').ips).toEqual([]);
    expect(parseIpPrefix('10.1.2.3/8')).toEqual({ family: 4, addr: 0x0a010203, plen: 8, text: '10.1.2.3/8' });
    expect(() => parseIpPrefix('10.1.2.3/08')).toThrow(/bad prefix length/);
    expect(() => parseIpPrefix('10.1.2.3', true)).toThrow(/expected IP\/prefix-length/);
    expect(parseIpPort('[fd00::1]:80')).toMatchObject({ ip: { family: 6 }, port: 80 });
    expect(parseIpPort('fd00::1').port).toBeUndefined();
    expect(parseIpPort('10.0.0.1:8080').port).toBe(8080);
    expect(() => parseIpPort('10.0.0.1:0')).toThrow(/1..65535/);
    expect(() => parseIpPort('[10.0.0.1]:80')).toThrow(/brackets are for IPv6/);
    expect(parseBackends('')).toEqual([]);
    expect(parseBackends('10.0.0.1:80,10.0.0.2:80').map((b) => b.port)).toEqual([80, 80]);
    expect(parsePortRange('80')).toEqual({ min: 80, max: 80 });
    expect(() => parsePortRange('0-10')).toThrow(NbError);
    expect(parseExcludeIps('10.0.0.1 10.0.0.5..10.0.0.9')).toEqual([
      { from: 0x0a000001, to: 0x0a000001 },
      { from: 0x0a000005, to: 0x0a000009 },
    ]);
    expect(() => parseExcludeIps('10.0.0.9..10.0.0.5')).toThrow(/start after end/);
  });

  test('IPv4/IPv6 text round trip (property)', () => {
    fc.assert(fc.property(fc.ipV4(), (t) => {
      expect(formatIpv4(parseIpAddr(t).addr as number)).toBe(t);
    }));
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (a) => {
        const ip = parseIpAddr(formatIpv6(a));
        expect([ip.family, ip.addr]).toEqual([6, a]);
      }),
    );
  });

  test('parsers throw only NbError on arbitrary text', () => {
    const only = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (!(e instanceof NbError)) throw e;
      }
    };
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        for (const f of [parseLspAddress, parseMacIps, parseIpAddr, parseIpPort, parseBackends, parsePortRange, parseExcludeIps]) only(() => f(s));
        only(() => parseIpPrefix(s, true));
      }),
      { numRuns: 500 },
    );
  });
});

describe('OVSDB datums and diffs', () => {
  const set: ColumnType = { key: { type: 'string' }, min: 0, max: Infinity };
  const map: ColumnType = { key: { type: 'string' }, value: { type: 'string' }, min: 0, max: Infinity };
  const opt: ColumnType = { key: { type: 'integer' }, min: 0, max: 1 };

  test('JSON forms', () => {
    expect(datumFromJson('a', set)).toEqual({ keys: ['a'] });
    expect(datumFromJson(['set', ['b', 'a']], set)).toEqual({ keys: ['a', 'b'] });
    expect(datumToJson({ keys: ['a'] }, set)).toBe('a');
    expect(datumToJson({ keys: [] }, set)).toEqual(['set', []]);
    expect(() => datumFromJson(['set', ['a', 'a']], set)).toThrow(/duplicate/);
    expect(() => datumFromJson(['map', [['k', 'v'], ['k', 'w']]], map)).toThrow(/duplicate key/);
    expect(() => datumFromJson(['uuid', 'nope'], { key: { type: 'uuid' }, min: 1, max: 1 })).toThrow(/bad uuid/);
  });

  test('diff application is the inverse of the ovsdb-server(7) diff definition (property)', () => {
    const diffOf = (a: Map<string, string>, b: Map<string, string>) => {
      const d = new Map<string, string>();
      for (const [k, v] of a) if (!b.has(k)) d.set(k, v);
      for (const [k, v] of b) if (a.get(k) !== v) d.set(k, v);
      return d;
    };
    const toDatum = (m: Map<string, string>) => datumFromJson(['map', [...m]], map);
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 2 })), fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 2 })), (x, y) => {
        const a = new Map(Object.entries(x));
        const b = new Map(Object.entries(y));
        expect(applyDiff(toDatum(a), toDatum(diffOf(a, b)), map)).toEqual(toDatum(b));
      }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ maxLength: 3 })), fc.uniqueArray(fc.string({ maxLength: 3 })), (a, b) => {
        const sym = [...a.filter((x) => !b.includes(x)), ...b.filter((x) => !a.includes(x))];
        expect(applyDiff(datumFromJson(['set', a], set), datumFromJson(['set', sym], set), set)).toEqual(datumFromJson(['set', b], set));
      }),
    );
    expect(applyDiff({ keys: [5] }, { keys: [6] }, opt)).toEqual({ keys: [6] });
    expect(applyDiff({ keys: [5] }, { keys: [] }, opt)).toEqual({ keys: [] });
  });
});
