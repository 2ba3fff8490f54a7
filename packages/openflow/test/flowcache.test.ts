/**
 * The translation cache (flowcache.ts) must be invisible: a switch serving frames from it sends
 * the same bytes to the same ports, raises the same packet-ins and counts the same packets and
 * bytes per flow, table, group, bucket and port as a switch that translates every frame. Random
 * tables (masked matches, so one megaflow covers frames that differ elsewhere; actions that read
 * and write fields the lookups consult) and random sequences of related frames, each sent several
 * times interleaved, through both.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PacketBuilder } from '@ovnts/packet';
import { OpenFlowError, Switch, TextParseError, VirtualClock } from '@ovnts/openflow';

function rig(cache: boolean): { sw: Switch; log: string[] } {
  const log: string[] = [];
  const sw = new Switch({
    clock: new VirtualClock(),
    flowCache: cache,
    onOutput: (p, f) => log.push(`out ${p} ${Buffer.from(f).toString('hex')}`),
    onPacketIn: (pi) => log.push(`pin ${pi.reason} ${pi.tableId} ${pi.controllerId} ${Buffer.from(pi.frame).toString('hex')}`),
  });
  for (let i = 1; i <= 4; i++) sw.addPort({ number: i });
  sw.addGroup('group_id=1,type=all,bucket=output:3,bucket=mod_dl_dst:02:00:00:00:00:02,output:2');
  sw.addGroup('group_id=2,type=indirect,bucket=set_field:7->reg1,resubmit(,2)');
  return { sw, log };
}

const matches = [
  '', 'in_port=1', 'in_port=2', 'ip', 'tcp', 'udp', 'ip,nw_src=10.0.0.0/24', 'ip,nw_dst=10.0.1.0/24', 'ip,nw_dst=10.0.0.2',
  'tcp,tp_dst=80', 'tcp,tp_dst=0x50/0xfff0', 'udp,tp_src=53', 'ip,nw_ttl=1', 'dl_vlan=5', 'vlan_tci=0/0x1000', 'reg0=5', 'reg0=0x1/0x1',
  'reg1=7', 'dl_dst=02:00:00:00:00:02', 'dl_src=02:00:00:00:00:0a/ff:ff:ff:ff:ff:fe', 'metadata=0x10/0xf0', 'ip,nw_tos=8',
];
const actions = [
  'output:2', 'output:3', 'output:in_port', 'ALL', 'FLOOD', 'mod_dl_src:02:00:00:00:00:01', 'mod_dl_dst:02:00:00:00:00:02',
  'push_vlan:0x8100', 'pop_vlan', 'set_field:4101->vlan_vid', 'resubmit(,1)', 'resubmit(,2)', 'resubmit(2,1)', 'group:1', 'group:2',
  'load:0x5->NXM_NX_REG0[]', 'load:1->NXM_NX_REG0[0]', 'move:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15]', 'output:NXM_NX_REG2[0..15]',
  'load:2->NXM_NX_REG2[0..15]', 'write_metadata:0x10/0xf0', 'goto_table:2', 'note:01', 'set_field:2->in_port', 'CONTROLLER:64',
];
const ipActions = ['dec_ttl', 'mod_nw_src:9.9.9.9', 'mod_nw_dst:10.0.1.7', 'mod_nw_tos:8', 'move:NXM_OF_IP_DST[]->NXM_NX_REG3[]', 'move:NXM_NX_REG0[]->NXM_OF_IP_SRC[]'];
const l4Actions = ['mod_tp_dst:80', 'mod_tp_src:53'];
const wActions = ['write_actions(output:3)', 'write_actions(group:1)', 'write_actions(dec_ttl,output:2)', 'clear_actions'];

const frameArb = fc.record({
  src: fc.constantFrom('02:00:00:00:00:0a', '02:00:00:00:00:0b', '02:00:00:00:00:0c'),
  dst: fc.constantFrom('02:00:00:00:00:02', '02:00:00:00:00:03'),
  vlan: fc.constantFrom(0, 5, 7),
  tpid: fc.constantFrom(0x8100, 0x88a8),
  ipSrc: fc.constantFrom('10.0.0.1', '10.0.0.9', '10.0.1.1'),
  ipDst: fc.constantFrom('10.0.0.2', '10.0.1.2', '10.0.1.3'),
  ttl: fc.constantFrom(1, 2, 64),
  tos: fc.constantFrom(0, 8),
  udp: fc.boolean(),
  sport: fc.constantFrom(53, 1000, 1001),
  dport: fc.constantFrom(80, 81, 443),
  pay: fc.integer({ min: 0, max: 3 }),
});

type FrameSpec = typeof frameArb extends fc.Arbitrary<infer T> ? T : never;

function build(f: FrameSpec): Uint8Array {
  const b = new PacketBuilder().ethernet({ src: f.src, dst: f.dst });
  if (f.vlan) b.vlan({ vid: f.vlan, tpid: f.tpid });
  b.ipv4({ src: f.ipSrc, dst: f.ipDst, ttl: f.ttl, dscp: f.tos >> 2 });
  if (f.udp) b.udp({ srcPort: f.sport, dstPort: f.dport });
  else b.tcp({ srcPort: f.sport, dstPort: f.dport, flags: 'S' });
  return b.payload('x'.repeat(f.pay)).build();
}

function state(sw: Switch): string {
  const ports = [1, 2, 3, 4].map((n) => JSON.stringify(sw.port(n)!.stats));
  const tables = sw.tables.slice(0, 3).map((t) => `${t.lookups}/${t.matched}`);
  const groups = [...sw.groups.values()].map((g) => `${g.packets}/${g.bytes}:${g.buckets.map((b) => `${b.packets}/${b.bytes}`).join(',')}`);
  return [...sw.dumpFlows(), ...ports, ...tables, ...groups].join('\n');
}

describe('translation cache', () => {
  it('gives the same outputs, packet-ins and counters as translating every frame', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ table: fc.integer({ min: 0, max: 2 }), prio: fc.integer({ min: 0, max: 4 }), m: fc.nat(matches.length - 1), acts: fc.array(fc.nat(200), { maxLength: 5 }) }), { maxLength: 14 }),
        fc.array(frameArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(5), fc.constantFrom(1, 2, 3)), { minLength: 1, maxLength: 30 }),
        (flows, specs, sends) => {
          const a = rig(true);
          const b = rig(false);
          for (const f of flows) {
            const m = matches[f.m]!;
            const ip = /ip|tcp|udp|nw_/.test(m);
            const l4 = /tcp|udp/.test(m);
            const pool = [...actions, ...(ip ? ipActions : []), ...(l4 ? l4Actions : []), ...wActions];
            const acts = f.acts.map((i) => pool[i % pool.length]!).filter((x) => !(x === 'goto_table:2' && f.table >= 2));
            const text = `table=${f.table},priority=${f.prio}${m ? `,${m}` : ''},actions=${acts.length ? acts.join(',') : 'drop'}`;
            let okA = true;
            let okB = true;
            try {
              a.sw.addFlow(text);
            } catch (e) {
              if (!(e instanceof OpenFlowError) && !(e instanceof TextParseError)) throw e;
              okA = false;
            }
            try {
              b.sw.addFlow(text);
            } catch (e) {
              if (!(e instanceof OpenFlowError) && !(e instanceof TextParseError)) throw e;
              okB = false;
            }
            expect(okA).toBe(okB);
          }
          const frames = specs.map(build);
          for (const [i, port] of sends) {
            const fr = frames[i % frames.length]!;
            a.sw.receive(port, fr);
            b.sw.receive(port, fr);
          }
          expect(a.log).toEqual(b.log);
          expect(state(a.sw)).toBe(state(b.sw));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('serves repeated frames from the cache and forgets it when a flow changes', () => {
    const { sw, log } = rig(true);
    sw.addFlow('table=0,in_port=1,ip,actions=dec_ttl,mod_dl_src:02:00:00:00:00:01,goto_table:1');
    sw.addFlow('table=1,ip,nw_dst=10.0.1.0/24,actions=output:2');
    const f1 = build({ src: '02:00:00:00:00:0a', dst: '02:00:00:00:00:02', vlan: 0, tpid: 0x8100, ipSrc: '10.0.0.1', ipDst: '10.0.1.2', ttl: 64, tos: 0, udp: false, sport: 1000, dport: 80, pay: 0 });
    for (let i = 0; i < 5; i++) sw.receive(1, f1);
    const st = sw.flowCacheStats();
    expect(st.megaflows).toBe(1);
    expect(st.hits).toBe(4);
    expect(log.length).toBe(5);
    sw.addFlow('table=1,priority=40000,ip,actions=output:3');
    sw.receive(1, f1);
    expect(log[5]!.startsWith('out 3 ')).toBe(true);
    expect(sw.flows(0)[0]!.packets).toBe(6);
  });
});
