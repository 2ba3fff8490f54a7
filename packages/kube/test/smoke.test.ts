import { test, expect } from 'vitest';
import { buildCluster, readManifests, translateCluster, OvnTraceEngine, tryParseIp } from '@ovnts/kube';
test('smoke', () => {
  const c = buildCluster(readManifests('fixtures/cluster'));
  const t0 = performance.now();
  const net = translateCluster(c);
  console.log('translate ms', performance.now() - t0, net.notes);
  const e = new OvnTraceEngine(net);
  const pod = (n: string) => c.pods.find((p) => `${p.namespace}/${p.name}` === n)!;
  for (const [from, to, port] of [['frontend/web-0', 'backend/api-0', 8080], ['frontend/web-0', 'backend/api-1', 8080], ['frontend/web-0', 'backend/db-0', 5432], ['backend/api-0', 'frontend/web-1', 8080]] as const) {
    const t1 = performance.now();
    const r = e.probe({ from: pod(from), dst: pod(to).ips[0]!, proto: 'tcp', port });
    console.log(from, to, r.verdict, r.to, r.droppedBy, performance.now() - t1, r.forward.path.join(' | '));
    if (r.reply) console.log('  reply', r.reply.path.join(' | '), r.reply.droppedBy);
  }
  const r = e.probe({ from: pod('frontend/web-0'), dst: tryParseIp('172.30.20.10')!, proto: 'tcp', port: 80 });
  console.log('svc', r.verdict, r.to, r.backend, r.droppedBy, r.notes);
  const r2 = e.probe({ from: pod('backend/api-0'), dst: tryParseIp('8.8.8.8')!, proto: 'tcp', port: 443 });
  console.log('ext', r2.verdict, r2.to, r2.snat, r2.droppedBy, r2.forward.path.join(' | '));
  expect(1).toBe(1);
});
