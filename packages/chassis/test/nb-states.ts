/**
 * Random northbound states of a small OVN-Kubernetes-shaped network for the chassis property
 * tests: two node switches behind a router, pods 0-2 on node-0 and 3-5 on node-1 (bound to hv1
 * and hv2 as `MAP_TEXT` says), two port groups and two address sets with random members, ACLs on
 * the port groups (conjunctive matches, several sharing clause flows; stateful `allow-related`),
 * a load balancer VIP 172.30.0.1:80 with random backends on both switches (a dp_hash select
 * group), a meter row and a second router port (datapath and meter changes force a full
 * recompute).
 */
import fc from 'fast-check';
import { NbBuilder, setDatum } from '@ovnts/ovn';
import { clusterConfig, parseChassisMap } from '@ovnts/chassis';

/** Pods (present or not in a state). */
export const PODS = 6;
/** The pods' IPv4 addresses. */
export const ADDRS = ['10.128.0.2', '10.128.0.3', '10.128.0.4', '10.128.1.2', '10.128.1.3', '10.128.1.4'];
export const BACKENDS = ['10.128.0.2:8080', '10.128.0.3:8080', '10.128.1.2:8080', '10.128.1.3:8080'];
/** ACLs on port groups; the first three share clause flows (same priority, same `ip4.src` or `tcp.dst` dimension). */
export const ACLS: { pg: 0 | 1; direction: 'to-lport' | 'from-lport'; priority: number; match: string; action: 'allow-related' | 'drop' | 'allow' }[] = [
  { pg: 0, direction: 'to-lport', priority: 1001, match: 'outport == @pg0 && ip4.src == $as0 && tcp.dst == {80, 443}', action: 'allow-related' },
  { pg: 1, direction: 'to-lport', priority: 1001, match: 'outport == @pg1 && ip4.src == $as0 && tcp.dst == {80, 8080}', action: 'allow-related' },
  { pg: 1, direction: 'to-lport', priority: 1001, match: 'outport == @pg1 && ip4.src == $as1 && tcp.dst == {80, 443}', action: 'allow-related' },
  { pg: 0, direction: 'to-lport', priority: 1000, match: 'outport == @pg0 && ip4', action: 'drop' },
  { pg: 1, direction: 'from-lport', priority: 1002, match: 'inport == @pg1 && ip4.dst == {$as0, $as1} && udp.dst == {53, 5353}', action: 'allow' },
  { pg: 0, direction: 'from-lport', priority: 1002, match: 'inport == @pg0 && tcp.dst == 22', action: 'drop' },
];

/** One northbound state. */
export interface State {
  readonly pods: readonly boolean[];
  readonly pg: readonly (readonly boolean[])[];
  readonly as: readonly (readonly boolean[])[];
  readonly acls: readonly boolean[];
  readonly backends: readonly boolean[];
  readonly meter: boolean;
  readonly extraRouterPort: boolean;
}

const bools = (n: number) => fc.array(fc.boolean(), { minLength: n, maxLength: n });
/** A random state. */
export const stateArb: fc.Arbitrary<State> = fc.record({
  pods: bools(PODS),
  pg: fc.tuple(bools(PODS), bools(PODS)),
  as: fc.tuple(bools(ADDRS.length), bools(ADDRS.length)),
  acls: bools(ACLS.length),
  backends: bools(BACKENDS.length),
  meter: fc.boolean(),
  extraRouterPort: fc.boolean(),
});

/**
 * A sequence that takes both paths whatever the random seed: a pod removed (incremental), the
 * meter added (a full recompute), an ACL removed (incremental after a recompute).
 */
export function coveringSequence(): State[] {
  const all = (n: number) => Array.from({ length: n }, () => true);
  const s0: State = { pods: all(PODS), pg: [all(PODS), all(PODS)], as: [all(ADDRS.length), all(ADDRS.length)], acls: all(ACLS.length), backends: all(BACKENDS.length), meter: false, extraRouterPort: false };
  const s1: State = { ...s0, pods: s0.pods.map((p, i) => (i === 0 ? false : p)) };
  const s2: State = { ...s1, meter: true };
  const s3: State = { ...s2, acls: s2.acls.map((a, i) => (i === 0 ? false : a)) };
  return [s0, s1, s2, s3];
}

/** Two node switches behind a router; pods 0-2 on node-0, 3-5 on node-1. */
export function network(s: State): NbBuilder {
  const nb = new NbBuilder();
  const lr = nb.router('lr0');
  const pods: { i: number; h: ReturnType<ReturnType<NbBuilder['logicalSwitch']>['port']> }[] = [];
  const switches = [0, 1].map((i) => {
    const sw = nb.logicalSwitch(`node-${i}`);
    lr.port(`rtos-${i}`, { mac: `0a:58:0a:80:0${i}:01`, networks: [`10.128.${i}.1/24`] });
    sw.port(`stor-${i}`, { type: 'router', addresses: ['router'], options: { 'router-port': `rtos-${i}` } });
    return sw;
  });
  for (let p = 0; p < PODS; p++) {
    if (!s.pods[p]) continue;
    const sw = p < 3 ? 0 : 1;
    const addr = `0a:58:0a:80:0${sw}:0${(p % 3) + 2} ${ADDRS[p]}`;
    pods.push({ i: p, h: switches[sw]!.port(`pod-${p}`, { addresses: [addr], portSecurity: [addr] }) });
  }
  const pgs = [0, 1].map((g) => nb.portGroup(`pg${g}`, pods.filter((x) => s.pg[g]![x.i]).map((x) => x.h)));
  [0, 1].forEach((a) => nb.addressSet(`as${a}`, ADDRS.filter((_x, i) => s.as[a]![i])));
  if (s.meter) nb.meter('acl-meter', { unit: 'pktps', bands: [{ rate: 100 }] });
  ACLS.forEach((a, i) => {
    if (!s.acls[i]) return;
    const log = i === 3 && s.meter ? { log: true, meter: 'acl-meter', name: 'drop-ip4' } : {};
    nb.acl(pgs[a.pg]!, { direction: a.direction, priority: a.priority, match: a.match, action: a.action, ...log });
  });
  const backends = BACKENDS.filter((_b, i) => s.backends[i]);
  const lb = nb.loadBalancer('svc0', { vips: { '172.30.0.1:80': backends.join(',') }, protocol: 'tcp' });
  for (const sw of switches) nb.set(sw, 'load_balancer', setDatum([lb.uuid]));
  if (s.extraRouterPort) {
    const sw = nb.logicalSwitch('join');
    lr.port('rtoj', { mac: '0a:58:64:40:00:01', networks: ['100.64.0.1/16'] });
    sw.port('jtor', { type: 'router', addresses: ['router'], options: { 'router-port': 'rtoj' } });
  }
  return nb;
}

/** Where the pods are bound. */
export const MAP_TEXT = 'pod-0 hv1\npod-1 hv1\npod-2 hv2\npod-3 hv2\npod-4 hv2\npod-5 hv1\n';
/** The two chassis. */
export const cluster = clusterConfig(parseChassisMap(MAP_TEXT));
