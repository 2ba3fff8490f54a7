/**
 * Flow lifetimes: idle and hard timeouts on the injected clock, flow-removed events, `fin_timeout`,
 * and the flow and table statistics OVS reports (ofproto-dpif.c `rule_expire`, ofproto.c
 * `ofproto_rule_reduce_timeouts`, `handle_flow_stats_request`).
 *
 * Each flow with a timeout has a `FlowLife` record: `created`, `modified` (add, modify, or a
 * learn refresh), `used` (the last packet; starts at `modified`), its timeouts in seconds, and
 * counters. OVS's rule, to the millisecond: a flow has *hard*-expired when
 * `now > modified + hard_timeout * 1000`, else *idle*-expired when `now > used + idle_timeout * 1000`
 * (strictly greater: at exactly the deadline the flow is still there; OVS checks once a second, we
 * check whenever `expire(now)` is called, so we are exact where OVS is late by up to a second).
 *
 * The scheduler keeps a binary min-heap of *candidate* deadlines. `touch()` only updates `used`
 * (O(1), no heap work); when a candidate comes due, the record's real deadline is recomputed and
 * the record is either removed (the flow expired) or pushed back with its new deadline. So the
 * per-packet cost is one field write and expiry is O(log n) per flow and timeout period.
 *
 * `fin_timeout(idle_timeout=I, hard_timeout=H)` (what `learn(fin_*_timeout=...)` puts in learned
 * flows): when a packet with TCP FIN or RST runs it, the flow's timeouts are reduced to I and H
 * (a timeout is lowered, or set when it was 0; never raised), and the flow becomes expirable.
 */
import type { Clock } from '../clock/index.js';

/** OpenFlow 1.5 `ofp_flow_removed_reason`. */
export const RemovedReason = {
  IDLE_TIMEOUT: 0,
  HARD_TIMEOUT: 1,
  DELETE: 2,
  GROUP_DELETE: 3,
  METER_DELETE: 4,
  EVICTION: 5,
} as const;

/** One of `RemovedReason`. */
export type RemovedReason = (typeof RemovedReason)[keyof typeof RemovedReason];

/** Names of the reasons as OVS prints them. */
export const REMOVED_REASON_NAMES: Readonly<Record<RemovedReason, string>> = {
  0: 'idle', 1: 'hard', 2: 'delete', 3: 'group_delete', 4: 'meter_delete', 5: 'eviction',
};

/** The lifetime and counters of one flow. */
export interface FlowLife<F> {
  /** The flow (the caller's object; a switch's flow entry is its own record). */
  readonly owner: F;
  /** Idle timeout in seconds (0 = none). */
  idleTimeout: number;
  /** Hard timeout in seconds (0 = none). */
  hardTimeout: number;
  /** Added at (ms). */
  created: number;
  /** Last add/modify/learn refresh (ms): the hard timeout runs from here. */
  modified: number;
  /** Last packet (ms; `modified` before the first packet): the idle timeout runs from here. */
  used: number;
  /** Packets matched. */
  packets: number;
  /** Bytes matched. */
  bytes: number;
  /** `send_flow_rem`: a flow-removed message is wanted. */
  sendFlowRem: boolean;
  /** Still installed. */
  live: boolean;
  /** Heap bookkeeping: the deadline it is filed under (-1 = not in the heap). */
  filedAt: number;
}

/** A flow-removed event (OpenFlow `ofp_flow_removed`). */
export interface FlowRemoved<F> {
  /** The flow. */
  flow: F;
  /** Why. */
  reason: RemovedReason;
  /** Time installed (ms). */
  durationMs: number;
  /** Its idle timeout (s). */
  idleTimeout: number;
  /** Its hard timeout (s). */
  hardTimeout: number;
  /** Packets. */
  packets: number;
  /** Bytes. */
  bytes: number;
  /** True when the flow has `send_flow_rem` (OVS sends the message to controllers only then). */
  notify: boolean;
}

/** Flow statistics as `dump-flows` shows them. */
export interface FlowLifeStats {
  /** ms since added. */
  durationMs: number;
  /** Packets. */
  packets: number;
  /** Bytes. */
  bytes: number;
  /** Whole seconds since the last packet (OVS `idle_age`). */
  idleAge: number;
  /** Whole seconds since added/modified (OVS `hard_age`). */
  hardAge: number;
}

/** The deadline (ms) at which the flow's next timeout would strike, +Infinity without timeouts. */
export function lifeDeadline(r: FlowLife<unknown>): number {
  let d = Infinity;
  if (r.hardTimeout) d = r.modified + r.hardTimeout * 1000;
  if (r.idleTimeout) d = Math.min(d, r.used + r.idleTimeout * 1000);
  return d;
}

/** Which timeout (if any) has struck at `now`: OVS checks hard first; strictly after the deadline. */
export function expiredReason(r: FlowLife<unknown>, now: number): RemovedReason | null {
  if (r.hardTimeout && now > r.modified + r.hardTimeout * 1000) return RemovedReason.HARD_TIMEOUT;
  if (r.idleTimeout && now > r.used + r.idleTimeout * 1000) return RemovedReason.IDLE_TIMEOUT;
  return null;
}

/** OVS `reduce_timeout`: lower `cur` to `max` (or set it when 0); `max` 0 changes nothing. */
export function reduceTimeout(cur: number, max: number): number {
  return max && (!cur || cur > max) ? max : cur;
}

/** Per-flow lifetimes and their expiry (see the module comment). */
export class ExpiryScheduler<F> {
  private readonly byFlow = new Map<F, FlowLife<F>>();
  private readonly heap: FlowLife<F>[] = [];

  constructor(private readonly clock?: Clock) {}

  private t(now?: number): number {
    if (now !== undefined) return now;
    if (!this.clock) throw new RangeError('ExpiryScheduler: no clock and no time given');
    return this.clock.now();
  }

  /** Number of flows tracked. */
  get size(): number {
    return this.byFlow.size;
  }

  /** Track a flow just added (created = modified = used = now). Replaces an existing record. */
  add(flow: F, opts: { idleTimeout?: number; hardTimeout?: number; sendFlowRem?: boolean }, now?: number): FlowLife<F> {
    const t = this.t(now);
    const old = this.byFlow.get(flow);
    if (old) old.live = false;
    const r: FlowLife<F> = {
      owner: flow, idleTimeout: opts.idleTimeout ?? 0, hardTimeout: opts.hardTimeout ?? 0, created: t, modified: t, used: t,
      packets: 0, bytes: 0, sendFlowRem: opts.sendFlowRem ?? false, live: true, filedAt: -1,
    };
    this.byFlow.set(flow, r);
    this.file(r);
    return r;
  }

  /**
   * Track a record the caller made and keeps (a switch's flow entry is its own record: created =
   * modified = used, live, `filedAt` -1). It is not indexed by flow (no map entry per flow), so
   * the methods taking a flow do not see it; use `refreshLife`, `reduceLife` and `removeLife`.
   * `expire` handles it like any other.
   */
  addLife(r: FlowLife<F>): void {
    this.file(r);
  }

  /** `refresh` of a record kept by the caller. */
  refreshLife(r: FlowLife<F>, now?: number): void {
    r.modified = this.t(now);
    if (r.filedAt < 0) this.file(r);
  }

  /** `reduceTimeouts` of a record kept by the caller. */
  reduceLife(r: FlowLife<F>, idle: number, hard: number): void {
    if (!idle && !hard) return;
    r.idleTimeout = reduceTimeout(r.idleTimeout, idle);
    r.hardTimeout = reduceTimeout(r.hardTimeout, hard);
    this.file(r);
  }

  /** Stop tracking a record kept by the caller (its flow left the table). */
  removeLife(r: FlowLife<F>): void {
    r.live = false;
  }

  /** The record of a flow. */
  get(flow: F): FlowLife<F> | undefined {
    return this.byFlow.get(flow);
  }

  /** A packet matched the flow: `used = now`, counters up. Cheap; no heap work. */
  touch(flow: F, now?: number, bytes = 0, packets = 1): void {
    const r = this.byFlow.get(flow);
    if (!r) return;
    ExpiryScheduler.touchLife(r, this.t(now), bytes, packets);
  }

  /** `touch` on a record the caller keeps (e.g. on its flow entry), avoiding the map lookup. */
  static touchLife(r: FlowLife<unknown>, now: number, bytes = 0, packets = 1): void {
    if (now > r.used) r.used = now;
    r.packets += packets;
    r.bytes += bytes;
  }

  /** The flow was modified or re-learned: `modified = now` (restarts the hard timeout). */
  refresh(flow: F, now?: number): void {
    const r = this.byFlow.get(flow);
    if (!r) return;
    r.modified = this.t(now);
    // The candidate deadline can only move later: nothing to do until it comes due.
    if (r.filedAt < 0) this.file(r);
  }

  /** Change a flow's timeouts (a modify flow mod that sets them, or a new learned rule). */
  setTimeouts(flow: F, idleTimeout: number, hardTimeout: number): void {
    const r = this.byFlow.get(flow);
    if (!r) return;
    r.idleTimeout = idleTimeout;
    r.hardTimeout = hardTimeout;
    this.file(r);
  }

  /** OVS `ofproto_rule_reduce_timeouts` (for `fin_timeout`). */
  reduceTimeouts(flow: F, idle: number, hard: number): void {
    const r = this.byFlow.get(flow);
    if (!r || (!idle && !hard)) return;
    r.idleTimeout = reduceTimeout(r.idleTimeout, idle);
    r.hardTimeout = reduceTimeout(r.hardTimeout, hard);
    this.file(r);
  }

  /** `fin_timeout` executed by a packet with these TCP flags: reduce only on FIN or RST. */
  finTimeout(flow: F, tcpFlags: number, idle: number, hard: number): void {
    if (tcpFlags & 0x005) this.reduceTimeouts(flow, idle, hard);
  }

  /** Stop tracking a flow (deleted by a flow mod, group delete...); returns the event. */
  remove(flow: F, reason: RemovedReason, now?: number): FlowRemoved<F> | null {
    const r = this.byFlow.get(flow);
    if (!r) return null;
    this.byFlow.delete(flow);
    r.live = false;
    return this.event(r, reason, this.t(now));
  }

  /** Remove and return every flow whose timeout struck at `now`, in deadline order. */
  expire(now?: number): FlowRemoved<F>[] {
    const t = this.t(now);
    const out: FlowRemoved<F>[] = [];
    for (;;) {
      const top = this.heap[0];
      if (!top || top.filedAt >= t) break;
      this.pop();
      top.filedAt = -1;
      if (!top.live) continue;
      const why = expiredReason(top, t);
      if (why !== null) {
        this.byFlow.delete(top.owner);
        top.live = false;
        out.push(this.event(top, why, t));
      } else this.file(top);
    }
    return out;
  }

  /** The earliest time at which `expire()` may remove something (strictly after this), or undefined. */
  nextDeadline(): number | undefined {
    while (this.heap.length && !this.heap[0]!.live) {
      this.heap[0]!.filedAt = -1;
      this.pop();
    }
    return this.heap[0]?.filedAt;
  }

  /** `dump-flows` statistics of a flow at `now`. */
  stats(flow: F, now?: number): FlowLifeStats | undefined {
    const r = this.byFlow.get(flow);
    if (!r) return undefined;
    return lifeStats(r, this.t(now));
  }

  private event(r: FlowLife<F>, reason: RemovedReason, now: number): FlowRemoved<F> {
    return {
      flow: r.owner, reason, durationMs: now - r.created, idleTimeout: r.idleTimeout, hardTimeout: r.hardTimeout,
      packets: r.packets, bytes: r.bytes, notify: r.sendFlowRem,
    };
  }

  /** (Re)file a record under its current candidate deadline. */
  private file(r: FlowLife<F>): void {
    const d = lifeDeadline(r);
    if (d === Infinity || !r.live) return;
    if (r.filedAt >= 0) {
      if (r.filedAt <= d) return; // filed earlier: it will be re-checked then
      this.removeFromHeap(r);
    }
    r.filedAt = d;
    this.push(r);
  }

  private push(r: FlowLife<F>): void {
    const a = this.heap;
    a.push(r);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.filedAt <= r.filedAt) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = r;
  }

  private pop(): void {
    const a = this.heap;
    const last = a.pop();
    if (!last || a.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && a[l + 1]!.filedAt < a[l]!.filedAt ? l + 1 : l;
      if (a[c]!.filedAt >= last.filedAt) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
  }

  private removeFromHeap(r: FlowLife<F>): void {
    const i = this.heap.indexOf(r);
    if (i < 0) return;
    // Rebuild around the hole (rare: only when a timeout is shortened).
    this.heap.splice(i, 1);
    const items = this.heap.splice(0);
    for (const x of items) this.push(x);
  }
}

/** `dump-flows` statistics of a record at `now` (OVS `age_secs` truncates to whole seconds). */
export function lifeStats(r: FlowLife<unknown>, now: number): FlowLifeStats {
  return {
    durationMs: now - r.created, packets: r.packets, bytes: r.bytes,
    idleAge: Math.floor((now - r.used) / 1000), hardAge: Math.floor((now - r.modified) / 1000),
  };
}

/** OpenFlow table statistics (OVS `ofputil_table_stats`). */
export interface TableStats {
  /** Table id. */
  tableId: number;
  /** Flows installed. */
  activeCount: number;
  /** Lookups. */
  lookupCount: number;
  /** Lookups that found a flow. */
  matchedCount: number;
}

/** Per-table lookup counters, for `dump-tables`. */
export class TableCounters {
  /** Lookups per table. */
  readonly lookups: Float64Array;
  /** Matches per table. */
  readonly matched: Float64Array;

  constructor(readonly nTables = 255) {
    this.lookups = new Float64Array(nTables);
    this.matched = new Float64Array(nTables);
  }

  /** Count one lookup in `table`. */
  lookup(table: number, hit: boolean): void {
    this.lookups[table] = this.lookups[table]! + 1;
    if (hit) this.matched[table] = this.matched[table]! + 1;
  }

  /** Stats of every table given its active flow counts. */
  stats(activeCount: (table: number) => number): TableStats[] {
    const out: TableStats[] = [];
    for (let t = 0; t < this.nTables; t++) {
      out.push({ tableId: t, activeCount: activeCount(t), lookupCount: this.lookups[t]!, matchedCount: this.matched[t]! });
    }
    return out;
  }
}
