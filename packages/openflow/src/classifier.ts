/**
 * The classifier: tuple-space search behind a megaflow-style cache.
 *
 * Rules with the same mask share a subtable: a hash table keyed on the packet key's masked words
 * (only the words the mask touches are hashed). A lookup visits subtables in decreasing order of
 * the highest priority they hold and stops as soon as the next subtable's maximum priority cannot
 * beat the best rule found, so most lookups touch a few subtables.
 *
 * Insertion and removal cost O(1) amortised in the number of subtables, as in OVS (a `cmap` of
 * subtables keyed by mask and a `pvector` ordered by maximum priority). Subtables are found by a
 * hash of their mask (a map from that hash to the few subtables sharing it). The visiting order is
 * kept as priority groups: one group per distinct maximum priority, holding its subtables in an
 * array (a subtable knows its slot, so leaving a group is a swap with the last), and the groups in
 * an array sorted by priority, descending. A rule that raises or lowers its subtable's maximum
 * moves the subtable between two groups in O(1); only a priority that no subtable had before
 * inserts a group (a binary search and one array splice over the distinct priorities, at most
 * 65,536 in OpenFlow, independent of the number of subtables). Nothing is ever re-sorted.
 * Lookups walk one flat array, the groups laid end to end; the first lookup after the groups
 * changed rebuilds it (a copy of the subtable pointers, as OVS's `pvector_publish` does, and only
 * when a lookup needs it: a bulk insert of 50k masks flattens once, not 50k times).
 *
 * A subtable is an open-addressing hash table in one `Int32Array`: per slot the hash, the bucket
 * id, the priority and the caller's tag of the bucket's first rule, and the masked words. A search
 * compares the words and the priorities in place and touches no rule object until it knows the
 * winner; `find` then returns the winner's payload from a per-subtable array indexed by bucket id,
 * and its tag from the slot (the switch tags a rule with its compiled actions, op-code.ts). On a
 * large table each of those is a load that misses the CPU caches, so a miss costs the slot and
 * one array element, not a chain of bucket, rule and entry. A large subtable also keeps a small
 * hash filter in front of its slots, so a probe that finds nothing mostly loads no slot.
 *
 * The cache remembers the answer for every key that agrees with the looked-up key on the union of
 * the masks of the subtables that lookup visited (OVS's megaflow idea): any such key visits the
 * same subtables, lands in the same buckets and stops at the same point, so it gets the same
 * answer. Because subtables are visited in a fixed order (groups in priority order, each group's
 * array in its order), the visited set is always a prefix of that order, so the cache keeps one
 * hash table per prefix length; a key can hit at most one of them. Any insert or removal bumps the
 * table generation and empties the cache (the order within a group may change then). Hits
 * allocate nothing.
 *
 * Ties: OVS leaves the choice between overlapping rules of equal priority undefined. Here the rule
 * inserted first wins (each rule gets an increasing sequence number), on every path, so the result
 * is deterministic and the same as the linear oracle in the tests.
 */
import { OpenFlowError } from './errors.js';
import { KEY_WORDS } from './flowkey.js';
import { Match } from './match.js';

/** A rule held by a classifier. */
export interface ClsRule<T> {
  /**
   * What it matches (normalised: value within mask). Built on each read from the subtable's mask
   * and the rule's slot (the classifier stores no per-rule `Match`: at 100k rules that was ~1 KB
   * each); a removed rule keeps the match it had.
   */
  readonly match: Match;
  /** The same match written into `m` (cleared first): no allocation, for scans over many rules. */
  matchInto(m: Match): Match;
  /** Higher wins (an integer in the int32 range). */
  readonly priority: number;
  /** The caller's data (a flow entry). */
  readonly payload: T;
  /** Insertion sequence number: the lower wins among equal priorities. */
  readonly seq: number;
  /** The caller's number for the payload, kept in the slot while the rule tops its bucket (see `foundTag`; -1: none). */
  tag: number;
}

/** A bucket: one rule, or several sorted (see `Subtable.bks`); null once empty. */
type Bucket<T> = Rule<T> | Rule<T>[] | null;

/** A bucket's first rule (the one its slot describes). */
function topOf<T>(b: Rule<T> | Rule<T>[]): Rule<T> {
  return Array.isArray(b) ? b[0]! : b;
}

/** True when `rule` is in bucket `b`. */
function inBucket<T>(b: Bucket<T>, rule: Rule<T>): boolean {
  return b === rule || (Array.isArray(b) && b.includes(rule));
}

/** A classifier's rule: where its bucket is, so that its match and its removal need no stored `Match`. */
class Rule<T> implements ClsRule<T> {
  /** The match, once removed (or when the subtable went away with `clear`). */
  private kept: Match | null = null;
  constructor(
    /** Its subtable; null once removed. */
    public st: Subtable<T> | null,
    /** Its bucket's id in `st`. */
    public id: number,
    readonly priority: number,
    readonly payload: T,
    readonly seq: number,
    /** The caller's tag (see `insert`). */
    public tag: number,
  ) {}

  get match(): Match {
    return this.st === null ? this.kept! : slotMatch(this.st, this.st.slotOf[this.id]!, new Match());
  }

  matchInto(m: Match): Match {
    if (this.st === null) {
      m.value.set(this.kept!.value);
      m.mask.set(this.kept!.mask);
      return m;
    }
    m.value.fill(0);
    m.mask.fill(0);
    return slotMatch(this.st, this.st.slotOf[this.id]!, m);
  }

  /** Leave the subtable, keeping the match. */
  detach(): void {
    this.kept = this.match;
    this.st = null;
  }
}

/** Write into `m` (all zeros) the match of the bucket at slot `o` of `st`: the subtable's mask, the slot's value words. */
function slotMatch<T>(st: Subtable<T>, o: number, m: Match): Match {
  const idx = st.idx;
  for (let i = 0; i < idx.length; i++) {
    m.mask[idx[i]!] = st.mw[i]!;
    m.value[idx[i]!] = st.tab[o + SLOT_HEAD + i]!;
  }
  return m;
}

interface Subtable<T> {
  /** False once the subtable left its classifier (its last rule went, or `clear`). */
  live: boolean;
  /** The slot (offset in `tab`) of each bucket, by id. */
  slotOf: number[];
  /** The mask words this subtable hashes (indices into the key). */
  idx: Int32Array;
  /** The mask words at those indices. */
  mw: Uint32Array;
  /**
   * Open-addressing hash table, one slot of `stride` = 4 + idx.length int32s: the hash, the bucket
   * id (-1 empty, -2 removed), the priority and the tag of the bucket's top rule, then the rule
   * value's words at `idx`. Probing compares the words in place and the priority is read from the slot, so a
   * lookup touches one or two cache lines of this array per subtable, and only the winning
   * subtable's rule object.
   */
  tab: Int32Array;
  /** Slots - 1 (a power of two minus one). */
  capMask: number;
  /**
   * On a large table, a filter of the hashes present: a 32-bit word per 8 slots (indexed by the
   * hash's low bits) with two bits set per value (from its high bits). A probe whose two bits are
   * not both set finds nothing and skips the slot array: the filter's few kilobytes stay in the
   * CPU caches where the slots do not. Bits of removed values stay until the next rebuild. Null
   * while the table is small (the slots are then as close as the filter would be).
   */
  bloom: Int32Array | null;
  /** Filter words - 1. */
  bloomMask: number;
  /** Values removed since the filter was built (it is rebuilt when they outnumber the live ones). */
  bloomStale: number;
  /** Slots in use (live or removed). */
  filled: number;
  /**
   * Buckets by id: rules with the same value, sorted by priority desc, then seq asc; a bucket of
   * one rule is the rule itself (no array per flow: most buckets hold one rule).
   */
  bks: Bucket<T>[];
  /**
   * The payload of each bucket's first rule, by id: what `find` returns, one load from the slot
   * (the rule object and the bucket array stay cold).
   */
  pay: (T | null)[];
  /** Free bucket ids. */
  freeIds: number[];
  maxPriority: number;
  count: number;
  /**
   * Count of rules per priority, to maintain `maxPriority` on removal; null while every rule has
   * priority `maxPriority` (most subtables, and a map is costly per subtable).
   */
  prios: Map<number, number> | null;
  /** Hash of the mask (the key of the classifier's subtable map). */
  maskHash: number;
  /** The priority group holding this subtable (the one of `maxPriority`), and its slot there. */
  group: PrioGroup<T> | null;
  gpos: number;
}

/** The subtables whose highest priority is `priority`, in visiting order. */
interface PrioGroup<T> {
  priority: number;
  sts: Subtable<T>[];
}

interface CacheEntry<T> {
  /** The key's words under the prefix's union mask, at the union's word indices. */
  words: Uint32Array;
  rule: ClsRule<T> | null;
  next: CacheEntry<T> | null;
}

interface CachePrefix<T> {
  idx: Int32Array;
  mw: Uint32Array;
  map: Map<number, CacheEntry<T>>;
}

function hashWords(key: Uint32Array, idx: Int32Array, mw: Uint32Array): number {
  let h = 0x9747b28c | 0;
  for (let i = 0; i < idx.length; i++) {
    let k = (key[idx[i]!]! & mw[i]!) | 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= idx.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** The slot (index of its first int32) holding `key`'s masked words in `st`, or -1. */
function findSlot<T>(st: Subtable<T>, key: Uint32Array, h: number): number {
  const tab = st.tab;
  const idx = st.idx;
  const mw = st.mw;
  const n = idx.length;
  const stride = n + SLOT_HEAD;
  const capMask = st.capMask;
  for (let slot = h & capMask; ; slot = (slot + 1) & capMask) {
    const o = slot * stride;
    const b = tab[o + 1]!;
    if (b === -1) return -1;
    if (b >= 0 && tab[o] === h) {
      let i = 0;
      while (i < n && (key[idx[i]!]! & mw[i]!) === tab[o + SLOT_HEAD + i]) i++;
      if (i === n) return o;
    }
  }
}

/** Slots from which a subtable keeps a filter in front of its slot array (see `Subtable.bloom`). */
const BLOOM_MIN_SLOTS = 2048;

/** The two filter bits of hash `h` (in the word `h & bloomMask`). */
function bloomBits(h: number): number {
  return (1 << ((h >>> 22) & 31)) | (1 << ((h >>> 27) & 31));
}

/** Rebuild `st`'s filter from its live slots (or drop it while the table is small). */
function buildBloom<T>(st: Subtable<T>): void {
  const cap = st.capMask + 1;
  st.bloomStale = 0;
  if (cap < BLOOM_MIN_SLOTS) {
    st.bloom = null;
    st.bloomMask = 0;
    return;
  }
  const words = cap >>> 3;
  const bloom = new Int32Array(words);
  const stride = st.idx.length + SLOT_HEAD;
  const tab = st.tab;
  for (let o = 0; o < tab.length; o += stride) {
    if (tab[o + 1]! < 0) continue;
    const h = tab[o]!;
    bloom[h & (words - 1)] |= bloomBits(h);
  }
  st.bloom = bloom;
  st.bloomMask = words - 1;
}

/** Int32s of a slot before the value words: hash, bucket id, top priority, top tag. */
const SLOT_HEAD = 4;

function newTable(n: number, cap: number): Int32Array {
  const t = new Int32Array(cap * (n + SLOT_HEAD));
  for (let o = 1; o < t.length; o += n + SLOT_HEAD) t[o] = -1;
  return t;
}

/** Put bucket `id` for `value` (not present) with top priority `prio` and tag `tag` into the table, growing it when half full. */
function putSlot<T>(st: Subtable<T>, value: Uint32Array, h: number, id: number, prio: number, tag: number): void {
  const n = st.idx.length;
  const stride = n + SLOT_HEAD;
  if ((st.filled + 1) * 2 > st.capMask + 1) {
    const old = st.tab;
    const cap = (st.capMask + 1) * 2;
    st.tab = newTable(n, cap);
    st.capMask = cap - 1;
    st.filled = 0;
    for (let o = 0; o < old.length; o += stride) {
      if (old[o + 1]! < 0) continue;
      let slot = old[o]! & st.capMask;
      while (st.tab[slot * stride + 1] !== -1) slot = (slot + 1) & st.capMask;
      st.tab.set(old.subarray(o, o + stride), slot * stride);
      st.slotOf[old[o + 1]!] = slot * stride;
      st.filled++;
    }
    buildBloom(st);
  }
  const tab = st.tab;
  let slot = h & st.capMask;
  while (tab[slot * stride + 1]! >= 0) slot = (slot + 1) & st.capMask;
  const o = slot * stride;
  if (tab[o + 1] === -1) st.filled++;
  tab[o] = h;
  tab[o + 1] = id;
  tab[o + 2] = prio;
  st.slotOf[id] = o;
  tab[o + 3] = tag;
  for (let i = 0; i < n; i++) tab[o + SLOT_HEAD + i] = value[st.idx[i]!]! & st.mw[i]!;
  if (st.bloom !== null) st.bloom[h & st.bloomMask] |= bloomBits(h);
}

/** Hash of a whole mask: its non-zero words and their positions. */
function hashMask(mask: Uint32Array): number {
  let h = 0x2c1b3c6d | 0;
  for (let i = 0; i < KEY_WORDS; i++) {
    const w = mask[i]!;
    if (w === 0) continue;
    h = Math.imul(h ^ i, 0x9e3779b1);
    h = Math.imul(h ^ w, 0x85ebca6b);
    h ^= h >>> 15;
  }
  return h;
}

/** True when `mask` is the subtable's mask (the words at `idx` equal `mw`, all others zero). */
function isMaskOf<T>(st: Subtable<T>, mask: Uint32Array): boolean {
  const idx = st.idx;
  let j = 0;
  for (let i = 0; i < KEY_WORDS; i++) {
    const w = mask[i]!;
    if (j < idx.length && idx[j] === i) {
      if (w !== st.mw[j]) return false;
      j++;
    } else if (w !== 0) return false;
  }
  return true;
}

function better<T>(a: Rule<T>, b: Rule<T> | null): boolean {
  return b === null || a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}

/** Lookup statistics, for benchmarks and tests. */
export interface ClassifierStats {
  /** Lookups answered by the cache. */
  hits: number;
  /** Lookups that searched the subtables. */
  misses: number;
  /** Subtables visited on misses. */
  subtablesVisited: number;
}

/** Tuple-space-search classifier with a megaflow cache. */
export class Classifier<T> {
  /** Subtables by the hash of their mask (a list, for the rare masks whose hashes collide). */
  private byMask = new Map<number, Subtable<T>[]>();
  /** Priority groups, highest priority first: the visiting order. */
  private order: PrioGroup<T>[] = [];
  /** Priority groups by priority. */
  private groups = new Map<number, PrioGroup<T>>();
  private nSubtables = 0;
  /** The groups' subtables end to end (the visiting order), valid while `flatDirty` is false. */
  private flat: Subtable<T>[] = [];
  private flatDirty = false;
  private seq = 0;
  private nRules = 0;
  /** Bumped on every insert and removal; the cache is valid for one generation. */
  generation = 0;
  /**
   * Bumped with `generation`; several classifiers may share one (a switch's tables do, so one
   * number tells its translation cache that some table changed).
   */
  epoch: { value: number } = { value: 0 };
  private cacheGen = -1;
  private cache: (CachePrefix<T> | undefined)[] = [];
  private cacheEntries = 0;
  /** Cache entries kept before the cache is flushed. */
  cacheLimit = 1 << 16;
  /** Set to false to disable the cache (the plain tuple-space search). */
  useCache = true;
  /** Counters. */
  readonly stats: ClassifierStats = { hits: 0, misses: 0, subtablesVisited: 0 };

  /** Number of rules. */
  get size(): number {
    return this.nRules;
  }
  /** Number of distinct masks. */
  get subtableCount(): number {
    return this.nSubtables;
  }

  /** The subtable with exactly this mask, if any. */
  private subtableOf(mask: Uint32Array, h = hashMask(mask)): Subtable<T> | undefined {
    const list = this.byMask.get(h);
    if (list === undefined) return undefined;
    for (const st of list) if (isMaskOf(st, mask)) return st;
    return undefined;
  }

  /** Put `st` into the group of its `maxPriority` (creating the group in order if new). */
  private place(st: Subtable<T>): void {
    const p = st.maxPriority;
    let g = this.groups.get(p);
    if (g === undefined) {
      g = { priority: p, sts: [] };
      this.groups.set(p, g);
      const order = this.order;
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (order[mid]!.priority > p) lo = mid + 1;
        else hi = mid;
      }
      order.splice(lo, 0, g);
    }
    st.group = g;
    st.gpos = g.sts.length;
    g.sts.push(st);
    this.flatDirty = true;
  }

  /** Take `st` out of its group (swapping the group's last subtable into its slot). */
  private unplace(st: Subtable<T>): void {
    const g = st.group!;
    const last = g.sts.pop()!;
    if (last !== st) {
      g.sts[st.gpos] = last;
      last.gpos = st.gpos;
    }
    st.group = null;
    this.flatDirty = true;
    if (g.sts.length === 0) {
      this.groups.delete(g.priority);
      const order = this.order;
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (order[mid]!.priority > g.priority) lo = mid + 1;
        else hi = mid;
      }
      order.splice(lo, 1);
    }
  }

  /** The subtables in visiting order (rebuilt from the groups after they changed). */
  private visitOrder(): Subtable<T>[] {
    if (!this.flatDirty) return this.flat;
    const flat: Subtable<T>[] = new Array(this.nSubtables);
    let n = 0;
    for (const g of this.order) for (const st of g.sts) flat[n++] = st;
    this.flat = flat;
    this.flatDirty = false;
    return flat;
  }

  /**
   * Add a rule; returns its handle (for `remove`). Identical rules may coexist; see `findExact`.
   * `tag`: an int32 of the caller's, returned in `foundTag` when `find` answers with this rule.
   */
  insert(match: Match, priority: number, payload: T, tag = -1): ClsRule<T> {
    // Slots hold the priority as an int32 (OpenFlow's are 0..65535).
    if (priority !== (priority | 0)) throw new OpenFlowError('OFPFMFC_BAD_PRIORITY', `priority ${priority} is not a 32-bit integer`);
    const seq = this.seq++;
    const mh = hashMask(match.mask);
    let st = this.subtableOf(match.mask, mh);
    if (!st) {
      const idxs: number[] = [];
      for (let i = 0; i < KEY_WORDS; i++) if (match.mask[i] !== 0) idxs.push(i);
      const idx = Int32Array.from(idxs);
      st = {
        live: true,
        slotOf: [],
        idx,
        mw: Uint32Array.from(idxs.map((i) => match.mask[i]!)),
        tab: newTable(idxs.length, 8),
        capMask: 7,
        bloom: null,
        bloomMask: 0,
        bloomStale: 0,
        filled: 0,
        bks: [],
        pay: [],
        freeIds: [],
        maxPriority: priority,
        count: 0,
        prios: null,
        maskHash: mh,
        group: null,
        gpos: 0,
      };
      const list = this.byMask.get(mh);
      if (list === undefined) this.byMask.set(mh, [st]);
      else list.push(st);
      this.nSubtables++;
      this.place(st);
    }
    const h = hashWords(match.value, st.idx, st.mw);
    const o = findSlot(st, match.value, h);
    let rule: Rule<T>;
    if (o >= 0) {
      const id = st.tab[o + 1]!;
      rule = new Rule(st, id, priority, payload, seq, tag);
      const cur = st.bks[id]!;
      const b = Array.isArray(cur) ? cur : [cur];
      st.bks[id] = b;
      let at = b.length;
      while (at > 0 && better(rule, b[at - 1]!)) at--;
      b.splice(at, 0, rule);
      if (at === 0) {
        st.pay[id] = payload;
        st.tab[o + 2] = priority;
        st.tab[o + 3] = tag;
      }
    } else {
      const id = st.freeIds.length > 0 ? st.freeIds.pop()! : st.bks.length;
      rule = new Rule(st, id, priority, payload, seq, tag);
      st.bks[id] = rule;
      st.pay[id] = payload;
      putSlot(st, match.value, h, id, priority, tag);
    }
    if (st.prios !== null) st.prios.set(priority, (st.prios.get(priority) ?? 0) + 1);
    else if (priority !== st.maxPriority) {
      st.prios = new Map([
        [st.maxPriority, st.count],
        [priority, 1],
      ]);
    }
    st.count++;
    if (priority > st.maxPriority) {
      this.unplace(st);
      st.maxPriority = priority;
      this.place(st);
    }
    this.nRules++;
    this.changed();
    return rule;
  }

  /** Remove a rule by handle; returns false if it was not present. */
  remove(handle: ClsRule<T>): boolean {
    if (!(handle instanceof Rule)) return false;
    const rule = handle as Rule<T>;
    const st = rule.st;
    if (st === null || !st.live) return false;
    const id = rule.id;
    const o = st.slotOf[id]!;
    const cur = st.bks[id];
    if (!inBucket(cur, rule)) return false;
    const b = Array.isArray(cur) ? cur : [cur!];
    const i = b.indexOf(rule);
    rule.detach();
    b.splice(i, 1);
    if (b.length === 1) st.bks[id] = b[0]!;
    if (b.length === 0) {
      st.bks[id] = null;
      st.pay[id] = null;
      st.freeIds.push(id);
      st.tab[o + 1] = -2;
      if (st.bloom !== null && ++st.bloomStale > st.count) buildBloom(st);
    } else if (i === 0) {
      st.pay[id] = b[0]!.payload;
      st.tab[o + 2] = b[0]!.priority;
      st.tab[o + 3] = b[0]!.tag;
    }
    st.count--;
    this.nRules--;
    const prios = st.prios;
    if (st.count === 0) {
      st.live = false;
      this.unplace(st);
      const list = this.byMask.get(st.maskHash)!;
      if (list.length === 1) this.byMask.delete(st.maskHash);
      else list.splice(list.indexOf(st), 1);
      this.nSubtables--;
    } else if (prios !== null) {
      const c = prios.get(rule.priority)! - 1;
      if (c > 0) prios.set(rule.priority, c);
      else {
        prios.delete(rule.priority);
        if (rule.priority === st.maxPriority) {
          let max = -Infinity;
          for (const p of prios.keys()) if (p > max) max = p;
          this.unplace(st);
          st.maxPriority = max;
          this.place(st);
        }
        if (prios.size === 1) st.prios = null;
      }
    }
    this.changed();
    return true;
  }

  /** Change a rule's tag (the caller's payload changed what its tag stands for); false if the rule is not present. */
  retag(handle: ClsRule<T>, tag: number): boolean {
    if (!(handle instanceof Rule)) return false;
    const rule = handle as Rule<T>;
    const st = rule.st;
    if (st === null || !st.live) return false;
    const b = st.bks[rule.id]!;
    if (!inBucket(b, rule)) return false;
    rule.tag = tag;
    if (topOf(b) === rule) st.tab[st.slotOf[rule.id]! + 3] = tag;
    return true;
  }

  /** The first-inserted rule with exactly this match and priority (OVS's "identical flow"). */
  findExact(match: Match, priority: number): ClsRule<T> | undefined {
    const st = this.subtableOf(match.mask);
    if (!st) return undefined;
    const o = findSlot(st, match.value, hashWords(match.value, st.idx, st.mw));
    if (o < 0) return undefined;
    // A bucket's rules all have this mask and these masked words: the same (normalised) match.
    const b = st.bks[st.tab[o + 1]!]!;
    return Array.isArray(b) ? b.find((r) => r.priority === priority) : b.priority === priority ? b : undefined;
  }

  /** Every rule, in no particular order. */
  *rules(): IterableIterator<ClsRule<T>> {
    for (const list of this.byMask.values()) for (const st of list) for (const b of st.bks) if (Array.isArray(b)) yield* b;
    else if (b) yield b;
  }

  /** Remove every rule. */
  clear(): void {
    for (const list of this.byMask.values()) {
      for (const st of list) {
        for (const b of st.bks) if (Array.isArray(b)) for (const r of b) r.detach();
        else if (b) b.detach();
        st.live = false;
      }
    }
    this.byMask = new Map();
    this.order = [];
    this.groups = new Map();
    this.nSubtables = 0;
    this.flat = [];
    this.flatDirty = false;
    this.nRules = 0;
    this.changed();
  }

  /** Drop cached answers (e.g. when the payloads changed meaning); bumps `generation` and `epoch`. */
  invalidate(): void {
    this.generation++;
    this.epoch.value++;
  }

  private changed(): void {
    this.generation++;
    this.epoch.value++;
  }

  /** The highest-priority rule matching `key` (a `FlowKey.w`), or null. */
  lookup(key: Uint32Array): ClsRule<T> | null {
    if (!this.useCache) return this.search(key);
    if (this.cacheGen !== this.generation) this.flushCache();
    const cache = this.cache;
    for (let p = 0; p < cache.length; p++) {
      const cp = cache[p];
      if (cp === undefined) continue;
      let e: CacheEntry<T> | null | undefined = cp.map.get(hashWords(key, cp.idx, cp.mw));
      while (e !== undefined && e !== null) {
        if (entryMatches(e, key, cp.idx, cp.mw)) {
          this.stats.hits++;
          this.lastVisited = p;
          return e.rule;
        }
        e = e.next;
      }
    }
    const rule = this.search(key);
    this.remember(key, this.lastVisited, rule);
    return rule;
  }

  /** Subtables the last `search` visited (or that the cached answer of the last `lookup` stands for). */
  lastVisited = 0;

  /** OR into `wc` the mask of every key bit the last `lookup`/`search` consulted. */
  orConsulted(wc: Uint32Array): void {
    const n = this.lastVisited;
    const sts = this.visitOrder();
    for (let s = 0; s < n; s++) {
      const st = sts[s]!;
      for (let i = 0; i < st.idx.length; i++) {
        const j = st.idx[i]!;
        wc[j] = (wc[j]! | st.mw[i]!) >>> 0;
      }
    }
  }

  /** Search the subtables without the cache (sets `lastVisited`). */
  search(key: Uint32Array): ClsRule<T> | null {
    return this.probe(key) ? topOf(this.hitSt!.bks[this.hitId]!) : null;
  }

  /**
   * The payload of the highest-priority rule matching `key` (a `FlowKey.w`), or null; its priority
   * in `foundPriority`. The same answer as `lookup`, with fewer loads on a search: the winner's
   * payload comes straight from its subtable, the rule object is not touched. Its tag (see `insert`)
   * in `foundTag`, read from the slot too.
   */
  find(key: Uint32Array): T | null {
    if (this.useCache) {
      const r = this.lookup(key);
      if (r === null) return null;
      this.foundPriority = r.priority;
      this.foundTag = r.tag;
      return r.payload;
    }
    if (!this.probe(key)) return null;
    return this.hitSt!.pay[this.hitId]!;
  }

  /** The priority of the rule the last successful `find` returned. */
  foundPriority = 0;
  /** The tag of the rule the last successful `find` returned. */
  foundTag = -1;
  /** Where the last successful `probe` found its answer: the subtable and the bucket id. */
  private hitSt: Subtable<T> | null = null;
  private hitId = 0;

  /** The tuple-space search: true when some rule matches (see `hitSt`, `hitId`, `foundPriority`). */
  private probe(key: Uint32Array): boolean {
    this.stats.misses++;
    // The best bucket so far: its subtable, id and priority (read from the slot; a rule object is
    // loaded only to break a tie by sequence number).
    let bestSt: Subtable<T> | null = null;
    let bestId = -1;
    let bestPrio = 0;
    let bestTag = -1;
    const sts = this.visitOrder();
    let n = 0;
    for (; n < sts.length; n++) {
      const st = sts[n]!;
      if (bestSt !== null && st.maxPriority < bestPrio) break;
      const h = hashWords(key, st.idx, st.mw);
      const bloom = st.bloom;
      if (bloom !== null) {
        const bits = bloomBits(h);
        if ((bloom[h & st.bloomMask]! & bits) !== bits) continue;
      }
      const o = findSlot(st, key, h);
      if (o < 0) continue;
      // Every rule of the bucket has exactly the key's words under this mask: the first is this subtable's answer.
      const id = st.tab[o + 1]!;
      const p = st.tab[o + 2]!;
      if (bestSt === null || p > bestPrio || (p === bestPrio && topOf(st.bks[id]!).seq < topOf(bestSt.bks[bestId]!).seq)) {
        bestSt = st;
        bestId = id;
        bestPrio = p;
        bestTag = st.tab[o + 3]!;
      }
    }
    this.stats.subtablesVisited += n;
    this.lastVisited = n;
    if (bestSt === null) return false;
    this.hitSt = bestSt;
    this.hitId = bestId;
    this.foundPriority = bestPrio;
    this.foundTag = bestTag;
    return true;
  }

  private flushCache(): void {
    this.cache = [];
    this.cacheEntries = 0;
    this.cacheGen = this.generation;
  }

  private remember(key: Uint32Array, visited: number, rule: ClsRule<T> | null): void {
    if (this.cacheEntries >= this.cacheLimit) this.flushCache();
    let cp = this.cache[visited];
    if (!cp) {
      const union = new Uint32Array(KEY_WORDS);
      const was = this.lastVisited;
      this.lastVisited = visited;
      this.orConsulted(union);
      this.lastVisited = was;
      const idxs: number[] = [];
      for (let i = 0; i < KEY_WORDS; i++) if (union[i] !== 0) idxs.push(i);
      cp = { idx: Int32Array.from(idxs), mw: Uint32Array.from(idxs.map((i) => union[i]!)), map: new Map() };
      this.cache[visited] = cp;
    }
    const words = new Uint32Array(cp.idx.length);
    for (let i = 0; i < cp.idx.length; i++) words[i] = (key[cp.idx[i]!]! & cp.mw[i]!) >>> 0;
    const h = hashWords(key, cp.idx, cp.mw);
    cp.map.set(h, { words, rule, next: cp.map.get(h) ?? null });
    this.cacheEntries++;
  }

  /** The mask of fields the cached answer for `key` depends on (for traces), or null if not cached. */
  consultedMask(key: Uint32Array): Uint32Array | null {
    if (this.cacheGen !== this.generation) return null;
    for (const cp of this.cache) {
      if (!cp) continue;
      for (let e = cp.map.get(hashWords(key, cp.idx, cp.mw)) ?? null; e; e = e.next) {
        if (entryMatches(e, key, cp.idx, cp.mw)) {
          const m = new Uint32Array(KEY_WORDS);
          for (let i = 0; i < cp.idx.length; i++) m[cp.idx[i]!] = cp.mw[i]!;
          return m;
        }
      }
    }
    return null;
  }
}

function entryMatches<T>(e: CacheEntry<T>, key: Uint32Array, idx: Int32Array, mw: Uint32Array): boolean {
  const w = e.words;
  for (let i = 0; i < idx.length; i++) if (((key[idx[i]!]! & mw[i]!) >>> 0) !== w[i]) return false;
  return true;
}
