// The demo's teaching pipeline (fixtures/openflow/vlan-router.*, with L2 learning) replayed through
// our switch and through real Open vSwitch: every port's output must be byte-identical.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCapture } from '@ovnts/capture';
import { replay } from '../src/commands/replay.js';
import { BufferIo, main } from '@ovnts/cli';
import { repoRoot, requireOracle, startOvs, type OvsOracle } from '@ovnts/testkit';

const req = requireOracle('teaching pipeline vs Open vSwitch', 'ovs-sandbox', ['ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl'], 'apt-get install -y openvswitch-switch');
const F = (p: string) => join(repoRoot, 'fixtures', p);

describe.skipIf(req.skip)('the demo teaching pipeline against real OVS', () => {
  let ovs: OvsOracle;
  beforeAll(async () => {
    ovs = await startOvs();
  }, 60_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  it('gives byte-identical outputs on every port', async () => {
    await ovs.bridge('br0', { ports: [1, 2, 3, 4], markers: false });
    expect((await ovs.addGroups('br0', readFileSync(F('openflow/vlan-router.groups'), 'utf8'))).ok).toBe(true);
    expect((await ovs.addFlows('br0', readFileSync(F('openflow/vlan-router.flows'), 'utf8'))).ok).toBe(true);
    const inputs = [
      { port: 1, path: F('captures/vlan-router-in1.pcap') },
      { port: 3, path: F('captures/vlan-router-in3.pcap') },
    ];
    const frames: { port: number; t: bigint; bytes: Uint8Array }[] = [];
    for (const { port, path } of inputs) for (const f of readCapture(readFileSync(path))) frames.push({ port, t: f.timestampNs, bytes: f.data.slice() });
    frames.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
    const res = await ovs.runFrames('br0', frames.map(({ port, bytes }) => ({ port, bytes })));
    const theirs = new Map<number, string[]>([1, 2, 3, 4].map((p) => [p, []]));
    for (const r of res) for (const [p, list] of Object.entries(r.outputs)) for (const b of list) theirs.get(Number(p))!.push(Buffer.from(b).toString('hex'));
    const ours = replay({ flowsPath: F('openflow/vlan-router.flows'), groupsPath: F('openflow/vlan-router.groups'), ports: [1, 2, 3, 4], inputs });
    for (const p of [1, 2, 3, 4]) {
      expect(ours.out.get(p)!.map((x) => Buffer.from(x.data).toString('hex')), `port ${p}`).toEqual(theirs.get(p));
    }
    expect([...theirs.values()].flat().length).toBe(7); // the demo's story: 7 frames out of 6 in
  }, 60_000);

  // The of-trace examples of docs/cli.md, as ofproto/trace prints them: with the learn suppressed
  // (no -generate) and with it shown (--generate / -generate), Megaflow and Datapath actions included.
  const microflows = [...readFileSync(join(repoRoot, 'docs/cli.md'), 'utf8').matchAll(/^\$ ovnts of-trace --flows fixtures\/openflow\/vlan-router\.flows --groups fixtures\/openflow\/vlan-router\.groups '([^']+)'$/gm)].map((m) => m[1]!);
  it('of-trace prints what ofproto/trace prints, with and without -generate', async () => {
    expect(microflows.length).toBeGreaterThanOrEqual(2);
    // A daemon of its own: the dummy datapath numbers ports across bridges, and br0 has learnt.
    const ovs2 = await startOvs();
    try {
      await ovs2.bridge('br0', { ports: [1, 2, 3, 4], markers: false });
      expect((await ovs2.addGroups('br0', readFileSync(F('openflow/vlan-router.groups'), 'utf8'))).ok).toBe(true);
      expect((await ovs2.addFlows('br0', readFileSync(F('openflow/vlan-router.flows'), 'utf8'))).ok).toBe(true);
      let learns = 0;
      for (const mf of microflows) {
        for (const generate of [false, true]) {
          const io = new BufferIo();
          const code = await main(['of-trace', '--flows', F('openflow/vlan-router.flows'), '--groups', F('openflow/vlan-router.groups'), mf, ...(generate ? ['--generate'] : [])], io);
          let theirs: string;
          try {
            theirs = await ovs2.trace('br0', mf, generate ? ['-generate'] : []);
          } catch (e) {
            // OVS refuses the microflow (the docs' bad-address example): so do we.
            expect(String(e), mf).toMatch(/Bad openflow flow syntax/);
            expect(code, mf).not.toBe(0);
            continue;
          }
          expect(io.stdout, `${mf}${generate ? ' -generate' : ''}`).toBe(theirs);
          if (theirs.includes('learn action ignored') || theirs.includes('-> table=3')) learns++;
        }
      }
      expect(learns).toBeGreaterThanOrEqual(2); // both forms of the learn line were compared
    } finally {
      await ovs2.stop();
    }
  }, 60_000);
});
