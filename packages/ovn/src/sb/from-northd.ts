/**
 * The southbound database our northd produces: what ovn-northd 23.03 writes to OVN_Southbound for
 * a northbound database, from the compiler's view of it (northd/context.ts) and its flow table.
 *
 * Design. Each table is filled the way ovn-northd's sync step fills it (`build_datapaths`,
 * `ovn_port_update_sbrec`, `build_mcast_groups`, `sync_port_groups`, `sync_address_sets`,
 * `sync_lbs`, `sync_dns_entries`, `sync_meters`, `build_ip_mcast`, `build_static_mac_binding_table`,
 * `sync_template_vars`, HA chassis groups for gateway ports), column by column, with the values
 * ovn-northd copies verbatim from the NB taken from the raw NB columns (so `mac`, `port_security`
 * and `networks` keep the user's spelling). Tables the controllers own (Chassis, Encap,
 * MAC_Binding, FDB, IGMP_Group, ...) are carried over from the previous southbound database when
 * one is given, minus rows that refer to datapaths or ports that no longer exist. Rows that the
 * previous database already had keep their uuids; new rows get uuids derived from what they
 * describe, so producing twice gives the same database.
 */
import type { IpMulticastGroup } from '../northd/mcast.js';
import { formatMac } from '@ovnts/packet';
import type { NbDatabase } from '../nb/db.js';
import type { LogicalRouterPort, LogicalSwitchPort } from '../nb/model.js';
import { optBool } from '../nb/model.js';
import { parseLportAddresses } from '../northd/addrs.js';
import { type NorthdContext, type RouterPort, type SwitchPort } from '../northd/context.js';
import { getNatAddresses, routerInfo } from '../northd/router-info.js';
import { stage as stageInfo } from '../northd/stages.js';
import type { Datapath, FlowSink } from '../northd/types.js';
import { DHCPV4_OPTIONS, DHCPV6_OPTIONS } from './dhcp.js';
import { MC_KEYS, TNL } from './keys.js';
import type * as M from './model.js';

const EMPTY: ReadonlyMap<string, string> = new Map();

/** Raw string columns of an NB row, as ovn-northd copies them (the typed model normalises some). */
function rawStrings(db: NbDatabase, table: string, uuid: string, column: string): string[] {
  const d = db.raw.get(table, uuid)?.get(column);
  return d ? d.keys.map(String) : [];
}

function sortedMap(m: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  return new Map([...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(x: number): string {
  return HEX[x >>> 24]! + HEX[(x >>> 16) & 255]! + HEX[(x >>> 8) & 255]! + HEX[x & 255]!;
}

/**
 * A deterministic uuid for a southbound row, from what the row describes, so a row that does not
 * change keeps its uuid from one production to the next (ovn-controller uses a logical flow's
 * uuid as its OpenFlow cookie): two 32-bit multiplicative hashes of the text, finalised and mixed
 * into 128 bits with MurmurHash3's fmix32, in uuid form (version 5 bits). Not cryptographic.
 */
function rowUuid(seed: string): string {
  let a = 0x811c9dc5 ^ seed.length;
  let b = 0x9e3779b9;
  for (let i = 0; i < seed.length; i++) {
    const x = seed.charCodeAt(i);
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x, 0x5bd1e995);
  }
  const w0 = fmix32(a);
  const w1 = fmix32(b ^ w0);
  const w2 = fmix32(w0 + 0x6a09e667);
  const w3 = fmix32(w1 + 0xbb67ae85);
  const h1 = hex32(w1);
  return `${hex32(w0)}-${h1.slice(0, 4)}-5${h1.slice(5, 8)}-${((w2 >>> 28) & 3 | 8).toString(16)}${hex32(w2).slice(1, 4)}-${hex32(w2).slice(4, 8)}${hex32(w3)}`;
}

/** A deterministic locally administered unicast MAC for what ovn-northd draws at random. */
function derivedMac(seed: string): string {
  const h = rowUuid(seed).replace(/-/g, '');
  const b = [0, 1, 2, 3, 4, 5].map((i) => parseInt(h.slice(i * 2, i * 2 + 2), 16));
  b[0] = (b[0]! & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** The `SB_Global` options ovn-northd writes: the NB_Global options plus what it adds. */
export function sbGlobalOptions(nb: NbDatabase, vxlan: boolean): { options: Map<string, string>; svcMonitorMac: string } {
  const o = new Map(nb.global?.options ?? EMPTY);
  const seed = nb.global?.uuid ?? '';
  if (!o.has('mac_prefix')) o.set('mac_prefix', derivedMac(`mac_prefix:${seed}`).slice(0, 8));
  if (!o.has('svc_monitor_mac')) o.set('svc_monitor_mac', derivedMac(`svc_monitor_mac:${seed}`));
  o.set('max_tunid', String(vxlan ? TNL.DP_MAX_VXLAN : TNL.DP_MAX - TNL.DP_GLOBAL_NUM));
  o.set('northd_internal_version', '23.03.1-20.27.0-70.6');
  return { options: sortedMap(o) as Map<string, string>, svcMonitorMac: o.get('svc_monitor_mac')! };
}

/** Inputs of `buildSouthbound`. */
export interface SouthboundInput {
  /** The northbound database. */
  readonly nb: NbDatabase;
  /** The compiler's view of it. */
  readonly ctx: NorthdContext;
  /** The compiled logical flows. */
  readonly sink: FlowSink;
  /** The southbound database of ovn-northd's previous run (controller-owned tables are kept). */
  readonly previous?: M.SbDatabase;
  /** IP multicast groups northd built from IGMP_Group rows (`ipMulticastGroups` in mcast.ts). */
  readonly ipMulticastGroups?: readonly IpMulticastGroup[];
  /** Rows of earlier productions to reuse where they come out the same (see `SouthboundMemo`). */
  readonly memo?: SouthboundMemo;
}

/** A logical flow row produced before, with what it was made from. */
interface MemoFlow {
  readonly lf: M.SbLogicalFlow;
  readonly hint: string | undefined;
  readonly ioPort: string | undefined;
  readonly source: string;
  readonly dps: readonly M.SbDatapath[];
  readonly groupKey: string | undefined;
}

/**
 * Southbound rows of earlier productions, for an incremental northd: a Datapath_Binding of an
 * unchanged datapath and a Logical_Flow whose flow, source and datapaths are unchanged are reused
 * as the same objects instead of being made again (their uuids derive from the same text, so the
 * database is the same either way; reuse only saves the work).
 */
export class SouthboundMemo {
  /** Datapath_Binding rows by the compiler's datapath, with their external ids as text. */
  readonly datapaths = new WeakMap<Datapath, { ids: string; row: M.SbDatapath }>();
  /** Logical_Flow rows of the last production by stage, priority, match and actions. */
  flows = new Map<string, MemoFlow>();
}

const nbHints = new WeakMap<M.SbLogicalFlow, string>();

/**
 * The whole uuid of the NB row a logical flow of ours comes from (its `stage-hint` holds only the
 * first 8 hex digits, as ovn-northd's does); undefined for flows of an imported database.
 */
export function nbRowOfFlow(flow: M.SbLogicalFlow): string | undefined {
  return nbHints.get(flow);
}

function sameRows<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Builds the southbound database ovn-northd would write for `input`. */
export function buildSouthbound(input: SouthboundInput): M.SbDatabase {
  const { nb, ctx, sink, previous } = input;
  const prevPb = new Map((previous?.portBindings ?? []).map((p) => [p.logicalPort, p]));
  const chassis = previous?.chassis ?? [];
  const chassisByName = new Map(chassis.map((c) => [c.name, c]));
  const chassisByHost = new Map(chassis.map((c) => [c.hostname, c]));
  const vxlan = chassis.some((c) => c.encaps.some((e) => e.type === 'vxlan'));

  // SB_Global.
  const g = sbGlobalOptions(nb, vxlan);
  const global: M.SbGlobal = {
    uuid: previous?.global.uuid ?? rowUuid(`sb_global:${nb.global?.uuid ?? ''}`),
    nbCfg: nb.global?.nb_cfg ?? 0,
    options: g.options,
    externalIds: previous?.global.externalIds ?? EMPTY,
    ipsec: nb.global?.ipsec ?? false,
  };

  // Datapath_Binding.
  const sbDp = new Map<Datapath, M.SbDatapath>();
  const memo = input.memo;
  const dpRow = (dp: Datapath, row: M.SbDatapath): M.SbDatapath => {
    if (!memo) return row;
    const ids = [...row.externalIds].join('\u0000');
    const old = memo.datapaths.get(dp);
    if (old && old.ids === ids && old.row.uuid === row.uuid && old.row.tunnelKey === row.tunnelKey && old.row.name === row.name && old.row.kind === row.kind) return old.row;
    memo.datapaths.set(dp, { ids, row });
    return row;
  };
  for (const sw of ctx.switches) {
    const ids = new Map<string, string>([['logical-switch', sw.nb.uuid], ['name', sw.nb.name]]);
    const name2 = sw.nb.external_ids.get('neutron:network_name');
    if (name2) ids.set('name2', name2);
    const ts = sw.nb.other_config.get('interconn-ts');
    if (ts !== undefined) ids.set('interconn-ts', ts);
    sbDp.set(sw.dp, dpRow(sw.dp, { uuid: sw.dp.uuid, tunnelKey: sw.dp.key, loadBalancers: [], externalIds: sortedMap(ids), kind: 'switch', name: sw.nb.name, nbUuid: sw.nb.uuid }));
  }
  for (const rt of ctx.routers) {
    const ids = new Map<string, string>([['logical-router', rt.nb.uuid], ['name', rt.nb.name]]);
    const name2 = rt.nb.external_ids.get('neutron:router_name');
    if (name2) ids.set('name2', name2);
    const zone = /^\s*[+-]?\d+$/.test(rt.nb.options.get('snat-ct-zone') ?? '') ? Number(rt.nb.options.get('snat-ct-zone')) : -1;
    if (zone >= 0 && zone <= 0x7fffffff) ids.set('snat-ct-zone', String(zone));
    if (!optBool(rt.nb.options, 'always_learn_from_arp_request', true)) ids.set('always_learn_from_arp_request', 'false');
    sbDp.set(rt.dp, dpRow(rt.dp, { uuid: rt.dp.uuid, tunnelKey: rt.dp.key, loadBalancers: [], externalIds: sortedMap(ids), kind: 'router', name: rt.nb.name, nbUuid: rt.nb.uuid }));
  }
  const datapaths = [...sbDp.values()];

  // HA chassis groups (gateway ports' chassis-redirect ports and external ports).
  const haGroups = new Map<string, M.SbHaChassisGroup>();
  const haGroup = (name: string, members: { chassisName: string; priority: number }[]): M.SbHaChassisGroup => {
    let grp = haGroups.get(name);
    if (grp) return grp;
    const prevGrp = previous?.haChassisGroups.find((x) => x.name === name);
    grp = {
      uuid: prevGrp?.uuid ?? rowUuid(`ha_chassis_group:${name}`),
      name,
      haChassis: members.map((m) => ({
        uuid: rowUuid(`ha_chassis:${name}:${m.chassisName}:${m.priority}`),
        chassis: chassisByName.get(m.chassisName),
        priority: m.priority,
        externalIds: new Map([['chassis-name', m.chassisName]]),
      })),
      refChassis: prevGrp?.refChassis ?? [],
      externalIds: EMPTY,
    };
    haGroups.set(name, grp);
    return grp;
  };

  // Port_Binding.
  const pbs = new Map<string, M.SbPortBinding>();
  const runtime = (name: string, dp: M.SbDatapath) => {
    const p = prevPb.get(name);
    const same = p && p.datapath.uuid === dp.uuid;
    return {
      uuid: same ? p.uuid : rowUuid(`port_binding:${dp.nbUuid}:${name}`),
      chassis: same ? p.chassis : undefined,
      additionalChassis: same ? p.additionalChassis : [],
      encap: same ? p.encap : undefined,
      additionalEncap: same ? p.additionalEncap : [],
      virtualParent: same ? p.virtualParent : undefined,
      up: same && p.up !== undefined ? p.up : false,
      prevOptions: same ? p.options : EMPTY,
    };
  };
  for (const sw of ctx.switches) {
    const dp = sbDp.get(sw.dp)!;
    for (const p of sw.ports) pbs.set(p.name, switchPortBinding(nb, ctx, p, dp, runtime(p.name, dp), { chassisByName, chassisByHost, haGroup }));
  }
  for (const rt of ctx.routers) {
    const dp = sbDp.get(rt.dp)!;
    for (const p of rt.ports) {
      pbs.set(p.name, routerPortBinding(nb, ctx, p, dp, runtime(p.name, dp), false, haGroup));
      if (p.crName) pbs.set(p.crName, routerPortBinding(nb, ctx, p, dp, runtime(p.crName, dp), true, haGroup));
    }
  }
  const portBindings = [...pbs.values()];
  const byUuid = (a: { uuid: string }, b: { uuid: string }) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);

  // Multicast_Group.
  const multicastGroups: M.SbMulticastGroup[] = [];
  const mcGroup = (dp: M.SbDatapath, name: keyof typeof MC_KEYS, ports: M.SbPortBinding[]) => {
    if (!ports.length) return;
    multicastGroups.push({ uuid: rowUuid(`multicast_group:${dp.uuid}:${name}`), datapath: dp, name, tunnelKey: MC_KEYS[name], ports: ports.sort(byUuid) });
  };
  for (const sw of ctx.switches) {
    const dp = sbDp.get(sw.dp)!;
    const flood: M.SbPortBinding[] = [];
    const floodL2: M.SbPortBinding[] = [];
    const unknown: M.SbPortBinding[] = [];
    const mrouter: M.SbPortBinding[] = [];
    const stat: M.SbPortBinding[] = [];
    // `mcast_info.sw.flood_relay`: the switch is joined to a router with multicast relay.
    const floodRelay = sw.routerPorts.some((p) => p.peer !== undefined && routerInfo(p.peer.rt).relay);
    for (const p of sw.ports) {
      if (!p.enabled) continue;
      const pb = pbs.get(p.name)!;
      flood.push(pb);
      if (p.nb.type !== 'router') floodL2.push(pb);
      if (p.hasUnknown && p.nb.type !== 'external') unknown.push(pb);
      const relay = floodRelay && p.peer !== undefined && routerInfo(p.peer.rt).relay;
      if (relay || optBool(p.nb.options, 'mcast_flood_reports', false)) mrouter.push(pb);
      if (optBool(p.nb.options, 'mcast_flood', false)) stat.push(pb);
    }
    mcGroup(dp, '_MC_flood', flood);
    mcGroup(dp, '_MC_unknown', unknown);
    mcGroup(dp, '_MC_mrouter_flood', mrouter);
    mcGroup(dp, '_MC_static', stat);
    mcGroup(dp, '_MC_flood_l2', floodL2);
  }
  for (const rt of ctx.routers) {
    const stat = rt.ports.filter((p) => p.enabled && optBool(p.nb.options, 'mcast_flood', false)).map((p) => pbs.get(p.name)!);
    mcGroup(sbDp.get(rt.dp)!, '_MC_static', stat);
  }
  // IP multicast groups (named by their address, keys from 32774).
  for (const g of input.ipMulticastGroups ?? []) {
    const dp = sbDp.get(g.datapath);
    const ports = g.ports.map((n) => pbs.get(n)).filter((p): p is M.SbPortBinding => p !== undefined);
    if (g.mrouter) {
      // Learnt multicast routers join the switch's _MC_mrouter_flood (`ovn_igmp_mrouter_aggregate_ports`).
      const i = multicastGroups.findIndex((m) => m.datapath === dp && m.name === '_MC_mrouter_flood');
      const old = i >= 0 ? multicastGroups[i]! : undefined;
      const merged = [...(old?.ports ?? []), ...ports.filter((p) => !old?.ports.includes(p))].sort(byUuid);
      if (dp && merged.length) {
        const row = { uuid: rowUuid(`multicast_group:${dp.uuid}:_MC_mrouter_flood`), datapath: dp, name: '_MC_mrouter_flood', tunnelKey: MC_KEYS._MC_mrouter_flood, ports: merged };
        if (old) multicastGroups[i] = row;
        else multicastGroups.push(row);
      }
      continue;
    }
    if (dp && ports.length) multicastGroups.push({ uuid: rowUuid(`multicast_group:${dp.uuid}:${g.name}`), datapath: dp, name: g.name, tunnelKey: g.key, ports: ports.sort(byUuid) });
  }

  // Logical_Flow (one row per distinct flow; several datapaths make a Logical_DP_Group).
  const datapathGroups = new Map<string, M.SbDatapathGroup>();
  const groupKey = (sorted: readonly M.SbDatapath[], what: string) => `${what}:${sorted.map((d) => d.uuid).join(',')}`;
  const dpGroup = (dps: readonly M.SbDatapath[], what: string): M.SbDatapathGroup => {
    const sorted = [...dps].sort(byUuid);
    const k = groupKey(sorted, what);
    let grp = datapathGroups.get(k);
    if (!grp) {
      grp = { uuid: rowUuid(`logical_dp_group:${k}`), datapaths: sorted };
      datapathGroups.set(k, grp);
    }
    return grp;
  };
  const logicalFlows: M.SbLogicalFlow[] = [];
  const memoFlows = new Map<string, MemoFlow>();
  for (const row of sink.rows()) {
    const dps = row.datapaths.map((d) => sbDp.get(d)!);
    const key = memo ? `${row.stage}\u0000${row.priority}\u0000${row.match}\u0000${row.actions}` : '';
    const old = memo?.flows.get(key);
    if (old && old.hint === row.hint && old.ioPort === row.ioPort && old.source === row.source && sameRows(old.dps, dps)) {
      const g = old.lf.logicalDpGroup;
      const have = old.groupKey === undefined ? undefined : datapathGroups.get(old.groupKey);
      if (g === undefined || have === g || have === undefined) {
        if (g !== undefined && have === undefined) datapathGroups.set(old.groupKey!, g);
        logicalFlows.push(old.lf);
        memoFlows.set(key, old);
        continue;
      }
    }
    const st = stageInfo(row.stage);
    const ids = new Map<string, string>();
    ids.set('source', row.source);
    ids.set('stage-name', row.stage);
    if (row.hint !== undefined) ids.set('stage-hint', row.hint.slice(0, 8));
    const group = dps.length > 1 ? dpGroup(dps, 'lflow') : undefined;
    const lf: M.SbLogicalFlow = {
      uuid: rowUuid(`logical_flow:${row.stage}:${row.priority}:${row.match}:${row.actions}`),
      logicalDatapath: group ? undefined : dps[0],
      logicalDpGroup: group,
      pipeline: st.pipeline,
      tableId: st.table,
      priority: row.priority,
      match: row.match,
      actions: row.actions,
      tags: row.ioPort !== undefined ? new Map([['in_out_port', row.ioPort]]) : EMPTY,
      controllerMeter: undefined,
      externalIds: sortedMap(ids),
    };
    if (row.hint !== undefined) nbHints.set(lf, row.hint);
    logicalFlows.push(lf);
    if (memo) memoFlows.set(key, { lf, hint: row.hint, ioPort: row.ioPort, source: row.source, dps, groupKey: group ? groupKey(group.datapaths, 'lflow') : undefined });
  }
  if (memo) memo.flows = memoFlows;

  // Address_Set: NB address sets, port group address sets, router LB VIP sets, svc_monitor_mac.
  const addressSets: M.SbAddressSet[] = [];
  const asIndex = new Map<string, number>();
  const addAs = (name: string, addresses: readonly string[]) => {
    // A user address set of the same name replaces a generated one, as ovn-northd's sync does.
    const row = { uuid: rowUuid(`address_set:${name}`), name, addresses: [...new Set(addresses)].sort() };
    const i = asIndex.get(name);
    if (i !== undefined) addressSets[i] = row;
    else asIndex.set(name, addressSets.push(row) - 1);
  };
  addAs('svc_monitor_mac', [g.svcMonitorMac]);
  for (const pg of nb.portGroups) {
    // `build_port_group_address_set`: the IPs of every non-dynamic `addresses` entry and of
    // `dynamic_addresses` (entries without a MAC, `router`, `unknown`, give nothing).
    const v4: string[] = [];
    const v6: string[] = [];
    for (const lsp of pg.ports) {
      const texts = lsp.addresses.filter((a) => a.kind !== 'dynamic').map((a) => a.text);
      if (lsp.dynamic_addresses) texts.push(lsp.dynamic_addresses.text);
      for (const t of texts) {
        const la = parseLportAddresses(t);
        if (!la) continue;
        for (const a of la.ipv4) v4.push(a.addrS);
        for (const a of la.ipv6) v6.push(a.addrS);
      }
    }
    addAs(`${pg.name}_ip4`, v4);
    addAs(`${pg.name}_ip6`, v6);
  }
  for (const rt of ctx.routers) {
    const info = routerInfo(rt);
    if (info.lbIps.v4Reachable.size) addAs(`_rtr_lb_${rt.dp.key}_ip4`, [...info.lbIps.v4Reachable]);
    if (info.lbIps.v6Reachable.size) addAs(`_rtr_lb_${rt.dp.key}_ip6`, [...info.lbIps.v6Reachable]);
  }
  for (const as of nb.addressSets) addAs(as.name, as.addresses);

  // Port_Group: one row per NB group and switch it has ports on, named `<switch key>_<name>`.
  const portGroups: M.SbPortGroup[] = [];
  for (const pg of nb.portGroups) {
    const bySw = new Map<Datapath, string[]>();
    for (const lsp of pg.ports) {
      const p = ctx.switchPorts.get(lsp.name);
      if (!p) continue;
      let l = bySw.get(p.sw.dp);
      if (!l) bySw.set(p.sw.dp, (l = []));
      l.push(p.name);
    }
    for (const [dp, names] of bySw) {
      const name = `${dp.key}_${pg.name}`;
      portGroups.push({ uuid: rowUuid(`port_group:${name}`), name, ports: [...new Set(names)].sort() });
    }
  }

  // Load_Balancer: load balancers applied to at least one switch.
  const loadBalancers: M.SbLoadBalancer[] = [];
  const lbSwitches = new Map<string, { lb: (typeof ctx.switches)[number]['lbs'][number]; dps: M.SbDatapath[] }>();
  for (const sw of ctx.switches) {
    for (const lb of sw.lbs) {
      let e = lbSwitches.get(lb.uuid);
      if (!e) lbSwitches.set(lb.uuid, (e = { lb, dps: [] }));
      e.dps.push(sbDp.get(sw.dp)!);
    }
  }
  for (const { lb, dps } of lbSwitches.values()) {
    const options = new Map(lb.options);
    options.set('hairpin_orig_tuple', 'true');
    loadBalancers.push({
      uuid: rowUuid(`load_balancer:${lb.uuid}`),
      name: lb.name,
      vips: sortedMap(lb.vips),
      protocol: lb.protocol,
      datapaths: [],
      datapathGroup: dpGroup(dps, 'lb'),
      options: sortedMap(options),
      externalIds: new Map([['lb_id', lb.uuid]]),
    });
  }

  // DHCP options (the static tables ovn-northd fills).
  const dhcpRows = (tbl: typeof DHCPV4_OPTIONS, what: string): M.SbDhcpOption[] =>
    tbl.map((o) => ({ uuid: rowUuid(`${what}:${o.name}`), name: o.name, code: o.code, type: o.type }));

  // DNS.
  const dnsRows = new Map<string, { dps: M.SbDatapath[]; records: ReadonlyMap<string, string> }>();
  for (const sw of ctx.switches) {
    for (const d of sw.nb.dns_records) {
      let e = dnsRows.get(d.uuid);
      if (!e) dnsRows.set(d.uuid, (e = { dps: [], records: new Map([...d.records].map(([k, v]) => [k, v.toLowerCase()])) }));
      e.dps.push(sbDp.get(sw.dp)!);
    }
  }
  const dns: M.SbDns[] = [...dnsRows].map(([u, e]) => ({
    uuid: rowUuid(`dns:${u}`),
    records: sortedMap(e.records),
    datapaths: [...e.dps].sort(byUuid),
    externalIds: new Map([['dns_id', u]]),
  }));

  // Meter: NB meters, plus a private copy of a fair meter for every ACL that uses it.
  const meters: M.SbMeter[] = [];
  const addMeter = (name: string, m: (typeof nb.meters)[number]) =>
    meters.push({
      uuid: rowUuid(`meter:${name}`),
      name,
      unit: m.unit,
      bands: m.bands.map((b, i) => ({ uuid: rowUuid(`meter_band:${name}:${i}`), action: b.action, rate: b.rate, burstSize: b.burst_size })),
    });
  for (const m of nb.meters) addMeter(m.name, m);
  for (const acl of nb.acls) {
    const m = acl.meter === undefined ? undefined : ctx.globals.meters.get(acl.meter);
    if (m && m.fair) addMeter(`${acl.meter}__${acl.uuid}`, m);
  }

  // IP_Multicast: one row per switch.
  const prevIpMc = new Map((previous?.ipMulticast ?? []).map((r) => [r.datapath.uuid, r]));
  const ipMulticast: M.SbIpMulticast[] = ctx.switches.map((sw) => {
    const dp = sbDp.get(sw.dp)!;
    const c = sw.nb.config;
    const prev = prevIpMc.get(dp.uuid);
    return {
      uuid: prev?.uuid ?? rowUuid(`ip_multicast:${dp.uuid}`),
      datapath: dp,
      enabled: c.mcastSnoop,
      querier: c.mcastQuerier,
      ethSrc: sw.nb.other_config.get('mcast_eth_src') ?? prev?.ethSrc ?? '',
      ip4Src: sw.nb.other_config.get('mcast_ip4_src') ?? prev?.ip4Src ?? '',
      ip6Src: sw.nb.other_config.get('mcast_ip6_src') ?? prev?.ip6Src ?? '',
      tableSize: c.mcastTableSize,
      idleTimeout: c.mcastIdleTimeout,
      queryInterval: c.mcastQueryInterval,
      queryMaxResp: c.mcastQueryMaxResponse,
      seqNo: prev?.seqNo ?? 0,
    };
  });

  // Static_MAC_Binding: NB bindings on router ports.
  const staticMacBindings: M.SbStaticMacBinding[] = [];
  for (const smb of nb.staticMacBindings) {
    const rp = ctx.routerPorts.get(smb.logical_port);
    if (!rp) continue;
    const ip = rawStrings(nb, 'Static_MAC_Binding', smb.uuid, 'ip')[0] ?? smb.ip.text;
    const mac = rawStrings(nb, 'Static_MAC_Binding', smb.uuid, 'mac')[0] ?? formatMac(smb.mac);
    staticMacBindings.push({
      uuid: rowUuid(`static_mac_binding:${smb.uuid}`),
      logicalPort: smb.logical_port,
      ip,
      mac,
      overrideDynamicMac: smb.override_dynamic_mac,
      datapath: sbDp.get(rp.rt.dp),
    });
  }

  // Controller-owned tables, carried over when their datapath and port still exist.
  const dpByUuid = new Map(datapaths.map((d) => [d.uuid, d]));
  const live = (d: M.SbDatapath | undefined) => (d ? dpByUuid.get(d.uuid) : undefined);
  const macBindings = (previous?.macBindings ?? [])
    .filter((m) => pbs.has(m.logicalPort) && live(m.datapath))
    .map((m) => ({ ...m, datapath: live(m.datapath) }));
  const dpByKey = new Map(datapaths.map((d) => [d.tunnelKey, d]));
  const fdb = (previous?.fdb ?? []).filter((f) => {
    const d = dpByKey.get(f.dpKey);
    return d !== undefined && portBindings.some((p) => p.datapath === d && p.tunnelKey === f.portKey);
  });
  const igmpGroups = (previous?.igmpGroups ?? [])
    .filter((x) => x.chassis && live(x.datapath))
    .map((x) => ({ ...x, datapath: live(x.datapath), ports: x.ports.map((p) => pbs.get(p.logicalPort)).filter((p): p is M.SbPortBinding => p !== undefined) }));

  const haChassisGroups = [...haGroups.values()];
  return {
    global,
    chassis,
    chassisPrivate: previous?.chassisPrivate ?? [],
    encaps: previous?.encaps ?? [],
    datapaths,
    portBindings,
    multicastGroups,
    datapathGroups: [...datapathGroups.values()],
    logicalFlows,
    macBindings,
    staticMacBindings,
    addressSets,
    portGroups,
    loadBalancers,
    dhcpOptions: dhcpRows(DHCPV4_OPTIONS, 'dhcp_options'),
    dhcpv6Options: dhcpRows(DHCPV6_OPTIONS, 'dhcpv6_options'),
    dns,
    serviceMonitors: [],
    igmpGroups,
    ipMulticast,
    fdb,
    meters,
    gatewayChassis: [],
    haChassisGroups,
    bfd: previous?.bfd ?? [],
    chassisTemplateVars: previous?.chassisTemplateVars ?? [],
    mirrors: previous?.mirrors ?? [],
    controllerEvents: previous?.controllerEvents ?? [],
  };
}

interface Runtime {
  readonly uuid: string;
  readonly chassis: M.SbChassis | undefined;
  readonly additionalChassis: readonly M.SbChassis[];
  readonly encap: M.SbEncap | undefined;
  readonly additionalEncap: readonly M.SbEncap[];
  readonly virtualParent: string | undefined;
  readonly up: boolean;
  readonly prevOptions: ReadonlyMap<string, string>;
}

/** The columns ovn-controller writes, as the previous database had them. */
function bindingState(rt: Runtime): Pick<M.SbPortBinding, 'virtualParent' | 'chassis' | 'additionalChassis' | 'encap' | 'additionalEncap'> {
  return { virtualParent: rt.virtualParent, chassis: rt.chassis, additionalChassis: rt.additionalChassis, encap: rt.encap, additionalEncap: rt.additionalEncap };
}

interface Lookups {
  readonly chassisByName: ReadonlyMap<string, M.SbChassis>;
  readonly chassisByHost: ReadonlyMap<string, M.SbChassis>;
  readonly haGroup: (name: string, members: { chassisName: string; priority: number }[]) => M.SbHaChassisGroup;
}

/** `ovn_port_update_sbrec` for a logical switch port. */
function switchPortBinding(nb: NbDatabase, ctx: NorthdContext, p: SwitchPort, dp: M.SbDatapath, rt: Runtime, lk: Lookups): M.SbPortBinding {
  const lsp: LogicalSwitchPort = p.nb;
  let type: string = lsp.type;
  let options: Map<string, string>;
  let natAddresses: string[] = [];
  let requestedChassis: M.SbChassis | undefined;
  let requestedAdditionalChassis: M.SbChassis[] = [];
  let haChassisGroup: M.SbHaChassisGroup | undefined;
  if (lsp.type !== 'router') {
    options = new Map(lsp.options);
    if (optBool(p.sw.nb.other_config, 'vlan-passthru', false)) options.set('vlan-passthru', 'true');
    const activated = rt.prevOptions.get('additional-chassis-activated');
    if (activated !== undefined && options.has('requested-chassis')) options.set('additional-chassis-activated', activated);
    if (lsp.type === 'external' && lsp.ha_chassis_group) {
      haChassisGroup = lk.haGroup(lsp.ha_chassis_group.name, lsp.ha_chassis_group.ha_chassis.map((h) => ({ chassisName: h.chassis_name, priority: h.priority })));
    }
    const req = lsp.options.get('requested-chassis');
    if (req !== undefined) {
      const found = req
        .split(',')
        .filter((s) => s !== '')
        .map((n) => lk.chassisByName.get(n) ?? lk.chassisByHost.get(n))
        .filter((c): c is M.SbChassis => c !== undefined);
      requestedChassis = found[0];
      requestedAdditionalChassis = found.slice(1);
    }
  } else {
    const peer = p.peer;
    const gwChassis = peer?.rt.nb.options.get('chassis');
    type = gwChassis !== undefined ? 'l3gateway' : 'patch';
    options = new Map();
    const routerPort = lsp.options.get('router-port');
    if (routerPort !== undefined) options.set('peer', routerPort);
    if (gwChassis !== undefined) options.set('l3gateway-chassis', gwChassis);
    natAddresses = lspNatAddresses(ctx, p, gwChassis !== undefined);
  }
  const ids = new Map(lsp.external_ids);
  const neutronName = ids.get('neutron:port_name');
  if (neutronName) ids.set('name', neutronName);
  return {
    uuid: rt.uuid,
    logicalPort: p.name,
    type,
    gatewayChassis: [],
    haChassisGroup,
    options: sortedMap(options),
    datapath: dp,
    tunnelKey: ctx.portKey(p.name),
    parentPort: lsp.parent_name,
    tag: lsp.tag,
    ...bindingState(rt),
    mirrorRules: [],
    mac: rawStrings(nb, 'Logical_Switch_Port', lsp.uuid, 'addresses'),
    portSecurity: rawStrings(nb, 'Logical_Switch_Port', lsp.uuid, 'port_security'),
    natAddresses,
    up: rt.up,
    externalIds: sortedMap(ids),
    requestedChassis,
    requestedAdditionalChassis,
  };
}

/** `nat_addresses` of a router-type switch port (`options:nat-addresses` and the router port's own GARP entry). */
function lspNatAddresses(ctx: NorthdContext, p: SwitchPort, gwRouter: boolean): string[] {
  const out: string[] = [];
  const peer = p.peer;
  const natOpt = p.nb.options.get('nat-addresses');
  const l3dgw = peer !== undefined && peer.rt.l3dgwPorts.length > 0;
  if (natOpt === 'router') {
    if (peer && (gwRouter || l3dgw)) out.push(...getNatAddresses(ctx, peer, false, !optBool(p.nb.options, 'exclude-lb-vips-from-garp', false)));
  } else if (natOpt !== undefined && (gwRouter || l3dgw)) {
    if (/^\s*[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}(\s|$)/.test(natOpt)) {
      let s = natOpt;
      if (l3dgw) s += ` is_chassis_resident(${(peer.crName ? peer : peer.rt.l3dgwPorts[0]!).crJsonKey})`;
      out.push(s);
    }
  }
  let garp = false;
  if (peer && peer.rt.l3dgwPorts.length) {
    if (peer.crName) garp = true;
    else if (optBool(peer.nb.options, 'reside-on-redirect-chassis', false) && peer.rt.l3dgwPorts.length === 1) garp = true;
  } else if (gwRouter && p.sw.localnetPorts.length) garp = true;
  if (garp && peer) {
    let s = peer.networks.eaS;
    for (const a of peer.networks.ipv4) s += ` ${a.addrS}`;
    if (peer.rt.l3dgwPorts.length) s += ` is_chassis_resident(${(peer.crName ? peer : peer.rt.l3dgwPorts[0]!).crJsonKey})`;
    out.push(s);
  }
  return out;
}

/** `smap_get_int`: the whole value as a decimal `int`, else `def`. */
function smapInt(m: ReadonlyMap<string, string>, k: string, def: number): number {
  const v = m.get(k);
  if (v === undefined || !/^[ \t\n\v\f\r]*[+-]?\d+$/.test(v)) return def;
  const n = Number(v);
  return n >= -0x80000000 && n <= 0x7fffffff ? n : def;
}

/**
 * `ovn_update_ipv6_options` and `copy_ra_to_sb`: prefix delegation flags and, for a port sending
 * periodic router advertisements, the RA settings ovn-controller's pinctrl reads.
 */
function ipv6Options(p: RouterPort, options: Map<string, string>, pdList: string | undefined): void {
  const lrp = p.nb;
  if (p.enabled && optBool(lrp.options, 'prefix_delegation', false)) options.set('ipv6_prefix_delegation', 'true');
  if (p.enabled && optBool(lrp.options, 'prefix', false)) options.set('ipv6_prefix', 'true');
  const ra = lrp.ipv6_ra_configs;
  const mode = ra.get('address_mode');
  if (mode !== 'slaac' && mode !== 'dhcpv6_stateful' && mode !== 'dhcpv6_stateless') return;
  if (!optBool(ra, 'send_periodic', false)) return;
  options.set('ipv6_ra_send_periodic', 'true');
  options.set('ipv6_ra_address_mode', mode);
  const maxI = Math.min(1800, Math.max(4, smapInt(ra, 'max_interval', 600)));
  options.set('ipv6_ra_max_interval', String(maxI));
  const minDefault = maxI >= 9 ? Math.trunc(maxI / 3) : Math.trunc((maxI * 3) / 4);
  const minI = Math.max(3, Math.min(Math.trunc((maxI * 3) / 4), smapInt(ra, 'min_interval', minDefault)));
  options.set('ipv6_ra_min_interval', String(minI));
  const mtu = smapInt(ra, 'mtu', 0);
  if (mtu && mtu >= 1280) options.set('ipv6_ra_mtu', String(mtu));
  const prefixes: string[] = [];
  for (const a of p.networks.ipv6) {
    if (a.network >> 118n === 0x3fan) {
      // in6_is_lla: fe80::/10.
      options.set('ipv6_ra_src_addr', a.addrS);
      continue;
    }
    prefixes.push(`${a.networkS}/${a.plen}`);
  }
  if (pdList !== undefined) prefixes.push(pdList);
  options.set('ipv6_ra_prefixes', prefixes.join(' ').replace(/ +$/, ''));
  const rdnss = ra.get('rdnss');
  if (rdnss !== undefined) options.set('ipv6_ra_rdnss', rdnss);
  const dnssl = ra.get('dnssl');
  if (dnssl !== undefined) options.set('ipv6_ra_dnssl', dnssl);
  options.set('ipv6_ra_src_eth', p.networks.eaS);
  const prf = ra.get('router_preference');
  options.set('ipv6_ra_prf', prf === 'HIGH' || prf === 'LOW' ? prf : 'MEDIUM');
  const ri = ra.get('route_info');
  if (ri !== undefined) options.set('ipv6_ra_route_info', ri);
}

/** `ovn_port_update_sbrec` for a logical router port or its chassis-redirect port. */
function routerPortBinding(
  nb: NbDatabase,
  ctx: NorthdContext,
  p: RouterPort,
  dp: M.SbDatapath,
  rt: Runtime,
  cr: boolean,
  haGroup: Lookups['haGroup'],
): M.SbPortBinding {
  const lrp: LogicalRouterPort = p.nb;
  const gwChassis = p.rt.nb.options.get('chassis');
  const type = cr ? 'chassisredirect' : gwChassis !== undefined ? 'l3gateway' : 'patch';
  const options = new Map<string, string>();
  let haChassisGroup: M.SbHaChassisGroup | undefined;
  if (cr) {
    if (lrp.ha_chassis_group) {
      haChassisGroup = haGroup(lrp.ha_chassis_group.name, lrp.ha_chassis_group.ha_chassis.map((h) => ({ chassisName: h.chassis_name, priority: h.priority })));
    } else if (lrp.gateway_chassis.length) {
      haChassisGroup = haGroup(lrp.name, lrp.gateway_chassis.filter((c) => c.chassis_name !== '').map((c) => ({ chassisName: c.chassis_name, priority: c.priority })));
    }
    options.set('distributed-port', lrp.name);
    const info = routerInfo(p.rt);
    let alwaysRedirect = !info.nats.some((n) => n.valid && n.nb.type === 'dnat_and_snat' && n.nb.logical_port !== undefined && n.nb.external_mac !== undefined);
    if (p.peer && 'sw' in p.peer && p.peer.sw.hasVtepLports) alwaysRedirect = false;
    const redirectType = lrp.options.get('redirect-type');
    if (redirectType !== undefined) {
      options.set('redirect-type', redirectType);
      if (redirectType === 'bridged') alwaysRedirect = false;
    }
    if (alwaysRedirect) options.set('always-redirect', 'true');
  } else {
    if (p.peer) {
      options.set('peer', p.peer.name);
      if (p.crName) options.set('chassis-redirect-port', p.crName);
    }
    if (gwChassis !== undefined) options.set('l3gateway-chassis', gwChassis);
  }
  const pd = rt.prevOptions.get('ipv6_ra_pd_list');
  if (pd !== undefined) options.set('ipv6_ra_pd_list', pd);
  if (!cr && lrp.peer === undefined && p.peer && 'sw' in p.peer && p.networks.ipv6.length) ipv6Options(p, options, pd);
  const name = cr ? p.crName! : p.name;
  const mac = [rawStrings(nb, 'Logical_Router_Port', lrp.uuid, 'mac')[0] ?? '', ...rawStrings(nb, 'Logical_Router_Port', lrp.uuid, 'networks')].join(' ');
  return {
    uuid: rt.uuid,
    logicalPort: name,
    type,
    gatewayChassis: [],
    haChassisGroup,
    options: sortedMap(options),
    datapath: dp,
    tunnelKey: ctx.portKey(name),
    parentPort: undefined,
    tag: undefined,
    ...bindingState(rt),
    mirrorRules: [],
    mac: [mac],
    portSecurity: [],
    natAddresses: [],
    up: rt.up,
    externalIds: sortedMap(lrp.external_ids),
    requestedChassis: undefined,
    requestedAdditionalChassis: [],
  };
}
