/**
 * The underlay transport seam: the in-process underlay and the real-UDP one carry the same
 * Geneve frames to the same chassis; a host runs only its local chassis; outer headers rebuilt
 * from a datagram are well-formed (IPv4 and UDP checksums, what `decapsulate` accepts); learnt
 * rows survive their JSON form; a datagram from an address with no tunnel is dropped and
 * counted; bad settings are typed errors. Two `ChassisHost`s in this process on 127.0.0.1/2.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { createSocket } from 'node:dgram';
import { DecapResult, decapsulate } from '@ovnts/geneve';
import { PacketBuilder, internetChecksum, l4ChecksumV4, toHex, u16 } from '@ovnts/packet';
import {
  ChassisCluster,
  ChassisError,
  ChassisHost,
  InProcessUnderlay,
  StaticSouthbound,
  UdpUnderlay,
  clusterConfig,
  learntRowFromJson,
  learntRowToJson,
  outerUdpFrame,
  parseChassisMap,
  type Delivery,
  type UnderlayTransport,
} from '@ovnts/chassis';
import { loadCase } from './helpers.js';

const l = loadCase('lr-basic');
const map = parseChassisMap('vm1 hv1 127.0.0.1\nvm2 hv2 127.0.0.2\nvm3 hv2\n', 'test map');
const config = clusterConfig(map, {}, l.sb);
const frame = new PacketBuilder().ethernet({ src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02' }).ipv4({ src: '10.0.0.11', dst: '10.0.0.12', ttl: 64 }).udp({ srcPort: 7, dstPort: 9 }).payload('seam').build();
const hosts: ChassisHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});
const port = () => 20000 + ((process.pid * 31 + hosts.length * 977 + Math.floor(Math.random() * 1000)) % 40000);

/** Wait until `cond()` or fail after 10 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond(), what).toBe(true);
}

describe('the underlay transport seam', () => {
  test('a custom transport sees every Geneve frame; the default in-process one delivers it', () => {
    const seen: string[] = [];
    const spy: UnderlayTransport & { inner: InProcessUnderlay } = {
      inner: new InProcessUnderlay(0.5),
      attach(e) {
        this.inner.attach(e);
      },
      send(from, to, f) {
        seen.push(`${from.name}->${to?.name} ${toHex(f)}`);
        this.inner.send(from, to, f);
      },
    };
    const a = new ChassisCluster(l.sb, config, { transport: spy });
    const b = new ChassisCluster(l.sb, config);
    const ra = a.send('vm1', frame);
    const rb = b.send('vm1', frame);
    expect(ra.deliveries.map((d) => [d.port, toHex(d.frame)])).toEqual([['vm2', toHex(frame)]]);
    expect(ra.deliveries[0]!.time).toBe(0.5);
    expect(rb.deliveries.map((d) => [d.port, toHex(d.frame)])).toEqual([['vm2', toHex(frame)]]);
    expect(seen).toEqual(ra.underlay.map((u) => `hv1->hv2 ${toHex(u.frame)}`));
  });

  test('a cluster running only some chassis: ports elsewhere are named, unknown chassis refused', () => {
    const c = new ChassisCluster(l.sb, config, { local: ['hv1'], transport: new InProcessUnderlay() });
    expect(c.nodes.map((n) => n.name)).toEqual(['hv1']);
    expect(() => c.inject('vm2', frame)).toThrow(/vm2 is bound to chassis hv2, which does not run here \(here: hv1\)/);
    // Nothing local owns hv2's address: the frame is recorded, not delivered.
    const r = c.send('vm1', frame);
    expect(r.deliveries).toEqual([]);
    expect(r.underlay.map((u) => u.to)).toEqual(['hv2']);
    expect(() => new ChassisCluster(l.sb, config, { local: ['hv9'] })).toThrow(ChassisError);
  });

  test('two hosts over real UDP deliver what the in-process cluster delivers', async () => {
    const p = port();
    const got: Delivery[] = [];
    const wire: string[] = [];
    for (const name of ['hv1', 'hv2']) {
      hosts.push(await ChassisHost.start(new StaticSouthbound('lr-basic', l.sb), config, [name], { port: p, onDeliver: (d) => got.push(d), onWire: (dir, c, f) => wire.push(`${dir} ${c} ${toHex(f)}`) }));
    }
    const [h1, h2] = hosts as [ChassisHost, ChassisHost];
    const local = h1.send('vm1', frame);
    expect(local.deliveries).toEqual([]);
    expect(local.underlay).toHaveLength(1);
    await until(() => got.length === 1, 'a delivery on hv2');
    expect(got.map((d) => [d.chassis, d.port, toHex(d.frame)])).toEqual([['hv2', 'vm2', toHex(frame)]]);
    const ref = ChassisCluster.fromMap(l.sb, map, { genevePort: p }).send('vm1', frame);
    expect(toHex(local.underlay[0]!.frame)).toBe(toHex(ref.underlay[0]!.frame));
    expect(h1.stats).toEqual({ sent: 1, received: 0, dropped: 0, unsent: 0 });
    expect(h2.stats).toEqual({ sent: 0, received: 1, dropped: 0, unsent: 0 });
    // The frame on the wire: sent by hv1, received by hv2, the same bytes; the Geneve header onward as the switch built it.
    expect(wire).toHaveLength(2);
    const [out, inn] = wire.map((w) => w.split(' ')) as [string[], string[]];
    expect([out[0], out[1], inn[0], inn[1]]).toEqual(['out', 'hv1', 'in', 'hv2']);
    expect(inn[2]).toBe(out[2]);
    expect(out[2]!.slice(84)).toBe(toHex(local.underlay[0]!.frame).slice(84));
  });

  test('a datagram from an address with no tunnel is dropped and counted', async () => {
    const p = port();
    hosts.push(await ChassisHost.start(new StaticSouthbound('lr-basic', l.sb), config, ['hv2'], { port: p }));
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.3', () => r()));
    await new Promise<void>((r) => s.send(Uint8Array.of(0, 0, 0x65, 0x58, 0, 0, 1, 0), p, '127.0.0.2', () => r()));
    s.close();
    await until(() => hosts[0]!.stats.dropped === 1, 'a dropped datagram');
    expect(hosts[0]!.stats.received).toBe(0);
  });

  test('bad settings are typed errors', async () => {
    expect(() => new UdpUnderlay([config.members[0]!], { port: 0 })).toThrow(/Geneve UDP port 0 is not 1-65535/);
    await expect(ChassisHost.start(new StaticSouthbound('x', l.sb), config, ['hv7'])).rejects.toThrow(/no chassis hv7 \(have hv1, hv2\)/);
    await expect(ChassisHost.start(new StaticSouthbound('x', l.sb), config, [])).rejects.toThrow(ChassisError);
    const p = port();
    hosts.push(await ChassisHost.start(new StaticSouthbound('x', l.sb), config, ['hv1'], { port: p }));
    await expect(ChassisHost.start(new StaticSouthbound('x', l.sb), config, ['hv1'], { port: p })).rejects.toThrow(/chassis hv1: cannot listen on UDP 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });
});

describe('outer headers and learnt rows', () => {
  test('outerUdpFrame: checksums verify, decapsulate finds the inner frame and the addresses', () => {
    const geneve = Uint8Array.of(0x02, 0, 0x65, 0x58, 0, 0, 1, 0, 0x01, 0x02, 0x80, 0x01, 0, 1, 0, 2, ...frame);
    const f = outerUdpFrame({ srcMac: 'aa:55:7f:00:00:01', dstMac: 'aa:55:7f:00:00:02', srcIp: '127.0.0.1', dstIp: '127.0.0.2', srcPort: 40000, dstPort: 6081, payload: geneve });
    expect(internetChecksum(f, 14, 20)).toBe(0);
    expect(l4ChecksumV4(f, 34, f.length - 34, 17, 0x7f000001, 0x7f000002)).toBe(0);
    expect(u16(f, 20)).toBe(0x4000);
    expect(f[22]).toBe(64);
    const r = new DecapResult();
    expect(decapsulate(f, 0, f.length, r, 6081, 4789)).toBe(true);
    expect(r.vni).toBe(1);
    expect(r.src4 >>> 0).toBe(0x7f000001);
    expect(toHex(f.subarray(r.innerOffset, r.innerOffset + r.innerLength))).toBe(toHex(frame));
  });

  test('learnt rows round-trip through JSON; bad JSON rows are named', () => {
    const dp = l.sb.datapaths.find((d) => d.name === 'lr0')!;
    const row = { macBinding: { uuid: '00000001-0000-4000-a000-000000000001', logicalPort: 'lr0-sw1', ip: '10.0.1.99', mac: '00:00:00:00:00:03', timestamp: 5, datapath: dp } };
    const json = JSON.parse(JSON.stringify(learntRowToJson(row))) as unknown;
    expect(learntRowFromJson(json, l.sb)).toEqual(row);
    const fdb = { fdb: { uuid: 'u', mac: '00:00:00:00:00:07', dpKey: 1, portKey: 2 } };
    expect(learntRowFromJson(learntRowToJson(fdb), l.sb)).toEqual(fdb);
    expect(() => learntRowFromJson({}, l.sb, 'line 3')).toThrow(/line 3: expected "macBinding" or "fdb"/);
    expect(() => learntRowFromJson({ macBinding: { ...learntRowToJson(row).macBinding, datapath: 999 } }, l.sb)).toThrow(/no datapath with tunnel key 999/);
    expect(() => learntRowFromJson({ fdb: { uuid: 'u', mac: 'm', dpKey: 'one', portKey: 2 } }, l.sb)).toThrow(/"dpKey" must be a number/);
  });
});
