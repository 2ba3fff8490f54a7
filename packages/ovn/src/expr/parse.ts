/**
 * The parser of OVN match expressions (ovn-sb(5) "match", ovn/lib/expr.c behaviour, re-implemented).
 *
 * Design. Recursive descent over the grammar
 *
 *     expr    := not (('&&' not)* | ('||' not)*)        -- mixing && and || needs parentheses
 *     not     := '!' primary | primary                  -- `!` needs an atomic operand
 *     primary := '(' expr ')' | 'is_chassis_resident' '(' STRING ')'
 *              | field [relop constset]                 -- bare 1-bit field means `!= 0`
 *              | constset relop field [relop constset]  -- `1 < x < 5`, or literal 0 / 1
 *     field   := ID ['[' INT ['..' INT] ']']
 *     constset:= constant | '{' constant [','] ... '}'  -- constant: integer, string, $set, @group
 *
 * The parser tracks whether it is inside an odd number of `!`, because OVN allows nominal fields
 * only in positive equality tests once enclosing negations are counted. Comparisons are built and
 * type-checked as soon as they are parsed (`makeCmp` in check.ts), so type errors come out in
 * parse order with OVN's wording. Address sets and port groups are resolved through the context.
 */
import { andOr, bool, combine, not, turnRelop, type Expr, type Relop } from './ast.js';
import { makeCmp, type ConstantSet, type IntConstant } from './check.js';
import { Lexer, Tok, lexToken, type Token } from './lex.js';
import { ovnSymtab, type ExprSymbol, type SymbolTable } from './symbols.js';

/** Name → values table for address sets (`$name`) or port groups (`@name`). */
export type NameTable = ReadonlyMap<string, readonly string[]> | Readonly<Record<string, readonly string[]>>;

/** What a parse may refer to. */
export interface ExprContext {
  /** Symbols (default: OVN's logical symbol table). */
  symtab?: SymbolTable;
  /** Address sets: name → address strings (`10.0.0.0/8`, `00:00:00:00:00:01`, `fe80::/10`). */
  addressSets?: NameTable;
  /** Port groups: name → logical port names. */
  portGroups?: NameTable;
  /**
   * Tunnel key of the datapath the expression belongs to: `@pg` then names the southbound port
   * group `<key>_pg` (one per datapath), falling back to `pg`, as OVN's `parse_port_group` does.
   */
  dpKey?: number;
}

/** A field reference with optional bit selection: `symbol[ofs .. ofs+nBits-1]`. */
export interface FieldRef {
  /** The symbol. */
  symbol: ExprSymbol;
  /** First selected bit. */
  ofs: number;
  /** Number of selected bits (0 for string fields). */
  nBits: number;
}

/** Maximum nesting of parentheses (OVN's `MAX_PAREN_DEPTH`). */
export const MAX_PAREN_DEPTH = 100;

function lookup(t: NameTable | undefined, name: string): readonly string[] | undefined {
  if (!t) return undefined;
  if (t instanceof Map) return t.get(name);
  const r = t as Readonly<Record<string, readonly string[]>>;
  return Object.prototype.hasOwnProperty.call(r, name) ? r[name] : undefined;
}

const addrSetCache = new WeakMap<readonly string[], IntConstant[]>();

/** An address set's strings as sorted integer constants (OVN skips entries that are not integers). */
export function addressSetConstants(values: readonly string[]): IntConstant[] {
  let c = addrSetCache.get(values);
  if (c) return c;
  c = [];
  for (const v of values) {
    const t: Token = lexToken(v, 0).token;
    if (t.type === Tok.Integer) c.push({ value: t.value, format: t.format });
    else if (t.type === Tok.MaskedInteger) c.push({ value: t.value, mask: t.mask, format: t.format });
  }
  c.sort((a, b) => {
    if (a.value !== b.value) return a.value < b.value ? -1 : 1;
    if (a.mask === undefined && b.mask === undefined) return 0;
    if (a.mask === undefined) return 1;
    if (b.mask === undefined) return -1;
    return a.mask < b.mask ? -1 : a.mask > b.mask ? 1 : 0;
  });
  addrSetCache.set(values, c);
  return c;
}

/** The current token type (a call, so that TypeScript does not narrow it across lexer calls). */
function cur(lx: Lexer): Tok {
  return lx.token.type;
}

const relopOf: Partial<Record<Tok, Relop>> = {
  [Tok.Eq]: '==',
  [Tok.Ne]: '!=',
  [Tok.Lt]: '<',
  [Tok.Le]: '<=',
  [Tok.Gt]: '>',
  [Tok.Ge]: '>=',
};

/** Parser state for one expression. */
export class ExprParser {
  /** Inside an odd number of `!`. */
  not = false;
  private depth = 0;
  readonly symtab: SymbolTable;

  constructor(
    readonly lexer: Lexer,
    readonly ctx: ExprContext = {},
  ) {
    this.symtab = ctx.symtab ?? ovnSymtab();
  }

  /** Parses a field reference (`name` or `name[a..b]`). */
  parseField(): FieldRef {
    const lx: Lexer = this.lexer;
    if (lx.token.type !== Tok.Id) lx.syntaxError('expecting field name');
    const symbol = this.symtab.get(lx.token.s);
    if (!symbol) lx.syntaxError('expecting field name');
    lx.get();
    if (!lx.match(Tok.LSquare)) return { symbol, ofs: 0, nBits: symbol.width };
    if (!symbol.width) lx.error(`Cannot select subfield of string field ${symbol.name}.`);
    const low = lx.forceInt();
    const high = lx.match(Tok.Ellipsis) ? lx.forceInt() : low;
    lx.forceMatch(Tok.RSquare);
    if (low > high) lx.error(`Invalid bit range ${low} to ${high}.`);
    if (high >= symbol.width) lx.error(`Cannot select bits ${low} to ${high} of ${symbol.width}-bit field ${symbol.name}.`);
    if (symbol.level === 'nominal' && (low !== 0 || high !== symbol.width - 1)) {
      lx.error(`Cannot select subfield of nominal field ${symbol.name}.`);
    }
    return { symbol, ofs: low, nBits: high - low + 1 };
  }

  private parseRelop(): Relop {
    const r = relopOf[this.lexer.token.type];
    if (!r) this.lexer.syntaxError('expecting relational operator');
    this.lexer.get();
    return r;
  }

  private assignType(cs: ConstantSet, type: 'integer' | 'string'): void {
    if (cs.values.length && cs.type !== type) this.lexer.syntaxError(`expecting ${cs.type}`);
    cs.type = type;
  }

  private parseConstant(cs: ConstantSet): void {
    const lx: Lexer = this.lexer;
    const t = lx.token;
    cs.asName = undefined;
    switch (t.type) {
      case Tok.Template:
        return lx.error('Unexpanded template.');
      case Tok.String:
        this.assignType(cs, 'string');
        cs.values.push(t.s);
        break;
      case Tok.Integer:
      case Tok.MaskedInteger:
        this.assignType(cs, 'integer');
        cs.values.push(t.type === Tok.MaskedInteger ? { value: t.value, mask: t.mask, format: t.format } : { value: t.value, format: t.format });
        break;
      case Tok.Macro: {
        const values = lookup(this.ctx.addressSets, t.s);
        if (!values) lx.syntaxError('expecting address set name');
        this.assignType(cs, 'integer');
        if (!cs.values.length) cs.asName = t.s;
        cs.values.push(...addressSetConstants(values));
        break;
      }
      case Tok.PortGroup: {
        const values = (this.ctx.dpKey !== undefined ? lookup(this.ctx.portGroups, `${this.ctx.dpKey}_${t.s}`) : undefined) ?? lookup(this.ctx.portGroups, t.s);
        if (!values) lx.syntaxError('expecting port group name');
        this.assignType(cs, 'string');
        cs.values.push(...values);
        break;
      }
      default:
        lx.syntaxError('expecting constant');
    }
    lx.get();
  }

  /** Parses a constant or a `{...}` set of constants. */
  parseConstantSet(): ConstantSet {
    const cs: ConstantSet = { type: 'integer', values: [], inCurlies: false };
    if (this.lexer.match(Tok.LCurly)) {
      cs.inCurlies = true;
      do {
        this.parseConstant(cs);
        this.lexer.match(Tok.Comma);
      } while (!this.lexer.match(Tok.RCurly));
    } else this.parseConstant(cs);
    return cs;
  }

  private parsePrimary(): { e: Expr; atomic: boolean } {
    const lx: Lexer = this.lexer;
    if (lx.match(Tok.LParen)) {
      if (this.depth >= MAX_PAREN_DEPTH) lx.error('Parentheses nested too deeply.');
      this.depth++;
      const e = this.parseExpr();
      this.depth--;
      lx.forceMatch(Tok.RParen);
      return { e, atomic: true };
    }
    if (lx.token.type === Tok.Template) lx.error('Unexpanded template.');
    if (lx.token.type === Tok.Id) {
      if (lx.lookahead() === Tok.LParen) {
        if (lx.matchId('is_chassis_resident')) {
          lx.get(); // "("
          if (cur(lx) !== Tok.String) lx.syntaxError('expecting string');
          const port = lx.token.s;
          lx.get();
          lx.forceMatch(Tok.RParen);
          return { e: { type: 'cond', cond: 'is_chassis_resident', not: false, port }, atomic: true };
        }
        lx.error('parsing function name');
      }
      const f = this.parseField();
      const r = relopOf[lx.token.type];
      if (!r) {
        if (!f.nBits || cur(lx) === Tok.Equals) lx.syntaxError('expecting relational operator');
        if (f.nBits > 1 && !this.not) {
          lx.error('Explicit `!= 0\' is required for inequality test of multibit field against 0.');
        }
        const zero: ConstantSet = { type: 'integer', values: [{ value: 0n, format: 'hexadecimal' }], inCurlies: false };
        return { e: makeCmp(this, f, '!=', zero), atomic: true };
      }
      this.parseRelop();
      const cs = this.parseConstantSet();
      return { e: makeCmp(this, f, r, cs), atomic: false };
    }

    const c1 = this.parseConstantSet();
    const v0 = c1.values[0];
    if (
      !relopOf[lx.token.type] &&
      c1.values.length === 1 &&
      c1.type === 'integer' &&
      typeof v0 === 'object' &&
      v0.format === 'decimal' &&
      v0.mask === undefined &&
      !c1.inCurlies &&
      v0.value <= 1n
    ) {
      return { e: bool(v0.value === 1n), atomic: true };
    }
    const r1 = this.parseRelop();
    const f = this.parseField();
    const r2 = relopOf[lx.token.type];
    if (!r2) return { e: makeCmp(this, f, turnRelop(r1), c1), atomic: false };
    lx.get();
    const c2 = this.parseConstantSet();
    const lt = (r: Relop) => r === '<' || r === '<=';
    const gt = (r: Relop) => r === '>' || r === '>=';
    if (!((lt(r1) && lt(r2)) || (gt(r1) && gt(r2)))) {
      lx.error(
        "Range expressions must have the form `x < field < y' or `x > field > y', with each `<' optionally replaced by `<=' or `>' by `>=').",
      );
    }
    const e1 = makeCmp(this, f, turnRelop(r1), c1);
    const e2 = makeCmp(this, f, r2, c2);
    return { e: combine('and', e1, e2)!, atomic: false };
  }

  private parseNot(): Expr {
    if (this.lexer.match(Tok.LogNot)) {
      this.not = !this.not;
      const { e, atomic } = this.parsePrimary();
      this.not = !this.not;
      if (!atomic) this.lexer.error('Missing parentheses around operand of !.');
      return not(e);
    }
    return this.parsePrimary().e;
  }

  /** Parses an expression (without requiring the end of input). */
  parseExpr(): Expr {
    const lx: Lexer = this.lexer;
    let e = this.parseNot();
    const op = lx.token.type;
    if (op === Tok.LogAnd || op === Tok.LogOr) {
      const type = op === Tok.LogAnd ? 'and' : 'or';
      const terms: Expr[] = [e];
      lx.get();
      do terms.push(this.parseNot());
      while (lx.match(op));
      e = andOr(type, terms);
      if (lx.token.type === Tok.LogAnd || lx.token.type === Tok.LogOr) {
        lx.error('&& and || must be parenthesized when used together.');
      }
    }
    return e;
  }
}

/** Parses OVN match expression `text` (not annotated: symbols stay as written). Throws `ExprError`. */
export function parseExprText(text: string, ctx: ExprContext = {}): Expr {
  const lx = new Lexer(text);
  lx.get();
  const e = new ExprParser(lx, ctx).parseExpr();
  lx.forceEnd();
  return e;
}

/** Parses a field reference such as `vlan.tci[0..11]` (the whole input). Throws `ExprError`. */
export function parseFieldText(text: string, symtab: SymbolTable): FieldRef {
  const lx = new Lexer(text);
  lx.get();
  const f = new ExprParser(lx, { symtab }).parseField();
  lx.forceEnd();
  return f;
}
