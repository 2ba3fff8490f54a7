/**
 * Group and meter id allocation as ovn-controller's `ovn_extend_table` does it: a logical action
 * that needs an OpenFlow group (`ct_lb_mark` with backends, `select`, `fwd_group`) or meter
 * (`log(meter=...)`, `set_meter`, controller meters) names the object by its full text; equal
 * texts share one id, a new text takes the lowest free id from 1. The table remembers which
 * logical flows use each entry, so an entry whose last user goes away frees its id.
 */

/** One allocated group or meter. */
export interface ExtendEntry {
  /** The id (1..). */
  readonly id: number;
  /** The object's text (a group's `type=...,bucket=...`, a meter's name or `__string: ...` spec). */
  readonly name: string;
  /** Logical flows (uuids) that use it. */
  readonly users: Set<string>;
}

/** A group or meter id table. */
export class ExtendTable {
  private readonly byName = new Map<string, ExtendEntry>();
  private readonly byId = new Map<number, ExtendEntry>();
  /** Entries by user (logical flow uuid). */
  private readonly byUser = new Map<string, Set<ExtendEntry>>();
  private readonly max: number;

  constructor(max = 0xffff_fffe) {
    this.max = max;
  }

  /** The id for `name`, allocating the lowest free one on first use; `lflow` becomes a user. */
  assign(name: string, lflow: string): number {
    let e = this.byName.get(name);
    if (!e) {
      let id = 1;
      while (this.byId.has(id)) id++;
      if (id > this.max) return 0;
      e = { id, name, users: new Set() };
      this.byName.set(name, e);
      this.byId.set(id, e);
    }
    e.users.add(lflow);
    let mine = this.byUser.get(lflow);
    if (!mine) this.byUser.set(lflow, (mine = new Set()));
    mine.add(e);
    return e.id;
  }

  /** Drop `lflow` as a user of every entry; entries left without users are freed. Returns the freed ids. */
  release(lflow: string): number[] {
    const freed: number[] = [];
    const mine = this.byUser.get(lflow);
    if (!mine) return freed;
    this.byUser.delete(lflow);
    for (const e of mine) {
      if (e.users.delete(lflow) && e.users.size === 0) {
        this.byName.delete(e.name);
        this.byId.delete(e.id);
        freed.push(e.id);
      }
    }
    return freed;
  }

  /** The entry of an id. */
  get(id: number): ExtendEntry | undefined {
    return this.byId.get(id);
  }

  /** Every entry, by id. */
  entries(): ExtendEntry[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** Forget everything. */
  clear(): void {
    this.byName.clear();
    this.byId.clear();
    this.byUser.clear();
  }
}
