/**
 * What ovn-trace reads from the southbound database: datapaths with their logical flows, port
 * bindings with tunnel keys, types, patch peers and port security, multicast groups, address sets
 * and port groups, and the load balancer VIPs `chk_lb_hairpin` consults. It is built from a
 * southbound database (`SbDatabase`: one our northd produced, or a real one imported with
 * `loadSbFile`); a northbound database is first compiled by our northd (`compileNorthd(db).sb`).
 *
 * Design. Everything is read as ovn-trace 23.03 reads it (`read_datapaths`, `read_ports`,
 * `read_mcgroups`, `read_address_sets`, `read_port_groups`, `read_flows`): a patch or l3gateway
 * port is joined to its `options:peer`, a chassisredirect port to its `options:distributed-port`
 * on the same datapath, multicast group members are sorted by name, port groups are looked up per
 * datapath (`<key>_<name>`). Each flow's match is parsed for each datapath it applies to,
 * combined with its actions' prerequisites, annotated, simplified and its
 * `is_chassis_resident()` conditions evaluated (every existing port is resident, as ovn-trace
 * assumes), then flows are sorted as ovn-trace sorts them (ingress first, table, priority
 * descending). Flows that fail to parse are skipped with ovn-trace's warning (`skipped`). The
 * result is cached per database (and, for a northbound one, per learnt IGMP state).
 *
 * Flows are prepared (parsed, annotated, simplified, conditions evaluated) when a trace first
 * reads them, through a memo shared between databases (lazy.ts): a trace only evaluates the
 * flows of the tables it walks, down to the first match, and a lookup first checks a cheap
 * necessary condition read from the match text (`matchPrecheck`). Reading `skipped` prepares
 * every flow, as ovn-trace does before its first trace.
 */
import type { Action } from '../actions/ast.js';
import type { Expr } from '../expr/ast.js';
import { evaluateConditions } from '../expr/normalize.js';
import { NbDatabase } from '../nb/db.js';
import { parseLportAddresses, type LportAddresses } from '../northd/addrs.js';
import { compileNorthd } from '../northd/northd.js';
import { describeNbRow } from '../northd/checks.js';
import { parseLbKey } from '../northd/lb.js';
import { stageByName } from '../northd/stages.js';
import type { Datapath, LogicalFlow } from '../northd/types.js';
import { MC_KEYS } from '../sb/keys.js';
import type { SbDatabase, SbLogicalFlow } from '../sb/model.js';
import { sbIndex } from '../sb/lookup.js';
import { nbRowOfFlow } from '../sb/from-northd.js';
import { lflowParseContext, parseLogicalFlow } from '../sb/lflow-parse.js';
import type { IgmpGroupRecord } from '../northd/mcast.js';
import { LazyLflow, preparedFlow } from './lazy.js';
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

/** A logical flow prepared for tracing. */
export interface TraceLflow {
  /** The compiled flow. */
  readonly flow: LogicalFlow;
  /** First 32 bits of its southbound row uuid, as 8 hex digits. */
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
  /** SB Datapath_Binding uuid. */
  readonly sbUuid: string;
  /** Tunnel key. */
  readonly key: number;
  /** Ports, in southbound table order. */
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
  /** Datapaths, in southbound table order. */
  readonly datapaths: TraceDatapath[];
  /** Ports by name. */
  readonly ports: Map<string, TracePort>;
  /** Address sets by name (SB names). */
  readonly addressSets: Map<string, string[]>;
  /** Port groups by SB name (`<datapath key>_<NB name>`; names of member ports). */
  readonly portGroups: Map<string, string[]>;
  /** Load balancer VIPs (SB Load_Balancer rows, in table order). */
  readonly lbVips: TraceLbVip[];
  /** MAC bindings of the southbound database (SB MAC_Binding rows). */
  readonly macBindings: readonly TraceMacBinding[];
  /**
   * Flows that could not be parsed, with ovn-trace's warning (it skips them; so does
   * ovn-controller) and, when the database came from a northbound one, the NB row they come from.
   * Reading it prepares every flow.
   */
  readonly skipped: { flow: LogicalFlow; error: string; warning: string; source?: string }[];
  /** The southbound database. */
  readonly sb: SbDatabase;
}

/** Multicast group tunnel keys (OVN 23.03 `enum ovn_mcast_tunnel_keys`). */
export { MC_KEYS };

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

function hasCondition(e: Expr): boolean {
  return e.type === 'cond' || ((e.type === 'and' || e.type === 'or') && e.terms.some(hasCondition));
}

/** What the southbound database holds beyond what a northbound one determines. */
export interface TraceDbState {
  /** Multicast groups learnt by IGMP/MLD snooping (IGMP_Group rows; a northbound source only). */
  readonly igmpGroups?: readonly IgmpGroupRecord[];
}

const cache = new WeakMap<NbDatabase | SbDatabase, Map<string, TraceDb>>();

/**
 * Builds (or returns the cached) view of `source` for tracing: a southbound database as is, a
 * northbound database through our northd (`compileNorthd(db, { igmpGroups }).sb`).
 */
export function traceDb(source: NbDatabase | SbDatabase, state: TraceDbState = {}): TraceDb {
  let m = cache.get(source);
  if (!m) cache.set(source, (m = new Map()));
  const nb = source instanceof NbDatabase;
  const key = nb && state.igmpGroups?.length ? JSON.stringify(state.igmpGroups) : '';
  let t = m.get(key);
  if (!t) {
    if (source instanceof NbDatabase) {
      const sb = compileNorthd(source, state.igmpGroups?.length ? { igmpGroups: state.igmpGroups } : {}).sb;
      t = buildTraceDb(sb, (hint) => describeNbRow(source, hint));
    } else {
      t = buildTraceDb(source, (hint, stage) => `the NB row ${hint}..., stage ${stage}`);
    }
    if (m.size >= 64) m.clear();
    m.set(key, t);
  }
  return t;
}

/** The northd-style flow record of a southbound flow on one datapath (what traces print and tie lists hold). */
function lflowOf(f: SbLogicalFlow, dp: Datapath): LogicalFlow {
  const stage = f.externalIds.get('stage-name') ?? '';
  const out: { -readonly [K in keyof LogicalFlow]: LogicalFlow[K] } = {
    datapath: dp,
    pipeline: f.pipeline,
    stage: (stageByName(stage)?.name ?? stage) as LogicalFlow['stage'],
    table: f.tableId,
    priority: f.priority,
    match: f.match,
    actions: f.actions,
    // ovn-northd's `northd.c:LINE` (empty when the row has none).
    source: f.externalIds.get('source') ?? '',
  };
  const hint = nbRowOfFlow(f) ?? f.externalIds.get('stage-hint');
  if (hint !== undefined) out.hint = hint;
  const io = f.tags.get('in_out_port');
  if (io !== undefined) out.ioPort = io;
  return out;
}

function buildTraceDb(sb: SbDatabase, describe: (hint: string, stage: string) => string | undefined): TraceDb {
  const idx = sbIndex(sb);
  const datapaths: TraceDatapath[] = [];
  const byUuid = new Map<string, { t: TraceDatapath; dp: Datapath }>();
  for (const d of sb.datapaths) {
    const t: TraceDatapath = {
      kind: d.kind,
      name: d.name || d.nbUuid || d.uuid,
      nbUuid: d.nbUuid,
      sbUuid: d.uuid,
      key: d.tunnelKey,
      ports: [],
      mcgroups: [],
      flows: new Map(),
      stages: new Map(),
      hasLocalL3gateway: false,
    };
    datapaths.push(t);
    byUuid.set(d.uuid, { t, dp: { kind: d.kind, name: t.name, nbUuid: d.nbUuid, key: d.tunnelKey, uuid: d.uuid } });
  }

  // Ports (read_ports): the first binding of a name wins; patch and l3gateway peers.
  const ports = new Map<string, TracePort>();
  const peerOf = new Map<TracePort, string>();
  for (const pb of sb.portBindings) {
    const d = byUuid.get(pb.datapath.uuid)?.t;
    if (!d || ports.has(pb.logicalPort)) continue;
    const psAddrs: LportAddresses[] = [];
    for (const ps of pb.portSecurity) {
      const la = parseLportAddresses(ps);
      if (la) psAddrs.push(la);
    }
    const port: TracePort = { name: pb.logicalPort, key: pb.tunnelKey, type: pb.type, dp: d, psAddrs };
    ports.set(port.name, port);
    d.ports.push(port);
    if (pb.type === 'l3gateway') d.hasLocalL3gateway = true;
    const peer = pb.options.get('peer');
    if ((pb.type === 'patch' || pb.type === 'l3gateway') && peer !== undefined) peerOf.set(port, peer);
  }
  for (const [port, peerName] of peerOf) {
    const peer = ports.get(peerName);
    if (peer) {
      port.peer = peer;
      peer.peer = port;
    }
  }
  for (const pb of sb.portBindings) {
    if (pb.type !== 'chassisredirect') continue;
    const port = ports.get(pb.logicalPort);
    const dist = ports.get(pb.options.get('distributed-port') ?? '');
    if (port && dist && dist.dp === port.dp) port.distributed = dist;
  }

  // Multicast groups, members sorted by name.
  for (const mg of sb.multicastGroups) {
    const d = byUuid.get(mg.datapath.uuid)?.t;
    if (!d) continue;
    const members = mg.ports
      .map((p) => ports.get(p.logicalPort))
      .filter((p): p is TracePort => p !== undefined && p.dp === d)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    d.mcgroups.push({ name: mg.name, key: mg.tunnelKey, ports: members });
  }

  const addressSets = new Map<string, string[]>(sb.addressSets.map((a) => [a.name, [...a.addresses]]));
  const portGroups = new Map<string, string[]>(sb.portGroups.map((g) => [g.name, [...g.ports]]));

  // Load balancer VIPs.
  const lbVips: TraceLbVip[] = [];
  for (const lb of sb.loadBalancers) {
    for (const key of lb.vips.keys()) {
      const k = parseLbKey(key);
      const ip = k && ipToBig(k.ipS);
      if (k && ip) lbVips.push({ ...ip, ipS: k.ipS, port: k.port });
    }
  }

  const macBindings: TraceMacBinding[] = sb.macBindings.map((m) => ({ port: m.logicalPort, ip: m.ip, mac: m.mac }));

  // Flows, prepared per datapath (port groups resolve per datapath key) as ovn-trace parses
  // them, when a trace first reads them.
  const skipped: { at: number; entry: TraceDb['skipped'][number] }[] = [];
  const all: LazyLflow[] = [];
  const isResident = (port: string) => port === '' || ports.has(port);
  const pctx = lflowParseContext(sb);
  for (const d of sb.datapaths) {
    const e = byUuid.get(d.uuid)!;
    const resolve = (ref: string) => (ref[0] === '$' ? addressSets.get(ref.slice(1)) : portGroups.get(`${d.tunnelKey}_${ref.slice(1)}`));
    const group = (name: string) => portGroups.get(`${d.tunnelKey}_${name}`);
    for (const sf of idx.flowsOf.get(d) ?? []) {
      const f = lflowOf(sf, e.dp);
      const prepare = () => {
        const r = preparedFlow(sf.pipeline, sf.tableId, sf.match, sf.actions, resolve, () => parseLogicalFlow(sf, d, pctx));
        return !r.ok || !hasCondition(r.match) ? r : { ...r, match: evaluateConditions(r.match, isResident) };
      };
      const at = all.length;
      const onSkip = (error: string, warning: string) => {
        const source = f.hint === undefined ? undefined : describe(f.hint, f.stage);
        skipped.push({ at, entry: { flow: f, error, warning, ...(source !== undefined ? { source } : {}) } });
      };
      const k = `${sf.pipeline}/${sf.tableId}`;
      let list = e.t.flows.get(k);
      if (!list) {
        list = [];
        e.t.flows.set(k, list);
        e.t.stages.set(k, f.stage);
      }
      const lf = new LazyLflow(f, sf.uuid.slice(0, 8), prepare, onSkip, (m) => compileMatch(m, ports, e.t), (text) => matchPrecheck(text, ports, e.t, group));
      list.push(lf);
      all.push(lf);
    }
  }
  for (const d of datapaths) for (const list of d.flows.values()) list.sort((a, b) => b.flow.priority - a.flow.priority);
  return {
    datapaths,
    ports,
    addressSets,
    portGroups,
    lbVips,
    macBindings,
    get skipped() {
      // Every flow prepared; in southbound table order, as ovn-trace warns while reading them.
      for (const lf of all) void lf.match;
      return skipped.sort((a, b) => a.at - b.at).map((s) => s.entry);
    },
    sb,
  };
}
