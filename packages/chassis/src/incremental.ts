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
import { idlOrder, lflowDatapaths, type SbDatabase, type SbLogicalFlow } from '@ovnts/ovn';
import { dumpFlows, lflowContext, type ChassisTables } from './flows.js';
import { considerFdb, considerLbHairpin, considerLogicalFlow, considerNeighbor, considerPortSec, lbIsLocal, lflowRun } from './lflow.js';
import { Physical } from './physical.js';
import { buildRuntime, type Runtime } from './runtime.js';

/** What an update did. */
export interface UpdateResult {
  /** True when everything was recomputed. */
  readonly recomputed: boolean;
  /** Flow keys whose installed flow may have changed. */
  readonly touched: number;
  /** Logical flows translated again. */
  readonly lflows: number;
  /** Other rows whose flows were rebuilt. */
  readonly rows: number;
}

type Sig = Map<string, string>;

function sigs<T extends { uuid: string }>(rows: readonly T[], sig: (r: T) => string): Sig {
  return new Map(rows.map((r) => [r.uuid, sig(r)]));
}

/** Uuids added, removed or changed between two signature maps. */
function changed(a: Sig, b: Sig): Set<string> {
  const out = new Set<string>();
  for (const [u, s] of a) if (b.get(u) !== s) out.add(u);
  for (const u of b.keys()) if (!a.has(u)) out.add(u);
  return out;
}

const mapSig = (m: ReadonlyMap<string, string>) => [...m].map(([k, v]) => `${k}=${v}`).join(',');

function pbSig(rt: Runtime) {
  return (p: SbDatabase['portBindings'][number]) =>
    [p.logicalPort, p.type, p.datapath.uuid, p.tunnelKey, mapSig(p.options), p.parentPort ?? '', p.tag ?? '', p.mac.join('|'), p.portSecurity.join('|'),
      rt.chassisOf(p) ?? '', p.haChassisGroup?.haChassis.map((h) => `${h.chassis?.name}:${h.priority}`).join(',') ?? ''].join(';');
}

function lflowSig(f: SbLogicalFlow): string {
  return `${f.pipeline};${f.tableId};${f.priority};${f.match};${f.actions};${mapSig(f.tags)};${f.controllerMeter ?? ''};${lflowDatapaths(f).map((d) => d.uuid).join(',')}`;
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

/** Bring `t` to southbound database `sb` incrementally (see the module comment). */
export function updateChassisTables(t: ChassisTables, sb: SbDatabase, facts = t.facts): UpdateResult {
  const old = t.sb;
  const oldRt = t.rt;
  const rt = buildRuntime(sb, t.config, facts, oldRt.ctZones);
  t.flows.takeChanged();
  if (runtimeIncompatible(oldRt, rt)) {
    recompute(t, sb, facts);
    return { recomputed: true, touched: t.flows.takeChanged().size, lflows: sb.logicalFlows.length, rows: sb.portBindings.length };
  }
  // Names that changed: address sets, port groups as this chassis expands them, ports, multicast groups.
  const names = new Set<string>();
  const asOld = new Map(old.addressSets.map((a) => [a.name, a.addresses.join(',')]));
  const asNew = new Map(sb.addressSets.map((a) => [a.name, a.addresses.join(',')]));
  for (const n of new Set([...asOld.keys(), ...asNew.keys()])) if (asOld.get(n) !== asNew.get(n)) names.add(`as:${n}`);
  const pgView = (db: SbDatabase, r: Runtime) => new Map(db.portGroups.map((p) => [p.name, p.ports.filter((x) => r.localLports.has(x)).join(',')]));
  const pgOld = pgView(old, oldRt);
  const pgNew = pgView(sb, rt);
  for (const n of new Set([...pgOld.keys(), ...pgNew.keys()])) if (pgOld.get(n) !== pgNew.get(n)) names.add(`pg:${n}`);
  const pbChanged = changed(sigs(old.portBindings, pbSig(oldRt)), sigs(sb.portBindings, pbSig(rt)));
  const relatedChanged = (name: string) => {
    const a = oldRt.portByName.get(name);
    const b = rt.portByName.get(name);
    const rel = (r: Runtime, p: typeof a) => (p ? r.related.has(`${p.datapath.tunnelKey}_${p.tunnelKey}`) || r.isResident(name) : false);
    return rel(oldRt, a) !== rel(rt, b);
  };
  for (const p of [...old.portBindings, ...sb.portBindings]) if (pbChanged.has(p.uuid) || relatedChanged(p.logicalPort)) names.add(`port:${p.logicalPort}`);
  const mcSig = (m: SbDatabase['multicastGroups'][number]) => `${m.datapath.uuid};${m.name};${m.tunnelKey};${m.ports.map((p) => p.uuid).join(',')}`;
  const mcChanged = changed(sigs(old.multicastGroups, mcSig), sigs(sb.multicastGroups, mcSig));
  for (const m of [...old.multicastGroups, ...sb.multicastGroups]) if (mcChanged.has(m.uuid)) names.add(`port:${m.name}`);

  // Logical flows to translate again.
  const lfChanged = changed(sigs(old.logicalFlows, lflowSig), sigs(sb.logicalFlows, lflowSig));
  for (const [uuid, refs] of t.lctx.refs) {
    if (lfChanged.has(uuid)) continue;
    for (const r of refs) {
      if (names.has(r)) {
        lfChanged.add(uuid);
        break;
      }
    }
  }
  t.sb = sb;
  t.facts = facts;
  t.rt = rt;
  t.lctx = lflowContext(sb, rt, t.flows, t.groups, t.meters, t.lctx.conj, t.lctx.refs);
  t.physical = new Physical(sb, rt, t.flows);
  for (const uuid of lfChanged) {
    t.flows.removeOwner(uuid);
    t.lctx.conj.releaseFlow(uuid);
    t.groups.release(uuid);
    t.meters.release(uuid);
    t.lctx.refs.delete(uuid);
  }
  const newFlows = idlOrder([sb.logicalFlows]).filter((f) => lfChanged.has(f.uuid));
  for (const f of newFlows) considerLogicalFlow(t.lctx, f);
  let rows = 0;

  // Port bindings, their peers and the multicast groups holding them.
  const pbs = new Set(pbChanged);
  for (const u of pbChanged) {
    const p = sb.portBindings.find((x) => x.uuid === u) ?? old.portBindings.find((x) => x.uuid === u);
    const peer = p?.options.get('peer');
    const pp = peer === undefined ? undefined : rt.portByName.get(peer);
    if (pp) pbs.add(pp.uuid);
  }
  for (const m of sb.multicastGroups) if (m.ports.some((p) => pbs.has(p.uuid))) mcChanged.add(m.uuid);
  for (const u of pbs) {
    t.flows.removeOwner(u);
    rows++;
  }
  for (const pb of idlOrder([sb.portBindings])) {
    if (!pbs.has(pb.uuid)) continue;
    t.physical.considerPortBinding(pb);
    if (rt.bound.has(pb.logicalPort) && (pb.type === '' || pb.type === 'virtual')) considerPortSec(t.lctx, pb);
  }
  for (const u of mcChanged) {
    t.flows.removeOwner(u);
    rows++;
  }
  for (const m of idlOrder([sb.multicastGroups])) if (mcChanged.has(m.uuid)) t.physical.considerMcGroup(m);

  // Load balancers, MAC bindings, FDB.
  const lbSig = (l: SbDatabase['loadBalancers'][number]) => `${mapSig(l.vips)};${l.protocol ?? ''};${mapSig(l.options)};${[...l.datapaths, ...(l.datapathGroup?.datapaths ?? [])].map((d) => d.uuid).join(',')}`;
  const lbChanged = changed(sigs(old.loadBalancers, lbSig), sigs(sb.loadBalancers, lbSig));
  for (const u of lbChanged) {
    t.flows.removeOwner(u);
    rows++;
  }
  const useCtMark = sb.global.options.get('lb_hairpin_use_ct_mark') !== 'false';
  for (const lb of idlOrder([sb.loadBalancers])) if (lbChanged.has(lb.uuid) && lbIsLocal(t.lctx, lb)) considerLbHairpin(t.lctx, lb, useCtMark);
  const mbSig = (b: { logicalPort: string; ip: string; mac: string }) => `${b.logicalPort};${b.ip};${b.mac}`;
  const mbChanged = changed(sigs(old.macBindings, mbSig), sigs(sb.macBindings, mbSig));
  const smbChanged = changed(sigs(old.staticMacBindings, (b) => `${mbSig(b)};${b.overrideDynamicMac}`), sigs(sb.staticMacBindings, (b) => `${mbSig(b)};${b.overrideDynamicMac}`));
  const fdbSig = (f: { mac: string; dpKey: number; portKey: number }) => `${f.mac};${f.dpKey};${f.portKey}`;
  const fdbChanged = changed(sigs(old.fdb, fdbSig), sigs(sb.fdb, fdbSig));
  for (const u of [...mbChanged, ...smbChanged, ...fdbChanged]) {
    t.flows.removeOwner(u);
    rows++;
  }
  for (const b of sb.macBindings) if (mbChanged.has(b.uuid)) considerNeighbor(t.lctx, b, 100);
  for (const b of sb.staticMacBindings) if (smbChanged.has(b.uuid)) considerNeighbor(t.lctx, b, b.overrideDynamicMac ? 150 : 50);
  for (const f of sb.fdb) if (fdbChanged.has(f.uuid)) considerFdb(t.lctx, f);
  return { recomputed: false, touched: t.flows.takeChanged().size, lflows: lfChanged.size, rows };
}

/** The printed flows of `t` (for comparing an updated table with a recompute). */
export function tableText(t: ChassisTables): string[] {
  return dumpFlows(t.flows);
}
