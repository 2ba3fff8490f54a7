/**
 * OvsdbReplica and OvsdbFollower against scripted servers (test/scripted.ts): interleavings a
 * real clustered ovsdb-server produces only now and then, made to happen on every run.
 *
 * - A monitor's reply and the update of the next transaction in one chunk: the update must be
 *   applied after the reply's contents, not wiped by them (the race that left a chassis of the
 *   scale-out test without another chassis's claim), and the last transaction id must be the
 *   update's, so a reconnection resumes after it.
 * - Remotes shuffled as ovsdb-cs shuffles them (a seeded random source: every member comes
 *   first for some seed; `shuffle: false` keeps the order).
 * - The `_Server` checks: a member not connected to its cluster or behind the Raft index already
 *   seen is passed over; a followed member whose row turns disconnected is left.
 * - Inactivity probes: a member that goes silent is left after two probe intervals; one that
 *   answers the echo is kept.
 * - The live raw view (`rawDb`) equals a full copy (`db.toRawDb()`) after every one of a seeded
 *   sequence of inserts, modifies and deletes, across a reconnection that reloads everything.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { OvsdbFollower, OvsdbReplica, type FollowerEvent } from '@ovnts/ovsdb';
import { TEST_SCHEMA_FILE } from './helpers.js';
import { ScriptedConn, ScriptedServer, member, memberAnswer, type MemberState, type ScriptedRequest } from './scripted.js';

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

/** A seeded random source (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Three scripted members with the given states. */
async function members(...states: MemberState[]): Promise<ScriptedServer[]> {
  const out = await Promise.all(states.map((st) => ScriptedServer.start(member(DB, SCHEMA, st))));
  servers.push(...out);
  return out;
}

describe('OvsdbFollower picks and leaves members as ovsdb-cs does', () => {
  test('remotes are tried in a shuffled order (seeded); shuffle: false keeps the given order', async () => {
    const ms = await members({}, {}, {});
    const remotes = ms.map((m) => m.remote);
    const firsts = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) {
      const f = await OvsdbFollower.start(remotes, DB, { random: seeded(seed) });
      try {
        expect([...f.remotes].sort()).toEqual([...remotes].sort());
        expect(f.remote).toBe(f.remotes[0]);
        firsts.add(f.remote);
      } finally {
        f.close();
      }
    }
    expect(firsts.size, 'members that came first over 12 seeds').toBe(3);
    const f = await OvsdbFollower.start(remotes, DB, { shuffle: false });
    try {
      expect(f.remotes).toEqual(remotes);
      expect(f.remote).toBe(remotes[0]);
    } finally {
      f.close();
    }
  });

  test('a member not connected to its cluster or stale is passed over; one whose row turns disconnected is left', async () => {
    const states: MemberState[] = [{ index: 10 }, { index: 5 }, { connected: false, index: 20 }];
    const ms = await members(...states);
    const remotes = ms.map((m) => m.remote);
    const f = await OvsdbFollower.start(remotes, DB, { shuffle: false, backoffMs: 10 });
    const events: FollowerEvent[] = [];
    f.onEvent((e) => events.push(e));
    try {
      expect(f.remote).toBe(remotes[0]);
      // Member 0 loses its cluster and drops the connection: member 1 is behind the index 10
      // already seen, member 2 and member 0 are not connected to their cluster.
      states[0]!.connected = false;
      ms[0]!.conns.at(-1)!.close();
      await until('a retry', () => events.some((e) => e.kind === 'retry'));
      const retry = events.find((e) => e.kind === 'retry') as { error: string };
      expect(retry.error).toContain(`${remotes[1]}: is stale (Raft index 5 < 10 already seen)`);
      expect(retry.error).toContain(`${remotes[2]}: is not connected to its cluster`);
      expect(retry.error).toContain(`${remotes[0]}: is not connected to its cluster`);
      expect(ms[1]!.conns[0]!.requests.map((r) => r.method)).not.toContain('monitor_cond_since');
      // Member 1 catches up: the follower goes there.
      states[1]!.index = 15;
      await until('on member 1', () => f.connected && f.remote === remotes[1]);
      // Member 1's row turns disconnected (its _Server monitor says so): the follower leaves it
      // for member 2, connected again.
      states[1]!.connected = false;
      states[2]!.connected = true;
      const c1 = ms[1]!.conns.at(-1)!;
      const mon = c1.requests.find((r) => r.method === 'monitor_cond' && r.params[0] === '_Server')!;
      c1.send(ScriptedConn.notify('update2', [mon.params[1], { Database: { '11111111-1111-1111-1111-111111111111': { modify: { connected: false } } } }]));
      await until('on member 2', () => f.connected && f.remote === remotes[2]);
      expect(events.filter((e) => e.kind === 'disconnected').map((e) => (e as { remote: string }).remote)).toEqual([remotes[0], remotes[1]]);
    } finally {
      f.close();
    }
  });

  test('a member that stops answering is left after two probe intervals; one that answers is kept', async () => {
    const states: MemberState[] = [{}, {}];
    const ms = await members(...states);
    const remotes = ms.map((m) => m.remote);
    const f = await OvsdbFollower.start(remotes, DB, { shuffle: false, probeIntervalMs: 100, backoffMs: 10 });
    const events: FollowerEvent[] = [];
    f.onEvent((e) => events.push(e));
    try {
      // Answering: echoes are sent and answered, the connection stays.
      await until('two echoes answered', () => ms[0]!.conns[0]!.requests.filter((r) => r.method === 'echo').length >= 2);
      expect(f.remote).toBe(remotes[0]);
      expect(events).toEqual([]);
      // Silent: the next echo goes unanswered and the follower moves on.
      states[0]!.silent = true;
      await until('on member 1', () => f.connected && f.remote === remotes[1]);
      const d = events.find((e) => e.kind === 'disconnected');
      expect(d && 'reason' in d ? d.reason : '').toMatch(/no response to inactivity probe after/);
    } finally {
      f.close();
    }
  });
});

/** A RawDb as comparable text (tables, rows by uuid, columns). */
function rawText(raw: ReturnType<OvsdbReplica['rawDb']>): string {
  return JSON.stringify([...raw.tables].sort(([a], [b]) => (a < b ? -1 : 1)).map(([t, rows]) => [t, [...rows].sort(([a], [b]) => (a < b ? -1 : 1)).map(([u, r]) => [u, [...r].sort(([a], [b]) => (a < b ? -1 : 1))])]));
}

describe('the live raw view', () => {
  test('equals a full copy after every update of a seeded sequence and across a reload', async () => {
    const random = seeded(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const rows = new Map<string, { name: string; ints: number[] }>();
    let txn = 0;
    const initial = () => Object.fromEntries([...rows].map(([u, r]) => [u, { initial: { ...ROW, name: r.name, ints: ['set', r.ints] } }]));
    const s = await ScriptedServer.start((conn, req) => {
      const known = memberAnswer(req, DB, SCHEMA);
      if (known !== undefined) conn.send(ScriptedConn.reply(req.id, known));
      else if (req.method === 'monitor_cond_since') conn.send(ScriptedConn.reply(req.id, [false, `txn-${txn}`, { Root: initial() }]));
    });
    servers.push(s);
    const f = await OvsdbFollower.start([s.remote], DB, { backoffMs: 10 });
    try {
      expect(rawText(f.rawDb())).toBe(rawText(f.db.toRawDb()));
      for (let step = 0; step < 150; step++) {
        if (step === 90) {
          // The member drops the connection; the follower comes back to a full reload.
          s.conns.at(-1)!.close();
          await until('reconnected', () => s.conns.length === 2 && f.connected);
          expect(rawText(f.rawDb())).toBe(rawText(f.db.toRawDb()));
        }
        const u = [...rows.keys()];
        const kind = u.length < 3 ? 'insert' : pick(['insert', 'modify', 'modify', 'delete']);
        let change: Record<string, unknown>;
        if (kind === 'insert') {
          const uuid = `cccccccc-0000-0000-0000-${String(step).padStart(12, '0')}`;
          const r = { name: `r${step}`, ints: [step % 50] };
          rows.set(uuid, r);
          change = { [uuid]: { insert: { ...ROW, name: r.name, ints: ['set', r.ints] } } };
        } else if (kind === 'modify') {
          const uuid = pick(u);
          const r = rows.get(uuid)!;
          const flip = Math.floor(random() * 50);
          // update2: a set column's diff is the symmetric difference.
          r.ints = r.ints.includes(flip) ? r.ints.filter((x) => x !== flip) : [...r.ints, flip];
          r.name = `${r.name}'`;
          change = { [uuid]: { modify: { name: r.name, ints: ['set', [flip]] } } };
        } else {
          const uuid = pick(u);
          rows.delete(uuid);
          change = { [uuid]: { delete: null } };
        }
        txn++;
        s.conns.at(-1)!.send(ScriptedConn.notify('update3', [['ovnts-replica', DB], `txn-${txn}`, { Root: change }]));
        const want = JSON.stringify(Object.fromEntries([...rows].map(([u, r]) => [u, r.name]).sort()));
        await until(`txn-${txn} applied`, () => JSON.stringify(names(f.db)) === want);
        expect(rawText(f.rawDb()), `after ${kind} (step ${step})`).toBe(rawText(f.db.toRawDb()));
      }
      const ints = [...f.db.table('Root')!.rows].map(([u, r]) => [u, [...r.fields.get('ints')!.keys].sort()]).sort();
      expect(ints).toEqual([...rows].map(([u, r]) => [u, [...r.ints].sort()]).sort());
    } finally {
      f.close();
    }
  });
});
