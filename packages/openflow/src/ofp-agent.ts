/**
 * The switch side of OpenFlow connections (OVS `ofproto/connmgr.c` + `ofproto.c`'s message
 * handlers): a `Switch` answers what `ovs-ofctl` and controllers send over any number of
 * `OfpConnection`s. Flow mods go through the same `Switch` calls as the text API (addFlow, modFlows,
 * delFlows with the wire's table, cookie, out_port and out_group filters), so the wire and the text
 * paths check and refuse identically. Packet-ins are sent to every active connection.
 *
 * Handled: ECHO, FEATURES, GET/SET_CONFIG, BARRIER, FLOW_MOD (every command and flag), GROUP_MOD
 * and METER_MOD (add, modify, delete), PACKET_OUT, MULTIPART desc/flow/aggregate/table/
 * table-features/group-desc/meter-config/port-desc. Anything else a switch can receive is refused
 * with OVS's errors (`OFPBRC_BAD_TYPE`, `OFPBRC_BAD_STAT` for another multipart type,
 * `OFPBRC_BAD_VENDOR` for an experimenter message).
 */
import { field } from './fields.js';
import { Match } from './match.js';
import type { Flow } from './ofctl-text.js';
import { OpenFlowError } from './errors.js';
import {
  MultipartReply, OFPGC, OFPG_ALL, OFP_NO_BUFFER, decodeGroupMod, encodeGroupDesc, OFPMC, OFPM_ALL, decodeMeterMod, encodeMeterConfig, OFPFC, OFPMP, OFPT, OFPTT_ALL, decodeFlowMod, decodeFlowStatsRequest, decodeMultipartRequest,
  decodePacketOut, decodeSetConfig, encodeAggregate, encodeConfigReply, encodeDesc, encodeFeaturesReply, encodeFlowStats,
  encodePacketIn, encodeTableStats, msgType, putPort, startMessage, type FlowStatsRequest, type OfpMessage, type PortDesc, type WireFlowMod,
} from './ofp-msgs.js';
import { OfpConnection, type OfpConnectionOptions, type OfpHandler } from './ofp-conn.js';
import { NXFF, NXPIF, NXST, NXT, checkNxVendor, decodeNxFlowMod, decodeNxFlowStatsRequest, decodeNxU32, decodeVendorHeader, encodeNxAggregate, encodeNxFlowStats } from './ofp-nx.js';
import type { FlowEntry } from './pipeline.js';
import type { PacketIn } from './output-log.js';
import { OFPP } from './ports.js';
import type { Switch } from './switch.js';
import { OfpVersion, WireWriter, type WireReader } from './wire-buf.js';

/** Options of an `OfpAgent`. */
export interface OfpAgentOptions {
  /** Datapath id (default 1). */
  datapathId?: bigint;
  /** `ofp_desc` strings (default: Open vSwitch's words for a software switch, with our name). */
  desc?: { mfr: string; hw: string; sw: string; serial: string; dp: string };
}

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
  /** Told of connections and messages (see `OfpAgentObserver`). */
  observer: OfpAgentObserver | undefined;
  private readonly dpid: bigint;
  private readonly desc: NonNullable<OfpAgentOptions['desc']>;
  private xid = 1;

  constructor(
    /** The switch. */
    readonly sw: Switch,
    opts: OfpAgentOptions = {},
  ) {
    this.dpid = opts.datapathId ?? 1n;
    this.desc = opts.desc ?? { mfr: 'ovn-ts', hw: 'ovn-ts software switch', sw: '0.1.0', serial: 'None', dp: 'None' };
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
    for (const c of this.conns) if (c.primary && c.state !== 'closed' && (c.state === 'hello' || c.version < OfpVersion.OF13)) want = true;
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
    for (const c of this.conns) {
      // A service connection gets packet-ins only once it asked with a miss_send_len (OVS
      // `ofconn_receives_async_msg()`).
      if (c.state !== 'active' || (!c.primary && c.missSendLen === 0)) continue;
      c.notify(encodePacketIn(c.version, this.xid++, {
        data: pi.frame.slice(), totalLen: pi.totalLen, reason: REASON_NUM[pi.reason] ?? 1, tableId: pi.tableId, cookie: pi.cookie, match,
      }));
    }
  }

  /** Answer one message (OfpHandler). */
  handle(m: OfpMessage, conn: OfpConnection): Uint8Array[] {
    this.observer?.received?.(m, conn);
    const v = m.version;
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
        return [encodeConfigReply(v, m.xid, this.configFlags, conn.missSendLen)];
      case OFPT.SET_CONFIG: {
        const c = decodeSetConfig(m);
        this.configFlags = c.flags;
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
    const out: PortDesc[] = [];
    for (const p of [...this.sw.ports.values()].sort((a, b) => a.number - b.number)) {
      out.push({
        portNo: p.number, hwAddr: 0x0200_0000_0000n + BigInt(p.number & 0xffff), name: p.name,
        config: (p.noFlood ? 0x10 : 0) | (p.noForward ? 0x20 : 0), state: p.up ? 0 : 1, currSpeed: 0, maxSpeed: 0,
      });
    }
    return out;
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
