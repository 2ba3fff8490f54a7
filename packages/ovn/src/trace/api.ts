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
import type { SbDatabase } from '../sb/model.js';
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
  /** SB MAC_Binding rows to assume besides the database's own. */
  macBindings?: readonly TraceMacBinding[];
  /**
   * Which candidate to take at each choice the NB does not determine (see
   * `TraceRunOptions.choices`; `traceTree` returns the candidates met in `choicePoints`).
   */
  choices?: readonly number[];
  /**
   * Called with each warning ovn-trace would log (a logical flow that does not parse, with the
   * NB row it comes from when known; an unknown logical port in the microflow; a microflow
   * without an ingress port), before the trace or the error.
   */
  onWarning?: (warning: string) => void;
  /** Conntrack/affinity state and observers supplied by an embedding (see `TraceHooks`). */
  hooks?: TraceHooks;
  /** Build the trace tree (default true); false runs the trace for its hooks only (`root` then holds the first pipeline node, without children). */
  tree?: boolean;
  /** Multicast groups learnt by snooping (southbound IGMP_Group rows), which northd turns into groups and flows (a northbound database only). */
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
    /** Warnings logged before the error (see `OvnTraceOptions.onWarning`). */
    readonly warnings: readonly string[] = [],
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
  const m = dps.filter((d) => uuidPrefixMatch(d.sbUuid, name) || uuidPrefixMatch(d.nbUuid, name));
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
  db: NbDatabase | SbDatabase,
  datapath: string | null | undefined,
  microflow: string,
  opts: OvnTraceOptions = {},
): { header: string; root: TraceNode[]; ties: Tracer['ties']; randomChoices: string[]; choicePoints: number[]; warnings: string[] } {
  const t = traceDb(db, opts.igmpGroups ? { igmpGroups: opts.igmpGroups } : {});
  // ovn-trace reads (and warns about) every flow before it parses the microflow.
  const warnings: string[] = t.skipped.map((s) => (s.source ? `${s.warning} (logical flow from ${s.source})` : s.warning));
  const warn = (w: string) => {
    warnings.push(w);
  };
  const exprCtx = { addressSets: t.addressSets, portGroups: t.portGroups };
  const perr = (e: unknown): never => {
    if (e instanceof ExprError) throw new TraceError(`error parsing flow: ${e.message}`, undefined, e, warnings);
    throw e;
  };
  let dp: TraceDatapath | undefined;
  if (datapath !== null && datapath !== undefined) {
    dp = findDatapath(t.datapaths, datapath);
    if (!dp) throw new TraceError(`unknown datapath "${datapath}"`, undefined, undefined, warnings);
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
        undefined,
        undefined,
        warnings,
      );
    }
    const name = [...inports][0]!;
    const p = t.ports.get(name);
    if (!p) throw new TraceError(`unknown port "${name}"`, undefined, undefined, warnings);
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
  let badInport: string | undefined;
  for (const c of constraints) {
    if (c.string !== undefined) {
      const key = ports.lookupPort(dp, c.string);
      if (key !== undefined) setField(flow, c.symbol.field!.name, BigInt(key), 0xffffffffn);
      else {
        // ovn-trace's lookup_port warns about a name that is no port at all; a port of another
        // datapath is left out silently.
        if (!t.ports.has(c.string) && !dp.mcgroups.some((m) => m.name === c.string)) warn(`${c.string}: unknown logical port`);
        if (c.symbol.name === 'inport') badInport = c.string;
      }
    } else setField(flow, c.symbol.field!.name, c.value, c.mask);
  }
  if (!flow.regs[14]) warn('microflow does not specify ingress port');
  if (badInport !== undefined) {
    // ovn-trace goes on with no ingress port (and 23.03 aborts in the first port security check);
    // a trace from no port means nothing, so we refuse.
    const msg = t.ports.has(badInport) ? `inport "${badInport}" is not a port of datapath "${dp.name}"` : `unknown logical port "${badInport}"`;
    throw new TraceError(msg, undefined, undefined, warnings);
  }
  let tree: ReturnType<typeof traceFlowTree>;
  try {
    tree = traceFlowTree(db, dp, flow, opts);
  } catch (e) {
    if (e instanceof TraceError) throw new TraceError(e.message, e.output, e.exprError, warnings);
    throw e;
  }
  return { header: tree.header, root: tree.root, ties: tree.ties, randomChoices: tree.randomChoices, choicePoints: tree.choicePoints, warnings };
}

/**
 * Traces a packet given as a flow (what `parseMicroflow` makes of a microflow, with logical
 * ports as their tunnel keys in `reg14`/`reg15`) through `datapath` (a name or the datapath
 * itself): `traceTree` without parsing text or reading every flow, for embeddings that trace
 * many packets (flows are prepared as the trace reaches them; `traceDb(db).skipped` lists the
 * ones that do not parse). The header (`# ` and the packet in `flow_format` form) is formatted
 * when first read.
 */
export function traceFlowTree(
  db: NbDatabase | SbDatabase,
  datapath: string | TraceDatapath,
  packet: TraceFlow,
  opts: OvnTraceOptions = {},
): { header: string; root: TraceNode[]; ties: Tracer['ties']; randomChoices: string[]; choicePoints: number[]; chassisDepartures: string[] } {
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
    ...(opts.choices ? { choices: opts.choices } : {}),
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
    choicePoints: tracer.choicePoints,
    chassisDepartures: tracer.chassisDepartures,
  };
}

/**
 * `ovn-trace` on a northbound database: the trace of `microflow` entering `datapath` (a name or
 * NB uuid prefix; null to take the datapath of the microflow's `inport`), in ovn-trace's
 * detailed, summary or minimal form. Throws `TraceError` with ovn-trace's message for a bad
 * microflow (`error parsing flow: ...`) or an unknown datapath (`unknown datapath "x"`).
 */
export function ovnTrace(db: NbDatabase | SbDatabase, datapath: string | null | undefined, microflow: string, opts: OvnTraceOptions = {}): string {
  let tree: ReturnType<typeof traceTree>;
  try {
    tree = traceTree(db, datapath, microflow, opts);
  } catch (e) {
    if (e instanceof TraceError && opts.onWarning) for (const w of e.warnings) opts.onWarning(w);
    throw e;
  }
  const { header, root } = tree;
  if (opts.onWarning) for (const w of tree.warnings) opts.onWarning(w);
  switch (opts.format ?? 'detailed') {
    case 'detailed':
      return header + printDetails(root);
    case 'summary':
      return header + summaryText(root);
    case 'minimal':
      return header + minimalText(root);
  }
}
