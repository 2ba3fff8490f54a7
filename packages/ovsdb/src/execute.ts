/**
 * The "transact" method (RFC 7047 section 4.1.3, section 5.2 operations) as ovsdb-server 3.1
 * executes it (ovsdb/execution.c): operations run in order against one transaction; the first
 * error stops the rest (their results are `null`) and discards the transaction; a failed "wait"
 * without an expired timeout asks the caller to retry the whole transaction when the database
 * changes (a trigger), and the commit checks' error, if any, is appended after the results.
 *
 * Every operation's members are read with `OvsdbParser`, in the same order ovsdb-server reads
 * them, so a malformed operation gets the same first error.
 */
import type { Datum } from '@ovnts/ovn';
import { isUuid } from '@ovnts/ovn';
import { matchesAll, parseCondition, pinnedUuid, type Condition } from './condition.js';
import { checkDatumConstraints, compareDatums, datumEquals, datumFromJson, datumToWire, newUuid, SymbolTable } from './datum.js';
import { ovsdbError, syntaxError, OvsdbError } from './errors.js';
import { applyMutations, parseMutations } from './mutation.js';
import { OP, OvsdbParser } from './parser.js';
import { indexKey, makeRow, rowValue, type Database, type Row, type Table } from './db.js';
import type { ColumnInfo, TableInfo } from './schema.js';
import { Txn } from './txn.js';
import { hmapOrder, ovsHashString } from '@ovnts/ovn';

/** What a transaction runs with besides its parameters. */
export interface ExecContext {
  /** True when this session holds lock `name` (for "assert"). */
  ownsLock(name: string): boolean;
  /** The server is read-only. */
  readOnly?: boolean;
  /** Milliseconds since the request arrived (for "wait" timeouts). */
  elapsedMs: number;
}

/** The outcome of executing (not yet committing) a transaction. */
export interface ExecOutcome {
  /** The results, or undefined when an unsatisfied "wait" needs a retry when the database changes. */
  results: unknown[] | undefined;
  /** The transaction to commit (undefined when an operation failed). */
  txn: Txn | undefined;
  /** The smallest "wait" timeout, in ms (Infinity when none). */
  timeoutMs: number;
  /** A "commit" operation asked for durability. */
  durable: boolean;
}

interface Exec {
  db: Database;
  txn: Txn;
  symtab: SymbolTable;
  ctx: ExecContext;
  timeoutMs: number;
  durable: boolean;
}

type Executor = (x: Exec, p: OvsdbParser, result: Record<string, unknown>) => OvsdbError | undefined;

function parseTable(x: Exec, p: OvsdbParser, member: string): Table | undefined {
  const name = p.member(member, OP.ID) as string | undefined;
  if (name === undefined) return undefined;
  const t = x.db.tables.get(name);
  if (!t) p.raise(`No table named ${name}.`);
  return t;
}

/**
 * `ovsdb_row_from_json`: the columns of `j` (an object) parsed into `fields`; returns the
 * columns given, in the order ovsdb-server visits them.
 */
export function rowFromJson(info: TableInfo, j: unknown, symtab: SymbolTable | undefined, fields: Map<string, Datum>): ColumnInfo[] {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw syntaxError(j, undefined, 'row must be JSON object');
  const obj = j as Record<string, unknown>;
  const keys = Object.keys(obj);
  const order = keys.length > 1 ? hmapOrder(keys, (k) => ovsHashString(k)) : keys;
  const included: ColumnInfo[] = [];
  for (const name of order) {
    const c = info.byName.get(name);
    if (!c) throw syntaxError(j, 'unknown column', `No column ${name} in table ${info.name}.`);
    const d = datumFromJson(obj[name], c.type, symtab);
    if (c.index >= 2) fields.set(c.name, d);
    included.push(c);
  }
  return included;
}

function guard(f: () => void): OvsdbError | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (e instanceof OvsdbError) return e;
    throw e;
  }
}

/** `ovsdb_column_set_from_json`: all columns (in `shash` order) when absent. */
function columnSet(j: unknown, info: TableInfo): ColumnInfo[] {
  if (j === undefined) return [...info.shashOrder];
  const bad = (): never => {
    throw syntaxError(j, undefined, 'array of distinct column names expected');
  };
  if (!Array.isArray(j)) bad();
  const out: ColumnInfo[] = [];
  for (const e of j as unknown[]) {
    if (typeof e !== 'string') bad();
    const c = info.byName.get(e as string);
    if (!c) throw syntaxError(j, undefined, `${e as string} is not a valid column name`);
    if (out.includes(c)) bad();
    out.push(c);
  }
  return out;
}

/** Rows of `table` matching every clause of `cond`, as the transaction sees them. */
function query(x: Exec, table: Table, cond: Condition): Row[] {
  const value = (row: Row) => (c: ColumnInfo) => rowValue(row, c);
  const pin = pinnedUuid(cond);
  if (pin !== undefined) {
    const row = x.txn.get(table, pin);
    return row && matchesAll(cond, value(row)) ? [row] : [];
  }
  const out: Row[] = [];
  for (const row of x.txn.rows(table)) if (matchesAll(cond, value(row))) out.push(row);
  return out;
}

function rowKeyOf(row: Row, cols: readonly ColumnInfo[]): string {
  return indexKey(row, cols);
}

const insert: Executor = (x, p, result) => {
  const table = parseTable(x, p, 'table');
  const uuidJson = p.member('uuid', OP.STRING | OP.OPTIONAL) as string | undefined;
  const uuidName = p.member('uuid-name', OP.ID | OP.OPTIONAL) as string | undefined;
  const rowJson = p.member('row', OP.OBJECT);
  if (p.error) return p.error;
  const t = table!;
  let uuid: string;
  if (uuidJson !== undefined) {
    if (!isUuid(uuidJson)) return syntaxError(uuidJson, undefined, 'bad uuid');
    uuid = uuidJson.toLowerCase();
    if (!x.txn.mayCreate(t, uuid)) {
      return syntaxError(uuidJson, 'duplicate uuid', 'This UUID would duplicate a UUID already present within the table or deleted within the same transaction.');
    }
  }
  if (uuidName !== undefined) {
    const sym = x.symtab.insert(uuidName);
    if (sym.created) return syntaxError(uuidName, 'duplicate uuid-name', 'This "uuid-name" appeared on an earlier "insert" operation.');
    if (uuidJson !== undefined) sym.uuid = uuid!;
    else uuid = sym.uuid;
    sym.created = true;
  } else if (uuidJson === undefined) uuid = newUuid();
  const row = makeRow(t.info, uuid!);
  let err = guard(() => rowFromJson(t.info, rowJson, x.symtab, row.fields));
  if (!err) {
    // Columns left at their default value may break a constraint (one default atom).
    for (const c of t.info.shashOrder) {
      if (c.index < 2) continue;
      const d = row.fields.get(c.name)!;
      if (d.keys.length === 1) {
        err = checkDatumConstraints(d, c.type);
        if (err) break;
      }
    }
  }
  if (err) return err;
  x.txn.insert(t, row);
  result.uuid = ['uuid', uuid!];
  return undefined;
};

const select: Executor = (x, p, result) => {
  const table = parseTable(x, p, 'table');
  const where = p.member('where', OP.ARRAY) as unknown[] | undefined;
  const columnsJson = p.member('columns', OP.ARRAY | OP.OPTIONAL);
  const sortJson = p.member('sort', OP.ARRAY | OP.OPTIONAL);
  if (p.error) return p.error;
  const t = table!;
  let cond!: Condition;
  let columns!: ColumnInfo[];
  let sort!: ColumnInfo[];
  const err = guard(() => {
    cond = parseCondition(t.info, where!, x.symtab);
    columns = columnSet(columnsJson, t.info);
    sort = columnSet(sortJson, t.info);
  });
  if (err) return err;
  let rows = query(x, t, cond);
  if (columnsJson !== undefined && !columns.some((c) => c.index === 0)) {
    const seen = new Set<string>();
    rows = rows.filter((r) => {
      const k = rowKeyOf(r, columns);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  if (sortJson !== undefined && sort.length && rows.length > 1) {
    rows = rows.sort((a, b) => {
      for (const c of sort) {
        const cmp = compareDatums(rowValue(a, c), rowValue(b, c), c.type);
        if (cmp) return cmp;
      }
      return 0;
    });
  }
  result.rows = rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (const c of columns) o[c.name] = datumToWire(rowValue(r, c), c.type);
    return o;
  });
  return undefined;
};

const update: Executor = (x, p, result) => {
  const table = parseTable(x, p, 'table');
  const where = p.member('where', OP.ARRAY) as unknown[] | undefined;
  const rowJson = p.member('row', OP.OBJECT);
  if (p.error) return p.error;
  const t = table!;
  const fields = new Map<string, Datum>();
  let cols!: ColumnInfo[];
  let err = guard(() => {
    cols = rowFromJson(t.info, rowJson, x.symtab, fields);
  });
  if (err) return err;
  for (const c of cols) {
    if (!c.mutable) return syntaxError(p.json, 'constraint violation', `Cannot update immutable column ${c.name} in table ${t.info.name}.`);
  }
  let cond!: Condition;
  err = guard(() => {
    cond = parseCondition(t.info, where!, x.symtab);
  });
  if (err) return err;
  const rows = query(x, t, cond);
  for (const r of rows) {
    if (cols.every((c) => datumEquals(rowValue(r, c), fields.get(c.name)!, c.type))) continue;
    const w = x.txn.modify(t, r);
    for (const c of cols) w.fields.set(c.name, fields.get(c.name)!);
  }
  result.count = rows.length;
  return undefined;
};

const mutate: Executor = (x, p, result) => {
  const table = parseTable(x, p, 'table');
  const where = p.member('where', OP.ARRAY) as unknown[] | undefined;
  const mutationsJson = p.member('mutations', OP.ARRAY) as unknown[] | undefined;
  if (p.error) return p.error;
  const t = table!;
  let muts!: ReturnType<typeof parseMutations>;
  let cond!: Condition;
  let err = guard(() => {
    muts = parseMutations(t.info, mutationsJson!, x.symtab);
  });
  if (!err) {
    err = guard(() => {
      cond = parseCondition(t.info, where!, x.symtab);
    });
  }
  if (err) return err;
  const rows = query(x, t, cond);
  for (const r of rows) {
    err = guard(() => applyMutations(x.txn.modify(t, r).fields, muts));
    if (err) return err;
  }
  result.count = rows.length;
  return undefined;
};

const del: Executor = (x, p, result) => {
  const where = p.member('where', OP.ARRAY) as unknown[] | undefined;
  const table = parseTable(x, p, 'table');
  if (p.error) return p.error;
  const t = table!;
  let cond!: Condition;
  const err = guard(() => {
    cond = parseCondition(t.info, where!, x.symtab);
  });
  if (err) return err;
  const rows = query(x, t, cond);
  for (const r of rows) x.txn.delete(t, r);
  result.count = rows.length;
  return undefined;
};

const wait: Executor = (x, p) => {
  const timeout = p.member('timeout', OP.INTEGER | OP.OPTIONAL) as number | undefined;
  const where = p.member('where', OP.ARRAY) as unknown[] | undefined;
  const columnsJson = p.member('columns', OP.ARRAY | OP.OPTIONAL);
  const until = p.member('until', OP.STRING) as string | undefined;
  const rowsJson = p.member('rows', OP.ARRAY) as unknown[] | undefined;
  const table = parseTable(x, p, 'table');
  if (p.error) return p.error;
  const t = table!;
  let cond!: Condition;
  let columns!: ColumnInfo[];
  let err = guard(() => {
    cond = parseCondition(t.info, where!, x.symtab);
    columns = columnSet(columnsJson, t.info);
  });
  if (err) return err;
  let timeoutMs = Infinity;
  if (timeout !== undefined) {
    if (timeout < 0) return syntaxError(timeout, undefined, 'timeout must be nonnegative');
    timeoutMs = timeout;
    if (timeoutMs < x.timeoutMs) x.timeoutMs = timeoutMs;
  }
  if (until !== '==' && until !== '!=') return syntaxError(until, undefined, '"until" must be "==" or "!="');
  const expected = new Set<string>();
  err = guard(() => {
    for (const rj of rowsJson!) {
      const row = makeRow(t.info, '00000000-0000-0000-0000-000000000000');
      rowFromJson(t.info, rj, x.symtab, row.fields);
      // A row given in "rows" has the all-zero _uuid and _version unless it names them.
      const uj = (rj as Record<string, unknown>)._uuid;
      const vj = (rj as Record<string, unknown>)._version;
      const full: Row = {
        uuid: uj !== undefined ? (datumFromJson(uj, t.info.columns[0]!.type).keys[0] as string) : row.uuid,
        version: vj !== undefined ? (datumFromJson(vj, t.info.columns[1]!.type).keys[0] as string) : '00000000-0000-0000-0000-000000000000',
        fields: row.fields,
      };
      expected.add(rowKeyOf(full, columns));
    }
  });
  if (err) return err;
  let equal = true;
  const actual = new Set<string>();
  for (const r of query(x, t, cond)) {
    const k = rowKeyOf(r, columns);
    if (!expected.has(k)) {
      equal = false;
      break;
    }
    actual.add(k);
  }
  if (equal) equal = actual.size === expected.size;
  if ((until === '==') !== equal) {
    if (timeout !== undefined && x.ctx.elapsedMs >= timeoutMs) {
      return x.ctx.elapsedMs ? ovsdbError('timed out', `"wait" timed out after ${x.ctx.elapsedMs} ms`) : ovsdbError('timed out', '"where" clause test failed');
    }
    return ovsdbError('not supported', 'triggers not supported');
  }
  return undefined;
};

const commit: Executor = (x, p) => {
  const durable = p.member('durable', OP.BOOLEAN);
  if (durable === true) x.durable = true;
  return undefined;
};

const abort: Executor = () => ovsdbError('aborted', 'aborted by request');

const comment: Executor = (x, p) => {
  const text = p.member('comment', OP.STRING) as string | undefined;
  if (text !== undefined) x.txn.comment(text);
  return undefined;
};

const assert: Executor = (x, p) => {
  const lock = p.member('lock', OP.ID) as string | undefined;
  if (lock === undefined) return undefined;
  if (x.ctx.ownsLock(lock)) return undefined;
  return ovsdbError('not owner', `Asserted lock ${lock} not held.`);
};

const EXECUTORS: ReadonlyMap<string, { exec: Executor; readOnly: boolean }> = new Map([
  ['insert', { exec: insert, readOnly: false }],
  ['select', { exec: select, readOnly: true }],
  ['update', { exec: update, readOnly: false }],
  ['mutate', { exec: mutate, readOnly: false }],
  ['delete', { exec: del, readOnly: false }],
  ['wait', { exec: wait, readOnly: true }],
  ['commit', { exec: commit, readOnly: false }],
  ['abort', { exec: abort, readOnly: true }],
  ['comment', { exec: comment, readOnly: true }],
  ['assert', { exec: assert, readOnly: true }],
]);

/**
 * `ovsdb_execute_compose`: run the operations of `params` (`[db-name, op...]`) on a new
 * transaction. Nothing is committed here; see `ExecOutcome`.
 */
export function executeTransaction(db: Database, params: readonly unknown[], ctx: ExecContext): ExecOutcome {
  if (!params.length || typeof params[0] !== 'string' || params[0] !== db.schema.name) {
    return { results: [syntaxError(params, undefined, 'database name expected as first parameter').toJson()], txn: undefined, timeoutMs: Infinity, durable: false };
  }
  const x: Exec = { db, txn: new Txn(db), symtab: new SymbolTable(), ctx, timeoutMs: Infinity, durable: false };
  const n = params.length - 1;
  const results: unknown[] = [];
  let error: OvsdbError | undefined;
  for (let i = 1; i <= n; i++) {
    const p = new OvsdbParser(params[i], `ovsdb operation ${i} of ${n}`);
    const opName = p.member('op', OP.ID) as string | undefined;
    const result: Record<string, unknown> = {};
    let ro = false;
    if (opName !== undefined) {
      const ex = EXECUTORS.get(opName);
      if (ex) {
        ro = ex.readOnly;
        error = ex.exec(x, p, result);
      } else p.raise(`No operation "${opName}"`);
    }
    const parseError = p.finish();
    if (parseError) error = parseError;
    if (!ro && !error) {
      if (ctx.readOnly) error = ovsdbError('not allowed', `${opName} operation not allowed when database server is in read only mode`);
      else if (db.schema.name.startsWith('_')) error = ovsdbError('not allowed', `${opName} operation not allowed on table in reserved database ${db.schema.name}`);
    }
    if (error) {
      results.push(error.toJson());
      if (error.tag === 'not supported') return { results: undefined, txn: undefined, timeoutMs: x.timeoutMs, durable: false };
      break;
    }
    results.push(result);
  }
  while (results.length < n) results.push(null);
  return { results, txn: error ? undefined : x.txn, timeoutMs: x.timeoutMs, durable: x.durable };
}

/** Execute and commit in one go (no triggers): the results array, commit errors appended. */
export function transact(db: Database, params: readonly unknown[], ctx: Partial<ExecContext> = {}): unknown[] {
  const out = executeTransaction(db, params, { ownsLock: ctx.ownsLock ?? (() => false), elapsedMs: ctx.elapsedMs ?? 0, ...(ctx.readOnly ? { readOnly: true } : {}) });
  if (!out.results) return [ovsdbError('not supported', 'triggers not supported').toJson()];
  if (out.txn) {
    const e = out.txn.precommit();
    if (e) out.results.push(e.toJson());
    else out.txn.commit();
  }
  return out.results;
}

/** A result array's first error object, if any. */
export function firstError(results: readonly unknown[]): { error: string; details?: string } | undefined {
  for (const r of results) {
    if (typeof r === 'object' && r !== null && typeof (r as { error?: unknown }).error === 'string') return r as { error: string; details?: string };
  }
  return undefined;
}
