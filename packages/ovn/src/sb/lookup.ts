/**
 * `SbIndex`: the lookups every reader of a southbound database needs (ovn-controller keeps the
 * same as OVSDB IDL indexes), built once in one pass over each table.
 */
import type { SbDatabase, SbDatapath, SbLogicalFlow, SbMulticastGroup, SbPortBinding } from './model.js';
import { lflowDatapaths } from './model.js';

/** Lookups over one southbound database. */
export class SbIndex {
  /** Datapaths by tunnel key. */
  readonly datapathByKey = new Map<number, SbDatapath>();
  /** Datapaths by row uuid. */
  readonly datapathByUuid = new Map<string, SbDatapath>();
  /** Port bindings by logical port name (the first one when a name is bound twice). */
  readonly portByName = new Map<string, SbPortBinding>();
  /** Port bindings of each datapath, in table order. */
  readonly portsOf = new Map<SbDatapath, SbPortBinding[]>();
  /** Multicast groups of each datapath, in table order. */
  readonly mcGroupsOf = new Map<SbDatapath, SbMulticastGroup[]>();
  /** Logical flows of each datapath (a flow with a datapath group is listed under each of them). */
  readonly flowsOf = new Map<SbDatapath, SbLogicalFlow[]>();
  /** Port bindings whose name was already bound (ovn-controller and ovn-trace use the first). */
  readonly duplicatePorts: SbPortBinding[] = [];

  constructor(readonly sb: SbDatabase) {
    for (const d of sb.datapaths) {
      this.datapathByKey.set(d.tunnelKey, d);
      this.datapathByUuid.set(d.uuid, d);
      this.portsOf.set(d, []);
      this.mcGroupsOf.set(d, []);
      this.flowsOf.set(d, []);
    }
    for (const p of sb.portBindings) {
      if (this.portByName.has(p.logicalPort)) this.duplicatePorts.push(p);
      else this.portByName.set(p.logicalPort, p);
      this.portsOf.get(p.datapath)?.push(p);
    }
    for (const m of sb.multicastGroups) this.mcGroupsOf.get(m.datapath)?.push(m);
    for (const f of sb.logicalFlows) for (const d of lflowDatapaths(f)) this.flowsOf.get(d)?.push(f);
  }

  /** The port of `dp` with tunnel key `key`. */
  portByKey(dp: SbDatapath, key: number): SbPortBinding | undefined {
    return this.portsOf.get(dp)?.find((p) => p.tunnelKey === key);
  }
}

const cache = new WeakMap<SbDatabase, SbIndex>();

/** The (cached) index of `sb`. */
export function sbIndex(sb: SbDatabase): SbIndex {
  let i = cache.get(sb);
  if (!i) cache.set(sb, (i = new SbIndex(sb)));
  return i;
}
