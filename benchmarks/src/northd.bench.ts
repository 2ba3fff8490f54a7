/**
 * The northd compiler against real ovn-northd 23.03 on the same OVN-Kubernetes-shaped northbound
 * network (`@ovnts/testkit` nbgen: the topology of ../shared/bench/ovn-northd-baseline.sh, N
 * nodes x P pods, namespaces of 20 pods with a port group, an address set and 4 ACLs, one
 * service per namespace on every node switch, or through one load balancer group: `g`), at
 * 10x20, 50x20, 200x20 and 1000x30g (NORTHD_SIZES=... to choose).
 *
 * Per size: the NB is generated once and written as an OVSDB file (`writeOvsdbFile`). Ours: load
 * that file (`loadNb`) and compile it (`compileNorthd`), timed separately, with the heap retained
 * by the result and the RSS growth. Real: a fresh `ovn-sandbox` (NB/SB ovsdb-server + ovn-northd),
 * the same file applied in one transaction with `ovsdb-client restore` (an `ovn-nbctl` command line
 * for 1000x30 would exceed the kernel's argument size limit), then `ovn-nbctl --wait=sb sync` timed
 * from the commit, as the baseline script times it; then the southbound Logical_Flow row count and
 * `ovn-sbctl count-flows` (flows expanded per datapath), and ovn-northd's RSS. Both sides must give
 * the same row and flow counts (they compute the same work); the ratio is ovn-northd's time over
 * ours. Without OVN installed only our side runs.
 *
 * Then incremental against full recompute, per change, on the 200x20 network (NORTHD_INC_SIZE):
 * the changes an OVN-Kubernetes control plane makes (a pod added: its port, the switch's port
 * list, its namespace's port group and address set; the pod removed; a service's backends; an
 * ACL on a namespace's port group; a port group member; a NAT rule on the cluster router, which
 * dirties every switch attached to it), each applied to a copy of the database. Per change,
 * `IncrementalNorthd.update` plus its southbound database, and `compileNorthd` with the previous
 * southbound database plus its southbound database, alternating; both must give the same flow
 * table and southbound rows (checked). Times are CPU time of this process (process.cpuUsage),
 * median of the rounds; the ratio is full over incremental. Loading the NB model (the same for
 * both) is not counted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileNorthd, IncrementalNorthd, loadNb, mapDatum, NbDatabase, RawDb, scalarDatum, setDatum, writeOvsdbFile, type NorthdResult } from '@ovnts/ovn';
import { hasTool, oracleScript, ovnkBuilder, ovnkCounts, startOvnSandbox, type OvnKParams } from '@ovnts/testkit';
import { bytes, check, median, target } from './harness.js';

// NxP attaches the load balancers to every node switch (as the published baseline table); NxPg
// through one load balancer group (as OVN-Kubernetes does; the flows are the same, the NB is
// 1.5 M references smaller at 1000x30).
const SIZES: OvnKParams[] = (process.env.NORTHD_SIZES ?? '10x20,50x20,200x20,1000x30g').split(',').filter((s) => s.trim() !== '').map((s) => {
  const m = /^([0-9]+)x([0-9]+)(g?)$/.exec(s.trim());
  if (!m) throw new RangeError(`northd.bench: bad size ${JSON.stringify(s)}: expected NODES or NODESxPODS`);
  return { nodes: Number(m[1]), pods: Number(m[2]), lbAttach: m[3] ? 'group' : 'switch' };
});

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const sandboxScript = oracleScript('ovn-sandbox');
const haveOvn = !!sandboxScript && ['ovn-northd', 'ovn-nbctl', 'ovn-sbctl', 'ovsdb-server', 'ovsdb-client'].every(hasTool);

interface Ours {
  loadMs: number;
  compileMs: number;
  rows: number;
  flows: number;
  heap: number;
  rss: number;
}

interface Real {
  commitMs: number;
  syncMs: number;
  rows: number;
  flows: number;
  rssMb: number;
}

/** Holds the database and result alive while the retained heap is measured. */
let keep: unknown[] = [];

function ours(file: Uint8Array, runs: number): Ours {
  let best: Ours | undefined;
  for (let i = 0; i < runs; i++) {
    gc();
    const h0 = process.memoryUsage().heapUsed;
    const r0 = process.memoryUsage().rss;
    let t = performance.now();
    const db = loadNb(file.slice()); // a fresh copy: nothing cached from an earlier run
    const loadMs = performance.now() - t;
    t = performance.now();
    const res = compileNorthd(db);
    const compileMs = performance.now() - t;
    const rss = process.memoryUsage().rss - r0;
    keep = [db, res];
    gc();
    const heap = process.memoryUsage().heapUsed - h0;
    const o: Ours = { loadMs, compileMs, rows: res.rowCount, flows: res.flowCount, heap, rss };
    keep = [];
    // Memory figures from the first run (later runs reuse memory the first one grew).
    if (!best) best = o;
    else if (o.compileMs < best.compileMs) best = { ...o, heap: best.heap, rss: best.rss };
  }
  return best!;
}

function real(dbFile: string): Real {
  const sb = startOvnSandbox(sandboxScript!);
  try {
    let t = performance.now();
    sb.run('bash', ['-c', 'exec ovsdb-client --force restore "$0" < "$1"', sb.nbDb, dbFile]); // restore needs a seekable stdin
    const commitMs = performance.now() - t;
    t = performance.now();
    sb.run('ovn-nbctl', ['--timeout=900', '--wait=sb', 'sync']);
    const syncMs = performance.now() - t;
    const rows = sb.run('ovn-sbctl', ['--bare', '--columns=_uuid', 'list', 'Logical_Flow']).split('\n').filter((l) => l.trim() !== '').length;
    const cf = /Total number of logical flows = ([0-9]+)/.exec(sb.run('ovn-sbctl', ['count-flows']));
    const status = readFileSync(`/proc/${sb.northdPid()}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+([0-9]+)/.exec(status)?.[1] ?? 0);
    return { commitMs, syncMs, rows, flows: cf ? Number(cf[1]) : -1, rssMb: rssKb / 1024 };
  } finally {
    sb.stop();
  }
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (other work skews times; both sides run in the same conditions)`);
console.log(`northd: full compile of an OVN-Kubernetes-shaped NB, ours vs real ovn-northd${haveOvn ? '' : ' (OVN not installed: ours only)'}`);
console.log(
  `  ${'size'.padEnd(8)} ${'lsps'.padStart(6)} ${'lbs'.padStart(5)} | ${'ours load'.padStart(9)} ${'compile'.padStart(8)} ${'heap'.padStart(10)} ${'rss+'.padStart(10)} ${'rows'.padStart(7)} ${'flows'.padStart(8)} | ${'northd'.padStart(8)} ${'commit'.padStart(7)} ${'rss'.padStart(7)} ${'rows'.padStart(7)} ${'flows'.padStart(8)} | ratio`,
);
const scratch = mkdtempSync(join(tmpdir(), 'ovnts-northd-bench-'));
const results: { size: string; o: Ours; r?: Real }[] = [];
try {
  for (const p of SIZES) {
    const size = `${p.nodes}x${p.pods}${p.lbAttach === 'group' ? 'g' : ''}`;
    const c = ovnkCounts(p);
    const raw = ovnkBuilder(p).toRaw();
    // A fresh nb_cfg above the sandbox's, so `--wait=sb sync` waits for northd to process this NB
    // (the SB still holds the nb_cfg of the empty database it synced before the restore).
    for (const [, row] of raw.rows('NB_Global')) row.set('nb_cfg', scalarDatum(1000));
    const file = writeOvsdbFile(raw);
    const dbFile = join(scratch, `${size}.db`);
    writeFileSync(dbFile, file);
    const o = ours(file, p.nodes * p.pods >= 20000 ? 1 : 3);
    const r = haveOvn ? real(dbFile) : undefined;
    results.push({ size, o, r });
    const same = r ? (r.rows === o.rows && r.flows === o.flows ? 'same work' : 'COUNTS DIFFER') : '';
    const ratio = r ? `${(r.syncMs / o.compileMs).toFixed(1)}x (${(r.syncMs / (o.loadMs + o.compileMs)).toFixed(1)}x incl. load); ${same}` : '-';
    console.log(
      `  ${size.padEnd(8)} ${String(c.lsps).padStart(6)} ${String(c.lbs).padStart(5)} | ${fmtS(o.loadMs).padStart(9)} ${fmtS(o.compileMs).padStart(8)} ${bytes(o.heap).padStart(10)} ${bytes(o.rss).padStart(10)} ${String(o.rows).padStart(7)} ${String(o.flows).padStart(8)} | ` +
        (r ? `${fmtS(r.syncMs).padStart(8)} ${fmtS(r.commitMs).padStart(7)} ${`${r.rssMb.toFixed(0)} MB`.padStart(7)} ${String(r.rows).padStart(7)} ${String(r.flows).padStart(8)}` : `${'-'.padStart(8)} ${'-'.padStart(7)} ${'-'.padStart(7)} ${'-'.padStart(7)} ${'-'.padStart(8)}`) +
        ` | ${ratio}`,
    );
    rmSync(dbFile, { force: true });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
void keep;
console.log('  (ours: best of 3 runs, 1 at 1000x30; heap = heapUsed retained by the database and result after GC, rss+ = RSS growth, both from the first run; northd = ovn-nbctl --wait=sb sync after the commit, one run)');
for (const { size, o, r } of results) {
  if (!r) continue;
  if (size === '200x20' || size.startsWith('1000x30')) {
    target(`northd full compile faster than ovn-northd at ${size}`, o.loadMs + o.compileMs < r.syncMs && r.rows === o.rows && r.flows === o.flows, `ours ${fmtS(o.compileMs)} compile + ${fmtS(o.loadMs)} load vs ovn-northd ${fmtS(r.syncMs)}; rows ${o.rows}/${r.rows}, flows ${o.flows}/${r.flows}`);
  }
}

incremental();

/** A copy of a raw database whose tables can change without touching the original's. */
function copyRaw(raw: RawDb): RawDb {
  const r = new RawDb(raw.schema);
  for (const [t, rows] of raw.tables) r.tables.set(t, new Map(rows));
  return r;
}

function rowNamed(raw: RawDb, table: string, name: string): [string, Map<string, import('@ovnts/ovn').Datum>] {
  for (const [u, r] of raw.rows(table)) if (r.get('name')?.keys[0] === name) return [u, r];
  throw new RangeError(`northd.bench: no ${table} named ${name}`);
}

/** Set one column of a row (the row copied: the previous database keeps its version). */
function setCol(raw: RawDb, table: string, uuid: string, col: string, d: import('@ovnts/ovn').Datum): void {
  const r = new Map(raw.get(table, uuid)!);
  r.set(col, d);
  raw.rows(table).set(uuid, r);
}

function addTo(raw: RawDb, table: string, uuid: string, col: string, atom: string, remove = false): void {
  const keys = raw.get(table, uuid)!.get(col)?.keys ?? [];
  setCol(raw, table, uuid, col, setDatum(remove ? keys.filter((k) => k !== atom) : [...keys, atom]));
}

/** The OVN-Kubernetes changes the incremental benchmark applies, each a function of the previous raw database. */
function changes(): { name: string; apply: (raw: RawDb) => void }[] {
  const pod = '11111111-2222-4333-8444-000000000001';
  const acl = '11111111-2222-4333-8444-000000000002';
  const nat = '11111111-2222-4333-8444-000000000003';
  const addr = '0a:58:0a:00:07:f0 10.0.7.240';
  return [
    {
      name: 'pod added (port, switch, port group, address set)',
      apply: (raw) => {
        raw.rows('Logical_Switch_Port').set(pod, new Map([['name', scalarDatum('bench-pod')], ['addresses', setDatum([addr])], ['port_security', setDatum([addr])]]));
        addTo(raw, 'Logical_Switch', rowNamed(raw, 'Logical_Switch', 'node-7')[0], 'ports', pod);
        addTo(raw, 'Port_Group', rowNamed(raw, 'Port_Group', 'pg_ns3')[0], 'ports', pod);
        addTo(raw, 'Address_Set', rowNamed(raw, 'Address_Set', 'as_ns3')[0], 'addresses', '10.0.7.240');
      },
    },
    {
      name: 'pod removed',
      apply: (raw) => {
        addTo(raw, 'Logical_Switch', rowNamed(raw, 'Logical_Switch', 'node-7')[0], 'ports', pod, true);
        addTo(raw, 'Port_Group', rowNamed(raw, 'Port_Group', 'pg_ns3')[0], 'ports', pod, true);
        addTo(raw, 'Address_Set', rowNamed(raw, 'Address_Set', 'as_ns3')[0], 'addresses', '10.0.7.240', true);
        raw.rows('Logical_Switch_Port').delete(pod);
      },
    },
    {
      name: 'service backends changed',
      apply: (raw) => {
        const [u, r] = [...raw.rows('Load_Balancer')][0]!;
        const vips = r.get('vips')!;
        setCol(raw, 'Load_Balancer', u, 'vips', mapDatum(vips.keys.map((k, i) => [k, `${String(vips.values![i])},10.0.9.9:8080`])));
      },
    },
    {
      name: 'ACL added to a port group',
      apply: (raw) => {
        raw.rows('ACL').set(acl, new Map([['direction', scalarDatum('to-lport')], ['priority', scalarDatum(1002)], ['match', scalarDatum('outport == @pg_ns5 && tcp.dst == 9090')], ['action', scalarDatum('allow-related')]]));
        addTo(raw, 'Port_Group', rowNamed(raw, 'Port_Group', 'pg_ns5')[0], 'acls', acl);
      },
    },
    {
      name: 'port group member added',
      apply: (raw) => {
        addTo(raw, 'Port_Group', rowNamed(raw, 'Port_Group', 'pg_ns6')[0], 'ports', String(rowNamed(raw, 'Port_Group', 'pg_ns7')[1].get('ports')!.keys[0]));
      },
    },
    {
      name: 'NAT rule on the cluster router',
      apply: (raw) => {
        raw.rows('NAT').set(nat, new Map([['type', scalarDatum('snat')], ['external_ip', scalarDatum('172.16.0.10')], ['logical_ip', scalarDatum('10.0.0.0/8')]]));
        addTo(raw, 'Logical_Router', rowNamed(raw, 'Logical_Router', 'ovn_cluster_router')[0], 'nat', nat);
      },
    },
  ];
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function sameResult(a: NorthdResult, b: NorthdResult): boolean {
  if (a.rowCount !== b.rowCount || a.flowCount !== b.flowCount) return false;
  const ids = (r: NorthdResult) => r.sb.logicalFlows.map((f) => f.uuid).sort().join() + r.sb.portBindings.map((p) => `${p.uuid}/${p.tunnelKey}`).sort().join();
  return ids(a) === ids(b);
}

/** Incremental update against full recompute, per change, same database, same run. */
function incremental(): void {
  const size = process.env.NORTHD_INC_SIZE ?? '200x20';
  const m = /^([0-9]+)x([0-9]+)$/.exec(size);
  if (!m) throw new RangeError(`northd.bench: bad NORTHD_INC_SIZE ${JSON.stringify(size)}: expected NODESxPODS`);
  const rounds = Number(process.env.NORTHD_INC_ROUNDS ?? 3);
  let raw = ovnkBuilder({ nodes: Number(m[1]), pods: Number(m[2]), lbAttach: 'switch' }).toRaw();
  let db = NbDatabase.fromRaw(raw);
  const inc = new IncrementalNorthd(db);
  let full = compileNorthd(db);
  check(sameResult(inc.result, full), 'northd.bench: incremental and full compile differ at the start');
  console.log(`\nnorthd incremental vs full recompute per change at ${size} (${inc.result.rowCount} rows, ${inc.result.flowCount} flows; CPU ms, median of ${rounds} rounds; flows + southbound database)`);
  console.log(`  ${'change'.padEnd(50)} ${'incremental'.padStart(11)} ${'full'.padStart(8)} ${'ratio'.padStart(7)}   rebuilt`);
  const cs = changes();
  const times = cs.map(() => ({ inc: [] as number[], full: [] as number[], what: '' }));
  for (let round = 0; round < rounds; round++) {
    cs.forEach((c, i) => {
      raw = copyRaw(raw);
      c.apply(raw);
      db = NbDatabase.fromRaw(raw);
      raw = db.raw;
      let t = cpuMs();
      const u = inc.update(db);
      void inc.result.sb;
      times[i]!.inc.push(cpuMs() - t);
      t = cpuMs();
      full = compileNorthd(db, { previous: full.sb });
      void full.sb;
      times[i]!.full.push(cpuMs() - t);
      check(sameResult(inc.result, full), `northd.bench: incremental and full compile differ after "${c.name}"`);
      times[i]!.what = `${u.mode}: ${u.rebuilt}/${u.segments} segments, ${u.switches} switches, ${u.routers} routers`;
    });
    // Undo what the round added (the NAT and the ACL) so every round starts alike.
    raw = copyRaw(raw);
    const r = raw.rows('Logical_Router');
    for (const [u, row] of r) r.set(u, new Map([...row, ['nat', setDatum([])]]));
    for (const [u, row] of raw.rows('Port_Group')) raw.rows('Port_Group').set(u, new Map([...row, ['acls', setDatum((row.get('acls')?.keys ?? []).filter((a) => a !== '11111111-2222-4333-8444-000000000002'))]]));
    db = NbDatabase.fromRaw(raw);
    raw = db.raw;
    inc.update(db);
    full = compileNorthd(db, { previous: full.sb });
  }
  cs.forEach((c, i) => {
    const a = median(times[i]!.inc);
    const b = median(times[i]!.full);
    console.log(`  ${c.name.padEnd(50)} ${a.toFixed(0).padStart(11)} ${b.toFixed(0).padStart(8)} ${`${(b / a).toFixed(1)}x`.padStart(7)}   ${times[i]!.what}`);
  });
  const pod = median(times[0]!.inc);
  const podFull = median(times[0]!.full);
  target(`northd incremental pod add cheaper than a full recompute at ${size}`, pod < podFull, `${pod.toFixed(0)} ms vs ${podFull.toFixed(0)} ms CPU (${(podFull / pod).toFixed(1)}x)`);
}
