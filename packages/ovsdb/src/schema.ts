/**
 * Database schemas as the server uses them. The schema itself is @ovnts/ovn's `DbSchema`
 * (`parseSchema`, the same objects the northbound and southbound models are typed by); this
 * module adds what a server needs on top: the two implicit columns every table has (`_uuid`,
 * `_version`), column mutability (`"mutable": false` in a schema), column indexes, unique
 * indexes as column lists, the iteration order of OVS's `shash` (which decides which error
 * ovsdb-server reports first when a request has several), and the schema back to JSON exactly
 * as ovsdb-server's `get_schema` returns it.
 */
import { hmapOrder, ovsHashString, parseSchema, type BaseType, type ColumnType, type DbSchema, type TableSchema } from '@ovnts/ovn';
import { OvsdbError } from './errors.js';
import { datumToJson } from './datum.js';
import { compareAtoms } from './datum.js';
import { isJsonObject } from './json.js';

/** One column of a table, the implicit `_uuid` and `_version` included. */
export interface ColumnInfo {
  /** Column name. */
  readonly name: string;
  /** Its type. */
  readonly type: ColumnType;
  /** Position: 0 is `_uuid`, 1 is `_version`, then the schema's columns. */
  readonly index: number;
  /** False when the schema says `"mutable": false` (and for `_uuid`, `_version`). */
  readonly mutable: boolean;
  /** False for ephemeral columns (and `_version`). */
  readonly persistent: boolean;
}

/** One table with the server's view of its columns. */
export interface TableInfo {
  /** Table name. */
  readonly name: string;
  /** The table's schema (from @ovnts/ovn). */
  readonly schema: TableSchema;
  /** Every column by position. */
  readonly columns: readonly ColumnInfo[];
  /** Columns by name (including `_uuid` and `_version`). */
  readonly byName: ReadonlyMap<string, ColumnInfo>;
  /** The schema's own columns (no `_uuid`/`_version`), in schema order. */
  readonly dataColumns: readonly ColumnInfo[];
  /** Columns in the order ovsdb-server iterates them (`SHASH_FOR_EACH`). */
  readonly shashOrder: readonly ColumnInfo[];
  /** Unique indexes. */
  readonly indexes: readonly (readonly ColumnInfo[])[];
  /** Root table (not garbage-collected). */
  readonly isRoot: boolean;
  /** Row limit, if any. */
  readonly maxRows: number | undefined;
  /** False when the schema says the table is immutable. */
  readonly mutable: boolean;
  /** Strong and weak reference columns (key or value refers to a table). */
  readonly refColumns: readonly ColumnInfo[];
}

/** A database schema ready for serving. */
export class Schema {
  /** Database name. */
  readonly name: string;
  /** Schema version. */
  readonly version: string;
  /** Schema checksum text, if any. */
  readonly cksum: string | undefined;
  /** The @ovnts/ovn schema. */
  readonly db: DbSchema;
  /** Tables by name. */
  readonly tables: ReadonlyMap<string, TableInfo>;

  private constructor(db: DbSchema, tables: Map<string, TableInfo>) {
    this.db = db;
    this.name = db.name;
    this.version = db.version;
    this.cksum = db.cksum;
    this.tables = tables;
  }

  /**
   * A schema from RFC 7047 JSON. `json` supplies what @ovnts/ovn's parser does not keep (column
   * and table mutability, text order); throws `OvsdbError` on a malformed schema.
   */
  static fromJson(json: unknown): Schema {
    let db: DbSchema;
    try {
      db = parseSchema(json);
    } catch (e) {
      throw new OvsdbError('syntax error', e instanceof Error ? e.message : String(e));
    }
    return Schema.fromDbSchema(db, json);
  }

  /** A schema from an @ovnts/ovn `DbSchema` (with its JSON for mutability, when known). */
  static fromDbSchema(db: DbSchema, json?: unknown): Schema {
    const tj = isJsonObject(json) && isJsonObject(json.tables) ? json.tables : {};
    const tables = new Map<string, TableInfo>();
    for (const [tname, ts] of db.tables) {
      const tjson = isJsonObject(tj[tname]) ? (tj[tname] as Record<string, unknown>) : {};
      const cjson = isJsonObject(tjson.columns) ? tjson.columns : {};
      const uuidType: ColumnType = { key: { type: 'uuid' }, min: 1, max: 1 };
      const columns: ColumnInfo[] = [
        { name: '_uuid', type: uuidType, index: 0, mutable: false, persistent: true },
        { name: '_version', type: uuidType, index: 1, mutable: false, persistent: false },
      ];
      for (const c of ts.columns.values()) {
        const cj = isJsonObject(cjson[c.name]) ? (cjson[c.name] as Record<string, unknown>) : {};
        columns.push({ name: c.name, type: c.type, index: columns.length, mutable: cj.mutable !== false, persistent: !c.ephemeral });
      }
      const byName = new Map(columns.map((c) => [c.name, c]));
      const indexes = ts.indexes.map((ix) => ix.map((n) => byName.get(n)!));
      tables.set(tname, {
        name: tname,
        schema: ts,
        columns,
        byName,
        dataColumns: columns.slice(2),
        shashOrder: hmapOrder(columns, (c) => ovsHashString(c.name)),
        indexes,
        isRoot: ts.isRoot,
        maxRows: ts.maxRows,
        mutable: tjson.mutable !== false,
        refColumns: columns.slice(2).filter((c) => c.type.key.refTable !== undefined || c.type.value?.refTable !== undefined),
      });
    }
    return new Schema(db, tables);
  }

  /** The schema as ovsdb-server's `get_schema` returns it (`ovsdb_schema_to_json`). */
  toJson(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name };
    if (this.version) out.version = this.version;
    if (this.cksum) out.cksum = this.cksum;
    const allRoot = [...this.tables.values()].every((t) => t.isRoot);
    const tables: Record<string, unknown> = {};
    for (const t of this.tables.values()) {
      const tj: Record<string, unknown> = {};
      if (!t.mutable) tj.mutable = false;
      if (allRoot !== t.isRoot) tj.isRoot = t.isRoot;
      const columns: Record<string, unknown> = {};
      for (const c of t.dataColumns) {
        const cj: Record<string, unknown> = {};
        if (!c.mutable) cj.mutable = false;
        if (!c.persistent) cj.ephemeral = true;
        cj.type = typeToJson(c.type);
        columns[c.name] = cj;
      }
      tj.columns = columns;
      if (t.maxRows !== undefined) tj.maxRows = t.maxRows;
      if (t.indexes.length) tj.indexes = t.indexes.map((ix) => ix.map((c) => c.name));
      tables[t.name] = tj;
    }
    out.tables = tables;
    return out;
  }
}

function hasConstraints(b: BaseType): boolean {
  return (
    b.enum !== undefined ||
    b.minInteger !== undefined ||
    b.maxInteger !== undefined ||
    b.minReal !== undefined ||
    b.maxReal !== undefined ||
    (b.minLength !== undefined && b.minLength !== 0) ||
    b.maxLength !== undefined ||
    b.refTable !== undefined
  );
}

/** `ovsdb_base_type_to_json`. */
export function baseTypeToJson(b: BaseType): unknown {
  if (!hasConstraints(b)) return b.type;
  const j: Record<string, unknown> = { type: b.type };
  if (b.enum) {
    const keys = [...b.enum].sort((x, y) => compareAtoms(x, y, b.type));
    j.enum = datumToJson({ keys }, { key: { type: b.type }, min: 0, max: Infinity });
  }
  if (b.type === 'integer') {
    if (b.minInteger !== undefined) j.minInteger = b.minInteger;
    if (b.maxInteger !== undefined) j.maxInteger = b.maxInteger;
  } else if (b.type === 'real') {
    if (b.minReal !== undefined) j.minReal = b.minReal;
    if (b.maxReal !== undefined) j.maxReal = b.maxReal;
  } else if (b.type === 'string') {
    if (b.minLength !== undefined && b.minLength !== 0) j.minLength = b.minLength;
    if (b.maxLength !== undefined) j.maxLength = b.maxLength;
  } else if (b.type === 'uuid' && b.refTable !== undefined) {
    j.refTable = b.refTable;
    if (b.refType === 'weak') j.refType = 'weak';
  }
  return j;
}

/** `ovsdb_type_to_json`. */
export function typeToJson(t: ColumnType): unknown {
  if (t.value === undefined && t.min === 1 && t.max === 1 && !hasConstraints(t.key)) return baseTypeToJson(t.key);
  const j: Record<string, unknown> = { key: baseTypeToJson(t.key) };
  if (t.value) j.value = baseTypeToJson(t.value);
  if (t.min !== 1) j.min = t.min;
  if (t.max === Infinity) j.max = 'unlimited';
  else if (t.max !== 1) j.max = t.max;
  return j;
}

/** The `_Server` database schema of ovsdb-server 3.1 (ovsdb/_server.ovsschema). */
export const SERVER_SCHEMA_JSON = {
  name: '_Server',
  version: '1.2.0',
  cksum: '3009684573 744',
  tables: {
    Database: {
      columns: {
        name: { type: 'string' },
        model: { type: { key: { type: 'string', enum: ['set', ['standalone', 'clustered', 'relay']] } } },
        connected: { type: 'boolean' },
        leader: { type: 'boolean' },
        schema: { type: { key: { type: 'string' }, min: 0, max: 1 } },
        cid: { type: { key: { type: 'uuid' }, min: 0, max: 1 } },
        sid: { type: { key: { type: 'uuid' }, min: 0, max: 1 } },
        index: { type: { key: { type: 'integer' }, min: 0, max: 1 } },
      },
      isRoot: true,
    },
  },
} as const;

/** The `_Server` schema, parsed. */
export const SERVER_SCHEMA: Schema = Schema.fromJson(SERVER_SCHEMA_JSON);
