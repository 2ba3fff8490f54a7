import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Conntrack, DEFAULT_TIMEOUTS, TIMEOUT_NAMES, VirtualClock, type TimeoutName, type TimeoutPolicy } from '@ovnts/openflow';
import { ct, icmp, TcpConv, udp } from './helpers.js';

type Send = (frame: Uint8Array, commit?: boolean) => string;

/**
 * For every timeout attribute: how to bring a connection into the state that uses it (the last
 * packet of `setup` sets the expiry), and a packet of activity with the attribute it then uses.
 */
interface Scenario {
  attr: TimeoutName;
  setup(send: Send): { refresh: () => Uint8Array; after: TimeoutName; refreshState: string };
}

const A = '10.0.0.1';
const B = '10.0.0.2';

function est(send: Send): TcpConv {
  const c = new TcpConv(A, B, 41000, 80);
  send(c.c('S'), true);
  send(c.s('SA'));
  send(c.c('A'));
  return c;
}

const SCENARIOS: Scenario[] = [
  {
    attr: 'tcp_syn_sent',
    setup(send) {
      const c = new TcpConv(A, B, 41000, 80);
      const syn = c.c('S');
      send(syn, true);
      return { refresh: () => syn, after: 'tcp_syn_sent', refreshState: '+new+trk' };
    },
  },
  {
    attr: 'tcp_syn_recv',
    setup(send) {
      const c = new TcpConv(A, B, 41000, 80);
      send(c.c('S'), true);
      const sa = c.s('SA');
      send(sa);
      return { refresh: () => sa, after: 'tcp_syn_recv', refreshState: '+est+rpl+trk' };
    },
  },
  {
    attr: 'tcp_established',
    setup(send) {
      const c = est(send);
      return { refresh: () => c.c('PA', 'more'), after: 'tcp_established', refreshState: '+est+trk' };
    },
  },
  {
    attr: 'tcp_fin_wait',
    setup(send) {
      const c = est(send);
      send(c.c('FA'));
      return { refresh: () => c.s('PA', 'still sending'), after: 'tcp_fin_wait', refreshState: '+est+rpl+trk' };
    },
  },
  {
    attr: 'tcp_time_wait',
    setup(send) {
      const c = est(send);
      send(c.c('FA'));
      const fin = c.s('FA');
      send(fin);
      return { refresh: () => fin, after: 'tcp_time_wait', refreshState: '+est+rpl+trk' };
    },
  },
  {
    attr: 'tcp_close',
    setup(send) {
      const c = est(send);
      send(c.c('FA'));
      send(c.s('FA'));
      const ack = c.c('A');
      send(ack);
      return { refresh: () => ack, after: 'tcp_close', refreshState: '+est+trk' };
    },
  },
  {
    attr: 'udp_first',
    setup(send) {
      send(udp(A, B, 5000, 53), true);
      return { refresh: () => udp(A, B, 5000, 53), after: 'udp_single', refreshState: '+new+trk' };
    },
  },
  {
    attr: 'udp_single',
    setup(send) {
      send(udp(A, B, 5000, 53), true);
      send(udp(A, B, 5000, 53));
      return { refresh: () => udp(A, B, 5000, 53), after: 'udp_single', refreshState: '+new+trk' };
    },
  },
  {
    attr: 'udp_multiple',
    setup(send) {
      send(udp(A, B, 5000, 53), true);
      send(udp(B, A, 53, 5000));
      return { refresh: () => udp(A, B, 5000, 53), after: 'udp_multiple', refreshState: '+est+trk' };
    },
  },
  {
    attr: 'icmp_first',
    setup(send) {
      send(icmp(A, B, 8, 9), true);
      return { refresh: () => icmp(A, B, 8, 9, 2), after: 'icmp_first', refreshState: '+new+trk' };
    },
  },
  {
    attr: 'icmp_reply',
    setup(send) {
      send(icmp(A, B, 8, 9), true);
      send(icmp(B, A, 0, 9));
      return { refresh: () => icmp(A, B, 8, 9, 2), after: 'icmp_reply', refreshState: '+est+trk' };
    },
  },
];

const policyArb = fc.record(
  Object.fromEntries(TIMEOUT_NAMES.map((n) => [n, fc.integer({ min: 1, max: 3 * 86400 })])) as Record<TimeoutName, fc.Arbitrary<number>>,
);

function harness(policy?: TimeoutPolicy) {
  const clock = new VirtualClock(123_456);
  const t = new Conntrack({ clock });
  const zone = 4;
  if (policy) {
    t.setTimeoutPolicy(7, policy);
    t.setZoneTimeoutPolicy(zone, 7);
  }
  const send: Send = (frame, commit = false) => ct(t, frame, { zone, commit }).st;
  return { clock, t, send, secs: (a: TimeoutName) => (policy?.[a] ?? DEFAULT_TIMEOUTS[a]) };
}

describe('timeouts', () => {
  it('covers every attribute', () => {
    expect(SCENARIOS.map((s) => s.attr).sort()).toEqual([...TIMEOUT_NAMES].sort());
  });

  it('uses OVS userspace defaults', () => {
    for (const s of SCENARIOS) {
      const { t } = harness();
      s.setup((f, commit) => ct(t, f, { zone: 4, commit }).st);
      expect([s.attr, t.entries()[0]!.timeoutMs]).toEqual([s.attr, DEFAULT_TIMEOUTS[s.attr] * 1000]);
    }
  });

  for (const s of SCENARIOS) {
    it(`${s.attr}: idle just under the timeout survives, at or over it is gone`, () => {
      fc.assert(
        fc.property(policyArb, fc.integer({ min: 1, max: 10_000 }), (policy, slack) => {
          const { clock, t, send, secs } = harness(policy);
          s.setup(send);
          const T = secs(s.attr) * 1000;
          expect(t.entries()[0]!.timeoutMs).toBe(T);
          clock.advance(Math.max(0, T - slack));
          expect(t.entries()).toHaveLength(1);
          clock.set(clock.now() + Math.min(slack, T) - 1); // deadline - 1 ms
          expect(t.entries()).toHaveLength(1);
          clock.advance(1); // exactly the deadline: expired (OVS: now >= expiration)
          expect(t.entries()).toHaveLength(0);
          clock.advance(slack);
          expect(t.count).toBe(1); // counted until removed
          expect(t.sweep()).toBe(1);
          expect(t.count).toBe(0);
          expect(t.stats.expired).toBe(1);
        }),
        { numRuns: 40 },
      );
    });

    it(`${s.attr}: activity refreshes the connection`, () => {
      fc.assert(
        fc.property(policyArb, fc.integer({ min: 0, max: 10_000 }), (policy, early) => {
          const { clock, t, send, secs } = harness(policy);
          const { refresh, after, refreshState } = s.setup(send);
          const T = secs(s.attr) * 1000;
          clock.advance(Math.max(0, T - 1 - early)); // still alive
          expect(send(refresh())).toBe(refreshState);
          const T2 = secs(after) * 1000;
          clock.advance(T2 - 1);
          expect(t.entries()).toHaveLength(1);
          clock.advance(1);
          expect(t.entries()).toHaveLength(0);
        }),
        { numRuns: 40 },
      );
    });
  }

  it('an expired connection is looked up as absent and removed on the spot', () => {
    const { clock, t, send } = harness();
    send(udp(A, B, 1, 2), true);
    clock.advance(60_000);
    expect(send(udp(B, A, 2, 1))).toBe('+new+trk');
    expect(t.count).toBe(0);
    expect(t.stats.expired).toBe(1);
  });

  it('a sweeper on the virtual clock removes idle connections every 20 s', () => {
    const { clock, t, send } = harness();
    send(udp(A, B, 1, 2), true);
    const stop = t.attachSweeper(clock);
    clock.advance(40_000);
    expect(t.count).toBe(1);
    clock.advance(20_000); // expired at 60 s, swept at 60 s
    expect(t.count).toBe(0);
    stop();
    expect(clock.pending).toBe(0);
  });

  it('policies apply per zone and can be changed or removed', () => {
    const { t, send } = harness();
    t.setTimeoutPolicy(2, { udp_first: 5 });
    t.setZoneTimeoutPolicy(4, 2);
    send(udp(A, B, 1, 2), true);
    expect(t.entries()[0]!.timeoutMs).toBe(5000);
    ct(t, udp(A, B, 1, 3), { zone: 5, commit: true });
    expect(t.entries(5)[0]!.timeoutMs).toBe(60_000);
    t.setTimeoutPolicy(2, { udp_single: 7 });
    send(udp(A, B, 1, 2));
    expect(t.entries(4)[0]!.timeoutMs).toBe(7000);
    t.deleteTimeoutPolicy(2); // the connection keeps its policy id; updates fall back to defaults
    send(udp(A, B, 1, 2));
    expect(t.entries(4)[0]!.timeoutMs).toBe(60_000);
    expect(() => t.setTimeoutPolicy(3, { tcp_bogus: 1 } as unknown as TimeoutPolicy)).toThrow(/unknown attribute/);
    expect(t.getTimeoutPolicy().tcp_established).toBe(86400);
  });
});
