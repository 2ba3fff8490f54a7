/**
 * The northd compiler: a northbound database to logical flows, as ovn-northd 23.03 computes
 * them. It builds the compiler's view of the database once (context.ts), then runs the flow
 * builders per datapath, per port and per load balancer, like ovn-northd's
 * `build_lswitch_and_lrouter_flows`: the logical switch pipeline (switch.ts, switch-acl.ts)
 * and the logical router pipeline (router.ts). Flows are plain objects whose match and actions
 * are OVN text; identical flows are kept once. The result is deterministic: datapath keys and
 * printed uuids derive from NB uuids, and builders run in NB order.
 */
import type { NbDatabase } from '../nb/db.js';
import { buildContext, type NorthdContext } from './context.js';
import { formatLflowList } from './format.js';
import { buildRouterDpFlows, buildRouterLbFlows, buildRouterPortFlows } from './router.js';
import { buildSwitchDpFlows, buildSwitchPortFlows } from './switch.js';
import { buildSwitchAclFlows, buildSwitchLbFlows } from './switch-acl.js';
import { FlowSink, type Datapath, type LogicalFlow } from './types.js';

/** Compiler options. */
export interface NorthdOptions {
  /** Build router pipelines too (default true). */
  readonly routers?: boolean;
}

/** What the compiler produces. */
export interface NorthdResult {
  /** Datapaths, switches first then routers, in NB order. */
  readonly datapaths: readonly Datapath[];
  /** Logical flows, in build order. */
  readonly flows: readonly LogicalFlow[];
  /** The compiler's view of the database. */
  readonly context: NorthdContext;
}

/** Compile a northbound database to logical flows. */
export function compileNorthd(db: NbDatabase, opts: NorthdOptions = {}): NorthdResult {
  const ctx = buildContext(db);
  const sink = new FlowSink();
  for (const sw of ctx.switches) {
    buildSwitchAclFlows(ctx, sink, sw);
    buildSwitchDpFlows(ctx, sink, sw);
  }
  for (const sw of ctx.switches) for (const p of sw.ports) buildSwitchPortFlows(ctx, sink, p);
  for (const sw of ctx.switches) buildSwitchLbFlows(sink, sw);
  if (opts.routers !== false) {
    for (const rt of ctx.routers) buildRouterDpFlows(ctx, sink, rt);
    for (const rt of ctx.routers) for (const p of rt.ports) buildRouterPortFlows(ctx, sink, p);
    for (const rt of ctx.routers) buildRouterLbFlows(ctx, sink, rt);
  }
  return { datapaths: [...ctx.switches.map((s) => s.dp), ...ctx.routers.map((r) => r.dp)], flows: sink.flows, context: ctx };
}

/** The logical flows of `db` in `ovn-sbctl lflow-list` form (for `ovnts northd --nb FILE`). */
export function lflowList(db: NbDatabase, opts: NorthdOptions = {}): string {
  return formatLflowList(compileNorthd(db, opts).flows);
}
