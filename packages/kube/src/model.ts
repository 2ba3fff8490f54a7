/**
 * The cluster as the Kubernetes layer understands it after reading and validating the manifests:
 * networks with OpenShift's defaults, nodes with their subnets and host network, namespaces,
 * pods with addresses, services with endpoints, and the policy objects. Everything the
 * translation to OVN needs is resolved here (subnets allocated, pod IPs assigned, endpoints
 * derived), so translation never fails half-way.
 */
import type { Cidr, Family, Ip } from './net.js';
import type { Selector } from './labels.js';

/** Where an object came from (for messages). */
export interface Origin {
  /** File. */
  readonly file: string;
  /** Object label (`Pod x/a`). */
  readonly object: string;
}

/** A cluster network entry (`clusterNetwork[i]`). */
export interface ClusterNetwork {
  /** The prefix. */
  readonly cidr: Cidr;
  /** Per-node prefix length. */
  readonly hostPrefix: number;
}

/** Cluster-wide configuration (config.openshift.io and operator.openshift.io `Network`). */
export interface ClusterConfig {
  /** Pod networks, primary family first. */
  readonly clusterNetworks: readonly ClusterNetwork[];
  /** Service networks, same family order. */
  readonly serviceNetworks: readonly Cidr[];
  /** Address families in primary-first order. */
  readonly families: readonly Family[];
  /** `internalJoinSubnet` per family. */
  readonly joinSubnet: Readonly<Record<Family, Cidr>>;
  /** `internalTransitSwitchSubnet` per family. */
  readonly transitSubnet: Readonly<Record<Family, Cidr>>;
  /** `gatewayConfig.ipvN.internalMasqueradeSubnet` per family. */
  readonly masqueradeSubnet: Readonly<Record<Family, Cidr>>;
  /** `ipsecConfig.mode` is `Full`. */
  readonly ipsec: boolean;
  /** `ipsecConfig.mode` as given (`Disabled`, `External`, `Full`). */
  readonly ipsecMode: string;
  /** Hybrid overlay configuration, when enabled. */
  readonly hybridOverlay?: { readonly clusterNetworks: readonly ClusterNetwork[]; readonly vxlanPort: number };
  /** `policyAuditConfig`. */
  readonly policyAudit: { readonly rateLimit: number; readonly destination: string; readonly syslogFacility: string; readonly maxFileSize: number };
  /** MTU of the overlay. */
  readonly mtu: number;
  /** Geneve UDP port. */
  readonly genevePort: number;
}

/** A host interface address. */
export interface HostAddress {
  /** Interface. */
  readonly ifname: string;
  /** Address with its prefix length. */
  readonly cidr: Cidr;
}

/** A node's host network (from NodeNetworkState, the l3-gateway-config annotation, or defaults). */
export interface HostNetwork {
  /** Default-route interface per family present. */
  readonly gatewayInterface: Partial<Record<Family, string>>;
  /** Default gateway per family. */
  readonly gateway: Partial<Record<Family, Ip>>;
  /** The gateway interface's address per family (what the GR's external port gets). */
  readonly address: Partial<Record<Family, Cidr>>;
  /** MAC of the gateway interface. */
  readonly mac: string;
  /** Where it came from: `NodeNetworkState`, `annotation` or `default`. */
  readonly source: 'NodeNetworkState' | 'annotation' | 'default';
}

/** A node. */
export interface NodeModel {
  /** Name. */
  readonly name: string;
  /** OVN-Kubernetes node id (2, 3, ... in name order among Linux nodes). */
  readonly id: number;
  /** Labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** InternalIP addresses per family. */
  readonly ips: Partial<Record<Family, Ip>>;
  /** Host subnet per family (Linux) or hybrid-overlay subnet (Windows). */
  readonly subnets: Partial<Record<Family, Cidr>>;
  /** Windows node (reached over the hybrid overlay). */
  readonly windows: boolean;
  /** OVN chassis name: the `k8s.ovn.org/node-chassis-id` annotation, else the node name. */
  readonly chassis: string;
  /** Windows nodes: the distributed-router MAC of their hybrid overlay (`k8s.ovn.org/hybrid-overlay-distributed-router-gateway-mac`, else derived from the subnet's first address). */
  readonly hybridDrMac?: string;
  /** Host network. */
  readonly host: HostNetwork;
  /** Origin. */
  readonly origin: Origin;
}

/** A namespace. */
export interface NamespaceModel {
  /** Name. */
  readonly name: string;
  /** Labels (with `kubernetes.io/metadata.name`). */
  readonly labels: Readonly<Record<string, string>>;
  /** Annotations. */
  readonly annotations: Readonly<Record<string, string>>;
  /** `k8s.ovn.org/multicast-enabled` is "true". */
  readonly multicast: boolean;
  /** `k8s.ovn.org/acl-logging` severities. */
  readonly aclLogging: { readonly allow?: string; readonly deny?: string };
}

/** A container port. */
export interface ContainerPort {
  /** Name, if any. */
  readonly name?: string;
  /** Port. */
  readonly port: number;
  /** TCP, UDP or SCTP. */
  readonly protocol: Proto;
}

/** L4 protocol as Kubernetes names it. */
export type Proto = 'TCP' | 'UDP' | 'SCTP';

/** A pod. */
export interface PodModel {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** UID. */
  readonly uid: string;
  /** Node name. */
  readonly node: string;
  /** Labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** Host-network pod (uses the node's addresses, no logical port). */
  readonly hostNetwork: boolean;
  /** Addresses, primary family first. */
  readonly ips: readonly Ip[];
  /** MAC (`0a:58:...`), for pod-network pods. */
  readonly mac: string;
  /** Container ports. */
  readonly ports: readonly ContainerPort[];
  /** Origin. */
  readonly origin: Origin;
}

/** A service port. */
export interface ServicePort {
  /** Name. */
  readonly name: string;
  /** Protocol. */
  readonly protocol: Proto;
  /** Service port. */
  readonly port: number;
  /** Target port (number or container port name). */
  readonly targetPort: number | string;
  /** NodePort, for NodePort/LoadBalancer services. */
  readonly nodePort?: number;
}

/** An endpoint address of a service. */
export interface Endpoint {
  /** Address. */
  readonly ip: Ip;
  /** Backend pod (`ns/name`), if known. */
  readonly pod?: string;
  /** Port per service port name. */
  readonly ports: ReadonlyMap<string, number>;
}

/** A service. */
export interface ServiceModel {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** ClusterIP, NodePort, LoadBalancer, ExternalName. */
  readonly type: string;
  /** Cluster IPs (primary first). */
  readonly clusterIPs: readonly Ip[];
  /** Ports. */
  readonly ports: readonly ServicePort[];
  /** Selector (undefined: endpoints are managed elsewhere). */
  readonly selector?: Readonly<Record<string, string>>;
  /** ClientIP affinity timeout in seconds (undefined: no affinity). */
  readonly affinityTimeout?: number;
  /** Endpoints. */
  readonly endpoints: readonly Endpoint[];
  /** Origin. */
  readonly origin: Origin;
}

/** A NetworkPolicy port. */
export interface PolicyPort {
  /** Protocol (default TCP). */
  readonly protocol: Proto;
  /** Port number, name, or undefined for every port. */
  readonly port?: number | string;
  /** End of a port range. */
  readonly endPort?: number;
}

/** A NetworkPolicy peer. */
export interface PolicyPeer {
  /** podSelector. */
  readonly podSelector?: Selector;
  /** namespaceSelector. */
  readonly namespaceSelector?: Selector;
  /** ipBlock. */
  readonly ipBlock?: { readonly cidr: Cidr; readonly except: readonly Cidr[] };
}

/** One ingress or egress rule. */
export interface PolicyRule {
  /** Peers (`from`/`to`); empty: every peer. */
  readonly peers: readonly PolicyPeer[];
  /** Ports; empty: every port. */
  readonly ports: readonly PolicyPort[];
}

/** A NetworkPolicy. */
export interface PolicyModel {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** spec.podSelector. */
  readonly podSelector: Selector;
  /** Effective policyTypes (API defaulting applied). */
  readonly policyTypes: readonly ('Ingress' | 'Egress')[];
  /** Whether policyTypes was given explicitly. */
  readonly policyTypesExplicit: boolean;
  /** Ingress rules. */
  readonly ingress: readonly PolicyRule[];
  /** Egress rules. */
  readonly egress: readonly PolicyRule[];
  /** `k8s.ovn.org/acl-stateless: "true"`. */
  readonly stateless: boolean;
  /** Origin. */
  readonly origin: Origin;
}

/** An EgressIP. */
export interface EgressIpModel {
  /** Name. */
  readonly name: string;
  /** Egress IPs. */
  readonly ips: readonly Ip[];
  /** namespaceSelector. */
  readonly namespaceSelector: Selector;
  /** podSelector (empty: all pods). */
  readonly podSelector: Selector;
  /** Assignment egress IP -> node. */
  readonly assignments: readonly { readonly ip: Ip; readonly node: string }[];
  /** Origin. */
  readonly origin: Origin;
}

/** An EgressFirewall rule. */
export interface EgressFirewallRule {
  /** Allow or Deny. */
  readonly type: 'Allow' | 'Deny';
  /** Destination. */
  readonly to: { readonly cidr?: Cidr; readonly dnsName?: string; readonly nodeSelector?: Selector };
  /** Ports (empty: all). */
  readonly ports: readonly { readonly protocol: Proto; readonly port?: number }[];
}

/** An EgressFirewall (one per namespace, named `default`). */
export interface EgressFirewallModel {
  /** Namespace. */
  readonly namespace: string;
  /** Rules in order. */
  readonly rules: readonly EgressFirewallRule[];
  /** Origin. */
  readonly origin: Origin;
}

/** An EgressRouter in redirect mode. */
export interface EgressRouterModel {
  /** Namespace. */
  readonly namespace: string;
  /** Name. */
  readonly name: string;
  /** Reserved address on the host network (macvlan) and its gateway. */
  readonly address: Cidr;
  /** Gateway. */
  readonly gateway: Ip;
  /** Redirect rules. */
  readonly rules: readonly { readonly destination: Ip; readonly port: number; readonly protocol: Proto; readonly targetPort: number }[];
  /** Fallback destination. */
  readonly fallback?: Ip;
  /** The pod that runs it (`ns/name`). */
  readonly pod: string;
  /** Origin. */
  readonly origin: Origin;
}

/** The whole cluster. */
export interface ClusterModel {
  /** Configuration. */
  readonly config: ClusterConfig;
  /** Nodes by name order (Linux and Windows). */
  readonly nodes: readonly NodeModel[];
  /** Namespaces by name. */
  readonly namespaces: ReadonlyMap<string, NamespaceModel>;
  /** Pods in input order. */
  readonly pods: readonly PodModel[];
  /** Services. */
  readonly services: readonly ServiceModel[];
  /** NetworkPolicies. */
  readonly policies: readonly PolicyModel[];
  /** EgressIPs. */
  readonly egressIPs: readonly EgressIpModel[];
  /** EgressFirewalls. */
  readonly egressFirewalls: readonly EgressFirewallModel[];
  /** EgressRouters. */
  readonly egressRouters: readonly EgressRouterModel[];
  /** Objects that were read but play no part (other kinds), one line each. */
  readonly ignored: readonly string[];
}
