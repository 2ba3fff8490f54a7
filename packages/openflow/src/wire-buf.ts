/**
 * Byte buffers for the OpenFlow wire codecs: a growable big-endian writer and a bounded reader.
 * Codecs check lengths where OpenFlow (and OVS) define an error for a short or long structure and
 * raise that error; the reader's own bounds check is the last line of defence and raises
 * `OFPBRC_BAD_LEN`, so a malformed message can never read out of range or throw anything but an
 * `OpenFlowError`.
 */
import { u16, u32, u64 } from '@ovnts/packet';
import { OpenFlowError, type OfpErrorName } from './errors.js';

/** OpenFlow protocol versions as they appear in `ofp_header.version`. */
export const OfpVersion = {
  OF10: 0x01,
  OF11: 0x02,
  OF12: 0x03,
  OF13: 0x04,
  OF14: 0x05,
  OF15: 0x06,
} as const;

/** One of `OfpVersion` (or any other byte a peer sends). */
export type OfpVersion = number;

/** Experimenter (vendor) ids OVS understands. */
export const VendorId = {
  /** Nicira: NXM fields, NXAST actions, NXT messages. */
  NX: 0x0000_2320,
  /** Open Networking Foundation extensions (ONFT messages, ONF OXMs, ONF actions). */
  ONF: 0x4f4e_4600,
} as const;

/** A growable big-endian byte writer. */
export class WireWriter {
  /** The storage (grows by doubling); valid bytes are `[0, len)`. */
  buf: Uint8Array;
  /** Bytes written. */
  len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  /** Make room for `n` more bytes. */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  /** Append one byte. */
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  /** Append a 16-bit big-endian value. */
  u16(v: number): this {
    this.ensure(2);
    const b = this.buf;
    b[this.len] = (v >>> 8) & 0xff;
    b[this.len + 1] = v & 0xff;
    this.len += 2;
    return this;
  }

  /** Append a 32-bit big-endian value. */
  u32(v: number): this {
    this.ensure(4);
    const b = this.buf;
    const o = this.len;
    b[o] = (v >>> 24) & 0xff;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
    this.len += 4;
    return this;
  }

  /** Append a 64-bit big-endian value. */
  u64(v: bigint): this {
    this.u32(Number((v >> 32n) & 0xffff_ffffn));
    return this.u32(Number(v & 0xffff_ffffn));
  }

  /** Append a value of `n` bytes (1..16) given as a bigint, big-endian. */
  uN(v: bigint, n: number): this {
    this.ensure(n);
    for (let i = n - 1; i >= 0; i--) {
      this.buf[this.len + i] = Number(v & 0xffn);
      v >>= 8n;
    }
    this.len += n;
    return this;
  }

  /** Append bytes. */
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Append `n` zero bytes. */
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  /** Append a NUL-padded string of exactly `n` bytes (truncated to n - 1 bytes, as OVS's `ovs_strlcpy`). */
  str(s: string, n: number): this {
    const enc = new TextEncoder().encode(s).subarray(0, n - 1);
    this.bytes(enc);
    return this.zeros(n - enc.length);
  }

  /** Pad with zeros until the length since `start` is a multiple of 8. */
  pad8(start = 0): this {
    const r = (this.len - start) % 8;
    return r ? this.zeros(8 - r) : this;
  }

  /** Overwrite a 16-bit value at `pos`. */
  setU16(pos: number, v: number): void {
    this.buf[pos] = (v >>> 8) & 0xff;
    this.buf[pos + 1] = v & 0xff;
  }

  /** Overwrite a 32-bit value at `pos`. */
  setU32(pos: number, v: number): void {
    this.buf[pos] = (v >>> 24) & 0xff;
    this.buf[pos + 1] = (v >>> 16) & 0xff;
    this.buf[pos + 2] = (v >>> 8) & 0xff;
    this.buf[pos + 3] = v & 0xff;
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** A bounded reader over `buf[off, end)`. */
export class WireReader {
  constructor(
    /** The bytes. */
    readonly buf: Uint8Array,
    /** Current position. */
    public off = 0,
    /** End (exclusive). */
    readonly end = buf.length,
  ) {}

  /** Bytes left. */
  get remaining(): number {
    return this.end - this.off;
  }

  /** Raise `err` unless `n` bytes are left. */
  need(n: number, err: OfpErrorName = 'OFPBRC_BAD_LEN', what = 'structure'): void {
    if (n > this.end - this.off) throw new OpenFlowError(err, `${what} needs ${n} bytes, ${this.end - this.off} left`);
  }

  /** Read one byte. */
  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }

  /** Read a 16-bit value. */
  u16(): number {
    this.need(2);
    const v = u16(this.buf, this.off);
    this.off += 2;
    return v;
  }

  /** Read a 32-bit value. */
  u32(): number {
    this.need(4);
    const v = u32(this.buf, this.off);
    this.off += 4;
    return v;
  }

  /** Read a 64-bit value. */
  u64(): bigint {
    this.need(8);
    const v = u64(this.buf, this.off);
    this.off += 8;
    return v;
  }

  /** Read an `n`-byte big-endian value (any width) as a bigint. */
  uN(n: number): bigint {
    this.need(n);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.buf[this.off + i]!);
    this.off += n;
    return v;
  }

  /** A view of the next `n` bytes (not copied). */
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }

  /** A NUL-terminated string in a fixed field of `n` bytes. */
  str(n: number): string {
    const b = this.bytes(n);
    const z = b.indexOf(0);
    return new TextDecoder().decode(z < 0 ? b : b.subarray(0, z));
  }

  /** Skip `n` bytes. */
  skip(n: number): void {
    this.need(n);
    this.off += n;
  }

  /** A reader over the next `n` bytes; this reader moves past them. */
  sub(n: number): WireReader {
    this.need(n);
    const r = new WireReader(this.buf, this.off, this.off + n);
    this.off += n;
    return r;
  }

  /** Peek a 16-bit value `at` bytes ahead (no bounds change). */
  peekU16(at = 0): number {
    if (this.off + at + 2 > this.end) throw new OpenFlowError('OFPBRC_BAD_LEN', 'peek past the end');
    return u16(this.buf, this.off + at);
  }

  /** Peek a 32-bit value `at` bytes ahead. */
  peekU32(at = 0): number {
    if (this.off + at + 4 > this.end) throw new OpenFlowError('OFPBRC_BAD_LEN', 'peek past the end');
    return u32(this.buf, this.off + at);
  }
}
