/**
 * Configuration and statistics messages on the wire, as OVS 3.1's lib/ofp-port.c, ofp-table.c,
 * ofp-group.c and ofp-meter.c write and read them: PORT_MOD and TABLE_MOD (decoded with OVS's
 * errors), and the statistics bodies of port, queue, group, group features, meter, meter features
 * and table desc replies in OpenFlow 1.0 (ports and queues only) and 1.3-1.5 layouts.
 *
 * Statistics a switch does not count are "all ones" on the wire (OVS's unknown, printed `?`),
 * as OVS reports what its dummy datapath does not count.
 */
import { OpenFlowError } from './errors.js';
import { portFrom11Checked, portTo11 } from './field-codec.js';
import { OFPT, OFPT10, startMessage, type OfpMessage } from './ofp-msgs.js';
import { OFPP } from './ports.js';
import { OfpVersion, WireWriter, type WireReader } from './wire-buf.js';

/** OpenFlow 1.0's groups as Nicira messages (OVS 3.1): NXT_GROUP_MOD and the NXST group statistics subtypes. */
export const NX_GROUP = { GROUP_MOD: 31, STATS: 7, DESC: 8, FEATURES: 9 } as const;

/** All ones: a counter the switch does not keep (OVS prints `?`). */
export const UNKNOWN64 = 0xffff_ffff_ffff_ffffn;
/** OFPQ_ALL: every queue. */
export const OFPQ_ALL = 0xffff_ffff;

/** `OFPPC_*` port configuration bits (OpenFlow 1.0 numbering; 1.1+ drops NO_STP, NO_RECV_STP, NO_FLOOD). */
export const OFPPC = { PORT_DOWN: 1, NO_STP: 2, NO_RECV: 4, NO_RECV_STP: 8, NO_FLOOD: 0x10, NO_FWD: 0x20, NO_PACKET_IN: 0x40 } as const;
/** The configuration bits a version carries (OVS `OFPPC10_ALL`, `OFPPC11_ALL`). */
export function portConfigMask(version: number): number {
  return version === OfpVersion.OF10 ? 0x7f : OFPPC.PORT_DOWN | OFPPC.NO_RECV | OFPPC.NO_FWD | OFPPC.NO_PACKET_IN;
}

/** A decoded PORT_MOD (`ofputil_port_mod`; `config` already masked, as OVS). */
export interface WirePortMod {
  /** Port (16-bit form). */
  portNo: number;
  /** The port's hardware address as the sender believes it. */
  hwAddr: bigint;
  /** New values of the bits in `mask`. */
  config: number;
  /** The bits to change. */
  mask: number;
}

/** Decode a PORT_MOD (`ofp10_port_mod`, `ofp11_port_mod`, `ofp14_port_mod` with properties). */
export function decodePortMod(m: OfpMessage): WirePortMod {
  const r = m.body;
  const v = m.version;
  const all = portConfigMask(v);
  if (v === OfpVersion.OF10) {
    if (r.remaining !== 24) throw new OpenFlowError('OFPBRC_BAD_LEN', `PORT_MOD body of ${r.remaining} bytes`);
    const portNo = r.u16();
    const hwAddr = r.uN(6);
    const config = r.u32() & all;
    const mask = r.u32() & all;
    return { portNo, hwAddr, config: config & mask, mask };
  }
  const fixed = v >= OfpVersion.OF14 ? 24 : 32;
  if (v >= OfpVersion.OF14 ? r.remaining < fixed : r.remaining !== fixed) throw new OpenFlowError('OFPBRC_BAD_LEN', `PORT_MOD body of ${r.remaining} bytes`);
  const portNo = portFrom11Checked(r.u32(), 'OFPBRC_BAD_PORT');
  r.skip(4);
  const hwAddr = r.uN(6);
  r.skip(2);
  const config = r.u32() & all;
  const mask = r.u32() & all;
  if (v < OfpVersion.OF14) r.skip(8); // advertise, pad
  else {
    // OFPPMPT14_ETHERNET (advertise) is the one property OVS knows; anything else is OFPBPC_BAD_TYPE.
    while (r.remaining > 0) {
      if (r.remaining < 4) throw new OpenFlowError('OFPBPC_BAD_LEN', 'truncated port_mod property');
      const type = r.u16();
      const len = r.u16();
      if (len < 4 || len - 4 > r.remaining) throw new OpenFlowError('OFPBPC_BAD_LEN', `port_mod property ${type} of length ${len}`);
      r.skip(Math.min(r.remaining, ((len + 7) & ~7) - 4));
      if (type === 0) {
        if (len !== 8) throw new OpenFlowError('OFPBPC_BAD_LEN', `port_mod ethernet property of length ${len}`);
      } else throw new OpenFlowError('OFPBPC_BAD_TYPE', `port_mod property ${type}`);
    }
  }
  return { portNo, hwAddr, config: config & mask, mask };
}

/** Encode a PORT_MOD (what `ovs-ofctl mod-port` sends). */
export function encodePortMod(version: number, xid: number, pm: WirePortMod): Uint8Array {
  const msg = startMessage(version, version === OfpVersion.OF10 ? OFPT10.PORT_MOD : OFPT.PORT_MOD, xid);
  const w = msg.w;
  if (version === OfpVersion.OF10) w.u16(pm.portNo).uN(pm.hwAddr, 6).u32(pm.config).u32(pm.mask).u32(0).zeros(4);
  else {
    w.u32(portTo11(pm.portNo)).zeros(4).uN(pm.hwAddr, 6).zeros(2).u32(pm.config).u32(pm.mask);
    if (version < OfpVersion.OF14) w.u32(0).zeros(4);
  }
  return msg.done();
}

/** Eviction/vacancy settings of a TABLE_MOD (`ofputil_table_mod`; undefined: unchanged). */
export interface WireTableMod {
  /** Table, or 255 for all. */
  tableId: number;
  /** Eviction on/off (OpenFlow 1.4+). */
  eviction?: boolean;
  /** Vacancy events on/off (1.4+). */
  vacancy?: boolean;
  /** Vacancy thresholds (percent; 0 without a vacancy property). */
  vacancyDown?: number;
  /** Vacancy thresholds (percent). */
  vacancyUp?: number;
}

/** OFPTC14_EVICTION / OFPTC14_VACANCY_EVENTS. */
const OFPTC14_EVICTION = 4;
const OFPTC14_VACANCY_EVENTS = 8;
/** OVS's fixed eviction flags (`OFPROTO_EVICTION_FLAGS`: OTHER | IMPORTANCE | LIFETIME). */
export const OVS_EVICTION_FLAGS = 7;

/**
 * Decode a TABLE_MOD (`ofp11_table_mod`, which OpenFlow 1.3 makes a no-op; `ofp14_table_mod` with
 * eviction and vacancy properties). As OVS 3.1's `ofputil_decode_table_mod()`, the eviction
 * property's value lands in the eviction setting itself (1 on, 2 off, anything else unchanged),
 * not in the eviction flags, so OVS never refuses a TABLE_MOD for its eviction flags.
 */
export function decodeTableMod(m: OfpMessage): WireTableMod {
  const r = m.body;
  const v = m.version;
  if (v === OfpVersion.OF10) throw new OpenFlowError('OFPBRC_BAD_TYPE', 'TABLE_MOD in OpenFlow 1.0');
  if (v < OfpVersion.OF14 ? r.remaining !== 8 : r.remaining < 8) throw new OpenFlowError('OFPBRC_BAD_LEN', `TABLE_MOD body of ${r.remaining} bytes`);
  const tableId = r.u8();
  r.skip(3);
  const config = r.u32();
  if (v < OfpVersion.OF14) return { tableId };
  const tm: WireTableMod = { tableId, eviction: (config & OFPTC14_EVICTION) !== 0, vacancy: (config & OFPTC14_VACANCY_EVENTS) !== 0, vacancyDown: 0, vacancyUp: 0 };
  while (r.remaining > 0) {
    if (r.remaining < 4) throw new OpenFlowError('OFPBPC_BAD_LEN', 'truncated table_mod property');
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining) throw new OpenFlowError('OFPBPC_BAD_LEN', `table_mod property ${type} of length ${len}`);
    const body = r.sub(len - 4);
    r.skip(Math.min(r.remaining, ((len + 7) & ~7) - len));
    if (type === 2) {
      if (len !== 8) throw new OpenFlowError('OFPBPC_BAD_LEN', `eviction property of length ${len}`);
      const x = body.u32();
      if (x === 1) tm.eviction = true;
      else if (x === 2) tm.eviction = false;
      else delete tm.eviction;
    } else if (type === 3) {
      if (len !== 8) throw new OpenFlowError('OFPBPC_BAD_LEN', `vacancy property of length ${len}`);
      const down = body.u8();
      const up = body.u8();
      const cur = body.u8();
      if (down > up) throw new OpenFlowError('OFPBPC_BAD_VALUE', 'vacancy_down is greater than vacancy_up');
      if (down > 100 || up > 100) throw new OpenFlowError('OFPBPC_BAD_VALUE', 'vacancy threshold over 100%');
      if (cur !== 0) throw new OpenFlowError('OFPBPC_BAD_VALUE', 'vacancy must be zero in a table-mod');
      tm.vacancyDown = down;
      tm.vacancyUp = up;
    } else throw new OpenFlowError('OFPBRC_BAD_TYPE', `table_mod property ${type}`);
  }
  return tm;
}

/** One table's configuration as a table-desc reply part (`ofp14_table_desc`) describes it. */
export interface TableDesc {
  /** Table. */
  tableId: number;
  /** Eviction on. */
  eviction: boolean;
  /** Vacancy events on. */
  vacancy: boolean;
  /** Thresholds (percent). */
  vacancyDown: number;
  /** Thresholds (percent). */
  vacancyUp: number;
  /** Current vacancy (percent). */
  current: number;
}

/** One `ofp14_table_desc` (OVS always adds its eviction flags, and the vacancy property when on). */
export function encodeTableDesc(t: TableDesc): Uint8Array {
  const w = new WireWriter(32);
  w.u16(0).u8(t.tableId).u8(0).u32((t.eviction ? OFPTC14_EVICTION : 0) | (t.vacancy ? OFPTC14_VACANCY_EVENTS : 0));
  w.u16(2).u16(8).u32(OVS_EVICTION_FLAGS);
  if (t.vacancy) w.u16(3).u16(8).u8(t.vacancyDown).u8(t.vacancyUp).u8(t.current).u8(0);
  w.setU16(0, w.len);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Check a statistics request body of a fixed size (OVS `ofpraw_check_length`: OFPBRC_BAD_LEN). */
function fixedBody(r: WireReader, n: number, what: string): void {
  if (r.remaining !== n) throw new OpenFlowError('OFPBRC_BAD_LEN', `${what} request body of ${r.remaining} bytes`);
}

/** The port of a port-stats (or port-desc) request (OFPP.NONE: all ports). */
export function decodePortStatsRequest(version: number, r: WireReader): number {
  fixedBody(r, 8, 'port stats');
  if (version === OfpVersion.OF10) return r.u16();
  return portFrom11Checked(r.u32(), 'OFPBRC_BAD_PORT');
}

/** The port and queue of a queue-stats request. */
export function decodeQueueStatsRequest(version: number, r: WireReader): { port: number; queue: number } {
  fixedBody(r, 8, 'queue stats');
  if (version === OfpVersion.OF10) {
    const port = r.u16();
    r.skip(2);
    // OpenFlow 1.0's OFPP_ALL means every port here (OVS maps it to OFPP_ANY).
    return { port: port === OFPP.ALL ? OFPP.NONE : port, queue: r.u32() };
  }
  const port = portFrom11Checked(r.u32(), 'OFPQOFC_BAD_PORT');
  return { port, queue: r.u32() };
}

/** The group or meter id of a group/meter statistics request (8 bytes: id, padding). */
export function decodeIdRequest(r: WireReader, what: string): number {
  fixedBody(r, 8, what);
  return r.u32();
}

/** A request with an empty body (group features, meter features, table desc). */
export function checkEmptyRequest(r: WireReader, what: string): void {
  fixedBody(r, 0, what);
}

// ---------------------------------------------------------------------------------------------
// Replies

/** One port's counters (`ofputil_port_stats`); `undefined` counters go out as unknown. */
export interface PortStatsEntry {
  /** Port (16-bit form). */
  portNo: number;
  /** Milliseconds since the port was added. */
  durationMs: number;
  /** Counters the switch keeps. */
  rxPackets: bigint;
  /** Bytes received. */
  rxBytes: bigint;
  /** Frames sent. */
  txPackets: bigint;
  /** Bytes sent. */
  txBytes: bigint;
}

function secNsec(ms: number): [number, number] {
  return [Math.floor(ms / 1000), Math.floor((ms % 1000) * 1_000_000)];
}

/** One port statistics part (`ofp10_port_stats`, `ofp13_port_stats`, `ofp14_port_stats` with properties). */
export function encodePortStats(version: number, s: PortStatsEntry): Uint8Array {
  const w = new WireWriter(256);
  const [sec, nsec] = secNsec(s.durationMs);
  const counters = (): void => {
    w.u64(s.rxPackets).u64(s.txPackets).u64(s.rxBytes).u64(s.txBytes);
    for (let i = 0; i < 4; i++) w.u64(UNKNOWN64); // rx/tx dropped, rx/tx errors
  };
  if (version === OfpVersion.OF10) {
    w.u16(s.portNo).zeros(6);
    counters();
    for (let i = 0; i < 4; i++) w.u64(UNKNOWN64); // frame, over, crc errors, collisions
  } else if (version <= OfpVersion.OF13) {
    w.u32(portTo11(s.portNo)).zeros(4);
    counters();
    for (let i = 0; i < 4; i++) w.u64(UNKNOWN64);
    w.u32(sec).u32(nsec);
  } else {
    w.u16(0).zeros(2).u32(portTo11(s.portNo)).u32(sec).u32(nsec);
    counters();
    // OFPPSPT14_ETHERNET, then OVS's Intel RFC 2819 experimenter property (always present).
    w.u16(0).u16(40).zeros(4);
    for (let i = 0; i < 4; i++) w.u64(UNKNOWN64);
    w.u16(0xffff).u16(184).u32(0x0000_aa01).u32(1).zeros(4);
    for (let i = 0; i < 21; i++) w.u64(UNKNOWN64);
    w.setU16(0, w.len);
  }
  return w.finish();
}

/** One queue statistics part for a queue the switch does not count (every counter unknown). */
export function encodeQueueStats(version: number, port: number, queue: number): Uint8Array {
  const w = new WireWriter(48);
  if (version === OfpVersion.OF10) w.u16(port).zeros(2).u32(queue);
  else {
    if (version >= OfpVersion.OF14) w.u16(48).zeros(6);
    w.u32(portTo11(port)).u32(queue);
  }
  w.u64(UNKNOWN64).u64(UNKNOWN64).u64(UNKNOWN64);
  if (version >= OfpVersion.OF13) w.u32(0xffff_ffff).u32(0xffff_ffff);
  return w.finish();
}

/** One group's counters. */
export interface GroupStatsEntry {
  /** Group id. */
  groupId: number;
  /** Flows that refer to it. */
  refCount: number;
  /** Packets. */
  packets: bigint;
  /** Bytes. */
  bytes: bigint;
  /** Milliseconds since the group was added. */
  durationMs: number;
  /** Per bucket, in order. */
  buckets: ReadonlyArray<{ packets: bigint; bytes: bigint }>;
}

/** One group statistics part (`ofp13_group_stats`; NXST_GROUP uses the same layout). */
export function encodeGroupStats(g: GroupStatsEntry): Uint8Array {
  const w = new WireWriter(40 + 16 * g.buckets.length);
  const [sec, nsec] = secNsec(g.durationMs);
  w.u16(0).zeros(2).u32(g.groupId).u32(g.refCount).zeros(4).u64(g.packets).u64(g.bytes).u32(sec).u32(nsec);
  for (const b of g.buckets) w.u64(b.packets).u64(b.bytes);
  w.setU16(0, w.len);
  return w.finish();
}

/**
 * The group features reply body (`ofp12_group_features_stats`) OVS sends: every group type,
 * select weight/liveness and chaining, 0xffffff00 groups of each type, and the action bitmap in
 * the version's action numbering (OpenFlow 1.0's for NXST_GROUP_FEATURES).
 */
export function encodeGroupFeatures(version: number): Uint8Array {
  // 1.1+: OUTPUT, SET_MPLS_TTL, DEC_MPLS_TTL, PUSH_VLAN, POP_VLAN, PUSH_MPLS, POP_MPLS, SET_QUEUE,
  // GROUP, SET_NW_TTL, DEC_NW_TTL, SET_FIELD. 1.0: OUTPUT through ENQUEUE (0..11).
  const bits11 = [0, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25].reduce((a, b) => a | (1 << b), 0) >>> 0;
  const actions = version === OfpVersion.OF10 ? 0xfff : bits11;
  const w = new WireWriter(40);
  w.u32(0xf).u32(0x7);
  for (let i = 0; i < 4; i++) w.u32(0xffff_ff00);
  for (let i = 0; i < 4; i++) w.u32(actions);
  return w.finish();
}

/** One meter's counters. */
export interface MeterStatsEntry {
  /** Meter id. */
  meterId: number;
  /** Flows that use it. */
  flowCount: number;
  /** Packets metered. */
  packets: bigint;
  /** Their bytes. */
  bytes: bigint;
  /** Milliseconds since the meter was added (or last modified). */
  durationMs: number;
  /** Per band: packets and bytes that fired it. */
  bands: ReadonlyArray<{ packets: bigint; bytes: bigint }>;
}

/** One meter statistics part (`ofp13_meter_stats`). */
export function encodeMeterStats(s: MeterStatsEntry): Uint8Array {
  const w = new WireWriter(40 + 16 * s.bands.length);
  const [sec, nsec] = secNsec(s.durationMs);
  w.u32(s.meterId).u16(0).zeros(6).u32(s.flowCount).u64(s.packets).u64(s.bytes).u32(sec).u32(nsec);
  for (const b of s.bands) w.u64(b.packets).u64(b.bytes);
  w.setU16(4, w.len);
  return w.finish();
}

/** What a switch's meters can do (`ofp13_meter_features`). */
export interface MeterFeatures {
  /** Largest meter id. */
  maxMeter: number;
  /** `1 << OFPMBT13_*` of the band types. */
  bandTypes: number;
  /** `OFPMF13_*` flags supported. */
  capabilities: number;
  /** Bands per meter. */
  maxBands: number;
  /** Color values. */
  maxColor: number;
}

/** The meter features reply body. */
export function encodeMeterFeatures(f: MeterFeatures): Uint8Array {
  return new WireWriter(16).u32(f.maxMeter).u32(f.bandTypes).u32(f.capabilities).u8(f.maxBands).u8(f.maxColor).zeros(2).finish();
}
