/**
 * NbServer's northd follows the commits exactly: along random sequences of ovn-nbctl-like
 * transactions (switches, ports and their addresses, ACLs, port groups, address sets, a router
 * with switches attached, NAT, a load balancer, `--wait`'s nb_cfg bump, NB_Global options), sent
 * through the server as ovn-nbctl sends them, after every transaction the server's compilation
 * (fed the committed rows: shared snapshots, typed rows taken over, the changed rows named)
 * equals a full compilation of a fresh copy of the database with the previous compilation's
 * southbound database: the flow table row by row and every southbound row, uuids included. Each
 * step waits for the server's recompute (quietMs 0); sb_cfg and hv_cfg follow nb_cfg.
 *
 * NBSERVER_INC_SEED and NBSERVER_INC_RUNS replay a failure or run longer; the seed is printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compileNorthd, NbDatabase, type NorthdResult } from '@ovnts/ovn';
import { NbServer } from '@ovnts/ovsdb';
import { rowLines, sbLines } from '../../ovn/test/northd/exact.js';

const DB = 'OVN_Northbound';
const SWITCHES = 3;
const PORTS = 6;

type Edit = readonly [kind: (typeof KINDS)[number], a: number, b: number];
const KINDS = ['ls-add', 'ls-del', 'lsp-add', 'lsp-del', 'lsp-set-addresses', 'acl-add', 'acls-clear', 'pg-set', 'as-set', 'connect', 'nat', 'lb', 'wait', 'options'] as const;

const named = (n: string) => ['named-uuid', n];
const byName = (n: string) => [['name', '==', n]];

/** The transaction ovn-nbctl would send for an edit (port uuids from `ports`, filled from replies). */
function transaction(e: Edit, ports: Map<string, string>): { ops: unknown[]; port?: string } {
  const [kind, a, b] = e;
  const sw = `sw${a % SWITCHES}`;
  const port = `p${(a * 2 + b) % PORTS}`;
  const mac = (x: number) => `0a:00:00:00:0${a % SWITCHES}:${(10 + x).toString(16)}`;
  switch (kind) {
    case 'ls-add':
      return { ops: [{ op: 'wait', table: 'Logical_Switch', where: byName(sw), columns: ['name'], until: '==', rows: [], timeout: 0 }, { op: 'insert', table: 'Logical_Switch', row: { name: sw } }] };
    case 'ls-del':
      return { ops: [{ op: 'delete', table: 'Logical_Switch', where: byName(sw) }] };
    case 'lsp-add':
      return {
        ops: [
          { op: 'insert', table: 'Logical_Switch_Port', row: { name: port, addresses: `${mac(b)} 10.${a % SWITCHES}.0.${10 + b}` }, 'uuid-name': 'lsp' },
          { op: 'mutate', table: 'Logical_Switch', where: byName(sw), mutations: [['ports', 'insert', ['set', [named('lsp')]]]] },
        ],
        port,
      };
    case 'lsp-del': {
      const u = [...ports.values()][a % Math.max(1, ports.size)];
      return { ops: u ? [{ op: 'mutate', table: 'Logical_Switch', where: [], mutations: [['ports', 'delete', ['set', [['uuid', u]]]]] }] : [] };
    }
    case 'lsp-set-addresses': {
      const u = [...ports.values()][a % Math.max(1, ports.size)];
      return { ops: u ? [{ op: 'update', table: 'Logical_Switch_Port', where: [['_uuid', '==', ['uuid', u]]], row: { addresses: b ? ['set', [`${mac(7)} 10.${a % SWITCHES}.0.77`, 'unknown']] : `${mac(8)}` } }] : [] };
    }
    case 'acl-add':
      return {
        ops: [
          { op: 'insert', table: 'ACL', row: { direction: b ? 'to-lport' : 'from-lport', priority: 1000 + a, match: b ? 'tcp.dst == 22' : `ip4.src == $as${a % 2}`, action: b ? 'drop' : 'allow-related' }, 'uuid-name': 'acl' },
          { op: 'mutate', table: b && a % 2 ? 'Port_Group' : 'Logical_Switch', where: byName(b && a % 2 ? 'pg0' : sw), mutations: [['acls', 'insert', ['set', [named('acl')]]]] },
        ],
      };
    case 'acls-clear':
      return { ops: [{ op: 'update', table: a % 2 ? 'Port_Group' : 'Logical_Switch', where: byName(a % 2 ? 'pg0' : sw), row: { acls: ['set', []] } }] };
    case 'pg-set': {
      const members = [...ports].filter(([n]) => (Number(n.slice(1)) + a) % 3 !== b).map(([, u]) => ['uuid', u]);
      return { ops: [{ op: 'update', table: 'Port_Group', where: byName('pg0'), row: { ports: ['set', members] } }] };
    }
    case 'as-set':
      return { ops: [{ op: 'update', table: 'Address_Set', where: byName(`as${b}`), row: { addresses: ['set', [`10.${a % SWITCHES}.0.${10 + b}`, '10.9.9.9'].slice(0, 1 + (a % 2))] } }] };
    case 'connect':
      return {
        ops: [
          { op: 'insert', table: 'Logical_Router_Port', row: { name: `rp-${sw}-${b}`, mac: `0a:00:00:00:ff:0${a % SWITCHES}`, networks: `10.${a % SWITCHES}.0.1/24` }, 'uuid-name': 'lrp' },
          { op: 'mutate', table: 'Logical_Router', where: byName('lr0'), mutations: [['ports', 'insert', ['set', [named('lrp')]]]] },
          { op: 'insert', table: 'Logical_Switch_Port', row: { name: `rs-${sw}-${b}`, type: 'router', addresses: 'router', options: ['map', [['router-port', `rp-${sw}-${b}`]]] }, 'uuid-name': 'lsp' },
          { op: 'mutate', table: 'Logical_Switch', where: byName(sw), mutations: [['ports', 'insert', ['set', [named('lsp')]]]] },
        ],
      };
    case 'nat':
      return b
        ? { ops: [{ op: 'insert', table: 'NAT', row: { type: 'snat', external_ip: `172.16.0.${a}`, logical_ip: `10.${a % SWITCHES}.0.0/24` }, 'uuid-name': 'nat' }, { op: 'mutate', table: 'Logical_Router', where: byName('lr0'), mutations: [['nat', 'insert', ['set', [named('nat')]]]] }] }
        : { ops: [{ op: 'update', table: 'Logical_Router', where: byName('lr0'), row: { nat: ['set', []] } }] };
    case 'lb':
      return {
        ops: [
          { op: 'update', table: 'Load_Balancer', where: byName('lb0'), row: { vips: ['map', [['172.30.0.1:80', b ? `10.0.0.10:8080,10.1.0.1${a % 3}:8080` : '10.2.0.10:8080']]] } },
          { op: 'update', table: 'Logical_Switch', where: byName(sw), row: { load_balancer: ['set', a % 2 ? [] : [['uuid', '00000000-0000-0000-0000-0000000000b0']]] } },
        ],
      };
    case 'wait':
      return { ops: [{ op: 'mutate', table: 'NB_Global', where: [], mutations: [['nb_cfg', '+=', 1]] }] };
    case 'options':
      return { ops: [{ op: 'update', table: 'NB_Global', where: [], row: { options: ['map', b ? [['default_acl_drop', 'true']] : []] } }] };
  }
}

const editArb: fc.Arbitrary<Edit> = fc.tuple(fc.constantFrom(...KINDS), fc.nat(5), fc.nat(1));

describe('nb-server: northd fed the committed rows equals a full compilation', () => {
  test('along random ovn-nbctl-like transaction sequences, after every transaction', async () => {
    const seed = Number(process.env.NBSERVER_INC_SEED ?? Date.now() % 0x7fffffff);
    const numRuns = Number(process.env.NBSERVER_INC_RUNS ?? 10);
    console.log(`nb-server incremental property: seed ${seed}, ${numRuns} runs (NBSERVER_INC_SEED=${seed} to replay)`);
    const dir = mkdtempSync(join(tmpdir(), 'ovnts-nbinc-'));
    const counts = { txns: 0, committed: 0, compared: 0, incremental: 0, recomputes: 0 };
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(editArb, { minLength: 6, maxLength: 24 }), async (edits) => {
          const results: NorthdResult[] = [];
          const nb = await NbServer.start({ listen: [`punix:${join(dir, `nb${run++}.sock`)}`], quietMs: 0, onRecompute: (r) => void (r.result && results.push(r.result)) });
          try {
            const setup = await nb.server.transact([
              DB,
              { op: 'insert', table: 'NB_Global', row: {} },
              { op: 'insert', table: 'Logical_Router', row: { name: 'lr0' } },
              { op: 'insert', table: 'Port_Group', row: { name: 'pg0' } },
              { op: 'insert', table: 'Address_Set', row: { name: 'as0' } },
              { op: 'insert', table: 'Address_Set', row: { name: 'as1' } },
              { op: 'insert', table: 'Load_Balancer', row: { name: 'lb0', protocol: 'tcp' }, uuid: '00000000-0000-0000-0000-0000000000b0' },
              { op: 'insert', table: 'Logical_Switch', row: { name: 'sw0' } },
            ]);
            expect(setup.every((r) => !(typeof r === 'object' && r !== null && 'error' in r)), JSON.stringify(setup)).toBe(true);
            await nb.idle();
            const ports = new Map<string, string>();
            for (const [step, e] of edits.entries()) {
              const { ops, port } = transaction(e, ports);
              if (!ops.length) continue;
              const before = results.length;
              const reply = await nb.server.transact([DB, ...ops]);
              counts.txns++;
              const ok = !reply.some((r) => typeof r === 'object' && r !== null && 'error' in r);
              if (ok) counts.committed++;
              await nb.idle();
              if (ok && port !== undefined) ports.set(port, (reply[0] as { uuid: [string, string] }).uuid[1]);
              for (const [n, u] of [...ports]) if (!nb.db.table('Logical_Switch_Port')!.rows.has(u)) ports.delete(n);
              if (results.length === before) continue;
              const last = results[results.length - 1]!;
              const full = compileNorthd(NbDatabase.fromRaw(nb.db.toRawDb()), { previous: results[results.length - 2]!.sb });
              const what = `step ${step}: ${JSON.stringify(e)}`;
              expect(rowLines(last), `flow table, ${what}`).toEqual(rowLines(full));
              expect(sbLines(last.sb), `southbound, ${what}`).toEqual(sbLines(full.sb));
              counts.compared++;
            }
            const g = [...nb.db.table('NB_Global')!.rows.values()][0]!.fields;
            expect([g.get('sb_cfg')!.keys[0], g.get('hv_cfg')!.keys[0]]).toEqual([g.get('nb_cfg')!.keys[0], g.get('nb_cfg')!.keys[0]]);
            counts.incremental += nb.northd!.stats.incremental;
            counts.recomputes += nb.northd!.stats.recomputes;
          } finally {
            await nb.close();
          }
        }),
        { seed, numRuns },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`nb-server incremental property: ${counts.txns} transactions (${counts.committed} committed), ${counts.compared} compilations compared, ${counts.incremental} incremental, ${counts.recomputes} full recomputes`);
    expect(counts.compared).toBeGreaterThan(numRuns);
    expect(counts.incremental).toBeGreaterThan(0);
  }, 240_000);
});
