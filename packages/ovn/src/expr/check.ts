/**
 * Type checking and annotation (ovn/lib/expr.c `make_cmp`, `type_check`, `expr_annotate`
 * behaviour, re-implemented).
 *
 * Design. Type checking happens while parsing, comparison by comparison, exactly where OVN does
 * it, so the first error reported is the one OVN reports: constant type against field type,
 * constant width against field width, ordering operators only on ordinal fields with single
 * unmasked constants, nominal fields only in positive equality tests (counting enclosing `!`).
 * `x == {a, b}` becomes `x == a || x == b` and `x != {a, b}` becomes `x != a && x != b`; an empty
 * set gives false for `==` and true for `!=`.
 *
 * Annotation then rewrites a parsed expression over base fields only: subfields become masked
 * comparisons on their parent, predicates are replaced by their (annotated) expansion, negated
 * when tested for 0, and each symbol's prerequisites are ANDed in. When every comparison in an
 * AND/OR is on one symbol, its prerequisites are added once for the whole node, as OVN does.
 * Recursive definitions are reported rather than expanded forever.
 */
import { andOr, bool, cmp, cmpString, combine, not, ones, uniqueSymbol, type Expr, type Relop } from './ast.js';
import { ExprError } from './errors.js';
import type { LexFormat } from './lex.js';
import { parseExprText, type ExprParser, type FieldRef } from './parse.js';
import { ovnSymtab, type SymbolTable } from './symbols.js';

/** An integer constant as written: value, optional mask, and format. */
export interface IntConstant {
  /** The value (within `mask` when masked). */
  value: bigint;
  /** The mask, for a masked constant (`10.0.0.0/8`, `0x10/0x10`). */
  mask?: bigint;
  /** How it was written. */
  format: LexFormat;
}

/** A constant: an integer or a string. */
export type Constant = IntConstant | string;

/** A constant or `{...}` set of constants, after `$set`/`@group` expansion. */
export interface ConstantSet {
  /** All integers or all strings. */
  type: 'integer' | 'string';
  /** The values. */
  values: Constant[];
  /** Written inside `{ }`. */
  inCurlies: boolean;
  /** The address set this came from, when it is exactly one `$set`. */
  asName?: string | undefined;
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** The smallest width a constant needs (OVN's `expr_constant_width`). */
export function constantWidth(c: IntConstant): number {
  if (c.mask !== undefined) return bitLength(c.mask);
  switch (c.format) {
    case 'decimal':
    case 'hexadecimal':
      return bitLength(c.value);
    case 'ipv4':
      return 32;
    case 'ipv6':
      return 128;
    case 'ethernet':
      return 48;
  }
}

const levelName = { nominal: 'nominal', boolean: 'Boolean', ordinal: 'ordinal' } as const;

/** Type-checks `field RELOP constants` and builds the comparison (OVN's `make_cmp`). */
export function makeCmp(p: ExprParser, f: FieldRef, r: Relop, cs: ConstantSet): Expr {
  const lx = p.lexer;
  const sym = f.symbol;
  if (cs.type !== (sym.width ? 'integer' : 'string')) {
    lx.error(`${sym.width ? 'Integer' : 'String'} field ${sym.name} is not compatible with ${cs.type} constant.`);
  }
  if (sym.width) {
    for (const c of cs.values as IntConstant[]) {
      const w = constantWidth(c);
      if (w > sym.width) lx.error(`${w}-bit constant is not compatible with ${sym.width}-bit field ${sym.name}.`);
    }
  }
  if (r !== '==' && r !== '!=') {
    if (cs.inCurlies) lx.error('Only == and != operators may be used with value sets.');
    if (sym.level !== 'ordinal') {
      lx.error(`Only == and != operators may be used with ${levelName[sym.level]} field ${sym.name}.`);
    }
    if (!cs.values.length) {
      lx.error('Only == and != operators may be used to compare a field against an empty value set.');
    }
    if ((cs.values[0] as IntConstant).mask !== undefined) {
      lx.error(
        'Only == and != operators may be used with masked constants.  Consider using subfields instead ' +
          '(e.g. eth.src[0..15] > 0x1111 in place of eth.src > 00:00:00:00:11:11/00:00:00:00:ff:ff).',
      );
    }
  }
  if (sym.level === 'nominal') {
    if (sym.predicate !== undefined) {
      for (const c of cs.values as IntConstant[]) {
        const positive = ((c.value & 1n) !== 0n) !== (r === '!=') !== p.not;
        if (!positive) {
          const n = sym.name;
          lx.error(
            `Nominal predicate ${n} may only be tested positively, e.g. \`${n}' or \`${n} == 1' but not \`!${n}' or \`${n} == 0'.`,
          );
        }
      }
    } else if (r !== (p.not ? '!=' : '==')) {
      lx.error(`Nominal field ${sym.name} may only be tested for equality (taking enclosing \`!' operators into account).`);
    }
  }
  if (!cs.values.length) return bool(r === '!=');
  const field = ones(f.nBits);
  const ofs = BigInt(f.ofs);
  const terms = cs.values.map((c): Expr => {
    if (typeof c === 'string') return cmpString(sym, r, c);
    const mask = c.mask !== undefined ? c.mask & field : field;
    return cmp(sym, r, (c.value & field) << ofs, mask << ofs);
  });
  return terms.length === 1 ? terms[0]! : andOr(r === '==' ? 'or' : 'and', terms);
}

/** OVN's `expr_type_check` for action operands: `f` must be `nBits` wide (0 = string) and writable if `rw`. */
export function checkFieldType(f: FieldRef, nBits: number, rw = false): string | undefined {
  if (nBits !== f.nBits) {
    if (nBits && f.nBits) {
      return `Cannot use ${f.nBits}-bit field ${f.symbol.name}[${f.ofs}..${f.ofs + f.nBits - 1}] where ${nBits}-bit field is required.`;
    }
    if (nBits) return `Cannot use string field ${f.symbol.name} where numeric field is required.`;
    return `Cannot use numeric field ${f.symbol.name} where string field is required.`;
  }
  if (rw && f.symbol.rw === 'none') return `Field ${f.symbol.name} is not modifiable.`;
  return undefined;
}

/**
 * Annotated expansions of prerequisite and predicate texts, per symbol table, with the symbols
 * each expansion went through. The same few texts (`ip4`, `tcp`, `nd`, ...) are expanded for
 * nearly every comparison, and an expansion depends only on the text and the table (symbols
 * are never redefined), so it is computed once. It is reused only where the symbols it expands
 * are not being expanded already, so a recursive definition is still reported as OVN does.
 */
const expansions = new WeakMap<SymbolTable, Map<string, { expr: Expr; symbols: ReadonlySet<string> }>>();
const recording: Set<string>[] = [];

function parseAndAnnotate(text: string, symtab: SymbolTable, nesting: string[]): Expr {
  let memo = expansions.get(symtab);
  if (!memo) expansions.set(symtab, (memo = new Map()));
  const hit = memo.get(text);
  if (hit && !nesting.some((n) => hit.symbols.has(n))) {
    for (const r of recording) for (const n of hit.symbols) r.add(n);
    return hit.expr;
  }
  const symbols = new Set<string>();
  recording.push(symbols);
  try {
    const expr = annotateRec(parseExprText(text, { symtab }), symtab, true, nesting);
    memo.set(text, { expr, symbols });
    return expr;
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    throw new ExprError(
      `Error parsing expression \`${text}' encountered as prerequisite or predicate of initial expression: ${e.message}`,
    );
  } finally {
    recording.pop();
    for (const r of recording) for (const n of symbols) r.add(n);
  }
}

function annotateCmp(e: Expr & { type: 'cmp' }, symtab: SymbolTable, append: boolean, nesting: string[]): Expr {
  const symbol = e.symbol;
  if (nesting.includes(symbol.name)) throw new ExprError(`Recursive expansion of symbol \`${symbol.name}'.`);
  nesting.push(symbol.name);
  for (const r of recording) r.add(symbol.name);
  try {
    const prereqs = append && symbol.prereqs ? parseAndAnnotate(symbol.prereqs, symtab, nesting) : undefined;
    let out: Expr = e;
    if (symbol.parent) {
      const sh = BigInt(symbol.parentOfs!);
      out = cmp(symbol.parent, e.relop, e.value << sh, e.mask << sh);
    } else if (symbol.predicate !== undefined) {
      const pred = parseAndAnnotate(symbol.predicate, symtab, nesting);
      const positive = ((e.value & 1n) !== 0n) !== (e.relop === '!=');
      out = positive ? pred : not(pred);
    }
    return prereqs ? combine('and', out, prereqs)! : out;
  } finally {
    nesting.pop();
  }
}

function annotateRec(e: Expr, symtab: SymbolTable, append: boolean, nesting: string[]): Expr {
  switch (e.type) {
    case 'cmp':
      return annotateCmp(e, symtab, append, nesting);
    case 'and':
    case 'or': {
      let node: Expr = e;
      if (append) {
        const sym = uniqueSymbol(e);
        if (sym) {
          append = false;
          if (sym.prereqs) node = combine('and', e, parseAndAnnotate(sym.prereqs, symtab, nesting))!;
        }
      }
      if (node.type !== 'and' && node.type !== 'or') return node;
      return andOr(
        node.type,
        node.terms.map((t) => annotateRec(t, symtab, append, nesting)),
      );
    }
    default:
      return e;
  }
}

/**
 * Annotates a parsed expression (OVN's `expr_annotate`): expands subfields and predicates to base
 * fields and adds prerequisites. Throws `ExprError` (bad or recursive definitions in `symtab`).
 */
export function annotate(e: Expr, symtab: SymbolTable = ovnSymtab()): Expr {
  return annotateRec(e, symtab, true, []);
}
