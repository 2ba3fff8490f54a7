/**
 * Byte access in either byte order. pcap and pcapng files are written in the writer's host order,
 * so the reader picks the order per file (pcap) or per section (pcapng). Callers prove the range
 * first; these helpers do not bounds-check.
 */

/** Read an unsigned 16-bit integer, little-endian when `le`. */
export function rd16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
}

/** Read an unsigned 32-bit integer, little-endian when `le`. */
export function rd32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
    : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Read a signed 64-bit integer as a bigint, little-endian when `le`. */
export function rdI64(b: Uint8Array, o: number, le: boolean): bigint {
  const hi = le ? rd32(b, o + 4, true) : rd32(b, o, false);
  const lo = le ? rd32(b, o, true) : rd32(b, o + 4, false);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

/** Write an unsigned 16-bit integer, little-endian when `le`. */
export function wr16(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (le) {
    b[o] = v & 0xff;
    b[o + 1] = (v >>> 8) & 0xff;
  } else {
    b[o] = (v >>> 8) & 0xff;
    b[o + 1] = v & 0xff;
  }
}

/** Write an unsigned 32-bit integer, little-endian when `le`. */
export function wr32(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (le) {
    b[o] = v & 0xff;
    b[o + 1] = (v >>> 8) & 0xff;
    b[o + 2] = (v >>> 16) & 0xff;
    b[o + 3] = (v >>> 24) & 0xff;
  } else {
    b[o] = (v >>> 24) & 0xff;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
  }
}

/** Write a 64-bit integer given as a bigint (two's complement), little-endian when `le`. */
export function wr64(b: Uint8Array, o: number, v: bigint, le: boolean): void {
  const u = BigInt.asUintN(64, v);
  const hi = Number(u >> 32n);
  const lo = Number(u & 0xffff_ffffn);
  wr32(b, le ? o + 4 : o, hi, le);
  wr32(b, le ? o : o + 4, lo, le);
}

/** The byte order of this machine (true = little-endian). */
export const HOST_LE: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
