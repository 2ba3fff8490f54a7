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
import { EthernetView, EtherType, i32, IpProtocol, Ipv4View, TcpView, u16, UdpView, WireErrorCode } from '@ovnts/packet';
import { decapsulate, DecapResult, GENEVE_UDP_PORT, GeneveProtocol, GeneveView, ovnEgressKey, ovnIngressKey, readOvnOption } from '@ovnts/geneve';
import { ExtractStatus, extractFlowKey, FlowKey, TUN_META_PRESENT_SHIFT, W } from '@ovnts/openflow';
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

/**
 * As `extractGeneveTcp`, with the views' allocation-free lane getters for every value that can be
 * 2^31 or more (`dstHi16`/`dstLo32` for MACs, `srcInt32`/`dstInt32`, `seqInt32`/`ackInt32`): a
 * lane getter returns a small integer even when V8 leaves it as a call, and the full value is
 * assembled here, in the caller, where it is stored without boxing.
 */
export function extractGeneveTcpLanes(buf: Uint8Array, off: number, len: number, r: GeneveTcpHeaders): number {
  let c: number = EthernetView.check(buf, off, len);
  if (c !== WireErrorCode.Ok) return c;
  eth.reset(buf, off, len);
  r.ethDst = eth.dstHi16 * 0x1_0000_0000 + (eth.dstLo32 >>> 0);
  r.ethSrc = eth.srcHi16 * 0x1_0000_0000 + (eth.srcLo32 >>> 0);
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
  r.ipSrc = ip.srcInt32 >>> 0;
  r.ipDst = ip.dstInt32 >>> 0;
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
  r.innerEthDst = ieth.dstHi16 * 0x1_0000_0000 + (ieth.dstLo32 >>> 0);
  r.innerEthSrc = ieth.srcHi16 * 0x1_0000_0000 + (ieth.srcLo32 >>> 0);
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
  r.innerIpSrc = iip.srcInt32 >>> 0;
  r.innerIpDst = iip.dstInt32 >>> 0;
  if (r.innerIpProto !== IpProtocol.TCP) return WireErrorCode.BadValue;

  p = iip.payloadOffset;
  n = iip.payloadLength;
  c = TcpView.check(buf, p, n);
  if (c !== WireErrorCode.Ok) return c;
  tcp.reset(buf, p, n);
  r.tcpSrc = tcp.srcPort;
  r.tcpDst = tcp.dstPort;
  r.tcpSeq = tcp.seqInt32 >>> 0;
  r.tcpAck = tcp.ackInt32 >>> 0;
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

// ---------------------------------------------------------------------------------------------
// The switch's own datapath: what `@ovnts/openflow`'s switch does with a frame received on a
// Geneve tunnel port (OVS: miniflow_extract, tnl_pop, miniflow_extract of the inner frame):
// `decapsulate()` (which verifies the outer IPv4 header checksum and a non-zero outer UDP
// checksum, as OVS does without NIC offload) into a reusable `DecapResult`, then
// `extractFlowKey()` over the inner frame into a preallocated `FlowKey` (all 119 words reset,
// every OpenFlow field the frame has filled in), then the tunnel metadata the pipeline matches
// (tun_id = VNI, tun_src/tun_dst, OVN's option in tun_metadata0) written into the key, as
// `Switch` does. That is more work than the baselines do (two checksums, a whole flow key).
//
// Of the 31 compared fields, the datapath's results (the key and the `DecapResult`) hold 24;
// the other seven are header fields a switch does not keep (outer MACs and EtherType, outer IPv4
// total length and protocol, TCP sequence and acknowledgement numbers). They are read on the
// side with `@ovnts/packet`'s allocation-free readers (`u16()`, and `i32()` for 32-bit words)
// into `DatapathFields.extra`, so that all three decoders are compared on the same 31 fields.

/** The datapath extraction's result: the flow key, the decapsulation, and seven side fields. */
export class DatapathFields {
  readonly key = new FlowKey();
  readonly decap = new DecapResult();
  /** [outer dst MAC hi16, lo32, outer src MAC hi16, lo32, outer EtherType, outer IPv4 total length, protocol, TCP seq, TCP ack]. */
  readonly extra = new Uint32Array(9);
}

/** The OpenFlow port number the tunnel frames arrive on. */
const TUNNEL_PORT = 1;
const W_TUN_ID = W.tun_id;
const W_TUN_SRC = W.tun_src;
const W_TUN_DST = W.tun_dst;
const W_TUN_FLAGS = W.tun_flags;
const W_TUN_METADATA0 = W.tun_metadata0;
const W_NW_PROTO = W.nw_proto;
const TUN_META0_PRESENT = 1 << TUN_META_PRESENT_SHIFT;

/**
 * Decapsulate the Geneve frame `buf[off, off + len)`, extract the inner frame's flow key with the
 * tunnel metadata, and read the seven side fields. Returns `WireErrorCode.Ok`, the decapsulation's
 * error code, or `BadValue` when the inner frame is not a whole IPv4/TCP frame. Never throws;
 * allocates nothing.
 */
export function extractDatapath(buf: Uint8Array, off: number, len: number, d: DatapathFields): number {
  const r = d.decap;
  if (!decapsulate(buf, off, len, r)) return r.code;
  if (r.protocolType !== GeneveProtocol.TransparentEthernetBridging) return WireErrorCode.BadValue;
  const key = d.key;
  extractFlowKey(buf, r.innerOffset, r.innerLength, TUNNEL_PORT, key);
  const w = key.w;
  w[W_TUN_ID + 1] = r.vni;
  w[W_TUN_SRC] = r.src4;
  w[W_TUN_DST] = r.dst4;
  if (r.ovnKeys >= 0) {
    w[W_TUN_METADATA0 + 3] = r.ovnKeys;
    w[W_TUN_FLAGS] = TUN_META0_PRESENT;
  }
  if (key.status !== ExtractStatus.Ok || w[W_NW_PROTO] !== IpProtocol.TCP) return WireErrorCode.BadValue;
  const x = d.extra;
  x[0] = u16(buf, off);
  x[1] = i32(buf, off + 2);
  x[2] = u16(buf, off + 6);
  x[3] = i32(buf, off + 8);
  x[4] = u16(buf, r.ipOffset - 2);
  x[5] = u16(buf, r.ipOffset + 2);
  x[6] = buf[r.ipOffset + 9]!;
  x[7] = i32(buf, key.l4 + 4);
  x[8] = i32(buf, key.l4 + 8);
  return WireErrorCode.Ok;
}

/** The datapath's result as the same flat field set (for the equality check; allocates). */
export function normalizeDatapath(d: DatapathFields): Fields {
  const w = d.key.w;
  const r = d.decap;
  const x = d.extra;
  const k = d.key;
  const ovn = (w[W_TUN_FLAGS]! & TUN_META0_PRESENT) !== 0 ? w[W_TUN_METADATA0 + 3]! : -1;
  return {
    ethDst: x[0]! * 0x1_0000_0000 + x[1]!, ethSrc: x[2]! * 0x1_0000_0000 + x[3]!, ethType: x[4]!,
    ipIhl: (r.udpOffset - r.ipOffset) / 4, ipTotalLength: x[5]!, ipTtl: r.ttl, ipProto: x[6]!, ipSrc: w[W_TUN_SRC]!, ipDst: w[W_TUN_DST]!,
    udpSrc: r.srcPort, udpDst: r.dstPort, udpLength: r.innerOffset + r.innerLength - r.udpOffset,
    genOptLen: r.optLength, genProto: r.protocolType, vni: w[W_TUN_ID + 1]!,
    ovnIngress: ovn >= 0 ? ovnIngressKey(ovn) : -1, ovnEgress: ovn >= 0 ? ovnEgressKey(ovn) : -1,
    innerEthDst: w[W.dl_dst]! * 0x1_0000_0000 + w[W.dl_dst + 1]!, innerEthSrc: w[W.dl_src]! * 0x1_0000_0000 + w[W.dl_src + 1]!,
    innerEthType: w[W.dl_type]!,
    innerIpIhl: (k.l4 - k.l3) / 4, innerIpTotalLength: k.end - k.l3, innerIpTtl: w[W.nw_ttl]!,
    innerIpProto: w[W.nw_proto]!, innerIpSrc: w[W.nw_src]!, innerIpDst: w[W.nw_dst]!,
    // The flow key's tcp_flags has OVS's 12 bits; the baselines keep the 9 defined ones.
    tcpSrc: w[W.tp_src]!, tcpDst: w[W.tp_dst]!, tcpSeq: x[7]!, tcpAck: x[8]!, tcpFlags: w[W.tcp_flags]! & 0x1ff,
  };
}
