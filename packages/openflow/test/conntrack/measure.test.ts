/**
 * A measurement, not a timed test: lookups/s and new connections/s with 1M tracked connections,
 * and bytes per connection, against a baseline (a `Map` keyed by a tuple string) in the same run.
 * Skipped unless CT_MEASURE=1:
 *
 *   CT_MEASURE=1 NODE_OPTIONS=--expose-gc node node_modules/vitest/vitest.mjs run packages/openflow/test/conntrack/measure.test.ts
 */
import { describe, expect, it } from 'vitest';
import { PacketBuilder } from '@ovnts/packet';
import { Conntrack, FlowKey, VirtualClock, W, extractFlowKey } from '@ovnts/openflow';

const N = Number(process.env.CT_MEASURE_N ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
const mem = () => {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** Flow i: UDP 10.0.0.1:(1 + i % 60000) -> 10.0.0.2:(1 + floor(i / 60000)). */
function setFlow(frame: Uint8Array, key: FlowKey, i: number, reply: boolean): void {
  const a = 1 + (i % 60000);
  const b = 1 + Math.floor(i / 60000);
  const [s, d] = reply ? [b, a] : [a, b];
  frame[34] = s >>> 8;
  frame[35] = s & 0xff;
  frame[36] = d >>> 8;
  frame[37] = d & 0xff;
  key.w[W.tp_src] = s;
  key.w[W.tp_dst] = d;
  const ip1 = reply ? 0x0a000002 : 0x0a000001;
  key.w[W.nw_src] = ip1;
  key.w[W.nw_dst] = ip1 ^ 3;
  key.w[W.ct_state] = 0;
}

describe.skipIf(process.env.CT_MEASURE !== '1')('conntrack measurement', () => {
  it(`${N} connections`, () => {
    const fwd = new PacketBuilder().ethernet({ src: 1, dst: 2 }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1, dstPort: 1, checksum: false }).payload('abcdefgh').build();
    const rev = new PacketBuilder().ethernet({ src: 2, dst: 1 }).ipv4({ src: '10.0.0.2', dst: '10.0.0.1' }).udp({ srcPort: 1, dstPort: 1, checksum: false }).payload('abcdefgh').build();
    const kf = new FlowKey();
    const kr = new FlowKey();
    extractFlowKey(fwd, 0, fwd.length, 1, kf);
    extractFlowKey(rev, 0, rev.length, 1, kr);
    const clock = new VirtualClock();
    const commit = { zone: 0, commit: true };
    const look = { zone: 0 };

    const m0 = mem();
    const t = new Conntrack({ clock });
    let t0 = performance.now();
    for (let i = 0; i < N; i++) {
      setFlow(fwd, kf, i, false);
      t.execute(kf, fwd, commit);
    }
    const tNew = performance.now() - t0;
    const m1 = mem();
    expect(t.count).toBe(N);

    // Lookups: pseudo-random order, both directions (a reply turns the flow bidirectional once).
    const L = 2 * N;
    let x = 12345;
    let est = 0;
    t0 = performance.now();
    for (let j = 0; j < L; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const i = x % N;
      const r = (j & 1) === 1;
      const f = r ? rev : fwd;
      const k = r ? kr : kf;
      setFlow(f, k, i, r);
      if (t.execute(k, f, look) & 0x02) est++;
    }
    const tLook = performance.now() - t0;
    expect(est).toBeGreaterThan(0);

    // Baseline: a Map from a tuple string to an object, the obvious JS design.
    const b0 = mem();
    const map = new Map<string, { exp: number; state: number; mark: number }>();
    t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const a = 1 + (i % 60000);
      const b = 1 + Math.floor(i / 60000);
      map.set(`0|17|10.0.0.1|10.0.0.2|${a}|${b}`, { exp: 60_000, state: 0, mark: 0 });
    }
    const bNew = performance.now() - t0;
    const b1 = mem();
    x = 12345;
    let hits = 0;
    t0 = performance.now();
    for (let j = 0; j < L; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const i = x % N;
      const a = 1 + (i % 60000);
      const b = 1 + Math.floor(i / 60000);
      if (map.get(`0|17|10.0.0.1|10.0.0.2|${a}|${b}`)) hits++;
    }
    const bLook = performance.now() - t0;
    expect(hits).toBe(L);

    const out = {
      connections: N,
      'ct new conns/s': Math.round(N / (tNew / 1000)),
      'ct lookups/s (execute, est packets)': Math.round(L / (tLook / 1000)),
      'ct bytes/conn (heap+arrayBuffers delta)': Math.round((m1 - m0) / N),
      'ct bytes/conn (typed arrays)': Math.round(t.byteLength() / N),
      'baseline Map inserts/s': Math.round(N / (bNew / 1000)),
      'baseline Map lookups/s (fwd only, no state)': Math.round(L / (bLook / 1000)),
      'baseline bytes/entry': Math.round((b1 - b0) / N),
      gcExposed: gc !== undefined,
    };
    console.log(JSON.stringify(out, null, 2));
  }, 600_000);
});
