import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EmitError,
  emitIpv4,
  formatIpv4Header,
  fromHex,
  internetChecksum,
  IpProtocol,
  Ipv4OptionIter,
  Ipv4OptionType,
  Ipv4View,
  ipv4Len,
  parseIpv4,
  parseIpv4Header,
  ReprError,
  updateChecksum16,
  updateChecksum32,
  WireErrorCode,
  type Ipv4Repr,
  emitArp,
  emitEthernet,
  emitIcmpv4,
  emitTcp,
  emitUdp,
  fillTcpChecksumV4,
  fillUdpChecksumV4,
  TcpFlags,
} from '@ovnts/packet';
import { requireTools, tsharkFields } from '@ovnts/testkit';

// An IGMPv2 membership report's IPv4 header with a Router Alert option (RFC 2113), followed by
// the 8-byte IGMP message. tshark decodes it as: Header Length 24, DSCP CS6, DF, TTL 1, proto
// IGMP, "Header Checksum: 0x3263 [correct]", "Options: (4 bytes), Router Alert".
const header = fromHex('46c0 0020 0000 4000 0102 3263 c0a8010a ef010101 94040000');
const payload = fromHex('1600f9fc ef010101');
const bytes = new Uint8Array([...header, ...payload]);
const repr: Ipv4Repr = {
  dscp: 48,
  ecn: 0,
  ident: 0,
  dontFragment: true,
  moreFragments: false,
  fragmentOffset: 0,
  ttl: 1,
  protocol: IpProtocol.IGMP,
  src: parseIpv4('192.168.1.10'),
  dst: parseIpv4('239.1.1.1'),
  options: fromHex('94040000'),
  payloadLength: 8,
};

function expectCode(buf: Uint8Array, code: number, off = 0, len = buf.length - off) {
  expect(Ipv4View.check(buf, off, len)).toBe(code);
  const r = parseIpv4Header(buf, off, len);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.error.code).toBe(code);
}

describe('ipv4', () => {
  it('deconstructs the canonical bytes', () => {
    expect(Ipv4View.check(bytes, 0, bytes.length)).toBe(WireErrorCode.Ok);
    const v = new Ipv4View().reset(bytes, 0, bytes.length);
    expect(v.version).toBe(4);
    expect(v.ihl).toBe(6);
    expect(v.headerLength).toBe(24);
    expect(v.dscp).toBe(48);
    expect(v.ecn).toBe(0);
    expect(v.totalLength).toBe(32);
    expect(v.ident).toBe(0);
    expect(v.flags).toBe(2);
    expect(v.reservedFlag).toBe(false);
    expect(v.dontFragment).toBe(true);
    expect(v.moreFragments).toBe(false);
    expect(v.fragmentOffset).toBe(0);
    expect(v.isFragment).toBe(false);
    expect(v.isFirstFragment).toBe(false);
    expect(v.ttl).toBe(1);
    expect(v.protocol).toBe(IpProtocol.IGMP);
    expect(v.checksum).toBe(0x3263);
    expect(v.checksumValid()).toBe(true);
    expect(v.src).toBe(repr.src);
    expect(v.dst).toBe(repr.dst);
    expect(v.optionsOffset).toBe(20);
    expect(v.optionsLength).toBe(4);
    expect(v.payloadOffset).toBe(24);
    expect(v.payloadLength).toBe(8);
    expect(v.checkOptions()).toBe(WireErrorCode.Ok);
    const it = new Ipv4OptionIter().reset(bytes, v.optionsOffset, v.optionsLength);
    expect(it.next()).toBe(true);
    expect(it.type).toBe(Ipv4OptionType.RouterAlert);
    expect(it.length).toBe(4);
    expect(it.dataOffset).toBe(22);
    expect(it.dataLength).toBe(2);
    expect(it.next()).toBe(false);
    expect(it.error).toBe(WireErrorCode.Ok);
  });

  it('ignores Ethernet padding after the total length', () => {
    const padded = new Uint8Array(46);
    padded.set(bytes);
    const v = new Ipv4View().reset(padded, 0, padded.length);
    expect(Ipv4View.check(padded, 0, padded.length)).toBe(WireErrorCode.Ok);
    expect(v.payloadLength).toBe(8);
    expect(parseIpv4Header(padded)).toEqual({ ok: true, value: repr });
  });

  it('constructs the canonical bytes through the view', () => {
    const b = new Uint8Array(24);
    const v = new Ipv4View().reset(b, 0, 24);
    v.version = 4;
    v.ihl = 6;
    v.dscp = 48;
    v.ecn = 0;
    v.totalLength = 32;
    v.ident = 0;
    v.dontFragment = true;
    v.moreFragments = false;
    v.fragmentOffset = 0;
    v.ttl = 1;
    v.protocol = IpProtocol.IGMP;
    v.src = repr.src;
    v.dst = repr.dst;
    b.set(repr.options, v.optionsOffset);
    v.fillChecksum();
    expect(b).toEqual(header);
    // The setters leave their neighbours alone.
    v.ecn = 3;
    v.moreFragments = true;
    v.fragmentOffset = 0x1abc;
    expect([v.dscp, v.ecn, v.dontFragment, v.moreFragments, v.fragmentOffset]).toEqual([48, 3, true, true, 0x1abc]);
    v.dontFragment = false;
    v.dscp = 1;
    expect([v.dscp, v.ecn, v.dontFragment, v.moreFragments, v.fragmentOffset]).toEqual([1, 3, false, true, 0x1abc]);
  });

  it('parses and emits the canonical bytes', () => {
    expect(parseIpv4Header(bytes)).toEqual({ ok: true, value: repr });
    expect(ipv4Len(repr)).toBe(24);
    const out = new Uint8Array(24);
    expect(emitIpv4(repr, out)).toBe(24);
    expect(out).toEqual(header);
    expect(formatIpv4Header(repr)).toBe('Internet Protocol Version 4, Src: 192.168.1.10, Dst: 239.1.1.1');
  });

  it('copies the options out of the buffer', () => {
    const b = bytes.slice();
    const r = parseIpv4Header(b);
    b[20] = 0;
    expect(r.ok && r.value.options[0]).toBe(0x94);
  });

  it('reports truncation at every shorter length', () => {
    for (let n = 0; n < bytes.length; n++) expectCode(bytes.subarray(0, n), WireErrorCode.Truncated);
  });

  it('tells malformation apart from truncation', () => {
    const b = bytes.slice();
    b[0] = 0x66;
    expectCode(b, WireErrorCode.BadVersion);
    b[0] = 0x44; // IHL 4
    expectCode(b, WireErrorCode.BadLength);
    b[0] = 0x46;
    b[3] = 23; // total length below the 24-byte header
    expectCode(b, WireErrorCode.BadLength);
    b[3] = 33; // one byte more than present
    expectCode(b, WireErrorCode.Truncated);
    b[0] = 0x4f; // IHL 15 = 60 bytes, more than present
    b[3] = 60;
    expectCode(b, WireErrorCode.Truncated);
  });

  it('reports fragments', () => {
    const b = bytes.slice();
    const v = new Ipv4View().reset(b, 0, b.length);
    v.moreFragments = true;
    expect([v.isFragment, v.isFirstFragment]).toEqual([true, true]);
    v.fragmentOffset = 185;
    expect([v.isFragment, v.isFirstFragment]).toEqual([true, false]);
    v.moreFragments = false;
    expect([v.isFragment, v.isFirstFragment]).toEqual([true, false]);
    v.fragmentOffset = 0;
    expect([v.isFragment, v.isFirstFragment]).toEqual([false, false]);
  });

  describe('option iterator', () => {
    const walk = (hex: string) => {
      const b = fromHex(hex);
      const it = new Ipv4OptionIter().reset(b, 0, b.length);
      const seen: [number, number, number][] = [];
      while (it.next()) seen.push([it.type, it.offset, it.length]);
      return { seen, error: it.error };
    };

    it('walks NOP, TLV and stops at End of List', () => {
      // NOP, Record Route (len 7, pointer 4, one empty slot), EOL, then junk after EOL.
      expect(walk('01 07 07 04 00000000 00 ff')).toEqual({
        seen: [
          [1, 0, 1],
          [7, 1, 7],
          [0, 8, 1],
        ],
        error: WireErrorCode.Ok,
      });
    });

    it('reports malformed lengths as BadOption', () => {
      expect(walk('94 01 00 00').error).toBe(WireErrorCode.BadOption); // length < 2
      expect(walk('01 94 06 00 00').error).toBe(WireErrorCode.BadOption); // runs past the area
      expect(walk('01 01 01 94').error).toBe(WireErrorCode.BadOption); // no length octet
      expect(walk('01 01 01 94').seen).toHaveLength(3);
    });

    it('reports BadOption through checkOptions without rejecting the datagram', () => {
      const b = bytes.slice();
      b[21] = 9; // Router Alert claims 9 bytes in a 4-byte area
      expect(Ipv4View.check(b, 0, b.length)).toBe(WireErrorCode.Ok);
      expect(new Ipv4View().reset(b, 0, b.length).checkOptions()).toBe(WireErrorCode.BadOption);
    });
  });

  it('refuses options that are not a multiple of 4 or too long, and short buffers', () => {
    expect(() => emitIpv4({ ...repr, options: new Uint8Array(3) }, new Uint8Array(60))).toThrow(ReprError);
    expect(() => emitIpv4({ ...repr, options: new Uint8Array(44) }, new Uint8Array(80))).toThrow(ReprError);
    expect(() => emitIpv4({ ...repr, payloadLength: 65535 }, new Uint8Array(60))).toThrow(ReprError);
    expect(() => emitIpv4(repr, new Uint8Array(23))).toThrow(EmitError);
  });

  const arbRepr: fc.Arbitrary<Ipv4Repr> = fc.record({
    dscp: fc.integer({ min: 0, max: 63 }),
    ecn: fc.integer({ min: 0, max: 3 }),
    ident: fc.integer({ min: 0, max: 0xffff }),
    dontFragment: fc.boolean(),
    moreFragments: fc.boolean(),
    fragmentOffset: fc.integer({ min: 0, max: 0x1fff }),
    ttl: fc.integer({ min: 0, max: 255 }),
    protocol: fc.integer({ min: 0, max: 255 }),
    src: fc.integer({ min: 0, max: 0xffffffff }),
    dst: fc.integer({ min: 0, max: 0xffffffff }),
    options: fc.integer({ min: 0, max: 10 }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w })),
    payloadLength: fc.integer({ min: 0, max: 200 }),
  });

  it('round-trips any header, also at an offset, with a valid checksum', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const b = new Uint8Array(at + ipv4Len(r) + r.payloadLength);
        expect(emitIpv4(r, b, at)).toBe(ipv4Len(r));
        expect(parseIpv4Header(b, at)).toEqual({ ok: true, value: r });
        const v = new Ipv4View().reset(b, at, b.length - at);
        expect(v.checksumValid()).toBe(true);
        expect(v.totalLength).toBe(ipv4Len(r) + r.payloadLength);
      }),
    );
  });

  it('never throws on arbitrary bytes, and accessors stay in range after check()', () => {
    const v = new Ipv4View();
    const it = new Ipv4OptionIter();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (b, force4) => {
        if (force4 && b.length > 0) b[0] = 0x40 | (b[0]! & 0x0f);
        const r = parseIpv4Header(b);
        if (Ipv4View.check(b, 0, b.length) !== WireErrorCode.Ok) {
          expect(r.ok).toBe(false);
          return;
        }
        expect(r.ok).toBe(true);
        v.reset(b, 0, b.length);
        expect(v.payloadOffset + v.payloadLength).toBeLessThanOrEqual(b.length);
        it.reset(b, v.optionsOffset, v.optionsLength);
        while (it.next()) expect(it.offset + it.length).toBeLessThanOrEqual(v.payloadOffset);
      }),
    );
  });

  describe('checksum', () => {
    it('breaks when any header byte changes', () => {
      for (let i = 0; i < header.length; i++) {
        for (const x of [0x01, 0x80, 0xff]) {
          const b = header.slice();
          b[i]! ^= x;
          expect(new Ipv4View().reset(b, 0, b.length).checksumValid(), `byte ${i} ^ ${x}`).toBe(false);
        }
      }
    });

    it('updates incrementally (RFC 1624) exactly as a recomputation', () => {
      fc.assert(
        fc.property(arbRepr, fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 255 }), (r, newSrc, ttl) => {
          const b = new Uint8Array(ipv4Len(r) + r.payloadLength);
          emitIpv4(r, b);
          const v = new Ipv4View().reset(b, 0, b.length);
          // NAT: rewrite the source address.
          const c1 = updateChecksum32(v.checksum, v.src, newSrc);
          v.src = newSrc;
          v.checksum = c1;
          expect(v.checksumValid()).toBe(true);
          // Router: set the TTL (shares a word with the protocol).
          const oldWord = (v.ttl << 8) | v.protocol;
          v.ttl = ttl;
          const c2 = updateChecksum16(v.checksum, oldWord, (ttl << 8) | v.protocol);
          v.checksum = c2;
          v.fillChecksum();
          expect(v.checksum).toBe(c2);
          expect(internetChecksum(b, 0, v.headerLength)).toBe(0);
        }),
      );
    });
  });

  const tshark = requireTools('tshark decoding of emitted frames', ['tshark'], 'apt-get install -y tshark');
  it.skipIf(tshark.skip)('emits frames tshark decodes the same way, with good checksums', () => {
    const A = parseIpv4('10.1.2.3');
    const B = parseIpv4('10.4.5.6');
    const frame = (ipOptions: Uint8Array, protocol: number, l4: (b: Uint8Array, at: number) => number, l4len: number) => {
      const ip: Ipv4Repr = { ...repr, ttl: 64, ident: 0x4242, protocol, src: A, dst: B, options: ipOptions, payloadLength: l4len };
      const b = new Uint8Array(14 + ipv4Len(ip) + l4len);
      emitEthernet({ dst: 2, src: 1, etherType: 0x0800 }, b);
      const at = 14 + emitIpv4(ip, b, 14);
      l4(b, at);
      return b;
    };
    const tcpOpts = fromHex('020405b4 0101 0402 01 030307 0101 080a 00000001 00000002');
    const tcpFrame = frame(fromHex('01010100'), IpProtocol.TCP, (b, at) => {
      const n = emitTcp({ srcPort: 40000, dstPort: 443, seq: 1000, ack: 2000, flags: TcpFlags.ACK | TcpFlags.PSH, window: 512, checksum: 0, urgent: 0, options: tcpOpts }, b, at);
      b.set(fromHex('68656c6c6f'), at + n);
      return fillTcpChecksumV4(b, at, 20 + tcpOpts.length + 5, A, B);
    }, 20 + tcpOpts.length + 5);
    const udpFrame = frame(new Uint8Array(0), IpProtocol.UDP, (b, at) => {
      emitUdp({ srcPort: 5000, dstPort: 6000, length: 11, checksum: 0 }, b, at);
      b.set([1, 2, 3], at + 8);
      return fillUdpChecksumV4(b, at, A, B);
    }, 11);
    const icmpFrame = frame(new Uint8Array(0), IpProtocol.ICMP, (b, at) => emitIcmpv4({ type: 8, code: 0, restOfHeader: 0x00070009, data: fromHex('0102030405') }, b, at), 13);
    const arpFrame = new Uint8Array(42);
    emitEthernet({ dst: 0xffffffffffff, src: 1, etherType: 0x0806 }, arpFrame);
    emitArp({ op: 2, sha: 0x0a0000000001, spa: A, tha: 0x0a0000000002, tpa: B }, arpFrame, 14);
    const rows = tsharkFields(
      [tcpFrame, udpFrame, icmpFrame, arpFrame],
      ['ip.checksum.status', 'ip.hdr_len', 'ip.opt.type', 'tcp.checksum.status', 'tcp.hdr_len', 'tcp.options.mss_val', 'tcp.options.wscale.shift', 'tcp.options.timestamp.tsval', 'tcp.len', 'udp.checksum.status', 'udp.length', 'icmp.checksum.status', 'icmp.seq', 'arp.opcode', 'arp.src.proto_ipv4', 'arp.dst.hw_mac'],
      ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE'],
    );
    expect(rows[0]).toEqual(['1', '24', '1,1,1,0', '1', '44', '1460', '7', '1', '5', '', '', '', '', '', '', '']);
    expect(rows[1]!.slice(0, 2)).toEqual(['1', '20']);
    expect(rows[1]!.slice(9, 11)).toEqual(['1', '11']);
    expect([rows[2]![0], rows[2]![11], rows[2]![12]]).toEqual(['1', '1', '9']);
    expect(rows[3]!.slice(13)).toEqual(['2', '10.1.2.3', '0a:00:00:00:00:02']);
  });
});
