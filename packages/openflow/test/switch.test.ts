/**
 * The switch and its pipeline on their own (no OVS needed): per-action bytes with valid checksums,
 * instruction and action-set order, groups, resubmit limits, in_port rules, tunnels, counters,
 * flow mods, packet-ins, and robustness on arbitrary frames and tables.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PacketBuilder, internetChecksum, l4ChecksumV4, l4ChecksumV6, u16 } from '@ovnts/packet';
import { DecapResult, decapsulate, GeneveOptionCursor } from '@ovnts/geneve';
import { MAX_RESUBMITS, OFPP, OpenFlowError, Switch, VirtualClock, formatTrace, parseMicroflow, type PacketIn } from '@ovnts/openflow';
import { minHeapGrowth } from '@ovnts/testkit';

const A = '50:54:00:00:00:01';
const B = '50:54:00:00:00:02';

function tcp4(ttl = 64): Uint8Array {
  return new PacketBuilder().ethernet({ src: A, dst: B }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2', ttl }).tcp({ srcPort: 1000, dstPort: 80, flags: 'S' }).payload('abc').build();
}
function udp4(checksum = true): Uint8Array {
  return new PacketBuilder().ethernet({ src: A, dst: B }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 5, dstPort: 53, checksum }).payload('q').build();
}

/** A switch with ports 1..n collecting what each port sends. */
function rig(n = 4, opts: { pins?: PacketIn[] } = {}): { sw: Switch; out: Map<number, Uint8Array[]>; sent: () => [number, string][] } {
  const out = new Map<number, Uint8Array[]>();
  const order: [number, string][] = [];
  const sw = new Switch({
    onOutput: (p, f) => {
      if (!out.has(p)) out.set(p, []);
      out.get(p)!.push(f.slice());
      order.push([p, Buffer.from(f).toString('hex')]);
    },
    onPacketIn: (pi) => opts.pins?.push({ ...pi, frame: pi.frame.slice() }),
  });
  for (let i = 1; i <= n; i++) sw.addPort({ number: i });
  return { sw, out, sent: () => order };
}

const ipOk = (f: Uint8Array, l3 = 14): boolean => internetChecksum(f, l3, 20) === 0;

describe('actions: bytes out', () => {
  it('set_field on IPv4 addresses, TTL, ToS and TCP ports keeps every checksum valid', () => {
    const { sw, out } = rig();
    sw.addFlow('in_port=1,tcp,actions=mod_nw_src:192.168.1.1,mod_nw_dst:172.16.5.4,mod_nw_tos:184,mod_tp_src:4444,mod_tp_dst:8443,dec_ttl,output:2');
    sw.receive(1, tcp4());
    const f = out.get(2)![0]!;
    expect(ipOk(f)).toBe(true);
    expect(f[14 + 1]).toBe(184);
    expect(f[14 + 8]).toBe(63);
    expect([u16(f, 34), u16(f, 36)]).toEqual([4444, 8443]);
    expect(l4ChecksumV4(f, 34, f.length - 34, 6, 0xc0a80101, 0xac100504)).toBe(0);
  });

  it('UDP checksum 0 stays 0 over IPv4; a non-zero one is updated', () => {
    const { sw, out } = rig();
    sw.addFlow('in_port=1,udp,actions=mod_nw_dst:10.9.9.9,mod_tp_dst:99,output:2');
    sw.receive(1, udp4(false));
    sw.receive(1, udp4(true));
    const [a, b] = out.get(2)!;
    expect(u16(a!, 40)).toBe(0);
    expect(ipOk(a!)).toBe(true);
    expect(l4ChecksumV4(b!, 34, b!.length - 34, 17, 0x0a000001, 0x0a090909)).toBe(0);
  });

  it('each output sends the packet as modified so far', () => {
    const { sw, out } = rig();
    sw.addFlow('in_port=1,ip,actions=output:2,mod_dl_dst:02:00:00:00:00:09,output:3,mod_dl_dst:50:54:00:00:00:02,output:4');
    const f = tcp4();
    sw.receive(1, f);
    expect(out.get(2)![0]).toEqual(f);
    expect(Array.from(out.get(3)![0]!.subarray(0, 6))).toEqual([2, 0, 0, 0, 0, 9]);
    expect(out.get(4)![0]).toEqual(f);
  });

  it('push_vlan / set vlan_vid / pop_vlan edit the tag; the input frame is never modified', () => {
    const { sw, out } = rig();
    sw.addFlow('in_port=1,vlan_tci=0x0000/0x1000,actions=push_vlan:0x8100,set_field:4106->vlan_vid,set_field:5->vlan_pcp,output:2,pop_vlan,output:3');
    const f = tcp4();
    const copy = f.slice();
    sw.receive(1, f);
    const t = out.get(2)![0]!;
    expect(t.length).toBe(f.length + 4);
    expect([u16(t, 12), u16(t, 14)]).toEqual([0x8100, (5 << 13) | 10]);
    expect(out.get(3)![0]).toEqual(copy);
    expect(f).toEqual(copy);
  });

  it('IPv6 address rewrite updates the TCP checksum; hop limit decrements', () => {
    const { sw, out } = rig();
    sw.addFlow('in_port=1,tcp6,actions=set_field:2001:db8::77->ipv6_dst,dec_ttl,output:2');
    const f = new PacketBuilder().ethernet({ src: A, dst: B }).ipv6({ src: '2001:db8::1', dst: '2001:db8::2', hopLimit: 9 }).tcp({ srcPort: 1, dstPort: 2 }).build();
    sw.receive(1, f);
    const o = out.get(2)![0]!;
    expect(o[14 + 7]).toBe(8);
    expect(l4ChecksumV6(o, 54, o.length - 54, 6, 14)).toBe(0);
  });

  it('load/move on subfields', () => {
    const { sw, out } = rig();
    sw.addFlow('in_port=1,ip,actions=load:0x2a->NXM_NX_REG0[8..15],move:NXM_NX_REG0[8..15]->NXM_NX_IP_TTL[],output:2');
    sw.receive(1, tcp4());
    const o = out.get(2)![0]!;
    expect(o[22]).toBe(0x2a);
    expect(ipOk(o)).toBe(true);
  });
});

describe('instructions and the action set', () => {
  it('apply_actions run first, write_actions run at the end in action-set order', () => {
    const { sw, sent } = rig();
    sw.addFlow('table=0,in_port=1,actions=output:2,write_actions(output:3,set_field:02:00:00:00:00:03->eth_src),goto_table:1');
    sw.addFlow('table=1,actions=output:4');
    sw.receive(1, tcp4());
    expect(sent().map(([p]) => p)).toEqual([2, 4, 3]);
    expect(sent()[2]![1].slice(12, 24)).toBe('020000000003');
  });

  it('an action set without output/group does nothing; clear_actions empties it', () => {
    const { sw, sent } = rig();
    sw.addFlow('table=0,in_port=1,actions=write_actions(output:3),goto_table:1');
    sw.addFlow('table=1,actions=clear_actions,write_actions(set_field:02:00:00:00:00:03->eth_src)');
    sw.receive(1, tcp4());
    expect(sent()).toEqual([]);
  });

  it('the action set still runs after a later table misses (as OVS does)', () => {
    const { sw, sent } = rig();
    sw.addFlow('table=0,actions=write_actions(output:2),goto_table:9');
    sw.receive(1, tcp4());
    expect(sent().map(([p]) => p)).toEqual([2]);
  });

  it('write_metadata and goto_table; backward goto_table is refused', () => {
    const { sw, sent } = rig();
    sw.addFlow('table=0,actions=write_metadata:0x5/0xff,goto_table:2');
    sw.addFlow('table=2,metadata=0x5,actions=output:3');
    sw.receive(1, tcp4());
    expect(sent().map(([p]) => p)).toEqual([3]);
    for (const bad of ['table=3,actions=goto_table:1', 'table=3,actions=goto_table:3']) {
      expect(() => sw.addFlow(bad), bad).toThrow(expect.objectContaining({ name: 'OpenFlowError', errorName: 'OFPBIC_BAD_TABLE_ID' }));
    }
  });
});

describe('resubmit, groups, in_port', () => {
  it('resubmit recursion stops at depth 64 and drops everything', () => {
    const { sw, sent } = rig();
    sw.addFlow('table=0,actions=output:2,resubmit(,0)');
    sw.receive(1, tcp4());
    expect(sent()).toEqual([]);
    expect(sw.trace(tcp4(), 1).error).toBe('Recursion too deep');
  });

  it('more than 4096 lookups fail the translation', () => {
    const { sw } = rig();
    for (let t = 0; t < 13; t++) sw.addFlow(`table=${t},actions=resubmit(,${t + 1}),resubmit(,${t + 1})`);
    const r = sw.trace(tcp4(), 1);
    expect(r.error).toBe('Too many resubmits');
    expect(formatTrace(r)).toContain(`over ${MAX_RESUBMITS} resubmit actions`);
  });

  it('resubmit(port,table) looks up with that in_port but keeps it for the actions', () => {
    const { sw, sent } = rig();
    sw.addFlow('table=0,in_port=1,actions=resubmit(3,1)');
    sw.addFlow('table=1,in_port=3,actions=output:3,output:in_port');
    sw.receive(1, tcp4());
    expect(sent().map(([p]) => p)).toEqual([3, 1]);
  });

  it('output to the ingress port is dropped unless IN_PORT; set_field in_port changes that', () => {
    const { sw, sent } = rig();
    sw.addFlow('in_port=1,actions=output:1,output:in_port,set_field:2->in_port,output:1');
    sw.receive(1, tcp4());
    expect(sent().map(([p]) => p)).toEqual([1, 1]);
  });

  it('ALL and FLOOD skip the ingress port (and FLOOD skips no-flood ports)', () => {
    const { sw, sent } = rig(4);
    sw.port(3)!.noFlood = true;
    sw.addFlow('in_port=1,actions=FLOOD');
    sw.addFlow('in_port=2,actions=ALL');
    sw.receive(1, tcp4());
    sw.receive(2, tcp4());
    expect(sent().map(([p]) => p)).toEqual([OFPP.LOCAL, 2, 4, OFPP.LOCAL, 1, 3, 4]);
  });

  it('group all clones the flow per bucket; indirect runs its bucket; buckets are action sets', () => {
    const { sw, sent } = rig();
    sw.addGroup('group_id=1,type=all,bucket=output:2,set_field:02:00:00:00:00:01->eth_dst,bucket=output:3');
    sw.addGroup('group_id=2,type=indirect,bucket=output:4,output:2');
    sw.addFlow('in_port=1,actions=group:1,group:2');
    sw.receive(1, tcp4());
    const s = sent();
    expect(s.map(([p]) => p)).toEqual([2, 3, 2]);
    expect(s[0]![1].slice(0, 12)).toBe('020000000001');
    expect(s[1]![1].slice(0, 12)).toBe('505400000002');
    expect(sw.groups.get(1)!.packets).toBe(1);
    expect(sw.groups.get(1)!.buckets[0]!.packets).toBe(1);
  });

  it('fast-failover picks the first live bucket', () => {
    const { sw, sent } = rig();
    sw.addGroup('group_id=3,type=ff,bucket=watch_port:2,actions=output:2,bucket=watch_port:3,actions=output:3');
    sw.addFlow('in_port=1,actions=group:3');
    sw.setPortUp(2, false);
    sw.receive(1, tcp4());
    expect(sent().map(([p]) => p)).toEqual([3]);
  });

  it('a flow using a missing group is refused; deleting a group deletes its flows', () => {
    const { sw } = rig();
    expect(() => sw.addFlow('actions=group:9')).toThrow(/OFPBAC_BAD_OUT_GROUP/);
    sw.addGroup('group_id=9,type=all,bucket=output:2');
    sw.addFlow('actions=group:9');
    sw.addFlow('priority=5,actions=output:3');
    sw.delGroup(9);
    expect(sw.flows().map((e) => e.flow.priority)).toEqual([5]);
  });
});

describe('controller and TTL', () => {
  it('dec_ttl at TTL 1 stops the table and sends invalid_ttl packet-ins to each controller id', () => {
    const pins: PacketIn[] = [];
    const { sw, sent } = rig(4, { pins });
    sw.addFlow('table=0,ip,actions=dec_ttl(1,2),output:2');
    sw.receive(1, tcp4(1));
    sw.receive(1, tcp4(0));
    sw.receive(1, tcp4(2));
    expect(pins.map((p) => [p.reason, p.controllerId])).toEqual([['invalid_ttl', 1], ['invalid_ttl', 2], ['invalid_ttl', 1], ['invalid_ttl', 2]]);
    expect(sent().map(([p]) => p)).toEqual([2]);
  });

  it('controller(...) sends the packet as modified so far, cut to max_len', () => {
    const pins: PacketIn[] = [];
    const { sw } = rig(4, { pins });
    sw.addFlow('cookie=0x77,in_port=1,actions=mod_dl_src:02:00:00:00:00:05,controller(max_len=20,userdata=01.02)');
    sw.receive(1, tcp4());
    expect(pins).toHaveLength(1);
    expect(pins[0]!.frame.length).toBe(20);
    expect(pins[0]!.cookie).toBe(0x77n);
    expect(pins[0]!.reason).toBe('action');
    expect(Array.from(pins[0]!.frame.subarray(6, 12))).toEqual([2, 0, 0, 0, 0, 5]);
  });
});

describe('tunnels', () => {
  it('output to a Geneve port encapsulates with tun_id and mapped tun_metadata options', () => {
    const frames: Uint8Array[] = [];
    const sw = new Switch();
    sw.addPort({ number: 1 });
    sw.addPort({ number: 10, kind: 'tunnel', tunnel: { localIp: 0xc0a80001, ethSrc: 0x020000000001, ethDst: 0x020000000002 }, sink: (_p, f) => frames.push(f.slice()) });
    sw.setTlvMap([{ optClass: 0x0102, type: 0x80, len: 4, index: 0 }]);
    sw.addFlow('in_port=1,actions=set_field:0x1234->tun_id,set_field:192.168.0.2->tun_dst,set_field:0xabcd->tun_metadata0,output:10');
    const inner = tcp4();
    sw.receive(1, inner);
    expect(frames).toHaveLength(1);
    const r = new DecapResult();
    expect(decapsulate(frames[0]!, 0, frames[0]!.length, r)).toBe(true);
    expect(r.vni).toBe(0x1234);
    expect(r.dst4).toBe(0xc0a80002);
    expect(r.src4).toBe(0xc0a80001);
    expect(r.critical).toBe(true);
    expect(r.inner()).toEqual(inner);
    const c = new GeneveOptionCursor().reset(frames[0]!, r.optOffset, r.optLength);
    expect(c.next()).toBe(true);
    expect([c.optClass, c.type, c.dataLength]).toEqual([0x0102, 0x80, 4]);
    expect(Array.from(frames[0]!.subarray(c.dataOffset, c.dataOffset + 4))).toEqual([0, 0, 0xab, 0xcd]);

    // Received back on the tunnel port: the metadata is matchable and the inner frame forwarded.
    const got: Uint8Array[] = [];
    sw.port(1)!.sink = (_p, f) => got.push(f.slice());
    sw.addFlow('in_port=10,tun_id=0x1234,tun_metadata0=0xabcd,actions=output:1');
    sw.receive(10, frames[0]!);
    expect(got).toEqual([inner]);
  });

  it('without tun_dst the tunnel refuses to output', () => {
    const sw = new Switch();
    sw.addPort({ number: 1 });
    sw.addPort({ number: 10, kind: 'tunnel', tunnel: { localIp: 1, ethSrc: 1, ethDst: 2 } });
    sw.addFlow('in_port=1,actions=output:10');
    expect(formatTrace(sw.trace(tcp4(), 1))).toContain('>> Tunneling decided against output');
  });
});

describe('counters and flow mods', () => {
  it('counts per flow, per table and per port; replacing keeps counters unless reset_counts', () => {
    const { sw } = rig();
    sw.addFlow('table=0,in_port=1,actions=goto_table:1');
    sw.addFlow('table=1,priority=7,actions=output:2');
    const f = tcp4();
    sw.receive(1, f);
    sw.receive(1, f);
    sw.receive(2, f);
    expect(sw.tables[0]!.lookups).toBe(3);
    expect(sw.tables[0]!.matched).toBe(2);
    expect(sw.tables[1]!.lookups).toBe(2);
    const e = sw.flows(1)[0]!;
    expect([e.packets, e.bytes]).toEqual([2, 2 * f.length]);
    expect(sw.port(2)!.stats.txPackets).toBe(2);
    expect(sw.port(1)!.stats.rxBytes).toBe(2 * f.length);
    sw.addFlow('table=1,priority=7,cookie=0x9,actions=output:3');
    expect(sw.flows(1)).toHaveLength(1);
    expect(sw.flows(1)[0]!.packets).toBe(2);
    expect(sw.flows(1)[0]!.flow.cookie).toBe(9n);
    sw.addFlow('table=1,priority=7,reset_counts,actions=output:3');
    expect(sw.flows(1)[0]!.packets).toBe(0);
    expect(sw.dumpFlows(1)[0]).toContain('n_packets=0');
  });

  it('modify and delete, loose and strict, with cookie masks; check_overlap', () => {
    const { sw } = rig();
    sw.addFlow('cookie=0x1,priority=10,in_port=1,tcp,actions=output:2');
    sw.addFlow('cookie=0x2,priority=20,in_port=1,actions=output:2');
    sw.addFlow('cookie=0x2,priority=30,in_port=2,actions=output:3');
    expect(sw.modFlows('in_port=1 actions=output:4')).toBe(2);
    expect(sw.modFlows('priority=10,in_port=1 actions=output:3', { strict: true })).toBe(0);
    expect(sw.modFlows('priority=10,in_port=1,tcp actions=output:3', { strict: true })).toBe(1);
    expect(sw.delFlows('cookie=0x2/0xff')).toBe(2);
    expect(sw.flows().map((e) => e.flow.priority)).toEqual([10]);
    expect(() => sw.addFlow('priority=10,check_overlap,in_port=1,actions=drop')).toThrow(/OFPFMFC_OVERLAP/);
    expect(sw.delFlows()).toBe(1);
  });

  it('refuses what OVS refuses (checkFlow)', () => {
    const { sw } = rig();
    expect(() => sw.addFlow('actions=mod_nw_src:1.2.3.4')).toThrow();
    expect(() => sw.addFlow('actions=dec_ttl')).toThrow(OpenFlowError);
    expect(() => sw.addFlow('ip,actions=pop_vlan')).toThrow(/OFPBAC_BAD_TAG/);
  });
});

describe('robustness', () => {
  const actions = ['output:2', 'output:in_port', 'ALL', 'mod_dl_src:02:00:00:00:00:01', 'push_vlan:0x8100', 'resubmit(,1)', 'resubmit(,0)', 'group:1', 'CONTROLLER:64', 'load:0x5->NXM_NX_REG0[]', 'note:01'];
  const ipActions = ['dec_ttl', 'mod_nw_src:9.9.9.9', 'mod_nw_tos:8', 'set_field:3->ip_ecn'];
  const tcpActions = ['mod_tp_dst:9', 'mod_tp_src:1'];
  const matches = ['', 'in_port=1', 'ip', 'tcp', 'udp', 'arp', 'ipv6', 'dl_vlan=5', 'reg0=5'];

  it('never throws on arbitrary frames with random tables (and outputs are whole frames)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ table: fc.integer({ min: 0, max: 2 }), prio: fc.integer({ min: 0, max: 5 }), m: fc.constantFrom(...matches), acts: fc.array(fc.nat(100), { maxLength: 5 }) }), { maxLength: 12 }),
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(tcp4(), udp4(), tcp4(1), parseMicroflow('arp,arp_op=1').frame)), { minLength: 1, maxLength: 5 }),
        (flows, frames) => {
          const { sw } = rig(3, { pins: [] });
          sw.addGroup('group_id=1,type=all,bucket=output:3,bucket=mod_dl_dst:02:00:00:00:00:02,output:2');
          for (const f of flows) {
            const pool = [...actions, ...(['ip', 'tcp', 'udp', 'ipv6'].includes(f.m) ? ipActions : []), ...(['tcp', 'udp'].includes(f.m) ? tcpActions : [])];
            const acts = f.acts.map((i) => pool[i % pool.length]!);
            const text = `table=${f.table},priority=${f.prio}${f.m ? `,${f.m}` : ''},actions=${acts.length ? acts.join(',') : 'drop'}`;
            try {
              sw.addFlow(text);
            } catch (e) {
              if (!(e instanceof OpenFlowError) && !(e instanceof SyntaxError)) throw e;
            }
          }
          for (const fr of frames) {
            sw.receive(1, fr);
            const t = sw.trace(fr, 1);
            expect(typeof formatTrace(t)).toBe('string');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a trace whose ct(table=N) recirculates into itself stops at the trace limit and says so (issue 14 item 6)', () => {
    const sw = new Switch({ clock: new VirtualClock() });
    sw.addPort({ number: 1 });
    sw.addFlow('table=0,ip,actions=ct(table=0)');
    const t = sw.trace('in_port=1,ip');
    expect(t.recirculations).toHaveLength(4096);
    expect(t.recircLimit).toBe(4096);
    const text = formatTrace(t);
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/^>> trace stopped after 4096 recirculations with more pending .*MAX_RECIRC_DEPTH\)$/);
    // A trace that ends by itself carries no such line.
    sw.delFlows('');
    sw.addFlow('table=0,ip,ct_state=-trk,actions=ct(table=0)');
    sw.addFlow('table=0,ip,ct_state=+trk,actions=drop');
    const short = sw.trace('in_port=1,ip');
    expect(short.recircLimit).toBeUndefined();
    expect(formatTrace(short)).not.toContain('trace stopped');
  });

  it('allocates nothing per frame on the unmodified-forwarding path', () => {
    // A VirtualClock: RealClock's performance.now() boxes its result (docs/openflow-pipeline.md).
    const sw = new Switch({ onOutput: () => {}, clock: new VirtualClock() });
    sw.addPort({ number: 1 });
    sw.addPort({ number: 2 });
    sw.addFlow('table=0,in_port=1,tcp,actions=goto_table:1');
    sw.addFlow('table=1,tcp,tp_dst=80,actions=output:2');
    const f = tcp4();
    for (let i = 0; i < 20000; i++) sw.receive(1, f);
    const g = minHeapGrowth(() => {
      for (let i = 0; i < 100_000; i++) sw.receive(1, f);
    });
    expect(g.min, `heap growth per 100k frames (${g.clean} of ${g.rounds} rounds without a GC)`).toBeLessThan(256 * 1024);
    expect(sw.port(2)!.stats.txPackets).toBe(20_000 + g.rounds * 100_000);
  });
});
