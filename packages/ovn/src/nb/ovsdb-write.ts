/**
 * Writing OVSDB standalone files (ovsdb(5)): a schema record then one transaction inserting every
 * row with its non-default columns, the form `ovsdb-client backup` produces. Real `ovsdb-server`
 * and `ovsdb-tool` open these files; the reader accepts them back.
 */
import { createHash } from 'node:crypto';
import type { RawDb } from './data.js';
import { sortedRows } from './data.js';
import type { Datum } from './datum.js';
import { compareAtoms, datumToJson, defaultDatum } from './datum.js';
import type { OvsdbAtom, BaseType, ColumnType, DbSchema } from './schema.js';
import { NbError } from './errors.js';

function baseToJson(b: BaseType): unknown {
  const keys = Object.keys(b).filter((k) => k !== 'type');
  if (keys.length === 0) return b.type;
  const o: Record<string, unknown> = { type: b.type };
  if (b.enum) o.enum = ['set', b.enum.map((a: OvsdbAtom) => (b.type === 'uuid' ? ['uuid', a] : a))];
  for (const k of ['minInteger', 'maxInteger', 'minReal', 'maxReal', 'minLength', 'maxLength', 'refTable'] as const) {
    if (b[k] !== undefined) o[k] = b[k];
  }
  if (b.refTable !== undefined && b.refType === 'weak') o.refType = 'weak';
  return o;
}

function typeToJson(t: ColumnType): unknown {
  if (t.min === 1 && t.max === 1 && !t.value && typeof baseToJson(t.key) === 'string') return t.key.type;
  const o: Record<string, unknown> = { key: baseToJson(t.key) };
  if (t.value) o.value = baseToJson(t.value);
  if (t.min !== 1) o.min = t.min;
  if (t.max !== 1) o.max = t.max === Infinity ? 'unlimited' : t.max;
  return o;
}

/** A schema back to RFC 7047 JSON. */
export function schemaToJson(s: DbSchema): Record<string, unknown> {
  const tables: Record<string, unknown> = {};
  for (const [n, t] of s.tables) {
    const columns: Record<string, unknown> = {};
    for (const [cn, c] of t.columns) {
      const cj: Record<string, unknown> = { type: typeToJson(c.type) };
      if (c.ephemeral) cj.ephemeral = true;
      columns[cn] = cj;
    }
    const tj: Record<string, unknown> = { columns };
    if (t.isRoot) tj.isRoot = true;
    if (t.indexes.length) tj.indexes = t.indexes;
    if (t.maxRows !== undefined) tj.maxRows = t.maxRows;
    tables[n] = tj;
  }
  return { name: s.name, version: s.version, tables };
}

/** One record: header line plus JSON line, as bytes. */
export function formatOvsdbRecord(json: unknown): Uint8Array {
  const body = Buffer.from(`${JSON.stringify(json)}\n`, 'utf8');
  const sha1 = createHash('sha1').update(body).digest('hex');
  return Buffer.concat([Buffer.from(`OVSDB JSON ${body.length} ${sha1}\n`, 'utf8'), body]);
}

function isDefault(d: Datum, t: ColumnType): boolean {
  const def = defaultDatum(t);
  if (d.keys.length !== def.keys.length) return false;
  return d.keys.every((k, i) => compareAtoms(k, def.keys[i]!) === 0 && (!d.values || compareAtoms(d.values[i]!, def.values![i]!) === 0));
}

/** Options of `writeOvsdbFile`. */
export interface WriteOvsdbOptions {
  /** `_comment` of the transaction. */
  comment?: string;
  /** `_date` of the transaction (default 0). */
  date?: number;
  /**
   * Write for this schema instead of the data's own (e.g. `NB_SCHEMA_UPSTREAM`, what the
   * installed OVN serves): its schema record, and of each row only the columns it has. A column
   * it lacks must hold its default, and every value must be valid for its type there (an enum
   * value it does not know, say), else the write fails with an `NbError` naming the row.
   */
  schema?: DbSchema;
}

function allowed(d: Datum, t: ColumnType): string | undefined {
  const check = (atoms: readonly OvsdbAtom[], b: BaseType) => {
    for (const a of atoms) {
      if (b.enum && !b.enum.some((e) => compareAtoms(e, a) === 0)) return `value ${JSON.stringify(a)} is not one of ${b.enum.map((e) => JSON.stringify(e)).join(', ')}`;
      if (typeof a === 'number' && ((b.minInteger !== undefined && a < b.minInteger) || (b.maxInteger !== undefined && a > b.maxInteger))) return `value ${a} is out of range`;
    }
    return undefined;
  };
  if (d.keys.length < t.min || d.keys.length > t.max) return `${d.keys.length} values where ${t.min}..${t.max} are allowed`;
  return check(d.keys, t.key) ?? (d.values && t.value ? check(d.values, t.value) : undefined);
}

/** An OVSDB standalone file holding `raw` (schema record + one transaction). */
export function writeOvsdbFile(raw: RawDb, opts: WriteOvsdbOptions = {}): Uint8Array {
  const schema = opts.schema ?? raw.schema;
  const txn: Record<string, unknown> = { _date: opts.date ?? 0 };
  if (opts.comment) txn._comment = opts.comment;
  for (const [tname, src] of raw.schema.tables) {
    const ts = schema.tables.get(tname);
    const rows: Record<string, unknown> = {};
    for (const [u, row] of sortedRows(raw, tname)) {
      const rj: Record<string, unknown> = {};
      const where = () => ({ table: tname, row: u, rowName: String(row.get('name')?.keys[0] ?? '') });
      for (const [cn, cs] of src.columns) {
        if (cs.ephemeral) continue;
        const d = row.get(cn);
        if (!d || isDefault(d, cs.type)) continue;
        const target = ts?.columns.get(cn);
        if (!target) throw new NbError({ ...where(), column: cn }, `schema ${schema.name} ${schema.version} has no ${ts ? `column ${cn}` : `table ${tname}`} to hold ${JSON.stringify(datumToJson(d, cs.type))}`);
        if (target.ephemeral) continue;
        const bad = schema === raw.schema ? undefined : allowed(d, target.type);
        if (bad) throw new NbError({ ...where(), column: cn }, `not valid in schema ${schema.name} ${schema.version}: ${bad}`);
        rj[cn] = datumToJson(d, target.type);
      }
      rows[u] = rj;
    }
    if (Object.keys(rows).length) txn[tname] = rows;
  }
  return Buffer.concat([formatOvsdbRecord(schemaToJson(schema)), formatOvsdbRecord(txn)]);
}
