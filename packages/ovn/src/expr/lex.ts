/**
 * The lexer of OVN's expression and action language (ovn/lib/lex.c behaviour, re-implemented).
 *
 * Design. A token is read on demand from the input text. Integers are unsigned values of up to
 * 1024 bits (OVS `mf_subvalue`), kept as `bigint` together with the textual format they were
 * written in (decimal, hexadecimal, IPv4, IPv6, Ethernet), because the parser needs the format
 * to size constants and to accept `10.0.0.0/8` as a CIDR prefix. A constant followed by `/`
 * and a second constant becomes a masked integer, with the value's bits outside the mask cleared.
 * Lexical errors become `error` tokens carrying OVN's message; the `Lexer` turns the first error
 * (lexical or syntactic) into an `ExprError` thrown to the caller, with OVN's precedence: when a
 * syntax error is found while the current token is an error token, the lexical message wins.
 */
import { formatIpv4, formatIpv6Ntop } from '@ovnts/packet';
import { ExprError } from './errors.js';

/** Token types (OVN's `LEX_T_*`). */
export const Tok = {
  End: 'end',
  Id: 'id',
  String: 'string',
  Integer: 'integer',
  MaskedInteger: 'masked-integer',
  /** `$name`: an address set reference. */
  Macro: 'macro',
  /** `@name`: a port group reference. */
  PortGroup: 'port-group',
  /** `^name`: a template variable reference. */
  Template: 'template',
  Error: 'error',
  LParen: '(',
  RParen: ')',
  LCurly: '{',
  RCurly: '}',
  LSquare: '[',
  RSquare: ']',
  Eq: '==',
  Ne: '!=',
  Lt: '<',
  Le: '<=',
  Gt: '>',
  Ge: '>=',
  LogNot: '!',
  LogAnd: '&&',
  LogOr: '||',
  Ellipsis: '..',
  Comma: ',',
  Semicolon: ';',
  Equals: '=',
  Exchange: '<->',
  Decrement: '--',
  Colon: ':',
  Hyphen: '-',
} as const;

/** A token type. */
export type Tok = (typeof Tok)[keyof typeof Tok];

/** The textual format an integer constant was written in (OVN's `LEX_F_*`). */
export type LexFormat = 'decimal' | 'hexadecimal' | 'ipv4' | 'ipv6' | 'ethernet';

/** One token. */
export interface Token {
  /** The token type. */
  type: Tok;
  /** Identifier, string contents, `$`/`@`/`^` name, or an error message. */
  s: string;
  /** Integer value (integers only; bits outside `mask` are zero for masked integers). */
  value: bigint;
  /** Mask (masked integers only, else 0n). */
  mask: bigint;
  /** How the integer was written. */
  format: LexFormat;
}

/** Largest integer value the lexer accepts: OVS `mf_subvalue` holds 128 bytes. */
export const MAX_CONSTANT_BITS = 1024;
const U64_MAX = (1n << 64n) - 1n;

function tok(type: Tok, s = ''): Token {
  return { type, s, value: 0n, mask: 0n, format: 'decimal' };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined): boolean => isDigit(c) || isAlpha(c);
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);
const isId1 = (c: string | undefined): boolean => isAlpha(c) || c === '_' || c === '.';
const isIdN = (c: string | undefined): boolean => isId1(c) || isDigit(c);

/** Strict dotted-quad parse (glibc `inet_pton(AF_INET)`): no leading zeros, four octets. */
export function ipv4FromText(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const p = m[i]!;
    if (p.length > 1 && p[0] === '0') return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

/** IPv6 text parse (glibc `inet_pton(AF_INET6)` rules), or undefined. */
export function ipv6FromText(text: string): bigint | undefined {
  let s = text;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  const after = s.slice(lastColon + 1);
  if (after.includes('.')) {
    const v4 = ipv4FromText(after);
    if (v4 === undefined) return undefined;
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    // Keep the colon(s) before the dotted tail so that "::1.2.3.4" still has its "::".
    s = s.slice(0, lastColon + 1);
    if (s.endsWith('::')) {
      // fine: "::" immediately before the tail
    } else if (s.endsWith(':')) {
      s = s.slice(0, -1);
      if (s === '') return undefined;
    }
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  let all: number[];
  if (halves.length === 2) {
    const n = head.length + rest.length + tail.length;
    if (n > 7) return undefined;
    all = [...head, ...new Array<number>(8 - n).fill(0), ...rest, ...tail];
  } else {
    all = [...head, ...tail];
    if (all.length !== 8) return undefined;
  }
  let v = 0n;
  for (const g of all) v = (v << 16n) | BigInt(g);
  return v;
}

/** A `/n` prefix as a mask of `width` bits. */
export function prefixMask(n: number, width: number): bigint {
  return ((1n << BigInt(n)) - 1n) << BigInt(width - n);
}

/** The length of a CIDR mask (`width` bits), or -1 if not a prefix mask. */
export function cidrBits(mask: bigint, width: number): number {
  for (let n = 0; n <= width; n++) if (prefixMask(n, width) === mask) return n;
  return -1;
}

/** JSON string unescaping as OVS `json_string_unescape` does it; returns [ok, text-or-error]. */
function jsonUnescape(s: string): [boolean, string] {
  let out = '';
  let i = 0;
  const hex4 = (at: number): number | string => {
    if (at + 4 > s.length) return 'quoted string ends within \\u escape';
    const h = s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) return 'malformed \\u escape';
    const v = parseInt(h, 16);
    if (v === 0) return 'null bytes not supported in quoted strings';
    return v;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') return [false, 'quoted string may not include unescaped "'];
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    i++;
    if (i >= s.length) return [false, 'quoted string may not end with backslash'];
    const e = s[i++]!;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        const c0 = hex4(i);
        if (typeof c0 === 'string') return [false, c0];
        i += 4;
        if (c0 < 0xd800 || c0 >= 0xdc00) {
          out += String.fromCodePoint(c0);
          break;
        }
        if (i + 2 > s.length || s[i] !== '\\' || s[i + 1] !== 'u') return [false, 'malformed escaped surrogate pair'];
        i += 2;
        const c1 = hex4(i);
        if (typeof c1 === 'string') return [false, c1];
        i += 4;
        if (c1 < 0xdc00 || c1 >= 0xe000) {
          return [false, 'second half of escaped surrogate pair is not trailing surrogate'];
        }
        out += String.fromCodePoint(0x10000 + ((c0 - 0xd800) << 10) + (c1 - 0xdc00));
        break;
      }
      default:
        return [false, `bad escape \\${e}`];
    }
  }
  return [true, out];
}

/** JSON string escaping as OVS `json_string_escape` does it (with the quotes). */
export function jsonEscape(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c >= 0x20) out += ch;
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return out + '"';
}

/** Parses an integer (without mask) at `p`; returns the end offset. */
function parseIntegerPlain(input: string, p: number, t: Token): number {
  t.type = Tok.Integer;
  t.value = 0n;
  let end = p;
  let sawDot = false;
  for (;;) {
    const c = input[end];
    if (isAlnum(c) || (c === ':' && !sawDot) || (c === '.' && input[end + 1] !== '.')) {
      if (c === '.') sawDot = true;
      end++;
    } else break;
  }
  const text = input.slice(p, end);
  const len = text.length;
  const err = (m: string) => {
    t.type = Tok.Error;
    t.s = m;
  };
  if (!len) {
    err('Integer constant expected.');
  } else if (len === 17 && /^[0-9a-fA-F]+(:[0-9a-fA-F]+){5}$/.test(text)) {
    let v = 0n;
    for (const g of text.split(':')) v = (v << 8n) | (BigInt(`0x${g}`) & 0xffn);
    t.value = v;
    t.format = 'ethernet';
  } else if (/^[0-9]+$/.test(text)) {
    if (text[0] === '0' && len > 1) {
      err('Decimal constants must not have leading zeros.');
    } else {
      const v = BigInt(text);
      if (v > U64_MAX) err('Decimal constants must be less than 2**64.');
      else {
        t.value = v;
        t.format = 'decimal';
      }
    }
  } else if (text[0] === '0' && (text[1] === 'x' || text[1] === 'X')) {
    if (len > 2) {
      const digits = text.slice(2);
      let v = 0n;
      for (let i = 0; i < digits.length; i++) {
        const c = digits[digits.length - 1 - i]!;
        if (!isHex(c)) {
          err('Invalid syntax in hexadecimal constant.');
          return end;
        }
        const h = parseInt(c, 16);
        if (h) {
          if (Math.floor(i / 2) >= MAX_CONSTANT_BITS / 8) {
            err(`Hexadecimal constant requires more than ${MAX_CONSTANT_BITS} bits.`);
            return end;
          }
          v |= BigInt(h) << BigInt(4 * i);
        }
      }
      t.value = v;
      t.format = 'hexadecimal';
    } else {
      err(`Hex digits expected following 0${text[1]}.`);
    }
  } else if (len < 46) {
    const v4 = ipv4FromText(text);
    if (v4 !== undefined) {
      t.value = BigInt(v4);
      t.format = 'ipv4';
    } else {
      const v6 = ipv6FromText(text);
      if (v6 !== undefined) {
        t.value = v6;
        t.format = 'ipv6';
      } else err('Invalid numeric constant.');
    }
  } else {
    err('Invalid numeric constant.');
  }
  return end;
}

function parseInteger(input: string, p: number, t: Token): number {
  p = parseIntegerPlain(input, p, t);
  if (t.type !== Tok.Integer || input[p] !== '/') return p;
  const m = tok(Tok.Integer);
  p = parseIntegerPlain(input, p + 1, m);
  if (m.type === Tok.Error) {
    t.type = Tok.Error;
    t.s = m.s;
    return p;
  }
  t.type = Tok.MaskedInteger;
  const prefixBits = Number(m.value & 0xffffffffn);
  if (t.format === m.format) {
    t.mask = m.value;
  } else if (t.format === 'ipv4' && m.format === 'decimal' && prefixBits <= 32) {
    t.mask = prefixMask(prefixBits, 32);
  } else if (t.format === 'ipv6' && m.format === 'decimal' && prefixBits <= 128) {
    t.mask = prefixMask(prefixBits, 128);
  } else if (t.format === 'decimal' && m.format === 'hexadecimal' && t.value === 0n) {
    t.format = 'hexadecimal';
    t.mask = m.value;
  } else {
    t.type = Tok.Error;
    t.s = 'Value and mask have incompatible formats.';
    return p;
  }
  t.value &= t.mask;
  return p;
}

function parseString(input: string, p: number, t: Token): number {
  const start = ++p;
  for (;;) {
    const c = input[p];
    if (c === undefined) {
      t.type = Tok.Error;
      t.s = 'Input ends inside quoted string.';
      return p;
    }
    if (c === '"') {
      const [ok, s] = jsonUnescape(input.slice(start, p));
      t.type = ok ? Tok.String : Tok.Error;
      t.s = s;
      return p + 1;
    }
    if (c === '\\') {
      p++;
      if (input[p] !== undefined) p++;
    } else p++;
  }
}

function parseId(input: string, p: number, type: Tok, t: Token): number {
  const start = p;
  do p++;
  while (isIdN(input[p]));
  t.type = type;
  t.s = input.slice(start, p);
  return p;
}

/** Reads one token from `input` at offset `p`: returns the token, its start and its end. */
export function lexToken(input: string, p: number): { token: Token; start: number; end: number } {
  const t = tok(Tok.End);
  const err = (m: string) => {
    t.type = Tok.Error;
    t.s = m;
  };
  for (;;) {
    const start = p;
    const c = input[p];
    const done = (end: number) => ({ token: t, start, end });
    const simple = (type: Tok, n: number) => {
      t.type = type;
      return done(p + n);
    };
    switch (c) {
      case undefined:
        return done(p);
      case ' ':
      case '\t':
      case '\n':
      case '\r':
      case '\v':
      case '\f':
        p++;
        continue;
      case '/':
        p++;
        if (input[p] === '/') {
          do p++;
          while (input[p] !== undefined && input[p] !== '\n');
          continue;
        } else if (input[p] === '*') {
          p++;
          let closed = false;
          for (;;) {
            if (input[p] === '*' && input[p + 1] === '/') {
              p += 2;
              closed = true;
              break;
            } else if (input[p] === undefined || input[p] === '\n') {
              err("`/*' without matching `*/'.");
              return done(p);
            } else p++;
          }
          if (closed) continue;
        }
        err("`/' is only valid as part of `//' or `/*'.");
        return done(p);
      case '(':
        return simple(Tok.LParen, 1);
      case ')':
        return simple(Tok.RParen, 1);
      case '{':
        return simple(Tok.LCurly, 1);
      case '}':
        return simple(Tok.RCurly, 1);
      case '[':
        return simple(Tok.LSquare, 1);
      case ']':
        return simple(Tok.RSquare, 1);
      case '=':
        return input[p + 1] === '=' ? simple(Tok.Eq, 2) : simple(Tok.Equals, 1);
      case '!':
        return input[p + 1] === '=' ? simple(Tok.Ne, 2) : simple(Tok.LogNot, 1);
      case '&':
        if (input[p + 1] === '&') return simple(Tok.LogAnd, 2);
        err("`&' is only valid as part of `&&'.");
        return done(p + 1);
      case '|':
        if (input[p + 1] === '|') return simple(Tok.LogOr, 2);
        err("`|' is only valid as part of `||'.");
        return done(p + 1);
      case '<':
        if (input[p + 1] === '=') return simple(Tok.Le, 2);
        if (input[p + 1] === '-' && input[p + 2] === '>') return simple(Tok.Exchange, 3);
        return simple(Tok.Lt, 1);
      case '>':
        return input[p + 1] === '=' ? simple(Tok.Ge, 2) : simple(Tok.Gt, 1);
      case '.':
        if (input[p + 1] === '.') return simple(Tok.Ellipsis, 2);
        err("`.' is only valid as part of `..' or a number.");
        return done(p + 1);
      case ',':
        return simple(Tok.Comma, 1);
      case ';':
        return simple(Tok.Semicolon, 1);
      case '-':
        return input[p + 1] === '-' ? simple(Tok.Decrement, 2) : simple(Tok.Hyphen, 1);
      case '$':
      case '@':
      case '^': {
        const type = c === '$' ? Tok.Macro : c === '@' ? Tok.PortGroup : Tok.Template;
        if (!isId1(input[p + 1])) {
          err(`\`${c}' must be followed by a valid identifier.`);
          return done(p + 1);
        }
        const end = parseId(input, p + 1, type, t);
        return done(end);
      }
      case ':':
        if (input[p + 1] !== ':') return simple(Tok.Colon, 1);
        return done(parseInteger(input, p, t));
      case '"':
        return done(parseString(input, p, t));
      default: {
        if (isDigit(c)) return done(parseInteger(input, p, t));
        if (isHex(c)) {
          // Ethernet and IPv6 addresses start with hex digits followed by a colon; identifiers never do.
          let q = p;
          while (isHex(input[q])) q++;
          return done(input[q] === ':' ? parseInteger(input, p, t) : parseId(input, p, Tok.Id, t));
        }
        if (isId1(c)) return done(parseId(input, p, Tok.Id, t));
        const code = c.charCodeAt(0);
        if (code >= 0x20 && code < 0x7f) {
          err(`Invalid character \`${c}' in input.`);
        } else {
          // OVN prints the (signed char) byte with %d after "0x"; reproduce that for the first UTF-8 byte.
          const b = Buffer.from(c, 'utf8')[0]!;
          err(`Invalid byte 0x${b >= 128 ? b - 256 : b} in input.`);
        }
        return done(p + c.length);
      }
    }
  }
}

/**
 * A lexer with one token of state, as the parser uses it. The first error raised through
 * `syntaxError`/`error` is thrown as an `ExprError`.
 */
export class Lexer {
  /** The current token. */
  token: Token = tok(Tok.End);
  /** Offset of the current token's first character. */
  start = 0;
  /** Offset just past the current token. */
  pos = 0;

  constructor(readonly input: string) {}

  /** Advances to the next token and returns its type. */
  get(): Tok {
    const r = lexToken(this.input, this.pos);
    this.token = r.token;
    this.start = r.start;
    this.pos = r.end;
    return this.token.type;
  }

  /** The type of the token after the current one. */
  lookahead(): Tok {
    return lexToken(this.input, this.pos).token.type;
  }

  /** If the current token has type `t`, advances and returns true. */
  match(t: Tok): boolean {
    if (this.token.type === t) {
      this.get();
      return true;
    }
    return false;
  }

  /** If the current token is identifier `id`, advances and returns true. */
  matchId(id: string): boolean {
    if (this.token.type === Tok.Id && this.token.s === id) {
      this.get();
      return true;
    }
    return false;
  }

  /** Matches token type `t` or fails with ``Syntax error at `x' expecting `t'.``. */
  forceMatch(t: Tok): void {
    if (t === Tok.End) return this.forceEnd();
    if (!this.match(t)) this.syntaxError(`expecting \`${t}'`);
  }

  /** Fails unless at the end of input. */
  forceEnd(): void {
    if (this.token.type !== Tok.End) this.syntaxError('expecting end of input');
  }

  /** True if the current token is a decimal integer no larger than INT_MAX. */
  isInt(): boolean {
    return this.token.type === Tok.Integer && this.token.format === 'decimal' && this.token.value <= 0x7fffffffn;
  }

  /** Reads a small decimal integer or fails with `expecting small integer`. */
  forceInt(): number {
    if (!this.isInt()) this.syntaxError('expecting small integer');
    const v = Number(this.token.value);
    this.get();
    return v;
  }

  /** The text of the current token, as OVN quotes it in syntax errors. */
  tokenText(): string {
    return this.input.slice(this.start, this.pos);
  }

  /** Fails with `msg` (or the current lexical error, which takes precedence). */
  error(msg: string): never {
    if (this.token.type === Tok.Error) throw new ExprError(this.token.s, this.input, this.start);
    throw new ExprError(msg, this.input, this.start);
  }

  /** Fails with ``Syntax error at `TOKEN' MSG.`` (or the current lexical error). */
  syntaxError(msg?: string): never {
    let s = 'Syntax error';
    if (this.token.type === Tok.End) s += ' at end of input';
    else s += ` at \`${this.tokenText()}'`;
    if (msg) s += ` ${msg}`;
    return this.error(`${s}.`);
  }
}

/** Splits `input` into tokens (up to and including the end token or the first error token). */
export function tokenize(input: string): Token[] {
  const out: Token[] = [];
  let p = 0;
  for (;;) {
    const r = lexToken(input, p);
    out.push(r.token);
    p = r.end;
    if (r.token.type === Tok.End) return out;
  }
}

function formatMac(v: bigint): string {
  const b: string[] = [];
  for (let i = 5; i >= 0; i--) b.push(((v >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, '0'));
  return b.join(':');
}

/** A value as OVS `mf_format_subvalue` prints it: `0` or `0x` and hex digits. */
export function formatHex(v: bigint): string {
  return v === 0n ? '0' : `0x${v.toString(16)}`;
}

const formatZeroBits: Record<LexFormat, number> = {
  decimal: 64,
  hexadecimal: MAX_CONSTANT_BITS,
  ipv4: 32,
  ipv6: 128,
  ethernet: 48,
};

function effectiveFormat(t: Token): LexFormat {
  const limit = 1n << BigInt(formatZeroBits[t.format]);
  const fits = t.value < limit && (t.type !== Tok.MaskedInteger || t.mask < limit);
  return fits ? t.format : 'hexadecimal';
}

function formatValue(v: bigint, f: LexFormat): string {
  switch (f) {
    case 'decimal':
      return v.toString();
    case 'hexadecimal':
      return formatHex(v);
    case 'ipv4':
      return formatIpv4(v);
    case 'ipv6':
      return formatIpv6Ntop(v);
    case 'ethernet':
      return formatMac(v);
  }
}

/** A token in re-parseable text form, as OVN's `lex_token_format` writes it. */
export function formatToken(t: Token): string {
  switch (t.type) {
    case Tok.End:
      return '$';
    case Tok.Id:
      return t.s;
    case Tok.Error:
      return `error(${jsonEscape(t.s)})`;
    case Tok.String:
      return jsonEscape(t.s);
    case Tok.Integer:
      return formatValue(t.value, effectiveFormat(t));
    case Tok.MaskedInteger: {
      const f = effectiveFormat(t);
      let s = `${formatValue(t.value, f)}/`;
      const c4 = f === 'ipv4' ? cidrBits(t.mask, 32) : -1;
      const c6 = t.format === 'ipv6' ? cidrBits(t.mask, 128) : -1;
      if (c4 >= 0) s += String(c4);
      else if (c6 >= 0) s += String(c6);
      else s += formatValue(t.mask, f);
      return s;
    }
    case Tok.Macro:
      return `$${t.s}`;
    case Tok.PortGroup:
      return `@${t.s}`;
    case Tok.Template:
      return `^${t.s}`;
    default:
      return t.type;
  }
}

/**
 * Expands `^name` template references as OVN does before parsing (`lexer_parse_template_string`):
 * when the text contains `^`, it is re-tokenised and re-printed token by token, each template
 * replaced by its value in `vars` (or its own name when undefined). Lexical errors print as
 * `error("...")`, which is what the parser then sees.
 */
export function expandTemplates(text: string, vars: ReadonlyMap<string, string> | Readonly<Record<string, string>> = {}): string {
  if (!text.includes('^')) return text;
  const get = (k: string): string | undefined =>
    vars instanceof Map ? vars.get(k) : Object.prototype.hasOwnProperty.call(vars, k) ? (vars as Record<string, string>)[k] : undefined;
  let out = '';
  let p = 0;
  for (;;) {
    const r = lexToken(text, p);
    if (r.token.type === Tok.End) return out;
    if (r.end === p) return out; // cannot happen: every non-end token consumes input
    p = r.end;
    out += r.token.type === Tok.Template ? (get(r.token.s) ?? r.token.s) : formatToken(r.token);
  }
}
