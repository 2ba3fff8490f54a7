/**
 * Logical flows as ovn-northd writes them to the southbound Logical_Flow table, and the sink
 * the compiler adds them to. Flows are plain objects with their match and actions as OVN text;
 * the sink drops exact duplicates (same datapath, stage, priority, match and actions), as
 * ovn-northd's flow hash does.
 */
import { stage, type DatapathKind, type Pipeline, type StageName } from './stages.js';

/** A logical datapath: one per logical switch and logical router. */
export interface Datapath {
  /** Switch or router. */
  readonly kind: DatapathKind;
  /** NB name (`external_ids:name` of the SB Datapath_Binding). */
  readonly name: string;
  /** NB row uuid. */
  readonly nbUuid: string;
  /** Tunnel key (1.., assigned in a deterministic order). */
  readonly key: number;
  /** A deterministic uuid for the SB datapath binding (printed by lflowList). */
  readonly uuid: string;
}

/** One logical flow. */
export interface LogicalFlow {
  /** Datapath the flow belongs to. */
  readonly datapath: Datapath;
  /** Ingress or egress. */
  readonly pipeline: Pipeline;
  /** Stage name (`ls_in_acl`, ...). */
  readonly stage: StageName;
  /** Logical table number of the stage (OVN 23.03 numbering). */
  readonly table: number;
  /** Priority 0..65535. */
  readonly priority: number;
  /** Match, OVN expression text. */
  readonly match: string;
  /** Actions, OVN action text. */
  readonly actions: string;
  /** `external_ids:stage-hint`: the NB row (uuid) the flow comes from, when there is one. */
  readonly hint?: string;
  /** `tags:in_out_port`: the logical port the flow is about, when there is one. */
  readonly ioPort?: string;
}

/** Collects flows, dropping exact duplicates; keeps insertion order. */
export class FlowSink {
  /** The flows, in the order they were first added. */
  readonly flows: LogicalFlow[] = [];
  private readonly seen = new Set<string>();

  /** Add a flow (ignored when an identical one exists). */
  add(dp: Datapath, stageName: StageName, priority: number, match: string, actions: string, hint?: string, ioPort?: string): void {
    const key = `${dp.key}\u0000${stageName}\u0000${priority}\u0000${match}\u0000${actions}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const st = stage(stageName);
    const f: LogicalFlow = { datapath: dp, pipeline: st.pipeline, stage: stageName, table: st.table, priority, match, actions };
    if (hint !== undefined) (f as { hint?: string }).hint = hint;
    if (ioPort !== undefined) (f as { ioPort?: string }).ioPort = ioPort;
    this.flows.push(f);
  }
}
