/**
 * Edits of a flow key the way OVS's setters make them (lib/meta-flow.c `mf_set_flow_value`,
 * `mf_write_subfield_flow`): a one-word field written under its value mask with the storage bits it
 * forces (the VLAN CFI for `vlan_pcp`), a Geneve option field marked present when written, single
 * bits of any field read and written, and the conntrack fields cleared or swapped with the packet's
 * own. Everything works on the key's words in place and allocates nothing.
 */
import { ETH_TYPE_IP, type MatchField, type Subfield } from './fields.js';
import { W } from './flowkey.js';

/** Bits of the `tun_flags` word used for "tun_metadata<i> is present" (8 + i); not matchable. */
export const TUN_META_PRESENT_SHIFT = 8;

/** Write a single-word field's value with OVS's setter side effects (VLAN CFI for PCP/legacy VID). */
export function setOne(w: Uint32Array, f: MatchField, v: number): void {
  const m = (f.vmask << f.shift) >>> 0;
  w[f.word] = ((w[f.word]! & ~m) | ((v << f.shift) & m)) >>> 0;
  if (f.forceBits) w[f.word] = (w[f.word]! | f.forceBits) >>> 0;
}

/** Is `f` one of the Geneve option fields `tun_metadata0..7`? */
export function isTunMetadata(f: MatchField): boolean {
  return f.word >= W.tun_metadata0 && f.word < W.tun_metadata0 + 32;
}

/** After writing `tun_metadata<i>`: mark the option present (OVS `tun_metadata_write` sets its bit in the map). */
export function markTunMeta(w: Uint32Array, f: MatchField): void {
  if (isTunMetadata(f)) {
    const i = (f.word - W.tun_metadata0) >> 2;
    w[W.tun_flags] = (w[W.tun_flags]! | (1 << (TUN_META_PRESENT_SHIFT + i))) >>> 0;
  }
}

/** Bit `j` (0 = least significant) of a field's value. */
export function getBit(w: Uint32Array, f: MatchField, j: number): number {
  if (f.nwords === 1) return (w[f.word]! >>> (f.shift + j)) & 1;
  const wi = f.word + f.nwords - 1 - (j >>> 5);
  return (w[wi]! >>> (j & 31)) & 1;
}

/** Set bit `j` (0 = least significant) of a field's value to `bit`. */
export function putBit(w: Uint32Array, f: MatchField, j: number, bit: number): void {
  let wi: number;
  let b: number;
  if (f.nwords === 1) {
    wi = f.word;
    b = f.shift + j;
  } else {
    wi = f.word + f.nwords - 1 - (j >>> 5);
    b = j & 31;
  }
  w[wi] = bit ? (w[wi]! | (1 << b)) >>> 0 : (w[wi]! & ~(1 << b)) >>> 0;
}

/** A subfield's value (up to 53 bits exactly). */
export function readSubfield(w: Uint32Array, s: Subfield): number {
  let v = 0;
  for (let i = s.nBits - 1; i >= 0; i--) v = v * 2 + getBit(w, s.field, s.ofs + i);
  return v;
}

/** Write the low `s.nBits` bits of `v` into a subfield (bit by bit; the field's setter side effects follow). */
export function writeSubfield(w: Uint32Array, s: Subfield, v: number): void {
  const f = s.field;
  for (let i = 0; i < s.nBits; i++) putBit(w, f, s.ofs + i, Math.floor(v / 2 ** i) & 1);
  if (f.nwords === 1) setOne(w, f, (w[f.word]! >>> f.shift) & f.vmask);
  else markTunMeta(w, f);
}

/** OVS `flow_clear_conntrack`: ct_state, zone, mark, label and the original-tuple fields to 0. */
export function clearCt(w: Uint32Array): void {
  w.fill(0, W.ct_state, W.ct_tp_dst + 1);
}

function swapWords(w: Uint32Array, a: number, b: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const t = w[a + i]!;
    w[a + i] = w[b + i]!;
    w[b + i] = t;
  }
}

/** Swap the packet's 5-tuple with the conntrack original-direction tuple (`resubmit(,,ct)`). */
export function swapCtTuple(w: Uint32Array): void {
  swapWords(w, W.nw_proto, W.ct_nw_proto, 1);
  if (w[W.dl_type] === ETH_TYPE_IP) {
    swapWords(w, W.nw_src, W.ct_nw_src, 1);
    swapWords(w, W.nw_dst, W.ct_nw_dst, 1);
  } else {
    swapWords(w, W.ipv6_src, W.ct_ipv6_src, 4);
    swapWords(w, W.ipv6_dst, W.ct_ipv6_dst, 4);
  }
  swapWords(w, W.tp_src, W.ct_tp_src, 1);
  swapWords(w, W.tp_dst, W.ct_tp_dst, 1);
}
