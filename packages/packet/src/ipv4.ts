/**
 * IPv4 (RFC 791). The view checks the version, the header length (IHL) and the total length
 * once; after that every accessor stays inside the header. The payload is what the total length
 * says, so Ethernet padding after a short datagram is not part of it. Options stay raw bytes in
 * the header; `Ipv4OptionIter` walks them without allocating, and reports a malformed option
 * length as `BadOption`. `check()` does not walk the options: a switch forwards a datagram with
 * odd options untouched, as Open vSwitch does, so only a consumer that reads them pays for that.
 */
import { formatIpv4 } from './addr.js';
import { i32, u8, u16, u32, setU8, setU16, setU32 } from './bytes.js';
import { internetChecksum } from './checksum.js';
import { KindLengthOptionIter } from './options.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';

/** IP protocol numbers (IPv4 protocol / IPv6 next header) we name. Unknown values pass through. */
export const IpProtocol = {
  /** IPv6 Hop-by-Hop Options (only as an IPv6 next header). */
  HopByHop: 0,
  ICMP: 1,
  IGMP: 2,
  /** IPv4-in-IP encapsulation. */
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  /** IPv6 encapsulated in IPv4 or IPv6. */
  IPv6: 41,
  /** IPv6 Routing header. */
  Routing: 43,
  /** IPv6 Fragment header. */
  Fragment: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPv6: 58,
  /** IPv6 No Next Header. */
  NoNext: 59,
  /** IPv6 Destination Options. */
  DestOpts: 60,
  /** Mobility header (RFC 6275), an IPv6 extension header. */
  Mobility: 135,
  SCTP: 132,
  /** Host Identity Protocol (RFC 7401), an IPv6 extension header. */
  HIP: 139,
  /** Shim6 (RFC 5533), an IPv6 extension header. */
  Shim6: 140,
} as const;

/** IPv4 option types (the whole type octet: copied flag, class and number). */
export const Ipv4OptionType = {
  EndOfList: 0,
  NoOperation: 1,
  RecordRoute: 7,
  Timestamp: 68,
  Security: 130,
  LooseSourceRoute: 131,
  StrictSourceRoute: 137,
  StreamId: 136,
  RouterAlert: 148,
} as const;

/** Byte offsets inside an IPv4 header. */
export const Ipv4Offsets = {
  versionIhl: 0,
  dscpEcn: 1,
  totalLength: 2,
  ident: 4,
  flagsFragment: 6,
  ttl: 8,
  protocol: 9,
  checksum: 10,
  src: 12,
  dst: 16,
  options: 20,
} as const;
/** Length of an IPv4 header without options. */
export const IPV4_HEADER_LEN = 20;
/** Largest IPv4 header (IHL 15). */
export const IPV4_MAX_HEADER_LEN = 60;

/** Thrown by an emitter when a `Repr` holds a value the wire format cannot carry: a caller bug. */
export class ReprError extends RangeError {
  override readonly name = 'ReprError';
  constructor(layer: string, detail: string) {
    super(`${layer}: cannot emit: ${detail}`);
  }
}

const EMPTY = new Uint8Array(0);

/** A reusable view over an IPv4 header and its payload; call `check()` before `reset()`. */
export class Ipv4View {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /**
   * `Ok` if `len` bytes at `off` hold a whole datagram (header and the total length it declares):
   * `BadVersion` if the version is not 4, `BadLength` if IHL < 5 or the total length is shorter
   * than the header, `Truncated` if the bytes end before the total length.
   */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('Ipv4View.check', buf, off, len);
    if (len < 1) return WireErrorCode.Truncated;
    if (buf[off]! >>> 4 !== 4) return WireErrorCode.BadVersion;
    if (len < IPV4_HEADER_LEN) return WireErrorCode.Truncated;
    const hl = (buf[off]! & 0x0f) * 4;
    if (hl < IPV4_HEADER_LEN) return WireErrorCode.BadLength;
    const total = u16(buf, off + Ipv4Offsets.totalLength);
    if (total < hl) return WireErrorCode.BadLength;
    if (len < total) return WireErrorCode.Truncated;
    return WireErrorCode.Ok;
  }

  /** Point the view at a new datagram (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** IP version (4 once `check()` passed). */
  get version(): number {
    return this.buf[this.off]! >>> 4;
  }
  set version(v: number) {
    this.buf[this.off] = ((v & 0x0f) << 4) | (this.buf[this.off]! & 0x0f);
  }
  /** Internet header length in 32-bit words. */
  get ihl(): number {
    return this.buf[this.off]! & 0x0f;
  }
  set ihl(v: number) {
    this.buf[this.off] = (this.buf[this.off]! & 0xf0) | (v & 0x0f);
  }
  /** Header length in bytes (IHL * 4). */
  get headerLength(): number {
    return (this.buf[this.off]! & 0x0f) * 4;
  }
  /** Differentiated services code point (6 bits). */
  get dscp(): number {
    return this.buf[this.off + Ipv4Offsets.dscpEcn]! >>> 2;
  }
  set dscp(v: number) {
    const o = this.off + Ipv4Offsets.dscpEcn;
    this.buf[o] = ((v & 0x3f) << 2) | (this.buf[o]! & 3);
  }
  /** Explicit congestion notification (2 bits). */
  get ecn(): number {
    return this.buf[this.off + Ipv4Offsets.dscpEcn]! & 3;
  }
  set ecn(v: number) {
    const o = this.off + Ipv4Offsets.dscpEcn;
    this.buf[o] = (this.buf[o]! & 0xfc) | (v & 3);
  }
  /** Total length of the datagram (header and payload). */
  get totalLength(): number {
    return u16(this.buf, this.off + Ipv4Offsets.totalLength);
  }
  set totalLength(v: number) {
    setU16(this.buf, this.off + Ipv4Offsets.totalLength, v);
  }
  /** Identification. */
  get ident(): number {
    return u16(this.buf, this.off + Ipv4Offsets.ident);
  }
  set ident(v: number) {
    setU16(this.buf, this.off + Ipv4Offsets.ident, v);
  }
  /** The three flag bits (reserved, DF, MF) as a number 0..7. */
  get flags(): number {
    return this.buf[this.off + Ipv4Offsets.flagsFragment]! >>> 5;
  }
  /** The reserved flag bit (must be zero, RFC 791). */
  get reservedFlag(): boolean {
    return (this.buf[this.off + Ipv4Offsets.flagsFragment]! & 0x80) !== 0;
  }
  /** Don't Fragment. */
  get dontFragment(): boolean {
    return (this.buf[this.off + Ipv4Offsets.flagsFragment]! & 0x40) !== 0;
  }
  set dontFragment(v: boolean) {
    const o = this.off + Ipv4Offsets.flagsFragment;
    this.buf[o] = v ? this.buf[o]! | 0x40 : this.buf[o]! & ~0x40;
  }
  /** More Fragments. */
  get moreFragments(): boolean {
    return (this.buf[this.off + Ipv4Offsets.flagsFragment]! & 0x20) !== 0;
  }
  set moreFragments(v: boolean) {
    const o = this.off + Ipv4Offsets.flagsFragment;
    this.buf[o] = v ? this.buf[o]! | 0x20 : this.buf[o]! & ~0x20;
  }
  /** Fragment offset in 8-byte units (13 bits). */
  get fragmentOffset(): number {
    return u16(this.buf, this.off + Ipv4Offsets.flagsFragment) & 0x1fff;
  }
  set fragmentOffset(v: number) {
    const o = this.off + Ipv4Offsets.flagsFragment;
    setU16(this.buf, o, (u16(this.buf, o) & 0xe000) | (v & 0x1fff));
  }
  /** True if this datagram is a fragment (MF set or a non-zero offset). */
  get isFragment(): boolean {
    return (u16(this.buf, this.off + Ipv4Offsets.flagsFragment) & 0x3fff) !== 0;
  }
  /** True if this is the first fragment of a fragmented datagram (MF set, offset 0). */
  get isFirstFragment(): boolean {
    return (u16(this.buf, this.off + Ipv4Offsets.flagsFragment) & 0x3fff) === 0x2000;
  }
  /** Time to live. */
  get ttl(): number {
    return u8(this.buf, this.off + Ipv4Offsets.ttl);
  }
  set ttl(v: number) {
    setU8(this.buf, this.off + Ipv4Offsets.ttl, v);
  }
  /** Protocol of the payload (see `IpProtocol`). */
  get protocol(): number {
    return u8(this.buf, this.off + Ipv4Offsets.protocol);
  }
  set protocol(v: number) {
    setU8(this.buf, this.off + Ipv4Offsets.protocol, v);
  }
  /** Header checksum as stored. */
  get checksum(): number {
    return u16(this.buf, this.off + Ipv4Offsets.checksum);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + Ipv4Offsets.checksum, v);
  }
  /** Source address as an unsigned 32-bit number. */
  get src(): number {
    return u32(this.buf, this.off + Ipv4Offsets.src);
  }
  /**
   * The source address as a signed int32 of the same bits (`>>> 0` gives `src`): the per-packet
   * form, never boxed into a heap number even when V8 does not inline the getter (an address of
   * 2^31 or more, such as 192.168.x.x, would be as an unsigned number).
   */
  get srcInt32(): number {
    return i32(this.buf, this.off + Ipv4Offsets.src);
  }
  /** The destination address as a signed int32 of the same bits (see `srcInt32`). */
  get dstInt32(): number {
    return i32(this.buf, this.off + Ipv4Offsets.dst);
  }
  set src(v: number) {
    setU32(this.buf, this.off + Ipv4Offsets.src, v);
  }
  /** Destination address as an unsigned 32-bit number. */
  get dst(): number {
    return u32(this.buf, this.off + Ipv4Offsets.dst);
  }
  set dst(v: number) {
    setU32(this.buf, this.off + Ipv4Offsets.dst, v);
  }
  /** Offset of the options in `buf`. */
  get optionsOffset(): number {
    return this.off + IPV4_HEADER_LEN;
  }
  /** Length of the options (header length minus 20). */
  get optionsLength(): number {
    return this.headerLength - IPV4_HEADER_LEN;
  }
  /** Offset of the payload in `buf`. */
  get payloadOffset(): number {
    return this.off + this.headerLength;
  }
  /** Payload length by the total length field (Ethernet padding excluded). */
  get payloadLength(): number {
    return this.totalLength - this.headerLength;
  }
  /** True if the header checksum verifies. */
  checksumValid(): boolean {
    return internetChecksum(this.buf, this.off, this.headerLength) === 0;
  }
  /** Compute and store the header checksum. */
  fillChecksum(): void {
    setU16(this.buf, this.off + Ipv4Offsets.checksum, 0);
    setU16(this.buf, this.off + Ipv4Offsets.checksum, internetChecksum(this.buf, this.off, this.headerLength));
  }
  /** `Ok` if every option is well-formed, else `BadOption` (allocation-free walk). */
  checkOptions(): WireErrorCode {
    const it = optionIter.reset(this.buf, this.optionsOffset, this.optionsLength);
    while (it.next());
    return it.error;
  }
}

/**
 * An allocation-free walk over IPv4 options (see `KindLengthOptionIter`); `type` is the option
 * type octet (`Ipv4OptionType`).
 */
export class Ipv4OptionIter extends KindLengthOptionIter {
  /** Option type octet (the same as `kind`). */
  get type(): number {
    return this.kind;
  }
}

const optionIter = new Ipv4OptionIter();

/** A plain IPv4 header; the payload length is what follows the header. */
export interface Ipv4Repr {
  dscp: number;
  ecn: number;
  ident: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** Fragment offset in 8-byte units. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
  /** Raw options, padded by the sender to a multiple of 4 bytes. */
  options: Uint8Array;
  payloadLength: number;
}

const view = new Ipv4View();

/** Parse an IPv4 header (options copied) from `len` bytes at `off`. */
export function parseIpv4Header(buf: Uint8Array, off = 0, len?: number): Result<Ipv4Repr> {
  len = checkSpan('parseIpv4Header', buf, off, len);
  const code = Ipv4View.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('ipv4', code, off);
  const v = view.reset(buf, off, len);
  return ok({
    dscp: v.dscp,
    ecn: v.ecn,
    ident: v.ident,
    dontFragment: v.dontFragment,
    moreFragments: v.moreFragments,
    fragmentOffset: v.fragmentOffset,
    ttl: v.ttl,
    protocol: v.protocol,
    src: v.src,
    dst: v.dst,
    options: buf.slice(v.optionsOffset, v.optionsOffset + v.optionsLength),
    payloadLength: v.payloadLength,
  });
}

/** Bytes `emitIpv4` writes (the header length). */
export function ipv4Len(r: Ipv4Repr): number {
  return IPV4_HEADER_LEN + r.options.length;
}

/**
 * Write the header at `off` with IHL from the options, total length = header + payload length,
 * and the header checksum. Returns the header bytes written. Throws `ReprError` if the options
 * are not a multiple of 4 bytes or longer than 40, or the total length exceeds 65535.
 */
export function emitIpv4(r: Ipv4Repr, buf: Uint8Array, off = 0): number {
  const ol = r.options.length;
  if (ol % 4 !== 0 || ol > IPV4_MAX_HEADER_LEN - IPV4_HEADER_LEN) {
    throw new ReprError('ipv4', `options are ${ol} bytes, need a multiple of 4 up to 40`);
  }
  const hl = IPV4_HEADER_LEN + ol;
  if (r.payloadLength < 0 || hl + r.payloadLength > 0xffff) {
    throw new ReprError('ipv4', `total length ${hl + r.payloadLength} out of range`);
  }
  needRoom('ipv4', buf, off, hl);
  buf[off] = 0x40 | (hl >>> 2);
  buf[off + 1] = ((r.dscp & 0x3f) << 2) | (r.ecn & 3);
  setU16(buf, off + Ipv4Offsets.totalLength, hl + r.payloadLength);
  setU16(buf, off + Ipv4Offsets.ident, r.ident);
  setU16(
    buf,
    off + Ipv4Offsets.flagsFragment,
    (r.dontFragment ? 0x4000 : 0) | (r.moreFragments ? 0x2000 : 0) | (r.fragmentOffset & 0x1fff),
  );
  buf[off + Ipv4Offsets.ttl] = r.ttl & 0xff;
  buf[off + Ipv4Offsets.protocol] = r.protocol & 0xff;
  setU16(buf, off + Ipv4Offsets.checksum, 0);
  setU32(buf, off + Ipv4Offsets.src, r.src);
  setU32(buf, off + Ipv4Offsets.dst, r.dst);
  buf.set(r.options, off + IPV4_HEADER_LEN);
  setU16(buf, off + Ipv4Offsets.checksum, internetChecksum(buf, off, hl));
  return hl;
}

/** One-line summary, as tshark prints it. */
export function formatIpv4Header(r: Ipv4Repr): string {
  return `Internet Protocol Version 4, Src: ${formatIpv4(r.src)}, Dst: ${formatIpv4(r.dst)}`;
}
