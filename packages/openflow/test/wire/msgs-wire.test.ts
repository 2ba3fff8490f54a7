import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Match, OFPFC, OFPMP, OFPT, OfpAgent, OfpVersion, OpenFlowError, Switch, decodeFlowMod, decodeHello, decodePacketOut, encodeError,
  encodeFlowMod, encodeFlowStatsRequest, encodeHello, encodePacketOut, errorFromWire, formatInstructions, formatMatch, frameMessage,
  negotiate, parseActionList, parseFlow, type WireFlowMod,
} from '@ovnts/openflow';
import { agentSession } from './agent-session.js';

const VERSIONS = [OfpVersion.OF10, OfpVersion.OF13, OfpVersion.OF14, OfpVersion.OF15];

function flowMod(text: string, command: number = OFPFC.ADD): WireFlowMod {
  const f = parseFlow(text);
  return {
    command, cookie: f.cookie, cookieMask: 0n, tableId: f.table, idleTimeout: f.idleTimeout, hardTimeout: f.hardTimeout, priority: f.priority,
    bufferId: 0xffff_ffff, outPort: 0xffff, outGroup: 0xffff_ffff, flags: f.flags, importance: 0, match: f.match, instructions: f.instructions,
  };
}

/** A connected agent over a fresh switch; returns what it sent back, message by message. */
const session = (version: number): ReturnType<typeof agentSession> => agentSession(version);

describe('OpenFlow messages', () => {
  it('negotiates the highest common version from HELLO bitmaps and headers', () => {
    expect(decodeHello(frameMessage(encodeHello([1, 4, 6])))).toEqual([1, 4, 6]);
    expect(decodeHello(frameMessage(encodeHello([4])))).toEqual([1, 2, 3, 4]);
    expect(negotiate([1, 4, 5, 6], [1, 4])).toBe(4);
    expect(negotiate([4, 6], [1, 2])).toBeUndefined();
    const out: Uint8Array[] = [];
    const c = new OfpAgent(new Switch()).connect((b) => out.push(b), { versions: [4, 6] });
    c.start();
    c.feed(Uint8Array.of(2, 0, 0, 8, 0, 0, 0, 1)); // OpenFlow 1.0-1.1 only: no common version
    expect(c.state).toBe('closed');
    expect(out[1]![1]).toBe(OFPT.ERROR);
    expect(new TextDecoder().decode(out[1]!.subarray(12))).toContain('no common versions');
  });

  it('sends table misses to an OpenFlow 1.0 controller, packet-ins only to controllers and service connections that asked', () => {
    const sw = new Switch();
    for (const p of [1, 2]) sw.addPort({ number: p });
    const agent = new OfpAgent(sw);
    sw.onPacketIn = (pi) => agent.packetIn(pi);
    const ctlOut: Uint8Array[] = [];
    const svcOut: Uint8Array[] = [];
    const ctl = agent.connect((b) => ctlOut.push(b), { primary: true });
    const svc = agent.connect((b) => svcOut.push(b));
    expect(sw.missToController).toBe(true); // not negotiated yet: OVS counts it as wanting misses
    ctl.start();
    svc.start();
    svc.feed(encodeHello([OfpVersion.OF10]));
    ctl.feed(encodeHello([OfpVersion.OF13]));
    expect(sw.missToController).toBe(false); // OpenFlow 1.3: a miss is a drop
    const frame = Uint8Array.from({ length: 60 }, (_, i) => (i < 12 ? 0x02 : i));
    sw.receive(1, frame);
    expect(ctlOut.length + svcOut.length).toBe(2); // the two HELLOs only
    const ctl10Out: Uint8Array[] = [];
    const ctl10 = agent.connect((b) => ctl10Out.push(b), { primary: true });
    ctl10.start();
    ctl10.feed(encodeHello([OfpVersion.OF10]));
    expect(sw.missToController).toBe(true);
    sw.receive(1, frame);
    const pin = (out: Uint8Array[]): Uint8Array[] => out.filter((b) => b[1] === OFPT.PACKET_IN);
    expect(pin(ctl10Out)).toHaveLength(1);
    expect(pin(ctlOut)).toHaveLength(1); // every controller gets it, whatever its version
    expect(pin(svcOut)).toHaveLength(0); // a service connection with miss_send_len 0 does not
    expect(pin(ctl10Out)[0]!.subarray(18)).toEqual(frame); // the whole frame, in_port 1, OFPR_NO_MATCH
    expect([pin(ctl10Out)[0]![14], pin(ctl10Out)[0]![15], pin(ctl10Out)[0]![16]]).toEqual([0, 1, 0]);
    svc.feed(Uint8Array.of(1, 9, 0, 12, 0, 0, 0, 5, 0, 0, 0, 64)); // SET_CONFIG miss_send_len=64
    sw.receive(2, frame);
    expect(pin(svcOut)).toHaveLength(1);
    agent.disconnect(ctl10);
    expect(sw.missToController).toBe(false);
  });

  it('round-trips FLOW_MODs in every version', () => {
    const text = 'table=0,priority=7,cookie=0x9,send_flow_rem,idle_timeout=5,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=set_field:10.0.0.2->ip_dst,output:2';
    for (const v of VERSIONS) {
      const fm = flowMod(text);
      const back = decodeFlowMod(frameMessage(encodeFlowMod(v, 3, fm)));
      expect(formatMatch(back.match, back.priority)).toBe(formatMatch(fm.match, fm.priority));
      expect(formatInstructions(back.instructions)).toBe(formatInstructions(fm.instructions));
      // An OpenFlow 1.0 add implies reset_counts (OVS ofputil_decode_flow_mod_flags()).
      expect([back.cookie, back.idleTimeout, back.flags]).toEqual([9n, 5, v === OfpVersion.OF10 ? ['send_flow_rem', 'reset_counts'] : ['send_flow_rem']]);
    }
  });

  it('round-trips PACKET_OUT in every version', () => {
    const actions = parseActionList('output:2,set_field:1->reg0', 'x', 0, { hasVlan: false, nwProto: -1 });
    for (const v of VERSIONS) {
      const po = decodePacketOut(frameMessage(encodePacketOut(v, 1, { bufferId: 0xffff_ffff, inPort: 3, actions, data: Uint8Array.of(1, 2, 3) })));
      expect(po.inPort).toBe(3);
      expect(po.data).toEqual(Uint8Array.of(1, 2, 3));
      expect(po.actions.length).toBe(2);
    }
  });

  it('encodes errors per version as OVS (standard, Nicira vendor, experimenter)', () => {
    const req = Uint8Array.of(4, 14, 0, 8, 0, 0, 0, 5);
    const e13 = encodeError(OfpVersion.OF13, 5, 'OFPBMC_BAD_PREREQ', req);
    expect([...e13.subarray(8, 12)]).toEqual([0, 4, 0, 9]);
    expect(e13.subarray(12)).toEqual(req);
    const e10 = encodeError(OfpVersion.OF10, 5, 'OFPBMC_BAD_PREREQ', req); // NX1.0-1.1(1,260): NXET_VENDOR
    expect([...e10.subarray(8, 20)]).toEqual([0xb0, 0xc2, 0, 0, 0, 0, 0x23, 0x20, 0, 1, 1, 4]);
    const e15 = encodeError(OfpVersion.OF15, 5, 'NXBRC_MUST_BE_ZERO', req); // NX1.2+(4): experimenter
    expect([...e15.subarray(8, 16)]).toEqual([0xff, 0xff, 0, 4, 0, 0, 0x23, 0x20]);
    expect(errorFromWire(OfpVersion.OF13, 0, 4, 9)).toBe('OFPBMC_BAD_PREREQ');
  });

  it('applies flow mods and answers flow stats through a connection', () => {
    for (const v of [OfpVersion.OF13, OfpVersion.OF15]) {
      const s = session(v);
      expect(s.feed(encodeFlowMod(v, 1, flowMod('table=1,priority=5,ip,actions=output:2')))).toEqual([]);
      expect(s.feed(encodeFlowMod(v, 2, flowMod('table=1,priority=6,cookie=0x5,udp,actions=output:3')))).toEqual([]);
      expect(s.sw.flows(1).length).toBe(2);
      const del = { ...flowMod('table=1,priority=0,actions=drop', OFPFC.DELETE), tableId: 0xff, outPort: 3 };
      s.feed(encodeFlowMod(v, 3, del));
      expect(s.sw.flows(1).map((e) => e.flow.priority)).toEqual([5]);
      const stats = s.feed(encodeFlowStatsRequest(v, 4, OFPMP.FLOW, { tableId: 0xff, outPort: 0xffff, outGroup: 0xffff_ffff, cookie: 0n, cookieMask: 0n, match: new Match() }));
      expect(stats.length).toBe(1);
      expect(stats[0]![1]).toBe(OFPT.MULTIPART_REPLY);
      // A refused flow mod: an ERROR with OVS's type/code and the request as data; the connection goes on.
      const bad = encodeFlowMod(v, 5, flowMod('table=1,priority=1,actions=group:9'));
      const [err] = s.feed(bad);
      expect([err![1], err![9], err![11]]).toEqual([OFPT.ERROR, 2, 9]); // OFPBAC_BAD_OUT_GROUP
      expect(err!.subarray(12)).toEqual(bad);
      expect(s.feed(Uint8Array.of(v, 2, 0, 8, 0, 0, 0, 6))[0]![1]).toBe(OFPT.ECHO_REPLY);
    }
  });

  it('never throws and keeps answering whatever bytes arrive (truncation sweep, fuzz)', () => {
    const s = session(OfpVersion.OF15);
    const good = encodeFlowMod(OfpVersion.OF15, 1, flowMod('table=0,ip,nw_dst=10.0.0.1,actions=ct(commit,table=1),learn(table=2,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[]),output:1'));
    for (let n = 8; n < good.length; n++) {
      const t = good.slice(0, n);
      t[2] = n >> 8;
      t[3] = n & 0xff;
      // Cut at an action boundary, the rest is a valid (shorter) flow mod; otherwise an ERROR.
      const r = s.feed(t);
      for (const m of r) expect(m[1], `length ${n}`).toBe(OFPT.ERROR);
      if (n !== 72) expect(r.length, `length ${n}`).toBe(1);
      expect(s.feed(Uint8Array.of(6, 2, 0, 8, 0, 0, 0, 7))[0]![1]).toBe(OFPT.ECHO_REPLY);
    }
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (flips) => {
        const b = good.slice();
        for (const [pos, val] of flips) if (pos % b.length >= 4) b[pos % b.length] = val;
        b[0] = OfpVersion.OF15;
        s.feed(b);
        const echo = s.feed(Uint8Array.of(6, 2, 0, 8, 0, 0, 0, 7));
        expect(echo.at(-1)![1]).toBe(OFPT.ECHO_REPLY);
      }),
      { numRuns: 1500 },
    );
  });

  it('raises OpenFlowErrors, not other exceptions, from the decoders', () => {
    expect(() => decodeFlowMod(frameMessage(Uint8Array.of(4, 14, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0)))).toThrow(OpenFlowError);
  });
});
