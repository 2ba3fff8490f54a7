/**
 * Logical router flows, as ovn-northd 23.03 builds them (`northd.c`). The builders follow
 * ovn-northd's own split: per router datapath (`build_lswitch_and_lrouter_iterate_by_od`, router
 * half: admission, neighbor learning, ND RA defaults, routing pre-stage and route tables, static
 * routes with ECMP and symmetric replies, multicast relay lookup, policies, ARP resolve
 * defaults, gateway MTU checks, gateway redirect, ARP/ND requests, local traffic drops, NAT
 * ARP/ND replies, NAT/defrag/LB stages), per port (`..._iterate_by_op`, router half: port
 * admission with gateway MTU, neighbor lookup, connected routes, RA responder, ARP resolve for
 * peers and switch ports, egress delivery, DHCPv6 replies, IPv6 and IPv4 input, force-SNAT for
 * the router IP), and per load balancer (`build_lrouter_defrag_flows_for_lb`,
 * `build_lrouter_flows_for_lb` with affinity). Distributed gateway ports (`l3dgw_ports`) and
 * their chassis-redirect ports, gateway routers (`options:chassis`) and distributed NAT
 * (dnat_and_snat with logical_port and external_mac) follow ovn-northd's branches. Matches
 * and actions are built as the same text ovn-northd prints. Not built: BFD (`has_bfd` flows),
 * IGMP groups learnt in the southbound database, copp meters (not printed by lflow-list).
 */
import { formatIpv4 as formatIp4, formatIpv6Ntop as formatIpv6 } from '@ovnts/packet';
import type { NorthdContext, RouterDp, RouterPort, SwitchPort } from './context.js';
import { linkLocal, mask4, mask6, parseIp4Text, parseIp6Text, solicitedNode } from './addrs.js';
import type { FlowSink } from './types.js';
import { lbVipActions, northdLb, type NorthdLb, type NorthdLbVip } from './lb.js';
import { findLrpMemberIp, isNatGatewayPort, routables, routerInfo, type RtInfo, type RtNat } from './router-info.js';
import { stageTable } from './stages.js';
import { optBool } from '../nb/model.js';
import type { LogicalRouterStaticRoute, Nat } from '../nb/model.js';

const PRIO_CONNECTED = 2;
const PRIO_STATIC = 1;
const DROP = 'drop;';
const INPORT_ETH = 'xreg0[0..47]';

function isLla6(a: bigint): boolean {
  return a >> 118n === 0x3fan; // fe80::/10
}

function v4Networks(p: RouterPort, addBcast: boolean): string {
  const n = p.networks.ipv4;
  if (!addBcast && n.length === 1) return n[0]!.addrS;
  const parts: string[] = [];
  for (const a of n) {
    parts.push(a.addrS);
    if (addBcast) parts.push(a.bcastS);
  }
  return `{${parts.join(', ')}}`;
}

function v6Networks(p: RouterPort): string {
  const n = p.networks.ipv6;
  if (n.length === 1) return n[0]!.addrS;
  return `{${n.map((a) => a.addrS).join(', ')}}`;
}

function gwMtu(p: RouterPort): number {
  const v = p.nb.options.get('gateway_mtu');
  if (v === undefined) return 0;
  const n = parseInt(v, 10);
  return Number.isFinite(n) ? n : 0;
}

/** `build_gateway_get_l2_hdr_size`. */
function l2HdrSize(p: RouterPort): number {
  const peer = p.peer;
  if (peer && 'sw' in peer) {
    for (const ln of peer.sw.localnetPorts) if (ln.nb.tag_request !== undefined) return 18;
  }
  return 14;
}

/** `build_gateway_mtu_flow`: a flow with a `check_pkt_larger` prefix when the port has a gateway MTU, and its bypass variant. */
function gatewayMtuFlow(sink: FlowSink, p: RouterPort, st: 'lr_in_admission' | 'lr_in_chk_pkt_len', prioLow: number, prioHigh: number, match: string, extra: string, hint: string): void {
  const mtu = gwMtu(p);
  let a = '';
  if (mtu > 0) a = `reg9[1] = check_pkt_larger(${mtu + l2HdrSize(p)}); `;
  sink.add(p.rt.dp, st, prioLow, match, a + extra, 11554, hint);
  if (mtu > 0) {
    const bypass = p.nb.options.get('gateway_mtu_bypass');
    if (bypass !== undefined) sink.add(p.rt.dp, st, prioHigh, `${match} && (${bypass})`, extra, 11566, hint);
  }
}

function arpFlow(sink: FlowSink, rt: RouterDp, op: RouterPort | undefined, ip: string, eth: string, extra: string, drop: boolean, prio: number, hint?: string): void {
  let m = op ? `inport == ${op.jsonKey} && ` : '';
  m += `arp.op == 1 && arp.tpa == ${ip}`;
  if (extra) m += ` && ${extra}`;
  const a = drop ? DROP : `eth.dst = eth.src; eth.src = ${eth}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = ${eth}; arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;`;
  sink.add(rt.dp, 'lr_in_ip_input', prio, m, a, 11115, hint);
}

function ndFlow(sink: FlowSink, rt: RouterDp, op: RouterPort | undefined, action: string, ip: string, snIp: string | undefined, eth: string, extra: string, drop: boolean, prio: number, hint?: string): void {
  let m = op ? `inport == ${op.jsonKey} && ` : '';
  if (snIp !== undefined) m += `ip6.dst == {${ip}, ${snIp}} && `;
  m += `nd_ns && nd.target == ${ip}`;
  if (extra) m += ` && ${extra}`;
  const a = drop ? DROP : `${action} { eth.src = ${eth}; ip6.src = nd.target; nd.tll = ${eth}; outport = inport; flags.loopback = 1; output; };`;
  sink.add(rt.dp, 'lr_in_ip_input', prio, m, a, drop ? 11156 : 11171, hint);
}

// ---------------------------------------------------------------------------------------------
// Per router datapath.

/** Per-router flows (`build_lswitch_and_lrouter_iterate_by_od`, router half). */
export function buildRouterDpFlows(ctx: NorthdContext, sink: FlowSink, rt: RouterDp): void {
  const dp = rt.dp;
  const info = routerInfo(rt);
  // build_adm_ctrl_flows_for_lrouter
  sink.add(dp, 'lr_in_admission', 100, 'vlan.present || eth.src[40]', DROP, 11501);
  sink.add(dp, 'lr_in_admission', 0, '1', DROP, 11505);
  neighLearning(sink, rt);
  // build_ND_RA_flows_for_lrouter
  sink.add(dp, 'lr_in_nd_ra_options', 0, '1', 'next;', 11956);
  sink.add(dp, 'lr_in_nd_ra_response', 0, '1', 'next;', 11957);
  // build_ip_routing_pre_flows_for_lrouter
  sink.add(dp, 'lr_in_ip_routing_pre', 0, '1', 'reg7 = 0; next;', 11968);
  staticRoutes(ctx, sink, rt);
  mcastLookup(sink, rt, info);
  policies(sink, rt);
  // build_arp_resolve_flows_for_lrouter
  sink.add(dp, 'lr_in_arp_resolve', 500, 'ip4.mcast || ip6.mcast', 'next;', 12247);
  sink.add(dp, 'lr_in_arp_resolve', 1, 'ip4', 'get_arp(outport, reg0); next;', 12250);
  sink.add(dp, 'lr_in_arp_resolve', 1, 'ip6', 'get_nd(outport, xxreg0); next;', 12253);
  sink.add(dp, 'lr_in_arp_resolve', 0, '1', DROP, 12256);
  checkPktLen(sink, rt);
  gatewayRedirect(sink, rt, info);
  arpRequest(sink, rt);
  miscLocalDrops(sink, rt, info);
  natArpNdForDatapath(sink, rt, info);
  natDefragAndLb(ctx, sink, rt, info);
  // build_lb_affinity_default_flows
  sink.add(dp, 'lr_in_lb_aff_check', 0, '1', 'next;', 7490);
  sink.add(dp, 'lr_in_lb_aff_learn', 0, '1', 'next;', 7491);
}

function neighLearning(sink: FlowSink, rt: RouterDp): void {
  const dp = rt.dp;
  const learn = optBool(rt.nb.options, 'always_learn_from_arp_request', true);
  const ipRes = learn ? '' : 'reg9[3] = 1; ';
  sink.add(dp, 'lr_in_lookup_neighbor', 100, 'arp.op == 2', `reg9[2] = lookup_arp(inport, arp.spa, arp.sha); ${ipRes}next;`, 11690);
  sink.add(dp, 'lr_in_lookup_neighbor', 100, 'nd_na', `reg9[2] = lookup_nd(inport, nd.target, nd.tll); ${ipRes}next;`, 11698);
  if (!learn) {
    sink.add(dp, 'lr_in_lookup_neighbor', 110, 'nd_na && ip6.src == fe80::/10 && ip6.dst == ff00::/8', 'reg9[2] = lookup_nd(inport, ip6.src, nd.tll); reg9[3] = lookup_nd_ip(inport, ip6.src); next;', 11714);
  }
  sink.add(dp, 'lr_in_lookup_neighbor', 100, 'nd_ns', `reg9[2] = lookup_nd(inport, ip6.src, nd.sll); ${learn ? '' : 'reg9[3] = lookup_nd_ip(inport, ip6.src); '}next;`, 11726);
  sink.add(dp, 'lr_in_lookup_neighbor', 0, '1', 'reg9[2] = 1; next;', 11731);
  sink.add(dp, 'lr_in_learn_neighbor', 100, `reg9[2] == 1${learn ? '' : ' || reg9[3] == 0'}`, 'next;', 11740);
  sink.add(dp, 'lr_in_learn_neighbor', 90, 'arp', 'put_arp(inport, arp.spa, arp.sha); next;', 11743);
  sink.add(dp, 'lr_in_learn_neighbor', 95, 'nd_ns && (ip6.src == 0 || nd.sll == 0)', 'next;', 11748);
  sink.add(dp, 'lr_in_learn_neighbor', 95, 'nd_na && nd.tll == 0', 'put_nd(inport, nd.target, eth.src); next;', 11751);
  sink.add(dp, 'lr_in_learn_neighbor', 90, 'nd_na', 'put_nd(inport, nd.target, nd.tll); next;', 11757);
  sink.add(dp, 'lr_in_learn_neighbor', 90, 'nd_ns', 'put_nd(inport, ip6.src, nd.sll); next;', 11762);
  sink.add(dp, 'lr_in_learn_neighbor', 0, '1', DROP, 11767);
}

// ---- Static routes (build_static_route_flows_for_lrouter).

interface ParsedRoute {
  readonly nb: LogicalRouterStaticRoute;
  readonly v4: boolean;
  /** Masked prefix text (`build_route_prefix_s`). */
  readonly prefixS: string;
  /** Prefix with host bits, as a comparable key. */
  readonly prefixKey: string;
  readonly plen: number;
  readonly src: boolean;
  readonly rtbId: number;
  readonly symReply: boolean;
  readonly discard: boolean;
}

/** `find_static_route_outport`. */
function routeOutport(rt: RouterDp, r: LogicalRouterStaticRoute, v4: boolean): { op: RouterPort; lrpAddr: string } | undefined {
  const nh = r.nexthop === 'discard' ? '' : r.nexthop.text;
  let out: RouterPort | undefined;
  let addr: string | undefined;
  if (r.output_port !== undefined) {
    out = rt.ctxPorts.get(r.output_port);
    if (!out) return undefined;
    if (nh) addr = findLrpMemberIp(out, nh);
    if (!addr) addr = v4 ? out.networks.ipv4[0]?.addrS : out.networks.ipv6[0]?.addrS;
  } else {
    for (const op of rt.ports) {
      out = op;
      if (nh) addr = findLrpMemberIp(op, nh);
      if (addr) break;
    }
  }
  if (!out || !addr) return undefined;
  return { op: out, lrpAddr: addr };
}

function routeMatch(inport: RouterPort | undefined, rtbId: number, networkS: string, plen: number, src: boolean, v4: boolean, ofs: number): { match: string; prio: number } {
  const o = src ? 0 : ofs;
  const prio = plen * 3 + o;
  let m = inport ? `inport == ${inport.jsonKey} && ` : '';
  if (rtbId || o === PRIO_STATIC) m += `reg7 == ${rtbId} && `;
  m += `ip${v4 ? '4' : '6'}.${src ? 'src' : 'dst'} == ${networkS}/${plen}`;
  return { match: m, prio };
}

/** `add_route`. */
function addRoute(sink: FlowSink, rt: RouterDp, op: RouterPort | undefined, lrpAddr: string, networkS: string, plen: number, gateway: string | undefined, src: boolean, rtbId: number, hint: string, discard: boolean, ofs: number): void {
  const v4 = networkS.includes('.');
  let inport: RouterPort | undefined;
  if (!v4 && isLla6(parseIp6Text(networkS)!)) inport = op;
  const { match, prio } = routeMatch(inport, rtbId, networkS, plen, src, v4, ofs);
  let a: string;
  if (discard) a = DROP;
  else {
    a = `ip.ttl--; reg8[0..15] = 0; ${v4 ? 'reg0' : 'xxreg0'} = ${gateway ? gateway : `ip${v4 ? '4' : '6'}.dst`}; ${v4 ? 'reg1' : 'xxreg1'} = ${lrpAddr}; eth.src = ${op!.networks.eaS}; outport = ${op!.jsonKey}; flags.loopback = 1; next;`;
  }
  sink.add(rt.dp, 'lr_in_ip_routing', prio, match, a, 10388, hint);
}

function prefixText(v4: boolean, addr: number | bigint, plen: number): string {
  if (v4) return formatIp4((addr as number) & mask4(plen));
  return formatIpv6((addr as bigint) & mask6(plen));
}

function staticRoutes(ctx: NorthdContext, sink: FlowSink, rt: RouterDp): void {
  const dp = rt.dp;
  sink.add(dp, 'lr_in_ip_routing_ecmp', 0, '1', DROP, 12044);
  sink.add(dp, 'lr_in_ip_routing', 0, '1', DROP, 12045);
  sink.add(dp, 'lr_in_ip_routing_ecmp', 150, 'reg8[0..15] == 0', 'next;', 12046);
  const tables = new Map<string, number>();
  const tableId = (name: string | undefined): number => {
    if (!name) return 0;
    let id = tables.get(name);
    if (id === undefined) {
      id = tables.size + 1;
      tables.set(name, id);
    }
    return id;
  };
  for (const p of rt.nb.ports) {
    const id = tableId(p.options.get('route_table'));
    if (!id) continue;
    sink.add(dp, 'lr_in_ip_routing_pre', 100, `inport == "${p.name}"`, `reg7 = ${id}; next;`, 9686);
  }
  // Parse, then group into ECMP groups (same prefix, plen, direction, table).
  interface Group { id: number; routes: ParsedRoute[]; origin: string }
  const groups = new Map<string, Group>();
  const unique = new Map<string, ParsedRoute>();
  const order: (ParsedRoute | Group)[] = [];
  for (const nb of rt.nb.static_routes) {
    const pre = nb.ip_prefix;
    const v4 = pre.family === 4;
    const discard = nb.nexthop === 'discard';
    if (!discard) {
      const nh = nb.nexthop as { family: 4 | 6; text: string };
      if (nh.text.includes('/')) {
        const pl = Number(nh.text.split('/')[1]);
        if (pl !== (nh.family === 4 ? 32 : 128)) continue;
      }
      if ((nh.family === 4) !== v4) continue;
      if (!routeOutport(rt, nb, v4)) continue;
    }
    if (nb.bfd && nb.bfd.dst_ip === (discard ? 'discard' : (nb.nexthop as { text: string }).text) && nb.bfd.status === 'down') continue;
    const r: ParsedRoute = {
      nb, v4, prefixS: prefixText(v4, pre.addr, pre.plen), prefixKey: `${pre.family}:${pre.addr}`, plen: pre.plen,
      src: nb.policy === 'src-ip', rtbId: tableId(nb.route_table), symReply: optBool(nb.options, 'ecmp_symmetric_reply', false), discard,
    };
    const k = `${r.prefixKey}/${r.plen}/${r.src}/${r.rtbId}`;
    const g = groups.get(k);
    if (g) {
      g.routes.push(r);
      continue;
    }
    const u = unique.get(k);
    if (u) {
      unique.delete(k);
      const ng: Group = { id: groups.size + 1, routes: [u, r], origin: u.nb.options.get('origin') ?? '' };
      groups.set(k, ng);
      order.push(ng);
    } else {
      unique.set(k, r);
    }
  }
  for (const g of groups.values()) ecmpRouteFlow(ctx, sink, rt, g.id, g.routes, g.origin);
  for (const r of unique.values()) staticRouteFlow(sink, rt, r);
  void order;
}

function staticRouteFlow(sink: FlowSink, rt: RouterDp, r: ParsedRoute): void {
  let out: { op: RouterPort; lrpAddr: string } | undefined;
  if (!r.discard) {
    out = routeOutport(rt, r.nb, r.v4);
    if (!out) return;
  }
  const ofs = r.nb.options.get('origin') === 'connected' ? PRIO_CONNECTED : PRIO_STATIC;
  addRoute(sink, rt, out?.op, out?.lrpAddr ?? '', r.prefixS, r.plen, r.discard ? 'discard' : (r.nb.nexthop as { text: string }).text, r.src, r.rtbId, r.nb.uuid, r.discard, ofs);
}

function ecmpRouteFlow(ctx: NorthdContext, sink: FlowSink, rt: RouterDp, id: number, routes: ParsedRoute[], origin: string): void {
  const r0 = routes[0]!;
  const ofs = origin === 'connected' ? PRIO_CONNECTED : PRIO_STATIC;
  const { match: routeM, prio } = routeMatch(undefined, r0.rtbId, r0.prefixS, r0.plen, r0.src, r0.v4, ofs);
  sink.add(rt.dp, 'lr_in_ip_routing', prio, routeM, `ip.ttl--; flags.loopback = 1; reg8[0..15] = ${id}; reg8[16..31] = select(${routes.map((_, i) => i + 1).join(', ')});`, 10287);
  const visited = new Set<string>();
  routes.forEach((r, i) => {
    const out = routeOutport(rt, r.nb, r0.v4);
    if (!out) return;
    if (rt.nb.options.get('chassis') !== undefined && r.symReply && !visited.has(out.op.name)) {
      visited.add(out.op.name);
      ecmpSymmetricReplyFlows(ctx, sink, rt, out.lrpAddr, out.op, r, routeM);
    }
    const nh = r.discard ? 'discard' : (r.nb.nexthop as { text: string }).text;
    sink.add(rt.dp, 'lr_in_ip_routing_ecmp', 100, `reg8[0..15] == ${id} && reg8[16..31] == ${i + 1}`, `${r0.v4 ? 'reg0' : 'xxreg0'} = ${nh}; ${r0.v4 ? 'reg1' : 'xxreg1'} = ${out.lrpAddr}; eth.src = ${out.op.networks.eaS}; outport = ${out.op.jsonKey}; next;`, 10329, r.nb.uuid);
  });
}

/** `add_ecmp_symmetric_reply_flows`. */
function ecmpSymmetricReplyFlows(ctx: NorthdContext, sink: FlowSink, rt: RouterDp, portIp: string, op: RouterPort, r: ParsedRoute, routeMatchS: string): void {
  const dp = rt.dp;
  const hint = r.nb.uuid;
  const key = ctx.portKey(op.name);
  const cidr = r.plen === (r.v4 ? 32 : 128) ? r.prefixS : `${r.prefixS}/${r.plen}`;
  const ipv = r.v4 ? '4' : '6';
  const base = `inport == ${op.jsonKey} && ip${ipv}.${r.src ? 'dst' : 'src'} == ${cidr}`;
  sink.add(dp, 'lr_in_defrag', 100, base, 'reg9[5] = chk_ecmp_nh_mac(); ct_next;', 10107, hint);
  sink.add(dp, 'lr_in_defrag', 100, routeMatchS, 'reg9[5] = chk_ecmp_nh(); ct_next;', 10113, hint);
  const commit = (proto: string) => `ct_commit { ct_label.ecmp_reply_eth = eth.src;  ct_mark.ecmp_reply_port = ${key};}; commit_ecmp_nh(ipv6 = ${r.v4 ? 'false' : 'true'}, proto = ${proto}); next;`;
  for (const [proto, where] of [['tcp', 10132], ['udp', 10145], ['sctp', 10158]] as const) {
    sink.add(dp, 'lr_in_ecmp_stateful', 100, `${base} && (ct.new && !ct.est) && ${proto}`, commit(proto), where, hint);
  }
  for (const [proto, where] of [['tcp', 10173], ['udp', 10188], ['sctp', 10202]] as const) {
    sink.add(dp, 'lr_in_ecmp_stateful', 100, `${base} && (!ct.rpl && ct.est) && ${proto} && reg9[5] == 0`, commit(proto), where, hint);
  }
  const reply = `ct.rpl && reg9[5] == 1 && ct_mark.ecmp_reply_port == ${key}`;
  sink.add(dp, 'lr_in_ip_routing', 10300, `${reply} && ${routeMatchS}`, `ip.ttl--; flags.loopback = 1; eth.src = ${op.networks.eaS}; ${r.v4 ? '' : 'xx'}reg1 = ${portIp}; outport = ${op.jsonKey}; next;`, 10221, hint);
  sink.add(dp, 'lr_in_policy', 65535, reply, 'next;', 10226, hint);
  sink.add(dp, 'lr_in_arp_resolve', 200, reply, 'push(xxreg1); xxreg1 = ct_label; eth.dst = xxreg1[32..79]; pop(xxreg1); next;', 10242, hint);
}

// ---- Multicast (build_mcast_lookup_flows_for_lrouter).

function mcastLookup(sink: FlowSink, rt: RouterDp, info: RtInfo): void {
  const dp = rt.dp;
  sink.add(dp, 'lr_in_ip_routing', 10550, 'nd_rs || nd_ra', DROP, 12113);
  if (!info.relay) return;
  // IGMP groups learnt in the southbound database: none in a static NB.
  if (info.floodStatic) {
    for (const op of rt.ports) {
      sink.add(dp, 'lr_in_ip_routing', 10550, `eth.src == ${op.networks.eaS} && igmp`, DROP, 12160);
      sink.add(dp, 'lr_in_ip_routing', 10550, `eth.src == ${op.networks.eaS} && (mldv1 || mldv2)`, DROP, 12166);
    }
    sink.add(dp, 'lr_in_ip_routing', 10460, 'igmp', 'clone { outport = "_MC_static"; next; };', 12170);
    sink.add(dp, 'lr_in_ip_routing', 10460, 'mldv1 || mldv2', 'clone { outport = "_MC_static"; next; };', 12176);
    sink.add(dp, 'lr_in_ip_routing', 10450, 'ip4.mcast || ip6.mcast', 'clone { outport = "_MC_static"; ip.ttl--; next; };', 12182);
  } else {
    sink.add(dp, 'lr_in_ip_routing', 10450, 'ip4.mcast || ip6.mcast', DROP, 12190);
  }
}

// ---- Policies (build_ingress_policy_flows_for_lrouter).

function policyOutport(rt: RouterDp, nh: string | undefined): RouterPort | undefined {
  if (nh === undefined) return undefined;
  for (const p of rt.nb.ports) {
    const op = rt.ctxPorts.get(p.name);
    if (op && findLrpMemberIp(op, nh) !== undefined) return op;
  }
  return undefined;
}

function policies(sink: FlowSink, rt: RouterDp): void {
  const dp = rt.dp;
  sink.add(dp, 'lr_in_policy', 0, '1', 'reg8[0..15] = 0; next;', 12213);
  sink.add(dp, 'lr_in_policy_ecmp', 150, 'reg8[0..15] == 0', 'next;', 12215);
  sink.add(dp, 'lr_in_policy_ecmp', 0, '1', DROP, 12217);
  let gid = 1;
  for (const rule of rt.nb.policies) {
    const mark = rule.pktMark ? `pkt.mark = ${rule.pktMark}; ` : '';
    if (rule.action === 'reroute' && rule.nexthops.length > 1) {
      const group = gid++;
      const nhs = rule.nexthops.map((n) => n.text);
      const fam = nhs.map((n) => n.includes('.'));
      if (fam.some((f) => f !== fam[0])) continue;
      let ok = true;
      for (let i = 0; i < nhs.length; i++) {
        const op = policyOutport(rt, nhs[i]);
        const addr = op && findLrpMemberIp(op, nhs[i]!);
        if (!op || !addr) {
          ok = false;
          break;
        }
        const v4 = fam[i];
        sink.add(dp, 'lr_in_policy_ecmp', 100, `reg8[0..15] == ${group} && reg8[16..31] == ${i + 1}`, `${mark}${v4 ? 'reg0' : 'xxreg0'} = ${nhs[i]}; ${v4 ? 'reg1' : 'xxreg1'} = ${addr}; eth.src = ${op.networks.eaS}; outport = ${op.jsonKey}; flags.loopback = 1; next;`, 9606, rule.uuid);
      }
      if (!ok) continue;
      sink.add(dp, 'lr_in_policy', rule.priority, rule.match, `reg8[0..15] = ${group}; reg8[16..31] = select(${nhs.map((_, i) => i + 1).join(', ')});`, 9624, rule.uuid);
      continue;
    }
    let a: string;
    if (rule.action === 'reroute') {
      const nh = rule.nexthops[0]?.text ?? rule.nexthop?.text;
      const op = policyOutport(rt, nh);
      if (!op || nh === undefined) continue;
      const addr = findLrpMemberIp(op, nh);
      if (!addr) continue;
      const v4 = nh.includes('.');
      a = `${mark}${v4 ? 'reg0' : 'xxreg0'} = ${nh}; ${v4 ? 'reg1' : 'xxreg1'} = ${addr}; eth.src = ${op.networks.eaS}; outport = ${op.jsonKey}; flags.loopback = 1; reg8[0..15] = 0; next;`;
    } else if (rule.action === 'drop') {
      a = DROP;
    } else {
      a = `${mark}reg8[0..15] = 0; next;`;
    }
    sink.add(dp, 'lr_in_policy', rule.priority, rule.match, a, 9526, rule.uuid);
  }
}

// ---- Gateway MTU (build_check_pkt_len_flows_for_lrouter).

function icmpErrPktBig(sink: FlowSink, op: RouterPort, mtu: number, st: 'lr_in_ip_input' | 'lr_in_larger_pkts', outport: RouterPort | undefined): void {
  const om = outport ? `outport == ${outport.jsonKey} && ` : '';
  const adm = stageTable('lr_in_admission');
  const hint = op.nb.uuid;
  if (op.networks.ipv4.length) {
    sink.add(op.rt.dp, st, 150, `inport == ${op.jsonKey} && ${om}ip4 && reg9[1] && reg9[0] == 0`, `icmp4_error {reg9[0] = 1; reg9[1] = 0; eth.dst = ${op.networks.eaS}; ip4.dst = ip4.src; ip4.src = ${op.networks.ipv4[0]!.addrS}; ip.ttl = 255; icmp4.type = 3; /* Destination Unreachable. */ icmp4.code = 4; /* Frag Needed and DF was Set. */ icmp4.frag_mtu = ${mtu}; next(pipeline=ingress, table=${adm}); };`, 12669, hint);
  }
  if (op.networks.ipv6.length) {
    sink.add(op.rt.dp, st, 150, `inport == ${op.jsonKey} && ${om}ip6 && reg9[1] && reg9[0] == 0`, `icmp6_error {reg9[0] = 1; reg9[1] = 0; eth.dst = ${op.networks.eaS}; ip6.dst = ip6.src; ip6.src = ${op.networks.ipv6[0]!.addrS}; ip.ttl = 255; icmp6.type = 2; /* Packet Too Big. */ icmp6.code = 0; icmp6.frag_mtu = ${mtu}; next(pipeline=ingress, table=${adm}); };`, 12702, hint);
  }
}

function checkPktLen(sink: FlowSink, rt: RouterDp): void {
  sink.add(rt.dp, 'lr_in_chk_pkt_len', 0, '1', 'next;', 12776);
  sink.add(rt.dp, 'lr_in_larger_pkts', 0, '1', 'next;', 12778);
  for (const p of rt.nb.ports) {
    const op = rt.ctxPorts.get(p.name);
    if (!op) continue;
    const mtu = gwMtu(op);
    if (mtu <= 0) continue;
    gatewayMtuFlow(sink, op, 'lr_in_chk_pkt_len', 50, 55, `outport == ${op.jsonKey}`, 'next;', op.nb.uuid);
    icmpErrPktBig(sink, op, mtu, 'lr_in_ip_input', undefined);
    for (const q of rt.nb.ports) {
      const rp = rt.ctxPorts.get(q.name);
      if (!rp || rp === op) continue;
      icmpErrPktBig(sink, rp, mtu, 'lr_in_larger_pkts', op);
    }
  }
}

function hasVtepPeer(op: RouterPort): boolean {
  const peer = op.peer;
  return !!peer && 'sw' in peer && peer.sw.hasVtepLports;
}

function gatewayRedirect(sink: FlowSink, rt: RouterDp, info: RtInfo): void {
  const dp = rt.dp;
  for (const gp of rt.l3dgwPorts) {
    if (hasVtepPeer(gp)) continue;
    const m = `outport == ${gp.jsonKey}`;
    const a = `outport = ${gp.crJsonKey}; next;`;
    sink.add(dp, 'lr_in_gw_redirect', 50, m, a, 12830, gp.nb.uuid);
    let addDef = true;
    for (const nat of info.nats) {
      if (!nat.stateless || (!nat.nb.allowed_ext_ips && !nat.nb.exempted_ext_ips)) continue;
      const as = nat.nb.allowed_ext_ips ?? nat.nb.exempted_ext_ips!;
      const mext = `${m} && ip${nat.v6 ? '6' : '4'}.src == $${as.name}`;
      if (nat.nb.allowed_ext_ips) {
        sink.add(dp, 'lr_in_gw_redirect', 75, mext, a, 12849, gp.nb.uuid);
        if (addDef) {
          sink.add(dp, 'lr_in_gw_redirect', 70, `ip && ip${nat.v6 ? '6' : '4'}.dst == ${nat.externalIp}`, DROP, 12857);
          addDef = false;
        }
      } else {
        sink.add(dp, 'lr_in_gw_redirect', 75, mext, DROP, 12862, gp.nb.uuid);
      }
    }
  }
  sink.add(dp, 'lr_in_gw_redirect', 0, '1', 'next;', 12872);
}

function arpRequest(sink: FlowSink, rt: RouterDp): void {
  const dp = rt.dp;
  for (const r of rt.nb.static_routes) {
    if (r.nexthop === 'discard' || r.nexthop.family !== 6) continue;
    const text = r.nexthop.text;
    if (text.includes('/') && Number(text.split('/')[1]) !== 128) continue;
    const nh = r.nexthop.addr;
    const sn = solicitedNode(nh);
    const lo = Number(nh & 0xffffffn);
    const mac = `33:33:ff:${[16, 8, 0].map((s) => ((lo >> s) & 0xff).toString(16).padStart(2, '0')).join(':')}`;
    sink.add(dp, 'lr_in_arp_request', 200, `eth.dst == 00:00:00:00:00:00 && ip6 && xxreg0 == ${text}`, `nd_ns { eth.dst = ${mac}; ip6.dst = ${formatIpv6(sn)}; nd.target = ${text}; output; };`, 12921, r.uuid);
  }
  sink.add(dp, 'lr_in_arp_request', 100, 'eth.dst == 00:00:00:00:00:00 && ip4', 'arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.spa = reg1; arp.tpa = reg0; arp.op = 1; output; };', 12929);
  sink.add(dp, 'lr_in_arp_request', 100, 'eth.dst == 00:00:00:00:00:00 && ip6', 'nd_ns { nd.target = xxreg0; output; };', 12940);
  sink.add(dp, 'lr_in_arp_request', 0, '1', 'output;', 12948);
}

function miscLocalDrops(sink: FlowSink, rt: RouterDp, info: RtInfo): void {
  const dp = rt.dp;
  if (info.floodStatic) {
    sink.add(dp, 'lr_in_ip_input', 120, 'igmp && ip.ttl == 1', 'next;', 13012);
    sink.add(dp, 'lr_in_ip_input', 120, '(mldv1 || mldv2) && ip.ttl == 1', 'next;', 13014);
  }
  sink.add(dp, 'lr_in_ip_input', 100, 'ip4.src_mcast ||ip4.src == 255.255.255.255 || ip4.src == 127.0.0.0/8 || ip4.dst == 127.0.0.0/8 || ip4.src == 0.0.0.0/8 || ip4.dst == 0.0.0.0/8', DROP, 13021);
  sink.add(dp, 'lr_in_ip_input', 85, 'arp || nd', DROP, 13035);
  sink.add(dp, 'lr_in_ip_input', 84, 'nd_rs || nd_ra', 'next;', 13041);
  sink.add(dp, 'lr_in_ip_input', 83, 'ip6.mcast_rsvd', DROP, 13045);
  sink.add(dp, 'lr_in_ip_input', 82, 'ip4.mcast || ip6.mcast', info.relay ? 'next;' : DROP, 13049);
  sink.add(dp, 'lr_in_ip_input', 50, 'eth.bcast', DROP, 13056);
  sink.add(dp, 'lr_in_ip_input', 32, 'ip.ttl == {0, 1} && !ip.later_frag && (ip4.mcast || ip6.mcast)', DROP, 13073);
  sink.add(dp, 'lr_in_ip_input', 30, 'ip.ttl == {0, 1}', DROP, 13078);
  sink.add(dp, 'lr_in_ip_input', 0, '1', 'next;', 13083);
}

function natArpNd(sink: FlowSink, rt: RouterDp, nat: RtNat): void {
  if (nat.v6) ndFlow(sink, rt, undefined, 'nd_na', nat.extAddrS, nat.extSnAddrS, INPORT_ETH, '', false, 90, nat.nb.uuid);
  else arpFlow(sink, rt, undefined, nat.extAddrS, INPORT_ETH, '', false, 90, nat.nb.uuid);
}

/** `build_lrouter_arp_nd_for_datapath`. */
function natArpNdForDatapath(sink: FlowSink, rt: RouterDp, info: RtInfo): void {
  for (const nat of info.nats) {
    if (!nat.valid || nat.nb.type === 'snat') continue;
    natArpNd(sink, rt, nat);
  }
  for (const entries of info.snatIps.values()) {
    if (entries.length) natArpNd(sink, rt, entries[0]!);
  }
}

// ---- NAT, defrag and LB (build_lrouter_nat_defrag_and_lb).

interface NatCheck {
  readonly nat: RtNat;
  readonly v6: boolean;
  readonly cidrBits: number;
  readonly mac: string | undefined;
  readonly distributed: boolean;
  readonly gw: RouterPort | undefined;
}

/** `lrouter_check_nat_entry`. */
function checkNat(rt: RouterDp, nat: RtNat): NatCheck | undefined {
  const nb = nat.nb;
  if (nb.allowed_ext_ips && nb.exempted_ext_ips) return undefined;
  if (!nat.valid) return undefined;
  let gw: RouterPort | undefined;
  if (nb.gateway_port === undefined) {
    if (rt.l3dgwPorts.length === 1) gw = rt.l3dgwPorts[0];
    else if (rt.l3dgwPorts.length > 1) {
      gw = rt.l3dgwPorts.find((p) => findLrpMemberIp(p, nb.external_ip.text) !== undefined);
      if (!gw) return undefined;
    }
  } else {
    gw = rt.ctxPorts.get(nb.gateway_port.name);
    if (!gw || gw.rt !== rt || !gw.crName) return undefined;
  }
  const li = nb.logical_ip;
  if ((li.family === 6) !== nat.v6) return undefined;
  const full = nat.v6 ? 128 : 32;
  const cidrBits = li.text.includes('/') ? li.plen : full;
  if (nb.type !== 'snat' && cidrBits !== full) return undefined;
  let distributed = false;
  let mac: string | undefined;
  if (rt.l3dgwPorts.length && nb.type === 'dnat_and_snat' && nb.logical_port !== undefined && nb.external_mac !== undefined) {
    distributed = true;
    mac = nat.externalMac;
  }
  return { nat, v6: nat.v6, cidrBits, mac, distributed, gw };
}

/** `lrouter_nat_add_ext_ip_match`: returns the extra match text. */
function natExtIpMatch(sink: FlowSink, rt: RouterDp, match: string, nat: Nat, v6: boolean, isSrc: boolean, cidrBits: number): string {
  if (nat.allowed_ext_ips) return `${match} && ip${v6 ? '6' : '4'}.${isSrc ? 'src' : 'dst'} == $${nat.allowed_ext_ips.name}`;
  const ex = nat.exempted_ext_ips!;
  let prio: number;
  if (isSrc) prio = 102;
  else {
    prio = cidrBits + 3;
    if (!rt.isGatewayRouter) prio += 128;
  }
  sink.add(rt.dp, isSrc ? 'lr_in_dnat' : 'lr_out_snat', prio, `${match} && ip${v6 ? '6' : '4'}.${isSrc ? 'src' : 'dst'} == $${ex.name}`, 'next;', 11068, nat.uuid);
  return match;
}

function natDefragAndLb(ctx: NorthdContext, sink: FlowSink, rt: RouterDp, info: RtInfo): void {
  const dp = rt.dp;
  sink.add(dp, 'lr_in_defrag', 0, '1', 'next;', 14243);
  sink.add(dp, 'lr_in_unsnat', 0, '1', 'next;', 14244);
  sink.add(dp, 'lr_out_chk_dnat_local', 0, '1', 'reg9[4] = 0; next;', 14245);
  sink.add(dp, 'lr_out_snat', 0, '1', 'next;', 14247);
  sink.add(dp, 'lr_in_dnat', 0, '1', 'next;', 14248);
  sink.add(dp, 'lr_out_undnat', 0, '1', 'next;', 14249);
  sink.add(dp, 'lr_out_post_undnat', 0, '1', 'next;', 14250);
  sink.add(dp, 'lr_out_post_snat', 0, '1', 'next;', 14251);
  sink.add(dp, 'lr_out_egr_loop', 0, '1', 'next;', 14252);
  sink.add(dp, 'lr_in_ecmp_stateful', 0, '1', 'next;', 14253);
  if (info.hasLbVip) {
    sink.add(dp, 'lr_in_dnat', 70, 'ct.rel && !ct.est && !ct.new && ct_mark.skip_snat == 1', 'flags.skip_snat_for_lb = 1; ct_commit_nat;', 14274);
    sink.add(dp, 'lr_in_dnat', 70, 'ct.rel && !ct.est && !ct.new && ct_mark.force_snat == 1', 'flags.force_snat_for_lb = 1; ct_commit_nat;', 14279);
    sink.add(dp, 'lr_in_dnat', 50, 'ct.rel && !ct.est && !ct.new', 'ct_commit_nat;', 14283);
    sink.add(dp, 'lr_in_dnat', 70, 'ct.est && !ct.rel && !ct.new && ct_mark.natted && ct_mark.skip_snat == 1', 'flags.skip_snat_for_lb = 1; next;', 14300);
    sink.add(dp, 'lr_in_dnat', 70, 'ct.est && !ct.rel && !ct.new && ct_mark.natted && ct_mark.force_snat == 1', 'flags.force_snat_for_lb = 1; next;', 14305);
    sink.add(dp, 'lr_in_dnat', 50, 'ct.est && !ct.rel && !ct.new && ct_mark.natted', 'next;', 14309);
  }
  if (rt.isGatewayRouter && (rt.nb.nat.length || info.hasLbVip)) {
    sink.add(dp, 'lr_out_undnat', 100, 'nd || nd_rs || nd_ra', 'next;', 14324);
    sink.add(dp, 'lr_out_undnat', 50, 'ip', 'flags.loopback = 1; ct_dnat;', 14326);
    sink.add(dp, 'lr_out_post_undnat', 50, 'ip && ct.new', 'ct_commit { } ; next; ', 14328);
  }
  sink.add(dp, 'lr_out_snat', 120, 'nd_ns', 'next;', 14335);
  if (!rt.isGatewayRouter && !rt.l3dgwPorts.length) return;
  const natEntriesSeen = new Set<string>();
  for (const nat of info.nats) {
    const c = checkNat(rt, nat);
    if (!c) continue;
    const gw = c.gw;
    const nb = nat.nb;
    const ipv = c.v6 ? '6' : '4';
    unsnatFlow(sink, rt, c);
    dnatFlow(sink, rt, info, c);
    if (!rt.isGatewayRouter && gw) {
      if (!natEntriesSeen.has(nat.externalIp)) {
        sink.add(dp, 'lr_in_arp_resolve', 150, `inport == ${gw.jsonKey} && outport == ${gw.jsonKey} && ip${ipv}.dst == ${nat.externalIp}`, DROP, 14388, nb.uuid);
        sink.add(dp, 'lr_in_arp_resolve', 100, `outport == ${gw.jsonKey} && ${c.v6 ? 'xxreg0' : 'reg0'} == ${nat.externalIp}`, `eth.dst = ${c.distributed ? nat.externalMac : gw.networks.eaS}; next;`, 14407, nb.uuid);
        if (info.redirectBridged && c.distributed) {
          sink.add(dp, 'lr_in_arp_resolve', 90, `outport == ${rt.l3dgwPorts[0]!.jsonKey} && ip${ipv}.src == ${nat.logicalIp} && is_chassis_resident("${nb.logical_port}")`, c.v6 ? 'get_nd(outport, xxreg0); next;' : 'get_arp(outport, reg0); next;', 14429, nb.uuid);
        }
        natEntriesSeen.add(nat.externalIp);
      }
    } else {
      natEntriesSeen.add(nat.externalIp);
    }
    if (rt.l3dgwPorts.length && gw) {
      // build_lrouter_out_is_dnat_local
      sink.add(dp, 'lr_out_chk_dnat_local', 50, `ip && ip${ipv}.dst == ${nat.externalIp} && ${c.distributed ? `is_chassis_resident("${nb.logical_port}")` : `is_chassis_resident(${gw.crJsonKey})`}`, 'reg9[4] = 1; next;', 13858, nb.uuid);
      // build_lrouter_out_undnat_flow
      if (nb.type !== 'snat') {
        let m = `ip && ip${ipv}.src == ${nat.logicalIp} && outport == ${gw.jsonKey}`;
        if (!c.distributed) m += ` && is_chassis_resident(${gw.crJsonKey})`;
        let a = c.distributed ? `eth.src = ${c.mac}; ` : '';
        a += nat.stateless ? 'next;' : rt.isGatewayRouter ? 'ct_dnat;' : 'ct_dnat_in_czone;';
        sink.add(dp, 'lr_out_undnat', 100, m, a, 13828, nb.uuid);
      }
    }
    snatFlow(sink, rt, c);
    ingressFlow(sink, rt, c);
    if (c.distributed && gw) {
      const m = `ip${ipv}.src == ${nat.logicalIp} && outport == ${gw.jsonKey}`;
      const lp = nb.logical_port === undefined ? undefined : ctx.switchPorts.get(nb.logical_port);
      if (lp && lp.nb.type === 'virtual') sink.add(dp, 'lr_in_gw_redirect', 80, m, DROP, 14476, nb.uuid);
      sink.add(dp, 'lr_in_gw_redirect', 100, `${m} && is_chassis_resident("${nb.logical_port}")`, `eth.src = ${nat.externalMac}; ${c.v6 ? 'xxreg1' : 'reg1'} = ${nat.externalIp}; next;`, 14486, nb.uuid);
    }
    if (rt.l3dgwPorts.length && gw) {
      let m = `ip${ipv}.dst == ${nat.externalIp} && outport == ${gw.jsonKey}`;
      m += c.distributed ? ` && is_chassis_resident("${nb.logical_port}")` : ` && is_chassis_resident(${gw.crJsonKey})`;
      const regs = Array.from({ length: 10 }, (_, j) => `reg${j} = 0; `).join('');
      sink.add(dp, 'lr_out_egr_loop', 100, m, `clone { ct_clear; inport = outport; outport = ""; eth.dst <-> eth.src; flags = 0; flags.loopback = 1; flags.use_snat_zone = reg9[4]; ${regs}reg9[0] = 1; next(pipeline=ingress, table=${stageTable('lr_in_admission')}); };`, 14524, nb.uuid);
    }
  }
  if (rt.nb.nat.length) sink.add(dp, 'lr_out_chk_dnat_local', 50, 'ip && ct_mark.natted == 1', 'reg9[4] = 1; next;', 14544, rt.nb.uuid);
  if (rt.isGatewayRouter) {
    if (info.dnatForceSnat?.v4) forceSnatFlows(sink, rt, '4', info.dnatForceSnat.v4, 'dnat');
    if (info.dnatForceSnat?.v6) forceSnatFlows(sink, rt, '6', info.dnatForceSnat.v6, 'dnat');
    if (info.lbForceSnat?.v4) forceSnatFlows(sink, rt, '4', info.lbForceSnat.v4, 'lb');
    if (info.lbForceSnat?.v6) forceSnatFlows(sink, rt, '6', info.lbForceSnat.v6, 'lb');
  }
}

function forceSnatFlows(sink: FlowSink, rt: RouterDp, ipv: string, ip: string, context: string): void {
  sink.add(rt.dp, 'lr_in_unsnat', 110, `ip${ipv} && ip${ipv}.dst == ${ip}`, 'ct_snat;', 11351);
  sink.add(rt.dp, 'lr_out_snat', 100, `flags.force_snat_for_${context} == 1 && ip${ipv}`, `ct_snat(${ip});`, 11361);
}

function unsnatFlow(sink: FlowSink, rt: RouterDp, c: NatCheck): void {
  const nat = c.nat;
  const nb = nat.nb;
  if (nb.type !== 'snat' && nb.type !== 'dnat_and_snat') return;
  const ipv = c.v6 ? '6' : '4';
  if (rt.isGatewayRouter) {
    sink.add(rt.dp, 'lr_in_unsnat', 90, `ip && ip${ipv}.dst == ${nat.externalIp}`, nat.stateless ? 'next;' : 'ct_snat;', 13648, nb.uuid);
    return;
  }
  const gw = c.gw!;
  const res = !c.distributed && rt.l3dgwPorts.length ? ` && is_chassis_resident(${gw.crJsonKey})` : '';
  sink.add(rt.dp, 'lr_in_unsnat', 100, `ip && ip${ipv}.dst == ${nat.externalIp} && inport == ${gw.jsonKey} && flags.loopback == 0${res}`, nat.stateless ? 'next;' : 'ct_snat_in_czone;', 13673, nb.uuid);
  if (!nat.stateless) {
    sink.add(rt.dp, 'lr_in_unsnat', 100, `ip && ip${ipv}.dst == ${nat.externalIp} && inport == ${gw.jsonKey} && flags.loopback == 1 && flags.use_snat_zone == 1${res}`, 'ct_snat;', 13691, nb.uuid);
  }
}

function dnatFlow(sink: FlowSink, rt: RouterDp, info: RtInfo, c: NatCheck): void {
  const nat = c.nat;
  const nb = nat.nb;
  if (nb.type !== 'dnat' && nb.type !== 'dnat_and_snat') return;
  const ipv = c.v6 ? '6' : '4';
  const range = nat.portRange ? `,${nat.portRange}` : '';
  if (rt.isGatewayRouter) {
    let m = `ip && ip${ipv}.dst == ${nat.externalIp}`;
    if (nb.allowed_ext_ips || nb.exempted_ext_ips) m = natExtIpMatch(sink, rt, m, nb, c.v6, true, c.cidrBits);
    let a = info.dnatForceSnat ? 'flags.force_snat_for_dnat = 1; ' : '';
    a += nat.stateless ? `flags.loopback = 1; ip${ipv}.dst=${nat.logicalIp}; next;` : `flags.loopback = 1; ct_dnat(${nat.logicalIp}${range});`;
    sink.add(rt.dp, 'lr_in_dnat', 100, m, a, 13745, nb.uuid);
    return;
  }
  const gw = c.gw!;
  let m = `ip && ip${ipv}.dst == ${nat.externalIp} && inport == ${gw.jsonKey}`;
  if (!c.distributed && rt.l3dgwPorts.length) m += ` && is_chassis_resident(${gw.crJsonKey})`;
  if (nb.allowed_ext_ips || nb.exempted_ext_ips) m = natExtIpMatch(sink, rt, m, nb, c.v6, true, c.cidrBits);
  const a = nb.type === 'dnat_and_snat' && nat.stateless ? `ip${ipv}.dst=${nat.logicalIp}; next;` : `ct_dnat_in_czone(${nat.logicalIp}${range});`;
  sink.add(rt.dp, 'lr_in_dnat', 100, m, a, 13779, nb.uuid);
}

function snatFlow(sink: FlowSink, rt: RouterDp, c: NatCheck): void {
  const nat = c.nat;
  const nb = nat.nb;
  if (nb.type !== 'snat' && nb.type !== 'dnat_and_snat') return;
  const ipv = c.v6 ? '6' : '4';
  const range = nat.portRange ? `,${nat.portRange}` : '';
  if (rt.isGatewayRouter) {
    let m = `ip && ip${ipv}.src == ${nat.logicalIp}`;
    if (nb.allowed_ext_ips || nb.exempted_ext_ips) m = natExtIpMatch(sink, rt, m, nb, c.v6, false, c.cidrBits);
    let a: string;
    if (nb.type === 'dnat_and_snat' && nat.stateless) a = `ip${ipv}.src=${nat.externalIp}; next;`;
    else {
      m += ' && (!ct.trk || !ct.rpl)';
      a = `ct_snat(${nat.externalIp}${range});`;
    }
    sink.add(rt.dp, 'lr_out_snat', c.cidrBits + 1, m, a, 13906, nb.uuid);
    return;
  }
  const gw = c.gw!;
  let prio = c.cidrBits + 1;
  let m = `ip && ip${ipv}.src == ${nat.logicalIp} && outport == ${gw.jsonKey}`;
  if (rt.l3dgwPorts.length) {
    prio += 128;
    m += c.distributed ? ` && is_chassis_resident("${nb.logical_port}")` : ` && is_chassis_resident(${gw.crJsonKey})`;
  }
  if (nb.allowed_ext_ips || nb.exempted_ext_ips) m = natExtIpMatch(sink, rt, m, nb, c.v6, false, c.cidrBits);
  const ethSrc = c.distributed ? `eth.src = ${c.mac}; ` : '';
  const a = ethSrc + (nat.stateless ? `ip${ipv}.src=${nat.externalIp}; next;` : `ct_snat_in_czone(${nat.externalIp}${range});`);
  sink.add(rt.dp, 'lr_out_snat', prio, m, a, 13958, nb.uuid);
  if (!nat.stateless) {
    sink.add(rt.dp, 'lr_out_snat', prio + 1, `${m} && reg9[4] == 1`, `${ethSrc}reg9[4] = 0; ct_snat(${nat.externalIp}${range});`, 13975, nb.uuid);
  }
}

/** `build_lrouter_ingress_flow`. */
function ingressFlow(sink: FlowSink, rt: RouterDp, c: NatCheck): void {
  const nat = c.nat;
  const nb = nat.nb;
  const gw = c.gw;
  if (rt.l3dgwPorts.length && nb.type === 'snat' && gw) {
    sink.add(rt.dp, 'lr_in_ip_input', 120, `inport == ${gw.jsonKey} && ${c.v6 ? 'ip6.src' : 'ip4.src'} == ${nat.externalIp}`, 'next;', 14067, nb.uuid);
  }
  if (c.distributed && gw) {
    const mtu = gwMtu(gw);
    gatewayMtuFlow(sink, gw, 'lr_in_admission', 50, 55, `eth.dst == ${c.mac} && inport == ${gw.jsonKey} && is_chassis_resident("${nb.logical_port}")`, `${INPORT_ETH} = ${gw.networks.eaS}; next;`, nb.uuid);
    if (mtu) {
      const base = `inport == ${gw.jsonKey} && reg9[1] && reg9[0] == 0`;
      if (!c.v6) {
        sink.add(rt.dp, 'lr_in_ip_input', 160, `${base} && ip4 && ip4.dst == ${nat.externalIp}`, `icmp4_error {reg9[0] = 1; reg9[1] = 0; eth.dst = eth.src; eth.src = ${nat.externalMac}; ip4.dst = ip4.src; ip4.src = ${nat.externalIp}; ip.ttl = 254; icmp4.type = 3; /* Destination Unreachable. */ icmp4.code = 4; /* Frag Needed and DF was Set. */ icmp4.frag_mtu = ${mtu}; outport = ${gw.jsonKey}; flags.loopback = 1; output; };`, 14015, nb.uuid);
      } else {
        sink.add(rt.dp, 'lr_in_ip_input', 160, `${base} && ip6 && ip6.dst == ${nat.externalIp}`, `icmp6_error {reg9[0] = 1; reg9[1] = 0; eth.dst = eth.src; eth.src = ${nat.externalMac}; ip6.dst = ip6.src; ip6.src = ${nat.externalIp}; ip.ttl = 254; icmp6.type = 2; /* Packet Too Big. */ icmp6.code = 0; icmp6.frag_mtu = ${mtu}; outport = ${gw.jsonKey}; flags.loopback = 1; output; };`, 14042, nb.uuid);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Per port.

/** Per-router-port flows (`build_lswitch_and_lrouter_iterate_by_op`, router half, for a router port). */
export function buildRouterPortFlows(ctx: NorthdContext, sink: FlowSink, op: RouterPort): void {
  const info = routerInfo(op.rt);
  admission(sink, op);
  neighLookupPort(sink, op);
  // build_ip_routing_flows_for_lrouter_port (router port)
  for (const a of op.networks.ipv4) addRoute(sink, op.rt, op, a.addrS, a.networkS, a.plen, undefined, false, 0, op.nb.uuid, false, PRIO_CONNECTED);
  for (const a of op.networks.ipv6) addRoute(sink, op.rt, op, a.addrS, a.networkS, a.plen, undefined, false, 0, op.nb.uuid, false, PRIO_CONNECTED);
  ndRa(sink, op);
  arpResolveRouterPort(sink, op, info);
  // build_egress_delivery_flows_for_lrouter_port
  if (op.enabled) {
    if (info.relay) sink.add(op.rt.dp, 'lr_out_delivery', 110, `(ip4.mcast || ip6.mcast) && outport == ${op.jsonKey}`, `eth.src = ${op.networks.eaS}; output;`, 12989);
    sink.add(op.rt.dp, 'lr_out_delivery', 100, `outport == ${op.jsonKey}`, 'output;', 12995);
    sink.add(op.rt.dp, 'lr_out_delivery', 0, '1', DROP, 12998);
  }
  // build_dhcpv6_reply_flows_for_lrouter_port
  for (const a of op.networks.ipv6) {
    sink.add(op.rt.dp, 'lr_in_ip_input', 100, `ip6.dst == ${a.addrS} && udp.src == 547 && udp.dst == 546`, 'reg0 = 0; handle_dhcpv6_reply;', 13098);
  }
  ipv6Input(sink, op);
  ipv4Input(sink, op, info);
  forceSnatOp(sink, op, info);
}

/** Per-switch-port router flows (`..._iterate_by_op`, router half, for a switch port). */
export function buildRouterFlowsForSwitchPort(ctx: NorthdContext, sink: FlowSink, op: SwitchPort): void {
  // build_ip_routing_flows_for_lrouter_port (switch port of type router)
  if (op.nb.type === 'router') {
    const peer = op.peer;
    if (peer && peer.networks.ipv4.length) {
      for (const rsp of op.sw.routerPorts) {
        const rp = rsp.peer;
        if (!rp || rp === peer) continue;
        for (const la of routables(ctx, rp)) {
          for (const a of la.ipv4) addRoute(sink, peer.rt, peer, peer.networks.ipv4[0]!.addrS, a.networkS, a.plen, undefined, false, 0, peer.nb.uuid, false, PRIO_CONNECTED);
        }
      }
    }
  }
  arpResolveSwitchPort(ctx, sink, op);
}

function admission(sink: FlowSink, op: RouterPort): void {
  if (!op.enabled) return;
  const ea = op.networks.eaS;
  gatewayMtuFlow(sink, op, 'lr_in_admission', 50, 55, `eth.mcast && inport == ${op.jsonKey}`, `${INPORT_ETH} = ${ea}; next;`, op.nb.uuid);
  let m = `eth.dst == ${ea} && inport == ${op.jsonKey}`;
  if (op.crJsonKey && !hasVtepPeer(op)) m += ` && is_chassis_resident(${op.crJsonKey})`;
  gatewayMtuFlow(sink, op, 'lr_in_admission', 50, 55, m, `${INPORT_ETH} = ${ea}; next;`, op.nb.uuid);
}

function neighLookupPort(sink: FlowSink, op: RouterPort): void {
  const learn = optBool(op.rt.nb.options, 'always_learn_from_arp_request', true);
  const res = op.crJsonKey ? ` && is_chassis_resident(${op.crJsonKey})` : '';
  for (const a of op.networks.ipv4) {
    if (!learn) {
      sink.add(op.rt.dp, 'lr_in_lookup_neighbor', 110, `inport == ${op.jsonKey} && arp.spa == ${a.networkS}/${a.plen} && arp.tpa == ${a.addrS} && arp.op == 1${res}`, 'reg9[2] = lookup_arp(inport, arp.spa, arp.sha); reg9[3] = 1; next;', 11806, op.nb.uuid);
    }
    sink.add(op.rt.dp, 'lr_in_lookup_neighbor', 100, `inport == ${op.jsonKey} && arp.spa == ${a.networkS}/${a.plen} && arp.op == 1${res}`, `reg9[2] = lookup_arp(inport, arp.spa, arp.sha); ${learn ? '' : 'reg9[3] = lookup_arp_ip(inport, arp.spa); '}next;`, 11827, op.nb.uuid);
  }
}

/** `build_ND_RA_flows_for_lrouter_port`. */
function ndRa(sink: FlowSink, op: RouterPort): void {
  if (op.nb.peer !== undefined || !op.peer || !('sw' in op.peer)) return;
  if (!op.networks.ipv6.length) return;
  const cfg = op.nb.ipv6_ra_configs;
  const mode = cfg.get('address_mode');
  if (mode === undefined || (mode !== 'slaac' && mode !== 'dhcpv6_stateful' && mode !== 'dhcpv6_stateless')) return;
  const mtuS = cfg.get('mtu');
  const mtuN = mtuS === undefined ? 0 : parseInt(mtuS, 10) || 0;
  const mtu = mtuN >= 1280 ? mtuN : 0;
  let a = `reg0[5] = put_nd_ra_opts(addr_mode = "${mode}", slla = ${op.networks.eaS}`;
  if (mtu > 0) a += `, mtu = ${mtu}`;
  const prf = cfg.get('router_preference') ?? 'MEDIUM';
  if (prf !== 'MEDIUM') a += `, router_preference = "${prf}"`;
  const rdnss = cfg.get('rdnss');
  if (rdnss !== undefined) a += `, rdnss = ${rdnss}`;
  const dnssl = cfg.get('dnssl');
  if (dnssl !== undefined) a += `, dnssl = "${dnssl}"`;
  const ri = cfg.get('route_info');
  if (ri !== undefined) a += `, route_info = "${ri}"`;
  let any = false;
  for (const n of op.networks.ipv6) {
    if (isLla6(n.network)) continue;
    a += `, prefix = ${n.networkS}/${n.plen}`;
    any = true;
  }
  if (!any) return;
  a += '); next;';
  sink.add(op.rt.dp, 'lr_in_nd_ra_options', 50, `inport == ${op.jsonKey} && ip6.dst == ff02::2 && nd_rs`, a, 11922, op.nb.uuid);
  const lla = formatIpv6(linkLocal(op.networks.ea));
  sink.add(op.rt.dp, 'lr_in_nd_ra_response', 50, `inport == ${op.jsonKey} && ip6.dst == ff02::2 && nd_ra && reg0[5]`, `eth.dst = eth.src; eth.src = ${op.networks.eaS}; ip6.dst = ip6.src; ip6.src = ${lla}; outport = inport; flags.loopback = 1; output;`, 11943, op.nb.uuid);
}

/** `build_lrouter_drop_own_dest`. */
function dropOwnDest(sink: FlowSink, op: RouterPort, info: RtInfo, st: 'lr_in_ip_input' | 'lr_in_arp_resolve', prio: number, dropSnatIp: boolean): void {
  const v4 = op.networks.ipv4.filter((a) => dropSnatIp === (info.snatIps.has(a.addrS) || info.lbIps.v4.has(a.addrS))).map((a) => a.addrS);
  if (v4.length) sink.add(op.rt.dp, st, prio, `ip4.dst == {${v4.join(', ')}}`, DROP, 11304, op.nb.uuid);
  const v6 = op.networks.ipv6.filter((a) => dropSnatIp === (info.snatIps.has(a.addrS) || info.lbIps.v6.has(a.addrS))).map((a) => a.addrS);
  if (v6.length) sink.add(op.rt.dp, st, prio, `ip6.dst == {${v6.join(', ')}}`, DROP, 11333, op.nb.uuid);
}

function arpResolveRouterPort(sink: FlowSink, op: RouterPort, info: RtInfo): void {
  const peer = op.peer;
  if (peer && op.nb.peer !== undefined && !('sw' in peer)) {
    const prt = peer as RouterPort;
    if (op.networks.ipv4.length) {
      sink.add(prt.rt.dp, 'lr_in_arp_resolve', 100, `outport == ${prt.jsonKey} && reg0 == ${v4Networks(op, false)}`, `eth.dst = ${op.networks.eaS}; next;`, 12330, op.nb.uuid);
    }
    if (op.networks.ipv6.length) {
      sink.add(prt.rt.dp, 'lr_in_arp_resolve', 100, `outport == ${prt.jsonKey} && xxreg0 == ${v6Networks(op)}`, `eth.dst = ${op.networks.eaS}; next;`, 12346, op.nb.uuid);
    }
  }
  if (op.crJsonKey && (op.nb.options.get('redirect-type') ?? '').toLowerCase() === 'bridged') {
    sink.add(op.rt.dp, 'lr_in_arp_resolve', 50, `outport == ${op.jsonKey} && !is_chassis_resident(${op.crJsonKey})`, `eth.dst = ${op.networks.eaS}; next;`, 12371, op.nb.uuid);
  }
  dropOwnDest(sink, op, info, 'lr_in_arp_resolve', 2, true);
}

function arpResolveSwitchPort(ctx: NorthdContext, sink: FlowSink, op: SwitchPort): void {
  if (!op.enabled) return;
  const sw = op.sw;
  if (!sw.routerPorts.length) return;
  const type = op.nb.type;
  if (type !== 'router' && type !== 'virtual') {
    for (const la of op.lspAddrs) {
      for (const a of la.ipv4) {
        for (const rsp of sw.routerPorts) {
          const peer = rsp.peer;
          if (!peer || findLrpMemberIp(peer, a.addrS) === undefined) continue;
          sink.add(peer.rt.dp, 'lr_in_arp_resolve', 100, `outport == ${peer.jsonKey} && reg0 == ${a.addrS}`, `eth.dst = ${la.eaS}; next;`, 12419, op.nb.uuid);
        }
      }
      for (const a of la.ipv6) {
        for (const rsp of sw.routerPorts) {
          const peer = rsp.peer;
          if (!peer || findLrpMemberIp(peer, a.addrS) === undefined) continue;
          sink.add(peer.rt.dp, 'lr_in_arp_resolve', 100, `outport == ${peer.jsonKey} && xxreg0 == ${a.addrS}`, `eth.dst = ${la.eaS}; next;`, 12450, op.nb.uuid);
        }
      }
    }
  } else if (type === 'virtual') {
    const vip = op.nb.options.get('virtual-ip');
    const parents = op.nb.options.get('virtual-parents');
    if (vip === undefined || parents === undefined) return;
    const v4 = vip.includes('.');
    if (v4 ? parseIp4Text(vip) === undefined : parseIp6Text(vip) === undefined) return;
    // The virtual port is not claimed (no virtual_parent in the southbound database).
    for (const rsp of sw.routerPorts) {
      const peer = rsp.peer;
      if (!peer || findLrpMemberIp(peer, vip) === undefined) continue;
      sink.add(peer.rt.dp, 'lr_in_arp_resolve', 100, `outport == ${peer.jsonKey} && ${v4 ? 'reg0' : 'xxreg0'} == ${vip}`, 'eth.dst = 00:00:00:00:00:00; next;', 12508, op.nb.uuid);
      break;
    }
  } else {
    const peer = op.peer;
    if (!peer) return;
    if (optBool(peer.rt.nb.options, 'dynamic_neigh_routers', false)) return;
    for (const rsp of sw.routerPorts) {
      const name = rsp.nb.options.get('router-port');
      const rp = name === undefined ? undefined : ctx.routerPorts.get(name);
      if (!rp || rp === peer) continue;
      if (rp.networks.ipv4.length) {
        sink.add(peer.rt.dp, 'lr_in_arp_resolve', 100, `outport == ${peer.jsonKey} && reg0 == ${v4Networks(rp, false)}`, `eth.dst = ${rp.networks.eaS}; next;`, 12604, op.nb.uuid);
      }
      if (rp.networks.ipv6.length) {
        sink.add(peer.rt.dp, 'lr_in_arp_resolve', 100, `outport == ${peer.jsonKey} && xxreg0 == ${v6Networks(rp)}`, `eth.dst = ${rp.networks.eaS}; next;`, 12620, op.nb.uuid);
      }
      if (peer.rt.isGatewayRouter || peer.crName) {
        for (const la of routables(ctx, rp)) {
          sink.add(peer.rt.dp, 'lr_in_arp_resolve', 100, `outport == ${peer.jsonKey} && reg0 == {${la.ipv4.map((a) => a.addrS).join(', ')}}`, `eth.dst = ${la.eaS}; next;`, 12286);
        }
      }
    }
  }
}

function ipv6Input(sink: FlowSink, op: RouterPort): void {
  const rt = op.rt;
  const hint = op.nb.uuid;
  if (op.networks.ipv6.length) {
    sink.add(rt.dp, 'lr_in_ip_input', 90, `ip6.dst == ${v6Networks(op)} && icmp6.type == 128 && icmp6.code == 0`, 'ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 129; flags.loopback = 1; next; ', 13129, hint);
  }
  const res = op.crJsonKey ? `is_chassis_resident(${op.crJsonKey})` : '';
  for (const a of op.networks.ipv6) ndFlow(sink, rt, op, 'nd_na_router', a.addrS, a.snAddrS, INPORT_ETH, res, false, 90, hint);
  if (!rt.isGatewayRouter && !rt.l3dgwPorts.length) {
    for (const a of op.networks.ipv6) {
      const m = `ip6 && ip6.dst == ${a.addrS} && !ip.later_frag`;
      sink.add(rt.dp, 'lr_in_ip_input', 80, `${m} && tcp`, 'tcp_reset {eth.dst <-> eth.src; ip6.dst <-> ip6.src; next; };', 13166, hint);
      sink.add(rt.dp, 'lr_in_ip_input', 80, `${m} && sctp`, 'sctp_abort {eth.dst <-> eth.src; ip6.dst <-> ip6.src; next; };', 13182, hint);
      sink.add(rt.dp, 'lr_in_ip_input', 80, `${m} && udp`, 'icmp6 {eth.dst <-> eth.src; ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 1; icmp6.code = 4; next; };', 13201, hint);
      sink.add(rt.dp, 'lr_in_ip_input', 70, m, 'icmp6 {eth.dst <-> eth.src; ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 1; icmp6.code = 3; next; };', 13220, hint);
    }
  }
  for (const a of op.networks.ipv6) {
    if (isLla6(a.network)) continue;
    const ip = op.crName ? 'ip6.dst <-> ip6.src' : `ip6.dst = ip6.src; ip6.src = ${a.addrS}`;
    sink.add(rt.dp, 'lr_in_ip_input', 31, `inport == ${op.jsonKey} && ip6 && ip6.src == ${a.networkS}/${a.plen} && ip.ttl == {0, 1} && !ip.later_frag`, `icmp6 {eth.dst <-> eth.src; ${ip} ; ip.ttl = 254; icmp6.type = 3; /* Time exceeded */ icmp6.code = 0; /* TTL exceeded in transit */ outport = ${op.jsonKey}; flags.loopback = 1; output; };`, 13262, hint);
  }
}

function ipv4Input(sink: FlowSink, op: RouterPort, info: RtInfo): void {
  const rt = op.rt;
  const hint = op.nb.uuid;
  const nets = op.networks;
  if (nets.ipv4.length) {
    sink.add(rt.dp, 'lr_in_ip_input', 100, `ip4.src == ${v4Networks(op, true)} && reg9[0] == 0`, DROP, 13340, hint);
    sink.add(rt.dp, 'lr_in_ip_input', 90, `ip4.dst == ${v4Networks(op, false)} && icmp4.type == 8 && icmp4.code == 0`, 'ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 0; flags.loopback = 1; next; ', 13359, hint);
  }
  for (const a of nets.ipv4) {
    const ip = op.crName ? 'ip4.dst <-> ip4.src' : `ip4.dst = ip4.src; ip4.src = ${a.addrS}`;
    sink.add(rt.dp, 'lr_in_ip_input', 31, `inport == ${op.jsonKey} && ip4 && ip.ttl == {0, 1} && !ip.later_frag`, `icmp4 {eth.dst <-> eth.src; icmp4.type = 11; /* Time exceeded */ icmp4.code = 0; /* TTL exceeded in transit */ ${ip} ; ip.ttl = 254; outport = ${op.jsonKey}; flags.loopback = 1; output; };`, 13390, hint);
  }
  for (const a of nets.ipv4) {
    let extra = `arp.spa == ${a.networkS}/${a.plen}`;
    const peer = op.peer;
    if (rt.l3dgwPorts.length && peer && 'sw' in peer && peer.sw.localnetPorts.length) {
      let add: boolean;
      let key: string;
      if (op.crJsonKey) {
        add = true;
        key = op.crJsonKey;
      } else {
        add = optBool(op.nb.options, 'reside-on-redirect-chassis', false) && rt.l3dgwPorts.length === 1;
        key = rt.l3dgwPorts[0]!.crJsonKey!;
      }
      if (add) extra += ` && is_chassis_resident(${key})`;
    }
    arpFlow(sink, rt, op, a.addrS, INPORT_ETH, extra, false, 90, hint);
  }
  const res = op.crJsonKey ? `is_chassis_resident(${op.crJsonKey})` : '';
  if (info.lbIps.v4Reachable.size) arpFlow(sink, rt, op, `$_rtr_lb_${rt.dp.key}_ip4`, INPORT_ETH, res, false, 90);
  if (info.lbIps.v6Reachable.size) ndFlow(sink, rt, op, 'nd_na', `$_rtr_lb_${rt.dp.key}_ip6`, undefined, INPORT_ETH, res, false, 90);
  if (!rt.isGatewayRouter && !rt.l3dgwPorts.length) {
    for (const a of nets.ipv4) {
      const m = `ip4 && ip4.dst == ${a.addrS} && !ip.later_frag`;
      sink.add(rt.dp, 'lr_in_ip_input', 80, `${m} && udp`, 'icmp4 {eth.dst <-> eth.src; ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 3; icmp4.code = 3; next; };', 13494, hint);
      sink.add(rt.dp, 'lr_in_ip_input', 80, `${m} && tcp`, 'tcp_reset {eth.dst <-> eth.src; ip4.dst <-> ip4.src; next; };', 13510, hint);
      sink.add(rt.dp, 'lr_in_ip_input', 80, `${m} && sctp`, 'sctp_abort {eth.dst <-> eth.src; ip4.dst <-> ip4.src; next; };', 13526, hint);
      sink.add(rt.dp, 'lr_in_ip_input', 70, m, 'icmp4 {eth.dst <-> eth.src; ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 3; icmp4.code = 2; next; };', 13545, hint);
    }
  }
  if (!info.lbForceSnatRouterIp) dropOwnDest(sink, op, info, 'lr_in_ip_input', 60, false);
  if (!op.crName) return;
  for (const nat of info.nats) {
    if (!nat.valid || nat.nb.type === 'snat') continue;
    portNatArpNd(sink, op, nat);
  }
  for (const entries of info.snatIps.values()) {
    if (entries.length) portNatArpNd(sink, op, entries[0]!);
  }
}

/** `build_lrouter_port_nat_arp_nd_flow`. */
function portNatArpNd(sink: FlowSink, op: RouterPort, nat: RtNat): void {
  if (!isNatGatewayPort(nat.nb, op)) return;
  let mac = INPORT_ETH;
  let extra: string;
  if (nat.externalMac !== undefined && nat.nb.logical_port !== undefined) {
    mac = nat.externalMac;
    extra = `is_chassis_resident("${nat.nb.logical_port}")`;
  } else {
    extra = `is_chassis_resident(${op.crJsonKey})`;
  }
  if (nat.v6) {
    ndFlow(sink, op.rt, op, 'nd_na', nat.extAddrS, nat.extSnAddrS, mac, extra, false, 92, nat.nb.uuid);
    ndFlow(sink, op.rt, op, 'nd_na', nat.extAddrS, nat.extSnAddrS, mac, '', true, 91, nat.nb.uuid);
  } else {
    arpFlow(sink, op.rt, op, nat.extAddrS, mac, extra, false, 92, nat.nb.uuid);
    arpFlow(sink, op.rt, op, nat.extAddrS, mac, '', true, 91, nat.nb.uuid);
  }
}

/** `build_lrouter_force_snat_flows_op`. */
function forceSnatOp(sink: FlowSink, op: RouterPort, info: RtInfo): void {
  if (!op.peer || !info.lbForceSnatRouterIp) return;
  const dp = op.rt.dp;
  if (op.networks.ipv4.length) {
    const ip = op.networks.ipv4[0]!.addrS;
    sink.add(dp, 'lr_in_unsnat', 110, `inport == ${op.jsonKey} && ip4.dst == ${ip}`, 'ct_snat;', 11383);
    sink.add(dp, 'lr_out_snat', 110, `flags.force_snat_for_lb == 1 && ip4 && outport == ${op.jsonKey}`, `ct_snat(${ip});`, 11395);
  }
  if (op.networks.ipv6.length > 1) {
    const ip = op.networks.ipv6[0]!.addrS;
    sink.add(dp, 'lr_in_unsnat', 110, `inport == ${op.jsonKey} && ip6.dst == ${ip}`, 'ct_snat;', 11415);
    sink.add(dp, 'lr_out_snat', 110, `flags.force_snat_for_lb == 1 && ip6 && outport == ${op.jsonKey}`, `ct_snat(${ip});`, 11427);
  }
}

// ---------------------------------------------------------------------------------------------
// Per load balancer.

/** Router load balancer flows of one load balancer on the routers it applies to (`build_lrouter_defrag_flows_for_lb`, `build_lrouter_flows_for_lb`). */
export function buildRouterLbFlowsFor(sink: FlowSink, lb: NorthdLb, routers: readonly RouterDp[]): void {
  if (!routers.length) return;
  const hint = lb.nb.uuid;
  for (const vip of lb.vips) {
    for (const rt of routers) sink.add(rt.dp, 'lr_in_defrag', 100, `ip && ip${vip.v6 ? '6' : '4'}.dst == ${vip.vipS}`, 'ct_dnat;', 10857, hint);
  }
  for (const vip of lb.vips) {
    natFlowsForLb(sink, lb, vip, routers);
    // build_empty_lb_event_flow: controller events are off unless options:event / controller_event.
  }
  if (lb.skipSnat) for (const rt of routers) sink.add(rt.dp, 'lr_out_snat', 120, 'flags.skip_snat_for_lb == 1 && ip', 'next;', 10903);
}

function natFlowsForLb(sink: FlowSink, lb: NorthdLb, vip: NorthdLbVip, routers: readonly RouterDp[]): void {
  const hint = lb.nb.uuid;
  const ipm = vip.v6 ? 'ip6' : 'ip4';
  const acts = lbVipActions(vip, lb.selectionFields, '', false, stageTable('lr_out_snat'));
  const newAction = [acts.action, acts.skipSnat, acts.forceSnat];
  let prio = 110;
  let newMatch = `ct.new && !ct.rel && ${ipm} && ${ipm}.dst == ${vip.vipS}`;
  if (vip.portS) {
    prio = 120;
    newMatch += ` && ${lb.proto} && ${lb.proto}.dst == ${vip.portS}`;
  }
  let undnat = `${ipm} && (`;
  undnat += vip.backends.map((b) => `(${ipm}.src == ${b.ipS}${b.port ? ` && ${lb.proto}.src == ${b.port})` : ')'}`).join(' || ');
  let unsnat = `${ipm} && ${ipm}.dst == ${vip.vipS} && ${lb.proto}`;
  if (vip.portS) unsnat += ` && ${lb.proto}.dst == ${vip.portS}`;
  const affForce: RouterDp[] = [];
  const aff: RouterDp[] = [];
  for (const rt of routers) {
    const info = routerInfo(rt);
    const force = info.lbForceSnat !== undefined || info.lbForceSnatRouterIp;
    const type = lb.skipSnat ? 1 : force ? 2 : 0;
    if (!rt.l3dgwPorts.length) {
      sink.add(rt.dp, 'lr_in_dnat', prio, newMatch, newAction[type]!, 10603, hint);
    } else {
      const gw = rt.l3dgwPorts[0]!;
      const undnatAction = type === 2 ? 'flags.force_snat_for_lb = 1; next;' : type === 1 ? 'flags.skip_snat_for_lb = 1; next;' : rt.isGatewayRouter ? 'ct_dnat;' : 'ct_dnat_in_czone;';
      const m = vip.backends.length || !vip.emptyBackendRej ? `${newMatch} && is_chassis_resident(${gw.crJsonKey})` : newMatch;
      sink.add(rt.dp, 'lr_in_dnat', prio, m, newAction[type]!, 10551, hint);
      if (vip.backends.length) {
        sink.add(rt.dp, 'lr_out_undnat', 120, `${undnat}) && outport == ${gw.jsonKey} && is_chassis_resident(${gw.crJsonKey})`, undnatAction, 10565, hint);
      }
    }
    if (lb.affinityTimeout) (force ? affForce : aff).push(rt);
    if (info.externalIps.has(vip.vipS)) sink.add(rt.dp, 'lr_in_unsnat', 120, unsnat, 'next;', 10748, hint);
  }
  lbAffinityFlows(sink, lb, vip, newMatch, 'flags.force_snat_for_lb = 1; ', affForce);
  lbAffinityFlows(sink, lb, vip, newMatch, lb.skipSnat ? 'flags.skip_snat_for_lb = 1; ' : undefined, aff);
}

/** `build_lb_affinity_lr_flows`. */
function lbAffinityFlows(sink: FlowSink, lb: NorthdLb, vip: NorthdLbVip, newMatch: string, lbAction: string | undefined, routers: RouterDp[]): void {
  if (!lb.affinityTimeout || !routers.length) return;
  const hint = lb.nb.uuid;
  const v6 = vip.v6;
  const ipm = v6 ? 'ip6' : 'ip4';
  const regVip = v6 ? 'xxreg0' : 'reg0';
  const regBackend = v6 ? 'xxreg1' : 'reg4';
  const ctFlag = lbAction === 'flags.skip_snat_for_lb = 1; ' ? '; skip_snat' : lbAction === 'flags.force_snat_for_lb = 1; ' ? '; force_snat' : '';
  let check = `${regVip} = ${ipm}.dst; `;
  if (vip.portS) check += `reg9[16..31] = ${lb.proto}.dst; `;
  check += 'reg9[6] = chk_lb_aff(); next;';
  for (const rt of routers) sink.add(rt.dp, 'lr_in_lb_aff_check', 100, newMatch, check, 7200, hint);
  const actBase = `${regVip} = ${vip.vipS}; ${lbAction ?? ''}ct_lb_mark(backends=`;
  const learnBase = `commit_lb_aff(vip = "${vip.portS ? (v6 ? `[${vip.vipS}]:${vip.portS}` : `${vip.vipS}:${vip.portS}`) : vip.vipS}", backend = "`;
  const learnMatchBase = vip.portS
    ? `reg9[6] == 0 && ct.new && ${ipm} && ${regVip} == ${vip.vipS} && reg9[16..31] == ${vip.portS} && ${ipm}.dst == `
    : `reg9[6] == 0 && ct.new && ${ipm} && ${regVip} == ${vip.vipS} && ${ipm}.dst == `;
  const matchBase = `reg9[6] == 1 && ct.new && ${ipm} && ${regBackend} == `;
  for (const b of vip.backends) {
    let learnM = learnMatchBase + b.ipS;
    let m = matchBase + b.ipS;
    let act = actBase;
    let learn = learnBase;
    if (b.port) {
      const bs = v6 ? `[${b.ipS}]:${b.port}` : `${b.ipS}:${b.port}`;
      act += bs;
      learn += bs;
      learnM += ` && ${lb.proto}.dst == ${b.port}`;
      m += ` && reg8[0..15] == ${b.port}`;
    } else {
      act += b.ipS;
      learn += b.ipS;
    }
    act += `${ctFlag});`;
    learn += '"';
    if (vip.portS) learn += `, proto = ${lb.proto}`;
    learn += `, timeout = ${lb.affinityTimeout}); /* drop */`;
    for (const rt of routers) {
      sink.add(rt.dp, 'lr_in_lb_aff_learn', 100, learnM, learn, 7281, hint);
      sink.add(rt.dp, 'lr_in_dnat', 150, m, act, 7287, hint);
    }
  }
}

/** All router load balancer flows, load balancer by load balancer (in NB order). */
export function buildRouterLbFlows(ctx: NorthdContext, sink: FlowSink): void {
  const byLb = routerLbRouters(ctx);
  for (const nb of ctx.db.loadBalancers) {
    const rts = byLb.get(nb.uuid);
    if (rts) buildRouterLbFlowsFor(sink, northdLb(nb), rts);
  }
}

/** The routers each load balancer applies to (by load balancer uuid), in router order. */
export function routerLbRouters(ctx: NorthdContext): Map<string, RouterDp[]> {
  const byLb = new Map<string, RouterDp[]>();
  for (const rt of ctx.routers) {
    for (const lb of rt.lbs) {
      let l = byLb.get(lb.uuid);
      if (!l) byLb.set(lb.uuid, (l = []));
      l.push(rt);
    }
  }
  return byLb;
}
