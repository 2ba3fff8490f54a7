/**
 * The expression tree (OVN's `struct expr`) and the small algebra the other passes share.
 *
 * Design. As in OVN, a comparison is stored on a symbol as a value/mask pair over the symbol's
 * own bits (`vlan.tci[12..15] == 3` is `vlan.tci == 0x3000/0xf000`), so every later pass works
 * on bit constraints. AND/OR nodes are kept flat (an AND never has an AND child) by `combine`.
 * Trees are immutable: passes build new nodes. One canonicalisation differs from OVN's internal
 * form without being observable: a test of a single bit with `!=` is stored as `==` with the bit
 * flipped (OVN formats both the same way), so that `parse(format(e))` is structurally `e`.
 */
import type { ExprSymbol } from './symbols.js';

/** A relational operator. */
export type Relop = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** A comparison of a field (or subfield/predicate symbol) with a constant. */
export interface CmpExpr {
  readonly type: 'cmp';
  /** The symbol compared. */
  readonly symbol: ExprSymbol;
  /** The relation. */
  readonly relop: Relop;
  /** Constant bits (numeric symbols; always within `mask`). */
  readonly value: bigint;
  /** Which bits of the symbol are compared (numeric symbols). */
  readonly mask: bigint;
  /** The constant of a string symbol (`inport`, `outport`). */
  readonly string?: string;
}

/** A conjunction of two or more terms. */
export interface AndExpr {
  readonly type: 'and';
  /** The terms (never themselves ANDs). */
  readonly terms: readonly Expr[];
}

/** A disjunction of two or more terms. */
export interface OrExpr {
  readonly type: 'or';
  /** The terms (never themselves ORs). */
  readonly terms: readonly Expr[];
}

/** An AND or OR node. */
export type AndOrExpr = AndExpr | OrExpr;

/** The constants `1` (true) and `0` (false). */
export interface BoolExpr {
  readonly type: 'bool';
  /** The value. */
  readonly value: boolean;
}

/** `is_chassis_resident("port")`, possibly negated. */
export interface CondExpr {
  readonly type: 'cond';
  /** The condition function (only `is_chassis_resident` exists). */
  readonly cond: 'is_chassis_resident';
  /** Negated? */
  readonly not: boolean;
  /** The port name argument. */
  readonly port: string;
}

/** An OVN match expression. */
export type Expr = CmpExpr | AndOrExpr | BoolExpr | CondExpr;

/** The constant expressions. */
export const TRUE: BoolExpr = Object.freeze({ type: 'bool', value: true });
/** The constant false expression. */
export const FALSE: BoolExpr = Object.freeze({ type: 'bool', value: false });

/** A boolean expression. */
export function bool(b: boolean): BoolExpr {
  return b ? TRUE : FALSE;
}

/** The bit mask of `width` ones. */
export function ones(width: number): bigint {
  return (1n << BigInt(width)) - 1n;
}

/** True if `m` has exactly one bit set. */
export function isSingleBit(m: bigint): boolean {
  return m !== 0n && (m & (m - 1n)) === 0n;
}

/** A numeric comparison, canonicalised (single-bit `!=` becomes `==` with the bit flipped). */
export function cmp(symbol: ExprSymbol, relop: Relop, value: bigint, mask: bigint): CmpExpr {
  if (relop === '!=' && isSingleBit(mask)) return { type: 'cmp', symbol, relop: '==', value: (value ^ mask) & mask, mask };
  return { type: 'cmp', symbol, relop, value: value & mask, mask };
}

/** A string comparison. */
export function cmpString(symbol: ExprSymbol, relop: Relop, s: string): CmpExpr {
  return { type: 'cmp', symbol, relop, value: 0n, mask: 0n, string: s };
}

/** An AND/OR node over `terms`, flattening nested nodes of the same type (no other simplification). */
export function andOr(type: 'and' | 'or', terms: readonly Expr[]): Expr {
  const flat: Expr[] = [];
  for (const t of terms) {
    if (t.type === type) flat.push(...t.terms);
    else flat.push(t);
  }
  if (flat.length === 1) return flat[0]!;
  if (flat.length === 0) return bool(type === 'and');
  return { type, terms: flat };
}

/** OVN's `expr_combine`: `a` and `b` joined by `type`, flattening. */
export function combine(type: 'and' | 'or', a: Expr | undefined, b: Expr | undefined): Expr | undefined {
  if (!a) return b;
  if (!b) return a;
  return andOr(type, [a, b]);
}

/** The inverse relation (`<` becomes `>=`). */
export function invertRelop(r: Relop): Relop {
  return ({ '==': '!=', '!=': '==', '<': '>=', '<=': '>', '>': '<=', '>=': '<' } as const)[r];
}

/** The relation with operands swapped (`<` becomes `>`). */
export function turnRelop(r: Relop): Relop {
  return ({ '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as const)[r];
}

/** Logical negation pushed down to the leaves (OVN's `expr_not`, De Morgan). */
export function not(e: Expr): Expr {
  switch (e.type) {
    case 'cmp':
      return e.symbol.width
        ? cmp(e.symbol, invertRelop(e.relop), e.value, e.mask)
        : cmpString(e.symbol, invertRelop(e.relop), e.string!);
    case 'and':
    case 'or':
      return { type: e.type === 'and' ? 'or' : 'and', terms: e.terms.map(not) };
    case 'bool':
      return bool(!e.value);
    case 'cond':
      return { ...e, not: !e.not };
  }
}

/** OVN's `expr_fix`: drops boolean terms of an AND/OR and collapses 0- and 1-term nodes. */
export function fix(e: Expr): Expr {
  if (e.type !== 'and' && e.type !== 'or') return e;
  const short = e.type === 'or';
  const kept: Expr[] = [];
  for (const t of e.terms) {
    if (t.type === 'bool') {
      if (t.value === short) return bool(short);
    } else kept.push(t);
  }
  if (kept.length === 0) return bool(!short);
  if (kept.length === 1) return kept[0]!;
  return kept.length === e.terms.length ? e : { type: e.type, terms: kept };
}

/** If every comparison in `e` (a tree of ANDs/ORs) is on the same symbol, that symbol. */
export function uniqueSymbol(e: Expr): ExprSymbol | undefined {
  if (e.type === 'cmp') return e.symbol;
  if (e.type !== 'and' && e.type !== 'or') return undefined;
  let prev: ExprSymbol | undefined;
  for (const t of e.terms) {
    const s = uniqueSymbol(t);
    if (!s || (prev && s !== prev)) return undefined;
    prev = s;
  }
  return prev;
}

/** Number of nodes in `e`. */
export function exprSize(e: Expr): number {
  return e.type === 'and' || e.type === 'or' ? 1 + e.terms.reduce((n, t) => n + exprSize(t), 0) : 1;
}
