/**
 * Per-router facts ovn-northd 23.03 computes before it builds logical flows (`init_nat_entries`,
 * `init_router_external_ips`, `build_lbs`, `build_lrouter_lbs_reachable_ips`,
 * `init_mcast_info_for_router_datapath`, `build_mcast_groups`, `assign_routable_addresses`):
 * NAT entries with their parsed external address, the unique SNAT IPs (including the
 * `dnat_force_snat_ip`/`lb_force_snat_ip` addresses), the raw NAT external IP texts, the load
 * balancer VIP sets (all, routable, reachable), the force-SNAT options, multicast relay and
 * static flooding, and the routable addresses of distributed gateway ports. Computed once per
 * router and cached.
 */
import { formatMac } from '@ovnts/packet';
import type { Nat } from '../nb/model.js';
import { optBool } from '../nb/model.js';
import type { NorthdContext, RouterDp, RouterPort } from './context.js';
import { mask6, normalizeIp, parseIp4Text, parseIp6Text, parseLportAddresses, type LportAddresses } from './addrs.js';
import { northdLb } from './lb.js';
import { ssetOrder } from './ovs-hash.js';

/** One NAT entry as `struct ovn_nat` holds it. */
export interface RtNat {
  /** NB row. */
  readonly nb: Nat;
  /** `external_ip` parsed to exactly one address (`nat_entry_is_valid`). */
  readonly valid: boolean;
  /** IPv6 external address. */
  readonly v6: boolean;
  /** Normalised external address text (`ext_addrs.ipvN_addrs[0].addr_s`). */
  readonly extAddrS: string;
  /** Solicited-node address text of an IPv6 external address. */
  readonly extSnAddrS: string;
  /** `external_ip` as stored (ovn-northd prints it verbatim in most flows). */
  readonly externalIp: string;
  /** `logical_ip` as stored. */
  readonly logicalIp: string;
  /** `external_mac` text, when set. */
  readonly externalMac: string | undefined;
  /** `external_port_range` text ("" when unset). */
  readonly portRange: string;
  /** `options:stateless` on a dnat_and_snat entry. */
  readonly stateless: boolean;
}

/** A router's load balancer VIP sets (`struct ovn_lb_ip_set`). */
export interface RtLbIps {
  /** IPv4 VIPs. */
  readonly v4: Set<string>;
  /** IPv6 VIPs. */
  readonly v6: Set<string>;
  /** IPv4 VIPs of `add_route` load balancers. */
  readonly v4Routable: Set<string>;
  /** IPv6 VIPs of `add_route` load balancers. */
  readonly v6Routable: Set<string>;
  /** IPv4 VIPs the router answers ARP for (`neighbor_responder`). */
  readonly v4Reachable: Set<string>;
  /** IPv6 VIPs the router answers ND for. */
  readonly v6Reachable: Set<string>;
}

/** Facts about one router. */
export interface RtInfo {
  /** NAT entries in NB order. */
  readonly nats: RtNat[];
  /** Unique SNAT IPs (normalised) with their snat entries; force-SNAT IPs have none. */
  readonly snatIps: Map<string, RtNat[]>;
  /** NAT `external_ip` texts as stored. */
  readonly externalIps: Set<string>;
  /** Load balancer VIPs. */
  readonly lbIps: RtLbIps;
  /** Some load balancer has VIPs. */
  readonly hasLbVip: boolean;
  /** `options:lb_force_snat_ip=router_ip` on a gateway router. */
  readonly lbForceSnatRouterIp: boolean;
  /** `options:dnat_force_snat_ip`, first IPv4 and IPv6 address. */
  readonly dnatForceSnat: { v4?: string; v6?: string } | undefined;
  /** `options:lb_force_snat_ip` addresses, first IPv4 and IPv6 address. */
  readonly lbForceSnat: { v4?: string; v6?: string } | undefined;
  /** `options:mcast_relay`. */
  readonly relay: boolean;
  /** Some enabled router port has `options:mcast_flood=true`. */
  readonly floodStatic: boolean;
  /** Some router port has `options:redirect-type=bridged`. */
  readonly redirectBridged: boolean;
}

const cache = new WeakMap<RouterDp, RtInfo>();

/** `ip_parse_masked`/`ipv6_parse_masked` of an exact address: the normalised text or undefined. */
function exactIp(text: string): { s: string; v6: boolean } | undefined {
  let t = text.trim();
  let plen: number | undefined;
  const slash = t.indexOf('/');
  if (slash >= 0) {
    plen = Number(t.slice(slash + 1));
    t = t.slice(0, slash);
  }
  const v4 = parseIp4Text(t);
  if (v4 !== undefined) return plen === undefined || plen === 32 ? { s: normalizeIp(t)!, v6: false } : undefined;
  const v6 = parseIp6Text(t);
  if (v6 !== undefined) return plen === undefined || plen === 128 ? { s: normalizeIp(t)!, v6: true } : undefined;
  return undefined;
}

/** `extract_ip_address` of a force-SNAT option: the first IPv4 and IPv6 address. */
function forceSnatAddrs(text: string | undefined): { v4?: string; v6?: string } | undefined {
  if (text === undefined) return undefined;
  const out: { v4?: string; v6?: string } = {};
  for (const tok of text.trim().split(/\s+/)) {
    const a = exactIp(tok);
    if (!a) return undefined;
    if (a.v6) out.v6 ??= a.s;
    else out.v4 ??= a.s;
  }
  return out.v4 === undefined && out.v6 === undefined ? undefined : out;
}

function solicited(v6: string): string {
  const a = parseIp6Text(v6)!;
  const sn = (0xff020000000000000000000000000000n | 0x1ff000000n) | (a & 0xffffffn);
  return normalizeIp(
    sn
      .toString(16)
      .padStart(32, '0')
      .match(/.{4}/g)!
      .join(':'),
  )!;
}

/** The router's facts (cached). */
export function routerInfo(rt: RouterDp): RtInfo {
  let info = cache.get(rt);
  if (info) return info;
  const nb = rt.nb;
  const snatIps = new Map<string, RtNat[]>();
  const addSnat = (ip: string, e?: RtNat) => {
    let l = snatIps.get(ip);
    if (!l) snatIps.set(ip, (l = []));
    if (e) l.push(e);
  };
  const dnatForceSnat = forceSnatAddrs(nb.options.get('dnat_force_snat_ip'));
  if (dnatForceSnat?.v4) addSnat(dnatForceSnat.v4);
  if (dnatForceSnat?.v6) addSnat(dnatForceSnat.v6);
  const lbfs = nb.options.get('lb_force_snat_ip');
  const lbForceSnatRouterIp = lbfs === 'router_ip' && nb.options.get('chassis') !== undefined;
  let lbForceSnat: RtInfo['lbForceSnat'];
  if (!lbForceSnatRouterIp) {
    lbForceSnat = forceSnatAddrs(lbfs);
    if (lbForceSnat?.v4) addSnat(lbForceSnat.v4);
    if (lbForceSnat?.v6) addSnat(lbForceSnat.v6);
  }
  const nats: RtNat[] = nb.nat.map((n) => {
    const ext = exactIp(n.external_ip.text);
    const e: RtNat = {
      nb: n,
      valid: ext !== undefined,
      v6: ext?.v6 ?? false,
      extAddrS: ext?.s ?? '',
      extSnAddrS: ext?.v6 ? solicited(ext.s) : '',
      externalIp: n.external_ip.text,
      logicalIp: n.logical_ip.text,
      externalMac: n.external_mac === undefined ? undefined : formatMac(n.external_mac),
      portRange: n.external_port_range === undefined ? '' : n.external_port_range.min === n.external_port_range.max ? String(n.external_port_range.min) : `${n.external_port_range.min}-${n.external_port_range.max}`,
      stateless: n.type === 'dnat_and_snat' && optBool(n.options, 'stateless', false),
    };
    if (e.valid && n.type === 'snat') addSnat(e.extAddrS, e);
    return e;
  });
  const externalIps = new Set(nb.nat.map((n) => n.external_ip.text));
  const lbIps: RtLbIps = { v4: new Set(), v6: new Set(), v4Routable: new Set(), v6Routable: new Set(), v4Reachable: new Set(), v6Reachable: new Set() };
  let hasLbVip = false;
  for (const lbNb of rt.lbs) {
    if (lbNb.vips.size > 0) hasLbVip = true;
    const lb = northdLb(lbNb);
    for (const ip of lb.ipsV4) {
      lbIps.v4.add(ip);
      if (lb.routable) lbIps.v4Routable.add(ip);
    }
    for (const ip of lb.ipsV6) {
      lbIps.v6.add(ip);
      if (lb.routable) lbIps.v6Routable.add(ip);
    }
    if (lb.neighMode === 'none') continue;
    for (const vip of lb.vips) {
      if (lb.neighMode === 'all') {
        (vip.v6 ? lbIps.v6Reachable : lbIps.v4Reachable).add(vip.vipS);
        continue;
      }
      if (vip.v6) {
        const a = parseIp6Text(vip.vipS)!;
        if (rt.ports.some((p) => p.networks.ipv6.some((n) => (a & mask6(n.plen)) === n.network))) lbIps.v6Reachable.add(vip.vipS);
      } else {
        const a = parseIp4Text(vip.vipS)!;
        if (rt.ports.some((p) => p.networks.ipv4.some((n) => ((a & n.mask) >>> 0) === n.network))) lbIps.v4Reachable.add(vip.vipS);
      }
    }
  }
  info = {
    nats, snatIps, externalIps, lbIps, hasLbVip, lbForceSnatRouterIp, dnatForceSnat, lbForceSnat,
    relay: optBool(nb.options, 'mcast_relay', false),
    floodStatic: rt.ports.some((p) => p.enabled && optBool(p.nb.options, 'mcast_flood', false)),
    redirectBridged: rt.ports.some((p) => (p.nb.options.get('redirect-type') ?? '').toLowerCase() === 'bridged'),
  };
  cache.set(rt, info);
  return info;
}

/** `is_nat_gateway_port`: whether NAT entry `nat` applies on distributed gateway port `op`. */
export function isNatGatewayPort(nat: Nat, op: RouterPort): boolean {
  if (op.rt.l3dgwPorts.length > 1) {
    if (nat.gateway_port === undefined && findLrpMemberIp(op, nat.external_ip.text) === undefined) return false;
    if (nat.gateway_port !== undefined && nat.gateway_port.name !== op.name) return false;
  }
  return true;
}

/** `find_lrp_member_ip`: the port address on the same subnet as `ip`, or undefined. */
export function findLrpMemberIp(p: RouterPort, ip: string): string | undefined {
  const v4 = parseIp4Text(ip);
  if (v4 !== undefined) return p.networks.ipv4.find((n) => ((v4 & n.mask) >>> 0) === n.network)?.addrS;
  const v6 = parseIp6Text(ip);
  if (v6 !== undefined) return p.networks.ipv6.find((n) => (v6 & mask6(n.plen)) === n.network)?.addrS;
  return undefined;
}

/**
 * `get_nat_addresses`: the `MAC IP...` entries a router port announces by gratuitous ARP: one
 * per distributed NAT rule (`EXT_MAC EXT_IP is_chassis_resident("LPORT")`) and one with the
 * port's MAC and every centralized NAT external IP that is not a port address plus, with
 * `includeLbIps`, the load balancer VIPs (restricted to the gateway chassis on a distributed
 * gateway port). `routableOnly` keeps `add_route` NATs and routable VIPs.
 */
export function getNatAddresses(ctx: NorthdContext, op: RouterPort, routableOnly: boolean, includeLbIps: boolean): string[] {
  const rt = op.rt;
  const info = routerInfo(rt);
  if (!rt.nb.nat.length && !info.hasLbVip) return [];
  const texts: string[] = [];
  let c = op.networks.eaS;
  let central = false;
  for (const nat of rt.nb.nat) {
    if (routableOnly && (nat.type === 'snat' || !optBool(nat.options, 'add_route', false))) continue;
    if (nat.external_ip.family !== 4) continue;
    if (!isNatGatewayPort(nat, op)) continue;
    if (rt.l3dgwPorts.length && nat.type === 'dnat_and_snat' && nat.logical_port !== undefined && nat.external_mac !== undefined) {
      texts.push(`${formatMac(nat.external_mac)} ${nat.external_ip.text} is_chassis_resident("${nat.logical_port}")`);
    } else {
      const isRouterIp = op.networks.ipv4.some((a) => a.addrS === nat.external_ip.text) || op.networks.ipv6.some((a) => a.addrS === nat.external_ip.text);
      if (!isRouterIp) {
        c += ` ${nat.external_ip.text}`;
        central = true;
      }
    }
  }
  if (includeLbIps) {
    const ips = routableOnly ? [...info.lbIps.v4Routable, ...info.lbIps.v6Routable] : [...ssetOrder([...info.lbIps.v4]), ...ssetOrder([...info.lbIps.v6])];
    for (const ip of ips) {
      c += ` ${ip}`;
      central = true;
    }
  }
  if (central) {
    if (op.crName) c += ` is_chassis_resident(${op.crJsonKey})`;
    texts.push(c);
  }
  void ctx;
  return texts;
}

const routablesCache = new WeakMap<RouterPort, LportAddresses[]>();

/**
 * `assign_routable_addresses` of a distributed gateway port: from `get_nat_addresses(op, routable
 * only, with LB IPs)`, each `MAC IP...` entry as port addresses.
 */
export function routables(ctx: NorthdContext, op: RouterPort): LportAddresses[] {
  let r = routablesCache.get(op);
  if (r) return r;
  r = [];
  routablesCache.set(op, r);
  if (!op.crName) return r;
  for (const t of getNatAddresses(ctx, op, true, true)) {
    const la = parseLportAddresses(t);
    if (la) r.push(la);
  }
  return r;
}
