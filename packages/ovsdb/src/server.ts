/**
 * An OVSDB server (RFC 7047 and ovsdb-server(7)): any number of databases plus `_Server`, served
 * over `punix:` and `ptcp:` listeners to JSON-RPC sessions, with the methods of ovsdb-server 3.1
 * (ovsdb/jsonrpc-server.c): list_dbs, get_schema, get_server_id, transact (with triggers: a
 * transaction whose "wait" fails is retried whenever its database changes, until its timeout),
 * cancel, monitor, monitor_cond, monitor_cond_since, monitor_cond_change, monitor_cancel, lock,
 * steal, unlock (with "locked"/"stolen" notifications), set_db_change_aware and echo. Errors are
 * ovsdb-server's, word for word.
 *
 * Ordering. A commit first queues every affected monitor's update on every session, then the
 * committing request gets its reply, so a client sees its own changes before the reply to the
 * transaction that made them (as ovsdb-server flushes monitors before replies). Triggers waiting
 * on the database run after that, on the next turn of the event loop.
 *
 * Robustness. Invalid JSON or an invalid JSON-RPC message closes that one connection, as OVS
 * does; a request that is valid JSON-RPC but a bad OVSDB request gets an error reply; nothing a
 * client sends changes the database unless it is a transaction that commits, and an exception
 * while handling one session's message closes that session only.
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { hmapOrder, ovsHashString } from '@ovnts/ovn';
import { isId, newUuid } from './datum.js';
import { Database, type ChangeSet } from './db.js';
import { OvsdbError, syntaxError } from './errors.js';
import { executeTransaction } from './execute.js';
import { formatJson, jsonEqual } from './json.js';
import { History, Monitor, type MonitorVersion } from './monitor.js';
import { parseListen, RpcConnection, type RpcMessage } from './rpc.js';
import { SERVER_SCHEMA, type Schema } from './schema.js';
import { Txn } from './txn.js';
import { isUuid } from '@ovnts/ovn';

/** Options of `OvsdbServer`. */
export interface OvsdbServerOptions {
  /** Where to log connection problems (invalid messages, unexpected errors); default: nowhere. */
  log?: (line: string) => void;
  /** Committed transactions kept per database for monitor_cond_since (default 100). */
  historyLimit?: number;
  /** Refuse every write, as `ovsdb-server` does for a read-only remote. */
  readOnly?: boolean;
}

interface Served {
  readonly db: Database;
  readonly history: History;
  readonly triggers: Trigger[];
  readonly listeners: Set<(cs: ChangeSet) => void>;
}

interface Trigger {
  readonly session: Session | undefined;
  readonly served: Served;
  readonly params: unknown[];
  readonly key: string;
  readonly created: number;
  timer: NodeJS.Timeout | undefined;
  tried?: boolean;
  readonly done: (results: unknown[] | undefined, error?: string) => void;
}

interface LockState {
  readonly name: string;
  readonly waiters: Waiter[];
}

interface Waiter {
  readonly session: Session;
  readonly name: string;
  readonly mode: 'wait' | 'steal';
  lock: LockState | undefined;
}

class Session {
  readonly monitors = new Map<string, { monitor: Monitor; served: Served }>();
  readonly waiters = new Map<string, Waiter>();
  readonly pending = new Map<string, Trigger>();
  changeAware = false;
  conn!: RpcConnection;

  owns(name: string): boolean {
    const w = this.waiters.get(name);
    return w?.lock !== undefined && w.lock.waiters[0] === w;
  }
}

function key(id: unknown): string {
  return formatJson(id, { sort: true });
}

/** An OVSDB server; see the module comment. */
export class OvsdbServer {
  /** The server's uuid (get_server_id). */
  readonly id = newUuid();
  private readonly served = new Map<string, Served>();
  private readonly serverDb = new Database(SERVER_SCHEMA);
  private readonly sessions = new Set<Session>();
  private readonly locks = new Map<string, LockState>();
  private readonly listeners: { server: NetServer; path?: string }[] = [];
  private readonly log: (line: string) => void;
  private closed = false;

  constructor(private readonly opts: OvsdbServerOptions = {}) {
    this.log = opts.log ?? (() => {});
    this.served.set('_Server', { db: this.serverDb, history: new History(opts.historyLimit ?? 100), triggers: [], listeners: new Set() });
  }

  /** Serve a database (a `Database`, or a new empty one for a `Schema`); returns it. */
  addDatabase(dbOrSchema: Database | Schema): Database {
    const db = dbOrSchema instanceof Database ? dbOrSchema : new Database(dbOrSchema);
    if (this.served.has(db.schema.name)) throw new OvsdbError('invalid parameters', `database ${db.schema.name} is already served`);
    this.served.set(db.schema.name, { db, history: new History(this.opts.historyLimit ?? 100), triggers: [], listeners: new Set() });
    // Its row in _Server's Database table, as ovsdb-server fills it for a standalone database.
    const table = this.serverDb.tables.get('Database')!;
    const txn = new Txn(this.serverDb);
    const fields = new Map([
      ['name', { keys: [db.schema.name] }],
      ['model', { keys: ['standalone'] }],
      ['connected', { keys: [true] }],
      ['leader', { keys: [true] }],
      ['schema', { keys: [formatJson(db.schema.toJson(), { sort: true })] }],
      ['cid', { keys: [] }],
      ['sid', { keys: [] }],
      ['index', { keys: [] }],
    ]);
    txn.insert(table, { uuid: newUuid(), fields });
    this.commit(this.served.get('_Server')!, txn);
    return db;
  }

  /** A served database by name. */
  database(name: string): Database | undefined {
    return this.served.get(name)?.db;
  }

  /** Call `f` after every commit that changes database `name`; returns an unsubscribe function. */
  onCommit(name: string, f: (cs: ChangeSet) => void): () => void {
    const s = this.served.get(name);
    if (!s) throw new OvsdbError('unknown database', `no database named ${name}`);
    s.listeners.add(f);
    return () => s.listeners.delete(f);
  }

  /**
   * Run a transaction from inside the process (`params` as in "transact": `[db-name, op...]`).
   * Resolves with the results, like a client's reply (it waits like a trigger if a "wait" asks to).
   */
  transact(params: unknown[]): Promise<unknown[]> {
    const name = params[0];
    const served = typeof name === 'string' ? this.served.get(name) : undefined;
    if (!served) return Promise.reject(new OvsdbError('unknown database', `transact request specifies unknown database ${String(name)}`));
    return new Promise((resolve, reject) => {
      const t: Trigger = {
        session: undefined,
        served,
        params,
        key: newUuid(),
        created: Date.now(),
        timer: undefined,
        done: (results, error) => (results ? resolve(results) : reject(new OvsdbError(error ?? 'canceled'))),
      };
      if (!this.tryTrigger(t)) served.triggers.push(t);
    });
  }

  // ---- commits, triggers ----

  private commit(served: Served, txn: Txn): OvsdbError | undefined {
    const e = txn.precommit();
    if (e) return e;
    const cs = txn.commit();
    if (!cs.changes.length) return undefined;
    served.history.add(cs);
    for (const s of this.sessions) {
      for (const { monitor, served: ms } of s.monitors.values()) {
        if (ms !== served) continue;
        const u = monitor.compose(cs.changes);
        if (!u) continue;
        if (monitor.version === 3) s.conn.notify('update3', [monitor.id, cs.id, u]);
        else s.conn.notify(monitor.version === 2 ? 'update2' : 'update', [monitor.id, u]);
      }
    }
    for (const f of served.listeners) {
      try {
        f(cs);
      } catch (err) {
        this.log(`commit listener of ${served.db.schema.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (served.triggers.length) setImmediate(() => this.runTriggers(served));
    return undefined;
  }

  /** Try a pending transaction; true when it completed (replied). */
  private tryTrigger(t: Trigger): boolean {
    // The first attempt runs at the arrival time (ovsdb-server's clock does not move within
    // one main-loop iteration), so a "wait" with timeout 0 fails with "where" clause test failed.
    const elapsed = t.tried ? Date.now() - t.created : 0;
    t.tried = true;
    const out = executeTransaction(t.served.db, t.params, {
      ownsLock: (n) => t.session?.owns(n) ?? false,
      elapsedMs: elapsed,
      readOnly: this.opts.readOnly === true,
    });
    if (!out.results) {
      if (t.timer) clearTimeout(t.timer);
      t.timer = undefined;
      if (Number.isFinite(out.timeoutMs)) {
        const delay = Math.max(0, t.created + out.timeoutMs - Date.now());
        t.timer = setTimeout(() => {
          t.timer = undefined;
          this.retry(t);
        }, delay);
      }
      return false;
    }
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
    if (out.txn) {
      const e = this.commit(t.served, out.txn);
      if (e) out.results.push(e.toJson());
    }
    t.done(out.results);
    return true;
  }

  private retry(t: Trigger): void {
    const list = t.served.triggers;
    const i = list.indexOf(t);
    if (i < 0) return;
    if (this.tryTrigger(t)) {
      list.splice(list.indexOf(t), 1);
      t.session?.pending.delete(t.key);
    }
  }

  private runTriggers(served: Served): void {
    for (const t of [...served.triggers]) this.retry(t);
  }

  private dropTrigger(t: Trigger): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
    const i = t.served.triggers.indexOf(t);
    if (i >= 0) t.served.triggers.splice(i, 1);
    t.session?.pending.delete(t.key);
  }

  // ---- sessions ----

  /** Serve one already-connected socket (listeners call this; tests may too). */
  attach(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const s = new Session();
    s.conn = new RpcConnection(socket, {
      message: (msg) => {
        try {
          this.handle(s, msg);
        } catch (e) {
          this.log(`session closed after an unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
          s.conn.close();
        }
      },
      close: (reason) => {
        if (reason) this.log(`connection closed: ${reason.message}`);
        this.endSession(s);
      },
    });
    this.sessions.add(s);
  }

  private endSession(s: Session): void {
    if (!this.sessions.delete(s)) return;
    s.monitors.clear();
    for (const t of [...s.pending.values()]) this.dropTrigger(t);
    for (const w of [...s.waiters.values()]) this.unlockWaiter(w);
    s.waiters.clear();
  }

  private lookupDb(s: Session, msg: { method: string; params: unknown[]; id: unknown }): Served | undefined {
    const p = msg.params;
    if (!p.length || typeof p[0] !== 'string') {
      s.conn.error(msg.id, syntaxError(p, undefined, `${msg.method} request params must begin with <db-name>`).toJson());
      return undefined;
    }
    const served = this.served.get(p[0]);
    if (!served) {
      s.conn.error(msg.id, syntaxError(p, 'unknown database', `${msg.method} request specifies unknown database ${p[0]}`).toJson());
      return undefined;
    }
    return served;
  }

  private syntaxReply(s: Session, msg: { method: string; params: unknown[]; id: unknown }, details: string): void {
    s.conn.error(msg.id, syntaxError(msg.params, undefined, `${msg.method}: ${details}`).toJson());
  }

  private handle(s: Session, msg: RpcMessage): void {
    if (msg.type === 'notify') {
      if (msg.method === 'cancel' && msg.params.length === 1) {
        const t = s.pending.get(key(msg.params[0]));
        if (t) {
          this.dropTrigger(t);
          t.done(undefined, 'canceled');
        }
      }
      return;
    }
    if (msg.type !== 'request') return;
    const { method, params, id } = msg;
    switch (method) {
      case 'transact': {
        const served = this.lookupDb(s, msg);
        if (!served) return;
        const k = key(id);
        if (s.pending.has(k)) return this.syntaxReply(s, msg, 'duplicate request ID');
        const t: Trigger = {
          session: s,
          served,
          params,
          key: k,
          created: Date.now(),
          timer: undefined,
          done: (results, error) => (results ? s.conn.reply(id, results) : s.conn.error(id, error ?? 'canceled')),
        };
        if (!this.tryTrigger(t)) {
          served.triggers.push(t);
          s.pending.set(k, t);
        }
        return;
      }
      case 'monitor':
      case 'monitor_cond':
      case 'monitor_cond_since': {
        const served = this.lookupDb(s, msg);
        if (!served) return;
        const version: MonitorVersion = method === 'monitor' ? 1 : method === 'monitor_cond' ? 2 : 3;
        try {
          s.conn.reply(id, this.createMonitor(s, served, params, version));
        } catch (e) {
          if (!(e instanceof OvsdbError)) throw e;
          s.conn.error(id, e.toJson());
        }
        return;
      }
      case 'monitor_cond_change': {
        try {
          this.changeMonitor(s, params);
          s.conn.reply(id, {});
        } catch (e) {
          if (!(e instanceof OvsdbError)) throw e;
          s.conn.error(id, e.toJson());
        }
        return;
      }
      case 'monitor_cancel': {
        if (params.length !== 1) return s.conn.error(id, 'invalid parameters');
        const k = key(params[0]);
        if (!s.monitors.has(k)) return s.conn.error(id, 'unknown monitor');
        s.monitors.delete(k);
        return s.conn.reply(id, {});
      }
      case 'get_schema': {
        const served = this.lookupDb(s, msg);
        if (served) s.conn.reply(id, served.db.schema.toJson());
        return;
      }
      case 'list_dbs':
        return s.conn.reply(id, hmapOrder([...this.served.keys()], (n) => ovsHashString(n)));
      case 'get_server_id':
        return s.conn.reply(id, this.id);
      case 'lock':
      case 'steal':
        return this.lock(s, msg, method === 'steal' ? 'steal' : 'wait');
      case 'unlock':
        return this.unlock(s, msg);
      case 'set_db_change_aware':
        if (params.length !== 1 || typeof params[0] !== 'boolean') return this.syntaxReply(s, msg, 'true or false parameter expected');
        s.changeAware = params[0];
        return s.conn.reply(id, {});
      case 'echo':
        return s.conn.reply(id, params);
      default:
        return s.conn.error(id, 'unknown method');
    }
  }

  private createMonitor(s: Session, served: Served, params: unknown[], version: MonitorVersion): unknown {
    if ((version === 1 && params.length !== 3) || (version === 2 && params.length !== 3) || (version === 3 && params.length !== 4)) {
      throw syntaxError(params, undefined, 'invalid parameters');
    }
    const monitorId = params[1];
    const requests = params[2];
    if (typeof requests !== 'object' || requests === null || Array.isArray(requests)) throw syntaxError(requests, undefined, 'monitor-requests must be object');
    const k = key(monitorId);
    if (s.monitors.has(k)) throw syntaxError(monitorId, undefined, 'duplicate monitor ID');
    const monitor = Monitor.create(served.db, monitorId, version, requests);
    let updates: unknown;
    let found = false;
    if (version === 3) {
      const last = params[3];
      if (typeof last !== 'string') throw syntaxError(last, undefined, 'last-txn-id must be string');
      if (!isUuid(last)) throw syntaxError(last, undefined, 'last-txn-id must be UUID format.');
      if (!/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(last)) {
        const since = served.history.since(last.toLowerCase());
        if (since) {
          found = true;
          updates = monitor.compose(since);
        }
      }
    }
    if (!found) updates = monitor.initial();
    s.monitors.set(k, { monitor, served });
    updates ??= {};
    return version === 3 ? [found, served.db.lastTxnId, updates] : updates;
  }

  private changeMonitor(s: Session, params: unknown[]): void {
    if (params.length !== 3) throw syntaxError(params, undefined, 'invalid parameters');
    const entry = s.monitors.get(key(params[0]));
    if (!entry) throw syntaxError(params[0], undefined, 'unknown monitor session');
    const newId = params[1];
    const changing = !jsonEqual(entry.monitor.id, newId);
    if (changing && s.monitors.has(key(newId))) throw syntaxError(newId, undefined, 'duplicate monitor ID');
    const u = entry.monitor.changeConditions(params[2]);
    const monitor = entry.monitor;
    if (changing) {
      s.monitors.delete(key(params[0]));
      monitor.id = newId;
      s.monitors.set(key(newId), entry);
    }
    if (u) {
      if (monitor.version === 3) s.conn.notify('update3', [monitor.id, entry.served.db.lastTxnId, u]);
      else s.conn.notify(monitor.version === 2 ? 'update2' : 'update', [monitor.id, u]);
    }
  }

  // ---- locks ----

  private lockName(s: Session, msg: { method: string; params: unknown[]; id: unknown }): string | undefined {
    const p = msg.params;
    if (p.length !== 1 || typeof p[0] !== 'string' || !isId(p[0])) {
      s.conn.error(msg.id, syntaxError(p, undefined, `${msg.method} request params must be <id>`).toJson());
      return undefined;
    }
    return p[0];
  }

  private lock(s: Session, msg: { method: string; params: unknown[]; id: unknown }, mode: 'wait' | 'steal'): void {
    if (this.opts.readOnly) return s.conn.error(msg.id, 'lock and unlock methods not allowed, DB server is read only.');
    const name = this.lockName(s, msg);
    if (name === undefined) return;
    if (s.waiters.has(name)) {
      return s.conn.error(msg.id, syntaxError(msg.params, undefined, `must issue "unlock" before new "${msg.method}"`).toJson());
    }
    let lock = this.locks.get(name);
    if (!lock) this.locks.set(name, (lock = { name, waiters: [] }));
    const victim = mode === 'steal' && lock.waiters.length ? lock.waiters[0]! : undefined;
    const w: Waiter = { session: s, name, mode, lock };
    if (mode === 'steal') lock.waiters.unshift(w);
    else lock.waiters.push(w);
    s.waiters.set(name, w);
    if (victim && victim.mode === 'steal') this.removeWaiter(victim);
    if (victim) victim.session.conn.notify('stolen', [name]);
    s.conn.reply(msg.id, { locked: lock.waiters[0] === w });
  }

  /** Take `w` out of its lock's queue; returns the new owner's session, if the owner changed. */
  private removeWaiter(w: Waiter): Session | undefined {
    const lock = w.lock;
    if (!lock) return undefined;
    const wasOwner = lock.waiters[0] === w;
    lock.waiters.splice(lock.waiters.indexOf(w), 1);
    w.lock = undefined;
    if (!lock.waiters.length) {
      this.locks.delete(lock.name);
      return undefined;
    }
    return wasOwner ? lock.waiters[0]!.session : undefined;
  }

  private unlockWaiter(w: Waiter): void {
    const lockName = w.lock?.name;
    const owner = this.removeWaiter(w);
    if (owner && lockName !== undefined) owner.conn.notify('locked', [lockName]);
  }

  private unlock(s: Session, msg: { method: string; params: unknown[]; id: unknown }): void {
    if (this.opts.readOnly) return s.conn.error(msg.id, 'lock and unlock methods not allowed, DB server is read only.');
    const name = this.lockName(s, msg);
    if (name === undefined) return;
    const w = s.waiters.get(name);
    if (!w) return this.syntaxReply(s, msg, '"unlock" without "lock" or "steal"');
    this.unlockWaiter(w);
    s.waiters.delete(name);
    s.conn.reply(msg.id, {});
  }

  // ---- listeners ----

  /**
   * Listen on `punix:PATH` or `ptcp:PORT[:IP]` (port 0 picks a free port). Resolves with the
   * active remote clients use (`unix:PATH`, `tcp:IP:PORT`).
   */
  listen(spec: string): Promise<string> {
    const l = parseListen(spec);
    const server = createServer((socket) => this.attach(socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const done = () => {
        server.removeListener('error', reject);
        server.on('error', (e) => this.log(`listener ${spec}: ${e.message}`));
        if (l.kind === 'punix') {
          this.listeners.push({ server, path: l.path });
          resolve(`unix:${l.path}`);
        } else {
          this.listeners.push({ server });
          const a = server.address() as AddressInfo;
          resolve(`tcp:${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`);
        }
      };
      if (l.kind === 'punix') {
        // Like ovsdb-server, replace a stale socket file.
        if (existsSync(l.path) && lstatSync(l.path).isSocket()) unlinkSync(l.path);
        server.listen(l.path, done);
      } else server.listen(l.port, l.host, done);
    });
  }

  /** Stop listening, close every session, cancel pending transactions. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.sessions]) s.conn.close();
    for (const served of this.served.values()) for (const t of [...served.triggers]) {
      this.dropTrigger(t);
      t.done(undefined, 'canceled');
    }
    await Promise.all(
      this.listeners.map(
        (l) =>
          new Promise<void>((resolve) => {
            l.server.close(() => resolve());
          }),
      ),
    );
    for (const l of this.listeners) {
      if (l.path && existsSync(l.path)) {
        try {
          unlinkSync(l.path);
        } catch {
          // Already gone.
        }
      }
    }
    this.listeners.length = 0;
  }

  /** Number of connected sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }
}
