/**
 * OVSDB values on the wire and in the server: atoms and datums from and to RFC 7047 JSON with
 * ovsdb-server's checks and error texts, comparisons in OVSDB order, and the set algebra that
 * conditions, mutations, reference counting and monitors need.
 *
 * Values are @ovnts/ovn's `Datum` (sorted unique keys, parallel values for maps) and the types
 * are its `ColumnType`/`BaseType`, so the northbound and southbound models read the server's
 * rows directly. What this module adds is exactness: OVS's error tags and details
 * (lib/ovsdb-data.c), its order (strings by UTF-8 bytes, uuids by value), `%.15g` reals, and the
 * text form `ovsdb_datum_to_string` uses in error messages.
 */
import { randomUUID } from 'node:crypto';
import { defaultDatum, isUuid as isUuidText, type AtomicType, type BaseType, type ColumnType, type Datum, type OvsdbAtom } from '@ovnts/ovn';
import { OvsdbError, ovsdbError, syntaxError } from './errors.js';
import { compareStrings, formatReal, isJsonInteger } from './json.js';

const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True for an RFC 7047 <id>. */
export function isId(s: string): boolean {
  return ID_RE.test(s);
}

/** A fresh random (version 4) uuid. */
export function newUuid(): string {
  return randomUUID();
}

/** One named uuid of a transaction (`ovsdb_symbol`). */
export interface TxnSymbol {
  /** The uuid it stands for. */
  uuid: string;
  /** An insert with this uuid-name has run. */
  created: boolean;
  /** Referenced from a strong reference column. */
  strongRef: boolean;
  /** Referenced from a weak reference column. */
  weakRef: boolean;
}

/** The named uuids of one transaction (`ovsdb_symbol_table`). */
export class SymbolTable {
  private readonly syms = new Map<string, TxnSymbol>();
  /** The symbol for `name`, created with a fresh uuid on first use. */
  insert(name: string): TxnSymbol {
    let s = this.syms.get(name);
    if (!s) {
      s = { uuid: newUuid(), created: false, strongRef: false, weakRef: false };
      this.syms.set(name, s);
    }
    return s;
  }
  /** The symbol for `name`, if any. */
  find(name: string): TxnSymbol | undefined {
    return this.syms.get(name);
  }
}

/** Three-way comparison of two atoms of one atomic type, in OVSDB order. */
export function compareAtoms(a: OvsdbAtom, b: OvsdbAtom, t: AtomicType): number {
  switch (t) {
    case 'integer':
    case 'real':
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 'boolean':
      return a === b ? 0 : a ? 1 : -1;
    case 'string':
      return compareStrings(a as string, b as string);
    case 'uuid':
      return a < b ? -1 : a > b ? 1 : 0;
  }
}

/** `ovsdb_type_is_scalar`. */
export function isScalar(t: ColumnType): boolean {
  return t.value === undefined && t.min === 1 && t.max === 1;
}

/** `ovsdb_type_is_optional_scalar`. */
export function isOptionalScalar(t: ColumnType): boolean {
  return t.value === undefined && t.min === 0 && t.max === 1;
}

/** `ovsdb_type_is_composite`: more than one element allowed. */
export function isComposite(t: ColumnType): boolean {
  return t.max > 1;
}

/** `ovsdb_type_is_set`. */
export function isSet(t: ColumnType): boolean {
  return t.value === undefined && (t.min !== 1 || t.max !== 1);
}

/** `ovsdb_type_is_map`. */
export function isMap(t: ColumnType): boolean {
  return t.value !== undefined;
}

/** `ovsdb_type_to_english`: "string", "set of up to 2 integers", "map of (string, string) pairs". */
export function typeToEnglish(t: ColumnType): string {
  if (isScalar(t)) return t.key.type;
  let s = isSet(t) ? 'set' : 'map';
  const max = t.max === Infinity ? Infinity : t.max;
  if (max === Infinity) s += t.min ? ` of ${t.min} or more` : ' of';
  else if (t.min) s += ` of ${t.min} to ${max}`;
  else s += ` of up to ${max}`;
  return isSet(t) ? `${s} ${t.key.type}s` : `${s} (${t.key.type}, ${t.value!.type}) pairs`;
}

/** `ovsdb_datum_is_default`. */
export function isDefaultDatum(d: Datum, t: ColumnType): boolean {
  if (t.min === 0) return d.keys.length === 0;
  const def = defaultDatum(t);
  return d.keys.length === 1 && d.keys[0] === def.keys[0] && (!t.value || d.values![0] === def.values![0]);
}

/** The "%.15g" / decimal text of a number atom. */
function numberText(x: number, t: AtomicType): string {
  return t === 'integer' ? BigInt(x).toString() : formatReal(x);
}

function stringNeedsQuotes(s: string): boolean {
  if (!/^[A-Za-z_]/.test(s)) return true;
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s)) return true;
  if (s === 'true' || s === 'false') return true;
  return isUuidText(s);
}

/** `ovsdb_atom_to_string`: strings quoted (JSON) unless they read as a bare word. */
export function atomToString(a: OvsdbAtom, t: AtomicType): string {
  switch (t) {
    case 'integer':
    case 'real':
      return numberText(a as number, t);
    case 'boolean':
      return a ? 'true' : 'false';
    case 'string':
      return stringNeedsQuotes(a as string) ? JSON.stringify(a) : (a as string);
    case 'uuid':
      return a as string;
  }
}

/** `ovsdb_datum_to_string`: `[a, b]`, `{k=v}`, or a bare atom for at most one element. */
export function datumToString(d: Datum, t: ColumnType): string {
  const map = isMap(t);
  const parts = d.keys.map((k, i) => (map ? `${atomToString(k, t.key.type)}=${atomToString(d.values![i]!, t.value!.type)}` : atomToString(k, t.key.type)));
  const wrap = t.max > 1 || d.keys.length === 0;
  return wrap ? `${map ? '{' : '['}${parts.join(', ')}${map ? '}' : ']'}` : parts.join(', ');
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) i++;
    n++;
  }
  return n;
}

/** `ovsdb_atom_check_constraints`: enum, integer/real range, string length (uuids are checked at commit). */
export function checkAtomConstraints(a: OvsdbAtom, b: BaseType): OvsdbError | undefined {
  if (b.enum && !b.enum.some((e) => compareAtoms(e, a, b.type) === 0)) {
    const sorted = [...b.enum].sort((x, y) => compareAtoms(x, y, b.type));
    const valid = datumToString({ keys: sorted }, { key: { type: b.type }, min: 0, max: Infinity });
    return ovsdbError('constraint violation', `${atomToString(a, b.type)} is not one of the allowed values (${valid})`);
  }
  switch (b.type) {
    case 'integer': {
      const x = a as number;
      const lo = b.minInteger;
      const hi = b.maxInteger;
      if ((lo === undefined || x >= lo) && (hi === undefined || x <= hi)) return undefined;
      if (lo !== undefined) {
        if (hi !== undefined) return ovsdbError('constraint violation', `${numberText(x, 'integer')} is not in the valid range ${lo} to ${hi} (inclusive)`);
        return ovsdbError('constraint violation', `${numberText(x, 'integer')} is less than minimum allowed value ${lo}`);
      }
      return ovsdbError('constraint violation', `${numberText(x, 'integer')} is greater than maximum allowed value ${hi}`);
    }
    case 'real': {
      const x = a as number;
      const lo = b.minReal;
      const hi = b.maxReal;
      if ((lo === undefined || x >= lo) && (hi === undefined || x <= hi)) return undefined;
      if (lo !== undefined) {
        if (hi !== undefined) return ovsdbError('constraint violation', `${formatReal(x)} is not in the valid range ${formatReal(lo)} to ${formatReal(hi)} (inclusive)`);
        return ovsdbError('constraint violation', `${formatReal(x)} is less than minimum allowed value ${formatReal(lo)}`);
      }
      return ovsdbError('constraint violation', `${formatReal(x)} is greater than maximum allowed value ${formatReal(hi!)}`);
    }
    case 'string': {
      const s = a as string;
      if (b.minLength === undefined && b.maxLength === undefined) return undefined;
      const n = utf8Length(s);
      if (b.minLength !== undefined && n < b.minLength) {
        return ovsdbError('constraint violation', `"${s}" length ${n} is less than minimum allowed length ${b.minLength}`);
      }
      if (b.maxLength !== undefined && n > b.maxLength) {
        return ovsdbError('constraint violation', `"${s}" length ${n} is greater than maximum allowed length ${b.maxLength}`);
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function jsonTypeName(j: unknown): string {
  if (j === null) return 'null';
  if (typeof j === 'boolean') return j ? 'true' : 'false';
  if (typeof j === 'number') return isJsonInteger(j) ? 'integer' : 'real';
  if (typeof j === 'string') return 'string';
  if (Array.isArray(j)) return 'array';
  return 'object';
}

/** `unwrap_json`: `[name, <value of jsonType>]`. */
function unwrap(j: unknown, name: string, jsonType: 'string' | 'array'): unknown {
  if (!Array.isArray(j) || j.length !== 2 || typeof j[0] !== 'string' || j[0] !== name || jsonTypeName(j[1]) !== jsonType) {
    throw syntaxError(j, undefined, `expected ["${name}", <${jsonType}>]`);
  }
  return j[1];
}

function parseUuidAtom(j: unknown, symtab: SymbolTable | undefined, b: BaseType): string {
  let first: OvsdbError;
  try {
    const v = unwrap(j, 'uuid', 'string') as string;
    if (!isUuidText(v)) throw syntaxError(j, undefined, `"${v}" is not a valid UUID`);
    return v.toLowerCase();
  } catch (e) {
    if (!(e instanceof OvsdbError)) throw e;
    first = e;
    if (first.details?.endsWith('is not a valid UUID')) throw first;
  }
  if (symtab) {
    let name: string | undefined;
    try {
      name = unwrap(j, 'named-uuid', 'string') as string;
    } catch (e) {
      if (!(e instanceof OvsdbError)) throw e;
    }
    if (name !== undefined) {
      if (!isId(name)) throw syntaxError(j, undefined, 'named-uuid string is not a valid <id>');
      const s = symtab.insert(name);
      if (b.refTable !== undefined) {
        if ((b.refType ?? 'strong') === 'strong') s.strongRef = true;
        else s.weakRef = true;
      }
      return s.uuid;
    }
  }
  throw first;
}

/** `ovsdb_atom_from_json`: parse and check constraints; throws `OvsdbError`. */
export function atomFromJson(j: unknown, b: BaseType, symtab?: SymbolTable): OvsdbAtom {
  let a: OvsdbAtom | undefined;
  switch (b.type) {
    case 'integer':
      if (isJsonInteger(j)) a = j;
      break;
    case 'real':
      if (typeof j === 'number') a = j;
      break;
    case 'boolean':
      if (typeof j === 'boolean') a = j;
      break;
    case 'string':
      if (typeof j === 'string') a = j;
      break;
    case 'uuid':
      a = parseUuidAtom(j, symtab, b);
      break;
  }
  if (a === undefined) throw syntaxError(j, undefined, `expected ${b.type}`);
  const e = checkAtomConstraints(a, b);
  if (e) throw e;
  return a;
}

/**
 * `ovsdb_datum_from_json`: a datum of `t` (element count checked against min/max), sorted, with
 * duplicates an error; throws `OvsdbError`.
 */
export function datumFromJson(j: unknown, t: ColumnType, symtab?: SymbolTable): Datum {
  const map = isMap(t);
  if (map || (Array.isArray(j) && j.length > 0 && j[0] === 'set')) {
    const cls = map ? 'map' : 'set';
    const inner = unwrap(j, cls, 'array') as unknown[];
    const n = inner.length;
    if (n < t.min || n > t.max) {
      if (t.min === 1 && t.max === 1) throw syntaxError(j, undefined, `${cls} must have exactly one member but ${n} are present`);
      throw syntaxError(j, undefined, `${cls} must have ${t.min} to ${t.max === Infinity ? 4294967295 : t.max} members but ${n} are present`);
    }
    const keys: OvsdbAtom[] = [];
    const values: OvsdbAtom[] | undefined = map ? [] : undefined;
    for (const el of inner) {
      if (map) {
        if (!Array.isArray(el) || el.length !== 2) throw syntaxError(el, undefined, 'expected 2-element array');
        keys.push(atomFromJson(el[0], t.key, symtab));
        values!.push(atomFromJson(el[1], t.value!, symtab));
      } else keys.push(atomFromJson(el, t.key, symtab));
    }
    return sortDatum({ keys, ...(values ? { values } : {}) }, t);
  }
  return { keys: [atomFromJson(j, t.key, symtab)] };
}

/** `ovsdb_datum_sort`: sort by key; a repeated key is an "ovsdb error". */
export function sortDatum(d: Datum, t: ColumnType): Datum {
  const n = d.keys.length;
  if (n < 2) return d;
  const idx = [...d.keys.keys()].sort((x, y) => compareAtoms(d.keys[x]!, d.keys[y]!, t.key.type));
  const keys = idx.map((i) => d.keys[i]!);
  for (let i = 1; i < n; i++) {
    if (keys[i] === keys[i - 1]) throw ovsdbError(undefined, d.values ? 'map contains duplicate key' : 'set contains duplicate');
  }
  return d.values ? { keys, values: idx.map((i) => d.values![i]!) } : { keys };
}

function atomToJson(a: OvsdbAtom, t: AtomicType): unknown {
  return t === 'uuid' ? ['uuid', a] : a;
}

/** `ovsdb_datum_to_json`: one atom for a single-element non-map, `["set", ...]`, `["map", ...]`. */
export function datumToJson(d: Datum, t: ColumnType): unknown {
  if (isMap(t)) return ['map', d.keys.map((k, i) => [atomToJson(k, t.key.type), atomToJson(d.values![i]!, t.value!.type)])];
  if (d.keys.length === 1) return atomToJson(d.keys[0]!, t.key.type);
  return ['set', d.keys.map((k) => atomToJson(k, t.key.type))];
}

/**
 * A datum as it travels from the server: `datumToJson`, with real atoms rounded to the 15
 * significant digits ovsdb-server prints (`%.15g`).
 */
export function datumToWire(d: Datum, t: ColumnType): unknown {
  if (t.key.type !== 'real' && t.value?.type !== 'real') return datumToJson(d, t);
  const round = (x: OvsdbAtom, real: boolean): OvsdbAtom => (real && typeof x === 'number' ? Number(formatReal(x)) : x);
  const nd: Datum = { keys: d.keys.map((k) => round(k, t.key.type === 'real')) };
  if (d.values) nd.values = d.values.map((v) => round(v, t.value?.type === 'real'));
  return datumToJson(nd, t);
}

/** Binary search for key `k` in `d`; its index, or -1. */
export function findKey(d: Datum, k: OvsdbAtom, t: AtomicType): number {
  let lo = 0;
  let hi = d.keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareAtoms(d.keys[mid]!, k, t);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Index in `b` of element `i` of `a` (key and, when `withValues`, value), or -1. */
function findElement(a: Datum, i: number, b: Datum, t: ColumnType, withValues: boolean): number {
  const j = findKey(b, a.keys[i]!, t.key.type);
  if (j < 0) return -1;
  if (withValues && t.value && a.values && b.values && a.values[i] !== b.values[j]) return -1;
  return j;
}

/** `ovsdb_datum_equals`. */
export function datumEquals(a: Datum, b: Datum, t: ColumnType): boolean {
  if (a === b) return true;
  if (a.keys.length !== b.keys.length) return false;
  for (let i = 0; i < a.keys.length; i++) if (a.keys[i] !== b.keys[i]) return false;
  if (t.value) for (let i = 0; i < a.keys.length; i++) if (a.values![i] !== b.values![i]) return false;
  return true;
}

/** `ovsdb_datum_compare_3way`: by element count, then keys, then values. */
export function compareDatums(a: Datum, b: Datum, t: ColumnType): number {
  if (a.keys.length !== b.keys.length) return a.keys.length < b.keys.length ? -1 : 1;
  for (let i = 0; i < a.keys.length; i++) {
    const c = compareAtoms(a.keys[i]!, b.keys[i]!, t.key.type);
    if (c) return c;
  }
  if (t.value) {
    for (let i = 0; i < a.keys.length; i++) {
      const c = compareAtoms(a.values![i]!, b.values![i]!, t.value.type);
      if (c) return c;
    }
  }
  return 0;
}

/** `ovsdb_datum_includes_all(a, b)`: every element (pair) of `a` is in `b`. */
export function includesAll(a: Datum, b: Datum, t: ColumnType): boolean {
  if (a.keys.length > b.keys.length) return false;
  for (let i = 0; i < a.keys.length; i++) if (findElement(a, i, b, t, true) < 0) return false;
  return true;
}

/** `ovsdb_datum_excludes_all(a, b)`: no element (pair) of `a` is in `b`. */
export function excludesAll(a: Datum, b: Datum, t: ColumnType): boolean {
  for (let i = 0; i < a.keys.length; i++) if (findElement(a, i, b, t, true) >= 0) return false;
  return true;
}

function fromPairs(keys: OvsdbAtom[], values: OvsdbAtom[] | undefined): Datum {
  return values ? { keys, values } : { keys };
}

/** `ovsdb_datum_union`: add the elements of `b` whose key `a` lacks (existing map values stay). */
export function datumUnion(a: Datum, b: Datum, t: ColumnType): Datum {
  const keys: OvsdbAtom[] = [];
  const values: OvsdbAtom[] | undefined = t.value ? [] : undefined;
  let i = 0;
  let j = 0;
  while (i < a.keys.length || j < b.keys.length) {
    const c = i >= a.keys.length ? 1 : j >= b.keys.length ? -1 : compareAtoms(a.keys[i]!, b.keys[j]!, t.key.type);
    if (c <= 0) {
      keys.push(a.keys[i]!);
      values?.push(a.values![i]!);
      i++;
      if (c === 0) j++;
    } else {
      keys.push(b.keys[j]!);
      values?.push(b.values![j]!);
      j++;
    }
  }
  return fromPairs(keys, values);
}

/**
 * `ovsdb_datum_subtract(a, b)`: remove from `a` the elements of `b`; when `b` is a map, a pair
 * goes only if its value matches too; when `bType` has no value type, by key.
 */
export function datumSubtract(a: Datum, aType: ColumnType, b: Datum, bType: ColumnType): Datum {
  if (!b.keys.length || !a.keys.length) return a;
  const drop = new Set<number>();
  for (let i = 0; i < b.keys.length; i++) {
    const j = findKey(a, b.keys[i]!, aType.key.type);
    if (j < 0) continue;
    if (bType.value && aType.value && b.values && a.values![j] !== b.values[i]) continue;
    drop.add(j);
  }
  if (!drop.size) return a;
  const keys: OvsdbAtom[] = [];
  const values: OvsdbAtom[] | undefined = aType.value ? [] : undefined;
  a.keys.forEach((k, i) => {
    if (drop.has(i)) return;
    keys.push(k);
    values?.push(a.values![i]!);
  });
  return fromPairs(keys, values);
}

/** `ovsdb_datum_added_removed`: what `new` adds to and removes from `old` (whole values for non-composite types). */
export function addedRemoved(old: Datum, nw: Datum, t: ColumnType): { added: Datum; removed: Datum } {
  if (!isComposite(t)) return { added: nw, removed: old };
  const ak: OvsdbAtom[] = [];
  const av: OvsdbAtom[] | undefined = t.value ? [] : undefined;
  const rk: OvsdbAtom[] = [];
  const rv: OvsdbAtom[] | undefined = t.value ? [] : undefined;
  let o = 0;
  let n = 0;
  while (o < old.keys.length && n < nw.keys.length) {
    const c = compareAtoms(old.keys[o]!, nw.keys[n]!, t.key.type);
    if (c < 0) {
      rk.push(old.keys[o]!);
      rv?.push(old.values![o]!);
      o++;
    } else if (c > 0) {
      ak.push(nw.keys[n]!);
      av?.push(nw.values![n]!);
      n++;
    } else {
      if (t.value && old.values![o] !== nw.values![n]) {
        rk.push(old.keys[o]!);
        rv!.push(old.values![o]!);
        ak.push(nw.keys[n]!);
        av!.push(nw.values![n]!);
      }
      o++;
      n++;
    }
  }
  for (; o < old.keys.length; o++) {
    rk.push(old.keys[o]!);
    rv?.push(old.values![o]!);
  }
  for (; n < nw.keys.length; n++) {
    ak.push(nw.keys[n]!);
    av?.push(nw.values![n]!);
  }
  return { added: fromPairs(ak, av), removed: fromPairs(rk, rv) };
}

/**
 * `ovsdb_datum_diff` (update2 "modify"): the new value for non-composite types; for sets the
 * symmetric difference; for maps removed pairs, added pairs and changed pairs with the new value.
 */
export function datumDiff(old: Datum, nw: Datum, t: ColumnType): Datum {
  if (!isComposite(t)) return nw;
  const keys: OvsdbAtom[] = [];
  const values: OvsdbAtom[] | undefined = t.value ? [] : undefined;
  let o = 0;
  let n = 0;
  while (o < old.keys.length && n < nw.keys.length) {
    const c = compareAtoms(old.keys[o]!, nw.keys[n]!, t.key.type);
    if (c < 0) {
      keys.push(old.keys[o]!);
      values?.push(old.values![o]!);
      o++;
    } else if (c > 0) {
      keys.push(nw.keys[n]!);
      values?.push(nw.values![n]!);
      n++;
    } else {
      if (t.value && old.values![o] !== nw.values![n]) {
        keys.push(nw.keys[n]!);
        values!.push(nw.values![n]!);
      }
      o++;
      n++;
    }
  }
  for (; o < old.keys.length; o++) {
    keys.push(old.keys[o]!);
    values?.push(old.values![o]!);
  }
  for (; n < nw.keys.length; n++) {
    keys.push(nw.keys[n]!);
    values?.push(nw.values![n]!);
  }
  return fromPairs(keys, values);
}

/**
 * `ovsdb_datum_apply_diff`: the inverse of `datumDiff`. A set element in the diff toggles; a map
 * pair removes the key when the value matches, replaces the value when only the key matches,
 * adds the pair otherwise. Throws `OvsdbError` when the result breaks the type's element count.
 */
export function applyDatumDiff(old: Datum, diff: Datum, t: ColumnType): Datum {
  if (!isComposite(t)) return diff;
  const keys: OvsdbAtom[] = [];
  const values: OvsdbAtom[] | undefined = t.value ? [] : undefined;
  let o = 0;
  let d = 0;
  while (o < old.keys.length || d < diff.keys.length) {
    const c = o >= old.keys.length ? 1 : d >= diff.keys.length ? -1 : compareAtoms(old.keys[o]!, diff.keys[d]!, t.key.type);
    if (c < 0) {
      keys.push(old.keys[o]!);
      values?.push(old.values![o]!);
      o++;
    } else if (c > 0) {
      keys.push(diff.keys[d]!);
      values?.push(diff.values![d]!);
      d++;
    } else {
      if (t.value && old.values![o] !== diff.values![d]) {
        keys.push(diff.keys[d]!);
        values!.push(diff.values![d]!);
      }
      o++;
      d++;
    }
  }
  if (keys.length < t.min || keys.length > t.max) throw ovsdbError(undefined, 'Datum crated by diff has size error');
  return fromPairs(keys, values);
}

/** True when the datum's element count fits the type (`ovsdb_datum_conforms_to_type`). */
export function conformsToType(d: Datum, t: ColumnType): boolean {
  return d.keys.length >= t.min && d.keys.length <= t.max;
}

/** `ovsdb_datum_check_constraints`: every key and value against its base type. */
export function checkDatumConstraints(d: Datum, t: ColumnType): OvsdbError | undefined {
  for (const k of d.keys) {
    const e = checkAtomConstraints(k, t.key);
    if (e) return e;
  }
  if (t.value) {
    for (const v of d.values!) {
      const e = checkAtomConstraints(v, t.value);
      if (e) return e;
    }
  }
  return undefined;
}
