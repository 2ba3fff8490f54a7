/**
 * Frames on the wire between nodes, for what the verdict engine traces: a packet as bytes, the
 * Geneve frame one node sends another (interconnect's transit switch), that frame protected by
 * IPsec ESP (RFC 4303, AES-GCM as RFC 4106 specifies it, through node:crypto), and the VXLAN
 * frame the hybrid overlay sends a Windows node.
 *
 * Design. Frames are built with `@ovnts/packet`'s builder and `@ovnts/geneve`'s layers (they
 * allocate; these are for scenarios and captures, not a per-packet path). ESP works in transport
 * mode, as Open vSwitch's IPsec (ovs-monitor-ipsec with Libreswan) protects tunnel traffic: the
 * outer IP header stays, its protocol becomes 50 and the UDP datagram that carried Geneve is
 * encrypted after the ESP header, the trailer naming UDP as next header; with NAT traversal
 * (`NB_Global options:ipsec_encapsulation=true`) ESP rides in UDP port 4500 (RFC 3948). The
 * security associations IKE would negotiate are stood in for by keys derived from the node
 * names (`ipsecSa`); the IV is the 64-bit sequence number, unique per key as RFC 4106 section
 * 3.1 requires. The hybrid overlay frame is what OVN-Kubernetes's hybrid-overlay node flows
 * (br-ext) make of a packet OVN hands to `int-<node>`: VNI 4097, UDP 4789 (`hybridOverlayVXLANPort`), to the Windows node's
 * address, the inner destination MAC rewritten to its distributed-router MAC.
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { PacketBuilder, parseMac } from '@ovnts/packet';
import { geneveLayer, innerFlowHash, ovnGeneveRepr, sourcePortFromHash, vxlanLayer } from '@ovnts/geneve';
import type { TraceFlow } from '@ovnts/ovn';
import { KubeQueryError } from './errors.js';
import { gatewayMac, type Crossing, type Delivery, type EgressRedirect } from './engine.js';
import type { NodeModel } from './model.js';
import { contains, formatIp, ipToMac, type Ip } from './net.js';
import type { KubeNetwork } from './translate.js';

/** UDP port of ESP in UDP (RFC 3948, NAT traversal). */
export const ESP_NATT_PORT = 4500;
/** The hybrid overlay's VXLAN network identifier (OVN-Kubernetes `HybridOverlayVNI`). */
export const HYBRID_OVERLAY_VNI = 4097;
/** ESP header: SPI and sequence number. */
export const ESP_HEADER_LEN = 8;
/** AES-GCM's explicit IV in ESP (RFC 4106 section 3.1). */
export const ESP_GCM_IV_LEN = 8;
/** AES-GCM's 16-octet ICV (RFC 4106 section 6, "AES-GCM with a 16 octet ICV"). */
export const ESP_GCM_ICV_LEN = 16;

/** An ESP security association with AES-GCM (RFC 4106): a 16, 24 or 32-byte key and the 4-byte salt. */
export interface EspSa {
  /** Security Parameters Index (256 and up; 1-255 are reserved). */
  readonly spi: number;
  /** AES key. */
  readonly key: Uint8Array;
  /** Salt (the last 4 octets of the keying material). */
  readonly salt: Uint8Array;
}

/** Why an ESP packet could not be opened. */
export type EspErrorCode = 'Truncated' | 'WrongSpi' | 'AuthFailed' | 'BadPadding';

/** An opened ESP packet, or why not. */
export type EspOpened =
  | { readonly ok: true; readonly spi: number; readonly seq: number; readonly nextHeader: number; readonly payload: Uint8Array }
  | { readonly ok: false; readonly error: EspErrorCode };

function u32be(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function cipherName(sa: EspSa): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  if (sa.key.length === 16) return 'aes-128-gcm';
  if (sa.key.length === 24) return 'aes-192-gcm';
  if (sa.key.length === 32) return 'aes-256-gcm';
  throw new KubeQueryError(`ESP: an AES-GCM key has 16, 24 or 32 bytes, not ${sa.key.length}`);
}

function checkSa(sa: EspSa): void {
  if (sa.salt.length !== 4) throw new KubeQueryError(`ESP: the AES-GCM salt has 4 bytes, not ${sa.salt.length}`);
  if (!Number.isInteger(sa.spi) || sa.spi < 256 || sa.spi > 0xffffffff) throw new KubeQueryError(`ESP: SPI ${sa.spi} is not in 256..4294967295`);
}

/** The IV used for sequence number `seq`: the number as 8 big-endian octets. */
export function espIv(seq: number): Uint8Array {
  const iv = new Uint8Array(ESP_GCM_IV_LEN);
  iv.set(u32be(seq >>> 0), 4);
  return iv;
}

/**
 * An ESP packet (RFC 4303 section 2) protecting `payload`: SPI, sequence number, the IV, the
 * payload, padding to a 4-octet boundary (octets 1, 2, 3, ...), pad length and next header all
 * encrypted with AES-GCM under nonce salt||IV and additional data SPI||sequence (RFC 4106
 * section 5), then the 16-octet ICV.
 */
export function sealEsp(sa: EspSa, seq: number, nextHeader: number, payload: Uint8Array, iv: Uint8Array = espIv(seq)): Uint8Array {
  checkSa(sa);
  if (iv.length !== ESP_GCM_IV_LEN) throw new KubeQueryError(`ESP: the AES-GCM IV has 8 bytes, not ${iv.length}`);
  const pad = (4 - ((payload.length + 2) % 4)) % 4;
  const plain = new Uint8Array(payload.length + pad + 2);
  plain.set(payload);
  for (let i = 0; i < pad; i++) plain[payload.length + i] = i + 1;
  plain[plain.length - 2] = pad;
  plain[plain.length - 1] = nextHeader;
  const head = new Uint8Array(ESP_HEADER_LEN);
  head.set(u32be(sa.spi), 0);
  head.set(u32be(seq >>> 0), 4);
  const c = createCipheriv(cipherName(sa), sa.key, Buffer.concat([sa.salt, iv]), { authTagLength: ESP_GCM_ICV_LEN });
  c.setAAD(head);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([head, iv, ct, c.getAuthTag()]);
}

/** Opens an ESP packet sealed with `sa` (`Truncated`, `WrongSpi`, `AuthFailed` or `BadPadding` when it cannot). */
export function openEsp(sa: EspSa, esp: Uint8Array): EspOpened {
  checkSa(sa);
  if (esp.length < ESP_HEADER_LEN + ESP_GCM_IV_LEN + 2 + ESP_GCM_ICV_LEN) return { ok: false, error: 'Truncated' };
  const spi = readU32(esp, 0);
  if (spi !== sa.spi) return { ok: false, error: 'WrongSpi' };
  const seq = readU32(esp, 4);
  const iv = esp.subarray(ESP_HEADER_LEN, ESP_HEADER_LEN + ESP_GCM_IV_LEN);
  const ct = esp.subarray(ESP_HEADER_LEN + ESP_GCM_IV_LEN, esp.length - ESP_GCM_ICV_LEN);
  const d = createDecipheriv(cipherName(sa), sa.key, Buffer.concat([sa.salt, iv]), { authTagLength: ESP_GCM_ICV_LEN });
  d.setAAD(esp.subarray(0, ESP_HEADER_LEN));
  d.setAuthTag(esp.subarray(esp.length - ESP_GCM_ICV_LEN));
  let plain: Buffer;
  try {
    plain = Buffer.concat([d.update(ct), d.final()]);
  } catch {
    return { ok: false, error: 'AuthFailed' };
  }
  const pad = plain[plain.length - 2]!;
  if (pad + 2 > plain.length) return { ok: false, error: 'BadPadding' };
  const body = plain.length - 2 - pad;
  for (let i = 0; i < pad; i++) if (plain[body + i] !== i + 1) return { ok: false, error: 'BadPadding' };
  return { ok: true, spi, seq, nextHeader: plain[plain.length - 1]!, payload: new Uint8Array(plain.subarray(0, body)) };
}

/** The security association a node uses towards another (a stand-in for the one IKE negotiates; see the module comment). */
export function ipsecSa(from: string, to: string): EspSa {
  const h = createHash('sha256').update(`ovnts ipsec ${from} > ${to}`).digest();
  return { spi: 0x100 + (h.readUInt32BE(0) % 0xfffffe00), key: new Uint8Array(h.subarray(4, 20)), salt: new Uint8Array(h.subarray(20, 24)) };
}

const ETH = 14;

function ipv4Checksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) if (i !== 10) s += (b[off + i]! << 8) | b[off + i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * ESP in transport mode (RFC 4303 section 3.1.1) on an Ethernet/IPv4 frame: the IPv4 header
 * stays (protocol 50, or UDP 4500 with `natt`), what followed it is sealed with `sa`.
 */
export function espTransportV4(frame: Uint8Array, sa: EspSa, seq: number, opts: { natt?: boolean } = {}): Uint8Array {
  if (frame.length < ETH + 20 || frame[12] !== 0x08 || frame[13] !== 0x00) throw new KubeQueryError('ESP transport: not an Ethernet/IPv4 frame');
  const ihl = (frame[ETH]! & 0x0f) * 4;
  const proto = frame[ETH + 9]!;
  const total = (frame[ETH + 2]! << 8) | frame[ETH + 3]!;
  const esp = sealEsp(sa, seq, proto, frame.subarray(ETH + ihl, ETH + total));
  const udp = opts.natt ? 8 : 0;
  const out = new Uint8Array(ETH + ihl + udp + esp.length);
  out.set(frame.subarray(0, ETH + ihl));
  const len = ihl + udp + esp.length;
  out[ETH + 2] = len >>> 8;
  out[ETH + 3] = len & 0xff;
  out[ETH + 9] = opts.natt ? 17 : 50;
  const c = ipv4Checksum(out, ETH, ihl);
  out[ETH + 10] = c >>> 8;
  out[ETH + 11] = c & 0xff;
  if (opts.natt) {
    const u = ETH + ihl;
    out[u] = ESP_NATT_PORT >>> 8;
    out[u + 1] = ESP_NATT_PORT & 0xff;
    out[u + 2] = ESP_NATT_PORT >>> 8;
    out[u + 3] = ESP_NATT_PORT & 0xff;
    out[u + 4] = (udp + esp.length) >>> 8;
    out[u + 5] = (udp + esp.length) & 0xff; // checksum 0 (RFC 3948 section 2.1)
  }
  out.set(esp, ETH + ihl + udp);
  return out;
}

/** The frame `espTransportV4` protected, back (or why not). */
export function espUntransportV4(frame: Uint8Array, sa: EspSa): { readonly ok: true; readonly frame: Uint8Array; readonly seq: number } | { readonly ok: false; readonly error: EspErrorCode } {
  if (frame.length < ETH + 20) return { ok: false, error: 'Truncated' };
  const ihl = (frame[ETH]! & 0x0f) * 4;
  const natt = frame[ETH + 9] === 17;
  const espOff = ETH + ihl + (natt ? 8 : 0);
  if (frame.length < espOff) return { ok: false, error: 'Truncated' };
  const o = openEsp(sa, frame.subarray(espOff));
  if (!o.ok) return o;
  const out = new Uint8Array(ETH + ihl + o.payload.length);
  out.set(frame.subarray(0, ETH + ihl));
  out.set(o.payload, ETH + ihl);
  const len = ihl + o.payload.length;
  out[ETH + 2] = len >>> 8;
  out[ETH + 3] = len & 0xff;
  out[ETH + 9] = o.nextHeader;
  const c = ipv4Checksum(out, ETH, ihl);
  out[ETH + 10] = c >>> 8;
  out[ETH + 11] = c & 0xff;
  return { ok: true, frame: out, seq: o.seq };
}

function hexMac(v: bigint): string {
  return v.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

function ip(f: TraceFlow, which: 'src' | 'dst'): Ip {
  if (f.dl_type === 0x86ddn) return { family: 6, addr: which === 'src' ? f.ipv6_src : f.ipv6_dst };
  return { family: 4, addr: which === 'src' ? f.nw_src : f.nw_dst };
}

/** A traced packet as an Ethernet frame (IPv4 or IPv6; TCP, UDP, ICMP or IGMP headers as the packet says). */
export function flowFrame(f: TraceFlow, payload?: Uint8Array): Uint8Array {
  const b = new PacketBuilder().ethernet({ src: hexMac(f.dl_src), dst: hexMac(f.dl_dst) });
  const v6 = f.dl_type === 0x86ddn;
  if (v6) b.ipv6({ src: formatIp(ip(f, 'src')), dst: formatIp(ip(f, 'dst')), hopLimit: Number(f.nw_ttl) });
  else b.ipv4({ src: formatIp(ip(f, 'src')), dst: formatIp(ip(f, 'dst')), ttl: Number(f.nw_ttl), dontFragment: true });
  const proto = Number(f.nw_proto);
  if (proto === 6) b.tcp({ srcPort: Number(f.tp_src), dstPort: Number(f.tp_dst), flags: Number(f.tcp_flags) });
  else if (proto === 17) b.udp({ srcPort: Number(f.tp_src), dstPort: Number(f.tp_dst), checksum: true });
  else if (proto === 1) b.icmpv4({ type: Number(f.tp_src), code: Number(f.tp_dst) });
  else throw new KubeQueryError(`no frame for IP protocol ${proto}`);
  if (payload) b.payload(payload);
  return b.build();
}

/** The MAC a node's host interface sends `dst` to: the peer's own when on the same network, else the default gateway's. */
function nextHopMac(net: KubeNetwork, from: NodeModel, dst: Ip): string {
  const a = from.host.address[dst.family];
  if (a && contains(a, dst)) {
    const peer = net.cluster.nodes.find((n) => n.ips[dst.family] && n.ips[dst.family]!.addr === dst.addr);
    if (peer) return peer.host.mac;
  }
  const gw = from.host.gateway[dst.family];
  if (!gw) throw new KubeQueryError(`node ${from.name} has no route to ${formatIp(dst)}`);
  return gatewayMac(gw);
}

function node(net: KubeNetwork, name: string): NodeModel {
  const n = net.cluster.nodes.find((x) => x.name === name);
  if (!n) throw new KubeQueryError(`no node ${name}`);
  return n;
}

/**
 * The Geneve frame of a crossing as the source node sends it: its host address to the other
 * node's, UDP 6081 from a port hashed from the inner flow (as OVS does), VNI and OVN's option
 * from the logical keys, the packet inside.
 */
export function crossingFrame(net: KubeNetwork, c: Crossing): Uint8Array {
  const a = node(net, c.from);
  const b = node(net, c.to);
  const fam = a.ips[4] && b.ips[4] ? 4 : 6;
  const src = a.ips[fam];
  const dst = b.ips[fam];
  if (!src || !dst) throw new KubeQueryError(`nodes ${c.from} and ${c.to} share no address family`);
  const inner = flowFrame(c.flow);
  const sport = sourcePortFromHash(innerFlowHash(inner, 0, inner.length));
  const builder = new PacketBuilder().ethernet({ src: a.host.mac, dst: nextHopMac(net, a, dst) });
  if (fam === 4) builder.ipv4({ src: formatIp(src), dst: formatIp(dst), ttl: 64, dontFragment: true });
  else builder.ipv6({ src: formatIp(src), dst: formatIp(dst), hopLimit: 64 });
  return builder
    .udp({ srcPort: sport, checksum: fam === 6 })
    .push(geneveLayer(ovnGeneveRepr({ datapath: c.vni, ingress: c.ingressKey, egress: c.egressKey })))
    .payload(inner)
    .build();
}

/** A crossing as IPsec sends it between the nodes (ESP transport mode on the Geneve frame, `ipsecSa` keys). */
export function ipsecCrossingFrame(net: KubeNetwork, c: Crossing, seq: number, opts: { natt?: boolean } = {}): Uint8Array {
  if (!net.cluster.config.ipsec) throw new KubeQueryError('the cluster does not encrypt traffic between nodes (ipsecConfig.mode is not Full)');
  return espTransportV4(crossingFrame(net, c), ipsecSa(c.from, c.to), seq, opts);
}

/**
 * The VXLAN frame the hybrid overlay sends for a packet OVN delivered to `int-<node>`: from the
 * Linux node's address to the Windows node hosting the destination, VNI 4097, UDP 4789, the
 * inner destination MAC the Windows node's distributed-router MAC.
 */
export function hybridOverlayFrame(net: KubeNetwork, d: Delivery): Uint8Array {
  if (d.kind !== 'hybrid-overlay') throw new KubeQueryError(`${d.name} is not a hybrid overlay port`);
  const dst = ip(d.flow, 'dst');
  const win = net.cluster.nodes.find((n) => n.windows && n.subnets[4] && contains(n.subnets[4], dst));
  if (!win || !win.ips[4]) throw new KubeQueryError(`no Windows node hosts ${formatIp(dst)}`);
  const linux = node(net, d.node);
  const drMac = win.hybridDrMac!;
  const inner = flowFrame({ ...d.flow, dl_dst: BigInt(parseMac(drMac)) });
  return new PacketBuilder()
    .ethernet({ src: linux.host.mac, dst: nextHopMac(net, linux, win.ips[4]) })
    .ipv4({ src: formatIp(linux.ips[4]!), dst: formatIp(win.ips[4]), ttl: 64, dontFragment: true })
    .udp({ srcPort: sourcePortFromHash(innerFlowHash(inner, 0, inner.length)), dstPort: net.cluster.config.hybridOverlay?.vxlanPort ?? 4789, checksum: false })
    .push(vxlanLayer(HYBRID_OVERLAY_VNI))
    .payload(inner)
    .build();
}

/**
 * The frame an egress router pod sends out net1 (a macvlan on its node's host interface): from
 * the MAC OVN-Kubernetes would derive from the reserved address, to its gateway (or to the
 * destination itself when it is on the reserved address's network).
 */
export function egressRouterFrame(net: KubeNetwork, r: EgressRedirect): Uint8Array {
  const er = net.cluster.egressRouters.find((x) => `${x.namespace}/${x.name}` === r.router);
  if (!er) throw new KubeQueryError(`no egress router ${r.router}`);
  const dst = ip(r.flow, 'dst');
  const onLink = contains(er.address, dst);
  const src = ipToMac(er.address, (s) => createHash('sha256').update(s).digest()).replace(/^0a:58/, '02:58');
  return flowFrame({ ...r.flow, dl_src: BigInt(parseMac(src)), dl_dst: BigInt(parseMac(onLink ? ipToMac(dst, (s) => createHash('sha256').update(s).digest()) : gatewayMac(er.gateway))) });
}
