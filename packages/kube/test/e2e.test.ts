/**
 * Conformance: every upstream network-policy e2e case (e2e-cases.ts) through `kube reach` on the
 * 9-pod model spread over two nodes (so same-node and cross-node paths, through the transit
 * switch, are both exercised). With `--semantics kubernetes` every truth table must be the
 * suite's; with the default (OVN-Kubernetes) semantics a probe may differ only where the engine
 * reports a departure (named ports), and only in the cases marked `departs`.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ChassisEngine, OvnTraceEngine, buildCluster, reach, translateCluster, type ReachProbe, type Semantics } from '@ovnts/kube';
import { CASES, type E2eCase } from './e2e-cases.js';
import { modelCluster, modelObjects } from './e2e-model.js';


function clusterFor(c: E2eCase) {
  const base = modelCluster();
  let objs = [...modelObjects(), ...c.objects(base)];
  objs = objs.map((o) => {
    const md = o.metadata as { name: string; namespace?: string; labels?: Record<string, string> };
    if (o.kind === 'Namespace' && c.nsLabels?.[md.name]) return { ...o, metadata: { ...md, labels: { ...md.labels, ...c.nsLabels[md.name] } } };
    if (o.kind === 'Pod' && c.podLabels?.[`${md.namespace}/${md.name}`]) return { ...o, metadata: { ...md, labels: c.podLabels[`${md.namespace}/${md.name}`] } };
    return o;
  });
  return buildCluster(objs.map((obj, i) => ({ file: 'e2e-model', doc: String(i + 1), obj })));
}

/** Agreement of the two engines (verdict, drop reason, note) over every case. */
const engines = { probes: 0, agree: 0, crossNode: 0, tunnelFrames: 0, differ: [] as string[] };
/**
 * One running chassis engine brought from case to case by `ChassisEngine.update` (incremental
 * southbound updates, as ovn-controller follows its database), against a cold engine per case.
 */
let running: ChassisEngine | undefined;
const reuse = { cases: 0, updated: 0, probes: 0, differ: [] as string[] };

/** What a probe answers, for comparing two engines' answers. */
const answer = (p: ReachProbe) => `${p.from} -> ${p.to} ${p.protocol}/${p.port}: ${p.verdict}${p.droppedBy ? ` (${p.droppedBy})` : ''}${p.note ? ` [${p.note}]` : ''}`;

function run(c: E2eCase, semantics: Semantics, chassis = false) {
  const cluster = clusterFor(c);
  const net = translateCluster(cluster, { semantics });
  const engine = new OvnTraceEngine(net);
  // Frames through the chassis: the same verdicts, drop reasons (from the flows the frames hit)
  // and departure notes (from the ACLs they hit).
  const ce = chassis ? new ChassisEngine(net) : undefined;
  if (chassis && semantics === 'kubernetes') {
    reuse.cases++;
    if (running?.canUpdate(net)) {
      running.update(net);
      reuse.updated++;
    } else running = new ChassisEngine(net);
  }
  const node = new Map(cluster.pods.map((p) => [`${p.namespace}/${p.name}`, p.node]));
  const out: { check: number; mismatches: string[]; notes: string[] }[] = [];
  c.checks.forEach((ch, i) => {
    const probes = reach(cluster, engine, { ports: [ch.port], protocols: [ch.protocol] });
    if (ce) {
      const before = ce.tunnelFrames;
      const framed: ReachProbe[] = reach(cluster, ce, { ports: [ch.port], protocols: [ch.protocol] });
      probes.forEach((p, k) => {
        const q = framed[k]!;
        engines.probes++;
        if (answer(q) === answer(p)) engines.agree++;
        else engines.differ.push(`${c.name}: lflow ${answer(p)}; chassis ${answer(q)}`);
        if (node.get(p.from) !== node.get(p.to)) engines.crossNode++;
      });
      engines.tunnelFrames += ce.tunnelFrames - before;
      const warm = semantics === 'kubernetes' ? reach(cluster, running!, { ports: [ch.port], protocols: [ch.protocol] }) : framed;
      if (semantics === 'kubernetes') framed.forEach((q, k) => {
        reuse.probes++;
        if (answer(q) !== answer(warm[k]!)) reuse.differ.push(`${c.name}: cold ${answer(q)}; running engine ${answer(warm[k]!)}`);
      });
    }
    const mism: string[] = [];
    const notes: string[] = [];
    for (const p of probes) {
      const want = ch.expect.m.get(`${p.from} ${p.to}`)!;
      if ((p.verdict === 'allowed') !== want) {
        mism.push(`${p.from} -> ${p.to} ${p.protocol}/${p.port}: got ${p.verdict}, want ${want ? 'allowed' : 'blocked'}${p.droppedBy ? ` (${p.droppedBy})` : ''}`);
        if (p.note) notes.push(p.note);
      }
    }
    out.push({ check: i, mismatches: mism, notes });
  });
  return out;
}

// Each case blocks the worker for a second or more: let its event loop read vitest's messages
// between cases (otherwise a 60 s run of synchronous cases times its RPC calls out).
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

let kubeProbes = 0;
describe('upstream network-policy e2e cases, --semantics kubernetes', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const r = run(c, 'kubernetes', true);
    for (const x of r) expect(x.mismatches).toEqual([]);
    kubeProbes += c.checks.length * 72;
  });
  test('counts', () => {
    console.log(`e2e conformance (kubernetes semantics): ${CASES.length} cases, ${CASES.reduce((n, c) => n + c.checks.length, 0)} truth tables, ${kubeProbes} probes`);
    expect(kubeProbes).toBeGreaterThan(0);
  });
  test('frames through the chassis give every probe the verdict of the logical flows, crossing nodes in Geneve', () => {
    console.log(`e2e engines: ${engines.agree} of ${engines.probes} probes agree (chassis vs lflow), ${engines.crossNode} cross-node probes, ${engines.tunnelFrames} Geneve frames between nodes`);
    expect(engines.differ).toEqual([]);
    expect(engines.probes).toBe(kubeProbes);
    // Every cross-node probe sends at least its first packet through the tunnel.
    expect(engines.tunnelFrames).toBeGreaterThanOrEqual(engines.crossNode);
  });
  test('one running chassis engine, updated from case to case, answers every probe as a cold engine per case', () => {
    console.log(`e2e engine reuse: ${reuse.updated} of ${reuse.cases} cases reached by ChassisEngine.update; ${reuse.probes - reuse.differ.length} of ${reuse.probes} probes answered alike`);
    expect(reuse.differ).toEqual([]);
    expect(reuse.probes).toBe(kubeProbes);
    // Every case but the first is an update (the model's nodes and pods never change).
    expect(reuse.updated).toBe(reuse.cases - 1);
  });
});

// Every case in the default semantics costs another minute: by default only the cases whose
// tables the departures change (and two that must not change) run; KUBE_E2E_FULL=1 runs all.
const DEFAULT_CASES = process.env.KUBE_E2E_FULL ? CASES : CASES.filter((c, i) => c.departs || i < 2);
describe('upstream network-policy e2e cases, default (OVN-Kubernetes) semantics', () => {
  test.each(DEFAULT_CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const before = engines.differ.length;
    const r = run(c, 'ovn-kubernetes', true);
    // Frames through the chassis: the same verdicts, drop reasons and departure notes.
    expect(engines.differ.slice(before)).toEqual([]);
    const mism = r.flatMap((x) => x.mismatches);
    if (!c.departs) expect(mism).toEqual([]);
    else {
      // Every difference is a probe OVN-Kubernetes allows because a named port matches every port.
      expect(mism.length).toBeGreaterThan(0);
      for (const x of r) for (const m of x.mismatches) expect(m).toMatch(/got allowed, want blocked/);
      for (const x of r) expect(x.notes.length).toBe(x.mismatches.length);
      for (const x of r) for (const n of x.notes) expect(n).toMatch(/named port/);
    }
  });
});
