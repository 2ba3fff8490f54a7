import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requireTools, tsharkInfo } from '@ovnts/testkit';
import {
  dhcpv6Len,
  Dhcpv6MessageType,
  Dhcpv6Option,
  Dhcpv6OptionIter,
  Dhcpv6View,
  emitDhcpv6,
  formatDhcpv6,
  fromHex,
  parseDhcpv6,
  parseIpv6,
  WireErrorCode,
  type Dhcpv6OptionRepr,
  type Dhcpv6Repr,
} from '@ovnts/packet';

// Ethernet + IPv6 + UDP + DHCPv6 frames, hand-built and decoded by tshark 4.0.17 (IA_NA with an
// IA Address holding a Status Code, DNS servers, domain list "example.com.", a Relay-forw
// carrying the Solicit). The DHCPv6 message starts at byte 62.
const FRAMES = {
  solicit:
    '33330001000200000000000186dd6000000000401140fe80000000000000020000fffe000001ff0200000000000000000000000100020222022300406cf1011a2b3c0001000e000100011c39cf88080027fe8f950003000c27fe8f9500000000000000000008000200000006000400170018000e0000',
  reply:
    '33330001000200000000000186dd60000000008e1140fe80000000000000020000fffe000001ff02000000000000000000000001000202220223008ea964071a2b3c0001000e000100011c39cf88080027fe8f950002000e000100011d2e3f40525400aabbcc0003003527fe8f9500000e1000001c200005002520010db800000000000000000001010000001c2000002a30000d000900007375636365737300170010200148604860000000000000000088880018000d076578616d706c6503636f6d00',
  relay:
    '33330001000200000000000186dd60000000006e1140fe80000000000000020000fffe000001ff02000000000000000000000001000202220223006ea5c90c0020010db8000100000000000000000001fe800000000000000a0027fffefe8f95001200046574683000090038011a2b3c0001000e000100011c39cf88080027fe8f950003000c27fe8f9500000000000000000008000200000006000400170018000e0000',
} as const;
type Name = keyof typeof FRAMES;
const frame = (n: Name) => fromHex(FRAMES[n]);
const msg = (n: Name) => frame(n).subarray(62);
const names = Object.keys(FRAMES) as Name[];

const clientId: Dhcpv6OptionRepr = { kind: 'clientId', duid: fromHex('000100011c39cf88080027fe8f95') };
const solicit: Dhcpv6Repr = {
  kind: 'message',
  msgType: Dhcpv6MessageType.Solicit,
  transactionId: 0x1a2b3c,
  options: [
    clientId,
    { kind: 'iaNa', iaid: 0x27fe8f95, t1: 0, t2: 0, options: [] },
    { kind: 'elapsedTime', centiseconds: 0 },
    { kind: 'oro', codes: [23, 24] },
    { kind: 'rapidCommit' },
  ],
};
const REPRS: Record<Name, Dhcpv6Repr> = {
  solicit,
  reply: {
    kind: 'message',
    msgType: Dhcpv6MessageType.Reply,
    transactionId: 0x1a2b3c,
    options: [
      clientId,
      { kind: 'serverId', duid: fromHex('000100011d2e3f40525400aabbcc') },
      {
        kind: 'iaNa',
        iaid: 0x27fe8f95,
        t1: 3600,
        t2: 7200,
        options: [
          {
            kind: 'iaAddr',
            address: parseIpv6('2001:db8::1:100'),
            preferredLifetime: 7200,
            validLifetime: 10800,
            options: [{ kind: 'statusCode', status: 0, message: 'success' }],
          },
        ],
      },
      { kind: 'dnsServers', servers: [parseIpv6('2001:4860:4860::8888')] },
      { kind: 'domainList', domains: ['example.com'] },
    ],
  },
  relay: {
    kind: 'relay',
    msgType: Dhcpv6MessageType.RelayForw,
    hopCount: 0,
    linkAddress: parseIpv6('2001:db8:1::1'),
    peerAddress: parseIpv6('fe80::a00:27ff:fefe:8f95'),
    options: [
      { kind: 'raw', code: Dhcpv6Option.InterfaceId, data: fromHex('65746830') },
      { kind: 'relayMessage', message: solicit },
    ],
  },
};
const SUMMARIES: Record<Name, string> = {
  solicit: 'Solicit XID: 0x1a2b3c CID: 000100011c39cf88080027fe8f95',
  reply: 'Reply XID: 0x1a2b3c CID: 000100011c39cf88080027fe8f95 IAA: 2001:db8::1:100',
  relay: 'Relay-forw L: 2001:db8:1::1 Solicit XID: 0x1a2b3c CID: 000100011c39cf88080027fe8f95',
};

describe('dhcpv6', () => {
  it('deconstructs the Solicit and the Relay-forw through the view and the option iterator', () => {
    const b = msg('solicit');
    expect(Dhcpv6View.check(b, 0, b.length)).toBe(WireErrorCode.Ok);
    const v = new Dhcpv6View().reset(b, 0, b.length);
    expect([v.msgType, v.isRelay, v.transactionId, v.optionsOffset]).toEqual([1, false, 0x1a2b3c, 4]);
    const it = v.options(new Dhcpv6OptionIter());
    const seen: number[][] = [];
    while (it.next()) seen.push([it.code, it.dataOff, it.dataLen]);
    expect(seen).toEqual([
      [1, 8, 14],
      [3, 26, 12],
      [8, 42, 2],
      [6, 48, 4],
      [14, 56, 0],
    ]);
    expect(it.error).toBe(WireErrorCode.Ok);
    const r = new Dhcpv6View().reset(msg('relay'), 0, msg('relay').length);
    expect([r.isRelay, r.hopCount, r.linkAddressOffset, r.peerAddressOffset, r.optionsOffset]).toEqual([true, 0, 2, 18, 34]);
  });

  it('constructs the Solicit through the view setters', () => {
    const b = new Uint8Array(msg('solicit').length);
    const v = new Dhcpv6View().reset(b, 0, b.length);
    v.msgType = Dhcpv6MessageType.Solicit;
    v.transactionId = 0x1a2b3c;
    b.set(msg('solicit').subarray(4), v.optionsOffset);
    expect(b).toEqual(msg('solicit'));
  });

  it('parses, emits and formats the canonical messages', () => {
    for (const n of names) {
      expect(parseDhcpv6(msg(n)), n).toEqual({ ok: true, value: REPRS[n] });
      const out = new Uint8Array(dhcpv6Len(REPRS[n]));
      expect(emitDhcpv6(REPRS[n], out)).toBe(msg(n).length);
      expect(out, n).toEqual(msg(n));
      expect(formatDhcpv6(REPRS[n])).toBe(SUMMARIES[n]);
    }
  });

  const tshark = requireTools('tshark summaries', ['tshark'], 'apt-get install -y tshark');
  it.skipIf(tshark.skip)('emitted messages read back in tshark with our summaries', () => {
    const frames = names.map((n) => {
      const f = frame(n);
      f.fill(0, 62);
      emitDhcpv6(REPRS[n], f, 62);
      // The UDP checksum (bytes 60..61) still covers the same bytes, so it stays correct.
      return f;
    });
    expect(tsharkInfo(frames)).toEqual(names.map((n) => SUMMARIES[n]));
  });

  it('reports truncation: Truncated at every shorter length except top-level option boundaries', () => {
    for (const n of names) {
      const b = msg(n);
      const hdr = n === 'relay' ? 34 : 4;
      const boundaries = new Set<number>([hdr]);
      const it = new Dhcpv6View().reset(b, 0, b.length).options(new Dhcpv6OptionIter());
      while (it.next()) boundaries.add(it.dataOff + it.dataLen);
      for (let k = 0; k < b.length; k++) {
        const r = parseDhcpv6(b.subarray(0, k));
        if (boundaries.has(k)) {
          // A whole message with fewer options.
          expect(r.ok, `${n} at ${k}`).toBe(true);
        } else {
          expect(!r.ok && r.error.code, `${n} at ${k}`).toBe(WireErrorCode.Truncated);
        }
      }
    }
  });

  it('rejects nested options that overrun their container, and impossible lengths, as BadOption', () => {
    const b = msg('reply').slice();
    // IA_NA at 40 (length 0x35); its IA Address option header at 56: claim 0x26 instead of 0x25.
    expect([b[56], b[57], b[58], b[59]]).toEqual([0, 5, 0, 0x25]);
    b[59] = 0x26;
    let r = parseDhcpv6(b);
    expect(!r.ok && r.error.code).toBe(WireErrorCode.BadOption);
    b[59] = 0x25;
    // Status code option (header at 84) inside IA Address: claim a length past the IA Address.
    expect([b[84], b[85], b[86], b[87]]).toEqual([0, 13, 0, 9]);
    b[87] = 0x0a;
    r = parseDhcpv6(b);
    expect(!r.ok && r.error.code).toBe(WireErrorCode.BadOption);
    // Elapsed time of 3 bytes.
    const s = fromHex('011a2b3c 0008 0003 000000');
    r = parseDhcpv6(s);
    expect(!r.ok && r.error.code).toBe(WireErrorCode.BadOption);
    // A relayed message that is itself cut short.
    const relay = msg('relay').slice();
    relay[relay.length - 2] = 0x40; // the rapid commit option claims 0x4000 bytes
    r = parseDhcpv6(relay);
    expect(!r.ok && r.error.code).toBe(WireErrorCode.BadOption);
  });

  it('bounds relay nesting (TooDeep)', () => {
    let m: Dhcpv6Repr = solicit;
    for (let i = 0; i < 40; i++) {
      m = { kind: 'relay', msgType: 12, hopCount: i, linkAddress: 0n, peerAddress: 0n, options: [{ kind: 'relayMessage', message: m }] };
    }
    const b = new Uint8Array(dhcpv6Len(m));
    emitDhcpv6(m, b);
    const r = parseDhcpv6(b);
    expect(!r.ok && r.error.code).toBe(WireErrorCode.TooDeep);
  });

  const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const ip6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
  const label = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
  const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
  const known = new Set<number>(Object.values(Dhcpv6Option));
  const { option } = fc.letrec<{ option: Dhcpv6OptionRepr; message: Dhcpv6Repr }>((tie) => ({
    option: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ kind: fc.constant('clientId' as const), duid: fc.uint8Array({ maxLength: 20 }) }),
      fc.record({ kind: fc.constant('serverId' as const), duid: fc.uint8Array({ maxLength: 20 }) }),
      fc.record({ kind: fc.constant('oro' as const), codes: fc.array(u16, { maxLength: 5 }) }),
      fc.record({ kind: fc.constant('elapsedTime' as const), centiseconds: u16 }),
      fc.record({ kind: fc.constant('statusCode' as const), status: u16, message: fc.string({ maxLength: 20 }) }),
      fc.record({ kind: fc.constant('rapidCommit' as const) }),
      fc.record({ kind: fc.constant('dnsServers' as const), servers: fc.array(ip6, { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('domainList' as const), domains: fc.array(domain, { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('raw' as const), code: u16.filter((c) => !known.has(c)), data: fc.uint8Array({ maxLength: 12 }) }),
      fc.record({ kind: fc.constant('iaNa' as const), iaid: u32, t1: u32, t2: u32, options: fc.array(tie('option'), { maxLength: 3 }) }),
      fc.record({
        kind: fc.constant('iaAddr' as const),
        address: ip6,
        preferredLifetime: u32,
        validLifetime: u32,
        options: fc.array(tie('option'), { maxLength: 2 }),
      }),
      fc.record({ kind: fc.constant('relayMessage' as const), message: tie('message') }),
    ),
    message: fc.oneof(
      fc.record({
        kind: fc.constant('message' as const),
        msgType: fc.integer({ min: 0, max: 255 }).filter((t) => t !== 12 && t !== 13),
        transactionId: fc.integer({ min: 0, max: 0xffffff }),
        options: fc.array(tie('option'), { maxLength: 4 }),
      }),
      fc.record({
        kind: fc.constant('relay' as const),
        msgType: fc.constantFrom(12, 13),
        hopCount: fc.integer({ min: 0, max: 255 }),
        linkAddress: ip6,
        peerAddress: ip6,
        options: fc.array(tie('option'), { maxLength: 3 }),
      }),
    ),
  }));
  const arbRepr = fc.letrec<{ m: Dhcpv6Repr }>(() => ({
    m: fc.oneof(
      fc.record({
        kind: fc.constant('message' as const),
        msgType: fc.integer({ min: 1, max: 11 }),
        transactionId: fc.integer({ min: 0, max: 0xffffff }),
        options: fc.array(option, { maxLength: 5 }),
      }),
      fc.record({
        kind: fc.constant('relay' as const),
        msgType: fc.constantFrom(12, 13),
        hopCount: fc.integer({ min: 0, max: 255 }),
        linkAddress: ip6,
        peerAddress: ip6,
        options: fc.array(option, { maxLength: 3 }),
      }),
    ),
  })).m;

  it('round-trips any message, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const n = dhcpv6Len(r);
        const b = new Uint8Array(at + n);
        expect(emitDhcpv6(r, b, at)).toBe(n);
        expect(parseDhcpv6(b, at)).toEqual({ ok: true, value: r });
        expect(typeof formatDhcpv6(r)).toBe('string');
      }),
    );
  });

  it('never throws on arbitrary bytes, including nested option soup', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 128 }), (b) => void parseDhcpv6(b)));
    // Options whose codes are the nesting ones, so the recursive decoders run.
    const soup = fc.array(
      fc.tuple(fc.constantFrom(3, 5, 9, 13, 23, 24, 6, 8, 14, 99), fc.uint8Array({ maxLength: 40 }), fc.integer({ min: -2, max: 2 })),
      { maxLength: 4 },
    );
    fc.assert(
      fc.property(fc.constantFrom(1, 7, 12), soup, (t, opts) => {
        const parts: number[] = t === 12 ? [t, ...new Array<number>(33).fill(0)] : [t, 1, 2, 3];
        for (const [code, data, skew] of opts) {
          const l = Math.max(0, data.length + skew);
          parts.push(code >> 8, code & 255, l >> 8, l & 255, ...data);
        }
        const b = Uint8Array.from(parts);
        const r = parseDhcpv6(b);
        if (r.ok) {
          // What parses re-emits to something that parses to the same Repr.
          const out = new Uint8Array(dhcpv6Len(r.value));
          emitDhcpv6(r.value, out);
          expect(parseDhcpv6(out)).toEqual(r);
          expect(typeof formatDhcpv6(r.value)).toBe('string');
        }
      }),
    );
  });
});
