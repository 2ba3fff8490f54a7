/**
 * Hostile calls of byte-parsing entry points (issue 14, item 8). Every public function that takes
 * `(buf, off, len)` (or a `[pos, end)` range) must accept exactly the integer spans inside a
 * `Uint8Array` and refuse everything else with an `ArgumentError` naming itself: NaN, infinities,
 * negatives, fractions, offsets and lengths past the end, other typed arrays, a `DataView`, an
 * `ArrayBuffer`, `null`, strings, plain arrays. `checkEntryPoints` drives a list of entry points
 * with such calls through fast-check and, for valid spans of random bytes, checks the call
 * returns (never throws). `discoverEntryPoints` finds a module's `parseX(buf, off?, len?)`
 * functions and `XView.check(buf, off, len)` statics, so a new codec is covered without an edit.
 */
import fc from 'fast-check';
import { ArgumentError } from '@ovnts/packet';

/** How an entry point lays out its span arguments after `buf`. */
export type SpanShape =
  /** `(buf, off?, len?)`: `len` may be omitted (the rest of `buf`). */
  | 'span'
  /** `(buf, off, len)`, all required. */
  | 'spanRequired'
  /** `(buf, pos, end)`: `0 <= pos <= end <= buf.length`. */
  | 'range'
  /** `(buf, base, end, pos)`: `0 <= base <= pos <= end <= buf.length` (DNS names). */
  | 'dns'
  /** `(buf, off)`: `0 <= off <= buf.length`. */
  | 'offset'
  /** `(buf)` alone. */
  | 'buffer';

/** One public entry point under test. */
export interface EntryPoint {
  /** The name its `ArgumentError`s carry (`parseDhcpv6`, `GeneveView.check`, ...). */
  name: string;
  shape: SpanShape;
  /** Call it; `a`, `b`, `c` are the span numbers in the shape's order (undefined when omitted). */
  call: (buf: unknown, a?: unknown, b?: unknown, c?: unknown) => unknown;
  /** Typed errors a valid call may throw about the bytes (e.g. `CaptureFormatError`); none by default. */
  mayThrow?: (error: unknown) => boolean;
}

/** Values that are not byte arrays, or not the byte array a parser needs. */
export const HOSTILE_BUFFERS: readonly unknown[] = [
  null,
  undefined,
  0,
  'abcd',
  [1, 2, 3, 4],
  { length: 4 },
  new ArrayBuffer(8),
  new DataView(new ArrayBuffer(8)),
  new Uint16Array(8),
  new Int8Array(8),
  new Uint8ClampedArray(8),
  new Float64Array(2),
];

/** Numbers no offset or length may be. */
export const HOSTILE_NUMBERS: readonly unknown[] = [NaN, Infinity, -Infinity, -1, -0.5, 0.5, 1.5, 2 ** 53, -(2 ** 31), 1e300, '1', null, 1n];

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

/** Whether `(a, b, c)` is a valid span of an `n`-byte buffer for `shape`. */
export function validSpan(shape: SpanShape, n: number, a: unknown, b: unknown, c: unknown): boolean {
  switch (shape) {
    case 'buffer':
      return true;
    case 'offset':
      return isInt(a) && a >= 0 && a <= n;
    case 'span':
      if (a === undefined) return b === undefined; // both omitted: off defaults to 0
      return isInt(a) && a >= 0 && a <= n && (b === undefined || (isInt(b) && b >= 0 && a + b <= n));
    case 'spanRequired':
      return isInt(a) && a >= 0 && a <= n && isInt(b) && b >= 0 && a + b <= n;
    case 'range':
      return isInt(a) && isInt(b) && a >= 0 && a <= b && b <= n;
    case 'dns':
      return isInt(a) && isInt(b) && isInt(c) && a >= 0 && a <= c && c <= b && b <= n;
  }
}

/**
 * Every `parseX(buf, off?, len?)` function (a name starting `parse` + capital whose first
 * parameter is `buf`, so text parsers such as `parseMac(text)` are left out) and every class
 * with a static `check(buf, off, len)` exported by `mod`.
 */
export function discoverEntryPoints(mod: Record<string, unknown>): EntryPoint[] {
  const out: EntryPoint[] = [];
  for (const [name, v] of Object.entries(mod)) {
    if (typeof v !== 'function') continue;
    const src = Function.prototype.toString.call(v);
    if (/^parse[A-Z]/.test(name) && /^function\s*\w*\(\s*buf\b/.test(src)) {
      const f = v as (...args: unknown[]) => unknown;
      out.push({ name, shape: 'span', call: (buf, a, b) => (a === undefined ? f(buf) : b === undefined ? f(buf, a) : f(buf, a, b)) });
    }
    const check = (v as { check?: unknown }).check;
    if (/^class\s/.test(src) && typeof check === 'function' && Object.prototype.hasOwnProperty.call(v, 'check')) {
      const f = check as (...args: unknown[]) => unknown;
      out.push({ name: `${name}.check`, shape: 'spanRequired', call: (buf, a, b) => f.call(v, buf, a, b) });
    }
  }
  return out;
}

/** A number argument: mostly plausible integers around the buffer, often hostile, sometimes omitted. */
function numberArb(max: number, omit: boolean): fc.Arbitrary<unknown> {
  const arbs: fc.Arbitrary<unknown>[] = [
    fc.integer({ min: -2, max: max + 2 }),
    fc.integer({ min: 0, max }),
    fc.constantFrom(...HOSTILE_NUMBERS),
    fc.double({ noNaN: false }),
  ];
  if (omit) arbs.push(fc.constant(undefined));
  return fc.oneof(...arbs);
}

/** Options of `checkEntryPoints`. */
export interface HostileOptions {
  /** fast-check runs per entry point (default 300). */
  numRuns?: number;
  /** Seed (default 14; printed on failure by fast-check). */
  seed?: number;
  /** Longest random buffer (default 96 bytes). */
  maxBytes?: number;
}

/** What a call did: returned, or threw (with the error). */
export type CallOutcome = { threw: false } | { threw: true; error: unknown };

function attempt(e: EntryPoint, buf: unknown, a: unknown, b: unknown, c: unknown): CallOutcome {
  try {
    e.call(buf, a, b, c);
    return { threw: false };
  } catch (error) {
    return { threw: true, error };
  }
}

/**
 * The property: for each entry point, random and hostile buffers and span numbers; a valid span of
 * a `Uint8Array` must return, anything else must throw an `ArgumentError` whose `fn` is the entry
 * point's name. Returns the number of calls made. Throws (fast-check's report) on a violation.
 */
export function checkEntryPoints(entries: readonly EntryPoint[], opts: HostileOptions = {}): number {
  const maxBytes = opts.maxBytes ?? 96;
  let calls = 0;
  const bytesArb = fc.uint8Array({ maxLength: maxBytes });
  const bufArb: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 6, arbitrary: bytesArb },
    // A Buffer that is a window into a larger allocation: offsets are relative to the view.
    { weight: 2, arbitrary: fc.tuple(bytesArb, fc.nat(8)).map(([b, pad]) => Buffer.from(new Uint8Array([...new Uint8Array(pad), ...b])).subarray(pad)) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_BUFFERS) },
  );
  for (const e of entries) {
    const omit = e.shape === 'span';
    fc.assert(
      fc.property(bufArb, numberArb(maxBytes, omit), numberArb(maxBytes, omit), numberArb(maxBytes, false), (buf, a0, b0, c0) => {
        // With an omitted offset the length is omitted too (a positional call cannot skip one).
        const a = a0;
        const b = a0 === undefined ? undefined : b0;
        const c = c0;
        calls++;
        const isBytes = buf instanceof Uint8Array;
        const valid = isBytes && validSpan(e.shape, (buf as Uint8Array).length, a, b, c);
        const r = attempt(e, buf, a, b, c);
        if (valid) {
          if (r.threw && !e.mayThrow?.(r.error)) throw new Error(`${e.name}: threw on a valid span (${String(a)}, ${String(b)}, ${String(c)}) of ${(buf as Uint8Array).length} bytes: ${String(r.error)}`);
          return;
        }
        if (!r.threw) throw new Error(`${e.name}: accepted an invalid call (buf ${isBytes ? `${(buf as Uint8Array).length} bytes` : Object.prototype.toString.call(buf)}, ${String(a)}, ${String(b)}, ${String(c)})`);
        if (!(r.error instanceof ArgumentError)) throw new Error(`${e.name}: threw ${String(r.error)} instead of an ArgumentError`);
        if (r.error.fn !== e.name) throw new Error(`${e.name}: the ArgumentError names ${r.error.fn}`);
      }),
      { numRuns: opts.numRuns ?? 300, seed: opts.seed ?? 14 },
    );
  }
  return calls;
}
