/**
 * Random differential test of the trace text against `ovs-appctl ofproto/trace` (OVS 3.1):
 * random flow tables with groups (the switch suite's generator), frames aimed at them, and for
 * each frame our `formatTrace(sw.trace(frame, port))` against OVS's trace of the same frame on the
 * same table, line by line, every line: the initial flow, table and action lines, details,
 * `Final flow`, `Megaflow` and `Datapath actions`. Differences are counted per kind of line.
 *
 * The OVS bridge is the only one of its daemon and has no marker flows, so the dummy datapath
 * numbers its ports as our switch does (port N is datapath port N, LOCAL is 100) and no marker
 * flow widens the megaflow.
 *
 * `OVNTS_TRACE_TABLES` tables (default 20) x `OVNTS_TRACE_FRAMES` frames (default 10) from
 * `OVNTS_TRACE_SEED` (default 1, printed). `OVNTS_TRACE_STRICT=0` reports without failing.
 * `OVNTS_TRACE_EXTRA=0` leaves out the actions added for ovn-controller (clone, the value stack,
 * check_pkt_larger with both branches, exit, queues, multipath, bundle, sample, fin_timeout,
 * truncating outputs), drawn by default. `OVNTS_TRACE_DUMP=DIR` writes each differing case (table,
 * both traces, the differing lines) to DIR.
 */
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { Excuses, framesForTable, randomFlowTable, requireOracle, seedFromEnv, type OvsOracle } from '@ovnts/testkit';
import { formatTrace } from '@ovnts/openflow';
import { loadCase, type BridgeSlot } from './harness.js';
import { OVS_ABORT_WHY, TraceTally, daemonDied, diffTrace, dumpPair, freshTraceOvs, settledTrace } from './trace-compare.js';

const req = requireOracle('OVS trace differential', 'ovs-sandbox', ['ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const TABLES = Number(process.env.OVNTS_TRACE_TABLES ?? 20);
const FRAMES = Number(process.env.OVNTS_TRACE_FRAMES ?? 10);
const STRICT = process.env.OVNTS_TRACE_STRICT !== '0';
const PORTS = [1, 2, 3, 4];

describe.skipIf(req.skip)('of-trace text identical to ofproto/trace', () => {
  let ovs: OvsOracle;
  const slot: BridgeSlot = { name: 'br0', hasGroups: false };
  beforeAll(async () => {
    ovs = await freshTraceOvs(PORTS);
  }, 120_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  it(`stateless tables: ${TABLES} tables x ${FRAMES} frames`, async () => {
    const { seed: first } = seedFromEnv('trace differential', 'OVNTS_TRACE_SEED', 1);
    const tally = new TraceTally(Number(process.env.OVNTS_TRACE_EXAMPLES ?? 3));
    const excuses = new Excuses('trace differential', {
      'ovs-abort': { max: 2, fraction: 0.02, why: OVS_ABORT_WHY },
    });
    let reasked = 0;
    for (let i = 0; i < TABLES; i++) {
      const seed = (first + Math.imul(i, 0x9e3779b1)) >>> 0;
      const t = randomFlowTable(seed, { ports: PORTS, badFlow: 0, extraActions: process.env.OVNTS_TRACE_EXTRA !== '0', selectGroups: true });
      const l = await loadCase(ovs, slot, t);
      for (const f of framesForTable(seed, t, FRAMES, () => undefined)) {
        const ours = formatTrace(l.sw.trace(f.bytes, f.port));
        const where = `seed ${seed} in_port ${f.port} ${Buffer.from(f.bytes).toString('hex')}`;
        let got: { text: string; settled: boolean };
        try {
          got = await settledTrace(() => ovs.trace('br0', { port: f.port, bytes: f.bytes }), ours);
        } catch (e) {
          if (!daemonDied(e)) assert.fail(`ofproto/trace failed on ${where} (replay: OVNTS_TRACE_SEED=${seed} OVNTS_TRACE_TABLES=1): ${String(e)}`);
          excuses.add('ovs-abort', `OVNTS_TRACE_SEED=${seed} OVNTS_TRACE_TABLES=1`);
          await ovs.stop().catch(() => undefined);
          ovs = await freshTraceOvs(PORTS);
          slot.hasGroups = false;
          break;
        }
        if (got.settled) reasked++;
        const d = diffTrace(ours, got.text);
        tally.add(d, where);
        if (!d.same) dumpPair(where, d, t, ours, got.text);
      }
    }
    console.log(`${tally.report('[trace stateless]')}\n  OVS re-asked after its classifier settled: ${reasked}\n${excuses.summary(TABLES)}`);
    expect(excuses.overCap(TABLES)).toEqual([]);
    if (STRICT) expect(tally.traces - tally.identical).toBe(0);
  }, 1_800_000);
});
