/**
 * Input validation: the limits of OVN-Kubernetes the OpenShift guide states, with the node agent's
 * messages, and malformed objects named by file, object and field; nothing is built on error.
 */
import { describe, expect, test } from 'vitest';
import { KubeError, buildCluster, hashForOvn, parseManifests, readManifests } from '@ovnts/kube';

const node = (name: string, ip: string, ip6?: string) => `apiVersion: v1
kind: Node
metadata: {name: ${name}}
status:
  addresses:
  - {type: InternalIP, address: ${ip}}
${ip6 ? `  - {type: InternalIP, address: "${ip6}"}\n` : ''}`;
const dual = `apiVersion: config.openshift.io/v1
kind: Network
metadata: {name: cluster}
spec:
  clusterNetwork: [{cidr: 10.128.0.0/14, hostPrefix: 23}, {cidr: "fd01::/48", hostPrefix: 64}]
  serviceNetwork: [172.30.0.0/16, "fd02::/112"]
`;
const nns = (ifs: string, routes: string) => `apiVersion: nmstate.io/v1beta1
kind: NodeNetworkState
metadata: {name: n0}
status:
  currentState:
    interfaces:
${ifs}
    routes:
      running:
${routes}`;
const iface = (name: string, v6 = true) => `    - name: ${name}
      ipv4: {enabled: true, address: [{ip: 192.168.1.10, prefix-length: 24}]}
      ipv6: {enabled: ${v6}, address: [{ip: "fd00::10", prefix-length: 64}]}
`;
const route = (dst: string, ifn: string) => `      - {destination: "${dst}", next-hop-interface: ${ifn}}\n`;

function build(...docs: string[]) {
  return buildCluster(docs.flatMap((d, i) => parseManifests(d, `f${i}.yaml`)));
}
function err(fn: () => unknown): KubeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KubeError) return e;
    throw e;
  }
  throw new Error('expected a KubeError');
}

describe('validation (OpenShift guide, section 1.2)', () => {
  test('dual stack with different default-gateway interfaces per family', () => {
    const e = err(() => build(dual, node('n0', '192.168.1.10', 'fd00::10'), nns(iface('br-ex') + iface('ens4'), route('0.0.0.0/0', 'br-ex') + route('::/0', 'ens4'))));
    expect(e.detail).toBe('multiple gateway interfaces detected: br-ex ens4');
    expect(e.file).toBe('f2.yaml');
    expect(e.object).toBe('NodeNetworkState n0');
  });
  test('a family without a default route', () => {
    const e = err(() => build(dual, node('n0', '192.168.1.10', 'fd00::10'), nns(iface('br-ex'), route('0.0.0.0/0', 'br-ex'))));
    expect(e.detail).toBe('failed to get default gateway interface');
  });
  test('IPv6 disabled on a node of an IPv6 cluster', () => {
    const e = err(() => build(dual, node('n0', '192.168.1.10', 'fd00::10'), nns(iface('br-ex', false), route('0.0.0.0/0', 'br-ex') + route('::/0', 'br-ex'))));
    expect(e.detail).toMatch(/^IPv6 is disabled on br-ex \(ipv6.enabled: false\) but the cluster network is IPv6/);
  });
  test('a valid dual-stack node passes', () => {
    const c = build(dual, node('n0', '192.168.1.10', 'fd00::10'), nns(iface('br-ex'), route('0.0.0.0/0', 'br-ex') + route('::/0', 'br-ex')));
    expect(c.nodes[0]!.host.gatewayInterface).toEqual({ 4: 'br-ex', 6: 'br-ex' });
    expect(c.config.families).toEqual([4, 6]);
  });
  test.each([
    ['clusterNetwork', 'clusterNetwork: [{cidr: 100.64.0.0/14, hostPrefix: 23}]', 'clusterNetwork 100.64.0.0/14 overlaps the reserved internalJoinSubnet 100.64.0.0/16'],
    ['serviceNetwork', 'serviceNetwork: [100.88.0.0/20]', 'serviceNetwork 100.88.0.0/20 overlaps the reserved internalTransitSwitchSubnet 100.88.0.0/16'],
    ['masquerade', 'serviceNetwork: [169.254.0.0/16]', 'serviceNetwork 169.254.0.0/16 overlaps the reserved internalMasqueradeSubnet 169.254.169.0/29'],
  ])('%s overlapping a reserved range names both ranges', (_n, spec, msg) => {
    const e = err(() => build(`apiVersion: config.openshift.io/v1\nkind: Network\nmetadata: {name: cluster}\nspec:\n  ${spec}\n`));
    expect(e.detail).toBe(msg);
  });
  test('a node network overlapping the join subnet', () => {
    const n = nns(`    - name: br-ex\n      ipv4: {enabled: true, address: [{ip: 100.64.3.10, prefix-length: 24}]}\n`, route('0.0.0.0/0', 'br-ex'));
    const e = err(() => build(node('n0', '100.64.3.10'), n));
    expect(e.detail).toBe('node network 100.64.3.0/24 overlaps the reserved internalJoinSubnet 100.64.0.0/16');
  });
});

describe('malformed input names file, object and field', () => {
  test('YAML syntax', () => {
    const e = err(() => parseManifests('a: [1, 2\n', 'bad.yaml'));
    expect(e.message).toMatch(/^bad\.yaml: document 1: YAML syntax error at line \d+, column \d+/);
  });
  test('a wrong field type inside a NetworkPolicy', () => {
    const e = err(() => build(node('n0', '192.168.1.10'), 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/33}\n'));
    expect(e.message).toBe('f1.yaml: NetworkPolicy x/p: spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR "10.0.0.0/33"');
  });
  test('a pod on an unknown node', () => {
    const e = err(() => build(node('n0', '192.168.1.10'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec: {nodeName: n9, containers: []}\n'));
    expect(e.message).toBe('f1.yaml: Pod x/a: spec.nodeName: no Node named "n9"');
  });
  test('the fixture cluster reads', () => {
    const c = readManifests('fixtures/cluster');
    expect(buildCluster(c).pods.length).toBe(5);
  });
});

test('HashForOVN matches OVN-Kubernetes (docs/design/acls.md)', () => {
  expect(hashForOvn('default-network-controller:Namespace:default:v4')).toBe('a4322231855293774466');
});
