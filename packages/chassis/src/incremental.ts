/**
 * Incremental processing: bring a chassis's tables from one southbound database to the next by
 * rebuilding only the flows of the rows that changed, as ovn-controller's incremental engine does
 * for the common changes.
 *
 * Design. Every desired flow is owned by the row it came from (flow-table.ts), and the logical-flow
 * translation recorded, per logical flow, every name it looked up (address sets `as:`, port groups
 * `pg:`, ports and multicast groups `port:`). An update diffs the two databases by row uuid and a
 * content signature per table, then:
 * - a logical flow added, removed or changed, or one that looked up a changed address set, port
 *   group (as this chassis expands it: local ports only), port or multicast group, loses its flows
 *   (and its conjunction ids, groups and meters) and is translated again;
 * - a port binding added, removed or changed has its physical flows (and port security) rebuilt,
 *   with its patch peer and the multicast groups that contain it;
 * - multicast groups, load balancers, MAC bindings, static MAC bindings and FDB entries that
 *   changed have their own flows rebuilt.
 * When the chassis's runtime data change in a way these handlers do not follow (a datapath
 * becomes local or stops being local, tunnels or localnet patch ports change, a port moves on or
 * off the chassis together with its datapath), everything is recomputed, as ovn-controller falls
 * back to a full recompute. Conntrack zones survive updates: a port keeps its zone.
 */
import { idlOrder, type SbDatabase, type SbDatapathGroup, type SbLoadBalancer, type SbLogicalFlow, type SbMulticastGroup, type SbPortBinding } from '@ovnts/ovn';
import { dumpFlows, lflowContext, type ChassisTables } from './flows.js';
import type { LflowContext } from './lflow.js';
import { considerFdb, considerLbHairpin, considerLogicalFlow, considerNeighbor, considerPortSec, lbIsLocal, lflowRun } from './lflow.js';
import { Physical } from './physical.js';
import { buildRuntime, lportKey, pgMember, patchRuntime, type ClusterFacts, type Runtime } from './runtime.js';

/** What an update did. */
export interface UpdateResult {
  /** True when everything was recomputed. */
  readonly recomputed: boolean;
  /** Number of flow keys whose installed flow may have changed. */
  readonly touched: number;
  /** Those flow keys. */
  readonly keys: ReadonlySet<string>;
  /** Logical flows translated again. */
  readonly lflows: number;
  /** Other rows whose flows were rebuilt. */
  readonly rows: number;
}

/** Rows by uuid, built once per row array (a database's arrays never change). */
const indexes = new WeakMap<readonly { uuid: string }[], Map<string, { uuid: string }>>();

function rowIndex<T extends { uuid: string }>(rows: readonly T[]): Map<string, T> {
  let m = indexes.get(rows) as Map<string, T> | undefined;
  if (!m) {
    m = new Map();
    for (const r of rows) m.set(r.uuid, r);
    indexes.set(rows, m);
  }
  return m;
}

/** Uuids of rows added, removed or changed (`same` false) between two versions of a table. */
function changedRows<T extends { uuid: string }>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): Set<string> {
  const out = new Set<string>();
  if (a === b) return out;
  const ia = rowIndex(a);
  const ib = rowIndex(b);
  let common = 0;
  for (const r of b) {
    const o = ia.get(r.uuid);
    if (o) common++;
    if (!o || (o !== r && !same(o, r))) out.add(r.uuid);
  }
  if (common !== ia.size) for (const r of a) if (!ib.has(r.uuid)) out.add(r.uuid);
  return out;
}

function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function sameList<T>(a: readonly T[], b: readonly T[], key: (x: T) => unknown = (x) => x): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (key(a[i]!) !== key(b[i]!)) return false;
  return true;
}

const uuidOf = (r: { uuid: string }) => r.uuid;

/** A datapath group's members as one string (once per group row). */
const groupSigs = new WeakMap<SbDatapathGroup, string>();

function groupSig(g: SbDatapathGroup): string {
  let s = groupSigs.get(g);
  if (s === undefined) groupSigs.set(g, (s = g.datapaths.map(uuidOf).join(',')));
  return s;
}

function sameLflow(a: SbLogicalFlow, b: SbLogicalFlow): boolean {
  return a.match === b.match && a.actions === b.actions && a.priority === b.priority && a.tableId === b.tableId && a.pipeline === b.pipeline &&
    a.controllerMeter === b.controllerMeter && sameMap(a.tags, b.tags) && a.logicalDatapath?.uuid === b.logicalDatapath?.uuid &&
    (a.logicalDpGroup === b.logicalDpGroup || (!!a.logicalDpGroup && !!b.logicalDpGroup && groupSig(a.logicalDpGroup) === groupSig(b.logicalDpGroup)));
}

function sameMc(a: SbMulticastGroup, b: SbMulticastGroup): boolean {
  return a.datapath.uuid === b.datapath.uuid && a.name === b.name && a.tunnelKey === b.tunnelKey && sameList(a.ports, b.ports, uuidOf);
}

function sameLb(a: SbLoadBalancer, b: SbLoadBalancer): boolean {
  return sameMap(a.vips, b.vips) && a.protocol === b.protocol && sameMap(a.options, b.options) && sameList(a.datapaths, b.datapaths, uuidOf) &&
    sameList(a.datapathGroup?.datapaths ?? [], b.datapathGroup?.datapaths ?? [], uuidOf);
}

const sameMb = (a: { logicalPort: string; ip: string; mac: string }, b: { logicalPort: string; ip: string; mac: string }) =>
  a.logicalPort === b.logicalPort && a.ip === b.ip && a.mac === b.mac;

/**
 * The names each logical flow looked up, inverted: name -> logical flows. Kept per `refs` map
 * (the one a recompute starts and every incremental update carries over), built on its first
 * update and maintained as flows are translated again: a recompute's new map gets a new index,
 * never the one of the flows it replaced.
 */
const refIndexes = new WeakMap<LflowContext['refs'], Map<string, Set<string>>>();

function refIndex(t: ChassisTables): Map<string, Set<string>> {
  const refs = t.lctx.refs;
  let ix = refIndexes.get(refs);
  if (!ix) {
    ix = new Map();
    for (const [uuid, names] of refs) indexRefs(ix, uuid, names);
    refIndexes.set(refs, ix);
  }
  return ix;
}

function indexRefs(ix: Map<string, Set<string>>, uuid: string, names: Iterable<string>): void {
  for (const n of names) {
    let s = ix.get(n);
    if (!s) ix.set(n, (s = new Set()));
    s.add(uuid);
  }
}

/** Does the runtime change need a full recompute? */
function runtimeIncompatible(a: Runtime, b: Runtime): boolean {
  if (a.localDatapaths.size !== b.localDatapaths.size) return true;
  for (const k of a.localDatapaths.keys()) if (!b.localDatapaths.has(k)) return true;
  for (const [k, ld] of a.localDatapaths) if (ld.localnetPort?.uuid !== b.localDatapaths.get(k)!.localnetPort?.uuid) return true;
  const tun = (r: Runtime) => [...r.tunnels.values()].map((t) => `${t.chassis}/${t.ip}/${t.ofport}`).sort().join(',');
  if (tun(a) !== tun(b)) return true;
  const patch = (r: Runtime) => [...r.patchOfports].map(([k, v]) => `${k}/${v}`).sort().join(',');
  return patch(a) !== patch(b);
}

/** Recompute everything into the existing tables (their flow table, group and meter ids are reused). */
export function recompute(t: ChassisTables, sb: SbDatabase, facts = t.facts): void {
  t.flows.clear();
  t.groups.clear();
  t.meters.clear();
  t.sb = sb;
  t.facts = facts;
  t.rt = buildRuntime(sb, t.config, facts, t.rt.ctZones);
  t.lctx = lflowContext(sb, t.rt, t.flows, t.groups, t.meters);
  lflowRun(t.lctx);
  t.physical = new Physical(sb, t.rt, t.flows);
  t.physical.run();
}

/** Multicast groups by member port binding uuid (once per database). */
const mcIndexes = new WeakMap<SbDatabase, Map<string, SbMulticastGroup[]>>();

function mcIndex(sb: SbDatabase): Map<string, SbMulticastGroup[]> {
  let m = mcIndexes.get(sb);
  if (!m) {
    m = new Map();
    for (const g of sb.multicastGroups) {
      for (const p of g.ports) {
        let l = m.get(p.uuid);
        if (!l) m.set(p.uuid, (l = []));
        l.push(g);
      }
    }
    mcIndexes.set(sb, m);
  }
  return m;
}

/** Rows added, removed or changed between two southbound databases (uuids; address sets and port groups by name). */
export interface SbChanges {
  /** Logical flows. */
  readonly logicalFlows: ReadonlySet<string>;
  /** Port bindings. */
  readonly portBindings: ReadonlySet<string>;
  /** Multicast groups. */
  readonly multicastGroups: ReadonlySet<string>;
  /** Address sets, by name. */
  readonly addressSets: ReadonlySet<string>;
  /** Port groups, by name. */
  readonly portGroups: ReadonlySet<string>;
  /** Load balancers. */
  readonly loadBalancers: ReadonlySet<string>;
  /** MAC bindings. */
  readonly macBindings: ReadonlySet<string>;
  /** Static MAC bindings. */
  readonly staticMacBindings: ReadonlySet<string>;
  /** FDB entries. */
  readonly fdb: ReadonlySet<string>;
  /** Anything else this layer reads changed (datapaths, chassis, encaps, HA groups, global options, DHCP, DNS, meters): recompute. */
  readonly other: boolean;
}

function samePbRow(a: SbPortBinding, b: SbPortBinding): boolean {
  return a.logicalPort === b.logicalPort && a.type === b.type && a.datapath.uuid === b.datapath.uuid && a.tunnelKey === b.tunnelKey &&
    sameMap(a.options, b.options) && a.parentPort === b.parentPort && a.tag === b.tag && sameList(a.mac, b.mac) &&
    sameList(a.portSecurity, b.portSecurity) && a.chassis?.name === b.chassis?.name && a.haChassisGroup?.uuid === b.haChassisGroup?.uuid;
}

/** Named rows whose value changed, by name. */
function changedByName<T extends { name: string }>(a: readonly T[], b: readonly T[], value: (x: T) => string): Set<string> {
  const out = new Set<string>();
  if (a === b) return out;
  const va = new Map(a.map((x) => [x.name, value(x)]));
  for (const x of b) {
    if (va.get(x.name) !== value(x)) out.add(x.name);
    va.delete(x.name);
  }
  for (const n of va.keys()) out.add(n);
  return out;
}

function sameRows<T extends { uuid: string }>(a: readonly T[], b: readonly T[], sig: (x: T) => string): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  const ia = rowIndex(a);
  for (const r of b) {
    const o = ia.get(r.uuid);
    if (!o || sig(o) !== sig(r)) return false;
  }
  return true;
}

/**
 * The rows that differ between two southbound databases (what an OVSDB IDL's change tracking
 * would report), by comparing every row of the tables this layer reads.
 */
export function diffSouthbound(old: SbDatabase, sb: SbDatabase): SbChanges {
  const j = (m: ReadonlyMap<string, string>) => [...m].join(';');
  const other =
    !sameMap(old.global.options, sb.global.options) ||
    !sameRows(old.datapaths, sb.datapaths, (d) => `${d.tunnelKey};${j(d.externalIds)}`) ||
    !sameRows(old.chassis, sb.chassis, (c) => `${c.name};${j(c.otherConfig)};${j(c.externalIds)};${c.encaps.map((e) => `${e.type}/${e.ip}`).join(',')}`) ||
    !sameRows(old.haChassisGroups, sb.haChassisGroups, (g) => g.haChassis.map((h) => `${h.chassis?.name}:${h.priority}`).join(',')) ||
    !sameRows(old.dhcpOptions, sb.dhcpOptions, (o) => `${o.name};${o.code};${o.type}`) ||
    !sameRows(old.dhcpv6Options, sb.dhcpv6Options, (o) => `${o.name};${o.code};${o.type}`) ||
    !sameRows(old.dns, sb.dns, (d) => `${j(d.records)};${d.datapaths.map(uuidOf).join(',')}`) ||
    !sameRows(old.meters, sb.meters, (m) => `${m.name};${m.unit};${m.bands.map((x) => `${x.rate}/${x.burstSize}`).join(',')}`);
  return {
    logicalFlows: changedRows(old.logicalFlows, sb.logicalFlows, sameLflow),
    portBindings: changedRows(old.portBindings, sb.portBindings, samePbRow),
    multicastGroups: changedRows(old.multicastGroups, sb.multicastGroups, sameMc),
    addressSets: changedByName(old.addressSets, sb.addressSets, (x) => x.addresses.join(',')),
    portGroups: changedByName(old.portGroups, sb.portGroups, (x) => x.ports.join(',')),
    loadBalancers: changedRows(old.loadBalancers, sb.loadBalancers, sameLb),
    macBindings: changedRows(old.macBindings, sb.macBindings, sameMb),
    staticMacBindings: changedRows(old.staticMacBindings, sb.staticMacBindings, (a, b) => sameMb(a, b) && a.overrideDynamicMac === b.overrideDynamicMac),
    fdb: changedRows(old.fdb, sb.fdb, (a, b) => a.mac === b.mac && a.dpKey === b.dpKey && a.portKey === b.portKey),
    other,
  };
}

/** Options of `updateChassisTables`. */
export interface UpdateOptions {
  /** New cluster facts (where ports are bound, tunnels up); default: unchanged. */
  readonly facts?: ClusterFacts;
  /** What changed from the tables' database to the new one (default: `diffSouthbound`); with it the update costs what the change touches. */
  readonly changes?: SbChanges;
}

/** A port as logical flows see it: its key in its datapath, where it is bound, and whether it is related here. */
function portView(r: Runtime, p: SbPortBinding | undefined): string {
  return p ? `${p.datapath.uuid}/${p.tunnelKey}/${r.chassisOf(p) ?? ''}/${r.isResident(p.logicalPort)}/${r.related.has(lportKey(p.datapath.tunnelKey, p.tunnelKey))}` : '';
}

/** A port as it was before the update: its binding, its view by logical flows and its chassis. */
interface PortBefore {
  readonly pb: SbPortBinding | undefined;
  readonly view: string;
  readonly chassis: string | undefined;
}

function portBefore(r: Runtime, name: string): PortBefore {
  const pb = r.portByName.get(name);
  return { pb, view: portView(r, pb), chassis: pb && r.chassisOf(pb) };
}

/** Named rows by name, built once per row array. */
const nameIndexes = new WeakMap<readonly { name: string }[], Map<string, { name: string }>>();

function byName<T extends { name: string }>(rows: readonly T[]): Map<string, T> {
  let m = nameIndexes.get(rows) as Map<string, T> | undefined;
  if (!m) {
    m = new Map();
    for (const r of rows) if (!m.has(r.name)) m.set(r.name, r);
    nameIndexes.set(rows, m);
  }
  return m;
}

/** The local ports of a port group as this chassis expands it (`lflowContext` keeps them). */
function localMembers(sb: SbDatabase, rt: Runtime, name: string): string[] | undefined {
  return byName(sb.portGroups).get(name)?.ports.filter((n) => pgMember(rt, n));
}

/**
 * The logical-flow context for the new database, from the previous one: the address sets, port
 * groups and multicast group keys that changed are replaced in its maps (which nothing else
 * holds), so the update costs what changed rather than the size of the database.
 */
function nextLflowContext(t: ChassisTables, old: SbDatabase, sb: SbDatabase, rt: Runtime, ch: SbChanges, pgs: ReadonlySet<string>): LflowContext {
  const c = t.lctx;
  for (const n of ch.addressSets) {
    const a = byName(sb.addressSets).get(n);
    if (a) c.addressSets.set(n, a.addresses);
    else c.addressSets.delete(n);
  }
  for (const n of pgs) {
    const v = localMembers(sb, rt, n);
    if (v) c.portGroups.set(n, v);
    else c.portGroups.delete(n);
  }
  if (ch.multicastGroups.size) {
    const before = rowIndex(old.multicastGroups);
    const after = rowIndex(sb.multicastGroups);
    for (const u of ch.multicastGroups) {
      const m = before.get(u);
      // A group the update added was in no previous database: nothing to forget.
      if (!m) continue;
      const keys = c.mcKeys.get(m.datapath.tunnelKey);
      if (keys?.get(m.name) === m.tunnelKey) keys!.delete(m.name);
    }
    for (const u of ch.multicastGroups) {
      const m = after.get(u);
      if (!m) continue;
      let keys = c.mcKeys.get(m.datapath.tunnelKey);
      if (!keys) c.mcKeys.set(m.datapath.tunnelKey, (keys = new Map()));
      keys.set(m.name, m.tunnelKey);
    }
  }
  return { ...c, sb, rt };
}

/** The multicast groups of `sb` that hold port binding `u` (of datapath `dp`). */
function mcGroupsOf(sb: SbDatabase, u: string, dp: string, many: boolean): readonly SbMulticastGroup[] {
  if (many) return mcIndex(sb).get(u) ?? [];
  return sb.multicastGroups.filter((m) => m.datapath.uuid === dp && m.ports.some((p) => p.uuid === u));
}

/** Bring `t` to southbound database `sb` incrementally (see the module comment). */
export function updateChassisTables(t: ChassisTables, sb: SbDatabase, opts: UpdateOptions = {}): UpdateResult {
  const old = t.sb;
  const oldRt = t.rt;
  const facts = opts.facts ?? t.facts;
  const ch = opts.changes ?? diffSouthbound(old, sb);
  const pbNew = rowIndex(sb.portBindings);
  const pbOld = rowIndex(old.portBindings);
  // The runtime data depend on the port bindings, the chassis rows and the facts only: with none
  // of them changed the old runtime stands (it compares rows of either database by key). When
  // only plain VIF bindings changed, it is patched in place, after keeping what the changed
  // ports were (nothing else about the ports changes then).
  let rt: Runtime | undefined;
  let before: Map<string, PortBefore> | undefined;
  if (!ch.other && facts === t.facts) {
    if (!ch.portBindings.size) rt = oldRt;
    else {
      const changed = [...ch.portBindings].map((u) => ({ before: pbOld.get(u), after: pbNew.get(u) }));
      const snapshot = new Map<string, PortBefore>();
      for (const c of changed) for (const p of [c.before, c.after]) if (p && !snapshot.has(p.logicalPort)) snapshot.set(p.logicalPort, portBefore(oldRt, p.logicalPort));
      if (patchRuntime(oldRt, facts, changed)) {
        rt = { ...oldRt };
        before = snapshot;
      }
    }
  }
  const patched = before !== undefined;
  rt ??= buildRuntime(sb, t.config, facts, oldRt.ctZones);
  const wasPort = (n: string): PortBefore => before?.get(n) ?? portBefore(oldRt, n);
  t.flows.takeChanged();
  if (ch.other || (rt !== oldRt && !patched && runtimeIncompatible(oldRt, rt))) {
    recompute(t, sb, facts);
    const keys = t.flows.takeChanged();
    return { recomputed: true, touched: keys.size, keys, lflows: sb.logicalFlows.length, rows: sb.portBindings.length };
  }
  // Names that changed: address sets, port groups as this chassis expands them, ports, multicast groups.
  const names = new Set<string>();
  for (const n of ch.addressSets) names.add(`as:${n}`);
  const pgs = new Set(ch.portGroups);
  // Local ports come and go with the bindings (and the chassis's own VIFs); a port group's local view changes with them.
  if (oldRt.localLports !== rt.localLports) {
    const moved = new Set([...oldRt.localLports].filter((x) => !rt.localLports.has(x)).concat([...rt.localLports].filter((x) => !oldRt.localLports.has(x))));
    if (moved.size) for (const pg of [...old.portGroups, ...sb.portGroups]) if (pg.ports.some((x) => moved.has(x))) pgs.add(pg.name);
  }
  const pgBefore = new Map([...pgs].map((n) => [n, t.lctx.portGroups.get(n)?.join(',')]));
  // Ports whose row changed, whose binding or relation to this chassis changed.
  const candidates = new Set<string>();
  for (const u of ch.portBindings) {
    const p = pbNew.get(u) ?? pbOld.get(u);
    if (p) candidates.add(p.logicalPort);
  }
  const symDiff = <T>(a: Iterable<T>, b: ReadonlySet<T>, c: ReadonlySet<T>, out: (x: T) => void) => {
    for (const x of a) if (b.has(x) !== c.has(x)) out(x);
  };
  if (oldRt.related !== rt.related && (oldRt.related.size !== rt.related.size || [...rt.related].some((k) => !oldRt.related.has(k)))) {
    const add = (k: string) => {
      const p = rt.portByKey.get(k) ?? oldRt.portByKey.get(k);
      if (p) candidates.add(p.logicalPort);
    };
    symDiff(oldRt.related, oldRt.related, rt.related, add);
    symDiff(rt.related, oldRt.related, rt.related, add);
  }
  if (oldRt.bound !== rt.bound) {
    const boundOld = new Set(oldRt.bound.keys());
    const boundNew = new Set(rt.bound.keys());
    symDiff(boundOld, boundOld, boundNew, (n) => candidates.add(n));
    symDiff(boundNew, boundOld, boundNew, (n) => candidates.add(n));
  }
  // New facts (bindings elsewhere, tunnels up) can move any port; HA group rows are compared with `other`.
  const factsChanged = facts !== t.facts;
  if (factsChanged) for (const p of sb.portBindings) candidates.add(p.logicalPort);
  for (const n of candidates) if (wasPort(n).view !== portView(rt, rt.portByName.get(n))) names.add(`port:${n}`);
  const mcKey = (db: SbDatabase, u: string) => rowIndex(db.multicastGroups).get(u)?.tunnelKey;
  const mcChanged = new Set(ch.multicastGroups);
  for (const u of ch.multicastGroups) {
    if (mcKey(old, u) !== mcKey(sb, u)) {
      const m = rowIndex(sb.multicastGroups).get(u) ?? rowIndex(old.multicastGroups).get(u);
      if (m) names.add(`port:${m.name}`);
    }
  }
  t.lctx = nextLflowContext(t, old, sb, rt, ch, pgs);
  for (const n of pgs) if (pgBefore.get(n) !== t.lctx.portGroups.get(n)?.join(',')) names.add(`pg:${n}`);

  // Logical flows to translate again.
  const lfChanged = new Set(ch.logicalFlows);
  const ix = refIndex(t);
  for (const n of names) for (const uuid of ix.get(n) ?? []) lfChanged.add(uuid);
  t.sb = sb;
  t.facts = facts;
  t.rt = rt;
  t.physical = new Physical(sb, rt, t.flows);
  for (const uuid of lfChanged) {
    t.flows.removeOwner(uuid);
    t.lctx.conj.releaseFlow(uuid);
    t.groups.release(uuid);
    t.meters.release(uuid);
    for (const n of t.lctx.refs.get(uuid) ?? []) ix.get(n)?.delete(uuid);
    t.lctx.refs.delete(uuid);
  }
  // In the southbound IDL's order among themselves (ofctrl resolves equal keys by arrival).
  const lfIndex = rowIndex(sb.logicalFlows);
  const newFlows = idlOrder([[...lfChanged].flatMap((u) => lfIndex.get(u) ?? [])]);
  for (const f of newFlows) {
    considerLogicalFlow(t.lctx, f);
    indexRefs(ix, f.uuid, t.lctx.refs.get(f.uuid) ?? []);
  }
  let rows = 0;

  // Port bindings (changed rows and ports whose binding changed), their peers and the multicast groups holding them.
  const pbs = new Set(ch.portBindings);
  for (const n of candidates) {
    const a = wasPort(n);
    const b = rt.portByName.get(n);
    if (a.pb && b && a.pb.uuid === b.uuid && a.chassis !== rt.chassisOf(b)) pbs.add(b.uuid);
  }
  for (const u of [...pbs]) {
    const p = pbNew.get(u) ?? pbOld.get(u);
    const peer = p?.options.get('peer');
    const pp = peer === undefined ? undefined : rt.portByName.get(peer);
    if (pp) pbs.add(pp.uuid);
  }
  for (const u of pbs) {
    const p = pbNew.get(u);
    if (p) for (const m of mcGroupsOf(sb, u, p.datapath.uuid, pbs.size > 32)) mcChanged.add(m.uuid);
  }
  for (const u of pbs) {
    t.flows.removeOwner(u);
    rows++;
  }
  for (const pb of idlOrder([[...pbs].flatMap((u) => pbNew.get(u) ?? [])])) {
    t.physical.considerPortBinding(pb);
    if (rt.bound.has(pb.logicalPort) && (pb.type === '' || pb.type === 'virtual')) considerPortSec(t.lctx, pb);
  }
  for (const u of mcChanged) {
    t.flows.removeOwner(u);
    rows++;
  }
  const mcNew = rowIndex(sb.multicastGroups);
  for (const m of idlOrder([[...mcChanged].flatMap((u) => mcNew.get(u) ?? [])])) t.physical.considerMcGroup(m);

  // Load balancers, MAC bindings, FDB.
  for (const u of ch.loadBalancers) {
    t.flows.removeOwner(u);
    rows++;
  }
  const useCtMark = sb.global.options.get('lb_hairpin_use_ct_mark') !== 'false';
  const lbNew = rowIndex(sb.loadBalancers);
  for (const lb of idlOrder([[...ch.loadBalancers].flatMap((u) => lbNew.get(u) ?? [])])) if (lbIsLocal(t.lctx, lb)) considerLbHairpin(t.lctx, lb, useCtMark);
  for (const u of [...ch.macBindings, ...ch.staticMacBindings, ...ch.fdb]) {
    t.flows.removeOwner(u);
    rows++;
  }
  const mbNew = rowIndex(sb.macBindings);
  const smbNew = rowIndex(sb.staticMacBindings);
  const fdbNew = rowIndex(sb.fdb);
  for (const u of ch.macBindings) {
    const b = mbNew.get(u);
    if (b) considerNeighbor(t.lctx, b, 100);
  }
  for (const u of ch.staticMacBindings) {
    const b = smbNew.get(u);
    if (b) considerNeighbor(t.lctx, b, b.overrideDynamicMac ? 150 : 50);
  }
  for (const u of ch.fdb) {
    const f = fdbNew.get(u);
    if (f) considerFdb(t.lctx, f);
  }
  const keys = t.flows.takeChanged();
  return { recomputed: false, touched: keys.size, keys, lflows: lfChanged.size, rows };
}

/** The printed flows of `t` (for comparing an updated table with a recompute). */
export function tableText(t: ChassisTables): string[] {
  return dumpFlows(t.flows);
}
