/**
 * A multi-chassis OVN cluster of real daemons, as a test oracle for `@ovnts/chassis`.
 *
 * Design. It is built the way OVN's own test suite builds one (`tests/ovn-macros.at`: `sim_add`,
 * `net_add`, `ovn_attach`, `OVN_POPULATE_ARP`), without root or a kernel module:
 *
 * - the central part is the shared `ovn-sandbox` script (NB and SB ovsdb-servers and ovn-northd);
 * - the underlay is one more ovs-vswitchd (`main`) with a bridge `n1` switching with `NORMAL`;
 * - every chassis is its own Open_vSwitch ovsdb-server, an ovs-vswitchd on the userspace `dummy`
 *   datapath and an ovn-controller. Its bridge `br-phys` has the chassis's underlay address
 *   (`netdev-dummy/ip4addr`, `ovs/route/add`) and a dummy port joined to a port of `n1` through a
 *   unix stream socket; `br-int` is OVN's integration bridge, where ovn-controller creates the
 *   Geneve tunnel ports (userspace tunnelling pushes and pops the outer headers through `br-phys`).
 *   Underlay ARP is filled in statically (`tnl/arp/set`), and `br-phys` MACs are fixed, so the outer
 *   Ethernet headers are reproducible;
 * - a VIF is a dummy port of `br-int` with `external_ids:iface-id=<logical port>`, a requested
 *   OpenFlow port number and a transmit capture. `br-phys_n1` also captures what the chassis puts
 *   on the underlay.
 *
 * Frames are injected with `netdev-dummy/receive` over a persistent unixctl connection. A frame may
 * cross several daemons (tunnels, the underlay switch, ovn-controller's pinctrl answering through
 * packet-in/packet-out), so the end of its effects is found by quiescence: every capture of the
 * cluster unchanged for `quietMs` (default 80 ms). Frames therefore run one at a time.
 *
 * Every daemon is started detached with a pid file and stopped by that pid (SIGTERM, then SIGKILL
 * after 3 s); the temporary directory is removed, also when starting fails half-way, and a process
 * `exit` hook kills what a test forgot to stop.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oracleScript } from './oracles.js';
import { OvsOracleError, TxReader, Unixctl, pidAlive, reapPids, runCommand, type CommandResult } from './ovs.js';

/** A VIF of a chassis: an interface of `br-int` bound to a logical port. */
export interface OvnVifSpec {
  /** Interface name (unique within its chassis). */
  readonly iface: string;
  /** The logical switch port it binds (`external_ids:iface-id`). */
  readonly lport: string;
  /** Requested OpenFlow port number. */
  readonly ofport: number;
}

/** One chassis (hypervisor) of the cluster. */
export interface OvnChassisSpec {
  /** Chassis name (`system-id`, also its hostname). */
  readonly name: string;
  /** Underlay IPv4 address (Geneve endpoint). */
  readonly ip: string;
  /** Underlay MAC of its `br-phys` (default derived from the address). */
  readonly mac?: string;
  /** VIFs bound on this chassis at start. */
  readonly vifs?: readonly OvnVifSpec[];
  /** `ovn-bridge-mappings` (e.g. `phys:br-phys`: localnet ports of network `phys` leave through the underlay bridge). */
  readonly bridgeMappings?: string;
  /** Extra `Open_vSwitch` external_ids (e.g. `ovn-cms-options`, `ovn-chassis-mac-mappings`). */
  readonly externalIds?: Readonly<Record<string, string>>;
}

/** Options of `startOvnCluster`. */
export interface OvnClusterOptions {
  /** The chassis. */
  readonly chassis: readonly OvnChassisSpec[];
  /** Parent of the temporary directory (default: the OS temp dir). */
  readonly tmpDir?: string;
  /** Keep the directory after `stop()` (logs, databases, captures). */
  readonly keepDir?: boolean;
  /** Timeout of one external command, ms (default 60000). */
  readonly timeoutMs?: number;
  /** Quiet period that ends a frame's run, ms (default 80). */
  readonly quietMs?: number;
  /** Leave ovn-controller stopped after `start()` (e.g. to time it on a loaded southbound database); `startControllers()` starts them. */
  readonly deferControllers?: boolean;
}

/** A frame a VIF transmitted (a delivery to a logical port). */
export interface OvnDelivery {
  /** Chassis name. */
  readonly chassis: string;
  /** Interface name. */
  readonly iface: string;
  /** Logical port of the interface. */
  readonly lport: string;
  /** The frame. */
  readonly frame: Uint8Array;
}

/** A frame a chassis put on the underlay (Geneve, or localnet traffic). */
export interface OvnUnderlayFrame {
  /** Sending chassis. */
  readonly from: string;
  /** The frame, outer Ethernet header first. */
  readonly frame: Uint8Array;
  /** The physical network's bridge for frames of a bridge mapping other than br-phys (absent: the Geneve underlay). */
  readonly network?: string;
}

/** The effect of one injected frame. */
export interface OvnSendResult {
  /** Frames VIFs transmitted, in capture order per interface (interfaces in chassis, then VIF order). */
  readonly deliveries: OvnDelivery[];
  /** Frames chassis sent to the underlay, per chassis in capture order. */
  readonly underlay: OvnUnderlayFrame[];
}

interface ChassisState {
  spec: OvnChassisSpec;
  dir: string;
  env: NodeJS.ProcessEnv;
  pids: number[];
  ctl: Unixctl | null;
  vifs: Map<string, { lport: string; ofport: number; reader: TxReader }>;
  uplink: TxReader | null;
  /** Physical networks other than the underlay: bridge name -> transmit capture of its uplink. */
  physical: Map<string, TxReader>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const live = new Set<OvnCluster>();
let exitHooked = false;

/** `NB_Global options:svc_monitor_mac` of every cluster (ovn-northd would draw one at random). */
export const CLUSTER_SVC_MONITOR_MAC = '0a:00:00:00:00:fe';
/** `NB_Global options:mac_prefix` of every cluster (ovn-northd would draw one at random). */
export const CLUSTER_MAC_PREFIX = '0a:00:00';

/** The default underlay MAC of a chassis address (`aa:55:` + the four address bytes). */
export function underlayMac(ip: string): string {
  const b = ip.split('.').map((x) => Number(x));
  return ['aa', '55', ...b.map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

function readPid(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

/** A running cluster; see the module comment. Create with `startOvnCluster`. */
export class OvnCluster {
  /** The temporary directory (one folder per daemon group). */
  readonly dir: string;
  /** Environment with `OVN_NB_DB` / `OVN_SB_DB` for `ovn-nbctl` / `ovn-sbctl`. */
  readonly env: NodeJS.ProcessEnv;
  private readonly opts: OvnClusterOptions;
  private readonly sandbox: string;
  private readonly chassisByName = new Map<string, ChassisState>();
  private readonly mainPids: number[] = [];
  private centralStarted = false;
  private stopped = false;

  /** @internal use `startOvnCluster`. */
  constructor(dir: string, sandbox: string, opts: OvnClusterOptions) {
    this.dir = dir;
    this.sandbox = sandbox;
    this.opts = opts;
    this.env = { ...process.env };
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? 60_000;
  }

  /** Run a tool with the cluster's environment; throws `OvsOracleError` on a non-zero exit. */
  async run(cmd: string, args: string[], env: NodeJS.ProcessEnv = this.env, input?: string): Promise<string> {
    const r = await runCommand(cmd, args, env, this.timeoutMs, input);
    if (r.code !== 0) throw new OvsOracleError('exec', `${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** `ovn-nbctl ARGS` against the cluster's NB; returns stdout. */
  nbctl(...args: string[]): Promise<string> {
    return this.run('ovn-nbctl', args);
  }

  /** `ovn-sbctl ARGS` against the cluster's SB; returns stdout. */
  sbctl(...args: string[]): Promise<string> {
    return this.run('ovn-sbctl', args);
  }

  /** Run a shell script (e.g. a list of `ovn-nbctl` commands) with the cluster's environment. */
  sh(script: string): Promise<string> {
    return this.run('bash', ['-euo', 'pipefail', '-s'], this.env, script);
  }

  /** Wait until every chassis has installed the flows for the current NB (`ovn-nbctl --wait=hv sync`). */
  async sync(): Promise<void> {
    await this.nbctl('--wait=hv', '--timeout=60', 'sync');
  }

  /** Make every ovn-controller recompute all its flows (`ovn-appctl recompute`), then wait for them. */
  async recompute(): Promise<void> {
    for (const c of this.chassisByName.values()) {
      const pid = readPid(join(c.dir, 'ovn-controller.pid'));
      await this.run('ovn-appctl', ['-t', join(c.dir, `ovn-controller.${pid}.ctl`), 'recompute'], c.env);
    }
    await this.sync();
  }

  /** The chassis names, in the order given. */
  get chassisNames(): string[] {
    return [...this.chassisByName.keys()];
  }

  private chassis(name: string): ChassisState {
    const c = this.chassisByName.get(name);
    if (!c) throw new OvsOracleError('chassis', `no chassis ${name} (have ${this.chassisNames.join(', ')})`);
    return c;
  }

  /** `ovs-vsctl` on a chassis's own database. */
  vsctl(chassis: string, ...args: string[]): Promise<string> {
    const c = this.chassis(chassis);
    return this.run('ovs-vsctl', [`--db=unix:${c.dir}/db.sock`, '--timeout=30', ...args], c.env);
  }

  /** An `ovs-appctl` command on a chassis's ovs-vswitchd. */
  async appctl(chassis: string, command: string, ...args: string[]): Promise<string> {
    const c = this.chassis(chassis);
    c.ctl ??= await Unixctl.open(join(c.dir, 'ovs-vswitchd.ctl'));
    return c.ctl.call(command, args);
  }

  /** `ovs-ofctl --no-stats dump-flows br-int` on a chassis: the flow lines (header removed). */
  async dumpFlows(chassis: string): Promise<string[]> {
    const c = this.chassis(chassis);
    const out = await this.run('ovs-ofctl', ['-O', 'OpenFlow15', '--no-stats', 'dump-flows', `unix:${c.dir}/br-int.mgmt`], c.env);
    return out.split('\n').filter((l) => l.length > 0 && !/^(OFPST_FLOW|NXST_FLOW|OFPST_|NXST_)/.test(l) && !/reply \(/.test(l));
  }

  /** `ovs-ofctl dump-groups br-int` on a chassis: the group lines. */
  async dumpGroups(chassis: string): Promise<string[]> {
    const c = this.chassis(chassis);
    const out = await this.run('ovs-ofctl', ['-O', 'OpenFlow15', 'dump-groups', `unix:${c.dir}/br-int.mgmt`], c.env);
    return out.split('\n').filter((l) => /^\s*group_id=/.test(l)).map((l) => l.trim());
  }

  /** Ports ovn-controller created on a chassis's `br-int` (tunnels and localnet patch ports): interface name -> OpenFlow port number. */
  async tunnelPorts(chassis: string): Promise<Map<string, number>> {
    const out = await this.vsctl(chassis, '--format=csv', '--no-headings', '--columns=name,ofport,type', 'list', 'Interface');
    const m = new Map<string, number>();
    for (const line of out.split('\n')) {
      const [name, ofport, type] = line.split(',');
      const n = name!.replace(/"/g, '');
      if (type === 'geneve' || type === 'vxlan' || type === 'stt' || (type === 'patch' && n.startsWith('patch-br-int-to-'))) m.set(n, Number(ofport));
    }
    return m;
  }

  /** `ovsdb-client backup` of the southbound database (a standalone OVSDB file). */
  async sbBackup(): Promise<Buffer> {
    return this.backup(this.env.OVN_SB_DB!, 'OVN_Southbound');
  }

  /** `ovsdb-client backup` of the northbound database. */
  async nbBackup(): Promise<Buffer> {
    return this.backup(this.env.OVN_NB_DB!, 'OVN_Northbound');
  }

  private backup(db: string, name: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const p = spawn('ovsdb-client', ['backup', db, name], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let err = '';
      p.stdout.on('data', (d: Buffer) => chunks.push(d));
      p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      p.on('error', (e) => reject(new OvsOracleError('exec', `ovsdb-client backup: ${e.message}`)));
      p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new OvsOracleError('exec', `ovsdb-client backup ${name}: ${err.trim()}`))));
    });
  }

  /** Add a VIF to a chassis's `br-int` (bound to `lport`), with a transmit capture. */
  async addVif(chassis: string, vif: OvnVifSpec): Promise<void> {
    const c = this.chassis(chassis);
    if (c.vifs.has(vif.iface)) throw new OvsOracleError('port', `chassis ${chassis} already has an interface ${vif.iface}`);
    const pcap = join(c.dir, `${vif.iface}-tx.pcap`);
    await this.vsctl(chassis, 'add-port', 'br-int', vif.iface, '--', 'set', 'Interface', vif.iface, 'type=dummy',
      `external_ids:iface-id=${vif.lport}`, `options:tx_pcap=${pcap}`, `ofport_request=${vif.ofport}`);
    for (let i = 0; !existsSync(pcap) && i < 200; i++) await sleep(10);
    if (!existsSync(pcap)) throw new OvsOracleError('port', `chassis ${chassis}: ${vif.iface} never opened its capture`);
    const got = Number((await this.vsctl(chassis, 'get', 'Interface', vif.iface, 'ofport')).trim());
    if (got !== vif.ofport) throw new OvsOracleError('port', `chassis ${chassis}: ${vif.iface} got ofport ${got}, not ${vif.ofport}`);
    c.vifs.set(vif.iface, { lport: vif.lport, ofport: vif.ofport, reader: new TxReader(pcap) });
  }

  /** Remove a VIF from its chassis. */
  async delVif(chassis: string, iface: string): Promise<void> {
    const c = this.chassis(chassis);
    const v = c.vifs.get(iface);
    if (!v) throw new OvsOracleError('port', `chassis ${chassis} has no interface ${iface}`);
    await this.vsctl(chassis, 'del-port', 'br-int', iface);
    v.reader.close();
    c.vifs.delete(iface);
  }

  /** Drain every capture (what was transmitted since the last call). */
  private drain(): OvnSendResult {
    const deliveries: OvnDelivery[] = [];
    const underlay: OvnUnderlayFrame[] = [];
    for (const [name, c] of this.chassisByName) {
      for (const [iface, v] of c.vifs) {
        const out: Uint8Array[] = [];
        v.reader.read(out);
        for (const frame of out) deliveries.push({ chassis: name, iface, lport: v.lport, frame });
      }
      if (c.uplink) {
        const out: Uint8Array[] = [];
        c.uplink.read(out);
        for (const frame of out) underlay.push({ from: name, frame });
      }
      for (const [bridge, r] of c.physical) {
        const out: Uint8Array[] = [];
        r.read(out);
        for (const frame of out) underlay.push({ from: name, frame, network: bridge });
      }
    }
    return { deliveries, underlay };
  }

  private captureSizes(): string {
    const parts: number[] = [];
    for (const c of this.chassisByName.values()) {
      for (const v of c.vifs.values()) parts.push(statSync(v.reader.path).size);
      if (c.uplink) parts.push(statSync(c.uplink.path).size);
      for (const r of c.physical.values()) parts.push(statSync(r.path).size);
    }
    return parts.join(',');
  }

  /** Wait until no capture has changed for `quietMs`. */
  async settle(quietMs = this.opts.quietMs ?? 80): Promise<void> {
    let last = this.captureSizes();
    let since = Date.now();
    const deadline = Date.now() + this.timeoutMs;
    while (Date.now() - since < quietMs) {
      if (Date.now() > deadline) throw new OvsOracleError('timeout', 'the cluster never became quiet');
      await sleep(5);
      const now = this.captureSizes();
      if (now !== last) {
        last = now;
        since = Date.now();
      }
    }
  }

  /** Wait until the cluster is quiet and return what the captures got since the last read (frames the daemons sent on their own, e.g. IGMP queries). */
  async collect(): Promise<OvnSendResult> {
    await this.settle();
    return this.drain();
  }

  /** Forget what the captures hold so far (e.g. GARPs sent at start). */
  async discard(): Promise<void> {
    await this.settle();
    this.drain();
  }

  /**
   * Inject `frame` on interface `iface` of `chassis` (`netdev-dummy/receive`), wait until the cluster
   * is quiet, and return every frame any VIF or uplink transmitted meanwhile.
   */
  async send(chassis: string, iface: string, frame: Uint8Array): Promise<OvnSendResult> {
    const c = this.chassis(chassis);
    if (!c.vifs.has(iface)) throw new OvsOracleError('port', `chassis ${chassis} has no interface ${iface}`);
    if (frame.length < 14) throw new OvsOracleError('frame', `a frame of ${frame.length} bytes cannot be injected (at least 14)`);
    this.drain();
    await this.appctl(chassis, 'netdev-dummy/receive', iface, Buffer.from(frame).toString('hex'));
    await this.settle();
    return this.drain();
  }

  /** @internal start everything; see `startOvnCluster`. */
  async start(): Promise<void> {
    const central = join(this.dir, 'central');
    mkdirSync(central);
    const out = await runCommand('bash', [this.sandbox, 'start', central], process.env, this.timeoutMs);
    this.centralStarted = true;
    if (out.code !== 0) throw new OvsOracleError('start', `ovn-sandbox start failed (exit ${out.code}): ${out.stderr.trim()}`);
    for (const m of out.stdout.matchAll(/(\w+)='([^']*)'/g)) this.env[m[1]!] = m[2]!;
    delete this.env.OVS_RUNDIR;
    delete this.env.OVN_RUNDIR;
    if (!this.env.OVN_SB_DB) throw new OvsOracleError('start', 'ovn-sandbox printed no OVN_SB_DB');
    // ovn-northd draws these at random when the NB does not set them; fixed, runs are reproducible.
    await this.nbctl('set', 'NB_Global', '.', `options:svc_monitor_mac="${CLUSTER_SVC_MONITOR_MAC}"`, `options:mac_prefix="${CLUSTER_MAC_PREFIX}"`);
    const main = await this.simAdd('main', this.mainPids);
    await this.run('ovs-vsctl', [`--db=unix:${main.dir}/db.sock`, 'add-br', 'n1', '--', 'set', 'bridge', 'n1', 'datapath_type=dummy'], main.env);
    for (const spec of this.opts.chassis) await this.addChassis(spec, main);
    // OVN_POPULATE_ARP: every chassis knows every other's underlay MAC.
    for (const a of this.chassisByName.values()) {
      for (const b of this.chassisByName.values()) {
        if (a !== b) await this.appctl(a.spec.name, 'tnl/arp/set', 'br-phys', b.spec.ip, b.spec.mac ?? underlayMac(b.spec.ip));
      }
    }
    await this.sync();
    // ovn-northd tells the chassis to use ct_label for load balancer hairpin flows until every
    // chassis has reported its features; wait for that to settle so flows never depend on timing.
    for (let i = 0; i < 200 && !this.opts.deferControllers; i++) {
      const opts = await this.sbctl('get', 'SB_Global', '.', 'options');
      if (!opts.includes('lb_hairpin_use_ct_mark')) break;
      await sleep(50);
    }
    await this.sync();
  }

  /** `sim_add`: an ovsdb-server and a dummy-datapath ovs-vswitchd in DIR/NAME. */
  private async simAdd(name: string, pids: number[]): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
    const dir = join(this.dir, name);
    mkdirSync(dir);
    const env: NodeJS.ProcessEnv = { ...this.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir, OVN_RUNDIR: dir };
    await this.run('ovsdb-tool', ['create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema'], env);
    await this.run('/usr/sbin/ovsdb-server', ['--detach', '--no-chdir', `--pidfile=${dir}/ovsdb-server.pid`, `--log-file=${dir}/ovsdb-server.log`,
      `--remote=punix:${dir}/db.sock`, `--unixctl=${dir}/ovsdb-server.ctl`, join(dir, 'conf.db')], env);
    pids.push(readPid(join(dir, 'ovsdb-server.pid')));
    await this.run('ovs-vsctl', [`--db=unix:${dir}/db.sock`, '--no-wait', 'init'], env);
    await this.run('/usr/sbin/ovs-vswitchd', ['--enable-dummy=system', '--disable-system', '--detach', '--no-chdir', `--pidfile=${dir}/ovs-vswitchd.pid`,
      `--log-file=${dir}/ovs-vswitchd.log`, `--unixctl=${dir}/ovs-vswitchd.ctl`, `unix:${dir}/db.sock`], env);
    pids.push(readPid(join(dir, 'ovs-vswitchd.pid')));
    return { dir, env };
  }

  /** `ovn_attach`: join a chassis to the underlay and start its ovn-controller. */
  private async addChassis(spec: OvnChassisSpec, main: { dir: string; env: NodeJS.ProcessEnv }): Promise<void> {
    if (this.chassisByName.has(spec.name) || spec.name === 'main' || spec.name === 'central') throw new OvsOracleError('chassis', `chassis name ${spec.name} is taken`);
    const pids: number[] = [];
    const st: ChassisState = { spec, dir: '', env: {}, pids, ctl: null, vifs: new Map(), uplink: null, physical: new Map() };
    this.chassisByName.set(spec.name, st);
    const { dir, env } = await this.simAdd(spec.name, pids);
    st.dir = dir;
    st.env = env;
    const mac = spec.mac ?? underlayMac(spec.ip);
    const vs = (...args: string[]) => this.run('ovs-vsctl', [`--db=unix:${dir}/db.sock`, '--timeout=30', ...args], env);
    await vs('add-br', 'br-phys', '--', 'set', 'bridge', 'br-phys', 'datapath_type=dummy', `other-config:hwaddr=${mac}`);
    const port = `${spec.name}_br-phys`;
    await this.run('ovs-vsctl', [`--db=unix:${main.dir}/db.sock`, 'add-port', 'n1', port, '--', 'set', 'Interface', port, 'type=dummy',
      `options:pstream=punix:${main.dir}/${port}.sock`], main.env);
    const uplinkPcap = join(dir, 'br-phys_n1-tx.pcap');
    await vs('add-port', 'br-phys', 'br-phys_n1', '--', 'set', 'Interface', 'br-phys_n1', 'type=dummy',
      `options:stream=unix:${main.dir}/${port}.sock`, `options:tx_pcap=${uplinkPcap}`);
    // A bridge mapping to a bridge other than br-phys is a physical network of its own: the
    // bridge is joined to a switch of that name on main, apart from the Geneve underlay.
    for (const m of (spec.bridgeMappings ?? '').split(',').map((x) => x.trim()).filter((x) => x)) {
      const bridge = m.slice(m.indexOf(':') + 1);
      if (bridge === 'br-phys' || st.physical.has(bridge)) continue;
      await vs('--may-exist', 'add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=dummy');
      const sw = `x-${bridge}`;
      await this.run('ovs-vsctl', [`--db=unix:${main.dir}/db.sock`, '--may-exist', 'add-br', sw, '--', 'set', 'bridge', sw, 'datapath_type=dummy'], main.env);
      const mp = `${spec.name}_${bridge}`;
      await this.run('ovs-vsctl', [`--db=unix:${main.dir}/db.sock`, 'add-port', sw, mp, '--', 'set', 'Interface', mp, 'type=dummy', `options:pstream=punix:${main.dir}/${mp}.sock`], main.env);
      const pcap = join(dir, `${bridge}_uplink-tx.pcap`);
      await vs('add-port', bridge, `${bridge}_uplink`, '--', 'set', 'Interface', `${bridge}_uplink`, 'type=dummy', `options:stream=unix:${main.dir}/${mp}.sock`, `options:tx_pcap=${pcap}`);
      for (let i = 0; !existsSync(pcap) && i < 200; i++) await sleep(10);
      st.physical.set(bridge, new TxReader(pcap));
    }
    await this.appctl(spec.name, 'netdev-dummy/ip4addr', 'br-phys', `${spec.ip}/24`);
    await this.appctl(spec.name, 'ovs/route/add', `${spec.ip}/24`, 'br-phys');
    const ext = [`external-ids:hostname=${spec.name}`, `external-ids:system-id=${spec.name}`, `external-ids:ovn-remote=${this.env.OVN_SB_DB}`,
      'external-ids:ovn-encap-type=geneve', `external-ids:ovn-encap-ip=${spec.ip}`];
    if (spec.bridgeMappings) ext.push(`external-ids:ovn-bridge-mappings="${spec.bridgeMappings}"`);
    for (const [k, v] of Object.entries(spec.externalIds ?? {})) ext.push(`external-ids:${k}="${v}"`);
    await vs('set', 'Open_vSwitch', '.', ...ext, '--', '--may-exist', 'add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'fail-mode=secure',
      'other-config:disable-in-band=true', 'datapath_type=dummy');
    for (const v of spec.vifs ?? []) await this.addVif(spec.name, v);
    if (!this.opts.deferControllers) await this.startController(st);
    for (let i = 0; !existsSync(uplinkPcap) && i < 200; i++) await sleep(10);
    st.uplink = new TxReader(uplinkPcap);
  }

  private async startController(st: ChassisState): Promise<void> {
    await this.run('ovn-controller', ['--detach', '--no-chdir', `--pidfile=${st.dir}/ovn-controller.pid`, `--log-file=${st.dir}/ovn-controller.log`, `unix:${st.dir}/db.sock`], st.env);
    st.pids.push(readPid(join(st.dir, 'ovn-controller.pid')));
  }

  /** Start the ovn-controllers a `deferControllers` cluster left stopped; resolves once each has registered its chassis. */
  async startControllers(): Promise<void> {
    for (const st of this.chassisByName.values()) if (!pidAlive(readPid(join(st.dir, 'ovn-controller.pid')))) await this.startController(st);
    for (const st of this.chassisByName.values()) await this.run('ovn-sbctl', [`--timeout=${Math.ceil(this.timeoutMs / 1000)}`, 'wait-until', 'Chassis', st.spec.name]);
  }

  /** The pid of a chassis's ovn-controller (0 when it is not running). */
  controllerPid(chassis: string): number {
    const pid = readPid(join(this.chassis(chassis).dir, 'ovn-controller.pid'));
    return pidAlive(pid) ? pid : 0;
  }

  /** Replace the northbound database with an OVSDB file (`ovsdb-client restore`: one transaction). */
  async restoreNb(file: string): Promise<void> {
    const db = this.env.OVN_NB_DB!;
    await this.run('bash', ['-c', 'exec ovsdb-client --force restore "$0" < "$1"', db, file]);
  }

  /** Kill every daemon now and remove the directory (the process-exit safety net). */
  killNow(): void {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    for (const pid of this.allPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (!this.opts.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }

  private allPids(): number[] {
    const pids: number[] = [];
    for (const c of this.chassisByName.values()) pids.push(...c.pids);
    pids.push(...this.mainPids);
    for (const p of ['northd', 'nb', 'sb']) pids.push(readPid(join(this.dir, 'central', `${p}.pid`)));
    return pids.filter((p) => Number.isInteger(p) && p > 0);
  }

  /** Stop every daemon by pid (SIGTERM, SIGKILL after 3 s), then remove the directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    for (const c of this.chassisByName.values()) {
      c.ctl?.close();
      for (const v of c.vifs.values()) v.reader.close();
      c.uplink?.close();
      for (const r of c.physical.values()) r.close();
    }
    const pids = this.allPids();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await reapPids(pids);
    if (!this.opts.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Start a cluster (see the module comment); on failure everything started is stopped and removed. */
export async function startOvnCluster(opts: OvnClusterOptions): Promise<OvnCluster> {
  const sandbox = oracleScript('ovn-sandbox');
  if (!sandbox) throw new OvsOracleError('start', 'the ovn-sandbox script was not found (set OVNTS_SHARED to the folder holding oracles/)');
  if (!opts.chassis.length) throw new OvsOracleError('start', 'a cluster needs at least one chassis');
  const dir = mkdtempSync(join(opts.tmpDir ?? tmpdir(), 'ovnts-cluster-'));
  const c = new OvnCluster(dir, sandbox, opts);
  live.add(c);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => {
      for (const o of live) o.killNow();
    });
  }
  try {
    await c.start();
  } catch (e) {
    await c.stop();
    throw e;
  }
  return c;
}
