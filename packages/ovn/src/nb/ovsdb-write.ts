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

/** An OVSDB standalone file holding `raw` (schema record + one transaction). */
export function writeOvsdbFile(raw: RawDb, opts: { comment?: string; date?: number } = {}): Uint8Array {
  const txn: Record<string, unknown> = { _date: opts.date ?? 0 };
  if (opts.comment) txn._comment = opts.comment;
  for (const [tname, ts] of raw.schema.tables) {
    const rows: Record<string, unknown> = {};
    for (const [u, row] of sortedRows(raw, tname)) {
      const rj: Record<string, unknown> = {};
      for (const [cn, cs] of ts.columns) {
        if (cs.ephemeral) continue;
        const d = row.get(cn);
        if (d && !isDefault(d, cs.type)) rj[cn] = datumToJson(d, cs.type);
      }
      rows[u] = rj;
    }
    if (Object.keys(rows).length) txn[tname] = rows;
  }
  return Buffer.concat([formatOvsdbRecord(schemaToJson(raw.schema)), formatOvsdbRecord(txn)]);
}
