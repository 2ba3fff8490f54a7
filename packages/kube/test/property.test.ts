/**
 * Property: over random NetworkPolicies on the e2e model (namespaces x, y, z labelled at random,
 * pods a, b, c on two nodes), `kube reach --semantics kubernetes` answers every probe (TCP and UDP,
 * ports 80 and 81) as a reference evaluator of the Kubernetes NetworkPolicy API does. The
 * evaluator lives here only, as the oracle: it reads the policy objects directly (selectors with
 * matchLabels and matchExpressions, namespaceSelector and podSelector alone or together,
 * ipBlock with except, numbered, named and ranged ports, policyTypes and their defaults) and
 * knows nothing of OVN. The seed is printed; FC_SEED reproduces a run, KUBE_E2E_FULL=1 runs more.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { ChassisEngine, OvnTraceEngine, buildCluster, reach, translateCluster, type ClusterModel, type ManifestObject, type PodModel } from '@ovnts/kube';
import { NAMESPACES, PODS, modelObjects } from './e2e-model.js';

type Obj = Record<string, unknown>;
type Labels = Record<string, string>;

const SEED = Number(process.env.FC_SEED ?? Date.now() % 1_000_000);
const RUNS = process.env.KUBE_E2E_FULL ? 150 : 12;

// ---- random policies ------------------------------------------------------------------------

const labelSel = (key: string, values: string[]): fc.Arbitrary<Obj> =>
  fc.oneof(
    fc.constant({}),
    fc.constantFrom(...values).map((v) => ({ matchLabels: { [key]: v } })),
    fc.record({
      op: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'),
      vals: fc.subarray(values, { minLength: 1 }),
    }).map(({ op, vals }) => ({ matchExpressions: [{ key, operator: op, ...(op === 'In' || op === 'NotIn' ? { values: vals } : {}) }] })),
  );
const podSel = labelSel('pod', [...PODS]);
const nsSel = fc.oneof(labelSel('team', ['red', 'blue']), labelSel('kubernetes.io/metadata.name', [...NAMESPACES]));
// ipBlocks over the pod network (node-0 10.128.0.0/23, node-1 10.128.2.0/23), excepts inside the CIDR.
const ipBlock = fc.constantFrom<Obj>(
  { cidr: '10.128.0.0/14' },
  { cidr: '10.128.0.0/14', except: ['10.128.0.0/23'] },
  { cidr: '10.128.0.0/14', except: ['10.128.2.0/24', '10.128.0.4/32'] },
  { cidr: '10.128.0.0/23' },
  { cidr: '10.128.0.0/23', except: ['10.128.0.4/32'] },
  { cidr: '10.128.2.0/23', except: ['10.128.2.0/25'] },
  { cidr: '0.0.0.0/0', except: ['10.128.2.0/23'] },
  { cidr: '10.130.0.0/16' },
);
const peer: fc.Arbitrary<Obj> = fc.oneof(
  podSel.map((p) => ({ podSelector: p })),
  nsSel.map((n) => ({ namespaceSelector: n })),
  fc.tuple(nsSel, podSel).map(([n, p]) => ({ namespaceSelector: n, podSelector: p })),
  ipBlock.map((b) => ({ ipBlock: b })),
);
const port: fc.Arbitrary<Obj> = fc.oneof(
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP', undefined), port: fc.constantFrom(80, 81) }),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constantFrom('serve-80-tcp', 'serve-81-udp', 'serve-80-udp', 'no-such-port') }),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP'), port: fc.constant(79), endPort: fc.constantFrom(80, 81) }),
  fc.record({ protocol: fc.constantFrom('TCP', 'UDP') }),
).map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)));
const rule = (dir: 'from' | 'to') => fc.record({ peers: fc.option(fc.array(peer, { maxLength: 2 }), { nil: undefined }), ports: fc.option(fc.array(port, { maxLength: 2 }), { nil: undefined }) }).map((r) => ({ ...(r.peers ? { [dir]: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) }));
const policy = (i: number) =>
  fc.record({
    ns: fc.constantFrom(...NAMESPACES),
    podSelector: podSel,
    ingress: fc.option(fc.array(rule('from'), { maxLength: 2 }), { nil: undefined }),
    egress: fc.option(fc.array(rule('to'), { maxLength: 2 }), { nil: undefined }),
    types: fc.constantFrom(undefined, ['Ingress'], ['Egress'], ['Ingress', 'Egress']),
  }).map((p): Obj => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `p${i}`, namespace: p.ns },
    spec: { podSelector: p.podSelector, ...(p.ingress ? { ingress: p.ingress } : {}), ...(p.egress ? { egress: p.egress } : {}), ...(p.types ? { policyTypes: p.types } : {}) },
  }));
const world = fc.record({
  teams: fc.tuple(fc.constantFrom('red', 'blue', undefined), fc.constantFrom('red', 'blue', undefined), fc.constantFrom('red', 'blue', undefined)),
  policies: fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => policy(i)))),
});

// ---- the reference evaluator ----------------------------------------------------------------

function selects(sel: Obj | undefined, labels: Labels): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries((sel.matchLabels as Labels | undefined) ?? {})) if (labels[k] !== v) return false;
  for (const e of (sel.matchExpressions as { key: string; operator: string; values?: string[] }[] | undefined) ?? []) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && e.values!.includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && e.values!.includes(labels[e.key]!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function inCidr(ip: bigint, c: string): boolean {
  const [a, l] = c.split('/');
  const n = a!.split('.').reduce((x, o) => x * 256n + BigInt(o), 0n);
  const mask = ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - Number(l))) - 1n);
  return (ip & mask) === (n & mask);
}

function types(spec: Obj): string[] {
  if (spec.policyTypes) return spec.policyTypes as string[];
  return (spec.egress as unknown[] | undefined)?.length ? ['Ingress', 'Egress'] : ['Ingress'];
}

function peerMatches(p: Obj, policyNs: string, other: PodModel, c: ClusterModel): boolean {
  if (p.ipBlock) {
    const b = p.ipBlock as { cidr: string; except?: string[] };
    const ip = other.ips[0]!.addr;
    return inCidr(ip, b.cidr) && !(b.except ?? []).some((e) => inCidr(ip, e));
  }
  const nsOk = p.namespaceSelector ? selects(p.namespaceSelector as Obj, c.namespaces.get(other.namespace)!.labels) : other.namespace === policyNs;
  return nsOk && selects(p.podSelector as Obj | undefined, other.labels);
}

function portMatches(ports: Obj[] | undefined, dst: PodModel, proto: string, n: number): boolean {
  if (!ports?.length) return true;
  return ports.some((p) => {
    const pr = ((p.protocol as string | undefined) ?? 'TCP').toLowerCase();
    if (pr !== proto) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') return dst.ports.some((cp) => cp.name === p.port && cp.protocol.toLowerCase() === proto && cp.port === n);
    return p.endPort !== undefined ? n >= (p.port as number) && n <= (p.endPort as number) : n === p.port;
  });
}

/** The Kubernetes API's answer: may `a` open `proto/port` to `b`? */
function allowed(c: ClusterModel, policies: Obj[], a: PodModel, b: PodModel, proto: string, port: number): boolean {
  const side = (dir: 'Ingress' | 'Egress', self: PodModel, other: PodModel, dst: PodModel): boolean => {
    const mine = policies.filter((p) => (p.metadata as Obj).namespace === self.namespace && selects((p.spec as Obj).podSelector as Obj, self.labels) && types(p.spec as Obj).includes(dir));
    if (!mine.length) return true;
    return mine.some((p) => {
      const spec = p.spec as Obj;
      const rules = ((dir === 'Ingress' ? spec.ingress : spec.egress) as Obj[] | undefined) ?? [];
      return rules.some((r) => {
        const peers = (dir === 'Ingress' ? r.from : r.to) as Obj[] | undefined;
        return (!peers?.length || peers.some((x) => peerMatches(x, self.namespace, other, c))) && portMatches(r.ports as Obj[] | undefined, dst, proto, port);
      });
    });
  };
  return side('Egress', a, b, b) && side('Ingress', b, a, b);
}

/** The e2e model with a random world's namespace labels and policies. */
function worldCluster(teams: readonly (string | undefined)[], policies: readonly Obj[]): ClusterModel {
  const objs = modelObjects().map((o) => {
    const md = o.metadata as { name: string; labels?: Labels };
    const i = NAMESPACES.indexOf(md.name as (typeof NAMESPACES)[number]);
    return o.kind === 'Namespace' && teams[i] ? { ...o, metadata: { ...md, labels: { team: teams[i] } } } : o;
  });
  const all = [...objs, ...policies];
  const cluster = buildCluster(all.map((obj, i): ManifestObject => ({ file: 'property', doc: String(i + 1), obj })));
  return cluster;
}

// ---- the property ---------------------------------------------------------------------------

describe('kube reach --semantics kubernetes equals a reference evaluator of NetworkPolicy', () => {
  test(`random policies (seed ${SEED}, ${RUNS} runs)`, () => {
    console.log(`[kube property] FC_SEED=${SEED}`);
    let probes = 0;
    let allowedCount = 0;
    fc.assert(
      fc.property(world, ({ teams, policies }) => {
        const cluster = worldCluster(teams, policies);
        const net = translateCluster(cluster, { semantics: 'kubernetes' });
        const engine = new OvnTraceEngine(net);
        const got = reach(cluster, engine, { ports: [80, 81], protocols: ['tcp', 'udp'] });
        const byName = new Map(cluster.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
        const wrong = got.filter((r) => (r.verdict === 'allowed') !== allowed(cluster, policies, byName.get(r.from)!, byName.get(r.to)!, r.protocol, r.port));
        probes += got.length;
        allowedCount += got.filter((r) => r.verdict === 'allowed').length;
        expect(wrong.map((w) => `${w.from} -> ${w.to} ${w.protocol}/${w.port}: engine ${w.verdict}${w.droppedBy ? ` (${w.droppedBy})` : ''}`), JSON.stringify(policies)).toEqual([]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`[kube property] ${probes} probes agree (${allowedCount} allowed)`);
    expect(allowedCount).toBeGreaterThan(0);
    expect(allowedCount).toBeLessThan(probes);
  }, 600_000);
});

// Random worlds sampled with the same seed, as frames through the chassis:
// each probe gets the verdict of the logical flows. One test per world; one running chassis
// engine brought from world to world by `ChassisEngine.update` (the worlds share nodes and pods;
// e2e.test.ts proves an updated engine answers as a cold one); 6 worlds by default, 30 under
// KUBE_E2E_FULL=1.
const CHASSIS_RUNS = process.env.KUBE_E2E_FULL ? 30 : 6;
let running: ChassisEngine | undefined;
describe('frames through the chassis answer random policies as the logical flows do', () => {
  afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
  const worlds = fc.sample(world, { seed: SEED, numRuns: CHASSIS_RUNS });
  test.each(worlds.map((w, i) => [i, w] as const))(`world %d (seed ${SEED})`, (_i, { teams, policies }) => {
    const cluster = worldCluster(teams, policies);
    const net = translateCluster(cluster, { semantics: 'kubernetes' });
    const opts = { ports: [80, 81], protocols: ['tcp', 'udp'] as ('tcp' | 'udp')[] };
    const got = reach(cluster, new OvnTraceEngine(net), opts);
    if (running?.canUpdate(net)) running.update(net);
    else running = new ChassisEngine(net, { dropReasons: false });
    const framed = reach(cluster, running, opts);
    const text = (r: (typeof got)[number]) => `${r.from} -> ${r.to} ${r.protocol}/${r.port}: ${r.verdict}`;
    expect(framed.map(text), JSON.stringify(policies)).toEqual(got.map(text));
    expect(framed.length).toBe(288);
  }, 120_000);
});
