/**
 * The Nicira extension messages `ovs-ofctl` uses on an OpenFlow 1.0 connection (OVS
 * `include/openflow/nicira-ext.h`, `lib/ofp-flow.c`): a vendor message is an `ofp_header`, the
 * vendor id 0x2320 and a 32-bit subtype; a vendor statistics message puts the same two words
 * (plus 4 bytes of padding) after the stats header, so both are 24 bytes before their body in
 * every version.
 *
 * ovs-ofctl with no `-O` (or `-O OpenFlow10`) asks for the NXM flow format
 * (NXT_SET_FLOW_FORMAT), then sends flows the OpenFlow 1.0 match cannot express as NXT_FLOW_MOD
 * (an `nx_match` instead of `ofp10_match`), enables a table id in the flow-mod command's upper byte
 * with NXT_FLOW_MOD_TABLE_ID, and dumps with NXST_FLOW / NXST_AGGREGATE.
 */
import { decodeInstructions, encodeInstructions, type Instructions } from './actions.js';
import { OpenFlowError } from './errors.js';
import { pullNxMatch, putNxMatch } from './field-codec.js';
import type { Match } from './match.js';
import { OFPFC, OFPG_ANY32, flagNames10, matchHasVlan, pullFlowMod10, type FlowStatsRequest, type OfpMessage, type WireFlowMod } from './ofp-msgs.js';
import { VendorId, WireWriter } from './wire-buf.js';

/** Nicira message subtypes (`NXT_*`). */
export const NXT = {
  ROLE_REQUEST: 10, ROLE_REPLY: 11, SET_FLOW_FORMAT: 12, FLOW_MOD: 13, FLOW_REMOVED: 14, FLOW_MOD_TABLE_ID: 15,
  SET_PACKET_IN_FORMAT: 16, PACKET_IN: 17, FLOW_AGE: 18, SET_ASYNC_CONFIG: 19, SET_CONTROLLER_ID: 20, FLOW_MONITOR_CANCEL: 21,
  FLOW_MONITOR_PAUSED: 22, FLOW_MONITOR_RESUMED: 23, TLV_TABLE_MOD: 24, TLV_TABLE_REQUEST: 25, TLV_TABLE_REPLY: 26,
  RESUME: 28, CT_FLUSH_ZONE: 29, PACKET_IN2: 30,
} as const;

/** Nicira statistics subtypes (`NXST_*`). */
export const NXST = { FLOW: 0, AGGREGATE: 1, FLOW_MONITOR: 2 } as const;

/** Flow formats of NXT_SET_FLOW_FORMAT (`NXFF_*`). */
export const NXFF = { OPENFLOW10: 0, NXM: 2 } as const;

/** Packet-in formats of NXT_SET_PACKET_IN_FORMAT (`NXPIF_*`). */
export const NXPIF = { STANDARD: 0, NXT_PACKET_IN: 1, NXT_PACKET_IN2: 2 } as const;

/** Read the vendor id and subtype of a vendor (experimenter) message; the reader is left at the body. */
export function decodeVendorHeader(m: OfpMessage): { vendor: number; subtype: number } {
  const r = m.body;
  if (r.remaining < 8) throw new OpenFlowError('OFPBRC_BAD_LEN', 'vendor message shorter than its vendor header');
  return { vendor: r.u32(), subtype: r.u32() };
}

/** Is this vendor id Nicira's? Anything else is `OFPBRC_BAD_VENDOR`. */
export function checkNxVendor(vendor: number): void {
  if (vendor !== VendorId.NX) throw new OpenFlowError('OFPBRC_BAD_VENDOR', `vendor 0x${vendor.toString(16)}`);
}

/** Decode the 32-bit argument of NXT_SET_FLOW_FORMAT / NXT_SET_PACKET_IN_FORMAT. */
export function decodeNxU32(m: OfpMessage, what: string): number {
  const r = m.body;
  if (r.remaining < 4) throw new OpenFlowError('OFPBRC_BAD_LEN', `${what} too short`);
  return r.u32();
}

/**
 * Decode an NXT_FLOW_MOD (`nx_flow_mod`): the cookie is the new cookie, and the cookie filter of a
 * modify or delete comes from the match's `NXM_NX_COOKIE`. With the flow-mod table id enabled
 * (`tableIdInCommand`), the command's upper byte is the table.
 */
export function decodeNxFlowMod(m: OfpMessage, tableIdInCommand: boolean): WireFlowMod {
  const r = m.body;
  if (r.remaining < 32) throw new OpenFlowError('OFPBRC_BAD_LEN', 'NXT_FLOW_MOD too short');
  const { cookie, command, tableId, idleTimeout, hardTimeout, priority, bufferId, outPort, flags } = pullFlowMod10(r, tableIdInCommand);
  const matchLen = r.u16();
  r.skip(6);
  const pulled = pullNxMatch(r, matchLen, { strict: true, allowCookie: true });
  if (command === OFPFC.ADD && pulled.cookieMask !== 0n) throw new OpenFlowError('NXBRC_NXM_INVALID', 'a flow add with a cookie match');
  const instructions = decodeInstructions(r, m.version, matchHasVlan(pulled.match));
  const add = command === OFPFC.ADD;
  return {
    ...(command === OFPFC.MODIFY || command === OFPFC.MODIFY_STRICT ? { newCookie: cookie } : {}),
    command, cookie: add ? cookie : pulled.cookie, cookieMask: add ? 0n : pulled.cookieMask, tableId, idleTimeout, hardTimeout, priority,
    bufferId, outPort, outGroup: OFPG_ANY32, flags: flagNames10(flags, command), importance: 0, match: pulled.match, instructions,
  };
}

/** Decode an NXST_FLOW / NXST_AGGREGATE request body (`nx_flow_stats_request`; the reader is after the 24-byte header). */
export function decodeNxFlowStatsRequest(m: OfpMessage): FlowStatsRequest {
  const r = m.body;
  if (r.remaining < 8) throw new OpenFlowError('OFPBRC_BAD_LEN', 'NXST_FLOW request too short');
  const outPort = r.u16();
  const matchLen = r.u16();
  const tableId = r.u8();
  r.skip(3);
  const pulled = pullNxMatch(r, matchLen, { strict: false, allowCookie: true });
  return { tableId, outPort, outGroup: OFPG_ANY32, cookie: pulled.cookie, cookieMask: pulled.cookieMask, match: pulled.match };
}

/** One NXST_FLOW reply entry (`nx_flow_stats`). */
export interface NxFlowStats {
  /** Table. */
  tableId: number;
  /** Milliseconds installed. */
  durationMs: number;
  /** Seconds since the last hit. */
  idleAge: number;
  /** Seconds since the last modification. */
  hardAge: number;
  /** Priority. */
  priority: number;
  /** Idle timeout (s). */
  idleTimeout: number;
  /** Hard timeout (s). */
  hardTimeout: number;
  /** Cookie. */
  cookie: bigint;
  /** Packets. */
  packets: bigint;
  /** Bytes. */
  bytes: bigint;
  /** Match. */
  match: Match;
  /** Instructions (OpenFlow 1.0 carries the apply-actions list only). */
  instructions: Instructions;
}

/** Encode one `nx_flow_stats` (ages are sent plus one, 0 meaning unknown, as OVS does). */
export function encodeNxFlowStats(version: number, s: NxFlowStats): Uint8Array {
  const w = new WireWriter(256);
  const age = (a: number): number => (a < 0 ? 0 : a < 0xffff ? a + 1 : 0xffff);
  w.u16(0).u8(s.tableId).u8(0).u32(Math.floor(s.durationMs / 1000)).u32(Math.floor((s.durationMs % 1000) * 1_000_000));
  w.u16(s.priority).u16(s.idleTimeout).u16(s.hardTimeout);
  const matchLenAt = w.len;
  w.u16(0).u16(age(s.idleAge)).u16(age(s.hardAge)).u64(s.cookie).u64(s.packets).u64(s.bytes);
  const matchLen = putNxMatch(w, s.match);
  w.setU16(matchLenAt, matchLen);
  encodeInstructions(s.instructions, version, w);
  w.setU16(0, w.len);
  return w.finish();
}

/** Encode an NXST_AGGREGATE reply body. */
export function encodeNxAggregate(packets: bigint, bytes: bigint, flowCount: number): Uint8Array {
  return new WireWriter(24).u64(packets).u64(bytes).u32(flowCount).zeros(4).finish();
}
