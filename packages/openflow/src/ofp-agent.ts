/**
 * The switch side of OpenFlow connections (OVS `ofproto/connmgr.c` + `ofproto.c`'s message
 * handlers): a `Switch` answers what `ovs-ofctl` and controllers send over any number of
 * `OfpConnection`s. Flow mods go through the same `Switch` calls as the text API (addFlow, modFlows,
 * delFlows with the wire's table, cookie, out_port and out_group filters), so the wire and the text
 * paths check and refuse identically. Asynchronous messages go to the connections that take them (below).
 *
 * Handled: ECHO, FEATURES, GET/SET_CONFIG, BARRIER, FLOW_MOD (every command and flag), GROUP_MOD
 * (add, modify, delete; 1.5 insert/remove bucket) and METER_MOD (add, modify, delete), PORT_MOD,
 * TABLE_MOD, PACKET_OUT, MULTIPART desc/flow/aggregate/table/table-features/group-desc/meter-config/
 * port-desc/port/queue/group/group-features/meter/meter-features/table-desc, bundles (ofp-bundle.ts),
 * flow monitors (ofp-monitor.ts), the Nicira packet-in formats (ofp-packet-in.ts), ROLE_REQUEST and
 * NXT_ROLE_REQUEST, GET_ASYNC_REQUEST, SET_ASYNC, NXT_SET_ASYNC_CONFIG(2), NXT_SET_CONTROLLER_ID.
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
import { checkFlow, type Flow } from './ofctl-text.js';
import { OpenFlowError } from './errors.js';
import {
  MultipartReply, OFPGC, OFPG15_BUCKET, OFPG_ALL, OFP_NO_BUFFER, decodeGroupMod, encodeGroupDesc, OFPMC, OFPM_ALL, decodeMeterMod, encodeMeterConfig, OFPFC, OFPMP, OFPT, OFPT10, OFPTT_ALL, decodeFlowMod, decodeFlowStatsRequest, decodeMultipartRequest,
  decodePacketOut, decodeSetConfig, encodeAggregate, encodeConfigReply, encodeDesc, encodeFeaturesReply, encodeFlowStats,
  encodeTableStats, frameMessage, msgType, putPort, startMessage, type FlowStatsRequest, type OfpMessage, type PortDesc, type WireFlowMod,
} from './ofp-msgs.js';
import { BundleBook, bundleKind } from './ofp-bundle.js';
import { encodePacketInAs } from './ofp-packet-in.js';
import { MonitorBook, decodeFlowMonitorCancel, decodeNxFlowMonitorRequests, decodeOf14FlowMonitorRequests, decodeOnfFlowMonitorRequests, flowMonitorBody, flowMonitorKind } from './ofp-monitor.js';
import type { OutputSink, Port } from './ports.js';
import { OfpConnection, type OfpConnectionOptions, type OfpHandler } from './ofp-conn.js';
import {
  NX_GROUP, OFPPC, OFPQ_ALL, checkEmptyRequest, decodeIdRequest, decodePortMod, decodePortStatsRequest, decodeQueueStatsRequest, decodeTableMod, encodeGroupFeatures,
  encodeGroupStats, encodeMeterFeatures, encodeMeterStats, encodePortStats, encodeQueueStats, encodeTableDesc,
} from './ofp-stats.js';
import {
  NXT_SET_ASYNC_CONFIG2, OAM, OFPCR, OFPCRR, OFPPR, adjustAsyncConfig, decodeRoleRequest, decodeSetAsync, decodeSetControllerId, defaultAsyncConfig,
  encodeFlowRemoved, encodeGetAsyncReply, encodePortStatus, encodeRoleReply, encodeRoleStatus, sameBytes,
} from './ofp-async.js';
import { someAction, type Action } from './actions.js';
import { NXFF, NXPIF, NXST, NXT, checkNxVendor, decodeNxFlowMod, decodeNxFlowStatsRequest, decodeNxU32, decodeVendorHeader, encodeNxAggregate, encodeNxFlowStats } from './ofp-nx.js';
import type { FlowEntry } from './pipeline.js';
import type { PacketIn } from './output-log.js';
import { OFPP } from './ports.js';
import { OFPM_MAX } from './stateful/meters.js';
import type { FlowChangeEvent, FlowRemovedEvent, PortConfigBits, PortStatusEvent, Switch } from './switch.js';
import { OfpVersion, WireWriter, type WireReader } from './wire-buf.js';

/** Options of an `OfpAgent`. */
export interface OfpAgentOptions {
  /** Datapath id (default 1). */
  datapathId?: bigint;
  /** `ofp_desc` strings (default: Open vSwitch's words for a software switch, with our name). */
  desc?: { mfr: string; hw: string; sw: string; serial: string; dp: string };
}

/** OFPPS_LINK_DOWN, OFPPS_LIVE (`ofp_port` state bits). */
const OFPPS_LINK_DOWN = 1;
const OFPPS_LIVE = 4;
/** OFPC_INVALID_TTL_TO_CONTROLLER (a SET_CONFIG flag before OpenFlow 1.3) and the packet-in reason it enables. */
const OFPC_INVALID_TTL_TO_CONTROLLER = 4;
const OFPR_INVALID_TTL = 2;
/** NXT_GROUP_MOD (OpenFlow 1.0's group mod). */
const NXT_GROUP_MOD = 31;
/** Watches an agent's connections (fail-open's admission tracking, `FailOpen`). */
export interface OfpAgentObserver {
  /** A connection was made (its transport is up). */
  opened?(conn: OfpConnection): void;
  /** A connection closed. */
  closed?(conn: OfpConnection): void;
  /** A message arrived on an active connection, before it is handled. */
  received?(m: OfpMessage, conn: OfpConnection): void;
}

/** OFPR_* numbers of packet-in reasons. */
const REASON_NUM: Readonly<Record<string, number>> = { no_match: 0, action: 1, invalid_ttl: 2, action_set: 3, group: 4, packet_out: 5 };

/** A switch's OpenFlow side (see the module comment). */
export class OfpAgent implements OfpHandler {
  /** Open connections. */
  readonly conns = new Set<OfpConnection>();
  /** Fragment handling flags of SET_CONFIG (switch-wide; miss_send_len is per connection). */
  configFlags = 0;
  /** Per-table configuration a TABLE_MOD set (eviction, vacancy events and thresholds; absent: all off). */
  readonly tables: Array<{ eviction: boolean; vacancy: boolean; vacancyDown: number; vacancyUp: number }> = [];
  /** Told of connections and messages (see `OfpAgentObserver`). */
  observer: OfpAgentObserver | undefined;
  private readonly dpid: bigint;
  private readonly bundleBooks = new WeakMap<OfpConnection, BundleBook>();
  private readonly monitorBooks = new Map<OfpConnection, MonitorBook>();
  /** The request being handled (its connection gets abbreviated updates of its own changes). */
  private changeCtx: { conn: OfpConnection; xid: number } | undefined;
  private flushQueued = false;
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
    const prev = sw.onFlowChange;
    sw.onFlowChange = (ev) => {
      prev?.(ev);
      this.flowChanged(ev);
    };
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
        const had = this.conns.delete(c);
        this.updateMiss();
        if (had) this.observer?.closed?.(c);
        opts.onClose?.(why);
      },
    });
    this.conns.add(c);
    this.updateMiss();
    this.observer?.opened?.(c);
    return c;
  }

  /** Forget a connection whose transport closed. */
  disconnect(c: OfpConnection): void {
    const had = this.conns.delete(c);
    c.state = 'closed';
    this.updateMiss();
    if (had) this.observer?.closed?.(c);
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
      c.notify(encodePacketInAs(c.packetInFormat, c.version, this.xid++, {
        data: pi.frame.slice(), totalLen: pi.totalLen, reason, tableId: pi.tableId, cookie: pi.cookie, match,
        ...(pi.userdata ? { userdata: pi.userdata } : {}),
      }));
    }
  }

  /** Answer one message (OfpHandler). */
  handle(m: OfpMessage, conn: OfpConnection): Uint8Array[] {
    this.observer?.received?.(m, conn);
    const v = m.version;
    if (conn.role === OFPCR.SLAVE && OfpAgent.isModification(m)) throw new OpenFlowError('OFPBRC_IS_SECONDARY', 'a slave controller may not modify the switch');
    const bundle = bundleKind(m);
    if (bundle) return this.bundle(bundle, m, conn);
    this.changeBy(conn, m.xid);
    const monitor = flowMonitorKind(m);
    if (monitor) return this.flowMonitor(monitor, m, conn);
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
        // OpenFlow 1.0 numbers PORT_MOD where later versions have GROUP_MOD.
        if (v === OfpVersion.OF10) return this.portMod(m);
        this.groupMod(decodeGroupMod(m));
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
      case OFPT.PORT_MOD:
        if (v === OfpVersion.OF10) break; // OpenFlow 1.0's STATS_REQUEST
        return this.portMod(m);
      case OFPT.TABLE_MOD:
        if (v === OfpVersion.OF10) break;
        this.tableMod(m);
        return [];
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

  /** Flow monitors: a request, or NXT_FLOW_MONITOR_CANCEL (ofp-monitor.ts). */
  private flowMonitor(kind: 'nx-request' | 'onf-request' | 'of14-request' | 'cancel', m: OfpMessage, conn: OfpConnection): Uint8Array[] {
    let book = this.monitorBooks.get(conn);
    if (!book) {
      book = new MonitorBook(() => conn.version, (bytes) => conn.notify(bytes));
      this.monitorBooks.set(conn, book);
    }
    if (kind === 'cancel') {
      book.cancel(decodeFlowMonitorCancel(m));
      return [];
    }
    const body = flowMonitorBody(m, kind);
    const reqs = kind === 'nx-request' ? decodeNxFlowMonitorRequests(body) : kind === 'onf-request' ? decodeOnfFlowMonitorRequests(body) : decodeOf14FlowMonitorRequests(body);
    return book.request(m.xid, reqs, () => {
      this.sw.expire();
      return this.sw.flows();
    });
  }

  /**
   * Changes from now on are this request's (until the queued flush): the updates of the changes one
   * message made go out together, before the next message is handled (OVS `ofmonitor_flush()`).
   */
  private changeBy(conn: OfpConnection, xid: number): void {
    this.flushMonitors();
    this.changeCtx = { conn, xid };
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.changeCtx = undefined;
      this.flushMonitors();
    });
  }

  /** Send every connection's queued flow monitor updates. */
  private flushMonitors(): void {
    for (const [c, book] of this.monitorBooks) {
      if (c.isClosed() || !this.conns.has(c)) this.monitorBooks.delete(c);
      else book.flush();
    }
  }

  /** A flow-table change (the switch's `onFlowChange`): to every connection's monitors. */
  private flowChanged(ev: FlowChangeEvent): void {
    if (!this.monitorBooks.size) return;
    const ctx = this.changeCtx;
    for (const [c, book] of this.monitorBooks) book.report(ev, ctx && ctx.conn === c ? ctx.xid : undefined);
    this.queueFlush();
  }

  /** The bundles of a connection (made on first use; they go with the connection). */
  private bundleBook(conn: OfpConnection): BundleBook {
    let b = this.bundleBooks.get(conn);
    if (!b) {
      b = new BundleBook(this.sw.clock, (bytes) => conn.notify(bytes), () => conn.version);
      this.bundleBooks.set(conn, b);
    }
    return b;
  }

  /** BUNDLE_CONTROL / BUNDLE_ADD_MESSAGE (ofp-bundle.ts). */
  private bundle(kind: 'control' | 'add', m: OfpMessage, conn: OfpConnection): Uint8Array[] {
    const book = this.bundleBook(conn);
    if (kind === 'add') return book.add(m, (inner) => this.prepareBundled(inner, conn));
    return book.control(m, { checkpoint: () => this.sw.checkpoint(), hold: () => this.holdEffects() });
  }

  /**
   * Decode a bundled message now (OVS `handle_bundle_add()`: its decoding errors, a bad table and
   * a buffer answer the ADD) and return what applies it at commit.
   */
  private prepareBundled(inner: OfpMessage, conn: OfpConnection): () => void {
    switch (inner.type) {
      case OFPT.FLOW_MOD: {
        const fm = decodeFlowMod(inner, conn.flowModTableId);
        if (fm.tableId !== OFPTT_ALL && fm.tableId > 253) throw new OpenFlowError('OFPBRC_BAD_TABLE_ID', `table ${fm.tableId}`);
        if (fm.bufferId !== OFP_NO_BUFFER && fm.command !== OFPFC.DELETE && fm.command !== OFPFC.DELETE_STRICT) {
          throw new OpenFlowError('OFPBRC_BUFFER_UNKNOWN', `buffer ${fm.bufferId}`);
        }
        if (fm.command === OFPFC.ADD || fm.command === OFPFC.MODIFY || fm.command === OFPFC.MODIFY_STRICT) {
          checkFlow({
            table: fm.tableId === OFPTT_ALL ? 0 : fm.tableId, priority: fm.priority, cookie: fm.cookie, idleTimeout: fm.idleTimeout, hardTimeout: fm.hardTimeout,
            importance: fm.importance, flags: fm.flags, match: fm.match, instructions: fm.instructions,
          });
        }
        return () => this.flowMod(fm);
      }
      case OFPT.PACKET_OUT: {
        const po = decodePacketOut(inner);
        if (po.bufferId !== OFP_NO_BUFFER) throw new OpenFlowError('OFPBRC_BUFFER_UNKNOWN', `buffer ${po.bufferId}`);
        return () => this.sw.packetOut({ inPort: po.inPort, actions: po.actions, frame: po.data });
      }
      case OFPT.GROUP_MOD:
        decodeGroupMod(frameMessage(inner.bytes));
        return () => void this.handle(frameMessage(inner.bytes), conn);
      default:
        // PORT_MOD: applied through the ordinary handler at commit.
        return () => void this.handle(frameMessage(inner.bytes), conn);
    }
  }

  /**
   * Hold the switch's outputs, packet-ins and flow-removed events until the returned function is
   * called: a bundle's effects leave only when its commit succeeded (frames are copied, since the
   * switch reuses its buffers).
   */
  private holdEffects(): (deliver: boolean) => void {
    const sw = this.sw;
    const held: Array<() => void> = [];
    const { onOutput, onPacketIn, onFlowRemoved, onFlowChange } = sw;
    const sinks: Array<[Port, OutputSink]> = [];
    for (const p of sw.ports.values()) {
      const sink = p.sink;
      if (!sink) continue;
      sinks.push([p, sink]);
      p.sink = (n, f) => {
        const c = f.slice();
        held.push(() => sink(n, c));
      };
    }
    sw.onOutput = onOutput && ((n, f) => {
      const c = f.slice();
      held.push(() => onOutput(n, c));
    });
    sw.onPacketIn = onPacketIn && ((pi) => {
      const c = { ...pi, frame: pi.frame.slice() };
      held.push(() => onPacketIn(c));
    });
    sw.onFlowRemoved = onFlowRemoved && ((ev) => held.push(() => onFlowRemoved(ev)));
    sw.onFlowChange = onFlowChange && ((ev) => held.push(() => onFlowChange(ev)));
    return (deliver) => {
      sw.onOutput = onOutput;
      sw.onPacketIn = onPacketIn;
      sw.onFlowRemoved = onFlowRemoved;
      sw.onFlowChange = onFlowChange;
      for (const [p, sink] of sinks) p.sink = sink;
      if (deliver) for (const h of held) h();
    };
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
      case NX_GROUP.GROUP_MOD:
        if (m.version !== OfpVersion.OF10) break;
        this.groupMod(decodeGroupMod(m, true));
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
        break;
    }
    throw new OpenFlowError('OFPBRC_BAD_SUBTYPE', `Nicira message subtype ${subtype}`);
  }

  /** Apply a decoded GROUP_MOD (or OpenFlow 1.0's NXT_GROUP_MOD). */
  private groupMod(gm: ReturnType<typeof decodeGroupMod>): void {
    if (gm.command === OFPGC.INSERT_BUCKET || gm.command === OFPGC.REMOVE_BUCKET) this.bucketMod(gm);
    else if (gm.command === OFPGC.ADD) this.sw.addGroup(gm.group);
    else if (gm.command === OFPGC.MODIFY) this.sw.modGroup(gm.group);
    else if (gm.group.groupId === OFPG_ALL) for (const id of [...this.sw.groups.keys()]) this.sw.delGroup(id);
    else this.sw.delGroup(gm.group.groupId);
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
    if (v === OfpVersion.OF10 && (subtype === NX_GROUP.STATS || subtype === NX_GROUP.DESC || subtype === NX_GROUP.FEATURES)) {
      const reply = new MultipartReply(v, m.xid, OFPMP.EXPERIMENTER, subtype);
      this.groupReplies(v, subtype === NX_GROUP.STATS ? OFPMP.GROUP : subtype === NX_GROUP.DESC ? OFPMP.GROUP_DESC : OFPMP.GROUP_FEATURES, body, reply);
      return reply.finish();
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

  /** The hardware address we report for a port (and check a PORT_MOD against). */
  private static hwAddr(portNo: number): bigint {
    return 0x0200_0000_0000n + BigInt(portNo & 0xffff);
  }

  /** PORT_MOD (OVS `handle_port_mod()`): a known port, its hardware address, then the config bits in the mask. */
  private portMod(m: OfpMessage): Uint8Array[] {
    const pm = decodePortMod(m);
    const p = this.sw.port(pm.portNo);
    if (!p) throw new OpenFlowError('OFPPMFC_BAD_PORT', `port ${pm.portNo}`);
    if (pm.hwAddr !== OfpAgent.hwAddr(p.number)) throw new OpenFlowError('OFPPMFC_BAD_HW_ADDR', `port ${pm.portNo}: hardware address ${pm.hwAddr.toString(16)}`);
    const bit = (b: number): boolean | undefined => (pm.mask & b ? (pm.config & b) !== 0 : undefined);
    const change: Partial<PortConfigBits> = {};
    const set = <K extends keyof typeof change>(k: K, b: number): void => {
      const x = bit(b);
      if (x !== undefined) change[k] = x;
    };
    set('down', OFPPC.PORT_DOWN);
    set('noRecv', OFPPC.NO_RECV);
    set('noFlood', OFPPC.NO_FLOOD);
    set('noForward', OFPPC.NO_FWD);
    set('noPacketIn', OFPPC.NO_PACKET_IN);
    this.sw.setPortConfig(p.number, change);
    return [];
  }

  /**
   * TABLE_MOD (OVS `table_mod()`): one table or all; eviction and vacancy kept per table. Table 254
   * is OVS's hidden read-only table (OFPTMFC_EPERM).
   */
  private tableMod(m: OfpMessage): void {
    const tm = decodeTableMod(m);
    if (tm.tableId === 254) throw new OpenFlowError('OFPTMFC_EPERM', `table ${tm.tableId} is read-only`);
    const ids = tm.tableId === OFPTT_ALL ? [...Array(254).keys()] : [tm.tableId];
    for (const id of ids) {
      const t = (this.tables[id] ??= { eviction: false, vacancy: false, vacancyDown: 0, vacancyUp: 0 });
      if (tm.eviction !== undefined) t.eviction = tm.eviction;
      if (tm.vacancy !== undefined) {
        t.vacancyDown = tm.vacancyDown ?? 0;
        t.vacancyUp = tm.vacancyUp ?? 0;
        t.vacancy = tm.vacancy;
      }
    }
  }

  /** GROUP_MOD insert/remove bucket (OpenFlow 1.5; OVS `copy_buckets_for_insert_bucket()`/`_remove_bucket()`). */
  private bucketMod(gm: ReturnType<typeof decodeGroupMod>): void {
    const old = this.sw.groups.get(gm.group.groupId);
    if (!old) throw new OpenFlowError('OFPGMFC_UNKNOWN_GROUP', `group ${gm.group.groupId}`);
    const cur = old.group.buckets.map((b, i) => ({ ...b, bucketId: b.bucketId ?? i }));
    const at = gm.commandBucketId;
    // The new buckets' weight defaults by the type the message names (OVS decodes them before it
    // looks at the group; ovs-ofctl names none, so an inserted bucket has weight 0).
    const added = gm.group.buckets.map((b) => ({ ...b, weight: b.weight ?? (gm.group.type === 'select' ? 1 : 0) }));
    let buckets;
    if (gm.command === OFPGC.REMOVE_BUCKET) {
      let skip = -1;
      if (at === OFPG15_BUCKET.ALL) skip = -2;
      else if (at === OFPG15_BUCKET.FIRST) skip = cur.length ? 0 : -1;
      else if (at === OFPG15_BUCKET.LAST) skip = cur.length - 1;
      else {
        skip = cur.findIndex((b) => b.bucketId === at);
        if (skip < 0) throw new OpenFlowError('OFPGMFC_UNKNOWN_BUCKET', `bucket ${at} of group ${gm.group.groupId}`);
      }
      buckets = skip === -2 ? [] : cur.filter((_, i) => i !== skip);
    } else {
      const after = at <= OFPG15_BUCKET.MAX ? cur.findIndex((b) => b.bucketId === at) : -1;
      if (at <= OFPG15_BUCKET.MAX && after < 0) throw new OpenFlowError('OFPGMFC_UNKNOWN_BUCKET', `bucket ${at} of group ${gm.group.groupId}`);
      const ids = new Set<number>();
      for (const b of [...added, ...cur]) {
        if (ids.has(b.bucketId!)) throw new OpenFlowError('OFPGMFC_BUCKET_EXISTS', `bucket ${b.bucketId} of group ${gm.group.groupId}`);
        ids.add(b.bucketId!);
      }
      if (at === OFPG15_BUCKET.LAST) buckets = [...cur, ...added];
      else if (at === OFPG15_BUCKET.FIRST) buckets = [...added, ...cur];
      else buckets = [...cur.slice(0, after + 1), ...added, ...cur.slice(after + 1)];
    }
    this.sw.modGroup({ ...old.group, buckets });
  }

  /**
   * Group desc, group statistics and group features parts (OFPMP_* in 1.1+, NXST_GROUP* in 1.0,
   * where the descriptions use 1.5's bucket layout with 1.0 actions, as OVS).
   */
  private groupReplies(v: number, mpType: number, body: WireReader, reply: MultipartReply): void {
    const nx = v === OfpVersion.OF10;
    if (mpType === OFPMP.GROUP_FEATURES) {
      checkEmptyRequest(body, 'group features');
      reply.add(encodeGroupFeatures(v));
      return;
    }
    let want: number = OFPG_ALL;
    if (mpType === OFPMP.GROUP) want = decodeIdRequest(body, 'group stats');
    else if ((v >= OfpVersion.OF15 || nx) && body.remaining >= 4) want = body.u32();
    const now = this.sw.clock.now();
    for (const id of [...this.sw.groups.keys()].sort((a, b) => a - b)) {
      if (want !== OFPG_ALL && want !== id) continue;
      const g = this.sw.groups.get(id)!;
      if (mpType === OFPMP.GROUP_DESC) {
        reply.add(encodeGroupDesc(v, g.group, v >= OfpVersion.OF15 || nx));
        continue;
      }
      reply.add(encodeGroupStats({
        groupId: id, refCount: this.users((a) => a.type === 'group' && a.groupId === id), packets: BigInt(g.packets), bytes: BigInt(g.bytes), durationMs: now - g.created,
        buckets: g.buckets.map((b) => ({ packets: BigInt(b.packets), bytes: BigInt(b.bytes) })),
      }));
    }
  }

  /** How many flows refer to a group or meter (group statistics' ref_count, meter statistics' flow_count). */
  private users(pred: (a: Action) => boolean): number {
    let n = 0;
    for (const e of this.sw.flows()) if (someAction(e.flow.instructions.apply, pred) || someAction(e.flow.instructions.writeActions, pred)) n++;
    return n;
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
      portNo: p.number, hwAddr: OfpAgent.hwAddr(p.number), name: p.name,
      config: (p.adminDown || !up ? OFPPC.PORT_DOWN : 0) | (p.noRecv ? OFPPC.NO_RECV : 0) | (p.noFlood ? OFPPC.NO_FLOOD : 0) | (p.noForward ? OFPPC.NO_FWD : 0)
        | (p.noPacketIn ? OFPPC.NO_PACKET_IN : 0),
      state: up ? (live ? OFPPS_LIVE : 0) : OFPPS_LINK_DOWN,
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
      case OFPMP.GROUP_DESC:
      case OFPMP.GROUP:
      case OFPMP.GROUP_FEATURES:
        if (v === OfpVersion.OF10) throw new OpenFlowError('OFPBRC_BAD_STAT', 'group statistics are not OpenFlow 1.0 statistics (NXST_GROUP* are)');
        this.groupReplies(v, q.mpType, q.body, reply);
        break;
      case OFPMP.METER_CONFIG: {
        if (v < OfpVersion.OF13) throw new OpenFlowError('OFPBRC_BAD_STAT', 'meter config before OpenFlow 1.3');
        const want = q.body.remaining >= 4 ? q.body.u32() : OFPM_ALL;
        for (const x of this.sw.meters.list()) if (want === OFPM_ALL || want === x.config.meterId) reply.add(encodeMeterConfig(x.config));
        break;
      }
      case OFPMP.PORT_DESC: {
        // OpenFlow 1.5 names a port (OFPP_ANY: all); earlier versions (1.0 too, OVS's
        // OFPST10_PORT_DESC) have an empty body.
        const want = v >= OfpVersion.OF15 ? decodePortStatsRequest(v, q.body) : OFPP.NONE;
        const w = new WireWriter();
        for (const p of this.portDescs()) if (want === OFPP.NONE || want === p.portNo) putPort(w, v, p);
        reply.add(w.finish());
        break;
      }
      case OFPMP.PORT_STATS: {
        const want = decodePortStatsRequest(v, q.body);
        const now = this.sw.clock.now();
        for (const p of [...this.sw.ports.values()].sort((a, b) => a.number - b.number)) {
          if (want !== OFPP.NONE && want !== p.number) continue;
          const st = p.stats;
          reply.add(encodePortStats(v, {
            portNo: p.number, durationMs: now - p.created, rxPackets: BigInt(st.rxPackets), rxBytes: BigInt(st.rxBytes), txPackets: BigInt(st.txPackets), txBytes: BigInt(st.txBytes),
          }));
        }
        break;
      }
      case OFPMP.QUEUE: {
        // No port has queues to configure; like OVS over a dummy datapath, each port answers for
        // queue 0 with every counter unknown, and any other queue is OFPQOFC_BAD_QUEUE.
        const { port, queue } = decodeQueueStatsRequest(v, q.body);
        if (port !== OFPP.NONE && !this.sw.port(port)) throw new OpenFlowError('OFPQOFC_BAD_PORT', `port ${port}`);
        if (queue !== 0 && queue !== OFPQ_ALL) throw new OpenFlowError('OFPQOFC_BAD_QUEUE', `queue ${queue}`);
        for (const p of [...this.sw.ports.values()].sort((a, b) => a.number - b.number)) if (port === OFPP.NONE || port === p.number) reply.add(encodeQueueStats(v, p.number, 0));
        break;
      }
      case OFPMP.METER: {
        if (v < OfpVersion.OF13) throw new OpenFlowError('OFPBRC_BAD_STAT', 'meter stats before OpenFlow 1.3');
        const want = decodeIdRequest(q.body, 'meter stats');
        if (want !== OFPM_ALL && !this.sw.meters.get(want)) throw new OpenFlowError('OFPMMFC_UNKNOWN_METER', `meter ${want}`);
        const now = this.sw.clock.now();
        for (const x of this.sw.meters.list()) {
          const id = x.config.meterId;
          if (want !== OFPM_ALL && want !== id) continue;
          const st = x.stats();
          reply.add(encodeMeterStats({
            meterId: id, flowCount: this.users((a) => a.type === 'meter' && a.meterId === id), packets: BigInt(st.packets), bytes: BigInt(st.bytes), durationMs: now - x.created,
            bands: st.bands.map((b) => ({ packets: BigInt(b.packets), bytes: BigInt(b.bytes) })),
          }));
        }
        break;
      }
      case OFPMP.METER_FEATURES:
        if (v < OfpVersion.OF13) throw new OpenFlowError('OFPBRC_BAD_STAT', 'meter features before OpenFlow 1.3');
        checkEmptyRequest(q.body, 'meter features');
        // Ids up to OFPM_MAX, drop and dscp_remark bands (OVS's userspace datapath: drop only),
        // kbps/pktps/burst/stats; the band count is not limited (255 is the most the field says).
        reply.add(encodeMeterFeatures({ maxMeter: OFPM_MAX, bandTypes: (1 << 1) | (1 << 2), capabilities: 0xf, maxBands: 255, maxColor: 0 }));
        break;
      case OFPMP.TABLE_DESC: {
        if (v < OfpVersion.OF14) throw new OpenFlowError('OFPBRC_BAD_STAT', 'table desc before OpenFlow 1.4');
        checkEmptyRequest(q.body, 'table desc');
        const counts = new Array<number>(254).fill(0);
        for (const e of this.sw.flows()) if (e.flow.table < 254) counts[e.flow.table]!++;
        for (let t = 0; t < 254; t++) {
          const c = this.tables[t];
          // OVS `oftable_vacancy()` with no flow limit (max_flows UINT_MAX), truncated to a percentage.
          const current = Math.floor(((0xffff_ffff - counts[t]!) * 100) / 0xffff_ffff);
          reply.add(encodeTableDesc({ tableId: t, eviction: c?.eviction ?? false, vacancy: c?.vacancy ?? false, vacancyDown: c?.vacancyDown ?? 0, vacancyUp: c?.vacancyUp ?? 0, current }));
        }
        break;
      }
      default:
        throw new OpenFlowError('OFPBRC_BAD_STAT', `multipart type ${q.mpType}`);
    }
    return reply.finish();
  }
}
