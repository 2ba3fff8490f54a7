/**
 * The untyped layer: an OVSDB database in memory as tables of rows of `Datum`s, keyed by uuid,
 * together with the schema the data was written with. The OVSDB file reader and the builder both
 * produce a `RawDb`; `checkRawDb` validates it against the embedded northbound schema; the typed
 * `NbDatabase` is built on top of it.
 *
 * Garbage collection follows RFC 7047 section 3.2 and ovsdb-server: weak references to rows that
 * no longer exist are dropped from the referring column, then rows of non-root tables that cannot
 * be reached through strong references from a row of a root table are deleted.
 */
import { NbError } from './errors.js';
import type { Datum } from './datum.js';
import { checkDatum, compareAtoms, defaultDatum, shortJson } from './datum.js';
import type { ColumnType, DbSchema, TableSchema } from './schema.js';
import { NB_SCHEMA } from './schema.js';

/** A row: column name to value. Missing columns hold their default value. */
export type RawRow = Map<string, Datum>;

/** An OVSDB database in memory: tables of rows keyed by uuid. */
export class RawDb {
  /** Table name to (uuid to row). Every table of `schema` has an entry. */
  readonly tables = new Map<string, Map<string, RawRow>>();

  /** `schema` is the schema the data follows (the file's own schema record, or `NB_SCHEMA`). */
  constructor(readonly schema: DbSchema) {
    for (const t of schema.tables.keys()) this.tables.set(t, new Map());
  }

  /** The rows of a table (empty when the table does not exist). */
  rows(table: string): Map<string, RawRow> {
    return this.tables.get(table) ?? new Map();
  }

  /** One row, or undefined. */
  get(table: string, uuid: string): RawRow | undefined {
    return this.tables.get(table)?.get(uuid);
  }

  /** A column of a row, or its default when absent (`type` overrides the schema's type). */
  column(table: string, row: RawRow, column: string, type?: ColumnType): Datum {
    const d = row.get(column);
    if (d) return d;
    const t = type ?? this.schema.tables.get(table)?.columns.get(column)?.type;
    return t ? defaultDatum(t) : { keys: [] };
  }

  /** Total number of rows. */
  get size(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
  }
}

/** The `name` column of a row when it is a single string (for error messages). */
export function rowName(row: RawRow | undefined): string | undefined {
  const d = row?.get('name');
  return d && d.keys.length === 1 && typeof d.keys[0] === 'string' ? d.keys[0] : undefined;
}

function refCols(t: TableSchema): { name: string; type: ColumnType }[] {
  return [...t.columns.values()]
    .filter((c) => c.type.key.refTable !== undefined || c.type.value?.refTable !== undefined)
    .map((c) => ({ name: c.name, type: c.type }));
}

/**
 * Drop weak references to missing rows, then delete unreachable rows of non-root tables.
 * Returns the number of rows deleted.
 */
export function collectGarbage(db: RawDb): number {
  const schema = db.schema;
  const exists = (table: string | undefined, u: unknown): boolean =>
    table === undefined || (typeof u === 'string' && (db.tables.get(table)?.has(u) ?? false));
  let deleted = 0;
  // Deleting rows can leave new dangling weak references, so repeat until stable.
  for (;;) {
    for (const [tname, ts] of schema.tables) {
      const cols = refCols(ts).filter((c) => c.type.key.refType === 'weak' || c.type.value?.refType === 'weak');
      if (cols.length === 0) continue;
      const rows = db.rows(tname);
      for (const [uuid, r] of rows) {
        // Rows are replaced, not modified: a snapshot may share its row objects with another.
        let row = r;
        for (const c of cols) {
          const d = row.get(c.name);
          if (!d) continue;
          const kt = c.type.key.refType === 'weak' ? c.type.key.refTable : undefined;
          const vt = c.type.value?.refType === 'weak' ? c.type.value.refTable : undefined;
          const keep: number[] = [];
          d.keys.forEach((k, i) => {
            if (exists(kt, k) && (d.values === undefined || exists(vt, d.values[i]))) keep.push(i);
          });
          if (keep.length !== d.keys.length) {
            const nd: Datum = { keys: keep.map((i) => d.keys[i]!) };
            if (d.values) nd.values = keep.map((i) => d.values![i]!);
            if (row === r) rows.set(uuid, (row = new Map(r)));
            row.set(c.name, nd);
          }
        }
      }
    }
    // Mark everything reachable from root rows through strong references.
    const marked = new Set<string>();
    const stack: [string, string][] = [];
    for (const [tname, ts] of schema.tables) {
      if (!ts.isRoot) continue;
      for (const u of db.rows(tname).keys()) stack.push([tname, u]);
    }
    const seen = (t: string, u: string) => `${t}\u0000${u}`;
    while (stack.length) {
      const [tname, u] = stack.pop()!;
      const key = seen(tname, u);
      if (marked.has(key)) continue;
      marked.add(key);
      const row = db.get(tname, u);
      const ts = schema.tables.get(tname);
      if (!row || !ts) continue;
      for (const c of refCols(ts)) {
        const d = row.get(c.name);
        if (!d) continue;
        const kt = c.type.key.refType === 'strong' ? c.type.key.refTable : undefined;
        const vt = c.type.value?.refType === 'strong' ? c.type.value.refTable : undefined;
        d.keys.forEach((k, i) => {
          if (kt && typeof k === 'string' && db.get(kt, k)) stack.push([kt, k]);
          const v = d.values?.[i];
          if (vt && typeof v === 'string' && db.get(vt, v)) stack.push([vt, v]);
        });
      }
    }
    let round = 0;
    for (const [tname, ts] of schema.tables) {
      if (ts.isRoot) continue;
      const rows = db.rows(tname);
      for (const u of [...rows.keys()]) {
        if (!marked.has(seen(tname, u))) {
          rows.delete(u);
          round++;
        }
      }
    }
    deleted += round;
    if (round === 0) return deleted;
  }
}

/**
 * Check a database against a schema (by default the embedded northbound schema): every column's
 * type, element count, enum, range and length; references to existing rows; unique indexes;
 * maxRows. Columns and tables the schema does not know are ignored. Returns all problems found.
 */
export function checkRawDb(db: RawDb, schema: DbSchema = NB_SCHEMA): NbError[] {
  const errors: NbError[] = [];
  for (const [tname, ts] of schema.tables) {
    const rows = db.rows(tname);
    if (ts.maxRows !== undefined && rows.size > ts.maxRows) {
      errors.push(new NbError({ table: tname }, `has ${rows.size} rows, allows at most ${ts.maxRows}`));
    }
    for (const [u, row] of rows) {
      const where = { table: tname, row: u, rowName: rowName(row) };
      for (const [cname, cs] of ts.columns) {
        const d = row.get(cname) ?? defaultDatum(cs.type);
        const e = checkDatum(d, cs.type);
        if (e) {
          errors.push(new NbError({ ...where, column: cname }, e));
          continue;
        }
        const kt = cs.type.key.refTable;
        const vt = cs.type.value?.refTable;
        d.keys.forEach((k, i) => {
          for (const [rt, a] of [
            [kt, k],
            [vt, d.values?.[i]],
          ] as const) {
            if (rt !== undefined && typeof a === 'string' && !db.get(rt, a)) {
              errors.push(new NbError({ ...where, column: cname }, `reference to missing ${rt} row ${a}`));
            }
          }
        });
      }
    }
    for (const ix of ts.indexes) {
      const seen = new Map<string, string>();
      for (const [u, row] of rows) {
        const key = JSON.stringify(ix.map((c) => row.get(c)?.keys ?? defaultDatum(ts.columns.get(c)!.type).keys));
        const other = seen.get(key);
        if (other !== undefined) {
          const vals = ix.map((c) => shortJson(row.get(c)?.keys.length === 1 ? row.get(c)!.keys[0] : row.get(c)?.keys)).join(', ');
          errors.push(
            new NbError(
              { table: tname, row: u, rowName: rowName(row), column: ix.join(',') },
              `duplicate ${ix.join(', ')} ${vals}: also in row ${other}`,
            ),
          );
        } else seen.set(key, u);
      }
    }
  }
  return errors;
}

/** Rows of a table sorted by uuid (for deterministic output). */
export function sortedRows(db: RawDb, table: string): [string, RawRow][] {
  return [...db.rows(table)].sort((a, b) => compareAtoms(a[0], b[0]));
}
