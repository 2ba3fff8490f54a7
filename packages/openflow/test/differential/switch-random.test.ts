/**
 * Random differential test against real Open vSwitch 3.1: random flow tables (flowgen) and
 * frames aimed at them (plus random corpus frames) go through `Switch` and through a bridge of
 * the OVS oracle; every port's output frames must be byte-identical, and every flow or group OVS
 * refuses must be refused by us with an equivalent error (see `sameRefusal` in harness.ts).
 *
 * Sizes: `OVNTS_DIFF_TABLES` tables (default 400) x `OVNTS_DIFF_FRAMES` frames each (default 40),
 * from `OVNTS_DIFF_SEED` (default 1, printed at the start); table i uses seed `SEED + i * 0x9e3779b1`,
 * and every failure prints that seed, so `OVNTS_DIFF_SEED=<seed> OVNTS_DIFF_TABLES=1` replays it alone.
 * Frames OVS bugs corrupt (KNOWN.md O1, O3) are set aside in capped excuse buckets.
 * `OVNTS_DIFF_BRIDGES` bridges (default 3) run cases concurrently in one daemon.
 * `OVNTS_DIFF_MINIMISE` (default 3): how many failures to shrink before reporting.
 * `OVNTS_DIFF_KNOWN=1` also draws the constructs of the known differences (KNOWN.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Excuses, Rng, framesForTable, isMarkerLike, randomFlowTable, randomFrame, requireOracle, seedFromEnv, startOvs,
  type GenFrame, type OvsOracle,
} from '@ovnts/testkit';
import { formatTrace, type Switch } from '@ovnts/openflow';
import { describeMismatch, diffOutputs, hitsOvsDoubleVlanUpcallBug, loadCase, minimise, runOurs, tableText, type BridgeSlot, type RefusalRecord } from './harness.js';

const req = requireOracle('OVS random differential', 'ovs-sandbox', ['ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');

const num = (name: string, dflt: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number(v);
};
const TABLES = num('OVNTS_DIFF_TABLES', 400);
const FRAMES = num('OVNTS_DIFF_FRAMES', 40);
const SEED = req.skip ? 1 : seedFromEnv('OVS random differential', 'OVNTS_DIFF_SEED', 1).seed;
const BRIDGES = num('OVNTS_DIFF_BRIDGES', 3);
const MINIMISE = num('OVNTS_DIFF_MINIMISE', 3);
const KNOWN = num('OVNTS_DIFF_KNOWN', 0) !== 0;
const PORTS = [1, 2, 3, 4];

const caseSeed = (i: number): number => (SEED + Math.imul(i, 0x9e3779b1)) >>> 0;

/** A corpus frame (any protocol the corpus draws, sometimes cut), or undefined to draw a plan instead. */
function corpusFrame(r: Rng): Uint8Array | undefined {
  const f = randomFrame(r, { truncate: 0.06 }).data;
  if (f.length < 14 || isMarkerLike(f)) return undefined;
  return f;
}

interface Stats {
  tables: number;
  cases: number;
  withOutput: number;
  outputs: number;
  mismatches: number;
  /** Differences set aside: OVS bugs O1 (double-VLAN upcall) and O3 (warm datapath cache), capped. */
  excuses: Excuses;
  refusalsAgree: number;
  refusalsDisagree: number;
  byRefusal: Map<string, number>;
  /** What the frames exercised (from our traces). */
  coverage: Map<string, number>;
  ms: number;
}

describe.skipIf(req.skip)('random tables: byte-identical to Open vSwitch', () => {
  let ovs: OvsOracle;
  const slots: BridgeSlot[] = [];
  beforeAll(async () => {
    ovs = await startOvs({ stallMs: 20_000, keepDir: !!process.env.OVNTS_DIFF_KEEP });
    for (let b = 0; b < BRIDGES; b++) {
      const name = `dbr${b}`;
      await ovs.bridge(name, { ports: PORTS, portPrefix: `d${b}p` });
      slots.push({ name, hasGroups: false });
    }
  }, 120_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  it(`${TABLES} tables x ${FRAMES} frames (seed ${SEED})`, async () => {
    const t0 = Date.now();
    const stats: Stats = { tables: 0, cases: 0, withOutput: 0, outputs: 0, mismatches: 0, excuses: newExcuses(), refusalsAgree: 0, refusalsDisagree: 0, byRefusal: new Map(), coverage: new Map(), ms: 0 };
    const reports: string[] = [];
    const refusalReports: string[] = [];
    let minimised = 0;
    let next = 0;

    const worker = async (slot: BridgeSlot): Promise<void> => {
      for (let i = next++; i < TABLES; i = next++) {
        const seed = caseSeed(i);
        const t = randomFlowTable(seed, { ports: PORTS, known: KNOWN });
        const frames: GenFrame[] = framesForTable(seed, t, FRAMES, corpusFrame);
        const l = await loadCase(ovs, slot, t);
        for (const rr of l.refusals) recordRefusal(stats, refusalReports, seed, rr);
        const ours = runOurs(l.sw, PORTS, frames, l.cur);
        const theirs = await ovs.runFrames(slot.name, frames.map((f) => ({ port: f.port, bytes: f.bytes })), { reorder: true });
        stats.tables++;
        for (let k = 0; k < frames.length; k++) {
          stats.cases++;
          tallyCoverage(stats.coverage, l.sw, frames[k]!, ours[k]!);
          const n = PORTS.reduce((s, p) => s + theirs[k]!.outputs[p]!.length, 0);
          if (n) stats.withOutput++;
          stats.outputs += n;
          const diff = diffOutputs(ours[k]!, theirs[k]!.outputs, PORTS);
          if (!diff) continue;
          if (hitsOvsDoubleVlanUpcallBug(l.sw, frames[k]!)) {
            stats.excuses.add('O1', `seed ${seed} frame ${k}`);
            continue;
          }
          // OVS's datapath flow cache can carry an earlier frame's actions over (KNOWN.md O3): run the
          // frame again alone on an empty cache; our switch keeps no state between frames.
          await ovs.appctl('revalidator/purge');
          const alone = (await ovs.runFrames(slot.name, [{ port: frames[k]!.port, bytes: frames[k]!.bytes }]))[0]!;
          if (!diffOutputs(ours[k]!, alone.outputs, PORTS)) {
            stats.excuses.add('O3', `seed ${seed} frame ${k}`);
            if (stats.excuses.count('O3') <= 3) console.log(`[differential] seed ${seed} frame ${k}: OVS differed only with a warm datapath cache (KNOWN.md O3)`);
            continue;
          }
          stats.mismatches++;
          if (reports.length >= 12) continue;
          const frame = frames[k]!;
          let report = await describeMismatch(ovs, slot.name, seed, l, frame, diff);
          if (minimised < MINIMISE) {
            minimised++;
            const m = await minimise(ovs, slot, t, l, frame);
            const lm = await loadCase(ovs, slot, t, m.groups, m.flows);
            const o = runOurs(lm.sw, PORTS, [frame], lm.cur)[0]!;
            const th = (await ovs.runFrames(slot.name, [{ port: frame.port, bytes: frame.bytes }]))[0]!;
            const d = diffOutputs(o, th.outputs, PORTS);
            if (d) report = `MINIMISED:\n${await describeMismatch(ovs, slot.name, seed, lm, frame, d)}\n\nORIGINAL (${l.flows.length} flows):\n${tableText(l.groups, l.flows)}`;
            // Reload the full case for the remaining frames' traces.
            await loadCase(ovs, slot, t);
          }
          reports.push(report);
        }
      }
    };
    await Promise.all(slots.map((s) => worker(s)));
    stats.ms = Date.now() - t0;

    const refusalSummary = [...stats.byRefusal].sort((a, b) => b[1] - a[1]).map(([k, v]) => `    ${v} x ${k}`).join('\n');
    console.log(
      [
        `[differential] seed ${SEED}: ${stats.tables} tables, ${stats.cases} frame cases (${stats.withOutput} produced output, ${stats.outputs} output frames), ` +
          `${stats.mismatches} output mismatches (set aside as OVS bugs: ${stats.excuses.count('O1')} double-VLAN upcall O1, ${stats.excuses.count('O3')} warm-cache O3), refusals: ${stats.refusalsAgree} agree / ${stats.refusalsDisagree} disagree, ${(stats.ms / 1000).toFixed(1)} s`,
        refusalSummary && `  refusals (ours ~ OVS):\n${refusalSummary}`,
      ].filter(Boolean).join('\n'),
    );
    console.log(`  exercised (frames): ${[...stats.coverage].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const r of refusalReports.slice(0, 20)) console.log(`[differential] REFUSAL MISMATCH ${r}`);
    for (const r of reports) console.log(`[differential] OUTPUT MISMATCH\n${r}\n`);
    expect(stats.cases).toBe(TABLES * FRAMES);
    expect(stats.withOutput, 'most frames should produce some output').toBeGreaterThan(stats.cases * 0.2);
    expect(refusalReports, 'refusal mismatches').toEqual([]);
    expect(stats.mismatches, 'output mismatches (see the log above)').toBe(0);
    console.log(`[differential] excuse buckets:\n${stats.excuses.summary(stats.cases)}`);
    expect(stats.excuses.overCap(stats.cases)).toEqual([]);
  }, 3_600_000);
});

/**
 * The excuse buckets and their caps: OVS bugs the suite recognises (KNOWN.md). Both were 0 in
 * the 16,000-case default run; a few per thousand would mean the recognisers swallow real
 * differences.
 */
function newExcuses(): Excuses {
  return new Excuses('OVS random differential', {
    O1: { max: 2, fraction: 0.001, why: 'OVS bug O1: IPv4 rewrite after a packet-in on a double-tagged packet (recognised from our trace)' },
    O3: { max: 2, fraction: 0.001, why: 'OVS bug O3: the difference vanished when the frame ran alone on an empty datapath cache' },
  });
}

const COVERAGE: [string, RegExp][] = [
  ['vlan-tagged-in', /^Flow: .*dl_vlan=/],
  ['push_vlan', /push_vlan\(/],
  ['pop_vlan', /\bpop_vlan\b/],
  ['ttl-expired', /decrement TTL exception/],
  ['ipv6', /^Flow: (ipv6|tcp6|udp6|icmp6|sctp6)/],
  ['arp', /^Flow: arp/],
  ['unknown-ethertype', /^Flow: .*dl_type=0x(?!0800|86dd|0806)/],
  ['group', /\bgroup:\d+/],
  ['bucket', /bucket \d+/],
  ['action-set', /Executing action set/],
  ['resubmit', /resubmit\(/],
  ['goto_table', /goto_table:/],
  ['recursion-limit', /Recursion too deep|Too many resubmits/],
  ['l3-rewrite', /set\((ipv4|ipv6|arp|nd)\(/],
  ['l4-rewrite', /set\((tcp|udp|sctp|icmp|icmpv6)\(/],
  ['table0-miss', /^ 0\. No match\./m],
  ['output-to-in_port', /output:(in_port|IN_PORT)|\bin_port\b.*\n.*IN_PORT/],
  // The actions added for ovn-controller (issue 8).
  ['clone', /^\s*clone\(/m],
  ['check_pkt_larger', /check_pkt_larger\(/],
  ['push/pop', /^\s*(push|pop):/m],
  ['exit', /^\s*exit$/m],
  ['output-trunc', /trunc\(\d+\)/],
  ['multipath/bundle', /^\s*(multipath|bundle|bundle_load)\(/m],
  ['set_queue', /^\s*set_queue:/m],
  ['mod_tp', /^\s*mod_tp_(src|dst):/m],
  ['set_tunnel', /->tun_id/],
];

/** Count what this frame exercised, from our trace (multiple outputs and truncation from the frame and outputs). */
function tallyCoverage(cov: Map<string, number>, sw: Switch, f: GenFrame, out: Record<number, string[]>): void {
  const bump = (k: string): void => void cov.set(k, (cov.get(k) ?? 0) + 1);
  let text: string;
  try {
    text = formatTrace(sw.trace(f.bytes, f.port));
  } catch {
    bump('trace-failed');
    return;
  }
  for (const [k, re] of COVERAGE) if (re.test(text)) bump(k);
  const n = Object.values(out).reduce((s, l) => s + l.length, 0);
  if (n > 1) bump('several-outputs');
  if (f.origin.includes('/cut@')) bump('truncated');
}

function recordRefusal(stats: Stats, reports: string[], seed: number, r: RefusalRecord): void {
  const key = `${r.what}: ${r.ours ?? 'accept'} ~ ${r.theirs ?? 'accept'}`;
  stats.byRefusal.set(key, (stats.byRefusal.get(key) ?? 0) + 1);
  if (r.agree) stats.refusalsAgree++;
  else {
    stats.refusalsDisagree++;
    reports.push(`seed ${seed} ${r.what} ${r.text}${r.intent ? ` (intent: ${r.intent})` : ''}: ours ${r.ours ?? 'accepts'}, OVS ${r.theirs ?? 'accepts'}`);
  }
}

