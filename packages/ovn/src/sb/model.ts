/**
 * The southbound model: the OVN_Southbound database (OVN 23.03, schema 20.27.0) as typed, read-only
 * objects. It is the one contract between the control plane and everything that reads it: our
 * northd produces it (`compileNorthd(...).sb`), a real southbound database file imports into it
 * (`loadSbFile`), ovn-trace runs on it, and the physical layer (ovn-controller's job) builds each
 * chassis's OpenFlow from it.
 *
 * Design. One interface per table, one property per column, named in camelCase after the column
 * (`tunnel_key` -> `tunnelKey`); references are resolved to the rows they point to (a port
 * binding's `datapath` is the `SbDatapath` object), string maps are `ReadonlyMap<string, string>`,
 * optional columns (`min: 0, max: 1`) are `undefined` when empty. Every row keeps its `uuid`, so
 * an imported database keeps the real uuids and a produced one has deterministic uuids derived
 * from the northbound rows. Besides the columns, a few derived facts ovn-controller computes the
 * same way from the columns are given as properties where they are used everywhere (a datapath's
 * kind and name from `external_ids`); nothing else is precomputed, so both producers fill the
 * same fields. Lookups (datapath by key, port by name, ...) are in `SbIndex` (index.ts).
 *
 * Tables that ovn-controllers write (Chassis, Chassis_Private, Encap, MAC_Binding, FDB,
 * IGMP_Group, Controller_Event) are empty in a database our northd produced from a northbound
 * alone; they come from an imported database, from the previous southbound database given to
 * `compileNorthd` (northd keeps them, as ovn-northd leaves them to the controllers), or from the
 * physical layer.
 */

/** A southbound row uuid (lower-case text). */
export type SbUuid = string;

/** `SB_Global`: one row. */
export interface SbGlobal {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `nb_cfg`: the NB sequence number ovn-northd last applied. */
  readonly nbCfg: number;
  /** `options`: ovn-northd copies NB_Global options here (plus `mac_prefix`, `max_tunid`, `northd_internal_version`, `svc_monitor_mac`). */
  readonly options: ReadonlyMap<string, string>;
  /** `external_ids`. */
  readonly externalIds: ReadonlyMap<string, string>;
  /** `ipsec`. */
  readonly ipsec: boolean;
}

/** `Encap`: a tunnel endpoint of a chassis. */
export interface SbEncap {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `type`: `geneve`, `stt` or `vxlan`. */
  readonly type: string;
  /** `ip`: the endpoint's IP address. */
  readonly ip: string;
  /** `options` (`csum`, `dst_port`). */
  readonly options: ReadonlyMap<string, string>;
  /** `chassis_name`. */
  readonly chassisName: string;
}

/** `Chassis`: a hypervisor or gateway running ovn-controller. */
export interface SbChassis {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `name` (the system-id). */
  readonly name: string;
  /** `hostname`. */
  readonly hostname: string;
  /** `encaps`. */
  readonly encaps: readonly SbEncap[];
  /** `vtep_logical_switches`. */
  readonly vtepLogicalSwitches: readonly string[];
  /** `nb_cfg`. */
  readonly nbCfg: number;
  /** `external_ids`. */
  readonly externalIds: ReadonlyMap<string, string>;
  /** `other_config` (`ovn-bridge-mappings`, `iface-types`, `ovn-chassis-mac-mappings`, `is-interconn`, ...). */
  readonly otherConfig: ReadonlyMap<string, string>;
  /** `transport_zones`. */
  readonly transportZones: readonly string[];
}

/** `Chassis_Private`: per-chassis data only that chassis writes. */
export interface SbChassisPrivate {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `name`. */
  readonly name: string;
  /** `chassis`. */
  readonly chassis: SbChassis | undefined;
  /** `nb_cfg`. */
  readonly nbCfg: number;
  /** `nb_cfg_timestamp`. */
  readonly nbCfgTimestamp: number;
  /** `external_ids`. */
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `Datapath_Binding`: one logical switch or logical router. */
export interface SbDatapath {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `tunnel_key`: the datapath's key (1..16777215; the Geneve VNI, OpenFlow `metadata`). */
  readonly tunnelKey: number;
  /** `load_balancers` (deprecated, empty in 23.03). */
  readonly loadBalancers: readonly SbUuid[];
  /** `external_ids` (`logical-switch` or `logical-router`: the NB uuid; `name`; `name2`; `interconn-ts`). */
  readonly externalIds: ReadonlyMap<string, string>;
  /** Derived: `switch` when `external_ids:logical-switch` is set, `router` when `logical-router` is. */
  readonly kind: 'switch' | 'router';
  /** Derived: `external_ids:name` (empty when absent). */
  readonly name: string;
  /** Derived: the NB row uuid from `external_ids:logical-switch`/`logical-router` (empty when absent). */
  readonly nbUuid: string;
}

/** `Gateway_Chassis` (deprecated in favour of HA chassis groups, still read by ovn-controller). */
export interface SbGatewayChassis {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `name`. */
  readonly name: string;
  /** `chassis`. */
  readonly chassis: SbChassis | undefined;
  /** `priority`. */
  readonly priority: number;
  /** `external_ids`. */
  readonly externalIds: ReadonlyMap<string, string>;
  /** `options`. */
  readonly options: ReadonlyMap<string, string>;
}

/** `HA_Chassis`: one member of an HA chassis group. */
export interface SbHaChassis {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `chassis`. */
  readonly chassis: SbChassis | undefined;
  /** `priority`. */
  readonly priority: number;
  /** `external_ids`. */
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `HA_Chassis_Group`. */
export interface SbHaChassisGroup {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `name`. */
  readonly name: string;
  /** `ha_chassis`. */
  readonly haChassis: readonly SbHaChassis[];
  /** `ref_chassis`: chassis that need to reach the group's active chassis. */
  readonly refChassis: readonly SbChassis[];
  /** `external_ids`. */
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `Port_Binding`: one logical port. */
export interface SbPortBinding {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `logical_port`: the port's name. */
  readonly logicalPort: string;
  /** `type`: `""` (VIF), `patch`, `l3gateway`, `localnet`, `localport`, `l2gateway`, `vtep`, `external`, `virtual`, `chassisredirect`, `remote`. */
  readonly type: string;
  /** `gateway_chassis`. */
  readonly gatewayChassis: readonly SbGatewayChassis[];
  /** `ha_chassis_group`. */
  readonly haChassisGroup: SbHaChassisGroup | undefined;
  /** `options` (`peer`, `l3gateway-chassis`, `network_name`, `distributed-port`, `chassis-redirect-port`, `requested-chassis`, `qdisc_queue_id`, `virtual-ip`, `virtual-parents`, ...). */
  readonly options: ReadonlyMap<string, string>;
  /** `datapath`. */
  readonly datapath: SbDatapath;
  /** `tunnel_key`: the port's key within its datapath (1..32767). */
  readonly tunnelKey: number;
  /** `parent_port`: for a container port, the VIF it is nested in. */
  readonly parentPort: string | undefined;
  /** `tag`: the container port's VLAN tag. */
  readonly tag: number | undefined;
  /** `virtual_parent`: for a virtual port, the port that claimed it. */
  readonly virtualParent: string | undefined;
  /** `chassis`: where the port is bound (set by ovn-controller). */
  readonly chassis: SbChassis | undefined;
  /** `additional_chassis`. */
  readonly additionalChassis: readonly SbChassis[];
  /** `encap`: the encapsulation the bound chassis asks peers to use. */
  readonly encap: SbEncap | undefined;
  /** `additional_encap`. */
  readonly additionalEncap: readonly SbEncap[];
  /** `mirror_rules`. */
  readonly mirrorRules: readonly SbMirror[];
  /** `mac`: the NB `addresses` (`"MAC IP..."`, `router`, `unknown`, `dynamic`), as ovn-northd copies them. */
  readonly mac: readonly string[];
  /** `port_security`. */
  readonly portSecurity: readonly string[];
  /** `nat_addresses`: addresses to announce by gratuitous ARP. */
  readonly natAddresses: readonly string[];
  /** `up` (set by ovn-controller; undefined when never set). */
  readonly up: boolean | undefined;
  /** `external_ids`. */
  readonly externalIds: ReadonlyMap<string, string>;
  /** `requested_chassis`. */
  readonly requestedChassis: SbChassis | undefined;
  /** `requested_additional_chassis`. */
  readonly requestedAdditionalChassis: readonly SbChassis[];
}

/** `Multicast_Group`: a set of ports of one datapath reached through one key (`_MC_flood`, ...). */
export interface SbMulticastGroup {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `datapath`. */
  readonly datapath: SbDatapath;
  /** `name`: `_MC_flood`, `_MC_unknown`, `_MC_mrouter_flood`, `_MC_mrouter_static`, `_MC_static`, `_MC_flood_l2`, or an IP multicast group address. */
  readonly name: string;
  /** `tunnel_key` (32768..65535). */
  readonly tunnelKey: number;
  /** `ports`. */
  readonly ports: readonly SbPortBinding[];
}

/** `Logical_DP_Group`: the datapaths a logical flow or load balancer applies to. */
export interface SbDatapathGroup {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `datapaths`. */
  readonly datapaths: readonly SbDatapath[];
}

/** `Logical_Flow`. */
export interface SbLogicalFlow {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `logical_datapath` (exclusive with `logicalDpGroup`). */
  readonly logicalDatapath: SbDatapath | undefined;
  /** `logical_dp_group`. */
  readonly logicalDpGroup: SbDatapathGroup | undefined;
  /** `pipeline`. */
  readonly pipeline: 'ingress' | 'egress';
  /** `table_id` (0..32). */
  readonly tableId: number;
  /** `priority` (0..65535). */
  readonly priority: number;
  /** `match`: OVN expression text. */
  readonly match: string;
  /** `actions`: OVN action text. */
  readonly actions: string;
  /** `tags` (`in_out_port`). */
  readonly tags: ReadonlyMap<string, string>;
  /** `controller_meter`. */
  readonly controllerMeter: string | undefined;
  /** `external_ids` (`stage-name`, `stage-hint`, `source`). */
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `MAC_Binding`: an IP-to-MAC binding a logical router learned. */
export interface SbMacBinding {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `logical_port`. */
  readonly logicalPort: string;
  /** `ip`. */
  readonly ip: string;
  /** `mac`. */
  readonly mac: string;
  /** `timestamp` (ms). */
  readonly timestamp: number;
  /** `datapath`. */
  readonly datapath: SbDatapath | undefined;
}

/** `Static_MAC_Binding`: a binding from the NB, with priority over learned ones unless `overrideDynamicMac` is false. */
export interface SbStaticMacBinding {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `logical_port`. */
  readonly logicalPort: string;
  /** `ip`. */
  readonly ip: string;
  /** `mac`. */
  readonly mac: string;
  /** `override_dynamic_mac`. */
  readonly overrideDynamicMac: boolean;
  /** `datapath`. */
  readonly datapath: SbDatapath | undefined;
}

/** `Address_Set`: `$name` in matches. */
export interface SbAddressSet {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `name`. */
  readonly name: string;
  /** `addresses`. */
  readonly addresses: readonly string[];
}

/** `Port_Group`: `@name` in matches; named `<datapath key>_<NB name>`, one row per datapath the group has ports on. */
export interface SbPortGroup {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `name`. */
  readonly name: string;
  /** `ports`: logical port names. */
  readonly ports: readonly string[];
}

/** `Load_Balancer`: a load balancer applied to switches (ovn-controller builds hairpin flows from it). */
export interface SbLoadBalancer {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `name`. */
  readonly name: string;
  /** `vips`: `VIP[:PORT]` to `BACKEND[:PORT],...`. */
  readonly vips: ReadonlyMap<string, string>;
  /** `protocol` (`tcp`, `udp`, `sctp`). */
  readonly protocol: string | undefined;
  /** `datapaths`. */
  readonly datapaths: readonly SbDatapath[];
  /** `datapath_group`. */
  readonly datapathGroup: SbDatapathGroup | undefined;
  /** `options` (`hairpin_snat_ip`, `neighbor_responder`, ...). */
  readonly options: ReadonlyMap<string, string>;
  /** `external_ids` (`lb_id`: the NB uuid, `name`). */
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `DHCP_Options` / `DHCPv6_Options`: one option ovn-controller may put in a DHCP reply. */
export interface SbDhcpOption {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `name`. */
  readonly name: string;
  /** `code`. */
  readonly code: number;
  /** `type` (`bool`, `uint8`, `ipv4`, `str`, `static_routes`, `domains`, `mac`, `ipv6`, ...). */
  readonly type: string;
}

/** `DNS`: records ovn-controller answers DNS queries from. */
export interface SbDns {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `records`: host name to addresses (space separated). */
  readonly records: ReadonlyMap<string, string>;
  /** `datapaths`. */
  readonly datapaths: readonly SbDatapath[];
  /** `external_ids` (`dns_id`: the NB uuid). */
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `Service_Monitor`: a load balancer backend health check. */
export interface SbServiceMonitor {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `ip`. */
  readonly ip: string;
  /** `protocol` (`tcp`, `udp`). */
  readonly protocol: string | undefined;
  /** `port`. */
  readonly port: number;
  /** `logical_port`. */
  readonly logicalPort: string;
  /** `src_mac`. */
  readonly srcMac: string;
  /** `src_ip`. */
  readonly srcIp: string;
  /** `status` (`online`, `offline`, `error`; set by ovn-controller). */
  readonly status: string | undefined;
  /** `options` (`interval`, `timeout`, `success_count`, `failure_count`). */
  readonly options: ReadonlyMap<string, string>;
  /** `external_ids`. */
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `IGMP_Group`: a multicast group learned by one chassis on one datapath. */
export interface SbIgmpGroup {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `address` (or `mrouters`). */
  readonly address: string;
  /** `datapath`. */
  readonly datapath: SbDatapath | undefined;
  /** `chassis`. */
  readonly chassis: SbChassis | undefined;
  /** `ports`. */
  readonly ports: readonly SbPortBinding[];
}

/** `IP_Multicast`: IGMP/MLD snooping configuration of one switch. */
export interface SbIpMulticast {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `datapath`. */
  readonly datapath: SbDatapath;
  /** `enabled`. */
  readonly enabled: boolean | undefined;
  /** `querier`. */
  readonly querier: boolean | undefined;
  /** `eth_src`. */
  readonly ethSrc: string;
  /** `ip4_src`. */
  readonly ip4Src: string;
  /** `ip6_src`. */
  readonly ip6Src: string;
  /** `table_size`. */
  readonly tableSize: number | undefined;
  /** `idle_timeout` (s). */
  readonly idleTimeout: number | undefined;
  /** `query_interval` (s). */
  readonly queryInterval: number | undefined;
  /** `query_max_resp` (s). */
  readonly queryMaxResp: number | undefined;
  /** `seq_no`. */
  readonly seqNo: number;
}

/** `FDB`: a MAC learned on a switch port (`dp_key`, `port_key` are tunnel keys). */
export interface SbFdb {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `mac`. */
  readonly mac: string;
  /** `dp_key`. */
  readonly dpKey: number;
  /** `port_key`. */
  readonly portKey: number;
}

/** One band of an SB meter. */
export interface SbMeterBand {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `action` (`drop`). */
  readonly action: string;
  /** `rate`. */
  readonly rate: number;
  /** `burst_size`. */
  readonly burstSize: number;
}

/** `Meter`. */
export interface SbMeter {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `name`. */
  readonly name: string;
  /** `unit` (`kbps`, `pktps`). */
  readonly unit: string;
  /** `bands`. */
  readonly bands: readonly SbMeterBand[];
}

/** `BFD`: a BFD session ovn-controller runs. */
export interface SbBfd {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `src_port`. */
  readonly srcPort: number;
  /** `disc`. */
  readonly disc: number;
  /** `logical_port`. */
  readonly logicalPort: string;
  /** `dst_ip`. */
  readonly dstIp: string;
  /** `min_tx`. */
  readonly minTx: number;
  /** `min_rx`. */
  readonly minRx: number;
  /** `detect_mult`. */
  readonly detectMult: number;
  /** `status`. */
  readonly status: string;
  /** `external_ids`. */
  readonly externalIds: ReadonlyMap<string, string>;
  /** `options`. */
  readonly options: ReadonlyMap<string, string>;
}

/** `Chassis_Template_Var`: template variables (`^NAME` in matches and actions) of one chassis. */
export interface SbChassisTemplateVar {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `chassis`: the chassis name. */
  readonly chassis: string;
  /** `variables`. */
  readonly variables: ReadonlyMap<string, string>;
}

/** `Mirror`: a port mirroring target. */
export interface SbMirror {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `name`. */
  readonly name: string;
  /** `filter` (`from-lport`, `to-lport`). */
  readonly filter: string;
  /** `sink`. */
  readonly sink: string;
  /** `type` (`gre`, `erspan`). */
  readonly type: string;
  /** `index`. */
  readonly index: number;
  /** `external_ids`. */
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `Controller_Event`: an event ovn-controller reports (empty LB backends). */
export interface SbControllerEvent {
  /** Row uuid. */
  readonly uuid: SbUuid;
  /** `event_type`. */
  readonly eventType: string;
  /** `event_info`. */
  readonly eventInfo: ReadonlyMap<string, string>;
  /** `chassis`. */
  readonly chassis: SbChassis | undefined;
  /** `seq_num`. */
  readonly seqNum: number;
}

/**
 * A southbound database: every table ovn-controller reads (and the few it writes), rows in a
 * deterministic order (produced: the order ovn-northd computes them; imported: by uuid).
 */
export interface SbDatabase {
  /** `SB_Global`. */
  readonly global: SbGlobal;
  /** `Chassis`. */
  readonly chassis: readonly SbChassis[];
  /** `Chassis_Private`. */
  readonly chassisPrivate: readonly SbChassisPrivate[];
  /** `Encap`. */
  readonly encaps: readonly SbEncap[];
  /** `Datapath_Binding`. */
  readonly datapaths: readonly SbDatapath[];
  /** `Port_Binding`. */
  readonly portBindings: readonly SbPortBinding[];
  /** `Multicast_Group`. */
  readonly multicastGroups: readonly SbMulticastGroup[];
  /** `Logical_DP_Group`. */
  readonly datapathGroups: readonly SbDatapathGroup[];
  /** `Logical_Flow`. */
  readonly logicalFlows: readonly SbLogicalFlow[];
  /** `MAC_Binding`. */
  readonly macBindings: readonly SbMacBinding[];
  /** `Static_MAC_Binding`. */
  readonly staticMacBindings: readonly SbStaticMacBinding[];
  /** `Address_Set`. */
  readonly addressSets: readonly SbAddressSet[];
  /** `Port_Group`. */
  readonly portGroups: readonly SbPortGroup[];
  /** `Load_Balancer`. */
  readonly loadBalancers: readonly SbLoadBalancer[];
  /** `DHCP_Options`. */
  readonly dhcpOptions: readonly SbDhcpOption[];
  /** `DHCPv6_Options`. */
  readonly dhcpv6Options: readonly SbDhcpOption[];
  /** `DNS`. */
  readonly dns: readonly SbDns[];
  /** `Service_Monitor`. */
  readonly serviceMonitors: readonly SbServiceMonitor[];
  /** `IGMP_Group`. */
  readonly igmpGroups: readonly SbIgmpGroup[];
  /** `IP_Multicast`. */
  readonly ipMulticast: readonly SbIpMulticast[];
  /** `FDB`. */
  readonly fdb: readonly SbFdb[];
  /** `Meter`. */
  readonly meters: readonly SbMeter[];
  /** `Gateway_Chassis`. */
  readonly gatewayChassis: readonly SbGatewayChassis[];
  /** `HA_Chassis_Group`. */
  readonly haChassisGroups: readonly SbHaChassisGroup[];
  /** `BFD`. */
  readonly bfd: readonly SbBfd[];
  /** `Chassis_Template_Var`. */
  readonly chassisTemplateVars: readonly SbChassisTemplateVar[];
  /** `Mirror`. */
  readonly mirrors: readonly SbMirror[];
  /** `Controller_Event`. */
  readonly controllerEvents: readonly SbControllerEvent[];
}

/** The datapaths a logical flow applies to (its `logical_datapath`, or its group's datapaths). */
export function lflowDatapaths(f: SbLogicalFlow): readonly SbDatapath[] {
  if (f.logicalDatapath) return [f.logicalDatapath];
  return f.logicalDpGroup ? f.logicalDpGroup.datapaths : [];
}
