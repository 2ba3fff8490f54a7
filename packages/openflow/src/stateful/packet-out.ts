/**
 * Packet-in records and packet-out requests as OVS 3.1 handles them (ofproto-dpif-xlate.c
 * `execute_controller_action`, ofp-packet.c `ofputil_decode_packet_out`, ofproto.c
 * `handle_packet_out`).
 *
 * Packet-in: the frame as modified so far, cut to `max_len` (`controller(max_len=N)`, default
 * 65535 = whole frame; the `CONTROLLER:N` output form), `total_len` the full length, no buffer
 * (OVS never buffers: buffer_id is OFP_NO_BUFFER), the reason (`action`, `no_match`,
 * `invalid_ttl`, `action_set`, `group`, `packet_out`), the table and the cookie of the flow that
 * sent it, the controller id, `userdata`, and the pipeline metadata OVS puts in the packet-in
 * match (in_port always; metadata, registers, tunnel fields, pkt_mark and ct fields when non-zero).
 *
 * Packet-out: `in_port` (a real port below 0xff00, LOCAL, CONTROLLER or NONE; else
 * OFPBRC_BAD_PORT), no buffer id (else OFPBRC_BUFFER_UNKNOWN), actions checked against the packet
 * (output ports, groups and meters that must exist: OFPBAC_BAD_OUT_PORT, OFPBAC_BAD_OUT_GROUP,
 * OFPMMFC_INVALID_METER). The switch then runs the actions on the frame with `in_port` as given;
 * `output:TABLE` submits it to table 0 and packet-ins it causes there have reason `packet_out`
 * only when sent by the packet-out's own actions.
 */
import { fromHex } from '@ovnts/packet';
import {
  OFPP, checkActionsDecoded, checkActionsEnv, checkActionsParsed, parseActionList, parsePort, splitTopLevel, type Action,
  type ActionEnv, type ControllerAction,
} from '../actions.js';
import { OpenFlowError, TextParseError } from '../errors.js';
import { extractFlowKey } from '../extract.js';
import { FlowKey, W } from '../flowkey.js';
import { checkFlow, type Flow } from '../ofctl-text.js';
import { packetMatch } from '../trace-format.js';
import { FRAG_LATER, field } from '../fields.js';

/** OpenFlow packet-in reasons by their OVS names, with the OpenFlow 1.5 numbers. */
export const PACKET_IN_REASONS = { no_match: 0, action: 1, invalid_ttl: 2, action_set: 3, group: 4, packet_out: 5 } as const;

/** A packet-in reason name. */
export type PacketInReasonName = keyof typeof PACKET_IN_REASONS;

/** OFP_NO_BUFFER. */
export const NO_BUFFER = 0xffffffff;

/** An OpenFlow error outside actions.ts's table (bad request, meter mod): name, type and code. */
export class OfpRequestError extends Error {
  override readonly name = 'OfpRequestError';
  constructor(
    /** The error's OVS name (`OFPBRC_BAD_PORT`, `OFPBAC_BAD_OUT_GROUP`, ...). */
    readonly errorName: string,
    /** OpenFlow error type. */
    readonly type: number,
    /** OpenFlow error code. */
    readonly code: number,
    /** What caused it. */
    readonly detail: string,
  ) {
    super(`${errorName}: ${detail}`);
  }
}

const ERR = {
  OFPBAC_MATCH_INCONSISTENT: [2, 10], OFPBRC_BAD_PORT: [1, 11], OFPBRC_BUFFER_UNKNOWN: [1, 8], OFPBAC_BAD_OUT_PORT: [2, 4], OFPBAC_BAD_OUT_GROUP: [2, 9],
  OFPBAC_BAD_ARGUMENT: [2, 5], OFPMMFC_INVALID_METER: [12, 2], OFPBIC_UNSUP_INST: [3, 1],
} as const;

function fail(name: keyof typeof ERR, detail: string): never {
  const [t, c] = ERR[name];
  throw new OfpRequestError(name, t, c, detail);
}

/** A pipeline metadata field of a packet-in (name as OVS prints it, value). */
export interface PacketInField {
  /** Field name. */
  name: string;
  /** Value. */
  value: bigint;
}

/** A packet-in as a controller receives it. */
export interface PacketInRecord {
  /** Reason. */
  reason: PacketInReasonName;
  /** Table of the flow that sent it (or the table that missed). */
  tableId: number;
  /** Cookie of that flow (all ones for a table miss, as OVS reports). */
  cookie: bigint;
  /** Controller id. */
  controllerId: number;
  /** `userdata` of `controller(...)`. */
  userdata?: Uint8Array;
  /** Buffer id: always `NO_BUFFER`. */
  bufferId: number;
  /** Full frame length. */
  totalLen: number;
  /** The frame, cut to max_len (a copy). */
  frame: Uint8Array;
  /** The packet-in match: in_port plus non-zero metadata, registers, tunnel, pkt_mark, ct fields. */
  match: PacketInField[];
}

const META_FIELDS = [
  'tun_id', 'tun_src', 'tun_dst', 'metadata', ...Array.from({ length: 16 }, (_, i) => `reg${i}`), 'pkt_mark',
  'ct_state', 'ct_zone', 'ct_mark', 'ct_label', 'ct_nw_src', 'ct_nw_dst', 'ct_nw_proto', 'ct_tp_src', 'ct_tp_dst',
].map((n) => field(n));

/** The packet-in match OVS sends (`flow_get_metadata`) from a flow key. */
export function packetInMatch(w: Uint32Array): PacketInField[] {
  const out: PacketInField[] = [{ name: 'in_port', value: BigInt(w[W.in_port]!) }];
  for (const f of META_FIELDS) {
    let v = 0n;
    for (let i = 0; i < f.nwords; i++) v = (v << 32n) | BigInt(f.nwords === 1 ? ((w[f.word]! >>> f.shift) & f.vmask) >>> 0 : w[f.word + i]!);
    if (v !== 0n) out.push({ name: f.name, value: v });
  }
  return out;
}

/** Build a packet-in record (copies the frame, cut to `maxLen`). */
export function makePacketIn(opts: {
  reason: PacketInReasonName; tableId: number; cookie: bigint; controllerId?: number; userdata?: Uint8Array;
  frame: Uint8Array; maxLen?: number; key: Uint32Array;
}): PacketInRecord {
  const maxLen = opts.maxLen ?? 65535;
  const n = Math.min(maxLen, opts.frame.length);
  return {
    reason: opts.reason, tableId: opts.tableId, cookie: opts.cookie, controllerId: opts.controllerId ?? 0,
    ...(opts.userdata ? { userdata: opts.userdata } : {}), bufferId: NO_BUFFER, totalLen: opts.frame.length,
    frame: opts.frame.slice(0, n), match: packetInMatch(opts.key),
  };
}

/** Validate a parsed `controller(...)` action as OVS does (known reason name). */
export function checkControllerAction(a: ControllerAction): void {
  if (a.reason !== undefined && !(a.reason in PACKET_IN_REASONS)) {
    fail('OFPBAC_BAD_ARGUMENT', `unknown controller reason "${a.reason}" (expected one of ${Object.keys(PACKET_IN_REASONS).join(', ')})`);
  }
}

/** A packet-out request. */
export interface PacketOut {
  /** Ingress port the actions see. */
  inPort: number;
  /** Actions (no instructions in a packet-out). */
  actions: Action[];
  /** The frame. */
  frame: Uint8Array;
  /** Buffer id (`NO_BUFFER` unless given). */
  bufferId: number;
  /**
   * An inconsistency found while parsing (`mod_tp_*` on a packet without a transport header):
   * `checkPacketOutConsistency` raises it, after the checks OVS makes first.
   */
  inconsistency?: string;
}

/** Parse `ovs-ofctl packet-out` text: `in_port=1 packet=HEX actions=output:2` (commas or spaces). */
export function parsePacketOut(text: string): PacketOut {
  const ai = text.search(/\bactions=/);
  if (ai < 0) throw new TextParseError(text, 0, 'must specify actions');
  let inPort = OFPP.NONE as number;
  let frame: Uint8Array | undefined;
  let bufferId = NO_BUFFER;
  for (const { text: tok, col } of splitTopLevel(text.slice(0, ai), 0, ', \t')) {
    const t = tok.trim();
    if (!t) continue;
    const [k, v] = t.split('=', 2) as [string, string | undefined];
    if (k === 'in_port') {
      const p = parsePort(v ?? '');
      if (p === undefined) throw new TextParseError(text, col, `invalid in_port "${v}"`);
      inPort = p;
    } else if (k === 'packet') {
      if (!/^([0-9a-fA-F]{2})+$/.test(v ?? '')) throw new TextParseError(text, col, 'packet must be hex bytes');
      frame = fromHex(v!);
    } else if (k === 'buffer_id') {
      bufferId = Number(v);
    } else throw new TextParseError(text, col, `unknown keyword ${k}`);
  }
  if (!frame && bufferId === NO_BUFFER) throw new TextParseError(text, 0, 'must specify packet');
  // ovs-ofctl parses the actions without a match (no VLAN known: `mod_vlan_vid` pushes a tag) and
  // sends `mod_tp_*` as the OpenFlow 1.0 action, which sets the L4 port of whatever transport the
  // packet has: the packet's protocol stands in for the match here.
  const nwProto = frame ? l4Proto(frame) : -1;
  const actText = text.slice(ai + 8);
  let actions: Action[];
  let inconsistency: string | undefined;
  try {
    actions = parseActionList(actText, text, ai + 8, { hasVlan: false, nwProto });
  } catch (e) {
    // An action that only parses with a transport protocol (mod_tp_*): ovs-ofctl sends it, and
    // the switch refuses it against a packet without one (check_SET_L4_PORT), after decoding the
    // actions (a bad output port is reported first).
    if (!(e instanceof TextParseError) || nwProto === 6) throw e;
    actions = parseActionList(actText, text, ai + 8, { hasVlan: false, nwProto: 6 });
    inconsistency = `${e.message} (the packet has no tcp, udp or sctp header)`;
  }
  return { inPort, actions, frame: frame ?? new Uint8Array(0), bufferId, ...(inconsistency ? { inconsistency } : {}) };
}

/** The packet's transport protocol as a match would give it (-1 when not IP, or a later fragment). */
function l4Proto(frame: Uint8Array): number {
  const key = new FlowKey();
  extractFlowKey(frame, 0, frame.length, 0, key);
  const dl = key.w[W.dl_type]!;
  if ((dl !== 0x0800 && dl !== 0x86dd) || (key.w[W.nw_frag]! & FRAG_LATER) !== 0) return -1;
  return key.w[W.nw_proto]!;
}

/** What validation needs from the switch. */
export type PacketOutEnv = ActionEnv;

/**
 * The packet-out's actions as the switch checks them (no match to check against): what ovs-ofctl
 * refuses while parsing, output ports and values as decoded, controller reasons, and the groups
 * and meters that must exist; the table's `OpenFlowError` becomes an `OfpRequestError`.
 */
function checkActions(list: readonly Action[], env: PacketOutEnv): void {
  try {
    checkActionsParsed(list);
    checkActionsDecoded(list, true);
    for (const a of list) if (a.type === 'controller') checkControllerAction(a);
    checkActionsEnv(list, env);
  } catch (e) {
    if (e instanceof OpenFlowError) throw new OfpRequestError(e.errorName, e.type, e.code, e.detail);
    throw e;
  }
}

/** Raise the error OVS sends for this packet-out, if any (`OfpRequestError`). */
export function validatePacketOut(po: PacketOut, env: PacketOutEnv): void {
  const p = po.inPort;
  if (!(p < OFPP.MAX || p === OFPP.LOCAL || p === OFPP.NONE || p === OFPP.CONTROLLER)) {
    fail('OFPBRC_BAD_PORT', `packet-out in_port ${p} is not a valid ingress port`);
  }
  if (po.bufferId !== NO_BUFFER) fail('OFPBRC_BUFFER_UNKNOWN', `buffer ${po.bufferId} (this switch does not buffer packets)`);
  checkActions(po.actions, env);
}

/**
 * Raise the error OVS gives when a packet-out's actions do not fit its packet: the switch checks
 * them like a flow's actions, against an exact match on the packet (ofproto.c
 * `ofproto_packet_out_init`: `match_wc_init()` on the packet's flow, then
 * `ofpacts_check_consistency()`), so `set_field:...->vlan_vid` on an untagged packet or
 * `mod_nw_dst` on an ARP packet is OFPBAC_MATCH_INCONSISTENT (`OfpRequestError`).
 */
export function checkPacketOutConsistency(po: PacketOut): void {
  if (po.inconsistency !== undefined) fail('OFPBAC_MATCH_INCONSISTENT', po.inconsistency);
  const key = new FlowKey();
  extractFlowKey(po.frame, 0, po.frame.length, po.inPort, key);
  const match = packetMatch(key);
  // OVS checks no match prerequisites here; "no VLAN" as the CFI bit alone keeps ours quiet.
  if ((match.value[W.vlan_tci]! & 0x1000) === 0) match.mask[W.vlan_tci] = 0x1000;
  const flow: Flow = {
    table: 0, priority: 0, cookie: 0n, idleTimeout: 0, hardTimeout: 0, importance: 0, flags: [],
    match, instructions: { apply: po.actions, clearActions: false },
  };
  try {
    checkFlow(flow);
  } catch (e) {
    if (!(e instanceof OpenFlowError)) throw e;
    // `checkFlow` names a flow's "OpenFlow 1.0 only" inconsistency (pop_vlan without a VLAN) as
    // ovs-ofctl's refusal of it; the switch's own check (ofpacts_check_consistency) calls every such
    // inconsistency OFPBAC_MATCH_INCONSISTENT.
    if (e.errorName === 'OFPBAC_BAD_TAG' && e.detail.startsWith('pop_vlan')) fail('OFPBAC_MATCH_INCONSISTENT', e.detail);
    throw new OfpRequestError(e.errorName, e.type, e.code, e.detail);
  }
}
