/**
 * Monitors (RFC 7047 section 4.1.5 "monitor", and ovsdb-server(7)'s "monitor_cond" and
 * "monitor_cond_since"): parsing monitor requests with ovsdb-server's errors, and composing the
 * three update formats (ovsdb/monitor.c).
 *
 * - "update" (monitor): per row `{"old": ..., "new": ...}`; "old" holds the changed columns of a
 *   modified row (all columns of a deleted one), "new" every monitored column.
 * - "update2"/"update3" (monitor_cond, monitor_cond_since): `{"initial"|"insert": non-default
 *   columns}`, `{"modify": per-column diffs}`, `{"delete": null}`. A condition (clauses joined by
 *   OR, empty = all rows) filters rows: a modification that makes a row start or stop matching
 *   reaches the client as an insert or a delete, and `monitor_cond_change` sends the rows that
 *   enter or leave the new condition.
 *
 * The server keeps the change sets of the last transactions (`History`), so monitor_cond_since
 * with a known last-txn-id answers with only what changed since.
 */
import { isTrueCondition, matchesAny, parseCondition, type Condition } from './condition.js';
import { datumDiff, datumEquals, datumToWire, isDefaultDatum } from './datum.js';
import { syntaxError } from './errors.js';
import { rowValue, type ChangeSet, type Database, type Row } from './db.js';
import { isJsonObject } from './json.js';
import { OP, OvsdbParser } from './parser.js';
import type { ColumnInfo, TableInfo } from './schema.js';
import { hmapOrder, ovsHashString } from '@ovnts/ovn';

/** Monitor selection bits. */
export const SELECT = { INITIAL: 1, INSERT: 2, DELETE: 4, MODIFY: 8 } as const;
const ALL = 15;

/** The three monitor protocol versions: monitor, monitor_cond, monitor_cond_since. */
export type MonitorVersion = 1 | 2 | 3;

interface MonColumn {
  readonly column: ColumnInfo;
  readonly select: number;
}

/** One table of a monitor. */
export interface MonitorTable {
  /** The table. */
  readonly info: TableInfo;
  /** Union of the requests' selections. */
  select: number;
  /** Monitored columns with their selections, in request order. */
  readonly columns: MonColumn[];
  /** The condition (monitor_cond and later), undefined = every row. */
  condition: Condition | undefined;
}

function parseBool(p: OvsdbParser, name: string, dflt: boolean): boolean {
  const v = p.member(name, OP.BOOLEAN | OP.OPTIONAL);
  return v === undefined ? dflt : v === true;
}

function parseRequest(mt: MonitorTable, j: unknown, cond: boolean): void {
  const info = mt.info;
  const p = new OvsdbParser(j, `table ${info.name}`);
  const where = cond ? p.member('where', OP.ARRAY | OP.OPTIONAL) : undefined;
  const columns = p.member('columns', OP.ARRAY | OP.OPTIONAL);
  const selectJson = p.member('select', OP.OBJECT | OP.OPTIONAL);
  let e = p.finish();
  if (e) throw e;
  let select = ALL;
  if (selectJson !== undefined) {
    select = 0;
    const sp = new OvsdbParser(selectJson, `table ${info.name} select`);
    if (parseBool(sp, 'initial', true)) select |= SELECT.INITIAL;
    if (parseBool(sp, 'insert', true)) select |= SELECT.INSERT;
    if (parseBool(sp, 'delete', true)) select |= SELECT.DELETE;
    if (parseBool(sp, 'modify', true)) select |= SELECT.MODIFY;
    e = sp.finish();
    if (e) throw e;
  }
  mt.select |= select;
  const add = (c: ColumnInfo, src: unknown): void => {
    if (mt.columns.some((m) => m.column === c)) throw syntaxError(src, undefined, `column ${c.name} mentioned more than once`);
    mt.columns.push({ column: c, select });
  };
  if (columns !== undefined) {
    for (const n of columns as unknown[]) {
      if (typeof n !== 'string') throw syntaxError(columns, undefined, 'array of column names expected');
      const c = info.byName.get(n);
      if (!c) throw syntaxError(columns, undefined, `${n} is not a valid column name`);
      add(c, columns);
    }
  } else for (const c of info.shashOrder) if (c.index !== 0) add(c, undefined);
  if (cond && !mt.condition) mt.condition = parseCondition(info, (where as unknown[] | undefined) ?? []);
}

/**
 * A table's rows as the members of ovsdb-server's JSON object for them. ovsdb-server visits the
 * rows in its table's hash map (`uuid_hash`: a uuid's first 32 bits; rows given here in insertion
 * order, or a transaction's in the order it touched them), adds each to the monitor's change set
 * (another hash map by `uuid_hash`, filled in that order), then puts them into a JSON object in
 * the change set's order and writes the object in its own hash order (`hash_string` of the uuid
 * text). Clients (the IDL) read the members back in hash order, so
 * members that share a bucket keep the order they were sent in: sending them as ovsdb-server does
 * makes `ovn-nbctl show` list rows in the same order. The table's map is rebuilt from insertion
 * order, which is exact while no row has been deleted (a hash map never shrinks).
 */
function wireObject(rows: readonly [string, unknown][]): Record<string, unknown> {
  if (rows.length < 2) return Object.fromEntries(rows);
  const uuidHash = ([u]: readonly [string, unknown]): number => parseInt(u.slice(0, 8), 16);
  const ordered = hmapOrder(hmapOrder(hmapOrder(rows, uuidHash), uuidHash), ([u]) => ovsHashString(u));
  const o: Record<string, unknown> = {};
  for (const [u, v] of ordered) o[u] = v;
  return o;
}

/** A monitor of one session on one database. */
export class Monitor {
  /** Tables by name, in request order. */
  readonly tables = new Map<string, MonitorTable>();
  private changeSetOrder: string[] | undefined;

  private constructor(
    readonly db: Database,
    /** The monitor id the client chose (monitor_cond_change may replace it). */
    public id: unknown,
    readonly version: MonitorVersion,
  ) {}

  /**
   * Parse `<monitor-requests>` (an object of table name -> request or array of requests);
   * throws `OvsdbError` with ovsdb-server's texts.
   */
  static create(db: Database, id: unknown, version: MonitorVersion, requests: unknown): Monitor {
    if (!isJsonObject(requests)) throw syntaxError(requests, undefined, 'monitor-requests must be object');
    const m = new Monitor(db, id, version);
    const names = Object.keys(requests);
    for (const name of names.length > 1 ? hmapOrder(names, (n) => ovsHashString(n)) : names) {
      const t = db.tables.get(name);
      if (!t) throw syntaxError(undefined, undefined, `no table named ${name}`);
      let mt = m.tables.get(name);
      if (!mt) m.tables.set(name, (mt = { info: t.info, select: 0, columns: [], condition: undefined }));
      const v = requests[name];
      if (Array.isArray(v)) for (const r of v) parseRequest(mt, r, version > 1);
      else parseRequest(mt, v, version > 1);
    }
    return m;
  }

  private rowUpdate1(mt: MonitorTable, old: Row | undefined, nw: Row | undefined, initial: boolean): unknown {
    const type = initial ? SELECT.INITIAL : !old ? SELECT.INSERT : !nw ? SELECT.DELETE : SELECT.MODIFY;
    if (!(mt.select & type)) return undefined;
    let changed: Set<ColumnInfo> | undefined;
    if (type === SELECT.MODIFY) {
      changed = new Set(mt.columns.filter((c) => !datumEquals(rowValue(old!, c.column), rowValue(nw!, c.column), c.column.type)).map((c) => c.column));
      if (!changed.size) return undefined;
    }
    const out: Record<string, unknown> = {};
    const o: Record<string, unknown> | undefined = type & (SELECT.DELETE | SELECT.MODIFY) ? (out.old = {}) : undefined;
    const n: Record<string, unknown> | undefined = type & (SELECT.INITIAL | SELECT.INSERT | SELECT.MODIFY) ? (out.new = {}) : undefined;
    for (const { column: c, select } of mt.columns) {
      if (!(type & select)) continue;
      if ((type === SELECT.MODIFY && changed!.has(c)) || type === SELECT.DELETE) o![c.name] = datumToWire(rowValue(old!, c), c.type);
      if (n) n[c.name] = datumToWire(rowValue(nw!, c), c.type);
    }
    return out;
  }

  private rowUpdate2(mt: MonitorTable, old: Row | undefined, nw: Row | undefined, initial: boolean, oldCond?: Condition, newCond?: Condition): unknown {
    let type: number = initial ? SELECT.INITIAL : !old ? SELECT.INSERT : !nw ? SELECT.DELETE : SELECT.MODIFY;
    const oc = oldCond ?? mt.condition;
    const nc = newCond ?? mt.condition;
    if (oc && nc) {
      const om = old ? matchesAny(oc, (c) => rowValue(old, c)) : false;
      const nm = nw ? matchesAny(nc, (c) => rowValue(nw, c)) : false;
      if (!om && !nm) type = 0;
      else if (type === SELECT.INITIAL || type === SELECT.INSERT) type = nm ? type : 0;
      else if (type === SELECT.MODIFY) type = !om ? SELECT.INSERT : !nm ? SELECT.DELETE : SELECT.MODIFY;
      else if (type === SELECT.DELETE && !om) type = 0;
    }
    if (!(mt.select & type)) return undefined;
    let changed: Set<ColumnInfo> | undefined;
    if (type === SELECT.MODIFY) {
      changed = new Set(mt.columns.filter((c) => !datumEquals(rowValue(old!, c.column), rowValue(nw!, c.column), c.column.type)).map((c) => c.column));
      if (!changed.size) return undefined;
    }
    if (type === SELECT.DELETE) return { delete: null };
    const diff: Record<string, unknown> = {};
    for (const { column: c, select } of mt.columns) {
      if (!(type & select)) continue;
      if (type === SELECT.MODIFY) {
        if (!changed!.has(c)) continue;
        diff[c.name] = datumToWire(datumDiff(rowValue(old!, c), rowValue(nw!, c), c.type), c.type);
      } else {
        const v = rowValue(nw!, c);
        if (!isDefaultDatum(v, c.type)) diff[c.name] = datumToWire(v, c.type);
      }
    }
    return { [type === SELECT.INITIAL ? 'initial' : type === SELECT.MODIFY ? 'modify' : 'insert']: diff };
  }

  private rowUpdate(mt: MonitorTable, old: Row | undefined, nw: Row | undefined, initial: boolean): unknown {
    return this.version === 1 ? this.rowUpdate1(mt, old, nw, initial) : this.rowUpdate2(mt, old, nw, initial);
  }

  /** The initial contents (table-updates), or undefined when empty. */
  initial(): Record<string, Record<string, unknown>> | undefined {
    const tables = new Map<string, [string, unknown][]>();
    for (const [name, mt] of this.tables) {
      if (!(mt.select & SELECT.INITIAL)) continue;
      const t = this.db.tables.get(name)!;
      const rows: [string, unknown][] = [];
      for (const r of t.rows.values()) {
        const u = this.rowUpdate(mt, undefined, r, true);
        if (u !== undefined) rows.push([r.uuid, u]);
      }
      if (rows.length) tables.set(name, rows);
    }
    return this.tableUpdates(tables);
  }

  /**
   * Table-updates as ovsdb-server writes them: its monitor keeps the tables in a hash map filled
   * in the order it parsed the request (`this.tables`), its change set lists them in that map's
   * order, and the object it fills in that order is written in its own hash order.
   */
  private tableUpdates(tables: ReadonlyMap<string, [string, unknown][]>): Record<string, Record<string, unknown>> | undefined {
    if (!tables.size) return undefined;
    this.changeSetOrder ??= hmapOrder([...this.tables.keys()], (n) => ovsHashString(n));
    const names = this.changeSetOrder.filter((n) => tables.has(n));
    const out: Record<string, Record<string, unknown>> = {};
    for (const name of names.length > 1 ? hmapOrder(names, (n) => ovsHashString(n)) : names) out[name] = wireObject(tables.get(name)!);
    return out;
  }

  /** The update for committed changes (table-updates), or undefined when nothing concerns this monitor. */
  compose(changes: readonly { table: TableInfo; uuid: string; old: Row | undefined; new: Row | undefined }[]): Record<string, Record<string, unknown>> | undefined {
    const tables = new Map<string, [string, unknown][]>();
    for (const ch of changes) {
      const mt = this.tables.get(ch.table.name);
      if (!mt) continue;
      const u = this.rowUpdate(mt, ch.old, ch.new, false);
      if (u === undefined) continue;
      let rows = tables.get(ch.table.name);
      if (!rows) tables.set(ch.table.name, (rows = []));
      rows.push([ch.uuid, u]);
    }
    return this.tableUpdates(tables);
  }

  /**
   * `monitor_cond_change`: parse the new conditions (`{table: [{"where": [...]}]}`), install
   * them, and return the update that moves the client from the old to the new condition.
   */
  changeConditions(requests: unknown): Record<string, Record<string, unknown>> | undefined {
    if (!isJsonObject(requests)) throw syntaxError(undefined, undefined, 'monitor-cond-change-requests must be object');
    const next = new Map<string, Condition>();
    const names = Object.keys(requests);
    for (const name of names.length > 1 ? hmapOrder(names, (n) => ovsHashString(n)) : names) {
      const t = this.db.tables.get(name);
      if (!t) throw syntaxError(undefined, undefined, `no table named ${name}`);
      const mt = this.tables.get(name);
      if (!mt) throw syntaxError(undefined, undefined, `no table named ${name} in monitor session`);
      const v = requests[name];
      if (!Array.isArray(v)) throw syntaxError(undefined, undefined, `table ${name} no monitor-cond-change JSON array`);
      for (const r of v) {
        const p = new OvsdbParser(r, `table ${name}`);
        const columns = p.member('columns', OP.ARRAY | OP.OPTIONAL);
        const where = p.member('where', OP.ARRAY | OP.OPTIONAL);
        const e = p.finish();
        if (e) throw e;
        if (columns !== undefined) throw syntaxError(r, undefined, 'changing columns is unsupported');
        if (this.version > 1) next.set(name, parseCondition(t.info, (where as unknown[] | undefined) ?? []));
      }
    }
    let out: Record<string, Record<string, unknown>> | undefined;
    for (const [name, cond] of next) {
      const mt = this.tables.get(name)!;
      const old = mt.condition ?? { clauses: [] };
      mt.condition = cond;
      if (isTrueCondition(old) && isTrueCondition(cond)) continue;
      for (const r of this.db.tables.get(name)!.rows.values()) {
        const u = this.rowUpdate2(mt, r, r, false, old, cond);
        if (u === undefined) continue;
        out ??= {};
        (out[name] ??= {})[r.uuid] = u;
      }
    }
    return out;
  }
}

/** The change sets of the last transactions of a database, for monitor_cond_since. */
export class History {
  private readonly sets: ChangeSet[] = [];
  constructor(private readonly limit = 100) {}

  /** Record a committed transaction. */
  add(cs: ChangeSet): void {
    this.sets.push(cs);
    if (this.sets.length > this.limit) this.sets.shift();
  }

  /**
   * The changes after transaction `id`, merged per row (first old, last new), or undefined when
   * `id` is not in the history.
   */
  since(id: string): { table: TableInfo; uuid: string; old: Row | undefined; new: Row | undefined }[] | undefined {
    const i = this.sets.findIndex((s) => s.id === id);
    if (i < 0) return undefined;
    const merged = new Map<string, { table: TableInfo; uuid: string; old: Row | undefined; new: Row | undefined }>();
    for (const cs of this.sets.slice(i + 1)) {
      for (const ch of cs.changes) {
        const k = `${ch.table.name}\u0000${ch.uuid}`;
        const m = merged.get(k);
        if (m) m.new = ch.new;
        else merged.set(k, { table: ch.table, uuid: ch.uuid, old: ch.old, new: ch.new });
      }
    }
    return [...merged.values()].filter((m) => m.old || m.new);
  }
}
