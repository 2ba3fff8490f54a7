/**
 * OVSDB schemas (RFC 7047 section 3.2) as typed objects, and the embedded OVN_Northbound schema.
 *
 * `parseSchema` reads a <database-schema> JSON object (the first record of an OVSDB file, or the
 * `.ovsschema` file). `NB_SCHEMA` is the OVN 23.03 northbound schema generated into
 * `schema-data.ts` plus a small, documented overlay of newer northbound columns that ovn-ts models
 * (`ACL.tier` and the ACL action `pass`, both from OVN 23.06), so that databases written by newer
 * OVN load too and the builder can express them.
 */
import { NbError } from './errors.js';
import { NB_SCHEMA_JSON } from './schema-data.js';

/** The atomic types of RFC 7047. */
export type AtomicType = 'integer' | 'real' | 'boolean' | 'string' | 'uuid';

/** A scalar value of one of the atomic types (uuids are lower-case strings). */
export type OvsdbAtom = string | number | boolean;

/** RFC 7047 <base-type> with its constraints. */
export interface BaseType {
  /** The atomic type. */
  type: AtomicType;
  /** Allowed values (enum), when constrained. */
  enum?: readonly OvsdbAtom[];
  /** Integer lower bound. */
  minInteger?: number;
  /** Integer upper bound. */
  maxInteger?: number;
  /** Real lower bound. */
  minReal?: number;
  /** Real upper bound. */
  maxReal?: number;
  /** Minimum string length in code points. */
  minLength?: number;
  /** Maximum string length in code points. */
  maxLength?: number;
  /** For uuids: the referenced table. */
  refTable?: string;
  /** For uuids with refTable: strong (default) or weak. */
  refType?: 'strong' | 'weak';
}

/** RFC 7047 <type>: a key, an optional value (a map) and the element count bounds. */
export interface ColumnType {
  /** Key (or element) type. */
  key: BaseType;
  /** Value type; present for maps. */
  value?: BaseType;
  /** Minimum number of elements (0 or 1). */
  min: number;
  /** Maximum number of elements (`Infinity` for "unlimited"). */
  max: number;
}

/** One column of a table schema. */
export interface ColumnSchema {
  /** Column name. */
  name: string;
  /** Its type. */
  type: ColumnType;
  /** Ephemeral columns are not stored in files. */
  ephemeral: boolean;
}

/** One table of a database schema. */
export interface TableSchema {
  /** Table name. */
  name: string;
  /** Columns by name. */
  columns: ReadonlyMap<string, ColumnSchema>;
  /** Root tables are not garbage-collected. */
  isRoot: boolean;
  /** Maximum number of rows, if limited. */
  maxRows?: number;
  /** Unique indexes (each a list of column names). */
  indexes: readonly (readonly string[])[];
}

/** A parsed database schema. */
export interface DbSchema {
  /** Database name (`OVN_Northbound`). */
  name: string;
  /** Schema version (`7.0.0`). */
  version: string;
  /** The schema's own checksum text, if present. */
  cksum?: string;
  /** Tables by name. */
  tables: ReadonlyMap<string, TableSchema>;
}

/** True if a column type is a map. */
export function isMapType(t: ColumnType): boolean {
  return t.value !== undefined;
}

/** True if a column holds exactly one atom (min = max = 1, not a map). */
export function isScalarType(t: ColumnType): boolean {
  return t.min === 1 && t.max === 1 && t.value === undefined;
}

const ATOMIC: readonly string[] = ['integer', 'real', 'boolean', 'string', 'uuid'];
const ID = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function fail(where: string, what: string): never {
  throw new NbError({}, `bad schema: ${where}: ${what}`);
}

function atomOk(t: AtomicType, v: unknown): boolean {
  switch (t) {
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'real':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'uuid':
      return Array.isArray(v) && v.length === 2 && v[0] === 'uuid' && typeof v[1] === 'string';
  }
}

function optNum(o: Record<string, unknown>, k: string, where: string, integer: boolean): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || (integer && !Number.isInteger(v))) fail(where, `${k} must be a number`);
  return v;
}

function parseBase(j: unknown, where: string): BaseType {
  if (typeof j === 'string') {
    if (!ATOMIC.includes(j)) fail(where, `unknown atomic type ${JSON.stringify(j)}`);
    return { type: j as AtomicType };
  }
  if (!isObj(j)) fail(where, 'base type must be a string or an object');
  const t = j.type;
  if (typeof t !== 'string' || !ATOMIC.includes(t)) fail(where, `unknown atomic type ${JSON.stringify(t)}`);
  const b: BaseType = { type: t as AtomicType };
  if (j.enum !== undefined) {
    let list: unknown[];
    if (Array.isArray(j.enum) && j.enum[0] === 'set' && j.enum.length === 2 && Array.isArray(j.enum[1])) {
      list = j.enum[1] as unknown[];
    } else list = [j.enum];
    const atoms: OvsdbAtom[] = [];
    for (const v of list) {
      if (!atomOk(b.type, v)) fail(where, `enum value ${JSON.stringify(v)} is not a ${b.type}`);
      atoms.push(b.type === 'uuid' ? String((v as unknown[])[1]).toLowerCase() : (v as OvsdbAtom));
    }
    b.enum = atoms;
  }
  const mi = optNum(j, 'minInteger', where, true);
  const ma = optNum(j, 'maxInteger', where, true);
  const mr = optNum(j, 'minReal', where, false);
  const xr = optNum(j, 'maxReal', where, false);
  const ml = optNum(j, 'minLength', where, true);
  const xl = optNum(j, 'maxLength', where, true);
  if (mi !== undefined) b.minInteger = mi;
  if (ma !== undefined) b.maxInteger = ma;
  if (mr !== undefined) b.minReal = mr;
  if (xr !== undefined) b.maxReal = xr;
  if (ml !== undefined) b.minLength = ml;
  if (xl !== undefined) b.maxLength = xl;
  if (j.refTable !== undefined) {
    if (b.type !== 'uuid' || typeof j.refTable !== 'string') fail(where, 'refTable needs a uuid type and a table name');
    b.refTable = j.refTable;
    const rt = j.refType ?? 'strong';
    if (rt !== 'strong' && rt !== 'weak') fail(where, `refType ${JSON.stringify(rt)}`);
    b.refType = rt;
  }
  return b;
}

function parseType(j: unknown, where: string): ColumnType {
  if (typeof j === 'string') return { key: parseBase(j, where), min: 1, max: 1 };
  if (!isObj(j)) fail(where, 'type must be a string or an object');
  if (j.key === undefined) fail(where, 'type has no key');
  const key = parseBase(j.key, where);
  const t: ColumnType = { key, min: 1, max: 1 };
  if (j.value !== undefined) t.value = parseBase(j.value, where);
  if (j.min !== undefined) {
    if (j.min !== 0 && j.min !== 1) fail(where, 'min must be 0 or 1');
    t.min = j.min;
  }
  if (j.max !== undefined) {
    if (j.max === 'unlimited') t.max = Infinity;
    else if (typeof j.max === 'number' && Number.isInteger(j.max) && j.max >= 1) t.max = j.max;
    else fail(where, 'max must be a positive integer or "unlimited"');
  }
  if (t.min > t.max) fail(where, 'min exceeds max');
  return t;
}

/** Parse an RFC 7047 <database-schema> JSON value; throws `NbError` on malformed input. */
export function parseSchema(j: unknown): DbSchema {
  if (!isObj(j)) fail('database', 'not a JSON object');
  if (typeof j.name !== 'string' || !ID.test(j.name)) fail('database', 'missing or bad "name"');
  if (j.version !== undefined && typeof j.version !== 'string') fail('database', '"version" is not a string');
  if (!isObj(j.tables)) fail('database', 'missing "tables" object');
  const tables = new Map<string, TableSchema>();
  let anyRoot = false;
  for (const [tname, tj] of Object.entries(j.tables)) {
    if (!ID.test(tname) || tname.startsWith('_')) fail(tname, 'bad table name');
    if (!isObj(tj) || !isObj(tj.columns)) fail(tname, 'table needs a "columns" object');
    const columns = new Map<string, ColumnSchema>();
    for (const [cname, cj] of Object.entries(tj.columns)) {
      if (!ID.test(cname) || cname.startsWith('_')) fail(`${tname}.${cname}`, 'bad column name');
      if (!isObj(cj)) fail(`${tname}.${cname}`, 'column must be an object');
      columns.set(cname, { name: cname, type: parseType(cj.type, `${tname}.${cname}`), ephemeral: cj.ephemeral === true });
    }
    const indexes: string[][] = [];
    if (tj.indexes !== undefined) {
      if (!Array.isArray(tj.indexes)) fail(tname, '"indexes" must be an array');
      for (const ix of tj.indexes) {
        if (!Array.isArray(ix) || ix.length === 0 || !ix.every((c) => typeof c === 'string' && columns.has(c))) {
          fail(tname, `bad index ${JSON.stringify(ix)}`);
        }
        indexes.push(ix as string[]);
      }
    }
    const isRoot = tj.isRoot === true;
    anyRoot ||= isRoot;
    const ts: TableSchema = { name: tname, columns, isRoot, indexes };
    if (tj.maxRows !== undefined) {
      if (typeof tj.maxRows !== 'number' || !Number.isInteger(tj.maxRows) || tj.maxRows < 1) fail(tname, 'bad maxRows');
      ts.maxRows = tj.maxRows;
    }
    tables.set(tname, ts);
  }
  // RFC 7047: if no table says isRoot, every table is in the root set (pre-isRoot schemas).
  if (!anyRoot) for (const t of tables.values()) t.isRoot = true;
  for (const t of tables.values()) {
    for (const c of t.columns.values()) {
      for (const b of [c.type.key, c.type.value]) {
        if (b?.refTable !== undefined && !tables.has(b.refTable)) fail(`${t.name}.${c.name}`, `refTable ${b.refTable} does not exist`);
      }
    }
  }
  const s: DbSchema = { name: j.name, version: typeof j.version === 'string' ? j.version : '', tables };
  if (typeof j.cksum === 'string') s.cksum = j.cksum;
  return s;
}

/** Name of the northbound database schema. */
export const NB_SCHEMA_NAME = 'OVN_Northbound';

/**
 * Newer northbound columns and enum values that ovn-ts models on top of the 23.03 schema.
 * Each entry is documented in docs/ovn-nb.md ("Deliberate differences").
 */
function overlay(s: DbSchema): DbSchema {
  const acl = s.tables.get('ACL');
  if (acl) {
    const cols = acl.columns as Map<string, ColumnSchema>;
    if (!cols.has('tier')) {
      cols.set('tier', { name: 'tier', ephemeral: false, type: { key: { type: 'integer', minInteger: 0, maxInteger: 3 }, min: 1, max: 1 } });
    }
    const action = cols.get('action');
    if (action?.type.key.enum && !action.type.key.enum.includes('pass')) {
      action.type.key.enum = [...action.type.key.enum, 'pass'];
    }
  }
  return s;
}

/** The embedded OVN_Northbound schema (23.03, version 7.0.0) with the ovn-ts overlay. */
export const NB_SCHEMA: DbSchema = overlay(parseSchema(NB_SCHEMA_JSON));

/** The embedded schema exactly as OVN ships it, without the overlay. */
export const NB_SCHEMA_UPSTREAM: DbSchema = parseSchema(NB_SCHEMA_JSON);
