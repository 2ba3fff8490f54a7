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
}

/** Local chassis of a cluster served over real UDP; see the module comment. */
export class ChassisHost {
  /** The cluster (its `nodes` are the local chassis). */
  readonly cluster: ChassisCluster;
  private readonly started = performance.now();
  private running = false;

  private constructor(
    /** The transport. */
    readonly underlay: UdpUnderlay,
    sb: SbDatabase,
    config: ClusterConfig,
    local: readonly string[],
    source: SouthboundSource,
    private readonly opts: ChassisHostOptions,
  ) {
    this.cluster = new ChassisCluster(sb, config, {
      clock: new VirtualClock(0),
      transport: underlay,
      local,
      ...(opts.port !== undefined ? { genevePort: opts.port } : {}),
      onLearnt: (row, chassis) => source.publish(row, chassis),
    });
    source.subscribe((row) => {
      this.cluster.learn(row);
      this.run();
    });
  }

  /** Build the local chassis's tables and listen on their tunnel endpoints. */
  static async start(source: SouthboundSource, config: ClusterConfig, local: readonly string[], opts: ChassisHostOptions = {}): Promise<ChassisHost> {
    if (!local.length) throw new ChassisError('bad-config', 'a chassis host needs at least one local chassis');
    const members = local.map((name) => {
      const m = config.members.find((x) => x.name === name);
      if (!m) throw new ChassisError('unknown-chassis', `no chassis ${name} (have ${config.members.map((x) => x.name).join(', ') || 'none'})`);
      return m;
    });
    const sb = await source.load();
    let host: ChassisHost | undefined;
    const underlay = new UdpUnderlay(members, {
      members: config.members,
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      ...(opts.bindAddress !== undefined ? { bindAddress: opts.bindAddress } : {}),
      ...(opts.onWire ? { onWire: opts.onWire } : {}),
      onDatagram: () => host?.run(),
      onError: (e) => opts.onError?.(e),
    });
    host = new ChassisHost(underlay, sb, config, local, source, opts);
    await underlay.listen();
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
