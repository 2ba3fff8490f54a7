import { describe, expect, it } from 'vitest';
import { NormalSwitch, VirtualClock, isReservedMac } from '@ovnts/openflow';

const A = 0x505400000001, B = 0x505400000002, C = 0x505400000003, BCAST = 0xffffffffffff;

function sw(clock = new VirtualClock(0), opts = {}) {
  const s = new NormalSwitch(clock, opts);
  s.setPort({ port: 1, tag: 10 });
  s.setPort({ port: 2, tag: 10 });
  s.setPort({ port: 3, tag: 20 });
  s.setPort({ port: 4 }); // trunk, all VLANs
  s.setPort({ port: 5, trunks: [20], vlanMode: 'trunk' });
  s.setPort({ port: 6, tag: 10, vlanMode: 'native-untagged', trunks: [10, 20] });
  s.setPort({ port: 7, tag: 20, vlanMode: 'native-tagged', trunks: [10, 20] });
  return { s, clock };
}

describe('NormalSwitch', () => {
  it('floods unknown destinations within the VLAN with the right tag edits, then forwards learned ones', () => {
    const { s } = sw();
    const r = s.normalForward(1, 0, A, B);
    expect(r.reason).toBe('flood');
    expect(r.outputs).toEqual([
      { port: 2, vlan: 0, vlanAction: { kind: 'none' } },
      { port: 4, vlan: 10, vlanAction: { kind: 'push', vid: 10, pcp: 0 } },
      { port: 6, vlan: 0, vlanAction: { kind: 'none' } },
      { port: 7, vlan: 10, vlanAction: { kind: 'push', vid: 10, pcp: 0 } },
    ]);
    // B answers from the trunk, tagged 10 with PCP 3: goes to A's access port untagged.
    const back = s.normalForward(4, 10, B, A, undefined, 3);
    expect(back).toEqual({ vlan: 10, reason: 'forward', outputs: [{ port: 1, vlan: 0, vlanAction: { kind: 'pop' } }] });
    // Now A -> B is unicast to the trunk, tag pushed.
    expect(s.normalForward(1, 0, A, B).outputs).toEqual([{ port: 4, vlan: 10, vlanAction: { kind: 'push', vid: 10, pcp: 0 } }]);
  });

  it('drops disallowed VLANs, reserved destinations, and reflections; no learning of multicast sources', () => {
    const { s } = sw();
    expect(s.normalForward(1, 10, A, B).reason).toBe('disallowed VLAN'); // tagged on an access port
    expect(s.normalForward(5, 10, A, B).reason).toBe('disallowed VLAN'); // VLAN 10 not trunked on 5
    expect(s.normalForward(5, 0, A, B).reason).toBe('disallowed VLAN'); // untagged = VLAN 0 not trunked
    expect(s.normalForward(1, 0, A, 0x0180c2000000).reason).toBe('reserved destination');
    expect(isReservedMac(0x01000ccccccc)).toBe(true);
    s.normalForward(1, 0, A, BCAST);
    expect(s.normalForward(2, 0, B, A).outputs.map((o) => o.port)).toEqual([1]);
    s.normalForward(1, 0, C, A); // A is learned on port 1 = input port
    expect(s.normalForward(1, 0, C, A).reason).toBe('learned port is input port');
    s.normalForward(2, 0, 0x010000000001, BCAST);
    expect(s.entries().some((e) => e.mac === 0x010000000001)).toBe(false);
  });

  it('native VLANs: untagged frames join the native VLAN; native-untagged strips it, native-tagged keeps it', () => {
    const { s } = sw();
    const r = s.normalForward(7, 0, C, BCAST); // native-tagged port, untagged -> VLAN 20
    expect(r.vlan).toBe(20);
    expect(r.outputs).toEqual([
      { port: 3, vlan: 0, vlanAction: { kind: 'none' } },
      { port: 4, vlan: 20, vlanAction: { kind: 'push', vid: 20, pcp: 0 } },
      { port: 5, vlan: 20, vlanAction: { kind: 'push', vid: 20, pcp: 0 } },
      { port: 6, vlan: 20, vlanAction: { kind: 'push', vid: 20, pcp: 0 } },
    ]);
    const r2 = s.normalForward(4, 10, A, BCAST);
    expect(r2.outputs.find((o) => o.port === 6)).toEqual({ port: 6, vlan: 0, vlanAction: { kind: 'pop' } });
    expect(r2.outputs.find((o) => o.port === 7)).toEqual({ port: 7, vlan: 10, vlanAction: { kind: 'none' } });
  });

  it('found by the random differential: native VLANs are carried whatever trunks says, never VLAN 0; priority tags leave access ports untagged', () => {
    const clock = new VirtualClock(0);
    const s = new NormalSwitch(clock);
    s.setPort({ port: 1, trunks: [10] });
    s.setPort({ port: 2, tag: 10, trunks: [30], vlanMode: 'native-untagged' }); // 10 carried too
    s.setPort({ port: 3, tag: 10 });
    s.setPort({ port: 4, tag: 20, vlanMode: 'native-tagged' }); // no trunks: every VLAN but 0
    s.setPort({ port: 5 });
    expect(s.normalForward(1, 10, A, BCAST).outputs.map((o) => o.port)).toEqual([2, 3, 4, 5]);
    // A priority-tagged frame (VID 0, PCP 4) on the access port 3: VLAN 10; out of the other
    // members untagged (access, native-untagged) or tagged 10 with PCP 4.
    const pri = s.normalForward(3, 0, B, BCAST, undefined, 4, true, true);
    expect(pri.outputs).toEqual([
      { port: 1, vlan: 10, vlanAction: { kind: 'set', vid: 10, pcp: 4 } },
      { port: 2, vlan: 0, vlanAction: { kind: 'pop' } },
      { port: 4, vlan: 10, vlanAction: { kind: 'set', vid: 10, pcp: 4 } },
      { port: 5, vlan: 10, vlanAction: { kind: 'set', vid: 10, pcp: 4 } },
    ]);
    // VLAN 0 (untagged on the trunk port 5) reaches neither native port nor the VLAN-10 trunk.
    expect(s.normalForward(5, 0, C, BCAST).outputs.map((o) => o.port)).toEqual([]);
    // A VID 0 tag with PCP 0 is no tag: it is popped on the way out of a trunk.
    s.setPort({ port: 6 });
    expect(s.normalForward(5, 0, C, BCAST, undefined, 0, true, true).outputs).toEqual([{ port: 6, vlan: 0, vlanAction: { kind: 'pop' } }]);
    // entries() ages first (fdb/show lists no expired entry).
    expect(s.entries().length).toBe(3);
    clock.advance(300_000);
    expect(s.entries()).toEqual([]);
  });

  it('MAC aging at whole seconds: learned at second s, gone once the clock reaches s + idle', () => {
    const clock = new VirtualClock(1500);
    const { s } = sw(clock, { idleTime: 300 });
    s.normalForward(1, 0, A, BCAST); // second 1 -> expires at second 301
    clock.set(300_999);
    expect(s.lookup(10, A)?.port).toBe(1);
    clock.set(301_000);
    expect(s.lookup(10, A)).toBeUndefined();
    expect(s.counters.expired).toBe(1);
    // Re-learning restarts the age.
    s.normalForward(1, 0, A, BCAST);
    clock.advance(200_000);
    s.normalForward(1, 0, A, BCAST);
    clock.advance(200_000);
    expect(s.lookup(10, A)?.port).toBe(1);
  });

  it('moves a MAC to its new port; evicts fairly from the port with most entries when full', () => {
    const { s } = sw(new VirtualClock(0), { maxEntries: 3 });
    s.normalForward(1, 0, A, BCAST);
    s.normalForward(2, 0, A, BCAST);
    expect(s.lookup(10, A)?.port).toBe(2);
    expect(s.counters.moved).toBe(1);
    s.normalForward(2, 0, B, BCAST);
    s.normalForward(1, 0, C, BCAST); // table: A@2, B@2, C@1 (full)
    s.normalForward(4, 10, 0x505400000009, BCAST); // evicts the oldest of port 2 (A)
    expect(s.lookup(10, A)).toBeUndefined();
    expect(s.lookup(10, B)?.port).toBe(2);
    expect(s.lookup(10, C)?.port).toBe(1);
    expect(s.counters.evicted).toBe(1);
  });
});
