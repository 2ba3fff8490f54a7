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
import { KEY_WORDS, Match } from '@ovnts/openflow';
import type { OfAction } from './of-actions.js';

/**
 * One desired flow, stored compactly (its match kept only as its key).
 *
 * A chassis keeps ~150k of them, so the match is not stored as a `Match` (two 119-word arrays,
 * ~1.3 KB with their buffers) but as the flow key, which names every matched word, and is decoded
 * when asked for (printing, installing); the owner is a string while there is one.
 */
export class DesiredFlow {
  /** Owner row (or rows, for a merged conjunction flow). */
  private own: string | Set<string>;
  /** A merged conjunction flow: each owner's conjunction actions, in the order added. */
  conj: Map<string, OfAction[]> | undefined = undefined;

  constructor(
    /** OpenFlow table. */
    readonly table: number,
    /** Priority. */
    readonly priority: number,
    /** Cookie (the owner row's first 32 uuid bits, 0 for fixed and conjunction flows). */
    readonly cookie: bigint,
    /** Flow key (table, priority, match): see `flowKey`. */
    readonly key: string,
    /** Actions (empty = drop). */
    public actions: OfAction[],
    owner: string,
  ) {
    this.own = owner;
  }

  /** Match (decoded from the key; a new object each time). */
  get match(): Match {
    return keyMatch(this.key);
  }

  /** The owner rows (a merged conjunction flow has several). */
  get owners(): ReadonlySet<string> {
    return typeof this.own === 'string' ? new Set([this.own]) : this.own;
  }

  /** Is `owner` one of the owners? */
  ownedBy(owner: string): boolean {
    return typeof this.own === 'string' ? this.own === owner : this.own.has(owner);
  }

  /** Number of owners. */
  get ownerCount(): number {
    return typeof this.own === 'string' ? 1 : this.own.size;
  }

  /** Add an owner (false: it was one already). */
  addOwner(owner: string): boolean {
    if (this.ownedBy(owner)) return false;
    if (typeof this.own === 'string') this.own = new Set([this.own, owner]);
    else this.own.add(owner);
    return true;
  }

  /** Drop an owner (the last one stays recorded: a flow without owners is dropped by its table). */
  dropOwner(owner: string): number {
    if (typeof this.own === 'string') return this.own === owner ? 0 : 1;
    this.own.delete(owner);
    const n = this.own.size;
    if (n === 1) this.own = this.own.values().next().value!;
    return n;
  }
}

/** A flow key: table, priority and the match words (`index:value:mask`, base 36, for each word with a mask). */
export function flowKey(table: number, priority: number, m: Match): string {
  const parts: string[] = [String(table), String(priority)];
  for (let i = 0; i < KEY_WORDS; i++) {
    const mk = m.mask[i]!;
    if (mk !== 0) parts.push(`${i}:${m.value[i]!.toString(36)}:${mk.toString(36)}`);
  }
  // One flat string (a `+=` chain would keep every piece alive in a rope).
  return parts.join('/');
}

/** The match a flow key names. */
export function keyMatch(key: string): Match {
  const m = new Match();
  const parts = key.split('/');
  for (let p = 2; p < parts.length; p++) {
    const w = parts[p]!.split(':');
    const i = Number(w[0]);
    m.value[i] = parseInt(w[1]!, 36);
    m.mask[i] = parseInt(w[2]!, 36);
  }
  return m;
}

function kind(f: DesiredFlow): 0 | 1 | 2 {
  if (f.actions.length === 0) return 1;
  return f.actions.every((a) => a.type === 'conjunction') ? 2 : 0;
}

/** Flows of one key (most keys have one): a flow or a list, the installed one first. */
type KeyFlows = DesiredFlow | DesiredFlow[];

const first = (l: KeyFlows): DesiredFlow => (Array.isArray(l) ? l[0]! : l);

/** The desired flows of a chassis (see the module comment). */
export class DesiredFlowTable {
  private readonly byKey = new Map<string, KeyFlows>();
  private readonly byOwner = new Map<string, DesiredFlow[]>();
  /** Keys whose active flow may have changed since the last `takeChanged()`. */
  private changed = new Set<string>();

  /** Number of distinct keys (= flows installed). */
  get size(): number {
    return this.byKey.size;
  }

  private link(f: DesiredFlow, owner: string): void {
    let l = this.byOwner.get(owner);
    if (!l) this.byOwner.set(owner, (l = []));
    l.push(f);
  }

  /** `ofctrl_add_flow`: a flow owned by `owner` (an exact duplicate from the same owner is ignored). */
  add(table: number, priority: number, cookie: bigint, match: Match, actions: OfAction[], owner: string): void {
    // OVS normalises every match it is given (`ofputil_normalize_match`): fields whose
    // prerequisites are absent (an ND source MAC on a neighbour advertisement) are dropped.
    match.normalize();
    this.insert(new DesiredFlow(table, priority, cookie, flowKey(table, priority, match), actions, owner), owner);
  }

  private insert(f: DesiredFlow, owner: string): void {
    const key = f.key;
    const have = this.byKey.get(key);
    if (have === undefined) {
      this.byKey.set(key, f);
    } else {
      const list = Array.isArray(have) ? have : [have];
      // `desired_flow_lookup_check_uuid`: the same key from the same row is a duplicate, whatever its actions.
      if (list.some((d) => d.ownedBy(owner))) return;
      // ofctrl_put walks the desired flows in hash order, where flows with one key share a bucket
      // and the most recently added comes first: it becomes the installed one, unless a flow of a
      // preferred kind (real actions > drop > conjunction) is there.
      const k = kind(f);
      let i = 0;
      while (i < list.length && kind(list[i]!) < k) i++;
      list.splice(i, 0, f);
      if (list !== have) this.byKey.set(key, list);
    }
    this.link(f, owner);
    this.changed.add(key);
  }

  /** `ofctrl_add_or_append_flow`: conjunction actions, merged into an existing conjunction flow with the same key. */
  addOrAppend(table: number, priority: number, match: Match, conj: OfAction[], owner: string): void {
    match.normalize();
    const key = flowKey(table, priority, match);
    const have = this.byKey.get(key);
    const existing = have === undefined ? undefined : Array.isArray(have) ? have.find((d) => kind(d) === 2) : kind(have) === 2 ? have : undefined;
    if (existing) {
      existing.conj ??= new Map([...existing.owners].map((o) => [o, existing.actions]));
      existing.conj.set(owner, [...(existing.conj.get(owner) ?? []), ...conj]);
      existing.actions = [...existing.conj.values()].flat();
      if (existing.addOwner(owner)) this.link(existing, owner);
      this.changed.add(key);
      return;
    }
    this.insert(new DesiredFlow(table, priority, 0n, key, conj, owner), owner);
  }

  /** Remove every flow owned by `owner` (a merged conjunction flow loses only that owner's actions). */
  removeOwner(owner: string): number {
    const flows = this.byOwner.get(owner);
    if (!flows) return 0;
    this.byOwner.delete(owner);
    for (const f of flows) {
      this.changed.add(f.key);
      if (f.dropOwner(owner)) {
        if (f.conj) {
          f.conj.delete(owner);
          f.actions = [...f.conj.values()].flat();
        }
        continue;
      }
      const have = this.byKey.get(f.key)!;
      if (!Array.isArray(have)) this.byKey.delete(f.key);
      else {
        have.splice(have.indexOf(f), 1);
        if (have.length === 1) this.byKey.set(f.key, have[0]!);
      }
    }
    return flows.length;
  }

  /** The flows owned by `owner`. */
  ownedBy(owner: string): DesiredFlow[] {
    return [...(this.byOwner.get(owner) ?? [])];
  }

  /** The installed flow of a key (the preferred desired flow), if any. */
  active(key: string): DesiredFlow | undefined {
    const l = this.byKey.get(key);
    return l === undefined ? undefined : first(l);
  }

  /** Every installed flow. */
  *installed(): IterableIterator<DesiredFlow> {
    for (const l of this.byKey.values()) yield first(l);
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
