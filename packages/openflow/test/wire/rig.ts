/**
 * The two switches the wire differentials compare: a real ovs-vswitchd bridge `br0` (dummy
 * datapath, every OpenFlow version we speak) and our switch with the same ports behind an
 * `OfpAgent` listening on loopback (the body of `ovnts switch`).
 */
import { createServer } from 'node:net';
import { startOvs, type OvsOracle } from '@ovnts/testkit';
import { OfpAgent, Switch, listenOpenFlow, type OfpListener } from '@ovnts/openflow';

/** Both switches of a wire differential. */
export interface WireRig {
  /** The OVS oracle (bridge `br0`). */
  ovs: OvsOracle;
  /** Our switch. */
  sw: Switch;
  /** Our OpenFlow listener on 127.0.0.1. */
  ours: OfpListener;
}

/** Start OVS with bridge `br0` on `ports` and our switch with the same ports, listening on a free loopback port. */
export async function startWireRig(ports: readonly number[]): Promise<WireRig> {
  const ovs = await startOvs();
  await ovs.bridge('br0', { ports: [...ports], protocols: 'OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15', markers: false });
  const sw = new Switch();
  for (const p of ports) sw.addPort({ number: p });
  const agent = new OfpAgent(sw);
  sw.onPacketIn = (pi) => agent.packetIn(pi);
  const ours = await listenOpenFlow(agent, 0, '127.0.0.1');
  return { ovs, sw, ours };
}

/** A loopback TCP port that was free a moment ago (for OVS's `ptcp:` controller listener). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}
