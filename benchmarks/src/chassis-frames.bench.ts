/**
 * End to end through an emulated cluster: frames per second pod to pod across two chassis through
 * Geneve (`ChassisCluster.send`: VIF in on one chassis, its br-int pipeline, Geneve encap, the
 * underlay event queue, decap and the egress pipeline on the other chassis, delivery), on the
 * lr-basic fixture (the real southbound database ovn-northd 23.03 wrote, fixtures/chassis):
 * - same switch: vm1 (hv1) -> vm2 (hv2) on sw0, whose from-lport `allow-related` ACL and load
 *   balancer send every IP packet through conntrack (stateful ACLs);
 * - routed: vm1 (hv1) -> vm3 (hv2) through router lr0 (ct zones of the router, TTL, MAC rewrite);
 * - load balancer: vm2 (hv2) -> VIP 10.0.0.100:80, DNAT to a backend (the `ct_lb_mark` group).
 * 1024 distinct frames per case (source ports vary: 1024 connections, cycled), and one case
 * repeating a single frame (one connection, the switches' cached path). Before
 * timing, every frame of each case must be delivered where OVN delivers it. Each case runs with
 * the chassis switches' translation cache on and off, interleaved, and prints the ratio and the
 * cache's hits and misses over one pass of its frames. There is no anchor to
 * run in the same process (real OVS with ovn-controller forwards in the kernel or its userspace
 * datapath, not comparable per frame here), so the figures are absolute rates on a loaded machine.
 */
import { join } from 'node:path';
import { loadSbFile } from '@ovnts/ovn';
import { PacketBuilder } from '@ovnts/packet';
import { ChassisCluster, parseChassisMap } from '@ovnts/chassis';
import { CHASSIS_FIXTURES } from '@ovnts/testkit';
import { readFileSync } from 'node:fs';
import { check, measureAll, table, type Case } from './harness.js';

const N = 1024;
const sb = loadSbFile(join(CHASSIS_FIXTURES, 'lr-basic.sb.db'));
const map = parseChassisMap(readFileSync(join(CHASSIS_FIXTURES, 'cases', 'lr-basic.map'), 'utf8'), 'lr-basic.map');

interface Flow {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly frames: Uint8Array[];
}

function frames(src: string, srcIp: string, dst: string, dstIp: string, tcpPort?: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < N; i++) {
    const b = new PacketBuilder().ethernet({ src, dst }).ipv4({ src: srcIp, dst: dstIp, ttl: 64 });
    out.push(tcpPort === undefined ? b.udp({ srcPort: 10000 + i, dstPort: 5000 }).payload('ovn-ts bench').build() : b.tcp({ srcPort: 10000 + i, dstPort: tcpPort, flags: 'S', seq: i }).build());
  }
  return out;
}

const flows: Flow[] = [
  { name: 'same switch, stateful ACL (vm1@hv1 -> vm2@hv2)', from: 'vm1', to: 'vm2', frames: frames('00:00:00:00:00:01', '10.0.0.11', '00:00:00:00:00:02', '10.0.0.12') },
  { name: 'routed (vm1@hv1 -> lr0 -> vm3@hv2)', from: 'vm1', to: 'vm3', frames: frames('00:00:00:00:00:01', '10.0.0.11', '00:00:00:00:ff:01', '10.0.1.13') },
  { name: 'routed, one connection repeated', from: 'vm1', to: 'vm3', frames: new Array<Uint8Array>(N).fill(frames('00:00:00:00:00:01', '10.0.0.11', '00:00:00:00:ff:01', '10.0.1.13')[0]!) },
  { name: 'load balancer VIP (vm2@hv2 -> 10.0.0.100:80)', from: 'vm2', to: '', frames: frames('00:00:00:00:00:02', '10.0.0.12', '00:00:00:00:ff:01', '10.0.0.100', 80) },
];

const cluster = ChassisCluster.fromMap(sb, map);
for (const f of flows) {
  for (const [i, fr] of f.frames.entries()) {
    const r = cluster.send(f.from, fr);
    const ports = r.deliveries.map((d) => d.port);
    check(ports.length === 1 && (f.to === '' ? ports[0] === 'vm1' || ports[0] === 'vm3' : ports[0] === f.to), `${f.name}: frame ${i} delivered to [${ports.join(', ')}]`);
    if (f.to !== '') check(r.underlay.length === 1 && r.underlay[0]!.network === 'geneve', `${f.name}: frame ${i} crossed ${r.underlay.length} underlay frames`);
  }
}
console.log('chassis frames: all frames delivered as OVN delivers them (checked before timing)');

/** Turn the chassis switches' translation cache on or off. */
function setCache(on: boolean): void {
  for (const node of cluster.nodes) node.sw.flowCache = on;
}

/** Translation-cache hits and misses (every chassis switch) over one pass of a case's frames. */
function cacheUse(f: Flow): { hits: number; misses: number } {
  const stats = () => cluster.nodes.map((n) => n.sw.flowCacheStats()).reduce((a, b) => ({ hits: a.hits + b.hits, misses: a.misses + b.misses }), { hits: 0, misses: 0 });
  setCache(true);
  const before = stats();
  for (const fr of f.frames) cluster.send(f.from, fr);
  const after = stats();
  return { hits: after.hits - before.hits, misses: after.misses - before.misses };
}

// Each case twice, with the switches' translation cache on and off, interleaved in one run.
const cases: Case[] = flows.flatMap((f) =>
  [true, false].map((cached) => {
    let k = 0;
    return {
      name: `${f.name}${cached ? '' : ', cache off'}`,
      ops: 2000,
      warmup: 2000,
      fn: (n: number) => {
        setCache(cached);
        for (let i = 0; i < n; i++) cluster.send(f.from, f.frames[k++ & (N - 1)]!);
      },
    };
  }),
);
const m = measureAll(cases, 5);
setCache(true);
const use = flows.map(cacheUse);
table(
  'chassis: end to end across two chassis through Geneve (ChassisCluster.send, one frame at a time, run until idle); each case with the switches\' translation cache on, and off (ratio: on/off, same run)',
  m.map((x, i) => (i % 2 ? { m: x } : { m: { ...x, extra: `cache hits ${use[i >> 1]!.hits} / misses ${use[i >> 1]!.misses} per ${N} frames (all switches)` }, vs: m[i + 1]! })),
);
