import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExprError, Lexer, Tok, expandTemplates, formatToken, jsonEscape, lexToken, tokenize } from '@ovnts/ovn';

/** Tokenise and print every token as OVN's `ovstest test-ovn lex` does (space separated, no end token). */
function lexLine(s: string): string {
  return tokenize(s)
    .filter((t) => t.type !== Tok.End)
    .map(formatToken)
    .join(' ');
}

// `input => expected` pairs: OVN's own lexer test expectations (tests/ovn.at "lexer", OVN 23.03).
// For lines without =>, the output equals the input.
const cases = `
foo bar baz quuxquuxquux _abcd_ a.b.c.d a123_.456
"abc\\u0020def" => "abc def"
" => error("Input ends inside quoted string.")
$foo $bar $baz $quuxquuxquux $_abcd_ $a.b.c.d $a123_.456
$1 => error("\`$' must be followed by a valid identifier.") 1
a/*b*/c => a c
a//b c => a
a/**/b => a b
a/*/b => a error("\`/*' without matching \`*/'.")
a/*/**/b => a b
a/b => a error("\`/' is only valid as part of \`//' or \`/*'.") b
0 1 12345 18446744073709551615
18446744073709551616 => error("Decimal constants must be less than 2**64.")
9999999999999999999999 => error("Decimal constants must be less than 2**64.")
01 => error("Decimal constants must not have leading zeros.")
0/0
0/1
1/0 => 0/0
1/1
128/384
1/3
1/ => error("Integer constant expected.")
1/0x123 => error("Value and mask have incompatible formats.")
0x1234
0x01234 => 0x1234
0x0 => 0
0x000 => 0
0xfedcba9876543210
0XFEDCBA9876543210 => 0xfedcba9876543210
0xfedcba9876543210fedcba9876543210
0x0000fedcba9876543210fedcba9876543210 => 0xfedcba9876543210fedcba9876543210
0x => error("Hex digits expected following 0x.")
0X => error("Hex digits expected following 0X.")
0x0/0x0 => 0/0
0x0/0x1 => 0/0x1
0x1/0x0 => 0/0
0xffff/0x1ffff
0x. => error("Invalid syntax in hexadecimal constant.")
192.168.128.1 1.2.3.4 255.255.255.255 0.0.0.0
256.1.2.3 => error("Invalid numeric constant.")
192.168.0.0/16
192.168.0.0/255.255.0.0 => 192.168.0.0/16
192.168.0.0/255.255.255.0 => 192.168.0.0/24
192.168.0.0/255.255.0.255
192.168.0.0/255.0.0.0 => 192.0.0.0/8
192.168.0.0/32
192.168.0.0/255.255.255.255 => 192.168.0.0/32
192.168.0.2/32
192.168.0.2/30 => 192.168.0.0/30
192.168.0.2/24 => 192.168.0.0/24
1.2.3.4:5 => 1.2.3.4 : 5
::
::1
ff00::1234 => ff00::1234
2001:db8:85a3::8a2e:370:7334
2001:db8:85a3:0:0:8a2e:370:7334 => 2001:db8:85a3::8a2e:370:7334
2001:0db8:85a3:0000:0000:8a2e:0370:7334 => 2001:db8:85a3::8a2e:370:7334
::ffff:192.0.2.128
::ffff:c000:0280 => ::ffff:192.0.2.128
::1/::1
::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff => ::1/128
::1/128
ff00::/8
ff00::/ff00:: => ff00::/8
01:23:45:67:ab:cd
01:23:45:67:AB:CD => 01:23:45:67:ab:cd
fe:dc:ba:98:76:54
FE:DC:ba:98:76:54 => fe:dc:ba:98:76:54
01:00:00:00:00:00/01:00:00:00:00:00
ff:ff:ff:ff:ff:ff/ff:ff:ff:ff:ff:ff
fe:ff:ff:ff:ff:ff/ff:ff:ff:ff:ff:ff
ff:ff:ff:ff:ff:ff/fe:ff:ff:ff:ff:ff => fe:ff:ff:ff:ff:ff/fe:ff:ff:ff:ff:ff
fe:x => error("Invalid numeric constant.")
00:01:02:03:04:x => error("Invalid numeric constant.")
(){}[]==!=<<=>>=!&&||..,;=<->--: => ( ) { } [ ] == != < <= > >= ! && || .. , ; = <-> -- :
& => error("\`&' is only valid as part of \`&&'.")
| => error("\`|' is only valid as part of \`||'.")
^ => error("\`^' must be followed by a valid identifier.")
`
  .split('\n')
  .filter((l) => l)
  .map((l) => {
    const i = l.indexOf(' => ');
    return i < 0 ? ([l, l] as const) : ([l.slice(0, i), l.slice(i + 4)] as const);
  });

describe('lexer', () => {
  it.each(cases)('%s', (input, want) => {
    // OVN's test driver stops printing at the first error only by virtue of what follows it;
    // we print every token, as it does.
    expect(lexLine(input)).toBe(want);
  });

  it('reports non-printable and non-ASCII bytes as OVN does', () => {
    expect(lexToken('\x01', 0).token.s).toBe('Invalid byte 0x1 in input.');
    // OVN prints a signed char with %d: the first UTF-8 byte of "é" (0xc3) comes out as 0x-61.
    expect(lexToken('é', 0).token.s).toBe('Invalid byte 0x-61 in input.');
  });

  it('never throws, and always advances, on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        let p = 0;
        for (let n = 0; n < 200; n++) {
          const r = lexToken(s, p);
          if (r.token.type === Tok.End) return true;
          expect(r.end).toBeGreaterThan(p);
          p = r.end;
        }
        return false;
      }),
    );
  });

  it('prints integer tokens that lex back to the same value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.constantFrom('hexadecimal', 'ipv6'), (v, fmt) => {
        const text = formatToken({ type: Tok.Integer, s: '', value: v, mask: 0n, format: fmt });
        const t = lexToken(text, 0).token;
        expect(t.type).toBe(Tok.Integer);
        expect(t.value).toBe(v);
      }),
    );
  });

  it('escapes strings as JSON and lexes them back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (s) => {
        fc.pre(!s.includes('\0'));
        const t = lexToken(jsonEscape(s), 0).token;
        expect(t.type).toBe(Tok.String);
        expect(t.s).toBe(s);
      }),
    );
  });

  it('reports syntax errors at the offending token, lexical errors first', () => {
    const lx = new Lexer('reg0 = 1');
    lx.get();
    lx.get();
    expect(() => lx.syntaxError('expecting relational operator')).toThrow("Syntax error at `=' expecting relational operator.");
    const lx2 = new Lexer('&');
    lx2.get();
    try {
      lx2.syntaxError('expecting field name');
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError);
      expect((e as ExprError).message).toBe("`&' is only valid as part of `&&'.");
      expect((e as ExprError).position).toBe(0);
    }
  });

  it('expands templates as OVN does (re-printing every token)', () => {
    expect(expandTemplates('ip4.dst == ^vip && tcp', { vip: '10.0.0.1' })).toBe('ip4.dst==10.0.0.1&&tcp');
    expect(expandTemplates('reg0 == ^x')).toBe('reg0==x');
    expect(expandTemplates('no templates here')).toBe('no templates here');
  });
});
