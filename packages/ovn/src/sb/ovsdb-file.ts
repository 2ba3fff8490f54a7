/**
 * Reading a real southbound database into the southbound model: an OVSDB standalone file of
 * OVN_Southbound, as `ovsdb-client backup` prints it or ovsdb-server writes it (ovsdb(5)), or the
 * JSON `ovsdb-client dump -f json` prints.
 *
 * Design. The file is split into records and replayed with the same reader as northbound files
 * (nb/ovsdb-file.ts: lengths, SHA-1s, `_is_diff` transactions, the file's own schema), then each
 * table is read column by column into the typed rows of model.ts, with references resolved to
 * rows (a dangling reference reads as absent, as OVSDB's IDL shows it). A column the file's schema
 * lacks (an older schema) reads as its default. Rows are in uuid order. Every problem is an
 * `SbError` with the record number and byte offset, or the table, row and column.
 */
import { readFileSync } from 'node:fs';
import type { Datum } from '../nb/datum.js';
import type { RawDb } from '../nb/data.js';
import { NbError } from '../nb/errors.js';
import { readDumpJson, readOvsdbFile } from '../nb/ovsdb-file.js';
import { parseSchema, type DbSchema } from '../nb/schema.js';
import { SB_SCHEMA_JSON } from './schema-data.js';
import { SbError } from './errors.js';
import type * as M from './model.js';

/** The schema name of a southbound database. */
export const SB_SCHEMA_NAME = 'OVN_Southbound';

const EMPTY: ReadonlyMap<string, string> = new Map();

function fromNbError(e: NbError): SbError {
  return new SbError(
    {
      ...(e.table !== undefined ? { table: e.table } : {}),
      ...(e.row !== undefined ? { row: e.row } : {}),
      ...(e.column !== undefined ? { column: e.column } : {}),
      ...(e.record !== undefined ? { record: e.record } : {}),
      ...(e.offset !== undefined ? { offset: e.offset } : {}),
    },
    e.detail,
  );
}

/** Typed reads of one raw row. */
class Row {
  constructor(
    readonly table: string,
    readonly uuid: string,
    private readonly row: Map<string, Datum>,
  ) {}
  private d(col: string): Datum {
    return this.row.get(col) ?? { keys: [] };
  }
  str(col: string): string {
    const k = this.d(col).keys[0];
    return k === undefined ? '' : String(k);
  }
  optStr(col: string): string | undefined {
    const k = this.d(col).keys[0];
    return k === undefined ? undefined : String(k);
  }
  num(col: string): number {
    return Number(this.d(col).keys[0] ?? 0);
  }
  optNum(col: string): number | undefined {
    const k = this.d(col).keys[0];
    return k === undefined ? undefined : Number(k);
  }
  bool(col: string): boolean {
    return this.d(col).keys[0] === true;
  }
  optBool(col: string): boolean | undefined {
    const k = this.d(col).keys[0];
    return k === undefined ? undefined : k === true;
  }
  strs(col: string): string[] {
    return this.d(col).keys.map(String);
  }
  map(col: string): ReadonlyMap<string, string> {
    const d = this.d(col);
    if (!d.keys.length) return EMPTY;
    return new Map(d.keys.map((k, i) => [String(k), String(d.values?.[i] ?? '')]));
  }
  uuids(col: string): string[] {
    return this.d(col).keys.map(String);
  }
}

/** Builds the typed database from raw tables, resolving references in dependency order. */
function buildSb(raw: RawDb): M.SbDatabase {
  const rows = (table: string): Row[] =>
    [...raw.rows(table)].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([u, r]) => new Row(table, u, r));
  const index = <T extends { uuid: string }>(xs: readonly T[]) => new Map(xs.map((x) => [x.uuid, x]));
  const refs = <T>(m: ReadonlyMap<string, T>, us: readonly string[]): T[] => us.map((u) => m.get(u)).filter((x): x is T => x !== undefined);
  const ref = <T>(m: ReadonlyMap<string, T>, u: string | undefined): T | undefined => (u === undefined ? undefined : m.get(u));

  const encaps: M.SbEncap[] = rows('Encap').map((r) => ({ uuid: r.uuid, type: r.str('type'), ip: r.str('ip'), options: r.map('options'), chassisName: r.str('chassis_name') }));
  const encapBy = index(encaps);
  const chassis: M.SbChassis[] = rows('Chassis').map((r) => ({
    uuid: r.uuid,
    name: r.str('name'),
    hostname: r.str('hostname'),
    encaps: refs(encapBy, r.uuids('encaps')),
    vtepLogicalSwitches: r.strs('vtep_logical_switches'),
    nbCfg: r.num('nb_cfg'),
    externalIds: r.map('external_ids'),
    otherConfig: r.map('other_config'),
    transportZones: r.strs('transport_zones'),
  }));
  const chassisBy = index(chassis);
  const chassisPrivate: M.SbChassisPrivate[] = rows('Chassis_Private').map((r) => ({
    uuid: r.uuid,
    name: r.str('name'),
    chassis: ref(chassisBy, r.optStr('chassis')),
    nbCfg: r.num('nb_cfg'),
    nbCfgTimestamp: r.num('nb_cfg_timestamp'),
    externalIds: r.map('external_ids'),
  }));
  const globals = rows('SB_Global');
  const g = globals[0];
  const global: M.SbGlobal = g
    ? { uuid: g.uuid, nbCfg: g.num('nb_cfg'), options: g.map('options'), externalIds: g.map('external_ids'), ipsec: g.bool('ipsec') }
    : { uuid: '00000000-0000-0000-0000-000000000000', nbCfg: 0, options: EMPTY, externalIds: EMPTY, ipsec: false };

  const datapaths: M.SbDatapath[] = rows('Datapath_Binding').map((r) => {
    const ids = r.map('external_ids');
    const ls = ids.get('logical-switch');
    const lr = ids.get('logical-router');
    return {
      uuid: r.uuid,
      tunnelKey: r.num('tunnel_key'),
      loadBalancers: r.uuids('load_balancers'),
      externalIds: ids,
      kind: ls === undefined && lr !== undefined ? 'router' : 'switch',
      name: ids.get('name') ?? '',
      nbUuid: ls ?? lr ?? '',
    };
  });
  const dpBy = index(datapaths);
  const datapathGroups: M.SbDatapathGroup[] = rows('Logical_DP_Group').map((r) => ({ uuid: r.uuid, datapaths: refs(dpBy, r.uuids('datapaths')) }));
  const dpgBy = index(datapathGroups);

  const gatewayChassis: M.SbGatewayChassis[] = rows('Gateway_Chassis').map((r) => ({
    uuid: r.uuid,
    name: r.str('name'),
    chassis: ref(chassisBy, r.optStr('chassis')),
    priority: r.num('priority'),
    externalIds: r.map('external_ids'),
    options: r.map('options'),
  }));
  const gwBy = index(gatewayChassis);
  const haChassis = index(
    rows('HA_Chassis').map((r): M.SbHaChassis => ({ uuid: r.uuid, chassis: ref(chassisBy, r.optStr('chassis')), priority: r.num('priority'), externalIds: r.map('external_ids') })),
  );
  const haChassisGroups: M.SbHaChassisGroup[] = rows('HA_Chassis_Group').map((r) => ({
    uuid: r.uuid,
    name: r.str('name'),
    haChassis: refs(haChassis, r.uuids('ha_chassis')),
    refChassis: refs(chassisBy, r.uuids('ref_chassis')),
    externalIds: r.map('external_ids'),
  }));
  const hagBy = index(haChassisGroups);
  const mirrors: M.SbMirror[] = rows('Mirror').map((r) => ({
    uuid: r.uuid,
    name: r.str('name'),
    filter: r.str('filter'),
    sink: r.str('sink'),
    type: r.str('type'),
    index: r.num('index'),
    externalIds: r.map('external_ids'),
  }));
  const mirrorBy = index(mirrors);

  const portBindings: M.SbPortBinding[] = [];
  for (const r of rows('Port_Binding')) {
    const dp = ref(dpBy, r.optStr('datapath'));
    if (!dp) throw new SbError({ table: 'Port_Binding', row: r.uuid, column: 'datapath' }, `port ${JSON.stringify(r.str('logical_port'))} has no datapath`);
    portBindings.push({
      uuid: r.uuid,
      logicalPort: r.str('logical_port'),
      type: r.str('type'),
      gatewayChassis: refs(gwBy, r.uuids('gateway_chassis')),
      haChassisGroup: ref(hagBy, r.optStr('ha_chassis_group')),
      options: r.map('options'),
      datapath: dp,
      tunnelKey: r.num('tunnel_key'),
      parentPort: r.optStr('parent_port'),
      tag: r.optNum('tag'),
      virtualParent: r.optStr('virtual_parent'),
      chassis: ref(chassisBy, r.optStr('chassis')),
      additionalChassis: refs(chassisBy, r.uuids('additional_chassis')),
      encap: ref(encapBy, r.optStr('encap')),
      additionalEncap: refs(encapBy, r.uuids('additional_encap')),
      mirrorRules: refs(mirrorBy, r.uuids('mirror_rules')),
      mac: r.strs('mac'),
      portSecurity: r.strs('port_security'),
      natAddresses: r.strs('nat_addresses'),
      up: r.optBool('up'),
      externalIds: r.map('external_ids'),
      requestedChassis: ref(chassisBy, r.optStr('requested_chassis')),
      requestedAdditionalChassis: refs(chassisBy, r.uuids('requested_additional_chassis')),
    });
  }
  const pbBy = index(portBindings);

  const multicastGroups: M.SbMulticastGroup[] = [];
  for (const r of rows('Multicast_Group')) {
    const dp = ref(dpBy, r.optStr('datapath'));
    if (!dp) continue;
    multicastGroups.push({ uuid: r.uuid, datapath: dp, name: r.str('name'), tunnelKey: r.num('tunnel_key'), ports: refs(pbBy, r.uuids('ports')) });
  }
  const logicalFlows: M.SbLogicalFlow[] = rows('Logical_Flow').map((r) => {
    const pipeline = r.str('pipeline');
    if (pipeline !== 'ingress' && pipeline !== 'egress') {
      throw new SbError({ table: 'Logical_Flow', row: r.uuid, column: 'pipeline' }, `pipeline ${JSON.stringify(pipeline)} is neither "ingress" nor "egress"`);
    }
    return {
      uuid: r.uuid,
      logicalDatapath: ref(dpBy, r.optStr('logical_datapath')),
      logicalDpGroup: ref(dpgBy, r.optStr('logical_dp_group')),
      pipeline,
      tableId: r.num('table_id'),
      priority: r.num('priority'),
      match: r.str('match'),
      actions: r.str('actions'),
      tags: r.map('tags'),
      controllerMeter: r.optStr('controller_meter'),
      externalIds: r.map('external_ids'),
    };
  });
  const macBindings: M.SbMacBinding[] = rows('MAC_Binding').map((r) => ({
    uuid: r.uuid,
    logicalPort: r.str('logical_port'),
    ip: r.str('ip'),
    mac: r.str('mac'),
    timestamp: r.num('timestamp'),
    datapath: ref(dpBy, r.optStr('datapath')),
  }));
  const staticMacBindings: M.SbStaticMacBinding[] = rows('Static_MAC_Binding').map((r) => ({
    uuid: r.uuid,
    logicalPort: r.str('logical_port'),
    ip: r.str('ip'),
    mac: r.str('mac'),
    overrideDynamicMac: r.bool('override_dynamic_mac'),
    datapath: ref(dpBy, r.optStr('datapath')),
  }));
  const addressSets: M.SbAddressSet[] = rows('Address_Set').map((r) => ({ uuid: r.uuid, name: r.str('name'), addresses: r.strs('addresses') }));
  const portGroups: M.SbPortGroup[] = rows('Port_Group').map((r) => ({ uuid: r.uuid, name: r.str('name'), ports: r.strs('ports') }));
  const loadBalancers: M.SbLoadBalancer[] = rows('Load_Balancer').map((r) => ({
    uuid: r.uuid,
    name: r.str('name'),
    vips: r.map('vips'),
    protocol: r.optStr('protocol'),
    datapaths: refs(dpBy, r.uuids('datapaths')),
    datapathGroup: ref(dpgBy, r.optStr('datapath_group')),
    options: r.map('options'),
    externalIds: r.map('external_ids'),
  }));
  const dhcp = (t: string): M.SbDhcpOption[] => rows(t).map((r) => ({ uuid: r.uuid, name: r.str('name'), code: r.num('code'), type: r.str('type') }));
  const dns: M.SbDns[] = rows('DNS').map((r) => ({ uuid: r.uuid, records: r.map('records'), datapaths: refs(dpBy, r.uuids('datapaths')), externalIds: r.map('external_ids') }));
  const serviceMonitors: M.SbServiceMonitor[] = rows('Service_Monitor').map((r) => ({
    uuid: r.uuid,
    ip: r.str('ip'),
    protocol: r.optStr('protocol'),
    port: r.num('port'),
    logicalPort: r.str('logical_port'),
    srcMac: r.str('src_mac'),
    srcIp: r.str('src_ip'),
    status: r.optStr('status'),
    options: r.map('options'),
    externalIds: r.map('external_ids'),
  }));
  const igmpGroups: M.SbIgmpGroup[] = rows('IGMP_Group').map((r) => ({
    uuid: r.uuid,
    address: r.str('address'),
    datapath: ref(dpBy, r.optStr('datapath')),
    chassis: ref(chassisBy, r.optStr('chassis')),
    ports: refs(pbBy, r.uuids('ports')),
  }));
  const ipMulticast: M.SbIpMulticast[] = [];
  for (const r of rows('IP_Multicast')) {
    const dp = ref(dpBy, r.optStr('datapath'));
    if (!dp) continue;
    ipMulticast.push({
      uuid: r.uuid,
      datapath: dp,
      enabled: r.optBool('enabled'),
      querier: r.optBool('querier'),
      ethSrc: r.str('eth_src'),
      ip4Src: r.str('ip4_src'),
      ip6Src: r.str('ip6_src'),
      tableSize: r.optNum('table_size'),
      idleTimeout: r.optNum('idle_timeout'),
      queryInterval: r.optNum('query_interval'),
      queryMaxResp: r.optNum('query_max_resp'),
      seqNo: r.num('seq_no'),
    });
  }
  const fdb: M.SbFdb[] = rows('FDB').map((r) => ({ uuid: r.uuid, mac: r.str('mac'), dpKey: r.num('dp_key'), portKey: r.num('port_key') }));
  const bands = index(
    rows('Meter_Band').map((r): M.SbMeterBand => ({ uuid: r.uuid, action: r.str('action'), rate: r.num('rate'), burstSize: r.num('burst_size') })),
  );
  const meters: M.SbMeter[] = rows('Meter').map((r) => ({ uuid: r.uuid, name: r.str('name'), unit: r.str('unit'), bands: refs(bands, r.uuids('bands')) }));
  const bfd: M.SbBfd[] = rows('BFD').map((r) => ({
    uuid: r.uuid,
    srcPort: r.num('src_port'),
    disc: r.num('disc'),
    logicalPort: r.str('logical_port'),
    dstIp: r.str('dst_ip'),
    minTx: r.num('min_tx'),
    minRx: r.num('min_rx'),
    detectMult: r.num('detect_mult'),
    status: r.str('status'),
    externalIds: r.map('external_ids'),
    options: r.map('options'),
  }));
  const chassisTemplateVars: M.SbChassisTemplateVar[] = rows('Chassis_Template_Var').map((r) => ({ uuid: r.uuid, chassis: r.str('chassis'), variables: r.map('variables') }));
  const controllerEvents: M.SbControllerEvent[] = rows('Controller_Event').map((r) => ({
    uuid: r.uuid,
    eventType: r.str('event_type'),
    eventInfo: r.map('event_info'),
    chassis: ref(chassisBy, r.optStr('chassis')),
    seqNum: r.num('seq_num'),
  }));
  return {
    global,
    chassis,
    chassisPrivate,
    encaps,
    datapaths,
    portBindings,
    multicastGroups,
    datapathGroups,
    logicalFlows,
    macBindings,
    staticMacBindings,
    addressSets,
    portGroups,
    loadBalancers,
    dhcpOptions: dhcp('DHCP_Options'),
    dhcpv6Options: dhcp('DHCPv6_Options'),
    dns,
    serviceMonitors,
    igmpGroups,
    ipMulticast,
    fdb,
    meters,
    gatewayChassis,
    haChassisGroups,
    bfd,
    chassisTemplateVars,
    mirrors,
    controllerEvents,
  };
}

/**
 * A southbound database from raw rows (e.g. an OVSDB client's replica of a live OVN_Southbound,
 * `@ovnts/ovsdb`'s `OvsdbReplica.db.toRawDb()`). Throws `SbError` naming the row of a problem.
 */
export function sbFromRaw(raw: RawDb): M.SbDatabase {
  try {
    return buildSb(raw);
  } catch (e) {
    if (e instanceof NbError) throw fromNbError(e);
    throw e;
  }
}

/** The embedded OVN_Southbound schema (OVN 23.03). */
export const SB_SCHEMA: DbSchema = parseSchema(SB_SCHEMA_JSON);

/**
 * Loads a southbound database from OVSDB file bytes or text (`ovsdb-client backup` of
 * OVN_Southbound, or ovsdb-server's standalone file), or from `ovsdb-client dump -f json` output.
 * Throws `SbError` with the record, offset, table, row and column of a problem.
 */
export function loadSb(input: Uint8Array | string): M.SbDatabase {
  const buf = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  let i = 0;
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
  try {
    if (buf[i] === 0x7b) return buildSb(readDumpJson(new TextDecoder('utf-8', { fatal: true }).decode(buf), SB_SCHEMA));
    const f = readOvsdbFile(buf, { anySchemaName: true });
    if (f.schema.name !== SB_SCHEMA_NAME) throw new SbError({ record: 0, offset: 0 }, `schema name is ${JSON.stringify(f.schema.name)}, expected "${SB_SCHEMA_NAME}"`);
    return buildSb(f.raw);
  } catch (e) {
    if (e instanceof NbError) throw fromNbError(e);
    if (e instanceof TypeError && /decode/i.test(e.message)) throw new SbError({ offset: 0 }, 'input is not valid UTF-8');
    throw e;
  }
}

/** Loads a southbound database file (see `loadSb`). */
export function loadSbFile(path: string): M.SbDatabase {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SbError({}, `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return loadSb(bytes);
}
