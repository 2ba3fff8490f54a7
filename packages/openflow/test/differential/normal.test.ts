/**
 * Random differential test of the NORMAL action against real Open vSwitch 3.1 (userspace
 * datapath, its clock stopped and warped): five ports with random VLAN modes (trunk, access,
 * trunks, native-tagged, native-untagged), NORMAL behind an occasional other flow, frames between
 * a few hosts (untagged, priority-tagged, tagged with carried and uncarried VLANs; unicast,
 * broadcast, multicast, BPDU), hosts moving ports, and clock jumps across the MAC aging time
 * (`randomNormalCase` in @ovnts/testkit). Per frame every port's output must be byte-identical,
 * and at the end the MAC table must hold the same (port, VLAN, MAC) entries as `fdb/show`.
 *
 * OVS learns MACs while translating a packet; a frame that hits a datapath flow cached before a
 * MAC table change is handled by the old decision until the revalidators catch up. Each frame is
 * therefore followed by `revalidator/purge` (our switch decides every frame on the current table).
 *
 * `OVNTS_NORMAL_CASES` cases (default 6) from `OVNTS_NORMAL_SEED` (default 1, printed); case i
 * uses seed `SEED + i`, printed on failure (`OVNTS_NORMAL_SEED=<it> OVNTS_NORMAL_CASES=1`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMac } from '@ovnts/packet';
import { randomNormalCase, requireOracle, seedFromEnv, startOvs, type OvsBridge, type OvsOracle } from '@ovnts/testkit';
import { firstDifference, ourSwitch, runOursSteps, runOvsSteps } from './stateful-run.js';

const req = requireOracle('OVS NORMAL differential', 'ovs-sandbox', ['ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const CASES = Number(process.env.OVNTS_NORMAL_CASES ?? 6);
const PORTS = [1, 2, 3, 4, 5];

describe.skipIf(req.skip)('NORMAL: random cases byte-identical to Open vSwitch', () => {
  let ovs: OvsOracle;
  let br: OvsBridge;
  beforeAll(async () => {
    ovs = await startOvs();
    await ovs.timeStop();
    br = await ovs.bridge('nbr', { ports: PORTS, portPrefix: 'n' });
  }, 120_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  it(`${CASES} random NORMAL cases`, async () => {
    const { seed: first } = seedFromEnv('NORMAL differential', 'OVNTS_NORMAL_SEED', 1);
    let frames = 0;
    let flooded = 0;
    let unicast = 0;
    for (let i = 0; i < CASES; i++) {
      const seed = (first + i) >>> 0;
      const c = randomNormalCase(seed);
      const where = `seed ${seed}:\nports ${JSON.stringify(c.ports)}\n${c.flows}`;
      // OVS: port VLAN settings, an empty MAC table, the flows.
      for (const p of c.ports) {
        const name = br.portNames.get(p.port)!;
        await ovs.vsctl('clear', 'port', name, 'tag', 'trunks', 'vlan_mode');
        const set: string[] = [];
        if (p.tag !== undefined) set.push(`tag=${p.tag}`);
        if (p.trunks) set.push(`trunks=${p.trunks.join(',')}`);
        if (p.vlanMode) set.push(`vlan_mode=${p.vlanMode}`);
        if (set.length) await ovs.vsctl('set', 'port', name, ...set);
      }
      await ovs.appctl('fdb/flush', 'nbr');
      expect((await ovs.delFlows('nbr')).ok).toBe(true);
      const rf = await ovs.addFlows('nbr', c.flows + '\n');
      expect(rf.ok, `${where}\n${rf.stderr}`).toBe(true);
      const theirs = await runOvsSteps(ovs, 'nbr', PORTS, c.steps, { settle: async () => void (await ovs.appctl('revalidator/purge')) });
      const fdb = (await ovs.fdb('nbr')).map((e) => `${e.port}/${e.vlan}/${e.mac}`).sort();
      // Ours.
      const { sw, clock, cur } = ourSwitch(c.ports.map((p) => ({ number: p.port, ...(p.tag !== undefined ? { tag: p.tag } : {}), ...(p.trunks ? { trunks: p.trunks } : {}), ...(p.vlanMode ? { vlanMode: p.vlanMode } : {}) })));
      sw.addFlows(c.flows);
      const ours = runOursSteps(sw, clock, cur, PORTS, c.steps);
      const d = firstDifference(ours, theirs);
      expect(d, `${where}\n${d}`).toBeUndefined();
      const mine = sw.normal.entries().map((e) => `${e.port}/${e.vlan}/${formatMac(e.mac)}`).sort();
      expect(mine, `${where}\nMAC table`).toEqual(fdb);
      for (const l of theirs) {
        if (l.startsWith('warp')) continue;
        frames++;
        const n = l.slice(l.lastIndexOf(' -> ') + 4).split(' | ').length;
        if (n > 1) flooded++;
        else if (!l.endsWith('nothing')) unicast++;
      }
    }
    console.log(`[normal] ${CASES} cases, ${frames} frames (${flooded} to several ports, ${unicast} to one), identical outputs and MAC tables`);
    expect(flooded).toBeGreaterThan(frames * 0.1);
    expect(unicast).toBeGreaterThan(frames * 0.05);
  }, 600_000);
});
