/**
 * @ovnts/chassis: ovn-controller's job. Logical flows become OpenFlow on each chassis's switch
 * with OVN 23.03's table layout; chassis reach each other through Geneve tunnels over an
 * in-process underlay on the virtual clock, or real UDP.
 */
export { ChassisError, type ChassisErrorCode } from './errors.js';
export { clusterConfig, defaultUnderlayMac, type ChassisSettings, type ClusterMember, type ClusterConfig } from './cluster-config.js';
export { parseChassisMap, formatChassisMap, emptyChassisMap, type ChassisMap, type MappedChassis } from './chassis-map.js';
export { OFTABLE, MLF_BIT, LOG_REG, N_LOG_REGS, OVN_MIN_MULTICAST, ACTION_OPCODE } from './tables.js';
export { encodeActions as encodeOfActions, decodeActions as decodeOfActions, controllerOpcode } from './of-wire.js';
export { encodeActions as encodeLogicalActions, type EncodeParams, type DhcpOptionInfo } from './encode.js';
export { ExtendTable, type ExtendEntry } from './extend-table.js';
export { DesiredFlowTable, type DesiredFlow } from './flow-table.js';
export { buildRuntime, type ChassisConfig, type ClusterFacts, type Runtime, type LocalDatapath, type ChassisTunnel } from './runtime.js';
export { updateChassisTables, recompute, diffSouthbound, type UpdateResult, type UpdateOptions, type SbChanges } from './incremental.js';
export { computeChassisTables, dumpFlows, dumpGroups, formatDumpFlow, type ChassisTables } from './flows.js';
export { formatOfAction, formatOfActions, type OfAction } from './of-actions.js';
export { Pinctrl, reloadMetadata, linkLocalOf, OFPP_CONTROLLER, type PinctrlPacketIn, type PinctrlEffect, type PacketOutEffect, type ResumeEffect, type MacBindingEffect, type FdbEffect, type NoteEffect, type IgmpEffect, type IgnoredEffect, type DnsRecords } from './pinctrl.js';
export { McastSnoop, McastSnoopTable, mcastSnoopConfig, groupAddressText, northdFor, IGMP_GROUP_MROUTERS, MCAST_MROUTER_PORT_IDLE_TIME, type McastSnoopConfig, type McastGroup, type McastBundle, type McastPacketOut, type McastResult } from './mcast-snoop.js';
export { ChassisCluster, ChassisNode, InProcessUnderlay, type Delivery, type UnderlayFrame, type ClusterNote, type RunResult, type ChassisClusterOptions, type LearntRow, type UnderlayTransport, type UnderlayEndpoint } from './cluster.js';
export { UdpUnderlay, outerUdpFrame, type UdpUnderlayOptions, type UdpUnderlayStats } from './udp-underlay.js';
export { StaticSouthbound, learntRowToJson, learntRowFromJson, type SouthboundSource, type LearntRowJson } from './sb-source.js';
export { ChassisHost, type ChassisHostOptions, type HostSync } from './chassis-host.js';
export { DatabaseSouthbound, southboundChassisMap, type DatabaseSouthboundEvent, type DatabaseSouthboundOptions } from './sb-database.js';
export { chassisPerSwitch } from './default-map.js';
export { aclLogLine, decodeAclLog, type AclLogSettings } from './acl-log.js';
export { traceCluster, formatClusterTrace, type ClusterTrace, type TraceHop, type TraceStep, type StepSource } from './trace.js';
