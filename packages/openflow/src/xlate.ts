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
 */
import type { Subfield, MatchField, Prereq } from './fields.js';
import type { FlowKey } from './flowkey.js';
import type { CtPrep, LearnAction, Op } from './actions.js';

/** Why a packet went to the controller (OpenFlow 1.5 names, as OVS prints them). */
export type PacketInReason = 'no_match' | 'action' | 'invalid_ttl' | 'action_set' | 'group' | 'packet_out';

/** OVS `oftrace_node_type`. */
export type TraceNodeType = 'bridge' | 'table' | 'action' | 'detail' | 'warn' | 'error' | 'bucket' | 'thaw';

/** What recording a megaflow needs to hear from an action (OVS: the `wc` an action un-wildcards). */
export interface MegaflowMarks {
  /** The translation depends on (or writes) these bits of key word `word`. */
  mark(word: number, bits: number): void;
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
  /** `push:`: put a value on the translation's stack. */
  pushStack(v: bigint): void;
  /** `pop:`: take the top of the stack (undefined when it is empty). */
  popStack(): bigint | undefined;
  /** `clone(...)`: run `ops` on a copy of the packet; flow, stack and action set come back after. */
  clone(ops: readonly Op[]): void;
  /** The packet's length without Ethernet padding. */
  packetLength(): number;
  /** Is OpenFlow port `n` live? */
  portLive(n: number): boolean;
  /** `controller(pause)`: end the translation here. */
  halt(): void;
}
