/**
 * OpenFlow messages on the wire (OpenFlow 1.0, 1.3, 1.4 and 1.5, as OVS 3.1's lib/ofp-msgs.c,
 * ofp-flow.c, ofp-switch.c, ofp-packet.c): the 8-byte header, the message types per version, and
 * the codecs of the messages a switch needs to talk to `ovs-ofctl` and controllers: HELLO (with the
 * version bitmap), ERROR, ECHO, FEATURES, GET/SET_CONFIG, FLOW_MOD, PACKET_OUT, PACKET_IN,
 * BARRIER and MULTIPART (desc, flow, aggregate, table, port desc).
 *
 * Every decoder reads through a bounded `WireReader` and raises the `OpenFlowError` OVS raises for
 * the defect (`OFPBRC_BAD_LEN`, `OFPBRC_BAD_TYPE`, `OFPBRC_BAD_STAT`, `OFPFMFC_BAD_COMMAND`, the
 * match and action errors of field-codec.ts and the action table); encoders write the bytes OVS
 * writes, so `ovs-ofctl` prints our replies as it prints OVS's.
 */
import { decodeInstructions, encodeActions, encodeInstructions, decodeActions, type Action, type Instructions } from './actions.js';
import { OpenFlowError } from './errors.js';
import {
  OFP10_MATCH_LEN, normalizeVlanForOxm, portFrom11Checked, portTo11, pullOfp10Match, pullOxmMatch, putOfp10Match, putOxmMatch,
} from './field-codec.js';
import { field } from './fields.js';
import { Match } from './match.js';
import type { Bucket, Group, GroupType } from './ofctl-text.js';
import type { MeterConfig } from './stateful/meters.js';
import { errorEncoding, type OfpErrName } from './ofp-errors.js';
import { OFPP } from './ports.js';
import { OfpVersion, WireReader, WireWriter } from './wire-buf.js';

/** Message types (`OFPT_*`) of OpenFlow 1.1+ (1.0 differs from GROUP_MOD on: `OFPT10`). */
export const OFPT = {
  HELLO: 0, ERROR: 1, ECHO_REQUEST: 2, ECHO_REPLY: 3, EXPERIMENTER: 4, FEATURES_REQUEST: 5, FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7, GET_CONFIG_REPLY: 8, SET_CONFIG: 9, PACKET_IN: 10, FLOW_REMOVED: 11, PORT_STATUS: 12,
  PACKET_OUT: 13, FLOW_MOD: 14, GROUP_MOD: 15, PORT_MOD: 16, TABLE_MOD: 17, MULTIPART_REQUEST: 18, MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20, BARRIER_REPLY: 21, ROLE_REQUEST: 24, ROLE_REPLY: 25, GET_ASYNC_REQUEST: 26, GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28, METER_MOD: 29,
} as const;

/** OpenFlow 1.0 message types that differ from 1.1+. */
export const OFPT10 = {
  VENDOR: 4, PORT_MOD: 15, STATS_REQUEST: 16, STATS_REPLY: 17, BARRIER_REQUEST: 18, BARRIER_REPLY: 19,
} as const;

/** Multipart (stats) types (`OFPMP_*`); OpenFlow 1.0 uses the same numbers for desc..queue. */
export const OFPMP = {
  DESC: 0, FLOW: 1, AGGREGATE: 2, TABLE: 3, PORT_STATS: 4, QUEUE: 5, GROUP: 6, GROUP_DESC: 7, GROUP_FEATURES: 8,
  METER: 9, METER_CONFIG: 10, METER_FEATURES: 11, TABLE_FEATURES: 12, PORT_DESC: 13, TABLE_DESC: 14, EXPERIMENTER: 0xffff,
} as const;

/** Flow-mod commands (`OFPFC_*`). */
export const OFPFC = { ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4 } as const;

/** Flow-mod flags (`OFPFF_*`), by OVS's flag names, for OpenFlow 1.1+ (1.0 has no reset_counts/no_*_counts). */
export const OFPFF: ReadonlyArray<readonly [string, number]> = [
  ['send_flow_rem', 1], ['check_overlap', 2], ['reset_counts', 4], ['no_packet_counts', 8], ['no_byte_counts', 16],
];

/** `OFPG_ANY` / `OFPP_ANY` in OpenFlow 1.1+ (32 bits). */
export const OFPG_ANY32 = 0xffff_ffff;
/** OpenFlow 1.1+ OFPP_ANY. */
export const OFPP_ANY32 = 0xffff_ffff;
/** OpenFlow 1.1+ OFPTT_ALL. */
export const OFPTT_ALL = 0xff;
/** "No buffer". */
export const OFP_NO_BUFFER = 0xffff_ffff;

const inPortField = field('in_port');

/** The versions we speak, oldest first. */
export const SUPPORTED_VERSIONS: readonly number[] = [OfpVersion.OF10, OfpVersion.OF13, OfpVersion.OF14, OfpVersion.OF15];

/** One framed message: header fields and a reader over the body (after the 8-byte header). */
export interface OfpMessage {
  /** `ofp_header.version`. */
  readonly version: number;
  /** `ofp_header.type`. */
  readonly type: number;
  /** `ofp_header.xid`. */
  readonly xid: number;
  /** The whole message (header included). */
  readonly bytes: Uint8Array;
  /** The body. */
  readonly body: WireReader;
}

/** Frame a message (the caller checked the buffer holds `length` bytes). */
export function frameMessage(bytes: Uint8Array): OfpMessage {
  const r = new WireReader(bytes);
  const version = r.u8();
  const type = r.u8();
  const len = r.u16();
  const xid = r.u32();
  return { version, type, xid, bytes, body: new WireReader(bytes, 8, Math.min(len, bytes.length)) };
}

/** Start a message: returns the writer and a function that fills in the length and returns the bytes. */
export function startMessage(version: number, type: number, xid: number, capacity = 64): { w: WireWriter; done: () => Uint8Array } {
  const w = new WireWriter(capacity);
  w.u8(version).u8(type).u16(0).u32(xid >>> 0);
  return {
    w,
    done: () => {
      w.setU16(2, w.len);
      return w.finish();
    },
  };
}

/** Is `type` a request of this kind in `version` (OpenFlow 1.0 numbers some types apart)? */
export function msgType(version: number, name: 'MULTIPART_REQUEST' | 'MULTIPART_REPLY' | 'BARRIER_REQUEST' | 'BARRIER_REPLY'): number {
  if (version === OfpVersion.OF10) {
    return { MULTIPART_REQUEST: OFPT10.STATS_REQUEST, MULTIPART_REPLY: OFPT10.STATS_REPLY, BARRIER_REQUEST: OFPT10.BARRIER_REQUEST, BARRIER_REPLY: OFPT10.BARRIER_REPLY }[name];
  }
  return OFPT[name];
}

// ---------------------------------------------------------------------------------------------
// HELLO

/** OFPHET_VERSIONBITMAP. */
const OFPHET_VERSIONBITMAP = 1;

/** A HELLO offering `versions` (with a version bitmap element when more than one is offered, as OVS). */
export function encodeHello(versions: readonly number[], xid = 0): Uint8Array {
  const max = Math.max(...versions);
  const m = startMessage(max, OFPT.HELLO, xid);
  if (max >= OfpVersion.OF13 && versions.length > 1) {
    let bits = 0;
    for (const v of versions) bits |= 1 << v;
    m.w.u16(OFPHET_VERSIONBITMAP).u16(8).u32(bits >>> 0);
  }
  return m.done();
}

/**
 * The versions a peer's HELLO offers (OVS `ofputil_decode_hello()`): its bitmap when it has one,
 * else every version up to the header's. Unknown elements are ignored; a malformed one is ignored too.
 */
export function decodeHello(m: OfpMessage): number[] {
  const r = m.body;
  while (r.remaining >= 4) {
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining) break;
    const body = r.sub(len - 4);
    r.skip(Math.min(r.remaining, ((len + 7) & ~7) - len));
    if (type === OFPHET_VERSIONBITMAP && body.remaining >= 4) {
      const bits = body.u32();
      const out: number[] = [];
      for (let v = 1; v < 32; v++) if (bits & (1 << v)) out.push(v);
      return out;
    }
  }
  const out: number[] = [];
  for (let v = 1; v <= m.version; v++) out.push(v);
  return out;
}

/** The highest version both sides offer, or undefined. */
export function negotiate(ours: readonly number[], theirs: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const v of ours) if (theirs.includes(v) && (best === undefined || v > best)) best = v;
  return best;
}

// ---------------------------------------------------------------------------------------------
// ERROR

/**
 * An ERROR reply for `name` in `version` carrying the offending message (all of it that fits, as
 * OVS's `ofperr_encode_reply()`); an error without an encoding in that version becomes
 * NXBRC_UNENCODABLE_ERROR.
 */
export function encodeError(version: number, xid: number, name: OfpErrName, data: Uint8Array): Uint8Array {
  let t = errorEncoding(name, version);
  if (!t) t = errorEncoding('NXBRC_UNENCODABLE_ERROR', version)!;
  const m = startMessage(version, OFPT.ERROR, xid, 96 + data.length);
  const body = data.subarray(0, Math.min(data.length, 65535 - 24));
  if (t.vendor === 0) m.w.u16(t.type).u16(t.code);
  else if (version <= OfpVersion.OF11) m.w.u16(0xb0c2).u16(0).u32(t.vendor).u16(t.type).u16(t.code); // NXET_VENDOR, nx_vendor_error
  else m.w.u16(0xffff).u16(t.type).u32(t.vendor);
  m.w.bytes(body);
  return m.done();
}

// ---------------------------------------------------------------------------------------------
// FEATURES, CONFIG

/** What FEATURES_REPLY says about the switch. */
export interface SwitchFeatures {
  /** Datapath id. */
  datapathId: bigint;
  /** Buffers (OVS: 0). */
  nBuffers: number;
  /** Tables (OVS: 254). */
  nTables: number;
  /** `OFPC_*` capability bits. */
  capabilities: number;
  /** Ports (OpenFlow 1.0 lists them in the reply; later versions use PORT_DESC). */
  ports: readonly PortDesc[];
}

/** One port as `ofp_port` describes it. */
export interface PortDesc {
  /** OpenFlow port number (16-bit form). */
  portNo: number;
  /** Hardware address. */
  hwAddr: bigint;
  /** Name. */
  name: string;
  /** `OFPPC_*`. */
  config: number;
  /** `OFPPS_*`. */
  state: number;
  /** Current speed (kbps) for 1.1-1.3 (OVS reports 0 for dummy ports). */
  currSpeed: number;
  /** Max speed (kbps). */
  maxSpeed: number;
}

/** FEATURES_REPLY (OpenFlow 1.0 with ports and actions bitmap; 1.3+ with auxiliary id). */
export function encodeFeaturesReply(version: number, xid: number, f: SwitchFeatures): Uint8Array {
  const m = startMessage(version, OFPT.FEATURES_REPLY, xid);
  const w = m.w;
  w.u64(f.datapathId).u32(f.nBuffers).u8(f.nTables);
  if (version === OfpVersion.OF10) {
    w.zeros(3).u32(f.capabilities).u32(0xfff); // OFPAT10 actions bitmap: every 1.0 action
    for (const p of f.ports) putPort10(w, p);
  } else w.u8(0).zeros(2).u32(f.capabilities).u32(0);
  return m.done();
}

function putPort10(w: WireWriter, p: PortDesc): void {
  // OFPPS10_ALL: LINK_DOWN and the STP bits (no LIVE in 1.0).
  w.u16(p.portNo).uN(p.hwAddr, 6).str(p.name, 16).u32(p.config).u32(p.state & 0x301).u32(0).u32(0).u32(0).u32(0);
}

/** OVS OFPPC11_ALL (PORT_DOWN, NO_RECV, NO_FWD, NO_PACKET_IN) and OFPPS11_ALL (LINK_DOWN, BLOCKED, LIVE). */
const OFPPC11_ALL = 0x65;
const OFPPS11_ALL = 0x7;

/** Write one `ofp_port` in `version` (OpenFlow 1.0, 1.1-1.3, or 1.4+ with an Ethernet property). */
export function putPort(w: WireWriter, version: number, p: PortDesc): void {
  if (version === OfpVersion.OF10) return putPort10(w, p);
  if (version <= OfpVersion.OF13) {
    w.u32(portTo11(p.portNo)).zeros(4).uN(p.hwAddr, 6).zeros(2).str(p.name, 16).u32(p.config & OFPPC11_ALL).u32(p.state & OFPPS11_ALL);
    w.u32(0).u32(0).u32(0).u32(0).u32(p.currSpeed).u32(p.maxSpeed);
    return;
  }
  const start = w.len;
  w.u32(portTo11(p.portNo)).u16(0).zeros(2).uN(p.hwAddr, 6).zeros(2).str(p.name, 16).u32(p.config & OFPPC11_ALL).u32(p.state & OFPPS11_ALL);
  // OFPPDPT_ETHERNET property: curr, advertised, supported, peer, curr_speed, max_speed.
  w.u16(0).u16(32).zeros(4).u32(0).u32(0).u32(0).u32(0).u32(p.currSpeed).u32(p.maxSpeed);
  w.setU16(start + 4, w.len - start);
}

/** GET_CONFIG_REPLY: `flags` (fragment handling) and miss_send_len. */
export function encodeConfigReply(version: number, xid: number, flags: number, missSendLen: number): Uint8Array {
  const m = startMessage(version, OFPT.GET_CONFIG_REPLY, xid);
  m.w.u16(flags).u16(missSendLen);
  return m.done();
}

/** SET_CONFIG body. */
export function decodeSetConfig(m: OfpMessage): { flags: number; missSendLen: number } {
  const r = m.body;
  if (r.remaining !== 4) throw new OpenFlowError('OFPBRC_BAD_LEN', `SET_CONFIG body of ${r.remaining} bytes`);
  return { flags: r.u16(), missSendLen: r.u16() };
}

// ---------------------------------------------------------------------------------------------
// FLOW_MOD

/** A decoded flow modification (`ofputil_flow_mod`). */
export interface WireFlowMod {
  /** `OFPFC_*`. */
  command: number;
  /** Cookie (the new cookie for add; the filter value for modify/delete). */
  cookie: bigint;
  /** Cookie mask (modify/delete filter; 0 = any). */
  cookieMask: bigint;
  /** OpenFlow 1.0 and Nicira modify: the cookie the flows get (all ones: keep theirs), as OVS's `new_cookie`. */
  newCookie?: bigint;
  /** Table, or 0xff (all tables, modify/delete). */
  tableId: number;
  /** Idle timeout (s). */
  idleTimeout: number;
  /** Hard timeout (s). */
  hardTimeout: number;
  /** Priority. */
  priority: number;
  /** Buffer id (OFP_NO_BUFFER). */
  bufferId: number;
  /** out_port filter (16-bit form, OFPP.NONE = any). */
  outPort: number;
  /** out_group filter (OFPG_ANY32 = any). */
  outGroup: number;
  /** Flag names (`send_flow_rem`, ...). */
  flags: string[];
  /** Importance (1.4+). */
  importance: number;
  /** The match. */
  match: Match;
  /** The instructions. */
  instructions: Instructions;
}

/** The flag names of flow-mod flag bits (OpenFlow 1.0 knows only send_flow_rem and check_overlap). */
export function flagNames(bits: number, version: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of OFPFF) if (bits & bit && (version !== OfpVersion.OF10 || bit <= 2)) out.push(name);
  return out;
}

/**
 * The flags of an OpenFlow 1.0 (or Nicira) flow mod: send_flow_rem and check_overlap, plus
 * reset_counts on an add, which OpenFlow 1.0 implies (OVS `ofputil_decode_flow_mod_flags()`; 1.2+
 * dumps show it).
 */
export function flagNames10(bits: number, command: number): string[] {
  return flagNames((bits & 3) | (command === OFPFC.ADD ? 4 : 0), OfpVersion.OF13);
}

function flagBits(names: readonly string[]): number {
  let b = 0;
  for (const [name, bit] of OFPFF) if (names.includes(name)) b |= bit;
  return b;
}

/**
 * The fixed fields an OpenFlow 1.0 `ofp_flow_mod` and a Nicira `nx_flow_mod` share, cookie to
 * flags; with `tableIdInCommand` (NXT_FLOW_MOD_TABLE_ID) the command's upper byte is the table,
 * else the table is 255 (0 for an add, as OVS picks).
 */
export function pullFlowMod10(r: WireReader, tableIdInCommand: boolean): {
  cookie: bigint; command: number; tableId: number; idleTimeout: number; hardTimeout: number; priority: number; bufferId: number; outPort: number; flags: number;
} {
  const cookie = r.u64();
  let command = r.u16();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const bufferId = r.u32();
  const outPort = r.u16();
  const flags = r.u16();
  let tableId = OFPTT_ALL;
  if (tableIdInCommand) {
    tableId = command >> 8;
    command &= 0xff;
  }
  if (command > 4) throw new OpenFlowError('OFPFMFC_BAD_COMMAND', `flow_mod command ${command}`);
  if (command === OFPFC.ADD && tableId === OFPTT_ALL) tableId = 0;
  return { cookie, command, tableId, idleTimeout, hardTimeout, priority, bufferId, outPort, flags };
}

/**
 * Decode a FLOW_MOD (OpenFlow 1.0 with `ofp10_match`, 1.1+ with OXM and instructions).
 * `tableIdInCommand` (NXT_FLOW_MOD_TABLE_ID on the connection): a 1.0 command's upper byte is the table.
 */
export function decodeFlowMod(m: OfpMessage, tableIdInCommand = false): WireFlowMod {
  const r = m.body;
  const v = m.version;
  if (v === OfpVersion.OF10) {
    if (r.remaining < OFP10_MATCH_LEN + 24) throw new OpenFlowError('OFPBRC_BAD_LEN', 'FLOW_MOD too short');
    const match = pullOfp10Match(r);
    // OVS decodes an ofp10_match and then normalises it (ofputil_normalize_match), as the text parser does.
    normalizeVlanForOxm(match);
    match.normalize();
    const { cookie, command, tableId, idleTimeout, hardTimeout, priority, bufferId, outPort, flags } = pullFlowMod10(r, tableIdInCommand);
    const instructions = decodeInstructions(r, v, matchHasVlan(match));
    return {
      ...(command === OFPFC.MODIFY || command === OFPFC.MODIFY_STRICT ? { newCookie: cookie } : {}),
      command, cookie, cookieMask: 0n, tableId, idleTimeout, hardTimeout,
      priority, bufferId, outPort, outGroup: OFPG_ANY32, flags: flagNames10(flags, command), importance: 0, match, instructions,
    };
  }
  if (r.remaining < 40) throw new OpenFlowError('OFPBRC_BAD_LEN', 'FLOW_MOD too short');
  const cookie = r.u64();
  const cookieMask = r.u64();
  const tableId = r.u8();
  const command = r.u8();
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const bufferId = r.u32();
  const op = r.u32();
  const outGroup = r.u32();
  const flags = r.u16();
  const importance = r.u16();
  if (command > 4) throw new OpenFlowError('OFPFMFC_BAD_COMMAND', `flow_mod command ${command}`);
  if (tableId === OFPTT_ALL && command === OFPFC.ADD) throw new OpenFlowError('OFPFMFC_BAD_TABLE_ID', 'add to table 255');
  const outPort = port11(op);
  const match = pullOxmMatch(r, true);
  const instructions = decodeInstructions(r, v);
  return {
    command, cookie, cookieMask, tableId, idleTimeout, hardTimeout, priority, bufferId, outPort, outGroup,
    flags: flagNames(flags, v), importance: v >= OfpVersion.OF14 ? importance : 0, match, instructions,
  };
}

/** Does a match say the frame has a VLAN header (the CFI bit of vlan_tci matched as 1)? */
export function matchHasVlan(match: Match): boolean {
  const f = field('vlan_tci');
  return match.has(f) && (match.getValue(f) & 0x1000n) !== 0n;
}

/** Encode a FLOW_MOD (what `ovs-ofctl` sends; tests and the benchmark drive switches with it). */
export function encodeFlowMod(version: number, xid: number, fm: WireFlowMod): Uint8Array {
  const m = startMessage(version, OFPT.FLOW_MOD, xid, 256);
  const w = m.w;
  if (version === OfpVersion.OF10) {
    putOfp10Match(w, fm.match);
    w.u64(fm.cookie).u16(fm.command).u16(fm.idleTimeout).u16(fm.hardTimeout).u16(fm.priority).u32(fm.bufferId);
    w.u16(fm.outPort).u16(flagBits(fm.flags) & 3); // 1.0 has send_flow_rem and check_overlap only
    encodeInstructions(fm.instructions, version, w);
    return m.done();
  }
  w.u64(fm.cookie).u64(fm.cookieMask).u8(fm.tableId).u8(fm.command).u16(fm.idleTimeout).u16(fm.hardTimeout).u16(fm.priority);
  w.u32(fm.bufferId).u32(fm.outPort === OFPP.NONE ? OFPP_ANY32 : portTo11(fm.outPort)).u32(fm.outGroup).u16(flagBits(fm.flags));
  w.u16(version >= OfpVersion.OF14 ? fm.importance : 0);
  putOxmMatch(w, fm.match, version);
  encodeInstructions(fm.instructions, version, w);
  return m.done();
}

// ---------------------------------------------------------------------------------------------
// PACKET_OUT, PACKET_IN

/** A decoded PACKET_OUT. */
export interface WirePacketOut {
  /** Buffer id (we keep no buffers: anything but OFP_NO_BUFFER is `OFPBRC_BUFFER_UNKNOWN`). */
  bufferId: number;
  /** in_port (16-bit form). */
  inPort: number;
  /** Actions. */
  actions: Action[];
  /** The frame. */
  data: Uint8Array;
}

/** Decode a PACKET_OUT (1.0: 16-bit in_port; 1.1-1.4: 32-bit; 1.5: a match carrying in_port). */
export function decodePacketOut(m: OfpMessage): WirePacketOut {
  const r = m.body;
  const v = m.version;
  let bufferId: number;
  let inPort: number;
  let actionsLen: number;
  if (v === OfpVersion.OF10) {
    if (r.remaining < 8) throw new OpenFlowError('OFPBRC_BAD_LEN', 'PACKET_OUT too short');
    bufferId = r.u32();
    inPort = r.u16();
    actionsLen = r.u16();
  } else if (v <= OfpVersion.OF14) {
    if (r.remaining < 16) throw new OpenFlowError('OFPBRC_BAD_LEN', 'PACKET_OUT too short');
    bufferId = r.u32();
    inPort = port11(r.u32());
    actionsLen = r.u16();
    r.skip(6);
  } else {
    if (r.remaining < 8) throw new OpenFlowError('OFPBRC_BAD_LEN', 'PACKET_OUT too short');
    bufferId = r.u32();
    actionsLen = r.u16();
    r.skip(2);
    const match = pullOxmMatch(r, true);
    inPort = match.has(inPortField) ? Number(match.getValue(inPortField)) : OFPP.NONE;
  }
  if (actionsLen > r.remaining) throw new OpenFlowError('OFPBRC_BAD_LEN', `actions_len ${actionsLen} exceeds the message`);
  const actions = decodeActions(r, v, actionsLen);
  const data = r.bytes(r.remaining).slice();
  return { bufferId, inPort, actions, data };
}


/** Encode a PACKET_OUT. */
export function encodePacketOut(version: number, xid: number, po: WirePacketOut): Uint8Array {
  const m = startMessage(version, OFPT.PACKET_OUT, xid, 128 + po.data.length);
  const w = m.w;
  if (version === OfpVersion.OF10) {
    w.u32(po.bufferId).u16(po.inPort).u16(0);
  } else if (version <= OfpVersion.OF14) {
    w.u32(po.bufferId).u32(portTo11(po.inPort)).u16(0).zeros(6);
  } else {
    w.u32(po.bufferId).u16(0).zeros(2);
    const mt = new Match();
    mt.set(inPortField, BigInt(po.inPort));
    putOxmMatch(w, mt, version);
  }
  const lenAt = version === OfpVersion.OF10 ? 14 : version <= OfpVersion.OF14 ? 16 : 12;
  const start = w.len;
  encodeActions(po.actions, version, w);
  w.setU16(lenAt, w.len - start);
  w.bytes(po.data);
  return m.done();
}

/** A packet-in to send (`ofputil_packet_in`). */
export interface WirePacketIn {
  /** Frame (already cut to max_len). */
  data: Uint8Array;
  /** Length of the whole frame. */
  totalLen: number;
  /** `OFPR_*`. */
  reason: number;
  /** Table. */
  tableId: number;
  /** Cookie of the flow. */
  cookie: bigint;
  /** Pipeline metadata (in_port, registers, metadata, tunnel) as a match. */
  match: Match;
}

/** Encode a PACKET_IN (1.0: in_port and reason; 1.3+: `ofp13_packet_in` with the match). */
export function encodePacketIn(version: number, xid: number, pi: WirePacketIn): Uint8Array {
  const m = startMessage(version, OFPT.PACKET_IN, xid, 128 + pi.data.length);
  const w = m.w;
  if (version === OfpVersion.OF10) {
    w.u32(OFP_NO_BUFFER).u16(pi.totalLen).u16(Number(pi.match.getValue(inPortField))).u8(pi.reason).u8(0).bytes(pi.data);
    return m.done();
  }
  w.u32(OFP_NO_BUFFER).u16(pi.totalLen).u8(pi.reason).u8(pi.tableId).u64(pi.cookie);
  putOxmMatch(w, pi.match, version);
  w.zeros(2).bytes(pi.data);
  return m.done();
}

// ---------------------------------------------------------------------------------------------
// MULTIPART

/** A multipart request's header fields and body. */
export interface MultipartRequest {
  /** `OFPMP_*`. */
  readonly mpType: number;
  /** Flags (OFPMPF_REQ_MORE). */
  readonly flags: number;
  /** The body. */
  readonly body: WireReader;
}

/** Read a multipart (stats) request header. */
export function decodeMultipartRequest(m: OfpMessage): MultipartRequest {
  const r = m.body;
  const need = m.version === OfpVersion.OF10 ? 4 : 8;
  if (r.remaining < need) throw new OpenFlowError('OFPBRC_BAD_LEN', 'multipart request too short');
  const mpType = r.u16();
  const flags = r.u16();
  if (m.version !== OfpVersion.OF10) r.skip(4);
  return { mpType, flags, body: r };
}

/**
 * Multipart replies: `add()` appends a body part; `finish()` splits the parts into messages of at
 * most 64 kB (OFPMPF_REPLY_MORE on all but the last), as OVS does.
 */
export class MultipartReply {
  private readonly parts: Uint8Array[] = [];

  constructor(
    /** Version. */
    readonly version: number,
    /** xid of the request. */
    readonly xid: number,
    /** `OFPMP_*`. */
    readonly mpType: number,
    /** For a Nicira statistics reply (mpType 0xffff): its `NXST_*` subtype (or the experimenter type of `vendor`). */
    readonly nxSubtype?: number,
    /** The experimenter of an experimenter reply (default Nicira; ONF for OpenFlow 1.3's ONFST replies). */
    readonly vendor = 0x0000_2320,
  ) {}

  /** Append one part. */
  add(part: Uint8Array): void {
    this.parts.push(part);
  }

  /** The reply messages. */
  finish(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const nx = this.nxSubtype !== undefined;
    const hdr = nx ? 24 : this.version === OfpVersion.OF10 ? 12 : 16;
    let cur: Uint8Array[] = [];
    let size = hdr;
    const flush = (more: boolean): void => {
      const m = startMessage(this.version, msgType(this.version, 'MULTIPART_REPLY'), this.xid, size);
      m.w.u16(this.mpType).u16(more ? 1 : 0);
      if (this.version !== OfpVersion.OF10) m.w.zeros(4);
      // nicira10_stats_msg / nicira11_stats_msg: vendor, subtype (and 4 bytes of padding in 1.0).
      if (nx) m.w.u32(this.vendor).u32(this.nxSubtype!).zeros(this.version === OfpVersion.OF10 ? 4 : 0);
      for (const p of cur) m.w.bytes(p);
      out.push(m.done());
      cur = [];
      size = hdr;
    };
    for (const p of this.parts) {
      if (size + p.length > 65535 && cur.length) flush(true);
      cur.push(p);
      size += p.length;
    }
    flush(false);
    return out;
  }
}

/** `ofp_desc`: five fixed strings. */
export function encodeDesc(d: { mfr: string; hw: string; sw: string; serial: string; dp: string }): Uint8Array {
  return new WireWriter(1056).str(d.mfr, 256).str(d.hw, 256).str(d.sw, 256).str(d.serial, 32).str(d.dp, 256).finish();
}

/** A flow (or aggregate) stats request. */
export interface FlowStatsRequest {
  /** Table or 0xff. */
  tableId: number;
  /** out_port filter (16-bit form; OFPP.NONE = any). */
  outPort: number;
  /** out_group filter. */
  outGroup: number;
  /** Cookie filter. */
  cookie: bigint;
  /** Cookie mask. */
  cookieMask: bigint;
  /** Match (loose). */
  match: Match;
}

/** Decode a flow/aggregate stats request body. */
export function decodeFlowStatsRequest(version: number, r: WireReader): FlowStatsRequest {
  if (version === OfpVersion.OF10) {
    if (r.remaining < OFP10_MATCH_LEN + 4) throw new OpenFlowError('OFPBRC_BAD_LEN', 'flow stats request too short');
    const match = pullOfp10Match(r);
    const tableId = r.u8();
    r.skip(1);
    const outPort = r.u16();
    return { tableId, outPort, outGroup: OFPG_ANY32, cookie: 0n, cookieMask: 0n, match };
  }
  if (r.remaining < 32) throw new OpenFlowError('OFPBRC_BAD_LEN', 'flow stats request too short');
  const tableId = r.u8();
  r.skip(3);
  const op = r.u32();
  const outGroup = r.u32();
  r.skip(4);
  const cookie = r.u64();
  const cookieMask = r.u64();
  const outPort = port11(op);
  const match = pullOxmMatch(r, false);
  return { tableId, outPort, outGroup, cookie, cookieMask, match };
}

/** Encode a flow/aggregate stats request (1.1+). */
export function encodeFlowStatsRequest(version: number, xid: number, mpType: number, q: FlowStatsRequest): Uint8Array {
  const m = startMessage(version, msgType(version, 'MULTIPART_REQUEST'), xid);
  const w = m.w;
  w.u16(mpType).u16(0).zeros(4);
  w.u8(q.tableId).zeros(3).u32(q.outPort === OFPP.NONE ? OFPP_ANY32 : portTo11(q.outPort)).u32(q.outGroup).zeros(4).u64(q.cookie).u64(q.cookieMask);
  putOxmMatch(w, q.match, version);
  return m.done();
}

/** One flow's statistics entry. */
export interface FlowStatsEntry {
  /** Table. */
  tableId: number;
  /** Milliseconds installed. */
  durationMs: number;
  /** Seconds since the last hit (1.5 only carries it). */
  idleAge: number;
  /** Priority. */
  priority: number;
  /** Idle timeout (s). */
  idleTimeout: number;
  /** Hard timeout (s). */
  hardTimeout: number;
  /** Flag names. */
  flags: readonly string[];
  /** Importance. */
  importance: number;
  /** Cookie. */
  cookie: bigint;
  /** Packets. */
  packets: bigint;
  /** Bytes. */
  bytes: bigint;
  /** Match. */
  match: Match;
  /** Instructions. */
  instructions: Instructions;
}

const OXS_BASIC = 0x8002;

function putOxs64(w: WireWriter, field: number, v: bigint): void {
  w.u32(((OXS_BASIC << 16) | (field << 9) | 8) >>> 0).u64(v);
}

/** `ofp_oxs_stat` (exported for FLOW_REMOVED) with duration, idle time, packets, bytes and/or flow count (absent: left out). */
export function putOxsStats(w: WireWriter, s: { durationMs?: number; idleAge?: number; packets: bigint; bytes: bigint; flowCount?: number }): void {
  const start = w.len;
  w.u32(0);
  if (s.durationMs !== undefined) putOxs64(w, 0, (BigInt(Math.floor(s.durationMs / 1000)) << 32n) | BigInt(Math.floor((s.durationMs % 1000) * 1_000_000)));
  if (s.idleAge !== undefined) putOxs64(w, 1, BigInt(s.idleAge) << 32n);
  putOxs64(w, 4, s.packets);
  putOxs64(w, 5, s.bytes);
  if (s.flowCount !== undefined) w.u32(((OXS_BASIC << 16) | (3 << 9) | 4) >>> 0).u32(s.flowCount);
  w.setU16(start + 2, w.len - start);
  w.pad8(start);
}

/** One flow stats part (`ofp10_flow_stats`, `ofp11_flow_stats`, or OpenFlow 1.5 `ofp15_flow_desc`). */
export function encodeFlowStats(version: number, s: FlowStatsEntry): Uint8Array {
  const w = new WireWriter(256);
  const sec = Math.floor(s.durationMs / 1000);
  const nsec = Math.floor((s.durationMs % 1000) * 1_000_000);
  if (version === OfpVersion.OF10) {
    w.u16(0).u8(s.tableId).u8(0);
    putOfp10Match(w, s.match);
    w.u32(sec).u32(nsec).u16(s.priority).u16(s.idleTimeout).u16(s.hardTimeout).zeros(6).u64(s.cookie).u64(s.packets).u64(s.bytes);
    encodeInstructions(s.instructions, version, w);
  } else if (version <= OfpVersion.OF14) {
    w.u16(0).u8(s.tableId).u8(0).u32(sec).u32(nsec).u16(s.priority).u16(s.idleTimeout).u16(s.hardTimeout).u16(flagBits(s.flags));
    w.u16(version >= OfpVersion.OF14 ? s.importance : 0).zeros(2).u64(s.cookie).u64(s.packets).u64(s.bytes);
    putOxmMatch(w, s.match, version);
    encodeInstructions(s.instructions, version, w);
  } else {
    w.u16(0).zeros(2).u8(s.tableId).u8(0).u16(s.priority).u16(s.idleTimeout).u16(s.hardTimeout).u16(flagBits(s.flags)).u16(s.importance).u64(s.cookie);
    putOxmMatch(w, s.match, version);
    putOxsStats(w, { durationMs: s.durationMs, idleAge: s.idleAge, packets: s.packets, bytes: s.bytes });
    encodeInstructions(s.instructions, version, w);
  }
  w.setU16(0, w.len);
  return w.finish();
}

/** An aggregate stats reply body. */
export function encodeAggregate(version: number, packets: bigint, bytes: bigint, flowCount: number): Uint8Array {
  const w = new WireWriter(32);
  if (version >= OfpVersion.OF15) putOxsStats(w, { packets, bytes, flowCount });
  else w.u64(packets).u64(bytes).u32(flowCount).zeros(4);
  return w.finish();
}

/** One table's statistics (`ofp10_table_stats` / `ofp13_table_stats`; OVS's dump-tables). */
export function encodeTableStats(version: number, t: { tableId: number; active: number; lookups: bigint; matched: bigint }): Uint8Array {
  const w = new WireWriter(64);
  if (version === OfpVersion.OF10) {
    // OVS leaves a table's name empty unless one was configured (ofproto `query_tables()`).
    w.u8(t.tableId).zeros(3).str('', 32).u32(0x3fffff).u32(1_000_000).u32(t.active).u64(t.lookups).u64(t.matched);
  } else w.u8(t.tableId).zeros(3).u32(t.active).u64(t.lookups).u64(t.matched);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// GROUP_MOD, group descriptions

/** Group types (`OFPGT_*`) in wire order. */
export const GROUP_TYPES: readonly GroupType[] = ['all', 'select', 'indirect', 'ff'];
/** Group-mod commands (`OFPGC_*`). */
export const OFPGC = { ADD: 0, MODIFY: 1, DELETE: 2, INSERT_BUCKET: 3, REMOVE_BUCKET: 5 } as const;
/** OpenFlow 1.5 command bucket ids (`OFPG15_BUCKET_*`): the largest real id, and first, last, all. */
export const OFPG15_BUCKET = { MAX: 0xffff_ff00, FIRST: 0xffff_fffd, LAST: 0xffff_fffe, ALL: 0xffff_ffff } as const;
/** OFPG_ALL: every group (delete). */
export const OFPG_ALL = 0xffff_fffc;

/** A decoded GROUP_MOD. */
export interface WireGroupMod {
  /** `OFPGC_*`. */
  command: number;
  /** The group (buckets with ids: given in 1.5, numbered from 0 before). */
  group: Group;
  /** OpenFlow 1.5 insert/remove bucket: where (a bucket id or `OFPG15_BUCKET.*`); ALL otherwise. */
  commandBucketId: number;
}

function groupType(t: number): GroupType {
  const g = GROUP_TYPES[t];
  if (!g) throw new OpenFlowError('OFPGMFC_BAD_TYPE', `group type ${t}`);
  return g;
}

/**
 * Buckets of an OpenFlow 1.1-1.4 group (`ofp11_bucket`) or 1.5 (`ofp15_bucket` with properties;
 * `layout15` also for OpenFlow 1.0's NXT_GROUP_MOD, whose buckets are 1.5's with 1.0 actions).
 */
function pullBuckets(r: WireReader, version: number, layout15 = version >= OfpVersion.OF15): Bucket[] {
  const out: Bucket[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 16) throw new OpenFlowError('OFPGMFC_BAD_BUCKET', `bucket of ${r.remaining} bytes`);
    const len = r.peekU16();
    if (len < 16 || len % 8 !== 0 || len > r.remaining) throw new OpenFlowError('OFPGMFC_BAD_BUCKET', `bucket length ${len}`);
    const b = r.sub(len);
    b.skip(2);
    if (!layout15) {
      const weight = b.u16();
      const watchPort = b.u32();
      const watchGroup = b.u32();
      b.skip(4);
      const bucket: Bucket = { bucketId: out.length, actions: decodeActions(b, version) };
      bucket.weight = weight;
      if (watchPort !== OFPP_ANY32) bucket.watchPort = port11(watchPort);
      if (watchGroup !== OFPG_ANY32) bucket.watchGroup = watchGroup;
      out.push(bucket);
      continue;
    }
    const actionsLen = b.u16();
    const bucketId = b.u32();
    if (actionsLen > b.remaining) throw new OpenFlowError('OFPGMFC_BAD_BUCKET', `bucket actions of ${actionsLen} bytes`);
    const bucket: Bucket = { bucketId, actions: decodeActions(b, version, actionsLen) };
    while (b.remaining > 0) {
      if (b.remaining < 8) throw new OpenFlowError('OFPBPC_BAD_LEN', 'truncated bucket property');
      const type = b.u16();
      const plen = b.u16();
      if (plen !== 8) throw new OpenFlowError('OFPBPC_BAD_LEN', `bucket property ${type} of length ${plen}`);
      if (type === 0) (bucket.weight = b.u16(), b.skip(2));
      else if (type === 1) bucket.watchPort = port11(b.u32());
      else if (type === 2) bucket.watchGroup = b.u32();
      else throw new OpenFlowError('OFPBPC_BAD_TYPE', `bucket property ${type}`);
    }
    out.push(bucket);
  }
  return out;
}

function port11(p: number): number {
  return portFrom11Checked(p, 'OFPBRC_BAD_PORT');
}

function putBuckets(w: WireWriter, version: number, g: Group, layout15 = version >= OfpVersion.OF15): void {
  g.buckets.forEach((bk, i) => {
    const start = w.len;
    if (!layout15) {
      w.u16(0).u16(bk.weight ?? (g.type === 'select' ? 1 : 0)).u32(bk.watchPort === undefined ? OFPP_ANY32 : portTo11(bk.watchPort));
      w.u32(bk.watchGroup ?? OFPG_ANY32).zeros(4);
      encodeActions(bk.actions, version, w);
    } else {
      w.u16(0).u16(0).u32(bk.bucketId ?? i);
      const a = w.len;
      encodeActions(bk.actions, version, w);
      w.setU16(start + 2, w.len - a);
      if (g.type === 'select') w.u16(0).u16(8).u16(bk.weight ?? 1).zeros(2);
      if (bk.watchPort !== undefined) w.u16(1).u16(8).u32(portTo11(bk.watchPort));
      if (bk.watchGroup !== undefined) w.u16(2).u16(8).u32(bk.watchGroup);
    }
    w.setU16(start, w.len - start);
  });
}

/**
 * Decode a GROUP_MOD (OpenFlow 1.1-1.4 `ofp11_group_mod`, 1.5 `ofp15_group_mod`), or with `nx` the
 * body of OpenFlow 1.0's NXT_GROUP_MOD (an `ofp15_group_mod` with OpenFlow 1.0 actions; the reader
 * at the body, after the vendor header).
 */
export function decodeGroupMod(m: OfpMessage, nx = false): WireGroupMod {
  const r = m.body;
  const v = m.version;
  if (v === OfpVersion.OF10 && !nx) throw new OpenFlowError('OFPBRC_BAD_TYPE', 'GROUP_MOD in OpenFlow 1.0');
  const l15 = v >= OfpVersion.OF15 || nx;
  if (r.remaining < (l15 ? 16 : 8)) throw new OpenFlowError('OFPBRC_BAD_LEN', 'GROUP_MOD too short');
  const command = r.u16();
  const type = r.u8();
  r.skip(1);
  const groupId = r.u32();
  const bucketCmd = l15 && (command === OFPGC.INSERT_BUCKET || command === OFPGC.REMOVE_BUCKET);
  if (command > 2 && !bucketCmd) throw new OpenFlowError('OFPGMFC_BAD_COMMAND', `group_mod command ${command}`);
  let buckets: Bucket[];
  let commandBucketId: number = OFPG15_BUCKET.ALL;
  if (l15) {
    const len = r.u16();
    r.skip(2);
    commandBucketId = r.u32();
    // OVS ofputil_pull_ofp15_group_mod(): which command bucket ids each command allows.
    const id = commandBucketId;
    const ok = bucketCmd
      ? id <= OFPG15_BUCKET.MAX || id === OFPG15_BUCKET.FIRST || id === OFPG15_BUCKET.LAST || (command === OFPGC.REMOVE_BUCKET && id === OFPG15_BUCKET.ALL)
      : id === OFPG15_BUCKET.ALL;
    if (!ok) throw new OpenFlowError('OFPGMFC_BAD_BUCKET', `command bucket id ${id} out of range`);
    if (len > r.remaining) throw new OpenFlowError('OFPBRC_BAD_LEN', `bucket array of ${len} bytes`);
    buckets = pullBuckets(r.sub(len), v, true);
    if (command === OFPGC.REMOVE_BUCKET && buckets.length) throw new OpenFlowError('OFPGMFC_BAD_BUCKET', 'remove bucket with buckets');
  } else buckets = pullBuckets(r, v);
  return { command, commandBucketId, group: { groupId, type: command === OFPGC.DELETE ? 'all' : groupType(type), buckets } };
}

/** Encode a GROUP_MOD. */
export function encodeGroupMod(version: number, xid: number, gm: WireGroupMod): Uint8Array {
  const m = startMessage(version, OFPT.GROUP_MOD, xid, 128);
  const w = m.w;
  w.u16(gm.command).u8(GROUP_TYPES.indexOf(gm.group.type)).u8(0).u32(gm.group.groupId);
  if (version >= OfpVersion.OF15) {
    const at = w.len;
    w.u16(0).zeros(2).u32(gm.commandBucketId);
    const start = w.len;
    putBuckets(w, version, gm.group);
    w.setU16(at, w.len - start);
  } else putBuckets(w, version, gm.group);
  return m.done();
}

/** One group description part (`ofp11_group_desc_stats` / `ofp15_group_desc_stats`, which NXST_GROUP_DESC uses with 1.0 actions: `layout15`). */
export function encodeGroupDesc(version: number, g: Group, layout15 = version >= OfpVersion.OF15): Uint8Array {
  const w = new WireWriter(128);
  w.u16(0).u8(GROUP_TYPES.indexOf(g.type)).u8(0).u32(g.groupId);
  if (layout15) {
    w.u16(0).zeros(6);
    const start = w.len;
    putBuckets(w, version, g, true);
    w.setU16(8, w.len - start);
  } else putBuckets(w, version, g);
  w.setU16(0, w.len);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// METER_MOD, meter configurations

/** Meter-mod commands (`OFPMC13_*`). */
export const OFPMC = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;
/** OFPM_ALL: every meter. */
export const OFPM_ALL = 0xffff_ffff;

/** A decoded METER_MOD. */
export interface WireMeterMod {
  /** `OFPMC_*`. */
  command: number;
  /** The meter. */
  meter: MeterConfig;
}

function pullBands(r: WireReader): MeterConfig['bands'] {
  const bands: MeterConfig['bands'] = [];
  while (r.remaining > 0) {
    if (r.remaining < 16) throw new OpenFlowError('OFPMMFC_BAD_BAND', `meter band of ${r.remaining} bytes`);
    const type = r.u16();
    const len = r.u16();
    if (len !== 16) throw new OpenFlowError('OFPMMFC_BAD_BAND', `meter band of length ${len}`);
    const rate = r.u32();
    const burstSize = r.u32();
    if (type === 1) (bands.push({ type: 'drop', rate, burstSize }), r.skip(4));
    else if (type === 2) {
      const precLevel = r.u8();
      r.skip(3);
      bands.push({ type: 'dscp_remark', rate, burstSize, precLevel });
    } else throw new OpenFlowError('OFPMMFC_BAD_BAND', `meter band type ${type}`);
  }
  return bands;
}

function putMeterBody(w: WireWriter, m: MeterConfig): void {
  for (const b of m.bands) {
    w.u16(b.type === 'drop' ? 1 : 2).u16(16).u32(b.rate).u32(b.burstSize);
    if (b.type === 'drop') w.zeros(4);
    else w.u8(b.precLevel ?? 0).zeros(3);
  }
}

function meterFlags(m: MeterConfig): number {
  return (m.kbps ? 1 : 2) | (m.burst ? 4 : 0) | (m.stats ? 8 : 0);
}

/** Decode a METER_MOD (OpenFlow 1.3+ `ofp13_meter_mod`). */
export function decodeMeterMod(m: OfpMessage): WireMeterMod {
  const r = m.body;
  if (m.version < OfpVersion.OF13) throw new OpenFlowError('OFPBRC_BAD_TYPE', 'METER_MOD before OpenFlow 1.3');
  if (r.remaining < 8) throw new OpenFlowError('OFPBRC_BAD_LEN', 'METER_MOD too short');
  const command = r.u16();
  const flags = r.u16();
  const meterId = r.u32();
  if (command > 2) throw new OpenFlowError('OFPMMFC_BAD_COMMAND', `meter_mod command ${command}`);
  if (flags & ~15 || (command !== OFPMC.DELETE && (flags & 3) === 3)) throw new OpenFlowError('OFPMMFC_BAD_FLAGS', `meter flags 0x${flags.toString(16)}`);
  const bands = pullBands(r);
  return { command, meter: { meterId, kbps: (flags & 1) !== 0, burst: (flags & 4) !== 0, stats: (flags & 8) !== 0, bands } };
}

/** Encode a METER_MOD. */
export function encodeMeterMod(version: number, xid: number, mm: WireMeterMod): Uint8Array {
  const msg = startMessage(version, OFPT.METER_MOD, xid);
  msg.w.u16(mm.command).u16(meterFlags(mm.meter)).u32(mm.meter.meterId);
  putMeterBody(msg.w, mm.meter);
  return msg.done();
}

/** One meter configuration part (`ofp13_meter_config`). */
export function encodeMeterConfig(m: MeterConfig): Uint8Array {
  const w = new WireWriter(64);
  w.u16(0).u16(meterFlags(m)).u32(m.meterId);
  putMeterBody(w, m);
  w.setU16(0, w.len);
  return w.finish();
}
