/**
 * Conjunctive matches (`conjunction(id, k/n)` actions and `conj_id` matches) with the semantics of
 * OVS 3.1's classifier (lib/classifier.c `classifier_lookup__`, `find_conjunctive_match`).
 *
 * A flow whose actions are `conjunction(...)` actions is a *soft* match: matching it only says
 * "clause k of conjunction id is true at priority p". OVS's lookup:
 *  1. find the best *hard* (ordinary) match, priority `hardPri` (or none);
 *  2. among the soft matches with priority > hardPri, take those at the highest priority `p`;
 *     for each conjunction id, OR their clauses into a bitmap; an id whose n clauses are all set
 *     (and with n <= the number of soft matches at `p`) is *complete*;
 *  3. for a complete id, look the packet up again with `conj_id = id`, ignoring soft matches:
 *     the result (whatever flow matches best, usually the `conj_id=id` flow) is the answer;
 *  4. if no complete id gives a flow, drop to the next lower soft priority (still above hardPri)
 *     and repeat; in the end the hard match (or a miss).
 * So a conjunctive match needs every clause at one priority, higher than any hard match; the
 * `conj_id=id` flow can have any priority. When two ids complete at the same priority, OVS tries
 * them in its subtable visiting order; we try them in ascending id order (both engines).
 *
 * Two engines:
 *  - `referenceConjunctiveLookup(rules, key)`: the slow, literal one over a rule list, including
 *    OVS's subtable detail that among rules with an *identical match* only the highest-priority
 *    one is visible to a lookup (the lower ones only when the search drops below it, or never in
 *    the `conj_id` re-lookup if the visible one is soft);
 *  - `ConjunctionTable`: the fast one for the pipeline. Soft flows live in it (not in the main
 *    classifier); it indexes them by mask (tuple space: one hash map per distinct mask) and groups
 *    the matches by priority. `resolve(key, hardPriority, relookup)` does steps 2-4, calling back
 *    the pipeline's ordinary classifier lookup for step 3. It allocates nothing per lookup after
 *    warm-up and costs one comparison when no soft flow outranks the hard match.
 *    Its one divergence from OVS: a hard flow whose match is *identical* to a soft flow's match at
 *    a lower priority stays visible to the `conj_id` re-lookup (OVS hides it behind the soft flow).
 *
 * How the pipeline calls it (per table lookup): `hard = cls.lookup(key.w)` (conj_id = 0 in the key),
 * then `conj.maxPriority > (hard?.priority ?? -1)` ? `conj.resolve(key.w, hardPri, id => { save =
 * w[W.conj_id]; w[W.conj_id] = id; r = cls.lookup(w); w[W.conj_id] = save; return r })` ?? hard : hard.
 * The megaflow (trace) must include the masks of the soft subtables consulted and `conj_id`.
 */
import type { Action } from '../actions.js';
import { KEY_WORDS, W } from '../flowkey.js';
import type { Match } from '../match.js';

/** One `conjunction(id, clause/nClauses)` (clause 1-based, as written). */
export interface ConjClause {
  /** Conjunction id. */
  id: number;
  /** k (1..n). */
  clause: number;
  /** n (2..64). */
  nClauses: number;
}

/** The conjunction clauses of an action list, or null when it is not a pure conjunction flow. */
export function conjunctionClauses(actions: readonly Action[]): ConjClause[] | null {
  if (!actions.length) return null;
  const out: ConjClause[] = [];
  for (const a of actions) {
    if (a.type !== 'conjunction') return null;
    out.push({ id: a.id, clause: a.clause, nClauses: a.nClauses });
  }
  return out;
}

/** A rule for the reference lookup. */
export interface ConjRule<T> {
  /** Its match. */
  match: Match;
  /** Priority. */
  priority: number;
  /** Conjunction clauses (soft flow), or null (hard flow). */
  conj: readonly ConjClause[] | null;
  /** The caller's data. */
  payload: T;
}

/**
 * OVS `find_conjunctive_match` over the soft sets at one priority: returns the complete ids in the
 * order OVS would discover them (set order, then clause order), each once.
 */
function completeIds(sets: ReadonlyArray<readonly ConjClause[]>): number[] {
  const max = sets.length;
  const bits = new Map<number, { lo: number; hi: number; n: number }>();
  const done: number[] = [];
  for (const set of sets) {
    for (const c of set) {
      if (c.nClauses > max) continue;
      let e = bits.get(c.id);
      if (!e) {
        e = { lo: 0, hi: 0, n: c.nClauses };
        bits.set(c.id, e);
      }
      const k = c.clause - 1;
      if (k < 32) e.lo = (e.lo | (1 << k)) >>> 0;
      else e.hi = (e.hi | (1 << (k - 32))) >>> 0;
      if (isComplete(e.lo, e.hi, e.n) && !done.includes(c.id)) done.push(c.id);
    }
  }
  return done;
}

function isComplete(lo: number, hi: number, n: number): boolean {
  // OVS: clauses start as UINT64_MAX << n and are complete when all 64 bits are set.
  if (n >= 32) return lo === 0xffffffff && (n === 64 ? hi === 0xffffffff : (hi | ((0xffffffff << (n - 32)) >>> 0)) >>> 0 === 0xffffffff);
  return ((lo | ((0xffffffff << n) >>> 0)) >>> 0) === 0xffffffff;
}

function sameMatch(a: Match, b: Match): boolean {
  return a.equals(b);
}

/**
 * The literal reference: the rule OVS's classifier returns for `key` over `rules` (see the module
 * comment), or null. Slow (linear scans); for tests.
 */
export function referenceConjunctiveLookup<T>(rules: readonly ConjRule<T>[], key: Uint32Array): ConjRule<T> | null {
  // Group matching rules into chains of identical matches, highest priority first (OVS subtables).
  const matching = rules.filter((r) => r.match.matches(key));
  const chains: ConjRule<T>[][] = [];
  for (const r of [...matching].sort((a, b) => b.priority - a.priority)) {
    const ch = chains.find((c) => sameMatch(c[0]!.match, r.match));
    if (ch) ch.push(r);
    else chains.push([r]);
  }
  const hardLookup = (k: Uint32Array): ConjRule<T> | null => {
    let best: ConjRule<T> | null = null;
    for (const r of rules) {
      if (!r.match.matches(k)) continue;
      // Visible = highest priority among rules with an identical match that also match.
      const top = rules.filter((x) => sameMatch(x.match, r.match) && x.match.matches(k)).reduce((a, b) => (b.priority > a.priority ? b : a));
      if (top !== r || r.conj) continue;
      if (!best || r.priority > best.priority) best = r;
    }
    return best;
  };
  // pos[i]: index of the currently visible rule of chain i (or chain length when exhausted).
  const pos = chains.map(() => 0);
  let hard: ConjRule<T> | null = null;
  for (let i = 0; i < chains.length; i++) {
    const r = chains[i]![0]!;
    if (!r.conj && (!hard || r.priority > hard.priority)) hard = r;
  }
  for (;;) {
    const hardPri = hard ? hard.priority : -Infinity;
    let softPri = -Infinity;
    for (let i = 0; i < chains.length; i++) {
      const r = chains[i]![pos[i]!];
      if (r && r.conj && r.priority > hardPri && r.priority > softPri) softPri = r.priority;
    }
    if (softPri === -Infinity) return hard;
    const sets: (readonly ConjClause[])[] = [];
    const at: number[] = [];
    for (let i = 0; i < chains.length; i++) {
      const r = chains[i]![pos[i]!];
      if (r && r.conj && r.priority === softPri) {
        sets.push(r.conj);
        at.push(i);
      }
    }
    const ids = completeIds(sets).sort((a, b) => a - b);
    for (const id of ids) {
      const k2 = key.slice();
      k2[W.conj_id] = id;
      const got = hardLookup(k2);
      if (got) return got;
    }
    // Drop these chains to their next lower rule.
    for (const i of at) {
      pos[i]!++;
      const nx = chains[i]![pos[i]!];
      if (nx && !nx.conj && (!hard || nx.priority > hard.priority)) hard = nx;
    }
  }
}

interface SoftRule<T> {
  readonly valueKey: string;
  readonly priority: number;
  readonly clauses: readonly ConjClause[];
  readonly payload: T;
}

interface SoftSubtable<T> {
  readonly mask: Uint32Array;
  readonly idx: Int32Array;
  readonly rules: Map<string, SoftRule<T>[]>;
  maxPriority: number;
}

/** Soft (conjunction) flows of one table, with the fast conjunctive resolution. */
export class ConjunctionTable<T> {
  private readonly subtables: SoftSubtable<T>[] = [];
  private readonly byHandle = new Map<T, { st: SoftSubtable<T>; rule: SoftRule<T> }>();
  /** Highest priority of any soft flow (-1 when empty). */
  maxPriority = -1;
  // Per-lookup scratch (reused).
  private readonly hits: SoftRule<T>[] = [];
  private readonly ids: number[] = [];
  private readonly lo: number[] = [];
  private readonly hi: number[] = [];
  private readonly nn: number[] = [];
  private readonly tmp: Uint32Array = new Uint32Array(KEY_WORDS);

  /** Number of soft flows. */
  get size(): number {
    return this.byHandle.size;
  }

  private static valueKey(idx: Int32Array, w: Uint32Array, mask: Uint32Array): string {
    let s = '';
    for (let i = 0; i < idx.length; i++) s += ((w[idx[i]!]! & mask[idx[i]!]!) >>> 0).toString(36) + ',';
    return s;
  }

  /** Add a soft flow (its `payload` is the handle for `remove`). */
  insert(match: Match, priority: number, clauses: readonly ConjClause[], payload: T): void {
    let st = this.subtables.find((s) => s.mask.every((v, i) => v === match.mask[i]));
    if (!st) {
      const idx: number[] = [];
      for (let i = 0; i < KEY_WORDS; i++) if (match.mask[i]) idx.push(i);
      st = { mask: match.mask.slice(), idx: Int32Array.from(idx), rules: new Map(), maxPriority: -1 };
      this.subtables.push(st);
    }
    const vk = ConjunctionTable.valueKey(st.idx, match.value, st.mask);
    const rule: SoftRule<T> = { valueKey: vk, priority, clauses, payload };
    const list = st.rules.get(vk) ?? [];
    list.push(rule);
    list.sort((a, b) => b.priority - a.priority);
    st.rules.set(vk, list);
    if (priority > st.maxPriority) st.maxPriority = priority;
    if (priority > this.maxPriority) this.maxPriority = priority;
    this.subtables.sort((a, b) => b.maxPriority - a.maxPriority);
    this.byHandle.set(payload, { st, rule });
  }

  /** Remove a soft flow by its payload; true when it was there. */
  remove(payload: T): boolean {
    const h = this.byHandle.get(payload);
    if (!h) return false;
    this.byHandle.delete(payload);
    const list = h.st.rules.get(h.rule.valueKey)!;
    list.splice(list.indexOf(h.rule), 1);
    if (!list.length) h.st.rules.delete(h.rule.valueKey);
    h.st.maxPriority = -1;
    for (const l of h.st.rules.values()) for (const r of l) if (r.priority > h.st.maxPriority) h.st.maxPriority = r.priority;
    if (h.st.rules.size === 0) this.subtables.splice(this.subtables.indexOf(h.st), 1);
    this.subtables.sort((a, b) => b.maxPriority - a.maxPriority);
    this.maxPriority = this.subtables.reduce((m, s) => Math.max(m, s.maxPriority), -1);
    return true;
  }

  /**
   * OR into `wc` the masks of the soft subtables `resolve` searches above hard priority
   * `hardPriority` (what its answer depends on besides the `conj_id` lookups).
   */
  orMasks(wc: Uint32Array, hardPriority: number): void {
    for (const st of this.subtables) {
      if (st.maxPriority <= hardPriority) break;
      const m = st.mask;
      for (let i = 0; i < st.idx.length; i++) {
        const j = st.idx[i]!;
        wc[j] = (wc[j]! | m[j]!) >>> 0;
      }
    }
  }

  /**
   * Steps 2-4 of the module comment: the flow a conjunctive match selects for `key`, or null when
   * none does (then the hard match stands). `hardPriority` is the hard match's priority (-1 for a
   * miss). `relookup(conjId)` must look the key up with `conj_id = conjId` among hard flows.
   */
  resolve<R>(key: Uint32Array, hardPriority: number, relookup: (conjId: number) => R | null): R | null {
    if (this.maxPriority <= hardPriority) return null;
    const hits = this.hits;
    hits.length = 0;
    for (const st of this.subtables) {
      if (st.maxPriority <= hardPriority) break;
      const list = st.rules.get(ConjunctionTable.valueKey(st.idx, key, st.mask));
      if (!list) continue;
      for (const r of list) if (r.priority > hardPriority) hits.push(r);
    }
    if (!hits.length) return null;
    hits.sort((a, b) => b.priority - a.priority);
    let i = 0;
    while (i < hits.length) {
      const p = hits[i]!.priority;
      let j = i;
      while (j < hits.length && hits[j]!.priority === p) j++;
      const got = this.tryLevel(i, j, key, relookup);
      if (got !== null) return got;
      i = j;
    }
    return null;
  }

  private tryLevel<R>(from: number, to: number, key: Uint32Array, relookup: (conjId: number) => R | null): R | null {
    const max = to - from;
    const ids = this.ids, lo = this.lo, hi = this.hi, nn = this.nn;
    ids.length = lo.length = hi.length = nn.length = 0;
    for (let h = from; h < to; h++) {
      for (const c of this.hits[h]!.clauses) {
        if (c.nClauses > max) continue;
        let e = ids.indexOf(c.id);
        if (e < 0) {
          e = ids.length;
          ids.push(c.id);
          lo.push(0);
          hi.push(0);
          nn.push(c.nClauses);
        }
        const k = c.clause - 1;
        if (k < 32) lo[e] = (lo[e]! | (1 << k)) >>> 0;
        else hi[e] = (hi[e]! | (1 << (k - 32))) >>> 0;
      }
    }
    // Try complete ids in ascending order.
    let last = -1;
    for (;;) {
      let best = -1;
      for (let e = 0; e < ids.length; e++) {
        const id = ids[e]!;
        if (id > last && (best < 0 || id < ids[best]!) && isComplete(lo[e]!, hi[e]!, nn[e]!)) best = e;
      }
      if (best < 0) return null;
      last = ids[best]!;
      void key;
      const r = relookup(last);
      if (r !== null) return r;
    }
  }

  /** A copy of `key` with `conj_id` set (helper for callers without a scratch key). */
  withConjId(key: Uint32Array, id: number): Uint32Array {
    this.tmp.set(key);
    this.tmp[W.conj_id] = id;
    return this.tmp;
  }
}
