import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requireTools, tsharkInfo } from '@ovnts/testkit';
import {
  emitIgmp,
  fillIgmpChecksum,
  formatIgmp,
  fromHex,
  igmpLen,
  IgmpType,
  igmpV3CodeValue,
  IgmpView,
  parseIgmp,
  parseIpv4,
  verifyIgmpChecksum,
  WireErrorCode,
  type IgmpRepr,
} from '@ovnts/packet';

// Ethernet + IPv4 + IGMP frames, hand-built and decoded by tshark 4.0.17 (checksums "[correct]").
// The IGMP message starts at byte 34.
const FRAMES = {
  reportV2: '01005e00000100000000000108004500001c000000000102cee40a000001e00000fb16000904e00000fb',
  queryV3General: '01005e000001000000000001080045000020000000000102cfda0a000001e00000011164ec1e00000000027d0000',
  queryV3Specific: '01005e000001000000000001080045000028000000000102bfd90a000001effffffa110ae0b9effffffa0a3c00020a0000010a000002',
  reportV3:
    '01005e000001000000000001080045000034000000000102cfb10a000001e00000162200866a0000000204000000e00000fb01010001effffffa0a000001aabbccdd',
  leave: '01005e00000100000000000108004500001c000000000102cfdd0a000001e000000217000804e00000fb',
  queryV1: '01005e00000100000000000108004500001c000000000102cfde0a000001e00000011100eeff00000000',
  queryV2: '01005e00000100000000000108004500001c000000000102cee40a000001e00000fb11640da0e00000fb',
  reportV1: '01005e00000100000000000108004500001c000000000102cee40a000001e00000fb12000d04e00000fb',
} as const;
type Name = keyof typeof FRAMES;
const frame = (n: Name) => fromHex(FRAMES[n]);
const msg = (n: Name) => frame(n).subarray(34);
const names = Object.keys(FRAMES) as Name[];
const ip = parseIpv4;

const REPRS: Record<Name, IgmpRepr> = {
  reportV2: { kind: 'reportV2', group: ip('224.0.0.251') },
  queryV3General: { kind: 'queryV3', maxRespCode: 100, group: 0, suppress: false, qrv: 2, qqic: 125, sources: [] },
  queryV3Specific: {
    kind: 'queryV3',
    maxRespCode: 10,
    group: ip('239.255.255.250'),
    suppress: true,
    qrv: 2,
    qqic: 60,
    sources: [ip('10.0.0.1'), ip('10.0.0.2')],
  },
  reportV3: {
    kind: 'reportV3',
    records: [
      { type: 4, group: ip('224.0.0.251'), sources: [], auxData: new Uint8Array(0) },
      { type: 1, group: ip('239.255.255.250'), sources: [ip('10.0.0.1')], auxData: fromHex('aabbccdd') },
    ],
  },
  leave: { kind: 'leave', group: ip('224.0.0.251') },
  queryV1: { kind: 'queryV1', group: 0 },
  queryV2: { kind: 'queryV2', maxRespTime: 100, group: ip('224.0.0.251') },
  reportV1: { kind: 'reportV1', group: ip('224.0.0.251') },
};
const SUMMARIES: Record<Name, string> = {
  reportV2: 'Membership Report group 224.0.0.251',
  queryV3General: 'Membership Query, general',
  queryV3Specific: 'Membership Query, specific for group 239.255.255.250, sources {10.0.0.1, 10.0.0.2}',
  reportV3: 'Membership Report / Join group 224.0.0.251 for any sources / Join group 239.255.255.250 for source {10.0.0.1}',
  leave: 'Leave Group 224.0.0.251',
  queryV1: 'Membership Query',
  queryV2: 'Membership Query, specific for group 224.0.0.251',
  reportV1: 'Membership Report',
};

describe('igmp', () => {
  it('deconstructs an IGMPv3 query through the view', () => {
    const b = msg('queryV3Specific');
    expect(IgmpView.check(b, 0, b.length)).toBe(WireErrorCode.Ok);
    const v = new IgmpView().reset(b, 0, b.length);
    expect(v.type).toBe(IgmpType.MembershipQuery);
    expect(v.queryVersion).toBe(3);
    expect(v.maxRespCode).toBe(10);
    expect(v.checksum).toBe(0xe0b9);
    expect(v.checksumOk).toBe(true);
    expect(v.group).toBe(ip('239.255.255.250'));
    expect([v.suppress, v.qrv, v.qqic, v.numSources]).toEqual([true, 2, 60, 2]);
    expect([v.source(0), v.source(1)]).toEqual([ip('10.0.0.1'), ip('10.0.0.2')]);
    const q1 = new IgmpView().reset(msg('queryV1'), 0, 8);
    const q2 = new IgmpView().reset(msg('queryV2'), 0, 8);
    expect([q1.queryVersion, q2.queryVersion]).toEqual([1, 2]);
  });

  it('constructs the IGMPv3 query through the view setters', () => {
    const b = new Uint8Array(20);
    const v = new IgmpView().reset(b, 0, 20);
    v.type = IgmpType.MembershipQuery;
    v.maxRespCode = 10;
    v.group = ip('239.255.255.250');
    v.suppress = true;
    v.qrv = 2;
    v.qqic = 60;
    v.numSources = 2;
    b.set(fromHex('0a0000010a000002'), 12);
    v.fillChecksum();
    expect(b).toEqual(msg('queryV3Specific'));
    expect(fillIgmpChecksum(b, 0, 20)).toBe(0xe0b9);
  });

  it('parses, emits and formats every canonical message', () => {
    for (const n of names) {
      expect(parseIgmp(msg(n)), n).toEqual({ ok: true, value: REPRS[n] });
      const out = new Uint8Array(igmpLen(REPRS[n]));
      expect(emitIgmp(REPRS[n], out)).toBe(msg(n).length);
      expect(out, n).toEqual(msg(n));
      expect(formatIgmp(REPRS[n]), n).toBe(SUMMARIES[n]);
    }
  });

  const tshark = requireTools('tshark summaries', ['tshark'], 'apt-get install -y tshark');
  it.skipIf(tshark.skip)('emitted messages read back in tshark with our summaries', () => {
    const frames = names.map((n) => {
      const f = frame(n);
      f.fill(0, 34);
      emitIgmp(REPRS[n], f, 34);
      return f;
    });
    expect(tsharkInfo(frames)).toEqual(names.map((n) => SUMMARIES[n]));
  });

  it('verifies the checksum', () => {
    const b = msg('reportV3').slice();
    expect(verifyIgmpChecksum(b, 0, b.length)).toBe(true);
    b[b.length - 1]! ^= 0x40;
    expect(verifyIgmpChecksum(b, 0, b.length)).toBe(false);
    const r = parseIgmp(b);
    expect(!r.ok && r.error.code).toBe(WireErrorCode.BadChecksum);
  });

  it('decides the query version by length and Max Resp Code (RFC 3376 section 7.1)', () => {
    const b = msg('queryV3Specific');
    // 8 bytes: v1/v2 (the checksum no longer matches, so the view decides, not parse).
    expect(IgmpView.check(b, 0, 8)).toBe(WireErrorCode.Ok);
    expect(new IgmpView().reset(b, 0, 8).queryVersion).toBe(2);
    for (const k of [9, 10, 11]) {
      const r = parseIgmp(b.subarray(0, k));
      expect(!r.ok && r.error.code, `length ${k}`).toBe(WireErrorCode.BadLength);
    }
    for (let k = 12; k < b.length; k++) {
      const r = parseIgmp(b.subarray(0, k));
      expect(!r.ok && r.error.code, `length ${k}`).toBe(WireErrorCode.Truncated);
    }
  });

  it('reports Truncated at every shorter length of the other messages', () => {
    for (const n of names) {
      const b = msg(n);
      for (let k = 0; k < Math.min(b.length, 8); k++) {
        const r = parseIgmp(b.subarray(0, k));
        expect(!r.ok && r.error.code, `${n} at ${k}`).toBe(WireErrorCode.Truncated);
      }
    }
    const b = msg('reportV3');
    for (let k = 8; k < b.length; k++) {
      const r = parseIgmp(b.subarray(0, k));
      expect(!r.ok && r.error.code, `reportV3 at ${k}`).toBe(WireErrorCode.Truncated);
    }
  });

  it('decodes the exponential Max Resp Code / QQIC', () => {
    expect(igmpV3CodeValue(100)).toBe(100);
    // 0x80 | exp 2 | mant 3: (0x13) << (2 + 3)
    expect(igmpV3CodeValue(0xa3)).toBe(0x13 << 5);
  });

  const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
  const u8 = fc.integer({ min: 0, max: 255 });
  const arbRepr: fc.Arbitrary<IgmpRepr> = fc.oneof(
    fc.record({ kind: fc.constant('queryV1' as const), group: u32 }),
    fc.record({ kind: fc.constant('queryV2' as const), maxRespTime: fc.integer({ min: 1, max: 255 }), group: u32 }),
    fc.record({
      kind: fc.constant('queryV3' as const),
      maxRespCode: u8,
      group: u32,
      suppress: fc.boolean(),
      qrv: fc.integer({ min: 0, max: 7 }),
      qqic: u8,
      sources: fc.array(u32, { maxLength: 5 }),
    }),
    fc.record({ kind: fc.constantFrom('reportV1' as const, 'reportV2' as const, 'leave' as const), group: u32 }),
    fc.record({
      kind: fc.constant('reportV3' as const),
      records: fc.array(
        fc.record({
          type: u8,
          group: u32,
          sources: fc.array(u32, { maxLength: 4 }),
          auxData: fc.integer({ min: 0, max: 3 }).chain((k) => fc.uint8Array({ minLength: 4 * k, maxLength: 4 * k })),
        }),
        { maxLength: 4 },
      ),
    }),
    fc.record({
      kind: fc.constant('raw' as const),
      type: u8.filter((t) => ![0x11, 0x12, 0x16, 0x17, 0x22].includes(t)),
      code: u8,
      body: fc.uint8Array({ minLength: 4, maxLength: 20 }),
    }),
  );

  it('round-trips any message, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const n = igmpLen(r);
        const b = new Uint8Array(at + n);
        expect(emitIgmp(r, b, at)).toBe(n);
        expect(verifyIgmpChecksum(b, at, n)).toBe(true);
        expect(parseIgmp(b, at)).toEqual({ ok: true, value: r });
        expect(typeof formatIgmp(r)).toBe('string');
      }),
    );
  });

  it('never throws on arbitrary bytes (checksum fixed up so the decoders run)', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x11, 0x12, 0x16, 0x17, 0x22, 0x13), fc.uint8Array({ maxLength: 64 }), (t, rest) => {
        const b = Uint8Array.of(t, ...rest);
        if (b.length >= 4) fillIgmpChecksum(b, 0, b.length);
        const r = parseIgmp(b);
        expect(r.ok).toBe(IgmpView.check(b, 0, b.length) === WireErrorCode.Ok);
      }),
    );
  });
});
