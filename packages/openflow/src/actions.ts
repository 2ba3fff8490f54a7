/**
 * OpenFlow actions and instructions as typed values, with their ovs-ofctl text parse and format
 * side by side (one entry per action keyword in `ACTION_PARSERS`). Parsing normalises the way
 * OVS does when it encodes a flow for OpenFlow 1.5: `mod_dl_src`, `mod_nw_*`, `mod_tp_*` and
 * `load` become `set_field`, `strip_vlan` becomes `pop_vlan`, `mod_vlan_vid`/`mod_vlan_pcp` become
 * `set_field` preceded by `push_vlan:0x8100` when the flow has no VLAN at that point. So the
 * canonical text is the one `ovs-ofctl -O OpenFlow15 dump-flows` prints, and executing the typed
 * list behaves as OVS executes the flow it installed.
 */
import { fromHex } from '@ovnts/packet';
import { TextParseError } from './errors.js';
import { fieldBySubfieldName, type MatchField } from './fields.js';

/** OpenFlow 1.0 reserved port numbers (OVS `ofp_port_t`, 16 bits). */
export const OFPP = {
  MAX: 0xff00,
  IN_PORT: 0xfff8,
  TABLE: 0xfff9,
  NORMAL: 0xfffa,
  FLOOD: 0xfffb,
  ALL: 0xfffc,
  CONTROLLER: 0xfffd,
  LOCAL: 0xfffe,
  NONE: 0xffff,
} as const;

/** OpenFlow 1.1+ port numbers are 32 bits; the reserved ones (0xffffff00 up) map to 0xff00 up (OVS `OFPP11_OFFSET`). */
const OFPP11_OFFSET = 0xffff_0000;

/** OVS `OFPP_UNSET` (no port; `actset_output` of an action set without output). */
const OFPP_UNSET = 0xfff7;

// Names OVS parses (`OFPUTIL_NAMED_PORTS_WITH_NONE`) in the order it prints them: 0xffff prints as `ANY`.
const PORT_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['IN_PORT', OFPP.IN_PORT], ['TABLE', OFPP.TABLE], ['NORMAL', OFPP.NORMAL], ['FLOOD', OFPP.FLOOD],
  ['ALL', OFPP.ALL], ['CONTROLLER', OFPP.CONTROLLER], ['LOCAL', OFPP.LOCAL], ['ANY', OFPP.NONE], ['UNSET', OFPP_UNSET],
  ['NONE', OFPP.NONE],
];

/** A port number to OVS text (`LOCAL`, `IN_PORT`, `ANY`, or decimal). */
export function formatPort(p: number): string {
  for (const [n, v] of PORT_NAMES) if (v === p) return n;
  return String(p);
}

/**
 * Parse a port as OVS `ofputil_port_from_string()` does: a reserved name in any case (`NONE` is
 * `ANY`), a decimal number 0..65535, or an OpenFlow 1.1 reserved number 0xffffff00..0xffffffff
 * (mapped to 0xff00..0xffff); undefined if invalid. Range checks are the caller's.
 */
export function parsePort(s: string): number | undefined {
  const up = s.toUpperCase();
  for (const [n, v] of PORT_NAMES) if (n === up) return v;
  if (!/^[0-9]+$/.test(s)) return undefined;
  const v = Number(s);
  if (v <= 0xffff) return v;
  return v >= 0xffff_ff00 && v <= 0xffff_ffff ? v - OFPP11_OFFSET : undefined;
}

/** A bit range of a field: `NXM_NX_REG0[0..15]`. */
export interface Subfield {
  /** The field. */
  readonly field: MatchField;
  /** First bit (0 = least significant). */
  readonly ofs: number;
  /** Number of bits. */
  readonly nBits: number;
}

/** NAT parameters of `ct(nat(...))`. */
export interface NatSpec {
  /** `src`, `dst`, or undefined for plain `nat` (reverse NAT of an existing connection). */
  kind?: 'src' | 'dst';
  /** Address range as text (IPv4 or bracketed IPv6), as given. */
  addrMin?: string;
  /** Upper address. */
  addrMax?: string;
  /** Port range. */
  portMin?: number;
  /** Upper port. */
  portMax?: number;
  /** Flags in OVS order: persistent, hash, random. */
  flags: string[];
}

/** One `learn` specification. */
export type LearnSpec =
  | { kind: 'match'; dst: Subfield; src: Subfield | { value: bigint } }
  | { kind: 'load'; dst: Subfield; src: Subfield | { value: bigint } }
  | { kind: 'output'; src: Subfield };

/** A typed OpenFlow/Nicira action. */
export type Action =
  | { type: 'output'; port: number; maxLen?: number }
  | { type: 'output_reg'; src: Subfield; maxLen?: number }
  | { type: 'controller'; maxLen: number; reason?: string; id?: number; userdata?: Uint8Array; pause?: boolean; meterId?: number }
  | { type: 'set_field'; field: MatchField; value: bigint; mask?: bigint }
  | { type: 'move'; src: Subfield; dst: Subfield }
  | { type: 'dec_ttl'; ids?: number[] }
  | { type: 'mod_nw_ttl'; ttl: number }
  | { type: 'push_vlan'; ethertype: number }
  | { type: 'pop_vlan' }
  | { type: 'resubmit'; port?: number; table?: number; ct?: boolean }
  | { type: 'group'; groupId: number }
  | { type: 'note'; data: Uint8Array }
  | { type: 'ct'; commit: boolean; force: boolean; table?: number; zone?: number | Subfield; alg?: string; exec: Action[]; nat?: NatSpec }
  | { type: 'ct_clear' }
  | {
      type: 'learn';
      table: number;
      idleTimeout: number;
      hardTimeout: number;
      priority: number;
      cookie: bigint;
      finIdleTimeout: number;
      finHardTimeout: number;
      sendFlowRem: boolean;
      deleteLearned: boolean;
      specs: LearnSpec[];
      /** `limit=N`: at most N flows with the learned cookie in the learned table (0 = none). */
      limit?: number;
      /** `result_dst=F[b]`: 1 when learning succeeded, 0 when `limit` refused it. */
      resultDst?: Subfield;
    }
  | { type: 'conjunction'; id: number; clause: number; nClauses: number }
  | { type: 'meter'; meterId: number };

/** OpenFlow 1.5 instructions of a flow. */
export interface Instructions {
  /** `apply_actions` (the bare action list). */
  apply: Action[];
  /** `clear_actions`. */
  clearActions: boolean;
  /** `write_actions(...)`, if present. */
  writeActions?: Action[];
  /** `write_metadata:V[/M]`. */
  writeMetadata?: { value: bigint; mask: bigint };
  /** `goto_table:N`. */
  gotoTable?: number;
}

/** Context the action parser needs from the flow (for OVS's OF1.5 normalisation). */
export interface ActionContext {
  /** The flow matches a VLAN header (CFI bit) at this point; updated as push/pop are parsed. */
  hasVlan: boolean;
  /**
   * A second (inner) VLAN header is there at this point (after a push onto a tagged flow). OVS's
   * flow holds two VLAN headers; a pop brings the inner one back. Absent means false.
   */
  innerVlan?: boolean;
  /** The matched ip_proto, or -1. */
  nwProto: number;
}

// ---------------------------------------------------------------------------------------------
// Small text helpers shared with ofctl-text.ts

/** Split `s` at top-level commas (not inside parentheses or brackets), keeping each piece's column. */
export function splitTopLevel(s: string, base = 0, seps = ','): Array<{ text: string; col: number }> {
  const out: Array<{ text: string; col: number }> = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    if (i === s.length || (depth === 0 && seps.includes(c!))) {
      out.push({ text: s.slice(start, i), col: base + start });
      start = i + 1;
    }
  }
  return out;
}

/** Parse an unsigned integer as C's strtoull(s, 0) does (0x hex, leading-0 octal, decimal); undefined if not one. */
export function parseUint(s: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return BigInt(s);
  if (/^0[0-7]+$/.test(s)) return BigInt('0o' + s.slice(1));
  if (/^[0-9]+$/.test(s)) return BigInt(s);
  return undefined;
}

/** Hex with `0x`, as C's `%#x` (zero prints as `0`). */
export function hexC(v: bigint | number): string {
  return v === 0 || v === 0n ? '0' : '0x' + v.toString(16);
}

class P {
  constructor(
    readonly input: string,
    readonly col: number,
  ) {}
  err(expected: string, at = 0): never {
    throw new TextParseError(this.input, this.col + at, expected);
  }
}

/** Parse `NAME[a..b]`, `NAME[a]` or `NAME[]` (NXM/OXM names or OVS field names). */
export function parseSubfield(text: string, input: string, col: number): Subfield {
  const m = /^([A-Za-z0-9_]+)\[(?:(\d+)(?:\.\.(\d+))?)?\]$/.exec(text.trim());
  if (!m) throw new TextParseError(input, col, `expected a subfield NAME[a..b], got "${text}"`);
  const f = fieldBySubfieldName(m[1]!);
  if (!f) throw new TextParseError(input, col, `unknown field ${m[1]}`);
  if (m[2] === undefined) return { field: f, ofs: 0, nBits: f.bits };
  const a = Number(m[2]);
  const b = m[3] === undefined ? a : Number(m[3]);
  if (b < a || b >= f.bits) throw new TextParseError(input, col, `bit range ${a}..${b} outside ${f.bits}-bit field ${f.name}`);
  return { field: f, ofs: a, nBits: b - a + 1 };
}

/** Format a subfield the way OVS does (NXM name preferred, `[]` for the whole field). */
export function formatSubfield(s: Subfield): string {
  const name = s.field.nxm?.name ?? s.field.oxm?.name ?? s.field.name;
  if (s.ofs === 0 && s.nBits === s.field.bits) return `${name}[]`;
  if (s.nBits === 1) return `${name}[${s.ofs}]`;
  return `${name}[${s.ofs}..${s.ofs + s.nBits - 1}]`;
}

// ---------------------------------------------------------------------------------------------
// Field values (shared by set_field and the match parser)

/** Formats and parsers for field values live in ofctl-text.ts; actions receive them here. */
export interface ValueCodec {
  /** Parse `text` as a value (and optional mask) of field `f`. */
  parse(f: MatchField, text: string, input: string, col: number): { value: bigint; mask?: bigint };
  /** Format a value (and optional mask) of field `f` as set_field does. */
  format(f: MatchField, value: bigint, mask?: bigint): string;
}

let codec: ValueCodec | undefined;
/** Installed by ofctl-text.ts (breaks the import cycle between values and actions). */
export function setValueCodec(c: ValueCodec): void {
  codec = c;
}

function allOnes(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

// ---------------------------------------------------------------------------------------------
// Parsing

function parseNumberArg(p: P, s: string, what: string, max: number): number {
  const v = parseUint(s.trim());
  if (v === undefined || v > BigInt(max)) p.err(`expected ${what} (0..${max}), got "${s}"`);
  return Number(v);
}

function splitArg(tok: string): { name: string; arg: string | undefined; paren: boolean } {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?:([:=])([\s\S]*)|\(([\s\S]*)\))?$/.exec(tok.trim());
  if (!m) return { name: tok.trim(), arg: undefined, paren: false };
  if (m[4] !== undefined) return { name: m[1]!, arg: m[4], paren: true };
  return { name: m[1]!, arg: m[3], paren: false };
}

function tcpUdpField(ctx: ActionContext, p: P, dir: 'src' | 'dst'): MatchField {
  const name = ctx.nwProto === 6 ? 'tcp' : ctx.nwProto === 17 ? 'udp' : ctx.nwProto === 132 ? 'sctp' : undefined;
  // Without a transport protocol OVS keeps mod_tp_* as an OpenFlow 1.0 action that cannot be sent
  // under OpenFlow 1.5; we raise the prerequisite error such a flow gets.
  const f = fieldBySubfieldName(`${name ?? 'tcp'}_${dir}`)!;
  if (!name) p.err(`mod_tp_${dir} needs a tcp, udp or sctp match`);
  return f;
}

function setFieldFromText(p: P, field: string, value: string, ctx: ActionContext, col = 0): Action {
  const f = fieldBySubfieldName(field.trim());
  if (!f) p.err(`unknown field ${field}`, col);
  if (!f.writable) p.err(`${f.name} is read-only`, col);
  const v = codec!.parse(f, value.trim(), p.input, p.col);
  const a: Action = { type: 'set_field', field: f, value: v.value, ...(v.mask !== undefined && v.mask !== allOnes(f.bits) ? { mask: v.mask } : {}) };
  track(a, ctx);
  return a;
}

/**
 * Follow the VLAN headers as OVS's action check does (`check_PUSH_VLAN`, `check_STRIP_VLAN`,
 * `check_SET_FIELD` over a flow with two VLAN slots): a push moves the outer header inward, a pop
 * brings the inner one out (nothing when there is no outer header), a `vlan_tci` set_field
 * replaces the outer TCI with its value (mask ignored); a `vlan_vid` set_field changes nothing.
 */
function track(a: Action, ctx: ActionContext): void {
  if (a.type === 'push_vlan') {
    ctx.innerVlan = ctx.hasVlan;
    ctx.hasVlan = true;
  } else if (a.type === 'pop_vlan') {
    if (ctx.hasVlan) {
      ctx.hasVlan = ctx.innerVlan ?? false;
      ctx.innerVlan = false;
    }
  } else if (a.type === 'set_field' && a.field.name === 'vlan_tci') {
    ctx.hasVlan = (a.value & 0x1000n) !== 0n;
  }
}

function parseLoad(p: P, arg: string, ctx: ActionContext): Action {
  const i = arg.indexOf('->');
  if (i < 0) p.err('expected load:VALUE->DST[a..b]');
  const vtext = arg.slice(0, i).trim();
  const dst = parseSubfield(arg.slice(i + 2), p.input, p.col);
  if (!dst.field.writable) p.err(`${dst.field.name} is read-only`);
  const v = parseUint(vtext);
  if (v === undefined) p.err(`expected a number, got "${vtext}"`);
  if (v > allOnes(dst.nBits)) p.err(`${arg}: value ${vtext} does not fit into ${dst.nBits} bits`);
  const whole = dst.ofs === 0 && dst.nBits === dst.field.bits;
  const mask = allOnes(dst.nBits) << BigInt(dst.ofs);
  const a: Action = { type: 'set_field', field: dst.field, value: v << BigInt(dst.ofs), ...(whole ? {} : { mask }) };
  track(a, ctx);
  return a;
}

function parseMove(p: P, arg: string): Action {
  const i = arg.indexOf('->');
  if (i < 0) p.err('expected move:SRC[a..b]->DST[c..d]');
  const src = parseSubfield(arg.slice(0, i), p.input, p.col);
  const dst = parseSubfield(arg.slice(i + 2), p.input, p.col);
  if (src.nBits !== dst.nBits) p.err(`${arg}: source field is ${src.nBits} bits wide but destination is ${dst.nBits} bits wide`);
  if (!dst.field.writable) p.err(`destination field ${dst.field.name} is read-only`);
  return { type: 'move', src, dst };
}

function parseController(p: P, arg: string | undefined, paren: boolean): Action {
  if (arg === undefined) return { type: 'controller', maxLen: 65535 };
  if (!paren) return { type: 'controller', maxLen: parseNumberArg(p, arg, 'max_len', 65535) };
  const a: Extract<Action, { type: 'controller' }> = { type: 'controller', maxLen: 65535 };
  for (const { text } of splitTopLevel(arg)) {
    const [k, v] = splitKv(text);
    if (k === 'max_len') a.maxLen = parseNumberArg(p, v ?? '', 'max_len', 65535);
    else if (k === 'reason') a.reason = v ?? '';
    else if (k === 'id') a.id = parseNumberArg(p, v ?? '', 'controller id', 65535);
    else if (k === 'userdata') a.userdata = parseDottedHex(p, v ?? '');
    else if (k === 'pause') a.pause = true;
    else if (k === 'meter_id') a.meterId = parseNumberArg(p, v ?? '', 'meter id', 0xffffffff);
    else p.err(`unknown controller argument ${k}`);
  }
  return a;
}

function splitKv(text: string): [string, string | undefined] {
  const t = text.trim();
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*([\s\S]*)$/.exec(t);
  return m ? [m[1]!, m[2]!] : [t, undefined];
}

/** OVS pads a note with zeros so the 10-byte action header plus data is a multiple of 8 bytes. */
function padNote(d: Uint8Array): Uint8Array {
  const len = d.length + ((8 - ((d.length + 2) % 8)) % 8);
  if (len === d.length) return d;
  const out = new Uint8Array(len);
  out.set(d);
  return out;
}

function parseDottedHex(p: P, s: string): Uint8Array {
  const clean = s.replace(/\./g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) p.err(`bad hex digit in \`note' argument`);
  return fromHex(clean);
}

function parseResubmit(p: P, arg: string, paren: boolean): Action {
  if (!paren) {
    const port = parsePort(arg.trim());
    if (port === undefined) p.err(`${arg}: resubmit to unknown port`);
    return { type: 'resubmit', port };
  }
  const parts = arg.split(',').map((x) => x.trim());
  if (parts.length > 3) p.err('resubmit takes at most (port,table,ct)');
  const a: Extract<Action, { type: 'resubmit' }> = { type: 'resubmit' };
  if (parts[0]) {
    const port = parsePort(parts[0]);
    if (port === undefined) p.err(`${parts[0]}: resubmit to unknown port`);
    a.port = port;
  }
  if (parts[1]) {
    const t = parseUint(parts[1]);
    if (t === undefined || t > 254n) p.err(`${parts[1]}: resubmit to unknown table`);
    a.table = Number(t);
  }
  if (parts[2] !== undefined) {
    if (parts[2] !== 'ct') p.err(`${parts[2]}: unknown resubmit argument (expected ct)`);
    a.ct = true;
  }
  if (a.port === undefined && a.table === undefined) p.err('at least one "in_port" or "table" must be specified on resubmit');
  return a;
}

function parseCt(p: P, arg: string | undefined, ctx: ActionContext): Action {
  const a: Extract<Action, { type: 'ct' }> = { type: 'ct', commit: false, force: false, exec: [] };
  if (arg === undefined) return a;
  for (const { text, col } of splitTopLevel(arg)) {
    const t = text.trim();
    if (t === '') continue;
    const { name, arg: v, paren } = splitArg(t);
    if (name === 'commit') a.commit = true;
    else if (name === 'force') a.force = true;
    else if (name === 'table') a.table = parseNumberArg(p, v ?? '', 'table', 254);
    else if (name === 'zone') {
      const vv = (v ?? '').trim();
      a.zone = /\[/.test(vv) ? parseSubfield(vv, p.input, p.col + col) : parseNumberArg(p, vv, 'zone', 65535);
    } else if (name === 'alg') a.alg = v ?? '';
    else if (name === 'exec' && paren) a.exec = parseActionList(v ?? '', p.input, p.col + col, { ...ctx }, true);
    else if (name === 'nat') a.nat = parseNat(p, paren ? v : undefined);
    else p.err(`unknown ct argument ${name}`, col);
  }
  return a;
}

function parseNat(p: P, arg: string | undefined): NatSpec {
  const nat: NatSpec = { flags: [] };
  if (arg === undefined) return nat;
  for (const { text } of splitTopLevel(arg)) {
    const t = text.trim();
    const m = /^(src|dst)(?:=([\s\S]+))?$/.exec(t);
    if (m) {
      nat.kind = m[1] as 'src' | 'dst';
      if (m[2]) {
        // A bare IPv6 address (or range) without ports is accepted as OVS accepts it; it is kept
        // bracketed, the form with ports, which is how the rest of the switch tells IPv6 apart.
        const bare = /^([0-9a-fA-F]*:[0-9a-fA-F:.]*)(?:-([0-9a-fA-F]*:[0-9a-fA-F:.]*))?$/.exec(m[2]);
        const r = bare
          ? [m[2], `[${bare[1]}]`, bare[2] === undefined ? undefined : `[${bare[2]}]`, undefined, undefined]
          : /^(\[[^\]]+\]|[0-9.]+)(?:-(\[[^\]]+\]|[0-9.]+))?(?::(\d+)(?:-(\d+))?)?$/.exec(m[2]);
        if (!r) p.err(`bad nat range ${m[2]}`);
        nat.addrMin = r[1]!;
        if (r[2]) nat.addrMax = r[2];
        if (r[3]) nat.portMin = Number(r[3]);
        if (r[4]) nat.portMax = Number(r[4]);
      }
    } else if (t === 'persistent' || t === 'hash' || t === 'random') nat.flags.push(t);
    else p.err(`unknown nat argument ${t}`);
  }
  const order = ['persistent', 'hash', 'random'];
  nat.flags.sort((x, y) => order.indexOf(x) - order.indexOf(y));
  return nat;
}

function parseLearn(p: P, arg: string): Action {
  const a: Extract<Action, { type: 'learn' }> = {
    type: 'learn', table: 1, idleTimeout: 0, hardTimeout: 0, priority: 32768, cookie: 0n,
    finIdleTimeout: 0, finHardTimeout: 0, sendFlowRem: false, deleteLearned: false, specs: [],
  };
  for (const { text, col } of splitTopLevel(arg)) {
    const t = text.trim();
    if (t === '') continue;
    const kv = /^([A-Za-z_]+)=([^\[]*)$/.exec(t);
    const num = (v: string, max: number): number => parseNumberArg(p, v, kv![1]!, max);
    if (kv && kv[1] === 'table') a.table = num(kv[2]!, 254);
    else if (kv && kv[1] === 'idle_timeout') a.idleTimeout = num(kv[2]!, 65535);
    else if (kv && kv[1] === 'hard_timeout') a.hardTimeout = num(kv[2]!, 65535);
    else if (kv && kv[1] === 'priority') a.priority = num(kv[2]!, 65535);
    else if (kv && kv[1] === 'fin_idle_timeout') a.finIdleTimeout = num(kv[2]!, 65535);
    else if (kv && kv[1] === 'fin_hard_timeout') a.finHardTimeout = num(kv[2]!, 65535);
    else if (kv && kv[1] === 'cookie') a.cookie = parseUint(kv[2]!) ?? p.err('bad learn cookie', col);
    else if (t === 'send_flow_rem') a.sendFlowRem = true;
    else if (t === 'delete_learned') a.deleteLearned = true;
    else if (kv && kv[1] === 'limit') a.limit = num(kv[2]!, 0xffffffff);
    else if (t.startsWith('result_dst=')) {
      const d = parseSubfield(t.slice(11), p.input, p.col + col);
      if (!d.field.writable) p.err(`${t.slice(11)} is read-only`, col);
      if (d.nBits !== 1) p.err("result_dst in 'learn' action must be a single bit", col);
      a.resultDst = d;
    } else if (t.startsWith('load:')) {
      const body = t.slice(5);
      const i = body.indexOf('->');
      if (i < 0) p.err('expected load:SRC->DST', col);
      const dst = parseSubfield(body.slice(i + 2), p.input, p.col + col);
      const s = body.slice(0, i).trim();
      const src = /\[/.test(s) ? parseSubfield(s, p.input, p.col + col) : { value: parseUint(s) ?? p.err(`bad value ${s}`, col) };
      a.specs.push({ kind: 'load', dst, src });
    } else if (t.startsWith('output:')) {
      a.specs.push({ kind: 'output', src: parseSubfield(t.slice(7), p.input, p.col + col) });
    } else {
      const i = t.indexOf('=');
      const dtext = i < 0 ? t : t.slice(0, i);
      const stext = i < 0 ? undefined : t.slice(i + 1);
      let dst: Subfield;
      if (/\[/.test(dtext)) dst = parseSubfield(dtext, p.input, p.col + col);
      else {
        const f = fieldBySubfieldName(dtext);
        if (!f) p.err(`unknown learn field ${dtext}`, col);
        dst = { field: f, ofs: 0, nBits: f.bits };
      }
      if (stext === undefined) a.specs.push({ kind: 'match', dst, src: dst });
      else if (/\[/.test(stext)) a.specs.push({ kind: 'match', dst, src: parseSubfield(stext, p.input, p.col + col) });
      else a.specs.push({ kind: 'match', dst, src: { value: codec!.parse(dst.field, stext, p.input, p.col + col).value } });
    }
  }
  return a;
}

/**
 * Is `port` a valid output port (OVS `ofpact_check_output_port()` with `OFPP_MAX` ports)? The
 * reserved ports IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER and LOCAL are; ANY/NONE is not, nor
 * is any number from 0xff00 (OFPP_MAX) to 0xfff7.
 */
export function isValidOutputPort(port: number): boolean {
  return port < OFPP.MAX || (port >= OFPP.IN_PORT && port !== OFPP.NONE);
}

/** `output` to a port: OVS keeps output to CONTROLLER as `CONTROLLER:65535` (our `controller`). */
function outputTo(port: number): Action {
  return port === OFPP.CONTROLLER ? { type: 'controller', maxLen: 65535 } : { type: 'output', port };
}

/**
 * `output(port=P,max_len=N)` (OVS `parse_truncate_subfield()`): P a port number below 0xff00
 * (0xff00 itself parses and is refused later as a bad output port), LOCAL or IN_PORT, never a
 * subfield; N a 32-bit number of at least 14 (an Ethernet header).
 */
function parseOutputTrunc(p: P, arg: string): Action {
  let port = 0;
  let maxLen = 0;
  for (const { text } of splitTopLevel(arg)) {
    if (!text.trim()) continue;
    const [k, v0] = splitKv(text);
    const v = (v0 ?? '').trim();
    if (k === 'port') {
      const pt = parsePort(v);
      if (pt === undefined) p.err(`output to unknown truncate port: ${v}`);
      if (pt > OFPP.MAX && pt !== OFPP.LOCAL && pt !== OFPP.IN_PORT) p.err(`output to unsupported truncate port: ${v}`);
      port = pt;
    } else if (k === 'max_len') {
      const n = parseUint(v);
      if (n === undefined || n > 0xffff_ffffn) p.err(`invalid numeric format ${v}`);
      if (n < 14n) p.err(`max_len ${n} is less than the minimum value 14`);
      maxLen = Number(n);
    } else p.err(`invalid key '${k}' in output_trunc argument`);
  }
  return { type: 'output', port, maxLen };
}

/**
 * Parse one action token (already split at top-level commas). `ctx` carries what the match says
 * (VLAN present, ip_proto) for OVS's OpenFlow 1.5 normalisation; returns one or two actions.
 */
export function parseAction(tok: string, input: string, col: number, ctx: ActionContext): Action[] {
  const p: P = new P(input, col);
  const t = tok.trim();
  const { name, arg, paren } = splitArg(t);
  const lname = name.toLowerCase();
  if (arg === undefined && lname !== 'controller') {
    // A bare port (a number or a reserved name such as `in_port`, `LOCAL`, `NONE`) is an output.
    const port = parsePort(t);
    if (port !== undefined) return [outputTo(port)];
  }
  const need = (): string => (arg === undefined ? p.err(`${name} needs an argument`) : arg);
  switch (lname) {
    case 'output': {
      // OVS parse_OUTPUT(): the truncating form when both words appear, else a port, else a subfield.
      // Ports out of range parse and are refused by checkFlow (OFPBAC_BAD_OUT_PORT), as in OVS.
      const a = need().trim();
      if (a.includes('port') && a.includes('max_len')) return [parseOutputTrunc(p, a)];
      const port = parsePort(a);
      if (port !== undefined) return [outputTo(port)];
      if (/^[A-Za-z0-9_]+\[/.test(a)) return [{ type: 'output_reg', src: parseSubfield(a, input, col) }];
      return p.err(`${a}: output to unknown port`);
    }
    case 'controller':
      return [parseController(p, arg, paren)];
    case 'drop':
      return [];
    case 'set_field': {
      const a = need();
      const i = a.lastIndexOf('->');
      if (i < 0) p.err('expected set_field:VALUE[/MASK]->FIELD');
      return [setFieldFromText(p, a.slice(i + 2), a.slice(0, i), ctx)];
    }
    case 'load':
      return [parseLoad(p, need(), ctx)];
    case 'move':
      return [parseMove(p, need())];
    case 'mod_dl_src':
      return [setFieldFromText(p, 'eth_src', need(), ctx)];
    case 'mod_dl_dst':
      return [setFieldFromText(p, 'eth_dst', need(), ctx)];
    case 'mod_nw_src':
      return [setFieldFromText(p, 'ip_src', need(), ctx)];
    case 'mod_nw_dst':
      return [setFieldFromText(p, 'ip_dst', need(), ctx)];
    case 'mod_nw_tos': {
      const v = parseNumberArg(p, need(), 'nw_tos', 255);
      if (v & 3) p.err(`${v}: not a valid TOS (low 2 bits must be zero)`);
      return [{ type: 'set_field', field: fieldBySubfieldName('ip_dscp')!, value: BigInt(v >> 2) }];
    }
    case 'mod_nw_ecn':
      return [{ type: 'set_field', field: fieldBySubfieldName('nw_ecn')!, value: BigInt(parseNumberArg(p, need(), 'nw_ecn', 3)) }];
    case 'mod_nw_ttl':
      return [{ type: 'mod_nw_ttl', ttl: parseNumberArg(p, need(), 'TTL', 255) }];
    case 'mod_tp_src':
      return [{ type: 'set_field', field: tcpUdpField(ctx, p, 'src'), value: BigInt(parseNumberArg(p, need(), 'port', 65535)) }];
    case 'mod_tp_dst':
      return [{ type: 'set_field', field: tcpUdpField(ctx, p, 'dst'), value: BigInt(parseNumberArg(p, need(), 'port', 65535)) }];
    case 'dec_ttl': {
      if (!paren) return [{ type: 'dec_ttl' }];
      const ids = need().split(',').map((x) => parseNumberArg(p, x, 'controller id', 65535));
      return [{ type: 'dec_ttl', ids }];
    }
    case 'push_vlan': {
      const v = parseNumberArg(p, need(), 'ethertype', 65535);
      if (v !== 0x8100 && v !== 0x88a8) p.err(`0x${v.toString(16)}: not a valid VLAN ethertype`);
      const a: Action = { type: 'push_vlan', ethertype: v };
      track(a, ctx);
      return [a];
    }
    case 'pop_vlan':
    case 'strip_vlan': {
      const a: Action = { type: 'pop_vlan' };
      track(a, ctx);
      return [a];
    }
    case 'mod_vlan_vid':
    case 'mod_vlan_pcp': {
      const isVid = lname === 'mod_vlan_vid';
      const v = parseNumberArg(p, need(), isVid ? 'VLAN VID' : 'VLAN PCP', isVid ? 4095 : 7);
      const out: Action[] = [];
      if (!ctx.hasVlan) {
        const push: Action = { type: 'push_vlan', ethertype: 0x8100 };
        track(push, ctx);
        out.push(push);
      }
      out.push(
        isVid
          ? { type: 'set_field', field: fieldBySubfieldName('vlan_vid')!, value: BigInt(v | 0x1000) }
          : { type: 'set_field', field: fieldBySubfieldName('vlan_pcp')!, value: BigInt(v) },
      );
      return out;
    }
    case 'resubmit':
      return [parseResubmit(p, need(), paren)];
    case 'group':
      return [{ type: 'group', groupId: parseNumberArg(p, need(), 'group id', 0xffffff00) }];
    case 'note':
      return [{ type: 'note', data: padNote(parseDottedHex(p, need())) }];
    case 'ct':
      return [parseCt(p, paren ? arg : undefined, ctx)];
    case 'ct_clear':
      return [{ type: 'ct_clear' }];
    case 'learn':
      return [parseLearn(p, need())];
    case 'conjunction': {
      const m = /^\s*(\d+)\s*,\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(need());
      if (!m) return p.err('expected conjunction(id,k/n)');
      const [id, k, n] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (n < 2 || n > 64 || k < 1 || k > n) p.err(`conjunction clause ${k}/${n} out of range (need 1 <= k <= n, 2 <= n <= 64)`);
      return [{ type: 'conjunction', id, clause: k, nClauses: n }];
    }
    case 'meter':
      return [{ type: 'meter', meterId: parseNumberArg(p, need(), 'meter id', 0xffffffff) }];
  }
  return p.err(`unknown action ${name}`);
}

/** Parse a comma-separated action list (no instructions). `inner` is for `write_actions(...)`/`exec(...)`. */
export function parseActionList(text: string, input: string, col: number, ctx: ActionContext, inner = false): Action[] {
  const out: Action[] = [];
  const toks = splitTopLevel(text, col, ', \t\r\n').filter((t) => t.text.trim() !== '');
  for (const { text: tok, col: c } of toks) {
    if (tok.trim().toLowerCase() === 'drop' && toks.length > 1 && !inner) {
      throw new TextParseError(input, c, '"drop" must not be accompanied by any other action or instruction');
    }
    out.push(...parseAction(tok, input, c, ctx));
  }
  return out;
}

const INSTR_ORDER = ['meter', 'apply_actions', 'clear_actions', 'write_actions', 'write_metadata', 'goto_table'];

/** Parse the text after `actions=`: actions plus the OpenFlow 1.1+ instructions. */
export function parseInstructions(text: string, input: string, col: number, ctx: ActionContext): Instructions {
  const ins: Instructions = { apply: [], clearActions: false };
  const toks = splitTopLevel(text, col, ', \t\r\n').filter((t) => t.text.trim() !== '');
  let last = -1;
  let lastName = '';
  let dropCol = -1;
  for (const { text: raw, col: c } of toks) {
    const tok = raw.trim();
    const { name, arg, paren } = splitArg(tok);
    const lname = name.toLowerCase();
    let kind = INSTR_ORDER.indexOf(lname);
    if (kind < 0) kind = 1;
    if (kind < last) {
      throw new TextParseError(input, c, `invalid instruction ordering: ${INSTR_ORDER[kind]} must appear before ${lastName}, for OpenFlow 1.1+ compatibility`);
    }
    if (kind === last && kind > 1) throw new TextParseError(input, c, `duplicate instruction ${lname}`);
    last = kind;
    lastName = INSTR_ORDER[kind]!;
    const p: P = new P(input, c);
    if (tok.toLowerCase() === 'drop' && dropCol < 0) dropCol = c + (raw.length - raw.trimStart().length);
    switch (lname) {
      case 'clear_actions':
        ins.clearActions = true;
        break;
      case 'write_actions':
        if (!paren) p.err('write_actions needs (actions)');
        ins.writeActions = parseActionList(arg ?? '', input, c + tok.indexOf('(') + 1, { ...ctx }, true);
        break;
      case 'write_metadata': {
        const [v, m] = (arg ?? '').split('/');
        const value = parseUint((v ?? '').trim());
        const mask = m === undefined ? 0xffff_ffff_ffff_ffffn : parseUint(m.trim());
        if (value === undefined || mask === undefined || value > 0xffff_ffff_ffff_ffffn || mask > 0xffff_ffff_ffff_ffffn) return p.err('expected write_metadata:VALUE[/MASK]');
        ins.writeMetadata = { value: value & mask, mask };
        break;
      }
      case 'goto_table': {
        const t = parseUint((arg ?? '').trim());
        if (t === undefined || t > 254n) p.err(`${arg}: goto_table to unknown table`);
        ins.gotoTable = Number(t);
        break;
      }
      case 'apply_actions':
        ins.apply.push(...parseActionList(arg ?? '', input, c + tok.indexOf('(') + 1, ctx, true));
        break;
      default:
        ins.apply.push(...parseAction(tok, input, c, ctx));
    }
  }
  if (dropCol >= 0 && toks.length > 1) {
    throw new TextParseError(input, dropCol, '"drop" must not be accompanied by any other action or instruction');
  }
  return ins;
}

// ---------------------------------------------------------------------------------------------
// Formatting

function formatNat(n: NatSpec): string {
  let s = 'nat';
  const parts: string[] = [];
  if (n.kind) {
    let r = n.kind;
    if (n.addrMin) {
      // OVS brackets an IPv6 range only when ports follow.
      const unbracket = (a: string) => (n.portMin === undefined && a.startsWith('[') && a.endsWith(']') ? a.slice(1, -1) : a);
      r += `=${unbracket(n.addrMin)}${n.addrMax ? `-${unbracket(n.addrMax)}` : ''}`;
      if (n.portMin !== undefined) r += `:${n.portMin}${n.portMax !== undefined ? `-${n.portMax}` : ''}`;
    }
    parts.push(r);
  }
  parts.push(...n.flags);
  if (parts.length) s += `(${parts.join(',')})`;
  return s;
}

function dottedHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('.');
}

function formatLearnSrc(s: Subfield | { value: bigint }): string {
  return 'value' in s ? hexC(s.value) : formatSubfield(s);
}

/** Format one action as OVS prints it (OpenFlow 1.5). */
export function formatAction(a: Action): string {
  switch (a.type) {
    case 'output':
      if (a.maxLen !== undefined) return `output(port=${formatPort(a.port)},max_len=${a.maxLen})`;
      return a.port >= OFPP.MAX ? formatPort(a.port) : `output:${a.port}`;
    case 'output_reg':
      if (a.maxLen !== undefined) return `output(port=${formatSubfield(a.src)},max_len=${a.maxLen})`;
      return `output:${formatSubfield(a.src)}`;
    case 'controller': {
      if (a.reason === undefined && a.id === undefined && a.userdata === undefined && !a.pause && a.meterId === undefined) {
        return `CONTROLLER:${a.maxLen}`;
      }
      const parts: string[] = [];
      if (a.reason !== undefined) parts.push(`reason=${a.reason}`);
      if (a.maxLen !== 65535) parts.push(`max_len=${a.maxLen}`);
      if (a.id !== undefined) parts.push(`id=${a.id}`);
      if (a.userdata !== undefined) parts.push(`userdata=${dottedHex(a.userdata)}`);
      if (a.pause) parts.push('pause');
      if (a.meterId !== undefined) parts.push(`meter_id=${a.meterId}`);
      return `controller(${parts.join(',')})`;
    }
    case 'set_field':
      return `set_field:${codec!.format(a.field, a.value, a.mask)}->${a.field.name}`;
    case 'move':
      return `move:${formatSubfield(a.src)}->${formatSubfield(a.dst)}`;
    case 'dec_ttl':
      return a.ids ? `dec_ttl(${a.ids.join(',')})` : 'dec_ttl';
    case 'mod_nw_ttl':
      return `mod_nw_ttl:${a.ttl}`;
    case 'push_vlan':
      return `push_vlan:0x${a.ethertype.toString(16)}`;
    case 'pop_vlan':
      return 'pop_vlan';
    case 'resubmit':
      if (a.table === undefined && !a.ct) return `resubmit:${formatPort(a.port!)}`;
      return `resubmit(${a.port === undefined ? '' : formatPort(a.port)},${a.table ?? ''}${a.ct ? ',ct' : ''})`;
    case 'group':
      return `group:${a.groupId}`;
    case 'note':
      return `note:${dottedHex(padNote(a.data))}`;
    case 'ct': {
      const parts: string[] = [];
      if (a.commit) parts.push('commit');
      if (a.force) parts.push('force');
      if (a.table !== undefined) parts.push(`table=${a.table}`);
      if (a.zone !== undefined) parts.push(`zone=${typeof a.zone === 'number' ? a.zone : formatSubfield(a.zone)}`);
      // OVS prints a NAT that comes first among ct's actions outside `exec(...)`, before it.
      if (a.nat) parts.push(formatNat(a.nat));
      if (a.exec.length) parts.push(`exec(${a.exec.map(formatAction).join(',')})`);
      if (a.alg !== undefined) parts.push(`alg=${a.alg}`);
      return parts.length ? `ct(${parts.join(',')})` : 'ct';
    }
    case 'ct_clear':
      return 'ct_clear';
    case 'learn': {
      const parts = [`table=${a.table}`];
      if (a.idleTimeout) parts.push(`idle_timeout=${a.idleTimeout}`);
      if (a.hardTimeout) parts.push(`hard_timeout=${a.hardTimeout}`);
      if (a.finIdleTimeout) parts.push(`fin_idle_timeout=${a.finIdleTimeout}`);
      if (a.finHardTimeout) parts.push(`fin_hard_timeout=${a.finHardTimeout}`);
      if (a.priority !== 32768) parts.push(`priority=${a.priority}`);
      if (a.sendFlowRem) parts.push('send_flow_rem');
      if (a.deleteLearned) parts.push('delete_learned');
      if (a.cookie) parts.push(`cookie=${hexC(a.cookie)}`);
      if (a.limit) parts.push(`limit=${a.limit}`);
      if (a.resultDst) parts.push(`result_dst=${formatSubfield(a.resultDst)}`);
      for (const s of a.specs) {
        if (s.kind === 'output') parts.push(`output:${formatSubfield(s.src)}`);
        else if (s.kind === 'load') parts.push(`load:${formatLearnSrc(s.src)}->${formatSubfield(s.dst)}`);
        else if ('value' in s.src) {
          // A whole field matched against an immediate prints as `field=value` (OVS `learn_format`).
          const full = s.dst.ofs === 0 && s.dst.nBits === s.dst.field.bits;
          parts.push(full ? `${s.dst.field.name}=${codec!.format(s.dst.field, s.src.value)}` : `${formatSubfield(s.dst)}=${hexC(s.src.value)}`);
        }
        else if (s.src.field === s.dst.field && s.src.ofs === s.dst.ofs && s.src.nBits === s.dst.nBits) parts.push(formatSubfield(s.dst));
        else parts.push(`${formatSubfield(s.dst)}=${formatSubfield(s.src)}`);
      }
      return `learn(${parts.join(',')})`;
    }
    case 'conjunction':
      return `conjunction(${a.id},${a.clause}/${a.nClauses})`;
    case 'meter':
      return `meter:${a.meterId}`;
  }
}

/** Format an action list (`drop` when empty). */
export function formatActionList(list: readonly Action[]): string {
  return list.length ? list.map(formatAction).join(',') : 'drop';
}

/** Format instructions as the text after `actions=`. */
export function formatInstructions(ins: Instructions): string {
  const parts: string[] = ins.apply.map(formatAction);
  if (ins.clearActions) parts.push('clear_actions');
  if (ins.writeActions) parts.push(`write_actions(${ins.writeActions.map(formatAction).join(',')})`);
  if (ins.writeMetadata) {
    const { value, mask } = ins.writeMetadata;
    parts.push(`write_metadata:${hexC(value)}${mask === 0xffff_ffff_ffff_ffffn ? '' : `/${hexC(mask)}`}`);
  }
  if (ins.gotoTable !== undefined) parts.push(`goto_table:${ins.gotoTable}`);
  return parts.length ? parts.join(',') : 'drop';
}
