/**
 * Random differential test of packet-out against real Open vSwitch 3.1: a random flow table and
 * groups (`randomFlowTable`, loaded on both sides as the random table suite does), then random
 * packet-outs (`randomPacketOuts` in @ovnts/testkit): in_port a switch port, LOCAL, NONE,
 * CONTROLLER or a port that does not exist; actions drawn from outputs to real and reserved ports
 * (IN_PORT, ALL, FLOOD, TABLE, NONE), rewrites with and without their prerequisites, VLAN
 * push/pop, groups, resubmit, TTL changes and packet-ins. Each packet-out must be refused by both
 * (with the same OpenFlow error, or ovs-ofctl's own refusal where we raise a text error) or
 * accepted by both, and then every port's output must be byte-identical.
 *
 * `OVNTS_PO_TABLES` tables (default 6) x `OVNTS_PO_PER_TABLE` packet-outs (default 20) from
 * `OVNTS_PO_SEED` (default 1, printed); table i uses seed `SEED + i`, printed on failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '@ovnts/packet';
import { framesForTable, randomFlowTable, randomPacketOuts, requireOracle, seedFromEnv, startOvs, type OvsOracle } from '@ovnts/testkit';
import { OpenFlowError, OfpRequestError, TextParseError } from '@ovnts/openflow';
import { loadCase, sameRefusal, tableText, type BridgeSlot } from './harness.js';

const req = requireOracle('OVS packet-out differential', 'ovs-sandbox', ['ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const TABLES = Number(process.env.OVNTS_PO_TABLES ?? 6);
const PER = Number(process.env.OVNTS_PO_PER_TABLE ?? 20);
const PORTS = [1, 2, 3, 4];

/** Our verdict on a packet-out: undefined when accepted, else the error's name. */
function ourVerdict(f: () => void): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (e instanceof OpenFlowError || e instanceof OfpRequestError) return e.errorName;
    if (e instanceof TextParseError) return 'TEXT_PARSE';
    throw e;
  }
}

describe.skipIf(req.skip)('packet-out: random cases byte-identical to Open vSwitch', () => {
  let ovs: OvsOracle;
  const slot: BridgeSlot = { name: 'pbr', hasGroups: false };
  beforeAll(async () => {
    ovs = await startOvs();
    await ovs.bridge('pbr', { ports: PORTS, portPrefix: 'po' });
  }, 120_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  it(`${TABLES} tables x ${PER} packet-outs`, async () => {
    const { seed: first } = seedFromEnv('packet-out differential', 'OVNTS_PO_SEED', 1);
    const tally = { accepted: 0, refused: 0, withOutput: 0 };
    const byError = new Map<string, number>();
    for (let i = 0; i < TABLES; i++) {
      const seed = (first + i) >>> 0;
      const t = randomFlowTable(seed, { ports: PORTS, badFlow: 0 });
      const l = await loadCase(ovs, slot, t);
      const frames = framesForTable(seed, t, 8, () => undefined).map((f) => f.bytes);
      const groups = l.groups.map((g) => g.id);
      for (const po of randomPacketOuts(seed, frames, PORTS, groups, PER)) {
        const where = `seed ${seed}: packet-out ${po.text}\ntable:\n${tableText(l.groups, l.flows)}`;
        l.cur.out = Object.fromEntries(PORTS.map((p) => [p, [] as string[]]));
        const ours = ourVerdict(() => l.sw.packetOut(po.text));
        const theirs = await ovs.packetOut('pbr', po.text);
        const th = theirs.result.ok ? undefined : (theirs.result.error ?? 'REFUSED');
        if (ours !== undefined || th !== undefined) {
          expect(ours !== undefined && th !== undefined && sameRefusal(ours, th), `${where}\nours: ${ours ?? 'accepted'}, OVS: ${th ?? 'accepted'} ${theirs.result.stderr}`).toBe(true);
          tally.refused++;
          byError.set(`${ours} ~ ${th}`, (byError.get(`${ours} ~ ${th}`) ?? 0) + 1);
          continue;
        }
        tally.accepted++;
        const mine = PORTS.map((p) => `${p}: ${(l.cur.out[p] ?? []).join(',')}`);
        const real = PORTS.map((p) => `${p}: ${theirs.outputs[p]!.map((f) => toHex(f)).join(',')}`);
        if (real.some((x) => !x.endsWith(': '))) tally.withOutput++;
        expect(mine, where).toEqual(real);
      }
    }
    console.log(
      `[packet-out] ${TABLES} tables, ${tally.accepted + tally.refused} packet-outs: ${tally.accepted} accepted by both (${tally.withOutput} with output), ` +
        `${tally.refused} refused by both: ${[...byError].map(([k, v]) => `${v} x ${k}`).join(', ')}`,
    );
    expect(tally.withOutput).toBeGreaterThan((tally.accepted + tally.refused) * 0.3);
    expect(tally.refused).toBeGreaterThan(0);
  }, 600_000);
});
