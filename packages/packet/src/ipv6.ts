/**
 * IPv6 (RFC 8200): the fixed 40-byte header, the extension headers a switch must step over
 * (Hop-by-Hop and Destination Options with their TLV options, Routing, Fragment, and AH), and
 * `findUpperLayer`, which walks the chain to the upper-layer protocol without allocating.
 *
 * The walk is bounded: at most `IPV6_MAX_EXT_HEADERS` extension headers (`TooDeep` beyond; offsets
 * only move forward, so this bound is also what stops a chain that would otherwise go on), a
 * Hop-by-Hop header anywhere but first is `BadValue` (RFC 8200 section 4.1), a header that runs
 * past the bytes present is `Truncated`, and one that runs past the declared payload length while
 * the bytes are there is `BadLength`. A non-first fragment (offset != 0) has no upper-layer header
 * to read: the walk stops after the Fragment header, reports the protocol from it and sets
 * `nonFirstFragment`. ESP (50) is opaque and is reported as the upper layer.
 *
 * Jumbograms (RFC 2675, payload length 0 with a Hop-by-Hop Jumbo Payload option) are not
 * supported: a payload length of 0 followed by a Hop-by-Hop header is `BadLength`, in `check()`
 * and in `findUpperLayer`.
 */
import { formatIpv6, ipv6FromBytes, ipv6ToBytes } from './addr.js';
import { u8, u16, u32, setU8, setU16, setU32 } from './bytes.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';
import { IpProtocol, ReprError } from './ipv4.js';

/** Byte offsets inside the fixed IPv6 header. */
export const Ipv6Offsets = {
  versionClassFlow: 0,
  payloadLength: 4,
  nextHeader: 6,
  hopLimit: 7,
  src: 8,
  dst: 24,
} as const;
/** Length of the fixed IPv6 header. */
export const IPV6_HEADER_LEN = 40;
/** Most extension headers `findUpperLayer` steps over before reporting `TooDeep`. */
export const IPV6_MAX_EXT_HEADERS = 8;

/** IPv6 option types (Hop-by-Hop and Destination Options) we name. */
export const Ipv6OptionType = {
  Pad1: 0x00,
  PadN: 0x01,
  TunnelEncapLimit: 0x04,
  RouterAlert: 0x05,
  Calipso: 0x07,
  HomeAddress: 0xc9,
  JumboPayload: 0xc2,
} as const;

/** IPv6 routing header types we name. */
export const Ipv6RoutingType = { Type0: 0, Type2: 2, Rpl: 3, Srh: 4 } as const;

const EMPTY = new Uint8Array(0);

/** A reusable view over the fixed IPv6 header and its payload; call `check()` before `reset()`. */
export class Ipv6View {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /**
   * `Ok` if the fixed header and the payload length it declares are present: `BadVersion` if the
   * version is not 6, `BadLength` for a jumbogram (unsupported), `Truncated` when bytes run out.
   */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('Ipv6View.check', buf, off, len);
    if (len < 1) return WireErrorCode.Truncated;
    if (buf[off]! >>> 4 !== 6) return WireErrorCode.BadVersion;
    if (len < IPV6_HEADER_LEN) return WireErrorCode.Truncated;
    const pl = u16(buf, off + Ipv6Offsets.payloadLength);
    if (pl === 0 && buf[off + Ipv6Offsets.nextHeader] === IpProtocol.HopByHop) return WireErrorCode.BadLength;
    if (len < IPV6_HEADER_LEN + pl) return WireErrorCode.Truncated;
    return WireErrorCode.Ok;
  }

  /** Point the view at a new packet (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** IP version (6 once `check()` passed). */
  get version(): number {
    return this.buf[this.off]! >>> 4;
  }
  set version(v: number) {
    this.buf[this.off] = ((v & 0x0f) << 4) | (this.buf[this.off]! & 0x0f);
  }
  /** Traffic class (8 bits: DSCP and ECN). */
  get trafficClass(): number {
    return (u16(this.buf, this.off) >>> 4) & 0xff;
  }
  set trafficClass(v: number) {
    const o = this.off;
    setU16(this.buf, o, (u16(this.buf, o) & 0xf00f) | ((v & 0xff) << 4));
  }
  /** DSCP (upper 6 bits of the traffic class). */
  get dscp(): number {
    return this.trafficClass >>> 2;
  }
  /** ECN (lower 2 bits of the traffic class). */
  get ecn(): number {
    return this.trafficClass & 3;
  }
  /** Flow label (20 bits). */
  get flowLabel(): number {
    return u32(this.buf, this.off) & 0xfffff;
  }
  set flowLabel(v: number) {
    const o = this.off;
    setU32(this.buf, o, ((u32(this.buf, o) & 0xfff00000) | (v & 0xfffff)) >>> 0);
  }
  /** Payload length (everything after the fixed header, extension headers included). */
  get payloadLength(): number {
    return u16(this.buf, this.off + Ipv6Offsets.payloadLength);
  }
  set payloadLength(v: number) {
    setU16(this.buf, this.off + Ipv6Offsets.payloadLength, v);
  }
  /** Next header (the first extension header or the upper-layer protocol). */
  get nextHeader(): number {
    return u8(this.buf, this.off + Ipv6Offsets.nextHeader);
  }
  set nextHeader(v: number) {
    setU8(this.buf, this.off + Ipv6Offsets.nextHeader, v);
  }
  /** Hop limit. */
  get hopLimit(): number {
    return u8(this.buf, this.off + Ipv6Offsets.hopLimit);
  }
  set hopLimit(v: number) {
    setU8(this.buf, this.off + Ipv6Offsets.hopLimit, v);
  }
  /** Offset of the 16-byte source address in `buf`. */
  get srcOffset(): number {
    return this.off + Ipv6Offsets.src;
  }
  /** Offset of the 16-byte destination address in `buf`. */
  get dstOffset(): number {
    return this.off + Ipv6Offsets.dst;
  }
  /** 32-bit lane `i` (0 = most significant) of the source address. */
  srcWord(i: number): number {
    return u32(this.buf, this.off + Ipv6Offsets.src + 4 * i);
  }
  /** Set 32-bit lane `i` of the source address. */
  setSrcWord(i: number, v: number): void {
    setU32(this.buf, this.off + Ipv6Offsets.src + 4 * i, v);
  }
  /** 32-bit lane `i` (0 = most significant) of the destination address. */
  dstWord(i: number): number {
    return u32(this.buf, this.off + Ipv6Offsets.dst + 4 * i);
  }
  /** Set 32-bit lane `i` of the destination address. */
  setDstWord(i: number, v: number): void {
    setU32(this.buf, this.off + Ipv6Offsets.dst + 4 * i, v);
  }
  /** Offset of the payload (the first extension header or upper layer) in `buf`. */
  get payloadOffset(): number {
    return this.off + IPV6_HEADER_LEN;
  }
}

/** A plain fixed IPv6 header. */
export interface Ipv6Repr {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: bigint;
  dst: bigint;
}

const view = new Ipv6View();

/** Parse the fixed IPv6 header from `len` bytes at `off` (the declared payload must be present). */
export function parseIpv6Header(buf: Uint8Array, off = 0, len?: number): Result<Ipv6Repr> {
  len = checkSpan('parseIpv6Header', buf, off, len);
  const code = Ipv6View.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('ipv6', code, off);
  const v = view.reset(buf, off, len);
  return ok({
    trafficClass: v.trafficClass,
    flowLabel: v.flowLabel,
    payloadLength: v.payloadLength,
    nextHeader: v.nextHeader,
    hopLimit: v.hopLimit,
    src: ipv6FromBytes(buf, v.srcOffset),
    dst: ipv6FromBytes(buf, v.dstOffset),
  });
}

/** Bytes `emitIpv6` writes. */
export function ipv6Len(_r: Ipv6Repr): number {
  return IPV6_HEADER_LEN;
}

/** Write the 40-byte fixed header at `off`; returns the bytes written. */
export function emitIpv6(r: Ipv6Repr, buf: Uint8Array, off = 0): number {
  needRoom('ipv6', buf, off, IPV6_HEADER_LEN);
  setU32(buf, off, ((6 << 28) | ((r.trafficClass & 0xff) << 20) | (r.flowLabel & 0xfffff)) >>> 0);
  setU16(buf, off + Ipv6Offsets.payloadLength, r.payloadLength);
  buf[off + Ipv6Offsets.nextHeader] = r.nextHeader & 0xff;
  buf[off + Ipv6Offsets.hopLimit] = r.hopLimit & 0xff;
  ipv6ToBytes(r.src, buf, off + Ipv6Offsets.src);
  ipv6ToBytes(r.dst, buf, off + Ipv6Offsets.dst);
  return IPV6_HEADER_LEN;
}

/** One-line summary, as tshark prints it. */
export function formatIpv6Header(r: Ipv6Repr): string {
  return `Internet Protocol Version 6, Src: ${formatIpv6(r.src)}, Dst: ${formatIpv6(r.dst)}`;
}

// ---------------------------------------------------------------------------------------------
// Extension headers

/** True if `nh` is an extension header `findUpperLayer` steps over (RFC 7045 list, minus ESP). */
export function isIpv6ExtensionHeader(nh: number): boolean {
  return (
    nh === IpProtocol.HopByHop ||
    nh === IpProtocol.Routing ||
    nh === IpProtocol.Fragment ||
    nh === IpProtocol.DestOpts ||
    nh === IpProtocol.AH ||
    nh === IpProtocol.Mobility ||
    nh === IpProtocol.HIP ||
    nh === IpProtocol.Shim6
  );
}

/** Byte offsets common to Hop-by-Hop, Destination Options and Routing headers. */
export const Ipv6ExtOffsets = { nextHeader: 0, hdrExtLen: 1, options: 2, routingType: 2, segmentsLeft: 3, routingData: 4 } as const;

/**
 * A reusable view over a Hop-by-Hop or Destination Options header: next header, length in 8-byte
 * units beyond the first 8, then TLV options.
 */
export class Ipv6OptionsHeaderView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `Ok` if the whole header (by its length octet) is present. */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('Ipv6OptionsHeaderView.check', buf, off, len);
    if (len < 2) return WireErrorCode.Truncated;
    return len < (buf[off + 1]! + 1) * 8 ? WireErrorCode.Truncated : WireErrorCode.Ok;
  }
  /** Point the view at a header. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }
  /** The header that follows. */
  get nextHeader(): number {
    return this.buf[this.off]!;
  }
  set nextHeader(v: number) {
    this.buf[this.off] = v & 0xff;
  }
  /** Length octet: 8-byte units beyond the first 8. */
  get hdrExtLen(): number {
    return this.buf[this.off + 1]!;
  }
  set hdrExtLen(v: number) {
    this.buf[this.off + 1] = v & 0xff;
  }
  /** Header length in bytes. */
  get headerLength(): number {
    return (this.buf[this.off + 1]! + 1) * 8;
  }
  /** Offset of the options in `buf`. */
  get optionsOffset(): number {
    return this.off + 2;
  }
  /** Length of the options area. */
  get optionsLength(): number {
    return this.headerLength - 2;
  }
  /** `Ok` if every option is well-formed, else `BadOption`. */
  checkOptions(): WireErrorCode {
    const it = ipv6OptionIter.reset(this.buf, this.optionsOffset, this.optionsLength);
    while (it.next());
    return it.error;
  }
}

/**
 * An allocation-free walk over Hop-by-Hop/Destination options. Pad1 is one byte; every other
 * option is type, data length, data. After `next()` returns true, `type`, `offset`, `length`,
 * `dataOffset` and `dataLength` describe one option (Pad1 and PadN are reported too). An option
 * that runs past the area is `BadOption`.
 */
export class Ipv6OptionIter {
  buf: Uint8Array = EMPTY;
  pos = 0;
  end = 0;
  /** Option type. */
  type = 0;
  /** Offset of the option in `buf`. */
  offset = 0;
  /** Length of the whole option. */
  length = 0;
  /** Offset of the option data. */
  dataOffset = 0;
  /** Length of the option data. */
  dataLength = 0;
  /** `Ok`, or `BadOption` once a malformed option stopped the walk. */
  error: WireErrorCode = WireErrorCode.Ok;

  /** Walk the `len` option bytes at `off`. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = off + len;
    this.error = WireErrorCode.Ok;
    return this;
  }
  /** Advance to the next option; false at the end or on error. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const p = this.pos;
    const t = this.buf[p]!;
    this.type = t;
    this.offset = p;
    if (t === Ipv6OptionType.Pad1) {
      this.length = 1;
      this.dataOffset = p + 1;
      this.dataLength = 0;
      this.pos = p + 1;
      return true;
    }
    if (p + 2 > this.end || p + 2 + this.buf[p + 1]! > this.end) {
      this.error = WireErrorCode.BadOption;
      this.pos = this.end;
      return false;
    }
    const dl = this.buf[p + 1]!;
    this.length = dl + 2;
    this.dataOffset = p + 2;
    this.dataLength = dl;
    this.pos = p + 2 + dl;
    return true;
  }
  /** The action bits of the option type (RFC 8200 4.2: 0 skip, 1 discard, 2/3 discard + ICMP). */
  get action(): number {
    return this.type >>> 6;
  }
}

const ipv6OptionIter = new Ipv6OptionIter();

/** A plain Hop-by-Hop or Destination Options header. */
export interface Ipv6OptionsHeaderRepr {
  nextHeader: number;
  /** The raw options area; with the 2 leading bytes it must fill a multiple of 8. */
  options: Uint8Array;
}

const optsView = new Ipv6OptionsHeaderView();

/** Parse a Hop-by-Hop or Destination Options header (options copied, not validated). */
export function parseIpv6OptionsHeader(buf: Uint8Array, off = 0, len?: number): Result<Ipv6OptionsHeaderRepr> {
  len = checkSpan('parseIpv6OptionsHeader', buf, off, len);
  const code = Ipv6OptionsHeaderView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('ipv6-opts', code, off);
  const v = optsView.reset(buf, off, len);
  return ok({ nextHeader: v.nextHeader, options: buf.slice(v.optionsOffset, v.optionsOffset + v.optionsLength) });
}

/** Bytes `emitIpv6OptionsHeader` writes. */
export function ipv6OptionsHeaderLen(r: Ipv6OptionsHeaderRepr): number {
  return 2 + r.options.length;
}

/** Write the header; throws `ReprError` unless 2 + options is a multiple of 8 up to 2048. */
export function emitIpv6OptionsHeader(r: Ipv6OptionsHeaderRepr, buf: Uint8Array, off = 0): number {
  const n = 2 + r.options.length;
  if (n % 8 !== 0 || n > 2048) throw new ReprError('ipv6-opts', `header of ${n} bytes is not a multiple of 8 up to 2048`);
  needRoom('ipv6-opts', buf, off, n);
  buf[off] = r.nextHeader & 0xff;
  buf[off + 1] = n / 8 - 1;
  buf.set(r.options, off + 2);
  return n;
}

/** A reusable view over a Routing header. */
export class Ipv6RoutingView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `Ok` if the whole header (by its length octet) is present. */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('Ipv6RoutingView.check', buf, off, len);
    if (len < 8) return WireErrorCode.Truncated;
    return len < (buf[off + 1]! + 1) * 8 ? WireErrorCode.Truncated : WireErrorCode.Ok;
  }
  /** Point the view at a header. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }
  /** The header that follows. */
  get nextHeader(): number {
    return this.buf[this.off]!;
  }
  set nextHeader(v: number) {
    this.buf[this.off] = v & 0xff;
  }
  /** Header length in bytes. */
  get headerLength(): number {
    return (this.buf[this.off + 1]! + 1) * 8;
  }
  /** Routing type (see `Ipv6RoutingType`). */
  get routingType(): number {
    return this.buf[this.off + Ipv6ExtOffsets.routingType]!;
  }
  set routingType(v: number) {
    this.buf[this.off + Ipv6ExtOffsets.routingType] = v & 0xff;
  }
  /** Segments left. */
  get segmentsLeft(): number {
    return this.buf[this.off + Ipv6ExtOffsets.segmentsLeft]!;
  }
  set segmentsLeft(v: number) {
    this.buf[this.off + Ipv6ExtOffsets.segmentsLeft] = v & 0xff;
  }
  /** Offset of the type-specific data in `buf`. */
  get dataOffset(): number {
    return this.off + Ipv6ExtOffsets.routingData;
  }
  /** Length of the type-specific data. */
  get dataLength(): number {
    return this.headerLength - Ipv6ExtOffsets.routingData;
  }
}

/** A plain Routing header. */
export interface Ipv6RoutingRepr {
  nextHeader: number;
  routingType: number;
  segmentsLeft: number;
  /** Type-specific data; with the 4 leading bytes it must fill a multiple of 8. */
  data: Uint8Array;
}

const routingView = new Ipv6RoutingView();

/** Parse a Routing header (data copied). */
export function parseIpv6Routing(buf: Uint8Array, off = 0, len?: number): Result<Ipv6RoutingRepr> {
  len = checkSpan('parseIpv6Routing', buf, off, len);
  const code = Ipv6RoutingView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('ipv6-routing', code, off);
  const v = routingView.reset(buf, off, len);
  return ok({
    nextHeader: v.nextHeader,
    routingType: v.routingType,
    segmentsLeft: v.segmentsLeft,
    data: buf.slice(v.dataOffset, v.dataOffset + v.dataLength),
  });
}

/** Bytes `emitIpv6Routing` writes. */
export function ipv6RoutingLen(r: Ipv6RoutingRepr): number {
  return 4 + r.data.length;
}

/** Write a Routing header; throws `ReprError` unless 4 + data is a multiple of 8 up to 2048. */
export function emitIpv6Routing(r: Ipv6RoutingRepr, buf: Uint8Array, off = 0): number {
  const n = 4 + r.data.length;
  if (n % 8 !== 0 || n > 2048) throw new ReprError('ipv6-routing', `header of ${n} bytes is not a multiple of 8 up to 2048`);
  needRoom('ipv6-routing', buf, off, n);
  buf[off] = r.nextHeader & 0xff;
  buf[off + 1] = n / 8 - 1;
  buf[off + 2] = r.routingType & 0xff;
  buf[off + 3] = r.segmentsLeft & 0xff;
  buf.set(r.data, off + 4);
  return n;
}

/** Byte offsets inside a Fragment header. */
export const Ipv6FragmentOffsets = { nextHeader: 0, reserved: 1, offsetFlags: 2, ident: 4 } as const;
/** Length of a Fragment header. */
export const IPV6_FRAGMENT_LEN = 8;

/** A reusable view over a Fragment header. */
export class Ipv6FragmentView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `Ok` if the 8-byte header is present. */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('Ipv6FragmentView.check', buf, off, len);
    return len < IPV6_FRAGMENT_LEN ? WireErrorCode.Truncated : WireErrorCode.Ok;
  }
  /** Point the view at a header. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }
  /** The header that follows. */
  get nextHeader(): number {
    return this.buf[this.off]!;
  }
  set nextHeader(v: number) {
    this.buf[this.off] = v & 0xff;
  }
  /** Fragment offset in 8-byte units (13 bits). */
  get fragmentOffset(): number {
    return u16(this.buf, this.off + Ipv6FragmentOffsets.offsetFlags) >>> 3;
  }
  set fragmentOffset(v: number) {
    const o = this.off + Ipv6FragmentOffsets.offsetFlags;
    setU16(this.buf, o, ((v & 0x1fff) << 3) | (u16(this.buf, o) & 7));
  }
  /** More Fragments (the M flag). */
  get moreFragments(): boolean {
    return (this.buf[this.off + 3]! & 1) !== 0;
  }
  set moreFragments(v: boolean) {
    const o = this.off + 3;
    this.buf[o] = v ? this.buf[o]! | 1 : this.buf[o]! & ~1;
  }
  /** Identification. */
  get ident(): number {
    return u32(this.buf, this.off + Ipv6FragmentOffsets.ident);
  }
  set ident(v: number) {
    setU32(this.buf, this.off + Ipv6FragmentOffsets.ident, v);
  }
  /** Offset of what follows the header. */
  get payloadOffset(): number {
    return this.off + IPV6_FRAGMENT_LEN;
  }
}

/** A plain Fragment header. */
export interface Ipv6FragmentRepr {
  nextHeader: number;
  /** Offset in 8-byte units. */
  fragmentOffset: number;
  moreFragments: boolean;
  ident: number;
}

const fragView = new Ipv6FragmentView();

/** Parse a Fragment header. */
export function parseIpv6Fragment(buf: Uint8Array, off = 0, len?: number): Result<Ipv6FragmentRepr> {
  len = checkSpan('parseIpv6Fragment', buf, off, len);
  const code = Ipv6FragmentView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('ipv6-frag', code, off);
  const v = fragView.reset(buf, off, len);
  return ok({ nextHeader: v.nextHeader, fragmentOffset: v.fragmentOffset, moreFragments: v.moreFragments, ident: v.ident });
}

/** Bytes `emitIpv6Fragment` writes. */
export function ipv6FragmentLen(_r: Ipv6FragmentRepr): number {
  return IPV6_FRAGMENT_LEN;
}

/** Write a Fragment header (reserved fields zero); returns the bytes written. */
export function emitIpv6Fragment(r: Ipv6FragmentRepr, buf: Uint8Array, off = 0): number {
  needRoom('ipv6-frag', buf, off, IPV6_FRAGMENT_LEN);
  buf[off] = r.nextHeader & 0xff;
  buf[off + 1] = 0;
  setU16(buf, off + 2, ((r.fragmentOffset & 0x1fff) << 3) | (r.moreFragments ? 1 : 0));
  setU32(buf, off + 4, r.ident);
  return IPV6_FRAGMENT_LEN;
}

// ---------------------------------------------------------------------------------------------
// The extension header walk

/** What `findUpperLayer` found; one object is reused across calls. */
export class Ipv6UpperLayer {
  /** `Ok`, or the code that stopped the walk. */
  error: WireErrorCode = WireErrorCode.Ok;
  /** Offset in `buf` where the walk stopped with an error. */
  errorOffset = 0;
  /** Upper-layer protocol (or, on error, the next header being read when the walk stopped). */
  protocol = 0;
  /** Offset of the upper-layer header in `buf`. */
  offset = 0;
  /** Upper-layer length by the IPv6 payload length (may exceed the bytes present in a snapped capture). */
  length = 0;
  /** Number of extension headers stepped over. */
  extHeaders = 0;
  /** True if a Fragment header was seen. */
  hasFragment = false;
  /** Fragment offset in 8-byte units (when `hasFragment`). */
  fragmentOffset = 0;
  /** M flag of the Fragment header (when `hasFragment`). */
  moreFragments = false;
  /** Identification of the Fragment header (when `hasFragment`). */
  fragmentIdent = 0;
  /** True if this is a non-first fragment: `protocol` is known but its header is not here. */
  nonFirstFragment = false;
  /** True if a Routing header was seen. */
  hasRouting = false;

  /** Clear every field. */
  clear(): this {
    this.error = WireErrorCode.Ok;
    this.errorOffset = 0;
    this.protocol = 0;
    this.offset = 0;
    this.length = 0;
    this.extHeaders = 0;
    this.hasFragment = false;
    this.fragmentOffset = 0;
    this.moreFragments = false;
    this.fragmentIdent = 0;
    this.nonFirstFragment = false;
    this.hasRouting = false;
    return this;
  }
}

const sharedUpper = new Ipv6UpperLayer();
const walkOptions = new Ipv6OptionIter();

/**
 * Walk from the IPv6 header at `off` (`len` bytes present) over its extension headers to the
 * upper layer, without allocating; results go into `out` (a shared object by default). The walk
 * needs the fixed header, not the whole payload: headers are read within the bytes present and
 * the declared payload length, whichever ends first. Returns `out`; check `out.error`.
 */
export function findUpperLayer(buf: Uint8Array, off: number, len: number, out: Ipv6UpperLayer = sharedUpper): Ipv6UpperLayer {
  checkSpan('findUpperLayer', buf, off, len);
  out.clear();
  if (len < 1) return stop(out, WireErrorCode.Truncated, off);
  if (buf[off]! >>> 4 !== 6) return stop(out, WireErrorCode.BadVersion, off);
  if (len < IPV6_HEADER_LEN) return stop(out, WireErrorCode.Truncated, off);
  const pl = u16(buf, off + Ipv6Offsets.payloadLength);
  let nh = buf[off + Ipv6Offsets.nextHeader]!;
  if (pl === 0 && nh === IpProtocol.HopByHop) {
    out.protocol = nh;
    return stop(out, WireErrorCode.BadLength, off + Ipv6Offsets.payloadLength);
  }
  const declaredEnd = off + IPV6_HEADER_LEN + pl;
  const presentEnd = off + len;
  const end = declaredEnd < presentEnd ? declaredEnd : presentEnd;
  // Running past `end`: truncation if the bytes stop first, malformation if the payload length does.
  const overrun = declaredEnd <= presentEnd ? WireErrorCode.BadLength : WireErrorCode.Truncated;
  let p = off + IPV6_HEADER_LEN;
  for (;;) {
    out.protocol = nh;
    if (!isIpv6ExtensionHeader(nh)) break;
    if (nh === IpProtocol.HopByHop && out.extHeaders !== 0) return stop(out, WireErrorCode.BadValue, p);
    if (out.extHeaders >= IPV6_MAX_EXT_HEADERS) return stop(out, WireErrorCode.TooDeep, p);
    if (p + 2 > end) return stop(out, overrun, p);
    let hl: number;
    if (nh === IpProtocol.Fragment) hl = IPV6_FRAGMENT_LEN;
    else if (nh === IpProtocol.AH) hl = (buf[p + 1]! + 2) * 4;
    else hl = (buf[p + 1]! + 1) * 8;
    if (p + hl > end) return stop(out, overrun, p);
    if (nh === IpProtocol.HopByHop || nh === IpProtocol.DestOpts) {
      // The options must exactly fill the header (RFC 8200 section 4.2); a length running past it is malformed.
      const it = walkOptions.reset(buf, p + 2, hl - 2);
      while (it.next());
      if (it.error !== WireErrorCode.Ok) return stop(out, it.error, it.offset);
    }
    out.extHeaders++;
    const next = buf[p]!;
    if (nh === IpProtocol.Routing) out.hasRouting = true;
    if (nh === IpProtocol.Fragment) {
      const fo = u16(buf, p + 2);
      out.hasFragment = true;
      out.fragmentOffset = fo >>> 3;
      out.moreFragments = (fo & 1) !== 0;
      out.fragmentIdent = u32(buf, p + 4);
      if (out.fragmentOffset !== 0) {
        out.protocol = next;
        out.nonFirstFragment = true;
        p += hl;
        break;
      }
    }
    nh = next;
    p += hl;
  }
  out.offset = p;
  out.length = declaredEnd - p;
  return out;
}

function stop(out: Ipv6UpperLayer, code: WireErrorCode, at: number): Ipv6UpperLayer {
  out.error = code;
  out.errorOffset = at;
  return out;
}
