/**
 * `NbDatabase`: a checked, typed northbound database. It is built from a `RawDb` (what the OVSDB
 * file reader, the JSON readers and the builder produce) in three steps: garbage collection
 * (OVSDB semantics), schema checks against the embedded OVN_Northbound schema (`checkRawDb`), then
 * typed rows with resolved references and parsed addresses, whose parse errors are reported with
 * table, row and column. Any problem throws the first `NbError`; `NbDatabase.check` lists them all.
 */
import type { IpAddr, IpPrefix, LspAddress, MacIps } from './addresses.js';
import {
  isMacText,
  parseBackends,
  parseExcludeIps,
  parseIpAddr,
  parseIpPort,
  parseLspAddress,
  parseMacIps,
  parseMacText,
  parsePortRange,
  parseIpPrefix,
} from './addresses.js';
import type { RawDb, RawRow } from './data.js';
import { checkRawDb, collectGarbage, rowName, sortedRows } from './data.js';
import type { Datum } from './datum.js';
import { defaultDatum } from './datum.js';
import { NbError } from './errors.js';
import type * as M from './model.js';
import { optBool, optInt } from './model.js';
import { NB_SCHEMA } from './schema.js';

type Where = { table: string; row: string; rowName: string | undefined };

/** Reads typed values out of one raw row, turning parse problems into located `NbError`s. */
class RowReader {
  readonly where: Where;
  constructor(
    private readonly owner: Builder,
    readonly table: string,
    readonly uuid: string,
    readonly row: RawRow,
  ) {
    this.where = { table, row: uuid, rowName: rowName(row) };
  }
  datum(col: string): Datum {
    const d = this.row.get(col);
    if (d) return d;
    const t = NB_SCHEMA.tables.get(this.table)?.columns.get(col)?.type;
    return t ? defaultDatum(t) : { keys: [] };
  }
  str(col: string): string {
    return String(this.datum(col).keys[0] ?? '');
  }
  num(col: string): number {
    return Number(this.datum(col).keys[0] ?? 0);
  }
  bool(col: string): boolean {
    return this.datum(col).keys[0] === true;
  }
  optStr(col: string): string | undefined {
    const k = this.datum(col).keys[0];
    return k === undefined ? undefined : String(k);
  }
  optNum(col: string): number | undefined {
    const k = this.datum(col).keys[0];
    return k === undefined ? undefined : Number(k);
  }
  optBool(col: string): boolean | undefined {
    const k = this.datum(col).keys[0];
    return k === undefined ? undefined : k === true;
  }
  strs(col: string): string[] {
    return this.datum(col).keys.map(String);
  }
  smap(col: string): ReadonlyMap<string, string> {
    const d = this.datum(col);
    return new Map(d.keys.map((k, i) => [String(k), String(d.values?.[i] ?? '')]));
  }
  imap(col: string): ReadonlyMap<string, number> {
    const d = this.datum(col);
    return new Map(d.keys.map((k, i) => [String(k), Number(d.values?.[i] ?? 0)]));
  }
  refs<T>(col: string): T[] {
    return this.datum(col).keys.map((u) => this.owner.resolve(String(u))).filter((r): r is NonNullable<typeof r> => r !== undefined) as T[];
  }
  ref<T>(col: string): T | undefined {
    const u = this.datum(col).keys[0];
    return u === undefined ? undefined : (this.owner.resolve(String(u)) as T | undefined);
  }
  /** Run a parser; on NbError report it at this row/column and return `fallback`. */
  parse<T>(col: string, f: () => T, fallback: T, key?: string): T {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof NbError)) throw e;
      const detail = key === undefined ? e.detail : `key ${JSON.stringify(key)}: ${e.detail}`;
      this.owner.errors.push(new NbError({ ...this.where, column: col }, detail));
      return fallback;
    }
  }
  error(col: string, detail: string): void {
    this.owner.errors.push(new NbError({ ...this.where, column: col }, detail));
  }
}

const ZERO_IP: IpAddr = { family: 4, addr: 0, text: '0.0.0.0' };
const ZERO_PREFIX: IpPrefix = { family: 4, addr: 0, text: '0.0.0.0/0', plen: 0 };

/** The reference columns of each northbound table (what `RowReader.refs`/`ref` resolve). */
const REF_COLUMNS = new Map<string, readonly string[]>(
  [...NB_SCHEMA.tables].map(([t, ts]) => [t, [...ts.columns.values()].filter((c) => c.type.key.refTable !== undefined || c.type.value?.refTable !== undefined).map((c) => c.name)]),
);

/**
 * Builds every typed row of a raw database (tables in reference order). Given the previous
 * version of the database, a row whose raw row is the same object as before and whose
 * references resolve to the same typed rows as before is taken over as it is: a typed row is
 * made from its raw row and the rows it references only, and rows reference rows of tables built
 * before theirs, so whatever changed is made again and, through the references, what refers to it.
 */
class Builder {
  readonly errors: NbError[] = [];
  readonly rows = new Map<string, { table: string; row: M.NbRow }>();
  /** Typed rows taken over from the previous version. */
  reused = 0;

  constructor(
    readonly raw: RawDb,
    private readonly prev: { readonly raw: RawDb; readonly rows: ReadonlyMap<string, { table: string; row: M.NbRow }> } | undefined,
  ) {}

  resolve(uuid: string): M.NbRow | undefined {
    return this.rows.get(uuid)?.row;
  }

  private unchanged(table: string, u: string, row: RawRow): M.NbRow | undefined {
    const prev = this.prev;
    if (!prev || prev.raw.get(table, u) !== row) return undefined;
    const old = prev.rows.get(u);
    if (!old || old.table !== table) return undefined;
    for (const c of REF_COLUMNS.get(table) ?? []) {
      const d = row.get(c);
      if (!d) continue;
      for (const a of d.values ? [...d.keys, ...d.values] : d.keys) {
        if (typeof a === 'string' && this.rows.get(a)?.row !== prev.rows.get(a)?.row) return undefined;
      }
    }
    return old.row;
  }

  each<T extends M.NbRow>(table: string, make: (r: RowReader) => Omit<T, 'uuid'>): T[] {
    const out: T[] = [];
    for (const [u, row] of sortedRows(this.raw, table)) {
      let t = this.unchanged(table, u, row) as T | undefined;
      if (t) this.reused++;
      else t = { uuid: u, ...make(new RowReader(this, table, u, row)) } as T;
      this.rows.set(u, { table, row: t });
      out.push(t);
    }
    return out;
  }
}

function ext(r: RowReader): { external_ids: ReadonlyMap<string, string> } {
  return { external_ids: r.smap('external_ids') };
}

function ipList(r: RowReader, col: string, text: string, key?: string): IpAddr[] {
  return r.parse(col, () => text.split(/[ \t]+/).filter((w) => w !== '').map(parseIpAddr), [], key);
}

/** A checked, typed OVN northbound database. */
export class NbDatabase {
  /** The untyped data underneath. */
  readonly raw: RawDb;
  /** Schema version the data was written with. */
  readonly schemaVersion: string;
  /** NB_Global (undefined in a database nobody has initialised). */
  readonly global: M.NbGlobal | undefined;
  /** Logical switches. */
  readonly switches: readonly M.LogicalSwitch[];
  /** Logical switch ports. */
  readonly switchPorts: readonly M.LogicalSwitchPort[];
  /** Logical routers. */
  readonly routers: readonly M.LogicalRouter[];
  /** Logical router ports. */
  readonly routerPorts: readonly M.LogicalRouterPort[];
  /** ACLs. */
  readonly acls: readonly M.Acl[];
  /** Address sets. */
  readonly addressSets: readonly M.AddressSet[];
  /** Port groups. */
  readonly portGroups: readonly M.PortGroup[];
  /** Load balancers. */
  readonly loadBalancers: readonly M.LoadBalancer[];
  /** Load balancer groups. */
  readonly loadBalancerGroups: readonly M.LoadBalancerGroup[];
  /** Load balancer health checks. */
  readonly healthChecks: readonly M.LoadBalancerHealthCheck[];
  /** NAT rules. */
  readonly nats: readonly M.Nat[];
  /** Static routes. */
  readonly staticRoutes: readonly M.LogicalRouterStaticRoute[];
  /** Router policies. */
  readonly routerPolicies: readonly M.LogicalRouterPolicy[];
  /** DHCP options. */
  readonly dhcpOptions: readonly M.DhcpOptions[];
  /** DNS records. */
  readonly dns: readonly M.Dns[];
  /** Meters. */
  readonly meters: readonly M.Meter[];
  /** Meter bands. */
  readonly meterBands: readonly M.MeterBand[];
  /** QoS rules. */
  readonly qos: readonly M.QoS[];
  /** Static MAC bindings. */
  readonly staticMacBindings: readonly M.StaticMacBinding[];
  /** Gateway chassis. */
  readonly gatewayChassis: readonly M.GatewayChassis[];
  /** HA chassis. */
  readonly haChassis: readonly M.HaChassis[];
  /** HA chassis groups. */
  readonly haChassisGroups: readonly M.HaChassisGroup[];
  /** BFD sessions. */
  readonly bfd: readonly M.Bfd[];
  /** Control plane protection policies. */
  readonly copps: readonly M.Copp[];

  private readonly byUuid: Map<string, { table: string; row: M.NbRow }>;
  private readonly lspSwitch = new Map<M.LogicalSwitchPort, M.LogicalSwitch>();
  private readonly lrpRouter = new Map<M.LogicalRouterPort, M.LogicalRouter>();

  private constructor(raw: RawDb, b: Builder, t: Tables) {
    this.raw = raw;
    this.schemaVersion = raw.schema.version;
    this.byUuid = b.rows;
    this.reusedRows = b.reused;
    this.global = t.global[0];
    this.switches = t.switches;
    this.switchPorts = t.switchPorts;
    this.routers = t.routers;
    this.routerPorts = t.routerPorts;
    this.acls = t.acls;
    this.addressSets = t.addressSets;
    this.portGroups = t.portGroups;
    this.loadBalancers = t.loadBalancers;
    this.loadBalancerGroups = t.loadBalancerGroups;
    this.healthChecks = t.healthChecks;
    this.nats = t.nats;
    this.staticRoutes = t.staticRoutes;
    this.routerPolicies = t.routerPolicies;
    this.dhcpOptions = t.dhcpOptions;
    this.dns = t.dns;
    this.meters = t.meters;
    this.meterBands = t.meterBands;
    this.qos = t.qos;
    this.staticMacBindings = t.staticMacBindings;
    this.gatewayChassis = t.gatewayChassis;
    this.haChassis = t.haChassis;
    this.haChassisGroups = t.haChassisGroups;
    this.bfd = t.bfd;
    this.copps = t.copps;
    for (const ls of this.switches) for (const p of ls.ports) this.lspSwitch.set(p, ls);
    for (const lr of this.routers) for (const p of lr.ports) this.lrpRouter.set(p, lr);
  }

  /**
   * Build a typed database from raw data: garbage-collect, check against the embedded schema,
   * parse. Throws the first `NbError`. `previous`, an earlier version whose raw data shares the
   * row objects that did not change (as a server's successive snapshots do; rows are replaced,
   * never modified in place), lets unchanged typed rows be taken over instead of parsed again;
   * the result is the same either way.
   */
  static fromRaw(raw: RawDb, previous?: NbDatabase): NbDatabase {
    const r = NbDatabase.build(raw, previous);
    if (r.errors.length) throw r.errors[0]!;
    return r.db!;
  }

  /** Every problem in raw data (schema and semantic checks); empty when `fromRaw` would succeed. */
  static check(raw: RawDb): NbError[] {
    return NbDatabase.build(raw, undefined).errors;
  }

  /** Typed rows taken over from the previous version by `fromRaw` (0 without one). */
  readonly reusedRows: number;

  private static build(raw: RawDb, previous: NbDatabase | undefined): { db?: NbDatabase; errors: NbError[] } {
    collectGarbage(raw);
    const errors = checkRawDb(raw, NB_SCHEMA);
    if (errors.length) return { errors };
    const b = new Builder(raw, previous && previous.raw !== raw ? { raw: previous.raw, rows: previous.byUuid } : undefined);
    const t = buildTables(b);
    crossChecks(b, t);
    if (b.errors.length) return { errors: b.errors };
    return { db: new NbDatabase(raw, b, t), errors: [] };
  }

  /** Any row by uuid. */
  row(uuid: string): M.NbRow | undefined {
    return this.byUuid.get(uuid.toLowerCase())?.row;
  }

  /** The table a row uuid belongs to. */
  tableOf(uuid: string): string | undefined {
    return this.byUuid.get(uuid.toLowerCase())?.table;
  }

  private readonly nameIndex = new Map<string, Map<string, M.NbRow[]>>();

  private lookup<T extends M.NbRow & { name: string }>(rows: readonly T[], table: string, key: string): T | undefined {
    const byId = this.byUuid.get(key.toLowerCase());
    if (byId && byId.table === table) return byId.row as T;
    let ix = this.nameIndex.get(table);
    if (!ix) {
      ix = new Map();
      for (const r of rows) {
        const l = ix.get(r.name);
        if (l) l.push(r);
        else ix.set(r.name, [r]);
      }
      this.nameIndex.set(table, ix);
    }
    const hits = (ix.get(key) ?? []) as T[];
    if (hits.length > 1) throw new NbError({ table }, `multiple rows named ${JSON.stringify(key)}: use a uuid`);
    return hits[0];
  }

  /** A logical switch by name or uuid (throws `NbError` when the name is ambiguous). */
  lookupSwitch(nameOrUuid: string): M.LogicalSwitch | undefined {
    return this.lookup(this.switches, 'Logical_Switch', nameOrUuid);
  }

  /** A logical router by name or uuid (throws `NbError` when the name is ambiguous). */
  lookupRouter(nameOrUuid: string): M.LogicalRouter | undefined {
    return this.lookup(this.routers, 'Logical_Router', nameOrUuid);
  }

  /** A logical switch port by name or uuid. */
  lookupPort(nameOrUuid: string): M.LogicalSwitchPort | undefined {
    return this.lookup(this.switchPorts, 'Logical_Switch_Port', nameOrUuid);
  }

  /** A logical router port by name or uuid. */
  lookupRouterPort(nameOrUuid: string): M.LogicalRouterPort | undefined {
    return this.lookup(this.routerPorts, 'Logical_Router_Port', nameOrUuid);
  }

  /** An address set by name or uuid. */
  lookupAddressSet(nameOrUuid: string): M.AddressSet | undefined {
    return this.lookup(this.addressSets, 'Address_Set', nameOrUuid);
  }

  /** A port group by name or uuid. */
  lookupPortGroup(nameOrUuid: string): M.PortGroup | undefined {
    return this.lookup(this.portGroups, 'Port_Group', nameOrUuid);
  }

  /** A load balancer by name or uuid (throws `NbError` when the name is ambiguous). */
  lookupLoadBalancer(nameOrUuid: string): M.LoadBalancer | undefined {
    return this.lookup(this.loadBalancers, 'Load_Balancer', nameOrUuid);
  }

  /** A load balancer group by name or uuid. */
  lookupLoadBalancerGroup(nameOrUuid: string): M.LoadBalancerGroup | undefined {
    return this.lookup(this.loadBalancerGroups, 'Load_Balancer_Group', nameOrUuid);
  }

  /** A meter by name or uuid. */
  lookupMeter(nameOrUuid: string): M.Meter | undefined {
    return this.lookup(this.meters, 'Meter', nameOrUuid);
  }

  /** The switch a port belongs to. */
  switchOf(port: M.LogicalSwitchPort): M.LogicalSwitch | undefined {
    return this.lspSwitch.get(port);
  }

  /** The router a port belongs to. */
  routerOf(port: M.LogicalRouterPort): M.LogicalRouter | undefined {
    return this.lrpRouter.get(port);
  }

  /** The router port a `router`-type switch port attaches to (its `options:router-port`). */
  routerPortOf(port: M.LogicalSwitchPort): M.LogicalRouterPort | undefined {
    return port.routerPort === undefined ? undefined : this.routerPorts.find((p) => p.name === port.routerPort);
  }

  /** The port groups a switch port is in. */
  portGroupsOf(port: M.LogicalSwitchPort): M.PortGroup[] {
    return this.portGroups.filter((g) => g.ports.includes(port));
  }
}

interface Tables {
  global: M.NbGlobal[];
  switches: M.LogicalSwitch[];
  switchPorts: M.LogicalSwitchPort[];
  routers: M.LogicalRouter[];
  routerPorts: M.LogicalRouterPort[];
  acls: M.Acl[];
  addressSets: M.AddressSet[];
  portGroups: M.PortGroup[];
  loadBalancers: M.LoadBalancer[];
  loadBalancerGroups: M.LoadBalancerGroup[];
  healthChecks: M.LoadBalancerHealthCheck[];
  nats: M.Nat[];
  staticRoutes: M.LogicalRouterStaticRoute[];
  routerPolicies: M.LogicalRouterPolicy[];
  dhcpOptions: M.DhcpOptions[];
  dns: M.Dns[];
  meters: M.Meter[];
  meterBands: M.MeterBand[];
  qos: M.QoS[];
  staticMacBindings: M.StaticMacBinding[];
  gatewayChassis: M.GatewayChassis[];
  haChassis: M.HaChassis[];
  haChassisGroups: M.HaChassisGroup[];
  bfd: M.Bfd[];
  copps: M.Copp[];
}

function switchConfig(r: RowReader): M.LogicalSwitchConfig {
  const oc = r.smap('other_config');
  const c: M.LogicalSwitchConfig = {
    excludeIps: [],
    macOnly: optBool(oc, 'mac_only', false),
    mcastSnoop: optBool(oc, 'mcast_snoop', false),
    mcastQuerier: optBool(oc, 'mcast_querier', true),
    mcastFloodUnregistered: optBool(oc, 'mcast_flood_unregistered', false),
    mcastTableSize: optInt(oc, 'mcast_table_size', 2048),
    mcastIdleTimeout: Math.min(3600, Math.max(15, optInt(oc, 'mcast_idle_timeout', 300))),
    mcastQueryInterval: 0,
    mcastQueryMaxResponse: optInt(oc, 'mcast_query_max_response', 1),
  };
  c.mcastQueryInterval = Math.min(3600, Math.max(1, optInt(oc, 'mcast_query_interval', Math.floor(c.mcastIdleTimeout / 2))));
  const subnet = oc.get('subnet');
  if (subnet !== undefined) {
    const p = r.parse('other_config', () => parseIpPrefix(subnet, true), undefined, 'subnet');
    if (p && p.family !== 4) r.error('other_config', `key "subnet": ${JSON.stringify(subnet)} is not an IPv4 subnet`);
    else if (p) c.subnet = p;
  }
  const ex = oc.get('exclude_ips');
  if (ex !== undefined) c.excludeIps = r.parse('other_config', () => parseExcludeIps(ex), [], 'exclude_ips');
  const v6 = oc.get('ipv6_prefix');
  if (v6 !== undefined) {
    const p = r.parse('other_config', () => parseIpPrefix(v6), undefined, 'ipv6_prefix');
    if (p && p.family !== 6) r.error('other_config', `key "ipv6_prefix": ${JSON.stringify(v6)} is not an IPv6 prefix`);
    else if (p) c.ipv6Prefix = p.text.includes('/') ? p : { ...p, plen: 64 };
  }
  const es = oc.get('mcast_eth_src');
  if (es !== undefined && isMacText(es)) c.mcastEthSrc = parseMacText(es);
  for (const [k, fam] of [
    ['mcast_ip4_src', 4],
    ['mcast_ip6_src', 6],
  ] as const) {
    const v = oc.get(k);
    if (v === undefined) continue;
    try {
      const a = parseIpAddr(v);
      if (a.family === fam) {
        if (fam === 4) c.mcastIp4Src = a;
        else c.mcastIp6Src = a;
      }
    } catch {
      // OVN ignores a malformed querier source and falls back to its default.
    }
  }
  return c;
}

function routerConfig(r: RowReader): M.LogicalRouterConfig {
  const o = r.smap('options');
  const c: M.LogicalRouterConfig = {
    mcastRelay: optBool(o, 'mcast_relay', false),
    dynamicNeighRouters: optBool(o, 'dynamic_neigh_routers', false),
    alwaysLearnFromArpRequest: optBool(o, 'always_learn_from_arp_request', true),
  };
  const ch = o.get('chassis');
  if (ch !== undefined && ch !== '') c.chassis = ch;
  const f = o.get('lb_force_snat_ip');
  if (f !== undefined) c.lbForceSnatIp = f === 'router_ip' ? 'router_ip' : ipList(r, 'options', f, 'lb_force_snat_ip');
  if (o.has('snat-ct-zone')) c.snatCtZone = optInt(o, 'snat-ct-zone', 0);
  return c;
}

function lbConfig(r: RowReader): M.LoadBalancerConfig {
  const o = r.smap('options');
  const c: M.LoadBalancerConfig = {
    hairpinSnatIp: [],
    reject: optBool(o, 'reject', false),
    skipSnat: optBool(o, 'skip_snat', false),
    template: optBool(o, 'template', false),
  };
  const at = o.get('affinity_timeout');
  if (at !== undefined) {
    const n = optInt(o, 'affinity_timeout', -1);
    if (n < 0) r.error('options', `key "affinity_timeout": invalid timeout ${JSON.stringify(at)}`);
    else c.affinityTimeout = n;
  }
  const h = o.get('hairpin_snat_ip');
  if (h !== undefined) c.hairpinSnatIp = ipList(r, 'options', h, 'hairpin_snat_ip');
  const nr = o.get('neighbor_responder');
  if (nr !== undefined) c.neighborResponder = nr;
  return c;
}

function lbVips(r: RowReader, template: boolean): M.LbVip[] {
  if (template) return [];
  const vips = r.smap('vips');
  const out: M.LbVip[] = [];
  for (const [key, value] of vips) {
    const v = r.parse(
      'vips',
      () => {
        const vip = parseIpPort(key);
        const backends = parseBackends(value);
        for (const b of backends) {
          if (b.ip.family !== vip.ip.family) throw new NbError({}, `backend ${JSON.stringify(b.text)} is not the VIP's address family`);
          if ((vip.port === undefined) !== (b.port === undefined)) {
            throw new NbError({}, `backend ${JSON.stringify(b.text)} ${vip.port === undefined ? 'has a port but the VIP does not' : 'needs a port like the VIP'}`);
          }
        }
        return { key, value, vip, backends };
      },
      undefined,
      key,
    );
    if (v) out.push(v);
  }
  return out;
}

function buildTables(b: Builder): Tables {
  const meterBands = b.each<M.MeterBand>('Meter_Band', (r) => ({
    ...ext(r),
    action: r.str('action') as 'drop',
    rate: r.num('rate'),
    burst_size: r.num('burst_size'),
  }));
  const meters = b.each<M.Meter>('Meter', (r) => ({
    ...ext(r),
    name: r.str('name'),
    unit: r.str('unit') as 'kbps' | 'pktps',
    bands: r.refs<M.MeterBand>('bands'),
    fair: r.optBool('fair'),
  }));
  const haChassis = b.each<M.HaChassis>('HA_Chassis', (r) => ({ ...ext(r), chassis_name: r.str('chassis_name'), priority: r.num('priority') }));
  const haChassisGroups = b.each<M.HaChassisGroup>('HA_Chassis_Group', (r) => ({
    ...ext(r),
    name: r.str('name'),
    ha_chassis: r.refs<M.HaChassis>('ha_chassis'),
  }));
  const gatewayChassis = b.each<M.GatewayChassis>('Gateway_Chassis', (r) => ({
    ...ext(r),
    name: r.str('name'),
    chassis_name: r.str('chassis_name'),
    priority: r.num('priority'),
    options: r.smap('options'),
  }));
  const bfd = b.each<M.Bfd>('BFD', (r) => ({
    ...ext(r),
    logical_port: r.str('logical_port'),
    dst_ip: r.str('dst_ip'),
    status: r.optStr('status'),
    options: r.smap('options'),
  }));
  const copps = b.each<M.Copp>('Copp', (r) => ({ ...ext(r), name: r.str('name'), meters: r.smap('meters') }));
  const acls = b.each<M.Acl>('ACL', (r) => {
    const options = r.smap('options');
    return {
      ...ext(r),
      name: r.optStr('name'),
      priority: r.num('priority'),
      direction: r.str('direction') as M.NbDirection,
      match: r.str('match'),
      action: r.str('action') as M.AclAction,
      tier: r.num('tier'),
      log: r.bool('log'),
      severity: r.optStr('severity') as M.Severity | undefined,
      meter: r.optStr('meter'),
      label: r.num('label'),
      options,
      applyAfterLb: optBool(options, 'apply-after-lb', false),
    };
  });
  const qos = b.each<M.QoS>('QoS', (r) => ({
    ...ext(r),
    priority: r.num('priority'),
    direction: r.str('direction') as M.NbDirection,
    match: r.str('match'),
    action: r.imap('action'),
    bandwidth: r.imap('bandwidth'),
  }));
  const dhcpOptions = b.each<M.DhcpOptions>('DHCP_Options', (r) => ({
    ...ext(r),
    cidr: r.parse('cidr', () => parseIpPrefix(r.str('cidr')), ZERO_PREFIX),
    options: r.smap('options'),
  }));
  const dns = b.each<M.Dns>('DNS', (r) => ({ ...ext(r), records: r.smap('records') }));
  const addressSets = b.each<M.AddressSet>('Address_Set', (r) => {
    const addresses = r.strs('addresses');
    for (const a of addresses) {
      if (isMacText(a)) continue;
      r.parse('addresses', () => parseIpPrefix(a), undefined);
    }
    return { ...ext(r), name: r.str('name'), addresses };
  });
  const healthChecks = b.each<M.LoadBalancerHealthCheck>('Load_Balancer_Health_Check', (r) => ({
    ...ext(r),
    vip: r.str('vip'),
    options: r.smap('options'),
  }));
  const loadBalancers = b.each<M.LoadBalancer>('Load_Balancer', (r) => {
    const config = lbConfig(r);
    return {
      ...ext(r),
      name: r.str('name'),
      vips: r.smap('vips'),
      vipList: lbVips(r, config.template),
      protocol: r.optStr('protocol') as M.LoadBalancer['protocol'],
      health_check: r.refs<M.LoadBalancerHealthCheck>('health_check'),
      ip_port_mappings: r.smap('ip_port_mappings'),
      selection_fields: r.strs('selection_fields') as M.LoadBalancer['selection_fields'][number][],
      options: r.smap('options'),
      config,
    };
  });
  const loadBalancerGroups = b.each<M.LoadBalancerGroup>('Load_Balancer_Group', (r) => ({
    name: r.str('name'),
    load_balancer: r.refs<M.LoadBalancer>('load_balancer'),
  }));
  const switchPorts = b.each<M.LogicalSwitchPort>('Logical_Switch_Port', (r) => {
    const options = r.smap('options');
    const addresses: LspAddress[] = [];
    for (const a of r.strs('addresses')) {
      const p = r.parse('addresses', () => parseLspAddress(a), undefined);
      if (p) addresses.push(p);
    }
    const port_security: MacIps[] = [];
    for (const a of r.strs('port_security')) {
      const p = r.parse('port_security', () => parseMacIps(a), undefined);
      if (p) port_security.push(p);
    }
    const da = r.optStr('dynamic_addresses');
    return {
      ...ext(r),
      name: r.str('name'),
      type: r.str('type'),
      options,
      parent_name: r.optStr('parent_name'),
      tag_request: r.optNum('tag_request'),
      tag: r.optNum('tag'),
      addresses,
      dynamic_addresses: da === undefined ? undefined : r.parse('dynamic_addresses', () => parseMacIps(da), undefined),
      port_security,
      up: r.optBool('up'),
      enabled: r.optBool('enabled'),
      dhcpv4_options: r.ref<M.DhcpOptions>('dhcpv4_options'),
      dhcpv6_options: r.ref<M.DhcpOptions>('dhcpv6_options'),
      ha_chassis_group: r.ref<M.HaChassisGroup>('ha_chassis_group'),
      routerPort: options.get('router-port'),
    };
  });
  const switches = b.each<M.LogicalSwitch>('Logical_Switch', (r) => ({
    ...ext(r),
    name: r.str('name'),
    ports: r.refs<M.LogicalSwitchPort>('ports'),
    acls: r.refs<M.Acl>('acls'),
    qos_rules: r.refs<M.QoS>('qos_rules'),
    load_balancer: r.refs<M.LoadBalancer>('load_balancer'),
    load_balancer_group: r.refs<M.LoadBalancerGroup>('load_balancer_group'),
    dns_records: r.refs<M.Dns>('dns_records'),
    copp: r.ref<M.Copp>('copp'),
    other_config: r.smap('other_config'),
    config: switchConfig(r),
  }));
  const routerPorts = b.each<M.LogicalRouterPort>('Logical_Router_Port', (r) => {
    const networks: IpPrefix[] = [];
    for (const n of r.strs('networks')) {
      const p = r.parse('networks', () => parseIpPrefix(n, true), undefined);
      if (p) networks.push(p);
    }
    return {
      ...ext(r),
      name: r.str('name'),
      gateway_chassis: r.refs<M.GatewayChassis>('gateway_chassis'),
      ha_chassis_group: r.ref<M.HaChassisGroup>('ha_chassis_group'),
      options: r.smap('options'),
      networks,
      mac: r.parse('mac', () => parseMacText(r.str('mac')), 0),
      peer: r.optStr('peer'),
      enabled: r.optBool('enabled'),
      ipv6_ra_configs: r.smap('ipv6_ra_configs'),
      ipv6_prefix: r.strs('ipv6_prefix'),
    };
  });
  const staticRoutes = b.each<M.LogicalRouterStaticRoute>('Logical_Router_Static_Route', (r) => {
    const options = r.smap('options');
    const nh = r.str('nexthop');
    return {
      ...ext(r),
      route_table: r.str('route_table'),
      ip_prefix: r.parse('ip_prefix', () => parseIpPrefix(r.str('ip_prefix')), ZERO_PREFIX),
      policy: r.optStr('policy') as M.LogicalRouterStaticRoute['policy'],
      nexthop: nh === 'discard' ? 'discard' : r.parse('nexthop', () => parseIpAddr(nh), ZERO_IP),
      output_port: r.optStr('output_port'),
      bfd: r.ref<M.Bfd>('bfd'),
      options,
      ecmpSymmetricReply: optBool(options, 'ecmp_symmetric_reply', false),
    };
  });
  const routerPolicies = b.each<M.LogicalRouterPolicy>('Logical_Router_Policy', (r) => {
    const options = r.smap('options');
    const nh = r.optStr('nexthop');
    const pm = options.get('pkt_mark');
    let pktMark: number | undefined;
    if (pm !== undefined) {
      if (/^[0-9]{1,10}$/.test(pm) && Number(pm) <= 0xffffffff) pktMark = Number(pm);
      else r.error('options', `key "pkt_mark": invalid mark ${JSON.stringify(pm)}`);
    }
    return {
      ...ext(r),
      priority: r.num('priority'),
      match: r.str('match'),
      action: r.str('action') as M.LogicalRouterPolicy['action'],
      nexthop: nh === undefined ? undefined : r.parse('nexthop', () => parseIpAddr(nh), undefined),
      nexthops: r.strs('nexthops').map((n) => r.parse('nexthops', () => parseIpAddr(n), ZERO_IP)),
      options,
      pktMark,
    };
  });
  const nats = b.each<M.Nat>('NAT', (r) => {
    const type = r.str('type') as M.NatType;
    const external_ip = r.parse('external_ip', () => parseIpAddr(r.str('external_ip')), ZERO_IP);
    const logical_ip = r.parse('logical_ip', () => parseIpPrefix(r.str('logical_ip')), ZERO_PREFIX);
    if (type !== 'snat' && logical_ip.text.includes('/')) r.error('logical_ip', `${type} needs an address, not a network: ${JSON.stringify(logical_ip.text)}`);
    if (external_ip !== ZERO_IP && logical_ip !== ZERO_PREFIX && external_ip.family !== logical_ip.family) {
      r.error('logical_ip', `${JSON.stringify(logical_ip.text)} is not in the address family of external_ip ${JSON.stringify(external_ip.text)}`);
    }
    const em = r.optStr('external_mac');
    const pr = r.str('external_port_range');
    return {
      ...ext(r),
      type,
      external_ip,
      external_mac: em === undefined ? undefined : r.parse('external_mac', () => parseMacText(em), undefined),
      external_port_range: pr === '' ? undefined : r.parse('external_port_range', () => parsePortRange(pr), undefined),
      logical_ip,
      logical_port: r.optStr('logical_port'),
      allowed_ext_ips: r.ref<M.AddressSet>('allowed_ext_ips'),
      exempted_ext_ips: r.ref<M.AddressSet>('exempted_ext_ips'),
      gateway_port: r.ref<M.LogicalRouterPort>('gateway_port'),
      options: r.smap('options'),
    };
  });
  const routers = b.each<M.LogicalRouter>('Logical_Router', (r) => ({
    ...ext(r),
    name: r.str('name'),
    ports: r.refs<M.LogicalRouterPort>('ports'),
    static_routes: r.refs<M.LogicalRouterStaticRoute>('static_routes'),
    policies: r.refs<M.LogicalRouterPolicy>('policies'),
    enabled: r.optBool('enabled'),
    nat: r.refs<M.Nat>('nat'),
    load_balancer: r.refs<M.LoadBalancer>('load_balancer'),
    load_balancer_group: r.refs<M.LoadBalancerGroup>('load_balancer_group'),
    copp: r.ref<M.Copp>('copp'),
    options: r.smap('options'),
    config: routerConfig(r),
  }));
  const portGroups = b.each<M.PortGroup>('Port_Group', (r) => ({
    ...ext(r),
    name: r.str('name'),
    ports: r.refs<M.LogicalSwitchPort>('ports'),
    acls: r.refs<M.Acl>('acls'),
  }));
  const staticMacBindings = b.each<M.StaticMacBinding>('Static_MAC_Binding', (r) => ({
    logical_port: r.str('logical_port'),
    ip: r.parse('ip', () => parseIpAddr(r.str('ip')), ZERO_IP),
    mac: r.parse('mac', () => parseMacText(r.str('mac')), 0),
    override_dynamic_mac: r.bool('override_dynamic_mac'),
  }));
  const global = b.each<M.NbGlobal>('NB_Global', (r) => ({
    ...ext(r),
    name: r.str('name'),
    nb_cfg: r.num('nb_cfg'),
    sb_cfg: r.num('sb_cfg'),
    hv_cfg: r.num('hv_cfg'),
    options: r.smap('options'),
    ipsec: r.bool('ipsec'),
  }));
  return {
    global,
    switches,
    switchPorts,
    routers,
    routerPorts,
    acls,
    addressSets,
    portGroups,
    loadBalancers,
    loadBalancerGroups,
    healthChecks,
    nats,
    staticRoutes,
    routerPolicies,
    dhcpOptions,
    dns,
    meters,
    meterBands,
    qos,
    staticMacBindings,
    gatewayChassis,
    haChassis,
    haChassisGroups,
    bfd,
    copps,
  };
}

/** Checks that span rows: a port belongs to at most one switch/router. */
function crossChecks(b: Builder, t: Tables): void {
  const owners = <P extends M.NbRow & { name: string }>(
    parents: readonly (M.NbRow & { name: string; ports: readonly P[] })[],
    parentTable: string,
    what: string,
  ) => {
    const seen = new Map<P, M.NbRow & { name: string }>();
    for (const s of parents) {
      for (const p of s.ports) {
        const o = seen.get(p);
        if (o) {
          b.errors.push(
            new NbError(
              { table: parentTable, row: s.uuid, rowName: s.name, column: 'ports' },
              `${what} ${JSON.stringify(p.name)} (${p.uuid}) is also a port of ${JSON.stringify(o.name)} (${o.uuid})`,
            ),
          );
        } else seen.set(p, s);
      }
    }
  };
  owners(t.switches, 'Logical_Switch', 'logical switch port');
  owners(t.routers, 'Logical_Router', 'logical router port');
}
