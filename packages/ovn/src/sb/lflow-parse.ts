/**
 * A southbound logical flow parsed for one of its datapaths, the way its readers parse it:
 * ovn-controller (`lflow.c`: the actions, then the match combined with the actions'
 * prerequisites, annotated and simplified) and ovn-trace (`read_flows`: the match, then the
 * actions). ovn-northd never parses what it copies from the northbound database (ACL, QoS and
 * policy matches), so a flow whose text does not parse is in the southbound database like any
 * other; its readers skip it with a warning, which means ovn-controller installs no OpenFlow flow
 * for it: a drop ACL with a bad match drops nothing. `parseLogicalFlow` gives the parsed form or
 * the failure with both tools' warning texts, so every reader skips exactly the same flows.
 *
 * Port groups are resolved per datapath (`@pg` is the southbound group `<datapath key>_pg`), so
 * the result depends on the datapath.
 */
import type { Action } from '../actions/ast.js';
import { parseActions } from '../actions/parse.js';
import type { Expr } from '../expr/ast.js';
import { annotate } from '../expr/check.js';
import { simplify } from '../expr/normalize.js';
import { parseExprText, type NameTable } from '../expr/parse.js';
import type { SbDatabase, SbDatapath, SbLogicalFlow } from './model.js';

/** Address sets and port groups of a southbound database, as the expression parser reads them. */
export interface LflowParseContext {
  /** SB Address_Set name to addresses. */
  readonly addressSets: NameTable;
  /** SB Port_Group name (`<key>_<name>`) to port names. */
  readonly portGroups: NameTable;
}

/** A logical flow that parsed. */
export interface LflowParsed {
  /** Parsed. */
  readonly ok: true;
  /** The match combined with the actions' prerequisites, annotated and simplified. */
  readonly match: Expr;
  /** The actions. */
  readonly actions: readonly Action[];
}

/** A logical flow its readers skip. */
export interface LflowFailed {
  /** Not parsed. */
  readonly ok: false;
  /** What ovn-controller fails on first (it parses the actions first). */
  readonly what: 'actions' | 'match';
  /** The parser's message (for `what`). */
  readonly error: string;
  /** What ovn-controller logs: `error parsing actions "A": E` or `error parsing match "M": E`. */
  readonly controllerWarning: string;
  /** What ovn-trace logs (it parses the match first): `M: parsing expression failed (E)`, `A: parsing actions failed (E)` or `match annotation failed (E)`. */
  readonly traceWarning: string;
}

/** The outcome of parsing one logical flow for one datapath. */
export type LflowParse = LflowParsed | LflowFailed;

const ctxCache = new WeakMap<SbDatabase, LflowParseContext>();

/** The (cached) parse context of `sb`. */
export function lflowParseContext(sb: SbDatabase): LflowParseContext {
  let c = ctxCache.get(sb);
  if (!c) {
    c = {
      addressSets: new Map(sb.addressSets.map((a) => [a.name, a.addresses])),
      portGroups: new Map(sb.portGroups.map((g) => [g.name, g.ports])),
    };
    ctxCache.set(sb, c);
  }
  return c;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Parses `flow` for datapath `dp` as ovn-controller and ovn-trace do. */
export function parseLogicalFlow(flow: SbLogicalFlow, dp: SbDatapath, ctx: LflowParseContext): LflowParse {
  const exprCtx = { addressSets: ctx.addressSets, portGroups: ctx.portGroups, dpKey: dp.tunnelKey };
  const matchError = (): string | undefined => {
    try {
      parseExprText(flow.match, exprCtx);
      return undefined;
    } catch (e) {
      return message(e);
    }
  };
  let parsed: ReturnType<typeof parseActions>;
  try {
    parsed = parseActions(flow.actions, { ...exprCtx, pipeline: flow.pipeline, table: flow.tableId });
  } catch (e) {
    const error = message(e);
    const m = matchError();
    return {
      ok: false,
      what: 'actions',
      error,
      controllerWarning: `error parsing actions "${flow.actions}": ${error}`,
      traceWarning: m !== undefined ? `${flow.match}: parsing expression failed (${m})` : `${flow.actions}: parsing actions failed (${error})`,
    };
  }
  const text = parsed.prereqs.length ? `(${flow.match}) && ${parsed.prereqs.map((p) => `(${p})`).join(' && ')}` : flow.match;
  try {
    return { ok: true, match: simplify(annotate(parseExprText(text, exprCtx))), actions: parsed.actions };
  } catch (e) {
    const m = matchError();
    const error = m ?? message(e);
    return {
      ok: false,
      what: 'match',
      error,
      controllerWarning: `error parsing match "${flow.match}": ${error}`,
      traceWarning: m !== undefined ? `${flow.match}: parsing expression failed (${m})` : `match annotation failed (${error})`,
    };
  }
}
