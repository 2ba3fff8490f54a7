/**
 * A live copy of a remote database, as an IDL keeps one: connect, read the schema, monitor every
 * table and column with `monitor_cond_since`, and apply the initial contents and each `update3`
 * to a local `Database`. Southbound consumers (an emulated chassis) read `db` (or
 * `sbFromRaw(replica.db.toRawDb())` from @ovnts/ovn for the southbound model) and write through
 * `client` (`client.transact(...)`, e.g. to claim a Port_Binding as ovn-controller does).
 *
 * `remotes` may list several servers (the members of a clustered database): the first that
 * answers is used. If the connection drops, `onClose` handlers run and the replica stops
 * following; `OvsdbReplica.connect(remotes, name, dropped)` reconnects, resuming from `lastTxnId`
 * when the server still has that transaction (clustered databases; a standalone ovsdb-server
 * numbers no transactions, so there it reloads everything).
 *
 * Rows are applied without the server's checks (the server made them): an insert or initial row
 * replaces the local row, a modify applies the update2 row diff column by column (sets and maps
 * by symmetric difference, scalars by value), a delete removes it.
 */
import type { Datum } from '@ovnts/ovn';
import { OvsdbClient } from './client.js';
import { applyDatumDiff, datumFromJson } from './datum.js';
import { Database, makeRow, type Row } from './db.js';
import { OvsdbConnectionError, OvsdbError } from './errors.js';
import { Schema } from './schema.js';

const ZERO = '00000000-0000-0000-0000-000000000000';

/** A local, continuously updated copy of one remote database. */
export class OvsdbReplica {
  private readonly handlers = new Set<(tables: ReadonlySet<string>) => void>();

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
   * Connect to the first of `remotes` that answers and replicate database `name`. `previous`
   * (a replica of the same database whose connection dropped) resumes from its last transaction.
   */
  static async connect(remotes: readonly string[], name: string, previous?: OvsdbReplica): Promise<OvsdbReplica> {
    let client: OvsdbClient | undefined;
    let remote = '';
    const failures: string[] = [];
    for (const r of remotes) {
      try {
        client = await OvsdbClient.connect(r);
        remote = r;
        break;
      } catch (e) {
        failures.push(`${r}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (!client) throw new OvsdbConnectionError(`no server answered for ${name}: ${failures.join('; ') || 'no remotes given'}`);
    try {
      const db = previous?.db ?? new Database(Schema.fromJson(await client.getSchema(name)));
      const rep = new OvsdbReplica(client, remote, db, previous?.lastTxnId ?? ZERO);
      client.onNotification((method, params) => {
        if (method === 'update3' && params.length === 3 && typeof params[1] === 'string') {
          rep.lastTxnId = params[1];
          rep.apply(params[2], false);
        }
      });
      const requests = Object.fromEntries([...db.schema.tables.keys()].map((t) => [t, [{}]]));
      const reply = (await client.request('monitor_cond_since', [name, ['ovnts-replica', name], requests, rep.lastTxnId])) as [boolean, string, unknown];
      if (!Array.isArray(reply) || reply.length !== 3) throw new OvsdbError('syntax error', `monitor_cond_since reply from ${remote} is not [found, last-txn-id, updates]`);
      rep.lastTxnId = reply[1];
      rep.apply(reply[2], !reply[0]);
      return rep;
    } catch (e) {
      client.close();
      throw e;
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

  /** Apply `<table-updates2>`; `reset` empties the copy first (a full initial reply). */
  private apply(updates: unknown, reset: boolean): void {
    if (reset) for (const t of this.db.tables.values()) t.rows.clear();
    if (typeof updates !== 'object' || updates === null) return;
    const touched = new Set<string>();
    for (const [tname, rows] of Object.entries(updates as Record<string, unknown>)) {
      const table = this.db.table(tname);
      if (!table || typeof rows !== 'object' || rows === null) continue;
      touched.add(tname);
      for (const [uuid, u] of Object.entries(rows as Record<string, unknown>)) {
        const op = (u ?? {}) as Record<string, unknown>;
        if ('delete' in op) {
          table.rows.delete(uuid);
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
      }
    }
    for (const h of this.handlers) h(touched);
  }

  /** Close the connection. */
  close(): void {
    this.client.close();
  }
}
