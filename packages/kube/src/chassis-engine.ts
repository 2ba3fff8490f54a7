/**
 * The chassis verdict engine: a connection answered by frames through the emulated nodes.
 *
 * Design. Every Linux node is a chassis (`@ovnts/chassis`): its zone's northbound database is
 * compiled by our northd into the zone's own southbound database, and the chassis runs the
 * OpenFlow tables ovn-controller would build from it on an `@ovnts/openflow` switch. What the
 * other daemons of an interconnect deployment write is written here: the `Chassis` rows of every
 * node (the local one with `ovn-bridge-mappings=physnet:br-ex`, the others as remote chassis,
 * as ovn-ic creates them), the chassis of each `remote` port of `transit_switch` (ovn-ic's
 * `Port_Binding.chassis`, the node named by `requested-chassis`), and the gateway router's
 * learnt binding of the node's default gateway (`MAC_Binding`, as the OVN trace engine assumes
 * too). Pods, the management port `k8s-<node>` and the hybrid-overlay port `int-<node>` are
 * the chassis's VIFs.
 *
 * Each zone is its own `ChassisCluster` (its own southbound database, as each zone has its own
 * ovn-controller), all on one `VirtualClock`; their tunnels share one underlay: a Geneve frame a
 * chassis sends to another node's address is handed to that node's cluster
 * (`ChassisCluster.injectUnderlay`), which receives it on its tunnel port. Frames a chassis
 * sends on the physical network (`br-ex`) leave the cluster: they are the deliveries outside.
 *
 * A probe is a connection: the first packet (TCP SYN, UDP datagram, SCTP INIT, ICMP echo) is
 * built with the addresses OVN gives the pod (its MAC, and the next hop's MAC as the pod's
 * neighbour table would hold it: the peer's on the same node subnet, else the node router's),
 * injected at the source pod's port, and every cluster runs until idle. It is delivered when
 * the destination pod's port transmits it; the reply (SYN+ACK, datagram, INIT-ACK, echo reply)
 * is then built from what was delivered and injected at the destination's port, through the
 * connection state the first packet left in every switch's conntrack. Each probe is a new
 * connection: the conntrack tables are flushed before it (learnt flows, such as load-balancer
 * affinity, stay).
 *
 * What dropped a probe, which ACLs allowed it (its departures from the Kubernetes API) and the ACL
 * log lines come from the chassis too: the flows its frames hit (`FlowHits`: packet counters before
 * and after each leg, mapped to logical flows by cookie and to ACLs by `nbRowOfFlow`) and the
 * `acl_log` lines of the chassis's pinctrl. The logical path comes from an `OvnTraceEngine` on the
 * same network, traced when the probe asks for an explanation; where its verdict disagrees the
 * result says so in its notes.
 *
 * Multicast is answered by the chassis too: a pod's IGMP report (`joinGroup`, `sendFrame`) is
 * snooped by its node's pinctrl (`@ovnts/chassis` mcast-snoop.ts), which writes the zone's
 * IGMP_Group rows; the zone's northd (ours, on the zone's northbound database) turns them into
 * multicast groups and flows, which the chassis installs; a datagram to the group then reaches
 * the members' ports through the switch, the cluster router's relay and Geneve. The logical-flow
 * engine is sent the same frames, so that its explanations follow the same groups; where its
 * deliveries differ, the result says so. The queriers' queries and the groups' aging run on the
 * shared virtual clock; nothing answers a query (pods are not hosts), so a membership lasts
 * `mcast_idle_timeout` seconds from its pod's last report, as in the logical-flow engine.
 */
import { ChassisCluster, OFTABLE, defaultUnderlayMac, type ChassisNode, type ClusterMember, type UnderlayFrame } from '@ovnts/chassis';
import { OVN_GENEVE_CLASS, OVN_GENEVE_TYPE, parseGeneve, GENEVE_UDP_PORT } from '@ovnts/geneve';
import { VirtualClock, crc32c, fieldByName, type FlowEntry } from '@ovnts/openflow';
import { compileNorthd, emptyFlow, nbRowOfFlow, type SbChassis, type SbDatabase, type SbLogicalFlow, type SbMacBinding, type TraceFlow } from '@ovnts/ovn';
import { PacketBuilder, formatIpv4, parseIgmp, parseIpv4, u16, u32 } from '@ovnts/packet';
import { KubeQueryError } from './errors.js';
import {
  OvnTraceEngine,
  egressRedirect,
  gatewayMac,
  ipOf,
  igmpReportFrame,
  isMulticast,
  probeSourcePort,
  type Crossing,
  type Delivery,
  type EgressRedirect,
  type FrameResult,
  type LegResult,
  type ProbeRequest,
  type ProbeResult,
  type VerdictEngine,
} from './engine.js';
import type { NodeModel, PodModel } from './model.js';
import { formatIp, sameIp, type Ip } from './net.js';
import { podPortName, type AclInfo, type KubeNetwork, type Zone } from './translate.js';

/** One node's chassis: the zone's southbound database and the cluster that runs it. */
export interface ZoneChassis {
  /** The zone (node). */
  readonly zone: Zone;
  /** Chassis name (`k8s.ovn.org/node-chassis-id`, else the node name). */
  readonly chassis: string;
  /** Geneve endpoint (the node's IPv4 address, else `192.168.N.M` from its id). */
  readonly encapIp: string;
  /** The zone's southbound database as the chassis sees it. */
  readonly sb: SbDatabase;
  /** The cluster holding this node's chassis. */
  readonly cluster: ChassisCluster;
}

/** What the frames of one leg did. */
interface FrameLeg {
  deliveries: Delivery[];
  crossings: Crossing[];
  tunnelFrames: number;
  events: string[];
  /** The `acl_log` lines the chassis's pinctrl wrote. */
  logs: string[];
  /** What the OpenFlow flows the leg's frames hit say (see `FlowHits`). */
  acls: LegAcls;
}

/** The ACLs a leg's frames went through, and what dropped them, from the flows they hit. */
interface LegAcls {
  /** ACLs whose allow flows the frames hit. */
  allowedBy: AclInfo[];
  /** The ACL whose drop flow the frames hit. */
  droppedByAcl?: AclInfo;
  /** A drop flow (empty actions) of the logical pipelines the frames hit, as its logical flow: `<datapath> <stage>, priority N: <match> (actions: ...)`. */
  dropFlow?: string;
}

/**
 * Which OpenFlow flows of a chassis a leg's frames hit: the flows' packet counters before and
 * after (the switch counts every flow a packet matches, also on a flow-cache hit). A flow's
 * cookie is the first 32 bits of the uuid of the logical flow it was built from (ovn-controller's
 * convention; conjunction clauses carry 0, the `conj_id` flow the logical flow's cookie), so the
 * hits map back to logical flows, and those built from an ACL to the ACL (`nbRowOfFlow`).
 */
class FlowHits {
  private entries: FlowEntry[] = [];
  private counts = new Float64Array(0);
  private epoch = -1;

  constructor(readonly node: ChassisNode) {}

  /** Remember every flow's counter. */
  snapshot(): void {
    const sw = this.node.sw;
    if (sw.epoch.value !== this.epoch) {
      this.entries = sw.flows();
      this.epoch = sw.epoch.value;
      if (this.counts.length < this.entries.length) this.counts = new Float64Array(this.entries.length);
    }
    const e = this.entries;
    for (let i = 0; i < e.length; i++) this.counts[i] = e[i]!.packets;
  }

  /** The flows hit since `snapshot` (flows added since are not seen: learnt flows). */
  hits(): FlowEntry[] {
    const out: FlowEntry[] = [];
    const e = this.entries;
    for (let i = 0; i < e.length; i++) if (e[i]!.packets > this.counts[i]!) out.push(e[i]!);
    return out;
  }
}

const ACL_STAGES = new Set(['ls_in_acl', 'ls_out_acl', 'ls_in_acl_after_lb', 'ls_in_acl_eval', 'ls_out_acl_eval', 'ls_in_acl_after_lb_eval']);
const METADATA = fieldByName('metadata')!;

/** Options of the chassis engine. */
export interface ChassisEngineOptions {
  /**
   * When to trace the logical flows too: `always`, or `needed` (default): when the probe asks
   * for an explanation, when the chassis dropped it, or when the network has ACLs departing from
   * the Kubernetes API.
   */
  readonly explain?: 'always' | 'needed';
  /**
   * Trace a dropped probe's logical flows to say what dropped it (default true); without it a
   * dropped probe that asked for no explanation says only that the chassis did not deliver it
   * (`kube reach`'s truth tables need only the verdicts).
   */
  readonly dropReasons?: boolean;
}

const TCP_SYN = 0x002;
const TCP_ACK = 0x010;
const SYN_SEQ = 0x1000;
const SYNACK_SEQ = 0x2000;
const SCTP_INIT_TAG = 0x5ca1ab1e;

/** The chassis-backed verdict engine (see the module comment). */
export class ChassisEngine implements VerdictEngine {
  /** The logical-flow engine that explains (and answers multicast); replaced by `update`. */
  lflow: OvnTraceEngine;
  /** The clock of every chassis (ms). */
  readonly clock = new VirtualClock(0);
  /** The node chassis by node name. */
  readonly zones: ReadonlyMap<string, ZoneChassis>;
  /** Geneve frames that crossed between nodes since the engine was built. */
  tunnelFrames = 0;
  private readonly byEncap = new Map<number, ZoneChassis>();
  private readonly pending: { to: ZoneChassis; frame: Uint8Array }[] = [];
  private external: { node: string; frame: Uint8Array }[] = [];
  private crossed: { from: string; to: string; frame: Uint8Array }[] = [];
  /** Namespaces with ACLs that depart from the Kubernetes API (a policy's ACLs apply to its namespace's pods). */
  private departing: ReadonlySet<string>;
  private readonly explainMode: 'always' | 'needed';
  private readonly dropReasons: boolean;

  /** The translated cluster the chassis run (replaced by `update`). */
  net: KubeNetwork;

  constructor(net: KubeNetwork, opts: ChassisEngineOptions = {}) {
    this.net = net;
    this.lflow = new OvnTraceEngine(net);
    this.explainMode = opts.explain ?? 'needed';
    this.dropReasons = opts.dropReasons ?? true;
    this.departing = departingNamespaces(net);
    const linux = net.cluster.nodes.filter((n) => !n.windows);
    const encap = new Map(linux.map((n) => [n.name, encapAddress(n)]));
    const zones = new Map<string, ZoneChassis>();
    for (const [name, zone] of net.zones) {
      const node = zone.node;
      const sb = zoneSouthbound(zone, linux, encap);
      const vifs = new Map<string, number>();
      for (const pb of sb.portBindings) {
        const pod = net.podByPort.get(pb.logicalPort);
        if ((pb.type === '' && pod?.node === name) || pb.logicalPort === `k8s-${name}` || pb.logicalPort === `int-${name}`) vifs.set(pb.logicalPort, vifs.size + 1);
      }
      const member: ClusterMember = { name: node.chassis, encapIp: encap.get(name)!, vifs, mac: defaultUnderlayMac(encap.get(name)!), bridgeMappings: new Map([['physnet', 'br-ex']]) };
      const chassis = new Map(linux.map((n) => [n.chassis, { name: n.chassis, encapIp: encap.get(n.name)! }]));
      const bound = new Map([...vifs.keys()].map((p) => [p, node.chassis]));
      let zc: ZoneChassis | undefined;
      const northd = (prev: SbDatabase) => compileNorthd(zone.db, { previous: prev }).sb;
      const cluster = new ChassisCluster(sb, { members: [member], facts: { chassis, vifChassis: (lport) => bound.get(lport) } }, { clock: this.clock, onUnderlay: (f) => this.underlay(zc!, f), northd });
      zc = { zone, chassis: node.chassis, encapIp: member.encapIp, sb, cluster };
      zones.set(name, zc);
      this.byEncap.set(parseIpv4(member.encapIp), zc);
    }
    this.zones = zones;
  }

  /** Whether `update(net)` applies: the same Linux nodes (zones), and the same pods on the same nodes. */
  canUpdate(net: KubeNetwork): boolean {
    const pods = (n: KubeNetwork) => [...n.podByPort].map(([p, x]) => `${p}@${x.node}`).sort().join(' ');
    return [...net.zones.keys()].join() === [...this.zones.keys()].join() && pods(net) === pods(this.net);
  }

  /**
   * Bring every chassis to another translation of the same cluster (policies, services, labels,
   * namespaces' annotations changed; the same nodes and pods), as ovn-controller follows its
   * southbound database: each zone's northbound database is compiled again over the southbound
   * database its chassis runs (tunnel keys, chassis rows, port bindings' chassis and learnt MAC
   * bindings kept, as ovn-northd keeps them) and the chassis update their OpenFlow tables
   * incrementally. The explanation engine is replaced; conntrack and learnt flows stay (the next
   * probe flushes conntrack anyway).
   */
  update(net: KubeNetwork): void {
    if (!this.canUpdate(net)) throw new KubeQueryError('ChassisEngine.update: the nodes or the pods (or the nodes they run on) differ; build a new engine');
    const zones = this.zones as Map<string, ZoneChassis>;
    for (const [name, zone] of net.zones) {
      const zc = zones.get(name)!;
      const sb = compileNorthd(zone.db, { previous: zc.cluster.sb }).sb;
      zc.cluster.updateSouthbound(sb);
      const next: ZoneChassis = { ...zc, zone, sb };
      zones.set(name, next);
      this.byEncap.set(parseIpv4(next.encapIp), next);
    }
    this.net = net;
    this.lflow = new OvnTraceEngine(net);
    this.lflow.now = this.now;
    this.departing = departingNamespaces(net);
  }

  /** The virtual clock in seconds (it only moves forward: an earlier time leaves it where it is). */
  get now(): number {
    return this.clock.now() / 1000;
  }

  set now(s: number) {
    if (s * 1000 > this.clock.now()) this.clock.set(s * 1000);
    this.lflow.now = s;
  }

  private underlay(from: ZoneChassis, f: UnderlayFrame): void {
    const node = from.zone.node.name;
    if (f.network !== 'geneve') {
      this.external.push({ node, frame: f.frame });
      return;
    }
    if (f.to !== undefined || f.frame.length < 34 || u16(f.frame, 12) !== 0x0800) return;
    const to = this.byEncap.get(u32(f.frame, 30));
    if (!to) return;
    this.crossed.push({ from: node, to: to.zone.node.name, frame: f.frame });
    this.pending.push({ to, frame: f.frame });
  }

  /** Run every chassis until the whole cluster is idle, dropping what it sends (queries, aged groups: the clock's own events). */
  private settle(): void {
    for (let round = 0; round <= 64; round++) {
      for (const z of this.zones.values()) z.cluster.run();
      const p = this.pending.splice(0);
      if (!p.length && [...this.zones.values()].every((z) => z.cluster.idle)) break;
      for (const x of p) x.to.cluster.injectUnderlay(x.frame);
    }
    this.pending.length = 0;
  }

  /**
   * Inject `frame` at a pod's port and run every chassis until the whole cluster is idle; with
   * `observe`, also which ACLs and drop flows the frames hit (`FlowHits`).
   */
  private send(pod: PodModel, frame: Uint8Array, observe: boolean): FrameLeg {
    const zc = this.zoneOf(pod);
    this.settle();
    this.external = [];
    this.crossed = [];
    const raw: { port: string; node: string; frame: Uint8Array }[] = [];
    const events: string[] = [];
    const logs: string[] = [];
    if (observe) for (const z of this.zones.values()) for (const h of this.hitsOf(z)) h.snapshot();
    zc.cluster.inject(podPortName(pod), frame);
    for (let round = 0; ; round++) {
      if (round > 64) throw new KubeQueryError('frames kept crossing between nodes (more than 64 rounds): a forwarding loop');
      for (const z of this.zones.values()) {
        const r = z.cluster.run();
        for (const d of r.deliveries) raw.push({ port: d.port, node: z.zone.node.name, frame: d.frame });
        // pinctrl's notes: the acl_log lines (acl-log.ts, ovn-controller's format), the rest as events.
        for (const n of r.notes) {
          if (n.kind === 'log') logs.push(n.text);
          else events.push(`${z.zone.node.name}: ${n.kind}: ${n.text}`);
        }
      }
      if (!this.pending.length && [...this.zones.values()].every((z) => z.cluster.idle)) break;
      for (const p of this.pending.splice(0)) p.to.cluster.injectUnderlay(p.frame);
    }
    const deliveries: Delivery[] = [];
    for (const d of raw) deliveries.push(this.classify(d.node, d.port, frameFlow(d.frame)));
    for (const x of this.external) {
      const f = frameFlow(x.frame);
      if (f.dl_type === 0x800n || f.dl_type === 0x86ddn) deliveries.push({ kind: 'external', name: `br-ex_${x.node}`, node: x.node, flow: f });
      else events.push(`${x.node}: sent on the physical network: ${f.dl_type === 0x806n ? 'an ARP' : `EtherType 0x${f.dl_type.toString(16)}`} frame`);
    }
    const crossings: Crossing[] = [];
    for (const c of this.crossed) {
      const x = crossingOf(c.from, c.to, c.frame);
      if (x) crossings.push(x);
      events.push(`${c.from} -> ${c.to}: Geneve${x ? ` VNI ${x.vni}, ingress key ${x.ingressKey}, egress key ${x.egressKey}` : ''}${this.net.cluster.config.ipsec ? ' (in ESP: IPsec)' : ''}`);
    }
    this.tunnelFrames += this.crossed.length;
    for (const d of deliveries) events.push(`${d.node}: ${d.kind === 'external' ? `out ${d.name} to ${formatIp(ipOf(d.flow, 'dst'))}` : `delivered to ${d.kind === 'pod' ? d.name : `${d.kind} ${d.name}`}`}`);
    return { deliveries, crossings, tunnelFrames: this.crossed.length, events, logs, acls: observe ? this.legAcls() : { allowedBy: [] } };
  }

  private readonly hitters = new Map<string, FlowHits[]>();
  private readonly cookies = new Map<string, { sb: SbDatabase; byCookie: Map<bigint, SbLogicalFlow[]> }>();

  /** The flow-hit trackers of a zone's chassis. */
  private hitsOf(z: ZoneChassis): FlowHits[] {
    let h = this.hitters.get(z.zone.node.name);
    if (!h) this.hitters.set(z.zone.node.name, (h = z.cluster.nodes.map((n) => new FlowHits(n))));
    return h;
  }

  /** A zone's logical flows by the cookie of their OpenFlow flows (rebuilt when its southbound database changes). */
  private lflowsByCookie(z: ZoneChassis): Map<bigint, SbLogicalFlow[]> {
    const sb = z.cluster.sb;
    const c = this.cookies.get(z.zone.node.name);
    if (c?.sb === sb) return c.byCookie;
    const byCookie = new Map<bigint, SbLogicalFlow[]>();
    for (const f of sb.logicalFlows) {
      const k = BigInt(`0x${f.uuid.slice(0, 8)}`);
      const l = byCookie.get(k);
      if (l) l.push(f);
      else byCookie.set(k, [f]);
    }
    this.cookies.set(z.zone.node.name, { sb, byCookie });
    return byCookie;
  }

  /**
   * The ACLs (allow and drop) and the first drop flow the leg's frames hit, from the flows of
   * the logical pipelines (tables 8-36 ingress, 42-63 egress) mapped to their logical flows by
   * cookie; a drop flow is one with no instructions.
   */
  private legAcls(): LegAcls {
    const allowedBy = new Set<AclInfo>();
    let droppedByAcl: AclInfo | undefined;
    let dropFlow: string | undefined;
    for (const z of this.zones.values()) {
      const node = z.zone.node.name;
      for (const h of this.hitsOf(z)) {
        for (const e of h.hits()) {
          const f = e.flow;
          if (f.cookie === 0n) continue;
          const ingress = f.table >= OFTABLE.LOG_INGRESS_PIPELINE && f.table < OFTABLE.OUTPUT_LARGE_PKT_DETECT;
          const egress = f.table >= OFTABLE.LOG_EGRESS_PIPELINE && f.table < OFTABLE.SAVE_INPORT;
          if (!ingress && !egress) continue;
          const table = f.table - (ingress ? OFTABLE.LOG_INGRESS_PIPELINE : OFTABLE.LOG_EGRESS_PIPELINE);
          const lf = this.lflowsByCookie(z).get(f.cookie)?.find((x) => x.pipeline === (ingress ? 'ingress' : 'egress') && x.tableId === table);
          if (!lf) continue;
          const stage = lf.externalIds.get('stage-name') ?? '';
          if (ACL_STAGES.has(stage)) {
            const row = nbRowOfFlow(lf);
            const info = row !== undefined ? this.net.acls.get(`${node}/${row}`) : undefined;
            if (info && (info.action === 'drop' || info.action === 'reject')) droppedByAcl ??= info;
            else if (info) allowedBy.add(info);
          }
          const ins = f.instructions;
          if (dropFlow === undefined && !ins.apply.length && !ins.writeActions?.length && ins.gotoTable === undefined) {
            const key = Number(f.match.getValue(METADATA));
            const dp = lf.logicalDatapath ?? z.cluster.sb.datapaths.find((d) => d.tunnelKey === key);
            dropFlow = `${dp ? `${dp.name} ` : ''}${stage}, priority ${lf.priority}: ${lf.match} (actions: ${lf.actions})`;
          }
        }
      }
    }
    return { allowedBy: [...allowedBy], ...(droppedByAcl ? { droppedByAcl } : {}), ...(dropFlow !== undefined ? { dropFlow } : {}) };
  }

  private classify(node: string, port: string, flow: TraceFlow): Delivery {
    const pod = this.net.podByPort.get(port);
    if (pod) return { kind: 'pod', name: `${pod.namespace}/${pod.name}`, node, flow };
    if (port === `k8s-${node}`) return { kind: 'host', name: node, node, flow };
    if (port === `int-${node}`) return { kind: 'hybrid-overlay', name: port, node, flow };
    return { kind: 'other', name: port, node, flow };
  }

  private zoneOf(pod: PodModel): ZoneChassis {
    const z = this.zones.get(pod.node);
    if (!z) throw new KubeQueryError(`pod ${pod.namespace}/${pod.name} runs on node ${pod.node}, which has no OVN zone (a Windows node)`);
    return z;
  }

  /** Flush every chassis's connection tracker (the probe that follows is a new connection). */
  private freshConnections(): void {
    for (const z of this.zones.values()) for (const n of z.cluster.nodes) n.sw.conntrack.flush();
  }

  /** Learnt flows (load-balancer affinity) on every chassis. */
  private learntFlows(): number {
    let n = 0;
    for (const z of this.zones.values()) for (const c of z.cluster.nodes) n += c.sw.flows(78).length;
    return n;
  }

  probe(req: ProbeRequest): ProbeResult {
    if (req.at !== undefined) this.now = req.at;
    if (isMulticast(req.dst)) return this.groupProbe(req);
    const from = req.from;
    if (from.hostNetwork) throw new KubeQueryError(`pod ${from.namespace}/${from.name} uses the host network: its traffic does not enter OVN through a pod port`);
    const src = from.ips.find((x) => x.family === req.dst.family);
    if (!src) throw new KubeQueryError(`pod ${from.namespace}/${from.name} has no IPv${req.dst.family} address`);
    const sport = probeSourcePort(req);
    const notes: string[] = [];
    const explain = req.explain !== false;
    // Which ACLs and drop flows the frames hit: for the explanation, the drop reason, or departures.
    const observe = explain || this.dropReasons || this.departing.size > 0;
    this.freshConnections();
    const first = probeFrame({ ethSrc: from.mac, ethDst: this.lflow.nextHopMac(from, req.dst), src, dst: req.dst, proto: req.proto, sport, dport: req.port, reply: false });
    const learnt = this.learntFlows();
    let fwd = this.send(from, first, observe);
    if (!fwd.deliveries.length && req.proto === 'tcp' && this.learntFlows() > learnt) {
      notes.push("the first SYN was dropped by OVN 23.03's ls_in_lb_aff_learn flow (it learns the affinity and has no next;); the retransmitted SYN uses the learned flow");
      // As the logical-flow engine does, the retransmission is traced as a new connection (the
      // kernel datapath's +new for a connection that has seen no reply): conntrack flushed, the
      // learnt affinity kept.
      this.freshConnections();
      const again = this.send(from, first, observe);
      fwd = { ...again, crossings: [...fwd.crossings, ...again.crossings], tunnelFrames: fwd.tunnelFrames + again.tunnelFrames, events: [...fwd.events, '(retransmission)', ...again.events] };
    }
    const to = fwd.deliveries[0];
    const er = to?.kind === 'pod' ? this.net.cluster.egressRouters.find((x) => x.pod === to.name) : undefined;
    let redirect: EgressRedirect | undefined;
    if (er && to) {
      redirect = egressRedirect(er, to.flow, req.proto);
      if (!redirect) notes.push(`egress router ${er.namespace}/${er.name} has no rule for ${req.proto.toUpperCase()} port ${req.port} and no fallbackIP: the connection ends in the pod`);
    }
    let back: FrameLeg | undefined;
    if (to && to.kind === 'pod' && req.reply !== false) {
      const target = this.net.cluster.pods.find((p) => `${p.namespace}/${p.name}` === to.name)!;
      const f = to.flow;
      const rdst = ipOf(f, 'src');
      const rf = probeFrame({ ethSrc: target.mac, ethDst: this.lflow.nextHopMac(target, rdst), src: ipOf(f, 'dst'), dst: rdst, proto: req.proto, sport: Number(f.tp_dst), dport: Number(f.tp_src), reply: true });
      back = this.send(target, rf, observe);
    }
    const fromName = `${from.namespace}/${from.name}`;
    const replyOk = !back || back.deliveries.some((d) => d.kind === 'pod' && d.name === fromName);
    const delivered = !!to && replyOk && (!er || !!redirect);
    const snatSrc = to ? ipOf(to.flow, 'src') : undefined;
    const snat = snatSrc && !sameIp(snatSrc, src) ? formatIp(snatSrc) : undefined;
    const backend = to && !sameIp(ipOf(to.flow, 'dst'), req.dst) && to.kind === 'pod' ? endpointText(ipOf(to.flow, 'dst'), req.proto === 'icmp' ? undefined : Number(to.flow.tp_dst)) : undefined;

    // What dropped it, which ACLs allowed it and what they logged: from the chassis (the flows
    // the frames hit, pinctrl's acl_log lines). The logical path: the logical flows, traced when
    // the probe asks for an explanation.
    const needLflow = this.explainMode === 'always' || explain;
    const lr = needLflow ? this.lflow.probe({ ...req, explain }) : undefined;
    if (lr && lr.verdict !== (delivered ? 'delivered' : 'dropped')) {
      notes.push(`the logical-flow trace disagrees: it says ${lr.verdict}${lr.to ? ` (to ${lr.to})` : ''}${lr.droppedBy ? ` (${lr.droppedBy})` : ''}`);
    }
    let droppedBy: string | undefined;
    if (!delivered) {
      if (!to) droppedBy = dropText(fwd.acls) ?? 'not delivered by the chassis';
      else if (!replyOk) {
        const why = back && dropText(back.acls);
        droppedBy = why ? `reply: ${why}` : 'reply not delivered by the chassis';
      }
    }
    const departures = [...new Set([...fwd.acls.allowedBy, ...(back?.acls.allowedBy ?? [])].map((a) => a.departure).filter((x): x is string => !!x))];
    const leg = (fl: FrameLeg, l: LegResult | undefined): LegResult => {
      const why = dropText(fl.acls);
      return {
        deliveries: fl.deliveries,
        path: [...(l?.path ?? []), ...(explain ? fl.events.map((e) => `frames: ${e}`) : [])],
        ...(why && !fl.deliveries.length ? { droppedBy: why } : {}),
        ...(fl.acls.droppedByAcl && !fl.deliveries.length ? { droppedByAcl: fl.acls.droppedByAcl } : {}),
        allowedBy: fl.acls.allowedBy,
        logs: fl.logs,
        hops: l?.hops ?? [],
        crossings: fl.crossings,
        snooped: [],
        notes: l?.notes ?? [],
      };
    };
    return {
      verdict: delivered ? 'delivered' : 'dropped',
      ...(to ? { to: to.kind === 'external' ? `external ${formatIp(ipOf(to.flow, 'dst'))} via node ${to.node}` : to.name } : {}),
      ...(droppedBy ? { droppedBy } : {}),
      ...(snat ? { snat } : {}),
      ...(backend ? { backend } : {}),
      ...(redirect ? { redirect } : {}),
      forward: leg(fwd, lr?.forward),
      ...(back ? { reply: leg(back, lr?.reply) } : {}),
      departures,
      notes: [...notes, ...(lr?.notes ?? []).filter((n) => !n.startsWith('the first SYN was dropped'))],
      engine: 'chassis',
      tunnelFrames: fwd.tunnelFrames + (back?.tunnelFrames ?? 0),
    };
  }

  /** Every IGMP_Group membership of every zone, as `zone|switch|group|port`. */
  private memberships(): Set<string> {
    const out = new Set<string>();
    for (const [name, z] of this.zones) {
      for (const g of z.cluster.sb.igmpGroups) for (const p of g.ports) if (g.address !== 'mrouters') out.add(`${name}|${g.datapath?.name ?? ''}|${g.address}|${p.logicalPort}`);
    }
    return out;
  }

  /**
   * A frame a pod sends (IPv4: UDP, TCP, ICMP or IGMP), through the chassis: an IGMP report its
   * node's pinctrl snooped changes the groups (`snooped`: the report's records), a datagram to a
   * group reaches the members. The logical flows see the same frame and explain it; a membership
   * of the pod's port that changed otherwise, or other deliveries, are in the notes.
   */
  sendFrame(from: PodModel, frame: Uint8Array, opts: { at?: number; explain?: boolean } = {}): FrameResult {
    if (opts.at !== undefined) this.now = opts.at;
    const lr = this.lflow.sendFrame(from, frame, opts);
    this.settle();
    const before = this.memberships();
    const fl = this.send(from, frame, false);
    const after = this.memberships();
    const port = podPortName(from);
    // What snooping learnt from the pod's report: its records when the node's pinctrl got it,
    // checked against the memberships that changed.
    const snooped = fl.events.some((e) => e.endsWith(`igmp: snooped a report or query from ${port} on ${from.node}`)) ? reportRecords(frame).map((r) => ({ zone: from.node, datapath: from.node, port, group: r.group, joined: r.joined })) : [];
    const notes = [...lr.notes];
    for (const k of after) {
      const [, dp, group, p] = k.split('|');
      if (!before.has(k) && p === port && !snooped.some((e) => e.datapath === dp && e.group === group && e.joined)) notes.push(`snooping also registered ${port} in ${group} on ${dp}`);
    }
    const pods = (ds: readonly Delivery[]) => ds.filter((d) => d.kind === 'pod').map((d) => d.name).sort().join(', ');
    if (pods(fl.deliveries) !== pods(lr.deliveries)) notes.push(`the logical-flow trace disagrees: it delivers to [${pods(lr.deliveries)}]`);
    const explain = opts.explain !== false;
    return {
      ...lr,
      deliveries: fl.deliveries,
      crossings: fl.crossings,
      snooped,
      path: [...lr.path, ...(explain ? fl.events.map((e) => `frames: ${e}`) : [])],
      ...(fl.deliveries.length ? { droppedBy: undefined, droppedByAcl: undefined } : {}),
      notes,
    };
  }

  /** A pod joins a multicast group: its IGMPv3 report through the chassis (`sendFrame`). */
  joinGroup(pod: PodModel, group: Ip, opts: { at?: number; explain?: boolean } = {}): FrameResult {
    return this.sendFrame(pod, igmpReportFrame(pod, group), opts);
  }

  /** A probe to a multicast group: the datagram through the chassis, delivered when it reached a member pod; no reply. */
  private groupProbe(req: ProbeRequest): ProbeResult {
    const from = req.from;
    if (from.hostNetwork) throw new KubeQueryError(`pod ${from.namespace}/${from.name} uses the host network: its traffic does not enter OVN through a pod port`);
    const src = from.ips.find((x) => x.family === req.dst.family);
    if (!src) throw new KubeQueryError(`pod ${from.namespace}/${from.name} has no IPv${req.dst.family} address`);
    const frame = probeFrame({ ethSrc: from.mac, ethDst: this.lflow.nextHopMac(from, req.dst), src, dst: req.dst, proto: req.proto, sport: probeSourcePort(req), dport: req.port, reply: false });
    const fl = this.send(from, frame, false);
    const members = fl.deliveries.filter((d) => d.kind === 'pod');
    const delivered = members.length > 0;
    const explain = req.explain !== false;
    const lr = this.explainMode === 'always' || explain || (!delivered && this.dropReasons) ? this.lflow.probe({ ...req, explain }) : undefined;
    const notes: string[] = [];
    const names = members.map((d) => d.name);
    if (lr && (lr.verdict !== (delivered ? 'delivered' : 'dropped') || (lr.to ?? '').split(', ').filter((x) => x).sort().join(', ') !== [...names].sort().join(', '))) {
      notes.push(`the logical-flow trace disagrees: it says ${lr.verdict}${lr.to ? ` (to ${lr.to})` : ''}`);
    }
    const droppedBy = delivered ? undefined : (lr?.verdict === 'dropped' ? lr.droppedBy : undefined) ?? 'not delivered to any member by the chassis';
    return {
      verdict: delivered ? 'delivered' : 'dropped',
      ...(delivered ? { to: names.join(', ') } : {}),
      ...(droppedBy ? { droppedBy } : {}),
      forward: {
        deliveries: fl.deliveries,
        path: [...(lr?.forward.path ?? []), ...(explain ? fl.events.map((e) => `frames: ${e}`) : [])],
        ...(lr?.forward.droppedBy && !delivered ? { droppedBy: lr.forward.droppedBy } : {}),
        ...(lr?.forward.droppedByAcl && !delivered ? { droppedByAcl: lr.forward.droppedByAcl } : {}),
        allowedBy: lr?.forward.allowedBy ?? [],
        logs: fl.logs,
        hops: lr?.forward.hops ?? [],
        crossings: fl.crossings,
        snooped: [],
        notes: lr?.forward.notes ?? [],
      },
      departures: lr?.departures ?? [],
      notes: [...notes, ...(lr?.notes ?? [])],
      engine: 'chassis',
      tunnelFrames: fl.tunnelFrames,
    };
  }
}

/** The group records of an IGMP report or leave (IPv4, after the IP header): group and whether it joins. */
function reportRecords(frame: Uint8Array): { group: string; joined: boolean }[] {
  if (frame.length < 34 || u16(frame, 12) !== 0x0800 || frame[23] !== 2) return [];
  const l4 = 14 + (frame[14]! & 0x0f) * 4;
  const g = parseIgmp(frame, l4, u16(frame, 16) - (l4 - 14));
  if (!g.ok) return [];
  const m = g.value;
  const text = (a: number) => formatIpv4(a >>> 0);
  if (m.kind === 'reportV1' || m.kind === 'reportV2') return [{ group: text(m.group), joined: true }];
  if (m.kind === 'leave') return [{ group: text(m.group), joined: false }];
  if (m.kind === 'reportV3') return m.records.map((r) => ({ group: text(r.group), joined: !((r.type === 1 || r.type === 3) && r.sources.length === 0) }));
  return [];
}

/** Namespaces with ACLs that depart from the Kubernetes API (`''`: an ACL of no namespace). */
function departingNamespaces(net: KubeNetwork): ReadonlySet<string> {
  return new Set([...net.acls.values()].filter((a) => a.departure).map((a) => a.namespace ?? ''));
}

/** What dropped a leg, as the logical-flow engine words it: the ACL, else the drop flow's logical flow. */
function dropText(a: LegAcls): string | undefined {
  if (a.droppedByAcl) return a.droppedByAcl.text + (a.droppedByAcl.name ? ` (ACL ${a.droppedByAcl.name})` : '');
  return a.dropFlow;
}

function endpointText(ip: Ip, port: number | undefined): string {
  if (port === undefined) return formatIp(ip);
  return ip.family === 6 ? `[${formatIp(ip)}]:${port}` : `${formatIp(ip)}:${port}`;
}

/** A node's Geneve endpoint: its IPv4 address, else one derived from its id (the chassis layer tunnels over IPv4). */
function encapAddress(n: NodeModel): string {
  const a = n.ips[4];
  return a ? formatIp(a) : formatIpv4(((192 << 24) | (168 << 16) | (n.id & 0xffff)) >>> 0);
}

function uuidFor(kind: number, n: number): string {
  return `00000000-0000-4000-${(0xb000 + kind).toString(16)}-${n.toString(16).padStart(12, '0')}`;
}

/**
 * A zone's southbound database as the node's ovn-controller sees it: our northd's, with what the
 * chassis and ovn-ic write (see the module comment), compiled again over them as ovn-northd's
 * next run would (the HA groups of the gateway ports then name their chassis).
 */
export function zoneSouthbound(zone: Zone, linux: readonly NodeModel[], encap: ReadonlyMap<string, string>): SbDatabase {
  const me = zone.node;
  const chassis: SbChassis[] = linux.map((n, i) => ({
    uuid: uuidFor(1, i + 1),
    name: n.chassis,
    hostname: n.name,
    encaps: [{ uuid: uuidFor(2, i + 1), type: 'geneve', ip: encap.get(n.name)!, options: new Map([['csum', 'true']]), chassisName: n.chassis }],
    vtepLogicalSwitches: [],
    nbCfg: 0,
    externalIds: new Map(),
    otherConfig: new Map(n === me ? [['ovn-bridge-mappings', 'physnet:br-ex']] : [['is-remote', 'true']]),
    transportZones: [],
  }));
  const byNode = new Map(linux.map((n, i) => [n.name, chassis[i]!]));
  const first = compileNorthd(zone.db).sb;
  const gr = first.datapaths.find((d) => d.name === `GR_${me.name}`);
  const macBindings: SbMacBinding[] = Object.values(me.host.gateway).map((g, i) => ({ uuid: uuidFor(3, i + 1), logicalPort: `rtoe-GR_${me.name}`, ip: formatIp(g), mac: gatewayMac(g), timestamp: 0, datapath: gr }));
  const previous: SbDatabase = {
    ...first,
    chassis,
    encaps: chassis.flatMap((c) => c.encaps),
    portBindings: first.portBindings.map((pb) => {
      if (pb.type !== 'remote') return pb;
      const c = byNode.get(pb.options.get('requested-chassis') ?? '');
      return c ? { ...pb, chassis: c, encap: c.encaps[0] } : pb;
    }),
    macBindings,
  };
  return compileNorthd(zone.db, { previous }).sb;
}

/** What a Geneve frame between nodes carried, from its bytes. */
function crossingOf(from: string, to: string, frame: Uint8Array): Crossing | undefined {
  const ihl = (frame[14]! & 0x0f) * 4;
  const udp = 14 + ihl;
  if (frame[23] !== 17 || u16(frame, udp + 2) !== GENEVE_UDP_PORT) return undefined;
  const g = parseGeneve(frame, udp + 8);
  if (!g.ok) return undefined;
  const opt = g.value.options.find((o) => o.optClass === OVN_GENEVE_CLASS && o.type === OVN_GENEVE_TYPE);
  const keys = opt && opt.data.length >= 4 ? u32(opt.data, 0) : 0;
  const inner = frame.subarray(udp + 8 + 8 + g.value.options.reduce((n, o) => n + 4 + o.data.length, 0));
  return { from, to, vni: g.value.vni, ingressKey: (keys >>> 16) & 0x7fff, egressKey: keys & 0xffff, flow: frameFlow(inner) };
}

/** The microflow of a frame (Ethernet; IPv4 or IPv6; TCP, UDP, SCTP or ICMP ports and types). */
export function frameFlow(frame: Uint8Array): TraceFlow {
  const f = emptyFlow();
  if (frame.length < 14) return f;
  f.dl_dst = BigInt(u32(frame, 0)) << 16n | BigInt(u16(frame, 4));
  f.dl_src = BigInt(u32(frame, 6)) << 16n | BigInt(u16(frame, 10));
  let off = 12;
  let et = u16(frame, off);
  while ((et === 0x8100 || et === 0x88a8) && frame.length >= off + 6) {
    off += 4;
    et = u16(frame, off);
  }
  f.dl_type = BigInt(et);
  const l3 = off + 2;
  let l4 = -1;
  let proto = -1;
  if (et === 0x0800 && frame.length >= l3 + 20) {
    f.nw_src = BigInt(u32(frame, l3 + 12));
    f.nw_dst = BigInt(u32(frame, l3 + 16));
    f.nw_ttl = BigInt(frame[l3 + 8]!);
    proto = frame[l3 + 9]!;
    l4 = l3 + (frame[l3]! & 0x0f) * 4;
  } else if (et === 0x86dd && frame.length >= l3 + 40) {
    f.ipv6_src = readU128(frame, l3 + 8);
    f.ipv6_dst = readU128(frame, l3 + 24);
    f.nw_ttl = BigInt(frame[l3 + 7]!);
    proto = frame[l3 + 6]!;
    l4 = l3 + 40;
  }
  if (proto < 0) return f;
  f.nw_proto = BigInt(proto);
  if ((proto === 6 || proto === 17 || proto === 132) && frame.length >= l4 + 4) {
    f.tp_src = BigInt(u16(frame, l4));
    f.tp_dst = BigInt(u16(frame, l4 + 2));
    if (proto === 6 && frame.length >= l4 + 14) f.tcp_flags = BigInt(u16(frame, l4 + 12) & 0x0fff);
  } else if ((proto === 1 || proto === 58) && frame.length >= l4 + 2) {
    f.tp_src = BigInt(frame[l4]!);
    f.tp_dst = BigInt(frame[l4 + 1]!);
  }
  return f;
}

function readU128(b: Uint8Array, off: number): bigint {
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(b[off + i]!);
  return v;
}

/** The first packet of a probe's connection, or its reply. */
interface ProbePacket {
  readonly ethSrc: string;
  readonly ethDst: string;
  readonly src: Ip;
  readonly dst: Ip;
  readonly proto: ProbeRequest['proto'];
  readonly sport: number;
  readonly dport: number;
  /** The reply (SYN+ACK, INIT-ACK, echo reply) rather than the first packet. */
  readonly reply: boolean;
}

/**
 * The frame of a probe packet: TCP SYN (reply SYN+ACK acknowledging it), a UDP datagram, an SCTP
 * INIT (reply INIT-ACK on its tag), an ICMP or ICMPv6 echo request (reply echo reply), each with
 * valid checksums (conntrack checks them as the userspace datapath does).
 */
export function probeFrame(p: ProbePacket): Uint8Array {
  const b = new PacketBuilder().ethernet({ src: p.ethSrc, dst: p.ethDst });
  const v6 = p.src.family === 6;
  const l3 = (protocol?: number) => {
    if (v6) b.ipv6({ src: p.src.addr, dst: p.dst.addr, hopLimit: 64, ...(protocol !== undefined ? { nextHeader: protocol } : {}) });
    else b.ipv4({ src: Number(p.src.addr), dst: Number(p.dst.addr), ttl: 64, dontFragment: true, ...(protocol !== undefined ? { protocol } : {}) });
  };
  switch (p.proto) {
    case 'tcp':
      l3();
      b.tcp({ srcPort: p.sport, dstPort: p.dport, flags: p.reply ? TCP_SYN | TCP_ACK : TCP_SYN, seq: p.reply ? SYNACK_SEQ : SYN_SEQ, ack: p.reply ? SYN_SEQ + 1 : 0, window: 64240 });
      return b.build();
    case 'udp':
      l3();
      b.udp({ srcPort: p.sport, dstPort: p.dport, checksum: true }).payload(p.reply ? 'pong' : 'ping');
      return b.build();
    case 'icmp':
      l3();
      if (v6) b.icmpv6({ kind: 'echo', type: p.reply ? 129 : 128, code: 0, identifier: 0x4b38, sequence: 1, data: new Uint8Array(8) });
      else b.icmpv4({ type: p.reply ? 0 : 8, code: 0, id: 0x4b38, seq: 1 });
      return b.build();
    case 'sctp': {
      l3(132);
      const s = new Uint8Array(32);
      const w16 = (o: number, v: number) => { s[o] = v >>> 8; s[o + 1] = v & 0xff; };
      const w32 = (o: number, v: number) => { w16(o, v >>> 16); w16(o + 2, v & 0xffff); };
      w16(0, p.sport);
      w16(2, p.dport);
      w32(4, p.reply ? SCTP_INIT_TAG : 0); // verification tag: 0 in INIT, the peer's initiate tag after
      s[12] = p.reply ? 2 : 1; // INIT / INIT ACK
      w16(14, 20);
      w32(16, p.reply ? SCTP_INIT_TAG ^ 0xffff : SCTP_INIT_TAG); // initiate tag
      w32(20, 65535); // a_rwnd
      w16(24, 1); // outbound streams
      w16(26, 1); // inbound streams
      w32(28, 1); // initial TSN
      b.payload(s);
      const frame = b.build();
      const off = frame.length - s.length;
      const c = crc32c(frame, off, s.length);
      frame[off + 8] = c & 0xff;
      frame[off + 9] = (c >>> 8) & 0xff;
      frame[off + 10] = (c >>> 16) & 0xff;
      frame[off + 11] = c >>> 24;
      return frame;
    }
  }
}
