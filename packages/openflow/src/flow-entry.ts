/**
 * A flow installed in a switch table, stored compactly (issue 9: memory per installed flow).
 *
 * A parsed `Flow` carries a `Match` of two full-width keys (976 bytes in an ArrayBuffer, plus the
 * buffer's and the two views' objects: ~1.3 KB), its own `flags` array and its own `Instructions`
 * objects. Installed, none of that needs to be kept per flow:
 *
 * - the match lives in the classifier already: the subtable holds the mask, the rule's slot the
 *   masked value words (`ClsRule.match` builds the `Match` from them on each read). Only a flow no
 *   classifier holds (a conjunction "soft" flow, or one removed) keeps its own `Match`;
 * - the fields most flows leave at their defaults (timeouts as added, importance, flags, parsed
 *   statistics) are one shared frozen object;
 * - the entry is its own `FlowLife` record (timeouts now, created/modified/used, `filedAt`), kept
 *   by the switch's `ExpiryScheduler` without a map entry (`addLife`);
 * - flows whose prepared action list the switch shares (`OpPool`) share one `Instructions` object
 *   too, when their instructions are equal value for value (`sameData`), so the text any
 *   formatter prints from them cannot differ.
 *
 * `entry.flow` is a view built on each read: a plain object with the flow's fields, whose `match`
 * is a getter building the `Match` only when read (so `e.flow.cookie` costs no key). The scalar
 * fields (`table`, `priority`, `cookie`) and `match` can be read from the entry directly.
 */
import type { Op } from './actions.js';
import type { ClsRule } from './classifier.js';
import type { Match } from './match.js';
import type { Flow, FlowStats } from './ofctl-text.js';
import type { FlowEntry } from './pipeline.js';
import type { FlowLife } from './stateful/timeouts.js';

type Instructions = Flow['instructions'];

const NO_FLAGS: readonly string[] = Object.freeze([]);

/** The fields most installed flows leave at their defaults, in one object (shared while default). */
interface Rare {
  readonly idleTimeout: number;
  readonly hardTimeout: number;
  readonly importance: number;
  readonly flags: readonly string[];
  readonly stats: FlowStats | undefined;
}

const DEFAULT_RARE: Rare = Object.freeze({ idleTimeout: 0, hardTimeout: 0, importance: 0, flags: NO_FLAGS, stats: undefined });

/** The stored form of a flow in a table (see the module comment); what `FlowEntry` values are. */
export class InstalledFlow implements FlowEntry, FlowLife<FlowEntry> {
  table = 0;
  priority = 0;
  cookie = 0n;
  /** Timeouts as added, importance, flags, the parsed statistics: `DEFAULT_RARE` when all default. */
  private rare: Rare = DEFAULT_RARE;
  /** The instructions (possibly shared with other flows: never modified in place). */
  instructions!: Instructions;
  /** The match while no classifier rule holds it (a soft flow, a removed flow); null otherwise. */
  own: Match | null = null;
  packets = 0;
  bytes = 0;
  rule: ClsRule<FlowEntry> | null = null;
  // The numeric fields start as numbers (not `undefined`), so V8 keeps them as numbers in place:
  // a field that held `undefined` first stores each later double as a new heap number (16 bytes
  // per `used` update on every frame).
  /** Lifetime (`FlowLife`, the entry is its own record): idle timeout now (s; fin_timeout lowers it). */
  idleTimeout = 0;
  /** Hard timeout now (s). */
  hardTimeout = 0;
  /** Added at (ms). */
  created = 0;
  /** Last add/modify/learn refresh (ms). */
  modified = 0;
  /** Last packet (ms). */
  used = 0;
  /** Still installed. */
  live = true;
  /** The expiry heap's bookkeeping. */
  filedAt = -1;

  constructor(
    flow: Flow,
    /** Prepared instructions. */
    public ops: Op[],
    /** When it is added (switch clock, ms). */
    now: number,
    /** A conjunction ("soft") flow. */
    public soft: boolean,
  ) {
    this.flow = flow;
    this.idleTimeout = flow.idleTimeout;
    this.hardTimeout = flow.hardTimeout;
    this.created = now;
    this.modified = now;
    this.used = now;
  }

  /** `FlowLife.owner`: the entry itself. */
  get owner(): FlowEntry {
    return this;
  }

  /** The flow's `FlowLife`: the entry itself. */
  get life(): FlowLife<FlowEntry> {
    return this;
  }

  /** `send_flow_rem`: a flow-removed message is wanted. */
  get sendFlowRem(): boolean {
    return this.rare.flags.includes('send_flow_rem');
  }

  /** What it matches: built from the classifier's rule while one holds the flow. */
  get match(): Match {
    return this.rule !== null ? this.rule.match : this.own!;
  }

  /** The match written into `m` while a classifier holds the flow (no allocation); else its own `Match`. */
  matchInto(m: Match): Match {
    return this.rule !== null ? this.rule.matchInto(m) : this.own!;
  }

  /** The flow's fields as a `Flow` (built on each read; its `match` is built when read). */
  get flow(): Flow {
    const e = this;
    const r = this.rare;
    const f: Flow = {
      table: this.table,
      priority: this.priority,
      cookie: this.cookie,
      idleTimeout: r.idleTimeout,
      hardTimeout: r.hardTimeout,
      importance: r.importance,
      flags: r.flags.slice(),
      get match(): Match {
        return e.match;
      },
      instructions: this.instructions,
    };
    if (r.stats !== undefined) f.stats = r.stats;
    return f;
  }

  /** Replace the flow's fields; its match is kept only while no classifier rule holds the flow. */
  set flow(f: Flow) {
    this.table = f.table;
    this.priority = f.priority;
    this.cookie = f.cookie;
    this.rare =
      f.idleTimeout === 0 && f.hardTimeout === 0 && f.importance === 0 && f.flags.length === 0 && f.stats === undefined
        ? DEFAULT_RARE
        : { idleTimeout: f.idleTimeout, hardTimeout: f.hardTimeout, importance: f.importance, flags: f.flags.slice(), stats: f.stats };
    this.instructions = f.instructions;
    this.own = this.rule === null ? f.match : null;
  }

  /** The flow's flags (e.g. `send_flow_rem`), without building the view. */
  hasFlag(name: string): boolean {
    return this.rare.flags.includes(name);
  }

  /** Put the flow under classifier rule `r`, which holds its match from now on. */
  attach(r: ClsRule<FlowEntry>): void {
    this.rule = r;
    this.own = null;
  }

  /** The flow left its classifier (`rule` removed there already): keep the match it had. */
  detach(): void {
    if (this.rule !== null) this.own = this.rule.match;
    this.rule = null;
  }
}

/**
 * True when `a` and `b` hold the same data: primitives and bigints equal, arrays and typed arrays
 * element by element, plain objects key by key (the same object is equal to itself, so shared
 * field descriptors compare by identity first).
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  if (ArrayBuffer.isView(a)) {
    if (!ArrayBuffer.isView(b) || a.constructor !== b.constructor) return false;
    const x = a as unknown as ArrayLike<number>;
    const y = b as unknown as ArrayLike<number>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
