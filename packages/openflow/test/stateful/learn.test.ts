import { describe, expect, it } from 'vitest';
import { PacketBuilder } from '@ovnts/packet';
import {
  FlowKey, LearnedCookies, OpenFlowError, W, checkFlow, decideLearn, extractFlowKey, formatAction, formatLearnedActions, parseFlow,
  formatLearnedFlow, learnedFlow, parseAction, parseLearnAction, writeLearnResult, TextParseError,
} from '@ovnts/openflow';

const SPEC =
  'learn(table=1,idle_timeout=30,hard_timeout=60,fin_idle_timeout=5,fin_hard_timeout=7,priority=7,cookie=0x42,send_flow_rem,' +
  'NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],NXM_OF_VLAN_TCI[0..11],eth_type=0x800,ip_dst=10.9.9.9,NXM_OF_IP_SRC[]=NXM_OF_IP_DST[],' +
  'load:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15],load:0x1234->NXM_NX_REG1[4..19],load:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],output:NXM_OF_IN_PORT[])';

function key(inPort = 1, dport = 80): FlowKey {
  const f = new PacketBuilder().ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' })
    .tcp({ srcPort: 1000, dstPort: dport, flags: 'S' }).build();
  const k = new FlowKey();
  extractFlowKey(f, 0, f.length, inPort, k);
  return k;
}

describe('learnedFlow', () => {
  it('builds the flow OVS 3.1 installs (dump-flows text captured from OVS)', () => {
    const a = parseLearnAction(SPEC);
    const lf = learnedFlow(a, key().w);
    // ovs-ofctl -O OpenFlow15 dump-flows after one frame (stats removed):
    expect(formatLearnedFlow(lf)).toBe(
      ' cookie=0x42, table=1, idle_timeout=30, hard_timeout=60, send_flow_rem priority=7,ip,vlan_tci=0x0000/0x0fff,dl_dst=50:54:00:00:00:01,' +
        'nw_src=10.0.0.2,nw_dst=10.9.9.9 actions=fin_timeout(idle_timeout=5,hard_timeout=7),set_field:0x1/0xffff->reg0,' +
        'set_field:0x12340/0xffff0->reg1,set_field:50:54:00:00:00:01->eth_dst,output:1',
    );
    expect(lf.flow.table).toBe(1);
    expect(lf.flow.instructions.apply[0]).toEqual({ type: 'fin_timeout', idleTimeout: 5, hardTimeout: 7 });
  });

  it('parses limit and result_dst, formats as OVS (learn_format order)', () => {
    const a = parseLearnAction('learn(table=2,limit=1,result_dst=reg3[5],delete_learned,eth_type=0x800,nw_proto=6,NXM_OF_TCP_DST[])');
    expect(a.limit).toBe(1);
    expect(a.resultDst?.field.name).toBe('reg3');
    // As OVS's dump-flows prints the learning flow's action:
    expect(formatAction(a)).toBe('learn(table=2,delete_learned,limit=1,result_dst=NXM_NX_REG3[5],eth_type=0x800,nw_proto=6,NXM_OF_TCP_DST[])');
    expect(formatLearnedFlow(learnedFlow(a, key(1, 80).w))).toBe(' cookie=0x0, table=2, tcp,tp_dst=80 actions=drop');
    expect(() => parseLearnAction('learn(result_dst=reg3[1..2],NXM_OF_TCP_DST[])')).toThrow(TextParseError);
    expect(() => parseLearnAction('learn(limit=x,NXM_OF_TCP_DST[])')).toThrow(TextParseError);
  });

  it('learn_check: a match destination needs its prerequisites from earlier immediates', () => {
    expect(() => checkFlow(parseFlow('tcp,actions=learn(table=2,NXM_OF_TCP_DST[])'))).toThrow(OpenFlowError);
    expect(() => checkFlow(parseFlow('tcp,actions=learn(table=2,eth_type=0x800,nw_proto=6,NXM_OF_TCP_DST[])'))).not.toThrow();
    // A load's destination needs them too, and must be writable.
    expect(() => checkFlow(parseFlow('tcp,actions=learn(table=2,load:NXM_OF_TCP_SRC[]->NXM_OF_TCP_DST[])'))).toThrow(OpenFlowError);
    expect(() => checkFlow(parseFlow('actions=learn(table=2,load:0x1->NXM_NX_CT_STATE[])'))).toThrow(OpenFlowError);
  });

  it('outputs only to valid ports, loads a whole field without a mask, accumulates subfield matches', () => {
    const a = parseLearnAction('learn(table=3,NXM_NX_REG0[0..7]=NXM_NX_REG1[8..15],NXM_NX_REG0[16..23]=0x5,load:NXM_NX_REG2[]->NXM_NX_REG3[],output:NXM_NX_REG4[])');
    const k = key();
    k.w[W.regs + 1] = 0xab00;
    k.w[W.regs + 2] = 0xdeadbeef;
    k.w[W.regs + 4] = 0xfffd; // CONTROLLER: not a valid learned output
    const lf = learnedFlow(a, k.w);
    expect(formatLearnedFlow(lf)).toBe(' cookie=0x0, table=3, reg0=0x500ab/0xff00ff actions=set_field:0xdeadbeef->reg3');
    k.w[W.regs + 4] = 7;
    expect(formatLearnedActions(learnedFlow(a, k.w))).toBe('set_field:0xdeadbeef->reg3,output:7');
  });

  it('writes result_dst', () => {
    const a = parseLearnAction('learn(table=2,limit=1,result_dst=reg3[5],NXM_OF_IN_PORT[])');
    const w = new Uint32Array(key().w);
    writeLearnResult(a, w, true);
    expect(w[W.regs + 3]).toBe(0x20);
    writeLearnResult(a, w, false);
    expect(w[W.regs + 3]).toBe(0);
  });
});

describe('decideLearn', () => {
  const a = parseLearnAction('learn(table=2,idle_timeout=10,cookie=0x9,NXM_OF_IN_PORT[],output:NXM_OF_IN_PORT[])');
  const lf = learnedFlow(a, key().w);
  const same = { idleTimeout: 10, hardTimeout: 0, importance: 0, flags: [], cookie: 9n, actionsText: formatLearnedActions(lf) };
  it('refreshes an identical flow without a limit check', () => {
    expect(decideLearn(lf, same, 1, 5)).toEqual({ kind: 'refresh' });
  });
  it('modifies a differing flow keeping its timeouts (modify-strict semantics)', () => {
    expect(decideLearn(lf, { ...same, idleTimeout: 99, actionsText: 'output:9' }, 0, 0)).toEqual({
      kind: 'modify', idleTimeout: 99, hardTimeout: 0, importance: 0, flags: [], cookie: 9n,
    });
  });
  it('refuses over the limit, adds otherwise', () => {
    expect(decideLearn(lf, undefined, 2, 2)).toEqual({ kind: 'limit' });
    expect(decideLearn(lf, undefined, 2, 1)).toEqual({ kind: 'add' });
    expect(decideLearn(lf, undefined, 0, 1000)).toEqual({ kind: 'add' });
  });
});

describe('LearnedCookies (delete_learned)', () => {
  it('reports (table, cookie) dead when the last flow with such a learn goes', () => {
    const acts = (t: string) => parseAction(t, t, 0, { hasVlan: false, nwProto: -1 });
    const lc = new LearnedCookies();
    const f1 = acts('learn(table=2,cookie=0x7,delete_learned,NXM_OF_IN_PORT[])');
    const f2 = acts('learn(table=2,cookie=0x7,delete_learned,NXM_OF_ETH_SRC[])');
    const f3 = acts('learn(table=2,cookie=0x8,NXM_OF_IN_PORT[])'); // no delete_learned
    lc.add(f1);
    lc.add(f2);
    lc.add(f3);
    expect(lc.count(2, 7n)).toBe(2);
    expect(lc.remove(f1)).toEqual([]);
    expect(lc.remove(f3)).toEqual([]);
    expect(lc.remove(f2)).toEqual([{ table: 2, cookie: 7n }]);
  });
});
