import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  NbDatabase,
  NbError,
  formatOvsdbRecord,
  loadNb,
  readOvsdbFile,
  readOvsdbRecords,
  writeOvsdbFile,
  NB_SCHEMA_UPSTREAM,
  NbBuilder,
  schemaToJson,
} from '../../src/nb/index.js';
import { DEMO_DB, rawTables } from './helpers.js';

const demo = readFileSync(DEMO_DB);
const records = readOvsdbRecords(demo);
const schemaJson = records[0]!.json;

/** A file of the demo's schema record and the given transaction records. */
function fileWith(...txns: unknown[]): Buffer {
  return Buffer.concat([formatOvsdbRecord(schemaJson), ...txns.map((t) => formatOvsdbRecord(t))]);
}

/** The error `f` throws (failing the test when it throws nothing or not an NbError). */
function nbError(f: () => unknown): NbError {
  try {
    f();
  } catch (e) {
    if (e instanceof NbError) return e;
    throw e;
  }
  assert.fail('expected an NbError');
}

const U = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

describe('demo fixture (ovn-nbctl + ovsdb-client backup, fixtures/nb/demo.sh)', () => {
  test('records verify and the schema is OVN_Northbound 7.0.0', () => {
    expect(records.length).toBe(2);
    expect(records[0]!.offset).toBe(0);
    expect(records[1]!.offset).toBeGreaterThan(records[0]!.length);
    const f = readOvsdbFile(demo);
    expect(f.schema.name).toBe('OVN_Northbound');
    expect(f.schema.version).toBe('7.0.0');
    expect(f.transactions).toBe(1);
  });

  test('typed topology: two switches joined by a router, ACLs, a load balancer', () => {
    const db = loadNb(demo);
    expect(db.switches.map((s) => s.name).sort()).toEqual(['sw0', 'sw1']);
    const sw0 = db.lookupSwitch('sw0')!;
    expect(sw0.ports.map((p) => p.name).sort()).toEqual(['sw0-lr0', 'vm1', 'vm2']);
    expect(sw0.config.subnet).toEqual({ family: 4, addr: 0x0a000000, plen: 24, text: '10.0.0.0/24' });
    const vm1 = db.lookupPort('vm1')!;
    expect(vm1.addresses).toEqual([{ kind: 'static', text: '00:00:00:00:00:01 10.0.0.11', mac: 1, ips: [{ family: 4, addr: 0x0a00000b, plen: 32, text: '10.0.0.11' }] }]);
    expect(vm1.port_security.map((p) => p.mac)).toEqual([1]);
    expect(vm1.type).toBe('');
    const lr0 = db.lookupRouter('lr0')!;
    expect(lr0.ports.map((p) => [p.name, p.mac, p.networks.map((n) => n.text)]).sort()).toEqual([
      ['lr0-sw0', 0xff01, ['10.0.0.1/24']],
      ['lr0-sw1', 0xff02, ['10.0.1.1/24']],
    ]);
    for (const s of db.switches) {
      const rp = s.ports.find((p) => p.type === 'router')!;
      expect(db.routerOf(db.routerPortOf(rp)!)).toBe(lr0);
    }
    expect(sw0.acls.map((a) => [a.direction, a.priority, a.match, a.action]).sort()).toEqual([
      ['from-lport', 100, 'ip4', 'allow-related'],
      ['to-lport', 1000, 'ip4 && tcp.dst == 22', 'drop'],
    ]);
    const lb = db.lookupLoadBalancer('lb0')!;
    expect(lb.vipList.map((v) => [v.key, v.backends.map((b) => b.text)])).toEqual([['10.0.0.100:80', ['10.0.0.11:80', '10.0.1.13:80']]]);
    expect(sw0.load_balancer).toEqual([lb]);
    expect(lr0.load_balancer).toEqual([lb]);
    expect(db.row(lb.uuid)).toBe(lb);
    expect(db.tableOf(lb.uuid)).toBe('Load_Balancer');
  });

  test('writer round trip: our file reads back to the same rows', () => {
    const db = loadNb(demo);
    const again = loadNb(writeOvsdbFile(db.raw));
    expect(rawTables(again.raw)).toEqual(rawTables(db.raw));
  });

  test('written for the installed schema: its schema record, the same rows', () => {
    const db = loadNb(demo);
    const file = writeOvsdbFile(db.raw, { schema: NB_SCHEMA_UPSTREAM });
    const recs = readOvsdbRecords(file);
    const acl = (recs[0]!.json as { tables: Record<string, { columns: Record<string, unknown> }> }).tables.ACL!;
    expect(Object.keys(acl.columns)).not.toContain('tier');
    expect(recs[0]!.json).toEqual(schemaToJson(NB_SCHEMA_UPSTREAM));
    expect(rawTables(loadNb(file).raw)).toEqual(rawTables(db.raw));
  });

  test('written for the installed schema: what it cannot hold is an error naming the row', () => {
    const mk = (o: { tier?: number; action?: 'allow' | 'pass' }) => {
      const nb = new NbBuilder();
      const sw = nb.logicalSwitch('sw0');
      nb.acl(sw, { direction: 'to-lport', priority: 100, match: 'ip4', action: o.action ?? 'allow', ...(o.tier !== undefined ? { tier: o.tier } : {}) });
      return nb.toRaw();
    };
    expect(() => writeOvsdbFile(mk({ tier: 0 }), { schema: NB_SCHEMA_UPSTREAM })).not.toThrow();
    const tier = nbError(() => writeOvsdbFile(mk({ tier: 2 }), { schema: NB_SCHEMA_UPSTREAM }));
    expect([tier.table, tier.column]).toEqual(['ACL', 'tier']);
    expect(tier.message).toMatch(/schema OVN_Northbound 7\.0\.0 has no column tier to hold 2/);
    const pass = nbError(() => writeOvsdbFile(mk({ action: 'pass' }), { schema: NB_SCHEMA_UPSTREAM }));
    expect([pass.table, pass.column]).toEqual(['ACL', 'action']);
    expect(pass.message).toMatch(/value "pass" is not one of/);
  });
});

describe('file format errors carry record number and byte offset', () => {
  test('record length past the end of file', () => {
    const bad = Buffer.from(demo.toString('latin1').replace(/^OVSDB JSON \d+/, 'OVSDB JSON 99999999'), 'latin1');
    const e = nbError(() => loadNb(bad));
    expect([e.record, e.offset]).toEqual([0, 0]);
    expect(e.message).toMatch(/record length 99999999 runs past the end/);
  });

  test('record length too short breaks the checksum of the second record', () => {
    const off = records[1]!.offset;
    const head = demo.subarray(off, demo.indexOf(0x0a, off)).toString();
    const n = Number(head.split(' ')[2]);
    const bad = Buffer.concat([demo.subarray(0, off), Buffer.from(head.replace(` ${n} `, ` ${n - 1} `)), demo.subarray(demo.indexOf(0x0a, off))]);
    const e = nbError(() => loadNb(bad));
    expect([e.record, e.offset]).toEqual([1, off]);
    expect(e.message).toMatch(/SHA-1 mismatch/);
  });

  test('a flipped data byte fails the SHA-1 check', () => {
    const bad = Buffer.from(demo);
    const at = records[1]!.offset + 200;
    bad[at] = bad[at]! ^ 0x01;
    const e = nbError(() => loadNb(bad));
    expect(e.record).toBe(1);
    expect(e.offset).toBe(records[1]!.offset);
    expect(e.detail).toMatch(/^SHA-1 mismatch: header says [0-9a-f]{40}, data hashes to [0-9a-f]{40}$/);
  });

  test('bad header, clustered files, empty input, trailing garbage', () => {
    expect(nbError(() => loadNb(Buffer.from('OVSDB JSON x y\n{}\n'))).message).toMatch(/bad record header/);
    expect(nbError(() => loadNb(Buffer.from('OVSDB CLUSTER 3 a94a8fe5ccb19ba61c4c0873d391e987982fbbd3\n{}\n'))).message).toMatch(/clustered/);
    expect(nbError(() => loadNb(Buffer.alloc(0))).message).toMatch(/empty file/);
    const e = nbError(() => loadNb(Buffer.concat([demo, Buffer.from('garbage')])));
    expect([e.record, e.offset]).toEqual([2, demo.length]);
  });

  test('wrong schema name', () => {
    const bad = Buffer.concat([formatOvsdbRecord({ ...schemaJson, name: 'OVN_Southbound' })]);
    const e = nbError(() => loadNb(bad));
    expect(e.record).toBe(0);
    expect(e.message).toMatch(/schema name is "OVN_Southbound", expected "OVN_Northbound"/);
  });

  test('data that is not JSON (with a valid checksum)', () => {
    const body = Buffer.from('{"_date": 1, oops}\n');
    const rec = Buffer.concat([Buffer.from(`OVSDB JSON ${body.length} ${createHash('sha1').update(body).digest('hex')}\n`), body]);
    const e = nbError(() => loadNb(Buffer.concat([formatOvsdbRecord(schemaJson), rec])));
    expect(e.record).toBe(1);
    expect(e.message).toMatch(/not valid JSON/);
  });
});

describe('transaction and validation errors name table, row and column', () => {
  test('wrong JSON type', () => {
    const e = nbError(() => loadNb(fileWith({ ACL: { [U(1)]: { priority: 'high', action: 'drop', direction: 'to-lport' } } })));
    expect([e.table, e.row, e.column, e.record]).toEqual(['ACL', U(1), 'priority', 1]);
    expect(e.detail).toBe('expected an integer, got "high"');
  });

  test('enum value not allowed and integer out of range come from the schema', () => {
    const sw = { Logical_Switch: { [U(9)]: { name: 'sw', acls: ['uuid', U(1)] } } };
    let e = nbError(() => loadNb(fileWith({ ...sw, ACL: { [U(1)]: { priority: 1, action: 'permit', direction: 'to-lport', match: '1' } } })));
    expect([e.table, e.row, e.column]).toEqual(['ACL', U(1), 'action']);
    expect(e.detail).toMatch(/"permit" is not one of the allowed values "allow", "allow-related", "allow-stateless", "drop", "reject", "pass"/);
    e = nbError(() => loadNb(fileWith({ ...sw, ACL: { [U(1)]: { priority: 40000, action: 'drop', direction: 'to-lport', match: '1' } } })));
    expect([e.table, e.column, e.detail]).toEqual(['ACL', 'priority', '40000 is out of range 0..32767']);
    e = nbError(() => loadNb(fileWith({ ...sw, ACL: { [U(1)]: { priority: 1, action: 'drop', direction: 'to-lport', match: '1', name: 'x'.repeat(64) } } })));
    expect([e.column, e.detail]).toEqual(['name', `"${'x'.repeat(64)}" is longer than 63 characters`]);
  });

  test('dangling strong reference', () => {
    const e = nbError(() => loadNb(fileWith({ Logical_Switch: { [U(1)]: { name: 'sw0', ports: ['uuid', U(2)] } } })));
    expect([e.table, e.row, e.rowName, e.column]).toEqual(['Logical_Switch', U(1), 'sw0', 'ports']);
    expect(e.message).toBe(`table Logical_Switch row ${U(1)} (name "sw0"), column ports: reference to missing Logical_Switch_Port row ${U(2)}`);
  });

  test('bad CIDR, MAC and addresses are quoted', () => {
    const lr = (lrp: object) => ({ Logical_Router: { [U(1)]: { name: 'lr0', ports: ['uuid', U(2)] } }, Logical_Router_Port: { [U(2)]: { name: 'lrp0', mac: '00:00:00:00:00:01', networks: '10.0.0.1/24', ...lrp } } });
    let e = nbError(() => loadNb(fileWith(lr({ networks: '10.0.0.1/33' }))));
    expect([e.table, e.row, e.rowName, e.column]).toEqual(['Logical_Router_Port', U(2), 'lrp0', 'networks']);
    expect(e.detail).toBe('invalid CIDR "10.0.0.1/33": bad prefix length "33"');
    e = nbError(() => loadNb(fileWith(lr({ networks: '10.0.0.1' }))));
    expect(e.detail).toBe('invalid network "10.0.0.1": expected IP/prefix-length');
    e = nbError(() => loadNb(fileWith(lr({ mac: '00:00:00:00:00' }))));
    expect([e.column, e.detail]).toEqual(['mac', 'invalid MAC address "00:00:00:00:00"']);
    const ls = (lsp: object) => ({ Logical_Switch: { [U(1)]: { name: 'sw0', ports: ['uuid', U(2)] } }, Logical_Switch_Port: { [U(2)]: { name: 'p1', ...lsp } } });
    e = nbError(() => loadNb(fileWith(ls({ addresses: '00:00:00:00:00:01 10.0.0.256' }))));
    expect([e.table, e.rowName, e.column, e.detail]).toEqual(['Logical_Switch_Port', 'p1', 'addresses', 'invalid IP address "10.0.0.256"']);
    e = nbError(() => loadNb(fileWith(ls({ port_security: 'zz:00:00:00:00:01' }))));
    expect([e.column, e.detail]).toEqual(['port_security', 'invalid MAC address "zz:00:00:00:00:01"']);
    e = nbError(() => loadNb(fileWith({ Logical_Switch: { [U(1)]: { name: 'sw0', other_config: ['map', [['subnet', '10.0.0.0/99']]] } } })));
    expect([e.column, e.detail]).toEqual(['other_config', 'key "subnet": invalid CIDR "10.0.0.0/99": bad prefix length "99"']);
  });

  test('bad NAT, route, policy and load balancer addresses', () => {
    const lr = (t: object) => ({ Logical_Router: { [U(1)]: { name: 'lr0', nat: ['set', [['uuid', U(2)]]], static_routes: ['set', []], policies: ['set', []], ...t } } });
    let e = nbError(() => loadNb(fileWith({ ...lr({}), NAT: { [U(2)]: { type: 'snat', external_ip: '1.2.3', logical_ip: '10.0.0.0/24' } } })));
    expect([e.table, e.row, e.column, e.detail]).toEqual(['NAT', U(2), 'external_ip', 'invalid IP address "1.2.3"']);
    e = nbError(() => loadNb(fileWith({ ...lr({}), NAT: { [U(2)]: { type: 'dnat', external_ip: '1.2.3.4', logical_ip: '10.0.0.0/24' } } })));
    expect([e.column, e.detail]).toEqual(['logical_ip', 'dnat needs an address, not a network: "10.0.0.0/24"']);
    e = nbError(() => loadNb(fileWith({ ...lr({}), NAT: { [U(2)]: { type: 'snat', external_ip: '1.2.3.4', logical_ip: '10.0.0.1', external_port_range: '9-1' } } })));
    expect([e.column, e.detail]).toEqual(['external_port_range', 'invalid port range "9-1": must be within 1..65535 with low <= high']);
    e = nbError(() =>
      loadNb(fileWith({ ...lr({ nat: ['set', []], static_routes: ['uuid', U(3)] }), Logical_Router_Static_Route: { [U(3)]: { ip_prefix: '10.0.0.0/24', nexthop: 'gateway' } } })),
    );
    expect([e.table, e.column, e.detail]).toEqual(['Logical_Router_Static_Route', 'nexthop', 'invalid IP address "gateway"']);
    e = nbError(() =>
      loadNb(fileWith({ ...lr({ nat: ['set', []], policies: ['uuid', U(3)] }), Logical_Router_Policy: { [U(3)]: { priority: 1, match: '1', action: 'reroute', nexthops: 'fd00::1::2' } } })),
    );
    expect([e.table, e.column, e.detail]).toEqual(['Logical_Router_Policy', 'nexthops', 'invalid IPv6 address "fd00::1::2"']);
    e = nbError(() => loadNb(fileWith({ Load_Balancer: { [U(4)]: { name: 'lb', vips: ['map', [['10.0.0.1:80', '10.0.0.2:80,10.0.0.3']]] } } })));
    expect([e.table, e.rowName, e.column, e.detail]).toEqual(['Load_Balancer', 'lb', 'vips', 'key "10.0.0.1:80": backend "10.0.0.3" needs a port like the VIP']);
    e = nbError(() => loadNb(fileWith({ Load_Balancer: { [U(4)]: { name: 'lb', vips: ['map', [['10.0.0.1:99999', '10.0.0.2:80']]] } } })));
    expect(e.detail).toBe('key "10.0.0.1:99999": invalid port "10.0.0.1:99999": port must be 1..65535');
  });

  test('unknown table or column, deleting a missing row, duplicate indexed names', () => {
    let e = nbError(() => loadNb(fileWith({ Bogus: {} })));
    expect([e.table, e.record, e.detail]).toEqual(['Bogus', 1, 'no such table in the schema']);
    e = nbError(() => loadNb(fileWith({ Address_Set: { [U(1)]: { name: 'a', colour: 'red' } } })));
    expect([e.table, e.row, e.column]).toEqual(['Address_Set', U(1), 'colour']);
    e = nbError(() => loadNb(fileWith({}, { Address_Set: { [U(1)]: null } })));
    expect([e.record, e.table, e.row, e.detail]).toEqual([2, 'Address_Set', U(1), 'transaction deletes a row that does not exist']);
    e = nbError(() => loadNb(fileWith({ Port_Group: { [U(1)]: { name: 'pg' }, [U(2)]: { name: 'pg' } } })));
    expect([e.table, e.row, e.column]).toEqual(['Port_Group', U(2), 'name']);
    expect(e.detail).toBe(`duplicate name "pg": also in row ${U(1)}`);
    e = nbError(() =>
      loadNb(fileWith({ Logical_Switch: { [U(1)]: { name: 'a', ports: ['set', [['uuid', U(3)], ['uuid', U(4)]]] } }, Logical_Switch_Port: { [U(3)]: { name: 'p' }, [U(4)]: { name: 'p' } } })),
    );
    expect([e.table, e.column, e.detail]).toEqual(['Logical_Switch_Port', 'name', `duplicate name "p": also in row ${U(3)}`]);
  });
});

describe('replay semantics', () => {
  const base = { Logical_Switch: { [U(1)]: { name: 'sw0', other_config: ['map', [['a', '1'], ['b', '2']]], ports: ['set', [['uuid', U(2)], ['uuid', U(3)]]] } }, Logical_Switch_Port: { [U(2)]: { name: 'p2', enabled: false }, [U(3)]: { name: 'p3' } } };

  test('_is_diff: sets toggle, maps add/replace/remove, optional values are replaced', () => {
    const db = loadNb(
      fileWith(base, {
        _is_diff: true,
        _date: 2,
        _comment: 'ovn-nbctl: ...',
        Logical_Switch: { [U(1)]: { other_config: ['map', [['a', '1'], ['b', '3'], ['c', '4']]], ports: ['set', [['uuid', U(3)], ['uuid', U(4)]]] } },
        Logical_Switch_Port: { [U(2)]: { enabled: true }, [U(4)]: { name: 'p4', addresses: 'unknown' } },
      }),
    );
    const sw = db.lookupSwitch('sw0')!;
    expect(sw.other_config).toEqual(new Map([['b', '3'], ['c', '4']]));
    expect(sw.ports.map((p) => p.name)).toEqual(['p2', 'p4']);
    expect(db.lookupPort('p2')!.enabled).toBe(true);
    // p3 left every strong reference: garbage-collected like ovsdb-server does.
    expect(db.lookupPort('p3')).toBeUndefined();
  });

  test('without _is_diff, values replace', () => {
    const db = loadNb(fileWith(base, { Logical_Switch: { [U(1)]: { other_config: ['map', [['a', '1']]], ports: ['uuid', U(3)] } } }));
    expect(db.lookupSwitch('sw0')!.other_config).toEqual(new Map([['a', '1']]));
    expect(db.lookupSwitch('sw0')!.ports.map((p) => p.name)).toEqual(['p3']);
  });

  test('weak references to deleted rows are dropped; root rows stay', () => {
    const db = loadNb(
      fileWith(
        { Load_Balancer: { [U(5)]: { name: 'lb' } }, Logical_Switch: { [U(1)]: { name: 'sw0', load_balancer: ['uuid', U(5)] } }, Address_Set: { [U(6)]: { name: 'as' } } },
        { Load_Balancer: { [U(5)]: null } },
      ),
    );
    expect(db.lookupSwitch('sw0')!.load_balancer).toEqual([]);
    expect(db.lookupAddressSet('as')).toBeDefined();
  });

  test('ovsdb-client dump -f json and transact-insert JSON load too', () => {
    const dumpLine = JSON.stringify({ caption: 'Logical_Switch table', headings: ['_uuid', 'name', '_version'], data: [[['uuid', U(1)], 'sw9', ['uuid', U(2)]]] });
    expect(loadNb(`${dumpLine}\n`).lookupSwitch('sw9')!.uuid).toBe(U(1));
    const txn = JSON.stringify([
      'OVN_Northbound',
      { op: 'insert', table: 'Logical_Switch_Port', row: { name: 'pp', addresses: ['set', ['router']] }, 'uuid-name': 'p' },
      { op: 'insert', table: 'Logical_Switch', row: { name: 'swx', ports: ['named-uuid', 'p'] } },
    ]);
    const db = loadNb(txn);
    expect(db.lookupSwitch('swx')!.ports.map((p) => p.name)).toEqual(['pp']);
    expect(nbError(() => loadNb('["OVN_Northbound", {"op": "delete", "table": "ACL", "where": []}]')).detail).toMatch(/only "insert"/);
  });
});

describe('robustness: only NbError ever escapes', () => {
  const onlyNbErrors = (input: Uint8Array | string) => {
    try {
      loadNb(input);
    } catch (e) {
      if (!(e instanceof NbError)) throw e;
    }
  };

  test('arbitrary bytes and strings', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlyNbErrors(b)), { numRuns: 500 });
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => onlyNbErrors(`OVSDB JSON ${s}`)), { numRuns: 300 });
    fc.assert(fc.property(fc.json(), (s) => onlyNbErrors(s)), { numRuns: 300 });
  });

  test('truncations and byte mutations of the fixture', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: demo.length }), (n) => onlyNbErrors(demo.subarray(0, n))), { numRuns: 200 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(demo.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (muts) => {
        const b = Buffer.from(demo);
        for (const [i, v] of muts) b[i] = v;
        onlyNbErrors(b);
      }),
      { numRuns: 300 },
    );
  });

  test('structurally mutated transactions with valid checksums', () => {
    const txn = records[1]!.json as Record<string, Record<string, Record<string, unknown>>>;
    const paths: [string, string, string][] = [];
    for (const [t, rows] of Object.entries(txn)) {
      if (t.startsWith('_')) continue;
      for (const [u, row] of Object.entries(rows)) for (const c of Object.keys(row)) paths.push([t, u, c]);
    }
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(paths.length - 1), fc.jsonValue({ maxDepth: 3 })), { minLength: 1, maxLength: 4 }), (muts) => {
        const copy = JSON.parse(JSON.stringify(txn)) as typeof txn;
        for (const [i, v] of muts) {
          const [t, u, c] = paths[i]!;
          copy[t]![u]![c] = v;
        }
        onlyNbErrors(fileWith(copy));
      }),
      { numRuns: 400 },
    );
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => onlyNbErrors(fileWith(v))), { numRuns: 300 });
    // Mutations of the schema record: a random table or column definition replaced.
    const tables = schemaJson.tables as Record<string, { columns: Record<string, unknown> }>;
    const cols: [string, string][] = Object.entries(tables).flatMap(([t, ts]) => Object.keys(ts.columns).map((c) => [t, c] as [string, string]));
    fc.assert(
      fc.property(fc.nat(cols.length - 1), fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (i, v, whole) => {
        const s = JSON.parse(JSON.stringify(schemaJson)) as typeof schemaJson & { tables: typeof tables };
        const [t, c] = cols[i]!;
        if (whole) (s.tables as Record<string, unknown>)[t] = v;
        else s.tables[t]!.columns[c] = { type: v };
        onlyNbErrors(Buffer.concat([formatOvsdbRecord(s), formatOvsdbRecord(records[1]!.json)]));
      }),
      { numRuns: 400 },
    );
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => onlyNbErrors(Buffer.from(formatOvsdbRecord(v)))), { numRuns: 300 });
  });

  test('the checker agrees with fromRaw', () => {
    const f = readOvsdbFile(demo);
    expect(NbDatabase.check(f.raw)).toEqual([]);
  });
});
