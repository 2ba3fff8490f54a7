/**
 * OVS's hidden miss rule after `goto_table`: with an OpenFlow 1.0 controller connected, a miss in
 * any table reached by `goto_table` sends a packet-in (reason no_match), as a miss in table 0 does;
 * a miss after `resubmit` sends none; with an OpenFlow 1.3 controller no miss sends one. A real
 * ovs-vswitchd bridge (dummy datapath) and our switch (`OfpAgent` + `connectController`) dial the
 * same minimal controller (a raw socket here that offers one version and collects packet-ins); the
 * flows come from `ovs-ofctl -O OpenFlow13` on OVS's side and `addFlow` on ours; the same frames go
 * into both, and the packet-ins (everything but the xid) and the outputs must be equal.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { freePort, requireTools, startOvs, type OvsOracle } from '@ovnts/testkit';
import { OfpAgent, Switch, connectController, type OfpActiveConnection } from '@ovnts/openflow';

const req = requireTools('goto_table miss differential', ['ovs-vswitchd', 'ovs-ofctl', 'ovs-vsctl'], 'apt-get install -y openvswitch-switch');
const PORTS = [1, 2, 3, 4];
const FLOWS = [
  'table=0,priority=10,in_port=1,actions=goto_table:3',
  'table=0,priority=10,in_port=2,actions=resubmit(,3)',
  'table=3,priority=5,ip,nw_dst=10.0.0.9,actions=output:4',
];

/** A controller that offers one OpenFlow version, answers echo requests and keeps every packet-in per connection. */
class RawController {
  readonly packetIns: Buffer[][] = [];
  private readonly socks: Socket[] = [];
  private constructor(readonly server: Server, readonly port: number) {}

  static async start(version: number): Promise<RawController> {
    const port = await freePort();
    let self: RawController | undefined;
    const server = createServer((sock) => {
      const mine: Buffer[] = [];
      self!.packetIns.push(mine);
      self!.socks.push(sock);
      let buf = Buffer.alloc(0);
      sock.write(Buffer.from([version, 0, 0, 8, 0, 0, 0, 1]));
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 8 && buf.length >= buf.readUInt16BE(2)) {
          const m = buf.subarray(0, buf.readUInt16BE(2));
          buf = buf.subarray(m.length);
          if (m[1] === 2) sock.write(Buffer.concat([Buffer.from([m[0]!, 3]), m.subarray(2)]));
          if (m[1] === 10) mine.push(Buffer.from(m));
        }
      });
      sock.on('error', () => sock.destroy());
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    self = new RawController(server, port);
    return self;
  }

  /** Wait until `n` connections are up. */
  async connections(n: number): Promise<void> {
    for (let i = 0; i < 200 && this.packetIns.length < n; i++) await new Promise((r) => setTimeout(r, 50));
    expect(this.packetIns.length, 'connections to the test controller').toBeGreaterThanOrEqual(n);
  }

  async stop(): Promise<void> {
    for (const s of this.socks) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function frame(src: number, dstIp: string): Uint8Array {
  return new PacketBuilder()
    .ethernet({ src: `0a:00:00:00:00:0${src}`, dst: '0a:00:00:00:00:09' })
    .ipv4({ src: `10.0.0.${src}`, dst: dstIp })
    .udp({ srcPort: 1000 + src, dstPort: 53 })
    .payload(new Uint8Array(8))
    .build();
}

/** A packet-in without its xid. */
const noXid = (m: Buffer): string => toHex(Buffer.concat([m.subarray(0, 4), m.subarray(8)]));

describe.skipIf(req.skip)('goto_table miss sends a packet-in to OpenFlow 1.0 controllers, as OVS', () => {
  let ovs: OvsOracle;
  beforeAll(async () => {
    ovs = await startOvs();
    await ovs.bridge('br0', { ports: PORTS, protocols: 'OpenFlow10,OpenFlow13', markers: false });
  }, 60_000);
  afterAll(async () => {
    await ovs?.stop();
  });

  for (const version of [1, 4]) {
    it(`with an OpenFlow ${version === 1 ? '1.0' : '1.3'} controller`, async () => {
      const ctl = await RawController.start(version);
      let dial: OfpActiveConnection | undefined;
      try {
        await ovs.vsctl('set-controller', 'br0', `tcp:127.0.0.1:${ctl.port}`, '--', 'set', 'controller', 'br0', 'connection-mode=out-of-band');
        // After set-controller: OVS flushes the flows when a bridge gets its first controller.
        const r = await ovs.addFlows('br0', FLOWS.join('\n'));
        expect(r.ok, r.message).toBe(true);
        const ours = new Switch();
        for (const p of PORTS) ours.addPort({ number: p });
        for (const f of FLOWS) ours.addFlow(f);
        const out: Record<number, string[]> = { 1: [], 2: [], 3: [], 4: [] };
        ours.onOutput = (p, f) => out[p]?.push(toHex(f));
        const agent = new OfpAgent(ours);
        ours.onPacketIn = (pi) => agent.packetIn(pi);
        await ctl.connections(1);
        dial = connectController(agent, '127.0.0.1', ctl.port);
        await ctl.connections(2);
        // Both connections negotiated (ours: the agent's connection is active).
        for (let i = 0; i < 100 && ![...agent.conns].some((c) => c.state === 'active'); i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 300));
        // Port 1: goto_table:3, table 3 misses (10.0.0.8) or hits (10.0.0.9); port 2: resubmit(,3)
        // misses; port 3: table 0 misses.
        const cases: [number, Uint8Array][] = [[1, frame(1, '10.0.0.8')], [1, frame(1, '10.0.0.9')], [2, frame(2, '10.0.0.8')], [3, frame(3, '10.0.0.8')]];
        const ovsOut: Record<number, string[]> = { 1: [], 2: [], 3: [], 4: [] };
        for (const [port, bytes] of cases) {
          const [res] = await ovs.inject('br0', port, bytes);
          const late = ovs.drainTx('br0');
          for (const p of PORTS) ovsOut[p]!.push(...[...res!.outputs[p]!, ...late[p]!].map((f) => toHex(f)));
          ours.receive(port, bytes);
        }
        const want = version === 1 ? 2 : 0;
        for (let i = 0; i < 100 && ctl.packetIns.some((l) => l.length < want); i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 200));
        const [theirs, mine] = ctl.packetIns;
        expect(theirs!.map(noXid), theirs!.map(noXid).join('\n')).toHaveLength(want);
        expect(mine!.map(noXid)).toEqual(theirs!.map(noXid));
        expect(out).toEqual(ovsOut);
      } finally {
        dial?.stop();
        await ovs.vsctl('del-controller', 'br0');
        await ctl.stop();
      }
    }, 60_000);
  }
});
