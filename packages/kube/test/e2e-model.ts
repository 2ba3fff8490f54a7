/**
 * The Kubernetes network-policy e2e model (kubernetes/kubernetes test/e2e/network/netpol): namespaces
 * x, y, z with pods a, b, c, each serving ports 80 and 81 over TCP, UDP and SCTP (container ports
 * named serve-80-tcp, ...), here on two nodes; and the suite's reachability expectations
 * (`NewReachability(..., true)`, `ExpectPeer`, `ExpectAllIngress`, `ExpectAllEgress`, `Expect`).
 */
import { buildCluster, parseManifests, type ClusterModel, type ManifestObject } from '@ovnts/kube';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const PODS = ['a', 'b', 'c'] as const;

/** The cluster objects of the model (no policies). */
export function modelObjects(): Record<string, unknown>[] {
  const objs: Record<string, unknown>[] = [
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-0' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.122.10' }] } },
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.122.11' }] } },
  ];
  let i = 0;
  for (const ns of NAMESPACES) {
    objs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    for (const p of PODS) {
      const ports = [80, 81].flatMap((port) => ['TCP', 'UDP', 'SCTP'].map((pr) => ({ name: `serve-${port}-${pr.toLowerCase()}`, containerPort: port, protocol: pr })));
      objs.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: p, namespace: ns, labels: { pod: p } },
        spec: { nodeName: `node-${i++ % 2}`, containers: [{ name: `cont-${p}`, image: 'agnhost', ports }] },
      });
    }
  }
  return objs;
}

/** The model plus extra objects (policies). */
export function modelCluster(extra: readonly Record<string, unknown>[] = []): ClusterModel {
  const objs: ManifestObject[] = [...modelObjects(), ...extra].map((obj, i) => ({ file: 'e2e-model', doc: String(i + 1), obj }));
  return buildCluster(objs);
}

/** Parse one YAML policy (tests write policies as YAML, as users would). */
export function yamlObjects(text: string): Record<string, unknown>[] {
  return parseManifests(text, 'case.yaml').map((m) => m.obj);
}

/** A peer in the e2e suite's sense: empty fields match everything. */
export interface Peer {
  readonly ns?: string;
  readonly pod?: string;
}

/** The suite's `Reachability`: every pair true, then expectations applied in order. */
export class Reachability {
  readonly m = new Map<string, boolean>();
  constructor() {
    for (const a of all()) for (const b of all()) this.m.set(`${a} ${b}`, true);
  }
  /** `ExpectPeer`. */
  peer(from: Peer, to: Peer, v: boolean): this {
    for (const a of all()) for (const b of all()) if (match(from, a) && match(to, b)) this.m.set(`${a} ${b}`, v);
    return this;
  }
  /** `ExpectAllIngress`. */
  allIngress(pod: string, v: boolean): this {
    for (const a of all()) this.m.set(`${a} ${pod}`, v);
    return this;
  }
  /** `ExpectAllEgress`. */
  allEgress(pod: string, v: boolean): this {
    for (const b of all()) this.m.set(`${pod} ${b}`, v);
    return this;
  }
  /** `Expect`. */
  expect(from: string, to: string, v: boolean): this {
    this.m.set(`${from} ${to}`, v);
    return this;
  }
}

function all(): string[] {
  return NAMESPACES.flatMap((ns) => PODS.map((p) => `${ns}/${p}`));
}

function match(p: Peer, s: string): boolean {
  const [ns, pod] = s.split('/');
  return (!p.ns || p.ns === ns) && (!p.pod || p.pod === pod);
}
