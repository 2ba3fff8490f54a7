/**
 * One or more chassis of a cluster running live in this process, the others elsewhere: what
 * `ovnts chassis-run` serves.
 *
 * Design. A `ChassisHost` is a `ChassisCluster` that runs only its local chassis (`local`), with
 * a `UdpUnderlay` as its transport and a `SouthboundSource` for its southbound view. Work arrives
 * from outside at any time: a frame injected at a local VIF (`send`), a Geneve datagram from
 * another chassis, a row learnt elsewhere. Each is queued on the cluster and the cluster runs
 * until idle at once; what that run did (deliveries to local VIFs, Geneve frames sent, pinctrl's
 * notes) goes to the host's listeners, and rows a local chassis learnt go to the southbound
 * source. The virtual clock follows the wall clock (milliseconds since the host started), so
 * conntrack and pinctrl timeouts run in real time; a live host is not reproducible run to run the
 * way an in-process cluster is, but the frames it delivers are the same (the differential test
 * compares them).
 *
 * A source that follows a live database (`SouthboundSource.follow`) hands the host each new
 * southbound database. The host's configuration is then a function of the database (which
 * chassis exist, their encap addresses, where each VIF is bound): when it is unchanged, the
 * local chassis's tables are updated incrementally (`ChassisCluster.updateSouthbound`); when it
 * changed (a chassis joined or left, a port was bound or moved), the local cluster is rebuilt on
 * the same clock and transport, as ovn-controller recomputes when its runtime data changes. Work
 * is run to idle as it arrives, so no frame is in flight inside the host at that moment;
 * connection-tracking state of the local switch starts afresh on a rebuild.
 */
import type { SbDatabase } from '@ovnts/ovn';
import { VirtualClock } from '@ovnts/openflow';
import type { ClusterConfig } from './cluster-config.js';
import { ChassisCluster, type ClusterNote, type Delivery, type RunResult, type UnderlayFrame } from './cluster.js';
import { ChassisError } from './errors.js';
import type { SouthboundSource } from './sb-source.js';
import { UdpUnderlay, type UdpUnderlayStats } from './udp-underlay.js';

/** Listeners and settings of a host. */
export interface ChassisHostOptions {
  /** Geneve UDP port (default 6081). */
  readonly port?: number;
  /** Address the sockets bind (default: each chassis's encap address). */
  readonly bindAddress?: string;
  /** A frame was delivered to a local VIF. */
  readonly onDeliver?: (d: Delivery) => void;
  /** A local tunnel port sent a Geneve frame (as the switch built it). */
  readonly onTunnel?: (f: UnderlayFrame) => void;
  /** A frame went over the wire (sent or received), outer headers as on the wire. */
  readonly onWire?: (dir: 'out' | 'in', chassis: string, frame: Uint8Array) => void;
  /** pinctrl's notes. */
  readonly onNote?: (n: ClusterNote) => void;
  /** A failure outside a call: a socket error, or a run that failed with a typed error (a forwarding loop, a packet-out the switch refused); the host goes on. */
  readonly onError?: (e: Error) => void;
  /** The local tables were built (at the start, for a source that follows a database) or brought to a new southbound database (`rebuilt`: the configuration changed). */
  readonly onSync?: (s: HostSync) => void;
}

/** What bringing a host to a new southbound database did. */
export interface HostSync {
  /** The cluster was rebuilt (the configuration changed) rather than updated incrementally. */
  readonly rebuilt: boolean;
  /** OpenFlow flows installed on each local chassis after it. */
  readonly flows: Readonly<Record<string, number>>;
  /** Where each VIF of the database is bound now (logical port -> chassis, by port name). */
  readonly bindings: Readonly<Record<string, string>>;
}

/** Where configuration `c` binds each port of `sb` (only bound ports, in database order). */
function boundPorts(c: ClusterConfig, sb: SbDatabase): [string, string][] {
  return sb.portBindings.flatMap((p) => {
    const at = c.facts.vifChassis(p.logicalPort);
    return at === undefined ? [] : [[p.logicalPort, at] as [string, string]];
  });
}

/** A configuration as comparable text (members with their ports and settings, and the VIF bindings). */
function configKey(c: ClusterConfig, sb: SbDatabase): string {
  const members = c.members.map((m) => [m.name, m.encapIp, m.mac, [...m.vifs], [...(m.bridgeMappings ?? [])], [...(m.chassisMacs ?? [])]]);
  // Only bound ports: a port added unbound changes no configuration (an incremental update).
  return JSON.stringify([members, boundPorts(c, sb)]);
}

/** Local chassis of a cluster served over real UDP; see the module comment. */
export class ChassisHost {
  private current: ChassisCluster;
  private key: string;
  private readonly started = performance.now();
  private running = false;

  private constructor(
    /** The transport. */
    readonly underlay: UdpUnderlay,
    sb: SbDatabase,
    config: ClusterConfig,
    private readonly configOf: ((sb: SbDatabase) => ClusterConfig) | undefined,
    private readonly local: readonly string[],
    private readonly source: SouthboundSource,
    private readonly opts: ChassisHostOptions,
  ) {
    this.current = this.build(sb, config, new VirtualClock(0));
    this.key = configKey(config, sb);
    source.subscribe((row) => {
      this.current.learn(row);
      this.run();
    });
    source.follow?.((next) => this.resync(next));
  }

  /** The cluster (its `nodes` are the local chassis; a new object after a rebuild). */
  get cluster(): ChassisCluster {
    return this.current;
  }

  private build(sb: SbDatabase, config: ClusterConfig, clock: VirtualClock): ChassisCluster {
    return new ChassisCluster(sb, config, {
      clock,
      transport: this.underlay,
      local: this.local,
      ...(this.opts.port !== undefined ? { genevePort: this.opts.port } : {}),
      onLearnt: (row, chassis) => this.source.publish(row, chassis),
    });
  }

  /** Bring the local chassis to a new southbound database (see the module comment). */
  private resync(sb: SbDatabase): void {
    const config = this.configOf ? this.configOf(sb) : this.current.config;
    const key = configKey(config, sb);
    const rebuilt = key !== this.key;
    try {
      if (rebuilt) {
        this.underlay.setMembers(config.members);
        this.current = this.build(sb, config, this.current.clock);
        this.key = key;
      } else this.current.updateSouthbound(sb);
    } catch (e) {
      if (!(e instanceof Error) || e.name === 'Error') throw e;
      this.opts.onError?.(e);
      return;
    }
    this.report(rebuilt, config);
    this.run();
  }

  /** Tell `onSync` where the tables stand (the bindings as `config`, the one the key was computed from, places the ports). */
  private report(rebuilt: boolean, config: ClusterConfig): void {
    const c = this.current;
    const flows = Object.fromEntries(c.nodes.map((n) => [n.name, n.sw.flows().length]));
    const bound = boundPorts(config, c.sb);
    this.opts.onSync?.({ rebuilt, flows, bindings: Object.fromEntries(bound.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) });
  }

  /**
   * Build the local chassis's tables and listen on their tunnel endpoints. `config` is the
   * cluster's configuration, or (for a source that follows a live database) how to derive it from
   * each database.
   */
  static async start(source: SouthboundSource, config: ClusterConfig | ((sb: SbDatabase) => ClusterConfig), local: readonly string[], opts: ChassisHostOptions = {}): Promise<ChassisHost> {
    if (!local.length) throw new ChassisError('bad-config', 'a chassis host needs at least one local chassis');
    const sb = await source.load();
    const configOf = typeof config === 'function' ? config : undefined;
    if (configOf) config = configOf(sb);
    const cfg = config as ClusterConfig;
    const members = local.map((name) => {
      const m = cfg.members.find((x) => x.name === name);
      if (!m) throw new ChassisError('unknown-chassis', `no chassis ${name} (have ${cfg.members.map((x) => x.name).join(', ') || 'none'})`);
      return m;
    });
    let host: ChassisHost | undefined;
    const underlay = new UdpUnderlay(members, {
      members: cfg.members,
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      ...(opts.bindAddress !== undefined ? { bindAddress: opts.bindAddress } : {}),
      ...(opts.onWire ? { onWire: opts.onWire } : {}),
      onDatagram: () => host?.run(),
      onError: (e) => opts.onError?.(e),
    });
    host = new ChassisHost(underlay, sb, cfg, configOf, local, source, opts);
    await underlay.listen();
    if (source.follow) host.report(true, cfg);
    return host;
  }

  /** Inject a frame at local logical port `lport` and run until idle; returns what the run did here. */
  send(lport: string, frame: Uint8Array): RunResult {
    this.cluster.inject(lport, frame);
    return this.run() ?? { deliveries: [], underlay: [], notes: [] };
  }

  /** Datagram counters. */
  get stats(): UdpUnderlayStats {
    return this.underlay.stats;
  }

  /** Stop listening. */
  async close(): Promise<void> {
    await this.underlay.close();
  }

  /** Run the queued work (clock at wall time since start) and report it; undefined when already running. */
  private run(): RunResult | undefined {
    if (this.running) return undefined;
    this.running = true;
    try {
      const c = this.cluster;
      const now = performance.now() - this.started;
      if (now > c.clock.now()) c.clock.set(now);
      let r: RunResult;
      try {
        r = c.run();
      } catch (e) {
        // Typed errors of the layers below name what failed; an untyped one is a bug and propagates.
        if (!(e instanceof Error) || e.name === 'Error') throw e;
        this.opts.onError?.(e);
        return { deliveries: [], underlay: [], notes: [] };
      }
      for (const d of r.deliveries) this.opts.onDeliver?.(d);
      for (const u of r.underlay) if (u.network === 'geneve') this.opts.onTunnel?.(u);
      for (const n of r.notes) this.opts.onNote?.(n);
      return r;
    } finally {
      this.running = false;
    }
  }
}
