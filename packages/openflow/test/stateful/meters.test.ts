import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MeterTable, TextParseError, VirtualClock, parseMeter, remarkDscp } from '@ovnts/openflow';

describe('parseMeter (ovs-ofctl add-meter syntax)', () => {
  it('parses flags and bands', () => {
    expect(parseMeter('meter=1,pktps,burst,stats,bands=type=drop,rate=10,burst_size=5')).toEqual({
      meterId: 1, kbps: false, burst: true, stats: true, bands: [{ type: 'drop', rate: 10, burstSize: 5 }],
    });
    const m = parseMeter('meter=7 kbps band=type=dscp_remark rate=100 prec_level=1 type=drop rate=200');
    expect(m.kbps).toBe(true);
    expect(m.bands).toEqual([{ type: 'dscp_remark', rate: 100, burstSize: 0, precLevel: 1 }, { type: 'drop', rate: 200, burstSize: 0 }]);
  });
  it("refuses what OVS's parser refuses", () => {
    for (const bad of [
      'meter=1,pktps', 'meter=1,bands=type=drop,rate=1', 'pktps,bands=type=drop,rate=1', 'meter=1,pktps,bands=type=drop',
      'meter=1,pktps,bands=type=drop,rate=1,burst_size=3', 'meter=1,pktps,burst,bands=type=drop,rate=1',
      'meter=1,pktps,bands=type=dscp_remark,rate=1', 'meter=1,pktps,bands=type=drop,rate=1,prec_level=1', 'meter=1,pktps,bands=rate=1',
      'meter=0,pktps,bands=type=drop,rate=1',
    ]) expect(() => parseMeter(bad), bad).toThrow(TextParseError);
  });
});

describe('Meter token buckets (dpif-netdev semantics)', () => {
  it('pktps: B packets pass at once, then exactly R per second (burst B; R dividing 1000*B)', () => {
    const divisors = (n: number): number[] => {
      const out: number[] = [];
      for (let d = 1; d * d <= n; d++) if (n % d === 0) out.push(d, n / d);
      return out;
    };
    const arb = fc.integer({ min: 1, max: 500 }).chain((burst) => fc.tuple(fc.constantFrom(...divisors(burst * 1000).filter((d) => d <= 5000)), fc.constant(burst)));
    fc.assert(
      fc.property(arb, fc.integer({ min: 1, max: 5 }), ([rate, burst], secs) => {
        const clock = new VirtualClock(0);
        const mt = new MeterTable(clock);
        mt.set(`meter=1,pktps,burst,bands=type=drop,rate=${rate},burst_size=${burst}`);
        let pass = 0;
        for (let i = 0; i < burst + 10; i++) if (mt.meter(1, 100) === 'pass') pass++;
        expect(pass).toBe(burst);
        for (let s = 0; s < secs; s++) {
          clock.advance(1000);
          let p = 0;
          for (let i = 0; i < rate + burst + 5; i++) if (mt.meter(1, 100) === 'pass') p++;
          expect(p).toBe(Math.min(rate, burst));
        }
        const st = mt.get(1)!.stats();
        expect(st.packets).toBe(burst + 10 + secs * (rate + burst + 5));
        expect(st.bands[0]!.packets).toBe(st.packets - burst - secs * Math.min(rate, burst));
      }),
    );
  });

  it("OVS's refill cap: elapsed time is capped at floor(burst*1000/rate) ms, so a bucket may not refill fully", () => {
    // rate 126/s, burst 1: cap = floor(1000/126) = 7 ms -> at most 882 milli-packets per refill.
    const clock = new VirtualClock(0);
    const mt = new MeterTable(clock);
    mt.set('meter=5,pktps,burst,bands=type=drop,rate=126,burst_size=1');
    expect(mt.meter(5, 60)).toBe('pass');
    clock.advance(1000);
    expect(mt.meter(5, 60)).toBe('drop'); // 882 < 1000; the remainder stays
    expect(mt.get(5)!.buckets()).toEqual([882]);
    clock.advance(1000);
    expect(mt.meter(5, 60)).toBe('pass'); // min(882 + 882, 1000) = 1000
  });

  it('pktps: a steady stream at one packet per ms through rate R passes R per second (after the burst)', () => {
    const clock = new VirtualClock(0);
    const mt = new MeterTable(clock);
    mt.set('meter=2,pktps,bands=type=drop,rate=100'); // burst_size defaults to the rate
    let pass = 0;
    for (let ms = 0; ms < 10_000; ms++) {
      if (mt.meter(2, 64) === 'pass') pass++;
      clock.advance(1);
    }
    // 100 initial tokens, then 0.1 packet per ms over 9.999 s.
    expect(pass).toBe(100 + Math.floor(9999 * 100 / 1000));
  });

  it('kbps: bits per millisecond, the bucket holds burst_size * 1000 bits', () => {
    const clock = new VirtualClock(0);
    const mt = new MeterTable(clock);
    mt.set('meter=3,kbps,burst,bands=type=drop,rate=80,burst_size=16'); // 16000 bits = 2000 bytes
    const r = Array.from({ length: 5 }, () => mt.meter(3, 500)); // 4000 bits each
    expect(r).toEqual(['pass', 'pass', 'pass', 'pass', 'drop']);
    clock.advance(50); // 80 bits/ms * 50 = 4000 bits
    expect(mt.meter(3, 500)).toBe('pass');
    expect(mt.meter(3, 500)).toBe('drop');
  });

  it('fires the exceeded band with the highest rate; dscp_remark returns its precedence', () => {
    const clock = new VirtualClock(0);
    const mt = new MeterTable(clock);
    mt.set('meter=4,pktps,burst,bands=type=dscp_remark,rate=10,burst_size=2,prec_level=1,type=drop,rate=5,burst_size=3');
    expect([mt.meter(4, 1), mt.meter(4, 1), mt.meter(4, 1), mt.meter(4, 1)]).toEqual(['pass', 'pass', { dscpRemark: 1 }, { dscpRemark: 1 }]);
    expect(mt.meter(9, 1)).toBe('pass'); // a missing meter passes everything
    expect(remarkDscp(10, 1)).toBe(12); // AF11 -> AF12
    expect(remarkDscp(12, 5)).toBe(14); // saturates at AF13
    expect(remarkDscp(46, 1)).toBe(46); // EF unchanged
  });
});
