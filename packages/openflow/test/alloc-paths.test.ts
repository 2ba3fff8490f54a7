/**
 * The per-frame paths allocate nothing (issue 9, item 8): the cached path (translation cache
 * hits), the per-table classifier caches, and the miss path (every cache off: tuple-space search
 * in every table and the full translation), on a routed multi-table pipeline with rewrites,
 * `dec_ttl`, `move`, registers, `resubmit` and `goto_table`, with distinct frames.
 *
 * The clock is a `VirtualClock` at a fractional time, so `now` is a double: a double passed
 * across a call the JIT does not inline is boxed (16 bytes), which is how the cached path used to
 * allocate 16 B per frame (`learnCommit(now)` on every pass, learned flows or not). RealClock's
 * own `performance.now()` boxes its result in Node 20 whatever we do; that is the clock's cost,
 * not the switch's (docs/benchmarks.md), so with a RealClock the switch may grow the heap by what
 * the same number of clock reads alone does, and no more (RealClock used to box a second double
 * by subtracting its origin). The modes are run in turn before measuring, as the
 * benchmark does, so the code is measured after the mode switches it sees there; the miss path
 * used to allocate a closure context in every table lookup (~400 B per frame over 10 lookups).
 * No timing: the heap's growth over 100k frames, the least of a few rounds (a round that a GC
 * interrupted tells nothing).
 */
import { describe, expect, it } from 'vitest';
import { PacketBuilder } from '@ovnts/packet';
import { RealClock, Switch, VirtualClock, type Clock } from '@ovnts/openflow';
import { minHeapGrowth } from '@ovnts/testkit';

const ROUTER = '02:ff:00:00:00:01';
const mac = (i: number): string => `50:54:00:00:01:${i.toString(16).padStart(2, '0')}`;

/** Eight VMs on ports 1..8 (10.0.<i>.2), one router; frames from VM i to VM (i+1)%8 with varying TCP ports. */
function pipeline(clock: Clock): { sw: Switch; frames: Uint8Array[]; inPorts: number[]; sent: () => number } {
  let sent = 0;
  const sw = new Switch({ onOutput: () => void sent++, clock });
  const flows: string[] = [];
  for (let i = 0; i < 8; i++) {
    const port = i + 1;
    flows.push(`table=0,priority=100,in_port=${port},dl_src=${mac(i)},actions=load:${port}->NXM_NX_REG14[],goto_table:1`);
    flows.push(`table=1,priority=100,ip,reg14=${port},nw_src=10.0.${i}.2,actions=goto_table:2`);
    flows.push(`table=3,priority=100,ip,nw_dst=10.0.${i}.0/24,actions=dec_ttl,move:NXM_OF_IP_DST[]->NXM_NX_REG0[],mod_dl_src:${ROUTER},goto_table:4`);
    flows.push(`table=4,priority=100,reg0=0x0a000${i}02,actions=mod_dl_dst:${mac(i)},load:${port}->NXM_NX_REG15[],resubmit(,5)`);
    flows.push(`table=5,priority=100,reg15=${port},actions=output:${port}`);
  }
  flows.push('table=0,priority=0,actions=drop', 'table=1,priority=0,actions=drop');
  flows.push('table=2,priority=200,tcp,tp_dst=80,actions=goto_table:3', 'table=2,priority=100,tcp,tp_dst=0x1000/0xf000,actions=goto_table:3');
  flows.push('table=2,priority=0,actions=drop', 'table=3,priority=0,actions=drop');
  for (let p = 1; p <= 8; p++) sw.addPort({ number: p });
  sw.addFlows(flows.join('\n'));
  const frames: Uint8Array[] = [];
  const inPorts: number[] = [];
  for (let k = 0; k < 64; k++) {
    const i = k % 8;
    const j = (i + 1) % 8;
    const dst = k % 2 === 0 ? 80 : 0x1000 + k;
    frames.push(new PacketBuilder().ethernet({ src: mac(i), dst: ROUTER }).ipv4({ src: `10.0.${i}.2`, dst: `10.0.${j}.2` })
      .tcp({ srcPort: 1000 + k, dstPort: dst, flags: 'A' }).payload('abcdefghij').build());
    inPorts.push(i + 1);
  }
  return { sw, frames, inPorts, sent: () => sent };
}

type Mode = 'hit' | 'cls' | 'miss';

function setMode(sw: Switch, mode: Mode): void {
  sw.flowCache = mode === 'hit';
  for (const t of sw.tables) t.cls.useCache = mode !== 'miss';
}

/**
 * Run the modes in turn (as the benchmark does), then measure each mode's heap growth over 100k
 * frames; `allowance` is what the clock's own reading costs per 100k frames.
 */
function check(clock: Clock, allowance: number): void {
  const { sw, frames, inPorts, sent } = pipeline(clock);
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) sw.receive(inPorts[i & 63]!, frames[i & 63]!);
  };
  // Every frame is routed and sent (the pipeline really runs all its tables).
  run(64);
  expect(sent()).toBe(64);
  for (let r = 0; r < 3; r++) {
    for (const m of ['miss', 'cls', 'hit'] as const) {
      setMode(sw, m);
      run(20_000);
    }
  }
  for (const m of ['hit', 'cls', 'miss'] as const) {
    setMode(sw, m);
    const before = sent();
    const g = minHeapGrowth(() => run(100_000), { maxRounds: 10, stopBelow: allowance + 64 * 1024 });
    // 100k frames: 256 KB is 2.6 B per frame, far below one object per frame (16 B and up).
    expect(g.min, `${m}: heap growth per 100k frames (${g.clean} of ${g.rounds} rounds without a GC; the clock's reads: ${allowance} B)`).toBeLessThan(allowance + 256 * 1024);
    expect(sent() - before).toBe(g.rounds * 100_000);
  }
  // The cached switch really served from its cache.
  expect(sw.flowCacheStats().hits).toBeGreaterThan(100_000);
}

describe('allocation on the per-frame paths', () => {
  it('the cached path, the classifier caches and the miss path allocate nothing per frame (fractional VirtualClock)', () => {
    check(new VirtualClock(0.25), 0);
  }, 120_000);

  it('with a RealClock, nothing beyond what reading the clock costs', () => {
    const clock = new RealClock();
    // What 100k reads of the clock alone grow the heap by (Node 20 boxes performance.now()'s double).
    const times = new Float64Array(1);
    const read = minHeapGrowth(() => {
      for (let i = 0; i < 100_000; i++) times[0] = clock.now();
    });
    expect(read.clean).toBeGreaterThan(0);
    check(clock, read.min);
  }, 120_000);
});
