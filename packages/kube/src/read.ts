/**
 * Typed, located field access over parsed manifests: every getter takes the field path it reads,
 * so a wrong type or a missing field becomes a `KubeError` naming file, object and field.
 */
import { KubeError } from './errors.js';

/** A JSON-ish mapping. */
export type Obj = Record<string, unknown>;

/** Field reader for one object. */
export class FieldReader {
  constructor(
    /** File the object came from. */
    readonly file: string,
    /** Object label (`Pod x/a`). */
    readonly object: string,
  ) {}

  /** Throw a located error. */
  fail(field: string, detail: string): never {
    throw new KubeError({ file: this.file, object: this.object, field }, detail);
  }

  /** A mapping (undefined when absent). */
  obj(v: unknown, field: string): Obj | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(field, `expected a mapping, got ${describe(v)}`);
    return v as Obj;
  }

  /** A list (empty when absent). */
  list(v: unknown, field: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(field, `expected a list, got ${describe(v)}`);
    return v;
  }

  /** A string (undefined when absent). */
  str(v: unknown, field: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(field, `expected a string, got ${describe(v)}`);
    return v;
  }

  /** A required string. */
  reqStr(v: unknown, field: string): string {
    const s = this.str(v, field);
    if (s === undefined || s === '') this.fail(field, 'required field is missing');
    return s;
  }

  /** An integer within [min, max] (undefined when absent). */
  int(v: unknown, field: string, min: number, max: number): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(field, `expected an integer, got ${describe(v)}`);
    if (v < min || v > max) this.fail(field, `${v} is out of range ${min}..${max}`);
    return v;
  }

  /** A boolean (undefined when absent). */
  bool(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(field, `expected true or false, got ${describe(v)}`);
    return v;
  }

  /** A string-to-string map (labels, annotations, matchLabels). */
  strMap(v: unknown, field: string): Record<string, string> {
    const o = this.obj(v, field) ?? {};
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(o)) {
      if (typeof x !== 'string') this.fail(`${field}.${k}`, `expected a string, got ${describe(x)}`);
      out[k] = x;
    }
    return out;
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
