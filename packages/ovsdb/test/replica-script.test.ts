/**
 * OvsdbReplica and OvsdbFollower against scripted servers (test/scripted.ts): interleavings a
 * real clustered ovsdb-server produces only now and then, made to happen on every run.
 *
 * - A monitor's reply and the update of the next transaction in one chunk: the update must be
 *   applied after the reply's contents, not wiped by them (the race that left a chassis of the
 *   scale-out test without another chassis's claim), and the last transaction id must be the
 *   update's, so a reconnection resumes after it.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { OvsdbFollower, OvsdbReplica } from '@ovnts/ovsdb';
import { TEST_SCHEMA_FILE } from './helpers.js';
import { ScriptedConn, ScriptedServer, memberAnswer, type ScriptedRequest } from './scripted.js';

const DB = 'Test';
const SCHEMA = JSON.parse(readFileSync(TEST_SCHEMA_FILE, 'utf8')) as unknown;
const A = 'aaaaaaaa-0000-0000-0000-000000000001';
const B = 'bbbbbbbb-0000-0000-0000-000000000002';
const ROW = { fixed: 'f' };

const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function until(what: string, f: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  expect(f(), what).toBe(true);
}

/** Names of the replica's Root rows by uuid. */
function names(db: OvsdbReplica['db']): Record<string, string> {
  return Object.fromEntries([...db.table('Root')!.rows].map(([u, r]) => [u, String(r.fields.get('name')!.keys[0])]).sort());
}

/**
 * A member whose reply to monitor_cond_since (the full contents: row A) arrives in one chunk with
 * the update of the next transaction (A renamed, B inserted: txn-2).
 */
function replyAndUpdateInOneChunk(conn: ScriptedConn, req: ScriptedRequest): void {
  const known = memberAnswer(req, DB, SCHEMA);
  if (known !== undefined) return conn.send(ScriptedConn.reply(req.id, known));
  if (req.method !== 'monitor_cond_since') return;
  const since = req.params[3];
  const reply = since === 'txn-2' ? [true, 'txn-2', {}] : [false, 'txn-1', { Root: { [A]: { initial: { ...ROW, name: 'a' } } } }];
  const update = ScriptedConn.notify('update3', [req.params[1], 'txn-2', { Root: { [A]: { modify: { name: 'a2' } }, [B]: { insert: { ...ROW, name: 'b' } } } }]);
  if (since === 'txn-2') conn.send(ScriptedConn.reply(req.id, reply));
  else conn.send(ScriptedConn.reply(req.id, reply), update);
}

describe('OvsdbReplica against a scripted member', () => {
  test("an update in the monitor reply's chunk is applied after the reply, and resumed from", async () => {
    const s = await ScriptedServer.start(replyAndUpdateInOneChunk);
    servers.push(s);
    const rep = await OvsdbReplica.connect([s.remote], DB);
    try {
      expect(names(rep.db)).toEqual({ [A]: 'a2', [B]: 'b' });
      expect(rep.lastTxnId).toBe('txn-2');
    } finally {
      rep.close();
    }
    // A follower that loses its member resumes after txn-2 (nothing missed, nothing twice).
    const f = await OvsdbFollower.start([s.remote], DB, { backoffMs: 10 });
    try {
      expect(names(f.db)).toEqual({ [A]: 'a2', [B]: 'b' });
      s.conns.at(-1)!.close();
      await until('a second monitor_cond_since', () => s.conns.length === 3 && s.conns[2]!.requests.some((r) => r.method === 'monitor_cond_since'));
      expect(s.conns[2]!.requests.find((r) => r.method === 'monitor_cond_since')!.params[3]).toBe('txn-2');
      expect(names(f.db)).toEqual({ [A]: 'a2', [B]: 'b' });
    } finally {
      f.close();
    }
  });
});
