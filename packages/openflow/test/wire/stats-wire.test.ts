/**
 * Unit tests of the configuration and statistics messages (no OVS needed): PORT_MOD and the
 * forwarding it changes, TABLE_MOD and table desc, port/queue/group/meter statistics bodies, group
 * and meter features, OpenFlow 1.5 insert/remove bucket, replies split at 64 kB, and the errors
 * of malformed versions. The differential against ovs-vswitchd is ofctl-stats.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { PacketBuilder } from '@ovnts/packet';
import {
  OFPGC, OFPG15_BUCKET, OFPMP, OFPPC, OFPT, OfpVersion, OpenFlowError, decodePortMod, decodeTableMod, encodeGroupMod,
  encodePortMod, frameMessage, parseActionList, type Action, type WirePortMod,
} from '@ovnts/openflow';
import { agentSession } from './agent-session.js';

const session = agentSession;

function msg(version: number, type: number, xid: number, body: number[]): Uint8Array {
  const len = 8 + body.length;
  return Uint8Array.from([version, type, len >> 8, len & 0xff, 0, 0, 0, xid, ...body]);
}

function mpRequest(version: number, mpType: number, body: number[], xid = 9): Uint8Array {
  return msg(version, version === OfpVersion.OF10 ? 16 : 18, xid, [mpType >> 8, mpType & 0xff, 0, 0, ...(version === OfpVersion.OF10 ? [] : [0, 0, 0, 0]), ...body]);
}

const u32 = (x: number): number[] => [x >>> 24, (x >> 16) & 0xff, (x >> 8) & 0xff, x & 0xff];

/** The error type/code of an ERROR reply, or undefined. */
function errorOf(m: Uint8Array | undefined): [number, number] | undefined {
  if (!m || m[1] !== OFPT.ERROR) return undefined;
  const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
  return [v.getUint16(8), v.getUint16(10)];
}

/** The bodies of a multipart reply (after the multipart header). */
function replyBody(m: Uint8Array): DataView {
  const hdr = m[0] === OfpVersion.OF10 ? 12 : 16;
  return new DataView(m.buffer, m.byteOffset + hdr, m.byteLength - hdr);
}

const acts = (text: string): Action[] => parseActionList(text, text, 0, { hasVlan: false, nwProto: -1 });

const HW = (port: number): bigint => 0x0200_0000_0000n + BigInt(port);

describe('configuration and statistics messages', () => {
  it('PORT_MOD sets the config bits the switch forwards by, and refuses an unknown port or a wrong address', () => {
    for (const v of [OfpVersion.OF10, OfpVersion.OF13, OfpVersion.OF14, OfpVersion.OF15]) {
      const s = session(v);
      const pm = (portNo: number, config: number, mask: number, hwAddr = HW(portNo)): Uint8Array[] => s.feed(encodePortMod(v, 3, { portNo, hwAddr, config, mask }));
      expect(pm(2, OFPPC.NO_FWD, OFPPC.NO_FWD)).toEqual([]);
      expect(s.sw.port(2)!.noForward).toBe(true);
      expect(pm(2, 0, OFPPC.NO_FWD)).toEqual([]);
      expect(s.sw.port(2)!.noForward).toBe(false);
      expect(pm(3, OFPPC.PORT_DOWN | OFPPC.NO_RECV, OFPPC.PORT_DOWN | OFPPC.NO_RECV)).toEqual([]);
      expect([s.sw.port(3)!.up, s.sw.port(3)!.adminDown, s.sw.port(3)!.noRecv]).toEqual([false, true, true]);
      // A config bit outside the mask changes nothing.
      expect(pm(1, OFPPC.NO_RECV, 0)).toEqual([]);
      expect(s.sw.port(1)!.noRecv).toBe(false);
      const bad = v === OfpVersion.OF10 ? 4 : 7;
      expect(errorOf(pm(9, 0, 1, HW(9))[0])).toEqual([bad, 0]); // OFPPMFC_BAD_PORT
      expect(errorOf(pm(1, 0, 1, 0x0a0b0c0d0e0fn)[0])).toEqual([bad, 1]); // OFPPMFC_BAD_HW_ADDR
      // NO_FLOOD is an OpenFlow 1.0 bit only (OFPPC11_ALL leaves it out).
      pm(1, OFPPC.NO_FLOOD, OFPPC.NO_FLOOD);
      expect(s.sw.port(1)!.noFlood).toBe(v === OfpVersion.OF10);
    }
  });

  it('a port reconfigured by PORT_MOD forwards as OVS: no_fwd and no_flood skip it, no_recv credits table 0 and runs nothing', () => {
    const s = session(OfpVersion.OF13, [1, 2, 3, 4]);
    const sent: number[] = [];
    s.sw.onOutput = (port) => sent.push(port);
    s.sw.addFlow('table=0,priority=5,in_port=1,actions=FLOOD');
    const from4 = s.sw.addFlow('table=0,priority=5,in_port=4,actions=output:2,output:3');
    const frame = new PacketBuilder().ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1, dstPort: 2 }).build();
    const pm = (portNo: number, config: number, mask: number): void => {
      expect(s.feed(encodePortMod(OfpVersion.OF13, 1, { portNo, hwAddr: HW(portNo), config, mask }))).toEqual([]);
    };
    pm(2, OFPPC.NO_FWD, OFPPC.NO_FWD);
    // NO_FLOOD is OpenFlow 1.0's (ovs-ofctl -O OpenFlow10 mod-port no-flood): the switch method it calls.
    s.sw.setPortConfig(3, { noFlood: true });
    s.sw.receive(1, frame);
    expect(sent).toEqual([0xfffe, 4]); // LOCAL, then 4: not 2 (no_fwd) nor 3 (no_flood)
    sent.length = 0;
    s.sw.receive(4, frame);
    expect(sent).toEqual([3]);
    pm(4, OFPPC.NO_RECV, OFPPC.NO_RECV);
    sent.length = 0;
    const before = from4.packets;
    s.sw.receive(4, frame);
    expect(sent).toEqual([]);
    expect(from4.packets).toBe(before + 1);
    expect(s.sw.port(4)!.stats.rxPackets).toBe(2);
  });

  it('port statistics: counters, unknowns as all ones, one port or all, each version\'s layout', () => {
    for (const [v, size] of [[OfpVersion.OF10, 104], [OfpVersion.OF13, 112], [OfpVersion.OF14, 80 + 40 + 184], [OfpVersion.OF15, 80 + 40 + 184]] as const) {
      const s = session(v);
      s.sw.addFlow('table=0,actions=output:2');
      const frame = new Uint8Array(60);
      s.sw.receive(1, frame);
      const all = s.feed(mpRequest(v, OFPMP.PORT_STATS, v === OfpVersion.OF10 ? [0xff, 0xff, 0, 0, 0, 0, 0, 0] : [...u32(0xffffffff), 0, 0, 0, 0]));
      expect(all).toHaveLength(1);
      expect(replyBody(all[0]!).byteLength).toBe(4 * size); // LOCAL and 1..3
      const one = s.feed(mpRequest(v, OFPMP.PORT_STATS, v === OfpVersion.OF10 ? [0, 2, 0, 0, 0, 0, 0, 0] : [...u32(2), 0, 0, 0, 0]));
      const b = replyBody(one[0]!);
      expect(b.byteLength).toBe(size);
      const at = v >= OfpVersion.OF14 ? 16 : 8; // rx_packets
      expect([b.getBigUint64(at), b.getBigUint64(at + 8), b.getBigUint64(at + 16), b.getBigUint64(at + 24)]).toEqual([0n, 1n, 0n, 60n]);
      expect(b.getBigUint64(at + 32)).toBe(0xffff_ffff_ffff_ffffn); // rx_dropped: not counted
      expect(errorOf(s.feed(mpRequest(v, OFPMP.PORT_STATS, [0, 1]))[0])).toEqual([1, 6]); // OFPBRC_BAD_LEN
    }
  });

  it('queue statistics: queue 0 of each port with unknown counters, OFPQOFC errors otherwise', () => {
    const s = session(OfpVersion.OF13);
    const r = s.feed(mpRequest(OfpVersion.OF13, OFPMP.QUEUE, [...u32(0xffffffff), ...u32(0xffffffff)]));
    expect(replyBody(r[0]!).byteLength).toBe(4 * 40);
    expect(errorOf(s.feed(mpRequest(OfpVersion.OF13, OFPMP.QUEUE, [...u32(2), ...u32(1)]))[0])).toEqual([9, 1]);
    expect(errorOf(s.feed(mpRequest(OfpVersion.OF13, OFPMP.QUEUE, [...u32(7), ...u32(0)]))[0])).toEqual([9, 0]);
  });

  it('TABLE_MOD keeps eviction and vacancy per table; table desc reports them; table 254 is read-only', () => {
    const s = session(OfpVersion.OF14);
    const tableMod = (table: number, config: number, props: number[] = []): Uint8Array[] => s.feed(msg(OfpVersion.OF14, OFPT.TABLE_MOD, 2, [table, 0, 0, 0, ...u32(config), ...props]));
    expect(tableMod(3, 4 | 8, [0, 3, 0, 8, 10, 20, 0, 0])).toEqual([]);
    expect(s.agent.tables[3]).toEqual({ eviction: true, vacancy: true, vacancyDown: 10, vacancyUp: 20 });
    expect(tableMod(255, 0)).toEqual([]);
    expect(s.agent.tables[3]).toEqual({ eviction: false, vacancy: false, vacancyDown: 0, vacancyUp: 0 });
    tableMod(1, 8, [0, 3, 0, 8, 5, 50, 0, 0]);
    const desc = s.feed(mpRequest(OfpVersion.OF14, OFPMP.TABLE_DESC, []));
    const b = replyBody(desc[0]!);
    // Table 0: 16 bytes (header + eviction flags); table 1: 24 (with the vacancy property).
    expect(b.getUint16(0)).toBe(16);
    expect(b.getUint16(16)).toBe(24);
    expect([b.getUint8(16 + 20), b.getUint8(16 + 21), b.getUint8(16 + 22)]).toEqual([5, 50, 100]);
    expect(errorOf(tableMod(254, 0)[0])).toEqual([8, 2]); // OFPTMFC_EPERM
    expect(errorOf(tableMod(0, 0, [0, 3, 0, 8, 60, 20, 0, 0])[0])).toEqual([14, 2]); // OFPBPC_BAD_VALUE
    expect(() => decodeTableMod(frameMessage(msg(OfpVersion.OF13, OFPT.TABLE_MOD, 1, [0, 0, 0, 0])))).toThrow(OpenFlowError);
  });

  it('group and meter statistics count what ran through them; features describe the switch', () => {
    const s = session(OfpVersion.OF13);
    s.sw.addGroup('group_id=1,type=all,bucket=output:2,bucket=output:3');
    s.sw.addMeter('meter=4,pktps,stats,bands=type=drop,rate=1000');
    s.sw.addFlow('table=0,in_port=1,actions=meter:4,group:1');
    s.sw.receive(1, new Uint8Array(64));
    s.sw.receive(1, new Uint8Array(64));
    const g = replyBody(s.feed(mpRequest(OfpVersion.OF13, OFPMP.GROUP, [...u32(0xfffffffc), 0, 0, 0, 0]))[0]!);
    expect([g.getUint16(0), g.getUint32(4), g.getUint32(8), g.getBigUint64(16), g.getBigUint64(24)]).toEqual([40 + 32, 1, 1, 2n, 128n]);
    expect([g.getBigUint64(40), g.getBigUint64(48), g.getBigUint64(56)]).toEqual([2n, 128n, 2n]);
    const m = replyBody(s.feed(mpRequest(OfpVersion.OF13, OFPMP.METER, [...u32(4), 0, 0, 0, 0]))[0]!);
    expect([m.getUint32(0), m.getUint16(4), m.getUint32(12), m.getBigUint64(16), m.getBigUint64(24)]).toEqual([4, 56, 1, 2n, 128n]);
    expect(errorOf(s.feed(mpRequest(OfpVersion.OF13, OFPMP.METER, [...u32(5), 0, 0, 0, 0]))[0])).toEqual([12, 3]); // OFPMMFC_UNKNOWN_METER
    const f = replyBody(s.feed(mpRequest(OfpVersion.OF13, OFPMP.GROUP_FEATURES, []))[0]!);
    expect([f.getUint32(0), f.getUint32(4), f.getUint32(8)]).toEqual([0xf, 0x7, 0xffffff00]);
    const mf = replyBody(s.feed(mpRequest(OfpVersion.OF13, OFPMP.METER_FEATURES, []))[0]!);
    expect([mf.getUint32(4), mf.getUint32(8)]).toEqual([6, 0xf]);
    // No group statistics in OpenFlow 1.0 (NXST_GROUP is the Nicira form).
    const s10 = session(OfpVersion.OF10);
    expect(errorOf(s10.feed(mpRequest(OfpVersion.OF10, OFPMP.GROUP, [...u32(0xfffffffc), 0, 0, 0, 0]))[0])).toEqual([1, 2]);
  });

  it('OpenFlow 1.5 insert and remove bucket: first, last, after a bucket, and OVS\'s errors', () => {
    const s = session(OfpVersion.OF15);
    s.sw.addGroup({ groupId: 1, type: 'all', buckets: [{ bucketId: 1, actions: acts('output:2') }, { bucketId: 5, actions: acts('output:3') }] });
    const gm = (command: number, at: number, ids: number[], groupId = 1): Uint8Array[] =>
      s.feed(encodeGroupMod(OfpVersion.OF15, 4, { command, commandBucketId: at, group: { groupId, type: 'all', buckets: ids.map((id) => ({ bucketId: id, actions: acts('output:1') })) } }));
    const ids = (): number[] => s.sw.groups.get(1)!.group.buckets.map((b) => b.bucketId!);
    expect(gm(OFPGC.INSERT_BUCKET, OFPG15_BUCKET.FIRST, [7])).toEqual([]);
    expect(gm(OFPGC.INSERT_BUCKET, OFPG15_BUCKET.LAST, [8])).toEqual([]);
    expect(gm(OFPGC.INSERT_BUCKET, 5, [9, 10])).toEqual([]);
    expect(ids()).toEqual([7, 1, 5, 9, 10, 8]);
    expect(errorOf(gm(OFPGC.INSERT_BUCKET, 5, [9])[0])).toEqual([6, 16]); // OFPGMFC_BUCKET_EXISTS
    expect(errorOf(gm(OFPGC.INSERT_BUCKET, 44, [11])[0])).toEqual([6, 15]); // OFPGMFC_UNKNOWN_BUCKET
    expect(errorOf(gm(OFPGC.INSERT_BUCKET, OFPG15_BUCKET.FIRST, [11], 3)[0])).toEqual([6, 8]); // OFPGMFC_UNKNOWN_GROUP
    expect(errorOf(gm(OFPGC.INSERT_BUCKET, OFPG15_BUCKET.ALL, [11])[0])).toEqual([6, 12]); // OFPGMFC_BAD_BUCKET
    expect(gm(OFPGC.REMOVE_BUCKET, 9, [])).toEqual([]);
    expect(gm(OFPGC.REMOVE_BUCKET, OFPG15_BUCKET.FIRST, [])).toEqual([]);
    expect(gm(OFPGC.REMOVE_BUCKET, OFPG15_BUCKET.LAST, [])).toEqual([]);
    expect(ids()).toEqual([1, 5, 10]);
    expect(errorOf(gm(OFPGC.REMOVE_BUCKET, 1, [3])[0])).toEqual([6, 12]); // remove with buckets: OFPGMFC_BAD_BUCKET
    expect(errorOf(gm(OFPGC.REMOVE_BUCKET, 44, [])[0])).toEqual([6, 15]);
    expect(gm(OFPGC.REMOVE_BUCKET, OFPG15_BUCKET.ALL, [])).toEqual([]);
    expect(ids()).toEqual([]);
  });

  it('OpenFlow 1.0 groups: NXT_GROUP_MOD adds a group, NXST_GROUP_DESC and NXST_GROUP list it, elsewhere they are refused', () => {
    const s = session(OfpVersion.OF10);
    // nicira_header + ofp15_group_mod (add, type all, group 6, no buckets, command bucket id ALL).
    const nxGroupMod = (v: number): Uint8Array => msg(v, 4, 3, [0, 0, 0x23, 0x20, ...u32(31), 0, 0, 0, 0, ...u32(6), 0, 0, 0, 0, ...u32(0xffffffff)]);
    expect(s.feed(nxGroupMod(OfpVersion.OF10))).toEqual([]);
    expect([...s.sw.groups.keys()]).toEqual([6]);
    // nicira10_stats_msg: vendor, subtype, 4 bytes of padding, then the request body.
    const nxst = (subtype: number, body: number[]): Uint8Array => mpRequest(OfpVersion.OF10, 0xffff, [0, 0, 0x23, 0x20, ...u32(subtype), 0, 0, 0, 0, ...body]);
    const desc = s.feed(nxst(8, [...u32(0xfffffffc), 0, 0, 0, 0]));
    expect(desc).toHaveLength(1);
    expect(new DataView(desc[0]!.buffer, desc[0]!.byteOffset).getUint32(28)).toBe(6); // after the 24-byte NXST header: length, type, pad, group id
    const stats = s.feed(nxst(7, [...u32(6), 0, 0, 0, 0]));
    expect(desc[0]!.length).toBe(24 + 16);
    expect(stats[0]!.length).toBe(24 + 40);
    expect(s.feed(nxst(9, []))[0]!.length).toBe(24 + 40);
    // NXT_GROUP_MOD is an OpenFlow 1.0 message only (OFPBRC_BAD_SUBTYPE in 1.3).
    expect(errorOf(session(OfpVersion.OF13).feed(nxGroupMod(OfpVersion.OF13))[0])).toEqual([1, 4]);
  });

  it('splits a port statistics reply over 64 kB into several messages (OFPMPF_REPLY_MORE)', () => {
    const ports = Array.from({ length: 700 }, (_, i) => i + 1);
    const s = session(OfpVersion.OF13, ports);
    const out = s.feed(mpRequest(OfpVersion.OF13, OFPMP.PORT_STATS, [...u32(0xffffffff), 0, 0, 0, 0]));
    expect(out.length).toBe(2);
    expect(out.map((m) => new DataView(m.buffer, m.byteOffset).getUint16(10))).toEqual([1, 0]);
    expect(out.reduce((n, m) => n + replyBody(m).byteLength, 0)).toBe(701 * 112); // and LOCAL
    for (const m of out) expect(m.length).toBeLessThanOrEqual(65535);
  });

  it('PORT_MOD decoding masks the config with the version\'s bits and refuses truncation', () => {
    const pm: WirePortMod = { portNo: 2, hwAddr: HW(2), config: 0x7f, mask: 0x7f };
    expect(decodePortMod(frameMessage(encodePortMod(OfpVersion.OF13, 1, pm)))).toEqual({ portNo: 2, hwAddr: HW(2), config: 0x65, mask: 0x65 });
    expect(decodePortMod(frameMessage(encodePortMod(OfpVersion.OF10, 1, pm)))).toEqual(pm);
    const cut = encodePortMod(OfpVersion.OF14, 1, pm).slice(0, 20);
    cut[3] = 20;
    expect(() => decodePortMod(frameMessage(cut))).toThrow(OpenFlowError);
  });
});
