/**
 * Logical switch flows from pre-ACL to stateful (ovn-northd 23.03 `build_pre_acls`,
 * `build_pre_lb`, `build_pre_stateful`, `build_acl_hints`, `build_acls`, `build_qos`,
 * `build_stateful`, `build_lb_hairpin`, `build_vtep_hairpin`, and the switch side of
 * `build_lb_rules*`). Matches and actions are built as OVN text exactly as ovn-northd prints
 * them; ACL matches are copied verbatim from the NB (ovn-northd does not parse them either).
 *
 * A switch is "stateful" when an ACL that applies to it is allow-related or it has load balancer
 * VIPs: then allow ACLs commit to conntrack, drops also mark established connections blocked
 * (`ct_mark.blocked`), and replies/related traffic are allowed at priority 65532. ACL priorities
 * are offset by 1000. Chassis features are assumed present (ct_mark.blocked, ct_lb_mark,
 * ct_commit_nat), as ovn-northd does when no chassis says otherwise.
 */
import { formatIpv6Ntop as formatIpv6 } from '@ovnts/packet';
import type { Acl } from '../nb/model.js';
import { linkLocal } from './addrs.js';
import type { NorthdContext, SwitchDp, SwitchPort } from './context.js';
import { lbVipActions, northdLb } from './lb.js';
import { stageTable, type StageName } from './stages.js';
import type { Datapath, FlowSink } from './types.js';

const ACL_PRI_OFFSET = 1000;
const IPV6_CT_OMIT_MATCH = 'nd || nd_ra || nd_rs || mldv1 || mldv2';
const CT_BLOCKED = 'ct_mark.blocked';

function skipPortFromConntrack(sink: FlowSink, sw: SwitchDp, p: SwitchPort, inStage: StageName, outStage: StageName, prio: number): void {
  sink.add(sw.dp, inStage, prio, `ip && inport == ${p.jsonKey}`, 'next;', p.nb.uuid, p.name);
  sink.add(sw.dp, outStage, prio, `ip && outport == ${p.jsonKey}`, sw.hasStatefulAcl ? 'next;' : 'ct_clear; next;', p.nb.uuid, p.name);
}

function statelessFilters(sink: FlowSink, sw: SwitchDp): void {
  for (const acl of sw.acls) {
    if (acl.action !== 'allow-stateless') continue;
    const st: StageName = acl.direction === 'from-lport' ? 'ls_in_pre_acl' : 'ls_out_pre_acl';
    sink.add(sw.dp, st, acl.priority + ACL_PRI_OFFSET, acl.match, 'reg0[16] = 1; next;', acl.uuid);
  }
}

function preAcls(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  sink.add(dp, 'ls_in_pre_acl', 0, '1', 'next;');
  sink.add(dp, 'ls_out_pre_acl', 0, '1', 'next;');
  sink.add(dp, 'ls_in_pre_acl', 110, 'eth.dst == $svc_monitor_mac', 'next;');
  sink.add(dp, 'ls_out_pre_acl', 110, 'eth.src == $svc_monitor_mac', 'next;');
  if (sw.hasStatefulAcl) {
    for (const p of sw.routerPorts) skipPortFromConntrack(sink, sw, p, 'ls_in_pre_acl', 'ls_out_pre_acl', 110);
    for (const p of sw.localnetPorts) skipPortFromConntrack(sink, sw, p, 'ls_in_pre_acl', 'ls_out_pre_acl', 110);
    statelessFilters(sink, sw);
    const nd = 'nd || nd_rs || nd_ra || mldv1 || mldv2 || (udp && udp.src == 546 && udp.dst == 547)';
    sink.add(dp, 'ls_in_pre_acl', 110, nd, 'next;');
    sink.add(dp, 'ls_out_pre_acl', 110, nd, 'next;');
    sink.add(dp, 'ls_in_pre_acl', 110, 'eth.mcast', 'next;');
    sink.add(dp, 'ls_out_pre_acl', 110, 'eth.mcast', 'next;');
    sink.add(dp, 'ls_in_pre_acl', 100, 'ip', 'reg0[0] = 1; next;');
    sink.add(dp, 'ls_out_pre_acl', 100, 'ip', 'reg0[0] = 1; next;');
  } else if (sw.hasLbVip) {
    statelessFilters(sink, sw);
  }
}

function preLb(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  if (sw.nb.config.mcastSnoop && sw.nb.other_config.has('interconn-ts')) {
    for (const p of sw.ports) {
      if (p.nb.type !== 'remote') continue;
      sink.add(dp, 'ls_out_pre_lb', 120, `inport == ${p.jsonKey} && igmp`, 'clone { igmp; }; next;');
      sink.add(dp, 'ls_out_pre_lb', 120, `inport == ${p.jsonKey} && (mldv1 || mldv2)`, 'clone { igmp; }; next;');
    }
  }
  sink.add(dp, 'ls_in_pre_lb', 110, 'eth.mcast', 'next;');
  sink.add(dp, 'ls_out_pre_lb', 110, 'eth.mcast', 'next;');
  sink.add(dp, 'ls_in_pre_lb', 110, 'nd || nd_rs || nd_ra || mldv1 || mldv2', 'next;');
  sink.add(dp, 'ls_out_pre_lb', 110, 'nd || nd_rs || nd_ra || mldv1 || mldv2', 'next;');
  sink.add(dp, 'ls_in_pre_lb', 110, 'eth.dst == $svc_monitor_mac', 'next;');
  sink.add(dp, 'ls_out_pre_lb', 110, 'eth.src == $svc_monitor_mac', 'next;');
  sink.add(dp, 'ls_in_pre_lb', 0, '1', 'next;');
  sink.add(dp, 'ls_out_pre_lb', 0, '1', 'next;');
  for (const p of sw.routerPorts) skipPortFromConntrack(sink, sw, p, 'ls_in_pre_lb', 'ls_out_pre_lb', 110);
  if (!sw.hasLbVip) for (const p of sw.localnetPorts) skipPortFromConntrack(sink, sw, p, 'ls_in_pre_lb', 'ls_out_pre_lb', 110);
  sink.add(dp, 'ls_in_pre_lb', 110, 'reg0[16] == 1', 'next;');
  sink.add(dp, 'ls_out_pre_lb', 110, 'reg0[16] == 1', 'next;');
  if (sw.hasLbVip) {
    sink.add(dp, 'ls_in_pre_lb', 100, 'ip', 'reg0[2] = 1; next;');
    sink.add(dp, 'ls_out_pre_lb', 100, 'ip', 'reg0[2] = 1; next;');
  }
}

function preStateful(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  sink.add(dp, 'ls_in_pre_stateful', 0, '1', 'next;');
  sink.add(dp, 'ls_out_pre_stateful', 0, '1', 'next;');
  sink.add(dp, 'ls_in_pre_stateful', 110, 'reg0[2] == 1', 'ct_lb_mark;');
  sink.add(dp, 'ls_out_pre_stateful', 110, 'reg0[2] == 1', 'ct_lb_mark;');
  sink.add(dp, 'ls_in_pre_stateful', 100, 'reg0[0] == 1', 'ct_next;');
  sink.add(dp, 'ls_out_pre_stateful', 100, 'reg0[0] == 1', 'ct_next;');
}

function aclHints(sink: FlowSink, sw: SwitchDp): void {
  for (const st of ['ls_in_acl_hint', 'ls_out_acl_hint'] as const) {
    if (!sw.hasAcls && !sw.hasLbVip) sink.add(sw.dp, st, 65535, '1', 'next;');
    else sink.add(sw.dp, st, 0, '1', 'next;');
    if (!sw.hasStatefulAcl && !sw.hasLbVip) continue;
    sink.add(sw.dp, st, 7, 'ct.new && !ct.est', 'reg0[7] = 1; reg0[9] = 1; next;');
    sink.add(sw.dp, st, 6, `!ct.new && ct.est && !ct.rpl && ${CT_BLOCKED} == 1`, 'reg0[7] = 1; reg0[9] = 1; next;');
    sink.add(sw.dp, st, 5, '!ct.trk', 'reg0[8] = 1; reg0[9] = 1; next;');
    sink.add(sw.dp, st, 4, `!ct.new && ct.est && !ct.rpl && ${CT_BLOCKED} == 0`, 'reg0[8] = 1; reg0[10] = 1; next;');
    sink.add(sw.dp, st, 3, '!ct.est', 'reg0[9] = 1; next;');
    sink.add(sw.dp, st, 2, `ct.est && ${CT_BLOCKED} == 1`, 'reg0[9] = 1; next;');
    sink.add(sw.dp, st, 1, `ct.est && ${CT_BLOCKED} == 0`, 'reg0[10] = 1; next;');
  }
}

/** The `log(...)` action text of an ACL (`build_acl_log`), empty when it does not log. */
export function aclLog(ctx: NorthdContext, acl: Acl): string {
  if (!acl.log) return '';
  let s = 'log(';
  if (acl.name !== undefined) s += `name="${acl.name}", `;
  s += `severity=${acl.severity ?? 'info'}, `;
  if (acl.action === 'drop') s += 'verdict=drop, ';
  else if (acl.action === 'reject') s += 'verdict=reject, ';
  else if (acl.action === 'allow' || acl.action === 'allow-related' || acl.action === 'allow-stateless') s += 'verdict=allow, ';
  if (acl.meter !== undefined) {
    const m = ctx.globals.meters.get(acl.meter);
    s += m && m.fair ? `meter="${acl.meter}__${acl.uuid}", ` : `meter="${acl.meter}", `;
  }
  if (s.endsWith(' ')) s = s.slice(0, -1);
  if (s.endsWith(',')) s = s.slice(0, -1);
  return `${s}); `;
}

function rejectAcl(ctx: NorthdContext, sink: FlowSink, sw: SwitchDp, st: StageName, acl: Acl, extraMatch: string, extraActions: string): void {
  const ingress = st.startsWith('ls_in_');
  const next = `next(pipeline=${ingress ? 'egress' : 'ingress'},table=${ingress ? stageTable('ls_out_qos_mark') : stageTable('ls_in_l2_lkup')});`;
  let actions = aclLog(ctx, acl);
  const match = (extraMatch ? `(${extraMatch}) && ` : '') + acl.match;
  if (extraActions) actions += `${extraActions} `;
  actions += `reg0 = 0; reject { /* eth.dst <-> eth.src; ip.dst <-> ip.src; is implicit. */ outport <-> inport; ${next} };`;
  sink.add(sw.dp, st, acl.priority + ACL_PRI_OFFSET, match, actions, acl.uuid);
}

function considerAcl(ctx: NorthdContext, sink: FlowSink, sw: SwitchDp, acl: Acl, hasStateful: boolean): void {
  const ingress = acl.direction === 'from-lport';
  const st: StageName = ingress && acl.applyAfterLb ? 'ls_in_acl_after_lb' : ingress ? 'ls_in_acl' : 'ls_out_acl';
  const prio = acl.priority + ACL_PRI_OFFSET;
  const log = aclLog(ctx, acl);
  if (acl.action === 'allow-stateless') {
    sink.add(sw.dp, st, prio, acl.match, `${log}next;`, acl.uuid);
  } else if (acl.action === 'allow' || acl.action === 'allow-related') {
    if (!hasStateful) {
      sink.add(sw.dp, st, prio, acl.match, `${log}next;`, acl.uuid);
      return;
    }
    const label = acl.label ? `reg0[13] = 1; reg3 = ${acl.label}; ` : '';
    sink.add(sw.dp, st, prio, `reg0[7] == 1 && (${acl.match})`, `reg0[1] = 1; ${label}${log}next;`, acl.uuid);
    sink.add(sw.dp, st, prio, `reg0[8] == 1 && (${acl.match})`, `${acl.label ? `reg0[1] = 1; ${label}` : ''}${log}next;`, acl.uuid);
    const logRelated = (acl.options.get('log-related') ?? '').toLowerCase() === 'true';
    if (acl.log && acl.label && logRelated) {
      const lst: StageName = ingress ? 'ls_out_acl' : 'ls_in_acl';
      sink.add(sw.dp, lst, 65533, `ct.est && !ct.rel && !ct.new && !ct.inv && ct.rpl && ${CT_BLOCKED} == 0 && ct_label.label == ${acl.label}`, `${log}next;`, acl.uuid);
      sink.add(sw.dp, lst, 65533, `!ct.est && ct.rel && !ct.new && !ct.inv && ${CT_BLOCKED} == 0 && ct_label.label == ${acl.label}`, `${log}next;`, acl.uuid);
    }
  } else if (acl.action === 'drop' || acl.action === 'reject') {
    const reject = acl.action === 'reject';
    if (hasStateful) {
      if (reject) rejectAcl(ctx, sink, sw, st, acl, 'reg0[9] == 1', '');
      else sink.add(sw.dp, st, prio, `reg0[9] == 1 && (${acl.match})`, `${log}/* drop */`, acl.uuid);
      const commit = `ct_commit { ${CT_BLOCKED} = 1; }; `;
      if (reject) rejectAcl(ctx, sink, sw, st, acl, 'reg0[10] == 1', commit);
      else sink.add(sw.dp, st, prio, `reg0[10] == 1 && (${acl.match})`, `${commit}${log}/* drop */`, acl.uuid);
    } else if (reject) {
      rejectAcl(ctx, sink, sw, st, acl, '', '');
    } else {
      sink.add(sw.dp, st, prio, acl.match, `${log}/* drop */`, acl.uuid);
    }
  }
}

function acls(ctx: NorthdContext, sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  const defaultDrop = ctx.globals.defaultAclDrop;
  const hasStateful = sw.hasStatefulAcl || sw.hasLbVip;
  if (!sw.hasAcls) {
    if (!sw.hasLbVip) {
      sink.add(dp, 'ls_in_acl', 65535, '1', 'next;');
      sink.add(dp, 'ls_out_acl', 65535, '1', 'next;');
    } else {
      sink.add(dp, 'ls_in_acl', 0, '1', 'next;');
      sink.add(dp, 'ls_out_acl', 0, '1', 'next;');
    }
    sink.add(dp, 'ls_in_acl_after_lb', 0, '1', 'next;');
  } else {
    const a = defaultDrop ? 'drop;' : 'next;';
    sink.add(dp, 'ls_in_acl', 0, '1', a);
    sink.add(dp, 'ls_out_acl', 0, '1', a);
    sink.add(dp, 'ls_in_acl_after_lb', 0, '1', a);
  }
  if (hasStateful) {
    const m = `ip && ct.est && ${CT_BLOCKED} == 1`;
    sink.add(dp, 'ls_in_acl', 1, m, 'reg0[1] = 1; next;');
    sink.add(dp, 'ls_out_acl', 1, m, 'reg0[1] = 1; next;');
    const d = defaultDrop ? 'drop;' : 'reg0[1] = 1; next;';
    sink.add(dp, 'ls_in_acl', 1, 'ip && !ct.est', d);
    sink.add(dp, 'ls_out_acl', 1, 'ip && !ct.est', d);
    const inv = `ct.inv || (ct.est && ct.rpl && ${CT_BLOCKED} == 1)`;
    sink.add(dp, 'ls_in_acl', 65532, inv, 'drop;');
    sink.add(dp, 'ls_out_acl', 65532, inv, 'drop;');
    const rpl = `ct.est && !ct.rel && !ct.new && !ct.inv && ct.rpl && ${CT_BLOCKED} == 0`;
    sink.add(dp, 'ls_in_acl', 65532, rpl, 'reg0[9] = 0; reg0[10] = 0; reg0[17] = 1; next;');
    sink.add(dp, 'ls_out_acl', 65532, rpl, 'next;');
    const rel = `!ct.est && ct.rel && !ct.new && !ct.inv && ${CT_BLOCKED} == 0`;
    sink.add(dp, 'ls_in_acl', 65532, rel, 'reg0[17] = 1; ct_commit_nat;');
    sink.add(dp, 'ls_out_acl', 65532, rel, 'ct_commit_nat;');
    sink.add(dp, 'ls_in_acl_after_lb', 65532, 'reg0[17] == 1', 'next;');
  }
  sink.add(dp, 'ls_in_acl', 65532, IPV6_CT_OMIT_MATCH, 'next;');
  sink.add(dp, 'ls_out_acl', 65532, IPV6_CT_OMIT_MATCH, 'next;');
  sink.add(dp, 'ls_in_acl_after_lb', 65532, IPV6_CT_OMIT_MATCH, 'next;');
  for (const acl of sw.acls) considerAcl(ctx, sink, sw, acl, hasStateful);

  for (const p of sw.ports) {
    if (p.nb.type === 'external') continue;
    const d4 = p.nb.dhcpv4_options;
    if (d4) {
      const sid = d4.options.get('server_id');
      const smac = d4.options.get('server_mac');
      const lt = d4.options.get('lease_time');
      if (sid !== undefined && smac !== undefined && lt !== undefined) {
        sink.add(dp, 'ls_out_acl', 34000, `outport == "${p.name}" && eth.src == ${smac} && ip4.src == ${sid} && udp && udp.src == 67 && udp.dst == 68`, hasStateful ? 'ct_commit; next;' : 'next;', d4.uuid, p.name);
      }
    }
    const d6 = p.nb.dhcpv6_options;
    if (d6) {
      const smac = d6.options.get('server_id');
      const lla = smac === undefined ? undefined : macLla(smac);
      if (lla !== undefined) {
        sink.add(dp, 'ls_out_acl', 34000, `outport == "${p.name}" && eth.src == ${smac} && ip6.src == ${lla} && udp && udp.src == 547 && udp.dst == 546`, hasStateful ? 'ct_commit; next;' : 'next;', d6.uuid, p.name);
      }
    }
  }
  if (hasDnsRecords(sw)) sink.add(dp, 'ls_out_acl', 34000, 'udp.src == 53', hasStateful ? 'ct_commit; next;' : 'next;');
  if (sw.hasAcls || sw.hasLbVip) {
    sink.add(dp, 'ls_in_acl', 34000, 'eth.dst == $svc_monitor_mac', 'next;');
    sink.add(dp, 'ls_out_acl', 34000, 'eth.src == $svc_monitor_mac', 'next;');
  }
}


/** Link-local IPv6 text of a MAC given as text, or undefined when it is not a MAC. */
export function macLla(mac: string): string | undefined {
  if (!/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(mac.trim())) return undefined;
  const v = mac.trim().split(':').reduce((a, x) => a * 256 + parseInt(x, 16), 0);
  return formatIpv6(linkLocal(v));
}

/** The switch has a DNS row with at least one record. */
export function hasDnsRecords(sw: SwitchDp): boolean {
  return sw.nb.dns_records.some((d) => d.records.size > 0);
}

function qos(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  sink.add(dp, 'ls_in_qos_mark', 0, '1', 'next;');
  sink.add(dp, 'ls_out_qos_mark', 0, '1', 'next;');
  sink.add(dp, 'ls_in_qos_meter', 0, '1', 'next;');
  sink.add(dp, 'ls_out_qos_meter', 0, '1', 'next;');
  for (const q of sw.nb.qos_rules) {
    const ingress = q.direction === 'from-lport';
    for (const [k, v] of q.action) {
      if (k === 'dscp') sink.add(dp, ingress ? 'ls_in_qos_mark' : 'ls_out_qos_mark', q.priority, q.match, `ip.dscp = ${v}; next;`, q.uuid);
    }
    const rate = q.bandwidth.get('rate') ?? 0;
    const burst = q.bandwidth.get('burst') ?? 0;
    if (rate) {
      sink.add(dp, ingress ? 'ls_in_qos_meter' : 'ls_out_qos_meter', q.priority, q.match, burst ? `set_meter(${rate}, ${burst}); next;` : `set_meter(${rate}); next;`, q.uuid);
    }
  }
}

function stateful(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  sink.add(dp, 'ls_in_lb', 0, '1', 'next;');
  sink.add(dp, 'ls_in_stateful', 0, '1', 'next;');
  sink.add(dp, 'ls_out_stateful', 0, '1', 'next;');
  const withLabel = `ct_commit { ${CT_BLOCKED} = 0; ct_label.label = reg3; }; next;`;
  sink.add(dp, 'ls_in_stateful', 100, 'reg0[1] == 1 && reg0[13] == 1', withLabel);
  sink.add(dp, 'ls_out_stateful', 100, 'reg0[1] == 1 && reg0[13] == 1', withLabel);
  const plain = `ct_commit { ${CT_BLOCKED} = 0; }; next;`;
  sink.add(dp, 'ls_in_stateful', 100, 'reg0[1] == 1 && reg0[13] == 0', plain);
  sink.add(dp, 'ls_out_stateful', 100, 'reg0[1] == 1 && reg0[13] == 0', plain);
}

function lbHairpin(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  sink.add(dp, 'ls_in_pre_hairpin', 0, '1', 'next;');
  sink.add(dp, 'ls_in_nat_hairpin', 0, '1', 'next;');
  sink.add(dp, 'ls_in_hairpin', 0, '1', 'next;');
  if (sw.hasLbVip) {
    const h = sw.nb.uuid;
    sink.add(dp, 'ls_in_pre_hairpin', 100, 'ip && ct.trk', 'reg0[6] = chk_lb_hairpin(); reg0[12] = chk_lb_hairpin_reply(); next;', h);
    sink.add(dp, 'ls_in_nat_hairpin', 100, 'ip && ct.new && ct.trk && reg0[6] == 1', 'ct_snat_to_vip; next;', h);
    sink.add(dp, 'ls_in_nat_hairpin', 100, 'ip && ct.est && ct.trk && reg0[6] == 1', 'ct_snat;', h);
    sink.add(dp, 'ls_in_nat_hairpin', 90, 'ip && reg0[12] == 1', 'ct_snat;', h);
    sink.add(dp, 'ls_in_hairpin', 1, '(reg0[6] == 1 || reg0[12] == 1)', 'eth.dst <-> eth.src; outport = inport; flags.loopback = 1; output;');
  }
}

function vtepHairpin(sink: FlowSink, sw: SwitchDp): void {
  if (!sw.hasVtepLports) return;
  sink.add(sw.dp, 'ls_in_hairpin', 1000, 'reg0[14] == 1', `next(pipeline=ingress, table=${stageTable('ls_in_l2_lkup')});`);
  for (const p of sw.routerPorts) {
    const rp = p.peer;
    if (rp?.crJsonKey) sink.add(sw.dp, 'ls_in_hairpin', 2000, `reg0[14] == 1 && is_chassis_resident(${rp.crJsonKey})`, 'next;');
  }
}

/** Pre-ACL through hairpin flows of one switch (`build_lswitch_lflows_pre_acl_and_acl`). */
export function buildSwitchAclFlows(ctx: NorthdContext, sink: FlowSink, sw: SwitchDp): void {
  preAcls(sink, sw);
  preLb(sink, sw);
  preStateful(sink, sw);
  aclHints(sink, sw);
  acls(ctx, sink, sw);
  qos(sink, sw);
  stateful(sink, sw);
  lbHairpin(sink, sw);
  vtepHairpin(sink, sw);
}

/**
 * Switch-side load balancer flows (pre-stateful 120, lb, affinity), load balancer by load
 * balancer as `build_lswitch_flows_for_lb` does: each flow is built once and added for every
 * switch the load balancer applies to (a datapath group).
 */
export function buildSwitchLbFlowsAll(ctx: NorthdContext, sink: FlowSink): void {
  const byLb = new Map<string, Datapath[]>();
  for (const sw of ctx.switches) {
    for (const nb of sw.lbs) {
      let l = byLb.get(nb.uuid);
      if (!l) byLb.set(nb.uuid, (l = []));
      l.push(sw.dp);
    }
  }
  const rejectTable = stageTable('ls_out_qos_mark');
  for (const nb of ctx.db.loadBalancers) {
    const dps = byLb.get(nb.uuid);
    if (!dps) continue;
    const lb = northdLb(nb);
    for (const vip of lb.vips) {
      // build_lb_rules_pre_stateful
      const ipm = vip.v6 ? 'ip6' : 'ip4';
      let act = vip.v6 ? `xxreg1 = ${vip.vipS}; ` : `reg1 = ${vip.vipS}; `;
      if (vip.portS) act += `reg2[0..15] = ${vip.portS}; `;
      act += 'ct_lb_mark;';
      let m = `reg0[2] == 1 && ${ipm}.dst == ${vip.vipS}`;
      if (vip.portS) m += ` && ${lb.proto}.dst == ${vip.portS}`;
      sink.addGroup(dps, 'ls_in_pre_stateful', 120, m, act, nb.uuid);
    }
    for (const vip of lb.vips) {
      const ipm = vip.v6 ? 'ip6' : 'ip4';
      const { action } = lbVipActions(vip, lb.selectionFields, 'reg0[1] = 0; ', true, rejectTable);
      let m = `ct.new && ${ipm}.dst == ${vip.vipS}`;
      let prio = 110;
      if (vip.portS) {
        m += ` && ${lb.proto}.dst == ${vip.portS}`;
        prio = 120;
      }
      lbAffinityFlows(sink, dps, lb.affinityTimeout, lb.proto, vip, nb.uuid);
      sink.addGroup(dps, 'ls_in_lb', prio, m, action, nb.uuid);
    }
  }
}

function lbAffinityFlows(sink: FlowSink, dps: readonly Datapath[], timeout: number, proto: string, vip: ReturnType<typeof northdLb>['vips'][number], hint: string): void {
  if (!timeout) return;
  const v6 = vip.v6;
  const ipm = v6 ? 'ip6' : 'ip4';
  const regVip = v6 ? 'xxreg1' : 'reg1';
  const regBackend = v6 ? 'xxreg0' : 'reg4';
  let newLb = `ct.new && ${ipm} && ${regVip} == ${vip.vipS}`;
  if (vip.portS) newLb += ` && reg2[0..15] == ${vip.portS}`;
  sink.addGroup(dps, 'ls_in_lb_aff_check', 100, newLb, 'reg9[6] = chk_lb_aff(); next;', hint);
  let affAction = `reg0[1] = 0; ${regVip} = ${vip.vipS}; `;
  let learnAction = 'commit_lb_aff(vip = "';
  if (vip.portS) {
    affAction += `reg2[0..15] = ${vip.portS}; `;
    learnAction += v6 ? `[${vip.vipS}]:${vip.portS}` : `${vip.vipS}:${vip.portS}`;
  } else {
    learnAction += vip.vipS;
  }
  affAction += 'ct_lb_mark(backends=';
  learnAction += '", backend = "';
  const learnMatch = vip.portS
    ? `reg9[6] == 0 && ct.new && ${ipm} && ${regVip} == ${vip.vipS} && reg2[0..15] == ${vip.portS} && ${ipm}.dst == `
    : `reg9[6] == 0 && ct.new && ${ipm} && ${regVip} == ${vip.vipS} && ${ipm}.dst == `;
  const affMatch = `reg9[6] == 1 && ct.new && ${ipm} && ${regBackend} == `;
  for (const b of vip.backends) {
    let lm = learnMatch + b.ipS;
    let am = affMatch + b.ipS;
    let aa = affAction;
    let la = learnAction;
    if (b.port) {
      aa += v6 ? `[${b.ipS}]:${b.port}` : `${b.ipS}:${b.port}`;
      la += v6 ? `[${b.ipS}]:${b.port}` : `${b.ipS}:${b.port}`;
      lm += ` && ${proto}.dst == ${b.port}`;
      am += ` && reg8[0..15] == ${b.port}`;
    } else {
      aa += b.ipS;
      la += b.ipS;
    }
    aa += ');';
    la += '"';
    if (vip.portS) la += `, proto = ${proto}`;
    la += `, timeout = ${timeout}); /* drop */`;
    sink.addGroup(dps, 'ls_in_lb_aff_learn', 100, lm, la, hint);
    sink.addGroup(dps, 'ls_in_lb', 150, am, aa, hint);
  }
}
