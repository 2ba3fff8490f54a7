/**
 * Conditions (RFC 7047 section 5.1 <condition>, plus OVS's `true`/`false` clauses of
 * monitor_cond): parsing with ovsdb-server's checks and error texts, and evaluation.
 *
 * A transaction's "where" matches a row when every clause does; a monitor_cond "where" when any
 * clause does (an empty one matches everything). Clauses are sorted as ovsdb-server sorts them
 * (boolean clauses first, then by function selectivity, `_uuid` first), which also lets a query
 * whose clauses include `_uuid == U` go straight to that row.
 */
import type { ColumnType, Datum } from '@ovnts/ovn';
import { compareAtoms, compareDatums, datumEquals, datumFromJson, excludesAll, includesAll, isOptionalScalar, isScalar, typeToEnglish, type SymbolTable } from './datum.js';
import { syntaxError } from './errors.js';
import { compareStrings } from './json.js';
import type { ColumnInfo, TableInfo } from './schema.js';

/** The condition functions, in ovsdb-server's order (boolean first, then by selectivity). */
export const FUNCTIONS = ['false', 'true', '==', 'includes', '<=', '<', '>=', '>', 'excludes', '!='] as const;

/** A condition function. */
export type ConditionFunction = (typeof FUNCTIONS)[number];

/** One clause: `[column, function, value]`, or a bare `true`/`false`. */
export interface Clause {
  /** The function. */
  readonly fn: ConditionFunction;
  /** The column (`_uuid` for the boolean clauses). */
  readonly column: ColumnInfo;
  /** The argument, of the column's (possibly relaxed) type. */
  readonly arg: Datum;
}

/** A parsed condition: clauses in ovsdb-server's order. */
export interface Condition {
  /** The clauses. */
  readonly clauses: readonly Clause[];
}

function compareClauses(a: Clause, b: Clause): number {
  const fa = FUNCTIONS.indexOf(a.fn);
  const fb = FUNCTIONS.indexOf(b.fn);
  if (fa !== fb) return fa < fb ? -1 : 1;
  if (a.column.index !== b.column.index) {
    if (a.column.index < 2 || b.column.index < 2) return a.column.index < b.column.index ? -1 : 1;
    return compareStrings(a.column.name, b.column.name);
  }
  return compareDatums(a.arg, b.arg, a.column.type);
}

function parseClause(table: TableInfo, j: unknown, symtab: SymbolTable | undefined): Clause {
  const uuidCol = table.columns[0]!;
  if (j === true || j === false) return { fn: j ? 'true' : 'false', column: uuidCol, arg: { keys: [] } };
  if (!Array.isArray(j) || j.length !== 3 || typeof j[0] !== 'string' || typeof j[1] !== 'string') {
    throw syntaxError(j, undefined, 'Parse error in condition.');
  }
  const column = table.byName.get(j[0]);
  if (!column) throw syntaxError(j, 'unknown column', `No column ${j[0]} in table ${table.name}.`);
  const fn = j[1] as ConditionFunction;
  // ovsdb-server 3.1 aborts on ["column", "true", value] (the names parse, the type check
  // has no case for them); here they are unknown functions like any other (docs/ovsdb.md).
  if (!(FUNCTIONS as readonly string[]).includes(fn) || fn === 'true' || fn === 'false') {
    throw syntaxError(undefined, 'unknown function', `No function named ${j[1]}.`);
  }
  let type: ColumnType = column.type;
  switch (fn) {
    case '<':
    case '<=':
    case '>':
    case '>=':
      if (!(isScalar(type) || isOptionalScalar(type)) || (type.key.type !== 'integer' && type.key.type !== 'real')) {
        throw syntaxError(j, undefined, `Type mismatch: "${fn}" operator may not be applied to column ${column.name} of type ${typeToEnglish(type)}.`);
      }
      type = { ...type, min: 1 };
      break;
    case 'excludes':
      if (!isScalar(type)) type = { ...type, min: 0, max: Infinity };
      break;
    case 'includes':
      if (!isScalar(type)) type = { ...type, min: 0 };
      break;
    default:
      break;
  }
  return { fn, column, arg: datumFromJson(j[2], type, symtab) };
}

/** `ovsdb_condition_from_json`: parse an array of clauses; throws `OvsdbError`. */
export function parseCondition(table: TableInfo, j: readonly unknown[], symtab?: SymbolTable): Condition {
  const clauses = j.map((c) => parseClause(table, c, symtab));
  return { clauses: clauses.sort(compareClauses) };
}

/** Evaluate one clause on a column value. */
export function evalClause(c: Clause, field: Datum): boolean {
  if (c.fn === 'true') return true;
  if (c.fn === 'false') return false;
  const t = c.column.type;
  const arg = c.arg;
  const ordered = c.fn === '<' || c.fn === '<=' || c.fn === '>' || c.fn === '>=';
  if (isOptionalScalar(t) && field.keys.length === 0 && ordered) return false;
  if ((isScalar(t) || isOptionalScalar(t)) && field.keys.length === 1 && arg.keys.length === 1) {
    const cmp = compareAtoms(field.keys[0]!, arg.keys[0]!, t.key.type);
    switch (c.fn) {
      case '<':
        return cmp < 0;
      case '<=':
        return cmp <= 0;
      case '==':
      case 'includes':
        return cmp === 0;
      case '!=':
      case 'excludes':
        return cmp !== 0;
      case '>=':
        return cmp >= 0;
      case '>':
        return cmp > 0;
    }
  }
  switch (c.fn) {
    case '==':
      return datumEquals(field, arg, t);
    case '!=':
      return !datumEquals(field, arg, t);
    case 'includes':
      return includesAll(arg, field, t);
    case 'excludes':
      return excludesAll(arg, field, t);
    default:
      return false;
  }
}

/** A transaction "where": every clause matches. `value` reads a column of the row. */
export function matchesAll(cond: Condition, value: (c: ColumnInfo) => Datum): boolean {
  for (const c of cond.clauses) if (!evalClause(c, value(c.column))) return false;
  return true;
}

/** A monitor_cond "where": empty, or any clause matches. */
export function matchesAny(cond: Condition, value: (c: ColumnInfo) => Datum): boolean {
  if (cond.clauses.length === 0) return true;
  for (const c of cond.clauses) if (evalClause(c, value(c.column))) return true;
  return false;
}

/** True when a monitor condition matches every row (`ovsdb_condition_is_true`). */
export function isTrueCondition(cond: Condition): boolean {
  const c = cond.clauses;
  return c.length === 0 || c[0]?.fn === 'true' || c[1]?.fn === 'true';
}

/** The uuid a condition pins with a `_uuid == U` clause, if it has one. */
export function pinnedUuid(cond: Condition): string | undefined {
  for (const c of cond.clauses) if (c.fn === '==' && c.column.index === 0 && c.arg.keys.length === 1) return c.arg.keys[0] as string;
  return undefined;
}
