/**
 * Differential test with real `ovn-nbctl` (OVN 23.03): the same command sequence against real
 * ovsdb-server serving the installed OVN_Northbound schema and against our NbServer. Every
 * command's exit status, standard output and standard error must be identical (except that a
 * listing may print the same rows in another order: ovn-nbctl's order follows the server's hash
 * tables, which our monitor replies reproduce but not in every case; such commands are counted,
 * printed, and capped at 3), and so must both databases afterwards (every table, every column, `_version` aside). Inserted rows get the same
 * uuids on both sides through the taps of nbctl.ts (the real server picks them; ours is told).
 * Our northd followed the commits incrementally (IncrementalNorthd inside NbServer): its last
 * compilation must equal a full compile of the final database (flows, Logical_Flow uuids, port
 * bindings with their tunnel keys).
 * Then real `ovn-northd` reads our server into a real southbound ovsdb-server, and another reads
 * the real northbound server into another: both southbound databases must list the same logical
 * flows (`ovn-sbctl lflow-list`, datapath uuids aside), and `ovn-nbctl --wait=sb sync` completes
 * against ours (northd writes NB_Global back through our server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NbServer, OvsdbClient } from '@ovnts/ovsdb';
import { compileNorthd, formatLflowList, NbDatabase, type NorthdResult } from '@ovnts/ovn';
import { OVN_NB_SCHEMA_FILE, OVN_SB_SCHEMA_FILE, RealOvsdb, reapPids, requireOvsdbServer, requireTools, runCommand } from '@ovnts/testkit';
import { canon, sortRows } from './helpers.js';
import { RpcTap, type InsertUuids } from './nbctl.js';

const req = requireOvsdbServer('ovn-nbctl differential');
const reqOvn = requireTools('ovn-nbctl differential', ['ovn-nbctl', 'ovn-northd', 'ovn-sbctl'], 'apt-get install -y ovn-central');

/** The command sequence: every kind of row ovn-nbctl makes, printing commands, and errors. */
export const NBCTL_SEQUENCE: string[][] = [
  ['ls-add', 'sw0'],
  ['ls-add', 'sw1'],
  ['ls-add', 'sw0'],
  ['--may-exist', 'ls-add', 'sw0'],
  ['lsp-add', 'sw0', 'sw0-p1'],
  ['lsp-set-addresses', 'sw0-p1', '00:00:00:00:00:01 10.0.0.11'],
  ['lsp-add', 'sw0', 'sw0-p2', '--', 'lsp-set-addresses', 'sw0-p2', '00:00:00:00:00:02 10.0.0.12', '--', 'lsp-set-port-security', 'sw0-p2', '00:00:00:00:00:02 10.0.0.12'],
  ['lsp-add', 'sw1', 'sw1-p1', '--', 'lsp-set-addresses', 'sw1-p1', '00:00:00:00:01:01 10.0.1.11'],
  ['lsp-add', 'sw0', 'sw0-p1'],
  ['lsp-list', 'sw0'],
  ['acl-add', 'sw0', 'from-lport', '1000', 'ip4 && tcp.dst == 22', 'drop'],
  ['acl-add', 'sw0', 'to-lport', '1001', 'ip4.src == 10.0.0.0/24', 'allow-related'],
  ['--log', '--severity=alert', '--name=acl-log', 'acl-add', 'sw1', 'to-lport', '900', 'udp', 'reject'],
  ['acl-add', 'sw0', 'sideways', '1', 'ip', 'drop'],
  ['acl-list', 'sw0'],
  ['lb-add', 'lb0', '10.0.0.100:80', '10.0.0.11:8080,10.0.0.12:8080', 'tcp'],
  ['lb-add', 'lb1', '10.0.0.101', '10.0.0.11'],
  ['lb-add', 'lb2', '10.0.0.102:80', '10.0.0.11', 'tcp'],
  ['ls-lb-add', 'sw0', 'lb0'],
  ['lb-list'],
  ['lr-add', 'r0'],
  ['lrp-add', 'r0', 'r0-sw0', '00:00:00:00:ff:01', '10.0.0.1/24'],
  ['lrp-add', 'r0', 'r0-sw1', '00:00:00:00:ff:02', '10.0.1.1/24', '2001:db8::1/64'],
  ['lsp-add', 'sw0', 'sw0-r0', '--', 'lsp-set-type', 'sw0-r0', 'router', '--', 'lsp-set-addresses', 'sw0-r0', 'router', '--', 'lsp-set-options', 'sw0-r0', 'router-port=r0-sw0'],
  ['lsp-add', 'sw1', 'sw1-r0', '--', 'lsp-set-type', 'sw1-r0', 'router', '--', 'lsp-set-addresses', 'sw1-r0', 'router', '--', 'lsp-set-options', 'sw1-r0', 'router-port=r0-sw1'],
  ['lr-nat-add', 'r0', 'snat', '172.16.0.1', '10.0.0.0/24'],
  ['lr-nat-add', 'r0', 'dnat_and_snat', '172.16.0.10', '10.0.0.11'],
  ['lr-nat-add', 'r0', 'snat', '172.16.0.1', '10.0.0.0/24'],
  ['lr-nat-list', 'r0'],
  ['lr-route-add', 'r0', '0.0.0.0/0', '172.16.0.254'],
  ['lr-route-add', 'r0', '192.168.0.0/16', '10.0.1.254'],
  ['lr-route-list', 'r0'],
  ['lr-lb-add', 'r0', 'lb1'],
  ['show'],
  ['list', 'Logical_Switch'],
  ['list', 'Logical_Switch_Port'],
  ['find', 'Logical_Switch_Port', 'type=router'],
  ['get', 'Logical_Switch_Port', 'sw0-p1', 'addresses'],
  ['set', 'Logical_Switch', 'sw0', 'other_config:subnet=10.0.0.0/24'],
  ['--columns=name,other_config', 'list', 'Logical_Switch', 'sw0'],
  ['lsp-del', 'sw0-p2'],
  ['acl-del', 'sw0', 'from-lport', '1000', 'ip4 && tcp.dst == 22'],
  ['clear', 'Logical_Switch', 'sw0', 'other_config'],
  ['destroy', 'Load_Balancer', 'lb2'],
  ['lb-del', 'lb-none'],
  ['lsp-get-addresses', 'nonexistent'],
  ['--bare', '--columns=name,ports', 'find', 'Logical_Router', 'name=r0'],
  ['ls-list'],
  ['lr-list'],
  ['show'],
  ['list', 'ACL'],
  ['list', 'NAT'],
  ['list', 'Load_Balancer'],
  ['list', 'Logical_Router_Static_Route'],
];

/**
 * An output with its records (blank-line separated, as `list` prints them) and, within each, its
 * top-level blocks (an unindented line and the indented lines under it, as `show` prints them)
 * sorted: the order ovn-nbctl prints rows in follows the server's hash tables (docs/ovsdb.md).
 */
function reordered(out: string): string {
  // The last record carries the output's final newline; without it, moving that record would count.
  return out
    .replace(/\n+$/, '')
    .split('\n\n')
    .map((rec) => rec.split(/\n(?=\S)/).sort().join('\n'))
    .sort()
    .join('\n\n');
}

/** Every table of a database (all columns), as one transact's select results. */
async function dumpDb(remote: string, schemaTables: string[]): Promise<unknown> {
  const c = await OvsdbClient.connect(remote);
  try {
    return sortRows(await c.request('transact', ['OVN_Northbound', ...schemaTables.map((t) => ({ op: 'select', table: t, where: [] }))]));
  } finally {
    c.close();
  }
}

function dropVersions(j: unknown): unknown {
  if (Array.isArray(j)) return j.map(dropVersions);
  if (typeof j === 'object' && j !== null) return Object.fromEntries(Object.entries(j).filter(([k]) => k !== '_version').map(([k, v]) => [k, dropVersions(v)]));
  return j;
}

describe.skipIf(req.skip || reqOvn.skip)('ovn-nbctl: ours vs ovsdb-server', () => {
  let dir: string;
  let real: RealOvsdb;
  let real2: RealOvsdb | undefined;
  let ours: NbServer;
  let realTap: RpcTap;
  let oursTap: RpcTap;
  const recorded: InsertUuids[] = [];
  const children: ChildProcess[] = [];
  const compiled: NorthdResult[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ovnts-nbctl-'));
    real = await RealOvsdb.start({ schemaFile: OVN_NB_SCHEMA_FILE });
    // syncCfg false: the second test's real ovn-northd alone answers `--wait=sb`, as it does for ovsdb-server.
    ours = await NbServer.start({ listen: [`punix:${join(dir, 'ours.sock')}`], syncCfg: false, onRecompute: (r) => void (r.result && compiled.push(r.result)) });
    realTap = await RpcTap.start(join(dir, 'real-tap.sock'), real.remote.slice(5));
    real2 = process.env.NBCTL_REAL_VS_REAL ? await RealOvsdb.start({ schemaFile: OVN_NB_SCHEMA_FILE }) : undefined;
    oursTap = await RpcTap.start(join(dir, 'ours-tap.sock'), real2 ? real2.remote.slice(5) : join(dir, 'ours.sock'), recorded);
  });
  afterAll(async () => {
    for (const c of children) if (c.pid && c.exitCode === null) c.kill('SIGTERM');
    await reapPids(children.map((c) => c.pid!).filter((p) => p !== undefined));
    await realTap?.close();
    await oursTap?.close();
    await ours?.close();
    await real?.stop();
    await real2?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const env = (): NodeJS.ProcessEnv => ({ ...process.env, OVS_RUNDIR: dir, OVN_RUNDIR: dir });
  const nbctl = (sock: string, args: string[]) => runCommand('ovn-nbctl', [`--db=unix:${sock}`, '--timeout=20', ...args], env(), 30_000);

  test(`${NBCTL_SEQUENCE.length} ovn-nbctl commands print the same and leave the same database`, async () => {
    let outputs = 0;
    let failures = 0;
    const orderOnly: string[] = [];
    for (const args of NBCTL_SEQUENCE) {
      const a = await nbctl(realTap.path, args);
      recorded.splice(0, recorded.length, ...realTap.recorded);
      const b = await nbctl(oursTap.path, args);
      const what = `ovn-nbctl ${args.join(' ')}`;
      if (a.stdout) outputs++;
      if (a.code !== 0) failures++;
      if (b.stdout !== a.stdout && b.code === a.code && b.stderr === a.stderr && reordered(b.stdout) === reordered(a.stdout)) {
        orderOnly.push(what);
        continue;
      }
      expect({ code: b.code, stdout: b.stdout, stderr: b.stderr }, what).toEqual({ code: a.code, stdout: a.stdout, stderr: a.stderr });
    }
    const tables = Object.keys((JSON.parse(readFileSync(OVN_NB_SCHEMA_FILE, 'utf8')) as { tables: Record<string, unknown> }).tables);
    const [da, db] = await Promise.all([dumpDb(real.remote, tables), dumpDb(`unix:${join(dir, 'ours.sock')}`, tables)]);
    expect(canon(dropVersions(db))).toBe(canon(dropVersions(da)));
    console.log(
      `ovn-nbctl differential: ${NBCTL_SEQUENCE.length} commands (${outputs} printing, ${failures} failing): ${NBCTL_SEQUENCE.length - orderOnly.length} identical, ${orderOnly.length} listing the same rows in another order (${orderOnly.join('; ') || 'none'}); ${realTap.recorded.length} inserting transactions, ${oursTap.injected} given the same uuids; ${tables.length} tables identical`,
    );
    expect(orderOnly.length).toBeLessThanOrEqual(3);
    expect(oursTap.injected).toBe(realTap.recorded.length);
    await ours.idle();
    expect(ours.latest?.datapaths.length).toBe(3);
    // The flows followed the commits through the incremental path, and equal a full compile of
    // the final database with the previous compilation's southbound database.
    const stats = ours.northd!.stats;
    console.log(`nb-server northd: ${compiled.length} compilations, ${stats.incremental} incremental, ${stats.recomputes} full recomputes (${[...stats.reasons].map(([k, v]) => `${k} ${v}`).join(', ')})`);
    expect(stats.incremental).toBeGreaterThan(0);
    const [prev, last] = compiled.slice(-2);
    const full = compileNorthd(NbDatabase.fromRaw(ours.db.toRawDb()), { previous: prev!.sb });
    expect(formatLflowList(last!.flows)).toBe(formatLflowList(full.flows));
    expect(last!.sb.logicalFlows.map((f) => f.uuid)).toEqual(full.sb.logicalFlows.map((f) => f.uuid));
    expect(last!.sb.portBindings.map((p) => `${p.logicalPort} ${p.uuid} ${p.tunnelKey}`)).toEqual(full.sb.portBindings.map((p) => `${p.logicalPort} ${p.uuid} ${p.tunnelKey}`));
  }, 180_000);

  test('real ovn-northd reads our server into a real southbound database as it reads ovsdb-server', async () => {
    const sbs = await Promise.all([RealOvsdb.start({ schemaFile: OVN_SB_SCHEMA_FILE }), RealOvsdb.start({ schemaFile: OVN_SB_SCHEMA_FILE })]);
    try {
      const nbs = [real.remote, `unix:${join(dir, 'ours.sock')}`];
      nbs.forEach((nb, i) => {
        const p = spawn('ovn-northd', [`--ovnnb-db=${nb}`, `--ovnsb-db=${sbs[i]!.remote}`, `--unixctl=${join(dir, `northd${i}.ctl`)}`, `--log-file=${join(dir, `northd${i}.log`)}`, '--no-chdir', '-vconsole:off'], { env: env(), stdio: 'ignore' });
        children.push(p);
      });
      // --wait=sb returns once northd has written the southbound database and told the
      // northbound one (NB_Global.sb_cfg), through our server on one side.
      for (const nb of nbs) {
        const r = await runCommand('ovn-nbctl', [`--db=${nb}`, '--timeout=60', '--wait=sb', 'sync'], env(), 90_000);
        expect(r, `ovn-nbctl --db=${nb} --wait=sb sync`).toEqual({ code: 0, stdout: '', stderr: '' });
      }
      const lists = await Promise.all(sbs.map((sb) => runCommand('ovn-sbctl', [`--db=${sb.remote}`, 'lflow-list'], env(), 60_000)));
      const norm = (t: string): string => {
        const names = new Map<string, string>();
        return t.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => {
          if (!names.has(u)) names.set(u, `<uuid${names.size}>`);
          return names.get(u)!;
        });
      };
      expect(lists[1]!.code).toBe(0);
      const flows = lists[0]!.stdout.split('\n').filter((l) => l.includes('table=')).length;
      expect(flows).toBeGreaterThan(100);
      expect(norm(lists[1]!.stdout)).toBe(norm(lists[0]!.stdout));
      console.log(`ovn-northd differential: ${flows} logical flows from our northbound server, identical to those from ovsdb-server`);
    } finally {
      for (const c of children) if (c.pid && c.exitCode === null) c.kill('SIGTERM');
      await reapPids(children.map((c) => c.pid!).filter((p) => p !== undefined));
      await Promise.all(sbs.map((sb) => sb.stop()));
    }
  }, 180_000);
});
