/**
 * A multi-chassis OVN cluster in one process: every chassis is an `@ovnts/openflow` switch (its
 * br-int) running the flows ovn-controller would install, the chassis reach each other through
 * Geneve tunnels over an in-process underlay, and ovn-controller's pinctrl answers what the flows
 * send to the controller.
 *
 * Design. `ChassisCluster` owns one `ChassisNode` per chassis and a shared `VirtualClock`. A node
 * installs its desired flows, groups and meters in its switch (as ofctrl does, by text through the
 * switch's own parser), gives every VIF an OpenFlow port whose transmissions are deliveries, every
 * other chassis a Geneve tunnel port (OVN's option 0x0102/0x80 mapped to `tun_metadata0`, outer
 * UDP checksum on as ovn-controller configures it), and every localnet port a patch port into its
 * physical network. Work is a queue of events ordered by virtual time:
 * - a frame injected at a VIF, received by its switch;
 * - an underlay frame (the outer Ethernet/IPv4/UDP/Geneve bytes a tunnel port transmitted):
 *   every one is recorded (and can be written to a pcap), then handed to the cluster's
 *   `UnderlayTransport`, which carries it to the chassis owning the outer destination address
 *   and queues it there on its tunnel port towards the sender. The default transport,
 *   `InProcessUnderlay`, queues it `underlayDelayMs` later on the same queue; `UdpUnderlay`
 *   (udp-underlay.ts) sends it as a real UDP datagram to a chassis in another process or host,
 *   which then runs only its own chassis (`local`);
 * - a frame on a physical network (localnet), flooded to the other chassis's patch ports and
 *   recorded like underlay frames;
 * - pinctrl's answers: packet-outs from port CONTROLLER, resumed pipelines, and southbound
 *   updates (a learnt MAC binding or FDB entry becomes a new southbound row; every chassis
 *   updates its flows incrementally, then re-injects the packets it buffered for that neighbour).
 *   A row learnt here is also announced (`onLearnt`), and a row learnt by a chassis elsewhere
 *   joins through `learn()`: what a shared southbound database does between processes.
 * `run()` processes the queue until it is empty and returns what happened: deliveries per logical
 * port, underlay frames, pinctrl notes. Nothing depends on wall-clock time, so runs are
 * reproducible.
 *
 * A paused pipeline (`put_dhcp_opts`, `dns_lookup`) resumes as a packet-out from the original
 * input port that reloads the packet-in's registers and metadata, writes the result bit, and runs
 * the rest of the paused flow's actions (what OVS's continuation holds for OVN's flows, whose
 * outer frames end with the resubmit that led there).
 */
import { OFPP, Switch, VirtualClock, type PacketInField, type TimerHandle } from '@ovnts/openflow';
import { parseIpv4, parseMac, u16, u32 } from '@ovnts/packet';
import type { SbChassis, SbDatabase, SbFdb, SbIgmpGroup, SbMacBinding } from '@ovnts/ovn';
import { ChassisError } from './errors.js';
import { clusterConfig, type ClusterConfig, type ClusterMember } from './cluster-config.js';
import { emptyChassisMap, type ChassisMap } from './chassis-map.js';
import { computeChassisTables, formatDumpFlow, dumpGroups, type ChassisTables } from './flows.js';
import type { DesiredFlow } from './flow-table.js';
import { updateChassisTables, type SbChanges } from './incremental.js';
import { formatOfActions, type OfAction } from './of-actions.js';
import { OFPP_CONTROLLER, Pinctrl, reloadMetadata, type PinctrlEffect } from './pinctrl.js';

/** A frame delivered to a logical port. */
export interface Delivery {
  /** Logical port. */
  readonly port: string;
  /** Chassis it is bound on. */
  readonly chassis: string;
  /** The frame. */
  readonly frame: Uint8Array;
  /** Virtual time (ms). */
  readonly time: number;
}

/** A frame on the underlay (Geneve between chassis) or on a physical network (localnet). */
export interface UnderlayFrame {
  /** Sending chassis. */
  readonly from: string;
  /** Receiving chassis (undefined: nobody owns the destination address). */
  readonly to: string | undefined;
  /** `geneve`, or the physical network's name. */
  readonly network: string;
  /** The frame, outer headers included. */
  readonly frame: Uint8Array;
  /** Virtual time (ms). */
  readonly time: number;
}

/** Something pinctrl did besides sending packets. */
export interface ClusterNote {
  /** Chassis. */
  readonly chassis: string;
  /** What kind. */
  readonly kind: 'mac-binding' | 'fdb' | 'igmp' | 'log' | 'event' | 'bind-vport' | 'ignored';
  /** What it says. */
  readonly text: string;
}

/** What a `run()` saw. */
export interface RunResult {
  /** Deliveries to logical ports, in order. */
  readonly deliveries: Delivery[];
  /** Underlay and physical network frames, in order. */
  readonly underlay: UnderlayFrame[];
  /** pinctrl's notes (learnt neighbours, logs, ignored packet-ins). */
  readonly notes: ClusterNote[];
}

/** A southbound row a chassis learnt (pinctrl's `put_arp`/`put_nd` or `put_fdb`), or its IGMP_Group rows. */
export interface LearntRow {
  /** A learnt MAC binding. */
  readonly macBinding?: SbMacBinding;
  /** A learnt FDB entry. */
  readonly fdb?: SbFdb;
  /** Every `IGMP_Group` row of one chassis (IGMP/MLD snooping, mcast-snoop.ts): they replace that chassis's rows. */
  readonly igmpGroups?: { readonly chassis: string; readonly rows: readonly SbIgmpGroup[] };
}

/** The cluster's side of an underlay transport: where carried frames come in. */
export interface UnderlayEndpoint {
  /** The cluster's virtual time (ms). */
  now(): number;
  /**
   * Queue an outer frame at virtual time `at` on the local chassis owning its outer destination
   * address, on its tunnel port towards the outer source; false (and nothing queued) when no
   * local chassis owns the destination or it has no tunnel from the source, as OVS drops it.
   */
  receive(frame: Uint8Array, at: number): boolean;
}

/**
 * How Geneve frames travel between chassis: the seam between the cluster and its underlay.
 * `InProcessUnderlay` queues them on the same cluster; `UdpUnderlay` carries them as UDP
 * datagrams between processes or hosts.
 */
export interface UnderlayTransport {
  /** Called once by the cluster the transport serves. */
  attach(endpoint: UnderlayEndpoint): void;
  /** Carry an outer frame (Ethernet/IPv4/UDP/Geneve, as a tunnel port sent it) from chassis `from` to chassis `to` (undefined: nobody has its outer destination). */
  send(from: ClusterMember, to: ClusterMember | undefined, frame: Uint8Array): void;
}

/** The in-process underlay: a frame reaches its destination chassis `delayMs` later on the same event queue. */
export class InProcessUnderlay implements UnderlayTransport {
  private endpoint: UnderlayEndpoint | undefined;
  constructor(
    /** One-way delay in virtual ms. */
    readonly delayMs = 0.01,
  ) {}

  /** See `UnderlayTransport.attach`. */
  attach(endpoint: UnderlayEndpoint): void {
    this.endpoint = endpoint;
  }

  /** See `UnderlayTransport.send`. */
  send(_from: ClusterMember, to: ClusterMember | undefined, frame: Uint8Array): void {
    const e = this.endpoint;
    if (!to || !e) return;
    e.receive(frame, e.now() + this.delayMs);
  }
}

/** Options of a cluster. */
export interface ChassisClusterOptions {
  /** The clock (default: a new `VirtualClock` at 0). */
  readonly clock?: VirtualClock;
  /** Underlay one-way delay in ms of the default in-process transport (default 0.01). */
  readonly underlayDelayMs?: number;
  /** How Geneve frames travel (default: `new InProcessUnderlay(underlayDelayMs)`). */
  readonly transport?: UnderlayTransport;
  /** The chassis that run here (default: every chassis of the configuration); the others are reached through the transport. */
  readonly local?: readonly string[];
  /** Called with every southbound row a local chassis learnt (to share it with chassis elsewhere). */
  readonly onLearnt?: (row: LearntRow, chassis: string) => void;
  /** Called with every underlay frame as it is sent (e.g. a pcap writer). */
  readonly onUnderlay?: (f: UnderlayFrame) => void;
  /** UDP destination port of the Geneve tunnels (OVS `options:dst_port`; default 6081). */
  readonly genevePort?: number;
  /** Events one `run()` may process before it stops with an error (a forwarding loop; default 100000). */
  readonly maxEvents?: number;
  /**
   * ovn-northd: the southbound database after it processed `sb` (e.g. `northdFor(nb)`). Called when
   * the chassis's `IGMP_Group` rows change, so that snooped groups become multicast groups and
   * flows; without it the rows are written and nothing else changes (a cluster without northd).
   */
  readonly northd?: (sb: SbDatabase) => SbDatabase;
}

const GENEVE_OVN_CLASS = 0x0102;
const GENEVE_OVN_TYPE = 0x80;

/** One chassis: its tables, switch and pinctrl. */
export class ChassisNode {
  /** The switch (br-int). */
  readonly sw: Switch;
  /** pinctrl. */
  readonly pinctrl: Pinctrl;
  /** Logical port of each VIF OpenFlow port. */
  readonly lportOfPort = new Map<number, string>();
  /** Tunnel OpenFlow port towards each chassis address. */
  readonly tunnelByRemote = new Map<number, number>();
  /** Localnet patch ports: OpenFlow port -> physical network. */
  readonly patchNetwork = new Map<number, string>();
  /** The text of every flow installed, by flow key. */
  private readonly installed = new Map<string, string>();
  /** The name (`type=...,bucket=...`) of every group installed, by id. */
  private readonly installedGroups = new Map<number, string>();
  /** The name and `add-meter` text of every meter installed, by id. */
  private readonly installedMeters = new Map<number, { name: string; text: string }>();
  /** The southbound meter rows the installed meters were built from. */
  private meterRows: SbDatabase['meters'] | undefined;
  /** @internal the snooping timer: its deadline (ms) and handle. */
  mcastWake: { at: number; timer: TimerHandle } | undefined;

  constructor(
    readonly member: ClusterMember,
    public tables: ChassisTables,
    private readonly cluster: ChassisCluster,
    clock: VirtualClock,
  ) {
    this.sw = new Switch({ name: 'br-int', clock });
    this.sw.setTlvMap([{ optClass: GENEVE_OVN_CLASS, type: GENEVE_OVN_TYPE, len: 4, index: 0 }]);
    this.pinctrl = new Pinctrl(
      {
        recordsFor: (dpKey) => cluster.sb.dns.filter((d) => d.datapaths.some((dp) => dp.tunnelKey === dpKey)).map((d) => d.records),
      },
      () => clock.now(),
    );
    this.sw.onPacketIn = (pi) => {
      if (pi.reason !== 'action' || !pi.userdata) return;
      cluster.packetIn(this, { frame: pi.frame.slice(), userdata: pi.userdata.slice(), tableId: pi.tableId, match: pi.match.map((m) => ({ ...m })), cookie: pi.cookie });
    };
    this.addPorts();
    this.sync(new Set([...tables.flows.installed()].map((f) => f.key)));
  }

  /** Chassis name. */
  get name(): string {
    return this.member.name;
  }

  private addPorts(): void {
    const rt = this.tables.rt;
    for (const [lport, ofport] of this.member.vifs) {
      this.lportOfPort.set(ofport, lport);
      this.sw.addPort({ number: ofport, name: lport, sink: (_p, frame) => this.cluster.deliver(this, lport, frame) });
    }
    const local = parseIpv4(this.member.encapIp);
    for (const t of rt.tunnels.values()) {
      const remote = parseIpv4(t.ip);
      const peer = this.cluster.config.members.find((m) => m.name === t.chassis);
      this.tunnelByRemote.set(remote, t.ofport);
      this.sw.addPort({
        number: t.ofport,
        name: t.name,
        kind: 'tunnel',
        tunnel: { localIp: local, remoteIp: remote, ethSrc: parseMac(this.member.mac), ethDst: parseMac(peer?.mac ?? this.member.mac), udpChecksum: true, ...(this.cluster.genevePort !== undefined ? { dstPort: this.cluster.genevePort } : {}) },
        sink: (_p, frame) => this.cluster.underlaySend(this, frame),
      });
    }
    for (const [lport, ofport] of rt.patchOfports) {
      const network = rt.portByName.get(lport)?.options.get('network_name') ?? lport;
      this.patchNetwork.set(ofport, network);
      this.sw.addPort({ number: ofport, name: `patch-br-int-to-${lport}`, sink: (_p, frame) => this.cluster.physicalSend(this, network, frame) });
    }
  }

  /**
   * Make the switch hold the desired flows of `keys`, and exactly the desired groups and meters:
   * an id freed and taken again by another group or meter (an update, a recompute) is modified
   * in place, an id no longer desired is deleted once no flow names it.
   */
  sync(keys: Iterable<string>): void {
    const t = this.tables;
    // Groups and meters first: flows that name them are checked against them.
    for (const e of t.groups.entries()) {
      const had = this.installedGroups.get(e.id);
      if (had === e.name) continue;
      const text = dumpGroups(singleGroup(t, e.id))[0]!;
      if (had === undefined) this.sw.addGroup(text);
      else this.sw.modGroup(text);
      this.installedGroups.set(e.id, e.name);
    }
    // A meter's text is its name's, or its southbound row's (compared again when the rows change).
    const rowsChanged = this.meterRows !== this.cluster.sb.meters;
    this.meterRows = this.cluster.sb.meters;
    for (const e of t.meters.entries()) {
      const had = this.installedMeters.get(e.id);
      if (had?.name === e.name && !rowsChanged) continue;
      const text = meterText(this.cluster.sb, e.id, e.name);
      if (had?.text === text) continue;
      if (had === undefined) this.sw.addMeter(text);
      else this.sw.modMeter(text);
      this.installedMeters.set(e.id, { name: e.name, text });
    }
    for (const key of keys) {
      const f = t.flows.active(key);
      const old = this.installed.get(key);
      const text = f ? flowText(f) : undefined;
      if (text === old) continue;
      if (old !== undefined) this.sw.delFlows(old.replace(/^\s*cookie=0x[0-9a-f]+, /, '').replace(/ actions=.*$/, ''), { strict: true });
      if (text === undefined) this.installed.delete(key);
      else {
        this.sw.addFlow(text);
        this.installed.set(key, text);
      }
    }
    // No desired flow names a freed id any more: deleting it removes no flow of ours.
    for (const id of this.installedGroups.keys()) {
      if (t.groups.get(id)) continue;
      this.sw.delGroup(id);
      this.installedGroups.delete(id);
    }
    for (const id of this.installedMeters.keys()) {
      if (t.meters.get(id)) continue;
      this.sw.delMeter(id);
      this.installedMeters.delete(id);
    }
  }

  /** The OpenFlow port of a VIF. */
  vifPort(lport: string): number | undefined {
    return this.member.vifs.get(lport);
  }
}

/** A group table holding one group (to print it). */
function singleGroup(t: ChassisTables, id: number): ChassisTables['groups'] {
  const e = t.groups.get(id);
  const g = Object.create(t.groups) as ChassisTables['groups'];
  g.entries = () => (e ? [e] : []);
  return g;
}

/** The text of a flow for the switch's parser. */
function flowText(f: DesiredFlow): string {
  return formatDumpFlow(f).trim();
}

/** A meter of ovn-controller's meter table as `ovs-ofctl add-meter` text. */
function meterText(sb: SbDatabase, id: number, name: string): string {
  const row = sb.meters.find((m) => m.name === name);
  if (row) {
    const burst = row.bands.some((b) => b.burstSize > 0);
    const bands = row.bands.map((b) => `type=drop,rate=${b.rate}${burst ? `,burst_size=${b.burstSize}` : ''}`).join(',');
    return `meter=${id},${row.unit},${burst ? 'burst,' : ''}stats,bands=${bands}`;
  }
  const m = /^__string: uuid \S+ (kbps|pktps)( burst)? stats bands=type=drop rate=(\d+)(?: burst_size=(\d+))?$/.exec(name);
  if (m) return `meter=${id},${m[1]},${m[2] ? 'burst,' : ''}stats,bands=type=drop,rate=${m[3]}${m[4] ? `,burst_size=${m[4]}` : ''}`;
  throw new ChassisError('bad-config', `meter ${JSON.stringify(name)} is neither a southbound Meter row nor a set_meter meter`);
}

interface QueuedPacketIn {
  frame: Uint8Array;
  userdata: Uint8Array;
  tableId: number;
  match: PacketInField[];
  cookie: bigint;
}

type Event =
  | { kind: 'receive'; node: ChassisNode; port: number; frame: Uint8Array }
  | { kind: 'packet-out'; node: ChassisNode; inPort: number; actions: OfAction[]; frame: Uint8Array }
  | { kind: 'packet-in'; node: ChassisNode; pi: QueuedPacketIn }
  | { kind: 'sb'; change: LearntRow; learner: ChassisNode | undefined }
  | { kind: 'igmp'; node: ChassisNode };

/** A cluster of chassis in one process; see the module comment. */
export class ChassisCluster {
  /** The southbound database the chassis run on (grows with learnt MAC bindings and FDB entries). */
  sb: SbDatabase;
  /** The chassis, in configuration order. */
  readonly nodes: ChassisNode[] = [];
  /** The clock. */
  readonly clock: VirtualClock;
  /** UDP destination port of the Geneve tunnels (undefined: 6081). */
  readonly genevePort: number | undefined;
  private readonly byIp = new Map<number, ChassisNode>();
  private readonly memberByIp = new Map<number, ClusterMember>();
  /** One-way delay of physical (localnet) networks, which stay in process. */
  private readonly delay: number;
  private readonly transport: UnderlayTransport;
  private readonly queue: { at: number; seq: number; ev: Event }[] = [];
  private seq = 0;
  private result: RunResult = { deliveries: [], underlay: [], notes: [] };
  private readonly maxEvents: number;
  private learnt = 0;

  constructor(
    sb: SbDatabase,
    readonly config: ClusterConfig,
    private readonly opts: ChassisClusterOptions = {},
  ) {
    this.sb = sb;
    this.clock = opts.clock ?? new VirtualClock(0);
    this.maxEvents = opts.maxEvents ?? 100_000;
    this.genevePort = opts.genevePort;
    this.delay = opts.underlayDelayMs ?? 0.01;
    for (const m of config.members) this.memberByIp.set(parseIpv4(m.encapIp), m);
    const local = opts.local ? new Set(opts.local) : undefined;
    for (const name of local ?? []) {
      if (!config.members.some((m) => m.name === name)) throw new ChassisError('unknown-chassis', `no chassis ${name} to run here (have ${config.members.map((m) => m.name).join(', ')})`);
    }
    for (const m of config.members) {
      if (local && !local.has(m.name)) continue;
      const node = new ChassisNode(m, computeChassisTables(sb, m, config.facts), this, this.clock);
      this.nodes.push(node);
      this.byIp.set(parseIpv4(m.encapIp), node);
    }
    this.transport = opts.transport ?? new InProcessUnderlay(this.delay);
    this.transport.attach({ now: () => this.clock.now(), receive: (frame, at) => this.underlayReceive(frame, at) });
    for (const node of this.nodes) this.mcastConfigure(node);
  }

  /** No event is queued (the cluster is idle until a frame, a timer or a row arrives). */
  get idle(): boolean {
    return this.queue.length === 0;
  }

  /** A cluster from a southbound database and a chassis map (`LPORT CHASSIS [IP]` bindings). */
  static fromMap(sb: SbDatabase, map: ChassisMap = emptyChassisMap(), opts: ChassisClusterOptions = {}): ChassisCluster {
    return new ChassisCluster(sb, clusterConfig(map, {}, sb), opts);
  }

  /** The chassis named `name`. */
  node(name: string): ChassisNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new ChassisError('unknown-chassis', `no chassis ${name} (have ${this.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  /** The chassis a VIF is bound on. */
  nodeOfPort(lport: string): ChassisNode {
    const n = this.nodes.find((x) => x.member.vifs.has(lport));
    const elsewhere = n ? undefined : this.config.members.find((m) => m.vifs.has(lport));
    if (elsewhere) throw new ChassisError('unknown-port', `logical port ${lport} is bound to chassis ${elsewhere.name}, which does not run here (here: ${this.nodes.map((x) => x.name).join(', ')})`);
    if (!n) throw new ChassisError('unknown-port', `logical port ${lport} is not bound to any chassis`);
    return n;
  }

  /** Queue `frame` as received from the VIF of logical port `lport` (at the current virtual time). */
  inject(lport: string, frame: Uint8Array): void {
    const node = this.nodeOfPort(lport);
    if (frame.length < 14) throw new ChassisError('bad-frame', `a frame of ${frame.length} bytes is shorter than an Ethernet header`);
    this.push(this.clock.now(), { kind: 'receive', node, port: node.vifPort(lport)!, frame: frame.slice() });
  }

  /**
   * Queue an underlay frame that arrived from outside this cluster (another cluster on the same
   * underlay, e.g. another OVN interconnect zone): received by the chassis owning the outer
   * destination address, on its tunnel port towards the outer source, as `underlaySend` delivers
   * frames between this cluster's own chassis. False when no chassis here owns the destination
   * or has a tunnel from the source (OVS drops such a frame).
   */
  injectUnderlay(frame: Uint8Array): boolean {
    if (frame.length < 34 || u16(frame, 12) !== 0x0800) throw new ChassisError('bad-frame', 'an underlay frame must be Ethernet and IPv4');
    const to = this.byIp.get(u32(frame, 30));
    const port = to?.tunnelByRemote.get(u32(frame, 26));
    if (!to || port === undefined) return false;
    this.push(this.clock.now() + this.delay, { kind: 'receive', node: to, port, frame: frame.slice() });
    return true;
  }

  /** Process every queued event (and what they cause) in virtual-time order; return what happened. */
  run(): RunResult {
    this.result = { deliveries: [], underlay: [], notes: [] };
    let n = 0;
    while (this.queue.length) {
      if (++n > this.maxEvents) {
        this.queue.length = 0;
        throw new ChassisError('loop', `more than ${this.maxEvents} events in one run: a forwarding loop?`);
      }
      const { at, ev } = this.pop();
      if (at > this.clock.now()) this.clock.set(at);
      this.handle(ev);
    }
    return this.result;
  }

  /** Inject one frame and run until idle. */
  send(lport: string, frame: Uint8Array): RunResult {
    this.inject(lport, frame);
    return this.run();
  }

  /** Queue a southbound row a chassis elsewhere learnt (applied in order with the other events; run() to process it). */
  learn(row: LearntRow): void {
    this.push(this.clock.now(), { kind: 'sb', change: row, learner: undefined });
  }

  /** Bring every chassis to a new southbound database (incremental updates). */
  updateSouthbound(sb: SbDatabase, changes?: SbChanges): void {
    this.sb = sb;
    for (const node of this.nodes) {
      const r = updateChassisTables(node.tables, sb, changes ? { changes } : {});
      node.sync(r.keys);
    }
    for (const node of this.nodes) this.mcastConfigure(node);
  }

  /** Snooping follows the `IP_Multicast` rows of the node's local datapaths (`ip_mcast_sync`). */
  private mcastConfigure(node: ChassisNode): void {
    if (node.pinctrl.mcast.configure(this.sb.ipMulticast, new Set(node.tables.rt.localDatapaths.keys()), this.clock.now())) {
      this.push(this.clock.now(), { kind: 'igmp', node });
    }
    this.mcastArm(node);
  }

  /** Run the node's snooping timers when due: now, or from a clock timer at their deadline. */
  private mcastArm(node: ChassisNode): void {
    const at = node.pinctrl.mcast.nextWakeMs();
    if (node.mcastWake?.at === at) return;
    if (node.mcastWake) this.clock.cancel(node.mcastWake.timer);
    node.mcastWake = undefined;
    if (at === undefined) return;
    if (at <= this.clock.now()) {
      this.mcastDue(node);
      return;
    }
    node.mcastWake = {
      at,
      timer: this.clock.schedule(at, () => {
        node.mcastWake = undefined;
        this.mcastDue(node);
      }),
    };
  }

  /** The snooping timers of a node fire: queries go out, aged groups leave the rows. */
  private mcastDue(node: ChassisNode): void {
    const now = this.clock.now();
    for (const e of node.pinctrl.mcastDue()) {
      if (e.kind === 'packet-out') this.push(now, { kind: 'packet-out', node, inPort: OFPP_CONTROLLER, actions: e.actions, frame: e.frame });
      else if (e.kind === 'igmp' && e.changed) this.push(now, { kind: 'igmp', node });
    }
    this.mcastArm(node);
  }

  /** The node's IGMP_Group rows as snooping holds them now (`ip_mcast_sync`). */
  private igmpRows(node: ChassisNode): LearntRow {
    const chassis: SbChassis = this.sb.chassis.find((c) => c.name === node.name) ?? {
      uuid: node.member.name, name: node.name, hostname: node.name, encaps: [], vtepLogicalSwitches: [], nbCfg: 0, externalIds: new Map(), otherConfig: new Map(), transportZones: [],
    };
    return { igmpGroups: { chassis: node.name, rows: node.pinctrl.mcast.igmpRows(this.sb, chassis, this.sb.igmpGroups) } };
  }

  private push(at: number, ev: Event): void {
    const item = { at, seq: this.seq++, ev };
    // Binary insertion by (time, sequence): events at the same time keep their order.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid]!;
      if (q.at < at || (q.at === at && q.seq < item.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  private pop(): { at: number; ev: Event } {
    return this.queue.shift()!;
  }

  private handle(ev: Event): void {
    switch (ev.kind) {
      case 'receive':
        ev.node.sw.receive(ev.port, ev.frame);
        return;
      case 'packet-out':
        ev.node.sw.packetOut({ inPort: ev.inPort, actions: formatOfActions(ev.actions), frame: ev.frame });
        return;
      case 'packet-in':
        this.pinctrl(ev.node, ev.pi);
        return;
      case 'sb':
        if (this.applySb(ev.change) && ev.learner) this.opts.onLearnt?.(ev.change, ev.learner.name);
        return;
      case 'igmp':
        // Written to this cluster's database only: IGMP_Group rows are not shared between processes.
        this.applySb(this.igmpRows(ev.node));
        return;
    }
  }

  /** @internal a VIF transmitted a frame. */
  deliver(node: ChassisNode, lport: string, frame: Uint8Array): void {
    this.result.deliveries.push({ port: lport, chassis: node.name, frame: frame.slice(), time: this.clock.now() });
  }

  /** @internal a tunnel port transmitted an outer frame: record it, hand it to the transport. */
  underlaySend(node: ChassisNode, frame: Uint8Array): void {
    const copy = frame.slice();
    const to = this.memberByIp.get(outerIpv4(copy, 30));
    const f: UnderlayFrame = { from: node.name, to: to?.name, network: 'geneve', frame: copy, time: this.clock.now() };
    this.result.underlay.push(f);
    this.opts.onUnderlay?.(f);
    this.transport.send(node.member, to, copy);
  }

  /** A transport brought an outer frame: queue it on the local chassis it is for (see `UnderlayEndpoint`). */
  private underlayReceive(frame: Uint8Array, at: number): boolean {
    const to = this.byIp.get(outerIpv4(frame, 30));
    const port = to?.tunnelByRemote.get(outerIpv4(frame, 26));
    if (!to || port === undefined) return false; // no tunnel from that address: OVS drops it
    this.push(Math.max(at, this.clock.now()), { kind: 'receive', node: to, port, frame });
    return true;
  }

  /** @internal a localnet patch port transmitted a frame onto its physical network. */
  physicalSend(node: ChassisNode, network: string, frame: Uint8Array): void {
    const copy = frame.slice();
    const f: UnderlayFrame = { from: node.name, to: undefined, network, frame: copy, time: this.clock.now() };
    this.result.underlay.push(f);
    this.opts.onUnderlay?.(f);
    for (const other of this.nodes) {
      if (other === node) continue;
      for (const [port, net] of other.patchNetwork) if (net === network) this.push(this.clock.now() + this.delay, { kind: 'receive', node: other, port, frame: copy });
    }
  }

  /** @internal a flow sent a packet to the controller. */
  packetIn(node: ChassisNode, pi: QueuedPacketIn): void {
    this.push(this.clock.now(), { kind: 'packet-in', node, pi });
  }

  private note(node: ChassisNode, kind: ClusterNote['kind'], text: string): void {
    this.result.notes.push({ chassis: node.name, kind, text });
  }

  private pinctrl(node: ChassisNode, pi: QueuedPacketIn): void {
    for (const e of node.pinctrl.handle(pi)) this.effect(node, pi, e);
    this.mcastArm(node);
  }

  private effect(node: ChassisNode, pi: QueuedPacketIn, e: PinctrlEffect): void {
    const now = this.clock.now();
    switch (e.kind) {
      case 'packet-out':
        this.push(now, { kind: 'packet-out', node, inPort: OFPP_CONTROLLER, actions: e.actions, frame: e.frame });
        return;
      case 'resume': {
        const rest = continuation(node.tables, pi);
        if (!rest) {
          this.note(node, 'ignored', `no paused flow in table ${pi.tableId} with this userdata to resume`);
          return;
        }
        const inPort = Number(pi.match.find((m) => m.name === 'in_port')?.value ?? BigInt(OFPP.NONE));
        const actions: OfAction[] = [...reloadMetadata(e.match)];
        if (e.result) actions.push({ type: 'set_field', field: e.result.field, value: BigInt(e.result.value) << BigInt(e.result.bit), mask: 1n << BigInt(e.result.bit) });
        actions.push(...rest);
        this.push(now, { kind: 'packet-out', node, inPort, actions, frame: e.frame });
        return;
      }
      case 'mac-binding': {
        const dp = this.sb.datapaths.find((d) => d.tunnelKey === e.dpKey);
        const pb = dp && this.sb.portBindings.find((p) => p.datapath === dp && p.tunnelKey === e.portKey);
        if (!pb) {
          this.note(node, 'ignored', `put_arp/put_nd for unknown datapath ${e.dpKey} port ${e.portKey}`);
          return;
        }
        this.note(node, 'mac-binding', `${pb.logicalPort} ${e.ip} is at ${e.mac}`);
        const row: SbMacBinding = { uuid: this.learntUuid(node), logicalPort: pb.logicalPort, ip: e.ip, mac: e.mac, timestamp: now, datapath: dp };
        this.push(now, { kind: 'sb', change: { macBinding: row }, learner: node });
        return;
      }
      case 'fdb': {
        this.note(node, 'fdb', `datapath ${e.dpKey} port ${e.portKey} has ${e.mac}`);
        this.push(now, { kind: 'sb', change: { fdb: { uuid: this.learntUuid(node), mac: e.mac, dpKey: e.dpKey, portKey: e.portKey } }, learner: node });
        return;
      }
      case 'log':
      case 'event':
      case 'bind-vport':
        this.note(node, e.kind, e.text);
        return;
      case 'igmp': {
        const pb = this.sb.portBindings.find((p) => p.datapath.tunnelKey === e.dpKey && p.tunnelKey === e.portKey);
        if (pb) this.note(node, 'igmp', `snooped a report or query from ${pb.logicalPort} on ${pb.datapath.name}`);
        if (e.changed) this.push(now, { kind: 'igmp', node });
        return;
      }
      case 'ignored':
        this.note(node, 'ignored', e.reason);
        return;
    }
  }

  /** A uuid for a row `node` learnt: unique across the processes of a cluster (the chassis's position), stable across runs. */
  private learntUuid(node: ChassisNode): string {
    const idx = this.config.members.indexOf(node.member);
    return `${idx.toString(16).padStart(8, '0')}-0000-4000-a000-${(++this.learnt).toString(16).padStart(12, '0')}`;
  }

  /** A learnt row joins the southbound database; every chassis updates, then sends what it buffered. False when it changed nothing. */
  private applySb(change: LearntRow): boolean {
    const empty = new Set<string>();
    let sb = this.sb;
    const changes: { -readonly [K in keyof SbChanges]: SbChanges[K] } = {
      logicalFlows: empty, portBindings: empty, multicastGroups: empty, addressSets: empty, portGroups: empty, loadBalancers: empty,
      macBindings: empty, staticMacBindings: empty, fdb: empty, other: false,
    };
    if (change.macBinding) {
      const mb = change.macBinding;
      // One binding per (port, ip): a newer answer replaces the older row.
      const old = sb.macBindings.find((b) => b.logicalPort === mb.logicalPort && b.ip === mb.ip);
      if (old && old.mac === mb.mac) return false;
      sb = { ...sb, macBindings: [...sb.macBindings.filter((b) => b !== old), mb] };
      changes.macBindings = new Set([mb.uuid, ...(old ? [old.uuid] : [])]);
    }
    if (change.igmpGroups) {
      const { chassis, rows } = change.igmpGroups;
      const mine = sb.igmpGroups.filter((g) => g.chassis?.name === chassis);
      if (sameIgmpRows(mine, rows)) return false;
      sb = { ...sb, igmpGroups: [...sb.igmpGroups.filter((g) => g.chassis?.name !== chassis), ...rows] };
      this.note(this.nodes.find((n) => n.name === chassis) ?? this.nodes[0]!, 'igmp', `${chassis}: ${rows.filter((r) => r.ports.length).map((r) => `${r.datapath?.name ?? '?'} ${r.address}: ${r.ports.map((p) => p.logicalPort).join(' ')}`).join('; ') || 'no groups'}`);
      if (this.opts.northd) sb = this.opts.northd(sb);
      this.updateSouthbound(sb);
      return true;
    }
    if (change.fdb) {
      const f = change.fdb;
      const old = sb.fdb.find((x) => x.mac === f.mac && x.dpKey === f.dpKey);
      if (old && old.portKey === f.portKey) return false;
      sb = { ...sb, fdb: [...sb.fdb.filter((x) => x !== old), f] };
      changes.fdb = new Set([f.uuid, ...(old ? [old.uuid] : [])]);
    }
    this.updateSouthbound(sb, changes);
    const mb = change.macBinding;
    if (!mb || !mb.datapath) return true;
    const pb = this.sb.portBindings.find((p) => p.logicalPort === mb.logicalPort);
    if (!pb) return true;
    const cr = pb.options.has('chassis-redirect-port') ? this.sb.portBindings.find((p) => p.logicalPort === `cr-${pb.logicalPort}` && p.type === 'chassisredirect') : undefined;
    for (const node of this.nodes) {
      let outs = node.pinctrl.macLearned(mb.datapath.tunnelKey, pb.tunnelKey, mb.ip, mb.mac);
      if (!outs.length && cr) outs = node.pinctrl.macLearned(mb.datapath.tunnelKey, cr.tunnelKey, mb.ip, mb.mac);
      for (const o of outs) this.push(this.clock.now(), { kind: 'packet-out', node, inPort: OFPP_CONTROLLER, actions: o.actions, frame: o.frame });
    }
    return true;
  }
}

/** Two sets of one chassis's IGMP_Group rows hold the same groups and ports. */
function sameIgmpRows(a: readonly SbIgmpGroup[], b: readonly SbIgmpGroup[]): boolean {
  const sig = (rows: readonly SbIgmpGroup[]) => rows.map((r) => `${r.datapath?.uuid}/${r.address}/${r.ports.map((p) => p.logicalPort).sort().join(',')}`).sort().join(';');
  return a.length === b.length && sig(a) === sig(b);
}

/** The outer IPv4 address at `off` of an Ethernet/IPv4 frame (-1 when it is not one). */
function outerIpv4(frame: Uint8Array, off: number): number {
  return frame.length >= 34 && u16(frame, 12) === 0x0800 ? u32(frame, off) : -1;
}

/** The actions after the pausing `controller` action of the flow that sent `pi`. */
function continuation(t: ChassisTables, pi: { tableId: number; userdata: Uint8Array; cookie: bigint }): OfAction[] | undefined {
  for (const f of t.flows.installed()) {
    if (f.table !== pi.tableId || f.cookie !== pi.cookie) continue;
    const i = f.actions.findIndex((a) => a.type === 'controller' && a.pause === true && a.userdata !== undefined && sameBytes(a.userdata, pi.userdata));
    if (i >= 0) return f.actions.slice(i + 1);
  }
  return undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

