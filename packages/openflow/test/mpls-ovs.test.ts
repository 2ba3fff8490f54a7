/**
 * MPLS against real Open vSwitch 3.1: frames with and without label stacks go through flows that
 * push, pop, set and decrement labels (alone, between outputs, in action sets and group buckets,
 * and with the recirculation OVS needs after the last label is popped); every port must transmit
 * the same frames byte for byte, and `ofproto/trace` must print the same text (recirculation ids
 * renumbered, as trace-compare.ts does for every differential trace).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { requireTools } from '@ovnts/testkit';
import { Switch, formatTrace } from '@ovnts/openflow';
import { OvsBridge, ours, type Scenario } from './ovs-harness.js';
import { diffTrace } from './differential/trace-compare.js';

const req = requireTools('OVS MPLS differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');

function udp4(tos = 0x28, ttl = 17): Uint8Array {
  return new PacketBuilder()
    .ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' })
    .ipv4({ src: '10.0.0.1', dst: '10.0.0.2', ttl, dscp: tos >> 2, ecn: tos & 3 })
    .udp({ srcPort: 1234, dstPort: 53, checksum: true })
    .payload('mpls payload, udp')
    .build();
}

function tcp6(): Uint8Array {
  return new PacketBuilder()
    .ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' })
    .ipv6({ src: '2001:db8::1', dst: '2001:db8::2', hopLimit: 33 })
    .tcp({ srcPort: 1000, dstPort: 80, flags: 'PA' })
    .payload('v6')
    .build();
}

function tagged(): Uint8Array {
  return new PacketBuilder()
    .ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' })
    .vlan({ vid: 7, pcp: 2, dei: false })
    .ipv4({ src: '10.0.0.1', dst: '10.0.0.3', ttl: 4 })
    .udp({ srcPort: 7, dstPort: 9, checksum: false })
    .payload('tagged')
    .build();
}

function arp(): Uint8Array {
  return new PacketBuilder()
    .ethernet({ src: '50:54:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff' })
    .arp({ op: 1, sha: '50:54:00:00:00:01', spa: '10.0.0.1', tpa: '10.0.0.2' })
    .build();
}

/** A label stack entry. */
const lse = (label: number, tc: number, bos: boolean, ttl: number): number => ((label << 12) | (tc << 9) | (bos ? 0x100 : 0) | ttl) >>> 0;

/** `inner` (an Ethernet frame, VLAN tags kept) with the label stack between its L2 header and its payload. */
function labelled(inner: Uint8Array, labels: number[], ethertype = 0x8847): Uint8Array {
  let l2 = 12;
  while (((inner[l2]! << 8) | inner[l2 + 1]!) === 0x8100) l2 += 4;
  const out = new Uint8Array(inner.length + 4 * labels.length);
  out.set(inner.subarray(0, l2), 0);
  out[l2] = ethertype >>> 8;
  out[l2 + 1] = ethertype & 0xff;
  labels.forEach((v, i) => {
    const o = l2 + 2 + 4 * i;
    out[o] = v >>> 24;
    out[o + 1] = (v >>> 16) & 0xff;
    out[o + 2] = (v >>> 8) & 0xff;
    out[o + 3] = v & 0xff;
  });
  out.set(inner.subarray(l2 + 2), l2 + 2 + 4 * labels.length);
  return out;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'push onto IPv4, IPv6, ARP and tagged frames (TC from DSCP, TTL from IP or 64, label 0 or 2)',
    flows: [
      'table=0,priority=10,in_port=1,ip,actions=output:2,push_mpls:0x8847,output:3,push_mpls:0x8848,set_field:77->mpls_label,set_mpls_ttl(3),output:4',
      'table=0,priority=10,in_port=1,ipv6,actions=mod_dl_src:02:00:00:00:00:09,push_mpls:0x8847,set_mpls_tc(5),output:2',
      'table=0,priority=10,in_port=1,arp,actions=push_mpls:0x8847,dec_mpls_ttl,output:3',
      'table=0,priority=20,in_port=1,dl_vlan=7,actions=push_mpls:0x8847,output:2,pop_vlan,output:3',
    ].join('\n'),
    frames: [
      { port: 1, frame: udp4() },
      { port: 1, frame: udp4(0xfc, 0) },
      { port: 1, frame: tcp6() },
      { port: 1, frame: arp() },
      { port: 1, frame: tagged() },
    ],
  },
  {
    name: 'rewrites before a first push are committed first; sets of L3 after it are ignored',
    flows: 'table=0,in_port=1,udp,actions=mod_nw_dst:10.9.9.9,mod_tp_dst:99,push_mpls:0x8847,output:2,pop_mpls:0x0800,output:3',
    frames: [{ port: 1, frame: udp4() }],
  },
  {
    name: 'set, move and decrement on received label stacks (one, two, four labels)',
    flows: [
      'table=0,priority=10,in_port=1,mpls,mpls_bos=1,actions=set_mpls_label(1000),output:2,dec_mpls_ttl,set_field:6->mpls_tc,output:3,move:NXM_NX_MPLS_TTL[]->OXM_OF_MPLS_LABEL[0..7],output:4',
      'table=0,priority=10,in_port=1,mpls,mpls_bos=0,actions=dec_mpls_ttl,output:2,pop_mpls:0x8847,output:3,push_mpls:0x8847,push_mpls:0x8847,output:4',
      'table=0,priority=5,in_port=2,mplsm,actions=load:0x12345->NXM_NX_REG3[0..19],move:NXM_NX_REG3[0..19]->OXM_OF_MPLS_LABEL[],set_mpls_ttl(200),output:1',
    ].join('\n'),
    frames: [
      { port: 1, frame: labelled(udp4(), [lse(16, 1, true, 64)]) },
      { port: 1, frame: labelled(udp4(), [lse(16, 1, true, 1)]) },
      { port: 1, frame: labelled(udp4(), [lse(100, 7, false, 9), lse(200, 0, true, 30)]) },
      { port: 1, frame: labelled(udp4(), [lse(1, 0, false, 2), lse(2, 0, false, 3), lse(3, 0, false, 4), lse(4, 0, true, 5)]) },
      { port: 2, frame: labelled(udp4(), [lse(5, 3, true, 7)], 0x8848) },
    ],
  },
  {
    name: 'pop to IP, then actions that need the IP header (recirculation) and ones that do not',
    flows: [
      'table=0,priority=10,in_port=1,mpls,mpls_label=16,actions=pop_mpls:0x0800,output:2,mod_dl_dst:02:00:00:00:00:05,output:3,dec_ttl,mod_nw_src:10.7.7.7,output:4',
      'table=0,priority=10,in_port=1,mpls,mpls_label=17,actions=pop_mpls:0x0800,resubmit(,1)',
      'table=0,priority=10,in_port=1,mpls,mpls_label=18,actions=pop_mpls:0x86dd,set_field:2001:db8::99->ipv6_dst,output:2',
      'table=0,priority=10,in_port=1,mpls,mpls_label=19,actions=pop_mpls:0x8847,output:2,pop_mpls:0x0800,output:3',
      'table=1,priority=10,udp,nw_dst=10.0.0.2,actions=mod_tp_dst:5353,output:3',
      'table=1,priority=5,actions=output:4',
    ].join('\n'),
    frames: [
      { port: 1, frame: labelled(udp4(), [lse(16, 0, true, 9)]) },
      { port: 1, frame: labelled(udp4(0, 1), [lse(16, 0, true, 9)]) },
      { port: 1, frame: labelled(udp4(), [lse(17, 0, true, 9)]) },
      { port: 1, frame: labelled(tcp6(), [lse(18, 0, true, 9)]) },
      { port: 1, frame: labelled(udp4(), [lse(19, 0, false, 9), lse(20, 0, true, 8)]) },
      { port: 1, frame: labelled(tagged(), [lse(17, 0, true, 9)]) },
    ],
  },
  {
    name: 'action sets and group buckets',
    groups: ['group_id=1,type=all,bucket=pop_mpls:0x0800,dec_ttl,output:2,bucket=output:3,bucket=push_mpls:0x8847,output:4'],
    flows: [
      'table=0,priority=10,in_port=1,mpls,actions=write_actions(set_mpls_ttl(5),pop_mpls:0x0800,output:2),goto_table:1',
      'table=1,actions=write_actions(dec_mpls_ttl,push_mpls:0x8848,output:3)',
      'table=0,priority=10,in_port=2,mpls,actions=group:1',
      'table=0,priority=10,in_port=3,ip,actions=write_actions(push_mpls:0x8847,set_field:9->mpls_label,output:4)',
    ].join('\n'),
    frames: [
      { port: 1, frame: labelled(udp4(), [lse(16, 0, true, 9)]) },
      { port: 2, frame: labelled(udp4(), [lse(16, 0, true, 9)]) },
      { port: 3, frame: udp4() },
    ],
  },
  {
    name: 'truncated label stacks and labels without a bottom of stack',
    flows: [
      'table=0,priority=10,in_port=1,mpls,actions=set_mpls_label(3),output:2,pop_mpls:0x0800,output:3,dec_ttl,output:4',
      'table=0,priority=5,in_port=1,actions=output:4',
    ].join('\n'),
    frames: [
      { port: 1, frame: labelled(udp4(), [lse(16, 0, true, 9)]).slice(0, 16) },
      { port: 1, frame: labelled(udp4(), [lse(16, 0, true, 9)]).slice(0, 18) },
      { port: 1, frame: labelled(udp4(), [lse(16, 0, false, 9)]).slice(0, 22) },
      { port: 1, frame: labelled(udp4(), [lse(16, 0, true, 9)]).slice(0, 30) },
    ],
  },
];

/** Microflows traced through the flows of some scenarios. */
const TRACES: { flows: string; groups?: string[]; microflows: string[] }[] = [
  {
    flows: SCENARIOS[0]!.flows,
    microflows: [
      'in_port=1,udp,nw_src=1.2.3.4,nw_dst=5.6.7.8,nw_ttl=64,nw_tos=0x20,udp_dst=53',
      'in_port=1,ipv6,ipv6_src=2001:db8::1,nw_ttl=0',
      'in_port=1,arp,arp_spa=10.0.0.1',
      'in_port=1,dl_vlan=7,dl_vlan_pcp=3,ip,nw_ttl=9',
    ],
  },
  {
    flows: SCENARIOS[2]!.flows,
    microflows: [
      'in_port=1,mpls,mpls_label=5,mpls_tc=2,mpls_ttl=9,mpls_bos=1',
      'in_port=1,mpls,mpls_label=5,mpls_ttl=1,mpls_bos=1',
      'in_port=1,mpls,mpls_label=5,mpls_ttl=4,mpls_bos=0',
      'in_port=2,mplsm,mpls_label=5,mpls_bos=1',
    ],
  },
  {
    flows: SCENARIOS[3]!.flows,
    microflows: [
      'in_port=1,mpls,mpls_label=16,mpls_ttl=9,mpls_bos=1',
      'in_port=1,mpls,mpls_label=17,mpls_ttl=9,mpls_bos=1',
      'in_port=1,mpls,mpls_label=18,mpls_ttl=9,mpls_bos=1',
      'in_port=1,mpls,mpls_label=19,mpls_ttl=9,mpls_bos=0',
    ],
  },
  {
    flows: SCENARIOS[4]!.flows,
    groups: SCENARIOS[4]!.groups,
    microflows: ['in_port=1,mpls,mpls_label=16,mpls_ttl=9,mpls_bos=1', 'in_port=2,mpls,mpls_label=16,mpls_ttl=9,mpls_bos=1', 'in_port=3,udp,nw_ttl=3'],
  },
];

describe.skipIf(req.skip)('MPLS byte-identical to Open vSwitch', () => {
  let ovs: OvsBridge;
  beforeAll(() => {
    ovs = new OvsBridge(4);
  }, 30_000);
  afterAll(() => ovs?.stop());

  for (const s of SCENARIOS) {
    it(s.name, () => {
      const paths = ovs.load(s.flows, s.groups);
      const theirs = ovs.run(s.frames.map((f) => ({ port: f.port, hex: toHex(f.frame) })), paths);
      const mine = ours(s, 4);
      expect(theirs.flat().length, 'OVS sent something').toBeGreaterThan(0);
      for (let p = 0; p < 4; p++) {
        expect(mine[p]!.map((b) => toHex(b)), `port ${p + 1}`).toEqual(theirs[p]!.map((b) => toHex(b)));
      }
    });
  }

  it('ofproto/trace prints the same text', () => {
    let n = 0;
    for (const t of TRACES) {
      ovs.load(t.flows, t.groups);
      const sw = new Switch();
      for (let i = 1; i <= 4; i++) sw.addPort({ number: i });
      for (const g of t.groups ?? []) sw.addGroup(g);
      sw.addFlows(t.flows);
      for (const m of t.microflows) {
        const d = diffTrace(formatTrace(sw.trace(m)), ovs.trace(m));
        expect(d.lines, m).toEqual([]);
        n++;
      }
    }
    expect(n).toBe(15);
  });

  it('ofproto/trace of frames prints the same text (a push onto three labels fails the translation)', () => {
    const flows = [
      'table=0,priority=10,in_port=3,mpls,actions=output:2,push_mpls:0x8847,output:1',
      'table=0,priority=10,in_port=1,mpls,actions=pop_mpls:0x0800,output:2,mod_nw_dst:10.1.1.1,output:3',
      'table=0,priority=10,in_port=2,mpls,actions=pop_mpls:0x8847,set_mpls_ttl(2),dec_mpls_ttl,output:3,pop_mpls:0x86dd,output:1',
    ].join('\n');
    ovs.load(flows);
    const sw = new Switch();
    for (let i = 1; i <= 4; i++) sw.addPort({ number: i });
    sw.addFlows(flows);
    const frames: [number, Uint8Array][] = [
      [3, labelled(udp4(), [lse(1, 0, false, 9), lse(2, 0, false, 9), lse(3, 0, false, 9), lse(4, 0, true, 9)])],
      [3, labelled(udp4(), [lse(1, 0, false, 9), lse(2, 0, true, 9)])],
      [1, labelled(udp4(), [lse(16, 0, true, 9)])],
      [1, labelled(tagged(), [lse(16, 0, true, 9)])],
      [2, labelled(tcp6(), [lse(7, 1, false, 9), lse(8, 2, true, 5)])],
    ];
    for (const [port, f] of frames) {
      const theirs = ovs.appctl(['ofproto/trace', 'br0', `in_port=${port}`, toHex(f)]);
      const d = diffTrace(formatTrace(sw.trace(f, port)), theirs);
      expect(d.lines, toHex(f)).toEqual([]);
    }
  });
});
