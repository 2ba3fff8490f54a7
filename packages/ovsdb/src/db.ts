/**
 * A database in memory: tables of immutable rows keyed by uuid, with what commit needs to stay
 * cheap as tables grow: per-row strong reference counts (OVS keeps `n_refs` on every row), one
 * hash map per unique index, and a reverse map of weak references (OVS's `dst_refs`), so that
 * deleting a row finds the rows that refer to it weakly without scanning.
 *
 * Rows are never modified in place: a transaction builds new rows and `Database.apply` swaps them
 * in, so readers (monitors, snapshots for northd) can hold rows across commits.
 */
import type { Datum } from '@ovnts/ovn';
import { RawDb, defaultDatum, type RawRow } from '@ovnts/ovn';
import { datumToJson, newUuid } from './datum.js';
import { formatJson } from './json.js';
import type { ColumnInfo, Schema, TableInfo } from './schema.js';

/** A committed row: uuid, version and every data column's value. */
export interface Row {
  /** `_uuid`. */
  readonly uuid: string;
  /** `_version` (changes with every modification). */
  readonly version: string;
  /** Every data column (not `_uuid`/`_version`), by name. */
  readonly fields: ReadonlyMap<string, Datum>;
}

/** The value of any column of a row, `_uuid` and `_version` included. */
export function rowValue(row: Row, col: ColumnInfo): Datum {
  if (col.index === 0) return { keys: [row.uuid] };
  if (col.index === 1) return { keys: [row.version] };
  return row.fields.get(col.name) ?? defaultDatum(col.type);
}

/** A new row of `table` with every column at its default, then `values` applied. */
export function makeRow(table: TableInfo, uuid: string, values?: ReadonlyMap<string, Datum>): { uuid: string; version: string; fields: Map<string, Datum> } {
  const fields = new Map<string, Datum>();
  for (const c of table.dataColumns) fields.set(c.name, values?.get(c.name) ?? defaultDatum(c.type));
  return { uuid, version: newUuid(), fields };
}

/** The key of a row in a unique index (equal keys <=> equal values in the index columns). */
export function indexKey(row: Row, ix: readonly ColumnInfo[]): string {
  return formatJson(ix.map((c) => datumToJson(rowValue(row, c), c.type)));
}

/** One table: rows, reference counts, unique indexes. */
export class Table {
  /** Rows by uuid, in insertion order. */
  readonly rows = new Map<string, Row>();
  /** Strong references to each row from other rows (absent = 0). */
  readonly refs = new Map<string, number>();
  /** Per unique index: key -> uuid. */
  readonly indexes: Map<string, string>[];
  constructor(readonly info: TableInfo) {
    this.indexes = info.indexes.map(() => new Map());
  }
}

/** One committed row change. */
export interface RowChange {
  /** The table. */
  readonly table: TableInfo;
  /** The row's uuid. */
  readonly uuid: string;
  /** The row before (absent for an insert). */
  readonly old: Row | undefined;
  /** The row after (absent for a delete). */
  readonly new: Row | undefined;
}

/** A committed transaction: its id and its row changes. */
export interface ChangeSet {
  /** The transaction id (what monitor_cond_since calls last-txn-id). */
  readonly id: string;
  /** The rows that changed, grouped by table in first-touched order. */
  readonly changes: readonly RowChange[];
  /** The transaction's "comment" operations, joined by newlines. */
  readonly comment: string | undefined;
}

/** The weak-reference reverse map's key for a row. */
export function rowKey(table: string, uuid: string): string {
  return `${table}\u0000${uuid}`;
}

/** A row as a transaction leaves it, for `Database.apply`. */
export interface TouchedRow {
  /** Its table. */
  readonly table: Table;
  /** Its uuid. */
  readonly uuid: string;
  /** Before. */
  readonly old: Row | undefined;
  /** After (undefined: deleted). */
  readonly new: Row | undefined;
  /** Strong references to it after. */
  readonly nRefs: number;
  /** Whether any column changed. */
  readonly changed: boolean;
}

/** A database: schema plus tables. */
export class Database {
  /** Tables by name. */
  readonly tables = new Map<string, Table>();
  /** Rows referring weakly to a row: target key -> source keys (see `rowKey`). */
  readonly weakRefs = new Map<string, Set<string>>();
  /** Id of the last committed transaction (zero before any). */
  lastTxnId = '00000000-0000-0000-0000-000000000000';
  /** Committed transactions so far. */
  txnCount = 0;

  constructor(readonly schema: Schema) {
    for (const t of schema.tables.values()) this.tables.set(t.name, new Table(t));
  }

  /** A table by name. */
  table(name: string): Table | undefined {
    return this.tables.get(name);
  }

  /**
   * Apply committed row versions: `final` is each touched row's state after the transaction
   * (undefined = gone) with its reference count. Returns the rows that actually changed.
   */
  apply(touched: readonly TouchedRow[]): RowChange[] {
    const out: RowChange[] = [];
    for (const t of touched) {
      const { table, uuid } = t;
      if (t.old) {
        table.info.indexes.forEach((ix, i) => {
          const k = indexKey(t.old!, ix);
          if (table.indexes[i]!.get(k) === uuid) table.indexes[i]!.delete(k);
        });
        this.unlinkWeak(table.info, t.old);
      }
      if (t.new) {
        table.rows.set(uuid, t.new);
        if (t.nRefs) table.refs.set(uuid, t.nRefs);
        else table.refs.delete(uuid);
        table.info.indexes.forEach((ix, i) => table.indexes[i]!.set(indexKey(t.new!, ix), uuid));
        this.linkWeak(table.info, t.new);
      } else {
        table.rows.delete(uuid);
        table.refs.delete(uuid);
      }
      if (t.changed && (t.old || t.new)) out.push({ table: table.info, uuid, old: t.old, new: t.new });
    }
    return out;
  }

  private weakTargets(info: TableInfo, row: Row): string[] {
    const out: string[] = [];
    for (const c of info.refColumns) {
      const d = row.fields.get(c.name);
      if (!d) continue;
      if (c.type.key.refType === 'weak' && c.type.key.refTable) for (const k of d.keys) out.push(rowKey(c.type.key.refTable, k as string));
      if (c.type.value?.refType === 'weak' && c.type.value.refTable) for (const v of d.values!) out.push(rowKey(c.type.value.refTable, v as string));
    }
    return out;
  }

  private linkWeak(info: TableInfo, row: Row): void {
    const src = rowKey(info.name, row.uuid);
    for (const dst of this.weakTargets(info, row)) {
      let s = this.weakRefs.get(dst);
      if (!s) this.weakRefs.set(dst, (s = new Set()));
      s.add(src);
    }
  }

  private unlinkWeak(info: TableInfo, row: Row): void {
    const src = rowKey(info.name, row.uuid);
    for (const dst of this.weakTargets(info, row)) {
      const s = this.weakRefs.get(dst);
      if (s) {
        s.delete(src);
        if (!s.size) this.weakRefs.delete(dst);
      }
    }
  }

  /** Number of rows in every table. */
  get size(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.rows.size;
    return n;
  }

  /**
   * A snapshot as @ovnts/ovn's `RawDb` (for the northbound and southbound models). Rows are
   * copied, so the models' own processing never touches the database.
   */
  toRawDb(): RawDb {
    const raw = new RawDb(this.schema.db);
    for (const [name, t] of this.tables) {
      const rows = raw.tables.get(name)!;
      for (const [u, r] of t.rows) rows.set(u, new Map(r.fields) as RawRow);
    }
    return raw;
  }
}
