/**
 * ovs-ofctl flow text: flows of the random differential generator (every match field and action
 * it draws, stateful ones included), plus groups, mutated at the character level with a
 * dictionary of ovs-ofctl keywords; parsed (`parseFlow`, `parseGroup`), formatted back, and added
 * to a small switch (which checks them as OVS does).
 */
import { formatFlow, parseFlow, parseGroup, formatGroup, Switch, VirtualClock } from '@ovnts/openflow';
import { flowText, groupText, randomFlowTable } from '../../flowgen.js';
import { defineTextTarget } from '../harness.js';

const DICT = [
  'actions=', 'table=', 'priority=', 'cookie=0x1/0xff', 'idle_timeout=', 'in_port=', 'dl_src=', 'dl_dst=', 'dl_vlan=', 'nw_src=', 'nw_dst=',
  'tp_dst=', 'tcp_flags=+syn-ack', 'ip', 'tcp', 'udp', 'icmp6', 'arp', 'ipv6_src=', 'reg0=', 'xreg1=', 'metadata=', 'ct_state=+trk+new',
  'output:', 'resubmit(,', 'resubmit(1,2,ct)', 'goto_table:', 'group:', 'drop', 'set_field:', '->', 'load:', 'move:', 'NXM_NX_REG0[0..15]',
  'reg1[]', 'ct(commit,zone=1,nat(src=10.0.0.1-10.0.0.9:1000-2000))', 'ct(table=', 'learn(', 'conjunction(1,1/2)', 'write_actions(',
  'clear_actions', 'write_metadata:', 'push_vlan:0x8100', 'pop_vlan', 'dec_ttl', 'controller(reason=no_match)', 'enqueue:1:2', 'meter:',
  'note:00.01', 'exec(', 'bucket=', 'type=select', 'fin_timeout(', '0xffffffffffffffffffffffff', '[', ']', '..', '/0', '::',
];

export default defineTextTarget({
  name: 'flow-text',
  about: 'ovs-ofctl flow and group text through parse, format and a switch',
  draw(r) {
    const t = randomFlowTable(r.u32());
    return t.groups.length > 0 && r.chance(0.15) ? groupText(r.pick(t.groups)) : flowText(r.pick(t.flows));
  },
  dict: DICT,
  mutate: 0.85,
  maxMutations: 4,
  run(text) {
    if (/^\s*group_id=/.test(text)) {
      const g = parseGroup(text);
      const sw = new Switch({ clock: new VirtualClock(0) });
      for (let p = 1; p <= 4; p++) sw.addPort({ number: p });
      return { group: formatGroup(g), added: String(sw.addGroup(g).group.groupId) };
    }
    const f = parseFlow(text, { command: 'add' });
    const formatted = formatFlow(f);
    const sw = new Switch({ clock: new VirtualClock(0) });
    for (let p = 1; p <= 4; p++) sw.addPort({ number: p });
    sw.addFlow(text);
    return { formatted, dumped: sw.dumpFlows() };
  },
});
