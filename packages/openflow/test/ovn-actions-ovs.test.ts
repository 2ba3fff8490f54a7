/**
 * The actions ovn-controller emits that the switch gained for the physical layer (issue 9):
 * `push:`/`pop:` (the value stack), `clone(...)`, `check_pkt_larger(N)->F[b]`,
 * `bundle(...,active_backup,...)`, `dec_ttl()`, `controller(...,pause)` and `ct(exec(move:...))`.
 * Parsed and printed as OVS prints them, and run byte-identically to real Open vSwitch 3.1 on the
 * same flows and frames (skips with a reason when OVS is not installed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { requireTools } from '@ovnts/testkit';
import { Switch, formatActionList, parseActionList } from '@ovnts/openflow';
import { OvsBridge, ours, type Scenario } from './ovs-harness.js';

const req = requireTools('OVS pipeline differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');

function udp(len = 29, ttl = 64): Uint8Array {
  return new PacketBuilder()
    .ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' })
    .ipv4({ src: '10.0.0.1', dst: '10.0.0.2', ttl })
    .udp({ srcPort: 1234, dstPort: 53 })
    .payload('x'.repeat(len))
    .build();
}

describe('parse and print as OVS', () => {
  const cases: [string, string][] = [
    ['push:NXM_NX_REG0[],push:NXM_OF_ETH_SRC[],pop:NXM_NX_REG0[],pop:NXM_OF_ETH_SRC[]', 'push:NXM_NX_REG0[],push:NXM_OF_ETH_SRC[],pop:NXM_NX_REG0[],pop:NXM_OF_ETH_SRC[]'],
    ['push:NXM_NX_XXREG0[96..127]', 'push:NXM_NX_XXREG0[96..127]'],
    ['clone(ct_clear,set_field:0x5->metadata,resubmit(,8))', 'clone(ct_clear,set_field:0x5->metadata,resubmit(,8))'],
    ['check_pkt_larger(1514)->NXM_NX_REG10[0]', 'check_pkt_larger(1514)->NXM_NX_REG10[0]'],
    ['bundle(eth_src,0,active_backup,ofport,members:3,4)', 'bundle(eth_src,0,active_backup,ofport,members:3,4)'],
    ['dec_ttl()', 'dec_ttl()'],
    ['controller(userdata=00.00.00.02.00.00.00.00,pause)', 'controller(userdata=00.00.00.02.00.00.00.00,pause)'],
    ['ct(commit,zone=NXM_NX_REG13[0..15],exec(set_field:0/0x1->ct_mark,move:NXM_NX_XXREG0[0..31]->NXM_NX_CT_LABEL[96..127]))', 'ct(commit,zone=NXM_NX_REG13[0..15],exec(set_field:0/0x1->ct_mark,move:NXM_NX_XXREG0[0..31]->NXM_NX_CT_LABEL[96..127]))'],
  ];
  it.each(cases)('%s', (text, printed) => {
    expect(formatActionList(parseActionList(text, text, 0, { hasVlan: false, nwProto: 17 }))).toBe(printed);
  });
  it('refuses what OVS refuses', () => {
    const add = (t: string) => () => new Switch().addFlow(`ip,actions=${t}`);
    expect(add('check_pkt_larger(1514)->NXM_NX_REG10[0..1]')).toThrow(/Only 1-bit destination field is allowed/);
    expect(add('ct(commit,exec(move:NXM_NX_REG0[]->NXM_NX_REG1[]))')).toThrow(/ct_mark or ct_label/);
    expect(add('push:NOT_A_FIELD[]')).toThrow(/unknown field/);
  });
});

const SCENARIOS: Scenario[] = [
  {
    name: 'the value stack swaps fields (OVN exchange and get_arp saves)',
    flows: [
      'table=0,in_port=1,ip,actions=push:NXM_OF_IP_SRC[],push:NXM_OF_IP_DST[],pop:NXM_OF_IP_SRC[],pop:NXM_OF_IP_DST[],output:2,push:NXM_OF_ETH_SRC[],set_field:00:00:00:00:00:99->eth_src,output:3,pop:NXM_OF_ETH_SRC[],output:4',
    ].join('\n'),
    frames: [{ port: 1, frame: udp() }],
  },
  {
    name: 'clone runs on a copy: the flow after it is the original',
    flows: [
      'table=0,in_port=1,ip,actions=clone(set_field:00:00:00:00:00:aa->eth_dst,set_field:1.2.3.4->ip_dst,output:2,resubmit(,1)),output:3',
      'table=1,ip,actions=set_field:9->nw_ttl,output:4',
    ].join('\n'),
    frames: [{ port: 1, frame: udp() }],
  },
  {
    name: 'check_pkt_larger compares the length without Ethernet padding',
    flows: [
      'table=0,in_port=1,ip,actions=check_pkt_larger(100)->NXM_NX_REG0[0],resubmit(,1)',
      'table=1,reg0=0x1/0x1,actions=output:2',
      'table=1,reg0=0/0x1,actions=output:3',
    ].join('\n'),
    frames: [
      { port: 1, frame: udp(20) },
      { port: 1, frame: udp(100) },
    ],
  },
  {
    name: 'bundle active_backup outputs to the first live member',
    flows: 'table=0,in_port=1,actions=bundle(eth_src,0,active_backup,ofport,members:3,2)',
    frames: [{ port: 1, frame: udp() }],
  },
  {
    name: 'dec_ttl() drops an expiring packet without a packet-in',
    flows: 'table=0,in_port=1,ip,actions=dec_ttl(),output:2',
    frames: [
      { port: 1, frame: udp(29, 5) },
      { port: 1, frame: udp(29, 1) },
    ],
  },
  {
    name: 'controller(pause) ends the translation',
    flows: 'table=0,in_port=1,ip,actions=output:2,controller(userdata=01.02,pause),output:3',
    frames: [{ port: 1, frame: udp() }],
  },
];

describe.skipIf(req.skip)('byte-identical to Open vSwitch', () => {
  let ovs: OvsBridge;
  beforeAll(() => {
    ovs = new OvsBridge(4);
  }, 30_000);
  afterAll(() => ovs?.stop());

  for (const s of SCENARIOS) {
    it(s.name, () => {
      const paths = ovs.load(s.flows);
      const theirs = ovs.run(s.frames.map((f) => ({ port: f.port, hex: toHex(f.frame) })), paths);
      const mine = ours(s, 4);
      expect(theirs.flat().length, 'OVS sent something').toBeGreaterThan(0);
      for (let p = 0; p < 4; p++) expect(mine[p]!.map((b) => toHex(b)), `port ${p + 1}`).toEqual(theirs[p]!.map((b) => toHex(b)));
    });
  }
});
