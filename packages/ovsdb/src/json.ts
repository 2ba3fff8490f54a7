/**
 * JSON as Open vSwitch reads and writes it (lib/json.c), for OVSDB's JSON-RPC.
 *
 * Reading. A JSON-RPC stream is a sequence of JSON texts with nothing between them (RFC 7047
 * section 2.1 does not frame messages). `JsonStream` finds where each top-level object or array
 * ends by scanning bytes (tracking nesting depth and whether it is inside a string, across chunk
 * boundaries), then hands the complete text to `JSON.parse`. As in OVS, a number is an integer
 * when its value is an exact integer within the 64-bit range (so `1.0` and `1e3` are integers)
 * and a real otherwise; JavaScript numbers hold integers exactly up to 2^53 (documented in
 * docs/ovsdb.md). Nesting deeper than 1000 (OVS's limit), invalid UTF-8, unpaired surrogate
 * escapes, numbers out of the double range and top-level scalars are errors, as they are for OVS,
 * which closes the connection.
 *
 * Writing. `formatJson` prints compactly as OVS's `json_to_string` does: strings escape `"`, `\`
 * and control characters only (`\b \t \n \f \r`, others `\u00xx`), integers in decimal, reals as
 * C's `%.15g`; with `sort`, object members in byte order (JSSF_SORT), which is how ovsdb-server
 * prints the "syntax" of an error and the schema in the _Server database.
 */
import { JsonParseError } from './errors.js';

/** Maximum nesting of arrays and objects (OVS's JSON_MAX_HEIGHT). */
export const JSON_MAX_DEPTH = 1000;

/** Three-way comparison of strings by their UTF-8 bytes (C `strcmp`), not UTF-16 units. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (U+10000 and up in UTF-8) sort after every BMP character.
      const sx = x >= 0xd800 && x <= 0xdfff;
      const sy = y >= 0xd800 && y <= 0xdfff;
      if (sx !== sy && (x >= 0xd800 || y >= 0xd800)) return sx ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** C's `printf("%.15g", x)` (DBL_DIG significant digits), as OVS prints reals. */
export function formatReal(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const P = 15;
  const exp = x.toExponential(P - 1); // d.dddddddddddddde±X
  const m = /^(-?)(\d)\.(\d+)e([+-]\d+)$/.exec(exp);
  if (!m) return String(x);
  const e = Number(m[4]);
  const digits = (m[2]! + m[3]!).replace(/0+$/, '') || '0';
  const sign = m[1]!;
  if (e < -4 || e >= P) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ae = Math.abs(e);
    return `${sign}${mant}e${e < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  if (e >= 0) {
    const int = digits.length > e + 1 ? digits.slice(0, e + 1) : digits.padEnd(e + 1, '0');
    const frac = digits.length > e + 1 ? digits.slice(e + 1) : '';
    return `${sign}${int}${frac ? `.${frac}` : ''}`;
  }
  return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
}

/** True when OVS would read this number as an integer (an exact value within int64). */
export function isJsonInteger(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= -9223372036854775808 && x <= 9223372036854775807;
}

/** Options of `formatJson`. */
export interface FormatJsonOptions {
  /** Print object members sorted by name (OVS's JSSF_SORT). */
  sort?: boolean;
  /** Indent with two spaces per level (OVS's JSSF_PRETTY). */
  pretty?: boolean;
}

/**
 * Integers print in decimal, reals as `%.15g`. Beyond 2^53 a JavaScript number is not exact;
 * printing the shortest decimal that reads back as the same number keeps a value a JavaScript
 * client sent unchanged on the way back.
 */
function formatNumber(x: number): string {
  if (!isJsonInteger(x)) return formatReal(x);
  if (Object.is(x, -0)) return '0';
  return Math.abs(x) < 1e21 ? String(x) : BigInt(x).toString();
}

/** Print a JSON value as OVS does (see the module comment). */
export function formatJson(v: unknown, opts: FormatJsonOptions = {}): string {
  const out: string[] = [];
  const write = (x: unknown, depth: number): void => {
    if (x === null || x === undefined) out.push('null');
    else if (typeof x === 'boolean') out.push(x ? 'true' : 'false');
    else if (typeof x === 'number') out.push(formatNumber(x));
    else if (typeof x === 'bigint') out.push(x.toString());
    else if (typeof x === 'string') out.push(JSON.stringify(x));
    else if (Array.isArray(x)) {
      out.push('[');
      x.forEach((e, i) => {
        if (i) out.push(',');
        if (opts.pretty) out.push(`\n${'  '.repeat(depth + 1)}`);
        write(e, depth + 1);
      });
      if (opts.pretty && x.length) out.push(`\n${'  '.repeat(depth)}`);
      out.push(']');
    } else if (typeof x === 'object') {
      let keys = Object.keys(x);
      if (opts.sort) keys = keys.sort(compareStrings);
      out.push('{');
      keys.forEach((k, i) => {
        if (i) out.push(',');
        if (opts.pretty) out.push(`\n${'  '.repeat(depth + 1)}`);
        out.push(JSON.stringify(k), opts.pretty ? ': ' : ':');
        write((x as Record<string, unknown>)[k], depth + 1);
      });
      if (opts.pretty && keys.length) out.push(`\n${'  '.repeat(depth)}`);
      out.push('}');
    } else out.push('null');
  };
  write(v, 0);
  return out.join('');
}

/** Deep equality of two JSON values (object member order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** True for a JSON object (not an array, not null). */
export function isJsonObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const SUSPICIOUS = /\\u[dD][89a-fA-F]|[eE][+-]?\d{3}|\d{300}/;

function checkValue(v: unknown, offset: number): void {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new JsonParseError(offset, 'number outside valid range');
  } else if (typeof v === 'string') {
    if (LONE_SURROGATE.test(v)) throw new JsonParseError(offset, 'invalid UTF-16 surrogate pair');
  } else if (Array.isArray(v)) {
    for (const e of v) checkValue(e, offset);
  } else if (isJsonObject(v)) {
    for (const [k, e] of Object.entries(v)) {
      checkValue(k, offset);
      checkValue(e, offset);
    }
  }
}

/** Parse one complete JSON text (bytes or a string) with OVS's rules; throws `JsonParseError`. */
export function parseJson(input: Uint8Array | string, offset = 0): unknown {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = utf8.decode(input);
    } catch {
      throw new JsonParseError(offset, 'invalid UTF-8');
    }
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new JsonParseError(offset, `syntax error (${e instanceof Error ? e.message : String(e)})`);
  }
  if (SUSPICIOUS.test(text)) checkValue(v, offset);
  return v;
}

/**
 * Splits a byte stream into JSON texts (top-level objects or arrays) and parses each. Feed it
 * chunks as they arrive; each `push` returns the values completed by that chunk. After an error
 * the stream is unusable (the connection should be closed, as OVS does).
 */
export class JsonStream {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private depth = 0;
  private inString = false;
  private escape = false;
  private started = false;
  /** Bytes consumed from the stream so far (for error offsets). */
  private consumed = 0;
  private failed: JsonParseError | undefined;

  /** `maxPending`: the largest incomplete message held, in bytes. */
  constructor(private readonly maxPending = 256 * 1024 * 1024) {}

  /** Feed bytes; returns every JSON value completed by them. Throws `JsonParseError`. */
  push(chunk: Uint8Array): unknown[] {
    if (this.failed) throw this.failed;
    const out: unknown[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (!this.started) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          start = i + 1;
          continue;
        }
        if (c !== 0x7b && c !== 0x5b) return this.fail(this.consumed + i, 'expected a JSON object or array');
        this.started = true;
        this.depth = 1;
        start = i;
        continue;
      }
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 0x5c) this.escape = true;
        else if (c === 0x22) this.inString = false;
        else if (c < 0x20) return this.fail(this.consumed + i, `U+${c.toString(16).toUpperCase().padStart(4, '0')} must be escaped in quoted string`);
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (++this.depth > JSON_MAX_DEPTH) return this.fail(this.consumed + i, `input exceeds maximum nesting depth ${JSON_MAX_DEPTH}`);
      } else if (c === 0x7d || c === 0x5d) {
        if (--this.depth === 0) {
          const piece = chunk.subarray(start, i + 1);
          let text: Uint8Array = piece;
          if (this.chunks.length) {
            this.chunks.push(piece);
            text = Buffer.concat(this.chunks);
          }
          const at = this.consumed + i + 1 - text.length;
          this.chunks = [];
          this.buffered = 0;
          this.started = false;
          try {
            out.push(parseJson(text, at));
          } catch (e) {
            if (e instanceof JsonParseError) return this.fail(e.offset, e.message.replace(/^byte \d+: /, ''));
            throw e;
          }
          start = i + 1;
        }
      }
    }
    if (this.started && start < chunk.length) {
      const rest = chunk.subarray(start);
      this.buffered += rest.length;
      if (this.buffered > this.maxPending) return this.fail(this.consumed + chunk.length, `message longer than ${this.maxPending} bytes`);
      // Copy: the caller may reuse its buffer.
      this.chunks.push(Uint8Array.from(rest));
    }
    this.consumed += chunk.length;
    return out;
  }

  /** True when part of a message is buffered. */
  get pending(): boolean {
    return this.started;
  }

  private fail(offset: number, detail: string): never {
    this.failed = new JsonParseError(offset, detail);
    throw this.failed;
  }
}
