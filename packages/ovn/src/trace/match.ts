/**
 * Logical-flow matches compiled to predicates over the traced packet.
 *
 * Design. A trace looks a packet up in every table it walks, evaluating each flow's match from
 * the highest priority down; the tree walk of `Tracer.evaluate` re-dispatches on node types,
 * resolves field names and looks port names up on every evaluation. A match is compiled once
 * into nested closures instead: field readers resolved, port names replaced by their tunnel
 * keys (ports do not change within a southbound view), and a disjunction of exact tests of one
 * field (`inport == @pg`, `ip4.dst == $as`) turned into one set lookup. The predicate answers
 * exactly what `Tracer.evaluate` answers: an unknown port name matches nothing, an
 * `is_chassis_resident()` left in a match holds unless negated.
 */
import type { Expr } from '../expr/ast.js';
import type { OvsField } from '../expr/symbols.js';
import type { TraceDatapath, TracePort } from './db.js';
import { fieldReader, type TraceFlow } from './flow.js';

/** A compiled match. */
export type MatchPredicate = (f: TraceFlow) => boolean;

const yes: MatchPredicate = () => true;
const no: MatchPredicate = () => false;

/** ovn-trace's `ovntrace_lookup_port`: a port or multicast group name to its key in `dp`. */
export function portKeyIn(ports: ReadonlyMap<string, TracePort>, dp: TraceDatapath, name: string): number | undefined {
  if (name === '' || name === 'none') return 0;
  const p = ports.get(name);
  if (p) return p.dp === dp ? p.key : undefined;
  const mc = dp.mcgroups.find((m) => m.name === name);
  return mc ? mc.key : undefined;
}

/** The value an exact `==` comparison tests, with its field and mask, or undefined. */
function exactTest(e: Expr, key: (name: string) => number | undefined): { field: OvsField; mask: bigint; value: bigint | undefined } | undefined {
  if (e.type !== 'cmp' || e.relop !== '==') return undefined;
  const field = e.symbol.field;
  if (!field) return undefined;
  if (e.symbol.width) return { field, mask: e.mask, value: e.value };
  const k = key(e.string!);
  return { field, mask: -1n, value: k === undefined ? undefined : BigInt(k) };
}

/** Compiles an annotated, simplified match for datapath `dp` of a southbound view with `ports`. */
export function compileMatch(e: Expr, ports: ReadonlyMap<string, TracePort>, dp: TraceDatapath): MatchPredicate {
  const key = (name: string) => portKeyIn(ports, dp, name);
  const compile = (e: Expr): MatchPredicate => {
    switch (e.type) {
      case 'bool':
        return e.value ? yes : no;
      case 'cond':
        return e.not ? no : yes;
      case 'and': {
        const ts = e.terms.map(compile);
        if (ts.length === 2) {
          const [a, b] = ts as [MatchPredicate, MatchPredicate];
          return (f) => a(f) && b(f);
        }
        return (f) => {
          for (const t of ts) if (!t(f)) return false;
          return true;
        };
      }
      case 'or': {
        const tests = e.terms.map((t) => exactTest(t, key));
        const first = tests[0];
        if (first && tests.length > 3 && tests.every((t) => t && t.field === first.field && t.mask === first.mask)) {
          const read = fieldReader(first.field.name);
          const values = new Set(tests.map((t) => t!.value).filter((v): v is bigint => v !== undefined));
          const mask = first.mask;
          const width = first.field.width;
          return mask === -1n || mask === (1n << BigInt(width)) - 1n ? (f) => values.has(read(f)) : (f) => values.has(read(f) & mask);
        }
        const ts = e.terms.map(compile);
        return (f) => {
          for (const t of ts) if (t(f)) return true;
          return false;
        };
      }
      case 'cmp': {
        const s = e.symbol;
        const read = fieldReader(s.field!.name);
        let value: bigint;
        let mask: bigint;
        if (s.width) {
          value = e.value;
          mask = e.mask;
        } else {
          const k = key(e.string!);
          if (k === undefined) return no;
          value = BigInt(k);
          mask = -1n;
        }
        const width = s.field!.width;
        if (mask === -1n || mask === (1n << BigInt(width)) - 1n) {
          if (e.relop === '==') return (f) => read(f) === value;
          if (e.relop === '!=') return (f) => read(f) !== value;
        } else if (width <= 32 && (e.relop === '==' || e.relop === '!=')) {
          // Masked tests of narrow fields in doubles: a BigInt '&' allocates, a number '&' does not.
          const m = Number(mask) | 0;
          const v = Number(value) | 0;
          return e.relop === '==' ? (f) => (Number(read(f)) & m) === v : (f) => (Number(read(f)) & m) !== v;
        }
        switch (e.relop) {
          case '==':
            return (f) => (read(f) & mask) === value;
          case '!=':
            return (f) => (read(f) & mask) !== value;
          case '<':
            return (f) => (read(f) & mask) < value;
          case '<=':
            return (f) => (read(f) & mask) <= value;
          case '>':
            return (f) => (read(f) & mask) > value;
          case '>=':
            return (f) => (read(f) & mask) >= value;
        }
      }
    }
  };
  return compile(e);
}
