/**
 * A live copy of a remote database, as an IDL keeps one: connect, read the schema, monitor every
 * table and column with `monitor_cond_since`, and apply the initial contents and each `update3`
 * to a local `Database`. Southbound consumers (an emulated chassis) read `db` (or
 * `sbFromRaw(replica.db.toRawDb())` from @ovnts/ovn for the southbound model) and write through
 * `client` (`client.transact(...)`, e.g. to claim a Port_Binding as ovn-controller does).
 *
 * `remotes` may list several servers (the members of a clustered database). As OVS's ovsdb-cs
 * does, the replica first monitors the server's `_Server` row of the database and checks its
 * initial contents: a server that does not serve it, a cluster member that is not connected to its
 * cluster (no quorum), a follower when `leaderOnly` is asked, or a member whose Raft index is
 * behind what this client has already seen (a stale member) is passed over for the next one. The
 * first that qualifies is used, and its `_Server` row stays monitored: when the member loses its
 * cluster (or, with `leaderOnly`, its leadership), the replica drops the connection so its owner
 * moves on, as ovsdb-cs does. If the connection drops, `onClose` handlers run and the replica
 * stops following; `OvsdbReplica.connect(remotes, name, dropped)` reconnects, resuming from
 * `lastTxnId` when the server still has that transaction (clustered databases; a standalone
 * ovsdb-server numbers no transactions, so there it reloads everything). `OvsdbFollower` does that
 * reconnecting itself, over the whole list, for as long as it runs; it tries the servers in a
 * random order drawn once (ovsdb-cs shuffles its remotes, so a cluster's clients spread over its
 * members). Over `tcp:` a connection is probed for inactivity as OVS probes it (an echo after 5 s
 * without input, dropped after 5 s more without an answer), so a member behind a silent network
 * partition is left like a dead one.
 *
 * Updates are applied in the order the server sent them, after the monitor's reply: one that
 * arrives in the same input chunk as the reply waits until the reply's contents are applied.
 *
 * Rows are applied without the server's checks (the server made them): an insert or initial row
 * replaces the local row, a modify applies the update2 row diff column by column (sets and maps
 * by symmetric difference, scalars by value), a delete removes it.
 */
import { RawDb, type Datum, type RawRow } from '@ovnts/ovn';
import { OvsdbClient } from './client.js';
import { applyDatumDiff, datumFromJson } from './datum.js';
import { Database, makeRow, type Row } from './db.js';
import { OvsdbConnectionError, OvsdbError, OvsdbRpcError, OvsdbTxnError } from './errors.js';
import { Schema } from './schema.js';

const ZERO = '00000000-0000-0000-0000-000000000000';

/** Errors of talking to one server (the next one may do better). */
function serverFailure(e: unknown): e is Error {
  return e instanceof OvsdbError || e instanceof OvsdbConnectionError || e instanceof OvsdbRpcError || e instanceof OvsdbTxnError;
}

/** How a replica picks its server. */
export interface ReplicaOptions {
  /** Only a cluster's leader qualifies (default false: any connected member, as ovn-controller sets for the southbound database). */
  readonly leaderOnly?: boolean;
  /** Connection timeout per server in ms. */
  readonly timeoutMs?: number;
  /**
   * Inactivity probe interval in ms (0: none). Default as OVS's streams: 5000 for `tcp:`
   * remotes (ovn-controller's `ovn-remote-probe-interval` default), none for `unix:` ones.
   */
  readonly probeIntervalMs?: number;
}

/** The inactivity probe interval for `remote`. */
function probeInterval(remote: string, opts: ReplicaOptions): number {
  return opts.probeIntervalMs ?? (remote.startsWith('tcp:') ? 5000 : 0);
}

/** A server's `_Server` row of a database. */
interface ServerStatus {
  readonly model: string;
  readonly connected: boolean;
  readonly leader: boolean;
  readonly index: number | undefined;
}

function serverStatus(row: Record<string, unknown>): ServerStatus {
  const idx = row['index'];
  return {
    model: typeof row['model'] === 'string' ? row['model'] : '',
    connected: row['connected'] === true,
    leader: row['leader'] === true,
    index: typeof idx === 'number' ? idx : undefined,
  };
}

/** Why a server does not qualify (undefined: it does). */
function disqualified(st: ServerStatus | undefined, opts: ReplicaOptions, minIndex: number): string | undefined {
  if (!st) return 'does not serve the database';
  if (st.model !== 'clustered') return undefined;
  if (!st.connected) return 'is not connected to its cluster';
  if (opts.leaderOnly && !st.leader) return 'is not the cluster leader';
  if (st.index !== undefined && st.index < minIndex) return `is stale (Raft index ${st.index} < ${minIndex} already seen)`;
  return undefined;
}

/** A local, continuously updated copy of one remote database. */
export class OvsdbReplica {
  private readonly handlers = new Set<(tables: ReadonlySet<string>) => void>();
  /** The copy as a RawDb, kept up to date row by row once asked for (see `rawDb`). */
  private raw: RawDb | undefined;
  /** The highest Raft index of the database seen on the server (0 for a standalone one). */
  raftIndex = 0;

  private constructor(
    /** The connection (write through it). */
    readonly client: OvsdbClient,
    /** The remote it is connected to. */
    readonly remote: string,
    /** The local copy. */
    readonly db: Database,
    /** The id of the last transaction applied (for resuming). */
    public lastTxnId: string,
  ) {}

  /**
   * Connect to the first of `remotes` that qualifies (see the module comment) and replicate
   * database `name`. `previous` (a replica of the same database whose connection dropped)
   * resumes from its last transaction.
   */
  static async connect(remotes: readonly string[], name: string, previous?: OvsdbReplica, opts: ReplicaOptions = {}): Promise<OvsdbReplica> {
    const failures: string[] = [];
    const minIndex = previous?.raftIndex ?? 0;
    for (const r of remotes) {
      let client: OvsdbClient;
      try {
        client = await OvsdbClient.connect(r, { ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), probeIntervalMs: probeInterval(r, opts) });
      } catch (e) {
        failures.push(`${r}: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      try {
        const rep = await OvsdbReplica.follow(client, r, name, previous, opts, minIndex);
        if (typeof rep === 'string') {
          failures.push(`${r}: ${rep}`);
          client.close();
          continue;
        }
        return rep;
      } catch (e) {
        client.close();
        if (!serverFailure(e)) throw e;
        failures.push(`${r}: ${e.message}`);
      }
    }
    throw new OvsdbConnectionError(`no server qualified for ${name}: ${failures.join('; ') || 'no remotes given'}`);
  }

  /**
   * Monitor the server's `_Server` row of the database and, when it qualifies (checked on the
   * monitor's initial row, as ovsdb-cs does, so no change slips between the check and the
   * monitor), the database itself. Returns why it does not qualify otherwise.
   */
  private static async follow(client: OvsdbClient, remote: string, name: string, previous: OvsdbReplica | undefined, opts: ReplicaOptions, minIndex: number): Promise<OvsdbReplica | string> {
    const db = previous?.db ?? new Database(Schema.fromJson(await client.getSchema(name)));
    const rep = new OvsdbReplica(client, remote, db, previous?.lastTxnId ?? ZERO);
    rep.raftIndex = minIndex;
    rep.raw = previous?.raw;
    const serverMonitor = ['ovnts-replica-server', name];
    // Updates that arrive before the monitor's reply has been applied wait for it. The server
    // sends the reply first and then the updates of later transactions, but the reply resolves a
    // promise (its handler runs after the current input chunk), while a notification read from
    // the same chunk is handled at once: applied before the reply's contents, it would be wiped
    // by the reply's reset (or precede a diff older than itself) and lost for good.
    let early: unknown[][] | undefined = [];
    const update3 = (params: unknown[]) => {
      rep.lastTxnId = params[1] as string;
      rep.apply(params[2], false);
    };
    client.onNotification((method, params) => {
      if (method === 'update3' && params.length === 3 && typeof params[1] === 'string') {
        if (early) early.push(params);
        else update3(params);
      } else if (method === 'update2' && params.length === 2 && JSON.stringify(params[0]) === JSON.stringify(serverMonitor)) {
        rep.serverUpdate(params[1], opts);
      }
    });
    const initial = (await client.request('monitor_cond', ['_Server', serverMonitor, { Database: [{ where: [['name', '==', name]], columns: ['model', 'connected', 'leader', 'index'] }] }])) as {
      Database?: Record<string, { initial?: Record<string, unknown> }>;
    } | null;
    const row = Object.values(initial?.Database ?? {}).find((u) => u.initial)?.initial;
    const st = row ? serverStatus(row) : undefined;
    const why = disqualified(st, opts, minIndex);
    if (why) return why;
    rep.raftIndex = Math.max(rep.raftIndex, st?.index ?? 0);
    const requests = Object.fromEntries([...db.schema.tables.keys()].map((t) => [t, [{}]]));
    const reply = (await client.request('monitor_cond_since', [name, ['ovnts-replica', name], requests, rep.lastTxnId])) as [boolean, string, unknown];
    if (!Array.isArray(reply) || reply.length !== 3) throw new OvsdbError('syntax error', `monitor_cond_since reply from ${remote} is not [found, last-txn-id, updates]`);
    rep.lastTxnId = reply[1];
    rep.apply(reply[2], !reply[0]);
    const queued = early;
    early = undefined;
    for (const params of queued) update3(params);
    return rep;
  }

  /** A change of the server's `_Server` row: drop a member that no longer qualifies. */
  private serverUpdate(updates: unknown, opts: ReplicaOptions): void {
    const rows = (updates as { Database?: Record<string, Record<string, unknown>> } | null)?.Database ?? {};
    for (const u of Object.values(rows)) {
      if ('delete' in u) {
        this.client.close();
        return;
      }
      const body = (u['modify'] ?? u['insert'] ?? u['initial']) as Record<string, unknown> | undefined;
      if (!body) continue;
      if (typeof body['index'] === 'number') this.raftIndex = Math.max(this.raftIndex, body['index']);
      const lost = body['connected'] === false || (opts.leaderOnly === true && body['leader'] === false);
      if (lost) this.client.close();
    }
  }

  /** Call `h` with the names of the tables each applied update touched; returns an unsubscribe function. */
  onUpdate(h: (tables: ReadonlySet<string>) => void): () => void {
    this.handlers.add(h);
    return () => this.handlers.delete(h);
  }

  /** Call `h` when the connection closes. */
  onClose(h: (reason?: Error) => void): () => void {
    return this.client.onClose(h);
  }

  /**
   * The copy as @ovnts/ovn's `RawDb` (what `sbFromRaw` reads), without copying it: built once,
   * then kept up to date row by row as updates are applied, so taking it after an update costs
   * nothing however large the database. It is live (it changes with the copy) and its rows are
   * the copy's own field maps, which an update replaces and never changes in place: read it
   * (build a model from it at once), never write to it. `db.toRawDb()` is the copying form.
   */
  rawDb(): RawDb {
    if (!this.raw) {
      const raw = new RawDb(this.db.schema.db);
      for (const [name, t] of this.db.tables) {
        const rows = raw.tables.get(name)!;
        for (const [u, r] of t.rows) rows.set(u, r.fields as RawRow);
      }
      this.raw = raw;
    }
    return this.raw;
  }

  /** Apply `<table-updates2>`; `reset` empties the copy first (a full initial reply). */
  private apply(updates: unknown, reset: boolean): void {
    const touched = new Set<string>();
    if (reset) {
      this.raw = undefined;
      for (const [name, t] of this.db.tables) {
        if (t.rows.size) touched.add(name);
        t.rows.clear();
      }
    }
    const tables = typeof updates === 'object' && updates !== null ? Object.entries(updates as Record<string, unknown>) : [];
    for (const [tname, rows] of tables) {
      const table = this.db.table(tname);
      if (!table || typeof rows !== 'object' || rows === null) continue;
      touched.add(tname);
      const rawRows = this.raw?.tables.get(tname);
      for (const [uuid, u] of Object.entries(rows as Record<string, unknown>)) {
        const op = (u ?? {}) as Record<string, unknown>;
        if ('delete' in op) {
          table.rows.delete(uuid);
          rawRows?.delete(uuid);
          continue;
        }
        const body = (op.initial ?? op.insert ?? op.modify) as Record<string, unknown> | undefined;
        if (!body) continue;
        const old = op.modify !== undefined ? table.rows.get(uuid) : undefined;
        const fields = new Map<string, Datum>(old ? old.fields : []);
        for (const [cname, j] of Object.entries(body)) {
          const col = table.info.byName.get(cname);
          if (!col || col.index < 2) continue;
          const relaxed = { ...col.type, min: 0, max: Infinity };
          const d = datumFromJson(j, relaxed);
          fields.set(cname, old ? applyDatumDiff(fields.get(cname)!, d, col.type) : d);
        }
        const row: Row = old ? { uuid, version: old.version, fields } : makeRow(table.info, uuid, fields);
        table.rows.set(uuid, row);
        rawRows?.set(uuid, row.fields as RawRow);
      }
    }
    for (const h of this.handlers) h(touched);
  }

  /** Close the connection. */
  close(): void {
    this.client.close();
  }
}

/** Options of a follower. */
export interface FollowerOptions extends ReplicaOptions {
  /** Try the servers in a random order, drawn once at the start (default true, as ovsdb-cs's `shuffle_remotes`). */
  readonly shuffle?: boolean;
  /** The random source of the shuffle (default `Math.random`; tests give a seeded one). */
  readonly random?: () => number;
  /** First delay before trying the servers again after none qualified, in ms (default 250; doubles up to `maxBackoffMs`). */
  readonly backoffMs?: number;
  /** Longest delay between rounds of tries, in ms (default 4000). */
  readonly maxBackoffMs?: number;
}

/** A copy of `xs` in random order (Fisher-Yates). */
function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** What a follower reports. */
export type FollowerEvent =
  | { readonly kind: 'connected'; readonly remote: string; readonly resumed: boolean }
  | { readonly kind: 'disconnected'; readonly remote: string; readonly reason: string }
  | { readonly kind: 'retry'; readonly error: string; readonly delayMs: number };

/**
 * A replica that stays connected: when its server goes away (or stops qualifying), it
 * reconnects to the next server of the list that qualifies, resuming from the last transaction
 * it applied, and tries again with a growing delay while none does, as ovsdb-cs's reconnection
 * does. Writes go through `transact`, on whichever server is current.
 */
export class OvsdbFollower {
  private current: OvsdbReplica;
  private readonly updateHandlers = new Set<(tables: ReadonlySet<string>) => void>();
  private readonly eventHandlers = new Set<(e: FollowerEvent) => void>();
  private stopped = false;
  private reconnecting: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    /** The servers, in the order they are tried (after the shuffle). */
    readonly remotes: readonly string[],
    /** The database. */
    readonly name: string,
    first: OvsdbReplica,
    private readonly opts: FollowerOptions,
  ) {
    this.current = first;
    this.watch(first);
  }

  /** Connect to the first qualifying server of `remotes` (shuffled unless `shuffle` is false) and follow database `name`. */
  static async start(remotes: readonly string[], name: string, opts: FollowerOptions = {}): Promise<OvsdbFollower> {
    const order = opts.shuffle === false ? [...remotes] : shuffled(remotes, opts.random ?? Math.random);
    return new OvsdbFollower(order, name, await OvsdbReplica.connect(order, name, undefined, opts), opts);
  }

  /** The local copy (the same object across reconnections). */
  get db(): Database {
    return this.current.db;
  }

  /** The local copy as a live `RawDb` (see `OvsdbReplica.rawDb`; kept across reconnections). */
  rawDb(): RawDb {
    return this.current.rawDb();
  }

  /** The server currently followed. */
  get remote(): string {
    return this.current.remote;
  }

  /** True while a server is followed. */
  get connected(): boolean {
    return !this.current.client.closed;
  }

  /** Call `h` with the tables each update touched (after a reconnection: every table that changed meanwhile). */
  onUpdate(h: (tables: ReadonlySet<string>) => void): () => void {
    this.updateHandlers.add(h);
    return () => this.updateHandlers.delete(h);
  }

  /** Call `h` on connections, disconnections and retries. */
  onEvent(h: (e: FollowerEvent) => void): () => void {
    this.eventHandlers.add(h);
    return () => this.eventHandlers.delete(h);
  }

  /** `transact` on the current server; rejects with `OvsdbConnectionError` while none is followed. */
  transact(...ops: unknown[]): Promise<unknown[]> {
    return this.current.client.transact(this.name, ...ops);
  }

  /** Stop following (closes the connection; no more reconnections). */
  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.current.close();
  }

  private watch(rep: OvsdbReplica): void {
    rep.onUpdate((tables) => {
      for (const h of this.updateHandlers) h(tables);
    });
    rep.onClose((reason) => {
      if (this.stopped || rep !== this.current) return;
      this.emit({ kind: 'disconnected', remote: rep.remote, reason: reason?.message ?? 'closed' });
      this.reconnecting ??= this.reconnect(rep).finally(() => (this.reconnecting = undefined));
    });
  }

  /** Try the servers, the one after `lost` first, until one qualifies or the follower stops. */
  private async reconnect(lost: OvsdbReplica): Promise<void> {
    const i = this.remotes.indexOf(lost.remote);
    const order = [...this.remotes.slice(i + 1), ...this.remotes.slice(0, i + 1)];
    let delay = this.opts.backoffMs ?? 250;
    for (;;) {
      if (this.stopped) return;
      try {
        const rep = await OvsdbReplica.connect(order, this.name, this.current, this.opts);
        if (this.stopped) {
          rep.close();
          return;
        }
        this.current = rep;
        this.watch(rep);
        this.emit({ kind: 'connected', remote: rep.remote, resumed: true });
        // The database may have changed meanwhile: tell the owner to look again.
        const all = new Set(rep.db.tables.keys());
        for (const h of this.updateHandlers) h(all);
        return;
      } catch (e) {
        if (!serverFailure(e)) throw e;
        this.emit({ kind: 'retry', error: e.message, delayMs: delay });
        await new Promise<void>((r) => (this.timer = setTimeout(r, delay)));
        delay = Math.min(delay * 2, this.opts.maxBackoffMs ?? 4000);
      }
    }
  }

  private emit(e: FollowerEvent): void {
    for (const h of this.eventHandlers) h(e);
  }
}
