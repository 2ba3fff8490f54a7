/**
 * Manifests to a validated `ClusterModel`.
 *
 * Design. Objects are dispatched by `apiVersion`/`kind`; each reader validates the fields it
 * uses and throws a `KubeError` naming file, object and field. Then cluster-wide facts are
 * resolved in a fixed order, so the result depends only on the input: configuration with
 * OpenShift's documented defaults; the reserved-range overlap checks; nodes sorted by name, ids
 * from 2, host subnets from `k8s.ovn.org/node-subnets` or allocated in name order from
 * `clusterNetwork`; each node's host network and the dual-stack gateway checks the node agent
 * makes (with its messages); namespaces (also implied by objects in them) with the
 * `kubernetes.io/metadata.name` label the API server adds; pod addresses from `status.podIPs` or
 * allocated from the node subnet in input order after `.1` (gateway), `.2` (management port) and,
 * with the hybrid overlay, `.3`; services with cluster IPs and endpoints (EndpointSlices, or the
 * selector's ready pods); policies with `policyTypes` defaulted as the API server does. Nothing
 * is half-built: the first problem throws before any OVN row exists.
 */
import { createHash } from 'node:crypto';
import type { Container, Namespace, Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from 'kubernetes-types/networking/v1.js';
import { KubeError } from './errors.js';
import { matches, readSelector, type Selector } from './labels.js';
import type { ManifestObject } from './load.js';
import type {
  ClusterConfig,
  ClusterModel,
  ClusterNetwork,
  ContainerPort,
  EgressFirewallModel,
  EgressIpModel,
  EgressRouterModel,
  Endpoint,
  HostNetwork,
  NamespaceModel,
  NodeModel,
  PodModel,
  PolicyModel,
  PolicyPeer,
  PolicyPort,
  PolicyRule,
  Proto,
  ServiceModel,
  ServicePort,
} from './model.js';
import {
  contains,
  formatCidr,
  formatIp,
  hostAt,
  ipToMac,
  network,
  nthSubnet,
  overlaps,
  parseCidr,
  parseIp,
  sameIp,
  size,
  tryParseCidr,
  tryParseIp,
  type Cidr,
  type Family,
  type Ip,
} from './net.js';
import { FieldReader, type Obj } from './read.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** OpenShift's defaults for the OVN-Kubernetes ranges (OpenShift 4.16 documentation). */
export const OPENSHIFT_DEFAULTS = {
  clusterNetwork: '10.128.0.0/14',
  hostPrefix: 23,
  serviceNetwork: '172.30.0.0/16',
  joinSubnet: { 4: '100.64.0.0/16', 6: 'fd98::/64' },
  transitSubnet: { 4: '100.88.0.0/16', 6: 'fd97::/64' },
  masqueradeSubnet: { 4: '169.254.169.0/29', 6: 'fd69::/125' },
  mtu: 1400,
  genevePort: 6081,
  hybridVxlanPort: 4789,
  aclLoggingRateLimit: 20,
} as const;

function label(o: Obj, kind: string): string {
  const md = (o.metadata ?? {}) as Obj;
  const name = typeof md.name === 'string' ? md.name : '';
  const ns = typeof md.namespace === 'string' ? md.namespace : '';
  return `${kind} ${ns ? `${ns}/` : ''}${name}`;
}

interface Raw {
  readonly m: ManifestObject;
  readonly r: FieldReader;
  readonly name: string;
  readonly namespace: string;
}

function meta(m: ManifestObject, kind: string, namespaced: boolean): Raw {
  const r = new FieldReader(m.file, label(m.obj, kind) + (m.obj.metadata ? '' : ` (document ${m.doc})`));
  const md = r.obj(m.obj.metadata, 'metadata') ?? r.fail('metadata', 'required field is missing');
  const name = r.reqStr(md.name, 'metadata.name');
  let namespace = r.str(md.namespace, 'metadata.namespace') ?? '';
  if (namespaced && !namespace) namespace = 'default';
  return { m, r, name, namespace };
}

const PROTOS: readonly Proto[] = ['TCP', 'UDP', 'SCTP'];
function proto(r: FieldReader, v: unknown, field: string): Proto {
  const s = r.str(v, field) ?? 'TCP';
  if (!PROTOS.includes(s as Proto)) r.fail(field, `unsupported protocol ${JSON.stringify(s)} (TCP, UDP, SCTP)`);
  return s as Proto;
}

/** Build and validate the cluster from manifest objects. */
export function buildCluster(objects: readonly ManifestObject[]): ClusterModel {
  const by = new Map<string, ManifestObject[]>();
  const ignored: string[] = [];
  const KNOWN: Record<string, string> = {
    'config.openshift.io/v1 Network': 'configNetwork',
    'operator.openshift.io/v1 Network': 'operatorNetwork',
    'v1 Node': 'Node',
    'nmstate.io/v1beta1 NodeNetworkState': 'NNS',
    'nmstate.io/v1 NodeNetworkState': 'NNS',
    'v1 Namespace': 'Namespace',
    'v1 Pod': 'Pod',
    'v1 Service': 'Service',
    'discovery.k8s.io/v1 EndpointSlice': 'EndpointSlice',
    'networking.k8s.io/v1 NetworkPolicy': 'NetworkPolicy',
    'k8s.ovn.org/v1 EgressIP': 'EgressIP',
    'k8s.ovn.org/v1 EgressFirewall': 'EgressFirewall',
    'network.operator.openshift.io/v1 EgressRouter': 'EgressRouter',
  };
  for (const m of objects) {
    const r = new FieldReader(m.file, `document ${m.doc}`);
    const apiVersion = r.reqStr(m.obj.apiVersion, 'apiVersion');
    const kind = r.reqStr(m.obj.kind, 'kind');
    const k = KNOWN[`${apiVersion} ${kind}`];
    if (!k) {
      ignored.push(`${m.file}: ${label(m.obj, kind)} (${apiVersion}): not used by the network model`);
      continue;
    }
    let l = by.get(k);
    if (!l) by.set(k, (l = []));
    l.push(m);
  }
  const get = (k: string) => by.get(k) ?? [];

  const config = readConfig(get('configNetwork'), get('operatorNetwork'));
  checkReserved(config);
  const nns = new Map<string, Raw>();
  for (const m of get('NNS')) {
    const raw = meta(m, 'NodeNetworkState', false);
    nns.set(raw.name, raw);
  }
  const nodes = readNodes(get('Node'), nns, config);
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const namespaces = new Map<string, NamespaceModel>();
  for (const m of get('Namespace')) {
    const { r, name } = meta(m, 'Namespace', false);
    const ns = m.obj as Namespace;
    const md = ns.metadata!;
    const labels = { ...r.strMap(md.labels, 'metadata.labels'), 'kubernetes.io/metadata.name': name };
    const annotations = r.strMap(md.annotations, 'metadata.annotations');
    if (namespaces.has(name)) r.fail('metadata.name', `namespace ${JSON.stringify(name)} is defined twice`);
    namespaces.set(name, nsModel(r, name, labels, annotations));
  }
  const ensureNs = (name: string) => {
    if (!namespaces.has(name)) namespaces.set(name, { name, labels: { 'kubernetes.io/metadata.name': name }, annotations: {}, multicast: false, aclLogging: {} });
  };
  const egressRouters = get('EgressRouter').map((m) => readEgressRouter(m, nodes));
  const podObjs = [...get('Pod').map((m) => ({ m, synthetic: undefined as EgressRouterModel | undefined }))];
  const pods = readPods(
    podObjs.map((p) => p.m),
    egressRouters,
    nodeByName,
    config,
  );
  for (const p of pods) ensureNs(p.namespace);
  const services = readServices(get('Service'), get('EndpointSlice'), pods, config);
  for (const s of services) ensureNs(s.namespace);
  const policies = get('NetworkPolicy').map(readPolicy);
  for (const p of policies) ensureNs(p.namespace);
  const egressIPs = get('EgressIP').map((m) => readEgressIp(m, nodes));
  const egressFirewalls = get('EgressFirewall').map(readEgressFirewall);
  const efNs = new Set<string>();
  for (const ef of egressFirewalls) {
    if (efNs.has(ef.namespace)) throw new KubeError(ef.origin, `a namespace has at most one EgressFirewall`);
    efNs.add(ef.namespace);
    ensureNs(ef.namespace);
  }
  return { config, nodes, namespaces, pods, services, policies, egressIPs, egressFirewalls, egressRouters, ignored };
}

function nsModel(r: FieldReader, name: string, labels: Record<string, string>, annotations: Record<string, string>): NamespaceModel {
  let aclLogging: NamespaceModel['aclLogging'] = {};
  const al = annotations['k8s.ovn.org/acl-logging'];
  if (al !== undefined) {
    let v: unknown;
    try {
      v = JSON.parse(al);
    } catch {
      r.fail('metadata.annotations.k8s.ovn.org/acl-logging', `not JSON: ${JSON.stringify(al)} (expected {"deny":"alert","allow":"notice"})`);
    }
    const o = r.obj(v, 'metadata.annotations.k8s.ovn.org/acl-logging') ?? {};
    const sev = (k: string) => {
      const s = r.str(o[k], `metadata.annotations.k8s.ovn.org/acl-logging.${k}`);
      if (s !== undefined && !['alert', 'warning', 'notice', 'info', 'debug'].includes(s)) {
        r.fail(`metadata.annotations.k8s.ovn.org/acl-logging.${k}`, `invalid severity ${JSON.stringify(s)} (alert, warning, notice, info, debug)`);
      }
      return s;
    };
    const allow = sev('allow');
    const deny = sev('deny');
    aclLogging = { ...(allow ? { allow } : {}), ...(deny ? { deny } : {}) };
  }
  return { name, labels, annotations, multicast: annotations['k8s.ovn.org/multicast-enabled'] === 'true', aclLogging };
}

function readNetworks(r: FieldReader, v: unknown, field: string): ClusterNetwork[] {
  return r.list(v, field).map((e, i) => {
    const o = r.obj(e, `${field}[${i}]`) ?? r.fail(`${field}[${i}]`, 'expected a mapping');
    const cidr = network(parseCidr(o.cidr, { file: r.file, object: r.object, field: `${field}[${i}].cidr` }));
    const hp = r.int(o.hostPrefix, `${field}[${i}].hostPrefix`, cidr.plen, cidr.family === 4 ? 32 : 128) ?? (cidr.family === 4 ? OPENSHIFT_DEFAULTS.hostPrefix : 64);
    return { cidr, hostPrefix: hp };
  });
}

function readConfig(cfgs: readonly ManifestObject[], ops: readonly ManifestObject[]): ClusterConfig {
  if (cfgs.length > 1) throw new KubeError({ file: cfgs[1]!.file, object: label(cfgs[1]!.obj, 'Network') }, 'a second config.openshift.io/v1 Network (there is one, named cluster)');
  if (ops.length > 1) throw new KubeError({ file: ops[1]!.file, object: label(ops[1]!.obj, 'Network') }, 'a second operator.openshift.io/v1 Network (there is one, named cluster)');
  let clusterNetworks: ClusterNetwork[] = [];
  let serviceNetworks: Cidr[] = [];
  let origin: FieldReader | undefined;
  for (const m of [...cfgs, ...ops]) {
    const { r } = meta(m, 'Network', false);
    const spec = r.obj(m.obj.spec, 'spec') ?? {};
    if (spec.clusterNetwork !== undefined && !clusterNetworks.length) {
      clusterNetworks = readNetworks(r, spec.clusterNetwork, 'spec.clusterNetwork');
      origin = r;
    }
    if (spec.serviceNetwork !== undefined && !serviceNetworks.length) {
      serviceNetworks = r.list(spec.serviceNetwork, 'spec.serviceNetwork').map((s, i) => network(parseCidr(s, { file: r.file, object: r.object, field: `spec.serviceNetwork[${i}]` })));
    }
  }
  if (!clusterNetworks.length) clusterNetworks = [{ cidr: tryParseCidr(OPENSHIFT_DEFAULTS.clusterNetwork)!, hostPrefix: OPENSHIFT_DEFAULTS.hostPrefix }];
  const families = [...new Set(clusterNetworks.map((c) => c.cidr.family))];
  if (!serviceNetworks.length) serviceNetworks = families.includes(4) ? [tryParseCidr(OPENSHIFT_DEFAULTS.serviceNetwork)!] : [tryParseCidr('fd02::/112')!];
  const sf = [...new Set(serviceNetworks.map((c) => c.family))];
  if (origin && (sf.length !== families.length || sf.some((f, i) => f !== families[i]))) {
    origin.fail('spec.serviceNetwork', `the service network families (${sf.map((f) => `IPv${f}`).join(', ')}) must be the cluster network families in the same order (${families.map((f) => `IPv${f}`).join(', ')})`);
  }
  const join: Record<Family, Cidr> = { 4: tryParseCidr(OPENSHIFT_DEFAULTS.joinSubnet[4])!, 6: tryParseCidr(OPENSHIFT_DEFAULTS.joinSubnet[6])! };
  const transit: Record<Family, Cidr> = { 4: tryParseCidr(OPENSHIFT_DEFAULTS.transitSubnet[4])!, 6: tryParseCidr(OPENSHIFT_DEFAULTS.transitSubnet[6])! };
  const masq: Record<Family, Cidr> = { 4: tryParseCidr(OPENSHIFT_DEFAULTS.masqueradeSubnet[4])!, 6: tryParseCidr(OPENSHIFT_DEFAULTS.masqueradeSubnet[6])! };
  let ipsecMode = 'Disabled';
  let hybridOverlay: ClusterConfig['hybridOverlay'];
  const policyAudit = { rateLimit: OPENSHIFT_DEFAULTS.aclLoggingRateLimit as number, destination: 'null', syslogFacility: 'local0', maxFileSize: 50 };
  let mtu: number = OPENSHIFT_DEFAULTS.mtu;
  let genevePort: number = OPENSHIFT_DEFAULTS.genevePort;
  for (const m of ops) {
    const { r } = meta(m, 'Network', false);
    const spec = r.obj(m.obj.spec, 'spec') ?? {};
    const dn = r.obj(spec.defaultNetwork, 'spec.defaultNetwork') ?? {};
    const t = r.str(dn.type, 'spec.defaultNetwork.type');
    if (t !== undefined && t !== 'OVNKubernetes') r.fail('spec.defaultNetwork.type', `${JSON.stringify(t)}: only OVNKubernetes is modelled`);
    const ok = r.obj(dn.ovnKubernetesConfig, 'spec.defaultNetwork.ovnKubernetesConfig') ?? {};
    const base = 'spec.defaultNetwork.ovnKubernetesConfig';
    const cidrAt = (v: unknown, field: string, fam: Family): Cidr | undefined => {
      if (v === undefined) return undefined;
      const c = network(parseCidr(v, { file: r.file, object: r.object, field }));
      if (c.family !== fam) r.fail(field, `${formatCidr(c)} is not an IPv${fam} prefix`);
      return c;
    };
    for (const fam of [4, 6] as const) {
      const v = r.obj(ok[`ipv${fam}`], `${base}.ipv${fam}`) ?? {};
      join[fam] = cidrAt(v.internalJoinSubnet, `${base}.ipv${fam}.internalJoinSubnet`, fam) ?? join[fam];
      transit[fam] = cidrAt(v.internalTransitSwitchSubnet, `${base}.ipv${fam}.internalTransitSwitchSubnet`, fam) ?? transit[fam];
      const gw = r.obj(r.obj(ok.gatewayConfig, `${base}.gatewayConfig`)?.[`ipv${fam}`], `${base}.gatewayConfig.ipv${fam}`) ?? {};
      masq[fam] = cidrAt(gw.internalMasqueradeSubnet, `${base}.gatewayConfig.ipv${fam}.internalMasqueradeSubnet`, fam) ?? masq[fam];
    }
    const ipsec = r.obj(ok.ipsecConfig, `${base}.ipsecConfig`);
    if (ipsec) {
      const mode = r.str(ipsec.mode, `${base}.ipsecConfig.mode`) ?? 'Full';
      if (!['Disabled', 'External', 'Full'].includes(mode)) r.fail(`${base}.ipsecConfig.mode`, `invalid mode ${JSON.stringify(mode)} (Disabled, External, Full)`);
      ipsecMode = mode;
    }
    const ho = r.obj(ok.hybridOverlayConfig, `${base}.hybridOverlayConfig`);
    if (ho) {
      hybridOverlay = {
        clusterNetworks: readNetworks(r, ho.hybridClusterNetwork, `${base}.hybridOverlayConfig.hybridClusterNetwork`),
        vxlanPort: r.int(ho.hybridOverlayVXLANPort, `${base}.hybridOverlayConfig.hybridOverlayVXLANPort`, 1, 65535) ?? OPENSHIFT_DEFAULTS.hybridVxlanPort,
      };
    }
    const pa = r.obj(ok.policyAuditConfig, `${base}.policyAuditConfig`);
    if (pa) {
      policyAudit.rateLimit = r.int(pa.rateLimit, `${base}.policyAuditConfig.rateLimit`, 1, 1_000_000) ?? policyAudit.rateLimit;
      policyAudit.maxFileSize = r.int(pa.maxFileSize, `${base}.policyAuditConfig.maxFileSize`, 1, 1_000_000) ?? policyAudit.maxFileSize;
      policyAudit.destination = r.str(pa.destination, `${base}.policyAuditConfig.destination`) ?? policyAudit.destination;
      policyAudit.syslogFacility = r.str(pa.syslogFacility, `${base}.policyAuditConfig.syslogFacility`) ?? policyAudit.syslogFacility;
    }
    mtu = r.int(ok.mtu, `${base}.mtu`, 576, 65000) ?? mtu;
    genevePort = r.int(ok.genevePort, `${base}.genevePort`, 1, 65535) ?? genevePort;
  }
  return {
    clusterNetworks,
    serviceNetworks,
    families,
    joinSubnet: join,
    transitSubnet: transit,
    masqueradeSubnet: masq,
    ipsec: ipsecMode === 'Full',
    ipsecMode,
    ...(hybridOverlay ? { hybridOverlay } : {}),
    policyAudit,
    mtu,
    genevePort,
  };
}

/** The reserved-range checks: cluster, service and hybrid networks must not overlap the join, transit or masquerade subnets (nor these each other). */
function checkReserved(c: ClusterConfig): void {
  const reserved: [string, Cidr][] = [];
  for (const f of [4, 6] as const) {
    reserved.push([`internalJoinSubnet`, c.joinSubnet[f]], [`internalTransitSwitchSubnet`, c.transitSubnet[f]], [`internalMasqueradeSubnet`, c.masqueradeSubnet[f]]);
  }
  for (let i = 0; i < reserved.length; i++) {
    for (let j = i + 1; j < reserved.length; j++) {
      const [a, ca] = reserved[i]!;
      const [b, cb] = reserved[j]!;
      if (overlaps(ca, cb)) throw new KubeError({ object: 'Network cluster' }, `${a} ${formatCidr(ca)} overlaps ${b} ${formatCidr(cb)}`);
    }
  }
  const user: [string, Cidr][] = [
    ...c.clusterNetworks.map((n): [string, Cidr] => ['clusterNetwork', n.cidr]),
    ...c.serviceNetworks.map((n): [string, Cidr] => ['serviceNetwork', n]),
    ...(c.hybridOverlay?.clusterNetworks ?? []).map((n): [string, Cidr] => ['hybridClusterNetwork', n.cidr]),
  ];
  checkAgainstReserved(user, reserved);
  for (let i = 0; i < user.length; i++) {
    for (let j = i + 1; j < user.length; j++) {
      if (overlaps(user[i]![1], user[j]![1])) throw new KubeError({ object: 'Network cluster' }, `${user[i]![0]} ${formatCidr(user[i]![1])} overlaps ${user[j]![0]} ${formatCidr(user[j]![1])}`);
    }
  }
}

function checkAgainstReserved(user: readonly [string, Cidr][], reserved: readonly [string, Cidr][], where: { file?: string; object?: string } = { object: 'Network cluster' }): void {
  for (const [un, uc] of user) {
    for (const [rn, rc] of reserved) {
      if (overlaps(uc, rc)) throw new KubeError(where, `${un} ${formatCidr(uc)} overlaps the reserved ${rn} ${formatCidr(rc)}`);
    }
  }
}

function parseNodeSubnets(r: FieldReader, v: string, field: string): Cidr[] {
  let o: unknown;
  try {
    o = JSON.parse(v);
  } catch {
    r.fail(field, `not JSON: ${JSON.stringify(v)} (expected {"default":["10.128.0.0/23"]})`);
  }
  const d = (r.obj(o, field) ?? {}).default;
  const list = typeof d === 'string' ? [d] : r.list(d, `${field}.default`);
  return list.map((s, i) => network(parseCidr(s, { file: r.file, object: r.object, field: `${field}.default[${i}]` })));
}

function readNodes(objs: readonly ManifestObject[], nns: ReadonlyMap<string, Raw>, config: ClusterConfig): NodeModel[] {
  const raws = objs.map((m) => meta(m, 'Node', false)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < raws.length; i++) if (raws[i]!.name === raws[i - 1]!.name) raws[i]!.r.fail('metadata.name', `node ${JSON.stringify(raws[i]!.name)} is defined twice`);
  for (const n of nns.keys()) {
    if (!raws.some((r) => r.name === n)) nns.get(n)!.r.fail('metadata.name', `no Node named ${JSON.stringify(n)} (a NodeNetworkState is named after its node)`);
  }
  const out: NodeModel[] = [];
  let linuxIdx = 0;
  let winIdx = 0;
  const used: Cidr[] = [];
  for (const { m, r, name } of raws) {
    const node = m.obj as Node;
    const md = node.metadata!;
    const labels = r.strMap(md.labels, 'metadata.labels');
    const ann = r.strMap(md.annotations, 'metadata.annotations');
    const windows = labels['kubernetes.io/os'] === 'windows';
    const ips: Partial<Record<Family, Ip>> = {};
    const status = r.obj(m.obj.status, 'status') ?? {};
    r.list(status.addresses, 'status.addresses').forEach((a, i) => {
      const ao = r.obj(a, `status.addresses[${i}]`) ?? {};
      if (r.str(ao.type, `status.addresses[${i}].type`) !== 'InternalIP') return;
      const ip = parseIp(ao.address, { file: r.file, object: r.object, field: `status.addresses[${i}].address` });
      ips[ip.family] ??= ip;
    });
    if (!ips[4] && !ips[6]) r.fail('status.addresses', 'a node needs an InternalIP address');
    const subnets: Partial<Record<Family, Cidr>> = {};
    if (windows) {
      const hs = ann['k8s.ovn.org/hybrid-overlay-node-subnet'];
      if (!config.hybridOverlay) r.fail('metadata.labels.kubernetes.io/os', 'a Windows node needs the hybrid overlay (operator Network spec.defaultNetwork.ovnKubernetesConfig.hybridOverlayConfig)');
      if (hs !== undefined) subnets[4] = network(parseCidr(hs, { file: r.file, object: r.object, field: 'metadata.annotations.k8s.ovn.org/hybrid-overlay-node-subnet' }));
      else {
        const hn = config.hybridOverlay?.clusterNetworks[0];
        const s = hn && nthSubnet(hn.cidr, hn.hostPrefix, winIdx);
        if (!s) r.fail('metadata.name', 'the hybrid cluster network has no subnet left for this node');
        subnets[4] = s;
      }
      winIdx++;
    } else {
      const ns = ann['k8s.ovn.org/node-subnets'];
      if (ns !== undefined) {
        for (const s of parseNodeSubnets(r, ns, 'metadata.annotations.k8s.ovn.org/node-subnets')) {
          if (!config.clusterNetworks.some((c) => overlaps(c.cidr, s))) r.fail('metadata.annotations.k8s.ovn.org/node-subnets', `${formatCidr(s)} is outside every clusterNetwork`);
          subnets[s.family] = s;
        }
      } else {
        for (const cn of config.clusterNetworks) {
          if (subnets[cn.cidr.family]) continue;
          let k = linuxIdx;
          let s = nthSubnet(cn.cidr, cn.hostPrefix, k);
          while (s && used.some((u) => overlaps(u, s!))) s = nthSubnet(cn.cidr, cn.hostPrefix, ++k);
          if (!s) r.fail('metadata.name', `clusterNetwork ${formatCidr(cn.cidr)} has no /${cn.hostPrefix} subnet left for this node`);
          subnets[cn.cidr.family] = s;
        }
      }
      for (const f of config.families) if (!subnets[f]) r.fail('metadata.annotations.k8s.ovn.org/node-subnets', `no IPv${f} subnet for this node in a cluster with an IPv${f} network`);
      used.push(...Object.values(subnets));
      linuxIdx++;
    }
    const host = hostNetwork(r, name, ips, ann, nns.get(name), config, windows);
    const chassis = ann['k8s.ovn.org/node-chassis-id'] ?? name;
    let hybridDrMac: string | undefined;
    if (windows && subnets[4]) {
      const m = ann['k8s.ovn.org/hybrid-overlay-distributed-router-gateway-mac'];
      if (m !== undefined && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(m)) r.fail('metadata.annotations.k8s.ovn.org/hybrid-overlay-distributed-router-gateway-mac', `not a MAC address: ${JSON.stringify(m)}`);
      hybridDrMac = m?.toLowerCase() ?? ipToMac(hostAt(subnets[4], 1), sha256);
    }
    out.push({ name, id: windows ? 0 : linuxIdx + 1, labels, ips, subnets, windows, chassis, ...(hybridDrMac ? { hybridDrMac } : {}), host, origin: { file: r.file, object: r.object } });
  }
  return out;
}

/** A node's host network: NodeNetworkState when given (with the node agent's gateway checks), else the l3-gateway-config annotation, else a /24 (/64) around the node address with gateway .1. */
function hostNetwork(
  r: FieldReader,
  name: string,
  ips: Partial<Record<Family, Ip>>,
  ann: Record<string, string>,
  nns: Raw | undefined,
  config: ClusterConfig,
  windows: boolean,
): HostNetwork {
  const mac = ipToMac(ips[4] ?? ips[6]!, sha256).replace(/^0a:58/, '52:54');
  if (nns) return fromNns(nns, ips, config, windows);
  const l3 = ann['k8s.ovn.org/l3-gateway-config'];
  if (l3 !== undefined) {
    const field = 'metadata.annotations.k8s.ovn.org/l3-gateway-config';
    let o: unknown;
    try {
      o = JSON.parse(l3);
    } catch {
      r.fail(field, 'not JSON');
    }
    const d = r.obj(r.obj(o, field)?.default, `${field}.default`) ?? r.fail(`${field}.default`, 'required field is missing');
    const addrs = r.list(d['ip-addresses'], `${field}.default.ip-addresses`).map((s, i) => parseCidr(s, { file: r.file, object: r.object, field: `${field}.default.ip-addresses[${i}]` }));
    const hops = r.list(d['next-hops'], `${field}.default.next-hops`).map((s, i) => parseIp(s, { file: r.file, object: r.object, field: `${field}.default.next-hops[${i}]` }));
    const ifname = r.str(d['interface-id'], `${field}.default.interface-id`)?.replace(/_.*$/, '') ?? 'br-ex';
    const h: HostNetwork = { gatewayInterface: {}, gateway: {}, address: {}, mac: r.str(d['mac-address'], `${field}.default.mac-address`) ?? mac, source: 'annotation' };
    for (const a of addrs) {
      (h.address as Record<number, Cidr>)[a.family] = a;
      (h.gatewayInterface as Record<number, string>)[a.family] = ifname;
    }
    for (const g of hops) (h.gateway as Record<number, Ip>)[g.family] = g;
    return h;
  }
  const h: HostNetwork = { gatewayInterface: {}, gateway: {}, address: {}, mac, source: 'default' };
  for (const f of [4, 6] as const) {
    const ip = ips[f];
    if (!ip) continue;
    const c = { ...ip, plen: f === 4 ? 24 : 64 };
    (h.address as Record<number, Cidr>)[f] = c;
    (h.gatewayInterface as Record<number, string>)[f] = 'br-ex';
    (h.gateway as Record<number, Ip>)[f] = { family: f, addr: network(c).addr + 1n };
  }
  void name;
  return h;
}

function fromNns(raw: Raw, ips: Partial<Record<Family, Ip>>, config: ClusterConfig, windows: boolean): HostNetwork {
  const { r } = raw;
  const cs = r.obj(r.obj(raw.m.obj.status, 'status')?.currentState, 'status.currentState') ?? r.fail('status.currentState', 'required field is missing');
  const ifaces = new Map<string, { mac: string; v4: Cidr[]; v6: Cidr[]; v6enabled: boolean }>();
  r.list(cs.interfaces, 'status.currentState.interfaces').forEach((x, i) => {
    const f = `status.currentState.interfaces[${i}]`;
    const o = r.obj(x, f) ?? {};
    const nm = r.reqStr(o.name, `${f}.name`);
    const addrs = (fam: 4 | 6) => {
      const ip = r.obj(o[`ipv${fam}`], `${f}.ipv${fam}`) ?? {};
      const enabled = r.bool(ip.enabled, `${f}.ipv${fam}.enabled`) ?? false;
      const list = r.list(ip.address, `${f}.ipv${fam}.address`).map((a, j) => {
        const ao = r.obj(a, `${f}.ipv${fam}.address[${j}]`) ?? {};
        const addr = parseIp(ao.ip, { file: r.file, object: r.object, field: `${f}.ipv${fam}.address[${j}].ip` });
        const plen = r.int(ao['prefix-length'], `${f}.ipv${fam}.address[${j}].prefix-length`, 0, fam === 4 ? 32 : 128) ?? (fam === 4 ? 24 : 64);
        return { ...addr, plen };
      });
      return { enabled, list };
    };
    const a4 = addrs(4);
    const a6 = addrs(6);
    ifaces.set(nm, { mac: (r.str(o['mac-address'], `${f}.mac-address`) ?? '').toLowerCase(), v4: a4.list, v6: a6.list, v6enabled: a6.enabled });
  });
  const h = { gatewayInterface: {} as Record<number, string>, gateway: {} as Record<number, Ip>, address: {} as Record<number, Cidr>, mac: '', source: 'NodeNetworkState' as const };
  const routes = r.obj(cs.routes, 'status.currentState.routes') ?? {};
  r.list(routes.running, 'status.currentState.routes.running').forEach((x, i) => {
    const f = `status.currentState.routes.running[${i}]`;
    const o = r.obj(x, f) ?? {};
    const dst = parseCidr(o.destination, { file: r.file, object: r.object, field: `${f}.destination` });
    if (dst.plen !== 0) return;
    const ifn = r.reqStr(o['next-hop-interface'], `${f}.next-hop-interface`);
    if (!ifaces.has(ifn)) r.fail(`${f}.next-hop-interface`, `no interface named ${JSON.stringify(ifn)} in status.currentState.interfaces`);
    if (h.gatewayInterface[dst.family] !== undefined) return;
    h.gatewayInterface[dst.family] = ifn;
    const nh = r.str(o['next-hop-address'], `${f}.next-hop-address`);
    if (nh !== undefined) h.gateway[dst.family] = parseIp(nh, { file: r.file, object: r.object, field: `${f}.next-hop-address` });
  });
  const need = windows ? [] : config.families;
  // The node agent's checks (gateway_init.go / helper_linux.go), with its messages.
  for (const f of need) {
    if (h.gatewayInterface[f] === undefined) throw new KubeError({ file: r.file, object: r.object, field: 'status.currentState.routes.running' }, 'failed to get default gateway interface');
  }
  if (need.length === 2 && h.gatewayInterface[4] !== h.gatewayInterface[6]) {
    throw new KubeError({ file: r.file, object: r.object, field: 'status.currentState.routes.running' }, `multiple gateway interfaces detected: ${h.gatewayInterface[4]} ${h.gatewayInterface[6]}`);
  }
  if (need.includes(6)) {
    const gi = ifaces.get(h.gatewayInterface[6]!)!;
    if (!gi.v6enabled) {
      throw new KubeError(
        { file: r.file, object: r.object, field: 'status.currentState.interfaces' },
        `IPv6 is disabled on ${h.gatewayInterface[6]} (ipv6.enabled: false) but the cluster network is IPv6: OVN-Kubernetes does not support disabling IPv6 on nodes (ipv6.disable=1)`,
      );
    }
  }
  for (const f of [4, 6] as const) {
    const ifn = h.gatewayInterface[f];
    if (ifn === undefined) continue;
    const gi = ifaces.get(ifn)!;
    h.mac ||= gi.mac;
    const list = f === 4 ? gi.v4 : gi.v6;
    const own = ips[f] ? list.find((a) => sameIp(a, ips[f]!)) : undefined;
    const a = own ?? list.find((x) => !(f === 6 && (x.addr >> 118n) === 0x3fan));
    if (a) h.address[f] = a;
    else if (ips[f]) h.address[f] = { ...ips[f]!, plen: f === 4 ? 24 : 64 };
    h.gateway[f] ??= { family: f, addr: network(h.address[f]!).addr + 1n };
  }
  h.mac ||= ipToMac(ips[4] ?? ips[6]!, sha256).replace(/^0a:58/, '52:54');
  // Host networks must not overlap OVN-Kubernetes's reserved ranges either.
  const reserved: [string, Cidr][] = [];
  for (const f of [4, 6] as const) reserved.push(['internalJoinSubnet', config.joinSubnet[f]], ['internalTransitSwitchSubnet', config.transitSubnet[f]], ['internalMasqueradeSubnet', config.masqueradeSubnet[f]]);
  checkAgainstReserved(
    Object.values(h.address).map((a): [string, Cidr] => ['node network', network(a)]),
    reserved,
    { file: r.file, object: r.object },
  );
  return h;
}

function containerPorts(r: FieldReader, containers: readonly Container[] | undefined, field: string): ContainerPort[] {
  const out: ContainerPort[] = [];
  r.list(containers, field).forEach((c, i) => {
    const co = r.obj(c, `${field}[${i}]`) ?? {};
    r.list(co.ports, `${field}[${i}].ports`).forEach((p, j) => {
      const f = `${field}[${i}].ports[${j}]`;
      const po = r.obj(p, f) ?? {};
      const port = r.int(po.containerPort, `${f}.containerPort`, 1, 65535) ?? r.fail(`${f}.containerPort`, 'required field is missing');
      const name = r.str(po.name, `${f}.name`);
      if (name !== undefined && !/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(name)) r.fail(`${f}.name`, `invalid port name ${JSON.stringify(name)} (IANA_SVC_NAME: at most 15 lowercase letters, digits and '-')`);
      out.push({ ...(name !== undefined ? { name } : {}), port, protocol: proto(r, po.protocol, `${f}.protocol`) });
    });
  });
  return out;
}

function readPods(objs: readonly ManifestObject[], routers: readonly EgressRouterModel[], nodes: ReadonlyMap<string, NodeModel>, config: ClusterConfig): PodModel[] {
  interface Pre {
    r: FieldReader;
    ns: string;
    name: string;
    uid: string;
    node: NodeModel;
    labels: Record<string, string>;
    hostNetwork: boolean;
    ips: Ip[];
    ports: ContainerPort[];
  }
  const pre: Pre[] = [];
  const seen = new Set<string>();
  for (const m of objs) {
    const { r, name, namespace } = meta(m, 'Pod', true);
    const pod = m.obj as Pod;
    const key = `${namespace}/${name}`;
    if (seen.has(key)) r.fail('metadata.name', `pod ${key} is defined twice`);
    seen.add(key);
    const spec = r.obj(pod.spec, 'spec') ?? r.fail('spec', 'required field is missing');
    const nodeName = r.str(spec.nodeName, 'spec.nodeName') ?? '';
    if (!nodeName) r.fail('spec.nodeName', 'the pod is not scheduled (spec.nodeName is required: the network model places each pod on its node)');
    const node = nodes.get(nodeName) ?? r.fail('spec.nodeName', `no Node named ${JSON.stringify(nodeName)}`);
    const hostNetwork = r.bool(spec.hostNetwork, 'spec.hostNetwork') ?? false;
    const ips: Ip[] = [];
    const st = r.obj(pod.status, 'status') ?? {};
    r.list(st.podIPs, 'status.podIPs').forEach((x, i) => {
      const o = r.obj(x, `status.podIPs[${i}]`) ?? {};
      ips.push(parseIp(o.ip, { file: r.file, object: r.object, field: `status.podIPs[${i}].ip` }));
    });
    if (!ips.length && typeof st.podIP === 'string') ips.push(parseIp(st.podIP, { file: r.file, object: r.object, field: 'status.podIP' }));
    if (!hostNetwork && !node.windows) {
      for (const [i, ip] of ips.entries()) {
        const sn = node.subnets[ip.family];
        if (!sn || !contains(sn, ip)) r.fail(`status.podIPs[${i}].ip`, `${formatIp(ip)} is outside node ${node.name}'s subnet${sn ? ` ${formatCidr(sn)}` : ''}`);
      }
    }
    pre.push({
      r,
      ns: namespace,
      name,
      uid: r.str(pod.metadata?.uid, 'metadata.uid') ?? createHash('sha1').update(key).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, '$1-$2-$3-$4-$5'),
      node,
      labels: r.strMap(pod.metadata?.labels, 'metadata.labels'),
      hostNetwork,
      ips,
      ports: containerPorts(r, spec.containers as Container[] | undefined, 'spec.containers'),
    });
  }
  for (const er of routers) {
    const [ns, name] = er.pod.split('/') as [string, string];
    if (seen.has(er.pod)) continue;
    const r = new FieldReader(er.origin.file, er.origin.object);
    const node = [...nodes.values()].find((n) => !n.windows) ?? r.fail('metadata.name', 'no Linux node to run the egress router pod on');
    pre.push({ r, ns, name, uid: createHash('sha1').update(er.pod).digest('hex').slice(0, 32), node, labels: { app: 'egress-router-cni' }, hostNetwork: false, ips: [], ports: [] });
  }
  // Addresses: status first (reserved), then allocation in input order.
  const taken = new Set<string>();
  for (const p of pre) for (const ip of p.ips) if (!p.hostNetwork) {
    const k = `${ip.family}/${ip.addr}`;
    if (taken.has(k)) p.r.fail('status.podIPs', `${formatIp(ip)} is already used by another pod`);
    taken.add(k);
  }
  const next = new Map<string, bigint>();
  const first = config.hybridOverlay ? 4n : 3n;
  const out: PodModel[] = [];
  for (const p of pre) {
    let ips = p.ips;
    if (p.hostNetwork) ips = config.families.map((f) => p.node.ips[f]).filter((x): x is Ip => !!x);
    else if (!ips.length) {
      const fams = p.node.windows ? ([4] as Family[]) : config.families;
      ips = fams.map((f) => {
        const sn = p.node.subnets[f]!;
        const k = `${p.node.name}/${f}`;
        let off = next.get(k) ?? first;
        while (taken.has(`${f}/${network(sn).addr + off}`)) off++;
        if (off >= size(sn) - 1n) p.r.fail('spec.nodeName', `node ${p.node.name}'s subnet ${formatCidr(sn)} has no free address left`);
        next.set(k, off + 1n);
        const ip = { family: f, addr: hostAt(sn, off).addr };
        taken.add(`${f}/${ip.addr}`);
        return ip;
      });
    }
    out.push({
      namespace: p.ns,
      name: p.name,
      uid: p.uid,
      node: p.node.name,
      labels: p.labels,
      hostNetwork: p.hostNetwork,
      ips,
      mac: p.hostNetwork ? p.node.host.mac : ipToMac(ips[0]!, sha256),
      ports: p.ports,
      origin: { file: p.r.file, object: p.r.object },
    });
  }
  return out;
}

function readServices(objs: readonly ManifestObject[], slices: readonly ManifestObject[], pods: readonly PodModel[], config: ClusterConfig): ServiceModel[] {
  const sliceBy = new Map<string, ManifestObject[]>();
  for (const m of slices) {
    const { r, namespace } = meta(m, 'EndpointSlice', true);
    const es = m.obj as unknown as EndpointSlice;
    const svc = r.strMap(es.metadata?.labels, 'metadata.labels')['kubernetes.io/service-name'] ?? r.fail('metadata.labels', 'an EndpointSlice needs the kubernetes.io/service-name label');
    const k = `${namespace}/${svc}`;
    let l = sliceBy.get(k);
    if (!l) sliceBy.set(k, (l = []));
    l.push(m);
  }
  const out: ServiceModel[] = [];
  const nextIp = new Map<number, bigint>();
  const usedIps = new Set<string>();
  let nextNodePort = 30000;
  const pre = objs.map((m) => meta(m, 'Service', true));
  for (const { m, r } of pre) {
    const spec = r.obj((m.obj as Service).spec, 'spec') ?? {};
    r.list(spec.clusterIPs, 'spec.clusterIPs').forEach((x, i) => {
      if (x === 'None') return;
      const ip = parseIp(x, { file: r.file, object: r.object, field: `spec.clusterIPs[${i}]` });
      usedIps.add(`${ip.family}/${ip.addr}`);
    });
    if (typeof spec.clusterIP === 'string' && spec.clusterIP !== 'None') {
      const ip = parseIp(spec.clusterIP, { file: r.file, object: r.object, field: 'spec.clusterIP' });
      usedIps.add(`${ip.family}/${ip.addr}`);
    }
  }
  for (const { m, r, name, namespace } of pre) {
    const svc = m.obj as Service;
    const spec = r.obj(svc.spec, 'spec') ?? r.fail('spec', 'required field is missing');
    const type = r.str(spec.type, 'spec.type') ?? 'ClusterIP';
    if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) r.fail('spec.type', `invalid type ${JSON.stringify(type)}`);
    if (type === 'ExternalName') continue;
    const fams = r.list(spec.ipFamilies, 'spec.ipFamilies').map((x, i) => {
      const s = r.reqStr(x, `spec.ipFamilies[${i}]`);
      if (s !== 'IPv4' && s !== 'IPv6') r.fail(`spec.ipFamilies[${i}]`, `invalid family ${JSON.stringify(s)} (IPv4, IPv6)`);
      return (s === 'IPv4' ? 4 : 6) as Family;
    });
    const policy = r.str(spec.ipFamilyPolicy, 'spec.ipFamilyPolicy') ?? 'SingleStack';
    if (!['SingleStack', 'PreferDualStack', 'RequireDualStack'].includes(policy)) r.fail('spec.ipFamilyPolicy', `invalid policy ${JSON.stringify(policy)}`);
    if (policy === 'RequireDualStack' && config.families.length < 2) r.fail('spec.ipFamilyPolicy', 'RequireDualStack in a single-stack cluster');
    let families: Family[] = fams.length ? fams : policy === 'SingleStack' ? [config.families[0]!] : [...config.families];
    for (const f of families) if (!config.families.includes(f)) r.fail('spec.ipFamilies', `IPv${f} is not a family of the cluster`);
    if (policy === 'SingleStack') families = families.slice(0, 1);
    const given: Ip[] = [];
    const gl = r.list(spec.clusterIPs, 'spec.clusterIPs');
    gl.forEach((x, i) => {
      if (x !== 'None') given.push(parseIp(x, { file: r.file, object: r.object, field: `spec.clusterIPs[${i}]` }));
    });
    if (!given.length && typeof spec.clusterIP === 'string' && spec.clusterIP !== 'None') given.push(parseIp(spec.clusterIP, { file: r.file, object: r.object, field: 'spec.clusterIP' }));
    if (spec.clusterIP === 'None') continue; // headless: no load balancer
    const clusterIPs = families.map((f, i) => {
      const g = given.find((x) => x.family === f);
      const sn = config.serviceNetworks.find((s) => s.family === f)!;
      if (g) {
        if (!contains(sn, g)) r.fail(`spec.clusterIPs[${i}]`, `${formatIp(g)} is outside serviceNetwork ${formatCidr(sn)}`);
        return g;
      }
      let off = nextIp.get(f) ?? 10n;
      while (usedIps.has(`${f}/${network(sn).addr + off}`)) off++;
      nextIp.set(f, off + 1n);
      return { family: f, addr: network(sn).addr + off };
    });
    const ports: ServicePort[] = r.list(spec.ports, 'spec.ports').map((x, i) => {
      const f = `spec.ports[${i}]`;
      const o = r.obj(x, f) ?? {};
      const port = r.int(o.port, `${f}.port`, 1, 65535) ?? r.fail(`${f}.port`, 'required field is missing');
      let targetPort: number | string = port;
      if (typeof o.targetPort === 'number') targetPort = r.int(o.targetPort, `${f}.targetPort`, 1, 65535)!;
      else if (typeof o.targetPort === 'string') targetPort = /^\d+$/.test(o.targetPort) ? Number(o.targetPort) : o.targetPort;
      else if (o.targetPort !== undefined) r.fail(`${f}.targetPort`, 'expected a port number or name');
      let nodePort = r.int(o.nodePort, `${f}.nodePort`, 30000, 32767);
      if (type !== 'ClusterIP' && nodePort === undefined) nodePort = nextNodePort++;
      return { name: r.str(o.name, `${f}.name`) ?? '', protocol: proto(r, o.protocol, `${f}.protocol`), port, targetPort, ...(type !== 'ClusterIP' ? { nodePort: nodePort! } : {}) };
    });
    const selector = spec.selector === undefined ? undefined : r.strMap(spec.selector, 'spec.selector');
    let affinityTimeout: number | undefined;
    const sa = r.str(spec.sessionAffinity, 'spec.sessionAffinity') ?? 'None';
    if (sa !== 'None' && sa !== 'ClientIP') r.fail('spec.sessionAffinity', `invalid value ${JSON.stringify(sa)} (None, ClientIP)`);
    if (sa === 'ClientIP') {
      const cfg = r.obj(r.obj(r.obj(spec.sessionAffinityConfig, 'spec.sessionAffinityConfig')?.clientIP, 'spec.sessionAffinityConfig.clientIP'), 'spec.sessionAffinityConfig.clientIP') ?? {};
      affinityTimeout = r.int(cfg.timeoutSeconds, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 1, 86400) ?? 10800;
    }
    const key = `${namespace}/${name}`;
    const endpoints = sliceBy.has(key) ? endpointsFromSlices(sliceBy.get(key)!, ports, pods) : selector ? endpointsFromSelector(r, namespace, selector, ports, pods) : [];
    out.push({ namespace, name, type, clusterIPs, ports, ...(selector ? { selector } : {}), ...(affinityTimeout !== undefined ? { affinityTimeout } : {}), endpoints, origin: { file: r.file, object: r.object } });
  }
  return out;
}

function endpointsFromSlices(slices: readonly ManifestObject[], ports: readonly ServicePort[], pods: readonly PodModel[]): Endpoint[] {
  const out: Endpoint[] = [];
  for (const m of slices) {
    const { r } = meta(m, 'EndpointSlice', true);
    const es = m.obj as unknown as EndpointSlice;
    const pm = new Map<string, number>();
    r.list(es.ports, 'ports').forEach((x, i) => {
      const o = r.obj(x, `ports[${i}]`) ?? {};
      const port = r.int(o.port, `ports[${i}].port`, 1, 65535);
      if (port !== undefined) pm.set(r.str(o.name, `ports[${i}].name`) ?? '', port);
    });
    for (const p of ports) if (!pm.has(p.name) && typeof p.targetPort === 'number') pm.set(p.name, p.targetPort);
    r.list(es.endpoints, 'endpoints').forEach((x, i) => {
      const o = r.obj(x, `endpoints[${i}]`) ?? {};
      const cond = r.obj(o.conditions, `endpoints[${i}].conditions`) ?? {};
      if (r.bool(cond.ready, `endpoints[${i}].conditions.ready`) === false) return;
      const ref = r.obj(o.targetRef, `endpoints[${i}].targetRef`);
      r.list(o.addresses, `endpoints[${i}].addresses`).forEach((a, j) => {
        const ip = parseIp(a, { file: r.file, object: r.object, field: `endpoints[${i}].addresses[${j}]` });
        const pod = ref && ref.kind === 'Pod' ? `${(ref.namespace as string) ?? ''}/${(ref.name as string) ?? ''}` : pods.find((p) => p.ips.some((x) => sameIp(x, ip)) && !p.hostNetwork)?.namespace;
        const owner = pods.find((p) => p.ips.some((x) => sameIp(x, ip)));
        out.push({ ip, ...(owner ? { pod: `${owner.namespace}/${owner.name}` } : pod && pod.includes('/') ? { pod } : {}), ports: pm });
      });
    });
  }
  return out;
}

function endpointsFromSelector(r: FieldReader, ns: string, selector: Record<string, string>, ports: readonly ServicePort[], pods: readonly PodModel[]): Endpoint[] {
  const sel: Selector = { reqs: Object.entries(selector).map(([key, v]) => ({ key, op: 'In' as const, values: [v] })) };
  const out: Endpoint[] = [];
  for (const p of pods) {
    if (p.namespace !== ns || !matches(sel, p.labels)) continue;
    const pm = new Map<string, number>();
    for (const sp of ports) {
      if (typeof sp.targetPort === 'number') pm.set(sp.name, sp.targetPort);
      else {
        const cp = p.ports.find((c) => c.name === sp.targetPort && c.protocol === sp.protocol);
        if (cp) pm.set(sp.name, cp.port);
      }
    }
    for (const ip of p.ips) out.push({ ip, pod: `${p.namespace}/${p.name}`, ports: pm });
  }
  void r;
  return out;
}

function readPeer(r: FieldReader, v: unknown, field: string): PolicyPeer {
  const o = (r.obj(v, field) ?? r.fail(field, 'expected a mapping')) as NetworkPolicyPeer & Obj;
  for (const k of Object.keys(o)) if (!['podSelector', 'namespaceSelector', 'ipBlock'].includes(k)) r.fail(`${field}.${k}`, 'unknown field of a NetworkPolicyPeer');
  const podSelector = readSelector(r, o.podSelector, `${field}.podSelector`);
  const namespaceSelector = readSelector(r, o.namespaceSelector, `${field}.namespaceSelector`);
  const ib = r.obj(o.ipBlock, `${field}.ipBlock`);
  if (ib && (podSelector || namespaceSelector)) r.fail(`${field}.ipBlock`, 'ipBlock may not be combined with podSelector or namespaceSelector');
  if (!ib && !podSelector && !namespaceSelector) r.fail(field, 'a peer needs podSelector, namespaceSelector or ipBlock');
  let ipBlock: PolicyPeer['ipBlock'];
  if (ib) {
    const cidr = network(parseCidr(ib.cidr, { file: r.file, object: r.object, field: `${field}.ipBlock.cidr` }));
    const except = r.list(ib.except, `${field}.ipBlock.except`).map((e, i) => {
      const c = network(parseCidr(e, { file: r.file, object: r.object, field: `${field}.ipBlock.except[${i}]` }));
      if (c.family !== cidr.family || c.plen < cidr.plen || !contains(cidr, c)) r.fail(`${field}.ipBlock.except[${i}]`, `${formatCidr(c)} is not inside ${formatCidr(cidr)}`);
      return c;
    });
    ipBlock = { cidr, except };
  }
  return { ...(podSelector ? { podSelector } : {}), ...(namespaceSelector ? { namespaceSelector } : {}), ...(ipBlock ? { ipBlock } : {}) };
}

function readPolicyPort(r: FieldReader, v: unknown, field: string): PolicyPort {
  const o = (r.obj(v, field) ?? r.fail(field, 'expected a mapping')) as NetworkPolicyPort & Obj;
  const protocol = proto(r, o.protocol, `${field}.protocol`);
  let port: number | string | undefined;
  if (typeof o.port === 'number') port = r.int(o.port, `${field}.port`, 1, 65535)!;
  else if (typeof o.port === 'string') {
    if (/^\d+$/.test(o.port)) port = r.int(Number(o.port), `${field}.port`, 1, 65535)!;
    else if (!/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(o.port)) r.fail(`${field}.port`, `invalid port name ${JSON.stringify(o.port)}`);
    else port = o.port;
  } else if (o.port !== undefined && o.port !== null) r.fail(`${field}.port`, 'expected a port number or name');
  const endPort = r.int(o.endPort, `${field}.endPort`, 1, 65535);
  if (endPort !== undefined) {
    if (typeof port !== 'number') r.fail(`${field}.endPort`, 'endPort needs a numeric port');
    if (endPort < port) r.fail(`${field}.endPort`, `endPort ${endPort} is below port ${port}`);
  }
  return { protocol, ...(port !== undefined ? { port } : {}), ...(endPort !== undefined ? { endPort } : {}) };
}

function readRules(r: FieldReader, v: unknown, field: string, peerKey: 'from' | 'to'): PolicyRule[] {
  return r.list(v, field).map((x, i) => {
    const o = r.obj(x, `${field}[${i}]`) ?? {};
    for (const k of Object.keys(o)) if (k !== peerKey && k !== 'ports') r.fail(`${field}[${i}].${k}`, `unknown field of a ${field === 'spec.ingress' ? 'NetworkPolicyIngressRule' : 'NetworkPolicyEgressRule'}`);
    return {
      peers: r.list(o[peerKey], `${field}[${i}].${peerKey}`).map((p, j) => readPeer(r, p, `${field}[${i}].${peerKey}[${j}]`)),
      ports: r.list(o.ports, `${field}[${i}].ports`).map((p, j) => readPolicyPort(r, p, `${field}[${i}].ports[${j}]`)),
    };
  });
}

function readPolicy(m: ManifestObject): PolicyModel {
  const { r, name, namespace } = meta(m, 'NetworkPolicy', true);
  const np = m.obj as NetworkPolicy;
  const spec = (r.obj(np.spec, 'spec') ?? r.fail('spec', 'required field is missing')) as Obj;
  for (const k of Object.keys(spec)) if (!['podSelector', 'ingress', 'egress', 'policyTypes'].includes(k)) r.fail(`spec.${k}`, 'unknown field of a NetworkPolicySpec');
  const podSelector = readSelector(r, spec.podSelector, 'spec.podSelector') ?? r.fail('spec.podSelector', 'required field is missing (use {} to select every pod of the namespace)');
  const ingress = readRules(r, spec.ingress, 'spec.ingress', 'from');
  const egress = readRules(r, spec.egress, 'spec.egress', 'to');
  const pt = r.list(spec.policyTypes, 'spec.policyTypes').map((x, i) => {
    const s = r.reqStr(x, `spec.policyTypes[${i}]`);
    if (s !== 'Ingress' && s !== 'Egress') r.fail(`spec.policyTypes[${i}]`, `invalid policy type ${JSON.stringify(s)} (Ingress, Egress)`);
    return s as 'Ingress' | 'Egress';
  });
  const explicit = pt.length > 0;
  // API server defaulting: Ingress always, Egress when there are egress rules.
  const policyTypes: ('Ingress' | 'Egress')[] = explicit ? [...new Set(pt)] : spec.egress !== undefined && egress.length ? ['Ingress', 'Egress'] : ['Ingress'];
  const ann = r.strMap(np.metadata?.annotations, 'metadata.annotations');
  return {
    namespace,
    name,
    podSelector,
    policyTypes,
    policyTypesExplicit: explicit,
    ingress,
    egress,
    stateless: ann['k8s.ovn.org/acl-stateless'] === 'true',
    origin: { file: r.file, object: r.object },
  };
}

function readEgressIp(m: ManifestObject, nodes: readonly NodeModel[]): EgressIpModel {
  const { r, name } = meta(m, 'EgressIP', false);
  const spec = r.obj(m.obj.spec, 'spec') ?? r.fail('spec', 'required field is missing');
  const ips = r.list(spec.egressIPs, 'spec.egressIPs').map((x, i) => parseIp(x, { file: r.file, object: r.object, field: `spec.egressIPs[${i}]` }));
  if (!ips.length) r.fail('spec.egressIPs', 'at least one egress IP is required');
  const namespaceSelector = readSelector(r, spec.namespaceSelector, 'spec.namespaceSelector') ?? r.fail('spec.namespaceSelector', 'required field is missing');
  const podSelector = readSelector(r, spec.podSelector, 'spec.podSelector') ?? { reqs: [] };
  const assignments: { ip: Ip; node: string }[] = [];
  const st = r.obj(m.obj.status, 'status') ?? {};
  r.list(st.items, 'status.items').forEach((x, i) => {
    const o = r.obj(x, `status.items[${i}]`) ?? {};
    const node = r.reqStr(o.node, `status.items[${i}].node`);
    if (!nodes.some((n) => n.name === node)) r.fail(`status.items[${i}].node`, `no Node named ${JSON.stringify(node)}`);
    assignments.push({ ip: parseIp(o.egressIP, { file: r.file, object: r.object, field: `status.items[${i}].egressIP` }), node });
  });
  for (const ip of ips) {
    if (assignments.some((a) => sameIp(a.ip, ip))) continue;
    const n = nodes.find((x) => !x.windows && 'k8s.ovn.org/egress-assignable' in x.labels && x.host.address[ip.family] && contains(network(x.host.address[ip.family]!), ip));
    if (n) assignments.push({ ip, node: n.name });
  }
  return { name, ips, namespaceSelector, podSelector, assignments, origin: { file: r.file, object: r.object } };
}

function readEgressFirewall(m: ManifestObject): EgressFirewallModel {
  const { r, name, namespace } = meta(m, 'EgressFirewall', true);
  if (name !== 'default') r.fail('metadata.name', `an EgressFirewall must be named "default" (got ${JSON.stringify(name)})`);
  const spec = r.obj(m.obj.spec, 'spec') ?? r.fail('spec', 'required field is missing');
  const rules = r.list(spec.egress, 'spec.egress').map((x, i) => {
    const f = `spec.egress[${i}]`;
    const o = r.obj(x, f) ?? {};
    const type = r.reqStr(o.type, `${f}.type`);
    if (type !== 'Allow' && type !== 'Deny') r.fail(`${f}.type`, `invalid type ${JSON.stringify(type)} (Allow, Deny)`);
    const to = r.obj(o.to, `${f}.to`) ?? r.fail(`${f}.to`, 'required field is missing');
    const set = ['cidrSelector', 'dnsName', 'nodeSelector'].filter((k) => to[k] !== undefined);
    if (set.length !== 1) r.fail(`${f}.to`, 'exactly one of cidrSelector, dnsName and nodeSelector is required');
    const cidr = to.cidrSelector !== undefined ? network(parseCidr(to.cidrSelector, { file: r.file, object: r.object, field: `${f}.to.cidrSelector` })) : undefined;
    let dnsName = r.str(to.dnsName, `${f}.to.dnsName`);
    if (dnsName !== undefined) {
      dnsName = dnsName.toLowerCase();
      if (!/^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?\.?$/.test(dnsName)) r.fail(`${f}.to.dnsName`, `invalid DNS name ${JSON.stringify(dnsName)}`);
    }
    const nodeSelector = readSelector(r, to.nodeSelector, `${f}.to.nodeSelector`);
    const ports = r.list(o.ports, `${f}.ports`).map((p, j) => {
      const po = r.obj(p, `${f}.ports[${j}]`) ?? {};
      const port = r.int(po.port, `${f}.ports[${j}].port`, 1, 65535);
      return { protocol: proto(r, po.protocol, `${f}.ports[${j}].protocol`), ...(port !== undefined ? { port } : {}) };
    });
    return { type: type as 'Allow' | 'Deny', to: { ...(cidr ? { cidr } : {}), ...(dnsName ? { dnsName } : {}), ...(nodeSelector ? { nodeSelector } : {}) }, ports };
  });
  if (rules.length > 8000) r.fail('spec.egress', 'at most 8000 rules');
  return { namespace, rules, origin: { file: r.file, object: r.object } };
}

function readEgressRouter(m: ManifestObject, nodes: readonly NodeModel[]): EgressRouterModel {
  const { r, name, namespace } = meta(m, 'EgressRouter', true);
  const spec = r.obj(m.obj.spec, 'spec') ?? r.fail('spec', 'required field is missing');
  const mode = r.str(spec.mode, 'spec.mode') ?? 'Redirect';
  if (mode !== 'Redirect') r.fail('spec.mode', `only Redirect mode exists (got ${JSON.stringify(mode)})`);
  const addrs = r.list(spec.addresses, 'spec.addresses');
  if (!addrs.length) r.fail('spec.addresses', 'one address is required');
  const a0 = r.obj(addrs[0], 'spec.addresses[0]') ?? {};
  const address = parseCidr(a0.ip, { file: r.file, object: r.object, field: 'spec.addresses[0].ip' });
  const gateway = parseIp(a0.gateway, { file: r.file, object: r.object, field: 'spec.addresses[0].gateway' });
  if (!contains(address, gateway)) r.fail('spec.addresses[0].gateway', `${formatIp(gateway)} is not on ${formatCidr(address)}`);
  const red = r.obj(spec.redirect, 'spec.redirect') ?? r.fail('spec.redirect', 'required field is missing');
  const rules = r.list(red.redirectRules, 'spec.redirect.redirectRules').map((x, i) => {
    const f = `spec.redirect.redirectRules[${i}]`;
    const o = r.obj(x, f) ?? {};
    const port = r.int(o.port, `${f}.port`, 1, 65535) ?? r.fail(`${f}.port`, 'required field is missing');
    return {
      destination: parseIp(o.destinationIP, { file: r.file, object: r.object, field: `${f}.destinationIP` }),
      port,
      protocol: proto(r, o.protocol, `${f}.protocol`),
      targetPort: r.int(o.targetPort, `${f}.targetPort`, 1, 65535) ?? port,
    };
  });
  const fb = r.str(red.fallbackIP, 'spec.redirect.fallbackIP');
  if (!rules.length && fb === undefined) r.fail('spec.redirect', 'redirectRules or fallbackIP is required');
  void nodes;
  return {
    namespace,
    name,
    address,
    gateway,
    rules,
    ...(fb !== undefined ? { fallback: parseIp(fb, { file: r.file, object: r.object, field: 'spec.redirect.fallbackIP' }) } : {}),
    pod: `${namespace}/egress-router-cni-${name}`,
    origin: { file: r.file, object: r.object },
  };
}

/** Whether an address is any pod's (pod network) in the cluster. */
export function podByIp(c: ClusterModel, ip: Ip): PodModel | undefined {
  return c.pods.find((p) => !p.hostNetwork && p.ips.some((x) => sameIp(x, ip)));
}

/** Parse a bare IP, for command-line use. */
export function ipOrUndefined(s: string): Ip | undefined {
  return tryParseIp(s);
}
