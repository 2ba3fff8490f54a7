/**
 * Logical flows as ovn-northd writes them to the southbound Logical_Flow table, and the sink
 * the compiler adds them to. Flows are plain objects with their match and actions as OVN text;
 * the sink keeps one row per distinct (stage, priority, match, actions) with the datapaths it
 * applies to, as ovn-northd's flow hash with datapath groups does.
 *
 * Source locations. ovn-northd records in each row's `external_ids:source` the place in its
 * northd.c that added the flow (`northd.c:8432`, the line of the `ovn_lflow_add` call, or of the
 * call inside a helper), and ovn-trace prints it (`ls_in_check_port_sec (northd.c:8432): ...`).
 * Every `add` therefore names its northd.c line of OVN 23.03.1; as in ovn-northd, a row keeps the
 * location of the add that created it. The lines were read from northd.c and are checked against
 * real ovn-northd's rows (fixtures/northd/NAME.sources.txt) by the northd differential tests.
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
  /** `external_ids:source`: where in ovn-northd 23.03.1 the flow's row was made (`northd.c:8432`). */
  readonly source: string;
}

/** One southbound Logical_Flow row: a flow and the datapaths it applies to (a datapath group). */
export interface FlowRow {
  /** Stage name. */
  readonly stage: StageName;
  /** Priority. */
  readonly priority: number;
  /** Match. */
  readonly match: string;
  /** Actions. */
  readonly actions: string;
  /** Stage hint of the first flow that made the row. */
  readonly hint: string | undefined;
  /** In/out port tag of the first flow that made the row. */
  readonly ioPort: string | undefined;
  /** `external_ids:source` of the row: the northd.c location of the first flow that made it. */
  readonly source: string;
  /**
   * Other northd.c locations that added the same flow for other datapaths of the row. ovn-northd
   * keeps the location of the datapath it processed first, in its hash table's order; we keep the
   * first in NB order, so for such a row ovn-northd's source may be any of these.
   */
  readonly otherSources?: readonly string[];
  /** The datapaths, in the order they were added. */
  readonly datapaths: Datapath[];
}

/** The `external_ids:source` text of a northd.c line (cached: a few hundred distinct lines). */
const sources = new Map<number, string>();
function northdSource(line: number): string {
  let s = sources.get(line);
  if (s === undefined) sources.set(line, (s = `northd.c:${line}`));
  return s;
}

interface MutableRow extends FlowRow {
  /** Membership set, built once a row has several datapaths. */
  set?: Set<Datapath>;
  otherSources?: string[];
}

/** The key that makes flows one row: stage, priority, match and actions. */
export function flowRowKey(stageName: StageName, priority: number, match: string, actions: string): string {
  return `${stageName}\u0000${priority}\u0000${match}\u0000${actions}`;
}

/**
 * Collects flows the way ovn-northd's lflow table does with datapath groups: flows with the same
 * stage, priority, match and actions form one row whose datapath list grows as more datapaths
 * add it; adding the same flow twice to a datapath is a no-op. `rows` are what the southbound
 * Logical_Flow table would hold; `flows` expands them to one flow per datapath (what
 * `ovn-sbctl lflow-list` prints).
 */
export class FlowSink {
  private readonly byKey = new Map<string, MutableRow>();
  private expanded: LogicalFlow[] | undefined;
  private count = 0;
  /** For a sink made by `fromKeyedRows`: the rows it made or copied; the others are shared. */
  private owned: WeakSet<MutableRow> | undefined;

  /**
   * A sink holding `rows` (key and row, in order), which other sinks may share: adding to the
   * new sink copies a shared row before changing it.
   */
  static fromKeyedRows(rows: Iterable<readonly [string, FlowRow]>): FlowSink {
    const s = new FlowSink();
    for (const [k, r] of rows) {
      s.byKey.set(k, r as MutableRow);
      s.count += r.datapaths.length;
    }
    s.owned = new WeakSet();
    return s;
  }

  /** Rows with their keys (`flowRowKey`), in the order first added. */
  keyedRows(): IterableIterator<[string, FlowRow]> {
    return this.byKey.entries();
  }

  private own(key: string, row: MutableRow): MutableRow {
    if (!this.owned || this.owned.has(row)) return row;
    const copy: MutableRow = { ...row, datapaths: row.datapaths.slice(), ...(row.otherSources ? { otherSources: row.otherSources.slice() } : {}) };
    delete copy.set;
    this.owned.add(copy);
    this.byKey.set(key, copy);
    return copy;
  }

  /**
   * Add a flow for one datapath. `where` is the line of northd.c (OVN 23.03.1) whose
   * `ovn_lflow_add` makes this flow in ovn-northd (the row's `external_ids:source`).
   */
  add(dp: Datapath, stageName: StageName, priority: number, match: string, actions: string, where: number, hint?: string, ioPort?: string): void {
    this.addKeyed(flowRowKey(stageName, priority, match, actions), dp, stageName, priority, match, actions, where, hint, ioPort);
  }

  /** `add` with the row key (`flowRowKey`) already made (a replay of recorded flows). */
  addKeyed(key: string, dp: Datapath, stageName: StageName, priority: number, match: string, actions: string, where: number, hint?: string, ioPort?: string): void {
    const row = this.byKey.get(key);
    if (row === undefined) {
      const made: MutableRow = { stage: stageName, priority, match, actions, hint, ioPort, source: northdSource(where), datapaths: [dp] };
      this.owned?.add(made);
      this.byKey.set(key, made);
      this.count++;
      this.expanded = undefined;
      return;
    }
    const own = this.own(key, row);
    this.addDp(own, dp);
    this.noteSource(own, where);
  }

  /** Add the same flow for several distinct datapaths (a datapath group); `where` as for `add`. */
  addGroup(dps: readonly Datapath[], stageName: StageName, priority: number, match: string, actions: string, where: number, hint?: string): void {
    this.addGroupKeyed(flowRowKey(stageName, priority, match, actions), dps, stageName, priority, match, actions, where, hint);
  }

  /** `addGroup` with the row key (`flowRowKey`) already made. */
  addGroupKeyed(key: string, dps: readonly Datapath[], stageName: StageName, priority: number, match: string, actions: string, where: number, hint?: string): void {
    if (!dps.length) return;
    const row = this.byKey.get(key);
    this.expanded = undefined;
    if (row === undefined) {
      const made: MutableRow = { stage: stageName, priority, match, actions, hint, ioPort: undefined, source: northdSource(where), datapaths: dps.slice() };
      this.owned?.add(made);
      this.byKey.set(key, made);
      this.count += dps.length;
      return;
    }
    const own = this.own(key, row);
    for (const dp of dps) this.addDp(own, dp);
    this.noteSource(own, where);
  }

  private noteSource(row: MutableRow, where: number): void {
    const src = northdSource(where);
    if (src === row.source || row.otherSources?.includes(src)) return;
    (row.otherSources ??= []).push(src);
  }

  private addDp(row: MutableRow, dp: Datapath): void {
    const l = row.datapaths;
    if (l.length === 1) {
      if (l[0] === dp) return;
    } else {
      if (!row.set) row.set = new Set(l);
      if (row.set.has(dp)) return;
      row.set.add(dp);
    }
    l.push(dp);
    this.count++;
    this.expanded = undefined;
  }

  /** Rows (distinct flows with their datapath groups), in the order first added. */
  rows(): IterableIterator<FlowRow> {
    return this.byKey.values();
  }

  /** Number of rows (southbound Logical_Flow rows with datapath groups). */
  get rowCount(): number {
    return this.byKey.size;
  }

  /** Number of flows expanded per datapath. */
  get flowCount(): number {
    return this.count;
  }

  /** One flow per datapath and row. */
  get flows(): LogicalFlow[] {
    if (this.expanded) return this.expanded;
    const out: LogicalFlow[] = [];
    for (const r of this.byKey.values()) {
      const st = stage(r.stage);
      for (const dp of r.datapaths) {
        const f: LogicalFlow = { datapath: dp, pipeline: st.pipeline, stage: r.stage, table: st.table, priority: r.priority, match: r.match, actions: r.actions, source: r.source };
        if (r.hint !== undefined) (f as { hint?: string }).hint = r.hint;
        if (r.ioPort !== undefined) (f as { ioPort?: string }).ioPort = r.ioPort;
        out.push(f);
      }
    }
    this.expanded = out;
    return out;
  }
}
