/**
 * Scale-out control-plane latency: the time from a northbound change to every chassis having
 * its flows for it, as `ovn-nbctl --wait=hv` measures it (it returns when every chassis has
 * reported, in `Chassis_Private.nb_cfg`, that its tables reflect the change), on one real
 * 3-member Raft southbound ovsdb-server filled by real ovn-northd:
 * - baseline: real ovn-controller 23.03 (three chassis, each its own Open_vSwitch ovsdb-server
 *   and ovs-vswitchd on the dummy datapath, following the cluster);
 * - three `ovnts chassis-run --sb ...` processes on the same cluster (after the real chassis are
 *   stopped and their rows deleted);
 * and, in both phases, `ovn-nbctl --wait=sb` (northd alone) for reference. Each change adds one
 * port to a switch every chassis has (a router joins both switches, so every datapath is local
 * everywhere). Medians over ROUNDS changes per phase, the two phases in the same run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChassisProc, OVN_NB_SCHEMA_FILE, OVN_SB_SCHEMA_FILE, RealNorthd, RealOvsdb, RealOvsdbCluster, reapPids, requireOvsdbServer } from '@ovnts/testkit';
import { BenchmarkError, median } from './harness.js';

const ROUNDS = Number(process.env['SCALE_OUT_ROUNDS'] ?? 15);
const CHASSIS = ['hv1', 'hv2', 'hv3'];
const VIFS: Record<string, string[]> = { hv1: ['vm1'], hv2: ['vm2'], hv3: ['vm3'] };

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Real ovn-controller chassis: Open_vSwitch ovsdb-server, ovs-vswitchd (dummy datapath), ovn-controller; their pids. */
function startRealChassis(dir: string, name: string, ip: string, sbRemotes: string): number[] {
  const d = join(dir, name);
  mkdirSync(d);
  const env = { ...process.env, OVS_RUNDIR: d, OVS_LOGDIR: d, OVS_DBDIR: d, OVS_SYSCONFDIR: d, OVN_RUNDIR: d, OVN_LOGDIR: d };
  const pids: number[] = [];
  const pid = (f: string) => Number(readFileSync(join(d, f), 'utf8').trim());
  sh('ovsdb-tool', ['create', join(d, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema'], env);
  sh('/usr/sbin/ovsdb-server', ['--detach', '--no-chdir', `--pidfile=${d}/ovsdb-server.pid`, `--log-file=${d}/ovsdb-server.log`, `--remote=punix:${d}/db.sock`, `--unixctl=${d}/ovsdb-server.ctl`, join(d, 'conf.db')], env);
  pids.push(pid('ovsdb-server.pid'));
  const vs = (...a: string[]) => sh('ovs-vsctl', [`--db=unix:${d}/db.sock`, '--timeout=30', ...a], env);
  vs('--no-wait', 'init');
  sh('/usr/sbin/ovs-vswitchd', ['--enable-dummy=system', '--disable-system', '--detach', '--no-chdir', `--pidfile=${d}/ovs-vswitchd.pid`, `--log-file=${d}/ovs-vswitchd.log`, `--unixctl=${d}/ovs-vswitchd.ctl`, `unix:${d}/db.sock`], env);
  pids.push(pid('ovs-vswitchd.pid'));
  vs('set', 'Open_vSwitch', '.', `external-ids:system-id=${name}`, `external-ids:hostname=${name}`, `external-ids:ovn-remote=${sbRemotes}`, 'external-ids:ovn-encap-type=geneve', `external-ids:ovn-encap-ip=${ip}`,
    '--', '--may-exist', 'add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'fail-mode=secure', 'other-config:disable-in-band=true', 'datapath_type=dummy');
  for (const [i, v] of VIFS[name]!.entries()) vs('add-port', 'br-int', v, '--', 'set', 'Interface', v, 'type=dummy', `external-ids:iface-id=${v}`, `ofport_request=${i + 1}`);
  sh('ovn-controller', ['--detach', '--no-chdir', `--pidfile=${d}/ovn-controller.pid`, `--log-file=${d}/ovn-controller.log`, `unix:${d}/db.sock`], env);
  pids.push(pid('ovn-controller.pid'));
  return pids;
}

async function main(): Promise<void> {
  const req = requireOvsdbServer('scale-out bench');
  if (req.skip) {
    console.log(`scale-out: skipped (${req.reason})`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-bench-scale-'));
  const sbc = await RealOvsdbCluster.start({ schemaFile: OVN_SB_SCHEMA_FILE });
  const nb = await RealOvsdb.start({ schemaFile: OVN_NB_SCHEMA_FILE });
  const northd = RealNorthd.start(nb.remote, sbc.remotes.join(','), sbc.dir);
  const sbRemotes = sbc.remotes.join(',');
  const daemons: number[] = [];
  const procs: ChassisProc[] = [];
  const nbctl = (...a: string[]) => sh('ovn-nbctl', [`--db=${nb.remote}`, '--timeout=60', ...a]);
  const sbctl = (...a: string[]) => sh('ovn-sbctl', [`--db=${sbRemotes}`, '--timeout=60', ...a]);
  let seq = 0;
  /** Milliseconds of `ovn-nbctl --wait=WAIT lsp-add` of a new port, ROUNDS times; the median. */
  const changes = (wait: 'sb' | 'hv') => {
    const ms: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const p = `p${++seq}`;
      const t = performance.now();
      nbctl(`--wait=${wait}`, 'lsp-add', 'sw0', p, '--', 'lsp-set-addresses', p, `00:00:00:01:${((seq >> 8) & 0xff).toString(16).padStart(2, '0')}:${(seq & 0xff).toString(16).padStart(2, '0')} 10.0.${100 + (seq >> 8)}.${(seq & 0xff) + 1}`);
      ms.push(performance.now() - t);
    }
    return median(ms);
  };
  const allUp = () => ['vm1', 'vm2', 'vm3'].every((v) => nbctl('get', 'Logical_Switch_Port', v, 'up') === 'true');
  const waitUp = async (what: string) => {
    for (let i = 0; i < 600 && !allUp(); i++) await new Promise((r) => setTimeout(r, 100));
    if (!allUp()) throw new BenchmarkError(`scale-out: ${what}: vm1..vm3 not up within 60 s`);
  };
  try {
    nbctl('ls-add', 'sw0', '--', 'ls-add', 'sw1', '--', 'lr-add', 'lr0');
    nbctl('lrp-add', 'lr0', 'lr0-sw0', '00:00:00:00:ff:01', '10.0.0.254/16', '--', 'lrp-add', 'lr0', 'lr0-sw1', '00:00:00:00:ff:02', '10.1.0.254/24');
    for (const [sw, lrp] of [['sw0', 'lr0-sw0'], ['sw1', 'lr0-sw1']] as const) nbctl('lsp-add', sw, `${sw}-lr0`, '--', 'lsp-set-type', `${sw}-lr0`, 'router', '--', 'lsp-set-addresses', `${sw}-lr0`, 'router', '--', 'lsp-set-options', `${sw}-lr0`, `router-port=${lrp}`);
    nbctl('lsp-add', 'sw0', 'vm1', '--', 'lsp-set-addresses', 'vm1', '00:00:00:00:00:01 10.0.0.1');
    nbctl('lsp-add', 'sw0', 'vm2', '--', 'lsp-set-addresses', 'vm2', '00:00:00:00:00:02 10.0.0.2');
    nbctl('lsp-add', 'sw1', 'vm3', '--', 'lsp-set-addresses', 'vm3', '00:00:00:00:00:03 10.1.0.3');

    // Baseline: real ovn-controller.
    for (const [i, c] of CHASSIS.entries()) daemons.push(...startRealChassis(dir, c, `192.168.77.${i + 1}`, sbRemotes));
    await waitUp('ovn-controller');
    changes('hv'); // warm-up
    const realSb = changes('sb');
    const realHv = changes('hv');
    await reapPids(daemons.splice(0));
    for (const c of CHASSIS) sbctl('chassis-del', c);

    // ovn-ts chassis processes on the same cluster.
    const port = 20000 + ((process.pid * 131) % 40000);
    for (const [i, c] of CHASSIS.entries()) {
      procs.push(await ChassisProc.spawn(c, ['chassis-run', '--sb', sbRemotes, '--chassis', c, '--encap-ip', `127.0.0.${i + 1}`, '--geneve-port', String(port), ...VIFS[c]!.flatMap((v) => ['--vif', v])]));
    }
    await waitUp('ovnts chassis-run');
    changes('hv'); // warm-up
    const oursSb = changes('sb');
    const oursHv = changes('hv');
    const flows = procs.map((p) => {
      const s = p.lines.filter((l) => 'sync' in l).at(-1)?.['sync'] as { flows: Record<string, number> } | undefined;
      return s ? Object.values(s.flows)[0] : undefined;
    });
    for (const p of procs) {
      const errors = p.lines.filter((l) => 'error' in l);
      if (errors.length) throw new BenchmarkError(`scale-out: chassis ${p.chassis} reported errors: ${JSON.stringify(errors.slice(0, 3))}`);
    }

    console.log(`\nNB change to flows on all 3 chassis (ovn-nbctl --wait=hv lsp-add), median of ${ROUNDS}, one 3-member Raft SB cluster, real ovn-northd`);
    console.log(`  ${'case'.padEnd(44)} ${'--wait=hv'.padStart(10)} ${'--wait=sb'.padStart(10)}  ratio (hv)`);
    console.log(`  ${'real ovn-controller 23.03 (baseline)'.padEnd(44)} ${`${realHv.toFixed(1)} ms`.padStart(10)} ${`${realSb.toFixed(1)} ms`.padStart(10)}  baseline`);
    console.log(`  ${'ovnts chassis-run --sb (DatabaseSouthbound)'.padEnd(44)} ${`${oursHv.toFixed(1)} ms`.padStart(10)} ${`${oursSb.toFixed(1)} ms`.padStart(10)}  ${(oursHv / realHv).toFixed(2)}x baseline`);
    console.log(`  flows per ovnts chassis at the end: ${flows.join(', ')}`);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await reapPids(daemons);
    await northd.stop();
    await nb.stop();
    await sbc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
