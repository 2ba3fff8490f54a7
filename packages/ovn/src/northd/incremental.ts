/**
 * Incremental northd: a northbound change recompiles only the logical flows it can affect, and
 * the result equals a full compilation of the new database (`compileNorthd` with the previous
 * southbound database), flow for flow, row for row and in the same order.
 *
 * Design. ovn-northd 23.03's incremental engine (`inc-proc-northd.c`) recomputes its whole
 * `northd` node for almost every NB change and handles incrementally only a few port changes.
 * Here the unit of reuse is a *segment*: the flows one builder call adds (one switch's datapath
 * and ACL flows, one switch port's flows, one load balancer's switch flows, one router's
 * datapath flows, one router port's flows, one switch port's router-side flows, one load
 * balancer's router flows), in the order `compileNorthd` calls the builders. Every segment is
 * recorded (what it added to the flow table), and every flow table row remembers the recorded
 * flows that make it, with their place in the compilation order. An update rebuilds the
 * compiler's view of the new database whole (context.ts: it assigns
 * tunnel keys exactly as a full run does, reusing unchanged `Datapath` objects), reruns the
 * builders of the dirty segments only, and makes again only the rows their old and new flows
 * touch, by replaying each such row's flows in compilation order into a scratch sink. The table
 * is then ordered by each row's first flow. Following the full compilation's order is what
 * makes the result exact: a row shared by several datapaths keeps the stage hint and source of
 * the first datapath that adds it, and its datapaths in the order they were added, as in the
 * full run. Rows are immutable once made; the sinks of successive results share them.
 *
 * Which segments are dirty follows from the rows that changed (named by the caller, as an OVSDB
 * server knows them from its commits, or else a diff of the two databases' rows, column by
 * column) and the references between rows (every uuid column of the schema):
 * a changed row dirties the switches and routers that reach it. The exceptions, each an
 * optimisation justified by what the builders read:
 * - a load balancer whose valid VIPs and other columns are unchanged (backends changed) dirties
 *   only its own segments; other load balancer changes dirty the routers that use it (router
 *   LB facts, `routerInfo`), and switches only when `hasLbVip` flips (the only load balancer
 *   fact switch flows read besides the load balancer segments);
 * - a port group whose only change is its ports dirties the switches where it appears or
 *   disappears (ACL flows name the group, not its members);
 * - an ACL row, or a switch's or port group's ACL list alone, dirties only the datapath/ACL
 *   segment of the switches it applies to (no port or router flow reads ACLs);
 * - address sets, connections and SSL rows feed no flow (only the southbound database).
 * Routers and switches read each other: a dirty router dirties its peer routers and the
 * switches it is attached to; a switch whose router-facing facts change (router-type ports and
 * their peers, localnet ports and their tags, vtep ports) or whose port a NAT names dirties the
 * routers it is attached to. NB_Global, meters, template variables, static MAC bindings and BFD
 * rows change global facts: they fall back to a full recompute (counted in `stats`), as does a
 * database handed over as the same object (nothing to diff against); NB_Global's sequence
 * numbers (`nb_cfg`, `sb_cfg`, `hv_cfg` and their timestamps, what `ovn-nbctl --wait` bumps)
 * feed no flow and dirty nothing.
 *
 * The southbound database is built from the result as before (sb/from-northd.ts): its rows get
 * uuids from what they describe, or keep the previous database's, so unchanged rows keep their
 * uuids and a small NB change gives a small southbound delta. A `SouthboundMemo` carries the
 * Datapath_Binding and Logical_Flow rows from one production to the next, so rows that come out
 * the same are reused rather than made again.
 */
import type { RawDb, RawRow } from '../nb/data.js';
import { SouthboundMemo } from '../sb/from-northd.js';
import type { NbDatabase } from '../nb/db.js';
import type { Datum } from '../nb/datum.js';
import { buildContext, type NorthdContext, type RouterDp, type SwitchDp } from './context.js';
import { northdLb } from './lb.js';
import { buildMulticastFlows, northdResult, type NorthdOptions, type NorthdResult } from './northd.js';
import { buildRouterDpFlows, buildRouterFlowsForSwitchPort, buildRouterLbFlowsFor, buildRouterPortFlows, routerLbRouters } from './router.js';
import type { StageName } from './stages.js';
import { buildSwitchDpFlows, buildSwitchPortFlows } from './switch.js';
import { buildSwitchAclFlows, buildSwitchLbFlows, switchLbDatapaths } from './switch-acl.js';
import { FlowSink, flowRowKey, type Datapath, type FlowRow } from './types.js';
import type { IpMulticastGroup } from './mcast.js';

/** One `add`/`addGroup` call a segment made. */
interface Rec {
  readonly key: string;
  readonly dp: Datapath | undefined;
  readonly dps: readonly Datapath[] | undefined;
  readonly stage: StageName;
  readonly priority: number;
  readonly match: string;
  readonly actions: string;
  readonly where: number;
  readonly hint: string | undefined;
  readonly ioPort: string | undefined;
}

/** A flow sink that records the calls instead of building rows (one segment's flows). */
class RecordingSink extends FlowSink {
  recs: Rec[] = [];

  override add(dp: Datapath, stage: StageName, priority: number, match: string, actions: string, where: number, hint?: string, ioPort?: string): void {
    this.recs.push({ key: flowRowKey(stage, priority, match, actions), dp, dps: undefined, stage, priority, match, actions, where, hint, ioPort });
  }

  override addGroup(dps: readonly Datapath[], stage: StageName, priority: number, match: string, actions: string, where: number, hint?: string): void {
    if (dps.length) this.recs.push({ key: flowRowKey(stage, priority, match, actions), dp: undefined, dps: dps.slice(), stage, priority, match, actions, where, hint, ioPort: undefined });
  }
}

function replay(sink: FlowSink, recs: readonly Rec[]): void {
  for (const r of recs) {
    if (r.dps) sink.addGroupKeyed(r.key, r.dps, r.stage, r.priority, r.match, r.actions, r.where, r.hint);
    else sink.addKeyed(r.key, r.dp!, r.stage, r.priority, r.match, r.actions, r.where, r.hint, r.ioPort);
  }
}

/** A segment's recorded flows and its place in the compilation order. */
interface SegState {
  ord: number;
  readonly recs: readonly Rec[];
}

/** One flow of a segment, as part of a row. */
interface Contrib {
  readonly seg: SegState;
  readonly idx: number;
  readonly rec: Rec;
}

/** A flow table row: the flows that make it (in compilation order) and the row they make. */
interface RowState {
  readonly key: string;
  readonly contribs: Contrib[];
  row: FlowRow | undefined;
}

/** What one `IncrementalNorthd.update` did. */
export interface NorthdUpdate {
  /** `incremental`: only dirty segments were rebuilt; `recompute`: every segment was. */
  readonly mode: 'incremental' | 'recompute';
  /** Why a recompute was needed (the table whose change the incremental path does not handle). */
  readonly reason: string | undefined;
  /** NB rows that differ from the previous database. */
  readonly changedRows: number;
  /** Segments (builder calls) of the compilation. */
  readonly segments: number;
  /** Segments rebuilt. */
  readonly rebuilt: number;
  /** Switches whose flows were rebuilt. */
  readonly switches: number;
  /** Routers whose flows were rebuilt. */
  readonly routers: number;
}

/** Counters over the life of an `IncrementalNorthd`. */
export interface IncrementalNorthdStats {
  /** Updates handled incrementally. */
  incremental: number;
  /** Updates that fell back to a full recompute. */
  recomputes: number;
  /** Fallbacks by reason. */
  readonly reasons: Map<string, number>;
}

/** NB tables whose rows feed global facts: a change to one is recomputed in full. */
const GLOBAL_TABLES = new Set(['NB_Global', 'Meter', 'Meter_Band', 'Chassis_Template_Var', 'Static_MAC_Binding', 'BFD']);
/**
 * NB_Global columns no logical flow reads: the sequence numbers `ovn-nbctl --wait` bumps and
 * northd writes back (they reach only SB_Global, produced whole every time).
 */
export const NB_GLOBAL_SEQUENCE_COLUMNS: ReadonlySet<string> = new Set(['nb_cfg', 'nb_cfg_timestamp', 'sb_cfg', 'sb_cfg_timestamp', 'hv_cfg', 'hv_cfg_timestamp']);

/** An NB_Global row whose change (from `a` to `b`) is in sequence-number columns only. */
function sequenceOnly(a: RawRow | undefined, b: RawRow | undefined): boolean {
  return a !== undefined && b !== undefined && changedColumns(a, b).every((c) => NB_GLOBAL_SEQUENCE_COLUMNS.has(c));
}
/** NB tables no logical flow reads (only the southbound database, built whole every time). */
const FLOWLESS_TABLES = new Set(['Address_Set', 'Connection', 'SSL']);
const LB_TABLES = new Set(['Load_Balancer', 'Load_Balancer_Group', 'Load_Balancer_Health_Check']);

/** Who references a row: (table, uuid, column) of every row with a uuid column naming it. */
interface RefIndex {
  readonly parents: Map<string, { table: string; uuid: string; column: string }[]>;
}

const refIndexes = new WeakMap<RawDb, RefIndex>();

function refIndex(raw: RawDb): RefIndex {
  let idx = refIndexes.get(raw);
  if (idx) return idx;
  const parents = new Map<string, { table: string; uuid: string; column: string }[]>();
  for (const [table, rows] of raw.tables) {
    const ts = raw.schema.tables.get(table);
    if (!ts) continue;
    const cols: { name: string; keys: boolean; values: boolean }[] = [];
    for (const c of ts.columns.values()) {
      const keys = c.type.key.refTable !== undefined;
      const values = c.type.value?.refTable !== undefined;
      if (keys || values) cols.push({ name: c.name, keys, values });
    }
    if (!cols.length) continue;
    for (const [uuid, row] of rows) {
      for (const c of cols) {
        const d = row.get(c.name);
        if (!d) continue;
        const atoms = c.keys ? (c.values ? [...d.keys, ...(d.values ?? [])] : d.keys) : (d.values ?? []);
        for (const a of atoms) {
          if (typeof a !== 'string') continue;
          let l = parents.get(a);
          if (!l) parents.set(a, (l = []));
          l.push({ table, uuid, column: c.name });
        }
      }
    }
  }
  idx = { parents };
  refIndexes.set(raw, idx);
  return idx;
}

function datumEqual(a: Datum | undefined, b: Datum | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.keys.length !== b.keys.length) return false;
  for (let i = 0; i < a.keys.length; i++) if (a.keys[i] !== b.keys[i]) return false;
  const av = a.values;
  const bv = b.values;
  if (!av || !bv) return av === bv;
  for (let i = 0; i < av.length; i++) if (av[i] !== bv[i]) return false;
  return true;
}

/** Columns whose values differ between two versions of a row. */
function changedColumns(a: RawRow, b: RawRow): string[] {
  const out: string[] = [];
  for (const [c, d] of a) if (!datumEqual(d, b.get(c))) out.push(c);
  for (const c of b.keys()) if (!a.has(c)) out.push(c);
  return out;
}

/** Rows that differ between two databases (added, removed or with a changed column). */
function changedRows(a: RawDb, b: RawDb): { table: string; uuid: string }[] {
  const out: { table: string; uuid: string }[] = [];
  for (const [table, rb] of b.tables) {
    const ra = a.tables.get(table) ?? new Map<string, RawRow>();
    for (const [uuid, row] of rb) {
      const old = ra.get(uuid);
      if (old !== row && (!old || changedColumns(old, row).length)) out.push({ table, uuid });
    }
    for (const uuid of ra.keys()) if (!rb.has(uuid)) out.push({ table, uuid });
  }
  for (const [table, ra] of a.tables) if (!b.tables.has(table)) for (const uuid of ra.keys()) out.push({ table, uuid });
  return out;
}

/** Switches, routers and port groups that reach a row through uuid references. */
interface Roots {
  readonly switches: Set<string>;
  readonly routers: Set<string>;
  readonly portGroups: Set<string>;
  /** Load balancers on the way (a health check's change reaches its load balancer's flows). */
  readonly lbs: Set<string>;
}

function collectRoots(idx: RefIndex, table: string, uuid: string, out: Roots, viaLb: boolean, seen: Set<string>): void {
  if (seen.has(uuid)) return;
  seen.add(uuid);
  if (table === 'Logical_Switch') {
    if (!viaLb) out.switches.add(uuid);
    return;
  }
  if (table === 'Logical_Router') {
    out.routers.add(uuid);
    return;
  }
  if (table === 'Port_Group') {
    out.portGroups.add(uuid);
    return;
  }
  if (table === 'Load_Balancer') out.lbs.add(uuid);
  const lb = viaLb || LB_TABLES.has(table);
  for (const p of idx.parents.get(uuid) ?? []) {
    // A port's own changes reach its switch; its groups' ACL flows do not name it.
    if (p.table === 'Port_Group' && p.column === 'ports') continue;
    collectRoots(idx, p.table, p.uuid, out, lb, seen);
  }
}

/** The load balancer's valid VIPs (what router facts and `hasLbVip` read of it). */
function lbVipKeys(db: NbDatabase, uuid: string): string {
  const lb = db.loadBalancers.find((l) => l.uuid === uuid);
  return lb ? northdLb(lb).vips.map((v) => v.key).join(' ') : '';
}

/** What routers read of a switch: router-type ports and peers, localnet ports and tags, vtep ports. */
function routerFacingFacts(sw: SwitchDp): string {
  const rp = sw.routerPorts.map((p) => `${p.name}>${p.peer?.name ?? ''}`).join(',');
  const ln = sw.localnetPorts.map((p) => `${p.name}:${p.nb.tag_request ?? ''}`).join(',');
  return `${rp}|${ln}|${sw.hasVtepLports}`;
}

function routersOf(sw: SwitchDp): RouterDp[] {
  return sw.routerPorts.flatMap((p) => (p.peer ? [p.peer.rt] : []));
}

function peerRouters(rt: RouterDp): RouterDp[] {
  return rt.ports.flatMap((p) => (p.peer && 'rt' in p.peer ? [p.peer.rt] : []));
}

function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function pgSwitches(ctx: NorthdContext): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const sw of ctx.switches) {
    for (const pg of sw.portGroups) {
      let s = m.get(pg.uuid);
      if (!s) m.set(pg.uuid, (s = new Set()));
      s.add(sw.nb.uuid);
    }
  }
  return m;
}

/** What an update rebuilds: switches and routers (all their segments), load balancers, and switches whose ACLs alone changed (their datapath/ACL segment). */
interface Dirty {
  readonly switches: Set<string>;
  readonly routers: Set<string>;
  readonly lbs: Set<string>;
  readonly acl: Set<string>;
}

/** One segment of the compilation: its id and how to build it. */
interface Segment {
  readonly id: string;
  readonly dirty: boolean;
  readonly build: (sink: FlowSink) => void;
}

/**
 * A northd that keeps its last compilation and updates it for a new version of the northbound
 * database by rebuilding only the flows the changes can affect; the result of every update equals
 * `compileNorthd(db, { ...options, previous: <the previous result's sb> })`.
 */
export class IncrementalNorthd {
  /** The current compilation. */
  result: NorthdResult;
  /** Counters. */
  readonly stats: IncrementalNorthdStats = { incremental: 0, recomputes: 0, reasons: new Map() };
  private db: NbDatabase;
  private segStates = new Map<string, SegState>();
  private readonly rows = new Map<string, RowState>();
  private switchLbs = new Map<string, Datapath[]>();
  private routerLbs = new Map<string, Datapath[]>();
  private readonly memo = new SouthboundMemo();

  /** Compile `db` in full (`options` as for `compileNorthd`). */
  constructor(
    db: NbDatabase,
    private readonly options: NorthdOptions = {},
  ) {
    this.db = db;
    const ctx = buildContext(db, { ...(options.previous ? { previous: options.previous } : {}), ...(options.tunnelKeys ? { tunnelKeys: options.tunnelKeys } : {}) });
    this.result = this.compileWith(db, ctx, options, undefined).result;
  }

  /**
   * Bring the compilation to `db`, a new version of the database (a separate snapshot).
   * `changed` names the rows that differ from the previous version (inserted, deleted or
   * modified), when the caller knows them (an OVSDB server does: its commits list them); without
   * it the two databases are compared row by row. Naming an unchanged row costs only work.
   */
  update(db: NbDatabase, changed?: readonly { readonly table: string; readonly uuid: string }[]): NorthdUpdate {
    const opts: NorthdOptions = { ...this.options, previous: this.result.sb };
    const old = this.result.context;
    let reason: string | undefined;
    if (db.raw === this.db.raw) changed = undefined;
    else changed ??= changedRows(this.db.raw, db.raw);
    if (!changed) reason = 'same database object';
    else {
      for (const c of changed) {
        if (GLOBAL_TABLES.has(c.table) && !(c.table === 'NB_Global' && sequenceOnly(this.db.raw.get(c.table, c.uuid), db.raw.get(c.table, c.uuid)))) reason ??= c.table;
      }
    }
    let dirty: Dirty | undefined;
    const ctx = buildContext(db, { previous: opts.previous!, reuse: new Map([...old.switches, ...old.routers].map((d) => [d.nb.uuid, d.dp])) });
    if (reason === undefined) dirty = this.dirtySets(changed!, this.db, db, old, ctx);
    const { result, ...r } = this.compileWith(db, ctx, opts, dirty);
    this.result = result;
    this.db = db;
    if (reason !== undefined) {
      this.stats.recomputes++;
      this.stats.reasons.set(reason, (this.stats.reasons.get(reason) ?? 0) + 1);
    } else this.stats.incremental++;
    return { mode: reason === undefined ? 'incremental' : 'recompute', reason, changedRows: changed?.length ?? 0, ...r };
  }

  /** Which switches, routers and load balancers the changed rows make dirty. */
  private dirtySets(changed: readonly { readonly table: string; readonly uuid: string }[], oldDb: NbDatabase, db: NbDatabase, old: NorthdContext, ctx: NorthdContext): Dirty {
    const roots: Roots = { switches: new Set(), routers: new Set(), portGroups: new Set(), lbs: new Set() };
    // ACL rows and ACL lists feed only a switch's own datapath/ACL segment (no port or router flow reads them).
    const aclRoots: Roots = { switches: new Set(), routers: new Set(), portGroups: new Set(), lbs: new Set() };
    const lbs = new Set<string>();
    const lspNames = new Set<string>();
    const oldIdx = refIndex(oldDb.raw);
    const newIdx = refIndex(db.raw);
    const oldPg = pgSwitches(old);
    const newPg = pgSwitches(ctx);
    const seenOld = new Set<string>();
    const seenNew = new Set<string>();
    for (const { table, uuid } of changed) {
      if (FLOWLESS_TABLES.has(table)) continue;
      const a = oldDb.raw.get(table, uuid);
      const b = db.raw.get(table, uuid);
      if (table === 'NB_Global') continue; // sequence numbers only (anything else is recomputed in full)
      const cols = a && b ? changedColumns(a, b) : undefined;
      if (table === 'Load_Balancer') {
        lbs.add(uuid);
        if (cols && !cols.some((c) => c !== 'vips') && lbVipKeys(oldDb, uuid) === lbVipKeys(db, uuid)) continue;
      }
      if (table === 'ACL') {
        if (a) collectRoots(oldIdx, table, uuid, aclRoots, false, new Set());
        if (b) collectRoots(newIdx, table, uuid, aclRoots, false, new Set());
        continue;
      }
      if ((table === 'Port_Group' || table === 'Logical_Switch') && cols && cols.every((c) => c === 'acls')) {
        if (table === 'Logical_Switch') aclRoots.switches.add(uuid);
        else aclRoots.portGroups.add(uuid);
        continue;
      }
      if (table === 'Port_Group' && cols && cols.every((c) => c === 'ports')) {
        const was = oldPg.get(uuid) ?? new Set<string>();
        const is = newPg.get(uuid) ?? new Set<string>();
        for (const s of was) if (!is.has(s)) roots.switches.add(s);
        for (const s of is) if (!was.has(s)) roots.switches.add(s);
        continue;
      }
      // A switch's load balancers matter to its flows only through `hasLbVip` (compared below).
      if (table === 'Logical_Switch' && cols && cols.every((c) => c === 'load_balancer' || c === 'load_balancer_group')) continue;
      if (table === 'Logical_Switch_Port') {
        for (const row of [a, b]) {
          const n = row?.get('name')?.keys[0];
          if (typeof n === 'string') lspNames.add(n);
        }
      }
      if (a) collectRoots(oldIdx, table, uuid, roots, false, seenOld);
      if (b) collectRoots(newIdx, table, uuid, roots, false, seenNew);
    }
    const switches = roots.switches;
    const routers = roots.routers;
    for (const l of roots.lbs) lbs.add(l);
    for (const pg of roots.portGroups) {
      for (const s of oldPg.get(pg) ?? []) switches.add(s);
      for (const s of newPg.get(pg) ?? []) switches.add(s);
    }
    const oldSw = new Map(old.switches.map((s) => [s.nb.uuid, s]));
    const oldRt = new Map(old.routers.map((r) => [r.nb.uuid, r]));
    const newSw = new Map(ctx.switches.map((s) => [s.nb.uuid, s]));
    const newRt = new Map(ctx.routers.map((r) => [r.nb.uuid, r]));
    for (const sw of ctx.switches) {
      const o = oldSw.get(sw.nb.uuid);
      if (!o || o.dp !== sw.dp || o.hasLbVip !== sw.hasLbVip) switches.add(sw.nb.uuid);
      if (!o || routerFacingFacts(o) !== routerFacingFacts(sw)) {
        for (const r of routersOf(sw)) routers.add(r.nb.uuid);
        if (o) for (const r of routersOf(o)) routers.add(r.nb.uuid);
      }
    }
    for (const o of old.switches) if (!newSw.has(o.nb.uuid)) for (const r of routersOf(o)) routers.add(r.nb.uuid);
    for (const rt of ctx.routers) {
      const o = oldRt.get(rt.nb.uuid);
      if (!o || o.dp !== rt.dp) routers.add(rt.nb.uuid);
    }
    if (lspNames.size) {
      for (const rt of [...old.routers, ...ctx.routers]) {
        if (rt.nb.nat.some((n) => n.logical_port !== undefined && lspNames.has(n.logical_port))) routers.add(rt.nb.uuid);
      }
    }
    // A dirty router: its peer routers and the switches attached to it, in both versions.
    for (const u of [...routers]) {
      for (const rt of [oldRt.get(u), newRt.get(u)]) {
        if (!rt) continue;
        for (const p of peerRouters(rt)) routers.add(p.nb.uuid);
      }
    }
    for (const u of routers) {
      for (const rt of [oldRt.get(u), newRt.get(u)]) {
        if (!rt) continue;
        for (const sw of rt.lsPeers) switches.add(sw.nb.uuid);
      }
    }
    const acl = new Set(aclRoots.switches);
    for (const pg of aclRoots.portGroups) {
      for (const s of oldPg.get(pg) ?? []) acl.add(s);
      for (const s of newPg.get(pg) ?? []) acl.add(s);
    }
    return { switches, routers, lbs, acl };
  }

  /** Build the segments (dirty ones afresh, others from their records) and the result. */
  private compileWith(db: NbDatabase, ctx: NorthdContext, opts: NorthdOptions, dirty: Dirty | undefined): { result: NorthdResult; segments: number; rebuilt: number; switches: number; routers: number } {
    const segs: Segment[] = [];
    const swDirty = (sw: SwitchDp) => !dirty || dirty.switches.has(sw.nb.uuid);
    const rtDirty = (rt: RouterDp) => !dirty || dirty.routers.has(rt.nb.uuid);
    for (const sw of ctx.switches) {
      segs.push({
        id: `ls ${sw.nb.uuid}`,
        dirty: swDirty(sw) || dirty!.acl.has(sw.nb.uuid),
        build: (s) => {
          buildSwitchAclFlows(ctx, s, sw);
          buildSwitchDpFlows(ctx, s, sw);
        },
      });
    }
    for (const sw of ctx.switches) for (const p of sw.ports) segs.push({ id: `lsp ${sw.nb.uuid} ${p.name}`, dirty: swDirty(sw), build: (s) => buildSwitchPortFlows(ctx, s, p) });
    const switchLbs = switchLbDatapaths(ctx);
    for (const nb of ctx.db.loadBalancers) {
      const dps = switchLbs.get(nb.uuid);
      if (!dps) continue;
      const d = !dirty || dirty.lbs.has(nb.uuid) || !sameList(dps, this.switchLbs.get(nb.uuid));
      segs.push({ id: `lb ${nb.uuid}`, dirty: d, build: (s) => buildSwitchLbFlows(s, nb, dps) });
    }
    const routerLbs = new Map<string, Datapath[]>();
    if (opts.routers !== false) {
      for (const rt of ctx.routers) segs.push({ id: `lr ${rt.nb.uuid}`, dirty: rtDirty(rt), build: (s) => buildRouterDpFlows(ctx, s, rt) });
      for (const rt of ctx.routers) for (const p of rt.ports) segs.push({ id: `lrp ${rt.nb.uuid} ${p.name}`, dirty: rtDirty(rt), build: (s) => buildRouterPortFlows(ctx, s, p) });
      for (const sw of ctx.switches) for (const p of sw.ports) segs.push({ id: `lsp-lr ${sw.nb.uuid} ${p.name}`, dirty: swDirty(sw), build: (s) => buildRouterFlowsForSwitchPort(ctx, s, p) });
      const byLb = routerLbRouters(ctx);
      for (const nb of ctx.db.loadBalancers) {
        const rts = byLb.get(nb.uuid);
        if (!rts) continue;
        const dps = rts.map((r) => r.dp);
        routerLbs.set(nb.uuid, dps);
        const d = !dirty || dirty.lbs.has(nb.uuid) || !sameList(dps, this.routerLbs.get(nb.uuid)) || rts.some(rtDirty);
        segs.push({ id: `lr-lb ${nb.uuid}`, dirty: d, build: (s) => buildRouterLbFlowsFor(s, northdLb(nb), rts) });
      }
    }
    // The IP multicast flows come last and are always rebuilt.
    let ipMulticast: IpMulticastGroup[] = [];
    segs.push({ id: 'mcast', dirty: true, build: (s) => (ipMulticast = buildMulticastFlows(ctx, s, opts)) });
    const touched = new Set<RowState>();
    const drop = (st: SegState) => {
      st.recs.forEach((r, idx) => {
        const row = this.rows.get(r.key)!;
        const k = row.contribs.findIndex((c) => c.seg === st && c.idx === idx);
        row.contribs.splice(k, 1);
        touched.add(row);
      });
    };
    const next = new Map<string, SegState>();
    let rebuilt = 0;
    segs.forEach((seg, ord) => {
      let st = this.segStates.get(seg.id);
      if (st && !seg.dirty) {
        st.ord = ord;
      } else {
        if (st) drop(st);
        const rec = new RecordingSink();
        seg.build(rec);
        st = { ord, recs: rec.recs };
        rebuilt++;
        const fresh = st;
        fresh.recs.forEach((r, idx) => {
          let row = this.rows.get(r.key);
          if (!row) this.rows.set(r.key, (row = { key: r.key, contribs: [], row: undefined }));
          row.contribs.push({ seg: fresh, idx, rec: r });
          touched.add(row);
        });
      }
      next.set(seg.id, st);
    });
    for (const [id, st] of this.segStates) if (!next.has(id)) drop(st);
    this.segStates = next;
    // Touched rows are made again by replaying their flows in compilation order into one sink.
    const before = (a: Contrib, b: Contrib) => a.seg.ord - b.seg.ord || a.idx - b.idx;
    const redo = new FlowSink();
    const order: Contrib[] = [];
    for (const row of touched) {
      if (!row.contribs.length) {
        this.rows.delete(row.key);
        continue;
      }
      row.contribs.sort(before);
      for (const c of row.contribs) order.push(c);
    }
    replay(redo, order.map((c) => c.rec));
    for (const [k, r] of redo.keyedRows()) this.rows.get(k)!.row = r;
    // The table in the order a full compilation adds rows: by each row's first flow.
    const all = [...this.rows.values()].sort((a, b) => before(a.contribs[0]!, b.contribs[0]!));
    const sink = FlowSink.fromKeyedRows(all.map((r) => [r.key, r.row!] as const));
    this.switchLbs = switchLbs;
    this.routerLbs = routerLbs;
    return {
      result: northdResult(db, ctx, sink, ipMulticast, opts, this.memo),
      segments: segs.length,
      rebuilt,
      switches: ctx.switches.filter((sw) => swDirty(sw) || dirty!.acl.has(sw.nb.uuid)).length,
      routers: opts.routers === false ? 0 : ctx.routers.filter(rtDirty).length,
    };
  }
}
