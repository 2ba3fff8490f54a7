/**
 * A northbound database server with our northd behind it (`ovnts nb-server`): an `OvsdbServer`
 * serving OVN_Northbound (the schema OVN 23.03 ships, embedded), optionally kept in a database
 * file, and the logical flows recompiled from it as transactions commit.
 *
 * Recompilation is incremental (`IncrementalNorthd` from @ovnts/ovn, given a snapshot of the
 * database): only the flows of the switches, routers and load balancers the committed rows touch
 * are rebuilt, and the result equals a full recompute with the previous southbound database
 * (tunnel keys stay where they were, as ovn-northd keeps them; unchanged southbound rows keep
 * their uuids). Changes to global rows (NB_Global, meters, ...) fall back to a full recompute,
 * counted in `NbRecompute.update`. Like ovn-northd, which runs beside ovsdb-server and catches
 * up with whatever committed since its last run, the recompute is decoupled from the commits: it
 * runs once the database has been quiet for `quietMs` (default 10 ms), or `maxDelayMs` (default
 * 250 ms) after the first commit it has not seen when commits keep coming, so a burst of
 * `ovn-nbctl` calls costs one recompute and no transaction's reply waits for one. A database that does not make a
 * valid northbound model (what ovn-northd would reject or skip) is reported with the model's
 * error, and the previous flows are kept.
 */
import { compileNorthd, IncrementalNorthd, NbDatabase, NbError, NB_SCHEMA_JSON, type NorthdResult, type NorthdUpdate } from '@ovnts/ovn';
import { Database, type ChangeSet } from './db.js';
import { DatabaseFile } from './file.js';
import { OvsdbServer } from './server.js';
import { Schema } from './schema.js';

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

  private recompute(): void {
    this.pending = false;
    const t0 = performance.now();
    let error: string | undefined;
    let result: NorthdResult | undefined;
    let nb: NbDatabase | undefined;
    try {
      nb = NbDatabase.fromRaw(this.db.toRawDb());
    } catch (e) {
      if (!(e instanceof NbError)) throw e;
      error = e.message;
    }
    let update: NorthdUpdate | undefined;
    if (nb) {
      const routers = this.opts.routers !== false;
      if (this.opts.incremental === false) result = compileNorthd(nb, { routers, ...(this.latest ? { previous: this.latest.sb } : {}) });
      else {
        if (this.northd) update = this.northd.update(nb);
        else this.northd = new IncrementalNorthd(nb, { routers });
        result = this.northd.result;
      }
      this.latest = result;
    }
    this.recomputes++;
    this.opts.onRecompute?.({ transactions: this.db.txnCount, result, error, update, ms: performance.now() - t0 });
    if (!this.pending) for (const w of this.idleWaiters.splice(0)) w();
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
