/**
 * ovnTrace's API: the three output forms on a known topology (expected texts are what real
 * ovn-trace 23.03 printed on the same NB), datapath lookup, and ovn-trace's error messages.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { TraceError, loadNbFile, ovnTrace, parseLbDst, traceDb, traceTree } from '@ovnts/ovn';
import { TRACE_FIXTURES } from './corpus.js';

const db = loadNbFile(join(TRACE_FIXTURES, 'northd-lr-basic.nb.db'));
const routed =
  'inport == "vm1" && eth.src == 00:00:00:00:00:01 && eth.dst == 00:00:00:00:ff:01 && ip4.src == 10.0.0.11 && ip4.dst == 10.0.1.13 && ip.ttl == 64 && tcp.dst == 80';

describe('ovnTrace output forms', () => {
  test('--minimal of a routed packet (real ovn-trace text)', () => {
    expect(ovnTrace(db, 'sw0', routed, { format: 'minimal' }).replace(/reg14=0x[0-9a-f]+/, 'reg14=K')).toBe(
      '# tcp,reg14=K,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:ff:01,nw_src=10.0.0.11,nw_dst=10.0.1.13,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=0,tp_dst=80,tcp_flags=0\n' +
        'ct_lb_mark /* default (use --ct to customize) */ {\n' +
        '    reg0[6] = 0;\n    reg0[12] = 0;\n    ip.ttl--;\n    eth.src = 00:00:00:00:ff:02;\n    eth.dst = 00:00:00:00:00:03;\n    output("vm3");\n};\n',
    );
  });

  test('--detailed has ovn-trace structure: titled pipelines, numbered tables, indented actions', () => {
    const d = ovnTrace(db, 'sw0', routed);
    const lines = d.split('\n');
    expect(lines[0]).toMatch(/^# tcp,reg14=0x[0-9a-f]+,vlan_tci=0x0000,/);
    expect(lines[1]).toBe('');
    expect(lines[2]).toBe('ingress(dp="sw0", inport="vm1")');
    expect(lines[3]).toBe('-'.repeat(lines[2]!.length));
    expect(lines[4]).toMatch(/^ 0\. ls_in_check_port_sec \(northd\.c:8432\): 1, priority 50, uuid [0-9a-f]{8}$/);
    expect(lines[5]).toBe('    reg0[15] = check_in_port_sec();');
    expect(d).toContain('\nct_lb_mark /* default (use --ct to customize) */\n------------------------------------------------\n');
    expect(d).toContain('\negress(dp="sw1", inport="sw1-lr0", outport="vm3")\n');
    expect(d).toContain('    /* output to "vm3", type "" */\n');
    expect(d).not.toContain('output("vm3")'); // modifications are not printed in detailed form
  });

  test('--summary equals minimal information plus every action', () => {
    const s = ovnTrace(db, 'sw0', routed, { format: 'summary' });
    expect(s).toContain('ingress(dp="sw0", inport="vm1") {\n    reg0[15] = check_in_port_sec();\n    next;\n');
    expect(s).toContain('            /* output to "sw0-lr0", type "patch" */;\n            ingress(dp="lr0", inport="lr0-sw0") {\n');
    expect(s.endsWith('};\n')).toBe(true);
  });

  test('datapath from the inport when none is given; --ct states are consumed in order', () => {
    const a = ovnTrace(db, null, routed, { format: 'minimal', ct: ['new'] });
    expect(a).toContain('ct_lb_mark {\n');
    expect(a).not.toContain('default (use --ct');
    expect(ovnTrace(db, traceDb(db).datapaths.find((d) => d.name === 'sw0')!.nbUuid.slice(0, 8), routed, { format: 'minimal', ct: ['new'] })).toBe(a);
  });

  test('--lb-dst picks the backend and rewrites the destination', () => {
    const vip = 'inport == "vm2" && eth.src == 00:00:00:00:00:02 && eth.dst == 00:00:00:00:ff:01 && ip4.src == 10.0.0.12 && ip4.dst == 10.0.0.100 && ip.ttl == 64 && tcp.src == 33333 && tcp.dst == 80';
    const m = ovnTrace(db, 'sw0', vip, { format: 'minimal', ct: ['new', 'new'], lbDst: '10.0.1.13:80' });
    expect(m).toContain('output("vm3");');
    expect(parseLbDst('[fd00::1]:80')).toEqual({ family: 6, ip: 0xfd000000000000000000000000000001n, port: 80 });
    expect(() => parseLbDst('10.0.0')).toThrow(TraceError);
  });

  test('choices: every resolution of a tie the NB does not determine', () => {
    // A broadcast DHCP request: in sw0's egress to the router port, two priority-110 flows
    // match (`eth.mcast` and `ip && outport == "sw0-lr0"`); ovn-trace takes either, by row order.
    const bcast = 'inport == "vm2" && eth.src == 00:00:00:00:00:02 && eth.dst == ff:ff:ff:ff:ff:ff && ip4.src == 10.0.0.12 && ip4.dst == 255.255.255.255 && ip.ttl == 1 && udp.src == 68 && udp.dst == 67';
    const first = traceTree(db, 'sw0', bcast);
    expect(first.ties.length).toBeGreaterThan(0);
    expect(first.choicePoints.length).toBe(first.ties.length);
    expect(first.choicePoints.every((n) => n >= 2)).toBe(true);
    const texts = new Set<string>();
    for (let k = 0; k < first.choicePoints[0]!; k++) texts.add(ovnTrace(db, 'sw0', bcast, { choices: [k] }));
    // The default is the first candidate; another choice prints another flow for that table.
    expect(ovnTrace(db, 'sw0', bcast, { choices: [0] })).toBe(ovnTrace(db, 'sw0', bcast));
    expect(texts.size).toBe(first.choicePoints[0]);
    // A choice index out of range falls back to the first candidate.
    expect(ovnTrace(db, 'sw0', bcast, { choices: [99] })).toBe(ovnTrace(db, 'sw0', bcast));
  });
});

describe('ovnTrace errors (ovn-trace 23.03 messages)', () => {
  const err = (dp: string | null, flow: string): TraceError => {
    try {
      ovnTrace(db, dp, flow, { format: 'minimal' });
    } catch (e) {
      expect(e).toBeInstanceOf(TraceError);
      return e as TraceError;
    }
    assert.fail('no error');
  };
  test.each([
    ['sw0', 'inport == "vm1" && ip4.src == 1.2.3', 'error parsing flow: Invalid numeric constant.'],
    [
      'sw0',
      'inport == "vm1" && tcp.dst == 80',
      'error parsing flow: Constraints are ambiguous: inport == "vm1" && tcp.dst == 0x50 && ip.proto == 0x6 && (eth.type == 0x800 || eth.type == 0x86dd).',
    ],
    ['sw0', 'inport == "vm1" && ip4 && ip6', 'error parsing flow: Constraints are contradictory.'],
    ['sw0', 'inport == "vm1" && ip4.src = 10.0.0.1', "error parsing flow: Syntax error at `=' expecting relational operator."],
    [
      'sw0',
      'inport == "vm1" && (ip4.src == 10.0.0.1 || ip4.src == 10.0.0.2)',
      'error parsing flow: Constraints are ambiguous: inport == "vm1" && (ip4.src == 0xa000001 || ip4.src == 0xa000002) && eth.type == 0x800.',
    ],
    ['nosuchdp', 'inport == "vm1"', 'unknown datapath "nosuchdp"'],
    [null, 'eth.src == 00:00:00:00:00:01', 'error parsing flow: flow match expression does not match on inport'],
    [null, 'inport == "zz" && eth.src == 00:00:00:00:00:01', 'unknown port "zz"'],
  ])('%s %s', (dp, flow, msg) => {
    const e = err(dp, flow);
    expect(e.message).toBe(msg);
    expect(e.output).toBe(`${msg}\n`);
  });

  test('an L2-only microflow without a datapath (real ovn-trace text)', () => {
    const out = ovnTrace(db, null, 'inport == "vm1" && eth.src == 00:00:00:00:00:01 && eth.dst == 00:00:00:00:00:02', { format: 'minimal' });
    expect(out.replace(/reg14=0x[0-9a-f]+/, 'reg14=K')).toBe(
      '# reg14=K,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,dl_type=0x0000\noutput("vm2");\n',
    );
  });
});
