/**
 * Random differential test of the trace text of stateful pipelines against `ovs-appctl
 * ofproto/trace` (OVS 3.1): connection tracking with recirculation (`ct(table=N)` sections,
 * zones, `commit`, `exec(...)`, NAT with OVS's NAT simulation lines), `learn` and conjunctive
 * matches, drawn by `randomStatefulPipeline` (packages/testkit/src/tracegen.ts).
 *
 * Each frame is traced three ways, on both sides: as packet bytes (side effects: a `learn`
 * details the flow it installs; the recirculations assume `--ct-next` states drawn per frame, or
 * the default trk|new), as the microflow of its `Flow:` line without `-generate` (`>> suppressing
 * side effects`), and as that microflow with `-generate`. Both install what a traced `learn`
 * learns, so after a trace that learned something both sides reload the table.
 *
 * `OVNTS_TRACE_STATEFUL_TABLES` tables (default 12) x `OVNTS_TRACE_FRAMES` frames (default 6) x 3
 * traces from `OVNTS_TRACE_SEED` (default 1, printed); `OVNTS_TRACE_STRICT=0` reports without
 * failing; `OVNTS_TRACE_DUMP=DIR` writes each differing case to DIR.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Excuses, Rng, framesForTable, randomStatefulPipeline, requireOracle, seedFromEnv, type OvsOracle } from '@ovnts/testkit';
import { formatTrace } from '@ovnts/openflow';
import { loadCase, type BridgeSlot, type Loaded } from './harness.js';
import { OVS_ABORT_WHY, TraceTally, daemonDied, diffTrace, dumpPair, freshTraceOvs } from './trace-compare.js';

const req = requireOracle('OVS stateful trace differential', 'ovs-sandbox', ['ovs-vswitchd', 'ovsdb-server', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const TABLES = Number(process.env.OVNTS_TRACE_STATEFUL_TABLES ?? 12);
const FRAMES = Number(process.env.OVNTS_TRACE_FRAMES ?? 6);
const STRICT = process.env.OVNTS_TRACE_STRICT !== '0';
const PORTS = [1, 2, 3, 4];
/** The detail of a flow a traced `learn` installed. */
const LEARNED = /^\s+-> table=\d+ /m;
const CT_NEXT = [undefined, undefined, ['trk,est'], ['trk,new'], ['trk,est', 'trk,rpl,est'], ['trk,inv']] as const;

/**
 * A `Flow:` line as ofproto/trace's microflow syntax: the second VLAN header and `nw_frag` left
 * out, `tp_src`/`tp_dst` under the protocol's own names (`parse_ofp_exact_flow` wants `udp_dst`).
 */
function toMicroflow(flow: string): string {
  const proto = flow.split(',')[0]!;
  const names: Record<string, [string, string]> = {
    tcp: ['tcp_src', 'tcp_dst'], tcp6: ['tcp_src', 'tcp_dst'], udp: ['udp_src', 'udp_dst'], udp6: ['udp_src', 'udp_dst'], sctp: ['sctp_src', 'sctp_dst'],
    sctp6: ['sctp_src', 'sctp_dst'], icmp: ['icmp_type', 'icmp_code'], icmp6: ['icmpv6_type', 'icmpv6_code'],
  };
  const n = names[proto];
  return flow
    .split(',')
    .filter((p) => !/^(vlan_tci1|dl_vlan1|dl_vlan_pcp1|nw_frag)=/.test(p) && (n !== undefined || !/^tp_(src|dst)=/.test(p)))
    .map((p) => (n ? p.replace(/^(tp_src|icmp_type)=/, `${n[0]}=`).replace(/^(tp_dst|icmp_code)=/, `${n[1]}=`) : p))
    .join(',');
}

describe.skipIf(req.skip)('of-trace text identical to ofproto/trace on stateful pipelines', () => {
  let ovs: OvsOracle;
  const slot: BridgeSlot = { name: 'br0', hasGroups: false };
  beforeAll(async () => {
    ovs = await freshTraceOvs(PORTS);
  }, 120_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  it(`stateful pipelines: ${TABLES} tables x ${FRAMES} frames x 3 traces`, async () => {
    const { seed: first } = seedFromEnv('stateful trace differential', 'OVNTS_TRACE_SEED', 1);
    const tally = new TraceTally(Number(process.env.OVNTS_TRACE_EXAMPLES ?? 3));
    const byForm = new Map<string, { n: number; same: number }>();
    let noMicroflow = 0;
    const excuses = new Excuses('stateful trace differential', { 'ovs-abort': { max: 1, fraction: 0.02, why: OVS_ABORT_WHY } });
    for (let i = 0; i < TABLES; i++) {
      const seed = (first + Math.imul(i, 0x9e3779b1)) >>> 0;
      const t = randomStatefulPipeline(seed, PORTS);
      const learns = t.flows.some((f) => f.actions.some((a) => a.startsWith('learn(')));
      let l: Loaded = await loadCase(ovs, slot, t);
      const r = new Rng(seed ^ 0x2545f491);
      try {
        for (const f of framesForTable(seed, t, FRAMES, () => undefined)) {
          const hex = Buffer.from(f.bytes).toString('hex');
          const ctNext = r.pick(CT_NEXT);
          const extra = ctNext ? ctNext.flatMap((s) => ['--ct-next', s]) : [];
          const opts = ctNext ? { ctNext: [...ctNext] } : {};
          const packet = formatTrace(l.sw.trace(f.bytes, f.port, opts));
          // The packet's flow as a microflow (the second VLAN header's fields are not microflow syntax).
          const microflow = toMicroflow(/^Flow: (.*)$/m.exec(packet)![1]!);
          const forms: [string, () => string, () => Promise<string>, boolean][] = [
            ['packet', () => packet, () => ovs.trace('br0', { port: f.port, bytes: f.bytes }, extra), true],
            ['microflow', () => formatTrace(l.sw.trace(microflow, undefined, opts)), () => ovs.trace('br0', microflow, extra), false],
            ['generate', () => formatTrace(l.sw.trace(microflow, undefined, { ...opts, generate: true })), () => ovs.trace('br0', microflow, ['-generate', ...extra]), true],
          ];
          let asMicroflow = true;
          try {
            l.sw.trace(microflow);
          } catch {
            // A flow microflow syntax cannot state (e.g. an ND option on a code-1 NA): packet form only.
            asMicroflow = false;
            noMicroflow++;
          }
          for (const [form, oursOf, theirsOf, effects] of asMicroflow ? forms : forms.slice(0, 1)) {
            const ours = oursOf();
            const theirs = await theirsOf();
            const d = diffTrace(ours, theirs);
            const where = `${form} seed ${seed} in_port ${f.port} ${hex}${ctNext ? ` ct-next ${ctNext.join(' ')}` : ''}`;
            tally.add(d, where);
            const c = byForm.get(form) ?? { n: 0, same: 0 };
            c.n++;
            if (d.same) c.same++;
            byForm.set(form, c);
            if (!d.same) dumpPair(where, d, t, ours, theirs);
            // Both sides installed what the trace learned: start the next trace from the table as loaded.
            if (effects && learns && (LEARNED.test(ours) || LEARNED.test(theirs))) l = await loadCase(ovs, slot, t);
          }
        }
      } catch (e) {
        if (!daemonDied(e)) throw e;
        excuses.add('ovs-abort', `OVNTS_TRACE_SEED=${seed} OVNTS_TRACE_STATEFUL_TABLES=1`);
        await ovs.stop().catch(() => undefined);
        ovs = await freshTraceOvs(PORTS);
        slot.hasGroups = false;
      }
    }
    const forms = [...byForm].map(([k, v]) => `${k} ${v.same}/${v.n}`).join(', ');
    console.log(`${tally.report('[trace stateful]')}\n  per form: ${forms} (${noMicroflow} frames without a microflow form)\n${excuses.summary(TABLES)}`);
    expect(noMicroflow).toBeLessThan(Math.max(3, (TABLES * FRAMES) / 10));
    expect(excuses.overCap(TABLES)).toEqual([]);
    if (STRICT) expect(tally.traces - tally.identical).toBe(0);
  }, 1_800_000);
});
