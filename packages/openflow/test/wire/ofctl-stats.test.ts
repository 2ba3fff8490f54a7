/**
 * Differential of the configuration and statistics messages: the same `ovs-ofctl` command
 * sequences (mod-port, mod-table, dump-ports, dump-ports-desc, dump-tables, dump-table-desc,
 * queue-stats, dump-group-stats, dump-group-features, meter-stats, meter-features,
 * insert-buckets, remove-buckets) against a real ovs-vswitchd bridge (dummy datapath) and against
 * our switch on loopback print the same text. Frames are injected into both (OVS:
 * `netdev-dummy/receive`) so port counters and forwarding through reconfigured ports are compared.
 *
 * Normalised, because they legitimately differ: durations and ages, hardware addresses (OVS makes up one
 * per dummy port), the order of ports and groups (OVS lists them in hash order), and in OpenFlow
 * 1.4+ port statistics the dummy netdev's own custom counters. Meter features differ on purpose
 * (docs/openflow-wire.md) and are compared with those fields masked, ours checked exactly.
 * Malformed messages get the same ERROR replies from both.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { freePort, requireTools, startOvs, type OvsOracle } from '@ovnts/testkit';
import { OFPP, OfpAgent, Switch, encodeHello, listenOpenFlow, type OfpListener } from '@ovnts/openflow';

const req = requireTools('OpenFlow statistics differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-vsctl', 'ovs-appctl'], 'apt-get install -y openvswitch-switch');
const PORTS = [1, 2, 3, 4];

let ovs: OvsOracle;
let ours: OfpListener;
let sw: Switch;

beforeAll(async () => {
  if (req.skip) return;
  ovs = await startOvs();
  await ovs.bridge('br0', { ports: PORTS, protocols: 'OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15', markers: false });
  sw = new Switch();
  // OVS's bridge has its LOCAL port (named after the bridge); ours gets one too.
  sw.addPort({ number: OFPP.LOCAL, name: 'br0' });
  for (const p of PORTS) sw.addPort({ number: p });
  const agent = new OfpAgent(sw);
  ours = await listenOpenFlow(agent, 0, '127.0.0.1');
}, 60_000);

afterAll(async () => {
  await ours?.close();
  await ovs?.stop();
});

/** Sort the entries of a multi-line listing: an entry starts at a line matching `head`. */
function sortEntries(text: string, head: RegExp): string {
  const lines = text.split('\n');
  const pre: string[] = [];
  const entries: string[][] = [];
  for (const l of lines) {
    if (head.test(l)) entries.push([l]);
    else if (entries.length) entries[entries.length - 1]!.push(l);
    else pre.push(l);
  }
  return [...pre, ...entries.map((e) => e.filter((l) => l.trim() !== '').join('\n')).sort()].join('\n');
}

function normalise(cmd: string, s: string): string {
  let t = s
    .replace(/duration=[0-9.?]+s?/g, 'duration=X')
    .replace(/duration:[0-9.]+s/g, 'duration:X')
    .replace(/(idle_age|hard_age)=\d+/g, '$1=X')
    .replace(/addr:[0-9a-f:]{17}/g, 'addr:X')
    .replace(/\(xid=0x[0-9a-f]+\)/g, '(xid=X)')
    .replace(/^.*\|(WARN|INFO|DBG)\|.*$/gm, '')
    .replace(/tcp:127\.0\.0\.1:\d+/g, 'SWITCH');
  // The dummy netdev's own counters (OpenFlow 1.4+ port statistics).
  t = t.replace(/\n\s+CUSTOM Statistics\n(\s+[a-z0-9_]+=\d+,.*\n?)+/g, '\n');
  if (cmd === 'dump-ports') t = sortEntries(t, /^ {2}port /);
  if (cmd === 'dump-ports-desc') t = sortEntries(t, /^ \S/);
  if (cmd === 'queue-stats' || cmd === 'dump-groups' || cmd === 'dump-group-stats') t = sortEntries(t, /^ {1,2}\S/);
  return t.trim();
}

async function both(version: string, cmd: string, ...args: string[]): Promise<{ ovs: string; ours: string }> {
  const run = async (target: string): Promise<string> => {
    const r = await ovs.exec('ovs-ofctl', ['-O', version, cmd, target, ...args]);
    return normalise(cmd, `exit=${r.code}\n${r.stdout}\n${r.stderr}`);
  };
  const [a, b] = await Promise.all([run('br0'), run(`tcp:127.0.0.1:${ours.port}`)]);
  return { ovs: a, ours: b.replace(/SWITCH/g, 'br0') };
}

async function same(version: string, cmd: string, ...args: string[]): Promise<string> {
  const r = await both(version, cmd, ...args);
  expect(r.ours, `ovs-ofctl -O ${version} ${cmd} ${args.join(' ')}`).toBe(r.ovs);
  return r.ovs;
}

/** Inject a frame on a port of both switches (OVS through its dummy netdev). */
async function inject(port: number, frame: Uint8Array): Promise<void> {
  await ovs.appctl('netdev-dummy/receive', `p${port}`, toHex(frame));
  sw.receive(port, frame);
}

function frame(n: number, dst = '50:54:00:00:00:02'): Uint8Array {
  return new PacketBuilder().ethernet({ src: `50:54:00:00:00:${(10 + n).toString(16)}`, dst }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1, dstPort: 2 }).payload('p'.repeat(n)).build();
}

/** Let OVS's main loop and revalidators take the frames in before reading counters. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  await ovs.appctl('revalidator/purge');
}

describe.skipIf(req.skip)('ovs-ofctl configuration and statistics: ovnts switch vs ovs-vswitchd', () => {
  it('dump-ports, dump-ports-desc, dump-tables, queue-stats after frames (1.0, 1.3, 1.4, 1.5)', async () => {
    await same('OpenFlow13', 'del-flows');
    await same('OpenFlow13', 'add-flow', 'table=0,priority=10,in_port=1,actions=output:2,resubmit(,1)');
    await same('OpenFlow13', 'add-flow', 'table=0,priority=5,in_port=2,actions=FLOOD');
    await same('OpenFlow13', 'add-flow', 'table=1,priority=5,udp,actions=output:3');
    for (let i = 0; i < 3; i++) await inject(1, frame(i));
    await inject(2, frame(7));
    await inject(4, frame(9));
    await settle();
    for (const v of ['OpenFlow10', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15']) {
      await same(v, 'dump-ports');
      await same(v, 'dump-ports', '2');
      await same(v, 'dump-ports', '9');
      await same(v, 'dump-tables');
      await same(v, 'queue-stats');
      await same(v, 'queue-stats', '2');
      await same(v, 'queue-stats', '2', '0');
      await same(v, 'queue-stats', '2', '1');
      await same(v, 'queue-stats', '9');
      if (v !== 'OpenFlow10') await same(v, 'dump-ports-desc');
    }
    await same('OpenFlow15', 'dump-ports-desc', '3');
  }, 60_000);

  it('mod-port: config bits in dump-ports-desc, and forwarding through the port (no-forward, no-flood, no-receive, down)', async () => {
    await same('OpenFlow13', 'del-flows');
    await same('OpenFlow13', 'add-flow', 'table=0,priority=10,in_port=1,actions=output:2,output:3');
    await same('OpenFlow13', 'add-flow', 'table=0,priority=5,in_port=4,actions=FLOOD');
    await same('OpenFlow13', 'add-flow', 'table=0,priority=5,in_port=3,actions=output:1');
    const steps: Array<[string, string, string]> = [
      ['OpenFlow13', '2', 'no-forward'],
      ['OpenFlow10', '3', 'no-flood'],
      ['OpenFlow15', '3', 'no-receive'],
      ['OpenFlow14', '1', 'no-packet-in'],
      ['OpenFlow13', '2', 'down'],
    ];
    let n = 0;
    for (const [v, port, what] of steps) {
      await same(v, 'mod-port', port, what);
      await same('OpenFlow13', 'dump-ports-desc');
      await same('OpenFlow10', 'dump-ports-desc');
      await inject(1, frame(n++));
      await inject(4, frame(n++));
      await inject(3, frame(n++));
      await settle();
      await same('OpenFlow13', 'dump-ports');
      await same('OpenFlow15', 'dump-flows');
    }
    for (const [v, port, what] of [['OpenFlow13', '2', 'up'], ['OpenFlow10', '2', 'forward'], ['OpenFlow13', '3', 'receive'], ['OpenFlow10', '3', 'flood'], ['OpenFlow15', '1', 'packet-in']] as const) {
      await same(v, 'mod-port', port, what);
    }
    await same('OpenFlow14', 'dump-ports-desc');
    await same('OpenFlow13', 'mod-port', '9', 'up');
  }, 60_000);

  it('mod-table (OpenFlow 1.4 eviction and vacancy) and dump-table-desc', async () => {
    await same('OpenFlow14', 'mod-table', '0', 'evict');
    await same('OpenFlow15', 'mod-table', '3', 'vacancy:10,20');
    await same('OpenFlow14', 'add-flow', 'table=3,actions=drop');
    await same('OpenFlow14', 'dump-table-desc');
    await same('OpenFlow14', 'mod-table', '0', 'noevict');
    await same('OpenFlow15', 'mod-table', '3', 'novacancy');
    await same('OpenFlow14', 'mod-table', 'all', 'evict');
    await same('OpenFlow15', 'dump-table-desc');
    await same('OpenFlow13', 'mod-table', '0', 'drop');
    await same('OpenFlow14', 'mod-table', '0', 'name:foo');
  }, 60_000);

  it('dump-group-stats, dump-group-features, insert-buckets, remove-buckets (1.3, 1.5)', async () => {
    await same('OpenFlow15', 'del-flows');
    await same('OpenFlow15', 'del-groups');
    await same('OpenFlow15', 'add-group', 'group_id=1,type=all,bucket=bucket_id:1,output:2,bucket=bucket_id:5,output:3');
    await same('OpenFlow13', 'add-group', 'group_id=2,type=select,bucket=weight:10,output:1,bucket=weight:20,output:4');
    await same('OpenFlow13', 'add-flow', 'in_port=1,actions=group:1');
    await same('OpenFlow13', 'add-flow', 'in_port=2,actions=group:1');
    for (let i = 0; i < 3; i++) await inject(1, frame(i));
    await settle();
    for (const v of ['OpenFlow13', 'OpenFlow15']) {
      await same(v, 'dump-group-stats');
      await same(v, 'dump-group-stats', 'group_id=1');
      await same(v, 'dump-group-stats', 'group_id=7');
      await same(v, 'dump-group-features');
    }
    const cmds = [
      'insert-buckets group_id=1,command_bucket_id=first,bucket=bucket_id:7,output:4',
      'insert-buckets group_id=1,command_bucket_id=last,bucket=bucket_id:8,output:1',
      'insert-buckets group_id=1,command_bucket_id=5,bucket=bucket_id:9,output:1',
      'insert-buckets group_id=1,command_bucket_id=5,bucket=bucket_id:9,output:1',
      'insert-buckets group_id=1,command_bucket_id=44,bucket=bucket_id:10,output:1',
      'insert-buckets group_id=9,command_bucket_id=first,bucket=bucket_id:10,output:1',
      'insert-buckets group_id=2,command_bucket_id=last,bucket=bucket_id:3,weight:5,output:2',
      'dump-groups',
      'remove-buckets group_id=1,command_bucket_id=5',
      'remove-buckets group_id=1,command_bucket_id=first',
      'remove-buckets group_id=1,command_bucket_id=last',
      'dump-groups',
      'remove-buckets group_id=1,command_bucket_id=44',
      'remove-buckets group_id=1,command_bucket_id=all',
      'dump-groups',
      'dump-group-stats',
    ];
    for (const c of cmds) {
      const [cmd, ...rest] = c.split(' ');
      await same('OpenFlow15', cmd!, ...rest);
    }
  }, 60_000);

  it('OpenFlow 1.0 groups (NXT_GROUP_MOD, NXST_GROUP_DESC, NXST_GROUP, NXST_GROUP_FEATURES)', async () => {
    const v = 'OpenFlow10';
    await same(v, 'del-flows');
    await same(v, 'del-groups');
    await same(v, 'add-group', 'group_id=2,type=select,bucket=output:2,bucket=output:3');
    await same(v, 'add-group', 'group_id=3,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:2,mod_nw_dst:10.0.0.9,output:2');
    await same(v, 'add-group', 'group_id=3,type=all,bucket=output:1');
    await same(v, 'add-flow', 'in_port=1,actions=group:3');
    await inject(1, frame(3));
    await settle();
    await same(v, 'dump-groups');
    await same(v, 'dump-groups', 'group_id=3');
    await same(v, 'dump-group-stats');
    await same(v, 'dump-group-features');
    await same(v, 'insert-buckets', 'group_id=2,command_bucket_id=first,bucket=bucket_id:7,output:4');
    await same(v, 'remove-buckets', 'group_id=2,command_bucket_id=1');
    await same(v, 'dump-groups');
    await same(v, 'mod-group', 'group_id=2,type=all,bucket=output:1');
    await same(v, 'mod-group', 'group_id=8,type=all,bucket=output:1');
    await same(v, 'del-groups', 'group_id=2');
    await same(v, 'dump-groups');
    await same(v, 'dump-flows');
  }, 60_000);

  it('OpenFlow 1.0 VLAN actions (mod_vlan_vid, mod_vlan_pcp): kept as OVS keeps them, dumped in every version, frames through them', async () => {
    await same('OpenFlow13', 'del-flows');
    const flows = [
      'in_port=4,actions=mod_vlan_pcp:3,output:2',
      'in_port=1,actions=mod_vlan_vid:7,output:2',
      'in_port=2,dl_vlan=4,actions=mod_vlan_vid:9,output:3',
      'in_port=3,dl_vlan=4,actions=strip_vlan,mod_vlan_vid:7,mod_vlan_pcp:2,output:1',
    ];
    for (const f of flows) await same('OpenFlow10', 'add-flow', f);
    // ovs-ofctl's default (NXM) sends this one as NXT_FLOW_MOD with OpenFlow 1.0 actions.
    await same('OpenFlow10', 'add-flow', 'table=1,in_port=1,tcp,tp_dst=80,actions=mod_vlan_vid:5,output:2');
    await same('OpenFlow10', 'add-flow', 'table=1,in_port=1,vlan_tci=0x1000/0x1000,actions=mod_vlan_pcp:5,output:2');
    for (const v of ['OpenFlow10', 'OpenFlow13', 'OpenFlow15']) await same(v, 'dump-flows', '--sort');
    await same('OpenFlow10', 'packet-out', `in_port=1 packet=${toHex(frame(2))} actions=mod_vlan_vid:3,output:4`);
    for (const [port, n] of [[4, 1], [1, 2], [3, 3]] as const) await inject(port, frame(n));
    const tagged = new PacketBuilder().ethernet({ src: '50:54:00:00:00:0a', dst: '50:54:00:00:00:02' }).vlan({ vid: 4, pcp: 1 }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1, dstPort: 2 }).build();
    await inject(2, tagged);
    await inject(3, tagged);
    await settle();
    await same('OpenFlow13', 'dump-ports');
    await same('OpenFlow10', 'dump-flows', '--sort');
  }, 60_000);

  it('meter-stats and meter-features (1.3, 1.5)', async () => {
    await same('OpenFlow13', 'del-flows');
    await same('OpenFlow13', 'del-meters');
    await same('OpenFlow13', 'add-meter', 'meter=1,pktps,stats,bands=type=drop,rate=1');
    await same('OpenFlow13', 'add-meter', 'meter=2,kbps,bands=type=drop,rate=1000');
    await same('OpenFlow13', 'add-flow', 'in_port=1,actions=meter:1,output:2');
    await same('OpenFlow13', 'add-flow', 'in_port=3,actions=meter:1,output:2');
    await inject(1, frame(1));
    await settle();
    for (const v of ['OpenFlow13', 'OpenFlow15']) {
      await same(v, 'meter-stats');
      await same(v, 'meter-stats', 'meter=2');
      await same(v, 'meter-stats', 'meter=9');
      const f = await both(v, 'meter-features');
      const mask = (s: string): string => s.replace(/max_meter:\d+ max_bands:\d+/, 'max_meter:X max_bands:X').replace(/band_types: .*/, 'band_types: X');
      expect(mask(f.ours)).toBe(mask(f.ovs));
      expect(f.ours).toContain('max_meter:4294901760 max_bands:255 max_color:0\nband_types: drop dscp_remark\ncapabilities: kbps pktps burst stats');
    }
  }, 60_000);

  it("malformed configuration and statistics messages get OVS's error replies and never break the connection", async () => {
    const hdr = (v: number, type: number, xid: number, body: number[]): number[] => {
      const len = 8 + body.length;
      return [v, type, len >> 8, len & 0xff, 0, 0, 0, xid, ...body];
    };
    const mp = (v: number, xid: number, mpType: number, body: number[]): number[] => hdr(v, v === 1 ? 16 : 18, xid, [0, mpType, 0, 0, ...(v === 1 ? [] : [0, 0, 0, 0]), ...body]);
    const u32 = (x: number): number[] => [x >>> 24, (x >> 16) & 0xff, (x >> 8) & 0xff, x & 0xff];
    const hw = [0xaa, 0x55, 0xaa, 0x55, 0, 1];
    const cases: Array<[string, number, number[]]> = [
      ['short PORT_MOD 1.3', 4, hdr(4, 16, 1, [0, 0, 0, 2, 0, 0, 0, 0])],
      ['PORT_MOD unknown port 1.3', 4, hdr(4, 16, 2, [...u32(9), 0, 0, 0, 0, ...hw, 0, 0, ...u32(1), ...u32(1), 0, 0, 0, 0, 0, 0, 0, 0])],
      ['PORT_MOD bad hw_addr 1.3', 4, hdr(4, 16, 3, [...u32(2), 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, ...u32(1), ...u32(1), 0, 0, 0, 0, 0, 0, 0, 0])],
      ['PORT_MOD bad hw_addr 1.0', 1, hdr(1, 15, 4, [0, 2, 1, 2, 3, 4, 5, 6, ...u32(1), ...u32(1), 0, 0, 0, 0, 0, 0, 0, 0])],
      ['PORT_MOD unknown port 1.0', 1, hdr(1, 15, 5, [0, 9, 1, 2, 3, 4, 5, 6, ...u32(1), ...u32(1), 0, 0, 0, 0, 0, 0, 0, 0])],
      ['PORT_MOD bad property 1.4', 5, hdr(5, 16, 6, [...u32(2), 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, ...u32(1), ...u32(1), 0, 7, 0, 8, 0, 0, 0, 0])],
      ['TABLE_MOD bad table 1.3', 4, hdr(4, 17, 7, [254, 0, 0, 0, 0, 0, 0, 0])],
      ['short TABLE_MOD 1.3', 4, hdr(4, 17, 8, [0, 0, 0, 0])],
      ['TABLE_MOD eviction property 1.4 (OVS reads it as the eviction setting)', 5, hdr(5, 17, 9, [0, 0, 0, 0, 0, 0, 0, 4, 0, 2, 0, 8, 0, 0, 0, 1])],
      ['TABLE_MOD bad vacancy 1.4', 5, hdr(5, 17, 10, [0, 0, 0, 0, 0, 0, 0, 8, 0, 3, 0, 8, 50, 20, 0, 0])],
      ['TABLE_MOD unknown property 1.4', 5, hdr(5, 17, 11, [0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 8, 0, 0, 0, 0])],
      ['TABLE_MOD 1.3 all tables', 4, hdr(4, 17, 12, [255, 0, 0, 0, 0, 0, 0, 0])],
      ['short port stats 1.3', 4, mp(4, 13, 4, [0, 0, 0, 1])],
      ['short port stats 1.0', 1, mp(1, 14, 4, [0, 1])],
      ['queue stats bad port 1.3', 4, mp(4, 15, 5, [...u32(9), ...u32(0xffffffff)])],
      ['queue stats bad queue 1.0', 1, mp(1, 16, 5, [0, 2, 0, 0, ...u32(3)])],
      ['group stats in 1.0', 1, mp(1, 17, 6, [...u32(0xfffffffc), 0, 0, 0, 0])],
      ['short group stats 1.3', 4, mp(4, 18, 6, [...u32(1)])],
      ['meter stats unknown meter 1.3', 4, mp(4, 19, 9, [...u32(77), 0, 0, 0, 0])],
      ['group features with a body 1.3', 4, mp(4, 20, 8, [0, 0, 0, 0, 0, 0, 0, 0])],
      ['table desc in 1.3', 4, mp(4, 21, 14, [])],
      ['group_mod remove bucket with bad command bucket id 1.5', 6, hdr(6, 15, 22, [0, 5, 0, 0, ...u32(1), 0, 0, 0, 0, ...u32(0xffffff80)])],
      ['group_mod insert bucket command bucket id ALL 1.5', 6, hdr(6, 15, 23, [0, 3, 0, 0, ...u32(1), 0, 0, 0, 0, ...u32(0xffffffff)])],
      ['group_mod add with a command bucket id 1.5', 6, hdr(6, 15, 24, [0, 0, 0, 0, ...u32(3), 0, 0, 0, 0, ...u32(4)])],
      ['group_mod remove bucket unknown group 1.5', 6, hdr(6, 15, 25, [0, 5, 0, 0, ...u32(66), 0, 0, 0, 0, ...u32(0xffffffff)])],
    ];
    const errs = async (port: number, list: Array<[string, number, number[]]>): Promise<string[]> => {
      const out: string[] = [];
      for (const version of [1, 4, 5, 6]) {
        const mine = list.filter(([, v]) => v === version);
        const sock = connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        sock.on('data', (d: Buffer) => chunks.push(d));
        await new Promise<void>((r) => sock.once('connect', () => r()));
        sock.write(encodeHello([version]));
        for (const [, , bytes] of mine) {
          sock.write(Uint8Array.from(bytes));
          sock.write(Uint8Array.from([version, 2, 0, 8, 0, 0, 0, 0x77]));
        }
        await new Promise((r) => setTimeout(r, 400));
        sock.destroy();
        const all = Buffer.concat(chunks);
        for (let off = 0; off + 8 <= all.length; ) {
          const len = all.readUInt16BE(off + 2);
          const type = all[off + 1]!;
          const xid = all.readUInt32BE(off + 4);
          if (type === 1) out.push(`v${version} error ${all.subarray(off + 8, off + 12).toString('hex')} xid ${xid} data ${all.subarray(off + 12, off + len).toString('hex')}`);
          else if (type === 3) out.push(`v${version} echo reply xid ${xid}`);
          else if (type !== 0) out.push(`v${version} type ${type} xid ${xid}`);
          off += len;
        }
      }
      return out;
    };
    // OVS listens on a free loopback port for this (a passive controller listener, as ours).
    const free = await freePort('127.0.0.1');
    await ovs.vsctl('set-controller', 'br0', `ptcp:${free}:127.0.0.1`);
    await new Promise((r) => setTimeout(r, 500));
    // Our hardware addresses are ours: a PORT_MOD with OVS's address is refused by us and not by
    // OVS, so the bad-address cases use an address neither switch has.
    const theirs = await errs(free, cases);
    const mine = await errs(ours.port, cases);
    console.log(`[ofctl-stats] malformed: ${mine.filter((l) => l.includes('error')).length} errors, ${mine.filter((l) => l.includes('echo')).length} echoes`);
    expect(mine.filter((l) => l.includes('echo')).length).toBe(cases.length);
    expect(mine).toEqual(theirs);
  }, 60_000);
});
