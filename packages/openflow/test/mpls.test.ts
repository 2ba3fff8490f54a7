/**
 * MPLS without an oracle: extraction of label stacks into the flow key (OVS parse_mpls), the four
 * fields in matches and actions, parse/format round trips of the MPLS actions, what they do to
 * frames (pinned bytes), and the per-packet path allocating nothing. mpls-ovs.test.ts compares the
 * same against real Open vSwitch.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { minHeapGrowth } from '@ovnts/testkit';
import {
  FlowKey, Switch, TextParseError, VirtualClock, W, extractFlowKey, field, formatActionList, formatMatch, parseActionList, parseFlow, parseMatch,
} from '@ovnts/openflow';

function udp4(): Uint8Array {
  return new PacketBuilder()
    .ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' })
    .ipv4({ src: '10.0.0.1', dst: '10.0.0.2', ttl: 17, dscp: 10 })
    .udp({ srcPort: 1234, dstPort: 53, checksum: true })
    .payload('payload')
    .build();
}

const lse = (label: number, tc: number, bos: boolean, ttl: number): number => ((label << 12) | (tc << 9) | (bos ? 0x100 : 0) | ttl) >>> 0;

/** `inner` with an MPLS label stack after its Ethernet header. */
function labelled(inner: Uint8Array, labels: number[], ethertype = 0x8847): Uint8Array {
  const out = new Uint8Array(inner.length + 4 * labels.length);
  out.set(inner.subarray(0, 12), 0);
  out[12] = ethertype >>> 8;
  out[13] = ethertype & 0xff;
  labels.forEach((v, i) => {
    out[14 + 4 * i] = v >>> 24;
    out[15 + 4 * i] = (v >>> 16) & 0xff;
    out[16 + 4 * i] = (v >>> 8) & 0xff;
    out[17 + 4 * i] = v & 0xff;
  });
  out.set(inner.subarray(14), 14 + 4 * labels.length);
  return out;
}

function extract(frame: Uint8Array): FlowKey {
  const k = new FlowKey();
  extractFlowKey(frame, 0, frame.length, 1, k);
  return k;
}

describe('MPLS extraction (OVS parse_mpls)', () => {
  it('reads the outermost entry into the four fields and parses nothing below the stack', () => {
    const k = extract(labelled(udp4(), [lse(1000, 5, true, 63)]));
    expect(k.w[W.dl_type]).toBe(0x8847);
    expect(k.get(field('mpls_label'))).toBe(1000);
    expect(k.get(field('mpls_tc'))).toBe(5);
    expect(k.get(field('mpls_bos'))).toBe(1);
    expect(k.get(field('mpls_ttl'))).toBe(63);
    expect(k.w[W.nw_src]).toBe(0);
    expect(k.w[W.nw_proto]).toBe(0);
    expect(k.l25).toBe(14);
    expect(k.l3).toBe(18);
    expect(k.l4).toBe(-1);
  });

  it('keeps the first three entries of a longer stack and stops at the bottom of stack', () => {
    const labels = [lse(1, 0, false, 1), lse(2, 0, false, 2), lse(3, 0, false, 3), lse(4, 0, true, 4)];
    const k = extract(labelled(udp4(), labels, 0x8848));
    expect([k.w[W.mpls_lse], k.w[W.mpls_lse + 1], k.w[W.mpls_lse + 2]]).toEqual(labels.slice(0, 3));
    expect(k.l3).toBe(14 + 16);
    const two = extract(labelled(udp4(), [lse(7, 1, false, 9), lse(8, 2, true, 10)]));
    expect(two.w[W.mpls_lse + 2]).toBe(0);
    expect(two.l3).toBe(22);
  });

  it('takes the whole entries a truncated stack has, and nothing of a partial one', () => {
    const full = labelled(udp4(), [lse(16, 0, false, 9), lse(17, 0, true, 8)]);
    for (let len = 14; len <= 22; len++) {
      const k = extract(full.slice(0, len));
      const whole = Math.floor((len - 14) / 4);
      expect(k.w[W.mpls_lse], `length ${len}`).toBe(whole >= 1 ? lse(16, 0, false, 9) : 0);
      expect(k.w[W.mpls_lse + 1], `length ${len}`).toBe(whole >= 2 ? lse(17, 0, true, 8) : 0);
      expect(k.l3).toBe(14 + 4 * whole);
    }
  });
});

describe('MPLS fields in matches', () => {
  it('prints the fields in OVS order and round-trips', () => {
    const m = parseMatch('mpls,mpls_bos=1,mpls_ttl=7,mpls_tc=3,mpls_label=5');
    expect(formatMatch(m)).toBe('mpls,mpls_label=5,mpls_tc=3,mpls_ttl=7,mpls_bos=1');
    expect(formatMatch(parseMatch(formatMatch(m)))).toBe(formatMatch(m));
    // Values wider than the field's bits are cut to them, as OVS does (mpls_label=0x100000 is 0).
    expect(formatMatch(parseMatch('mplsm,mpls_label=0x100005,mpls_tc=9'))).toBe('mplsm,mpls_label=5,mpls_tc=1');
  });

  it('drops the fields without an MPLS eth_type and refuses masks', () => {
    expect(formatMatch(parseMatch('mpls_label=5,ip'))).toBe('ip');
    expect(() => parseMatch('mpls,mpls_label=5/0xff')).toThrow(TextParseError);
    expect(() => parseMatch('mpls,mpls_ttl=256')).toThrow(TextParseError);
  });

  it('matches frames by their outermost entry', () => {
    const out: number[] = [];
    const sw = new Switch({ onOutput: (p) => out.push(p) });
    for (const n of [1, 2, 3]) sw.addPort({ number: n });
    sw.addFlows('table=0,priority=9,mpls,mpls_label=16,mpls_bos=1,actions=output:2\ntable=0,priority=8,mpls,actions=output:3');
    sw.receive(1, labelled(udp4(), [lse(16, 0, true, 5)]));
    sw.receive(1, labelled(udp4(), [lse(16, 0, false, 5), lse(17, 0, true, 5)]));
    sw.receive(1, labelled(udp4(), [lse(17, 0, true, 5)]));
    expect(out).toEqual([2, 3, 3]);
  });
});

describe('MPLS actions', () => {
  const ctx = (): { hasVlan: boolean; nwProto: number } => ({ hasVlan: false, nwProto: -1 });

  it('parse and print as ovs-ofctl under OpenFlow 1.5, and refuse what it refuses', () => {
    const t = 'push_mpls:34887,set_mpls_label(7),set_mpls_tc:2,set_mpls_ttl(9),dec_mpls_ttl,pop_mpls:0x800,load:3->OXM_OF_MPLS_LABEL[]';
    expect(formatActionList(parseActionList(t, t, 0, ctx()))).toBe(
      'push_mpls:0x8847,set_field:7->mpls_label,set_field:2->mpls_tc,set_mpls_ttl(9),dec_mpls_ttl,pop_mpls:0x0800,set_field:3/0xfffff->mpls_label',
    );
    for (const bad of ['push_mpls', 'push_mpls:foo', 'push_mpls:0x10000', 'pop_mpls', 'set_mpls_label(0x100000)', 'set_mpls_label', 'set_mpls_tc(8)', 'set_mpls_ttl(256)', 'set_field:1->mpls_bos', 'set_field:7/3->mpls_tc']) {
      expect(() => parseActionList(bad, bad, 0, ctx()), bad).toThrow(TextParseError);
    }
    // The switch refuses a push of a non-MPLS EtherType; pop_mpls and set_mpls_* need an MPLS match.
    expect(() => parseFlow('ip,actions=push_mpls:0x0800', {})).not.toThrow();
    expect(() => new Switch().addFlow('ip,actions=push_mpls:0x0800')).toThrow(/OFPBAC_BAD_ARGUMENT/);
    expect(() => new Switch().addFlow('ip,actions=pop_mpls:0x0800')).toThrow(/OFPBAC_MATCH_INCONSISTENT/);
    expect(() => new Switch().addFlow('actions=set_mpls_ttl(3)')).toThrow(/OFPBAC_MATCH_INCONSISTENT/);
    expect(() => new Switch().addFlow('actions=push_mpls:0x8847,set_mpls_ttl(3),dec_mpls_ttl,set_field:1->mpls_tc')).not.toThrow();
  });

  it('round-trip: parse(format(x)) prints as x for random MPLS action lists', () => {
    const act = fc.oneof(
      fc.constantFrom(0x8847, 0x8848).map((e) => `push_mpls:${e}`),
      fc.integer({ min: 0, max: 0xffff }).map((e) => `pop_mpls:0x${e.toString(16)}`),
      fc.integer({ min: 0, max: 0xfffff }).map((v) => `set_mpls_label(${v})`),
      fc.integer({ min: 0, max: 7 }).map((v) => `set_mpls_tc(${v})`),
      fc.integer({ min: 0, max: 255 }).map((v) => `set_mpls_ttl(${v})`),
      fc.constant('dec_mpls_ttl'),
      fc.integer({ min: 0, max: 255 }).map((v) => `set_field:${v}->mpls_ttl`),
      fc.tuple(fc.integer({ min: 0, max: 19 }), fc.integer({ min: 0, max: 15 })).map(([o, r]) => `move:NXM_NX_REG${r}[0..${o}]->OXM_OF_MPLS_LABEL[0..${o}]`),
      // Not `load:5->OXM_OF_MPLS_TC[]`: OVS prints it `set_field:5/0x7->mpls_tc`, which it refuses to read back.
      fc.constantFrom('output:1', 'move:OXM_OF_MPLS_BOS[]->NXM_NX_REG0[5]', 'load:5->NXM_NX_MPLS_TTL[]'),
    );
    fc.assert(
      fc.property(fc.array(act, { minLength: 1, maxLength: 6 }), (list) => {
        const text = list.join(',');
        const once = formatActionList(parseActionList(text, text, 0, ctx()));
        expect(formatActionList(parseActionList(once, once, 0, ctx()))).toBe(once);
      }),
      { numRuns: 300 },
    );
  });

  it('push, set and pop edit the bytes as the datapath does (pinned frames)', () => {
    const sent: string[] = [];
    const sw = new Switch({ onOutput: (_p, f) => sent.push(toHex(f)) });
    for (const n of [1, 2, 3]) sw.addPort({ number: n });
    sw.addFlows([
      'table=0,in_port=1,ip,actions=push_mpls:0x8847,output:2,set_mpls_label(1000),dec_mpls_ttl,push_mpls:0x8848,output:3',
      'table=0,in_port=2,mpls,actions=pop_mpls:0x0800,output:3',
    ].join('\n'));
    const f = udp4();
    sw.receive(1, f);
    const hex = toHex(f);
    const l2 = hex.slice(0, 24);
    // TC = DSCP 10 & 7, TTL from IPv4 (17), label 0, bottom of stack.
    expect(sent[0]).toBe(`${l2}8847${lse(0, 2, true, 17).toString(16).padStart(8, '0')}${hex.slice(28)}`);
    expect(sent[1]).toBe(`${l2}8848${lse(1000, 2, false, 16).toString(16).padStart(8, '0')}${lse(1000, 2, true, 16).toString(16).padStart(8, '0')}${hex.slice(28)}`);
    sw.receive(2, labelled(f, [lse(5, 0, true, 3)]));
    expect(sent[2]).toBe(hex);
  });

  it('dec_mpls_ttl at 1 sends the packet to the controller and ends the actions', () => {
    const sent: number[] = [];
    const reasons: string[] = [];
    const sw = new Switch({ onOutput: (p) => sent.push(p), onPacketIn: (pi) => reasons.push(pi.reason) });
    for (const n of [1, 2]) sw.addPort({ number: n });
    sw.addFlow('table=0,in_port=1,mpls,actions=dec_mpls_ttl,output:2');
    // Not MPLS: OVS stops the list too, without a packet-in (a bucket is not checked against a match).
    sw.addGroup('group_id=1,type=all,bucket=dec_mpls_ttl,output:1');
    sw.addFlow('table=0,in_port=2,ip,actions=group:1');
    sw.receive(1, labelled(udp4(), [lse(5, 0, true, 1)]));
    sw.receive(2, udp4());
    sw.receive(1, labelled(udp4(), [lse(5, 0, true, 2)]));
    expect(reasons).toEqual(['invalid_ttl']);
    expect(sent).toEqual([2]);
  });

  // The translation cache keys on the label stack, so these are cached paths. A pop that needs the
  // IP header after it (recirculation) is not cacheable (docs/openflow-differences.md).
  it('allocates nothing per frame when pushing, rewriting and popping labels', () => {
    const cases: [string, Uint8Array][] = [
      ['table=0,in_port=1,ip,actions=push_mpls:0x8847,set_field:9->mpls_label,output:2', udp4()],
      ['table=0,in_port=1,mpls,actions=dec_mpls_ttl,set_mpls_tc(3),pop_mpls:0x0800,mod_dl_src:02:00:00:00:00:01,output:2', labelled(udp4(), [lse(5, 0, true, 30)])],
    ];
    for (const [flow, frame] of cases) {
      const sw = new Switch({ onOutput: () => {}, clock: new VirtualClock() });
      for (const n of [1, 2]) sw.addPort({ number: n });
      sw.addFlow(flow);
      for (let i = 0; i < 20000; i++) sw.receive(1, frame);
      const g = minHeapGrowth(() => {
        for (let i = 0; i < 100_000; i++) sw.receive(1, frame);
      });
      expect(g.min, `${flow}: heap growth per 100k frames (${g.clean} of ${g.rounds} rounds without a GC)`).toBeLessThan(256 * 1024);
      expect(sw.port(2)!.stats.txPackets).toBe(20_000 + g.rounds * 100_000);
    }
  });
});
