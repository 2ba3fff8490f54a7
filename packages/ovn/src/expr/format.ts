/**
 * Printing expressions back in OVN syntax (OVN's `expr_format` behaviour, re-implemented).
 *
 * A numeric comparison is printed on its symbol: when the mask is one contiguous run of bits it
 * is printed as a subfield (`vlan.tci[12..15] == 0x3`) or, for a single bit tested with `==`/`!=`,
 * as a bare (possibly negated) bit (`eth.dst[40]`, `!vlan.present`); otherwise as `value/mask`.
 * Constants are printed in hexadecimal as OVS `mf_format_subvalue` does (`0x800`, `0`). Nested
 * AND/OR terms are parenthesised. The output parses back to the same expression.
 */
import type { CmpExpr, Expr } from './ast.js';
import { formatHex, jsonEscape } from './lex.js';

/** The single run of 1-bits in `mask` (within `width`): [start, count], or [0, 0] if none or several. */
export function bitRange(mask: bigint, width: number): [number, number] {
  if (mask === 0n) return [0, 0];
  let start = 0;
  while (((mask >> BigInt(start)) & 1n) === 0n) start++;
  if (start >= width) return [0, 0];
  const run = mask >> BigInt(start);
  if ((run & (run + 1n)) !== 0n) return [0, 0];
  const n = run.toString(2).length;
  return [start, Math.min(n, width - start)];
}

function formatCmp(e: CmpExpr): string {
  const name = e.symbol.name;
  if (!e.symbol.width) return `${name} ${e.relop} ${jsonEscape(e.string!)}`;
  const [ofs, n] = bitRange(e.mask, e.symbol.width);
  if (n === 1 && (e.relop === '==' || e.relop === '!=')) {
    const bit = ((e.value >> BigInt(ofs)) & 1n) === 1n;
    const positive = bit !== (e.relop === '!=');
    return `${positive ? '' : '!'}${name}${e.symbol.width > 1 ? `[${ofs}]` : ''}`;
  }
  let s = name;
  if (n > 0 && n < e.symbol.width) s += n > 1 ? `[${ofs}..${ofs + n - 1}]` : `[${ofs}]`;
  s += ` ${e.relop} `;
  if (n) s += formatHex((e.value >> BigInt(ofs)) & ((1n << BigInt(n)) - 1n));
  else s += `${formatHex(e.value)}/${formatHex(e.mask)}`;
  return s;
}

/** An expression in OVN syntax, as `expr_format` writes it. */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case 'cmp':
      return formatCmp(e);
    case 'and':
    case 'or':
      return e.terms
        .map((t) => (t.type === 'and' || t.type === 'or' ? `(${formatExpr(t)})` : formatExpr(t)))
        .join(e.type === 'and' ? ' && ' : ' || ');
    case 'bool':
      return e.value ? '1' : '0';
    case 'cond':
      return `${e.not ? '!' : ''}is_chassis_resident(${jsonEscape(e.port)})`;
  }
}
