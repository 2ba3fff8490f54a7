// Issue 14, item 8: every public parse entry point validates its input type, offset and length
// once, with a typed error; a fast-check property drives all of them with hostile arguments.
import { describe, expect, it } from 'vitest';
import * as pkt from '@ovnts/packet';
import { ArgumentError, parseDhcpv6, parseEthernet, parseIcmpv4 } from '@ovnts/packet';
import { checkEntryPoints, discoverEntryPoints, type EntryPoint } from '@ovnts/testkit';

const walkers: EntryPoint[] = [
  { name: 'findUpperLayer', shape: 'spanRequired', call: (b, a, l) => pkt.findUpperLayer(b as Uint8Array, a as number, l as number) },
  { name: 'checkNdOptions', shape: 'range', call: (b, p, e) => pkt.checkNdOptions(b as Uint8Array, p as number, e as number) },
  { name: 'decodeDnsNameUncompressed', shape: 'range', call: (b, p, e) => pkt.decodeDnsNameUncompressed(b as Uint8Array, p as number, e as number) },
  { name: 'readDnsName', shape: 'dns', call: (b, base, end, pos) => pkt.readDnsName(b as Uint8Array, base as number, end as number, pos as number) },
  { name: 'skipDnsName', shape: 'dns', call: (b, base, end, pos) => pkt.skipDnsName(b as Uint8Array, base as number, end as number, pos as number) },
];

describe('entry points refuse hostile arguments (issue 14, item 8)', () => {
  const found = discoverEntryPoints(pkt as unknown as Record<string, unknown>);

  it('finds every parse function and view check', () => {
    const names = found.map((e) => e.name);
    // 17 parseX(buf, ...) functions and 17 views today; the text parsers (parseMac, parseIpv4,
    // parseIpv6, parsePrefix) take strings and are not byte entry points.
    for (const n of ['parseEthernet', 'parseDhcpv6', 'parseIcmpv4', 'parseDns', 'parseIpv6Fragment', 'EthernetView.check', 'DnsView.check', 'Ipv6FragmentView.check']) expect(names).toContain(n);
    expect(names).not.toContain('parseMac');
    expect(found.length).toBeGreaterThanOrEqual(34);
  });

  it('every exported parser: valid integer spans return, anything else is an ArgumentError naming it', () => {
    const calls = checkEntryPoints([...found, ...walkers], { numRuns: 250 });
    expect(calls).toBeGreaterThanOrEqual(250 * (found.length + walkers.length));
  });

  it('the recipes of the issue', () => {
    const buf = new Uint8Array(64);
    // These looped forever.
    expect(() => parseDhcpv6(buf, NaN)).toThrow(ArgumentError);
    expect(() => parseDhcpv6(buf, 0, Infinity)).toThrow(ArgumentError);
    // 50k phantom options from a 64-byte buffer.
    expect(() => parseDhcpv6(buf, 0, 200000)).toThrow(/parseDhcpv6: len must be an integer in 0\.\.64 .*got 200000/);
    // ok with garbage.
    const frame = pkt.fromHex('ffffffffffff 020000000001 0800' + '4500001c0000000040010000c0a80001c0a80002' + '0800f7ff00000000');
    expect(() => parseEthernet(frame, -1)).toThrow(/parseEthernet: off must be an integer in 0\.\.42, got -1/);
    expect(() => parseIcmpv4(frame, NaN)).toThrow(ArgumentError);
    // Raw TypeErrors.
    expect(() => parseEthernet(new DataView(frame.buffer) as unknown as Uint8Array)).toThrow(/parseEthernet: buf must be a Uint8Array \(or Buffer\), got a DataView/);
    expect(() => parseEthernet(null as unknown as Uint8Array)).toThrow(/parseEthernet: buf must be a Uint8Array \(or Buffer\), got null/);
    // Still fine: a Buffer, an offset, the default length, an empty span.
    expect(parseEthernet(Buffer.from(frame)).ok).toBe(true);
    expect(parseIcmpv4(frame, 34).ok).toBe(true);
    expect(parseEthernet(frame, 42, 0).ok).toBe(false);
  });
});
