/**
 * Logical switch flows outside the ACL/LB stages (ovn-northd 23.03): admission and port
 * security (`ls_in_check_port_sec`/`ls_in_apply_port_sec`, done per packet by
 * check_in_port_sec()/check_out_port_sec() in 23.03, so only disabled and vtep ports get flows
 * here), FDB learning for ports with `unknown` addresses, the ARP/ND responder, DHCPv4/DHCPv6 and
 * DNS responders, external-port drops, destination lookup (unicast by MAC, router-owned IPs,
 * broadcast and multicast, unknown MACs), and the egress port security stages.
 */
import type { NorthdContext, RouterPort, SwitchDp, SwitchPort } from './context.js';
import { hasDnsRecords, macLla } from './switch-acl.js';
import { formatIpv4, formatMac } from '@ovnts/packet';
import { mask4, parseIp4Text, parseIp6Text, mask6, type LportAddresses, parseCidr } from './addrs.js';
import { stageTable } from './stages.js';
import type { FlowSink } from './types.js';
import { natEntries } from './nat.js';
import { routerLbIps } from './router-lb.js';
import { ssetOrder } from './ovs-hash.js';

const MC_FLOOD = '_MC_flood';
const MC_FLOOD_L2 = '_MC_flood_l2';
const MC_UNKNOWN = '_MC_unknown';
const MC_MROUTER_FLOOD = '_MC_mrouter_flood';
const MC_STATIC = '_MC_static';

function isVlanTransparent(sw: SwitchDp): boolean {
  return (sw.nb.other_config.get('vlan-passthru') ?? '').toLowerCase() === 'true';
}

/** Per-datapath switch flows (`build_lswitch_and_lrouter_iterate_by_od`, switch half). */
export function buildSwitchDpFlows(ctx: NorthdContext, sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  // Admission control.
  if (!isVlanTransparent(sw)) sink.add(dp, 'ls_in_check_port_sec', 100, 'vlan.present', 'drop;', 8424);
  sink.add(dp, 'ls_in_check_port_sec', 100, 'eth.src[40]', 'drop;', 8429);
  sink.add(dp, 'ls_in_check_port_sec', 50, '1', 'reg0[15] = check_in_port_sec(); next;', 8432);
  sink.add(dp, 'ls_in_apply_port_sec', 50, 'reg0[15] == 1', 'drop;', 8435);
  sink.add(dp, 'ls_in_apply_port_sec', 0, '1', 'next;', 8438);
  // FDB defaults.
  sink.add(dp, 'ls_in_lookup_fdb', 0, '1', 'next;', 5757);
  sink.add(dp, 'ls_in_put_fdb', 0, '1', 'next;', 5758);
  sink.add(dp, 'ls_in_arp_rsp', 0, '1', 'next;', 8727);
  // DNS.
  if (hasDnsRecords(sw)) {
    sink.add(dp, 'ls_in_dns_lookup', 100, 'udp.dst == 53', 'reg0[4] = dns_lookup(); next;', 8880);
    const m = 'udp.dst == 53 && reg0[4]';
    sink.add(dp, 'ls_in_dns_response', 100, m, 'eth.dst <-> eth.src; ip4.src <-> ip4.dst; udp.dst = udp.src; udp.src = 53; outport = inport; flags.loopback = 1; output;', 8889);
    sink.add(dp, 'ls_in_dns_response', 100, m, 'eth.dst <-> eth.src; ip6.src <-> ip6.dst; udp.dst = udp.src; udp.src = 53; outport = inport; flags.loopback = 1; output;', 8894);
  }
  for (const [st, where] of [['ls_in_dhcp_options', 8863], ['ls_in_dhcp_response', 8864], ['ls_in_dns_lookup', 8865], ['ls_in_dns_response', 8866], ['ls_in_external_port', 8867]] as const) {
    sink.add(dp, st, 0, '1', 'next;', where);
  }
  // Destination lookup: broadcast and multicast.
  sink.add(dp, 'ls_in_l2_lkup', 110, 'eth.dst == $svc_monitor_mac && (tcp || icmp || icmp6)', 'handle_svc_check(inport);', 8926);
  if (sw.nb.config.mcastSnoop) {
    sink.add(dp, 'ls_in_l2_lkup', 100, 'igmp', 'igmp;', 8938);
    sink.add(dp, 'ls_in_l2_lkup', 100, 'mldv1 || mldv2', 'igmp;', 8944);
    sink.add(dp, 'ls_in_l2_lkup', 85, 'ip4.mcast && ip4.dst == 224.0.0.0/24', `outport = "${MC_FLOOD_L2}"; output;`, 8952);
    sink.add(dp, 'ls_in_l2_lkup', 85, 'ip6.mcast_flood', `outport = "${MC_FLOOD}"; output;`, 8959);
    if (!sw.nb.config.mcastFloodUnregistered) {
      const floodRelay = sw.routerPorts.some((p) => p.peer?.rt.nb.config.mcastRelay);
      const floodStatic = sw.ports.some((p) => (p.nb.options.get('mcast_flood') ?? '').toLowerCase() === 'true');
      let a = '';
      if (floodRelay) a += `clone { outport = "${MC_MROUTER_FLOOD}"; output; }; `;
      if (floodStatic) a += `outport ="${MC_STATIC}"; output;`;
      if (!floodRelay && !floodStatic) a += 'drop;';
      sink.add(dp, 'ls_in_l2_lkup', 80, 'ip4.mcast || ip6.mcast', a, 8991);
    }
  }
  sink.add(dp, 'ls_in_l2_lkup', 70, 'eth.mcast', `outport = "${MC_FLOOD}"; output;`, 8997);
  // Egress port security.
  sink.add(dp, 'ls_out_check_port_sec', 100, 'eth.mcast', 'reg0[15] = 0; next;', 5770);
  sink.add(dp, 'ls_out_check_port_sec', 0, '1', 'reg0[15] = check_out_port_sec(); next;', 5772);
  sink.add(dp, 'ls_out_apply_port_sec', 50, 'reg0[15] == 1', 'drop;', 5775);
  sink.add(dp, 'ls_out_apply_port_sec', 0, '1', 'output;', 5777);
  // LB affinity defaults.
  sink.add(dp, 'ls_in_lb_aff_check', 0, '1', 'next;', 7486);
  sink.add(dp, 'ls_in_lb_aff_learn', 0, '1', 'next;', 7487);
  // Unknown destinations (`build_lswitch_flows`).
  sink.add(dp, 'ls_in_l2_lkup', 0, '1', 'outport = get_fdb(eth.dst); next;', 8373);
  sink.add(dp, 'ls_in_l2_unknown', 50, 'outport == "none"', sw.hasUnknown ? `outport = "${MC_UNKNOWN}"; output;` : 'drop;', sw.hasUnknown ? 8377 : 8381);
  sink.add(dp, 'ls_in_l2_unknown', 0, '1', 'output;', 8384);
}

/** Per-port switch flows (`build_lswitch_and_lrouter_iterate_by_op`, switch half). */
export function buildSwitchPortFlows(ctx: NorthdContext, sink: FlowSink, p: SwitchPort): void {
  portSecurity(sink, p);
  learnFdb(sink, p);
  if (p.nb.type === 'localnet') sink.add(p.sw.dp, 'ls_in_arp_rsp', 100, `inport == ${p.jsonKey}`, 'next;', 8453, p.nb.uuid, p.name);
  arpNdResponder(ctx, sink, p);
  dhcp(sink, p);
  externalPort(sink, p);
  unicastLookup(ctx, sink, p);
}

function portSecurity(sink: FlowSink, p: SwitchPort): void {
  if (p.nb.type === 'external') return;
  const dp = p.sw.dp;
  if (!p.enabled) {
    sink.add(dp, 'ls_in_check_port_sec', 100, `inport == ${p.jsonKey}`, 'reg0[15] = 1; next;', 5673, p.nb.uuid, p.name);
    sink.add(dp, 'ls_in_l2_unknown', 50, `outport == ${p.jsonKey}`, 'drop;', 5680, p.nb.uuid, p.name);
    return;
  }
  if (p.nb.type === 'vtep') {
    sink.add(dp, 'ls_in_check_port_sec', 70, `inport == ${p.jsonKey}`, `reg0[14] = 1; next(pipeline=ingress, table=${stageTable('ls_in_hairpin')});`, 5695, p.nb.uuid, p.name);
  }
}

function learnFdb(sink: FlowSink, p: SwitchPort): void {
  const canLearn = p.nb.type === '' || (p.nb.type === 'localnet' && (p.nb.options.get('localnet_learn_fdb') ?? '').toLowerCase() === 'true');
  if (p.psAddrs.length || !p.hasUnknown || !canLearn) return;
  const m = `inport == ${p.jsonKey}`;
  sink.add(p.sw.dp, 'ls_in_lookup_fdb', 100, m, 'reg0[11] = lookup_fdb(inport, eth.src); next;', 5736, p.nb.uuid, p.name);
  sink.add(p.sw.dp, 'ls_in_put_fdb', 100, `${m} && reg0[11] == 0`, 'put_fdb(inport, eth.src); next;', 5744, p.nb.uuid, p.name);
}

function arpNdResponder(ctx: NorthdContext, sink: FlowSink, p: SwitchPort): void {
  const dp = p.sw.dp;
  const nb = p.nb;
  if (nb.type === 'virtual') {
    const vip = nb.options.get('virtual-ip');
    const parents = nb.options.get('virtual-parents');
    if (vip === undefined || parents === undefined) return;
    const v4 = vip.includes('.');
    if (v4 ? parseIp4Text(vip) === undefined : parseIp6Text(vip) === undefined) return;
    for (const vp of parents.split(',').filter((x) => x !== '')) {
      const parent = ctx.switchPorts.get(vp);
      if (!parent || parent.sw !== p.sw) continue;
      let m: string;
      if (v4) {
        m = `inport == "${vp}" && ((arp.op == 1 && arp.spa == ${vip} && arp.tpa == ${vip}) || (arp.op == 2 && arp.spa == ${vip}))`;
      } else {
        const sn = formatSn(parseIp6Text(vip)!);
        m = `inport == "${vp}" && ((nd_ns && ip6.dst == {${vip}, ${sn}} && nd.target == ${vip}) ||(nd_na && nd.target == ${vip}))`;
      }
      sink.add(dp, 'ls_in_arp_rsp', 100, m, `bind_vport(${p.jsonKey}, inport); next;`, 8553, parent.nb.uuid, vp);
    }
  } else {
    const up = nb.up === true;
    if (ctx.globals.checkLspIsUp && !up && nb.type !== 'router' && nb.type !== 'localport') return;
    if (nb.type === 'external' || p.hasUnknown) return;
    if (isVlanTransparent(p.sw)) return;
    for (const la of p.lspAddrs) {
      for (const a of la.ipv4) {
        const m = `arp.tpa == ${a.addrS} && arp.op == 1`;
        sink.add(dp, 'ls_in_arp_rsp', 50, m, `eth.dst = eth.src; eth.src = ${la.eaS}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = ${la.eaS}; arp.tpa = arp.spa; arp.spa = ${a.addrS}; outport = inport; flags.loopback = 1; output;`, 8601, nb.uuid);
        sink.add(dp, 'ls_in_arp_rsp', 100, `${m} && inport == ${p.jsonKey}`, 'next;', 8620, nb.uuid, p.name);
      }
      for (const a of la.ipv6) {
        const m = `nd_ns && ip6.dst == {${a.addrS}, ${a.snAddrS}} && nd.target == ${a.addrS}`;
        sink.add(dp, 'ls_in_arp_rsp', 50, m, `${nb.type === 'router' ? 'nd_na_router' : 'nd_na'} { eth.src = ${la.eaS}; ip6.src = ${a.addrS}; nd.target = ${a.addrS}; nd.tll = ${la.eaS}; outport = inport; flags.loopback = 1; output; };`, 8654, nb.uuid);
        sink.add(dp, 'ls_in_arp_rsp', 100, `${m} && inport == ${p.jsonKey}`, 'next;', 8667, nb.uuid, p.name);
      }
    }
  }
  if (p.peer) {
    const proxy = nb.options.get('arp_proxy');
    if (proxy !== undefined) {
      const ips: string[] = [];
      for (const t of proxy.trim().split(/\s+/)) {
        const c = parseCidr(t);
        if (!c) break;
        if (c.family === 4) ips.push(formatIpv4(c.addr as number));
      }
      if (ips.length) {
        const ea = p.peer.networks.eaS;
        sink.add(dp, 'ls_in_arp_rsp', 50, `arp.op == 1 && arp.tpa == {${ips.join(',')}}`, `eth.dst = eth.src; eth.src = ${ea}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = ${ea}; arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;`, 8713, nb.uuid);
      }
    }
  }
}

function formatSn(a: bigint): string {
  return ip6Text((0xff020000000000000000000000000000n | 0x1ff000000n) | (a & 0xffffffn));
}

import { formatIpv6Ntop as ip6Text } from '@ovnts/packet';

function dhcp(sink: FlowSink, p: SwitchPort): void {
  const nb = p.nb;
  if (!p.enabled || nb.type === 'router') return;
  if (!nb.dhcpv4_options && !nb.dhcpv6_options) return;
  const external = nb.type === 'external';
  if (external && (!p.sw.localnetPorts.length || !nb.ha_chassis_group)) return;
  for (const la of p.lspAddrs) {
    const inports = external ? p.sw.localnetPorts : [p];
    for (const inport of inports) {
      dhcpv4Flows(sink, p, la, inport, external);
      dhcpv6Flows(sink, p, la, inport, external);
    }
  }
}

function dhcpv4Flows(sink: FlowSink, p: SwitchPort, la: LportAddresses, inport: SwitchPort, external: boolean): void {
  const d = p.nb.dhcpv4_options;
  if (!d || d.cidr.family !== 4) return;
  const dp = p.sw.dp;
  const mask = mask4(d.cidr.plen);
  const res = external ? ` && is_chassis_resident(${p.jsonKey})` : '';
  for (const a of la.ipv4) {
    if (((a.addr ^ d.cidr.addr) & mask) !== 0) continue;
    const serverIp = d.options.get('server_id');
    const serverMac = d.options.get('server_mac');
    const lease = d.options.get('lease_time');
    if (serverIp === undefined || serverMac === undefined || lease === undefined) return;
    const opts = new Map(d.options);
    opts.delete('server_mac');
    opts.set('netmask', formatIpv4(mask));
    const hostname = p.nb.options.get('hostname');
    if (hostname !== undefined) opts.set('hostname', hostname);
    const keys = [...opts.keys()].sort(cmpStr);
    let optAction = `reg0[3] = put_dhcp_opts(offerip = ${a.addrS}, ${keys.map((k) => `${k} = ${opts.get(k)}`).join(', ')}`;
    optAction = `${optAction.replace(/, $/, '')}); next;`;
    const resp = `eth.dst = eth.src; eth.src = ${serverMac}; ip4.src = ${serverIp}; udp.src = 67; udp.dst = 68; outport = inport; flags.loopback = 1; output;`;
    const base = `inport == ${inport.jsonKey} && eth.src == ${la.eaS}`;
    sink.add(dp, 'ls_in_dhcp_options', 100, `${base} && ip4.src == 0.0.0.0 && ip4.dst == 255.255.255.255 && udp.src == 68 && udp.dst == 67${res}`, optAction, 8172, d.uuid, inport.name);
    sink.add(dp, 'ls_in_dhcp_options', 100, `${base} && ip4.src == ${a.addrS} && ip4.dst == {${serverIp}, 255.255.255.255} && udp.src == 68 && udp.dst == 67${res}`, optAction, 8200, d.uuid, inport.name);
    sink.add(dp, 'ls_in_dhcp_response', 100, `${base} && ip4 && udp.src == 68 && udp.dst == 67 && reg0[3]${res}`, resp, 8224, d.uuid, inport.name);
    return;
  }
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function dhcpv6Flows(sink: FlowSink, p: SwitchPort, la: LportAddresses, inport: SwitchPort, external: boolean): void {
  const d = p.nb.dhcpv6_options;
  if (!d || d.cidr.family !== 6) return;
  const dp = p.sw.dp;
  const mask = mask6(d.cidr.plen);
  const res = external ? ` && is_chassis_resident(${p.jsonKey})` : '';
  for (const a of la.ipv6) {
    if (((a.addr ^ d.cidr.addr) & mask) !== 0n) continue;
    const serverMac = d.options.get('server_id');
    const serverIp = serverMac === undefined ? undefined : macLla(serverMac);
    if (serverMac === undefined || serverIp === undefined) return;
    let optAction = 'reg0[3] = put_dhcpv6_opts(';
    if ((d.options.get('dhcpv6_stateless') ?? '').toLowerCase() !== 'true') optAction += `ia_addr = ${a.addrS}, `;
    for (const k of [...d.options.keys()].sort(cmpStr)) {
      if (k !== 'dhcpv6_stateless') optAction += `${k} = ${d.options.get(k)}, `;
    }
    if (optAction.endsWith(' ')) optAction = optAction.slice(0, -1);
    if (optAction.endsWith(',')) optAction = optAction.slice(0, -1);
    optAction += '); next;';
    const resp = `eth.dst = eth.src; eth.src = ${serverMac}; ip6.dst = ip6.src; ip6.src = ${serverIp}; udp.src = 547; udp.dst = 546; outport = inport; flags.loopback = 1; output;`;
    const m = `inport == ${inport.jsonKey} && eth.src == ${la.eaS} && ip6.dst == ff02::1:2 && udp.src == 546 && udp.dst == 547${res}`;
    sink.add(dp, 'ls_in_dhcp_options', 100, m, optAction, 8264, d.uuid, inport.name);
    sink.add(dp, 'ls_in_dhcp_response', 100, `${m} && reg0[3]`, resp, 8277, d.uuid, inport.name);
    return;
  }
}

function externalPort(sink: FlowSink, p: SwitchPort): void {
  if (p.nb.type !== 'external') return;
  const dp = p.sw.dp;
  for (const ln of p.sw.localnetPorts) {
    for (const la of p.lspAddrs) {
      for (const rp of p.sw.routerPorts) {
        for (const ra of rp.lspAddrs) {
          for (const a of ra.ipv4) {
            sink.add(dp, 'ls_in_external_port', 100, `inport == ${ln.jsonKey} && eth.src == ${la.eaS} && !is_chassis_resident(${p.jsonKey}) && arp.tpa == ${a.addrS} && arp.op == 1`, 'drop;', 8309, p.nb.uuid, ln.name);
          }
          for (const a of ra.ipv6) {
            sink.add(dp, 'ls_in_external_port', 100, `inport == ${ln.jsonKey} && eth.src == ${la.eaS} && !is_chassis_resident(${p.jsonKey}) && nd_ns && ip6.dst == {${a.addrS}, ${a.snAddrS}} && nd.target == ${a.addrS}`, 'drop;', 8325, p.nb.uuid, ln.name);
          }
          sink.add(dp, 'ls_in_external_port', 100, `inport == ${ln.jsonKey} && eth.src == ${la.eaS} && eth.dst == ${ra.eaS} && !is_chassis_resident(${p.jsonKey})`, 'drop;', 8339, p.nb.uuid, ln.name);
        }
      }
    }
  }
}

function rportArpReqFlow(sink: FlowSink, sw: SwitchDp, swOp: SwitchPort, ip: string, v6: boolean, hint: string): void {
  const m = `flags[1] == 0 && ${v6 ? `nd_ns && nd.target == ${ip}` : `arp.op == 1 && arp.tpa == ${ip}`}`;
  const flood = sw.routerPorts.length !== sw.nb.ports.length;
  const a = flood ? `clone {outport = ${swOp.jsonKey}; output; }; outport = "${MC_FLOOD_L2}"; output;` : `outport = ${swOp.jsonKey}; output;`;
  sink.add(sw.dp, 'ls_in_l2_lkup', 80, m, a, flood ? 8022 : 8027, hint);
}

function reachable4(rp: RouterPort, addr: number): boolean {
  return rp.networks.ipv4.some((n) => ((addr & n.mask) >>> 0) === n.network);
}

function reachable6(rp: RouterPort, addr: bigint): boolean {
  return rp.networks.ipv6.some((n) => (addr & mask6(n.plen)) === n.network);
}

function rportArpReqFlows(ctx: NorthdContext, sink: FlowSink, rp: RouterPort | undefined, swOp: SwitchPort): void {
  if (!rp || !rp.enabled) return;
  const sw = swOp.sw;
  const hint = swOp.nb.uuid;
  const lbIps = routerLbIps(ctx, rp.rt);
  for (const ip of lbIps.v4) {
    const a = parseIp4Text(ip);
    if (a !== undefined && reachable4(rp, a)) rportArpReqFlow(sink, sw, swOp, ip, false, hint);
  }
  for (const ip of lbIps.v6) {
    const a = parseIp6Text(ip);
    if (a !== undefined && reachable6(rp, a)) rportArpReqFlow(sink, sw, swOp, ip, true, hint);
  }
  for (const nat of natEntries(rp.rt)) {
    if (!nat.valid || nat.nb.type === 'snat') continue;
    if (nat.v6) {
      if (!lbIps.v6.has(nat.nb.external_ip.text)) rportArpReqFlow(sink, sw, swOp, nat.nb.external_ip.text, true, hint);
    } else if (!lbIps.v4.has(nat.nb.external_ip.text)) {
      rportArpReqFlow(sink, sw, swOp, nat.nb.external_ip.text, false, hint);
    }
  }
  for (const n of rp.networks.ipv4) rportArpReqFlow(sink, sw, swOp, n.addrS, false, hint);
  for (const n of rp.networks.ipv6) rportArpReqFlow(sink, sw, swOp, n.addrS, true, hint);
  if (sw.routerPorts.length !== sw.nb.ports.length) {
    const macs = [rp.networks.eaS];
    for (const nat of natEntries(rp.rt)) {
      if (!nat.valid || nat.nb.type === 'snat' || nat.nb.external_mac === undefined) continue;
      const t = nat.externalMacText!;
      if (!macs.includes(t)) macs.push(t);
    }
    // ovn-northd prints this sset in its hash order.
    sink.add(sw.dp, 'ls_in_l2_lkup', 75, `eth.src == {${ssetOrder(macs).join(', ')}} && (arp.op == 1 || rarp.op == 3 || nd_ns)`, `outport = "${MC_FLOOD_L2}"; output;`, 7938);
  }
}

function unicastLookup(ctx: NorthdContext, sink: FlowSink, p: SwitchPort): void {
  const nb = p.nb;
  if (nb.type === 'external') return;
  const dp = p.sw.dp;
  if (nb.type === 'router') rportArpReqFlows(ctx, sink, p.peer, p);
  const action = p.enabled ? `outport = ${p.jsonKey}; output;` : 'drop;';
  for (const a of nb.addresses) {
    if (a.kind === 'static') {
      sink.add(dp, 'ls_in_l2_lkup', 50, `eth.dst == ${formatMac(a.mac)}`, action, 9122, nb.uuid);
    } else if (a.kind === 'dynamic') {
      if (!nb.dynamic_addresses) continue;
      sink.add(dp, 'ls_in_l2_lkup', 50, `eth.dst == ${formatMac(nb.dynamic_addresses.mac)}`, action, 9145, nb.uuid);
    } else if (a.kind === 'router') {
      const rp = p.peer;
      if (!rp) continue;
      let m = `eth.dst == ${rp.networks.eaS}`;
      if (rp.rt.l3dgwPorts.length && p.sw.localnetPorts.length) {
        let key: string | undefined;
        let add = false;
        if (rp.crJsonKey) {
          add = true;
          key = rp.crJsonKey;
        } else {
          add = (rp.nb.options.get('reside-on-redirect-chassis') ?? '').toLowerCase() === 'true' && rp.rt.l3dgwPorts.length === 1;
          key = rp.rt.l3dgwPorts[0]!.crJsonKey;
        }
        if (add) m += ` && is_chassis_resident(${key})`;
      }
      sink.add(dp, 'ls_in_l2_lkup', 50, m, action, 9193, nb.uuid);
      if (rp.crJsonKey) {
        for (const nat of rp.rt.nb.nat) {
          if (nat.type === 'dnat_and_snat' && nat.logical_port !== undefined && nat.external_mac !== undefined) {
            sink.add(dp, 'ls_in_l2_lkup', 50, `eth.dst == ${formatMac(nat.external_mac)} && is_chassis_resident("${nat.logical_port}")`, action, 9216, nb.uuid);
          }
        }
      }
    }
  }
}
