/**
 * A transaction on a `Database`, and its commit checks, in ovsdb-server's order
 * (ovsdb/transaction.c, `ovsdb_txn_precommit`):
 *
 * 1. Which columns really changed; rows that changed back are dropped; an empty transaction
 *    commits nothing.
 * 2. Strong reference counts: every added reference must point at an existing row ("referential
 *    integrity violation ... references nonexistent row"), and a deleted row must have no
 *    references left ("cannot delete ... because of N remaining reference(s)"). References from a
 *    row to itself do not count. Rows whose counts change join the transaction.
 * 3. Garbage collection: a row of a non-root table whose count drops to zero is deleted, and its
 *    own references released, recursively (reference counting, as OVS does: an unreachable cycle
 *    is kept).
 * 4. maxRows of every touched table.
 * 5. Weak references to rows that no longer exist are removed from the rows that hold them (which
 *    join the transaction); a column left with fewer elements than its minimum is an error.
 * 6. Unique indexes, within the transaction and against untouched rows, with ovsdb-server's
 *    detailed message.
 * 7. New `_version`s for modified rows.
 *
 * The transaction keeps its own row versions (`TxnRow.new`); the database is untouched until
 * `commit()`, so aborting is just dropping the object.
 */
import type { Datum } from '@ovnts/ovn';
import { addedRemoved, datumEquals, datumToString, newUuid, compareDatums } from './datum.js';
import { ovsdbError, type OvsdbError } from './errors.js';
import { indexKey, rowKey, rowValue, type ChangeSet, type Database, type Row, type Table, type TouchedRow } from './db.js';
import type { ColumnInfo, TableInfo } from './schema.js';

/** A row being built by a transaction. */
export interface MutableRow extends Row {
  /** Data columns, modifiable until commit. */
  readonly fields: Map<string, Datum>;
  /** `_version`. */
  version: string;
}

/** One row touched by a transaction (`struct ovsdb_txn_row`). */
export interface TxnRow {
  /** Its table. */
  readonly table: Table;
  /** Its uuid. */
  readonly uuid: string;
  /** The committed row, if it existed before. */
  readonly old: Row | undefined;
  /** The row after the transaction, if it exists after. */
  new: MutableRow | undefined;
  /** Strong references to it after the transaction. */
  nRefs: number;
  /** Columns that differ between old and new (all columns for inserts and deletes). */
  changed: Set<string>;
}

function english(i: number, n: number): string {
  return i === 0 ? '' : i < n - 1 ? ', ' : n > 2 ? ', and ' : ' and ';
}

function columnsText(cols: readonly ColumnInfo[]): string {
  if (!cols.length) return 'no columns';
  return `column${cols.length > 1 ? 's' : ''} ${cols.map((c, i) => `${english(i, cols.length)}"${c.name}"`).join('')}`;
}

function valuesText(row: Row, cols: readonly ColumnInfo[]): string {
  return cols.map((c, i) => `${english(i, cols.length)}${datumToString(rowValue(row, c), c.type)}`).join('');
}

/** The strong references in a column's value (keys, then values), a row's references to itself left out: [table, uuid]. */
function* strongRefs(col: ColumnInfo, d: Datum, self: string): Generator<[string, string]> {
  for (const [base, atoms] of [
    [col.type.key, d.keys],
    [col.type.value, d.values],
  ] as const) {
    if (!base || base.refTable === undefined || (base.refType ?? 'strong') !== 'strong' || !atoms) continue;
    for (const a of atoms) if (a !== self) yield [base.refTable, a as string];
  }
}

/** A transaction: row changes not yet committed. */
export class Txn {
  /** Touched rows per table, tables and rows in first-touched order. */
  private readonly touched = new Map<string, Map<string, TxnRow>>();
  private readonly comments: string[] = [];

  constructor(readonly db: Database) {}

  /** The transaction's row for a table and uuid, if touched. */
  txnRow(table: Table, uuid: string): TxnRow | undefined {
    return this.touched.get(table.info.name)?.get(uuid);
  }

  /** The row as the transaction sees it (undefined if absent or deleted). */
  get(table: Table, uuid: string): Row | undefined {
    const tr = this.txnRow(table, uuid);
    return tr ? tr.new : table.rows.get(uuid);
  }

  /** Every row of a table as the transaction sees it. */
  *rows(table: Table): Generator<Row> {
    const mine = this.touched.get(table.info.name);
    if (!mine) {
      yield* table.rows.values();
      return;
    }
    for (const [u, r] of table.rows) {
      const tr = mine.get(u);
      if (!tr) yield r;
      else if (tr.new) yield tr.new;
    }
    for (const tr of mine.values()) if (!tr.old && tr.new) yield tr.new;
  }

  /** Number of rows of a table as the transaction sees it. */
  count(table: Table): number {
    const mine = this.touched.get(table.info.name);
    let n = table.rows.size;
    if (mine) for (const tr of mine.values()) n += (tr.new ? 1 : 0) - (tr.old ? 1 : 0);
    return n;
  }

  private add(tr: TxnRow): TxnRow {
    let m = this.touched.get(tr.table.info.name);
    if (!m) this.touched.set(tr.table.info.name, (m = new Map()));
    m.set(tr.uuid, tr);
    return tr;
  }

  /** `ovsdb_txn_may_create_row`: no such row now, and none deleted earlier in this transaction. */
  mayCreate(table: Table, uuid: string): boolean {
    return !table.rows.has(uuid) && !this.txnRow(table, uuid);
  }

  /** Insert a new row (`ovsdb_txn_row_insert`); it gets a fresh `_version`. */
  insert(table: Table, row: { uuid: string; fields: Map<string, Datum> }): MutableRow {
    const nw: MutableRow = { uuid: row.uuid, version: newUuid(), fields: row.fields };
    this.add({ table, uuid: row.uuid, old: undefined, new: nw, nRefs: 0, changed: new Set() });
    return nw;
  }

  /** The writable version of a row (`ovsdb_txn_row_modify`). */
  modify(table: Table, row: Row): MutableRow {
    const tr = this.txnRow(table, row.uuid);
    if (tr?.new) return tr.new;
    const nw: MutableRow = { uuid: row.uuid, version: row.version, fields: new Map(row.fields) };
    this.add({ table, uuid: row.uuid, old: row, new: nw, nRefs: table.refs.get(row.uuid) ?? 0, changed: new Set() });
    return nw;
  }

  /** Delete a row (`ovsdb_txn_row_delete`); a row inserted by this transaction vanishes. */
  delete(table: Table, row: Row): void {
    const tr = this.txnRow(table, row.uuid);
    if (!tr) this.add({ table, uuid: row.uuid, old: row, new: undefined, nRefs: table.refs.get(row.uuid) ?? 0, changed: new Set() });
    else if (tr.old) tr.new = undefined;
    else this.touched.get(table.info.name)!.delete(row.uuid);
  }

  /** Add a "comment" operation's text. */
  comment(text: string): void {
    this.comments.push(text);
  }

  /** True when no row is touched. */
  get empty(): boolean {
    for (const m of this.touched.values()) if (m.size) return false;
    return true;
  }

  private findOrMake(tableName: string, uuid: string): TxnRow | undefined {
    const table = this.db.tables.get(tableName)!;
    const tr = this.txnRow(table, uuid);
    if (tr) return tr;
    const row = table.rows.get(uuid);
    if (!row) return undefined;
    this.modify(table, row);
    return this.txnRow(table, uuid);
  }

  /** Visit every touched row, including rows added while visiting (`for_each_txn_row`). */
  private forEach(cb: (tr: TxnRow) => OvsdbError | undefined): OvsdbError | undefined {
    const done = new Set<TxnRow>();
    for (let work = true; work; ) {
      work = false;
      for (const m of this.touched.values()) {
        for (const tr of [...m.values()]) {
          if (done.has(tr)) continue;
          done.add(tr);
          work = true;
          const e = cb(tr);
          if (e) return e;
        }
      }
    }
    return undefined;
  }

  private adjustRefs(tr: TxnRow, col: ColumnInfo, d: Datum, delta: number, row: Row): OvsdbError | undefined {
    for (const [refTable, u] of strongRefs(col, d, row.uuid)) {
      const target = this.findOrMake(refTable, u);
      if (!target) {
        return ovsdbError(
          'referential integrity violation',
          `Table ${tr.table.info.name} column ${col.name} row ${row.uuid} references nonexistent row ${u} in table ${refTable}.`,
        );
      }
      target.nRefs += delta;
    }
    return undefined;
  }

  private updateRowRefCount(tr: TxnRow): OvsdbError | undefined {
    for (const col of tr.table.info.shashOrder) {
      if (col.index < 2 || !tr.changed.has(col.name) || !tr.table.info.refColumns.includes(col)) continue;
      if (tr.old && !tr.new) {
        const e = this.adjustRefs(tr, col, rowValue(tr.old, col), -1, tr.old);
        if (e) return e.wrap('error decreasing refcount');
      } else if (!tr.old && tr.new) {
        const e = this.adjustRefs(tr, col, rowValue(tr.new, col), 1, tr.new);
        if (e) return e;
      } else if (tr.old && tr.new) {
        const { added, removed } = addedRemoved(rowValue(tr.old, col), rowValue(tr.new, col), col.type);
        const e1 = this.adjustRefs(tr, col, removed, -1, tr.old);
        if (e1) return e1.wrap('error decreasing refcount');
        const e2 = this.adjustRefs(tr, col, added, 1, tr.new);
        if (e2) return e2;
      }
    }
    return undefined;
  }

  private deleteGarbageRow(tr: TxnRow): OvsdbError | undefined {
    if (tr.table.info.isRoot) return undefined;
    const row = tr.new!;
    tr.new = undefined;
    for (const col of tr.table.info.shashOrder) {
      if (!tr.table.info.refColumns.includes(col)) continue;
      for (const [refTable, u] of strongRefs(col, rowValue(row, col), row.uuid)) {
        const target = this.findOrMake(refTable, u);
        if (!target || !target.nRefs || !target.new) return ovsdbError('internal error', 'strong ref target missing, unreferenced or deleted');
        if (--target.nRefs === 0) {
          const e = this.deleteGarbageRow(target);
          if (e) return e;
        }
      }
    }
    return undefined;
  }

  private assessWeakRefs(tr: TxnRow): OvsdbError | undefined {
    if (tr.old && !tr.new) {
      // Rows that refer weakly to a deleted row join the transaction to lose the reference.
      const srcs = this.db.weakRefs.get(rowKey(tr.table.info.name, tr.uuid));
      if (srcs) {
        for (const s of srcs) {
          const [t, u] = s.split('\u0000') as [string, string];
          this.findOrMake(t, u);
        }
      }
      return undefined;
    }
    if (!tr.new) return undefined;
    for (const col of tr.table.info.shashOrder) {
      if (!tr.table.info.refColumns.includes(col)) continue;
      const kw = col.type.key.refType === 'weak' ? col.type.key.refTable : undefined;
      const vw = col.type.value?.refType === 'weak' ? col.type.value.refTable : undefined;
      if (!kw && !vw) continue;
      const d = tr.new.fields.get(col.name)!;
      const keep: number[] = [];
      let zero = false;
      d.keys.forEach((k, i) => {
        const kOk = !kw || this.exists(kw, k as string);
        const vOk = !vw || this.exists(vw, d.values![i] as string);
        if (kOk && vOk) keep.push(i);
        else if ((!kOk && k === '00000000-0000-0000-0000-000000000000') || (!vOk && d.values![i] === '00000000-0000-0000-0000-000000000000')) zero = true;
      });
      if (keep.length === d.keys.length) continue;
      const nd: Datum = { keys: keep.map((i) => d.keys[i]!) };
      if (d.values) nd.values = keep.map((i) => d.values![i]!);
      tr.new.fields.set(col.name, nd);
      tr.changed.add(col.name);
      if (nd.keys.length < col.type.min) {
        if (zero && !tr.old) {
          return ovsdbError(
            'constraint violation',
            `Weak reference column "${col.name}" in "${tr.table.info.name}" row ${tr.uuid} (inserted within this transaction) contained all-zeros UUID (probably as the default value for this column) but deleting this value caused a constraint volation because this column is not allowed to be empty.`,
          );
        }
        return ovsdbError(
          'constraint violation',
          `Deletion of ${d.keys.length - nd.keys.length} weak reference(s) to deleted (or never-existing) rows from column "${col.name}" in "${tr.table.info.name}" row ${tr.uuid} ${tr.old ? '' : '(inserted within this transaction) '}caused this column to become empty, but constraints on this column disallow an empty column.`,
        );
      }
    }
    return undefined;
  }

  private exists(table: string, uuid: string): boolean {
    const t = this.db.tables.get(table);
    return t !== undefined && this.get(t, uuid) !== undefined;
  }

  private describeForIndex(table: Table, ix: readonly ColumnInfo[], row: Row, title: string): string {
    const tr = this.txnRow(table, row.uuid);
    let s = `${title} row, with UUID ${row.uuid}, `;
    if (!tr || tr.changed.size === 0) s += 'existed in the database before this transaction and was not modified by the transaction.';
    else if (!tr.old) s += 'was inserted by this transaction.';
    else if (ix.every((c) => datumEquals(rowValue(tr.old!, c), rowValue(tr.new!, c), c.type))) {
      s += "existed in the database before this transaction, which modified some of the row's columns but not any columns in this index.";
    } else s += `had the following index values before the transaction: ${valuesText(tr.old, ix)}.`;
    return s;
  }

  private duplicate(info: TableInfo, table: Table, ix: readonly ColumnInfo[], a0: Row, b0: Row): OvsdbError {
    let a = a0;
    let b = b0;
    for (const c of info.shashOrder) {
      const cmp = compareDatums(rowValue(a, c), rowValue(b, c), c.type);
      if (cmp) {
        if (cmp < 0) [a, b] = [b, a];
        break;
      }
    }
    const s =
      `Transaction causes multiple rows in "${info.name}" table to have identical values (${valuesText(a, ix)}) for index on ${columnsText(ix)}.  ` +
      `${this.describeForIndex(table, ix, a, 'First')}  ${this.describeForIndex(table, ix, b, 'Second')}`;
    return ovsdbError('constraint violation', s);
  }

  /**
   * Run the commit checks (see the module comment) and return the first error, or undefined
   * when the transaction may commit. Call once, then `commit()`.
   */
  precommit(): OvsdbError | undefined {
    // 1. What changed.
    for (const [name, m] of this.touched) {
      for (const tr of [...m.values()]) {
        if (tr.old && tr.new) {
          for (const c of tr.table.info.dataColumns) {
            if (!datumEquals(rowValue(tr.old, c), rowValue(tr.new, c), c.type)) tr.changed.add(c.name);
          }
          if (!tr.changed.size) m.delete(tr.uuid);
        } else for (const c of tr.table.info.columns) tr.changed.add(c.name);
      }
      if (!m.size) this.touched.delete(name);
    }
    if (this.empty) return undefined;
    // 2. Reference counts.
    let e = this.forEach((tr) => this.updateRowRefCount(tr));
    if (e) return e;
    e = this.forEach((tr) =>
      tr.new || !tr.nRefs
        ? undefined
        : ovsdbError('referential integrity violation', `cannot delete ${tr.table.info.name} row ${tr.uuid} because of ${tr.nRefs} remaining reference(s)`),
    );
    if (e) return e;
    // 3. Garbage collection.
    e = this.forEach((tr) => (tr.new && !tr.nRefs ? this.deleteGarbageRow(tr) : undefined));
    if (e) return e;
    // 4. maxRows.
    for (const name of this.touched.keys()) {
      const table = this.db.tables.get(name)!;
      const max = table.info.maxRows;
      const n = this.count(table);
      if (max !== undefined && n > max) {
        return ovsdbError('constraint violation', `transaction causes "${name}" table to contain ${n} rows, greater than the schema-defined limit of ${max} row(s)`);
      }
    }
    // 5. Weak references.
    e = this.forEach((tr) => this.assessWeakRefs(tr));
    if (e) return e;
    // 6. Unique indexes.
    const seen = new Map<Table, Map<string, Row>[]>();
    e = this.forEach((tr) => {
      const row = tr.new;
      if (!row) return undefined;
      const info = tr.table.info;
      if (!info.indexes.length) return undefined;
      let mine = seen.get(tr.table);
      if (!mine) seen.set(tr.table, (mine = info.indexes.map(() => new Map())));
      for (let i = 0; i < info.indexes.length; i++) {
        const ix = info.indexes[i]!;
        const k = indexKey(row, ix);
        const other = mine[i]!.get(k);
        if (other) return this.duplicate(info, tr.table, ix, other, row);
        const u = tr.table.indexes[i]!.get(k);
        if (u !== undefined && u !== row.uuid && !this.txnRow(tr.table, u)) return this.duplicate(info, tr.table, ix, tr.table.rows.get(u)!, row);
        mine[i]!.set(k, row);
      }
      return undefined;
    });
    if (e) return e;
    // 7. New versions for modified rows.
    for (const m of this.touched.values()) for (const tr of m.values()) if (tr.old && tr.new && tr.changed.size) tr.new.version = newUuid();
    return undefined;
  }

  /** Apply to the database (after a successful `precommit`) and return what changed. */
  commit(id: string = newUuid()): ChangeSet {
    const list: TouchedRow[] = [];
    for (const m of this.touched.values()) {
      for (const tr of m.values()) list.push({ table: tr.table, uuid: tr.uuid, old: tr.old, new: tr.new, nRefs: tr.nRefs, changed: tr.changed.size > 0 });
    }
    const changes = this.db.apply(list);
    if (changes.length) {
      this.db.lastTxnId = id;
      this.db.txnCount++;
    }
    return { id, changes, comment: this.comments.length ? this.comments.join('\n') : undefined };
  }
}
