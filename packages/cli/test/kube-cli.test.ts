/** `ovnts kube`: reach JSON lines, trace JSON, usage errors, located input errors. */
import { expect, test } from 'vitest';
import { BufferIo, main } from '@ovnts/cli';

test('kube reach --json and kube trace --json on the fixture cluster', async () => {
  const io = new BufferIo();
  expect(await main(['kube', 'reach', '--cluster', 'fixtures/cluster', '--ports', '8080', '--from', 'frontend', '--to', 'backend', '--json'], io)).toBe(0);
  const lines = io.stdout.trim().split('\n').map((l) => JSON.parse(l) as { from: string; to: string; verdict: string });
  expect(lines).toHaveLength(6);
  expect(lines.find((l) => l.from === 'frontend/web-0' && l.to === 'backend/db-0')!.verdict).toBe('blocked');
  expect(lines.find((l) => l.from === 'frontend/web-1' && l.to === 'backend/api-0')!.verdict).toBe('allowed');
  const t = new BufferIo();
  expect(await main(['kube', 'trace', '--cluster', 'fixtures/cluster', '--from', 'frontend/web-0', '--to', 'backend/db-0:5432', '--json'], t)).toBe(0);
  const j = JSON.parse(t.stdout) as { verdict: string; droppedBy: string; engine: string };
  expect(j.verdict).toBe('dropped');
  expect(j.engine).toBe('chassis');
  expect(j.droppedBy).toContain('ACL NP:backend:Ingress');
}, 60_000);

test('kube --engine: chassis and lflow (reach\'s default) give the same matrix; trace (chassis by default) says which engine decided', async () => {
  const run = async (...extra: string[]) => {
    const io = new BufferIo();
    expect(await main(['kube', 'reach', '--cluster', 'fixtures/cluster', '--ports', '8080', ...extra], io)).toBe(0);
    return io.stdout;
  };
  const dflt = await run();
  expect(dflt).toContain('TCP/8080');
  expect(await run('--engine', 'chassis')).toBe(dflt);
  expect(await run('--engine', 'lflow')).toBe(dflt);
  const t = new BufferIo();
  expect(await main(['kube', 'trace', '--cluster', 'fixtures/cluster', '--from', 'backend/api-0', '--to', '8.8.8.8:443'], t)).toBe(0);
  expect(t.stdout).toMatch(/DELIVERED to external 8\.8\.8\.8 via node worker-1/);
  expect(t.stdout).toMatch(/verdict: frames through the nodes' OpenFlow switches \(1 Geneve frame between nodes\)/);
  expect(t.stdout).toContain('frames: worker-0 -> worker-1: Geneve VNI 16711683');
  expect(t.stdout).toContain('frames: worker-1: out br-ex_worker-1 to 8.8.8.8');
  const l = new BufferIo();
  expect(await main(['kube', 'trace', '--cluster', 'fixtures/cluster', '--from', 'backend/api-0', '--to', '8.8.8.8:443', '--engine', 'lflow', '--json'], l)).toBe(0);
  const j = JSON.parse(l.stdout) as { verdict: string; engine: string; snat: string };
  expect(j).toMatchObject({ verdict: 'delivered', engine: 'lflow', snat: '192.168.111.100' });
  const bad = new BufferIo();
  expect(await main(['kube', 'reach', '--cluster', 'fixtures/cluster', '--engine', 'ovs'], bad)).toBe(2);
  expect(bad.stderr).toContain('--engine: "ovs" is not chassis or lflow');
}, 120_000);

test('kube usage and input errors', async () => {
  const a = new BufferIo();
  expect(await main(['kube', 'frob', '--cluster', 'fixtures/cluster'], a)).toBe(2);
  expect(a.stderr).toContain('unknown subcommand "frob"');
  const b = new BufferIo();
  expect(await main(['kube', 'trace', '--cluster', 'fixtures/cluster', '--from', 'nope/x', '--to', '10.0.0.1:80'], b)).toBe(1);
  expect(b.stderr).toContain('no pod nope/x');
  const j = new BufferIo();
  expect(await main(['kube', 'trace', '--cluster', 'fixtures/cluster', '--from', 'frontend/web-0', '--to', 'frontend/web-1:80', '--join', 'frontend/web-1'], j)).toBe(2);
  expect(j.stderr).toContain('--join applies to a multicast group (--to frontend/web-1:80 is not one)');
  const c = new BufferIo();
  expect(await main(['kube', 'reach', '--cluster', 'fixtures/missing'], c)).toBe(1);
  expect(c.stderr).toContain('fixtures/missing: no such file or directory');
});
