/**
 * TCP (RFC 9293) header. The view checks the data offset once; options stay raw bytes and
 * `TcpOptionIter` walks them without allocating, validating the lengths of the options it knows
 * (MSS 4, window scale 3, SACK-permitted 2, SACK 2 + 8n, timestamps 10) and reporting any
 * malformed length as `BadOption`. The checksum needs the pseudo-header and the payload, so the
 * `Repr` carries it verbatim and `fillTcpChecksumV4/V6` compute it in place once the segment is
 * assembled. The segment length comes from the IP layer (TCP has no length field). As for UDP,
 * the IPv6 pseudo-header uses the IPv6 header's destination, not a Routing header's final one.
 */
import { i32, u16, u32, setU16, setU32 } from './bytes.js';
import { l4ChecksumV4, l4ChecksumV6 } from './checksum.js';
import { KindLengthOptionIter } from './options.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';
import { IpProtocol, ReprError } from './ipv4.js';

/** TCP flag bits, as in the low 9 bits of the data-offset/flags word. */
export const TcpFlags = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  /** ECN nonce (RFC 3540, historic). */
  NS: 0x100,
} as const;

/** TCP option kinds we name. */
export const TcpOptionKind = {
  EndOfList: 0,
  NoOperation: 1,
  MaxSegmentSize: 2,
  WindowScale: 3,
  SackPermitted: 4,
  Sack: 5,
  Timestamps: 8,
  Md5Signature: 19,
  UserTimeout: 28,
  AuthenticationOption: 29,
  Multipath: 30,
  FastOpen: 34,
  Experimental1: 253,
  Experimental2: 254,
} as const;

/** Byte offsets inside a TCP header. */
export const TcpOffsets = {
  srcPort: 0,
  dstPort: 2,
  seq: 4,
  ack: 8,
  dataOffsetFlags: 12,
  window: 14,
  checksum: 16,
  urgent: 18,
  options: 20,
} as const;
/** Length of a TCP header without options. */
export const TCP_HEADER_LEN = 20;
/** Largest TCP header (data offset 15). */
export const TCP_MAX_HEADER_LEN = 60;

const EMPTY = new Uint8Array(0);

/** A reusable view over a TCP segment; call `check()` before `reset()`. */
export class TcpView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `Ok` if the header with its options is present; `BadLength` if the data offset is < 5. */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('TcpView.check', buf, off, len);
    if (len < TCP_HEADER_LEN) return WireErrorCode.Truncated;
    const hl = (buf[off + TcpOffsets.dataOffsetFlags]! >>> 4) * 4;
    if (hl < TCP_HEADER_LEN) return WireErrorCode.BadLength;
    if (len < hl) return WireErrorCode.Truncated;
    return WireErrorCode.Ok;
  }

  /** Point the view at a new segment (no allocation); `len` is the segment length. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Source port. */
  get srcPort(): number {
    return u16(this.buf, this.off + TcpOffsets.srcPort);
  }
  set srcPort(v: number) {
    setU16(this.buf, this.off + TcpOffsets.srcPort, v);
  }
  /** Destination port. */
  get dstPort(): number {
    return u16(this.buf, this.off + TcpOffsets.dstPort);
  }
  set dstPort(v: number) {
    setU16(this.buf, this.off + TcpOffsets.dstPort, v);
  }
  /** Sequence number. */
  get seq(): number {
    return u32(this.buf, this.off + TcpOffsets.seq);
  }
  /**
   * The sequence number as a signed int32 of the same bits (`>>> 0` gives `seq`): the per-packet
   * form, never boxed into a heap number even when V8 does not inline the getter.
   */
  get seqInt32(): number {
    return i32(this.buf, this.off + TcpOffsets.seq);
  }
  /** The acknowledgement number as a signed int32 of the same bits (see `seqInt32`). */
  get ackInt32(): number {
    return i32(this.buf, this.off + TcpOffsets.ack);
  }
  set seq(v: number) {
    setU32(this.buf, this.off + TcpOffsets.seq, v);
  }
  /** Acknowledgment number. */
  get ack(): number {
    return u32(this.buf, this.off + TcpOffsets.ack);
  }
  set ack(v: number) {
    setU32(this.buf, this.off + TcpOffsets.ack, v);
  }
  /** Data offset in 32-bit words. */
  get dataOffset(): number {
    return this.buf[this.off + TcpOffsets.dataOffsetFlags]! >>> 4;
  }
  set dataOffset(v: number) {
    const o = this.off + TcpOffsets.dataOffsetFlags;
    this.buf[o] = ((v & 0x0f) << 4) | (this.buf[o]! & 0x0f);
  }
  /** Header length in bytes (data offset * 4). */
  get headerLength(): number {
    return (this.buf[this.off + TcpOffsets.dataOffsetFlags]! >>> 4) * 4;
  }
  /** The nine flag bits (see `TcpFlags`). */
  get flags(): number {
    return u16(this.buf, this.off + TcpOffsets.dataOffsetFlags) & 0x1ff;
  }
  set flags(v: number) {
    const o = this.off + TcpOffsets.dataOffsetFlags;
    setU16(this.buf, o, (u16(this.buf, o) & 0xfe00) | (v & 0x1ff));
  }
  /** True if every bit of `mask` (from `TcpFlags`) is set. */
  hasFlags(mask: number): boolean {
    return (this.flags & mask) === mask;
  }
  /** Receive window. */
  get window(): number {
    return u16(this.buf, this.off + TcpOffsets.window);
  }
  set window(v: number) {
    setU16(this.buf, this.off + TcpOffsets.window, v);
  }
  /** Checksum as stored. */
  get checksum(): number {
    return u16(this.buf, this.off + TcpOffsets.checksum);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + TcpOffsets.checksum, v);
  }
  /** Urgent pointer. */
  get urgent(): number {
    return u16(this.buf, this.off + TcpOffsets.urgent);
  }
  set urgent(v: number) {
    setU16(this.buf, this.off + TcpOffsets.urgent, v);
  }
  /** Offset of the options in `buf`. */
  get optionsOffset(): number {
    return this.off + TCP_HEADER_LEN;
  }
  /** Length of the options. */
  get optionsLength(): number {
    return this.headerLength - TCP_HEADER_LEN;
  }
  /** Offset of the payload in `buf`. */
  get payloadOffset(): number {
    return this.off + this.headerLength;
  }
  /** Payload length (the view's length minus the header). */
  get payloadLength(): number {
    return this.len - this.headerLength;
  }
  /** `Ok` if every option is well-formed, else `BadOption` (allocation-free walk). */
  checkOptions(): WireErrorCode {
    const it = optionIter.reset(this.buf, this.optionsOffset, this.optionsLength);
    while (it.next());
    return it.error;
  }
}

/**
 * An allocation-free walk over TCP options (see `KindLengthOptionIter`), checking the lengths
 * RFC 9293, 7323 and 2018 fix for MSS, window scale, SACK-permitted, SACK and timestamps; the
 * typed accessors read the current option's value.
 */
export class TcpOptionIter extends KindLengthOptionIter {
  protected override lengthOk(kind: number, l: number): boolean {
    switch (kind) {
      case TcpOptionKind.MaxSegmentSize:
        return l === 4;
      case TcpOptionKind.WindowScale:
        return l === 3;
      case TcpOptionKind.SackPermitted:
        return l === 2;
      case TcpOptionKind.Sack:
        return l >= 10 && (l - 2) % 8 === 0;
      case TcpOptionKind.Timestamps:
        return l === 10;
      default:
        return true;
    }
  }

  /** MSS value (valid when `kind` is MaxSegmentSize). */
  get mss(): number {
    return u16(this.buf, this.dataOffset);
  }
  /** Window scale shift count (valid when `kind` is WindowScale). */
  get windowScale(): number {
    return this.buf[this.dataOffset]!;
  }
  /** TSval (valid when `kind` is Timestamps). */
  get tsVal(): number {
    return u32(this.buf, this.dataOffset);
  }
  /** TSecr (valid when `kind` is Timestamps). */
  get tsEcr(): number {
    return u32(this.buf, this.dataOffset + 4);
  }
  /** Number of SACK blocks (valid when `kind` is Sack). */
  get sackBlocks(): number {
    return this.dataLength >>> 3;
  }
  /** Left edge of SACK block `i`. */
  sackLeft(i: number): number {
    return u32(this.buf, this.dataOffset + 8 * i);
  }
  /** Right edge of SACK block `i`. */
  sackRight(i: number): number {
    return u32(this.buf, this.dataOffset + 8 * i + 4);
  }
}

const optionIter = new TcpOptionIter();

/** A plain TCP header; the checksum is written verbatim (fill it with `fillTcpChecksumV4/V6`). */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** The nine flag bits (see `TcpFlags`). */
  flags: number;
  window: number;
  checksum: number;
  urgent: number;
  /** Raw options, padded to a multiple of 4 bytes. */
  options: Uint8Array;
}

const view = new TcpView();

/** Parse a TCP header (options copied) from `len` bytes at `off`. */
export function parseTcp(buf: Uint8Array, off = 0, len?: number): Result<TcpRepr> {
  len = checkSpan('parseTcp', buf, off, len);
  const code = TcpView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('tcp', code, off);
  const v = view.reset(buf, off, len);
  return ok({
    srcPort: v.srcPort,
    dstPort: v.dstPort,
    seq: v.seq,
    ack: v.ack,
    flags: v.flags,
    window: v.window,
    checksum: v.checksum,
    urgent: v.urgent,
    options: buf.slice(v.optionsOffset, v.optionsOffset + v.optionsLength),
  });
}

/** Bytes `emitTcp` writes (the header length). */
export function tcpLen(r: TcpRepr): number {
  return TCP_HEADER_LEN + r.options.length;
}

/** Write the header at `off`; returns its length. Throws `ReprError` on unpadded or >40-byte options. */
export function emitTcp(r: TcpRepr, buf: Uint8Array, off = 0): number {
  const ol = r.options.length;
  if (ol % 4 !== 0 || ol > TCP_MAX_HEADER_LEN - TCP_HEADER_LEN) {
    throw new ReprError('tcp', `options are ${ol} bytes, need a multiple of 4 up to 40`);
  }
  const hl = TCP_HEADER_LEN + ol;
  needRoom('tcp', buf, off, hl);
  setU16(buf, off + TcpOffsets.srcPort, r.srcPort);
  setU16(buf, off + TcpOffsets.dstPort, r.dstPort);
  setU32(buf, off + TcpOffsets.seq, r.seq);
  setU32(buf, off + TcpOffsets.ack, r.ack);
  setU16(buf, off + TcpOffsets.dataOffsetFlags, ((hl >>> 2) << 12) | (r.flags & 0x1ff));
  setU16(buf, off + TcpOffsets.window, r.window);
  setU16(buf, off + TcpOffsets.checksum, r.checksum);
  setU16(buf, off + TcpOffsets.urgent, r.urgent);
  buf.set(r.options, off + TCP_HEADER_LEN);
  return hl;
}

/**
 * One-line summary, as tshark prints it (raw sequence numbers; Ack only when the ACK flag is set).
 * `payloadLength` is the segment's data length, which the header alone does not know.
 */
export function formatTcp(r: TcpRepr, payloadLength = 0): string {
  const ack = r.flags & TcpFlags.ACK ? `, Ack: ${r.ack}` : '';
  return `Transmission Control Protocol, Src Port: ${r.srcPort}, Dst Port: ${r.dstPort}, Seq: ${r.seq}${ack}, Len: ${payloadLength}`;
}

function inRange(buf: Uint8Array, off: number, len: number): boolean {
  return off >= 0 && len >= TCP_HEADER_LEN && off + len <= buf.length;
}

/** Compute and store the checksum of the `tcpLen`-byte segment at `tcpOff` over IPv4; returns it. */
export function fillTcpChecksumV4(buf: Uint8Array, tcpOff: number, tcpLen: number, srcIp: number, dstIp: number): number {
  if (!inRange(buf, tcpOff, tcpLen)) throw new ReprError('tcp', `no ${tcpLen}-byte segment at offset ${tcpOff}`);
  setU16(buf, tcpOff + TcpOffsets.checksum, 0);
  const c = l4ChecksumV4(buf, tcpOff, tcpLen, IpProtocol.TCP, srcIp, dstIp);
  setU16(buf, tcpOff + TcpOffsets.checksum, c);
  return c;
}

/** Compute and store the checksum over IPv6 (addresses from the header at `ip6Off`); returns it. */
export function fillTcpChecksumV6(buf: Uint8Array, tcpOff: number, tcpLen: number, ip6Off: number): number {
  if (!inRange(buf, tcpOff, tcpLen) || ip6Off < 0 || ip6Off + 40 > buf.length) {
    throw new ReprError('tcp', `no ${tcpLen}-byte segment at offset ${tcpOff} with an IPv6 header at ${ip6Off}`);
  }
  setU16(buf, tcpOff + TcpOffsets.checksum, 0);
  const c = l4ChecksumV6(buf, tcpOff, tcpLen, IpProtocol.TCP, ip6Off);
  setU16(buf, tcpOff + TcpOffsets.checksum, c);
  return c;
}

/** True if the segment's checksum verifies over IPv4; false if bytes are missing. */
export function verifyTcpChecksumV4(buf: Uint8Array, tcpOff: number, tcpLen: number, srcIp: number, dstIp: number): boolean {
  return inRange(buf, tcpOff, tcpLen) && l4ChecksumV4(buf, tcpOff, tcpLen, IpProtocol.TCP, srcIp, dstIp) === 0;
}

/** True if the segment's checksum verifies over IPv6; false if bytes are missing. */
export function verifyTcpChecksumV6(buf: Uint8Array, tcpOff: number, tcpLen: number, ip6Off: number): boolean {
  return (
    inRange(buf, tcpOff, tcpLen) &&
    ip6Off >= 0 &&
    ip6Off + 40 <= buf.length &&
    l4ChecksumV6(buf, tcpOff, tcpLen, IpProtocol.TCP, ip6Off) === 0
  );
}
