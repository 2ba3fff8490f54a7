/**
 * A packet builder for tests, examples and the demo. Layers are stacked outermost first; `build()`
 * sizes every header from the inside out, writes them from the outside in, fills the type and
 * protocol fields that name the next layer (EtherType, IP protocol, UDP port) unless given, and
 * computes every length and checksum last, innermost first (an outer UDP checksum covers the
 * inner ones). Addresses may be given as text or in Repr form. Not for the hot path: it allocates.
 *
 *     const frame = new PacketBuilder()
 *       .ethernet({ src: '0a:00:00:00:00:01', dst: '0a:00:00:00:00:02' })
 *       .ipv4({ src: '10.0.0.1', dst: '10.0.0.2' })
 *       .tcp({ srcPort: 40000, dstPort: 80, flags: 'S' })
 *       .build();
 *
 * Other packages plug in their own layers (Geneve, VXLAN) through the `Layer` interface.
 */
import { parseIpv4, parseIpv6, parseMac } from './addr.js';
import { fromHex } from './bytes.js';
import { internetChecksum } from './checksum.js';
import { EtherType, emitEthernet, ETHERNET_HEADER_LEN } from './ethernet.js';
import { emitVlan, VLAN_TAG_LEN } from './vlan.js';
import { ArpOp, emitArp, ARP_LEN } from './arp.js';
import { emitIpv4, ipv4Len, IpProtocol, type Ipv4Repr } from './ipv4.js';
import { emitIpv6, IPV6_HEADER_LEN } from './ipv6.js';
import { emitUdp, fillUdpChecksumV4, fillUdpChecksumV6, UDP_HEADER_LEN } from './udp.js';
import { emitTcp, fillTcpChecksumV4, fillTcpChecksumV6, tcpLen, TcpFlags } from './tcp.js';
import { emitIcmpv6, fillIcmpv6Checksum, icmpv6Len, type Icmpv6Repr } from './icmpv6.js';
import { emitIgmp, igmpLen, type IgmpRepr } from './igmp.js';
import { emitMld, mldLen, type MldRepr } from './mld.js';
import { emitDhcpv4, dhcpv4Len, type Dhcpv4Repr } from './dhcpv4.js';
import { emitDhcpv6, dhcpv6Len, type Dhcpv6Repr } from './dhcpv6.js';
import { emitDns, dnsLen, type DnsRepr } from './dns.js';

/** A MAC as text or 48-bit number. */
export type MacLike = string | number;
/** An IPv4 address as text or u32 number. */
export type Ipv4Like = string | number;
/** An IPv6 address as text or bigint. */
export type Ipv6Like = string | bigint;

/** The nearest enclosing IP header, for pseudo-header checksums. */
export type EnclosingIp = { version: 4; off: number; src: number; dst: number } | { version: 6; off: number };

/** One layer of a packet under construction. */
export interface Layer {
  /** Name, for errors. */
  readonly name: string;
  /** EtherType that announces this layer after an L2 header. */
  readonly etherType?: number;
  /** IP protocol number that announces this layer after an IP header. */
  readonly ipProtocol?: number;
  /** Default UDP destination port that announces this layer after UDP. */
  readonly udpPort?: number;
  /** Header length, given the length of everything after the header. */
  headerLen(payloadLen: number): number;
  /** Write the header at `off`; `next` is the following layer (if any). */
  emit(buf: Uint8Array, off: number, payloadLen: number, next: Layer | undefined): void;
  /** After every layer is written: fill lengths/checksums over `buf[off, off+len)`. */
  finish?(buf: Uint8Array, off: number, len: number, ip: EnclosingIp | undefined): void;
  /** Describe this layer as an enclosing IP header for the layers inside it. */
  asIp?(buf: Uint8Array, off: number): EnclosingIp;
}

/** Raised when the builder is given inconsistent layers. */
export class BuildError extends TypeError {
  override readonly name = 'BuildError';
}

const mac = (m: MacLike): number => (typeof m === 'number' ? m : parseMac(m));
const ip4 = (a: Ipv4Like): number => (typeof a === 'number' ? a >>> 0 : parseIpv4(a));
const ip6 = (a: Ipv6Like): bigint => (typeof a === 'bigint' ? a : parseIpv6(a));
const bytes = (p: Uint8Array | string): Uint8Array => (typeof p === 'string' ? new TextEncoder().encode(p) : p);

/** TCP flags as a number or letters: F S R P A U E C N (e.g. `'SA'`). */
export function tcpFlagsFrom(f: number | string): number {
  if (typeof f === 'number') return f;
  const map: Record<string, number> = {
    F: TcpFlags.FIN, S: TcpFlags.SYN, R: TcpFlags.RST, P: TcpFlags.PSH, A: TcpFlags.ACK,
    U: TcpFlags.URG, E: TcpFlags.ECE, C: TcpFlags.CWR, N: TcpFlags.NS,
  };
  let v = 0;
  for (const c of f.toUpperCase()) {
    const bit = map[c];
    if (bit === undefined) throw new BuildError(`tcp: unknown flag letter ${JSON.stringify(c)} in ${JSON.stringify(f)}`);
    v |= bit;
  }
  return v;
}

function nextEtherType(self: string, next: Layer | undefined, given?: number): number {
  if (given !== undefined) return given;
  if (next?.etherType !== undefined) return next.etherType;
  if (next === undefined) return 0x88b5; // IEEE local experimental EtherType for a bare payload
  throw new BuildError(`${self}: cannot infer the EtherType for a following ${next.name} layer; give etherType`);
}

function nextProtocol(self: string, next: Layer | undefined, given?: number): number {
  if (given !== undefined) return given;
  if (next?.ipProtocol !== undefined) return next.ipProtocol;
  if (next === undefined) return IpProtocol.NoNext;
  throw new BuildError(`${self}: cannot infer the protocol for a following ${next.name} layer; give protocol`);
}

/** Options of `PacketBuilder.ethernet`. */
export interface EthernetOpts { src: MacLike; dst: MacLike; etherType?: number }
/** Options of `PacketBuilder.vlan`. */
export interface VlanOpts { vid: number; pcp?: number; dei?: boolean; tpid?: number; etherType?: number }
/** Options of `PacketBuilder.arp`. */
export interface ArpOpts { op?: number; sha: MacLike; spa: Ipv4Like; tha?: MacLike; tpa: Ipv4Like }
/** Options of `PacketBuilder.ipv4`. */
export interface Ipv4Opts {
  src: Ipv4Like; dst: Ipv4Like; ttl?: number; protocol?: number; dscp?: number; ecn?: number; ident?: number;
  dontFragment?: boolean; moreFragments?: boolean; fragmentOffset?: number; options?: Uint8Array;
}
/** Options of `PacketBuilder.ipv6`. */
export interface Ipv6Opts { src: Ipv6Like; dst: Ipv6Like; hopLimit?: number; nextHeader?: number; trafficClass?: number; flowLabel?: number }
/** Options of `PacketBuilder.udp`. */
export interface UdpOpts { srcPort: number; dstPort?: number; checksum?: boolean }
/** Options of `PacketBuilder.tcp`. */
export interface TcpOpts {
  srcPort: number; dstPort: number; seq?: number; ack?: number; flags?: number | string; window?: number;
  urgent?: number; options?: Uint8Array;
}
/** Options of `PacketBuilder.icmpv4`. */
export interface Icmpv4Opts { type?: number; code?: number; id?: number; seq?: number; rest?: number }

/** Builds frames layer by layer (see the module comment). */
export class PacketBuilder {
  private readonly layers: Layer[] = [];
  private tail: Uint8Array = new Uint8Array(0);
  private cut = -1;

  /** Append any layer (used by other packages: Geneve, VXLAN, ICMPv6, DHCP, DNS...). */
  push(layer: Layer): this {
    this.layers.push(layer);
    return this;
  }

  /** An Ethernet II header. */
  ethernet(o: EthernetOpts): this {
    return this.push({
      name: 'eth',
      etherType: EtherType.TransparentEthernetBridging,
      headerLen: () => ETHERNET_HEADER_LEN,
      emit: (buf, off, _p, next) => void emitEthernet({ src: mac(o.src), dst: mac(o.dst), etherType: nextEtherType('eth', next, o.etherType) }, buf, off),
    });
  }

  /** An 802.1Q tag (TPID 0x8100; give `tpid: 0x88a8` for an 802.1ad outer tag). */
  vlan(o: VlanOpts): this {
    return this.push({
      name: 'vlan',
      etherType: o.tpid ?? EtherType.VLAN,
      headerLen: () => VLAN_TAG_LEN,
      emit: (buf, off, _p, next) =>
        void emitVlan({ vid: o.vid, pcp: o.pcp ?? 0, dei: o.dei ?? false, etherType: nextEtherType('vlan', next, o.etherType) }, buf, off),
    });
  }

  /** An ARP packet (Ethernet/IPv4); `op` defaults to request, `tha` to zero. */
  arp(o: ArpOpts): this {
    return this.push({
      name: 'arp',
      etherType: EtherType.ARP,
      headerLen: () => ARP_LEN,
      emit: (buf, off) =>
        void emitArp({ op: o.op ?? ArpOp.Request, sha: mac(o.sha), spa: ip4(o.spa), tha: o.tha === undefined ? 0 : mac(o.tha), tpa: ip4(o.tpa) }, buf, off),
    });
  }

  /** An IPv4 header (TTL 64 by default; protocol from the next layer). */
  ipv4(o: Ipv4Opts): this {
    const src = ip4(o.src);
    const dst = ip4(o.dst);
    const repr = (payloadLength: number, protocol: number): Ipv4Repr => ({
      dscp: o.dscp ?? 0, ecn: o.ecn ?? 0, ident: o.ident ?? 0, dontFragment: o.dontFragment ?? false,
      moreFragments: o.moreFragments ?? false, fragmentOffset: o.fragmentOffset ?? 0, ttl: o.ttl ?? 64,
      protocol, src, dst, options: o.options ?? new Uint8Array(0), payloadLength,
    });
    return this.push({
      name: 'ipv4',
      etherType: EtherType.IPv4,
      ipProtocol: IpProtocol.IPIP,
      headerLen: (p) => ipv4Len(repr(p, 0)),
      emit: (buf, off, p, next) => void emitIpv4(repr(p, nextProtocol('ipv4', next, o.protocol)), buf, off),
      asIp: (_buf, off) => ({ version: 4, off, src, dst }),
    });
  }

  /** An IPv6 header (hop limit 64 by default; next header from the next layer). */
  ipv6(o: Ipv6Opts): this {
    const src = ip6(o.src);
    const dst = ip6(o.dst);
    return this.push({
      name: 'ipv6',
      etherType: EtherType.IPv6,
      ipProtocol: IpProtocol.IPv6,
      headerLen: () => IPV6_HEADER_LEN,
      emit: (buf, off, p, next) =>
        void emitIpv6(
          { trafficClass: o.trafficClass ?? 0, flowLabel: o.flowLabel ?? 0, payloadLength: p, nextHeader: nextProtocol('ipv6', next, o.nextHeader), hopLimit: o.hopLimit ?? 64, src, dst },
          buf,
          off,
        ),
      asIp: (_buf, off) => ({ version: 6, off }),
    });
  }

  /** A UDP header; the destination port defaults to the next layer's port; checksum on by default. */
  udp(o: UdpOpts): this {
    return this.push({
      name: 'udp',
      ipProtocol: IpProtocol.UDP,
      headerLen: () => UDP_HEADER_LEN,
      emit: (buf, off, p, next) => {
        const dstPort = o.dstPort ?? next?.udpPort;
        if (dstPort === undefined) throw new BuildError('udp: give dstPort (the next layer does not imply one)');
        emitUdp({ srcPort: o.srcPort, dstPort, length: UDP_HEADER_LEN + p, checksum: 0 }, buf, off);
      },
      finish: (buf, off, _len, ip) => {
        if (o.checksum === false || !ip) return;
        if (ip.version === 4) fillUdpChecksumV4(buf, off, ip.src, ip.dst);
        else fillUdpChecksumV6(buf, off, ip.off);
      },
    });
  }

  /** A TCP header with its checksum. */
  tcp(o: TcpOpts): this {
    const repr = {
      srcPort: o.srcPort, dstPort: o.dstPort, seq: o.seq ?? 0, ack: o.ack ?? 0, flags: tcpFlagsFrom(o.flags ?? 0),
      window: o.window ?? 65535, checksum: 0, urgent: o.urgent ?? 0, options: o.options ?? new Uint8Array(0),
    };
    return this.push({
      name: 'tcp',
      ipProtocol: IpProtocol.TCP,
      headerLen: () => tcpLen(repr),
      emit: (buf, off) => void emitTcp(repr, buf, off),
      finish: (buf, off, len, ip) => {
        if (!ip) return;
        if (ip.version === 4) fillTcpChecksumV4(buf, off, len, ip.src, ip.dst);
        else fillTcpChecksumV6(buf, off, len, ip.off);
      },
    });
  }

  /** An ICMPv4 message header (echo request by default: type 8, with id and seq). */
  icmpv4(o: Icmpv4Opts = {}): this {
    return this.push({
      name: 'icmp',
      ipProtocol: IpProtocol.ICMP,
      headerLen: () => 8,
      emit: (buf, off) => {
        buf[off] = o.type ?? 8;
        buf[off + 1] = o.code ?? 0;
        buf[off + 2] = 0;
        buf[off + 3] = 0;
        const rest = o.rest ?? (((o.id ?? 0) & 0xffff) * 0x10000 + ((o.seq ?? 0) & 0xffff));
        buf[off + 4] = (rest >>> 24) & 0xff;
        buf[off + 5] = (rest >>> 16) & 0xff;
        buf[off + 6] = (rest >>> 8) & 0xff;
        buf[off + 7] = rest & 0xff;
      },
      finish: (buf, off, len) => {
        const c = internetChecksum(buf, off, len);
        buf[off + 2] = c >>> 8;
        buf[off + 3] = c & 0xff;
      },
    });
  }

  /** An ICMPv6 message (echo, errors, neighbour discovery); its checksum uses the enclosing IPv6 header. */
  icmpv6(r: Icmpv6Repr): this {
    return this.push({
      name: 'icmpv6',
      ipProtocol: IpProtocol.ICMPv6,
      headerLen: () => icmpv6Len(r),
      emit: (buf, off) => void emitIcmpv6(r, buf, off),
      finish: (buf, off, len, ip) => {
        if (ip?.version !== 6) throw new BuildError('icmpv6: needs an enclosing IPv6 header for its checksum');
        buf[off + 2] = 0;
        buf[off + 3] = 0;
        fillIcmpv6Checksum(buf, off, len, ip.off);
      },
    });
  }

  /** An MLD message (inside ICMPv6; its checksum uses the enclosing IPv6 header). */
  mld(r: MldRepr): this {
    return this.push({
      name: 'mld',
      ipProtocol: IpProtocol.ICMPv6,
      headerLen: () => mldLen(r),
      emit: (buf, off) => void emitMld(r, buf, off),
      finish: (buf, off, len, ip) => {
        if (ip?.version !== 6) throw new BuildError('mld: needs an enclosing IPv6 header for its checksum');
        buf[off + 2] = 0;
        buf[off + 3] = 0;
        fillIcmpv6Checksum(buf, off, len, ip.off);
      },
    });
  }

  /** An IGMP message (with its checksum). */
  igmp(r: IgmpRepr): this {
    return this.push({ name: 'igmp', ipProtocol: IpProtocol.IGMP, headerLen: () => igmpLen(r), emit: (buf, off) => void emitIgmp(r, buf, off) });
  }

  /** A DHCPv4 message (UDP port 67 by default). */
  dhcpv4(r: Dhcpv4Repr): this {
    return this.push({ name: 'dhcp', udpPort: r.op === 2 ? 68 : 67, headerLen: () => dhcpv4Len(r), emit: (buf, off) => void emitDhcpv4(r, buf, off) });
  }

  /** A DHCPv6 message (UDP port 547 by default). */
  dhcpv6(r: Dhcpv6Repr): this {
    return this.push({ name: 'dhcpv6', udpPort: 547, headerLen: () => dhcpv6Len(r), emit: (buf, off) => void emitDhcpv6(r, buf, off) });
  }

  /** A DNS message (UDP port 53 by default). */
  dns(r: DnsRepr): this {
    return this.push({ name: 'dns', udpPort: 53, headerLen: () => dnsLen(r), emit: (buf, off) => void emitDns(r, buf, off) });
  }

  /** Payload bytes after the last layer (text is UTF-8 encoded; `hex:` prefix for hex). */
  payload(p: Uint8Array | string): this {
    this.tail = typeof p === 'string' && p.startsWith('hex:') ? fromHex(p.slice(4)) : bytes(p);
    return this;
  }

  /** Cut the built frame to `n` bytes (for truncation tests), after checksums are computed. */
  truncate(n: number): this {
    this.cut = n;
    return this;
  }

  /** Build the frame. */
  build(): Uint8Array {
    const n = this.layers.length;
    const headerLens = new Array<number>(n);
    const payloadLens = new Array<number>(n);
    let after = this.tail.length;
    for (let i = n - 1; i >= 0; i--) {
      payloadLens[i] = after;
      headerLens[i] = this.layers[i]!.headerLen(after);
      after += headerLens[i]!;
    }
    const buf = new Uint8Array(after);
    const offs = new Array<number>(n);
    let off = 0;
    for (let i = 0; i < n; i++) {
      offs[i] = off;
      this.layers[i]!.emit(buf, off, payloadLens[i]!, this.layers[i + 1]);
      off += headerLens[i]!;
    }
    buf.set(this.tail, off);
    // Checksums innermost first, each with its nearest enclosing IP header.
    for (let i = n - 1; i >= 0; i--) {
      const layer = this.layers[i]!;
      if (!layer.finish) continue;
      let ip: EnclosingIp | undefined;
      for (let j = i - 1; j >= 0 && !ip; j--) ip = this.layers[j]!.asIp?.(buf, offs[j]!);
      layer.finish(buf, offs[i]!, headerLens[i]! + payloadLens[i]!, ip);
    }
    return this.cut >= 0 && this.cut < buf.length ? buf.subarray(0, this.cut) : buf;
  }
}
