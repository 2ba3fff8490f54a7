/**
 * The iteration order of Open vSwitch's hash containers, where ovn-northd prints one: a `struct
 * sset` iterates its `hmap` bucket by bucket (bucket = hash & mask), each bucket newest node
 * first, and the bucket array doubles (rehashing in bucket order) whenever the count exceeds
 * twice the mask. Strings hash with `hash_string(s, 0)`, OVS's MurmurHash3-based `hash_bytes`
 * (the generic build; x86-64 builds with SSE4.2 use CRC32 instead, Debian's do not).
 */

import { hashBytes } from '@ovnts/openflow';

/** OVS `hash_bytes(p, n, basis)` (little-endian words; the implementation lives in @ovnts/openflow). */
export function ovsHashBytes(b: Uint8Array, basis = 0): number {
  return hashBytes(b, b.length, basis);
}

/** OVS `hash_string(s, basis)`. */
export function ovsHashString(s: string, basis = 0): number {
  return ovsHashBytes(new TextEncoder().encode(s), basis);
}

function calcMask(capacity: number): number {
  let mask = Math.floor(capacity / 2);
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask |= (mask & 1) << 1;
  return mask;
}

/** The order an OVS `hmap` iterates items inserted in the given order with the given hashes. */
export function hmapOrder<T>(items: readonly T[], hash: (t: T) => number): T[] {
  let mask = 0;
  let buckets: { h: number; t: T }[][] = [[]];
  let n = 0;
  for (const t of items) {
    const h = hash(t) >>> 0;
    buckets[h & mask]!.unshift({ h, t });
    n++;
    if (Math.floor(n / 2) > mask) {
      const nm = calcMask(n);
      if (nm > mask) {
        const nb: { h: number; t: T }[][] = Array.from({ length: nm + 1 }, () => []);
        for (const b of buckets) for (const node of b) nb[node.h & nm]!.unshift(node);
        buckets = nb;
        mask = nm;
      }
    }
  }
  return buckets.flatMap((b) => b.map((x) => x.t));
}

/** The order `SSET_FOR_EACH` visits strings added (without duplicates) in the given order. */
export function ssetOrder(strings: readonly string[]): string[] {
  return hmapOrder([...new Set(strings)], (s) => ovsHashString(s, 0));
}
