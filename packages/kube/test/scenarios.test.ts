/**
 * The scenarios of the OpenShift guide (docs/kube.md, issue 10), each answered by the emulated
 * OVN: session affinity on the virtual clock, a policy allow/deny matrix with its audit log lines,
 * egress IP as the source address seen outside, egress firewall by CIDR and by DNS name, a
 * dual-stack service with either family primary. Every probe is recorded; the last test traces
 * every hop of every scenario again with real OVN (ovsdb-server, ovn-northd, ovn-trace).
 */
import { describe, expect, test } from 'vitest';
import { egressRouterFrame, formatIp, gatewayMac, readManifests, buildCluster, tryParseIp, type Ip } from '@ovnts/kube';
import { requireTools, tsharkRecords } from '@ovnts/testkit';
import { TWO_NODES, clusterOf, realOvnCompare, scenario } from './scenario-kit.js';

const ip = (s: string): Ip => tryParseIp(s)!;
const tsharkReq = requireTools('egress router frames against tshark', ['tshark'], 'apt-get install -y tshark');
const fixture = () => buildCluster(readManifests('fixtures/cluster'));

describe('session affinity: the timeout counts from the last packet, on the virtual clock', () => {
  // fixtures/cluster: Service backend/api (172.30.20.10:80 -> http), ClientIP, timeoutSeconds 10.
  const s = scenario('affinity', fixture());
  const vip = ip('172.30.20.10');
  let sport = 41000;
  const at = (t: number) => s.probe({ from: 'frontend/web-0', dst: vip, proto: 'tcp', port: 80, srcPort: sport++, at: t });
  // A fresh binding shows as OVN 23.03's dropped first SYN (ls_in_lb_aff_learn has no next;), a
  // kept one as a hop that used the learned affinity.
  const fresh = (r: ReturnType<typeof at>) => r.notes.some((n) => /first SYN was dropped by OVN 23.03's ls_in_lb_aff_learn/.test(n));
  const learned = (r: ReturnType<typeof at>) => !fresh(r) && r.forward.hops.some((h) => h.stateful);

  test('a binding is learned, then kept while the client talks, to the second', () => {
    const first = at(0);
    expect(first.verdict).toBe('delivered');
    expect(fresh(first)).toBe(true);
    const backend = first.to!;
    expect(['backend/api-0', 'backend/api-1']).toContain(backend);
    // New connections (new source ports) at 5 s, then exactly 10 s after the last one: same backend.
    for (const t of [5, 15, 25, 35]) {
      const r = at(t);
      expect(r.to, `at ${t} s`).toBe(backend);
      expect(learned(r), `at ${t} s`).toBe(true);
    }
  });

  test('silent for more than timeoutSeconds, the client loses its binding', () => {
    const r = at(46); // 11 s after the last connection at 35 s
    expect(fresh(r)).toBe(true);
    // A client that keeps talking never times out: every 9 s for 100 s.
    const backend = r.to!;
    for (let t = 55; t <= 150; t += 9) {
      const x = at(t);
      expect(learned(x), `at ${t} s`).toBe(true);
      expect(x.to).toBe(backend);
    }
  });

  test('through the chassis the same: the learnt flow (table 78, idle_timeout=10) keeps the backend and expires strictly after 10 s', () => {
    // The probes of the two tests above, answered by frames through the chassis (scenario-kit).
    const c = s.chassisResults;
    expect(c.length).toBe(1 + 4 + 1 + 11);
    const freshC = (r: (typeof c)[number]) => r.notes.some((n) => /first SYN was dropped/.test(n));
    expect(c.map(freshC)).toEqual([true, false, false, false, false, true, ...Array<boolean>(11).fill(false)]);
    expect(new Set(c.slice(0, 5).map((r) => r.to)).size).toBe(1);
    expect(new Set(c.slice(5).map((r) => r.to)).size).toBe(1);
    for (const r of c) expect(r.verdict).toBe('delivered');
    const learnt = [...s.chassis.zones.values()].flatMap((z) => z.cluster.nodes.flatMap((n) => n.sw.dumpFlows(78)));
    expect(learnt.length).toBe(1);
    expect(learnt[0]).toMatch(/idle_timeout=10,.*nw_src=10\.128\.\d+\.\d+,nw_dst=172\.30\.20\.10,tp_dst=80 /);
  });

  test('without affinity the same connections spread over the backends', () => {
    const plain = scenario('affinity-off', clusterOf(...readManifests('fixtures/cluster').map((m) => JSON.stringify(m.obj.kind === 'Service' ? { ...m.obj, spec: { ...(m.obj.spec as object), sessionAffinity: 'None' } } : m.obj))));
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add(plain.probe({ from: 'frontend/web-0', dst: vip, proto: 'tcp', port: 80, srcPort: 42000 + i, at: i }).to!);
    expect([...seen].sort()).toEqual(['backend/api-0', 'backend/api-1']);
  });
});

describe('a policy allow/deny matrix and its audit log lines (k8s.ovn.org/acl-logging)', () => {
  // backend: default-deny ingress, allow frontend app=web -> app=api on TCP 8080; the namespace logs
  // denies at alert and allows at notice.
  const s = scenario('audit', fixture());
  const clients = ['frontend/web-0', 'frontend/web-1'];
  const servers = ['backend/api-0', 'backend/api-1', 'backend/db-0'];
  const rows: { from: string; to: string; port: number; verdict: string; logs: string[] }[] = [];
  let sport = 40000;
  for (const from of clients) {
    for (const to of servers) {
      for (const port of [8080, 5432]) {
        const r = s.probe({ from, dst: s.ip(to), proto: 'tcp', port, srcPort: ++sport });
        rows.push({ from, to, port, verdict: r.verdict, logs: [...r.forward.logs, ...(r.reply?.logs ?? [])] });
      }
    }
  }

  test('the matrix', () => {
    const table = rows.map((r) => `${r.from} -> ${r.to}:${r.port} ${r.verdict}`);
    expect(table).toEqual(
      rows.map((r) => `${r.from} -> ${r.to}:${r.port} ${r.to.includes('api') && r.port === 8080 ? 'delivered' : 'dropped'}`),
    );
  });

  test('one log line per connection, in ovn-controller\'s format, with the namespace\'s severities', () => {
    for (const r of rows) {
      expect(r.logs, `${r.from} -> ${r.to}:${r.port}`).toHaveLength(1);
      if (r.verdict === 'delivered') expect(r.logs[0]).toMatch(/^name="NP:backend:allow-web-to-api:Ingress:0", verdict=allow, severity=notice, direction=to-lport: tcp,/);
      else expect(r.logs[0]).toMatch(/^name="NP:backend:Ingress", verdict=drop, severity=alert, direction=to-lport: tcp,/);
    }
    // Two lines in full (lib/acl-log.c handle_acl_log: name, verdict, severity, direction, then
    // OVS flow_format of the packet as the logging switch saw it: routed twice across nodes).
    expect(rows.find((r) => r.from === 'frontend/web-0' && r.to === 'backend/db-0' && r.port === 5432)!.logs[0]).toBe(
      'name="NP:backend:Ingress", verdict=drop, severity=alert, direction=to-lport: tcp,vlan_tci=0x0000,dl_src=0a:58:0a:80:02:01,dl_dst=0a:58:0a:80:02:05,nw_src=10.128.0.3,nw_dst=10.128.2.5,nw_tos=0,nw_ecn=0,nw_ttl=62,nw_frag=no,tp_src=40006,tp_dst=5432,tcp_flags=syn',
    );
    expect(rows.find((r) => r.from === 'frontend/web-0' && r.to === 'backend/api-0' && r.port === 8080)!.logs[0]).toBe(
      'name="NP:backend:allow-web-to-api:Ingress:0", verdict=allow, severity=notice, direction=to-lport: tcp,vlan_tci=0x0000,dl_src=0a:58:0a:80:00:03,dl_dst=0a:58:0a:80:00:04,nw_src=10.128.0.3,nw_dst=10.128.0.4,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=40001,tp_dst=8080,tcp_flags=syn',
    );
  });

  test('without the annotation nothing is logged', () => {
    const quiet = scenario('audit-quiet', clusterOf(...readManifests('fixtures/cluster').map((m) => JSON.stringify(m.obj.kind === 'Namespace' ? { ...m.obj, metadata: { ...(m.obj.metadata as object), annotations: {} } } : m.obj))));
    const r = quiet.probe({ from: 'frontend/web-0', dst: quiet.ip('backend/db-0'), proto: 'tcp', port: 5432 });
    expect(r.verdict).toBe('dropped');
    expect(r.forward.logs).toEqual([]);
  });
});

describe('egress IP: the source address seen outside the cluster', () => {
  // EgressIP egress-backend (192.168.111.100) for namespace backend, hosted by worker-1 (egress-assignable).
  const s = scenario('egress-ip', fixture(), { resolver: () => [] });
  test('backend pods leave through worker-1 as 192.168.111.100, from either node', () => {
    for (const from of ['backend/api-0', 'backend/api-1', 'backend/db-0']) {
      const r = s.probe({ from, dst: ip('8.8.8.8'), proto: 'tcp', port: 443 });
      expect(r.verdict, from).toBe('delivered');
      expect(r.to, from).toBe('external 8.8.8.8 via node worker-1');
      expect(r.snat, from).toBe('192.168.111.100');
    }
  });
  test('other pods leave through their own node with its address; east-west traffic keeps the pod address', () => {
    const r = s.probe({ from: 'frontend/web-0', dst: ip('8.8.4.4'), proto: 'tcp', port: 443 });
    expect(r.to).toBe('external 8.8.4.4 via node worker-0');
    expect(r.snat).toBe('192.168.111.20');
    const ew = s.probe({ from: 'backend/api-0', dst: s.ip('frontend/web-1'), proto: 'tcp', port: 8080 });
    expect(ew.verdict).toBe('delivered');
    expect(ew.snat).toBeUndefined();
  });
});

describe('egress firewall by CIDR and by DNS name (an injectable resolver)', () => {
  // backend: Allow 203.0.113.0/24; Allow www.example.com TCP 443; Allow 8.8.8.8/32; Deny 0.0.0.0/0.
  const resolver = (name: string) => (name === 'www.example.com' ? [ip('198.51.100.7')] : []);
  const s = scenario('egress-firewall', fixture(), { resolver });
  const go = (dst: string, port: number, proto: 'tcp' | 'udp' = 'tcp') => s.probe({ from: 'backend/db-0', dst: ip(dst), proto, port });
  test('by CIDR', () => {
    expect(go('203.0.113.50', 80).verdict).toBe('delivered');
    const d = go('1.1.1.1', 53, 'udp');
    expect(d.verdict).toBe('dropped');
    expect(d.droppedBy).toBe('EgressFirewall backend/default rule 3 (Deny 0.0.0.0/0) (ACL EF:backend:3)');
    expect(d.forward.logs[0]).toMatch(/^name="EF:backend:3", verdict=drop, severity=alert, direction=to-lport: udp,/);
  });
  test('by DNS name, with its ports', () => {
    const ok = go('198.51.100.7', 443);
    expect(ok.verdict).toBe('delivered');
    expect(ok.forward.logs[0]).toMatch(/^name="EF:backend:1", verdict=allow, severity=notice, direction=to-lport: tcp,/);
    expect(go('198.51.100.7', 80).droppedBy).toMatch(/rule 3/);
    expect(go('198.51.100.7', 443, 'udp').droppedBy).toMatch(/rule 3/);
  });
  test('a name the resolver does not know matches nothing; without a resolver, a note says so', () => {
    const none = scenario('egress-firewall-no-resolver', fixture());
    expect(none.net.notes.join('\n')).toMatch(/EgressFirewall DNS name www.example.com: no resolver given/);
    expect(none.probe({ from: 'backend/db-0', dst: ip('198.51.100.7'), proto: 'tcp', port: 443 }).verdict).toBe('dropped');
  });
  test('traffic inside the cluster is not the firewall\'s: the rule leaves the cluster network out', () => {
    expect(s.net.zones.get('worker-1')!.db.acls.some((a) => a.match === '(ip4.dst == 0.0.0.0/0 && ip4.dst != 10.128.0.0/14) && inport == @' + a.match.split('@')[1])).toBe(true);
    expect(s.probe({ from: 'backend/api-1', dst: s.ip('frontend/web-1'), proto: 'tcp', port: 8080 }).verdict).toBe('delivered');
  });
});

const dualStack = (order: '4,6' | '6,4') => `
apiVersion: config.openshift.io/v1
kind: Network
metadata: {name: cluster}
spec:
  clusterNetwork: ${order === '4,6' ? '[{cidr: 10.128.0.0/14, hostPrefix: 23}, {cidr: "fd01::/48", hostPrefix: 64}]' : '[{cidr: "fd01::/48", hostPrefix: 64}, {cidr: 10.128.0.0/14, hostPrefix: 23}]'}
  serviceNetwork: ${order === '4,6' ? '[172.30.0.0/16, "fd02::/112"]' : '["fd02::/112", 172.30.0.0/16]'}
---
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.50.10}, {type: InternalIP, address: "2001:db8::10"}]}
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
status: {addresses: [{type: InternalIP, address: 192.168.50.11}, {type: InternalIP, address: "2001:db8::11"}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app}
spec: {nodeName: node-a, containers: [{name: c, image: curl}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: app, labels: {app: server}}
spec: {nodeName: node-b, containers: [{name: s, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  selector: {app: server}
  ipFamilyPolicy: RequireDualStack
  ipFamilies: ${order === '4,6' ? '[IPv4, IPv6]' : '[IPv6, IPv4]'}
  ports: [{name: http, port: 80, targetPort: http}]
`;

describe('a dual-stack service, either family primary', () => {
  test.each(['4,6', '6,4'] as const)('families %s: both cluster IPs reach the backend over their own family', (order) => {
    const s = scenario(`dual-stack-${order}`, clusterOf(dualStack(order)));
    const svc = s.cluster.services[0]!;
    expect(svc.clusterIPs.map((x) => x.family)).toEqual(order === '4,6' ? [4, 6] : [6, 4]);
    expect(s.cluster.pods.find((p) => p.name === 'server')!.ips.map((x) => x.family)).toEqual(order === '4,6' ? [4, 6] : [6, 4]);
    for (const vip of svc.clusterIPs) {
      const r = s.probe({ from: 'app/client', dst: vip, proto: 'tcp', port: 80 });
      expect(r.verdict, formatIp(vip)).toBe('delivered');
      expect(r.to).toBe('app/server');
      expect(r.backend).toBe(vip.family === 6 ? `[${formatIp(s.ip('app/server', 6))}]:8080` : `${formatIp(s.ip('app/server', 4))}:8080`);
    }
    expect(s.probe({ from: 'app/client', dst: s.ip('app/server', 6), proto: 'icmp', port: 0 }).verdict).toBe('delivered');
  });
});

const egressRouter = (fallback: boolean, policy: boolean) => `
${TWO_NODES}
---
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Namespace
metadata: {name: egress}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app}
spec: {nodeName: node-b, containers: [{name: c, image: curl}]}
---
apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata: {name: egress-router-redirect, namespace: egress}
spec:
  networkInterface: {macvlan: {mode: Bridge}}
  addresses: [{ip: 192.168.50.99/24, gateway: 192.168.50.1}]
  mode: Redirect
  redirect:
    redirectRules:
    - {destinationIP: 203.0.113.25, port: 80, protocol: TCP}
    - {destinationIP: 203.0.113.26, port: 8080, targetPort: 80, protocol: TCP}
${fallback ? '    fallbackIP: 203.0.113.27' : ''}
${policy ? `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: egress}
spec: {podSelector: {}, policyTypes: [Ingress]}` : ''}
`;

describe('an egress router pod in redirect mode (DNAT to the rule destination, SNAT to the reserved address)', () => {
  const s = scenario('egress-router', clusterOf(egressRouter(true, false)));
  const router = s.cluster.egressRouters[0]!;
  const rip = s.ip(router.pod);
  const go = (port: number, proto: 'tcp' | 'udp' = 'tcp') => s.probe({ from: 'app/client', dst: rip, proto, port });
  const where = (r: ReturnType<typeof go>) => {
    const f = r.redirect!.flow;
    return `${formatIp({ family: 4, addr: f.nw_src })} -> ${formatIp({ family: 4, addr: f.nw_dst })}:${f.tp_dst} (${r.redirect!.rule})`;
  };
  test('each rule, then the fallback; OVN carries the connection to the pod and its reply back', () => {
    const a = go(80);
    expect(a.verdict).toBe('delivered');
    expect(a.to).toBe(router.pod);
    expect(where(a)).toBe('192.168.50.99 -> 203.0.113.25:80 (redirectRules[0])');
    expect(a.reply!.deliveries.map((d) => d.name)).toEqual(['app/client']);
    expect(where(go(8080))).toBe('192.168.50.99 -> 203.0.113.26:80 (redirectRules[1])');
    expect(where(go(443))).toBe('192.168.50.99 -> 203.0.113.27:443 (fallbackIP)');
    expect(where(go(53, 'udp'))).toBe('192.168.50.99 -> 203.0.113.27:53 (fallbackIP)');
  });
  test('without a fallback, what no rule takes ends in the pod', () => {
    const t = scenario('egress-router-no-fallback', clusterOf(egressRouter(false, false)));
    const r = t.probe({ from: 'app/client', dst: t.ip(t.cluster.egressRouters[0]!.pod), proto: 'tcp', port: 443 });
    expect(r.verdict).toBe('dropped');
    expect(r.redirect).toBeUndefined();
    expect(r.notes.join('\n')).toMatch(/has no rule for TCP port 443 and no fallbackIP/);
  });
  test('a NetworkPolicy on the router namespace applies before the redirect', () => {
    const t = scenario('egress-router-policy', clusterOf(egressRouter(true, true)));
    const r = t.probe({ from: 'app/client', dst: t.ip(t.cluster.egressRouters[0]!.pod), proto: 'tcp', port: 80 });
    expect(r.verdict).toBe('dropped');
    expect(r.droppedBy).toMatch(/default deny of namespace egress/);
  });
  test.skipIf(tsharkReq.skip)('the frame out of net1, as tshark reads it: reserved source, redirected destination, TTL less one (routed twice across nodes, then by the pod), good checksums', () => {
    const f = egressRouterFrame(s.net, go(8080).redirect!);
    const [row] = tsharkRecords([f], ['eth.dst', 'ip.src', 'ip.dst', 'ip.ttl', 'tcp.dstport', 'tcp.flags.syn', 'tcp.checksum.status', 'ip.checksum.status'], ['tcp.check_checksum:TRUE', 'ip.check_checksum:TRUE']);
    expect(row).toMatchObject({ 'eth.dst': gatewayMac(router.gateway), 'ip.src': '192.168.50.99', 'ip.dst': '203.0.113.26', 'ip.ttl': '61', 'tcp.dstport': '80', 'tcp.flags.syn': '1', 'tcp.checksum.status': '1', 'ip.checksum.status': '1' });
  });
});

realOvnCompare('kube scenarios vs real OVN', 80);
