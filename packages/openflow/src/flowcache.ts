/**
 * The translation cache: OVS's datapath flow table for our pipeline. A cached translation
 * ("megaflow") records what translating one frame did, under a mask of the key bits that
 * translation depended on, so every later frame whose key agrees on those bits is handled by
 * replaying the record instead of looking up every table and interpreting every action.
 *
 * What a record holds (built by `Pipeline` while it translates a frame, see pipeline.ts):
 *  - the counters to bump, in order: every flow matched, every table looked up (and whether it
 *    matched), every group and bucket used, so counters stay exact per frame;
 *  - the events that touch the packet (outputs), each with the change of the key since the
 *    previous event as a sparse XOR delta; at replay the key is brought to the same state and the
 *    output runs as it does in the interpreter (commit of the key to the bytes, port checks, log);
 *  - when the translation pushed or popped VLAN tags, the key's VLAN bookkeeping that lives
 *    outside the key words, guarded by the values it started from.
 *
 * Why replaying is exact: the mask holds every bit a lookup consulted (the classifier's visited
 * subtables), every bit an action read to decide something (prerequisites, TTL, move sources, the
 * register of output_reg), and every bit an action wrote (as OVS unwildcards set fields). Within
 * the mask all keys are equal, so they visit the same flows, and every bit an action writes gets
 * the same value; outside the mask nothing is read or written. So the key at each output differs
 * from the initial key by the same XOR for all of them. Translations that depend on anything else
 * are not cached (see `Pipeline.uncacheable`): packet-ins, output to TABLE, select groups other
 * than dp_hash ones and fast-failover groups, learn, meters, resubmit(ct), errors. Any flow or group
 * change empties the cache (the switch's `epoch`), as OVS's revalidators would remove what a
 * change affects.
 *
 * Conntrack is OVS's datapath model: `ct(...)` is an event of the cached translation (at replay
 * the tracker runs on the frame, with commit, NAT and state, exactly as when translating), and a
 * `ct(table=N)` ends in a recirculation. The recirculated pass is cached on its own, under a
 * recirculation id (`recirc`: the frozen state the pass resumes from, see pipeline.ts) and its
 * key, which holds the ct fields the tracker set (ct_state, zone, mark, label, original tuple):
 * the datapath flow key of a recirculated packet. A translation with a dp_hash select group is
 * cached with a guard per group, the bucket it used: a frame whose hash picks another bucket is
 * a miss (OVS recirculates with the hash in the key; here the hash is checked at lookup).
 *
 * Lookup is OVS's two levels: an exact-match cache (a direct-mapped array indexed by a hash of the
 * fields that identify a microflow; an entry found there is still checked against its megaflow
 * mask, so a collision only costs a miss) in front of a tuple-space search over the megaflow masks,
 * most-hit mask first. Neither allocates.
 */
import { KEY_WORDS, W } from './flowkey.js';
import type { Subfield } from './fields.js';
import { mhashAdd, mhashFinish } from './stateful/ovs-hash.js';
import type { FlowEntry, FlowTable } from './pipeline.js';

/** Something with OpenFlow packet and byte counters (a group or a bucket). */
export interface Counted {
  /** Packets. */
  packets: number;
  /** Bytes. */
  bytes: number;
}

/** Kinds of replayed events. */
export const XEV_OUTPUT = 1;
/** output_reg (the port is read from the key at replay). */
export const XEV_OUTPUT_REG = 2;
/** output truncated to max_len. */
export const XEV_OUTPUT_TRUNC = 3;
/** ct(...): the tracker runs on the frame (`port` is the index in `CachedXlate.cts`). */
export const XEV_CT = 4;

/** The ct words of an event's key are the pass's initial ones. */
export const CT_MODE_INIT = 0;
/** The ct words of an event's key are cleared (after a ct or ct_clear). */
export const CT_MODE_ZERO = 1;

/** A ct action of a cached translation: the prepared action and the frozen state its `table=N` resumes from. */
export interface CachedCt<C, F> {
  /** The prepared ct action. */
  readonly ct: C;
  /** The frozen state of the recirculation (null without `table=N`). */
  frozen: F | null;
}

/** A dp_hash select group's bucket choice a cached translation depends on. */
export interface SelectGuard<G> {
  /** The group. */
  readonly group: G;
  /** The bucket index it chose. */
  readonly bucket: number;
}

/**
 * One cached translation. Its numbers live in one packed `Int32Array` (`code`), so a hit touches
 * one object, one typed array and the counters:
 *
 *     [0] m = mask words; then m triples (word index, mask word, value word);
 *     then: event count, vlanDep (0/1), the initial [vlanTpid, vlan2Tci, vlan2Tpid];
 *     then per event: kind, port (or ct index), max_len, in-bucket (0/1), index in `srcs`
 *       (output_reg) or -1, ct mode (`CT_MODE_*`), delta count d, d pairs (word index, XOR; the ct
 *       words are never in a delta: the ct mode says what they are), then
 *       [vlanTpid, vlan2Tci, vlan2Tpid] after it.
 */
export class CachedXlate {
  /** Chain in the megaflow subtable's bucket. */
  next: CachedXlate | null = null;
  /** Frames served. */
  hits = 0;
  constructor(
    /** The megaflow subtable (its mask). */
    readonly sub: MegaflowSubtable,
    /** The packed numbers (see above). */
    readonly code: Int32Array,
    /** Flows matched, in order (a flow appears once per match). */
    readonly flows: readonly FlowEntry[],
    /** Tables looked up, in order (one entry per lookup). */
    readonly lookedUp: readonly FlowTable[],
    /** Tables whose lookup found a flow (one entry per such lookup). */
    readonly matchedIn: readonly FlowTable[],
    /** Groups and buckets used. */
    readonly counted: readonly Counted[],
    /** The port subfields of output_reg events. */
    readonly srcs: readonly Subfield[],
    /** The recirculation id of the pass (0: a frame as received). */
    readonly recirc: number,
    /** The ct actions of ct events. */
    readonly cts: readonly CachedCt<unknown, unknown>[],
    /** dp_hash select groups and the buckets they chose (checked at lookup). */
    readonly guards: readonly SelectGuard<unknown>[],
  ) {}
}

/** Offset in `CachedXlate.code` of the event count. */
export function eventsAt(code: Int32Array): number {
  return 1 + 3 * code[0]!;
}

/** The megaflows sharing one mask. */
export class MegaflowSubtable {
  /** Frames served by this mask (for ordering). */
  hits = 0;
  /** Buckets by hash. */
  readonly map = new Map<number, CachedXlate>();
  constructor(
    /** Word indices the mask touches. */
    readonly idx: Int32Array,
    /** Mask words at those indices. */
    readonly mw: Int32Array,
    /** The whole mask, for identity. */
    readonly mask: Uint32Array,
  ) {}
}

/** Words hashed for the exact-match level: those that tell microflows apart. */
const EMC_WORDS = Int32Array.from([
  W.in_port, W.dl_dst, W.dl_dst + 1, W.dl_src, W.dl_src + 1, W.dl_type, W.vlan_tci, W.nw_src, W.nw_dst,
  W.nw_proto, W.nw_tos, W.nw_ttl, W.tp_src, W.tp_dst, W.ipv6_src + 3, W.ipv6_dst + 3, W.tun_id + 1, W.tun_dst, W.arp_sha + 1,
]);
const EMC_BITS = 14;
const EMC_MASK = (1 << EMC_BITS) - 1;

function emcHash(key: Uint32Array, recirc: number): number {
  let h = 0x2f1a3c5b ^ recirc;
  for (let i = 0; i < EMC_WORDS.length; i++) h = mhashAdd(h, key[EMC_WORDS[i]!]! | 0);
  return mhashFinish(h);
}

function maskedHash(key: Uint32Array, idx: Int32Array, mw: Int32Array, recirc: number): number {
  let h = 0x5bd1e995 ^ recirc;
  for (let i = 0; i < idx.length; i++) h = mhashAdd(h, key[idx[i]!]! & mw[i]!);
  return mhashFinish(h ^ idx.length);
}

/** Does `key` of recirculation `recirc` fall in megaflow `x`? */
function inMegaflow(x: CachedXlate, key: Uint32Array, recirc: number): boolean {
  if (x.recirc !== recirc) return false;
  const c = x.code;
  const m = c[0]!;
  for (let i = 1; i <= 3 * m; i += 3) if ((key[c[i]!]! & c[i + 1]!) !== c[i + 2]) return false;
  return true;
}

/** The cache: megaflows by mask, with the exact-match level in front. */
export class MegaflowCache {
  /** Megaflows held. */
  size = 0;
  /** Megaflows kept before everything is dropped (OVS flushes by age; we start over). */
  limit = 1 << 16;
  /** Lookups answered by the exact-match level / by the megaflow level / not at all; hits and misses of recirculated passes (after ct) among them. */
  readonly stats = { emcHits: 0, megaflowHits: 0, misses: 0, recircHits: 0, recircMisses: 0 };
  private subtables: MegaflowSubtable[] = [];
  private readonly emc: (CachedXlate | null)[] = new Array<CachedXlate | null>(EMC_MASK + 1).fill(null);
  private lookups = 0;

  /** Number of distinct megaflow masks. */
  get maskCount(): number {
    return this.subtables.length;
  }

  /**
   * The cached translation covering `key` in recirculation `recirc` (0: a received frame) that
   * `accept` takes (its guards and VLAN state hold), or null. Two exact-match slots per hash (h
   * and h >>> 16).
   */
  lookup(key: Uint32Array, recirc: number, accept: (x: CachedXlate) => boolean): CachedXlate | null {
    const h = emcHash(key, recirc);
    const slot = h & EMC_MASK;
    const e = this.emc[slot]!;
    if (e !== null && inMegaflow(e, key, recirc) && accept(e)) {
      this.stats.emcHits++;
      if (recirc !== 0) this.stats.recircHits++;
      e.hits++;
      return e;
    }
    const slot2 = (h >>> 16) & EMC_MASK;
    const e2 = this.emc[slot2]!;
    if (e2 !== null && inMegaflow(e2, key, recirc) && accept(e2)) {
      this.stats.emcHits++;
      if (recirc !== 0) this.stats.recircHits++;
      e2.hits++;
      return e2;
    }
    return this.lookupSlow(key, recirc, accept, e === null ? slot : slot2);
  }

  private lookupSlow(key: Uint32Array, recirc: number, accept: (x: CachedXlate) => boolean, slot: number): CachedXlate | null {
    const sts = this.subtables;
    if ((++this.lookups & 0x3fff) === 0) sts.sort((a, b) => b.hits - a.hits);
    for (let s = 0; s < sts.length; s++) {
      const st = sts[s]!;
      let x: CachedXlate | null | undefined = st.map.get(maskedHash(key, st.idx, st.mw, recirc));
      for (; x !== undefined && x !== null; x = x.next) {
        if (inMegaflow(x, key, recirc) && accept(x)) {
          st.hits++;
          x.hits++;
          this.emc[slot] = x;
          this.stats.megaflowHits++;
          if (recirc !== 0) this.stats.recircHits++;
          return x;
        }
      }
    }
    this.stats.misses++;
    if (recirc !== 0) this.stats.recircMisses++;
    return null;
  }

  /** The subtable for `mask` (created when new). */
  subtable(mask: Uint32Array): MegaflowSubtable {
    for (const s of this.subtables) {
      let same = true;
      for (let i = 0; i < KEY_WORDS; i++) {
        if (s.mask[i] !== mask[i]) {
          same = false;
          break;
        }
      }
      if (same) return s;
    }
    const idx: number[] = [];
    for (let i = 0; i < KEY_WORDS; i++) if (mask[i] !== 0) idx.push(i);
    const s = new MegaflowSubtable(Int32Array.from(idx), Int32Array.from(idx.map((i) => mask[i]! | 0)), mask.slice());
    this.subtables.push(s);
    return s;
  }

  /** The mask triples of `code` for the megaflow of `key` in subtable `s` (written from index 0). */
  static maskCode(s: MegaflowSubtable, key: Uint32Array, out: number[]): void {
    out.push(s.idx.length);
    for (let i = 0; i < s.idx.length; i++) out.push(s.idx[i]!, s.mw[i]!, key[s.idx[i]!]! & s.mw[i]!);
  }

  /** Add a translation for the megaflow of `key` (its code starting with `maskCode(sub, key)`). */
  insert(x: CachedXlate, key: Uint32Array): void {
    if (this.size >= this.limit) this.clear();
    const s = x.sub;
    if (!this.subtables.includes(s)) this.subtables.push(s);
    const h = maskedHash(key, s.idx, s.mw, x.recirc);
    x.next = s.map.get(h) ?? null;
    s.map.set(h, x);
    this.size++;
    const eh = emcHash(key, x.recirc);
    const slot = eh & EMC_MASK;
    this.emc[this.emc[slot] === null ? slot : (eh >>> 16) & EMC_MASK] = x;
  }

  /** Drop everything. */
  clear(): void {
    for (const s of this.subtables) s.map.clear();
    this.subtables = [];
    this.emc.fill(null);
    this.size = 0;
  }
}
