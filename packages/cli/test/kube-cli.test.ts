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
  const j = JSON.parse(t.stdout) as { verdict: string; droppedBy: string };
  expect(j.verdict).toBe('dropped');
  expect(j.droppedBy).toContain('ACL NP:backend:Ingress');
}, 60_000);

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
