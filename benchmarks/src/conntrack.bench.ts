/**
 * Connection tracking (issue 4, item 9): new connections per second while filling the tracker to
 * 1M connections, lookups per second of established packets at 1M (random and sequential order,
 * both directions), and memory per connection; against a baseline measured in the same run.
 *
 * Workload. Connection i is UDP 10.0.0.1:(1 + i % 60000) -> 10.0.0.2:(1 + floor(i / 60000)) in
 * zone 0, as in `packages/openflow/test/conntrack/measure.test.ts`. A packet is a 42-byte frame
 * (UDP checksum 0, IPv4 header checksum verified by the tracker) plus its `FlowKey`; per packet the
 * loop writes the ports into the frame and the key and resets ct_state, then calls
 * `Conntrack.execute()`: commit for new connections, plain lookup (`ct(zone=0)`) for established
 * ones. Lookups alternate original and reply direction, so every connection becomes bidirectional
 * (+est) on its first reply and later packets refresh its expiry.
 *
 * Baseline: the obvious JavaScript tracker, a `Map<string, Conn>` keyed by a tuple string built
 * from the same key words (zone, protocol, addresses, ports), one entry per direction pointing to
 * one object holding the state (FIRST/MULTIPLE/BIDIR), expiry, mark and the reply-direction flag;
 * per packet it builds the string, looks it up, updates state and expiry (new: creates the object
 * and both entries). It does no validation at all (no checksum, no protocol checks, no limits),
 * so it is a lower bound on what a Map-based tracker with OVS's semantics would cost.
 *
 * Memory: heap + ArrayBuffer growth after a full GC, divided by the connections (run with
 * `--expose-gc`). Each tracker is filled alone for that reading; the lookups then run interleaved
 * (`measureCpu`: interleaved like `measureAll`, also per CPU-second) with both trackers alive.
 */
import { PacketBuilder } from '@ovnts/packet';
import { Conntrack, FlowKey, VirtualClock, W, extractFlowKey } from '@ovnts/openflow';
import { loadavg } from 'node:os';
import { bytes, check, median, rate, table, type Case, type Measurement } from './harness.js';

/**
 * `measureAll` (interleaved runs, median) that also reports each case's rate per CPU-second of
 * this process (user + system, GC threads included) in `extra`: on the shared 2-core machine the
 * wall-clock rate is the share of a core the benchmark got.
 */
function measureCpu(cases: Case[], runs = 5): Measurement[] {
  for (const c of cases) c.fn(c.warmup ?? Math.min(c.ops, 200_000));
  const wall: number[][] = cases.map(() => []);
  const cpu: number[][] = cases.map(() => []);
  for (let r = 0; r < runs; r++) {
    cases.forEach((c, i) => {
      (globalThis as { gc?: () => void }).gc?.(); // each run starts from a collected heap (not timed)
      const u0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      c.fn(c.ops);
      const ns = Number(process.hrtime.bigint() - t0);
      const u = process.cpuUsage(u0);
      wall[i]!.push((c.ops * 1e9) / ns);
      cpu[i]!.push((c.ops * 1e6) / Math.max(1, u.user + u.system));
    });
  }
  return cases.map((c, i) => ({ name: c.name, opsPerSec: median(wall[i]!), extra: `per CPU-second ${rate(median(cpu[i]!), '/s')}` }));
}
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

const N = Number(process.env.CT_BENCH_N ?? 1_000_000);
const CHUNK = N / 10;
const gc = (globalThis as { gc?: () => void }).gc;

function mem(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const fwd = new PacketBuilder().ethernet({ src: 1, dst: 2 }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1, dstPort: 1, checksum: false }).payload('abcdefgh').build();
const rev = new PacketBuilder().ethernet({ src: 2, dst: 1 }).ipv4({ src: '10.0.0.2', dst: '10.0.0.1' }).udp({ srcPort: 1, dstPort: 1, checksum: false }).payload('abcdefgh').build();
const kf = new FlowKey();
const kr = new FlowKey();
extractFlowKey(fwd, 0, fwd.length, 1, kf);
extractFlowKey(rev, 0, rev.length, 2, kr);

/** Write flow i (original or reply direction) into the frame and key. */
function setFlow(frame: Uint8Array, key: FlowKey, i: number, reply: boolean): void {
  const a = 1 + (i % 60000);
  const b = 1 + Math.floor(i / 60000);
  const s = reply ? b : a;
  const d = reply ? a : b;
  frame[34] = s >>> 8;
  frame[35] = s & 0xff;
  frame[36] = d >>> 8;
  frame[37] = d & 0xff;
  const w = key.w;
  w[W.tp_src] = s;
  w[W.tp_dst] = d;
  w[W.ct_state] = 0;
}

// ---------------------------------------------------------------------------------------------
// Baseline tracker

const FIRST = 0;
const MULTIPLE = 1;
const BIDIR = 2;
const UDP_FIRST_MS = 60_000;
const UDP_MULTIPLE_MS = 60_000;
const UDP_BIDIR_MS = 30_000;

interface BaseConn {
  state: number;
  expires: number;
  mark: number;
  /** The original direction's key (the other entry is the reply). */
  orig: string;
}

class MapTracker {
  readonly map = new Map<string, BaseConn>();
  constructor(readonly clock: VirtualClock) {}

  /** Same fields the tracker keys on: zone, protocol, source and destination address and port. */
  static key(w: Uint32Array, zone: number): string {
    return `${zone}|${w[W.nw_proto]}|${w[W.nw_src]}|${w[W.nw_dst]}|${w[W.tp_src]}|${w[W.tp_dst]}`;
  }

  static reverseKey(w: Uint32Array, zone: number): string {
    return `${zone}|${w[W.nw_proto]}|${w[W.nw_dst]}|${w[W.nw_src]}|${w[W.tp_dst]}|${w[W.tp_src]}`;
  }

  /** Returns ct_state bits (+trk with +new or +est, +rpl in the reply direction), after updating (and with commit creating). */
  execute(w: Uint32Array, zone: number, commit: boolean): number {
    const now = this.clock.now();
    const k = MapTracker.key(w, zone);
    let c = this.map.get(k);
    if (c && c.expires <= now) {
      this.map.delete(c.orig);
      this.map.delete(MapTracker.reverseKey(w, zone) === c.orig ? k : MapTracker.reverseKey(w, zone));
      c = undefined;
    }
    if (!c) {
      if (commit) {
        c = { state: FIRST, expires: now + UDP_FIRST_MS, mark: 0, orig: k };
        this.map.set(k, c);
        this.map.set(MapTracker.reverseKey(w, zone), c);
      }
      return 0x21;
    }
    const reply = c.orig !== k;
    if (reply) c.state = BIDIR;
    else if (c.state === FIRST) c.state = MULTIPLE;
    c.expires = now + (c.state === BIDIR ? UDP_BIDIR_MS : UDP_MULTIPLE_MS);
    return (c.state === BIDIR ? 0x22 : 0x21) | (reply ? 0x08 : 0);
  }
}

// ---------------------------------------------------------------------------------------------

const clock = new VirtualClock();
const commit = { zone: 0, commit: true };
const look = { zone: 0 };

function fillCt(t: Conntrack, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    setFlow(fwd, kf, i, false);
    t.execute(kf, fwd, commit);
  }
}

function fillMap(m: MapTracker, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    setFlow(fwd, kf, i, false);
    m.execute(kf.w, 0, true);
  }
}

/** Fill in ten chunks; returns the overall rate, the last chunk's rate, and the memory delta. */
function fill(name: string, f: (from: number, to: number) => void): { all: Measurement; last: Measurement; mem: number } {
  const m0 = mem();
  let last = 0;
  const u0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let c = 0; c < 10; c++) {
    const s = process.hrtime.bigint();
    f(c * CHUNK, (c + 1) * CHUNK);
    if (c === 9) last = Number(process.hrtime.bigint() - s);
  }
  const all = Number(process.hrtime.bigint() - t0);
  const u = process.cpuUsage(u0);
  const m1 = mem();
  const cpuRate = (N * 1e6) / Math.max(1, u.user + u.system);
  return { all: { name: `${name}: fill 0 -> ${N.toLocaleString('en-US')}`, opsPerSec: (N * 1e9) / all, extra: `per CPU-second ${rate(cpuRate, '/s')}` }, last: { name: `${name}: last ${CHUNK.toLocaleString('en-US')} (from ${(N - CHUNK).toLocaleString('en-US')})`, opsPerSec: (CHUNK * 1e9) / last }, mem: m1 - m0 };
}

console.log(`conntrack benchmark: ${N.toLocaleString('en-US')} UDP connections, zone 0; gc ${gc ? 'exposed' : 'NOT exposed (memory figures unreliable)'}; load average ${load()}`);

// Warm both code paths on small throwaway trackers first.
{
  const t = new Conntrack({ clock });
  fillCt(t, 0, 50_000);
  const m = new MapTracker(clock);
  fillMap(m, 0, 50_000);
}

const ct = new Conntrack({ clock });
const ctFill = fill('conntrack', (a, b) => fillCt(ct, a, b));
check(ct.count === N, `conntrack holds ${ct.count} connections, expected ${N}`);
const base = new MapTracker(clock);
const baseFill = fill('baseline Map', (a, b) => fillMap(base, a, b));
check(base.map.size === 2 * N, `baseline holds ${base.map.size} entries, expected ${2 * N}`);

table('New connections (commit of a new UDP connection), connections/s', [
  { m: baseFill.all, unit: 'conns/s' },
  { m: ctFill.all, vs: baseFill.all, unit: 'conns/s' },
  { m: baseFill.last, unit: 'conns/s' },
  { m: ctFill.last, vs: baseFill.last, unit: 'conns/s' },
]);

console.log('\nMemory per connection (heap + ArrayBuffers after GC, / connections)');
console.log(`  baseline Map (2 string keys + 1 object per connection): ${(baseFill.mem / N).toFixed(0)} B/conn (${bytes(baseFill.mem)})`);
console.log(`  conntrack (typed-array store + index):                   ${(ctFill.mem / N).toFixed(0)} B/conn (${bytes(ctFill.mem)}); typed arrays ${(ct.byteLength() / N).toFixed(0)} B/conn`);
console.log(`  ratio conntrack / baseline: ${(ctFill.mem / baseFill.mem).toFixed(2)}x`);

// Agreement check: both report the same state for a sample of packets in both directions.
{
  const c2 = new Conntrack({ clock });
  const m2 = new MapTracker(clock);
  for (let i = 0; i < 1000; i++) {
    for (const [r, com] of [[false, true], [false, false], [true, false], [false, false]] as const) {
      const f = r ? rev : fwd;
      const k = r ? kr : kf;
      setFlow(f, k, i, r);
      const a = c2.execute(k, f, com ? commit : look) & 0x3f;
      setFlow(f, k, i, r);
      const b = m2.execute(k.w, 0, com);
      check(a === b, `flow ${i} reply=${r}: conntrack ct_state 0x${a.toString(16)}, baseline 0x${b.toString(16)}`);
    }
  }
}

// Lookups at N: random order (LCG over connections) and sequential, alternating directions.
let x = 12345;
let seq = 0;
let sink = 0;
function lookupsCt(n: number, random: boolean): void {
  let s = 0;
  for (let j = 0; j < n; j++) {
    let i: number;
    if (random) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      i = x % N;
    } else {
      i = seq;
      seq = seq + 1 === N ? 0 : seq + 1;
    }
    const r = (j & 1) === 1;
    const f = r ? rev : fwd;
    const k = r ? kr : kf;
    setFlow(f, k, i, r);
    s = (s + ct.execute(k, f, look)) | 0;
  }
  sink = (sink + s) | 0;
}
let xb = 12345;
let seqb = 0;
function lookupsMap(n: number, random: boolean): void {
  let s = 0;
  for (let j = 0; j < n; j++) {
    let i: number;
    if (random) {
      xb = (Math.imul(xb, 1103515245) + 12345) >>> 0;
      i = xb % N;
    } else {
      i = seqb;
      seqb = seqb + 1 === N ? 0 : seqb + 1;
    }
    const r = (j & 1) === 1;
    const f = r ? rev : fwd;
    const k = r ? kr : kf;
    setFlow(f, k, i, r);
    s = (s + base.execute(k.w, 0, false)) | 0;
  }
  sink = (sink + s) | 0;
}

const OPS = Number(process.env.CT_BENCH_LOOKUPS ?? 1_000_000);
const [bRand, cRand, bSeq, cSeq] = measureCpu(
  [
    { name: 'baseline Map, random order', fn: (n) => lookupsMap(n, true), ops: OPS, warmup: 200_000 },
    { name: 'conntrack execute(), random order', fn: (n) => lookupsCt(n, true), ops: OPS, warmup: 200_000 },
    { name: 'baseline Map, sequential', fn: (n) => lookupsMap(n, false), ops: OPS, warmup: 200_000 },
    { name: 'conntrack execute(), sequential', fn: (n) => lookupsCt(n, false), ops: OPS, warmup: 200_000 },
  ],
  5,
);
check(ct.count === N && base.map.size === 2 * N, 'lookups created or lost connections');
table(`Lookups of established connections with ${N.toLocaleString('en-US')} tracked (both directions alternating), lookups/s`, [
  { m: bRand!, unit: 'lookups/s' },
  { m: cRand!, vs: bRand!, unit: 'lookups/s' },
  { m: bSeq!, unit: 'lookups/s' },
  { m: cSeq!, vs: bSeq!, unit: 'lookups/s' },
]);
console.log(`\n  per lookup: conntrack ${(1e9 / cRand!.opsPerSec).toFixed(0)} ns random, ${(1e9 / cSeq!.opsPerSec).toFixed(0)} ns sequential; baseline ${(1e9 / bRand!.opsPerSec).toFixed(0)} ns, ${(1e9 / bSeq!.opsPerSec).toFixed(0)} ns`);
console.log(`  (no numeric target in issue 4; ${rate(cRand!.opsPerSec, 'lookups/s')} random at ${N.toLocaleString('en-US')} connections)`);
if (sink === 42) console.log('');
console.log(`  load average at the end: ${load()}`);
