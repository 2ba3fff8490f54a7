/**
 * IGMP/MLD snooping in process: OVS's snooping table (membership, LRU pruning, routers), the
 * querier's frames (pinned to the bytes real ovn-controller sent in mcast-differential.test.ts),
 * and a cluster that learns groups from reports, turns them into multicast groups through our
 * northd, delivers datagrams to the members only, and forgets them on the virtual clock.
 */
import { describe, expect, test } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { compileNorthd, loadNbFile, type SbIpMulticast } from '@ovnts/ovn';
import { ChassisCluster, McastSnoop, McastSnoopTable, clusterConfig, groupAddressText, mcastSnoopConfig, northdFor, parseChassisMap } from '@ovnts/chassis';

const nb = loadNbFile('fixtures/chassis/lr-mcast.nb.db');
const map = parseChassisMap('vm1 hv1\nvm2 hv2\nvm3 hv1\nvm4 hv2\nvm5 hv1\nvm6 hv2\n', 'map');
const VM: Record<string, [string, string]> = { vm1: ['00:00:00:00:00:01', '10.0.0.11'], vm3: ['00:00:00:00:00:03', '10.0.0.13'], vm4: ['00:00:00:00:00:04', '10.1.0.14'], vm5: ['00:00:00:00:00:05', '10.2.0.15'] };
const v4 = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const MAPPED = (s: string) => 0xffff00000000n | BigInt(v4(s));

function report(vm: string, group: string, type = 4): Uint8Array {
  const [mac, ip] = VM[vm]!;
  return new PacketBuilder().ethernet({ src: mac, dst: '01:00:5e:00:00:16' }).ipv4({ src: ip, dst: '224.0.0.22', ttl: 1, options: new Uint8Array([0x94, 4, 0, 0]) })
    .igmp({ kind: 'reportV3', records: [{ type, group: v4(group), sources: [], auxData: new Uint8Array(0) }] }).build();
}
function datagram(vm: string, group: string): Uint8Array {
  const [mac, ip] = VM[vm]!;
  const g = v4(group);
  const gmac = `01:00:5e:${[(g >>> 16) & 0x7f, (g >>> 8) & 0xff, g & 0xff].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
  return new PacketBuilder().ethernet({ src: mac, dst: gmac }).ipv4({ src: ip, dst: group, ttl: 64 }).udp({ srcPort: 40000, dstPort: 30102 }).payload('hi').build();
}
const ports = (r: { deliveries: { port: string }[] }) => r.deliveries.map((d) => d.port).sort();

function cluster(withNorthd = true): ChassisCluster {
  const sb = compileNorthd(nb).sb;
  const c = new ChassisCluster(sb, clusterConfig(map, {}, sb), withNorthd ? { northd: northdFor(nb) } : {});
  c.run(); // the queriers' first queries
  return c;
}

describe('the snooping table (OVS mcast-snooping)', () => {
  test('a member expires idle_timeout seconds after its last report; a refresh moves it to the back', () => {
    const t = new McastSnoopTable();
    expect(t.addGroup(MAPPED('239.1.1.1'), 1, 0)).toBe(true);
    expect(t.addGroup(MAPPED('239.1.1.1'), 2, 10)).toBe(false);
    expect(t.run(299)).toBe(true); // new members need revalidation
    expect(t.lookup(MAPPED('239.1.1.1'))!.bundles.map((b) => b.port)).toEqual([1, 2]);
    expect(t.run(300)).toBe(true);
    expect(t.lookup(MAPPED('239.1.1.1'))!.bundles.map((b) => b.port)).toEqual([2]);
    t.addGroup(MAPPED('239.1.1.1'), 2, 305);
    expect(t.run(310)).toBe(false);
    expect(t.nextExpiry()).toBe(605);
    expect(t.run(605)).toBe(true);
    expect(t.groups).toEqual([]);
  });

  test('pruning stops at the first group that loses nothing (least recently used first)', () => {
    const t = new McastSnoopTable();
    t.addGroup(MAPPED('239.0.0.1'), 1, 0);
    t.addGroup(MAPPED('239.0.0.2'), 1, 0);
    t.addGroup(MAPPED('239.0.0.2'), 2, 100); // 239.0.0.2 is now the most recently used
    t.addGroup(MAPPED('239.0.0.1'), 3, 200); // and now 239.0.0.1 again, with port 1 still from t=0
    t.run(301);
    // 239.0.0.2 (head) loses port 1, keeps port 2: the walk stops there, 239.0.0.1's port 1 stays.
    expect(t.groups.map((g) => [groupAddressText(g.addr), g.bundles.map((b) => b.port)])).toEqual([['239.0.0.2', [2]], ['239.0.0.1', [1, 3]]]);
  });

  test('a leave removes the member at once; the emptied group is not reported and goes at the next run', () => {
    const t = new McastSnoopTable();
    t.addGroup(MAPPED('239.1.1.1'), 1, 0);
    expect(t.leaveGroup(MAPPED('239.1.1.1'), 1)).toBe(true);
    expect(t.leaveGroup(MAPPED('239.1.1.1'), 1)).toBe(false);
    expect(t.groups).toHaveLength(1);
    expect(t.nextExpiry()).toBe(0);
    t.run(1);
    expect(t.groups).toEqual([]);
  });

  test('IGMPv3 records: INCLUDE without sources leaves, an unknown record type is read again (as OVS does)', () => {
    const t = new McastSnoopTable();
    const f = report('vm1', '239.1.1.1', 4);
    expect(t.addIgmpv3Report(f, 38, f.length, 7, 0)).toBe(1);
    const leave = report('vm1', '239.1.1.1', 3);
    expect(t.addIgmpv3Report(leave, 38, leave.length, 7, 0)).toBe(1);
    const bad = report('vm1', '239.1.1.1', 9);
    expect(t.addIgmpv3Report(bad, 38, bad.length, 7, 0)).toBe(0);
  });

  test('a router port is remembered 180 s; a router port never joins groups', () => {
    const t = new McastSnoopTable();
    expect(t.addMrouter(5, 0)).toBe(true);
    expect(t.addGroup(MAPPED('239.1.1.1'), 5, 0)).toBe(false);
    expect(t.groups).toEqual([]);
    t.run(179);
    expect(t.mrouters).toHaveLength(1);
    t.run(180);
    expect(t.mrouters).toHaveLength(0);
  });

  test('idle times are clamped to 15..3600 and move existing expiries', () => {
    const t = new McastSnoopTable();
    t.addGroup(MAPPED('239.1.1.1'), 1, 0);
    t.setIdleTime(5);
    expect(t.idleTime).toBe(15);
    expect(t.nextExpiry()).toBe(15);
    t.setMaxEntries(3);
    expect(t.maxEntries).toBe(10);
  });
});

describe('the querier', () => {
  const row: SbIpMulticast = {
    uuid: 'u', datapath: { uuid: 'd', tunnelKey: 3 } as SbIpMulticast['datapath'], enabled: true, querier: true, ethSrc: '00:00:00:00:05:00', ip4Src: '10.0.0.254', ip6Src: 'fe80::254',
    tableSize: 2048, idleTimeout: 300, queryInterval: 150, queryMaxResp: 1, seqNo: 0,
  };
  test('IGMPv3 and MLDv2 general queries, byte for byte as ovn-controller 23.03 sends them, every query_interval', () => {
    const s = new McastSnoop();
    s.configure([row], new Set([3]), 0);
    const r = s.due(0);
    expect(r.out.map((o) => toHex(o.frame))).toEqual([
      '01005e0000010000000005000800450000200000400001028edd0a0000fee0000001110aeeeb00000000000a0000',
      '33330000000000000000050086dd6000000000240001fe800000000000000000000000000254ff0200000000000000000000000000013a00050200000000820079e703e800000000000000000000000000000000000000010000',
    ]);
    expect(r.out[0]!.actions.map((a) => a.type)).toEqual(['set_field', 'set_field', 'set_field', 'resubmit']);
    expect(s.nextWakeMs()).toBe(150_000);
    expect(s.due(149_999).out).toEqual([]);
    expect(s.due(150_000).out).toHaveLength(2);
  });
  test('no querier without a valid source: the warnings ovn-controller logs', () => {
    expect(mcastSnoopConfig({ ...row, ip4Src: '', ip6Src: '' }).warnings).toEqual(['IGMP Querier enabled without a valid IPv4 or IPv6 address']);
    const bad = mcastSnoopConfig({ ...row, ethSrc: 'zz' });
    expect([bad.querierV4, bad.querierV6, bad.warnings]).toEqual([false, false, ['IGMP Querier enabled with invalid ETH src address']]);
    expect(mcastSnoopConfig({ ...row, ip4Src: '10.0.0' }).warnings).toEqual(['IGMP Querier enabled with invalid IPv4 src address']);
  });
});

describe('snooping in a cluster (lr-mcast, two chassis)', () => {
  test('a join makes a group; a datagram reaches the members (and the mcast_flood port) only, across chassis', () => {
    const c = cluster();
    expect(ports(c.send('vm3', datagram('vm3', '239.1.1.1')))).toEqual(['vm2']); // unregistered: the static flood port only
    const j = c.send('vm1', report('vm1', '239.1.1.1'));
    expect(ports(j)).toEqual(['vm3']); // the report, forwarded to _MC_mrouter_flood (vm3 has mcast_flood_reports)
    expect(j.notes.map((n) => n.kind)).toContain('igmp');
    expect(c.sb.igmpGroups.filter((g) => g.ports.length).map((g) => `${g.chassis!.name} ${g.datapath!.name} ${g.address} ${g.ports.map((p) => p.logicalPort)}`).sort())
      .toEqual(['hv1 sw0 239.1.1.1 vm1', 'hv1 sw1 239.1.1.1 sw1-lr0']);
    expect(c.sb.multicastGroups.filter((m) => m.name === '239.1.1.1').map((m) => `${m.datapath.name} ${m.tunnelKey} ${m.ports.map((p) => p.logicalPort)}`).sort())
      .toEqual(['lr0 32774 lr0-sw0', 'sw0 32774 vm1']);
    const r = c.send('vm3', datagram('vm3', '239.1.1.1'));
    expect(ports(r)).toEqual(['vm1', 'vm2']);
    expect(r.underlay.map((u) => `${u.from}>${u.to}`)).toEqual(['hv1>hv2']); // to vm2 (mcast_flood) on hv2
  });

  test('the group ages out mcast_idle_timeout (300 s) after the last report, on the virtual clock; a refresh keeps it', () => {
    const c = cluster();
    c.send('vm1', report('vm1', '239.1.1.1'));
    c.clock.advance(200_000);
    c.send('vm1', report('vm1', '239.1.1.1'));
    c.clock.advance(299_000);
    c.run();
    expect(ports(c.send('vm3', datagram('vm3', '239.1.1.1')))).toEqual(['vm1', 'vm2']);
    c.clock.advance(1_000);
    c.run();
    expect(c.sb.igmpGroups.filter((g) => g.ports.length && g.datapath!.name === 'sw0')).toEqual([]);
    expect(ports(c.send('vm3', datagram('vm3', '239.1.1.1')))).toEqual(['vm2']);
  });

  test('a leave updates the flows incrementally; without northd the rows are written and nothing else changes', () => {
    const c = cluster();
    c.send('vm1', report('vm1', '239.1.1.1'));
    const before = c.nodes.map((n) => n.sw.flows().length);
    c.send('vm1', report('vm1', '239.1.1.1', 3));
    expect(c.sb.multicastGroups.some((m) => m.name === '239.1.1.1')).toBe(false);
    expect(c.nodes.map((n) => n.sw.flows().length).every((n, i) => n < before[i]!)).toBe(true);
    const plain = cluster(false);
    plain.send('vm1', report('vm1', '239.1.1.1'));
    expect(plain.sb.igmpGroups.some((g) => g.address === '239.1.1.1')).toBe(true);
    expect(ports(plain.send('vm3', datagram('vm3', '239.1.1.1')))).toEqual(['vm2']);
  });

  test('a report with a bad checksum is dropped with ovn-controller\'s warning', () => {
    const c = cluster();
    const f = report('vm1', '239.1.1.1');
    f[f.length - 1] ^= 1;
    const r = c.send('vm1', f);
    expect(r.notes.map((n) => n.text)).toContain('multicast snooping received bad IGMP checksum');
    expect(c.sb.igmpGroups.some((g) => g.address === '239.1.1.1')).toBe(false);
  });
});
