/**
 * The translation context as an action sees it: the interface between the action table
 * (actions.ts, what each action means) and the pipeline (pipeline.ts, tables, groups, the action
 * set, outputs, recirculation). It mirrors the part of OVS's `struct xlate_ctx` that
 * `do_xlate_actions()` hands to each action.
 *
 * An action edits `key` (the flow as the actions leave it). While a megaflow is being recorded
 * (`rec` not null) it declares every key bit it reads or writes, so the cached translation is
 * exact (see flowcache.ts); while a trace is being built (`tr` not null) it reports what it did in
 * ofproto/trace's words. Everything else (sending, looking up tables, groups, connection
 * tracking, learning) it asks of the context.
 *
 * An action compiles either to a function of this context (`OpRun`) or to one of the executor's
 * primitives (`Prim`): a masked write of a field, an output to a port, a table lookup. The
 * primitives cover what almost every flow does (set_field and its aliases, output, resubmit,
 * goto_table) and the pipeline runs them in one switch without a call per action; a call through
 * a per-action function from one site costs about 12 ns more per action in V8 (megamorphic call,
 * no inlining), a tenth of a whole miss-path frame on the benchmark's 10-table pipeline.
 */
import type { Subfield, MatchField, Prereq } from './fields.js';
import type { FlowKey } from './flowkey.js';
import type { CtPrep, LearnAction, Op } from './actions.js';

/** Result codes of a translation (OVS `enum xlate_error`, the ones we raise). */
export const XlateError = {
  Ok: 0,
  RecursionTooDeep: 1,
  TooManyResubmits: 2,
  TooManyMplsLabels: 3,
} as const;

/** Why a packet went to the controller (OpenFlow 1.5 names, as OVS prints them). */
export type PacketInReason = 'no_match' | 'action' | 'invalid_ttl' | 'action_set' | 'group' | 'packet_out';

/** OVS `oftrace_node_type`. */
export type TraceNodeType = 'bridge' | 'table' | 'action' | 'detail' | 'warn' | 'error' | 'bucket' | 'thaw';

/** What recording a megaflow needs to hear from an action (OVS: the `wc` an action un-wildcards). */
export interface MegaflowMarks {
  /**
   * True when the marks build a trace's `Megaflow:` line, which must be exactly what OVS
   * un-wildcards; false for the translation cache, which may mark more (a superset is exact too).
   * Actions whose OVS marks are narrower than the cache's check it.
   */
  readonly ovsExact: boolean;
  /** The translation depends on (or writes) these bits of key word `word`. */
  mark(word: number, bits: number): void;
  /** The bits of a subfield (OVS `mf_write_subfield_flow` on the mask); the cache marks the field. */
  markSubfield(sf: Subfield): void;
  /** The bits a prerequisite check reads. */
  markPrereq(p: Prereq): void;
  /** Every bit of a field. */
  markField(f: MatchField): void;
  /** The translation depends on something the cache cannot key on: do not cache it. */
  uncacheable(): void;
  /** The VLAN headers outside the key words (TPIDs, the inner tag) changed. */
  vlanChanged(): void;
  /** An output to a fixed port, replayed as such. */
  outputEvent(port: number, maxLen: number, bucket: boolean): void;
  /** An output to the port held in `src`, read again at replay. */
  outputRegEvent(src: Subfield, maxLen: number, bucket: boolean): void;
  /** An output truncated to `maxLen` bytes. */
  outputTruncEvent(port: number, maxLen: number, bucket: boolean): void;
}

/** What building a trace needs to hear from an action. */
export interface TraceSink {
  /** A node under the current one (`detail` prints ` -> text`, `warn` ` >> text`). */
  report(type: TraceNodeType, text: string): void;
  /** A datapath action (the `Datapath actions:` line). */
  datapath(text: string): void;
}

/** The translation context an action runs in (OVS `struct xlate_ctx`). */
export interface Xlate {
  /** The flow as the actions change it. */
  readonly key: FlowKey;
  /** Recording a megaflow, or null. */
  readonly rec: MegaflowMarks | null;
  /** Building a trace, or null. */
  readonly tr: TraceSink | null;
  /** The table whose flow is running (the default table of `resubmit`). */
  readonly tableId: number;
  /** OVS `ctx->conntracked`: the tracker has seen the packet in this pass. */
  readonly conntracked: boolean;
  /** Output to a port (reserved ports included: IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER, NONE). */
  output(port: number, maxLen: number, bucket: boolean): void;
  /** Output to the port held in a subfield. */
  outputReg(src: Subfield, maxLen: number, bucket: boolean): void;
  /** Send the packet (as modified so far, cut to `maxLen`) to the controller. */
  controller(maxLen: number, reason: PacketInReason, id: number, userdata: Uint8Array | undefined): void;
  /** Look up `table` with in_port `inPort` and run what matches (resubmit, goto_table, output:TABLE). */
  resubmit(inPort: number, table: number): void;
  /** Run group `id`; true when the rest of the action list must stop (the group does not exist). */
  group(id: number): boolean;
  /** Run meter `id` (the datapath may drop the packet here). */
  meter(id: number): void;
  /** Send the packet through the connection tracker. */
  ct(c: CtPrep): void;
  /** Learn a flow. */
  learn(a: LearnAction): void;
  /** `clear_actions`: empty the action set. */
  clearActionSet(): void;
  /** `write_actions`: merge `ops` into the action set. */
  writeActionSet(ops: readonly Op[]): void;
  /**
   * `clone(...)`: run `ops` (and then the action set) on a copy of the packet; the flow, the bytes,
   * the action set and the stack come back afterwards. `reversible`: the datapath needs no clone.
   */
  clone(ops: readonly Op[], reversible: boolean): void;
  /** `push:F[a..b]`: push the bits on the value stack. */
  stackPush(src: Subfield): void;
  /** `pop:F[a..b]`: pop the top value into the bits ("stack underflow" when empty). */
  stackPop(dst: Subfield): void;
  /**
   * `check_pkt_larger(len)->dst`: write whether the packet is longer than `len` bytes, then run the
   * rest of the current action list (and the action set) on a copy as a clone does; returns true
   * (the rest of the list has run).
   */
  checkPktLarger(len: number, dst: Subfield, bucket: boolean): boolean;
  /** `exit`: stop the translation (the rest of a group's buckets still run). */
  exit(): void;
  /** `controller(pause)`: end the translation here (the controller resumes it). */
  halt(): void;
  /** Commit the flow's pending rewrites to the packet now (OVS `xlate_commit_actions`, before a first MPLS push). */
  commit(): void;
  /**
   * A `pop_mpls` took the last label (OVS `was_mpls`): the next action that needs what follows
   * recirculates the packet first (see `recircForMpls`).
   */
  mplsPopped(): void;
  /** The translation fails (OVS `ctx->error`): nothing of it is executed. */
  fail(): void;
  /** Is this port a usable `bundle` member (OVS `member_enabled_cb`)? */
  memberEnabled(port: number): boolean;
  /** `fin_timeout`: on a TCP FIN or RST, lower the timeouts of the flow running. */
  finTimeout(idle: number, hard: number): void;
}

/** The executor's primitives (see the module comment). */
export const PrimKind = {
  /** Write `vw` under `mw` into `field`'s words when the packet has the field (OVS `OFPACT_SET_FIELD`). */
  SetField: 1,
  /** `output` to a port (reserved ports included) with `maxLen`. */
  Output: 2,
  /** Look up `table` (255: the current one) with in_port `port` (`OFPP.IN_PORT`: the packet's). */
  Resubmit: 3,
} as const;

/** A masked field write, prepared (words as the key holds them; one-word fields unshifted). */
export interface SetFieldPrim {
  /** `PrimKind.SetField`. */
  readonly kind: typeof PrimKind.SetField;
  /** The field. */
  readonly field: MatchField;
  /** Value words. */
  readonly vw: Uint32Array;
  /** Mask words. */
  readonly mw: Uint32Array;
  /**
   * `vw[0]` as a plain number: with `m0`, `v1`, `m1` a write of a one- or two-word field (nearly
   * all of them) loads no typed array.
   */
  readonly v0: number;
  /** `mw[0]`. */
  readonly m0: number;
  /** `vw[1]` (0 for a one-word field). */
  readonly v1: number;
  /** `mw[1]` (0 for a one-word field). */
  readonly m1: number;
}

/** An output, prepared. */
export interface OutputPrim {
  /** `PrimKind.Output`. */
  readonly kind: typeof PrimKind.Output;
  /** Port. */
  readonly port: number;
  /** `max_len` (65535: whole packet): a packet-in's length, or with `trunc` the output's. */
  readonly maxLen: number;
  /** `output(port=..,max_len=..)`: the output is cut to `maxLen` bytes. */
  readonly trunc: boolean;
}

/** A table lookup, prepared. */
export interface ResubmitPrim {
  /** `PrimKind.Resubmit`. */
  readonly kind: typeof PrimKind.Resubmit;
  /** in_port for the lookup (`OFPP.IN_PORT`: the packet's). */
  readonly port: number;
  /** Table (255: the current one). */
  readonly table: number;
  /** `goto_table`: a miss may send a packet-in (OVS's hidden miss rule); a `resubmit` miss never does. */
  readonly goto?: true;
}

/** One of the executor's primitives. */
export type Prim = SetFieldPrim | OutputPrim | ResubmitPrim;
