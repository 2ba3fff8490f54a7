/**
 * Differential tests of the stateful switch against real Open vSwitch 3.1 (issue 4, item 8): a
 * stateful firewall (TCP handshake, data, FIN and RST teardown, mid-stream pick-up, UDP, ICMP
 * echo, conntrack timeouts), ICMP RELATED, zones with marks, SNAT with an exhausted port range and
 * DNAT to a pool, learn (the learned flows, their effect and their expiry), conjunctive matches,
 * fast-failover groups with ports going down, flow hard/idle timeouts at the millisecond, and
 * `fin_timeout` lowering them on a FIN or RST.
 *
 * Each scenario loads the same table into one OVS bridge (dummy datapath) and a fresh `Switch`,
 * runs the same steps on both (frames in order, clock warps: OVS's stopped clock via `time/warp`,
 * ours a `VirtualClock`) and compares the per-frame, per-port outputs byte for byte, plus the
 * `dump-flows` (with counters) and `dump-conntrack` snapshots the scenario asks for. NAT choices
 * are compared by properties (see compare.ts). Skips with a reason when OVS is missing.
 *
 * `STATEFUL_DIFF_PRINT=1` prints both transcripts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, seedFromEnv, startOvs, type OvsBridge, type OvsOracle } from '@ovnts/testkit';
import { natTranscript, transcript } from './compare.js';
import { runOurs, runOvs } from './run.js';
import { NAT_EXPECT, P6, randomFirewall, scenarios } from './scenarios.js';

const req = requireTools('OVS stateful differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const PRINT = process.env.STATEFUL_DIFF_PRINT === '1';

describe.skipIf(req.skip)('stateful switch vs OVS 3.1', () => {
  let ovs: OvsOracle;
  let br: OvsBridge;
  beforeAll(async () => {
    ovs = await startOvs();
    await ovs.timeStop();
    br = await ovs.bridge('sd', { ports: P6, portPrefix: 'sd' });
  });
  afterAll(async () => {
    await ovs?.stop();
  });

  for (const s of scenarios()) {
    it(s.name, async () => {
      const theirs = await runOvs(ovs, br, s);
      if (PRINT) console.log(`=== ${s.name}\n--- OVS\n${transcript(theirs)}`);
      const mine = runOurs(s);
      if (!s.nat) {
        const a = transcript(theirs);
        const b = transcript(mine);
        if (PRINT) console.log(`--- ours\n${b}`);
        expect(b).toBe(a);
        return;
      }
      const a = natTranscript(theirs, NAT_EXPECT);
      const b = natTranscript(mine, NAT_EXPECT);
      if (PRINT) console.log(`OVS chosen ${JSON.stringify([...a.chosen])}\n--- ours\n${b.text}\nchosen ${JSON.stringify([...b.chosen])}`);
      expect(a.problems, 'OVS NAT choices (sanity)').toEqual([]);
      expect(b.problems, 'our NAT choices').toEqual([]);
      // The seven UDP flows use every port of the range exactly once, on both sides.
      const udpPorts = (m: Map<string, string>) => [0, 1, 2, 3, 4, 5, 6].map((i) => m.get(`udp ${i}`)).sort();
      expect(new Set(udpPorts(b.chosen)).size, 'our SNAT ports are distinct').toBe(7);
      expect(udpPorts(b.chosen)).toEqual(udpPorts(a.chosen));
      // The same connection keeps its translation.
      expect(b.chosen.get('udp 0 again')).toBe(b.chosen.get('udp 0'));
      expect(b.chosen.get('tcp ACK')).toBe(b.chosen.get('tcp SYN'));
      for (let i = 0; i < 3; i++) expect(b.chosen.get(`VIP ACK ${i}`)).toBe(b.chosen.get(`VIP SYN ${i}`));
      expect(b.text).toBe(a.text);
    });
  }

  // Random interleavings of several connections through the firewall, every other seed with
  // SNAT: seeds FIRST..FIRST+N-1, N from STATEFUL_DIFF_SEEDS (default 12), FIRST from
  // STATEFUL_DIFF_SEED (default 1, printed); a failure names its seed, and
  // `STATEFUL_DIFF_SEED=<it> STATEFUL_DIFF_SEEDS=1` replays it alone.
  const seeds = Number(process.env.STATEFUL_DIFF_SEEDS ?? 12);
  it(`random firewall interleavings (${seeds} seeds)`, async () => {
    const first = seedFromEnv('stateful random firewall', 'STATEFUL_DIFF_SEED', 1).seed;
    for (let seed = first; seed < first + seeds; seed++) {
      const s = randomFirewall(seed, seed % 2 === 0);
      const a = transcript(await runOvs(ovs, br, s));
      const b = transcript(runOurs(s));
      if (PRINT) console.log(`=== ${s.name}\n--- OVS\n${a}\n--- ours\n${b}`);
      expect(b, s.name).toBe(a);
    }
  }, Math.max(120_000, seeds * 400));
});
