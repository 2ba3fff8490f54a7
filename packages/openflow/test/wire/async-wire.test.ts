/**
 * Asynchronous messages and controller roles over in-memory connections, on the switch's virtual
 * clock: FLOW_REMOVED in every format, PORT_STATUS sequences, the asynchronous configuration
 * (defaults, SET_ASYNC masks and properties, errors), roles (master demotion, ROLE_STATUS,
 * generation ids, a slave's modifications refused) and NXT_SET_CONTROLLER_ID.
 */
import { describe, expect, it } from 'vitest';
import {
  OFPFC, OFPT, OfpAgent, OfpVersion, Switch, VirtualClock, encodeFlowMod, encodeHello, parseFlow, type OfpConnection, type WireFlowMod,
} from '@ovnts/openflow';

function flowMod(text: string, command: number = OFPFC.ADD): WireFlowMod {
  const f = parseFlow(text);
  return {
    command, cookie: f.cookie, cookieMask: 0n, tableId: f.table, idleTimeout: f.idleTimeout, hardTimeout: f.hardTimeout, priority: f.priority,
    bufferId: 0xffff_ffff, outPort: 0xffff, outGroup: 0xffff_ffff, flags: f.flags, importance: 0, match: f.match, instructions: f.instructions,
  };
}

interface Peer {
  conn: OfpConnection;
  out: Uint8Array[];
  /** Feed bytes; returns what was sent back to this peer meanwhile. */
  send(b: Uint8Array | number[]): Uint8Array[];
  /** Take what arrived since the last call. */
  take(): Uint8Array[];
}

function rig(): { sw: Switch; clock: VirtualClock; agent: OfpAgent; peer: (version: number, primary?: boolean) => Peer } {
  const clock = new VirtualClock(1000);
  const sw = new Switch({ clock });
  for (const p of [1, 2, 3]) sw.addPort({ number: p });
  const agent = new OfpAgent(sw);
  sw.onPacketIn = (pi) => agent.packetIn(pi);
  const peer = (version: number, primary = true): Peer => {
    const out: Uint8Array[] = [];
    const conn = agent.connect((b) => out.push(b), { primary });
    conn.start();
    conn.feed(encodeHello([version]));
    out.length = 0;
    const take = (): Uint8Array[] => out.splice(0);
    return { conn, out, take, send: (b) => (conn.feed(Uint8Array.from(b)), take()) };
  };
  return { sw, clock, agent, peer };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
/** An ERROR's "type/code" (or "exp type/experimenter" for experimenter errors). */
const err = (b: Uint8Array): string => (b[1] === OFPT.ERROR ? `${u16(b, 8)}/${u16(b, 10)}` : `type ${b[1]}`);

function msg(version: number, type: number, xid: number, body: number[] = []): number[] {
  const len = 8 + body.length;
  return [version, type, len >> 8, len & 0xff, 0, 0, 0, xid, ...body];
}
function nxt(version: number, xid: number, subtype: number, body: number[] = []): number[] {
  return msg(version, 4, xid, [0, 0, 0x23, 0x20, 0, 0, 0, subtype, ...body]);
}
const be32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const be64 = (v: bigint): number[] => [...be32(Number(v >> 32n)), ...be32(Number(v & 0xffff_ffffn))];
const role = (version: number, xid: number, r: number, gen: bigint): number[] => msg(version, 24, xid, [...be32(r), 0, 0, 0, 0, ...be64(gen)]);

describe('FLOW_REMOVED', () => {
  it('goes out when a send_flow_rem flow times out on the virtual clock, in each version\'s form', () => {
    const { sw, clock, peer } = rig();
    const p13 = peer(OfpVersion.OF13);
    const p15 = peer(OfpVersion.OF15);
    const p10 = peer(OfpVersion.OF10);
    const nxm = peer(OfpVersion.OF10);
    nxm.send(nxt(1, 1, 12, be32(2))); // NXT_SET_FLOW_FORMAT NXM
    p13.send(encodeFlowMod(4, 2, flowMod('table=3,priority=7,cookie=0x9,send_flow_rem,idle_timeout=5,ip,nw_src=1.2.3.4,actions=drop')));
    p13.send(encodeFlowMod(4, 3, flowMod('table=3,priority=8,idle_timeout=5,ip,actions=drop'))); // no send_flow_rem: no message
    clock.advance(5000);
    expect(p13.take()).toEqual([]);
    clock.advance(2);
    expect(sw.flows(3).length).toBe(0);
    const [m13] = p13.take();
    // ofp12_flow_removed: cookie 9, priority 7, reason idle, table 3, 5.001 s, idle 5, hard 0, counts 0, then the OXM match.
    expect(hex(m13!.subarray(0, 48))).toBe(`04` + '0b' + u16(m13!, 2).toString(16).padStart(4, '0') + '00000000' + '0000000000000009' + '0007' + '00' + '03' + '00000005' + '000f4240' + '0005' + '0000' + '0000000000000000' + '0000000000000000');
    const [m15] = p15.take();
    expect(hex(m15!.subarray(8, 24))).toBe('0300' + '0007' + '0005' + '0000' + '0000000000000009');
    // The OXS statistics: duration, packets, bytes (no idle time, no flow count, as OVS).
    expect(hex(m15!.subarray(m15!.length - 48, m15!.length))).toContain('80020008' + '00000005000f4240');
    const [m10] = p10.take();
    expect(m10![1]).toBe(11);
    expect(m10!.length).toBe(88);
    const [mnx] = nxm.take();
    expect(u32(mnx!, 12)).toBe(14); // NXT_FLOW_REMOVED
    expect(mnx![27]).toBe(4); // table 3, plus one
  });

  it('reports delete, group delete and meter delete (meter delete only where the mask has it; as delete before OpenFlow 1.4)', () => {
    const { sw, peer } = rig();
    const p13 = peer(OfpVersion.OF13);
    const p14 = peer(OfpVersion.OF14);
    sw.addGroup('group_id=1,type=all,bucket=output:2');
    sw.addMeter('meter=1,pktps,bands=type=drop,rate=10');
    sw.addFlow('priority=1,send_flow_rem,ip,actions=group:1');
    sw.addFlow('priority=2,send_flow_rem,udp,actions=meter:1,output:2');
    sw.addFlow('priority=3,send_flow_rem,tcp,actions=output:3');
    sw.delGroup(1);
    sw.delMeter(1);
    // What the connection received meanwhile comes back with the delete (which has no reply).
    const got = p13.send(encodeFlowMod(4, 9, flowMod('tcp,actions=drop', OFPFC.DELETE)));
    // OpenFlow 1.3's default mask has no meter delete (OVS OFPRR13_BITS).
    expect(got.map((b) => b[18])).toEqual([3, 2]);
    expect(p14.take().map((b) => b[18])).toEqual([3, 4, 2]);
    // With the meter-delete bit set (1.3 masks allow it), 1.3 sees it as a delete.
    p13.send(msg(4, 28, 10, [...be32(3), 0, 0, 0, 0, ...be32(7), ...be32(7), ...be32(0x1f), 0, 0, 0, 0]));
    sw.addMeter('meter=2,pktps,bands=type=drop,rate=10');
    sw.addFlow('priority=2,send_flow_rem,udp,actions=meter:2,output:2');
    sw.delMeter(2);
    expect(p13.take().map((b) => b[18])).toEqual([2]);
  });

  it('follows the asynchronous configuration: a service connection only after a miss_send_len, masks from SET_ASYNC', () => {
    const { sw, peer } = rig();
    const svc = peer(OfpVersion.OF13, false);
    const ctl = peer(OfpVersion.OF13);
    sw.addFlow('priority=1,send_flow_rem,ip,actions=drop');
    sw.delFlows();
    expect(svc.take()).toEqual([]);
    expect(ctl.take().length).toBe(1);
    svc.send(msg(4, 9, 1, [0, 0, 0xff, 0xff])); // SET_CONFIG miss_send_len 65535
    // SET_ASYNC (1.3 masks): the controller takes only hard timeouts.
    expect(ctl.send(msg(4, 28, 2, [...be32(0), ...be32(0), ...be32(7), ...be32(7), ...be32(2), ...be32(0)]))).toEqual([]);
    sw.addFlow('priority=1,send_flow_rem,ip,actions=drop');
    sw.delFlows();
    expect(svc.take().length).toBe(1);
    expect(ctl.take()).toEqual([]);
  });
});

describe('PORT_STATUS', () => {
  it('announces added, changed and deleted ports as OVS does (LIVE after ADD; OpenFlow 1.0 cannot see LIVE)', () => {
    const { sw, peer } = rig();
    const p10 = peer(OfpVersion.OF10);
    const p13 = peer(OfpVersion.OF13);
    const p14 = peer(OfpVersion.OF14);
    const status = (b: Uint8Array, stateAt: number): string => `${b[8]}:${u32(b, stateAt - 4)}/${u32(b, stateAt)}`;
    sw.addPort({ number: 5 });
    sw.setPortUp(5, false);
    sw.setPortUp(5, true);
    sw.removePort(5);
    // reason:config/state — ADD (state 0), MODIFY LIVE, MODIFY (LIVE gone), MODIFY PORT_DOWN/LINK_DOWN, MODIFY LIVE, DELETE.
    expect(p13.take().map((b) => status(b, 16 + 36))).toEqual(['0:0/0', '2:0/4', '2:0/0', '2:1/1', '2:0/4', '1:0/4']);
    expect(p14.take().map((b) => status(b, 16 + 36))).toEqual(['0:0/0', '2:0/4', '2:0/0', '2:1/1', '2:0/4', '1:0/4']);
    expect(p10.take().map((b) => status(b, 16 + 28))).toEqual(['0:0/0', '2:1/1', '2:0/0', '1:0/0']);
  });

  it('reaches a slave too (OVS\'s default secondary mask), and nothing with a zero mask', () => {
    const { sw, peer } = rig();
    const a = peer(OfpVersion.OF13);
    a.send(role(4, 1, 3, 1n));
    a.take();
    sw.setPortUp(1, false);
    expect(a.take().length).toBe(2);
    a.send(msg(4, 28, 2, [...be32(0), ...be32(0), ...be32(7), ...be32(0), ...be32(0), ...be32(0)]));
    sw.setPortUp(1, true);
    expect(a.take()).toEqual([]);
  });
});

describe('asynchronous configuration', () => {
  it('GET_ASYNC_REPLY shows OVS\'s defaults: 1.3 masks, 1.4 properties', () => {
    const { peer } = rig();
    const [r13] = peer(OfpVersion.OF13).send(msg(4, 26, 7));
    expect(hex(r13!)).toBe('041b002000000007' + '00000003' + '00000000' + '00000007' + '00000007' + '0000000f' + '00000000');
    const [r14] = peer(OfpVersion.OF14).send(msg(5, 26, 8));
    expect(r14!.length).toBe(8 + 12 * 8);
    expect(hex(r14!.subarray(8, 8 + 48))).toBe(
      '0000000800000000' + '000100080000003b' + '0002000800000007' + '0003000800000007' + '0004000800000000' + '000500080000003f',
    );
  });

  it('refuses bad SET_ASYNC properties and lengths with OVS\'s errors, and the connection keeps working', () => {
    const { peer } = rig();
    const p = peer(OfpVersion.OF14);
    expect(p.send(msg(5, 28, 1, [0, 5, 0, 8, ...be32(0x40)])).map(err)).toEqual(['15/0']); // flow removed reason 6: OFPACFC_INVALID
    expect(p.send(msg(5, 28, 2, [0, 99, 0, 8, ...be32(0)])).map(err)).toEqual(['15/1']); // unknown property: OFPACFC_UNSUPPORTED
    expect(p.send(msg(5, 28, 3, [0, 5, 0, 12, ...be32(0), ...be32(0), ...be32(0)])).map(err)).toEqual(['14/1']); // OFPBPC_BAD_LEN
    expect(p.send(msg(5, 28, 4, [0, 5, 0, 8])).map(err)).toEqual(['1/6']); // not a multiple of 8: OFPBRC_BAD_LEN
    expect(p.send(msg(5, 26, 5, [0, 0, 0, 0, 0, 0, 0, 0])).map(err)).toEqual(['1/6']);
    const q = peer(OfpVersion.OF13);
    expect(q.send(msg(4, 28, 6, be32(0))).map(err)).toEqual(['1/6']);
    expect(p.send(msg(5, 2, 9)).map((b) => b[1])).toEqual([OFPT.ECHO_REPLY]);
    // A good property changes only itself.
    p.send(msg(5, 28, 10, [0, 5, 0, 8, ...be32(1)]));
    const [r] = p.send(msg(5, 26, 11));
    expect(hex(r!.subarray(8 + 40, 8 + 48))).toBe('0005000800000001');
    expect(hex(r!.subarray(8 + 8, 8 + 16))).toBe('000100080000003b');
  });
});

describe('roles', () => {
  it('a new master demotes the old one (ROLE_STATUS from 1.3), stale generations are refused, a slave may not modify', () => {
    const { sw, peer } = rig();
    const a = peer(OfpVersion.OF14);
    const b = peer(OfpVersion.OF13);
    expect(hex(a.send(role(5, 1, 2, 10n))[0]!)).toBe('0519001800000001' + '00000002' + '00000000' + '000000000000000a');
    const [rb] = b.send(role(4, 2, 2, 11n));
    expect(u32(rb!, 8)).toBe(2);
    // a (1.4) was demoted: OFPT_ROLE_STATUS, role slave, reason master request, generation 11.
    expect(hex(a.take()[0]!)).toBe('051e001800000000' + '00000003' + '00000000' + '000000000000000b');
    expect(a.send(role(5, 3, 2, 9n)).map(err)).toEqual(['11/0']); // OFPRRFC_STALE
    expect(a.send(encodeFlowMod(5, 4, flowMod('actions=drop'))).map(err)).toEqual(['1/10']); // OFPBRC_IS_SLAVE
    expect(a.send(msg(5, 14, 5, [1, 2, 3])).map(err)).toEqual(['1/10']); // refused before it is decoded
    expect(sw.flows().length).toBe(0);
    // b (1.3) demoted by a: the ONF experimenter ROLE_STATUS.
    a.send(role(5, 6, 2, 11n));
    const [st] = b.take();
    expect(hex(st!)).toBe('0404002000000000' + '4f4e4600' + '00000777' + '00000003' + '00000000' + '000000000000000b');
    expect(u32(a.send(role(5, 7, 0, 0n))[0]!, 8)).toBe(2); // NOCHANGE reports the role
    expect(a.send(role(5, 8, 4, 0n)).map(err)).toEqual(['11/2']); // OFPRRFC_BAD_ROLE
    expect(a.send(msg(5, 24, 9, [0, 0, 0, 2])).map(err)).toEqual(['1/6']);
    // An equal request needs no generation; wrap-around comparison as OVS (2^64-1 is older than 11).
    expect(u32(a.send(role(5, 10, 1, 0n))[0]!, 8)).toBe(1);
    expect(b.send(role(4, 11, 3, 0xffff_ffff_ffff_ffffn)).map(err)).toEqual(['11/0']);
    expect(b.send(msg(4, 2, 12)).map((x) => x[1])).toEqual([OFPT.ECHO_REPLY]);
  });

  it('NXT_ROLE_REQUEST in OpenFlow 1.0: roles numbered from 0, no generation, no ROLE_STATUS; a slave gets no flow removed', () => {
    const { sw, peer } = rig();
    const a = peer(OfpVersion.OF10);
    const b = peer(OfpVersion.OF10);
    expect(hex(a.send(nxt(1, 1, 10, be32(1)))[0]!)).toBe('0104001400000001' + '00002320' + '0000000b' + '00000001');
    b.send(nxt(1, 2, 10, be32(1)));
    expect(a.take()).toEqual([]);
    expect(u32(a.send(nxt(1, 3, 10, be32(0)))[0]!, 16)).toBe(0);
    a.send(nxt(1, 4, 10, be32(2)));
    expect(a.send(msg(1, 14, 5, [0])).map(err)).toEqual(['1/5']); // OFPBRC_IS_SLAVE in OpenFlow 1.0
    // OFPRRFC_BAD_ROLE: a Nicira vendor error in 1.0 (NXET_VENDOR 0xb0c2, vendor 0x2320, type 1, code 513).
    const [bad] = a.send(nxt(1, 6, 10, be32(3)));
    expect(hex(bad!.subarray(8, 20))).toBe('b0c20000' + '00002320' + '0001' + '0201');
    sw.addFlow('send_flow_rem,actions=drop');
    sw.delFlows();
    expect(a.take()).toEqual([]);
    expect(b.take().length).toBe(1);
    // Packet-ins: the master's default mask has them, the slave's has none.
    sw.addFlow('in_port=1,actions=controller');
    const frame = new Uint8Array(60);
    frame.set([0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x88, 0xb5]);
    sw.receive(1, frame);
    expect(a.take()).toEqual([]);
    expect(b.take().map((x) => x[1])).toEqual([OFPT.PACKET_IN]);
  });

  it('SET_CONFIG\'s invalid-TTL flag (before 1.3) is per connection and shows in GET_CONFIG; a slave leaves fragment handling alone', () => {
    const { agent, peer } = rig();
    const a = peer(OfpVersion.OF10);
    a.send(msg(1, 9, 1, [0, 5, 0, 128])); // frag drop + invalid TTL to controller
    expect(hex(a.send(msg(1, 7, 2))[0]!)).toBe('0108000c00000002' + '0005' + '0080');
    expect(hex(peer(OfpVersion.OF10).send(msg(1, 7, 3))[0]!)).toBe('0108000c00000003' + '0001' + '0080');
    const s = peer(OfpVersion.OF13);
    s.send(role(4, 4, 3, 1n));
    s.send(msg(4, 9, 5, [0, 0, 0, 128]));
    expect(agent.configFlags).toBe(1);
  });
});

describe('NXT_SET_CONTROLLER_ID', () => {
  it('sends controller(id=N) packet-ins only to connections with that id; nonzero padding is NXBRC_MUST_BE_ZERO', () => {
    const { sw, peer } = rig();
    const a = peer(OfpVersion.OF13);
    const b = peer(OfpVersion.OF13);
    expect(b.send(nxt(4, 1, 20, [0, 0, 0, 0, 0, 0, 0, 5]))).toEqual([]);
    expect(a.send(nxt(4, 2, 20, [0, 0, 0, 0, 0, 1, 0, 5])).map(err)).toEqual(['65535/4']);
    expect(a.send(nxt(4, 3, 20, [0, 0, 0, 0])).map(err)).toEqual(['1/6']);
    sw.addFlow('in_port=1,actions=controller(id=5)');
    sw.addFlow('in_port=2,actions=controller');
    const frame = new Uint8Array(60);
    frame.set([0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x88, 0xb5]);
    sw.receive(1, frame);
    sw.receive(2, frame);
    expect(a.take().map((x) => x[1])).toEqual([OFPT.PACKET_IN]);
    expect(b.take().map((x) => x[1])).toEqual([OFPT.PACKET_IN]);
    expect(a.conn.controllerId).toBe(0);
    expect(b.conn.controllerId).toBe(5);
  });
});
