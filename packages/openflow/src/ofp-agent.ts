/**
 * The switch side of OpenFlow connections (OVS `ofproto/connmgr.c` + `ofproto.c`'s message
 * handlers): a `Switch` answers what `ovs-ofctl` and controllers send over any number of
 * `OfpConnection`s. Flow mods go through the same `Switch` calls as the text API (addFlow, modFlows,
 * delFlows with the wire's table, cookie, out_port and out_group filters), so the wire and the text
 * paths check and refuse identically. Asynchronous messages go to the connections that take them (below).
 *
 * Handled: ECHO, FEATURES, GET/SET_CONFIG, BARRIER, FLOW_MOD (every command and flag), GROUP_MOD
 * and METER_MOD (add, modify, delete), PACKET_OUT, MULTIPART desc/flow/aggregate/table/
 * table-features/group-desc/meter-config/port-desc, ROLE_REQUEST and NXT_ROLE_REQUEST,
 * GET_ASYNC_REQUEST, SET_ASYNC, NXT_SET_ASYNC_CONFIG(2), NXT_SET_CONTROLLER_ID.
 *
 * Asynchronous messages follow OVS's connmgr: FLOW_REMOVED (flows with `send_flow_rem`, from the
 * switch's `onFlowRemoved`), PORT_STATUS (from `onPortStatus`) and packet-ins go to each active
 * connection whose asynchronous configuration (OVS's default for its version and role until it
 * sets one) has the reason's bit for its role; a service connection gets none until it set a
 * miss_send_len; packet-ins go only to connections whose controller id is the action's. A slave
 * connection's modifications are refused with OFPBRC_IS_SLAVE before they are decoded; a new
 * master demotes the old one (which gets a ROLE_STATUS from OpenFlow 1.3 on); master/slave
 * requests with a generation id older than the switch's are OFPRRFC_STALE.
 *
 * Anything else a switch can receive is refused
 * with OVS's errors (`OFPBRC_BAD_TYPE`, `OFPBRC_BAD_STAT` for another multipart type,
 * `OFPBRC_BAD_VENDOR` for an experimenter message).
 */
import { field } from './fields.js';
import { Match } from './match.js';
import type { Flow } from './ofctl-text.js';
import { OpenFlowError } from './errors.js';
import {
  MultipartReply, OFPGC, OFPG_ALL, OFP_NO_BUFFER, decodeGroupMod, encodeGroupDesc, OFPMC, OFPM_ALL, decodeMeterMod, encodeMeterConfig, OFPFC, OFPMP, OFPT, OFPT10, OFPTT_ALL, decodeFlowMod, decodeFlowStatsRequest, decodeMultipartRequest,
  decodePacketOut, decodeSetConfig, encodeAggregate, encodeConfigReply, encodeDesc, encodeFeaturesReply, encodeFlowStats,
  encodePacketIn, encodeTableStats, msgType, putPort, startMessage, type FlowStatsRequest, type OfpMessage, type PortDesc, type WireFlowMod,
} from './ofp-msgs.js';
import { OfpConnection, type OfpConnectionOptions, type OfpHandler } from './ofp-conn.js';
import {
  NXT_SET_ASYNC_CONFIG2, OAM, OFPCR, OFPCRR, OFPPR, adjustAsyncConfig, decodeRoleRequest, decodeSetAsync, decodeSetControllerId, defaultAsyncConfig,
  encodeFlowRemoved, encodeGetAsyncReply, encodePortStatus, encodeRoleReply, encodeRoleStatus, sameBytes,
} from './ofp-async.js';
import { NXFF, NXPIF, NXST, NXT, checkNxVendor, decodeNxFlowMod, decodeNxFlowStatsRequest, decodeNxU32, decodeVendorHeader, encodeNxAggregate, encodeNxFlowStats } from './ofp-nx.js';
import type { FlowEntry } from './pipeline.js';
import type { PacketIn } from './output-log.js';
import { OFPP, type Port } from './ports.js';
import type { FlowRemovedEvent, PortStatusEvent, Switch } from './switch.js';
import { OfpVersion, WireWriter, type WireReader } from './wire-buf.js';

/** Options of an `OfpAgent`. */
export interface OfpAgentOptions {
  /** Datapath id (default 1). */
  datapathId?: bigint;
  /** `ofp_desc` strings (default: Open vSwitch's words for a software switch, with our name). */
  desc?: { mfr: string; hw: string; sw: string; serial: string; dp: string };
}

/** OFPPC_PORT_DOWN, OFPPS_LINK_DOWN, OFPPS_LIVE (`ofp_port` config and state bits). */
const OFPPC_PORT_DOWN = 1;
const OFPPS_LINK_DOWN = 1;
const OFPPS_LIVE = 4;
/** OFPC_INVALID_TTL_TO_CONTROLLER (a SET_CONFIG flag before OpenFlow 1.3) and the packet-in reason it enables. */
const OFPC_INVALID_TTL_TO_CONTROLLER = 4;
const OFPR_INVALID_TTL = 2;
/** NXT_GROUP_MOD (OpenFlow 1.0's group mod). */
const NXT_GROUP_MOD = 31;

/** OFPR_* numbers of packet-in reasons. */
const REASON_NUM: Readonly<Record<string, number>> = { no_match: 0, action: 1, invalid_ttl: 2, action_set: 3, group: 4, packet_out: 5 };

/** A switch's OpenFlow side (see the module comment). */
export class OfpAgent implements OfpHandler {
  /** Open connections. */
  readonly conns = new Set<OfpConnection>();
  /** Fragment handling flags of SET_CONFIG (switch-wide; miss_send_len is per connection). */
  configFlags = 0;
  private readonly dpid: bigint;
  private readonly desc: NonNullable<OfpAgentOptions['desc']>;
  private xid = 1;
  /** The master election generation id (OVS `primary_election_id`), once a master/slave request set one. */
  generationId: bigint | undefined;

  constructor(
    /** The switch. */
    readonly sw: Switch,
    opts: OfpAgentOptions = {},
  ) {
    this.dpid = opts.datapathId ?? 1n;
    this.desc = opts.desc ?? { mfr: 'ovn-ts', hw: 'ovn-ts software switch', sw: '0.1.0', serial: 'None', dp: 'None' };
    // Flow-removed and port-status events become asynchronous messages (any hook set before is kept).
    const removed = sw.onFlowRemoved;
    sw.onFlowRemoved = (ev) => {
      removed?.(ev);
      this.flowRemoved(ev);
    };
    const portStatus = sw.onPortStatus;
    sw.onPortStatus = (ev) => {
      portStatus?.(ev);
      this.portStatus(ev);
    };
  }

  /** A new connection over a transport that sends with `send`; call `start()` on it once connected. */
  connect(send: (bytes: Uint8Array) => void, opts: OfpConnectionOptions = {}): OfpConnection {
    const c = new OfpConnection(this, send, {
      ...opts,
      onClose: (why) => {
        this.conns.delete(c);
        this.updateMiss();
        opts.onClose?.(why);
      },
    });
    this.conns.add(c);
    this.updateMiss();
    return c;
  }

  /** Forget a connection whose transport closed. */
  disconnect(c: OfpConnection): void {
    this.conns.delete(c);
    c.state = 'closed';
    this.updateMiss();
  }

  /** A connection agreed on a version or closed (OfpHandler). */
  onState(): void {
    this.updateMiss();
  }

  /**
   * OVS `connmgr_wants_packet_in_on_miss()`: table misses go to the controller while a controller
   * connection speaks OpenFlow 1.0-1.2 or has not negotiated yet (1.3 made a miss a drop).
   */
  private updateMiss(): void {
    let want = false;
    for (const c of this.conns) if (c.primary && c.controllerId === 0 && c.state !== 'closed' && (c.state === 'hello' || c.version < OfpVersion.OF13)) want = true;
    this.sw.setMissToController(want);
  }

  /** Send a packet-in to every active connection (wire it to the switch's `onPacketIn`). */
  packetIn(pi: PacketIn): void {
    const match = new Match();
    match.set(field('in_port'), BigInt(pi.inPort));
    for (const f of pi.match) {
      if (f.name === 'in_port') continue;
      const fd = field(f.name);
      if (!match.has(fd)) match.set(fd, f.value);
    }
    const reason = REASON_NUM[pi.reason] ?? 1;
    for (const c of this.conns) {
      // OVS `connmgr_send_async_msg()`: the action's controller id, then the connection's async configuration.
      if (c.controllerId !== pi.controllerId || !OfpAgent.receives(c, OAM.PACKET_IN, reason)) continue;
      c.notify(encodePacketIn(c.version, this.xid++, {
        data: pi.frame.slice(), totalLen: pi.totalLen, reason, tableId: pi.tableId, cookie: pi.cookie, match,
      }));
    }
  }

  /** Answer one message (OfpHandler). */
  handle(m: OfpMessage, conn: OfpConnection): Uint8Array[] {
    const v = m.version;
    if (conn.role === OFPCR.SLAVE && OfpAgent.isModification(m)) throw new OpenFlowError('OFPBRC_IS_SECONDARY', 'a slave controller may not modify the switch');
    switch (m.type) {
      case OFPT.ECHO_REQUEST: {
        const r = startMessage(v, OFPT.ECHO_REPLY, m.xid);
        r.w.bytes(m.body.bytes(m.body.remaining));
        return [r.done()];
      }
      case OFPT.ECHO_REPLY:
        return [];
      case OFPT.FEATURES_REQUEST:
        return [encodeFeaturesReply(v, m.xid, {
          datapathId: this.dpid, nBuffers: 0, nTables: 254, capabilities: v === OfpVersion.OF10 ? 0xc7 : 0x4f, ports: this.portDescs(),
        })];
      case OFPT.GET_CONFIG_REQUEST:
        return [encodeConfigReply(v, m.xid, this.configFlags | (v < OfpVersion.OF13 && OfpAgent.invalidTtlToController(conn) ? OFPC_INVALID_TTL_TO_CONTROLLER : 0), conn.missSendLen)];
      case OFPT.SET_CONFIG: {
        const c = decodeSetConfig(m);
        // OVS `handle_set_config()`: a slave controller does not change the fragment handling;
        // before OpenFlow 1.3 a flag sends invalid-TTL packet-ins to this connection.
        if (!conn.primary || conn.role !== OFPCR.SLAVE) this.configFlags = c.flags & 3;
        if (v < OfpVersion.OF13) OfpAgent.setInvalidTtlToController(conn, (c.flags & OFPC_INVALID_TTL_TO_CONTROLLER) !== 0);
        conn.missSendLen = c.missSendLen;
        return [];
      }
      case OFPT.FLOW_MOD: {
        this.flowMod(decodeFlowMod(m, conn.flowModTableId));
        return [];
      }
      case OFPT.PACKET_OUT: {
        const po = decodePacketOut(m);
        if (po.bufferId !== OFP_NO_BUFFER) throw new OpenFlowError('OFPBRC_BUFFER_UNKNOWN', `buffer ${po.bufferId}`);
        this.sw.packetOut({ inPort: po.inPort, actions: po.actions, frame: po.data });
        return [];
      }
      case OFPT.GROUP_MOD: {
        if (v === OfpVersion.OF10) break;
        const gm = decodeGroupMod(m);
        if (gm.command === OFPGC.ADD) this.sw.addGroup(gm.group);
        else if (gm.command === OFPGC.MODIFY) this.sw.modGroup(gm.group);
        else if (gm.group.groupId === OFPG_ALL) for (const id of [...this.sw.groups.keys()]) this.sw.delGroup(id);
        else this.sw.delGroup(gm.group.groupId);
        return [];
      }
      case OFPT.METER_MOD: {
        if (v < OfpVersion.OF13) break;
        const mm = decodeMeterMod(m);
        const id = mm.meter.meterId;
        if (mm.command === OFPMC.DELETE) {
          if (id === OFPM_ALL) for (const x of this.sw.meters.list()) this.sw.delMeter(x.config.meterId);
          else this.sw.delMeter(id);
        } else if (mm.command === OFPMC.ADD) this.sw.addMeter(mm.meter);
        else this.sw.modMeter(mm.meter);
        return [];
      }
      case OFPT.EXPERIMENTER:
        return this.nicira(m, conn);
      case OFPT.ROLE_REQUEST:
        if (v === OfpVersion.OF10) break;
        return this.roleRequest(m, conn, false);
      case OFPT.GET_ASYNC_REQUEST:
        if (v < OfpVersion.OF13) break;
        if (m.body.remaining !== 0) throw new OpenFlowError('OFPBRC_BAD_LEN', 'GET_ASYNC_REQUEST with a body');
        return [encodeGetAsyncReply(v, m.xid, conn.asyncConfig ?? defaultAsyncConfig(v))];
      case OFPT.SET_ASYNC:
        if (v < OfpVersion.OF13) break;
        return this.setAsync(m, conn, v === OfpVersion.OF13 ? 'masks' : 'props');
      default:
        break;
    }
    if (m.type === msgType(v, 'BARRIER_REQUEST')) return [startMessage(v, msgType(v, 'BARRIER_REPLY'), m.xid).done()];
    if (m.type === msgType(v, 'MULTIPART_REQUEST')) return this.multipart(m);
    throw new OpenFlowError('OFPBRC_BAD_TYPE', `message type ${m.type}`);
  }

  /** A Nicira extension message (OVS `handle_openflow()`'s NXT cases). */
  private nicira(m: OfpMessage, conn: OfpConnection): Uint8Array[] {
    const { vendor, subtype } = decodeVendorHeader(m);
    checkNxVendor(vendor);
    switch (subtype) {
      case NXT.SET_FLOW_FORMAT: {
        const f = decodeNxU32(m, 'NXT_SET_FLOW_FORMAT');
        if (f !== NXFF.OPENFLOW10 && f !== NXFF.NXM) throw new OpenFlowError('OFPBRC_EPERM', `flow format ${f}`);
        conn.flowFormat = f;
        return [];
      }
      case NXT.FLOW_MOD_TABLE_ID: {
        if (m.body.remaining < 8) throw new OpenFlowError('OFPBRC_BAD_LEN', 'NXT_FLOW_MOD_TABLE_ID too short');
        conn.flowModTableId = m.body.u8() !== 0;
        return [];
      }
      case NXT.SET_PACKET_IN_FORMAT: {
        const f = decodeNxU32(m, 'NXT_SET_PACKET_IN_FORMAT');
        if (f !== NXPIF.STANDARD && f !== NXPIF.NXT_PACKET_IN && f !== NXPIF.NXT_PACKET_IN2) throw new OpenFlowError('OFPBRC_EPERM', `packet-in format ${f}`);
        conn.packetInFormat = f;
        return [];
      }
      case NXT.FLOW_MOD:
        this.flowMod(decodeNxFlowMod(m, conn.flowModTableId));
        return [];
      case NXT.ROLE_REQUEST:
        return this.roleRequest(m, conn, true);
      case NXT.SET_ASYNC_CONFIG:
        return this.setAsync(m, conn, 'masks');
      case NXT_SET_ASYNC_CONFIG2:
        // OVS knows it in OpenFlow 1.0-1.3 only (1.4 has SET_ASYNC with properties).
        if (m.version >= OfpVersion.OF14) throw new OpenFlowError('OFPBRC_BAD_SUBTYPE', `Nicira message subtype ${subtype} in OpenFlow 1.4+`);
        return this.setAsync(m, conn, 'props');
      case NXT.SET_CONTROLLER_ID:
        conn.controllerId = decodeSetControllerId(m);
        this.updateMiss();
        return [];
      default:
        throw new OpenFlowError('OFPBRC_BAD_SUBTYPE', `Nicira message subtype ${subtype}`);
    }
  }

  /** The flows a flow or aggregate statistics request selects (expired ones gone first). */
  private statsFlows(req: FlowStatsRequest): FlowEntry[] {
    const all = req.tableId === OFPTT_ALL;
    if (!all && req.tableId > 253) throw new OpenFlowError('OFPBRC_BAD_TABLE_ID', `table ${req.tableId}`);
    this.sw.expire();
    const probe: Flow = {
      table: all ? 0 : req.tableId, priority: 0, cookie: req.cookie, idleTimeout: 0, hardTimeout: 0, importance: 0, flags: [],
      match: req.match, instructions: { apply: [], clearActions: false },
    };
    return this.sw.selectFlows(probe, { cookieMask: req.cookieMask, allTables: all, outPort: req.outPort, outGroup: req.outGroup });
  }

  /** Packet, byte and flow counts of an aggregate request. */
  private static sums(hits: FlowEntry[]): { packets: bigint; bytes: bigint } {
    let packets = 0n;
    let bytes = 0n;
    for (const e of hits) {
      packets += BigInt(e.packets);
      bytes += BigInt(e.bytes);
    }
    return { packets, bytes };
  }

  /** NXST_FLOW / NXST_AGGREGATE (the multipart request's body is at the vendor id). */
  private nxStats(m: OfpMessage, body: WireReader): Uint8Array[] {
    const v = m.version;
    if (body.remaining < 8) throw new OpenFlowError('OFPBRC_BAD_LEN', 'vendor statistics request too short');
    checkNxVendor(body.u32());
    const subtype = body.u32();
    if (v === OfpVersion.OF10) {
      if (body.remaining < 4) throw new OpenFlowError('OFPBRC_BAD_LEN', 'vendor statistics request too short');
      body.skip(4);
    }
    if (subtype !== NXST.FLOW && subtype !== NXST.AGGREGATE) throw new OpenFlowError('OFPBRC_BAD_SUBTYPE', `Nicira statistics subtype ${subtype}`);
    const req = decodeNxFlowStatsRequest({ ...m, body });
    const hits = this.statsFlows(req);
    const reply = new MultipartReply(v, m.xid, OFPMP.EXPERIMENTER, subtype);
    if (subtype === NXST.AGGREGATE) {
      const { packets, bytes } = OfpAgent.sums(hits);
      reply.add(encodeNxAggregate(packets, bytes, hits.length));
      return reply.finish();
    }
    for (const e of hits) {
      const st = this.sw.flowStats(e);
      reply.add(encodeNxFlowStats(v, {
        tableId: e.flow.table, durationMs: st.durationMs, idleAge: st.idleAge, hardAge: st.hardAge, priority: e.flow.priority, idleTimeout: st.idleTimeout,
        hardTimeout: st.hardTimeout, cookie: e.flow.cookie, packets: BigInt(e.packets), bytes: BigInt(e.bytes), match: e.flow.match, instructions: e.flow.instructions,
      }));
    }
    return reply.finish();
  }

  /** Apply a decoded flow mod through the switch's text-API operations. */
  flowMod(fm: WireFlowMod): void {
    if (fm.bufferId !== OFP_NO_BUFFER && fm.command !== OFPFC.DELETE && fm.command !== OFPFC.DELETE_STRICT) {
      throw new OpenFlowError('OFPBRC_BUFFER_UNKNOWN', `buffer ${fm.bufferId}`);
    }
    const all = fm.tableId === OFPTT_ALL;
    if (!all && fm.tableId > 253) throw new OpenFlowError('OFPBRC_BAD_TABLE_ID', `table ${fm.tableId}`);
    const flow: Flow = {
      table: all ? 0 : fm.tableId, priority: fm.priority, cookie: fm.cookie, idleTimeout: fm.idleTimeout, hardTimeout: fm.hardTimeout,
      importance: fm.importance, flags: fm.flags, match: fm.match, instructions: fm.instructions,
    };
    const strict = fm.command === OFPFC.MODIFY_STRICT || fm.command === OFPFC.DELETE_STRICT;
    const opts = { strict, cookieMask: fm.cookieMask, allTables: all, outPort: fm.outPort, outGroup: fm.outGroup };
    switch (fm.command) {
      case OFPFC.ADD:
        this.sw.addFlow(flow);
        return;
      case OFPFC.MODIFY:
      case OFPFC.MODIFY_STRICT: {
        // OpenFlow 1.0 and Nicira flow mods carry the flows' new cookie (OVS new_cookie; all ones
        // keeps it); with a cookie filter as well, the filter wins and the cookie stays.
        const nc = fm.newCookie;
        if (nc !== undefined && nc !== 0xffff_ffff_ffff_ffffn && fm.cookieMask === 0n) {
          this.sw.modFlows({ ...flow, cookie: nc }, { strict, allTables: all, outPort: OFPP.NONE, outGroup: 0xffff_ffff });
        } else this.sw.modFlows(flow, { ...opts, outPort: OFPP.NONE, outGroup: 0xffff_ffff });
        return;
      }
      default:
        this.sw.delFlows(flow, opts);
    }
  }

  private portDescs(): PortDesc[] {
    return [...this.sw.ports.values()].sort((a, b) => a.number - b.number).map((p) => OfpAgent.portDesc(p, p.up, p.up));
  }

  /**
   * A port as `ofp_port` says it: a port that is down is administratively down with its link
   * down (`PORT_DOWN`, `LINK_DOWN`, as a dummy port set down in OVS); a live port is `LIVE`
   * (OpenFlow 1.1+; 1.0 cannot say it).
   */
  private static portDesc(p: Port, up: boolean, live: boolean): PortDesc {
    return {
      portNo: p.number, hwAddr: 0x0200_0000_0000n + BigInt(p.number & 0xffff), name: p.name,
      config: (p.noFlood ? 0x10 : 0) | (p.noForward ? 0x20 : 0) | (up ? 0 : OFPPC_PORT_DOWN), state: up ? (live ? OFPPS_LIVE : 0) : OFPPS_LINK_DOWN,
      currSpeed: 0, maxSpeed: 0,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Asynchronous messages and roles (OVS connmgr.c)

  /** OVS `ofconn_receives_async_msg()`: does `c` take asynchronous messages of kind `oam` for `reason`? */
  static receives(c: OfpConnection, oam: number, reason: number): boolean {
    if (c.state !== 'active') return false;
    // A service connection gets none until it asked with a miss_send_len.
    if (!c.primary && c.missSendLen === 0) return false;
    const ac = c.asyncConfig ?? defaultAsyncConfig(c.version);
    const masks = c.role === OFPCR.SLAVE ? ac.secondary : ac.primary;
    return ((masks[oam]! >>> reason) & 1) === 1;
  }

  private static invalidTtlToController(c: OfpConnection): boolean {
    return ((c.asyncConfig ?? defaultAsyncConfig(c.version)).primary[OAM.PACKET_IN]! & (1 << OFPR_INVALID_TTL)) !== 0;
  }

  private static setInvalidTtlToController(c: OfpConnection, on: boolean): void {
    const ac = c.asyncConfig ?? defaultAsyncConfig(c.version);
    const pin = ac.primary[OAM.PACKET_IN]!;
    ac.primary[OAM.PACKET_IN] = (on ? pin | (1 << OFPR_INVALID_TTL) : pin & ~(1 << OFPR_INVALID_TTL)) >>> 0;
    c.asyncConfig = adjustAsyncConfig(ac, c.version);
  }

  /**
   * The messages a slave may not send (OVS calls `reject_secondary_controller()` before decoding
   * them): PACKET_OUT, FLOW_MOD, GROUP_MOD, PORT_MOD, TABLE_MOD, METER_MOD, bundles, and the
   * Nicira NXT_FLOW_MOD, NXT_GROUP_MOD and NXT_TLV_TABLE_MOD.
   */
  private static isModification(m: OfpMessage): boolean {
    const v = m.version;
    if (m.type === OFPT.EXPERIMENTER) {
      if (m.bytes.length < 16) return false;
      const dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.length);
      const vendor = dv.getUint32(8);
      const subtype = dv.getUint32(12);
      if (vendor === 0x2320) return subtype === NXT.FLOW_MOD || subtype === NXT.TLV_TABLE_MOD || (v === OfpVersion.OF10 && subtype === NXT_GROUP_MOD);
      return vendor === 0x4f4e4600 && v === OfpVersion.OF13 && (subtype === 2300 || subtype === 2301); // ONF bundle control / add
    }
    if (v === OfpVersion.OF10) return m.type === OFPT.PACKET_OUT || m.type === OFPT.FLOW_MOD || m.type === OFPT10.PORT_MOD;
    const mods: number[] = [OFPT.PACKET_OUT, OFPT.FLOW_MOD, OFPT.GROUP_MOD, OFPT.PORT_MOD, OFPT.TABLE_MOD];
    if (v >= OfpVersion.OF13) mods.push(OFPT.METER_MOD);
    if (v >= OfpVersion.OF14) mods.push(33, 34); // BUNDLE_CONTROL, BUNDLE_ADD_MESSAGE
    return mods.includes(m.type);
  }

  /** ROLE_REQUEST / NXT_ROLE_REQUEST (OVS `handle_role_request()`). */
  private roleRequest(m: OfpMessage, conn: OfpConnection, nx: boolean): Uint8Array[] {
    const rq = decodeRoleRequest(m, nx);
    if (rq.role !== OFPCR.NOCHANGE) {
      if (rq.role !== OFPCR.EQUAL && rq.hasGenerationId) {
        // Stale when older than the current id in the signed 64-bit sense (OVS
        // `ofconn_set_primary_election_id()`).
        if (this.generationId !== undefined && BigInt.asIntN(64, rq.generationId - this.generationId) < 0n) {
          throw new OpenFlowError('OFPRRFC_STALE', `generation id ${rq.generationId} is older than ${this.generationId}`);
        }
        this.generationId = rq.generationId;
      }
      this.setRole(conn, rq.role);
    }
    return [encodeRoleReply(m.version, m.xid, nx, conn.role, this.generationId)];
  }

  /** OVS `ofconn_set_role()`: a new master demotes the others to slave, telling them with a ROLE_STATUS (1.3+). */
  private setRole(conn: OfpConnection, role: number): void {
    if (role !== conn.role && role === OFPCR.MASTER) {
      for (const other of this.conns) {
        if (other.role !== OFPCR.MASTER) continue;
        other.role = OFPCR.SLAVE;
        const st = encodeRoleStatus(other.version, OFPCR.SLAVE, OFPCRR.MASTER_REQUEST, this.generationId);
        if (st) other.notify(st);
      }
    }
    conn.role = role;
  }

  /** SET_ASYNC / NXT_SET_ASYNC_CONFIG(2) (OVS `handle_nxt_set_async_config()`). */
  private setAsync(m: OfpMessage, conn: OfpConnection, form: 'masks' | 'props'): Uint8Array[] {
    const ac = decodeSetAsync(m, form, conn.asyncConfig ?? defaultAsyncConfig(conn.version));
    conn.asyncConfig = adjustAsyncConfig(ac, conn.version);
    // A service connection that configures asynchronous messages wants them.
    if (!conn.primary && conn.missSendLen === 0) conn.missSendLen = 128;
    return [];
  }

  /** A flow left its table (the switch's `onFlowRemoved`): FLOW_REMOVED to every connection that takes it. */
  flowRemoved(ev: FlowRemovedEvent): void {
    if (!ev.notify) return;
    const f = ev.entry.flow;
    const fr = {
      match: f.match, priority: f.priority, cookie: f.cookie, reason: ev.reason, tableId: f.table, durationMs: ev.durationMs,
      idleTimeout: ev.idleTimeout, hardTimeout: ev.hardTimeout, packets: BigInt(ev.packets), bytes: BigInt(ev.bytes),
    };
    for (const c of this.conns) if (OfpAgent.receives(c, OAM.FLOW_REMOVED, ev.reason)) c.notify(encodeFlowRemoved(c.version, c.flowFormat === NXFF.NXM, fr));
  }

  /**
   * A port was added, removed or changed (the switch's `onPortStatus`): PORT_STATUS as OVS sends
   * them. OVS announces a new port before it knows it is live (ADD, then MODIFY with `LIVE`), and
   * a port set down first loses `LIVE`, then shows `PORT_DOWN`/`LINK_DOWN`; a modification a
   * connection's version cannot show (`LIVE` in OpenFlow 1.0) is not sent to it.
   */
  portStatus(ev: PortStatusEvent): void {
    const p = ev.port;
    const steps: Array<[number, PortDesc]> = [];
    let before: PortDesc;
    if (ev.reason === 'add') {
      before = OfpAgent.portDesc(p, p.up, false);
      steps.push([OFPPR.ADD, before]);
      if (p.up) steps.push([OFPPR.MODIFY, OfpAgent.portDesc(p, true, true)]);
    } else if (ev.reason === 'delete') {
      before = OfpAgent.portDesc(p, p.up, p.up);
      steps.push([OFPPR.DELETE, before]);
    } else if (p.up) {
      before = OfpAgent.portDesc(p, false, false);
      steps.push([OFPPR.MODIFY, OfpAgent.portDesc(p, true, true)]);
    } else {
      before = OfpAgent.portDesc(p, true, true);
      steps.push([OFPPR.MODIFY, OfpAgent.portDesc(p, true, false)], [OFPPR.MODIFY, OfpAgent.portDesc(p, false, false)]);
    }
    for (const c of this.conns) {
      let prev = before;
      for (const [reason, desc] of steps) {
        const old = prev;
        prev = desc;
        if (!OfpAgent.receives(c, OAM.PORT_STATUS, reason)) continue;
        const msg = encodePortStatus(c.version, reason, desc);
        if (reason === OFPPR.MODIFY && sameBytes(msg, encodePortStatus(c.version, reason, old))) continue;
        c.notify(msg);
      }
    }
  }

  private multipart(m: OfpMessage): Uint8Array[] {
    const v = m.version;
    const q = decodeMultipartRequest(m);
    const reply = new MultipartReply(v, m.xid, q.mpType);
    switch (q.mpType) {
      case OFPMP.DESC:
        reply.add(encodeDesc(this.desc));
        break;
      case OFPMP.EXPERIMENTER:
        return this.nxStats(m, q.body);
      case OFPMP.FLOW:
      case OFPMP.AGGREGATE: {
        const hits = this.statsFlows(decodeFlowStatsRequest(v, q.body));
        if (q.mpType === OFPMP.AGGREGATE) {
          const { packets, bytes } = OfpAgent.sums(hits);
          reply.add(encodeAggregate(v, packets, bytes, hits.length));
          break;
        }
        for (const e of hits) {
          const st = this.sw.flowStats(e);
          reply.add(encodeFlowStats(v, {
            tableId: e.flow.table, durationMs: st.durationMs, idleAge: st.idleAge, priority: e.flow.priority, idleTimeout: st.idleTimeout,
            hardTimeout: st.hardTimeout, flags: e.flow.flags, importance: e.flow.importance, cookie: e.flow.cookie, packets: BigInt(e.packets),
            bytes: BigInt(e.bytes), match: e.flow.match, instructions: e.flow.instructions,
          }));
        }
        break;
      }
      case OFPMP.TABLE:
        for (const t of this.sw.tableStats().slice(0, 254)) {
          reply.add(encodeTableStats(v, { tableId: t.tableId, active: t.activeCount, lookups: BigInt(t.lookupCount), matched: BigInt(t.matchedCount) }));
        }
        break;
      case OFPMP.TABLE_FEATURES:
        // ovs-ofctl asks before a flow mod (to learn table names): one `ofp13_table_features` per
        // table with its name and limits and the eight properties OVS requires, empty (every table
        // is alike; the switch does not advertise per-table capabilities).
        if (v === OfpVersion.OF10) throw new OpenFlowError('OFPBRC_BAD_STAT', 'table features is not an OpenFlow 1.0 statistic');
        for (let t = 0; t < 254; t++) {
          const w = new WireWriter(128);
          w.u16(128).u8(t).zeros(5).str(`table${t}`, 32).u64(0xffff_ffff_ffff_ffffn).u64(0xffff_ffff_ffff_ffffn).u32(0).u32(1_000_000);
          for (const prop of [0, 2, 4, 6, 8, 10, 12, 14]) w.u16(prop).u16(4).zeros(4);
          reply.add(w.finish());
        }
        break;
      case OFPMP.GROUP_DESC: {
        if (v === OfpVersion.OF10) throw new OpenFlowError('OFPBRC_BAD_STAT', 'group desc is not an OpenFlow 1.0 statistic');
        const want = v >= OfpVersion.OF15 && q.body.remaining >= 4 ? q.body.u32() : OFPG_ALL;
        for (const id of [...this.sw.groups.keys()].sort((a, b) => a - b)) {
          if (want !== OFPG_ALL && want !== id) continue;
          reply.add(encodeGroupDesc(v, this.sw.groups.get(id)!.group));
        }
        break;
      }
      case OFPMP.METER_CONFIG: {
        if (v < OfpVersion.OF13) throw new OpenFlowError('OFPBRC_BAD_STAT', 'meter config before OpenFlow 1.3');
        const want = q.body.remaining >= 4 ? q.body.u32() : OFPM_ALL;
        for (const x of this.sw.meters.list()) if (want === OFPM_ALL || want === x.config.meterId) reply.add(encodeMeterConfig(x.config));
        break;
      }
      case OFPMP.PORT_DESC: {
        if (v === OfpVersion.OF10) throw new OpenFlowError('OFPBRC_BAD_STAT', 'port desc is not an OpenFlow 1.0 statistic');
        const w = new WireWriter();
        for (const p of this.portDescs()) putPort(w, v, p);
        reply.add(w.finish());
        break;
      }
      default:
        throw new OpenFlowError('OFPBRC_BAD_STAT', `multipart type ${q.mpType}`);
    }
    return reply.finish();
  }
}
