/**
 * Semantics of the stateful wiring checked against Open vSwitch 3.1 (`startOvs`, dummy datapath,
 * its clock stopped and warped): `ct(table=N)` forks (the clone's outputs sit at the fork point,
 * the original goes on with the NATed bytes), learned flows invisible to the packet that learns
 * them, NORMAL with access and trunk ports (flooding, learning, tags), select groups through the
 * switch, and meters on the clock. Every port's frames are compared byte for byte. The broader
 * stateful scenarios (firewall, NAT, zones, learn expiry, conjunction, fast failover, timeouts)
 * are in `../stateful-diff/`. Skips when OVS is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketBuilder } from '@ovnts/packet';
import { requireTools, startOvs, type OvsBridge, type OvsOracle } from '@ovnts/testkit';
import { OFPP, Switch, VirtualClock, type PortConfig } from '@ovnts/openflow';

const req = requireTools('OVS stateful wiring', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-appctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const PORTS = [1, 2, 3, 4];

type Step = { port: number; bytes: Uint8Array } | { warp: number };

/** Per frame: `port: hex,hex` lines of every port that sent something. */
type Out = string[];

function ours(flows: string, steps: Step[], opts: { groups?: string[]; meters?: string[]; ports?: PortConfig[] } = {}): Out[] {
  const clock = new VirtualClock();
  let cur: Record<number, string[]> = {};
  const sw = new Switch({ clock, onOutput: (p, f) => p !== OFPP.LOCAL && (cur[p] ??= []).push(hex(f)) });
  for (const p of opts.ports ?? PORTS.map((number) => ({ number }))) sw.addPort(p);
  for (const m of opts.meters ?? []) sw.addMeter(m);
  for (const g of opts.groups ?? []) sw.addGroup(g);
  sw.addFlows(flows);
  const res: Out[] = [];
  for (const s of steps) {
    if ('warp' in s) {
      clock.advance(s.warp);
      continue;
    }
    cur = {};
    sw.receive(s.port, s.bytes);
    res.push(PORTS.filter((p) => cur[p]).map((p) => `${p}: ${cur[p]!.join(',')}`));
  }
  return res;
}

describe.skipIf(req.skip)('stateful wiring vs OVS 3.1', () => {
  let ovs: OvsOracle;
  let br: OvsBridge;
  beforeAll(async () => {
    ovs = await startOvs();
    br = await ovs.bridge('sw', { ports: PORTS, portPrefix: 'w' });
    await ovs.timeStop();
  }, 60_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  async function theirs(flows: string, steps: Step[], opts: { groups?: string[]; meters?: string[] } = {}): Promise<Out[]> {
    await ovs.delFlows('sw');
    await ovs.delGroups('sw');
    await ovs.ctFlush();
    for (const m of opts.meters ?? []) {
      await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow15', 'del-meters', 'sw']);
      const r = await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow15', 'add-meter', 'sw', m]);
      expect(r.code ?? 0, r.stderr).toBe(0);
    }
    if (opts.groups) expect((await ovs.addGroups('sw', opts.groups.join('\n') + '\n')).ok).toBe(true);
    const r = await ovs.addFlows('sw', flows + '\n');
    expect(r.ok, r.message).toBe(true);
    const res: Out[] = [];
    let batch: { port: number; bytes: Uint8Array }[] = [];
    const flush = async (): Promise<void> => {
      if (!batch.length) return;
      for (const o of await ovs.runFrames('sw', batch)) res.push(PORTS.filter((p) => o.outputs[p]!.length).map((p) => `${p}: ${o.outputs[p]!.map(hex).join(',')}`));
      batch = [];
    };
    for (const s of steps) {
      if ('warp' in s) {
        await flush();
        await ovs.appctl('revalidator/purge');
        await ovs.timeWarp(s.warp);
        await ovs.appctl('revalidator/wait');
        continue;
      }
      batch.push(s);
    }
    await flush();
    return res;
  }

  const udp = (src: string, dst: string, sport: number, dport: number, mac = '50:54:00:00:00:01'): Uint8Array =>
    new PacketBuilder().ethernet({ src: mac, dst: '50:54:00:00:00:02' }).ipv4({ src, dst }).udp({ srcPort: sport, dstPort: dport }).payload('hello').build();

  it('ct(table=N) forks: clone at the fork point, original continues with NATed bytes; ct_mark/zone in the clone', async () => {
    const flows = `
      table=0,in_port=1,ip,actions=output:2,ct(commit,table=1,zone=NXM_NX_REG0[0..15],exec(set_field:0x5->ct_mark),nat(src=10.9.9.9)),mod_dl_src:00:00:00:00:00:77,output:2,output:3
      table=0,in_port=4,ip,actions=load:7->NXM_NX_REG0[0..15],ct(table=2,zone=NXM_NX_REG0[0..15],nat)
      table=1,ct_state=+new+trk,ct_mark=5,actions=mod_dl_src:00:00:00:00:00:99,output:2
      table=2,ct_state=+est+trk,actions=output:3
    `;
    const steps: Step[] = [{ port: 1, bytes: udp('10.0.0.1', '10.0.0.2', 1000, 53) }, { port: 1, bytes: udp('10.0.0.1', '10.0.0.2', 1000, 53) }];
    expect(ours(flows, steps)).toEqual(await theirs(flows, steps));
  });

  it('a learned flow is not visible to the packet that learns it (table version), but to the next one', async () => {
    const flows = `
      table=0,actions=learn(table=1,priority=10,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,1)
      table=1,priority=0,actions=output:3
    `;
    const same = new PacketBuilder().ethernet({ src: '50:54:00:00:00:05', dst: '50:54:00:00:00:05' }).ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).build();
    const steps: Step[] = [{ port: 1, bytes: same }, { port: 2, bytes: same }, { port: 4, bytes: same }];
    expect(ours(flows, steps)).toEqual(await theirs(flows, steps));
  });

  it('select groups through the switch: the same bucket for every flow', async () => {
    const groups = ['group_id=1,type=select,bucket=output:2,bucket=output:3,bucket=mod_dl_dst:02:00:00:00:00:01,output:4', 'group_id=2,type=select,selection_method=hash,fields(ip_src,udp_dst),bucket=output:2,bucket=output:3,bucket=output:4'];
    const flows = 'in_port=1,udp,tp_src=1000,actions=group:1\nin_port=1,udp,tp_src=1001,actions=group:2';
    const steps: Step[] = [];
    for (let i = 0; i < 40; i++) steps.push({ port: 1, bytes: udp(`10.0.${i & 3}.${i}`, '10.1.0.1', 1000 + (i & 1), 53 + i) });
    expect(ours(flows, steps, { groups })).toEqual(await theirs(flows, steps, { groups }));
  });

  it('meters: a pktps drop band on the (warped) clock', async () => {
    const meters = ['meter=1,pktps,burst,bands=type=drop,rate=10,burst_size=4'];
    const flows = 'in_port=1,actions=meter:1,output:2';
    const f = udp('10.0.0.1', '10.0.0.2', 1, 2);
    const steps: Step[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 8; i++) steps.push({ port: 1, bytes: f });
      steps.push({ warp: round === 0 ? 1000 : 250 });
    }
    const o = ours(flows, steps, { meters });
    expect(o.filter((x) => x.length).length).toBe(4 + 4 + 2);
    expect(o).toEqual(await theirs(flows, steps, { meters }));
  });

  it('NORMAL with access and trunk ports: flooding, learning, tags', async () => {
    for (const [n, v] of [[1, 'tag=10'], [2, 'tag=10'], [3, 'trunks=10,20'], [4, 'tag=20']] as const) await ovs.vsctl('set', 'port', br.portNames.get(n)!, v);
    const ports: PortConfig[] = [{ number: 1, tag: 10 }, { number: 2, tag: 10 }, { number: 3, trunks: [10, 20] }, { number: 4, tag: 20 }];
    const eth = (src: string, dst: string, vid?: number): Uint8Array => {
      const b = new PacketBuilder().ethernet({ src, dst });
      if (vid !== undefined) b.vlan({ vid, pcp: 3 });
      return b.ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).udp({ srcPort: 1, dstPort: 2 }).build();
    };
    const A = '50:54:00:00:00:0a';
    const B = '50:54:00:00:00:0b';
    const C = '50:54:00:00:00:0c';
    const steps: Step[] = [
      { port: 1, bytes: eth(A, B) }, // flood VLAN 10: 2 untagged, 3 tagged
      { port: 2, bytes: eth(B, A) }, // learned: 1 only
      { port: 3, bytes: eth(C, A, 10) }, // from the trunk in VLAN 10 (PCP 3) to A: 1 untagged
      { port: 3, bytes: eth(C, A, 20) }, // VLAN 20 has no A: flood to 4
      { port: 4, bytes: eth(A, C) }, // A in VLAN 20 (port 4) to C learned on the trunk in VLAN 20
      { port: 1, bytes: eth(A, 'ff:ff:ff:ff:ff:ff') }, // broadcast in VLAN 10
      { port: 1, bytes: eth(A, B, 10) }, // tagged on an access port: dropped
    ];
    const flows = 'actions=NORMAL';
    try {
      expect(ours(flows, steps, { ports })).toEqual(await theirs(flows, steps));
    } finally {
      for (const n of [1, 2, 3, 4]) await ovs.vsctl('clear', 'port', br.portNames.get(n)!, 'tag', 'trunks');
    }
  });
});
