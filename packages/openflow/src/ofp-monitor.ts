/**
 * Flow monitors (OVS `lib/ofp-monitor.c`, `ofproto/connmgr.c`'s `ofmonitor_*`): NXST_FLOW_MONITOR
 * (Nicira statistics, what `ovs-ofctl monitor SWITCH watch:` sends in OpenFlow 1.0), ONFST_FLOW_MONITOR
 * (the ONF extension of OpenFlow 1.3: Nicira's structures with an OXM match and instructions) and
 * OFPMP_FLOW_MONITOR (OpenFlow 1.4+), with NXT_FLOW_MONITOR_CANCEL (ONFT_FLOW_MONITOR_CANCEL in 1.3).
 *
 * A request holds one or more monitors (id, flags, table, out_port, out_group, match); they are
 * checked as OVS checks them (OFPBRC_BAD_LEN, OFPMOFC_BAD_FLAGS, NXBRC_MUST_BE_ZERO, the match's
 * errors, OFPMOFC_MONITOR_EXISTS, OFPMOFC_UNKNOWN_MONITOR; every table id is valid, since OVS's
 * check is against its 255 tables), all or none created. The reply lists the flows the monitors with the INITIAL flag select, once each (event
 * ADDED in Nicira form, INITIAL in OpenFlow 1.4). Afterwards every flow-table change
 * (`Switch.onFlowChange`) that a monitor wants (its flags, table, out_port (the flow's old actions
 * count too), out_group, loose match) becomes an update of the connection's next FLOW_MONITOR
 * reply (xid 0), one message per handled request, as OVS's `ofmonitor_flush()`: in full, or, for
 * a change made by this very connection without the ONLY_OWN flag (NXFMF_OWN), one abbreviated
 * update carrying the request's xid. Internally flags are OpenFlow 1.4's `OFPFMF_*`. Updates are
 * never paused: the switch writes them straight to the connection (OVS pauses a connection whose
 * queue passes 128 kB, which a socket that is read never reaches).
 */
import { encodeActions, encodeInstructions, type Instructions } from './actions.js';
import { OpenFlowError } from './errors.js';
import { portFrom11Checked, pullNxMatch, pullOxmMatch, putNxMatch, putOxmMatch } from './field-codec.js';
import type { Match } from './match.js';
import { MultipartReply, OFPMP, startMessage, type OfpMessage } from './ofp-msgs.js';
import { NXST, NXT } from './ofp-nx.js';
import { OFPP } from './ports.js';
import type { FlowEntry } from './pipeline.js';
import { flowInFilter, type FlowChangeEvent } from './switch.js';
import { OfpVersion, VendorId, WireWriter, type WireReader } from './wire-buf.js';

/** Flow monitor flags of OpenFlow 1.4 (`OFPFMF_*`), the internal form. */
export const OFPFMF = { INITIAL: 1, ADD: 2, REMOVED: 4, MODIFY: 8, INSTRUCTIONS: 16, NO_ABBREV: 32, ONLY_OWN: 64 } as const;

/** Nicira flow monitor flags (`NXFMF_*`). */
export const NXFMF = { INITIAL: 1, ADD: 2, DELETE: 4, MODIFY: 8, ACTIONS: 16, OWN: 32 } as const;

/** ONF experimenter type of OpenFlow 1.3's flow monitor statistics and cancel. */
export const ONFST13_FLOW_MONITOR = 1870;

/** OpenFlow 1.4 multipart type of flow monitors. */
export const OFPMP14_FLOW_MONITOR = 16;

/** Flow update events of OpenFlow 1.4 (`OFPFME_*`). */
export const OFPFME = { INITIAL: 0, ADDED: 1, REMOVED: 2, MODIFIED: 3, ABBREV: 4, PAUSED: 5, RESUMED: 6 } as const;

/** Flow monitor commands of OpenFlow 1.4 (`OFPFMC_*`). */
export const OFPFMC = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;

/** One flow monitor. */
export interface FlowMonitor {
  /** Monitor id (the controller's). */
  id: number;
  /** `OFPFMF_*`. */
  flags: number;
  /** A table, or 0xff for all. */
  tableId: number;
  /** Output port filter (OFPP.NONE: any). */
  outPort: number;
  /** Output group filter (all ones: any). */
  outGroup: number;
  /** Loose match filter. */
  match: Match;
}

/** A decoded flow monitor request entry (OpenFlow 1.4 commands; Nicira requests are always ADD). */
export interface FlowMonitorRequest extends FlowMonitor {
  /** `OFPFMC_*`. */
  command: number;
}

const NX_TO_OFP: ReadonlyArray<readonly [number, number]> = [
  [NXFMF.INITIAL, OFPFMF.INITIAL], [NXFMF.ADD, OFPFMF.ADD], [NXFMF.DELETE, OFPFMF.REMOVED], [NXFMF.MODIFY, OFPFMF.MODIFY],
  [NXFMF.ACTIONS, OFPFMF.INSTRUCTIONS], [NXFMF.OWN, OFPFMF.ONLY_OWN],
];

/** Decode the `nx_flow_monitor_request`s of an NXST_FLOW_MONITOR request body (OVS `ofputil_decode_flow_monitor_request()`). */
export function decodeNxFlowMonitorRequests(r: WireReader): FlowMonitorRequest[] {
  const out: FlowMonitorRequest[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 16) throw new OpenFlowError('OFPBRC_BAD_LEN', `NXST_FLOW_MONITOR request has ${r.remaining} leftover bytes at end`);
    const id = r.u32();
    const nxFlags = r.u16();
    const outPort = r.u16();
    const matchLen = r.u16();
    const tableId = r.u8();
    const zeros = r.bytes(5);
    const known = NXFMF.INITIAL | NXFMF.ADD | NXFMF.DELETE | NXFMF.MODIFY | NXFMF.ACTIONS | NXFMF.OWN;
    if (!(nxFlags & (NXFMF.ADD | NXFMF.DELETE | NXFMF.MODIFY)) || nxFlags & ~known) throw new OpenFlowError('OFPMOFC_BAD_FLAGS', `flags 0x${nxFlags.toString(16)}`);
    if (zeros.some((b) => b !== 0)) throw new OpenFlowError('NXBRC_MUST_BE_ZERO', 'nx_flow_monitor_request padding');
    let flags = 0;
    for (const [nx, ofp] of NX_TO_OFP) if (nxFlags & nx) flags |= ofp;
    const { match } = pullNxMatch(r, matchLen, { strict: false });
    out.push({ command: OFPFMC.ADD, id, flags, tableId, outPort, outGroup: 0xffff_ffff, match });
  }
  return out;
}

/** Decode the `onf_flow_monitor_request`s of an OpenFlow 1.3 ONFST_FLOW_MONITOR request body (each followed by an OXM match). */
export function decodeOnfFlowMonitorRequests(r: WireReader): FlowMonitorRequest[] {
  const out: FlowMonitorRequest[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 16) throw new OpenFlowError('OFPBRC_BAD_LEN', `ONFST_FLOW_MONITOR request has ${r.remaining} leftover bytes at end`);
    const id = r.u32();
    const onfFlags = r.u16();
    r.u16(); // match_len: OVS reads the ofp_match's own length
    const outPort32 = r.u32();
    const tableId = r.u8();
    const zeros = r.bytes(3);
    const known = NXFMF.INITIAL | NXFMF.ADD | NXFMF.DELETE | NXFMF.MODIFY | NXFMF.ACTIONS | NXFMF.OWN;
    if (!(onfFlags & (NXFMF.ADD | NXFMF.DELETE | NXFMF.MODIFY)) || onfFlags & ~known) throw new OpenFlowError('OFPMOFC_BAD_FLAGS', `flags 0x${onfFlags.toString(16)}`);
    if (zeros.some((b) => b !== 0)) throw new OpenFlowError('NXBRC_MUST_BE_ZERO', 'onf_flow_monitor_request padding');
    let flags = 0;
    for (const [nx, ofp] of NX_TO_OFP) if (onfFlags & nx) flags |= ofp;
    const outPort = portFrom11Checked(outPort32, 'OFPBAC_BAD_OUT_PORT');
    const match = pullOxmMatch(r, false);
    out.push({ command: OFPFMC.ADD, id, flags, tableId, outPort, outGroup: 0xffff_ffff, match });
  }
  return out;
}

/** Decode the `ofp14_flow_monitor_request`s of an OFPMP_FLOW_MONITOR request body. */
export function decodeOf14FlowMonitorRequests(r: WireReader): FlowMonitorRequest[] {
  const out: FlowMonitorRequest[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 16) throw new OpenFlowError('OFPBRC_BAD_LEN', `OFPST_FLOW_MONITOR request has ${r.remaining} leftover bytes at end`);
    const id = r.u32();
    const outPort32 = r.u32();
    const outGroup = r.u32();
    const flags = r.u16();
    const tableId = r.u8();
    const command = r.u8();
    if (command === OFPFMC.DELETE) {
      const match = pullOxmMatch(r, false);
      out.push({ command, id, flags: 0, tableId, outPort: OFPP.NONE, outGroup, match });
      continue;
    }
    const known = OFPFMF.INITIAL | OFPFMF.ADD | OFPFMF.REMOVED | OFPFMF.MODIFY | OFPFMF.INSTRUCTIONS | OFPFMF.ONLY_OWN;
    if (!(flags & (OFPFMF.ADD | OFPFMF.REMOVED | OFPFMF.MODIFY)) || flags & ~known) throw new OpenFlowError('OFPMOFC_BAD_FLAGS', `flags 0x${flags.toString(16)}`);
    const outPort = portFrom11Checked(outPort32, 'OFPBAC_BAD_OUT_PORT');
    const match = pullOxmMatch(r, false);
    out.push({ command, id, flags, tableId, outPort, outGroup, match });
  }
  return out;
}

/** A flow update to encode. */
interface FlowUpdate {
  /** `OFPFME_*`. */
  event: number;
  /** OFPRR_* of a removal. */
  reason: number;
  /** The flow. */
  entry: FlowEntry;
  /** Include its instructions. */
  actions: boolean;
}

/** Encode one update in the connection's version (Nicira `nx_flow_update_*` before 1.4, `ofp_flow_update_*` from 1.4). */
function encodeUpdate(version: number, u: FlowUpdate): Uint8Array {
  const w = new WireWriter(128);
  const f = u.entry.flow;
  const life = u.entry.life;
  const idle = life ? life.idleTimeout : f.idleTimeout;
  const hard = life ? life.hardTimeout : f.hardTimeout;
  const ins: Instructions = u.actions ? f.instructions : { apply: [], clearActions: false };
  if (version < OfpVersion.OF14) {
    const nxEvent = u.event === OFPFME.INITIAL || u.event === OFPFME.ADDED ? 0 : u.event === OFPFME.REMOVED ? 1 : 2;
    w.u16(0).u16(nxEvent).u16(u.reason).u16(f.priority).u16(idle).u16(hard).u16(0).u8(f.table).u8(0).u64(f.cookie);
    // OpenFlow 1.3 (ONF): an OXM ofp_match and instructions; before: an nx_match and actions.
    const matchLen = version === OfpVersion.OF13 ? putOxmMatch(w, f.match, version) : putNxMatch(w, f.match);
    w.setU16(12, matchLen);
    if (u.actions) {
      if (version === OfpVersion.OF10 || version === OfpVersion.OF13) encodeInstructions(ins, version, w);
      else encodeActions(ins.apply, version, w);
    }
  } else {
    w.u16(0).u16(u.event).u8(f.table).u8(u.reason).u16(idle).u16(hard).u16(f.priority).zeros(4).u64(f.cookie);
    putOxmMatch(w, f.match, version);
    if (u.actions) encodeInstructions(ins, version, w);
  }
  w.setU16(0, w.len);
  return w.finish();
}

/** An abbreviated update (the request's xid). */
function encodeAbbrev(version: number, xid: number): Uint8Array {
  const w = new WireWriter(8);
  w.u16(8).u16(version < OfpVersion.OF14 ? 3 : OFPFME.ABBREV).u32(xid >>> 0);
  return w.finish();
}

/** The reply (or update) messages of the version: Nicira statistics (1.0), ONF experimenter multipart (1.3), OFPMP_FLOW_MONITOR (1.4+). */
function replyFor(version: number, xid: number): MultipartReply {
  if (version === OfpVersion.OF13) return new MultipartReply(version, xid, OFPMP.EXPERIMENTER, ONFST13_FLOW_MONITOR, VendorId.ONF);
  return version < OfpVersion.OF14 ? new MultipartReply(version, xid, OFPMP.EXPERIMENTER, NXST.FLOW_MONITOR) : new MultipartReply(version, xid, OFPMP14_FLOW_MONITOR);
}

/** Does monitor `m` want event `ev` (OVS `ofmonitor_report()`'s filter)? */
function wants(m: FlowMonitor, ev: FlowChangeEvent): boolean {
  const bit = ev.event === 'added' ? OFPFMF.ADD : ev.event === 'removed' ? OFPFMF.REMOVED : OFPFMF.MODIFY;
  if (!(m.flags & bit)) return false;
  const f = ev.entry.flow;
  if (m.tableId !== 0xff && m.tableId !== f.table) return false;
  if (flowInFilter(f, m.match, m.outPort, m.outGroup)) return true;
  // A modification whose old actions output to the port also counts.
  return ev.oldInstructions !== undefined && m.outPort !== OFPP.NONE && flowInFilter({ ...f, instructions: ev.oldInstructions }, m.match, m.outPort, m.outGroup);
}

/** One connection's flow monitors (see the module comment). */
export class MonitorBook {
  /** Monitors by id. */
  readonly monitors = new Map<number, FlowMonitor>();
  private updates: Uint8Array[] = [];
  private sentAbbrev = false;

  constructor(
    /** The connection's version. */
    private readonly version: () => number,
    /** Send a message on the connection. */
    private readonly send: (bytes: Uint8Array) => void,
  ) {}

  /**
   * Apply a request's monitors (all or none) and return its reply: the flows (from `flows`, in
   * order) the INITIAL monitors select, each once.
   */
  request(xid: number, reqs: FlowMonitorRequest[], flows: () => FlowEntry[]): Uint8Array[] {
    const created: FlowMonitor[] = [];
    const undo = (): void => {
      for (const m of created) this.monitors.delete(m.id);
    };
    try {
      for (const q of reqs) {
        if (q.command === OFPFMC.DELETE || q.command === OFPFMC.MODIFY) {
          if (!this.monitors.delete(q.id)) throw new OpenFlowError('OFPMOFC_UNKNOWN_MONITOR', `monitor ${q.id}`);
          if (q.command === OFPFMC.DELETE) continue;
        } else if (q.command !== OFPFMC.ADD) throw new OpenFlowError('OFPMOFC_BAD_COMMAND', `command ${q.command}`);
        if (this.monitors.has(q.id)) throw new OpenFlowError('OFPMOFC_MONITOR_EXISTS', `monitor ${q.id}`);
        const m: FlowMonitor = { id: q.id, flags: q.flags, tableId: q.tableId, outPort: q.outPort, outGroup: q.outGroup, match: q.match };
        this.monitors.set(m.id, m);
        created.push(m);
      }
    } catch (e) {
      undo();
      throw e;
    }
    const initial = new Map<FlowEntry, number>();
    const wantInitial = created.filter((m) => m.flags & OFPFMF.INITIAL);
    if (wantInitial.length) {
      for (const e of flows()) {
        for (const m of wantInitial) {
          if ((m.tableId === 0xff || m.tableId === e.flow.table) && flowInFilter(e.flow, m.match, m.outPort, m.outGroup)) initial.set(e, (initial.get(e) ?? 0) | m.flags);
        }
      }
    }
    const v = this.version();
    const reply = replyFor(v, xid);
    for (const [e, flags] of initial) {
      const event = flags & OFPFMF.INITIAL ? OFPFME.INITIAL : flags & OFPFMF.ADD ? OFPFME.ADDED : OFPFME.MODIFIED;
      reply.add(encodeUpdate(v, { event, reason: 0, entry: e, actions: (flags & OFPFMF.INSTRUCTIONS) !== 0 }));
    }
    return reply.finish();
  }

  /** NXT_FLOW_MONITOR_CANCEL. */
  cancel(id: number): void {
    if (!this.monitors.delete(id)) throw new OpenFlowError('OFPMOFC_UNKNOWN_MONITOR', `monitor ${id}`);
  }

  /**
   * A flow-table change: queue the update the monitors want (in full, or one abbreviated update
   * when `own` names this connection's request and no monitor asked for its own changes in full).
   */
  report(ev: FlowChangeEvent, own: number | undefined): void {
    let flags = 0;
    for (const m of this.monitors.values()) if (wants(m, ev)) flags |= m.flags;
    if (!flags) return;
    if (!this.updates.length) this.sentAbbrev = false;
    if (flags & OFPFMF.ONLY_OWN || own === undefined) {
      const event = ev.event === 'added' ? OFPFME.ADDED : ev.event === 'removed' ? OFPFME.REMOVED : OFPFME.MODIFIED;
      this.updates.push(encodeUpdate(this.version(), { event, reason: ev.event === 'removed' ? (ev.reason ?? 0) : 0, entry: ev.entry, actions: (flags & OFPFMF.INSTRUCTIONS) !== 0 }));
    } else if (!this.sentAbbrev) {
      this.updates.push(encodeAbbrev(this.version(), own));
      this.sentAbbrev = true;
    }
  }

  /** Send the queued updates as one reply (xid 0), as OVS's `ofmonitor_flush()`. */
  flush(): void {
    if (!this.updates.length) return;
    const reply = replyFor(this.version(), 0);
    for (const u of this.updates) reply.add(u);
    this.updates = [];
    for (const msg of reply.finish()) this.send(msg);
  }
}

/** What a message is to flow monitors in its version, if anything. */
export function flowMonitorKind(m: OfpMessage): 'nx-request' | 'onf-request' | 'of14-request' | 'cancel' | undefined {
  const b = m.bytes;
  if (b.length < 16) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const v = m.version;
  if (v === OfpVersion.OF10 && m.type === 16 && dv.getUint16(8) === 0xffff && b.length >= 20 && dv.getUint32(12) === VendorId.NX && dv.getUint32(16) === NXST.FLOW_MONITOR) return 'nx-request';
  if (v === OfpVersion.OF13 && m.type === 18 && dv.getUint16(8) === 0xffff && b.length >= 24 && dv.getUint32(16) === VendorId.ONF && dv.getUint32(20) === ONFST13_FLOW_MONITOR) return 'onf-request';
  if (v >= OfpVersion.OF14 && m.type === 18 && dv.getUint16(8) === OFPMP14_FLOW_MONITOR) return 'of14-request';
  if (v === OfpVersion.OF10 && m.type === 4 && dv.getUint32(8) === VendorId.NX && dv.getUint32(12) === NXT.FLOW_MONITOR_CANCEL) return 'cancel';
  if (v === OfpVersion.OF13 && m.type === 4 && dv.getUint32(8) === VendorId.ONF && dv.getUint32(12) === ONFST13_FLOW_MONITOR) return 'cancel';
  return undefined;
}

/** The body of a flow monitor request after its multipart header (Nicira and ONF: 24 bytes with the header; 1.4: 16). */
export function flowMonitorBody(m: OfpMessage, kind: 'nx-request' | 'onf-request' | 'of14-request'): WireReader {
  const r = m.body;
  r.skip(kind === 'of14-request' ? 8 : 16);
  return r;
}

/** Decode NXT_FLOW_MONITOR_CANCEL's monitor id. */
export function decodeFlowMonitorCancel(m: OfpMessage): number {
  const r = m.body;
  if (r.remaining !== 12) throw new OpenFlowError('OFPBRC_BAD_LEN', `NXT_FLOW_MONITOR_CANCEL of ${m.bytes.length} bytes`);
  r.skip(8);
  return r.u32();
}

/** An NXT_FLOW_MONITOR_CANCEL (for clients and tests). */
export function encodeFlowMonitorCancel(version: number, xid: number, id: number): Uint8Array {
  const m = startMessage(version, 4, xid);
  if (version === OfpVersion.OF13) m.w.u32(VendorId.ONF).u32(ONFST13_FLOW_MONITOR).u32(id >>> 0);
  else m.w.u32(VendorId.NX).u32(NXT.FLOW_MONITOR_CANCEL).u32(id >>> 0);
  return m.done();
}
