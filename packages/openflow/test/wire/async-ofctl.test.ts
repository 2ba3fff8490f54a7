/**
 * Differential of the asynchronous messages and controller roles: real ovs-vswitchd (the OVS
 * oracle) and our switch on loopback (`OfpAgent` + `listenOpenFlow`, the body of `ovnts switch`).
 *
 * - `ovs-ofctl monitor TARGET 65000` in OpenFlow 1.0 (ovs-ofctl's default), 1.3, 1.4 and 1.5
 *   watches both switches while the same events happen to each: flows with `send_flow_rem` are
 *   deleted by del-flows, by a group delete and by a meter delete, expire by idle and hard
 *   timeouts, and a port is added, set down, set up and deleted (OVS: `ovs-vsctl add-port` and
 *   `netdev-dummy/set-admin-state`; ours: `Switch.addPort`/`setPortUp`/`removePort`). The printed
 *   FLOW_REMOVED and PORT_STATUS messages are identical after normalising durations and the
 *   dummy ports' hardware addresses.
 * - Two raw connections per version (OpenFlow 1.3, 1.4 and 1.0 with NXT_ROLE_REQUEST) run the same
 *   role, async-config and controller-id sequence, malformed messages included; every byte both
 *   switches send after the HELLO is equal (replies, ROLE_STATUS, ERRORs with the offending
 *   message), and each step ends with an ECHO that is still answered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { requireTools, type OvsOracle } from '@ovnts/testkit';
import { encodeHello, type OfpListener, type Switch } from '@ovnts/openflow';
import { freePort, startWireRig } from './wire-rig.js';

const req = requireTools('OpenFlow async differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const PORTS = [1, 2, 3, 4];

let ovs: OvsOracle;
let ours: OfpListener;
let sw: Switch;
let ovsCtl = 0;
const monitors: ChildProcess[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  if (req.skip) return;
  ({ ovs, sw, ours } = await startWireRig(PORTS));
  // OVS's passive controller listener on a free loopback port (service connections, as ours).
  ovsCtl = await freePort();
  await ovs.vsctl('set-controller', 'br0', `ptcp:${ovsCtl}:127.0.0.1`);
  await sleep(500);
}, 60_000);

afterAll(async () => {
  for (const m of monitors) if (m.exitCode === null && m.signalCode === null && m.pid !== undefined) process.kill(m.pid);
  await ours?.close();
  await ovs?.stop();
});

/** Start `ovs-ofctl [-O v] monitor target 65000`; resolves to a function that stops it and returns its output. */
function monitor(version: string | undefined, target: string): () => Promise<string> {
  const p = spawn('ovs-ofctl', [...(version ? ['-O', version] : []), 'monitor', target, '65000'], { env: ovs.env, stdio: ['ignore', 'pipe', 'pipe'] });
  monitors.push(p);
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  return async () => {
    if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) process.kill(p.pid);
    await done;
    return out;
  };
}

/** Durations, the dummy ports' hardware addresses and log lines differ between any two runs. */
function normalise(s: string): string {
  return s
    .replace(/duration[0-9.]+s/g, 'durationXs')
    .replace(/addr:[0-9a-f:]{17}/g, 'addr:X')
    .replace(/^.*\|(WARN|INFO|DBG|ERR)\|.*$/gm, '')
    .replace(/\n+/g, '\n')
    .trim();
}

async function ofctl(...args: string[]): Promise<void> {
  for (const target of ['br0', `tcp:127.0.0.1:${ours.port}`]) {
    const r = await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow15', args[0]!, target, ...args.slice(1)]);
    expect(r.code, `ovs-ofctl ${args.join(' ')} on ${target}: ${r.stderr}`).toBe(0);
  }
}

describe.skipIf(req.skip)('asynchronous messages and roles: ovnts switch vs ovs-vswitchd', () => {
  it('ovs-ofctl monitor prints the same FLOW_REMOVED and PORT_STATUS messages (OpenFlow 1.0, 1.3, 1.4, 1.5)', async () => {
    const versions = [undefined, 'OpenFlow13', 'OpenFlow14', 'OpenFlow15'];
    const stops = versions.map((v) => [monitor(v, 'br0'), monitor(v, `tcp:127.0.0.1:${ours.port}`)] as const);
    await sleep(1500);
    await ofctl('add-group', 'group_id=1,type=all,bucket=output:2');
    await ofctl('add-meter', 'meter=1,pktps,bands=type=drop,rate=10');
    await ofctl('add-flow', 'table=1,send_flow_rem,cookie=0x1,udp,actions=drop');
    await ofctl('add-flow', 'table=2,priority=7,send_flow_rem,importance=4,ip,nw_src=1.2.3.4,actions=output:2');
    await ofctl('add-flow', 'priority=5,send_flow_rem,tcp,tp_dst=80,actions=group:1');
    await ofctl('add-flow', 'priority=6,send_flow_rem,arp,actions=meter:1,output:2');
    await ofctl('add-flow', 'priority=4,icmp,actions=output:3');
    await ofctl('del-flows', 'udp');
    await sleep(300);
    await ofctl('del-groups', 'group_id=1');
    await sleep(300);
    await ofctl('del-meter', 'meter=1');
    await sleep(300);
    await ofctl('del-flows', 'table=2');
    await ofctl('del-flows', 'icmp');
    await sleep(300);
    // Port events.
    await ovs.vsctl('add-port', 'br0', 'p5', '--', 'set', 'interface', 'p5', 'type=dummy', 'ofport_request=5');
    sw.addPort({ number: 5, name: 'p5' });
    await sleep(500);
    await ovs.appctl('netdev-dummy/set-admin-state', 'p5', 'down');
    sw.setPortUp(5, false);
    await sleep(500);
    await ovs.appctl('netdev-dummy/set-admin-state', 'p5', 'up');
    sw.setPortUp(5, true);
    await sleep(500);
    await ovs.vsctl('del-port', 'br0', 'p5');
    sw.removePort(5);
    await sleep(500);
    // Timeouts: an idle and a hard timeout expire on each switch's clock.
    await ofctl('add-flow', 'table=3,priority=9,send_flow_rem,idle_timeout=1,cookie=0x9,icmp,actions=drop');
    await ofctl('add-flow', 'table=3,priority=8,send_flow_rem,hard_timeout=2,idle_timeout=10,arp,actions=drop');
    await sleep(4000);
    for (const [i, [theirs, mine]] of stops.entries()) {
      const a = normalise(await theirs());
      const b = normalise(await mine());
      const v = versions[i] ?? 'OpenFlow10';
      console.log(`[async-ofctl] ${v}: ${a.split('\n').filter((l) => l.startsWith('OFPT')).length} messages`);
      if (v === 'OpenFlow14') console.log(a);
      expect(b, `monitor ${v}`).toBe(a);
      expect(a).toContain('reason=idle');
      expect(a).toContain('reason=hard');
      expect(a).toContain('DEL: 5(p5)');
    }
  }, 60_000);

  /** One raw OpenFlow connection that records everything after the HELLO. */
  class Raw {
    readonly got: Buffer[] = [];
    private buf = Buffer.alloc(0);
    private waiters: Array<() => void> = [];
    constructor(readonly sock: Socket) {
      sock.on('data', (d: Buffer) => {
        this.buf = Buffer.concat([this.buf, d]);
        while (this.buf.length >= 8 && this.buf.length >= this.buf.readUInt16BE(2)) {
          const len = this.buf.readUInt16BE(2);
          this.got.push(this.buf.subarray(0, len));
          this.buf = this.buf.subarray(len);
        }
        for (const w of this.waiters.splice(0)) w();
      });
    }
    static async open(port: number, version: number): Promise<Raw> {
      const sock = connect(port, '127.0.0.1');
      await new Promise<void>((r) => sock.once('connect', () => r()));
      const raw = new Raw(sock);
      sock.write(encodeHello([version]));
      await raw.until((m) => m[1] === 0);
      raw.got.length = 0;
      return raw;
    }
    /** Wait for a message that satisfies `f`. */
    async until(f: (m: Buffer) => boolean): Promise<void> {
      const t0 = Date.now();
      while (!this.got.some(f)) {
        if (Date.now() - t0 > 5000) assert.fail(`no awaited message; got ${this.got.map((m) => m.toString('hex')).join(' ')}`);
        await new Promise<void>((r) => {
          this.waiters.push(r);
          setTimeout(r, 100);
        });
      }
    }
    /** Send, then an ECHO with `xid`, and wait for its reply. */
    async step(bytes: number[], version: number, xid: number): Promise<void> {
      this.sock.write(Uint8Array.from(bytes));
      this.sock.write(Uint8Array.from(msg(version, 2, xid)));
      await this.until((m) => m[1] === 3 && m.readUInt32BE(4) === xid);
    }
  }

  function msg(version: number, type: number, xid: number, body: number[] = []): number[] {
    const len = 8 + body.length;
    return [version, type, len >> 8, len & 0xff, (xid >>> 24) & 0xff, (xid >> 16) & 0xff, (xid >> 8) & 0xff, xid & 0xff, ...body];
  }
  const be32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
  const nxt = (version: number, xid: number, subtype: number, body: number[] = []): number[] => msg(version, 4, xid, [0, 0, 0x23, 0x20, ...be32(subtype), ...body]);
  const role = (version: number, xid: number, r: number, gen: number): number[] => msg(version, 24, xid, [...be32(r), 0, 0, 0, 0, ...be32(0), ...be32(gen)]);
  /** A minimal OpenFlow 1.3+ FLOW_MOD adding `actions=drop` to table 0. */
  const flowMod = (version: number, xid: number): number[] =>
    msg(version, 14, xid, [...Array(16).fill(0), 0, 0, 0, 0, 0, 0, 0x80, 0, ...be32(0xffffffff), ...be32(0xffffffff), ...be32(0xffffffff), 0, 0, 0, 0, 0, 1, 0, 4, 0, 0, 0, 0]);

  /** The role/async/controller-id sequence of one version: [connection index, message]. */
  function script(v: number, gen: number): Array<[number, number[]]> {
    if (v === 1) {
      return [
        [0, nxt(1, 1, 10, be32(1))], // A master (NXT roles: 0 other, 1 master, 2 slave)
        [1, nxt(1, 2, 10, be32(1))], // B master: A demoted, no ROLE_STATUS in 1.0
        [0, msg(1, 14, 3, Array(64).fill(0))], // A's FLOW_MOD: OFPBRC_IS_SLAVE
        [0, nxt(1, 4, 10, be32(7))], // bad role
        [0, nxt(1, 5, 10, [0, 0])], // truncated
        [0, nxt(1, 6, 10, be32(0))], // back to other (equal)
        [1, nxt(1, 7, 19, Array(24).fill(0xff))], // NXT_SET_ASYNC_CONFIG: every mask, cut to 1.0's reasons
        [1, nxt(1, 8, 19, Array(20).fill(0))], // truncated
        [1, nxt(1, 9, 27, [0, 2, 0, 8, ...be32(7)])], // NXT_SET_ASYNC_CONFIG2, port status (slave)
        [1, nxt(1, 10, 27, [0, 5, 0, 8, ...be32(0x80)])], // bad mask
        [1, nxt(1, 11, 20, [0, 0, 0, 0, 0, 0, 0, 3])], // NXT_SET_CONTROLLER_ID 3
        [1, nxt(1, 12, 20, [0, 0, 0, 1, 0, 0, 0, 3])], // nonzero padding
        [1, nxt(1, 14, 20, [0, 0, 0, 3])], // truncated
        [1, msg(1, 24, 13, Array(16).fill(0))], // OpenFlow 1.0 has no ROLE_REQUEST type
      ];
    }
    return [
      [0, role(v, 1, 2, gen)], // A master, generation gen
      [1, role(v, 2, 2, gen + 1)], // B master: A demoted, ROLE_STATUS to A
      [0, role(v, 3, 2, gen - 1)], // stale
      [0, flowMod(v, 4)], // A is a slave: OFPBRC_IS_SLAVE
      [0, msg(v, 24, 5, [0, 0, 0, 2])], // truncated
      [0, role(v, 6, 9, gen)], // bad role
      [0, role(v, 7, 0, 0)], // no change: A's role and the generation
      [0, role(v, 8, 1, 0)], // A equal (no generation needed)
      [1, msg(v, 26, 9)], // GET_ASYNC_REQUEST
      [1, msg(v, 26, 10, [0, 0, 0, 0])], // with a body
      ...(v === 4
        ? ([
            [1, msg(4, 28, 11, [...be32(0xffffffff), ...be32(0), ...be32(7), ...be32(7), ...be32(0xff), ...be32(1)])], // masks cut to 1.3's reasons
            [1, msg(4, 28, 12, be32(0))], // truncated
            [1, nxt(4, 13, 27, [0, 4, 0, 8, ...be32(1)])], // NXT_SET_ASYNC_CONFIG2 in 1.3
          ] as Array<[number, number[]]>)
        : ([
            [1, msg(v, 28, 11, [0, 5, 0, 8, ...be32(3)])], // flow removed (master): idle and hard only
            [1, msg(v, 28, 12, [0, 5, 0, 8, ...be32(0x40)])], // OFPACFC_INVALID
            [1, msg(v, 28, 13, [0, 77, 0, 8, ...be32(0)])], // OFPACFC_UNSUPPORTED
            [1, msg(v, 28, 14, [0, 5, 0, 12, ...be32(0), ...be32(0), ...be32(0)])], // OFPBPC_BAD_LEN
            [1, msg(v, 28, 17, [0, 5, 0, 2, ...be32(0)])], // a property shorter than its header
            [1, msg(v, 28, 18, [0, 1, 0, 8, ...be32(0x3f), 0, 3, 0, 16, ...be32(7), ...be32(0), ...be32(0)])], // a good one, then one that overruns
            [1, msg(v, 28, 15, [0xff, 0xff, 0, 16, ...be32(0x2320), ...be32(1), ...be32(0), ...be32(0)])], // experimenter property
            [1, nxt(v, 16, 27, [0, 4, 0, 8, ...be32(1)])], // NXT_SET_ASYNC_CONFIG2 is not 1.4's
          ] as Array<[number, number[]]>)),
      [1, msg(v, 26, 20)], // GET_ASYNC_REQUEST again
      [1, nxt(v, 21, 10, be32(2))], // NXT_ROLE_REQUEST slave
      [1, role(v, 22, 0, 0)],
      [1, nxt(v, 23, 20, [0, 0, 0, 0, 0, 0, 0, 9])],
      [1, nxt(v, 24, 20, [0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0])], // too long
      [1, msg(v, 26, 25)], // the configuration after all that
    ];
  }

  async function run(port: number, v: number, gen: number): Promise<string[][]> {
    const conns = [await Raw.open(port, v), await Raw.open(port, v)];
    let xid = 0x1000;
    for (const [i, bytes] of script(v, gen)) {
      await conns[i]!.step(bytes, v, xid++);
      // Both connections drain (a ROLE_STATUS to the other one arrives before its ECHO reply).
      for (const c of conns) await c.step([], v, xid++);
    }
    for (const c of conns) c.sock.destroy();
    return conns.map((c) => c.got.map((m) => m.toString('hex')));
  }

  /** A FLOW_REMOVED's bytes with its duration zeroed (OpenFlow 1.0, NXT_FLOW_REMOVED, 1.1-1.4, 1.5's OXS duration). */
  function zeroDuration(m: Buffer): string {
    const b = Buffer.from(m);
    if (b[1] === 4) b.fill(0, 28, 36);
    else if (b[0] === 1) b.fill(0, 60, 68);
    else if (b[0] < 6) b.fill(0, 20, 28);
    return b.toString('hex').replace(/80020008[0-9a-f]{16}/, '80020008' + '0'.repeat(16));
  }

  for (const [name, v, nxm] of [['OpenFlow 1.0', 1, false], ['NXT_FLOW_REMOVED', 1, true], ['OpenFlow 1.3', 4, false], ['OpenFlow 1.4', 5, false], ['OpenFlow 1.5', 6, false]] as const) {
    it(`FLOW_REMOVED on a raw connection: the same bytes (${name})`, async () => {
      const removed = async (port: number, target: string): Promise<string[]> => {
        const c = await Raw.open(port, v);
        if (nxm) await c.step(nxt(1, 1, 12, be32(2)), v, 0x51); // NXT_SET_FLOW_FORMAT NXM
        await c.step(msg(v, 9, 2, [0, 0, 0xff, 0xff]), v, 0x52); // SET_CONFIG miss_send_len 65535
        c.got.length = 0;
        for (const f of [
          'table=4,priority=11,send_flow_rem,cookie=0xab,idle_timeout=50,hard_timeout=70,tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=output:2',
          'table=4,priority=12,send_flow_rem,reg3=0x5/0xff,ipv6,ipv6_dst=fd00::1,actions=drop',
        ]) {
          const r = await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow15', 'add-flow', target, f]);
          expect(r.code, r.stderr).toBe(0);
        }
        expect((await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow15', '--strict', 'del-flows', target, 'table=4,priority=12,reg3=0x5/0xff,ipv6,ipv6_dst=fd00::1'])).code).toBe(0);
        expect((await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow15', 'del-flows', target, 'table=4'])).code).toBe(0);
        await c.until(() => c.got.length >= 2);
        await c.step([], v, 0x53);
        c.sock.destroy();
        return c.got.filter((m) => m[1] !== 3).map(zeroDuration);
      };
      const theirs = await removed(ovsCtl, 'br0');
      const mine = await removed(ours.port, `tcp:127.0.0.1:${ours.port}`);
      expect(theirs.length).toBe(2);
      expect(mine).toEqual(theirs);
    }, 30_000);
  }

  for (const [v, gen] of [[4, 100], [5, 200], [1, 0]] as const) {
    it(`roles, async config and controller ids over raw connections: the same bytes (OpenFlow ${v === 1 ? '1.0' : v === 4 ? '1.3' : '1.4'})`, async () => {
      const theirs = await run(ovsCtl, v, gen);
      const mine = await run(ours.port, v, gen);
      expect(mine[0]).toEqual(theirs[0]);
      expect(mine[1]).toEqual(theirs[1]);
      const errors = theirs.flat().filter((m) => m.slice(2, 4) === '01').length;
      console.log(`[async-ofctl] OpenFlow version ${v}: ${theirs[0]!.length + theirs[1]!.length} messages equal, ${errors} errors`);
      expect(errors).toBeGreaterThan(4);
    }, 30_000);
  }
});
