import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EmitError,
  emitIpv6,
  emitIpv6Fragment,
  emitIpv6OptionsHeader,
  emitIpv6Routing,
  findUpperLayer,
  formatIpv6Header,
  fromHex,
  IpProtocol,
  IPV6_MAX_EXT_HEADERS,
  Ipv6FragmentView,
  ipv6FragmentLen,
  ipv6Len,
  Ipv6OptionIter,
  Ipv6OptionsHeaderView,
  ipv6OptionsHeaderLen,
  Ipv6OptionType,
  Ipv6RoutingView,
  ipv6RoutingLen,
  Ipv6UpperLayer,
  Ipv6View,
  parseIpv6,
  parseIpv6Fragment,
  parseIpv6Header,
  parseIpv6OptionsHeader,
  parseIpv6Routing,
  ReprError,
  WireErrorCode,
  type Ipv6Repr,
  emitEthernet,
  emitTcp,
  emitUdp,
  fillTcpChecksumV6,
  fillUdpChecksumV6,
} from '@ovnts/packet';
import { requireTools, tsharkFields } from '@ovnts/testkit';

// 2001:db8::1 -> 2001:db8::2, traffic class 0x12, flow label 0x34567, then a Hop-by-Hop header
// (Router Alert MLD, PadN), a Fragment header (offset 0, M=1, ident 0xa1b2c3d4, next UDP) and
// 12 bytes of UDP. tshark: "Traffic Class: 0x12 (DSCP: Unknown, ECN: ECT(0))", "Flow Label:
// 0x34567", "Router Alert: MLD (0)", "IPv6 fragment (off=0 more=y ident=0xa1b2c3d4 nxt=17)".
const bytes = fromHex(
  '61234567 001c 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002' +
    '2c00 0502 0000 0100' +
    '1100 0001 a1b2c3d4' +
    'd4310035000c325ddeadbeef',
);
const repr: Ipv6Repr = {
  trafficClass: 0x12,
  flowLabel: 0x34567,
  payloadLength: 28,
  nextHeader: IpProtocol.HopByHop,
  hopLimit: 64,
  src: parseIpv6('2001:db8::1'),
  dst: parseIpv6('2001:db8::2'),
};

function code(buf: Uint8Array, off = 0, len = buf.length - off) {
  const r = parseIpv6Header(buf, off, len);
  expect(r.ok).toBe(false);
  return !r.ok && r.error.code;
}

describe('ipv6', () => {
  it('deconstructs the canonical bytes', () => {
    expect(Ipv6View.check(bytes, 0, bytes.length)).toBe(WireErrorCode.Ok);
    const v = new Ipv6View().reset(bytes, 0, bytes.length);
    expect([v.version, v.trafficClass, v.dscp, v.ecn, v.flowLabel]).toEqual([6, 0x12, 4, 2, 0x34567]);
    expect([v.payloadLength, v.nextHeader, v.hopLimit, v.payloadOffset]).toEqual([28, 0, 64, 40]);
    expect([v.srcOffset, v.dstOffset]).toEqual([8, 24]);
    expect([0, 1, 2, 3].map((i) => v.srcWord(i))).toEqual([0x20010db8, 0, 0, 1]);
    expect([0, 1, 2, 3].map((i) => v.dstWord(i))).toEqual([0x20010db8, 0, 0, 2]);

    expect(Ipv6OptionsHeaderView.check(bytes, 40, 28)).toBe(WireErrorCode.Ok);
    const h = new Ipv6OptionsHeaderView().reset(bytes, 40, 28);
    expect([h.nextHeader, h.hdrExtLen, h.headerLength, h.optionsOffset, h.optionsLength]).toEqual([44, 0, 8, 42, 6]);
    expect(h.checkOptions()).toBe(WireErrorCode.Ok);
    const it = new Ipv6OptionIter().reset(bytes, h.optionsOffset, h.optionsLength);
    expect(it.next()).toBe(true);
    expect([it.type, it.offset, it.length, it.dataOffset, it.dataLength, it.action]).toEqual([Ipv6OptionType.RouterAlert, 42, 4, 44, 2, 0]);
    expect(it.next()).toBe(true);
    expect([it.type, it.length, it.dataLength]).toEqual([Ipv6OptionType.PadN, 2, 0]);
    expect(it.next()).toBe(false);
    expect(it.error).toBe(WireErrorCode.Ok);

    const f = new Ipv6FragmentView().reset(bytes, 48, 20);
    expect([f.nextHeader, f.fragmentOffset, f.moreFragments, f.ident, f.payloadOffset]).toEqual([17, 0, true, 0xa1b2c3d4, 56]);
  });

  it('constructs the canonical bytes through the views', () => {
    const b = bytes.slice();
    b.fill(0, 0, 56);
    const v = new Ipv6View().reset(b, 0, b.length);
    v.version = 6;
    v.trafficClass = 0x12;
    v.flowLabel = 0x34567;
    v.payloadLength = 28;
    v.nextHeader = IpProtocol.HopByHop;
    v.hopLimit = 64;
    for (let i = 0; i < 4; i++) {
      v.setSrcWord(i, [0x20010db8, 0, 0, 1][i]!);
      v.setDstWord(i, [0x20010db8, 0, 0, 2][i]!);
    }
    const h = new Ipv6OptionsHeaderView().reset(b, 40, 8);
    h.nextHeader = IpProtocol.Fragment;
    h.hdrExtLen = 0;
    b.set([5, 2, 0, 0, 1, 0], h.optionsOffset);
    const f = new Ipv6FragmentView().reset(b, 48, 8);
    f.nextHeader = IpProtocol.UDP;
    f.moreFragments = true;
    f.fragmentOffset = 0;
    f.ident = 0xa1b2c3d4;
    expect(b).toEqual(bytes);
    f.fragmentOffset = 0x1fff;
    expect([f.fragmentOffset, f.moreFragments]).toEqual([0x1fff, true]);
    f.moreFragments = false;
    expect([f.fragmentOffset, f.moreFragments]).toEqual([0x1fff, false]);
    v.trafficClass = 0xff;
    expect([v.version, v.trafficClass, v.flowLabel]).toEqual([6, 0xff, 0x34567]);
    v.flowLabel = 0;
    expect([v.version, v.trafficClass, v.flowLabel]).toEqual([6, 0xff, 0]);
  });

  it('parses, emits and formats the canonical bytes', () => {
    expect(parseIpv6Header(bytes)).toEqual({ ok: true, value: repr });
    const out = new Uint8Array(ipv6Len(repr));
    expect(emitIpv6(repr, out)).toBe(40);
    expect(out).toEqual(bytes.subarray(0, 40));
    expect(formatIpv6Header(repr)).toBe('Internet Protocol Version 6, Src: 2001:db8::1, Dst: 2001:db8::2');
    expect(() => emitIpv6(repr, new Uint8Array(39))).toThrow(EmitError);

    expect(parseIpv6OptionsHeader(bytes, 40)).toEqual({ ok: true, value: { nextHeader: 44, options: fromHex('050200000100') } });
    const hb = new Uint8Array(8);
    expect(emitIpv6OptionsHeader({ nextHeader: 44, options: fromHex('050200000100') }, hb)).toBe(8);
    expect(hb).toEqual(bytes.subarray(40, 48));

    const fr = { nextHeader: 17, fragmentOffset: 0, moreFragments: true, ident: 0xa1b2c3d4 };
    expect(parseIpv6Fragment(bytes, 48)).toEqual({ ok: true, value: fr });
    const fb = new Uint8Array(ipv6FragmentLen(fr));
    expect(emitIpv6Fragment(fr, fb)).toBe(8);
    expect(fb).toEqual(bytes.subarray(48, 56));
  });

  it('reports truncation at every shorter length', () => {
    for (let n = 0; n < bytes.length; n++) expect(code(bytes.subarray(0, n))).toBe(WireErrorCode.Truncated);
    for (let n = 0; n < 8; n++) {
      const r = parseIpv6OptionsHeader(bytes.subarray(40, 40 + n));
      expect(!r.ok && r.error.code).toBe(WireErrorCode.Truncated);
      const f = parseIpv6Fragment(bytes.subarray(48, 48 + n));
      expect(!f.ok && f.error.code).toBe(WireErrorCode.Truncated);
      const rt = parseIpv6Routing(bytes.subarray(40, 40 + n));
      expect(!rt.ok && rt.error.code).toBe(WireErrorCode.Truncated);
    }
  });

  it('rejects other versions and jumbograms', () => {
    const b = bytes.slice();
    b[0] = 0x41;
    expect(code(b)).toBe(WireErrorCode.BadVersion);
    const j = bytes.slice();
    j[4] = j[5] = 0; // payload length 0 + Hop-by-Hop = jumbogram (unsupported)
    expect(code(j)).toBe(WireErrorCode.BadLength);
    expect(findUpperLayer(j, 0, j.length).error).toBe(WireErrorCode.BadLength);
    j[6] = IpProtocol.NoNext; // payload length 0 without Hop-by-Hop is an ordinary empty packet
    expect(parseIpv6Header(j).ok).toBe(true);
  });

  describe('extension header views', () => {
    it('round-trips a Routing header (type 4, segment routing) and rejects unpadded ones', () => {
      const r = { nextHeader: 6, routingType: 4, segmentsLeft: 1, data: new Uint8Array(4 + 32).fill(7) };
      const b = new Uint8Array(3 + ipv6RoutingLen(r));
      expect(emitIpv6Routing(r, b, 3)).toBe(40);
      expect(parseIpv6Routing(b, 3)).toEqual({ ok: true, value: r });
      const v = new Ipv6RoutingView().reset(b, 3, 40);
      expect([v.nextHeader, v.headerLength, v.routingType, v.segmentsLeft, v.dataOffset, v.dataLength]).toEqual([6, 40, 4, 1, 7, 36]);
      v.segmentsLeft = 0;
      v.routingType = 2;
      v.nextHeader = 17;
      expect(parseIpv6Routing(b, 3)).toMatchObject({ ok: true, value: { nextHeader: 17, routingType: 2, segmentsLeft: 0 } });
      expect(() => emitIpv6Routing({ ...r, data: new Uint8Array(5) }, new Uint8Array(64))).toThrow(ReprError);
      expect(() => emitIpv6OptionsHeader({ nextHeader: 6, options: new Uint8Array(5) }, new Uint8Array(64))).toThrow(ReprError);
      const cut = parseIpv6Routing(b.subarray(3, 42));
      expect(!cut.ok && cut.error.code).toBe(WireErrorCode.Truncated);
    });

    it('walks Pad1, PadN and other options, and reports malformed ones as BadOption', () => {
      const walk = (hex: string) => {
        const b = fromHex(hex);
        const it = new Ipv6OptionIter().reset(b, 0, b.length);
        const seen: number[] = [];
        while (it.next()) seen.push(it.type);
        return { seen, error: it.error };
      };
      expect(walk('00 01 02 0000 c2 04 00010000 00')).toEqual({ seen: [0, 1, 0xc2, 0], error: WireErrorCode.Ok });
      expect(walk('00 01 05 0000').error).toBe(WireErrorCode.BadOption); // PadN longer than the area
      expect(walk('00 00 05').error).toBe(WireErrorCode.BadOption); // no length octet
      expect(walk('05 02 00').seen).toEqual([]);
      const b = bytes.slice();
      b[43] = 9; // Router Alert claims 9 data bytes
      expect(new Ipv6OptionsHeaderView().reset(b, 40, 8).checkOptions()).toBe(WireErrorCode.BadOption);
    });
  });

  describe('findUpperLayer', () => {
    it('finds UDP behind Hop-by-Hop and Fragment headers', () => {
      const out = new Ipv6UpperLayer();
      expect(findUpperLayer(bytes, 0, bytes.length, out)).toBe(out);
      expect(out).toMatchObject({
        error: WireErrorCode.Ok,
        protocol: IpProtocol.UDP,
        offset: 56,
        length: 12,
        extHeaders: 2,
        hasFragment: true,
        fragmentOffset: 0,
        moreFragments: true,
        fragmentIdent: 0xa1b2c3d4,
        nonFirstFragment: false,
        hasRouting: false,
      });
      // At an offset, behind Ethernet, with padding after the declared payload.
      const b = new Uint8Array(14 + bytes.length + 6);
      b.set(bytes, 14);
      const r = findUpperLayer(b, 14, b.length - 14);
      expect([r.error, r.protocol, r.offset, r.length]).toEqual([0, 17, 70, 12]);
    });

    it('flags a non-first fragment and stops after the Fragment header', () => {
      const b = bytes.slice();
      new Ipv6FragmentView().reset(b, 48, 8).fragmentOffset = 185;
      const r = findUpperLayer(b, 0, b.length);
      expect(r).toMatchObject({ error: 0, protocol: 17, offset: 56, nonFirstFragment: true, fragmentOffset: 185 });
      // The bytes after a non-first fragment are data, even when its next header names an
      // extension header: the walk must not read them as one.
      b[48] = IpProtocol.DestOpts;
      const d = findUpperLayer(b, 0, b.length);
      expect(d).toMatchObject({ error: 0, protocol: IpProtocol.DestOpts, offset: 56, nonFirstFragment: true, extHeaders: 2 });
    });

    it('reports truncation inside the chain apart from a chain longer than the payload length', () => {
      for (let n = 0; n < 56; n++) {
        expect(findUpperLayer(bytes, 0, n).error, `len ${n}`).toBe(WireErrorCode.Truncated);
      }
      // The upper layer itself may be cut: that is the upper layer's check to make.
      expect(findUpperLayer(bytes, 0, 60)).toMatchObject({ error: 0, protocol: 17, offset: 56, length: 12 });
      const b = bytes.slice();
      b[5] = 12; // payload length covers Hop-by-Hop, not the Fragment header
      expect(findUpperLayer(b, 0, b.length)).toMatchObject({ error: WireErrorCode.BadLength, errorOffset: 48 });
      // Exactly the declared bytes present: still the payload length's fault, not truncation.
      expect(findUpperLayer(b, 0, 52)).toMatchObject({ error: WireErrorCode.BadLength, errorOffset: 48 });
      // Fewer bytes than declared: truncation.
      expect(findUpperLayer(b, 0, 51)).toMatchObject({ error: WireErrorCode.Truncated, errorOffset: 48 });
      b[0] = 0x40;
      expect(findUpperLayer(b, 0, b.length).error).toBe(WireErrorCode.BadVersion);
    });

    it('rejects Hop-by-Hop anywhere but first', () => {
      const b = bytes.slice();
      b[6] = IpProtocol.DestOpts;
      b[40] = IpProtocol.HopByHop;
      expect(findUpperLayer(b, 0, b.length)).toMatchObject({ error: WireErrorCode.BadValue, errorOffset: 48 });
    });

    it('stops after too many extension headers', () => {
      const chain = (n: number) => {
        const b = new Uint8Array(40 + 8 * n + 8);
        emitIpv6({ ...repr, payloadLength: 8 * n + 8, nextHeader: n ? IpProtocol.DestOpts : IpProtocol.TCP }, b);
        for (let i = 0; i < n; i++) {
          emitIpv6OptionsHeader({ nextHeader: i === n - 1 ? IpProtocol.TCP : IpProtocol.DestOpts, options: fromHex('010400000000') }, b, 40 + 8 * i);
        }
        return findUpperLayer(b, 0, b.length);
      };
      expect(chain(IPV6_MAX_EXT_HEADERS)).toMatchObject({ error: 0, protocol: 6, extHeaders: IPV6_MAX_EXT_HEADERS });
      expect(chain(IPV6_MAX_EXT_HEADERS + 1)).toMatchObject({ error: WireErrorCode.TooDeep, extHeaders: IPV6_MAX_EXT_HEADERS });
    });

    it('steps over AH by its 4-byte length units and stops at ESP and No Next Header', () => {
      const b = new Uint8Array(40 + 24 + 8);
      emitIpv6({ ...repr, payloadLength: 32, nextHeader: IpProtocol.AH }, b);
      b.set(fromHex('3a04 0000 00000001 00000001 0000000000000000'), 40); // AH, len 4 => 24 bytes, next ICMPv6
      expect(findUpperLayer(b, 0, b.length)).toMatchObject({ error: 0, protocol: IpProtocol.ICMPv6, offset: 64, length: 8 });
      b[40] = IpProtocol.ESP;
      expect(findUpperLayer(b, 0, b.length)).toMatchObject({ error: 0, protocol: IpProtocol.ESP, offset: 64 });
      b[6] = IpProtocol.NoNext;
      expect(findUpperLayer(b, 0, b.length)).toMatchObject({ error: 0, protocol: IpProtocol.NoNext, offset: 40, extHeaders: 0 });
    });

    type Ext = { kind: 'dest' | 'routing' | 'frag' | 'ah'; size: number };
    const arbExt: fc.Arbitrary<Ext> = fc.record({
      kind: fc.constantFrom('dest' as const, 'routing' as const, 'frag' as const, 'ah' as const),
      size: fc.integer({ min: 0, max: 3 }),
    });

    it('finds the upper layer behind any chain of extension headers it built', () => {
      fc.assert(
        fc.property(fc.boolean(), fc.array(arbExt, { maxLength: IPV6_MAX_EXT_HEADERS - 1 }), fc.constantFrom(6, 17, 58, 132), fc.nat(8), (hbh, exts, upper, at) => {
          const kinds: { nh: number; len: number }[] = [];
          if (hbh) kinds.push({ nh: IpProtocol.HopByHop, len: 8 });
          for (const e of exts) {
            if (e.kind === 'dest') kinds.push({ nh: IpProtocol.DestOpts, len: 8 * (e.size + 1) });
            if (e.kind === 'routing') kinds.push({ nh: IpProtocol.Routing, len: 8 * (e.size + 1) });
            if (e.kind === 'frag') kinds.push({ nh: IpProtocol.Fragment, len: 8 });
            if (e.kind === 'ah') kinds.push({ nh: IpProtocol.AH, len: 4 * (e.size + 3) });
          }
          const extLen = kinds.reduce((s, k) => s + k.len, 0);
          const b = new Uint8Array(at + 40 + extLen + 20);
          emitIpv6({ ...repr, payloadLength: extLen + 20, nextHeader: kinds[0]?.nh ?? upper }, b, at);
          let p = at + 40;
          kinds.forEach((k, i) => {
            const nh = kinds[i + 1]?.nh ?? upper;
            if (k.nh === IpProtocol.HopByHop || k.nh === IpProtocol.DestOpts) {
              p += emitIpv6OptionsHeader({ nextHeader: nh, options: new Uint8Array(k.len - 2) }, b, p);
            } else if (k.nh === IpProtocol.Routing) {
              p += emitIpv6Routing({ nextHeader: nh, routingType: 4, segmentsLeft: 0, data: new Uint8Array(k.len - 4) }, b, p);
            } else if (k.nh === IpProtocol.Fragment) {
              p += emitIpv6Fragment({ nextHeader: nh, fragmentOffset: 0, moreFragments: true, ident: i }, b, p);
            } else {
              b[p] = nh;
              b[p + 1] = k.len / 4 - 2;
              p += k.len;
            }
          });
          const r = findUpperLayer(b, at, b.length - at);
          expect(r).toMatchObject({ error: 0, protocol: upper, offset: at + 40 + extLen, length: 20, extHeaders: kinds.length });
          expect(r.hasFragment).toBe(exts.some((e) => e.kind === 'frag'));
          expect(r.hasRouting).toBe(exts.some((e) => e.kind === 'routing'));
        }),
      );
    });

    it('never throws on arbitrary bytes and stays inside them', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 120 }), fc.boolean(), (b, force) => {
          if (force && b.length > 0) b[0] = 0x60;
          if (force && b.length > 6) b[6] = [0, 43, 44, 51, 60][b[6]! % 5]!;
          parseIpv6Header(b);
          const r = findUpperLayer(b, 0, b.length);
          if (r.error === WireErrorCode.Ok) {
            expect(r.offset).toBeGreaterThanOrEqual(40);
            expect(r.offset).toBeLessThanOrEqual(b.length);
            expect(r.extHeaders).toBeLessThanOrEqual(IPV6_MAX_EXT_HEADERS);
          }
        }),
      );
    });
  });

  const arbRepr: fc.Arbitrary<Ipv6Repr> = fc.record({
    trafficClass: fc.integer({ min: 0, max: 255 }),
    flowLabel: fc.integer({ min: 0, max: 0xfffff }),
    payloadLength: fc.integer({ min: 0, max: 64 }),
    nextHeader: fc.integer({ min: 1, max: 255 }),
    hopLimit: fc.integer({ min: 0, max: 255 }),
    src: fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
    dst: fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
  });

  it('round-trips any header, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const b = new Uint8Array(at + ipv6Len(r) + r.payloadLength);
        expect(emitIpv6(r, b, at)).toBe(40);
        expect(parseIpv6Header(b, at)).toEqual({ ok: true, value: r });
      }),
    );
  });

  it('round-trips options headers and fragment headers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 4 }).chain((n) => fc.uint8Array({ minLength: 8 * n + 6, maxLength: 8 * n + 6 })),
        fc.record({ nextHeader: fc.integer({ min: 0, max: 255 }), fragmentOffset: fc.integer({ min: 0, max: 0x1fff }), moreFragments: fc.boolean(), ident: fc.integer({ min: 0, max: 0xffffffff }) }),
        fc.nat(8),
        (nh, options, fr, at) => {
          const o = { nextHeader: nh, options };
          const b = new Uint8Array(at + ipv6OptionsHeaderLen(o));
          emitIpv6OptionsHeader(o, b, at);
          expect(parseIpv6OptionsHeader(b, at)).toEqual({ ok: true, value: o });
          const f = new Uint8Array(at + 8);
          emitIpv6Fragment(fr, f, at);
          expect(parseIpv6Fragment(f, at)).toEqual({ ok: true, value: fr });
        },
      ),
    );
  });

  const tshark = requireTools('tshark decoding of emitted frames', ['tshark'], 'apt-get install -y tshark');
  it.skipIf(tshark.skip)('emits frames tshark decodes the same way, with good checksums', () => {
    // IPv6 + Hop-by-Hop (Router Alert) + Routing (type 4, segments left 0) + UDP, and IPv6 + TCP.
    const udpFrame = new Uint8Array(14 + 40 + 8 + 24 + 8 + 4);
    emitEthernet({ dst: 2, src: 1, etherType: 0x86dd }, udpFrame);
    emitIpv6({ ...repr, payloadLength: 8 + 24 + 8 + 4 }, udpFrame, 14);
    emitIpv6OptionsHeader({ nextHeader: IpProtocol.Routing, options: fromHex('050200000100') }, udpFrame, 54);
    // SRH: last entry 0, flags 0, tag 0, one segment (the final destination).
    emitIpv6Routing({ nextHeader: IpProtocol.UDP, routingType: 4, segmentsLeft: 0, data: new Uint8Array([0, 0, 0, 0, ...bytes.subarray(24, 40)]) }, udpFrame, 62);
    emitUdp({ srcPort: 7, dstPort: 9, length: 12, checksum: 0 }, udpFrame, 86);
    udpFrame.set([9, 8, 7, 6], 94);
    fillUdpChecksumV6(udpFrame, 86, 14);
    const up = findUpperLayer(udpFrame, 14, udpFrame.length - 14);
    expect([up.error, up.protocol, up.offset]).toEqual([0, IpProtocol.UDP, 86]);

    const tcpFrame = new Uint8Array(14 + 40 + 20 + 3);
    emitEthernet({ dst: 2, src: 1, etherType: 0x86dd }, tcpFrame);
    emitIpv6({ ...repr, payloadLength: 23, nextHeader: IpProtocol.TCP }, tcpFrame, 14);
    emitTcp({ srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: 0x18, window: 5, checksum: 0, urgent: 0, options: new Uint8Array(0) }, tcpFrame, 54);
    tcpFrame.set([1, 2, 3], 74);
    fillTcpChecksumV6(tcpFrame, 54, 23, 14);

    const rows = tsharkFields(
      [udpFrame, tcpFrame],
      ['ipv6.tclass', 'ipv6.flow', 'ipv6.hopopts.nxt', 'ipv6.routing.type', 'udp.checksum.status', 'udp.length', 'tcp.checksum.status', 'tcp.len'],
      ['udp.check_checksum:TRUE', 'tcp.check_checksum:TRUE'],
    );
    expect(rows[0]).toEqual(['0x00000012', '0x034567', '43', '4', '1', '12', '', '']);
    expect(rows[1]).toEqual(['0x00000012', '0x034567', '', '', '', '', '1', '3']);
  });
});

describe('findUpperLayer validates hop-by-hop and destination options', () => {
  it('reports an option whose length runs past its header as BadOption (tshark: Malformed)', () => {
    // A Router Alert option claiming 191 data bytes inside an 8-byte hop-by-hop header (found by
    // the tshark cross-check corpus).
    const f = fromHex(
      '5ca43cb1d9333e9024d3add786dd65ffad00002000ffc2f9ddb27ad70f29c777abf67df83c72fe80000036d31a75a84873f0155b1fa83a021e02881105bf0001010c0000000000000000000000008500593100000000',
    );
    const u = findUpperLayer(f, 14, f.length - 14, new Ipv6UpperLayer());
    expect(u.error).toBe(WireErrorCode.BadOption);
    expect(u.errorOffset).toBe(14 + 40 + 6); // after a 4-byte option 0x1e, the Router Alert at +6
  });
  it('accepts well-formed padding that fills the header exactly', () => {
    const b = new Uint8Array(40 + 8 + 8);
    emitIpv6({ trafficClass: 0, flowLabel: 0, payloadLength: 16, nextHeader: 0, hopLimit: 1, src: 1n, dst: 2n }, b, 0);
    b.set([59, 0, 1, 4, 0, 0, 0, 0], 40); // hop-by-hop: PadN of 4 data bytes fills 8 bytes; next = No Next Header
    const u = findUpperLayer(b, 0, b.length, new Ipv6UpperLayer());
    expect(u.error).toBe(WireErrorCode.Ok);
    expect(u.protocol).toBe(59);
  });
});
