/**
 * A small driver for real Open vSwitch (the shared ovs-sandbox script) used by this package's
 * differential tests: one bridge with dummy ports 1..N writing `tx_pcap` files, flows and groups
 * loaded with ovs-ofctl under OpenFlow 1.5, frames injected with `netdev-dummy/receive`, and the
 * frames each port transmitted read back from its pcap. Always `stop()` it (afterAll).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Switch } from '@ovnts/openflow';
import { oracleScript } from '@ovnts/testkit';

/** Read every record of a classic pcap file. */
export function readPcap(path: string): Uint8Array[] {
  if (!existsSync(path)) return [];
  const b = readFileSync(path);
  if (b.length < 24) return [];
  const le = b.readUInt32LE(0) === 0xa1b2c3d4;
  const out: Uint8Array[] = [];
  let o = 24;
  while (o + 16 <= b.length) {
    const incl = le ? b.readUInt32LE(o + 8) : b.readUInt32BE(o + 8);
    if (o + 16 + incl > b.length) break;
    out.push(new Uint8Array(b.subarray(o + 16, o + 16 + incl)));
    o += 16 + incl;
  }
  return out;
}

/** A running sandbox with one bridge. */
export class OvsBridge {
  readonly dir: string;
  private env: NodeJS.ProcessEnv;
  private seq = 0;

  constructor(readonly nPorts = 4) {
    this.dir = mkdtempSync(join(tmpdir(), 'ovnts-ovs-'));
    const script = oracleScript('ovs-sandbox')!;
    const out = execFileSync('bash', [script, 'start', this.dir], { encoding: 'utf8' });
    this.env = { ...process.env };
    for (const m of out.matchAll(/(\w+)='([^']*)'/g)) this.env[m[1]!] = m[2]!;
    const args = ['add-br', 'br0', '--', 'set', 'bridge', 'br0', 'datapath_type=dummy', 'fail-mode=secure', 'protocols=OpenFlow10,OpenFlow13,OpenFlow15'];
    for (let i = 1; i <= nPorts; i++) {
      args.push('--', 'add-port', 'br0', `p${i}`, '--', 'set', 'interface', `p${i}`, 'type=dummy', `ofport_request=${i}`);
    }
    this.vsctl(args);
  }

  /** Run ovs-vsctl. */
  vsctl(args: string[]): string {
    return execFileSync('ovs-vsctl', [`--db=${this.env.DB_SOCK}`, ...args], { env: this.env, encoding: 'utf8' });
  }
  /** Run ovs-ofctl -O OpenFlow15. */
  ofctl(args: string[]): string {
    return execFileSync('ovs-ofctl', ['-O', 'OpenFlow15', ...args], { env: this.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
  /** Run ovs-appctl. */
  appctl(args: string[]): string {
    return execFileSync('ovs-appctl', args, { env: this.env, encoding: 'utf8' });
  }

  /** Replace flows and groups, and point every port's tx_pcap at a fresh file. Returns the pcap paths. */
  load(flows: string, groups: string[] = []): string[] {
    this.ofctl(['del-flows', 'br0']);
    this.ofctl(['del-groups', 'br0']);
    for (const g of groups) this.ofctl(['add-group', 'br0', g]);
    const f = join(this.dir, `flows${this.seq}.txt`);
    writeFileSync(f, flows);
    this.ofctl(['add-flows', 'br0', f]);
    const paths: string[] = [];
    const args: string[] = [];
    for (let i = 1; i <= this.nPorts; i++) {
      const p = join(this.dir, `s${this.seq}-p${i}.pcap`);
      paths.push(p);
      args.push('--', 'set', 'interface', `p${i}`, `options:tx_pcap=${p}`);
    }
    this.seq++;
    this.vsctl(args.slice(1));
    return paths;
  }

  /** Inject frames (hex) on ports, then return what each port 1..N transmitted. */
  run(frames: { port: number; hex: string }[], paths: string[]): Uint8Array[][] {
    for (const f of frames) this.appctl(['netdev-dummy/receive', `p${f.port}`, f.hex]);
    // The pcap files are written by ovs-vswitchd; wait until their contents stop changing.
    const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    let last = '';
    let stable = 0;
    for (let i = 0; i < 60 && stable < 3; i++) {
      sleep(40);
      const now = paths.map((p) => (existsSync(p) ? readFileSync(p).length : -1)).join(',');
      stable = now === last ? stable + 1 : 0;
      last = now;
    }
    return paths.map((p) => readPcap(p));
  }

  /** ofproto/trace text. */
  trace(flow: string): string {
    return this.appctl(['ofproto/trace', 'br0', flow]);
  }

  /** Stop the daemons (by pid, via the script) and remove the directory. */
  stop(): void {
    try {
      execFileSync('bash', [oracleScript('ovs-sandbox')!, 'stop', this.dir]);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Flows (and groups), and frames to send through them, for a byte-for-byte comparison with OVS. */
export interface Scenario {
  name: string;
  flows: string;
  groups?: string[];
  frames: { port: number; frame: Uint8Array }[];
}

/** Our switch's outputs for a scenario: for each of ports 1..nPorts, the frames it sent, in order. */
export function ours(s: Scenario, nPorts: number): Uint8Array[][] {
  const out: Uint8Array[][] = Array.from({ length: nPorts }, () => []);
  const sw = new Switch({ onOutput: (p, f) => p <= nPorts && out[p - 1]!.push(f.slice()) });
  for (let i = 1; i <= nPorts; i++) sw.addPort({ number: i });
  for (const g of s.groups ?? []) sw.addGroup(g);
  sw.addFlows(s.flows);
  for (const f of s.frames) sw.receive(f.port, f.frame);
  return out;
}
