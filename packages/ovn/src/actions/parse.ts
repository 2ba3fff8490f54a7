/**
 * The parser of OVN logical actions (ovn-sb(5) "actions"; OVN 23.03 `lib/actions.c` behaviour,
 * re-implemented).
 *
 * Design. Recursive descent over the expression language's lexer (`Lexer` from expr/lex.ts), one
 * action at a time, each ending in `;`. As in OVN, an action that starts with a field followed by
 * `=`, `<->` or `[` is an assignment, and an assignment whose right side is one of the
 * "function" names followed by `(` (`check_in_port_sec()`, `put_dhcp_opts(...)`, `select(...)`,
 * ...) is that action with the left side as its result field. Nested actions (`arp { ... };`,
 * `ct_commit { ... };`) parse their body recursively with the same table context. Fields and
 * constants are type-checked with OVN's rules and messages (widths, string versus numeric,
 * writability, which for `ct_mark`/`ct_label` depends on being inside `ct_commit { }`). Each
 * field operand and some actions (`ct_next` and the other conntrack actions need `ip`, `arp { }`
 * needs `ip4`, ...) add prerequisites, which the caller ANDs into the flow's match as ovn-trace
 * and ovn-controller do. The first error is thrown as an `ActionError` with OVN's message.
 */
import { constantWidth, type ConstantSet, type IntConstant } from '../expr/check.js';
import { ExprError } from '../expr/errors.js';
import { Lexer, Tok } from '../expr/lex.js';
import { ExprParser, type ExprContext, type FieldRef } from '../expr/parse.js';
import { ovnSymtab, type SymbolTable } from '../expr/symbols.js';
import type { Action, ActionPipeline, CtLbDst, GenOption, NestedName, ParsedActions, ResultName } from './ast.js';

/** A logical action that does not parse, with OVN's message. */
export class ActionError extends Error {
  override readonly name = 'ActionError';
  constructor(
    message: string,
    /** The action text. */
    readonly input?: string,
    /** Offset of the offending token, when known. */
    readonly position?: number,
  ) {
    super(message);
  }
}

/** Where the actions are parsed: the flow's pipeline and table (for `next`, `ct_next`, ...). */
export interface ActionContext extends ExprContext {
  /** Pipeline of the flow (default ingress). */
  pipeline?: ActionPipeline;
  /** Logical table of the flow (default 0). */
  table?: number;
  /** Number of logical tables a `next` may reach (OVN's LOG_PIPELINE_LEN, 29 in 23.03). */
  nTables?: number;
}

/** OVN 23.03's number of logical tables per pipeline (`LOG_PIPELINE_LEN`). */
export const LOG_PIPELINE_LEN = 29;

type OptType = 'ipv4' | 'ipv6' | 'str' | 'host_id' | 'static_routes' | 'bool' | 'uint8' | 'uint16' | 'uint32' | 'domains' | 'mac';

/** DHCPv4 options ovn-northd 23.03 puts in the SB DHCP_Options table (name → type). */
export const DHCP_OPTS: Readonly<Record<string, OptType>> = {
  offerip: 'ipv4', netmask: 'ipv4', router: 'ipv4', dns_server: 'ipv4', log_server: 'ipv4', lpr_server: 'ipv4',
  hostname: 'str', domain_name: 'str', swap_server: 'ipv4', policy_filter: 'ipv4', router_solicitation: 'ipv4',
  nis_server: 'ipv4', ntp_server: 'ipv4', server_id: 'ipv4', tftp_server: 'host_id',
  classless_static_route: 'static_routes', ms_classless_static_route: 'static_routes', ip_forward_enable: 'bool',
  router_discovery: 'bool', ethernet_encap: 'bool', default_ttl: 'uint8', tcp_ttl: 'uint8', mtu: 'uint16',
  lease_time: 'uint32', T1: 'uint32', T2: 'uint32', bootfile_name: 'str', wpad: 'str', path_prefix: 'str',
  tftp_server_address: 'ipv4', domain_search_list: 'domains', broadcast_address: 'ipv4',
  netbios_name_server: 'ipv4', netbios_node_type: 'uint8', bootfile_name_alt: 'str', arp_cache_timeout: 'uint32',
  tcp_keepalive_interval: 'uint32', next_server: 'ipv4',
};

/** DHCPv6 options of OVN 23.03 (name → type). */
export const DHCPV6_OPTS: Readonly<Record<string, OptType>> = {
  server_id: 'mac', ia_addr: 'ipv6', dns_server: 'ipv6', domain_search: 'str',
};

/** IPv6 RA options of OVN 23.03 (`put_nd_ra_opts`). */
export const ND_RA_OPTS: Readonly<Record<string, OptType>> = {
  addr_mode: 'str', slla: 'mac', prefix: 'ipv6', mtu: 'uint32', rdnss: 'ipv6', dnssl: 'str', route_info: 'str',
  router_preference: 'str',
};

const EVENT_OPTS: Readonly<Record<string, Readonly<Record<string, OptType>>>> = {
  empty_lb_backends: { vip: 'str', protocol: 'str', load_balancer: 'str' },
};

const RESULT_NAMES: ReadonlySet<string> = new Set<ResultName>([
  'dns_lookup', 'chk_lb_hairpin', 'chk_lb_hairpin_reply', 'check_in_port_sec', 'check_out_port_sec',
  'chk_ecmp_nh_mac', 'chk_ecmp_nh', 'chk_lb_aff',
]);

const SEVERITIES = new Set(['alert', 'warning', 'notice', 'info', 'debug']);

/** Write scopes (OVN's `enum expr_write_scope`). */
const WR_DEFAULT = 1;
const WR_CT_COMMIT = 2;

class Parser {
  readonly lx: Lexer;
  readonly ep: ExprParser;
  readonly symtab: SymbolTable;
  readonly pipeline: ActionPipeline;
  readonly table: number;
  readonly nTables: number;
  prereqs: string[] = [];
  scope = WR_DEFAULT;

  constructor(
    readonly text: string,
    readonly ctx: ActionContext,
  ) {
    this.lx = new Lexer(text);
    this.lx.get();
    this.ep = new ExprParser(this.lx, ctx);
    this.symtab = ctx.symtab ?? ovnSymtab();
    this.pipeline = ctx.pipeline ?? 'ingress';
    this.table = ctx.table ?? 0;
    this.nTables = ctx.nTables ?? LOG_PIPELINE_LEN;
  }

  private addPrereq(p: string): void {
    this.prereqs.push(p);
  }

  /** OVN's `expr_field_parse`: a field, with its (and its parents') prerequisites. */
  parseField(): FieldRef {
    const f = this.ep.parseField();
    if (f.symbol.predicate !== undefined) this.lx.error(`Predicate symbol ${f.symbol.name} used where lvalue required.`);
    for (let s: typeof f.symbol | undefined = f.symbol; s; s = s.parent) if (s.prereqs) this.addPrereq(s.prereqs);
    return f;
  }

  /** OVN's `expr_type_check`. */
  typeCheck(f: FieldRef, nBits: number, rw: boolean): void {
    if (nBits !== f.nBits) {
      if (nBits && f.nBits) {
        this.lx.error(`Cannot use ${f.nBits}-bit field ${f.symbol.name}[${f.ofs}..${f.ofs + f.nBits - 1}] where ${nBits}-bit field is required.`);
      } else if (nBits) this.lx.error(`Cannot use string field ${f.symbol.name} where numeric field is required.`);
      else this.lx.error(`Cannot use numeric field ${f.symbol.name} where string field is required.`);
    }
    if (rw) {
      const r = f.symbol.rw === 'yes' ? WR_DEFAULT : f.symbol.rw === 'ct_commit' ? WR_CT_COMMIT : 0;
      if (!(r & this.scope)) this.lx.error(`Field ${f.symbol.name} is not modifiable.`);
    }
  }

  /** OVN's `action_parse_field`. */
  fieldArg(nBits: number, rw: boolean): FieldRef {
    const f = this.parseField();
    this.typeCheck(f, nBits, rw);
    return f;
  }

  uint16(what: string): number {
    const lx = this.lx;
    if (lx.isInt() && lx.token.value <= 0xffffn) {
      const v = Number(lx.token.value);
      lx.get();
      return v;
    }
    return lx.syntaxError(`expecting ${what}`);
  }

  parseActions(sentinel: Tok): Action[] {
    const lx = this.lx;
    const out: Action[] = [];
    if (lx.token.type === Tok.Id && lx.token.s === 'drop' && lx.lookahead() === Tok.Semicolon) {
      lx.get();
      lx.get();
      lx.forceMatch(sentinel);
      return out;
    }
    while (!lx.match(sentinel)) {
      if (lx.token.type === Tok.End && sentinel !== Tok.End) lx.syntaxError(`expecting \`${sentinel}'`);
      out.push(...this.parseAction());
    }
    return out;
  }

  private nested(name: NestedName, prereq: string | undefined, scope: number): Action {
    const lx = this.lx;
    lx.forceMatch(Tok.LCurly);
    const outerPrereqs = this.prereqs;
    const outerScope = this.scope;
    this.prereqs = [];
    this.scope = scope;
    const body = this.parseActions(Tok.RCurly);
    const inner = this.prereqs;
    this.prereqs = outerPrereqs;
    this.scope = outerScope;
    if (prereq) this.addPrereq(prereq);
    else this.prereqs.push(...inner);
    return { type: 'nested', name, nested: body };
  }

  private parseAction(): Action[] {
    const lx = this.lx;
    if (lx.token.type === Tok.Template) lx.error('Unexpanded template.');
    if (lx.token.type !== Tok.Id) lx.syntaxError();
    const la = lx.lookahead();
    let acts: Action[] = [];
    if (la === Tok.Equals || la === Tok.Exchange || la === Tok.LSquare) acts = this.parseSet();
    else {
      const id = lx.token.s;
      lx.get();
      acts = this.parseNamed(id);
    }
    lx.forceMatch(Tok.Semicolon);
    return acts;
  }

  private nextTableCheck(name: string): number {
    if (this.table >= this.nTables) this.lx.error(`"${name}" action not allowed in last table.`);
    return this.table + 1;
  }

  private parseNamed(id: string): Action[] {
    const lx = this.lx;
    switch (id) {
      case 'next':
        return [this.parseNext()];
      case 'push':
      case 'pop': {
        lx.forceMatch(Tok.LParen);
        const f = this.parseField();
        this.typeCheck(f, f.nBits, id === 'pop');
        lx.forceMatch(Tok.RParen);
        return [{ type: id, field: f }];
      }
      case 'output':
        return [{ type: 'output' }];
      case 'ip.ttl':
        lx.forceMatch(Tok.Decrement);
        this.addPrereq('ip');
        return [{ type: 'dec_ttl' }];
      case 'ct_next':
        if (this.table >= this.nTables) lx.error('"ct_next" action not allowed in last table.');
        this.addPrereq('ip');
        return [{ type: 'ct_next', table: this.table + 1 }];
      case 'ct_commit':
        return [this.parseCtCommit()];
      case 'ct_dnat':
      case 'ct_snat':
      case 'ct_dnat_in_czone':
      case 'ct_snat_in_czone':
        return [this.parseCtNat(id)];
      case 'ct_lb':
      case 'ct_lb_mark':
        return [this.parseCtLb(id === 'ct_lb_mark')];
      case 'ct_clear':
        return [{ type: 'ct_clear' }];
      case 'ct_commit_nat':
        this.addPrereq('ip');
        if (this.table >= this.nTables) lx.error('"ct_commit_related" action not allowed in last table.');
        return [{ type: 'ct_commit_nat', table: this.table + 1 }];
      case 'clone':
        return [this.nested('clone', undefined, WR_DEFAULT)];
      case 'arp':
      case 'icmp4':
      case 'icmp4_error':
        return [this.nested(id, 'ip4', this.scope)];
      case 'icmp6':
      case 'icmp6_error':
      case 'nd_ns':
        return [this.nested(id, 'ip6', this.scope)];
      case 'tcp_reset':
        return [this.nested(id, 'tcp', this.scope)];
      case 'sctp_abort':
        return [this.nested(id, 'sctp', this.scope)];
      case 'nd_na':
      case 'nd_na_router':
        return [this.nested(id, 'nd_ns', this.scope)];
      case 'reject':
        return [this.nested(id, undefined, this.scope)];
      case 'igmp':
        return [{ type: 'igmp' }];
      case 'get_arp':
      case 'get_nd': {
        lx.forceMatch(Tok.LParen);
        const port = this.fieldArg(0, false);
        lx.forceMatch(Tok.Comma);
        const ip = this.fieldArg(id === 'get_arp' ? 32 : 128, false);
        lx.forceMatch(Tok.RParen);
        return [{ type: id, port, ip }];
      }
      case 'put_arp':
      case 'put_nd': {
        lx.forceMatch(Tok.LParen);
        const port = this.fieldArg(0, false);
        lx.forceMatch(Tok.Comma);
        const ip = this.fieldArg(id === 'put_arp' ? 32 : 128, false);
        lx.forceMatch(Tok.Comma);
        const mac = this.fieldArg(48, false);
        lx.forceMatch(Tok.RParen);
        return [{ type: id, port, ip, mac }];
      }
      case 'set_queue': {
        lx.forceMatch(Tok.LParen);
        const q = lx.forceInt();
        lx.forceMatch(Tok.RParen);
        if (q < 0 || q > 0xf000) lx.error(`Queue ID ${q} for set_queue is not in valid range 0 to 61440.`);
        return [{ type: 'set_queue', queue: q }];
      }
      case 'log':
        return [this.parseLog()];
      case 'set_meter':
        return [this.parseSetMeter()];
      case 'trigger_event':
        return [this.parseTriggerEvent()];
      case 'bind_vport': {
        lx.forceMatch(Tok.LParen);
        if (lx.token.type !== Tok.String) lx.syntaxError('expecting port name string');
        const vport = lx.token.s;
        lx.get();
        lx.forceMatch(Tok.Comma);
        const port = this.fieldArg(0, false);
        lx.forceMatch(Tok.RParen);
        return [{ type: 'bind_vport', vport, port }];
      }
      case 'handle_svc_check': {
        lx.forceMatch(Tok.LParen);
        const port = this.fieldArg(0, false);
        lx.forceMatch(Tok.RParen);
        return [{ type: 'handle_svc_check', port }];
      }
      case 'fwd_group':
        return [this.parseFwdGroup()];
      case 'handle_dhcpv6_reply':
        return [{ type: 'handle_dhcpv6_reply' }];
      case 'handle_bfd_msg':
        return [{ type: 'handle_bfd_msg' }];
      case 'ct_snat_to_vip':
        return [{ type: 'ct_snat_to_vip' }];
      case 'put_fdb': {
        lx.forceMatch(Tok.LParen);
        const port = this.fieldArg(0, false);
        lx.forceMatch(Tok.Comma);
        const mac = this.fieldArg(48, false);
        lx.forceMatch(Tok.RParen);
        return [{ type: 'put_fdb', port, mac }];
      }
      case 'commit_ecmp_nh':
        return [this.parseCommitEcmpNh()];
      case 'commit_lb_aff':
        return [this.parseCommitLbAff()];
      case 'sample':
        return [this.parseSample()];
      default:
        // Not a known action: OVN's parser reports at the token after the identifier it failed to
        // match, which is the identifier itself (it has not consumed it).
        return lx.error(`Syntax error at \`${id}' expecting action.`);
    }
  }

  private parseNext(): Action {
    const lx = this.lx;
    if (!this.nTables) lx.error('"next" action not allowed here.');
    let pipeline = this.pipeline;
    let table = this.table + 1;
    if (lx.match(Tok.LParen)) {
      if (lx.isInt()) table = lx.forceInt();
      else {
        do {
          if (lx.matchId('pipeline')) {
            lx.forceMatch(Tok.Equals);
            if (lx.matchId('ingress')) pipeline = 'ingress';
            else if (lx.matchId('egress')) pipeline = 'egress';
            else lx.syntaxError('expecting "ingress" or "egress"');
          } else if (lx.matchId('table')) {
            lx.forceMatch(Tok.Equals);
            table = lx.forceInt();
          } else lx.syntaxError('expecting "pipeline" or "table"');
        } while (lx.match(Tok.Comma));
      }
      lx.forceMatch(Tok.RParen);
    }
    if (table >= this.nTables) lx.error(`"next" action cannot advance beyond table ${this.nTables - 1}.`);
    return { type: 'next', pipeline, table, srcPipeline: this.pipeline, srcTable: this.table };
  }

  private parseCtCommit(): Action {
    const lx = this.lx;
    if (lx.token.type === Tok.LCurly) return this.nested('ct_commit', 'ip', WR_CT_COMMIT);
    this.addPrereq('ip');
    if (lx.token.type !== Tok.LParen) return { type: 'nested', name: 'ct_commit', nested: [] };
    lx.get();
    let ctMark: bigint | undefined;
    let ctMarkMask: bigint | undefined;
    let ctLabel: bigint | undefined;
    let ctLabelMask: bigint | undefined;
    while (!lx.match(Tok.RParen)) {
      const isMark = lx.matchId('ct_mark');
      const isLabel = !isMark && lx.matchId('ct_label');
      if (!isMark && !isLabel) lx.syntaxError();
      lx.forceMatch(Tok.Equals);
      const t = lx.token;
      if (t.type !== Tok.Integer && t.type !== Tok.MaskedInteger) lx.syntaxError('expecting integer');
      const width = isMark ? 32n : 128n;
      const all = (1n << width) - 1n;
      const v = t.value & all;
      const m = t.type === Tok.MaskedInteger ? t.mask & all : all;
      if (isMark) {
        ctMark = v;
        ctMarkMask = m;
      } else {
        ctLabel = v;
        ctLabelMask = m;
      }
      lx.get();
      lx.match(Tok.Comma);
    }
    return {
      type: 'ct_commit_v1',
      ...(ctMark !== undefined ? { ctMark, ctMarkMask } : {}),
      ...(ctLabel !== undefined ? { ctLabel, ctLabelMask } : {}),
    };
  }

  private parseCtNat(name: 'ct_dnat' | 'ct_snat' | 'ct_dnat_in_czone' | 'ct_snat_in_czone'): Action {
    const lx = this.lx;
    this.addPrereq('ip');
    const table = this.nextTableCheck(name);
    if (!lx.match(Tok.LParen)) return { type: 'ct_nat', name, table };
    const t = lx.token;
    if (t.type !== Tok.Integer || (t.format !== 'ipv4' && t.format !== 'ipv6')) lx.syntaxError('expecting IPv4 or IPv6 address');
    const dst = { family: t.format === 'ipv4' ? (4 as const) : (6 as const), ip: t.value };
    lx.get();
    let portRange: { lo: number; hi: number } | undefined;
    if (lx.match(Tok.Comma)) {
      const p = lx.token;
      if (p.type !== Tok.Integer || p.format !== 'decimal') lx.syntaxError('expecting Integer for port range');
      const lo = Number(p.value);
      if (lo === 0) lx.syntaxError("range can't be 0");
      lx.get();
      let hi = 0;
      if (lx.match(Tok.Hyphen)) {
        if (lx.token.type !== Tok.Integer) lx.syntaxError('expecting Integer for port range');
        hi = Number(lx.token.value);
        if (hi <= lo) lx.syntaxError('range high should be greater than range low');
        lx.get();
      }
      portRange = { lo, hi };
    }
    lx.forceMatch(Tok.RParen);
    return { type: 'ct_nat', name, table, dst, ...(portRange ? { portRange } : {}) };
  }

  private parseCtLb(mark: boolean): Action {
    const lx = this.lx;
    if (this.table >= this.nTables) lx.error('"ct_lb" action not allowed in last table.');
    this.addPrereq('ip');
    const dsts: CtLbDst[] = [];
    let hashFields: string | undefined;
    let flag: 'skip_snat' | 'force_snat' | undefined;
    if (lx.match(Tok.LParen) && !lx.match(Tok.RParen)) {
      if (!lx.matchId('backends') || !lx.match(Tok.Equals)) lx.syntaxError('expecting backends');
      while (!lx.match(Tok.Semicolon) && !lx.match(Tok.RParen)) {
        let family: 4 | 6;
        let ip: bigint;
        let port = 0;
        if (lx.match(Tok.LSquare)) {
          if (lx.token.type !== Tok.Integer || lx.token.format !== 'ipv6') lx.syntaxError('expecting IPv6 address');
          family = 6;
          ip = lx.token.value;
          lx.get();
          if (!lx.match(Tok.RSquare)) lx.syntaxError('no closing square bracket');
          if (lx.match(Tok.Colon)) port = this.uint16('port number');
        } else {
          const t = lx.token;
          if (t.type !== Tok.Integer || (t.format !== 'ipv4' && t.format !== 'ipv6')) lx.syntaxError('expecting IP address');
          family = t.format === 'ipv4' ? 4 : 6;
          ip = t.value;
          lx.get();
          if (lx.match(Tok.Colon)) {
            if (family === 6) lx.syntaxError('IPv6 address needs square brackets if port is included');
            port = this.uint16('port number');
          }
        }
        lx.match(Tok.Comma);
        dsts.push({ family, ip, port });
      }
      if (lx.matchId('hash_fields')) {
        if (!lx.match(Tok.Equals) || lx.token.type !== Tok.String) lx.syntaxError('invalid hash_fields');
        hashFields = lx.token.s;
        lx.get();
        if (!lx.match(Tok.Semicolon)) lx.get();
      }
      if (lx.matchId('skip_snat')) {
        flag = 'skip_snat';
        lx.get();
      } else if (lx.matchId('force_snat')) {
        flag = 'force_snat';
        lx.get();
      }
    }
    return {
      type: 'ct_lb', mark, table: this.table + 1, dsts,
      ...(hashFields !== undefined ? { hashFields } : {}), ...(flag ? { flag } : {}),
    };
  }

  private parseLog(): Action {
    const lx = this.lx;
    let name: string | undefined;
    let verdict: 'allow' | 'drop' | 'reject' | undefined;
    let severity = 'info';
    let meter: string | undefined;
    if (lx.match(Tok.LParen)) {
      while (!lx.match(Tok.RParen)) {
        if (lx.matchId('verdict')) {
          lx.forceMatch(Tok.Equals);
          if (lx.matchId('drop')) verdict = 'drop';
          else if (lx.matchId('reject')) verdict = 'reject';
          else if (lx.matchId('allow')) verdict = 'allow';
          else lx.syntaxError('unknown verdict');
        } else if (lx.matchId('name')) {
          lx.forceMatch(Tok.Equals);
          if (lx.token.type !== Tok.String) lx.syntaxError('expecting string');
          if (Buffer.byteLength(lx.token.s) >= 64) lx.syntaxError('name must be shorter than 64 characters');
          name = lx.token.s;
          lx.get();
        } else if (lx.matchId('severity')) {
          lx.forceMatch(Tok.Equals);
          if (lx.token.type !== Tok.Id) lx.syntaxError('expecting severity');
          if (!SEVERITIES.has(lx.token.s)) lx.syntaxError('unknown severity');
          severity = lx.token.s;
          lx.get();
        } else if (lx.matchId('meter')) {
          lx.forceMatch(Tok.Equals);
          if (lx.token.type !== Tok.String) lx.syntaxError('expecting string');
          meter = lx.token.s;
          lx.get();
        } else lx.syntaxError();
        lx.match(Tok.Comma);
      }
    }
    if (!verdict) return lx.syntaxError('expecting verdict');
    return { type: 'log', ...(name !== undefined ? { name } : {}), verdict, severity, ...(meter !== undefined ? { meter } : {}) };
  }

  private parseSetMeter(): Action {
    const lx = this.lx;
    let rate = 0n;
    let burst = 0n;
    lx.forceMatch(Tok.LParen);
    if (lx.token.type === Tok.Integer && lx.token.format === 'decimal') rate = lx.token.value;
    lx.get();
    if (lx.match(Tok.Comma)) {
      if (lx.token.type === Tok.Integer && lx.token.format === 'decimal') burst = lx.token.value;
      lx.get();
    }
    lx.forceMatch(Tok.RParen);
    if (!rate) lx.error(`Rate ${rate} for set_meter is not in valid.`);
    return { type: 'set_meter', rate, burst };
  }

  private genOption(table: Readonly<Record<string, OptType>>, optsType: string): GenOption {
    const lx = this.lx;
    if (lx.token.type !== Tok.Id) lx.syntaxError();
    const name = lx.token.s;
    const type = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
    if (!type) lx.syntaxError(`expecting ${optsType} option name`);
    lx.get();
    lx.forceMatch(Tok.Equals);
    const value = this.ep.parseConstantSet();
    if (type === 'host_id') return { name, value };
    if (type === 'str' || type === 'domains') {
      if (value.type !== 'string') lx.error(`${optsType} option ${name} requires string value.`);
    } else if (value.type !== 'integer') lx.error(`${optsType} option ${name} requires numeric value.`);
    return { name, value };
  }

  private parsePutOpts(dst: FieldRef, type: 'put_dhcp_opts' | 'put_dhcpv6_opts' | 'put_nd_ra_opts'): Action {
    const lx = this.lx;
    lx.get(); // name
    lx.get(); // (
    this.typeCheck(dst, 1, true);
    const table = type === 'put_dhcp_opts' ? DHCP_OPTS : type === 'put_dhcpv6_opts' ? DHCPV6_OPTS : ND_RA_OPTS;
    const optsType = type === 'put_dhcp_opts' ? 'DHCPv4' : type === 'put_dhcpv6_opts' ? 'DHCPv6' : 'ND RA';
    const options: GenOption[] = [];
    while (!lx.match(Tok.RParen)) {
      options.push(this.genOption(table, optsType));
      lx.match(Tok.Comma);
    }
    if (type === 'put_dhcp_opts' && !options.some((o) => o.name === 'offerip')) {
      lx.error('put_dhcp_opts requires offerip to be specified.');
    }
    if (type === 'put_nd_ra_opts') this.addPrereq('ip6');
    return { type, dst, options };
  }

  private parseTriggerEvent(): Action {
    const lx = this.lx;
    lx.forceMatch(Tok.LParen);
    if (!lx.matchId('event')) lx.syntaxError("Expecting 'event' option");
    lx.forceMatch(Tok.Equals);
    if (lx.token.type !== Tok.String || lx.token.s.length >= 64) lx.syntaxError('Expecting string');
    const event = lx.token.s;
    const table = EVENT_OPTS[event];
    if (!table) lx.syntaxError(`Unknown event '-1'`);
    lx.get();
    lx.match(Tok.Comma);
    const options: GenOption[] = [];
    while (!lx.match(Tok.RParen)) {
      options.push(this.genOption(table, event));
      lx.match(Tok.Comma);
    }
    return { type: 'trigger_event', event, options };
  }

  private parseFwdGroup(): Action {
    const lx = this.lx;
    let liveness = false;
    const ports: string[] = [];
    if (lx.match(Tok.LParen)) {
      if (lx.matchId('liveness')) {
        lx.forceMatch(Tok.Equals);
        if (this.matchBool(true)) liveness = true;
        else if (this.matchBool(false)) liveness = false;
        else lx.syntaxError('expecting true or false');
        lx.forceMatch(Tok.Comma);
      }
      if (lx.matchId('childports')) {
        lx.forceMatch(Tok.Equals);
        while (!lx.match(Tok.RParen)) {
          if (lx.token.type !== Tok.String) lx.syntaxError('expecting logical switch port');
          ports.push(lx.token.s);
          lx.get();
          lx.match(Tok.Comma);
        }
      }
    }
    return { type: 'fwd_group', liveness, ports };
  }

  private matchBool(v: boolean): boolean {
    const lx = this.lx;
    const s = v ? 'true' : 'false';
    if ((lx.token.type === Tok.String || lx.token.type === Tok.Id) && lx.token.s === s) {
      lx.get();
      return true;
    }
    return false;
  }

  private parseCommitEcmpNh(): Action {
    const lx = this.lx;
    lx.forceMatch(Tok.LParen);
    if (!lx.matchId('ipv6')) lx.syntaxError('invalid parameter');
    lx.forceMatch(Tok.Equals);
    let ipv6: boolean;
    if (this.matchBool(true)) ipv6 = true;
    else if (this.matchBool(false)) ipv6 = false;
    else return lx.syntaxError('expecting true or false');
    lx.forceMatch(Tok.Comma);
    if (!lx.matchId('proto')) lx.syntaxError('invalid parameter');
    lx.forceMatch(Tok.Equals);
    let proto: 'tcp' | 'udp' | 'sctp';
    if (lx.matchId('tcp')) proto = 'tcp';
    else if (lx.matchId('udp')) proto = 'udp';
    else if (lx.matchId('sctp')) proto = 'sctp';
    else return lx.syntaxError('invalid protocol');
    lx.forceMatch(Tok.RParen);
    return { type: 'commit_ecmp_nh', ipv6, proto };
  }

  private lbKey(): { ip: string; port: number; v6: boolean } {
    const lx = this.lx;
    if (lx.token.type !== Tok.String) lx.syntaxError('invalid parameter');
    const s = lx.token.s;
    const m6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(s) ?? /^([0-9a-fA-F]*:[0-9a-fA-F:.]*)()$/.exec(s);
    const m4 = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(s);
    const m = m6 ?? m4;
    if (!m) return lx.syntaxError('invalid parameter');
    lx.get();
    return { ip: m[1]!, port: m[2] ? Number(m[2]) : 0, v6: !!m6 };
  }

  private parseCommitLbAff(): Action {
    const lx = this.lx;
    lx.forceMatch(Tok.LParen);
    if (!lx.matchId('vip')) lx.syntaxError('invalid parameter');
    if (!lx.match(Tok.Equals)) lx.syntaxError('invalid parameter');
    const vip = this.lbKey();
    lx.forceMatch(Tok.Comma);
    if (!lx.matchId('backend')) lx.syntaxError('invalid parameter');
    if (!lx.match(Tok.Equals)) lx.syntaxError('invalid parameter');
    const be = this.lbKey();
    if (be.v6 !== vip.v6) lx.syntaxError('invalid protocol family');
    lx.forceMatch(Tok.Comma);
    let proto = '';
    if (vip.port) {
      if (!lx.matchId('proto')) lx.syntaxError('invalid parameter');
      if (!lx.match(Tok.Equals)) lx.syntaxError('invalid parameter');
      if (lx.matchId('tcp')) proto = 'tcp';
      else if (lx.matchId('udp')) proto = 'udp';
      else if (lx.matchId('sctp')) proto = 'sctp';
      else lx.syntaxError('invalid protocol');
      lx.forceMatch(Tok.Comma);
    }
    if (!lx.matchId('timeout')) lx.syntaxError('invalid parameter');
    if (!lx.match(Tok.Equals)) lx.syntaxError('invalid parameter');
    const timeout = this.uint16('affinity timeout');
    lx.forceMatch(Tok.RParen);
    const addr = (a: { ip: string; v6: boolean }) => (a.v6 ? `[${a.ip}]` : a.ip);
    let text = `commit_lb_aff(vip = "${addr(vip)}${vip.port ? `:${vip.port}` : ''}"`;
    text += `, backend = "${addr(be)}${be.port ? `:${be.port}` : ''}"`;
    if (proto) text += `, proto = ${proto}`;
    text += `, timeout = ${timeout});`;
    return { type: 'commit_lb_aff', text, vip, backend: be, proto, timeout };
  }

  private parseSample(): Action {
    const lx = this.lx;
    let probability = 0;
    let collector = 0n;
    let domain = 0;
    let point = '0';
    if (lx.match(Tok.LParen)) {
      while (!lx.match(Tok.RParen)) {
        if (lx.matchId('probability')) {
          lx.forceMatch(Tok.Equals);
          if (lx.token.type === Tok.Integer && lx.token.format === 'decimal') probability = this.uint16('probability');
        } else if (lx.matchId('obs_point')) {
          lx.forceMatch(Tok.Equals);
          if (lx.token.type === Tok.Macro && lx.token.s === 'cookie') point = '$cookie';
          else if (lx.token.type === Tok.Integer && lx.token.format === 'decimal') point = String(lx.token.value & 0xffffffffn);
          else lx.syntaxError('malformed sample observation_point_id');
          lx.get();
        } else if (lx.matchId('obs_domain')) {
          lx.forceMatch(Tok.Equals);
          if (lx.token.type === Tok.Integer && lx.token.format === 'decimal') {
            if (lx.token.value > 255n) lx.syntaxError('obs_domain must be 8-bit long');
            domain = Number(lx.token.value);
          }
          lx.get();
        } else if (lx.matchId('collector_set')) {
          lx.forceMatch(Tok.Equals);
          if (lx.token.type === Tok.Integer && lx.token.format === 'decimal') collector = lx.token.value & 0xffffffffn;
          lx.get();
        } else lx.syntaxError('unknown argument');
        lx.match(Tok.Comma);
      }
    }
    return { type: 'sample', text: `sample(probability=${probability},collector_set=${collector},obs_domain=${domain},obs_point=${point});` };
  }

  /** Assignment, exchange, or a `dst = function(...)` action. */
  private parseSet(): Action[] {
    const lx = this.lx;
    const lhs = this.parseField();
    if (lx.match(Tok.Exchange)) return [this.parseAssignment(true, lhs)];
    if (!lx.match(Tok.Equals)) return lx.syntaxError("expecting `=' or `<->'");
    if (lx.token.type !== Tok.Id) return [this.parseLoad(lhs)];
    const fn = lx.token.s;
    if (lx.lookahead() === Tok.LParen) {
      switch (fn) {
        case 'select':
          return [this.parseSelect(lhs)];
        case 'put_dhcp_opts':
        case 'put_dhcpv6_opts':
        case 'put_nd_ra_opts':
          return [this.parsePutOpts(lhs, fn)];
        case 'check_pkt_larger': {
          this.typeCheck(lhs, 1, true);
          lx.get();
          lx.forceMatch(Tok.LParen);
          const len = lx.forceInt();
          lx.forceMatch(Tok.RParen);
          return [{ type: 'check_pkt_larger', dst: lhs, len }];
        }
        case 'lookup_arp':
        case 'lookup_nd': {
          this.typeCheck(lhs, 1, true);
          lx.get();
          lx.get();
          const port = this.fieldArg(0, false);
          lx.forceMatch(Tok.Comma);
          const ip = this.fieldArg(fn === 'lookup_arp' ? 32 : 128, false);
          lx.forceMatch(Tok.Comma);
          const mac = this.fieldArg(48, false);
          lx.forceMatch(Tok.RParen);
          return [{ type: fn, dst: lhs, port, ip, mac }];
        }
        case 'lookup_arp_ip':
        case 'lookup_nd_ip': {
          this.typeCheck(lhs, 1, true);
          lx.get();
          lx.get();
          const port = this.fieldArg(0, false);
          lx.forceMatch(Tok.Comma);
          const ip = this.fieldArg(fn === 'lookup_arp_ip' ? 32 : 128, false);
          lx.forceMatch(Tok.RParen);
          return [{ type: fn, dst: lhs, port, ip }];
        }
        case 'get_fdb': {
          lx.get();
          lx.get();
          if (lhs.nBits) this.typeCheck(lhs, 32, true);
          const mac = this.fieldArg(48, false);
          lx.forceMatch(Tok.RParen);
          return [{ type: 'get_fdb', dst: lhs, mac }];
        }
        case 'lookup_fdb': {
          lx.get();
          lx.get();
          this.typeCheck(lhs, 1, true);
          const port = this.fieldArg(0, false);
          lx.forceMatch(Tok.Comma);
          const mac = this.fieldArg(48, false);
          lx.forceMatch(Tok.RParen);
          return [{ type: 'lookup_fdb', dst: lhs, port, mac }];
        }
        default:
          if (RESULT_NAMES.has(fn)) {
            lx.get();
            lx.get();
            if (!lx.match(Tok.RParen)) lx.error(`${fn} doesn't take any parameters`);
            this.typeCheck(lhs, 1, true);
            if (fn === 'dns_lookup') this.addPrereq('udp');
            return [{ type: 'result', name: fn as ResultName, dst: lhs }];
          }
      }
    }
    return [this.parseAssignment(false, lhs)];
  }

  private parseSelect(dst: FieldRef): Action {
    const lx = this.lx;
    this.typeCheck(dst, dst.nBits, true);
    if (dst.nBits < 16) {
      lx.error(`cannot use ${dst.nBits}-bit field ${dst.symbol.name}[${dst.ofs}..${dst.ofs + dst.nBits - 1}] for "select", which requires at least 16 bits.`);
    }
    if (this.table >= this.nTables) lx.error('"select" action not allowed in last table.');
    lx.get();
    lx.get();
    const members: { id: number; weight: number }[] = [];
    while (!lx.match(Tok.RParen)) {
      const id = this.uint16('id');
      let weight = 0;
      if (lx.match(Tok.Equals)) {
        weight = this.uint16('weight');
        if (weight === 0) lx.syntaxError("weight can't be 0");
      }
      members.push({ id, weight: weight || 100 });
      lx.match(Tok.Comma);
    }
    if (members.length <= 1) lx.syntaxError('expecting at least 2 group members');
    return { type: 'select', dst, table: this.table + 1, members };
  }

  private parseLoad(lhs: FieldRef): Action {
    const lx = this.lx;
    this.typeCheck(lhs, lhs.nBits, true);
    const cs: ConstantSet = { type: 'integer', values: [], inCurlies: false };
    // OVN's parse_constant: one constant (no sets) of the field's type.
    const t = lx.token;
    if (t.type === Tok.String) {
      cs.type = 'string';
      cs.values.push(t.s);
    } else if (t.type === Tok.Integer || t.type === Tok.MaskedInteger) {
      cs.values.push(t.type === Tok.MaskedInteger ? { value: t.value, mask: t.mask, format: t.format } : { value: t.value, format: t.format });
    } else if (t.type === Tok.Template) lx.error('Unexpanded template.');
    else lx.syntaxError('expecting constant');
    const sym = lhs.symbol;
    if (cs.type !== (sym.width ? 'integer' : 'string')) {
      lx.error(`${sym.width ? 'Integer' : 'String'} field ${sym.name} is not compatible with ${cs.type} constant.`);
    }
    if (sym.width) {
      const c = cs.values[0] as IntConstant;
      const w = constantWidth(c);
      if (w > sym.width) lx.error(`${w}-bit constant is not compatible with ${sym.width}-bit field ${sym.name}.`);
    }
    lx.get();
    if (sym.kind === 'ovn-field') {
      const c = cs.values[0] as IntConstant;
      return { type: 'ovnfield-load', dst: lhs, value: Number(c.value) };
    }
    return { type: 'load', dst: lhs, imm: cs.values[0]! };
  }

  private parseAssignment(exchange: boolean, lhs: FieldRef): Action {
    const lx = this.lx;
    const rhs = this.parseField();
    const ls = lhs.symbol;
    const rs = rhs.symbol;
    if ((ls.width !== 0) !== (rs.width !== 0)) {
      if (exchange) {
        lx.error(`Can't exchange ${ls.width ? 'integer' : 'string'} field (${ls.name}) with ${rs.width ? 'integer' : 'string'} field (${rs.name}).`);
      }
      lx.error(`Can't assign ${rs.width ? 'integer' : 'string'} field (${rs.name}) to ${ls.width ? 'integer' : 'string'} field (${ls.name}).`);
    }
    if (lhs.nBits !== rhs.nBits) {
      if (exchange) lx.error(`Can't exchange ${lhs.nBits}-bit field with ${rhs.nBits}-bit field.`);
      lx.error(`Can't assign ${rhs.nBits}-bit value to ${lhs.nBits}-bit destination.`);
    }
    this.typeCheck(lhs, lhs.nBits, true);
    this.typeCheck(rhs, rhs.nBits, exchange);
    return { type: exchange ? 'exchange' : 'move', lhs, rhs };
  }
}

/**
 * Parses OVN logical actions (`next; outport = "p1"; output;`). `ctx` gives the flow's pipeline
 * and table and, for names used in them, address sets and port groups. Throws `ActionError` with
 * OVN's message (e.g. ``Syntax error at `foo' expecting action.``).
 */
export function parseActions(text: string, ctx: ActionContext = {}): ParsedActions {
  try {
    const p = new Parser(text, ctx);
    const actions = p.parseActions(Tok.End);
    return { actions, prereqs: p.prereqs };
  } catch (e) {
    if (e instanceof ExprError) throw new ActionError(e.message, text, e.position);
    throw e;
  }
}
