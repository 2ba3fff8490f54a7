/**
 * The verdict engine: a connection between Kubernetes endpoints answered by the emulated OVN.
 *
 * Design. `VerdictEngine` is the interface every answer goes through; `OvnTraceEngine` is today's
 * implementation: it follows the packet through each zone's logical flows with the ovn-trace
 * interpreter of `@ovnts/ovn` (`traceTree`), and crosses zones the way OVN interconnect does: a
 * packet the source zone outputs to a `remote` port of `transit_switch` continues in the zone
 * that owns that port, entering its `ovn_cluster_router` from `rtots-<node>` (the transit
 * switch's egress pipeline, stateless, has already run in the source zone). What a southbound
 * database and the chassis would hold is supplied through the interpreter's hooks: conntrack
 * (per logical-port zone, and per router): every lookup of the first packet is `new`; a reply
 * is `est|rpl` in each zone the first packet was committed in (with the un-DNAT of a load
 * balanced connection), `new` elsewhere; load-balancer affinity learned by `commit_lb_aff` with
 * its idle timeout on a virtual clock, refreshed by each `chk_lb_aff` hit; the backend
 * `ct_lb_mark` picks is a hash of the 5-tuple (OVS hashes too, with a function we do not model).
 * A chassis-backed implementation (frames through per-node OpenFlow switches) can replace this
 * one behind the same interface.
 */
import { emptyFlow, type IgmpGroupRecord, minimalText, traceDb, traceFlowTree, type TraceDatapath, type TraceFlow, type TraceHooks, type TraceLflow, type TracePort } from '@ovnts/ovn';
import { CS } from '@ovnts/ovn/internal';
import { IgmpRecordType, PacketBuilder, formatMac, parseEthernet, parseIgmp, parseIpv4Header, parseTcp, parseUdp, tcpLen, type IgmpRepr } from '@ovnts/packet';
import { KubeQueryError } from './errors.js';
import { fnv1a64 } from './ids.js';
import type { EgressRouterModel, PodModel } from './model.js';
import { formatIp, sameIp, tryParseIp, type Family, type Ip } from './net.js';
import { podPortName, type AclInfo, type KubeNetwork, type Zone } from './translate.js';
import { contains } from './net.js';

/** L4 protocol of a probe. */
export type ProbeProto = 'tcp' | 'udp' | 'sctp' | 'icmp';

/** A connection to answer. */
export interface ProbeRequest {
  /** Source pod. */
  readonly from: PodModel;
  /** Destination address. */
  readonly dst: Ip;
  /** Protocol. */
  readonly proto: ProbeProto;
  /** Destination port (ignored for ICMP). */
  readonly port: number;
  /** Source port (default: derived from the pair, in 32768..60999). */
  readonly srcPort?: number;
  /** Virtual time in seconds (affinity timeouts); default: the engine's clock. */
  readonly at?: number;
  /** Trace the reply too (default true). */
  readonly reply?: boolean;
  /** Record the logical path and each hop's ovn-trace text (default true); `kube reach` needs only verdicts. */
  readonly explain?: boolean;
}

/** One traced hop: a zone's interpreter run (what `ovn-trace` would be given). */
export interface TraceHop {
  /** Zone (node) name. */
  readonly zone: string;
  /** Datapath the microflow enters. */
  readonly datapath: string;
  /** The microflow. */
  readonly microflow: string;
  /** ct states consumed in order (`--ct`). */
  readonly ct: readonly string[];
  /** `--lb-dst`, if a backend was chosen. */
  readonly lbDst?: string;
  /** ovn-trace --minimal text of the hop (formatted when first read; empty when the probe did not explain). */
  readonly minimal: string;
  /** Forward packet or reply. */
  readonly direction: 'forward' | 'reply';
  /** Whether this hop's outcome uses state or chassis behaviour ovn-trace does not have (learned affinity, un-NAT of replies, multicast out of a distributed gateway port). */
  readonly stateful: boolean;
  /** The multicast groups snooping had learnt in the zone (southbound IGMP_Group rows) when the hop was traced. */
  readonly igmpGroups?: readonly IgmpGroupRecord[];
  /**
   * Whether ovn-trace, given this hop's `--lb-dst`, would trace it differently on the way: it NATs a
   * new connection at the first backend-less `ct_lb_mark` (pre-stateful), where a real connection
   * is NATed by the load balancer's own flow. The packet ends in the same place.
   */
  readonly lbShortcut: boolean;
}

/** Where a packet ended. */
export interface Delivery {
  /** Kind of endpoint. */
  readonly kind: 'pod' | 'host' | 'external' | 'hybrid-overlay' | 'other';
  /** `ns/pod`, node name, or port name. */
  readonly name: string;
  /** Node where it left OVN. */
  readonly node: string;
  /** The packet as delivered. */
  readonly flow: TraceFlow;
}

/** The answer for one direction. */
export interface LegResult {
  /** Deliveries (empty: dropped). */
  readonly deliveries: readonly Delivery[];
  /** Logical path, one line per datapath pipeline (empty when the probe did not explain). */
  readonly path: readonly string[];
  /** What dropped it (ACL meaning or flow). */
  readonly droppedBy?: string;
  /** The ACL that dropped it, when one did. */
  readonly droppedByAcl?: AclInfo;
  /** ACLs that allowed it. */
  readonly allowedBy: readonly AclInfo[];
  /** Audit log lines (OVN's format). */
  readonly logs: readonly string[];
  /** Hops. */
  readonly hops: readonly TraceHop[];
  /** Packets that crossed between nodes (through the transit switch, in Geneve). */
  readonly crossings: readonly Crossing[];
  /** What IGMP snooping learnt from the packet (joins and leaves). */
  readonly snooped: readonly SnoopEvent[];
  /** Notes. */
  readonly notes: readonly string[];
}

/** A join or leave IGMP snooping learnt (ovn-controller's `igmp` handling, an IGMP_Group row changed). */
export interface SnoopEvent {
  /** Zone (node). */
  readonly zone: string;
  /** Logical switch. */
  readonly datapath: string;
  /** The port that sent the report. */
  readonly port: string;
  /** Group address. */
  readonly group: string;
  /** Joined (else left). */
  readonly joined: boolean;
}

/** Where a frame sent by a pod went. */
export interface FrameResult extends Omit<LegResult, 'learnedThenDropped'> {
  /** The frame's L4 payload (to rebuild what was delivered: `flowFrame(delivery.flow, payload)`). */
  readonly payload: Uint8Array;
}

/**
 * A packet on its way between nodes: what the source chassis puts in Geneve (ovn-architecture(7)
 * "Tunnel Encapsulations"): the transit switch's datapath key as VNI, the logical ingress and
 * egress port keys in OVN's option, and the packet as the transit switch outputs it.
 */
export interface Crossing {
  /** Source node. */
  readonly from: string;
  /** Destination node. */
  readonly to: string;
  /** VNI: the logical datapath key (the transit switch's). */
  readonly vni: number;
  /** Logical ingress port key (`tstor-<from>`). */
  readonly ingressKey: number;
  /** Logical egress port key (`tstor-<to>`). */
  readonly egressKey: number;
  /** The inner packet. */
  readonly flow: TraceFlow;
}

/** The answer for a connection. */
export interface ProbeResult {
  /** `delivered` when the first packet reached the destination and (unless disabled) the reply came back; to a multicast group, when it reached a member. */
  readonly verdict: 'delivered' | 'dropped';
  /** Where the first packet went (to a multicast group: every pod it reached, comma-separated). */
  readonly to?: string;
  /** What dropped the first packet or its reply. */
  readonly droppedBy?: string;
  /** Source address seen at the destination when it was translated. */
  readonly snat?: string;
  /** The load-balancer backend, for a service address. */
  readonly backend?: string;
  /** What an egress router pod (redirect mode) did with the connection it received. */
  readonly redirect?: EgressRedirect;
  /** Forward leg. */
  readonly forward: LegResult;
  /** Reply leg. */
  readonly reply?: LegResult;
  /** Departures from the Kubernetes API this verdict depends on. */
  readonly departures: readonly string[];
  /** Notes. */
  readonly notes: readonly string[];
  /** The engine that decided the verdict (`lflow` when absent). */
  readonly engine?: 'lflow' | 'chassis';
  /** Geneve frames that crossed between nodes for this probe (chassis engine). */
  readonly tunnelFrames?: number;
}

/**
 * An egress router pod's redirect (openshift/egress-router-cni, nftables in the pod): the
 * connection OVN delivered to the pod's eth0 is DNATed to a rule's destination (or the fallback),
 * SNATed to the router's reserved address, and leaves through net1, a macvlan on the node's host
 * interface, towards the router's gateway. Outside OVN; the reply comes back the same way and
 * leaves the pod to the client through OVN (the probe's reply leg).
 */
export interface EgressRedirect {
  /** The EgressRouter (`ns/name`). */
  readonly router: string;
  /** Which redirect rule (`redirectRules[i]`) or `fallbackIP`. */
  readonly rule: string;
  /** The packet as it leaves net1 (source: the reserved address; destination: the rule's). */
  readonly flow: TraceFlow;
}

/** Anything that answers connections: the interpreter today, frames through chassis later. */
export interface VerdictEngine {
  /** Answer one connection. */
  probe(req: ProbeRequest): ProbeResult;
  /** The virtual clock, in seconds. */
  now: number;
}

const ACL_STAGES = new Set(['ls_in_acl', 'ls_out_acl', 'ls_in_acl_after_lb', 'ls_in_acl_eval', 'ls_out_acl_eval', 'ls_in_acl_after_lb_eval']);

/** The source port of a probe: the request's, else one derived from the pair, in 32768..60999 (Linux's ephemeral range). */
export function probeSourcePort(req: ProbeRequest): number {
  return req.srcPort ?? 32768 + (hash32(`${req.from.namespace}/${req.from.name}>${formatIp(req.dst)}:${req.port}/${req.proto}`) % 28232);
}

/** 32-bit FNV-1a of a string's UTF-16 units (source ports and backend choices: stable, cheap). */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function hexMac(v: bigint): string {
  return v.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
}

/** The source or destination address of a traced packet. */
export function ipOf(f: TraceFlow, which: 'src' | 'dst'): Ip {
  if (f.dl_type === 0x86ddn) return { family: 6, addr: which === 'src' ? f.ipv6_src : f.ipv6_dst };
  return { family: 4, addr: which === 'src' ? f.nw_src : f.nw_dst };
}

/** The L4 protocols a traced packet may carry: a probe's, or IGMP. */
export type PacketProto = ProbeProto | 'igmp';

/** A packet a probe sends, before it is a microflow. */
export interface Packet {
  inport: string;
  ethSrc: bigint;
  ethDst: bigint;
  src: Ip;
  dst: Ip;
  ttl: number;
  proto: PacketProto;
  sport: number;
  dport: number;
  icmpType?: number;
  /** TCP flags (the first packet of a connection is a SYN, its reply a SYN+ACK). */
  tcpFlags?: number;
}

/** IP Router Alert (RFC 2113), as Linux sends IGMP reports. */
const ROUTER_ALERT = new Uint8Array([0x94, 0x04, 0x00, 0x00]);

/**
 * The IGMPv3 membership report a pod's Linux kernel sends (to 224.0.0.22, TTL 1, Router Alert):
 * one record for `group`, by default CHANGE_TO_EXCLUDE with no sources (a join, as for
 * `ip-add-membership`); CHANGE_TO_INCLUDE with no sources is a leave.
 */
export function igmpReportFrame(pod: PodModel, group: Ip, type: number = IgmpRecordType.ChangeToExclude): Uint8Array {
  if (group.family !== 4 || !isMulticast(group)) throw new KubeQueryError(`${formatIp(group)}: not an IPv4 multicast group (IGMP joins only)`);
  const src = pod.ips.find((x) => x.family === 4);
  if (!src) throw new KubeQueryError(`pod ${pod.namespace}/${pod.name} has no IPv4 address`);
  return new PacketBuilder()
    .ethernet({ src: pod.mac, dst: '01:00:5e:00:00:16' })
    .ipv4({ src: formatIp(src), dst: '224.0.0.22', ttl: 1, options: ROUTER_ALERT })
    .igmp({ kind: 'reportV3', records: [{ type, group: Number(group.addr), sources: [], auxData: new Uint8Array(0) }] })
    .build();
}

/** Whether an address is a multicast group (224.0.0.0/4, ff00::/8). */
export function isMulticast(ip: Ip): boolean {
  return ip.family === 4 ? ip.addr >> 28n === 0xen : ip.addr >> 120n === 0xffn;
}

/** The Ethernet address of a multicast group (RFC 1112 §6.4: 01:00:5e + the low 23 bits; RFC 2464 §7: 33:33 + the low 32 bits). */
export function multicastMac(ip: Ip): bigint {
  return ip.family === 4 ? 0x01005e000000n | (ip.addr & 0x7fffffn) : 0x333300000000n | (ip.addr & 0xffffffffn);
}

/** The ovn-trace microflow of a packet. */
export function microflow(p: Packet): string {
  const v = p.src.family === 4 ? 'ip4' : 'ip6';
  let s = `inport == "${p.inport}" && eth.src == ${hexMac(p.ethSrc)} && eth.dst == ${hexMac(p.ethDst)} && ${v}.src == ${formatIp(p.src)} && ${v}.dst == ${formatIp(p.dst)} && ip.ttl == ${p.ttl}`;
  if (p.proto === 'icmp') s += p.src.family === 4 ? ` && icmp4.type == ${p.icmpType ?? 8} && icmp4.code == 0` : ` && icmp6.type == ${p.icmpType ?? 128} && icmp6.code == 0`;
  else if (p.proto === 'igmp') s += ' && ip.proto == 2';
  else s += ` && ${p.proto}.src == ${p.sport} && ${p.proto}.dst == ${p.dport}${p.proto === 'tcp' && p.tcpFlags ? ` && tcp.flags == 0x${p.tcpFlags.toString(16).padStart(3, '0')}` : ''}`;
  return s;
}

/** ovn-controller's default multicast idle timeout (`mcast_idle_timeout`, seconds). */
const MCAST_IDLE_TIMEOUT = 300;

const TCP_SYN = 0x002;
const TCP_ACK = 0x010;
const IPPROTO_OF: Record<PacketProto, bigint> = { tcp: 6n, udp: 17n, sctp: 132n, icmp: 1n, igmp: 2n };

const macValues = new Map<string, bigint>();
function macBig(mac: string): bigint {
  let v = macValues.get(mac);
  if (v === undefined) {
    v = BigInt(`0x${mac.split(':').join('')}`);
    if (macValues.size > 65536) macValues.clear();
    macValues.set(mac, v);
  }
  return v;
}

/**
 * The packet `microflow(p)` describes, as ovn-trace's microflow parser would build it (the
 * constraints and their prerequisites: Ethernet type, IP protocol), with the inport as its
 * tunnel key: tracing it skips parsing the text, which is most of a probe's cost.
 */
export function packetFlow(key: number, p: Packet): TraceFlow {
  const f = emptyFlow();
  f.regs[14] = BigInt(key);
  f.dl_src = p.ethSrc;
  f.dl_dst = p.ethDst;
  f.nw_ttl = BigInt(p.ttl);
  if (p.src.family === 4) {
    f.dl_type = 0x800n;
    f.nw_src = p.src.addr;
    f.nw_dst = p.dst.addr;
  } else {
    f.dl_type = 0x86ddn;
    f.ipv6_src = p.src.addr;
    f.ipv6_dst = p.dst.addr;
  }
  if (p.proto === 'icmp') {
    f.nw_proto = p.src.family === 4 ? 1n : 58n;
    f.tp_src = BigInt(p.icmpType ?? (p.src.family === 4 ? 8 : 128));
  } else if (p.proto === 'igmp') {
    f.nw_proto = IPPROTO_OF.igmp;
  } else {
    f.nw_proto = IPPROTO_OF[p.proto];
    f.tp_src = BigInt(p.sport);
    f.tp_dst = BigInt(p.dport);
    if (p.proto === 'tcp' && p.tcpFlags) f.tcp_flags = BigInt(p.tcpFlags);
  }
  return f;
}

function packetOf(f: TraceFlow, inport: string, proto: PacketProto): Packet {
  return {
    inport,
    ethSrc: f.dl_src,
    ethDst: f.dl_dst,
    src: ipOf(f, 'src'),
    dst: ipOf(f, 'dst'),
    ttl: Number(f.nw_ttl),
    proto,
    sport: Number(f.tp_src),
    dport: Number(f.tp_dst),
    ...(proto === 'icmp' ? { icmpType: Number(f.tp_src) } : {}),
    ...(proto === 'tcp' && f.tcp_flags ? { tcpFlags: Number(f.tcp_flags) } : {}),
  };
}

const CT_NAMES: [bigint, string][] = [
  [CS.NEW, 'new'],
  [CS.EST, 'est'],
  [CS.REL, 'rel'],
  [CS.RPL, 'rpl'],
  [CS.INV, 'inv'],
  [CS.DNAT, 'dnat'],
  [CS.SNAT, 'snat'],
];
function ctText(s: bigint): string {
  return CT_NAMES.filter(([b]) => s & b).map(([, n]) => n).join(',');
}

interface AffinityEntry {
  backend: { ip: bigint; port: number };
  last: number;
  timeout: number;
}

/** The interpreter-backed verdict engine (see the module comment). */
export class OvnTraceEngine implements VerdictEngine {
  /** Virtual clock in seconds. */
  now = 0;
  private readonly affinity = new Map<string, AffinityEntry>();
  private readonly bindings = new Map<Zone, { port: string; ip: string; mac: string }[]>();
  /** IGMP snooping state per zone: `switch/group` -> port -> time of the last report (virtual clock). */
  private readonly mcast = new Map<string, Map<string, Map<string, number>>>();
  private pendingIgmp: IgmpRepr | undefined;

  /**
   * The multicast groups snooping holds in a zone now (southbound IGMP_Group rows): a port stays
   * a member for `mcast_idle_timeout` (300 s, ovn-controller's default) after its last report, in
   * whole seconds as OVS counts them (a report at 0 s is gone at 300 s).
   */
  igmpGroups(zone: string): IgmpGroupRecord[] {
    const z = this.mcast.get(zone);
    if (!z) return [];
    const out: IgmpGroupRecord[] = [];
    for (const [k, members] of z) {
      // OVS mcast-snooping counts whole seconds: a member expires when `now >= last report + idle`.
      const ports = [...members].filter(([, t]) => Math.floor(this.now) < Math.floor(t) + MCAST_IDLE_TIMEOUT).map(([p]) => p).sort();
      const i = k.indexOf('/');
      if (ports.length) out.push({ datapath: k.slice(0, i), address: k.slice(i + 1), ports });
    }
    return out;
  }

  /** ovn-controller's handling of an IGMP message a port sent (pinctrl `ip_mcast_snoop`, OVS mcast-snooping). */
  private snoop(zone: string, sw: string, port: string, m: IgmpRepr): SnoopEvent[] {
    const changes: { group: number; joined: boolean }[] = [];
    if (m.kind === 'reportV1' || m.kind === 'reportV2') changes.push({ group: m.group, joined: true });
    else if (m.kind === 'leave') changes.push({ group: m.group, joined: false });
    else if (m.kind === 'reportV3') {
      for (const r of m.records) {
        const leave = (r.type === IgmpRecordType.ModeIsInclude || r.type === IgmpRecordType.ChangeToInclude) && r.sources.length === 0;
        changes.push({ group: r.group, joined: !leave });
      }
    }
    let z = this.mcast.get(zone);
    if (!z) this.mcast.set(zone, (z = new Map()));
    return changes.map(({ group, joined }) => {
      const address = formatIp({ family: 4, addr: BigInt(group >>> 0) });
      const k = `${sw}/${address}`;
      let members = z.get(k);
      if (!members) z.set(k, (members = new Map()));
      if (joined) members.set(port, this.now);
      else members.delete(port);
      return { zone, datapath: sw, port, group: address, joined };
    });
  }

  /**
   * A frame a pod sends (Ethernet, IPv4, then UDP, TCP, ICMP or IGMP), through OVN as far as it
   * goes; an IGMP message that reaches snooping changes the groups of the pod's zone, as
   * ovn-controller updates IGMP_Group and ovn-northd the flows, for the frames that follow.
   */
  sendFrame(from: PodModel, frame: Uint8Array, opts: { at?: number; explain?: boolean } = {}): FrameResult {
    if (opts.at !== undefined) this.now = opts.at;
    const eth = parseEthernet(frame);
    if (!eth.ok) throw new KubeQueryError(`frame: ${eth.error.message}`);
    if (eth.value.etherType !== 0x0800) throw new KubeQueryError(`frame: EtherType 0x${eth.value.etherType.toString(16).padStart(4, '0')} (IPv4 frames only)`);
    const ip = parseIpv4Header(frame, 14);
    if (!ip.ok) throw new KubeQueryError(`frame: ${ip.error.message}`);
    const l4 = 14 + 20 + ip.value.options.length;
    const base = { inport: podPortName(from), ethSrc: BigInt(eth.value.src), ethDst: BigInt(eth.value.dst), src: { family: 4 as const, addr: BigInt(ip.value.src >>> 0) }, dst: { family: 4 as const, addr: BigInt(ip.value.dst >>> 0) }, ttl: ip.value.ttl, sport: 0, dport: 0 };
    let pkt: Packet;
    let payload = frame.subarray(l4);
    this.pendingIgmp = undefined;
    if (ip.value.protocol === 17) {
      const u = parseUdp(frame, l4);
      if (!u.ok) throw new KubeQueryError(`frame: ${u.error.message}`);
      pkt = { ...base, proto: 'udp', sport: u.value.srcPort, dport: u.value.dstPort };
      payload = frame.subarray(l4 + 8, l4 + u.value.length);
    } else if (ip.value.protocol === 6) {
      const t = parseTcp(frame, l4);
      if (!t.ok) throw new KubeQueryError(`frame: ${t.error.message}`);
      pkt = { ...base, proto: 'tcp', sport: t.value.srcPort, dport: t.value.dstPort, tcpFlags: t.value.flags };
      payload = frame.subarray(l4 + tcpLen(t.value));
    } else if (ip.value.protocol === 1) {
      pkt = { ...base, proto: 'icmp', icmpType: frame[l4] ?? 0 };
    } else if (ip.value.protocol === 2) {
      const g = parseIgmp(frame, l4, ((frame[16]! << 8) | frame[17]!) - (l4 - 14));
      if (!g.ok) throw new KubeQueryError(`frame: IGMP: ${g.error.message}`);
      this.pendingIgmp = g.value;
      pkt = { ...base, proto: 'igmp' };
    } else throw new KubeQueryError(`frame: IP protocol ${ip.value.protocol} (UDP, TCP, ICMP or IGMP)`);
    try {
      const { learnedThenDropped, ...leg } = this.leg(this.zoneOf(from), pkt, 'forward', new Map(), undefined, opts.explain !== false);
      void learnedThenDropped;
      return { ...leg, payload };
    } finally {
      this.pendingIgmp = undefined;
    }
  }

  /**
   * A pod joins a multicast group as Linux does for `ip-add-membership` (socat's listener): an
   * IGMPv3 report (CHANGE_TO_EXCLUDE, no sources) to 224.0.0.22 with TTL 1 and Router Alert, sent
   * through OVN (`sendFrame`); the result says whether snooping learnt it (`snooped`).
   */
  joinGroup(pod: PodModel, group: Ip, opts: { at?: number; explain?: boolean } = {}): FrameResult {
    return this.sendFrame(pod, igmpReportFrame(pod, group), opts);
  }

  constructor(readonly net: KubeNetwork) {}

  private zoneOf(pod: PodModel): Zone {
    const z = this.net.zones.get(pod.node);
    if (!z) throw new KubeQueryError(`pod ${pod.namespace}/${pod.name} runs on node ${pod.node}, which has no OVN zone (a Windows node)`);
    return z;
  }

  /** The MAC a pod sends to for `dst`: the group's MAC for multicast, the peer's own MAC on its node subnet, else the gateway's. */
  nextHopMac(pod: PodModel, dst: Ip): string {
    if (isMulticast(dst)) return hexMac(multicastMac(dst));
    const a = this.net.nodeAddrs.get(pod.node)!;
    const gw = a.gateway[dst.family];
    if (gw && contains(gw, dst)) {
      const peer = this.net.cluster.pods.find((p) => p.node === pod.node && !p.hostNetwork && p.ips.some((x) => sameIp(x, dst)));
      if (peer) return peer.mac;
      if (a.mgmt[dst.family] && sameIp(a.mgmt[dst.family]!, dst)) return a.mgmtMac;
    }
    return a.routerMac;
  }

  /** The backend `ct_lb_mark` picks for a VIP (hash of the 5-tuple), if `dst:port` is a service address. */
  private chooseBackend(p: Packet): string | undefined {
    for (const s of this.net.cluster.services) {
      for (const sp of s.ports) {
        if (sp.protocol.toLowerCase() !== p.proto) continue;
        const isVip = (s.clusterIPs.some((x) => sameIp(x, p.dst)) && sp.port === p.dport) || (sp.nodePort === p.dport && this.net.cluster.nodes.some((n) => n.host.address[p.dst.family] && sameIp(n.host.address[p.dst.family]!, p.dst)));
        if (!isVip) continue;
        const eps = s.endpoints.filter((e) => e.ip.family === p.dst.family && e.ports.has(sp.name));
        if (!eps.length) return undefined;
        const h = BigInt(hash32(`${formatIp(p.src)}:${p.sport}>${formatIp(p.dst)}:${p.dport}/${p.proto}`));
        const e = eps[Number(h % BigInt(eps.length))]!;
        const port = e.ports.get(sp.name)!;
        return e.ip.family === 6 ? `[${formatIp(e.ip)}]:${port}` : `${formatIp(e.ip)}:${port}`;
      }
    }
    return undefined;
  }

  probe(req: ProbeRequest): ProbeResult {
    if (req.at !== undefined) this.now = req.at;
    const from = req.from;
    if (from.hostNetwork) throw new KubeQueryError(`pod ${from.namespace}/${from.name} uses the host network: its traffic does not enter OVN through a pod port`);
    const src = from.ips.find((x) => x.family === req.dst.family);
    if (!src) throw new KubeQueryError(`pod ${from.namespace}/${from.name} has no IPv${req.dst.family} address`);
    const sport = probeSourcePort(req);
    const pkt: Packet = {
      inport: podPortName(from),
      ethSrc: macBig(from.mac),
      ethDst: macBig(this.nextHopMac(from, req.dst)),
      src,
      dst: req.dst,
      ttl: 64,
      proto: req.proto,
      sport,
      dport: req.port,
      ...(req.proto === 'tcp' ? { tcpFlags: TCP_SYN } : {}),
    };
    const commits = new Map<string, { dnat?: { ip: bigint; port: number } }>();
    const group = isMulticast(req.dst);
    const lbDst = req.proto === 'icmp' || group ? undefined : this.chooseBackend(pkt);
    const explain = req.explain !== false;
    let forward = this.leg(this.zoneOf(from), pkt, 'forward', commits, lbDst, explain);
    const notes: string[] = [];
    if (!forward.deliveries.length && forward.learnedThenDropped && req.proto === 'tcp') {
      notes.push("the first SYN was dropped by OVN 23.03's ls_in_lb_aff_learn flow (it learns the affinity and has no next;); the retransmitted SYN uses the learned flow");
      commits.clear();
      forward = this.leg(this.zoneOf(from), pkt, 'forward', commits, lbDst, explain);
    }
    // A datagram to a group goes to every member OVN delivers it to; nothing answers it.
    const members = group ? forward.deliveries.filter((d) => d.kind === 'pod') : [];
    const to = group ? members[0] : forward.deliveries[0];
    const er = to?.kind === 'pod' ? this.net.cluster.egressRouters.find((x) => x.pod === to.name) : undefined;
    let redirect: EgressRedirect | undefined;
    if (er && to) {
      redirect = egressRedirect(er, to.flow, req.proto);
      if (!redirect) notes.push(`egress router ${er.namespace}/${er.name} has no rule for ${req.proto.toUpperCase()} port ${req.port} and no fallbackIP: the connection ends in the pod`);
    }
    let reply: (LegResult & { learnedThenDropped: boolean }) | undefined;
    if (to && req.reply !== false && to.kind === 'pod' && !group) {
      const target = this.net.cluster.pods.find((p) => `${p.namespace}/${p.name}` === to.name)!;
      const f = to.flow;
      const rsrc = ipOf(f, 'dst');
      const rdst = ipOf(f, 'src');
      const rp: Packet = {
        inport: podPortName(target),
        ethSrc: macBig(target.mac),
        ethDst: macBig(this.nextHopMac(target, rdst)),
        src: rsrc,
        dst: rdst,
        ttl: 64,
        proto: req.proto,
        sport: Number(f.tp_dst),
        dport: Number(f.tp_src),
        ...(req.proto === 'icmp' ? { icmpType: rsrc.family === 4 ? 0 : 129 } : {}),
        ...(req.proto === 'tcp' ? { tcpFlags: TCP_SYN | TCP_ACK } : {}),
      };
      reply = this.leg(this.zoneOf(target), rp, 'reply', commits, undefined, explain);
    }
    const replyOk = !reply || reply.deliveries.some((d) => d.kind === 'pod' && d.name === `${from.namespace}/${from.name}`);
    const delivered = !!to && replyOk && (!er || !!redirect);
    const departures = [...new Set([...forward.allowedBy, ...(reply?.allowedBy ?? [])].map((a) => a.departure).filter((x): x is string => !!x))];
    const snatSrc = to ? ipOf(to.flow, 'src') : undefined;
    const snat = snatSrc && !sameIp(snatSrc, src) ? formatIp(snatSrc) : undefined;
    let droppedBy = forward.droppedBy;
    if (!droppedBy && to && !replyOk) droppedBy = reply?.droppedBy ? `reply: ${reply.droppedBy}` : 'reply not delivered';
    return {
      verdict: delivered ? 'delivered' : 'dropped',
      ...(to ? { to: group ? members.map((d) => d.name).join(', ') : to.kind === 'external' ? `external ${formatIp(ipOf(to.flow, 'dst'))} via node ${to.node}` : to.name } : {}),
      ...(!delivered && droppedBy ? { droppedBy } : {}),
      ...(snat ? { snat } : {}),
      ...(lbDst ? { backend: lbDst } : {}),
      ...(redirect ? { redirect } : {}),
      forward,
      ...(reply ? { reply } : {}),
      departures,
      notes: [...notes, ...forward.notes, ...(reply?.notes ?? [])],
    };
  }

  private leg(
    zone: Zone,
    first: Packet,
    direction: 'forward' | 'reply',
    commits: Map<string, { dnat?: { ip: bigint; port: number } }>,
    lbDst: string | undefined,
    explain: boolean,
  ): LegResult & { learnedThenDropped: boolean } {
    const deliveries: Delivery[] = [];
    const path: string[] = [];
    const allowedBy: AclInfo[] = [];
    const logs: string[] = [];
    const hops: TraceHop[] = [];
    const crossings: Crossing[] = [];
    const snooped: SnoopEvent[] = [];
    const notes: string[] = [];
    let droppedByAcl: AclInfo | undefined;
    let lastFlow: TraceLflow | undefined;
    let lastDp: TraceDatapath | undefined;
    let learned = false;
    let queue: { zone: Zone; datapath: string | null; pkt: Packet }[] = [{ zone, datapath: null, pkt: first }];
    const seenZones = new Set<string>();
    while (queue.length) {
      const next: typeof queue = [];
      for (const hop of queue) {
        if (seenZones.has(`${hop.zone.node.name}/${hop.pkt.inport}`)) continue;
        seenZones.add(`${hop.zone.node.name}/${hop.pkt.inport}`);
        const zname = hop.zone.node.name;
        const ct: string[] = [];
        const tunnels: string[] = [];
        let stateful = false;
        let lbShortcut = false;
        // The backend is chosen where the packet still goes to the service address: --lb-dst of that hop only.
        const hopLbDst = lbDst && direction === 'forward' && sameIp(hop.pkt.dst, first.dst) ? lbDst : undefined;
        const ctKey = (dp: TraceDatapath, pipeline: string, inport: string, outport: string) => (dp.kind === 'switch' ? `${zname}/lsp/${pipeline === 'ingress' ? inport : outport}` : `${zname}/lr/${dp.name}`);
        const hooks: TraceHooks = {
          ctState: (q) => {
            const k = ctKey(q.dp, q.pipeline, q.inport, q.outport);
            const st = direction === 'reply' && commits.has(k) ? CS.EST | CS.RPL | CS.TRK : CS.NEW | CS.TRK;
            ct.push(ctText(st));
            return st;
          },
          ctLbNat: (q) => {
            const k = ctKey(q.dp, q.pipeline, q.inport, q.outport);
            const c = direction === 'reply' ? commits.get(k) : undefined;
            if (c?.dnat) {
              stateful = true;
              return { src: c.dnat };
            }
            // ovn-trace would NAT this new connection to --lb-dst here already; a real one is not.
            if (hopLbDst) lbShortcut = true;
            return null;
          },
          ctCommit: (q) => {
            if (direction !== 'forward') return;
            const k = ctKey(q.dp, q.pipeline, q.inport, q.outport);
            const e = commits.get(k) ?? {};
            if ((q.action === 'ct_lb_mark' || q.action === 'ct_lb') && q.flow.ct_state & CS.DNAT) {
              e.dnat = q.flow.dl_type === 0x86ddn ? { ip: q.flow.ct_ipv6_dst, port: Number(q.flow.ct_tp_dst) } : { ip: q.flow.ct_nw_dst, port: Number(q.flow.ct_tp_dst) };
            }
            commits.set(k, e);
          },
          flow: (dp, _pl, lf) => {
            lastFlow = lf;
            lastDp = dp;
            if (!ACL_STAGES.has(lf.flow.stage) || !lf.flow.hint) return;
            const info = this.net.acls.get(`${zname}/${lf.flow.hint}`);
            if (!info) return;
            if (info.action === 'drop' || info.action === 'reject') droppedByAcl = info;
            else allowedBy.push(info);
          },
          delivered: (dp, port, name, f) => {
            const d = this.classify(hop.zone, dp, port, name, f);
            if (d.kind === 'other' && port?.type === 'remote') {
              const m = /^tstor-(.+)$/.exec(name);
              const z = m && this.net.zones.get(m[1]!);
              if (z) {
                next.push({ zone: z, datapath: 'ovn_cluster_router', pkt: packetOf(f, `rtots-${z.node.name}`, first.proto) });
                crossings.push({ from: zname, to: z.node.name, vni: dp.key, ingressKey: Number(f.regs[14]), egressKey: port.key, flow: f });
                tunnels.push(`${zname} -> ${z.node.name}: tunnel${this.net.cluster.config.ipsec ? ' (Geneve in ESP: IPsec)' : ' (Geneve)'}`);
                return;
              }
            }
            deliveries.push(d);
          },
          lbAffinity: (dp, f) => {
            const key = `${zname}/${dp.name}/${formatIp(ipOf(f, 'src'))}/${formatIp(ipOf(f, 'dst'))}/${f.nw_proto}/${f.tp_dst}`;
            const e = this.affinity.get(key);
            if (!e) return undefined;
            if (this.now > e.last + e.timeout) {
              this.affinity.delete(key);
              return undefined;
            }
            e.last = this.now;
            stateful = true;
            return e.backend;
          },
          learnLbAffinity: (dp, f, a) => {
            const vip = tryParseIp(a.vip.ip)!;
            const be = tryParseIp(a.backend.ip)!;
            const key = `${zname}/${dp.name}/${formatIp(ipOf(f, 'src'))}/${formatIp(vip)}/${f.nw_proto}/${a.vip.port}`;
            this.affinity.set(key, { backend: { ip: be.addr, port: a.backend.port }, last: this.now, timeout: a.timeout });
            learned = true;
          },
          igmp: (dp, pipeline, f) => {
            const port = dp.ports.find((x) => x.key === Number(f.regs[14]));
            if (pipeline !== 'ingress' || dp.kind !== 'switch' || !port || !this.pendingIgmp) return;
            snooped.push(...this.snoop(zname, dp.name, port.name, this.pendingIgmp));
          },
          log: (e) => {
            logs.push(aclLogLine(e.name, e.verdict, e.severity, e.pipeline === 'ingress' ? 'from-lport' : 'to-lport', e.flow));
          },
        };
        const igmpGroups = this.igmpGroups(zname);
        const tdb = traceDb(hop.zone.db, igmpGroups.length ? { igmpGroups } : {});
        const inport = tdb.ports.get(hop.pkt.inport);
        if (!inport) throw new KubeQueryError(`zone ${zname} has no logical port ${hop.pkt.inport}`);
        const t = traceFlowTree(hop.zone.db, inport.dp, packetFlow(inport.key, hop.pkt), { ...(hopLbDst ? { lbDst: hopLbDst } : {}), macBindings: this.macBindings(hop.zone), hooks, tree: explain, chassisMulticast: true, ...(igmpGroups.length ? { igmpGroups } : {}) });
        if (t.chassisDepartures.length) stateful = true;
        if (explain) path.push(...pipelines(t.root).map((s) => `${zname}: ${s}`), ...tunnels);
        let minimal: string | undefined;
        let mf: string | undefined;
        const pkt = hop.pkt;
        hops.push({
          zone: zname,
          datapath: inport.dp.name,
          get microflow() {
            mf ??= microflow(pkt);
            return mf;
          },
          ct,
          ...(hopLbDst ? { lbDst: hopLbDst } : {}),
          get minimal() {
            minimal ??= explain ? t.header + minimalText(t.root) : '';
            return minimal;
          },
          direction,
          stateful,
          lbShortcut,
          ...(igmpGroups.length ? { igmpGroups } : {}),
        });
      }
      queue = next;
    }
    let droppedBy: string | undefined;
    if (!deliveries.length) {
      if (droppedByAcl) droppedBy = droppedByAcl.text + (droppedByAcl.name ? ` (ACL ${droppedByAcl.name})` : '');
      else if (lastFlow) droppedBy = `${lastDp ? `${lastDp.name} ` : ''}${lastFlow.flow.stage}, priority ${lastFlow.flow.priority}: ${lastFlow.flow.match} (actions: ${lastFlow.flow.actions})`;
    }
    return { deliveries, path, ...(droppedBy ? { droppedBy } : {}), ...(droppedByAcl && !deliveries.length ? { droppedByAcl } : {}), allowedBy, logs, hops, crossings, snooped, notes, learnedThenDropped: learned && !deliveries.length };
  }

  /** The SB MAC_Binding rows the engine assumes in a zone: the node's default gateway as its gateway router has learned it, and the zone's static MAC bindings. */
  macBindings(zone: Zone): { port: string; ip: string; mac: string }[] {
    let b = this.bindings.get(zone);
    if (!b) {
      const n = zone.node;
      // The gateway router's learned binding of the host's default gateway, and the zone's
      // Static_MAC_Binding rows (ovn-controller installs them with the learned ones; ovn-trace
      // reads only MAC_Binding).
      b = [
        ...Object.values(n.host.gateway).map((g) => ({ port: `rtoe-GR_${n.name}`, ip: formatIp(g), mac: gatewayMac(g) })),
        ...zone.db.staticMacBindings.map((m) => ({ port: m.logical_port, ip: m.ip.text, mac: formatMac(m.mac) })),
      ];
      this.bindings.set(zone, b);
    }
    return b;
  }

  private classify(zone: Zone, dp: TraceDatapath, port: TracePort | undefined, name: string, f: TraceFlow): Delivery {
    const node = zone.node.name;
    const pod = this.net.podByPort.get(name);
    if (pod) return { kind: 'pod', name: `${pod.namespace}/${pod.name}`, node, flow: f };
    if (name === `k8s-${node}`) return { kind: 'host', name: node, node, flow: f };
    if (port?.type === 'localnet') return { kind: 'external', name, node, flow: f };
    if (name === `int-${node}`) return { kind: 'hybrid-overlay', name, node, flow: f };
    void dp;
    return { kind: 'other', name, node, flow: f };
  }
}

/**
 * The egress router's nftables (egress-router-cni `macvlan.go`): prerouting `iif eth0 <proto>
 * dport <port> dnat to <destination>:<targetPort>` per rule, else `dnat to <fallbackIP>`;
 * postrouting `oif net1 snat to <reserved address>`; the pod forwards (TTL - 1). Undefined when
 * neither a rule nor a fallback takes the packet.
 */
export function egressRedirect(er: EgressRouterModel, f: TraceFlow, proto: ProbeProto): EgressRedirect | undefined {
  const dport = Number(f.tp_dst);
  const i = proto === 'icmp' ? -1 : er.rules.findIndex((r) => r.protocol.toLowerCase() === proto && r.port === dport);
  const rule = i >= 0 ? er.rules[i] : undefined;
  const dst = rule ? rule.destination : er.fallback;
  if (!dst || dst.family !== er.address.family) return undefined;
  const out: TraceFlow = { ...f, regs: [...f.regs], nw_ttl: f.nw_ttl - 1n };
  if (dst.family === 4) {
    out.nw_src = er.address.addr;
    out.nw_dst = dst.addr;
  } else {
    out.ipv6_src = er.address.addr;
    out.ipv6_dst = dst.addr;
  }
  if (rule) out.tp_dst = BigInt(rule.targetPort);
  return { router: `${er.namespace}/${er.name}`, rule: i >= 0 ? `redirectRules[${i}]` : 'fallbackIP', flow: out };
}

/** The MAC the emulation gives a node's default gateway (the physical router, outside OVN). */
export function gatewayMac(ip: Ip): string {
  const h = fnv1a64(`gateway ${formatIp(ip)}`);
  return `52:54:00:${hexMac(h & 0xffffffn).slice(-8)}`;
}

function pipelines(nodes: readonly { type: string; name: string; subs: readonly unknown[] }[], out: string[] = []): string[] {
  for (const n of nodes) {
    if (n.type === 'pipeline' && !n.name.startsWith('multicast(')) out.push(n.name);
    pipelines(n.subs as typeof nodes, out);
  }
  return out;
}

/**
 * An ACL log line as ovn-controller writes it (`lib/acl-log.c`): `name="NP:x:Ingress",
 * verdict=drop, severity=alert, direction=to-lport: <flow>`, the flow in OVS `flow_format`
 * form without registers and metadata.
 */
export function aclLogLine(name: string | undefined, verdict: string, severity: string, direction: string, f: TraceFlow): string {
  const proto = f.dl_type === 0x86ddn ? (f.nw_proto === 6n ? 'tcp6' : f.nw_proto === 17n ? 'udp6' : f.nw_proto === 132n ? 'sctp6' : 'icmp6') : f.nw_proto === 6n ? 'tcp' : f.nw_proto === 17n ? 'udp' : f.nw_proto === 132n ? 'sctp' : 'icmp';
  const l3 =
    f.dl_type === 0x86ddn
      ? `ipv6_src=${formatIp({ family: 6, addr: f.ipv6_src })},ipv6_dst=${formatIp({ family: 6, addr: f.ipv6_dst })},ipv6_label=0x00000,nw_tos=0,nw_ecn=0,nw_ttl=${f.nw_ttl}`
      : `nw_src=${formatIp({ family: 4, addr: f.nw_src })},nw_dst=${formatIp({ family: 4, addr: f.nw_dst })},nw_tos=0,nw_ecn=0,nw_ttl=${f.nw_ttl}${f.dl_type === 0x86ddn ? '' : ',nw_frag=no'}`;
  const l4 = proto.startsWith('icmp') ? `icmp_type=${f.tp_src},icmp_code=${f.tp_dst}` : `tp_src=${f.tp_src},tp_dst=${f.tp_dst}${proto.startsWith('tcp') ? `,tcp_flags=${tcpFlags(f.tcp_flags)}` : ''}`;
  return `name="${name ?? '<unnamed>'}", verdict=${verdict}, severity=${severity}, direction=${direction}: ${proto},vlan_tci=0x0000,dl_src=${hexMac(f.dl_src)},dl_dst=${hexMac(f.dl_dst)},${l3},${l4}`;
}

function tcpFlags(v: bigint): string {
  const names: [bigint, string][] = [[0x01n, 'fin'], [0x02n, 'syn'], [0x04n, 'rst'], [0x08n, 'psh'], [0x10n, 'ack'], [0x20n, 'urg']];
  const s = names.filter(([b]) => v & b).map(([, n]) => n);
  return s.length ? s.join('|') : '0';
}

/** Family of an address (convenience for callers). */
export function familyOf(ip: Ip): Family {
  return ip.family;
}
