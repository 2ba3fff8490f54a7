import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConjunctionTable, Match, W, field, parseMatch, referenceConjunctiveLookup, type ConjClause, type ConjRule } from '@ovnts/openflow';

const F = ['reg0', 'reg1', 'reg2'].map((n) => field(n));

interface Gen {
  soft: Array<{ f: number; v: number; mask: number; p: number; conj: ConjClause[] }>;
  hard: Array<{ conjId: number; p: number; reg3: number }>;
}

function build(g: Gen): ConjRule<string>[] {
  const rules: ConjRule<string>[] = [];
  g.soft.forEach((s, i) => {
    const m = new Match().set(F[s.f]!, BigInt(s.v & s.mask), BigInt(s.mask));
    rules.push({ match: m, priority: s.p, conj: s.conj, payload: `s${i}` });
  });
  g.hard.forEach((h, i) => {
    const m = new Match();
    if (h.conjId) m.set(field('conj_id'), BigInt(h.conjId));
    if (h.reg3 >= 0) m.set(field('reg3'), BigInt(h.reg3));
    rules.push({ match: m, priority: h.p, conj: null, payload: `h${i}` });
  });
  return rules;
}

/** Fast engine + a linear hard lookup standing in for the pipeline's classifier. */
function fast(rules: ConjRule<string>[], key: Uint32Array): string | null {
  const ct = new ConjunctionTable<string>();
  const hard = rules.filter((r) => !r.conj);
  for (const r of rules) if (r.conj) ct.insert(r.match, r.priority, r.conj, r.payload);
  const lookup = (k: Uint32Array): ConjRule<string> | null => {
    let best: ConjRule<string> | null = null;
    for (const r of hard) if (r.match.matches(k) && (!best || r.priority > best.priority)) best = r;
    return best;
  };
  const h = lookup(key);
  const got = ct.resolve(key, h ? h.priority : -1, (id) => lookup(ct.withConjId(key, id)));
  return (got ?? h)?.payload ?? null;
}

// One n per id (OVS leaves mixing n for one id at one priority to subtable order).
const clause = fc.integer({ min: 1, max: 3 }).chain((id) => fc.integer({ min: 1, max: id + 1 }).map((k) => ({ id, clause: k, nClauses: id + 1 })));
const genArb: fc.Arbitrary<Gen> = fc.record({
  soft: fc.array(
    fc.record({
      f: fc.integer({ min: 0, max: 2 }), v: fc.integer({ min: 0, max: 3 }), mask: fc.constantFrom(3, 1, 2),
      p: fc.integer({ min: 1, max: 4 }).map((x) => x * 10), conj: fc.array(clause, { minLength: 1, maxLength: 3 }),
    }),
    { maxLength: 12 },
  ),
  hard: fc.array(
    fc.record({ conjId: fc.integer({ min: 0, max: 3 }), p: fc.integer({ min: 0, max: 45 }), reg3: fc.integer({ min: -1, max: 1 }) }),
    { maxLength: 6 },
  ),
});

describe('conjunctive matches', () => {
  it('fast engine agrees with the reference (soft and hard matches never identical)', () => {
    fc.assert(
      fc.property(genArb, fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }), (g, regs) => {
        // Drop duplicate (match, priority) soft rules: a switch holds one flow per match+priority.
        const seen = new Set<string>();
        g.soft = g.soft.filter((s) => {
          const k = `${s.f}/${s.v & s.mask}/${s.mask}/${s.p}`;
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        });
        const hs = new Set<string>();
        g.hard = g.hard.filter((h) => {
          const k = `${h.conjId}/${h.reg3}/${h.p}`;
          if (hs.has(k)) return false;
          hs.add(k);
          return true;
        });
        const rules = build(g);
        const key = new Uint32Array(new Match().value.length);
        for (let i = 0; i < 4; i++) key[W.regs + i] = regs[i]!;
        const ref = referenceConjunctiveLookup(rules, key);
        expect(fast(rules, key)).toBe(ref?.payload ?? null);
      }),
      { numRuns: 2000 },
    );
  });

  it('the textbook example (ovs-fields(7)): 2 dimensions, the conj_id flow, a lower hard flow', () => {
    const r = (m: string, p: number, conj: ConjClause[] | null, payload: string): ConjRule<string> => ({ match: parseMatch(m), priority: p, conj, payload });
    const rules = [
      r('ip,nw_src=10.0.0.1', 100, [{ id: 1, clause: 1, nClauses: 2 }], 'src1'),
      r('ip,nw_src=10.0.0.4', 100, [{ id: 1, clause: 1, nClauses: 2 }], 'src4'),
      r('tcp,tp_dst=80', 100, [{ id: 1, clause: 2, nClauses: 2 }], 'dst80'),
      r('conj_id=1,ip', 100, null, 'allow'),
      r('ip', 1, null, 'default'),
    ];
    const key = (src: string, dport: number): Uint32Array => {
      const k = new Uint32Array(new Match().value.length);
      const m = parseMatch(`tcp,nw_src=${src},tp_dst=${dport}`);
      k.set(m.value);
      return k;
    };
    expect(referenceConjunctiveLookup(rules, key('10.0.0.4', 80))?.payload).toBe('allow');
    expect(fast(rules, key('10.0.0.4', 80))).toBe('allow');
    expect(fast(rules, key('10.0.0.4', 81))).toBe('default');
    expect(fast(rules, key('10.0.0.2', 80))).toBe('default');
  });

  it('reference: a soft flow hides a lower hard flow with the identical match in the conj_id re-lookup (OVS subtables)', () => {
    const m = parseMatch('reg0=1');
    const rules: ConjRule<string>[] = [
      { match: m, priority: 100, conj: [{ id: 5, clause: 1, nClauses: 2 }, { id: 5, clause: 2, nClauses: 2 }], payload: 'soft' },
      { match: parseMatch('reg1=1'), priority: 100, conj: [{ id: 6, clause: 1, nClauses: 2 }], payload: 'pad' },
      { match: m.clone(), priority: 50, conj: null, payload: 'hidden' },
      { match: parseMatch('conj_id=5'), priority: 10, conj: null, payload: 'conj5' },
    ];
    const key = new Uint32Array(m.value.length);
    key[W.regs] = 1;
    key[W.regs + 1] = 1;
    expect(referenceConjunctiveLookup(rules, key)?.payload).toBe('conj5');
    expect(fast(rules, key)).toBe('hidden'); // the documented divergence of the fast engine
  });

  it('removal keeps the index consistent', () => {
    const ct = new ConjunctionTable<string>();
    ct.insert(parseMatch('reg0=1'), 10, [{ id: 1, clause: 1, nClauses: 2 }], 'a');
    ct.insert(parseMatch('reg1=1'), 10, [{ id: 1, clause: 2, nClauses: 2 }], 'b');
    const key = new Uint32Array(new Match().value.length);
    key[W.regs] = 1;
    key[W.regs + 1] = 1;
    expect(ct.resolve(key, -1, (id) => `conj${id}`)).toBe('conj1');
    expect(ct.remove('b')).toBe(true);
    expect(ct.resolve(key, -1, (id) => `conj${id}`)).toBeNull();
    expect(ct.maxPriority).toBe(10);
    ct.remove('a');
    expect(ct.maxPriority).toBe(-1);
    expect(ct.size).toBe(0);
  });
});
