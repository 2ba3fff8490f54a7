/**
 * Direct evaluation of an expression on a symbolic packet (OVN's `expr_evaluate`, extended to
 * un-annotated expressions).
 *
 * Design. A packet is a map from *base* field names (`eth.type`, `vlan.tci`, `xxreg0`,
 * `ct_state`, `flags`, `inport`) to values: `bigint`/`number` for numeric fields, `string`
 * (a port name) for `inport`/`outport`. Missing numeric fields read as 0, as in a zeroed OVS
 * flow. A comparison on a subfield reads its parent's bits; a predicate evaluates its expansion;
 * prerequisites are *not* implied (annotate first to get them). Comparisons test
 * `(field & mask) RELOP value` numerically, which is OVN's byte-wise comparison. `packetOf`
 * builds a packet from any symbol names (`reg0`, `vlan.vid`, `ct.est`) by writing their bits
 * into the base fields. This is the reference semantics the compiled matches are tested against.
 */
import { ones, type Expr, type Relop } from './ast.js';
import { ExprError } from './errors.js';
import type { FieldConstraint, MatchForm } from './normalize.js';
import { parseExprText } from './parse.js';
import { ovnSymtab, type ExprSymbol, type SymbolTable } from './symbols.js';

/** A field value in a symbolic packet. */
export type PacketValue = bigint | number | string;

/** A symbolic packet: base field name → value. */
export type Packet = ReadonlyMap<string, PacketValue> | Readonly<Record<string, PacketValue>>;

/** Evaluation options. */
export interface EvalOptions {
  /** Symbols (for predicate expansion; default OVN's). */
  symtab?: SymbolTable;
  /** Decides `is_chassis_resident(port)` (default true, as OVN's `expr_evaluate`). */
  isChassisResident?: (port: string) => boolean;
}

function get(p: Packet, name: string): PacketValue | undefined {
  if (p instanceof Map) return p.get(name);
  const r = p as Readonly<Record<string, PacketValue>>;
  return Object.prototype.hasOwnProperty.call(r, name) ? r[name] : undefined;
}

function test(r: Relop, c: number): boolean {
  switch (r) {
    case '==':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

const predicateCache = new WeakMap<ExprSymbol, Expr>();

function predicateExpr(s: ExprSymbol, symtab: SymbolTable): Expr {
  let e = predicateCache.get(s);
  if (!e) {
    e = parseExprText(s.predicate!, { symtab });
    predicateCache.set(s, e);
  }
  return e;
}

/** The numeric value of base field `symbol` in `packet` (0 when absent). */
export function fieldValue(packet: Packet, symbol: ExprSymbol): bigint {
  const v = get(packet, symbol.name);
  if (v === undefined) return 0n;
  if (typeof v === 'string') throw new ExprError(`Packet field ${symbol.name} holds a string, not a number.`);
  return BigInt(v) & ones(symbol.width);
}

function evalCmp(e: Expr & { type: 'cmp' }, packet: Packet, opts: EvalOptions): boolean {
  let s = e.symbol;
  if (s.predicate !== undefined) {
    const r = evaluate(predicateExpr(s, opts.symtab ?? ovnSymtab()), packet, opts);
    const positive = ((e.value & 1n) !== 0n) !== (e.relop === '!=');
    return positive ? r : !r;
  }
  if (!s.width) {
    const v = get(packet, s.name);
    const pv = typeof v === 'string' ? v : '';
    const c = pv < e.string! ? -1 : pv > e.string! ? 1 : 0;
    return test(e.relop, c);
  }
  let value = e.value;
  let mask = e.mask;
  while (s.parent) {
    const sh = BigInt(s.parentOfs!);
    value <<= sh;
    mask <<= sh;
    s = s.parent;
  }
  const fv = fieldValue(packet, s) & mask;
  return test(e.relop, fv < value ? -1 : fv > value ? 1 : 0);
}

/** Evaluates `e` on `packet`. */
export function evaluate(e: Expr, packet: Packet, opts: EvalOptions = {}): boolean {
  switch (e.type) {
    case 'cmp':
      return evalCmp(e, packet, opts);
    case 'and':
      return e.terms.every((t) => evaluate(t, packet, opts));
    case 'or':
      return e.terms.some((t) => evaluate(t, packet, opts));
    case 'bool':
      return e.value;
    case 'cond':
      return (opts.isChassisResident ? opts.isChassisResident(e.port) : true) !== e.not;
  }
}

function constraintHolds(c: FieldConstraint, packet: Packet): boolean {
  if (c.string !== undefined) return get(packet, c.symbol.name) === c.string;
  return (fieldValue(packet, c.symbol) & c.mask) === c.value;
}

/** Whether `packet` matches a `MatchForm` (any flow, or any conjunction with every dimension met). */
export function matchesForm(form: MatchForm, packet: Packet): boolean {
  const all = (m: FieldConstraint[]) => m.every((c) => constraintHolds(c, packet));
  if (form.flows.some(all)) return true;
  return form.conjunctions.some(
    (cj) => all(cj.match) && cj.dimensions.every((d) => d.some((c) => constraintHolds(c, packet))),
  );
}

/**
 * Builds a packet from symbol values (`{ 'ip4.src': 0x0a000001, 'reg0': 5, 'inport': 'p1' }`):
 * subfields write their bits into their base field; base fields are set whole. Later entries win.
 */
export function packetOf(values: Readonly<Record<string, PacketValue>>, symtab: SymbolTable = ovnSymtab()): Map<string, PacketValue> {
  const out = new Map<string, PacketValue>();
  for (const [name, v] of Object.entries(values)) {
    let s = symtab.get(name);
    if (!s || s.predicate !== undefined || s.kind === 'ovn-field') throw new ExprError(`Unknown field ${name}.`);
    if (!s.width) {
      out.set(name, v);
      continue;
    }
    if (typeof v === 'string') throw new ExprError(`Field ${name} needs a number.`);
    let bits = BigInt(v) & ones(s.width);
    let mask = ones(s.width);
    while (s.parent) {
      const sh = BigInt(s.parentOfs!);
      bits <<= sh;
      mask <<= sh;
      s = s.parent;
    }
    const old = out.get(s.name);
    const base = typeof old === 'bigint' || typeof old === 'number' ? BigInt(old) : 0n;
    out.set(s.name, (base & ~mask) | bits);
  }
  return out;
}
