/**
 * The southbound rows a chassis reads, named and shaped as `@ovnts/ovn`'s southbound model
 * (`packages/ovn/src/sb/model.ts`, issue 8): one interface per table, camelCase columns,
 * references resolved to rows. Only the columns ovn-controller's lflow, physical and pinctrl code
 * read are listed; any `SbDatabase` of the model satisfies these types.
 */

/** A southbound row uuid. */
export type SbUuid = string;

/** `Encap`. */
export interface SbEncap {
  readonly uuid: SbUuid;
  readonly type: string;
  readonly ip: string;
  readonly options: ReadonlyMap<string, string>;
  readonly chassisName: string;
}

/** `Chassis`. */
export interface SbChassis {
  readonly uuid: SbUuid;
  readonly name: string;
  readonly hostname: string;
  readonly encaps: readonly SbEncap[];
  readonly otherConfig: ReadonlyMap<string, string>;
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `Datapath_Binding`. */
export interface SbDatapath {
  readonly uuid: SbUuid;
  readonly tunnelKey: number;
  readonly externalIds: ReadonlyMap<string, string>;
  readonly kind: 'switch' | 'router';
  readonly name: string;
}

/** `Gateway_Chassis`. */
export interface SbGatewayChassis {
  readonly uuid: SbUuid;
  readonly name: string;
  readonly chassis: SbChassis | undefined;
  readonly priority: number;
}

/** `HA_Chassis`. */
export interface SbHaChassis {
  readonly uuid: SbUuid;
  readonly chassis: SbChassis | undefined;
  readonly priority: number;
}

/** `HA_Chassis_Group`. */
export interface SbHaChassisGroup {
  readonly uuid: SbUuid;
  readonly name: string;
  readonly haChassis: readonly SbHaChassis[];
}

/** `Port_Binding`. */
export interface SbPortBinding {
  readonly uuid: SbUuid;
  readonly logicalPort: string;
  readonly type: string;
  readonly gatewayChassis: readonly SbGatewayChassis[];
  readonly haChassisGroup: SbHaChassisGroup | undefined;
  readonly options: ReadonlyMap<string, string>;
  readonly datapath: SbDatapath;
  readonly tunnelKey: number;
  readonly parentPort: string | undefined;
  readonly tag: number | undefined;
  readonly chassis: SbChassis | undefined;
  readonly additionalChassis: readonly SbChassis[];
  readonly encap: SbEncap | undefined;
  readonly mac: readonly string[];
  readonly portSecurity: readonly string[];
  readonly natAddresses: readonly string[];
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `Multicast_Group`. */
export interface SbMulticastGroup {
  readonly uuid: SbUuid;
  readonly datapath: SbDatapath;
  readonly name: string;
  readonly tunnelKey: number;
  readonly ports: readonly SbPortBinding[];
}

/** `Logical_DP_Group`. */
export interface SbDatapathGroup {
  readonly uuid: SbUuid;
  readonly datapaths: readonly SbDatapath[];
}

/** `Logical_Flow`. */
export interface SbLogicalFlow {
  readonly uuid: SbUuid;
  readonly logicalDatapath: SbDatapath | undefined;
  readonly logicalDpGroup: SbDatapathGroup | undefined;
  readonly pipeline: 'ingress' | 'egress';
  readonly tableId: number;
  readonly priority: number;
  readonly match: string;
  readonly actions: string;
  readonly tags: ReadonlyMap<string, string>;
  readonly controllerMeter: string | undefined;
  readonly externalIds: ReadonlyMap<string, string>;
}

/** `MAC_Binding`. */
export interface SbMacBinding {
  readonly uuid: SbUuid;
  readonly logicalPort: string;
  readonly ip: string;
  readonly mac: string;
  readonly datapath: SbDatapath | undefined;
}

/** `Static_MAC_Binding`. */
export interface SbStaticMacBinding {
  readonly uuid: SbUuid;
  readonly logicalPort: string;
  readonly ip: string;
  readonly mac: string;
  readonly overrideDynamicMac: boolean;
  readonly datapath: SbDatapath | undefined;
}

/** `Address_Set`. */
export interface SbAddressSet {
  readonly uuid: SbUuid;
  readonly name: string;
  readonly addresses: readonly string[];
}

/** `Port_Group` (named `<datapath key>_<NB name>`). */
export interface SbPortGroup {
  readonly uuid: SbUuid;
  readonly name: string;
  readonly ports: readonly string[];
}

/** `Load_Balancer`. */
export interface SbLoadBalancer {
  readonly uuid: SbUuid;
  readonly name: string;
  readonly vips: ReadonlyMap<string, string>;
  readonly protocol: string | undefined;
  readonly datapaths: readonly SbDatapath[];
  readonly datapathGroup: SbDatapathGroup | undefined;
  readonly options: ReadonlyMap<string, string>;
}

/** `DHCP_Options` / `DHCPv6_Options`. */
export interface SbDhcpOption {
  readonly uuid: SbUuid;
  readonly name: string;
  readonly code: number;
  readonly type: string;
}

/** `DNS`. */
export interface SbDns {
  readonly uuid: SbUuid;
  readonly records: ReadonlyMap<string, string>;
  readonly datapaths: readonly SbDatapath[];
}

/** `FDB`. */
export interface SbFdb {
  readonly uuid: SbUuid;
  readonly mac: string;
  readonly dpKey: number;
  readonly portKey: number;
}

/** One band of a meter. */
export interface SbMeterBand {
  readonly uuid: SbUuid;
  readonly action: string;
  readonly rate: number;
  readonly burstSize: number;
}

/** `Meter`. */
export interface SbMeter {
  readonly uuid: SbUuid;
  readonly name: string;
  readonly unit: string;
  readonly bands: readonly SbMeterBand[];
}

/** `SB_Global`. */
export interface SbGlobal {
  readonly uuid: SbUuid;
  readonly options: ReadonlyMap<string, string>;
}

/** The southbound database as the chassis reads it. */
export interface SbDatabase {
  readonly global: SbGlobal;
  readonly chassis: readonly SbChassis[];
  readonly datapaths: readonly SbDatapath[];
  readonly portBindings: readonly SbPortBinding[];
  readonly multicastGroups: readonly SbMulticastGroup[];
  readonly logicalFlows: readonly SbLogicalFlow[];
  readonly macBindings: readonly SbMacBinding[];
  readonly staticMacBindings: readonly SbStaticMacBinding[];
  readonly addressSets: readonly SbAddressSet[];
  readonly portGroups: readonly SbPortGroup[];
  readonly loadBalancers: readonly SbLoadBalancer[];
  readonly dhcpOptions: readonly SbDhcpOption[];
  readonly dhcpv6Options: readonly SbDhcpOption[];
  readonly dns: readonly SbDns[];
  readonly fdb: readonly SbFdb[];
  readonly meters: readonly SbMeter[];
}

/** The datapaths a logical flow applies to. */
export function lflowDatapaths(f: SbLogicalFlow): readonly SbDatapath[] {
  if (f.logicalDatapath) return [f.logicalDatapath];
  return f.logicalDpGroup ? f.logicalDpGroup.datapaths : [];
}
