/**
 * Reading OVN northbound databases from OVSDB's standalone file format (ovsdb(5)), as
 * ovsdb-server writes it and `ovsdb-client backup` prints it, plus two JSON forms.
 *
 * A standalone file is a series of records, each a header line `OVSDB JSON <length> <sha1>` and
 * then exactly <length> bytes of JSON (including the final LF) whose SHA-1 is <sha1>. Record 0 is
 * the schema; every later record is a transaction: table name -> row uuid -> `null` (delete) or
 * an object of column values (insert when the row is new, modify otherwise). Members starting
 * with `_` (`_date`, `_comment`, `_is_diff`) carry no data. When `_is_diff` is true, modified
 * columns hold ovsdb-server(7) diffs rather than new values, except that a column still at its
 * default value takes the value as is (that is how ovsdb-server applies them).
 *
 * Values are decoded with the file's own schema (the one the server enforced), then the result
 * is garbage-collected and checked against the embedded OVN_Northbound schema by `NbDatabase`.
 * Every problem is an `NbError` carrying the record number and byte offset, and the table, row
 * and column when it is inside a transaction.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Datum } from './datum.js';
import { applyDiff, compareAtoms, datumFromJson, defaultDatum, isUuid, shortJson } from './datum.js';
import { RawDb, rowName } from './data.js';
import { NbDatabase } from './db.js';
import { NbError } from './errors.js';
import type { ColumnType, DbSchema } from './schema.js';
import { NB_SCHEMA, NB_SCHEMA_NAME, parseSchema } from './schema.js';

/** One record of an OVSDB file. */
export interface OvsdbRecord {
  /** Record number (0 = schema). */
  index: number;
  /** Byte offset of the record's header line. */
  offset: number;
  /** Byte length of the JSON part (including its final LF). */
  length: number;
  /** The parsed JSON object. */
  json: Record<string, unknown>;
}

const HEADER = /^OVSDB ([A-Z]+) ([0-9]+) ([0-9a-f]{40})$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function toBytes(input: Uint8Array | string): Uint8Array {
  return typeof input === 'string' ? new TextEncoder().encode(input) : input;
}

/**
 * Split an OVSDB standalone file into records, verifying every length and SHA-1 and parsing the
 * JSON. Throws `NbError` with the record number and byte offset.
 */
export function readOvsdbRecords(input: Uint8Array | string): OvsdbRecord[] {
  const buf = toBytes(input);
  const out: OvsdbRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    const index = out.length;
    const at = { record: index, offset: off };
    let nl = -1;
    for (let i = off; i < buf.length && i < off + 128; i++) {
      if (buf[i] === 0x0a) {
        nl = i;
        break;
      }
    }
    if (nl < 0) throw new NbError(at, 'record header line is not terminated by a newline within 128 bytes');
    let header: string;
    try {
      header = utf8.decode(buf.subarray(off, nl));
    } catch {
      throw new NbError(at, 'record header is not valid UTF-8');
    }
    const m = HEADER.exec(header);
    if (!m) throw new NbError(at, `bad record header ${JSON.stringify(header.slice(0, 80))}: expected "OVSDB JSON <length> <sha1>"`);
    if (m[1] === 'CLUSTER') {
      throw new NbError(at, 'clustered database files are not supported (use ovsdb-client backup or ovsdb-tool cluster-to-standalone)');
    }
    if (m[1] !== 'JSON') throw new NbError(at, `unknown record magic ${JSON.stringify(m[1])}`);
    const length = Number(m[2]);
    const start = nl + 1;
    if (!Number.isSafeInteger(length) || length < 1 || start + length > buf.length) {
      throw new NbError(at, `record length ${m[2]} runs past the end of the file (${buf.length - start} bytes left)`);
    }
    const body = buf.subarray(start, start + length);
    const sha1 = createHash('sha1').update(body).digest('hex');
    if (sha1 !== m[3]) throw new NbError(at, `SHA-1 mismatch: header says ${m[3]}, data hashes to ${sha1}`);
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      throw new NbError(at, 'record data is not valid UTF-8');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new NbError(at, `record data is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new NbError(at, 'record data is not a JSON object');
    out.push({ index, offset: off, length, json: json as Record<string, unknown> });
    off = start + length;
  }
  if (out.length === 0) throw new NbError({ offset: 0 }, 'empty file: an OVSDB file starts with a schema record');
  return out;
}

/** Options for reading. */
export interface ReadOptions {
  /** Accept a schema whose name is not OVN_Northbound (default false). */
  anySchemaName?: boolean;
}

/** Result of replaying an OVSDB file: the raw data plus what the file said about itself. */
export interface OvsdbFileContents {
  /** The schema record. */
  schema: DbSchema;
  /** The data after replaying every transaction (not yet garbage-collected or checked). */
  raw: RawDb;
  /** Number of transaction records. */
  transactions: number;
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function relaxed(t: ColumnType): ColumnType {
  return { ...t, min: 0, max: Infinity };
}

function sameDatum(a: Datum, b: Datum): boolean {
  if (a.keys.length !== b.keys.length || (a.values === undefined) !== (b.values === undefined)) return false;
  for (let i = 0; i < a.keys.length; i++) {
    if (compareAtoms(a.keys[i]!, b.keys[i]!) !== 0) return false;
    if (a.values && compareAtoms(a.values[i]!, b.values![i]!) !== 0) return false;
  }
  return true;
}

/** Apply one transaction record (ovsdb(5) <table-txn>s) to `db`. */
function applyTransaction(db: RawDb, rec: OvsdbRecord): void {
  const isDiff = rec.json._is_diff === true;
  const at = { record: rec.index, offset: rec.offset };
  for (const [tname, tj] of Object.entries(rec.json)) {
    if (tname.startsWith('_')) continue;
    const ts = db.schema.tables.get(tname);
    if (!ts) throw new NbError({ ...at, table: tname }, 'no such table in the schema');
    if (!isObj(tj)) throw new NbError({ ...at, table: tname }, `expected an object of rows, got ${shortJson(tj)}`);
    const rows = db.tables.get(tname)!;
    for (const [uuidText, rj] of Object.entries(tj)) {
      if (!isUuid(uuidText)) throw new NbError({ ...at, table: tname }, `bad row uuid ${JSON.stringify(uuidText)}`);
      const uuid = uuidText.toLowerCase();
      const existing = rows.get(uuid);
      if (rj === null) {
        if (!existing) throw new NbError({ ...at, table: tname, row: uuid }, 'transaction deletes a row that does not exist');
        rows.delete(uuid);
        continue;
      }
      if (!isObj(rj)) throw new NbError({ ...at, table: tname, row: uuid }, `expected a row object or null, got ${shortJson(rj)}`);
      const row = existing ?? new Map<string, Datum>();
      for (const [cname, vj] of Object.entries(rj)) {
        if (cname.startsWith('_')) continue;
        const cs = ts.columns.get(cname);
        const where = { ...at, table: tname, row: uuid, rowName: rowName(row), column: cname };
        if (!cs) throw new NbError(where, 'no such column in the schema');
        let d: Datum;
        try {
          d = datumFromJson(vj, relaxed(cs.type));
        } catch (e) {
          if (e instanceof NbError) throw e.at(where);
          throw e;
        }
        const cur = row.get(cname) ?? defaultDatum(cs.type);
        row.set(cname, isDiff && !sameDatum(cur, defaultDatum(cs.type)) ? applyDiff(cur, d, cs.type) : d);
      }
      if (!existing) rows.set(uuid, row);
    }
  }
}

/** Read and replay an OVSDB standalone file (bytes or text) into raw data. */
export function readOvsdbFile(input: Uint8Array | string, opts: ReadOptions = {}): OvsdbFileContents {
  const records = readOvsdbRecords(input);
  const first = records[0]!;
  let schema: DbSchema;
  try {
    schema = parseSchema(first.json);
  } catch (e) {
    if (e instanceof NbError) throw e.at({ record: 0, offset: first.offset });
    throw e;
  }
  if (!opts.anySchemaName && schema.name !== NB_SCHEMA_NAME) {
    throw new NbError({ record: 0, offset: first.offset }, `schema name is ${JSON.stringify(schema.name)}, expected "${NB_SCHEMA_NAME}"`);
  }
  const raw = new RawDb(schema);
  for (const rec of records.slice(1)) applyTransaction(raw, rec);
  return { schema, raw, transactions: records.length - 1 };
}

/**
 * Load a northbound database from OVSDB file bytes/text (standalone format), or from the JSON
 * that `ovsdb-client dump -f json` prints, or from an RFC 7047 `transact` array of inserts.
 */
export function loadNb(input: Uint8Array | string, opts: ReadOptions = {}): NbDatabase {
  const buf = toBytes(input);
  let i = 0;
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
  if (buf[i] === 0x7b || buf[i] === 0x5b) {
    let text: string;
    try {
      text = utf8.decode(buf);
    } catch {
      throw new NbError({ offset: 0 }, 'JSON input is not valid UTF-8');
    }
    return NbDatabase.fromRaw(buf[i] === 0x7b ? readDumpJson(text) : readTransactJson(text));
  }
  return NbDatabase.fromRaw(readOvsdbFile(buf, opts).raw);
}

/** Load a northbound database from a file path (see `loadNb`). */
export function loadNbFile(path: string, opts: ReadOptions = {}): NbDatabase {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new NbError({}, `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return loadNb(bytes, opts);
}

/**
 * Read `ovsdb-client dump -f json` output: one JSON object per table per line, each
 * `{"caption": "<table> table", "headings": [...], "data": [[...], ...]}` with full values,
 * typed by `schema` (default: the embedded OVN_Northbound schema).
 */
export function readDumpJson(text: string, schema: DbSchema = NB_SCHEMA): RawDb {
  const db = new RawDb(schema);
  const lines = text.split('\n');
  let offset = 0;
  lines.forEach((line, n) => {
    const lineOff = offset;
    offset += Buffer.byteLength(line) + 1;
    if (line.trim() === '') return;
    const at = { record: n, offset: lineOff };
    let j: unknown;
    try {
      j = JSON.parse(line);
    } catch (e) {
      throw new NbError(at, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!isObj(j) || typeof j.caption !== 'string' || !Array.isArray(j.headings) || !Array.isArray(j.data)) {
      throw new NbError(at, 'expected {"caption", "headings", "data"} as ovsdb-client dump -f json prints');
    }
    const tname = j.caption.replace(/ table$/, '');
    const ts = schema.tables.get(tname);
    if (!ts) throw new NbError({ ...at, table: tname }, `no such table in the ${schema.name} schema`);
    const headings = j.headings as unknown[];
    const ui = headings.indexOf('_uuid');
    if (ui < 0) throw new NbError({ ...at, table: tname }, 'no _uuid heading');
    for (const rj of j.data as unknown[]) {
      if (!Array.isArray(rj) || rj.length !== headings.length) throw new NbError({ ...at, table: tname }, `bad data row ${shortJson(rj)}`);
      const uj = rj[ui];
      if (!Array.isArray(uj) || uj[0] !== 'uuid' || typeof uj[1] !== 'string' || !isUuid(uj[1])) {
        throw new NbError({ ...at, table: tname }, `bad _uuid ${shortJson(uj)}`);
      }
      const uuid = uj[1].toLowerCase();
      const row = new Map<string, Datum>();
      headings.forEach((h, k) => {
        if (typeof h !== 'string' || h.startsWith('_')) return;
        const cs = ts.columns.get(h);
        const where = { ...at, table: tname, row: uuid, column: h };
        if (!cs) throw new NbError(where, `no such column in the ${schema.name} schema`);
        try {
          row.set(h, datumFromJson(rj[k], relaxed(cs.type)));
        } catch (e) {
          if (e instanceof NbError) throw e.at(where);
          throw e;
        }
      });
      db.tables.get(tname)!.set(uuid, row);
    }
  });
  return db;
}

let uuidCounter = 0;
function freshUuid(): string {
  uuidCounter++;
  const hex = uuidCounter.toString(16).padStart(12, '0');
  return `6f766e74-7300-4000-8000-${hex}`;
}

/**
 * Read an RFC 7047 `transact` params array of `insert` operations (`["OVN_Northbound",
 * {"op": "insert", "table": ..., "row": {...}, "uuid-name": ...}, ...]`), resolving
 * `["named-uuid", ...]` references. Other operations are rejected.
 */
export function readTransactJson(text: string): RawDb {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new NbError({ offset: 0 }, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(j) || j[0] !== NB_SCHEMA_NAME) throw new NbError({ offset: 0 }, `expected ["${NB_SCHEMA_NAME}", <operation>...]`);
  const db = new RawDb(NB_SCHEMA);
  const ops = j.slice(1);
  const names = new Map<string, string>();
  for (const op of ops) {
    if (isObj(op) && typeof op['uuid-name'] === 'string') names.set(op['uuid-name'], freshUuid());
  }
  ops.forEach((op, n) => {
    const at = { record: n + 1 };
    if (!isObj(op) || op.op !== 'insert') throw new NbError(at, `only "insert" operations are supported, got ${shortJson(isObj(op) ? op.op : op)}`);
    const tname = String(op.table);
    const ts = NB_SCHEMA.tables.get(tname);
    if (!ts) throw new NbError({ ...at, table: tname }, 'no such table in the OVN_Northbound schema');
    if (!isObj(op.row)) throw new NbError({ ...at, table: tname }, '"row" must be an object');
    const uuid = typeof op['uuid-name'] === 'string' ? names.get(op['uuid-name'])! : freshUuid();
    const row = new Map<string, Datum>();
    for (const [c, vj] of Object.entries(op.row)) {
      const cs = ts.columns.get(c);
      const where = { ...at, table: tname, row: uuid, column: c };
      if (!cs) throw new NbError(where, 'no such column in the OVN_Northbound schema');
      try {
        row.set(c, datumFromJson(vj, relaxed(cs.type), (name) => names.get(name)));
      } catch (e) {
        if (e instanceof NbError) throw e.at(where);
        throw e;
      }
    }
    db.tables.get(tname)!.set(uuid, row);
  });
  return db;
}
