/**
 * ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861). The codec starts at the ICMPv6 header;
 * the IPv6 header around it belongs to the caller, so the checksum (which covers an IPv6
 * pseudo-header) is filled and verified by `fillIcmpv6Checksum` / `verifyIcmpv6Checksum`
 * given the offset of that IPv6 header, or by `emitIcmpv6` when it is passed one.
 *
 * Neighbor Discovery options are 8-octet units after the fixed part of RS, RA, NS, NA and
 * Redirect. `Icmpv6View.check()` walks them once: "All included options have a length that is
 * greater than zero" (RFC 4861 sections 6.1.1, 7.1.1, 7.1.2, 8.1), so a zero length is `BadOption`
 * (it would also make a naive walker spin forever); an option that runs past the end of the
 * message is `Truncated`. After `check()`, the allocation-free `NdOptionIter` walks them again.
 * MLD messages (130, 131, 132, 143) are named here but decoded by `mld.ts`.
 */
import { formatIpv6, formatMac, ipv6FromBytes, ipv6ToBytes } from './addr.js';
import { u16, u32, u48, setU16, setU32, setU48, setU8, u8 } from './bytes.js';
import { l4ChecksumV6 } from './checksum.js';
import { checkRange, checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';

/** ICMPv6 message types we name. Unknown values pass through as plain numbers. */
export const Icmpv6Type = {
  DestinationUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParameterProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  /** MLD Multicast Listener Query (RFC 2710, RFC 3810); decoded by `mld.ts`. */
  MldQuery: 130,
  /** MLDv1 Multicast Listener Report; decoded by `mld.ts`. */
  MldReport: 131,
  /** MLDv1 Multicast Listener Done; decoded by `mld.ts`. */
  MldDone: 132,
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
  Redirect: 137,
  /** MLDv2 Multicast Listener Report (RFC 3810); decoded by `mld.ts`. */
  MldV2Report: 143,
} as const;

/** Neighbor Discovery option types we name (RFC 4861 section 4.6, and later RFCs). */
export const NdOptionType = {
  SourceLinkLayerAddress: 1,
  TargetLinkLayerAddress: 2,
  PrefixInformation: 3,
  RedirectedHeader: 4,
  Mtu: 5,
  /** RFC 4191. */
  RouteInformation: 24,
  /** RFC 8106. */
  RecursiveDnsServer: 25,
  /** RFC 8106. */
  DnsSearchList: 31,
} as const;

/** ICMPv6 next-header value in the IPv6 header and pseudo-header. */
export const IPPROTO_ICMPV6 = 58;

/** Byte offsets inside an ICMPv6 message (the fields after `checksum` depend on the type). */
export const Icmpv6Offsets = {
  type: 0,
  code: 1,
  checksum: 2,
  /** Echo identifier. */
  identifier: 4,
  /** Echo sequence number. */
  sequence: 6,
  /** Packet Too Big MTU, Parameter Problem pointer (32 bits). */
  param: 4,
  /** Start of the invoking packet in error messages. */
  invoking: 8,
  /** RA current hop limit. */
  curHopLimit: 4,
  /** RA M/O flags; NA R/S/O flags. */
  flags: 4,
  /** RA router lifetime. */
  routerLifetime: 6,
  /** RA reachable time. */
  reachableTime: 8,
  /** RA retransmission timer. */
  retransTimer: 12,
  /** NS, NA and Redirect target address. */
  target: 8,
  /** Redirect destination address. */
  destination: 24,
} as const;

/** Length of the ICMPv6 header every message has (type, code, checksum, 4 bytes of body). */
export const ICMPV6_HEADER_LEN = 8;
/** Fixed length of a Router Solicitation before its options. */
export const ND_RS_LEN = 8;
/** Fixed length of a Router Advertisement before its options. */
export const ND_RA_LEN = 16;
/** Fixed length of a Neighbor Solicitation before its options. */
export const ND_NS_LEN = 24;
/** Fixed length of a Neighbor Advertisement before its options. */
export const ND_NA_LEN = 24;
/** Fixed length of a Redirect before its options. */
export const ND_REDIRECT_LEN = 40;
/** Length of the Prefix Information option. */
export const ND_PREFIX_OPTION_LEN = 32;

/** RA flag: managed address configuration (M). */
export const RA_FLAG_MANAGED = 0x80;
/** RA flag: other configuration (O). */
export const RA_FLAG_OTHER = 0x40;
/** NA flag: sender is a router (R). */
export const NA_FLAG_ROUTER = 0x80;
/** NA flag: solicited (S). */
export const NA_FLAG_SOLICITED = 0x40;
/** NA flag: override (O). */
export const NA_FLAG_OVERRIDE = 0x20;
/** Prefix Information flag: on-link (L). */
export const PREFIX_FLAG_ON_LINK = 0x80;
/** Prefix Information flag: autonomous address configuration (A). */
export const PREFIX_FLAG_AUTONOMOUS = 0x40;

/** Fixed length before the options of an ND message of `type`, or -1 if `type` is not ND. */
export function ndFixedLen(type: number): number {
  switch (type) {
    case Icmpv6Type.RouterSolicitation:
      return ND_RS_LEN;
    case Icmpv6Type.RouterAdvertisement:
      return ND_RA_LEN;
    case Icmpv6Type.NeighborSolicitation:
      return ND_NS_LEN;
    case Icmpv6Type.NeighborAdvertisement:
      return ND_NA_LEN;
    case Icmpv6Type.Redirect:
      return ND_REDIRECT_LEN;
    default:
      return -1;
  }
}

/**
 * Check the ND options in `[off, end)`: `Ok`, `BadOption` for a zero length, `Truncated` for an
 * option running past `end`. Allocation-free.
 */
export function checkNdOptions(buf: Uint8Array, off: number, end: number): WireErrorCode {
  checkRange('checkNdOptions', buf, off, end, 'off');
  let p = off;
  while (p < end) {
    if (p + 2 > end) return WireErrorCode.Truncated;
    const units = buf[p + 1]!;
    if (units === 0) return WireErrorCode.BadOption;
    p += units * 8;
    if (p > end) return WireErrorCode.Truncated;
  }
  return WireErrorCode.Ok;
}

const EMPTY = new Uint8Array(0);

/**
 * An allocation-free walker over ND options: `reset()` then `while (it.next()) { it.type ... }`.
 * On a malformed option `next()` returns false and `error` holds the code.
 */
export class NdOptionIter {
  buf: Uint8Array = EMPTY;
  /** Offset of the next option. */
  pos = 0;
  /** End of the options area. */
  end = 0;
  /** Type of the current option. */
  type = 0;
  /** Offset of the current option (its type byte). */
  optOff = 0;
  /** Length of the current option in bytes (8 × its length field). */
  optLen = 0;
  /** `Ok`, or why the walk stopped early. */
  error: WireErrorCode = WireErrorCode.Ok;

  /** Walk the options in `buf[off, end)`. */
  reset(buf: Uint8Array, off: number, end: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = end;
    this.type = 0;
    this.optOff = off;
    this.optLen = 0;
    this.error = WireErrorCode.Ok;
    return this;
  }

  /** Advance to the next option; false at the end or on an error. */
  next(): boolean {
    const p = this.pos;
    if (p >= this.end || this.error !== WireErrorCode.Ok) return false;
    if (p + 2 > this.end) {
      this.error = WireErrorCode.Truncated;
      return false;
    }
    const n = this.buf[p + 1]! * 8;
    if (n === 0) {
      this.error = WireErrorCode.BadOption;
      return false;
    }
    if (p + n > this.end) {
      this.error = WireErrorCode.Truncated;
      return false;
    }
    this.type = this.buf[p]!;
    this.optOff = p;
    this.optLen = n;
    this.pos = p + n;
    return true;
  }

  /** For a link-layer address option of length 8: the MAC as a 48-bit number. */
  get mac(): number {
    return u48(this.buf, this.optOff + 2);
  }
}

/** A reusable view over an ICMPv6 message; call `check()` before `reset()`. */
export class Icmpv6View {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /**
   * `Ok` if `len` bytes at `off` hold the header and, for ND messages, the fixed part and
   * well-formed options.
   */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('Icmpv6View.check', buf, off, len);
    if (len < ICMPV6_HEADER_LEN) return WireErrorCode.Truncated;
    const fixed = ndFixedLen(buf[off]!);
    if (fixed < 0) return WireErrorCode.Ok;
    if (len < fixed) return WireErrorCode.Truncated;
    return checkNdOptions(buf, off + fixed, off + len);
  }

  /** Point the view at a message (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Message type. */
  get type(): number {
    return u8(this.buf, this.off);
  }
  set type(v: number) {
    setU8(this.buf, this.off, v);
  }
  /** Message code. */
  get code(): number {
    return u8(this.buf, this.off + Icmpv6Offsets.code);
  }
  set code(v: number) {
    setU8(this.buf, this.off + Icmpv6Offsets.code, v);
  }
  /** Checksum as stored. */
  get checksum(): number {
    return u16(this.buf, this.off + Icmpv6Offsets.checksum);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + Icmpv6Offsets.checksum, v);
  }
  /** Echo identifier. */
  get identifier(): number {
    return u16(this.buf, this.off + Icmpv6Offsets.identifier);
  }
  set identifier(v: number) {
    setU16(this.buf, this.off + Icmpv6Offsets.identifier, v);
  }
  /** Echo sequence number. */
  get sequence(): number {
    return u16(this.buf, this.off + Icmpv6Offsets.sequence);
  }
  set sequence(v: number) {
    setU16(this.buf, this.off + Icmpv6Offsets.sequence, v);
  }
  /** The 32-bit word after the checksum: MTU (Packet Too Big), pointer (Parameter Problem). */
  get param(): number {
    return u32(this.buf, this.off + Icmpv6Offsets.param);
  }
  set param(v: number) {
    setU32(this.buf, this.off + Icmpv6Offsets.param, v);
  }
  /** Packet Too Big: the next-hop MTU. */
  get mtu(): number {
    return this.param;
  }
  set mtu(v: number) {
    this.param = v;
  }
  /** Parameter Problem: offset of the erroneous octet in the invoking packet. */
  get pointer(): number {
    return this.param;
  }
  set pointer(v: number) {
    this.param = v;
  }
  /** Error messages: offset in `buf` of the invoking packet (as much as fits). */
  get invokingOffset(): number {
    return this.off + Icmpv6Offsets.invoking;
  }
  /** RA: current hop limit. */
  get curHopLimit(): number {
    return u8(this.buf, this.off + Icmpv6Offsets.curHopLimit);
  }
  set curHopLimit(v: number) {
    setU8(this.buf, this.off + Icmpv6Offsets.curHopLimit, v);
  }
  /** RA flags byte (M, O, ...). */
  get raFlags(): number {
    return u8(this.buf, this.off + 5);
  }
  set raFlags(v: number) {
    setU8(this.buf, this.off + 5, v);
  }
  /** RA: managed address configuration flag. */
  get managed(): boolean {
    return (this.raFlags & RA_FLAG_MANAGED) !== 0;
  }
  /** RA: other configuration flag. */
  get otherConfig(): boolean {
    return (this.raFlags & RA_FLAG_OTHER) !== 0;
  }
  /** RA: router lifetime in seconds. */
  get routerLifetime(): number {
    return u16(this.buf, this.off + Icmpv6Offsets.routerLifetime);
  }
  set routerLifetime(v: number) {
    setU16(this.buf, this.off + Icmpv6Offsets.routerLifetime, v);
  }
  /** RA: reachable time in milliseconds. */
  get reachableTime(): number {
    return u32(this.buf, this.off + Icmpv6Offsets.reachableTime);
  }
  set reachableTime(v: number) {
    setU32(this.buf, this.off + Icmpv6Offsets.reachableTime, v);
  }
  /** RA: retransmission timer in milliseconds. */
  get retransTimer(): number {
    return u32(this.buf, this.off + Icmpv6Offsets.retransTimer);
  }
  set retransTimer(v: number) {
    setU32(this.buf, this.off + Icmpv6Offsets.retransTimer, v);
  }
  /** NA flags byte (R, S, O in the top bits). */
  get naFlags(): number {
    return u8(this.buf, this.off + Icmpv6Offsets.flags);
  }
  set naFlags(v: number) {
    setU8(this.buf, this.off + Icmpv6Offsets.flags, v);
  }
  /** NA: router flag. */
  get router(): boolean {
    return (this.naFlags & NA_FLAG_ROUTER) !== 0;
  }
  /** NA: solicited flag. */
  get solicited(): boolean {
    return (this.naFlags & NA_FLAG_SOLICITED) !== 0;
  }
  /** NA: override flag. */
  get override(): boolean {
    return (this.naFlags & NA_FLAG_OVERRIDE) !== 0;
  }
  /** NS/NA/Redirect: offset in `buf` of the 16-byte target address. */
  get targetOffset(): number {
    return this.off + Icmpv6Offsets.target;
  }
  /** Redirect: offset in `buf` of the 16-byte destination address. */
  get destinationOffset(): number {
    return this.off + Icmpv6Offsets.destination;
  }
  /** NS/NA/Redirect: the target address (allocates a bigint: control plane only). */
  get target(): bigint {
    return ipv6FromBytes(this.buf, this.targetOffset);
  }
  set target(a: bigint) {
    ipv6ToBytes(a, this.buf, this.targetOffset);
  }
  /** Redirect: the destination address (allocates a bigint: control plane only). */
  get destination(): bigint {
    return ipv6FromBytes(this.buf, this.destinationOffset);
  }
  set destination(a: bigint) {
    ipv6ToBytes(a, this.buf, this.destinationOffset);
  }
  /** ND messages: offset in `buf` of the first option (-1 for other types). */
  get optionsOffset(): number {
    const f = ndFixedLen(this.type);
    return f < 0 ? -1 : this.off + f;
  }
  /** Offset of the end of the message in `buf`. */
  get end(): number {
    return this.off + this.len;
  }
  /** Start walking the ND options with `it` (no allocation). */
  options(it: NdOptionIter): NdOptionIter {
    const o = this.optionsOffset;
    return o < 0 ? it.reset(this.buf, this.end, this.end) : it.reset(this.buf, o, this.end);
  }
}

/** Fill the ICMPv6 checksum of the message at `icmpOff` (length `icmpLen`) inside the IPv6 packet at `ip6Off`. */
export function fillIcmpv6Checksum(buf: Uint8Array, icmpOff: number, icmpLen: number, ip6Off: number): number {
  setU16(buf, icmpOff + Icmpv6Offsets.checksum, 0);
  const c = l4ChecksumV6(buf, icmpOff, icmpLen, IPPROTO_ICMPV6, ip6Off);
  setU16(buf, icmpOff + Icmpv6Offsets.checksum, c);
  return c;
}

/** True if the ICMPv6 message at `icmpOff` carries a correct checksum for the IPv6 header at `ip6Off`. */
export function verifyIcmpv6Checksum(buf: Uint8Array, icmpOff: number, icmpLen: number, ip6Off: number): boolean {
  return l4ChecksumV6(buf, icmpOff, icmpLen, IPPROTO_ICMPV6, ip6Off) === 0;
}

/** A decoded Neighbor Discovery option. */
export type NdOption =
  | { kind: 'sourceLinkLayerAddress'; mac: number }
  | { kind: 'targetLinkLayerAddress'; mac: number }
  | {
      kind: 'prefixInformation';
      prefixLength: number;
      onLink: boolean;
      autonomous: boolean;
      /** The six reserved flag bits (RFC 4861 "Reserved1"), kept for round trips. */
      reservedFlags: number;
      validLifetime: number;
      preferredLifetime: number;
      prefix: bigint;
    }
  | { kind: 'mtu'; mtu: number }
  /** Any other option: `data` is everything after type and length (8n − 2 bytes). */
  | { kind: 'raw'; type: number; data: Uint8Array };

/** A plain ICMPv6 message. `checksum` is not part of it: it depends on the IPv6 header. */
export type Icmpv6Repr =
  | {
      kind: 'error';
      /** 1 (Destination Unreachable), 2 (Packet Too Big), 3 (Time Exceeded), 4 (Parameter Problem). */
      type: number;
      code: number;
      /** MTU for Packet Too Big, pointer for Parameter Problem, the unused word (0) otherwise. */
      param: number;
      /** As much of the invoking packet as the message carries. */
      invoking: Uint8Array;
    }
  | { kind: 'echo'; type: number; code: number; identifier: number; sequence: number; data: Uint8Array }
  | { kind: 'routerSolicitation'; code: number; options: NdOption[] }
  | {
      kind: 'routerAdvertisement';
      code: number;
      curHopLimit: number;
      managed: boolean;
      otherConfig: boolean;
      /** The six other flag bits (home agent, preference, proxy), kept for round trips. */
      reservedFlags: number;
      routerLifetime: number;
      reachableTime: number;
      retransTimer: number;
      options: NdOption[];
    }
  | { kind: 'neighborSolicitation'; code: number; target: bigint; options: NdOption[] }
  | {
      kind: 'neighborAdvertisement';
      code: number;
      router: boolean;
      solicited: boolean;
      override: boolean;
      target: bigint;
      options: NdOption[];
    }
  | { kind: 'redirect'; code: number; target: bigint; destination: bigint; options: NdOption[] }
  /** Any other type (including MLD, which `mld.ts` decodes): the bytes after the checksum. */
  | { kind: 'raw'; type: number; code: number; body: Uint8Array };

const view = new Icmpv6View();
const iter = new NdOptionIter();

function parseNdOptions(buf: Uint8Array, it: NdOptionIter): Result<NdOption[]> {
  const out: NdOption[] = [];
  while (it.next()) {
    const o = it.optOff;
    const t = it.type;
    if ((t === NdOptionType.SourceLinkLayerAddress || t === NdOptionType.TargetLinkLayerAddress) && it.optLen === 8) {
      out.push({ kind: t === 1 ? 'sourceLinkLayerAddress' : 'targetLinkLayerAddress', mac: it.mac });
    } else if (t === NdOptionType.PrefixInformation) {
      if (it.optLen !== ND_PREFIX_OPTION_LEN) return fail('icmpv6', WireErrorCode.BadOption, o, 'prefix information length');
      const f = buf[o + 3]!;
      out.push({
        kind: 'prefixInformation',
        prefixLength: buf[o + 2]!,
        onLink: (f & PREFIX_FLAG_ON_LINK) !== 0,
        autonomous: (f & PREFIX_FLAG_AUTONOMOUS) !== 0,
        reservedFlags: f & 0x3f,
        validLifetime: u32(buf, o + 4),
        preferredLifetime: u32(buf, o + 8),
        prefix: ipv6FromBytes(buf, o + 16),
      });
    } else if (t === NdOptionType.Mtu) {
      if (it.optLen !== 8) return fail('icmpv6', WireErrorCode.BadOption, o, 'MTU option length');
      out.push({ kind: 'mtu', mtu: u32(buf, o + 4) });
    } else {
      out.push({ kind: 'raw', type: t, data: buf.slice(o + 2, o + it.optLen) });
    }
  }
  if (it.error !== WireErrorCode.Ok) return fail('icmpv6', it.error, it.pos, 'ND option');
  return ok(out);
}

/** Parse an ICMPv6 message from `len` bytes at `off` (the checksum is not verified: see `verifyIcmpv6Checksum`). */
export function parseIcmpv6(buf: Uint8Array, off = 0, len?: number): Result<Icmpv6Repr> {
  len = checkSpan('parseIcmpv6', buf, off, len);
  const code = Icmpv6View.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('icmpv6', code, off);
  const v = view.reset(buf, off, len);
  const type = v.type;
  const c = v.code;
  const end = off + len;
  if (type >= 1 && type <= 4) {
    return ok({ kind: 'error', type, code: c, param: v.param, invoking: buf.slice(off + 8, end) });
  }
  if (type === Icmpv6Type.EchoRequest || type === Icmpv6Type.EchoReply) {
    return ok({ kind: 'echo', type, code: c, identifier: v.identifier, sequence: v.sequence, data: buf.slice(off + 8, end) });
  }
  if (ndFixedLen(type) < 0) return ok({ kind: 'raw', type, code: c, body: buf.slice(off + 4, end) });
  const opts = parseNdOptions(buf, v.options(iter));
  if (!opts.ok) return opts;
  const options = opts.value;
  switch (type) {
    case Icmpv6Type.RouterSolicitation:
      return ok({ kind: 'routerSolicitation', code: c, options });
    case Icmpv6Type.RouterAdvertisement: {
      const f = v.raFlags;
      return ok({
        kind: 'routerAdvertisement',
        code: c,
        curHopLimit: v.curHopLimit,
        managed: (f & RA_FLAG_MANAGED) !== 0,
        otherConfig: (f & RA_FLAG_OTHER) !== 0,
        reservedFlags: f & 0x3f,
        routerLifetime: v.routerLifetime,
        reachableTime: v.reachableTime,
        retransTimer: v.retransTimer,
        options,
      });
    }
    case Icmpv6Type.NeighborSolicitation:
      return ok({ kind: 'neighborSolicitation', code: c, target: v.target, options });
    case Icmpv6Type.NeighborAdvertisement:
      return ok({
        kind: 'neighborAdvertisement',
        code: c,
        router: v.router,
        solicited: v.solicited,
        override: v.override,
        target: v.target,
        options,
      });
    default:
      return ok({ kind: 'redirect', code: c, target: v.target, destination: v.destination, options });
  }
}

function ndOptionLen(o: NdOption): number {
  switch (o.kind) {
    case 'sourceLinkLayerAddress':
    case 'targetLinkLayerAddress':
    case 'mtu':
      return 8;
    case 'prefixInformation':
      return ND_PREFIX_OPTION_LEN;
    case 'raw':
      return (Math.ceil((o.data.length + 2) / 8) || 1) * 8;
  }
}

function ndOptionsLen(opts: NdOption[]): number {
  let n = 0;
  for (const o of opts) n += ndOptionLen(o);
  return n;
}

/** Bytes `emitIcmpv6` writes. Raw ND option data is padded with zeros to a multiple of 8 octets. */
export function icmpv6Len(r: Icmpv6Repr): number {
  switch (r.kind) {
    case 'error':
      return 8 + r.invoking.length;
    case 'echo':
      return 8 + r.data.length;
    case 'raw':
      return 4 + r.body.length;
    case 'routerSolicitation':
      return ND_RS_LEN + ndOptionsLen(r.options);
    case 'routerAdvertisement':
      return ND_RA_LEN + ndOptionsLen(r.options);
    case 'neighborSolicitation':
      return ND_NS_LEN + ndOptionsLen(r.options);
    case 'neighborAdvertisement':
      return ND_NA_LEN + ndOptionsLen(r.options);
    case 'redirect':
      return ND_REDIRECT_LEN + ndOptionsLen(r.options);
  }
}

/** The ICMPv6 type of a Repr. */
export function icmpv6TypeOf(r: Icmpv6Repr): number {
  switch (r.kind) {
    case 'error':
    case 'echo':
    case 'raw':
      return r.type;
    case 'routerSolicitation':
      return Icmpv6Type.RouterSolicitation;
    case 'routerAdvertisement':
      return Icmpv6Type.RouterAdvertisement;
    case 'neighborSolicitation':
      return Icmpv6Type.NeighborSolicitation;
    case 'neighborAdvertisement':
      return Icmpv6Type.NeighborAdvertisement;
    case 'redirect':
      return Icmpv6Type.Redirect;
  }
}

function emitNdOptions(opts: NdOption[], buf: Uint8Array, off: number): number {
  let p = off;
  for (const o of opts) {
    const n = ndOptionLen(o);
    buf.fill(0, p, p + n);
    buf[p + 1] = n / 8;
    switch (o.kind) {
      case 'sourceLinkLayerAddress':
      case 'targetLinkLayerAddress':
        buf[p] = o.kind === 'sourceLinkLayerAddress' ? 1 : 2;
        setU48(buf, p + 2, o.mac);
        break;
      case 'mtu':
        buf[p] = NdOptionType.Mtu;
        setU32(buf, p + 4, o.mtu);
        break;
      case 'prefixInformation':
        buf[p] = NdOptionType.PrefixInformation;
        buf[p + 2] = o.prefixLength;
        buf[p + 3] = (o.onLink ? PREFIX_FLAG_ON_LINK : 0) | (o.autonomous ? PREFIX_FLAG_AUTONOMOUS : 0) | (o.reservedFlags & 0x3f);
        setU32(buf, p + 4, o.validLifetime);
        setU32(buf, p + 8, o.preferredLifetime);
        ipv6ToBytes(o.prefix, buf, p + 16);
        break;
      case 'raw':
        buf[p] = o.type;
        buf.set(o.data, p + 2);
        break;
    }
    p += n;
  }
  return p - off;
}

/**
 * Write the message at `off`; returns the number of bytes written. The checksum is left zero,
 * unless `ip6Off` gives the offset in `buf` of an IPv6 header already in place (then filled).
 */
export function emitIcmpv6(r: Icmpv6Repr, buf: Uint8Array, off = 0, ip6Off?: number): number {
  const n = icmpv6Len(r);
  needRoom('icmpv6', buf, off, n);
  buf.fill(0, off, off + Math.min(n, ND_REDIRECT_LEN));
  const v = view.reset(buf, off, n);
  v.type = icmpv6TypeOf(r);
  v.code = r.code;
  switch (r.kind) {
    case 'error':
      v.param = r.param;
      buf.set(r.invoking, off + 8);
      break;
    case 'echo':
      v.identifier = r.identifier;
      v.sequence = r.sequence;
      buf.set(r.data, off + 8);
      break;
    case 'raw':
      buf.set(r.body, off + 4);
      break;
    case 'routerSolicitation':
      emitNdOptions(r.options, buf, off + ND_RS_LEN);
      break;
    case 'routerAdvertisement':
      v.curHopLimit = r.curHopLimit;
      v.raFlags = (r.managed ? RA_FLAG_MANAGED : 0) | (r.otherConfig ? RA_FLAG_OTHER : 0) | (r.reservedFlags & 0x3f);
      v.routerLifetime = r.routerLifetime;
      v.reachableTime = r.reachableTime;
      v.retransTimer = r.retransTimer;
      emitNdOptions(r.options, buf, off + ND_RA_LEN);
      break;
    case 'neighborSolicitation':
      v.target = r.target;
      emitNdOptions(r.options, buf, off + ND_NS_LEN);
      break;
    case 'neighborAdvertisement':
      v.naFlags = (r.router ? NA_FLAG_ROUTER : 0) | (r.solicited ? NA_FLAG_SOLICITED : 0) | (r.override ? NA_FLAG_OVERRIDE : 0);
      v.target = r.target;
      emitNdOptions(r.options, buf, off + ND_NA_LEN);
      break;
    case 'redirect':
      v.target = r.target;
      v.destination = r.destination;
      emitNdOptions(r.options, buf, off + ND_REDIRECT_LEN);
      break;
  }
  if (ip6Off !== undefined) fillIcmpv6Checksum(buf, off, n, ip6Off);
  return n;
}

const unreachCodes: Record<number, string> = {
  0: 'no route to destination',
  1: 'communication with destination administratively prohibited',
  2: 'beyond scope of source address',
  3: 'address unreachable',
  4: 'Port unreachable',
  5: 'source address failed ingress/egress policy',
  6: 'reject route to destination',
};
const timeCodes: Record<number, string> = { 0: 'hop limit exceeded in transit', 1: 'fragment reassembly time exceeded' };
const paramCodes: Record<number, string> = {
  0: 'erroneous header field encountered',
  1: 'unrecognized Next Header type encountered',
  2: 'unrecognized IPv6 option encountered',
};
const rawNames: Record<number, string> = {
  130: 'Multicast Listener Query',
  131: 'Multicast Listener Report',
  132: 'Multicast Listener Done',
  143: 'Multicast Listener Report Message v2',
};

function lla(opts: NdOption[], kind: 'sourceLinkLayerAddress' | 'targetLinkLayerAddress'): number | undefined {
  for (const o of opts) if (o.kind === kind) return o.mac;
  return undefined;
}

/** One-line summary, as tshark prints it. */
export function formatIcmpv6(r: Icmpv6Repr): string {
  switch (r.kind) {
    case 'error': {
      const table = r.type === 1 ? unreachCodes : r.type === 3 ? timeCodes : r.type === 4 ? paramCodes : undefined;
      const name = ['', 'Destination Unreachable', 'Packet Too Big', 'Time Exceeded', 'Parameter Problem'][r.type] ?? `Type ${r.type}`;
      if (r.type === 2) return 'Packet Too Big';
      const detail = table?.[r.code] ?? `code ${r.code}`;
      return r.type === 4 ? `${name} (${detail}) pointer=${r.param}` : `${name} (${detail})`;
    }
    case 'echo': {
      const what = r.type === Icmpv6Type.EchoRequest ? 'request' : 'reply';
      return `Echo (ping) ${what} id=0x${r.identifier.toString(16).padStart(4, '0')}, seq=${r.sequence}`;
    }
    case 'routerSolicitation': {
      const m = lla(r.options, 'sourceLinkLayerAddress');
      return `Router Solicitation${m === undefined ? '' : ` from ${formatMac(m)}`}`;
    }
    case 'routerAdvertisement': {
      const m = lla(r.options, 'sourceLinkLayerAddress');
      return `Router Advertisement${m === undefined ? '' : ` from ${formatMac(m)}`}`;
    }
    case 'neighborSolicitation': {
      const m = lla(r.options, 'sourceLinkLayerAddress');
      return `Neighbor Solicitation for ${formatIpv6(r.target)}${m === undefined ? '' : ` from ${formatMac(m)}`}`;
    }
    case 'neighborAdvertisement': {
      const flags = [r.router ? 'rtr' : '', r.solicited ? 'sol' : '', r.override ? 'ovr' : ''].filter(Boolean).join(', ');
      const m = lla(r.options, 'targetLinkLayerAddress');
      return `Neighbor Advertisement ${formatIpv6(r.target)}${flags ? ` (${flags})` : ''}${m === undefined ? '' : ` is at ${formatMac(m)}`}`;
    }
    case 'redirect': {
      const m = lla(r.options, 'targetLinkLayerAddress');
      return `Redirect${m === undefined ? '' : ` is at ${formatMac(m)}`}`;
    }
    case 'raw':
      return rawNames[r.type] ?? `Unknown ICMPv6 type ${r.type} code ${r.code}`;
  }
}
