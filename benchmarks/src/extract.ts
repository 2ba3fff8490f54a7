/**
 * Our side of the parse benchmark: extract the headers of a Geneve-encapsulated TCP frame with
 * the library's reusable views. Each layer is proven present by its view's `static check()`,
 * the view is pointed at it with `reset()`, and the fields are copied into one preallocated,
 * fixed-shape result object. Nothing is allocated per frame: seven views and the result live as
 * long as the module, and every value is a number (a MAC is a 48-bit number, an IPv4 address an
 * unsigned 32-bit number, OVN's port keys are split out of the packed option value).
 *
 * The field set is exactly what the baseline decoders extract (`baseline-decoder.ts`); the
 * benchmark compares both on every frame before it times anything (`normalize*`).
 */
import { EthernetView, EtherType, IpProtocol, Ipv4View, TcpView, UdpView, WireErrorCode } from '@ovnts/packet';
import { GENEVE_UDP_PORT, GeneveView, ovnEgressKey, ovnIngressKey, readOvnOption } from '@ovnts/geneve';
import type { BufferLayoutFrame, DecodedFrame } from './baseline-decoder.js';

/** The headers of an outer Ethernet/IPv4/UDP/Geneve + inner Ethernet/IPv4/TCP frame, flat. */
export class GeneveTcpHeaders {
  ethDst = 0;
  ethSrc = 0;
  ethType = 0;
  ipIhl = 0;
  ipTotalLength = 0;
  ipTtl = 0;
  ipProto = 0;
  ipSrc = 0;
  ipDst = 0;
  udpSrc = 0;
  udpDst = 0;
  udpLength = 0;
  genOptLen = 0;
  genProto = 0;
  vni = 0;
  /** OVN logical ingress port key, or -1 without OVN's option. */
  ovnIngress = -1;
  /** OVN logical egress port key, or -1 without OVN's option. */
  ovnEgress = -1;
  innerEthDst = 0;
  innerEthSrc = 0;
  innerEthType = 0;
  innerIpIhl = 0;
  innerIpTotalLength = 0;
  innerIpTtl = 0;
  innerIpProto = 0;
  innerIpSrc = 0;
  innerIpDst = 0;
  tcpSrc = 0;
  tcpDst = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpFlags = 0;
}

const eth = new EthernetView();
const ip = new Ipv4View();
const udp = new UdpView();
const gen = new GeneveView();
const ieth = new EthernetView();
const iip = new Ipv4View();
const tcp = new TcpView();

/**
 * Extract the headers of the frame `buf[off, off + len)` into `r`. Returns `WireErrorCode.Ok`,
 * the first layer's error code, or `BadValue` when a layer names something other than the next
 * expected one (not IPv4, not UDP, not port 6081, not TCP). Never throws; allocates nothing.
 */
export function extractGeneveTcp(buf: Uint8Array, off: number, len: number, r: GeneveTcpHeaders): number {
  let c: number = EthernetView.check(buf, off, len);
  if (c !== WireErrorCode.Ok) return c;
  eth.reset(buf, off, len);
  r.ethDst = eth.dst;
  r.ethSrc = eth.src;
  r.ethType = eth.etherType;
  if (r.ethType !== EtherType.IPv4) return WireErrorCode.BadValue;

  let p = eth.payloadOffset;
  let n = eth.payloadLength;
  c = Ipv4View.check(buf, p, n);
  if (c !== WireErrorCode.Ok) return c;
  ip.reset(buf, p, n);
  r.ipIhl = ip.ihl;
  r.ipTotalLength = ip.totalLength;
  r.ipTtl = ip.ttl;
  r.ipProto = ip.protocol;
  r.ipSrc = ip.src;
  r.ipDst = ip.dst;
  if (r.ipProto !== IpProtocol.UDP) return WireErrorCode.BadValue;

  p = ip.payloadOffset;
  n = ip.payloadLength;
  c = UdpView.check(buf, p, n);
  if (c !== WireErrorCode.Ok) return c;
  udp.reset(buf, p, n);
  r.udpSrc = udp.srcPort;
  r.udpDst = udp.dstPort;
  r.udpLength = udp.length;
  if (r.udpDst !== GENEVE_UDP_PORT) return WireErrorCode.BadValue;

  p = udp.payloadOffset;
  n = udp.payloadLength;
  c = GeneveView.check(buf, p, n);
  if (c !== WireErrorCode.Ok) return c;
  gen.reset(buf, p, n);
  r.genOptLen = gen.optionsLength;
  r.genProto = gen.protocolType;
  r.vni = gen.vni;
  const keys = readOvnOption(buf, gen.optionsOffset, r.genOptLen);
  r.ovnIngress = keys >= 0 ? ovnIngressKey(keys) : -1;
  r.ovnEgress = keys >= 0 ? ovnEgressKey(keys) : -1;

  p = gen.payloadOffset;
  n = gen.payloadLength;
  c = EthernetView.check(buf, p, n);
  if (c !== WireErrorCode.Ok) return c;
  ieth.reset(buf, p, n);
  r.innerEthDst = ieth.dst;
  r.innerEthSrc = ieth.src;
  r.innerEthType = ieth.etherType;
  if (r.innerEthType !== EtherType.IPv4) return WireErrorCode.BadValue;

  p = ieth.payloadOffset;
  n = ieth.payloadLength;
  c = Ipv4View.check(buf, p, n);
  if (c !== WireErrorCode.Ok) return c;
  iip.reset(buf, p, n);
  r.innerIpIhl = iip.ihl;
  r.innerIpTotalLength = iip.totalLength;
  r.innerIpTtl = iip.ttl;
  r.innerIpProto = iip.protocol;
  r.innerIpSrc = iip.src;
  r.innerIpDst = iip.dst;
  if (r.innerIpProto !== IpProtocol.TCP) return WireErrorCode.BadValue;

  p = iip.payloadOffset;
  n = iip.payloadLength;
  c = TcpView.check(buf, p, n);
  if (c !== WireErrorCode.Ok) return c;
  tcp.reset(buf, p, n);
  r.tcpSrc = tcp.srcPort;
  r.tcpDst = tcp.dstPort;
  r.tcpSeq = tcp.seq;
  r.tcpAck = tcp.ack;
  r.tcpFlags = tcp.flags;
  return WireErrorCode.Ok;
}

/** The extracted fields as a plain object (for the equality check; allocates). */
export type Fields = { [K in keyof GeneveTcpHeaders]: number };

/** Our result as a plain object. */
export function normalizeOurs(r: GeneveTcpHeaders): Fields {
  return { ...r };
}

const macNum = (m: number | Uint8Array): number => (typeof m === 'number' ? m : Buffer.from(m.buffer, m.byteOffset, 6).readUIntBE(0, 6));

/** Baseline A's nested objects as the same flat field set. */
export function normalizeBuffer(d: DecodedFrame): Fields {
  return {
    ethDst: d.eth.dst, ethSrc: d.eth.src, ethType: d.eth.type,
    ipIhl: d.ip.ihl, ipTotalLength: d.ip.totalLength, ipTtl: d.ip.ttl, ipProto: d.ip.proto, ipSrc: d.ip.src, ipDst: d.ip.dst,
    udpSrc: d.udp.src, udpDst: d.udp.dst, udpLength: d.udp.length,
    genOptLen: d.geneve.optLen, genProto: d.geneve.protocol, vni: d.geneve.vni,
    ovnIngress: d.geneve.ovn ? d.geneve.ovn.ingress : -1, ovnEgress: d.geneve.ovn ? d.geneve.ovn.egress : -1,
    innerEthDst: d.inner.eth.dst, innerEthSrc: d.inner.eth.src, innerEthType: d.inner.eth.type,
    innerIpIhl: d.inner.ip.ihl, innerIpTotalLength: d.inner.ip.totalLength, innerIpTtl: d.inner.ip.ttl,
    innerIpProto: d.inner.ip.proto, innerIpSrc: d.inner.ip.src, innerIpDst: d.inner.ip.dst,
    tcpSrc: d.inner.tcp.src, tcpDst: d.inner.tcp.dst, tcpSeq: d.inner.tcp.seq, tcpAck: d.inner.tcp.ack, tcpFlags: d.inner.tcp.flags,
  };
}

/** Baseline B's buffer-layout objects as the same flat field set. */
export function normalizeBufferLayout(d: BufferLayoutFrame): Fields {
  return {
    ethDst: macNum(d.e.dst), ethSrc: macNum(d.e.src), ethType: d.e.type,
    ipIhl: d.i.vihl & 0x0f, ipTotalLength: d.i.totalLength, ipTtl: d.i.ttl, ipProto: d.i.proto, ipSrc: d.i.src, ipDst: d.i.dst,
    udpSrc: d.u.src, udpDst: d.u.dst, udpLength: d.u.length,
    genOptLen: (d.g.verOptLen & 0x3f) * 4, genProto: d.g.protocol, vni: d.g.vni,
    ovnIngress: d.ovn ? d.ovn.ingress : -1, ovnEgress: d.ovn ? d.ovn.egress : -1,
    innerEthDst: macNum(d.ie.dst), innerEthSrc: macNum(d.ie.src), innerEthType: d.ie.type,
    innerIpIhl: d.ii.vihl & 0x0f, innerIpTotalLength: d.ii.totalLength, innerIpTtl: d.ii.ttl,
    innerIpProto: d.ii.proto, innerIpSrc: d.ii.src, innerIpDst: d.ii.dst,
    tcpSrc: d.t.src, tcpDst: d.t.dst, tcpSeq: d.t.seq, tcpAck: d.t.ack, tcpFlags: d.t.offFlags & 0x1ff,
  };
}
