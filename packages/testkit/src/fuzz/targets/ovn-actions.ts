/**
 * OVN logical actions: sequences of the actions ovn-northd emits (assignments, exchanges,
 * `next`, `output`, the `ct_*` family with nested actions, packet-building actions with nested
 * blocks, DHCP and ND option actions, lookups into registers), mutated at the character level;
 * parsed in the ingress and egress pipelines and formatted back in OVN's canonical form.
 */
import { formatActions, parseActions } from '@ovnts/ovn';
import type { Rng } from '../../corpus.js';
import { defineTextTarget } from '../harness.js';

const ctx = { addressSets: { as1: ['10.0.0.1'] }, portGroups: { pg1: ['lp1'] } };

const SIMPLE = [
  'next;', 'next(1);', 'next(pipeline=egress, table=3);', 'output;', 'drop;', 'ct_next;', 'ct_clear;', 'ct_dnat;', 'ct_snat(10.0.0.1);',
  'ct_lb_mark;', 'ct_lb_mark(backends=10.0.0.2:80,10.0.0.3:80; hash_fields="ip_src,ip_dst");', 'ip.ttl--;', 'eth.dst <-> eth.src;',
  'outport = "lp1";', 'inport = outport;', 'reg0 = 1;', 'reg0[0..7] = 0xff;', 'reg1 = reg2;', 'xxreg0 = ip6.dst;', 'flags.loopback = 1;',
  'eth.src = 00:00:00:00:00:01;', 'ip4.dst = 10.0.0.5;', 'ct_mark.blocked = 1;', 'reg0[3] = lookup_arp(inport, ip4.src, eth.src);',
  'reg0[0] = check_pkt_larger(1500);', 'reg9[2] = lookup_nd(inport, ip6.src, eth.src);', 'put_arp(inport, arp.spa, arp.sha);',
  'get_arp(outport, reg0);', 'reg0[3] = put_dhcp_opts(offerip = 10.0.0.5, router = 10.0.0.1, netmask = 255.255.255.0, lease_time = 3600);',
  'reg0[3] = put_dhcpv6_opts(ia_addr = fd00::5, server_id = 00:00:00:00:00:01);', 'set_queue(5);', 'log(verdict=allow, severity=alert, name="acl1");',
  'ct_commit { ct_mark.blocked = 0; ct_label = 0x1; };', 'handle_svc_check(inport);', 'trigger_event(event = "empty_lb_backends", vip = "10.0.0.1:80", protocol = "tcp", load_balancer = "a4b3c2d1-0000-0000-0000-000000000001");',
  'select(reg0, 1, 2, 3);', 'fwd_group(liveness=true, childports="lp1", "lp2");', 'sample(probability=65535, collector_set=1, obs_domain=1, obs_point=1);',
];
const NESTED = ['arp', 'icmp4', 'icmp4_error', 'icmp6', 'nd_ns', 'nd_na', 'tcp_reset', 'reject', 'clone', 'igmp'];

function actions(r: Rng, depth: number): string {
  const out: string[] = [];
  for (let n = r.int(1, 4); n > 0; n--) {
    if (depth < 2 && r.chance(0.2)) out.push(`${r.pick(NESTED)} { ${actions(r, depth + 1)} };`);
    else out.push(r.pick(SIMPLE));
  }
  return out.join(' ');
}

const DICT = ['next;', 'output;', ';', '{', '}', '=', '<->', '--', 'reg0', 'ip4.dst', 'eth.src', 'ct_commit', 'arp', '"lp1"', '[0..3]', '(', ')', ',', '10.0.0.1', 'fd00::1', 'pipeline=', 'table='];

export default defineTextTarget({
  name: 'ovn-actions',
  about: 'OVN logical actions parsed in both pipelines and formatted back',
  draw: (r) => actions(r, 0),
  dict: DICT,
  maxLen: 1200,
  run(text) {
    const out: string[] = [];
    for (const pipeline of ['ingress', 'egress'] as const) {
      const p = parseActions(text, { ...ctx, pipeline, table: 5 });
      out.push(formatActions(p.actions));
    }
    return out;
  },
});
