/**
 * Typed northbound rows (ovn-nb(5), OVN 23.03). Property names are the OVSDB column names, so a
 * row reads like `ovn-nbctl list`; values are typed (numbers, booleans, `ReadonlyMap`s for map
 * columns, parsed addresses) and references are resolved to the referenced row objects. Derived,
 * typed views of `options`/`other_config` keys are camelCase (`ls.config.subnet`,
 * `acl.applyAfterLb`). Optional columns (OVSDB sets of at most one element) are `undefined` when
 * empty.
 */
import type { IpAddr, IpPort, IpPrefix, Ip4Range, LspAddress, MacIps, PortRange } from './addresses.js';

/** Fields every typed row has. */
export interface NbRow {
  /** The row's uuid. */
  readonly uuid: string;
}

/** Rows with external_ids. */
export interface HasExternalIds {
  /** Free-form key/value pairs for the CMS. */
  readonly external_ids: ReadonlyMap<string, string>;
}

/** NB_Global: the singleton with global options. */
export interface NbGlobal extends NbRow, HasExternalIds {
  /** Name (informational). */
  readonly name: string;
  /** Sequence number requested by the CMS. */
  readonly nb_cfg: number;
  /** Sequence number ovn-northd has seen. */
  readonly sb_cfg: number;
  /** Sequence number every chassis has caught up with. */
  readonly hv_cfg: number;
  /** Global options (mac_prefix, svc_monitor_mac, default_acl_drop, ...). */
  readonly options: ReadonlyMap<string, string>;
  /** IPsec enabled. */
  readonly ipsec: boolean;
}

/** Typed view of Logical_Switch `other_config` (defaults as in ovn-nb(5)). */
export interface LogicalSwitchConfig {
  /** `subnet`: IPv4 subnet for dynamic address assignment. */
  subnet?: IpPrefix;
  /** `exclude_ips`: addresses dynamic assignment must not use. */
  excludeIps: Ip4Range[];
  /** `ipv6_prefix`: IPv6 prefix for dynamic (EUI-64) addresses. */
  ipv6Prefix?: IpPrefix;
  /** `mac_only`: dynamic assignment gives only MACs. */
  macOnly: boolean;
  /** `mcast_snoop` (default false). */
  mcastSnoop: boolean;
  /** `mcast_querier` (default true). */
  mcastQuerier: boolean;
  /** `mcast_flood_unregistered` (default false). */
  mcastFloodUnregistered: boolean;
  /** `mcast_table_size` (default 2048). */
  mcastTableSize: number;
  /** `mcast_idle_timeout` seconds (default 300, clamped to 15..3600). */
  mcastIdleTimeout: number;
  /** `mcast_query_interval` seconds (default idle timeout / 2, clamped to 1..3600). */
  mcastQueryInterval: number;
  /** `mcast_query_max_response` seconds (default 1). */
  mcastQueryMaxResponse: number;
  /** `mcast_eth_src`: querier source MAC. */
  mcastEthSrc?: number;
  /** `mcast_ip4_src`: querier IPv4 source. */
  mcastIp4Src?: IpAddr;
  /** `mcast_ip6_src`: querier IPv6 source. */
  mcastIp6Src?: IpAddr;
}

/** Logical_Switch. */
export interface LogicalSwitch extends NbRow, HasExternalIds {
  /** Name (not unique in OVSDB; ovn-nbctl keeps it unique). */
  readonly name: string;
  /** Ports. */
  readonly ports: readonly LogicalSwitchPort[];
  /** ACLs applied to the switch. */
  readonly acls: readonly Acl[];
  /** QoS rules. */
  readonly qos_rules: readonly QoS[];
  /** Load balancers. */
  readonly load_balancer: readonly LoadBalancer[];
  /** Load balancer groups. */
  readonly load_balancer_group: readonly LoadBalancerGroup[];
  /** DNS records. */
  readonly dns_records: readonly Dns[];
  /** Control plane protection policy. */
  readonly copp: Copp | undefined;
  /** Raw other_config. */
  readonly other_config: ReadonlyMap<string, string>;
  /** Typed other_config. */
  readonly config: LogicalSwitchConfig;
}

/** Logical_Switch_Port `type` values OVN knows ("" is a VIF). */
export type LspType = '' | 'router' | 'localnet' | 'localport' | 'remote' | 'l2gateway' | 'vtep' | 'external' | 'virtual' | (string & {});

/** Logical_Switch_Port. */
export interface LogicalSwitchPort extends NbRow, HasExternalIds {
  /** Unique name. */
  readonly name: string;
  /** Port type. */
  readonly type: LspType;
  /** Options (router-port, network_name, nat-addresses, requested-chassis, ...). */
  readonly options: ReadonlyMap<string, string>;
  /** Parent port for container ports. */
  readonly parent_name: string | undefined;
  /** Requested VLAN tag for container ports. */
  readonly tag_request: number | undefined;
  /** VLAN tag for container ports (or localnet). */
  readonly tag: number | undefined;
  /** Parsed addresses. */
  readonly addresses: readonly LspAddress[];
  /** Addresses ovn-northd assigned for `dynamic`. */
  readonly dynamic_addresses: MacIps | undefined;
  /** Parsed port security entries. */
  readonly port_security: readonly MacIps[];
  /** Up (set by ovn-northd). */
  readonly up: boolean | undefined;
  /** Administrative state; unset means enabled. */
  readonly enabled: boolean | undefined;
  /** DHCPv4 options. */
  readonly dhcpv4_options: DhcpOptions | undefined;
  /** DHCPv6 options. */
  readonly dhcpv6_options: DhcpOptions | undefined;
  /** HA chassis group (external ports). */
  readonly ha_chassis_group: HaChassisGroup | undefined;
  /** `options:router-port` for router-type ports. */
  readonly routerPort: string | undefined;
}

/** Typed view of Logical_Router `options`. */
export interface LogicalRouterConfig {
  /** `chassis`: gateway router pinned to this chassis. */
  chassis?: string;
  /** `mcast_relay` (default false). */
  mcastRelay: boolean;
  /** `lb_force_snat_ip`: `router_ip` or addresses. */
  lbForceSnatIp?: 'router_ip' | IpAddr[];
  /** `dynamic_neigh_routers` (default false). */
  dynamicNeighRouters: boolean;
  /** `always_learn_from_arp_request` (default true). */
  alwaysLearnFromArpRequest: boolean;
  /** `snat-ct-zone`, when set. */
  snatCtZone?: number;
}

/** Logical_Router. */
export interface LogicalRouter extends NbRow, HasExternalIds {
  /** Name. */
  readonly name: string;
  /** Ports. */
  readonly ports: readonly LogicalRouterPort[];
  /** Static routes. */
  readonly static_routes: readonly LogicalRouterStaticRoute[];
  /** Policies. */
  readonly policies: readonly LogicalRouterPolicy[];
  /** Administrative state; unset means enabled. */
  readonly enabled: boolean | undefined;
  /** NAT rules. */
  readonly nat: readonly Nat[];
  /** Load balancers. */
  readonly load_balancer: readonly LoadBalancer[];
  /** Load balancer groups. */
  readonly load_balancer_group: readonly LoadBalancerGroup[];
  /** Control plane protection policy. */
  readonly copp: Copp | undefined;
  /** Raw options. */
  readonly options: ReadonlyMap<string, string>;
  /** Typed options. */
  readonly config: LogicalRouterConfig;
}

/** Logical_Router_Port. */
export interface LogicalRouterPort extends NbRow, HasExternalIds {
  /** Unique name. */
  readonly name: string;
  /** Gateway chassis (distributed gateway port). */
  readonly gateway_chassis: readonly GatewayChassis[];
  /** HA chassis group (distributed gateway port). */
  readonly ha_chassis_group: HaChassisGroup | undefined;
  /** Options (gateway_mtu, redirect-chassis, ...). */
  readonly options: ReadonlyMap<string, string>;
  /** Networks, `IP/plen` with host bits. */
  readonly networks: readonly IpPrefix[];
  /** MAC address (48-bit number). */
  readonly mac: number;
  /** Peer router port name (router-to-router links). */
  readonly peer: string | undefined;
  /** Administrative state; unset means enabled. */
  readonly enabled: boolean | undefined;
  /** IPv6 RA configuration. */
  readonly ipv6_ra_configs: ReadonlyMap<string, string>;
  /** IPv6 prefixes (prefix delegation). */
  readonly ipv6_prefix: readonly string[];
}

/** ACL directions. */
export type NbDirection = 'from-lport' | 'to-lport';
/** ACL actions (`pass` from OVN 23.06). */
export type AclAction = 'allow' | 'allow-related' | 'allow-stateless' | 'drop' | 'reject' | 'pass';
/** Log severities. */
export type Severity = 'alert' | 'warning' | 'notice' | 'info' | 'debug';

/** ACL. */
export interface Acl extends NbRow, HasExternalIds {
  /** Name (for logging), up to 63 characters. */
  readonly name: string | undefined;
  /** Priority 0..32767. */
  readonly priority: number;
  /** NbDirection. */
  readonly direction: NbDirection;
  /** Match expression (OVN expression language). */
  readonly match: string;
  /** Verdict. */
  readonly action: AclAction;
  /** Tier 0..3 (OVN 23.06; 0 when the database has no tier column). */
  readonly tier: number;
  /** Log matching packets. */
  readonly log: boolean;
  /** Log severity. */
  readonly severity: Severity | undefined;
  /** Meter name for logging. */
  readonly meter: string | undefined;
  /** Label 0..2^32-1 stored in ct_label. */
  readonly label: number;
  /** Options (apply-after-lb, log-related). */
  readonly options: ReadonlyMap<string, string>;
  /** `options:apply-after-lb`. */
  readonly applyAfterLb: boolean;
}

/** Address_Set. */
export interface AddressSet extends NbRow, HasExternalIds {
  /** Unique name. */
  readonly name: string;
  /** Addresses as stored (IPs, CIDRs or MACs). */
  readonly addresses: readonly string[];
}

/** Port_Group. */
export interface PortGroup extends NbRow, HasExternalIds {
  /** Unique name. */
  readonly name: string;
  /** Member ports. */
  readonly ports: readonly LogicalSwitchPort[];
  /** ACLs applied to the group's ports. */
  readonly acls: readonly Acl[];
}

/** A parsed load balancer VIP and its backends. */
export interface LbVip {
  /** The `vips` key as stored. */
  readonly key: string;
  /** The `vips` value as stored. */
  readonly value: string;
  /** VIP address and optional port. */
  readonly vip: IpPort;
  /** Backends (empty means "no backends"). */
  readonly backends: readonly IpPort[];
}

/** Typed view of Load_Balancer `options`. */
export interface LoadBalancerConfig {
  /** `affinity_timeout` seconds, when set. */
  affinityTimeout?: number;
  /** `hairpin_snat_ip` addresses. */
  hairpinSnatIp: IpAddr[];
  /** `reject` (default false). */
  reject: boolean;
  /** `skip_snat` (default false). */
  skipSnat: boolean;
  /** `template` (default false): VIPs use chassis template variables and are not parsed. */
  template: boolean;
  /** `neighbor_responder`, when set. */
  neighborResponder?: string;
}

/** Load_Balancer. */
export interface LoadBalancer extends NbRow, HasExternalIds {
  /** Name. */
  readonly name: string;
  /** Raw vips map. */
  readonly vips: ReadonlyMap<string, string>;
  /** Parsed VIPs (empty for template load balancers). */
  readonly vipList: readonly LbVip[];
  /** Protocol; unset means tcp. */
  readonly protocol: 'tcp' | 'udp' | 'sctp' | undefined;
  /** Health checks. */
  readonly health_check: readonly LoadBalancerHealthCheck[];
  /** Backend IP to logical port mappings for health checks. */
  readonly ip_port_mappings: ReadonlyMap<string, string>;
  /** Hash fields for backend selection. */
  readonly selection_fields: readonly ('eth_src' | 'eth_dst' | 'ip_src' | 'ip_dst' | 'tp_src' | 'tp_dst')[];
  /** Raw options. */
  readonly options: ReadonlyMap<string, string>;
  /** Typed options. */
  readonly config: LoadBalancerConfig;
}

/** Load_Balancer_Health_Check. */
export interface LoadBalancerHealthCheck extends NbRow, HasExternalIds {
  /** VIP this check applies to. */
  readonly vip: string;
  /** Options (interval, timeout, success_count, failure_count). */
  readonly options: ReadonlyMap<string, string>;
}

/** Load_Balancer_Group. */
export interface LoadBalancerGroup extends NbRow {
  /** Unique name. */
  readonly name: string;
  /** Member load balancers. */
  readonly load_balancer: readonly LoadBalancer[];
}

/** NAT types. */
export type NatType = 'snat' | 'dnat' | 'dnat_and_snat';

/** NAT. */
export interface Nat extends NbRow, HasExternalIds {
  /** Type. */
  readonly type: NatType;
  /** External address. */
  readonly external_ip: IpAddr;
  /** External MAC (distributed dnat_and_snat). */
  readonly external_mac: number | undefined;
  /** External port range; undefined when empty. */
  readonly external_port_range: PortRange | undefined;
  /** Logical address or network (snat may use a prefix). */
  readonly logical_ip: IpPrefix;
  /** Logical port (distributed dnat_and_snat). */
  readonly logical_port: string | undefined;
  /** Only translate traffic from/to these external addresses. */
  readonly allowed_ext_ips: AddressSet | undefined;
  /** Do not translate traffic from/to these external addresses. */
  readonly exempted_ext_ips: AddressSet | undefined;
  /** Gateway port to use. */
  readonly gateway_port: LogicalRouterPort | undefined;
  /** Options (stateless, add_route). */
  readonly options: ReadonlyMap<string, string>;
}

/** Logical_Router_Static_Route. */
export interface LogicalRouterStaticRoute extends NbRow, HasExternalIds {
  /** Route table name ("" = main). */
  readonly route_table: string;
  /** Destination (or source, for src-ip policy) prefix. */
  readonly ip_prefix: IpPrefix;
  /** Policy; OVN's default when unset is dst-ip. */
  readonly policy: 'src-ip' | 'dst-ip' | undefined;
  /** Next hop, or `discard`. */
  readonly nexthop: IpAddr | 'discard';
  /** Output port name. */
  readonly output_port: string | undefined;
  /** BFD session. */
  readonly bfd: Bfd | undefined;
  /** Options (ecmp_symmetric_reply, origin). */
  readonly options: ReadonlyMap<string, string>;
  /** `options:ecmp_symmetric_reply`. */
  readonly ecmpSymmetricReply: boolean;
}

/** Logical_Router_Policy. */
export interface LogicalRouterPolicy extends NbRow, HasExternalIds {
  /** Priority 0..32767. */
  readonly priority: number;
  /** Match expression. */
  readonly match: string;
  /** Action. */
  readonly action: 'allow' | 'drop' | 'reroute';
  /** Deprecated single next hop. */
  readonly nexthop: IpAddr | undefined;
  /** Next hops for reroute. */
  readonly nexthops: readonly IpAddr[];
  /** Options (pkt_mark). */
  readonly options: ReadonlyMap<string, string>;
  /** `options:pkt_mark`, when set. */
  readonly pktMark: number | undefined;
}

/** DHCP_Options. */
export interface DhcpOptions extends NbRow, HasExternalIds {
  /** Subnet the options apply to. */
  readonly cidr: IpPrefix;
  /** DHCP options (server_id, lease_time, router, ...). */
  readonly options: ReadonlyMap<string, string>;
}

/** DNS. */
export interface Dns extends NbRow, HasExternalIds {
  /** Host name to addresses (space separated). */
  readonly records: ReadonlyMap<string, string>;
}

/** Meter_Band. */
export interface MeterBand extends NbRow, HasExternalIds {
  /** Action (drop). */
  readonly action: 'drop';
  /** Rate (units of the meter). */
  readonly rate: number;
  /** Burst size. */
  readonly burst_size: number;
}

/** Meter. */
export interface Meter extends NbRow, HasExternalIds {
  /** Unique name. */
  readonly name: string;
  /** Unit. */
  readonly unit: 'kbps' | 'pktps';
  /** Bands. */
  readonly bands: readonly MeterBand[];
  /** Fair metering across users. */
  readonly fair: boolean | undefined;
}

/** QoS. */
export interface QoS extends NbRow, HasExternalIds {
  /** Priority 0..32767. */
  readonly priority: number;
  /** NbDirection. */
  readonly direction: NbDirection;
  /** Match expression. */
  readonly match: string;
  /** Marking actions (dscp). */
  readonly action: ReadonlyMap<string, number>;
  /** Rate limiting (rate, burst). */
  readonly bandwidth: ReadonlyMap<string, number>;
}

/** Static_MAC_Binding. */
export interface StaticMacBinding extends NbRow {
  /** Logical router port name. */
  readonly logical_port: string;
  /** IP address. */
  readonly ip: IpAddr;
  /** MAC address. */
  readonly mac: number;
  /** Override dynamically learnt bindings. */
  readonly override_dynamic_mac: boolean;
}

/** Gateway_Chassis. */
export interface GatewayChassis extends NbRow, HasExternalIds {
  /** Unique name. */
  readonly name: string;
  /** Chassis name. */
  readonly chassis_name: string;
  /** Priority 0..32767. */
  readonly priority: number;
  /** Options. */
  readonly options: ReadonlyMap<string, string>;
}

/** HA_Chassis. */
export interface HaChassis extends NbRow, HasExternalIds {
  /** Chassis name. */
  readonly chassis_name: string;
  /** Priority 0..32767. */
  readonly priority: number;
}

/** HA_Chassis_Group. */
export interface HaChassisGroup extends NbRow, HasExternalIds {
  /** Unique name. */
  readonly name: string;
  /** Members. */
  readonly ha_chassis: readonly HaChassis[];
}

/** BFD. */
export interface Bfd extends NbRow, HasExternalIds {
  /** Logical port. */
  readonly logical_port: string;
  /** Peer address. */
  readonly dst_ip: string;
  /** Status. */
  readonly status: string | undefined;
  /** Options. */
  readonly options: ReadonlyMap<string, string>;
}

/** Copp. */
export interface Copp extends NbRow, HasExternalIds {
  /** Unique name. */
  readonly name: string;
  /** Protocol/event to meter name. */
  readonly meters: ReadonlyMap<string, string>;
}

/** `smap_get_bool`: "true"/"false" (case-insensitive) or the default. */
export function optBool(m: ReadonlyMap<string, string>, key: string, def: boolean): boolean {
  const v = (m.get(key) ?? '').toLowerCase();
  return def ? v !== 'false' : v === 'true';
}

/** `smap_get_int`: a decimal integer or the default. */
export function optInt(m: ReadonlyMap<string, string>, key: string, def: number): number {
  const v = m.get(key);
  if (v === undefined || !/^[+-]?[0-9]+$/.test(v.trim())) return def;
  const n = Number(v.trim());
  return n >= -2147483648 && n <= 2147483647 ? n : def;
}

export type { IpAddr, IpPort, IpPrefix, Ip4Range, LspAddress, MacIps, PortRange };
