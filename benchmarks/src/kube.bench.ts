/**
 * `kube reach` on the Kubernetes network-policy e2e model (fixtures/cluster-netpol: namespaces
 * x, y, z with pods a, b, c on two nodes, four policies): every ordered pair of the 9 pods on
 * ports 80 and 81 over TCP, UDP and SCTP, 432 probes, each a connection and its reply traced
 * through the compiled logical flows of both zones.
 *
 * 1. Cold, in five fresh processes, as `ovnts kube reach` runs it: read the manifests, build and
 *    translate the cluster, compile both zones and answer every probe (wall and CPU time, the
 *    median; the target is judged on CPU time, which the machine's other load affects less).
 * 2. Warm, interleaved: probes answered for `kube reach` (verdicts only) against probes answered
 *    with their explanation (`kube trace`: logical path, ovn-trace text of each hop).
 * 3. With OVN installed: one zone exported (`kube nb`), loaded into a real ovn-northd, and the
 *    hops of the probes traced by real `ovn-trace --minimal`, one process per hop as a user runs
 *    it, against our interpreter on the same hops (same microflow, `--ct` list, `--lb-dst`).
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChassisEngine, OvnTraceEngine, buildCluster, reach, readManifests, translateCluster, zoneOvsdbFile, type TraceHop } from '@ovnts/kube';
import { ovnTrace } from '@ovnts/ovn';
import { hasTool, oracleScript, repoRoot, startOvnSandbox } from '@ovnts/testkit';
import { check, measureAll, median, table, target } from './harness.js';

const DIR = join(repoRoot, 'fixtures', 'cluster-netpol');
const ALL = { ports: [80, 81], protocols: ['tcp', 'udp', 'sctp'] as ('tcp' | 'udp' | 'sctp')[] };
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// 1. Cold: each run in a fresh Node process (this file with --cold), as `ovnts kube reach` runs.
interface ColdRun {
  wall: number;
  cpu: number;
  wallBuilt: number;
  cpuBuilt: number;
  allowed: number;
  probes: number;
}
function coldRun(kind: 'lflow' | 'chassis'): ColdRun {
  const w0 = performance.now();
  const c0 = cpuMs();
  const c = buildCluster(readManifests(DIR));
  const n = translateCluster(c);
  // As `ovnts kube reach` builds them (truth tables: no drop reasons).
  const engine = kind === 'chassis' ? new ChassisEngine(n, { dropReasons: false }) : new OvnTraceEngine(n);
  const wallBuilt = performance.now() - w0;
  const cpuBuilt = cpuMs() - c0;
  const ps = reach(c, engine, ALL);
  return { wall: performance.now() - w0, cpu: cpuMs() - c0, wallBuilt, cpuBuilt, allowed: ps.filter((p) => p.verdict === 'allowed').length, probes: ps.length };
}
if (process.argv.includes('--cold')) {
  console.log(JSON.stringify(coldRun(process.argv.includes('chassis') ? 'chassis' : 'lflow')));
  process.exit(0);
}
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} cores`);
// Interleaved, so that both engines see the same machine load: the ratio is the figure to read.
const runs: ColdRun[] = [];
const chassisRuns: ColdRun[] = [];
for (let i = 0; i < 5; i++) {
  for (const [kind, into] of [['lflow', runs], ['chassis', chassisRuns]] as const) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--cold', kind], { encoding: 'utf8' });
    into.push(JSON.parse(out) as ColdRun);
  }
}
check(runs.every((r) => r.probes === 432 && r.allowed === runs[0]!.allowed), 'every cold run answers the same 432 probes');
check(chassisRuns.every((r) => r.probes === 432 && r.allowed === runs[0]!.allowed), 'the chassis engine answers the same 432 probes with as many allowed');
const medOf = (rs: ColdRun[], k: keyof ColdRun) => median(rs.map((r) => r[k]));
const med = (k: keyof ColdRun) => medOf(runs, k);
console.log(`\nkube reach --engine lflow, cold (fresh process: read + translate + compile 2 zones + 432 probes; median of 5): ${med('wall').toFixed(0)} ms wall, ${med('cpu').toFixed(0)} ms CPU (best ${Math.min(...runs.map((r) => r.cpu)).toFixed(0)} ms CPU)`);
console.log(`  manifests to NB (and the engine): ${med('wallBuilt').toFixed(0)} ms wall, ${med('cpuBuilt').toFixed(0)} ms CPU; ${runs[0]!.allowed}/432 allowed`);
console.log(`kube reach --engine chassis, cold, interleaved with the above: ${medOf(chassisRuns, 'wall').toFixed(0)} ms wall, ${medOf(chassisRuns, 'cpu').toFixed(0)} ms CPU (best ${Math.min(...chassisRuns.map((r) => r.cpu)).toFixed(0)} ms CPU): ${(medOf(chassisRuns, 'cpu') / med('cpu')).toFixed(2)}x the lflow engine's CPU time`);
console.log(`  of which building the chassis (2 zones: southbound databases, OpenFlow tables, switches): ${(medOf(chassisRuns, 'cpuBuilt') - med('cpuBuilt')).toFixed(0)} ms CPU more than translating alone`);
target('kube reach on the 9-pod e2e model with 4 policies, all ports (80,81 x tcp,udp,sctp), cold, well under 1 s (lflow engine)', med('cpu') < 700, `median ${med('cpu').toFixed(0)} ms CPU, ${med('wall').toFixed(0)} ms wall, in a fresh process`);

const cluster = buildCluster(readManifests(DIR));
const net = translateCluster(cluster);
const engine = new OvnTraceEngine(net);
reach(cluster, engine, ALL);

// 2. Warm, interleaved.
const pods = cluster.pods;
const pairs = pods.flatMap((a) => pods.filter((b) => b !== a).map((b) => [a, b] as const));
const chassisEngine = new ChassisEngine(net, { dropReasons: false });
reach(cluster, chassisEngine, ALL);
const probeAll = (explain: boolean, e: OvnTraceEngine | ChassisEngine = engine) => (n: number) => {
  for (let i = 0; i < n; i++) {
    const [a, b] = pairs[i % pairs.length]!;
    const r = e.probe({ from: a, dst: b.ips[0]!, proto: ALL.protocols[i % 3]!, port: 80 + (i % 2), explain });
    if (explain) void r.forward.hops.map((h) => h.minimal.length);
  }
};
const [verdicts, explained, framed] = measureAll([
  { name: 'probes answered for kube reach (verdict only)', fn: probeAll(false), ops: 432, warmup: 864 },
  { name: 'probes answered for kube trace (path, hop texts)', fn: probeAll(true), ops: 144, warmup: 288 },
  { name: 'probes as frames through the chassis (kube reach --engine chassis)', fn: probeAll(false, chassisEngine), ops: 432, warmup: 864 },
]);
table('kube probes, warm (a connection and its reply, 2 zones)', [
  { m: { ...verdicts!, extra: `${(1000 / verdicts!.opsPerSec).toFixed(3)} ms/probe; all 432 in ${((432 / verdicts!.opsPerSec) * 1000).toFixed(0)} ms` }, unit: 'probes/s' },
  { m: { ...explained!, extra: `${(1000 / explained!.opsPerSec).toFixed(3)} ms/probe` }, vs: verdicts!, unit: 'probes/s' },
  { m: { ...framed!, extra: `${(1000 / framed!.opsPerSec).toFixed(3)} ms/probe; ${chassisEngine.tunnelFrames} Geneve frames so far` }, vs: verdicts!, unit: 'probes/s' },
]);

// 3. Real ovn-trace on the same hops.
const script = oracleScript('ovn-sandbox');
if (!script || !['ovn-northd', 'ovn-trace', 'ovsdb-client'].every(hasTool)) {
  console.log('\n(OVN not installed: no comparison with real ovn-trace)');
} else {
  const zone = net.zones.get('node-0')!;
  const hops: TraceHop[] = [];
  for (const p of pods) {
    if (p.node !== 'node-0') continue;
    for (const q of pods) {
      if (q === p) continue;
      const r = engine.probe({ from: p, dst: q.ips[0]!, proto: 'tcp', port: 80 });
      for (const h of [...r.forward.hops, ...(r.reply?.hops ?? [])]) if (h.zone === 'node-0' && !h.stateful) hops.push(h);
    }
  }
  const sample = hops.slice(0, 24);
  const scratch = mkdtempSync(join(tmpdir(), 'ovnts-kube-bench-'));
  const sb = startOvnSandbox(script);
  try {
    const file = join(scratch, 'node-0.db');
    writeFileSync(file, zoneOvsdbFile(zone));
    sb.run('bash', ['-c', 'exec ovsdb-client --force restore "$0" < "$1"', sb.nbDb, file]);
    // The first sync may return on the state before the restore; the second waits for northd.
    sb.run('ovn-nbctl', ['--timeout=120', '--wait=sb', 'sync']);
    sb.run('ovn-nbctl', ['--timeout=120', '--wait=sb', 'sync']);
    const args = (h: TraceHop) => ['--minimal', ...h.ct.map((c) => `--ct=${c}`), ...(h.lbDst ? [`--lb-dst=${h.lbDst}`] : []), h.datapath, h.microflow];
    let t = performance.now();
    for (const h of sample) sb.run('ovn-trace', args(h));
    const realMs = (performance.now() - t) / sample.length;
    t = performance.now();
    const reps = 20;
    for (let i = 0; i < reps; i++) for (const h of sample) ovnTrace(zone.db, h.datapath, h.microflow, { format: 'minimal', ct: h.ct, ...(h.lbDst ? { lbDst: h.lbDst } : {}) });
    const oursMs = (performance.now() - t) / (reps * sample.length);
    console.log(`\none hop (ovn-trace --minimal on node-0's NB, ${sample.length} hops of the probes): real ovn-trace ${realMs.toFixed(1)} ms per process, ours ${oursMs.toFixed(3)} ms (microflow text, detailed tree, minimal text); ${(realMs / oursMs).toFixed(0)}x`);
  } finally {
    sb.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
