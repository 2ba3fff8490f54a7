import { describe, expect, it } from 'vitest';
import { Conntrack, CtFail, VirtualClock, field } from '@ovnts/openflow';
import { ct, udp } from './helpers.js';

const pkt = (i: number) => udp('10.0.0.1', '10.0.0.2', 1000 + i, 53);

describe('limits', () => {
  it('global maximum: commits beyond it are refused and counted; the packet stays +new', () => {
    const clock = new VirtualClock();
    const t = new Conntrack({ clock, maxConns: 3 });
    for (let i = 0; i < 3; i++) expect(ct(t, pkt(i), { zone: 0, commit: true }).st).toBe('+new+trk');
    const r = ct(t, pkt(3), { zone: 1, commit: true, mark: { value: 5, mask: 0xffffffff } });
    expect(r.st).toBe('+new+trk');
    expect(r.key.get(field('ct_mark'))).toBe(0); // nothing committed, nothing marked
    expect(t.result.fail).toBe(CtFail.Full);
    expect(t.count).toBe(3);
    expect(t.stats.full).toBe(1);
    // Existing connections keep working.
    expect(ct(t, udp('10.0.0.2', '10.0.0.1', 53, 1000), { zone: 0 }).st).toBe('+est+rpl+trk');
    // Expired entries count until removed (as in OVS), then make room.
    clock.advance(60_000);
    expect(ct(t, pkt(4), { zone: 0, commit: true }).st).toBe('+new+trk');
    expect(t.count).toBe(3);
    t.sweep();
    expect(ct(t, pkt(5), { zone: 0, commit: true }).st).toBe('+new+trk');
    expect(t.count).toBe(1);
    t.setMaxConns(10);
    expect(t.getMaxConns()).toBe(10);
  });

  it('per-zone limits, the default zone limit, and deletion', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    t.setZoneLimit(1, 2);
    ct(t, pkt(0), { zone: 1, commit: true });
    ct(t, pkt(1), { zone: 1, commit: true });
    ct(t, pkt(2), { zone: 1, commit: true });
    expect(t.result.fail).toBe(CtFail.ZoneFull);
    expect(t.getZoneLimit(1)).toEqual({ zone: 1, limit: 2, count: 2 });
    expect(t.stats.zoneFull).toBe(1);
    // Other zones are not limited.
    for (let i = 0; i < 5; i++) ct(t, pkt(i), { zone: 2, commit: true });
    expect(t.count).toBe(7);
    // A default limit applies to zones without their own.
    t.setDefaultZoneLimit(1);
    ct(t, pkt(0), { zone: 3, commit: true });
    ct(t, pkt(1), { zone: 3, commit: true });
    expect(t.getZoneLimit(3)).toEqual({ zone: 3, limit: 1, count: 1 });
    // Zone 2's connections were admitted before any limit: they do not count (OVS's admission stamp).
    ct(t, pkt(9), { zone: 2, commit: true });
    expect(t.getZoneLimit(2)).toEqual({ zone: 2, limit: 1, count: 1 });
    // Removing connections gives the room back.
    expect(t.flush(1)).toBe(2);
    expect(t.getZoneLimit(1).count).toBe(0);
    ct(t, pkt(0), { zone: 1, commit: true });
    expect(t.getZoneLimit(1).count).toBe(1);
    // Deleting a zone's limit while a default exists falls back to the default.
    t.deleteZoneLimit(1);
    expect(t.getZoneLimit(1).limit).toBe(1);
    t.setDefaultZoneLimit(0);
    expect(t.getZoneLimit(3)).toEqual({ zone: 3, limit: 0, count: 0 });
    ct(t, pkt(5), { zone: 3, commit: true });
    expect(t.result.fail).toBe(CtFail.None);
    // A limit of 0 on a specific zone admits nothing (OVS userspace behaviour).
    t.setZoneLimit(9, 0);
    ct(t, pkt(0), { zone: 9, commit: true });
    expect(t.result.fail).toBe(CtFail.ZoneFull);
    expect(() => t.setZoneLimit(70000, 1)).toThrow(/zone/);
  });
});
