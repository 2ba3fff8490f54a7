/**
 * The compiler's view of the northbound database, mirroring ovn-northd's `ovn_datapath` and
 * `ovn_port`: one datapath per switch and router, one port per switch port and router port,
 * router-type switch ports joined to their router port peers, port addresses extracted once,
 * per-switch facts the flow builders need (router/localnet ports, stateful ACLs, load balancer
 * VIPs, port groups with ports on the switch). Everything is built with maps in one pass over
 * each table, so building is linear in the size of the database.
 */
import { createHash } from 'node:crypto';
import type { NbDatabase } from '../nb/db.js';
import type {
  Acl,
  LoadBalancer,
  LogicalRouter,
  LogicalRouterPort,
  LogicalSwitch,
  LogicalSwitchPort,
  Meter,
  PortGroup,
} from '../nb/model.js';
import { optBool } from '../nb/model.js';
import { lportAddresses, lrpNetworks, parseLportAddresses, type LportAddresses } from './addrs.js';
import type { Datapath } from './types.js';
import type { SbDatabase } from '../sb/model.js';
import { assignDatapathKeys, assignPortKeys, idlTableOrder, requestedTnlKey, settleKeys, type DatapathKeyInput, type KeyWarning, type PortKeyInput } from '../sb/keys.js';

/** A deterministic uuid derived from a string (for SB rows we print). */
export function uuidFrom(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A logical switch port as the compiler sees it. */
export interface SwitchPort {
  /** NB row. */
  readonly nb: LogicalSwitchPort;
  /** Port name. */
  readonly name: string;
  /** JSON-quoted name, as used in matches (`"vm1"`). */
  readonly jsonKey: string;
  /** The switch. */
  readonly sw: SwitchDp;
  /** `addresses` entries with a MAC, plus the peer router port's networks for `router`, plus dynamic. */
  readonly lspAddrs: LportAddresses[];
  /** Port security entries. */
  readonly psAddrs: LportAddresses[];
  /** `addresses` has `unknown`. */
  readonly hasUnknown: boolean;
  /** Administratively enabled. */
  readonly enabled: boolean;
  /** Peer router port for router-type ports. */
  peer?: RouterPort;
}

/** A logical router port as the compiler sees it. */
export interface RouterPort {
  /** NB row. */
  readonly nb: LogicalRouterPort;
  /** Port name. */
  readonly name: string;
  /** JSON-quoted name. */
  readonly jsonKey: string;
  /** The router. */
  readonly rt: RouterDp;
  /** Networks (with the link-local address appended). */
  readonly networks: LportAddresses;
  /** Administratively enabled. */
  readonly enabled: boolean;
  /** Peer: a router-type switch port or another router port. */
  peer?: SwitchPort | RouterPort;
  /** The chassis-redirect port name (`cr-NAME`) of a distributed gateway port. */
  crName?: string;
  /** JSON-quoted chassis-redirect port name. */
  crJsonKey?: string;
}

/** A logical switch datapath. */
export interface SwitchDp {
  /** Kind tag. */
  readonly kind: 'switch';
  /** SB datapath. */
  readonly dp: Datapath;
  /** NB row. */
  readonly nb: LogicalSwitch;
  /** Ports in NB order. */
  readonly ports: SwitchPort[];
  /** Router-type ports with a peer. */
  readonly routerPorts: SwitchPort[];
  /** Localnet ports. */
  readonly localnetPorts: SwitchPort[];
  /** Port groups with at least one port on this switch. */
  readonly portGroups: PortGroup[];
  /** All ACLs that apply (switch ACLs, then port group ACLs). */
  readonly acls: Acl[];
  /** Any ACL applies. */
  hasAcls: boolean;
  /** Some ACL is allow-related. */
  hasStatefulAcl: boolean;
  /** A load balancer (direct or via a group) has VIPs. */
  hasLbVip: boolean;
  /** Some enabled port has `unknown` addresses. */
  hasUnknown: boolean;
  /** Some port is of type vtep. */
  hasVtepLports: boolean;
  /** Load balancers applied to the switch (direct and through groups, deduplicated). */
  readonly lbs: LoadBalancer[];
}

/** A logical router datapath. */
export interface RouterDp {
  /** Kind tag. */
  readonly kind: 'router';
  /** SB datapath. */
  readonly dp: Datapath;
  /** NB row. */
  readonly nb: LogicalRouter;
  /** Ports with usable networks, in NB order. */
  readonly ports: RouterPort[];
  /** Distributed gateway ports. */
  readonly l3dgwPorts: RouterPort[];
  /** Load balancers (direct and through groups, deduplicated). */
  readonly lbs: LoadBalancer[];
  /** Switches connected through router-type ports. */
  readonly lsPeers: SwitchDp[];
  /** Gateway router (options:chassis). */
  readonly isGatewayRouter: boolean;
  /** All router ports of the database by name (ovn-northd looks ports up globally). */
  readonly ctxPorts: Map<string, RouterPort>;
}

/** Global settings from NB_Global options. */
export interface NorthdGlobals {
  /** `options:default_acl_drop`. */
  readonly defaultAclDrop: boolean;
  /** `options:svc_monitor_mac` or a default. */
  readonly svcMonitorMac: string;
  /** Check that ports are up before ARP responders (`!ignore_lsp_down`). */
  readonly checkLspIsUp: boolean;
  /** `options:install_ls_lb_from_router`. */
  readonly installLsLbFromRouter: boolean;
  /** Meters by name. */
  readonly meters: ReadonlyMap<string, Meter>;
}

/** Everything the flow builders read. */
export interface NorthdContext {
  /** The database. */
  readonly db: NbDatabase;
  /** Switch datapaths. */
  readonly switches: SwitchDp[];
  /** Router datapaths. */
  readonly routers: RouterDp[];
  /** Switch ports by name. */
  readonly switchPorts: Map<string, SwitchPort>;
  /** Router ports by name. */
  readonly routerPorts: Map<string, RouterPort>;
  /** Globals. */
  readonly globals: NorthdGlobals;
  /** Warnings ovn-northd would log while allocating tunnel keys. */
  readonly keyWarnings: readonly KeyWarning[];
  /** Tunnel key of a logical port (switch, router or chassis-redirect port), 0 when unknown. */
  portKey(name: string): number;
}

/**
 * Tunnel keys from a southbound database ovn-northd ran against before: datapath and port names
 * to keys, as `parseTunnelKeys` reads them from what `fixtures/northd/gen.sh` saves. They are
 * treated as that database's bindings (kept unless a `requested-tnl-key` takes them); a full
 * previous southbound database is given with `previous` instead.
 */
export interface TunnelKeys {
  /** Datapath name to tunnel key. */
  readonly datapaths?: ReadonlyMap<string, number>;
  /** Port name to tunnel key. */
  readonly ports?: ReadonlyMap<string, number>;
}

/** Read `dp NAME KEY` / `port NAME KEY` lines (fixtures/northd/NAME.keys.txt). */
export function parseTunnelKeys(text: string): TunnelKeys {
  const datapaths = new Map<string, number>();
  const ports = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(dp|port) (\S+) ([0-9]+)$/.exec(line.trim());
    if (!m) continue;
    (m[1] === 'dp' ? datapaths : ports).set(m[2]!, Number(m[3]));
  }
  return { datapaths, ports };
}

/** Options of `buildContext`. */
export interface ContextOptions {
  /** The southbound database of ovn-northd's previous run: its bindings keep their tunnel keys. */
  readonly previous?: SbDatabase;
  /** Keys of a previous run by name (see `TunnelKeys`), when no `previous` database is given. */
  readonly tunnelKeys?: TunnelKeys;
  /**
   * Datapaths of an earlier context by NB uuid: one that comes out with the same kind, name, key
   * and uuid is reused (the same object), so flows recorded against it stay valid (incremental.ts).
   */
  readonly reuse?: ReadonlyMap<string, Datapath>;
}

/** Where a datapath or port was bound in the previous southbound database. */
interface PreviousBindings {
  /** NB uuid to datapath key. */
  dp(nbUuid: string, name: string): number | undefined;
  /** Port name to its binding (key, the NB uuid of its datapath, type, parent). */
  port(name: string): { key: number; dpNbUuid: string | undefined; dpName: string; type: string; parent: string | undefined } | undefined;
  /** NB uuids of the switch or router datapaths the previous database had. */
  datapaths(kind: 'switch' | 'router'): string[];
  /** The previous database has a chassis with a VXLAN encap (ovn-northd's `is_vxlan_mode`). */
  vxlan: boolean;
}

function previousBindings(o: ContextOptions): PreviousBindings {
  const sb = o.previous;
  if (sb) {
    const dps = new Map(sb.datapaths.filter((d) => d.nbUuid).map((d) => [d.nbUuid, d.tunnelKey]));
    const ports = new Map(sb.portBindings.map((p) => [p.logicalPort, p]));
    return {
      dp: (u) => dps.get(u),
      port: (n) => {
        const p = ports.get(n);
        return p && { key: p.tunnelKey, dpNbUuid: p.datapath.nbUuid, dpName: p.datapath.name, type: p.type, parent: p.parentPort };
      },
      datapaths: (kind) => sb.datapaths.filter((d) => d.kind === kind && d.nbUuid).map((d) => d.nbUuid),
      vxlan: sb.chassis.some((c) => c.encaps.some((e) => e.type === 'vxlan')),
    };
  }
  const k = o.tunnelKeys ?? {};
  return {
    dp: (_u, name) => k.datapaths?.get(name),
    port: (n) => {
      const key = k.ports?.get(n);
      return key === undefined ? undefined : { key, dpNbUuid: undefined, dpName: '', type: '', parent: undefined };
    },
    datapaths: () => [],
    vxlan: false,
  };
}

/**
 * ovn-northd's `lsp_is_type_changed` with `update_sbrec`: a port whose binding must be recreated
 * (so it is new, not kept): a VIF that gained or lost its parent, or a change to or from `virtual`.
 */
function lspTypeChanged(sbType: string, sbParent: string | undefined, nb: LogicalSwitchPort): boolean {
  if (!sbType && !nb.type) return (sbParent === undefined) !== (nb.parent_name === undefined);
  return (sbType === 'virtual' || nb.type === 'virtual') && sbType !== nb.type;
}

function jsonKey(name: string): string {
  return JSON.stringify(name);
}

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/**
 * Datapath keys as `build_datapaths` assigns them: switches then routers, each table in the
 * order ovn-northd's IDL walks it (`idlTableOrder`), bound ones (`both`) before new ones.
 */
function datapathKeys(
  switches: readonly LogicalSwitch[],
  routers: readonly LogicalRouter[],
  prev: PreviousBindings,
  warnings: KeyWarning[],
): Map<string, number> {
  const input = (kind: 'switch' | 'router', uuid: string, name: string, o: ReadonlyMap<string, string>): DatapathKeyInput => ({
    nbUuid: uuid,
    kind,
    name,
    requested: requestedTnlKey(o),
    interconn: o.has('interconn-ts'),
    existing: prev.dp(uuid, name),
  });
  const known = (d: DatapathKeyInput) => d.existing !== undefined;
  const present = new Set([...switches.map((s) => s.uuid), ...routers.map((r) => r.uuid)]);
  const gone = (kind: 'switch' | 'router') => prev.datapaths(kind).filter((u) => !present.has(u));
  const ls = idlTableOrder(switches, (s) => prev.dp(s.uuid, s.name) !== undefined, gone('switch')).map((s) => input('switch', s.uuid, s.name, s.other_config));
  // Disabled routers are rows of the IDL table (they shape its order) but not datapaths.
  const lr = idlTableOrder(routers, (r) => prev.dp(r.uuid, r.name) !== undefined, gone('router'))
    .filter((r) => r.enabled !== false)
    .map((r) => input('router', r.uuid, r.name, r.options));
  return settleKeys([...ls, ...lr], (d) => d.nbUuid, known, (b, n, w) => assignDatapathKeys(b, n, prev.vxlan, w), warnings);
}

/** Build the compiler's view of `db`. */
export function buildContext(db: NbDatabase, options: ContextOptions = {}): NorthdContext {
  const opts = db.global?.options ?? new Map<string, string>();
  const globals: NorthdGlobals = {
    defaultAclDrop: optBool(opts, 'default_acl_drop', false),
    svcMonitorMac: opts.get('svc_monitor_mac') ?? '',
    checkLspIsUp: !optBool(opts, 'ignore_lsp_down', true),
    installLsLbFromRouter: optBool(opts, 'install_ls_lb_from_router', false),
    meters: new Map(db.meters.map((m) => [m.name, m])),
  };
  const prev = previousBindings(options);
  const keyWarnings: KeyWarning[] = [];
  // ovn-northd skips disabled routers entirely (`lrouter_is_enabled`).
  const enabledRouters = db.routers.filter((r) => r.enabled !== false);
  const dpKeys = datapathKeys(db.switches, db.routers, prev, keyWarnings);
  const prevDpUuid = new Map((options.previous?.datapaths ?? []).map((d) => [d.nbUuid, d.uuid]));
  const dpUuid = (nbUuid: string) => prevDpUuid.get(nbUuid) ?? uuidFrom(`dp:${nbUuid}`);
  const datapath = (kind: 'switch' | 'router', name: string, nbUuid: string): Datapath => {
    const key = dpKeys.get(nbUuid)!;
    const uuid = dpUuid(nbUuid);
    const old = options.reuse?.get(nbUuid);
    return old && old.kind === kind && old.name === name && old.key === key && old.uuid === uuid ? old : { kind, name, nbUuid, key, uuid };
  };
  const switches: SwitchDp[] = [];
  const routers: RouterDp[] = [];
  const switchPorts = new Map<string, SwitchPort>();
  const routerPorts = new Map<string, RouterPort>();
  const bySwitchUuid = new Map<string, SwitchDp>();

  for (const ls of db.switches) {
    const dp = datapath('switch', ls.name, ls.uuid);
    const lbs = uniq([...ls.load_balancer, ...ls.load_balancer_group.flatMap((g) => g.load_balancer)]);
    const sw: SwitchDp = {
      kind: 'switch', dp, nb: ls, ports: [], routerPorts: [], localnetPorts: [], portGroups: [], acls: [],
      hasAcls: false, hasStatefulAcl: false, hasLbVip: lbs.some((lb) => lb.vips.size > 0), hasUnknown: false,
      hasVtepLports: false, lbs,
    };
    switches.push(sw);
    bySwitchUuid.set(ls.uuid, sw);
    for (const nb of ls.ports) {
      if (switchPorts.has(nb.name)) continue;
      const lspAddrs: LportAddresses[] = [];
      let hasUnknown = false;
      for (const a of nb.addresses) {
        if (a.kind === 'unknown') hasUnknown = true;
        else if (a.kind === 'static') lspAddrs.push(lportAddresses(a.mac, a.ips));
      }
      const psAddrs = nb.port_security.map((p) => lportAddresses(p.mac, p.ips));
      const p: SwitchPort = { nb, name: nb.name, jsonKey: jsonKey(nb.name), sw, lspAddrs, psAddrs, hasUnknown, enabled: nb.enabled !== false };
      sw.ports.push(p);
      switchPorts.set(nb.name, p);
      if (nb.type === 'localnet') sw.localnetPorts.push(p);
      if (nb.type === 'vtep') sw.hasVtepLports = true;
    }
  }

  for (const lr of enabledRouters) {
    const dp = datapath('router', lr.name, lr.uuid);
    const lbs = uniq([...lr.load_balancer_group.flatMap((g) => g.load_balancer), ...lr.load_balancer]);
    const rt: RouterDp = {
      kind: 'router', dp, nb: lr, ports: [], l3dgwPorts: [], lbs, lsPeers: [], isGatewayRouter: lr.config.chassis !== undefined, ctxPorts: routerPorts,
    };
    routers.push(rt);
    for (const nb of lr.ports) {
      if (routerPorts.has(nb.name)) continue;
      const networks = lrpNetworks(nb.mac, nb.networks);
      const p: RouterPort = { nb, name: nb.name, jsonKey: jsonKey(nb.name), rt, networks, enabled: nb.enabled !== false };
      if ((nb.ha_chassis_group || nb.gateway_chassis.length) && !rt.isGatewayRouter) {
        p.crName = `cr-${nb.name}`;
        p.crJsonKey = jsonKey(p.crName);
        rt.l3dgwPorts.push(p);
      }
      rt.ports.push(p);
      routerPorts.set(nb.name, p);
    }
  }

  // Join router-type switch ports with their router ports; router-to-router peers.
  for (const sw of switches) {
    for (const p of sw.ports) {
      if (p.nb.type !== 'router') continue;
      const rp = p.nb.routerPort === undefined ? undefined : routerPorts.get(p.nb.routerPort);
      if (!rp) continue;
      p.peer = rp;
      rp.peer = p;
      sw.routerPorts.push(p);
      if (!rp.rt.lsPeers.includes(sw)) rp.rt.lsPeers.push(sw);
      if (p.nb.addresses.some((a) => a.kind === 'router')) p.lspAddrs.push(rp.networks);
    }
  }
  for (const rp of routerPorts.values()) {
    if (rp.nb.peer !== undefined) {
      const other = routerPorts.get(rp.nb.peer);
      if (other && other.nb.peer === rp.name) rp.peer = other;
    }
  }
  // Dynamic addresses (assigned by ovn-northd's IPAM and stored in the NB).
  for (const sw of switches) {
    for (const p of sw.ports) {
      if (p.nb.addresses.some((a) => a.kind === 'dynamic') && p.nb.dynamic_addresses) {
        const la = parseLportAddresses(p.nb.dynamic_addresses.text);
        if (la) p.lspAddrs.push(la);
      }
      if (p.hasUnknown && p.enabled && p.nb.type !== 'external') sw.hasUnknown = true;
    }
  }
  // Port groups: per switch, the groups with a port on it; ACL flags.
  for (const pg of db.portGroups) {
    const seen = new Set<SwitchDp>();
    for (const lsp of pg.ports) {
      const p = switchPorts.get(lsp.name);
      if (!p || seen.has(p.sw)) continue;
      seen.add(p.sw);
      p.sw.portGroups.push(pg);
    }
  }
  for (const sw of switches) {
    sw.acls.push(...sw.nb.acls);
    for (const pg of sw.portGroups) sw.acls.push(...pg.acls);
    sw.hasAcls = sw.acls.length > 0;
    sw.hasStatefulAcl = sw.acls.some((a) => a.action === 'allow-related');
  }
  // Port tunnel keys, per datapath in port order (a distributed gateway port's chassis-redirect
  // port right after it).
  const portKeys = new Map<string, number>();
  const vxlan = prev.vxlan;
  const settle = (inputs: (PortKeyInput & { isBoth: boolean })[]) => {
    const ks = settleKeys(inputs, (i) => i.name, (i) => i.isBoth, (b, n, w) => assignPortKeys(b, n, vxlan, w), keyWarnings);
    for (const [n, k] of ks) portKeys.set(n, k);
  };
  for (const sw of switches) {
    settle(
      sw.ports.map((p) => {
        const b = prev.port(p.name);
        const isBoth = b !== undefined && (b.dpNbUuid === undefined || b.dpNbUuid === sw.dp.nbUuid) && !lspTypeChanged(b.type, b.parent, p.nb);
        return { name: p.name, kind: 'switch' as const, requested: requestedTnlKey(p.nb.options), existing: isBoth ? b.key : undefined, isBoth };
      }),
    );
  }
  for (const rt of routers) {
    const inputs: (PortKeyInput & { isBoth: boolean })[] = [];
    const add = (name: string, requested: number) => {
      const b = prev.port(name);
      const isBoth = b !== undefined && (b.dpNbUuid === undefined || b.dpNbUuid === rt.dp.nbUuid);
      inputs.push({ name, kind: 'router', requested, existing: isBoth ? b.key : undefined, isBoth });
    };
    for (const p of rt.ports) {
      add(p.name, requestedTnlKey(p.nb.options));
      // The chassis-redirect port is made from the same NB row, so it asks for the same key.
      if (p.crName) add(p.crName, requestedTnlKey(p.nb.options));
    }
    settle(inputs);
  }
  return { db, switches, routers, switchPorts, routerPorts, globals, keyWarnings, portKey: (name: string) => portKeys.get(name) ?? 0 };
}
