/**
 * OpenFlow's asynchronous messages and controller roles on the wire, as OVS 3.1 writes and reads
 * them (`lib/ofp-monitor.c`, `lib/ofp-port.c`, `lib/ofp-connection.c`): FLOW_REMOVED (OpenFlow 1.0,
 * NXT_FLOW_REMOVED with an `nx_match`, 1.1-1.4, 1.5 with OXS statistics), PORT_STATUS (1.0, 1.1-1.3,
 * 1.4+ with the Ethernet property), ROLE_REQUEST/ROLE_REPLY (and NXT_ROLE_REQUEST/REPLY), ROLE_STATUS
 * (ONF experimenter 1911 in 1.3, OFPT_ROLE_STATUS from 1.4), the asynchronous configuration
 * (GET_ASYNC_REPLY, SET_ASYNC with 1.3 masks or 1.4+ properties, NXT_SET_ASYNC_CONFIG and
 * NXT_SET_ASYNC_CONFIG2) and NXT_SET_CONTROLLER_ID.
 *
 * The asynchronous configuration is OVS's `ofputil_async_cfg`: for each message kind (`OAM`) a
 * 32-bit mask of reasons for the primary/equal role and one for the secondary role. Masks read
 * from the wire are cut to the reasons the version knows (1.3 masks silently, as OVS's legacy
 * decoder; 1.4+ properties refuse extra bits with `OFPACFC_INVALID`), and a packet-in mask with
 * `no_match` also covers OVS's internal explicit-miss (and, before 1.3, implicit-miss) reasons.
 */
import { OpenFlowError } from './errors.js';
import { putNxMatch, putOfp10Match, putOxmMatch } from './field-codec.js';
import type { Match } from './match.js';
import { OFPT, putOxsStats, putPort, startMessage, type OfpMessage, type PortDesc } from './ofp-msgs.js';
import { NXT } from './ofp-nx.js';
import { OfpVersion, VendorId, WireWriter } from './wire-buf.js';

/** Flow-removed reasons (`OFPRR_*`). */
export const OFPRR = { IDLE_TIMEOUT: 0, HARD_TIMEOUT: 1, DELETE: 2, GROUP_DELETE: 3, METER_DELETE: 4, EVICTION: 5 } as const;
/** Port-status reasons (`OFPPR_*`). */
export const OFPPR = { ADD: 0, DELETE: 1, MODIFY: 2 } as const;
/** Controller roles (`OFPCR12_ROLE_*`; NXT_ROLE_REQUEST numbers them one less, without NOCHANGE). */
export const OFPCR = { NOCHANGE: 0, EQUAL: 1, MASTER: 2, SLAVE: 3 } as const;
/** Role-status reasons (`OFPCRR_*`). */
export const OFPCRR = { MASTER_REQUEST: 0, CONFIG: 1, EXPERIMENTER: 2 } as const;
/** Asynchronous message kinds (OVS `enum ofputil_async_msg_type`), the index into an `AsyncConfig`'s masks. */
export const OAM = { PACKET_IN: 0, PORT_STATUS: 1, FLOW_REMOVED: 2, ROLE_STATUS: 3, TABLE_STATUS: 4, REQUESTFORWARD: 5 } as const;
/** OpenFlow 1.4 message types this module adds (`OFPT_ROLE_STATUS`). */
export const OFPT14_ROLE_STATUS = 30;
/** ONF experimenter type of a ROLE_STATUS in OpenFlow 1.3 (`ONFT13_ROLE_STATUS`). */
export const ONFT13_ROLE_STATUS = 1911;
/** NXT_SET_ASYNC_CONFIG2 (properties; OpenFlow 1.0-1.3). */
export const NXT_SET_ASYNC_CONFIG2 = 27;

/** A connection's asynchronous configuration: reason masks per `OAM` kind for the primary/equal and the secondary role. */
export interface AsyncConfig {
  /** Masks (one per `OAM`) that apply while the role is equal or master. */
  primary: number[];
  /** Masks (one per `OAM`) that apply while the role is slave. */
  secondary: number[];
}

const OFPR_ACTION = 1;
const OFPR_INVALID_TTL = 2;
const OFPR_EXPLICIT_MISS = 6;
const OFPR_IMPLICIT_MISS = 7;
const OFPR10_BITS = 0x7;
const OFPR14_ACTION_BITS = 0x38;
const OFPR14_BITS = OFPR10_BITS | OFPR14_ACTION_BITS;

/** One asynchronous property (OVS `async_props`): type, kind, role, and the reasons allowed in 1.0-1.3 and 1.4+. */
interface AsyncProp {
  readonly type: number;
  readonly oam: number;
  readonly primary: boolean;
  readonly allowed10: number;
  readonly allowed14: number;
}

const ASYNC_PROPS: readonly AsyncProp[] = (
  [
    [OAM.PACKET_IN, OFPR10_BITS, OFPR14_BITS],
    [OAM.PORT_STATUS, 0x7, 0x7],
    [OAM.FLOW_REMOVED, 0x3f, 0x3f],
    [OAM.ROLE_STATUS, 0x7, 0x7],
    [OAM.TABLE_STATUS, 0x18, 0x18],
    [OAM.REQUESTFORWARD, 0x3, 0x3],
  ] as const
).flatMap(([oam, a10, a14]) => [
  { type: oam * 2, oam, primary: false, allowed10: a10, allowed14: a14 },
  { type: oam * 2 + 1, oam, primary: true, allowed10: a10, allowed14: a14 },
]);

function allowed(p: AsyncProp, version: number): number {
  return version >= OfpVersion.OF14 ? p.allowed14 : p.allowed10;
}

/** OVS `ofputil_async_cfg_default(version)`: what a connection receives until it sets its own configuration. */
export function defaultAsyncConfig(version: number): AsyncConfig {
  let pin = (OFPR14_BITS & ~(1 << OFPR_INVALID_TTL)) | (1 << OFPR_EXPLICIT_MISS);
  if (version <= OfpVersion.OF12) pin |= 1 << OFPR_IMPLICIT_MISS;
  const fr = version >= OfpVersion.OF14 ? 0x3f : version === OfpVersion.OF13 ? 0xf : 0x7;
  return { primary: [pin, 0x7, fr, 0, 0, 0], secondary: [0, 0x7, 0, 0, 0, 0] };
}

/** OVS `ofconn_set_async_config()`: before 1.4, a packet-in mask with OFPR_ACTION also takes the 1.4 reasons it was split into. */
export function adjustAsyncConfig(ac: AsyncConfig, version: number): AsyncConfig {
  if (version < OfpVersion.OF14) {
    for (const masks of [ac.primary, ac.secondary]) if (masks[OAM.PACKET_IN]! & (1 << OFPR_ACTION)) masks[OAM.PACKET_IN]! |= OFPR14_ACTION_BITS;
  }
  return ac;
}

function setMask(p: AsyncProp, mask: number, version: number, loose: boolean, dst: AsyncConfig): void {
  const ok = allowed(p, version);
  if (mask & ~ok) {
    if (!loose) throw new OpenFlowError('OFPACFC_INVALID', `async mask 0x${mask.toString(16)} (allowed 0x${ok.toString(16)})`);
    mask &= ok;
  }
  if (p.oam === OAM.PACKET_IN && mask & 1) {
    mask |= 1 << OFPR_EXPLICIT_MISS;
    if (version < OfpVersion.OF13) mask |= 1 << OFPR_IMPLICIT_MISS;
  }
  (p.primary ? dst.primary : dst.secondary)[p.oam] = mask >>> 0;
}

function propOf(oam: number, primary: boolean): AsyncProp {
  return ASYNC_PROPS.find((p) => p.oam === oam && p.primary === primary)!;
}

/**
 * Decode SET_ASYNC (1.3 `ofp13_async_config`, 1.4+ properties), NXT_SET_ASYNC_CONFIG (masks) or
 * NXT_SET_ASYNC_CONFIG2 (properties) into a new configuration (OVS
 * `ofputil_decode_set_async_config()`, strict): the masks form replaces every setting; the
 * property form changes only the properties it carries, starting from `basis`. The reader must
 * be at the body (after the Nicira header for the NXT forms).
 */
export function decodeSetAsync(m: OfpMessage, form: 'masks' | 'props', basis: AsyncConfig): AsyncConfig {
  const r = m.body;
  const v = m.version;
  if (form === 'masks') {
    if (r.remaining !== 24) throw new OpenFlowError('OFPBRC_BAD_LEN', `async config of ${r.remaining} bytes`);
    const ac: AsyncConfig = { primary: [0, 0, 0, 0, 0, 0], secondary: [0, 0, 0, 0, 0, 0] };
    for (const oam of [OAM.PACKET_IN, OAM.PORT_STATUS, OAM.FLOW_REMOVED]) {
      setMask(propOf(oam, true), r.u32(), v, true, ac);
      setMask(propOf(oam, false), r.u32(), v, true, ac);
    }
    return ac;
  }
  if (r.remaining % 8 !== 0) throw new OpenFlowError('OFPBRC_BAD_LEN', `async properties of ${r.remaining} bytes`);
  const ac: AsyncConfig = { primary: [...basis.primary], secondary: [...basis.secondary] };
  while (r.remaining > 0) {
    if (r.remaining < 4) throw new OpenFlowError('OFPBPC_BAD_LEN', 'truncated async property');
    const type = r.u16();
    const len = r.u16();
    const padded = (len + 7) & ~7;
    if (len < 4 || padded - 4 > r.remaining) throw new OpenFlowError('OFPBPC_BAD_LEN', `async property ${type} of length ${len}`);
    if (type >= 0xfffe) {
      if (len < 12) throw new OpenFlowError('OFPBPC_BAD_LEN', `async experimenter property of length ${len}`);
      const experimenter = r.peekU32();
      if (experimenter === 0) throw new OpenFlowError('OFPBPC_BAD_EXPERIMENTER', 'async property with experimenter 0');
      throw new OpenFlowError('OFPBPC_BAD_EXP_TYPE', `async experimenter property 0x${experimenter.toString(16)}`);
    }
    const body = r.sub(len - 4);
    r.skip(padded - len);
    const p = ASYNC_PROPS.find((x) => x.type === type);
    if (!p) throw new OpenFlowError('OFPACFC_UNSUPPORTED', `async property type ${type}`);
    if (body.remaining !== 4) throw new OpenFlowError('OFPBPC_BAD_LEN', `async property ${type} of length ${len}`);
    setMask(p, body.u32(), v, false, ac);
  }
  return ac;
}

/** GET_ASYNC_REPLY: `ofp13_async_config` masks in 1.3, every property in 1.4+ (masks cut to the version's reasons). */
export function encodeGetAsyncReply(version: number, xid: number, ac: AsyncConfig): Uint8Array {
  const m = startMessage(version, OFPT.GET_ASYNC_REPLY, xid);
  const mask = (p: AsyncProp): number => ((p.primary ? ac.primary : ac.secondary)[p.oam]! & allowed(p, version)) >>> 0;
  if (version < OfpVersion.OF14) {
    for (const oam of [OAM.PACKET_IN, OAM.PORT_STATUS, OAM.FLOW_REMOVED]) m.w.u32(mask(propOf(oam, true))).u32(mask(propOf(oam, false)));
  } else for (const p of ASYNC_PROPS) m.w.u16(p.type).u16(8).u32(mask(p));
  return m.done();
}

// ---------------------------------------------------------------------------------------------
// Roles

/** A decoded ROLE_REQUEST (`ofputil_role_request`). */
export interface RoleRequest {
  /** `OFPCR.*` (NXT roles are converted). */
  role: number;
  /** The request carries a generation id (OpenFlow 1.2+ for master/slave; never for NXT). */
  hasGenerationId: boolean;
  /** The generation id. */
  generationId: bigint;
  /** It came as NXT_ROLE_REQUEST. */
  nx: boolean;
}

/** Decode an OpenFlow 1.2+ ROLE_REQUEST or (with `nx`, the reader after the Nicira header) an NXT_ROLE_REQUEST. */
export function decodeRoleRequest(m: OfpMessage, nx: boolean): RoleRequest {
  const r = m.body;
  if (nx) {
    if (r.remaining !== 4) throw new OpenFlowError('OFPBRC_BAD_LEN', `NXT_ROLE_REQUEST body of ${r.remaining} bytes`);
    const role = r.u32();
    if (role > 2) throw new OpenFlowError('OFPRRFC_BAD_ROLE', `Nicira role ${role}`);
    return { role: role + 1, hasGenerationId: false, generationId: 0n, nx };
  }
  if (r.remaining !== 16) throw new OpenFlowError('OFPBRC_BAD_LEN', `ROLE_REQUEST body of ${r.remaining} bytes`);
  const role = r.u32();
  r.skip(4);
  const generationId = r.u64();
  if (role > OFPCR.SLAVE) throw new OpenFlowError('OFPRRFC_BAD_ROLE', `role ${role}`);
  const has = role !== OFPCR.NOCHANGE;
  return { role, hasGenerationId: has, generationId: has ? generationId : 0n, nx };
}

/** ROLE_REPLY (or NXT_ROLE_REPLY) with the connection's role and the switch's generation id (undefined: all ones). */
export function encodeRoleReply(version: number, xid: number, nx: boolean, role: number, generationId: bigint | undefined): Uint8Array {
  if (nx) {
    const m = startNx(version, xid, NXT.ROLE_REPLY);
    m.w.u32(role - 1);
    return m.done();
  }
  const m = startMessage(version, OFPT.ROLE_REPLY, xid);
  m.w.u32(role).zeros(4).u64(generationId ?? 0xffff_ffff_ffff_ffffn);
  return m.done();
}

/** ROLE_STATUS (OpenFlow 1.3: ONF experimenter 1911; 1.4+: OFPT_ROLE_STATUS), or undefined before 1.3, which has none. */
export function encodeRoleStatus(version: number, role: number, reason: number, generationId: bigint | undefined): Uint8Array | undefined {
  if (version < OfpVersion.OF13) return undefined;
  const m = version >= OfpVersion.OF14 ? startMessage(version, OFPT14_ROLE_STATUS, 0) : startMessage(version, OFPT.EXPERIMENTER, 0);
  if (version < OfpVersion.OF14) m.w.u32(VendorId.ONF).u32(ONFT13_ROLE_STATUS);
  m.w.u32(role).u8(reason).zeros(3).u64(generationId ?? 0xffff_ffff_ffff_ffffn);
  return m.done();
}

/** Decode NXT_SET_CONTROLLER_ID (`nx_controller_id`: six zero bytes and the id; the reader after the Nicira header). */
export function decodeSetControllerId(m: OfpMessage): number {
  const r = m.body;
  if (r.remaining !== 8) throw new OpenFlowError('OFPBRC_BAD_LEN', `NXT_SET_CONTROLLER_ID body of ${r.remaining} bytes`);
  const zero = r.bytes(6);
  if (zero.some((b) => b !== 0)) throw new OpenFlowError('NXBRC_MUST_BE_ZERO', 'nx_controller_id padding is not zero');
  return r.u16();
}

function startNx(version: number, xid: number, subtype: number): ReturnType<typeof startMessage> {
  const m = startMessage(version, OFPT.EXPERIMENTER, xid);
  m.w.u32(VendorId.NX).u32(subtype);
  return m;
}

// ---------------------------------------------------------------------------------------------
// FLOW_REMOVED, PORT_STATUS

/** A flow-removed message's content (`ofputil_flow_removed`). */
export interface WireFlowRemoved {
  /** Match of the flow. */
  match: Match;
  /** Priority. */
  priority: number;
  /** Cookie. */
  cookie: bigint;
  /** `OFPRR.*` (METER_DELETE goes out as DELETE before 1.4, as OVS). */
  reason: number;
  /** Table. */
  tableId: number;
  /** Milliseconds the flow was installed. */
  durationMs: number;
  /** Idle timeout (s). */
  idleTimeout: number;
  /** Hard timeout (s). */
  hardTimeout: number;
  /** Packets. */
  packets: bigint;
  /** Bytes. */
  bytes: bigint;
}

/**
 * FLOW_REMOVED in the connection's protocol (OVS `ofputil_encode_flow_removed()`): OpenFlow 1.0
 * `ofp10_flow_removed` (or, with the NXM flow format, NXT_FLOW_REMOVED with the table plus one),
 * `ofp12_flow_removed` + OXM in 1.1-1.4, `ofp15_flow_removed` + OXM + OXS statistics in 1.5.
 * Sent with xid 0.
 */
export function encodeFlowRemoved(version: number, nxm: boolean, fr: WireFlowRemoved): Uint8Array {
  const reason = fr.reason === OFPRR.METER_DELETE && version < OfpVersion.OF14 ? OFPRR.DELETE : fr.reason;
  // OVS `calc_duration()` counts whole milliseconds.
  const ms = Math.floor(fr.durationMs);
  const sec = Math.floor(ms / 1000);
  const nsec = (ms % 1000) * 1_000_000;
  if (version === OfpVersion.OF10 && nxm) {
    const m = startNx(version, 0, NXT.FLOW_REMOVED);
    const w = m.w;
    w.u64(fr.cookie).u16(fr.priority).u8(reason).u8((fr.tableId + 1) & 0xff).u32(sec).u32(nsec).u16(fr.idleTimeout);
    const lenAt = w.len;
    w.u16(0).u64(fr.packets).u64(fr.bytes);
    w.setU16(lenAt, putNxMatch(w, fr.match));
    return m.done();
  }
  const m = startMessage(version, OFPT.FLOW_REMOVED, 0, 128);
  const w = m.w;
  if (version === OfpVersion.OF10) {
    putOfp10Match(w, fr.match);
    w.u64(fr.cookie).u16(fr.priority).u8(reason).u8(0).u32(sec).u32(nsec).u16(fr.idleTimeout).zeros(2).u64(fr.packets).u64(fr.bytes);
  } else if (version <= OfpVersion.OF14) {
    w.u64(fr.cookie).u16(fr.priority).u8(reason).u8(fr.tableId).u32(sec).u32(nsec).u16(fr.idleTimeout).u16(fr.hardTimeout).u64(fr.packets).u64(fr.bytes);
    putOxmMatch(w, fr.match, version);
  } else {
    w.u8(fr.tableId).u8(reason).u16(fr.priority).u16(fr.idleTimeout).u16(fr.hardTimeout).u64(fr.cookie);
    putOxmMatch(w, fr.match, version);
    putOxsStats(w, { durationMs: ms, packets: fr.packets, bytes: fr.bytes });
  }
  return m.done();
}

/** PORT_STATUS (`ofp_port_status`: reason, seven bytes of padding, the port in the version's form), xid 0. */
export function encodePortStatus(version: number, reason: number, port: PortDesc): Uint8Array {
  const m = startMessage(version, OFPT.PORT_STATUS, 0, 96);
  m.w.u8(reason).zeros(7);
  putPort(m.w, version, port);
  return m.done();
}

/** Bytes equal? (OVS suppresses a port modification a connection's version cannot show.) */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A writer for tests and clients: SET_ASYNC (1.3 masks or 1.4+ properties) from a configuration. */
export function encodeSetAsync(version: number, xid: number, ac: AsyncConfig): Uint8Array {
  const m = startMessage(version, OFPT.SET_ASYNC, xid);
  const w: WireWriter = m.w;
  if (version < OfpVersion.OF14) {
    for (const oam of [OAM.PACKET_IN, OAM.PORT_STATUS, OAM.FLOW_REMOVED]) w.u32(ac.primary[oam]!).u32(ac.secondary[oam]!);
  } else for (const p of ASYNC_PROPS) w.u16(p.type).u16(8).u32((p.primary ? ac.primary : ac.secondary)[p.oam]!);
  return m.done();
}
