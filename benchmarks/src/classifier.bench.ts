/**
 * Flow installation with many distinct masks (issue 14, item 1): 200k flows over 50k distinct
 * masks (CLS_FLOWS / CLS_MASKS to change), installed by ovn-ts and by real Open vSwitch in the same
 * run, with the memory each holds per flow.
 *
 * The flows are ovs-ofctl text, one table: `priority=P,reg0=V/M,reg1=J,actions=output:1`, where M
 * runs over CLS_MASKS distinct random 32-bit masks (arbitrary bit masks, not prefixes: every one is
 * its own subtable in both classifiers), V is a random value under M, J = 0..3 tells apart the
 * flows that share a mask, and P takes 200 values. The text is generated from a fixed seed.
 *
 * Ours: a fresh `Switch` fed the whole text by `addFlows` (parse, check, compile, insert: the work
 * `ovs-ofctl add-flows` and ovs-vswitchd do together), timed, with the heap it retains per flow
 * (JS heap plus ArrayBuffers, which hold the match keys and slot arrays outside the heap; forced GCs around it); and `Classifier.insert` alone on pre-parsed matches. Real: a private
 * ovs-vswitchd (`startOvs`, dummy datapath, a bridge without the oracle's marker flows), the same
 * text written to a file and installed by one `ovs-ofctl -O OpenFlow15 add-flows br0 FILE`, timed
 * around the process, with ovs-vswitchd's resident-set growth per flow (`/proc/PID/status`).
 * Our runs come before and after OVS's, so both sides see the same machine load; the ratio uses
 * their mean. Both sides must end with the same number of flows; ours must answer a sample of keys
 * as the linear oracle does. Without Open vSwitch only our side runs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Classifier, FlowKey, Switch, field, parseFlow, type Flow } from '@ovnts/openflow';
import { hasTool, oracleScript, startOvs } from '@ovnts/testkit';
import { bytes, check, liveBytes, target } from './harness.js';
import { LinearClassifier } from './linear-classifier.js';

const FLOWS = Number(process.env.CLS_FLOWS ?? 200_000);
const MASKS = Number(process.env.CLS_MASKS ?? 50_000);
const ANCHOR = 12_000; // flows/s, ovs-ofctl add-flows (docs/performance anchors)
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** xorshift32 from a fixed seed: the same flows on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

function flowText(): { text: string; lines: string[] } {
  const r = rng(0x5eed14);
  const masks = new Set<number>();
  while (masks.size < MASKS) {
    const m = r();
    if (m !== 0) masks.add(m);
  }
  const ml = [...masks];
  const lines: string[] = [];
  for (let i = 0; i < FLOWS; i++) {
    const m = ml[i % MASKS]!;
    const v = (r() & m) >>> 0;
    lines.push(`priority=${100 + ((i % MASKS) % 200)},reg0=0x${v.toString(16)}/0x${m.toString(16)},reg1=${Math.floor(i / MASKS)},actions=output:1`);
  }
  return { text: lines.join('\n') + '\n', lines };
}

function makeSwitch(): Switch {
  const sw = new Switch({ onOutput: () => undefined });
  sw.addPort({ number: 1 });
  return sw;
}

interface OursRun {
  ms: number;
  heapPerFlow: number;
  sw: Switch;
}

function oursText(text: string): OursRun {
  gc();
  gc();
  const h0 = liveBytes();
  const t0 = process.hrtime.bigint();
  const sw = makeSwitch();
  sw.addFlows(text);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  gc();
  gc();
  // Heap and ArrayBuffers: each flow's Match keys and each subtable's slot array are ArrayBuffers, outside heapUsed.
  const heapPerFlow = (liveBytes() - h0) / FLOWS;
  return { ms, heapPerFlow, sw };
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const rate = (n: number, ms: number): string => `${Math.round((n * 1000) / ms).toLocaleString('en-US')} flows/s`;

console.log(`${FLOWS.toLocaleString('en-US')} flows, ${MASKS.toLocaleString('en-US')} distinct masks, one table; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const { text, lines } = flowText();

// Classifier.insert alone, on matches parsed beforehand.
const parsed: Flow[] = lines.map((l) => parseFlow(l, { command: 'add' }));
const t0 = process.hrtime.bigint();
const cls = new Classifier<Flow>();
for (const f of parsed) cls.insert(f.match, f.priority, f);
const insMs = Number(process.hrtime.bigint() - t0) / 1e6;
check(cls.size === FLOWS && cls.subtableCount === MASKS, `classifier: ${cls.size} rules in ${cls.subtableCount} subtables, expected ${FLOWS} in ${MASKS}`);

// The same answers as the linear oracle on a sample of keys (half of them built to hit a flow).
const lin = new LinearClassifier<Flow>();
for (const f of parsed) lin.insert(f.match, f.priority, f);
const r = rng(7);
const key = new FlowKey();
let hitsSeen = 0;
for (let i = 0; i < 40; i++) {
  const f = parsed[r() % FLOWS]!;
  key.w.fill(0);
  key.set(field('reg0'), i % 2 ? r() : Number(f.match.getValue(field('reg0'))) | (r() & ~Number(f.match.getMask(field('reg0')))));
  key.set(field('reg1'), Number(f.match.getValue(field('reg1'))));
  const a = cls.lookup(key.w)?.payload ?? null;
  const b = lin.lookup(key.w)?.payload ?? null;
  check(a === b, `classifier and linear oracle disagree on key ${i}`);
  if (a) hitsSeen++;
}
check(hitsSeen >= 20, 'sample keys found flows');

const before = oursText(text);
check(before.sw.tables[0]!.cls.size === FLOWS, `switch holds ${before.sw.tables[0]!.cls.size} flows, expected ${FLOWS}`);
before.sw.tables[0]!.cls.clear();

let real: { ms: number; rssPerFlow: number; flows: number } | null = null;
const script = oracleScript('ovs-sandbox');
if (script && ['ovs-vswitchd', 'ovs-ofctl', 'ovsdb-server', 'ovs-vsctl'].every(hasTool)) {
  const ovs = await startOvs({ timeoutMs: 900_000 });
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-cls-bench-'));
  try {
    await ovs.bridge('br0', { ports: [1], markers: false });
    const file = join(dir, 'flows.txt');
    writeFileSync(file, text);
    const rss0 = rssKb(ovs.pids.vswitchd);
    const t1 = process.hrtime.bigint();
    const res = await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow15', 'add-flows', 'br0', file]);
    const ms = Number(process.hrtime.bigint() - t1) / 1e6;
    check(res.code === 0, `ovs-ofctl add-flows failed: ${res.stderr}`);
    const rss1 = rssKb(ovs.pids.vswitchd);
    const agg = await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow15', 'dump-aggregate', 'br0']);
    const flows = Number(/flow_count=(\d+)/.exec(agg.stdout)?.[1] ?? NaN);
    check(flows === FLOWS, `OVS holds ${flows} flows, expected ${FLOWS}`);
    real = { ms, rssPerFlow: ((rss1 - rss0) * 1024) / FLOWS, flows };
  } finally {
    await ovs.stop();
    rmSync(dir, { recursive: true, force: true });
  }
} else console.log('Open vSwitch not installed (apt-get install -y openvswitch-switch): our side only');

const after = oursText(text);
check(after.sw.tables[0]!.cls.size === FLOWS, 'second run holds every flow');
const oursMs = (before.ms + after.ms) / 2;
const heap = (before.heapPerFlow + after.heapPerFlow) / 2;

console.log('\n| Install | time | rate | memory per flow |');
console.log('|---|---|---|---|');
console.log(`| ovn-ts Classifier.insert (parsed matches) | ${(insMs / 1000).toFixed(2)} s | ${rate(FLOWS, insMs)} | |`);
console.log(`| ovn-ts Switch.addFlows(text), before OVS | ${(before.ms / 1000).toFixed(2)} s | ${rate(FLOWS, before.ms)} | ${bytes(Math.round(before.heapPerFlow))} heap + ArrayBuffers |`);
if (real) console.log(`| ovs-ofctl add-flows (ovs-vswitchd 3.1) | ${(real.ms / 1000).toFixed(2)} s | ${rate(FLOWS, real.ms)} | ${bytes(Math.round(real.rssPerFlow))} RSS |`);
console.log(`| ovn-ts Switch.addFlows(text), after OVS | ${(after.ms / 1000).toFixed(2)} s | ${rate(FLOWS, after.ms)} | ${bytes(Math.round(after.heapPerFlow))} heap + ArrayBuffers |`);
if (real) {
  const ratio = real.ms / oursMs;
  console.log(`\nratio (ovs-ofctl add-flows time / ours, mean of our two runs): ${ratio.toFixed(2)}x; memory per flow ours/OVS: ${(heap / real.rssPerFlow).toFixed(2)}`);
  target(`issue 14: ${FLOWS / 1000}k flows with ${MASKS / 1000}k masks installed at least as fast as ovs-ofctl add-flows`, ratio >= 1, `${rate(FLOWS, oursMs)} vs ${rate(FLOWS, real.ms)}, ${ratio.toFixed(2)}x`);
} else {
  target(`issue 14: ${FLOWS / 1000}k flows with ${MASKS / 1000}k masks installed at the ovs-ofctl anchor (${ANCHOR} flows/s; OVS absent)`, (FLOWS * 1000) / oursMs >= ANCHOR, rate(FLOWS, oursMs));
}
