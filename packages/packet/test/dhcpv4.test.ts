import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requireTools, tsharkInfo } from '@ovnts/testkit';
import {
  DHCP_MAGIC_COOKIE,
  dhcpv4Chaddr,
  dhcpv4ClientMac,
  dhcpv4Len,
  DhcpMessageType,
  DhcpOption,
  Dhcpv4OptionIter,
  Dhcpv4View,
  emitDhcpv4,
  formatDhcpv4,
  fromHex,
  parseDhcpv4,
  parseIpv4,
  parseMac,
  WireErrorCode,
  type Dhcpv4Repr,
} from '@ovnts/packet';

// Ethernet + IPv4 + UDP + DHCP frames, hand-built and decoded by tshark 4.0.17 as
// `DHCP Discover - Transaction ID 0x3903f326` and `DHCP ACK      - Transaction ID 0x3903f326`,
// every option listed as below (121: "10.0.0.0/24-192.168.1.1", "default-192.168.1.1").
// The DHCP message starts at byte 42.
const FRAMES = {
  discover:
    'ffffffffffff00000000000108004500012500000000401179c900000000ffffffff00440043011111ed010106003903f326000000000000000000000000000000000000000000053c048d59' +
    '00'.repeat(202) +
    '638253633501013d070100053c048d593204c0a8016437040103062aff',
  ack:
    'ffffffffffff00000000000108004500016f000000004011797f00000000ffffffff00440043015bdee2020106003903f3260000800000000000c0a80164c0a801010000000000053c048d5900000000000000000000' +
    '737276' +
    '00'.repeat(61) +
    '626f6f742e696d67' +
    '00'.repeat(120) +
    '638253633501053604c0a801013304000151803a040000a8c03b04000127500104ffffff001c04c0a801ff0304c0a80101060808080808080804040c04686f73740f0b6578616d706c652e636f6d1a0205dc790d180a0000c0a8010100c0a801012b03010203ff',
} as const;
type Name = keyof typeof FRAMES;
const frame = (n: Name) => fromHex(FRAMES[n]);
const msg = (n: Name) => frame(n).subarray(42);
const names = Object.keys(FRAMES) as Name[];
const ip = parseIpv4;
const chaddr = fromHex('00053c048d59');

const base = { htype: 1, hops: 0, xid: 0x3903f326, secs: 0, ciaddr: 0, giaddr: 0, chaddr };
const REPRS: Record<Name, Dhcpv4Repr> = {
  discover: {
    ...base,
    op: 1,
    flags: 0,
    yiaddr: 0,
    siaddr: 0,
    sname: '',
    file: '',
    options: {
      messageType: DhcpMessageType.Discover,
      clientId: fromHex('0100053c048d59'),
      requestedIp: ip('192.168.1.100'),
      parameterRequestList: [1, 3, 6, 42],
      other: [],
    },
  },
  ack: {
    ...base,
    op: 2,
    flags: 0x8000,
    yiaddr: ip('192.168.1.100'),
    siaddr: ip('192.168.1.1'),
    sname: 'srv',
    file: 'boot.img',
    options: {
      messageType: DhcpMessageType.Ack,
      serverId: ip('192.168.1.1'),
      leaseTime: 86400,
      renewalTime: 43200,
      rebindingTime: 75600,
      subnetMask: ip('255.255.255.0'),
      broadcastAddress: ip('192.168.1.255'),
      routers: [ip('192.168.1.1')],
      dnsServers: [ip('8.8.8.8'), ip('8.8.4.4')],
      hostname: 'host',
      domainName: 'example.com',
      mtu: 1500,
      classlessRoutes: [
        { destination: ip('10.0.0.0'), prefixLength: 24, router: ip('192.168.1.1') },
        { destination: 0, prefixLength: 0, router: ip('192.168.1.1') },
      ],
      other: [{ code: 43, data: fromHex('010203') }],
    },
  },
};
const SUMMARIES: Record<Name, string> = {
  discover: 'DHCP Discover - Transaction ID 0x3903f326',
  ack: 'DHCP ACK      - Transaction ID 0x3903f326',
};

describe('dhcpv4', () => {
  it('deconstructs the Discover through the view and the option iterator', () => {
    const b = msg('discover');
    expect(Dhcpv4View.check(b, 0, b.length)).toBe(WireErrorCode.Ok);
    const v = new Dhcpv4View().reset(b, 0, b.length);
    expect([v.op, v.htype, v.hlen, v.hops, v.xid, v.secs, v.flags]).toEqual([1, 1, 6, 0, 0x3903f326, 0, 0]);
    expect([v.ciaddr, v.yiaddr, v.siaddr, v.giaddr]).toEqual([0, 0, 0, 0]);
    expect(v.clientMac).toBe(parseMac('00:05:3c:04:8d:59'));
    expect(v.cookie).toBe(DHCP_MAGIC_COOKIE);
    expect(v.messageType).toBe(DhcpMessageType.Discover);
    const it = v.options(new Dhcpv4OptionIter());
    const seen: [number, number, number][] = [];
    while (it.next()) seen.push([it.code, it.dataOff, it.dataLen]);
    expect(seen).toEqual([
      [53, 242, 1],
      [61, 245, 7],
      [50, 254, 4],
      [55, 260, 4],
    ]);
    expect(it.sawEnd).toBe(true);
    expect(it.error).toBe(WireErrorCode.Ok);
  });

  it('constructs the Discover through the view setters', () => {
    const b = new Uint8Array(msg('discover').length);
    const v = new Dhcpv4View().reset(b, 0, b.length);
    v.op = 1;
    v.htype = 1;
    v.hlen = 6;
    v.xid = 0x3903f326;
    b.set(chaddr, v.chaddrOffset);
    v.cookie = DHCP_MAGIC_COOKIE;
    b.set(fromHex('3501013d070100053c048d593204c0a8016437040103062aff'), v.optionsOffset);
    expect(b).toEqual(msg('discover'));
  });

  it('parses, emits and formats the canonical messages', () => {
    for (const n of names) {
      expect(parseDhcpv4(msg(n)), n).toEqual({ ok: true, value: REPRS[n] });
      const out = new Uint8Array(dhcpv4Len(REPRS[n]));
      expect(emitDhcpv4(REPRS[n], out)).toBe(msg(n).length);
      expect(out, n).toEqual(msg(n));
      expect(formatDhcpv4(REPRS[n])).toBe(SUMMARIES[n]);
    }
    expect(dhcpv4ClientMac(REPRS.ack)).toBe(parseMac('00:05:3c:04:8d:59'));
    expect(dhcpv4Chaddr(parseMac('00:05:3c:04:8d:59'))).toEqual(chaddr);
  });

  const tshark = requireTools('tshark summaries', ['tshark'], 'apt-get install -y tshark');
  it.skipIf(tshark.skip)('emitted messages read back in tshark with our summaries', () => {
    const frames = names.map((n) => {
      const f = frame(n);
      f.fill(0, 42);
      emitDhcpv4(REPRS[n], f, 42);
      return f;
    });
    expect(tsharkInfo(frames)).toEqual(names.map((n) => SUMMARIES[n]));
  });

  it('reports truncation: Truncated in the header or at an option boundary, BadOption inside an option', () => {
    for (const n of names) {
      const b = msg(n);
      // Option boundaries: where a cut leaves whole options but no End.
      const starts = new Set<number>();
      const it = new Dhcpv4OptionIter().reset(b, 240, b.length);
      starts.add(240);
      while (it.next()) starts.add(it.dataOff + it.dataLen);
      for (let k = 0; k < b.length; k++) {
        const r = parseDhcpv4(b.subarray(0, k));
        expect(r.ok, `${n} at ${k}`).toBe(false);
        if (r.ok) continue;
        const want = k < 240 || starts.has(k) ? WireErrorCode.Truncated : WireErrorCode.BadOption;
        expect(r.error.code, `${n} at ${k}`).toBe(want);
      }
    }
  });

  it('rejects a wrong magic cookie as BadValue, and skips Pad and trailing padding', () => {
    const b = msg('discover').slice();
    b[239] = 0;
    const r = parseDhcpv4(b);
    expect(!r.ok && r.error.code).toBe(WireErrorCode.BadValue);
    // Pads before an option and padding after End (to the BOOTP minimum of 300 bytes).
    const padded = new Uint8Array(300);
    padded.set(msg('discover').subarray(0, 240));
    padded.set(fromHex('0000 3501 01 ff'), 240);
    const p = parseDhcpv4(padded);
    expect(p.ok && p.value.options).toEqual({ messageType: 1, other: [] });
  });

  it('rejects typed options of impossible length as BadOption', () => {
    const b = new Uint8Array(240 + 7);
    b.set(msg('discover').subarray(0, 240));
    b.set(fromHex('0103 ffffff ff'), 240); // subnet mask of 3 bytes
    const r = parseDhcpv4(b);
    expect(!r.ok && r.error.code).toBe(WireErrorCode.BadOption);
  });

  it('concatenates split options and splits long ones (RFC 3396)', () => {
    const long = new Uint8Array(300).map((_, i) => i & 0xff);
    const r: Dhcpv4Repr = { ...REPRS.discover, options: { other: [{ code: 224, data: long }] } };
    const out = new Uint8Array(dhcpv4Len(r));
    emitDhcpv4(r, out);
    expect([out[240], out[241], out[240 + 257], out[240 + 258]]).toEqual([224, 255, 224, 45]);
    expect(parseDhcpv4(out)).toEqual({ ok: true, value: r });
  });

  const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u8 = fc.integer({ min: 0, max: 255 });
  const latin1 = (max: number) => fc.string({ maxLength: max }).map((s) => s.replace(/\0/g, 'x'));
  const route = fc.integer({ min: 0, max: 32 }).chain((pl) =>
    fc.record({
      destination: u32.map((d) => (pl === 0 ? 0 : (d & (0xffff_ffff << (32 - pl))) >>> 0)),
      prefixLength: fc.constant(pl),
      router: u32,
    }),
  );
  const typed = new Set<number>([0, 1, 3, 6, 12, 15, 26, 28, 50, 51, 53, 54, 55, 58, 59, 61, 121, 255]);
  const arbOptions = fc.record(
    {
      messageType: u8,
      subnetMask: u32,
      routers: fc.array(u32, { minLength: 1, maxLength: 3 }),
      dnsServers: fc.array(u32, { minLength: 1, maxLength: 3 }),
      hostname: fc.string({ maxLength: 40 }),
      domainName: fc.string({ maxLength: 300 }),
      mtu: u16,
      broadcastAddress: u32,
      requestedIp: u32,
      leaseTime: u32,
      serverId: u32,
      parameterRequestList: fc.array(u8, { maxLength: 10 }),
      renewalTime: u32,
      rebindingTime: u32,
      clientId: fc.uint8Array({ maxLength: 20 }),
      classlessRoutes: fc.array(route, { maxLength: 3 }),
    },
    { requiredKeys: [] },
  ).chain((o) =>
    fc
      .uniqueArray(
        fc.record({ code: u8.filter((c) => !typed.has(c)), data: fc.uint8Array({ maxLength: 16 }) }),
        { selector: (x) => x.code, maxLength: 3 },
      )
      .map((other) => ({ ...o, other })),
  );
  const arbRepr: fc.Arbitrary<Dhcpv4Repr> = fc.record({
    op: u8,
    htype: u8,
    hops: u8,
    xid: u32,
    secs: u16,
    flags: u16,
    ciaddr: u32,
    yiaddr: u32,
    siaddr: u32,
    giaddr: u32,
    chaddr: fc.uint8Array({ maxLength: 16 }),
    sname: latin1(64),
    file: latin1(128),
    options: arbOptions,
  });

  it('round-trips any message, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const n = dhcpv4Len(r);
        const b = new Uint8Array(at + n);
        expect(emitDhcpv4(r, b, at)).toBe(n);
        expect(parseDhcpv4(b, at)).toEqual({ ok: true, value: r });
        expect(formatDhcpv4(r)).toMatch(/Transaction ID 0x[0-9a-f]{8}$/);
      }),
    );
  });

  it('never throws on arbitrary options after a valid header', () => {
    const head = msg('discover').subarray(0, 240);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.boolean(), (opts, end) => {
        const b = new Uint8Array(240 + opts.length + (end ? 1 : 0));
        b.set(head);
        b.set(opts, 240);
        if (end) b[b.length - 1] = DhcpOption.End;
        const r = parseDhcpv4(b);
        if (Dhcpv4View.check(b, 0, b.length) !== WireErrorCode.Ok) expect(r.ok).toBe(false);
        void new Dhcpv4View().reset(b, 0, b.length).messageType;
      }),
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void parseDhcpv4(b)));
  });
});
