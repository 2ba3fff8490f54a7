import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Conntrack, VirtualClock, W, type FlowKey } from '@ovnts/openflow';
import { cs, keyOf, TcpConv, udp } from './helpers.js';
import { minHeapGrowth } from '@ovnts/testkit';

/** A flow: client address index, client port index, zone. */
type Op =
  | { k: 'commit'; a: number; p: number; z: number }
  | { k: 'reply'; a: number; p: number; z: number }
  | { k: 'advance'; ms: number }
  | { k: 'sweep'; max: number }
  | { k: 'flush'; z: number | undefined };

const flowArb = { a: fc.integer({ min: 0, max: 5 }), p: fc.integer({ min: 0, max: 5 }), z: fc.integer({ min: 0, max: 2 }) };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('commit' as const), ...flowArb }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('reply' as const), ...flowArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('sweep' as const), max: fc.integer({ min: 1, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('flush' as const), z: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }) }) },
);

const client = (a: number) => `10.0.0.${a + 1}`;
const name = (a: number, p: number, z: number) => `${z}/${a}/${p}`;

describe('connection table', () => {
  it('matches a model under commits, replies, expiry, sweeps and flushes (UDP semantics)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const clock = new VirtualClock();
        const t = new Conntrack({ clock, initialCapacity: 16 });
        // Model: live flows -> { expiry, bidir }.
        const model = new Map<string, { exp: number; bidir: boolean }>();
        const live = (n: string) => {
          const m = model.get(n);
          if (m && clock.now() >= m.exp) model.delete(n);
          return model.get(n);
        };
        for (const op of ops) {
          if (op.k === 'commit') {
            const n = name(op.a, op.p, op.z);
            const m = live(n);
            const f = udp(client(op.a), '10.9.9.9', 1000 + op.p, 53);
            const st = cs(t.execute(keyOf(f), f, { zone: op.z, commit: true }));
            if (!m) {
              expect(st).toBe('+new+trk');
              model.set(n, { exp: clock.now() + 60_000, bidir: false });
            } else if (m.bidir) {
              expect(st).toBe('+est+trk');
              m.exp = clock.now() + 30_000;
            } else {
              expect(st).toBe('+new+trk');
              m.exp = clock.now() + 60_000;
            }
          } else if (op.k === 'reply') {
            const n = name(op.a, op.p, op.z);
            const m = live(n);
            const f = udp('10.9.9.9', client(op.a), 53, 1000 + op.p);
            const st = cs(t.execute(keyOf(f), f, { zone: op.z }));
            if (!m) expect(st).toBe('+new+trk');
            else {
              expect(st).toBe('+est+rpl+trk');
              m.bidir = true;
              m.exp = clock.now() + 30_000;
            }
          } else if (op.k === 'advance') clock.advance(op.ms);
          else if (op.k === 'sweep') t.sweep(op.max);
          else {
            t.flush(op.z);
            for (const n of [...model.keys()]) if (op.z === undefined || n.startsWith(`${op.z}/`)) model.delete(n);
          }
        }
        for (const n of [...model.keys()]) live(n);
        const dumped = t.entries().map((e) => `${e.zone}/${(e.orig[1]! & 0xff) - 1}/${(e.orig[9]! >>> 16) - 1000}`).sort();
        expect(dumped).toEqual([...model.keys()].sort());
        t.sweep();
        expect(t.count).toBe(model.size);
      }),
      { numRuns: 150 },
    );
  });

  it('grows past its initial capacity and keeps finding every connection in both directions', () => {
    const t = new Conntrack({ clock: new VirtualClock(), initialCapacity: 16 });
    for (let i = 0; i < 5000; i++) {
      const f = udp(`10.${(i >> 8) & 255}.${i & 255}.1`, '10.255.0.1', 1000 + (i % 7), 53);
      t.execute(keyOf(f), f, { zone: i % 3, commit: true });
    }
    expect(t.count).toBe(5000);
    for (let i = 0; i < 5000; i += 7) {
      const f = udp('10.255.0.1', `10.${(i >> 8) & 255}.${i & 255}.1`, 53, 1000 + (i % 7));
      expect(cs(t.execute(keyOf(f), f, { zone: i % 3 }))).toBe('+est+rpl+trk');
    }
    // Removing half keeps the rest reachable (backward-shift deletion).
    t.flush(1);
    for (let i = 0; i < 5000; i += 5) {
      const f = udp('10.255.0.1', `10.${(i >> 8) & 255}.${i & 255}.1`, 53, 1000 + (i % 7));
      expect(cs(t.execute(keyOf(f), f, { zone: i % 3 }))).toBe(i % 3 === 1 ? '+new+trk' : '+est+rpl+trk');
    }
  });

  it('allocates nothing per packet on established connections', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const c = new TcpConv('10.0.0.1', '10.0.0.2', 40000, 80);
    const frames: Uint8Array[] = [];
    const keys: FlowKey[] = [];
    const run = (f: Uint8Array, commit = false) => t.execute(keyOf(f), f, { zone: 0, commit });
    run(c.c('S'), true);
    run(c.s('SA'));
    run(c.c('A'));
    frames.push(c.c('A'), c.s('A'));
    for (const f of frames) keys.push(keyOf(f));
    const act = { zone: 0 };
    for (let i = 0; i < 10_000; i++) t.execute(keys[i & 1]!, frames[i & 1]!, act);
    const g = minHeapGrowth(() => {
      for (let i = 0; i < 100_000; i++) {
        const k = keys[i & 1]!;
        k.w[W.ct_state] = 0; // the executor starts each packet with ct fields clear
        t.execute(k, frames[i & 1]!, act);
      }
    });
    expect(cs(t.result.state)).toBe('+est+rpl+trk');
    // 100k packets per round: 256 kB is under 3 bytes per packet.
    expect(g.min, `heap growth per 100k packets (${g.clean} of ${g.rounds} rounds without a GC)`).toBeLessThan(256 * 1024);
  });
});
