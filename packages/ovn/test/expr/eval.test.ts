/**
 * Properties of the expression pipeline, by direct evaluation on symbolic packets:
 * - exhaustively over small fields (every packet of a 3-bit, a 2-bit, a 2-bit nominal field and a
 *   port name), for random expressions: the annotated expression, its simplification, its
 *   normal form and the flows/conjunctive matches of that form all agree; and annotation does not
 *   change the verdict on packets that meet the prerequisites;
 * - randomly over OVN's real fields (ports, prefixes, sets, ranges).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ExprError,
  SymbolTable,
  annotate,
  compileExpr,
  evaluate,
  evaluateConditions,
  formatExpr,
  matchesForm,
  normalize,
  packetOf,
  parseExprText,
  simplify,
  toMatchForm,
  type Expr,
  type OvsField,
  type Packet,
} from '@ovnts/ovn';
import { uniqueSymbol } from '@ovnts/ovn/internal';

const F = (name: string, width: number, maskable: boolean): OvsField => ({ nxm: name.toUpperCase(), name, width, maskable });

/** A small symbol table: a (3 bits), b (2 bits, needs a[2]), n (2 bits, nominal), s (string). */
function smallSymtab(): SymbolTable {
  const t = new SymbolTable();
  t.addField('a', F('a', 3, true));
  t.addSubfield('a.lo', undefined, 'a[0..1]');
  t.addSubfield('a.hi', undefined, 'a[2]');
  t.addField('b', F('b', 2, true), 'a.hi');
  t.addField('n', F('n', 2, false), undefined, true);
  t.addString('s', F('s', 32, true));
  t.addPredicate('pa', 'a[0] && b == 1');
  t.addPredicate('pn', 'n == 1 || n == 2');
  return t;
}
const T = smallSymtab();

const allPackets: Packet[] = [];
for (let a = 0; a < 8; a++)
  for (let b = 0; b < 4; b++)
    for (let n = 0; n < 4; n++) for (const s of ['x', 'y', 'z']) allPackets.push({ a, b, n, s });

const k = (max: number) => fc.integer({ min: 0, max });
const relop = fc.constantFrom('==', '!=', '<', '<=', '>', '>=');
const eqop = fc.constantFrom('==', '!=');

const atom: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(relop, k(7)).map(([r, v]) => `a ${r} ${v}`),
  fc.tuple(relop, k(3)).map(([r, v]) => `b ${r} ${v}`),
  fc.tuple(relop, k(3)).map(([r, v]) => `a.lo ${r} ${v}`),
  fc.tuple(k(2), k(2), relop, k(3)).map(([i, j, r, v]) => `a[${Math.min(i, j)}..${Math.max(i, j)}] ${r} ${v}`),
  fc.tuple(eqop, fc.array(k(7), { minLength: 0, maxLength: 3 })).map(([r, vs]) => `a ${r} {${vs.join(', ')}}`),
  fc.tuple(k(7), k(7)).map(([v, m]) => `a == ${v}/${m}`),
  fc.tuple(k(7), k(7)).map(([v, m]) => `a != 0x${v.toString(16)}/0x${m.toString(16)}`),
  fc.tuple(fc.constantFrom('<', '<='), k(7), fc.constantFrom('<', '<='), k(7)).map(([r1, x, r2, y]) => `${x} ${r1} a ${r2} ${y}`),
  fc.tuple(fc.constantFrom('', '!'), fc.constantFrom('a.hi', 'a[0]', 'b[1]', 'pa')).map(([n, f]) => `${n}${f}`),
  fc.array(k(3), { minLength: 1, maxLength: 3 }).map((vs) => `n == {${vs.join(', ')}}`),
  k(3).map((v) => `n == ${v}`),
  fc.constant('pn'),
  fc.tuple(eqop, fc.constantFrom('"x"', '"y"', '{"x", "y"}', '{"y", "z"}')).map(([r, v]) => `s ${r} ${v}`),
  fc.constantFrom('1', '0', 'is_chassis_resident("x")', '!is_chassis_resident("y")'),
);

const exprText: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    fc.tuple(tie('e'), fc.constantFrom('&&', '||'), tie('e')).map(([x, op, y]) => `(${x}) ${op} (${y})`),
    fc.tuple(tie('e'), tie('e'), tie('e')).map(([x, y, z]) => `(${x}) && (${y}) && (${z})`),
    tie('e').map((x) => `!(${x})`),
  ),
})).e;

/** Parses with the small table, or undefined when OVN would reject the text (nominal misuse etc.). */
function tryParse(s: string): Expr | undefined {
  try {
    return parseExprText(s, { symtab: T });
  } catch (e) {
    if (e instanceof ExprError) return undefined;
    throw e;
  }
}

const resident = (p: string) => p === 'x';
const ev = (e: Expr, p: Packet) => evaluate(e, p, { symtab: T, isChassisResident: resident });

/** Normal form shape: bool | cmp | AND of (cmp | single-symbol OR) | OR of those. */
function isNormalized(e: Expr): boolean {
  const clause = (t: Expr) => t.type === 'cmp' || (t.type === 'or' && !!uniqueSymbol(t) && t.terms.every((c) => c.type === 'cmp'));
  const conj = (t: Expr) => t.type === 'cmp' || (t.type === 'and' && t.terms.every(clause));
  if (e.type === 'bool' || conj(e)) return true;
  return e.type === 'or' && e.terms.every(conj);
}

describe('evaluation equals normalisation, exhaustively over small fields', () => {
  it('annotated == simplified == normalised == flows, on every packet', () => {
    let parsed = 0;
    fc.assert(
      fc.property(exprText, (text) => {
        const p = tryParse(text);
        if (!p) return;
        parsed++;
        const a = annotate(p, T);
        const s = evaluateConditions(simplify(a), resident);
        const n = normalize(s);
        expect(isNormalized(n), formatExpr(n)).toBe(true);
        const form = toMatchForm(n);
        for (const pkt of allPackets) {
          const want = ev(a, pkt);
          expect(ev(s, pkt), `${text} simplified`).toBe(want);
          expect(ev(n, pkt), `${text} normalised: ${formatExpr(n)}`).toBe(want);
          expect(matchesForm(form, pkt), `${text} flows`).toBe(want);
        }
      }),
      { numRuns: 400 },
    );
    expect(parsed).toBeGreaterThan(200);
  });

  it('annotation keeps the verdict wherever prerequisites hold', () => {
    fc.assert(
      fc.property(exprText, (text) => {
        const p = tryParse(text);
        if (!p) return;
        const a = annotate(p, T);
        for (const pkt of allPackets) {
          if (((pkt as { a: number }).a & 4) === 0) continue; // b's prerequisite a.hi
          expect(ev(a, pkt), text).toBe(ev(p, pkt));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('parse(format(e)) is e', () => {
    fc.assert(
      fc.property(exprText, (text) => {
        const p = tryParse(text);
        if (!p) return;
        expect(parseExprText(formatExpr(p), { symtab: T })).toEqual(p);
      }),
      { numRuns: 400 },
    );
  });
});

describe('normalisation details', () => {
  it('produces conjunctive matches for set products and crossproducts nominal dimensions', () => {
    const form = toMatchForm(compileExpr('ip4.src == {1.1.1.1, 2.2.2.2} && tcp.dst == {1, 2, 3}'));
    expect(form.flows).toEqual([]);
    expect(form.conjunctions).toHaveLength(1);
    expect(form.conjunctions[0]!.match.map((c) => c.symbol.name).sort()).toEqual(['eth.type', 'ip.proto']);
    expect(form.conjunctions[0]!.dimensions.map((d) => [d[0]!.symbol.name, d.length])).toEqual([
      ['ip4.src', 2],
      ['tcp.dst', 3],
    ]);
    // ip.proto must be crossproducted (never a dimension): two flows groups, one per protocol.
    const f2 = toMatchForm(compileExpr('ip4 && ip.proto == {6, 17} && ip4.dst == {1.1.1.1, 2.2.2.2}'));
    expect(f2.conjunctions).toEqual([]);
    expect(f2.flows).toHaveLength(4);
    // One dimension: plain flows.
    expect(toMatchForm(compileExpr('ip4 && ip4.dst == {1.1.1.1, 2.2.2.2}')).flows).toHaveLength(2);
    expect(toMatchForm(compileExpr('0'))).toEqual({ flows: [], conjunctions: [] });
    expect(toMatchForm(compileExpr('1'))).toEqual({ flows: [[]], conjunctions: [] });
  });

  it('crushes redundant and contradictory terms', () => {
    expect(formatExpr(compileExpr('reg0 == 1 && reg0[0] == 1 && reg0 == {1, 2}'))).toBe('xxreg0[96..127] == 0x1');
    expect(formatExpr(compileExpr('reg0 == 1 && reg0 == 2'))).toBe('0');
    expect(formatExpr(compileExpr('inport == {"a", "b"} && inport == {"b", "c"}'))).toBe('inport == "b"');
    expect(formatExpr(compileExpr('ip4 && tcp.src > 79 && tcp.src < 82'))).toBe(
      'eth.type == 0x800 && ip.proto == 0x6 && tcp.src[1..15] == 0x28',
    );
  });

  it('stops crossproducts that exceed the term budget', () => {
    const sets = (f: string) => `${f} == {${Array.from({ length: 40 }, (_, i) => i + 1).join(', ')}}`;
    const text = `ip4 && (${sets('tcp.dst')} || ${sets('udp.dst')}) && (${sets('ip4.src')} || ${sets('ip4.dst')})`;
    expect(() => compileExpr(text, {}, { maxTerms: 1000 })).toThrow(/too large to normalize/);
    expect(() => compileExpr(text)).not.toThrow();
  });
});

describe('evaluation on OVN fields (random)', () => {
  const texts = [
    'ip4.src == 10.0.0.0/8 && tcp.dst == {80, 443}',
    'ip4 && tcp && 1024 <= tcp.dst <= 49151',
    'ip4.dst == $as && !(tcp.src == 0x50/0xfff0)',
    'inport == @pg && (ip4.src != 10.1.0.0/16 || udp.dst > 1000)',
    'ct.est && !ct.rel && ct_mark.blocked == 0 && (ip4 || ip6)',
    'reg0[0..7] == 0x21 || xxreg0 == 0 || flags.loopback',
    'eth.dst[40] && vlan.vid == 10 && vlan.pcp < 5',
    'ip6.dst == fe80::/10 && icmp6.type == {133, 134, 135}',
    '!(ip4.src == 10.0.0.1 && ip4.dst == 10.0.0.2) && ip4 && ip.ttl == 64',
    'arp.op == 1 && arp.tpa == {10.0.0.1, 10.0.0.2} && eth.bcast',
  ];
  const ctx = { addressSets: { as: ['10.0.0.1', '10.0.0.0/24', '192.168.1.1'] }, portGroups: { pg: ['p1', 'p2'] } };
  const packet = fc
    .record({
      'eth.type': fc.constantFrom(0x800, 0x86dd, 0x806),
      'eth.dst': fc.constantFrom(0xffffffffffffn, 0x010000000001n, 0x020000000001n),
      'vlan.tci': fc.integer({ min: 0, max: 0xffff }),
      'ip.proto': fc.constantFrom(6, 17, 58),
      'ip.ttl': fc.constantFrom(63, 64),
      'ip4.src': fc.constantFrom(0x0a000001, 0x0a010203, 0x0a000002, 0xc0a80101, 0x08080808),
      'ip4.dst': fc.constantFrom(0x0a000001, 0x0a000002, 0x0a0000ff, 0xc0a80101),
      'arp.op': fc.constantFrom(1, 2),
      'arp.tpa': fc.constantFrom(0x0a000001, 0x0a000003),
      'ip6.dst': fc.constantFrom(0xfe800000000000000000000000000001n, 0x20010db8000000000000000000000001n),
      'icmp6.type': fc.constantFrom(128, 133, 135),
      'tcp.src': fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0x50, 0x5f, 0x60)),
      'tcp.dst': fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(80, 443, 1023, 1024, 49151, 49152)),
      'udp.dst': fc.integer({ min: 0, max: 0xffff }),
      ct_state: fc.integer({ min: 0, max: 0xff }),
      ct_mark: fc.integer({ min: 0, max: 3 }),
      xxreg0: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })),
      flags: fc.integer({ min: 0, max: 3 }),
      inport: fc.constantFrom('p1', 'p2', 'p3'),
    })
    .map((r) => new Map(Object.entries(r)) as Packet);

  it.each(texts)('%s', (text) => {
    const a = annotate(parseExprText(text, ctx));
    const n = compileExpr(text, ctx);
    expect(isNormalized(n)).toBe(true);
    const form = toMatchForm(n);
    fc.assert(
      fc.property(packet, (pkt) => {
        const want = evaluate(a, pkt);
        expect(evaluate(n, pkt)).toBe(want);
        expect(matchesForm(form, pkt)).toBe(want);
      }),
      { numRuns: 300 },
    );
  });

  it('builds packets from subfield names', () => {
    const p = packetOf({ reg0: 5, 'vlan.vid': 10, 'vlan.pcp': 3, 'ct.est': 1, 'ct.trk': 1, inport: 'p1' });
    expect(p.get('xxreg0')).toBe(5n << 96n);
    expect(p.get('vlan.tci')).toBe((3n << 13n) | 10n);
    expect(p.get('ct_state')).toBe(0x22n);
    expect(evaluate(parseExprText('reg0 == 5 && vlan.vid == 10 && ct.est && inport == "p1"'), p)).toBe(true);
    expect(evaluate(parseExprText('vlan.present'), p)).toBe(false);
  });
});
