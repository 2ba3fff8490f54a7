/**
 * IGMP/MLD snooping through a cluster against a real multi-chassis OVN cluster: the lr-mcast case
 * (fixtures/chassis/cases: snooping switches with and without a querier, `mcast_flood`,
 * `mcast_flood_reports`, `mcast_flood_unregistered`, a relay router with a `mcast_flood` port, a
 * router without relay; six VMs on two chassis) runs in real ovn-controller/ovs-vswitchd daemons
 * and in our `ChassisCluster` built from the real southbound database, with our northd
 * (`northdFor` on the real northbound database) turning the snooped groups into multicast groups.
 *
 * The same steps run on both, one at a time: joins (IGMPv3, IGMPv2, MLDv1, MLDv2), leaves, a query
 * from a VM (it becomes a multicast router), and datagrams to the groups from every VM. After
 * each step the deliveries per logical port must be byte-identical and the frames on the underlay
 * equal (outer UDP source port and checksum masked, as in frames-differential.test.ts), and after
 * each IGMP/MLD step the `IGMP_Group` rows (chassis, datapath, address, ports) equal. The queries
 * each chassis's querier sends when snooping starts must reach the same ports with the same bytes.
 * MCAST_DIFF_SEED (default 1) chooses the order of the datagram senders.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadNb, loadSb, type NbDatabase, type SbDatabase } from '@ovnts/ovn';
import { PacketBuilder, parseIpv6, toHex, u16 } from '@ovnts/packet';
import { Rng, readChassisCase, applyChassisCase, requireOracle, seedFromEnv, startOvnCluster, type OvnCluster, type OvnSendResult } from '@ovnts/testkit';
import { ChassisCluster, clusterConfig, northdFor, type RunResult } from '@ovnts/chassis';
import { caseSettings } from './helpers.js';

const req = requireOracle('IGMP snooping (live OVN cluster)', 'ovn-sandbox', ['ovn-controller', 'ovn-northd', 'ovs-vswitchd', 'ovsdb-server'], 'apt-get install -y ovn-central ovn-host openvswitch-switch');
const SEED = seedFromEnv('mcast differential', 'MCAST_DIFF_SEED', 1).seed;

const VM: Record<string, { mac: string; ip: string; ip6?: string }> = {
  vm1: { mac: '00:00:00:00:00:01', ip: '10.0.0.11', ip6: 'fd00::11' },
  vm2: { mac: '00:00:00:00:00:02', ip: '10.0.0.12' },
  vm3: { mac: '00:00:00:00:00:03', ip: '10.0.0.13' },
  vm4: { mac: '00:00:00:00:00:04', ip: '10.1.0.14' },
  vm5: { mac: '00:00:00:00:00:05', ip: '10.2.0.15' },
  vm6: { mac: '00:00:00:00:00:06', ip: '10.3.0.16' },
};

const v4 = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const lla = (mac: string) => {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  return `fe80::${((b[0]! ^ 2) << 8 | b[1]!).toString(16)}:${(b[2]! << 8 | 0xff).toString(16)}:${(0xfe00 | b[3]!).toString(16)}:${(b[4]! << 8 | b[5]!).toString(16)}`;
};
const RA = new Uint8Array([0x94, 4, 0, 0]);

function igmp3(vm: string, group: string, type: number): Uint8Array {
  const v = VM[vm]!;
  return new PacketBuilder().ethernet({ src: v.mac, dst: '01:00:5e:00:00:16' }).ipv4({ src: v.ip, dst: '224.0.0.22', ttl: 1, options: RA })
    .igmp({ kind: 'reportV3', records: [{ type, group: v4(group), sources: [], auxData: new Uint8Array(0) }] }).build();
}
function igmp2(vm: string, group: string, leave = false): Uint8Array {
  const v = VM[vm]!;
  const dst = leave ? '224.0.0.2' : group;
  const mac = `01:00:5e:${[(v4(dst) >>> 16) & 0x7f, (v4(dst) >>> 8) & 0xff, v4(dst) & 0xff].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
  return new PacketBuilder().ethernet({ src: v.mac, dst: mac }).ipv4({ src: v.ip, dst, ttl: 1, options: RA })
    .igmp(leave ? { kind: 'leave', group: v4(group) } : { kind: 'reportV2', group: v4(group) }).build();
}
function igmpQuery(vm: string): Uint8Array {
  const v = VM[vm]!;
  return new PacketBuilder().ethernet({ src: v.mac, dst: '01:00:5e:00:00:01' }).ipv4({ src: v.ip, dst: '224.0.0.1', ttl: 1, options: RA })
    .igmp({ kind: 'queryV3', maxRespCode: 100, group: 0, suppress: false, qrv: 2, qqic: 125, sources: [] }).build();
}
function mld(vm: string, group: string, kind: 'reportV1' | 'done' | 'reportV2'): Uint8Array {
  const v = VM[vm]!;
  const g = parseIpv6(group);
  const dst = kind === 'reportV1' ? group : kind === 'done' ? 'ff02::2' : 'ff02::16';
  const d = parseIpv6(dst);
  const mac = `33:33:${[24, 16, 8, 0].map((s) => Number((d >> BigInt(s)) & 0xffn).toString(16).padStart(2, '0')).join(':')}`;
  const b = new PacketBuilder().ethernet({ src: v.mac, dst: mac }).ipv6({ src: lla(v.mac), dst, hopLimit: 1 });
  if (kind === 'reportV2') b.mld({ kind: 'reportV2', records: [{ type: 4, group: g, sources: [], auxData: new Uint8Array(0) }] });
  else b.mld({ kind, group: g });
  return b.build();
}
function datagram(vm: string, group: string): Uint8Array {
  const v = VM[vm]!;
  if (group.includes(':')) {
    const d = parseIpv6(group);
    const mac = `33:33:${[24, 16, 8, 0].map((s) => Number((d >> BigInt(s)) & 0xffn).toString(16).padStart(2, '0')).join(':')}`;
    return new PacketBuilder().ethernet({ src: v.mac, dst: mac }).ipv6({ src: v.ip6 ?? lla(v.mac), dst: group, hopLimit: 64 }).udp({ srcPort: 40000, dstPort: 30102 }).payload('mcast\n').build();
  }
  const g = v4(group);
  const mac = `01:00:5e:${[(g >>> 16) & 0x7f, (g >>> 8) & 0xff, g & 0xff].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
  return new PacketBuilder().ethernet({ src: v.mac, dst: mac }).ipv4({ src: v.ip, dst: group, ttl: 64 }).udp({ srcPort: 40000, dstPort: 30102 }).payload('mcast\n').build();
}

/** The frame a Geneve frame carries (the frame itself otherwise). */
function inner(f: Uint8Array): Uint8Array {
  if (f.length > 50 && u16(f, 12) === 0x0800 && f[23] === 17 && u16(f, 36) === 6081) return f.subarray(50 + (f[42]! & 0x3f) * 4);
  return f;
}

/** Frames real ovn-controller sends on its own timers besides queries: gratuitous ARPs, BFD. */
function timerFrame(f0: Uint8Array): boolean {
  const f = inner(f0);
  const t = u16(f, 12);
  if (t === 0x0806 && f.length >= 42) return toHex(f.subarray(28, 32)) === toHex(f.subarray(38, 42));
  return f !== f0 && t === 0x0800 && f[23] === 17 && f.length > 37 && u16(f, 36) === 3784;
}

/** The source MAC of sw0's querier (`mcast_eth_src`). */
const QUERIER_MAC = '000000000500';

/** An IGMP general query or MLD query from sw0's querier (what it sends on its own). */
function isQuery(f0: Uint8Array): boolean {
  const f = inner(f0);
  if (toHex(f.subarray(6, 12)) !== QUERIER_MAC) return false;
  const t = u16(f, 12);
  if (t === 0x0800 && f[23] === 2) return f[14 + (f[14]! & 0xf) * 4] === 0x11;
  return t === 0x86dd && f[20] === 0 && f[54] === 58 && f[62] === 130;
}

/** A Geneve frame with the outer UDP source port and checksum masked. */
function masked(f: Uint8Array): string {
  const h = toHex(f);
  if (inner(f) === f) return h;
  return `${h.slice(0, 68)}xxxx${h.slice(72, 80)}xxxx${h.slice(84)}`;
}

function realSide(r: OvnSendResult, keep: (f: Uint8Array) => boolean): { d: string[]; u: string[] } {
  return {
    d: r.deliveries.filter((x) => keep(x.frame)).map((x) => `${x.chassis} ${x.lport} ${toHex(x.frame)}`).sort(),
    u: r.underlay.filter((x) => keep(x.frame)).map((x) => `${x.from} ${masked(x.frame)}`).sort(),
  };
}
function ourSide(r: RunResult, keep: (f: Uint8Array) => boolean): { d: string[]; u: string[] } {
  return {
    d: r.deliveries.filter((x) => keep(x.frame)).map((x) => `${x.chassis} ${x.port} ${toHex(x.frame)}`).sort(),
    u: r.underlay.filter((x) => keep(x.frame)).map((x) => `${x.from} ${masked(x.frame)}`).sort(),
  };
}

/** IGMP_Group rows as comparable lines. */
function igmpLines(sb: SbDatabase): string[] {
  return sb.igmpGroups.map((g) => `${g.chassis?.name ?? '-'} ${g.datapath?.name ?? '-'} ${g.address} [${g.ports.map((p) => p.logicalPort).sort().join(' ')}]`).sort();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(req.skip)('IGMP/MLD snooping vs a real OVN cluster (lr-mcast)', () => {
  const c = readChassisCase('lr-mcast');
  let real: OvnCluster | undefined;
  let sb: SbDatabase;
  let nb: NbDatabase;
  let startup: OvnSendResult;
  beforeAll(async () => {
    real = await startOvnCluster({ chassis: c.chassis });
    await applyChassisCase(real, c);
    // sw0's querier every second (ovn-northd's minimum), so that queries show within the run.
    await real.nbctl('set', 'Logical_Switch', 'sw0', 'other_config:mcast_query_interval=1');
    await real.sync();
    await sleep(300);
    await real.collect();
    await sleep(1500);
    startup = await real.collect();
    sb = loadSb(new Uint8Array(await real.sbBackup()));
    nb = loadNb(new Uint8Array(await real.nbBackup()));
  }, 120_000);
  afterAll(async () => {
    await real?.stop();
  });

  /** The real IGMP_Group rows once they equal `want` (ovn-controller writes them a moment after the packet), or as they are after 10 s. */
  async function realIgmp(want: string[]): Promise<string[]> {
    let got: string[] = [];
    for (let i = 0; i < 100; i++) {
      got = igmpLines(loadSb(new Uint8Array(await real!.sbBackup())));
      if (JSON.stringify(got) === JSON.stringify(want)) break;
      await sleep(100);
    }
    // ovn-northd has seen them; wait for every chassis's flows.
    await real!.sync();
    await sleep(300);
    return got;
  }

  test('queries, joins, leaves and datagrams: deliveries, underlay frames and IGMP_Group rows equal', async () => {
    const ours = new ChassisCluster(sb, clusterConfig(c.map, caseSettings(c), sb), { northd: northdFor(nb) });
    // sw0's querier (IGMP and MLD; sw1 has no querier, sw2 and sw3 no addresses) on each chassis
    // with a port of sw0, to that chassis's ports only: the distinct frames each port got from
    // it within 1.5 s of the real cluster, and within our next query interval on the virtual clock.
    // (Real ovn-controller's first query, sent as snooping starts, goes out before its flows are
    // installed and is lost; ours is sent through the installed flows.)
    const uniq = (xs: string[]) => [...new Set(xs)].sort();
    ours.run();
    ours.clock.advance(1000);
    const oq = ourSide(ours.run(), isQuery);
    const rq = realSide(startup, isQuery);
    expect(oq.d.length, 'queries delivered').toBeGreaterThan(0);
    expect(uniq(oq.d)).toEqual(uniq(rq.d));
    expect(uniq(oq.u)).toEqual(uniq(rq.u));
    console.log(`[mcast] queries: ${oq.d.length} deliveries (${uniq(oq.d).length} distinct) identical, ${oq.u.length} underlay frames`);

    const rng = new Rng(SEED);
    const groups = ['239.1.1.1', '239.2.2.2', '224.0.0.251', 'ff0e::1234', 'ff05::99'];
    const senders = () => {
      const xs = Object.keys(VM);
      for (let i = xs.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [xs[i], xs[j]] = [xs[j]!, xs[i]!];
      }
      return xs;
    };
    const steps: { what: string; from: string; frame: Uint8Array; igmp: boolean }[] = [];
    const add = (what: string, from: string, frame: Uint8Array, igmp = true) => steps.push({ what, from, frame, igmp });
    const datagrams = () => {
      for (const g of groups) for (const s of senders().slice(0, 3)) add(`datagram ${s} -> ${g}`, s, datagram(s, g), false);
    };
    datagrams();
    add('vm1 IGMPv3 join 239.1.1.1', 'vm1', igmp3('vm1', '239.1.1.1', 4));
    add('vm4 IGMPv3 join 239.1.1.1', 'vm4', igmp3('vm4', '239.1.1.1', 4));
    add('vm5 IGMPv2 join 239.2.2.2', 'vm5', igmp2('vm5', '239.2.2.2'));
    add('vm2 IGMPv2 join 239.2.2.2 (mcast_flood port)', 'vm2', igmp2('vm2', '239.2.2.2'));
    add('vm6 IGMPv3 join 239.1.1.1 (no relay)', 'vm6', igmp3('vm6', '239.1.1.1', 2));
    add('vm1 MLDv1 join ff0e::1234', 'vm1', mld('vm1', 'ff0e::1234', 'reportV1'));
    add('vm3 MLDv2 join ff05::99', 'vm3', mld('vm3', 'ff05::99', 'reportV2'));
    add('vm1 IGMPv2 join 224.0.0.251 (local scope)', 'vm1', igmp2('vm1', '224.0.0.251'));
    datagrams();
    add('vm4 IGMP query (a multicast router)', 'vm4', igmpQuery('vm4'));
    add('vm1 IGMPv3 leave 239.1.1.1', 'vm1', igmp3('vm1', '239.1.1.1', 3));
    add('vm5 IGMPv2 leave 239.2.2.2', 'vm5', igmp2('vm5', '239.2.2.2', true));
    add('vm1 MLDv1 done ff0e::1234', 'vm1', mld('vm1', 'ff0e::1234', 'done'));
    datagrams();

    let delivered = 0;
    let underlay = 0;
    let rows = 0;
    for (const s of steps) {
      const r = await real!.send(c.map.bindings.get(s.from)!, s.from, s.frame);
      const o = ours.send(s.from, s.frame);
      const keep = (f: Uint8Array) => !timerFrame(f) && !isQuery(f);
      const rs = realSide(r, keep);
      const os = ourSide(o, keep);
      expect(os.d, `deliveries of "${s.what}"`).toEqual(rs.d);
      expect(os.u, `underlay frames of "${s.what}"`).toEqual(rs.u);
      delivered += os.d.length;
      underlay += os.u.length;
      if (s.igmp) {
        const want = igmpLines(ours.sb);
        expect(await realIgmp(want), `IGMP_Group rows after "${s.what}"`).toEqual(want);
        rows += want.length;
      }
    }
    console.log(`[mcast] seed ${SEED}: ${steps.length} steps, ${delivered} deliveries and ${underlay} underlay frames identical, ${rows} IGMP_Group rows equal`);
    expect(delivered).toBeGreaterThan(0);
  }, 600_000);
});
