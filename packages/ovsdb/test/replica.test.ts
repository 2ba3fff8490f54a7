/**
 * OvsdbReplica against real ovsdb-server 3.1: a southbound database (the installed OVN schema)
 * replicated from the initial contents and then from update3 notifications (insert, modify of a
 * set, a map and a reference, delete), equal to the server's own select at each step; the
 * southbound model builds from the replica; a chassis claims a port binding through the
 * replica's client, as ovn-controller does; a dropped replica reconnects with the changes made
 * meanwhile. Against a real 3-member Raft cluster: `leaderOnly` picks the leader; an
 * `OvsdbFollower` moves off a killed member to the next and resumes with the changes made
 * meanwhile; a member left without quorum is passed over until a peer comes back.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sbFromRaw } from '@ovnts/ovn';
import { OvsdbClient, OvsdbFollower, OvsdbReplica, datumToJson, formatJson, type FollowerEvent } from '@ovnts/ovsdb';
import type { Datum } from '@ovnts/ovn';
import { OVN_SB_SCHEMA_FILE, RealOvsdb, RealOvsdbCluster, requireOvsdbServer } from '@ovnts/testkit';

const req = requireOvsdbServer('replica');
const SB = 'OVN_Southbound';

async function until(what: string, f: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
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

describe.skipIf(req.skip)('OvsdbReplica connecting while transactions commit', () => {
  // ovsdb-server often sends the monitor's reply and the update of a transaction committed just
  // after it in one write. Before the replica held such updates back until the reply was
  // applied, about a third of these replicas lost the update (the reply's contents replaced it).
  test('every replica holds every row the server committed before a later select', async () => {
    const real = await RealOvsdb.start({ schemaFile: OVN_SB_SCHEMA_FILE });
    const w = await OvsdbClient.connect(real.remote);
    let stop = false;
    let n = 0;
    const writer = (async () => {
      while (!stop) {
        n++;
        await w.transactOk(SB, { op: 'insert', table: 'FDB', row: { mac: `00:00:00:00:${((n >> 8) & 255).toString(16)}:${(n & 255).toString(16)}`, dp_key: 1, port_key: n } });
      }
    })();
    const missed: number[] = [];
    try {
      for (let i = 0; i < 60; i++) {
        const rep = await OvsdbReplica.connect([real.remote], SB);
        try {
          // The select's reply follows the updates of every transaction committed before it.
          const [r] = (await rep.client.transactOk(SB, { op: 'select', table: 'FDB', where: [], columns: ['_uuid'] })) as [{ rows: { _uuid: [string, string] }[] }];
          const have = rep.db.table('FDB')!.rows;
          if (r.rows.some((row) => !have.has(row._uuid[1]))) missed.push(i);
        } finally {
          rep.close();
        }
      }
    } finally {
      stop = true;
      await writer.catch(() => undefined);
      w.close();
      await real.stop();
    }
    expect(n).toBeGreaterThan(60);
    expect(missed, `replicas that missed a committed row (of 60, ${n} transactions)`).toEqual([]);
  }, 60_000);
});

describe.skipIf(req.skip)('OvsdbReplica and OvsdbFollower on a real 3-member Raft cluster', () => {
  test('leaderOnly picks the leader; a follower moves off a killed member, resumes, and waits out a lost quorum', async () => {
    const sbc = await RealOvsdbCluster.start({ schemaFile: OVN_SB_SCHEMA_FILE });
    let f: OvsdbFollower | undefined;
    const clients: OvsdbClient[] = [];
    try {
      const remotes = sbc.remotes;
      const leader = sbc.leader()!;
      const lr = await OvsdbReplica.connect(remotes, SB, undefined, { leaderOnly: true });
      expect(lr.remote).toBe(remotes[leader]);
      lr.close();

      // Follow member `a` (a follower); write through another one (followers forward to the leader).
      const a = (leader + 1) % 3;
      const b = (leader + 2) % 3;
      const order = [remotes[a]!, remotes[b]!, remotes[leader]!];
      f = await OvsdbFollower.start(order, SB, { shuffle: false });
      const events: FollowerEvent[] = [];
      f.onEvent((e) => events.push(e));
      expect(f.remote).toBe(remotes[a]);
      const chassisNames = () => [...f!.db.table('Chassis')!.rows.values()].map((r) => r.fields.get('name')!.keys[0]).sort();
      const addChassis = (c: OvsdbClient, name: string) =>
        c.transactOk(
          SB,
          { op: 'insert', table: 'Encap', 'uuid-name': 'e', row: { type: 'geneve', ip: `192.168.0.${name.slice(2)}`, chassis_name: name } },
          { op: 'insert', table: 'Chassis', row: { name, hostname: name, encaps: ['named-uuid', 'e'] } },
        );
      const w = await OvsdbClient.connect(remotes[b]!);
      clients.push(w);
      await addChassis(w, 'hv1');
      await until('hv1 followed', () => chassisNames().join() === 'hv1', 10_000);

      // Kill the followed member; a change made meanwhile arrives once the follower is on the next one.
      await sbc.kill(a);
      await addChassis(w, 'hv2');
      await until('hv2 after the move', () => chassisNames().join() === 'hv1,hv2', 20_000);
      expect(f.remote).toBe(remotes[b]);
      expect(events.slice(0, 2).map((e) => [e.kind, 'remote' in e ? e.remote : ''])).toEqual([
        ['disconnected', remotes[a]],
        ['connected', remotes[b]],
      ]);
      const [r] = (await f.transact({ op: 'select', table: 'Chassis', where: [], columns: ['name'] })) as [{ rows: unknown[] }];
      expect(r.rows).toHaveLength(2);

      // Kill the leader too: `b` alone has no quorum and leaves the cluster; the follower drops it
      // and retries (`a` and the leader refuse connections, `b` is not connected) until `a` is back.
      await sbc.kill(leader);
      await until('a retry naming the lost quorum', () => events.some((e) => e.kind === 'retry' && /is not connected to its cluster/.test(e.error)), 30_000);
      expect(f.connected).toBe(false);
      await sbc.restart(a);
      await sbc.waitConverged(30_000);
      await until('back on a member', () => f!.connected, 30_000);
      const w2 = await OvsdbClient.connect(f.remote);
      clients.push(w2);
      await addChassis(w2, 'hv3');
      await until('hv3 after the quorum came back', () => chassisNames().join() === 'hv1,hv2,hv3', 20_000);
    } finally {
      f?.close();
      for (const c of clients) c.close();
      await sbc.stop();
    }
  }, 120_000);
});
