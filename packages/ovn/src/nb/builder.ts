/**
 * A typed builder for northbound databases, for tests, demos and the Kubernetes mapping:
 *
 *   const nb = new NbBuilder();
 *   const sw = nb.logicalSwitch('sw0', { subnet: '10.0.0.0/24' });
 *   sw.port('p1', { addresses: ['00:00:00:00:00:01 10.0.0.1'], portSecurity: ['00:00:00:00:00:01 10.0.0.1'] });
 *   const lr = nb.router('lr0');
 *   nb.connect(sw, lr, { mac: '00:00:00:00:ff:01', networks: ['10.0.0.254/24'] });
 *   nb.acl(sw, { direction: 'from-lport', priority: 100, match: 'ip4', action: 'allow-related' });
 *   const db = nb.build();
 *
 * It writes rows into the same `RawDb` the OVSDB file reader produces, so `build()` runs exactly
 * the same garbage collection, schema checks and parsing, and yields the same `NbDatabase`.
 * Beyond those checks it refuses, like ovn-nbctl, duplicate switch and router names. Row uuids
 * are deterministic (a counter), so two identical builds give identical databases.
 */
import { RawDb } from './data.js';
import type { Datum } from './datum.js';
import { mapDatum, setDatum } from './datum.js';
import { NbDatabase } from './db.js';
import { NbError } from './errors.js';
import type { AclAction, NbDirection, NatType, Severity } from './model.js';
import { NB_SCHEMA } from './schema.js';

type Row = Record<string, Datum>;
type StrMap = Readonly<Record<string, string>>;

const one = (v: string | number | boolean): Datum => ({ keys: [v] });
const opt = (v: string | number | boolean | undefined): Datum => ({ keys: v === undefined ? [] : [v] });
const strs = (v: readonly string[] | undefined): Datum => setDatum(v ?? []);
const smap = (m: StrMap | undefined): Datum => mapDatum(Object.entries(m ?? {}));
const refs = (hs: readonly { uuid: string }[] | undefined): Datum => setDatum((hs ?? []).map((h) => h.uuid));

/** A handle to a row the builder created. */
export interface RowHandle {
  /** The row's uuid. */
  readonly uuid: string;
  /** Its table. */
  readonly table: string;
}

/** Common options of rows with external_ids. */
export interface ExternalIdsOpts {
  /** external_ids. */
  externalIds?: StrMap;
}

/** Options of `logicalSwitch()`. */
export interface SwitchOpts extends ExternalIdsOpts {
  /** other_config:subnet. */
  subnet?: string;
  /** other_config:exclude_ips. */
  excludeIps?: string;
  /** other_config:ipv6_prefix. */
  ipv6Prefix?: string;
  /** other_config:mcast_snoop. */
  mcastSnoop?: boolean;
  /** other_config:mcast_querier. */
  mcastQuerier?: boolean;
  /** Other other_config keys. */
  otherConfig?: StrMap;
}

/** Options of `SwitchHandle.port()`. */
export interface SwitchPortOpts extends ExternalIdsOpts {
  /** Port type ("" = VIF, router, localnet, localport, remote, ...). */
  type?: string;
  /** addresses entries (`MAC IP...`, `router`, `unknown`, `dynamic`). */
  addresses?: readonly string[];
  /** port_security entries (`MAC IP...`). */
  portSecurity?: readonly string[];
  /** options. */
  options?: StrMap;
  /** parent_name (container ports). */
  parentName?: string;
  /** tag_request. */
  tagRequest?: number;
  /** tag. */
  tag?: number;
  /** enabled. */
  enabled?: boolean;
  /** up. */
  up?: boolean;
  /** dhcpv4_options. */
  dhcpv4Options?: RowHandle;
  /** dhcpv6_options. */
  dhcpv6Options?: RowHandle;
}

/** Options of `router()`. */
export interface RouterOpts extends ExternalIdsOpts {
  /** options:chassis (gateway router). */
  chassis?: string;
  /** options:mcast_relay. */
  mcastRelay?: boolean;
  /** options:lb_force_snat_ip. */
  lbForceSnatIp?: string;
  /** options:dynamic_neigh_routers. */
  dynamicNeighRouters?: boolean;
  /** Other options. */
  options?: StrMap;
  /** enabled. */
  enabled?: boolean;
}

/** A gateway chassis for a router port. */
export interface GatewayChassisOpts {
  /** Chassis name. */
  chassis: string;
  /** Priority 0..32767. */
  priority: number;
}

/** Options of `RouterHandle.port()`. */
export interface RouterPortOpts extends ExternalIdsOpts {
  /** MAC address. */
  mac: string;
  /** Networks `IP/plen`. */
  networks: readonly string[];
  /** Peer router port name. */
  peer?: string;
  /** Gateway chassis (distributed gateway port); names are `<port>-<chassis>` as ovn-nbctl makes them. */
  gatewayChassis?: readonly GatewayChassisOpts[];
  /** options. */
  options?: StrMap;
  /** enabled. */
  enabled?: boolean;
}

/** Options of `acl()`. */
export interface AclOpts extends ExternalIdsOpts {
  /** NbDirection. */
  direction: NbDirection;
  /** Priority 0..32767. */
  priority: number;
  /** Match expression. */
  match: string;
  /** Action. */
  action: AclAction;
  /** Tier 0..3. */
  tier?: number;
  /** Log matches. */
  log?: boolean;
  /** Name. */
  name?: string;
  /** Severity. */
  severity?: Severity;
  /** Meter. */
  meter?: string;
  /** Label. */
  label?: number;
  /** options:apply-after-lb. */
  applyAfterLb?: boolean;
  /** Other options. */
  options?: StrMap;
}

/** Options of `loadBalancer()`. */
export interface LoadBalancerOpts extends ExternalIdsOpts {
  /** VIP (`IP[:port]`) to backends (`IP[:port],...`). */
  vips: StrMap;
  /** Protocol (unset = tcp). */
  protocol?: 'tcp' | 'udp' | 'sctp';
  /** selection_fields. */
  selectionFields?: readonly ('eth_src' | 'eth_dst' | 'ip_src' | 'ip_dst' | 'tp_src' | 'tp_dst')[];
  /** options:affinity_timeout. */
  affinityTimeout?: number;
  /** options:hairpin_snat_ip. */
  hairpinSnatIp?: string;
  /** options:reject. */
  reject?: boolean;
  /** options:skip_snat. */
  skipSnat?: boolean;
  /** Other options. */
  options?: StrMap;
}

/** Options of `nat()`. */
export interface NatOpts extends ExternalIdsOpts {
  /** Type. */
  type: NatType;
  /** External IP. */
  externalIp: string;
  /** Logical IP (or network, for snat). */
  logicalIp: string;
  /** Logical port (distributed dnat_and_snat). */
  logicalPort?: string;
  /** External MAC (distributed dnat_and_snat). */
  externalMac?: string;
  /** External port range `LO-HI`. */
  externalPortRange?: string;
  /** options. */
  options?: StrMap;
}

/** Options of `route()`. */
export interface RouteOpts extends ExternalIdsOpts {
  /** Prefix. */
  prefix: string;
  /** Next hop IP, or `discard`. */
  nexthop: string;
  /** Output port. */
  outputPort?: string;
  /** Policy (unset = dst-ip). */
  policy?: 'src-ip' | 'dst-ip';
  /** Route table. */
  routeTable?: string;
  /** options:ecmp_symmetric_reply. */
  ecmpSymmetricReply?: boolean;
  /** Other options. */
  options?: StrMap;
}

/** Options of `policy()`. */
export interface PolicyOpts extends ExternalIdsOpts {
  /** Priority 0..32767. */
  priority: number;
  /** Match expression. */
  match: string;
  /** Action. */
  action: 'allow' | 'drop' | 'reroute';
  /** Next hops (reroute). */
  nexthops?: readonly string[];
  /** options:pkt_mark. */
  pktMark?: number;
  /** Other options. */
  options?: StrMap;
}

/** Options of `qos()`. */
export interface QosOpts extends ExternalIdsOpts {
  /** NbDirection. */
  direction: NbDirection;
  /** Priority 0..32767. */
  priority: number;
  /** Match expression. */
  match: string;
  /** DSCP mark. */
  dscp?: number;
  /** Rate limit. */
  rate?: number;
  /** Burst. */
  burst?: number;
}

/** A logical switch being built. */
export class SwitchHandle implements RowHandle {
  /** Table name. */
  readonly table = 'Logical_Switch';
  constructor(
    private readonly nb: NbBuilder,
    /** uuid. */
    readonly uuid: string,
    /** name. */
    readonly name: string,
  ) {}

  /** Add a logical switch port. */
  port(name: string, o: SwitchPortOpts = {}): RowHandle {
    const h = this.nb.insert('Logical_Switch_Port', {
      name: one(name),
      type: one(o.type ?? ''),
      addresses: strs(o.addresses),
      port_security: strs(o.portSecurity),
      options: smap(o.options),
      parent_name: opt(o.parentName),
      tag_request: opt(o.tagRequest),
      tag: opt(o.tag),
      enabled: opt(o.enabled),
      up: opt(o.up),
      dhcpv4_options: opt(o.dhcpv4Options?.uuid),
      dhcpv6_options: opt(o.dhcpv6Options?.uuid),
      external_ids: smap(o.externalIds),
    });
    this.nb.addRef(this, 'ports', h);
    return h;
  }

  /** Attach a load balancer. */
  addLoadBalancer(lb: RowHandle): this {
    this.nb.addRef(this, 'load_balancer', lb);
    return this;
  }

  /** Attach a load balancer group. */
  addLoadBalancerGroup(g: RowHandle): this {
    this.nb.addRef(this, 'load_balancer_group', g);
    return this;
  }

  /** Attach DNS records. */
  addDns(d: RowHandle): this {
    this.nb.addRef(this, 'dns_records', d);
    return this;
  }
}

/** A logical router being built. */
export class RouterHandle implements RowHandle {
  /** Table name. */
  readonly table = 'Logical_Router';
  constructor(
    private readonly nb: NbBuilder,
    /** uuid. */
    readonly uuid: string,
    /** name. */
    readonly name: string,
  ) {}

  /** Add a logical router port. */
  port(name: string, o: RouterPortOpts): RowHandle {
    const gcs = (o.gatewayChassis ?? []).map((g) =>
      this.nb.insert('Gateway_Chassis', { name: one(`${name}-${g.chassis}`), chassis_name: one(g.chassis), priority: one(g.priority) }),
    );
    const h = this.nb.insert('Logical_Router_Port', {
      name: one(name),
      mac: one(o.mac),
      networks: strs(o.networks),
      peer: opt(o.peer),
      gateway_chassis: refs(gcs),
      options: smap(o.options),
      enabled: opt(o.enabled),
      external_ids: smap(o.externalIds),
    });
    this.nb.addRef(this, 'ports', h);
    return h;
  }

  /** Attach a load balancer. */
  addLoadBalancer(lb: RowHandle): this {
    this.nb.addRef(this, 'load_balancer', lb);
    return this;
  }

  /** Attach a load balancer group. */
  addLoadBalancerGroup(g: RowHandle): this {
    this.nb.addRef(this, 'load_balancer_group', g);
    return this;
  }
}

/** Builds a northbound database; see the module comment. */
export class NbBuilder {
  private readonly raw = new RawDb(NB_SCHEMA);
  private next = 0;
  private readonly names = new Map<string, Set<string>>();

  constructor() {
    this.insert('NB_Global', {});
  }

  /** Insert a row with the given column values (others default); returns its handle. */
  insert(table: string, cols: Row): RowHandle {
    const rows = this.raw.tables.get(table);
    if (!rows) throw new NbError({ table }, 'no such table in the OVN_Northbound schema');
    const ts = NB_SCHEMA.tables.get(table)!;
    const uuid = `00000000-0000-4000-8000-${(++this.next).toString(16).padStart(12, '0')}`;
    const row = new Map<string, Datum>();
    for (const [c, d] of Object.entries(cols)) {
      if (!ts.columns.has(c)) throw new NbError({ table, row: uuid, column: c }, 'no such column in the OVN_Northbound schema');
      row.set(c, d);
    }
    rows.set(uuid, row);
    return { uuid, table };
  }

  /** Set one column of an existing row. */
  set(h: RowHandle, column: string, value: Datum): void {
    const row = this.raw.get(h.table, h.uuid);
    if (!row) throw new NbError({ table: h.table, row: h.uuid }, 'no such row');
    row.set(column, value);
  }

  /** Add a reference to a set-of-uuid column. */
  addRef(h: RowHandle, column: string, target: RowHandle): void {
    const row = this.raw.get(h.table, h.uuid);
    if (!row) throw new NbError({ table: h.table, row: h.uuid }, 'no such row');
    row.set(column, setDatum([...(row.get(column)?.keys ?? []), target.uuid]));
  }

  private uniqueName(table: string, name: string): void {
    let s = this.names.get(table);
    if (!s) this.names.set(table, (s = new Set()));
    if (s.has(name)) throw new NbError({ table, rowName: name }, `a row named ${JSON.stringify(name)} already exists`);
    s.add(name);
  }

  /** Set NB_Global options. */
  globalOptions(options: StrMap): this {
    const [u] = this.raw.rows('NB_Global').keys();
    this.set({ uuid: u!, table: 'NB_Global' }, 'options', smap(options));
    return this;
  }

  /** Add a logical switch. */
  logicalSwitch(name: string, o: SwitchOpts = {}): SwitchHandle {
    this.uniqueName('Logical_Switch', name);
    const oc: Record<string, string> = { ...(o.otherConfig ?? {}) };
    if (o.subnet !== undefined) oc.subnet = o.subnet;
    if (o.excludeIps !== undefined) oc.exclude_ips = o.excludeIps;
    if (o.ipv6Prefix !== undefined) oc.ipv6_prefix = o.ipv6Prefix;
    if (o.mcastSnoop !== undefined) oc.mcast_snoop = String(o.mcastSnoop);
    if (o.mcastQuerier !== undefined) oc.mcast_querier = String(o.mcastQuerier);
    const h = this.insert('Logical_Switch', { name: one(name), other_config: smap(oc), external_ids: smap(o.externalIds) });
    return new SwitchHandle(this, h.uuid, name);
  }

  /** Add a logical router. */
  router(name: string, o: RouterOpts = {}): RouterHandle {
    this.uniqueName('Logical_Router', name);
    const op: Record<string, string> = { ...(o.options ?? {}) };
    if (o.chassis !== undefined) op.chassis = o.chassis;
    if (o.mcastRelay !== undefined) op.mcast_relay = String(o.mcastRelay);
    if (o.lbForceSnatIp !== undefined) op.lb_force_snat_ip = o.lbForceSnatIp;
    if (o.dynamicNeighRouters !== undefined) op.dynamic_neigh_routers = String(o.dynamicNeighRouters);
    const h = this.insert('Logical_Router', { name: one(name), options: smap(op), enabled: opt(o.enabled), external_ids: smap(o.externalIds) });
    return new RouterHandle(this, h.uuid, name);
  }

  /**
   * Join a switch to a router the way ovn-nbctl users do: a router port (default name
   * `<router>-<switch>`) and a `router`-type switch port (default `<switch>-<router>`) with
   * `addresses: router` and `options:router-port`.
   */
  connect(
    sw: SwitchHandle,
    lr: RouterHandle,
    o: RouterPortOpts & { routerPortName?: string; switchPortName?: string },
  ): { routerPort: RowHandle; switchPort: RowHandle } {
    const lrpName = o.routerPortName ?? `${lr.name}-${sw.name}`;
    const routerPort = lr.port(lrpName, o);
    const switchPort = sw.port(o.switchPortName ?? `${sw.name}-${lr.name}`, { type: 'router', addresses: ['router'], options: { 'router-port': lrpName } });
    return { routerPort, switchPort };
  }

  /** Add an ACL to a switch or a port group. */
  acl(on: SwitchHandle | RowHandle, o: AclOpts): RowHandle {
    const options: Record<string, string> = { ...(o.options ?? {}) };
    if (o.applyAfterLb !== undefined) options['apply-after-lb'] = String(o.applyAfterLb);
    const h = this.insert('ACL', {
      direction: one(o.direction),
      priority: one(o.priority),
      match: one(o.match),
      action: one(o.action),
      tier: one(o.tier ?? 0),
      log: one(o.log ?? false),
      name: opt(o.name),
      severity: opt(o.severity),
      meter: opt(o.meter),
      label: one(o.label ?? 0),
      options: smap(options),
      external_ids: smap(o.externalIds),
    });
    this.addRef(on, 'acls', h);
    return h;
  }

  /** Add an address set. */
  addressSet(name: string, addresses: readonly string[], o: ExternalIdsOpts = {}): RowHandle {
    return this.insert('Address_Set', { name: one(name), addresses: strs(addresses), external_ids: smap(o.externalIds) });
  }

  /** Add a port group. */
  portGroup(name: string, ports: readonly RowHandle[] = [], o: ExternalIdsOpts = {}): RowHandle {
    return this.insert('Port_Group', { name: one(name), ports: refs(ports), external_ids: smap(o.externalIds) });
  }

  /** Add a load balancer (attach it with `SwitchHandle.addLoadBalancer` / `RouterHandle.addLoadBalancer`). */
  loadBalancer(name: string, o: LoadBalancerOpts): RowHandle {
    const options: Record<string, string> = { ...(o.options ?? {}) };
    if (o.affinityTimeout !== undefined) options.affinity_timeout = String(o.affinityTimeout);
    if (o.hairpinSnatIp !== undefined) options.hairpin_snat_ip = o.hairpinSnatIp;
    if (o.reject !== undefined) options.reject = String(o.reject);
    if (o.skipSnat !== undefined) options.skip_snat = String(o.skipSnat);
    return this.insert('Load_Balancer', {
      name: one(name),
      vips: smap(o.vips),
      protocol: opt(o.protocol),
      selection_fields: strs(o.selectionFields),
      options: smap(options),
      external_ids: smap(o.externalIds),
    });
  }

  /** Add a load balancer group. */
  loadBalancerGroup(name: string, lbs: readonly RowHandle[]): RowHandle {
    return this.insert('Load_Balancer_Group', { name: one(name), load_balancer: refs(lbs) });
  }

  /** Add a NAT rule to a router. */
  nat(lr: RouterHandle, o: NatOpts): RowHandle {
    const h = this.insert('NAT', {
      type: one(o.type),
      external_ip: one(o.externalIp),
      logical_ip: one(o.logicalIp),
      logical_port: opt(o.logicalPort),
      external_mac: opt(o.externalMac),
      external_port_range: one(o.externalPortRange ?? ''),
      options: smap(o.options),
      external_ids: smap(o.externalIds),
    });
    this.addRef(lr, 'nat', h);
    return h;
  }

  /** Add a static route to a router. */
  route(lr: RouterHandle, o: RouteOpts): RowHandle {
    const options: Record<string, string> = { ...(o.options ?? {}) };
    if (o.ecmpSymmetricReply !== undefined) options.ecmp_symmetric_reply = String(o.ecmpSymmetricReply);
    const h = this.insert('Logical_Router_Static_Route', {
      ip_prefix: one(o.prefix),
      nexthop: one(o.nexthop),
      output_port: opt(o.outputPort),
      policy: opt(o.policy),
      route_table: one(o.routeTable ?? ''),
      options: smap(options),
      external_ids: smap(o.externalIds),
    });
    this.addRef(lr, 'static_routes', h);
    return h;
  }

  /** Add a routing policy to a router. */
  policy(lr: RouterHandle, o: PolicyOpts): RowHandle {
    const options: Record<string, string> = { ...(o.options ?? {}) };
    if (o.pktMark !== undefined) options.pkt_mark = String(o.pktMark);
    const h = this.insert('Logical_Router_Policy', {
      priority: one(o.priority),
      match: one(o.match),
      action: one(o.action),
      nexthops: strs(o.nexthops),
      options: smap(options),
      external_ids: smap(o.externalIds),
    });
    this.addRef(lr, 'policies', h);
    return h;
  }

  /** Add DHCP options for a subnet (reference them from ports with `dhcpv4Options`). */
  dhcpOptions(cidr: string, options: StrMap, o: ExternalIdsOpts = {}): RowHandle {
    return this.insert('DHCP_Options', { cidr: one(cidr), options: smap(options), external_ids: smap(o.externalIds) });
  }

  /** Add DNS records (attach with `SwitchHandle.addDns`). */
  dns(records: StrMap, o: ExternalIdsOpts = {}): RowHandle {
    return this.insert('DNS', { records: smap(records), external_ids: smap(o.externalIds) });
  }

  /** Add a meter with drop bands. */
  meter(name: string, o: { unit: 'kbps' | 'pktps'; bands: readonly { rate: number; burstSize?: number }[]; fair?: boolean }): RowHandle {
    const bands = o.bands.map((b) => this.insert('Meter_Band', { action: one('drop'), rate: one(b.rate), burst_size: one(b.burstSize ?? 0) }));
    return this.insert('Meter', { name: one(name), unit: one(o.unit), bands: refs(bands), fair: opt(o.fair) });
  }

  /** Add a QoS rule to a switch. */
  qos(sw: SwitchHandle, o: QosOpts): RowHandle {
    const bw: [string, number][] = [];
    if (o.rate !== undefined) bw.push(['rate', o.rate]);
    if (o.burst !== undefined) bw.push(['burst', o.burst]);
    const h = this.insert('QoS', {
      direction: one(o.direction),
      priority: one(o.priority),
      match: one(o.match),
      action: mapDatum(o.dscp === undefined ? [] : [['dscp', o.dscp]]),
      bandwidth: mapDatum(bw),
      external_ids: smap(o.externalIds),
    });
    this.addRef(sw, 'qos_rules', h);
    return h;
  }

  /** Add a static MAC binding. */
  staticMacBinding(logicalPort: string, ip: string, mac: string, overrideDynamicMac = false): RowHandle {
    return this.insert('Static_MAC_Binding', {
      logical_port: one(logicalPort),
      ip: one(ip),
      mac: one(mac),
      override_dynamic_mac: one(overrideDynamicMac),
    });
  }

  /** The raw data built so far (shared, not copied). */
  toRaw(): RawDb {
    return this.raw;
  }

  /** Check everything and return the typed database; throws the first `NbError`. */
  build(): NbDatabase {
    return NbDatabase.fromRaw(this.raw);
  }

  /** Every problem `build()` would find (empty when it would succeed). */
  check(): NbError[] {
    return NbDatabase.check(this.raw);
  }
}
