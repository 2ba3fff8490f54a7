/**
 * Big-endian byte access by shifts. Every codec reads and writes through these helpers, after a
 * `check()` has proven the range, so none of them bounds-checks on its own.
 */

/** Read one byte. */
export function u8(b: Uint8Array, o: number): number {
  return b[o]!;
}

/** Read a big-endian 16-bit unsigned integer. */
export function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Read a big-endian 24-bit unsigned integer. */
export function u24(b: Uint8Array, o: number): number {
  return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
}

/** Read a big-endian 32-bit unsigned integer. */
export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * Read a big-endian 32-bit word as a *signed* int32: the same bits as `u32()`, for the per-packet
 * path. V8 keeps a signed int32 as a small integer, so it is never boxed, even when this call is
 * not inlined (an unsigned value of 2^31 or more returned from a call becomes a 16-byte heap
 * number). Stored into a `Uint32Array`, or passed through `>>> 0`, it is the unsigned value.
 */
export function i32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/** Read a big-endian 48-bit unsigned integer (a MAC address) as a number. */
export function u48(b: Uint8Array, o: number): number {
  return u16(b, o) * 0x1_0000_0000 + u32(b, o + 2);
}

/** Read a big-endian 64-bit unsigned integer as a bigint (control plane only). */
export function u64(b: Uint8Array, o: number): bigint {
  return (BigInt(u32(b, o)) << 32n) | BigInt(u32(b, o + 4));
}

/** Read a big-endian 128-bit unsigned integer (an IPv6 address) as a bigint (control plane only). */
export function u128(b: Uint8Array, o: number): bigint {
  return (u64(b, o) << 64n) | u64(b, o + 8);
}

/** Write one byte. */
export function setU8(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
}

/** Write a big-endian 16-bit unsigned integer. */
export function setU16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

/** Write a big-endian 24-bit unsigned integer. */
export function setU24(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 16) & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = v & 0xff;
}

/** Write a big-endian 32-bit unsigned integer. */
export function setU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Write a big-endian 48-bit unsigned integer (a MAC address) given as a number. */
export function setU48(b: Uint8Array, o: number, v: number): void {
  setU16(b, o, Math.floor(v / 0x1_0000_0000));
  setU32(b, o + 2, v >>> 0);
}

/** Write a big-endian 64-bit unsigned integer given as a bigint. */
export function setU64(b: Uint8Array, o: number, v: bigint): void {
  setU32(b, o, Number((v >> 32n) & 0xffff_ffffn));
  setU32(b, o + 4, Number(v & 0xffff_ffffn));
}

/** Write a big-endian 128-bit unsigned integer given as a bigint. */
export function setU128(b: Uint8Array, o: number, v: bigint): void {
  setU64(b, o, (v >> 64n) & 0xffff_ffff_ffff_ffffn);
  setU64(b, o + 8, v & 0xffff_ffff_ffff_ffffn);
}

/** Lower-case hex of a byte range, without separators. */
export function toHex(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = '';
  for (let i = off; i < off + len; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

/** Bytes from a hex string; whitespace and `:` separators are ignored. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new RangeError(`fromHex: not an even-length hex string: ${JSON.stringify(hex.slice(0, 40))}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
