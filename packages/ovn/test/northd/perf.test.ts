import { describe, expect, test } from 'vitest';
import { NbBuilder, compileNorthd } from '@ovnts/ovn';

/** An OVN-Kubernetes-shaped NB: per node a switch with pods, a cluster router, port groups with ACLs, services. */
function cluster(nodes: number, pods: number) {
  const nb = new NbBuilder();
  const lr = nb.router('ovn_cluster_router');
  const allPods = [];
  const lb = nb.loadBalancer('svc', { vips: { '172.30.0.10:80': '10.128.0.3:8080,10.128.2.3:8080' }, protocol: 'tcp' });
  for (let n = 0; n < nodes; n++) {
    const a = 128 + Math.floor(n / 128), b = (n % 128) * 2;
    const sw = nb.logicalSwitch(`node${n}`, { subnet: `10.${a}.${b}.0/23` });
    sw.addLoadBalancer(lb);
    nb.connect(sw, lr, { mac: `0a:58:0a:${a.toString(16)}:${b.toString(16)}:01`, networks: [`10.${a}.${b}.1/23`] });
    for (let p = 0; p < pods; p++) {
      const ip = `10.${a}.${b}.${p + 3}`;
      const mac = `0a:58:0a:${a.toString(16)}:${b.toString(16)}:${(p + 3).toString(16)}`;
      allPods.push(sw.port(`ns${p % 10}_pod${n}-${p}`, { addresses: [`${mac} ${ip}`], portSecurity: [`${mac} ${ip}`] }));
    }
  }
  for (let ns = 0; ns < 10; ns++) {
    const pg = nb.portGroup(`pg_ns${ns}`, allPods.filter((_, i) => i % pods % 10 === ns));
    nb.acl(pg, { direction: 'to-lport', priority: 1001, match: `outport == @pg_ns${ns} && ip4.src == $as_ns${ns}`, action: 'allow-related' });
    nb.acl(pg, { direction: 'to-lport', priority: 1000, match: `outport == @pg_ns${ns}`, action: 'drop' });
    nb.addressSet(`as_ns${ns}`, [`10.128.0.${ns + 3}`]);
  }
  return nb.build();
}

describe('compile time', () => {
  test('200 nodes x 20 pods compiles in seconds, linear-ish', () => {
    const db = cluster(200, 20);
    const t0 = performance.now();
    const r = compileNorthd(db);
    const ms = performance.now() - t0;
    console.log(`200x20: ${r.flows.length} flows in ${ms.toFixed(0)} ms`);
    expect(r.flows.length).toBeGreaterThan(200 * 20 * 3);
    expect(ms).toBeLessThan(10_000);
  });
});
