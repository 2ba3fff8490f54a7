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

/** A conjunct a match's text states outright, and the packet field it pins. */
const PINS: readonly [
  RegExp,
  (m: RegExpExecArray, key: (name: string) => number | undefined, group: (name: string) => readonly string[] | undefined) => MatchPredicate | 'never' | undefined,
][] = [
  [
    /^(inport|outport) == "([^"\\]*)"$/,
    (m, key) => {
      const k = key(m[2]!);
      if (k === undefined) return 'never';
      const v = BigInt(k);
      const r = m[1] === 'inport' ? 14 : 15;
      return (f) => f.regs[r] === v;
    },
  ],
  [
    /^(inport|outport) == @([A-Za-z_.][A-Za-z0-9_.]*)$/,
    (m, key, group) => {
      const names = group(m[2]!);
      if (!names) return undefined;
      const keys = new Set<bigint>();
      for (const n of names) {
        const k = key(n);
        if (k !== undefined) keys.add(BigInt(k));
      }
      if (keys.size === 0) return undefined;
      const r = m[1] === 'inport' ? 14 : 15;
      return (f) => keys.has(f.regs[r]!);
    },
  ],
  [
    /^eth\.(dst|src) == ([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})$/,
    (m) => {
      const v = BigInt(`0x${m[2]!.replace(/:/g, '')}`);
      return m[1] === 'dst' ? (f) => f.dl_dst === v : (f) => f.dl_src === v;
    },
  ],
  [
    /^(ip4\.dst|arp\.tpa|ip4\.src|arp\.spa) == (\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/,
    (m) => {
      const o = [m[2], m[3], m[4], m[5]].map(Number);
      if (o.some((x) => x > 255)) return undefined;
      const v = BigInt(((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0);
      return m[1] === 'ip4.dst' || m[1] === 'arp.tpa' ? (f) => f.nw_dst === v : (f) => f.nw_src === v;
    },
  ],
];

/**
 * The `&&` conjuncts of a match text, looking into conjuncts wholly in parentheses; a part with
 * a `||` at its top level is left out (it states nothing on its own).
 */
function conjuncts(text: string, out: string[] = []): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '(' || c === '{') depth++;
    else if (c === ')' || c === '}') depth--;
    else if (depth === 0 && (c === '&' || c === '|') && text[i + 1] === c) {
      if (c === '|') return out;
      parts.push(text.slice(start, i).trim());
      start = i + 2;
      i++;
    }
  }
  parts.push(text.slice(start).trim());
  for (const p of parts) {
    if (p.startsWith('(') && closingParen(p) === p.length - 1) conjuncts(p.slice(1, -1), out);
    else out.push(p);
  }
  return out;
}

/** Index of the parenthesis closing the one at 0 (quotes skipped), or -1. */
function closingParen(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/**
 * A cheap necessary condition read from a match's text, before it is parsed: the exact tests of
 * logical ports (by name or port group), Ethernet or IPv4 addresses that stand as conjuncts of
 * the whole match (`inport == "p" && ...`, `reg0[7] == 1 && (outport == @pg && ...)`,
 * `ip4.dst == 10.0.0.1 && ...`). A packet that fails one cannot match the flow, so a lookup
 * skips the flow without preparing it; a packet that passes still goes through the full
 * predicate. Undefined when the text states none. A port name unknown in `dp` matches nothing,
 * as in `compileMatch`; `group` gives a port group's member names.
 */
export function matchPrecheck(
  text: string,
  ports: ReadonlyMap<string, TracePort>,
  dp: TraceDatapath,
  group: (name: string) => readonly string[] | undefined = () => undefined,
): MatchPredicate | undefined {
  const key = (name: string) => portKeyIn(ports, dp, name);
  const tests: MatchPredicate[] = [];
  for (const t of conjuncts(text)) {
    for (const [re, make] of PINS) {
      const m = re.exec(t);
      if (!m) continue;
      const p = make(m, key, group);
      if (p === 'never') return no;
      if (p) tests.push(p);
      break;
    }
  }
  if (tests.length === 0) return undefined;
  if (tests.length === 1) return tests[0];
  return (f) => {
    for (const t of tests) if (!t(f)) return false;
    return true;
  };
}
