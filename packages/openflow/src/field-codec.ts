/**
 * The match-field table on the wire: NXM and OXM entries (header, value, optional mask) for every
 * field of fields.ts that has an NXM or OXM identity, whole matches in NXM (`nx_match`), OXM
 * (`ofp_match` of type OFPMT_OXM) and OpenFlow 1.0 (`ofp10_match`) form, and the 32-bit field
 * headers that actions and learn specs use to name a field.
 *
 * Which header a field gets in which OpenFlow version follows OVS 3.1 (lib/nx-match.c,
 * `nxm_field_by_mf_id`): a field's candidate headers are its NXM header (usable everywhere) and
 * its OXM headers, each with the first OpenFlow version that defines it; the last candidate whose
 * version is not above the requested one wins, and "version 0" (the NXM format) takes the first.
 * So `tcp_flags` is NXM_NX_TCP_FLAGS in NXM and OpenFlow 1.2, the ONF experimenter OXM in 1.3 and
 * 1.4, and OXM_OF_TCP_FLAGS in 1.5. The facts that are not in the field table (when each OXM
 * appeared, the ONF experimenter headers, OpenFlow 1.1 port numbers in OXM `in_port`) are the
 * `OXM_SINCE`/`ONF_OXM` notes below.
 *
 * Matches are written in OVS's order (`nx_put_raw`): a byte-for-byte equal encoding lets tests
 * compare our messages with the ones OVS sends. Decoding (`nx_pull_raw`) raises the OpenFlow errors
 * OVS raises, in the same order: a short entry `OFPBMC_BAD_LEN`, an unknown header
 * `OFPBMC_BAD_FIELD` (skipped when not strict), value bits outside the mask `OFPBMC_BAD_WILDCARDS`,
 * a mask on an exact-only field `OFPBMC_BAD_MASK`, bits the field cannot hold `OFPBMC_BAD_VALUE`,
 * a missing prerequisite `OFPBMC_BAD_PREREQ`, a field given twice `OFPBMC_DUP_FIELD`.
 */
import { OpenFlowError, type OfpErrorName } from './errors.js';
import { FIELDS, OxmClass, field, isEthTypeMpls, type MatchField } from './fields.js';
import { W } from './flowkey.js';
import { Match, prereqOk } from './match.js';
import { OfpVersion, VendorId, WireReader, type WireWriter } from './wire-buf.js';

/** One NXM/OXM header a field can be written with. */
export interface FieldHeader {
  /** The field. */
  readonly field: MatchField;
  /** The NXM/OXM name (`NXM_OF_ETH_SRC`, `OXM_OF_IN_PORT`, `ONFOXM_ET_TCP_FLAGS`). */
  readonly name: string;
  /** oxm_class (0xffff for an experimenter OXM). */
  readonly cls: number;
  /** oxm_field. */
  readonly code: number;
  /** Experimenter id (0 for a standard header). */
  readonly exp: number;
  /** Payload bytes of an unmasked value. */
  readonly bytes: number;
  /** First OpenFlow version with this header (0: NXM, every version). */
  readonly since: number;
  /** The value is an OpenFlow 1.1 port number (32 bits) for a 16-bit field (`OXM_OF_IN_PORT`). */
  readonly port11: boolean;
}

/** `NXM_NX_COOKIE`: the cookie pseudo-field of NXT_FLOW_MOD and NXST_FLOW requests. */
export const NXM_NX_COOKIE = { cls: 0x0001, code: 30, bytes: 8 } as const;

/** OXM headers that appeared after OpenFlow 1.2 (field name -> version); other OXMs are OpenFlow 1.2+. */
const OXM_SINCE: Readonly<Record<string, number>> = { tun_id: OfpVersion.OF13, actset_output: OfpVersion.OF15, tcp_flags: OfpVersion.OF15 };
/** ONF experimenter OXMs (`ONFOXM_ET_*`), OpenFlow 1.3 and 1.4: field name -> oxm_field. */
const ONF_OXM: Readonly<Record<string, number>> = { actset_output: 43, tcp_flags: 42 };

function pktRegSince(f: MatchField): number {
  return f.oxm?.cls === OxmClass.PACKET_REGS ? OfpVersion.OF13 : OfpVersion.OF12;
}

function buildHeaders(): FieldHeader[] {
  const out: FieldHeader[] = [];
  for (const f of FIELDS) {
    if (f.legacy) continue;
    const bytes = f.bits / 8;
    const mk = (name: string, cls: number, code: number, exp: number, since: number, port11 = false, b = bytes): FieldHeader => ({
      field: f, name, cls, code, exp, bytes: b, since, port11,
    });
    if (f.nxm) out.push(mk(f.nxm.name, f.nxm.cls, f.nxm.code, 0, 0));
    if (f.name === 'in_port') out.push(mk('OXM_OF_IN_PORT', OxmClass.OPENFLOW_BASIC, 0, 0, OfpVersion.OF12, true, 4));
    const onf = ONF_OXM[f.name];
    if (onf !== undefined) out.push(mk(`ONFOXM_ET_${f.name.toUpperCase()}`, 0xffff, onf, VendorId.ONF, OfpVersion.OF13));
    if (f.oxm) out.push(mk(f.oxm.name, f.oxm.cls, f.oxm.code, 0, OXM_SINCE[f.name] ?? pktRegSince(f)));
  }
  return out;
}

/** Every header of every field, NXM first (the candidate order `headerFor` walks). */
export const FIELD_HEADERS: readonly FieldHeader[] = buildHeaders();

const byField = new Map<MatchField, FieldHeader[]>();
const byWire = new Map<string, FieldHeader>();
for (const h of FIELD_HEADERS) {
  const l = byField.get(h.field) ?? [];
  l.push(h);
  byField.set(h.field, l);
  byWire.set(`${h.cls}:${h.code}:${h.exp}`, h);
}

/** The header OVS writes `f` with in `version` (0: the NXM format), or undefined if it has none. */
export function headerFor(f: MatchField, version: number): FieldHeader | undefined {
  let best: FieldHeader | undefined;
  for (const h of byField.get(f) ?? []) if (!best || version >= h.since) best = h;
  return best;
}

/** The header with this class, field and experimenter id (any length), if known. */
export function headerByWire(cls: number, code: number, exp = 0): FieldHeader | undefined {
  return byWire.get(`${cls}:${code}:${exp}`);
}

/** The 32-bit NXM header word for `f` (NXM preferred), as actions and learn specs write it; undefined when only an experimenter OXM exists. */
export function nxmHeaderWord(f: MatchField, masked = false): number | undefined {
  const h = headerFor(f, 0);
  if (!h || h.exp) return undefined;
  return headerWord(h, masked);
}

/** The first 32 bits of `h`'s header (hasmask and length filled in). */
export function headerWord(h: FieldHeader, masked: boolean): number {
  const len = (masked ? 2 * h.bytes : h.bytes) + (h.exp ? 4 : 0);
  return ((h.cls << 16) | (h.code << 9) | (masked ? 0x100 : 0) | len) >>> 0;
}

/** Write a header (with the experimenter id when there is one). */
export function putHeader(w: WireWriter, h: FieldHeader, masked: boolean): void {
  w.u32(headerWord(h, masked));
  if (h.exp) w.u32(h.exp);
}

/** The valid bits of a one-word field's value (OVS `mf_is_value_valid`); undefined: any value. */
function validBits(f: MatchField): number | undefined {
  if (f.nwords !== 1) return undefined;
  if (f.name === 'ct_state') return 0xff;
  return f.vmask === 0xffff_ffff ? undefined : f.vmask;
}

/** Is an OpenFlow 1.1 port number valid (OVS `ofputil_port_from_ofp11`)? */
export function port11Valid(p: number): boolean {
  return p < 0xff00 || p >= 0xffff_ff00;
}

/** OpenFlow 1.1 (32-bit) port number -> OpenFlow 1.0 (16-bit); the caller checked `port11Valid`. */
export function portFrom11(p: number): number {
  return p < 0xff00 ? p : p - 0xffff_0000;
}

/** OpenFlow 1.1 port number -> 16-bit, raising `err` for one that has no 16-bit form. */
export function portFrom11Checked(p: number, err: OfpErrorName): number {
  if (!port11Valid(p)) throw new OpenFlowError(err, `port 0x${p.toString(16)} has no OpenFlow 1.0 number`);
  return portFrom11(p);
}

/** OpenFlow 1.0 (16-bit) port number -> OpenFlow 1.1 (32-bit). */
export function portTo11(p: number): number {
  return p < 0xff00 ? p : (p + 0xffff_0000) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Entries

/** Write one entry: `f`'s header for `version`, the value and, if given and not all ones, the mask. */
export function putEntry(w: WireWriter, f: MatchField, version: number, value: bigint, mask?: bigint): void {
  const h = headerFor(f, version);
  if (!h) throw new OpenFlowError('OFPBMC_BAD_FIELD', `field ${f.name} has no NXM/OXM header`);
  putEntryWith(w, h, value, mask);
}

/** Write one entry with a given header. */
export function putEntryWith(w: WireWriter, h: FieldHeader, value: bigint, mask?: bigint): void {
  const ones = (1n << BigInt(h.bytes * 8)) - 1n;
  const masked = mask !== undefined && mask !== ones && !(h.port11 && mask === 0xffffn);
  putHeader(w, h, masked);
  const v = h.port11 ? BigInt(portTo11(Number(value))) : value;
  w.uN(v & ones, h.bytes);
  if (masked) w.uN(mask! & ones, h.bytes);
}

/** One decoded entry. */
export interface PulledEntry {
  /** The field (undefined for the NXM_NX_COOKIE pseudo-field). */
  readonly field: MatchField | undefined;
  /** The header it came with. */
  readonly header: FieldHeader | undefined;
  /** The value (a port number already converted to 16 bits). */
  readonly value: bigint;
  /** The mask (all ones when the entry had none). */
  readonly mask: bigint;
  /** The entry carried a mask. */
  readonly hasMask: boolean;
}

/** Options of `pullEntry`. */
export interface PullEntryOptions {
  /** Accept the NXM_NX_COOKIE pseudo-field (NXT_FLOW_MOD, NXST_FLOW). */
  allowCookie?: boolean;
  /** The entry is part of an action (set_field): unknown headers are `OFPBAC_BAD_SET_TYPE`, wrong lengths `OFPBAC_BAD_SET_LEN`. */
  isAction?: boolean;
  /** Masks allowed (matches, set_field in OpenFlow 1.5). */
  allowMask?: boolean;
}

const BAD_FIELD = Symbol('bad field');

/**
 * Read one entry (OVS `nx_pull_entry__`). An unknown header (in a match) still consumes its
 * payload and returns `field: undefined, header: undefined` with `unknown` set, so a loose parser
 * can skip it.
 */
export function pullEntry(r: WireReader, opts: PullEntryOptions = {}): PulledEntry & { unknown?: typeof BAD_FIELD } {
  if (r.remaining < 4) throw new OpenFlowError('OFPBMC_BAD_LEN', `partial (${r.remaining}-byte) OXM entry`);
  const w0 = r.peekU32();
  const cls = w0 >>> 16;
  let exp = 0;
  if (cls === 0xffff) {
    if (r.remaining < 8) throw new OpenFlowError('OFPBMC_BAD_LEN', `partial (${r.remaining}-byte) experimenter OXM entry`);
    exp = r.peekU32(4);
  }
  const code = (w0 >>> 9) & 0x7f;
  const hasMask = (w0 & 0x100) !== 0;
  const length = w0 & 0xff;
  const expLen = cls === 0xffff ? 4 : 0;
  if (length < expLen) throw new OpenFlowError('OFPBMC_BAD_LEN', `OXM header ${hex(w0)} has invalid length ${length}`);
  r.skip(4 + expLen);
  const payloadLen = length - expLen;
  const width = hasMask ? payloadLen >> 1 : payloadLen;
  const known = headerByWire(cls, code, exp);
  let header: FieldHeader | undefined;
  let setLenError = false;
  if (known) {
    if (known.bytes === width) header = known;
    else if (opts.isAction) setLenError = true;
  }
  // NXM_NX_COOKIE shares NXM_NX code 30 with NXM_NX_MPLS_TTL (1 byte); its 8-byte width tells them apart.
  const isCookie = header === undefined && opts.allowCookie === true && cls === NXM_NX_COOKIE.cls && code === NXM_NX_COOKIE.code && width === 8;
  if (!header && !isCookie) {
    if (opts.isAction) {
      throw new OpenFlowError(setLenError ? 'OFPBAC_BAD_SET_LEN' : 'OFPBAC_BAD_SET_TYPE', `unknown or malformed field header ${hex(w0)}`);
    }
  }
  if (r.remaining < payloadLen) {
    throw new OpenFlowError('OFPBMC_BAD_LEN', `OXM header ${hex(w0)} calls for ${payloadLen}-byte payload but only ${r.remaining} bytes follow`);
  }
  const payload = r.bytes(payloadLen);
  let value = 0n;
  let mask = 0n;
  for (let i = 0; i < width; i++) {
    const vb = payload[i]!;
    if (hasMask) {
      const mb = payload[width + i]!;
      if (vb & ~mb) throw new OpenFlowError('OFPBMC_BAD_WILDCARDS', `OXM entry ${hex(w0)} has 1-bits in value for bits wildcarded by the mask`);
      mask = (mask << 8n) | BigInt(mb);
    }
    value = (value << 8n) | BigInt(vb);
  }
  if (!hasMask) mask = (1n << BigInt(width * 8)) - 1n;
  else if (!opts.allowMask) throw new OpenFlowError('OFPBMC_BAD_MASK', `OXM entry ${hex(w0)} includes a mask but masks are not allowed here`);
  if (!header && !isCookie) return { field: undefined, header: undefined, value, mask, hasMask, unknown: BAD_FIELD };
  if (isCookie) return { field: undefined, header: undefined, value, mask, hasMask };
  const h = header!;
  if (h.port11) {
    const p = Number(value);
    // A masked port is checked by mf_is_mask_valid before the value (exact-only field).
    if (hasMask && mask !== 0n && mask !== 0xffff_ffffn) throw new OpenFlowError('OFPBMC_BAD_MASK', `bad mask for field ${h.name}`);
    if (!port11Valid(p)) throw new OpenFlowError('OFPBMC_BAD_VALUE', `bad value ${hex(p)} for field ${h.name}`);
    return { field: h.field, header: h, value: BigInt(portFrom11(p)), mask: mask === 0n ? 0n : 0xffffn, hasMask };
  }
  return { field: h.field, header: h, value, mask, hasMask };
}

function hex(v: number): string {
  return `0x${v.toString(16)}`;
}

/** Check an entry's mask and value against its field (OVS `mf_is_mask_valid`, `mf_is_value_valid`). */
export function checkEntry(f: MatchField, value: bigint, mask: bigint, ones: bigint): void {
  if (!f.maskable && mask !== 0n && mask !== ones) throw new OpenFlowError('OFPBMC_BAD_MASK', `bad mask for field ${f.name}`);
  const vb = validBits(f);
  if (vb !== undefined && (value & ~BigInt(vb)) !== 0n) throw new OpenFlowError('OFPBMC_BAD_VALUE', `bad value for field ${f.name}`);
}

// ---------------------------------------------------------------------------------------------
// Whole matches

/** What `pullMatch` returns. */
export interface PulledMatch {
  /** The match. */
  readonly match: Match;
  /** The NXM_NX_COOKIE value (0 if absent). */
  readonly cookie: bigint;
  /** Its mask (0 if absent). */
  readonly cookieMask: bigint;
}

/** OVS `ofputil_dl_type_from_openflow`: EtherType values below 0x600 mean "not Ethernet II" (0x5ff). */
function dlTypeFromOpenflow(v: number): number {
  return v < 0x600 ? 0x05ff : v;
}

/**
 * Decode the entries in `r` (all of it) into a match (OVS `nx_pull_raw`). `strict` checks
 * prerequisites and refuses unknown fields; otherwise unknown fields are skipped.
 */
export function pullMatchEntries(r: WireReader, opts: { strict: boolean; allowCookie?: boolean }): PulledMatch {
  const m = new Match();
  let cookie = 0n;
  let cookieMask = 0n;
  let haveCookie = false;
  while (r.remaining > 0) {
    const e = pullEntry(r, { allowCookie: opts.allowCookie ?? false, allowMask: true });
    if (e.unknown) {
      if (!opts.strict) continue;
      throw new OpenFlowError('OFPBMC_BAD_FIELD', 'unknown OXM/NXM field in match');
    }
    const f = e.field;
    if (!f) {
      if (haveCookie) throw new OpenFlowError('OFPBMC_DUP_FIELD', 'NXM_NX_COOKIE given twice');
      haveCookie = true;
      cookie = e.value;
      cookieMask = e.mask;
      continue;
    }
    const ones = (1n << BigInt(e.header!.port11 ? 16 : f.bits)) - 1n;
    if (!e.header!.port11) checkEntry(f, e.value, e.mask, ones);
    if (opts.strict && !prereqOk(f.prereq, m)) throw new OpenFlowError('OFPBMC_BAD_PREREQ', `prerequisites of ${f.name} not met`);
    if (m.has(f)) throw new OpenFlowError('OFPBMC_DUP_FIELD', `field ${f.name} given twice`);
    if (e.mask === 0n) continue; // OVS mf_set_wild
    let value = e.value;
    if (f.name === 'eth_type') value = BigInt(dlTypeFromOpenflow(Number(value)));
    m.set(f, value & e.mask, e.mask === ones ? undefined : e.mask);
  }
  return { match: m, cookie: haveCookie ? cookie : 0n, cookieMask: haveCookie ? cookieMask : 0n };
}

/**
 * Read an `nx_match` of `matchLen` bytes padded to a multiple of 8 (OVS `nx_pull_match__`): the
 * padded length must fit (`OFPBMC_BAD_LEN`).
 */
export function pullNxMatch(r: WireReader, matchLen: number, opts: { strict: boolean; allowCookie?: boolean }): PulledMatch {
  if (matchLen === 0) return { match: new Match(), cookie: 0n, cookieMask: 0n };
  const padded = (matchLen + 7) & ~7;
  if (r.remaining < padded) throw new OpenFlowError('OFPBMC_BAD_LEN', `nx_match length ${matchLen}, rounded up to a multiple of 8, is longer than the message`);
  const sub = new WireReader(r.buf, r.off, r.off + matchLen);
  r.skip(padded);
  const pulled = pullMatchEntries(sub, opts);
  // NXM_OF_VLAN_TCI is stored in the OpenFlow 1.5 form the text parser stores.
  normalizeVlanForOxm(pulled.match);
  return pulled;
}

/**
 * Reduce a VLAN TCI match to what OpenFlow 1.5 carries (OVS `nx_put_raw` with OXM): the VID and
 * CFI bits with their mask, and the PCP only when some VID/CFI value bit is set and the PCP is
 * matched, in which case it is exact and implies the CFI. This is what a switch stores.
 */
export function normalizeVlanForOxm(m: Match): void {
  const v = m.value[W.vlan_tci]!;
  const k = m.mask[W.vlan_tci]!;
  let nv = v & 0x1fff;
  let nk = k & 0x1fff;
  if ((v & 0x1fff) !== 0 && (k & 0xe000) !== 0) {
    // Decoding vlan_pcp sets the CFI; without a CFI in the VID the switch refuses it (checkMatchPrereqs).
    nv = (nv | (v & 0xe000)) & 0xffff;
    nk = nk | 0xe000;
  }
  m.mask[W.vlan_tci] = nk;
  m.value[W.vlan_tci] = nv & nk;
}

/** OFPMT_OXM, the `ofp_match` type of OpenFlow 1.2+. */
export const OFPMT_OXM = 1;
/** OFPMT_STANDARD, OpenFlow 1.1's fixed match. */
export const OFPMT_STANDARD = 0;

/** Read an OpenFlow 1.2+ `ofp_match` (OVS `oxm_pull_match__`). */
export function pullOxmMatch(r: WireReader, strict = true): Match {
  if (r.remaining < 4) throw new OpenFlowError('OFPBMC_BAD_LEN', 'ofp_match header truncated');
  const type = r.peekU16();
  const len = r.peekU16(2);
  if (len < 4) throw new OpenFlowError('OFPBMC_BAD_LEN', `ofp_match length ${len} shorter than its header`);
  if (type !== OFPMT_OXM) throw new OpenFlowError('OFPBMC_BAD_TYPE', `ofp_match type ${type} is not OFPMT_OXM`);
  const padded = (len + 7) & ~7;
  if (r.remaining < padded) throw new OpenFlowError('OFPBMC_BAD_LEN', `oxm length ${len}, rounded up to a multiple of 8, is longer than the message`);
  const sub = new WireReader(r.buf, r.off + 4, r.off + len);
  r.skip(padded);
  return pullMatchEntries(sub, { strict }).match;
}

/** Write an OpenFlow 1.2+ `ofp_match` (type, length, entries, padding); returns the unpadded length. */
export function putOxmMatch(w: WireWriter, m: Match, version: number): number {
  const start = w.len;
  w.u16(OFPMT_OXM).u16(0);
  putMatchEntries(w, m, version);
  const len = w.len - start;
  w.setU16(start + 2, len);
  w.pad8(start);
  return len;
}

/** Write an `nx_match` (NXM headers) with the optional cookie pseudo-field, padded; returns the unpadded length. */
export function putNxMatch(w: WireWriter, m: Match, cookie = 0n, cookieMask = 0n): number {
  const start = w.len;
  putMatchEntries(w, m, 0, cookie, cookieMask);
  const len = w.len - start;
  w.pad8(start);
  return len;
}

function putIf(w: WireWriter, m: Match, name: string, version: number): void {
  const f = field(name);
  const mask = m.getMask(f);
  if (mask === 0n) return;
  putEntry(w, f, version, m.getValue(f), mask);
}

function putExact(w: WireWriter, m: Match, name: string, version: number, value?: bigint): void {
  const f = field(name);
  putEntry(w, f, version, value ?? m.getValue(f));
}

/**
 * Write the entries of a match in OVS's order (`nx_put_raw`). `version` 0 writes NXM headers; an
 * OpenFlow version writes the OXM headers of that version (registers as xregs from OpenFlow 1.5).
 */
export function putMatchEntries(w: WireWriter, m: Match, version: number, cookie = 0n, cookieMask = 0n): void {
  const V = m.value;
  const K = m.mask;
  if (K[W.conj_id]) putExact(w, m, 'conj_id', version);
  if (K[W.in_port]) putExact(w, m, 'in_port', version);
  if (K[W.actset_output]) putExact(w, m, 'actset_output', version);
  putIf(w, m, 'eth_src', version);
  putIf(w, m, 'eth_dst', version);
  if (K[W.dl_type]) putExact(w, m, 'eth_type', version);
  if (version) {
    const vid = V[W.vlan_tci]! & 0x1fff;
    const vmask = K[W.vlan_tci]! & 0x1fff;
    if (vmask === 0x1fff) putEntry(w, field('vlan_vid'), version, BigInt(vid));
    else if (vmask) putEntry(w, field('vlan_vid'), version, BigInt(vid), BigInt(vmask));
    if (vid && (K[W.vlan_tci]! & 0xe000)) putEntry(w, field('vlan_pcp'), version, BigInt((V[W.vlan_tci]! >>> 13) & 7));
  } else if ((K[W.vlan_tci]! & 0x1fff) === 0x1fff && V[W.vlan_tci] === 0) {
    // "No VLAN" is stored as VID+CFI 0/0x1fff (the OpenFlow 1.5 form); OVS keeps vlan_tci=0 exact.
    putEntry(w, field('vlan_tci'), version, 0n);
  } else putIf(w, m, 'vlan_tci', version);
  const dl = V[W.dl_type]!;
  if (isEthTypeMpls(dl)) {
    for (const name of ['mpls_tc', 'mpls_bos', 'mpls_ttl', 'mpls_label']) if (m.getMask(field(name)) !== 0n) putExact(w, m, name, version);
  }
  if (dl === 0x0800 || dl === 0x86dd) putIp(w, m, version, dl);
  else if (dl === 0x0806 || dl === 0x8035) {
    if (K[W.nw_proto]) putExact(w, m, 'arp_op', version);
    putIf(w, m, 'arp_spa', version);
    putIf(w, m, 'arp_tpa', version);
    putIf(w, m, 'arp_sha', version);
    putIf(w, m, 'arp_tha', version);
  }
  putIf(w, m, 'tun_id', version);
  putIf(w, m, 'tun_src', version);
  putIf(w, m, 'tun_dst', version);
  putIf(w, m, 'tun_ipv6_src', version);
  putIf(w, m, 'tun_ipv6_dst', version);
  if (version < OfpVersion.OF15) for (let i = 0; i < 16; i++) putIf(w, m, `reg${i}`, version);
  else for (let i = 0; i < 8; i++) putIf(w, m, `xreg${i}`, version);
  putIf(w, m, 'pkt_mark', version);
  putIf(w, m, 'ct_state', version);
  putIf(w, m, 'ct_zone', version);
  putIf(w, m, 'ct_mark', version);
  putIf(w, m, 'ct_label', version);
  putIf(w, m, 'ct_nw_src', version);
  putIf(w, m, 'ct_ipv6_src', version);
  putIf(w, m, 'ct_nw_dst', version);
  putIf(w, m, 'ct_ipv6_dst', version);
  if (V[W.ct_nw_proto]) {
    putIf(w, m, 'ct_nw_proto', version);
    putIf(w, m, 'ct_tp_src', version);
    putIf(w, m, 'ct_tp_dst', version);
  }
  putIf(w, m, 'metadata', version);
  if (cookieMask) {
    const masked = cookieMask !== 0xffff_ffff_ffff_ffffn;
    w.u32(((NXM_NX_COOKIE.cls << 16) | (NXM_NX_COOKIE.code << 9) | (masked ? 0x100 : 0) | (masked ? 16 : 8)) >>> 0);
    w.u64(cookie & cookieMask);
    if (masked) w.u64(cookieMask);
  }
}

function putIp(w: WireWriter, m: Match, version: number, dl: number): void {
  const V = m.value;
  const K = m.mask;
  if (dl === 0x0800) {
    putIf(w, m, 'ip_src', version);
    putIf(w, m, 'ip_dst', version);
  } else {
    putIf(w, m, 'ipv6_src', version);
    putIf(w, m, 'ipv6_dst', version);
  }
  const fm = K[W.nw_frag]! & 3;
  if (fm) putEntry(w, field('ip_frag'), version, BigInt(V[W.nw_frag]! & 3), fm === 3 ? 0xffn : BigInt(fm));
  if (K[W.nw_tos]! & 0xfc) {
    if (version) putEntry(w, field('ip_dscp'), version, BigInt(V[W.nw_tos]! >>> 2));
    else putEntry(w, field('nw_tos'), version, BigInt(V[W.nw_tos]! & 0xfc));
  }
  if (K[W.nw_tos]! & 3) putEntry(w, field('nw_ecn'), version, BigInt(V[W.nw_tos]! & 3));
  if (K[W.nw_ttl]) putExact(w, m, 'nw_ttl', version);
  putIf(w, m, 'ipv6_label', version);
  if (!K[W.nw_proto]) return;
  putExact(w, m, 'nw_proto', version);
  const proto = V[W.nw_proto]!;
  if (proto === 6) {
    putIf(w, m, 'tcp_src', version);
    putIf(w, m, 'tcp_dst', version);
    putIf(w, m, 'tcp_flags', version);
  } else if (proto === 17) {
    putIf(w, m, 'udp_src', version);
    putIf(w, m, 'udp_dst', version);
  } else if (proto === 132) {
    putIf(w, m, 'sctp_src', version);
    putIf(w, m, 'sctp_dst', version);
  } else if (proto === 1 && dl === 0x0800) {
    if (K[W.tp_src]) putEntry(w, field('icmp_type'), version, BigInt(V[W.tp_src]! & 0xff));
    if (K[W.tp_dst]) putEntry(w, field('icmp_code'), version, BigInt(V[W.tp_dst]! & 0xff));
  } else if (proto === 58 && dl === 0x86dd) {
    if (K[W.tp_src]) putEntry(w, field('icmpv6_type'), version, BigInt(V[W.tp_src]! & 0xff));
    if (K[W.tp_dst]) putEntry(w, field('icmpv6_code'), version, BigInt(V[W.tp_dst]! & 0xff));
    const type = V[W.tp_src]!;
    if ((type === 135 || type === 136) && V[W.tp_dst] === 0) {
      putIf(w, m, 'nd_target', version);
      if (type === 135) putIf(w, m, 'nd_sll', version);
      else putIf(w, m, 'nd_tll', version);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// OpenFlow 1.0 ofp_match

/** `ofp10_match` wildcard bits. */
export const OFPFW10 = {
  IN_PORT: 1 << 0,
  DL_VLAN: 1 << 1,
  DL_SRC: 1 << 2,
  DL_DST: 1 << 3,
  DL_TYPE: 1 << 4,
  NW_PROTO: 1 << 5,
  TP_SRC: 1 << 6,
  TP_DST: 1 << 7,
  NW_SRC_SHIFT: 8,
  NW_DST_SHIFT: 14,
  DL_VLAN_PCP: 1 << 20,
  NW_TOS: 1 << 21,
  ALL: (1 << 22) - 1,
} as const;

/** Size of `ofp10_match`. */
export const OFP10_MATCH_LEN = 40;

function wcbitsToNetmask(n: number): number {
  const bits = n & 0x3f;
  return bits < 32 ? (0xffff_ffff << bits) >>> 0 : 0;
}

function netmaskToWcbits(m: number): number {
  if (m === 0) return 32;
  let n = 0;
  while (n < 32 && ((m >>> n) & 1) === 0) n++;
  return n;
}

/** Read an `ofp10_match` (OVS `ofputil_match_from_ofp10_match`), unnormalised. */
export function pullOfp10Match(r: WireReader): Match {
  const b = r.bytes(OFP10_MATCH_LEN);
  const rd = new WireReader(b);
  const wc = rd.u32() & OFPFW10.ALL;
  const inPort = rd.u16();
  const dlSrc = rd.uN(6);
  const dlDst = rd.uN(6);
  const dlVlan = rd.u16();
  const dlVlanPcp = rd.u8();
  rd.skip(1);
  const dlType = rd.u16();
  const nwTos = rd.u8();
  const nwProto = rd.u8();
  rd.skip(2);
  const nwSrc = rd.u32();
  const nwDst = rd.u32();
  const tpSrc = rd.u16();
  const tpDst = rd.u16();
  const m = new Match();
  const V = m.value;
  const K = m.mask;
  if (!(wc & OFPFW10.IN_PORT)) m.set(field('in_port'), BigInt(inPort));
  if (!(wc & OFPFW10.NW_TOS)) {
    K[W.nw_tos] = 0xfc;
    V[W.nw_tos] = nwTos & 0xfc;
  }
  if (!(wc & OFPFW10.NW_PROTO)) {
    K[W.nw_proto] = 0xff;
    V[W.nw_proto] = nwProto;
  }
  const sm = wcbitsToNetmask(wc >>> OFPFW10.NW_SRC_SHIFT);
  const dm = wcbitsToNetmask(wc >>> OFPFW10.NW_DST_SHIFT);
  K[W.nw_src] = sm;
  V[W.nw_src] = (nwSrc & sm) >>> 0;
  K[W.nw_dst] = dm;
  V[W.nw_dst] = (nwDst & dm) >>> 0;
  if (!(wc & OFPFW10.TP_SRC)) {
    K[W.tp_src] = 0xffff;
    V[W.tp_src] = tpSrc;
  }
  if (!(wc & OFPFW10.TP_DST)) {
    K[W.tp_dst] = 0xffff;
    V[W.tp_dst] = tpDst;
  }
  if (!(wc & OFPFW10.DL_SRC)) m.set(field('eth_src'), dlSrc);
  if (!(wc & OFPFW10.DL_DST)) m.set(field('eth_dst'), dlDst);
  if (!(wc & OFPFW10.DL_TYPE)) {
    K[W.dl_type] = 0xffff;
    V[W.dl_type] = dlTypeFromOpenflow(dlType);
  }
  let tciMask = 0;
  if (!(wc & OFPFW10.DL_VLAN_PCP)) tciMask |= 0xe000 | 0x1000;
  if (!(wc & OFPFW10.DL_VLAN)) tciMask |= 0x0fff | 0x1000;
  if (!(wc & OFPFW10.DL_VLAN) && dlVlan === 0xffff) {
    K[W.vlan_tci] = 0xffff;
    V[W.vlan_tci] = 0;
  } else {
    const tci = (dlVlan & 0x0fff) | ((dlVlanPcp << 13) & 0xe000) | 0x1000;
    K[W.vlan_tci] = tciMask;
    V[W.vlan_tci] = tci & tciMask;
  }
  return m;
}

/** Write a match as an `ofp10_match` (OVS `ofputil_match_to_ofp10_match`); fields it cannot carry are dropped. */
export function putOfp10Match(w: WireWriter, m: Match): void {
  const V = m.value;
  const K = m.mask;
  let wc = 0;
  if (!K[W.in_port]) wc |= OFPFW10.IN_PORT;
  if (!K[W.dl_type]) wc |= OFPFW10.DL_TYPE;
  if (!K[W.nw_proto]) wc |= OFPFW10.NW_PROTO;
  wc |= netmaskToWcbits(K[W.nw_src]!) << OFPFW10.NW_SRC_SHIFT;
  wc |= netmaskToWcbits(K[W.nw_dst]!) << OFPFW10.NW_DST_SHIFT;
  if (!(K[W.nw_tos]! & 0xfc)) wc |= OFPFW10.NW_TOS;
  if (!K[W.tp_src]) wc |= OFPFW10.TP_SRC;
  if (!K[W.tp_dst]) wc |= OFPFW10.TP_DST;
  if (!K[W.dl_src] && !K[W.dl_src + 1]) wc |= OFPFW10.DL_SRC;
  if (!K[W.dl_dst] && !K[W.dl_dst + 1]) wc |= OFPFW10.DL_DST;
  let dlVlan = 0;
  let dlVlanPcp = 0;
  const tm = K[W.vlan_tci]!;
  const tv = V[W.vlan_tci]!;
  if (tm === 0) wc |= OFPFW10.DL_VLAN | OFPFW10.DL_VLAN_PCP;
  else if (tm & 0x1000 && !(tv & 0x1000)) dlVlan = 0xffff;
  else {
    if (!(tm & 0x0fff)) wc |= OFPFW10.DL_VLAN;
    else dlVlan = tv & 0x0fff;
    if (!(tm & 0xe000)) wc |= OFPFW10.DL_VLAN_PCP;
    else dlVlanPcp = (tv >>> 13) & 7;
  }
  w.u32(wc >>> 0);
  w.u16(V[W.in_port]!);
  w.u16(V[W.dl_src]!).u32(V[W.dl_src + 1]!);
  w.u16(V[W.dl_dst]!).u32(V[W.dl_dst + 1]!);
  w.u16(dlVlan).u8(dlVlanPcp).u8(0);
  w.u16(V[W.dl_type]!);
  w.u8(V[W.nw_tos]! & 0xfc).u8(V[W.nw_proto]!).u16(0);
  w.u32(V[W.nw_src]!).u32(V[W.nw_dst]!);
  w.u16(V[W.tp_src]!).u16(V[W.tp_dst]!);
}

/**
 * Can an `ofp10_match` express this match exactly? (OVS: otherwise the flow needs the NXM flow
 * format.) Only in_port, Ethernet addresses and type, the VLAN TCI as OpenFlow 1.0 knows it, IPv4
 * prefixes, nw_proto, DSCP and exact L4 ports qualify.
 */
export function fitsOfp10Match(m: Match): boolean {
  const K = m.mask;
  const allowed = new Set<number>([W.in_port, W.dl_src, W.dl_src + 1, W.dl_dst, W.dl_dst + 1, W.dl_type, W.vlan_tci, W.nw_src, W.nw_dst, W.nw_proto, W.nw_tos, W.tp_src, W.tp_dst]);
  for (let i = 0; i < K.length; i++) if (K[i] && !allowed.has(i)) return false;
  const full = (i: number, ones: number): boolean => K[i] === 0 || K[i] === ones;
  if (!full(W.tp_src, 0xffff) || !full(W.tp_dst, 0xffff)) return false;
  if (!(K[W.dl_src] === 0 && K[W.dl_src + 1] === 0) && !(K[W.dl_src] === 0xffff && K[W.dl_src + 1] === 0xffff_ffff)) return false;
  if (!(K[W.dl_dst] === 0 && K[W.dl_dst + 1] === 0) && !(K[W.dl_dst] === 0xffff && K[W.dl_dst + 1] === 0xffff_ffff)) return false;
  if (K[W.nw_tos] !== 0 && K[W.nw_tos] !== 0xfc) return false;
  const cidr = (mk: number): boolean => mk === 0 || ((~mk >>> 0) & ((~mk >>> 0) + 1)) === 0;
  if (!cidr(K[W.nw_src]!) || !cidr(K[W.nw_dst]!)) return false;
  const tm = K[W.vlan_tci]!;
  const tv = m.value[W.vlan_tci]!;
  if (tm === 0) return true;
  if (tm === 0xffff && tv === 0) return true;
  // VID and PCP each exact (with CFI set) or wildcarded.
  const vidOk = (tm & 0x0fff) === 0 || (tm & 0x0fff) === 0x0fff;
  const pcpOk = (tm & 0xe000) === 0 || (tm & 0xe000) === 0xe000;
  return vidOk && pcpOk && (tm & 0x1000) !== 0 && (tv & 0x1000) !== 0;
}
