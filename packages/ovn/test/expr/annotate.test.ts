import { describe, expect, it } from 'vitest';
import { ExprError, SymbolTable, annotate, formatExpr, parseExprText, simplify, type OvsField } from '@ovnts/ovn';

function annotateLine(s: string, symtab?: SymbolTable): string {
  try {
    return formatExpr(annotate(parseExprText(s, symtab ? { symtab } : {}), symtab));
  } catch (e) {
    if (e instanceof ExprError) return e.message;
    throw e;
  }
}

// OVN's annotation test expectations (tests/ovn.at "expression annotation", OVN 23.03).
const cases = String.raw`
ip4.src == 1.2.3.4 => ip4.src == 0x1020304 && eth.type == 0x800
ip4.src != 1.2.3.4 => ip4.src != 0x1020304 && eth.type == 0x800
ip.proto == 123 => ip.proto == 0x7b && (eth.type == 0x800 || eth.type == 0x86dd)
ip.proto == {123, 234} => (ip.proto == 0x7b || ip.proto == 0xea) && (eth.type == 0x800 || eth.type == 0x86dd)
ip4.src == 1.2.3.4 && ip4.dst == 5.6.7.8 => ip4.src == 0x1020304 && eth.type == 0x800 && ip4.dst == 0x5060708 && eth.type == 0x800
tcp.dst == 1 || (tcp.dst >= 2 && tcp.dst <= 3) => (tcp.dst == 0x1 || (tcp.dst >= 0x2 && tcp.dst <= 0x3)) && ip.proto == 0x6 && (eth.type == 0x800 || eth.type == 0x86dd)
ip => eth.type == 0x800 || eth.type == 0x86dd
ip == 1 => eth.type == 0x800 || eth.type == 0x86dd
ip[0] == 1 => eth.type == 0x800 || eth.type == 0x86dd
ip > 0 => Only == and != operators may be used with nominal field ip.
!ip => Nominal predicate ip may only be tested positively, e.g. ${'`'}ip' or ${'`'}ip == 1' but not ${'`'}!ip' or ${'`'}ip == 0'.
ip == 0 => Nominal predicate ip may only be tested positively, e.g. ${'`'}ip' or ${'`'}ip == 1' but not ${'`'}!ip' or ${'`'}ip == 0'.
vlan.present => vlan.tci[12]
!vlan.present => !vlan.tci[12]
!vlan.pcp => vlan.tci[13..15] == 0 && vlan.tci[12]
vlan.pcp == 1 && vlan.vid == 2 => vlan.tci[13..15] == 0x1 && vlan.tci[12] && vlan.tci[0..11] == 0x2 && vlan.tci[12]
!reg0 && !reg1 && !reg2 && !reg3 => xxreg0[96..127] == 0 && xxreg0[64..95] == 0 && xxreg0[32..63] == 0 && xxreg0[0..31] == 0
ip.first_frag => ip.frag[0] && (eth.type == 0x800 || eth.type == 0x86dd) && (!ip.frag[1] || (eth.type != 0x800 && eth.type != 0x86dd))
!ip.first_frag => !ip.frag[0] || (eth.type != 0x800 && eth.type != 0x86dd) || (ip.frag[1] && (eth.type == 0x800 || eth.type == 0x86dd))
ip.later_frag => ip.frag[1] && (eth.type == 0x800 || eth.type == 0x86dd)
`
  .split('\n')
  .filter((l) => l)
  .map((l) => {
    const i = l.indexOf(' => ');
    return [l.slice(0, i), l.slice(i + 4)] as const;
  });

describe('annotation (OVN test expectations)', () => {
  it.each(cases)('%s', (input, want) => {
    expect(annotateLine(input)).toBe(want);
  });

  it('reports bad and recursive definitions as OVN does', () => {
    const t = new SymbolTable();
    const f = (name: string): OvsField => ({ nxm: name, name, width: 64, maskable: true });
    t.addField('bad_prereq', f('x0'), 'xyzzy');
    t.addField('self_recurse', f('x1'), 'self_recurse != 0');
    t.addField('mutual_recurse_1', f('x2'), 'mutual_recurse_2 != 0');
    t.addField('mutual_recurse_2', f('x3'), 'mutual_recurse_1 != 0');
    const pre = 'encountered as prerequisite or predicate of initial expression:';
    expect(annotateLine('bad_prereq != 0', t)).toBe(
      `Error parsing expression \`xyzzy' ${pre} Syntax error at \`xyzzy' expecting field name.`,
    );
    expect(annotateLine('self_recurse != 0', t)).toBe(
      `Error parsing expression \`self_recurse != 0' ${pre} Recursive expansion of symbol \`self_recurse'.`,
    );
    expect(annotateLine('mutual_recurse_1 != 0', t)).toBe(
      `Error parsing expression \`mutual_recurse_2 != 0' ${pre} Error parsing expression \`mutual_recurse_1 != 0' ${pre} Recursive expansion of symbol \`mutual_recurse_1'.`,
    );
    expect(annotateLine('mutual_recurse_2 != 0', t)).toBe(
      `Error parsing expression \`mutual_recurse_1 != 0' ${pre} Error parsing expression \`mutual_recurse_2 != 0' ${pre} Recursive expansion of symbol \`mutual_recurse_2'.`,
    );
  });
});

// OVN's "simplification special cases" expectations.
describe('simplification (OVN test expectations)', () => {
  const simp = (s: string) => formatExpr(simplify(annotate(parseExprText(s))));
  it('handles the special cases', () => {
    expect(simp('eth.dst == 0/0')).toBe('1');
    expect(simp('eth.dst != 0/0')).toBe('0');
    expect(simp('tcp.dst >= 0')).toBe('ip.proto == 0x6 && (eth.type == 0x800 || eth.type == 0x86dd)');
    expect(simp('tcp.dst <= 65535')).toBe('ip.proto == 0x6 && (eth.type == 0x800 || eth.type == 0x86dd)');
    const bits = (neg: boolean) => Array.from({ length: 16 }, (_, i) => `${neg ? '!' : ''}tcp.dst[${i}]`).join(' || ');
    expect(simp('tcp.dst > 0')).toBe(`(${bits(false)}) && ip.proto == 0x6 && (eth.type == 0x800 || eth.type == 0x86dd)`);
    expect(simp('tcp.dst < 65535')).toBe(`(${bits(true)}) && ip.proto == 0x6 && (eth.type == 0x800 || eth.type == 0x86dd)`);
  });
});
