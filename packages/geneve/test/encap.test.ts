import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  emitIpv4,
  emitIpv6,
  emitUdp,
  fillUdpChecksumV4,
  fillUdpChecksumV6,
  fromHex,
  internetChecksum,
  l4ChecksumV4,
  l4ChecksumV6,
  parseIpv4,
  parseIpv6,
  parseMac,
  setU16,
  toHex,
  ReprError,
  u16,
  WireErrorCode,
  ArgumentError,
} from '@ovnts/packet';
import {
  decapsulate,
  DecapResult,
  innerFlowHash,
  OVN_OPTION_ABSENT,
  OVN_OPTION_INVALID,
  sourcePortFromHash,
  TUNNEL_MAX_HEADROOM,
  TUNNEL_SRC_PORT_MAX,
  TUNNEL_SRC_PORT_MIN,
  TunnelEncap,
  TunnelKey,
  TunnelKind,
  type TunnelConfig,
} from '@ovnts/geneve';

// A frame from OVS's tests/tunnel-push-pop.at ("decapsulation of Geneve packet with options"):
// 1.1.2.92 -> 1.1.2.88, UDP 12424 -> 6081 (checksum 0), Geneve VNI 0x7b with options
// {0xffff,0x80,0xa}{0xffff,0,0xb}, inner ICMP echo reply 30.0.0.1 -> 30.0.0.2 (98 bytes).
const ovsFrame = fromHex(
  'aa55aa550000001b213cab64080045000096794640004011ba5b0101025c01010258308817c1008200000400655800007b00' +
    'ffff80010000000affff00010000000b' +
    'fe71d883724fbeb6f4e1494a080045000054ba200000400184861e0000011e00000200004227e75400030af3195500000000' +
    'f265010000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637',
);

// OVS's "tunnel_push_pop - packet_out debug_slow" expects this encapsulation (source port masked
// with .... there because it is a hash) of a 14-byte frame through a Geneve port with key=123,
// remote 1.1.2.92, from 1.1.2.88: IPv4 ident 0, DF, TTL 64, UDP checksum 0, no options.
const ovsEncapPrefix = 'f8bc124434b6aa55aa5500000800450000320000400040113406010102580101025c';
const ovsEncapSuffix = '17c1001e00000000655800007b00';
const ovsInner = fromHex('50540000000a5054000000091234');

const macA = parseMac('aa:55:aa:55:00:00');
const macB = parseMac('f8:bc:12:44:34:b6');
const v4cfg: TunnelConfig = { ethSrc: macA, ethDst: macB, src: parseIpv4('1.1.2.88'), dst: parseIpv4('1.1.2.92') };
const v6cfg: TunnelConfig = { ethSrc: macA, ethDst: macB, src: parseIpv6('2001:db8::88'), dst: parseIpv6('2001:db8::92') };

/** An inner UDP/IPv4 frame with the given ports. */
function innerUdp(sport: number, dport = 53, payload = 'deadbeef'): Uint8Array {
  const b = fromHex(`50540000000a 505400000009 0800 4500001c 00010000 40110000 c0a80001 c0a80002 0000 0000 000c 0000 ${payload}`);
  setU16(b, 14 + 2, b.length - 14);
  setU16(b, 34, sport);
  setU16(b, 36, dport);
  setU16(b, 38, b.length - 34);
  return b;
}

/** `frame` placed at `headroom` in a larger buffer. */
function withHeadroom(frame: Uint8Array, headroom = TUNNEL_MAX_HEADROOM): Uint8Array {
  const b = new Uint8Array(headroom + frame.length);
  b.set(frame, headroom);
  return b;
}

describe('encap', () => {
  it("matches OVS's Geneve encapsulation byte for byte (source port aside)", () => {
    const enc = new TunnelEncap({ ...v4cfg, ethDst: macB });
    const key = new TunnelKey();
    key.vni = 123;
    const buf = withHeadroom(ovsInner, 64);
    const n = enc.encap(key, buf, 64, ovsInner.length);
    expect(n).toBe(50 + 14);
    expect(enc.buf).toBe(buf);
    expect(enc.off).toBe(14);
    const hex = toHex(enc.buf, enc.off, enc.len);
    expect(hex.slice(0, ovsEncapPrefix.length)).toBe(ovsEncapPrefix);
    expect(hex.slice(ovsEncapPrefix.length + 4)).toBe(ovsEncapSuffix + toHex(ovsInner));
    const sport = u16(enc.buf, enc.off + 34);
    expect(sport).toBeGreaterThanOrEqual(TUNNEL_SRC_PORT_MIN);
  });

  it('decapsulates the OVS frame into its metadata', () => {
    const r = new DecapResult();
    expect(decapsulate(ovsFrame, 0, ovsFrame.length, r)).toBe(true);
    expect(r.ok).toBe(true);
    expect(r.kind).toBe(TunnelKind.Geneve);
    expect(r.vlanTci).toBe(-1);
    expect(r.ipVersion).toBe(4);
    expect(r.src4).toBe(parseIpv4('1.1.2.92'));
    expect(r.dst4).toBe(parseIpv4('1.1.2.88'));
    expect([r.ttl, r.tos, r.dontFragment]).toEqual([64, 0, true]);
    expect([r.srcPort, r.dstPort, r.udpChecksum]).toEqual([12424, 6081, 0]);
    expect([r.vni, r.oam, r.critical, r.protocolType]).toEqual([0x7b, false, false, 0x6558]);
    expect([r.optOffset, r.optLength]).toEqual([50, 16]);
    expect(r.ovnKeys).toBe(OVN_OPTION_ABSENT);
    expect([r.ovnIngress, r.ovnEgress]).toEqual([-1, -1]);
    expect(r.innerLength).toBe(98); // OVS counts rx bytes=98 for this frame
    expect(toHex(r.inner())).toBe(toHex(ovsFrame.subarray(66)));
    expect(r.inner().buffer).toBe(ovsFrame.buffer); // a view, not a copy
    expect(r.toError()).toBeUndefined();
  });

  for (const [name, cfg] of [
    ['IPv4, checksum off', v4cfg],
    ['IPv4, checksum on', { ...v4cfg, udpChecksum: true }],
    ['IPv6, checksum on', v6cfg],
    ['IPv6, zero checksum (RFC 6935)', { ...v6cfg, udpChecksum: false }],
    ['IPv4 over VLAN', { ...v4cfg, vlanTci: 0x2064 }],
  ] as [string, TunnelConfig][]) {
    it(`encap then decap returns the same inner bytes and OVN metadata: ${name}`, () => {
      const enc = new TunnelEncap(cfg);
      const inner = innerUdp(1234);
      const buf = withHeadroom(inner);
      const key = new TunnelKey().setOvn(7, 3, 0x8001);
      const n = enc.encap(key, buf, TUNNEL_MAX_HEADROOM, inner.length);
      expect(n).toBe(enc.headerLength(key) + inner.length);
      expect(enc.off).toBe(TUNNEL_MAX_HEADROOM - enc.headerLength(key));
      const udpOff = enc.off + enc.udpOffset;
      const v6 = typeof cfg.src === 'bigint';
      expect(u16(buf, udpOff + 6) !== 0).toBe(cfg.udpChecksum ?? v6);
      const r = new DecapResult();
      expect(decapsulate(enc.buf, enc.off, enc.len, r)).toBe(true);
      expect(toHex(r.inner())).toBe(toHex(inner));
      expect(r.innerOffset).toBe(TUNNEL_MAX_HEADROOM);
      expect([r.vni, r.ovnKeys, r.ovnIngress, r.ovnEgress, r.critical]).toEqual([7, (3 << 16) | 0x8001, 3, 0x8001, true]);
      expect(r.ipVersion).toBe(v6 ? 6 : 4);
      expect(r.vlanTci).toBe(cfg.vlanTci ?? -1);
      expect(r.ttl).toBe(64);
      if (v6) {
        expect(r.srcIp6()).toBe(cfg.src);
        expect(r.dstIp6()).toBe(cfg.dst);
      } else {
        expect([r.src4, r.dst4]).toEqual([cfg.src, cfg.dst]);
        expect(r.dontFragment).toBe(true);
        expect(internetChecksum(buf, enc.off + enc.ipOffset, 20)).toBe(0);
      }
      expect(r.srcPort).toBe(u16(buf, udpOff));
    });
  }

  it('encap then decap round-trips arbitrary frames, keys, options and configurations', () => {
    const arbCfg = fc.record({
      v6: fc.boolean(),
      vxlan: fc.boolean(),
      csum: fc.option(fc.boolean(), { nil: undefined }),
      vlan: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
      ttl: fc.integer({ min: 0, max: 255 }),
      tos: fc.integer({ min: 0, max: 255 }),
    });
    const arbOpts = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 4 })), { maxLength: 4 })
      .map((os) => {
        const parts = os.map(([c, t, w]) => `${c.toString(16).padStart(4, '0')}${t.toString(16).padStart(2, '0')}0${w}${'ab'.repeat(4 * w)}`);
        return fromHex(parts.join(''));
      });
    fc.assert(
      fc.property(
        arbCfg,
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 0xffffff }),
        fc.option(fc.tuple(fc.integer({ min: 0, max: 0x7fff }), fc.integer({ min: 0, max: 0xffff })), { nil: undefined }),
        arbOpts,
        fc.boolean(),
        (c, inner, vni, ovn, opts, useOut) => {
          const cfg: TunnelConfig = {
            ...(c.v6 ? v6cfg : v4cfg),
            kind: c.vxlan ? TunnelKind.Vxlan : TunnelKind.Geneve,
            udpChecksum: c.csum,
            vlanTci: c.vlan,
            ttl: c.ttl,
            tos: c.tos,
          };
          const enc = new TunnelEncap(cfg);
          const key = new TunnelKey();
          key.vni = vni;
          if (ovn) key.ovnKeys = (ovn[0] << 16) | ovn[1];
          key.setOptions(opts, 0, opts.length);
          const buf = withHeadroom(inner);
          const out = new Uint8Array(enc.headerLength(key) + inner.length + 5);
          if (useOut) enc.encap(key, buf, TUNNEL_MAX_HEADROOM, inner.length, out, 5);
          else enc.encap(key, buf, TUNNEL_MAX_HEADROOM, inner.length);
          const r = new DecapResult();
          expect(decapsulate(enc.buf, enc.off, enc.len, r)).toBe(true);
          expect(toHex(r.inner())).toBe(toHex(inner));
          expect(r.vni).toBe(vni);
          expect(r.kind).toBe(cfg.kind);
          expect([r.ttl, r.tos]).toEqual([c.ttl, c.tos]);
          if (c.vxlan) {
            expect(r.optLength).toBe(0);
            expect(r.ovnKeys).toBe(OVN_OPTION_ABSENT);
          } else {
            expect(r.ovnKeys).toBe(ovn ? (ovn[0] << 16) | ovn[1] : OVN_OPTION_ABSENT);
            expect(toHex(enc.buf, r.optOffset + (ovn ? 8 : 0), opts.length)).toBe(toHex(opts));
            expect(r.critical).toBe(ovn !== undefined);
          }
        },
      ),
    );
  });

  it('writes into an output buffer, or moves within the same buffer, with the same bytes', () => {
    const ident = { value: 9 };
    const enc = new TunnelEncap({ ...v4cfg, udpChecksum: true, ident });
    const inner = innerUdp(4321);
    const key = new TunnelKey().setOvn(1, 2, 3);
    const h = enc.headerLength(key);
    const head = withHeadroom(inner);
    enc.encap(key, head, TUNNEL_MAX_HEADROOM, inner.length);
    const expected = toHex(enc.buf, enc.off, enc.len);
    // A separate output buffer.
    ident.value = 9;
    const out = new Uint8Array(h + inner.length + 3);
    enc.encap(key, inner, 0, inner.length, out, 3);
    expect(enc.buf).toBe(out);
    expect(toHex(out, 3, enc.len)).toBe(expected);
    // The same buffer, frame at offset 0 (no headroom): the frame is moved back.
    const same = new Uint8Array(h + inner.length);
    same.set(inner, 0);
    ident.value = 9;
    enc.encap(key, same, 0, inner.length, same, 0);
    expect(toHex(same)).toBe(expected);
    // Not enough headroom without an output buffer is a caller error.
    expect(() => enc.encap(key, inner, 0, inner.length)).toThrow(RangeError);
    expect(() => enc.encap(key, same, 0, inner.length, new Uint8Array(10))).toThrow(RangeError);
  });

  it('reuses the options of a decapsulated frame when re-encapsulating in place', () => {
    // Forward the OVS frame to another tunnel with its own options: headroom is the old header.
    const buf = ovsFrame.slice();
    const r = new DecapResult();
    expect(decapsulate(buf, 0, buf.length, r)).toBe(true);
    const enc = new TunnelEncap(v4cfg);
    const key = new TunnelKey();
    key.vni = r.vni;
    key.setOptions(buf, r.optOffset, r.optLength);
    enc.encap(key, buf, r.innerOffset, r.innerLength);
    const r2 = new DecapResult();
    expect(decapsulate(enc.buf, enc.off, enc.len, r2)).toBe(true);
    expect(toHex(enc.buf, r2.optOffset, r2.optLength)).toBe('ffff80010000000affff00010000000b');
    expect(r2.critical).toBe(true);
    expect(toHex(r2.inner())).toBe(toHex(ovsFrame.subarray(66)));
  });

  it('counts the IPv4 identification from a caller-provided counter', () => {
    const ident = { value: 0xfffe };
    const enc = new TunnelEncap({ ...v4cfg, ident });
    const key = new TunnelKey();
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const buf = withHeadroom(ovsInner);
      enc.encap(key, buf, TUNNEL_MAX_HEADROOM, ovsInner.length);
      ids.push(u16(buf, enc.off + 14 + 4));
    }
    expect(ids).toEqual([0xfffe, 0xffff, 0]);
    expect(ident.value).toBe(1);
  });

  it('honours DF off, TTL, TOS, flow label, ports', () => {
    const enc = new TunnelEncap({ ...v4cfg, dontFragment: false, ttl: 9, tos: 0xb8, dstPort: 7000, srcPortMin: 1000, srcPortMax: 1000 });
    const buf = withHeadroom(ovsInner);
    enc.encap(new TunnelKey(), buf, TUNNEL_MAX_HEADROOM, ovsInner.length);
    const ip = enc.off + 14;
    expect([buf[ip + 1], u16(buf, ip + 6), buf[ip + 8]]).toEqual([0xb8, 0, 9]);
    expect([u16(buf, ip + 20), u16(buf, ip + 22)]).toEqual([1000, 7000]);
    const r = new DecapResult();
    expect(decapsulate(enc.buf, enc.off, enc.len, r)).toBe(false);
    expect([r.layer, r.code]).toEqual(['udp', WireErrorCode.BadValue]);
    expect(decapsulate(enc.buf, enc.off, enc.len, r, 7000)).toBe(true);
    const e6 = new TunnelEncap({ ...v6cfg, tos: 0xab, flowLabel: 0xabcde, ttl: 3 });
    const b6 = withHeadroom(ovsInner);
    e6.encap(new TunnelKey(), b6, TUNNEL_MAX_HEADROOM, ovsInner.length);
    expect(toHex(b6, e6.off + 14, 4)).toBe('6ababcde');
    expect(decapsulate(e6.buf, e6.off, e6.len, r)).toBe(true);
    expect([r.tos, r.ttl]).toEqual([0xab, 3]);
  });

  it('rejects bad configurations and keys', () => {
    expect(() => new TunnelEncap({ ...v4cfg, dst: 1n })).toThrow(ReprError);
    expect(() => new TunnelEncap({ ...v4cfg, ttl: 256 })).toThrow(ReprError);
    expect(() => new TunnelEncap({ ...v4cfg, srcPortMin: 2, srcPortMax: 1 })).toThrow(ReprError);
    expect(() => new TunnelEncap({ ...v4cfg, kind: 3 as never })).toThrow(ReprError);
    const enc = new TunnelEncap(v4cfg);
    const key = new TunnelKey();
    key.vni = 1 << 24;
    expect(() => enc.encap(key, withHeadroom(ovsInner), TUNNEL_MAX_HEADROOM, 14)).toThrow(ReprError);
    key.vni = 0;
    key.setOptions(new Uint8Array(256), 0, 256);
    expect(() => enc.encap(key, withHeadroom(ovsInner), TUNNEL_MAX_HEADROOM, 14)).toThrow(ReprError);
    expect(() => new TunnelKey().setOvn(1, 0x8000, 0)).toThrow(ReprError);
    key.setOptions(new Uint8Array(0), 0, 0);
    key.ovnKeys = 0x80000000;
    const untouched = withHeadroom(ovsInner);
    expect(() => enc.encap(key, untouched, TUNNEL_MAX_HEADROOM, 14)).toThrow(ReprError);
    expect(untouched.subarray(0, TUNNEL_MAX_HEADROOM).every((x) => x === 0)).toBe(true); // nothing written
    key.ovnKeys = -1;
    const badOpts = fromHex('ffff 00 02 00000000'); // claims 8 bytes of data, has 4
    key.setOptions(badOpts, 0, badOpts.length);
    expect(() => enc.encap(key, withHeadroom(ovsInner), TUNNEL_MAX_HEADROOM, 14)).toThrow(ReprError);
    key.setOptions(badOpts, 4, 8);
    expect(() => enc.encap(key, withHeadroom(ovsInner), TUNNEL_MAX_HEADROOM, 14)).toThrow(ReprError);
    const big = new Uint8Array(TUNNEL_MAX_HEADROOM + 65536);
    expect(() => enc.encap(new TunnelKey(), big, TUNNEL_MAX_HEADROOM, 65536)).toThrow(ReprError);
  });
});

describe('decap', () => {
  function encapsulated(cfg: TunnelConfig, inner = innerUdp(5555)): Uint8Array {
    const enc = new TunnelEncap(cfg);
    const buf = withHeadroom(inner);
    enc.encap(new TunnelKey().setOvn(5, 1, 2), buf, TUNNEL_MAX_HEADROOM, inner.length);
    return buf.slice(enc.off, enc.off + enc.len);
  }

  for (const v6 of [false, true]) {
    const cfg = v6 ? v6cfg : v4cfg;
    const udpOff = v6 ? 54 : 34;
    it(`accepts zero and correct UDP checksums and rejects a wrong one (${v6 ? 'IPv6' : 'IPv4'})`, () => {
      const r = new DecapResult();
      const zero = encapsulated({ ...cfg, udpChecksum: false });
      expect(u16(zero, udpOff + 6)).toBe(0);
      expect(decapsulate(zero, 0, zero.length, r)).toBe(true);
      const good = encapsulated({ ...cfg, udpChecksum: true });
      expect(u16(good, udpOff + 6)).not.toBe(0);
      expect(decapsulate(good, 0, good.length, r)).toBe(true);
      expect(r.udpChecksum).toBe(u16(good, udpOff + 6));
      // Independent check of the checksum we wrote.
      const ulen = good.length - udpOff;
      expect(v6 ? l4ChecksumV6(good, udpOff, ulen, 17, 14) : l4ChecksumV4(good, udpOff, ulen, 17, parseIpv4('1.1.2.88'), parseIpv4('1.1.2.92'))).toBe(0);
      for (const corrupt of [udpOff + 6, good.length - 1, udpOff + 8 + 4]) {
        const bad = good.slice();
        bad[corrupt] ^= corrupt === udpOff + 6 ? 0x01 : 0x40;
        expect(decapsulate(bad, 0, bad.length, r)).toBe(false);
        expect([r.layer, r.code, r.errorOffset]).toEqual(['udp', WireErrorCode.BadChecksum, udpOff + 6]);
        expect(r.toError()?.message).toBe(`udp: BadChecksum at offset ${udpOff + 6}`);
      }
      // A payload change in a zero-checksum frame goes unnoticed, as it must.
      const z2 = zero.slice();
      z2[z2.length - 1] ^= 0x40;
      expect(decapsulate(z2, 0, z2.length, r)).toBe(true);
    });
  }

  it('reports each malformation with its layer and offset', () => {
    const good = encapsulated(v4cfg);
    const r = new DecapResult();
    const cases: [string, (b: Uint8Array) => void, string, number, number][] = [
      ['not IP', (b) => setU16(b, 12, 0x0806), 'eth', WireErrorCode.BadValue, 12],
      ['IP version', (b) => (b[14] = 0x55), 'ipv4', WireErrorCode.BadVersion, 14],
      ['IHL', (b) => (b[14] = 0x44), 'ipv4', WireErrorCode.BadLength, 14],
      ['header checksum', (b) => (b[14 + 8] = 63), 'ipv4', WireErrorCode.BadChecksum, 24],
      ['total length short', (b) => setU16(b, 16, 19), 'ipv4', WireErrorCode.BadLength, 16],
      ['fragment', (b) => { setU16(b, 20, 0x2000); setU16(b, 24, 0); setU16(b, 24, internetChecksum(b, 14, 20)); }, 'ipv4', WireErrorCode.BadValue, 20],
      ['not UDP', (b) => { b[23] = 6; setU16(b, 24, 0); setU16(b, 24, internetChecksum(b, 14, 20)); }, 'ipv4', WireErrorCode.BadValue, 23],
      ['UDP length', (b) => setU16(b, 38, 7), 'udp', WireErrorCode.BadLength, 38],
      ['UDP length long', (b) => setU16(b, 38, 0xffff), 'udp', WireErrorCode.BadLength, 38],
      ['port', (b) => setU16(b, 36, 6082), 'udp', WireErrorCode.BadValue, 36],
      ['Geneve version', (b) => (b[42] |= 0x40), 'geneve', WireErrorCode.BadVersion, 42],
      ['Geneve option', (b) => (b[53] = 2), 'geneve', WireErrorCode.BadOption, 50],
      ['Geneve opt len', (b) => (b[42] = 0x3f), 'geneve', WireErrorCode.Truncated, 50],
    ];
    for (const [name, mutate, layer, code, at] of cases) {
      const b = good.slice();
      mutate(b);
      const okNow = decapsulate(b, 0, b.length, r);
      expect({ name, okNow, layer: r.layer, code: r.code, at: r.errorOffset }).toEqual({ name, okNow: false, layer, code, at });
    }
    // A malformed OVN option does not fail decapsulation: the keys are reported invalid.
    const b = good.slice();
    b[54] |= 0x80;
    expect(decapsulate(b, 0, b.length, r)).toBe(true);
    expect([r.ovnKeys, r.ovnIngress, r.ovnEgress]).toEqual([OVN_OPTION_INVALID, -1, -1]);
  });

  it('validates VXLAN and IPv6 specifics', () => {
    const r = new DecapResult();
    const vx = encapsulated({ ...v4cfg, kind: TunnelKind.Vxlan });
    expect(decapsulate(vx, 0, vx.length, r)).toBe(true);
    expect([r.kind, r.vni, r.dstPort, r.optLength]).toEqual([TunnelKind.Vxlan, 5, 4789, 0]);
    vx[42] = 0;
    expect(decapsulate(vx, 0, vx.length, r)).toBe(false);
    expect([r.layer, r.code, r.errorOffset]).toEqual(['vxlan', WireErrorCode.BadValue, 42]);
    const six = encapsulated(v6cfg);
    const jumbo = six.slice();
    setU16(jumbo, 18, 0);
    expect(decapsulate(jumbo, 0, jumbo.length, r)).toBe(false);
    expect([r.layer, r.code]).toEqual(['ipv6', WireErrorCode.BadLength]);
    const ext = six.slice();
    ext[20] = 0; // hop-by-hop options: not supported
    expect(decapsulate(ext, 0, ext.length, r)).toBe(false);
    expect([r.layer, r.code, r.errorOffset]).toEqual(['ipv6', WireErrorCode.BadValue, 20]);
    const ver = six.slice();
    ver[14] = 0x40;
    expect(decapsulate(ver, 0, ver.length, r)).toBe(false);
    expect([r.layer, r.code]).toEqual(['ipv6', WireErrorCode.BadVersion]);
  });

  it('ignores Ethernet padding after the IP datagram', () => {
    const f = encapsulated(v4cfg);
    const padded = new Uint8Array(f.length + 6);
    padded.set(f);
    const r = new DecapResult();
    expect(decapsulate(padded, 0, padded.length, r)).toBe(true);
    expect(r.innerOffset + r.innerLength).toBe(f.length);
  });

  it('reports truncation at every shorter length, never throwing', () => {
    for (const cfg of [v4cfg, v6cfg, { ...v4cfg, vlanTci: 5 }, { ...v6cfg, kind: TunnelKind.Vxlan }] as TunnelConfig[]) {
      const f = encapsulated(cfg);
      const r = new DecapResult();
      for (let n = 0; n < f.length; n++) {
        expect(decapsulate(f, 0, n, r)).toBe(false);
        expect(r.code).toBe(WireErrorCode.Truncated);
        expect(r.errorOffset).toBeLessThanOrEqual(n);
      }
      expect(decapsulate(f, 0, f.length, r)).toBe(true);
    }
  });

  it('never throws on arbitrary bytes, nor on mutations of a valid frame', () => {
    const r = new DecapResult();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(8), (b, at) => {
        const ok = decapsulate(b, Math.min(at, b.length), b.length - Math.min(at, b.length), r);
        expect(ok).toBe(r.code === WireErrorCode.Ok);
        if (ok) expect(r.innerOffset + r.innerLength).toBeLessThanOrEqual(b.length);
      }),
    );
    const base = encapsulated({ ...v6cfg, udpChecksum: false });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (muts) => {
        const b = base.slice();
        for (const [i, v] of muts) b[i] = v;
        const ok = decapsulate(b, 0, b.length, r);
        if (ok) expect(r.innerOffset + r.innerLength).toBeLessThanOrEqual(b.length);
      }),
    );
    // An offset or length outside the buffer is the caller's bug, refused with a typed error.
    expect(() => decapsulate(new Uint8Array(4), 8, 100, r)).toThrow(ArgumentError);
    expect(() => decapsulate(new Uint8Array(4), -1, 2, r)).toThrow(ArgumentError);
    expect(() => decapsulate(new Uint8Array(4), 0, NaN, r)).toThrow(/decapsulate: len must be an integer in 0\.\.4 .*, got NaN/);
    expect(decapsulate(new Uint8Array(4), 0, 4, r)).toBe(false);
  });
});

const PIN_A = 4210713274;
const PIN_L2 = 1284864744;

describe('source port hash', () => {
  it('is deterministic and depends on the flow, not on the payload', () => {
    const a = innerUdp(1000, 53, 'deadbeef');
    const b = innerUdp(1000, 53, '00000000');
    const c = innerUdp(1001, 53, 'deadbeef');
    expect(innerFlowHash(a, 0, a.length)).toBe(innerFlowHash(a.slice(), 0, a.length));
    expect(innerFlowHash(a, 0, a.length)).toBe(innerFlowHash(b, 0, b.length));
    expect(innerFlowHash(a, 0, a.length)).not.toBe(innerFlowHash(c, 0, c.length));
    expect(innerFlowHash(a, 0, a.length, 1)).not.toBe(innerFlowHash(a, 0, a.length, 2));
    // Pinned values: a change to the hash changes every tunnel's source ports across releases.
    expect(innerFlowHash(a, 0, a.length)).toBe(PIN_A);
    expect(innerFlowHash(ovsInner, 0, ovsInner.length)).toBe(PIN_L2);
    const enc = new TunnelEncap(v4cfg);
    const ports = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const buf = withHeadroom(a);
      enc.encap(new TunnelKey(), buf, TUNNEL_MAX_HEADROOM, a.length);
      ports.add(u16(buf, enc.off + 34));
    }
    expect(ports.size).toBe(1);
  });

  it('hashes fragments without ports, non-IP frames by MACs, and survives short frames', () => {
    const f1 = innerUdp(1000);
    const f2 = innerUdp(2000);
    for (const f of [f1, f2]) setU16(f, 20, 0x2000); // MF set
    expect(innerFlowHash(f1, 0, f1.length)).toBe(innerFlowHash(f2, 0, f2.length));
    const arp1 = fromHex('ffffffffffff 505400000001 0806 0001');
    const arp2 = fromHex('ffffffffffff 505400000002 0806 0001');
    expect(innerFlowHash(arp1, 0, arp1.length)).not.toBe(innerFlowHash(arp2, 0, arp2.length));
    for (let n = 0; n <= f1.length; n++) expect(innerFlowHash(f1, 0, n)).toBeGreaterThanOrEqual(0);
    // VLAN-tagged inner frames hash their IP flow.
    const tagged = fromHex(toHex(f1.subarray(0, 12)) + '81000005' + toHex(f1.subarray(12)));
    expect(innerFlowHash(tagged, 0, tagged.length)).toBe(innerFlowHash(f1, 0, f1.length));
  });

  it('maps into the range, reaching both ends', () => {
    expect(sourcePortFromHash(0)).toBe(TUNNEL_SRC_PORT_MIN);
    expect(sourcePortFromHash(0xffffffff)).toBe(TUNNEL_SRC_PORT_MAX);
    expect(sourcePortFromHash(0xffffffff, 10, 10)).toBe(10);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (h, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const p = sourcePortFromHash(h, lo, hi);
        expect(p >= lo && p <= hi && Number.isInteger(p)).toBe(true);
      }),
    );
  });

  it('spreads flows evenly over the range', () => {
    const enc = new TunnelEncap(v4cfg);
    const key = new TunnelKey();
    const buckets = new Array<number>(16).fill(0);
    const seen = new Set<number>();
    const N = 4096;
    for (let i = 0; i < N; i++) {
      const inner = innerUdp(10000 + i);
      const buf = withHeadroom(inner);
      enc.encap(key, buf, TUNNEL_MAX_HEADROOM, inner.length);
      const port = u16(buf, enc.off + 34);
      expect(port).toBeGreaterThanOrEqual(49152);
      seen.add(port);
      buckets[Math.floor((port - 49152) / 1024)]!++;
    }
    // 4096 balls in 16384 bins: about 3625 distinct expected.
    expect(seen.size).toBeGreaterThan(3450);
    for (const n of buckets) expect(n).toBeGreaterThan((N / 16) * 0.7);
    for (const n of buckets) expect(n).toBeLessThan((N / 16) * 1.3);
  });
});

// Our hand-written outer headers (bytes.ts + checksum.ts, allocation-free) must equal what the
// @ovnts/packet Repr emitters write for the same fields.
describe('outer headers against the @ovnts/packet emitters', () => {
  it('IPv4 + UDP header bytes and checksum agree', () => {
    const enc = new TunnelEncap({ ...v4cfg, udpChecksum: true, tos: 0xb9, ident: { value: 77 } });
    const inner = innerUdp(999);
    const buf = withHeadroom(inner);
    enc.encap(new TunnelKey().setOvn(5, 1, 2), buf, TUNNEL_MAX_HEADROOM, inner.length);
    const ip = enc.off + 14;
    const udp = ip + 20;
    const udpLen = enc.len - 34;
    const ref = new Uint8Array(20);
    emitIpv4(
      { dscp: 0xb9 >> 2, ecn: 1, ident: 77, dontFragment: true, moreFragments: false, fragmentOffset: 0, ttl: 64, protocol: 17, src: v4cfg.src as number, dst: v4cfg.dst as number, options: new Uint8Array(0), payloadLength: udpLen },
      ref,
      0,
    );
    expect(toHex(ref)).toBe(toHex(buf, ip, 20));
    const copy = buf.slice();
    emitUdp({ srcPort: u16(buf, udp), dstPort: 6081, length: udpLen, checksum: 0 }, copy, udp);
    fillUdpChecksumV4(copy, udp, v4cfg.src as number, v4cfg.dst as number);
    expect(toHex(copy, udp, 8)).toBe(toHex(buf, udp, 8));
  });

  it('IPv6 + UDP header bytes and checksum agree', () => {
    const enc = new TunnelEncap({ ...v6cfg, tos: 0x12, flowLabel: 0x54321, ttl: 17 });
    const inner = innerUdp(999);
    const buf = withHeadroom(inner);
    enc.encap(new TunnelKey().setOvn(5, 1, 2), buf, TUNNEL_MAX_HEADROOM, inner.length);
    const ip = enc.off + 14;
    const udp = ip + 40;
    const udpLen = enc.len - 54;
    const ref = new Uint8Array(40);
    emitIpv6({ trafficClass: 0x12, flowLabel: 0x54321, payloadLength: udpLen, nextHeader: 17, hopLimit: 17, src: v6cfg.src as bigint, dst: v6cfg.dst as bigint }, ref, 0);
    expect(toHex(ref)).toBe(toHex(buf, ip, 40));
    const copy = buf.slice();
    emitUdp({ srcPort: u16(buf, udp), dstPort: 6081, length: udpLen, checksum: 0 }, copy, udp);
    fillUdpChecksumV6(copy, udp, ip);
    expect(toHex(copy, udp, 8)).toBe(toHex(buf, udp, 8));
  });
});
