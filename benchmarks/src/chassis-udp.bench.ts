/**
 * Geneve over real UDP between chassis, against the in-process cluster in the same run: frames
 * per second pod to pod across two chassis of the lr-basic fixture (the real southbound database
 * ovn-northd 23.03 wrote), three ways:
 * - baseline: `ChassisCluster.send` in this process (the in-process underlay on the virtual
 *   clock), one frame at a time, run until idle;
 * - two `ChassisHost`s in this process, one per chassis, each with its own UDP socket on
 *   127.0.0.1 / 127.0.0.2: the sending host's pipeline and encap, a real datagram through the
 *   kernel's loopback, the receiving host's decap and egress pipeline (the transport's own cost);
 * - two `ovnts chassis-run` processes (hv1, hv2), frames written to hv1's standard input as JSON
 *   lines, deliveries read from hv2's standard output (what a user or a CI test drives).
 * The UDP cases keep at most WINDOW frames in flight (a loopback socket's receive buffer drops
 * beyond a few hundred) and wait until every frame is delivered. Cases: the same switch with
 * stateful ACLs (vm1@hv1 -> vm2@hv2) and routed through lr0 (vm1@hv1 -> vm3@hv2), 1024 distinct
 * frames each (source ports vary), 2048 frames per run, runs interleaved; every frame must be
 * delivered byte-identical to the baseline's delivery before anything is timed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSbFile } from '@ovnts/ovn';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { ChassisCluster, ChassisHost, StaticSouthbound, clusterConfig, parseChassisMap, type Delivery } from '@ovnts/chassis';
import { CHASSIS_FIXTURES, ChassisProcCluster, type ChassisProc } from '@ovnts/testkit';
import { BenchmarkError, check, median, table, type Measurement } from './harness.js';

const N = 1024;
const OPS = 2048;
const RUNS = 5;
const WINDOW = 128;
const MAP = 'vm1 hv1 127.0.0.1\nvm2 hv2 127.0.0.2\nvm3 hv2\n';
const sbFile = join(CHASSIS_FIXTURES, 'lr-basic.sb.db');
const sb = loadSbFile(sbFile);
const map = parseChassisMap(MAP, 'bench map');
const config = clusterConfig(map, {}, sb);
const port = 20000 + ((process.pid * 131) % 40000);

function frames(dst: string, dstIp: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < N; i++) out.push(new PacketBuilder().ethernet({ src: '00:00:00:00:00:01', dst }).ipv4({ src: '10.0.0.11', dst: dstIp, ttl: 64 }).udp({ srcPort: 10000 + i, dstPort: 5000 }).payload('ovn-ts bench').build());
  return out;
}

interface Flow {
  readonly name: string;
  readonly to: string;
  readonly frames: Uint8Array[];
  readonly hex: string[];
  /** The baseline's delivery of each frame (hex). */
  readonly expected: string[];
}

const baseline = new ChassisCluster(sb, config, { genevePort: port });
const flows: Flow[] = [
  { name: 'same switch, stateful ACL (vm1@hv1 -> vm2@hv2)', to: 'vm2', frames: frames('00:00:00:00:00:02', '10.0.0.12') },
  { name: 'routed (vm1@hv1 -> lr0 -> vm3@hv2)', to: 'vm3', frames: frames('00:00:00:00:ff:01', '10.0.1.13') },
].map((f) => ({
  ...f,
  hex: f.frames.map((x) => toHex(x)),
  expected: f.frames.map((x, i) => {
    const r = baseline.send('vm1', x);
    check(r.deliveries.length === 1 && r.deliveries[0]!.port === f.to, `${f.name}: frame ${i} delivered to [${r.deliveries.map((d) => d.port).join(', ')}] in process`);
    return toHex(r.deliveries[0]!.frame);
  }),
}));

/** Keep up to WINDOW frames in flight: `send(i)` sends frame i, `delivered()` counts arrivals, `wait()` resolves on the next arrival (or after 1 s). */
async function pump(n: number, send: (i: number) => void, delivered: () => number, wait: () => Promise<boolean>, what: string): Promise<void> {
  let sent = 0;
  while (delivered() < n) {
    while (sent < n && sent - delivered() < WINDOW) send(sent++);
    if (!(await wait()) && sent - delivered() > 0) {
      // Nothing arrived for a second: a datagram was lost (or a process stopped).
      throw new BenchmarkError(`${what}: ${n - delivered()} of ${n} frames not delivered within a second of the last delivery`);
    }
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-bench-udp-'));
  const mapFile = join(dir, 'lr-basic.map');
  writeFileSync(mapFile, MAP);
  // In this process: two hosts on 127.0.0.1/2, port + 1.
  let hostDelivered: Delivery[] = [];
  let wake: (() => void) | undefined;
  const hosts = await Promise.all(
    ['hv1', 'hv2'].map((c) =>
      ChassisHost.start(new StaticSouthbound('lr-basic', sb), config, [c], {
        port: port + 1,
        onDeliver: (d) => {
          hostDelivered.push(d);
          wake?.();
        },
      }),
    ),
  );
  const waitHost = () =>
    new Promise<boolean>((r) => {
      const t = setTimeout(() => r(false), 1000);
      wake = () => {
        clearTimeout(t);
        wake = undefined;
        r(true);
      };
    });
  const procs = await ChassisProcCluster.start(['hv1', 'hv2'], { dbFile: sbFile, mapFile, port: port + 2 });
  try {
    const hv1 = procs.proc('hv1');
    const hv2 = procs.proc('hv2');
    const delivers = (p: ChassisProc, from: number) => p.lines.slice(from).filter((l) => 'deliver' in l);
    const waitProc = (p: ChassisProc) => {
      const before = p.lines.length;
      return p.until(() => p.lines.length > before, 1000, 'a line').then(
        () => true,
        () => false,
      );
    };
    const viaHosts = async (f: Flow, k: number, n: number) => {
      hostDelivered = [];
      await pump(n, (i) => void hosts[0]!.send('vm1', f.frames[(k + i) % N]!), () => hostDelivered.length, waitHost, `${f.name} (hosts)`);
      return hostDelivered;
    };
    const viaProcs = async (f: Flow, k: number, n: number) => {
      const mark = hv2.lines.length;
      let batch = '';
      const flush = () => {
        if (batch) hv1.writeLines(batch);
        batch = '';
      };
      await pump(
        n,
        (i) => {
          batch += `${JSON.stringify({ send: { port: 'vm1', frame: f.hex[(k + i) % N] } })}\n`;
          if (i === n - 1 || batch.length > 32_000) flush();
        },
        () => delivers(hv2, mark).length,
        () => (flush(), waitProc(hv2)),
        `${f.name} (processes)`,
      );
      return delivers(hv2, mark).map((l) => l['deliver'] as { port: string; frame: string });
    };

    // Every frame delivered where and as the in-process cluster delivers it, both ways.
    for (const f of flows) {
      const h = await viaHosts(f, 0, N);
      check(h.every((d, i) => d.port === f.to && toHex(d.frame) === f.expected[i]), `${f.name}: hosts over UDP deliver what the in-process cluster delivers`);
      const p = await viaProcs(f, 0, N);
      check(p.every((d, i) => d.port === f.to && d.frame === f.expected[i]), `${f.name}: chassis-run processes deliver what the in-process cluster delivers`);
    }
    console.log('chassis over UDP: every frame delivered byte-identical to the in-process cluster, both ways (checked before timing)');

    const rows: { m: Measurement; vs?: Measurement }[] = [];
    for (const f of flows) {
      const rates: number[][] = [[], [], []];
      let k = 0;
      for (let r = 0; r < RUNS; r++) {
        let t0 = process.hrtime.bigint();
        for (let i = 0; i < OPS; i++) baseline.send('vm1', f.frames[(k + i) % N]!);
        rates[0]!.push((OPS * 1e9) / Number(process.hrtime.bigint() - t0));
        t0 = process.hrtime.bigint();
        await viaHosts(f, k, OPS);
        rates[1]!.push((OPS * 1e9) / Number(process.hrtime.bigint() - t0));
        t0 = process.hrtime.bigint();
        await viaProcs(f, k, OPS);
        rates[2]!.push((OPS * 1e9) / Number(process.hrtime.bigint() - t0));
        k += OPS;
      }
      const base: Measurement = { name: `${f.name}: in process (baseline)`, opsPerSec: median(rates[0]!) };
      rows.push({ m: base });
      rows.push({ m: { name: `${f.name}: two ChassisHosts over UDP`, opsPerSec: median(rates[1]!) }, vs: base });
      rows.push({ m: { name: `${f.name}: two chassis-run processes over UDP`, opsPerSec: median(rates[2]!) }, vs: base });
    }
    table(`chassis over real UDP (loopback) vs the in-process cluster, ${OPS} frames per run, window ${WINDOW}, median of ${RUNS} interleaved runs`, rows);
    const s1 = await hv1.stats();
    const s2 = await hv2.stats();
    console.log(`chassis-run datagrams: hv1 sent ${s1.sent}, hv2 received ${s2.received} (dropped ${s2.dropped})`);
  } finally {
    await procs.stop();
    await Promise.all(hosts.map((h) => h.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
