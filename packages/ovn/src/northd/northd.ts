/**
 * The northd compiler: a northbound database to logical flows, as ovn-northd 23.03 computes
 * them. It builds the compiler's view of the database once (context.ts), then runs the flow
 * builders per datapath, per port and per load balancer, like ovn-northd's
 * `build_lswitch_and_lrouter_flows`: the logical switch pipeline (switch.ts, switch-acl.ts)
 * and the logical router pipeline (router.ts). Flows are plain objects whose match and actions
 * are OVN text; identical flows are kept once. The result is deterministic: datapath keys and
 * printed uuids derive from NB uuids, and builders run in NB order.
 */
import { buildIpMulticastGroupFlows, ipMulticastGroups, type IgmpGroupRecord, type IpMulticastGroup } from './mcast.js';
import type { NbDatabase } from '../nb/db.js';
import { buildContext, type NorthdContext, type TunnelKeys } from './context.js';
import { formatLflowList } from './format.js';
import type { SbDatabase } from '../sb/model.js';
import { buildSouthbound, type SouthboundMemo } from '../sb/from-northd.js';
import { checkNbMatches } from './checks.js';
import { buildRouterDpFlows, buildRouterFlowsForSwitchPort, buildRouterLbFlows, buildRouterPortFlows } from './router.js';
import { buildSwitchDpFlows, buildSwitchPortFlows } from './switch.js';
import { buildSwitchAclFlows, buildSwitchLbFlowsAll } from './switch-acl.js';
import { FlowSink, type Datapath, type LogicalFlow } from './types.js';

/** Compiler options. */
export interface NorthdOptions {
  /** Build router pipelines too (default true). */
  readonly routers?: boolean;
  /**
   * The southbound database of a previous run (ours, or imported with `loadSbFile`): as with
   * ovn-northd, its datapath and port bindings keep their tunnel keys and uuids, and the tables
   * the controllers write (chassis, MAC bindings, ...) carry over.
   */
  readonly previous?: SbDatabase;
  /** Tunnel keys of a previous run by name (see `parseTunnelKeys`), when there is no `previous` database. */
  readonly tunnelKeys?: TunnelKeys;
  /** Multicast groups learnt by IGMP/MLD snooping (southbound IGMP_Group rows; see mcast.ts); default: the IGMP_Group rows of `previous`. */
  readonly igmpGroups?: readonly IgmpGroupRecord[];
}

/** What the compiler produces. */
export interface NorthdResult {
  /** Datapaths, switches first then routers, in NB order. */
  readonly datapaths: readonly Datapath[];
  /** Logical flows, one per datapath (expanded from the rows on first access). */
  readonly flows: readonly LogicalFlow[];
  /** Number of distinct flows (southbound Logical_Flow rows, datapath groups merged). */
  readonly rowCount: number;
  /** Number of flows expanded per datapath (what `ovn-sbctl count-flows` totals). */
  readonly flowCount: number;
  /** The flow table (rows with their datapath groups). */
  readonly sink: FlowSink;
  /** The compiler's view of the database. */
  readonly context: NorthdContext;
  /** IP multicast groups built from `igmpGroups` (southbound Multicast_Group rows named by address). */
  readonly ipMulticastGroups: readonly IpMulticastGroup[];
  /** The southbound database ovn-northd would write (built on first access). */
  readonly sb: SbDatabase;
  /**
   * Problems with the northbound database (computed on first access): what ovn-northd logs
   * (tunnel key conflicts), and every ACL, QoS rule or router policy whose match does not parse
   * (ovn-northd keeps their flows; ovn-controller installs nothing for them).
   */
  readonly warnings: readonly NorthdWarning[];
}

/** A warning about the northbound database, with ovn-northd's text where it logs one. */
export interface NorthdWarning {
  /** The NB table and row it is about, when there is one. */
  readonly table?: string;
  /** Row uuid. */
  readonly row?: string;
  /** Row name (or the name of what it is about). */
  readonly name?: string;
  /** The message. */
  readonly message: string;
}

/** Compile a northbound database to logical flows. */
export function compileNorthd(db: NbDatabase, opts: NorthdOptions = {}): NorthdResult {
  const ctx = buildContext(db, { ...(opts.previous ? { previous: opts.previous } : {}), ...(opts.tunnelKeys ? { tunnelKeys: opts.tunnelKeys } : {}) });
  const sink = new FlowSink();
  for (const sw of ctx.switches) {
    buildSwitchAclFlows(ctx, sink, sw);
    buildSwitchDpFlows(ctx, sink, sw);
  }
  for (const sw of ctx.switches) for (const p of sw.ports) buildSwitchPortFlows(ctx, sink, p);
  buildSwitchLbFlowsAll(ctx, sink);
  if (opts.routers !== false) {
    for (const rt of ctx.routers) buildRouterDpFlows(ctx, sink, rt);
    for (const rt of ctx.routers) for (const p of rt.ports) buildRouterPortFlows(ctx, sink, p);
    for (const sw of ctx.switches) for (const p of sw.ports) buildRouterFlowsForSwitchPort(ctx, sink, p);
    buildRouterLbFlows(ctx, sink);
  }
  return northdResult(db, ctx, sink, buildMulticastFlows(ctx, sink, opts), opts);
}

/**
 * The IP multicast groups of `opts` (or of its previous southbound database) and their flows,
 * added to `sink`; the last step of a compilation (incremental.ts runs it after every update).
 */
export function buildMulticastFlows(ctx: NorthdContext, sink: FlowSink, opts: NorthdOptions): IpMulticastGroup[] {
  const igmp = opts.igmpGroups ?? igmpRecords(opts.previous);
  const ipMulticast = igmp.length ? ipMulticastGroups(ctx, igmp, opts.previous) : [];
  buildIpMulticastGroupFlows(ctx, sink, opts.routers === false ? ipMulticast.filter((g) => g.datapath.kind === 'switch') : ipMulticast);
  return ipMulticast;
}

/** A compilation's result from its context and flow table (the southbound database and warnings built on first access). */
export function northdResult(db: NbDatabase, ctx: NorthdContext, sink: FlowSink, ipMulticast: readonly IpMulticastGroup[], opts: NorthdOptions, memo?: SouthboundMemo): NorthdResult {
  const datapaths = [...ctx.switches.map((s) => s.dp), ...ctx.routers.map((r) => r.dp)];
  let sb: SbDatabase | undefined;
  let warnings: NorthdWarning[] | undefined;
  return {
    datapaths,
    get flows() {
      return sink.flows;
    },
    rowCount: sink.rowCount,
    flowCount: sink.flowCount,
    sink,
    context: ctx,
    ipMulticastGroups: ipMulticast,
    get sb() {
      return (sb ??= buildSouthbound({ nb: db, ctx, sink, ipMulticastGroups: ipMulticast, ...(opts.previous ? { previous: opts.previous } : {}), ...(memo ? { memo } : {}) }));
    },
    get warnings() {
      return (warnings ??= [
        ...ctx.keyWarnings.map((w) => ({ name: w.subject, message: w.message })),
        ...checkNbMatches(db, this.sb).map((w) => ({ table: w.table, row: w.row, name: w.owner, message: w.message })),
      ]);
    },
  };
}

/** The logical flows of `db` in `ovn-sbctl lflow-list` form (for `ovnts northd --nb FILE`). */
export function lflowList(db: NbDatabase, opts: NorthdOptions = {}): string {
  return formatLflowList(compileNorthd(db, opts).flows);
}

/** The IGMP_Group rows of a southbound database as records (what ovn-northd reads of them). */
function igmpRecords(sb: SbDatabase | undefined): IgmpGroupRecord[] {
  return (sb?.igmpGroups ?? [])
    .filter((g) => g.datapath !== undefined)
    .map((g) => ({ datapath: g.datapath!.name, address: g.address, ports: g.ports.map((p) => p.logicalPort), ...(g.chassis ? { chassis: g.chassis.name } : {}) }));
}
