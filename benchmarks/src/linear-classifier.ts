/**
 * The baseline classifier: a linear scan, ported from the openflow package's test oracle
 * (`packages/openflow/test/linear-classifier.ts`: highest priority wins, the rule inserted first
 * wins ties) and made as fast as a linear scan fairly gets: rules are kept sorted by priority
 * (then insertion order), so the first match is the answer, and each rule compares only the key
 * words its mask touches. It is what a switch without tuple-space search would do per lookup.
 */
import { KEY_WORDS, type Match } from '@ovnts/openflow';

/** A rule of the linear classifier (shaped like the openflow `ClsRule`, so a pipeline can use it). */
export interface LinearRule<T> {
  readonly match: Match;
  readonly priority: number;
  readonly payload: T;
  readonly seq: number;
  /** Indices of the words the mask touches. */
  readonly idx: Int32Array;
  /** Mask words at those indices. */
  readonly mw: Uint32Array;
  /** Value words at those indices. */
  readonly vw: Uint32Array;
}

/** Linear scan over rules sorted by priority. */
export class LinearClassifier<T> {
  private list: LinearRule<T>[] = [];
  private seq = 0;
  private sorted = true;

  /** Number of rules. */
  get size(): number {
    return this.list.length;
  }

  /** Add a rule. */
  insert(match: Match, priority: number, payload: T): LinearRule<T> {
    const idx: number[] = [];
    for (let i = 0; i < KEY_WORDS; i++) if (match.mask[i] !== 0) idx.push(i);
    const r: LinearRule<T> = {
      match, priority, payload, seq: this.seq++, idx: Int32Array.from(idx),
      mw: Uint32Array.from(idx.map((i) => match.mask[i]!)), vw: Uint32Array.from(idx.map((i) => match.value[i]!)),
    };
    this.list.push(r);
    this.sorted = false;
    return r;
  }

  /** The highest-priority rule matching `key`, or null. */
  lookup(key: Uint32Array): LinearRule<T> | null {
    if (!this.sorted) {
      this.list.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
      this.sorted = true;
    }
    const list = this.list;
    for (let r = 0; r < list.length; r++) {
      const rule = list[r]!;
      const idx = rule.idx;
      const mw = rule.mw;
      const vw = rule.vw;
      let ok = true;
      for (let i = 0; i < idx.length; i++) {
        if (((key[idx[i]!]! & mw[i]!) >>> 0) !== vw[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return rule;
    }
    return null;
  }

  /** The priority of the rule the last successful `find` returned. */
  foundPriority = 0;

  /** The payload of `lookup(key)`, its priority in `foundPriority` (what the pipeline calls, as on `Classifier`). */
  find(key: Uint32Array): T | null {
    const r = this.lookup(key);
    if (r === null) return null;
    this.foundPriority = r.priority;
    return r.payload;
  }
}
