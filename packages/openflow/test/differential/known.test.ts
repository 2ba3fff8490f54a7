/**
 * The known differences of KNOWN.md, each checked against real Open vSwitch 3.1: every entry must
 * still show its difference. When one of these tests fails, the difference is gone (fixed in
 * `packages/openflow/src`, or OVS changed): delete the entry here and in KNOWN.md, and let the
 * random generator draw the construct by default (flowgen `known`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '@ovnts/packet';
import { requireOracle, startOvs, type OvsOracle } from '@ovnts/testkit';
import { OFPP, OpenFlowError, Switch, TextParseError } from '@ovnts/openflow';
import { hitsOvsDoubleVlanUpcallBug } from './harness.js';

const req = requireOracle('OVS known differences', 'ovs-sandbox', ['ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');

function ourVerdict(flow: string): string {
  const sw = new Switch();
  for (const p of [1, 2, 3, 4]) sw.addPort({ number: p });
  try {
    sw.addFlow(flow);
    return 'accept';
  } catch (e) {
    if (e instanceof OpenFlowError) return e.errorName;
    if (e instanceof TextParseError) return 'TEXT_PARSE';
    throw e;
  }
}

/** [KNOWN.md id, flow, our verdict, OVS's verdict] (K1, the only entry, is fixed: `mod_tp` in actions.ts). */
const REFUSALS: [string, string, string, string][] = [];

/** [id, flows, frame hex, in_port, port to look at] (K8, the only entry, is fixed: see stateful/switch-stateful.test.ts). */
const OUTPUTS: [string, string, string, number, number][] = [];

describe.skipIf(req.skip)('known differences from Open vSwitch (KNOWN.md) still differ', () => {
  let ovs: OvsOracle;
  beforeAll(async () => {
    ovs = await startOvs();
    await ovs.bridge('kbr', { ports: [1, 2, 3, 4], portPrefix: 'k' });
  }, 60_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  it.each(REFUSALS)('%s: %s', async (_id, flow, ours, theirs) => {
    await ovs.delFlows('kbr');
    const r = await ovs.addFlows('kbr', flow + '\n');
    expect(r.ok ? 'accept' : r.error, 'OVS').toBe(theirs);
    expect(ourVerdict(flow), 'ours').toBe(ours);
  });

  it('K1 (fixed): mod_tp_* without a transport protocol in write_actions and buckets is accepted and rewrites as OVS does', async () => {
    const group = 'group_id=7,type=all,bucket=mod_tp_dst:80,output:2';
    const flow = 'table=0,in_port=1,actions=group:7,write_actions(mod_tp_src:99,output:3)';
    await ovs.delFlows('kbr');
    await ovs.delGroups('kbr');
    expect((await ovs.addGroups('kbr', group + '\n')).ok, 'OVS group').toBe(true);
    expect((await ovs.addFlows('kbr', flow + '\n')).ok, 'OVS flow').toBe(true);
    const sw = new Switch();
    for (const p of [1, 2, 3, 4]) sw.addPort({ number: p });
    sw.addGroup(group);
    sw.addFlow(flow);
    // A UDP and an ICMP echo frame: OVS rewrites the "port" of any IP packet (the ICMP code/type for ICMP).
    for (const hex of [
      '50540000000250540000000108004500002600000000401166c50a0000010a00000203e800350012e7aa00000000000000000000',
      '5054000000025054000000010800450000240000000040016ae00a0000010a0000020800f7f60000000100000000000000000000',
    ]) {
      const frame = fromHex(hex);
      const theirs = (await ovs.runFrames('kbr', [{ port: 1, bytes: frame }]))[0]!.outputs;
      const ours: Record<number, string[]> = {};
      const osw = new Switch({ onOutput: (p, f) => (ours[p] ??= []).push(Buffer.from(f).toString('hex')) });
      for (const p of [1, 2, 3, 4]) osw.addPort({ number: p });
      osw.addGroup(group);
      osw.addFlow(flow);
      osw.receive(1, frame);
      for (const p of [2, 3]) expect(ours[p] ?? [], `port ${p}`).toEqual(theirs[p]!.map((f) => Buffer.from(f).toString('hex')));
    }
    await ovs.delFlows('kbr');
    await ovs.delGroups('kbr');
  });

  it.each(OUTPUTS)('%s: %s', async (_id, flows, hex, inPort, port) => {
    await ovs.replaceFlows('kbr', flows + '\n');
    const frame = fromHex(hex);
    const theirs = (await ovs.runFrames('kbr', [{ port: inPort, bytes: frame }]))[0]!.outputs[port]!.length;
    let ours = 0;
    const sw = new Switch({ onOutput: (p) => p === port && p !== OFPP.LOCAL && ours++ });
    for (const p of [1, 2, 3, 4]) sw.addPort({ number: p });
    sw.addFlows(flows);
    sw.receive(inPort, frame);
    expect(ours, 'the difference is gone: update KNOWN.md').not.toBe(theirs);
  });

  it('K9 (fixed): a VLAN set_field after the action set popped the last tag gives the new tag TPID 0x8100, as OVS', async () => {
    const flows = 'table=0,actions=push_vlan:0x8100,write_actions(set_field:4101->vlan_vid,pop_vlan,output:2)';
    const frame = fromHex('ffffffffffff50540000000186dd62a0000100203a0120010db8000000000000000000000001fe8000000000000000000000000000018700cd580000000020010db80000000000000000000000010101505400000001');
    await ovs.replaceFlows('kbr', flows + '\n');
    const theirs = (await ovs.runFrames('kbr', [{ port: 1, bytes: frame }]))[0]!.outputs[2]!.map((b) => Buffer.from(b).toString('hex'));
    const ours: string[] = [];
    const sw = new Switch({ onOutput: (p, b) => p === 2 && ours.push(Buffer.from(b).toString('hex')) });
    for (const p of [1, 2, 3, 4]) sw.addPort({ number: p });
    sw.addFlows(flows);
    sw.receive(1, frame);
    const tag = (h: string[]): string => h[0]?.slice(24, 32) ?? '-';
    expect(tag(theirs), 'OVS').toBe('81000005');
    expect(tag(ours), 'ours').toBe('81000005');
    expect(ours).toEqual(theirs);
  });

  it('O1 (OVS bug): IPv4 rewrite after a packet-in on a double-tagged packet lands 4 bytes early', async () => {
    const flows = 'table=0,ip,actions=push_vlan:0x88a8,push_vlan:0x8100,controller,set_field:1.2.3.4->ip_dst,output:4';
    const frame = fromHex('5aad281de31db4c9fe45363b080045d7001c67c240000102a9ae625c8f38e00000fb119dee6200000000');
    await ovs.replaceFlows('kbr', flows + '\n');
    const theirs = (await ovs.runFrames('kbr', [{ port: 1, bytes: frame }]))[0]!.outputs[4]!.map((b) => Buffer.from(b).toString('hex'));
    const ours: string[] = [];
    const sw = new Switch({ onOutput: (p, b) => p === 4 && ours.push(Buffer.from(b).toString('hex')) });
    for (const p of [1, 2, 3, 4]) sw.addPort({ number: p });
    sw.addFlows(flows);
    sw.receive(1, frame);
    // Ours: the destination address changes (checksum adjusted). OVS: 01020304 overwrites the source instead.
    expect(ours).toEqual(['5aad281de31db4c9fe45363b8100000088a80000080045d7001c67c24000010286a4625c8f3801020304119dee6200000000']);
    expect(theirs, 'OVS no longer corrupts: remove the filter in the random test').toEqual(['5aad281de31db4c9fe45363b8100000088a80000080045d7001c67c22d8f0102a9ae01020304e00000fb119dee6200000000']);
    expect(hitsOvsDoubleVlanUpcallBug(sw, { port: 1, bytes: frame, origin: 'known' })).toBe(true);
  });

  it('O3 (OVS bug): a truncated IPv6 frame leaves a megaflow without nw_proto that skips the next frame\'s rewrite', async () => {
    const flows = 'table=0,ipv6,actions=mod_nw_tos:184,output:2';
    const truncated = fromHex('ffffffffffff50540000000186dd6b9123450032');
    const full = fromHex('01005e00000150540000000186dd60300001001a3a03fe800000000000000000000000020003fe80000000000000000000000002000381006c3b00070009030a11181f262d343b424950575e656c737a');
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    await ovs.replaceFlows('kbr', flows + '\n');
    const alone = (await ovs.runFrames('kbr', [{ port: 1, bytes: full }]))[0]!.outputs[2]!.map(hex);
    await ovs.appctl('revalidator/purge');
    const after = (await ovs.runFrames('kbr', [{ port: 1, bytes: truncated }, { port: 1, bytes: full }]))[1]!.outputs[2]!.map(hex);
    expect(alone[0]!.slice(28, 36), 'alone: traffic class 0xbb').toBe('6bb00001');
    expect(after[0]!.slice(28, 36), 'OVS no longer reuses the megaflow: drop the warm-cache re-run').toBe('60300001');
  });
});
