/**
 * A seeded random frame corpus for differential tests (our dissector against tshark) and
 * robustness properties. `randomFrame(rng)` draws one Ethernet frame: 0-2 VLAN tags (802.1Q or
 * an 802.1ad outer tag), then ARP, IPv4 (sometimes with options or as a fragment) or IPv6
 * (sometimes with hop-by-hop, destination options or fragment headers) carrying TCP (any flag
 * combination, options), UDP, ICMP echo/errors, ICMPv6 echo/errors/ND with options, IGMP v1-v3,
 * MLD v1/v2, DHCPv4, DHCPv6 (also relayed), DNS (compressed names), unknown IP protocols; or an
 * unknown EtherType; or a Geneve (OVN option with random keys, sometimes extra and critical
 * options, sometimes Geneve in Geneve) or VXLAN tunnel over IPv4 or IPv6 around another such
 * frame. Some frames are cut at a random point, either on the wire (`origLen` equals the cut
 * length) or by a capture snaplen (`origLen` keeps the full length).
 *
 * Everything is drawn from a small seeded PRNG (mulberry32), so a seed names a corpus exactly:
 * `randomCorpus(seed, n)` is the same on every run and machine. Frames are built with
 * `PacketBuilder` (all lengths and checksums correct) and the Geneve/VXLAN builder layers.
 * Random ports are drawn from the dynamic range so that no dissector claims them by port.
 */
import {
  IpProtocol,
  PacketBuilder,
  emitIpv6OptionsHeader,
  emitIpv6Fragment,
  type Layer,
  type DnsRepr,
  type DnsRecord,
  type Dhcpv4Repr,
  type Dhcpv6Repr,
  type Dhcpv6OptionRepr,
  type Icmpv6Repr,
  type NdOption,
  type IgmpRepr,
  type MldRepr,
} from '@ovnts/packet';
import { geneveLayer, vxlanLayer, geneveRepr, ovnGeneveRepr, type GeneveOption } from '@ovnts/geneve';

/** A small deterministic PRNG (mulberry32) with helpers for drawing frame fields. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** A uniformly random unsigned 32-bit integer. */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [lo, hi] (inclusive; hi - lo < 2^32). */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 0x1_0000_0000) * (hi - lo + 1));
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }
  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
  /** One key of `weights`, drawn with the given relative weights. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as [K, number][];
    let x = this.u32() / 0x1_0000_0000 * entries.reduce((n, [, w]) => n + w, 0);
    for (const [k, w] of entries) if ((x -= w) < 0) return k;
    return entries[entries.length - 1]![0];
  }
  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
  /** A random 48-bit MAC (usually unicast). */
  mac(): number {
    const hi = this.int(0, 0xffff) & (this.chance(0.9) ? 0xfeff : 0xffff);
    return hi * 0x1_0000_0000 + this.u32();
  }
  /** A random IPv4 address (u32). */
  ipv4(): number {
    return this.u32();
  }
  /** A random IPv6 address (sometimes link-local). */
  ipv6(): bigint {
    const hi = this.chance(0.3) ? 0xfe80n << 112n : BigInt(this.u32()) << 96n;
    return hi | (BigInt(this.u32()) << 64n) | (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
  /** A port in the dynamic range (no dissector registers these by default). */
  port(): number {
    return this.int(49152, 65535);
  }
}

/** One frame of the corpus. */
export interface CorpusFrame {
  /** The bytes (cut short when `truncated`). */
  data: Uint8Array;
  /** The length on the wire: `data.length`, or more when a capture snaplen cut the frame. */
  origLen: number;
  /** What was built, e.g. `vlan2/ipv4/udp/geneve[ovn]/eth/ipv6/tcp` (for failure messages). */
  desc: string;
  /** The frame was cut short (on the wire or by snaplen). */
  truncated: boolean;
}

/** What `randomFrame` may draw. */
export interface CorpusOptions {
  /** Probability of cutting a frame short (default 0.08). */
  truncate?: number;
}

type B = PacketBuilder;
type Desc = string[];

const MCAST4 = [0xe0000001, 0xe0000002, 0xe00000fb, 0xeffffffa];

function mcast4(r: Rng): number {
  return r.chance(0.5) ? r.pick(MCAST4) : (0xe0000000 | (r.u32() & 0x0fffffff)) >>> 0;
}

function mcast6(r: Rng): bigint {
  return r.chance(0.4) ? 0xff02n << 112n | BigInt(r.int(1, 0x16)) : (0xff0en << 112n) | BigInt(r.u32());
}

/** Well-formed IPv4 options (NOP, Router Alert, Record Route, an experimental one), EOL-padded. */
function ipv4Options(r: Rng): Uint8Array {
  const out: number[] = [];
  const n = r.int(1, 3);
  for (let i = 0; i < n; i++) {
    const k = r.int(0, 3);
    if (k === 0) out.push(1);
    else if (k === 1) out.push(0x94, 4, 0, 0);
    else if (k === 2) {
      const slots = r.int(1, 3);
      out.push(7, 3 + 4 * slots, 4, ...new Array<number>(4 * slots).fill(0));
    } else out.push(0x9e, 4, ...r.bytes(2)); // RFC 4727 experimental, copied class 0
  }
  while (out.length % 4) out.push(0);
  return new Uint8Array(out.slice(0, 40));
}

/** Well-formed TCP options, NOP/EOL padded to a multiple of 4. */
function tcpOptions(r: Rng): Uint8Array {
  const out: number[] = [];
  const n = r.int(0, 4);
  for (let i = 0; i < n; i++) {
    switch (r.int(0, 5)) {
      case 0: out.push(2, 4, r.int(0, 255), r.int(0, 255)); break;
      case 1: out.push(1, 3, 3, r.int(0, 14)); break;
      case 2: out.push(4, 2); break;
      case 3: out.push(8, 10, ...r.bytes(8)); break;
      case 4: out.push(5, 10, ...r.bytes(8)); break;
      default: out.push(1); break;
    }
  }
  while (out.length % 4) out.push(r.chance(0.5) ? 1 : 0);
  return new Uint8Array(out.slice(0, 40));
}

/** A Hop-by-Hop / Destination Options header layer with random (skippable) options. */
function ipv6OptionsLayer(r: Rng, proto: number, next?: number): Layer {
  const units = r.int(0, 2);
  const area = 6 + 8 * units;
  const opts: number[] = [];
  while (opts.length < area) {
    const room = area - opts.length;
    if (room >= 4 && r.chance(0.4)) opts.push(5, 2, 0, r.int(0, 2)); // Router Alert
    else if (room >= 3 && r.chance(0.5)) {
      const dl = r.int(1, Math.min(6, room - 2));
      opts.push(0x1e, dl, ...r.bytes(dl)); // RFC 4727 experimental, "skip if unknown"
    } else if (room === 1) opts.push(0);
    else opts.push(1, room - 2, ...new Array<number>(room - 2).fill(0));
  }
  const options = new Uint8Array(opts);
  return {
    name: proto === 0 ? 'hopopts' : 'dstopts',
    ipProtocol: proto,
    headerLen: () => 2 + area,
    emit: (buf, off, _p, nextLayer) =>
      void emitIpv6OptionsHeader({ nextHeader: next ?? nextLayer?.ipProtocol ?? IpProtocol.NoNext, options }, buf, off),
  };
}

/** An IPv6 fragment header layer. */
function ipv6FragmentLayer(fragmentOffset: number, moreFragments: boolean, ident: number, next?: number): Layer {
  return {
    name: 'frag',
    ipProtocol: IpProtocol.Fragment,
    headerLen: () => 8,
    emit: (buf, off, _p, nextLayer) =>
      void emitIpv6Fragment({ nextHeader: next ?? nextLayer?.ipProtocol ?? IpProtocol.NoNext, fragmentOffset, moreFragments, ident }, buf, off),
  };
}

function label(r: Rng): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const n = r.int(1, 10);
  let s = '';
  for (let i = 0; i < n; i++) s += chars[r.int(0, chars.length - 1)];
  return s;
}

function dnsName(r: Rng): string {
  return Array.from({ length: r.int(1, 3) }, () => label(r)).join('.');
}

function dnsMessage(r: Rng, d: Desc): DnsRepr {
  const qr = r.chance(0.5);
  const zone = dnsName(r);
  const questions = Array.from({ length: r.int(1, 2) }, () => ({
    name: r.chance(0.6) ? `${label(r)}.${zone}` : zone,
    type: r.pick([1, 28, 5, 12, 16, 33]),
    class: 1,
  }));
  const answers: DnsRecord[] = [];
  if (qr) {
    for (let i = r.int(0, 3); i > 0; i--) {
      const q = r.pick(questions);
      const k = r.int(0, 2);
      answers.push(
        k === 0
          ? { name: q.name, type: 1, class: 1, ttl: r.u32() >>> 1, data: { kind: 'a', address: r.ipv4() } }
          : k === 1
            ? { name: q.name, type: 28, class: 1, ttl: r.int(0, 86400), data: { kind: 'aaaa', address: r.ipv6() } }
            : { name: q.name, type: 5, class: 1, ttl: r.int(0, 86400), data: { kind: 'name', name: `${label(r)}.${zone}` } },
      );
    }
  }
  d.push(qr ? 'dns-resp' : 'dns-query');
  return {
    id: r.int(0, 0xffff), qr, opcode: 0, aa: qr && r.chance(0.5), tc: false, rd: r.chance(0.7), ra: qr, z: 0,
    rcode: qr && r.chance(0.2) ? 3 : 0, questions, answers, authorities: [], additionals: [],
  };
}

function dhcpv4Message(r: Rng, d: Desc): Dhcpv4Repr {
  const messageType = r.pick([1, 2, 3, 5]);
  const server = messageType === 2 || messageType === 5;
  d.push(`dhcp${messageType}`);
  const options: Dhcpv4Repr['options'] = { messageType, other: [] };
  if (server) {
    options.serverId = r.ipv4();
    options.leaseTime = r.int(60, 86400);
    options.subnetMask = 0xffffff00;
    if (r.chance(0.5)) options.routers = [r.ipv4()];
    if (r.chance(0.5)) options.dnsServers = [r.ipv4(), r.ipv4()];
  } else {
    options.parameterRequestList = [1, 3, 6, 15, 51];
    if (messageType === 3) options.requestedIp = r.ipv4();
    if (r.chance(0.5)) options.hostname = label(r);
  }
  return {
    op: server ? 2 : 1, htype: 1, hops: 0, xid: r.u32(), secs: r.int(0, 10), flags: r.chance(0.5) ? 0x8000 : 0,
    ciaddr: 0, yiaddr: server ? r.ipv4() : 0, siaddr: 0, giaddr: 0, chaddr: r.bytes(6), sname: '', file: '', options,
  };
}

function dhcpv6Inner(r: Rng): Dhcpv6Repr {
  const msgType = r.pick([1, 2, 3, 7]);
  const options: Dhcpv6OptionRepr[] = [{ kind: 'clientId', duid: new Uint8Array([0, 3, 0, 1, ...r.bytes(6)]) }];
  if (msgType === 2 || msgType === 7) options.push({ kind: 'serverId', duid: new Uint8Array([0, 3, 0, 1, ...r.bytes(6)]) });
  options.push({ kind: 'iaNa', iaid: r.u32(), t1: 3600, t2: 5400, options: msgType === 1 ? [] : [{ kind: 'iaAddr', address: r.ipv6(), preferredLifetime: 7200, validLifetime: 7500, options: [] }] });
  if (msgType === 1) options.push({ kind: 'elapsedTime', centiseconds: r.int(0, 1000) }, { kind: 'oro', codes: [23, 24] });
  if (msgType === 7 && r.chance(0.5)) options.push({ kind: 'dnsServers', servers: [r.ipv6()] });
  return { kind: 'message', msgType, transactionId: r.int(0, 0xffffff), options };
}

function dhcpv6Message(r: Rng, d: Desc): Dhcpv6Repr {
  if (r.chance(0.7)) {
    const m = dhcpv6Inner(r);
    d.push(`dhcpv6-${m.msgType}`);
    return m;
  }
  const msgType = r.pick([12, 13]);
  d.push(`dhcpv6-relay${msgType}`);
  return {
    kind: 'relay', msgType, hopCount: r.int(0, 3), linkAddress: r.ipv6(), peerAddress: r.ipv6(),
    options: [{ kind: 'raw', code: 18, data: r.bytes(4) }, { kind: 'relayMessage', message: dhcpv6Inner(r) }],
  };
}

function ndOptions(r: Rng, kinds: ('sll' | 'tll' | 'mtu' | 'prefix' | 'raw')[]): NdOption[] {
  const out: NdOption[] = [];
  for (const k of kinds) {
    if (!r.chance(0.6)) continue;
    if (k === 'sll') out.push({ kind: 'sourceLinkLayerAddress', mac: r.mac() });
    else if (k === 'tll') out.push({ kind: 'targetLinkLayerAddress', mac: r.mac() });
    else if (k === 'mtu') out.push({ kind: 'mtu', mtu: r.int(1280, 9000) });
    else if (k === 'prefix') {
      out.push({
        kind: 'prefixInformation', prefixLength: 64, onLink: r.chance(0.8), autonomous: r.chance(0.8), reservedFlags: 0,
        validLifetime: r.u32(), preferredLifetime: r.u32(), prefix: (r.ipv6() >> 64n) << 64n,
      });
    } else out.push({ kind: 'raw', type: r.pick([253, 254]), data: r.bytes(6) });
  }
  return out;
}

function icmpv6Message(r: Rng, d: Desc, invoking: () => Uint8Array): Icmpv6Repr {
  const k = r.weighted({ echo: 3, error: 2, ns: 2, na: 2, rs: 1, ra: 2, redirect: 1 });
  d.push(`icmpv6-${k}`);
  switch (k) {
    case 'echo':
      return { kind: 'echo', type: r.pick([128, 129]), code: 0, identifier: r.int(0, 0xffff), sequence: r.int(0, 0xffff), data: r.bytes(r.int(0, 32)) };
    case 'error': {
      const type = r.int(1, 4);
      return { kind: 'error', type, code: r.int(0, type === 1 ? 6 : type === 3 ? 1 : type === 4 ? 2 : 0), param: type === 2 ? r.int(1280, 9000) : type === 4 ? r.int(0, 60) : 0, invoking: invoking() };
    }
    case 'ns':
      return { kind: 'neighborSolicitation', code: 0, target: r.ipv6(), options: ndOptions(r, ['sll']) };
    case 'na':
      return { kind: 'neighborAdvertisement', code: 0, router: r.chance(0.5), solicited: r.chance(0.5), override: r.chance(0.5), target: r.ipv6(), options: ndOptions(r, ['tll']) };
    case 'rs':
      return { kind: 'routerSolicitation', code: 0, options: ndOptions(r, ['sll']) };
    case 'ra':
      return {
        kind: 'routerAdvertisement', code: 0, curHopLimit: r.pick([0, 64, 255]), managed: r.chance(0.5), otherConfig: r.chance(0.5), reservedFlags: 0,
        routerLifetime: r.int(0, 9000), reachableTime: r.int(0, 100000), retransTimer: r.int(0, 5000), options: ndOptions(r, ['sll', 'mtu', 'prefix', 'raw']),
      };
    default:
      return { kind: 'redirect', code: 0, target: r.ipv6(), destination: r.ipv6(), options: ndOptions(r, ['tll']) };
  }
}

function igmpMessage(r: Rng, d: Desc): IgmpRepr {
  const k = r.weighted({ queryV1: 1, queryV2: 1, queryV3: 2, reportV1: 1, reportV2: 1, leave: 1, reportV3: 2 });
  d.push(`igmp-${k}`);
  switch (k) {
    case 'queryV1': return { kind: 'queryV1', group: 0 };
    case 'queryV2': return { kind: 'queryV2', maxRespTime: r.int(1, 255), group: r.chance(0.5) ? 0 : mcast4(r) };
    case 'queryV3':
      return { kind: 'queryV3', maxRespCode: r.int(1, 255), group: r.chance(0.5) ? 0 : mcast4(r), suppress: r.chance(0.5), qrv: r.int(0, 7), qqic: r.int(0, 255), sources: Array.from({ length: r.int(0, 3) }, () => r.ipv4()) };
    case 'reportV1': return { kind: 'reportV1', group: mcast4(r) };
    case 'reportV2': return { kind: 'reportV2', group: mcast4(r) };
    case 'leave': return { kind: 'leave', group: mcast4(r) };
    default:
      return {
        kind: 'reportV3',
        records: Array.from({ length: r.int(0, 3) }, () => ({ type: r.int(1, 6), group: mcast4(r), sources: Array.from({ length: r.int(0, 2) }, () => r.ipv4()), auxData: new Uint8Array(0) })),
      };
  }
}

function mldMessage(r: Rng, d: Desc): MldRepr {
  const k = r.weighted({ queryV1: 1, queryV2: 2, reportV1: 1, done: 1, reportV2: 2 });
  d.push(`mld-${k}`);
  switch (k) {
    case 'queryV1': return { kind: 'queryV1', maxRespDelay: r.int(0, 10000), group: r.chance(0.5) ? 0n : mcast6(r) };
    case 'queryV2':
      return { kind: 'queryV2', maxRespCode: r.int(0, 0xffff), group: r.chance(0.5) ? 0n : mcast6(r), suppress: r.chance(0.5), qrv: r.int(0, 7), qqic: r.int(0, 255), sources: Array.from({ length: r.int(0, 2) }, () => r.ipv6()) };
    case 'reportV1': return { kind: 'reportV1', group: mcast6(r) };
    case 'done': return { kind: 'done', group: mcast6(r) };
    default:
      return { kind: 'reportV2', records: Array.from({ length: r.int(0, 3) }, () => ({ type: r.int(1, 6), group: mcast6(r), sources: Array.from({ length: r.int(0, 2) }, () => r.ipv6()), auxData: new Uint8Array(0) })) };
  }
}

/** A short IPv4 + UDP header (an ICMP error's quoted datagram). */
function quotedIpv4(r: Rng): Uint8Array {
  return new PacketBuilder().ethernet({ src: 0, dst: 0 }).ipv4({ src: r.ipv4(), dst: r.ipv4(), ttl: r.int(1, 64) }).udp({ srcPort: r.port(), dstPort: r.port() }).payload(r.bytes(r.int(0, 8))).build().subarray(14);
}

function quotedIpv6(r: Rng): Uint8Array {
  return new PacketBuilder().ethernet({ src: 0, dst: 0 }).ipv6({ src: r.ipv6(), dst: r.ipv6(), hopLimit: r.int(1, 64) }).udp({ srcPort: r.port(), dstPort: r.port() }).payload(r.bytes(r.int(0, 8))).build().subarray(14);
}

/** An unknown IP protocol number (unassigned in the IANA registry). */
function unknownProto(r: Rng): number {
  return r.int(146, 252);
}

/** EtherTypes no dissector claims (checked against tshark 4.0). */
const UNKNOWN_ETHERTYPES = [0x0601, 0x1234, 0x3c3c, 0x5555, 0x7777, 0x88b5, 0x88b6, 0xa0a0, 0xfff0];

/** The transport and application layers of kind `k` inside an IP header. */
function l4(r: Rng, b: B, d: Desc, k: string): void {
  switch (k) {
    case 'tcp': {
      const flags = r.int(0, 0x1ff);
      d.push(`tcp[${flags.toString(16)}]`);
      b.tcp({ srcPort: r.port(), dstPort: r.port(), seq: r.u32(), ack: r.u32(), flags, window: r.int(0, 0xffff), urgent: flags & 0x20 ? r.int(0, 0xffff) : 0, options: tcpOptions(r) }).payload(r.bytes(r.int(0, 40)));
      return;
    }
    case 'udp':
      d.push('udp');
      b.udp({ srcPort: r.port(), dstPort: r.port(), checksum: r.chance(0.8) }).payload(r.bytes(r.int(0, 40)));
      return;
    case 'dns': {
      const m = dnsMessage(r, d);
      b.udp(m.qr ? { srcPort: 53, dstPort: r.port() } : { srcPort: r.port(), dstPort: 53 }).dns(m);
      return;
    }
    case 'dhcp': {
      const m = dhcpv4Message(r, d);
      b.udp(m.op === 2 ? { srcPort: 67, dstPort: 68 } : { srcPort: 68, dstPort: 67 }).dhcpv4(m);
      return;
    }
    case 'dhcpv6': {
      const m = dhcpv6Message(r, d);
      const toServer = m.msgType === 1 || m.msgType === 3 || m.msgType === 12;
      b.udp(toServer ? { srcPort: m.msgType === 12 ? 547 : 546, dstPort: 547 } : { srcPort: 547, dstPort: m.msgType === 13 ? 547 : 546 }).dhcpv6(m);
      return;
    }
    case 'icmp': {
      const type = r.pick([0, 8]);
      d.push(`icmp${type}`);
      b.icmpv4({ type, code: 0, id: r.int(0, 0xffff), seq: r.int(0, 0xffff) }).payload(r.bytes(r.int(0, 32)));
      return;
    }
    case 'icmpErr': {
      const type = r.pick([3, 5, 11, 12]);
      const code = type === 3 ? r.int(0, 15) : type === 5 ? r.int(0, 3) : type === 11 ? r.int(0, 1) : 0;
      d.push(`icmp${type}/${code}`);
      b.icmpv4({ type, code, rest: type === 5 ? r.ipv4() : type === 12 ? 0x14000000 : 0 }).payload(quotedIpv4(r));
      return;
    }
    case 'igmp':
      b.igmp(igmpMessage(r, d));
      return;
    case 'icmpv6':
      b.icmpv6(icmpv6Message(r, d, () => quotedIpv6(r)));
      return;
    case 'mld':
      b.mld(mldMessage(r, d));
      return;
    default: {
      d.push('proto?');
      b.payload(r.bytes(r.int(0, 40)));
    }
  }
}

function ipv4(r: Rng, b: B, d: Desc, l4Kind?: string): void {
  const k = l4Kind ?? r.weighted({ tcp: 4, udp: 3, dns: 2, dhcp: 2, icmp: 2, icmpErr: 1, igmp: 2, unknown: 1, fragment: 1 });
  const options = k === 'igmp' && r.chance(0.6) ? new Uint8Array([0x94, 4, 0, 0]) : r.chance(0.15) ? ipv4Options(r) : undefined;
  const dhcp = k === 'dhcp';
  const frag = k === 'fragment';
  const base = {
    src: dhcp ? 0 : r.ipv4(), dst: dhcp ? 0xffffffff : k === 'igmp' ? mcast4(r) : r.ipv4(), ttl: k === 'igmp' ? 1 : r.int(0, 255),
    dscp: r.int(0, 63), ecn: r.int(0, 3), ident: r.int(0, 0xffff), dontFragment: !frag && r.chance(0.5),
    ...(options ? { options } : {}),
  };
  if (frag) {
    // A later fragment: no transport header in it; its protocol is any.
    d.push('ipv4-frag');
    b.ipv4({ ...base, protocol: r.pick([6, 17, 1]), moreFragments: r.chance(0.5), fragmentOffset: r.int(1, 0x1fff) }).payload(r.bytes(r.int(0, 48)));
    return;
  }
  // Sometimes the first fragment of a datagram (MF set, offset 0): its transport header is here.
  const first = !dhcp && r.chance(0.05);
  d.push(`${options ? 'ipv4+opt' : 'ipv4'}${first ? '-frag0' : ''}`);
  b.ipv4({ ...base, ...(k === 'unknown' ? { protocol: unknownProto(r) } : {}), ...(first ? { moreFragments: true, dontFragment: false } : {}) });
  l4(r, b, d, k);
}

function ipv6(r: Rng, b: B, d: Desc, l4Kind?: string): void {
  const k = l4Kind ?? r.weighted({ tcp: 4, udp: 3, dns: 2, dhcpv6: 2, icmpv6: 4, mld: 2, unknown: 1, fragment: 1 });
  const mld = k === 'mld';
  const nd = k === 'icmpv6';
  const dhcp = k === 'dhcpv6';
  const fragment = k === 'fragment';
  const unknown = k === 'unknown' ? unknownProto(r) : undefined;
  // Extension headers: hop-by-hop first (MLD usually carries Router Alert there), then
  // destination options, then a fragment header; the last one names an unknown protocol.
  const exts: Layer[] = [];
  const hop = mld ? r.chance(0.7) : r.chance(0.12);
  const dst = r.chance(0.1);
  const atomic = !fragment && r.chance(0.06);
  const lastExt = fragment || atomic ? 'frag' : dst ? 'dst' : hop ? 'hop' : undefined;
  const named = (which: string): number | undefined => (which === lastExt ? unknown : undefined);
  if (hop) exts.push(ipv6OptionsLayer(r, 0, named('hop')));
  if (dst) exts.push(ipv6OptionsLayer(r, 60, named('dst')));
  if (fragment) exts.push(ipv6FragmentLayer(r.int(1, 0x1fff), r.chance(0.5), r.u32(), r.pick([6, 17, 58])));
  else if (atomic) exts.push(ipv6FragmentLayer(0, r.chance(0.5), r.u32(), named('frag'))); // a first or atomic fragment
  b.ipv6({
    src: r.ipv6(), dst: mld || dhcp ? mcast6(r) : r.ipv6(), hopLimit: mld || nd ? r.pick([1, 255]) : r.int(0, 255),
    trafficClass: r.int(0, 255), flowLabel: r.int(0, 0xfffff), ...(unknown !== undefined && !exts.length ? { nextHeader: unknown } : {}),
  });
  d.push('ipv6');
  for (const e of exts) {
    d.push(e.name);
    b.push(e);
  }
  if (fragment) {
    // A later fragment: no transport header in it.
    b.payload(r.bytes(r.int(0, 48)));
    return;
  }
  l4(r, b, d, k);
}

/** Draw the layers of one (inner or outer) Ethernet frame onto `b`. */
function ethernetFrame(r: Rng, b: B, d: Desc, depth: number): void {
  const k = r.weighted(depth === 0
    ? { arp: 1, ipv4: 5, ipv6: 5, geneve: 3, vxlan: 1.5, unknown: 0.5 }
    : { arp: 1, ipv4: 4, ipv6: 4, geneve: depth === 1 ? 0.5 : 0, vxlan: 0, unknown: 0.5 });
  // An unknown EtherType is written by the last L2 header.
  const etherType = k === 'unknown' ? r.pick(UNKNOWN_ETHERTYPES) : undefined;
  const tags = r.weighted({ none: 6, one: 3, two: 1 });
  b.ethernet({ src: r.mac(), dst: r.chance(0.1) ? 0xffffffffffff : r.mac(), ...(tags === 'none' && etherType ? { etherType } : {}) });
  if (tags === 'two') {
    b.vlan({ vid: r.int(0, 4095), pcp: r.int(0, 7), dei: r.chance(0.2), tpid: r.pick([0x88a8, 0x8100]) });
    b.vlan({ vid: r.int(0, 4095), pcp: r.int(0, 7), ...(etherType ? { etherType } : {}) });
    d.push('vlan2');
  } else if (tags === 'one') {
    b.vlan({ vid: r.int(0, 4095), pcp: r.int(0, 7), dei: r.chance(0.2), ...(etherType ? { etherType } : {}) });
    d.push('vlan');
  }
  switch (k) {
    case 'arp': {
      const op = r.pick([1, 2]);
      const spa = r.ipv4();
      d.push(`arp${op}`);
      b.arp({ op, sha: r.mac(), spa, tha: op === 1 ? 0 : r.mac(), tpa: r.chance(0.1) ? spa : r.ipv4() });
      return;
    }
    case 'ipv4': return ipv4(r, b, d);
    case 'ipv6': return ipv6(r, b, d);
    case 'unknown':
      d.push(`ethertype-${etherType!.toString(16)}`);
      b.payload(r.bytes(r.int(0, 46)));
      return;
    default:
      return tunnel(r, b, d, depth, k === 'geneve');
  }
}

function geneveOptionsExtra(r: Rng): GeneveOption[] {
  const out: GeneveOption[] = [];
  for (let i = r.pick([0, 0, 0, 0, 0, 1, 1, 1, 2, 3]); i > 0; i--) {
    out.push({ optClass: r.pick([0xffff, 0x0000, 0x0101, 0x0104, r.int(0x0105, 0xfeff)]), type: r.int(0, 0xff) & (r.chance(0.2) ? 0xff : 0x7f), data: r.bytes(4 * r.int(0, 4)) });
  }
  return out;
}

function tunnel(r: Rng, b: B, d: Desc, depth: number, geneve: boolean): void {
  if (r.chance(0.6)) {
    d.push('ipv4');
    b.ipv4({ src: r.ipv4(), dst: r.ipv4(), ttl: r.int(1, 255), dontFragment: r.chance(0.7), ident: r.int(0, 0xffff) });
  } else {
    d.push('ipv6');
    b.ipv6({ src: r.ipv6(), dst: r.ipv6(), hopLimit: r.int(1, 255), flowLabel: r.int(0, 0xfffff) });
  }
  b.udp({ srcPort: r.port(), checksum: r.chance(0.5) });
  d.push('udp');
  if (geneve) {
    const extra = geneveOptionsExtra(r);
    const ovn = r.chance(0.85);
    const repr = ovn
      ? ovnGeneveRepr({ datapath: r.int(0, 0xffffff), ingress: r.int(0, 0x7fff), egress: r.int(0, 0xffff) }, extra)
      : geneveRepr(r.int(0, 0xffffff), extra, { oam: r.chance(0.1) });
    // Sometimes the inner payload is an IP packet (protocol type = its EtherType), not Ethernet.
    const bareIp = r.chance(0.1);
    d.push(`geneve${ovn ? '[ovn]' : ''}${extra.length ? `+${extra.length}` : ''}`);
    const { protocolType: _p, ...rest } = repr;
    b.push(geneveLayer(rest));
    if (bareIp) {
      if (r.chance(0.5)) ipv4(r, b, d);
      else ipv6(r, b, d);
      return;
    }
  } else {
    d.push('vxlan');
    b.push(vxlanLayer(r.int(0, 0xffffff)));
  }
  d.push('|');
  ethernetFrame(r, b, d, depth + 1);
}

/** Draw one random frame (see the module comment). */
export function randomFrame(rng: Rng, opts: CorpusOptions = {}): CorpusFrame {
  const b = new PacketBuilder();
  const d: Desc = [];
  ethernetFrame(rng, b, d, 0);
  const full = b.build();
  if (rng.chance(opts.truncate ?? 0.08) && full.length > 1) {
    const cut = rng.int(1, full.length - 1);
    const snaplen = rng.chance(0.5);
    d.push(`cut@${cut}${snaplen ? '/snaplen' : ''}`);
    return { data: full.slice(0, cut), origLen: snaplen ? full.length : cut, desc: d.join('/'), truncated: true };
  }
  return { data: full, origLen: full.length, desc: d.join('/'), truncated: false };
}

/** `n` frames drawn from `seed` (the same frames on every run). */
export function randomCorpus(seed: number, n: number, opts: CorpusOptions = {}): CorpusFrame[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => randomFrame(rng, opts));
}
