/**
 * OvsdbReplica against real ovsdb-server 3.1: a southbound database (the installed OVN schema)
 * replicated from the initial contents and then from update3 notifications (insert, modify of a
 * set, a map and a reference, delete), equal to the server's own select at each step; the
 * southbound model builds from the replica; a chassis claims a port binding through the
 * replica's client, as ovn-controller does; a dropped replica reconnects with the changes made
 * meanwhile.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sbFromRaw } from '@ovnts/ovn';
import { OvsdbClient, OvsdbReplica, datumToJson, formatJson } from '@ovnts/ovsdb';
import type { Datum } from '@ovnts/ovn';
import { OVN_SB_SCHEMA_FILE, RealOvsdb, requireOvsdbServer } from '@ovnts/testkit';

const req = requireOvsdbServer('replica');
const SB = 'OVN_Southbound';

async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(f(), what).toBe(true);
}

describe.skipIf(req.skip)('OvsdbReplica of a real southbound ovsdb-server', () => {
  let real: RealOvsdb;
  let writer: OvsdbClient;
  beforeAll(async () => {
    real = await RealOvsdb.start({ schemaFile: OVN_SB_SCHEMA_FILE });
    writer = await OvsdbClient.connect(real.remote);
  });
  afterAll(async () => {
    writer?.close();
    await real?.stop();
  });

  /** The server's rows of `table` as {uuid: {column: json}} (sorted), to compare with the replica. */
  async function serverRows(table: string, columns: string[]): Promise<string> {
    const [r] = (await writer.transactOk(SB, { op: 'select', table, where: [], columns: ['_uuid', ...columns] })) as [{ rows: Record<string, unknown>[] }];
    return formatJson(Object.fromEntries(r.rows.map((row) => [(row._uuid as [string, string])[1], Object.fromEntries(columns.map((c) => [c, row[c]]))])), { sort: true });
  }
  function replicaRows(rep: OvsdbReplica, table: string, columns: string[]): string {
    const t = rep.db.table(table)!;
    const out: Record<string, unknown> = {};
    for (const [u, row] of t.rows) out[u] = Object.fromEntries(columns.map((c) => [c, wire(rep, table, c, row.fields.get(c)!)]));
    return formatJson(out, { sort: true });
  }
  function wire(rep: OvsdbReplica, table: string, column: string, d: Datum): unknown {
    const col = rep.db.table(table)!.info.byName.get(column)!;
    return JSON.parse(formatJson(datumToJson(d, col.type)));
  }

  test('follows inserts, modifies and deletes; the southbound model builds from it; a chassis claims a binding', async () => {
    const [, , , dp] = (await writer.transactOk(
      SB,
      { op: 'insert', table: 'SB_Global', row: {} },
      { op: 'insert', table: 'Encap', row: { type: 'geneve', ip: '192.168.0.1', chassis_name: 'hv1', options: ['map', [['csum', 'true']]] }, 'uuid-name': 'e' },
      { op: 'insert', table: 'Chassis', row: { name: 'hv1', hostname: 'hv1', encaps: ['named-uuid', 'e'] } },
      { op: 'insert', table: 'Datapath_Binding', row: { tunnel_key: 1, external_ids: ['map', [['name', 'sw0']]] }, 'uuid-name': 'dp' },
      { op: 'insert', table: 'Port_Binding', row: { logical_port: 'vm1', tunnel_key: 1, datapath: ['named-uuid', 'dp'], mac: ['set', ['00:00:00:00:00:01 10.0.0.1']] } },
    )) as { uuid: [string, string] }[];
    expect(dp).toBeDefined();
    const rep = await OvsdbReplica.connect(['unix:/nonexistent/socket', real.remote], SB);
    try {
      expect(rep.remote).toBe(real.remote);
      const cols = ['logical_port', 'tunnel_key', 'datapath', 'mac', 'chassis', 'options', 'up'];
      expect(replicaRows(rep, 'Port_Binding', cols)).toBe(await serverRows('Port_Binding', cols));
      const sb = sbFromRaw(rep.db.toRawDb());
      expect(sb.portBindings.map((p) => p.logicalPort)).toEqual(['vm1']);
      expect(sb.chassis.map((c) => c.name)).toEqual(['hv1']);

      // The chassis claims vm1 through the replica's connection; the replica sees the update.
      const chassis = [...rep.db.table('Chassis')!.rows.keys()][0]!;
      await rep.client.transactOk(SB, { op: 'update', table: 'Port_Binding', where: [['logical_port', '==', 'vm1']], row: { chassis: ['uuid', chassis], up: true } });
      await until('claim seen', () => [...rep.db.table('Port_Binding')!.rows.values()][0]!.fields.get('chassis')!.keys[0] === chassis);
      // A set, a map and a delete from another client.
      await writer.transactOk(
        SB,
        { op: 'mutate', table: 'Port_Binding', where: [], mutations: [['mac', 'insert', ['set', ['00:00:00:00:00:02 10.0.0.2']]], ['options', 'insert', ['map', [['a', '1'], ['b', '2']]]]] },
        { op: 'insert', table: 'Port_Binding', row: { logical_port: 'vm2', tunnel_key: 2, datapath: ['uuid', dp!.uuid[1]] } },
      );
      await writer.transactOk(SB, { op: 'mutate', table: 'Port_Binding', where: [['logical_port', '==', 'vm1']], mutations: [['options', 'delete', ['set', ['a']]]] }, { op: 'delete', table: 'Port_Binding', where: [['logical_port', '==', 'vm2']] });
      await writer.transactOk(SB, { op: 'insert', table: 'Port_Binding', row: { logical_port: 'vm3', tunnel_key: 3, datapath: ['uuid', dp!.uuid[1]] } });
      await until('vm3 seen', () => rep.db.table('Port_Binding')!.rows.size === 2);
      expect(replicaRows(rep, 'Port_Binding', cols)).toBe(await serverRows('Port_Binding', cols));
      expect(sbFromRaw(rep.db.toRawDb()).portBindings.map((p) => p.logicalPort).sort()).toEqual(['vm1', 'vm3']);

      // Reconnect after the connection drops, with changes made meanwhile. A standalone
      // ovsdb-server's last-txn-id is all zeros (only clustered databases number transactions), so
      // this is a full reload here; against a cluster it resumes from the last transaction.
      rep.close();
      await writer.transactOk(SB, { op: 'update', table: 'Port_Binding', where: [['logical_port', '==', 'vm3']], row: { up: true } });
      const again = await OvsdbReplica.connect([real.remote], SB, rep);
      try {
        expect(replicaRows(again, 'Port_Binding', cols)).toBe(await serverRows('Port_Binding', cols));
      } finally {
        again.close();
      }
    } finally {
      rep.close();
    }
  }, 60_000);
});
