/**
 * OVSDB transactions per second: `ovnts nb-server` (our NbServer: OvsdbServer with the
 * OVN_Northbound schema and northd recompiling the logical flows incrementally after each burst
 * of commits), variants of it (below), our bare OvsdbServer, and real ovsdb-server 3.1 on the same schema, on the same stream of
 * ovn-nbctl-like transactions over a unix socket: `ls-add` (wait on NB_Global + insert), then per
 * switch `lsp-add` + `lsp-set-addresses` (insert the port, mutate the switch's ports) and
 * `acl-add` (insert the ACL, mutate the switch's acls), each with ovn-nbctl's "comment". One
 * transaction in flight at a time, as ovn-nbctl runs, and a second client monitoring every table
 * (monitor_cond_since, as ovn-northd and other IDL clients do), so each commit also fans out an
 * update3. Every reply is checked (no error) before timing counts it. Rounds alternate between
 * the servers (fresh databases each round; the nb-server variants take turns going first) and
 * the figure is the median round; the ratio to ovsdb-server is from this run. The nb-server
 * variants: the default (northd fed the committed rows, incremental), the same reading the whole
 * database at every run as it did before (`wholeDatabase`), and a full recompute every run.
 *
 * Then northd's cost per transaction, in one process: the same stream sent to two NbServers in
 * step, each made to recompile after every transaction (`flush`, in alternating order), one fed
 * the committed rows (the default), one reading the whole database every time as before
 * (`wholeDatabase`); CPU time of the process around each recompile, summed over the stream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NbServer, OvsdbClient, OvsdbServer, Schema } from '@ovnts/ovsdb';
import { NB_SCHEMA_JSON } from '@ovnts/ovn';
import { OVN_NB_SCHEMA_FILE, RealOvsdb, requireOvsdbServer } from '@ovnts/testkit';
import { check, median, table, type Measurement } from './harness.js';

const SWITCHES = Number(process.env.OVSDB_BENCH_SWITCHES ?? 40);
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const PORTS = 5;
const ROUNDS = 3;

/** The workload: transactions as ovn-nbctl would send them (named rows, comments). */
function workload(tag: string): unknown[][] {
  const out: unknown[][] = [];
  out.push(['OVN_Northbound', { op: 'insert', table: 'NB_Global', row: {} }]);
  for (let s = 0; s < SWITCHES; s++) {
    const ls = `${tag}-sw${s}`;
    out.push(['OVN_Northbound', { op: 'wait', table: 'NB_Global', where: [], columns: ['nb_cfg'], until: '!=', rows: [{ nb_cfg: -1 }], timeout: 0 }, { op: 'insert', table: 'Logical_Switch', row: { name: ls }, 'uuid-name': 'ls' }, { op: 'comment', comment: `ovn-nbctl: ls-add ${ls}` }]);
    for (let p = 0; p < PORTS; p++) {
      const lsp = `${ls}-p${p}`;
      const mac = `00:00:00:${s.toString(16).padStart(2, '0')}:00:${p.toString(16).padStart(2, '0')}`;
      out.push([
        'OVN_Northbound',
        { op: 'insert', table: 'Logical_Switch_Port', row: { name: lsp, addresses: `${mac} 10.${s}.0.${p + 10}` }, 'uuid-name': 'lsp' },
        { op: 'mutate', table: 'Logical_Switch', where: [['name', '==', ls]], mutations: [['ports', 'insert', ['set', [['named-uuid', 'lsp']]]]] },
        { op: 'comment', comment: `ovn-nbctl: lsp-add ${ls} ${lsp} -- lsp-set-addresses ${lsp} "${mac} 10.${s}.0.${p + 10}"` },
      ]);
    }
    out.push([
      'OVN_Northbound',
      { op: 'insert', table: 'ACL', row: { direction: 'to-lport', priority: 1000, match: `ip4.src == 10.${s}.0.0/24 && tcp.dst == 22`, action: 'drop' }, 'uuid-name': 'acl' },
      { op: 'mutate', table: 'Logical_Switch', where: [['name', '==', ls]], mutations: [['acls', 'insert', ['set', [['named-uuid', 'acl']]]]] },
      { op: 'comment', comment: `ovn-nbctl: acl-add ${ls} to-lport 1000 "ip4.src == 10.${s}.0.0/24 && tcp.dst == 22" drop` },
    ]);
  }
  return out;
}

/** Run the workload against `remote` with a monitoring client attached; transactions per second. */
async function run(remote: string, tag: string): Promise<number> {
  const mon = await OvsdbClient.connect(remote);
  const c = await OvsdbClient.connect(remote);
  try {
    const tables = Object.keys((NB_SCHEMA_JSON as { tables: Record<string, unknown> }).tables);
    await mon.request('monitor_cond_since', ['OVN_Northbound', 'm', Object.fromEntries(tables.map((t) => [t, [{}]])), '00000000-0000-0000-0000-000000000000']);
    const txns = workload(tag);
    const t0 = performance.now();
    for (const t of txns) {
      const r = (await c.request('transact', t)) as unknown[];
      check(Array.isArray(r) && r.every((x) => x === null || typeof x !== 'object' || !('error' in x)), `${remote}: ${JSON.stringify(t).slice(0, 200)} failed: ${JSON.stringify(r)}`);
    }
    return txns.length / ((performance.now() - t0) / 1000);
  } finally {
    c.close();
    mon.close();
  }
}

const req = requireOvsdbServer('ovsdb benchmark');
if (req.skip) {
  console.log(`ovsdb: skipped (${req.reason ?? 'ovsdb-server not installed'})`);
} else {
  const n = workload('x').length;
  console.log(`\novsdb transact: ${n} ovn-nbctl-like transactions per round (${SWITCHES} switches x ${PORTS} ports + an ACL each), one in flight, one monitoring client, ${ROUNDS} rounds alternating`);
  const rates: Record<'real' | 'nb' | 'nbWhole' | 'nbFull' | 'bare', number[]> = { real: [], nb: [], nbWhole: [], nbFull: [], bare: [] };
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-bench-ovsdb-'));
  const recomputes = { nb: 0, nbWhole: 0, nbFull: 0 };
  const incremental = { nb: 0, nbWhole: 0, nbFull: 0 };
  const feeds: { name: string; server: NbServer; cpu: number; ms: number }[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const real = await RealOvsdb.start({ schemaFile: OVN_NB_SCHEMA_FILE });
      try {
        rates.real.push(await run(real.remote, `r${round}`));
      } finally {
        await real.stop();
      }
      // The nb-server variants take turns going first.
      const kinds = (['nb', 'nbWhole', 'nbFull'] as const).map((_k, i, a) => a[(i + round) % a.length]!);
      for (const kind of kinds) {
        const nb = await NbServer.start({ listen: [`punix:${join(dir, `nb${round}${kind}.sock`)}`], incremental: kind !== 'nbFull', wholeDatabase: kind === 'nbWhole' });
        try {
          rates[kind].push(await run(nb.remotes[0]!, `n${round}`));
          await nb.idle();
          recomputes[kind] += nb.recomputes;
          incremental[kind] += nb.northd?.stats.incremental ?? 0;
          check(nb.latest?.datapaths.length === SWITCHES, `nb-server compiled ${nb.latest?.datapaths.length} datapaths, expected ${SWITCHES}`);
        } finally {
          await nb.close();
        }
      }
      const bare = new OvsdbServer();
      bare.addDatabase(Schema.fromJson(NB_SCHEMA_JSON));
      const remote = await bare.listen(`punix:${join(dir, `bare${round}.sock`)}`);
      try {
        rates.bare.push(await run(remote, `b${round}`));
      } finally {
        await bare.close();
      }
    }
    // Northd per transaction: committed rows vs the whole database, interleaved in one process.
    for (const whole of [false, true]) {
      const server = await NbServer.start({ listen: [`punix:${join(dir, `cpu${whole ? 'w' : 'r'}.sock`)}`], wholeDatabase: whole, quietMs: 1e6, maxDelayMs: 1e6 });
      feeds.push({ name: whole ? 'whole database every run (before)' : 'committed rows (now)', server, cpu: 0, ms: 0 });
    }
    let i = 0;
    for (const t of workload('c')) {
      for (const f of feeds) {
        const r = await f.server.server.transact(t);
        check(r.every((x) => x === null || typeof x !== 'object' || !('error' in x)), `in-process transaction failed: ${JSON.stringify(r)}`);
      }
      for (const f of i++ % 2 ? [...feeds].reverse() : feeds) {
        const c0 = cpuMs();
        const t0 = performance.now();
        f.server.flush();
        f.cpu += cpuMs() - c0;
        f.ms += performance.now() - t0;
      }
    }
    const [a, b] = feeds.map((f) => f.server.latest);
    check(a !== undefined && b !== undefined && a.rowCount === b.rowCount && a.sb.logicalFlows.length === b.sb.logicalFlows.length, 'the two northd feeds disagree');
  } finally {
    for (const f of feeds) await f.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const [rows, whole] = feeds as [(typeof feeds)[0], (typeof feeds)[0]];
  console.log(`\nnorthd per transaction, recompiled after every one of ${n} (in one process, interleaved; CPU of the process):`);
  for (const f of feeds) console.log(`  ${f.name.padEnd(36)} ${(f.cpu / n).toFixed(2)} ms CPU (${(f.ms / n).toFixed(2)} ms wall)`);
  console.log(`  committed rows / whole database: ${(rows.cpu / whole.cpu).toFixed(2)}x the CPU`);
  const m = (name: string, xs: number[], extra?: string): Measurement => ({ name, opsPerSec: median(xs), ...(extra ? { extra } : {}) }) as Measurement;
  const real = m('ovsdb-server 3.1 (OVN_Northbound)', rates.real);
  table('OVSDB transactions/s (median round; ratio to ovsdb-server 3.1 in this run)', [
    { m: real, unit: 'txn/s' },
    { m: m('ovnts nb-server (incremental northd)', rates.nb, `${recomputes.nb} recompiles (${incremental.nb} incremental) for ${ROUNDS * n} transactions`), vs: real, unit: 'txn/s' },
    { m: m('nb-server reading the whole db (before)', rates.nbWhole, `${recomputes.nbWhole} recompiles (${incremental.nbWhole} incremental)`), vs: real, unit: 'txn/s' },
    { m: m('ovnts nb-server (full recompute)', rates.nbFull, `${recomputes.nbFull} recomputes`), vs: real, unit: 'txn/s' },
    { m: m('OvsdbServer alone (no northd)', rates.bare), vs: real, unit: 'txn/s' },
  ]);
}
