/**
 * Differential: the same `ovs-ofctl -O OpenFlow13` / `-O OpenFlow15` command sequences against a
 * real ovs-vswitchd bridge (the OVS oracle) and against our switch listening on loopback
 * (`OfpAgent` + `listenOpenFlow`, the body of `ovnts switch`): identical printed output, exit
 * status and error names after normalising durations and ages. Malformed messages sent over a
 * raw socket get OVS's error replies and the connection keeps working.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { flowText, randomFlowTable, requireTools, type OvsOracle } from '@ovnts/testkit';
import { encodeHello, type OfpListener, type Switch } from '@ovnts/openflow';
import { freePort, startWireRig } from './wire-rig.js';

const req = requireTools('OpenFlow wire differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const PORTS = [1, 2, 3, 4];

let ovs: OvsOracle;
let ours: OfpListener;
let sw: Switch;
let dir: string;

beforeAll(async () => {
  if (req.skip) return;
  ({ ovs, sw, ours } = await startWireRig(PORTS));
  dir = ovs.dir;
}, 60_000);

afterAll(async () => {
  await ours?.close();
  await ovs?.stop();
});

/** Durations and ages differ between any two runs; everything else must be equal. */
function normalise(s: string): string {
  return s
    .replace(/duration=[0-9.]+s/g, 'duration=Xs')
    .replace(/(idle_age|hard_age)=\d+/g, '$1=X')
    .replace(/\(xid=0x[0-9a-f]+\)/g, '(xid=X)')
    .replace(/^.*\|(WARN|INFO|DBG)\|.*$/gm, '')
    .replace(/tcp:127\.0\.0\.1:\d+|br0/g, 'SWITCH')
    .trim();
}

async function both(version: string, cmd: string, ...args: string[]): Promise<{ ovs: string; ours: string }> {
  const run = async (target: string): Promise<string> => {
    const r = await ovs.exec('ovs-ofctl', [...(version === DEFAULT ? [] : ['-O', version]), cmd, target, ...args]);
    // OVS lists groups in hash-table order (dump-groups has no --sort): compare them sorted.
    const stdout = cmd === 'dump-groups' ? r.stdout.split('\n').sort().join('\n') : r.stdout;
    return normalise(`exit=${r.code}\n${stdout}\n${r.stderr}`);
  };
  const [a, b] = await Promise.all([run('br0'), run(`tcp:127.0.0.1:${ours.port}`)]);
  return { ovs: a, ours: b };
}

async function same(version: string, cmd: string, ...args: string[]): Promise<string> {
  const r = await both(version, cmd, ...args);
  expect(r.ours, `ovs-ofctl ${version === DEFAULT ? '' : `-O ${version} `}${cmd} ${args.join(' ')}`).toBe(r.ovs);
  return r.ovs;
}

/** No `-O`: ovs-ofctl's own choice (OpenFlow 1.0 with the Nicira extensions it negotiates). */
const DEFAULT = 'default';
/**
 * Every sequence runs in these: OpenFlow 1.3 and 1.5 (OXM), OpenFlow 1.0 and ovs-ofctl's default
 * (`ofp10_match` where it suffices, else NXT_SET_FLOW_FORMAT + NXT_FLOW_MOD with an nx_match,
 * NXT_FLOW_MOD_TABLE_ID for a table, NXST_FLOW/NXST_AGGREGATE dumps).
 */
const VERSIONS = ['OpenFlow13', 'OpenFlow15', 'OpenFlow10', DEFAULT];
/** Meters are OpenFlow 1.3+ (ovs-ofctl refuses them in 1.0 before sending anything). */
const METER_VERSIONS = ['OpenFlow13', 'OpenFlow15'];
/** Groups in every version: OpenFlow 1.0's are OVS's Nicira messages (NXT_GROUP_MOD, NXST_GROUP_DESC). */
const GROUP_VERSIONS = ['OpenFlow13', 'OpenFlow15', 'OpenFlow10', DEFAULT];

/** The flow file of a version: OpenFlow 1.0 cannot say push_vlan or write_actions (ovs-ofctl refuses the flow); its VLAN actions are in ofctl-stats.test.ts. */
function flowsFor(v: string): string[] {
  const of10 = v === 'OpenFlow10' || v === DEFAULT;
  return FLOWS.map((f) => (of10 ? f.replace('clone(push_vlan:0x8100,set_field:4097->vlan_vid,output:2)', 'clone(output:2)').replace(',write_actions(output:3),goto_table:4', ',output:3,write_metadata:0x5/0xff') : f));
}

const FLOWS = [
  'table=0,priority=10,ip,nw_src=10.0.0.1,actions=output:2,resubmit(,3)',
  'table=0,priority=20,cookie=0x5,tcp,tp_dst=80,actions=ct(commit,zone=5,nat(src=10.0.0.1:1000-2000)),output:3',
  'table=0,priority=5,cookie=0x6,in_port=1,actions=learn(table=2,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),controller(userdata=01.02,pause)',
  'table=1,priority=100,dl_vlan=5,actions=strip_vlan,output:4',
  'table=1,priority=7,cookie=0x5,udp,actions=set_field:0x1200/0xff00->reg1,move:NXM_NX_REG1[0..7]->NXM_NX_REG2[8..15],dec_ttl,output:1',
  'table=2,priority=1,ipv6,ipv6_src=fd00::1/64,actions=mod_nw_ttl:9,output:2,note:01.02.03',
  'table=3,send_flow_rem,idle_timeout=30,hard_timeout=60,importance=3,arp,arp_tpa=10.0.0.9,actions=output:4',
  'table=3,priority=9,cookie=0x7,actions=clone(push_vlan:0x8100,set_field:4097->vlan_vid,output:2),sample(probability=100,collector_set_id=1,obs_domain_id=2,obs_point_id=3),write_actions(output:3),goto_table:4',
  'table=4,conj_id=7,ip,actions=output:1',
  'table=4,priority=3,ip,nw_dst=10.0.0.1,actions=conjunction(7,1/2)',
  'table=5,priority=8,tcp,actions=multipath(eth_src,50,modulo_n,3,0,NXM_NX_REG0[0..1]),bundle(eth_src,0,hrw,ofport,members:1,2),fin_timeout(idle_timeout=5)',
];

const GROUPS = [
  'group_id=1,type=all,bucket=output:2,bucket=output:3',
  'group_id=2,type=select,bucket=weight:10,output:1,bucket=weight:20,output:2',
  'group_id=3,type=indirect,bucket=set_field:10.0.0.5->ip_dst,output:4',
  'group_id=4,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:2,output:2',
];

describe.skipIf(req.skip)('ovs-ofctl over the wire: ovnts switch vs ovs-vswitchd', () => {
  for (const v of VERSIONS) {
    it(`add-flows, dump-flows, mod-flows, del-flows with filters, dump-aggregate, packet-out (${v})`, async () => {
      await same(v, 'del-flows');
      const file = `${dir}/flows-${v}.txt`;
      writeFileSync(file, flowsFor(v).join('\n') + '\n');
      expect(await same(v, 'add-flows', file)).toMatch(/^exit=0/);
      expect((await same(v, 'dump-flows', '--sort')).split('\n').filter((l) => l.includes('actions=')).length).toBe(FLOWS.length);
      await same(v, 'dump-flows', '--rsort', 'table=0');
      await same(v, 'dump-flows', '--sort', 'cookie=0x5/-1');
      await same(v, 'dump-flows', '--sort', 'out_port=2');
      await same(v, 'dump-aggregate');
      await same(v, 'dump-aggregate', 'table=1');
      await same(v, 'mod-flows', 'table=1,udp,actions=output:2');
      await same(v, 'mod-flows', '--strict', 'table=0,priority=10,ip,nw_src=10.0.0.1,actions=output:4');
      await same(v, 'dump-flows', '--sort');
      const frame = new PacketBuilder().ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1, dstPort: 2 }).payload('x').build();
      await same(v, 'packet-out', `in_port=1 packet=${toHex(frame)} actions=resubmit(,1)`);
      await same(v, 'packet-out', `in_port=1 packet=${toHex(frame)} actions=group:99`);
      await same(v, 'dump-flows', '--sort', 'table=1');
      await same(v, 'del-flows', 'cookie=0x5/-1');
      await same(v, 'del-flows', '--strict', 'table=3,priority=9');
      await same(v, 'del-flows', 'out_port=4');
      await same(v, 'dump-flows', '--sort');
      await same(v, 'del-flows', 'table=2');
      await same(v, 'dump-aggregate');
      await same(v, 'dump-flows', '--sort');
    }, 60_000);
  }

  for (const v of GROUP_VERSIONS) {
    it(`add-groups, dump-groups, flows and packet-outs through groups, del-groups (${v})`, async () => {
      await same(v, 'del-flows');
      await same(v, 'del-groups');
      const file = `${dir}/groups-${v}.txt`;
      writeFileSync(file, GROUPS.join('\n') + '\n');
      expect(await same(v, 'add-groups', file)).toMatch(/^exit=0/);
      expect((await same(v, 'dump-groups')).split('\n').filter((l) => l.includes('group_id=')).length).toBe(GROUPS.length);
      await same(v, 'add-group', 'group_id=1,type=all,bucket=output:4');
      await same(v, 'mod-group', 'group_id=1,type=all,bucket=output:4,bucket=output:1');
      await same(v, 'mod-group', 'group_id=9,type=all,bucket=output:4');
      await same(v, 'dump-groups');
      await same(v, 'add-flow', 'table=0,priority=5,ip,actions=group:3');
      await same(v, 'add-flow', 'table=0,priority=6,udp,actions=group:1,group:4');
      const frame = new PacketBuilder().ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1, dstPort: 2 }).payload('g').build();
      await same(v, 'packet-out', `in_port=1 packet=${toHex(frame)} actions=group:2`);
      await same(v, 'dump-flows', '--sort', 'out_group=1');
      await same(v, 'del-groups', 'group_id=3');
      await same(v, 'dump-flows', '--sort');
      await same(v, 'dump-groups');
      await same(v, 'del-groups');
      await same(v, 'dump-groups');
    }, 60_000);
  }

  for (const v of METER_VERSIONS) {
    it(`add-meter, mod-meter, dump-meters, flows through meters, del-meter(s) (${v})`, async () => {
      await same(v, 'del-flows');
      await same(v, 'del-meters');
      expect(await same(v, 'add-meter', 'meter=1,kbps,burst,stats,bands=type=drop,rate=1000,burst_size=100')).toMatch(/^exit=0/);
      // OVS's userspace datapath refuses dscp_remark bands (OFPMMFC_BAD_BAND); ours meters them (docs/openflow-wire.md).
      await same(v, 'add-meter', 'meter=2,pktps,bands=type=drop,rate=10');
      await same(v, 'add-meter', 'meter=2,pktps,bands=type=drop,rate=5');
      await same(v, 'dump-meters');
      await same(v, 'mod-meter', 'meter=2,kbps,bands=type=drop,rate=50');
      await same(v, 'mod-meter', 'meter=7,kbps,bands=type=drop,rate=50');
      await same(v, 'dump-meters');
      await same(v, 'add-flow', 'table=0,priority=5,ip,actions=meter:1,output:2');
      await same(v, 'add-flow', 'table=0,priority=6,udp,actions=meter:9,output:2');
      await same(v, 'dump-flows', '--sort');
      await same(v, 'del-meter', 'meter=2');
      await same(v, 'dump-meters');
      await same(v, 'del-meters');
      await same(v, 'dump-meters');
      await same(v, 'dump-flows', '--sort');
    }, 60_000);
  }

  it('random flow tables: each flow added (or refused with the same error) and dumped alike (seeded)', async () => {
    const seed = Number(process.env.OVNTS_WIRE_SEED ?? 20261207);
    console.log(`[ofctl-wire] seed ${seed} (OVNTS_WIRE_SEED to reproduce)`);
    let n = 0;
    for (const [i, v] of VERSIONS.entries()) {
      await same(v, 'del-flows');
      const t = randomFlowTable(seed + i, { badFlow: 0.3 });
      for (const g of t.flows.slice(0, 25)) {
        await same(v, 'add-flow', flowText(g));
        n++;
      }
      await same(v, 'dump-flows', '--sort');
      await same(v, 'dump-aggregate');
    }
    console.log(`[ofctl-wire] ${n} random add-flow commands agreed`);
  }, 120_000);

  it('malformed messages get OVS\'s error replies and never break the connection', async () => {
    // A FLOW_MOD with a truncated match, an unknown message type, an unknown multipart type, a bad
    // action length, each followed by an ECHO that must still be answered.
    const cases: Array<[string, number[]]> = [
      ['bad message type', [4, 99, 0, 8, 0, 0, 0, 1]],
      ['unknown multipart', [4, 18, 0, 16, 0, 0, 0, 2, 0, 99, 0, 0, 0, 0, 0, 0]],
      ['short flow mod', [4, 14, 0, 16, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0]],
    ];
    // OpenFlow 1.0 with the Nicira extensions: an unknown vendor, an unknown Nicira subtype, a bad
    // flow format, a truncated NXT_FLOW_MOD, an NXT_FLOW_MOD with a bad command, an unknown NXST
    // subtype, an NXT_FLOW_MOD_TABLE_ID cut short.
    const nx = (type: number, xid: number, subtype: number, body: number[], vendor = 0x2320): number[] => {
      const len = 16 + body.length;
      return [1, type, len >> 8, len & 0xff, 0, 0, 0, xid, vendor >>> 24, (vendor >> 16) & 0xff, (vendor >> 8) & 0xff, vendor & 0xff, 0, 0, 0, subtype, ...body];
    };
    const flowMod = (command: number): number[] => [0, 0, 0, 0, 0, 0, 0, 0, 0, command, 0, 0, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const cases10: Array<[string, number[]]> = [
      ['unknown vendor', nx(4, 4, 0, [], 0x1234)],
      ['unknown Nicira subtype', nx(4, 5, 99, [])],
      ['bad flow format', nx(4, 6, 12, [0, 0, 0, 7])],
      ['short NXT_FLOW_MOD', nx(4, 7, 13, [0, 0, 0, 0, 0, 0, 0, 0])],
      ['NXT_FLOW_MOD bad command', nx(4, 8, 13, flowMod(9))],
      ['unknown NXST subtype', [1, 16, 0, 24, 0, 0, 0, 9, 0xff, 0xff, 0, 0, 0, 0, 0x23, 0x20, 0, 0, 0, 99, 0, 0, 0, 0]],
      ['short NXT_FLOW_MOD_TABLE_ID', nx(4, 10, 15, [])],
    ];
    const errs = async (port: number, version = 4, list = cases): Promise<string[]> => {
      const sock = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      sock.on('data', (d: Buffer) => chunks.push(d));
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write(encodeHello([version]));
      for (const [, bytes] of list) {
        sock.write(Uint8Array.from(bytes));
        sock.write(Uint8Array.from([version, 2, 0, 8, 0, 0, 0, 0x77]));
      }
      await new Promise((r) => setTimeout(r, 400));
      sock.destroy();
      const all = Buffer.concat(chunks);
      const out: string[] = [];
      for (let off = 0; off + 8 <= all.length; ) {
        const len = all.readUInt16BE(off + 2);
        const type = all[off + 1]!;
        if (type === 1) out.push(`error ${all.readUInt16BE(off + 8)}/${all.readUInt16BE(off + 10)} xid ${all.readUInt32BE(off + 4)}`);
        else if (type === 3) out.push(`echo reply xid ${all.readUInt32BE(off + 4)}`);
        off += len;
      }
      return out;
    };
    // OVS listens on a free loopback port for this (a passive controller listener, as ours).
    const free = await freePort();
    await ovs.vsctl('set-controller', 'br0', `ptcp:${free}:127.0.0.1`);
    await new Promise((r) => setTimeout(r, 500));
    const theirs = await errs(free);
    const mine = await errs(ours.port);
    expect(mine).toEqual(['error 1/1 xid 1', 'echo reply xid 119', 'error 1/2 xid 2', 'echo reply xid 119', 'error 1/6 xid 3', 'echo reply xid 119']);
    expect(mine).toEqual(theirs);
    const theirs10 = await errs(free, 1, cases10);
    const mine10 = await errs(ours.port, 1, cases10);
    console.log(`[ofctl-wire] OpenFlow 1.0 malformed: ${mine10.join(', ')}`);
    expect(mine10.filter((l) => l.startsWith('echo')).length).toBe(cases10.length);
    expect(mine10).toEqual(theirs10);
  });
});
