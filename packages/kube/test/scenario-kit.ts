/**
 * Helpers of the scenario tests: clusters from YAML text (as users write them) on top of a small
 * two-node base, and a recorder of every probe each scenario makes, so that one test at the end
 * traces all their hops again with real OVN (real-ovn.ts).
 */
import { afterAll, describe, expect, test } from 'vitest';
import { requireOracle } from '@ovnts/testkit';
import { RealOvn, formatDiffer } from './real-ovn.js';
import { OvnTraceEngine, buildCluster, findPod, parseManifests, translateCluster, type ClusterModel, type KubeNetwork, type ProbeRequest, type ProbeResult, type TranslateOptions } from '@ovnts/kube';

/** Two Linux nodes with default networking (10.128.0.0/14 /23, services 172.30.0.0/16). */
export const TWO_NODES = `
apiVersion: v1
kind: Node
metadata: {name: node-a, labels: {kubernetes.io/os: linux}}
status: {addresses: [{type: InternalIP, address: 192.168.50.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b, labels: {kubernetes.io/os: linux, k8s.ovn.org/egress-assignable: ""}}
status: {addresses: [{type: InternalIP, address: 192.168.50.11}]}
`;

/** A cluster from YAML documents. */
export function clusterOf(...yaml: string[]): ClusterModel {
  return buildCluster(yaml.flatMap((t, i) => parseManifests(t, `scenario-${i}.yaml`)));
}

/** A translated cluster, its engine, and the probes made through it. */
export class Scenario {
  readonly net: KubeNetwork;
  readonly engine: OvnTraceEngine;
  readonly results: ProbeResult[] = [];

  constructor(
    readonly name: string,
    readonly cluster: ClusterModel,
    opts: TranslateOptions = {},
  ) {
    this.net = translateCluster(cluster, opts);
    this.engine = new OvnTraceEngine(this.net);
  }

  /** A probe, recorded for the real-OVN comparison. */
  probe(req: Omit<ProbeRequest, 'from'> & { from: string }): ProbeResult {
    const r = this.engine.probe({ ...req, from: findPod(this.cluster, req.from) });
    this.results.push(r);
    return r;
  }

  /** The first address of pod `ns/name` in `family`. */
  ip(pod: string, family: 4 | 6 = 4) {
    const p = findPod(this.cluster, pod);
    const ip = p.ips.find((x) => x.family === family);
    if (!ip) throw new RangeError(`pod ${pod} has no IPv${family} address`);
    return ip;
  }
}

/** Every scenario made in this test run (for the real-OVN comparison). */
export const SCENARIOS: Scenario[] = [];

/** A new scenario, registered. */
export function scenario(name: string, cluster: ClusterModel, opts: TranslateOptions = {}): Scenario {
  const s = new Scenario(name, cluster, opts);
  SCENARIOS.push(s);
  return s;
}

/**
 * The last describe of a scenario file: every hop of every scenario of the file traced again by
 * real ovn-trace, which must agree (real-ovn.ts); at least `minHops` hops compared.
 */
export function realOvnCompare(what: string, minHops: number): void {
  const req = requireOracle(what, 'ovn-sandbox', ['ovn-northd', 'ovn-nbctl', 'ovn-sbctl', 'ovn-trace', 'ovsdb-client', 'ovsdb-server'], 'apt-get install -y ovn-central');
  describe.skipIf(req.skip)('every probe of the scenarios, hop by hop, in real OVN', () => {
    let ovn: RealOvn | undefined;
    afterAll(() => ovn?.stop());
    test('ovn-trace agrees with the engine on every hop it can reproduce', async () => {
      ovn = RealOvn.start(req.script);
      let compared = 0;
      let stateful = 0;
      const lines: string[] = [];
      for (const s of SCENARIOS) {
        if (!s.results.length) continue;
        const a = await ovn.agree(s.net, s.engine, s.results);
        compared += a.compared;
        stateful += a.stateful;
        lines.push(`${s.name}: ${s.results.length} probes, ${a.compared} hops (${a.identical} identical, ${a.sameButKeys} but for port keys, ${a.sameOutputs} same outputs after ovn-trace's --lb-dst shortcut), ${a.stateful} stateful left out`);
        expect(a.differ, `${s.name}\n${formatDiffer(a)}`).toEqual([]);
      }
      console.log(`[${what}] ${compared} hops agree, ${stateful} stateful hops left out\n  ${lines.join('\n  ')}`);
      expect(compared).toBeGreaterThanOrEqual(minHops);
    }, 900_000);
  });
}
