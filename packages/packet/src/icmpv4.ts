/**
 * ICMP for IPv4 (RFC 792). Every message has type, code, checksum and a 4-byte rest-of-header
 * whose meaning depends on the type (identifier and sequence number for echo and timestamp,
 * next-hop MTU for "fragmentation needed", a pointer for parameter problems, a gateway for
 * redirects). Error messages quote the offending datagram after the 8-byte header. The checksum
 * covers the whole message, so the `Repr` carries the message body and the emitter fills it in.
 */
import { formatIpv4 } from './addr.js';
import { u8, u16, u32, setU8, setU16, setU32 } from './bytes.js';
import { internetChecksum } from './checksum.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';

/** ICMPv4 message types we name. */
export const Icmpv4Type = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  SourceQuench: 4,
  Redirect: 5,
  EchoRequest: 8,
  RouterAdvertisement: 9,
  RouterSolicitation: 10,
  TimeExceeded: 11,
  ParameterProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
  InformationRequest: 15,
  InformationReply: 16,
  AddressMaskRequest: 17,
  AddressMaskReply: 18,
} as const;

/** Codes of Destination Unreachable (type 3). */
export const Icmpv4UnreachableCode = {
  NetUnreachable: 0,
  HostUnreachable: 1,
  ProtocolUnreachable: 2,
  PortUnreachable: 3,
  FragmentationNeeded: 4,
  SourceRouteFailed: 5,
  NetUnknown: 6,
  HostUnknown: 7,
  SourceHostIsolated: 8,
  NetProhibited: 9,
  HostProhibited: 10,
  NetUnreachableForTos: 11,
  HostUnreachableForTos: 12,
  CommunicationProhibited: 13,
  HostPrecedenceViolation: 14,
  PrecedenceCutoff: 15,
} as const;

/** Codes of Time Exceeded (type 11). */
export const Icmpv4TimeExceededCode = { TtlExceeded: 0, FragmentReassembly: 1 } as const;

/** Byte offsets inside an ICMPv4 message. */
export const Icmpv4Offsets = {
  type: 0,
  code: 1,
  checksum: 2,
  restOfHeader: 4,
  ident: 4,
  seq: 6,
  pointer: 4,
  gateway: 4,
  nextHopMtu: 6,
  data: 8,
} as const;
/** Length of the ICMPv4 header (type, code, checksum, rest of header). */
export const ICMPV4_HEADER_LEN = 8;

/** True for the types that quote an offending datagram (unreachable, quench, redirect, time exceeded, parameter problem). */
export function isIcmpv4Error(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

const EMPTY = new Uint8Array(0);

/** A reusable view over an ICMPv4 message; `len` is the whole message. */
export class Icmpv4View {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `Ok` if the 8-byte header is present. */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('Icmpv4View.check', buf, off, len);
    return len < ICMPV4_HEADER_LEN ? WireErrorCode.Truncated : WireErrorCode.Ok;
  }

  /** Point the view at a new message (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Message type (see `Icmpv4Type`). */
  get type(): number {
    return u8(this.buf, this.off + Icmpv4Offsets.type);
  }
  set type(v: number) {
    setU8(this.buf, this.off + Icmpv4Offsets.type, v);
  }
  /** Message code. */
  get code(): number {
    return u8(this.buf, this.off + Icmpv4Offsets.code);
  }
  set code(v: number) {
    setU8(this.buf, this.off + Icmpv4Offsets.code, v);
  }
  /** Checksum as stored. */
  get checksum(): number {
    return u16(this.buf, this.off + Icmpv4Offsets.checksum);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + Icmpv4Offsets.checksum, v);
  }
  /** The 4-byte rest of header as one number. */
  get restOfHeader(): number {
    return u32(this.buf, this.off + Icmpv4Offsets.restOfHeader);
  }
  set restOfHeader(v: number) {
    setU32(this.buf, this.off + Icmpv4Offsets.restOfHeader, v);
  }
  /** Echo/timestamp identifier. */
  get ident(): number {
    return u16(this.buf, this.off + Icmpv4Offsets.ident);
  }
  set ident(v: number) {
    setU16(this.buf, this.off + Icmpv4Offsets.ident, v);
  }
  /** Echo/timestamp sequence number. */
  get seq(): number {
    return u16(this.buf, this.off + Icmpv4Offsets.seq);
  }
  set seq(v: number) {
    setU16(this.buf, this.off + Icmpv4Offsets.seq, v);
  }
  /** Next-hop MTU of "fragmentation needed" (RFC 1191). */
  get nextHopMtu(): number {
    return u16(this.buf, this.off + Icmpv4Offsets.nextHopMtu);
  }
  set nextHopMtu(v: number) {
    setU16(this.buf, this.off + Icmpv4Offsets.nextHopMtu, v);
  }
  /** Parameter problem pointer. */
  get pointer(): number {
    return u8(this.buf, this.off + Icmpv4Offsets.pointer);
  }
  /** Redirect gateway address. */
  get gateway(): number {
    return u32(this.buf, this.off + Icmpv4Offsets.gateway);
  }
  /** True if the message is an error that quotes a datagram. */
  get isError(): boolean {
    return isIcmpv4Error(this.type);
  }
  /** Offset of the body (echo data, or the quoted datagram of an error) in `buf`. */
  get dataOffset(): number {
    return this.off + ICMPV4_HEADER_LEN;
  }
  /** Length of the body. */
  get dataLength(): number {
    return this.len - ICMPV4_HEADER_LEN;
  }
  /** Offset of the quoted datagram for an error message, -1 for other types. */
  get quotedOffset(): number {
    return this.isError ? this.off + ICMPV4_HEADER_LEN : -1;
  }
  /** True if the checksum over the whole message verifies. */
  checksumValid(): boolean {
    return internetChecksum(this.buf, this.off, this.len) === 0;
  }
  /** Compute and store the checksum over the whole message. */
  fillChecksum(): void {
    setU16(this.buf, this.off + Icmpv4Offsets.checksum, 0);
    setU16(this.buf, this.off + Icmpv4Offsets.checksum, internetChecksum(this.buf, this.off, this.len));
  }
}

/** A plain ICMPv4 message; the emitter computes the checksum. */
export interface Icmpv4Repr {
  type: number;
  code: number;
  /** The 4-byte rest of header (e.g. `ident << 16 | seq` for echo). */
  restOfHeader: number;
  /** Everything after the 8-byte header (echo data, or the quoted datagram). */
  data: Uint8Array;
}

const view = new Icmpv4View();

/** Parse an ICMPv4 message (body copied) from `len` bytes at `off`; the checksum is not verified. */
export function parseIcmpv4(buf: Uint8Array, off = 0, len?: number): Result<Icmpv4Repr> {
  len = checkSpan('parseIcmpv4', buf, off, len);
  const code = Icmpv4View.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('icmp', code, off);
  const v = view.reset(buf, off, len);
  return ok({ type: v.type, code: v.code, restOfHeader: v.restOfHeader, data: buf.slice(v.dataOffset, off + len) });
}

/** Bytes `emitIcmpv4` writes. */
export function icmpv4Len(r: Icmpv4Repr): number {
  return ICMPV4_HEADER_LEN + r.data.length;
}

/** Write the message with its checksum at `off`; returns the bytes written. */
export function emitIcmpv4(r: Icmpv4Repr, buf: Uint8Array, off = 0): number {
  const n = icmpv4Len(r);
  needRoom('icmp', buf, off, n);
  const v = view.reset(buf, off, n);
  v.type = r.type;
  v.code = r.code;
  v.restOfHeader = r.restOfHeader;
  buf.set(r.data, off + ICMPV4_HEADER_LEN);
  v.fillChecksum();
  return n;
}

const typeNames: Record<number, string> = {
  0: 'Echo (ping) reply',
  3: 'Destination unreachable',
  4: 'Source quench (flow control)',
  5: 'Redirect',
  8: 'Echo (ping) request',
  9: 'Router advertisement',
  10: 'Router solicitation',
  11: 'Time-to-live exceeded',
  12: 'Parameter problem',
  13: 'Timestamp request',
  14: 'Timestamp reply',
  17: 'Address mask request',
  18: 'Address mask reply',
};

/** One-line summary, as tshark prints it. */
export function formatIcmpv4(r: Icmpv4Repr): string {
  const name = typeNames[r.type] ?? 'Unknown ICMP';
  let s = `Internet Control Message Protocol, Type: ${r.type} (${name}), Code: ${r.code}`;
  if (r.type === 0 || r.type === 8 || r.type === 13 || r.type === 14) {
    const id = r.restOfHeader >>> 16;
    s += `, id=0x${id.toString(16).padStart(4, '0')}, seq=${r.restOfHeader & 0xffff}`;
  } else if (r.type === 3 && r.code === 4) {
    s += `, MTU of next hop: ${r.restOfHeader & 0xffff}`;
  } else if (r.type === 5) {
    s += `, Gateway: ${formatIpv4(r.restOfHeader >>> 0)}`;
  }
  return s;
}
