/**
 * Logical actions to OpenFlow actions, as ovn-controller 23.03's `ovnacts_encode` (lib/actions.c)
 * does it.
 *
 * Design. Each parsed logical action (`@ovnts/ovn`'s action AST) becomes a short list of OpenFlow
 * actions on OVS registers: fields are resolved through the symbol table to OVS fields and bit
 * ranges; `next` and `output` are resubmits into the physical table of the target stage
 * (`OFTABLE_*`); conntrack actions become `ct(...)` in the datapath's zone register (reg13 for
 * switches, reg11/reg12 for routers); actions with many outcomes (`ct_lb_mark` with backends,
 * `select`, `fwd_group`) become select groups named by their full text in the group table; every
 * action ovn-controller performs itself becomes a `controller` action whose userdata is the
 * pinctrl opcode and, for nested actions (`arp { ... }`, `icmp4 { ... }`, ...), the inner actions
 * in OpenFlow 1.5 wire form (of-wire.ts), so `ovs-ofctl dump-flows` prints the same bytes.
 * Actions that take their operands in fixed registers (`get_arp`, `put_arp`, `lookup_fdb`, ...)
 * save the destinations on the field stack, push and pop the sources into them, and restore
 * them afterwards, exactly in OVN's order.
 */
import { fieldByName, type Action, type MatchField, type Subfield } from '@ovnts/openflow';
import { openflowField, resolveField, type LogicalAction as LAction, type CtLbDst, type FieldRef, type GenOption, type IntConstant } from '@ovnts/ovn';
import { ChassisError } from './errors.js';
import type { ExtendTable } from './extend-table.js';
import { appendActions, controllerHeader, oxmHeader } from './of-wire.js';
import type { OfAction } from './of-actions.js';
import { ACTION_OPCODE, MLF_BIT, NX_CTLR_NO_METER, OFTABLE } from './tables.js';

/** A DHCP option definition (southbound `DHCP_Options`/`DHCPv6_Options` row). */
export interface DhcpOptionInfo {
  /** Wire code. */
  readonly code: number;
  /** Value type (`ipv4`, `str`, `uint8`, ...). */
  readonly type: string;
}

/** What the encoder needs to know about the flow and the chassis (OVN's `ovnact_encode_params`). */
export interface EncodeParams {
  /** Port key of a logical port or multicast group of the flow's datapath (undefined when unknown). */
  lookupPort(name: string): number | undefined;
  /** OpenFlow port of the tunnel to the chassis of a logical port (undefined when none). */
  tunnelOfport(name: string): number | undefined;
  /** The datapath is a logical switch. */
  readonly isSwitch: boolean;
  /** Group ids. */
  readonly groups: ExtendTable;
  /** Meter ids. */
  readonly meters: ExtendTable;
  /** The logical flow's uuid. */
  readonly lflowUuid: string;
  /** The datapath's tunnel key. */
  readonly dpKey: number;
  /** The flow's pipeline. */
  readonly pipeline: 'ingress' | 'egress';
  /** Where `output;` resubmits (37 for ingress, 64 for egress). */
  readonly outputTable: number;
  /** Meter id of the flow's controller meter (`NX_CTLR_NO_METER` = none). */
  readonly ctrlMeterId: number;
  /** The zone register of `ct_dnat_in_czone`/`ct_snat_in_czone` (reg12 with `snat-ct-zone`, else reg11). */
  readonly commonNatZone: 'reg11' | 'reg12';
  /** DHCPv4 option definitions by name. */
  dhcpOption(name: string): DhcpOptionInfo | undefined;
  /** DHCPv6 option definitions by name. */
  dhcpv6Option(name: string): DhcpOptionInfo | undefined;
  /** IPFIX collector set ids configured on the bridge (`sample` without one is dropped). */
  readonly collectorIds?: ReadonlySet<number>;
}

const fieldCache = new Map<string, MatchField>();

/** The `@ovnts/openflow` field of an OVS field name. */
export function ofField(name: string): MatchField {
  let f = fieldCache.get(name);
  if (!f) {
    f = fieldByName(name);
    if (!f) throw new ChassisError('encode', `no OpenFlow field ${name}`);
    fieldCache.set(name, f);
  }
  return f;
}

/** A whole OVS field as a subfield. */
export function whole(name: string): Subfield {
  const f = ofField(name);
  return { field: f, ofs: 0, nBits: f.bits };
}

/** Bits of an OVS field. */
export function bits(name: string, ofs: number, nBits: number): Subfield {
  return { field: ofField(name), ofs, nBits };
}

/** OVN's `expr_resolve_field`: a logical field reference to OVS bits. */
export function resolve(f: FieldRef): Subfield {
  const r = resolveField(f.symbol, f.ofs, f.nBits);
  return { field: openflowField(r.field), ofs: r.ofs, nBits: r.nBits };
}

/** `put_load`: load `value` into bits `[ofs, ofs+nBits)` of a field (OVS prints it as a masked `set_field` unless it covers the field). */
export function load(value: bigint | number, field: string, ofs = 0, nBits?: number): Action {
  const f = ofField(field);
  const n = nBits ?? f.bits;
  const v = BigInt(value) << BigInt(ofs);
  if (ofs === 0 && n === f.bits) return { type: 'set_field', field: f, value: v };
  return { type: 'set_field', field: f, value: v, mask: ((1n << BigInt(n)) - 1n) << BigInt(ofs) };
}

/** `resubmit(,T)`. */
export function resubmit(table: number): Action {
  return { type: 'resubmit', table };
}

/** A `move` of `n` bits. */
export function move(src: Subfield, dst: Subfield): Action {
  return { type: 'move', src, dst };
}

function stackPush(s: Subfield): OfAction {
  return { type: 'stack_push', src: s };
}

function stackPop(s: Subfield): OfAction {
  return { type: 'stack_pop', dst: s };
}

/** A controller action carrying `payload` after the opcode header (OVN's `encode_*_controller_op`). */
export function controllerOp(opcode: number, pause: boolean, meterId: number, payload: Uint8Array = new Uint8Array(0)): Action {
  const ud = new Uint8Array(8 + payload.length);
  ud.set(controllerHeader(opcode), 0);
  ud.set(payload, 8);
  const a: Extract<Action, { type: 'controller' }> = { type: 'controller', maxLen: 65535, userdata: ud };
  if (pause) a.pause = true;
  if (meterId !== NX_CTLR_NO_METER) a.meterId = meterId;
  return a;
}

interface Arg {
  readonly src: Subfield;
  readonly dst: string;
}

function sameField(s: Subfield, dst: string): boolean {
  return s.field.name === ofField(dst).name;
}

/** `encode_setup_args`: save the destinations, push the sources in reverse, pop them into the destinations. */
function setupArgs(args: readonly Arg[], out: OfAction[]): void {
  for (const a of args) if (!sameField(a.src, a.dst)) out.push(stackPush(whole(a.dst)));
  for (let i = args.length - 1; i >= 0; i--) if (!sameField(args[i]!.src, args[i]!.dst)) out.push(stackPush(args[i]!.src));
  for (const a of args) if (!sameField(a.src, a.dst)) out.push(stackPop(whole(a.dst)));
}

/** `encode_restore_args`. */
function restoreArgs(args: readonly Arg[], out: OfAction[]): void {
  for (let i = args.length - 1; i >= 0; i--) if (!sameField(args[i]!.src, args[i]!.dst)) out.push(stackPop(whole(args[i]!.dst)));
}

/** Bytes of a bigint, big-endian. */
function be(v: bigint | number, n: number): number[] {
  const x = BigInt(v);
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(Number((x >> BigInt(8 * i)) & 0xffn));
  return out;
}

const utf8 = new TextEncoder();

function u32(v: number): number[] {
  return be(v, 4);
}

function intOf(c: IntConstant | string): IntConstant {
  if (typeof c === 'string') throw new ChassisError('encode', `expected a number, got string ${JSON.stringify(c)}`);
  return c;
}

function strOf(c: IntConstant | string): string {
  if (typeof c !== 'string') throw new ChassisError('encode', 'expected a string constant');
  return c;
}

function firstPtable(p: EncodeParams, pipeline: 'ingress' | 'egress' = p.pipeline): number {
  return pipeline === 'ingress' ? OFTABLE.LOG_INGRESS_PIPELINE : OFTABLE.LOG_EGRESS_PIPELINE;
}

function zoneReg(p: EncodeParams): Subfield {
  return bits(p.isSwitch ? 'reg13' : 'reg11', 0, 16);
}

function ipText(d: { family: 4 | 6; ip: bigint }): string {
  if (d.family === 4) return [24, 16, 8, 0].map((s) => Number((d.ip >> BigInt(s)) & 0xffn)).join('.');
  return formatIpv6Glibc(d.ip);
}

/** IPv6 text as glibc's `inet_ntop` writes it (what OVN puts in group texts). */
export function formatIpv6Glibc(v: bigint): string {
  const w: number[] = [];
  for (let i = 7; i >= 0; i--) w.push(Number((v >> BigInt(16 * i)) & 0xffffn));
  // An IPv4-mapped or -compatible address keeps a dotted tail, as glibc prints it.
  const isV4Tail = w.slice(0, 5).every((x) => x === 0) && (w[5] === 0xffff || (w[5] === 0 && (w[6]! > 0 || w[7]! > 1)));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (isV4Tail) {
    const tail = `${w[6]! >> 8}.${w[6]! & 0xff}.${w[7]! >> 8}.${w[7]! & 0xff}`;
    return w[5] === 0xffff ? `::ffff:${tail}` : `::${tail}`;
  }
  const hex = w.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/** The CT marks OVN sets in ct_lb groups (`OVN_CT_MASKED_STR`). */
const CT_NATTED = '0x2/0x2';
const CT_LB_SKIP_SNAT = '0x4/0x4';
const CT_LB_FORCE_SNAT = '0x8/0x8';

function encodeCtLb(a: Extract<LAction, { type: 'ct_lb' }>, p: EncodeParams, out: OfAction[]): void {
  const recirc = a.table + firstPtable(p);
  if (!a.dsts.length) {
    out.push({ type: 'ct', commit: false, force: false, table: recirc, zone: zoneReg(p), exec: [], nat: { flags: [] } });
    return;
  }
  const reg = p.isSwitch ? 13 : 11;
  const flagReg = a.mark ? 'ct_mark' : 'ct_label';
  const flag = a.flag === 'skip_snat' ? CT_LB_SKIP_SNAT : a.flag === 'force_snat' ? CT_LB_FORCE_SNAT : undefined;
  let s = `type=select,selection_method=${a.hashFields ? 'hash' : 'dp_hash'}`;
  if (a.hashFields) s += `,fields(${a.hashFields})`;
  a.dsts.forEach((d: CtLbDst, i: number) => {
    const ip = ipText(d);
    s += `,bucket=bucket_id=${i},weight:100,actions=ct(nat(dst=${d.family === 6 && d.port ? `[${ip}]` : ip}`;
    if (d.port) s += `:${d.port}`;
    s += `),commit,table=${recirc},zone=NXM_NX_REG${reg}[0..15],exec(set_field:${CT_NATTED}->${flagReg}`;
    if (flag) s += `,set_field:${flag}->${flagReg}`;
    s += '))';
  });
  const id = p.groups.assign(s, p.lflowUuid);
  if (id) out.push({ type: 'group', groupId: id });
}

function encodeCtNat(a: Extract<LAction, { type: 'ct_nat' }>, p: EncodeParams, out: OfAction[]): void {
  const zone =
    a.name === 'ct_dnat' ? 'reg11' : a.name === 'ct_snat' ? 'reg12' : p.commonNatZone;
  const nat: { kind?: 'src' | 'dst'; addrMin?: string; portMin?: number; portMax?: number; flags: string[] } = { flags: [] };
  if (a.dst) {
    nat.kind = a.name === 'ct_dnat' || a.name === 'ct_dnat_in_czone' ? 'dst' : 'src';
    nat.addrMin = a.dst.family === 6 ? `[${ipText(a.dst)}]` : ipText(a.dst);
  }
  if (a.portRange) {
    nat.portMin = a.portRange.lo;
    nat.portMax = a.portRange.hi;
  }
  out.push({ type: 'ct', commit: !!a.dst, force: false, table: a.table + firstPtable(p), zone: bits(zone, 0, 16), exec: [], nat });
}

function encodeNested(opcode: number, inner: readonly LAction[], p: EncodeParams, out: OfAction[]): void {
  const userdata = appendActions(controllerHeader(opcode), encodeActions(inner, p));
  const a: Extract<Action, { type: 'controller' }> = { type: 'controller', maxLen: 65535, userdata };
  if (p.ctrlMeterId !== NX_CTLR_NO_METER) a.meterId = p.ctrlMeterId;
  out.push(a);
}

const NESTED_OPCODE: Record<string, number> = {
  arp: ACTION_OPCODE.ARP,
  icmp4: ACTION_OPCODE.ICMP,
  icmp6: ACTION_OPCODE.ICMP,
  icmp4_error: ACTION_OPCODE.ICMP4_ERROR,
  icmp6_error: ACTION_OPCODE.ICMP6_ERROR,
  tcp_reset: ACTION_OPCODE.TCP_RESET,
  sctp_abort: ACTION_OPCODE.SCTP_ABORT,
  reject: ACTION_OPCODE.REJECT,
  nd_na: ACTION_OPCODE.ND_NA,
  nd_na_router: ACTION_OPCODE.ND_NA_ROUTER,
  nd_ns: ACTION_OPCODE.ND_NS,
};

function resultAction(dst: FieldRef, table: number, bit: number, out: OfAction[]): void {
  out.push(load(0, 'reg10', bit, 1), resubmit(table), move(bits('reg10', bit, 1), resolve(dst)));
}

/** `put_dhcp_opts` payload: the result field's OXM header and bit offset, then the options. */
function dhcpHeader(dst: FieldRef): number[] {
  const r = resolve(dst);
  return [...u32(oxmHeader(r.field)), ...u32(r.ofs)];
}

function ipv4Bytes(c: IntConstant): number[] {
  return be(c.value, 4);
}

function cidrBits(mask: bigint): number {
  let n = 0;
  for (let i = 31; i >= 0 && (mask >> BigInt(i)) & 1n; i--) n++;
  return n;
}

function encodeDhcpDomains(list: string): number[] {
  const out: number[] = [];
  const offsets = new Map<string, number>();
  for (const domain of list.split(',')) {
    if (domain.length > 255) return out;
    const labels = domain.split('.').filter((l) => l.length > 0);
    let ended = false;
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const prev = offsets.get(suffix);
      if (prev !== undefined) {
        out.push(0xc0 | (prev >> 8), prev & 0xff);
        ended = true;
        break;
      }
      offsets.set(suffix, out.length);
      out.push(labels[i]!.length, ...utf8.encode(labels[i]!));
    }
    if (!ended) out.push(0);
  }
  return out;
}

function encodeDhcpv4Option(o: GenOption, def: DhcpOptionInfo, out: number[]): void {
  const vals = o.value.values;
  const c = vals[0]!;
  const body: number[] = [];
  switch (def.type) {
    case 'bool':
    case 'uint8':
      body.push(...be(intOf(c).value, 1));
      break;
    case 'uint16':
      body.push(...be(intOf(c).value, 2));
      break;
    case 'uint32':
      body.push(...be(intOf(c).value, 4));
      break;
    case 'ipv4':
      for (const v of vals) body.push(...ipv4Bytes(intOf(v)));
      break;
    case 'static_routes': {
      const n = vals.length - (vals.length % 2);
      for (let i = 0; i < n; i += 2) {
        const net = intOf(vals[i]!);
        const plen = net.mask !== undefined ? cidrBits(net.mask) : 32;
        body.push(plen, ...ipv4Bytes(net).slice(0, Math.ceil(plen / 8)), ...ipv4Bytes(intOf(vals[i + 1]!)));
      }
      break;
    }
    case 'str':
      body.push(...utf8.encode(strOf(c)));
      break;
    case 'host_id':
      if (typeof c === 'string') body.push(...utf8.encode(c));
      else body.push(...ipv4Bytes(c));
      break;
    case 'domains':
      body.push(...encodeDhcpDomains(strOf(c)));
      break;
    default:
      throw new ChassisError('encode', `DHCP option ${o.name} has unknown type ${def.type}`);
  }
  out.push(def.code, body.length & 0xff, ...body);
}

type PutOpts = Extract<LAction, { type: 'put_dhcp_opts' | 'put_dhcpv6_opts' | 'put_nd_ra_opts' }>;

function encodePutDhcpOpts(a: PutOpts, p: EncodeParams, out: OfAction[]): void {
  const payload = dhcpHeader(a.dst);
  const defOf = (o: GenOption): DhcpOptionInfo => {
    const d = p.dhcpOption(o.name);
    if (!d) throw new ChassisError('encode', `DHCP option ${o.name} is not in the southbound DHCP_Options table`);
    return d;
  };
  const offer = a.options.find((o) => o.name === 'offerip');
  if (!offer) throw new ChassisError('encode', 'put_dhcp_opts without offerip');
  payload.push(...ipv4Bytes(intOf(offer.value.values[0]!)));
  const special = new Set<GenOption>([offer]);
  for (const code of [67, 254]) {
    const o = a.options.find((x) => p.dhcpOption(x.name)?.code === code);
    if (o) {
      const s = utf8.encode(strOf(o.value.values[0]!));
      payload.push(code, s.length & 0xff, ...s);
      special.add(o);
    }
  }
  const ns = a.options.find((x) => p.dhcpOption(x.name)?.code === 253);
  if (ns) {
    payload.push(253, 4, ...ipv4Bytes(intOf(ns.value.values[0]!)));
    special.add(ns);
  }
  for (const o of a.options) if (!special.has(o)) encodeDhcpv4Option(o, defOf(o), payload);
  out.push(controllerOp(ACTION_OPCODE.PUT_DHCP_OPTS, true, p.ctrlMeterId, Uint8Array.from(payload)));
}

function encodePutDhcpv6Opts(a: PutOpts, p: EncodeParams, out: OfAction[]): void {
  const payload = dhcpHeader(a.dst);
  for (const o of a.options) {
    const d = p.dhcpv6Option(o.name);
    if (!d) throw new ChassisError('encode', `DHCPv6 option ${o.name} is not in the southbound DHCPv6_Options table`);
    const body: number[] = [];
    if (d.type === 'ipv6') for (const v of o.value.values) body.push(...be(intOf(v).value, 16));
    else if (d.type === 'mac') body.push(...be(intOf(o.value.values[0]!).value, 6));
    else if (d.type === 'str') body.push(...utf8.encode(strOf(o.value.values[0]!)));
    payload.push(...be(d.code, 2), ...be(body.length, 2), ...body);
  }
  out.push(controllerOp(ACTION_OPCODE.PUT_DHCPV6_OPTS, true, p.ctrlMeterId, Uint8Array.from(payload)));
}

function dnsslBytes(list: string): number[] | undefined {
  const buf: number[] = [];
  let size = 8;
  for (const t0 of list.split(',')) {
    if (!t0.length) continue;
    size += t0.length + 2;
    if (size > 255) return undefined;
    for (const t1 of t0.split('.')) {
      if (!t1.length) continue;
      const bytes = utf8.encode(t1).slice(0, 255);
      buf.push(bytes.length, ...bytes);
    }
    buf.push(0);
  }
  const total = Math.ceil(size / 8) * 8;
  while (buf.length < total - 8) buf.push(0);
  return buf.slice(0, total - 8);
}

function encodePutNdRaOpts(a: PutOpts, p: EncodeParams, out: OfAction[]): void {
  const payload = dhcpHeader(a.dst);
  const ra = payload.length;
  payload.push(134, 0, 0, 0, 255, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0);
  const mo = ra + 5;
  for (const o of a.options) {
    const c = o.value.values[0]!;
    switch (o.name) {
      case 'addr_mode': {
        const s = strOf(c);
        if (s === 'dhcpv6_stateful') payload[mo] = payload[mo]! | 0x80;
        else if (s === 'dhcpv6_stateless') payload[mo] = payload[mo]! | 0x40;
        break;
      }
      case 'router_preference': {
        const s = strOf(c);
        payload[mo] = payload[mo]! | (s === 'LOW' ? 0x18 : s === 'HIGH' ? 0x08 : 0);
        break;
      }
      case 'slla':
        payload.push(1, 1, ...be(intOf(c).value, 6));
        break;
      case 'mtu':
        payload.push(5, 1, 0, 0, ...be(intOf(c).value, 4));
        break;
      case 'prefix': {
        const ic = intOf(c);
        let plen = 0;
        if (ic.mask !== undefined) for (let i = 127; i >= 0 && (ic.mask >> BigInt(i)) & 1n; i--) plen++;
        const la = 0x80 | (payload[mo]! & 0x80 ? 0 : 0x40);
        payload.push(3, 4, plen, la, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, ...be(ic.value, 16));
        break;
      }
      case 'rdnss':
        payload.push(25, 3, 0, 0, 0xff, 0xff, 0xff, 0xff, ...be(intOf(c).value, 16));
        break;
      case 'dnssl': {
        const d = dnsslBytes(strOf(c));
        if (d) payload.push(31, (d.length + 8) / 8, 0, 0, 0xff, 0xff, 0xff, 0xff, ...d);
        break;
      }
      case 'route_info':
        payload.push(...routeInfoBytes(strOf(c)));
        break;
      default:
        throw new ChassisError('encode', `unknown ND RA option ${o.name}`);
    }
  }
  if (payload[ra + 6] === 0 && payload[ra + 7] === 0) payload[mo] = payload[mo]! & 0xe7;
  out.push(controllerOp(ACTION_OPCODE.PUT_ND_RA_OPTS, true, p.ctrlMeterId, Uint8Array.from(payload)));
}

function routeInfoBytes(data: string): number[] {
  const out: number[] = [];
  for (const t0 of data.split(',')) {
    const parts = t0.split('-');
    const flags = parts[0] === 'HIGH' ? 0x08 : parts[0] === 'LOW' ? 0x18 : 0;
    const m = /^([0-9a-fA-F:.]+)\/(\d+)$/.exec(parts[1] ?? '');
    if (!m) break;
    const plen = Number(m[2]);
    const n = Math.ceil(plen / 64);
    const addr = parseIpv6Loose(m[1]!);
    if (addr === undefined) break;
    const masked = plen === 0 ? 0n : (addr >> BigInt(128 - plen)) << BigInt(128 - plen);
    out.push(24, 1 + n, plen, flags, 0xff, 0xff, 0xff, 0xff, ...be(masked, 16).slice(0, n * 8));
  }
  return out;
}

function parseIpv6Loose(s: string): bigint | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (x: string) => (x ? x.split(':').map((h) => parseInt(h, 16)) : []);
  const hi = parse(halves[0]!);
  const lo = halves.length === 2 ? parse(halves[1]!) : [];
  const words = halves.length === 2 ? [...hi, ...new Array(8 - hi.length - lo.length).fill(0), ...lo] : hi;
  if (words.length !== 8 || words.some((w) => !Number.isFinite(w))) return undefined;
  return words.reduce((acc: bigint, w: number) => (acc << 16n) | BigInt(w), 0n);
}

const SEVERITY: Record<string, number> = { alert: 1, warning: 4, notice: 5, info: 6, debug: 7 };
const VERDICT: Record<string, number> = { allow: 0, drop: 1, reject: 2 };

function parseLbAff(text: string): { vip: string; vipPort: number; backend: string; backendPort: number; proto: string; timeout: number; v6: boolean } {
  const m = /vip = "(\[([^\]]+)\]|([^":]+))(?::(\d+))?", backend = "(\[([^\]]+)\]|([^":]+))(?::(\d+))?"(?:, proto = (\w+))?, timeout = (\d+)/.exec(text);
  if (!m) throw new ChassisError('encode', `cannot encode ${text}`);
  return {
    vip: m[2] ?? m[3]!, vipPort: Number(m[4] ?? 0), backend: m[6] ?? m[7]!, backendPort: Number(m[8] ?? 0),
    proto: m[9] ?? '', timeout: Number(m[10]), v6: m[2] !== undefined,
  };
}

const PROTO_NUM: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

function ipValue(text: string, v6: boolean): bigint {
  if (!v6) return text.split('.').reduce((acc, x) => (acc << 8n) | BigInt(Number(x)), 0n);
  const v = parseIpv6Loose(text);
  if (v === undefined) throw new ChassisError('encode', `bad IPv6 address ${text}`);
  return v;
}

function encodeCommitLbAff(text: string, p: EncodeParams, out: OfAction[]): void {
  const a = parseLbAff(text);
  const specs: Extract<Action, { type: 'learn' }>['specs'] = [];
  const m = (dst: Subfield, src: Subfield | { value: bigint }) => specs.push({ kind: 'match', dst, src });
  const l = (dst: Subfield, value: bigint) => specs.push({ kind: 'load', dst, src: { value } });
  m(whole('metadata'), whole('metadata'));
  m(whole('eth_type'), { value: a.v6 ? 0x86ddn : 0x800n });
  m(whole(a.v6 ? 'ipv6_src' : 'ip_src'), whole(a.v6 ? 'ipv6_src' : 'ip_src'));
  m(whole(a.v6 ? 'ipv6_dst' : 'ip_dst'), { value: ipValue(a.vip, a.v6) });
  if (a.proto) {
    const proto = PROTO_NUM[a.proto]!;
    m(whole('nw_proto'), { value: BigInt(proto) });
    m(whole(a.proto === 'tcp' ? 'tcp_dst' : a.proto === 'udp' ? 'udp_dst' : 'sctp_dst'), { value: BigInt(a.vipPort) });
  }
  l(bits('reg10', MLF_BIT.USE_LB_AFF_SESSION, 1), 1n);
  if (a.v6) l(whole(p.isSwitch ? 'xxreg0' : 'xxreg1'), ipValue(a.backend, true));
  else l(whole('reg4'), ipValue(a.backend, false));
  if (a.backendPort) l(bits('reg8', 0, 16), BigInt(a.backendPort));
  out.push({
    type: 'learn', table: OFTABLE.CHK_LB_AFFINITY, idleTimeout: a.timeout, hardTimeout: 0, priority: 32768, cookie: 0n,
    finIdleTimeout: 0, finHardTimeout: 0, sendFlowRem: false, deleteLearned: true, specs,
  });
}

function encodeCommitEcmpNh(ipv6: boolean, proto: string, out: OfAction[]): void {
  for (const nwConn of [true, false]) {
    const specs: Extract<Action, { type: 'learn' }>['specs'] = [];
    const src = ipv6 ? 'ipv6_src' : 'ip_src';
    const dst = ipv6 ? 'ipv6_dst' : 'ip_dst';
    specs.push({ kind: 'match', dst: whole('metadata'), src: whole('metadata') });
    if (nwConn) specs.push({ kind: 'match', dst: whole('eth_src'), src: whole('eth_src') });
    specs.push({ kind: 'match', dst: whole('eth_type'), src: { value: ipv6 ? 0x86ddn : 0x800n } });
    specs.push({ kind: 'match', dst: whole(src), src: whole(nwConn ? src : dst) });
    specs.push({ kind: 'match', dst: whole(dst), src: whole(nwConn ? dst : src) });
    specs.push({ kind: 'match', dst: whole('nw_proto'), src: { value: BigInt(PROTO_NUM[proto]!) } });
    const l4 = proto === 'tcp' ? 'tcp' : proto === 'udp' ? 'udp' : 'sctp';
    specs.push({ kind: 'match', dst: whole(`${l4}_src`), src: whole(nwConn ? `${l4}_src` : `${l4}_dst`) });
    specs.push({ kind: 'match', dst: whole(`${l4}_dst`), src: whole(nwConn ? `${l4}_dst` : `${l4}_src`) });
    specs.push({ kind: 'load', dst: bits('reg10', MLF_BIT.LOOKUP_COMMIT_ECMP_NH, 1), src: { value: 1n } });
    out.push({
      type: 'learn', table: nwConn ? OFTABLE.ECMP_NH_MAC : OFTABLE.ECMP_NH, idleTimeout: 20, hardTimeout: 30, priority: 32768,
      cookie: 0n, finIdleTimeout: 0, finHardTimeout: 0, sendFlowRem: false, deleteLearned: true, specs,
    });
  }
}

function encodeOne(a: LAction, p: EncodeParams, out: OfAction[]): void {
  switch (a.type) {
    case 'output':
      out.push(resubmit(p.outputTable));
      return;
    case 'next':
      out.push(resubmit(firstPtable(p, a.pipeline) + a.table));
      return;
    case 'load': {
      const dst = resolve(a.dst);
      if (typeof a.imm === 'string') {
        const key = p.lookupPort(a.imm) ?? 0;
        out.push({ type: 'set_field', field: dst.field, value: BigInt(key) });
        return;
      }
      const sh = BigInt(dst.ofs);
      const fieldMask = (1n << BigInt(dst.nBits)) - 1n;
      const value = (a.imm.value & fieldMask) << sh;
      const mask = (a.imm.mask !== undefined ? a.imm.mask & fieldMask : fieldMask) << sh;
      const full = (1n << BigInt(dst.field.bits)) - 1n;
      out.push(mask === full ? { type: 'set_field', field: dst.field, value } : { type: 'set_field', field: dst.field, value, mask });
      return;
    }
    case 'ovnfield-load': {
      if (a.dst.symbol.name === 'icmp4.frag_mtu') out.push(controllerOp(ACTION_OPCODE.PUT_ICMP4_FRAG_MTU, true, p.ctrlMeterId, Uint8Array.from(be(a.value, 2))));
      else out.push(controllerOp(ACTION_OPCODE.PUT_ICMP6_FRAG_MTU, true, p.ctrlMeterId, Uint8Array.from(be(a.value, 4))));
      return;
    }
    case 'move':
      out.push(move(resolve(a.rhs), resolve(a.lhs)));
      return;
    case 'exchange':
      out.push(stackPush(resolve(a.rhs)), stackPush(resolve(a.lhs)), stackPop(resolve(a.rhs)), stackPop(resolve(a.lhs)));
      return;
    case 'push':
      out.push(stackPush(resolve(a.field)));
      return;
    case 'pop':
      out.push(stackPop(resolve(a.field)));
      return;
    case 'dec_ttl':
      out.push({ type: 'dec_ttl', ids: [] });
      return;
    case 'ct_next':
      out.push({ type: 'ct', commit: false, force: false, table: firstPtable(p) + a.table, zone: zoneReg(p), exec: [] });
      return;
    case 'ct_commit_v1': {
      if (swallowCt(out)) return;
      const exec: Action[] = [];
      if (a.ctMarkMask) exec.push({ type: 'set_field', field: ofField('ct_mark'), value: a.ctMark ?? 0n, mask: a.ctMarkMask });
      if (a.ctLabelMask) exec.push({ type: 'set_field', field: ofField('ct_label'), value: a.ctLabel ?? 0n, mask: a.ctLabelMask });
      out.push({ type: 'ct', commit: true, force: false, zone: bits('reg13', 0, 16), exec, nat: { kind: 'src', flags: [] } });
      return;
    }
    case 'nested':
      if (a.name === 'ct_commit') {
        if (swallowCt(out)) return;
        const exec = encodeActions(a.nested, p) as Action[];
        out.push({ type: 'ct', commit: true, force: false, zone: zoneReg(p), exec, nat: { kind: 'src', flags: [] } });
      } else if (a.name === 'clone') {
        out.push({ type: 'clone', actions: encodeActions(a.nested, p) });
      } else {
        encodeNested(NESTED_OPCODE[a.name]!, a.nested, p, out);
      }
      return;
    case 'ct_nat':
      encodeCtNat(a, p, out);
      return;
    case 'ct_commit_nat':
      out.push({ type: 'ct', commit: true, force: false, table: a.table + firstPtable(p), zone: zoneReg(p), exec: [], nat: { flags: [] } });
      return;
    case 'ct_lb':
      encodeCtLb(a, p, out);
      return;
    case 'select': {
      const sf = resolve(a.dst);
      let s = 'type=select,selection_method=dp_hash,selection_method_param=0x100000000';
      a.members.forEach((m, i) => {
        s += `,bucket=bucket_id=${i},weight:${m.weight},actions=load:${m.id}->${sf.field.name}[${sf.ofs}..${sf.ofs + sf.nBits - 1}],resubmit(,${a.table + firstPtable(p)})`;
      });
      const id = p.groups.assign(s, p.lflowUuid);
      if (id) out.push({ type: 'group', groupId: id });
      return;
    }
    case 'ct_clear':
      out.push({ type: 'ct_clear' });
      return;
    case 'ct_snat_to_vip':
      out.push(resubmit(OFTABLE.CT_SNAT_HAIRPIN));
      return;
    case 'igmp':
      out.push(controllerOp(ACTION_OPCODE.IGMP, false, p.ctrlMeterId));
      return;
    case 'get_arp':
    case 'get_nd': {
      const args: Arg[] = [
        { src: resolve(a.port), dst: 'reg15' },
        { src: resolve(a.ip), dst: a.type === 'get_arp' ? 'reg0' : 'xxreg0' },
      ];
      setupArgs(args, out);
      out.push(load(0, 'eth_dst'), resubmit(OFTABLE.MAC_BINDING));
      restoreArgs(args, out);
      return;
    }
    case 'put_arp':
    case 'put_nd': {
      const args: Arg[] = [
        { src: resolve(a.port), dst: 'reg14' },
        { src: resolve(a.ip), dst: a.type === 'put_arp' ? 'reg0' : 'xxreg0' },
        { src: resolve(a.mac), dst: 'eth_src' },
      ];
      setupArgs(args, out);
      out.push(controllerOp(a.type === 'put_arp' ? ACTION_OPCODE.PUT_ARP : ACTION_OPCODE.PUT_ND, false, p.ctrlMeterId));
      restoreArgs(args, out);
      return;
    }
    case 'lookup_arp':
    case 'lookup_nd': {
      const args: Arg[] = [
        { src: resolve(a.port), dst: 'reg14' },
        { src: resolve(a.ip), dst: a.type === 'lookup_arp' ? 'reg0' : 'xxreg0' },
        { src: resolve(a.mac), dst: 'eth_src' },
      ];
      setupArgs(args, out);
      out.push(load(0, 'reg10', MLF_BIT.LOOKUP_MAC, 1), resubmit(OFTABLE.MAC_LOOKUP), move(bits('reg10', MLF_BIT.LOOKUP_MAC, 1), resolve(a.dst)));
      restoreArgs(args, out);
      return;
    }
    case 'lookup_arp_ip':
    case 'lookup_nd_ip': {
      const args: Arg[] = [
        { src: resolve(a.port), dst: 'reg15' },
        { src: resolve(a.ip), dst: a.type === 'lookup_arp_ip' ? 'reg0' : 'xxreg0' },
      ];
      setupArgs(args, out);
      out.push(stackPush(whole('eth_dst')));
      out.push(load(0, 'reg10', MLF_BIT.LOOKUP_MAC, 1), resubmit(OFTABLE.MAC_BINDING), move(bits('reg10', MLF_BIT.LOOKUP_MAC, 1), resolve(a.dst)));
      out.push(stackPop(whole('eth_dst')));
      restoreArgs(args, out);
      return;
    }
    case 'put_dhcp_opts':
      encodePutDhcpOpts(a, p, out);
      return;
    case 'put_dhcpv6_opts':
      encodePutDhcpv6Opts(a, p, out);
      return;
    case 'put_nd_ra_opts':
      encodePutNdRaOpts(a, p, out);
      return;
    case 'result':
      switch (a.name) {
        case 'dns_lookup':
          out.push(controllerOp(ACTION_OPCODE.DNS_LOOKUP, true, p.ctrlMeterId, Uint8Array.from(dhcpHeader(a.dst))));
          return;
        case 'chk_lb_hairpin':
          resultAction(a.dst, OFTABLE.CHK_LB_HAIRPIN, MLF_BIT.LOOKUP_LB_HAIRPIN, out);
          return;
        case 'chk_lb_hairpin_reply':
          resultAction(a.dst, OFTABLE.CHK_LB_HAIRPIN_REPLY, MLF_BIT.LOOKUP_LB_HAIRPIN, out);
          return;
        case 'check_in_port_sec':
          resultAction(a.dst, OFTABLE.CHK_IN_PORT_SEC, MLF_BIT.CHECK_PORT_SEC, out);
          return;
        case 'check_out_port_sec':
          resultAction(a.dst, OFTABLE.CHK_OUT_PORT_SEC, MLF_BIT.CHECK_PORT_SEC, out);
          return;
        case 'chk_ecmp_nh_mac':
          resultAction(a.dst, OFTABLE.ECMP_NH_MAC, MLF_BIT.LOOKUP_COMMIT_ECMP_NH, out);
          return;
        case 'chk_ecmp_nh':
          resultAction(a.dst, OFTABLE.ECMP_NH, MLF_BIT.LOOKUP_COMMIT_ECMP_NH, out);
          return;
        case 'chk_lb_aff':
          resultAction(a.dst, OFTABLE.CHK_LB_AFFINITY, MLF_BIT.USE_LB_AFF_SESSION, out);
          return;
      }
      return;
    case 'check_pkt_larger':
      out.push({ type: 'check_pkt_larger', len: a.len, dst: resolve(a.dst) });
      return;
    case 'log': {
      let meterId = NX_CTLR_NO_METER;
      if (a.meter) {
        meterId = p.meters.assign(a.meter, p.lflowUuid);
        if (!meterId) return;
      }
      const payload = [VERDICT[a.verdict] ?? 0xff, SEVERITY[a.severity] ?? 6, ...(a.name ? utf8.encode(a.name) : [])];
      out.push(controllerOp(ACTION_OPCODE.LOG, false, meterId, Uint8Array.from(payload)));
      return;
    }
    case 'set_meter': {
      const name = a.burst
        ? `__string: uuid ${p.lflowUuid} kbps burst stats bands=type=drop rate=${a.rate} burst_size=${a.burst}`
        : `__string: uuid ${p.lflowUuid} kbps stats bands=type=drop rate=${a.rate}`;
      const id = p.meters.assign(name, p.lflowUuid);
      if (id) out.push({ type: 'meter', meterId: id });
      return;
    }
    case 'set_queue':
      out.push({ type: 'set_queue', queue: a.queue });
      return;
    case 'trigger_event': {
      const payload = [...u32(0)];
      for (const o of a.options) {
        const s = utf8.encode(strOf(o.value.values[0]!));
        const code = ['vip', 'protocol', 'load_balancer'].indexOf(o.name);
        payload.push(...be(code, 2), ...be(s.length, 2), ...s);
      }
      out.push(controllerOp(ACTION_OPCODE.EVENT, false, p.ctrlMeterId, Uint8Array.from(payload)));
      return;
    }
    case 'bind_vport': {
      const key = p.lookupPort(a.vport);
      if (key === undefined) return;
      const args: Arg[] = [{ src: resolve(a.port), dst: 'reg14' }];
      setupArgs(args, out);
      out.push(controllerOp(ACTION_OPCODE.BIND_VPORT, false, p.ctrlMeterId, Uint8Array.from(u32(key))));
      restoreArgs(args, out);
      return;
    }
    case 'handle_svc_check': {
      const args: Arg[] = [{ src: resolve(a.port), dst: 'reg14' }];
      setupArgs(args, out);
      out.push(controllerOp(ACTION_OPCODE.HANDLE_SVC_CHECK, false, p.ctrlMeterId));
      restoreArgs(args, out);
      return;
    }
    case 'fwd_group': {
      if (!a.ports.length) return;
      let s = 'type=select,selection_method=dp_hash';
      for (const port of a.ports) {
        const key = p.lookupPort(port);
        if (key === undefined) return;
        s += ',bucket=';
        if (a.liveness) {
          const of = p.tunnelOfport(port);
          if (of === undefined) return;
          s += `watch_port:${of},`;
        }
        s += `load=0x${key}->NXM_NX_REG15[0..15],resubmit(,${p.outputTable})`;
      }
      const id = p.groups.assign(s, p.lflowUuid);
      if (id) out.push({ type: 'group', groupId: id });
      return;
    }
    case 'handle_dhcpv6_reply':
      out.push(controllerOp(ACTION_OPCODE.DHCP6_SERVER, false, p.ctrlMeterId));
      return;
    case 'handle_bfd_msg':
      out.push(controllerOp(ACTION_OPCODE.BFD_MSG, false, p.ctrlMeterId));
      return;
    case 'put_fdb': {
      const args: Arg[] = [
        { src: resolve(a.port), dst: 'reg14' },
        { src: resolve(a.mac), dst: 'eth_src' },
      ];
      setupArgs(args, out);
      out.push(controllerOp(ACTION_OPCODE.PUT_FDB, false, p.ctrlMeterId));
      restoreArgs(args, out);
      return;
    }
    case 'get_fdb': {
      const dst = resolve(a.dst);
      const args: Arg[] = [{ src: resolve(a.mac), dst: 'eth_dst' }];
      setupArgs(args, out);
      out.push(load(0, 'reg15'), resubmit(OFTABLE.GET_FDB));
      restoreArgs(args, out);
      if (dst.field.name !== 'reg15') out.push(move(whole('reg15'), dst));
      return;
    }
    case 'lookup_fdb': {
      const args: Arg[] = [
        { src: resolve(a.port), dst: 'reg14' },
        { src: resolve(a.mac), dst: 'eth_src' },
      ];
      setupArgs(args, out);
      out.push(load(0, 'reg10', MLF_BIT.LOOKUP_FDB, 1), resubmit(OFTABLE.LOOKUP_FDB));
      restoreArgs(args, out);
      out.push(move(bits('reg10', MLF_BIT.LOOKUP_FDB, 1), resolve(a.dst)));
      return;
    }
    case 'commit_ecmp_nh':
      encodeCommitEcmpNh(a.ipv6, a.proto, out);
      return;
    case 'commit_lb_aff':
      encodeCommitLbAff(a.text, p, out);
      return;
    case 'sample': {
      const m = /probability=(\d+),collector_set=(\d+),obs_domain=(\d+),obs_point=(\$cookie|\d+)/.exec(a.text);
      if (!m) throw new ChassisError('encode', `cannot encode ${a.text}`);
      const collector = Number(m[2]);
      if (!p.collectorIds?.has(collector)) return;
      out.push({
        type: 'sample', probability: Number(m[1]), collectorSetId: collector,
        obsDomainId: ((Number(m[3]) << 24) | (p.dpKey & 0xffffff)) >>> 0,
        obsPointId: m[4] === '$cookie' ? parseInt(p.lflowUuid.slice(0, 8), 16) : Number(m[4]),
      });
      return;
    }
  }
}

/**
 * OVN 23.03's `encode_CT_COMMIT_V1`/`_V2` finish the `ct` action through `ofpacts->header` after
 * pushing back the whole buffer, so when actions precede it, the buffer's *first* action is
 * finished instead: its length grows over everything after it, and every action between the first
 * one and the end of the `ct` (the `ct` included) disappears from the flow ovn-controller installs.
 * `ovs-ofctl dump-flows` of real ovn-controller 23.03.1 shows exactly that (an ACL's
 * `log(...); ct_commit { ... }; reject { ... };` installs the log and the reject only), so the
 * chassis reproduces it: returns true when the ct is lost this way (and drops what it swallows).
 */
function swallowCt(out: OfAction[]): boolean {
  if (!out.length) return false;
  out.length = 1;
  return true;
}

/** Encode logical actions (OVN's `ovnacts_encode`). */
export function encodeActions(actions: readonly LAction[], p: EncodeParams): OfAction[] {
  const out: OfAction[] = [];
  for (const a of actions) encodeOne(a, p, out);
  return out;
}
