/**
 * Logical flows prepared for tracing on demand, with parsed matches and actions shared between
 * databases.
 *
 * Design. Preparing a flow (parsing its match and actions, annotating the match with the
 * actions' prerequisites and simplifying it) costs far more than evaluating it, and a trace
 * only ever evaluates the flows of the tables it walks, down to the first match. So a
 * `LazyLflow` prepares itself the first time its match or actions are read. Many flows have the
 * same texts: the same stage flows on every switch, and the same network compiled again for
 * another node or another query. A prepared result depends only on the texts and on the
 * contents of the address sets and port groups they name, so it is memoised under a key made of
 * the texts, the pipeline and table (which `next;` resolves against) and those contents, in one
 * bounded table shared by every database. A flow that does not parse matches nothing and has no
 * actions, which is what skipping it (as ovn-trace does, with a warning) amounts to.
 */
import type { Action } from '../actions/ast.js';
import type { Expr } from '../expr/ast.js';
import type { LogicalFlow } from '../northd/types.js';
import type { TraceLflow } from './db.js';
import type { MatchPredicate } from './match.js';

/** What preparing one flow gives: its match and actions, or why it is skipped (the parser's message and ovn-trace's warning). */
export type PreparedFlow = { readonly ok: true; readonly match: Expr; readonly actions: readonly Action[] } | { readonly ok: false; readonly error: string; readonly traceWarning: string };

const NEVER: Expr = { type: 'bool', value: false };
const MAX_ENTRIES = 50_000;
const memo = new Map<string, PreparedFlow>();

/** Names of the address sets (`$x`) and port groups (`@x`) a match or action text refers to. */
function refs(text: string): string[] {
  return text.match(/[$@][A-Za-z_.][A-Za-z0-9_.]*/g) ?? [];
}

/**
 * The memoised result of `prepare()` for a flow with these texts in this context: `resolve`
 * gives the contents of a referenced `$set` or `@group` (what the parser would expand), so that
 * two databases share an entry only when the flow means the same thing in both.
 */
export function preparedFlow(
  pipeline: string,
  table: number,
  match: string,
  actions: string,
  resolve: (ref: string) => readonly string[] | undefined,
  prepare: () => PreparedFlow,
): PreparedFlow {
  let key = `${pipeline}/${table}\u0001${match}\u0001${actions}`;
  for (const r of new Set([...refs(match), ...refs(actions)])) key += `\u0001${r}=${resolve(r)?.join(' ') ?? '\u0002'}`;
  let p = memo.get(key);
  if (!p) {
    p = prepare();
    if (memo.size >= MAX_ENTRIES) memo.clear();
    memo.set(key, p);
  }
  return p;
}

/** A traced logical flow that prepares its match and actions the first time they are read. */
export class LazyLflow implements TraceLflow {
  private prepared: PreparedFlow | undefined;
  private uuid: string | (() => string);
  private predicate: MatchPredicate | undefined;
  private pre: MatchPredicate | null | undefined;

  constructor(
    /** The compiled flow. */
    readonly flow: LogicalFlow,
    uuid8: string | (() => string),
    private readonly prepare: () => PreparedFlow,
    private readonly onSkip: (error: string, warning: string) => void,
    private readonly compile: (match: Expr) => MatchPredicate,
    private readonly precheckOf?: (text: string) => MatchPredicate | undefined,
  ) {
    this.uuid = uuid8;
  }

  private get p(): PreparedFlow {
    if (!this.prepared) {
      this.prepared = this.prepare();
      if (!this.prepared.ok) this.onSkip(this.prepared.error, this.prepared.traceWarning);
    }
    return this.prepared;
  }

  /** First 32 bits of the flow's uuid, as 8 hex digits. */
  get uuid8(): string {
    if (typeof this.uuid !== 'string') this.uuid = this.uuid();
    return this.uuid;
  }

  /** Annotated, simplified match (false for a flow that does not parse). */
  get match(): Expr {
    const p = this.p;
    return p.ok ? p.match : NEVER;
  }

  /** The match compiled to a predicate on the packet. */
  get test(): MatchPredicate {
    this.predicate ??= this.compile(this.match);
    return this.predicate;
  }

  /** A necessary condition read from the match text without parsing it (`matchPrecheck`), if any. */
  get precheck(): MatchPredicate | undefined {
    if (this.pre === undefined) this.pre = this.precheckOf?.(this.flow.match) ?? null;
    return this.pre ?? undefined;
  }

  /** Parsed actions (none for a flow that does not parse). */
  get actions(): readonly Action[] {
    const p = this.p;
    return p.ok ? p.actions : [];
  }
}
