/**
 * OVSDB standalone database files (ovsdb(5)), the format `ovsdb-tool create` and ovsdb-server
 * write: a schema record, then one record per committed transaction, each an `OVSDB JSON
 * <length> <sha1>` header line and a JSON line.
 *
 * Opening replays the file with @ovnts/ovn's reader (`readOvsdbFile`, the one the CLI's `--nb`
 * files go through; it accepts both the full-value and the `_is_diff` record forms) and loads the
 * result into a `Database` in one transaction, so reference counts and indexes are checked as on
 * any commit. A missing file is created with the given schema, as `ovsdb-tool create` would.
 *
 * Appending writes each commit as a full-value record (no `_is_diff`): inserted rows with their
 * non-default persistent columns, modified rows with the columns that changed, deleted rows as
 * `null`, plus `_date` (milliseconds) and `_comment`. ovsdb-server and ovsdb-tool read such
 * records (they are what OVS wrote before 2.15), and so does our reader.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { formatOvsdbRecord, readOvsdbFile, readOvsdbRecords, NbError } from '@ovnts/ovn';
import { datumEquals, datumToJson, isDefaultDatum } from './datum.js';
import { Database, makeRow, type ChangeSet } from './db.js';
import { OvsdbError } from './errors.js';
import { Schema } from './schema.js';
import { Txn } from './txn.js';

/** A database file and the database it holds, kept in step by `append`. */
export class DatabaseFile {
  private constructor(
    /** The file's path. */
    readonly path: string,
    /** The database as the file left it. */
    readonly db: Database,
    /** Transaction records read when it was opened. */
    readonly transactions: number,
  ) {}

  /**
   * Open `path`: replay it if it exists, else create it with `schemaJson` (the RFC 7047 schema
   * JSON; required then). `OvsdbError` naming the file when it cannot be read or does not load.
   */
  static open(path: string, schemaJson?: unknown): DatabaseFile {
    if (!existsSync(path)) {
      if (schemaJson === undefined) throw new OvsdbError('I/O error', `${path}: no such file, and no schema to create it with`);
      const schema = Schema.fromJson(schemaJson);
      try {
        writeFileSync(path, formatOvsdbRecord(schemaJson), { flag: 'wx' });
      } catch (e) {
        throw new OvsdbError('I/O error', `${path}: cannot create: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      return new DatabaseFile(path, new Database(schema), 0);
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new OvsdbError('I/O error', `${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let schema: Schema;
    let contents: ReturnType<typeof readOvsdbFile>;
    try {
      schema = Schema.fromJson(readOvsdbRecords(bytes)[0]!.json);
      contents = readOvsdbFile(bytes, { anySchemaName: true });
    } catch (e) {
      if (e instanceof NbError || e instanceof OvsdbError) throw new OvsdbError('syntax error', `${path}: ${e.message}`);
      throw e;
    }
    const db = new Database(schema);
    const txn = new Txn(db);
    for (const [name, rows] of contents.raw.tables) {
      const table = db.table(name);
      if (!table) continue;
      for (const [uuid, fields] of rows) txn.insert(table, makeRow(table.info, uuid, fields));
    }
    const e = txn.precommit();
    if (e) throw new OvsdbError(e.tag, `${path}: ${e.details ?? e.message}`);
    txn.commit();
    return new DatabaseFile(path, db, contents.transactions);
  }

  /** Append one committed transaction to the file (nothing for an empty one). */
  append(cs: ChangeSet, date: number = Date.now()): void {
    if (!cs.changes.length) return;
    const rec: Record<string, unknown> = {};
    for (const ch of cs.changes) {
      const t = (rec[ch.table.name] ??= {}) as Record<string, unknown>;
      if (!ch.new) {
        t[ch.uuid] = null;
        continue;
      }
      const row: Record<string, unknown> = {};
      for (const c of ch.table.dataColumns) {
        if (!c.persistent) continue;
        const d = ch.new.fields.get(c.name);
        if (!d) continue;
        const before = ch.old?.fields.get(c.name);
        if (ch.old ? before !== undefined && datumEquals(before, d, c.type) : isDefaultDatum(d, c.type)) continue;
        row[c.name] = datumToJson(d, c.type);
      }
      t[ch.uuid] = row;
    }
    rec._date = date;
    if (cs.comment !== undefined) rec._comment = cs.comment;
    try {
      appendFileSync(this.path, formatOvsdbRecord(rec));
    } catch (e) {
      throw new OvsdbError('I/O error', `${this.path}: cannot append a transaction: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
}
