/**
 * Tunnel encapsulation and decapsulation on the per-packet path: outer Ethernet (optionally one
 * 802.1Q tag), IPv4 or IPv6, UDP, then a Geneve or VXLAN header, around an inner Ethernet frame.
 *
 * Headroom and ownership. `TunnelEncap.encap()` never allocates. Given no output buffer it
 * writes the outer headers into the `headerLength()` bytes just before the inner frame in the
 * inner frame's own buffer, so a receive path that leaves `TUNNEL_MAX_HEADROOM` bytes free in
 * front of each frame encapsulates with no copy; the caller must own those bytes (nothing else
 * may live there), and they are overwritten. Given an output buffer, it copies the inner frame
 * behind the headers there (a plain byte copy, or a `copyWithin` when input and output share a
 * buffer). The result is described by the encapsulator's `buf`/`off`/`len` fields, which are
 * valid until the next call; the bytes belong to whichever buffer was written. `decapsulate()`
 * never copies or allocates either: it fills a caller-owned `DecapResult` with offsets into the
 * frame it was given, so the inner frame (`innerOff`/`innerLen`) and the options area remain
 * views of that buffer and are only valid while the caller keeps it unchanged; call `inner()`
 * for a subarray, or copy the bytes out when the frame must outlive its buffer.
 *
 * Design. A `TunnelEncap` is built once per tunnel port (OVS keeps the same thing, a header
 * template, in its `tnl_push` action) and holds the fixed outer bytes; per packet it copies the
 * template and fills only what varies: lengths, the IPv4 identification (from a caller-owned
 * counter, so runs are reproducible), the UDP source port (a hash of the inner flow mapped into
 * the configured range, like Linux `udp_flow_src_port()` and OVS `netdev_tnl_get_src_port()`,
 * so ECMP spreads flows without reordering any one of them), the VNI and the Geneve options,
 * then the checksums. The outer UDP checksum is zero over IPv4 by default (RFC 8926 section
 * 3.3 allows it and OVS does it) and computed over IPv6 by default, because RFC 8200 section 8.1
 * requires it; turning it off over IPv6 is the RFC 6935 zero-checksum exemption and must be
 * asked for. On receive a zero UDP checksum is accepted over both families (as OVS does) and a
 * non-zero one is verified.
 *
 * Per-packet cost. Both directions are written for V8's optimising compiler as much as for the
 * reader: TurboFan inlines callees into one function only up to about 920 bytes of bytecode, and
 * a call left out of line that returns a number of 2^31 or more (an IPv4 address, a 32-bit hash)
 * returns it boxed, as a fresh 16-byte heap number. So `decapsulate()` reads header bytes with
 * shifts written out rather than through `u16()`/`u32()`, keeps IPv4 addresses in signed int32
 * locals for the pseudo-header sum, walks the Geneve TLVs once (validating them and picking up
 * OVN's option together), and `encap()` uses a signed internal flow hash. Error paths still go
 * through the shared checkers, so codes and offsets are theirs.
 */
import {
  EtherType,
  fold,
  internetChecksum,
  ipv6FromBytes,
  ipv6ToBytes,
  l4ChecksumV4,
  l4ChecksumV6,
  macToBytes,
  setU16,
  setU24,
  setU32,
  u16,
  u24,
  u32,
  i32,
  needRoom,
  pseudoHeaderSumV6,
  sumWords,
  EmitError,
  ReprError,
  WireError,
  WireErrorCode,
  checkSpan,
} from '@ovnts/packet';
import {
  checkGeneveAt,
  checkGeneveOptions,
  GENEVE_HEADER_LEN,
  GENEVE_MAX_OPTIONS_LEN,
  GENEVE_UDP_PORT,
  geneveErrorOffset,
  GeneveProtocol,
  hasCriticalGeneveOption,
} from './geneve.js';
import {
  OVN_GENEVE_LEN,
  OVN_GENEVE_TYPE,
  OVN_OPTION_ABSENT,
  OVN_OPTION_INVALID,
  OVN_OPTION_TLV_LEN,
  ovnEgressKey,
  ovnIngressKey,
  packOvnKeys,
  writeOvnOption,
} from './ovn-option.js';
import { VXLAN_HEADER_LEN, VXLAN_UDP_PORT, VxlanFlags, VxlanView } from './vxlan.js';

/** Which tunnel header follows UDP. */
export const TunnelKind = { Geneve: 1, Vxlan: 2 } as const;
/** A tunnel kind. */
export type TunnelKind = (typeof TunnelKind)[keyof typeof TunnelKind];

/** IP protocol number of UDP. */
const IPPROTO_UDP = 17;
const ETH_LEN = 14;
const VLAN_LEN = 4;
const IPV4_LEN = 20;
const IPV6_LEN = 40;
const UDP_LEN = 8;

/** The most headroom any encapsulation needs: Ethernet + VLAN + IPv6 + UDP + Geneve + 252 bytes of options. */
export const TUNNEL_MAX_HEADROOM = ETH_LEN + VLAN_LEN + IPV6_LEN + UDP_LEN + GENEVE_HEADER_LEN + GENEVE_MAX_OPTIONS_LEN;
/** Default lower end of the UDP source port range (IANA dynamic ports). */
export const TUNNEL_SRC_PORT_MIN = 49152;
/** Default upper end of the UDP source port range. */
export const TUNNEL_SRC_PORT_MAX = 65535;

const EMPTY = new Uint8Array(0);

/** A source of IPv4 identification values: `value` is used, then incremented (mod 2^16). */
export interface IdentCounter {
  value: number;
}

/** Configuration of one tunnel port: the fixed outer headers and the encapsulation policy. */
export interface TunnelConfig {
  /** Geneve (default) or VXLAN. */
  kind?: TunnelKind;
  /** Outer source MAC (48-bit number). */
  ethSrc: number;
  /** Outer destination MAC (the next hop's). */
  ethDst: number;
  /** Outer 802.1Q TCI; untagged when absent. */
  vlanTci?: number;
  /** Outer source address: a 32-bit number for IPv4, a bigint for IPv6 (same family as `dst`). */
  src: number | bigint;
  /** Outer destination address (the remote tunnel endpoint). */
  dst: number | bigint;
  /** IPv4 TTL / IPv6 hop limit; default 64 (OVS's default). */
  ttl?: number;
  /** IPv4 TOS byte / IPv6 traffic class; default 0. */
  tos?: number;
  /** IPv6 flow label (20 bits); default 0. */
  flowLabel?: number;
  /** IPv4 Don't Fragment; default true (OVS `df_default`). */
  dontFragment?: boolean;
  /** Compute the outer UDP checksum; default false over IPv4, true over IPv6 (false = RFC 6935). */
  udpChecksum?: boolean;
  /** UDP destination port; default 6081 (Geneve) or 4789 (VXLAN). */
  dstPort?: number;
  /** Lower end of the UDP source port range (inclusive); default 49152. */
  srcPortMin?: number;
  /** Upper end of the UDP source port range (inclusive); default 65535. */
  srcPortMax?: number;
  /** Seed of the inner-flow hash; default 0. */
  hashBasis?: number;
  /** IPv4 identification counter (shared between ports if the caller wishes); default a private one from 0. */
  ident?: IdentCounter;
}

/**
 * The per-packet tunnel fields (the subset of OVS `struct flow_tnl` a switch sets before output
 * to a tunnel port). Reuse one instance; nothing here allocates.
 */
export class TunnelKey {
  /** The VNI (24 bits); for OVN, the logical datapath key. */
  vni = 0;
  /** OVN's packed port keys `(ingress << 16) | egress`, or -1 to send no OVN option (Geneve only). */
  ovnKeys = OVN_OPTION_ABSENT;
  /** Further raw Geneve TLVs, copied verbatim after OVN's option: `optBuf[optOff, optOff + optLen)`. */
  optBuf: Uint8Array = EMPTY;
  /** Offset of the raw TLVs. */
  optOff = 0;
  /** Length of the raw TLVs (a multiple of 4; they must be well formed). */
  optLen = 0;
  /** Geneve O bit. */
  oam = false;
  /** Geneve protocol type; default Ethernet. */
  protocolType: number = GeneveProtocol.TransparentEthernetBridging;

  /** Set OVN's keys: datapath into the VNI, ports into the option; clears raw options. */
  setOvn(datapath: number, ingress: number, egress: number): this {
    if (!Number.isInteger(datapath) || datapath < 0 || datapath > 0xffffff) {
      throw new ReprError('ovn', `logical datapath key ${datapath} is not a 24-bit value`);
    }
    this.vni = datapath;
    this.ovnKeys = packOvnKeys(ingress, egress);
    this.optBuf = EMPTY;
    this.optOff = 0;
    this.optLen = 0;
    return this;
  }

  /** Set the raw Geneve options (no copy; the bytes must stay put until encapsulation). */
  setOptions(buf: Uint8Array, off: number, len: number): this {
    this.optBuf = buf;
    this.optOff = off;
    this.optLen = len;
    return this;
  }

  /** Back to VNI 0, no options. */
  clear(): this {
    this.vni = 0;
    this.ovnKeys = OVN_OPTION_ABSENT;
    this.optBuf = EMPTY;
    this.optOff = 0;
    this.optLen = 0;
    this.oam = false;
    this.protocolType = GeneveProtocol.TransparentEthernetBridging;
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// Inner-flow hash

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** One step of MurmurHash3's 32-bit block mix (OVS `mhash_add`). */
function mix(h: number, data: number): number {
  data = Math.imul(data, 0xcc9e2d51);
  data = rotl(data, 15);
  data = Math.imul(data, 0x1b873593);
  h ^= data;
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * MurmurHash3's finaliser (OVS `mhash_finish`), returned as a *signed* 32-bit value. A signed
 * int32 is always a small integer to V8, so the hash travels out of a call that is not inlined
 * without being boxed into a heap number (an unsigned result of 2^31 or more would be, half the
 * time, 16 bytes per frame). The exported `innerFlowHash()` turns it unsigned for its callers.
 */
function finish(h: number, n: number): number {
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function isVlanTpid(t: number): boolean {
  return t === EtherType.VLAN || t === EtherType.QinQ || t === EtherType.QinQ9100;
}

function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132;
}

/**
 * A deterministic 32-bit hash of the inner frame's flow: IP addresses, protocol and (for TCP,
 * UDP and SCTP, and never for fragments, so that all fragments of a datagram hash alike) ports;
 * the MAC addresses and EtherType when the frame is not IP. Up to two VLAN tags are skipped.
 * Truncated frames hash whatever is present. Never throws on any bytes (an `off`/`len` that is not
 * an integer span of `buf` is an `ArgumentError`); allocates nothing.
 */
export function innerFlowHash(buf: Uint8Array, off: number, len: number, basis = 0): number {
  checkSpan('innerFlowHash', buf, off, len);
  return innerFlowHashSigned(buf, off, len, basis) >>> 0;
}

/**
 * `innerFlowHash()` as a signed 32-bit integer (the same bits): what the per-packet path uses, so
 * the value never needs a heap number. Internal.
 */
function innerFlowHashSigned(buf: Uint8Array, off: number, len: number, basis: number): number {
  const end = Math.min(off + len, buf.length);
  let h = basis | 0;
  if (off < 0 || end - off < ETH_LEN) {
    for (let i = Math.max(off, 0); i < end; i++) h = mix(h, buf[i]!);
    return finish(h, Math.max(end - off, 0));
  }
  let etype = u16(buf, off + 12);
  let p = off + ETH_LEN;
  for (let tags = 0; tags < 2 && isVlanTpid(etype) && p + VLAN_LEN <= end; tags++) {
    etype = u16(buf, p + 2);
    p += VLAN_LEN;
  }
  if (etype === EtherType.IPv4 && p + IPV4_LEN <= end && buf[p]! >>> 4 === 4) {
    const proto = buf[p + 9]!;
    h = mix(h, i32(buf, p + 12));
    h = mix(h, i32(buf, p + 16));
    h = mix(h, proto);
    const ihl = (buf[p]! & 0x0f) * 4;
    const fragmented = (u16(buf, p + 6) & 0x3fff) !== 0;
    if (!fragmented && hasPorts(proto) && ihl >= IPV4_LEN && p + ihl + 4 <= end) h = mix(h, i32(buf, p + ihl));
    return finish(h, 12);
  }
  if (etype === EtherType.IPv6 && p + IPV6_LEN <= end && buf[p]! >>> 4 === 6) {
    const nh = buf[p + 6]!;
    for (let i = 8; i < 40; i += 4) h = mix(h, i32(buf, p + i));
    h = mix(h, nh);
    if (hasPorts(nh) && p + IPV6_LEN + 4 <= end) h = mix(h, i32(buf, p + IPV6_LEN));
    return finish(h, 36);
  }
  h = mix(h, u16(buf, off));
  h = mix(h, i32(buf, off + 2));
  h = mix(h, u16(buf, off + 6));
  h = mix(h, i32(buf, off + 8));
  h = mix(h, etype);
  return finish(h, 14);
}

/**
 * Map a 32-bit hash into `[min, max]` by multiply-and-shift (as OVS does), so every port of the
 * range is used and no modulo bias favours the low ones.
 */
export function sourcePortFromHash(hash: number, min = TUNNEL_SRC_PORT_MIN, max = TUNNEL_SRC_PORT_MAX): number {
  return min + Math.floor(((hash >>> 0) * (max - min + 1)) / 0x1_0000_0000);
}

// ---------------------------------------------------------------------------------------------
// Encapsulation

/** Copy `n` bytes between possibly different buffers without allocating. */
function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  if (src === dst) {
    if (srcOff !== dstOff) dst.copyWithin(dstOff, srcOff, srcOff + n);
    return;
  }
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
}

function checkRange(layer: string, what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new ReprError(layer, `${what} ${v} is out of range 0..${max}`);
}

/**
 * Encapsulates inner Ethernet frames for one tunnel port. Build once per port; `encap()` per
 * packet. After `encap()`, `buf`/`off`/`len` describe the outer frame.
 */
export class TunnelEncap {
  /** Tunnel kind. */
  readonly kind: TunnelKind;
  /** 4 or 6. */
  readonly ipVersion: 4 | 6;
  /** True if the outer UDP checksum is computed. */
  readonly udpChecksum: boolean;
  /** Offset of the outer IP header from the start of the outer frame. */
  readonly ipOffset: number;
  /** Offset of the outer UDP header. */
  readonly udpOffset: number;
  /** Offset of the tunnel header. */
  readonly tunnelOffset: number;
  /** Length of the outer headers without Geneve options. */
  readonly baseLength: number;
  /** Buffer holding the last outer frame. */
  buf: Uint8Array = EMPTY;
  /** Offset of the last outer frame in `buf`. */
  off = 0;
  /** Length of the last outer frame. */
  len = 0;

  private readonly template: Uint8Array;
  private readonly src4: number;
  private readonly dst4: number;
  private readonly portMin: number;
  private readonly portMax: number;
  private readonly basis: number;
  private readonly ident: IdentCounter;

  constructor(cfg: TunnelConfig) {
    this.kind = cfg.kind ?? TunnelKind.Geneve;
    if (this.kind !== TunnelKind.Geneve && this.kind !== TunnelKind.Vxlan) {
      throw new ReprError('encap', `unknown tunnel kind ${String(this.kind)}`);
    }
    const v6 = typeof cfg.src === 'bigint';
    if (v6 !== (typeof cfg.dst === 'bigint')) throw new ReprError('encap', 'src and dst must be the same address family');
    this.ipVersion = v6 ? 6 : 4;
    this.udpChecksum = cfg.udpChecksum ?? v6;
    const ttl = cfg.ttl ?? 64;
    const tos = cfg.tos ?? 0;
    const flowLabel = cfg.flowLabel ?? 0;
    const dstPort = cfg.dstPort ?? (this.kind === TunnelKind.Geneve ? GENEVE_UDP_PORT : VXLAN_UDP_PORT);
    this.portMin = cfg.srcPortMin ?? TUNNEL_SRC_PORT_MIN;
    this.portMax = cfg.srcPortMax ?? TUNNEL_SRC_PORT_MAX;
    checkRange('encap', 'ttl', ttl, 255);
    checkRange('encap', 'tos', tos, 255);
    checkRange('encap', 'flow label', flowLabel, 0xfffff);
    checkRange('encap', 'destination port', dstPort, 0xffff);
    checkRange('encap', 'source port minimum', this.portMin, 0xffff);
    checkRange('encap', 'source port maximum', this.portMax, 0xffff);
    if (this.portMin > this.portMax) throw new ReprError('encap', `source port range ${this.portMin}..${this.portMax} is empty`);
    if (cfg.vlanTci !== undefined) checkRange('encap', 'VLAN TCI', cfg.vlanTci, 0xffff);
    this.basis = cfg.hashBasis ?? 0;
    this.ident = cfg.ident ?? { value: 0 };

    const l2 = ETH_LEN + (cfg.vlanTci !== undefined ? VLAN_LEN : 0);
    this.ipOffset = l2;
    this.udpOffset = l2 + (v6 ? IPV6_LEN : IPV4_LEN);
    this.tunnelOffset = this.udpOffset + UDP_LEN;
    this.baseLength = this.tunnelOffset + (this.kind === TunnelKind.Geneve ? GENEVE_HEADER_LEN : VXLAN_HEADER_LEN);

    // The template: every byte that does not change per packet.
    const t = (this.template = new Uint8Array(this.baseLength));
    macToBytes(cfg.ethDst, t, 0);
    macToBytes(cfg.ethSrc, t, 6);
    if (cfg.vlanTci !== undefined) {
      setU16(t, 12, EtherType.VLAN);
      setU16(t, 14, cfg.vlanTci);
    }
    setU16(t, l2 - 2, v6 ? EtherType.IPv6 : EtherType.IPv4);
    const ip = l2;
    if (v6) {
      this.src4 = 0;
      this.dst4 = 0;
      setU32(t, ip, ((6 << 28) | (tos << 20) | flowLabel) >>> 0);
      t[ip + 6] = IPPROTO_UDP;
      t[ip + 7] = ttl;
      ipv6ToBytes(cfg.src as bigint, t, ip + 8);
      ipv6ToBytes(cfg.dst as bigint, t, ip + 24);
    } else {
      this.src4 = (cfg.src as number) >>> 0;
      this.dst4 = (cfg.dst as number) >>> 0;
      checkRange('encap', 'source address', cfg.src as number, 0xffffffff);
      checkRange('encap', 'destination address', cfg.dst as number, 0xffffffff);
      t[ip] = 0x45;
      t[ip + 1] = tos;
      setU16(t, ip + 6, (cfg.dontFragment ?? true) ? 0x4000 : 0);
      t[ip + 8] = ttl;
      t[ip + 9] = IPPROTO_UDP;
      setU32(t, ip + 12, this.src4);
      setU32(t, ip + 16, this.dst4);
    }
    setU16(t, this.udpOffset + 2, dstPort);
    if (this.kind === TunnelKind.Vxlan) t[this.tunnelOffset] = VxlanFlags.I;
  }

  /** Bytes of outer headers `encap()` will put in front of a frame sent with `key`. */
  headerLength(key: TunnelKey): number {
    return this.baseLength + this.optionsLength(key);
  }

  private optionsLength(key: TunnelKey): number {
    if (this.kind !== TunnelKind.Geneve) return 0;
    return (key.ovnKeys >= 0 ? OVN_OPTION_TLV_LEN : 0) + key.optLen;
  }

  /**
   * Encapsulate the inner frame `buf[off, off + len)` with `key`. Without `out`, the headers go
   * into the headroom before `off` (which must be at least `headerLength(key)`: `EmitError`
   * otherwise); with `out`, the outer frame is written at `outOff` and the inner frame copied
   * behind its headers. Returns the outer frame's length; `this.buf/off/len` describe it.
   * VXLAN carries no options: `key.ovnKeys` and raw options are ignored for it, as OVS ignores
   * `tun_metadata` on a VXLAN port.
   */
  encap(key: TunnelKey, buf: Uint8Array, off: number, len: number, out?: Uint8Array, outOff = 0): number {
    const optLen = this.optionsLength(key);
    if (optLen > GENEVE_MAX_OPTIONS_LEN || optLen % 4 !== 0) {
      throw new ReprError('geneve', `options take ${optLen} bytes; need a multiple of 4 up to ${GENEVE_MAX_OPTIONS_LEN}`);
    }
    checkRange('encap', 'VNI', key.vni, 0xffffff);
    if (optLen > 0 && key.ovnKeys >= 0 && (key.ovnKeys > 0x7fffffff || !Number.isInteger(key.ovnKeys))) {
      throw new ReprError('ovn', `packed port keys ${key.ovnKeys} have reserved bit 31 set or are out of range`);
    }
    const o = key.optOff;
    const inside = Number.isInteger(o) && Number.isInteger(key.optLen) && o >= 0 && key.optLen >= 0 && o + key.optLen <= key.optBuf.length;
    if (optLen > 0 && key.optLen > 0 && (!inside || checkGeneveOptions(key.optBuf, o, key.optLen) !== WireErrorCode.Ok)) {
      throw new ReprError('geneve', `raw options at ${key.optOff} (${key.optLen} bytes) are not whole, well-formed TLVs`);
    }
    checkSpan('encap', buf, off, len);
    const hdr = this.baseLength + optLen;
    const total = hdr + len;
    const ipPayload = total - this.ipOffset - (this.ipVersion === 4 ? 0 : IPV6_LEN);
    if (ipPayload > 0xffff) throw new ReprError('encap', `outer IP datagram of ${ipPayload} bytes exceeds 65535`);

    // The hash reads the inner frame where it lies, before anything moves.
    const srcPort = sourcePortFromHash(innerFlowHashSigned(buf, off, len, this.basis), this.portMin, this.portMax);

    let dst: Uint8Array;
    let start: number;
    if (out === undefined) {
      if (off < hdr) throw new EmitError('encap', hdr, off);
      dst = buf;
      start = off - hdr;
    } else {
      needRoom('encap', out, outOff, total);
      dst = out;
      start = outOff;
      copyBytes(buf, off, dst, start + hdr, len);
    }

    // Raw options first (they may come from the frame's own previous header, in this buffer).
    const optStart = start + this.baseLength;
    if (optLen > 0) {
      const ovnLen = key.ovnKeys >= 0 ? OVN_OPTION_TLV_LEN : 0;
      if (key.optLen > 0) {
        copyBytes(key.optBuf, key.optOff, dst, optStart + ovnLen, key.optLen);
      }
      if (ovnLen) writeOvnOption(dst, optStart, key.ovnKeys);
    }

    const t = this.template;
    for (let i = 0; i < this.baseLength; i++) dst[start + i] = t[i]!;

    const ip = start + this.ipOffset;
    const udp = start + this.udpOffset;
    const udpLen = total - this.udpOffset;
    if (this.ipVersion === 4) {
      setU16(dst, ip + 2, total - this.ipOffset);
      setU16(dst, ip + 4, this.ident.value & 0xffff);
      this.ident.value = (this.ident.value + 1) & 0xffff;
      setU16(dst, ip + 10, internetChecksum(dst, ip, IPV4_LEN));
    } else {
      setU16(dst, ip + 4, udpLen);
    }
    setU16(dst, udp, srcPort);
    setU16(dst, udp + 4, udpLen);

    const tun = start + this.tunnelOffset;
    if (this.kind === TunnelKind.Geneve) {
      const critical = key.ovnKeys >= 0 || (key.optLen > 0 && hasCriticalGeneveOption(dst, optStart, optLen));
      dst[tun] = optLen / 4;
      dst[tun + 1] = (key.oam ? 0x80 : 0) | (critical ? 0x40 : 0);
      setU16(dst, tun + 2, key.protocolType);
      setU24(dst, tun + 4, key.vni);
    } else {
      setU24(dst, tun + 4, key.vni);
    }

    if (this.udpChecksum) {
      const c =
        this.ipVersion === 4
          ? l4ChecksumV4(dst, udp, udpLen, IPPROTO_UDP, this.src4 | 0, this.dst4 | 0) // signed: no heap number per call
          : l4ChecksumV6(dst, udp, udpLen, IPPROTO_UDP, ip);
      // RFC 768: a computed zero is sent as all ones (zero means "no checksum").
      setU16(dst, udp + 6, c === 0 ? 0xffff : c);
    }

    this.buf = dst;
    this.off = start;
    this.len = total;
    return total;
  }
}

// ---------------------------------------------------------------------------------------------
// Decapsulation

/**
 * What `decapsulate()` found: the outer addresses and tunnel metadata, the inner frame's place,
 * or the error (code, layer and byte offset). Reuse one instance; filling it allocates nothing.
 */
export class DecapResult {
  /** `Ok`, or the error code. */
  code: WireErrorCode = WireErrorCode.Ok;
  /** The layer of the error (`eth`, `vlan`, `ipv4`, `ipv6`, `udp`, `geneve`, `vxlan`); '' when none. */
  layer = '';
  /** Byte offset of the error in `buf`. */
  errorOffset = 0;
  /** The frame that was decapsulated. */
  buf: Uint8Array = EMPTY;
  /** Tunnel kind, when the UDP port named one. */
  kind: TunnelKind = TunnelKind.Geneve;
  /** Outer 802.1Q TCI, or -1 when untagged. */
  vlanTci = -1;
  /** Outer IP version. */
  ipVersion: 4 | 6 = 4;
  /** Offset of the outer IP header. */
  ipOffset = 0;
  /** Outer IPv4 source (0 over IPv6; see `srcIp6()`). */
  src4 = 0;
  /** Outer IPv4 destination (0 over IPv6; see `dstIp6()`). */
  dst4 = 0;
  /** Outer TOS / traffic class. */
  tos = 0;
  /** Outer TTL / hop limit. */
  ttl = 0;
  /** Outer IPv4 DF bit (false over IPv6). */
  dontFragment = false;
  /** Offset of the outer UDP header. */
  udpOffset = 0;
  /** Outer UDP source port. */
  srcPort = 0;
  /** Outer UDP destination port. */
  dstPort = 0;
  /** The outer UDP checksum as received (0 = none; a non-zero one has been verified). */
  udpChecksum = 0;
  /** Offset of the tunnel header. */
  tunnelOffset = 0;
  /** The VNI (for OVN, the logical datapath key). */
  vni = 0;
  /** Geneve O bit. */
  oam = false;
  /** Geneve C bit. */
  critical = false;
  /** Geneve protocol type (Ethernet for VXLAN). */
  protocolType = 0;
  /** Offset of the Geneve options area. */
  optOffset = 0;
  /** Length of the Geneve options area (0 for VXLAN). */
  optLength = 0;
  /** OVN's packed keys, or -1 when absent, -2 when malformed (`readOvnOption`). */
  ovnKeys = OVN_OPTION_ABSENT;
  /** OVN's logical ingress port key, or -1. */
  ovnIngress = -1;
  /** OVN's logical egress port key, or -1. */
  ovnEgress = -1;
  /** Offset of the inner frame. */
  innerOffset = 0;
  /** Length of the inner frame. */
  innerLength = 0;

  /** True if decapsulation succeeded. */
  get ok(): boolean {
    return this.code === WireErrorCode.Ok;
  }
  /** The inner frame as a subarray view of `buf` (allocates the view object only). */
  inner(): Uint8Array {
    return this.buf.subarray(this.innerOffset, this.innerOffset + this.innerLength);
  }
  /** Outer IPv6 source (control plane; allocates a bigint). */
  srcIp6(): bigint {
    return this.ipVersion === 6 ? ipv6FromBytes(this.buf, this.ipOffset + 8) : 0n;
  }
  /** Outer IPv6 destination (control plane; allocates a bigint). */
  dstIp6(): bigint {
    return this.ipVersion === 6 ? ipv6FromBytes(this.buf, this.ipOffset + 24) : 0n;
  }
  /** The error as a `WireError` (control plane), or undefined on success. */
  toError(): WireError | undefined {
    return this.code === WireErrorCode.Ok ? undefined : new WireError(this.layer, this.code, this.errorOffset);
  }
}

function failDecap(r: DecapResult, layer: string, code: WireErrorCode, at: number): false {
  r.code = code;
  r.layer = layer;
  r.errorOffset = at;
  return false;
}

/**
 * Decapsulate the outer frame `buf[off, off + len)` into `r`. Accepts outer Ethernet with at
 * most one VLAN tag, IPv4 (no options required, checksum verified, not fragmented) or IPv6 (UDP
 * directly after the fixed header), UDP to `genevePort` or `vxlanPort` whose checksum, if not
 * zero, verifies. Returns true on success; otherwise `r.code/layer/errorOffset` say why. A frame
 * that is well formed but not a tunnel frame (another EtherType, protocol or port) fails with
 * `BadValue` at that layer. Bytes after the IP datagram (Ethernet padding) are ignored. Never
 * throws on any bytes (an `off`/`len` that is not an integer span of `buf` is an `ArgumentError`,
 * a caller's bug); allocates nothing.
 */
export function decapsulate(
  buf: Uint8Array,
  off: number,
  len: number,
  r: DecapResult,
  genevePort = GENEVE_UDP_PORT,
  vxlanPort = VXLAN_UDP_PORT,
): boolean {
  r.code = WireErrorCode.Ok;
  r.layer = '';
  r.errorOffset = 0;
  r.buf = buf;
  r.ovnKeys = OVN_OPTION_ABSENT;
  r.ovnIngress = -1;
  r.ovnEgress = -1;
  r.optOffset = 0;
  r.optLength = 0;
  r.oam = false;
  r.critical = false;
  checkSpan('decapsulate', buf, off, len);
  const end = off + len;

  // Ethernet and at most one VLAN tag. (Bytes are read with shifts written out on this path, not
  // through u16()/u32(): see "Per-packet cost" above.)
  if (end - off < ETH_LEN) return failDecap(r, 'eth', WireErrorCode.Truncated, off);
  let etype = (buf[off + 12]! << 8) | buf[off + 13]!;
  let l3 = off + ETH_LEN;
  r.vlanTci = -1;
  if (isVlanTpid(etype)) {
    if (end - l3 < VLAN_LEN) return failDecap(r, 'vlan', WireErrorCode.Truncated, l3);
    r.vlanTci = (buf[l3]! << 8) | buf[l3 + 1]!;
    etype = (buf[l3 + 2]! << 8) | buf[l3 + 3]!;
    l3 += VLAN_LEN;
  }
  r.ipOffset = l3;

  // Outer IP.
  let udp: number;
  let ipEnd: number;
  let src = 0;
  let dst = 0;
  if (etype === EtherType.IPv4) {
    if (end - l3 < IPV4_LEN) return failDecap(r, 'ipv4', WireErrorCode.Truncated, l3);
    const vihl = buf[l3]!;
    if (vihl >>> 4 !== 4) return failDecap(r, 'ipv4', WireErrorCode.BadVersion, l3);
    const ihl = (vihl & 0x0f) * 4;
    if (ihl < IPV4_LEN) return failDecap(r, 'ipv4', WireErrorCode.BadLength, l3);
    if (end - l3 < ihl) return failDecap(r, 'ipv4', WireErrorCode.Truncated, l3 + IPV4_LEN);
    const totalLen = (buf[l3 + 2]! << 8) | buf[l3 + 3]!;
    if (totalLen < ihl) return failDecap(r, 'ipv4', WireErrorCode.BadLength, l3 + 2);
    if (end - l3 < totalLen) return failDecap(r, 'ipv4', WireErrorCode.Truncated, l3 + ihl);
    // Header checksum: a correct header sums to 0xffff. The usual 20-byte header is summed in line.
    const hsum =
      ihl === IPV4_LEN
        ? (vihl + buf[l3 + 2]! + buf[l3 + 4]! + buf[l3 + 6]! + buf[l3 + 8]! + buf[l3 + 10]! + buf[l3 + 12]! + buf[l3 + 14]! + buf[l3 + 16]! + buf[l3 + 18]!) * 256 +
          buf[l3 + 1]! + buf[l3 + 3]! + buf[l3 + 5]! + buf[l3 + 7]! + buf[l3 + 9]! + buf[l3 + 11]! + buf[l3 + 13]! + buf[l3 + 15]! + buf[l3 + 17]! + buf[l3 + 19]!
        : sumWords(buf, l3, ihl);
    if (fold(hsum) !== 0xffff) return failDecap(r, 'ipv4', WireErrorCode.BadChecksum, l3 + 10);
    const frag = (buf[l3 + 6]! << 8) | buf[l3 + 7]!;
    if ((frag & 0x3fff) !== 0) return failDecap(r, 'ipv4', WireErrorCode.BadValue, l3 + 6);
    if (buf[l3 + 9] !== IPPROTO_UDP) return failDecap(r, 'ipv4', WireErrorCode.BadValue, l3 + 9);
    r.ipVersion = 4;
    r.tos = buf[l3 + 1]!;
    r.ttl = buf[l3 + 8]!;
    r.dontFragment = (frag & 0x4000) !== 0;
    // Signed int32 locals (the same bits): used again for the pseudo-header below.
    src = (buf[l3 + 12]! << 24) | (buf[l3 + 13]! << 16) | (buf[l3 + 14]! << 8) | buf[l3 + 15]!;
    dst = (buf[l3 + 16]! << 24) | (buf[l3 + 17]! << 16) | (buf[l3 + 18]! << 8) | buf[l3 + 19]!;
    r.src4 = src >>> 0;
    r.dst4 = dst >>> 0;
    udp = l3 + ihl;
    ipEnd = l3 + totalLen;
  } else if (etype === EtherType.IPv6) {
    if (end - l3 < IPV6_LEN) return failDecap(r, 'ipv6', WireErrorCode.Truncated, l3);
    if (buf[l3]! >>> 4 !== 6) return failDecap(r, 'ipv6', WireErrorCode.BadVersion, l3);
    const payloadLen = u16(buf, l3 + 4);
    if (payloadLen === 0) return failDecap(r, 'ipv6', WireErrorCode.BadLength, l3 + 4); // jumbogram
    if (end - l3 - IPV6_LEN < payloadLen) return failDecap(r, 'ipv6', WireErrorCode.Truncated, l3 + IPV6_LEN);
    if (buf[l3 + 6] !== IPPROTO_UDP) return failDecap(r, 'ipv6', WireErrorCode.BadValue, l3 + 6);
    r.ipVersion = 6;
    r.tos = (u16(buf, l3) >>> 4) & 0xff;
    r.ttl = buf[l3 + 7]!;
    r.dontFragment = false;
    r.src4 = 0;
    r.dst4 = 0;
    udp = l3 + IPV6_LEN;
    ipEnd = udp + payloadLen;
  } else {
    return failDecap(r, 'eth', WireErrorCode.BadValue, l3 - 2);
  }

  // UDP.
  r.udpOffset = udp;
  if (ipEnd - udp < UDP_LEN) return failDecap(r, 'udp', WireErrorCode.Truncated, udp);
  const udpLen = (buf[udp + 4]! << 8) | buf[udp + 5]!;
  if (udpLen < UDP_LEN || udpLen > ipEnd - udp) return failDecap(r, 'udp', WireErrorCode.BadLength, udp + 4);
  const dstPort = (buf[udp + 2]! << 8) | buf[udp + 3]!;
  r.srcPort = (buf[udp]! << 8) | buf[udp + 1]!;
  r.dstPort = dstPort;
  if (dstPort === genevePort) r.kind = TunnelKind.Geneve;
  else if (dstPort === vxlanPort) r.kind = TunnelKind.Vxlan;
  else return failDecap(r, 'udp', WireErrorCode.BadValue, udp + 2);
  const udpCsum = (buf[udp + 6]! << 8) | buf[udp + 7]!;
  r.udpChecksum = udpCsum;
  if (udpCsum !== 0) {
    // A correct datagram sums, with its pseudo-header, to 0xffff (its checksum is then 0).
    const sum =
      r.ipVersion === 4
        ? sumWords(buf, udp, udpLen, (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + IPPROTO_UDP + udpLen)
        : sumWords(buf, udp, udpLen, pseudoHeaderSumV6(buf, l3 + 8, l3 + 24, IPPROTO_UDP, udpLen));
    if (fold(sum) !== 0xffff) return failDecap(r, 'udp', WireErrorCode.BadChecksum, udp + 6);
  }

  // Tunnel header.
  const tun = udp + UDP_LEN;
  const udpEnd = udp + udpLen;
  r.tunnelOffset = tun;
  if (r.kind === TunnelKind.Geneve) {
    // The header and the TLV walk of checkGeneveAt(), with OVN's option (readOvnOption(): the
    // first TLV of its class and type) picked up on the way; on any problem checkGeneveAt()
    // itself runs to give the error code and offset.
    const b0 = buf[tun]!;
    const optLen = (b0 & 0x3f) * 4;
    const optOff = tun + GENEVE_HEADER_LEN;
    const optEnd = optOff + optLen;
    let keys = OVN_OPTION_ABSENT;
    let ok = udpEnd - tun >= GENEVE_HEADER_LEN && b0 >>> 6 === 0 && optEnd <= udpEnd;
    for (let p = optOff; ok && p < optEnd; ) {
      const dataLen = (buf[p + 3]! & 0x1f) * 4;
      const next = p + 4 + dataLen;
      if (next > optEnd) ok = false;
      else {
        if (keys === OVN_OPTION_ABSENT && buf[p] === 0x01 && buf[p + 1] === 0x02 && buf[p + 2] === OVN_GENEVE_TYPE) {
          keys = dataLen !== OVN_GENEVE_LEN || (buf[p + 4]! & 0x80) !== 0 ? OVN_OPTION_INVALID : (buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!;
        }
        p = next;
      }
    }
    if (!ok) {
      const code = checkGeneveAt(buf, tun, udpEnd - tun);
      return failDecap(r, 'geneve', code === WireErrorCode.Ok ? WireErrorCode.BadOption : code, geneveErrorOffset());
    }
    r.oam = (buf[tun + 1]! & 0x80) !== 0;
    r.critical = (buf[tun + 1]! & 0x40) !== 0;
    r.protocolType = (buf[tun + 2]! << 8) | buf[tun + 3]!;
    r.vni = (buf[tun + 4]! << 16) | (buf[tun + 5]! << 8) | buf[tun + 6]!;
    r.optOffset = optOff;
    r.optLength = optLen;
    r.ovnKeys = keys;
    if (keys >= 0) {
      r.ovnIngress = ovnIngressKey(keys);
      r.ovnEgress = ovnEgressKey(keys);
    }
    r.innerOffset = optEnd;
  } else {
    const code = VxlanView.check(buf, tun, udpEnd - tun);
    if (code !== WireErrorCode.Ok) return failDecap(r, 'vxlan', code, tun);
    r.protocolType = GeneveProtocol.TransparentEthernetBridging;
    r.vni = u24(buf, tun + 4);
    r.optOffset = tun + VXLAN_HEADER_LEN;
    r.innerOffset = tun + VXLAN_HEADER_LEN;
  }
  r.innerLength = udpEnd - r.innerOffset;
  return true;
}
