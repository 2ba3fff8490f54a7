/**
 * Differential: packet-in formats. `ovs-ofctl monitor SWITCH 65534 --packet-in-format=FORMAT`
 * (standard, nxt_packet_in, nxt_packet_in2; OpenFlow 1.0, 1.3 and 1.5) watches a real ovs-vswitchd
 * bridge and our switch while another ovs-ofctl sends packet-outs that reach `controller` actions
 * (with userdata, registers and metadata set, a reason, a packet-out's own action): the monitors print the same packet-ins (xids and the switch's name normalised).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { requireTools, type OvsOracle } from '@ovnts/testkit';
import type { OfpListener } from '@ovnts/openflow';
import { ofctlMonitor, startWireRig, stopWireRig, type WireRig } from './wire-rig.js';

const req = requireTools('OpenFlow packet-in differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
let rig: WireRig | undefined;
let ovs: OvsOracle;
let ours: OfpListener;

beforeAll(async () => {
  if (req.skip) return;
  rig = await startWireRig();
  ({ ovs, ours } = rig);
}, 60_000);

afterAll(() => stopWireRig(rig));

/** `ovs-ofctl monitor TARGET 65534 ...` (a miss_send_len, so the service connection gets packet-ins). */
const monitor = (target: string, args: string[], act: () => Promise<void>): Promise<string> => ofctlMonitor(ovs, target, args.slice(0, 2), ['65534', ...args.slice(2)], act);

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
