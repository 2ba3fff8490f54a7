/**
 * `learn` (issue 4, item 9): learn actions per second, against a baseline in the same run.
 *
 * Ours: what the switch does per executed `learn`: `learnedFlow(spec, key)` (the flow, built from
 * the packet's key words), `Classifier.findExact` of the learned table for the same match and
 * priority, `decideLearn` (OVS's modify-strict decision: refresh, modify, limit or add; comparing
 * the existing flow's actions needs `formatLearnedActions`), and for an add `Classifier.insert`.
 * A second row goes through the switch's flow-mod path instead of the bare classifier:
 * `learnedFlow` then `Switch.addFlow(flow)` (check + compile + insert, replacing an identical flow).
 *
 * Baseline: the naive way to implement learn in a switch that has a text flow parser: print the
 * learned flow as `ovs-ofctl` text from the packet's fields and `Switch.addFlow(text)` it (parse +
 * check + compile + insert; an identical flow is replaced).
 *
 * Before timing, the flow each way installs is checked to be the same (match, priority, actions).
 *
 * Two specs: MAC learning (`NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[]`, `load:NXM_OF_IN_PORT[]->reg0`) and
 * a load-balancer affinity flow like OVN's (5 match fields, 2 loads, cookie). Two workloads: *add*
 * (every learn is a new flow; the table grows to the run's size, a fresh table per run) and
 * *refresh* (10,000 installed flows learned again in turn: OVS only refreshes them).
 */
import {
  Classifier, Switch, VirtualClock, W, decideLearn, formatFlow, formatLearnedActions, learnedFlow, parseFlow, parseLearnAction,
  FlowKey, extractFlowKey, type ExistingFlowInfo, type LearnAction,
} from '@ovnts/openflow';
import { PacketBuilder } from '@ovnts/packet';
import { loadavg } from 'node:os';
import { check, median, rate, table, type Case, type Measurement, type Row } from './harness.js';

/** Interleaved runs (as `measureAll`), medians of the wall-clock rate and of the rate per CPU-second (in `extra`). */
function measureCpu(cases: Case[], runs = 3): Measurement[] {
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

const ADD_OPS = Number(process.env.LEARN_BENCH_OPS ?? 50_000);
const REFRESH_SET = 10_000;

const clock = new VirtualClock();

interface Spec {
  name: string;
  spec: LearnAction;
  /** Write packet i's fields into the key. */
  setKey(w: Uint32Array, i: number): void;
  /** The baseline's learned-flow text for packet i (from the key's fields). */
  text(w: Uint32Array): string;
}

const hex2 = (n: number) => (n & 0xff).toString(16).padStart(2, '0');
const ip = (a: number) => `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;

const SPECS: Spec[] = [
  {
    name: 'MAC learning',
    spec: parseLearnAction('learn(table=10,idle_timeout=10,priority=5,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15])'),
    setKey(w, i) {
      w[W.dl_src] = 0x0a00;
      w[W.dl_src + 1] = i >>> 0;
      w[W.in_port] = 1 + (i % 48);
    },
    text(w) {
      const hi = w[W.dl_src]!;
      const lo = w[W.dl_src + 1]!;
      const mac = `${hex2(hi >>> 8)}:${hex2(hi)}:${hex2(lo >>> 24)}:${hex2(lo >>> 16)}:${hex2(lo >>> 8)}:${hex2(lo)}`;
      return `table=10,idle_timeout=10,priority=5,dl_dst=${mac},actions=load:${w[W.in_port]}->NXM_NX_REG0[0..15]`;
    },
  },
  {
    name: 'LB affinity (5 fields, 2 loads)',
    spec: parseLearnAction(
      'learn(table=78,idle_timeout=60,priority=100,cookie=0x1,eth_type=0x800,nw_proto=6,NXM_OF_IP_SRC[],NXM_OF_IP_DST[],NXM_OF_TCP_DST[],' +
        'load:NXM_NX_REG1[]->NXM_NX_REG4[],load:NXM_OF_TCP_SRC[]->NXM_NX_REG8[0..15])',
    ),
    setKey(w, i) {
      w[W.nw_src] = (0x0a000000 + i) >>> 0;
      w[W.nw_dst] = 0xac100001 + (i % 16);
      w[W.tp_dst] = 80 + (i % 4);
      w[W.tp_src] = 1024 + (i % 60000);
      w[W.regs + 1] = (0x0a640000 + (i % 1000)) >>> 0;
    },
    text(w) {
      return `table=78,idle_timeout=60,priority=100,cookie=0x1,tcp,nw_src=${ip(w[W.nw_src]!)},nw_dst=${ip(w[W.nw_dst]!)},tp_dst=${w[W.tp_dst]},actions=load:${w[W.regs + 1]}->NXM_NX_REG4[],load:${w[W.tp_src]}->NXM_NX_REG8[0..15]`;
    },
  },
];

// One key per spec, extracted from a real TCP frame, then mutated per packet.
function baseKey(): FlowKey {
  const f = new PacketBuilder().ethernet({ src: '0a:00:00:00:00:01', dst: '0a:00:00:00:00:02' }).ipv4({ src: '10.0.0.1', dst: '172.16.0.1' })
    .tcp({ srcPort: 1024, dstPort: 80, flags: 'S' }).build();
  const k = new FlowKey();
  extractFlowKey(f, 0, f.length, 1, k);
  return k;
}

interface Entry {
  info: ExistingFlowInfo;
  modified: number;
}

let sink = 0;

/** Ours: learnedFlow + findExact + decideLearn + insert (or refresh). */
function oursLearn(cls: Classifier<Entry>, s: Spec, w: Uint32Array): void {
  const lf = learnedFlow(s.spec, w);
  const f = lf.flow;
  const ex = cls.findExact(f.match, f.priority);
  const d = decideLearn(lf, ex?.payload.info, s.spec.limit ?? 0, 0);
  const now = clock.now();
  if (d.kind === 'refresh') {
    ex!.payload.modified = now;
  } else if (d.kind === 'add') {
    cls.insert(f.match, f.priority, {
      info: { idleTimeout: f.idleTimeout, hardTimeout: f.hardTimeout, importance: 0, flags: f.flags, cookie: f.cookie, actionsText: formatLearnedActions(lf) },
      modified: now,
    });
  } else if (d.kind === 'modify') {
    ex!.payload.info = { ...ex!.payload.info, cookie: d.cookie, actionsText: formatLearnedActions(lf) };
    ex!.payload.modified = now;
  }
  sink = (sink + d.kind.length) | 0;
}

function newSwitch(): Switch {
  const sw = new Switch();
  for (let p = 1; p <= 48; p++) sw.addPort({ number: p });
  return sw;
}

// Check that the three ways install the same flows.
for (const s of SPECS) {
  const k = baseKey();
  const cls = new Classifier<Entry>();
  const a = newSwitch();
  const b = newSwitch();
  for (let i = 0; i < 200; i++) {
    s.setKey(k.w, i);
    oursLearn(cls, s, k.w);
    a.addFlow(s.text(k.w));
    b.addFlow(learnedFlow(s.spec, k.w).flow);
  }
  const fa = a.flows(s.spec.table).map((e) => formatFlow(e.flow)).sort();
  const fb = b.flows(s.spec.table).map((e) => formatFlow(e.flow)).sort();
  check(fa.length === 200 && cls.size === 200, `${s.name}: expected 200 learned flows, got ${fa.length} (text), ${cls.size} (classifier)`);
  check(JSON.stringify(fa) === JSON.stringify(fb), `${s.name}: text and learnedFlow disagree:\n${fa[0]}\n${fb[0]}`);
  check(formatFlow(parseFlow(s.text(k.w))) === formatFlow(learnedFlow(s.spec, k.w).flow), `${s.name}: baseline text differs from learnedFlow`);
}

console.log(`learn benchmark: add = ${ADD_OPS.toLocaleString('en-US')} new flows per run into a fresh table; refresh = ${REFRESH_SET.toLocaleString('en-US')} installed flows learned again; load average ${load()}`);

for (const s of SPECS) {
  const k = baseKey();
  const w = k.w;
  // add: fresh table per run.
  const addOurs = (n: number) => {
    const cls = new Classifier<Entry>();
    for (let i = 0; i < n; i++) {
      s.setKey(w, i);
      oursLearn(cls, s, w);
    }
    check(cls.size === n, 'ours: not every learn added a flow');
  };
  const addSwitch = (n: number) => {
    const sw = newSwitch();
    for (let i = 0; i < n; i++) {
      s.setKey(w, i);
      sw.addFlow(learnedFlow(s.spec, w).flow);
    }
  };
  const addText = (n: number) => {
    const sw = newSwitch();
    for (let i = 0; i < n; i++) {
      s.setKey(w, i);
      sw.addFlow(s.text(w));
    }
  };
  // refresh: a preinstalled set, learned again in turn.
  const rCls = new Classifier<Entry>();
  const rSw = newSwitch();
  const rText = newSwitch();
  for (let i = 0; i < REFRESH_SET; i++) {
    s.setKey(w, i);
    oursLearn(rCls, s, w);
    rSw.addFlow(learnedFlow(s.spec, w).flow);
    rText.addFlow(s.text(w));
  }
  let r1 = 0;
  let r2 = 0;
  let r3 = 0;
  const refOurs = (n: number) => {
    for (let j = 0; j < n; j++) {
      s.setKey(w, r1);
      r1 = r1 + 1 === REFRESH_SET ? 0 : r1 + 1;
      oursLearn(rCls, s, w);
    }
  };
  const refSwitch = (n: number) => {
    for (let j = 0; j < n; j++) {
      s.setKey(w, r2);
      r2 = r2 + 1 === REFRESH_SET ? 0 : r2 + 1;
      rSw.addFlow(learnedFlow(s.spec, w).flow);
    }
  };
  const refText = (n: number) => {
    for (let j = 0; j < n; j++) {
      s.setKey(w, r3);
      r3 = r3 + 1 === REFRESH_SET ? 0 : r3 + 1;
      rText.addFlow(s.text(w));
    }
  };
  const [bA, oA, sA, bR, oR, sR] = measureCpu(
    [
      { name: 'baseline: text + Switch.addFlow(text), add', fn: addText, ops: ADD_OPS, warmup: 20_000 },
      { name: 'learnedFlow + findExact + decideLearn + insert, add', fn: addOurs, ops: ADD_OPS, warmup: 20_000 },
      { name: 'learnedFlow + Switch.addFlow(flow), add', fn: addSwitch, ops: ADD_OPS, warmup: 20_000 },
      { name: 'baseline: text + Switch.addFlow(text), refresh', fn: refText, ops: 50_000, warmup: 20_000 },
      { name: 'learnedFlow + findExact + decideLearn, refresh', fn: refOurs, ops: 50_000, warmup: 20_000 },
      { name: 'learnedFlow + Switch.addFlow(flow), refresh', fn: refSwitch, ops: 50_000, warmup: 20_000 },
    ],
    3,
  );
  check(rCls.size === REFRESH_SET, 'refresh runs added flows');
  const rows: Row[] = [
    { m: bA!, unit: 'learns/s' },
    { m: oA!, vs: bA!, unit: 'learns/s' },
    { m: sA!, vs: bA!, unit: 'learns/s' },
    { m: bR!, unit: 'learns/s' },
    { m: oR!, vs: bR!, unit: 'learns/s' },
    { m: sR!, vs: bR!, unit: 'learns/s' },
  ];
  table(`learn actions/s, ${s.name}: ${s.spec.specs.length} specs`, rows);
}
if (sink === 42) console.log('');
console.log(`\nload average at the end: ${load()}`);
