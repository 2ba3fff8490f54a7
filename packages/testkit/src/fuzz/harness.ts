/**
 * The fuzzing harness (issue 14, item 11): what a fuzz target is, and the three properties every
 * input must keep.
 *
 * A target is one small file in `targets/` exporting `defineTarget({...})` as its default: a
 * `generate(rng)` that draws one input (bytes; text targets encode UTF-8), usually a valid input
 * of its family mutated a little, and a `run(input)` that drives the family's parsers with it and
 * returns a plain summary of what they made of it. For every input:
 *  1. no untyped exception: `run` returns, or throws one of our typed errors (a subclass of Error
 *     with its own name: `TextParseError`, `CaptureFormatError`, `NbError`...); a built-in
 *     `TypeError`/`RangeError` (a stack overflow included) is a bug;
 *  2. determinism: a second run on the same input gives the same summary (or the same error);
 *  3. no hang: the runner (`runner.ts`) executes targets in a worker thread and stops any input
 *     that takes longer than its time bound.
 * A target may also check a property of its own and throw `FuzzPropertyError` when it fails.
 *
 * Inputs are reproducible: input number `i` of a run with seed `s` is drawn from an `Rng` seeded
 * with `inputSeed(s, i)`, independent of every other input.
 */
import { createHash } from 'node:crypto';
import { Rng } from '../corpus.js';

/** One fuzz target: a family of parsers and how to draw inputs for them. */
export interface FuzzTarget {
  /** The target's name (its file name in `targets/`, and its corpus folder `fixtures/fuzz/<name>`). */
  readonly name: string;
  /** One line: what it drives. */
  readonly about: string;
  /** One input, drawn from `rng`. */
  generate(rng: Rng): Uint8Array;
  /** Drive the parsers with `input`; return a JSON-able summary (bigints and bytes allowed). */
  run(input: Uint8Array): unknown;
}

/** Declare a target (the default export of a file in `targets/`). */
export function defineTarget(t: FuzzTarget): FuzzTarget {
  return t;
}

/** A text target: valid texts drawn by `draw`, mutated with `dict` (see `mutateText`), handed to `run` as text. */
export interface TextTarget {
  name: string;
  about: string;
  /** One valid input of the family. */
  draw(rng: Rng): string;
  /** Tokens the mutations insert. */
  dict: readonly string[];
  /** Probability of mutating a drawn text (default 0.7). */
  mutate?: number;
  /** Most mutations per input (default 3). */
  maxMutations?: number;
  /** Longest mutated text (default 4096). */
  maxLen?: number;
  run(text: string): unknown;
}

/** Declare a text target (inputs are the texts' UTF-8 bytes). */
export function defineTextTarget(t: TextTarget): FuzzTarget {
  return {
    name: t.name,
    about: t.about,
    generate(r) {
      const s = t.draw(r);
      return textInput(r.chance(t.mutate ?? 0.7) ? mutateText(r, s, t.dict, t.maxMutations ?? 3, t.maxLen ?? 4096) : s);
    },
    run: (b) => t.run(inputText(b)),
  };
}

/** A target's own property failed on an input (a bug, reported like an untyped exception). */
export class FuzzPropertyError extends Error {
  override readonly name = 'FuzzPropertyError';
}

const BUILTIN_ERRORS: ReadonlySet<unknown> = new Set([Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]);

/** True for one of our typed errors: an `Error` subclass with its own name (never a built-in class, never a `FuzzPropertyError`). */
export function isTypedError(e: unknown): boolean {
  if (!(e instanceof Error) || e instanceof FuzzPropertyError) return false;
  return !BUILTIN_ERRORS.has(e.constructor) && e.name !== 'Error';
}

/** The seed of input `i` of a run with `seed` (splitmix-style mixing). */
export function inputSeed(seed: number, i: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca77)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d);
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A stable digest of a summary (bigints, byte arrays, maps and sets included). */
export function fingerprint(v: unknown): string {
  const text = JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return `${x}n`;
    if (x instanceof Uint8Array) return `bytes:${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')}`;
    if (x instanceof Map) return { map: [...x.entries()] };
    if (x instanceof Set) return { set: [...x] };
    return x;
  });
  return createHash('sha1').update(text ?? 'undefined').digest('hex');
}

/** What one input did: fine, or which property it broke. */
export type ExecOutcome =
  | { ok: true; fingerprint: string; threw: boolean }
  | { ok: false; kind: 'untyped' | 'property' | 'nondeterministic'; detail: string };

function attempt(t: FuzzTarget, input: Uint8Array): { ok: true; fp: string; threw: boolean } | { ok: false; kind: 'untyped' | 'property'; detail: string } {
  try {
    return { ok: true, fp: fingerprint(t.run(input)), threw: false };
  } catch (e) {
    if (isTypedError(e)) {
      const err = e as Error;
      return { ok: true, fp: fingerprint({ error: err.name, message: err.message }), threw: true };
    }
    const kind = e instanceof FuzzPropertyError ? 'property' : 'untyped';
    const detail = e instanceof Error ? `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}` : `thrown ${String(e)}`;
    return { ok: false, kind, detail };
  }
}

/** Run `input` twice through `t` and check properties 1 and 2. */
export function execInput(t: FuzzTarget, input: Uint8Array): ExecOutcome {
  const a = attempt(t, input);
  if (!a.ok) return a;
  const b = attempt(t, input);
  if (!b.ok) return { ok: false, kind: b.kind, detail: `second run: ${b.detail}` };
  if (a.fp !== b.fp) return { ok: false, kind: 'nondeterministic', detail: 'two runs on the same input gave different results' };
  return { ok: true, fingerprint: a.fp, threw: a.threw };
}

/**
 * Shrink a failing input (classic ddmin over byte ranges, then single bytes) while it still fails
 * the same way, within `budgetMs`. Returns the smallest failing input found.
 */
export function shrinkInput(t: FuzzTarget, input: Uint8Array, kind: string, budgetMs = 2000): Uint8Array {
  const end = Date.now() + budgetMs;
  const fails = (x: Uint8Array): boolean => {
    const o = execInput(t, x);
    return !o.ok && o.kind === kind;
  };
  let cur = input;
  let chunk = Math.max(1, cur.length >> 1);
  while (chunk >= 1 && Date.now() < end) {
    let progressed = false;
    for (let at = 0; at < cur.length && Date.now() < end; ) {
      const cand = new Uint8Array(cur.length - Math.min(chunk, cur.length - at));
      cand.set(cur.subarray(0, at));
      cand.set(cur.subarray(at + chunk), at);
      if (cand.length < cur.length && fails(cand)) {
        cur = cand;
        progressed = true;
      } else at += chunk;
    }
    if (!progressed) chunk >>= 1;
  }
  return cur;
}

// ---------------------------------------------------------------------------------------------
// Mutations shared by the targets.

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x40, 0x20, 0x10];
const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0x0800, 0x86dd, 0x8100, 0x0101];

/** Apply 1..`max` random byte-level mutations to a copy of `b` (bit flips, interesting values, inserts, deletes, duplications, truncation). */
export function mutateBytes(r: Rng, b: Uint8Array, max = 4, maxLen = 1 << 16): Uint8Array {
  let x: Uint8Array = Uint8Array.from(b);
  const n = r.int(1, max);
  for (let k = 0; k < n; k++) {
    const op = r.int(0, 8);
    const at = x.length ? r.int(0, x.length - 1) : 0;
    if (op === 0 && x.length) x[at] = x[at]! ^ (1 << r.int(0, 7));
    else if (op === 1 && x.length) x[at] = r.int(0, 255);
    else if (op === 2 && x.length) x[at] = r.pick(INTERESTING_8);
    else if (op === 3 && x.length > 1) {
      const v = r.pick(INTERESTING_16);
      const p = Math.min(at, x.length - 2);
      x[p] = v >> 8;
      x[p + 1] = v & 0xff;
    } else if (op === 4 && x.length < maxLen) {
      const ins = r.bytes(r.int(1, 16));
      x = concat(x.subarray(0, at), ins, x.subarray(at));
    } else if (op === 5 && x.length) {
      const len = r.int(1, Math.min(32, x.length - at));
      x = concat(x.subarray(0, at), x.subarray(at + len));
    } else if (op === 6 && x.length && x.length < maxLen) {
      const len = r.int(1, Math.min(64, x.length - at));
      x = concat(x.subarray(0, at + len), x.subarray(at, at + len), x.subarray(at + len));
    } else if (op === 7 && x.length) x = x.slice(0, at);
    else if (x.length) x[at] = (x[at]! + r.int(-3, 3)) & 0xff;
  }
  return x;
}

/** `parts` joined. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const PUNCT = [',', '=', '(', ')', '[', ']', '{', '}', ';', ':', '/', '.', '-', '>', '<', '!', '&', '|', '"', "'", ' ', '\t', '\\', '$', '@', '0x', '\n', '#'];

/**
 * Apply 1..`max` random text mutations to `s`: delete or duplicate a span, insert a token of
 * `dict` or punctuation, replace a character, truncate, nest parentheses, or put a long run of
 * digits (numbers past every width) where a number was.
 */
export function mutateText(r: Rng, s: string, dict: readonly string[], max = 3, maxLen = 4096): string {
  let x = s;
  const n = r.int(1, max);
  for (let k = 0; k < n; k++) {
    const at = r.int(0, x.length);
    const op = r.int(0, 8);
    if (op === 0 && x.length) x = x.slice(0, at) + x.slice(Math.min(x.length, at + r.int(1, 8)));
    else if (op === 1) x = x.slice(0, at) + r.pick(dict) + x.slice(at);
    else if (op === 2) x = x.slice(0, at) + r.pick(PUNCT) + x.slice(at);
    else if (op === 3 && x.length) x = x.slice(0, at) + r.pick(PUNCT) + x.slice(at + 1);
    else if (op === 4 && x.length) {
      const len = r.int(1, Math.min(40, x.length - Math.min(at, x.length - 1)));
      const from = Math.min(at, x.length - 1);
      x = x.slice(0, from + len) + x.slice(from, from + len) + x.slice(from + len);
    } else if (op === 5) x = x.slice(0, at);
    else if (op === 6) {
      const d = r.int(1, 40);
      x = x.slice(0, at) + '('.repeat(d) + x.slice(at) + (r.chance(0.5) ? ')'.repeat(d) : '');
    } else if (op === 7) x = x.replace(/\d+/, '9'.repeat(r.int(5, 60)));
    else x = x.slice(0, at) + String.fromCharCode(r.int(0, 0x2fff)) + x.slice(at);
    if (x.length > maxLen) x = x.slice(0, maxLen);
  }
  return x;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Text as input bytes. */
export function textInput(s: string): Uint8Array {
  return utf8.encode(s);
}

/** Input bytes as text (invalid UTF-8 becomes U+FFFD, as a file read with `utf8` would). */
export function inputText(b: Uint8Array): string {
  return utf8d.decode(b);
}
