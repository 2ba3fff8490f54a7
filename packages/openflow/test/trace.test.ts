/**
 * Trace text against golden `ovs-appctl ofproto/trace` output recorded from OVS 3.1
 * (test/fixtures/traces/NAME.{flows,groups,microflows,ovs.txt}, bridge br0 with ports 1-3, written
 * by test/fixtures/traces/gen.mjs): every line identical, `Megaflow` and `Datapath actions`
 * included; recirculation ids are renumbered by first appearance on both sides (OVS's come from a
 * daemon-wide pool). With the OVS oracle the goldens are checked to be what OVS prints today.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { internetChecksum, l4ChecksumV4 } from '@ovnts/packet';
import { Switch, formatTrace, parseMicroflow, OFPP } from '@ovnts/openflow';
import { TRACE_GOLDEN_PORTS, readTraceGolden, recordTraceGoldens, requireOracle, traceGoldenSets, type TraceGoldenSet } from '@ovnts/testkit';
import { normalizeRecircIds } from './differential/trace-compare.js';

const dir = fileURLToPath(new URL('./fixtures/traces/', import.meta.url));
const sets = traceGoldenSets(dir);

function loadSet(set: TraceGoldenSet): Switch {
  const sw = new Switch();
  for (const n of TRACE_GOLDEN_PORTS) sw.addPort({ number: n });
  for (const g of set.groups.split('\n').filter(Boolean)) sw.addGroup(g);
  sw.addFlows(set.flows);
  return sw;
}
const load = (name: string): Switch => loadSet(sets.find((s) => s.name === name)!);
const lines = (t: string): string[] => normalizeRecircIds(t).replace(/\s+$/, '').split('\n');

const req = requireOracle('ofproto/trace goldens', 'ovs-sandbox', ['ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');

describe('ofproto/trace text (golden files from OVS 3.1)', () => {
  it('has the golden sets', () => expect(sets.map((s) => s.name)).toEqual(['basic', 'groups', 'vlan']));
  for (const set of sets) {
    const golden = readTraceGolden(dir, set.name);
    it(`${set.name}: one golden per microflow`, () => expect(golden.length).toBe(set.microflows.length));
    set.microflows.forEach((m, i) => {
      it(`${set.name}: ${m}`, () => {
        const ours = formatTrace(loadSet(set).trace(m));
        expect(lines(ours)).toEqual(lines(golden[i]!));
      });
    });
  }

  it.skipIf(req.skip)('the goldens are what OVS prints (gen.mjs would write the same)', async () => {
    for (const set of sets) {
      const now = await recordTraceGoldens(set);
      expect(now.map(lines), set.name).toEqual(readTraceGolden(dir, set.name).map(lines));
    }
  }, 120_000);

  it('datapath actions match OVS where the formats agree', () => {
    const sw = load('basic');
    expect(sw.trace('in_port=1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_dst=80,nw_ttl=64').datapathActions.join(',')).toBe(
      'set(ipv4(src=10.0.0.9,ttl=63)),2,set(eth(dst=00:00:00:00:00:07)),3,3',
    );
    const v = load('vlan');
    expect(v.trace('in_port=1,dl_vlan=5').datapathActions.join(',')).toBe('pop_vlan,push_vlan(vid=5,pcp=7),2,pop_vlan,3,push_vlan(tpid=0x88a8,vid=9,pcp=0),3');
  });

  it('reports tables, outputs with bytes and failures', () => {
    const sw = load('basic');
    const t = sw.trace('in_port=1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_dst=80,nw_ttl=64');
    expect(t.tables.map((x) => x.tableId)).toEqual([0, 1, 2]);
    expect(t.tables[2]!.flow).toBe('table=2,cookie=0x55,priority=5 actions=set_field:0x5->reg0');
    expect(t.outputs.map((o) => o.port)).toEqual([2, 3, 3]);
    expect(t.outputs[0]!.bytes[14 + 8]).toBe(63);
    const v = load('vlan');
    const r = v.trace('in_port=1,udp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,nw_ttl=100');
    expect(r.error).toBe('Recursion too deep');
    expect(r.outputs).toEqual([]);
    // Tracing changes no counters.
    expect(sw.tables[0]!.lookups).toBe(0);
    expect(sw.flows()[0]!.packets).toBe(0);
  });

  it('microflows build the frame flow_compose builds', () => {
    const { frame, inPort } = parseMicroflow('in_port=3,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,udp_src=1,udp_dst=2,nw_ttl=7', 4);
    expect(inPort).toBe(3);
    expect(frame.length).toBe(14 + 20 + 8 + 4);
    expect(Buffer.from(frame.subarray(0, 26)).toString('hex')).toBe('0000000000000000000000000800450000200000000007110000'.slice(0, 44) + Buffer.from(frame.subarray(22, 26)).toString('hex'));
    expect(internetChecksum(frame, 14, 20)).toBe(0);
    expect(l4ChecksumV4(frame, 34, 12, 17, 0x0a000001, 0x0a000002)).toBe(0);
    expect(Array.from(frame.subarray(42))).toEqual([0, 1, 2, 3]);
    expect(OFPP.LOCAL).toBe(0xfffe);
  });
});
