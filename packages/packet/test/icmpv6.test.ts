import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requireTools, tsharkInfo } from '@ovnts/testkit';
import {
  emitIcmpv6,
  fillIcmpv6Checksum,
  formatIcmpv6,
  fromHex,
  icmpv6Len,
  Icmpv6Type,
  Icmpv6View,
  NdOptionIter,
  NdOptionType,
  parseIcmpv6,
  parseIpv6,
  parseMac,
  verifyIcmpv6Checksum,
  WireErrorCode,
  type Icmpv6Repr,
  type NdOption,
} from '@ovnts/packet';

// Whole Ethernet + IPv6 + ICMPv6 frames, hand-built and decoded by tshark 4.0.17 as
// `Neighbor Solicitation for fe80::200:ff:fe00:2 from 00:00:00:00:00:01`, etc., checksums
// "[correct]". The ICMPv6 message starts at byte 54, the IPv6 header at byte 14.
const FRAMES = {
  ns: '33330000000100000000000186dd6000000000203afffe80000000000000020000fffe000001ff0200000000000000000001ff00000287007a9700000000fe80000000000000020000fffe0000020101000000000001',
  na: '33330000000100000000000186dd6000000000203afffe80000000000000020000fffe000002fe80000000000000020000fffe0000018800171a60000000fe80000000000000020000fffe0000020201000000000002',
  ra: '33330000000100000000000186dd6000000000403afffe80000000000000020000fffe000001ff0200000000000000000000000000018600ee2840c007080000000000000000010100000000000105010000000005dc030440c000278d0000093a800000000020010db8000100000000000000000000',
  rs: '33330000000100000000000186dd6000000000103afffe80000000000000020000fffe000002ff02000000000000000000000000000285007b2a000000000101000000000002',
  echo: '33330000000100000000000186dd60000000000c3a40fe80000000000000020000fffe000001fe80000000000000020000fffe0000028000a9b81234000161626364',
  ptb: '33330000000100000000000186dd6000000000383a40fe80000000000000020000fffe000001fe80000000000000020000fffe0000020200e035000005006000000000083a40fe80000000000000020000fffe000002fe80000000000000020000fffe0000038000000000010002',
  redirect:
    '33330000000100000000000186dd6000000000303afffe80000000000000020000fffe000001fe80000000000000020000fffe0000028900484e00000000fe80000000000000020000fffe00000320010db80000000000000000000000010201000000000003',
} as const;
type Name = keyof typeof FRAMES;
const frame = (n: Name) => fromHex(FRAMES[n]);
const msg = (n: Name) => frame(n).subarray(54);

const mac1 = parseMac('00:00:00:00:00:01');
const mac2 = parseMac('00:00:00:00:00:02');
const mac3 = parseMac('00:00:00:00:00:03');
const node2 = parseIpv6('fe80::200:ff:fe00:2');
const node3 = parseIpv6('fe80::200:ff:fe00:3');

const REPRS: Record<Name, Icmpv6Repr> = {
  ns: { kind: 'neighborSolicitation', code: 0, target: node2, options: [{ kind: 'sourceLinkLayerAddress', mac: mac1 }] },
  na: {
    kind: 'neighborAdvertisement',
    code: 0,
    router: false,
    solicited: true,
    override: true,
    target: node2,
    options: [{ kind: 'targetLinkLayerAddress', mac: mac2 }],
  },
  ra: {
    kind: 'routerAdvertisement',
    code: 0,
    curHopLimit: 64,
    managed: true,
    otherConfig: true,
    reservedFlags: 0,
    routerLifetime: 1800,
    reachableTime: 0,
    retransTimer: 0,
    options: [
      { kind: 'sourceLinkLayerAddress', mac: mac1 },
      { kind: 'mtu', mtu: 1500 },
      {
        kind: 'prefixInformation',
        prefixLength: 64,
        onLink: true,
        autonomous: true,
        reservedFlags: 0,
        validLifetime: 2592000,
        preferredLifetime: 604800,
        prefix: parseIpv6('2001:db8:1::'),
      },
    ],
  },
  rs: { kind: 'routerSolicitation', code: 0, options: [{ kind: 'sourceLinkLayerAddress', mac: mac2 }] },
  echo: { kind: 'echo', type: 128, code: 0, identifier: 0x1234, sequence: 1, data: fromHex('61626364') },
  ptb: {
    kind: 'error',
    type: 2,
    code: 0,
    param: 1280,
    invoking: fromHex(
      '6000000000083a40fe80000000000000020000fffe000002fe80000000000000020000fffe0000038000000000010002',
    ),
  },
  redirect: {
    kind: 'redirect',
    code: 0,
    target: node3,
    destination: parseIpv6('2001:db8::1'),
    options: [{ kind: 'targetLinkLayerAddress', mac: mac3 }],
  },
};

// tshark's Info column for each frame (hop limit is the IPv6 layer's, not ours).
const SUMMARIES: Record<Name, string> = {
  ns: 'Neighbor Solicitation for fe80::200:ff:fe00:2 from 00:00:00:00:00:01',
  na: 'Neighbor Advertisement fe80::200:ff:fe00:2 (sol, ovr) is at 00:00:00:00:00:02',
  ra: 'Router Advertisement from 00:00:00:00:00:01',
  rs: 'Router Solicitation from 00:00:00:00:00:02',
  echo: 'Echo (ping) request id=0x1234, seq=1, hop limit=64',
  ptb: 'Packet Too Big',
  redirect: 'Redirect is at 00:00:00:00:00:03',
};

const names = Object.keys(FRAMES) as Name[];

describe('icmpv6', () => {
  it('deconstructs a Neighbor Solicitation through the view and the option iterator', () => {
    const b = msg('ns');
    expect(Icmpv6View.check(b, 0, b.length)).toBe(WireErrorCode.Ok);
    const v = new Icmpv6View().reset(b, 0, b.length);
    expect(v.type).toBe(Icmpv6Type.NeighborSolicitation);
    expect(v.code).toBe(0);
    expect(v.checksum).toBe(0x7a97);
    expect(v.targetOffset).toBe(8);
    expect(v.target).toBe(node2);
    expect(v.optionsOffset).toBe(24);
    const it = v.options(new NdOptionIter());
    expect(it.next()).toBe(true);
    expect(it.type).toBe(NdOptionType.SourceLinkLayerAddress);
    expect(it.optOff).toBe(24);
    expect(it.optLen).toBe(8);
    expect(it.mac).toBe(mac1);
    expect(it.next()).toBe(false);
    expect(it.error).toBe(WireErrorCode.Ok);
  });

  it('deconstructs RA, NA, echo and Packet Too Big fields', () => {
    const ra = new Icmpv6View().reset(msg('ra'), 0, msg('ra').length);
    expect([ra.curHopLimit, ra.managed, ra.otherConfig, ra.routerLifetime, ra.reachableTime, ra.retransTimer]).toEqual([
      64, true, true, 1800, 0, 0,
    ]);
    const na = new Icmpv6View().reset(msg('na'), 0, 32);
    expect([na.router, na.solicited, na.override]).toEqual([false, true, true]);
    const echo = new Icmpv6View().reset(msg('echo'), 0, 12);
    expect([echo.identifier, echo.sequence]).toEqual([0x1234, 1]);
    const ptb = new Icmpv6View().reset(msg('ptb'), 0, msg('ptb').length);
    expect(ptb.mtu).toBe(1280);
    expect(ptb.invokingOffset).toBe(8);
  });

  it('verifies the checksums of the canonical frames against their IPv6 headers', () => {
    for (const n of names) {
      const f = frame(n);
      expect(verifyIcmpv6Checksum(f, 54, f.length - 54, 14), n).toBe(true);
      f[f.length - 1]! ^= 1;
      expect(verifyIcmpv6Checksum(f, 54, f.length - 54, 14), n).toBe(false);
    }
  });

  it('constructs the Neighbor Solicitation through the view setters', () => {
    const f = frame('ns');
    f.fill(0, 54);
    const v = new Icmpv6View().reset(f, 54, 32);
    v.type = Icmpv6Type.NeighborSolicitation;
    v.code = 0;
    v.target = node2;
    f[78] = NdOptionType.SourceLinkLayerAddress;
    f[79] = 1;
    f[85] = 1;
    expect(fillIcmpv6Checksum(f, 54, 32, 14)).toBe(0x7a97);
    expect(f).toEqual(frame('ns'));
  });

  it('parses every canonical message', () => {
    for (const n of names) expect(parseIcmpv6(msg(n)), n).toEqual({ ok: true, value: REPRS[n] });
  });

  it('emits every canonical message, checksum included', () => {
    for (const n of names) {
      const f = frame(n);
      f.fill(0, 54);
      expect(icmpv6Len(REPRS[n])).toBe(f.length - 54);
      expect(emitIcmpv6(REPRS[n], f, 54, 14)).toBe(f.length - 54);
      expect(f, n).toEqual(frame(n));
    }
  });

  it('formats like tshark', () => {
    for (const n of names) expect(formatIcmpv6(REPRS[n])).toBe(SUMMARIES[n].replace(/, hop limit=\d+$/, ''));
  });

  const tshark = requireTools('tshark summaries', ['tshark'], 'apt-get install -y tshark');
  it.skipIf(tshark.skip)('emitted frames read back in tshark with our summaries', () => {
    const frames = names.map((n) => {
      const f = frame(n);
      f.fill(0, 54);
      emitIcmpv6(REPRS[n], f, 54, 14);
      return f;
    });
    expect(tsharkInfo(frames)).toEqual(names.map((n) => SUMMARIES[n]));
  });

  it('reports truncation: Truncated inside the fixed part or an option, a shorter option list at boundaries', () => {
    for (const n of names) {
      const b = msg(n);
      const r = REPRS[n];
      const opts = 'options' in r ? r.options : [];
      const fixed = r.kind === 'error' || r.kind === 'echo' ? 8 : b.length - opts.reduce((a, o) => a + optLen(o), 0);
      const boundaries = new Set<number>([fixed]);
      let p = fixed;
      for (const o of opts) boundaries.add((p += optLen(o)));
      for (let k = 0; k < b.length; k++) {
        const res = parseIcmpv6(b.subarray(0, k));
        if (k < 8 || (k < fixed && r.kind !== 'error' && r.kind !== 'echo')) {
          expect(res.ok, `${n} at ${k}`).toBe(false);
          if (!res.ok) expect(res.error.code).toBe(WireErrorCode.Truncated);
        } else if (r.kind === 'error' || r.kind === 'echo') {
          // The invoking packet / echo data is "as much as fits": any length from 8 parses.
          expect(res.ok, `${n} at ${k}`).toBe(true);
        } else if (boundaries.has(k)) {
          expect(res.ok, `${n} at ${k}`).toBe(true);
          if (res.ok && 'options' in res.value) expect(res.value.options.length).toBeLessThan(opts.length);
        } else {
          expect(res.ok, `${n} at ${k}`).toBe(false);
          if (!res.ok) expect(res.error.code).toBe(WireErrorCode.Truncated);
        }
      }
    }
  });

  it('rejects a zero-length ND option as BadOption (RFC 4861: such packets must be discarded)', () => {
    const b = msg('ns').slice();
    b[25] = 0;
    expect(Icmpv6View.check(b, 0, b.length)).toBe(WireErrorCode.BadOption);
    const r = parseIcmpv6(b);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(WireErrorCode.BadOption);
    // The iterator stops on it too, without spinning.
    const it = new NdOptionIter().reset(b, 24, b.length);
    expect(it.next()).toBe(false);
    expect(it.error).toBe(WireErrorCode.BadOption);
  });

  it('rejects a Prefix Information option of the wrong length as BadOption', () => {
    const b = msg('ra').slice();
    // Make the MTU option (at 24) claim type 3 (Prefix Information) with its length of 1.
    b[24] = NdOptionType.PrefixInformation;
    const r = parseIcmpv6(b);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(WireErrorCode.BadOption);
  });

  it('keeps unknown options and MLD types raw', () => {
    const b = new Uint8Array(16 + 8);
    b[0] = 133;
    b[8] = 31;
    b[9] = 2;
    b.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 10);
    const r = parseIcmpv6(b);
    expect(r.ok && r.value.kind === 'routerSolicitation' && r.value.options).toEqual([
      { kind: 'raw', type: 31, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]) },
    ]);
    const mld = parseIcmpv6(fromHex('83007d2f00000000ff0200000000000000000000000000fb'));
    expect(mld.ok && mld.value).toEqual({ kind: 'raw', type: 131, code: 0, body: fromHex('00000000ff0200000000000000000000000000fb') });
    if (mld.ok) expect(formatIcmpv6(mld.value)).toBe('Multicast Listener Report');
  });

  const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u8 = fc.integer({ min: 0, max: 255 });
  const ip6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
  const mac = fc.integer({ min: 0, max: 2 ** 48 - 1 });
  const arbOption: fc.Arbitrary<NdOption> = fc.oneof(
    fc.record({ kind: fc.constant('sourceLinkLayerAddress' as const), mac }),
    fc.record({ kind: fc.constant('targetLinkLayerAddress' as const), mac }),
    fc.record({ kind: fc.constant('mtu' as const), mtu: u32 }),
    fc.record({
      kind: fc.constant('prefixInformation' as const),
      prefixLength: u8,
      onLink: fc.boolean(),
      autonomous: fc.boolean(),
      reservedFlags: fc.integer({ min: 0, max: 0x3f }),
      validLifetime: u32,
      preferredLifetime: u32,
      prefix: ip6,
    }),
    fc.record({
      kind: fc.constant('raw' as const),
      type: u8.filter((t) => t !== 1 && t !== 2 && t !== 3 && t !== 5),
      data: fc.integer({ min: 0, max: 4 }).chain((k) => fc.uint8Array({ minLength: 8 * k + 6, maxLength: 8 * k + 6 })),
    }),
  );
  const options = fc.array(arbOption, { maxLength: 4 });
  const arbRepr: fc.Arbitrary<Icmpv6Repr> = fc.oneof(
    fc.record({ kind: fc.constant('error' as const), type: fc.integer({ min: 1, max: 4 }), code: u8, param: u32, invoking: fc.uint8Array({ maxLength: 64 }) }),
    fc.record({ kind: fc.constant('echo' as const), type: fc.constantFrom(128, 129), code: u8, identifier: u16, sequence: u16, data: fc.uint8Array({ maxLength: 32 }) }),
    fc.record({ kind: fc.constant('routerSolicitation' as const), code: u8, options }),
    fc.record({
      kind: fc.constant('routerAdvertisement' as const),
      code: u8,
      curHopLimit: u8,
      managed: fc.boolean(),
      otherConfig: fc.boolean(),
      reservedFlags: fc.integer({ min: 0, max: 0x3f }),
      routerLifetime: u16,
      reachableTime: u32,
      retransTimer: u32,
      options,
    }),
    fc.record({ kind: fc.constant('neighborSolicitation' as const), code: u8, target: ip6, options }),
    fc.record({
      kind: fc.constant('neighborAdvertisement' as const),
      code: u8,
      router: fc.boolean(),
      solicited: fc.boolean(),
      override: fc.boolean(),
      target: ip6,
      options,
    }),
    fc.record({ kind: fc.constant('redirect' as const), code: u8, target: ip6, destination: ip6, options }),
    fc.record({
      kind: fc.constant('raw' as const),
      type: u8.filter((t) => !(t >= 1 && t <= 4) && !(t >= 128 && t <= 137)),
      code: u8,
      body: fc.uint8Array({ minLength: 4, maxLength: 32 }),
    }),
  );

  it('round-trips any message, also at an offset, with a verifying checksum', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const n = icmpv6Len(r);
        const b = new Uint8Array(at + 40 + n);
        b.set(frame('ns').subarray(14, 54), at); // an IPv6 header to checksum against
        expect(emitIcmpv6(r, b, at + 40, at)).toBe(n);
        expect(verifyIcmpv6Checksum(b, at + 40, n, at)).toBe(true);
        expect(parseIcmpv6(b, at + 40)).toEqual({ ok: true, value: r });
        expect(typeof formatIcmpv6(r)).toBe('string');
      }),
    );
  });

  it('never throws on arbitrary bytes, and every accepted ND message walks cleanly', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 128, 133, 134, 135, 136, 137, 200), fc.uint8Array({ maxLength: 96 }), (t, rest) => {
        const b = Uint8Array.of(t, ...rest);
        const r = parseIcmpv6(b);
        if (Icmpv6View.check(b, 0, b.length) === WireErrorCode.Ok) {
          const v = new Icmpv6View().reset(b, 0, b.length);
          const it = v.options(new NdOptionIter());
          let guard = 0;
          while (it.next()) expect(it.optOff + it.optLen).toBeLessThanOrEqual(b.length), guard++;
          expect(it.error).toBe(WireErrorCode.Ok);
          expect(guard).toBeLessThanOrEqual(b.length / 8);
        } else {
          expect(r.ok).toBe(false);
        }
      }),
    );
  });
});

function optLen(o: NdOption): number {
  return o.kind === 'prefixInformation' ? 32 : o.kind === 'raw' ? o.data.length + 2 : 8;
}
