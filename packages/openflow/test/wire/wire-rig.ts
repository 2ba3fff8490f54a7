/**
 * What the ovs-ofctl differentials of bundles, flow monitors and packet-in formats share: a real
 * ovs-vswitchd bridge and our switch listening on loopback with the same ports, the normalisation
 * of ovs-ofctl's output, a background `ovs-ofctl monitor`, a free loopback port, and wire flow mods
 * from text.
 */
import { spawn } from 'node:child_process';
import { freePort, startOvs, type OvsOracle } from '@ovnts/testkit';
import { OfpAgent, Switch, listenOpenFlow, parseFlow, type OfpListener, type WireFlowMod } from '@ovnts/openflow';

/** The ports of both bridges. */
export const WIRE_PORTS = [1, 2, 3, 4];

/** A real bridge `br0` and our switch on loopback. */
export interface WireRig {
  /** The OVS oracle (bridge `br0`). */
  ovs: OvsOracle;
  /** Our switch. */
  sw: Switch;
  /** Our listener (`tcp:127.0.0.1:${ours.port}`). */
  ours: OfpListener;
}

/** Start both switches with the same ports (default `WIRE_PORTS`), every OpenFlow version we speak. */
export async function startWireRig(ports: readonly number[] = WIRE_PORTS): Promise<WireRig> {
  const ovs = await startOvs();
  await ovs.bridge('br0', { ports: [...ports], protocols: 'OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15', markers: false });
  const sw = new Switch();
  for (const p of ports) sw.addPort({ number: p });
  const agent = new OfpAgent(sw);
  sw.onPacketIn = (pi) => agent.packetIn(pi);
  const ours = await listenOpenFlow(agent, 0, '127.0.0.1');
  return { ovs, sw, ours };
}

/** Stop both (either may be missing after a failed start). */
export async function stopWireRig(rig: Partial<WireRig> | undefined): Promise<void> {
  await rig?.ours?.close();
  await rig?.ovs?.stop();
}

/** Durations, ages, xids, log lines and the switch's name differ between any two runs; everything else must be equal. */
export function normaliseOfctl(s: string): string {
  return s
    .replace(/duration=[0-9.]+s/g, 'duration=Xs')
    .replace(/(idle_age|hard_age)=\d+/g, '$1=X')
    .replace(/xid=0x[0-9a-f]+/g, 'xid=X')
    .replace(/^.*\|(WARN|INFO|DBG)\|.*$/gm, '')
    .replace(/tcp:127\.0\.0\.1:\d+|unix:\S*br0\.mgmt|br0/g, 'SWITCH')
    .trim();
}

/** Wait. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run `ovs-ofctl OPTS monitor TARGET ARGS...` while `act` runs; returns what it printed, normalised. */
export async function ofctlMonitor(ovs: OvsOracle, target: string, opts: string[], args: string[], act: () => Promise<void>): Promise<string> {
  const child = spawn('ovs-ofctl', [...opts, 'monitor', target, ...args], { env: ovs.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await sleep(600);
    await act();
    await sleep(600);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return normaliseOfctl(out);
}

/** A free loopback TCP port (for an OVS `ptcp:` controller listener): testkit's. */
export { freePort };

/** A wire flow mod from `ovs-ofctl` flow text (no buffer, no out_port/out_group filter). */
export function wireFlowMod(text: string, command: number): WireFlowMod {
  const f = parseFlow(text);
  return {
    command, cookie: f.cookie, cookieMask: 0n, tableId: f.table, idleTimeout: f.idleTimeout, hardTimeout: f.hardTimeout, priority: f.priority,
    bufferId: 0xffff_ffff, outPort: 0xffff, outGroup: 0xffff_ffff, flags: f.flags, importance: 0, match: f.match, instructions: f.instructions,
  };
}
