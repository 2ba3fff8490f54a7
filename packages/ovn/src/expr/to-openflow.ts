/**
 * Conversion of OVN match expressions to OpenFlow matches (ovn/lib/expr.c `expr_to_matches`,
 * `expr_matches_prepare` and `expr_matches_print` of OVN 23.03, re-implemented).
 *
 * Design. The input is compiled the way ovn-controller compiles a logical flow's match: parse,
 * annotate (which expands subfields and predicates and ANDs in every symbol's prerequisites, so
 * `tcp.dst == 80` becomes `ip.proto == 6 && (eth.type == 0x800 || eth.type == 0x86dd) && ...`),
 * simplify, evaluate `is_chassis_resident()`, normalise. The normal form is an OR of ANDs whose
 * terms are comparisons or ORs of comparisons on a single field (a "dimension"); normalisation
 * has already chosen between the two ways of expanding an AND of ORs, exactly as OVN does:
 * an OR that mixes fields, or whose field is `must_crossproduct` (`eth.type`, `ip.proto`,
 * `icmp6.type`, `icmp6.code`), is distributed over the AND (crossproduct); every other OR stays
 * a dimension. OVN applies no size threshold: an AND with two or more dimensions always becomes a
 * conjunctive match, with one dimension it becomes one flow per alternative.
 *
 * Each normalised AND then becomes OpenFlow matches (`add_conjunction`):
 *  - no dimension: one flow with the AND's comparisons;
 *  - one dimension: one flow per alternative (the comparisons plus that alternative);
 *  - n >= 2 dimensions: a fresh conjunction id; dimension k (in the AND's order, which
 *    normalisation sorts by field name) gives one *soft* flow per alternative carrying
 *    `conjunction(id, k/n)`; and one ordinary flow matching the comparisons plus `conj_id=id`,
 *    which is the flow that carries the logical flow's actions.
 * A comparison is applied as OVS's `mf_mask_subfield` does: its bits replace those bits of the
 * field and its mask is ORed into the field's mask. A comparison of a string field (`inport`,
 * `outport`) writes the port key of the named port to the whole register (`reg14`/`reg15`); a
 * name the caller cannot resolve drops that term as OVN does: a fixed comparison drops the whole
 * AND, an alternative drops only itself, and a dimension left empty abandons its conjunction
 * (its id is still consumed and soft flows already emitted for it stay, as in OVN).
 *
 * Identical matches are merged as OVN's `expr_match_add` merges them: two soft flows become one
 * flow carrying both `conjunction` actions; a soft flow and an ordinary flow become the
 * ordinary flow. OpenFlow needs this: identical matches at one priority would hide each other.
 *
 * Conjunction ids are numbered from 1 within an expression; `conjIdBase` offsets them (OVN's
 * `expr_matches_prepare(matches, start_conj_id - 1)`), so the ids used are `conjIdBase + 1` to
 * `conjIdBase + n`. Clause numbers are 1-based, as in `ovs-ofctl`'s `conjunction(id,k/n)` and
 * `@ovnts/openflow`'s `ConjClause`; `formatExprMatches` prints OVN's 0-based form.
 */
import { Match, field, formatMatch, type ConjClause, type MatchField } from '@ovnts/openflow';
import type { CmpExpr, Expr } from './ast.js';
import { annotate } from './check.js';
import { ExprError } from './errors.js';
import { evaluateConditions, normalize, simplify, type NormalizeOptions } from './normalize.js';
import { parseExprText, type ExprContext } from './parse.js';
import { resolveField, type ExprSymbol, type OvsField } from './symbols.js';

/** Options for `exprToOpenFlow`. */
export interface ToOpenFlowOptions extends ExprContext, NormalizeOptions {
  /** The port key (tunnel key) of a logical port name, or undefined when there is no such port. */
  portKeys: (name: string) => number | undefined;
  /** Offset added to the conjunction ids, which otherwise start at 1 (default 0). */
  conjIdBase?: number;
}

/** Options for `matchesToOpenFlow` (a normalised expression needs no symbols or sets). */
export type MatchesToOpenFlowOptions = Pick<ToOpenFlowOptions, 'portKeys' | 'conjIdBase'>;

/** One OpenFlow match an expression compiles to. */
export interface ExprFlow {
  /** The match (OVS fields; `@ovnts/openflow`). */
  match: Match;
  /**
   * Present on soft flows only: the `conjunction(id, clause/nClauses)` actions (1-based clauses)
   * that replace the logical flow's actions on this match. Several when identical matches merged.
   */
  conjunctions?: ConjClause[];
  /** On the flow that matches `conj_id`: that id (the flow carries the logical flow's actions). */
  conjId?: number;
}

/** What an expression compiles to. */
export interface ExprFlows {
  /** The matches, in the order first generated (OVN's order is its hash order). */
  flows: ExprFlow[];
  /** The conjunction ids consumed, ascending (OVN's `n_conjs` of them from `conjIdBase + 1`). */
  conjIds: number[];
}

/** The `@ovnts/openflow` field of an OVS field a symbol stands for. */
export function openflowField(f: OvsField): MatchField {
  if (!f.of) throw new ExprError(`OVS field ${f.name} has no OpenFlow match field.`);
  return f.of;
}

/** Where a comparison's symbol lives in OpenFlow, with its value and mask shifted there. */
function placeCmp(symbol: ExprSymbol, value: bigint, mask: bigint): { f: MatchField; value: bigint; mask: bigint } {
  const r = resolveField(symbol);
  const sh = BigInt(r.ofs);
  return { f: openflowField(r.field), value: value << sh, mask: mask << sh };
}

/**
 * OVN's `constrain_match`: applies comparison `c` to `m` (bits replaced under the comparison's
 * mask, masks ORed). False when `c` names a port `portKeys` does not know.
 */
function constrainMatch(c: Expr, portKeys: (name: string) => number | undefined, m: Match): boolean {
  if (c.type !== 'cmp' || c.relop !== '==') throw new ExprError('OpenFlow conversion needs a normalized expression.');
  const cmp: CmpExpr = c;
  if (cmp.symbol.width) {
    const { f, value, mask } = placeCmp(cmp.symbol, cmp.value, cmp.mask);
    const oldV = m.getValue(f);
    const oldM = m.getMask(f);
    m.set(f, (oldV & ~mask) | value, oldM | mask);
    return true;
  }
  const key = portKeys(cmp.string!);
  if (key === undefined) return false;
  const f = openflowField(resolveField(cmp.symbol).field);
  m.set(f, BigInt(key));
  return true;
}

function matchKey(m: Match): string {
  let s = '';
  for (let i = 0; i < m.mask.length; i++) {
    if (m.mask[i] !== 0) s += `${i}:${m.value[i]!.toString(16)}/${m.mask[i]!.toString(16)},`;
  }
  return s;
}

/** The accumulating set of matches (OVN's `struct hmap matches` with `expr_match_add`). */
class MatchSet {
  readonly byKey = new Map<string, ExprFlow>();

  add(match: Match, conj?: ConjClause, conjId?: number): void {
    const k = matchKey(match);
    const old = this.byKey.get(k);
    if (!old) {
      const flow: ExprFlow = { match };
      if (conj) flow.conjunctions = [conj];
      if (conjId !== undefined) flow.conjId = conjId;
      this.byKey.set(k, flow);
      return;
    }
    if (!old.conjunctions || !conj) delete old.conjunctions;
    else old.conjunctions.push(conj);
  }
}

class Converter {
  readonly out = new MatchSet();
  nConjs = 0;
  constructor(
    private readonly portKeys: (name: string) => number | undefined,
    private readonly base: number,
  ) {}

  addCmpFlow(c: Expr): void {
    const m = new Match();
    if (constrainMatch(c, this.portKeys, m)) this.out.add(m);
  }

  private addDisjunction(or: Expr & { type: 'or' }, m: Match, conj?: ConjClause): boolean {
    let n = 0;
    for (const sub of or.terms) {
      const mm = m.clone();
      if (constrainMatch(sub, this.portKeys, mm)) {
        this.out.add(mm, conj ? { ...conj } : undefined);
        n++;
      }
    }
    return n > 0;
  }

  addConjunction(and: Expr & { type: 'and' }): void {
    const m = new Match();
    let nClauses = 0;
    for (const sub of and.terms) {
      if (sub.type === 'cmp') {
        if (!constrainMatch(sub, this.portKeys, m)) return;
      } else if (sub.type === 'or') nClauses++;
      else throw new ExprError('OpenFlow conversion needs a normalized expression.');
    }
    if (nClauses === 0) {
      this.out.add(m);
      return;
    }
    if (nClauses === 1) {
      for (const sub of and.terms) if (sub.type === 'or') this.addDisjunction(sub, m);
      return;
    }
    if (nClauses > 64) throw new ExprError(`A conjunctive match has ${nClauses} dimensions; OpenFlow allows 64.`);
    const id = this.base + ++this.nConjs;
    let clause = 0;
    for (const sub of and.terms) {
      if (sub.type !== 'or') continue;
      // A dimension with no alternative left can never match: stop, as OVN does.
      if (!this.addDisjunction(sub, m, { id, clause: ++clause, nClauses })) return;
    }
    const c = m.clone();
    c.set(field('conj_id'), BigInt(id));
    this.out.add(c, undefined, id);
  }
}

/**
 * OVN's `expr_to_matches` for a *normalised* expression (`normalize`/`compileExpr` output): the
 * OpenFlow matches, soft conjunction flows and `conj_id` flows it stands for.
 */
export function matchesToOpenFlow(e: Expr, opts: MatchesToOpenFlowOptions): ExprFlows {
  const base = opts.conjIdBase ?? 0;
  const cv = new Converter(opts.portKeys, base);
  switch (e.type) {
    case 'cmp':
      cv.addCmpFlow(e);
      break;
    case 'and':
      cv.addConjunction(e);
      break;
    case 'or':
      for (const sub of e.terms) {
        if (sub.type === 'and') cv.addConjunction(sub);
        else cv.addCmpFlow(sub);
      }
      break;
    case 'bool':
      if (e.value) cv.out.add(new Match());
      break;
    case 'cond':
      throw new ExprError('is_chassis_resident() must be evaluated before conversion to OpenFlow.');
  }
  return {
    flows: [...cv.out.byKey.values()],
    conjIds: Array.from({ length: cv.nConjs }, (_, i) => base + i + 1),
  };
}

/**
 * Compiles an OVN match expression to OpenFlow matches as ovn-controller does: `expr` is match
 * text or a parsed (not yet annotated) tree; it is annotated with prerequisites, simplified,
 * its `is_chassis_resident()` conditions evaluated, normalised, and converted by
 * `matchesToOpenFlow`.
 */
export function exprToOpenFlow(expr: Expr | string, opts: ToOpenFlowOptions): ExprFlows {
  const parsed = typeof expr === 'string' ? parseExprText(expr, opts) : expr;
  const annotated = annotate(parsed, opts.symtab);
  const normalized = normalize(evaluateConditions(simplify(annotated), opts.isChassisResident), opts);
  return matchesToOpenFlow(normalized, opts);
}

/** One flow as OVN's `expr_matches_print` prints it: `ip,nw_src=10.0.0.1: conjunction(1, 0/2)`. */
export function formatExprMatch(f: ExprFlow): string {
  let s = formatMatch(f.match);
  (f.conjunctions ?? []).forEach((c, i) => {
    s += `${i === 0 ? ':' : ','} conjunction(${c.id}, ${c.clause - 1}/${c.nClauses})`;
  });
  return s;
}

/** The flows as OVN's `ovstest test-ovn expr-to-flows` prints them (one per line, `(no flows)` if none). */
export function formatExprMatches(r: ExprFlows): string[] {
  return r.flows.length ? r.flows.map(formatExprMatch) : ['(no flows)'];
}

/** One flow in `ovs-ofctl add-flow` form, with `actions` for the ordinary flows. */
export function formatExprFlow(f: ExprFlow, actions: string, priority?: number): string {
  const m = priority === undefined ? formatMatch(f.match) : formatMatch(f.match, priority);
  const acts = f.conjunctions ? f.conjunctions.map((c) => `conjunction(${c.id},${c.clause}/${c.nClauses})`).join(',') : actions;
  return `${m}${m ? ' ' : ''}actions=${acts}`;
}
