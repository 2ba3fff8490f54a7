/**
 * IP multicast groups learnt through IGMP/MLD snooping, as ovn-northd 23.03 turns them into
 * southbound multicast groups and logical flows (`build_mcast_groups`,
 * `build_lswitch_ip_mcast_igmp_mld`, `build_mcast_lookup_flows_for_lrouter`).
 *
 * Design. ovn-controller records what snooping learnt as southbound IGMP_Group rows (a
 * datapath, a group address, a chassis, the ports that joined); `IgmpGroupRecord` is such a row.
 * Records of one switch and address are aggregated into one group: ports that flood multicast
 * anyway (`mcast_flood`) or lead to a router with relay are left out, the switch's localnet
 * ports are added. Each switch group relays to the routers it is connected to: a router with
 * `mcast_relay` (through a port without `mcast_flood`) gets the group too, on the port towards
 * that switch (its chassis-redirect port for a distributed gateway port), IPv6 groups only when
 * routable (scope above site-local, RFC 4291 section 2.7). Groups get tunnel keys per datapath
 * from 32774 up, in the order they are created; ovn-northd creates them in its hash table's
 * order, which follows the SB rows for one group per datapath and is otherwise unspecified.
 * Switches forward registered groups at priority 90 of `ls_in_l2_lkup` (never 224.0.0.X, nor
 * ff02::1, ff02::2, ff05::2), also to multicast routers and static flood ports; relay routers
 * route them at priority 10500 of `lr_in_ip_routing`.
 */
import { optBool } from '../nb/model.js';
import { parseLportAddresses } from './addrs.js';
import type { NorthdContext, RouterPort, SwitchDp } from './context.js';
import { routerInfo } from './router-info.js';
import type { Datapath, FlowSink } from './types.js';
import type { SbDatabase } from '../sb/model.js';

/** A learnt group on a switch: what a southbound IGMP_Group row holds. */
export interface IgmpGroupRecord {
  /** The logical switch (NB name). */
  readonly datapath: string;
  /** The group address (IPv4 or IPv6 text). */
  readonly address: string;
  /** Logical ports that joined. */
  readonly ports: readonly string[];
  /** The chassis that learnt it (records of several chassis are aggregated). */
  readonly chassis?: string;
}

/** An IP multicast group northd builds (a southbound Multicast_Group row named by its address). */
export interface IpMulticastGroup {
  /** The datapath (switch, or relay router). */
  readonly datapath: Datapath;
  /** Name: the group address as recorded. */
  readonly name: string;
  /** Tunnel key (32774 and up, per datapath). */
  readonly key: number;
  /** Member logical ports, in aggregation order. */
  readonly ports: readonly string[];
  /** IPv4 group (else IPv6). */
  readonly v4: boolean;
  /** Learnt multicast router ports (`mrouters` rows): members added to the switch's `_MC_mrouter_flood`, no flows of their own. */
  readonly mrouter?: boolean;
}

/** First key ovn-northd allocates to an IP multicast group (`OVN_MIN_IP_MULTICAST` is the hint). */
export const FIRST_IP_MULTICAST_KEY = 32774;

interface Group {
  dp: Datapath;
  name: string;
  v4: boolean;
  v6Addr?: bigint;
  v4Addr?: number;
  ports: string[];
}

function parseGroupAddress(s: string): { v4: boolean; v4Addr?: number; v6Addr?: bigint } | undefined {
  const la = parseLportAddresses(`00:00:00:00:00:00 ${s}`);
  if (!la) return undefined;
  if (la.ipv4.length) return { v4: true, v4Addr: la.ipv4[0]!.addr >>> 0 };
  if (la.ipv6.length) return { v4: false, v6Addr: la.ipv6[0]!.addr };
  return undefined;
}

function v6Routable(a: bigint): boolean {
  if (a >> 120n !== 0xffn) return false;
  const scope = Number((a >> 112n) & 0xfn);
  return !(scope <= 3 || scope === 0xf);
}

function mcastFlood(p: { nb: { options: ReadonlyMap<string, string> } }): boolean {
  return optBool(p.nb.options, 'mcast_flood', false);
}

/**
 * The IP multicast groups of `records` in the compiled context (see the module comment). A group
 * keeps the key its Multicast_Group row has in `previous` (`ovn_igmp_group_add`); new groups take
 * the lowest free keys from 32774 (`ovn_mcast_group_allocate_key`). `mrouters` records add their
 * ports to the switch's `_MC_mrouter_flood` group (`ovn_igmp_mrouter_aggregate_ports`).
 */
export function ipMulticastGroups(ctx: NorthdContext, records: readonly IgmpGroupRecord[], previous?: SbDatabase): IpMulticastGroup[] {
  const mrouters = new Map<Datapath, string[]>();
  const groups: Group[] = [];
  const find = (dp: Datapath, name: string, v4: boolean, v4Addr?: number, v6Addr?: bigint) => {
    let g = groups.find((x) => x.dp === dp && x.v4 === v4 && (v4 ? x.v4Addr === v4Addr : x.v6Addr === v6Addr));
    if (!g) groups.push((g = { dp, name, v4, ...(v4Addr !== undefined ? { v4Addr } : {}), ...(v6Addr !== undefined ? { v6Addr } : {}), ports: [] }));
    return g;
  };
  const switchGroups = new Map<SwitchDp, Group[]>();
  for (const r of records) {
    const sw = ctx.switches.find((s) => s.dp.name === r.datapath);
    const a = r.address === 'mrouters' ? undefined : parseGroupAddress(r.address);
    if (!sw || (!a && r.address !== 'mrouters')) continue;
    const ports = r.ports.filter((name) => {
      const p = sw.ports.find((x) => x.name === name);
      if (!p || mcastFlood(p)) return false;
      return !(p.peer && routerInfo(p.peer.rt).relay);
    });
    if (!ports.length) continue;
    if (!a) {
      let l = mrouters.get(sw.dp);
      if (!l) mrouters.set(sw.dp, (l = []));
      l.push(...ports);
      continue;
    }
    const g = find(sw.dp, r.address, a.v4, a.v4Addr, a.v6Addr);
    g.ports.push(...ports);
    let l = switchGroups.get(sw);
    if (!l) switchGroups.set(sw, (l = []));
    if (!l.includes(g)) l.push(g);
  }
  for (const sw of ctx.switches) {
    const gs = switchGroups.get(sw);
    if (!gs) continue;
    for (const sp of sw.routerPorts) {
      const rp: RouterPort | undefined = sp.peer;
      if (!rp || !routerInfo(rp.rt).relay || mcastFlood(rp)) continue;
      for (const g of gs) {
        if (!g.v4 && !v6Routable(g.v6Addr!)) continue;
        find(rp.rt.dp, g.name, g.v4, g.v4Addr, g.v6Addr).ports.push(rp.crName ?? rp.name);
      }
    }
  }
  const prevKey = new Map<string, number>();
  for (const m of previous?.multicastGroups ?? []) if (m.tunnelKey >= FIRST_IP_MULTICAST_KEY) prevKey.set(`${m.datapath.name}\0${m.name}`, m.tunnelKey);
  const used = new Map<Datapath, Set<number>>();
  const usedOf = (dp: Datapath) => {
    let u = used.get(dp);
    if (!u) used.set(dp, (u = new Set()));
    return u;
  };
  const keys = groups.map((g) => {
    const k = prevKey.get(`${g.dp.name}\0${g.name}`);
    if (k !== undefined) usedOf(g.dp).add(k);
    return k;
  });
  const hint = new Map<Datapath, number>();
  const out: IpMulticastGroup[] = groups.map((g, i) => {
    let key = keys[i];
    if (key === undefined) {
      const u = usedOf(g.dp);
      key = (hint.get(g.dp) ?? FIRST_IP_MULTICAST_KEY - 1) + 1;
      while (u.has(key)) key++;
      u.add(key);
      hint.set(g.dp, key);
    }
    const sw = ctx.switches.find((s) => s.dp === g.dp);
    const ports = sw ? [...g.ports, ...sw.localnetPorts.map((p) => p.name)] : g.ports;
    return { datapath: g.dp, name: g.name, key, ports, v4: g.v4 };
  });
  for (const [dp, ports] of mrouters) out.push({ datapath: dp, name: '_MC_mrouter_flood', key: 32770, ports, v4: true, mrouter: true });
  return out;
}

const V6_NOT_FORWARDED = new Set([0xff020000000000000000000000000001n, 0xff020000000000000000000000000002n, 0xff050000000000000000000000000002n]);

/** The logical flows of the groups: `ls_in_l2_lkup` priority 90 on switches, `lr_in_ip_routing` 10500 on relay routers. */
export function buildIpMulticastGroupFlows(ctx: NorthdContext, sink: FlowSink, groups: readonly IpMulticastGroup[]): void {
  for (const g of groups) {
    if (g.mrouter) continue;
    const addr = parseGroupAddress(g.name)!;
    const sw = ctx.switches.find((s) => s.dp === g.datapath);
    if (sw) {
      if (g.v4 ? (addr.v4Addr! & 0xffffff00) >>> 0 === 0xe0000000 : V6_NOT_FORWARDED.has(addr.v6Addr!)) continue;
      const floodRelay = sw.routerPorts.some((p) => p.peer && routerInfo(p.peer.rt).relay);
      const floodStatic = sw.ports.some((p) => p.enabled && mcastFlood(p));
      let actions = '';
      if (floodRelay) actions += 'clone { outport = "_MC_mrouter_flood"; output; };';
      if (floodStatic) actions += 'clone { outport ="_MC_static"; output; };';
      actions += `outport = "${g.name}"; output; `;
      sink.add(g.datapath, 'ls_in_l2_lkup', 90, `eth.mcast && ${g.v4 ? 'ip4 && ip4.dst' : 'ip6 && ip6.dst'} == ${g.name} `, actions, 9080);
      continue;
    }
    const rt = ctx.routers.find((r) => r.dp === g.datapath);
    if (!rt) continue;
    const info = routerInfo(rt);
    if (!info.relay) continue;
    const actions = `${info.floodStatic ? 'clone { outport = "_MC_static"; ip.ttl--; next; };' : ''}outport = "${g.name}"; ip.ttl--; next;`;
    sink.add(g.datapath, 'lr_in_ip_routing', 10500, `${g.v4 ? 'ip4 && ip4.dst' : 'ip6 && ip6.dst'} == ${g.name} `, actions, 12141);
  }
}
