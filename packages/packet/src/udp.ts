/**
 * UDP (RFC 768). The header is written verbatim from its `Repr`, length and checksum included,
 * because both depend on the payload and the IP header around it; `fillUdpChecksumV4/V6`
 * compute the checksum in place afterwards. The checksum covers the span the UDP length field
 * declares (Ethernet padding excluded). RFC 768: "If the computed checksum is zero, it is
 * transmitted as all ones", and over IPv4 a transmitted zero means "no checksum". Over IPv6
 * (RFC 8200 section 8.1) a zero checksum is invalid. The IPv6 helpers take the pseudo-header's
 * destination from the IPv6 header; RFC 8200 section 8.1 wants the final destination when a
 * Routing header with segments left is present, which a caller must handle itself for now.
 */
import { u16, setU16 } from './bytes.js';
import { l4ChecksumV4, l4ChecksumV6 } from './checksum.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';
import { IpProtocol, ReprError } from './ipv4.js';

/** Byte offsets inside a UDP header. */
export const UdpOffsets = { srcPort: 0, dstPort: 2, length: 4, checksum: 6 } as const;
/** Length of a UDP header. */
export const UDP_HEADER_LEN = 8;

const EMPTY = new Uint8Array(0);

/** A reusable view over a UDP datagram; call `check()` before `reset()`. */
export class UdpView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `Ok` if the header and the length it declares are present; `BadLength` if length < 8. */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('UdpView.check', buf, off, len);
    if (len < UDP_HEADER_LEN) return WireErrorCode.Truncated;
    const l = u16(buf, off + UdpOffsets.length);
    if (l < UDP_HEADER_LEN) return WireErrorCode.BadLength;
    if (l > len) return WireErrorCode.Truncated;
    return WireErrorCode.Ok;
  }

  /** Point the view at a new datagram (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Source port. */
  get srcPort(): number {
    return u16(this.buf, this.off + UdpOffsets.srcPort);
  }
  set srcPort(v: number) {
    setU16(this.buf, this.off + UdpOffsets.srcPort, v);
  }
  /** Destination port. */
  get dstPort(): number {
    return u16(this.buf, this.off + UdpOffsets.dstPort);
  }
  set dstPort(v: number) {
    setU16(this.buf, this.off + UdpOffsets.dstPort, v);
  }
  /** Length of header and payload. */
  get length(): number {
    return u16(this.buf, this.off + UdpOffsets.length);
  }
  set length(v: number) {
    setU16(this.buf, this.off + UdpOffsets.length, v);
  }
  /** Checksum as stored (0 = none, over IPv4). */
  get checksum(): number {
    return u16(this.buf, this.off + UdpOffsets.checksum);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + UdpOffsets.checksum, v);
  }
  /** Offset of the payload in `buf`. */
  get payloadOffset(): number {
    return this.off + UDP_HEADER_LEN;
  }
  /** Payload length by the length field. */
  get payloadLength(): number {
    return this.length - UDP_HEADER_LEN;
  }
}

/** A plain UDP header; written verbatim. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
}

const view = new UdpView();

/** Parse a UDP header from `len` bytes at `off` (the length field's span must be present). */
export function parseUdp(buf: Uint8Array, off = 0, len?: number): Result<UdpRepr> {
  len = checkSpan('parseUdp', buf, off, len);
  const code = UdpView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('udp', code, off);
  const v = view.reset(buf, off, len);
  return ok({ srcPort: v.srcPort, dstPort: v.dstPort, length: v.length, checksum: v.checksum });
}

/** Bytes `emitUdp` writes. */
export function udpLen(_r: UdpRepr): number {
  return UDP_HEADER_LEN;
}

/** Write the 8-byte header verbatim at `off`; returns the bytes written. */
export function emitUdp(r: UdpRepr, buf: Uint8Array, off = 0): number {
  needRoom('udp', buf, off, UDP_HEADER_LEN);
  setU16(buf, off + UdpOffsets.srcPort, r.srcPort);
  setU16(buf, off + UdpOffsets.dstPort, r.dstPort);
  setU16(buf, off + UdpOffsets.length, r.length);
  setU16(buf, off + UdpOffsets.checksum, r.checksum);
  return UDP_HEADER_LEN;
}

/** One-line summary, as tshark prints it. */
export function formatUdp(r: UdpRepr): string {
  return `User Datagram Protocol, Src Port: ${r.srcPort}, Dst Port: ${r.dstPort}`;
}

function span(buf: Uint8Array, udpOff: number): number {
  if (udpOff < 0 || udpOff + UDP_HEADER_LEN > buf.length) return -1;
  const l = u16(buf, udpOff + UdpOffsets.length);
  return l < UDP_HEADER_LEN || udpOff + l > buf.length ? -1 : l;
}

function store(buf: Uint8Array, udpOff: number, c: number): number {
  const v = c === 0 ? 0xffff : c;
  setU16(buf, udpOff + UdpOffsets.checksum, v);
  return v;
}

/** Compute and store (0 sent as 0xffff) the checksum of the UDP datagram at `udpOff` over IPv4; returns it. */
export function fillUdpChecksumV4(buf: Uint8Array, udpOff: number, srcIp: number, dstIp: number): number {
  const l = span(buf, udpOff);
  if (l < 0) throw new ReprError('udp', `no whole datagram (by its length field) at offset ${udpOff}`);
  setU16(buf, udpOff + UdpOffsets.checksum, 0);
  return store(buf, udpOff, l4ChecksumV4(buf, udpOff, l, IpProtocol.UDP, srcIp, dstIp));
}

/** Compute and store the checksum over IPv6 (addresses from the IPv6 header at `ip6Off`); returns it. */
export function fillUdpChecksumV6(buf: Uint8Array, udpOff: number, ip6Off: number): number {
  const l = span(buf, udpOff);
  if (ip6Off < 0 || ip6Off + 40 > buf.length) throw new ReprError('udp', `no IPv6 header at offset ${ip6Off}`);
  if (l < 0) throw new ReprError('udp', `no whole datagram (by its length field) at offset ${udpOff}`);
  setU16(buf, udpOff + UdpOffsets.checksum, 0);
  return store(buf, udpOff, l4ChecksumV6(buf, udpOff, l, IpProtocol.UDP, ip6Off));
}

/** True if the checksum verifies over IPv4, or is 0 ("no checksum"); false if bytes are missing. */
export function verifyUdpChecksumV4(buf: Uint8Array, udpOff: number, srcIp: number, dstIp: number): boolean {
  const l = span(buf, udpOff);
  if (l < 0) return false;
  if (u16(buf, udpOff + UdpOffsets.checksum) === 0) return true;
  return l4ChecksumV4(buf, udpOff, l, IpProtocol.UDP, srcIp, dstIp) === 0;
}

/** True if the checksum verifies over IPv6; a zero checksum is invalid there (RFC 8200). */
export function verifyUdpChecksumV6(buf: Uint8Array, udpOff: number, ip6Off: number): boolean {
  const l = span(buf, udpOff);
  if (l < 0 || ip6Off < 0 || ip6Off + 40 > buf.length) return false;
  if (u16(buf, udpOff + UdpOffsets.checksum) === 0) return false;
  return l4ChecksumV6(buf, udpOff, l, IpProtocol.UDP, ip6Off) === 0;
}
