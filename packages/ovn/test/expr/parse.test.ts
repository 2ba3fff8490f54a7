import { describe, expect, it } from 'vitest';
import { ExprError, formatExpr, parseExprText, type ExprContext } from '@ovnts/ovn';

const ctx: ExprContext = {
  addressSets: {
    set1: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    set2: ['172.16.0.1'],
    set3: ['00:00:00:00:00:01', '00:00:00:00:00:02'],
    set4: [],
  },
  portGroups: { pg1: ['p1', 'p2'], pg_empty: [] },
};

/** What OVN's `ovstest test-ovn parse-expr` prints: the parsed expression, or the error. */
function parseLine(s: string): string {
  try {
    return formatExpr(parseExprText(s, ctx));
  } catch (e) {
    if (e instanceof ExprError) return e.message;
    throw e;
  }
}

// OVN's own parser test expectations (tests/ovn.at "expression parser", OVN 23.03), restricted to
// inputs whose symbols mean the same in the real symbol table. Without =>, output equals input.
const cases = String.raw`
eth.type == 0x800
eth.type==0x800 => eth.type == 0x800
eth.type[0..15] == 0x800 => eth.type == 0x800
vlan.present
vlan.present == 1 => vlan.present
!(vlan.present == 0) => vlan.present
!(vlan.present != 1) => vlan.present
!vlan.present
vlan.present == 0 => !vlan.present
vlan.present != 1 => !vlan.present
!(vlan.present == 1) => !vlan.present
!(vlan.present != 0) => !vlan.present
eth.dst[0]
eth.dst[0] == 1 => eth.dst[0]
eth.dst[0] != 0 => eth.dst[0]
!(eth.dst[0] == 0) => eth.dst[0]
!(eth.dst[0] != 1) => eth.dst[0]
!eth.dst[0]
eth.dst[0] == 0 => !eth.dst[0]
eth.dst[0] != 1 => !eth.dst[0]
!(eth.dst[0] == 1) => !eth.dst[0]
!(eth.dst[0] != 0) => !eth.dst[0]
vlan.tci[12..15] == 0x3
vlan.tci == 0x3000/0xf000 => vlan.tci[12..15] == 0x3
vlan.tci[12..15] != 0x3
vlan.tci != 0x3000/0xf000 => vlan.tci[12..15] != 0x3
!vlan.pcp => vlan.pcp == 0
!(vlan.pcp) => vlan.pcp == 0
vlan.pcp == 0x4
vlan.pcp != 0x4
vlan.pcp > 0x4
vlan.pcp >= 0x4
vlan.pcp < 0x4
vlan.pcp <= 0x4
!(vlan.pcp != 0x4) => vlan.pcp == 0x4
!(vlan.pcp == 0x4) => vlan.pcp != 0x4
!(vlan.pcp <= 0x4) => vlan.pcp > 0x4
!(vlan.pcp < 0x4) => vlan.pcp >= 0x4
!(vlan.pcp >= 0x4) => vlan.pcp < 0x4
!(vlan.pcp > 0x4) => vlan.pcp <= 0x4
0x4 == vlan.pcp => vlan.pcp == 0x4
0x4 != vlan.pcp => vlan.pcp != 0x4
0x4 < vlan.pcp => vlan.pcp > 0x4
0x4 <= vlan.pcp => vlan.pcp >= 0x4
0x4 > vlan.pcp => vlan.pcp < 0x4
0x4 >= vlan.pcp => vlan.pcp <= 0x4
!(0x4 != vlan.pcp) => vlan.pcp == 0x4
!(0x4 == vlan.pcp) => vlan.pcp != 0x4
!(0x4 >= vlan.pcp) => vlan.pcp > 0x4
!(0x4 > vlan.pcp) => vlan.pcp >= 0x4
!(0x4 <= vlan.pcp) => vlan.pcp < 0x4
!(0x4 < vlan.pcp) => vlan.pcp <= 0x4
1 < vlan.pcp < 4 => vlan.pcp > 0x1 && vlan.pcp < 0x4
1 <= vlan.pcp <= 4 => vlan.pcp >= 0x1 && vlan.pcp <= 0x4
1 < vlan.pcp <= 4 => vlan.pcp > 0x1 && vlan.pcp <= 0x4
1 <= vlan.pcp < 4 => vlan.pcp >= 0x1 && vlan.pcp < 0x4
4 > vlan.pcp > 1 => vlan.pcp < 0x4 && vlan.pcp > 0x1
4 >= vlan.pcp > 1 => vlan.pcp <= 0x4 && vlan.pcp > 0x1
4 > vlan.pcp >= 1 => vlan.pcp < 0x4 && vlan.pcp >= 0x1
4 >= vlan.pcp >= 1 => vlan.pcp <= 0x4 && vlan.pcp >= 0x1
!(1 < vlan.pcp < 4) => vlan.pcp <= 0x1 || vlan.pcp >= 0x4
!(1 <= vlan.pcp <= 4) => vlan.pcp < 0x1 || vlan.pcp > 0x4
!(1 < vlan.pcp <= 4) => vlan.pcp <= 0x1 || vlan.pcp > 0x4
!(1 <= vlan.pcp < 4) => vlan.pcp < 0x1 || vlan.pcp >= 0x4
!(4 > vlan.pcp > 1) => vlan.pcp >= 0x4 || vlan.pcp <= 0x1
!(4 >= vlan.pcp > 1) => vlan.pcp > 0x4 || vlan.pcp <= 0x1
!(4 > vlan.pcp >= 1) => vlan.pcp >= 0x4 || vlan.pcp < 0x1
!(4 >= vlan.pcp >= 1) => vlan.pcp > 0x4 || vlan.pcp < 0x1
vlan.pcp == {1, 2, 3, 4} => vlan.pcp == 0x1 || vlan.pcp == 0x2 || vlan.pcp == 0x3 || vlan.pcp == 0x4
vlan.pcp == 1 || ((vlan.pcp == 2 || vlan.pcp == 3) || vlan.pcp == 4) => vlan.pcp == 0x1 || vlan.pcp == 0x2 || vlan.pcp == 0x3 || vlan.pcp == 0x4
vlan.pcp != {1, 2, 3, 4} => vlan.pcp != 0x1 && vlan.pcp != 0x2 && vlan.pcp != 0x3 && vlan.pcp != 0x4
vlan.pcp == 1 && ((vlan.pcp == 2 && vlan.pcp == 3) && vlan.pcp == 4) => vlan.pcp == 0x1 && vlan.pcp == 0x2 && vlan.pcp == 0x3 && vlan.pcp == 0x4
vlan.pcp == 1 && !((vlan.pcp == 2 && vlan.pcp == 3) && vlan.pcp == 4) => vlan.pcp == 0x1 && (vlan.pcp != 0x2 || vlan.pcp != 0x3 || vlan.pcp != 0x4)
vlan.pcp == 1 && (!(vlan.pcp == 2 && vlan.pcp == 3) && vlan.pcp == 4) => vlan.pcp == 0x1 && (vlan.pcp != 0x2 || vlan.pcp != 0x3) && vlan.pcp == 0x4
vlan.pcp == 1 && !(!(vlan.pcp == 2 && vlan.pcp == 3) && vlan.pcp == 4) => vlan.pcp == 0x1 && ((vlan.pcp == 0x2 && vlan.pcp == 0x3) || vlan.pcp != 0x4)
ip4.src == {10.0.0.0/8, 192.168.0.0/16, 172.16.20.0/24, 8.8.8.8} => ip4.src[24..31] == 0xa || ip4.src[16..31] == 0xc0a8 || ip4.src[8..31] == 0xac1014 || ip4.src == 0x8080808
ip6.src == ::1 => ip6.src == 0x1
ip4.src == 1.2.3.4 => ip4.src == 0x1020304
ip4.src == ::1.2.3.4/::ffff:ffff => ip4.src == 0x1020304
1
0
!1 => 0
!0 => 1
inport == "eth0"
!(inport != "eth0") => inport == "eth0"
(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((0))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))) => 0
ip4.src == "eth0" => Integer field ip4.src is not compatible with string constant.
inport == 1 => String field inport is not compatible with integer constant.
ip4.src = 1.2.3.4 => Syntax error at ${'`'}=' expecting relational operator.
ip4.src > {1, 2, 3} => Only == and != operators may be used with value sets.
eth.type > 0x800 => Only == and != operators may be used with nominal field eth.type.
vlan.present > 0 => Only == and != operators may be used with Boolean field vlan.present.
inport != "eth0" => Nominal field inport may only be tested for equality (taking enclosing ${'`'}!' operators into account).
!(inport == "eth0") => Nominal field inport may only be tested for equality (taking enclosing ${'`'}!' operators into account).
eth.type != 0x800 => Nominal field eth.type may only be tested for equality (taking enclosing ${'`'}!' operators into account).
!(eth.type == 0x800) => Nominal field eth.type may only be tested for equality (taking enclosing ${'`'}!' operators into account).
inport = "eth0" => Syntax error at ${'`'}=' expecting relational operator.
123 == 123 => Syntax error at ${'`'}123' expecting field name.
$name => Syntax error at ${'`'}$name' expecting address set name.
@name => Syntax error at ${'`'}@name' expecting port group name.
123 == xyzzy => Syntax error at ${'`'}xyzzy' expecting field name.
xyzzy == 1 => Syntax error at ${'`'}xyzzy' expecting field name.
inport[1] == 1 => Cannot select subfield of string field inport.
eth.type[] == 1 => Syntax error at ${'`'}]' expecting small integer.
eth.type[::1] == 1 => Syntax error at ${'`'}::1' expecting small integer.
eth.type[18446744073709551615] == 1 => Syntax error at ${'`'}18446744073709551615' expecting small integer.
eth.type[5!] => Syntax error at ${'`'}!' expecting ${'`'}]'.
eth.type[5..1] => Invalid bit range 5 to 1.
eth.type[12..16] => Cannot select bits 12 to 16 of 16-bit field eth.type.
eth.type[10] == 1 => Cannot select subfield of nominal field eth.type.
eth.type => Explicit ${'`'}!= 0' is required for inequality test of multibit field against 0.
!(!(vlan.pcp)) => Explicit ${'`'}!= 0' is required for inequality test of multibit field against 0.
123 => Syntax error at end of input expecting relational operator.
123 x => Syntax error at ${'`'}x' expecting relational operator.
{1, "eth0"} => Syntax error at ${'`'}"eth0"' expecting integer.
eth.type == xyzzy => Syntax error at ${'`'}xyzzy' expecting constant.
(1 x) => Syntax error at ${'`'}x' expecting ${'`'})'.
!0x800 != eth.type => Missing parentheses around operand of !.
eth.type == 0x800 || eth.type == 0x86dd && ip.proto == 17 => && and || must be parenthesized when used together.
eth.dst == {} => Syntax error at ${'`'}}' expecting constant.
eth.src > 00:00:00:00:11:11/00:00:00:00:ff:ff => Only == and != operators may be used with masked constants.  Consider using subfields instead (e.g. eth.src[0..15] > 0x1111 in place of eth.src > 00:00:00:00:11:11/00:00:00:00:ff:ff).
ip4.src == ::1 => 128-bit constant is not compatible with 32-bit field ip4.src.
1 == eth.type == 2 => Range expressions must have the form ${'`'}x < field < y' or ${'`'}x > field > y', with each ${'`'}<' optionally replaced by ${'`'}<=' or ${'`'}>' by ${'`'}>=').
eth.dst[40] x => Syntax error at ${'`'}x' expecting end of input.
ip4.src == {1.2.3.4, $set1, $unknownset} => Syntax error at ${'`'}$unknownset' expecting address set name.
eth.src == {$set3, badmac, 00:00:00:00:00:01} => Syntax error at ${'`'}badmac' expecting constant.
((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((())))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))) => Parentheses nested too deeply.
ct_label > $set4 => Only == and != operators may be used to compare a field against an empty value set.
`
  .split('\n')
  .filter((l) => l)
  .map((l) => {
    const i = l.indexOf(' => ');
    return i < 0 ? ([l, l] as const) : ([l.slice(0, i), l.slice(i + 4)] as const);
  });

describe('parser (OVN test expectations)', () => {
  it.each(cases)('%s', (input, want) => {
    expect(parseLine(input)).toBe(want);
  });
});

describe('parser: sets, address sets, port groups, conditions', () => {
  it('expands $address_set and @port_group through the context', () => {
    expect(parseLine('ip4.src == $set1')).toBe('ip4.src == 0xa000001 || ip4.src == 0xa000002 || ip4.src == 0xa000003');
    expect(parseLine('ip4.src == {$set1, 172.16.0.1}')).toBe(
      'ip4.src == 0xa000001 || ip4.src == 0xa000002 || ip4.src == 0xa000003 || ip4.src == 0xac100001',
    );
    expect(parseLine('inport == @pg1')).toBe('inport == "p1" || inport == "p2"');
    expect(parseLine('!(inport != @pg1)')).toBe('inport == "p1" || inport == "p2"');
    expect(parseLine('ip4.src != $set2')).toBe('ip4.src != 0xac100001');
  });

  it('treats empty sets as OVN does: == is false, != is true', () => {
    expect(parseLine('ip4.src == $set4')).toBe('0');
    expect(parseLine('ip4.src != {$set4}')).toBe('1');
    expect(parseLine('inport == @pg_empty')).toBe('0');
  });

  it('accepts optional commas in sets, including a trailing one', () => {
    expect(parseLine('tcp.dst == {80 443,}')).toBe('tcp.dst == 0x50 || tcp.dst == 0x1bb');
  });

  it('parses is_chassis_resident() and its negation', () => {
    expect(parseLine('is_chassis_resident("lp1")')).toBe('is_chassis_resident("lp1")');
    expect(parseLine('!is_chassis_resident("lp1") && ip4')).toBe('!is_chassis_resident("lp1") && ip4');
  });

  it('has no range syntax inside sets (as OVN: `..` is not a constant)', () => {
    expect(parseLine('tcp.dst == {1..5}')).toBe("Syntax error at `..' expecting constant.");
  });

  it('reports errors with their position', () => {
    try {
      parseExprText('ip4 && ip4.src = 1.2.3.4');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError);
      expect((e as ExprError).position).toBe(15);
    }
  });
});
