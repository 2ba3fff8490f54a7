/**
 * Scale-out as OVN scales: three `ovnts chassis-run` processes, each in its own network namespace
 * (a host) on a bridged LAN, share a real 3-member Raft-clustered southbound ovsdb-server that
 * real ovn-northd fills from a real northbound ovsdb-server configured with ovn-nbctl. Each
 * chassis follows the database over TCP from a different member, registers its Chassis and Encap
 * rows and claims its ports (ovn-northd then reports them up in the northbound database). Frames
 * injected at a port cross the namespaces as Geneve over real UDP, and their deliveries and
 * Geneve frames are byte-identical to an in-process `ChassisCluster` on the same southbound
 * database. Then the cluster's leader is killed: frames still cross, the chassis on the killed
 * member moves to another one, a northbound change made after the kill (a new port) reaches
 * every chassis (`ovn-nbctl --wait=hv` returns: each reported nb_cfg) and is claimed, no binding is lost, and the restarted member rejoins with the
 * change. Processes are stopped by pid and the namespaces and bridge deleted, also on failure.
 */
import { execFileSync } from 'node:child_process';
import { assert, describe, expect, test } from 'vitest';
import { sbFromRaw, type SbDatabase } from '@ovnts/ovn';
import { OvsdbClient, OvsdbReplica } from '@ovnts/ovsdb';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { ChassisCluster, clusterConfig, southboundChassisMap } from '@ovnts/chassis';
import {
  ChassisProc,
  ChassisProcCluster,
  OVN_NB_SCHEMA_FILE,
  OVN_SB_SCHEMA_FILE,
  RealNorthd,
  RealOvsdb,
  RealOvsdbCluster,
  createBridgeNet,
  requireNetns,
  requireOvsdbServer,
  requireTools,
  type BridgeNet,
  type ChassisLine,
} from '@ovnts/testkit';

const reqs = [requireNetns('scale-out'), requireOvsdbServer('scale-out'), requireTools('scale-out', ['ovn-northd', 'ovn-nbctl'], 'apt-get install -y ovn-central')];
const SB = 'OVN_Southbound';

const mac = (n: number) => `00:00:00:00:00:0${n}`;
const l2 = (from: number, to: number) => new PacketBuilder().ethernet({ src: mac(from), dst: mac(to) }).ipv4({ src: `10.0.0.${from}`, dst: `10.0.0.${to}`, ttl: 64 }).udp({ srcPort: 1000 + from, dstPort: 2000 + to }).payload(`l2 ${from}->${to}`).build();
const routed = (from: number, fromNet: number, to: string) =>
  new PacketBuilder().ethernet({ src: mac(from), dst: `00:00:00:00:ff:0${fromNet + 1}` }).ipv4({ src: `10.0.${fromNet}.${from}`, dst: to, ttl: 64 }).udp({ srcPort: 7, dstPort: 9 }).payload(`routed ${from}->${to}`).build();

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000, state: () => string = () => ''): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`scale-out: no ${what} within ${timeoutMs} ms ${state()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The southbound database as the cluster serves it now (from any member that qualifies). */
async function snapshot(remotes: readonly string[]): Promise<SbDatabase> {
  const rep = await OvsdbReplica.connect(remotes, SB);
  try {
    return sbFromRaw(rep.db.toRawDb());
  } finally {
    rep.close();
  }
}

/** The bindings a chassis process last synchronised to. */
function lastBindings(p: ChassisProc): Record<string, string> | undefined {
  const s = p.lines.filter((l): l is ChassisLine & { sync: { bindings: Record<string, string> } } => 'sync' in l).at(-1);
  return s?.sync.bindings;
}

describe.skipIf(reqs.some((r) => r.skip))('chassis processes in namespaces on a clustered southbound database', () => {
  test('frames cross as in process; a killed leader loses nothing; the member rejoins', async () => {
    let net: BridgeNet | undefined;
    let sbc: RealOvsdbCluster | undefined;
    let nb: RealOvsdb | undefined;
    let northd: RealNorthd | undefined;
    const procs: ChassisProc[] = [];
    try {
      net = createBridgeNet('sbraft', 3);
      sbc = await RealOvsdbCluster.start({ schemaFile: OVN_SB_SCHEMA_FILE, tcpAddress: net.address });
      nb = await RealOvsdb.start({ schemaFile: OVN_NB_SCHEMA_FILE });
      northd = RealNorthd.start(nb.remote, sbc.remotes.join(','), sbc.dir);
      const nbRemote = nb.remote;
      const nbctl = (...args: string[]) => execFileSync('ovn-nbctl', [`--db=${nbRemote}`, '--timeout=30', ...args], { encoding: 'utf8' }).trim();
      nbctl('ls-add', 'sw0', '--', 'ls-add', 'sw1', '--', 'lr-add', 'lr0');
      nbctl('lrp-add', 'lr0', 'lr0-sw0', '00:00:00:00:ff:01', '10.0.0.254/24', '--', 'lrp-add', 'lr0', 'lr0-sw1', '00:00:00:00:ff:02', '10.0.1.254/24');
      for (const [sw, lrp] of [['sw0', 'lr0-sw0'], ['sw1', 'lr0-sw1']] as const) {
        nbctl('lsp-add', sw, `${sw}-lr0`, '--', 'lsp-set-type', `${sw}-lr0`, 'router', '--', 'lsp-set-addresses', `${sw}-lr0`, 'router', '--', 'lsp-set-options', `${sw}-lr0`, `router-port=${lrp}`);
      }
      nbctl('lsp-add', 'sw0', 'vm1', '--', 'lsp-set-addresses', 'vm1', `${mac(1)} 10.0.0.1`);
      nbctl('lsp-add', 'sw0', 'vm2', '--', 'lsp-set-addresses', 'vm2', `${mac(2)} 10.0.0.2`);
      nbctl('lsp-add', 'sw1', 'vm3', '--', 'lsp-set-addresses', 'vm3', `${mac(3)} 10.0.1.3`);

      // Chassis hvN in namespace N, following member N-1 first (the list rotated, not shuffled, so
      // the test knows which chassis follows the leader it kills), claiming its VIFs.
      const tcp = sbc.tcpRemotes;
      const vifs = [['vm1'], ['vm2'], ['vm3', 'vm4']];
      const started = await Promise.allSettled(
        [0, 1, 2].map((i) => {
          const remotes = [...tcp.slice(i), ...tcp.slice(0, i)].join(',');
          const args = ['chassis-run', '--sb', remotes, '--chassis', `hv${i + 1}`, '--encap-ip', net!.hosts[i]!.address, '--no-shuffle-remotes', '--tunnels', ...vifs[i]!.flatMap((v) => ['--vif', v])];
          return ChassisProc.spawn(`hv${i + 1}`, args, { netns: net!.hosts[i]!.ns });
        }),
      );
      for (const r of started) if (r.status === 'fulfilled') procs.push(r.value);
      for (const r of started) if (r.status === 'rejected') throw r.reason;
      const cluster = ChassisProcCluster.of(procs);
      for (const [i, p] of procs.entries()) expect(p.lines.find((l) => 'sb' in l && 'connected' in (l['sb'] as object))?.['sb']).toEqual({ connected: tcp[i], resumed: false });

      // ovn-northd reports each port up once its chassis claimed it and installed its flows.
      const isUp = (lport: string) => nbctl('get', 'Logical_Switch_Port', lport, 'up') === 'true';
      await until('vm1..vm3 up', () => ['vm1', 'vm2', 'vm3'].every(isUp));
      const want3 = { vm1: 'hv1', vm2: 'hv2', vm3: 'hv3' };
      await until('every chassis synchronised to the three bindings', () => procs.every((p) => JSON.stringify(lastBindings(p)) === JSON.stringify(want3)), 60_000, () => JSON.stringify(procs.map((p) => p.lines.slice(-6))));

      /** The in-process cluster on the database as it is now (built anew when it changed). */
      let reference: { key: string; cluster: ChassisCluster } | undefined;
      const inProcess = async (remotes: readonly string[]) => {
        const sb = await snapshot(remotes);
        const key = JSON.stringify(sb.portBindings.map((p) => [p.logicalPort, p.chassis?.name]));
        if (reference?.key !== key) reference = { key, cluster: new ChassisCluster(sb, clusterConfig(southboundChassisMap(sb), {}, sb)) };
        return { sb, cluster: reference.cluster };
      };
      /** Send `frame` at `lport` through the processes and through the in-process cluster; both must agree. */
      const compare = async (lport: string, frame: Uint8Array, remotes: readonly string[]) => {
        const { sb, cluster: refCluster } = await inProcess(remotes);
        const ref = refCluster.send(lport, frame);
        const owner = sb.portBindings.find((p) => p.logicalPort === lport)!.chassis!.name;
        const got = await cluster.send(owner, lport, toHex(frame));
        const norm = <T>(xs: T[]) => xs.map((x) => JSON.stringify(x)).sort();
        expect(norm(got.deliveries), `deliveries of a frame from ${lport}`).toEqual(norm(ref.deliveries.map((d) => ({ port: d.port, chassis: d.chassis, frame: toHex(d.frame) }))));
        expect(norm(got.tunnels), `Geneve frames of a frame from ${lport}`).toEqual(norm(ref.underlay.filter((u) => u.network === 'geneve').map((u) => ({ from: u.from, to: u.to ?? null, frame: toHex(u.frame) }))));
        expect(got.deliveries.length).toBeGreaterThan(0);
        return got;
      };

      const sb0 = await snapshot(sbc.remotes);
      expect(sb0.chassis.map((c) => [c.name, c.encaps.map((e) => `${e.type} ${e.ip}`)]).sort()).toEqual([1, 2, 3].map((n) => [`hv${n}`, [`geneve ${net!.hosts[n - 1]!.address}`]]));
      const r12 = await compare('vm1', l2(1, 2), sbc.remotes);
      expect(r12.deliveries.map((d) => [d.port, d.chassis])).toEqual([['vm2', 'hv2']]);
      expect(r12.tunnels.map((t) => [t.from, t.to])).toEqual([['hv1', 'hv2']]);
      const r13 = await compare('vm1', routed(1, 0, '10.0.1.3'), sbc.remotes);
      expect(r13.deliveries.map((d) => [d.port, d.chassis])).toEqual([['vm3', 'hv3']]);
      await compare('vm3', routed(3, 1, '10.0.0.2'), sbc.remotes);

      // Kill the leader (a crash). Frames keep crossing; the chassis that followed it moves on.
      const leader = sbc.leader()!;
      expect(leader).toBeDefined();
      await sbc.kill(leader);
      const alive = sbc.remotes.filter((_, i) => i !== leader);
      const moved = procs[leader]!;
      await compare('vm1', l2(1, 2), alive);
      await until(`hv${leader + 1} on another member`, () => moved.lines.some((l) => 'sb' in l && (l['sb'] as { connected?: string }).connected !== undefined && (l['sb'] as { connected?: string }).connected !== tcp[leader]));
      expect(moved.lines.some((l) => 'sb' in l && (l['sb'] as { disconnected?: string }).disconnected === tcp[leader])).toBe(true);

      // A northbound change after the kill reaches every chassis: vm4 appears, hv3 claims it.
      // `--wait=hv` returns once every chassis reported (Chassis_Private.nb_cfg) that its tables
      // reflect it, as ovn-controller reports (it fails after --timeout otherwise).
      nbctl('--wait=hv', 'lsp-add', 'sw0', 'vm4', '--', 'lsp-set-addresses', 'vm4', `${mac(4)} 10.0.0.4`);
      await until('vm4 up', () => isUp('vm4'));
      const want4 = { ...want3, vm4: 'hv3' };
      await until('every chassis synchronised to vm4 on hv3', () => procs.every((p) => JSON.stringify(lastBindings(p)) === JSON.stringify(want4)), 60_000, () => JSON.stringify(procs.map((p) => p.lines.slice(-6))));
      const r14 = await compare('vm1', l2(1, 4), alive);
      expect(r14.deliveries.map((d) => [d.port, d.chassis])).toEqual([['vm4', 'hv3']]);
      await compare('vm1', routed(1, 0, '10.0.1.3'), alive);
      await compare('vm4', routed(4, 0, '10.0.1.3'), alive);
      // No binding was lost.
      const sb1 = await snapshot(alive);
      expect(sb1.portBindings.filter((p) => p.type === '').map((p) => [p.logicalPort, p.chassis?.name, p.up]).sort()).toEqual([
        ['vm1', 'hv1', true],
        ['vm2', 'hv2', true],
        ['vm3', 'hv3', true],
        ['vm4', 'hv3', true],
      ]);
      for (const p of procs) expect(p.lines.filter((l) => 'error' in l)).toEqual([]);

      // The killed member rejoins and catches up.
      await sbc.restart(leader);
      await sbc.waitConverged(30_000);
      const c = await OvsdbClient.connect(sbc.members[leader]!.remote);
      try {
        await until('vm4 on the restarted member', async () => {
          const [r] = (await c.transact(SB, { op: 'select', table: 'Port_Binding', where: [['logical_port', '==', 'vm4']], columns: ['up'] })) as [{ rows?: { up: unknown }[] }];
          return r.rows?.[0]?.up === true;
        });
      } finally {
        c.close();
      }
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
      await northd?.stop();
      await nb?.stop();
      await sbc?.stop();
      net?.cleanup();
    }
  }, 180_000);
});
