/**
 * Logical router flows (ovn-northd 23.03), the part implemented so far: admission, neighbor
 * lookup and learning, IP input (router-owned addresses: ARP/ND replies, echo replies, TCP
 * reset / ICMP unreachable for other traffic to the router, drops of martians, broadcast and
 * multicast, TTL exceeded), default flows of the NAT/LB/ND-RA stages, routing (connected
 * networks and static routes by longest prefix: priority = plen * 3 + 2 for connected, + 1 for
 * static, + 0 for src-ip routes; ECMP groups with select()), policies (allow/drop/reroute, ECMP
 * reroute), next-hop resolution from known switch port addresses, ARP/ND requests for unknown
 * next hops, and egress delivery. Gateway routers, distributed gateway ports, NAT and router
 * load balancers are covered only by their default flows (see docs/ovn-northd.md).
 */
import type { NorthdContext, RouterDp, RouterPort, SwitchPort } from './context.js';
import { mask6, solicitedNode, normalizeIp, parseCidr, parseIp4Text, parseIp6Text, type LportAddresses } from './addrs.js';
import { formatIpv4, formatIpv6 } from '@ovnts/packet';
import type { FlowSink } from './types.js';
import { northdLb } from './lb.js';
import { natEntries } from './nat.js';

const PRIO_CONNECTED = 2;
const PRIO_STATIC = 1;

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

/** Per-router flows. */
export function buildRouterDpFlows(ctx: NorthdContext, sink: FlowSink, rt: RouterDp): void {
  const dp = rt.dp;
  sink.add(dp, 'lr_in_admission', 100, 'vlan.present || eth.src[40]', 'drop;');
  sink.add(dp, 'lr_in_admission', 0, '1', 'drop;');
  // Neighbor learning.
  const learn = (rt.nb.options.get('always_learn_from_arp_request') ?? '').toLowerCase() !== 'false';
  const ipRes = learn ? '' : 'reg9[3] = 1; ';
  sink.add(dp, 'lr_in_lookup_neighbor', 100, 'arp.op == 2', `reg9[2] = lookup_arp(inport, arp.spa, arp.sha); ${ipRes}next;`);
  sink.add(dp, 'lr_in_lookup_neighbor', 100, 'nd_na', `reg9[2] = lookup_nd(inport, nd.target, nd.tll); ${ipRes}next;`);
  if (!learn) {
    sink.add(dp, 'lr_in_lookup_neighbor', 110, 'nd_na && ip6.src == fe80::/10 && ip6.dst == ff00::/8', 'reg9[2] = lookup_nd(inport, ip6.src, nd.tll); reg9[3] = lookup_nd_ip(inport, ip6.src); next;');
  }
  sink.add(dp, 'lr_in_lookup_neighbor', 100, 'nd_ns', `reg9[2] = lookup_nd(inport, ip6.src, nd.sll); ${learn ? '' : 'reg9[3] = lookup_nd_ip(inport, ip6.src); '}next;`);
  sink.add(dp, 'lr_in_lookup_neighbor', 0, '1', 'reg9[2] = 1; next;');
  sink.add(dp, 'lr_in_learn_neighbor', 100, `reg9[2] == 1${learn ? '' : ' || reg9[3] == 0'}`, 'next;');
  sink.add(dp, 'lr_in_learn_neighbor', 90, 'arp', 'put_arp(inport, arp.spa, arp.sha); next;');
  sink.add(dp, 'lr_in_learn_neighbor', 95, 'nd_ns && (ip6.src == 0 || nd.sll == 0)', 'next;');
  sink.add(dp, 'lr_in_learn_neighbor', 95, 'nd_na && nd.tll == 0', 'put_nd(inport, nd.target, eth.src); next;');
  sink.add(dp, 'lr_in_learn_neighbor', 90, 'nd_na', 'put_nd(inport, nd.target, nd.tll); next;');
  sink.add(dp, 'lr_in_learn_neighbor', 90, 'nd_ns', 'put_nd(inport, ip6.src, nd.sll); next;');
  sink.add(dp, 'lr_in_learn_neighbor', 0, '1', 'drop;');
  // ND RA, routing pre.
  sink.add(dp, 'lr_in_nd_ra_options', 0, '1', 'next;');
  sink.add(dp, 'lr_in_nd_ra_response', 0, '1', 'next;');
  sink.add(dp, 'lr_in_ip_routing_pre', 0, '1', 'reg7 = 0; next;');
  // IP input, datapath-wide.
  sink.add(dp, 'lr_in_ip_input', 100, 'ip4.src_mcast ||ip4.src == 255.255.255.255 || ip4.src == 127.0.0.0/8 || ip4.dst == 127.0.0.0/8 || ip4.src == 0.0.0.0/8 || ip4.dst == 0.0.0.0/8', 'drop;');
  sink.add(dp, 'lr_in_ip_input', 85, 'arp || nd', 'drop;');
  sink.add(dp, 'lr_in_ip_input', 84, 'nd_rs || nd_ra', 'next;');
  sink.add(dp, 'lr_in_ip_input', 83, 'ip6.mcast_rsvd', 'drop;');
  sink.add(dp, 'lr_in_ip_input', 82, 'ip4.mcast || ip6.mcast', rt.nb.config.mcastRelay ? 'next;' : 'drop;');
  sink.add(dp, 'lr_in_ip_input', 50, 'eth.bcast', 'drop;');
  sink.add(dp, 'lr_in_ip_input', 32, 'ip.ttl == {0, 1} && !ip.later_frag && (ip4.mcast || ip6.mcast)', 'drop;');
  sink.add(dp, 'lr_in_ip_input', 30, 'ip.ttl == {0, 1}', 'drop;');
  sink.add(dp, 'lr_in_ip_input', 0, '1', 'next;');
  // Routing.
  sink.add(dp, 'lr_in_ip_routing', 10550, 'nd_rs || nd_ra', 'drop;');
  sink.add(dp, 'lr_in_ip_routing_ecmp', 0, '1', 'drop;');
  sink.add(dp, 'lr_in_ip_routing', 0, '1', 'drop;');
  sink.add(dp, 'lr_in_ip_routing_ecmp', 150, 'reg8[0..15] == 0', 'next;');
  staticRoutes(sink, rt);
  policies(sink, rt);
  // NAT / LB defaults.
  sink.add(dp, 'lr_in_unsnat', 0, '1', 'next;');
  sink.add(dp, 'lr_in_defrag', 0, '1', 'next;');
  sink.add(dp, 'lr_in_dnat', 0, '1', 'next;');
  sink.add(dp, 'lr_in_ecmp_stateful', 0, '1', 'next;');
  sink.add(dp, 'lr_in_lb_aff_check', 0, '1', 'next;');
  sink.add(dp, 'lr_in_lb_aff_learn', 0, '1', 'next;');
  sink.add(dp, 'lr_out_chk_dnat_local', 0, '1', 'reg9[4] = 0; next;');
  sink.add(dp, 'lr_out_undnat', 0, '1', 'next;');
  sink.add(dp, 'lr_out_post_undnat', 0, '1', 'next;');
  sink.add(dp, 'lr_out_snat', 0, '1', 'next;');
  sink.add(dp, 'lr_out_snat', 120, 'nd_ns', 'next;');
  sink.add(dp, 'lr_out_post_snat', 0, '1', 'next;');
  sink.add(dp, 'lr_out_egr_loop', 0, '1', 'next;');
  // ARP resolve, packet length, gateway redirect, ARP request, delivery.
  sink.add(dp, 'lr_in_arp_resolve', 500, 'ip4.mcast || ip6.mcast', 'next;');
  sink.add(dp, 'lr_in_arp_resolve', 1, 'ip4', 'get_arp(outport, reg0); next;');
  sink.add(dp, 'lr_in_arp_resolve', 1, 'ip6', 'get_nd(outport, xxreg0); next;');
  sink.add(dp, 'lr_in_arp_resolve', 0, '1', 'drop;');
  sink.add(dp, 'lr_in_chk_pkt_len', 0, '1', 'next;');
  sink.add(dp, 'lr_in_larger_pkts', 0, '1', 'next;');
  sink.add(dp, 'lr_in_gw_redirect', 0, '1', 'next;');
  sink.add(dp, 'lr_in_arp_request', 100, 'eth.dst == 00:00:00:00:00:00 && ip4', 'arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.spa = reg1; arp.tpa = reg0; arp.op = 1; output; };');
  sink.add(dp, 'lr_in_arp_request', 100, 'eth.dst == 00:00:00:00:00:00 && ip6', 'nd_ns { nd.target = xxreg0; output; };');
  sink.add(dp, 'lr_in_arp_request', 0, '1', 'output;');
  for (const r of rt.nb.static_routes) {
    if (typeof r.nexthop === 'string' || r.nexthop.family !== 6) continue;
    const nh = r.nexthop.addr;
    const sn = solicitedNode(nh);
    const lo = Number(nh & 0xffffffn);
    const mac = `33:33:ff:${[16, 8, 0].map((s) => ((lo >> s) & 0xff).toString(16).padStart(2, '0')).join(':')}`;
    const nhS = formatIpv6(nh);
    sink.add(dp, 'lr_in_arp_request', 200, `eth.dst == 00:00:00:00:00:00 && ip6 && xxreg0 == ${nhS}`, `nd_ns { eth.dst = ${mac}; ip6.dst = ${formatIpv6(sn)}; nd.target = ${nhS}; output; };`, r.uuid);
  }
  sink.add(dp, 'lr_out_delivery', 0, '1', 'drop;');
  // Router load balancer VIPs: ARP replies through an address set named after the datapath key.
  const v4 = new Set<string>();
  for (const nb of rt.lbs) for (const ip of northdLb(nb).ipsV4) v4.add(ip);
  if (v4.size) {
    for (const p of rt.ports) {
      if (!p.enabled) continue;
      sink.add(dp, 'lr_in_ip_input', 90, `inport == ${p.jsonKey} && arp.op == 1 && arp.tpa == $_rtr_lb_${dp.key}_ip4`, 'eth.dst = eth.src; eth.src = xreg0[0..47]; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = xreg0[0..47]; arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;');
    }
  }
  routerLbFlowsCommon(sink, rt);
  gatewayRouterNat(sink, rt);
}

function routerLbFlowsCommon(sink: FlowSink, rt: RouterDp): void {
  if (!rt.lbs.some((lb) => lb.vips.size > 0) && !rt.nb.nat.length) return;
  const dp = rt.dp;
  sink.add(dp, 'lr_in_dnat', 50, 'ct.est && !ct.rel && !ct.new && ct_mark.natted', 'next;');
  sink.add(dp, 'lr_in_dnat', 50, 'ct.rel && !ct.est && !ct.new', 'ct_commit_nat;');
  sink.add(dp, 'lr_in_dnat', 70, 'ct.est && !ct.rel && !ct.new && ct_mark.natted && ct_mark.force_snat == 1', 'flags.force_snat_for_lb = 1; next;');
  sink.add(dp, 'lr_in_dnat', 70, 'ct.est && !ct.rel && !ct.new && ct_mark.natted && ct_mark.skip_snat == 1', 'flags.skip_snat_for_lb = 1; next;');
  sink.add(dp, 'lr_in_dnat', 70, 'ct.rel && !ct.est && !ct.new && ct_mark.force_snat == 1', 'flags.force_snat_for_lb = 1; ct_commit_nat;');
  sink.add(dp, 'lr_in_dnat', 70, 'ct.rel && !ct.est && !ct.new && ct_mark.skip_snat == 1', 'flags.skip_snat_for_lb = 1; ct_commit_nat;');
}

/** Router load balancer flows (distributed routers without NAT: defrag and dnat). */
export function buildRouterLbFlows(_ctx: NorthdContext, sink: FlowSink, rt: RouterDp): void {
  if (rt.l3dgwPorts.length) return;
  const dp = rt.dp;
  for (const nb of rt.lbs) {
    const lb = northdLb(nb);
    for (const vip of lb.vips) {
      const ipm = vip.v6 ? 'ip6' : 'ip4';
      sink.add(dp, 'lr_in_defrag', 100, `ip && ${ipm}.dst == ${vip.vipS}`, 'ct_dnat;', nb.uuid);
      let m = `ct.new && !ct.rel && ${ipm} && ${ipm}.dst == ${vip.vipS}`;
      let prio = 110;
      if (vip.portS) {
        m += ` && ${lb.proto} && ${lb.proto}.dst == ${vip.portS}`;
        prio = 120;
      }
      if (vip.backends.length === 0) continue;
      let a = `ct_lb_mark(backends=${vip.backendIps}`;
      if (lb.selectionFields) a += `; hash_fields="${lb.selectionFields}"`;
      sink.add(dp, 'lr_in_dnat', prio, m, `${a});`, nb.uuid);
    }
  }
}

/** Per-router-port flows. */
export function buildRouterPortFlows(ctx: NorthdContext, sink: FlowSink, p: RouterPort): void {
  const dp = p.rt.dp;
  const hint = p.nb.uuid;
  const nets = p.networks;
  // Admission.
  if (p.enabled) {
    sink.add(dp, 'lr_in_admission', 50, `eth.mcast && inport == ${p.jsonKey}`, `xreg0[0..47] = ${nets.eaS}; next;`, hint);
    const res = p.crJsonKey ? ` && is_chassis_resident(${p.crJsonKey})` : '';
    sink.add(dp, 'lr_in_admission', 50, `eth.dst == ${nets.eaS} && inport == ${p.jsonKey}${res}`, `xreg0[0..47] = ${nets.eaS}; next;`, hint);
  }
  // Neighbor lookup.
  const learn = (p.rt.nb.options.get('always_learn_from_arp_request') ?? '').toLowerCase() !== 'false';
  const res = p.crJsonKey ? ` && is_chassis_resident(${p.crJsonKey})` : '';
  for (const a of nets.ipv4) {
    if (!learn) {
      sink.add(dp, 'lr_in_lookup_neighbor', 110, `inport == ${p.jsonKey} && arp.spa == ${a.networkS}/${a.plen} && arp.tpa == ${a.addrS} && arp.op == 1${res}`, 'reg9[2] = lookup_arp(inport, arp.spa, arp.sha); reg9[3] = 1; next;', hint);
    }
    sink.add(dp, 'lr_in_lookup_neighbor', 100, `inport == ${p.jsonKey} && arp.spa == ${a.networkS}/${a.plen} && arp.op == 1${res}`, `reg9[2] = lookup_arp(inport, arp.spa, arp.sha); ${learn ? '' : 'reg9[3] = lookup_arp_ip(inport, arp.spa); '}next;`, hint);
  }
  // Connected routes.
  for (const a of nets.ipv4) addRoute(sink, p, a.addrS, a.networkS, a.plen, undefined, false, PRIO_CONNECTED, hint);
  for (const a of nets.ipv6) addRoute(sink, p, a.addrS, a.networkS, a.plen, undefined, false, PRIO_CONNECTED, hint);
  // DHCPv6 replies, IP input.
  for (const a of nets.ipv6) {
    sink.add(dp, 'lr_in_ip_input', 100, `ip6.dst == ${a.addrS} && udp.src == 547 && udp.dst == 546`, 'reg0 = 0; handle_dhcpv6_reply;', hint);
  }
  if (p.enabled) ipInput(sink, p);
  // ARP resolve for addresses on the peer switch.
  if (p.peer && 'sw' in p.peer) arpResolveFromSwitch(sink, p, p.peer);
  // Egress delivery.
  if (p.enabled) sink.add(dp, 'lr_out_delivery', 100, `outport == ${p.jsonKey}`, 'output;', hint);
  void ctx;
}

function ipInput(sink: FlowSink, p: RouterPort): void {
  const dp = p.rt.dp;
  const hint = p.nb.uuid;
  const nets = p.networks;
  const arpReply = 'eth.dst = eth.src; eth.src = xreg0[0..47]; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = xreg0[0..47]; arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;';
  if (nets.ipv4.length) {
    sink.add(dp, 'lr_in_ip_input', 100, `ip4.src == ${v4Networks(p, true)} && reg9[0] == 0`, 'drop;', hint);
    sink.add(dp, 'lr_in_ip_input', 90, `ip4.dst == ${v4Networks(p, false)} && icmp4.type == 8 && icmp4.code == 0`, 'ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 0; flags.loopback = 1; next; ', hint);
    for (const a of nets.ipv4) {
      sink.add(dp, 'lr_in_ip_input', 90, `inport == ${p.jsonKey} && arp.op == 1 && arp.tpa == ${a.addrS} && arp.spa == ${a.networkS}/${a.plen}`, arpReply, hint);
      sink.add(dp, 'lr_in_ip_input', 31, `inport == ${p.jsonKey} && ip4 && ip.ttl == {0, 1} && !ip.later_frag`, `icmp4 {eth.dst <-> eth.src; icmp4.type = 11; /* Time exceeded */ icmp4.code = 0; /* TTL exceeded in transit */ ip4.dst = ip4.src; ip4.src = ${a.addrS} ; ip.ttl = 254; outport = ${p.jsonKey}; flags.loopback = 1; output; };`, hint);
    }
    if (!p.rt.isGatewayRouter && !p.rt.l3dgwPorts.length) {
      for (const a of nets.ipv4) {
        const m = `ip4 && ip4.dst == ${a.addrS} && !ip.later_frag`;
        sink.add(dp, 'lr_in_ip_input', 80, `${m} && sctp`, 'sctp_abort {eth.dst <-> eth.src; ip4.dst <-> ip4.src; next; };', hint);
        sink.add(dp, 'lr_in_ip_input', 80, `${m} && tcp`, 'tcp_reset {eth.dst <-> eth.src; ip4.dst <-> ip4.src; next; };', hint);
        sink.add(dp, 'lr_in_ip_input', 80, `${m} && udp`, 'icmp4 {eth.dst <-> eth.src; ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 3; icmp4.code = 3; next; };', hint);
        sink.add(dp, 'lr_in_ip_input', 70, m, 'icmp4 {eth.dst <-> eth.src; ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 3; icmp4.code = 2; next; };', hint);
      }
    }
    const snat = snatIps(p.rt);
    const own = nets.ipv4.filter((a) => !snat.has(a.addrS)).map((a) => a.addrS);
    if (own.length) sink.add(dp, 'lr_in_ip_input', 60, `ip4.dst == {${own.join(', ')}}`, 'drop;', hint);
    const own2 = nets.ipv4.filter((a) => snat.has(a.addrS)).map((a) => a.addrS);
    if (own2.length) sink.add(dp, 'lr_in_arp_resolve', 2, `ip4.dst == {${own2.join(', ')}}`, 'drop;', hint);
  }
  if (nets.ipv6.length) {
    sink.add(dp, 'lr_in_ip_input', 90, `ip6.dst == ${v6Networks(p)} && icmp6.type == 128 && icmp6.code == 0`, 'ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 129; flags.loopback = 1; next; ', hint);
    for (const a of nets.ipv6) {
      sink.add(dp, 'lr_in_ip_input', 90, `inport == ${p.jsonKey} && ip6.dst == {${a.addrS}, ${a.snAddrS}} && nd_ns && nd.target == ${a.addrS}`, 'nd_na_router { eth.src = xreg0[0..47]; ip6.src = nd.target; nd.tll = xreg0[0..47]; outport = inport; flags.loopback = 1; output; };', hint);
      if (!p.rt.isGatewayRouter && !p.rt.l3dgwPorts.length) {
        const m = `ip6 && ip6.dst == ${a.addrS} && !ip.later_frag`;
        sink.add(dp, 'lr_in_ip_input', 80, `${m} && sctp`, 'sctp_abort {eth.dst <-> eth.src; ip6.dst <-> ip6.src; next; };', hint);
        sink.add(dp, 'lr_in_ip_input', 80, `${m} && tcp`, 'tcp_reset {eth.dst <-> eth.src; ip6.dst <-> ip6.src; next; };', hint);
        sink.add(dp, 'lr_in_ip_input', 80, `${m} && udp`, 'icmp6 {eth.dst <-> eth.src; ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 1; icmp6.code = 4; next; };', hint);
        sink.add(dp, 'lr_in_ip_input', 70, m, 'icmp6 {eth.dst <-> eth.src; ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 1; icmp6.code = 3; next; };', hint);
      }
    }
    sink.add(dp, 'lr_in_ip_input', 60, `ip6.dst == {${nets.ipv6.map((a) => a.addrS).join(', ')}}`, 'drop;', hint);
    for (const a of nets.ipv6) {
      if (isLla(a.addr)) continue;
      sink.add(dp, 'lr_in_ip_input', 31, `inport == ${p.jsonKey} && ip6 && ip6.src == ${a.networkS}/${a.plen} && ip.ttl == {0, 1} && !ip.later_frag`, `icmp6 {eth.dst <-> eth.src; ip6.dst = ip6.src; ip6.src = ${a.addrS} ; ip.ttl = 254; icmp6.type = 3; /* Time exceeded */ icmp6.code = 0; /* TTL exceeded in transit */ outport = ${p.jsonKey}; flags.loopback = 1; output; };`, hint);
    }
  }
}

/** External IPs of a router's SNAT and dnat_and_snat entries. */
function snatIps(rt: RouterDp): Set<string> {
  return new Set(natEntries(rt).filter((n) => n.nb.type !== 'dnat').map((n) => n.externalIp));
}

/** NAT flows of a gateway router (options:chassis): unsnat, dnat, undnat, snat. */
function gatewayRouterNat(sink: FlowSink, rt: RouterDp): void {
  if (!rt.isGatewayRouter) return;
  const dp = rt.dp;
  const nats = natEntries(rt);
  const hasLb = rt.lbs.some((lb) => lb.vips.size > 0);
  const arpReply = 'eth.dst = eth.src; eth.src = xreg0[0..47]; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = xreg0[0..47]; arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;';
  for (const n of nats) {
    if (!n.v6) sink.add(dp, 'lr_in_ip_input', 90, `arp.op == 1 && arp.tpa == ${n.externalIp}`, arpReply, n.nb.uuid);
  }
  if (!nats.length && !hasLb) return;
  sink.add(dp, 'lr_out_chk_dnat_local', 50, 'ip && ct_mark.natted == 1', 'reg9[4] = 1; next;');
  sink.add(dp, 'lr_out_undnat', 50, 'ip', 'flags.loopback = 1; ct_dnat;');
  sink.add(dp, 'lr_out_undnat', 100, 'nd || nd_rs || nd_ra', 'next;');
  sink.add(dp, 'lr_out_post_undnat', 50, 'ip && ct.new', 'ct_commit { } ; next; ');
  for (const n of nats) {
    const ipm = n.v6 ? 'ip6' : 'ip4';
    const plen = n.nb.logical_ip.plen;
    if (n.nb.type !== 'dnat') {
      sink.add(dp, 'lr_in_unsnat', 90, `ip && ${ipm}.dst == ${n.externalIp}`, 'ct_snat;', n.nb.uuid);
      sink.add(dp, 'lr_out_snat', plen + 1, `ip && ${ipm}.src == ${n.logicalIp} && (!ct.trk || !ct.rpl)`, `ct_snat(${n.externalIp});`, n.nb.uuid);
    }
    if (n.nb.type !== 'snat') {
      sink.add(dp, 'lr_in_dnat', 100, `ip && ${ipm}.dst == ${n.externalIp}`, `flags.loopback = 1; ct_dnat(${n.logicalIp});`, n.nb.uuid);
    }
  }
}

function isLla(a: bigint): boolean {
  return a >> 118n === 0x3fan; // fe80::/10
}

function arpResolveFromSwitch(sink: FlowSink, rp: RouterPort, swPort: SwitchPort): void {
  const dp = rp.rt.dp;
  for (const p of swPort.sw.ports) {
    if (p === swPort) continue;
    if (p.nb.type === 'router') {
      const peer = p.peer;
      if (!peer || peer.rt === rp.rt || !peer.enabled) continue;
      resolveAddrs(sink, rp, [peer.networks], true, p.nb.uuid);
      continue;
    }
    if (!p.enabled && false) continue;
    resolveAddrs(sink, rp, p.lspAddrs, false, p.nb.uuid);
  }
}

function resolveAddrs(sink: FlowSink, rp: RouterPort, addrs: LportAddresses[], skipLla: boolean, hint: string): void {
  const dp = rp.rt.dp;
  for (const la of addrs) {
    for (const a of la.ipv4) {
      if (!rp.networks.ipv4.some((n) => ((a.addr & n.mask) >>> 0) === n.network)) continue;
      sink.add(dp, 'lr_in_arp_resolve', 100, `outport == ${rp.jsonKey} && reg0 == ${a.addrS}`, `eth.dst = ${la.eaS}; next;`, hint);
    }
    for (const a of la.ipv6) {
      if (skipLla && isLla(a.addr)) continue;
      if (!rp.networks.ipv6.some((n) => (a.addr & mask6(n.plen)) === n.network)) continue;
      sink.add(dp, 'lr_in_arp_resolve', 100, `outport == ${rp.jsonKey} && xxreg0 == ${a.addrS}`, `eth.dst = ${la.eaS}; next;`, hint);
    }
  }
}

function addRoute(sink: FlowSink, op: RouterPort | undefined, lrpAddr: string, networkS: string, plen: number, gateway: string | undefined, src: boolean, ofs: number, hint: string, rtbId = 0, discard = false, dpOverride?: RouterDp): void {
  const v4 = networkS.includes('.');
  let inport: RouterPort | undefined;
  if (!v4 && op && isLla(parseIp6Text(networkS)!)) inport = op;
  const dir = src ? 'src' : 'dst';
  const o = src ? 0 : ofs;
  const prio = plen * 3 + o;
  let m = inport ? `inport == ${inport.jsonKey} && ` : '';
  if (rtbId || o === PRIO_STATIC) m += `reg7 == ${rtbId} && `;
  m += `ip${v4 ? '4' : '6'}.${dir} == ${networkS}/${plen}`;
  let a: string;
  if (discard || !op) a = 'drop;';
  else {
    a = `ip.ttl--; reg8[0..15] = 0; ${v4 ? 'reg0' : 'xxreg0'} = ${gateway ? gateway : `ip${v4 ? '4' : '6'}.dst`}; ${v4 ? 'reg1' : 'xxreg1'} = ${lrpAddr}; eth.src = ${op.networks.eaS}; outport = ${op.jsonKey}; flags.loopback = 1; next;`;
  }
  sink.add((dpOverride ?? op!.rt).dp, 'lr_in_ip_routing', prio, m, a, hint);
}

function findMemberIp(p: RouterPort, ip: string): string | undefined {
  const v4 = parseIp4Text(ip);
  if (v4 !== undefined) return p.networks.ipv4.find((n) => ((v4 & n.mask) >>> 0) === n.network)?.addrS;
  const v6 = parseIp6Text(ip);
  if (v6 !== undefined) return p.networks.ipv6.find((n) => (v6 & mask6(n.plen)) === n.network)?.addrS;
  return undefined;
}

interface ParsedRoute {
  nb: RouterDp['nb']['static_routes'][number];
  v4: boolean;
  networkS: string;
  plen: number;
  src: boolean;
  discard: boolean;
  ofs: number;
  outPort?: RouterPort;
  lrpAddr?: string;
}

function routeOutport(rt: RouterDp, r: ParsedRoute): boolean {
  const nh = r.nb.nexthop === 'discard' ? '' : r.nb.nexthop.text;
  if (r.nb.output_port !== undefined) {
    const op = rt.ports.find((p) => p.name === r.nb.output_port);
    if (!op) return false;
    let addr = nh ? findMemberIp(op, nh) : undefined;
    if (!addr) addr = r.v4 ? op.networks.ipv4[0]?.addrS : op.networks.ipv6[0]?.addrS;
    if (!addr) return false;
    r.outPort = op;
    r.lrpAddr = addr;
    return true;
  }
  for (const op of rt.ports) {
    const addr = nh ? findMemberIp(op, nh) : undefined;
    if (addr) {
      r.outPort = op;
      r.lrpAddr = addr;
      return true;
    }
  }
  return false;
}

function staticRoutes(sink: FlowSink, rt: RouterDp): void {
  const parsed: ParsedRoute[] = [];
  for (const nb of rt.nb.static_routes) {
    if (nb.route_table !== '') continue; // route tables: not yet
    const pre = nb.ip_prefix;
    const v4 = pre.family === 4;
    const networkS = v4 ? formatIpv4((pre.addr as number) & (pre.plen === 0 ? 0 : (0xffffffff << (32 - pre.plen)) >>> 0) >>> 0) : formatIpv6((pre.addr as bigint) & mask6(pre.plen));
    const discard = nb.nexthop === 'discard';
    const r: ParsedRoute = {
      nb, v4, networkS, plen: pre.plen, src: nb.policy === 'src-ip', discard,
      ofs: nb.options.get('origin') === 'connected' ? PRIO_CONNECTED : PRIO_STATIC,
    };
    if (typeof nb.nexthop !== 'string' && (nb.nexthop.family === 4) !== v4) continue;
    if (!discard && !routeOutport(rt, r)) continue;
    parsed.push(r);
  }
  // ECMP grouping: same prefix, plen, direction (and route table).
  const groups = new Map<string, ParsedRoute[]>();
  const order: string[] = [];
  for (const r of parsed) {
    const k = `${r.networkS}/${r.plen}/${r.src}`;
    const g = groups.get(k);
    if (g) g.push(r);
    else {
      groups.set(k, [r]);
      order.push(k);
    }
  }
  let gid = 0;
  for (const k of order) {
    const g = groups.get(k)!;
    if (g.length === 1 || g.some((r) => r.discard)) {
      for (const r of g) addRoute(sink, r.outPort, r.lrpAddr ?? '', r.networkS, r.plen, r.discard ? undefined : (r.nb.nexthop as { text: string }).text, r.src, r.ofs, r.nb.uuid, 0, r.discard, rt);
      continue;
    }
    gid++;
    const r0 = g[0]!;
    const dir = r0.src ? 'src' : 'dst';
    const o = r0.src ? 0 : r0.ofs;
    let m = o === PRIO_STATIC ? 'reg7 == 0 && ' : '';
    m += `ip${r0.v4 ? '4' : '6'}.${dir} == ${r0.networkS}/${r0.plen}`;
    sink.add(rt.dp, 'lr_in_ip_routing', r0.plen * 3 + o, m, `ip.ttl--; flags.loopback = 1; reg8[0..15] = ${gid}; reg8[16..31] = select(${g.map((_, i) => i + 1).join(', ')});`);
    g.forEach((r, i) => {
      const op = r.outPort!;
      sink.add(rt.dp, 'lr_in_ip_routing_ecmp', 100, `reg8[0..15] == ${gid} && reg8[16..31] == ${i + 1}`, `${r.v4 ? 'reg0' : 'xxreg0'} = ${(r.nb.nexthop as { text: string }).text}; ${r.v4 ? 'reg1' : 'xxreg1'} = ${r.lrpAddr}; eth.src = ${op.networks.eaS}; outport = ${op.jsonKey}; next;`, r.nb.uuid);
    });
  }
}

function policies(sink: FlowSink, rt: RouterDp): void {
  const dp = rt.dp;
  sink.add(dp, 'lr_in_policy', 0, '1', 'reg8[0..15] = 0; next;');
  sink.add(dp, 'lr_in_policy_ecmp', 150, 'reg8[0..15] == 0', 'next;');
  sink.add(dp, 'lr_in_policy_ecmp', 0, '1', 'drop;');
  let gid = 1;
  const outFor = (nh: string) => rt.ports.find((p) => findMemberIp(p, nh) !== undefined);
  for (const rule of rt.nb.policies) {
    const mark = rule.pktMark ? `pkt.mark = ${rule.pktMark}; ` : '';
    if (rule.action === 'reroute' && rule.nexthops.length > 1) {
      const nhs = rule.nexthops.map((n) => n.text);
      const outs = nhs.map(outFor);
      if (outs.some((o) => !o)) continue;
      sink.add(dp, 'lr_in_policy', rule.priority, rule.match, `${mark}reg8[0..15] = ${gid}; reg8[16..31] = select(${nhs.map((_, i) => i + 1).join(', ')});`, rule.uuid);
      nhs.forEach((nh, i) => {
        const op = outs[i]!;
        const v4 = nh.includes('.');
        sink.add(dp, 'lr_in_policy_ecmp', 100, `reg8[0..15] == ${gid} && reg8[16..31] == ${i + 1}`, `${v4 ? 'reg0' : 'xxreg0'} = ${nh}; ${v4 ? 'reg1' : 'xxreg1'} = ${findMemberIp(op, nh)}; eth.src = ${op.networks.eaS}; outport = ${op.jsonKey}; flags.loopback = 1; next;`, rule.uuid);
      });
      gid++;
      continue;
    }
    let a: string;
    if (rule.action === 'reroute') {
      const nh = rule.nexthops[0]?.text ?? rule.nexthop?.text;
      if (nh === undefined) continue;
      const op = outFor(nh);
      if (!op) continue;
      const v4 = nh.includes('.');
      a = `${mark}${v4 ? 'reg0' : 'xxreg0'} = ${nh}; ${v4 ? 'reg1' : 'xxreg1'} = ${findMemberIp(op, nh)}; eth.src = ${op.networks.eaS}; outport = ${op.jsonKey}; flags.loopback = 1; reg8[0..15] = 0; next;`;
    } else if (rule.action === 'drop') {
      a = 'drop;';
    } else {
      a = `${mark}reg8[0..15] = 0; next;`;
    }
    sink.add(dp, 'lr_in_policy', rule.priority, rule.match, a, rule.uuid);
  }
}

void normalizeIp;
void parseCidr;
void natEntries;
