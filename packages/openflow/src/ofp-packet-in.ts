/**
 * The Nicira packet-in formats a connection can ask for with NXT_SET_PACKET_IN_FORMAT (OVS
 * `lib/ofp-packet.c`): NXT_PACKET_IN (`nx_packet_in`: the standard fields, the metadata as an
 * `nx_match`, two bytes of padding, the frame) and NXT_PACKET_IN2 (properties: NXPINT_PACKET,
 * NXPINT_FULL_LEN when the frame was cut, NXPINT_TABLE_ID, NXPINT_COOKIE unless all ones,
 * NXPINT_REASON, NXPINT_METADATA as raw OXM entries of the connection's version, NXPINT_USERDATA
 * when the controller action has userdata). Properties are OVS's `ofpprop`s: a 4-byte header whose
 * length leaves out the padding to 8 bytes; a 64-bit value is preceded by 4 zero bytes.
 */
import { putMatchEntries, putNxMatch } from './field-codec.js';
import { OFPT, OFP_NO_BUFFER, encodePacketIn, startMessage, type WirePacketIn } from './ofp-msgs.js';
import { NXPIF, NXT } from './ofp-nx.js';
import { OfpVersion, VendorId, type WireWriter } from './wire-buf.js';

/** NXT_PACKET_IN2 property types (`NXPINT_*`). */
export const NXPINT = { PACKET: 0, FULL_LEN: 1, BUFFER_ID: 2, TABLE_ID: 3, COOKIE: 4, REASON: 5, METADATA: 6, USERDATA: 7, CONTINUATION: 8 } as const;

/** A packet-in with what the Nicira formats add (userdata). */
export interface WirePacketInNx extends WirePacketIn {
  /** `controller(userdata=...)`. */
  userdata?: Uint8Array;
}

/**
 * OVS `encode_packet_in_reason()`: the reasons OpenFlow 1.4 added (action set, group, packet-out)
 * are OFPR_ACTION before 1.4.
 */
export function packetInReasonFor(reason: number, version: number): number {
  return reason >= 3 && reason <= 5 && version < OfpVersion.OF14 ? 1 : reason;
}

function nxHeader(version: number, xid: number, subtype: number, capacity: number): ReturnType<typeof startMessage> {
  const m = startMessage(version, OFPT.EXPERIMENTER, xid, capacity);
  m.w.u32(VendorId.NX).u32(subtype);
  return m;
}

/** NXT_PACKET_IN (`nx_packet_in`, OVS `ofputil_encode_nx_packet_in()`). */
export function encodeNxPacketIn(version: number, xid: number, pi: WirePacketIn): Uint8Array {
  const m = nxHeader(version, xid, NXT.PACKET_IN, 96 + pi.data.length);
  const w = m.w;
  w.u32(OFP_NO_BUFFER).u16(pi.totalLen).u8(packetInReasonFor(pi.reason, version)).u8(pi.tableId).u64(pi.cookie);
  const lenAt = w.len;
  w.u16(0).zeros(6);
  const matchLen = putNxMatch(w, pi.match);
  w.setU16(lenAt, matchLen);
  w.zeros(2).bytes(pi.data);
  return m.done();
}

/** Start a property; returns the function that ends it (length, then padding to 8). */
function prop(w: WireWriter, type: number): () => void {
  const start = w.len;
  w.u16(type).u16(0);
  return () => {
    w.setU16(start + 2, w.len - start);
    w.pad8(start);
  };
}

/** NXT_PACKET_IN2 (OVS `ofputil_encode_nx_packet_in2()`, without a continuation). */
export function encodeNxPacketIn2(version: number, xid: number, pi: WirePacketInNx): Uint8Array {
  const m = nxHeader(version, xid, NXT.PACKET_IN2, 128 + pi.data.length);
  const w = m.w;
  let end = prop(w, NXPINT.PACKET);
  w.bytes(pi.data);
  end();
  if (pi.data.length !== pi.totalLen) {
    end = prop(w, NXPINT.FULL_LEN);
    w.u32(pi.totalLen);
    end();
  }
  end = prop(w, NXPINT.TABLE_ID);
  w.u8(pi.tableId);
  end();
  if (pi.cookie !== 0xffff_ffff_ffff_ffffn) {
    end = prop(w, NXPINT.COOKIE);
    w.zeros(4).u64(pi.cookie);
    end();
  }
  end = prop(w, NXPINT.REASON);
  w.u8(packetInReasonFor(pi.reason, version));
  end();
  end = prop(w, NXPINT.METADATA);
  putMatchEntries(w, pi.match, version);
  end();
  if (pi.userdata && pi.userdata.length) {
    end = prop(w, NXPINT.USERDATA);
    w.bytes(pi.userdata);
    end();
  }
  return m.done();
}

/** A packet-in in the connection's format (`NXPIF_*`): standard, NXT_PACKET_IN or NXT_PACKET_IN2. */
export function encodePacketInAs(format: number, version: number, xid: number, pi: WirePacketInNx): Uint8Array {
  if (format === NXPIF.NXT_PACKET_IN) return encodeNxPacketIn(version, xid, pi);
  if (format === NXPIF.NXT_PACKET_IN2) return encodeNxPacketIn2(version, xid, pi);
  return encodePacketIn(version, xid, pi);
}
