/**
 * Helpers of the scenario tests: clusters from YAML text (as users write them) on top of a small
 * two-node base, and a recorder of every probe each scenario makes, so that one test at the end
 * traces all their hops again with real OVN (real-ovn.ts).
 */
import { afterAll, describe, expect, test } from 'vitest';
import { requireOracle } from '@ovnts/testkit';
import { RealOvn, formatDiffer } from './real-ovn.js';
import { ChassisEngine, OvnTraceEngine, buildCluster, isMulticast, findPod, parseManifests, translateCluster, type ClusterModel, type KubeNetwork, type FrameResult, type ProbeRequest, type ProbeResult, type TranslateOptions } from '@ovnts/kube';

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
  /** The same probes answered by frames through the chassis (`ChassisEngine`), for the comparison of engines. */
  readonly chassisResults: ProbeResult[] = [];
  private chassisEngine: ChassisEngine | undefined;

  constructor(
    readonly name: string,
    readonly cluster: ClusterModel,
    opts: TranslateOptions = {},
  ) {
    this.net = translateCluster(cluster, opts);
    this.engine = new OvnTraceEngine(this.net);
  }

  /** acl_log lines the chassis wrote that equalled the logical trace's. */
  logLines = 0;

  /** The chassis engine of this scenario (built on first use). */
  get chassis(): ChassisEngine {
    this.chassisEngine ??= new ChassisEngine(this.net);
    return this.chassisEngine;
  }

  /**
   * A probe, recorded for the real-OVN comparison, and answered by frames through the chassis
   * too: the verdict must be the same, and where no load balancer chose a backend (the two
   * engines hash differently: ours the 5-tuple, OVS's select group its own) so must the
   * destination and the source address seen there.
   */
  probe(req: Omit<ProbeRequest, 'from'> & { from: string }): ProbeResult {
    const r = this.engine.probe({ ...req, from: findPod(this.cluster, req.from) });
    this.results.push(r);
    const c = this.chassis.probe({ ...req, from: findPod(this.cluster, req.from), explain: false });
    this.chassisResults.push(c);
    const what = `${this.name}: ${req.from} -> ${req.dst.family === 6 ? `[${req.dst.addr.toString(16)}]` : req.dst.addr.toString(16)}:${req.port}/${req.proto}${req.at !== undefined ? ` at ${req.at}` : ''}`;
    expect(c.verdict, `${what}: chassis ${c.verdict} (${c.droppedBy ?? ''}), lflow ${r.verdict} (${r.droppedBy ?? ''})`).toBe(r.verdict);
    if (isMulticast(req.dst)) {
      // Every member reached, in any order.
      const set = (x: ProbeResult) => (x.to ?? '').split(', ').filter((n) => n).sort();
      expect(set(c), what).toEqual(set(r));
    } else if (!r.backend) {
      expect(c.to, what).toBe(r.to);
      expect(c.snat, what).toBe(r.snat);
      expect(c.redirect?.rule, what).toBe(r.redirect?.rule);
      // What dropped it (the flows the frames hit) and the acl_log lines (the chassis's pinctrl).
      expect(c.droppedBy, what).toBe(r.droppedBy);
      expect([...c.forward.logs, ...(c.reply?.logs ?? [])], what).toEqual([...r.forward.logs, ...(r.reply?.logs ?? [])]);
      this.logLines += c.forward.logs.length + (c.reply?.logs.length ?? 0);
    } else expect(!!c.backend, what).toBe(true);
    return r;
  }

  /**
   * A frame a pod sends (an IGMP report, a datagram to a group), through the logical-flow engine
   * and through the chassis, which must deliver it to the same pods and snoop the same joins and
   * leaves of the pod's port; the logical-flow engine's result.
   */
  sendFrame(pod: string, frame: Uint8Array, at?: number): FrameResult {
    const p = findPod(this.cluster, pod);
    const r = this.engine.sendFrame(p, frame, at === undefined ? {} : { at });
    const c = this.chassis.sendFrame(p, frame, at === undefined ? { explain: false } : { at, explain: false });
    const pods = (x: FrameResult) => x.deliveries.filter((d) => d.kind === 'pod').map((d) => d.name).sort();
    const what = `${this.name}: frame from ${pod}${at !== undefined ? ` at ${at}` : ''}`;
    expect(pods(c), `${what}: deliveries (chassis vs lflow)`).toEqual(pods(r));
    const ev = (x: FrameResult) => x.snooped.map((e) => `${e.zone} ${e.datapath} ${e.port} ${e.group} ${e.joined}`).sort();
    expect(ev(c), `${what}: snooped (chassis vs lflow)`).toEqual(ev(r));
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
  const req = requireOracle(what, 'ovn-sandbox', ['ovn-northd', 'ovn-nbctl', 'ovn-sbctl', 'ovn-trace', 'ovsdb-client', 'ovsdb-server', 'ovsdb-tool', 'ovs-appctl'], 'apt-get install -y ovn-central');
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
        lines.push(`${s.name}: ${s.results.length} probes (${s.logLines} acl_log lines of the chassis equal to the trace's), ${a.compared} hops (${a.identical} identical, ${a.sameButKeys} but for port keys, ${a.sameOutputs} same outputs after ovn-trace's --lb-dst shortcut), ${a.stateful} stateful left out`);
        expect(a.differ, `${s.name}\n${formatDiffer(a)}`).toEqual([]);
        // Zones served as written (uuids kept): ovn-northd's port tunnel keys are ours.
        expect(a.sameButKeys, s.name).toBe(0);
      }
      console.log(`[${what}] ${compared} hops agree, ${stateful} stateful hops left out\n  ${lines.join('\n  ')}`);
      expect(compared).toBeGreaterThanOrEqual(minHops);
    }, 900_000);
  });
}
