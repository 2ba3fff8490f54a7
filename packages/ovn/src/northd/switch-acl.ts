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
import type { Acl, LoadBalancer } from '../nb/model.js';
import { linkLocal } from './addrs.js';
import type { NorthdContext, SwitchDp, SwitchPort } from './context.js';
import { lbVipActions, northdLb } from './lb.js';
import { stageTable, type StageName } from './stages.js';
import type { Datapath, FlowSink } from './types.js';

const ACL_PRI_OFFSET = 1000;
const IPV6_CT_OMIT_MATCH = 'nd || nd_ra || nd_rs || mldv1 || mldv2';
const CT_BLOCKED = 'ct_mark.blocked';

function skipPortFromConntrack(sink: FlowSink, sw: SwitchDp, p: SwitchPort, inStage: StageName, outStage: StageName, prio: number): void {
  sink.add(sw.dp, inStage, prio, `ip && inport == ${p.jsonKey}`, 'next;', 5806, p.nb.uuid, p.name);
  sink.add(sw.dp, outStage, prio, `ip && outport == ${p.jsonKey}`, sw.hasStatefulAcl ? 'next;' : 'ct_clear; next;', 5809, p.nb.uuid, p.name);
}

function statelessFilters(sink: FlowSink, sw: SwitchDp): void {
  for (const acl of sw.acls) {
    if (acl.action !== 'allow-stateless') continue;
    const st: StageName = acl.direction === 'from-lport' ? 'ls_in_pre_acl' : 'ls_out_pre_acl';
    sink.add(sw.dp, st, acl.priority + ACL_PRI_OFFSET, acl.match, 'reg0[16] = 1; next;', acl.direction === 'from-lport' ? 5824 : 5830, acl.uuid);
  }
}

function preAcls(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  sink.add(dp, 'ls_in_pre_acl', 0, '1', 'next;', 5869);
  sink.add(dp, 'ls_out_pre_acl', 0, '1', 'next;', 5870);
  sink.add(dp, 'ls_in_pre_acl', 110, 'eth.dst == $svc_monitor_mac', 'next;', 5872);
  sink.add(dp, 'ls_out_pre_acl', 110, 'eth.src == $svc_monitor_mac', 'next;', 5875);
  if (sw.hasStatefulAcl) {
    for (const p of sw.routerPorts) skipPortFromConntrack(sink, sw, p, 'ls_in_pre_acl', 'ls_out_pre_acl', 110);
    for (const p of sw.localnetPorts) skipPortFromConntrack(sink, sw, p, 'ls_in_pre_acl', 'ls_out_pre_acl', 110);
    statelessFilters(sink, sw);
    const nd = 'nd || nd_rs || nd_ra || mldv1 || mldv2 || (udp && udp.src == 546 && udp.dst == 547)';
    sink.add(dp, 'ls_in_pre_acl', 110, nd, 'next;', 5901);
    sink.add(dp, 'ls_out_pre_acl', 110, nd, 'next;', 5904);
    sink.add(dp, 'ls_in_pre_acl', 110, 'eth.mcast', 'next;', 5909);
    sink.add(dp, 'ls_out_pre_acl', 110, 'eth.mcast', 'next;', 5911);
    sink.add(dp, 'ls_in_pre_acl', 100, 'ip', 'reg0[0] = 1; next;', 5922);
    sink.add(dp, 'ls_out_pre_acl', 100, 'ip', 'reg0[0] = 1; next;', 5924);
  } else if (sw.hasLbVip) {
    statelessFilters(sink, sw);
  }
}

function preLb(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  if (sw.nb.config.mcastSnoop && sw.nb.other_config.has('interconn-ts')) {
    for (const p of sw.ports) {
      if (p.nb.type !== 'remote') continue;
      sink.add(dp, 'ls_out_pre_lb', 120, `inport == ${p.jsonKey} && igmp`, 'clone { igmp; }; next;', 6009);
      sink.add(dp, 'ls_out_pre_lb', 120, `inport == ${p.jsonKey} && (mldv1 || mldv2)`, 'clone { igmp; }; next;', 6017);
    }
  }
  sink.add(dp, 'ls_in_pre_lb', 110, 'eth.mcast', 'next;', 6033);
  sink.add(dp, 'ls_out_pre_lb', 110, 'eth.mcast', 'next;', 6034);
  sink.add(dp, 'ls_in_pre_lb', 110, 'nd || nd_rs || nd_ra || mldv1 || mldv2', 'next;', 6037);
  sink.add(dp, 'ls_out_pre_lb', 110, 'nd || nd_rs || nd_ra || mldv1 || mldv2', 'next;', 6040);
  sink.add(dp, 'ls_in_pre_lb', 110, 'eth.dst == $svc_monitor_mac', 'next;', 6045);
  sink.add(dp, 'ls_out_pre_lb', 110, 'eth.src == $svc_monitor_mac', 'next;', 6047);
  sink.add(dp, 'ls_in_pre_lb', 0, '1', 'next;', 6051);
  sink.add(dp, 'ls_out_pre_lb', 0, '1', 'next;', 6052);
  for (const p of sw.routerPorts) skipPortFromConntrack(sink, sw, p, 'ls_in_pre_lb', 'ls_out_pre_lb', 110);
  if (!sw.hasLbVip) for (const p of sw.localnetPorts) skipPortFromConntrack(sink, sw, p, 'ls_in_pre_lb', 'ls_out_pre_lb', 110);
  sink.add(dp, 'ls_in_pre_lb', 110, 'reg0[16] == 1', 'next;', 6073);
  sink.add(dp, 'ls_out_pre_lb', 110, 'reg0[16] == 1', 'next;', 6075);
  if (sw.hasLbVip) {
    sink.add(dp, 'ls_in_pre_lb', 100, 'ip', 'reg0[2] = 1; next;', 6109);
    sink.add(dp, 'ls_out_pre_lb', 100, 'ip', 'reg0[2] = 1; next;', 6111);
  }
}

function preStateful(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  sink.add(dp, 'ls_in_pre_stateful', 0, '1', 'next;', 6123);
  sink.add(dp, 'ls_out_pre_stateful', 0, '1', 'next;', 6124);
  sink.add(dp, 'ls_in_pre_stateful', 110, 'reg0[2] == 1', 'ct_lb_mark;', 6132);
  sink.add(dp, 'ls_out_pre_stateful', 110, 'reg0[2] == 1', 'ct_lb_mark;', 6135);
  sink.add(dp, 'ls_in_pre_stateful', 100, 'reg0[0] == 1', 'ct_next;', 6140);
  sink.add(dp, 'ls_out_pre_stateful', 100, 'reg0[0] == 1', 'ct_next;', 6143);
}

function aclHints(sink: FlowSink, sw: SwitchDp): void {
  for (const st of ['ls_in_acl_hint', 'ls_out_acl_hint'] as const) {
    if (!sw.hasAcls && !sw.hasLbVip) sink.add(sw.dp, st, 65535, '1', 'next;', 6177);
    else sink.add(sw.dp, st, 0, '1', 'next;', 6179);
    if (!sw.hasStatefulAcl && !sw.hasLbVip) continue;
    sink.add(sw.dp, st, 7, 'ct.new && !ct.est', 'reg0[7] = 1; reg0[9] = 1; next;', 6190);
    sink.add(sw.dp, st, 6, `!ct.new && ct.est && !ct.rpl && ${CT_BLOCKED} == 1`, 'reg0[7] = 1; reg0[9] = 1; next;', 6206);
    sink.add(sw.dp, st, 5, '!ct.trk', 'reg0[8] = 1; reg0[9] = 1; next;', 6212);
    sink.add(sw.dp, st, 4, `!ct.new && ct.est && !ct.rpl && ${CT_BLOCKED} == 0`, 'reg0[8] = 1; reg0[10] = 1; next;', 6228);
    sink.add(sw.dp, st, 3, '!ct.est', 'reg0[9] = 1; next;', 6236);
    sink.add(sw.dp, st, 2, `ct.est && ${CT_BLOCKED} == 1`, 'reg0[9] = 1; next;', 6242);
    sink.add(sw.dp, st, 1, `ct.est && ${CT_BLOCKED} == 0`, 'reg0[10] = 1; next;', 6253);
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
  sink.add(sw.dp, st, acl.priority + ACL_PRI_OFFSET, match, actions, 6365, acl.uuid);
}

function considerAcl(ctx: NorthdContext, sink: FlowSink, sw: SwitchDp, acl: Acl, hasStateful: boolean): void {
  const ingress = acl.direction === 'from-lport';
  const st: StageName = ingress && acl.applyAfterLb ? 'ls_in_acl_after_lb' : ingress ? 'ls_in_acl' : 'ls_out_acl';
  const prio = acl.priority + ACL_PRI_OFFSET;
  const log = aclLog(ctx, acl);
  if (acl.action === 'allow-stateless') {
    sink.add(sw.dp, st, prio, acl.match, `${log}next;`, 6401, acl.uuid);
  } else if (acl.action === 'allow' || acl.action === 'allow-related') {
    if (!hasStateful) {
      sink.add(sw.dp, st, prio, acl.match, `${log}next;`, 6416, acl.uuid);
      return;
    }
    const label = acl.label ? `reg0[13] = 1; reg3 = ${acl.label}; ` : '';
    sink.add(sw.dp, st, prio, `reg0[7] == 1 && (${acl.match})`, `reg0[1] = 1; ${label}${log}next;`, 6445, acl.uuid);
    sink.add(sw.dp, st, prio, `reg0[8] == 1 && (${acl.match})`, `${acl.label ? `reg0[1] = 1; ${label}` : ''}${log}next;`, 6470, acl.uuid);
    const logRelated = (acl.options.get('log-related') ?? '').toLowerCase() === 'true';
    if (acl.log && acl.label && logRelated) {
      const lst: StageName = ingress ? 'ls_out_acl' : 'ls_in_acl';
      sink.add(sw.dp, lst, 65533, `ct.est && !ct.rel && !ct.new && !ct.inv && ct.rpl && ${CT_BLOCKED} == 0 && ct_label.label == ${acl.label}`, `${log}next;`, 6506, acl.uuid);
      sink.add(sw.dp, lst, 65533, `!ct.est && ct.rel && !ct.new && !ct.inv && ${CT_BLOCKED} == 0 && ct_label.label == ${acl.label}`, `${log}next;`, 6517, acl.uuid);
    }
  } else if (acl.action === 'drop' || acl.action === 'reject') {
    const reject = acl.action === 'reject';
    if (hasStateful) {
      if (reject) rejectAcl(ctx, sink, sw, st, acl, 'reg0[9] == 1', '');
      else sink.add(sw.dp, st, prio, `reg0[9] == 1 && (${acl.match})`, `${log}/* drop */`, 6543, acl.uuid);
      const commit = `ct_commit { ${CT_BLOCKED} = 1; }; `;
      if (reject) rejectAcl(ctx, sink, sw, st, acl, 'reg0[10] == 1', commit);
      else sink.add(sw.dp, st, prio, `reg0[10] == 1 && (${acl.match})`, `${commit}${log}/* drop */`, 6571, acl.uuid);
    } else if (reject) {
      rejectAcl(ctx, sink, sw, st, acl, '', '');
    } else {
      sink.add(sw.dp, st, prio, acl.match, `${log}/* drop */`, 6588, acl.uuid);
    }
  }
}

function acls(ctx: NorthdContext, sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  const defaultDrop = ctx.globals.defaultAclDrop;
  const hasStateful = sw.hasStatefulAcl || sw.hasLbVip;
  if (!sw.hasAcls) {
    if (!sw.hasLbVip) {
      sink.add(dp, 'ls_in_acl', 65535, '1', 'next;', 6755);
      sink.add(dp, 'ls_out_acl', 65535, '1', 'next;', 6757);
    } else {
      sink.add(dp, 'ls_in_acl', 0, '1', 'next;', 6760);
      sink.add(dp, 'ls_out_acl', 0, '1', 'next;', 6761);
    }
    sink.add(dp, 'ls_in_acl_after_lb', 0, '1', 'next;', 6763);
  } else {
    const a = defaultDrop ? 'drop;' : 'next;';
    sink.add(dp, 'ls_in_acl', 0, '1', a, 6765);
    sink.add(dp, 'ls_out_acl', 0, '1', a, 6767);
    sink.add(dp, 'ls_in_acl_after_lb', 0, '1', a, 6769);
  }
  if (hasStateful) {
    const m = `ip && ct.est && ${CT_BLOCKED} == 1`;
    sink.add(dp, 'ls_in_acl', 1, m, 'reg0[1] = 1; next;', 6799);
    sink.add(dp, 'ls_out_acl', 1, m, 'reg0[1] = 1; next;', 6802);
    const d = defaultDrop ? 'drop;' : 'reg0[1] = 1; next;';
    sink.add(dp, 'ls_in_acl', 1, 'ip && !ct.est', d, 6809);
    sink.add(dp, 'ls_out_acl', 1, 'ip && !ct.est', d, 6811);
    const inv = `ct.inv || (ct.est && ct.rpl && ${CT_BLOCKED} == 1)`;
    sink.add(dp, 'ls_in_acl', 65532, inv, 'drop;', 6825);
    sink.add(dp, 'ls_out_acl', 65532, inv, 'drop;', 6827);
    const rpl = `ct.est && !ct.rel && !ct.new && !ct.inv && ct.rpl && ${CT_BLOCKED} == 0`;
    sink.add(dp, 'ls_in_acl', 65532, rpl, 'reg0[9] = 0; reg0[10] = 0; reg0[17] = 1; next;', 6844);
    sink.add(dp, 'ls_out_acl', 65532, rpl, 'next;', 6848);
    const rel = `!ct.est && ct.rel && !ct.new && !ct.inv && ${CT_BLOCKED} == 0`;
    sink.add(dp, 'ls_in_acl', 65532, rel, 'reg0[17] = 1; ct_commit_nat;', 6874);
    sink.add(dp, 'ls_out_acl', 65532, rel, 'ct_commit_nat;', 6876);
    sink.add(dp, 'ls_in_acl_after_lb', 65532, 'reg0[17] == 1', 'next;', 6881);
  }
  sink.add(dp, 'ls_in_acl', 65532, IPV6_CT_OMIT_MATCH, 'next;', 6892);
  sink.add(dp, 'ls_out_acl', 65532, IPV6_CT_OMIT_MATCH, 'next;', 6894);
  sink.add(dp, 'ls_in_acl_after_lb', 65532, IPV6_CT_OMIT_MATCH, 'next;', 6896);
  for (const acl of sw.acls) considerAcl(ctx, sink, sw, acl, hasStateful);

  for (const p of sw.ports) {
    if (p.nb.type === 'external') continue;
    const d4 = p.nb.dhcpv4_options;
    if (d4) {
      const sid = d4.options.get('server_id');
      const smac = d4.options.get('server_mac');
      const lt = d4.options.get('lease_time');
      if (sid !== undefined && smac !== undefined && lt !== undefined) {
        sink.add(dp, 'ls_out_acl', 34000, `outport == "${p.name}" && eth.src == ${smac} && ip4.src == ${sid} && udp && udp.src == 67 && udp.dst == 68`, hasStateful ? 'ct_commit; next;' : 'next;', 6940, d4.uuid, p.name);
      }
    }
    const d6 = p.nb.dhcpv6_options;
    if (d6) {
      const smac = d6.options.get('server_id');
      const lla = smac === undefined ? undefined : macLla(smac);
      if (lla !== undefined) {
        sink.add(dp, 'ls_out_acl', 34000, `outport == "${p.name}" && eth.src == ${smac} && ip6.src == ${lla} && udp && udp.src == 547 && udp.dst == 546`, hasStateful ? 'ct_commit; next;' : 'next;', 6967, d6.uuid, p.name);
      }
    }
  }
  if (hasDnsRecords(sw)) sink.add(dp, 'ls_out_acl', 34000, 'udp.src == 53', hasStateful ? 'ct_commit; next;' : 'next;', 6980);
  if (sw.hasAcls || sw.hasLbVip) {
    sink.add(dp, 'ls_in_acl', 34000, 'eth.dst == $svc_monitor_mac', 'next;', 6988);
    sink.add(dp, 'ls_out_acl', 34000, 'eth.src == $svc_monitor_mac', 'next;', 6993);
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
  sink.add(dp, 'ls_in_qos_mark', 0, '1', 'next;', 7005);
  sink.add(dp, 'ls_out_qos_mark', 0, '1', 'next;', 7006);
  sink.add(dp, 'ls_in_qos_meter', 0, '1', 'next;', 7007);
  sink.add(dp, 'ls_out_qos_meter', 0, '1', 'next;', 7008);
  for (const q of sw.nb.qos_rules) {
    const ingress = q.direction === 'from-lport';
    for (const [k, v] of q.action) {
      if (k === 'dscp') sink.add(dp, ingress ? 'ls_in_qos_mark' : 'ls_out_qos_mark', q.priority, q.match, `ip.dscp = ${v}; next;`, 7022, q.uuid);
    }
    const rate = q.bandwidth.get('rate') ?? 0;
    const burst = q.bandwidth.get('burst') ?? 0;
    if (rate) {
      sink.add(dp, ingress ? 'ls_in_qos_meter' : 'ls_out_qos_meter', q.priority, q.match, burst ? `set_meter(${rate}, ${burst}); next;` : `set_meter(${rate}); next;`, 7053, q.uuid);
    }
  }
}

function stateful(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  sink.add(dp, 'ls_in_lb', 0, '1', 'next;', 7579);
  sink.add(dp, 'ls_in_stateful', 0, '1', 'next;', 7580);
  sink.add(dp, 'ls_out_stateful', 0, '1', 'next;', 7581);
  const withLabel = `ct_commit { ${CT_BLOCKED} = 0; ct_label.label = reg3; }; next;`;
  sink.add(dp, 'ls_in_stateful', 100, 'reg0[1] == 1 && reg0[13] == 1', withLabel, 7592);
  sink.add(dp, 'ls_out_stateful', 100, 'reg0[1] == 1 && reg0[13] == 1', withLabel, 7596);
  const plain = `ct_commit { ${CT_BLOCKED} = 0; }; next;`;
  sink.add(dp, 'ls_in_stateful', 100, 'reg0[1] == 1 && reg0[13] == 0', plain, 7607);
  sink.add(dp, 'ls_out_stateful', 100, 'reg0[1] == 1 && reg0[13] == 0', plain, 7611);
}

function lbHairpin(sink: FlowSink, sw: SwitchDp): void {
  const dp = sw.dp;
  sink.add(dp, 'ls_in_pre_hairpin', 0, '1', 'next;', 7624);
  sink.add(dp, 'ls_in_nat_hairpin', 0, '1', 'next;', 7625);
  sink.add(dp, 'ls_in_hairpin', 0, '1', 'next;', 7626);
  if (sw.hasLbVip) {
    const h = sw.nb.uuid;
    sink.add(dp, 'ls_in_pre_hairpin', 100, 'ip && ct.trk', 'reg0[6] = chk_lb_hairpin(); reg0[12] = chk_lb_hairpin_reply(); next;', 7633, h);
    sink.add(dp, 'ls_in_nat_hairpin', 100, 'ip && ct.new && ct.trk && reg0[6] == 1', 'ct_snat_to_vip; next;', 7642, h);
    sink.add(dp, 'ls_in_nat_hairpin', 100, 'ip && ct.est && ct.trk && reg0[6] == 1', 'ct_snat;', 7651, h);
    sink.add(dp, 'ls_in_nat_hairpin', 90, 'ip && reg0[12] == 1', 'ct_snat;', 7658, h);
    sink.add(dp, 'ls_in_hairpin', 1, '(reg0[6] == 1 || reg0[12] == 1)', 'eth.dst <-> eth.src; outport = inport; flags.loopback = 1; output;', 7667);
  }
}

function vtepHairpin(sink: FlowSink, sw: SwitchDp): void {
  if (!sw.hasVtepLports) return;
  sink.add(sw.dp, 'ls_in_hairpin', 1000, 'reg0[14] == 1', `next(pipeline=ingress, table=${stageTable('ls_in_l2_lkup')});`, 7688);
  for (const p of sw.routerPorts) {
    const rp = p.peer;
    if (rp?.crJsonKey) sink.add(sw.dp, 'ls_in_hairpin', 2000, `reg0[14] == 1 && is_chassis_resident(${rp.crJsonKey})`, 'next;', 7705);
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
  const byLb = switchLbDatapaths(ctx);
  for (const nb of ctx.db.loadBalancers) {
    const dps = byLb.get(nb.uuid);
    if (dps) buildSwitchLbFlows(sink, nb, dps);
  }
}

/** The switches each load balancer applies to (by load balancer uuid), in switch order. */
export function switchLbDatapaths(ctx: NorthdContext): Map<string, Datapath[]> {
  const byLb = new Map<string, Datapath[]>();
  for (const sw of ctx.switches) {
    for (const nb of sw.lbs) {
      let l = byLb.get(nb.uuid);
      if (!l) byLb.set(nb.uuid, (l = []));
      l.push(sw.dp);
    }
  }
  return byLb;
}

/** The switch-side flows of one load balancer, added for the switches `dps` (a datapath group). */
export function buildSwitchLbFlows(sink: FlowSink, nb: LoadBalancer, dps: readonly Datapath[]): void {
  const rejectTable = stageTable('ls_out_qos_mark');
  const lb = northdLb(nb);
  for (const vip of lb.vips) {
    // build_lb_rules_pre_stateful
    const ipm = vip.v6 ? 'ip6' : 'ip4';
    let act = vip.v6 ? `xxreg1 = ${vip.vipS}; ` : `reg1 = ${vip.vipS}; `;
    if (vip.portS) act += `reg2[0..15] = ${vip.portS}; `;
    act += 'ct_lb_mark;';
    let m = `reg0[2] == 1 && ${ipm}.dst == ${vip.vipS}`;
    if (vip.portS) m += ` && ${lb.proto}.dst == ${vip.portS}`;
    sink.addGroup(dps, 'ls_in_pre_stateful', 120, m, act, 7115, nb.uuid);
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
    sink.addGroup(dps, 'ls_in_lb', prio, m, action, 7558, nb.uuid);
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
  sink.addGroup(dps, 'ls_in_lb_aff_check', 100, newLb, 'reg9[6] = chk_lb_aff(); next;', 7371, hint);
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
    sink.addGroup(dps, 'ls_in_lb_aff_learn', 100, lm, la, 7460, hint);
    sink.addGroup(dps, 'ls_in_lb', 150, am, aa, 7466, hint);
  }
}
