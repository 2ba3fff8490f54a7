/**
 * What the actions added for ovn-controller (issue 8) do to frames, pinned to what Open vSwitch 3.1
 * sent for the same flows and frames (captured from the OVS oracle's dummy ports; the random
 * differential suite then checks them against OVS on random tables). Frames: a 52-byte and a
 * 142-byte Ethernet/IPv4/UDP frame from 50:54:00:00:00:01 to 50:54:00:00:00:02.
 */
import { describe, expect, it } from 'vitest';
import { fromHex } from '@ovnts/packet';
import { OpenFlowError, Switch, TextParseError, VirtualClock, checkFlow, formatFlow, parseFlow, parseGroup } from '@ovnts/openflow';

const SMALL = '50540000000250540000000108004500002600000000401166c50a0000010a00000203e800350012e7aa00000000000000000000';
const LARGE =
  '505400000002505400000001080045000080000000004011666b0a0000010a00000203e80035006ce6f6' + '00'.repeat(100);

/** Run `frame` (hex) into port 1 of a 4-port switch holding `flows` (and groups); port -> frames (hex). */
function run(flows: string[], frame: string, groups: string[] = [], cache = false): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  const sw = new Switch({ clock: new VirtualClock(), flowCache: cache, onOutput: (p, f) => (out[p] ??= []).push(Buffer.from(f).toString('hex')) });
  for (let p = 1; p <= 4; p++) sw.addPort({ number: p });
  for (const g of groups) sw.addGroup(g);
  for (const f of flows) sw.addFlow(f);
  sw.receive(1, fromHex(frame));
  return out;
}

const ports = (o: Record<number, string[]>): number[] => Object.keys(o).map(Number).flatMap((p) => o[p]!.map(() => p));

describe('exit', () => {
  it('ends the translation, across resubmits and clones', () => {
    expect(ports(run(['actions=output:2,exit,output:3'], SMALL))).toEqual([2]);
    expect(ports(run(['table=0,actions=resubmit(,1),output:4', 'table=1,actions=output:2,exit,output:3'], SMALL))).toEqual([2]);
    expect(ports(run(['actions=clone(output:2,exit,output:3),output:4'], SMALL))).toEqual([2]);
  });
});

describe('check_pkt_larger', () => {
  const t1 = ['table=1,reg0=0x1/0x1,actions=output:2', 'table=1,reg0=0/0x1,actions=output:3'];
  it('writes whether the frame is longer than N for the rest of its action list', () => {
    const flows = ['table=0,actions=check_pkt_larger(60)->reg0[0],resubmit(,1),output:4', ...t1];
    expect(ports(run(flows, SMALL))).toEqual([3, 4]);
    expect(ports(run(flows, LARGE))).toEqual([2, 4]);
  });
  it('is not seen after the list it is in returns (OVS runs the rest of that list on a copy)', () => {
    const flows = ['table=0,actions=resubmit(,2),resubmit(,1)', 'table=2,actions=check_pkt_larger(60)->reg0[0]', ...t1];
    expect(ports(run(flows, LARGE))).toEqual([3]);
  });
  it('runs the less-or-equal branch with an empty action set (OVS translates the greater branch first, which executes it)', () => {
    const flows = [
      'table=0,actions=write_actions(output:3),goto_table:1',
      'table=1,actions=check_pkt_larger(100)->NXM_NX_REG0[1],write_actions(mod_dl_src:00:00:00:00:00:07),goto_table:2',
    ];
    // Small: only the outer action set outputs. Large: the branch's action set, then the outer one.
    expect(run(flows, SMALL)).toEqual({ 3: [SMALL] });
    expect(run(flows, LARGE)).toEqual({ 3: ['505400000002000000000007' + LARGE.slice(24), LARGE] });
  });
  it('refuses a destination wider than one bit (ovs-ofctl: "Only 1-bit destination field is allowed")', () => {
    expect(() => parseFlow('actions=check_pkt_larger(100)->NXM_NX_REG0[0..1],output:1')).toThrow(/Only 1-bit destination field is allowed/);
  });
});

describe('output truncation', () => {
  it('cuts only that output, after the pending rewrites', () => {
    const o = run(['actions=output(port=2,max_len=20),output:3,output(port=4,max_len=100)'], LARGE);
    expect(o[2]).toEqual([LARGE.slice(0, 40)]);
    expect(o[3]).toEqual([LARGE]);
    expect(o[4]).toEqual([LARGE.slice(0, 200)]);
    const m = run(['actions=mod_dl_src:00:00:00:00:00:07,output(port=2,max_len=20),output:3'], SMALL);
    expect(m[2]).toEqual(['5054000000020000000000070800450000260000']);
    expect(m[3]![0]!.slice(12, 24)).toBe('000000000007');
  });
  it('cuts what was beyond max_len when the trunc ran: a VLAN pushed before the output still adds 4 bytes', () => {
    const o = run(['actions=push_vlan:0x8100,output(port=2,max_len=20),output(port=3,max_len=100)'], LARGE);
    const tagged = LARGE.slice(0, 24) + '81000000' + LARGE.slice(24);
    expect(o[2]).toEqual([tagged.slice(0, 48)]);
    // The VLAN is in the packet by the second trunc: it keeps 100 bytes.
    expect(o[3]).toEqual([tagged.slice(0, 200)]);
  });
  it('is the same through the translation cache', () => {
    const flows = ['actions=output(port=2,max_len=20),output:3'];
    expect(run(flows, LARGE, [], true)).toEqual(run(flows, LARGE));
  });
  it('is not allowed in an action set (OFPBAC_BAD_TYPE from the switch)', () => {
    expect(() => checkFlow(parseFlow('actions=write_actions(output(port=1,max_len=100))'))).toThrow(OpenFlowError);
  });
});

describe('multipath and bundle', () => {
  const dst = (o: Record<number, string[]>): string => o[2]![0]!.slice(0, 12);
  it('pick the link and member OVS picks', () => {
    expect(dst(run(['actions=multipath(eth_src,50,modulo_n,4,0,NXM_NX_REG0[0..3]),move:NXM_NX_REG0[0..7]->NXM_OF_ETH_DST[0..7],output:2'], SMALL))).toBe('505400000001');
    expect(dst(run(['actions=multipath(symmetric_l3l4,7,hrw,12,0,NXM_NX_REG0[0..3]),move:NXM_NX_REG0[0..7]->NXM_OF_ETH_DST[0..7],output:2'], SMALL))).toBe('505400000002');
    expect(ports(run(['actions=bundle(eth_src,0,hrw,ofport,members:2,3,4)'], SMALL))).toEqual([2]);
    // Port 7 does not exist: active_backup takes the next member.
    expect(dst(run(['actions=bundle_load(nw_src,3,active_backup,ofport,NXM_NX_REG0[0..15],members:7,3,4),move:NXM_NX_REG0[0..7]->NXM_OF_ETH_DST[0..7],output:2'], SMALL))).toBe('505400000003');
  });
  it('print as OVS prints them (slaves: becomes members:)', () => {
    expect(formatFlow(parseFlow('actions=bundle(eth_src,0,active_backup,ofport,slaves:1,2)'))).toBe('actions=bundle(eth_src,0,active_backup,ofport,members:1,2)');
  });
});

describe('the value stack', () => {
  it('pushes the bits, pops the low bits of the top value, zero-extended', () => {
    const o = run(['actions=push:NXM_OF_ETH_SRC[],push:NXM_NX_REG0[0..3],pop:NXM_OF_ETH_DST[],pop:NXM_NX_REG1[0..15],pop:NXM_NX_REG2[],move:NXM_NX_REG1[0..7]->NXM_OF_ETH_SRC[0..7],output:2'], SMALL);
    expect(o[2]![0]!.slice(0, 24)).toBe('000000000000505400000001');
  });
  it('refuses a pop into a read-only field and a push of a field the match lacks', () => {
    expect(() => checkFlow(parseFlow('actions=pop:NXM_OF_ETH_TYPE[]'))).toThrow(expect.objectContaining({ errorName: 'OFPBAC_BAD_SET_ARGUMENT' }));
    expect(() => checkFlow(parseFlow('actions=push:NXM_OF_IP_SRC[],output:1'))).toThrow(expect.objectContaining({ errorName: 'OFPBAC_MATCH_INCONSISTENT' }));
  });
});

describe('clone', () => {
  it('runs on a copy: rewrites inside do not reach the actions after it', () => {
    const o = run(['actions=clone(mod_dl_src:00:00:00:00:00:07,output:2),output:3'], SMALL);
    expect(o[2]![0]!.slice(12, 24)).toBe('000000000007');
    expect(o[3]).toEqual([SMALL]);
    expect(formatFlow(parseFlow('actions=clone()'))).toBe('actions=clone(drop)');
  });
  it('checks its actions against the flow (ct needs ip) and is not allowed in write_actions', () => {
    expect(() => checkFlow(parseFlow('actions=clone(ct(commit),output:1)'))).toThrow(expect.objectContaining({ errorName: 'OFPBAC_MATCH_INCONSISTENT' }));
    expect(() => checkFlow(parseFlow('actions=write_actions(clone(output:1))'))).toThrow(expect.objectContaining({ errorName: 'OFPBAC_BAD_TYPE' }));
  });
});

describe('queues, tunnels, mod_tp, sample, fin_timeout', () => {
  it('enqueue is set_queue, output, pop_queue; a reserved port other than IN_PORT/LOCAL is refused', () => {
    expect(formatFlow(parseFlow('actions=enqueue:IN_PORT:5'))).toBe('actions=set_queue:5,IN_PORT,pop_queue');
    expect(() => parseFlow('actions=enqueue:NORMAL:5')).toThrow(expect.objectContaining({ errorName: 'OFPBAC_BAD_OUT_PORT' }));
    expect(ports(run(['actions=enqueue:2:5'], SMALL))).toEqual([2]);
  });
  it('set_tunnel sets tun_id', () => {
    const o = run(['actions=set_tunnel:0x1234,move:NXM_NX_TUN_ID[0..15]->NXM_OF_ETH_SRC[0..15],output:2'], SMALL);
    expect(o[2]![0]!.slice(12, 24)).toBe('505400001234');
  });
  it('mod_tp_* without a transport protocol stays an OpenFlow 1.0 action where OVS keeps it (write_actions, buckets)', () => {
    expect(formatFlow(parseFlow('actions=write_actions(mod_tp_dst:80,output:1)'))).toBe('actions=write_actions(mod_tp_dst:80,output:1)');
    expect(() => checkFlow(parseFlow('actions=write_actions(mod_tp_dst:80,output:1)'))).not.toThrow();
    expect(() => checkFlow(parseFlow('actions=mod_tp_dst:80,output:1'))).toThrow(OpenFlowError);
    const g = parseGroup('group_id=7,type=all,bucket=mod_tp_dst:80,output:1');
    expect(g.buckets[0]!.actions[0]).toEqual({ type: 'mod_tp', dir: 'dst', port: 80 });
  });
  it('sample needs a probability; fin_timeout needs tcp', () => {
    expect(() => parseFlow('actions=sample(collector_set_id=1)')).toThrow(TextParseError);
    expect(() => checkFlow(parseFlow('actions=fin_timeout(idle_timeout=5)'))).toThrow(OpenFlowError);
    expect(formatFlow(parseFlow('tcp,actions=fin_timeout(hard_timeout=10),output:1'))).toBe('tcp actions=fin_timeout(hard_timeout=10),output:1');
  });
});
