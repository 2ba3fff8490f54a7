/**
 * The OVN-Kubernetes-shaped generator (`@ovnts/testkit` nbgen, the network of
 * ../shared/bench/ovn-northd-baseline.sh): its flow counts match the baseline's published real
 * ovn-northd figures, and, with OVN installed, real ovn-northd given the generator's ovn-nbctl
 * transaction compiles exactly the flows we compile from the generator's NbDatabase.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileNorthd, flowKey, parseLflowList } from '@ovnts/ovn';
import { ovnkCounts, ovnkNb, ovnkNbctlArgs, requireOracle, startOvnSandbox, type OvnSandbox } from '@ovnts/testkit';

describe('OVN-Kubernetes-shaped NB generator', () => {
  test('10x20 gives the southbound row and flow counts real ovn-northd gave in the baseline', () => {
    const r = compileNorthd(ovnkNb({ nodes: 10, pods: 20 }));
    expect(r.rowCount).toBe(1412);
    expect(r.flowCount).toBe(3266);
    expect(ovnkCounts({ nodes: 10, pods: 20 })).toEqual({ switches: 10, lsps: 210, namespaces: 10, acls: 40, lbs: 10 });
  });

  test('the nbctl transaction is the baseline script\'s', () => {
    const a = ovnkNbctlArgs({ nodes: 2, pods: 2, nsSize: 2 });
    expect(a.slice(0, 16)).toEqual(['--', 'lr-add', 'ovn_cluster_router', '--', 'ls-add', 'node-0', '--', 'lrp-add', 'ovn_cluster_router', 'rtos-node-0', '0a:58:0a:80:00:01', '10.128.0.1/24', '--', 'lsp-add', 'node-0', 'stor-node-0']);
    expect(a).toContain('vips:"172.30.0.1:80"="10.128.0.2:8080,10.128.1.2:8080"');
    expect(a.join(' ')).toContain('-- pg-add pg_ns0 pod-0-0 pod-1-0 -- create Address_Set name=as_ns0 addresses=["10.128.0.2","10.128.1.2"]');
  });
});

const req = requireOracle('generated NB vs live ovn-northd', 'ovn-sandbox', ['ovn-northd', 'ovn-nbctl', 'ovn-sbctl', 'ovsdb-server', 'ovsdb-tool'], 'apt-get install -y ovn-central');

describe.skipIf(req.skip)('generated NB vs live ovn-northd', () => {
  let sb: OvnSandbox | undefined;
  beforeAll(() => {
    sb = startOvnSandbox(req.script);
  }, 60_000);
  afterAll(() => sb?.stop());

  test.each(['switch', 'group'] as const)('6x7 (LBs attached by %s): same flows from the nbctl transaction as from the NbDatabase', (lbAttach) => {
    const s = sb!;
    const p = { nodes: 6, pods: 7, nsSize: 5, lbAttach };
    // Empty the NB (previous case), then apply the whole network in one transaction.
    s.run('ovn-nbctl', ['--if-exists', 'lr-del', 'ovn_cluster_router']);
    for (const ls of s.run('ovn-nbctl', ['--bare', '--columns=name', 'list', 'Logical_Switch']).split('\n').filter(Boolean)) s.run('ovn-nbctl', ['ls-del', ls]);
    for (const t of ['Load_Balancer', 'Load_Balancer_Group', 'Port_Group', 'Address_Set']) s.run('ovn-nbctl', ['--all', 'destroy', t]);
    s.run('ovn-nbctl', ovnkNbctlArgs(p));
    s.run('ovn-nbctl', ['--wait=sb', 'sync']);
    const real = new Set(parseLflowList(s.run('ovn-sbctl', ['lflow-list'])).map(flowKey));
    const ours = new Set(compileNorthd(ovnkNb(p)).flows.map(flowKey));
    const missing = [...real].filter((k) => !ours.has(k));
    const extra = [...ours].filter((k) => !real.has(k));
    expect([missing.slice(0, 5), extra.slice(0, 5)]).toEqual([[], []]);
    expect(ours.size).toBe(real.size);
  }, 60_000);
});
