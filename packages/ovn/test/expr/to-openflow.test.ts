/**
 * Expression → OpenFlow conversion (OVN's expr_to_matches):
 * - goldens: every "converting expressions to flows" case of OVN 23.03's tests/ovn.at (the output
 *   of `ovstest test-ovn expr-to-flows`), and the OpenFlow flows ovn-controller installs for an
 *   ACL in the ovn.at port-group/conjunction test;
 * - the property: an expression evaluated directly on a symbolic packet (with its prerequisites,
 *   i.e. annotated) equals "some compiled flow matches the packet's flow key" in our classifier,
 *   with conjunction flows resolved by @ovnts/openflow's ConjunctionTable (and checked against
 *   its literal reference engine): exhaustively over small fields, randomly over full-width ones;
 * - unit cases for merging, unknown ports, conj id offsets and crossproduct vs conjunction;
 * - real `ovs-ofctl parse-flows` reads the flows as we print them (skipped without OVS).
 * The property tests print their counts (expressions, flows, packets compared, conj hits).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Classifier,
  FIELDS,
  ConjunctionTable,
  FlowKey,
  W,
  field,
  formatMatch,
  parseFlow,
  parseMatch,
  referenceConjunctiveLookup,
  type ConjRule,
} from '@ovnts/openflow';
import {
  ExprError,
  annotate,
  evaluate,
  exprToOpenFlow,
  formatExprFlow,
  formatExprMatches,
  openflowField,
  ovnSymtab,
  parseExprText,
  resolveField,
  type Expr,
  type ExprContext,
  type ExprFlow,
  type ExprFlows,
  type PacketValue,
} from '@ovnts/ovn';
import { Excuses, requireTools } from '@ovnts/testkit';

const here = fileURLToPath(new URL('.', import.meta.url));
const symtab = ovnSymtab();

// ------------------------------------------------------------------------------------------
// Goldens from OVN's test suite.

/** tests/test-ovn.c's context for expr-to-flows. */
const testOvnCtx: ExprContext = {
  addressSets: {
    set1: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    set2: ['::1', '::2', '::3'],
    set3: ['00:00:00:00:00:01', '00:00:00:00:00:02', '00:00:00:00:00:03'],
    set4: [],
  },
  portGroups: { pg1: ['lsp1', 'lsp2', 'lsp3'], pg_empty: [] },
};
const testOvnPorts: Record<string, number> = { eth0: 5, eth1: 6, LOCAL: 0xfffe, lsp1: 0x11, lsp2: 0x12, lsp3: 0x13 };
const testOvnKeys = (n: string): number | undefined => (Object.hasOwn(testOvnPorts, n) ? testOvnPorts[n] : undefined);

function readGolden(): { section: string; input: string; want: string[] }[] {
  const lines = readFileSync(`${here}to-openflow.golden`, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const cases: { section: string; input: string; want: string[] }[] = [];
  let section = '';
  for (const l of lines) {
    if (l.startsWith('# tests/ovn.at: ')) section = l.slice(16);
    else if (l.startsWith('#')) continue;
    else if (l.startsWith('> ')) cases.push({ section, input: l.slice(2), want: [] });
    else cases[cases.length - 1]!.want.push(l);
  }
  return cases;
}
const goldens = readGolden();

const sorted = (a: string[]): string[] => [...a].sort();

describe('OVN tests/ovn.at expr-to-flows goldens', () => {
  it('has every case', () => {
    expect(goldens.length).toBe(33);
  });
  it.each(goldens.map((g) => [`${g.section}: ${g.input}`, g] as const))('%s', (_, g) => {
    const got = formatExprMatches(exprToOpenFlow(g.input, { ...testOvnCtx, portKeys: testOvnKeys }));
    expect(sorted(got)).toEqual(sorted(g.want));
  });
});

describe('OVN tests/ovn.at: flows ovn-controller installs for a port-group ACL', () => {
  // "ovn-controller: port group update ..." test: ACL on pg1 (to-lport, priority 1002, allow-related)
  // `outport == @pg1 && ip4 && ip4.src == $pg2_ip4 && udp && udp.dst >= 1 && udp.dst <= 65535`; northd
  // 23.03 makes two ls_out_acl flows at priority 2002: `reg0[7] == 1 && (M)` and `reg0[8] == 1 && (M)`.
  // hv1 binds sw0-p1 and sw0-p2 only, so ovn-controller resolves just those two ports; pg2 = sw0-p4.
  const want = readFileSync(`${here}to-openflow-pg-acl.golden`, 'utf8').trimEnd().split('\n');
  it('matches the conjunction flows of both logical flows', () => {
    const ctx: ExprContext = {
      addressSets: { pg2_ip4: ['192.168.47.4'] },
      portGroups: { pg1: ['sw0-p1', 'sw0-p2', 'sw0-p3', 'sw0-p4'] },
    };
    const keys: Record<string, number> = { 'sw0-p1': 3, 'sw0-p2': 4 };
    const m = 'outport == @pg1 && ip4 && ip4.src == $pg2_ip4 && udp && udp.dst >= 1 && udp.dst <= 65535';
    const got: string[] = [];
    let base = 0;
    for (const bit of [7, 8]) {
      const r = exprToOpenFlow(`reg0[${bit}] == 1 && (${m})`, { ...ctx, portKeys: (n) => keys[n], conjIdBase: base });
      base += r.conjIds.length;
      for (const f of r.flows) {
        f.match.set(field('metadata'), 1n); // ovn-controller adds the datapath
        if (!f.conjunctions) continue; // the test greps "conjunction"
        got.push(` table=46, ${formatExprFlow(f, '', 2002)}`);
      }
    }
    const norm = (s: string) => s.replace(/conjunction\([^)]*\)/g, 'conjunction()').replace(/reg15=0x[1-9]/g, 'reg15=0xN');
    expect(sorted(got.map(norm))).toEqual(sorted(want));
  });
});

// ------------------------------------------------------------------------------------------
// The classifier verdict.

const PRI = 100;
/** Random expressions per property. */
const SMALL_RUNS = 1000;
const RANDOM_RUNS = 500;
/** Largest compiled expression replayed through the classifier. */
const MAX_FLOWS = 400;

/** The compiled flows loaded into our classifier (hard flows) and ConjunctionTable (soft flows). */
function tables(flows: ExprFlow[]) {
  const cls = new Classifier<ExprFlow>();
  const conj = new ConjunctionTable<ExprFlow>();
  const rules: ConjRule<ExprFlow>[] = [];
  for (const f of flows) {
    if (f.conjunctions) conj.insert(f.match, PRI, f.conjunctions, f);
    else cls.insert(f.match, PRI, f);
    rules.push({ match: f.match, priority: PRI, conj: f.conjunctions ?? null, payload: f });
  }
  return {
    /** The pipeline's way: hard lookup, then conjunctive resolution with conj_id re-lookups. */
    fast(w: Uint32Array): ExprFlow | null {
      const hard = cls.lookup(w);
      if (hard) return hard.payload;
      const r = conj.resolve(w, -1, (id) => {
        const save = w[W.conj_id]!;
        w[W.conj_id] = id;
        const x = cls.lookup(w);
        w[W.conj_id] = save;
        return x;
      });
      return r ? r.payload : null;
    },
    /** OVS's classifier, literally (slow). */
    reference(w: Uint32Array): ExprFlow | null {
      return referenceConjunctiveLookup(rules, w)?.payload ?? null;
    },
  };
}

/** The flow key of a symbolic packet (base field names → values), through openflow's setters. */
function keyOf(packet: ReadonlyMap<string, PacketValue>, portKeys: (n: string) => number | undefined): FlowKey {
  const key = new FlowKey();
  for (const [name, v] of packet) {
    const s = symtab.get(name)!;
    const f = openflowField(resolveField(s).field);
    if (typeof v === 'string') key.setBig(f, BigInt(portKeys(v) ?? 0));
    else key.setBig(f, BigInt(v));
  }
  return key;
}

/** Packet field names aliasing one OVS storage slot get the same value (OVS has one `tp_src`). */
const TP_SRC = ['tcp.src', 'udp.src', 'sctp.src'];
const TP_DST = ['tcp.dst', 'udp.dst', 'sctp.dst'];

// ------------------------------------------------------------------------------------------
// Exhaustive property over small fields.

const smallCtx: ExprContext = {
  addressSets: { as1: ['10.0.0.1', '10.0.0.2'], as2: ['10.0.0.0/31', '10.0.0.3'], empty: [] },
  portGroups: { pg1: ['p1', 'p3', 'px'], pg2: ['p2', 'p3'] },
};
const smallPorts: Record<string, number> = { p1: 1, p2: 2, p3: 3 };
const smallKeys = (n: string): number | undefined => smallPorts[n];

/** Each dimension of the small packet space: its values, and how it writes a symbolic packet. */
interface Dim {
  name: string;
  /** Base symbols whose mention makes this dimension relevant. */
  bases: string[];
  values: PacketValue[];
  write: (p: Map<string, PacketValue>, v: PacketValue) => void;
}
const setAll = (names: string[]) => (p: Map<string, PacketValue>, v: PacketValue) => {
  for (const n of names) p.set(n, v);
};
const regBits = (p: Map<string, PacketValue>, ofs: bigint, width: bigint, v: PacketValue) => {
  const old = BigInt((p.get('xxreg0') as bigint | undefined) ?? 0n);
  const m = ((1n << width) - 1n) << ofs;
  p.set('xxreg0', (old & ~m) | ((BigInt(v) << ofs) & m));
};
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const DIMS: Dim[] = [
  { name: 'eth.type', bases: ['eth.type'], values: [0, 0x800, 0x86dd, 0x806], write: setAll(['eth.type']) },
  { name: 'ip.proto', bases: ['ip.proto'], values: [0, 1, 6, 17], write: setAll(['ip.proto']) },
  { name: 'tp_src', bases: [...TP_SRC, 'icmp4.type'], values: range(4), write: setAll([...TP_SRC, 'icmp4.type']) },
  { name: 'tp_dst', bases: [...TP_DST, 'icmp4.code'], values: range(4), write: setAll([...TP_DST, 'icmp4.code']) },
  // reg0 = xxreg0[96..127], reg1 = xxreg0[64..95]: 4 low bits of reg0, 2 of reg1.
  { name: 'reg0', bases: ['xxreg0'], values: range(16), write: (p, v) => regBits(p, 96n, 4n, v) },
  { name: 'reg1', bases: ['xxreg0'], values: range(4), write: (p, v) => regBits(p, 64n, 2n, v) },
  { name: 'reg9', bases: ['xreg4'], values: range(2), write: setAll(['xreg4']) },
  {
    name: 'ip4.src',
    bases: ['ip4.src'],
    values: [0x0a000000, 0x0a000001, 0x0a000002, 0x0a000003, 0x0a000101],
    write: setAll(['ip4.src']),
  },
  { name: 'inport', bases: ['inport'], values: ['', 'p1', 'p2', 'p3'], write: (p, v) => (v ? p.set('inport', v) : p.delete('inport')) },
  { name: 'outport', bases: ['outport'], values: ['', 'p1', 'p2', 'p3'], write: (p, v) => (v ? p.set('outport', v) : p.delete('outport')) },
  // ct_state bits new(0), est(1), trk(5).
  { name: 'ct_state', bases: ['ct_state'], values: [0, 1, 2, 3, 0x20, 0x21, 0x22, 0x23], write: setAll(['ct_state']) },
];

/** The base symbols an expression (annotated) mentions. */
function basesOf(e: Expr, out = new Set<string>()): Set<string> {
  if (e.type === 'cmp') {
    let s = e.symbol;
    while (s.parent) s = s.parent;
    out.add(s.name);
  } else if (e.type === 'and' || e.type === 'or') for (const t of e.terms) basesOf(t, out);
  return out;
}

const k = (max: number) => fc.integer({ min: 0, max });
const relop = fc.constantFrom('==', '!=', '<', '<=', '>', '>=');
const eqop = fc.constantFrom('==', '!=');
const set = (max: number) => fc.array(k(max), { minLength: 1, maxLength: 3 }).map((vs) => `{${vs.join(', ')}}`);
const smallAtom: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(relop, k(15)).map(([r, v]) => `reg0[0..3] ${r} ${v}`),
  fc.tuple(k(3), k(3), relop, k(7)).map(([i, j, r, v]) => `reg0[${Math.min(i, j)}..${Math.max(i, j)}] ${r} ${v}`),
  fc.tuple(eqop, set(15)).map(([r, s]) => `reg0[0..3] ${r} ${s}`),
  fc.tuple(eqop, k(15), k(15)).map(([r, v, m]) => `reg0 ${r} ${v}/${m}`),
  fc.tuple(relop, k(3)).map(([r, v]) => `reg1[0..1] ${r} ${v}`),
  fc.tuple(eqop, k(1)).map(([r, v]) => `reg9[0] ${r} ${v}`),
  fc.constantFrom('reg1[1]', '!reg1[0]', 'reg9[0]'),
  fc.tuple(fc.constantFrom('tcp', 'udp'), fc.constantFrom('src', 'dst'), relop, k(3)).map(([p, d, r, v]) => `${p}.${d} ${r} ${v}`),
  fc.tuple(fc.constantFrom('tcp', 'udp'), fc.constantFrom('src', 'dst'), eqop, set(3)).map(([p, d, r, s]) => `${p}.${d} ${r} ${s}`),
  fc.tuple(fc.constantFrom('tcp.dst', 'udp.src'), k(3), k(3)).map(([f, v, m]) => `${f} == ${v}/${m}`),
  fc.tuple(fc.constantFrom('icmp4.type', 'icmp4.code'), set(3)).map(([f, s]) => `${f} == ${s}`),
  fc.constantFrom('ip4', 'ip6', 'ip', 'arp', 'tcp', 'udp', 'icmp4', 'eth.type == {0x800, 0x806}', 'ip.proto == {6, 17}', 'ip.proto == 1'),
  fc.tuple(eqop, fc.constantFrom('$as1', '$as2', '{10.0.0.1, $empty}', '10.0.0.0/30', '{10.0.0.3, 10.0.1.1}', '$empty')).map(
    ([r, s]) => `ip4.src ${r} ${s}`,
  ),
  fc.tuple(fc.constantFrom('inport', 'outport'), fc.constantFrom('"p1"', '"px"', '{"p1", "p2"}', '@pg1', '@pg2', '{"px", "py"}')).map(
    ([f, s]) => `${f} == ${s}`,
  ),
  fc.constantFrom('ct.est', '!ct.new', 'ct.trk', 'ct.new && !ct.est'),
  fc.constantFrom('1', '0'),
);
/** Products of sets on different OVS fields: conjunctive matches. */
const smallProduct: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(set(15), fc.constantFrom('{0, 1}', '1', '{0}'), fc.constantFrom('$as1', '$as2', '{10.0.0.0, 10.0.0.3, 10.0.1.1}')).map(
    ([a, b, c]) => `reg0[0..3] == ${a} && reg9[0] == ${b} && ip4.src == ${c}`,
  ),
  fc.tuple(set(3), fc.constantFrom('@pg1', '@pg2', '{"p1", "px"}')).map(([a, p]) => `tcp.dst == ${a} && inport == ${p}`),
  fc.tuple(set(3), set(3)).map(([a, b]) => `udp.src == ${a} && udp.dst == ${b}`),
  fc.tuple(fc.constantFrom('@pg1', '@pg2'), fc.constantFrom('@pg1', '{"p3", "px"}'), set(3)).map(
    ([a, b, c]) => `inport == ${a} && outport == ${b} && reg1[0..1] == ${c}`,
  ),
  fc.tuple(set(7), set(3)).map(([a, b]) => `ct.trk && reg0[1..3] == ${a} && tcp.src == ${b}`),
);
const smallLeaf = fc.oneof({ arbitrary: smallAtom, weight: 3 }, { arbitrary: smallProduct, weight: 1 });
const smallExpr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    smallLeaf,
    tie('e').map((x) => `!(${x})`),
    fc.tuple(tie('e'), fc.constantFrom('&&', '||'), tie('e')).map(([x, op, y]) => `(${x}) ${op} (${y})`),
    fc.tuple(tie('e'), tie('e'), tie('e')).map(([x, y, z]) => `(${x}) && (${y}) && (${z})`),
  ),
})).e;

/** The packets of the small space that vary the dimensions `e` mentions (others as in `fixed`). */
function* smallPackets(e: Expr, fixed: number[], rnd: () => number): Generator<Map<string, PacketValue>> {
  const bases = basesOf(e);
  const dims = DIMS.map((d, i) => (d.bases.some((b) => bases.has(b)) ? d.values : [d.values[fixed[i]! % d.values.length]!]));
  const total = dims.reduce((n, d) => n * d.length, 1);
  const build = (pick: (i: number) => number) => {
    const p = new Map<string, PacketValue>();
    DIMS.forEach((d, i) => d.write(p, dims[i]![pick(i)]!));
    return p;
  };
  if (total <= 4096) {
    for (let n = 0; n < total; n++) {
      let r = n;
      yield build((i) => {
        const x = r % dims[i]!.length;
        r = Math.floor(r / dims[i]!.length);
        return x;
      });
    }
  } else for (let n = 0; n < 2048; n++) yield build((i) => Math.floor(rnd() * dims[i]!.length));
}

/** Compile, then compare direct evaluation with the classifier on every packet; returns counts. */
function compare(
  text: string,
  ctx: ExprContext,
  portKeys: (n: string) => number | undefined,
  packets: (e: Expr) => Iterable<Map<string, PacketValue>>,
  stats: Stats,
  referenceEvery = 16,
): void {
  let parsed: Expr;
  let annotated: Expr;
  let r: ExprFlows;
  try {
    parsed = parseExprText(text, ctx);
    annotated = annotate(parsed);
    const t0 = performance.now();
    r = exprToOpenFlow(parsed, { ...ctx, portKeys, maxTerms: 4000 });
    stats.msCompile += performance.now() - t0;
  } catch (e) {
    if (e instanceof ExprError && e.message.startsWith('Expression too large')) {
      stats.tooBig++;
      return;
    }
    if (e instanceof ExprError) {
      stats.refused++;
      return;
    }
    throw e;
  }
  // Our Classifier's insertion is quadratic in distinct masks (an openflow-package property):
  // expressions whose crossproducts reach hundreds of flows are compiled but not replayed.
  if (r.flows.length > MAX_FLOWS) {
    stats.tooBig++;
    return;
  }
  stats.exprs++;
  if (r.conjIds.length) stats.withConj++;
  stats.flows += r.flows.length;
  for (const f of r.flows) {
    // OVS would install a different match when the flow lacks a field's prerequisites (OVN emits
    // such flows for negated predicates with prerequisites, e.g. `!ip4.mcast`); count them.
    if (f.match.clone().normalize()) stats.ovsWidened++;
    // OVN's `!=` on a field OVS cannot mask (eth.type, ip.ttl...) yields one-bit compares, e.g.
    // `!ip4.mcast` gives `eth.type[i] != 0x800[i]`: our classifier matches them bit by bit, OVS's
    // text has no syntax for them; count them.
    else if (FIELDS.some((x) => !x.maskable && f.match.has(x) && f.match.getMask(x) !== (1n << BigInt(x.bits)) - 1n)) stats.ovsUnmaskable++;
    else if (!f.match.isCatchAll() && stats.exprs % 8 === 0) expect(parseMatch(formatMatch(f.match)).equals(f.match)).toBe(true);
  }
  let t1 = performance.now();
  const t = tables(r.flows);
  stats.msTables += performance.now() - t1;
  let n = 0;
  for (const p of packets(annotated)) {
    t1 = performance.now();
    const direct = evaluate(annotated, p);
    const t2 = performance.now();
    const key = keyOf(p, portKeys);
    const hit = t.fast(key.w);
    const t3 = performance.now();
    stats.msEval += t2 - t1;
    stats.msLookup += t3 - t2;
    if ((hit !== null) !== direct) {
      assert.fail(
        `${text}: direct ${direct}, classifier ${hit !== null} on ${JSON.stringify([...p], (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}\n` +
          formatExprMatches(r).join('\n'),
      );
    }
    // The literal engine is quadratic in the number of flows: use it on small tables.
    if (r.flows.length <= 150 && n++ % referenceEvery === 0) {
      const t4 = performance.now();
      expect(t.reference(key.w) !== null, `${text}: reference engine`).toBe(direct);
      stats.reference++;
      stats.msReference += performance.now() - t4;
    }
    if (hit?.conjId !== undefined) stats.viaConj++;
    if (direct) stats.positive++;
    stats.packets++;
  }
}

interface Stats {
  exprs: number;
  refused: number;
  tooBig: number;
  ovsWidened: number;
  ovsUnmaskable: number;
  withConj: number;
  flows: number;
  packets: number;
  positive: number;
  viaConj: number;
  reference: number;
  msCompile: number;
  msTables: number;
  msEval: number;
  msLookup: number;
  msReference: number;
}
const newStats = (): Stats => ({ exprs: 0, refused: 0, tooBig: 0, ovsWidened: 0, ovsUnmaskable: 0, withConj: 0, flows: 0, packets: 0, positive: 0, viaConj: 0, reference: 0, msCompile: 0, msTables: 0, msEval: 0, msLookup: 0, msReference: 0 });

/** Context of the full-width property. */
const wideCtx: ExprContext = {
  addressSets: {
    big4: ['10.0.0.0/8', '192.168.1.1', '172.16.0.0/12', '192.168.0.0/23'],
    big6: ['fd00::/8', '2001:db8::1', 'fe80::/10'],
    macs: ['00:00:00:00:00:01', '0a:00:00:00:00:00/ff:00:00:00:00:00'],
  },
  portGroups: { pgA: ['lsp1', 'lsp2', 'gone'], pgB: ['lsp3', 'lsp4'] },
};
const widePorts: Record<string, number> = { lsp1: 0x11, lsp2: 0x12, lsp3: 0x13, lsp4: 0x8001 };
const wideKeys = (n: string): number | undefined => widePorts[n];
const u = (bits: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n });
const ip4 = u(32).map((v) => [Number(v >> 24n), Number((v >> 16n) & 255n), Number((v >> 8n) & 255n), Number(v & 255n)].join('.'));
const wideAtom: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(relop, u(32)).map(([r, v]) => `reg0 ${r} ${v}`),
  fc.tuple(relop, u(16)).map(([r, v]) => `reg3[8..23] ${r} ${v}`),
  fc.tuple(eqop, u(64), u(64)).map(([r, v, m]) => `xreg1 ${r} 0x${v.toString(16)}/0x${m.toString(16)}`),
  fc.tuple(relop, u(128)).map(([r, v]) => `xxreg1 ${r} 0x${v.toString(16)}`),
  fc.tuple(relop, u(32)).map(([r, v]) => `reg8 ${r} ${v}`),
  fc.tuple(fc.constantFrom('tcp', 'udp', 'sctp'), fc.constantFrom('src', 'dst'), relop, u(16)).map(([p, d, r, v]) => `${p}.${d} ${r} ${v}`),
  fc.tuple(u(16), u(16)).map(([a, b]) => `tcp.dst >= ${a < b ? a : b} && tcp.dst <= ${a < b ? b : a}`),
  fc.tuple(fc.constantFrom('ip4.src', 'ip4.dst'), eqop, ip4, k(32)).map(([f, r, a, p]) => `${f} ${r} ${a}/${p}`),
  fc.tuple(fc.constantFrom('ip4.src', 'ip4.dst'), eqop).map(([f, r]) => `${f} ${r} $big4`),
  fc.tuple(eqop, fc.constantFrom('$big6', 'fd00::1', 'fe80::/64')).map(([r, s]) => `ip6.src ${r} ${s}`),
  fc.tuple(eqop, fc.constantFrom('$macs', '00:00:00:00:00:01', '{0a:00:00:00:00:01, 0a:00:00:00:00:02}')).map(([r, s]) => `eth.src ${r} ${s}`),
  fc.tuple(relop, k(4095)).map(([r, v]) => `vlan.vid ${r} ${v}`),
  fc.tuple(eqop, k(255)).map(([r, v]) => `ip.ttl ${r} ${v}`), // nominal: == and != only
  fc.tuple(eqop, u(32)).map(([r, v]) => `ct_label.label ${r} ${v}`),
  fc.tuple(relop, k(0xffff)).map(([r, v]) => `ct_mark.ecmp_reply_port ${r} ${v}`),
  fc.constantFrom('ct.est', 'ct.new', '!ct.rpl', 'ct.trk', 'ct_mark.blocked == 1', 'flags.loopback'),
  fc.constantFrom('ip4', 'ip6', 'tcp', 'udp', 'sctp', 'eth.bcast', 'eth.mcast', 'vlan.present', 'ip4.mcast'),
  fc.tuple(fc.constantFrom('inport', 'outport'), fc.constantFrom('"lsp1"', '@pgA', '@pgB', '{"lsp4", "gone"}', '"gone"')).map(
    ([f, s]) => `${f} == ${s}`,
  ),
  fc.tuple(fc.constantFrom('@pgA', '@pgB'), fc.constantFrom('$big4', '{1.2.3.4, 5.6.7.8}'), fc.constantFrom('{80, 443, 8080}', '{1, 2, 3}')).map(
    ([pg, as, ports]) => `inport == ${pg} && ip4.src == ${as} && tcp.dst == ${ports}`,
  ),
);
/** Expressions over full-width fields. */
const wideExpr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    wideAtom,
    tie('e').map((x) => `!(${x})`),
    fc.tuple(tie('e'), fc.constantFrom('&&', '||'), tie('e')).map(([x, op, y]) => `(${x}) ${op} (${y})`),
  ),
})).e;

describe('direct evaluation equals the compiled flows in our classifier', () => {
  it('exhaustively over small fields (every packet of the dimensions an expression mentions)', () => {
    const stats = newStats();
    fc.assert(
      fc.property(smallExpr, fc.array(k(15), { minLength: DIMS.length, maxLength: DIMS.length }), fc.integer(), (text, fixed, seed) => {
        let s = seed >>> 0 || 1;
        const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
        compare(text, smallCtx, smallKeys, (e) => smallPackets(e, fixed, rnd), stats);
      }),
      { numRuns: SMALL_RUNS },
    );
    console.log('exhaustive small-field property:', JSON.stringify(stats));
    expect(stats.exprs).toBeGreaterThan(SMALL_RUNS * 0.6);
    expect(stats.withConj).toBeGreaterThan(stats.exprs / 10);
    expect(stats.viaConj).toBeGreaterThan(1000);
    expect(stats.positive).toBeGreaterThan(stats.packets / 20);
  }, 120_000);

  it('randomly over full-width fields', () => {
    const stats = newStats();
    const portNames = ['', 'lsp1', 'lsp2', 'lsp3', 'lsp4'];
    /** Random packets biased towards the expression's own constants. */
    function* packets(e: Expr, rnd: () => number): Generator<Map<string, PacketValue>> {
      const consts = new Map<string, { value: bigint; mask: bigint; width: number }[]>();
      const walk = (x: Expr): void => {
        if (x.type === 'cmp' && x.symbol.width) {
          let s = x.symbol;
          let sh = 0n;
          while (s.parent) {
            sh += BigInt(s.parentOfs!);
            s = s.parent;
          }
          const list = consts.get(s.name) ?? [];
          list.push({ value: x.value << sh, mask: x.mask << sh, width: s.width });
          consts.set(s.name, list);
        } else if (x.type === 'and' || x.type === 'or') x.terms.forEach(walk);
      };
      walk(e);
      const rbig = (bits: number): bigint => {
        let v = 0n;
        for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(Math.floor(rnd() * 65536));
        return v & ((1n << BigInt(bits)) - 1n);
      };
      const valueFor = (name: string, width: number): bigint => {
        const cs = consts.get(name);
        if (!cs || rnd() < 0.15) return rbig(width);
        const c = cs[Math.floor(rnd() * cs.length)]!;
        let v = c.value | (rbig(width) & ~c.mask);
        const roll = rnd();
        if (roll < 0.2) v ^= 1n << BigInt(Math.floor(rnd() * width)); // flip a bit
        else if (roll < 0.3) v = (v + 1n) & ((1n << BigInt(width)) - 1n);
        else if (roll < 0.4) v = (v - 1n) & ((1n << BigInt(width)) - 1n);
        return v;
      };
      const fields: [string, number][] = [
        ['eth.type', 16], ['ip.proto', 8], ['ip4.src', 32], ['ip4.dst', 32], ['ip6.src', 128], ['eth.src', 48],
        ['eth.dst', 48], ['vlan.tci', 16], ['ip.ttl', 8], ['xxreg0', 128], ['xxreg1', 128], ['xreg4', 64],
        ['ct_state', 32], ['ct_mark', 32], ['ct_label', 128], ['flags', 32],
      ];
      for (let n = 0; n < 300; n++) {
        const p = new Map<string, PacketValue>();
        for (const [f, w] of fields) p.set(f, valueFor(f, w));
        // One tp_src/tp_dst slot in OVS: every alias gets the same value.
        const tp = (names: string[]) => {
          const pick = names.filter((x) => consts.has(x));
          return valueFor(pick.length ? pick[Math.floor(rnd() * pick.length)]! : names[0]!, 16);
        };
        const src = tp(TP_SRC);
        const dst = tp(TP_DST);
        for (const x of TP_SRC) p.set(x, src);
        for (const x of TP_DST) p.set(x, dst);
        if (rnd() < 0.5) p.set('eth.type', [0x800n, 0x86ddn, 0x806n][Math.floor(rnd() * 3)]!);
        if (rnd() < 0.5) p.set('ip.proto', [6n, 17n, 132n][Math.floor(rnd() * 3)]!);
        for (const pf of ['inport', 'outport']) {
          const name = portNames[Math.floor(rnd() * portNames.length)]!;
          if (name) p.set(pf, name);
        }
        yield p;
      }
    }
    fc.assert(
      fc.property(wideExpr, fc.integer(), (text, seed) => {
        let s = seed >>> 0 || 1;
        const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
        compare(text, wideCtx, wideKeys, (e) => packets(e, rnd), stats, 8);
      }),
      { numRuns: RANDOM_RUNS },
    );
    console.log('random full-width property:', JSON.stringify(stats));
    expect(stats.exprs).toBeGreaterThan(RANDOM_RUNS * 0.6);
    expect(stats.withConj).toBeGreaterThan(stats.exprs / 20);
    expect(stats.positive).toBeGreaterThan(stats.packets / 20);
  }, 180_000);
});

// ------------------------------------------------------------------------------------------
// Details.

const keys = (n: string): number | undefined => ({ p1: 1, p2: 2 })[n];
const lines = (r: ExprFlows) => sorted(formatExprMatches(r));

describe('conversion details', () => {
  it('offsets conjunction ids by conjIdBase and reports them', () => {
    // reg0-3 are bits of xxreg0, reg4-7 of xxreg1, reg8-9 of xreg4: dimensions are per OVS field.
    const r = exprToOpenFlow('reg0[0..1] == {1, 2} && reg4[0..1] == {1, 2}', { portKeys: keys, conjIdBase: 41 });
    expect(r.conjIds).toEqual([42]);
    expect(r.flows.filter((f) => f.conjId === 42).map((f) => formatMatch(f.match))).toEqual(['conj_id=42']);
    expect(lines(r)).toEqual([
      'conj_id=42',
      'reg0=0x1/0x3: conjunction(42, 0/2)',
      'reg0=0x2/0x3: conjunction(42, 0/2)',
      'reg4=0x1/0x3: conjunction(42, 1/2)',
      'reg4=0x2/0x3: conjunction(42, 1/2)',
    ]);
    // Two subfields of one OVS field are one dimension (their product), as in OVN.
    expect(lines(exprToOpenFlow('reg0[0] == {0, 1} && reg1[0] == {0, 1}', { portKeys: keys }))).toEqual([
      'reg0=0/0x1,reg1=0/0x1',
      'reg0=0/0x1,reg1=0x1/0x1',
      'reg0=0x1/0x1,reg1=0/0x1',
      'reg0=0x1/0x1,reg1=0x1/0x1',
    ]);
  });

  it('merges identical soft flows into one flow with several conjunction actions', () => {
    const r = exprToOpenFlow('(reg0[0..1] == {1, 2} && reg4[0..1] == {1, 2}) || (reg0[0..1] == {1, 2} && reg8[0..1] == {0, 3})', {
      portKeys: keys,
    });
    expect(r.conjIds).toEqual([1, 2]);
    // Dimensions are ordered by field name: xreg4 (reg8) < xxreg0 (reg0) < xxreg1 (reg4).
    expect(lines(r)).toEqual([
      'conj_id=1',
      'conj_id=2',
      'reg0=0x1/0x3: conjunction(1, 0/2), conjunction(2, 1/2)',
      'reg0=0x2/0x3: conjunction(1, 0/2), conjunction(2, 1/2)',
      'reg4=0x1/0x3: conjunction(1, 1/2)',
      'reg4=0x2/0x3: conjunction(1, 1/2)',
      'reg8=0/0x3: conjunction(2, 0/2)',
      'reg8=0x3/0x3: conjunction(2, 0/2)',
    ]);
  });

  it('lets an ordinary flow absorb an identical soft flow (and the other way round)', () => {
    for (const text of ['reg0[0] || (reg0[0] == {0, 1} && reg4[0] == {0, 1})', '(reg0[0] == {0, 1} && reg4[0] == {0, 1}) || reg0[0]']) {
      expect(lines(exprToOpenFlow(text, { portKeys: keys }))).toEqual([
        'conj_id=1',
        'reg0=0/0x1: conjunction(1, 0/2)',
        'reg0=0x1/0x1',
        'reg4=0/0x1: conjunction(1, 1/2)',
        'reg4=0x1/0x1: conjunction(1, 1/2)',
      ]);
    }
  });

  it('drops unknown ports as OVN does', () => {
    // A fixed comparison with an unknown port drops the whole AND.
    expect(lines(exprToOpenFlow('inport == "nope" && reg0[0..1] == {1, 2}', { portKeys: keys }))).toEqual(['(no flows)']);
    // An unknown alternative drops only itself.
    expect(lines(exprToOpenFlow('inport == {"p1", "nope"} && reg0[0..1] == {1, 2} && reg4[0] == {0, 1}', { portKeys: keys }))).toEqual([
      'conj_id=1',
      'reg0=0x1/0x3: conjunction(1, 1/3)',
      'reg0=0x2/0x3: conjunction(1, 1/3)',
      'reg14=0x1: conjunction(1, 0/3)',
      'reg4=0/0x1: conjunction(1, 2/3)',
      'reg4=0x1/0x1: conjunction(1, 2/3)',
    ]);
    // A dimension left empty abandons the conjunction: its id is consumed, earlier soft flows stay.
    const r = exprToOpenFlow('eth.src == {00:00:00:00:00:01, 00:00:00:00:00:02} && outport == {"n1", "n2"}', { portKeys: keys });
    expect(r.conjIds).toEqual([1]);
    expect(lines(r)).toEqual(['dl_src=00:00:00:00:00:01: conjunction(1, 0/2)', 'dl_src=00:00:00:00:00:02: conjunction(1, 0/2)']);
    expect(r.flows.some((f) => f.conjId !== undefined)).toBe(false);
  });

  it('crossproducts must_crossproduct fields (eth.type, ip.proto) instead of making them dimensions', () => {
    const r = exprToOpenFlow('eth.type == {0x800, 0x806} && reg0[0..1] == {1, 2}', { portKeys: keys });
    expect(r.conjIds).toEqual([]);
    expect(lines(r)).toEqual(['arp,reg0=0x1/0x3', 'arp,reg0=0x2/0x3', 'ip,reg0=0x1/0x3', 'ip,reg0=0x2/0x3']);
    // ip.proto too; the remaining two dimensions still make a conjunction per protocol.
    const c = exprToOpenFlow('ip4 && ip.proto == {6, 17} && ip4.src == {1.1.1.1, 2.2.2.2} && ip4.dst == {3.3.3.3, 4.4.4.4}', { portKeys: keys });
    expect(c.conjIds).toEqual([1, 2]);
    expect(c.flows.filter((f) => f.conjId !== undefined).map((f) => formatMatch(f.match)).sort()).toEqual(['conj_id=1,tcp', 'conj_id=2,udp']);
  });

  it('keeps the flows OVN emits without prerequisites for negated predicates (OVS would widen them)', () => {
    // OVN annotates a predicate's expansion (with its prerequisites) and then negates it, so
    // `!ip4.mcast` is `!eth.mcast || ip4.dst[28..31] != 0xe || eth.type != 0x800`: four of its
    // flows match nw_dst without `ip`. OVS drops L3 fields without their eth_type when it encodes
    // or normalises a match, so those flows would match every packet once installed.
    const r = exprToOpenFlow('!ip4.mcast', { portKeys: keys });
    const bare = r.flows.filter((f) => f.match.clone().normalize()).map((f) => formatMatch(f.match));
    expect(bare.sort()).toEqual(['nw_dst=0.0.0.0/1', 'nw_dst=0.0.0.0/32.0.0.0', 'nw_dst=0.0.0.0/64.0.0.0', 'nw_dst=16.0.0.0/16.0.0.0']);
    expect(r.flows.length).toBe(21);
  });

  it('uses a conjunction for any product of two dimensions, however small (as OVN 23.03 does)', () => {
    expect(exprToOpenFlow('reg0[0] == {0, 1} && reg4[0] == {0, 1}', { portKeys: keys }).conjIds).toEqual([1]);
  });

  it('prints ovs-ofctl flows that our parser reads back', () => {
    const r = exprToOpenFlow('outport == {"p1", "p2"} && tcp.dst == {80, 443} && ip4.src == 10.0.0.0/8', { portKeys: keys, conjIdBase: 7 });
    const text = r.flows.map((f) => formatExprFlow(f, 'resubmit(,45)', 1001)).sort();
    expect(text).toEqual([
      'priority=1001,conj_id=8,tcp,nw_src=10.0.0.0/8 actions=resubmit(,45)',
      'priority=1001,tcp,nw_src=10.0.0.0/8,tp_dst=443 actions=conjunction(8,2/2)',
      'priority=1001,tcp,nw_src=10.0.0.0/8,tp_dst=80 actions=conjunction(8,2/2)',
      'priority=1001,tcp,reg15=0x1,nw_src=10.0.0.0/8 actions=conjunction(8,1/2)',
      'priority=1001,tcp,reg15=0x2,nw_src=10.0.0.0/8 actions=conjunction(8,1/2)',
    ]);
    for (const [i, f] of r.flows.entries()) {
      const parsed = parseFlow(formatExprFlow(f, 'drop', 1001));
      expect(parsed.match.equals(f.match), text[i]).toBe(true);
    }
  });

  it('accepts a parsed tree, evaluates is_chassis_resident(), and makes a catch-all for true', () => {
    const e = parseExprText('is_chassis_resident("p1") && reg0[0]');
    expect(lines(exprToOpenFlow(e, { portKeys: keys }))).toEqual(['reg0=0x1/0x1']);
    expect(lines(exprToOpenFlow(e, { portKeys: keys, isChassisResident: () => false }))).toEqual(['(no flows)']);
    expect(lines(exprToOpenFlow('1', { portKeys: keys }))).toEqual(['']);
  });
});

// ------------------------------------------------------------------------------------------
// Real Open vSwitch reads the flows as we print them.

const ofctl = requireTools('ovs-ofctl differential', ['ovs-ofctl'], 'apt-get install -y openvswitch-switch');
describe.skipIf(ofctl.skip)('ovs-ofctl -O OpenFlow15 parse-flows reads our flows as we print them', () => {
  it('for the goldens and random expressions (match after OVS normalisation, conjunction actions)', async () => {
    const flows: ExprFlow[] = [];
    for (const g of goldens) flows.push(...exprToOpenFlow(g.input, { ...testOvnCtx, portKeys: testOvnKeys }).flows);
    const texts = [
      ...fc.sample(smallExpr, { numRuns: 150, seed: 7 }).map((t) => [t, smallCtx, smallKeys] as const),
      ...fc.sample(wideExpr, { numRuns: 150, seed: 7 }).map((t) => [t, wideCtx, wideKeys] as const),
    ];
    for (const [t, ctx, portKeys] of texts) {
      try {
        const r = exprToOpenFlow(t, { ...ctx, portKeys, maxTerms: 4000 });
        if (r.flows.length <= MAX_FLOWS) flows.push(...r.flows);
      } catch (e) {
        if (!(e instanceof ExprError)) throw e;
      }
    }
    // OVS prints an IPv6 mask such as 100:: as `::/100::` but its own parser reads `/100` as a
    // prefix length and refuses the rest: leave those out.
    const unreadable = (f: ExprFlow) => /(ipv6_src|ipv6_dst|nd_target)=[^, ]*\/[0-9]+:/.test(formatMatch(f.match));
    // An excuse bucket with a cap: 378 of 4,870 flows (7.8 %) today.
    const excuses = new Excuses('ovs-ofctl parse-flows', {
      'ipv6-mask-unreadable': { fraction: 0.12, why: 'an IPv6 mask OVS prints as ADDR/MASK but cannot parse back' },
    });
    const drawn = flows.length;
    for (const f of flows) if (unreadable(f)) excuses.add('ipv6-mask-unreadable', formatMatch(f.match));
    const skipped = excuses.count('ipv6-mask-unreadable');
    expect(excuses.overCap(drawn)).toEqual([]);
    flows.splice(0, flows.length, ...flows.filter((f) => !unreadable(f)));
    const dir = mkdtempSync(`${tmpdir()}/ovnts-expr-of-`);
    const file = `${dir}/flows.txt`;
    writeFileSync(file, flows.map((f) => formatExprFlow(f, 'drop', 1001)).join('\n') + '\n');
    let out: string;
    try {
      // Asynchronously, so this worker keeps answering vitest's RPC while ovs-ofctl runs.
      out = (await promisify(execFile)('ovs-ofctl', ['-O', 'OpenFlow15', 'parse-flows', file], { encoding: 'utf8', maxBuffer: 1 << 28 })).stdout;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const got = out.split('\n').filter((l) => l.startsWith('OFPT_FLOW_MOD')).map((l) => l.replace(/^OFPT_FLOW_MOD \(OF1\.5\) \(xid=0x[0-9a-f]+\): ADD /, ''));
    // What OVS installs: our Match.normalize() is OVS's ofputil_normalize_match.
    const want = flows.map((f) => {
      const m = f.match.clone();
      m.normalize();
      return formatExprFlow({ ...f, match: m }, 'drop', 1001);
    });
    // OVS prints IPv6 with glibc's inet_ntop (`::0.1.0.0` for an IPv4-compatible address), and
    // so do we (`formatIpv6Ntop`): the texts are identical, those spellings included.
    const v4compat = want.join('\n').match(/[=/]::\d+\.\d+\.\d+\.\d+/g)?.length ?? 0;
    expect(got.length).toBe(flows.length);
    expect(got).toEqual(want);
    console.log(`ovs-ofctl parse-flows: ${flows.length} flows identical (${skipped} with IPv6 masks OVS cannot read left out; ${v4compat} IPv6 spellings ::a.b.c.d)`);
  }, 120_000);
});
