/**
 * The desired flow table of one chassis, as ovn-controller's `ofctrl` keeps it.
 *
 * Design. Every flow is owned by the southbound row it was built from (a logical flow, a port
 * binding, a multicast group, a MAC binding, a load balancer, or the chassis itself for the
 * fixed flows), so a change to a row removes and rebuilds exactly that row's flows. Several
 * desired flows may have the same key (table, priority, match): OpenFlow installs one, and
 * ofctrl picks it by preference: a flow with real actions over a drop (empty actions) over a
 * conjunction flow (`flow_is_preferred`), and among equals the one its recompute meets first,
 * which is the one added last. Conjunction
 * flows (`conjunction(id,k/n)` actions only) with the same key are merged into one flow carrying
 * all their conjunction actions, as `ofctrl_add_or_append_flow` does, whichever rows they come
 * from.
 */
import { KEY_WORDS, type Match } from '@ovnts/openflow';
import { formatOfActions, type OfAction } from './of-actions.js';

/** One desired flow. */
export interface DesiredFlow {
  /** OpenFlow table. */
  readonly table: number;
  /** Priority. */
  readonly priority: number;
  /** Cookie (the owner row's first 32 uuid bits, 0 for fixed and conjunction flows). */
  readonly cookie: bigint;
  /** Match. */
  readonly match: Match;
  /** Actions (empty = drop). */
  actions: OfAction[];
  /** The owner rows (a merged conjunction flow has several). */
  readonly owners: Set<string>;
  /** A merged conjunction flow: each owner's conjunction actions, in the order added. */
  conj?: Map<string, OfAction[]>;
  /** Flow key (table, priority, match). */
  readonly key: string;
}

/** A flow key: table, priority and the match words. */
export function flowKey(table: number, priority: number, m: Match): string {
  let s = `${table}/${priority}`;
  for (let i = 0; i < KEY_WORDS; i++) {
    const mk = m.mask[i]!;
    if (mk !== 0) s += `/${i}:${m.value[i]!.toString(36)}:${mk.toString(36)}`;
  }
  return s;
}

function kind(f: DesiredFlow): 0 | 1 | 2 {
  if (f.actions.length === 0) return 1;
  return f.actions.every((a) => a.type === 'conjunction') ? 2 : 0;
}

/** The desired flows of a chassis (see the module comment). */
export class DesiredFlowTable {
  private readonly byKey = new Map<string, DesiredFlow[]>();
  private readonly byOwner = new Map<string, Set<DesiredFlow>>();
  /** Keys whose active flow may have changed since the last `takeChanged()`. */
  private changed = new Set<string>();

  /** Number of distinct keys (= flows installed). */
  get size(): number {
    return this.byKey.size;
  }

  private link(f: DesiredFlow, owner: string): void {
    f.owners.add(owner);
    let s = this.byOwner.get(owner);
    if (!s) this.byOwner.set(owner, (s = new Set()));
    s.add(f);
  }

  /** `ofctrl_add_flow`: a flow owned by `owner` (an exact duplicate from the same owner is ignored). */
  add(table: number, priority: number, cookie: bigint, match: Match, actions: OfAction[], owner: string): void {
    // OVS normalises every match it is given (`ofputil_normalize_match`): fields whose
    // prerequisites are absent (an ND source MAC on a neighbour advertisement) are dropped.
    match.normalize();
    const key = flowKey(table, priority, match);
    let list = this.byKey.get(key);
    if (list) {
      // `desired_flow_lookup_check_uuid`: the same key from the same row is a duplicate, whatever its actions.
      if (list.some((d) => d.owners.has(owner))) return;
    } else this.byKey.set(key, (list = []));
    const f: DesiredFlow = { table, priority, cookie, match, actions, owners: new Set(), key };
    this.link(f, owner);
    // ofctrl_put walks the desired flows in hash order, where flows with one key share a bucket
    // and the most recently added comes first: it becomes the installed one, unless a flow of a
    // preferred kind (real actions > drop > conjunction) is there.
    const k = kind(f);
    let i = 0;
    while (i < list.length && kind(list[i]!) < k) i++;
    list.splice(i, 0, f);
    this.changed.add(key);
  }

  /** `ofctrl_add_or_append_flow`: conjunction actions, merged into an existing conjunction flow with the same key. */
  addOrAppend(table: number, priority: number, match: Match, conj: OfAction[], owner: string): void {
    match.normalize();
    const key = flowKey(table, priority, match);
    const list = this.byKey.get(key);
    const existing = list?.find((d) => kind(d) === 2);
    if (existing) {
      existing.conj ??= new Map([...existing.owners].map((o) => [o, existing.actions]));
      existing.conj.set(owner, [...(existing.conj.get(owner) ?? []), ...conj]);
      existing.actions = [...existing.conj.values()].flat();
      this.link(existing, owner);
      this.changed.add(key);
      return;
    }
    this.add(table, priority, 0n, match, conj, owner);
  }

  /** Remove every flow owned by `owner` (a merged conjunction flow loses only that owner's actions). */
  removeOwner(owner: string): number {
    const set = this.byOwner.get(owner);
    if (!set) return 0;
    this.byOwner.delete(owner);
    let n = 0;
    for (const f of set) {
      f.owners.delete(owner);
      this.changed.add(f.key);
      n++;
      if (f.owners.size) {
        if (f.conj) {
          f.conj.delete(owner);
          f.actions = [...f.conj.values()].flat();
        }
        continue;
      }
      const list = this.byKey.get(f.key)!;
      list.splice(list.indexOf(f), 1);
      if (!list.length) this.byKey.delete(f.key);
    }
    return n;
  }

  /** The flows owned by `owner`. */
  ownedBy(owner: string): DesiredFlow[] {
    return [...(this.byOwner.get(owner) ?? [])];
  }

  /** The installed flow of a key (the preferred desired flow), if any. */
  active(key: string): DesiredFlow | undefined {
    return this.byKey.get(key)?.[0];
  }

  /** Every installed flow. */
  *installed(): IterableIterator<DesiredFlow> {
    for (const list of this.byKey.values()) yield list[0]!;
  }

  /** Keys touched since the last call (for installing changes incrementally). */
  takeChanged(): Set<string> {
    const c = this.changed;
    this.changed = new Set();
    return c;
  }

  /** Forget everything. */
  clear(): void {
    for (const k of this.byKey.keys()) this.changed.add(k);
    this.byKey.clear();
    this.byOwner.clear();
  }
}
