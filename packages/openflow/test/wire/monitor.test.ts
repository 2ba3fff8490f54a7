/**
 * Flow monitors and the Nicira packet-in formats without OVS: an agent on a virtual clock. A
 * monitoring connection gets the initial dump, full updates of other connections' changes, one
 * abbreviated update (with the request's xid) for its own changes, updates of timeouts, nothing
 * from a failed bundle and everything from a committed one, and nothing after a cancel; a
 * NXT_PACKET_IN2 carries OVS's properties.
 */
import { describe, expect, it } from 'vitest';
import {
  NXPINT, OFPBCT, OFPFC, OFPFME, OfpAgent, OfpVersion, Switch, VirtualClock, encodeBundleAdd, encodeBundleCtrl, encodeFlowMod, encodeFlowMonitorCancel,
  encodeHello, encodeNxPacketIn2, frameMessage, Match, field, type OfpConnection, type WireFlowMod,
} from '@ovnts/openflow';
import { wireFlowMod } from './wire-rig.js';

const flowMod = (text: string, command: number = OFPFC.ADD): WireFlowMod => wireFlowMod(text, command);

/** An OpenFlow 1.4 OFPMP_FLOW_MONITOR request with one monitor (all tables, any port, empty match; command add, or delete: 2). */
function monitorRequest(xid: number, id: number, flags: number, command = 0): Uint8Array {
  const b = new Uint8Array(8 + 8 + 16 + 8);
  const dv = new DataView(b.buffer);
  b[0] = OfpVersion.OF14; b[1] = 18; dv.setUint16(2, b.length); dv.setUint32(4, xid);
  dv.setUint16(8, 16);
  dv.setUint32(16, id); dv.setUint32(20, 0xffffffff); dv.setUint32(24, 0xffffffff); dv.setUint16(28, flags); b[30] = 0xff; b[31] = command;
  dv.setUint16(32, 1); dv.setUint16(34, 4);
  return b;
}

/** The updates of FLOW_MONITOR replies: `event table/priority` or `abbrev xid`. */
function updates(msgs: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const b of msgs) {
    const m = frameMessage(b);
    if (m.type !== 19) continue;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let off = 16; off < b.length; ) {
      const len = dv.getUint16(off);
      const ev = dv.getUint16(off + 2);
      out.push(ev === OFPFME.ABBREV ? `abbrev ${dv.getUint32(off + 4)}` : `${['initial', 'added', 'removed', 'modified'][ev]} ${b[off + 4]}/${dv.getUint16(off + 10)}`);
      off += len;
    }
  }
  return out;
}

function rig(): { sw: Switch; clock: VirtualClock; watcher: { conn: OfpConnection; got: Uint8Array[] }; other: { conn: OfpConnection; got: Uint8Array[] } } {
  const clock = new VirtualClock();
  const sw = new Switch({ clock });
  for (const p of [1, 2]) sw.addPort({ number: p });
  const agent = new OfpAgent(sw);
  const mk = (): { conn: OfpConnection; got: Uint8Array[] } => {
    const got: Uint8Array[] = [];
    const conn = agent.connect((b) => got.push(b));
    conn.start();
    conn.feed(encodeHello([OfpVersion.OF14]));
    got.length = 0;
    return { conn, got };
  };
  return { sw, clock, watcher: mk(), other: mk() };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('flow monitors', () => {
  it('dumps, reports other connections\' changes in full and its own abbreviated, timeouts too, and stops after a cancel', async () => {
    const { sw, clock, watcher, other } = rig();
    sw.addFlow('table=3,priority=4,actions=output:1');
    watcher.conn.feed(monitorRequest(5, 1, 1 | 2 | 4 | 8 | 16));
    expect(updates(watcher.got)).toEqual(['initial 3/4']);
    watcher.got.length = 0;
    other.conn.feed(encodeFlowMod(OfpVersion.OF14, 6, flowMod('table=1,priority=9,hard_timeout=2,actions=output:2')));
    other.conn.feed(encodeFlowMod(OfpVersion.OF14, 7, flowMod('table=1,priority=9,actions=output:1', OFPFC.MODIFY_STRICT)));
    other.conn.feed(encodeFlowMod(OfpVersion.OF14, 8, flowMod('table=1,priority=9,actions=output:1', OFPFC.MODIFY_STRICT))); // unchanged: no update
    await tick();
    // One reply per handled message, in order.
    expect(watcher.got.map((b) => updates([b]))).toEqual([['added 1/9'], ['modified 1/9']]);
    watcher.got.length = 0;
    // Its own changes: one abbreviated update per request.
    watcher.conn.feed(encodeFlowMod(OfpVersion.OF14, 40, flowMod('table=2,priority=1,actions=drop')));
    watcher.conn.feed(encodeFlowMod(OfpVersion.OF14, 41, flowMod('table=2,actions=drop', OFPFC.DELETE)));
    await tick();
    expect(updates(watcher.got)).toEqual(['abbrev 40', 'abbrev 41']);
    watcher.got.length = 0;
    clock.advance(2500);
    await tick();
    expect(updates(watcher.got)).toEqual(['removed 1/9']);
    expect(new DataView(watcher.got[0]!.buffer, watcher.got[0]!.byteOffset).getUint8(16 + 5)).toBe(1); // OFPRR_HARD_TIMEOUT
    watcher.got.length = 0;
    watcher.conn.feed(monitorRequest(50, 1, 0, 2)); // OFPFMC_DELETE: OpenFlow 1.4's cancel
    expect(updates(watcher.got)).toEqual([]);
    watcher.got.length = 0;
    other.conn.feed(encodeFlowMod(OfpVersion.OF14, 51, flowMod('table=0,priority=1,actions=drop')));
    await tick();
    expect(watcher.got).toEqual([]);
    // Cancelling it again: OFPMOFC_UNKNOWN_MONITOR (type 16 code 3 in OpenFlow 1.4); NXT_FLOW_MONITOR_CANCEL
    // is not an OpenFlow 1.4 message (OVS knows it in 1.0-1.2 only).
    watcher.conn.feed(monitorRequest(52, 1, 0, 2));
    expect([...watcher.got[0]!.subarray(8, 12)]).toEqual([0, 16, 0, 3]);
    watcher.conn.feed(encodeFlowMonitorCancel(OfpVersion.OF14, 53, 1));
    expect(frameMessage(watcher.got[1]!).type).toBe(1);
  });

  it('reports a committed bundle\'s changes and nothing of a failed one', async () => {
    const { watcher, other } = rig();
    watcher.conn.feed(monitorRequest(5, 1, 2 | 4 | 8));
    watcher.got.length = 0;
    const v = OfpVersion.OF14;
    const open = (xid: number): void => other.conn.feed(encodeBundleCtrl(v, xid, { bundleId: 1, type: OFPBCT.OPEN_REQUEST, flags: 1 }));
    const add = (xid: number, fm: WireFlowMod): void => other.conn.feed(encodeBundleAdd(v, 1, 1, encodeFlowMod(v, xid, fm)));
    const commit = (xid: number): void => other.conn.feed(encodeBundleCtrl(v, xid, { bundleId: 1, type: OFPBCT.COMMIT_REQUEST, flags: 1 }));
    open(1);
    add(2, flowMod('table=1,priority=1,actions=output:1'));
    add(3, flowMod('table=1,priority=2,actions=group:9'));
    commit(4);
    await tick();
    expect(updates(watcher.got)).toEqual([]);
    open(5);
    add(6, flowMod('table=1,priority=1,actions=output:1'));
    add(7, flowMod('table=1,priority=2,actions=output:2'));
    commit(8);
    await tick();
    expect(updates(watcher.got)).toEqual(['added 1/1', 'added 1/2']);
  });
});

describe('NXT_PACKET_IN2', () => {
  it('carries packet, full_len when cut, table, cookie, reason, metadata and userdata properties as OVS lays them out', () => {
    const match = new Match();
    match.set(field('in_port'), 3n);
    const b = encodeNxPacketIn2(OfpVersion.OF13, 0, {
      data: Uint8Array.of(1, 2, 3), totalLen: 60, reason: 4, tableId: 7, cookie: 0xabn, match, userdata: Uint8Array.of(9, 9),
    });
    const props: string[] = [];
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let off = 16; off < b.length; ) {
      const type = dv.getUint16(off);
      const len = dv.getUint16(off + 2);
      props.push(`${type}:${Buffer.from(b.subarray(off + 4, off + len)).toString('hex')}`);
      off += (len + 7) & ~7;
    }
    expect(props).toEqual([
      `${NXPINT.PACKET}:010203`, `${NXPINT.FULL_LEN}:0000003c`, `${NXPINT.TABLE_ID}:07`, `${NXPINT.COOKIE}:0000000000000000000000ab`,
      `${NXPINT.REASON}:01`, // OFPR_GROUP is OFPR_ACTION before OpenFlow 1.4
      `${NXPINT.METADATA}:8000000400000003`, `${NXPINT.USERDATA}:0909`,
    ]);
    expect(b.length % 8).toBe(0);
  });
});
