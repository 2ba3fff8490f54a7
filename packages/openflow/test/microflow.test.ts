/**
 * Microflows (what `Switch.trace('...')` and `ovnts of-trace` read) are parsed as OVS 3.1's
 * `parse_ofp_exact_flow()`: each case below is what `ovs-appctl ofproto/trace br0 FLOW` answered
 * ("Bad openflow flow syntax: FLOW: MESSAGE", or a trace). Issue 14 item 4: a field whose
 * prerequisites are missing used to be dropped silently, tracing another packet.
 */
import { describe, expect, it } from 'vitest';
import { OFPP, Switch, TextParseError, W, formatTrace, parseExactFlow } from '@ovnts/openflow';

const REFUSED: [string, string][] = [
  ['in_port=1,tcp_dst=80', 'prerequisites not met for setting tcp_dst'],
  ['in_port=1,udp,tp_dst=53', 'prerequisites not met for setting tp_dst'],
  ['in_port=1,nw_src=10.0.0.1', 'prerequisites not met for setting nw_src'],
  ['in_port=1,ip,icmp_type=8', 'prerequisites not met for setting icmp_type'],
  ['in_port=1,ipv6,nd_target=::1', 'prerequisites not met for setting nd_target'],
  ['in_port=1,icmp6,icmp_type=135,nd_target=::1', 'prerequisites not met for setting icmp_type'],
  ['in_port=1,tcp,tp_dst=53,tp_dst=54', 'field tp_dst set multiple times'],
  ['in_port=1,ip,ip', 'Ethernet type set multiple times'],
  ['in_port=1,tcp,udp', 'Ethernet type set multiple times'],
  ['in_port=1,foo=1', 'unknown field foo'],
  ['in_port=1,tcp,nw_src=10.0.0.1,actions=drop', 'unknown field actions'],
  ['in_port=1,ip,nw_src=10.0.0.0/8', 'bad value for nw_src (10.0.0.0/8: wildcards not allowed here)'],
  ['in_port=1,reg0=0x5/0xff', 'bad value for reg0 (0x5/0xff: wildcards not allowed here)'],
  ['in_port=1,tcp,tcp_flags=+syn', 'bad value for tcp_flags (+syn: wildcards not allowed here)'],
  ['in_port=1,ip,ct_state=+trk', 'bad value for ct_state (+trk: wildcards not allowed here)'],
];

const ACCEPTED = [
  'in_port=1,tcp,tcp_dst=80',
  'in_port=1,udp,udp_dst=53',
  'in_port=1,tcp,tp_dst=0,tp_dst=54',
  'in_port=1,dl_vlan=5',
  'in_port=1,arp,arp_op=1',
  'in_port=1,icmp,icmp_type=8',
  'in_port=1,dl_type=0x0800,nw_proto=6,tp_dst=80',
  'in_port=1,ip,ct_state=trk',
  'in_port=1,tcp,tcp_flags=syn',
  'in_port=1,tcp(',
];

describe('microflows (OVS parse_ofp_exact_flow)', () => {
  it('refuses what ofproto/trace refuses, with its message', () => {
    for (const [text, msg] of REFUSED) {
      let err: unknown;
      try {
        parseExactFlow(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(TextParseError);
      expect((err as TextParseError).expected, text).toBe(msg);
    }
  });

  it('accepts what ofproto/trace accepts', () => {
    for (const text of ACCEPTED) expect(() => parseExactFlow(text), text).not.toThrow();
  });

  it('Switch.trace refuses a microflow without the prerequisites instead of tracing another packet', () => {
    const sw = new Switch();
    sw.addPort({ number: 1 });
    sw.addPort({ number: 2 });
    sw.addFlow('actions=output:2');
    expect(() => sw.trace('in_port=1,tcp_dst=80')).toThrow(/prerequisites not met for setting tcp_dst/);
    expect(formatTrace(sw.trace('in_port=1,tcp,tcp_dst=80'))).toMatch(/^Flow: tcp,in_port=1,.*tp_dst=80,/);
  });

  it('defaults in_port to NONE (OVS prints in_port=ANY)', () => {
    expect(parseExactFlow('tcp,tp_dst=80').value[W.in_port]).toBe(OFPP.NONE);
    const sw = new Switch();
    sw.addFlow('actions=drop');
    expect(formatTrace(sw.trace('tcp,tp_dst=80'))).toMatch(/^Flow: tcp,in_port=ANY,/);
  });
});
