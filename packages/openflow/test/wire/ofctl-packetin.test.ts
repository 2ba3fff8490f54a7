/**
 * Differential: packet-in formats. `ovs-ofctl monitor SWITCH 65534 --packet-in-format=FORMAT`
 * (standard, nxt_packet_in, nxt_packet_in2; OpenFlow 1.0, 1.3 and 1.5) watches a real ovs-vswitchd
 * bridge and our switch while another ovs-ofctl sends packet-outs that reach `controller` actions
 * (with userdata, registers and metadata set, a reason, a packet-out's own action): the monitors print the same packet-ins (xids and the switch's name normalised).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { requireTools, startOvs, type OvsOracle } from '@ovnts/testkit';
import { OfpAgent, Switch, listenOpenFlow, type OfpListener } from '@ovnts/openflow';

const req = requireTools('OpenFlow packet-in differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const PORTS = [1, 2, 3, 4];

let ovs: OvsOracle;
let ours: OfpListener;

beforeAll(async () => {
  if (req.skip) return;
  ovs = await startOvs();
  await ovs.bridge('br0', { ports: PORTS, protocols: 'OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15', markers: false });
  const sw = new Switch();
  for (const p of PORTS) sw.addPort({ number: p });
  const agent = new OfpAgent(sw);
  sw.onPacketIn = (pi) => agent.packetIn(pi);
  ours = await listenOpenFlow(agent, 0, '127.0.0.1');
}, 60_000);

afterAll(async () => {
  await ours?.close();
  await ovs?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function normalise(s: string): string {
  return s
    .replace(/xid=0x[0-9a-f]+/g, 'xid=X')
    .replace(/tcp:127\.0\.0\.1:\d+|unix:\S*br0\.mgmt|br0/g, 'SWITCH')
    .replace(/^.*\|(WARN|INFO|DBG)\|.*$/gm, '')
    .trim();
}

/** Run `ovs-ofctl monitor` on `target` while `act` runs; returns what it printed. */
async function monitor(target: string, args: string[], act: () => Promise<void>): Promise<string> {
  const child = spawn('ovs-ofctl', [...args.slice(0, 2), 'monitor', target, '65534', ...args.slice(2)], { env: ovs.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await sleep(700);
    await act();
    await sleep(700);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return normalise(out);
}

const FLOWS = [
  'table=0,priority=10,udp,actions=set_field:5->reg3,set_field:0x1234->metadata,resubmit(,1)',
  'table=0,priority=9,tcp,actions=controller(userdata=01.02.03.04.05,reason=no_match)',
  'table=1,priority=5,cookie=0xabc,actions=controller(userdata=aa.bb)',
];

describe.skipIf(req.skip)('ovs-ofctl monitor --packet-in-format: ovnts switch vs ovs-vswitchd', () => {
  const frames = [
    new PacketBuilder().ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1, dstPort: 2 }).payload('hello, controller').build(),
    new PacketBuilder().ethernet({ src: '50:54:00:00:00:03', dst: '50:54:00:00:00:04' }).ipv4({ src: '10.0.0.3', dst: '10.0.0.4' }).tcp({ srcPort: 5, dstPort: 80 }).build(),
  ];
  for (const [version, format] of [
    ['OpenFlow10', 'standard'], ['OpenFlow10', 'nxt_packet_in'], ['OpenFlow10', 'nxt_packet_in2'],
    ['OpenFlow13', 'nxt_packet_in'], ['OpenFlow13', 'nxt_packet_in2'], ['OpenFlow15', 'nxt_packet_in2'],
  ] as const) {
    it(`${format} (${version})`, async () => {
      const setup = async (target: string): Promise<void> => {
        await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow13', 'del-flows', target]);
        for (const f of FLOWS) {
          const r = await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow13', 'add-flow', target, f]);
          expect(r.code, r.stderr).toBe(0);
        }
      };
      const drive = (target: string) => async (): Promise<void> => {
        for (const f of frames) {
          await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow13', 'packet-out', target, `in_port=1 packet=${toHex(f)} actions=resubmit(,0)`]);
        }
        await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow15', 'packet-out', target, `in_port=2 packet=${toHex(frames[0]!)} actions=controller(userdata=77)`]);
      };
      const args = ['-O', version, `--packet-in-format=${format}`];
      const theirs = await (async () => {
        await setup('br0');
        return monitor('br0', args, drive('br0'));
      })();
      const ourTarget = `tcp:127.0.0.1:${ours.port}`;
      await setup(ourTarget);
      const mine = await monitor(ourTarget, args, drive(ourTarget));
      expect(theirs.split('\n').filter((l) => /PACKET_IN/.test(l)).length).toBe(3);
      expect(mine).toBe(theirs);
    }, 60_000);
  }
});
