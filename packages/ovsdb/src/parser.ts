/**
 * Member-by-member reading of JSON objects with ovsdb-server's error texts (lib/ovsdb-parser.c):
 * "Parsing ovsdb operation 1 of 2 failed: Required 'table' member is missing." and friends. The
 * first problem wins; `finish()` also reports members nobody asked for, the first in OVS's
 * `shash` order.
 */
import { hmapOrder, ovsHashString } from '@ovnts/ovn';
import { OvsdbError, syntaxError } from './errors.js';
import { isJsonInteger, isJsonObject } from './json.js';
import { isId } from './datum.js';

/** JSON types a member may have (bit flags, as OVS's `enum ovsdb_parser_types`). */
export const OP = {
  NULL: 1 << 0,
  FALSE: 1 << 1,
  TRUE: 1 << 2,
  OBJECT: 1 << 3,
  ARRAY: 1 << 4,
  INTEGER: 1 << 5,
  REAL: 1 << 6,
  STRING: 1 << 7,
  BOOLEAN: (1 << 1) | (1 << 2),
  NUMBER: (1 << 5) | (1 << 6),
  /** A string that is an RFC 7047 <id>. */
  ID: 1 << 8,
  /** The member may be absent. */
  OPTIONAL: 1 << 9,
} as const;

function typeBit(v: unknown): number {
  if (v === null) return OP.NULL;
  if (v === false) return OP.FALSE;
  if (v === true) return OP.TRUE;
  if (Array.isArray(v)) return OP.ARRAY;
  if (typeof v === 'object') return OP.OBJECT;
  if (typeof v === 'number') return isJsonInteger(v) ? OP.INTEGER : OP.REAL;
  if (typeof v === 'string') return OP.STRING;
  return 0;
}

/** `struct ovsdb_parser`. */
export class OvsdbParser {
  /** The object being parsed, or undefined when the input was not an object. */
  readonly json: Record<string, unknown> | undefined;
  private readonly used = new Set<string>();
  private err: OvsdbError | undefined;

  constructor(
    json: unknown,
    private readonly name: string,
  ) {
    this.json = isJsonObject(json) ? json : undefined;
    if (!this.json) this.raise('Object expected.');
  }

  /** A member of the allowed types, or undefined (raising an error unless optional and absent). */
  member(name: string, types: number): unknown {
    if (!this.json) return undefined;
    if (!Object.prototype.hasOwnProperty.call(this.json, name)) {
      if (!(types & OP.OPTIONAL)) this.raise(`Required '${name}' member is missing.`);
      return undefined;
    }
    const v = this.json[name];
    if (types & typeBit(v) || (types & OP.ID && typeof v === 'string' && isId(v))) {
      this.used.add(name);
      return v;
    }
    this.raise(`Type mismatch for member '${name}'.`);
    return undefined;
  }

  /** Record an error (the first one wins). */
  raise(message: string): void {
    if (!this.err) this.err = syntaxError(this.json, undefined, `Parsing ${this.name} failed: ${message}`);
  }

  /** Record an already-built error (the first one wins). */
  put(e: OvsdbError): void {
    if (!this.err) this.err = e;
  }

  /** The error so far, if any. */
  get error(): OvsdbError | undefined {
    return this.err;
  }

  /** Check for members that were not asked for; returns the first error, if any. */
  finish(): OvsdbError | undefined {
    if (!this.err && this.json) {
      const keys = Object.keys(this.json);
      const unused = keys.filter((k) => !this.used.has(k));
      if (unused.length) {
        const first = hmapOrder(keys, (k) => ovsHashString(k)).find((k) => !this.used.has(k))!;
        const n = unused.length;
        if (n > 1) this.raise(`Member '${first}' and ${n - 1} other member${n > 2 ? 's' : ''} are present but not allowed here.`);
        else this.raise(`Member '${first}' is present but not allowed here.`);
      }
    }
    return this.err;
  }
}
