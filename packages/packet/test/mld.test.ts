import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requireTools, tsharkInfo } from '@ovnts/testkit';
import {
  emitMld,
  fillIcmpv6Checksum,
  formatMld,
  fromHex,
  mldLen,
  mldMaxRespDelay,
  MldType,
  MldView,
  parseIpv6,
  parseMld,
  verifyIcmpv6Checksum,
  WireErrorCode,
  type MldRepr,
} from '@ovnts/packet';

// Ethernet + IPv6 + MLD frames, hand-built and decoded by tshark 4.0.17 (checksums "[correct]").
// The MLD message starts at byte 54, the IPv6 header at byte 14.
const FRAMES = {
  queryV2:
    '33330000000100000000000186dd60000000002c3afffe80000000000000020000fffe000001ff020000000000000000000000000001820027cd27100000ff0200000000000000000000000000fb027d000120010db8000000000000000000000001',
  reportV2:
    '33330000000100000000000186dd6000000000443a01fe80000000000000020000fffe000001ff0200000000000000000000000000168f003c1d0000000204000000ff0200000000000000000000000000fb01010001ff02000000000000000000000001000320010db800000000000000000000000101020304',
  queryV1:
    '33330000000100000000000186dd6000000000183a01fe80000000000000020000fffe000001ff020000000000000000000000000001820058172710000000000000000000000000000000000000',
  reportV1:
    '33330000000100000000000186dd6000000000183a01fe80000000000000020000fffe000001ff0200000000000000000000000000fb83007d2f00000000ff0200000000000000000000000000fb',
  done: '33330000000100000000000186dd6000000000183a01fe80000000000000020000fffe000001ff02000000000000000000000000000284007d2800000000ff0200000000000000000000000000fb',
} as const;
type Name = keyof typeof FRAMES;
const frame = (n: Name) => fromHex(FRAMES[n]);
const msg = (n: Name) => frame(n).subarray(54);
const names = Object.keys(FRAMES) as Name[];

const mdns = parseIpv6('ff02::fb');
const REPRS: Record<Name, MldRepr> = {
  queryV2: { kind: 'queryV2', maxRespCode: 10000, group: mdns, suppress: false, qrv: 2, qqic: 125, sources: [parseIpv6('2001:db8::1')] },
  reportV2: {
    kind: 'reportV2',
    records: [
      { type: 4, group: mdns, sources: [], auxData: new Uint8Array(0) },
      { type: 1, group: parseIpv6('ff02::1:3'), sources: [parseIpv6('2001:db8::1')], auxData: fromHex('01020304') },
    ],
  },
  queryV1: { kind: 'queryV1', maxRespDelay: 10000, group: 0n },
  reportV1: { kind: 'reportV1', group: mdns },
  done: { kind: 'done', group: mdns },
};
const SUMMARIES: Record<Name, string> = {
  queryV2: 'Multicast Listener Query',
  reportV2: 'Multicast Listener Report Message v2',
  queryV1: 'Multicast Listener Query',
  reportV1: 'Multicast Listener Report',
  done: 'Multicast Listener Done',
};

describe('mld', () => {
  it('deconstructs an MLDv2 query through the view', () => {
    const b = msg('queryV2');
    expect(MldView.check(b, 0, b.length)).toBe(WireErrorCode.Ok);
    const v = new MldView().reset(b, 0, b.length);
    expect(v.type).toBe(MldType.Query);
    expect(v.checksum).toBe(0x27cd);
    expect(v.isV2Query).toBe(true);
    expect(v.maxRespCode).toBe(10000);
    expect(v.group).toBe(mdns);
    expect([v.suppress, v.qrv, v.qqic, v.numSources]).toEqual([false, 2, 125, 1]);
    expect(v.sourceOffset(0)).toBe(28);
    const r = new MldView().reset(msg('reportV2'), 0, msg('reportV2').length);
    expect([r.numRecords, r.recordsOffset]).toEqual([2, 8]);
  });

  it('constructs the MLDv2 query through the view setters', () => {
    const f = frame('queryV2');
    f.fill(0, 54);
    const v = new MldView().reset(f, 54, 44);
    v.type = MldType.Query;
    v.maxRespCode = 10000;
    v.group = mdns;
    v.suppress = true;
    v.suppress = false;
    v.qrv = 2;
    v.qqic = 125;
    v.numSources = 1;
    f.set(fromHex('20010db8000000000000000000000001'), v.sourceOffset(0));
    expect(fillIcmpv6Checksum(f, 54, 44, 14)).toBe(0x27cd);
    expect(f).toEqual(frame('queryV2'));
  });

  it('parses, emits (with the checksum) and formats every canonical message', () => {
    for (const n of names) {
      expect(parseMld(msg(n)), n).toEqual({ ok: true, value: REPRS[n] });
      expect(verifyIcmpv6Checksum(frame(n), 54, frame(n).length - 54, 14)).toBe(true);
      const f = frame(n);
      f.fill(0, 54);
      expect(emitMld(REPRS[n], f, 54, 14)).toBe(mldLen(REPRS[n]));
      expect(f, n).toEqual(frame(n));
      expect(formatMld(REPRS[n])).toBe(SUMMARIES[n]);
    }
  });

  const tshark = requireTools('tshark summaries', ['tshark'], 'apt-get install -y tshark');
  it.skipIf(tshark.skip)('emitted frames read back in tshark with our summaries', () => {
    const frames = names.map((n) => {
      const f = frame(n);
      f.fill(0, 54);
      emitMld(REPRS[n], f, 54, 14);
      return f;
    });
    expect(tsharkInfo(frames)).toEqual(names.map((n) => SUMMARIES[n]));
  });

  it('decides the query version by length (RFC 3810 section 8.1)', () => {
    const b = msg('queryV2');
    const at = (k: number) => parseMld(b.subarray(0, k));
    const v1 = at(24);
    expect(v1.ok && v1.value.kind).toBe('queryV1');
    for (const k of [25, 26, 27]) {
      const r = at(k);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(WireErrorCode.BadLength);
    }
    // 28..43: a v2 query whose declared source does not fit.
    for (let k = 28; k < 44; k++) {
      const r = at(k);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(WireErrorCode.Truncated);
    }
  });

  it('reports Truncated at every shorter length of the other messages', () => {
    for (const n of ['reportV2', 'queryV1', 'reportV1', 'done'] as const) {
      const b = msg(n);
      for (let k = 0; k < b.length; k++) {
        const r = parseMld(b.subarray(0, k));
        expect(r.ok, `${n} at ${k}`).toBe(false);
        if (!r.ok) expect(r.error.code).toBe(WireErrorCode.Truncated);
      }
    }
  });

  it('rejects non-MLD types and ignores trailing bytes', () => {
    const b = msg('done').slice();
    b[0] = 135;
    const r = parseMld(b);
    expect(!r.ok && r.error.code).toBe(WireErrorCode.BadValue);
    const longer = new Uint8Array(msg('queryV2').length + 4);
    longer.set(msg('queryV2'));
    expect(parseMld(longer)).toEqual({ ok: true, value: REPRS.queryV2 });
  });

  it('decodes the exponential Maximum Response Code', () => {
    expect(mldMaxRespDelay(10000)).toBe(10000);
    // 0x8000 | exp 1 | mant 0x234: (0x1234) << (1 + 3)
    expect(mldMaxRespDelay(0x9234)).toBe(0x1234 * 16);
  });

  const ip6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const arbRepr: fc.Arbitrary<MldRepr> = fc.oneof(
    fc.record({ kind: fc.constant('queryV1' as const), maxRespDelay: u16, group: ip6 }),
    fc.record({
      kind: fc.constant('queryV2' as const),
      maxRespCode: u16,
      group: ip6,
      suppress: fc.boolean(),
      qrv: fc.integer({ min: 0, max: 7 }),
      qqic: fc.integer({ min: 0, max: 255 }),
      sources: fc.array(ip6, { maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant('reportV1' as const), group: ip6 }),
    fc.record({ kind: fc.constant('done' as const), group: ip6 }),
    fc.record({
      kind: fc.constant('reportV2' as const),
      records: fc.array(
        fc.record({
          type: fc.integer({ min: 0, max: 255 }),
          group: ip6,
          sources: fc.array(ip6, { maxLength: 3 }),
          auxData: fc.integer({ min: 0, max: 3 }).chain((k) => fc.uint8Array({ minLength: 4 * k, maxLength: 4 * k })),
        }),
        { maxLength: 4 },
      ),
    }),
  );

  it('round-trips any message, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const n = mldLen(r);
        const b = new Uint8Array(at + n);
        expect(emitMld(r, b, at)).toBe(n);
        expect(parseMld(b, at)).toEqual({ ok: true, value: r });
        expect(formatMld(r)).toMatch(/^Multicast Listener/);
      }),
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.constantFrom(130, 131, 132, 143, 1), fc.uint8Array({ maxLength: 128 }), (t, rest) => {
        const b = Uint8Array.of(t, ...rest);
        const r = parseMld(b);
        expect(r.ok).toBe(MldView.check(b, 0, b.length) === WireErrorCode.Ok);
      }),
    );
  });
});
