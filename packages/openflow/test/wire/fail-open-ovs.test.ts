/**
 * Fail-open against ovs-vswitchd: a standalone bridge whose controller (`tcp:` to a port where
 * nothing listens, default inactivity probe 5 s) never answers. OVS's clock is stopped
 * (`time/stop`) and moved with `time/warp`, ours is a `VirtualClock`: neither has failed open 14 s
 * after the controller was configured, both have at 16 s (three probe intervals: 15 s); then both
 * have deleted their flows and groups (`dump-flows`, `dump-groups` empty), both show the one hidden
 * flow (`ovs-appctl bridge/dump-flows` and `FailOpen.hiddenFlows()`, durations normalised), and a
 * frame is flooded by NORMAL to the same ports with the same bytes. A secure bridge does none of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { freePort, requireTools, startOvs, type OvsOracle } from '@ovnts/testkit';
import { FailOpen, OfpAgent, Switch, VirtualClock } from '@ovnts/openflow';

const req = requireTools('fail-open differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-vsctl', 'ovs-appctl'], 'apt-get install -y openvswitch-switch');
const PORTS = [1, 2, 3];
const FLOWS = ['priority=10,in_port=1,actions=output:2', 'priority=5,actions=group:1'];
const GROUP = 'group_id=1,type=all,bucket=output:3';

const frame = new PacketBuilder().ethernet({ src: '0a:00:00:00:00:01', dst: '0a:00:00:00:00:07' }).ipv4({ src: '10.0.0.1', dst: '10.0.0.7' }).udp({ srcPort: 5, dstPort: 6 }).payload(new Uint8Array(10)).build();

/** `bridge/dump-flows` lines with the duration normalised. */
const norm = (lines: string[]): string[] => lines.map((l) => l.trim().replace(/duration=\d+s/, 'duration=Xs')).filter((l) => l.length > 0);

describe.skipIf(req.skip)('fail-open as ovs-vswitchd (time/stop, time/warp)', () => {
  let ovs: OvsOracle;
  beforeAll(async () => {
    ovs = await startOvs();
  }, 60_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  for (const mode of ['standalone', 'secure'] as const) {
    const what = mode === 'standalone' ? 'fails open between 14 and 16 s: flows and groups flushed, the hidden NORMAL flow' : 'never fails open: flows and groups kept';
    it(`${mode}: ${what}`, async () => {
      const br = `b${mode[1]}`;
      const dead = await freePort();
      await ovs.bridge(br, { ports: PORTS, protocols: 'OpenFlow13', failMode: mode, markers: false, portPrefix: `${br}p` });
      await ovs.vsctl('set-controller', br, `tcp:127.0.0.1:${dead}`, '--', 'set', 'controller', br, 'connection-mode=out-of-band');
      await ovs.appctl('time/stop');
      // After set-controller: OVS flushes the flows when a bridge gets its first controller.
      expect((await ovs.addGroups(br, GROUP)).ok).toBe(true);
      expect((await ovs.addFlows(br, FLOWS.join('\n'))).ok).toBe(true);

      const clock = new VirtualClock(0);
      const sw = new Switch({ clock });
      for (const p of PORTS) sw.addPort({ number: p });
      const agent = new OfpAgent(sw);
      const fo = new FailOpen(agent, { mode, clock });
      sw.addGroup(GROUP);
      for (const f of FLOWS) sw.addFlow(f);
      const out: Record<number, string[]> = { 1: [], 2: [], 3: [] };
      sw.onOutput = (p, f) => out[p]?.push(toHex(f));

      const hidden = async (): Promise<string[]> => norm((await ovs.appctl('bridge/dump-flows', br)).split('\n')).filter((l) => /priority=\d{6,}/.test(l));
      await ovs.appctl('time/warp', '14000', '1000');
      clock.advance(14_000);
      expect(await hidden()).toEqual([]);
      expect(fo.active).toBe(false);
      expect(await ovs.dumpFlows(br)).toHaveLength(2);

      await ovs.appctl('time/warp', '2000', '1000');
      clock.advance(2000);
      const theirs = await hidden();
      expect(norm(fo.hiddenFlows())).toEqual(theirs);
      expect(theirs).toHaveLength(mode === 'standalone' ? 1 : 0);
      const flows = await ovs.dumpFlows(br);
      expect(sw.flows().length).toBe(flows.length);
      expect((await ovs.dumpGroups(br)).length).toBe(sw.groups.size);
      if (mode === 'standalone') expect(flows).toEqual([]);

      const [r] = await ovs.inject(br, 1, frame);
      const late = ovs.drainTx(br);
      const ovsOut: Record<number, string[]> = { 1: [], 2: [], 3: [] };
      for (const p of PORTS) ovsOut[p]!.push(...[...r!.outputs[p]!, ...late[p]!].map((f) => toHex(f)));
      fo.receive(1, frame);
      expect(out).toEqual(ovsOut);
      fo.stop();
      await ovs.appctl('time/warp', '1000');
    }, 60_000);
  }
});
