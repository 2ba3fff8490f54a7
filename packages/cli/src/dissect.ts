/**
 * Frame dissection for `ovnts dissect`: walk a frame layer by layer (Ethernet, or the Linux
 * cooked headers SLL and SLL2 of `tcpdump -i any`, or raw IP; VLAN tags, ARP,
 * IPv4, IPv6 with extension headers, ICMP, ICMPv6/MLD, IGMP, UDP, TCP, DHCP, DHCPv6, DNS, and
 * into Geneve and VXLAN tunnels), producing one plain object per layer. Dissection never
 * throws: it stops at the first layer that is truncated or malformed and reports it as
 * `error: { layer, code, offset }`, keeping the layers that parsed. Offsets count from the
 * start of the frame. This is the control-plane reading of a frame (it allocates); the data
 * path uses the views directly.
 */
import {
  EtherType,
  formatIpv4,
  formatIpv6,
  formatMac,
  ipv6FromBytes,
  isVlanTpid,
  IpProtocol,
  parseArp,
  parseDhcpv4,
  parseDhcpv6,
  parseDns,
  parseEthernet,
  parseVlan,
  Ipv4View,
  Ipv6View,
  findUpperLayer,
  Ipv6UpperLayer,
  IPV6_HEADER_LEN,
  UdpView,
  TcpView,
  Icmpv4View,
  Icmpv6View,
  IgmpView,
  MldView,
  parseIgmp,
  parseMld,
  toHex,
  u16,
  u32,
  macFromBytes,
  wireErrorName,
  formatArp,
  formatDhcpv4,
  formatDhcpv6,
  formatDns,
  formatIgmp,
  formatMld,
  parseIcmpv6,
  formatIcmpv6,
  TcpFlags,
  WireErrorCode,
  type WireError,
} from '@ovnts/packet';
import {
  GENEVE_UDP_PORT,
  VXLAN_UDP_PORT,
  GeneveView,
  GeneveOptionCursor,
  VxlanView,
  checkGeneveAt,
  geneveErrorOffset,
  readOvnOption,
  ovnIngressKey,
  ovnEgressKey,
  GeneveProtocol,
} from '@ovnts/geneve';
import { LinkType } from '@ovnts/capture';

/** One dissected layer: `layer` names it, the other members are its fields. */
export type LayerInfo = { layer: string } & Record<string, unknown>;

/** Where dissection stopped, if it stopped early. */
export interface DissectError {
  layer: string;
  code: string;
  offset: number;
}

/** The dissection of one frame. */
export interface Dissection {
  layers: LayerInfo[];
  error?: DissectError;
}

/** A dissection with, per layer, a protocol name and a tshark-style Info text (for summaries). */
export interface DetailedDissection extends Dissection {
  /** Per layer: the protocol column name and the Info text. */
  notes: { proto: string; info: string }[];
}

const FLAG_NAMES: [number, string][] = [
  [TcpFlags.FIN, 'FIN'], [TcpFlags.SYN, 'SYN'], [TcpFlags.RST, 'RST'], [TcpFlags.PSH, 'PSH'], [TcpFlags.ACK, 'ACK'],
  [TcpFlags.URG, 'URG'], [TcpFlags.ECE, 'ECE'], [TcpFlags.CWR, 'CWR'], [TcpFlags.NS, 'NS'],
];

const ICMP_NAMES: Record<number, string> = {
  0: 'Echo (ping) reply', 3: 'Destination unreachable', 5: 'Redirect', 8: 'Echo (ping) request',
  11: 'Time-to-live exceeded', 12: 'Parameter problem', 13: 'Timestamp request', 14: 'Timestamp reply',
};

function icmpInfo(type: number, code: number, id: number, seq: number): string {
  const name = ICMP_NAMES[type] ?? `Type ${type}`;
  const echo = type === 0 || type === 8 ? `  id=0x${id.toString(16).padStart(4, '0')}, seq=${seq}` : '';
  return `${name}${type === 0 || type === 8 ? '' : ` (code ${code})`}${echo}`;
}

/** TCP flags as tshark lists them, e.g. `[SYN, ACK]`. */
export function tcpFlagsText(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  return names.length ? `[${names.join(', ')}]` : '[<None>]';
}

/** Linux packet types (`PACKET_HOST`...) of the cooked headers, as tshark names them. */
const SLL_PKTTYPES: Record<number, string> = { 0: 'Unicast to us', 1: 'Broadcast', 2: 'Multicast', 3: 'Unicast to another host', 4: 'Sent by us' };

const DHCP_PORTS = new Set([67, 68]);
const DHCPV6_PORTS = new Set([546, 547]);
const DNS_PORT = 53;
/** Tunnels nested deeper than this stop dissection (a frame can nest Geneve in Geneve...). */
const MAX_TUNNEL_DEPTH = 8;

class Walker {
  readonly layers: LayerInfo[] = [];
  readonly notes: { proto: string; info: string }[] = [];
  error: DissectError | undefined;
  truncated: DissectError | undefined;
  private readonly ip4 = new Ipv4View();
  private readonly ip6 = new Ipv6View();
  private readonly upper = new Ipv6UpperLayer();
  private readonly udp = new UdpView();
  private readonly tcp = new TcpView();
  private readonly icmp = new Icmpv4View();
  private readonly icmp6 = new Icmpv6View();
  private readonly igmp = new IgmpView();
  private readonly mld = new MldView();
  private readonly gen = new GeneveView();
  private readonly cursor = new GeneveOptionCursor();
  private readonly vx = new VxlanView();

  /**
   * @param buf the captured bytes
   * @param wireEnd the frame's length on the wire (beyond `buf.length` when the capture cut it)
   */
  constructor(
    readonly buf: Uint8Array,
    readonly wireEnd: number,
  ) {}

  push(layer: LayerInfo, proto: string, info: string): void {
    this.layers.push(layer);
    this.notes.push({ proto, info });
  }

  fail(layer: string, code: number, offset: number): void {
    this.error = { layer, code: wireErrorName(code), offset };
  }
  failWith(e: WireError): void {
    this.error = { layer: e.layer, code: e.codeName, offset: e.offset };
  }

  ethernet(off: number, end: number, depth: number): void {
    const eth = parseEthernet(this.buf, off, end - off);
    if (!eth.ok) return this.failWith(eth.error);
    const e = eth.value;
    this.push({ layer: 'eth', src: formatMac(e.src), dst: formatMac(e.dst), type: e.etherType }, 'ETH', `${formatMac(e.src)} → ${formatMac(e.dst)} Type 0x${e.etherType.toString(16).padStart(4, '0')}`);
    this.etherType(e.etherType, off + 14, end, depth);
  }

  /** The link-layer address of a cooked header: a MAC when it has 6 bytes, else hex. */
  private linkAddress(p: number, halen: number): string {
    return halen === 6 ? formatMac(macFromBytes(this.buf, p)) : toHex(this.buf, p, Math.min(halen, 8));
  }

  /**
   * Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113; `tcpdump -i any` before libpcap 1.10): packet
   * type, ARPHRD type, address length, 8 address bytes, protocol. A protocol above 1536 is an
   * EtherType; below, a Linux-internal code (802.2 LLC, 802.3...) that we do not follow, as tshark
   * shows it as `sll.ltype`.
   */
  sll(off: number, end: number, depth: number): void {
    const b = this.buf;
    if (end - off < 16) return this.fail('sll', WireErrorCode.Truncated, off);
    const pkttype = u16(b, off);
    const hatype = u16(b, off + 2);
    const halen = u16(b, off + 4);
    const proto = u16(b, off + 14);
    const src = this.linkAddress(off + 6, halen);
    this.push({ layer: 'sll', pkttype, hatype, halen, src, proto }, 'SLL', `${SLL_PKTTYPES[pkttype] ?? `Type ${pkttype}`} ${src} Protocol 0x${proto.toString(16).padStart(4, '0')}`);
    if (proto > 1536) this.etherType(proto, off + 16, end, depth);
  }

  /**
   * Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276; `tcpdump -i any` with libpcap 1.10 and
   * later): protocol, reserved, interface index, ARPHRD type, packet type, address length, 8
   * address bytes.
   */
  sll2(off: number, end: number, depth: number): void {
    const b = this.buf;
    if (end - off < 20) return this.fail('sll2', WireErrorCode.Truncated, off);
    const proto = u16(b, off);
    const ifindex = u32(b, off + 4);
    const hatype = u16(b, off + 8);
    const pkttype = b[off + 10]!;
    const halen = b[off + 11]!;
    const src = this.linkAddress(off + 12, halen);
    this.push({ layer: 'sll2', proto, ifindex, hatype, pkttype, halen, src }, 'SLL2', `${SLL_PKTTYPES[pkttype] ?? `Type ${pkttype}`} ${src} if ${ifindex} Protocol 0x${proto.toString(16).padStart(4, '0')}`);
    if (proto > 1536) this.etherType(proto, off + 20, end, depth);
  }

  /** Raw IP (LINKTYPE_RAW, 101): an IPv4 or IPv6 packet with no link-layer header; the version says which. */
  raw(off: number, end: number, depth: number): void {
    if (end - off < 1) return this.fail('raw', WireErrorCode.Truncated, off);
    const v = this.buf[off]! >> 4;
    if (v === 4) return this.ipv4(off, end, depth);
    if (v === 6) return this.ipv6(off, end, depth);
    this.fail('raw', WireErrorCode.BadVersion, off);
  }

  /** What follows an EtherType at `p`: VLAN tags, then the network layer. */
  etherType(type: number, p: number, end: number, depth: number): void {
    let tags = 0;
    while (isVlanTpid(type)) {
      const v = parseVlan(this.buf, p, end - p);
      if (!v.ok) return this.failWith(v.error);
      if (++tags > 8) return this.fail('vlan', WireErrorCode.TooDeep, p);
      this.push({ layer: 'vlan', vid: v.value.vid, pcp: v.value.pcp, tpid: type }, '802.1Q', `PRI: ${v.value.pcp}, ID: ${v.value.vid}`);
      type = v.value.etherType;
      p += 4;
    }
    this.l3(type, p, end, depth);
  }

  l3(type: number, p: number, end: number, depth: number): void {
    if (type === EtherType.ARP) {
      const a = parseArp(this.buf, p, end - p);
      if (!a.ok) return this.failWith(a.error);
      const r = a.value;
      this.push({ layer: 'arp', op: r.op, spa: formatIpv4(r.spa), tpa: formatIpv4(r.tpa), sha: formatMac(r.sha), tha: formatMac(r.tha) }, 'ARP', formatArp(r).replace(/^Address Resolution Protocol \([^)]*\), /, ''));
    } else if (type === EtherType.IPv4) this.ipv4(p, end, depth);
    else if (type === EtherType.IPv6) this.ipv6(p, end, depth);
  }

  /**
   * Note that a layer declares more bytes than the frame holds (a snaplen cut). Dissection goes
   * on with the bytes present, as tshark does; if nothing deeper fails, the first such layer is
   * the frame's error.
   */
  short(layer: string, offset: number): void {
    this.truncated ??= { layer, code: wireErrorName(WireErrorCode.Truncated), offset };
  }

  ipv4(p: number, end: number, depth: number): void {
    const b = this.buf;
    const len = end - p;
    if (len < 20) return this.fail('ipv4', WireErrorCode.Truncated, p);
    if (b[p]! >> 4 !== 4) return this.fail('ipv4', WireErrorCode.BadVersion, p);
    const v = this.ip4.reset(b, p, len);
    const hlen = v.headerLength;
    if (hlen < 20) return this.fail('ipv4', WireErrorCode.BadLength, p);
    const frag = v.fragmentOffset !== 0 || v.moreFragments;
    this.push(
      { layer: 'ipv4', src: formatIpv4(v.src), dst: formatIpv4(v.dst), ttl: v.ttl, proto: v.protocol },
      'IPv4',
      frag ? `Fragmented IP protocol (proto=${v.protocol}, off=${v.fragmentOffset * 8})` : `proto=${v.protocol} ttl=${v.ttl}`,
    );
    if (hlen > len) return this.fail('ipv4', WireErrorCode.Truncated, p);
    const total = v.totalLength;
    if (total < hlen) return this.fail('ipv4', WireErrorCode.BadLength, p);
    let e = p + total;
    if (e > end) {
      this.short('ipv4', p);
      e = end;
    }
    if (v.fragmentOffset !== 0) return; // a later fragment: no upper-layer header here
    this.l4(v.protocol, p + hlen, e, p + total, depth);
  }

  ipv6(p: number, end: number, depth: number): void {
    const b = this.buf;
    const len = end - p;
    if (len < IPV6_HEADER_LEN) return this.fail('ipv6', WireErrorCode.Truncated, p);
    if (b[p]! >> 4 !== 6) return this.fail('ipv6', WireErrorCode.BadVersion, p);
    const v = this.ip6.reset(b, p, len);
    this.push(
      { layer: 'ipv6', src: formatIpv6(ipv6FromBytes(b, p + 8)), dst: formatIpv6(ipv6FromBytes(b, p + 24)), hlim: v.hopLimit, next: v.nextHeader },
      'IPv6',
      `next=${v.nextHeader} hlim=${v.hopLimit}`,
    );
    const declared = p + IPV6_HEADER_LEN + v.payloadLength;
    let e = declared;
    if (e > end) {
      this.short('ipv6', p);
      e = end;
    }
    const u = findUpperLayer(b, p, e - p, this.upper);
    if (u.error !== WireErrorCode.Ok) return this.fail('ipv6', u.error, u.errorOffset);
    if (u.nonFirstFragment) return;
    this.l4(u.protocol, u.offset, e, declared, depth);
  }

  /** Dissect the upper layer in `[p, end)`; `declaredEnd` is where the IP header says it ends (beyond `end` when cut). */
  l4(proto: number, p: number, end: number, declaredEnd: number, depth: number): void {
    const b = this.buf;
    const len = end - p;
    switch (proto) {
      case IpProtocol.TCP: {
        const code = TcpView.check(b, p, len);
        if (code !== WireErrorCode.Ok) return this.fail('tcp', code, p);
        const t = this.tcp.reset(b, p, len);
        // From the IP length, bounded by the frame's length on the wire (as tshark): right for a snaplen cut too.
        const payload = Math.max(0, Math.min(declaredEnd, this.wireEnd) - p - t.headerLength);
        const ackText = t.flags & TcpFlags.ACK ? ` Ack=${t.ack}` : '';
        this.push(
          { layer: 'tcp', src: t.srcPort, dst: t.dstPort, flags: t.flags, seq: t.seq, ack: t.ack, len: payload },
          'TCP',
          `${t.srcPort} → ${t.dstPort} ${tcpFlagsText(t.flags)} Seq=${t.seq}${ackText} Win=${t.window} Len=${payload}`,
        );
        return;
      }
      case IpProtocol.UDP: {
        if (len < 8) return this.fail('udp', WireErrorCode.Truncated, p);
        const u = this.udp.reset(b, p, len);
        const src = u.srcPort;
        const dst = u.dstPort;
        const ulen = u.length;
        this.push({ layer: 'udp', src, dst, len: ulen }, 'UDP', `${src} → ${dst} Len=${ulen - 8}`);
        if (ulen < 8) return this.fail('udp', WireErrorCode.BadLength, p);
        let e = p + ulen;
        if (e > end) {
          this.short('udp', p);
          e = end;
        }
        return this.udpPayload(src, dst, p + 8, e, depth);
      }
      case IpProtocol.ICMP: {
        const code = Icmpv4View.check(b, p, len);
        if (code !== WireErrorCode.Ok) return this.fail('icmp', code, p);
        const i = this.icmp.reset(b, p, len);
        this.push({ layer: 'icmp', type: i.type, code: i.code }, 'ICMP', icmpInfo(i.type, i.code, i.ident, i.seq));
        return;
      }
      case IpProtocol.IGMP: {
        const code = IgmpView.check(b, p, len);
        if (code !== WireErrorCode.Ok) return this.fail('igmp', code, p);
        const r = parseIgmp(b, p, len);
        if (!r.ok) return this.failWith(r.error);
        const g = this.igmp.reset(b, p, len);
        const rec = r.value;
        const groups = rec.kind === 'reportV3' ? rec.records.map((x) => formatIpv4(x.group)) : 'group' in rec ? [formatIpv4(rec.group)] : [];
        this.push({ layer: 'igmp', type: g.type, group: groups[0] ?? null, ...(rec.kind === 'reportV3' ? { groups } : {}) }, 'IGMP', formatIgmp(rec));
        return;
      }
      case IpProtocol.ICMPv6: {
        const code = Icmpv6View.check(b, p, len);
        if (code !== WireErrorCode.Ok) return this.fail('icmpv6', code, p);
        const i = this.icmp6.reset(b, p, len);
        const type = i.type;
        const r6 = parseIcmpv6(b, p, len);
        this.push({ layer: 'icmpv6', type, code: i.code }, 'ICMPv6', r6.ok ? formatIcmpv6(r6.value) : `type ${type} code ${i.code}`);
        if (type === 130 || type === 131 || type === 132 || type === 143) {
          const m = parseMld(b, p, len);
          if (!m.ok) return this.failWith(m.error);
          const r = m.value;
          const groups = r.kind === 'reportV2' ? r.records.map((x) => formatIpv6(x.group)) : [formatIpv6(r.group)];
          this.push({ layer: 'mld', type: this.mld.reset(b, p, len).type, group: groups[0] ?? null, ...(r.kind === 'reportV2' ? { groups } : {}) }, 'MLD', formatMld(r));
        } else if ((type === 135 || type === 136) && len >= 24) {
          this.push({ layer: 'nd', target: formatIpv6(ipv6FromBytes(b, p + 8)) }, 'ICMPv6', this.notes[this.notes.length - 1]!.info);
        }
        return;
      }
      default:
        return;
    }
  }

  udpPayload(src: number, dst: number, p: number, end: number, depth: number): void {
    const b = this.buf;
    const len = end - p;
    if (dst === GENEVE_UDP_PORT) return this.geneve(p, end, depth);
    if (dst === VXLAN_UDP_PORT) return this.vxlan(p, end, depth);
    if (DHCP_PORTS.has(src) && DHCP_PORTS.has(dst)) {
      const r = parseDhcpv4(b, p, len);
      if (!r.ok) return this.failWith(r.error);
      this.push({ layer: 'dhcp', op: r.value.op, xid: r.value.xid, msgType: r.value.options.messageType ?? null }, 'DHCP', formatDhcpv4(r.value));
      return;
    }
    if (DHCPV6_PORTS.has(src) && DHCPV6_PORTS.has(dst)) {
      const r = parseDhcpv6(b, p, len);
      if (!r.ok) return this.failWith(r.error);
      const m = r.value;
      this.push({ layer: 'dhcpv6', msgType: m.msgType, ...(m.kind === 'message' ? { xid: m.transactionId } : { hopCount: m.hopCount }) }, 'DHCPv6', formatDhcpv6(m));
      return;
    }
    if (src === DNS_PORT || dst === DNS_PORT) {
      const r = parseDns(b, p, len);
      if (!r.ok) return this.failWith(r.error);
      const d = r.value;
      this.push({ layer: 'dns', id: d.id, qr: d.qr ? 1 : 0, questions: d.questions.map((q) => q.name) }, 'DNS', formatDns(d));
    }
  }

  geneve(p: number, end: number, depth: number): void {
    const b = this.buf;
    const len = end - p;
    const code = checkGeneveAt(b, p, len);
    if (code !== WireErrorCode.Ok) return this.fail('geneve', code, geneveErrorOffset());
    const g = this.gen.reset(b, p, len);
    const options: { class: number; type: number; data: string }[] = [];
    const c = this.cursor.over(g);
    while (c.next()) options.push({ class: c.optClass, type: c.type, data: toHex(b, c.dataOffset, c.dataLength) });
    const layer: LayerInfo = { layer: 'geneve', vni: g.vni, protocol: g.protocolType, options };
    const ovn = readOvnOption(b, g.optionsOffset, g.optionsLength);
    if (ovn >= 0) layer.ovn = { ingressPort: ovnIngressKey(ovn), egressPort: ovnEgressKey(ovn) };
    const ovnText = layer.ovn ? `, OVN ingress ${ovnIngressKey(ovn)} egress ${ovnEgressKey(ovn)}` : '';
    this.push(layer, 'Geneve', `VNI ${g.vni}${ovnText}`);
    this.inner(g.protocolType, g.payloadOffset, end, depth);
  }

  vxlan(p: number, end: number, depth: number): void {
    const code = VxlanView.check(this.buf, p, end - p);
    if (code !== WireErrorCode.Ok) return this.fail('vxlan', code, p);
    const v = this.vx.reset(this.buf, p, end - p);
    this.push({ layer: 'vxlan', vni: v.vni }, 'VXLAN', `VNI ${v.vni}`);
    this.inner(GeneveProtocol.TransparentEthernetBridging, p + 8, end, depth);
  }

  inner(protocol: number, p: number, end: number, depth: number): void {
    if (depth + 1 > MAX_TUNNEL_DEPTH) return this.fail('geneve', WireErrorCode.TooDeep, p);
    if (protocol === GeneveProtocol.TransparentEthernetBridging) this.ethernet(p, end, depth + 1);
    else this.l3(protocol, p, end, depth + 1);
  }
}

/**
 * Dissect one frame (Ethernet unless `linkType` says otherwise). Never throws. `origLen` is its length on the wire when the capture
 * kept fewer bytes (lengths such as TCP's payload are then computed as on the wire).
 */
export function dissectFrame(frame: Uint8Array, origLen = frame.length, linkType: number = LinkType.ETHERNET): Dissection {
  const d = dissectFrameDetailed(frame, origLen, linkType);
  return d.error ? { layers: d.layers, error: d.error } : { layers: d.layers };
}

/** The link types `dissectFrame` reads (LINKTYPE_* numbers): Ethernet, Linux cooked SLL and SLL2, raw IP. */
export const DISSECT_LINK_TYPES: readonly number[] = [LinkType.ETHERNET, LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.RAW];

/**
 * Dissect one frame of link type `linkType` (Ethernet by default; see `DISSECT_LINK_TYPES`), with
 * per-layer protocol names and Info texts. Never throws; another link type is an `Unsupported`
 * error of layer `link`.
 */
export function dissectFrameDetailed(frame: Uint8Array, origLen = frame.length, linkType: number = LinkType.ETHERNET): DetailedDissection {
  const w = new Walker(frame, Math.max(origLen, frame.length));
  if (linkType === LinkType.ETHERNET) w.ethernet(0, frame.length, 0);
  else if (linkType === LinkType.LINUX_SLL) w.sll(0, frame.length, 0);
  else if (linkType === LinkType.LINUX_SLL2) w.sll2(0, frame.length, 0);
  else if (linkType === LinkType.RAW) w.raw(0, frame.length, 0);
  else w.error = { layer: 'link', code: 'Unsupported', offset: 0 };
  const error = w.error ?? w.truncated;
  return error ? { layers: w.layers, notes: w.notes, error } : { layers: w.layers, notes: w.notes };
}

/**
 * A one-line summary in the spirit of tshark's: the innermost addresses, the top protocol, the
 * frame length and the top protocol's Info, with any tunnel noted; errors are flagged.
 */
export function summarize(d: DetailedDissection, frameLen: number): { src: string; dst: string; proto: string; info: string } {
  let src = '';
  let dst = '';
  for (const l of d.layers) {
    if (l.layer === 'eth' || l.layer === 'ipv4' || l.layer === 'ipv6') {
      src = String(l.src);
      dst = String(l.dst);
    }
  }
  const top = d.notes[d.notes.length - 1];
  let proto = top?.proto ?? 'DATA';
  let info = top?.info ?? `${frameLen} bytes`;
  const tunnels = d.notes.filter((n) => n.proto === 'Geneve' || n.proto === 'VXLAN').map((n) => `${n.proto} ${n.info}`);
  if (tunnels.length && top && top.proto !== 'Geneve' && top.proto !== 'VXLAN') info += ` [${tunnels.join('; ')}]`;
  if (d.error) {
    info += ` [Malformed: ${d.error.layer} ${d.error.code} at offset ${d.error.offset}]`;
    if (!top) proto = 'MALFORMED';
  }
  return { src, dst, proto, info };
}
