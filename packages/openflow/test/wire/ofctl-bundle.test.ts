/**
 * Differential: bundles over the wire. The same `ovs-ofctl --bundle` and `ovs-ofctl bundle`
 * command sequences (OpenFlow 1.3's ONF extension, OpenFlow 1.4 and 1.5) against a real
 * ovs-vswitchd bridge and against our switch on loopback print the same text (durations
 * normalised): flow files committed atomically, a bundle with a flow that fails at commit (a
 * missing group) or at add time (an inconsistent action) applies nothing, replace-flows and
 * del-flows in bundles, mixed flow/group/packet-out bundles. Malformed bundle messages on a raw
 * socket (truncated control, bad id, message in a closed bundle, bad flags, an unbundlable
 * message, a bad embedded length or xid) get the same ERROR replies and the connection goes on.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { requireTools, type OvsOracle } from '@ovnts/testkit';
import { OFPBCT, encodeBundleAdd, encodeBundleCtrl, encodeHello, type OfpListener } from '@ovnts/openflow';
import { freePort, normaliseOfctl, startWireRig, stopWireRig, type WireRig } from './wire-rig.js';

const req = requireTools('OpenFlow bundle differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
let rig: WireRig | undefined;
let ovs: OvsOracle;
let ours: OfpListener;
let dir: string;

beforeAll(async () => {
  if (req.skip) return;
  rig = await startWireRig();
  ({ ovs, ours } = rig);
  dir = ovs.dir;
}, 60_000);

afterAll(() => stopWireRig(rig));

async function same(version: string, cmd: string, ...args: string[]): Promise<string> {
  const run = async (target: string): Promise<string> => {
    const [opts, rest] = cmd.startsWith('--') ? [[cmd], args] : [[], [cmd, ...args]];
    const verb = opts.length ? rest[0]! : cmd;
    const tail = opts.length ? rest.slice(1) : args;
    const r = await ovs.exec('ovs-ofctl', ['-O', version, ...opts, verb, target, ...tail]);
    const stdout = verb === 'dump-groups' ? r.stdout.split('\n').sort().join('\n') : r.stdout;
    return normaliseOfctl(`exit=${r.code}\n${stdout}\n${r.stderr}`);
  };
  const [a, b] = await Promise.all([run('br0'), run(`tcp:127.0.0.1:${ours.port}`)]);
  expect(b, `ovs-ofctl -O ${version} ${cmd} ${args.join(' ')}`).toBe(a);
  return a;
}

const VERSIONS = ['OpenFlow13', 'OpenFlow14', 'OpenFlow15'];

const FLOWS = [
  'table=0,priority=10,ip,nw_src=10.0.0.1,actions=output:2,resubmit(,1)',
  'table=0,priority=20,cookie=0x5,tcp,tp_dst=80,actions=output:3',
  'table=1,priority=7,cookie=0x5,udp,actions=set_field:0x1200/0xff00->reg1,output:1',
  'table=2,priority=1,ipv6,actions=mod_nw_ttl:9,output:2',
  'table=3,idle_timeout=30,hard_timeout=60,arp,actions=output:4',
];

describe.skipIf(req.skip)('ovs-ofctl --bundle: ovnts switch vs ovs-vswitchd', () => {
  for (const v of VERSIONS) {
    it(`--bundle add-flows, failing bundles apply nothing, replace-flows, del-flows, bundle files (${v})`, async () => {
      await same(v, 'del-flows');
      await same(v, 'del-groups');
      const file = `${dir}/bundle-${v}.txt`;
      writeFileSync(file, FLOWS.join('\n') + '\n');
      expect(await same(v, '--bundle', 'add-flows', file)).toMatch(/^exit=0/);
      await same(v, 'dump-flows', '--sort');
      // Fails at commit: the group does not exist (OFPBAC_BAD_OUT_GROUP, then OFPBFC_MSG_FAILED);
      // the first flow of the file would have been added and is rolled back.
      const bad = `${dir}/bundle-bad-${v}.txt`;
      writeFileSync(bad, ['table=4,priority=1,actions=output:1', 'table=0,priority=99,actions=group:7', 'table=4,priority=2,actions=output:2'].join('\n') + '\n');
      expect(await same(v, '--bundle', 'add-flows', bad)).toMatch(/^exit=1/);
      await same(v, 'dump-flows', '--sort');
      // Fails at commit: check_overlap against a flow the same bundle modified before.
      const overlap = `${dir}/bundle-overlap-${v}.txt`;
      writeFileSync(overlap, ['table=1,priority=7,udp,actions=output:4', 'table=1,check_overlap,priority=7,udp,actions=output:3'].join('\n') + '\n');
      await same(v, '--bundle', 'add-flows', overlap);
      await same(v, 'dump-flows', '--sort');
      // Fails when added (an inconsistent action): the bundle is discarded.
      const inconsistent = `${dir}/bundle-prereq-${v}.txt`;
      writeFileSync(inconsistent, ['table=5,priority=1,actions=output:1', 'table=5,priority=2,ip,actions=mod_tp_dst:80'].join('\n') + '\n');
      await same(v, '--bundle', 'add-flows', inconsistent);
      await same(v, 'dump-flows', '--sort');
      const repl = `${dir}/bundle-replace-${v}.txt`;
      writeFileSync(repl, [FLOWS[0], FLOWS[2], 'table=1,priority=8,icmp,actions=output:3', 'table=3,arp,actions=output:1'].join('\n') + '\n');
      await same(v, '--bundle', 'replace-flows', repl);
      await same(v, 'dump-flows', '--sort');
      await same(v, '--bundle', 'mod-flows', 'table=1,icmp,actions=output:2');
      await same(v, '--bundle', 'del-flows', 'table=3');
      await same(v, '--bundle', 'add-flow', 'table=6,priority=3,actions=drop');
      await same(v, 'dump-flows', '--sort');
      // `ovs-ofctl bundle`: flow, group and packet-out messages in one bundle.
      const frame = new PacketBuilder().ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1, dstPort: 2 }).payload('b').build();
      const mixed = `${dir}/bundle-mixed-${v}.txt`;
      writeFileSync(mixed, [
        'group add group_id=1,type=all,bucket=output:2,bucket=output:3',
        'flow add table=0,priority=30,udp,actions=group:1,resubmit(,1)',
        `packet-out in_port=1 packet=${toHex(frame)} actions=resubmit(,0)`,
        'flow delete table=6',
      ].join('\n') + '\n');
      expect(await same(v, 'bundle', mixed)).toMatch(/^exit=0/);
      await same(v, 'dump-flows', '--sort');
      await same(v, 'dump-groups');
      const mixedBad = `${dir}/bundle-mixed-bad-${v}.txt`;
      writeFileSync(mixedBad, [
        'flow add table=7,priority=1,actions=output:1',
        `packet-out in_port=1 packet=${toHex(frame)} actions=resubmit(,0)`,
        'group add group_id=1,type=all,bucket=output:4',
      ].join('\n') + '\n');
      expect(await same(v, 'bundle', mixedBad)).toMatch(/^exit=1/);
      await same(v, 'dump-flows', '--sort');
      await same(v, 'dump-groups');
      await same(v, 'del-flows');
      await same(v, 'del-groups');
    }, 90_000);
  }

  it('malformed bundle messages get OVS\'s error replies and never break the connection', async () => {
    const flowMod = (v: number, xid: number): Uint8Array => {
      // An OpenFlow 1.3+ FLOW_MOD: add, table 0, priority 0x8000, an empty match, no instructions.
      const b = new Uint8Array(56);
      const dv = new DataView(b.buffer);
      b[0] = v; b[1] = 14; dv.setUint16(2, 56); dv.setUint32(4, xid);
      dv.setUint16(8 + 22, 0x8000); dv.setUint32(8 + 24, 0xffffffff); dv.setUint32(8 + 28, 0xffffffff); dv.setUint32(8 + 32, 0xffffffff);
      dv.setUint16(48, 1); dv.setUint16(50, 4);
      return b;
    };
    const echo = (v: number): Uint8Array => Uint8Array.of(v, 2, 0, 8, 0, 0, 0, 0x77);
    const cases = (v: number): Array<[string, Uint8Array]> => {
      const ctrl = (xid: number, id: number, type: number, flags: number): Uint8Array => encodeBundleCtrl(v, xid, { bundleId: id, type, flags });
      const add = (id: number, flags: number, inner: Uint8Array): Uint8Array => encodeBundleAdd(v, id, flags, inner);
      const short = ctrl(1, 1, OFPBCT.OPEN_REQUEST, 0).slice(0, v === 4 ? 20 : 12);
      new DataView(short.buffer).setUint16(2, short.length);
      const badXid = add(9, 0, flowMod(v, 40));
      new DataView(badXid.buffer).setUint32(4, 41);
      const badLen = add(9, 0, flowMod(v, 42));
      new DataView(badLen.buffer).setUint16(badLen.length - 56 + 2, 200);
      const echoInBundle = add(9, 0, Uint8Array.of(v, 2, 0, 8, 0, 0, 0, 43));
      return [
        ['truncated control', short],
        ['close unknown bundle', ctrl(2, 5, OFPBCT.CLOSE_REQUEST, 0)],
        ['commit unknown bundle', ctrl(3, 5, OFPBCT.COMMIT_REQUEST, 0)],
        ['discard unknown bundle', ctrl(4, 5, OFPBCT.DISCARD_REQUEST, 0)],
        ['open', ctrl(5, 6, OFPBCT.OPEN_REQUEST, 3)],
        ['open again', ctrl(6, 6, OFPBCT.OPEN_REQUEST, 3)],
        ['open', ctrl(7, 7, OFPBCT.OPEN_REQUEST, 1)],
        ['close', ctrl(8, 7, OFPBCT.CLOSE_REQUEST, 1)],
        ['add to a closed bundle', add(7, 1, flowMod(v, 9))],
        ['open', ctrl(10, 8, OFPBCT.OPEN_REQUEST, 1)],
        ['close with other flags', ctrl(11, 8, OFPBCT.CLOSE_REQUEST, 2)],
        ['reply type', ctrl(12, 8, OFPBCT.OPEN_REPLY, 0)],
        ['bad embedded xid', badXid],
        ['bad embedded length', badLen],
        ['echo in a bundle', echoInBundle],
        ['implicit open', add(10, 2, flowMod(v, 13))],
        ['add with other flags', add(10, 1, flowMod(v, 14))],
        ['commit discarded', ctrl(15, 10, OFPBCT.COMMIT_REQUEST, 2)],
      ];
    };
    const run = async (port: number, v: number): Promise<string[]> => {
      const sock = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      sock.on('data', (d: Buffer) => chunks.push(d));
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write(encodeHello([v]));
      for (const [, bytes] of cases(v)) {
        sock.write(bytes);
        sock.write(echo(v));
      }
      await new Promise((r) => setTimeout(r, 400));
      sock.destroy();
      const all = Buffer.concat(chunks);
      const out: string[] = [];
      for (let off = 0; off + 8 <= all.length; ) {
        const len = all.readUInt16BE(off + 2);
        const type = all[off + 1]!;
        const xid = all.readUInt32BE(off + 4);
        if (type === 1) {
          const et = all.readUInt16BE(off + 8);
          out.push(et === 0xffff ? `error exp ${all.readUInt16BE(off + 10)} xid ${xid}` : `error ${et}/${all.readUInt16BE(off + 10)} xid ${xid}`);
        } else if (type === 3) out.push('echo');
        else if (type === 0) out.push('hello');
        else out.push(`type ${type} xid ${xid} ${all.subarray(off + 8, off + len).toString('hex')}`);
        off += len;
      }
      return out;
    };
    const free = await freePort();
    await ovs.vsctl('set-controller', 'br0', `ptcp:${free}:127.0.0.1`);
    await new Promise((r) => setTimeout(r, 500));
    for (const v of [4, 5, 6]) {
      const theirs = await run(free, v);
      const mine = await run(ours.port, v);
      console.log(`[ofctl-bundle] version ${v}: ${mine.join(', ')}`);
      expect(mine.filter((l) => l === 'echo').length).toBe(cases(v).length);
      expect(mine).toEqual(theirs);
    }
    await ovs.vsctl('del-controller', 'br0');
  }, 30_000);
});
