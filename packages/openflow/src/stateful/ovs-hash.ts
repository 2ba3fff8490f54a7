/**
 * Open vSwitch's hash functions, bit for bit, as the x86-64 Debian build of OVS 3.1 computes them
 * (lib/hash.h without SSE4.2, i.e. the MurmurHash3-based `hash_add`/`hash_finish`, lib/hash.c
 * `hash_bytes`, lib/jhash.c `jhash_bytes`) and the flow hashes that select groups use
 * (lib/flow.c `flow_hash_symmetric_l3l4`, `flow_hash_symmetric_l2`, `flow_hash_symmetric_l4`).
 *
 * OVS hashes the bytes of `struct flow` as they lie in memory on a little-endian machine: a
 * network-order (big-endian) field read as a native integer is byte-swapped relative to its
 * numeric value. The helpers below take numeric field values (as our `FlowKey` holds them) and
 * swap where OVS reads raw memory, so the results equal OVS's. Everything is 32-bit unsigned
 * arithmetic with `Math.imul`; nothing allocates except `hashBytes`/`jhashBytes` callers' buffers.
 */

/** Rotate left (OVS `hash_rot`). */
export function hashRot(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Byte-swap a 32-bit value (big-endian field read as a little-endian word). */
export function bswap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** Byte-swap a 16-bit value. */
export function bswap16(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}

/**
 * OVS `mhash_add` (the Murmur3 mixing step) on signed 32-bit values: the one implementation of the
 * mixing that the flow hashes, the translation cache and conntrack use. A signed int32 stays a small
 * integer to V8 (an unsigned result of 2^31 or more would be boxed when it leaves a call that is not
 * inlined), so hot paths hash with these two and turn the result unsigned only where OVS's value is
 * compared.
 */
export function mhashAdd(hash: number, data: number): number {
  data = Math.imul(data, 0xcc9e2d51);
  data = (data << 15) | (data >>> 17);
  data = Math.imul(data, 0x1b873593);
  hash ^= data;
  hash = (hash << 13) | (hash >>> 19);
  return (Math.imul(hash, 5) + 0xe6546b64) | 0;
}

/** OVS `mhash_finish` (the Murmur3 finaliser) on signed 32-bit values; see `mhashAdd`. */
export function mhashFinish(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) | 0;
}

/** OVS `hash_add`, unsigned (a zero word mixes to nothing, as in OVS). */
export function hashAdd(hash: number, data: number): number {
  return mhashAdd(hash, data) >>> 0;
}

/** OVS `hash_add64` for a 64-bit value given as its low and high 32-bit halves. */
export function hashAdd64(hash: number, lo: number, hi: number): number {
  return hashAdd(hashAdd(hash, lo), hi);
}

/** OVS `hash_finish(hash, final)` (Murmur3 finaliser), unsigned. */
export function hashFinish(hash: number, final: number): number {
  return mhashFinish(hash ^ final) >>> 0;
}

/** OVS `hash_int(x, basis)` = `hash_2words(x, basis)`. */
export function hashInt(x: number, basis: number): number {
  return hashFinish(hashAdd(hashAdd(x >>> 0, 0), basis >>> 0), 8);
}

/** OVS `hash_3words(a, b, c)`. */
export function hash3Words(a: number, b: number, c: number): number {
  return hashFinish(hashAdd(hashAdd(hashAdd(a >>> 0, 0), b >>> 0), c >>> 0), 12);
}

/** OVS `hash_uint64(x)` for a bigint (e.g. a select group's `selection_method_param`). */
export function hashUint64(x: bigint): number {
  const lo = Number(x & 0xffff_ffffn);
  const hi = Number((x >> 32n) & 0xffff_ffffn);
  return hashFinish(hashAdd64(0, lo, hi), 8);
}

/** OVS `hash_boolean(x, basis)`. */
export function hashBoolean(x: boolean, basis: number): number {
  return ((x ? 0xc2b73583 : 0xe90f1258) ^ hashRot(basis >>> 0, 1)) >>> 0;
}

function le32(b: Uint8Array, i: number, n: number): number {
  // Little-endian read of up to 4 bytes (missing bytes are zero, as OVS's memcpy into a zeroed word).
  let v = 0;
  for (let k = 0; k < 4 && i + k < n; k++) v |= b[i + k]! << (8 * k);
  return v >>> 0;
}

/** OVS `hash_bytes(p, n, basis)` over `b[0..n)`. */
export function hashBytes(b: Uint8Array, n: number, basis: number): number {
  let hash = basis >>> 0;
  let i = 0;
  for (; n - i >= 4; i += 4) hash = hashAdd(hash, le32(b, i, n));
  if (i < n) hash = hashAdd(hash, le32(b, i, n));
  return hashFinish(hash, n);
}

function jrot(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** OVS `jhash_bytes(p, n, basis)` (Bob Jenkins' lookup3) over `b[0..n)`. */
export function jhashBytes(b: Uint8Array, n: number, basis: number): number {
  let a = (0xdeadbeef + n + basis) >>> 0;
  let bb = a;
  let c = a;
  let i = 0;
  while (n - i >= 12) {
    a = (a + le32(b, i, n)) >>> 0;
    bb = (bb + le32(b, i + 4, n)) >>> 0;
    c = (c + le32(b, i + 8, n)) >>> 0;
    // jhash_mix
    a = (a - c) >>> 0; a = (a ^ jrot(c, 4)) >>> 0; c = (c + bb) >>> 0;
    bb = (bb - a) >>> 0; bb = (bb ^ jrot(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - bb) >>> 0; c = (c ^ jrot(bb, 8)) >>> 0; bb = (bb + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ jrot(c, 16)) >>> 0; c = (c + bb) >>> 0;
    bb = (bb - a) >>> 0; bb = (bb ^ jrot(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - bb) >>> 0; c = (c ^ jrot(bb, 4)) >>> 0; bb = (bb + a) >>> 0;
    i += 12;
  }
  if (i < n) {
    a = (a + le32(b, i, n)) >>> 0;
    bb = (bb + le32(b, i + 4, n)) >>> 0;
    c = (c + le32(b, i + 8, n)) >>> 0;
    // jhash_final
    c = (c ^ bb) >>> 0; c = (c - jrot(bb, 14)) >>> 0;
    a = (a ^ c) >>> 0; a = (a - jrot(c, 11)) >>> 0;
    bb = (bb ^ a) >>> 0; bb = (bb - jrot(a, 25)) >>> 0;
    c = (c ^ bb) >>> 0; c = (c - jrot(bb, 16)) >>> 0;
    a = (a ^ c) >>> 0; a = (a - jrot(c, 4)) >>> 0;
    bb = (bb ^ a) >>> 0; bb = (bb - jrot(a, 14)) >>> 0;
    c = (c ^ bb) >>> 0; c = (c - jrot(bb, 24)) >>> 0;
  }
  return c >>> 0;
}
