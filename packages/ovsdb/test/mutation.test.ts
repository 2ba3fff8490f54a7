/**
 * Mutations where we differ from ovsdb-server 3.1 on purpose (docs/ovsdb.md): a negative integer
 * "*=" 0 is 0 (ovsdb-server's overflow check divides by the argument there and the server dies of
 * SIGFPE), and the range checks that OVS does make.
 */
import { describe, expect, test } from 'vitest';
import { Schema, transact, Database } from '@ovnts/ovsdb';
import { readFileSync } from 'node:fs';
import { TEST_SCHEMA_FILE } from './helpers.js';

function db(): Database {
  return new Database(Schema.fromJson(JSON.parse(readFileSync(TEST_SCHEMA_FILE, 'utf8'))));
}

describe('integer mutations', () => {
  test('a negative value times 0 is 0; overflow is a range error', () => {
    const d = db();
    const r1 = transact(d, ['Test', { op: 'insert', table: 'Child', row: { name: 'c', n: -3 }, 'uuid-name': 'c' }, { op: 'insert', table: 'Root', row: { name: 'r', e: 'blue', kids: ['named-uuid', 'c'] } }]);
    expect(JSON.stringify(r1)).not.toContain('error');
    const r2 = transact(d, ['Test', { op: 'mutate', table: 'Child', where: [], mutations: [['n', '*=', 0]] }, { op: 'select', table: 'Child', where: [], columns: ['n'] }]);
    expect(r2).toEqual([{ count: 1 }, { rows: [{ n: 0 }] }]);
    const r3 = transact(d, ['Test', { op: 'mutate', table: 'Child', where: [], mutations: [['n', '+=', -5], ['n', '*=', 2 ** 62]] }]);
    expect(r3).toEqual([{ details: 'Result of "*=" operation is out of range.', error: 'range error' }]);
  });
});
