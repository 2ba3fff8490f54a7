/**
 * OVSDB values (RFC 7047 section 5.1) in memory: a `Datum` is a sorted, duplicate-free list of
 * key atoms, plus a parallel list of value atoms for maps, exactly like OVSDB's `struct
 * ovsdb_datum`. A scalar column is a datum with one key. Atoms are JS strings, numbers and
 * booleans; uuids are lower-case strings (the column type says which strings are uuids).
 *
 * Diffs follow ovsdb-server(7) ("update2"): for a column of at most one element (scalars and
 * optional values, as ovsdb-server writes them) the diff is the new value; for a set, the elements that belong to only one of old and new (so applying toggles membership); for a
 * map, pairs whose key is in only one side plus changed pairs with the new value (so applying
 * removes a pair when key and value both match, replaces the value when only the key matches, and
 * adds it otherwise). OVSDB files written with `"_is_diff": true` store modifications this way.
 */
import { NbError } from './errors.js';
import type { OvsdbAtom, AtomicType, BaseType, ColumnType } from './schema.js';
import { isMapType } from './schema.js';

/** An OVSDB value: sorted unique keys, and values for maps. */
export interface Datum {
  /** Keys (set elements, or map keys), sorted and unique. */
  keys: OvsdbAtom[];
  /** Map values, parallel to `keys`; undefined for sets and scalars. */
  values?: OvsdbAtom[];
}

/** The all-zero uuid, the default uuid atom. */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** True for the RFC 4122 text form of a uuid. */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** Three-way comparison of two atoms of the same type (OVSDB order). */
export function compareAtoms(a: OvsdbAtom, b: OvsdbAtom): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The default atom of an atomic type (RFC 7047 section 5.2.1). */
export function defaultAtom(t: AtomicType): OvsdbAtom {
  switch (t) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
  }
}

/** The default value of a column type: empty, or one default atom (pair) when min is 1. */
export function defaultDatum(t: ColumnType): Datum {
  if (t.min === 0) return isMapType(t) ? { keys: [], values: [] } : { keys: [] };
  const d: Datum = { keys: [defaultAtom(t.key.type)] };
  if (t.value) d.values = [defaultAtom(t.value.type)];
  return d;
}

/** A datum holding one atom. */
export function scalarDatum(a: OvsdbAtom): Datum {
  return { keys: [a] };
}

/** Resolves `["named-uuid", name]` atoms (transaction JSON); returns undefined when unknown. */
export type NamedUuids = (name: string) => string | undefined;

function atomFromJson(j: unknown, b: BaseType, named?: NamedUuids): OvsdbAtom {
  switch (b.type) {
    case 'integer':
      if (typeof j === 'number' && Number.isInteger(j)) return j;
      throw new NbError({}, `expected an integer, got ${shortJson(j)}`);
    case 'real':
      if (typeof j === 'number') return j;
      throw new NbError({}, `expected a real, got ${shortJson(j)}`);
    case 'boolean':
      if (typeof j === 'boolean') return j;
      throw new NbError({}, `expected a boolean, got ${shortJson(j)}`);
    case 'string':
      if (typeof j === 'string') return j;
      throw new NbError({}, `expected a string, got ${shortJson(j)}`);
    case 'uuid':
      if (Array.isArray(j) && j.length === 2 && typeof j[1] === 'string') {
        if (j[0] === 'uuid') {
          if (!isUuid(j[1])) throw new NbError({}, `bad uuid ${JSON.stringify(j[1])}`);
          return j[1].toLowerCase();
        }
        if (j[0] === 'named-uuid') {
          const u = named?.(j[1]);
          if (u === undefined) throw new NbError({}, `unknown named-uuid ${JSON.stringify(j[1])}`);
          return u;
        }
      }
      throw new NbError({}, `expected ["uuid", "<uuid>"], got ${shortJson(j)}`);
  }
}

/** A short quoted rendering of a JSON value for messages. */
export function shortJson(j: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(j) ?? String(j);
  } catch {
    s = String(j);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isWrapped(j: unknown, tag: string): j is [string, unknown[]] {
  return Array.isArray(j) && j.length === 2 && j[0] === tag && Array.isArray(j[1]);
}

/**
 * Parse an RFC 7047 <value> for a column type. Counts are not checked here (diffs may exceed
 * `max`); use `checkDatum` for constraints. Duplicate set elements or map keys are errors.
 */
export function datumFromJson(j: unknown, t: ColumnType, named?: NamedUuids): Datum {
  if (isMapType(t)) {
    if (!isWrapped(j, 'map')) throw new NbError({}, `expected ["map", [...]], got ${shortJson(j)}`);
    const pairs: [OvsdbAtom, OvsdbAtom][] = [];
    for (const p of j[1]) {
      if (!Array.isArray(p) || p.length !== 2) throw new NbError({}, `bad map pair ${shortJson(p)}`);
      pairs.push([atomFromJson(p[0], t.key, named), atomFromJson(p[1], t.value!, named)]);
    }
    pairs.sort((a, b) => compareAtoms(a[0], b[0]));
    for (let i = 1; i < pairs.length; i++) {
      if (compareAtoms(pairs[i - 1]![0], pairs[i]![0]) === 0) throw new NbError({}, `map has duplicate key ${shortJson(pairs[i]![0])}`);
    }
    return { keys: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]) };
  }
  let atoms: OvsdbAtom[];
  if (isWrapped(j, 'set')) atoms = j[1].map((a) => atomFromJson(a, t.key, named));
  else atoms = [atomFromJson(j, t.key, named)];
  atoms.sort(compareAtoms);
  for (let i = 1; i < atoms.length; i++) {
    if (compareAtoms(atoms[i - 1]!, atoms[i]!) === 0) throw new NbError({}, `set has duplicate element ${shortJson(atoms[i])}`);
  }
  return { keys: atoms };
}

function atomToJson(a: OvsdbAtom, b: BaseType): unknown {
  return b.type === 'uuid' ? ['uuid', a] : a;
}

/** The RFC 7047 JSON form of a datum, as ovsdb-server writes it. */
export function datumToJson(d: Datum, t: ColumnType): unknown {
  if (isMapType(t)) return ['map', d.keys.map((k, i) => [atomToJson(k, t.key), atomToJson(d.values![i]!, t.value!)])];
  if (d.keys.length === 1) return atomToJson(d.keys[0]!, t.key);
  return ['set', d.keys.map((k) => atomToJson(k, t.key))];
}

function indexOf(keys: OvsdbAtom[], k: OvsdbAtom): number {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareAtoms(keys[mid]!, k);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** True if the datum has key (set element / map key) `k`. */
export function datumHas(d: Datum, k: OvsdbAtom): boolean {
  return indexOf(d.keys, k) >= 0;
}

/** Apply an ovsdb-server(7) diff to `old`, returning the new datum. */
export function applyDiff(old: Datum, diff: Datum, t: ColumnType): Datum {
  if (t.max === 1 && !isMapType(t)) return { keys: [...diff.keys] };
  const m = new Map<OvsdbAtom, OvsdbAtom | undefined>();
  old.keys.forEach((k, i) => m.set(k, old.values?.[i]));
  diff.keys.forEach((k, i) => {
    const v = diff.values?.[i];
    if (!m.has(k)) m.set(k, v);
    else if (!isMapType(t) || compareAtoms(m.get(k)!, v!) === 0) m.delete(k);
    else m.set(k, v);
  });
  const keys = [...m.keys()].sort(compareAtoms);
  const out: Datum = { keys };
  if (isMapType(t)) out.values = keys.map((k) => m.get(k)!);
  return out;
}

function checkAtom(a: OvsdbAtom, b: BaseType): string | undefined {
  if (b.enum && !b.enum.some((e) => compareAtoms(e, a) === 0)) {
    return `${JSON.stringify(a)} is not one of the allowed values ${b.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  }
  if (typeof a === 'number') {
    const lo = b.type === 'integer' ? b.minInteger : b.minReal;
    const hi = b.type === 'integer' ? b.maxInteger : b.maxReal;
    if ((lo !== undefined && a < lo) || (hi !== undefined && a > hi)) {
      return `${a} is out of range ${lo ?? '-inf'}..${hi ?? 'inf'}`;
    }
  }
  if (typeof a === 'string' && b.type === 'string' && (b.minLength !== undefined || b.maxLength !== undefined)) {
    const n = [...a].length;
    if (b.minLength !== undefined && n < b.minLength) return `${JSON.stringify(a)} is shorter than ${b.minLength} characters`;
    if (b.maxLength !== undefined && n > b.maxLength) return `${JSON.stringify(a)} is longer than ${b.maxLength} characters`;
  }
  return undefined;
}

function atomTypeOk(a: OvsdbAtom, b: BaseType): boolean {
  switch (b.type) {
    case 'integer':
      return typeof a === 'number' && Number.isInteger(a);
    case 'real':
      return typeof a === 'number';
    case 'boolean':
      return typeof a === 'boolean';
    case 'string':
      return typeof a === 'string';
    case 'uuid':
      return typeof a === 'string' && isUuid(a);
  }
}

/** Check a datum against its column type (atom types, counts, enums, ranges, lengths); undefined when valid. */
export function checkDatum(d: Datum, t: ColumnType): string | undefined {
  if (isMapType(t) !== (d.values !== undefined)) return isMapType(t) ? 'expected a map' : 'expected a set, got a map';
  const n = d.keys.length;
  if (n < t.min) return `has ${n} elements, needs at least ${t.min}`;
  if (n > t.max) return `has ${n} elements, allows at most ${t.max}`;
  for (let i = 0; i < n; i++) {
    const k = d.keys[i]!;
    if (!atomTypeOk(k, t.key)) return `${shortJson(k)} is not a ${t.key.type}`;
    const e = checkAtom(k, t.key);
    if (e) return e;
    if (t.value) {
      const v = d.values![i]!;
      if (!atomTypeOk(v, t.value)) return `value ${shortJson(v)} of key ${shortJson(k)} is not a ${t.value.type}`;
      const ev = checkAtom(v, t.value);
      if (ev) return `value of key ${shortJson(k)}: ${ev}`;
    }
  }
  return undefined;
}

/** Build a datum from JS atoms (sorted, duplicates removed). */
export function setDatum(atoms: Iterable<OvsdbAtom>): Datum {
  const keys = [...new Set(atoms)].sort(compareAtoms);
  return { keys };
}

/** Build a map datum from key/value pairs (sorted; a later pair with the same key wins). */
export function mapDatum(pairs: Iterable<readonly [OvsdbAtom, OvsdbAtom]>): Datum {
  const m = new Map<OvsdbAtom, OvsdbAtom>();
  for (const [k, v] of pairs) m.set(k, v);
  const keys = [...m.keys()].sort(compareAtoms);
  return { keys, values: keys.map((k) => m.get(k)!) };
}
