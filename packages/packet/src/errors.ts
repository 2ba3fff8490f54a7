/**
 * Wire errors. Codecs report problems as small integer codes (no allocation on the hot path):
 * `Truncated` means the bytes stop before the structure does; every other code is a malformation
 * of bytes that are present. `WireError` carries a code with the layer and byte offset for the
 * control plane and for tools such as `ovnts dissect`.
 */

/** Numeric wire error codes; 0 is success. */
export const WireErrorCode = {
  Ok: 0,
  /** The buffer ends before the header or a length it declares. */
  Truncated: 1,
  /** A length field is inconsistent (too small, or larger than its container). */
  BadLength: 2,
  /** A version field holds a value the codec does not handle. */
  BadVersion: 3,
  /** A checksum does not verify. */
  BadChecksum: 4,
  /** A TLV/option is malformed. */
  BadOption: 5,
  /** A field holds a value the protocol forbids. */
  BadValue: 6,
  /** Compression pointers or extension headers loop or go backwards. */
  PointerLoop: 7,
  /** Too many nested items (labels, extension headers, options) for the limits we allow. */
  TooDeep: 8,
} as const;

/** A numeric wire error code. */
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

const names: Record<number, string> = Object.fromEntries(
  Object.entries(WireErrorCode).map(([k, v]) => [v, k]),
);

/** The name of a wire error code (`Truncated`, `BadLength`, ...). */
export function wireErrorName(code: number): string {
  return names[code] ?? `Unknown(${code})`;
}

/** A wire error with its layer and offset, for the control plane. */
export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    /** The protocol layer that failed (`ipv4`, `dns`, ...). */
    readonly layer: string,
    /** The numeric code. */
    readonly code: WireErrorCode,
    /** The byte offset (from the start of the buffer given to the codec) where the problem lies. */
    readonly offset: number,
    detail?: string,
  ) {
    super(`${layer}: ${wireErrorName(code)} at offset ${offset}${detail ? `: ${detail}` : ''}`);
  }
  /** The code's name. */
  get codeName(): string {
    return wireErrorName(this.code);
  }
}

/** The result of parsing a `Repr`: the value, or the error that stopped it. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** A successful result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A failed result. */
export function fail<T = never>(layer: string, code: WireErrorCode, offset: number, detail?: string): Result<T> {
  return { ok: false, error: new WireError(layer, code, offset, detail) };
}

/** Thrown by `emit*` when the destination buffer is too small: a caller bug, not a wire problem. */
export class EmitError extends RangeError {
  override readonly name = 'EmitError';
  constructor(layer: string, need: number, have: number) {
    super(`${layer}: emit needs ${need} bytes, buffer has ${have}`);
  }
}

/** Throw an `EmitError` unless `buf` has `need` bytes from `off`. */
export function needRoom(layer: string, buf: Uint8Array, off: number, need: number): void {
  if (off < 0 || off + need > buf.length) throw new EmitError(layer, need, buf.length - off);
}

/**
 * Thrown when a codec entry point is called with something other than a `Uint8Array` (a `Buffer`
 * is one), or with an offset or length that is not an integer inside it: a caller's bug, never a
 * property of the bytes (those are `WireError` results).
 */
export class ArgumentError extends TypeError {
  override readonly name = 'ArgumentError';
  constructor(
    /** The entry point that refused (`parseDhcpv6`, `GeneveView.check`, ...). */
    readonly fn: string,
    /** The argument at fault (`buf`, `off`, `len`, ...). */
    readonly argument: string,
    /** What it must be. */
    readonly expected: string,
    got: unknown,
  ) {
    super(`${fn}: ${argument} must be ${expected}, got ${describeArgument(got)}`);
  }
}

/** A short description of a value for an `ArgumentError` (never the whole value). */
export function describeArgument(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return `${v}n (a bigint)`;
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (v instanceof ArrayBuffer) return 'an ArrayBuffer';
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return `a ${typeof v}`;
}

/** The slow path of `checkSpan`: the default length, or the `ArgumentError`. */
function spanSlow(fn: string, buf: Uint8Array, off: number, len: number | undefined): number {
  if (!(buf instanceof Uint8Array)) throw new ArgumentError(fn, 'buf', 'a Uint8Array (or Buffer)', buf);
  const n = buf.length;
  if (!Number.isInteger(off) || off < 0 || off > n) throw new ArgumentError(fn, 'off', `an integer in 0..${n}`, off);
  if (len === undefined) return n - off;
  throw new ArgumentError(fn, 'len', `an integer in 0..${n - off} (the bytes from off ${off} to the end)`, len);
}

/**
 * Validate the `(buf, off, len)` a public entry point `fn` was given: `buf` a `Uint8Array`, `off`
 * an integer in `0..buf.length`, `len` (when given) an integer with `off + len <= buf.length`.
 * Returns `len`, or `buf.length - off` when it is undefined; throws `ArgumentError` otherwise.
 * The accepted case is one small expression (for a number, `x >>> 0 === x` holds exactly for the
 * integers 0..2^32-1, more than any buffer holds), so it inlines into per-packet code cheaply;
 * everything else goes to a separate function.
 */
export function checkSpan(fn: string, buf: Uint8Array, off: number, len?: number): number {
  if (buf instanceof Uint8Array && typeof off === 'number' && typeof len === 'number' && off >>> 0 === off && len >>> 0 === len && off + len <= buf.length) return len;
  return spanSlow(fn, buf, off, len);
}

/**
 * Validate a `[pos, end)` range of `buf` given to entry point `fn` (walkers that take an end
 * offset rather than a length): integers with `0 <= pos <= end <= buf.length`.
 */
export function checkRange(fn: string, buf: Uint8Array, pos: number, end: number, posName = 'pos', endName = 'end'): void {
  if (!(buf instanceof Uint8Array)) throw new ArgumentError(fn, 'buf', 'a Uint8Array (or Buffer)', buf);
  if (!Number.isInteger(end) || end < 0 || end > buf.length) throw new ArgumentError(fn, endName, `an integer in 0..${buf.length}`, end);
  if (!Number.isInteger(pos) || pos < 0 || pos > end) throw new ArgumentError(fn, posName, `an integer in 0..${end} (${endName})`, pos);
}
