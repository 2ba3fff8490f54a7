/**
 * The symbol table: the names an OVN match expression may use (ovn/lib/logical-fields.c,
 * OVN 23.03, re-implemented), with what each one is in OpenFlow terms.
 *
 * Design. There are four kinds of symbol, as in OVN. A *field* is a whole OVS match field
 * (`eth.src` is `NXM_OF_ETH_SRC`); its level of measurement is ordinal when OVS can mask it
 * bitwise and nominal otherwise. A *subfield* names bits of a field (`vlan.vid` is
 * `vlan.tci[0..11]`, `reg0` is `xxreg0[96..127]`: overlapping registers are subfields of the
 * widest one, as OVN requires). A *predicate* is a 1-bit name for an expression (`ip4` is
 * `eth.type == 0x800`); it is nominal when its expansion mentions a nominal field. A *string*
 * field (`inport`, `outport`) compares port names that OVN maps to port keys in a register.
 * Each symbol may carry prerequisites, an expression that annotation ANDs in (`tcp.dst`
 * requires `tcp`). Subfield and predicate definitions are parsed with the expression parser
 * itself, so the table is built lazily once and then frozen.
 *
 * The OVS fields themselves are not declared here: each one is the entry of @ovnts/openflow's
 * match-field table (`fieldByName`) with the name OVN prints (its NXM name, else its OXM name,
 * as OVS's `nx_format_field_name` does for OpenFlow 1.5), its width (OVS's `n_bits`) and
 * maskability taken from there. A name the table lacks is an `ExprError` when this module loads.
 */
import { fieldByName, type MatchField } from '@ovnts/openflow';
import { ExprError } from './errors.js';
import { parseExprText, parseFieldText } from './parse.js';
import type { Expr } from './ast.js';

/** OVN's level of measurement of a symbol. */
export type ExprLevel = 'nominal' | 'boolean' | 'ordinal';

const levelRank: Record<ExprLevel, number> = { nominal: 0, boolean: 1, ordinal: 2 };

/** An OVS match field that a symbol stands for. */
export interface OvsField {
  /** The NXM/OXM name OVN prints for it (`nx_format_field_name`, OpenFlow 1.5). */
  readonly nxm: string;
  /** The field's name in `ovs-ofctl` flow syntax. */
  readonly name: string;
  /** Width in bits (OVS's `n_bits`; 0 for none). */
  readonly width: number;
  /** OVS can match any subset of its bits. */
  readonly maskable: boolean;
  /** The entry of @ovnts/openflow's field table (absent only for test-made fields). */
  readonly of?: MatchField;
}

/** A symbol in the table. */
export interface ExprSymbol {
  /** The name, e.g. `tcp.dst`. */
  readonly name: string;
  /** What kind of symbol. */
  readonly kind: 'field' | 'subfield' | 'predicate' | 'string' | 'ovn-field';
  /** Width in bits; 0 for string fields, 1 for predicates. */
  readonly width: number;
  /** Level of measurement. */
  readonly level: ExprLevel;
  /** Prerequisite expression text, if any. */
  readonly prereqs?: string;
  /** The OVS field (fields and string fields). */
  readonly field?: OvsField;
  /** The field a subfield selects bits from. */
  readonly parent?: ExprSymbol;
  /** Offset of a subfield's bit 0 within its parent. */
  readonly parentOfs?: number;
  /** Expansion text of a predicate. */
  readonly predicate?: string;
  /** Never use this field as a conjunctive-match dimension (crossproduct instead). */
  readonly mustCrossproduct: boolean;
  /** Writable from logical actions (OVS field writable; `ct_mark`/`ct_label` only in ct_commit). */
  readonly rw: 'none' | 'yes' | 'ct_commit';
}

/** A table of symbols by name. */
export class SymbolTable {
  private readonly map = new Map<string, ExprSymbol>();

  /** The symbol called `name`, if any. */
  get(name: string): ExprSymbol | undefined {
    return this.map.get(name);
  }

  /** All symbols, in the order they were added. */
  all(): ExprSymbol[] {
    return [...this.map.values()];
  }

  private add(s: ExprSymbol): ExprSymbol {
    if (this.map.has(s.name)) throw new ExprError(`symbol ${s.name} defined twice`);
    Object.freeze(s);
    this.map.set(s.name, s);
    return s;
  }

  /** Adds a field symbol for OVS field `field`. */
  addField(
    name: string,
    field: OvsField,
    prereqs?: string,
    mustCrossproduct = false,
    rw: ExprSymbol['rw'] = 'yes',
  ): ExprSymbol {
    return this.add({
      name,
      kind: 'field',
      width: field.width,
      level: field.maskable ? 'ordinal' : 'nominal',
      ...(prereqs ? { prereqs } : {}),
      field,
      mustCrossproduct,
      rw,
    });
  }

  /** Adds `name` as the bits `subfield` (text such as `vlan.tci[0..11]`) of an existing field. */
  addSubfield(name: string, prereqs: string | undefined, subfield: string, rw?: ExprSymbol['rw']): ExprSymbol {
    const f = parseFieldText(subfield, this);
    return this.add({
      name,
      kind: 'subfield',
      width: f.nBits,
      level: f.symbol.level,
      ...(prereqs ? { prereqs } : {}),
      parent: f.symbol,
      parentOfs: f.ofs,
      mustCrossproduct: false,
      rw: rw ?? f.symbol.rw,
    });
  }

  /** Adds a predicate `name` that stands for the expression `expansion`. */
  addPredicate(name: string, expansion: string): ExprSymbol {
    const level = exprLevel(parseExprText(expansion, { symtab: this }));
    return this.add({ name, kind: 'predicate', width: 1, level, predicate: expansion, mustCrossproduct: false, rw: 'none' });
  }

  /** Adds a string field (port name mapped to a port key in `field`). */
  addString(name: string, field: OvsField, prereqs?: string): ExprSymbol {
    return this.add({
      name,
      kind: 'string',
      width: 0,
      level: 'nominal',
      ...(prereqs ? { prereqs } : {}),
      field,
      mustCrossproduct: false,
      rw: 'yes',
    });
  }

  /** Adds an OVN-internal field (only meaningful in actions, e.g. `icmp4.frag_mtu`). */
  addOvnField(name: string, width: number): ExprSymbol {
    return this.add({ name, kind: 'ovn-field', width, level: 'nominal', mustCrossproduct: false, rw: 'yes' });
  }
}

/** OVN's `expr_get_level`: the level of measurement of an expression. */
export function exprLevel(e: Expr): ExprLevel {
  switch (e.type) {
    case 'cmp':
      return e.symbol.level === 'nominal' ? 'nominal' : 'boolean';
    case 'and':
    case 'or': {
      let level: ExprLevel = 'ordinal';
      for (const t of e.terms) {
        const l = exprLevel(t);
        if (levelRank[l] < levelRank[level]) level = l;
      }
      return level;
    }
    default:
      return 'boolean';
  }
}

/** A symbol's definition as `ovstest test-ovn dump-symtab` prints it (`reg0 = xxreg0[96..127]`). */
export function formatSymbol(s: ExprSymbol): string {
  if (s.parent) {
    const n = s.width;
    const ofs = s.parentOfs!;
    const sel = ofs || n !== s.parent.width ? (n !== 1 ? `[${ofs}..${ofs + n - 1}]` : `[${ofs}]`) : '';
    return `${s.name} = ${s.parent.name}${sel}`;
  }
  if (s.predicate !== undefined) return `${s.name} = ${s.predicate}`;
  if (s.kind === 'ovn-field') return `${s.name} = ${s.name}`;
  return `${s.name} = ${s.field!.nxm}`;
}

/** Where a symbol (or bits of it) lives in OpenFlow: OVN's `expr_resolve_field`. */
export interface ResolvedField {
  /** The OVS field. */
  field: OvsField;
  /** First bit within the OVS field. */
  ofs: number;
  /** Number of bits. */
  nBits: number;
}

/** Resolves bits `[ofs, ofs+nBits)` of `symbol` through its subfield parents to an OVS field. */
export function resolveField(symbol: ExprSymbol, ofs = 0, nBits = symbol.width): ResolvedField {
  let s = symbol;
  let o = ofs;
  while (s.parent) {
    o += s.parentOfs!;
    s = s.parent;
  }
  if (!s.field) throw new ExprError(`Symbol ${symbol.name} is not a field.`);
  return { field: s.field, ofs: o, nBits: s.width ? nBits : s.field.width };
}

/** The OVS field of @ovnts/openflow's table named `name`, as OVN's symbols see it. */
export function ovsField(name: string): OvsField {
  const f = fieldByName(name);
  if (!f || f.name !== name) throw new ExprError(`OVS field ${name} is not in the OpenFlow match-field table.`);
  const nxm = f.nxm?.name ?? f.oxm?.name;
  if (!nxm) throw new ExprError(`OVS field ${name} has no NXM or OXM name.`);
  return Object.freeze({ nxm, name: f.name, width: f.nBits, maskable: f.maskable, of: f });
}

/** The OpenFlow fields OVN's symbols use (OVN 23.03 `ovn_init_symtab`), by `ovs-ofctl` name. */
const OVN_OVS_FIELD_NAMES = [
  'metadata', 'pkt_mark', 'ct_state', 'ct_mark', 'ct_label', 'eth_src', 'eth_dst', 'eth_type', 'vlan_tci',
  'ip_src', 'ip_dst', 'ipv6_src', 'ipv6_dst', 'ipv6_label', 'nw_proto', 'ip_dscp', 'nw_ecn', 'nw_ttl', 'ip_frag',
  'arp_op', 'arp_spa', 'arp_tpa', 'arp_sha', 'arp_tha', 'tcp_src', 'tcp_dst', 'tcp_flags', 'udp_src', 'udp_dst',
  'sctp_src', 'sctp_dst', 'icmp_type', 'icmp_code', 'icmpv6_type', 'icmpv6_code', 'nd_target', 'nd_sll', 'nd_tll',
  'xxreg0', 'xxreg1', 'xreg4', 'reg10', 'reg11', 'reg12', 'reg13', 'reg14', 'reg15',
] as const;

/** The OVS fields OVN's symbols use, by `ovs-ofctl` name (from @ovnts/openflow's field table). */
export const OVS_FIELDS: { readonly [K in (typeof OVN_OVS_FIELD_NAMES)[number]]: OvsField } = Object.freeze(
  Object.fromEntries(OVN_OVS_FIELD_NAMES.map((n) => [n, ovsField(n)])) as { [K in (typeof OVN_OVS_FIELD_NAMES)[number]]: OvsField },
);

/** Logical flag bits in `flags` (reg10), OVN 23.03 `MLF_*_BIT`. */
export const LogicalFlagBits = {
  allowLoopback: 0,
  rcvFromRamp: 1,
  forceSnatForDnat: 2,
  forceSnatForLb: 3,
  localOnly: 4,
  nestedContainer: 5,
  lookupMac: 6,
  lookupLbHairpin: 7,
  lookupFdb: 8,
  skipSnatForLb: 9,
  localport: 10,
  useSnatZone: 11,
  checkPortSec: 12,
  lookupCommitEcmpNh: 13,
  useLbAffSession: 14,
} as const;

/** Conntrack state bits (`ct_state`), as OVS numbers them. */
export const CtStateBits = { new: 0, est: 1, rel: 2, rpl: 3, inv: 4, trk: 5, snat: 6, dnat: 7 } as const;

/** Number of logical registers reg0..reg9 (OVN's `MFF_N_LOG_REGS`). */
export const N_LOG_REGS = 10;

function buildOvnSymtab(): SymbolTable {
  const t = new SymbolTable();
  const O = OVS_FIELDS;
  t.addString('inport', O.reg14);
  t.addString('outport', O.reg15);

  // Registers: xxreg0..1 are fields, xreg0..3 and reg0..7 subfields of them; xreg4 (reg8/reg9) is a field.
  t.addField('xxreg0', O.xxreg0);
  t.addField('xxreg1', O.xxreg1);
  for (let xi = 0; xi < N_LOG_REGS / 2; xi++) {
    const xxi = Math.floor(xi / 2);
    if (xxi < Math.floor(N_LOG_REGS / 4)) {
      const lsb = 64 * (1 - (xi % 2));
      t.addSubfield(`xreg${xi}`, undefined, `xxreg${xxi}[${lsb}..${lsb + 63}]`);
    } else t.addField(`xreg${xi}`, O.xreg4);
  }
  for (let i = 0; i < N_LOG_REGS; i++) {
    const xxi = Math.floor(i / 4);
    if (xxi < Math.floor(N_LOG_REGS / 4)) {
      const lsb = 32 * (3 - (i % 4));
      t.addSubfield(`reg${i}`, undefined, `xxreg${xxi}[${lsb}..${lsb + 31}]`);
    } else {
      const lsb = 32 * (1 - (i % 2));
      t.addSubfield(`reg${i}`, undefined, `xreg${Math.floor(i / 2)}[${lsb}..${lsb + 31}]`);
    }
  }

  t.addField('flags', O.reg10);
  t.addSubfield('flags.loopback', undefined, `flags[${LogicalFlagBits.allowLoopback}]`);
  t.addSubfield('flags.force_snat_for_dnat', undefined, `flags[${LogicalFlagBits.forceSnatForDnat}]`);
  t.addSubfield('flags.force_snat_for_lb', undefined, `flags[${LogicalFlagBits.forceSnatForLb}]`);
  t.addSubfield('flags.skip_snat_for_lb', undefined, `flags[${LogicalFlagBits.skipSnatForLb}]`);
  t.addSubfield('flags.use_snat_zone', undefined, `flags[${LogicalFlagBits.useSnatZone}]`);

  t.addField('ct_mark', O.ct_mark, undefined, false, 'ct_commit');
  t.addSubfield('ct_mark.blocked', undefined, 'ct_mark[0]', 'ct_commit');
  t.addSubfield('ct_mark.natted', undefined, 'ct_mark[1]', 'ct_commit');
  t.addSubfield('ct_mark.ecmp_reply_port', undefined, 'ct_mark[16..31]', 'ct_commit');
  t.addSubfield('ct_mark.skip_snat', undefined, 'ct_mark[2]', 'ct_commit');
  t.addSubfield('ct_mark.force_snat', undefined, 'ct_mark[3]', 'ct_commit');
  t.addField('ct_label', O.ct_label, undefined, false, 'ct_commit');
  t.addSubfield('ct_label.blocked', undefined, 'ct_label[0]', 'ct_commit');
  t.addSubfield('ct_label.natted', undefined, 'ct_label[1]', 'ct_commit');
  t.addSubfield('ct_label.ecmp_reply_eth', undefined, 'ct_label[32..79]', 'ct_commit');
  t.addSubfield('ct_label.ecmp_reply_port', undefined, 'ct_label[80..95]', 'ct_commit');
  t.addSubfield('ct_label.label', undefined, 'ct_label[96..127]', 'ct_commit');
  t.addSubfield('ct_label.skip_snat', undefined, 'ct_label[2]', 'ct_commit');
  t.addSubfield('ct_label.force_snat', undefined, 'ct_label[3]', 'ct_commit');

  t.addField('ct_state', O.ct_state, undefined, false, 'none');
  for (const [name, bit] of Object.entries(CtStateBits)) {
    t.addSubfield(`ct.${name}`, bit === CtStateBits.trk ? undefined : 'ct.trk', `ct_state[${bit}]`);
  }

  t.addField('eth.src', O.eth_src);
  t.addField('eth.dst', O.eth_dst);
  t.addField('eth.type', O.eth_type, undefined, true);
  t.addPredicate('eth.bcast', 'eth.dst == ff:ff:ff:ff:ff:ff');
  t.addSubfield('eth.mcast', undefined, 'eth.dst[40]');
  t.addPredicate('eth.mcastv6', 'eth.dst[32..47] == 0x3333');

  t.addField('vlan.tci', O.vlan_tci);
  t.addPredicate('vlan.present', 'vlan.tci[12]');
  t.addSubfield('vlan.pcp', 'vlan.present', 'vlan.tci[13..15]');
  t.addSubfield('vlan.vid', 'vlan.present', 'vlan.tci[0..11]');

  t.addPredicate('ip4', 'eth.type == 0x800');
  t.addPredicate('ip6', 'eth.type == 0x86dd');
  t.addPredicate('ip', 'ip4 || ip6');
  t.addField('ip.proto', O.nw_proto, 'ip', true);
  t.addField('ip.dscp', O.ip_dscp, 'ip');
  t.addField('ip.ecn', O.nw_ecn, 'ip');
  t.addField('ip.ttl', O.nw_ttl, 'ip');

  t.addField('ip4.src', O.ip_src, 'ip4');
  t.addField('ip4.dst', O.ip_dst, 'ip4');
  t.addPredicate('ip4.src_mcast', 'ip4.src[28..31] == 0xe');
  t.addPredicate('ip4.mcast', 'eth.mcast && ip4.dst[28..31] == 0xe');

  t.addPredicate('icmp4', 'ip4 && ip.proto == 1');
  t.addField('icmp4.type', O.icmp_type, 'icmp4');
  t.addField('icmp4.code', O.icmp_code, 'icmp4');

  t.addPredicate('igmp', 'ip4 && ip.proto == 2');

  t.addField('ip6.src', O.ipv6_src, 'ip6');
  t.addField('ip6.dst', O.ipv6_dst, 'ip6');
  t.addField('ip6.label', O.ipv6_label, 'ip6');

  t.addPredicate('ip6.mcast_rsvd', 'ip6.dst[116..127] == 0xff0 && ip6.dst[0..111] == 0x0');
  t.addPredicate('ip6.mcast_all_nodes', 'ip6.dst == ff01::1 || ip6.dst == ff02::1');
  t.addPredicate('ip6.mcast_all_rtrs', 'ip6.dst == ff01::2 || ip6.dst == ff02::2 || ip6.dst == ff05::2');
  t.addPredicate('ip6.mcast_sol_node', 'ip6.dst == ff02::1:ff00:0000/104');
  t.addPredicate(
    'ip6.mcast_flood',
    'eth.mcastv6 && (ip6.mcast_rsvd || ip6.mcast_all_nodes || ip6.mcast_all_rtrs || ip6.mcast_sol_node)',
  );
  t.addPredicate('ip6.mcast', 'eth.mcastv6 && ip6.dst[120..127] == 0xff');

  t.addPredicate('icmp6', 'ip6 && ip.proto == 58');
  t.addField('icmp6.type', O.icmpv6_type, 'icmp6', true);
  t.addField('icmp6.code', O.icmpv6_code, 'icmp6', true);
  t.addPredicate('icmp', 'icmp4 || icmp6');

  t.addField('ip.frag', O.ip_frag, 'ip');
  t.addPredicate('ip.is_frag', 'ip.frag[0]');
  t.addPredicate('ip.later_frag', 'ip.frag[1]');
  t.addPredicate('ip.first_frag', 'ip.is_frag && !ip.later_frag');

  t.addPredicate('arp', 'eth.type == 0x806');
  t.addField('arp.op', O.arp_op, 'arp');
  t.addField('arp.spa', O.arp_spa, 'arp');
  t.addField('arp.sha', O.arp_sha, 'arp');
  t.addField('arp.tpa', O.arp_tpa, 'arp');
  t.addField('arp.tha', O.arp_tha, 'arp');

  // RARP has ARP's layout: OVN binds rarp.* to the same OVS fields (so they are fields, not subfields).
  t.addPredicate('rarp', 'eth.type == 0x8035');
  t.addField('rarp.op', O.arp_op, 'rarp');
  t.addField('rarp.spa', O.arp_spa, 'rarp');
  t.addField('rarp.sha', O.arp_sha, 'rarp');
  t.addField('rarp.tpa', O.arp_tpa, 'rarp');
  t.addField('rarp.tha', O.arp_tha, 'rarp');

  t.addPredicate('nd', 'icmp6.type == {135, 136} && icmp6.code == 0 && ip.ttl == 255');
  t.addPredicate('nd_ns', 'icmp6.type == 135 && icmp6.code == 0 && ip.ttl == 255');
  t.addPredicate('nd_na', 'icmp6.type == 136 && icmp6.code == 0 && ip.ttl == 255');
  t.addPredicate('nd_rs', 'icmp6.type == 133 && icmp6.code == 0 && ip.ttl == 255');
  t.addPredicate('nd_ra', 'icmp6.type == 134 && icmp6.code == 0 && ip.ttl == 255');
  t.addField('nd.target', O.nd_target, 'nd');
  t.addField('nd.sll', O.nd_sll, 'nd_ns');
  t.addField('nd.tll', O.nd_tll, 'nd_na');

  t.addPredicate('mldv1', 'ip6.src == fe80::/10 && icmp6.type == {130, 131, 132}');
  t.addPredicate('mldv2', 'ip6.dst == ff02::16 && icmp6.type == 143');

  t.addPredicate('tcp', 'ip.proto == 6');
  t.addField('tcp.src', O.tcp_src, 'tcp');
  t.addField('tcp.dst', O.tcp_dst, 'tcp');
  t.addField('tcp.flags', O.tcp_flags, 'tcp');

  t.addPredicate('udp', 'ip.proto == 17');
  t.addField('udp.src', O.udp_src, 'udp');
  t.addField('udp.dst', O.udp_dst, 'udp');

  t.addPredicate('sctp', 'ip.proto == 132');
  t.addField('sctp.src', O.sctp_src, 'sctp');
  t.addField('sctp.dst', O.sctp_dst, 'sctp');

  t.addField('pkt.mark', O.pkt_mark);

  t.addOvnField('icmp4.frag_mtu', 16);
  t.addOvnField('icmp6.frag_mtu', 32);
  return t;
}

let ovnTable: SymbolTable | undefined;

/** OVN 23.03's logical symbol table (`ovn_init_symtab`), built once. */
export function ovnSymtab(): SymbolTable {
  return (ovnTable ??= buildOvnSymtab());
}
