/** The test oracle: a linear classifier (highest priority wins, first inserted on ties). */
import type { Match } from '@ovnts/openflow';

/** A rule in the linear oracle. */
export interface LinearRule<T> {
  match: Match;
  priority: number;
  payload: T;
  seq: number;
}

/** Linear scan over every rule. */
export class LinearClassifier<T> {
  rules: LinearRule<T>[] = [];
  private seq = 0;
  insert(match: Match, priority: number, payload: T): LinearRule<T> {
    const r = { match, priority, payload, seq: this.seq++ };
    this.rules.push(r);
    return r;
  }
  remove(r: LinearRule<T>): void {
    this.rules.splice(this.rules.indexOf(r), 1);
  }
  lookup(key: Uint32Array): LinearRule<T> | null {
    let best: LinearRule<T> | null = null;
    for (const r of this.rules) {
      if (!r.match.matches(key)) continue;
      if (!best || r.priority > best.priority || (r.priority === best.priority && r.seq < best.seq)) best = r;
    }
    return best;
  }
}
