/**
 * The translation cache stays invisible with stateful flows: two switches, one serving frames
 * from the cache and one translating every frame, get the same tables (conntrack with NAT and
 * `ct(table)` forks, learn with idle timeouts, NORMAL, select and fast-failover groups, meters,
 * conjunctions, timeouts) and the same random sequence of frames, clock advances and port flaps,
 * each on its own `VirtualClock`. Outputs, packet-ins, flow counters, group counters, flow-removed
 * events, the conntrack table and the MAC table must be identical at every step.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PacketBuilder } from '@ovnts/packet';
import { Switch, VirtualClock } from '@ovnts/openflow';

const TABLES: readonly string[] = [
  // Stateful firewall with SNAT, learning of return ports, stateless forwarding around it.
  `
  table=0,priority=200,arp,actions=NORMAL
  table=0,priority=100,in_port=1,ip,actions=learn(table=5,idle_timeout=2,priority=10,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),ct(table=1,zone=3)
  table=0,priority=100,in_port=2,ip,actions=ct(table=2,zone=3,nat)
  table=0,priority=50,ip,actions=mod_dl_src:02:00:00:00:00:01,group:1
  table=1,ct_state=+new+trk,tcp,actions=ct(commit,zone=3,nat(src=10.9.0.1-10.9.0.2:4000-4003)),output:2
  table=1,ct_state=+new+trk,udp,actions=ct(commit,zone=3),resubmit(,3)
  table=1,ct_state=+est+trk,actions=output:2
  table=1,priority=0,actions=drop
  table=2,ct_state=+est+trk,actions=resubmit(,5)
  table=2,ct_state=+rel+trk,actions=output:1
  table=2,priority=0,actions=output:4
  table=3,priority=5,udp,tp_dst=53,actions=meter:1,output:3
  table=3,priority=1,actions=group:2
  table=5,priority=0,actions=output:3
  `,
  // Conjunctions, hard timeouts and dec_ttl next to cached stateless flows.
  `
  table=0,priority=100,ip,nw_src=10.0.0.1,actions=conjunction(7,1/2)
  table=0,priority=100,ip,nw_src=10.0.0.2,actions=conjunction(7,1/2)
  table=0,priority=100,tcp,tp_dst=80,actions=conjunction(7,2/2)
  table=0,priority=100,udp,tp_dst=53,actions=conjunction(7,2/2)
  table=0,priority=90,conj_id=7,ip,actions=dec_ttl,output:2
  table=0,priority=80,ip,nw_dst=10.0.0.2,hard_timeout=3,actions=output:3
  table=0,priority=70,ip,idle_timeout=1,actions=mod_nw_tos:8,output:4
  table=0,priority=1,actions=NORMAL
  `,
  // Cacheable stateless flows (with timeouts, rewrites, ARP) beside ct, meters, a fast-failover
  // group and NORMAL: the tables above make every translation uncacheable (conjunctions, select
  // groups, learn), so without this one the cache would never serve a frame here.
  `
  table=0,priority=100,tcp,actions=ct(table=1,zone=5)
  table=0,priority=90,udp,tp_dst=53,idle_timeout=2,actions=mod_nw_tos:8,output:3
  table=0,priority=80,ip,nw_dst=10.0.0.2,hard_timeout=3,actions=dec_ttl,output:2
  table=0,priority=75,udp,actions=mod_dl_src:02:00:00:00:00:07,output:4
  table=0,priority=70,icmp,actions=group:2
  table=0,priority=60,ip,actions=meter:1,output:4
  table=0,priority=10,arp,actions=output:1
  table=0,priority=1,actions=NORMAL
  table=1,ct_state=+new+trk,tcp,actions=ct(commit,zone=5),output:2
  table=1,ct_state=+est+trk,actions=output:2
  table=1,priority=0,actions=drop
  `,
];

const MACS = ['50:54:00:00:00:01', '50:54:00:00:00:02', '50:54:00:00:00:03', 'ff:ff:ff:ff:ff:ff'];
const IPS = ['10.0.0.1', '10.0.0.2', '172.16.0.5', '10.9.0.1', '10.9.0.2'];

interface FrameSpec {
  port: number;
  src: number;
  dst: number;
  sip: number;
  dip: number;
  proto: 'tcp' | 'udp' | 'icmp' | 'arp';
  sport: number;
  dport: number;
  flags: string;
  ttl: number;
}

function build(f: FrameSpec): Uint8Array {
  const b = new PacketBuilder().ethernet({ src: MACS[f.src]!, dst: MACS[f.dst]!, ...(f.proto === 'arp' ? { etherType: 0x0806 } : {}) });
  if (f.proto === 'arp') return b.payload(new Uint8Array([0, 1, 8, 0, 6, 4, 0, 1, 0x50, 0x54, 0, 0, 0, f.src + 1, 10, 0, 0, f.src + 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, f.dst + 1])).build();
  b.ipv4({ src: IPS[f.sip]!, dst: IPS[f.dip]!, ttl: f.ttl });
  if (f.proto === 'tcp') b.tcp({ srcPort: f.sport, dstPort: f.dport, flags: f.flags, seq: 1000, ack: f.flags.includes('A') ? 2000 : 0 });
  else if (f.proto === 'udp') b.udp({ srcPort: f.sport, dstPort: f.dport }).payload('x');
  else b.icmpv4({ type: 8, id: f.sport, seq: 1 }).payload('ping');
  return b.build();
}

const frameArb: fc.Arbitrary<FrameSpec> = fc.record({
  port: fc.integer({ min: 1, max: 4 }),
  src: fc.integer({ min: 0, max: 2 }),
  dst: fc.integer({ min: 0, max: 3 }),
  sip: fc.integer({ min: 0, max: 4 }),
  dip: fc.integer({ min: 0, max: 4 }),
  proto: fc.constantFrom('tcp' as const, 'udp' as const, 'icmp' as const, 'arp' as const),
  sport: fc.constantFrom(1000, 1001, 53, 80, 4000),
  dport: fc.constantFrom(80, 53, 1000, 4001),
  flags: fc.constantFrom('S', 'SA', 'A', 'PA', 'F', 'R'),
  ttl: fc.constantFrom(1, 2, 64),
});

type Step = { t: 'frame'; f: FrameSpec; times: number } | { t: 'advance'; ms: number } | { t: 'port'; port: number; up: boolean };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('frame' as const), f: frameArb, times: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.constantFrom(1, 250, 999, 1000, 1001, 2500) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('port' as const), port: fc.integer({ min: 2, max: 4 }), up: fc.boolean() }) },
);

function rig(table: string, cache: boolean): { sw: Switch; clock: VirtualClock; log: string[] } {
  const clock = new VirtualClock();
  const log: string[] = [];
  const sw = new Switch({
    clock,
    flowCache: cache,
    onOutput: (p, f) => log.push(`out ${p} ${Buffer.from(f).toString('hex')}`),
    onPacketIn: (pi) => log.push(`pin ${pi.reason} ${pi.tableId} ${Buffer.from(pi.frame).toString('hex')}`),
    onFlowRemoved: (ev) => log.push(`removed ${ev.reason} ${ev.durationMs} ${ev.packets} ${ev.entry.flow.table}/${ev.entry.flow.priority}`),
  });
  sw.addPort({ number: 1 });
  sw.addPort({ number: 2, tag: 5 });
  sw.addPort({ number: 3 });
  sw.addPort({ number: 4, trunks: [5, 6] });
  sw.addGroup('group_id=1,type=select,bucket=output:2,bucket=output:3,bucket=mod_dl_dst:02:00:00:00:00:09,output:4');
  sw.addGroup('group_id=2,type=ff,bucket=watch_port:4,actions=output:4,bucket=watch_port:3,actions=output:3');
  sw.addMeter('meter=1,pktps,burst,bands=type=drop,rate=2,burst_size=2');
  sw.addFlows(table);
  return { sw, clock, log };
}

function state(sw: Switch): string {
  const groups = [...sw.groups.values()].map((g) => `${g.packets}/${g.bytes}:${g.buckets.map((b) => `${b.packets}/${b.bytes}`).join(',')}`);
  const tables = sw.tables.filter((t) => t.lookups).map((t) => `${t.id}:${t.lookups}/${t.matched}`);
  return [...sw.dumpFlows(), ...groups, ...tables, ...sw.conntrack.dump(), ...sw.normal.entries().map((e) => `${e.vlan}/${e.mac}/${e.port}`)].join('\n');
}

describe('translation cache with stateful flows', () => {
  it('cached and uncached switches agree step by step', () => {
    let runs = 0;
    let hits = 0;
    let cacheableRuns = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: TABLES.length - 1 }), fc.array(stepArb, { minLength: 5, maxLength: 60 }), (ti, steps) => {
        const a = rig(TABLES[ti]!, true);
        const b = rig(TABLES[ti]!, false);
        let frames = 0;
        for (const [i, s] of steps.entries()) {
          for (const r of [a, b]) {
            if (s.t === 'frame') for (let k = 0; k < s.times; k++) r.sw.receive(s.f.port, build(s.f));
            else if (s.t === 'advance') r.clock.advance(s.ms);
            else r.sw.setPortUp(s.port, s.up);
          }
          if (s.t === 'frame') frames += s.times;
          expect(a.log, `step ${i}`).toEqual(b.log);
          expect(state(a.sw), `step ${i}`).toBe(state(b.sw));
        }
        // The cache was consulted once per frame as received (a hit or a miss) plus once per pass
        // recirculated after ct, and the uncached switch never touched its cache.
        const sa = a.sw.flowCacheStats();
        expect(sa.hits - sa.recircHits + sa.misses - sa.recircMisses).toBeLessThanOrEqual(frames);
        expect(b.sw.flowCacheStats()).toMatchObject({ hits: 0, misses: 0, megaflows: 0 });
        runs++;
        if (ti === TABLES.length - 1) {
          cacheableRuns++;
          hits += sa.hits;
        }
      }),
      { numRuns: 150 },
    );
    // Across the runs on the last table the cache really served frames (a comparison with a
    // cache that never hits proves nothing).
    expect(runs).toBeGreaterThanOrEqual(150);
    expect(cacheableRuns).toBeGreaterThan(20);
    expect(hits).toBeGreaterThan(cacheableRuns);
  }, 90_000); // 150 runs of two switches each: 6-10 s of CPU, more on a loaded machine

  it('the cache still serves the stateless frames around stateful flows', () => {
    const a = rig('table=0,priority=100,tcp,actions=ct(table=1)\ntable=0,priority=10,ip,idle_timeout=5,actions=mod_nw_tos:8,output:3\ntable=1,actions=output:2', true);
    const udpF = build({ port: 1, src: 0, dst: 1, sip: 2, dip: 4, proto: 'udp', sport: 1000, dport: 80, flags: '', ttl: 64 });
    const tcpF = build({ port: 1, src: 0, dst: 1, sip: 2, dip: 4, proto: 'tcp', sport: 1000, dport: 80, flags: 'S', ttl: 64 });
    for (let i = 0; i < 10; i++) {
      a.sw.receive(1, udpF);
      a.sw.receive(1, tcpF);
      a.clock.advance(1000);
    }
    // Every frame after the first of each kind is served from the cache (the UDP ones keep their
    // idle flow alive); the TCP ones run ct every time, the pass before it and the one recirculated
    // after it (table 1, keyed on the ct fields) are cached: 9 UDP + 9 + 9 TCP.
    const st = a.sw.flowCacheStats();
    expect(st.hits).toBe(27);
    expect(st.recircHits).toBe(9);
    expect(a.sw.conntrack.stats.packets).toBe(10);
    expect(a.sw.flows(0).find((e) => e.flow.priority === 10)!.packets).toBe(10);
    a.clock.advance(4000); // last UDP frame at 9 s: idle deadline 14 s
    expect(a.sw.flows(0).length).toBe(2);
    a.clock.advance(1);
    expect(a.sw.flows(0).length).toBe(1);
  });
});
