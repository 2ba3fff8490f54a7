/**
 * Lexical helpers shared by every ovs-ofctl text parser (flows, matches, actions, groups, meters):
 * splitting at top-level separators with columns kept for error messages, C-style unsigned
 * integers (`strtoull(s, 0)`), and C's `%#x` hex.
 */

/** One piece of a split, with the column where it starts in the whole input. */
export interface TextPiece {
  /** The piece, untrimmed. */
  text: string;
  /** 0-based column of its first character in the whole input. */
  col: number;
}

/** Split `s` at top-level separators (not inside parentheses or brackets), keeping each piece's column. */
export function splitTopLevel(s: string, base = 0, seps = ','): TextPiece[] {
  const out: TextPiece[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    if (i === s.length || (depth === 0 && seps.includes(c!))) {
      out.push({ text: s.slice(start, i), col: base + start });
      start = i + 1;
    }
  }
  return out;
}

/** Parse an unsigned integer as C's strtoull(s, 0) does (0x hex, leading-0 octal, decimal); undefined if not one. */
export function parseUint(s: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return BigInt(s);
  if (/^0[0-7]+$/.test(s)) return BigInt('0o' + s.slice(1));
  if (/^[0-9]+$/.test(s)) return BigInt(s);
  return undefined;
}

/** Hex with `0x`, as C's `%#x` (zero prints as `0`). */
export function hexC(v: bigint | number): string {
  return v === 0 || v === 0n ? '0' : '0x' + v.toString(16);
}
