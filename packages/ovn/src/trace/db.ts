/**
 * What ovn-trace reads from the southbound database, derived from a northbound database: the
 * logical flows (compiled by our northd), datapaths, port bindings with tunnel keys, types,
 * patch peers and port security, multicast groups, address sets and port groups, and the
 * load balancer VIPs `chk_lb_hairpin` consults.
 *
 * Design. Everything ovn-northd would write to the SB is reconstructed the way a fresh
 * ovn-northd run on the same NB computes it: port tunnel keys honour `requested-tnl-key` first,
 * then are allocated per datapath in NB order (OVSDB sets are sorted by uuid, which is the order
 * ovn-northd walks a switch's or router's ports), chassis-redirect ports `cr-NAME` right after
 * their router port; SB port types are `patch` (or `l3gateway` next to a gateway router),
 * `chassisredirect`, or the NB type; multicast groups `_MC_flood`, `_MC_flood_l2`,
 * `_MC_unknown` hold the enabled switch ports as ovn-northd's `build_mcast_groups` puts them.
 * Each flow's match is parsed, combined with its actions' prerequisites, annotated, simplified
 * and its `is_chassis_resident()` conditions evaluated (every existing port is resident, as
 * ovn-trace assumes), then flows are sorted as ovn-trace sorts them (ingress first, table,
 * priority descending). Flows that fail to parse are skipped, as ovn-trace skips them with a
 * warning. Flows are prepared when a trace first reads them, through a memo shared between
 * databases (lazy.ts). The result is cached per database.
 */
import { createHash } from 'node:crypto';
import { parseActions } from '../actions/parse.js';
import type { Action } from '../actions/ast.js';
import { annotate } from '../expr/check.js';
import type { Expr } from '../expr/ast.js';
import { evaluateConditions, simplify } from '../expr/normalize.js';
import { parseExprText } from '../expr/parse.js';
import type { NbDatabase } from '../nb/db.js';
import { parseLportAddresses, type LportAddresses } from '../northd/addrs.js';
import { compileNorthd } from '../northd/northd.js';
import { northdLb } from '../northd/lb.js';
import type { IgmpGroupRecord } from '../northd/mcast.js';
import type { LogicalFlow } from '../northd/types.js';
import { LazyLflow, preparedFlow, type PreparedFlow } from './lazy.js';
import { compileMatch, matchPrecheck, type MatchPredicate } from './match.js';

/** A logical port binding as ovn-trace sees it. */
export interface TracePort {
  /** Logical port name. */
  readonly name: string;
  /** Tunnel key within its datapath. */
  key: number;
  /** SB port binding type (`""`, `patch`, `l3gateway`, `chassisredirect`, `localnet`, ...). */
  readonly type: string;
  /** The datapath. */
  readonly dp: TraceDatapath;
  /** Patch/l3gateway peer. */
  peer?: TracePort;
  /** For `chassisredirect` ports: the distributed port. */
  distributed?: TracePort;
  /** Port security entries. */
  readonly psAddrs: LportAddresses[];
}

/** A multicast group. */
export interface TraceMcGroup {
  /** Name (`_MC_flood`, ...). */
  readonly name: string;
  /** Tunnel key. */
  readonly key: number;
  /** Member ports, sorted by name. */
  readonly ports: TracePort[];
}

/** A logical flow prepared for tracing (its match and actions may be prepared on first read). */
export interface TraceLflow {
  /** The compiled flow. */
  readonly flow: LogicalFlow;
  /** First 32 bits of its (deterministic) uuid, as 8 hex digits. */
  readonly uuid8: string;
  /** Annotated, simplified match including the actions' prerequisites. */
  readonly match: Expr;
  /** Parsed actions. */
  readonly actions: readonly Action[];
  /** The match compiled to a predicate (else the tracer evaluates `match`). */
  readonly test?: MatchPredicate;
  /** A cheap necessary condition on the packet, checked before the match is prepared or tested. */
  readonly precheck?: MatchPredicate;
}

/** A logical datapath with its flows. */
export interface TraceDatapath {
  /** Switch or router. */
  readonly kind: 'switch' | 'router';
  /** Name. */
  readonly name: string;
  /** NB uuid. */
  readonly nbUuid: string;
  /** Tunnel key. */
  readonly key: number;
  /** Ports, in key-allocation order. */
  readonly ports: TracePort[];
  /** Multicast groups. */
  readonly mcgroups: TraceMcGroup[];
  /** Flows by `pipeline/table`, each list in ovn-trace's order. */
  readonly flows: Map<string, TraceLflow[]>;
  /** Stage name of each `pipeline/table` that has flows. */
  readonly stages: Map<string, string>;
  /** Has an `l3gateway` port (a gateway router or a switch next to one). */
  hasLocalL3gateway: boolean;
}

/** A load balancer VIP (for `chk_lb_hairpin`, `ct_snat_to_vip`). */
export interface TraceLbVip {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Address. */
  readonly ip: bigint;
  /** Address text. */
  readonly ipS: string;
  /** Port (0 when none). */
  readonly port: number;
}

/** A MAC binding (SB MAC_Binding row). */
export interface TraceMacBinding {
  /** Logical port. */
  readonly port: string;
  /** IP address (IPv4 or IPv6 text). */
  readonly ip: string;
  /** MAC text. */
  readonly mac: string;
}

/** The southbound view ovn-trace works on. */
export interface TraceDb {
  /** Datapaths, switches then routers. */
  readonly datapaths: TraceDatapath[];
  /** Ports by name. */
  readonly ports: Map<string, TracePort>;
  /** Address sets by name (SB names). */
  readonly addressSets: Map<string, string[]>;
  /** Port groups by NB name (names of member ports). */
  readonly portGroups: Map<string, string[]>;
  /** Load balancer VIPs, in NB order. */
  readonly lbVips: TraceLbVip[];
  /** Flows that could not be parsed (ovn-trace skips them with a warning); reading it prepares every flow. */
  readonly skipped: { flow: LogicalFlow; error: string }[];
}

/** Multicast group tunnel keys (OVN 23.03 `enum ovn_mcast_tunnel_keys`). */
export const MC_KEYS = { _MC_flood: 32768, _MC_unknown: 32769, _MC_mrouter_flood: 32770, _MC_static: 32771, _MC_flood_l2: 32772 } as const;

function flowUuid8(f: LogicalFlow): string {
  return createHash('sha1')
    .update(`${f.datapath.uuid}|${f.pipeline}|${f.table}|${f.priority}|${f.match}|${f.actions}`)
    .digest('hex')
    .slice(0, 8);
}

function ipToBig(text: string): { family: 4 | 6; ip: bigint } | undefined {
  const m4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (m4) return { family: 4, ip: BigInt(((+m4[1]! << 24) | (+m4[2]! << 16) | (+m4[3]! << 8) | +m4[4]!) >>> 0) };
  const p = parseLportAddresses(`00:00:00:00:00:00 ${text}`);
  if (p && p.ipv6.length) return { family: 6, ip: p.ipv6[0]!.addr };
  return undefined;
}

/** Parses an IP address text to its family and value (undefined when it is not one). */
export function parseIpText(text: string): { family: 4 | 6; ip: bigint } | undefined {
  return ipToBig(text);
}

function allocateKeys(ports: { port: TracePort; requested: number }[]): void {
  const used = new Set<number>();
  let hint = 0;
  for (const p of ports) {
    if (p.requested > 0 && p.requested < 32768 && !used.has(p.requested)) {
      used.add(p.requested);
      p.port.key = p.requested;
      hint = Math.max(hint, p.requested);
    }
  }
  for (const p of ports) {
    if (p.port.key) continue;
    let k = hint;
    for (let n = 0; n < 32767; n++) {
      k = k >= 32767 ? 1 : k + 1;
      if (!used.has(k)) break;
    }
    used.add(k);
    p.port.key = k;
    hint = k;
  }
}

function hasCondition(e: Expr): boolean {
  return e.type === 'cond' || ((e.type === 'and' || e.type === 'or') && e.terms.some(hasCondition));
}

const cache = new WeakMap<NbDatabase, Map<string, TraceDb>>();

/** What the southbound database holds beyond what the northbound one determines. */
export interface TraceDbState {
  /** Multicast groups learnt by IGMP/MLD snooping (IGMP_Group rows). */
  readonly igmpGroups?: readonly IgmpGroupRecord[];
}

/** Builds (or returns the cached) southbound view of `db` for tracing, with the learnt state of `state`. */
export function traceDb(db: NbDatabase, state: TraceDbState = {}): TraceDb {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  const key = JSON.stringify(state.igmpGroups ?? []);
  let t = m.get(key);
  if (!t) {
    t = buildTraceDb(db, state);
    if (m.size >= 64) m.clear();
    m.set(key, t);
  }
  return t;
}

function intOpt(m: ReadonlyMap<string, string>, k: string): number {
  const v = m.get(k);
  const n = v === undefined ? 0 : parseInt(v, 10);
  return Number.isFinite(n) ? n : 0;
}

function buildTraceDb(db: NbDatabase, state: TraceDbState): TraceDb {
  const { flows, context: ctx, ipMulticastGroups } = compileNorthd(db, state.igmpGroups?.length ? { igmpGroups: state.igmpGroups } : {});
  const datapaths: TraceDatapath[] = [];
  const byKey = new Map<number, TraceDatapath>();
  const ports = new Map<string, TracePort>();
  const mk = (kind: 'switch' | 'router', name: string, nbUuid: string, key: number): TraceDatapath => {
    const d: TraceDatapath = { kind, name, nbUuid, key, ports: [], mcgroups: [], flows: new Map(), stages: new Map(), hasLocalL3gateway: false };
    datapaths.push(d);
    byKey.set(key, d);
    return d;
  };

  // Switches.
  for (const sw of ctx.switches) {
    const d = mk('switch', sw.dp.name, sw.dp.nbUuid, sw.dp.key);
    const alloc: { port: TracePort; requested: number }[] = [];
    for (const p of sw.ports) {
      let type = p.nb.type;
      if (type === 'router') type = p.peer?.rt.isGatewayRouter ? 'l3gateway' : 'patch';
      const port: TracePort = { name: p.name, key: 0, type, dp: d, psAddrs: p.psAddrs };
      d.ports.push(port);
      ports.set(p.name, port);
      alloc.push({ port, requested: intOpt(p.nb.options, 'requested-tnl-key') });
      if (type === 'l3gateway') d.hasLocalL3gateway = true;
    }
    allocateKeys(alloc);
  }
  // Routers.
  for (const rt of ctx.routers) {
    const d = mk('router', rt.dp.name, rt.dp.nbUuid, rt.dp.key);
    const alloc: { port: TracePort; requested: number }[] = [];
    for (const p of rt.ports) {
      const type = rt.isGatewayRouter ? 'l3gateway' : 'patch';
      const port: TracePort = { name: p.name, key: 0, type, dp: d, psAddrs: [] };
      d.ports.push(port);
      ports.set(p.name, port);
      alloc.push({ port, requested: intOpt(p.nb.options, 'requested-tnl-key') });
      if (type === 'l3gateway') d.hasLocalL3gateway = true;
      if (p.crName) {
        const cr: TracePort = { name: p.crName, key: 0, type: 'chassisredirect', dp: d, psAddrs: [], distributed: port };
        d.ports.push(cr);
        ports.set(cr.name, cr);
        alloc.push({ port: cr, requested: 0 });
      }
    }
    allocateKeys(alloc);
  }
  // Peers (patch and l3gateway ports).
  for (const sw of ctx.switches) {
    for (const p of sw.ports) {
      if (p.peer) {
        const a = ports.get(p.name);
        const b = ports.get(p.peer.name);
        if (a && b) {
          a.peer = b;
          b.peer = a;
        }
      }
    }
  }
  for (const rp of ctx.routerPorts.values()) {
    if (rp.peer && 'rt' in rp.peer) {
      const a = ports.get(rp.name);
      const b = ports.get(rp.peer.name);
      if (a && b) {
        a.peer = b;
        b.peer = a;
      }
    }
  }
  // Multicast groups (build_mcast_groups): members sorted by name, as ovn-trace reads them.
  const byName = (a: TracePort, b: TracePort) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const group = (d: TraceDatapath, name: string, key: number, members: TracePort[]) => {
    if (members.length) d.mcgroups.push({ name, key, ports: members.sort(byName) });
  };
  const flag = (o: ReadonlyMap<string, string>, k: string) => (o.get(k) ?? '').toLowerCase() === 'true';
  for (const sw of ctx.switches) {
    const d = byKey.get(sw.dp.key)!;
    const flood: TracePort[] = [];
    const floodL2: TracePort[] = [];
    const unknown: TracePort[] = [];
    const mrouter: TracePort[] = [];
    const stat: TracePort[] = [];
    const floodRelay = sw.routerPorts.some((p) => p.peer && flag(p.peer.rt.nb.options, 'mcast_relay'));
    for (const p of sw.ports) {
      if (!p.enabled) continue;
      const tp = ports.get(p.name)!;
      flood.push(tp);
      if (p.nb.type !== 'router') floodL2.push(tp);
      if (p.hasUnknown && p.nb.type !== 'external') unknown.push(tp);
      if ((floodRelay && p.peer && flag(p.peer.rt.nb.options, 'mcast_relay')) || flag(p.nb.options, 'mcast_flood_reports')) mrouter.push(tp);
      if (flag(p.nb.options, 'mcast_flood')) stat.push(tp);
    }
    group(d, '_MC_flood', MC_KEYS._MC_flood, flood);
    group(d, '_MC_unknown', MC_KEYS._MC_unknown, unknown);
    group(d, '_MC_mrouter_flood', MC_KEYS._MC_mrouter_flood, mrouter);
    group(d, '_MC_static', MC_KEYS._MC_static, stat);
    group(d, '_MC_flood_l2', MC_KEYS._MC_flood_l2, floodL2);
  }
  for (const rt of ctx.routers) {
    const stat = rt.ports.filter((p) => p.enabled && flag(p.nb.options, 'mcast_flood')).map((p) => ports.get(p.crName ?? p.name)!);
    group(byKey.get(rt.dp.key)!, '_MC_static', MC_KEYS._MC_static, stat);
  }
  for (const g of ipMulticastGroups) {
    const d = byKey.get(g.datapath.key);
    if (d) group(d, g.name, g.key, g.ports.map((n) => ports.get(n)).filter((p): p is TracePort => p !== undefined));
  }

  // Address sets (SB names) and port groups.
  const addressSets = new Map<string, string[]>();
  const svc = db.global?.options.get('svc_monitor_mac');
  if (svc) addressSets.set('svc_monitor_mac', [svc]);
  for (const pg of db.portGroups) {
    const v4: string[] = [];
    const v6: string[] = [];
    for (const lsp of pg.ports) {
      const texts = lsp.addresses.filter((a) => a.kind !== 'dynamic' && a.kind !== 'unknown' && a.kind !== 'router').map((a) => a.text);
      if (lsp.dynamic_addresses) texts.push(lsp.dynamic_addresses.text);
      for (const t of texts) {
        const la = parseLportAddresses(t);
        if (!la) continue;
        for (const a of la.ipv4) v4.push(a.addrS);
        for (const a of la.ipv6) v6.push(a.addrS);
      }
    }
    addressSets.set(`${pg.name}_ip4`, v4);
    addressSets.set(`${pg.name}_ip6`, v6);
  }
  for (const rt of ctx.routers) {
    const v4 = new Set<string>();
    const v6 = new Set<string>();
    for (const lb of rt.lbs) {
      for (const vip of northdLb(lb).vips) (vip.v6 ? v6 : v4).add(vip.vipS);
    }
    if (v4.size) addressSets.set(`_rtr_lb_${rt.dp.key}_ip4`, [...v4]);
    if (v6.size) addressSets.set(`_rtr_lb_${rt.dp.key}_ip6`, [...v6]);
  }
  for (const as of db.addressSets) addressSets.set(as.name, [...as.addresses]);
  const portGroups = new Map<string, string[]>();
  for (const pg of db.portGroups) portGroups.set(pg.name, pg.ports.map((p) => p.name));

  // LB VIPs: load balancers applied to some switch (the SB Load_Balancer table).
  const lbVips: TraceLbVip[] = [];
  const seenLb = new Set<string>();
  for (const sw of ctx.switches) {
    for (const lb of sw.lbs) {
      if (seenLb.has(lb.uuid)) continue;
      seenLb.add(lb.uuid);
      for (const vip of northdLb(lb).vips) {
        const ip = ipToBig(vip.vipS);
        if (ip) lbVips.push({ ...ip, ipS: vip.vipS, port: vip.portS ? Number(vip.portS) : 0 });
      }
    }
  }

  // Flows, prepared (parsed, annotated, simplified) when a trace first reads them.
  const skipped: { flow: LogicalFlow; error: string }[] = [];
  const onSkip = (flow: LogicalFlow, error: string) => void skipped.push({ flow, error });
  const all: LazyLflow[] = [];
  const exprCtx = { addressSets, portGroups };
  const resolve = (ref: string) => (ref[0] === '$' ? addressSets.get(ref.slice(1)) : portGroups.get(ref.slice(1)));
  const isResident = (port: string) => port === '' || ports.has(port);
  for (const f of flows) {
    const d = byKey.get(f.datapath.key);
    if (!d) continue;
    const prepare = (): PreparedFlow => {
      const p = preparedFlow(f.pipeline, f.table, f.match, f.actions, resolve, () => {
        try {
          const parsed = parseActions(f.actions, { ...exprCtx, pipeline: f.pipeline, table: f.table });
          const text = parsed.prereqs.length ? `(${f.match}) && ${parsed.prereqs.map((p) => `(${p})`).join(' && ')}` : f.match;
          return { match: simplify(annotate(parseExprText(text, exprCtx))), actions: parsed.actions };
        } catch (e) {
          return { error: (e as Error).message };
        }
      });
      return 'error' in p || !hasCondition(p.match) ? p : { match: evaluateConditions(p.match, isResident), actions: p.actions };
    };
    const k = `${f.pipeline}/${f.table}`;
    let list = d.flows.get(k);
    if (!list) {
      list = [];
      d.flows.set(k, list);
      d.stages.set(k, f.stage);
    }
    const lf = new LazyLflow(f, () => flowUuid8(f), prepare, onSkip, (m) => compileMatch(m, ports, d), (text) => matchPrecheck(text, ports, d, (g) => portGroups.get(g)));
    list.push(lf);
    all.push(lf);
  }
  for (const d of datapaths) for (const list of d.flows.values()) list.sort((a, b) => b.flow.priority - a.flow.priority);
  return {
    datapaths,
    ports,
    addressSets,
    portGroups,
    lbVips,
    get skipped() {
      for (const lf of all.splice(0)) void lf.match;
      return skipped;
    },
  };
}
