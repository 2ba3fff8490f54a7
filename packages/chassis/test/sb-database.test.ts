/**
 * DatabaseSouthbound against a real (standalone) southbound ovsdb-server: the chassis registers
 * its Chassis, Encap and Chassis_Private rows; claims its VIFs (not one requested for another
 * chassis) and sets them up only once a host follows the database; reports nb_cfg; releases a
 * binding it holds for a port it does not host; writes learnt MAC bindings (updating the row of
 * the same port and IP); a second start under the same name takes its rows over without
 * registering again; the configuration it derives puts its VIFs in `--vif` order and remote
 * VIFs on the chassis bound in the database.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SbDatabase } from '@ovnts/ovn';
import { OvsdbClient } from '@ovnts/ovsdb';
import { DatabaseSouthbound, type DatabaseSouthboundEvent } from '@ovnts/chassis';
import { OVN_SB_SCHEMA_FILE, RealOvsdb, requireOvsdbServer } from '@ovnts/testkit';

const req = requireOvsdbServer('DatabaseSouthbound');
const SB = 'OVN_Southbound';

async function until(what: string, f: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await f()) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(await f(), what).toBe(true);
}

describe.skipIf(req.skip)('DatabaseSouthbound on a real southbound ovsdb-server', () => {
  let real: RealOvsdb;
  let w: OvsdbClient;
  beforeAll(async () => {
    real = await RealOvsdb.start({ schemaFile: OVN_SB_SCHEMA_FILE });
    w = await OvsdbClient.connect(real.remote);
  });
  afterAll(async () => {
    w?.close();
    await real?.stop();
  });

  async function rows(table: string, columns: string[]): Promise<Record<string, unknown>[]> {
    const [r] = (await w.transactOk(SB, { op: 'select', table, where: [], columns })) as [{ rows: Record<string, unknown>[] }];
    return r.rows;
  }
  async function binding(lport: string): Promise<[string, unknown]> {
    const [r] = (await w.transactOk(SB, { op: 'select', table: 'Port_Binding', where: [['logical_port', '==', lport]], columns: ['chassis', 'up'] })) as [{ rows: { chassis: unknown; up: unknown }[] }];
    const c = r.rows[0]!.chassis as [string, unknown];
    const names = new Map((await rows('Chassis', ['_uuid', 'name'])).map((x) => [(x['_uuid'] as [string, string])[1], x['name'] as string]));
    return [c[0] === 'uuid' ? names.get(c[1] as string)! : '', r.rows[0]!.up];
  }

  test('registers, claims, sets up once followed, releases, writes learnt rows, restarts quietly', async () => {
    await w.transactOk(
      SB,
      { op: 'insert', table: 'SB_Global', row: { nb_cfg: 5 } },
      { op: 'insert', table: 'Encap', 'uuid-name': 'e2', row: { type: 'geneve', ip: '192.168.0.2', chassis_name: 'hv2' } },
      { op: 'insert', table: 'Chassis', 'uuid-name': 'hv2', row: { name: 'hv2', hostname: 'hv2', encaps: ['named-uuid', 'e2'] } },
      { op: 'insert', table: 'Datapath_Binding', 'uuid-name': 'dp', row: { tunnel_key: 1, external_ids: ['map', [['name', 'sw0'], ['logical-switch', '8a0c6f3e-0000-4000-8000-000000000001']]] } },
      { op: 'insert', table: 'Port_Binding', row: { logical_port: 'vm1', tunnel_key: 1, datapath: ['named-uuid', 'dp'], mac: ['set', ['00:00:00:00:00:01 10.0.0.1']] } },
      { op: 'insert', table: 'Port_Binding', row: { logical_port: 'vm2', tunnel_key: 2, datapath: ['named-uuid', 'dp'], options: ['map', [['requested-chassis', 'hv9']]] } },
      { op: 'insert', table: 'Port_Binding', row: { logical_port: 'vm3', tunnel_key: 3, datapath: ['named-uuid', 'dp'], chassis: ['named-uuid', 'hv2'] } },
    );
    const events: DatabaseSouthboundEvent[] = [];
    const s = await DatabaseSouthbound.connect({ remotes: ['unix:/nonexistent.sock', real.remote], chassis: 'hv1', encapIp: '192.168.0.1', vifs: ['vm2', 'vm1'], onEvent: (e) => events.push(e) });
    try {
      expect(s.remote).toBe(real.remote);
      await until('vm1 claimed', async () => (await binding('vm1'))[0] === 'hv1');
      expect(events.map((e) => e.kind)).toEqual(['connected', 'registered', 'claimed']);
      expect((await rows('Encap', ['ip', 'chassis_name', 'options'])).find((e) => e['chassis_name'] === 'hv1')).toEqual({ ip: '192.168.0.1', chassis_name: 'hv1', options: ['map', [['csum', 'true']]] });
      // Claimed but not up: nothing follows the database yet, so no flows are installed.
      await new Promise((r) => setTimeout(r, 200));
      expect(await binding('vm1')).toEqual(['hv1', ['set', []]]);
      expect(await binding('vm2')).toEqual(['', ['set', []]]);
      expect((await rows('Chassis_Private', ['name', 'nb_cfg'])).map((r) => [r['name'], r['nb_cfg']])).toEqual([['hv1', 0]]);

      const seen: SbDatabase[] = [];
      s.follow((sb) => seen.push(sb));
      await until('vm1 up', async () => (await binding('vm1'))[1] === true);
      await until('nb_cfg 5', async () => (await rows('Chassis_Private', ['nb_cfg']))[0]!['nb_cfg'] === 5);
      expect(seen.length).toBeGreaterThan(0);

      // The configuration: its VIFs in --vif order (vm2 exists, so it is port 1), vm3 on hv2.
      const cfg = s.config(s.load());
      const me = cfg.members.find((m) => m.name === 'hv1')!;
      expect([...me.vifs]).toEqual([['vm2', 1], ['vm1', 2]]);
      expect(me.encapIp).toBe('192.168.0.1');
      expect(cfg.facts.vifChassis('vm3')).toBe('hv2');
      expect(cfg.members.find((m) => m.name === 'hv2')!.encapIp).toBe('192.168.0.2');

      // vm2 no longer requested elsewhere: claimed, then up. vm3 moved to hv1 by someone else: released.
      await w.transactOk(SB, { op: 'update', table: 'Port_Binding', where: [['logical_port', '==', 'vm2']], row: { options: ['map', []] } });
      await until('vm2 up on hv1', async () => JSON.stringify(await binding('vm2')) === JSON.stringify(['hv1', true]));
      const [hv1] = (await rows('Chassis', ['_uuid', 'name'])).filter((c) => c['name'] === 'hv1');
      await w.transactOk(SB, { op: 'update', table: 'Port_Binding', where: [['logical_port', '==', 'vm3']], row: { chassis: hv1!['_uuid'] } });
      await until('vm3 released', async () => JSON.stringify(await binding('vm3')) === JSON.stringify(['', false]));
      expect(events.filter((e) => e.kind !== 'connected' && e.kind !== 'registered').map((e) => `${e.kind} ${'ports' in e ? e.ports.join() : ''}`)).toEqual(['claimed vm1', 'up vm1', 'claimed vm2', 'up vm2', 'released vm3']);

      // Learnt MAC bindings: a row, then the same port and IP with a new MAC updates it.
      const dp = s.load().datapaths[0]!;
      s.publish({ macBinding: { uuid: 'x', logicalPort: 'vm1', ip: '10.0.0.9', mac: '00:00:00:00:00:09', timestamp: 1, datapath: dp } }, 'hv1');
      await until('a MAC binding', () => s.load().macBindings.length === 1);
      s.publish({ macBinding: { uuid: 'y', logicalPort: 'vm1', ip: '10.0.0.9', mac: '00:00:00:00:00:0a', timestamp: 2, datapath: dp } }, 'hv1');
      await until('the MAC binding updated', () => s.load().macBindings[0]?.mac === '00:00:00:00:00:0a');
      expect(s.load().macBindings).toHaveLength(1);
      s.publish({ fdb: { uuid: 'z', mac: '00:00:00:00:00:0b', dpKey: 1, portKey: 2 } }, 'hv1');
      await until('an FDB entry', () => s.load().fdb.length === 1);
    } finally {
      s.close();
    }

    // Started again under the same name: its rows are taken over, nothing is registered or claimed again.
    const again: DatabaseSouthboundEvent[] = [];
    const s2 = await DatabaseSouthbound.connect({ remotes: [real.remote], chassis: 'hv1', encapIp: '192.168.0.1', vifs: ['vm2', 'vm1'], onEvent: (e) => again.push(e) });
    try {
      s2.follow(() => {});
      await new Promise((r) => setTimeout(r, 300));
      expect(again.map((e) => e.kind)).toEqual(['connected']);
      expect((await rows('Chassis', ['name'])).map((r) => r['name']).sort()).toEqual(['hv1', 'hv2']);
    } finally {
      s2.close();
    }
    await expect(DatabaseSouthbound.connect({ remotes: [], chassis: 'hv1', encapIp: '192.168.0.1', vifs: [] })).rejects.toThrow(/at least one remote/);
    await expect(DatabaseSouthbound.connect({ remotes: ['unix:/nonexistent.sock'], chassis: 'hv1', encapIp: '192.168.0.1', vifs: [] })).rejects.toThrow(/southbound unix:\/nonexistent\.sock: no server qualified/);
  }, 60_000);
});
