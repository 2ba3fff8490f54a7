/**
 * Simplification and normalisation (ovn/lib/expr.c `expr_simplify`, `expr_normalize` and
 * `expr_to_matches` behaviour, re-implemented), producing the form that becomes OpenFlow flows.
 *
 * Design. After annotation every comparison is on a base field. `simplify` rewrites every
 * numeric comparison as equality tests on value/mask pairs: `x != v` becomes the OR of one
 * single-bit test per bit of `v` (each with the bit flipped), `x < v` becomes, for every 1-bit z
 * of v, "the bits above z equal v's and bit z is 0" (and symmetrically for `>`), and `<=`/`>=`
 * add `x == v`. `evaluateConditions` folds `is_chassis_resident()` to constants.
 *
 * `normalize` then yields an OR of ANDs in which every AND term is either one comparison or an
 * OR of comparisons on one field (a "dimension"). Inside an AND, terms on the same field are
 * sorted together and *crushed*: the bit constraints of the same field are intersected (a clash
 * gives false), ORs on that field are intersected pairwise, duplicates removed. A remaining OR
 * that mixes fields, or whose field must not be a conjunction dimension (`eth.type`,
 * `ip.proto`, `icmp6.type`, `icmp6.code`), is distributed over the rest of the AND (crossproduct).
 *
 * `toMatchForm` turns that into what OVN installs: plain flows, and conjunctive matches (a set
 * of fixed constraints plus two or more dimensions of alternatives, OpenFlow `conjunction`)
 * for ANDs with several dimensions, so that `{a1..an} x {b1..bm}` costs n+m flows, not n*m.
 *
 * Crossproducts can grow exponentially; a term budget (`maxTerms`) stops them with an
 * `ExprError` instead of exhausting memory. OVN has no such guard.
 */
import {
  FALSE,
  TRUE,
  andOr,
  bool,
  cmp,
  fix,
  ones,
  uniqueSymbol,
  type CmpExpr,
  type Expr,
} from './ast.js';
import { annotate } from './check.js';
import { ExprError } from './errors.js';
import { formatExpr } from './format.js';
import { parseExprText, type ExprContext } from './parse.js';
import type { ExprSymbol } from './symbols.js';

/** Options for `normalize` and `compileExpr`. */
export interface NormalizeOptions {
  /** Maximum number of terms a crossproduct may create (default 1,000,000). */
  maxTerms?: number;
  /** Decides `is_chassis_resident(port)` (default: true, as `ovn-trace` assumes). */
  isChassisResident?: (port: string) => boolean;
}

/** Default term budget for normalisation. */
export const DEFAULT_MAX_TERMS = 1_000_000;

function simplifyNe(e: CmpExpr): Expr {
  const terms: Expr[] = [];
  const w = e.symbol.width;
  for (let i = 0; i < w; i++) {
    const bit = 1n << BigInt(i);
    if (e.mask & bit) terms.push(cmp(e.symbol, '==', e.value & bit ? 0n : bit, bit));
  }
  return terms.length ? andOr('or', terms) : FALSE;
}

function simplifyRelational(e: CmpExpr): Expr {
  const w = e.symbol.width;
  let start = 0;
  while (start < w && !((e.mask >> BigInt(start)) & 1n)) start++;
  let end = start;
  while (end < w && (e.mask >> BigInt(end)) & 1n) end++;
  const lt = e.relop === '<' || e.relop === '<=';
  const eq = e.relop === '<=' || e.relop === '>=';
  const bitOf = (z: number) => ((e.value >> BigInt(z)) & 1n) === 1n;
  let allSame = true;
  for (let z = start; z < end; z++) if (bitOf(z) !== lt) allSame = false;
  if (allSame) {
    // x <= max, x >= 0 are always true; x < max, x > 0 are x != max, x != 0.
    return eq ? TRUE : simplifyNe(e);
  }
  const terms: Expr[] = [];
  if (eq) terms.push(cmp(e.symbol, '==', e.value, e.mask));
  for (let z = start; z < end; z++) {
    if (bitOf(z) !== lt) continue;
    const low = ones(z - start) << BigInt(start);
    const value = (e.value ^ (1n << BigInt(z))) & ~low;
    terms.push(cmp(e.symbol, '==', value, e.mask & ~low));
  }
  return terms.length ? andOr('or', terms) : FALSE;
}

/** Rewrites every numeric comparison as `==` tests on value/mask pairs (OVN's `expr_simplify`). */
export function simplify(e: Expr): Expr {
  switch (e.type) {
    case 'cmp':
      if (!e.symbol.width) return e;
      if (e.relop === '==') return e.mask === 0n ? TRUE : e;
      if (e.relop === '!=') return simplifyNe(e);
      return simplifyRelational(e);
    case 'and':
    case 'or':
      return fix(andOr(e.type, e.terms.map(simplify)));
    default:
      return e;
  }
}

/** Replaces `is_chassis_resident()` conditions by their value (OVN's `expr_evaluate_condition`). */
export function evaluateConditions(e: Expr, isChassisResident: (port: string) => boolean = () => true): Expr {
  switch (e.type) {
    case 'cond':
      return bool(isChassisResident(e.port) !== e.not);
    case 'and':
    case 'or':
      return fix(andOr(e.type, e.terms.map((t) => fix(evaluateConditions(t, isChassisResident)))));
    default:
      return e;
  }
}

/** Intersects two value/mask constraints on one field; undefined if they contradict. */
export function intersect(av: bigint, am: bigint, bv: bigint, bm: bigint): [bigint, bigint] | undefined {
  if ((av ^ bv) & am & bm) return undefined;
  return [(av & am) | (bv & bm), am | bm];
}

function compareCmps(a: CmpExpr, b: CmpExpr): number {
  if (!a.symbol.width) return a.string! < b.string! ? -1 : a.string! > b.string! ? 1 : 0;
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return a.mask < b.mask ? -1 : a.mask > b.mask ? 1 : 0;
}

const typeRank = { cmp: 0, and: 1, or: 2, bool: 3, cond: 4 } as const;

class Normalizer {
  private terms = 0;
  constructor(private readonly maxTerms: number) {}

  private spend(n: number): void {
    this.terms += n;
    if (this.terms > this.maxTerms) {
      throw new ExprError(`Expression too large to normalize (more than ${this.maxTerms} terms).`);
    }
  }

  private crushOr(e: Expr & { type: 'or' }, symbol: ExprSymbol): Expr {
    const crushed = fix(andOr('or', e.terms.map((t) => this.crush(t, symbol))));
    if (crushed.type !== 'or') return crushed;
    const subs = [...(crushed.terms as CmpExpr[])].sort(compareCmps);
    const out: CmpExpr[] = [subs[0]!];
    for (let i = 1; i < subs.length; i++) if (compareCmps(out[out.length - 1]!, subs[i]!)) out.push(subs[i]!);
    return fix(andOr('or', out));
  }

  private crushAndString(e: Expr & { type: 'and' }, symbol: ExprSymbol): Expr {
    let singleton: CmpExpr | undefined;
    const ors: (Expr & { type: 'or' })[] = [];
    for (const t of e.terms) {
      const n = this.crush(t, symbol);
      if (n.type === 'cmp') {
        if (!singleton) singleton = n;
        else if (n.string !== singleton.string) return FALSE;
      } else if (n.type === 'or') ors.push(n);
      else if (n.type === 'bool' && !n.value) return FALSE;
    }
    if (singleton) {
      for (const o of ors) if (!o.terms.some((s) => (s as CmpExpr).string === singleton!.string)) return FALSE;
      return singleton;
    }
    let result: Set<string> | undefined;
    for (const o of ors) {
      const strings = new Set(o.terms.map((s) => (s as CmpExpr).string!));
      result = result ? new Set([...result].filter((x) => strings.has(x))) : strings;
      if (!result.size) return FALSE;
    }
    const list = [...(result ?? [])].sort();
    return fix(andOr('or', list.map((s): Expr => ({ type: 'cmp', symbol, relop: '==', value: 0n, mask: 0n, string: s }))));
  }

  private crushAndNumeric(e: Expr & { type: 'and' }, symbol: ExprSymbol): Expr {
    let value = 0n;
    let mask = 0n;
    const ors: (Expr & { type: 'or' })[] = [];
    for (const t of e.terms) {
      const n = this.crush(t, symbol);
      if (n.type === 'cmp') {
        const r = intersect(value, mask, n.value, n.mask);
        if (!r) return FALSE;
        [value, mask] = r;
      } else if (n.type === 'or') ors.push(n);
      else if (n.type === 'bool' && !n.value) return FALSE;
    }
    if (!ors.length) return mask === 0n ? TRUE : cmp(symbol, '==', value, mask);
    if (ors.length === 1) {
      const kept: CmpExpr[] = [];
      for (const s of ors[0]!.terms as CmpExpr[]) {
        const r = intersect(value, mask, s.value, s.mask);
        if (r) kept.push(cmp(symbol, '==', r[0], r[1]));
      }
      if (!kept.length) return FALSE;
      if (kept.length === 1) return kept[0]!;
      return this.crush(andOr('or', kept), symbol);
    }
    const [as, bs, ...rest] = ors;
    this.spend(as!.terms.length * bs!.terms.length);
    const product: CmpExpr[] = [];
    for (const a of as!.terms as CmpExpr[]) {
      const ra = intersect(value, mask, a.value, a.mask);
      if (!ra) continue;
      for (const b of bs!.terms as CmpExpr[]) {
        const rb = intersect(ra[0], ra[1], b.value, b.mask);
        if (rb) product.push(cmp(symbol, '==', rb[0], rb[1]));
      }
    }
    if (!product.length) return FALSE;
    const head: Expr = product.length === 1 ? product[0]! : andOr('or', product);
    return this.crush(rest.length ? andOr('and', [head, ...rest]) : head, symbol);
  }

  /** Crushes an expression over the single symbol `symbol` to a cmp, an OR of cmps, or a boolean. */
  crush(e: Expr, symbol: ExprSymbol): Expr {
    switch (e.type) {
      case 'or':
        return this.crushOr(e, symbol);
      case 'and':
        return symbol.width ? this.crushAndNumeric(e, symbol) : this.crushAndString(e, symbol);
      case 'cond':
        throw new ExprError('is_chassis_resident() must be evaluated before normalization.');
      default:
        return e;
    }
  }

  private sortAnd(e: Expr & { type: 'and' }): Expr {
    const subs = e.terms.map((t) => {
      const symbol = uniqueSymbol(t);
      return { expr: t, symbol, rank: symbol ? 0 : typeRank[t.type] };
    });
    subs.sort((a, b) => {
      if (a.rank !== b.rank) return a.rank - b.rank;
      if (a.symbol && b.symbol) return a.symbol.name < b.symbol.name ? -1 : a.symbol.name > b.symbol.name ? 1 : 0;
      if ((a.expr.type === 'and' || a.expr.type === 'or') && (b.expr.type === 'and' || b.expr.type === 'or')) {
        return a.expr.terms.length - b.expr.terms.length;
      }
      return 0;
    });
    const out: Expr[] = [];
    for (let i = 0; i < subs.length; ) {
      const sym = subs[i]!.symbol;
      if (!sym) {
        out.push(subs[i++]!.expr);
        continue;
      }
      let j = i + 1;
      while (j < subs.length && subs[j]!.symbol === sym) j++;
      const group = j === i + 1 ? subs[i]!.expr : andOr('and', subs.slice(i, j).map((s) => s.expr));
      const crushed = this.crush(group, sym);
      i = j;
      if (crushed.type === 'bool') {
        if (!crushed.value) return FALSE;
      } else out.push(crushed);
    }
    return out.length ? andOr('and', out) : TRUE;
  }

  normalizeAnd(e0: Expr & { type: 'and' }): Expr {
    const sorted = this.sortAnd(e0);
    if (sorted.type !== 'and') return sorted;
    // Merge adjacent comparisons on the same symbol.
    const terms: Expr[] = [];
    for (const t of sorted.terms) {
      const prev = terms[terms.length - 1];
      if (prev && prev.type === 'cmp' && t.type === 'cmp' && prev.symbol === t.symbol) {
        if (t.symbol.width) {
          const r = intersect(prev.value, prev.mask, t.value, t.mask);
          if (!r) return FALSE;
          terms[terms.length - 1] = cmp(t.symbol, '==', r[0], r[1]);
        } else if (prev.string !== t.string) return FALSE;
        continue;
      }
      terms.push(t);
    }
    if (terms.length === 1) return terms[0]!;
    const e: Expr & { type: 'and' } = { type: 'and', terms };
    for (const sub of terms) {
      if (sub.type !== 'or') continue;
      const sym = uniqueSymbol(sub);
      if (sym && !sym.mustCrossproduct) continue;
      this.spend(sub.terms.length * terms.length);
      const alternatives = sub.terms.map((k) => andOr('and', terms.map((m) => (m === sub ? k : m))));
      return this.normalizeOr({ type: 'or', terms: alternatives });
    }
    return e;
  }

  normalizeOr(e: Expr & { type: 'or' }): Expr {
    const out: Expr[] = [];
    for (const sub of e.terms) {
      if (sub.type === 'and') {
        const n = this.normalizeAnd(sub);
        if (n.type === 'bool') {
          if (n.value) return TRUE;
        } else if (n.type === 'or') out.push(...n.terms);
        else out.push(n);
      } else if (sub.type === 'cond') {
        throw new ExprError('is_chassis_resident() must be evaluated before normalization.');
      } else out.push(sub);
    }
    if (!out.length) return FALSE;
    if (out.length === 1) return out[0]!;
    return { type: 'or', terms: out };
  }
}

/**
 * Normalises a simplified, condition-free expression (OVN's `expr_normalize`) to true, false, or
 * an OR of ANDs whose terms are comparisons or single-field ORs of comparisons.
 */
export function normalize(e: Expr, opts: NormalizeOptions = {}): Expr {
  const n = new Normalizer(opts.maxTerms ?? DEFAULT_MAX_TERMS);
  switch (e.type) {
    case 'and':
      return n.normalizeAnd(e);
    case 'or':
      return n.normalizeOr(e);
    case 'cond':
      throw new ExprError('is_chassis_resident() must be evaluated before normalization.');
    default:
      return e;
  }
}

/** Parse, annotate, simplify, evaluate conditions and normalise `text` in one call. */
export function compileExpr(text: string, ctx: ExprContext = {}, opts: NormalizeOptions = {}): Expr {
  const annotated = annotate(parseExprText(text, ctx), ctx.symtab);
  return normalize(evaluateConditions(simplify(annotated), opts.isChassisResident), opts);
}

/** One constraint of a flow match: bits of a base field, or a port name for a string field. */
export interface FieldConstraint {
  /** The base field symbol (after annotation: no subfields or predicates). */
  symbol: ExprSymbol;
  /** Value bits (numeric fields). */
  value: bigint;
  /** Mask (numeric fields). */
  mask: bigint;
  /** Port name (string fields). */
  string?: string;
}

/** A conjunctive match: `match` plus one alternative from each of two or more dimensions. */
export interface ConjunctiveMatch {
  /** Constraints every packet of the conjunction must meet. */
  match: FieldConstraint[];
  /** Each dimension is a list of alternatives on one field. */
  dimensions: FieldConstraint[][];
}

/** The flows a normalised expression becomes (before conversion to OpenFlow). */
export interface MatchForm {
  /** Plain flows: a packet matching any one of them matches the expression. */
  flows: FieldConstraint[][];
  /** Conjunctive matches (OpenFlow `conjunction(id, k/n)` plus a `conj_id` flow each). */
  conjunctions: ConjunctiveMatch[];
}

function constraintOf(c: Expr): FieldConstraint {
  if (c.type !== 'cmp' || c.relop !== '==') throw new ExprError('toMatchForm needs a normalized expression.');
  return c.symbol.width
    ? { symbol: c.symbol, value: c.value, mask: c.mask }
    : { symbol: c.symbol, value: 0n, mask: 0n, string: c.string! };
}

/** Adds a constraint to a match; false if it contradicts one already there. */
function constrain(match: FieldConstraint[], c: FieldConstraint): boolean {
  const i = match.findIndex((m) => m.symbol === c.symbol);
  if (i < 0) {
    match.push(c);
    return true;
  }
  const m = match[i]!;
  if (c.string !== undefined) return m.string === c.string;
  const r = intersect(m.value, m.mask, c.value, c.mask);
  if (!r) return false;
  match[i] = { symbol: c.symbol, value: r[0], mask: r[1] };
  return true;
}

function addConjunction(and: Expr & { type: 'and' }, out: MatchForm): void {
  const match: FieldConstraint[] = [];
  const dims: FieldConstraint[][] = [];
  for (const t of and.terms) {
    if (t.type === 'cmp') {
      if (!constrain(match, constraintOf(t))) return;
    } else if (t.type === 'or') dims.push(t.terms.map(constraintOf));
    else throw new ExprError('toMatchForm needs a normalized expression.');
  }
  if (dims.length === 0) out.flows.push(match);
  else if (dims.length === 1) {
    for (const alt of dims[0]!) {
      const m = [...match];
      if (constrain(m, alt)) out.flows.push(m);
    }
  } else out.conjunctions.push({ match, dimensions: dims });
}

/** The flows and conjunctive matches of a normalised expression (OVN's `expr_to_matches`, before port lookup). */
export function toMatchForm(e: Expr): MatchForm {
  const out: MatchForm = { flows: [], conjunctions: [] };
  switch (e.type) {
    case 'bool':
      if (e.value) out.flows.push([]);
      break;
    case 'cmp':
      out.flows.push([constraintOf(e)]);
      break;
    case 'and':
      addConjunction(e, out);
      break;
    case 'or':
      for (const t of e.terms) {
        if (t.type === 'and') addConjunction(t, out);
        else out.flows.push([constraintOf(t)]);
      }
      break;
    case 'cond':
      throw new ExprError('is_chassis_resident() must be evaluated before normalization.');
  }
  return out;
}

/**
 * OVN's microflow check (`expr_parse_microflow`, as `ovn-trace` applies it): the expression must
 * normalise to one conjunction of exact-or-masked constraints. Returns those constraints, or throws
 * `Constraints are contradictory.` / `Constraints are ambiguous: <annotated>.`
 */
export function parseMicroflow(text: string, ctx: ExprContext = {}): FieldConstraint[] {
  const annotated = annotate(parseExprText(text, ctx), ctx.symtab);
  const e = normalize(evaluateConditions(simplify(annotated)));
  const ambiguous = () => new ExprError(`Constraints are ambiguous: ${formatExpr(annotated)}.`, text);
  switch (e.type) {
    case 'bool':
      if (!e.value) throw new ExprError('Constraints are contradictory.', text);
      return [];
    case 'cmp':
      return [constraintOf(e)];
    case 'or':
      throw ambiguous();
    case 'and': {
      const out: FieldConstraint[] = [];
      for (const t of e.terms) {
        if (t.type !== 'cmp') throw ambiguous();
        constrain(out, constraintOf(t));
      }
      return out;
    }
    default:
      throw ambiguous();
  }
}
