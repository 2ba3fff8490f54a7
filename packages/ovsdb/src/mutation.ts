/**
 * Mutations (RFC 7047 section 5.1 <mutation>): parsing with ovsdb-server's type rules and error
 * texts, and execution with its 64-bit integer semantics (overflow is a "range error", division
 * by zero a "domain error", both detected as OVS detects them, including its multiplication
 * check, which also refuses a few products that would just fit).
 */
import type { ColumnType, Datum, OvsdbAtom } from '@ovnts/ovn';
import { checkAtomConstraints, conformsToType, datumFromJson, datumSubtract, datumUnion, isMap, isScalar, isSet, sortDatum, typeToEnglish, type SymbolTable } from './datum.js';
import { OvsdbError, ovsdbError, syntaxError } from './errors.js';
import type { ColumnInfo, TableInfo } from './schema.js';

/** The mutators. */
export const MUTATORS = ['+=', '-=', '*=', '/=', '%=', 'insert', 'delete'] as const;

/** A mutator. */
export type Mutator = (typeof MUTATORS)[number];

/** One parsed mutation. */
export interface Mutation {
  /** The column mutated. */
  readonly column: ColumnInfo;
  /** The mutator. */
  readonly mutator: Mutator;
  /** The argument's type (the column's, relaxed as the mutator allows). */
  readonly argType: ColumnType;
  /** The argument. */
  readonly arg: Datum;
}

function typeMismatch(m: { column: ColumnInfo; mutator: string }, j: unknown): OvsdbError {
  return syntaxError(j, undefined, `Type mismatch: "${m.mutator}" operator may not be applied to column ${m.column.name} of type ${typeToEnglish(m.column.type)}.`);
}

function parseMutation(table: TableInfo, j: unknown, symtab: SymbolTable | undefined): Mutation {
  if (!Array.isArray(j) || j.length !== 3 || typeof j[0] !== 'string' || typeof j[1] !== 'string') {
    throw syntaxError(j, undefined, 'Parse error in mutation.');
  }
  const column = table.byName.get(j[0]);
  if (!column) throw syntaxError(j, 'unknown column', `No column ${j[0]} in table ${table.name}.`);
  if (!column.mutable) throw syntaxError(j, 'constraint violation', `Cannot mutate immutable column ${j[0]} in table ${table.name}.`);
  const mutator = j[1] as Mutator;
  if (!(MUTATORS as readonly string[]).includes(mutator)) throw syntaxError(undefined, 'unknown mutator', `No mutator named ${j[1]}.`);
  const t = column.type;
  let argType: ColumnType;
  switch (mutator) {
    case 'insert':
    case 'delete': {
      if (!isSet(t) && !isMap(t)) throw typeMismatch({ column, mutator }, j);
      argType = { ...t, min: 0, ...(mutator === 'delete' ? { max: Infinity } : {}) };
      try {
        return { column, mutator, argType, arg: datumFromJson(j[2], argType, symtab) };
      } catch (e) {
        if (!(e instanceof OvsdbError) || !isMap(t) || mutator !== 'delete') throw e;
        // Deleting from a map also takes a set of keys.
        const keysOnly: ColumnType = { key: t.key, min: 0, max: Infinity };
        return { column, mutator, argType: keysOnly, arg: datumFromJson(j[2], keysOnly, symtab) };
      }
    }
    default:
      if ((!isScalar(t) && !isSet(t)) || (t.key.type !== 'integer' && t.key.type !== 'real') || (mutator === '%=' && t.key.type === 'real')) {
        throw typeMismatch({ column, mutator }, j);
      }
      argType = { key: { type: t.key.type }, min: 1, max: 1 };
      return { column, mutator, argType, arg: datumFromJson(j[2], argType, symtab) };
  }
}

/** `ovsdb_mutation_set_from_json`; throws `OvsdbError`. */
export function parseMutations(table: TableInfo, j: readonly unknown[], symtab?: SymbolTable): Mutation[] {
  return j.map((m) => parseMutation(table, m, symtab));
}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

function rangeError(mutator: string): OvsdbError {
  return ovsdbError('range error', `Result of "${mutator}" operation is out of range.`);
}

function intOp(mutator: Mutator, x: bigint, y: bigint): bigint {
  switch (mutator) {
    case '+=':
    case '-=': {
      const r = mutator === '+=' ? x + y : x - y;
      if (r < I64_MIN || r > I64_MAX) throw rangeError(mutator);
      return r;
    }
    case '*=': {
      // OVS's check (Hacker's Delight), with C's truncating division, reproduced as is, except
      // that a negative value times 0 is 0: ovsdb-server 3.1 divides by zero there and dies of
      // SIGFPE (docs/ovsdb.md).
      const over = x > 0n ? (y > 0n ? x >= I64_MAX / y : y < I64_MIN / x) : y > 0n ? x < I64_MIN / y : x !== 0n && y !== 0n && y < I64_MAX / y;
      if (over) throw rangeError(mutator);
      return x * y;
    }
    default:
      if (y === 0n) throw ovsdbError('domain error', 'Division by zero.');
      if (x === I64_MIN && y === -1n) throw rangeError(mutator);
      return mutator === '/=' ? x / y : x % y;
  }
}

function realOp(mutator: Mutator, x: number, y: number): number {
  let r: number;
  switch (mutator) {
    case '+=':
      r = x + y;
      break;
    case '-=':
      r = x - y;
      break;
    case '*=':
      r = x * y;
      break;
    default:
      if (y === 0) throw ovsdbError('domain error', 'Division by zero.');
      r = x / y;
  }
  if (!Number.isFinite(r)) throw rangeError(mutator);
  return r;
}

function mutateScalar(d: Datum, t: ColumnType, m: Mutation): Datum {
  const y = m.arg.keys[0] as number;
  const keys: OvsdbAtom[] = d.keys.map((k) =>
    t.key.type === 'integer' ? Number(intOp(m.mutator, BigInt(k as number), BigInt(y))) : realOp(m.mutator, k as number, y),
  );
  for (const k of keys) {
    const e = checkAtomConstraints(k, t.key);
    if (e) throw e;
  }
  try {
    return sortDatum({ keys }, t);
  } catch (e) {
    if (e instanceof OvsdbError) throw ovsdbError('constraint violation', `Result of "${m.mutator}" operation contains duplicates.`);
    throw e;
  }
}

/**
 * `ovsdb_mutation_set_execute`: apply the mutations in order to `fields` (a row's data columns,
 * modified in place); throws `OvsdbError` on the first failure.
 */
export function applyMutations(fields: Map<string, Datum>, mutations: readonly Mutation[]): void {
  for (const m of mutations) {
    const t = m.column.type;
    const cur = fields.get(m.column.name)!;
    let next: Datum;
    if (m.mutator === 'insert' || m.mutator === 'delete') {
      next = m.mutator === 'insert' ? datumUnion(cur, m.arg, t) : datumSubtract(cur, t, m.arg, m.argType);
      if (!conformsToType(next, t)) {
        throw ovsdbError('constraint violation', `Attempted to store ${next.keys.length} elements in ${typeToEnglish(t)}.`);
      }
    } else next = mutateScalar(cur, t, m);
    fields.set(m.column.name, next);
  }
}
