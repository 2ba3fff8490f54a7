/**
 * The flow key: OVS's `struct flow` as one preallocated `Uint32Array`. Every matchable field has a
 * fixed slot of 32-bit words; fields wider than 32 bits take several words, most significant word
 * first (a MAC is a 16-bit high word then a 32-bit low word; an IPv6 address four words). Fields
 * that OVS stores in one place share one slot: `tcp_src`, `udp_src`, `sctp_src` and `icmp_type`
 * all live in `tp_src`; `arp_spa` is `nw_src`; `arp_op` is `nw_proto`; `nd_sll` is `arp_sha`;
 * `xreg0` is `reg0:reg1`; `mpls_label`, `mpls_tc`, `mpls_bos` and `mpls_ttl` are bits of the first
 * word of `mpls_lse` (OVS's `mpls_lse[0]`, a label stack entry as on the wire), the next two words
 * hold the second and third entries. This keeps OVS's normalisation behaviour (a field means what the
 * `eth_type`/`ip_proto` of the same match say it means) and lets a match be two keys of the same
 * shape: a value and a mask. Frame offsets for committing rewrites later sit beside the words.
 */

/** Slot sizes in words, in layout order (the order also groups fields for cache locality). */
const SLOTS = [
  ['tun_id', 2], ['tun_src', 1], ['tun_dst', 1], ['tun_ipv6_src', 4], ['tun_ipv6_dst', 4], ['tun_flags', 1],
  ['tun_metadata0', 4], ['tun_metadata1', 4], ['tun_metadata2', 4], ['tun_metadata3', 4],
  ['tun_metadata4', 4], ['tun_metadata5', 4], ['tun_metadata6', 4], ['tun_metadata7', 4],
  ['metadata', 2], ['regs', 16], ['pkt_mark', 1], ['in_port', 1], ['conj_id', 1], ['actset_output', 1],
  ['ct_state', 1], ['ct_zone', 1], ['ct_mark', 1], ['ct_label', 4], ['ct_nw_src', 1], ['ct_nw_dst', 1],
  ['ct_ipv6_src', 4], ['ct_ipv6_dst', 4], ['ct_nw_proto', 1], ['ct_tp_src', 1], ['ct_tp_dst', 1],
  ['dl_dst', 2], ['dl_src', 2], ['dl_type', 1], ['vlan_tci', 1], ['mpls_lse', 3],
  ['nw_src', 1], ['nw_dst', 1], ['ipv6_src', 4], ['ipv6_dst', 4], ['ipv6_label', 1],
  ['nw_frag', 1], ['nw_tos', 1], ['nw_ttl', 1], ['nw_proto', 1],
  ['tp_src', 1], ['tp_dst', 1], ['tcp_flags', 1], ['arp_sha', 2], ['arp_tha', 2], ['nd_target', 4],
] as const;

type SlotName = (typeof SLOTS)[number][0];

/** Word index of each slot in a key. */
export const W: { readonly [K in SlotName]: number } = (() => {
  const o: Record<string, number> = {};
  let i = 0;
  for (const [n, size] of SLOTS) {
    o[n] = i;
    i += size;
  }
  return o as { [K in SlotName]: number };
})();

/** Number of 32-bit words in a key (and in a mask). */
export const KEY_WORDS: number = SLOTS.reduce((a, [, s]) => a + s, 0);

/**
 * A trace's megaflow mask has one word more than a key: the mask of the second VLAN header's TCI
 * (OVS `wc.masks.vlans[1]`; the key keeps that header outside its words).
 */
export const WC_VLAN1: number = KEY_WORDS;

/** A trace's megaflow mask word for `skb_priority`, which set_queue and pop_queue un-wildcard (OVS `wc.masks.skb_priority`). */
export const WC_SKB_PRIORITY: number = KEY_WORDS + 1;

/** Slot names with their word index and size, in layout order (for debugging and dumps). */
export const KEY_SLOTS: ReadonlyArray<{ name: string; word: number; words: number }> = SLOTS.map(([name, words]) => ({
  name,
  word: W[name],
  words,
}));

/** How `extractFlowKey` ended: 0 when every header it looked for was whole. */
export const ExtractStatus = {
  Ok: 0,
  /** Shorter than an Ethernet header: only in_port and metadata are set. */
  EthTruncated: 1,
  /** The IPv4/IPv6 header (or an IPv6 extension header) failed OVS's sanity checks. */
  L3Invalid: 2,
  /** An ARP header was short or not Ethernet/IPv4: ARP fields stay zero. */
  ArpInvalid: 3,
  /** The L4 header was shorter than its fixed part: L4 fields stay zero. */
  L4Truncated: 4,
} as const;

/** One of `ExtractStatus`. */
export type ExtractStatus = (typeof ExtractStatus)[keyof typeof ExtractStatus];

/** A value of every field of one packet, plus where its headers start in the frame. */
export class FlowKey {
  /** The field words (see `W`). */
  readonly w: Uint32Array = new Uint32Array(KEY_WORDS);
  /** Offset of the Ethernet header in the frame. */
  l2 = 0;
  /** Offset of the MPLS label stack (OVS `l2_5_ofs`), or -1 when the packet has none. */
  l25 = -1;
  /** Offset of the L3 header (after VLAN tags, the EtherType/LLC-SNAP and any MPLS labels), or -1. */
  l3 = -1;
  /** Offset of the L4 header (after IPv6 extension headers), or -1 when L3 was not parsed. */
  l4 = -1;
  /** End of the L3 packet (without Ethernet padding), or the frame end when there is no IP. */
  end = 0;
  /** Number of VLAN tags parsed (0..2). */
  vlans = 0;
  /** TPID of the outer VLAN tag (0 when untagged). */
  vlanTpid = 0;
  /** Inner VLAN tag's TCI with the CFI "present" bit (when two tags were parsed). */
  vlan2Tci = 0;
  /** Inner VLAN tag's TPID. */
  vlan2Tpid = 0;
  /** How extraction ended (`ExtractStatus`). */
  status: ExtractStatus = ExtractStatus.Ok;
  /** The datapath priority (`skb_priority`; `set_queue` writes it). Not matchable, so not a key word. */
  skbPriority = 0;

  /** Zero every field and offset (no allocation). */
  clear(): void {
    this.w.fill(0);
    this.l2 = 0;
    this.l25 = -1;
    this.l3 = -1;
    this.l4 = -1;
    this.end = 0;
    this.vlans = 0;
    this.vlanTpid = 0;
    this.vlan2Tci = 0;
    this.vlan2Tpid = 0;
    this.status = ExtractStatus.Ok;
    this.skbPriority = 0;
  }

  /** Copy another key's fields and offsets into this one. */
  copyFrom(o: FlowKey): this {
    this.w.set(o.w);
    this.l2 = o.l2;
    this.l25 = o.l25;
    this.l3 = o.l3;
    this.l4 = o.l4;
    this.end = o.end;
    this.vlans = o.vlans;
    this.vlanTpid = o.vlanTpid;
    this.vlan2Tci = o.vlan2Tci;
    this.vlan2Tpid = o.vlan2Tpid;
    this.status = o.status;
    this.skbPriority = o.skbPriority;
    return this;
  }

  /** Read a field (at most 32 bits wide) as a number. */
  get(f: FieldStorage): number {
    return getFieldNumber(this.w, f);
  }
  /** Write a field (at most 32 bits wide) from a number. */
  set(f: FieldStorage, v: number): void {
    setFieldNumber(this.w, f, v);
  }
  /** Read any field as a bigint (control plane). */
  getBig(f: FieldStorage): bigint {
    return getFieldBig(this.w, f);
  }
  /** Write any field from a bigint (control plane). */
  setBig(f: FieldStorage, v: bigint): void {
    setFieldBig(this.w, f, v);
  }
}

/** A mask or a bare key: the same shape as `FlowKey.w`. */
export function newKeyWords(): Uint32Array {
  return new Uint32Array(KEY_WORDS);
}

/**
 * Where a field lives in a key: `nwords` words from `word`; a one-word field occupies the bits
 * `vmask << shift` of its word (its value is `(word >>> shift) & vmask`); a multi-word field is the
 * concatenation of its words, most significant first, limited to `bits` bits.
 */
export interface FieldStorage {
  /** First word index. */
  readonly word: number;
  /** Number of words. */
  readonly nwords: number;
  /** Bit shift inside a single word. */
  readonly shift: number;
  /** Mask of the meaningful value bits (before shifting) for single-word fields. */
  readonly vmask: number;
  /** Width of the field's value in bits (as the OXM/NXM field defines it). */
  readonly bits: number;
}

/** Read a single-word field as a number. */
export function getFieldNumber(w: Uint32Array, f: FieldStorage): number {
  if (f.nwords === 2) return w[f.word]! * 0x1_0000_0000 + w[f.word + 1]!; // MACs, <= 53 bits
  return ((w[f.word]! >>> f.shift) & f.vmask) >>> 0;
}

/** Write a single-word field (or a 48-bit MAC) from a number. */
export function setFieldNumber(w: Uint32Array, f: FieldStorage, v: number): void {
  if (f.nwords === 2) {
    w[f.word] = Math.floor(v / 0x1_0000_0000);
    w[f.word + 1] = v >>> 0;
    return;
  }
  const m = (f.vmask << f.shift) >>> 0;
  w[f.word] = ((w[f.word]! & ~m) | ((v << f.shift) & m)) >>> 0;
}

/** Read any field as a bigint. */
export function getFieldBig(w: Uint32Array, f: FieldStorage): bigint {
  if (f.nwords === 1) return BigInt(getFieldNumber(w, f));
  let v = 0n;
  for (let i = 0; i < f.nwords; i++) v = (v << 32n) | BigInt(w[f.word + i]!);
  return v;
}

/** Write any field from a bigint (bits beyond the field's width are dropped). */
export function setFieldBig(w: Uint32Array, f: FieldStorage, v: bigint): void {
  if (f.nwords === 1) {
    setFieldNumber(w, f, Number(v & 0xffff_ffffn));
    return;
  }
  for (let i = f.nwords - 1; i >= 0; i--) {
    w[f.word + i] = Number(v & 0xffff_ffffn);
    v >>= 32n;
  }
  if (f.bits < f.nwords * 32) {
    const top = f.bits - (f.nwords - 1) * 32; // bits used in the first word
    w[f.word] = (w[f.word]! & (top >= 32 ? 0xffff_ffff : (2 ** top - 1))) >>> 0;
  }
}

/** All-ones value of a field's width, as a bigint. */
export function fieldOnes(f: FieldStorage): bigint {
  return (1n << BigInt(f.bits)) - 1n;
}
