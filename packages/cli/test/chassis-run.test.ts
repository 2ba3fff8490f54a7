/**
 * `ovnts chassis-run`: one chassis per process, Geneve over real UDP on loopback (issue 9 item 3,
 * second half).
 *
 * - The multi-process differential: for several fixture topologies (fixtures/chassis), every
 *   chassis runs as its own `ovnts chassis-run` process on 127.0.0.N; the same seeded frames
 *   (`ovnTestFrames`) go in one at a time, and each frame's deliveries per logical port and the
 *   Geneve frames the tunnel ports sent must be byte-identical to what the in-process
 *   `ChassisCluster` gives for the same southbound database, bindings and encap addresses. Rows
 *   one chassis learns are relayed to the others by the driver (`ChassisProcCluster`); lr-basic
 *   adds a packet held on one chassis until a MAC binding learnt on another reaches it.
 * - `--pcap` records the frames as they were on the wire (lr-basic): what one chassis sent is
 *   what the other received; tshark decodes them as Geneve; every chassis exits 0 on SIGTERM.
 * - The JSON-lines protocol in process (send, stats, bad lines, stop), and bad arguments with the
 *   exit statuses of the other commands.
 * Every process the test starts is stopped by pid, also when a test fails.
 * CHASSIS_PROCS_N (default 12) and CHASSIS_PROCS_SEED (default 1) choose the frames;
 * CHASSIS_PROCS_ALL=1 runs five topologies instead of three.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readCapture } from '@ovnts/capture';
import { ChassisCluster, clusterConfig } from '@ovnts/chassis';
import { loadSbFile } from '@ovnts/ovn';
import { PacketBuilder, toHex, u16, u32 } from '@ovnts/packet';
import { CHASSIS_FIXTURES, ChassisProcCluster, ChassisProcError, Rng, type ChassisProcResult, ovnTestFrames, readChassisCase, requireTools } from '@ovnts/testkit';
import { BufferIo } from '../src/io.js';
import { main } from '../src/main.js';

const N = Number(process.env.CHASSIS_PROCS_N ?? 12);
const SEED = Number(process.env.CHASSIS_PROCS_SEED ?? 1);
const tsh = requireTools('tshark decoding the chassis-run pcap', ['tshark'], 'apt-get install -y tshark');
const tmp = mkdtempSync(join(tmpdir(), 'ovnts-chassis-run-'));
const clusters: ChassisProcCluster[] = [];
afterAll(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
  rmSync(tmp, { recursive: true, force: true });
});

// fixtures lr-basic: vm1 (00:..:01, 10.0.0.11) on hv1; vm2 (00:..:02, 10.0.0.12) and vm3 on hv2.
const l2 = new PacketBuilder().ethernet({ src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02' }).ipv4({ src: '10.0.0.11', dst: '10.0.0.12', ttl: 64 }).udp({ srcPort: 1234, dstPort: 5678 }).payload('over udp').build();

/**
 * A MAC binding learnt on one chassis that another needs (lr-basic): vm1@hv1 sends to 10.0.1.99,
 * which lr0 (run on hv1) does not know: hv1 holds the packet and broadcasts an ARP request on
 * sw1 (vm3@hv2 gets it). vm3 answers for 10.0.1.99 with its own MAC (sw1 forwards only to known
 * MACs); lr0 runs on hv2 for the reply and learns the
 * binding there. Only once the row reaches hv1 (the driver relays it, as the southbound database
 * would) does hv1 send the packet it held.
 */
const learning = [
  { from: 'vm1', what: 'UDP to unknown 10.0.1.99 (held, ARP sent)', frame: new PacketBuilder().ethernet({ src: '00:00:00:00:00:01', dst: '00:00:00:00:ff:01' }).ipv4({ src: '10.0.0.11', dst: '10.0.1.99', ttl: 64 }).udp({ srcPort: 1, dstPort: 2 }).payload('held').build() },
  { from: 'vm3', what: 'ARP reply for 10.0.1.99 (learnt on hv2)', frame: new PacketBuilder().ethernet({ src: '00:00:00:00:00:03', dst: '00:00:00:00:ff:02' }).arp({ op: 2, sha: '00:00:00:00:00:03', spa: '10.0.1.99', tha: '00:00:00:00:ff:02', tpa: '10.0.1.1' }).build() },
];

/** A Geneve port for a case: distinct per case and per test run, away from 6081. */
function portFor(i: number, attempt: number): number {
  return 20000 + ((process.pid * 97 + i * 1009 + attempt * 7919) % 40000);
}

/** The chassis of a case on 127.0.0.1, .2, ... (every chassis of its header, VIFs or not). */
function loopbackEncaps(name: string): Record<string, string> {
  return Object.fromEntries(readChassisCase(name).chassis.map((c, i) => [c.name, `127.0.0.${i + 1}`]));
}

/** Start one process per chassis of a case, retrying once on another port when the port is taken. */
async function startCase(name: string, i: number, extra: { pcapDir?: string } = {}): Promise<{ cluster: ChassisProcCluster; port: number }> {
  const c = readChassisCase(name);
  const chassis = c.chassis.map((x) => x.name);
  for (let attempt = 0; ; attempt++) {
    const port = portFor(i, attempt);
    try {
      const cluster = await ChassisProcCluster.start(chassis, {
        dbFile: join(CHASSIS_FIXTURES, `${name}.sb.db`),
        mapFile: join(CHASSIS_FIXTURES, 'cases', `${name}.map`),
        port,
        encap: loopbackEncaps(name),
        tunnels: true,
        ...extra,
      });
      clusters.push(cluster);
      return { cluster, port };
    } catch (e) {
      if (attempt < 2 && e instanceof ChassisProcError && /cannot listen/.test(e.message)) continue;
      throw e;
    }
  }
}

// lr-basic (routed, two chassis, its processes write pcaps), nested-ha (three chassis, HA
// gateway, containers) and ls-simple-2hv under CI; CHASSIS_PROCS_ALL=1 adds lr-mcast and ovnk-small.
const CASES = process.env.CHASSIS_PROCS_ALL ? ['lr-basic', 'nested-ha', 'ls-simple-2hv', 'lr-mcast', 'ovnk-small'] : ['lr-basic', 'nested-ha', 'ls-simple-2hv'];

describe('chassis-run: chassis in separate processes, Geneve over real UDP, vs the in-process cluster', () => {
  console.log(`chassis-run differential: seed ${SEED} (CHASSIS_PROCS_SEED), ${N} frames per case (CHASSIS_PROCS_N)`);
  let delivered = 0;
  let tunnelled = 0;
  let learnt = 0;
  for (const [i, name] of CASES.entries()) {
    test(`${name}: deliveries and Geneve frames byte-identical, frame by frame`, async () => {
      const c = readChassisCase(name);
      const sb = loadSbFile(join(CHASSIS_FIXTURES, `${name}.sb.db`));
      const settings = Object.fromEntries(Object.entries(loopbackEncaps(name)).map(([k, ip]) => [k, { encapIp: ip }]));
      const pcapDir = name === 'lr-basic' ? tmp : undefined;
      const { cluster: procs, port } = await startCase(name, i, pcapDir ? { pcapDir } : {});
      // The same configuration the processes derive from the same files and --encap settings.
      const ours = new ChassisCluster(sb, clusterConfig(c.map, settings, sb), { genevePort: port });
      const frames = ovnTestFrames(sb, new Set(c.map.bindings.keys()), new Rng(SEED + i), N);
      expect(frames.length).toBe(N);
      if (name === 'lr-basic') frames.push(...learning);
      let crossed = 0;
      let last: ChassisProcResult | undefined;
      for (const f of frames) {
        const chassis = c.map.bindings.get(f.from)!;
        const o = ours.send(f.from, f.frame);
        const r = await procs.send(chassis, f.from, toHex(f.frame));
        const od = o.deliveries.map((d) => `${d.chassis} ${d.port} ${toHex(d.frame)}`).sort();
        const rd = r.deliveries.map((d) => `${d.chassis} ${d.port} ${d.frame}`).sort();
        const ou = o.underlay.filter((u) => u.network === 'geneve').map((u) => `${u.from} -> ${u.to} ${toHex(u.frame)}`).sort();
        const ru = r.tunnels.map((u) => `${u.from} -> ${u.to} ${u.frame}`).sort();
        expect(rd, `${name}: deliveries of "${f.what}"`).toEqual(od);
        expect(ru, `${name}: Geneve frames of "${f.what}"`).toEqual(ou);
        delivered += rd.length;
        tunnelled += ru.length;
        learnt += r.learnt;
        last = r;
        if (ru.length && rd.some((d) => !d.startsWith(`${chassis} `))) crossed++;
      }
      console.log(`${name}: ${frames.length} frames over ${c.chassis.length} processes, ${crossed} crossed chassis through UDP; all identical to the in-process cluster`);
      expect(crossed, `${name}: some frame must reach another chassis through UDP`).toBeGreaterThan(0);
      if (name === 'lr-basic') {
        // hv2 learnt 10.0.1.99 from vm3's reply; relayed to hv1, it released the packet it held.
        expect(last!.learnt).toBe(1);
        const released = last!.deliveries.filter((d) => d.port === 'vm3' && d.frame.startsWith('000000000003') && d.frame.includes('0a000163'));
        expect(released, 'the held packet, to 10.0.1.99 at vm3\'s MAC').toHaveLength(1);
      }
      if (pcapDir) {
        // A frame of lr-basic's own: vm1@hv1 -> vm2@hv2 on sw0.
        const r = await procs.send('hv1', 'vm1', toHex(l2));
        expect(r.deliveries).toEqual([{ port: 'vm2', chassis: 'hv2', frame: toHex(l2) }]);
      }
      expect(await procs.stop(), `${name}: every chassis exits 0 on SIGTERM`).toEqual(c.chassis.map(() => 0));
      if (pcapDir) checkPcaps(port, pcapDir);
    }, 180_000);
  }
  test('totals', () => {
    console.log(`chassis-run differential: ${delivered} deliveries, ${tunnelled} Geneve frames, ${learnt} learnt rows relayed`);
    expect(delivered).toBeGreaterThan(0);
    expect(tunnelled).toBeGreaterThan(0);
  });
});

/**
 * The pcaps of lr-basic's two processes: every frame one sent is a frame the other received, the
 * outer headers rebuilt from each socket's view alike; the last is l2 from hv1; tshark decodes them.
 */
function checkPcaps(port: number, dir: string): void {
  const hv1 = [...readCapture(readFileSync(join(dir, 'hv1.pcap')))].map((f) => f.data);
  const hv2 = [...readCapture(readFileSync(join(dir, 'hv2.pcap')))].map((f) => f.data);
  expect(hv1.length).toBeGreaterThan(0);
  expect(hv1.map((b) => toHex(b)).sort()).toEqual(hv2.map((b) => toHex(b)).sort());
  for (const b of hv1) {
    expect(u16(b, 34), "UDP source port: the socket's").toBe(port);
    expect(u16(b, 36), 'UDP destination port').toBe(port);
    expect([0x7f000001, 0x7f000002]).toContain(u32(b, 26));
    expect([0x7f000001, 0x7f000002]).toContain(u32(b, 30));
  }
  const last = hv1[hv1.length - 1]!;
  expect(u32(last, 26)).toBe(0x7f000001);
  expect(toHex(last.subarray(last.length - l2.length))).toBe(toHex(l2));
  if (tsh.skip) return;
  const t = spawnSync('tshark', ['-r', join(dir, 'hv1.pcap'), '-d', `udp.port==${port},geneve`, '-T', 'fields', '-e', 'geneve.vni', '-e', 'geneve.option.class'], { encoding: 'utf8' });
  expect(t.status, t.stderr).toBe(0);
  const rows = t.stdout.trim().split('\n').map((l) => l.split('\t'));
  expect(rows).toHaveLength(hv1.length);
  const keys = new Set(loadSbFile(join(CHASSIS_FIXTURES, 'lr-basic.sb.db')).datapaths.map((d) => d.tunnelKey));
  for (const [vni, cls] of rows) {
    expect(keys.has(Number(vni)), `VNI ${vni} is a datapath key`).toBe(true);
    expect(cls).toMatch(/^(0x0102|258)$/);
  }
}

/** Standard input that yields `lines` one by one, then waits for `end` before finishing. */
async function* input(lines: string[], end: Promise<void>): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder();
  for (const l of lines) yield enc.encode(`${l}\n`);
  await end;
}

describe('chassis-run in process: the JSON-lines protocol and bad arguments', () => {
  const SB = join(CHASSIS_FIXTURES, 'lr-basic.sb.db');
  const MAP = join(CHASSIS_FIXTURES, 'cases', 'lr-basic.map');

  test('send, stats, bad lines, stop', async () => {
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    const io = new BufferIo(
      input(
        [
          JSON.stringify({ send: { port: 'vm1', frame: toHex(l2) } }),
          'not json',
          JSON.stringify({ send: { port: 'vm9', frame: '00' } }),
          JSON.stringify({ send: { port: 'vm1', frame: 'xyz' } }),
          JSON.stringify({ learn: { fdb: { uuid: 'u', mac: 'x' } } }),
          JSON.stringify({ bogus: 1 }),
          JSON.stringify({ stats: {} }),
          JSON.stringify({ stop: {} }),
        ],
        done,
      ),
    );
    const port = portFor(CASES.length + 1, 0);
    const code = await main(['chassis-run', '--sb', SB, '--chassis-map', MAP, '--chassis', 'hv1', '--encap', 'hv1=127.0.0.1', '--encap', 'hv2=127.0.0.2', '--geneve-port', String(port), '--tunnels'], io);
    release();
    expect(code, io.stderr).toBe(0);
    const lines = io.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, Record<string, unknown> | string>);
    expect(lines[0]).toEqual({ ready: { chassis: 'hv1', address: '127.0.0.1', port, ports: ['vm1'] } });
    const tunnel = lines[1]!['tunnel'] as { from: string; to: string; frame: string };
    expect(tunnel.from).toBe('hv1');
    expect(tunnel.to).toBe('hv2');
    expect(tunnel.frame.endsWith(toHex(l2))).toBe(true);
    const errors = lines.filter((l) => 'error' in l).map((l) => l['error'] as string);
    expect(errors).toHaveLength(5);
    expect(errors[0]).toMatch(/stdin line 2: not JSON/);
    expect(errors[1]).toMatch(/vm9 is not bound to any chassis/);
    expect(errors[2]).toMatch(/stdin line 4: "frame" must be hex bytes/);
    expect(errors[3]).toMatch(/stdin line 5: learn: fdb: "dpKey" must be a number/);
    expect(errors[4]).toMatch(/stdin line 6: expected one of "send", "learn", "stats", "stop"/);
    // The datagram went to 127.0.0.2, where nobody listens: sent, and nothing came back.
    expect(lines.find((l) => 'stats' in l)).toEqual({ stats: { sent: 1, received: 0, dropped: 0, unsent: 0 } });
  });

  test('bad arguments: status 2 for the command line, 1 for bad files and unknown chassis, 1 when the port is taken', async () => {
    const run = async (argv: string[]) => {
      const io = new BufferIo();
      const code = await main(['chassis-run', ...argv], io);
      return { code, err: io.stderr };
    };
    let r = await run(['--sb', SB]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--chassis/);
    r = await run(['--sb', SB, '--chassis', 'hv1', '--geneve-port', '70000']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--geneve-port must be a UDP port 1-65535, not "70000"/);
    r = await run(['--sb', SB, '--chassis', 'hv1', '--encap', 'hv1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--encap must be CHASSIS=IPV4, not "hv1"/);
    r = await run(['--sb', SB, '--chassis', 'hv1', '--bind', 'localhost']);
    expect(r.code).toBe(2);
    r = await run(['--sb', SB, '--nb', SB, '--chassis', 'hv1']);
    expect(r.code).toBe(2);
    r = await run(['--sb', SB, '--chassis', 'hv1', '--no-shuffle-remotes']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--no-shuffle-remotes goes with --sb REMOTES/);
    r = await run(['--sb', 'tcp:127.0.0.1:1', '--chassis', 'hv1', '--encap-ip', '127.0.0.1', '--probe-interval', '500']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--probe-interval must be 0 or a number of milliseconds >= 1000, not "500"/);
    r = await run(['--sb', SB, '--chassis-map', MAP, '--chassis', 'hv7']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/chassis hv7 is neither in the chassis map nor in the southbound database \(known: hv1, hv2\)/);
    r = await run(['--sb', join(tmp, 'missing.db'), '--chassis', 'hv1']);
    expect(r.code).toBe(1);
    const badMap = join(tmp, 'bad.map');
    writeFileSync(badMap, 'vm1 hv1 not-an-ip\n');
    r = await run(['--sb', SB, '--chassis-map', badMap, '--chassis', 'hv1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.map:1: "not-an-ip" is not an IPv4 address/);
    // A port someone else holds: a clear error, status 1.
    const port = portFor(CASES.length + 2, 0);
    const holder = createSocket('udp4');
    await new Promise<void>((res) => holder.bind(port, '127.0.0.1', () => res()));
    try {
      r = await run(['--sb', SB, '--chassis-map', MAP, '--chassis', 'hv1', '--encap', 'hv1=127.0.0.1', '--geneve-port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`chassis hv1: cannot listen on UDP 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      holder.close();
    }
  });
});
