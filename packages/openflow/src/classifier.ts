/**
 * The classifier: tuple-space search behind a megaflow-style cache.
 *
 * Rules with the same mask share a subtable: a hash table keyed on the packet key's masked words
 * (only the words the mask touches are hashed). A lookup visits subtables in decreasing order of
 * the highest priority they hold and stops as soon as the next subtable's maximum priority cannot
 * beat the best rule found, so most lookups touch a few subtables.
 *
 * The cache remembers the answer for every key that agrees with the looked-up key on the union of
 * the masks of the subtables that lookup visited (OVS's megaflow idea): any such key visits the
 * same subtables, lands in the same buckets and stops at the same point, so it gets the same
 * answer. Because subtables are visited in a fixed order, the visited set is always a prefix of
 * that order, so the cache keeps one hash table per prefix length; a key can hit at most one of
 * them. Any insert or removal bumps the table generation and empties the cache. Hits allocate
 * nothing.
 *
 * Ties: OVS leaves the choice between overlapping rules of equal priority undefined. Here the rule
 * inserted first wins (each rule gets an increasing sequence number), on every path, so the result
 * is deterministic and the same as the linear oracle in the tests.
 */
import { KEY_WORDS } from './flowkey.js';
import type { Match } from './match.js';

/** A rule held by a classifier. */
export interface ClsRule<T> {
  /** What it matches (normalised: value within mask). */
  readonly match: Match;
  /** Higher wins. */
  readonly priority: number;
  /** The caller's data (a flow entry). */
  readonly payload: T;
  /** Insertion sequence number: the lower wins among equal priorities. */
  readonly seq: number;
}

interface Subtable<T> {
  /** The mask words this subtable hashes (indices into the key). */
  idx: Int32Array;
  /** The mask words at those indices. */
  mw: Uint32Array;
  /** Full mask, for identity. */
  mask: Uint32Array;
  /**
   * Open-addressing hash table, one slot of `stride` = 2 + idx.length int32s: the hash, the bucket
   * id (-1 empty, -2 removed), then the rule value's words at `idx`. Probing compares the words in
   * place, so a lookup touches one or two cache lines of this array, then the bucket it finds.
   */
  tab: Int32Array;
  /** Slots - 1 (a power of two minus one). */
  capMask: number;
  /** Slots in use (live or removed). */
  filled: number;
  /** Buckets by id: rules with the same value, sorted by priority desc, then seq asc. */
  bks: (ClsRule<T>[] | null)[];
  /** Free bucket ids. */
  freeIds: number[];
  maxPriority: number;
  count: number;
  /** Count of rules per priority, to maintain `maxPriority` on removal. */
  prios: Map<number, number>;
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
  const stride = n + 2;
  const capMask = st.capMask;
  for (let slot = h & capMask; ; slot = (slot + 1) & capMask) {
    const o = slot * stride;
    const b = tab[o + 1]!;
    if (b === -1) return -1;
    if (b >= 0 && tab[o] === h) {
      let i = 0;
      while (i < n && (key[idx[i]!]! & mw[i]!) === tab[o + 2 + i]) i++;
      if (i === n) return o;
    }
  }
}

function newTable(n: number, cap: number): Int32Array {
  const t = new Int32Array(cap * (n + 2));
  for (let o = 1; o < t.length; o += n + 2) t[o] = -1;
  return t;
}

/** Put bucket `id` for `value` (not present) into the table, growing it when half full. */
function putSlot<T>(st: Subtable<T>, value: Uint32Array, h: number, id: number): void {
  const n = st.idx.length;
  const stride = n + 2;
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
      st.filled++;
    }
  }
  const tab = st.tab;
  let slot = h & st.capMask;
  while (tab[slot * stride + 1]! >= 0) slot = (slot + 1) & st.capMask;
  const o = slot * stride;
  if (tab[o + 1] === -1) st.filled++;
  tab[o] = h;
  tab[o + 1] = id;
  for (let i = 0; i < n; i++) tab[o + 2 + i] = value[st.idx[i]!]! & st.mw[i]!;
}

function sameMask(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < KEY_WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}

function better<T>(a: ClsRule<T>, b: ClsRule<T> | null): boolean {
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
  private subtables: Subtable<T>[] = [];
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
    return this.subtables.length;
  }

  /** Add a rule; returns its handle (for `remove`). Identical rules may coexist; see `findExact`. */
  insert(match: Match, priority: number, payload: T): ClsRule<T> {
    const rule: ClsRule<T> = { match, priority, payload, seq: this.seq++ };
    let st = this.subtables.find((s) => sameMask(s.mask, match.mask));
    if (!st) {
      const idxs: number[] = [];
      for (let i = 0; i < KEY_WORDS; i++) if (match.mask[i] !== 0) idxs.push(i);
      const idx = Int32Array.from(idxs);
      st = {
        idx,
        mw: Uint32Array.from(idxs.map((i) => match.mask[i]!)),
        mask: match.mask.slice(),
        tab: newTable(idxs.length, 8),
        capMask: 7,
        filled: 0,
        bks: [],
        freeIds: [],
        maxPriority: priority,
        count: 0,
        prios: new Map(),
      };
      this.subtables.push(st);
    }
    const h = hashWords(match.value, st.idx, st.mw);
    const o = findSlot(st, match.value, h);
    let b: ClsRule<T>[];
    if (o >= 0) b = st.bks[st.tab[o + 1]!]!;
    else {
      b = [];
      const id = st.freeIds.length > 0 ? st.freeIds.pop()! : st.bks.length;
      st.bks[id] = b;
      putSlot(st, match.value, h, id);
    }
    let at = b.length;
    while (at > 0 && better(rule, b[at - 1]!)) at--;
    b.splice(at, 0, rule);
    st.count++;
    st.prios.set(priority, (st.prios.get(priority) ?? 0) + 1);
    if (priority > st.maxPriority) st.maxPriority = priority;
    this.nRules++;
    this.changed();
    return rule;
  }

  /** Remove a rule by handle; returns false if it was not present. */
  remove(rule: ClsRule<T>): boolean {
    const st = this.subtables.find((s) => sameMask(s.mask, rule.match.mask));
    if (!st) return false;
    const h = hashWords(rule.match.value, st.idx, st.mw);
    const o = findSlot(st, rule.match.value, h);
    const b = o >= 0 ? st.bks[st.tab[o + 1]!]! : null;
    const i = b ? b.indexOf(rule) : -1;
    if (!b || i < 0) return false;
    b.splice(i, 1);
    if (b.length === 0) {
      const id = st.tab[o + 1]!;
      st.bks[id] = null;
      st.freeIds.push(id);
      st.tab[o + 1] = -2;
    }
    st.count--;
    this.nRules--;
    const c = st.prios.get(rule.priority)! - 1;
    if (c === 0) {
      st.prios.delete(rule.priority);
      if (rule.priority === st.maxPriority) st.maxPriority = Math.max(-Infinity, ...st.prios.keys());
    } else st.prios.set(rule.priority, c);
    if (st.count === 0) this.subtables.splice(this.subtables.indexOf(st), 1);
    this.changed();
    return true;
  }

  /** The first-inserted rule with exactly this match and priority (OVS's "identical flow"). */
  findExact(match: Match, priority: number): ClsRule<T> | undefined {
    const st = this.subtables.find((s) => sameMask(s.mask, match.mask));
    if (!st) return undefined;
    const o = findSlot(st, match.value, hashWords(match.value, st.idx, st.mw));
    if (o < 0) return undefined;
    return st.bks[st.tab[o + 1]!]!.find((r) => r.priority === priority && r.match.equals(match));
  }

  /** Every rule, in no particular order. */
  *rules(): IterableIterator<ClsRule<T>> {
    for (const st of this.subtables) for (const b of st.bks) if (b) yield* b;
  }

  /** Remove every rule. */
  clear(): void {
    this.subtables = [];
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
    this.subtables.sort((a, b) => b.maxPriority - a.maxPriority);
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
    for (let s = 0; s < n; s++) {
      const st = this.subtables[s]!;
      for (let i = 0; i < st.idx.length; i++) {
        const j = st.idx[i]!;
        wc[j] = (wc[j]! | st.mw[i]!) >>> 0;
      }
    }
  }

  /** Search the subtables without the cache (sets `lastVisited`). */
  search(key: Uint32Array): ClsRule<T> | null {
    this.stats.misses++;
    let best: ClsRule<T> | null = null;
    const sts = this.subtables;
    let n = 0;
    for (; n < sts.length; n++) {
      const st = sts[n]!;
      if (best !== null && st.maxPriority < best.priority) break;
      const o = findSlot(st, key, hashWords(key, st.idx, st.mw));
      if (o < 0) continue;
      // Every rule of the bucket has exactly the key's words under this mask: the first is this subtable's answer.
      const r = st.bks[st.tab[o + 1]!]![0]!;
      if (best === null || better(r, best)) best = r;
    }
    this.stats.subtablesVisited += n;
    this.lastVisited = n;
    return best;
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
      for (let s = 0; s < visited; s++) {
        const st = this.subtables[s]!;
        for (let i = 0; i < st.idx.length; i++) union[st.idx[i]!] = (union[st.idx[i]!]! | st.mw[i]!) >>> 0;
      }
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
