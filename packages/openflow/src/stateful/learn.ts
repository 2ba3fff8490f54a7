/**
 * The `learn` action with OVS 3.1's semantics (lib/learn.c `learn_execute`, `learn_check`;
 * ofproto.c `ofproto_flow_mod_init_for_learn`, `ofproto_flow_mod_learn`, learned cookies).
 *
 * `learnedFlow(spec, key)` is pure: it builds the flow OVS installs: table, priority, cookie,
 * idle/hard timeouts and `send_flow_rem` from the spec; a match made of the spec's match entries
 * (each copies a subfield of the packet, or an immediate value, into a subfield of the new match;
 * entries writing the same field accumulate bit by bit as `mf_write_subfield` does); and actions
 * in spec order: `load` becomes `set_field` (masked unless it covers the whole field), `output`
 * becomes `output:PORT` when the value is a valid output port (below 0xff00, or IN_PORT, FLOOD,
 * ALL, LOCAL; anything else is dropped silently). When the spec has `fin_idle_timeout` or
 * `fin_hard_timeout` the flow's first action is `fin_timeout(...)`, as in OVS.
 *
 * Installing it is a modify-strict flow mod (`decideLearn`):
 *  - a visible flow with the same table, match and priority and identical timeouts, importance,
 *    flags, cookie and actions is only *refreshed*: its `modified` time becomes now, which restarts
 *    its hard timeout (not its idle timeout, which runs from the last packet) — no limit check;
 *  - otherwise, with `limit=N`, the flow is refused when the table already holds N or more flows
 *    with the learned flow's cookie (`result_dst` then gets 0, and nothing changes);
 *  - otherwise an existing flow with that match and priority is *modified*: new actions and cookie,
 *    but it keeps its timeouts, importance, flags, creation time and counters (modify semantics);
 *  - otherwise the flow is *added*.
 * `result_dst` (one bit) is set to 1 on success, 0 when the limit refused the flow.
 *
 * `delete_learned`: OVS counts, per (cookie, table) of every `learn(..., delete_learned)` action,
 * how many installed flows contain such an action (`LearnedCookies`). When the count drops to 0
 * (the last such flow was deleted or modified away) every flow in that table with that cookie is
 * deleted (reason DELETE).
 */
import { OFPP, formatActionList, parseAction, hexC, type Action, type LearnAction, type Subfield } from '../actions.js';
import { TextParseError } from '../errors.js';
import { getFieldBig, W } from '../flowkey.js';
import { Match, writeSubfieldMatch } from '../match.js';
import { formatMatch, type Flow } from '../ofctl-text.js';

/** The flow a `learn` produces. */
export interface LearnedFlow {
  /** The flow (match, priority, cookie, timeouts, flags, actions with any `fin_timeout` first). */
  flow: Flow;
}

/** Parse `learn(...)` (or just its argument list) on its own. */
export function parseLearnAction(text: string): LearnAction {
  const t = text.trim();
  const src = /^learn\s*\(/.test(t) ? t : `learn(${t})`;
  for (const a of parseAction(src, src, 0, { hasVlan: false, nwProto: -1 })) if (a.type === 'learn') return a;
  throw new TextParseError(src, 0, 'expected learn(...)');
}

function ones(n: number): bigint {
  return (1n << BigInt(n)) - 1n;
}

/** Read `nBits` bits at `ofs` of a field from a key (OVS `mf_read_subfield`). */
export function readSubfieldBig(w: Uint32Array, s: Subfield): bigint {
  return (getFieldBig(w, s.field) >> BigInt(s.ofs)) & ones(s.nBits);
}

function srcValue(src: Subfield | { value: bigint }, w: Uint32Array, nBits: number): bigint {
  return 'value' in src ? src.value & ones(nBits) : readSubfieldBig(w, src);
}

function isValidLearnOutput(port: number): boolean {
  return port < OFPP.MAX || port === OFPP.IN_PORT || port === OFPP.FLOOD || port === OFPP.LOCAL || port === OFPP.ALL;
}

/** The flow OVS installs for `learn` executed on a packet whose (current) flow key is `w`. */
export function learnedFlow(spec: LearnAction, w: Uint32Array): LearnedFlow {
  const match = new Match();
  const apply: Action[] = [];
  if (spec.finIdleTimeout || spec.finHardTimeout) apply.push({ type: 'fin_timeout', idleTimeout: spec.finIdleTimeout, hardTimeout: spec.finHardTimeout });
  for (const s of spec.specs) {
    if (s.kind === 'match') {
      writeSubfieldMatch(match, s.dst, srcValue(s.src, w, s.dst.nBits));
    } else if (s.kind === 'load') {
      const v = srcValue(s.src, w, s.dst.nBits);
      const whole = s.dst.ofs === 0 && s.dst.nBits === s.dst.field.bits;
      const sh = BigInt(s.dst.ofs);
      apply.push({ type: 'set_field', field: s.dst.field, value: v << sh, ...(whole ? {} : { mask: ones(s.dst.nBits) << sh }) });
    } else {
      const v = readSubfieldBig(w, s.src);
      if (s.src.nBits <= 16 || v <= 0xffffn) {
        const port = Number(v & 0xffffn);
        if (isValidLearnOutput(port)) apply.push({ type: 'output', port });
      }
    }
  }
  const flow: Flow = {
    table: spec.table, priority: spec.priority, cookie: spec.cookie, idleTimeout: spec.idleTimeout,
    hardTimeout: spec.hardTimeout, importance: 0, flags: spec.sendFlowRem ? ['send_flow_rem'] : [], match,
    instructions: { apply, clearActions: false },
  };
  return { flow };
}

/** The learned flow's actions as OVS's `dump-flows` prints them (any `fin_timeout` first). */
export function formatLearnedActions(lf: LearnedFlow): string {
  return formatActionList(lf.flow.instructions.apply);
}

/** The learned flow in `dump-flows --no-stats` form: `cookie=..., table=N, [timeouts, flags] match actions=...`. */
export function formatLearnedFlow(lf: LearnedFlow): string {
  const f = lf.flow;
  let s = ` cookie=${f.cookie ? hexC(f.cookie) : '0x0'}, table=${f.table}, `;
  if (f.idleTimeout) s += `idle_timeout=${f.idleTimeout}, `;
  if (f.hardTimeout) s += `hard_timeout=${f.hardTimeout}, `;
  for (const fl of f.flags) s += `${fl} `;
  const m = formatMatch(f.match, f.priority);
  return s + (m ? `${m} ` : '') + `actions=${formatLearnedActions(lf)}`;
}

/** Write the learn result bit (`result_dst`) into a flow key. */
export function writeLearnResult(a: LearnAction, w: Uint32Array, success: boolean): void {
  const d = a.resultDst;
  if (!d) return;
  const f = d.field;
  // One bit: locate its word. Fields are big-endian word arrays; bit `ofs` counts from the LSB of the last word.
  const bitInField = d.ofs;
  if (f.nwords === 1) {
    const bit = f.shift + bitInField;
    const mask = (1 << bit) >>> 0;
    w[f.word] = success ? (w[f.word]! | mask) >>> 0 : (w[f.word]! & ~mask) >>> 0;
    return;
  }
  const wi = f.word + f.nwords - 1 - Math.floor(bitInField / 32);
  const mask = (1 << (bitInField % 32)) >>> 0;
  w[wi] = success ? (w[wi]! | mask) >>> 0 : (w[wi]! & ~mask) >>> 0;
}

/** What the switch knows about an installed flow with the learned flow's table, match and priority. */
export interface ExistingFlowInfo {
  /** Idle timeout (s). */
  idleTimeout: number;
  /** Hard timeout (s). */
  hardTimeout: number;
  /** Importance. */
  importance: number;
  /** Flow-mod flags kept with the flow (`send_flow_rem`, `no_packet_counts`, `no_byte_counts`). */
  flags: readonly string[];
  /** Cookie. */
  cookie: bigint;
  /** Its actions in `formatLearnedActions` form (with any fin_timeout). */
  actionsText: string;
}

/** What to do with a learned flow (see the module comment). */
export type LearnDecision =
  | { kind: 'refresh' }
  | { kind: 'modify'; idleTimeout: number; hardTimeout: number; importance: number; flags: string[]; cookie: bigint }
  | { kind: 'add' }
  | { kind: 'limit' };

const STATE_FLAGS = ['send_flow_rem', 'no_packet_counts', 'no_byte_counts'];

/**
 * Decide how a learned flow is installed. `existing`: the visible flow with the same table, match
 * and priority (undefined if none). `sameCookieCount`: flows in the learned table whose cookie
 * equals the learned flow's (only needed with a limit).
 */
export function decideLearn(lf: LearnedFlow, existing: ExistingFlowInfo | undefined, limit: number, sameCookieCount: number): LearnDecision {
  const f = lf.flow;
  if (existing) {
    const flagsEq = STATE_FLAGS.every((x) => existing.flags.includes(x) === f.flags.includes(x));
    if (
      existing.idleTimeout === f.idleTimeout && existing.hardTimeout === f.hardTimeout && existing.importance === 0 && flagsEq &&
      existing.cookie === f.cookie && existing.actionsText === formatLearnedActions(lf)
    ) {
      return { kind: 'refresh' };
    }
  }
  if (limit && sameCookieCount >= limit) return { kind: 'limit' };
  if (existing) {
    return {
      kind: 'modify', idleTimeout: existing.idleTimeout, hardTimeout: existing.hardTimeout, importance: existing.importance,
      flags: existing.flags.filter((x) => STATE_FLAGS.includes(x)), cookie: f.cookie,
    };
  }
  return { kind: 'add' };
}

/**
 * OVS's learned-cookie reference counts for `delete_learned`: `+1` per (cookie, table) of each
 * `learn(..., delete_learned)` action of every installed flow. `remove()` returns the (table, cookie)
 * pairs whose count fell to 0: the switch then deletes every flow of that table with that cookie.
 */
export class LearnedCookies {
  private readonly n = new Map<string, { table: number; cookie: bigint; n: number }>();

  private static learns(actions: readonly Action[]): LearnAction[] {
    const out: LearnAction[] = [];
    for (const a of actions) if (a.type === 'learn' && a.deleteLearned) out.push(a);
    return out;
  }

  /** A flow with these actions was installed. */
  add(actions: readonly Action[]): void {
    for (const l of LearnedCookies.learns(actions)) {
      const k = `${l.table}/${l.cookie}`;
      const e = this.n.get(k);
      if (e) e.n++;
      else this.n.set(k, { table: l.table, cookie: l.cookie, n: 1 });
    }
  }

  /** A flow with these actions was removed (or its actions replaced); returns the dead (table, cookie) pairs. */
  remove(actions: readonly Action[]): Array<{ table: number; cookie: bigint }> {
    const dead: Array<{ table: number; cookie: bigint }> = [];
    for (const l of LearnedCookies.learns(actions)) {
      const k = `${l.table}/${l.cookie}`;
      const e = this.n.get(k);
      if (!e) continue;
      if (--e.n === 0) {
        this.n.delete(k);
        dead.push({ table: e.table, cookie: e.cookie });
      }
    }
    return dead;
  }

  /** Current count for (table, cookie). */
  count(table: number, cookie: bigint): number {
    return this.n.get(`${table}/${cookie}`)?.n ?? 0;
  }
}

/** The `tcp_flags` bits that make `fin_timeout` shorten a flow's timeouts (FIN, RST). */
export const FIN_RST = 0x001 | 0x004;

/** True when a packet's key carries FIN or RST (OVS applies fin_timeout then). */
export function hasFinOrRst(w: Uint32Array): boolean {
  return (w[W.tcp_flags]! & FIN_RST) !== 0;
}
