/**
 * The OpenFlow pipeline executor: OVS's `xlate_actions()` over our flow key, with the datapath
 * execution folded in.
 *
 * Per frame: the key is extracted once into a preallocated `FlowKey`; table 0 is looked up; the
 * matched flow's instructions run as one list in OpenFlow order (apply actions, clear_actions,
 * write_actions, write_metadata, goto_table), exactly as OVS flattens them; `resubmit`,
 * `goto_table` and group buckets recurse with OVS's limits (depth 64, 4096 table lookups; a resubmit
 * only deepens when it goes to the same or an earlier table); at the end the action set runs in
 * OVS's order (pop_vlan, push_vlan, dec_ttl, every set_field/move in write order, then the single
 * final action: group > output > resubmit), and only if it has a final action. Group buckets are
 * action sets too (reordered the same way) and run on a copy of the flow that is restored after
 * each bucket.
 *
 * Actions edit the key only. At each output the differences between the key and the "base" key
 * (what the bytes say) are committed to the bytes (commit.ts) and the frame is logged. Outputs and
 * packet-ins are delivered after translation finishes, because OVS drops everything when
 * translation fails (too deep, too many resubmits). Logging an unmodified frame stores a reference;
 * a rewritten one is copied into a preallocated arena, so the common path allocates nothing.
 *
 * A trace (when requested) is built as OVS's `oftrace_node` tree: table nodes, action nodes and
 * their details in the same places OVS puts them, so printing it with OVS's indentation rule gives
 * `ofproto/trace`'s layout.
 */
import { formatIpv4 } from '@ovnts/packet';
import { TunnelEncap, TunnelKey, TunnelKind, GENEVE_UDP_PORT } from '@ovnts/geneve';
import { OFPP, formatAction, type Action, type Instructions, type Subfield } from './actions.js';
import type { Classifier, ClsRule } from './classifier.js';
import { PacketState, commitKey } from './commit.js';
import { extractFlowKey } from './extract.js';
import { CachedXlate, MegaflowCache, XEV_OUTPUT, XEV_OUTPUT_REG, eventsAt, type Counted } from './flowcache.js';
import { ETH_TYPE_IP, ETH_TYPE_IPV6, Prereq, VLAN_CFI, type MatchField } from './fields.js';
import { FlowKey, KEY_WORDS, W, getFieldBig } from './flowkey.js';
import { prereqOkKey } from './match.js';
import { formatFieldValue, formatFlow, formatMatch, type Flow, type Group, type GroupType } from './ofctl-text.js';
import type { Port, TlvMapping } from './ports.js';
import type { Clock } from './clock/clock.js';
import { Conntrack, type CtAction } from './conntrack/conntrack.js';
import { CtState } from './conntrack/constants.js';
import { applyNatToFrame, compileCtNat } from './conntrack/nat.js';
import type { ConjunctionTable } from './stateful/conjunction.js';
import { asLearnExt, learnedFlow, writeLearnResult, type LearnActionExt, type LearnedFlow } from './stateful/learn.js';
import { remarkDscp, type MeterTable } from './stateful/meters.js';
import type { NormalSwitch } from './stateful/normal.js';
import { packetInMatch, type PacketInField } from './stateful/packet-out.js';
import { firstLiveBucket, type LivenessSource, type SelectGroupState } from './stateful/select.js';
import type { GroupProps } from './stateful/group-text.js';
import type { FlowLife } from './stateful/timeouts.js';
import { FRAG_ANY } from './fields.js';

/** OVS's translation limits. */
export const MAX_DEPTH = 64;
/** Table lookups (resubmits, goto_table) allowed per packet. */
export const MAX_RESUBMITS = MAX_DEPTH * MAX_DEPTH;
/** OVS's `OFPP_UNSET`: actset_output when the action set has no output. */
export const OFPP_UNSET = 0xfff7;
/** dpif-netdev's `MAX_RECIRC_DEPTH`: nested recirculations a packet may go through. */
export const MAX_RECIRC_DEPTH = 6;
/** ct_state bits of a flow (for traces). */
const CS_TRK_NEW = CtState.Tracked | CtState.New;

/** Bits of the `tun_flags` word used for "tun_metadata<i> is present" (8 + i); not matchable. */
export const TUN_META_PRESENT_SHIFT = 8;

// ---------------------------------------------------------------------------------------------
// Compiled operations

/** Operation kinds. */
const K = {
  OUTPUT: 1, OUTPUT_REG: 2, CONTROLLER: 3, SET_FIELD: 4, MOVE: 5, DEC_TTL: 6, MOD_NW_TTL: 7, PUSH_VLAN: 8,
  POP_VLAN: 9, RESUBMIT: 10, GROUP: 11, NOTE: 12, CT: 13, CT_CLEAR: 14, LEARN: 15, CONJUNCTION: 16, METER: 17,
  CLEAR_ACTIONS: 20, WRITE_ACTIONS: 21, WRITE_METADATA: 22, GOTO_TABLE: 23,
} as const;

/** One action or instruction, prepared for execution (no bigint on the per-packet path). */
export interface Op {
  /** Kind (internal). */
  readonly k: number;
  /** The action it came from (for traces and the action set), if it is an action. */
  readonly a: Action | null;
  /** Port, table, group id, TTL or ethertype, by kind. */
  readonly n: number;
  /** Second number (max_len, resubmit table, -1 when absent). */
  readonly n2: number;
  /** set_field: the field. */
  readonly field: MatchField | null;
  /** set_field value words / write_metadata [hi, lo] (field-level, unshifted). */
  readonly vw: Uint32Array;
  /** set_field mask words / write_metadata mask. */
  readonly mw: Uint32Array;
  /** write_actions: the written operations. */
  readonly ops: readonly Op[];
  /** Text for traces. */
  readonly text: string;
  /** Prepared extras: `ct` (`CtPrep`), `learn` (`LearnActionExt`), `ct` exec list. */
  readonly ext: CtPrep | LearnActionExt | null;
}

/** A `ct(...)` action prepared for execution. */
export interface CtPrep {
  /** Immediate zone. */
  readonly zone: number;
  /** `zone=field[]`, or null. */
  readonly zoneSrc: Subfield | null;
  /** `table=N`, or -1. */
  readonly table: number;
  /** The tracker's action (zone filled in per packet). */
  readonly act: CtAction;
  /** The `exec(...)` actions and `nat(...)`, as the trace lists them. */
  readonly nested: readonly string[];
  /** `alg=` as given. */
  readonly alg: string | undefined;
  /** The NAT spec (for the trace's NAT simulation). */
  readonly nat: Extract<Action, { type: 'ct' }>['nat'];
}

const NO_OPS: readonly Op[] = [];
const EMPTY_W = new Uint32Array(0);

function op(k: number, a: Action | null, text: string, more: Partial<Op> = {}): Op {
  return { k, a, n: 0, n2: -1, field: null, vw: EMPTY_W, mw: EMPTY_W, ops: NO_OPS, text, ext: null, ...more };
}

function bigToWords(v: bigint, nwords: number): Uint32Array {
  const out = new Uint32Array(nwords);
  for (let i = nwords - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffff_ffffn);
    v >>= 32n;
  }
  return out;
}

/** Prepare one action. */
export function compileAction(a: Action): Op {
  const text = formatAction(a);
  switch (a.type) {
    case 'output':
      return op(K.OUTPUT, a, text, { n: a.port, n2: a.maxLen ?? 65535 });
    case 'output_reg':
      return op(K.OUTPUT_REG, a, text, { n2: a.maxLen ?? 65535 });
    case 'controller':
      return op(K.CONTROLLER, a, text, { n: a.id ?? 0, n2: a.maxLen });
    case 'set_field': {
      const f = a.field;
      const ones = (1n << BigInt(f.bits)) - 1n;
      const mask = a.mask ?? ones;
      if (f.nwords === 1) {
        return op(K.SET_FIELD, a, text, { field: f, vw: Uint32Array.of(Number(a.value & 0xffff_ffffn) & f.vmask), mw: Uint32Array.of(Number(mask & 0xffff_ffffn) & f.vmask) });
      }
      return op(K.SET_FIELD, a, text, { field: f, vw: bigToWords(a.value & mask, f.nwords), mw: bigToWords(mask & ones, f.nwords) });
    }
    case 'move':
      return op(K.MOVE, a, text);
    case 'dec_ttl':
      return op(K.DEC_TTL, a, text);
    case 'mod_nw_ttl':
      return op(K.MOD_NW_TTL, a, text, { n: a.ttl });
    case 'push_vlan':
      return op(K.PUSH_VLAN, a, text, { n: a.ethertype });
    case 'pop_vlan':
      return op(K.POP_VLAN, a, text);
    case 'resubmit':
      return op(K.RESUBMIT, a, text, { n: a.port ?? OFPP.IN_PORT, n2: a.table ?? 255 });
    case 'group':
      return op(K.GROUP, a, text, { n: a.groupId });
    case 'note':
      return op(K.NOTE, a, text);
    case 'ct':
      return op(K.CT, a, text, { ext: prepareCt(a) });
    case 'ct_clear':
      return op(K.CT_CLEAR, a, text);
    case 'learn':
      return op(K.LEARN, a, text, { ext: asLearnExt(a) });
    case 'conjunction':
      return op(K.CONJUNCTION, a, text);
    case 'meter':
      return op(K.METER, a, text, { n: a.meterId });
  }
}

/** Prepare a `ct` action: its exec'd mark/label writes become the tracker's mark/label, NAT is compiled. */
function prepareCt(a: Extract<Action, { type: 'ct' }>): CtPrep {
  const act: CtAction = { zone: 0, commit: a.commit, force: a.force };
  const nested: string[] = [];
  for (const e of a.exec) {
    nested.push(formatAction(e));
    if (e.type !== 'set_field') continue;
    const ones = (1n << BigInt(e.field.bits)) - 1n;
    const m = e.mask ?? ones;
    const v = e.value & m;
    if (e.field.name === 'ct_mark') {
      const old = act.mark ?? { value: 0, mask: 0 };
      const mm = Number(m & 0xffff_ffffn);
      act.mark = { value: ((old.value & ~mm) | Number(v & 0xffff_ffffn)) >>> 0, mask: (old.mask | mm) >>> 0 };
    } else if (e.field.name === 'ct_label') {
      const vw = bigToWords(v, 4);
      const mw = bigToWords(m, 4);
      const old = act.label ?? { value: new Uint32Array(4), mask: new Uint32Array(4) };
      const nv = new Uint32Array(4);
      const nm = new Uint32Array(4);
      for (let i = 0; i < 4; i++) {
        nv[i] = ((old.value[i]! & ~mw[i]!) | vw[i]!) >>> 0;
        nm[i] = (old.mask[i]! | mw[i]!) >>> 0;
      }
      act.label = { value: nv, mask: nm };
    }
  }
  if (a.nat) {
    act.nat = compileCtNat(a.nat);
    const t = formatAction({ type: 'ct', commit: false, force: false, exec: [], nat: a.nat });
    nested.push(t.slice(3, -1));
  }
  let zoneSrc: Subfield | null = null;
  let zone = 0;
  if (typeof a.zone === 'number') zone = a.zone;
  else if (a.zone) zoneSrc = a.zone;
  return { zone, zoneSrc, table: a.table ?? -1, act, nested, alg: a.alg, nat: a.nat };
}

/** The datapath `ct(...)` action text (OVS `format_odp_conntrack_action`). */
function ctDpText(c: CtPrep, zone: number): string {
  const parts: string[] = [];
  if (c.act.commit) parts.push(c.act.force ? 'commit,force' : 'commit');
  if (zone) parts.push(`zone=${zone}`);
  const hx = (v: number): string => `0x${(v >>> 0).toString(16)}`;
  if (c.act.mark) parts.push(`mark=${hx(c.act.mark.value)}/${hx(c.act.mark.mask)}`);
  if (c.act.label) {
    const l = (x: ArrayLike<number>): string => `0x${Array.from(x, (v) => (v >>> 0).toString(16).padStart(8, '0')).join('').replace(/^0+(?=.)/, '')}`;
    parts.push(`label=${l(c.act.label.value)}/${l(c.act.label.mask)}`);
  }
  if (c.alg) parts.push(`helper=${c.alg}`);
  if (c.nat) parts.push(c.nested[c.nested.length - 1]!);
  return parts.length ? `ct(${parts.join(',')})` : 'ct';
}

/** The action-set class of an action (OVS `action_set_classify`): slot, final priority, set/move, or -1. */
function actionSetClass(a: Action): number {
  switch (a.type) {
    case 'pop_vlan':
      return 0;
    case 'push_vlan':
      return 1;
    case 'dec_ttl':
      return 2;
    case 'ct':
      return 10;
    case 'ct_clear':
      return 11;
    case 'resubmit':
      return 12;
    case 'output':
      return 13;
    case 'group':
      return 14;
    case 'set_field':
    case 'move':
    case 'mod_nw_ttl':
      return 20;
    default:
      return -1;
  }
}

/**
 * The actions an action set executes, in order (OVS `ofpacts_execute_action_set`): the last
 * pop_vlan, push_vlan and dec_ttl, every set_field/move in order, then the final action with the
 * highest priority (group > output > resubmit > ct_clear > ct; the later one among equals). Nothing
 * at all when there is no final action.
 */
export function actionSetOrder<T extends { a: Action | null }>(set: readonly T[], out: T[] = []): T[] {
  out.length = 0;
  let s0: T | null = null, s1: T | null = null, s2: T | null = null;
  let fin: T | null = null;
  let finClass = 0;
  for (const x of set) {
    if (!x.a) continue;
    const c = actionSetClass(x.a);
    if (c === 0) s0 = x;
    else if (c === 1) s1 = x;
    else if (c === 2) s2 = x;
    else if (c >= 10 && c < 20) {
      if (c >= finClass) {
        fin = x;
        finClass = c;
      }
    }
  }
  if (!fin) return out;
  if (s0) out.push(s0);
  if (s1) out.push(s1);
  if (s2) out.push(s2);
  for (const x of set) if (x.a && actionSetClass(x.a) === 20) out.push(x);
  out.push(fin);
  return out;
}

/** Compile a flow's instructions into one list in OpenFlow (and OVS) order. */
export function compileInstructions(ins: Instructions): Op[] {
  const ops: Op[] = ins.apply.map(compileAction);
  if (ins.clearActions) ops.push(op(K.CLEAR_ACTIONS, null, 'clear_actions'));
  if (ins.writeActions) {
    const inner = ins.writeActions.map(compileAction);
    ops.push(op(K.WRITE_ACTIONS, null, `write_actions(${ins.writeActions.map(formatAction).join(',')})`, { ops: inner }));
  }
  if (ins.writeMetadata) {
    const { value, mask } = ins.writeMetadata;
    const hx = (v: bigint): string => (v === 0n ? '0' : `0x${v.toString(16)}`);
    ops.push(op(K.WRITE_METADATA, null, `write_metadata:${hx(value)}${mask === 0xffff_ffff_ffff_ffffn ? '' : `/${hx(mask)}`}`, { vw: bigToWords(value, 2), mw: bigToWords(mask, 2) }));
  }
  if (ins.gotoTable !== undefined) ops.push(op(K.GOTO_TABLE, null, `goto_table:${ins.gotoTable}`, { n: ins.gotoTable }));
  return ops;
}

// ---------------------------------------------------------------------------------------------
// Tables, flows, groups

/** A flow installed in a table, with its counters. */
export interface FlowEntry {
  /** The flow as added (match, priority, cookie, instructions...). */
  flow: Flow;
  /** Prepared instructions. */
  ops: Op[];
  /** Packets matched. */
  packets: number;
  /** Bytes matched. */
  bytes: number;
  /** When it was added (switch clock, ms). */
  created: number;
  /** The classifier handle (null for a conjunction ("soft") flow, which lives in the table's `conj`). */
  rule: ClsRule<FlowEntry> | null;
  /** Lifetime: timeouts, `used` (last packet) and `modified` (ms), for expiry and idle/hard ages. */
  life: FlowLife<FlowEntry> | null;
  /** `fin_timeout(idle_timeout=...)` of a learned flow (0 = none). */
  finIdle: number;
  /** `fin_timeout(hard_timeout=...)` of a learned flow (0 = none). */
  finHard: number;
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
}

/** Why a packet went to the controller (OpenFlow 1.5 names, as OVS prints them). */
export type PacketInReason = 'no_match' | 'action' | 'invalid_ttl' | 'action_set' | 'group' | 'packet_out';

/** A packet-in, as the hook receives it. */
export interface PacketIn {
  /** Reason. */
  reason: PacketInReason;
  /** Table the packet was in. */
  tableId: number;
  /** Cookie of the flow that sent it. */
  cookie: bigint;
  /** Ingress port. */
  inPort: number;
  /** Controller id (`controller(id=N)`, `dec_ttl(N)`). */
  controllerId: number;
  /** `controller(userdata=...)`. */
  userdata?: Uint8Array;
  /** The packet as modified so far, cut to max_len; valid only during the call. */
  frame: Uint8Array;
  /** Its full length. */
  totalLen: number;
  /** `max_len` asked for (65535 = whole frame). */
  maxLen: number;
  /** Buffer id: always `0xffffffff` (OVS never buffers). */
  bufferId: number;
  /** The packet-in match: in_port plus the non-zero metadata, registers, tunnel, pkt_mark and ct fields. */
  match: PacketInField[];
}

/** What the executor needs from the switch. */
export interface SwitchCore {
  /** Bridge name. */
  readonly name: string;
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
  /** Stage a learned flow (installed when the translation pass ends); false when `limit` refuses it. `dry`: decide only. */
  learnStage(lf: LearnedFlow, a: LearnActionExt, now: number, dry: boolean): boolean;
  /** Install the flows staged by `learnStage` (end of a translation pass). */
  learnCommit(now: number): void;
  /** `fin_timeout` of a learned flow ran on a packet with FIN or RST. */
  finTimeout(e: FlowEntry): void;
}

/** A clone of the packet forked by `ct(table=N)`, resumed when the current translation pass ends. */
interface Recirc {
  /** Recirculation id (trace). */
  id: number;
  /** The ct action that forked it. */
  ct: CtPrep;
  /** Table to resume in. */
  table: number;
  /** Log position of the fork (its outputs are spliced there, as the datapath runs it inline). */
  logPos: number;
  /** The flow at the fork: frozen metadata and the ct fields (real run), or the whole flow (trace). */
  key: FlowKey;
  /** The bytes after ct (NAT applied): buffer, start, length, L3/L4/end offsets. */
  buf: Uint8Array;
  off: number;
  len: number;
  l3: number;
  l4: number;
  end: number;
  /** The action set at the fork. */
  actionSet: Op[];
  /** Recirculation depth (the datapath allows 6). */
  depth: number;
  /** Trace: the section header details. */
  ctState: number;
  natLines: string[] | null;
}

/** One recirculation in a trace (`recirc(0xN)` section of ofproto/trace). */
export interface TraceRecirc {
  /** Recirculation id (1, 2, ... in order of creation). */
  id: number;
  /** ct_state the trace assumed (`--ct-next`, default trk|new). */
  ctState: number;
  /** `Replacing src/dst IP/ports to simulate NAT:` lines, when the ct had NAT. */
  natLines: string[] | null;
  /** The flow the pass started with. */
  initial: FlowKey;
  /** The final flow. */
  final: FlowKey;
  /** Trace nodes (bridge, thaw, tables). */
  nodes: TraceNode[];
  /** Datapath actions. */
  dp: string[];
  /** Megaflow mask words. */
  wc: Uint32Array;
  /** Failure text, if any. */
  error?: string;
  /** Recirculation depth (for OVS's breadth-first printing order). */
  depth: number;
}

// ---------------------------------------------------------------------------------------------
// Trace nodes

/** OVS `oftrace_node_type`. */
export type TraceNodeType = 'bridge' | 'table' | 'action' | 'detail' | 'warn' | 'error' | 'bucket' | 'thaw';

/** One node of a trace tree (OVS `oftrace_node`). */
export interface TraceNode {
  /** Type. */
  type: TraceNodeType;
  /** Text (without the ` -> `/` >> ` markers). */
  text: string;
  /** Nested nodes. */
  children: TraceNode[];
  /** Table nodes: the table id (-1 for the action set node). */
  tableId?: number;
  /** Table nodes: the flow matched (absent on a miss). */
  flow?: Flow;
}

/** A frame a trace or a run emitted. */
export interface EmittedFrame {
  /** `output` or `packet_in`. */
  kind: 'output' | 'packet_in';
  /** Port (`OFPP.CONTROLLER` for packet-ins). */
  port: number;
  /** The bytes (copied; a trace owns them). */
  bytes: Uint8Array;
  /** Packet-in details. */
  packetIn?: Omit<PacketIn, 'frame'>;
}

// ---------------------------------------------------------------------------------------------
// The executor

const KIND_OUT = 0;
const KIND_PIN = 1;

const REASONS: Readonly<Record<string, PacketInReason>> = {
  no_match: 'no_match', action: 'action', invalid_ttl: 'invalid_ttl', action_set: 'action_set', group: 'group', packet_out: 'packet_out',
};

/** Result codes of a run. */
export const XlateError = {
  Ok: 0,
  RecursionTooDeep: 1,
  TooManyResubmits: 2,
} as const;

/** Runs packets through a switch's tables. One per switch; not re-entrant. */
export class Pipeline {
  /** The flow as actions change it. */
  readonly key = new FlowKey();
  /** The flow as the bytes say. */
  readonly base = new FlowKey();
  /** The bytes. */
  readonly pkt = new PacketState();
  /** Length of the received frame (for counters). */
  frameLen = 0;
  /** 0 or an `XlateError`. */
  error = 0;
  /** Trace tree under construction (the current node list), or null when not tracing. */
  trace: TraceNode[] | null = null;
  /** Datapath actions (when tracing). */
  dp: string[] | null = null;
  /** Update flow, table and group counters (false while tracing, as ofproto/trace does). */
  countStats = true;
  /** When tracing: the union of the masks the lookups consulted (for the Megaflow line). */
  wc: Uint32Array | null = null;
  /** The clock reading for this packet (ms): flow `used` times, meters, conntrack, MAC learning. */
  now = 0;
  /** Translating a packet-out: `output:CONTROLLER` has reason `packet_out` (OVS `in_packet_out`). */
  packetOut = false;
  /** Trace: the ct_state each recirculation assumes, in order (`--ct-next`); default trk|new. */
  ctNext: number[] = [];
  /** Trace: the recirculation sections, in OVS's order (breadth first). */
  traceRecircs: TraceRecirc[] = [];
  /** A meter dropped the packet: the datapath runs no further action (translation goes on). */
  private dropped = false;
  private recircDepth = 0;
  private recircSeq = 0;
  private curRecircs: Recirc[] = [];
  private readonly rootRecircs: Recirc[] = [];
  private readonly normalSave = new FlowKey();
  private rxFrame: Uint8Array = EMPTY_BYTES;
  private rxOff = 0;
  private rxLen = 0;
  private readonly rxKey = new FlowKey();
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

  private depth = 0;
  private resubmits = 0;
  private tableId = 0;
  private rule: FlowEntry | null = null;
  private inActionSet = false;
  private actionSet: Op[] = [];
  private actionSetHasGroup = false;
  private readonly setOrder: Op[] = [];
  private readonly saved: FlowKey[] = [];
  private readonly tmpKey = new FlowKey();

  // The output log (delivered after translation).
  private logN = 0;
  private logKind: number[] = [];
  private logPort: number[] = [];
  private logBuf: Uint8Array[] = [];
  private logOff: number[] = [];
  private logLen: number[] = [];
  private logTotal: number[] = [];
  private logMeta: (Omit<PacketIn, 'frame'> | null)[] = [];
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;

  private readonly encaps = new Map<string, TunnelEncap>();
  private readonly tunKey = new TunnelKey();
  private readonly optScratch = new Uint8Array(256);

  /** The translation cache (flowcache.ts). */
  readonly xcache = new MegaflowCache();
  /** Serve frames from the translation cache and fill it (the switch sets it per frame; never while tracing). */
  useCache = false;
  private xEpoch = -1;
  // Recording a translation for the cache (see flowcache.ts for why replaying it is exact).
  private rec = false;
  private recOk = false;
  /** The megaflow mask: every key bit the translation read or wrote. */
  private readonly wcm = new Uint32Array(KEY_WORDS);
  private readonly init = new FlowKey();
  private readonly recPrev = new Uint32Array(KEY_WORDS);
  private readonly recFlows: FlowEntry[] = [];
  private readonly recTables: FlowTable[] = [];
  private readonly recMatched: FlowTable[] = [];
  private readonly recCounted: Counted[] = [];
  private readonly recOps: Op[] = [];
  /** The events part of `CachedXlate.code`. */
  private readonly recEv: number[] = [];
  private recEvents = 0;
  private recVlanDep = false;

  constructor(private readonly sw: SwitchCore) {}

  /** Reset per-packet state and extract `frame` received on `inPort`. */
  begin(frame: Uint8Array, off: number, len: number, inPort: number): void {
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
    this.logN = 0;
    this.arenaUsed = 0;
    this.pkt.load(frame, off, len, this.key);
    this.dropped = false;
    this.recircDepth = 0;
    this.recircSeq = 0;
    this.curRecircs = this.rootRecircs;
    this.rootRecircs.length = 0;
    this.rxFrame = frame;
    this.rxOff = off;
    this.rxLen = len;
    this.rxKey.l2 = -1;
  }

  /** After `begin` (and any tunnel metadata set on `key`): snapshot the base and run the tables. */
  run(): void {
    this.base.copyFrom(this.key);
    if (this.useCache && this.trace === null && this.countStats) {
      const x = this.cached();
      if (x !== null) {
        this.replay(x);
        return;
      }
      this.startRecording();
      this.translate();
      this.finishRecording();
      return;
    }
    this.translate();
  }

  /** The cached translation for the current key, or null (empties the cache after a table change). */
  private cached(): CachedXlate | null {
    const epoch = this.sw.epoch.value;
    if (this.xEpoch !== epoch) {
      this.xcache.clear();
      this.xEpoch = epoch;
    }
    const x = this.xcache.lookup(this.key.w);
    if (x === null) return null;
    const c = x.code;
    const at = eventsAt(c);
    if (c[at + 1] !== 0) {
      const k = this.key;
      if (k.vlanTpid !== c[at + 2] || k.vlan2Tci !== c[at + 3] || k.vlan2Tpid !== c[at + 4]) return null;
    }
    return x;
  }

  /** Do what translating the frame did: bump the same counters, then run the outputs on the same keys. */
  private replay(x: CachedXlate): void {
    const len = this.frameLen;
    const flows = x.flows;
    for (let i = 0; i < flows.length; i++) {
      const f = flows[i]!;
      f.packets++;
      f.bytes += len;
    }
    const now = this.now;
    for (let i = 0; i < flows.length; i++) {
      const l = flows[i]!.life;
      if (l !== null && now > l.used) l.used = now;
    }
    const lookedUp = x.lookedUp;
    for (let i = 0; i < lookedUp.length; i++) lookedUp[i]!.lookups++;
    const matchedIn = x.matchedIn;
    for (let i = 0; i < matchedIn.length; i++) matchedIn[i]!.matched++;
    const counted = x.counted;
    for (let i = 0; i < counted.length; i++) {
      const c = counted[i]!;
      c.packets++;
      c.bytes += len;
    }
    const c = x.code;
    let p = eventsAt(c);
    const n = c[p]!;
    const vlanDep = c[p + 1] !== 0;
    p += 5;
    const w = this.key.w;
    for (let e = 0; e < n; e++) {
      const kind = c[p]!;
      const port = c[p + 1]!;
      const maxLen = c[p + 2]!;
      const bucket = c[p + 3] !== 0;
      const opIdx = c[p + 4]!;
      const end = p + 6 + 2 * c[p + 5]!;
      for (p += 6; p < end; p += 2) {
        const i = c[p]!;
        w[i] = w[i]! ^ c[p + 1]!;
      }
      if (vlanDep) {
        const k = this.key;
        k.vlanTpid = c[p]!;
        k.vlan2Tci = c[p + 1]!;
        k.vlan2Tpid = c[p + 2]!;
      }
      p += 3;
      if (kind === XEV_OUTPUT) this.output(port, maxLen, bucket);
      else this.outputReg(x.ops[opIdx]!, bucket);
    }
  }

  private startRecording(): void {
    this.rec = true;
    this.recOk = true;
    this.recVlanDep = false;
    this.wcm.fill(0);
    // OVS always unwildcards dl_type and (for IP) nw_frag; fragments are looked up with ports 0.
    this.mark(W.dl_type, 0xffffffff);
    this.mark(W.nw_frag, 0xffffffff);
    this.init.copyFrom(this.key);
    this.recPrev.set(this.key.w);
    this.recFlows.length = 0;
    this.recTables.length = 0;
    this.recMatched.length = 0;
    this.recCounted.length = 0;
    this.recOps.length = 0;
    this.recEv.length = 0;
    this.recEvents = 0;
  }

  private finishRecording(): void {
    this.rec = false;
    if (!this.recOk || this.error !== 0) return;
    const wcm = this.wcm;
    const ev = this.recEv;
    // Every bit that changed is a bit some action wrote, and is marked already; mark again defensively.
    for (let p = 0; p < ev.length; ) {
      const end = p + 6 + 2 * ev[p + 5]!;
      for (let q = p + 6; q < end; q += 2) wcm[ev[q]!] = (wcm[ev[q]!]! | ev[q + 1]!) >>> 0;
      p = end + 3;
    }
    const sub = this.xcache.subtable(wcm);
    const code: number[] = [];
    MegaflowCache.maskCode(sub, this.init.w, code);
    const k = this.init;
    code.push(this.recEvents, this.recVlanDep ? 1 : 0, k.vlanTpid, k.vlan2Tci, k.vlan2Tpid);
    for (const v of ev) code.push(v);
    const x = new CachedXlate(sub, Int32Array.from(code), this.recFlows.slice(), this.recTables.slice(), this.recMatched.slice(), this.recCounted.slice(), this.recOps.slice());
    this.xcache.insert(x, this.init.w);
  }

  /** While recording: an output-like event, with the key change since the previous one. */
  private recEvent(kind: number, port: number, maxLen: number, bucket: boolean, o: Op | null): void {
    const w = this.key.w;
    const prev = this.recPrev;
    const ev = this.recEv;
    let opIdx = -1;
    if (o !== null) {
      opIdx = this.recOps.length;
      this.recOps.push(o);
    }
    ev.push(kind, port | 0, maxLen | 0, bucket ? 1 : 0, opIdx, 0);
    const at = ev.length - 1;
    for (let i = 0; i < KEY_WORDS; i++) {
      const d = (w[i]! ^ prev[i]!) | 0;
      if (d !== 0) {
        ev.push(i, d);
        ev[at] = ev[at]! + 1;
        prev[i] = w[i]!;
      }
    }
    const k = this.key;
    ev.push(k.vlanTpid, k.vlan2Tci, k.vlan2Tpid);
    this.recEvents++;
  }

  /** While recording: the translation depends on (or writes) these bits of word `word`. */
  private mark(word: number, bits: number): void {
    const m = this.wcm;
    m[word] = (m[word]! | bits) >>> 0;
  }

  /** While recording: the bits a prerequisite check reads (`prereqOkKey`). */
  private markPrereq(p: Prereq): void {
    switch (p) {
      case Prereq.None:
      case Prereq.Ethernet:
        return;
      case Prereq.VlanVid:
        this.mark(W.vlan_tci, VLAN_CFI);
        return;
      case Prereq.Ct:
        this.mark(W.ct_state, 0xffffffff);
        return;
    }
    this.mark(W.dl_type, 0xffffffff);
    this.mark(W.nw_proto, 0xffffffff);
    this.mark(W.nw_frag, 0xffffffff);
    this.mark(W.tp_src, 0xffffffff);
    this.mark(W.tp_dst, 0xffffffff);
  }

  /** While recording: every word of a field. */
  private markField(f: MatchField): void {
    for (let i = 0; i < f.nwords; i++) this.mark(f.word + i, 0xffffffff);
    if (f.word >= W.tun_metadata0 && f.word < W.tun_metadata0 + 32) this.mark(W.tun_flags, 0xffffffff);
  }

  /** The translation depends on something the cache cannot key on: do not cache it. */
  private uncacheable(): void {
    this.recOk = false;
  }

  private translate(): void {
    const t0 = this.sw.tables[0]!;
    const entry = this.lookup(t0);
    this.reportTable(entry, 0);
    if (entry) this.hit(entry);
    this.rule = entry;
    this.doOps(entry ? entry.ops : NO_OPS, false);
    if (this.error === 0) this.executeActionSet();
    this.endPass();
  }

  /**
   * Run `ops` as a packet-out's action list (OVS `handle_packet_out`): no table lookup first, the
   * action set runs at the end, `output:CONTROLLER` has reason `packet_out`. Call after `begin`.
   */
  runActions(ops: readonly Op[]): void {
    this.base.copyFrom(this.key);
    this.packetOut = true;
    this.tableId = 0;
    try {
      this.doOps(ops, false);
      if (this.error === 0) this.executeActionSet();
      this.endPass();
    } finally {
      this.packetOut = false;
    }
  }

  /** A flow matched: counters, `used`, fin_timeout. */
  private hit(e: FlowEntry): void {
    if (!this.countStats) return;
    e.packets++;
    e.bytes += this.frameLen;
    const fin = e.finIdle !== 0 || e.finHard !== 0;
    if (this.rec) {
      this.recFlows.push(e);
      if (fin) this.uncacheable();
    }
    const l = e.life;
    if (l !== null && this.now > l.used) l.used = this.now;
    if (fin && (this.key.w[W.tcp_flags]! & 0x005) !== 0) this.sw.finTimeout(e);
  }

  /**
   * The end of a translation pass: learned flows become visible (OVS installs them during
   * translation with a later table version, so the pass itself does not see them), then the
   * clones `ct(table=N)` forked run, each in the log at its fork point (the datapath recirculates
   * inline). A failed translation executes nothing, so it forks nothing.
   */
  private endPass(): void {
    if (this.trace === null && this.countStats) this.sw.learnCommit(this.now);
    const list = this.curRecircs;
    if (this.error !== 0 || list.length === 0) {
      list.length = 0;
      return;
    }
    if (this.trace !== null) this.traceRecirculations(list);
    else this.drainRecircs(list);
  }

  private drainRecircs(list: Recirc[]): void {
    const reqs = list.slice();
    list.length = 0;
    let shift = 0;
    for (const r of reqs) {
      const start = this.logN;
      const children: Recirc[] = [];
      const ok = r.depth <= MAX_RECIRC_DEPTH && this.recircPass(r, children);
      if (ok && children.length) this.drainRecircs(children);
      if (!ok) this.logN = start;
      const n = this.logN - start;
      const at = r.logPos + shift;
      if (n > 0 && at < start) this.moveLog(start, n, at);
      shift += n;
    }
    this.error = 0;
  }

  /** Trace: run the recirculations breadth first (OVS's queue), each as its own section. */
  private traceRecirculations(list: Recirc[]): void {
    const queue = list.slice();
    list.length = 0;
    const mainTrace = this.trace;
    const mainDp = this.dp;
    const mainWc = this.wc;
    const mainKey = new FlowKey().copyFrom(this.key);
    const mainBase = new FlowKey().copyFrom(this.base);
    while (queue.length) {
      const r = queue.shift()!;
      if (this.traceRecircs.length > 4096) break;
      const nodes: TraceNode[] = [];
      const bridge: TraceNode = { type: 'bridge', text: `bridge("${this.sw.name}")`, children: [] };
      nodes.push(bridge);
      this.trace = bridge.children;
      this.dp = [];
      this.wc = new Uint32Array(KEY_WORDS);
      const children: Recirc[] = [];
      // ofproto/trace: the next --ct-next state (default trk|new) and the NAT simulation.
      const w = r.key.w;
      w[W.ct_state] = this.ctNext.length ? this.ctNext.shift()! : CS_TRK_NEW;
      r.ctState = w[W.ct_state]!;
      r.natLines = simulateNat(r.key, r.ct);
      const sec: TraceRecirc = {
        id: r.id, ctState: r.ctState, natLines: r.natLines, initial: new FlowKey().copyFrom(r.key), final: this.key, nodes,
        dp: this.dp, wc: this.wc, depth: r.depth,
      };
      this.recircPass(r, children);
      sec.final = new FlowKey().copyFrom(this.key);
      if (this.error === XlateError.RecursionTooDeep) sec.error = 'Recursion too deep';
      else if (this.error === XlateError.TooManyResubmits) sec.error = 'Too many resubmits';
      this.traceRecircs.push(sec);
      for (const c of children) queue.push(c);
    }
    this.trace = mainTrace;
    this.dp = mainDp;
    this.wc = mainWc;
    this.key.copyFrom(mainKey);
    this.base.copyFrom(mainBase);
    this.error = 0;
  }

  /** Run one forked clone from its table (OVS: a new upcall for the recirculated packet, thawed). */
  private recircPass(r: Recirc, children: Recirc[]): boolean {
    this.curRecircs = children;
    this.error = 0;
    this.depth = 0;
    this.resubmits = 0;
    this.rule = null;
    this.inActionSet = false;
    this.dropped = false;
    this.actionSet.length = 0;
    this.actionSetHasGroup = false;
    this.recircDepth = r.depth;
    const k = this.key;
    if (this.trace !== null) {
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
    if (this.trace !== null) {
      const thaw: TraceNode = { type: 'thaw', text: 'thaw', children: [{ type: 'thaw', text: `Resuming from table ${r.table}`, children: [] }] };
      if (r.actionSet.length) thaw.children.push({ type: 'thaw', text: `Restoring action set: ${r.actionSet.map((x) => x.text).join(',')}`, children: [] });
      this.trace.push(thaw);
    }
    if (r.actionSet.length) this.writeActions(r.actionSet);
    this.tableId = r.table;
    const entry = this.lookup(this.sw.tables[r.table]!);
    this.reportTable(entry, r.table);
    if (entry) this.hit(entry);
    this.rule = entry;
    this.doOps(entry ? entry.ops : NO_OPS, false);
    if (this.error === 0) this.executeActionSet();
    if (this.trace === null && this.countStats) this.sw.learnCommit(this.now);
    return this.error === 0;
  }

  /** Move log entries [from, from+n) to position `to` (< from), shifting [to, from) up. */
  private moveLog(from: number, n: number, to: number): void {
    const rot = <T>(a: T[]): void => {
      const seg = a.slice(from, from + n);
      for (let i = from - 1; i >= to; i--) a[i + n] = a[i]!;
      for (let i = 0; i < n; i++) a[to + i] = seg[i]!;
    };
    rot(this.logKind);
    rot(this.logPort);
    rot(this.logBuf);
    rot(this.logOff);
    rot(this.logLen);
    rot(this.logTotal);
    rot(this.logMeta);
  }

  /** Deliver the logged outputs and packet-ins (nothing when translation failed). */
  deliver(onPacketIn: ((pi: PacketIn) => void) | undefined, defaultSink: ((port: number, frame: Uint8Array) => void) | undefined): void {
    if (this.error !== 0) return;
    for (let i = 0; i < this.logN; i++) {
      const buf = this.logBuf[i]!;
      const off = this.logOff[i]!;
      const len = this.logLen[i]!;
      const view = off === 0 && len === buf.length ? buf : this.viewOf(i, buf, off, len);
      if (this.logKind[i] === KIND_PIN) {
        if (onPacketIn) onPacketIn({ ...this.logMeta[i]!, frame: view });
        continue;
      }
      const port = this.sw.ports.get(this.logPort[i]!);
      if (!port) continue;
      if (!port.up) {
        port.stats.txDropped++;
        continue;
      }
      port.stats.txPackets++;
      port.stats.txBytes += len;
      const sink = port.sink ?? defaultSink;
      if (sink) sink(port.number, view);
    }
  }

  private readonly views: Uint8Array[] = [];
  private readonly viewBuf: Uint8Array[] = [];
  private readonly viewOff: number[] = [];
  private readonly viewLen: number[] = [];

  /** A view of `buf[off, off+len)`, reusing the one made for the same log slot when it is the same range. */
  private viewOf(i: number, buf: Uint8Array, off: number, len: number): Uint8Array {
    if (i < this.views.length && this.viewBuf[i] === buf && this.viewOff[i] === off && this.viewLen[i] === len) return this.views[i]!;
    const nv = buf.subarray(off, off + len);
    if (i <= this.views.length) {
      this.views[i] = nv;
      this.viewBuf[i] = buf;
      this.viewOff[i] = off;
      this.viewLen[i] = len;
    }
    return nv;
  }

  /** The logged frames, copied (for traces). */
  emitted(): EmittedFrame[] {
    const out: EmittedFrame[] = [];
    for (let i = 0; i < this.logN; i++) {
      const bytes = this.logBuf[i]!.slice(this.logOff[i]!, this.logOff[i]! + this.logLen[i]!);
      if (this.logKind[i] === KIND_PIN) out.push({ kind: 'packet_in', port: OFPP.CONTROLLER, bytes, packetIn: this.logMeta[i]! });
      else out.push({ kind: 'output', port: this.logPort[i]!, bytes });
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Trace helpers

  private report(type: TraceNodeType, text: string): TraceNode[] | null {
    const t = this.trace;
    if (t === null) return null;
    const node: TraceNode = { type, text, children: [] };
    t.push(node);
    return node.children;
  }

  private reportTable(entry: FlowEntry | null, tableId: number): void {
    const t = this.trace;
    if (t === null) return;
    const pad = tableId < 10 ? ` ${tableId}` : String(tableId);
    let text: string;
    if (!entry) text = `${pad}. No match.`;
    else {
      const f = entry.flow;
      const m = formatFlow({ ...f, priority: 32768, instructions: { apply: [], clearActions: false } }).replace(/ ?actions=drop$/, '');
      const match = m.replace(/^(table=\d+,?)?(cookie=0x[0-9a-f]+,?)?/, '').replace(/^,/, '');
      text = `${pad}. ${match ? `${match}, ` : ''}priority ${f.priority}${f.cookie ? `, cookie 0x${f.cookie.toString(16)}` : ''}`;
    }
    const node: TraceNode = { type: 'table', text, children: [], tableId, ...(entry ? { flow: entry.flow } : {}) };
    t.push(node);
    this.trace = node.children;
  }

  // -------------------------------------------------------------------------------------------
  // Tables

  private lookup(t: FlowTable): FlowEntry | null {
    if (this.countStats) t.lookups++;
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
    const r = t.cls.lookup(w);
    let e = r === null ? null : r.payload;
    const wc = this.wc;
    if (wc !== null) {
      const m = t.cls.consultedMask(w);
      if (m) for (let i = 0; i < wc.length; i++) wc[i] = (wc[i]! | m[i]!) >>> 0;
    }
    const hardPri = r === null ? -1 : r.priority;
    if (t.conj.maxPriority > hardPri) {
      // Conjunctive match (classifier.c): soft flows above the hard match may select a conj_id flow.
      if (this.rec) this.uncacheable();
      if (wc !== null) wc[W.conj_id] = 0xffffffff;
      const cls = t.cls;
      const got = t.conj.resolve(w, hardPri, (id: number): FlowEntry | null => {
        const save = w[W.conj_id]!;
        w[W.conj_id] = id;
        const x = cls.lookup(w);
        w[W.conj_id] = save;
        return x === null ? null : x.payload;
      });
      if (got !== null) e = got;
    }
    if (frag) {
      w[W.tp_src] = sp;
      w[W.tp_dst] = dp;
    }
    if (this.rec) {
      t.cls.orConsulted(this.wcm);
      this.recTables.push(t);
      if (e !== null) this.recMatched.push(t);
    }
    if (e === null) return null;
    if (this.countStats) t.matched++;
    return e;
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

  private tableAction(inPort: number, tableId: number): void {
    if (!this.resourceCheck()) return;
    const oldTable = this.tableId;
    this.tableId = tableId;
    const w = this.key.w;
    const oldIn = w[W.in_port]!;
    w[W.in_port] = inPort;
    const entry = this.lookup(this.sw.tables[tableId]!);
    w[W.in_port] = oldIn;
    const oldTrace = this.trace;
    this.reportTable(entry, tableId);
    if (entry) this.hit(entry);
    this.resubmits++;
    const deepens = tableId <= oldTable ? 1 : 0;
    this.depth += deepens;
    const oldRule = this.rule;
    this.rule = entry;
    this.doOps(entry ? entry.ops : NO_OPS, false);
    this.rule = oldRule;
    this.depth -= deepens;
    this.trace = oldTrace;
    this.tableId = oldTable;
  }

  private executeActionSet(): void {
    const list = actionSetOrder(this.actionSet, this.setOrder);
    this.actionSet.length = 0;
    if (list.length === 0) return;
    this.inActionSet = true;
    const oldTrace = this.trace;
    if (this.trace) {
      const node: TraceNode = { type: 'table', text: '--. Executing action set:', children: [], tableId: -1 };
      this.trace.push(node);
      this.trace = node.children;
    }
    // `list` is the reusable array; copy the references before running (a resubmit may reuse it).
    const n = list.length;
    const ops = n <= 8 ? this.copySmall(list) : list.slice();
    this.doOps(ops, false);
    this.trace = oldTrace;
    this.inActionSet = false;
  }

  private readonly small: Op[] = [];
  private copySmall(list: Op[]): Op[] {
    const s = this.small;
    s.length = 0;
    for (const x of list) s.push(x);
    return s;
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  private doOps(ops: readonly Op[], bucket: boolean): void {
    if (ops.length === 0) {
      this.report('action', 'drop');
      return;
    }
    for (let i = 0; i < ops.length; i++) {
      if (this.error !== 0) break;
      const o = ops[i]!;
      if (this.trace) this.report('action', o.text);
      switch (o.k) {
        case K.OUTPUT:
          if (this.rec) {
            if (o.n === OFPP.TABLE || o.n === OFPP.CONTROLLER) this.uncacheable();
            else this.recEvent(XEV_OUTPUT, o.n, o.n2, bucket, null);
          }
          this.output(o.n, o.n2, bucket);
          break;
        case K.OUTPUT_REG:
          if (this.rec) {
            const src = (o.a as Extract<Action, { type: 'output_reg' }>).src;
            this.markField(src.field);
            const port = readSubfield(this.key.w, src);
            if (port === OFPP.TABLE || port === OFPP.CONTROLLER) this.uncacheable();
            else this.recEvent(XEV_OUTPUT_REG, 0, o.n2, bucket, o);
          }
          this.outputReg(o, bucket);
          break;
        case K.CONTROLLER: {
          const a = o.a as Extract<Action, { type: 'controller' }>;
          if ((a.reason === undefined || a.reason === 'action') && !a.id && !a.userdata && !a.pause && a.meterId === undefined) {
            // OVS keeps this as output:CONTROLLER: the reason comes from the context.
            this.output(OFPP.CONTROLLER, o.n2, bucket);
          } else this.controller(o.n2, a.reason !== undefined ? (REASONS[a.reason] ?? 'action') : 'action', o.n, a.userdata);
          break;
        }
        case K.SET_FIELD:
          this.setField(o);
          break;
        case K.MOVE:
          this.move(o.a as Extract<Action, { type: 'move' }>);
          break;
        case K.DEC_TTL:
          if (this.decTtl(o.a as Extract<Action, { type: 'dec_ttl' }>)) return;
          break;
        case K.MOD_NW_TTL: {
          if (this.rec) {
            this.mark(W.dl_type, 0xffffffff);
            this.mark(W.nw_ttl, 0xffffffff);
          }
          const dl = this.key.w[W.dl_type];
          if (dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6) this.key.w[W.nw_ttl] = o.n;
          break;
        }
        case K.PUSH_VLAN: {
          if (this.rec) {
            this.mark(W.vlan_tci, 0xffffffff);
            this.recVlanDep = true;
          }
          const k = this.key;
          k.vlan2Tci = k.w[W.vlan_tci]!;
          k.vlan2Tpid = k.vlanTpid;
          k.w[W.vlan_tci] = VLAN_CFI;
          k.vlanTpid = o.n;
          break;
        }
        case K.POP_VLAN: {
          if (this.rec) {
            this.mark(W.vlan_tci, 0xffffffff);
            this.recVlanDep = true;
          }
          const k = this.key;
          if ((k.w[W.vlan_tci]! & VLAN_CFI) !== 0) {
            k.w[W.vlan_tci] = k.vlan2Tci;
            k.vlanTpid = k.vlan2Tpid;
            k.vlan2Tci = 0;
            k.vlan2Tpid = 0;
          }
          break;
        }
        case K.RESUBMIT: {
          const a = o.a as Extract<Action, { type: 'resubmit' }>;
          const inPort = o.n === OFPP.IN_PORT ? this.key.w[W.in_port]! : o.n;
          const table = o.n2 === 255 ? this.tableId : o.n2;
          if (a.ct) {
            if (this.rec) this.uncacheable();
            const w = this.key.w;
            const dl = w[W.dl_type];
            if (w[W.ct_nw_proto] === 0 || (dl !== ETH_TYPE_IP && dl !== ETH_TYPE_IPV6)) {
              this.report('error', 'resubmit(ct) with non-tracked or non-IP packet!');
              break;
            }
            swapCtTuple(w);
            this.tableAction(inPort, table);
            swapCtTuple(w);
          } else this.tableAction(inPort, table);
          break;
        }
        case K.GROUP:
          if (this.groupAction(o.n)) return;
          break;
        case K.NOTE:
          break;
        case K.METER:
          this.meter(o.n);
          break;
        case K.CONJUNCTION:
          if (this.rec) this.uncacheable();
          this.report('error', 'executing no-op conjunction action');
          break;
        case K.CT:
          this.ct(o);
          break;
        case K.CT_CLEAR:
          if (this.rec) this.uncacheable();
          clearCt(this.key.w);
          if (this.dp) this.dp.push('ct_clear');
          break;
        case K.LEARN:
          this.learn(o);
          break;
        case K.CLEAR_ACTIONS:
          if (this.rec) this.mark(W.actset_output, 0xffffffff);
          this.reportActionSet('was');
          this.actionSet.length = 0;
          this.key.w[W.actset_output] = OFPP_UNSET;
          this.actionSetHasGroup = false;
          break;
        case K.WRITE_ACTIONS:
          if (this.rec) this.mark(W.actset_output, 0xffffffff);
          this.writeActions(o.ops);
          this.reportActionSet('is');
          break;
        case K.WRITE_METADATA: {
          if (this.rec) {
            this.mark(W.metadata, o.mw[0]!);
            this.mark(W.metadata + 1, o.mw[1]!);
          }
          const w = this.key.w;
          w[W.metadata] = ((w[W.metadata]! & ~o.mw[0]!) | (o.vw[0]! & o.mw[0]!)) >>> 0;
          w[W.metadata + 1] = ((w[W.metadata + 1]! & ~o.mw[1]!) | (o.vw[1]! & o.mw[1]!)) >>> 0;
          break;
        }
        case K.GOTO_TABLE:
          this.tableAction(this.key.w[W.in_port]!, o.n);
          break;
      }
    }
  }

  private outputReg(o: Op, bucket: boolean): void {
    const a = o.a as Extract<Action, { type: 'output_reg' }>;
    const port = readSubfield(this.key.w, a.src);
    if (port <= 0xffff) {
      this.report('detail', `output port is ${port}`);
      this.output(port, o.n2, bucket);
    } else this.report('warn', `output port ${port} is out of range`);
  }

  private reportActionSet(verb: string): void {
    if (!this.trace) return;
    const list = actionSetOrder(this.actionSet, []);
    if (list.length) this.report('detail', `action set ${verb}: ${list.map((x) => x.text).join(',')}`);
    else this.report('detail', `action set ${verb} empty`);
  }

  private writeActions(ops: readonly Op[]): void {
    if (!this.actionSetHasGroup) {
      for (const o of ops) {
        if (o.k === K.OUTPUT) this.key.w[W.actset_output] = o.n;
        else if (o.k === K.GROUP) {
          this.key.w[W.actset_output] = OFPP_UNSET;
          this.actionSetHasGroup = true;
          break;
        }
      }
    }
    for (const o of ops) this.actionSet.push(o);
  }

  private setField(o: Op): void {
    const f = o.field!;
    const w = this.key.w;
    if (this.rec) this.markSetField(o, f);
    if (!prereqOkKey(f.prereq, w)) {
      this.report('warn', `unmet prerequisites for ${f.name}, set_field ignored`);
      return;
    }
    if (f.nwords === 1) {
      const cur = (w[f.word]! >>> f.shift) & f.vmask;
      const m = o.mw[0]!;
      const nv = ((cur & ~m) | (o.vw[0]! & m)) >>> 0;
      setOne(w, f, nv);
      if (f.word === W.vlan_tci) this.fixVlanTpid();
    } else {
      for (let i = 0; i < f.nwords; i++) w[f.word + i] = ((w[f.word + i]! & ~o.mw[i]!) | (o.vw[i]! & o.mw[i]!)) >>> 0;
      markTunMeta(w, f);
    }
  }

  /**
   * OVS `flow_fix_vlan_tpid()`, run after any write to vlan_tci/vlan_vid/vlan_pcp: a tag created
   * by the write (CFI set, no TPID yet, e.g. after the action set's pop_vlan) gets TPID 0x8100.
   */
  private fixVlanTpid(): void {
    const k = this.key;
    if (k.vlanTpid === 0 && (k.w[W.vlan_tci]! & VLAN_CFI) !== 0) k.vlanTpid = 0x8100;
  }

  private markSetField(o: Op, f: MatchField): void {
    this.markPrereq(f.prereq);
    if (f.nwords === 1) this.mark(f.word, ((o.mw[0]! << f.shift) | f.forceBits) >>> 0);
    else for (let i = 0; i < f.nwords; i++) this.mark(f.word + i, o.mw[i]!);
    if (f.word >= W.tun_metadata0 && f.word < W.tun_metadata0 + 32) this.mark(W.tun_flags, 0xffffffff);
  }

  private move(a: Extract<Action, { type: 'move' }>): void {
    const w = this.key.w;
    if (this.rec) {
      this.markPrereq(a.dst.field.prereq);
      this.markPrereq(a.src.field.prereq);
      this.markField(a.src.field);
      this.markField(a.dst.field);
      if (a.dst.field.forceBits) this.mark(a.dst.field.word, a.dst.field.forceBits);
    }
    if (!prereqOkKey(a.dst.field.prereq, w) || !prereqOkKey(a.src.field.prereq, w)) return;
    const df = a.dst.field;
    // Copy via a scratch key so overlapping source and destination read the old bits.
    const tmp = this.tmpKey.w;
    tmp.set(w);
    for (let i = 0; i < a.src.nBits; i++) putBit(w, df, a.dst.ofs + i, getBit(tmp, a.src.field, a.src.ofs + i));
    if (df.nwords === 1) setOne(w, df, (w[df.word]! >>> df.shift) & df.vmask);
    else markTunMeta(w, df);
    if (df.word === W.vlan_tci) this.fixVlanTpid();
    if (this.trace) {
      const d = a.dst;
      let v: string;
      if (d.ofs === 0 && d.nBits >= df.bits) v = formatFieldValue(df, getFieldBig(w, df));
      else {
        let x = 0n;
        for (let i = d.nBits - 1; i >= 0; i--) x = (x << 1n) | BigInt(getBit(w, df, d.ofs + i));
        v = `0x${x.toString(16)}`;
      }
      const name = df.nxm?.name ?? df.oxm?.name ?? df.name;
      const sub = d.ofs === 0 && d.nBits === df.bits ? `${name}[]` : d.nBits === 1 ? `${name}[${d.ofs}]` : `${name}[${d.ofs}..${d.ofs + d.nBits - 1}]`;
      this.report('detail', `${sub} is now ${v}`);
    }
  }

  private decTtl(a: Extract<Action, { type: 'dec_ttl' }>): boolean {
    const w = this.key.w;
    if (this.rec) {
      this.mark(W.dl_type, 0xffffffff);
      this.mark(W.nw_ttl, 0xffffffff);
    }
    const dl = w[W.dl_type];
    if (dl !== ETH_TYPE_IP && dl !== ETH_TYPE_IPV6) return false;
    if (w[W.nw_ttl]! > 1) {
      w[W.nw_ttl] = w[W.nw_ttl]! - 1;
      return false;
    }
    const ids = a.ids ?? DEFAULT_IDS;
    for (const id of ids) this.controller(65535, 'invalid_ttl', id, undefined);
    this.report('warn', `IPv${dl === ETH_TYPE_IP ? 4 : 6} decrement TTL exception`);
    return true;
  }

  private groupAction(id: number): boolean {
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
    if (this.rec) this.uncacheable(); // port liveness and the hash
    let i: number;
    if (g.type === 'ff') i = firstLiveBucket('ff', g.buckets, this.live, 0);
    else {
      const k = this.key;
      i = g.select!.pick(k.w, this.live, k.vlan2Tci, g.select!.method === 'dp_hash' && g.select!.hashAlg === 0 ? this.receivedKey() : k.w);
    }
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
    if (!this.countStats) return;
    g.packets++;
    g.bytes += this.frameLen;
    if (this.rec) this.recCounted.push(g);
  }

  /** The flow of the packet as received (dp_hash's RSS input), extracted on demand. */
  private receivedKey(): Uint32Array {
    const k = this.rxKey;
    if (k.l2 < 0) extractFlowKey(this.rxFrame, this.rxOff, this.rxLen, this.base.w[W.in_port]!, k, this.sw.vlanLimit);
    return k.w;
  }

  private bucket(b: BucketEntry): void {
    if (this.countStats) {
      b.packets++;
      b.bytes += this.frameLen;
      if (this.rec) this.recCounted.push(b);
    }
    const oldTrace = this.trace;
    if (this.trace) {
      const node: TraceNode = { type: 'bucket', text: `bucket ${b.id}`, children: [] };
      this.trace.push(node);
      this.trace = node.children;
    }
    const lvl = this.depth;
    while (this.saved.length <= lvl) this.saved.push(new FlowKey());
    const save = this.saved[lvl]!.copyFrom(this.key);
    this.depth++;
    this.doOps(b.ops, true);
    this.depth--;
    this.key.copyFrom(save);
    this.trace = oldTrace;
  }

  // -------------------------------------------------------------------------------------------
  // Stateful actions

  /**
   * `ct(...)` (OVS `compose_conntrack_action`): pending rewrites are committed to the bytes, the
   * packet goes through the tracker (its NAT rewrites the bytes), `table=N` forks a clone that
   * resumes in table N with the ct fields set when this pass ends, and this packet goes on with
   * the rest of the actions untracked (ct fields cleared).
   */
  private ct(o: Op): void {
    const c = o.ext as CtPrep;
    if (this.rec) this.uncacheable();
    const k = this.key;
    const w = k.w;
    const zone = c.zoneSrc !== null ? readSubfield(w, c.zoneSrc) & 0xffff : c.zone;
    commitKey(k, this.base, this.pkt, this.dp);
    if (this.trace !== null) {
      for (const t of c.nested) this.report('action', t);
      if (c.alg) this.report('warn', `alg=${c.alg}: application layer gateways are not implemented; tracked without a helper`);
    }
    if (this.dp) this.dp.push(ctDpText(c, zone));
    if (this.trace === null) {
      if (this.dropped) {
        clearCt(w);
        return;
      }
      const p = this.pkt;
      c.act.zone = zone;
      const l3 = k.l3, l4 = k.l4, end = k.end;
      k.l3 = p.l3;
      k.l4 = p.l4;
      k.end = p.end;
      const tracker = this.sw.conntrack;
      tracker.execute(k, p.buf, c.act);
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
    } else {
      // ofproto/trace: the clone gets the zone and the exec'd mark/label (ct_state is set per section).
      w[W.ct_zone] = zone;
      const m = c.act.mark;
      if (m) w[W.ct_mark] = ((w[W.ct_mark]! & ~m.mask) | m.value) >>> 0;
      const l = c.act.label;
      if (l) for (let i = 0; i < 4; i++) w[W.ct_label + i] = ((w[W.ct_label + i]! & ~l.mask[i]!) | l.value[i]!) >>> 0;
    }
    if (c.table >= 0) this.fork(c, zone);
    clearCt(w);
    this.report('detail', 'Sets the packet to an untracked state, and clears all the conntrack fields.');
  }

  private fork(c: CtPrep, zone: number): void {
    const id = ++this.recircSeq;
    if (this.dp) this.dp.push(`recirc(0x${id.toString(16)})`);
    this.report('detail', `A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table ${c.table}.`);
    const p = this.pkt;
    if (p.owned) p.frozen = true; // the clone keeps these bytes; our next edit copies first
    this.curRecircs.push({
      id, ct: c, table: c.table, logPos: this.logN, key: new FlowKey().copyFrom(this.key), buf: p.buf, off: p.off, len: p.len,
      l3: p.l3, l4: p.l4, end: p.end, actionSet: this.actionSet.slice(), depth: this.recircDepth + 1, ctState: 0, natLines: null,
    });
    void zone;
  }

  /** `meter:N` (dpif-netdev `dp_netdev_run_meter`): the datapath drops the packet here when a drop band fires. */
  private meter(id: number): void {
    if (this.rec) this.uncacheable();
    if (this.dp) this.dp.push(`meter(${id})`);
    if (this.trace !== null || this.dropped) return;
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

  /** `learn(...)` (lib/learn.c): the flow is staged and becomes visible when this pass ends. */
  private learn(o: Op): void {
    if (this.rec) this.uncacheable();
    const a = o.ext as LearnActionExt;
    const lf = learnedFlow(a, this.key.w);
    if (this.trace !== null) {
      const f = lf.flow;
      const m = formatMatch(f.match, 32768);
      let t = `table=${f.table} ${m ? `${m} ` : ''}priority=${f.priority}`;
      if (f.cookie) t += ` cookie=0x${f.cookie.toString(16)}`;
      if (f.idleTimeout) t += ` idle=${f.idleTimeout}`;
      if (f.hardTimeout) t += ` hard=${f.hardTimeout}`;
      if (f.flags.includes('send_flow_rem')) t += ' send_flow_rem';
      t += ` actions=${f.instructions.apply.map(formatAction).join(',') || 'drop'}`;
      this.report('detail', t);
    }
    const ok = this.sw.learnStage(lf, a, this.now, this.trace !== null || !this.countStats);
    if (!ok) this.report('detail', 'Limit exceeded, learn failed');
    writeLearnResult(a, this.key.w, ok);
  }

  /** `output:NORMAL` (xlate_normal): MAC learning (not while tracing) and L2 forwarding with VLAN modes. */
  private normalAction(): void {
    if (this.rec) this.uncacheable();
    const k = this.key;
    const w = k.w;
    const tci = w[W.vlan_tci]!;
    const tagged = (tci & VLAN_CFI) !== 0;
    const vid = tagged ? tci & 0xfff : 0;
    const pcp = tagged ? (tci >>> 13) & 7 : 0;
    const src = w[W.dl_src]! * 0x1_0000_0000 + w[W.dl_src + 1]!;
    const dst = w[W.dl_dst]! * 0x1_0000_0000 + w[W.dl_dst + 1]!;
    const r = this.sw.normal.normalForward(w[W.in_port]!, vid, src, dst, this.now, pcp, this.trace === null && this.countStats);
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

  private output(port: number, maxLen: number, bucket: boolean): void {
    const inPort = this.key.w[W.in_port]!;
    switch (port) {
      case OFPP.IN_PORT:
        this.composeOutput(inPort);
        break;
      case OFPP.TABLE:
        this.tableAction(inPort, 0);
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

  private composeOutput(n: number): void {
    const port = this.sw.ports.get(n);
    if (!port) {
      this.report('warn', 'Nonexistent output port');
      return;
    }
    if (port.noForward) {
      this.report('detail', 'OFPPC_NO_FWD set, skipping output');
      return;
    }
    if (port.kind === 'tunnel' && port.tunnel) {
      this.tunnelOutput(port);
      return;
    }
    commitKey(this.key, this.base, this.pkt, this.dp);
    if (this.dp) this.dp.push(n === OFPP.LOCAL ? 'LOCAL' : String(n));
    const p = this.pkt;
    // The log keeps a reference; a later edit copies first (PacketState.frozen).
    if (p.owned) p.frozen = true;
    this.log(KIND_OUT, n, p.buf, p.off, p.len, false, null, p.len);
  }

  private tunnelOutput(port: Port): void {
    const cfg = port.tunnel!;
    const w = this.key.w;
    const dst = w[W.tun_dst]!;
    if (dst === 0) {
      this.report('warn', 'Tunneling decided against output');
      return;
    }
    const src = w[W.tun_src]! || cfg.localIp;
    this.report('detail', 'output to native tunnel');
    commitKey(this.key, this.base, this.pkt, this.dp);
    const keyStr = `${port.number}/${src}/${dst}`;
    let enc = this.encaps.get(keyStr);
    if (!enc) {
      const kind = cfg.kind ?? TunnelKind.Geneve;
      enc = new TunnelEncap({
        kind, ethSrc: cfg.ethSrc, ethDst: typeof cfg.ethDst === 'function' ? cfg.ethDst(dst) : cfg.ethDst,
        src, dst, ttl: cfg.ttl ?? 64, udpChecksum: cfg.udpChecksum ?? false,
        ...(cfg.dstPort !== undefined ? { dstPort: cfg.dstPort } : {}),
      });
      this.encaps.set(keyStr, enc);
    }
    const tk = this.tunKey.clear();
    tk.vni = w[W.tun_id + 1]! & 0xffffff;
    let optLen = 0;
    if (enc.kind === TunnelKind.Geneve) optLen = this.buildOptions(w);
    if (optLen > 0) tk.setOptions(this.optScratch, 0, optLen);
    const p = this.pkt;
    p.own();
    enc.encap(tk, p.buf, p.off, p.len);
    if (this.dp) {
      const hx = (v: number): string => `0x${v.toString(16)}`;
      this.dp.push(`tnl_push(tnl_port(${port.number}),header(${enc.kind === TunnelKind.Geneve ? 'geneve' : 'vxlan'}(vni=${hx(tk.vni)}),dst=${formatIpv4(dst)},src=${formatIpv4(src)}),out_port(${port.number}))`);
    }
    this.log(KIND_OUT, port.number, enc.buf, enc.off, enc.len, true, null, enc.len);
  }

  /** Geneve options from the present `tun_metadata` fields, in TLV-map index order (as OVS). */
  private buildOptions(w: Uint32Array): number {
    const present = (w[W.tun_flags]! >>> TUN_META_PRESENT_SHIFT) & 0xff;
    if (present === 0) return 0;
    const b = this.optScratch;
    let o = 0;
    for (let i = 0; i < 8; i++) {
      if ((present & (1 << i)) === 0) continue;
      const m = this.sw.tlvMap.find((x) => x.index === i);
      if (!m) continue;
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

  private controller(maxLen: number, reason: PacketInReason, id: number, userdata: Uint8Array | undefined): void {
    if (this.rec) this.uncacheable();
    commitKey(this.key, this.base, this.pkt, this.dp);
    const p = this.pkt;
    if (this.dp) {
      const r = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'].indexOf(reason);
      this.dp.push(`userspace(controller(reason=${r},controller_id=${id},max_len=${maxLen}))`);
    }
    const len = maxLen < p.len ? maxLen : p.len;
    if (this.dropped) return;
    const meta: Omit<PacketIn, 'frame'> = {
      reason, tableId: this.tableId, cookie: this.rule ? this.rule.flow.cookie : 0n, inPort: this.key.w[W.in_port]!,
      controllerId: id, totalLen: p.len, maxLen, bufferId: 0xffffffff, match: packetInMatch(this.key.w), ...(userdata ? { userdata } : {}),
    };
    if (p.owned) p.frozen = true;
    this.log(KIND_PIN, OFPP.CONTROLLER, p.buf, p.off, len, false, meta, p.len);
  }

  private log(kind: number, port: number, buf: Uint8Array, off: number, len: number, copy: boolean, meta: Omit<PacketIn, 'frame'> | null, total: number): void {
    if (this.dropped) return; // a meter dropped the packet earlier in the datapath actions
    const i = this.logN++;
    if (copy) {
      if (this.arenaUsed + len > this.arena.length) {
        // Grow: earlier entries keep referencing the old arena, which stays valid.
        this.arena = new Uint8Array(Math.max(this.arena.length * 2, len * 2));
        this.arenaUsed = 0;
      }
      const a = this.arena;
      const at = this.arenaUsed;
      for (let j = 0; j < len; j++) a[at + j] = buf[off + j]!;
      this.arenaUsed += len;
      buf = a;
      off = at;
    }
    this.logKind[i] = kind;
    this.logPort[i] = port;
    this.logBuf[i] = buf;
    this.logOff[i] = off;
    this.logLen[i] = len;
    this.logTotal[i] = total;
    this.logMeta[i] = meta;
  }
}

const DEFAULT_IDS = [0];
/** OFPG_ANY: no watch group. */
export const OFPG_ANY = 0xffffffff;

/** OFPP_ANY: no watch port. */
export const OFPP_ANY = 0xffff;

/** Write a single-word field's value with OVS's setter side effects (VLAN CFI for PCP/legacy VID). */
function setOne(w: Uint32Array, f: MatchField, v: number): void {
  const m = (f.vmask << f.shift) >>> 0;
  w[f.word] = ((w[f.word]! & ~m) | ((v << f.shift) & m)) >>> 0;
  if (f.forceBits) w[f.word] = (w[f.word]! | f.forceBits) >>> 0;
}

function markTunMeta(w: Uint32Array, f: MatchField): void {
  if (f.word >= W.tun_metadata0 && f.word < W.tun_metadata0 + 32) {
    const i = (f.word - W.tun_metadata0) >> 2;
    w[W.tun_flags] = (w[W.tun_flags]! | (1 << (TUN_META_PRESENT_SHIFT + i))) >>> 0;
  }
}

/** Bit `j` (0 = least significant) of a field's value. */
function getBit(w: Uint32Array, f: MatchField, j: number): number {
  if (f.nwords === 1) return (w[f.word]! >>> (f.shift + j)) & 1;
  const wi = f.word + f.nwords - 1 - (j >>> 5);
  return (w[wi]! >>> (j & 31)) & 1;
}

function putBit(w: Uint32Array, f: MatchField, j: number, bit: number): void {
  let wi: number;
  let b: number;
  if (f.nwords === 1) {
    wi = f.word;
    b = f.shift + j;
  } else {
    wi = f.word + f.nwords - 1 - (j >>> 5);
    b = j & 31;
  }
  w[wi] = bit ? (w[wi]! | (1 << b)) >>> 0 : (w[wi]! & ~(1 << b)) >>> 0;
}

/** A subfield's value (up to 53 bits exactly). */
export function readSubfield(w: Uint32Array, s: Subfield): number {
  let v = 0;
  for (let i = s.nBits - 1; i >= 0; i--) v = v * 2 + getBit(w, s.field, s.ofs + i);
  return v;
}

function swapCtTuple(w: Uint32Array): void {
  const sw = (a: number, b: number, n: number): void => {
    for (let i = 0; i < n; i++) {
      const t = w[a + i]!;
      w[a + i] = w[b + i]!;
      w[b + i] = t;
    }
  };
  sw(W.nw_proto, W.ct_nw_proto, 1);
  if (w[W.dl_type] === ETH_TYPE_IP) {
    sw(W.nw_src, W.ct_nw_src, 1);
    sw(W.nw_dst, W.ct_nw_dst, 1);
  } else {
    sw(W.ipv6_src, W.ct_ipv6_src, 4);
    sw(W.ipv6_dst, W.ct_ipv6_dst, 4);
  }
  sw(W.tp_src, W.ct_tp_src, 1);
  sw(W.tp_dst, W.ct_tp_dst, 1);
}


const EMPTY_BYTES = new Uint8Array(0);

/** OVS `flow_clear_conntrack`: ct_state, zone, mark, label and the original-tuple fields to 0. */
function clearCt(w: Uint32Array): void {
  w.fill(0, W.ct_state, W.ct_tp_dst + 1);
}

function fmtIpFlow(w: Uint32Array, v6: boolean): string {
  if (!v6) return `nw_src=${formatIpv4(w[W.nw_src]!)},tp_src=${w[W.tp_src]},nw_dst=${formatIpv4(w[W.nw_dst]!)},tp_dst=${w[W.tp_dst]}`;
  const f6 = (o: number): string => `[${Array.from({ length: 8 }, (_, i) => ((w[o + (i >> 1)]! >>> (i & 1 ? 0 : 16)) & 0xffff).toString(16)).join(':')}]`;
  return `ipv6_src=${f6(W.ipv6_src)},tp_src=${w[W.tp_src]},ipv6_dst=${f6(W.ipv6_dst)},tp_dst=${w[W.tp_dst]}`;
}

/**
 * ofproto/trace's NAT simulation for a recirculation (`ofproto_trace_recirc_node`): the flow takes
 * the first address (and first port) of the range. Returns the lines it prints, or null.
 */
function simulateNat(k: FlowKey, c: CtPrep): string[] | null {
  const n = c.nat;
  if (!n) return null;
  const w = k.w;
  const v6 = n.addrMin !== undefined ? n.addrMin.startsWith('[') : w[W.dl_type] === ETH_TYPE_IPV6;
  const lines = ['Replacing src/dst IP/ports to simulate NAT:', ` Initial flow: ${fmtIpFlow(w, v6)}`];
  if (n.kind && n.addrMin !== undefined && c.act.nat) {
    const min = c.act.nat.minAddr;
    if (n.kind === 'src') {
      if (v6) for (let i = 0; i < 4; i++) w[W.ipv6_src + i] = min[i]!;
      else w[W.nw_src] = min[0]!;
      if (n.portMin) w[W.tp_src] = n.portMin;
    } else {
      if (v6) for (let i = 0; i < 4; i++) w[W.ipv6_dst + i] = min[i]!;
      else w[W.nw_dst] = min[0]!;
      if (n.portMin) w[W.tp_dst] = n.portMin;
    }
  }
  lines.push(` Modified flow: ${fmtIpFlow(w, v6)}`);
  return lines;
}

/** The Geneve UDP port, re-exported for tunnel receive. */
export const GENEVE_PORT = GENEVE_UDP_PORT;
