/**
 * Random differential test of meters against real Open vSwitch 3.1 (userspace datapath, its clock
 * stopped and warped): random meters (pktps/kbps, burst or not, one or two drop bands) shared by
 * flows of several ports, bursts of frames of varied sizes and clock advances from 0 to 3 s
 * (`randomMeterCase` in @ovnts/testkit). Per frame, every port's output must be byte-identical,
 * and at the end every meter's packet, byte and band counters must equal `ovs-ofctl meter-stats`.
 *
 * `OVNTS_METER_CASES` cases (default 8) from `OVNTS_METER_SEED` (default 1, printed); case i uses
 * seed `SEED + i`, printed on failure, so `OVNTS_METER_SEED=<it> OVNTS_METER_CASES=1` replays it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomMeterCase, requireOracle, seedFromEnv, startOvs, type OvsOracle } from '@ovnts/testkit';
import { firstDifference, ourSwitch, runOursSteps, runOvsSteps } from './stateful-run.js';

const req = requireOracle('OVS meter differential', 'ovs-sandbox', ['ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const CASES = Number(process.env.OVNTS_METER_CASES ?? 8);
const PORTS = [1, 2, 3, 4];

describe.skipIf(req.skip)('meters: random cases byte-identical to Open vSwitch', () => {
  let ovs: OvsOracle;
  beforeAll(async () => {
    ovs = await startOvs();
    await ovs.timeStop();
    await ovs.bridge('mbr', { ports: PORTS, portPrefix: 'm' });
  }, 120_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  it(`${CASES} random meter cases`, async () => {
    const { seed: first } = seedFromEnv('meter differential', 'OVNTS_METER_SEED', 1);
    let frames = 0;
    let dropped = 0;
    for (let i = 0; i < CASES; i++) {
      const seed = (first + i) >>> 0;
      const c = randomMeterCase(seed);
      const where = `seed ${seed}:\n${c.meters.join('\n')}\n${c.flows}`;
      // OVS: a clean bridge, then the meters and flows.
      expect((await ovs.delFlows('mbr')).ok).toBe(true);
      const rm = await ovs.replaceMeters('mbr', c.meters);
      expect(rm.ok, `${where}\n${rm.stderr}`).toBe(true);
      const rf = await ovs.addFlows('mbr', c.flows + '\n');
      expect(rf.ok, `${where}\n${rf.stderr}`).toBe(true);
      const theirs = await runOvsSteps(ovs, 'mbr', PORTS, c.steps, { revalidateOnWarp: false });
      // Ours.
      const { sw, clock, cur } = ourSwitch(PORTS.map((number) => ({ number })));
      for (const m of c.meters) sw.addMeter(m);
      sw.addFlows(c.flows);
      const ours = runOursSteps(sw, clock, cur, PORTS, c.steps);
      const d = firstDifference(ours, theirs);
      expect(d, `${where}\n${d}`).toBeUndefined();
      // Counters.
      const stats = await ovs.meterStats('mbr');
      for (const m of c.meters) {
        const id = Number(/^meter=(\d+)/.exec(m)![1]);
        const mine = sw.meters.get(id)!;
        const s = mine.stats();
        expect({ packets: s.packets, bytes: s.bytes, bands: s.bands }, `${where}\nmeter ${id}`).toEqual(stats.get(id));
        for (const b of s.bands) dropped += b.packets;
      }
      frames += c.steps.filter((s) => !('warp' in s)).length;
    }
    console.log(`[meters] ${CASES} cases, ${frames} frames (${dropped} dropped by a band), identical outputs and meter counters`);
    // The cases must exercise both outcomes, or they test nothing.
    expect(dropped).toBeGreaterThan(frames * 0.05);
    expect(dropped).toBeLessThan(frames * 0.95);
  }, 600_000);
});
