/**
 * The chassis switches' translation cache through conntrack (flowcache.ts: ct events, the
 * recirculated passes cached under their recirculation id and ct fields, conjunctive lookups,
 * dp_hash select guards) must be invisible: two clusters on the same southbound database, one with
 * every switch's cache on and one with it off, given the same frames, deliver the same frames to
 * the same ports, put the same frames on the underlay, learn the same rows, and end with the same
 * flow counters (`dump-flows` with statistics), table, group, bucket and port counters and the
 * same conntrack tables.
 *
 * - Random northbound sequences (nb-states.ts: stateful ACLs with conjunctions, a load balancer
 *   with random backends, a router, two chassis) and random frames between the pods, to the VIP,
 *   across the router, each sent once to three times; the southbound database changes between
 *   batches (incremental updates and recomputes), so a stale cached translation would show.
 * - The fixture topologies (fixtures/chassis, the real southbound databases) with the seeded
 *   frames of the frame differential (`ovnTestFrames`), sent three times over: DHCP, DNS, ARP
 *   with MAC bindings learnt (which changes the flows mid-run), multicast, NAT, gateways.
 *
 * CHASSIS_CACHE_SEED and CHASSIS_CACHE_RUNS replay a failure or run longer; the seed is printed.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compileNorthd, type SbDatabase } from '@ovnts/ovn';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { Rng, chassisCaseNames, ovnTestFrames } from '@ovnts/testkit';
import { ChassisCluster, type ClusterConfig, type RunResult } from '@ovnts/chassis';
import { ADDRS, PODS, cluster, network, stateArb, type State } from './nb-states.js';
import { loadCase } from './helpers.js';

const SEED = Number(process.env.CHASSIS_CACHE_SEED ?? Date.now() % 0x7fffffff);
const RUNS = Number(process.env.CHASSIS_CACHE_RUNS ?? 3);

/** Two clusters on the same database: the switches' translation cache on, and off. */
function pair(sb: SbDatabase, config: ClusterConfig): { on: ChassisCluster; off: ChassisCluster } {
  const on = new ChassisCluster(sb, config);
  const off = new ChassisCluster(sb, config);
  for (const n of off.nodes) n.sw.flowCache = false;
  return { on, off };
}

/** What a run did, as text. */
function runText(r: RunResult): string[] {
  return [
    ...r.deliveries.map((d) => `deliver ${d.port}@${d.chassis} ${d.time} ${toHex(d.frame)}`),
    ...r.underlay.map((u) => `underlay ${u.from}->${u.to ?? '?'} ${u.network} ${u.time} ${toHex(u.frame)}`),
    ...r.notes.map((n) => `note ${n.chassis} ${n.kind} ${n.text}`),
  ];
}

/** Everything a cluster's switches count and track. */
function stateText(c: ChassisCluster): string[] {
  const out: string[] = [];
  for (const n of c.nodes) {
    const sw = n.sw;
    for (const l of sw.dumpFlows()) out.push(`${n.name} flow ${l}`);
    for (const t of sw.tableStats()) if (t.lookupCount || t.matchedCount) out.push(`${n.name} table ${t.tableId} ${t.lookupCount} ${t.matchedCount}`);
    for (const [id, g] of sw.groups) out.push(`${n.name} group ${id} ${g.packets} ${g.bytes} ${g.buckets.map((b) => `${b.packets}/${b.bytes}`).join(' ')}`);
    for (const [num, p] of sw.ports) out.push(`${n.name} port ${num} ${JSON.stringify(p.stats)}`);
    for (const l of sw.conntrack.dump()) out.push(`${n.name} ct ${l}`);
  }
  return out;
}

function cacheUse(c: ChassisCluster): { hits: number; recircHits: number; misses: number } {
  return c.nodes.map((n) => n.sw.flowCacheStats()).reduce((a, b) => ({ hits: a.hits + b.hits, recircHits: a.recircHits + b.recircHits, misses: a.misses + b.misses }), { hits: 0, recircHits: 0, misses: 0 });
}

const MAC = (p: number) => `0a:58:0a:80:0${p < 3 ? 0 : 1}:0${(p % 3) + 2}`;
const ROUTER_MAC = (p: number) => `0a:58:0a:80:0${p < 3 ? 0 : 1}:01`;

/** A frame from pod `from`: to another pod (switched or routed), to the VIP, or an ARP for the router. */
const frameArb = fc.record({
  from: fc.integer({ min: 0, max: PODS - 1 }),
  to: fc.integer({ min: 0, max: PODS }), // PODS: the load balancer VIP
  kind: fc.constantFrom('tcp-syn', 'tcp-ack', 'udp', 'icmp', 'arp'),
  sport: fc.constantFrom(1000, 1001, 2000),
  dport: fc.constantFrom(22, 53, 80, 443, 5353, 8080),
  times: fc.integer({ min: 1, max: 3 }),
});
type FrameSpec = typeof frameArb extends fc.Arbitrary<infer T> ? T : never;

function buildFrame(f: FrameSpec): Uint8Array {
  const src = ADDRS[f.from]!;
  if (f.kind === 'arp') {
    const rtr = f.from < 3 ? '10.128.0.1' : '10.128.1.1';
    return new PacketBuilder().ethernet({ src: MAC(f.from), dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, sha: MAC(f.from), spa: src, tpa: rtr }).build();
  }
  const vip = f.to === PODS;
  const dstIp = vip ? '172.30.0.1' : ADDRS[f.to]!;
  const sameSwitch = !vip && f.from < 3 === f.to < 3;
  const b = new PacketBuilder().ethernet({ src: MAC(f.from), dst: sameSwitch ? MAC(f.to) : ROUTER_MAC(f.from) }).ipv4({ src, dst: dstIp, ttl: 64 });
  const dport = vip ? 80 : f.dport;
  if (f.kind === 'udp') return b.udp({ srcPort: f.sport, dstPort: dport }).payload('cache').build();
  if (f.kind === 'icmp') return b.icmpv4({ type: 8, code: 0, id: f.sport }).payload('ping').build();
  return b.tcp({ srcPort: f.sport, dstPort: dport, flags: f.kind === 'tcp-syn' ? 'S' : 'A', seq: 1 }).build();
}

/** Send `frames` (each its number of times, interleaved) through both clusters; every run must agree. */
function sendBoth(on: ChassisCluster, off: ChassisCluster, frames: readonly { from: string; frame: Uint8Array; times: number }[], what: string): number {
  let sent = 0;
  const rounds = Math.max(0, ...frames.map((f) => f.times));
  for (let r = 0; r < rounds; r++) {
    for (const f of frames) {
      if (f.times <= r) continue;
      const a = runText(on.send(f.from, f.frame));
      const b = runText(off.send(f.from, f.frame));
      expect(a, `${what}: ${f.from} ${toHex(f.frame)} (round ${r})`).toEqual(b);
      sent++;
    }
  }
  return sent;
}

describe('translation cache through conntrack: cache on and off agree', () => {
  test('random northbound sequences and frames (stateful ACLs, conjunctions, load balancer, router)', () => {
    console.log(`cluster cache property: seed ${SEED}, ${RUNS} runs (CHASSIS_CACHE_SEED=${SEED} to replay)`);
    const total = { frames: 0, hits: 0, recircHits: 0, misses: 0 };
    fc.assert(
      // The same frames at every step: a translation cached before a change and not invalidated would show.
      fc.property(fc.array(stateArb, { minLength: 2, maxLength: 4 }), fc.array(frameArb, { minLength: 4, maxLength: 14 }), (steps, specs) => {
        let sb: SbDatabase = compileNorthd(network(steps[0]!).build()).sb;
        const { on, off } = pair(sb, cluster);
        steps.forEach((state, i) => {
          if (i > 0) {
            sb = compileNorthd(network(state).build(), { previous: sb }).sb;
            on.updateSouthbound(sb);
            off.updateSouthbound(sb);
          }
          const present = (p: number, s: State) => s.pods[p] === true;
          const frames = specs.filter((f) => present(f.from, state)).map((f) => ({ from: `pod-${f.from}`, frame: buildFrame(f), times: f.times }));
          total.frames += sendBoth(on, off, frames, `step ${i} ${JSON.stringify(state)}`);
          expect(stateText(on), `counters and conntrack after step ${i}`).toEqual(stateText(off));
        });
        const u = cacheUse(on);
        total.hits += u.hits;
        total.recircHits += u.recircHits;
        total.misses += u.misses;
        // The uncached cluster never touches its cache.
        expect(cacheUse(off).hits + cacheUse(off).misses).toBe(0);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`cluster cache property: ${total.frames} frames, cache hits ${total.hits} (${total.recircHits} of recirculated passes), misses ${total.misses}`);
    // The cache served frames, also after conntrack (the test would prove nothing otherwise).
    expect(total.recircHits).toBeGreaterThan(0);
  }, 240_000);

  test('fixture topologies, seeded frames sent three times (MAC bindings learnt mid-run change the flows)', () => {
    const names = chassisCaseNames();
    let frames = 0;
    let recircHits = 0;
    for (const name of names) {
      const l = loadCase(name);
      const { on, off } = pair(l.sb, l.cluster);
      const fs = ovnTestFrames(l.sb, new Set(l.c.map.bindings.keys()), new Rng(SEED), 10).map((f) => ({ from: f.from, frame: f.frame, times: 3 }));
      frames += sendBoth(on, off, fs, name);
      expect(stateText(on), `${name}: counters and conntrack`).toEqual(stateText(off));
      recircHits += cacheUse(on).recircHits;
    }
    console.log(`cluster cache fixtures: ${names.length} topologies, ${frames} frames, ${recircHits} cache hits of recirculated passes`);
    expect(recircHits).toBeGreaterThan(0);
  }, 240_000);

  test('a flow change reaches the cached path: an ACL added after cached frames drops them', () => {
    const base: State = {
      pods: [true, true, true, true, true, true], pg: [[true, true, true, false, false, false], [false, false, false, true, true, true]],
      as: [[true, true, true, true, true, true], [false, false, false, false, false, false]], acls: [false, true, false, false, false, false],
      backends: [true, true, false, false], meter: false, extraRouterPort: false,
    };
    let sb = compileNorthd(network(base).build()).sb;
    const { on, off } = pair(sb, cluster);
    // pod-0 (hv1) -> pod-3 (hv2), TCP 8080: allowed by the allow-related ACL on pg1.
    const f = { from: 'pod-0', frame: buildFrame({ from: 0, to: 3, kind: 'tcp-syn', sport: 1000, dport: 8080, times: 1 }), times: 4 };
    sendBoth(on, off, [f], 'before');
    const before = cacheUse(on).recircHits;
    expect(before).toBeGreaterThan(0);
    expect(off.send(f.from, f.frame).deliveries.map((d) => d.port)).toEqual(['pod-3']);
    expect(on.send(f.from, f.frame).deliveries.map((d) => d.port)).toEqual(['pod-3']);
    // Take the ACL away (pg1 empty), then put pod-3 in pg0 with its to-lport drop of all IPv4.
    sb = compileNorthd(network({ ...base, acls: [false, false, false, false, false, false], pg: [base.pg[0]!, [false, false, false, false, false, false]], as: base.as }).build(), { previous: sb }).sb;
    on.updateSouthbound(sb);
    off.updateSouthbound(sb);
    sendBoth(on, off, [f], 'after removing the ACL and the port group member');
    sb = compileNorthd(network({ ...base, acls: [false, false, false, true, false, false], pg: [[false, false, false, true, true, true], base.pg[1]!] }).build(), { previous: sb }).sb;
    on.updateSouthbound(sb);
    off.updateSouthbound(sb);
    // Now pg0 holds pod-3 with a to-lport drop of all IPv4: the cached path must drop too.
    expect(off.send(f.from, f.frame).deliveries).toEqual([]);
    expect(on.send(f.from, f.frame).deliveries).toEqual([]);
    sendBoth(on, off, [f], 'after the drop ACL');
    expect(stateText(on)).toEqual(stateText(off));
  });
});
