import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ExpiryScheduler, RemovedReason, TableCounters, VirtualClock, reduceTimeout } from '@ovnts/openflow';

describe('ExpiryScheduler: idle and hard timeouts on the virtual clock', () => {
  it('hard timeout: present up to and at the deadline, removed 1 ms after; activity does not extend it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 0, max: 10_000 }), fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 20 }), (hard, start, hits) => {
        const clock = new VirtualClock(start);
        const s = new ExpiryScheduler<string>(clock);
        s.add('f', { hardTimeout: hard, sendFlowRem: true });
        const deadline = start + hard * 1000;
        for (const h of hits) {
          const t = start + Math.min(h * hard, hard * 1000 - 1);
          if (t > clock.now()) clock.set(t);
          s.touch('f', undefined, 60);
          expect(s.expire()).toEqual([]);
        }
        clock.set(deadline - 1);
        expect(s.expire()).toEqual([]);
        clock.set(deadline);
        expect(s.expire()).toEqual([]); // OVS: now > modified + hard*1000
        expect(s.get('f')).toBeDefined();
        clock.set(deadline + 1);
        const ev = s.expire();
        expect(ev).toHaveLength(1);
        expect(ev[0]!.reason).toBe(RemovedReason.HARD_TIMEOUT);
        expect(ev[0]!.notify).toBe(true);
        expect(ev[0]!.durationMs).toBe(hard * 1000 + 1);
        expect(ev[0]!.packets).toBe(hits.length);
        expect(s.size).toBe(0);
      }),
    );
  });

  it('idle timeout: runs from the last packet; present at the deadline, removed after', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.array(fc.integer({ min: 0, max: 599_999 }), { maxLength: 15 }), (idle, gaps) => {
        const clock = new VirtualClock(0);
        const s = new ExpiryScheduler<number>(clock);
        s.add(1, { idleTimeout: idle });
        let last = 0;
        for (const g of gaps) {
          const gap = g % (idle * 1000 + 1); // never more than the idle timeout: stays alive
          clock.advance(gap);
          expect(s.expire()).toEqual([]);
          s.touch(1, undefined, 100);
          last = clock.now();
        }
        clock.set(last + idle * 1000);
        expect(s.expire()).toEqual([]);
        clock.advance(1);
        const ev = s.expire();
        expect(ev.map((e) => e.reason)).toEqual([RemovedReason.IDLE_TIMEOUT]);
        expect(ev[0]!.notify).toBe(false);
      }),
    );
  });

  it('both timeouts: whichever strikes first; hard checked first when both have', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), (idle, hard) => {
        const s = new ExpiryScheduler<string>();
        s.add('x', { idleTimeout: idle, hardTimeout: hard }, 0);
        const first = Math.min(idle, hard) * 1000;
        expect(s.expire(first)).toEqual([]);
        const ev = s.expire(first + 1);
        expect(ev).toHaveLength(1);
        expect(ev[0]!.reason).toBe(hard <= idle ? RemovedReason.HARD_TIMEOUT : RemovedReason.IDLE_TIMEOUT);
      }),
    );
  });

  it('a learn refresh (modified = now) restarts the hard timeout but not the idle timeout', () => {
    const s = new ExpiryScheduler<string>();
    s.add('h', { hardTimeout: 10 }, 0);
    s.add('i', { idleTimeout: 10 }, 0);
    s.refresh('h', 8000);
    s.refresh('i', 8000);
    expect(s.expire(10_001).map((e) => e.flow)).toEqual(['i']);
    expect(s.expire(18_000)).toEqual([]);
    expect(s.expire(18_001).map((e) => e.flow)).toEqual(['h']);
  });

  it('fin_timeout reduces timeouts on FIN/RST only, never raises them', () => {
    const s = new ExpiryScheduler<string>();
    s.add('f', { idleTimeout: 60 }, 0);
    s.finTimeout('f', 0x010 /* ack */, 5, 7);
    expect(s.get('f')!.idleTimeout).toBe(60);
    s.finTimeout('f', 0x011 /* fin|ack */, 5, 7);
    expect(s.get('f')!.idleTimeout).toBe(5);
    expect(s.get('f')!.hardTimeout).toBe(7);
    expect(reduceTimeout(3, 5)).toBe(3);
    expect(reduceTimeout(0, 5)).toBe(5);
    expect(reduceTimeout(9, 0)).toBe(9);
    expect(s.expire(5000)).toEqual([]);
    expect(s.expire(5001).map((e) => e.reason)).toEqual([RemovedReason.IDLE_TIMEOUT]);
  });

  it('explicit removal gives a DELETE / GROUP_DELETE event; stats show OVS ages', () => {
    const s = new ExpiryScheduler<string>();
    s.add('a', { sendFlowRem: true }, 1000);
    s.touch('a', 2500, 64);
    expect(s.stats('a', 4700)).toEqual({ durationMs: 3700, packets: 1, bytes: 64, idleAge: 2, hardAge: 3 });
    expect(s.remove('a', RemovedReason.GROUP_DELETE, 5000)).toMatchObject({ reason: RemovedReason.GROUP_DELETE, durationMs: 4000, notify: true });
    expect(s.remove('a', RemovedReason.DELETE, 5000)).toBeNull();
  });

  it('expires many flows in deadline order and reports the next deadline', () => {
    const s = new ExpiryScheduler<number>();
    for (let i = 0; i < 200; i++) s.add(i, { idleTimeout: 1 + (i * 37) % 50 }, 0);
    expect(s.nextDeadline()).toBe(1000);
    const ev = s.expire(100_000);
    expect(ev).toHaveLength(200);
    for (let i = 1; i < ev.length; i++) expect(ev[i]!.idleTimeout).toBeGreaterThanOrEqual(ev[i - 1]!.idleTimeout);
    expect(s.nextDeadline()).toBeUndefined();
  });
});

describe('TableCounters', () => {
  it('counts lookups and matches per table', () => {
    const t = new TableCounters(3);
    t.lookup(0, true);
    t.lookup(0, false);
    t.lookup(2, true);
    expect(t.stats((id) => id * 10)).toEqual([
      { tableId: 0, activeCount: 0, lookupCount: 2, matchedCount: 1 },
      { tableId: 1, activeCount: 10, lookupCount: 0, matchedCount: 0 },
      { tableId: 2, activeCount: 20, lookupCount: 1, matchedCount: 1 },
    ]);
  });
});
