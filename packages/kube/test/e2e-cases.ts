/**
 * The upstream network-policy e2e cases (test/e2e/network/netpol/network_policy.go), transcribed:
 * each case's policies (as the suite's GenNetworkPolicy* / SetSpec*Rules helpers build them:
 * SetSpecIngressRules/SetSpecEgressRules add the policy type and the rules) and each
 * ValidateOrFail's port, protocol and expected reachability. Steps of mutation cases
 * ("should enforce updated policy", "... updated namespace/pod") are separate states.
 */
import type { ClusterModel } from '@ovnts/kube';
import { formatIp } from '@ovnts/kube';
import { Reachability } from './e2e-model.js';

type Obj = Record<string, unknown>;
type Sel = Obj;
const NSL = 'kubernetes.io/metadata.name';

/** GenNetworkPolicyWithNameAndPodSelector + SetSpecIngressRules/SetSpecEgressRules. */
export function np(name: string, ns: string, podSelector: Sel, o: { ingress?: Obj[]; egress?: Obj[]; policyTypes?: string[] }): Obj {
  const spec: Obj = { podSelector };
  const types: string[] = [];
  if (o.ingress) {
    spec.ingress = o.ingress;
    types.push('Ingress');
  }
  if (o.egress) {
    spec.egress = o.egress;
    types.push('Egress');
  }
  spec.policyTypes = o.policyTypes ?? types;
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec };
}
const labels = (m: Record<string, string>): Sel => ({ matchLabels: m });
const podA = labels({ pod: 'a' });

/** One check: a port, a protocol, and the expected table. */
export interface Check {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly expect: Reachability;
}

/** One case (or one state of a mutating case). */
export interface E2eCase {
  readonly name: string;
  /** Policies and namespace/pod changes, given the model cluster (pod IPs for ipBlock cases). */
  readonly objects: (c: ClusterModel) => Obj[];
  /** Namespace labels to add (`AddNamespaceLabel`). */
  readonly nsLabels?: Record<string, Record<string, string>>;
  /** Pod labels to add (`AddPodLabels`). */
  readonly podLabels?: Record<string, Record<string, string>>;
  readonly checks: readonly Check[];
  /** Cases whose truth table the OVN-Kubernetes semantics are expected to change (departures). */
  readonly departs?: boolean;
}

const R = () => new Reachability();
const ip = (c: ClusterModel, ref: string) => formatIp(c.pods.find((p) => `${p.namespace}/${p.name}` === ref)!.ips[0]!);

export const CASES: readonly E2eCase[] = [
  { name: "should support a 'default-deny-ingress' policy", objects: () => [np('deny-ingress', 'x', {}, { ingress: [] })], checks: [{ port: 80, protocol: 'tcp', expect: R().peer({}, { ns: 'x' }, false) }] },
  { name: "should support a 'default-deny-all' policy", objects: () => [np('deny-all', 'x', {}, { ingress: [], egress: [] })], checks: [{ port: 80, protocol: 'tcp', expect: R().peer({}, { ns: 'x' }, false).peer({ ns: 'x' }, {}, false) }] },
  {
    name: 'should enforce policy to allow traffic from pods within server namespace based on PodSelector',
    objects: () => [np('x-a-allows-x-b', 'x', podA, { ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false).expect('x/b', 'x/a', true) }],
  },
  {
    name: 'should enforce policy to allow ingress traffic for a target',
    objects: () => [np('deny-all', 'x', {}, { ingress: [] }), np('allow-all-to-a', 'x', podA, { ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', true).allIngress('x/b', false).allIngress('x/c', false) }],
  },
  {
    name: 'should enforce policy to allow ingress traffic from pods in all namespaces',
    objects: () => [np('allow-from-another-ns', 'x', podA, { ingress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R() }],
  },
  {
    name: 'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector',
    objects: () => [np('allow-client-a-via-ns-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }) }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().peer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).peer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) }],
  },
  {
    name: 'should enforce policy based on PodSelector with MatchExpressions',
    objects: () => [np('x-a-allows-x-b', 'x', podA, { ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false).expect('x/b', 'x/a', true) }],
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions',
    objects: () => [np('allow-ns-y-match-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NSL, operator: 'In', values: ['y'] }] } }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().peer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).peer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) }],
  },
  {
    name: 'should enforce policy based on PodSelector or NamespaceSelector',
    objects: () => [np('allow-ns-y-match-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NSL, operator: 'NotIn', values: ['x'] }] } }, { podSelector: labels({ pod: 'b' }) }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().expect('x/a', 'x/a', false).expect('x/c', 'x/a', false) }],
  },
  {
    name: 'should enforce policy based on PodSelector and NamespaceSelector',
    objects: () => [np('allow-ns-y-podselector-and-nsselector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NSL, operator: 'NotIn', values: ['x'] }] }, podSelector: labels({ pod: 'b' }) }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true) }],
  },
  {
    name: 'should enforce policy based on Multiple PodSelectors and NamespaceSelectors',
    objects: () => [np('allow-ns-y-z-pod-b-c', 'x', podA, { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NSL, operator: 'NotIn', values: ['x'] }] }, podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] } }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().peer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expect('y/a', 'x/a', false).expect('z/a', 'x/a', false) }],
  },
  {
    name: 'should enforce policy based on any PodSelectors',
    objects: () => [np('allow-ns-x-pod-b-c', 'x', podA, { ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }, { podSelector: labels({ pod: 'c' }) }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false).expect('x/b', 'x/a', true).expect('x/c', 'x/a', true) }],
  },
  {
    name: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    objects: () => [np('allow-ns-y-pod-a-via-namespace-pod-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }), podSelector: podA }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false).expect('y/a', 'x/a', true) }],
  },
  {
    name: 'should enforce policy based on Ports',
    objects: () => [np('allow-client-a-via-ns-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }) }], ports: [{ port: 81, protocol: 'TCP' }] }] })],
    checks: [{ port: 81, protocol: 'tcp', expect: R().peer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).peer({ ns: 'y' }, { ns: 'x', pod: 'a' }, true).peer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) }],
  },
  {
    name: 'should enforce multiple, stacked policies with overlapping podSelectors (port 81 only)',
    objects: () => [np('allow-client-a-via-ns-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }) }], ports: [{ port: 81, protocol: 'TCP' }] }] })],
    checks: [
      { port: 81, protocol: 'tcp', expect: R().peer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).peer({ ns: 'y' }, { ns: 'x', pod: 'a' }, true).peer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) },
      { port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false) },
    ],
  },
  {
    name: 'should enforce multiple, stacked policies with overlapping podSelectors (ports 80 and 81)',
    objects: () => [
      np('allow-client-a-via-ns-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }) }], ports: [{ port: 81, protocol: 'TCP' }] }] }),
      np('allow-client-a-via-ns-selector-80', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }) }], ports: [{ port: 80, protocol: 'TCP' }] }] }),
    ],
    checks: [{ port: 80, protocol: 'tcp', expect: R().peer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).peer({ ns: 'y' }, { ns: 'x', pod: 'a' }, true).peer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) }],
  },
  { name: 'should support allow-all policy', objects: () => [np('allow-all', 'x', labels({}), { ingress: [{}] })], checks: [{ port: 80, protocol: 'tcp', expect: R() }, { port: 81, protocol: 'tcp', expect: R() }] },
  {
    name: 'should allow ingress access on one named port',
    departs: true,
    objects: () => [np('allow-all', 'x', labels({}), { ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
    checks: [{ port: 81, protocol: 'tcp', expect: R() }, { port: 80, protocol: 'tcp', expect: R().peer({}, { ns: 'x' }, false) }],
  },
  {
    name: 'should allow ingress access from namespace on one named port',
    departs: true,
    objects: () => [np('allow-client-a-via-ns-selector-80', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }) }], ports: [{ port: 'serve-80-tcp', protocol: 'TCP' }] }] })],
    checks: [
      { port: 80, protocol: 'tcp', expect: R().peer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).peer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) },
      { port: 81, protocol: 'tcp', expect: R().allIngress('x/a', false) },
    ],
  },
  {
    name: 'should allow egress access on one named port',
    departs: true,
    objects: () => [np('allow-egress', 'x', labels({}), { egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R() }, { port: 81, protocol: 'tcp', expect: R().peer({ ns: 'x' }, {}, false) }],
  },
  { name: 'should enforce updated policy (allow all)', objects: () => [np('allow-all-mutate-to-deny-all', 'x', labels({}), { ingress: [{}] })], checks: [{ port: 81, protocol: 'tcp', expect: R() }] },
  { name: 'should enforce updated policy (updated to deny all)', objects: () => [np('allow-all-mutate-to-deny-all', 'x', labels({}), { ingress: [] })], checks: [{ port: 81, protocol: 'tcp', expect: R().peer({}, { ns: 'x' }, false) }] },
  {
    name: 'should allow ingress access from updated namespace (before the label)',
    objects: () => [np('allow-client-a-via-ns-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ ns2: 'updated' }) }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false) }],
  },
  {
    name: 'should allow ingress access from updated namespace (after the label)',
    nsLabels: { y: { ns2: 'updated' } },
    objects: () => [np('allow-client-a-via-ns-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ ns2: 'updated' }) }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false).peer({ ns: 'y' }, {}, true) }],
  },
  {
    name: 'should allow ingress access from updated pod (before the label)',
    objects: () => [np('allow-client-a-via-pod-selector', 'x', podA, { ingress: [{ from: [{ podSelector: labels({ pod: 'b', pod2: 'updated' }) }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false) }],
  },
  {
    name: 'should allow ingress access from updated pod (after the label)',
    podLabels: { 'x/b': { pod: 'b', pod2: 'updated' } },
    objects: () => [np('allow-client-a-via-pod-selector', 'x', podA, { ingress: [{ from: [{ podSelector: labels({ pod: 'b', pod2: 'updated' }) }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false).expect('x/b', 'x/a', true) }],
  },
  {
    name: 'should deny ingress from pods on other namespaces',
    objects: () => [np('deny-empty-policy', 'x', {}, { ingress: [{ from: [{ podSelector: { matchLabels: {} } }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().peer({ ns: 'y' }, { ns: 'x' }, false).peer({ ns: 'z' }, { ns: 'x' }, false) }],
  },
  { name: 'should deny ingress access to updated pod (before the label)', objects: () => [np('deny-ingress-via-label-selector', 'x', labels({ target: 'isolated' }), { ingress: [] })], checks: [{ port: 80, protocol: 'tcp', expect: R() }] },
  {
    name: 'should deny ingress access to updated pod (after the label)',
    podLabels: { 'x/a': { pod: 'a', target: 'isolated' } },
    objects: () => [np('deny-ingress-via-label-selector', 'x', labels({ target: 'isolated' }), { ingress: [] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false) }],
  },
  { name: 'should deny egress from pods based on PodSelector', objects: () => [np('deny-egress-pod-a', 'x', podA, { egress: [] })], checks: [{ port: 80, protocol: 'tcp', expect: R().allEgress('x/a', false) }] },
  { name: 'should deny egress from all pods in a namespace', objects: () => [np('deny-egress-ns-x', 'x', {}, { egress: [] })], checks: [{ port: 80, protocol: 'tcp', expect: R().peer({ ns: 'x' }, {}, false) }] },
  {
    name: 'should work with Ingress, Egress specified together',
    objects: () => [np('allow-client-a-via-pod-selector', 'x', podA, { ingress: [{ from: [{ podSelector: labels({ pod: 'b' }) }] }], egress: [{ ports: [{ port: 80 }] }], policyTypes: ['Egress', 'Ingress'] })],
    checks: [
      { port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false).expect('x/b', 'x/a', true) },
      { port: 81, protocol: 'tcp', expect: R().allIngress('x/a', false).allEgress('x/a', false).expect('x/b', 'x/a', true) },
    ],
  },
  {
    name: 'should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)',
    objects: () => {
      const ing = { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'x' }), podSelector: podA }] }] };
      return [
        np('allow-to-ns-y-pod-a', 'x', podA, { egress: [{ to: [{ namespaceSelector: labels({ [NSL]: 'y' }), podSelector: podA }] }] }),
        np('allow-from-xa-on-ya-match-selector', 'y', podA, ing),
        np('allow-from-xa-on-yb-match-selector', 'y', labels({ pod: 'b' }), ing),
      ];
    },
    checks: [{ port: 80, protocol: 'tcp', expect: R().peer({ ns: 'x', pod: 'a' }, {}, false).peer({}, { ns: 'y', pod: 'a' }, false).peer({ ns: 'x', pod: 'a' }, { ns: 'y', pod: 'a' }, true).peer({}, { ns: 'y', pod: 'b' }, false) }],
  },
  {
    name: 'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector',
    objects: () => [np('allow-to-ns-y-pod-a', 'x', podA, { egress: [{ to: [{ namespaceSelector: labels({ [NSL]: 'y' }), podSelector: podA }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allEgress('x/a', false).expect('x/a', 'y/a', true) }],
  },
  {
    name: 'should enforce ingress policy allowing any port traffic to a server on a specific protocol',
    objects: () => [np('allow-ingress-by-proto', 'x', podA, { ingress: [{ ports: [{ protocol: 'TCP' }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R() }, { port: 80, protocol: 'udp', expect: R().peer({}, { ns: 'x', pod: 'a' }, false) }],
  },
  {
    name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence (port 80 only)',
    objects: () => [np('allow-ingress-port-80', 'x', labels({}), { ingress: [{ ports: [{ port: 80 }] }] })],
    checks: [{ port: 81, protocol: 'tcp', expect: R().peer({}, { ns: 'x' }, false) }],
  },
  {
    name: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence (allow all)',
    objects: () => [np('allow-ingress-port-80', 'x', labels({}), { ingress: [{ ports: [{ port: 80 }] }] }), np('allow-ingress', 'x', labels({}), { ingress: [{}] })],
    checks: [{ port: 81, protocol: 'tcp', expect: R() }],
  },
  {
    name: 'should enforce multiple egress policies with egress allow-all policy taking precedence (port 80 only)',
    objects: () => [np('allow-egress-port-80', 'x', labels({}), { egress: [{ ports: [{ port: 80 }] }] })],
    checks: [{ port: 81, protocol: 'tcp', expect: R().peer({ ns: 'x' }, {}, false) }],
  },
  {
    name: 'should enforce multiple egress policies with egress allow-all policy taking precedence (allow all)',
    objects: () => [np('allow-egress-port-80', 'x', labels({}), { egress: [{ ports: [{ port: 80 }] }] }), np('allow-egress', 'x', labels({}), { egress: [{}] })],
    checks: [{ port: 81, protocol: 'tcp', expect: R() }],
  },
  { name: 'should stop enforcing policies after they are deleted (with the policy)', objects: () => [np('deny-all', 'x', {}, { ingress: [], egress: [] })], checks: [{ port: 80, protocol: 'tcp', expect: R().peer({ ns: 'x' }, {}, false).peer({}, { ns: 'x' }, false) }] },
  { name: 'should stop enforcing policies after they are deleted (deleted)', objects: () => [], checks: [{ port: 80, protocol: 'tcp', expect: R() }] },
  {
    name: 'should allow egress access to server in CIDR block',
    objects: (c) => [np('allow-client-a-via-cidr-egress-rule', 'x', podA, { egress: [{ to: [{ ipBlock: { cidr: `${ip(c, 'y/b')}/32` } }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allEgress('x/a', false).expect('x/a', 'y/b', true) }],
  },
  {
    name: 'should enforce except clause while egress access to server in CIDR block',
    objects: (c) => [np('allow-client-a-via-cidr-egress-rule', 'x', podA, { egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/4', except: [`${ip(c, 'x/b')}/32`] } }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().expect('x/a', 'x/b', false) }],
  },
  {
    name: 'should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed (updated policy)',
    objects: (c) => [np('allow-client-a-via-cidr-egress-rule', 'x', podA, { egress: [{ to: [{ ipBlock: { cidr: `${ip(c, 'x/b')}/32` } }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allEgress('x/a', false).expect('x/a', 'x/b', true) }],
  },
  {
    name: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector',
    objects: () => [np('allow-egress-for-target', 'x', podA, { egress: [{}] }), np('deny-ingress-via-label-selector', 'x', podA, { ingress: [] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().allIngress('x/a', false) }],
  },
  {
    name: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
    objects: () => [np('deny-ingress', 'x', {}, { ingress: [] }), np('allow-only-sctp-ingress-on-port-81', 'x', podA, { ingress: [{ ports: [{ port: 81, protocol: 'SCTP' }] }] })],
    checks: [{ port: 81, protocol: 'tcp', expect: R().peer({}, { ns: 'x' }, false) }],
  },
  {
    name: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
    objects: () => [np('allow-only-sctp-ingress-on-port-80', 'x', podA, { ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }] })],
    checks: [{ port: 81, protocol: 'tcp', expect: R().allIngress('x/a', false) }],
  },
  {
    name: 'should not allow access by TCP when a policy specifies only UDP',
    objects: () => [np('allow-only-udp-ingress-on-port-81', 'x', podA, { ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] })],
    checks: [{ port: 81, protocol: 'tcp', expect: R().allIngress('x/a', false) }],
  },
  {
    name: 'should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label',
    objects: () => [np('allow-client-a-via-ns-selector-for-immutable-ns-label', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }) }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().peer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).peer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) }],
  },
  {
    name: 'should enforce policy based on NamespaceSelector with MatchExpressions using default ns label',
    objects: () => [np('allow-ns-y-match-selector-for-immutable-ns-label', 'x', podA, { egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: NSL, operator: 'NotIn', values: ['y'] }] } }] }] })],
    checks: [{ port: 80, protocol: 'tcp', expect: R().peer({ ns: 'x', pod: 'a' }, { ns: 'y' }, false) }],
  },
  // UDP
  { name: "UDP: should support a 'default-deny-ingress' policy", objects: () => [np('deny-all', 'x', {}, { ingress: [] })], checks: [{ port: 80, protocol: 'udp', expect: R().peer({}, { ns: 'x' }, false) }] },
  {
    name: 'UDP: should enforce policy based on Ports',
    objects: () => [np('allow-ingress-on-port-81-ns-x', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }) }], ports: [{ port: 81, protocol: 'UDP' }] }] })],
    checks: [{ port: 81, protocol: 'udp', expect: R().peer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).peer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) }],
  },
  {
    name: 'UDP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    objects: () => [np('allow-ns-y-pod-a-via-namespace-pod-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }), podSelector: podA }] }] })],
    checks: [{ port: 80, protocol: 'udp', expect: R().allIngress('x/a', false).expect('y/a', 'x/a', true) }],
  },
  // SCTP
  { name: "SCTP: should support a 'default-deny-ingress' policy", objects: () => [np('deny-all', 'x', {}, { ingress: [] })], checks: [{ port: 80, protocol: 'sctp', expect: R().peer({}, { ns: 'x' }, false) }] },
  {
    name: 'SCTP: should enforce policy based on Ports',
    objects: () => [np('allow-ingress-on-port-81-ns-x', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }) }], ports: [{ port: 81, protocol: 'SCTP' }] }] })],
    checks: [{ port: 81, protocol: 'sctp', expect: R().peer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).peer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false) }],
  },
  {
    name: 'SCTP: should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    objects: () => [np('allow-ns-y-pod-a-via-namespace-pod-selector', 'x', podA, { ingress: [{ from: [{ namespaceSelector: labels({ [NSL]: 'y' }), podSelector: podA }] }] })],
    checks: [{ port: 80, protocol: 'sctp', expect: R().allIngress('x/a', false).expect('y/a', 'x/a', true) }],
  },
];
