/**
 * A northbound database server with our northd behind it (`ovnts nb-server`): an `OvsdbServer`
 * serving OVN_Northbound (the schema OVN 23.03 ships, embedded), optionally kept in a database
 * file, and the logical flows recompiled from it as transactions commit.
 *
 * Recompilation is incremental (`IncrementalNorthd` from @ovnts/ovn): only the flows of the
 * switches, routers and load balancers the committed rows touch are rebuilt, and the result
 * equals a full recompute with the previous southbound database (tunnel keys stay where they
 * were, as ovn-northd keeps them; unchanged southbound rows keep their uuids). Changes to global
 * rows (NB_Global options, meters, ...) fall back to a full recompute, counted in
 * `NbRecompute.update`. Northd's input follows the commits: the server hands over the rows each
 * transaction changed (what it builds its monitor updates from), the snapshot northd reads is
 * the previous one with those rows replaced (unchanged rows are shared, never copied again), and
 * northd is told which rows changed instead of comparing two snapshots.
 *
 * Like ovn-northd, which runs beside ovsdb-server and catches up with whatever committed since
 * its last run, the recompute is decoupled from the commits: a transaction gets its reply when
 * it commits, and northd runs once the database has been quiet for `quietMs` (default 10 ms), or
 * `maxDelayMs` (default 250 ms) after the first commit it has not seen when commits keep coming,
 * so a burst of `ovn-nbctl` calls costs one recompute. Both run on one event loop, so a
 * transaction that arrives during a recompute is read after it. A database that does not make a
 * valid northbound model (what ovn-northd would reject or skip) is reported with the model's
 * error, and the previous flows are kept.
 *
 * Sequence numbers. As ovn-northd does, after each run the server copies NB_Global's `nb_cfg`
 * (what the run saw) to `sb_cfg` and, there being no chassis behind it, to `hv_cfg`, with their
 * timestamps, so `ovn-nbctl --wait=sb` and `--wait=hv` return once the flows reflect their
 * change. Those columns (northd's own output) do not start a run; a bumped `nb_cfg` does.
 * `syncCfg: false` leaves them to another northd (a real ovn-northd reading this server).
 */
import { compileNorthd, IncrementalNorthd, NbDatabase, NbError, NB_GLOBAL_SEQUENCE_COLUMNS, NB_SCHEMA_JSON, RawDb, type Datum, type NorthdResult, type NorthdUpdate, type RawRow } from '@ovnts/ovn';
import { Database, rowKey, type ChangeSet, type Row } from './db.js';
import { DatabaseFile } from './file.js';
import { OvsdbServer } from './server.js';
import { Schema } from './schema.js';

/** Whether a change of an NB_Global row is in columns only northd writes (its sequence numbers). */
function northdOutputOnly(a: Row, b: Row): boolean {
  for (const [c, d] of b.fields) if (!sameDatum(d, a.fields.get(c)) && (c === 'nb_cfg' || !NB_GLOBAL_SEQUENCE_COLUMNS.has(c))) return false;
  return true;
}

function sameDatum(a: Datum, b: Datum | undefined): boolean {
  if (a === b) return true;
  if (!b || a.keys.length !== b.keys.length || (a.values === undefined) !== (b.values === undefined)) return false;
  return a.keys.every((k, i) => k === b.keys[i]) && (a.values?.every((v, i) => v === b.values![i]) ?? true);
}

/** Options of `NbServer.start`. */
export interface NbServerOptions {
  /** Listeners, `punix:PATH` or `ptcp:PORT[:IP]` (at least one). */
  readonly listen: readonly string[];
  /** A database file to load (created when missing) and to append every commit to. */
  readonly dbFile?: string;
  /** Called after every recompute (or failed one). */
  readonly onRecompute?: (r: NbRecompute) => void;
  /** Connection problems and commit-listener failures. */
  readonly log?: (line: string) => void;
  /** Compile logical routers too (default true). */
  readonly routers?: boolean;
  /** Recompute once the database has been quiet this long (ms; default 10). */
  readonly quietMs?: number;
  /** ... or at the latest this long after the first commit not yet compiled (ms; default 250). */
  readonly maxDelayMs?: number;
  /** Recompile incrementally (default true); false runs a full recompute every time (a baseline for benchmarks). */
  readonly incremental?: boolean;
  /**
   * Read the whole database at every run (a fresh copy, typed again, compared with the previous
   * one), as the server did before northd was fed the committed rows (a baseline for benchmarks).
   */
  readonly wholeDatabase?: boolean;
  /** Write NB_Global `sb_cfg`/`hv_cfg` after every run, as ovn-northd does (default true). */
  readonly syncCfg?: boolean;
}

/** One recompute of the logical flows. */
export interface NbRecompute {
  /** Committed transactions so far (the database's count). */
  readonly transactions: number;
  /** The compiled result, when the database made a valid northbound model. */
  readonly result: NorthdResult | undefined;
  /** Why there is no result. */
  readonly error: string | undefined;
  /** What the incremental engine did (undefined for the first compilation and on error). */
  readonly update: NorthdUpdate | undefined;
  /** Wall-clock time of the recompute, in milliseconds. */
  readonly ms: number;
}

/** A northbound OVSDB server that recompiles the logical flows as transactions commit. */
export class NbServer {
  /** The latest successful compilation (also before any transaction: of the loaded database). */
  latest: NorthdResult | undefined;
  /** Recomputes done so far. */
  recomputes = 0;
  /** The incremental northd (created by the first valid database). */
  northd: IncrementalNorthd | undefined;
  private pending = false;
  private timer: NodeJS.Timeout | undefined;
  private firstPending = 0;
  private idleWaiters: (() => void)[] = [];
  private unsubscribe: () => void = () => {};
  /** The snapshot northd last read (rows shared with earlier snapshots where unchanged). */
  private raw: RawDb | undefined;
  /** Rows committed since `raw` was taken, by table and uuid: the row now (undefined: deleted). */
  private readonly unread = new Map<string, { readonly table: string; readonly uuid: string; readonly row: Row | undefined }>();
  /** The typed database of the last run that made one (its unchanged rows are taken over). */
  private model: NbDatabase | undefined;
  /** Rows changed since the incremental northd's database (kept across runs that fail). */
  private readonly unseen = new Map<string, { readonly table: string; readonly uuid: string }>();

  private constructor(
    /** The OVSDB server. */
    readonly server: OvsdbServer,
    /** The northbound database. */
    readonly db: Database,
    /** Remotes clients use (`unix:PATH`, `tcp:IP:PORT`), one per listener. */
    readonly remotes: readonly string[],
    private readonly file: DatabaseFile | undefined,
    private readonly opts: NbServerOptions,
  ) {}

  /** Load or create the database, listen, and compile the initial flows. */
  static async start(opts: NbServerOptions): Promise<NbServer> {
    const file = opts.dbFile !== undefined ? DatabaseFile.open(opts.dbFile, NB_SCHEMA_JSON) : undefined;
    const db = file?.db ?? new Database(Schema.fromJson(NB_SCHEMA_JSON));
    const server = new OvsdbServer(opts.log ? { log: opts.log } : {});
    server.addDatabase(db);
    const remotes: string[] = [];
    try {
      for (const l of opts.listen) remotes.push(await server.listen(l));
    } catch (e) {
      await server.close();
      throw e;
    }
    const nb = new NbServer(server, db, remotes, file, opts);
    nb.unsubscribe = server.onCommit(db.schema.name, (cs) => nb.committed(cs));
    nb.recompute();
    return nb;
  }

  private committed(cs: ChangeSet): void {
    this.file?.append(cs);
    let wake = false;
    for (const c of cs.changes) {
      this.unread.set(rowKey(c.table.name, c.uuid), { table: c.table.name, uuid: c.uuid, row: c.new });
      wake ||= !(c.table.name === 'NB_Global' && c.old && c.new && northdOutputOnly(c.old, c.new));
    }
    if (!wake) return;
    const now = performance.now();
    if (!this.pending) this.firstPending = now;
    this.pending = true;
    if (this.timer) clearTimeout(this.timer);
    const quiet = this.opts.quietMs ?? 10;
    const wait = Math.max(0, Math.min(quiet, this.firstPending + (this.opts.maxDelayMs ?? 250) - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.recompute();
    }, wait);
  }

  /** The database as northd reads it: the previous snapshot with the rows committed since replaced. */
  private snapshot(): RawDb {
    const prev = this.raw;
    let raw: RawDb;
    if (!prev) raw = this.db.toRawDb();
    else {
      raw = new RawDb(prev.schema);
      for (const [name, rows] of prev.tables) raw.tables.set(name, new Map(rows));
      for (const { table, uuid, row } of this.unread.values()) {
        const rows = raw.tables.get(table)!;
        if (row) rows.set(uuid, new Map(row.fields) as RawRow);
        else rows.delete(uuid);
      }
    }
    for (const [k, { table, uuid }] of this.unread) this.unseen.set(k, { table, uuid });
    this.unread.clear();
    this.raw = raw;
    return raw;
  }

  private recompute(): void {
    this.pending = false;
    const t0 = performance.now();
    let error: string | undefined;
    let result: NorthdResult | undefined;
    let nb: NbDatabase | undefined;
    const whole = this.opts.wholeDatabase === true;
    if (whole) this.unread.clear();
    const raw = whole ? this.db.toRawDb() : this.snapshot();
    try {
      nb = NbDatabase.fromRaw(raw, whole ? undefined : this.model);
      this.model = nb;
    } catch (e) {
      if (!(e instanceof NbError)) throw e;
      error = e.message;
    }
    let update: NorthdUpdate | undefined;
    if (nb) {
      const routers = this.opts.routers !== false;
      if (this.opts.incremental === false) result = compileNorthd(nb, { routers, ...(this.latest ? { previous: this.latest.sb } : {}) });
      else {
        if (this.northd) update = this.northd.update(nb, whole ? undefined : [...this.unseen.values()]);
        else this.northd = new IncrementalNorthd(nb, { routers });
        result = this.northd.result;
      }
      this.unseen.clear();
      this.latest = result;
    }
    this.recomputes++;
    this.opts.onRecompute?.({ transactions: this.db.txnCount, result, error, update, ms: performance.now() - t0 });
    this.syncCfg(raw);
    if (!this.pending) for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Copy the `nb_cfg` this run saw to `sb_cfg` and `hv_cfg` (ovn-northd's update_sequence_numbers,
   * with no chassis to wait for), so `ovn-nbctl --wait=sb|hv` returns. Also after a run that kept
   * the previous flows: northd has processed that database, as ovn-northd skips what it rejects.
   */
  private syncCfg(raw: RawDb): void {
    if (this.opts.syncCfg === false) return;
    const first = raw.rows('NB_Global').entries().next();
    if (first.done) return;
    const [uuid, row] = first.value;
    const num = (c: string): number => Number(row.get(c)?.keys[0] ?? 0);
    const n = num('nb_cfg');
    const now = Date.now();
    const set: Record<string, number> = {};
    if (num('sb_cfg') !== n) Object.assign(set, { sb_cfg: n, sb_cfg_timestamp: now, nb_cfg_timestamp: now });
    if (num('hv_cfg') !== n) Object.assign(set, { hv_cfg: n, hv_cfg_timestamp: now });
    if (!Object.keys(set).length) return;
    this.server
      .transact([this.db.schema.name, { op: 'update', table: 'NB_Global', where: [['_uuid', '==', ['uuid', uuid]]], row: set }])
      .then((r) => {
        const bad = r.find((x) => typeof x === 'object' && x !== null && 'error' in x);
        if (bad) this.opts.log?.(`cannot write NB_Global sb_cfg/hv_cfg: ${JSON.stringify(bad)}`);
      })
      .catch((e: unknown) => this.opts.log?.(`cannot write NB_Global sb_cfg/hv_cfg: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Run the pending recompute now, if there is one (instead of at the end of the quiet period). */
  flush(): void {
    if (!this.pending) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.recompute();
  }

  /** Resolves once no recompute is pending (the flows reflect every commit so far). */
  idle(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop listening, close every session, and stop recompiling. */
  async close(): Promise<void> {
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = false;
    for (const w of this.idleWaiters.splice(0)) w();
    await this.server.close();
  }
}
