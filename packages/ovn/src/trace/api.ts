/**
 * `ovnTrace`: the library form of `ovn-trace [--ct=FLAGS]... [--lb-dst=IP[:PORT]]
 * [--detailed|--summary|--minimal] [DATAPATH] MICROFLOW` on a northbound database.
 *
 * Design. The NB is compiled to logical flows and the southbound view ovn-trace reads
 * (db.ts, cached per database); the microflow is parsed with OVN's microflow rules
 * (`parseMicroflow`: one conjunction of exact or masked constraints, else ovn-trace's
 * "ambiguous"/"contradictory" errors) into a packet, the named datapath is found by name or
 * NB uuid prefix (or from the microflow's `inport` when no datapath is given), and the
 * interpreter (trace.ts) builds the trace tree that print.ts renders. The output starts with
 * `# ` and the microflow in OVS `flow_format` form, as ovn-trace's does. Errors that ovn-trace
 * prints instead of a trace are thrown as `TraceError` whose `output` is ovn-trace's text.
 */
import { ExprError } from '../expr/errors.js';
import { parseExprText } from '../expr/parse.js';
import { parseMicroflow } from '../expr/normalize.js';
import type { Expr } from '../expr/ast.js';
import type { NbDatabase } from '../nb/db.js';
import type { IgmpGroupRecord } from '../northd/mcast.js';
import { traceDb, parseIpText, type TraceDatapath, type TraceMacBinding } from './db.js';
import { cloneFlow, emptyFlow, flowFormat, parseCtState, setField, type TraceFlow } from './flow.js';
import { minimalText, printDetails, summaryText } from './print.js';
import { NO_TREE, Tracer, type TraceHooks, type TraceNode } from './trace.js';

/** Output form. */
export type TraceFormat = 'detailed' | 'summary' | 'minimal';

/** Options of `ovnTrace` (ovn-trace's command-line options). */
export interface OvnTraceOptions {
  /** `--ct=FLAGS`, one entry per option, consumed in order by conntrack actions (`new`, `est,rpl`, ...). */
  ct?: readonly string[];
  /** `--lb-dst=IP[:PORT]`: the backend `ct_lb_mark` picks. */
  lbDst?: string;
  /** `--select-id=ID`. */
  selectId?: number;
  /** Output form (default detailed). */
  format?: TraceFormat;
  /** SB MAC_Binding rows to assume (a fresh southbound database has none). */
  macBindings?: readonly TraceMacBinding[];
  /** Conntrack/affinity state and observers supplied by an embedding (see `TraceHooks`). */
  hooks?: TraceHooks;
  /** Build the trace tree (default true); false runs the trace for its hooks only (`root` then holds the first pipeline node, without children). */
  tree?: boolean;
  /** Multicast groups learnt by snooping (southbound IGMP_Group rows), which northd turns into groups and flows. */
  igmpGroups?: readonly IgmpGroupRecord[];
  /** Fan multicast out as ovn-controller does (see `TraceRunOptions.chassisMulticast`). */
  chassisMulticast?: boolean;
}

/** What ovn-trace prints instead of a trace (bad microflow, unknown datapath, bad option). */
export class TraceError extends Error {
  override readonly name = 'TraceError';
  constructor(
    message: string,
    /** ovn-trace's exact output text for this error (with its newline). */
    readonly output: string = `${message}\n`,
    /** The underlying expression error, for microflow errors. */
    readonly exprError?: ExprError,
  ) {
    super(message);
  }
}

function uuidPrefixMatch(uuid: string, s: string): boolean {
  const a = uuid.toLowerCase();
  const b = s.toLowerCase();
  return b.length >= 4 && /^[0-9a-f-]+$/.test(b) && a.startsWith(b);
}

function findDatapath(dps: readonly TraceDatapath[], name: string): TraceDatapath | undefined {
  const byName = dps.find((d) => d.name === name);
  if (byName) return byName;
  const m = dps.filter((d) => uuidPrefixMatch(d.nbUuid, name));
  return m.length === 1 ? m[0] : undefined;
}

function findInports(e: Expr, out: Set<string>): void {
  if (e.type === 'cmp') {
    if (e.symbol.name === 'inport' && !e.symbol.width && e.relop === '==') out.add(e.string!);
  } else if (e.type === 'and' || e.type === 'or') for (const t of e.terms) findInports(t, out);
}

/** Parses `--lb-dst` (`IP`, `IP:PORT`, `[IPv6]:PORT`). */
export function parseLbDst(s: string): { family: 4 | 6; ip: bigint; port: number } {
  let ipS = s;
  let port = 0;
  const m6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const m4 = /^([0-9.]+):(\d+)$/.exec(s);
  if (m6) {
    ipS = m6[1]!;
    port = m6[2] ? Number(m6[2]) : 0;
  } else if (m4) {
    ipS = m4[1]!;
    port = Number(m4[2]);
  }
  const ip = parseIpText(ipS);
  if (!ip || port > 65535) throw new TraceError(`${s}: bad address`, `ovn-trace: ${s}: bad address\n`);
  return { ...ip, port };
}

/** Traces `microflow` through `datapath` (or the inport's datapath when null) and returns the trace tree and the packet line. */
export function traceTree(
  db: NbDatabase,
  datapath: string | null | undefined,
  microflow: string,
  opts: OvnTraceOptions = {},
): { header: string; root: TraceNode[]; ties: Tracer['ties']; randomChoices: string[] } {
  const t = traceDb(db, opts.igmpGroups ? { igmpGroups: opts.igmpGroups } : {});
  const exprCtx = { addressSets: t.addressSets };
  const perr = (e: unknown): never => {
    if (e instanceof ExprError) throw new TraceError(`error parsing flow: ${e.message}`, undefined, e);
    throw e;
  };
  let dp: TraceDatapath | undefined;
  if (datapath !== null && datapath !== undefined) {
    dp = findDatapath(t.datapaths, datapath);
    if (!dp) throw new TraceError(`unknown datapath "${datapath}"`);
  } else {
    let e: Expr;
    try {
      e = parseExprText(microflow, exprCtx);
    } catch (err) {
      return perr(err);
    }
    const inports = new Set<string>();
    findInports(e, inports);
    if (inports.size !== 1) {
      throw new TraceError(
        `error parsing flow: ${inports.size ? 'flow match expression matches on multiple inports' : 'flow match expression does not match on inport'}`,
      );
    }
    const name = [...inports][0]!;
    const p = t.ports.get(name);
    if (!p) throw new TraceError(`unknown port "${name}"`);
    dp = p.dp;
  }
  let constraints;
  try {
    constraints = parseMicroflow(microflow, exprCtx);
  } catch (err) {
    return perr(err);
  }
  const ports = new Tracer(t);
  const flow = emptyFlow();
  for (const c of constraints) {
    if (c.string !== undefined) {
      const key = ports.lookupPort(dp, c.string);
      if (key !== undefined) setField(flow, c.symbol.field!.name, BigInt(key), 0xffffffffn);
    } else setField(flow, c.symbol.field!.name, c.value, c.mask);
  }
  return traceFlowTree(db, dp, flow, opts);
}

/**
 * Traces a packet given as a flow (what `parseMicroflow` makes of a microflow, with logical
 * ports as their tunnel keys in `reg14`/`reg15`) through `datapath` (a name or the datapath
 * itself): `traceTree` without parsing text, for embeddings that trace many packets. The
 * header (`# ` and the packet in `flow_format` form) is formatted when first read.
 */
export function traceFlowTree(
  db: NbDatabase,
  datapath: string | TraceDatapath,
  packet: TraceFlow,
  opts: OvnTraceOptions = {},
): { header: string; root: TraceNode[]; ties: Tracer['ties']; randomChoices: string[]; chassisDepartures: string[] } {
  const t = traceDb(db, opts.igmpGroups ? { igmpGroups: opts.igmpGroups } : {});
  const dp = typeof datapath === 'string' ? findDatapath(t.datapaths, datapath) : datapath;
  if (!dp) throw new TraceError(`unknown datapath "${String(datapath)}"`);
  const ctStates = (opts.ct ?? []).map((c) => {
    try {
      return parseCtState(c);
    } catch (e) {
      throw new TraceError((e as Error).message, `ovn-trace: ${(e as Error).message}\n`);
    }
  });
  const tracer = new Tracer(t, {
    ctStates,
    ...(opts.lbDst !== undefined ? { lbDst: parseLbDst(opts.lbDst) } : {}),
    ...(opts.selectId !== undefined ? { selectId: opts.selectId } : {}),
    ...(opts.macBindings ? { macBindings: opts.macBindings } : {}),
    ...(opts.hooks ? { hooks: opts.hooks } : {}),
    ...(opts.chassisMulticast ? { chassisMulticast: true } : {}),
  });
  const first = cloneFlow(packet);
  let header: string | undefined;
  const flow = cloneFlow(packet);
  const inKey = Number(flow.regs[14]);
  const inport = tracer.portByKey(dp, inKey);
  const root: TraceNode[] = [];
  const n: TraceNode = { type: 'pipeline', name: `ingress(dp="${dp.name}", inport="${inport ? inport.name : '(unnamed)'}")`, alwaysIndent: false, subs: [] };
  root.push(n);
  tracer.trace(dp, flow, 0, 'ingress', opts.tree === false ? NO_TREE : n.subs);
  return {
    get header() {
      header ??= `# ${flowFormat(first)}\n`;
      return header;
    },
    root,
    ties: tracer.ties,
    randomChoices: tracer.randomChoices,
    chassisDepartures: tracer.chassisDepartures,
  };
}

/**
 * `ovn-trace` on a northbound database: the trace of `microflow` entering `datapath` (a name or
 * NB uuid prefix; null to take the datapath of the microflow's `inport`), in ovn-trace's
 * detailed, summary or minimal form. Throws `TraceError` with ovn-trace's message for a bad
 * microflow (`error parsing flow: ...`) or an unknown datapath (`unknown datapath "x"`).
 */
export function ovnTrace(db: NbDatabase, datapath: string | null | undefined, microflow: string, opts: OvnTraceOptions = {}): string {
  const { header, root } = traceTree(db, datapath, microflow, opts);
  switch (opts.format ?? 'detailed') {
    case 'detailed':
      return header + printDetails(root);
    case 'summary':
      return header + summaryText(root);
    case 'minimal':
      return header + minimalText(root);
  }
}
