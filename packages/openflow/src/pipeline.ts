/**
 * The OpenFlow pipeline executor: OVS's `xlate_actions()` over our flow key, with the datapath
 * execution folded in. This module is the translation context (`Xlate`, see xlate.ts): tables,
 * resubmit and goto_table, the action set, groups, outputs and packet-ins, and the stateful
 * services (conntrack, meters, learning, NORMAL, recirculation). What each action means is in the
 * action table (actions.ts); recording a translation for the cache and replaying it are in
 * megaflow.ts; building a trace is in trace-builder.ts; the frames a translation sends wait in
 * output-log.ts.
 *
 * Per frame: the key is extracted once into a preallocated `FlowKey`; table 0 is looked up; the
 * matched flow's instructions run as one list in OpenFlow order (apply actions, clear_actions,
 * write_actions, write_metadata, goto_table), exactly as OVS flattens them; `resubmit`,
 * `goto_table` and group buckets recurse with OVS's limits (depth 64, 4096 table lookups; a resubmit
 * only deepens when it goes to the same or an earlier table); at the end the action set runs in
 * OVS's order (`actionSetOrder`), and only if it has a final action. Group buckets are action sets
 * too (reordered the same way) and run on a copy of the flow that is restored after each bucket.
 *
 * Actions edit the key only. At each output the differences between the key and the "base" key
 * (what the bytes say) are committed to the bytes (commit.ts) and the frame is logged. Outputs and
 * packet-ins are delivered after translation finishes, because OVS drops everything when
 * translation fails (too deep, too many resubmits).
 *
 * How a pass runs is given by its caller (`RunMode`): forwarding (counters, learning, conntrack,
 * meters, MAC learning; with or without the translation cache) or tracing (nothing counted, learnt
 * or tracked; a `TraceBuilder` receives the trace). A packet-out (`runActions`) forwards.
 */
import { formatIpv4 } from '@ovnts/packet';
import { TunnelEncap, TunnelKey, TunnelKind, GENEVE_UDP_PORT, type IdentCounter } from '@ovnts/geneve';
import { OFPP, OFPP_UNSET, actionSetOrder, ctActFor, markHashFields, subfieldNowText, fixVlanTpid, formatAction, recircForMpls, type CtPrep, type LearnAction, type Op } from './actions.js';
import type { Classifier, ClsRule } from './classifier.js';
import { PacketState, commitKey } from './commit.js';
import { extractFlowKey } from './extract.js';
import { MegaflowCache, type CachedXlate } from './flowcache.js';
import { ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, FRAG_ANY, Prereq, VLAN_CFI, formatSubfield, type Subfield } from './fields.js';
import { FlowKey, W } from './flowkey.js';
import { TUN_META_PRESENT_SHIFT, clearCt, getBit, isTunMetadata, markTunMeta, putBit, readSubfield, setOne, writeSubfield } from './key-ops.js';
import { readSubfieldBig } from './stateful/learn.js';
import { prereqOkKey, type Match } from './match.js';
import { Instr, type OpCode } from './op-code.js';
import { MegaflowRecorder, TraceWildcards, replayCached, vlanStateHolds } from './megaflow.js';
import { ovsClassifierWc, type WcRule } from './ovs-classifier-wc.js';
import type { Flow, Group, GroupType } from './ofctl-text.js';
import { OutputLog, type EmittedFrame, type PacketIn } from './output-log.js';
import { formatPort, type Port, type TlvMapping } from './ports.js';
import type { Clock } from './clock/clock.js';
import type { Conntrack } from './conntrack/conntrack.js';
import { CtState } from './conntrack/constants.js';
import { applyNatToFrame } from './conntrack/nat.js';
import type { ConjunctionTable } from './stateful/conjunction.js';
import { learnedFlow, writeLearnResult, type LearnedFlow } from './stateful/learn.js';
import { remarkDscp, type MeterTable } from './stateful/meters.js';
import type { NormalSwitch } from './stateful/normal.js';
import { packetInMatch } from './stateful/packet-out.js';
import { HashAlg, firstLiveBucket, type LivenessSource, type SelectGroupState } from './stateful/select.js';
import type { GroupProps } from './stateful/group-text.js';
import type { FlowLife } from './stateful/timeouts.js';
import { simulateNat, type TraceBuilder, type TraceRecirc } from './trace-builder.js';
import { PrimKind, XlateError, type PacketInReason, type SetFieldPrim, type TraceNodeType, type Xlate } from './xlate.js';

/** OVS's userspace tunnels send the outer IPv4 identification 0 (the header template's, with DF set). */
const OVS_TNL_IDENT: IdentCounter = {
  get value(): number {
    return 0;
  },
  set value(_v: number) {
    // never advances
  },
};

export { OFPP_UNSET, actionSetOrder, compileAction, compileInstructions, type CtPrep, type Op } from './actions.js';
export { TUN_META_PRESENT_SHIFT, readSubfield } from './key-ops.js';
export type { EmittedFrame, PacketIn } from './output-log.js';
export type { TraceNode, TraceRecirc } from './trace-builder.js';
export { XlateError, type PacketInReason, type TraceNodeType } from './xlate.js';

/** The set_field targets after which OVS un-wildcards `nw_proto` (Debian 3.1.0 `mf_set_mask_l3_prereqs`). */
const L3_PROTO_MASKED: ReadonlySet<string> = new Set([
  'ip_src', 'ip_dst', 'ipv6_src', 'ipv6_dst', 'ipv6_label', 'nw_tos', 'nw_ecn', 'nw_ttl', 'arp_op', 'arp_sha', 'arp_tha', 'arp_spa', 'arp_tpa',
]);

/** OVS's translation limits. */
export const MAX_DEPTH = 64;
/** Table lookups (resubmits, goto_table) allowed per packet. */
export const MAX_RESUBMITS = MAX_DEPTH * MAX_DEPTH;
/** dpif-netdev's `MAX_RECIRC_DEPTH`: nested recirculations a packet may go through. */
export const MAX_RECIRC_DEPTH = 6;
/**
 * Recirculation sections a trace prints at most. ofproto/trace has no such limit: a `ct(table=N)`
 * that recirculates into itself keeps it busy until ovs-vswitchd dies; ours stops and says so.
 */
export const MAX_TRACE_RECIRCS = 4096;
/** ct_state bits of a flow (for traces). */
const CS_TRK_NEW = CtState.Tracked | CtState.New;

const NO_OPS: readonly Op[] = [];

/** The datapath `ct(...)` action text (OVS `format_odp_conntrack_action`). */
function ctDpText(c: CtPrep, zone: number): string {
  const parts: string[] = [];
  if (c.act.commit) parts.push(c.act.force ? 'commit,force' : 'commit');
  if (zone) parts.push(`zone=${zone}`);
  const hx = (v: number): string => `0x${(v >>> 0).toString(16)}`;
  if (c.act.mark) parts.push(`mark=${hx(c.act.mark.value)}/${hx(c.act.mark.mask)}`);
  if (c.act.label) {
    // OVS format_u128(): ds_put_hex of the value, then the mask unless it is all ones.
    const l = (x: ArrayLike<number>): string => {
      const h = Array.from(x, (v) => (v >>> 0).toString(16).padStart(8, '0')).join('').replace(/^0+/, '');
      return h === '' ? '0' : `0x${h}`;
    };
    const m = c.act.label.mask;
    const ones = Array.from(m).every((v) => v >>> 0 === 0xffffffff);
    parts.push(`label=${l(c.act.label.value)}${ones ? '' : `/${l(m)}`}`);
  }
  if (c.alg) parts.push(`helper=${c.alg}`);
  if (c.nat) parts.push(c.nested[0]!);
  return parts.length ? `ct(${parts.join(',')})` : 'ct';
}

// ---------------------------------------------------------------------------------------------
// Tables, flows, groups

/** A flow installed in a table, with its counters (stored as an `InstalledFlow`, flow-entry.ts). */
export interface FlowEntry {
  /** The flow as added (match, priority, cookie, instructions...): a view built on each read. */
  flow: Flow;
  /** Its table (without building `flow`). */
  readonly table: number;
  /** Its priority. */
  readonly priority: number;
  /** Its cookie. */
  readonly cookie: bigint;
  /** Its instructions. */
  readonly instructions: Flow['instructions'];
  /** What it matches (built on each read while a classifier holds the flow). */
  readonly match: Match;
  /** The match written into `m` (no allocation while a classifier holds the flow; else its own). */
  matchInto(m: Match): Match;
  /** True when the flow has this flag (`send_flow_rem`, ...). */
  hasFlag(name: string): boolean;
  /** Prepared instructions. */
  ops: Op[];
  /** Packets matched. */
  packets: number;
  /** Bytes matched. */
  bytes: number;
  /** When it was added (switch clock, ms). */
  readonly created: number;
  /** The classifier handle (null for a conjunction ("soft") flow, which lives in the table's `conj`). */
  rule: ClsRule<FlowEntry> | null;
  /** Lifetime: timeouts, `used` (last packet) and `modified` (ms), for expiry and idle/hard ages. */
  life: FlowLife<FlowEntry> | null;
  /** A conjunction ("soft") flow: only `conjunction(...)` actions. */
  soft: boolean;
}

/** One flow table with OpenFlow table counters. */
export interface FlowTable {
  /** Table id. */
  readonly id: number;
  /** The rules. */
  readonly cls: Classifier<FlowEntry>;
  /** The conjunction ("soft") flows of the table (resolution index). */
  readonly conj: ConjunctionTable<FlowEntry>;
  /** The same soft flows, for dumps and flow mods. */
  readonly softEntries: Set<FlowEntry>;
  /** Lookups (every packet and every resubmit/goto_table into this table). */
  lookups: number;
  /** Lookups that found a flow. */
  matched: number;
}

/** A group bucket, prepared. */
export interface BucketEntry {
  /** Bucket id (0, 1, ... unless given). */
  readonly id: number;
  /** The bucket's actions in action-set execution order. */
  readonly ops: Op[];
  /** Select weight. */
  readonly weight: number;
  /** ff: port whose liveness the bucket follows. */
  readonly watchPort: number;
  /** ff: group whose liveness the bucket follows. */
  readonly watchGroup: number;
  /** Packets sent through it. */
  packets: number;
  /** Bytes sent through it. */
  bytes: number;
}

/** A group in the group table. */
export interface GroupEntry {
  /** As added. */
  readonly group: Group;
  /** Type. */
  readonly type: GroupType;
  /** Buckets. */
  readonly buckets: BucketEntry[];
  /** Select groups: OVS's selection method and state (dp_hash, hash with fields, default). */
  readonly select: SelectGroupState | null;
  /** OpenFlow 1.5 select properties. */
  readonly props: GroupProps;
  /** Packets. */
  packets: number;
  /** Bytes. */
  bytes: number;
  /** When it was added (the switch clock's ms; a modify keeps it, as OVS). */
  readonly created: number;
}


/** What the executor needs from the switch. */
export interface SwitchCore {
  /** Bridge name. */
  readonly name: string;
  /** LOCAL's datapath port number in `Datapath actions`. */
  readonly localDpPort: number;
  /** Tables 0..254. */
  readonly tables: readonly FlowTable[];
  /** Ports by number. */
  readonly ports: Map<number, Port>;
  /** Ports in flood order. */
  floodOrder(): readonly Port[];
  /** Groups by id. */
  readonly groups: Map<number, GroupEntry>;
  /** Geneve TLV map. */
  readonly tlvMap: readonly TlvMapping[];
  /** OVS vlan-limit. */
  readonly vlanLimit: number;
  /** Bumped on every flow-table and group-table change (empties the translation cache). */
  readonly epoch: { value: number };
  /** The switch's clock. */
  readonly clock: Clock;
  /** Connection tracker for `ct`. */
  readonly conntrack: Conntrack;
  /** Meters for `meter:N`. */
  readonly meters: MeterTable;
  /** The NORMAL L2 switch. */
  readonly normal: NormalSwitch;
  /** A table-0 miss sends a packet-in (OVS's miss rule for OpenFlow 1.0-1.2 controllers). */
  readonly missToController: boolean;
  /** Stage a learned flow (installed when the translation pass ends); false when `limit` refuses it. `dry`: decide only. */
  learnStage(lf: LearnedFlow, a: LearnAction, now: number, dry: boolean): boolean;
  /** The shared action lists compiled to flat programs; a rule's classifier tag is its program's offset (op-code.ts). */
  readonly opCode: OpCode;
  /** Install the flows staged by `learnStage` (end of a translation pass). */
  learnCommit(now: number): void;
  /** `fin_timeout(idle, hard)` of flow `e` ran on a packet with FIN or RST. */
  finTimeout(e: FlowEntry, idle: number, hard: number): void;
}

/**
 * What a recirculation resumes from (OVS `frozen_state`): the table, the action set and the value
 * stack at the fork, and the recirculation depth. Interned per pipeline: equal states are one
 * object, and its `id` is the recirculation id under which the translation cache keeps the
 * resumed pass (with the recirculated packet's key, ct fields included).
 */
export class FrozenState {
  constructor(
    /** Recirculation id (never reused). */
    readonly id: number,
    /** Table to resume in. */
    readonly table: number,
    /** Recirculation depth of the resumed pass (the datapath allows 6). */
    readonly depth: number,
    /** The action set at the fork. */
    readonly actionSet: readonly Op[],
    /** The value stack at the fork (4 words per value). */
    readonly stack: Uint32Array,
  ) {}
}

/** A clone of the packet forked by `ct(table=N)`, resumed when the current translation pass ends (pooled per pipeline). */
class Recirc {
  /** Recirculation number in this frame (trace). */
  id = 0;
  /** The ct action that forked it. */
  ct: CtPrep | null = null;
  /** What the pass resumes from. */
  frozen: FrozenState | null = null;
  /** Log position of the fork (its outputs are spliced there, as the datapath runs it inline). */
  logPos = 0;
  /** The flow at the fork: frozen metadata and the ct fields (real run), or the whole flow (trace). */
  readonly key = new FlowKey();
  /** The bytes after ct (NAT applied): buffer, start, length, L3/L4/end offsets. */
  buf: Uint8Array = EMPTY_BYTES;
  off = 0;
  len = 0;
  l3 = 0;
  l4 = 0;
  end = 0;
  /** Trace: the section header details. */
  ctState = 0;
  natLines: string[] | null = null;
}

/** What a clone (or check_pkt_larger) restores afterwards: the flow, the bytes, the action set, the stack. */
class ForkSave {
  readonly key = new FlowKey();
  readonly base = new FlowKey();
  readonly pkt = new PacketState();
  readonly set: Op[] = [];
  hasGroup = false;
  stack = new Uint32Array(0);
  stackN = 0;
  exiting = false;
}

/** Frozen states kept interned before the table starts over (ids stay unique). */
const FROZEN_LIMIT = 4096;

// ---------------------------------------------------------------------------------------------
// The executor

/**
 * How a pass runs. `forward`: counters, learning, conntrack, meters and MAC learning happen, and
 * with `cache` the translation cache serves the frame (or records its translation). `trace`:
 * nothing is counted, learnt or tracked (as ofproto/trace); the trace goes into `trace`.
 */
export type RunMode =
  | { readonly kind: 'forward'; readonly cache: boolean }
  | {
      readonly kind: 'trace';
      readonly trace: TraceBuilder;
      /**
       * ofproto/trace with a packet (a frame, or `-generate`): actions with side effects (`learn`)
       * are translated and reported; without one OVS suppresses them (default false).
       */
      readonly sideEffects?: boolean;
    };

/** Forwarding through the translation cache. */
export const FORWARD_CACHED: RunMode = { kind: 'forward', cache: true };
/** Forwarding, translating every frame. */
export const FORWARD_UNCACHED: RunMode = { kind: 'forward', cache: false };

/** Runs packets through a switch's tables. One per switch; not re-entrant. */
export class Pipeline implements Xlate {
  /** The flow as actions change it. */
  readonly key = new FlowKey();
  /** The flow as the bytes say. */
  readonly base = new FlowKey();
  /** Scratch: the flow frozen at an MPLS recirculation. */
  private readonly mplsFrozen = new FlowKey();
  /** The bytes. */
  readonly pkt = new PacketState();
  /** Length of the received frame (for counters). */
  frameLen = 0;
  /** 0 or an `XlateError`. */
  error = 0;
  /** The table whose flow is running. */
  tableId = 0;
  /** Recording this translation for the cache, or null. */
  rec: MegaflowRecorder | null = null;
  /** Building a trace, or null. */
  tr: TraceBuilder | null = null;
  /** The translation cache (flowcache.ts). */
  readonly xcache = new MegaflowCache();

  /** Counters, learning, conntrack and meters take effect (false while tracing, as ofproto/trace). */
  private counting = true;
  /** While tracing: whether side effects are allowed (OVS `xin->allow_side_effects`). */
  private sideEffects = true;
  /**
   * The clock reading for this pass (ms): flow `used` times, meters, conntrack, MAC learning. Read
   * from the switch's clock by `run` (a fractional double passed through calls would be boxed: an
   * allocation per frame).
   */
  now = 0;
  /** Translating a packet-out: `output:CONTROLLER` has reason `packet_out` (OVS `in_packet_out`). */
  private packetOut = false;
  /** A meter dropped the packet: the datapath runs no further action (translation goes on). */
  private dropped = false;
  /** `exit` ran: nothing more is translated (a group bucket clears it). */
  private exiting = false;
  /**
   * Trace: a dp_hash select group froze the translation (OVS `ctx_trigger_recirculate_with_hash`):
   * the hash algorithm and basis `finishFreezing` emits; null otherwise.
   */
  private freezing: { alg: number; basis: number } | null = null;
  /** OVS `ctx->conntracked`: the packet went through the tracker in this pass (a thawed ct clone, or a packet that came tracked). */
  conntracked = false;
  /** The action list running and the position in it (`check_pkt_larger` runs the rest). */
  private curOps: readonly Op[] = NO_OPS;
  private curIdx = 0;
  /** Flows matched whose counters are due, and the frame length each saw (see `flushHits`). */
  private readonly hitE: FlowEntry[] = [];
  private readonly hitL: number[] = [];
  private hitN = 0;
  /** The value stack of `push`/`pop`: 4 words per value (the low 128 bits, most significant first). */
  private stackW = new Uint32Array(64);
  private stackN = 0;
  /** State saved around clones and check_pkt_larger, one per nesting level. */
  private readonly forks: ForkSave[] = [];
  private forkDepth = 0;
  /** Action sets a check_pkt_larger's less-or-equal branch starts without (see `checkPktLarger`). */
  private readonly hiddenSets: Op[][] = [];
  private depth = 0;
  private resubmits = 0;
  private rule: FlowEntry | null = null;
  private inActionSet = false;
  /** A pop_mpls took the last label and the packet has not been re-parsed since (OVS `was_mpls`). */
  private wasMpls = false;
  private actionSet: Op[] = [];
  private actionSetHasGroup = false;
  private readonly setOrder: Op[] = [];
  private readonly saved: FlowKey[] = [];
  private readonly small: Op[] = [];
  private recircDepth = 0;
  private recircSeq = 0;
  /** Trace: the recirculation id of each packet-in's frozen state in this trace (see `controller`). */
  private readonly packetInIds = new Map<string, number>();
  /** The recirculations of this frame (pooled): forks append, passes run them in ranges. */
  private readonly recircs: Recirc[] = [];
  private recN = 0;
  /** Interned frozen states by hash (`freeze`). */
  private readonly frozenByHash = new Map<number, FrozenState[]>();
  private frozenCount = 0;
  private frozenSeq = 0;
  /** This frame is forwarded through the translation cache. */
  private caching = false;
  /** Does a cached translation hold for the key beyond its mask (VLAN state, select guards)? */
  private readonly accept = (x: CachedXlate): boolean => vlanStateHolds(x, this.key) && this.guardsHold(x);
  private readonly normalSave = new FlowKey();
  private rxFrame: Uint8Array = EMPTY_BYTES;
  private rxOff = 0;
  private rxLen = 0;
  private readonly rxKey = new FlowKey();
  private readonly log = new OutputLog();
  private readonly recorder = new MegaflowRecorder(this.key);
  private xEpoch = -1;
  /** Tunnel encapsulators by port number, one per (outer source, destination). */
  private readonly encaps = new Map<number, { src: number; dst: number; enc: TunnelEncap }[]>();
  private readonly tunKey = new TunnelKey();
  private readonly optScratch = new Uint8Array(256);
  /**
   * Trace: the flows `learn` installed in this pass, by table. OVS's classifier holds them at once
   * but they are invisible to the pass; its later lookups still un-wildcard their subtables' fields
   * (ovs-classifier-wc.ts, "Versions").
   */
  private readonly passLearned = new Map<number, WcRule[]>();

  /** Port and group liveness for fast-failover and select buckets (OVS `bucket_is_alive`). */
  readonly live: LivenessSource = {
    portLive: (n: number): boolean => {
      const p = this.sw.ports.get(n);
      return p !== undefined && p.up;
    },
    groupLive: (id: number, depth: number): boolean => {
      const g = this.sw.groups.get(id);
      return g !== undefined && firstLiveBucket(g.type, g.buckets, this.live, depth) >= 0;
    },
    controllerLive: (): boolean => false,
  };

  constructor(private readonly sw: SwitchCore) {}

  /** Reset per-packet state and extract `frame` received on `inPort`. */
  begin(frame: Uint8Array, off: number, len: number, inPort: number): void {
    if (this.hitN !== 0) this.flushHits();
    extractFlowKey(frame, off, len, inPort, this.key, this.sw.vlanLimit);
    this.key.w[W.actset_output] = OFPP_UNSET;
    this.frameLen = len;
    this.error = 0;
    this.depth = 0;
    this.resubmits = 0;
    this.tableId = 0;
    this.rule = null;
    this.inActionSet = false;
    if (this.actionSet.length !== 0) this.actionSet.length = 0;
    this.actionSetHasGroup = false;
    this.log.reset();
    this.pkt.load(frame, off, len, this.key);
    this.dropped = false;
    this.exiting = false;
    this.wasMpls = false;
    this.freezing = null;
    this.stackN = 0;
    this.recircDepth = 0;
    this.recircSeq = 0;
    if (this.packetInIds.size !== 0) this.packetInIds.clear();
    this.recN = 0;
    this.rxFrame = frame;
    this.rxOff = off;
    this.rxLen = len;
    this.rxKey.l2 = -1;
  }

  /** After `begin` (and any tunnel metadata set on `key`): snapshot the base and run the tables as `mode` says, at `now` (default: the switch clock). */
  run(mode: RunMode, now: number = this.sw.clock.now()): void {
    this.now = now;
    this.base.copyFrom(this.key);
    if (mode.kind === 'trace') {
      this.counting = false;
      this.sideEffects = mode.sideEffects === true;
      const tr = mode.trace;
      this.tr = tr;
      this.passLearned.clear();
      // OVS's megaflow of the trace: what the actions un-wildcard, with OVS's semantics.
      this.rec = new TraceWildcards(this.key, (word, bits) => tr.markWc(word, bits));
      try {
        this.translate();
      } finally {
        this.counting = true;
        this.tr = null;
        this.rec = null;
      }
      return;
    }
    this.caching = mode.cache;
    if (mode.cache) {
      this.cachedPass(0, -1);
      // The recirculations the pass forked run (each through the cache) when it ends.
      this.endPass();
    } else this.translate();
    if (this.hitN !== 0) this.flushHits();
  }

  /**
   * A pass through the translation cache: replayed on a hit, translated and recorded on a miss.
   * `recirc` 0 and `table` -1: the frame as received; else a recirculated pass resuming in `table`.
   */
  private cachedPass(recirc: number, table: number): void {
    this.cacheFresh();
    const x = this.xcache.lookup(this.key.w, recirc, this.accept);
    if (x !== null) {
      replayCached(x, this);
      return;
    }
    const r = this.recorder;
    r.start();
    this.rec = r;
    try {
      if (table < 0) this.rootPass();
      else this.resumePass(table);
    } finally {
      this.rec = null;
    }
    if (this.error === 0) r.finish(this.xcache, recirc);
  }

  /** Any flow or group change empties the cache (as OVS's revalidators would remove what it affects). */
  private cacheFresh(): void {
    const epoch = this.sw.epoch.value;
    if (this.xEpoch !== epoch) {
      this.xcache.clear();
      this.xEpoch = epoch;
    }
  }

  /** The dp_hash select groups of a cached translation pick the buckets they picked when it was recorded. */
  private guardsHold(x: CachedXlate): boolean {
    const gs = x.guards;
    for (let i = 0; i < gs.length; i++) {
      const g = gs[i]!;
      const sel = (g.group as GroupEntry).select!;
      if (sel.pick(this.key.w, this.live, 0, this.receivedKey()) !== g.bucket) return false;
    }
    return true;
  }

  /**
   * Run `ops` as a packet-out's action list (OVS `handle_packet_out`): no table lookup first, the
   * action set runs at the end, `output:CONTROLLER` has reason `packet_out`. Call after `begin`.
   */
  runActions(ops: readonly Op[]): void {
    this.now = this.sw.clock.now();
    this.caching = false; // a packet-out and its recirculations are translated, never cached
    this.base.copyFrom(this.key);
    this.packetOut = true;
    this.tableId = 0;
    try {
      this.doOps(ops, false);
      if (this.error === 0) this.executeActionSet();
      this.endPass();
    } finally {
      this.packetOut = false;
      if (this.hitN !== 0) this.flushHits();
    }
  }

  /** Deliver the logged outputs and packet-ins (nothing when translation failed). */
  deliver(onPacketIn: ((pi: PacketIn) => void) | undefined, defaultSink: ((port: number, frame: Uint8Array) => void) | undefined): void {
    if (this.error !== 0) return;
    this.log.deliver(this.sw.ports, onPacketIn, defaultSink);
  }

  /** The logged frames, copied (for traces). */
  emitted(): EmittedFrame[] {
    return this.log.emitted();
  }

  private translate(): void {
    this.rootPass();
    this.endPass();
  }

  /**
   * After `begin`, for a frame received on a port with OFPPC_NO_RECV (OVS `may_receive()` false):
   * table 0's rule is looked up and credited, as OVS's translation does, and nothing else happens
   * (no actions, no miss packet-in).
   */
  lookupOnly(now: number): void {
    this.now = now;
    this.rec = null;
    const entry = this.lookup(this.sw.tables[0]!);
    if (entry) this.hit(entry);
    if (this.hitN !== 0) this.flushHits();
  }

  /** The pass of the frame as received: table 0, then the action set (recirculations wait for `endPass`). */
  private rootPass(): void {
    this.conntracked = (this.key.w[W.ct_state]! & CtState.Tracked) !== 0;
    const t0 = this.sw.tables[0]!;
    const entry = this.lookup(t0);
    const tag = this.foundTag;
    if (this.tr !== null) this.tr.enterTable(entry ? entry.flow : null, 0);
    if (entry !== null) this.hit(entry);
    this.rule = entry;
    this.runFlow(entry, tag);
    // OVS's hidden miss rule (`controller(reason=no_match)`) while an OpenFlow 1.0-1.2 controller is connected.
    if (entry === null && this.sw.missToController) this.controller(0xffff, 'no_match', 0, undefined);
    this.actionSetOrFreeze(true);
  }

  /**
   * The end of a list of actions: the action set, unless the translation froze; then the freeze.
   * OVS's xlate_actions skips the action set after an error (`top`); a clone or check_pkt_larger
   * branch runs it anyway (a trace shows its empty `Executing action set` node).
   */
  private actionSetOrFreeze(top = false): void {
    if ((!top || this.error === 0) && this.freezing === null) this.executeActionSet();
    if (this.freezing !== null) this.finishFreezing();
  }

  /**
   * OVS `finish_freezing()` for a dp_hash select group in a trace: pending rewrites are committed,
   * then `hash(ALG(BASIS)),recirc(0xN)`; what followed the group was frozen with the packet and is
   * not traced (ofproto/trace queues no section for it).
   */
  private finishFreezing(): void {
    const f = this.freezing!;
    this.freezing = null;
    const tr = this.tr;
    if (tr === null || this.error !== 0) return;
    commitKey(this.key, this.base, this.pkt, tr);
    tr.datapath(`hash(${f.alg === 0 ? 'l4' : 'sym_l4'}(${f.basis >>> 0}))`);
    tr.datapath(`recirc(0x${(++this.recircSeq).toString(16)})`);
  }

  /** A trace node under the current one (nothing when not tracing). */
  private report(type: TraceNodeType, text: string): void {
    if (this.tr !== null) this.tr.report(type, text);
  }

  /**
   * A flow matched: its counters and `used` are due (see `flushHits`); the megaflow recorder
   * learns of it now.
   */
  private hit(e: FlowEntry): void {
    if (!this.counting) return;
    this.hitE[this.hitN] = e;
    this.hitL[this.hitN++] = this.frameLen;
    if (this.rec !== null) this.rec.flowHit(e);
  }

  /**
   * Apply the due counters and `used` of the flows matched since the last flush. Deferred so that
   * a miss on a large switch loads the ~10 flow entries of a frame (and their lifetimes) back to
   * back, where the CPU overlaps the cache misses, instead of one stall per table in the middle of
   * the lookups. Flushed before anything could read them: before the interpreter runs an op (a
   * `fin_timeout` or `learn` reads a flow's lifetime), at the end of a pass (learned flows are
   * committed), at the end of `run`/`runActions` (before any output is delivered) and at `begin`.
   */
  private flushHits(): void {
    const n = this.hitN;
    this.hitN = 0;
    const now = this.now;
    const es = this.hitE;
    const ls = this.hitL;
    for (let i = 0; i < n; i++) {
      const e = es[i]!;
      e.packets++;
      e.bytes += ls[i]!;
      const l = e.life;
      if (l !== null && now > l.used) l.used = now;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Recirculation

  /**
   * The end of a translation pass: learned flows become visible (OVS installs them during
   * translation with a later table version, so the pass itself does not see them), then the
   * clones `ct(table=N)` forked run, each in the log at its fork point (the datapath recirculates
   * inline). A failed translation executes nothing, so it forks nothing.
   */
  private endPass(): void {
    this.commitLearned();
    const n = this.recN;
    if (this.error !== 0 || n === 0) {
      this.recN = 0;
      return;
    }
    if (this.tr !== null) this.traceRecirculations(this.tr, 0);
    else this.drainRecircs(0, n);
  }

  /** A recirculation record from the pool (valid until the next frame). */
  private newRecirc(): Recirc {
    let r = this.recircs[this.recN];
    if (r === undefined) {
      r = new Recirc();
      this.recircs.push(r);
    }
    this.recN++;
    return r;
  }

  /**
   * Run the recirculations `recircs[from..to)` depth first, each followed by those it forked
   * (appended to the pool while it ran), splicing each one's outputs in at its fork.
   */
  private drainRecircs(from: number, to: number): void {
    let shift = 0;
    const log = this.log;
    for (let i = from; i < to; i++) {
      const r = this.recircs[i]!;
      const start = log.n;
      const cFrom = this.recN;
      const ok = r.frozen!.depth <= MAX_RECIRC_DEPTH && this.recircPass(r);
      const cTo = this.recN;
      if (ok && cTo > cFrom) this.drainRecircs(cFrom, cTo);
      if (!ok) log.n = start;
      const n = log.n - start;
      const at = r.logPos + shift;
      if (n > 0 && at < start) log.move(start, n, at);
      shift += n;
    }
    this.error = 0;
  }

  /** Trace: run the recirculations from `from` breadth first (OVS's queue: every fork is appended to the pool), each as its own section. */
  private traceRecirculations(tb: TraceBuilder, from: number): void {
    const mainKey = new FlowKey().copyFrom(this.key);
    const mainBase = new FlowKey().copyFrom(this.base);
    for (let qi = from; qi < this.recN; qi++) {
      const r = this.recircs[qi]!;
      if (tb.recircs.length >= MAX_TRACE_RECIRCS) {
        tb.recircLimitHit = true;
        break;
      }
      const s = tb.beginSection();
      // ofproto/trace: the next --ct-next state (default trk|new) and the NAT simulation.
      const w = r.key.w;
      // ofproto_trace_recirc_node(): once the --ct-next list is used up, the default, said so.
      const explicitCt = tb.ctNext.length > 0;
      w[W.ct_state] = explicitCt ? tb.ctNext.shift()! : CS_TRK_NEW;
      r.ctState = w[W.ct_state]!;
      r.natLines = simulateNat(r.key, r.ct!);
      const sec: TraceRecirc = {
        id: r.id, ctState: r.ctState, explicitCt, natLines: r.natLines, initial: new FlowKey().copyFrom(r.key), final: this.key, nodes: s.nodes,
        dp: s.dp, wc: s.wc, depth: r.frozen!.depth,
      };
      this.recircPass(r);
      sec.final = new FlowKey().copyFrom(this.key);
      if (this.error === XlateError.RecursionTooDeep) sec.error = 'Recursion too deep';
      else if (this.error === XlateError.TooManyResubmits) sec.error = 'Too many resubmits';
      tb.recircs.push(sec);
    }
    tb.endSection();
    this.key.copyFrom(mainKey);
    this.base.copyFrom(mainBase);
    this.error = 0;
  }

  /**
   * Run one forked clone from its table (OVS: a new upcall for the recirculated packet, thawed).
   * Forwarding through the cache, the pass is looked up (and recorded on a miss) under its frozen
   * state's id and the recirculated key.
   */
  private recircPass(r: Recirc): boolean {
    const f = r.frozen!;
    this.error = 0;
    this.depth = 0;
    this.resubmits = 0;
    this.rule = null;
    this.inActionSet = false;
    this.dropped = false;
    this.exiting = false;
    this.freezing = null;
    this.actionSet.length = 0;
    this.actionSetHasGroup = false;
    this.recircDepth = f.depth;
    this.conntracked = true;
    this.stackN = f.stack.length >> 2;
    if (this.stackW.length < f.stack.length) this.stackW = new Uint32Array(f.stack.length * 2);
    this.stackW.set(f.stack);
    const k = this.key;
    const tr = this.tr;
    if (tr !== null) {
      k.copyFrom(r.key);
      this.pkt.reload(r.buf, r.off, r.len, r.l3, r.l4, r.end);
    } else {
      // The datapath re-parses the bytes; the frozen metadata and the ct fields come back.
      extractFlowKey(r.buf, r.off, r.len, 0, k, this.sw.vlanLimit);
      const w = k.w;
      const fw = r.key.w;
      for (let i = 0; i <= W.in_port; i++) w[i] = fw[i]!;
      for (let i = W.ct_state; i <= W.ct_tp_dst; i++) w[i] = fw[i]!;
      w[W.actset_output] = OFPP_UNSET;
      this.pkt.reload(r.buf, r.off, r.len, k.l3, k.l4, k.end);
    }
    this.base.copyFrom(k);
    this.frameLen = r.len;
    if (tr !== null) {
      const thaw = tr.report('thaw', 'thaw');
      thaw.push({ type: 'thaw', text: `Resuming from table ${f.table}`, children: [] });
      if (f.actionSet.length) thaw.push({ type: 'thaw', text: `Restoring action set: ${f.actionSet.map((x) => x.text).join(',')}`, children: [] });
    }
    if (f.actionSet.length) this.writeActions(f.actionSet);
    this.tableId = f.table;
    if (this.caching && tr === null) this.cachedPass(f.id, f.table);
    else this.resumePass(f.table);
    this.commitLearned();
    return this.error === 0;
  }

  /** A recirculated pass's tables: from `table`, then the action set. */
  private resumePass(table: number): void {
    const tr = this.tr;
    const entry = this.lookup(this.sw.tables[table]!);
    const tag = this.foundTag;
    if (tr !== null) tr.enterTable(entry ? entry.flow : null, table);
    if (entry !== null) this.hit(entry);
    this.rule = entry;
    this.runFlow(entry, tag);
    this.actionSetOrFreeze(true);
  }

  /**
   * The frozen state of a fork now (`table`, this translation's action set and stack, `depth`),
   * interned: equal states (same table and depth, the same ops in the action set, the same stack
   * words) are one object.
   */
  private freeze(table: number, depth: number): FrozenState {
    const set = this.actionSet;
    const hidden = this.hiddenSets;
    let n = set.length;
    for (let i = 0; i < hidden.length; i++) n += hidden[i]!.length;
    const sn = this.stackN * 4;
    const st = this.stackW;
    let h = (Math.imul(table, 31) + depth) | 0;
    h = (Math.imul(h, 31) + n) | 0;
    for (let i = 0; i < sn; i++) h = (Math.imul(h, 31) + st[i]!) | 0;
    const list = this.frozenByHash.get(h);
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const f = list[i]!;
        if (f.table === table && f.depth === depth && f.actionSet.length === n && f.stack.length === sn && this.sameFrozen(f, sn)) return f;
      }
    }
    if (this.frozenCount >= FROZEN_LIMIT) {
      this.frozenByHash.clear();
      this.frozenCount = 0;
    }
    const f = new FrozenState(++this.frozenSeq, table, depth, this.frozenActionSet(), st.slice(0, sn));
    const l = this.frozenByHash.get(h);
    if (l === undefined) this.frozenByHash.set(h, [f]);
    else l.push(f);
    this.frozenCount++;
    return f;
  }

  private sameFrozen(f: FrozenState, sn: number): boolean {
    let j = 0;
    const fs = f.actionSet;
    for (const hs of this.hiddenSets) for (let i = 0; i < hs.length; i++) if (fs[j++] !== hs[i]) return false;
    const set = this.actionSet;
    for (let i = 0; i < set.length; i++) if (fs[j++] !== set[i]) return false;
    const st = this.stackW;
    for (let i = 0; i < sn; i++) if (f.stack[i] !== st[i]) return false;
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Tables

  /** The program tag of the flow the last `lookup` found (-1: run its ops; see op-code.ts). */
  private foundTag = -1;

  /** The flow's actions (none: drop), from its compiled program when there is one and nothing traces or records. */
  private runFlow(e: FlowEntry | null, tag: number): void {
    if (e === null) this.doOps(NO_OPS, false);
    else if (tag >= 0 && this.tr === null && this.rec === null) this.runProgram(tag, e);
    else this.doOps(e.ops, false);
  }

  /**
   * Run the program at `at` of `sw.opCode` (compiled from `e.ops`): exactly what `doOps(e.ops)`
   * does when nothing traces or records, without loading the op objects; what the program does not
   * encode, the interpreter runs from that op on.
   */
  private runProgram(at: number, e: FlowEntry): void {
    const c = this.sw.opCode.code;
    const n = c[at]!;
    const w = this.key.w;
    let p = at + 1;
    for (let i = 0; i < n; i++) {
      if (this.error !== 0 || this.exiting) return;
      if (this.wasMpls) {
        this.doOpsFrom(e.ops, i, false);
        return;
      }
      switch (c[p]) {
        case Instr.Set1: {
          if (prereqOkKey(c[p + 6]! as Prereq, w)) {
            const j = c[p + 1]!;
            const shift = c[p + 2]!;
            const vmask = c[p + 3]!;
            const m = c[p + 5]!;
            const cur = (w[j]! >>> shift) & vmask;
            const v = ((cur & ~m) | (c[p + 4]! & m)) >>> 0;
            const fm = (vmask << shift) >>> 0;
            w[j] = ((w[j]! & ~fm) | ((v << shift) & fm) | c[p + 7]!) >>> 0;
          }
          p += 8;
          break;
        }
        case Instr.Set2: {
          if (prereqOkKey(c[p + 6]! as Prereq, w)) {
            const j = c[p + 1]!;
            const m0 = c[p + 3]!;
            const m1 = c[p + 5]!;
            w[j] = ((w[j]! & ~m0) | (c[p + 2]! & m0)) >>> 0;
            w[j + 1] = ((w[j + 1]! & ~m1) | (c[p + 4]! & m1)) >>> 0;
          }
          p += 7;
          break;
        }
        case Instr.Resubmit: {
          const port = c[p + 1]!;
          const table = c[p + 2]!;
          this.resubmit(port === OFPP.IN_PORT ? w[W.in_port]! : port, table === 255 ? this.tableId : table);
          p += 3;
          break;
        }
        case Instr.Output:
          this.output(c[p + 1]!, c[p + 2]!, false);
          p += 3;
          break;
        case Instr.DecTtl: {
          const dl = w[W.dl_type];
          if (dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6) {
            const ttl = w[W.nw_ttl]!;
            if (ttl <= 1) {
              this.doOpsFrom(e.ops, i, false);
              return;
            }
            w[W.nw_ttl] = ttl - 1;
          }
          p += 1;
          break;
        }
        default:
          this.doOpsFrom(e.ops, i, false);
          return;
      }
    }
  }

  private lookup(t: FlowTable): FlowEntry | null {
    if (this.counting) t.lookups++;
    const w = this.key.w;
    // OVS frag_handling=normal (rule_dpif_lookup_from_table): every IP fragment, first ones too, is
    // looked up with L4 ports (ICMP type/code) 0; the flow keeps its ports for the actions.
    const frag = (w[W.nw_frag]! & FRAG_ANY) !== 0;
    const sp = w[W.tp_src]!;
    const dp = w[W.tp_dst]!;
    if (frag) {
      w[W.tp_src] = 0;
      w[W.tp_dst] = 0;
    }
    let e = t.cls.find(w);
    // Read now: the conjunction lookups below search the classifier again.
    let tag = e === null ? -1 : t.cls.foundTag;
    const tr = this.tr;
    const hardPri = e === null ? -1 : t.cls.foundPriority;
    let viaConj = false;
    if (t.conj.maxPriority > hardPri) {
      const got = this.lookupConj(t, hardPri);
      if (got !== null) {
        e = got;
        tag = -1;
        viaConj = true;
      }
    }
    // The trace's megaflow: the bits OVS's classifier would have un-wildcarded for this lookup.
    if (tr !== null) ovsClassifierWc(t, this.sw.epoch.value, this.passLearned.get(t.id)).lookup(w, tr.wc, viaConj && e !== null ? e.flow.match.value[W.conj_id] : undefined);
    if (frag) {
      w[W.tp_src] = sp;
      w[W.tp_dst] = dp;
    }
    if (this.rec !== null) this.rec.tableLookup(t, e !== null);
    this.foundTag = tag;
    if (e === null) return null;
    if (this.counting) t.matched++;
    return e;
  }

  /**
   * Conjunctive match (classifier.c): soft flows above the hard match (of priority `hardPri`) may
   * select a conj_id flow. The answer depends on the hard lookup, the soft subtables searched and
   * the conj_id lookups. A method of its own: `lookup` creates no closure (a closure there
   * allocated a context on every lookup, conjunctions or not).
   */
  private lookupConj(t: FlowTable, hardPri: number): FlowEntry | null {
    const w = this.key.w;
    const rec = this.rec;
    if (rec !== null) {
      rec.clsConsulted(t.cls);
      rec.conjConsulted(t.conj, hardPri);
    }
    const cls = t.cls;
    return t.conj.resolve(w, hardPri, (id: number): FlowEntry | null => {
      const save = w[W.conj_id]!;
      w[W.conj_id] = id;
      const x = cls.lookup(w);
      if (rec !== null) rec.clsConsulted(cls);
      w[W.conj_id] = save;
      return x === null ? null : x.payload;
    });
  }

  private resourceCheck(): boolean {
    if (this.depth >= MAX_DEPTH) {
      this.report('error', `over max translation depth ${MAX_DEPTH}`);
      this.error = XlateError.RecursionTooDeep;
      return false;
    }
    if (this.resubmits >= MAX_RESUBMITS) {
      this.report('error', `over ${MAX_RESUBMITS} resubmit actions`);
      this.error = XlateError.TooManyResubmits;
      return false;
    }
    return true;
  }

  /**
   * `resubmit`, `goto_table`, `output:TABLE`: look up `tableId` with in_port `inPort` and run what
   * matches. A `goto_table` miss (`gotoTable`) sends a packet-in while the hidden miss rule is on,
   * as at table 0 (OVS `rule_dpif_lookup_from_table()` with may_packet_in; a resubmit has not).
   */
  resubmit(inPort: number, tableId: number, gotoTable = false): void {
    if (!this.resourceCheck()) return;
    const oldTable = this.tableId;
    this.tableId = tableId;
    const w = this.key.w;
    const oldIn = w[W.in_port]!;
    w[W.in_port] = inPort;
    const entry = this.lookup(this.sw.tables[tableId]!);
    const tag = this.foundTag;
    w[W.in_port] = oldIn;
    const tr = this.tr;
    const back = tr !== null ? tr.enterTable(entry ? entry.flow : null, tableId) : null;
    if (entry !== null) this.hit(entry);
    this.resubmits++;
    const deepens = tableId <= oldTable ? 1 : 0;
    this.depth += deepens;
    const oldRule = this.rule;
    this.rule = entry;
    this.runFlow(entry, tag);
    if (entry === null && gotoTable && this.sw.missToController) this.controller(0xffff, 'no_match', 0, undefined);
    this.rule = oldRule;
    this.depth -= deepens;
    if (tr !== null && back !== null) tr.leave(back);
    this.tableId = oldTable;
  }

  // -------------------------------------------------------------------------------------------
  // Actions and the action set

  private doOps(ops: readonly Op[], bucket: boolean): void {
    if (ops.length === 0) {
      this.report('action', 'drop');
      return;
    }
    this.doOpsFrom(ops, 0, bucket);
  }

  /** Run `ops[start..]`; the list and the position are kept for `check_pkt_larger` (the rest of its list). */
  private doOpsFrom(ops: readonly Op[], start: number, bucket: boolean): void {
    if (this.hitN !== 0) this.flushHits();
    const outerOps = this.curOps;
    const outerIdx = this.curIdx;
    this.curOps = ops;
    for (let i = start; i < ops.length; i++) {
      if (this.error !== 0 || this.exiting) break;
      this.curIdx = i;
      const o = ops[i]!;
      if (this.wasMpls && recircForMpls(o)) {
        this.mplsRecirculate();
        if (this.exiting) break;
      }
      if (this.tr !== null) this.tr.report('action', o.text);
      const e = o.exec;
      if (typeof e === 'function') {
        if (e(this, bucket)) break;
        continue;
      }
      switch (e.kind) {
        case PrimKind.SetField:
          this.setField(e);
          break;
        case PrimKind.Output:
          if (e.trunc) this.outputTruncAction(e.port, e.maxLen, bucket);
          else this.outputAction(e.port, e.maxLen, bucket);
          break;
        case PrimKind.Resubmit:
          this.resubmit(e.port === OFPP.IN_PORT ? this.key.w[W.in_port]! : e.port, e.table === 255 ? this.tableId : e.table, e.goto === true);
          break;
      }
    }
    this.curOps = outerOps;
    this.curIdx = outerIdx;
  }

  /**
   * The masked-write primitive (`set_field` and its aliases; OVS `OFPACT_SET_FIELD`): the field is
   * written only when the packet has it (its prerequisites hold), with the setter's side effects
   * (the VLAN CFI for `vlan_pcp`, a new tag's TPID, a Geneve option marked present).
   */
  private setField(p: SetFieldPrim): void {
    const f = p.field;
    const w = this.key.w;
    const vw = p.vw;
    const mw = p.mw;
    const r = this.rec;
    const ok = prereqOkKey(f.prereq, w);
    if (r !== null) {
      r.markPrereq(f.prereq);
      // OVS marks the field only when it sets it (the cache marks it anyway).
      if (ok || !r.ovsExact) {
        if (f.nwords === 1) r.mark(f.word, ((mw[0]! << f.shift) | (r.ovsExact ? 0 : f.forceBits)) >>> 0);
        else for (let i = 0; i < f.nwords; i++) r.mark(f.word + i, mw[i]!);
        if (isTunMetadata(f) && !r.ovsExact) r.mark(W.tun_flags, 0xffffffff);
      }
      if (ok && r.ovsExact && L3_PROTO_MASKED.has(f.name)) {
        // Debian's 3.1.0 ("Always mask ip proto field", CVE-2023-1668: mf_set_mask_l3_prereqs).
        const dl = w[W.dl_type];
        if (f.prereq === Prereq.Arp ? dl === ETH_TYPE_ARP : dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6) r.mark(W.nw_proto, 0xff);
      }
    }
    if (!ok) {
      this.report('warn', `unmet prerequisites for ${f.name}, set_field ignored`);
      return;
    }
    if (f.nwords === 1) {
      const cur = (w[f.word]! >>> f.shift) & f.vmask;
      const m = p.m0;
      setOne(w, f, ((cur & ~m) | (p.v0 & m)) >>> 0);
      if (f.word === W.vlan_tci) fixVlanTpid(this);
    } else if (f.nwords === 2) {
      const j = f.word;
      w[j] = ((w[j]! & ~p.m0) | (p.v0 & p.m0)) >>> 0;
      w[j + 1] = ((w[j + 1]! & ~p.m1) | (p.v1 & p.m1)) >>> 0;
      markTunMeta(w, f);
    } else {
      for (let i = 0; i < f.nwords; i++) w[f.word + i] = ((w[f.word + i]! & ~mw[i]!) | (vw[i]! & mw[i]!)) >>> 0;
      markTunMeta(w, f);
    }
  }

  /** `output(port=P,max_len=N)` (the primitive): recorded for the cache like an output. */
  private outputTruncAction(port: number, maxLen: number, bucket: boolean): void {
    if (this.rec !== null) this.rec.outputTruncEvent(port, maxLen, bucket);
    this.outputTrunc(port, maxLen);
  }

  /**
   * Output truncated to `maxLen` bytes (OVS `xlate_output_trunc_action`): only to a real port or
   * LOCAL (not IN_PORT: OVS finds no port for it), never to the ingress port; the datapath's
   * `trunc(N)` cuts the next output only.
   */
  outputTrunc(port: number, maxLen: number): void {
    switch (port) {
      case OFPP.TABLE:
      case OFPP.NORMAL:
      case OFPP.FLOOD:
      case OFPP.ALL:
      case OFPP.CONTROLLER:
      case OFPP.NONE:
        this.report('warn', `output_trunc does not support port: ${formatPort(port)}`);
        return;
    }
    if (port === this.key.w[W.in_port]) {
      this.report('warn', 'skipping output to input port');
      return;
    }
    if (port === OFPP.IN_PORT || !this.sw.ports.has(port)) {
      this.report('error', `output_trunc does not support patch port ${formatPort(port)}`);
      return;
    }
    if (this.tr !== null) this.tr.datapath(`trunc(${maxLen})`);
    this.composeOutput(port, maxLen);
  }

  /** The `output` action (the primitive): recorded for the cache unless it needs the controller or table 0. */
  private outputAction(port: number, maxLen: number, bucket: boolean): void {
    const r = this.rec;
    if (r !== null) {
      if (port === OFPP.TABLE || port === OFPP.CONTROLLER) r.uncacheable();
      else r.outputEvent(port, maxLen, bucket);
    }
    this.output(port, maxLen, bucket);
  }

  private executeActionSet(): void {
    const list = actionSetOrder(this.actionSet, this.setOrder);
    this.actionSet.length = 0;
    if (list.length === 0) return;
    this.inActionSet = true;
    const tr = this.tr;
    const back = tr !== null ? tr.enter({ type: 'table', text: '--. Executing action set:', children: [], tableId: -1 }) : null;
    // `list` is the reusable array; copy the references before running (a resubmit may reuse it).
    const n = list.length;
    const ops = n <= 8 ? this.copySmall(list) : list.slice();
    this.doOps(ops, false);
    if (tr !== null && back !== null) tr.leave(back);
    this.inActionSet = false;
  }

  private copySmall(list: Op[]): Op[] {
    const s = this.small;
    s.length = 0;
    for (const x of list) s.push(x);
    return s;
  }

  /** `clear_actions`. */
  clearActionSet(): void {
    if (this.tr !== null) this.tr.actionSet('was', this.actionSet);
    this.actionSet.length = 0;
    this.key.w[W.actset_output] = OFPP_UNSET;
    this.actionSetHasGroup = false;
  }

  /** `write_actions(...)`. */
  writeActionSet(ops: readonly Op[]): void {
    this.writeActions(ops);
    if (this.tr !== null) this.tr.actionSet('is', this.actionSet);
  }

  private writeActions(ops: readonly Op[]): void {
    if (!this.actionSetHasGroup) {
      for (const o of ops) {
        if (o.type === 'output') this.key.w[W.actset_output] = o.a.port;
        else if (o.type === 'group') {
          this.key.w[W.actset_output] = OFPP_UNSET;
          this.actionSetHasGroup = true;
          break;
        }
      }
    }
    for (const o of ops) this.actionSet.push(o);
  }

  // -------------------------------------------------------------------------------------------
  // Clones, the value stack, exit

  /** Save what a clone changes (one `ForkSave` per nesting level, reused). */
  private saveFork(): ForkSave {
    const lvl = this.forkDepth++;
    while (this.forks.length <= lvl) this.forks.push(new ForkSave());
    const s = this.forks[lvl]!;
    s.key.copyFrom(this.key);
    s.base.copyFrom(this.base);
    const p = this.pkt;
    s.pkt.copyFrom(p);
    // Edits in the clone copy the bytes first; the original keeps them.
    if (p.owned) p.frozen = true;
    s.set.length = 0;
    for (const o of this.actionSet) s.set.push(o);
    s.hasGroup = this.actionSetHasGroup;
    const n = this.stackN * 4;
    if (s.stack.length < n) s.stack = new Uint32Array(n * 2);
    s.stack.set(this.stackW.subarray(0, n));
    s.stackN = this.stackN;
    s.exiting = this.exiting;
    return s;
  }

  private restoreFork(s: ForkSave): void {
    this.key.copyFrom(s.key);
    this.base.copyFrom(s.base);
    const p = this.pkt;
    p.copyFrom(s.pkt);
    // The clone's outputs may reference these bytes: the next edit copies them.
    if (p.owned) p.frozen = true;
    this.actionSet.length = 0;
    for (const o of s.set) this.actionSet.push(o);
    this.actionSetHasGroup = s.hasGroup;
    this.stackW.set(s.stack.subarray(0, s.stackN * 4));
    this.stackN = s.stackN;
    this.forkDepth--;
  }

  /**
   * `clone(...)` (OVS `clone_xlate_actions`): the actions, then the action set (the clone's copy of
   * it), run on a copy of the packet; afterwards the flow, the bytes, the action set and the stack
   * are the ones from before. An `exit` inside the clone still ends the translation, as in OVS.
   * Without `reversible`, pending rewrites are committed first and the datapath actions of the clone
   * are wrapped in `clone(...)` (the trace's datapath actions).
   */
  clone(ops: readonly Op[], reversible: boolean): void {
    const tr = this.tr;
    if (!reversible) commitKey(this.key, this.base, this.pkt, tr);
    const mark = tr !== null ? tr.dp.length : 0;
    const s = this.saveFork();
    const rec = this.rec;
    const ctBefore = rec !== null ? rec.ctEvents : 0;
    const wasMpls = this.wasMpls;
    this.doOps(ops, false);
    this.actionSetOrFreeze();
    this.wasMpls = wasMpls;
    if (rec !== null) rec.cloneEnded(ctBefore);
    if (tr !== null && !reversible) {
      const inner = tr.dp.splice(mark);
      if (inner.length) tr.dp.push(`clone(${inner.join(',')})`);
    }
    const exiting = this.exiting;
    if (tr !== null && reversible) {
      // OVS translates a reversible clone in place: what its outputs committed stays committed
      // (the base flow is not restored), so the next output sets the fields back. Same frames on
      // the wire; the trace's datapath actions are OVS's.
      const base = new FlowKey().copyFrom(this.base);
      const pkt = new PacketState();
      pkt.copyFrom(this.pkt);
      this.restoreFork(s);
      this.base.copyFrom(base);
      this.pkt.copyFrom(pkt);
      if (this.pkt.owned) this.pkt.frozen = true;
    } else this.restoreFork(s);
    this.exiting = exiting;
  }

  /**
   * `check_pkt_larger(len)->dst` (OVS `xlate_check_pkt_larger` with the datapath's check_pkt_len):
   * pending rewrites are committed, and the rest of the current action list (then the action set)
   * runs on a copy of the packet with `dst` = 1 when the packet (without Ethernet padding) is longer
   * than `len` bytes, else 0; afterwards everything is as before the action, and this list is done.
   *
   * OVS translates both branches, the greater one first, sharing one copy of the action set: the
   * greater branch executes (and so empties) it, and the less-or-equal branch starts from what is
   * left. We run the branch the packet takes; for less-or-equal the action set starts empty. When
   * that branch freezes (recirculation), OVS's greater branch froze too and left its set in place:
   * the frozen set then keeps the hidden one (`hiddenSets`). A trace translates both branches as
   * OVS does (`traceCheckPktLarger`).
   */
  checkPktLarger(len: number, dst: Subfield, _bucket: boolean): boolean {
    if (this.rec !== null) this.rec.uncacheable(); // the packet's length is not in the key
    const tr = this.tr;
    const p = this.pkt;
    commitKey(this.key, this.base, p, tr);
    const size = (p.l3 >= 0 ? p.end : p.off + p.len) - p.off;
    const ops = this.curOps;
    const start = this.curIdx + 1;
    const s = this.saveFork();
    const greater = size > len;
    if (tr !== null) {
      this.traceCheckPktLarger(tr, len, dst, greater, ops, start, s);
      return true;
    }
    writeSubfield(this.key.w, dst, greater ? 1 : 0);
    if (!greater) {
      this.hiddenSets.push(s.set);
      this.actionSet.length = 0;
      this.actionSetHasGroup = false;
    }
    this.doOpsFrom(ops, start, false);
    this.executeActionSet();
    if (!greater) this.hiddenSets.pop();
    this.restoreFork(s);
    this.exiting = s.exiting;
    return true;
  }

  /**
   * A trace of `check_pkt_larger` as ofproto/trace shows it (OVS `xlate_check_pkt_larger`): both
   * branches are translated, the greater one first, each the rest of the list with `dst` set, then
   * the action set (which the greater branch so empties for the other); between them only the flow
   * and the bytes go back (the stack does not), and an `exit` in the greater branch holds for what
   * follows. The datapath action is `check_pkt_len(size=N,gt(...),le(...))`; the frames logged are
   * the ones of the branch this packet takes.
   */
  private traceCheckPktLarger(tr: TraceBuilder, len: number, dst: Subfield, greater: boolean, ops: readonly Op[], start: number, s: ForkSave): void {
    const log = this.log;
    const dpMark = tr.dp.length;
    const logMark = log.n;
    writeSubfield(this.key.w, dst, 1);
    this.doOpsFrom(ops, start, false);
    this.actionSetOrFreeze();
    const gt = tr.dp.splice(dpMark);
    if (!greater) log.n = logMark;
    const gtExit = this.exiting;
    this.exiting = false;
    this.key.copyFrom(s.key);
    this.base.copyFrom(s.base);
    this.pkt.copyFrom(s.pkt);
    if (this.pkt.owned) this.pkt.frozen = true;
    const leMark = log.n;
    writeSubfield(this.key.w, dst, 0);
    this.doOpsFrom(ops, start, false);
    this.actionSetOrFreeze();
    const le = tr.dp.splice(dpMark);
    if (greater) log.n = leMark;
    this.restoreFork(s);
    this.exiting = gtExit;
    tr.datapath(`check_pkt_len(size=${len},gt(${gt.join(',') || 'drop'}),le(${le.join(',') || 'drop'}))`);
  }

  /** `push:F[a..b]` (OVS `nxm_execute_stack_push`). */
  stackPush(src: Subfield): void {
    // OVS un-wildcards the subfield; the cache keys on the whole field.
    if (this.rec !== null) this.rec.markSubfield(src);
    const n = this.stackN * 4;
    if (this.stackW.length < n + 4) {
      const w = new Uint32Array(this.stackW.length * 2);
      w.set(this.stackW);
      this.stackW = w;
    }
    const st = this.stackW;
    st.fill(0, n, n + 4);
    const kw = this.key.w;
    for (let i = 0; i < src.nBits; i++) {
      if (getBit(kw, src.field, src.ofs + i)) st[n + 3 - (i >>> 5)] = (st[n + 3 - (i >>> 5)]! | (1 << (i & 31))) >>> 0;
    }
    this.stackN++;
  }

  /** `pop:F[a..b]` (OVS `nxm_execute_stack_pop`): the low bits of the top value; "stack underflow" when empty. */
  stackPop(dst: Subfield): void {
    if (this.stackN === 0) {
      this.report('error', 'stack underflow');
      return;
    }
    if (this.rec !== null) this.rec.markSubfield(dst);
    this.stackN--;
    const n = this.stackN * 4;
    const st = this.stackW;
    const kw = this.key.w;
    const f = dst.field;
    for (let i = 0; i < dst.nBits; i++) putBit(kw, f, dst.ofs + i, (st[n + 3 - (i >>> 5)]! >>> (i & 31)) & 1);
    if (f.nwords === 1) setOne(kw, f, (kw[f.word]! >>> f.shift) & f.vmask);
    else markTunMeta(kw, f);
    if (f.word === W.vlan_tci) fixVlanTpid(this);
    if (this.tr !== null) this.tr.report('detail', subfieldNowText(kw, dst));
  }

  /** `exit`. */
  exit(): void {
    this.exiting = true;
  }

  /** `controller(pause)`: nothing after it in this translation runs (the controller resumes it). */
  halt(): void {
    this.exiting = true;
  }

  /** Commit the pending rewrites to the bytes (OVS `xlate_commit_actions`). */
  commit(): void {
    commitKey(this.key, this.base, this.pkt, this.tr);
  }

  /** See `Xlate.mplsPopped`. */
  mplsPopped(): void {
    this.wasMpls = true;
  }

  /** The translation failed: nothing is executed (OVS `XLATE_TOO_MANY_MPLS_LABELS`). */
  fail(): void {
    this.error = XlateError.TooManyMplsLabels;
  }

  /**
   * OVS `recirc_for_mpls()`: the packet lost its last label and an action needs what follows it, so
   * the datapath pops the label and recirculates, and translation resumes with the rest of the
   * actions on the re-parsed packet (the frozen metadata, registers and ct fields kept). A trace
   * stops here, as ofproto/trace does (`recirc(0xN)` ends its datapath actions); forwarding
   * re-parses the bytes in place and goes on, which sends what OVS sends after the recirculation.
   */
  private mplsRecirculate(): void {
    this.wasMpls = false;
    if (this.rec !== null) this.rec.uncacheable(); // the re-parsed fields are not in the key
    const tr = this.tr;
    const k = this.key;
    commitKey(k, this.base, this.pkt, tr);
    if (tr !== null) {
      tr.datapath(`recirc(0x${(++this.recircSeq).toString(16)})`);
      this.actionSet.length = 0;
      this.exiting = true;
      return;
    }
    const p = this.pkt;
    const frozen = this.mplsFrozen;
    frozen.copyFrom(k);
    extractFlowKey(p.buf, p.off, p.len, 0, k, this.sw.vlanLimit);
    const w = k.w;
    const fw = frozen.w;
    for (let i = 0; i <= W.in_port; i++) w[i] = fw[i]!;
    for (let i = W.ct_state; i <= W.ct_tp_dst; i++) w[i] = fw[i]!;
    w[W.actset_output] = fw[W.actset_output]!;
    k.skbPriority = frozen.skbPriority;
    p.l25 = k.l25;
    p.l3 = k.l3;
    p.l4 = k.l4;
    p.end = k.end;
    this.base.copyFrom(k);
  }

  /** OVS `member_enabled_cb`: reserved ports (but CONTROLLER) are usable, real ports when they exist and are up. */
  memberEnabled(port: number): boolean {
    switch (port) {
      case OFPP.IN_PORT:
      case OFPP.TABLE:
      case OFPP.NORMAL:
      case OFPP.FLOOD:
      case OFPP.ALL:
      case OFPP.NONE:
        return true;
      case OFPP.CONTROLLER:
        return false;
      default: {
        const p = this.sw.ports.get(port);
        return p !== undefined && p.up;
      }
    }
  }

  /** `fin_timeout` (OVS `xlate_fin_timeout`): a FIN or RST lowers the running flow's timeouts (in a trace only with side effects). */
  finTimeout(idle: number, hard: number): void {
    const r = this.rec;
    if (r !== null) {
      r.mark(W.nw_proto, 0xffffffff); // OVS: OFPACT_FIN_TIMEOUT un-wildcards nw_proto
      r.uncacheable();
    }
    const e = this.rule;
    // A trace runs it only with side effects allowed (OVS `allow_side_effects`).
    const live = this.tr === null ? this.counting : this.sideEffects;
    if (live && e !== null && (this.key.w[W.tcp_flags]! & 0x005) !== 0) this.sw.finTimeout(e, idle, hard);
  }

  // -------------------------------------------------------------------------------------------
  // Groups

  /** Report a trace detail line (bucket choices). */
  private readonly reportDetail = (line: string): void => this.report('detail', line);

  /** `group:N`; true when the group does not exist (the rest of the list stops). */
  group(id: number): boolean {
    if (!this.resourceCheck()) return false;
    const g = this.sw.groups.get(id);
    if (!g) {
      this.report('warn', `output to nonexistent group ${id}`);
      return true;
    }
    if (g.type === 'all' || g.type === 'indirect') {
      this.creditGroup(g);
      for (const b of g.buckets) this.bucket(b);
      return false;
    }
    // A dp_hash select group (OVN's load balancers) with the hash of the packet as received: the
    // cache keeps the bucket it picks as a guard. Others depend on port liveness and a hash of
    // fields the cache does not key on.
    const rec = this.rec;
    const guarded = rec !== null && !rec.ovsExact && g.type === 'select' && g.select!.method === 'dp_hash' && g.select!.hashAlg === HashAlg.L4;
    if (rec !== null && !guarded) rec.uncacheable();
    if (this.tr !== null && g.type === 'select' && g.select!.method === 'dp_hash') {
      // OVS pick_dp_hash_select_group: the packet has no dp_hash yet, so the translation freezes
      // and recirculates with the datapath's hash; the bucket is chosen in a pass ofproto/trace
      // does not show.
      this.report('detail', 'no live bucket');
      this.freezing = { alg: g.select!.hashAlg, basis: g.select!.hashBasis };
      this.exiting = true;
      return false;
    }
    let i: number;
    const report = this.tr !== null ? this.reportDetail : undefined;
    if (g.type === 'ff') i = firstLiveBucket('ff', g.buckets, this.live, 0, report);
    else {
      const k = this.key;
      const r = this.rec;
      if (r !== null && r.ovsExact) {
        // OVS pick_default_select_group / pick_hash_fields_select_group un-wildcard what they hash.
        if (g.select!.method === 'default') markHashFields(r, k.w, 'symmetric_l4');
        else if (g.select!.method === 'hash') g.select!.markFields(r, k.w);
      }
      i = g.select!.pick(k.w, this.live, k.vlan2Tci, g.select!.method === 'dp_hash' && g.select!.hashAlg === 0 ? this.receivedKey() : k.w, report);
    }
    if (guarded) rec.selectGuard(g, i);
    if (i >= 0) {
      // OVS xlate_group_stats: select/ff credit the group and the chosen bucket only.
      this.creditGroup(g);
      const b = g.buckets[i]!;
      this.report('detail', `using bucket ${b.id}`);
      this.bucket(b);
    } else this.report('detail', 'no live bucket');
    return false;
  }

  private creditGroup(g: GroupEntry): void {
    if (!this.counting) return;
    g.packets++;
    g.bytes += this.frameLen;
    if (this.rec !== null) this.rec.countedHit(g);
  }

  /** The flow of the packet as received (dp_hash's RSS input), extracted on demand. */
  private receivedKey(): Uint32Array {
    const k = this.rxKey;
    if (k.l2 < 0) extractFlowKey(this.rxFrame, this.rxOff, this.rxLen, this.base.w[W.in_port]!, k, this.sw.vlanLimit);
    return k.w;
  }

  private bucket(b: BucketEntry): void {
    if (this.counting) {
      b.packets++;
      b.bytes += this.frameLen;
      if (this.rec !== null) this.rec.countedHit(b);
    }
    const tr = this.tr;
    const back = tr !== null ? tr.enter({ type: 'bucket', text: `bucket ${b.id}`, children: [] }) : null;
    const lvl = this.depth;
    while (this.saved.length <= lvl) this.saved.push(new FlowKey());
    const save = this.saved[lvl]!.copyFrom(this.key);
    const wasMpls = this.wasMpls;
    this.depth++;
    this.doOps(b.ops, true);
    this.depth--;
    if (this.freezing !== null) this.finishFreezing();
    this.key.copyFrom(save);
    // A pop_mpls in the bucket has no effect after it (OVS xlate_group_bucket).
    this.wasMpls = wasMpls;
    // OVS xlate_group_bucket: a bucket that exits does not stop what follows the group.
    this.exiting = false;
    if (tr !== null && back !== null) tr.leave(back);
  }

  // -------------------------------------------------------------------------------------------
  // Stateful actions

  /**
   * `ct(...)` (OVS `compose_conntrack_action`): pending rewrites are committed to the bytes, the
   * packet goes through the tracker (its NAT rewrites the bytes), `table=N` forks a clone that
   * resumes in table N with the ct fields set when this pass ends, and this packet goes on with
   * the rest of the actions untracked (ct fields cleared).
   */
  ct(c: CtPrep): void {
    this.ctRun(c, null);
  }

  /** A cached translation's ct event (see `ReplayTarget.ctReplay`). */
  ctReplay(ct: unknown, frozen: unknown): void {
    this.ctRun(ct as CtPrep, frozen as FrozenState | null);
  }

  /** `ct(...)`; `frozen`: the recirculation's frozen state when a cached translation replays it. */
  private ctRun(c: CtPrep, frozen: FrozenState | null): void {
    const rec = this.rec;
    if (rec !== null) rec.ctEvent(c);
    const k = this.key;
    const w = k.w;
    const zone = c.zoneSrc !== null ? readSubfield(w, c.zoneSrc) & 0xffff : c.zone;
    const tr = this.tr;
    commitKey(k, this.base, this.pkt, tr);
    if (tr !== null) {
      // OVS compose_conntrack_action translates ct's nested actions: an empty list says `drop`.
      if (c.nested.length === 0) tr.report('action', 'drop');
      for (const t of c.nested) tr.report('action', t);
      if (c.alg) tr.report('warn', `alg=${c.alg}: application layer gateways are not implemented; tracked without a helper`);
      tr.datapath(ctDpText(c, zone));
      // ofproto/trace: the clone gets the zone and the exec'd mark/label (ct_state is set per section).
      w[W.ct_zone] = zone;
      const act = ctActFor(c, w);
      const m = act.mark;
      if (m) w[W.ct_mark] = ((w[W.ct_mark]! & ~m.mask) | m.value) >>> 0;
      const l = act.label;
      if (l) for (let i = 0; i < 4; i++) w[W.ct_label + i] = ((w[W.ct_label + i]! & ~l.mask[i]!) | l.value[i]!) >>> 0;
    } else {
      if (this.dropped) {
        clearCt(w);
        return;
      }
      const p = this.pkt;
      const act = ctActFor(c, w);
      act.zone = zone;
      const l3 = k.l3, l4 = k.l4, end = k.end;
      k.l3 = p.l3;
      k.l4 = p.l4;
      k.end = p.end;
      const tracker = this.sw.conntrack;
      tracker.frameNow = this.now;
      tracker.execute(k, p.buf, act);
      const rw = tracker.result.nat;
      if (rw.addr !== 0) {
        p.own();
        k.l3 = p.l3;
        k.l4 = p.l4;
        k.end = p.end;
        applyNatToFrame(p.buf, k, rw);
      }
      k.l3 = l3;
      k.l4 = l4;
      k.end = end;
    }
    if (c.table >= 0) {
      const f = this.fork(c, frozen);
      if (rec !== null) rec.ctFrozen(f);
    }
    this.conntracked = false;
    clearCt(w);
    this.report('detail', 'Sets the packet to an untracked state, and clears all the conntrack fields.');
  }

  /** Fork the recirculation of `ct(table=N)` (to the given frozen state when replaying, else the one frozen now); returns its frozen state. */
  private fork(c: CtPrep, frozen: FrozenState | null): FrozenState {
    const id = ++this.recircSeq;
    if (this.tr !== null) {
      this.tr.datapath(`recirc(0x${id.toString(16)})`);
      this.tr.report('detail', `A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table ${c.table}.`);
    }
    const p = this.pkt;
    if (p.owned) p.frozen = true; // the clone keeps these bytes; our next edit copies first
    const f = frozen ?? this.freeze(c.table, this.recircDepth + 1);
    const r = this.newRecirc();
    r.id = id;
    r.ct = c;
    r.frozen = f;
    r.logPos = this.log.n;
    r.key.copyFrom(this.key);
    r.buf = p.buf;
    r.off = p.off;
    r.len = p.len;
    r.l3 = p.l3;
    r.l4 = p.l4;
    r.end = p.end;
    r.ctState = 0;
    r.natLines = null;
    return f;
  }

  /** The action set a freeze keeps: the current one after any hidden by check_pkt_larger. */
  private frozenActionSet(): Op[] {
    if (this.hiddenSets.length === 0) return this.actionSet.slice();
    const out: Op[] = [];
    for (const h of this.hiddenSets) for (const o of h) out.push(o);
    for (const o of this.actionSet) out.push(o);
    return out;
  }

  /** `meter:N` (dpif-netdev `dp_netdev_run_meter`): the datapath drops the packet here when a drop band fires. */
  meter(id: number): void {
    if (this.rec !== null) this.rec.uncacheable();
    if (this.tr !== null) {
      this.tr.datapath(`meter(${id})`);
      return;
    }
    if (this.dropped) return;
    const v = this.sw.meters.meter(id, this.pkt.len, this.now);
    if (v === 'pass') return;
    if (v === 'drop') {
      this.dropped = true;
      return;
    }
    const w = this.key.w;
    const dl = w[W.dl_type];
    if (dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6) {
      const tos = w[W.nw_tos]!;
      w[W.nw_tos] = ((remarkDscp(tos >>> 2, v.dscpRemark) << 2) | (tos & 3)) >>> 0;
    }
  }

  /** Learned flows are installed: forwarding, or a trace with side effects (a packet, `-generate`). */
  private learns(): boolean {
    return this.counting || (this.tr !== null && this.sideEffects);
  }

  /** The end of a pass: install what it learned (they become visible to the next pass). */
  private commitLearned(): void {
    if (this.hitN !== 0) this.flushHits();
    if (this.passLearned.size !== 0) this.passLearned.clear();
    // Only when this pass staged something: passing `now` to the switch boxes it (16 bytes per
    // frame with a fractional clock) even when nothing is installed.
    if (this.learnStaged) {
      this.learnStaged = false;
      this.sw.learnCommit(this.now);
    }
  }

  /** A `learn` of the current pass staged a flow for `learnCommit`. */
  private learnStaged = false;

  /** `learn(...)` (lib/learn.c): the flow is staged and becomes visible when this pass ends. */
  learn(a: LearnAction): void {
    if (this.rec !== null) {
      this.rec.uncacheable();
      // OVS learn_mask: the fields the learned flow is built from are un-wildcarded.
      for (const sp of a.specs) if ('field' in sp.src) this.rec.markSubfield(sp.src);
    }
    if (this.tr !== null && !this.sideEffects) {
      this.tr.report('warn', 'suppressing side effects, so learn action ignored');
      return;
    }
    const lf = learnedFlow(a, this.key.w);
    if (this.tr !== null) this.tr.learned(lf.flow);
    // A trace with side effects installs what it learns, as ofproto/trace given a packet does.
    const ok = this.sw.learnStage(lf, a, this.now, !this.learns());
    if (ok && this.learns()) this.learnStaged = true;
    if (ok && this.tr !== null) {
      const f = lf.flow;
      const l = this.passLearned.get(f.table);
      const r: WcRule = { match: f.match, priority: f.priority, soft: false };
      if (l) l.push(r);
      else this.passLearned.set(f.table, [r]);
    }
    writeLearnResult(a, this.key.w, ok);
    // OVS xlate_learn_action: the result bit's detail, then the failure.
    if (this.tr !== null && a.resultDst) this.tr.report('detail', subfieldNowText(this.key.w, a.resultDst));
    if (!ok) this.report('detail', 'Limit exceeded, learn failed');
  }

  /** `output:NORMAL` (xlate_normal): MAC learning (not while tracing) and L2 forwarding with VLAN modes. */
  private normalAction(): void {
    if (this.rec !== null) this.rec.uncacheable();
    const k = this.key;
    const w = k.w;
    const tci = w[W.vlan_tci]!;
    const tagged = (tci & VLAN_CFI) !== 0;
    const vid = tagged ? tci & 0xfff : 0;
    const pcp = tagged ? (tci >>> 13) & 7 : 0;
    const src = w[W.dl_src]! * 0x1_0000_0000 + w[W.dl_src + 1]!;
    const dst = w[W.dl_dst]! * 0x1_0000_0000 + w[W.dl_dst + 1]!;
    const r = this.sw.normal.normalForward(w[W.in_port]!, vid, src, dst, this.now, pcp, this.counting, tagged);
    switch (r.reason) {
      case 'flood':
        this.report('detail', 'no learned MAC for destination, flooding');
        break;
      case 'forward':
        this.report('detail', 'forwarding to learned port');
        break;
      case 'learned port is input port':
        this.report('detail', 'learned port is input port, dropping');
        break;
      case 'disallowed VLAN':
        this.report('detail', `disallowed VLAN VID for this input port, dropping`);
        break;
      case 'reserved destination':
        this.report('detail', 'dropping packet to reserved multicast address');
        break;
      case 'no input bundle':
        this.report('detail', 'no input bundle, dropping');
        break;
    }
    if (r.outputs.length === 0) return;
    const save = this.normalSave.copyFrom(k);
    for (const out of r.outputs) {
      const va = out.vlanAction;
      if (va.kind === 'pop') {
        if ((w[W.vlan_tci]! & VLAN_CFI) !== 0) {
          w[W.vlan_tci] = k.vlan2Tci;
          k.vlanTpid = k.vlan2Tpid;
          k.vlan2Tci = 0;
          k.vlan2Tpid = 0;
        }
      } else if (va.kind === 'push') {
        k.vlan2Tci = w[W.vlan_tci]!;
        k.vlan2Tpid = k.vlanTpid;
        w[W.vlan_tci] = (VLAN_CFI | (va.pcp << 13) | va.vid) >>> 0;
        k.vlanTpid = 0x8100;
      } else if (va.kind === 'set') {
        w[W.vlan_tci] = (VLAN_CFI | (va.pcp << 13) | va.vid) >>> 0;
      }
      this.composeOutput(out.port);
      k.copyFrom(save);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Output

  /** Output to a port, reserved ports included. */
  output(port: number, maxLen: number, bucket: boolean): void {
    const inPort = this.key.w[W.in_port]!;
    switch (port) {
      case OFPP.IN_PORT:
        this.composeOutput(inPort);
        break;
      case OFPP.TABLE:
        this.resubmit(inPort, 0);
        break;
      case OFPP.NORMAL:
        this.normalAction();
        break;
      case OFPP.FLOOD:
      case OFPP.ALL:
        for (const p of this.sw.floodOrder()) {
          if (p.number === inPort) continue;
          if (port === OFPP.ALL || !p.noFlood) this.composeOutput(p.number);
        }
        break;
      case OFPP.CONTROLLER:
        this.controller(maxLen, this.packetOut ? 'packet_out' : bucket ? 'group' : this.inActionSet ? 'action_set' : 'action', 0, undefined);
        break;
      case OFPP.NONE:
        break;
      default:
        if (port !== inPort) this.composeOutput(port);
        else this.report('warn', 'skipping output to input port');
    }
  }

  /** Output to the port held in a subfield. */
  outputReg(src: Subfield, maxLen: number, bucket: boolean): void {
    const port = readSubfield(this.key.w, src);
    if (port <= 0xffff) {
      this.report('detail', `output port is ${port}`);
      this.output(port, maxLen, bucket);
    } else this.report('warn', `output port ${port} is out of range`);
  }

  /**
   * Output to port `n`. With `maxLen` > 0 the datapath's `trunc(maxLen)` comes first: it notes how
   * many bytes the packet has beyond `maxLen` (at least 14 are kept) and the output drops that many
   * from its end, after the rewrites committed in between (a VLAN pushed after the trunc adds 4).
   */
  private composeOutput(n: number, maxLen = 0): void {
    const port = this.sw.ports.get(n);
    if (!port) {
      this.report('warn', 'Nonexistent output port');
      return;
    }
    if (port.noForward) {
      this.report('detail', 'OFPPC_NO_FWD set, skipping output');
      return;
    }
    const cut = maxLen > 0 ? Math.max(0, this.pkt.len - Math.max(maxLen, 14)) : 0;
    if (port.kind === 'tunnel' && port.tunnel) {
      this.tunnelOutput(port, cut);
      return;
    }
    const tr = this.tr;
    commitKey(this.key, this.base, this.pkt, tr);
    if (tr !== null) tr.datapath(String(n === OFPP.LOCAL ? this.sw.localDpPort : n));
    const p = this.pkt;
    // The log keeps a reference; a later edit copies first (PacketState.frozen).
    if (p.owned) p.frozen = true;
    if (!this.dropped) this.log.output(n, p.buf, p.off, p.len - cut, false);
  }

  /** Output through a tunnel port; `cut` bytes come off the end of the inner packet first. */
  private tunnelOutput(port: Port, cut: number): void {
    const cfg = port.tunnel!;
    const w = this.key.w;
    // A port with a fixed remote (OVS options:remote_ip=IP) ignores the flow's tunnel addresses;
    // the outer source is then the port's local address (OVS: the route to the remote).
    const dst = cfg.remoteIp ?? w[W.tun_dst]!;
    if (dst === 0) {
      this.report('warn', 'Tunneling decided against output');
      return;
    }
    const src = cfg.remoteIp !== undefined ? cfg.localIp : w[W.tun_src]! || cfg.localIp;
    this.report('detail', 'output to native tunnel');
    const tr = this.tr;
    commitKey(this.key, this.base, this.pkt, tr);
    let list = this.encaps.get(port.number);
    if (list === undefined) {
      list = [];
      this.encaps.set(port.number, list);
    }
    let enc: TunnelEncap | undefined;
    for (let i = 0; i < list.length; i++) if (list[i]!.src === src && list[i]!.dst === dst) enc = list[i]!.enc;
    if (enc === undefined) {
      const kind = cfg.kind ?? TunnelKind.Geneve;
      enc = new TunnelEncap({
        kind, ethSrc: cfg.ethSrc, ethDst: typeof cfg.ethDst === 'function' ? cfg.ethDst(dst) : cfg.ethDst,
        src, dst, ttl: cfg.ttl ?? 64, udpChecksum: cfg.udpChecksum ?? false, ident: OVS_TNL_IDENT,
        ...(cfg.dstPort !== undefined ? { dstPort: cfg.dstPort } : {}),
      });
      list.push({ src, dst, enc });
    }
    const tk = this.tunKey.clear();
    tk.vni = w[W.tun_id + 1]! & 0xffffff;
    let optLen = 0;
    if (enc.kind === TunnelKind.Geneve) optLen = this.buildOptions(w);
    if (optLen > 0) tk.setOptions(this.optScratch, 0, optLen);
    const p = this.pkt;
    p.own();
    enc.encap(tk, p.buf, p.off, p.len - cut);
    if (tr !== null) {
      const hx = (v: number): string => `0x${v.toString(16)}`;
      tr.datapath(`tnl_push(tnl_port(${port.number}),header(${enc.kind === TunnelKind.Geneve ? 'geneve' : 'vxlan'}(vni=${hx(tk.vni)}),dst=${formatIpv4(dst)},src=${formatIpv4(src)}),out_port(${port.number}))`);
    }
    if (!this.dropped) this.log.output(port.number, enc.buf, enc.off, enc.len, true);
  }

  /** Geneve options from the present `tun_metadata` fields, in TLV-map index order (as OVS). */
  private buildOptions(w: Uint32Array): number {
    const present = (w[W.tun_flags]! >>> TUN_META_PRESENT_SHIFT) & 0xff;
    if (present === 0) return 0;
    const b = this.optScratch;
    let o = 0;
    for (let i = 0; i < 8; i++) {
      if ((present & (1 << i)) === 0) continue;
      const map = this.sw.tlvMap;
      let m: TlvMapping | undefined;
      for (let j = 0; j < map.length && m === undefined; j++) if (map[j]!.index === i) m = map[j];
      if (m === undefined) continue;
      b[o] = m.optClass >>> 8;
      b[o + 1] = m.optClass & 0xff;
      b[o + 2] = m.type & 0xff;
      b[o + 3] = (m.len / 4) & 0x1f;
      const word = W.tun_metadata0 + 4 * i;
      // The option data is the low `len` bytes of the 128-bit field.
      for (let j = 0; j < m.len; j++) {
        const byteFromEnd = m.len - 1 - j;
        const wi = word + 3 - Math.floor(byteFromEnd / 4);
        b[o + 4 + j] = (w[wi]! >>> (8 * (byteFromEnd % 4))) & 0xff;
      }
      o += 4 + m.len;
    }
    return o;
  }

  /**
   * Trace: the recirculation id of a packet-in. OVS freezes a state for it (execute_controller_action:
   * the table, the frozen metadata, i.e. tunnel, metadata, registers and in_port, the stack,
   * `conntracked`, `was_mpls`, the userdata; no actions) and `recirc_alloc_id_ctx` hands out the id
   * of an equal state already allocated: two packet-ins with the same state share one id.
   */
  private packetInId(userdata: Uint8Array | undefined): number {
    const w = this.key.w;
    let k = `${this.tableId}|${this.conntracked ? 1 : 0}|${this.wasMpls ? 1 : 0}|`;
    for (let i = 0; i <= W.in_port; i++) if (i !== W.pkt_mark) k += `${w[i]},`;
    k += `|${Array.from(this.stackW.subarray(0, this.stackN * 4)).join(',')}|${userdata ? Array.from(userdata).join(',') : ''}`;
    let id = this.packetInIds.get(k);
    if (id === undefined) {
      id = ++this.recircSeq;
      this.packetInIds.set(k, id);
    }
    return id;
  }

  /** A packet-in. */
  controller(maxLen: number, reason: PacketInReason, id: number, userdata: Uint8Array | undefined): void {
    if (this.rec !== null) this.rec.uncacheable();
    const tr = this.tr;
    commitKey(this.key, this.base, this.pkt, tr);
    const p = this.pkt;
    if (tr !== null) {
      // OVS put_controller_user_action(): the reason (OFPR_EXPLICIT_MISS, 6, for an action of a
      // table-miss flow), the packet's continuation as a recirculation id (one more of the pool
      // the ct recirculations use) and the rule's cookie; the dummy datapath's upcall pid is 0.
      let r = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'].indexOf(reason);
      const rule = this.rule;
      if (r === 1 && rule !== null && rule.flow.priority === 0 && rule.flow.match.mask.every((m) => m === 0)) r = 6;
      const cookie = rule === null ? 0xffffffffffffffffn : rule.flow.cookie;
      const ck = cookie === 0n ? '0' : `0x${cookie.toString(16)}`;
      tr.datapath(`userspace(pid=0,controller(reason=${r},dont_send=${tr.dontSend ? 1 : 0},continuation=0,recirc_id=${this.packetInId(userdata)},rule_cookie=${ck},controller_id=${id},max_len=${maxLen}))`);
    }
    const len = maxLen < p.len ? maxLen : p.len;
    if (this.dropped) return;
    const meta: Omit<PacketIn, 'frame'> = {
      reason, tableId: this.tableId, cookie: this.rule ? this.rule.flow.cookie : 0xffff_ffff_ffff_ffffn, inPort: this.key.w[W.in_port]!,
      controllerId: id, totalLen: p.len, maxLen, bufferId: 0xffffffff, match: packetInMatch(this.key.w), ...(userdata ? { userdata } : {}),
    };
    if (p.owned) p.frozen = true;
    this.log.packetIn(p.buf, p.off, len, p.len, meta);
  }
}

/** OFPG_ANY: no watch group. */
export const OFPG_ANY = 0xffffffff;

/** OFPP_ANY: no watch port. */
export const OFPP_ANY = 0xffff;

const EMPTY_BYTES = new Uint8Array(0);

/** The Geneve UDP port, re-exported for tunnel receive. */
export const GENEVE_PORT = GENEVE_UDP_PORT;
