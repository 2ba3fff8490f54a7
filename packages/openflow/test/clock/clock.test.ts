import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ClockError, CryptoRng, RealClock, SeededRng, VirtualClock } from '@ovnts/openflow';

describe('VirtualClock', () => {
  it('moves only when told to', () => {
    const c = new VirtualClock(5);
    expect(c.now()).toBe(5);
    c.advance(10);
    expect(c.now()).toBe(15);
    c.set(100);
    expect(c.now()).toBe(100);
    expect(() => c.set(99)).toThrow(ClockError);
    expect(() => c.advance(-1)).toThrow(ClockError);
    expect(() => c.advance(Number.NaN)).toThrow(ClockError);
  });

  it('fires timers in deadline order, ties in scheduling order, each seeing its own deadline', () => {
    const c = new VirtualClock();
    const log: string[] = [];
    c.schedule(30, (t) => log.push(`c@${t}`));
    c.schedule(10, (t) => log.push(`a@${t}`));
    c.schedule(30, (t) => log.push(`d@${t}`));
    c.schedule(20, (t) => log.push(`b@${t}`));
    c.schedule(31, (t) => log.push(`late@${t}`));
    expect(c.advance(30)).toBe(4);
    expect(log).toEqual(['a@10', 'b@20', 'c@30', 'd@30']);
    expect(c.now()).toBe(30);
    expect(c.pending).toBe(1);
    expect(c.nextDeadline()).toBe(31);
  });

  it('fires timers scheduled by callbacks within the same advance, and past deadlines at once', () => {
    const c = new VirtualClock();
    const log: number[] = [];
    const every = (ms: number) => {
      const tick = (t: number) => {
        log.push(t);
        c.after(ms, tick);
      };
      c.after(ms, tick);
    };
    every(7);
    c.advance(30);
    expect(log).toEqual([7, 14, 21, 28]);
    c.schedule(3, (t) => log.push(-t)); // already past: fires on the next movement, at the current time
    c.runDue();
    expect(log.at(-1)).toBe(-30);
  });

  it('cancel', () => {
    const c = new VirtualClock();
    let fired = 0;
    const h = c.after(10, () => fired++);
    c.after(10, () => fired++);
    expect(c.cancel(h)).toBe(true);
    expect(c.cancel(h)).toBe(false);
    c.advance(10);
    expect(fired).toBe(1);
    expect(c.pending).toBe(0);
  });

  it('property: any set of timers fires sorted by (deadline, order), exactly once, whatever the steps', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 20 }), (deadlines, steps) => {
        const c = new VirtualClock();
        const fired: Array<[number, number, number]> = [];
        deadlines.forEach((d, i) => c.schedule(d, (t) => fired.push([d, i, t])));
        for (const s of steps) c.advance(s);
        c.set(Math.max(c.now(), 1000));
        const expected = deadlines.map((d, i) => [d, i] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
        expect(fired.map(([d, i]) => [d, i])).toEqual(expected.map(([d, i]) => [d, i]));
        for (const [d, , t] of fired) expect(t).toBeGreaterThanOrEqual(d); // never called early
        let last = -1;
        for (const [, , t] of fired) {
          expect(t).toBeGreaterThanOrEqual(last); // time never goes back
          last = t;
        }
      }),
    );
  });
});

describe('RealClock', () => {
  it('is monotonic and fires timers', async () => {
    const c = new RealClock();
    const a = c.now();
    const b = c.now();
    expect(b).toBeGreaterThanOrEqual(a);
    const t = await new Promise<number>((resolve) => c.after(5, resolve));
    expect(t).toBeGreaterThanOrEqual(b + 5); // never early, although setTimeout may wake early
    for (let i = 0; i < 20; i++) {
      const due = c.now() + 2.5;
      expect(await new Promise<number>((resolve) => c.schedule(due, resolve))).toBeGreaterThanOrEqual(due);
    }
    let fired = false;
    const h = c.after(1, () => (fired = true));
    expect(c.cancel(h)).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(fired).toBe(false);
  });
});

describe('Rng', () => {
  it('SeededRng is deterministic and spread out; CryptoRng yields u32s', () => {
    const a = new SeededRng(42);
    const b = new SeededRng(42);
    const xs = Array.from({ length: 1000 }, () => a.nextU32());
    expect(Array.from({ length: 1000 }, () => b.nextU32())).toEqual(xs);
    expect(new Set(xs).size).toBe(1000);
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
    const buckets = new Array(8).fill(0);
    for (const x of xs) buckets[x >>> 29]++;
    for (const n of buckets) expect(n).toBeGreaterThan(80);
    const r = new CryptoRng();
    for (let i = 0; i < 600; i++) {
      const v = r.nextU32();
      expect(v >= 0 && v < 2 ** 32 && Number.isInteger(v)).toBe(true);
    }
  });
});
