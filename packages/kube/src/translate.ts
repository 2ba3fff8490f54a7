/**
 * The cluster model to OVN northbound databases, the way OVN-Kubernetes (interconnect mode, one
 * zone per node, as OpenShift 4.14+ runs it) builds them. Each Linux node is a zone with its own
 * northbound database holding `ovn_cluster_router`, the node switch, `join`, `GR_<node>`,
 * `ext_<node>` and `transit_switch` (with `remote` ports for the other nodes), and the policy
 * rows that apply to its pods.
 *
 * Design. One pass per zone over the model writes rows through `NbBuilder`, so the result is
 * validated by the same checks as a database read from disk. Names, external_ids and
 * priorities are OVN-Kubernetes's (reference §1-3). Address sets hold cluster-wide members
 * (every zone sees every pod's IP); port groups hold the zone's own ports, as in OVN-Kubernetes
 * interconnect mode. Every ACL is also described in `AclInfo` (which object and rule made it),
 * so a verdict can name the NetworkPolicy, EgressFirewall rule or multicast rule behind a drop.
 * The two policy semantics differ only in how NetworkPolicy allow rules are built: OVN-Kubernetes
 * matches a named port as every port of its protocol and builds a policy's allow rules for both
 * directions whatever its `policyTypes`; `kubernetes` resolves named ports per destination pod and
 * builds only the directions `policyTypes` names. ACLs that embody a departure are marked.
 */
import { createHash } from 'node:crypto';
import { NbBuilder, setDatum, type NbDatabase, type RowHandle, type SwitchHandle, type RouterHandle, type Severity } from '@ovnts/ovn';
import { KubeError } from './errors.js';
import { CONTROLLER, externalIds, hashForOvn, idString, pgName, type DbObjectId } from './ids.js';
import { formatSelector, matches, type Selector } from './labels.js';
import type { ClusterModel, EgressFirewallRule, NodeModel, PodModel, PolicyModel, PolicyPeer, PolicyPort, PolicyRule, Proto } from './model.js';
import { contains, formatCidr, formatIp, hostAt, ipToMac, network, overlaps, sameIp, type Cidr, type Family, type Ip } from './net.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Which semantics NetworkPolicy allow rules follow. */
export type Semantics = 'ovn-kubernetes' | 'kubernetes';

/** Resolves a DNS name (EgressFirewall `dnsName`) to addresses. */
export type DnsResolver = (name: string) => readonly Ip[];

/** Translation options. */
export interface TranslateOptions {
  /** Policy semantics (default `ovn-kubernetes`). */
  readonly semantics?: Semantics;
  /** Resolver for EgressFirewall DNS names (default: every name resolves to nothing). */
  readonly resolver?: DnsResolver;
}

/** What an ACL stands for. */
export interface AclInfo {
  /** The kind of rule. */
  readonly kind: 'networkPolicy' | 'defaultDeny' | 'arpAllow' | 'hairpin' | 'nodeAllow' | 'multicastDefaultDeny' | 'multicastInterNode' | 'multicastNamespace' | 'egressFirewall';
  /** Readable description (`NetworkPolicy x/allow-b ingress rule 0`). */
  readonly text: string;
  /** ACL name (`NP:x:allow-b:Ingress:0`). */
  readonly name?: string;
  /** Namespace. */
  readonly namespace?: string;
  /** The NetworkPolicy (`ns/name`) or EgressFirewall namespace. */
  readonly owner?: string;
  /** Why this ACL departs from the Kubernetes API, when it does. */
  readonly departure?: string;
  /** The ACL's action. */
  readonly action?: string;
}

/** One zone (node) of the translated cluster. */
export interface Zone {
  /** The node. */
  readonly node: NodeModel;
  /** Its northbound database. */
  readonly db: NbDatabase;
  /** The builder (its `toRaw()` is what `writeOvsdbFile` writes). */
  readonly builder: NbBuilder;
}

/** A cluster translated to OVN. */
export interface KubeNetwork {
  /** The cluster model. */
  readonly cluster: ClusterModel;
  /** Zones by node name (Linux nodes). */
  readonly zones: ReadonlyMap<string, Zone>;
  /** ACL uuid -> meaning, per zone (`<node>/<uuid>`). */
  readonly acls: ReadonlyMap<string, AclInfo>;
  /** Semantics used. */
  readonly semantics: Semantics;
  /** Logical switch port name -> pod. */
  readonly podByPort: ReadonlyMap<string, PodModel>;
  /** Per-node addresses used by the topology. */
  readonly nodeAddrs: ReadonlyMap<string, NodeAddrs>;
  /** Notes produced while translating (unresolved DNS names, services without endpoints...). */
  readonly notes: readonly string[];
}

/** The addresses OVN-Kubernetes gives a node. */
export interface NodeAddrs {
  /** rtos-<node> MAC. */
  readonly routerMac: string;
  /** Gateway (.1) per family, with the subnet length. */
  readonly gateway: Partial<Record<Family, Cidr>>;
  /** Management port (.2) per family. */
  readonly mgmt: Partial<Record<Family, Cidr>>;
  /** Management port MAC. */
  readonly mgmtMac: string;
  /** GR join IP per family. */
  readonly join: Partial<Record<Family, Cidr>>;
  /** Transit IP per family. */
  readonly transit: Partial<Record<Family, Cidr>>;
  /** Transit port MAC. */
  readonly transitMac: string;
  /** Hybrid-overlay distributed-router IP (.3) and MAC, when enabled. */
  readonly hybridDr?: { readonly ip: Cidr; readonly mac: string };
}

const ipText = (ip: Ip) => formatIp(ip);
const host = (c: Cidr) => formatIp(c);
const withLen = (c: Cidr) => `${formatIp(c)}/${c.plen}`;
const ipm = (f: Family) => (f === 4 ? 'ip4' : 'ip6');
const fam = (f: Family) => (f === 4 ? 'v4' : 'v6');

/** Addresses of every Linux node. */
export function nodeAddresses(c: ClusterModel): Map<string, NodeAddrs> {
  const out = new Map<string, NodeAddrs>();
  for (const n of c.nodes) {
    if (n.windows) continue;
    const gateway: Partial<Record<Family, Cidr>> = {};
    const mgmt: Partial<Record<Family, Cidr>> = {};
    const join: Partial<Record<Family, Cidr>> = {};
    const transit: Partial<Record<Family, Cidr>> = {};
    for (const f of c.config.families) {
      const s = n.subnets[f]!;
      gateway[f] = hostAt(s, 1);
      mgmt[f] = hostAt(s, 2);
      join[f] = hostAt(c.config.joinSubnet[f], n.id);
      transit[f] = hostAt(c.config.transitSubnet[f], n.id);
    }
    const first = c.config.families[0]!;
    const gw4 = gateway[4] ?? gateway[first]!;
    const dr = c.config.hybridOverlay && n.subnets[4] ? hostAt(n.subnets[4], 3) : undefined;
    out.set(n.name, {
      routerMac: ipToMac(gw4, sha256),
      gateway,
      mgmt,
      mgmtMac: ipToMac(mgmt[4] ?? mgmt[first]!, sha256),
      join,
      transit,
      transitMac: ipToMac(transit[4] ?? transit[first]!, sha256),
      ...(dr ? { hybridDr: { ip: dr, mac: ipToMac(dr, sha256) } } : {}),
    });
  }
  return out;
}

/** The logical switch port name of a pod. */
export function podPortName(p: PodModel): string {
  return `${p.namespace}_${p.name}`;
}

interface Ctx {
  readonly c: ClusterModel;
  readonly nb: NbBuilder;
  readonly node: NodeModel;
  readonly addrs: Map<string, NodeAddrs>;
  readonly acls: Map<string, AclInfo>;
  readonly semantics: Semantics;
  readonly notes: string[];
  readonly resolver: DnsResolver | undefined;
  readonly ports: Map<string, RowHandle>;
  readonly clusterPg: RowHandle;
  readonly clusterRtrPg: RowHandle;
  readonly nodeSwitch: SwitchHandle;
  readonly asCache: Map<string, string>;
  readonly pgs: Map<string, RowHandle>;
}

function portGroup(ctx: Ctx, id: DbObjectId, ports: readonly RowHandle[]): RowHandle {
  const name = pgName(id);
  const h = ctx.nb.portGroup(name, ports, { externalIds: externalIds(id) });
  ctx.pgs.set(name, h);
  return h;
}

/** Translate a cluster to one northbound database per zone. */
export function translateCluster(c: ClusterModel, opts: TranslateOptions = {}): KubeNetwork {
  const semantics = opts.semantics ?? 'ovn-kubernetes';
  const addrs = nodeAddresses(c);
  const zones = new Map<string, Zone>();
  const acls = new Map<string, AclInfo>();
  const notes: string[] = [];
  const podByPort = new Map<string, PodModel>();
  for (const p of c.pods) if (!p.hostNetwork) podByPort.set(podPortName(p), p);
  for (const node of c.nodes) {
    if (node.windows) continue;
    const zoneAcls = new Map<string, AclInfo>();
    const nb = buildZone(c, node, addrs, zoneAcls, semantics, opts.resolver, node === c.nodes.find((n) => !n.windows) ? notes : []);
    let db: NbDatabase;
    try {
      db = nb.build();
    } catch (e) {
      throw new KubeError({ object: `zone ${node.name}` }, `the northbound database built for this zone is invalid: ${(e as Error).message}`);
    }
    for (const [u, info] of zoneAcls) acls.set(`${node.name}/${u}`, info);
    zones.set(node.name, { node, db, builder: nb });
  }
  return { cluster: c, zones, acls, semantics, podByPort, nodeAddrs: addrs, notes };
}

function buildZone(
  c: ClusterModel,
  node: NodeModel,
  addrs: Map<string, NodeAddrs>,
  acls: Map<string, AclInfo>,
  semantics: Semantics,
  resolver: DnsResolver | undefined,
  notes: string[],
): NbBuilder {
  const nb = new NbBuilder();
  const a = addrs.get(node.name)!;
  const fams = c.config.families;
  const [nbGlobal] = nb.toRaw().rows('NB_Global').keys();
  if (c.config.ipsec) nb.set({ uuid: nbGlobal!, table: 'NB_Global' }, 'ipsec', { keys: [true] });
  nb.set({ uuid: nbGlobal!, table: 'NB_Global' }, 'name', { keys: [node.name] });
  nb.meter('acl-logging', { unit: 'pktps', fair: true, bands: [{ rate: c.config.policyAudit.rateLimit }] });

  // ovn_cluster_router and the node switch.
  const ocr = nb.router('ovn_cluster_router', { mcastRelay: true, externalIds: { 'k8s-cluster-router': 'yes', 'k8s-ovn-topo-version': '11' } });
  const sw = nb.logicalSwitch(node.name, {
    ...(a.gateway[4] ? { subnet: formatCidr(network(a.gateway[4])) } : {}),
    ...(a.gateway[6] ? { ipv6Prefix: formatIp(network(a.gateway[6])) } : {}),
    ...(a.mgmt[4] ? { excludeIps: a.hybridDr ? `${host(a.mgmt[4])}..${host(a.hybridDr.ip)}` : host(a.mgmt[4]) } : {}),
    mcastSnoop: true,
    mcastQuerier: true,
    otherConfig: {
      mcast_eth_src: a.routerMac,
      ...(a.gateway[4] ? { mcast_ip4_src: host(a.gateway[4]) } : {}),
    },
  });
  // The gateway chassis pins the node switch to its chassis (base_network_controller.go
  // syncNodeClusterRouterPort): rtos-<node> is a distributed gateway port.
  nb.connect(sw, ocr, {
    routerPortName: `rtos-${node.name}`,
    switchPortName: `stor-${node.name}`,
    mac: a.routerMac,
    networks: fams.map((f) => withLen(a.gateway[f]!)),
    gatewayChassis: [{ chassis: node.chassis, priority: 1 }],
  });
  const ports = new Map<string, RowHandle>();
  const mgmtPort = sw.port(`k8s-${node.name}`, { addresses: [[a.mgmtMac, ...fams.map((f) => host(a.mgmt[f]!))].join(' ')] });
  const clusterPg = nb.portGroup(pgName({ ownerType: 'Cluster', keys: [['name', 'clusterPortGroup']] }), [mgmtPort], {
    externalIds: externalIds({ ownerType: 'Cluster', keys: [['name', 'clusterPortGroup']] }),
  });
  const storPort = [...nb.toRaw().rows('Logical_Switch_Port')].find(([, r]) => r.get('name')?.keys[0] === `stor-${node.name}`)![0];
  const clusterRtrPg = nb.portGroup(pgName({ ownerType: 'Cluster', keys: [['name', 'clusterRtrPortGroup']] }), [{ uuid: storPort, table: 'Logical_Switch_Port' }], {
    externalIds: externalIds({ ownerType: 'Cluster', keys: [['name', 'clusterRtrPortGroup']] }),
  });
  for (const p of c.pods) {
    if (p.node !== node.name || p.hostNetwork) continue;
    const addr = [p.mac, ...p.ips.map(ipText)].join(' ');
    ports.set(`${p.namespace}/${p.name}`, sw.port(podPortName(p), {
      addresses: [addr],
      portSecurity: [addr],
      options: { 'requested-chassis': node.name, 'iface-id-ver': p.uid },
      externalIds: { namespace: p.namespace, pod: 'true' },
    }));
  }

  // join switch and the gateway router.
  const join = nb.logicalSwitch('join');
  nb.connect(join, ocr, { routerPortName: 'rtoj-ovn_cluster_router', switchPortName: 'jtor-ovn_cluster_router', mac: ipToMac(hostAt(c.config.joinSubnet[fams[0]!], 1), sha256), networks: fams.map((f) => withLen(hostAt(c.config.joinSubnet[f], 1))) });
  const gr = nb.router(`GR_${node.name}`, {
    chassis: node.chassis,
    lbForceSnatIp: 'router_ip',
    dynamicNeighRouters: true,
    options: { 'snat-ct-zone': '0', always_learn_from_arp_request: 'false', mac_binding_age_threshold: '300' },
    externalIds: { physical_ip: host(node.host.address[fams[0]!] ?? a.join[fams[0]!]!), physical_ips: fams.map((f) => (node.host.address[f] ? host(node.host.address[f]!) : '')).filter(Boolean).join(',') },
  });
  nb.connect(join, gr, { routerPortName: `rtoj-GR_${node.name}`, switchPortName: `jtor-GR_${node.name}`, mac: ipToMac(a.join[fams[0]!]!, sha256), networks: fams.map((f) => withLen(a.join[f]!)), options: { gateway_mtu: String(c.config.mtu) } });
  const ext = nb.logicalSwitch(`ext_${node.name}`);
  ext.port(`br-ex_${node.name}`, { type: 'localnet', addresses: ['unknown'], options: { network_name: 'physnet' } });
  const extNets = fams.filter((f) => node.host.address[f]).map((f) => withLen(node.host.address[f]!));
  const rtoe = gr.port(`rtoe-GR_${node.name}`, { mac: node.host.mac, networks: extNets, externalIds: { 'gateway-physical-ip': 'yes' } });
  void rtoe;
  ext.port(`etor-GR_${node.name}`, { type: 'router', addresses: [node.host.mac], options: { 'router-port': `rtoe-GR_${node.name}`, 'nat-addresses': 'router', 'exclude-lb-vips-from-garp': 'true' } });

  // Routes and NAT.
  for (const f of fams) {
    for (const cn of c.config.clusterNetworks.filter((x) => x.cidr.family === f)) nb.route(gr, { prefix: formatCidr(cn.cidr), nexthop: host(hostAt(c.config.joinSubnet[f], 1)) });
    const gwIp = node.host.gateway[f];
    if (gwIp) nb.route(gr, { prefix: f === 4 ? '0.0.0.0/0' : '::/0', nexthop: ipText(gwIp), outputPort: `rtoe-GR_${node.name}` });
    nb.route(gr, { prefix: formatCidr(c.config.masqueradeSubnet[f]), nexthop: host(hostAt(c.config.masqueradeSubnet[f], 4)), outputPort: `rtoe-GR_${node.name}` });
    nb.route(ocr, { prefix: host(a.join[f]!), nexthop: host(a.join[f]!) });
    nb.route(ocr, { prefix: formatCidr(network(a.gateway[f]!)), nexthop: host(a.join[f]!), policy: 'src-ip' });
    // Interconnect's catch-all (libovsdb/util/router.go CreateDefaultRouteToExternal, added with
    // the EgressIP feature): pods of other zones whose traffic reaches this zone (rerouted to
    // this egress node) leave through this node's gateway router.
    for (const cn of c.config.clusterNetworks.filter((x) => x.cidr.family === f)) nb.route(ocr, { prefix: formatCidr(cn.cidr), nexthop: host(a.join[f]!), policy: 'src-ip' });
    const extIp = node.host.address[f];
    if (extIp) {
      for (const cn of c.config.clusterNetworks.filter((x) => x.cidr.family === f)) nb.nat(gr, { type: 'snat', externalIp: host(extIp), logicalIp: formatCidr(cn.cidr), options: { stateless: 'false' } });
      nb.nat(gr, { type: 'snat', externalIp: host(extIp), logicalIp: host(a.join[f]!), options: { stateless: 'false' } });
      nb.policy(ocr, { priority: 1004, match: `inport == "rtos-${node.name}" && ${ipm(f)}.dst == ${host(extIp)} /* ${node.name} */`, action: 'reroute', nexthops: [host(a.mgmt[f]!)] });
    }
  }

  // The transit switch (interconnect) with remote ports for the other zones.
  const ts = nb.logicalSwitch('transit_switch', { mcastSnoop: true, mcastQuerier: false, otherConfig: { 'interconn-ts': 'transit_switch', 'requested-tnl-key': '16711683', mcast_flood_unregistered: 'true' } });
  nb.connect(ts, ocr, {
    routerPortName: `rtots-${node.name}`,
    switchPortName: `tstor-${node.name}`,
    mac: a.transitMac,
    networks: fams.map((f) => withLen(a.transit[f]!)),
    options: { mcast_flood: 'true' },
  });
  setPortOption(nb, `tstor-${node.name}`, 'requested-tnl-key', String(node.id));
  for (const m of c.nodes) {
    if (m.windows || m === node) continue;
    const ma = addrs.get(m.name)!;
    ts.port(`tstor-${m.name}`, { type: 'remote', addresses: [[ma.transitMac, ...fams.map((f) => withLen(ma.transit[f]!))].join(' ')], options: { 'requested-tnl-key': String(m.id), 'requested-chassis': m.name } });
    for (const f of fams) {
      nb.route(ocr, { prefix: formatCidr(network(ma.gateway[f]!)), nexthop: host(ma.transit[f]!) });
      nb.route(ocr, { prefix: host(ma.join[f]!), nexthop: host(ma.transit[f]!) });
    }
  }

  const ctx: Ctx = { c, nb, node, addrs, acls, semantics, notes, resolver, ports, clusterPg, clusterRtrPg, nodeSwitch: sw, asCache: new Map(), pgs: new Map() };
  for (const ns of c.namespaces.values()) {
    const members = c.pods.filter((p) => p.namespace === ns.name && !p.hostNetwork);
    for (const f of fams) addressSet(ctx, { ownerType: 'Namespace', keys: [['name', ns.name], ['ip-family', fam(f)]] }, members.flatMap((p) => p.ips.filter((x) => x.family === f)));
  }
  egressIpNoReroute(ctx, ocr);
  services(ctx, sw, gr);
  clusterAcls(ctx);
  networkPolicies(ctx);
  multicast(ctx);
  egressFirewalls(ctx);
  egressIps(ctx, ocr, gr);
  hybridOverlay(ctx, ocr, gr, sw);
  return nb;
}

function setPortOption(nb: NbBuilder, port: string, key: string, value: string): void {
  for (const [u, r] of nb.toRaw().rows('Logical_Switch_Port')) {
    if (r.get('name')?.keys[0] !== port) continue;
    const d = r.get('options') ?? { keys: [], values: [] };
    const pairs = d.keys.map((k, i) => [k, d.values![i]!] as const).filter(([k]) => k !== key);
    nb.set({ uuid: u, table: 'Logical_Switch_Port' }, 'options', { keys: [...pairs.map(([k]) => k), key], values: [...pairs.map(([, v]) => v), value] });
  }
}

function addressSet(ctx: Ctx, id: DbObjectId, ips: readonly Ip[]): string {
  const key = idString(id);
  const have = ctx.asCache.get(key);
  if (have) return have;
  const name = hashForOvn(key);
  const uniq = [...new Set(ips.map(ipText))].sort();
  ctx.nb.addressSet(name, uniq, { externalIds: externalIds(id) });
  ctx.asCache.set(key, name);
  return name;
}

interface AclSpec {
  readonly direction: 'to-lport' | 'from-lport';
  readonly priority: number;
  readonly match: string;
  readonly action: 'allow' | 'allow-related' | 'allow-stateless' | 'drop' | 'reject';
  readonly afterLb?: boolean;
  readonly id: DbObjectId;
  readonly name?: string;
  readonly log?: { readonly allow?: string; readonly deny?: string };
  readonly info: AclInfo;
}

function acl(ctx: Ctx, on: RowHandle | SwitchHandle, s: AclSpec): void {
  const isAllow = s.action.startsWith('allow');
  const sev = isAllow ? s.log?.allow : s.log?.deny;
  const h = ctx.nb.acl(on, {
    direction: s.direction,
    priority: s.priority,
    match: s.match,
    action: s.action,
    tier: 2,
    meter: 'acl-logging',
    ...(s.name ? { name: s.name.slice(0, 63) } : {}),
    ...(sev ? { log: true, severity: sev as Severity } : {}),
    ...(s.afterLb ? { applyAfterLb: true } : {}),
    externalIds: externalIds(s.id),
  });
  ctx.acls.set(h.uuid, { ...s.info, action: s.action, ...(s.name ? { name: s.name.slice(0, 63) } : {}) });
}

function clusterAcls(ctx: Ctx): void {
  const { c, node } = ctx;
  const a = ctx.addrs.get(node.name)!;
  const hairpin = c.config.families.map((f) => `${ipm(f)}.src == ${host(hostAt(c.config.masqueradeSubnet[f], 5))}`).join(' || ');
  for (const [dir, direction] of [['Ingress', 'to-lport'], ['Egress', 'from-lport']] as const) {
    acl(ctx, ctx.clusterPg, {
      direction,
      priority: 1001,
      match: c.config.families.length > 1 ? `(${hairpin})` : hairpin,
      action: 'allow-related',
      afterLb: direction === 'from-lport',
      id: { ownerType: 'NetpolDefault', keys: [['name', 'allow-hairpinning'], ['direction', dir]] },
      info: { kind: 'hairpin', text: 'service hairpin traffic (OVN-Kubernetes allow-hairpinning)' },
    });
  }
  acl(ctx, ctx.nodeSwitch, {
    direction: 'to-lport',
    priority: 1001,
    match: c.config.families.map((f) => `${ipm(f)}.src==${host(a.mgmt[f]!)}`).join(' || '),
    action: 'allow-related',
    id: { ownerType: 'NetpolNode', keys: [['name', node.name], ['ip', c.config.families.map((f) => host(a.mgmt[f]!)).join(',')]] },
    info: { kind: 'nodeAllow', text: `traffic from node ${node.name}'s management port (kubelet probes)` },
  });
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicy (base_network_controller_policy.go, gress_policy.go)

function selectedPods(c: ClusterModel, p: PolicyModel): PodModel[] {
  return c.pods.filter((x) => x.namespace === p.namespace && !x.hostNetwork && matches(p.podSelector, x.labels));
}

function nsMatching(c: ClusterModel, sel: Selector): string[] {
  return [...c.namespaces.values()].filter((n) => matches(sel, n.labels)).map((n) => n.name);
}

function peerPods(c: ClusterModel, policyNs: string, peer: PolicyPeer): PodModel[] {
  const nss = peer.namespaceSelector ? new Set(nsMatching(c, peer.namespaceSelector)) : new Set([policyNs]);
  return c.pods.filter((x) => nss.has(x.namespace) && !x.hostNetwork && (!peer.podSelector || matches(peer.podSelector, x.labels)));
}

/** L4 match of one protocol's ports (`tcp`, `tcp && tcp.dst==80`, `tcp && tcp.dst=={80,443}`, ranges). */
function l4Match(proto: string, ports: readonly PolicyPort[]): string {
  const p = proto.toLowerCase();
  const singles: number[] = [];
  const ranges: string[] = [];
  let any = false;
  for (const x of ports) {
    if (x.port === undefined || typeof x.port === 'string') any = true;
    else if (x.endPort !== undefined && x.endPort !== x.port) ranges.push(`${x.port}<=${p}.dst<=${x.endPort}`);
    else singles.push(x.port);
  }
  if (any) return p;
  const terms: string[] = [];
  if (singles.length === 1) terms.push(`${p}.dst==${singles[0]}`);
  else if (singles.length > 1) terms.push(`${p}.dst=={${[...new Set(singles)].join(',')}}`);
  terms.push(...ranges);
  return terms.length === 1 ? `${p} && ${terms[0]}` : `${p} && (${terms.join(' || ')})`;
}

const PROTO_ORDER: readonly Proto[] = ['TCP', 'UDP', 'SCTP'];

function networkPolicies(ctx: Ctx): void {
  const { c, node, nb, semantics } = ctx;
  const byNs = new Map<string, PolicyModel[]>();
  for (const p of c.policies) {
    let l = byNs.get(p.namespace);
    if (!l) byNs.set(p.namespace, (l = []));
    l.push(p);
  }
  for (const [ns, policies] of byNs) {
    const nsm = c.namespaces.get(ns)!;
    const log = nsm.aclLogging;
    const local = (pods: readonly PodModel[]) => pods.filter((p) => p.node === node.name).map((p) => ctx.ports.get(`${p.namespace}/${p.name}`)!).filter(Boolean);
    // Default-deny port groups: pods selected by a policy whose policyTypes include the direction.
    for (const [dir, direction, portKw] of [['Ingress', 'to-lport', 'outport'], ['Egress', 'from-lport', 'inport']] as const) {
      const sel = new Set<PodModel>();
      for (const p of policies) if (p.policyTypes.includes(dir)) for (const x of selectedPods(c, p)) sel.add(x);
      const id: DbObjectId = { ownerType: 'NetpolNamespace', keys: [['name', ns], ['policy-type', dir]] };
      const pg = portGroup(ctx, id, local([...sel]));
      const pgn = pgName(id);
      const common = { direction, afterLb: direction === 'from-lport', log } as const;
      acl(ctx, pg, {
        ...common,
        priority: 1000,
        match: `${portKw} == @${pgn}`,
        action: 'drop',
        id: { ownerType: 'NetpolNamespace', keys: [['name', ns], ['policy-type', dir], ['type', 'defaultDeny']] },
        name: `NP:${ns}:${dir}`,
        info: { kind: 'defaultDeny', namespace: ns, text: `default deny of namespace ${ns} (${dir.toLowerCase()}: the pod is selected by a NetworkPolicy with policyType ${dir})` },
      });
      acl(ctx, pg, {
        ...common,
        priority: 1001,
        match: `${portKw} == @${pgn} && (arp || nd)`,
        action: 'allow',
        log: {},
        id: { ownerType: 'NetpolNamespace', keys: [['name', ns], ['policy-type', dir], ['type', 'arpAllow']] },
        name: `NP:${ns}:${dir}`,
        info: { kind: 'arpAllow', namespace: ns, text: `ARP/ND to or from pods of namespace ${ns}` },
      });
    }
    for (const p of policies) {
      const pid: DbObjectId = { ownerType: 'NetworkPolicy', keys: [['name', `${ns}:${p.name}`]] };
      const pg = portGroup(ctx, pid, local(selectedPods(c, p)));
      const pgn = pgName(pid);
      for (const [dir, rules] of [['Ingress', p.ingress], ['Egress', p.egress]] as const) {
        const inTypes = p.policyTypes.includes(dir);
        if (!inTypes && (semantics === 'kubernetes' || !rules.length)) continue;
        rules.forEach((rule, gi) => gressAcls(ctx, p, dir, gi, rule, pgn, inTypes ? undefined : `the policy's policyTypes [${p.policyTypes.join(', ')}] leave out ${dir}, but OVN-Kubernetes builds its ${dir.toLowerCase()} allow rules anyway`));
      }
    }
  }
}

function gressAcls(ctx: Ctx, p: PolicyModel, dir: 'Ingress' | 'Egress', gi: number, rule: PolicyRule, pgn: string, typesDeparture: string | undefined): void {
  const { c, semantics } = ctx;
  const ns = p.namespace;
  const log = c.namespaces.get(ns)!.aclLogging;
  const direction = dir === 'Ingress' ? 'to-lport' : 'from-lport';
  const lport = dir === 'Ingress' ? `outport == @${pgn}` : `inport == @${pgn}`;
  const peerDir = dir === 'Ingress' ? 'src' : 'dst';
  const action = p.stateless ? 'allow-stateless' : 'allow-related';
  const fams = c.config.families;
  const name = `NP:${ns}:${p.name}:${dir}:${gi}`;
  const text = `NetworkPolicy ${ns}/${p.name} ${dir.toLowerCase()} rule ${gi}`;
  // Peers: selector peers share one ACL (per protocol), each ipBlock gets its own (index).
  const selPeers = rule.peers.filter((x) => !x.ipBlock);
  const blocks = rule.peers.map((x, i) => ({ x, i })).filter(({ x }) => x.ipBlock);
  const peerMatches: { l3: string; ipBlockIndex: number; dstPods?: PodModel[] }[] = [];
  if (!rule.peers.length) peerMatches.push({ l3: fams.length > 1 ? '(ip4 || ip6)' : ipm(fams[0]!), ipBlockIndex: -1, dstPods: c.pods.filter((x) => !x.hostNetwork) });
  if (selPeers.length) {
    const perFam = fams.map((f) => {
      const sets = selPeers.map((peer) => {
        if (!peer.podSelector) {
          return nsMatching(c, peer.namespaceSelector!).map((n) =>
            addressSet(ctx, { ownerType: 'Namespace', keys: [['name', n], ['ip-family', fam(f)]] }, c.pods.filter((x) => x.namespace === n && !x.hostNetwork).flatMap((x) => x.ips.filter((y) => y.family === f))),
          );
        }
        const nsKey = peer.namespaceSelector ? formatSelector(peer.namespaceSelector) : ns;
        const key = `${nsKey}_${formatSelector(peer.podSelector)}`;
        return [addressSet(ctx, { ownerType: 'PodSelector', keys: [['name', key], ['ip-family', fam(f)]] }, peerPods(c, ns, peer).flatMap((x) => x.ips.filter((y) => y.family === f)))];
      });
      const names = [...new Set(sets.flat())];
      return names.length ? `${ipm(f)}.${peerDir} == {${names.map((n) => `$${n}`).join(', ')}}` : '';
    }).filter(Boolean);
    if (perFam.length) peerMatches.push({ l3: perFam.length > 1 ? `(${perFam.join(' || ')})` : perFam[0]!, ipBlockIndex: -1, dstPods: selPeers.flatMap((x) => peerPods(c, ns, x)) });
  }
  for (const { x, i } of blocks) {
    const b = x.ipBlock!;
    const f = b.cidr.family;
    if (!fams.includes(f)) continue;
    let l3 = `${ipm(f)}.${peerDir} == ${formatCidr(b.cidr)}`;
    if (b.except.length) l3 += ` && ${ipm(f)}.${peerDir} != {${b.except.map(formatCidr).join(', ')}}`;
    peerMatches.push({ l3, ipBlockIndex: i, dstPods: c.pods.filter((q) => !q.hostNetwork && q.ips.some((ip) => contains(b.cidr, ip) && !b.except.some((e) => contains(e, ip)))) });
  }
  // L4: per protocol; named ports as OVN-Kubernetes (every port of the protocol) or resolved.
  const protos = rule.ports.length ? PROTO_ORDER.filter((pr) => rule.ports.some((x) => x.protocol === pr)) : (['None'] as const);
  for (const pm of peerMatches) {
    for (const pr of protos) {
      const pports = pr === 'None' ? [] : rule.ports.filter((x) => x.protocol === pr);
      const named = pports.filter((x) => typeof x.port === 'string');
      const numeric = pports.filter((x) => typeof x.port !== 'string');
      const base: Omit<AclSpec, 'match' | 'id'> = { direction, priority: 1001, action, afterLb: direction === 'from-lport', name, log, info: { kind: 'networkPolicy', namespace: ns, owner: `${ns}/${p.name}`, text, ...(typesDeparture ? { departure: typesDeparture } : {}) } };
      const id = (extra = '') => ({
        ownerType: 'NetworkPolicy',
        keys: [['name', `${ns}:${p.name}`], ['policy-type', dir], ['rule-index', String(gi)], ['port-policy-protocol', pr === 'None' ? 'None' : pr.toLowerCase() + extra], ['ip-block-index', String(pm.ipBlockIndex)]] as [string, string][],
      });
      if (pr === 'None') {
        acl(ctx, ctx.pgs.get(pgn)!, { ...base, match: `${pm.l3} && ${lport}`, id: id() });
        continue;
      }
      if (semantics === 'ovn-kubernetes' || !named.length) {
        const dep = named.length ? `named port${named.length > 1 ? 's' : ''} ${named.map((x) => x.port).join(', ')} match every ${pr} port in OVN-Kubernetes (no named-port support, ovn-kubernetes issue #2117)` : undefined;
        const info = dep ? { ...base.info, departure: [base.info.departure, dep].filter(Boolean).join('; ') } : base.info;
        acl(ctx, ctx.pgs.get(pgn)!, { ...base, info, match: `${pm.l3} && ${l4Match(pr, pports)} && ${lport}`, id: id() });
        continue;
      }
      // Kubernetes semantics: numeric ports as usual, each named port resolved on the destination pod.
      if (numeric.length) acl(ctx, ctx.pgs.get(pgn)!, { ...base, match: `${pm.l3} && ${l4Match(pr, numeric)} && ${lport}`, id: id() });
      const dsts = dir === 'Ingress' ? selectedPods(c, p) : (pm.dstPods ?? []);
      const byPort = new Map<number, Ip[]>();
      for (const d of dsts) {
        for (const nport of named) {
          const cp = d.ports.find((x) => x.name === nport.port && x.protocol === pr);
          if (!cp) continue;
          let l = byPort.get(cp.port);
          if (!l) byPort.set(cp.port, (l = []));
          l.push(...d.ips);
        }
      }
      for (const [port, ips] of [...byPort].sort((x, y) => x[0] - y[0])) {
        const dstM = fams
          .map((f) => {
            const l = [...new Set(ips.filter((x) => x.family === f).map(ipText))];
            return l.length ? `${ipm(f)}.dst == {${l.join(', ')}}` : '';
          })
          .filter(Boolean);
        const dm = dstM.length > 1 ? `(${dstM.join(' || ')})` : dstM[0]!;
        acl(ctx, ctx.pgs.get(pgn)!, { ...base, match: `${pm.l3} && ${dm} && ${pr.toLowerCase()} && ${pr.toLowerCase()}.dst==${port} && ${lport}`, id: id(`-named-${port}`) });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Services (lb_config.go, loadbalancer.go)

function services(ctx: Ctx, sw: SwitchHandle, gr: RouterHandle): void {
  const { c, nb, node } = ctx;
  const clusterLbs: RowHandle[] = [];
  const hairpin = c.config.families.map((f) => host(hostAt(c.config.masqueradeSubnet[f], 5))).join(' ');
  for (const s of c.services) {
    for (const pr of PROTO_ORDER) {
      const sps = s.ports.filter((p) => p.protocol === pr);
      if (!sps.length) continue;
      const vips: Record<string, string> = {};
      const nodeVips: Record<string, string> = {};
      for (const sp of sps) {
        for (const vip of s.clusterIPs) {
          const be = s.endpoints.filter((e) => e.ip.family === vip.family && e.ports.has(sp.name)).map((e) => (vip.family === 6 ? `[${ipText(e.ip)}]:${e.ports.get(sp.name)}` : `${ipText(e.ip)}:${e.ports.get(sp.name)}`));
          vips[vip.family === 6 ? `[${ipText(vip)}]:${sp.port}` : `${ipText(vip)}:${sp.port}`] = [...new Set(be)].join(',');
          if (!be.length) ctx.notes.push(`Service ${s.namespace}/${s.name} port ${sp.port}/${pr} has no ready endpoints (its load balancer rejects connections)`);
        }
        if (sp.nodePort !== undefined) {
          for (const f of c.config.families) {
            const nip = node.host.address[f];
            if (!nip) continue;
            const be = s.endpoints.filter((e) => e.ip.family === f && e.ports.has(sp.name)).map((e) => (f === 6 ? `[${ipText(e.ip)}]:${e.ports.get(sp.name)}` : `${ipText(e.ip)}:${e.ports.get(sp.name)}`));
            nodeVips[f === 6 ? `[${host(nip)}]:${sp.nodePort}` : `${host(nip)}:${sp.nodePort}`] = [...new Set(be)].join(',');
          }
        }
      }
      const opts = {
        protocol: pr.toLowerCase() as 'tcp' | 'udp' | 'sctp',
        reject: true,
        skipSnat: false,
        hairpinSnatIp: hairpin,
        ...(s.affinityTimeout !== undefined && s.affinityTimeout !== 86400 ? { affinityTimeout: Math.min(s.affinityTimeout, 65535) } : {}),
        ...(s.affinityTimeout === 86400 ? { selectionFields: ['ip_src', 'ip_dst'] as const } : {}),
        options: { event: 'false', neighbor_responder: 'none' },
        externalIds: { 'k8s.ovn.org/kind': 'Service', 'k8s.ovn.org/owner': `${s.namespace}/${s.name}` },
      };
      clusterLbs.push(nb.loadBalancer(`Service_${s.namespace}/${s.name}_${pr}_cluster`, { ...opts, vips }));
      if (Object.keys(nodeVips).length) {
        const lb = nb.loadBalancer(`Service_${s.namespace}/${s.name}_${pr}_node_router+switch_${node.name}`, { ...opts, vips: nodeVips });
        sw.addLoadBalancer(lb);
        gr.addLoadBalancer(lb);
      }
    }
  }
  const g = nb.loadBalancerGroup('clusterLBGroup', clusterLbs);
  sw.addLoadBalancerGroup(g);
  gr.addLoadBalancerGroup(g);
  sw.addLoadBalancerGroup(nb.loadBalancerGroup('clusterSwitchLBGroup', []));
  gr.addLoadBalancerGroup(nb.loadBalancerGroup('clusterRouterLBGroup', []));
}

// ---------------------------------------------------------------------------------------------
// Multicast (base_network_controller_multicast.go)

function mcastMatch(fams: readonly Family[]): string {
  const t = fams.map((f) => (f === 4 ? 'ip4.mcast' : '(mldv1 || mldv2 || (ip6.dst[120..127] == 0xff && ip6.dst[116] == 1))'));
  return t.length > 1 ? `(${t.join(' || ')})` : t[0]!;
}

function namespacePg(ctx: Ctx, ns: string): string {
  const id: DbObjectId = { ownerType: 'Namespace', keys: [['name', ns]] };
  const name = pgName(id);
  if (!ctx.pgs.has(name)) {
    const ports = ctx.c.pods.filter((p) => p.namespace === ns && p.node === ctx.node.name && !p.hostNetwork).map((p) => ctx.ports.get(`${p.namespace}/${p.name}`)!);
    portGroup(ctx, id, ports);
  }
  return name;
}

function multicast(ctx: Ctx): void {
  const { c } = ctx;
  const fams = c.config.families;
  const M = mcastMatch(fams);
  for (const [dir, direction] of [['Egress', 'from-lport'], ['Ingress', 'to-lport']] as const) {
    acl(ctx, ctx.clusterPg, {
      direction,
      priority: 1011,
      match: M,
      action: 'drop',
      afterLb: direction === 'from-lport',
      id: { ownerType: 'MulticastCluster', keys: [['name', 'DefaultDeny'], ['policy-type', dir]] },
      info: { kind: 'multicastDefaultDeny', text: 'multicast default deny (namespace without k8s.ovn.org/multicast-enabled)' },
    });
    const rtrPg = pgName({ ownerType: 'Cluster', keys: [['name', 'clusterRtrPortGroup']] });
    acl(ctx, ctx.clusterRtrPg, {
      direction,
      priority: 1012,
      match: `${direction === 'from-lport' ? 'inport' : 'outport'} == @${rtrPg} && ${M}`,
      action: 'allow',
      afterLb: direction === 'from-lport',
      id: { ownerType: 'MulticastCluster', keys: [['name', 'AllowInterNode'], ['policy-type', dir]] },
      info: { kind: 'multicastInterNode', text: 'multicast between nodes (router ports)' },
    });
  }
  for (const ns of c.namespaces.values()) {
    if (!ns.multicast) continue;
    const pgn = namespacePg(ctx, ns.name);
    const egress = fams.map((f) => (f === 4 ? 'ip4.mcast' : '(mldv1 || mldv2 || (ip6.dst[120..127] == 0xff && ip6.dst[116] == 1))'));
    const ingress = fams.map((f) => {
      const as = hashForOvn(idString({ ownerType: 'Namespace', keys: [['name', ns.name], ['ip-family', fam(f)]] }));
      return f === 4 ? `(igmp || (ip4.src == $${as} && ip4.mcast))` : `(mldv1 || mldv2 || (ip6.src == $${as} && (ip6.dst[120..127] == 0xff && ip6.dst[116] == 1)))`;
    });
    const pg = ctx.pgs.get(pgn)!;
    acl(ctx, pg, {
      direction: 'from-lport',
      priority: 1012,
      match: `inport == @${pgn} && ${egress.length > 1 ? `(${egress.join(' || ')})` : egress[0]}`,
      action: 'allow',
      afterLb: true,
      id: { ownerType: 'MulticastNS', keys: [['name', ns.name], ['policy-type', 'Egress']] },
      info: { kind: 'multicastNamespace', namespace: ns.name, text: `multicast from namespace ${ns.name} (k8s.ovn.org/multicast-enabled)` },
    });
    acl(ctx, pg, {
      direction: 'to-lport',
      priority: 1012,
      match: `outport == @${pgn} && ${ingress.length > 1 ? `(${ingress.join(' || ')})` : ingress[0]}`,
      action: 'allow',
      id: { ownerType: 'MulticastNS', keys: [['name', ns.name], ['policy-type', 'Ingress']] },
      info: { kind: 'multicastNamespace', namespace: ns.name, text: `multicast to namespace ${ns.name} from its own pods (k8s.ovn.org/multicast-enabled)` },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// EgressFirewall (egressfirewall.go)

function egressFirewalls(ctx: Ctx): void {
  const { c } = ctx;
  for (const ef of c.egressFirewalls) {
    const pgn = namespacePg(ctx, ef.namespace);
    const log = c.namespaces.get(ef.namespace)!.aclLogging;
    ef.rules.forEach((r, i) => {
      const dst = efDst(ctx, r);
      if (!dst) return;
      const l4 = efPorts(r);
      acl(ctx, ctx.pgs.get(pgn)!, {
        direction: 'to-lport',
        priority: 10000 - i,
        match: `(${dst}) && inport == @${pgn}${l4 ? ` && ${l4}` : ''}`,
        action: r.type === 'Allow' ? 'allow' : 'drop',
        name: `EF:${ef.namespace}:${i}`,
        log,
        id: { ownerType: 'EgressFirewall', keys: [['name', ef.namespace], ['rule-index', String(i)]] },
        info: { kind: 'egressFirewall', namespace: ef.namespace, owner: ef.namespace, text: `EgressFirewall ${ef.namespace}/default rule ${i} (${r.type} ${r.to.cidr ? formatCidr(r.to.cidr) : r.to.dnsName ?? `nodeSelector ${formatSelector(r.to.nodeSelector)}`})` },
      });
    });
  }
}

function efDst(ctx: Ctx, r: EgressFirewallRule): string | undefined {
  const { c } = ctx;
  if (r.to.cidr) {
    // A CIDR intersecting the cluster network leaves out every cluster subnet of its family
    // (egressfirewall.go matchTarget.toExpr / getV4ClusterSubnetsExclusion: joined by "&&").
    const cidr = r.to.cidr;
    const fam = c.config.clusterNetworks.filter((cn) => cn.cidr.family === cidr.family);
    const m = `${ipm(cidr.family)}.dst == ${formatCidr(cidr)}`;
    if (!fam.some((cn) => overlaps(cn.cidr, cidr))) return m;
    return `${m} && ${fam.map((cn) => `${ipm(cidr.family)}.dst != ${formatCidr(cn.cidr)}`).join('&&')}`;
  }
  if (r.to.dnsName) {
    const ips = (ctx.resolver?.(r.to.dnsName) ?? []).filter((ip) => !c.config.clusterNetworks.some((cn) => contains(cn.cidr, ip)));
    if (!ctx.resolver) ctx.notes.push(`EgressFirewall DNS name ${r.to.dnsName}: no resolver given, it resolves to no address`);
    const terms = c.config.families.map((f) => `${ipm(f)}.dst == $${addressSet(ctx, { ownerType: 'EgressFirewallDNS', keys: [['name', r.to.dnsName!], ['ip-family', fam(f)]] }, ips.filter((x) => x.family === f))}`);
    return terms.join(' || ');
  }
  const nodes = c.nodes.filter((n) => matches(r.to.nodeSelector!, n.labels));
  const terms = nodes.flatMap((n) => c.config.families.filter((f) => n.host.address[f]).map((f) => ({ f, ip: host(n.host.address[f]!) }))).sort((x, y) => (x.ip < y.ip ? -1 : 1));
  return terms.length ? terms.map((t) => `${ipm(t.f)}.dst == ${t.ip}`).join(' || ') : undefined;
}

function efPorts(r: EgressFirewallRule): string {
  if (!r.ports.length) return '';
  const by = new Map<string, number[]>();
  for (const p of r.ports) {
    const k = p.protocol.toLowerCase();
    let l = by.get(k);
    if (!l) by.set(k, (l = []));
    if (p.port !== undefined) l.push(p.port);
  }
  const terms = [...by].map(([pr, ports]) => (ports.length ? `(${pr} && ( ${ports.map((x) => `${pr}.dst == ${x}`).join(' || ')} ))` : `(${pr})`));
  return `(${terms.join(' || ')})`;
}

// ---------------------------------------------------------------------------------------------
// EgressIP (egressip.go)

/** The ids of an EgressIP no-reroute policy (egressip.go getEgressIPLRPNoReRouteDbIDs). */
function noRerouteId(name: string, family: string): DbObjectId {
  return { ownerType: 'EgressIP', keys: [['priority', '102'], ['name', name], ['ip-family', family], ['network', 'default']] };
}

/** InitClusterEgressPolicies and ensureDefaultNoRerouteNodePolicies: east-west and reply traffic is never rerouted. */
function egressIpNoReroute(ctx: Ctx, ocr: RouterHandle): void {
  const { c, nb } = ctx;
  for (const f of c.config.families) {
    const cns = c.config.clusterNetworks.filter((x) => x.cidr.family === f);
    for (const cn of cns) {
      for (const cn2 of cns) nb.policy(ocr, { priority: 102, match: `${ipm(f)}.src == ${formatCidr(cn.cidr)} && ${ipm(f)}.dst == ${formatCidr(cn2.cidr)}`, action: 'allow', externalIds: externalIds(noRerouteId('EIP-No-Reroute-Pod-To-Pod', fam(f))) });
      nb.policy(ocr, { priority: 102, match: `${ipm(f)}.src == ${formatCidr(cn.cidr)} && ${ipm(f)}.dst == ${formatCidr(c.config.joinSubnet[f])}`, action: 'allow', externalIds: externalIds(noRerouteId('EIP-No-Reroute-Pod-To-Join', fam(f))) });
    }
    const served = addressSet(ctx, { ownerType: 'EgressIP', keys: [['name', 'egressip-served-pods'], ['ip-family', fam(f)], ['network', 'default']] }, servedPods(c).flatMap((p) => p.ips.filter((x) => x.family === f)));
    const nodeIps = addressSet(ctx, { ownerType: 'EgressIP', keys: [['name', 'node-ips'], ['ip-family', fam(f)], ['network', 'default']] }, c.nodes.flatMap((n) => (n.host.address[f] ? [n.host.address[f]!] : [])));
    nb.policy(ocr, { priority: 102, match: `${ipm(f)}.src == $${served} && ${ipm(f)}.dst == $${nodeIps}`, action: 'allow', pktMark: 1008, externalIds: externalIds(noRerouteId('EIP-No-Reroute-Pod-To-Node', fam(f))) });
  }
  // Replies of EgressIP pods carry mark 42 from a QoS rule on the node switches (createDefaultReRouteQoSRuleOps);
  // that QoS action needs OVN 23.06 (23.03's QoS.action holds only dscp), so only this policy is built. See docs/kube.md.
  nb.policy(ocr, { priority: 102, match: 'pkt.mark == 42', action: 'allow', externalIds: externalIds(noRerouteId('EIP-No-Reroute-reply-traffic', 'ip')) });
}

function servedPods(c: ClusterModel): PodModel[] {
  return c.pods.filter((p) => !p.hostNetwork && c.egressIPs.some((e) => e.assignments.length && matches(e.namespaceSelector, c.namespaces.get(p.namespace)!.labels) && matches(e.podSelector, p.labels)));
}

function egressIps(ctx: Ctx, ocr: RouterHandle, gr: RouterHandle): void {
  const { c, nb, node } = ctx;
  for (const e of c.egressIPs) {
    if (!e.assignments.length) {
      ctx.notes.push(`EgressIP ${e.name}: no node can host ${e.ips.map(ipText).join(', ')} (label a node k8s.ovn.org/egress-assignable whose network holds it)`);
      continue;
    }
    const pods = c.pods.filter((p) => !p.hostNetwork && matches(e.namespaceSelector, c.namespaces.get(p.namespace)!.labels) && matches(e.podSelector, p.labels));
    for (const p of pods) {
      for (const ip of p.ips) {
        const assigns = e.assignments.filter((x) => x.ip.family === ip.family);
        if (!assigns.length) continue;
        const local = p.node === node.name;
        const egressHere = assigns.some((x) => x.node === node.name);
        if (!local && !egressHere) continue;
        const nexthops = local
          ? assigns.map((x) => {
              const na = ctx.addrs.get(x.node)!;
              return host(x.node === node.name ? na.join[ip.family]! : na.transit[ip.family]!);
            })
          : [host(ctx.addrs.get(node.name)!.join[ip.family]!)];
        // A remote pod's packets rerouted here leave through the catch-all route (buildZone); the
        // egress node's zone has no reroute policy for them (addPodEgressIPAssignment).
        if (!local) {
          snatOnEgressNode(ctx, gr, e.name, p, ip, assigns);
          continue;
        }
        nb.policy(ocr, {
          priority: 100,
          match: `${ipm(ip.family)}.src == ${ipText(ip)}`,
          action: 'reroute',
          nexthops: [...new Set(nexthops)],
          externalIds: externalIds({ ownerType: 'EgressIP', keys: [['priority', '100'], ['name', `${e.name}_${p.namespace}/${p.name}`], ['ip-family', fam(ip.family)], ['network', 'default']] }),
        });
        snatOnEgressNode(ctx, gr, e.name, p, ip, assigns);
      }
    }
  }
}

/** The SNAT of a served pod to its egress IP on this zone's gateway router, when this node hosts the egress IP (createNATRuleOps). */
function snatOnEgressNode(ctx: Ctx, gr: RouterHandle, eip: string, p: PodModel, ip: Ip, assigns: readonly { node: string; ip: Ip }[]): void {
  for (const a of assigns) {
    if (a.node !== ctx.node.name) continue;
    ctx.nb.nat(gr, {
      type: 'snat',
      externalIp: ipText(a.ip),
      logicalIp: ipText(ip),
      logicalPort: `k8s-${ctx.node.name}`,
      options: { stateless: 'false' },
      externalIds: externalIds({ ownerType: 'EgressIP', keys: [['name', `${eip}_${p.namespace}/${p.name}`], ['ip-family', fam(ip.family)]] }),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Hybrid overlay (hybrid.go)

function hybridOverlay(ctx: Ctx, ocr: RouterHandle, gr: RouterHandle, sw: SwitchHandle): void {
  const { c, nb, node } = ctx;
  const ho = c.config.hybridOverlay;
  if (!ho) return;
  const a = ctx.addrs.get(node.name)!;
  if (!a.hybridDr) return;
  const dr = host(a.hybridDr.ip);
  sw.port(`int-${node.name}`, { addresses: [a.hybridDr.mac] });
  nb.staticMacBinding(`rtos-${node.name}`, dr, a.hybridDr.mac, true);
  for (const hn of ho.clusterNetworks) {
    const cidr = formatCidr(hn.cidr);
    nb.policy(ocr, { priority: 1002, match: `inport == "rtos-${node.name}" && ip4.dst == ${cidr}`, action: 'reroute', nexthops: [dr], externalIds: { name: `hybrid-subnet-${node.name}` } });
    nb.policy(ocr, { priority: 1002, match: `ip4.src == ${host(a.join[4]!)} && ip4.dst == ${cidr}`, action: 'reroute', nexthops: [dr], externalIds: { name: `hybrid-subnet-${node.name}-gr` } });
    nb.route(ocr, { prefix: cidr, nexthop: dr });
    nb.route(gr, { prefix: cidr, nexthop: host(hostAt(c.config.joinSubnet[4], 1)), externalIds: { name: `hybrid-subnet-${node.name}-gr` } });
  }
}

/** Export for tests: which pods an EgressIP serves. */
export { servedPods as egressIpServedPods };
/** The controller name, re-exported for convenience. */
export { CONTROLLER };
void setDatum;
