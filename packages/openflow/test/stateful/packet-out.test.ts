import { describe, expect, it } from 'vitest';
import { FlowKey, OfpRequestError, Switch, W, extractFlowKey, makePacketIn, parseAction, checkControllerAction, checkPacketOutConsistency, parsePacketOut, validatePacketOut, TextParseError } from '@ovnts/openflow';

const env = { groupExists: (id: number) => id === 1, meterExists: (id: number) => id === 5 };
const errName = (f: () => void): string => {
  try {
    f();
  } catch (e) {
    return e instanceof OfpRequestError ? e.errorName : String(e);
  }
  return 'ok';
};

describe('packet-out', () => {
  it('parses ovs-ofctl packet-out text', () => {
    const po = parsePacketOut('in_port=3 packet=505400000002505400000001080045 actions=output:2,group:1');
    expect(po.inPort).toBe(3);
    expect(po.frame.length).toBe(15);
    expect(po.actions.map((a) => a.type)).toEqual(['output', 'group']);
    expect(parsePacketOut('in_port=LOCAL,packet=00,actions=drop').inPort).toBe(0xfffe);
    expect(() => parsePacketOut('in_port=1 actions=output:2')).toThrow(TextParseError);
  });

  it('validates like OVS', () => {
    const v = (t: string) => errName(() => validatePacketOut(parsePacketOut(t), env));
    expect(v('in_port=1 packet=00 actions=output:2')).toBe('ok');
    expect(v('in_port=CONTROLLER packet=00 actions=output:TABLE')).toBe('ok');
    expect(v('in_port=NONE packet=00 actions=output:2')).toBe('ok');
    expect(v('in_port=65281 packet=00 actions=output:2')).toBe('OFPBRC_BAD_PORT');
    expect(v('in_port=ALL packet=00 actions=output:2')).toBe('OFPBRC_BAD_PORT');
    expect(v('in_port=1 buffer_id=7 packet=00 actions=output:2')).toBe('OFPBRC_BUFFER_UNKNOWN');
    expect(v('in_port=1 packet=00 actions=group:2')).toBe('OFPBAC_BAD_OUT_GROUP');
    expect(v('in_port=1 packet=00 actions=meter:4')).toBe('OFPMMFC_INVALID_METER');
    expect(v('in_port=1 packet=00 actions=controller(reason=bogus)')).toBe('OFPBAC_BAD_ARGUMENT');
  });

  it('checks the actions against the packet, as the switch does (found by the random differential)', () => {
    const udp = '50540000000250540000000108004500001c0000000040110000c0a80101c0a8010204d2003500080000';
    const arp = '50540000000250540000000108060001080006040001505400000001c0a80101000000000000c0a80102';
    const c = (t: string) => errName(() => checkPacketOutConsistency(parsePacketOut(t)));
    expect(c(`in_port=1 packet=${udp} actions=set_field:4101->vlan_vid,output:2`)).toBe('OFPBAC_MATCH_INCONSISTENT');
    expect(c(`in_port=1 packet=${udp} actions=push_vlan:0x8100,set_field:4101->vlan_vid,output:2`)).toBe('ok');
    expect(c(`in_port=1 packet=${udp} actions=strip_vlan,output:2`)).toBe('OFPBAC_MATCH_INCONSISTENT');
    expect(c(`in_port=1 packet=${arp} actions=mod_nw_tos:8,output:2`)).toBe('OFPBAC_MATCH_INCONSISTENT');
    // mod_tp_* takes the packet's transport protocol; without one the switch refuses it.
    expect(parsePacketOut(`in_port=1 packet=${udp} actions=mod_tp_dst:99`).actions[0]).toMatchObject({ type: 'set_field' });
    expect(c(`in_port=1 packet=${arp} actions=mod_tp_dst:99`)).toBe('OFPBAC_MATCH_INCONSISTENT');
    // ... but only after the checks of the decoded actions, as in OVS.
    expect(errName(() => validatePacketOut(parsePacketOut(`in_port=1 packet=${arp} actions=mod_tp_dst:99,output:NONE`), env))).toBe('OFPBAC_BAD_OUT_PORT');
    expect(() => parsePacketOut(`in_port=1 packet=${udp} actions=mod_tp_dstx:99`)).toThrow(TextParseError);
  });

  it('a packet-out whose translation fails is refused and sends nothing', () => {
    const sent: number[] = [];
    const sw = new Switch({ onOutput: (p) => sent.push(p) });
    for (const n of [1, 2]) sw.addPort({ number: n });
    sw.addFlow('table=0,actions=output:2,resubmit(,0)');
    expect(errName(() => sw.packetOut('in_port=1 packet=505400000002505400000001080045000014000000004011000001020304050607 actions=output:TABLE'))).toBe('OFPFMFC_UNKNOWN');
    expect(sent).toEqual([]);
  });
});

describe('packet-in records', () => {
  it('cuts to max_len, keeps the total length, no buffer, metadata match', () => {
    const frame = Uint8Array.from({ length: 100 }, (_, i) => i);
    const k = new FlowKey();
    extractFlowKey(frame, 0, frame.length, 7, k);
    k.w[W.regs + 2] = 0x55;
    const a = parseAction('controller(reason=no_match,userdata=01.02,max_len=64,id=3)', '', 0, { hasVlan: false, nwProto: -1 })[0]!;
    expect(() => checkControllerAction(a as never)).not.toThrow();
    const pi = makePacketIn({ reason: 'no_match', tableId: 4, cookie: 9n, controllerId: 3, userdata: Uint8Array.of(1, 2), frame, maxLen: 64, key: k.w });
    expect(pi.frame.length).toBe(64);
    expect(pi.totalLen).toBe(100);
    expect(pi.bufferId).toBe(0xffffffff);
    expect(pi.match).toEqual([{ name: 'in_port', value: 7n }, { name: 'reg2', value: 0x55n }]);
    frame[0] = 99;
    expect(pi.frame[0]).toBe(0); // a copy
  });
});
