/**
 * Shared prepared actions: flows whose instructions print the same get the same `Op` list.
 *
 * A pipeline miss runs the actions of about ten flows per frame. With each flow holding its own
 * list and op objects, a switch of 100k flows spreads them over the whole heap and every miss
 * loads each of them from memory (the list, its elements, the op, its primitive). Most tables of
 * a real pipeline, though, hold thousands of flows with the same few action lists (`goto_table:4`,
 * `drop`, `resubmit(,9)`): sharing one list per distinct text keeps those few objects in the CPU
 * caches and saves their memory.
 *
 * Only lists of stateless actions are shared, whose op is a pure function of the action and whose
 * text (the OpenFlow 1.5 `ovs-ofctl` format) determines the action: output, set_field/load, move,
 * dec_ttl, resubmit, the TTL and VLAN header actions, and the `goto_table`/`clear_actions`
 * instructions. Anything else (learn, ct, groups, meters, controller, ...) keeps its own list. The
 * lists are immutable once prepared (nobody edits an `Op[]` in place; a learned flow's relabelled
 * loads get a new list), so sharing cannot leak state between flows. The pool forgets everything
 * once it holds more lists than twice the flows plus a margin, so flows that come and go with
 * distinct actions cannot grow it without bound; lists already handed out stay valid.
 */
import type { Op } from './actions.js';

/** Action and instruction types whose op is a pure function of the action (shared between flows, compiled by op-code.ts). */
export const SHAREABLE: ReadonlySet<string> = new Set<string>([
  'output', 'set_field', 'move', 'dec_ttl', 'resubmit', 'mod_nw_ttl', 'push_vlan', 'pop_vlan', 'goto_table', 'clear_actions',
]);

/** Lists kept on top of twice the live flows before the pool is emptied. */
const MARGIN = 4096;

/** A pool of prepared action lists shared between flows with the same stateless actions. */
export class OpPool {
  private readonly lists = new Map<string, Op[]>();
  /** The pool's size at which it counts the live flows again (and empties itself if it outgrew them). */
  private nextCheck = MARGIN;

  /** `liveFlows()` counts the flows installed now (called only when the pool has grown past a check point). */
  constructor(private readonly liveFlows: () => number) {}

  /** `ops`, or an equal list prepared before (same types and texts, all shareable). */
  share(ops: Op[]): Op[] {
    let key = '';
    for (const o of ops) {
      if (!SHAREABLE.has(o.type)) return ops;
      key += `${o.type} ${o.text}\n`;
    }
    const got = this.lists.get(key);
    if (got !== undefined) return got;
    if (this.lists.size >= this.nextCheck) {
      const live = this.liveFlows();
      if (this.lists.size >= 2 * live + MARGIN) this.lists.clear();
      this.nextCheck = Math.max(this.lists.size, 2 * live) + MARGIN;
    }
    this.lists.set(key, ops);
    return ops;
  }

  /** Lists held. */
  get size(): number {
    return this.lists.size;
  }
}
