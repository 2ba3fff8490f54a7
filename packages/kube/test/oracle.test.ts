/**
 * The export against real OVN: each zone of the fixture clusters, written as `ovnts kube nb` writes
 * it for the installed OVN 23.03 schema, is restored into a real ovsdb-server and ovn-northd, and
 * every hop of the probes below is traced by real ovn-trace (see real-ovn.ts). The scenarios'
 * own probes are compared the same way in scenarios.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { requireOracle } from '@ovnts/testkit';
import { OvnTraceEngine, buildCluster, readManifests, translateCluster, type ProbeResult } from '@ovnts/kube';
import { RealOvn, formatDiffer } from './real-ovn.js';

const req = requireOracle('kube export vs real OVN', 'ovn-sandbox', ['ovn-northd', 'ovn-nbctl', 'ovn-sbctl', 'ovn-trace', 'ovsdb-client', 'ovsdb-server', 'ovsdb-tool', 'ovs-appctl'], 'apt-get install -y ovn-central');

describe.skipIf(req.skip)('exported zones in real OVN: ovn-trace agrees hop by hop', () => {
  let ovn: RealOvn;
  beforeAll(() => {
    ovn = RealOvn.start(req.script);
  });
  afterAll(() => ovn?.stop());

  test.each([
    ['fixtures/cluster', 8080],
    ['fixtures/cluster-netpol', 80],
  ] as const)('%s: ordered pod pairs, TCP port %d', async (dir, port) => {
    const cluster = buildCluster(readManifests(dir));
    const net = translateCluster(cluster);
    const engine = new OvnTraceEngine(net);
    const pods = cluster.pods.filter((p) => !p.hostNetwork);
    // Every ordered pair under KUBE_E2E_FULL=1; by default three sources of the 9-pod model (one
    // per namespace, both nodes), to keep the run short (each hop is one ovn-trace process).
    const sources = process.env.KUBE_E2E_FULL || pods.length < 9 ? pods : pods.filter((p) => ['x/a', 'y/b', 'z/c'].includes(`${p.namespace}/${p.name}`));
    const results: ProbeResult[] = [];
    for (const a of sources) for (const b of pods) if (a !== b) results.push(engine.probe({ from: a, dst: b.ips[0]!, proto: 'tcp', port }));
    const ag = await ovn.agree(net, engine, results);
    console.log(`[kube oracle] ${dir}: ${results.length} probes, ${ag.compared} hops traced by real ovn-trace: ${ag.identical} identical, ${ag.sameButKeys} identical but for port tunnel keys, ${ag.differ.length} different; ${ag.stateful} stateful hops left out`);
    expect(ag.compared).toBeGreaterThan(results.length);
    expect(ag.differ, formatDiffer(ag)).toEqual([]);
    // The database served as written (uuids kept): ovn-northd's port tunnel keys are ours.
    expect(ag.sameButKeys).toBe(0);
  }, 600_000);
});
