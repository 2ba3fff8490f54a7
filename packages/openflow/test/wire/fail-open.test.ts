// FailOpen on a virtual clock: OVS's fail-open timings (three probe intervals), the flush and the
// hidden NORMAL flow, bogus packet-ins every 2 s to a connected controller that has not admitted the
// switch, recovery on the first admitting message, inactivity probes, and secure mode keeping its
// flows. Connections are in-memory (`agent.connect`), so every byte the switch sends is seen.
import { describe, expect, it } from 'vitest';
import { PacketBuilder } from '@ovnts/packet';
import {
  FAIL_OPEN_PRIORITY, FailOpen, OFPT, OfpAgent, OfpVersion, Switch, VirtualClock, encodeHello, frameMessage, isAdmittingMessage, startMessage,
} from '@ovnts/openflow';

function setup(mode: 'standalone' | 'secure', probeIntervalS?: number) {
  const clock = new VirtualClock(0);
  const sw = new Switch({ clock });
  for (const p of [1, 2, 3]) sw.addPort({ number: p });
  sw.addFlow('priority=10,in_port=1,actions=output:2');
  sw.addGroup('group_id=1,type=all,bucket=output:3');
  sw.addMeter('meter=1,pktps,band=type=drop,rate=10');
  const out: Record<number, number> = { 1: 0, 2: 0, 3: 0 };
  sw.onOutput = (p) => (out[p] = (out[p] ?? 0) + 1);
  const agent = new OfpAgent(sw);
  sw.onPacketIn = (pi) => agent.packetIn(pi);
  const changes: string[] = [];
  const fo = new FailOpen(agent, { mode, clock, random: () => 0.5, onChange: (a, s) => changes.push(`${a} ${s}`), ...(probeIntervalS !== undefined ? { probeIntervalS } : {}) });
  return { clock, sw, agent, fo, out, changes };
}

/** A controller connection over memory: what the switch sent, as message types. */
function controller(agent: OfpAgent, version = OfpVersion.OF13) {
  const sent: Uint8Array[] = [];
  const c = agent.connect((b) => sent.push(b), { primary: true });
  c.start();
  c.feed(encodeHello([version]));
  return { c, sent, types: () => sent.map((b) => b[1]!) };
}

const frame = new PacketBuilder().ethernet({ src: '0a:00:00:00:00:01', dst: '0a:00:00:00:00:02' }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1, dstPort: 2 }).build();

describe('FailOpen (OVS fail-open.c, connmgr.c, rconn.c)', () => {
  it('standalone, no controller: fails open at 15 s (3 x 5 s probe), flushing flows, groups and meters; NORMAL forwards', () => {
    const { clock, sw, fo, out, changes } = setup('standalone');
    expect(fo.triggerS).toBe(15);
    clock.advance(14_999);
    expect(fo.active).toBe(false);
    expect(sw.flows()).toHaveLength(1);
    fo.receive(1, frame);
    expect(out).toEqual({ 1: 0, 2: 1, 3: 0 }); // the controller's flow
    clock.advance(1);
    expect(fo.active).toBe(true);
    expect(changes).toEqual(['true 15']);
    expect(sw.flows()).toHaveLength(0);
    expect(sw.groups.size).toBe(0);
    expect(sw.meters.list()).toHaveLength(0);
    fo.receive(1, frame); // NORMAL floods (destination unknown), LOCAL included
    expect(out).toEqual({ 1: 0, 2: 2, 3: 1, 65534: 1 });
    expect(sw.port(1)!.stats.rxPackets).toBe(2);
    clock.advance(3000);
    expect(fo.hiddenFlows()).toEqual([`duration=3s, n_packets=1, n_bytes=${frame.length}, priority=${FAIL_OPEN_PRIORITY},actions=NORMAL`]);
    expect(sw.dumpFlows()).toEqual([]); // hidden from every dump
  });

  it('probes off: fails open after the first whole second, as OVS with inactivity_probe=0', () => {
    const { clock, fo } = setup('standalone', 0);
    clock.advance(999);
    expect(fo.active).toBe(false);
    clock.advance(1);
    expect(fo.active).toBe(true);
  });

  it('secure: never fails open, keeps its flows', () => {
    const { clock, sw, fo, out } = setup('secure');
    clock.advance(600_000);
    expect(fo.active).toBe(false);
    expect(sw.flows()).toHaveLength(1);
    fo.receive(3, frame);
    expect(out).toEqual({ 1: 0, 2: 0, 3: 0 }); // a miss drops
  });

  it('a connected controller that only did the handshake gets a RARP packet-in every 2 s; its first admitting message recovers', () => {
    const { clock, sw, agent, fo, changes } = setup('standalone');
    clock.advance(15_000);
    expect(fo.active).toBe(true);
    const ctl = controller(agent);
    ctl.c.feed(startMessage(OfpVersion.OF13, OFPT.FEATURES_REQUEST, 7).done());
    expect(ctl.types()).toEqual([OFPT.HELLO, OFPT.FEATURES_REPLY]);
    clock.advance(1999);
    expect(ctl.types().filter((t) => t === OFPT.PACKET_IN)).toHaveLength(0);
    clock.advance(1);
    const pins = ctl.sent.filter((b) => b[1] === OFPT.PACKET_IN);
    expect(pins).toHaveLength(1);
    const data = pins[0]!.subarray(pins[0]!.length - 42);
    expect([...data.subarray(0, 6)]).toEqual([255, 255, 255, 255, 255, 255]);
    expect([...data.subarray(6, 9)]).toEqual([0x00, 0x23, 0x20]); // a Nicira MAC
    expect([...data.subarray(12, 14)]).toEqual([0x80, 0x35]); // RARP
    clock.advance(2000);
    expect(fo.bogusPacketIns).toBe(2);
    ctl.c.feed(startMessage(OfpVersion.OF13, 20, 8).done()); // BARRIER_REQUEST admits
    expect(fo.active).toBe(false);
    expect(changes).toEqual(['true 15', 'false 0']);
    expect(fo.failureDurationS()).toBe(0);
    clock.advance(4000); // admitted and connected: no failure
    expect(fo.failureDurationS()).toBe(0);
    expect(fo.hiddenFlows()).toEqual([]);
    sw.addFlow('priority=1,actions=output:2');
    expect(sw.flows()).toHaveLength(1);
  });

  it('admission: which messages admit, and any message after 30 s connected', () => {
    const msg = (v: number, type: number, mp?: number) => {
      const m = startMessage(v, type, 1);
      if (mp !== undefined) m.w.u16(mp).u16(0).u32(0);
      return frameMessage(m.done());
    };
    for (const t of [OFPT.HELLO, OFPT.ERROR, OFPT.ECHO_REQUEST, OFPT.ECHO_REPLY, OFPT.FEATURES_REQUEST, OFPT.GET_CONFIG_REQUEST, OFPT.SET_CONFIG]) {
      expect(isAdmittingMessage(msg(OfpVersion.OF13, t)), `type ${t}`).toBe(false);
    }
    expect(isAdmittingMessage(msg(OfpVersion.OF13, OFPT.FLOW_MOD))).toBe(true);
    expect(isAdmittingMessage(msg(OfpVersion.OF13, OFPT.PACKET_OUT))).toBe(true);
    expect(isAdmittingMessage(msg(OfpVersion.OF13, OFPT.MULTIPART_REQUEST, 1))).toBe(true); // flow stats
    expect(isAdmittingMessage(msg(OfpVersion.OF13, OFPT.MULTIPART_REQUEST, 7))).toBe(false); // group desc
    expect(isAdmittingMessage(msg(OfpVersion.OF13, OFPT.MULTIPART_REQUEST, 12))).toBe(false); // table features
    expect(isAdmittingMessage(msg(OfpVersion.OF10, 16, 0))).toBe(true); // OpenFlow 1.0 desc stats
    expect(isAdmittingMessage(msg(OfpVersion.OF10, 20))).toBe(false); // OpenFlow 1.0 queue get config
    expect(isAdmittingMessage(msg(OfpVersion.OF10, 18))).toBe(true); // OpenFlow 1.0 barrier

    const { clock, agent, fo } = setup('standalone', 0);
    const ctl = controller(agent);
    clock.advance(500);
    ctl.c.feed(startMessage(OfpVersion.OF13, OFPT.ECHO_REQUEST, 1).done());
    expect(fo.failureDurationS()).toBe(0); // under 1 s since start
    clock.advance(29_500);
    expect(fo.active).toBe(true); // handshake-only controller: failed open at 1 s
    ctl.c.feed(startMessage(OfpVersion.OF13, OFPT.ECHO_REQUEST, 2).done()); // 30 s connected: admits
    expect(fo.active).toBe(false);
  });

  it('inactivity probe: an echo request after 5 idle seconds, disconnect after 10; then fail open 15 s after the last admission', () => {
    const { clock, agent, fo } = setup('standalone');
    const ctl = controller(agent);
    ctl.c.feed(startMessage(OfpVersion.OF13, 20, 1).done()); // admitted at t=0
    clock.advance(4999);
    expect(ctl.types().filter((t) => t === OFPT.ECHO_REQUEST)).toHaveLength(0);
    clock.advance(1);
    expect(ctl.types().filter((t) => t === OFPT.ECHO_REQUEST)).toHaveLength(1);
    clock.advance(4999);
    expect(ctl.c.state).toBe('active');
    clock.advance(1);
    expect(ctl.c.state).toBe('closed');
    expect(agent.conns.size).toBe(0);
    expect(fo.active).toBe(false);
    clock.advance(4999);
    expect(fo.active).toBe(false);
    clock.advance(1); // 15 s after the last message
    expect(fo.active).toBe(true);
  });

  it('refuses a bad mode or probe interval', () => {
    const sw = new Switch();
    const agent = new OfpAgent(sw);
    expect(() => new FailOpen(agent, { mode: 'open' as never })).toThrow(/fail mode "open"/);
    expect(() => new FailOpen(agent, { mode: 'secure', probeIntervalS: -1 })).toThrow(/whole number/);
  });
});
