/**
 * The action table: one definition per OpenFlow/Nicira action type, in the manner of OVS's
 * lib/ofp-actions.c. Each record (`ACTIONS.<type>`) holds, side by side:
 *  - `keywords`: the ovs-ofctl words that parse to it (aliases included) and `parse`;
 *  - `format`: the text `ovs-ofctl -O OpenFlow15 dump-flows` prints;
 *  - the checks, each with OVS's error names: `checkParsed` (what ovs-ofctl refuses while parsing),
 *    `check` (OVS `ofpacts_check()` against the match as the actions so far left it),
 *    `checkDecoded` (what the switch refuses when it decodes the OpenFlow 1.5 actions),
 *    `checkEnv` (what must exist in the switch: groups, meters);
 *  - `nested`: the action lists it holds (`ct(exec(...))`), for the generic walkers;
 *  - `setClass`: its place in an action set (OVS `action_set_classify`);
 *  - `compile`: the prepared operation the pipeline runs (see xlate.ts for what it may do).
 * The table is checked for completeness by the compiler (`satisfies` over every `Action` type), and
 * every walker (parse, format, the checks, compile) is a loop over it, so a new action is one
 * interface, one `ActionMap` entry and one record in this file.
 *
 * Parsing normalises the way OVS does when it encodes a flow for OpenFlow 1.5: `mod_dl_src`,
 * `mod_nw_*`, `mod_tp_*` and `load` become `set_field`, `strip_vlan` becomes `pop_vlan`,
 * `mod_vlan_vid`/`mod_vlan_pcp` become `set_field` preceded by `push_vlan:0x8100` when the flow
 * has no VLAN at that point. So the canonical text is the one `ovs-ofctl -O OpenFlow15 dump-flows`
 * prints, and executing the typed list behaves as OVS executes the flow it installed. Values of
 * fields are read and printed by the field table (fields.ts).
 *
 * `Action` values are plain objects: build them in code (`{ type: 'output', port: 2 }`) or parse
 * them from text; both go through the same checks and compile.
 */
import { formatIpv4, formatIpv6, fromHex, parseIpv4, parseIpv6 } from '@ovnts/packet';
import type { CtAction } from './conntrack/conntrack.js';
import { compileCtNat } from './conntrack/nat.js';
import {
  ActionDecoder, ActionEncoder, NXAST, OFPAT, OFPAT10, fieldHeaderOf, ofsNbits, pullActionFrame, type ActionWire, type WireKey,
} from './action-wire.js';
import { OpenFlowError, TextParseError } from './errors.js';
import { nxmHeaderWord, portFrom11Checked, portTo11, pullEntry, putEntryWith, type PulledEntry } from './field-codec.js';
import {
  ETH_TYPE_IP, ETH_TYPE_IPV6, FRAG_LATER, isEthTypeMpls, Prereq, VLAN_CFI, fieldBySubfieldName, formatFieldValue, formatSubfield, parseFieldValue,
  parseSubfield, type MatchField, type Subfield,
} from './fields.js';
import { KEY_WORDS, W, WC_SKB_PRIORITY, WC_VLAN1, getFieldBig } from './flowkey.js';
import { clearCt, getBit, markTunMeta, putBit, readSubfield, setOne, swapCtTuple, writeSubfield } from './key-ops.js';
import { flowHashFields } from './stateful/flow-hash.js';
import { hashInt } from './stateful/ovs-hash.js';
import { Match, isCtValid, prereqOk, prereqOkKey, writeSubfieldMatch } from './match.js';
import { hexC, parseUint, splitTopLevel } from './ofctl-lex.js';
import { OFPP, formatPort, isValidOutputPort, parsePort } from './ports.js';
import { OFPACTS_MAX_BYTES, listBytesOf, recordListBytes, tokenBytes } from './ofpact-size.js';
import { OfpVersion, VendorId, WireReader, WireWriter } from './wire-buf.js';
import { PrimKind, type MegaflowMarks, type PacketInReason, type Prim, type SetFieldPrim, type Xlate } from './xlate.js';

export { OFPP, OFPP_UNSET, formatPort, isValidOutputPort, parsePort } from './ports.js';
export { hexC, parseUint, splitTopLevel } from './ofctl-lex.js';
export { formatSubfield, parseSubfield, type Subfield } from './fields.js';

// ---------------------------------------------------------------------------------------------
// The action types

/** NAT parameters of `ct(nat(...))`. */
export interface NatSpec {
  /** `src`, `dst`, or undefined for plain `nat` (reverse NAT of an existing connection). */
  kind?: 'src' | 'dst';
  /** Address range as text (IPv4 or bracketed IPv6), as given. */
  addrMin?: string;
  /** Upper address. */
  addrMax?: string;
  /** Port range. */
  portMin?: number;
  /** Upper port. */
  portMax?: number;
  /** Flags in OVS order: persistent, hash, random. */
  flags: string[];
}

/** One `learn` specification. */
export type LearnSpec =
  | { kind: 'match'; dst: Subfield; src: Subfield | { value: bigint } }
  | { kind: 'load'; dst: Subfield; src: Subfield | { value: bigint } }
  | { kind: 'output'; src: Subfield };

/** `output:PORT`, or `output(port=PORT,max_len=N)` with `maxLen`. */
export interface OutputAction {
  /** Kind. */
  type: 'output';
  /** Port number (reserved ports as `OFPP`). */
  port: number;
  /** Truncate to this many bytes (`output(port=..,max_len=..)`). */
  maxLen?: number;
}

/** `output:FIELD[a..b]`: output to the port held in a subfield. */
export interface OutputRegAction {
  /** Kind. */
  type: 'output_reg';
  /** Where the port number is. */
  src: Subfield;
  /** Truncate to this many bytes. */
  maxLen?: number;
}

/** `controller(...)` / `CONTROLLER:N`: a packet-in. */
export interface ControllerAction {
  /** Kind. */
  type: 'controller';
  /** Bytes of the packet sent (65535 = all). */
  maxLen: number;
  /** Packet-in reason name. */
  reason?: string;
  /** Controller id. */
  id?: number;
  /** Opaque bytes for the controller. */
  userdata?: Uint8Array;
  /** `pause`. */
  pause?: boolean;
  /** Meter applied to packet-ins. */
  meterId?: number;
}

/** `set_field:VALUE[/MASK]->FIELD` (also `load`, `mod_dl_*`, `mod_nw_*`, `mod_tp_*`, `mod_vlan_*`). */
export interface SetFieldAction {
  /** Kind. */
  type: 'set_field';
  /** The field written. */
  field: MatchField;
  /** The value (field-level, unshifted). */
  value: bigint;
  /** Bits written (absent: all). */
  mask?: bigint;
  /**
   * Written as `mod_tp_src`/`mod_tp_dst` (OVS's OFPACT_SET_L4_*_PORT, a set_field only once encoded):
   * checked first as OVS's check_set_l4_port (OpenFlow 1.0 only without TCP/UDP/SCTP), and as a
   * set_field when the switch decodes it (`checkModTpDecoded`).
   */
  modTp?: true;
  /**
   * Decoded from OpenFlow 1.0's OFPAT10_SET_VLAN_VID/PCP (OVS `mod_vlan_vid`/`mod_vlan_pcp`, whose
   * `push_vlan_if_needed` pushes a tag when the flow has none there): `resolveVlanPush` turns it
   * into a `push_vlan` where needed once the flow's match is known; a decoded flow never keeps it.
   */
  vlanPush?: true;
}

/** `move:SRC[a..b]->DST[c..d]`. */
export interface MoveAction {
  /** Kind. */
  type: 'move';
  /** Source bits. */
  src: Subfield;
  /** Destination bits (same width). */
  dst: Subfield;
}

/** `dec_ttl` / `dec_ttl(id,...)`. */
export interface DecTtlAction {
  /** Kind. */
  type: 'dec_ttl';
  /** Controller ids that get the packet when the TTL expires (default [0]). */
  ids?: number[];
}

/** `mod_nw_ttl:N`. */
export interface ModNwTtlAction {
  /** Kind. */
  type: 'mod_nw_ttl';
  /** New TTL / hop limit. */
  ttl: number;
}

/** `push_vlan:ETHERTYPE`. */
export interface PushVlanAction {
  /** Kind. */
  type: 'push_vlan';
  /** TPID of the new tag (0x8100 or 0x88a8). */
  ethertype: number;
}

/** `pop_vlan` (also `strip_vlan`). */
export interface PopVlanAction {
  /** Kind. */
  type: 'pop_vlan';
}

/** `resubmit:PORT` / `resubmit(PORT,TABLE[,ct])`. */
export interface ResubmitAction {
  /** Kind. */
  type: 'resubmit';
  /** in_port for the lookup (absent: the packet's). */
  port?: number;
  /** Table (absent: the current one). */
  table?: number;
  /** Look up with the conntrack original-direction tuple. */
  ct?: boolean;
}

/** `group:ID`. */
export interface GroupAction {
  /** Kind. */
  type: 'group';
  /** Group id. */
  groupId: number;
}

/** `note:HEX`: does nothing. */
export interface NoteAction {
  /** Kind. */
  type: 'note';
  /** The bytes. */
  data: Uint8Array;
}

/** `ct(...)`: connection tracking. */
export interface CtActionSpec {
  /** Kind. */
  type: 'ct';
  /** `commit`. */
  commit: boolean;
  /** `force`. */
  force: boolean;
  /** `table=N`: recirculate to table N. */
  table?: number;
  /** `zone=N` or `zone=FIELD[a..b]`. */
  zone?: number | Subfield;
  /** `alg=NAME`. */
  alg?: string;
  /** `exec(...)`: set_field to ct_mark/ct_label. */
  exec: Action[];
  /** `nat(...)`. */
  nat?: NatSpec;
}

/** `ct_clear`. */
export interface CtClearAction {
  /** Kind. */
  type: 'ct_clear';
}

/** `learn(...)`. */
export interface LearnAction {
  /** Kind. */
  type: 'learn';
  /** Table of the learned flow. */
  table: number;
  /** Its idle timeout (s). */
  idleTimeout: number;
  /** Its hard timeout (s). */
  hardTimeout: number;
  /** Its priority. */
  priority: number;
  /** Its cookie. */
  cookie: bigint;
  /** `fin_idle_timeout`. */
  finIdleTimeout: number;
  /** `fin_hard_timeout`. */
  finHardTimeout: number;
  /** `send_flow_rem`. */
  sendFlowRem: boolean;
  /** `delete_learned`. */
  deleteLearned: boolean;
  /** Match, load and output specs in order. */
  specs: LearnSpec[];
  /** `limit=N`: at most N flows with the learned cookie in the learned table (0 = none). */
  limit?: number;
  /** `result_dst=F[b]`: 1 when learning succeeded, 0 when `limit` refused it. */
  resultDst?: Subfield;
}

/** `conjunction(ID,K/N)`. */
export interface ConjunctionAction {
  /** Kind. */
  type: 'conjunction';
  /** Conjunction id. */
  id: number;
  /** Clause number K (1-based). */
  clause: number;
  /** Number of clauses N. */
  nClauses: number;
}

/** `meter:ID`. */
export interface MeterAction {
  /** Kind. */
  type: 'meter';
  /** Meter id. */
  meterId: number;
}

/** `clone(...)`: run the actions on a copy of the packet; the flow, action set and stack come back after. */
export interface CloneAction {
  /** Kind. */
  type: 'clone';
  /** The actions run on the copy. */
  actions: Action[];
}

/** `push:FIELD[a..b]`: push the bits on the translation's value stack. */
export interface StackPushAction {
  /** Kind. */
  type: 'stack_push';
  /** The bits pushed. */
  src: Subfield;
}

/** `pop:FIELD[a..b]`: pop the top of the value stack into the bits. */
export interface StackPopAction {
  /** Kind. */
  type: 'stack_pop';
  /** Where the value goes. */
  dst: Subfield;
}

/** `check_pkt_larger(N)->FIELD[b]`: the bit says whether the packet is longer than N bytes. */
export interface CheckPktLargerAction {
  /** Kind. */
  type: 'check_pkt_larger';
  /** Length compared (the packet without Ethernet padding). */
  len: number;
  /** One bit. */
  dst: Subfield;
}

/** `exit`: stop translating (group buckets excepted: the rest of the group still runs). */
export interface ExitAction {
  /** Kind. */
  type: 'exit';
}

/**
 * `mod_tp_src:N` / `mod_tp_dst:N` where the match does not say TCP, UDP or SCTP (OVS keeps the
 * OpenFlow 1.0 action; with a protocol it becomes a set_field). Sets the L4 port of any IP packet
 * that is not a later fragment.
 */
export interface ModTpAction {
  /** Kind. */
  type: 'mod_tp';
  /** Which port. */
  dir: 'src' | 'dst';
  /** The port. */
  port: number;
}

/** `set_queue:N`: the datapath priority of the packet (queue N). */
export interface SetQueueAction {
  /** Kind. */
  type: 'set_queue';
  /** Queue id. */
  queue: number;
}

/** `pop_queue`: back to the packet's original priority. */
export interface PopQueueAction {
  /** Kind. */
  type: 'pop_queue';
}

/** The flow fields `multipath` and `bundle` hash (OVS `enum nx_hash_fields`). */
export type HashFields = 'eth_src' | 'symmetric_l4' | 'symmetric_l3l4' | 'symmetric_l3l4+udp' | 'nw_src' | 'nw_dst' | 'symmetric_l3';

/** `multipath(fields,basis,algorithm,n_links,arg,DST)`. */
export interface MultipathAction {
  /** Kind. */
  type: 'multipath';
  /** Hashed fields. */
  fields: HashFields;
  /** Hash basis (16 bits). */
  basis: number;
  /** Link selection. */
  algorithm: 'modulo_n' | 'hash_threshold' | 'hrw' | 'iter_hash';
  /** Number of links (1..65536). */
  nLinks: number;
  /** `iter_hash`'s modulus. */
  arg: number;
  /** Where the link number goes. */
  dst: Subfield;
}

/** `bundle(...)` / `bundle_load(...)`: pick a member port by hash (hrw) or the first live one (active_backup). */
export interface BundleAction {
  /** Kind. */
  type: 'bundle';
  /** Hashed fields. */
  fields: HashFields;
  /** Hash basis (16 bits). */
  basis: number;
  /** Selection. */
  algorithm: 'hrw' | 'active_backup';
  /** Member ports. */
  members: number[];
  /** `bundle_load`: the port number is written here instead of output. */
  dst?: Subfield;
}

/** `sample(...)`: sample the packet for IPFIX/sFlow (no effect on forwarding). */
export interface SampleAction {
  /** Kind. */
  type: 'sample';
  /** Probability in 1/65535. */
  probability: number;
  /** Collector set. */
  collectorSetId: number;
  /** Observation domain. */
  obsDomainId: number;
  /** Observation point. */
  obsPointId: number;
  /** `sampling_port=`. */
  samplingPort?: number;
  /** `ingress` / `egress`. */
  direction?: 'ingress' | 'egress';
}

/** `fin_timeout(idle_timeout=N,hard_timeout=M)`: a TCP FIN or RST lowers the timeouts of the flow. */
export interface FinTimeoutAction {
  /** Kind. */
  type: 'fin_timeout';
  /** New idle timeout (s, 0 = unchanged). */
  idleTimeout: number;
  /** New hard timeout (s, 0 = unchanged). */
  hardTimeout: number;
}

/** `push_mpls:ETHERTYPE`: a new outermost MPLS label. */
export interface PushMplsAction {
  /** Kind. */
  type: 'push_mpls';
  /** EtherType of the packet afterwards (0x8847 or 0x8848; others are refused by the switch). */
  ethertype: number;
}

/** `pop_mpls:ETHERTYPE`: remove the outermost MPLS label. */
export interface PopMplsAction {
  /** Kind. */
  type: 'pop_mpls';
  /** EtherType of the packet afterwards (what follows the label stack when the last label goes). */
  ethertype: number;
}

/** `set_mpls_ttl(TTL)`: the outermost label's TTL (`set_mpls_label`/`set_mpls_tc` become set_field). */
export interface SetMplsTtlAction {
  /** Kind. */
  type: 'set_mpls_ttl';
  /** New TTL. */
  ttl: number;
}

/** `dec_mpls_ttl`: decrement the outermost label's TTL; at 0 or 1 the packet goes to the controller. */
export interface DecMplsTtlAction {
  /** Kind. */
  type: 'dec_mpls_ttl';
}

/** Every action type by its `type` name. */
export interface ActionMap {
  /** See `OutputAction`. */
  output: OutputAction;
  /** See `OutputRegAction`. */
  output_reg: OutputRegAction;
  /** See `ControllerAction`. */
  controller: ControllerAction;
  /** See `SetFieldAction`. */
  set_field: SetFieldAction;
  /** See `MoveAction`. */
  move: MoveAction;
  /** See `DecTtlAction`. */
  dec_ttl: DecTtlAction;
  /** See `ModNwTtlAction`. */
  mod_nw_ttl: ModNwTtlAction;
  /** See `PushVlanAction`. */
  push_vlan: PushVlanAction;
  /** See `PopVlanAction`. */
  pop_vlan: PopVlanAction;
  /** See `ResubmitAction`. */
  resubmit: ResubmitAction;
  /** See `GroupAction`. */
  group: GroupAction;
  /** See `NoteAction`. */
  note: NoteAction;
  /** See `CtActionSpec`. */
  ct: CtActionSpec;
  /** See `CtClearAction`. */
  ct_clear: CtClearAction;
  /** See `LearnAction`. */
  learn: LearnAction;
  /** See `ConjunctionAction`. */
  conjunction: ConjunctionAction;
  /** See `MeterAction`. */
  meter: MeterAction;
  /** See `CloneAction`. */
  clone: CloneAction;
  /** See `StackPushAction`. */
  stack_push: StackPushAction;
  /** See `StackPopAction`. */
  stack_pop: StackPopAction;
  /** See `CheckPktLargerAction`. */
  check_pkt_larger: CheckPktLargerAction;
  /** See `ExitAction`. */
  exit: ExitAction;
  /** See `ModTpAction`. */
  mod_tp: ModTpAction;
  /** See `SetQueueAction`. */
  set_queue: SetQueueAction;
  /** See `PopQueueAction`. */
  pop_queue: PopQueueAction;
  /** See `MultipathAction`. */
  multipath: MultipathAction;
  /** See `BundleAction`. */
  bundle: BundleAction;
  /** See `SampleAction`. */
  sample: SampleAction;
  /** See `FinTimeoutAction`. */
  fin_timeout: FinTimeoutAction;
  /** See `PushMplsAction`. */
  push_mpls: PushMplsAction;
  /** See `PopMplsAction`. */
  pop_mpls: PopMplsAction;
  /** See `SetMplsTtlAction`. */
  set_mpls_ttl: SetMplsTtlAction;
  /** See `DecMplsTtlAction`. */
  dec_mpls_ttl: DecMplsTtlAction;
}

/** The name of an action type. */
export type ActionType = keyof ActionMap;

/** A typed OpenFlow/Nicira action. */
export type Action = ActionMap[ActionType];

/** OpenFlow 1.5 instructions of a flow. */
export interface Instructions {
  /** `apply_actions` (the bare action list). */
  apply: Action[];
  /** `clear_actions`. */
  clearActions: boolean;
  /** `write_actions(...)`, if present. */
  writeActions?: Action[];
  /** `write_metadata:V[/M]`. */
  writeMetadata?: { value: bigint; mask: bigint };
  /** `goto_table:N`. */
  gotoTable?: number;
}

// ---------------------------------------------------------------------------------------------
// What the records are made of

/** Context the action parser needs from the flow (for OVS's OF1.5 normalisation). */
export interface ActionContext {
  /** The flow matches a VLAN header (CFI bit) at this point; updated as push/pop are parsed. */
  hasVlan: boolean;
  /**
   * A second (inner) VLAN header is there at this point (after a push onto a tagged flow). OVS's
   * flow holds two VLAN headers; a pop brings the inner one back. Absent means false.
   */
  innerVlan?: boolean;
  /** The matched ip_proto, or -1. */
  nwProto: number;
}

/** One keyword's argument as written: `kw:ARG`, `kw=ARG`, `kw(ARG)`, or nothing. */
export interface ActionArg {
  /** The argument text, or undefined when there is none. */
  readonly text: string | undefined;
  /** Written in parentheses. */
  readonly paren: boolean;
  /** Column of the argument text in the whole input (when there is one). */
  readonly col: number;
  /** After `(...)`: OVS's `(x)->y` form keeps `->y` here (`check_pkt_larger(N)->F[b]`). */
  readonly tail?: string;
  /** The `(` was never closed: OVS takes the rest of the action text as the argument. */
  readonly unclosed?: boolean;
}

/** Where an action's text is, for error messages, and the flow context. */
export class ActionParser {
  constructor(
    /** The whole input (a flow, a group, an action list). */
    readonly input: string,
    /** Column of this action's text in `input`. */
    readonly col: number,
    /** What the match (and the actions so far) say about the packet. */
    readonly ctx: ActionContext,
    /** The keyword as written (for messages). */
    readonly word = '',
  ) {}

  /** Raise a `TextParseError` at this action (plus `at` columns). */
  err(expected: string, at = 0): never {
    throw new TextParseError(this.input, this.col + at, expected);
  }

  /** The argument, or an error naming the keyword that needs one. */
  need(arg: ActionArg): string {
    return arg.text === undefined ? this.err(`${this.word} needs an argument`) : arg.text;
  }

  /** OVS `str_to_u8()`: a number 0..255, else `invalid WHAT "TEXT"`. */
  u8(s: string, what: string): number {
    const v = parseUint(s.trim());
    if (v === undefined || v > 255n) this.err(`invalid ${what} "${s}"`);
    return Number(v);
  }

  /** OVS `str_to_u16()`: a number 0..65535, else `invalid WHAT "TEXT"`. */
  u16(s: string, what: string): number {
    const v = parseUint(s.trim());
    if (v === undefined || v > 65535n) this.err(`invalid ${what} "${s}"`);
    return Number(v);
  }

  /** A number 0..max (C `strtoull` syntax). */
  num(s: string, what: string, max: number): number {
    const v = parseUint(s.trim());
    if (v === undefined || v > BigInt(max)) this.err(`expected ${what} (0..${max}), got "${s}"`);
    return Number(v);
  }
}

/** The state OVS's `ofpacts_check()` carries along one flow's actions. */
export interface CheckState {
  /**
   * The match as the actions so far left it (a copy): push/pop VLAN and `vlan_tci` set_field
   * change the outer TCI.
   */
  readonly m: Match;
  /** TCI of the inner VLAN header (VLAN_CFI when present; OVS `flow.vlans[1]`, no match sets it). */
  vlan1: number;
  /** The flow's table (for goto_table). */
  readonly table: number;
  /**
   * The first inconsistency OVS only records by narrowing the usable protocols to OpenFlow 1.0
   * (`inconsistent_match()`) instead of failing; the caller raises it once the whole list passed.
   */
  narrowed?: OpenFlowError;
}

/** What `checkEnv` may ask of the switch. */
export interface ActionEnv {
  /** Does group `id` exist? */
  groupExists(id: number): boolean;
  /** Does meter `id` exist? */
  meterExists(id: number): boolean;
}

/** An action set class (OVS `enum action_set_class`): a slot, a final action, set/move, or invalid. */
export const ActionSetClass = {
  /** Slots: the last one of each runs, in this order, before set/move. */
  POP_VLAN: 0,
  POP_MPLS: 1,
  PUSH_MPLS: 4,
  PUSH_VLAN: 5,
  DEC_TTL: 6,
  DEC_MPLS_TTL: 7,
  /** Final actions, lowest priority first: only the highest-priority one runs. */
  CT: 9,
  CT_CLEAR: 10,
  RESUBMIT: 11,
  OUTPUT: 12,
  GROUP: 13,
  /** Every set_field/move runs, in order. */
  SET_OR_MOVE: 14,
  /** Not allowed in an action set. */
  INVALID: 15,
} as const;

/** One of `ActionSetClass`. */
export type ActionSetClass = (typeof ActionSetClass)[keyof typeof ActionSetClass];

const N_SLOTS = 9;

/**
 * Runs a prepared action in a translation context; true when the rest of its action list must not
 * run (OVS: a TTL exception, a group that does not exist).
 */
export type OpRun = (x: Xlate, bucket: boolean) => boolean;

/** What an action compiles to: a function of the translation context, or an executor primitive (xlate.ts). */
export type OpExec = OpRun | Prim;

/** A prepared action (`type` narrows `a`). */
export type ActionOp<K extends ActionType = ActionType> = {
  [P in K]: {
    /** The action type. */
    readonly type: P;
    /** The action. */
    readonly a: ActionMap[P];
    /** Its text (traces, `Restoring action set:`). */
    readonly text: string;
    /** Its action set class. */
    readonly setClass: ActionSetClass;
    /** What it does. */
    readonly exec: OpExec;
  };
}[K];

/** Instructions that are not actions. */
export type InstructionType = 'clear_actions' | 'write_actions' | 'write_metadata' | 'goto_table';

/** A prepared instruction. */
export interface InstructionOp {
  /** The instruction. */
  readonly type: InstructionType;
  /** No action. */
  readonly a: null;
  /** Its text (traces). */
  readonly text: string;
  /** Never in an action set. */
  readonly setClass: typeof ActionSetClass.INVALID;
  /** What it does. */
  readonly exec: OpExec;
}

/** One action or instruction, prepared for execution (no bigint on the per-packet path). */
export type Op = ActionOp | InstructionOp;

/** One action type's definition (see the module comment). */
export interface ActionDef<A extends Action> {
  /** ovs-ofctl keywords (any case) that parse to this type; the first names it. */
  readonly keywords: readonly string[];
  /** Parse keyword `kw` (lower case) with its argument; some keywords expand to two actions. Absent: made by another type's keyword. */
  readonly parse?: (kw: string, arg: ActionArg, p: ActionParser) => Action[];
  /** The text OVS prints under OpenFlow 1.5. */
  readonly format: (a: A) => string;
  /** Its action set class (OVS `action_set_classify`; INVALID: not allowed in `write_actions`). */
  readonly setClass: (a: A) => ActionSetClass;
  /**
   * True when a `clone` holding it needs the datapath's clone (OVS `reversible_actions()`: ct,
   * meter, output truncation); absent means reversible.
   */
  readonly irreversible?: (a: A) => boolean;
  /** Parse-time context tracking (the VLAN headers OVS's OF1.5 normalisation follows). */
  readonly track?: (a: A, ctx: ActionContext) => void;
  /** What ovs-ofctl refuses while parsing; `inCt` inside `ct(exec(...))`. */
  readonly checkParsed?: (a: A, inCt: boolean) => void;
  /** OVS `check_XXX()` against the match as the actions so far left it. */
  readonly check?: (a: A, st: CheckState) => void;
  /** What the switch refuses when decoding the OpenFlow 1.5 action; `ports` also checks output ports (group buckets). */
  readonly checkDecoded?: (a: A, ports: boolean) => void;
  /** What must exist in the switch (groups, meters). */
  readonly checkEnv?: (a: A, env: ActionEnv) => void;
  /** Action lists held inside this action. */
  readonly nested?: (a: A) => ReadonlyArray<readonly Action[]>;
  /** Prepare it for execution. */
  readonly compile: (a: A) => OpExec;
  /** Its OpenFlow wire forms: how it is encoded per version, and which wire actions decode to it (action-wire.ts). */
  readonly wire: ActionWire<A, Action | Action[]>;
}

type DefMap = { readonly [K in ActionType]: ActionDef<ActionMap[K]> };

// ---------------------------------------------------------------------------------------------
// Helpers of the records

function allOnes(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

function bigToWords(v: bigint, nwords: number): Uint32Array {
  const out = new Uint32Array(nwords);
  for (let i = nwords - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffff_ffffn);
    v >>= 32n;
  }
  return out;
}

function splitKv(text: string): [string, string | undefined] {
  const t = text.trim();
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*([\s\S]*)$/.exec(t);
  return m ? [m[1]!, m[2]!] : [t, undefined];
}

/**
 * Split one action token into keyword and argument as OVS's `ofputil_parse_key_value()` does:
 * `kw:ARG`, `kw=ARG`, `kw(ARG)` (to the matching parenthesis; an unclosed one takes the rest of the
 * text, as OVS does), and `kw(ARG)->TAIL`. `col` is the token's column in the input. A token that
 * is not a keyword followed by one of those comes back whole as the name.
 */
function splitArg(tok: string, col = 0): { name: string; arg: ActionArg } {
  const lead = tok.length - tok.trimStart().length;
  const t = tok.trim();
  const none = (name: string): { name: string; arg: ActionArg } => ({ name, arg: { text: undefined, paren: false, col } });
  const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(t);
  if (!m) return none(t);
  const name = m[0];
  let i = name.length;
  while (t[i] === ' ' || t[i] === '\t') i++;
  if (i >= t.length) return i === name.length ? none(name) : none(t);
  const c = t[i];
  if (c === ':' || c === '=') return { name, arg: { text: t.slice(i + 1), paren: false, col: col + lead + i + 1 } };
  if (c !== '(') return none(t);
  let depth = 0;
  for (let j = i; j < t.length; j++) {
    if (t[j] === '(') depth++;
    else if (t[j] === ')' && --depth === 0) {
      const text = t.slice(i + 1, j);
      const rest = t.slice(j + 1);
      const acol = col + lead + i + 1;
      if (rest === '') return { name, arg: { text, paren: true, col: acol } };
      if (rest.startsWith('->')) return { name, arg: { text, paren: true, col: acol, tail: rest } };
      return none(t);
    }
  }
  return { name, arg: { text: t.slice(i + 1), paren: true, col: col + lead + i + 1, unclosed: true } };
}

/** OVS pads a note with zeros so the 10-byte action header plus data is a multiple of 8 bytes. */
function padNote(d: Uint8Array): Uint8Array {
  const len = d.length + ((8 - ((d.length + 2) % 8)) % 8);
  if (len === d.length) return d;
  const out = new Uint8Array(len);
  out.set(d);
  return out;
}

function parseDottedHex(p: ActionParser, s: string): Uint8Array {
  const clean = s.replace(/\./g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) p.err(`bad hex digit in \`note' argument`);
  return fromHex(clean);
}

function dottedHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('.');
}

function inconsistent(detail: string): OpenFlowError {
  return new OpenFlowError('OFPBAC_MATCH_INCONSISTENT', detail);
}

function checkSrcPrereq(f: MatchField, m: Match, what: string): void {
  if (!prereqOk(f.prereq, m)) throw inconsistent(`${what} field ${f.name} lacks correct prerequisites`);
}

/** OVS `mf_check_dst()`: the destination's prerequisites, and a writable field. */
function checkDst(d: Subfield, m: Match): void {
  checkSrcPrereq(d.field, m, 'destination');
  if (!d.field.writable) throw new OpenFlowError('OFPBAC_BAD_SET_ARGUMENT', `destination field ${d.field.name} is not writable`);
}

/** C's `atoi()`: an optional sign and the leading digits, 0 when there are none. */
function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) : 0;
}

/** C's `strtok_r()` over `s`: successive tokens, each ended by any of the delimiters given at each call. */
class Strtok {
  private pos = 0;
  constructor(private readonly s: string) {}
  /** The next token (leading delimiters skipped), or undefined at the end. */
  next(delims: string): string | undefined {
    const s = this.s;
    while (this.pos < s.length && delims.includes(s[this.pos]!)) this.pos++;
    if (this.pos >= s.length) return undefined;
    const start = this.pos;
    while (this.pos < s.length && !delims.includes(s[this.pos]!)) this.pos++;
    const tok = s.slice(start, this.pos);
    if (this.pos < s.length) this.pos++;
    return tok;
  }
}

/** `enum nx_hash_fields`, in wire order. */
const HASH_FIELDS: readonly HashFields[] = ['eth_src', 'symmetric_l4', 'symmetric_l3l4', 'symmetric_l3l4+udp', 'nw_src', 'nw_dst', 'symmetric_l3'];

function hashFieldsOf(s: string): HashFields | undefined {
  const l = s.toLowerCase();
  return HASH_FIELDS.find((f) => f === l);
}

/** OVS `multipath_parse()`. */
function parseMultipath(p: ActionParser, arg: string, col: number): MultipathAction {
  const t = new Strtok(arg);
  const fields = t.next(', ');
  const basis = t.next(', ');
  const algorithm = t.next(', ');
  const nLinksText = t.next(', ');
  const argText = t.next(', ');
  const dstText = t.next(', ');
  if (fields === undefined || basis === undefined || algorithm === undefined || nLinksText === undefined || argText === undefined || dstText === undefined) {
    return p.err(`${arg}: not enough arguments to multipath action`);
  }
  const f = hashFieldsOf(fields);
  if (!f) return p.err(`${arg}: unknown fields \`${fields}'`);
  const alg = algorithm.toLowerCase();
  if (alg !== 'modulo_n' && alg !== 'hash_threshold' && alg !== 'hrw' && alg !== 'iter_hash') return p.err(`${arg}: unknown algorithm \`${algorithm}'`);
  const nLinks = atoi(nLinksText);
  if (nLinks < 1 || nLinks > 65536) p.err(`${arg}: n_links ${nLinks} is not in valid range 1 to 65536`);
  const dst = parseSubfield(dstText, p.input, col);
  if (dst.nBits < 16 && nLinks > 2 ** dst.nBits) {
    p.err(`${arg}: ${dst.nBits}-bit destination field has ${2 ** dst.nBits} possible values, less than specified n_links ${nLinks}`);
  }
  return { type: 'multipath', fields: f, basis: atoi(basis) & 0xffff, algorithm: alg, nLinks, arg: atoi(argText) >>> 0, dst };
}

/** OVS `bundle_parse()` / `bundle_parse_load()` (at most 2048 members; more are ignored). */
function parseBundle(p: ActionParser, arg: string, load: boolean, col: number): BundleAction {
  const t = new Strtok(arg);
  const fields = t.next(', ');
  const basis = t.next(', ');
  const algorithm = t.next(', ');
  const memberType = t.next(', ');
  const dstText = load ? t.next(', ') : undefined;
  const delim = t.next(': ');
  if (delim === undefined || fields === undefined || basis === undefined || algorithm === undefined || memberType === undefined) {
    return p.err(`${arg}: not enough arguments to bundle action`);
  }
  if (delim.toLowerCase() !== 'members' && delim.toLowerCase() !== 'slaves') p.err(`${arg}: missing member delimiter, expected \`members', got \`${delim}'`);
  const members: number[] = [];
  for (let m = t.next(', []'); m !== undefined && members.length < 2048; m = t.next(', []')) {
    const port = parsePort(m);
    if (port === undefined) p.err(`${m}: bad port number`);
    members.push(port);
  }
  const f = hashFieldsOf(fields);
  if (!f) return p.err(`${arg}: unknown fields \`${fields}'`);
  const alg = algorithm.toLowerCase();
  if (alg !== 'active_backup' && alg !== 'hrw') return p.err(`${arg}: unknown algorithm \`${algorithm}'`);
  if (memberType.toLowerCase() !== 'ofport') p.err(`${arg}: unknown member_type \`${memberType}'`);
  const b: BundleAction = { type: 'bundle', fields: f, basis: atoi(basis) & 0xffff, algorithm: alg, members };
  if (dstText !== undefined) b.dst = parseSubfield(dstText, p.input, col);
  return b;
}

/** OVS `parse_SAMPLE()`. */
function parseSample(p: ActionParser, arg: string): SampleAction {
  const a: SampleAction = { type: 'sample', probability: 0, collectorSetId: 0, obsDomainId: 0, obsPointId: 0 };
  for (const { text } of splitTopLevel(arg)) {
    if (!text.trim()) continue;
    const [k, v] = splitKv(text);
    if (k === 'probability') {
      a.probability = p.num(v ?? '', 'probability', 65535);
      if (a.probability === 0) p.err(`invalid probability value "${v}"`);
    } else if (k === 'collector_set_id') a.collectorSetId = p.num(v ?? '', k, 0xffffffff);
    else if (k === 'obs_domain_id') a.obsDomainId = p.num(v ?? '', k, 0xffffffff);
    else if (k === 'obs_point_id') a.obsPointId = p.num(v ?? '', k, 0xffffffff);
    else if (k === 'sampling_port') {
      const port = parsePort(v ?? '');
      if (port === undefined) p.err(`${v}: unknown port`);
      a.samplingPort = port;
    } else if (k === 'ingress' || k === 'egress') a.direction = k;
    else p.err(`invalid key "${k}" in "sample" argument`);
  }
  if (a.probability === 0) p.err('non-zero "probability" must be specified on sample');
  return a;
}

/** OVS `multipath_algorithm()`: the link for `hash` among `n` links. */
function multipathLink(hash: number, alg: MultipathAction['algorithm'], n: number, arg: number): number {
  switch (alg) {
    case 'modulo_n':
      return hash % n;
    case 'hash_threshold':
      return n === 1 ? 0 : Math.floor(hash / (Math.floor(0xffffffff / n) + 1));
    case 'hrw':
      if (n <= 64) {
        let best = 0;
        let bestWeight = hashInt(hash, 0);
        for (let link = 1; link < n; link++) {
          const w = hashInt(hash, link);
          if (w > bestWeight) {
            best = link;
            bestWeight = w;
          }
        }
        return best;
      }
      return iterHash(hash, n, 0);
    case 'iter_hash':
      return iterHash(hash, n, arg);
  }
}

function iterHash(hash: number, n: number, modulo: number): number {
  if (modulo < n || modulo / 2 > n) {
    let x = n - 1;
    x |= x >>> 1;
    x |= x >>> 2;
    x |= x >>> 4;
    x |= x >>> 8;
    x |= x >>> 16;
    modulo = x + 1;
  }
  for (let i = 0; ; i++) {
    const link = hashInt(hash, i) % modulo;
    if (link < n) return link;
  }
}

/**
 * While recording: the fields `flowHashFields(fields)` reads. The cache marks every field any hash
 * may read; a trace's megaflow (`ovsExact`) gets exactly OVS's `flow_mask_hash_fields()`.
 */
export function markHashFields(r: MegaflowMarks, w: Uint32Array, fields: string): void {
  if (!r.ovsExact) {
    for (const [word, n] of [[W.dl_src, 2], [W.dl_dst, 2], [W.dl_type, 1], [W.vlan_tci, 1], [W.nw_src, 1], [W.nw_dst, 1], [W.ipv6_src, 4], [W.ipv6_dst, 4], [W.nw_proto, 1], [W.nw_frag, 1], [W.tp_src, 1], [W.tp_dst, 1]] as const) {
      for (let i = 0; i < n; i++) r.mark(word + i, 0xffffffff);
    }
    r.vlanChanged();
    return;
  }
  const dl = w[W.dl_type];
  const v4 = dl === ETH_TYPE_IP;
  const v6 = dl === ETH_TYPE_IPV6;
  const proto = w[W.nw_proto]!;
  const frag = (w[W.nw_frag]! & 3) !== 0;
  const mac = (word: number): void => {
    r.mark(word, 0xffff);
    r.mark(word + 1, 0xffffffff);
  };
  const addr = (src: boolean, dst: boolean): void => {
    if (v4) {
      if (src) r.mark(W.nw_src, 0xffffffff);
      if (dst) r.mark(W.nw_dst, 0xffffffff);
    } else if (v6) {
      for (let i = 0; i < 4; i++) {
        if (src) r.mark(W.ipv6_src + i, 0xffffffff);
        if (dst) r.mark(W.ipv6_dst + i, 0xffffffff);
      }
    }
  };
  const ports = (): void => {
    r.mark(W.tp_src, 0xffff);
    r.mark(W.tp_dst, 0xffff);
  };
  switch (fields) {
    case 'eth_src':
      mac(W.dl_src);
      return;
    case 'symmetric_l4':
      mac(W.dl_src);
      mac(W.dl_dst);
      addr(true, true);
      if (v4 || v6) {
        r.mark(W.nw_proto, 0xff);
        // flow_unwildcard_tp_ports(), not for UDP (its ports are not hashed).
        if (proto !== 17) {
          if (proto === 1) {
            r.mark(W.tp_src, 0xff);
            r.mark(W.tp_dst, 0xff);
          } else ports();
        }
      }
      r.mark(W.vlan_tci, 0x1fff);
      r.mark(WC_VLAN1, 0x1fff);
      return;
    case 'symmetric_l3l4+udp':
    case 'symmetric_l3l4':
      if ((v4 || v6) && fields === 'symmetric_l3l4+udp' && proto === 17 && !frag) ports();
      if (!v4 && !v6) return;
      addr(true, true);
      r.mark(W.nw_proto, 0xff);
      if ((proto === 6 || proto === 132) && !frag) ports();
      return;
    case 'nw_src':
      addr(true, false);
      return;
    case 'nw_dst':
      addr(false, true);
      return;
    default:
      addr(true, true);
  }
}

function setFieldFromText(p: ActionParser, field: string, value: string): SetFieldAction {
  const f = fieldBySubfieldName(field.trim());
  if (!f) p.err(`unknown field ${field}`);
  if (!f.writable) p.err(`${f.name} is read-only`);
  const v = parseFieldValue(f, value.trim(), p.input, p.col);
  if (v.mask !== undefined && !f.maskable && v.mask !== allOnes(f.bits)) p.err(`${value.trim()}: invalid mask for field ${f.name}`);
  return { type: 'set_field', field: f, value: v.value, ...(v.mask !== undefined && v.mask !== allOnes(f.bits) ? { mask: v.mask } : {}) };
}

function parseLoad(p: ActionParser, arg: string): SetFieldAction {
  const i = arg.indexOf('->');
  if (i < 0) p.err('expected load:VALUE->DST[a..b]');
  const vtext = arg.slice(0, i).trim();
  const dst = parseSubfield(arg.slice(i + 2), p.input, p.col);
  if (!dst.field.writable) p.err(`${dst.field.name} is read-only`);
  const v = parseUint(vtext);
  if (v === undefined) p.err(`expected a number, got "${vtext}"`);
  if (v > allOnes(dst.nBits)) p.err(`${arg}: value ${vtext} does not fit into ${dst.nBits} bits`);
  const whole = dst.ofs === 0 && dst.nBits === dst.field.bits;
  const mask = allOnes(dst.nBits) << BigInt(dst.ofs);
  return { type: 'set_field', field: dst.field, value: v << BigInt(dst.ofs), ...(whole ? {} : { mask }) };
}

/** A controller action OVS keeps as `output:CONTROLLER` (no reason but `action`, no id, userdata, pause or meter). */
function isPlainController(a: ControllerAction): boolean {
  return (a.reason === undefined || a.reason === 'action') && !a.id && !a.userdata && !a.pause && a.meterId === undefined;
}

/** `output` to a port: OVS keeps output to CONTROLLER as `CONTROLLER:65535` (our `controller`). */
function outputTo(port: number): Action {
  return port === OFPP.CONTROLLER ? { type: 'controller', maxLen: 65535 } : { type: 'output', port };
}

/**
 * `output(port=P,max_len=N)` (OVS `parse_truncate_subfield()`): P a port number below 0xff00
 * (0xff00 itself parses and is refused later as a bad output port), LOCAL or IN_PORT, never a
 * subfield; N a 32-bit number of at least 14 (an Ethernet header).
 */
function parseOutputTrunc(p: ActionParser, arg: string): OutputAction {
  let port = 0;
  let maxLen = 0;
  for (const { text } of splitTopLevel(arg)) {
    if (!text.trim()) continue;
    const [k, v0] = splitKv(text);
    const v = (v0 ?? '').trim();
    if (k === 'port') {
      const pt = parsePort(v);
      if (pt === undefined) p.err(`output to unknown truncate port: ${v}`);
      if (pt > OFPP.MAX && pt !== OFPP.LOCAL && pt !== OFPP.IN_PORT) p.err(`output to unsupported truncate port: ${v}`);
      port = pt;
    } else if (k === 'max_len') {
      const n = parseUint(v);
      if (n === undefined || n > 0xffff_ffffn) p.err(`invalid numeric format ${v}`);
      if (n < 14n) p.err(`max_len ${n} is less than the minimum value 14`);
      maxLen = Number(n);
    } else p.err(`invalid key '${k}' in output_trunc argument`);
  }
  return { type: 'output', port, maxLen };
}

function parseController(p: ActionParser, arg: ActionArg): ControllerAction {
  if (arg.text === undefined) return { type: 'controller', maxLen: 65535 };
  if (!arg.paren) return { type: 'controller', maxLen: p.num(arg.text, 'max_len', 65535) };
  const a: ControllerAction = { type: 'controller', maxLen: 65535 };
  for (const { text } of splitTopLevel(arg.text)) {
    const [k, v] = splitKv(text);
    if (k === 'max_len') a.maxLen = p.num(v ?? '', 'max_len', 65535);
    else if (k === 'reason') a.reason = v ?? '';
    else if (k === 'id') a.id = p.num(v ?? '', 'controller id', 65535);
    else if (k === 'userdata') a.userdata = parseDottedHex(p, v ?? '');
    else if (k === 'pause') a.pause = true;
    else if (k === 'meter_id') a.meterId = p.num(v ?? '', 'meter id', 0xffffffff);
    else p.err(`unknown controller argument ${k}`);
  }
  return a;
}

function parseResubmit(p: ActionParser, arg: string, paren: boolean): ResubmitAction {
  if (!paren) {
    const port = parsePort(arg.trim());
    if (port === undefined) p.err(`${arg}: resubmit to unknown port`);
    return { type: 'resubmit', port };
  }
  const parts = arg.split(',').map((x) => x.trim());
  if (parts.length > 3) p.err('resubmit takes at most (port,table,ct)');
  const a: ResubmitAction = { type: 'resubmit' };
  if (parts[0]) {
    const port = parsePort(parts[0]);
    if (port === undefined) p.err(`${parts[0]}: resubmit to unknown port`);
    a.port = port;
  }
  if (parts[1]) {
    const t = parseUint(parts[1]);
    if (t === undefined || t > 254n) p.err(`${parts[1]}: resubmit to unknown table`);
    a.table = Number(t);
  }
  if (parts[2] !== undefined) {
    if (parts[2] !== 'ct') p.err(`${parts[2]}: unknown resubmit argument (expected ct)`);
    a.ct = true;
  }
  if (a.port === undefined && a.table === undefined) p.err('at least one "in_port" or "table" must be specified on resubmit');
  return a;
}

function parseCt(p: ActionParser, arg: string | undefined): CtActionSpec {
  const a: CtActionSpec = { type: 'ct', commit: false, force: false, exec: [] };
  if (arg === undefined) return a;
  for (const { text, col } of splitTopLevel(arg)) {
    const t = text.trim();
    if (t === '') continue;
    const { name, arg: v } = splitArg(t, p.col + col);
    if (name === 'commit') a.commit = true;
    else if (name === 'force') a.force = true;
    else if (name === 'table') a.table = p.num(v.text ?? '', 'table', 254);
    else if (name === 'zone') {
      const vv = (v.text ?? '').trim();
      a.zone = /\[/.test(vv) ? parseSubfield(vv, p.input, p.col + col) : p.num(vv, 'zone', 65535);
    } else if (name === 'alg') a.alg = v.text ?? '';
    else if (name === 'exec' && v.paren) a.exec = parseActionList(v.text ?? '', p.input, p.col + col, { ...p.ctx });
    else if (name === 'nat') a.nat = parseNat(p, v.paren ? v.text : undefined);
    else p.err(`unknown ct argument ${name}`, col);
  }
  return a;
}

function parseNat(p: ActionParser, arg: string | undefined): NatSpec {
  const nat: NatSpec = { flags: [] };
  if (arg === undefined) return nat;
  for (const { text } of splitTopLevel(arg)) {
    const t = text.trim();
    const m = /^(src|dst)(?:=([\s\S]+))?$/.exec(t);
    if (m) {
      nat.kind = m[1] as 'src' | 'dst';
      if (m[2]) {
        // A bare IPv6 address (or range) without ports is accepted as OVS accepts it; it is kept
        // bracketed, the form with ports, which is how the rest of the switch tells IPv6 apart.
        const bare = /^([0-9a-fA-F]*:[0-9a-fA-F:.]*)(?:-([0-9a-fA-F]*:[0-9a-fA-F:.]*))?$/.exec(m[2]);
        const r = bare
          ? [m[2], `[${bare[1]}]`, bare[2] === undefined ? undefined : `[${bare[2]}]`, undefined, undefined]
          : /^(\[[^\]]+\]|[0-9.]+)(?:-(\[[^\]]+\]|[0-9.]+))?(?::(\d+)(?:-(\d+))?)?$/.exec(m[2]);
        if (!r) p.err(`bad nat range ${m[2]}`);
        nat.addrMin = r[1]!;
        if (r[2]) nat.addrMax = r[2];
        if (r[3]) nat.portMin = Number(r[3]);
        if (r[4]) nat.portMax = Number(r[4]);
      }
    } else if (t === 'persistent' || t === 'hash' || t === 'random') nat.flags.push(t);
    else p.err(`unknown nat argument ${t}`);
  }
  const order = ['persistent', 'hash', 'random'];
  nat.flags.sort((x, y) => order.indexOf(x) - order.indexOf(y));
  return nat;
}

function formatNat(n: NatSpec): string {
  let s = 'nat';
  const parts: string[] = [];
  if (n.kind) {
    let r = n.kind;
    if (n.addrMin) {
      // OVS brackets an IPv6 range only when ports follow.
      const unbracket = (a: string) => (n.portMin === undefined && a.startsWith('[') && a.endsWith(']') ? a.slice(1, -1) : a);
      r += `=${unbracket(n.addrMin)}${n.addrMax ? `-${unbracket(n.addrMax)}` : ''}`;
      if (n.portMin !== undefined) r += `:${n.portMin}${n.portMax !== undefined ? `-${n.portMax}` : ''}`;
    }
    parts.push(r);
  }
  parts.push(...n.flags);
  if (parts.length) s += `(${parts.join(',')})`;
  return s;
}

function parseLearn(p: ActionParser, arg: string): LearnAction {
  const a: LearnAction = {
    type: 'learn', table: 1, idleTimeout: 0, hardTimeout: 0, priority: 32768, cookie: 0n,
    finIdleTimeout: 0, finHardTimeout: 0, sendFlowRem: false, deleteLearned: false, specs: [],
  };
  for (const { text, col } of splitTopLevel(arg)) {
    const t = text.trim();
    if (t === '') continue;
    const kv = /^([A-Za-z_]+)=([^[]*)$/.exec(t);
    const num = (v: string, max: number): number => p.num(v, kv![1]!, max);
    if (kv && kv[1] === 'table') a.table = num(kv[2]!, 254);
    else if (kv && kv[1] === 'idle_timeout') a.idleTimeout = num(kv[2]!, 65535);
    else if (kv && kv[1] === 'hard_timeout') a.hardTimeout = num(kv[2]!, 65535);
    else if (kv && kv[1] === 'priority') a.priority = num(kv[2]!, 65535);
    else if (kv && kv[1] === 'fin_idle_timeout') a.finIdleTimeout = num(kv[2]!, 65535);
    else if (kv && kv[1] === 'fin_hard_timeout') a.finHardTimeout = num(kv[2]!, 65535);
    else if (kv && kv[1] === 'cookie') a.cookie = parseUint(kv[2]!) ?? p.err('bad learn cookie', col);
    else if (t === 'send_flow_rem') a.sendFlowRem = true;
    else if (t === 'delete_learned') a.deleteLearned = true;
    else if (kv && kv[1] === 'limit') a.limit = num(kv[2]!, 0xffffffff);
    else if (t.startsWith('result_dst=')) {
      const d = parseSubfield(t.slice(11), p.input, p.col + col);
      if (!d.field.writable) p.err(`${t.slice(11)} is read-only`, col);
      if (d.nBits !== 1) p.err("result_dst in 'learn' action must be a single bit", col);
      a.resultDst = d;
    } else if (t.startsWith('load:')) {
      const body = t.slice(5);
      const i = body.indexOf('->');
      if (i < 0) p.err('expected load:SRC->DST', col);
      const dst = parseSubfield(body.slice(i + 2), p.input, p.col + col);
      const s = body.slice(0, i).trim();
      const src = /\[/.test(s) ? parseSubfield(s, p.input, p.col + col) : { value: parseUint(s) ?? p.err(`bad value ${s}`, col) };
      a.specs.push({ kind: 'load', dst, src });
    } else if (t.startsWith('output:')) {
      a.specs.push({ kind: 'output', src: parseSubfield(t.slice(7), p.input, p.col + col) });
    } else {
      const i = t.indexOf('=');
      const dtext = i < 0 ? t : t.slice(0, i);
      const stext = i < 0 ? undefined : t.slice(i + 1);
      let dst: Subfield;
      if (/\[/.test(dtext)) dst = parseSubfield(dtext, p.input, p.col + col);
      else {
        const f = fieldBySubfieldName(dtext);
        if (!f) p.err(`unknown learn field ${dtext}`, col);
        dst = { field: f, ofs: 0, nBits: f.bits };
      }
      if (stext === undefined) a.specs.push({ kind: 'match', dst, src: dst });
      else if (/\[/.test(stext)) a.specs.push({ kind: 'match', dst, src: parseSubfield(stext, p.input, p.col + col) });
      else a.specs.push({ kind: 'match', dst, src: { value: parseFieldValue(dst.field, stext, p.input, p.col + col).value } });
    }
  }
  return a;
}

/** One learn spec as OVS's `learn_format` prints it. */
function formatLearnSpec(s: LearnSpec): string {
  if (s.kind === 'output') return `output:${formatSubfield(s.src)}`;
  if (s.kind === 'load') return `load:${'value' in s.src ? hexC(s.src.value) : formatSubfield(s.src)}->${formatSubfield(s.dst)}`;
  if ('value' in s.src) {
    const whole = s.dst.ofs === 0 && s.dst.nBits === s.dst.field.bits;
    return whole ? `${s.dst.field.name}=${formatFieldValue(s.dst.field, s.src.value)}` : `${formatSubfield(s.dst)}=${hexC(s.src.value)}`;
  }
  if (s.src.field === s.dst.field && s.src.ofs === s.dst.ofs) return formatSubfield(s.dst);
  return `${formatSubfield(s.dst)}=${formatSubfield(s.src)}`;
}

function formatLearn(a: LearnAction): string {
  const parts = [`table=${a.table}`];
  if (a.idleTimeout) parts.push(`idle_timeout=${a.idleTimeout}`);
  if (a.hardTimeout) parts.push(`hard_timeout=${a.hardTimeout}`);
  if (a.finIdleTimeout) parts.push(`fin_idle_timeout=${a.finIdleTimeout}`);
  if (a.finHardTimeout) parts.push(`fin_hard_timeout=${a.finHardTimeout}`);
  if (a.priority !== 32768) parts.push(`priority=${a.priority}`);
  if (a.sendFlowRem) parts.push('send_flow_rem');
  if (a.deleteLearned) parts.push('delete_learned');
  if (a.cookie) parts.push(`cookie=${hexC(a.cookie)}`);
  if (a.limit) parts.push(`limit=${a.limit}`);
  if (a.resultDst) parts.push(`result_dst=${formatSubfield(a.resultDst)}`);
  for (const s of a.specs) parts.push(formatLearnSpec(s));
  return `learn(${parts.join(',')})`;
}

/**
 * OVS `learn_check()`: each spec's source against the learning flow's match, and its destination
 * against the learned match built so far from the immediate match specs before it (`eth_type=0x800`
 * must come before `NXM_OF_IP_SRC[]`); a load's destination must also be writable.
 */
function checkLearn(a: LearnAction, m: Match): void {
  const dst = new Match();
  for (const s of a.specs) {
    if (s.kind === 'output') {
      checkSrcPrereq(s.src.field, m, 'source');
      continue;
    }
    if (!('value' in s.src)) checkSrcPrereq(s.src.field, m, 'source');
    if (!prereqOk(s.dst.field.prereq, dst)) {
      throw inconsistent(`${s.kind === 'match' ? 'source' : 'destination'} field ${s.dst.field.name} lacks correct prerequisites`);
    }
    if (s.kind === 'load' && !s.dst.field.writable) throw new OpenFlowError('OFPBAC_BAD_SET_ARGUMENT', `destination field ${s.dst.field.name} is read-only`);
    if (s.kind === 'match' && 'value' in s.src) writeSubfieldMatch(dst, s.dst, s.src.value & allOnes(s.dst.nBits));
  }
}

function formatCt(a: CtActionSpec): string {
  const parts: string[] = [];
  if (a.commit) parts.push('commit');
  if (a.force) parts.push('force');
  if (a.table !== undefined) parts.push(`table=${a.table}`);
  // OVS format_CT: an immediate zone 0 is not printed.
  if (a.zone !== undefined && a.zone !== 0) parts.push(`zone=${typeof a.zone === 'number' ? a.zone : formatSubfield(a.zone)}`);
  // OVS prints a NAT that comes first among ct's actions outside `exec(...)`, before it.
  if (a.nat) parts.push(formatNat(a.nat));
  if (a.exec.length) parts.push(`exec(${a.exec.map(formatAction).join(',')})`);
  if (a.alg !== undefined) parts.push(`alg=${a.alg}`);
  // OVS format_CT: the parentheses always, `ct()` without arguments.
  return `ct(${parts.join(',')})`;
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
  readonly nat: NatSpec | undefined;
  /** `exec(move:...)` into ct_mark/ct_label: values read from the packet when the action runs. */
  readonly moves: readonly MoveAction[];
}

/** The tracker's action for this packet: `c.act` with the `exec(move:...)` bits read from the flow. */
export function ctActFor(c: CtPrep, w: Uint32Array): CtAction {
  if (!c.moves.length) return c.act;
  const act: CtAction = { ...c.act };
  for (const mv of c.moves) {
    const n = BigInt(mv.src.nBits);
    const ones = (1n << n) - 1n;
    const v = (getFieldBig(w, mv.src.field) >> BigInt(mv.src.ofs)) & ones;
    const shift = BigInt(mv.dst.ofs);
    if (mv.dst.field.name === 'ct_mark') {
      const old = act.mark ?? { value: 0, mask: 0 };
      const mm = Number((ones << shift) & 0xffff_ffffn);
      const vv = Number((v << shift) & 0xffff_ffffn);
      act.mark = { value: ((old.value & ~mm) | vv) >>> 0, mask: (old.mask | mm) >>> 0 };
    } else {
      const vw = bigToWords(v << shift, 4);
      const mw = bigToWords(ones << shift, 4);
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
  return act;
}

/** Prepare a `ct` action: its exec'd mark/label writes become the tracker's mark/label, NAT is compiled. */
function prepareCt(a: CtActionSpec): CtPrep {
  const act: CtAction = { zone: 0, commit: a.commit, force: a.force };
  // ct's nested actions as OVS keeps them: the NAT first (format_CT prints it before exec(...)).
  const nested: string[] = a.nat ? [formatNat(a.nat)] : [];
  const moves: MoveAction[] = [];
  for (const e of a.exec) {
    nested.push(formatAction(e));
    if (e.type === 'move') moves.push(e);
    if (e.type !== 'set_field') continue;
    const ones = allOnes(e.field.bits);
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
  if (a.nat) act.nat = compileCtNat(a.nat);
  let zoneSrc: Subfield | null = null;
  let zone = 0;
  if (typeof a.zone === 'number') zone = a.zone;
  else if (a.zone) zoneSrc = a.zone;
  return { zone, zoneSrc, table: a.table ?? -1, act, nested, alg: a.alg, nat: a.nat, moves };
}

/**
 * OVS `flow_fix_vlan_tpid()`, run after any write to vlan_tci/vlan_vid/vlan_pcp: a tag created
 * by the write (CFI set, no TPID yet, e.g. after the action set's pop_vlan) gets TPID 0x8100.
 */
export function fixVlanTpid(x: Xlate): void {
  const k = x.key;
  if (k.vlanTpid === 0 && (k.w[W.vlan_tci]! & VLAN_CFI) !== 0) k.vlanTpid = 0x8100;
}

/** A set_field prepared as the executor's masked write: the value and mask in the field's key words. */
export function setFieldPrim(f: MatchField, value: bigint, mask: bigint | undefined): SetFieldPrim {
  const ones = allOnes(f.bits);
  const m = mask ?? ones;
  const vw = f.nwords === 1 ? Uint32Array.of(Number(value & 0xffff_ffffn) & f.vmask) : bigToWords(value & m, f.nwords);
  const mw = f.nwords === 1 ? Uint32Array.of(Number(m & 0xffff_ffffn) & f.vmask) : bigToWords(m & ones, f.nwords);
  return { kind: PrimKind.SetField, field: f, vw, mw, v0: vw[0]!, m0: mw[0]!, v1: vw[1] ?? 0, m1: mw[1] ?? 0 };
}

const MOVE_SCRATCH = new Uint32Array(KEY_WORDS);

/** `move` (OVS `mf_subfield_copy` via `xlate_reg_move`). */
function compileMove(a: MoveAction): OpRun {
  const sf = a.src.field;
  const df = a.dst.field;
  return (x) => {
    const w = x.key.w;
    const r = x.rec;
    const okDst = prereqOkKey(df.prereq, w);
    const ok = okDst && prereqOkKey(sf.prereq, w);
    if (r !== null) {
      if (!r.ovsExact) {
        r.markPrereq(df.prereq);
        r.markPrereq(sf.prereq);
        r.markField(sf);
        r.markField(df);
        if (df.forceBits) r.mark(df.word, df.forceBits);
      } else {
        // OVS mf_subfield_copy(): the prerequisite checks (the source's only if the destination's
        // held), then the two subfields when the copy happens.
        r.markPrereq(df.prereq);
        if (okDst) r.markPrereq(sf.prereq);
        if (ok) {
          r.markSubfield(a.src);
          r.markSubfield(a.dst);
        }
      }
    }
    if (ok) {
      // Copy the source words first so overlapping source and destination read the old bits.
      const tmp = MOVE_SCRATCH;
      for (let i = 0; i < sf.nwords; i++) tmp[sf.word + i] = w[sf.word + i]!;
      for (let i = 0; i < a.src.nBits; i++) putBit(w, df, a.dst.ofs + i, getBit(tmp, sf, a.src.ofs + i));
      if (df.nwords === 1) setOne(w, df, (w[df.word]! >>> df.shift) & df.vmask);
      else markTunMeta(w, df);
      if (df.word === W.vlan_tci) fixVlanTpid(x);
    }
    // OVS reports the destination even when the copy did not happen (xlate_report_subfield).
    if (x.tr !== null) x.tr.report('detail', subfieldNowText(w, a.dst));
    return false;
  };
}

/**
 * OVS `xlate_report_subfield()`'s detail after an action wrote `d` (move, pop, multipath,
 * bundle_load, learn's result): `F[a..b] is now V`, the whole field in its own format, a part of
 * it in `ds_put_hex()`'s (`0` for zero, else `0x` and the hex digits).
 */
export function subfieldNowText(w: Uint32Array, d: Subfield): string {
  const f = d.field;
  let v: string;
  if (d.ofs === 0 && d.nBits >= f.nBits) v = formatFieldValue(f, getFieldBig(w, f));
  else {
    let b = 0n;
    for (let i = d.nBits - 1; i >= 0; i--) b = (b << 1n) | BigInt(getBit(w, f, d.ofs + i));
    v = b === 0n ? '0' : `0x${b.toString(16)}`;
  }
  return `${formatSubfield(d)} is now ${v}`;
}

const DEFAULT_TTL_IDS: readonly number[] = [0];

/** The wire form of push_mpls/pop_mpls (an ethertype): OFPAT_* from OpenFlow 1.1 (8 bytes), NXAST_* in 1.0 (16). */
function mplsEthertypeWire<T extends 'push_mpls' | 'pop_mpls'>(type: T, ofpat: number, nxast: number): ActionWire<ActionMap[T], Action | Action[]> {
  return {
    encode(a, e) {
      if (e.of10) e.nx(nxast, (w) => w.u16(a.ethertype).zeros(4));
      else e.std(ofpat, (w) => w.u16(a.ethertype).zeros(2));
    },
    decode: {
      [`of:${ofpat}`]: (r: WireReader, d: ActionDecoder): Action => (d.len(8), { type, ethertype: r.u16() } as Action),
      [`nx:${nxast}`]: (r: WireReader, d: ActionDecoder): Action => (d.len(16), { type, ethertype: r.u16() } as Action),
    },
  };
}

/** Known packet-in reason names (OpenFlow 1.5, as OVS prints them). */
const REASONS: Readonly<Record<string, PacketInReason>> = {
  no_match: 'no_match', action: 'action', invalid_ttl: 'invalid_ttl', action_set: 'action_set', group: 'group', packet_out: 'packet_out',
};

// ---------------------------------------------------------------------------------------------
// Wire codecs shared by several records (action-wire.ts has the frame; the records' `wire` use these)

/** `enum nx_mp_algorithm` in wire order. */
const MP_ALGS: ReadonlyArray<MultipathAction['algorithm']> = ['modulo_n', 'hash_threshold', 'hrw', 'iter_hash'];
/** Packet-in reasons (`OFPR_*`) in wire order. */
const REASON_CODES: readonly string[] = ['no_match', 'action', 'invalid_ttl', 'action_set', 'group', 'packet_out'];
/** `ct(alg=...)` names and their wire numbers (the L4 port of the protocol). */
const CT_ALGS: Readonly<Record<string, number>> = { ftp: 21, tftp: 69 };

function badArg(what: string): never {
  throw new OpenFlowError('OFPBAC_BAD_ARGUMENT', `bad ${what}`);
}

/** An OpenFlow 1.1 port number from the wire, as a 16-bit one (`OFPBAC_BAD_OUT_PORT` if it has none). */
function port11(p: number): number {
  return portFrom11Checked(p, 'OFPBAC_BAD_OUT_PORT');
}

/**
 * The wire form of an action with one 32-bit argument (OVS `ofpact_put_raw()` layouts): OpenFlow
 * 1.1+ type `of` (argument at offset 4), Nicira subtype `nx` in OpenFlow 1.0 (argument at offset 12).
 */
function u32ArgWire<A extends Action>(of: number, nx: number, get: (a: A) => number, make: (v: number) => Action): ActionWire<A, Action | Action[]> {
  return {
    encode(a, e) {
      if (e.of10) e.nx(nx, (w) => w.zeros(2).u32(get(a)));
      else e.std(of, (w) => w.u32(get(a)));
    },
    decode: {
      [`of:${of}`]: (r: WireReader, d: ActionDecoder) => (d.len(8), make(r.u32())),
      [`nx:${nx}`]: (r: WireReader, d: ActionDecoder) => (d.len(16), r.skip(2), make(r.u32())),
    },
  };
}

function outputDecoded(port: number, maxLen: number): Action {
  return port === OFPP.CONTROLLER ? { type: 'controller', maxLen } : { type: 'output', port };
}

function outputRegDecoded(src: Subfield, maxLen: number): Action {
  return maxLen === 65535 ? { type: 'output_reg', src } : { type: 'output_reg', src, maxLen };
}

function resubmitDecoded(port: number, table: number, ct: boolean): Action {
  const a: ResubmitAction = { type: 'resubmit' };
  if (port !== OFPP.IN_PORT) a.port = port;
  if (table !== 0xff) a.table = table;
  if (ct) a.ct = true;
  return a;
}

function encodeController(a: ControllerAction, e: ActionEncoder): void {
  if (isPlainController(a)) {
    if (e.of10) e.std(OFPAT10.OUTPUT, (w) => w.u16(OFPP.CONTROLLER).u16(a.maxLen));
    else e.std(OFPAT.OUTPUT, (w) => w.u32(portTo11(OFPP.CONTROLLER)).u16(a.maxLen).zeros(6));
    return;
  }
  const reason = a.reason === undefined ? 1 : REASON_CODES.indexOf(a.reason);
  if (a.userdata === undefined && !a.pause && a.meterId === undefined) {
    e.nx(NXAST.CONTROLLER, (w) => w.u16(a.maxLen).u16(a.id ?? 0).u8(reason).u8(0));
    return;
  }
  // NXAST_CONTROLLER2: properties (type, length, value, padded to 8) after the 16-byte header.
  e.nx(NXAST.CONTROLLER2, (w) => {
    w.zeros(6);
    const prop = (type: number, body: () => void): void => {
      const start = w.len;
      w.u16(type).u16(0);
      body();
      w.setU16(start + 2, w.len - start);
      w.pad8(start);
    };
    // OVS's ofpprop_put_u16() pads a 16-bit value to 4 bytes (the property is 8 long).
    if (a.maxLen !== 65535) prop(0, () => w.u16(a.maxLen).u16(0));
    if (a.id) prop(1, () => w.u16(a.id!).u16(0));
    if (reason !== 1) prop(2, () => w.u8(reason));
    if (a.userdata !== undefined) prop(3, () => w.bytes(a.userdata!));
    if (a.pause) prop(4, () => undefined);
    if (a.meterId !== undefined) prop(5, () => w.u32(a.meterId!));
  });
}

function controllerOf(maxLen: number, id: number, reason: number): ControllerAction {
  const a: ControllerAction = { type: 'controller', maxLen };
  if (reason !== 1) a.reason = REASON_CODES[reason] ?? badArg(`packet-in reason ${reason}`);
  if (id) a.id = id;
  return a;
}

function decodeController(r: WireReader, d: ActionDecoder): Action {
  d.len(16);
  const maxLen = r.u16();
  const id = r.u16();
  const reason = r.u8();
  d.zeros(r, 1);
  return controllerOf(maxLen, id, reason);
}

function decodeController2(r: WireReader, d: ActionDecoder): Action {
  d.zeros(r, 6);
  let maxLen = 65535;
  let id = 0;
  let reason = 1;
  let userdata: Uint8Array | undefined;
  let pause = false;
  let meterId: number | undefined;
  while (r.remaining > 0) {
    if (r.remaining < 4) throw new OpenFlowError('OFPBPC_BAD_LEN', 'truncated controller property');
    const type = r.u16();
    const len = r.u16();
    if (len < 4 || len - 4 > r.remaining) throw new OpenFlowError('OFPBPC_BAD_LEN', `controller property of length ${len}`);
    const v = r.sub(len - 4);
    r.skip(Math.min(r.remaining, ((len + 7) & ~7) - len));
    const exact = (n: number): void => {
      if (v.remaining !== n) throw new OpenFlowError('OFPBPC_BAD_LEN', `controller property ${type} of length ${len}`);
    };
    // OVS's ofpprop_parse_u16()/_u8() take any payload at least as long as the value.
    const atLeast = (n: number): void => {
      if (v.remaining < n) throw new OpenFlowError('OFPBPC_BAD_LEN', `controller property ${type} of length ${len}`);
    };
    if (type === 0) (atLeast(2), (maxLen = v.u16()));
    else if (type === 1) (atLeast(2), (id = v.u16()));
    else if (type === 2) (atLeast(1), (reason = v.u8()));
    else if (type === 3) userdata = v.bytes(v.remaining).slice();
    else if (type === 4) (exact(0), (pause = true));
    else if (type === 5) (exact(4), (meterId = v.u32()));
    else throw new OpenFlowError('OFPBPC_BAD_TYPE', `unknown controller property ${type}`);
  }
  const a = controllerOf(maxLen, id, reason);
  if (userdata !== undefined) a.userdata = userdata;
  if (pause) a.pause = true;
  if (meterId !== undefined) a.meterId = meterId;
  return a;
}

function setFieldOf(name: string, value: bigint): Action {
  return { type: 'set_field', field: fieldBySubfieldName(name)!, value };
}

function setFieldDecoded(e: PulledEntry, r: WireReader, d: ActionDecoder): Action {
  d.zeros(r, r.remaining);
  const f = e.field!;
  if (!f.writable) throw new OpenFlowError('OFPBAC_BAD_SET_ARGUMENT', `${f.name} is read-only`);
  const ones = allOnes(f.bits);
  const a: SetFieldAction = { type: 'set_field', field: f, value: e.value };
  if (e.hasMask && e.mask !== ones) a.mask = e.mask;
  return a;
}

/** One NXAST_REG_LOAD: bits `ofs..ofs+nBits` of a field (a set_field with a contiguous mask). */
function decodeRegLoad(r: WireReader, d: ActionDecoder): Action {
  d.len(24);
  const on = r.u16();
  const f = d.fieldOfWord(r.u32(), 'OFPBAC_BAD_SET_ARGUMENT');
  const dst = d.subfieldOfsNbits(f, on);
  const v = r.u64();
  if (dst.nBits < 64 && v >> BigInt(dst.nBits) !== 0n) throw new OpenFlowError('OFPBAC_BAD_SET_ARGUMENT', `value 0x${v.toString(16)} does not fit ${dst.nBits} bits`);
  if (!f.writable) throw new OpenFlowError('OFPBAC_BAD_SET_ARGUMENT', `${f.name} is read-only`);
  const mask = allOnes(dst.nBits) << BigInt(dst.ofs);
  const a: SetFieldAction = { type: 'set_field', field: f, value: v << BigInt(dst.ofs) };
  if (mask !== allOnes(f.bits)) a.mask = mask;
  return a;
}

/**
 * OVS `encode_SET_FIELD()`: OpenFlow 1.5 always OFPAT_SET_FIELD (masked if need be); 1.2-1.4
 * OFPAT_SET_FIELD for a whole field, else NXAST_REG_LOAD per contiguous run of mask bits (at most
 * 64 bits each), or NXAST_REG_LOAD2 for a field without an NXM header; 1.0 the legacy actions where
 * they exist, else the Nicira loads.
 */
function encodeSetField(a: SetFieldAction, e: ActionEncoder): void {
  const f = a.field;
  const whole = a.mask === undefined || a.mask === allOnes(f.bits);
  if (e.version >= OfpVersion.OF15 || (whole && !e.of10)) {
    e.std(OFPAT.SET_FIELD, (w) => putEntryWith(w, fieldHeaderOf(f, e.version), a.value, a.mask));
    return;
  }
  if (e.of10 && whole) {
    const legacy: Record<string, () => void> = {
      eth_src: () => e.std(OFPAT10.SET_DL_SRC, (w) => w.uN(a.value, 6).zeros(6)),
      eth_dst: () => e.std(OFPAT10.SET_DL_DST, (w) => w.uN(a.value, 6).zeros(6)),
      ip_src: () => e.std(OFPAT10.SET_NW_SRC, (w) => w.u32(Number(a.value))),
      ip_dst: () => e.std(OFPAT10.SET_NW_DST, (w) => w.u32(Number(a.value))),
      ip_dscp: () => e.std(OFPAT10.SET_NW_TOS, (w) => w.u8(Number(a.value) << 2).zeros(3)),
      // OVS set_field_to_legacy_openflow(): the VLAN fields as OpenFlow 1.0's VLAN actions.
      vlan_vid: () => e.std(OFPAT10.SET_VLAN_VID, (w) => w.u16(Number(a.value) & 0xfff).zeros(2)),
      vlan_pcp: () => e.std(OFPAT10.SET_VLAN_PCP, (w) => w.u8(Number(a.value)).zeros(3)),
    };
    const l = legacy[f.name];
    if (l) return l();
  }
  if (nxmHeaderWord(f) === undefined || f.bits > 64 * 4) {
    e.nx(NXAST.REG_LOAD2, (w) => putEntryWith(w, fieldHeaderOf(f, 0), a.value, a.mask));
    return;
  }
  const mask = a.mask ?? allOnes(f.bits);
  const word = e.headerWord(f);
  let ofs = 0;
  while (ofs < f.bits) {
    if (((mask >> BigInt(ofs)) & 1n) === 0n) {
      ofs++;
      continue;
    }
    let n = 0;
    while (ofs + n < f.bits && n < 64 && ((mask >> BigInt(ofs + n)) & 1n) === 1n) n++;
    const v = (a.value >> BigInt(ofs)) & allOnes(n);
    const o = ofs;
    e.nx(NXAST.REG_LOAD, (w) => w.u16(ofsNbits(o, n)).u32(word).u64(v));
    ofs += n;
  }
}

function moveDecoded(d: ActionDecoder, r: WireReader, nBits: number, srcOfs: number, dstOfs: number): Action {
  const sf = d.field(r);
  const df = d.field(r);
  d.zeros(r, r.remaining);
  const src = d.subfield(sf, srcOfs, nBits);
  const dst = d.subfield(df, dstOfs, nBits);
  if (!df.writable) throw new OpenFlowError('OFPBAC_BAD_SET_ARGUMENT', `${df.name} is read-only`);
  return { type: 'move', src, dst };
}

function encodeStack(s: Subfield, e: ActionEncoder, w: WireWriter): void {
  w.u16(s.ofs);
  e.header(s.field);
  w.u16(s.nBits);
}

function decodeStack(r: WireReader, d: ActionDecoder): Subfield {
  const ofs = r.u16();
  const f = d.field(r);
  const n = r.u16();
  d.zeros(r, r.remaining);
  return d.subfield(f, ofs, n);
}

function decodeBundle(r: WireReader, d: ActionDecoder, load: boolean): Action {
  const alg = r.u16();
  const fields = HASH_FIELDS[r.u16()] ?? badArg('bundle fields');
  const basis = r.u16();
  const memberType = r.u32();
  const n = r.u16();
  const on = r.u16();
  const dstWord = r.u32();
  d.zeros(r, 4);
  if (alg > 1) badArg(`bundle algorithm ${alg}`);
  if (memberType !== 0x0000_0002) badArg('bundle member type');
  if (d.frameLen < 32 + ((2 * n + 7) & ~7)) throw new OpenFlowError('OFPBAC_BAD_LEN', `bundle with ${n} members in ${d.frameLen} bytes`);
  const members: number[] = [];
  for (let i = 0; i < n; i++) members.push(r.u16());
  const b: BundleAction = { type: 'bundle', fields, basis, algorithm: alg === 1 ? 'hrw' : 'active_backup', members };
  if (load) b.dst = d.subfieldOfsNbits(d.fieldOfWord(dstWord), on);
  else if (on || dstWord) throw new OpenFlowError('NXBRC_MUST_BE_ZERO', 'bundle with a destination');
  return b;
}

function decodeSample(r: WireReader, d: ActionDecoder, version: 1 | 2 | 3): Action {
  d.len(version === 1 ? 24 : 32);
  const probability = r.u16();
  const s: SampleAction = { type: 'sample', probability, collectorSetId: r.u32(), obsDomainId: r.u32(), obsPointId: r.u32() };
  if (version > 1) {
    const port = r.u16();
    const dir = r.u8();
    d.zeros(r, 5);
    if (port !== OFPP.NONE) s.samplingPort = port;
    if (version === 3) {
      if (dir > 2) badArg(`sample direction ${dir}`);
      if (dir) s.direction = dir === 1 ? 'ingress' : 'egress';
    }
  }
  if (probability === 0) badArg('sample probability 0');
  return s;
}

/** NXAST_CT with its nested actions: `nat(...)` (NXAST_NAT) first, then `exec(...)`. */
function encodeCt(a: CtActionSpec, e: ActionEncoder): void {
  e.nx(NXAST.CT, (w) => {
    w.u16((a.commit ? 1 : 0) | (a.force ? 2 : 0));
    if (a.zone === undefined || typeof a.zone === 'number') w.u32(0).u16(a.zone ?? 0);
    else w.u32(e.headerWord(a.zone.field)).u16(ofsNbits(a.zone.ofs, a.zone.nBits));
    w.u8(a.table ?? 0xff).zeros(3);
    const alg = a.alg === undefined ? 0 : (CT_ALGS[a.alg] ?? parseUint(a.alg));
    if (alg === undefined) e.unencodable(`ct alg=${a.alg}`);
    w.u16(Number(alg));
    if (a.nat) encodeNat(a.nat, e);
    e.nested(a.exec);
  });
}

const NAT_FLAGS: ReadonlyArray<readonly [string, number]> = [['persistent', 4], ['hash', 8], ['random', 16]];

function encodeNat(n: NatSpec, e: ActionEncoder): void {
  e.nx(NXAST.NAT, (w) => {
    let flags = n.kind === 'src' ? 1 : n.kind === 'dst' ? 2 : 0;
    for (const [name, bit] of NAT_FLAGS) if (n.flags.includes(name)) flags |= bit;
    w.zeros(2).u16(flags);
    const present = w.len;
    w.u16(0);
    let bits = 0;
    const v6 = n.addrMin?.startsWith('[') === true;
    const addr = (text: string | undefined, bit4: number, bit6: number): void => {
      if (text === undefined) return;
      if (v6) {
        const v = parseIpv6(text.slice(1, -1));
        if (v) (w.uN(v, 16), (bits |= bit6));
      } else {
        const v = parseIpv4(text);
        if (v) (w.u32(v), (bits |= bit4));
      }
    };
    addr(n.addrMin, 1, 4);
    addr(n.addrMax, 2, 8);
    if (n.addrMin !== undefined) {
      if (n.portMin) (w.u16(n.portMin), (bits |= 16));
      if (n.portMax) (w.u16(n.portMax), (bits |= 32));
    }
    w.setU16(present, bits);
  });
}

function decodeNat(r: WireReader, d: ActionDecoder): NatSpec {
  d.zeros(r, 2);
  const flags = r.u16();
  const present = r.u16();
  if (flags & ~31 || (flags & 3) === 3 || (flags & 24) === 24) badArg(`nat flags 0x${flags.toString(16)}`);
  if (present & ~63 || (present & 3 && present & 12)) badArg(`nat range_present 0x${present.toString(16)}`);
  const n: NatSpec = { flags: NAT_FLAGS.filter(([, bit]) => flags & bit).map(([name]) => name) };
  if (flags & 1) n.kind = 'src';
  else if (flags & 2) n.kind = 'dst';
  if (present & 1) n.addrMin = formatIpv4(r.u32());
  if (present & 2) n.addrMax = formatIpv4(r.u32());
  if (present & 4) n.addrMin = `[${formatIpv6(r.uN(16))}]`;
  if (present & 8) n.addrMax = `[${formatIpv6(r.uN(16))}]`;
  if (present & 16) n.portMin = r.u16();
  if (present & 32) n.portMax = r.u16();
  d.zeros(r, r.remaining);
  return n;
}

function decodeCt(r: WireReader, d: ActionDecoder): Action {
  const flags = r.u16();
  const zoneSrc = r.u32();
  const zone = r.u16();
  const table = r.u8();
  d.zeros(r, 3);
  const alg = r.u16();
  if (flags & ~3) badArg(`ct flags 0x${flags.toString(16)}`);
  if (flags & 2 && !(flags & 1)) badArg('ct(force) without commit');
  const a: CtActionSpec = { type: 'ct', commit: (flags & 1) !== 0, force: (flags & 2) !== 0, exec: [] };
  if (zoneSrc) a.zone = d.subfieldOfsNbits(d.fieldOfWord(zoneSrc), zone);
  else if (zone) a.zone = zone;
  if (table !== 0xff) a.table = table;
  if (alg) a.alg = Object.keys(CT_ALGS).find((k) => CT_ALGS[k] === alg) ?? String(alg);
  // A NAT comes first among ct's actions (as OVS writes it); the rest are exec's.
  if (r.remaining >= 16 && r.peekU16() === 0xffff && r.peekU32(4) === VendorId.NX && r.peekU16(8) === NXAST.NAT) {
    const f = pullActionFrame(r, d.version);
    d.frameLen = f.len;
    a.nat = decodeNat(f.body, d);
  }
  a.exec = d.nested(r) as Action[];
  return a;
}

const LEARN_SRC_IMM = 1 << 13;
const LEARN_DST_LOAD = 1 << 11;
const LEARN_DST_OUTPUT = 2 << 11;

/** NXAST_LEARN (NXAST_LEARN2 with `limit` or `result_dst`): the fixed part, then one spec per match/load/output. */
function encodeLearn(a: LearnAction, e: ActionEncoder): void {
  const v2 = !!a.limit || a.resultDst !== undefined;
  e.nx(v2 ? NXAST.LEARN2 : NXAST.LEARN, (w) => {
    const flags = (a.sendFlowRem ? 1 : 0) | (a.deleteLearned ? 2 : 0) | (a.resultDst ? 4 : 0);
    w.u16(a.idleTimeout).u16(a.hardTimeout).u16(a.priority).u64(a.cookie).u16(flags).u8(a.table).u8(0);
    w.u16(a.finIdleTimeout).u16(a.finHardTimeout);
    if (v2) {
      w.u32(a.limit ?? 0).u16(a.resultDst?.ofs ?? 0).u16(0);
      if (a.resultDst) e.header(a.resultDst.field);
    }
    for (const s of a.specs) {
      const imm = s.kind !== 'output' && 'value' in s.src;
      const nBits = s.kind === 'output' ? s.src.nBits : s.dst.nBits;
      w.u16(nBits | (imm ? LEARN_SRC_IMM : 0) | (s.kind === 'load' ? LEARN_DST_LOAD : s.kind === 'output' ? LEARN_DST_OUTPUT : 0));
      if ('value' in s.src) w.uN(s.src.value & allOnes(nBits), 2 * Math.ceil(nBits / 16));
      else w.u32(e.headerWord(s.src.field)).u16(s.src.ofs);
      if (s.kind !== 'output') w.u32(e.headerWord(s.dst.field)).u16(s.dst.ofs);
    }
  });
}

function decodeLearn(r: WireReader, d: ActionDecoder, v2: boolean): Action {
  const idleTimeout = r.u16();
  const hardTimeout = r.u16();
  const priority = r.u16();
  const cookie = r.u64();
  const flags = r.u16();
  const table = r.u8();
  d.zeros(r, 1);
  const a: LearnAction = {
    type: 'learn', table, idleTimeout, hardTimeout, priority, cookie, finIdleTimeout: r.u16(), finHardTimeout: r.u16(),
    sendFlowRem: (flags & 1) !== 0, deleteLearned: (flags & 2) !== 0, specs: [],
  };
  if (flags & ~(v2 ? 7 : 3)) badArg(`learn flags 0x${flags.toString(16)}`);
  if (table === 0xff) badArg('learn table 255');
  if (v2) {
    const limit = r.u32();
    const resultOfs = r.u16();
    d.zeros(r, 2);
    if (limit) a.limit = limit;
    if (flags & 4) a.resultDst = d.subfield(d.field(r), resultOfs, 1);
  }
  while (r.remaining >= 2) {
    const h = r.peekU16();
    if (h === 0) break;
    r.skip(2);
    const nBits = h & 0x3ff;
    const imm = (h & LEARN_SRC_IMM) !== 0;
    const dstType = h & (3 << 11);
    if (h & 0xc000 || dstType === 3 << 11 || (dstType === LEARN_DST_OUTPUT && imm) || nBits === 0) badArg(`learn spec 0x${h.toString(16)}`);
    let src: Subfield | { value: bigint };
    if (imm) src = { value: r.uN(2 * Math.ceil(nBits / 16)) & allOnes(nBits) };
    else {
      const f = d.fieldOfWord(r.u32());
      src = d.subfield(f, r.u16(), nBits);
    }
    if (dstType === LEARN_DST_OUTPUT) {
      a.specs.push({ kind: 'output', src: src as Subfield });
      continue;
    }
    const df = d.fieldOfWord(r.u32());
    const dst = d.subfield(df, r.u16(), nBits);
    a.specs.push({ kind: dstType === LEARN_DST_LOAD ? 'load' : 'match', dst, src });
  }
  d.zeros(r, r.remaining);
  return a;
}

// ---------------------------------------------------------------------------------------------
// The table

const ACTIONS = {
  output: {
    wire: {
      encode(a, e) {
        if (a.maxLen !== undefined) e.nx(NXAST.OUTPUT_TRUNC, (w) => w.u16(a.port).u32(a.maxLen!));
        else if (e.of10) e.std(OFPAT10.OUTPUT, (w) => w.u16(a.port).u16(0));
        else e.std(OFPAT.OUTPUT, (w) => w.u32(portTo11(a.port)).u16(0).zeros(6));
      },
      decode: {
        'of10:0': (r, d) => (d.len(8), outputDecoded(r.u16(), r.u16())),
        'of:0': (r, d) => (d.len(16), outputDecoded(port11(r.u32()), r.u16())),
        'nx:39': (r, d) => (d.len(16), { type: 'output', port: r.u16(), maxLen: r.u32() }),
      },
    },
    keywords: ['output'],
    parse(_kw, arg, p) {
      // OVS parse_OUTPUT(): the truncating form when both words appear, else a port, else a subfield.
      // Ports out of range parse and are refused by the checks (OFPBAC_BAD_OUT_PORT), as in OVS.
      const a = p.need(arg).trim();
      if (a.includes('port') && a.includes('max_len')) return [parseOutputTrunc(p, a)];
      const port = parsePort(a);
      if (port !== undefined) return [outputTo(port)];
      if (/^[A-Za-z0-9_]+\[/.test(a)) return [{ type: 'output_reg', src: parseSubfield(a, p.input, p.col) }];
      return p.err(`${a}: output to unknown port`);
    },
    format(a) {
      if (a.maxLen !== undefined) return `output(port=${formatPort(a.port)},max_len=${a.maxLen})`;
      return a.port >= OFPP.MAX ? formatPort(a.port) : `output:${a.port}`;
    },
    setClass: (a) => (a.maxLen === undefined ? ActionSetClass.OUTPUT : ActionSetClass.INVALID),
    irreversible: (a) => a.maxLen !== undefined,
    check(a) {
      if (!isValidOutputPort(a.port)) throw new OpenFlowError('OFPBAC_BAD_OUT_PORT', `output to invalid port ${formatPort(a.port)}`);
    },
    checkDecoded(a, ports) {
      if (ports && a.maxLen === undefined && !isValidOutputPort(a.port)) {
        throw new OpenFlowError('OFPBAC_BAD_OUT_PORT', `output to invalid port ${formatPort(a.port)}`);
      }
    },
    compile: (a) => ({ kind: PrimKind.Output, port: a.port, maxLen: a.maxLen ?? 65535, trunc: a.maxLen !== undefined }),
  },

  output_reg: {
    wire: {
      encode(a, e) {
        const maxLen = a.maxLen ?? 65535;
        if (nxmHeaderWord(a.src.field) !== undefined) {
          e.nx(NXAST.OUTPUT_REG, (w) => w.u16(ofsNbits(a.src.ofs, a.src.nBits)).u32(e.headerWord(a.src.field)).u16(maxLen));
        } else {
          e.nx(NXAST.OUTPUT_REG2, (w) => {
            w.u16(ofsNbits(a.src.ofs, a.src.nBits)).u16(maxLen);
            e.header(a.src.field);
          });
        }
      },
      decode: {
        'nx:15': (r, d) => {
          d.len(24);
          const on = r.u16();
          const src = d.subfieldOfsNbits(d.fieldOfWord(r.u32()), on);
          return outputRegDecoded(src, r.u16());
        },
        'nx:32': (r, d) => {
          const on = r.u16();
          const maxLen = r.u16();
          return outputRegDecoded(d.subfieldOfsNbits(d.field(r), on), maxLen);
        },
      },
    },
    // Parsed by `output` (`output:FIELD[a..b]`).
    keywords: [],
    format(a) {
      if (a.maxLen !== undefined) return `output(port=${formatSubfield(a.src)},max_len=${a.maxLen})`;
      return `output:${formatSubfield(a.src)}`;
    },
    setClass: () => ActionSetClass.INVALID,
    check(a, st) {
      checkSrcPrereq(a.src.field, st.m, 'source');
    },
    compile(a) {
      const src = a.src;
      const maxLen = a.maxLen ?? 65535;
      return (x, bucket) => {
        const r = x.rec;
        if (r !== null) {
          if (r.ovsExact) r.markSubfield(src);
          else r.markField(src.field);
          const port = readSubfield(x.key.w, src);
          if (port === OFPP.TABLE || port === OFPP.CONTROLLER) r.uncacheable();
          else r.outputRegEvent(src, maxLen, bucket);
        }
        x.outputReg(src, maxLen, bucket);
        return false;
      };
    },
  },

  controller: {
    wire: {
      encode: encodeController,
      decode: { 'nx:20': decodeController, 'nx:37': decodeController2 },
    },
    keywords: ['controller'],
    parse(_kw, arg, p) {
      return [parseController(p, arg)];
    },
    format(a) {
      if (a.reason === undefined && a.id === undefined && a.userdata === undefined && !a.pause && a.meterId === undefined) {
        return `CONTROLLER:${a.maxLen}`;
      }
      const parts: string[] = [];
      if (a.reason !== undefined) parts.push(`reason=${a.reason}`);
      if (a.maxLen !== 65535) parts.push(`max_len=${a.maxLen}`);
      if (a.id !== undefined) parts.push(`id=${a.id}`);
      if (a.userdata !== undefined) parts.push(`userdata=${dottedHex(a.userdata)}`);
      if (a.pause) parts.push('pause');
      if (a.meterId !== undefined) parts.push(`meter_id=${a.meterId}`);
      return `controller(${parts.join(',')})`;
    },
    // A plain controller action is OVS's `output:CONTROLLER` (an output in an action set).
    setClass: (a) => (isPlainController(a) ? ActionSetClass.OUTPUT : ActionSetClass.INVALID),
    compile(a) {
      const maxLen = a.maxLen;
      // OVS keeps the plain form as output:CONTROLLER: the reason then comes from the context.
      const plain = isPlainController(a);
      const reason = a.reason !== undefined ? (REASONS[a.reason] ?? 'action') : 'action';
      const id = a.id ?? 0;
      const userdata = a.userdata;
      const pause = a.pause === true;
      return (x, bucket) => {
        if (plain) x.output(OFPP.CONTROLLER, maxLen, bucket);
        else x.controller(maxLen, reason, id, userdata);
        // `pause` freezes the translation: the controller resumes it (NXT_RESUME).
        if (pause) x.halt();
        return pause;
      };
    },
  },

  set_field: {
    wire: {
      encode: encodeSetField,
      decode: {
        'of:25': (r, d) => setFieldDecoded(pullEntry(r, { isAction: true, allowMask: d.version >= OfpVersion.OF15 }), r, d),
        'nx:33': (r, d) => setFieldDecoded(pullEntry(r, { isAction: true, allowMask: true }), r, d),
        'nx:7': decodeRegLoad,
        'nx:30': (r, d) => (d.len(16), r.skip(2), setFieldOf('mpls_label', BigInt(r.u32()))),
        'nx:31': (r, d) => (d.len(16), setFieldOf('mpls_tc', BigInt(r.u8()))),
        'nx:2': (r, d) => (d.len(16), r.skip(2), setFieldOf('tun_id', BigInt(r.u32()))),
        'nx:9': (r, d) => (d.len(24), r.skip(6), setFieldOf('tun_id', r.u64())),
        'of10:1': (r, d) => {
          d.len(8);
          const vid = r.u16();
          if (vid & ~0xfff) throw new OpenFlowError('OFPBAC_BAD_ARGUMENT', `OFPAT10_SET_VLAN_VID ${vid}`);
          return { ...setFieldOf('vlan_vid', BigInt(vid | 0x1000)), vlanPush: true };
        },
        'of10:2': (r, d) => {
          d.len(8);
          const pcp = r.u8();
          if (pcp & ~7) throw new OpenFlowError('OFPBAC_BAD_ARGUMENT', `OFPAT10_SET_VLAN_PCP ${pcp}`);
          return { ...setFieldOf('vlan_pcp', BigInt(pcp)), vlanPush: true };
        },
        'of10:4': (r, d) => (d.len(16), setFieldOf('eth_src', r.uN(6))),
        'of10:5': (r, d) => (d.len(16), setFieldOf('eth_dst', r.uN(6))),
        'of10:6': (r, d) => (d.len(8), setFieldOf('ip_src', BigInt(r.u32()))),
        'of10:7': (r, d) => (d.len(8), setFieldOf('ip_dst', BigInt(r.u32()))),
        'of10:8': (r, d) => (d.len(8), setFieldOf('ip_dscp', BigInt(r.u8() >> 2))),
        'of:3': (r, d) => (d.len(16), setFieldOf('eth_src', r.uN(6))),
        'of:4': (r, d) => (d.len(16), setFieldOf('eth_dst', r.uN(6))),
        'of:5': (r, d) => (d.len(8), setFieldOf('ip_src', BigInt(r.u32()))),
        'of:6': (r, d) => (d.len(8), setFieldOf('ip_dst', BigInt(r.u32()))),
        'of:7': (r, d) => (d.len(8), setFieldOf('ip_dscp', BigInt(r.u8() >> 2))),
        'of:8': (r, d) => (d.len(8), setFieldOf('nw_ecn', BigInt(r.u8() & 3))),
      },
    },
    keywords: ['set_field', 'load', 'mod_dl_src', 'mod_dl_dst', 'mod_nw_src', 'mod_nw_dst', 'mod_nw_tos', 'mod_nw_ecn', 'mod_vlan_vid', 'mod_vlan_pcp', 'set_tunnel', 'set_tunnel64', 'set_mpls_label', 'set_mpls_tc'],
    parse(kw, arg, p) {
      const need = (): string => p.need(arg);
      switch (kw) {
        case 'set_field': {
          const a = need();
          const i = a.lastIndexOf('->');
          if (i < 0) p.err('expected set_field:VALUE[/MASK]->FIELD');
          return [setFieldFromText(p, a.slice(i + 2), a.slice(0, i))];
        }
        case 'load':
          return [parseLoad(p, need())];
        case 'mod_dl_src':
          return [setFieldFromText(p, 'eth_src', need())];
        case 'mod_dl_dst':
          return [setFieldFromText(p, 'eth_dst', need())];
        case 'mod_nw_src':
          return [setFieldFromText(p, 'ip_src', need())];
        case 'mod_nw_dst':
          return [setFieldFromText(p, 'ip_dst', need())];
        case 'mod_nw_tos': {
          const v = p.num(need(), 'nw_tos', 255);
          if (v & 3) p.err(`${v}: not a valid TOS (low 2 bits must be zero)`);
          return [{ type: 'set_field', field: fieldBySubfieldName('ip_dscp')!, value: BigInt(v >> 2) }];
        }
        case 'mod_nw_ecn':
          return [{ type: 'set_field', field: fieldBySubfieldName('nw_ecn')!, value: BigInt(p.num(need(), 'nw_ecn', 3)) }];
        case 'set_mpls_label': {
          // OVS parse_SET_MPLS_LABEL(); OpenFlow 1.5 carries it as a set_field of mpls_label.
          const t = arg.text ?? '';
          if (t === '') p.err('set_mpls_label: expected label.');
          const v = parseUint(t.trim());
          if (v === undefined || v > 0xffff_ffffn) return p.err(`invalid numeric format ${t}`);
          if (v > 0xfffffn) p.err(`${t}: not a valid MPLS label`);
          return [{ type: 'set_field', field: fieldBySubfieldName('mpls_label')!, value: v }];
        }
        case 'set_mpls_tc': {
          const t = arg.text ?? '';
          if (t === '') p.err('set_mpls_tc: expected tc.');
          const v = p.u8(t, 'MPLS TC');
          if (v > 7) p.err(`${t}: not a valid MPLS TC`);
          return [{ type: 'set_field', field: fieldBySubfieldName('mpls_tc')!, value: BigInt(v) }];
        }
        case 'set_tunnel':
        case 'set_tunnel64': {
          // OVS NXAST_SET_TUNNEL(64); under OpenFlow 1.5 the switch holds a set_field of tun_id.
          const v = parseUint(need().trim());
          if (v === undefined || v > 0xffff_ffff_ffff_ffffn) return p.err(`${need()}: invalid numeric format`);
          return [{ type: 'set_field', field: fieldBySubfieldName('tun_id')!, value: v }];
        }
        default: {
          // mod_vlan_vid / mod_vlan_pcp: OVS pushes a tag first when the flow has none at this point.
          const isVid = kw === 'mod_vlan_vid';
          const v = p.num(need(), isVid ? 'VLAN VID' : 'VLAN PCP', isVid ? 4095 : 7);
          const out: Action[] = [];
          if (!p.ctx.hasVlan) out.push({ type: 'push_vlan', ethertype: 0x8100 });
          out.push(
            isVid
              ? { type: 'set_field', field: fieldBySubfieldName('vlan_vid')!, value: BigInt(v | 0x1000) }
              : { type: 'set_field', field: fieldBySubfieldName('vlan_pcp')!, value: BigInt(v) },
          );
          return out;
        }
      }
    },
    format(a) {
      return `set_field:${formatFieldValue(a.field, a.value, a.mask)}->${a.field.name}`;
    },
    setClass: () => ActionSetClass.SET_OR_MOVE,
    track(a, ctx) {
      // A vlan_tci write replaces the outer TCI with its value (mask ignored); vlan_vid changes nothing.
      if (a.field.name === 'vlan_tci') ctx.hasVlan = (a.value & 0x1000n) !== 0n;
    },
    checkParsed(a, inCt) {
      const f = a.field;
      if ((f.name === 'ct_mark' || f.name === 'ct_label') && !inCt) {
        throw new OpenFlowError('OFPBAC_BAD_SET_ARGUMENT', 'cannot set CT fields outside of ct action');
      }
      if (f.nwords === 1 && (a.value & ~BigInt(f.vmask)) !== 0n && f.name !== 'nw_tos') {
        throw new OpenFlowError('OFPBAC_BAD_SET_ARGUMENT', `value ${a.value} invalid for ${f.name}`);
      }
    },
    check(a, st) {
      const f = a.field;
      const m = st.m;
      if (a.modTp) {
        // Still OVS's OFPACT_SET_L4_*_PORT here (check_set_l4_port): without TCP/UDP/SCTP the flow is
        // OpenFlow 1.0 only; the set_field check comes when the switch decodes it (checkModTpDecoded).
        if (!prereqOk(f.prereq, m) || (m.value[W.nw_frag]! & FRAG_LATER) !== 0) st.narrowed ??= inconsistent(`${f.name === 'tcp_src' || f.name === 'udp_src' || f.name === 'sctp_src' ? 'mod_tp_src' : 'mod_tp_dst'} needs a tcp, udp or sctp match`);
        return;
      }
      // OpenFlow 1.2+ semantics (OVS check_SET_FIELD): setting vlan_vid needs an existing VLAN header.
      if (!prereqOk(f.prereq, m) || (f.name === 'vlan_vid' && !(m.value[W.vlan_tci]! & VLAN_CFI))) {
        throw inconsistent(`set_field ${f.name} lacks correct prerequisites`);
      }
      if (f.name === 'vlan_tci') {
        // The set may add or remove the tag: OVS takes the whole value as the new TCI (mask ignored).
        m.value[W.vlan_tci] = Number(a.value & 0xffffn);
        m.mask[W.vlan_tci] = 0xffff;
      }
    },
    checkDecoded(a) {
      if (a.mask !== undefined && (a.value & ~a.mask) !== 0n) {
        throw new OpenFlowError('OFPBMC_BAD_WILDCARDS', `set_field ${a.field.name}: value has 1-bits outside the mask`);
      }
      if (a.field.name === 'vlan_vid' && ((a.value & 0x1000n) === 0n || ((a.mask ?? 0x1000n) & 0x1000n) === 0n)) {
        throw new OpenFlowError('OFPBAC_BAD_SET_ARGUMENT', 'set_field vlan_vid needs OFPVID_PRESENT (0x1000) in value and mask');
      }
    },
    compile: (a) => setFieldPrim(a.field, a.value, a.mask),
  },

  move: {
    wire: {
      encode(a, e) {
        if (e.version >= OfpVersion.OF15) {
          e.std(OFPAT.COPY_FIELD, (w) => {
            w.u16(a.dst.nBits).u16(a.src.ofs).u16(a.dst.ofs).zeros(2);
            e.header(a.src.field, e.version);
            e.header(a.dst.field, e.version);
          });
        } else {
          e.nx(NXAST.REG_MOVE, (w) => {
            w.u16(a.dst.nBits).u16(a.src.ofs).u16(a.dst.ofs);
            e.header(a.src.field);
            e.header(a.dst.field);
          });
        }
      },
      decode: {
        'of:28': (r, d) => {
          const n = r.u16();
          const so = r.u16();
          const dO = r.u16();
          r.skip(2);
          return moveDecoded(d, r, n, so, dO);
        },
        'onf:3200': (r, d) => {
          r.skip(2);
          const n = r.u16();
          const so = r.u16();
          const dO = r.u16();
          r.skip(2);
          return moveDecoded(d, r, n, so, dO);
        },
        'nx:6': (r, d) => {
          const n = r.u16();
          const so = r.u16();
          return moveDecoded(d, r, n, so, r.u16());
        },
      },
    },
    keywords: ['move'],
    parse(_kw, arg, p) {
      const a = p.need(arg);
      const i = a.indexOf('->');
      if (i < 0) p.err('expected move:SRC[a..b]->DST[c..d]');
      const src = parseSubfield(a.slice(0, i), p.input, p.col);
      const dst = parseSubfield(a.slice(i + 2), p.input, p.col);
      if (src.nBits !== dst.nBits) p.err(`${a}: source field is ${src.nBits} bits wide but destination is ${dst.nBits} bits wide`);
      if (!dst.field.writable) p.err(`destination field ${dst.field.name} is read-only`);
      return [{ type: 'move', src, dst }];
    },
    format(a) {
      return `move:${formatSubfield(a.src)}->${formatSubfield(a.dst)}`;
    },
    setClass: () => ActionSetClass.SET_OR_MOVE,
    check(a, st) {
      checkSrcPrereq(a.src.field, st.m, 'source');
      checkSrcPrereq(a.dst.field, st.m, 'destination');
    },
    compile: compileMove,
  },

  dec_ttl: {
    wire: {
      encode(a, e) {
        if (a.ids === undefined || (a.ids.length === 1 && a.ids[0] === 0)) {
          if (e.of10) e.nx(NXAST.DEC_TTL);
          else e.std(OFPAT.DEC_NW_TTL);
          return;
        }
        const ids = a.ids;
        e.nx(NXAST.DEC_TTL_CNT_IDS, (w) => {
          w.u16(ids.length).zeros(4);
          for (const id of ids) w.u16(id);
        });
      },
      decode: {
        'of:24': (_r, d) => (d.len(8), { type: 'dec_ttl' }),
        'nx:18': (_r, d) => (d.len(16), { type: 'dec_ttl' }),
        'nx:21': (r, d) => {
          const n = r.u16();
          d.zeros(r, 4);
          if (r.remaining < 2 * n) throw new OpenFlowError('OFPBAC_BAD_LEN', `dec_ttl with ${n} controller ids in ${d.frameLen} bytes`);
          const ids: number[] = [];
          for (let i = 0; i < n; i++) ids.push(r.u16());
          return { type: 'dec_ttl', ids };
        },
      },
    },
    keywords: ['dec_ttl'],
    parse(_kw, arg, p) {
      if (!arg.paren) return [{ type: 'dec_ttl' }];
      // `dec_ttl()` is how OVS prints NXAST_DEC_TTL_CNT_IDS with no controller (ovn-controller's form).
      if (p.need(arg).trim() === '') return [{ type: 'dec_ttl', ids: [] }];
      const ids = p.need(arg).split(',').map((x) => p.num(x, 'controller id', 65535));
      return [{ type: 'dec_ttl', ids }];
    },
    format(a) {
      return a.ids ? `dec_ttl(${a.ids.join(',')})` : 'dec_ttl';
    },
    setClass: () => ActionSetClass.DEC_TTL,
    check(_a, st) {
      if (!prereqOk(Prereq.IpAny, st.m)) st.narrowed ??= inconsistent('dec_ttl needs an IPv4 or IPv6 match');
    },
    compile(a) {
      const ids = a.ids ?? DEFAULT_TTL_IDS;
      return (x) => {
        const w = x.key.w;
        const r = x.rec;
        if (r !== null) {
          r.mark(W.dl_type, 0xffffffff);
          r.mark(W.nw_ttl, r.ovsExact ? 0xff : 0xffffffff);
          // Debian's 3.1.0 ("ofproto-dpif-xlate: Always mask ip proto field", CVE-2023-1668).
          if (r.ovsExact) r.mark(W.nw_proto, 0xff);
        }
        const dl = w[W.dl_type];
        if (dl !== ETH_TYPE_IP && dl !== ETH_TYPE_IPV6) return false;
        if (w[W.nw_ttl]! > 1) {
          w[W.nw_ttl] = w[W.nw_ttl]! - 1;
          return false;
        }
        for (const id of ids) x.controller(65535, 'invalid_ttl', id, undefined);
        if (x.tr !== null) x.tr.report('warn', `IPv${dl === ETH_TYPE_IP ? 4 : 6} decrement TTL exception`);
        return true;
      };
    },
  },

  mod_nw_ttl: {
    wire: {
      encode(a, e) {
        if (e.of10) e.nx(NXAST.REG_LOAD, (w) => w.u16(ofsNbits(0, 8)).u32(e.headerWord(fieldBySubfieldName('nw_ttl')!)).u64(BigInt(a.ttl)));
        else e.std(OFPAT.SET_NW_TTL, (w) => w.u8(a.ttl).zeros(3));
      },
      decode: { 'of:23': (r, d) => (d.len(8), { type: 'mod_nw_ttl', ttl: r.u8() }) },
    },
    keywords: ['mod_nw_ttl'],
    parse(_kw, arg, p) {
      return [{ type: 'mod_nw_ttl', ttl: p.num(p.need(arg), 'TTL', 255) }];
    },
    format(a) {
      return `mod_nw_ttl:${a.ttl}`;
    },
    setClass: () => ActionSetClass.SET_OR_MOVE,
    check(_a, st) {
      if (!prereqOk(Prereq.IpAny, st.m)) st.narrowed ??= inconsistent('mod_nw_ttl needs an IPv4 or IPv6 match');
    },
    compile(a) {
      const ttl = a.ttl;
      return (x) => {
        const r = x.rec;
        const w = x.key.w;
        const dl = w[W.dl_type];
        const ip = dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6;
        if (r !== null && (ip || !r.ovsExact)) {
          r.mark(W.dl_type, 0xffffffff);
          r.mark(W.nw_ttl, r.ovsExact ? 0xff : 0xffffffff);
          if (r.ovsExact) r.mark(W.nw_proto, 0xff);
        }
        if (ip) w[W.nw_ttl] = ttl;
        return false;
      };
    },
  },

  push_vlan: {
    wire: {
      encode(a, e) {
        if (e.of10) e.unencodable('push_vlan');
        e.std(OFPAT.PUSH_VLAN, (w) => w.u16(a.ethertype).zeros(2));
      },
      decode: {
        'of:17': (r, d) => {
          d.len(8);
          const ethertype = r.u16();
          if (ethertype !== 0x8100 && ethertype !== 0x88a8) throw new OpenFlowError('OFPBAC_BAD_ARGUMENT', `push_vlan ethertype 0x${ethertype.toString(16)}`);
          return { type: 'push_vlan', ethertype };
        },
      },
    },
    keywords: ['push_vlan'],
    parse(_kw, arg, p) {
      const v = p.num(p.need(arg), 'ethertype', 65535);
      if (v !== 0x8100 && v !== 0x88a8) p.err(`0x${v.toString(16)}: not a valid VLAN ethertype`);
      return [{ type: 'push_vlan', ethertype: v }];
    },
    format(a) {
      return `push_vlan:0x${a.ethertype.toString(16)}`;
    },
    setClass: () => ActionSetClass.PUSH_VLAN,
    track(_a, ctx) {
      ctx.innerVlan = ctx.hasVlan;
      ctx.hasVlan = true;
    },
    check(_a, st) {
      const m = st.m;
      // OVS keeps at most FLOW_MAX_VLAN_HEADERS (2) tags.
      if (st.vlan1 & VLAN_CFI) throw new OpenFlowError('OFPBAC_BAD_TAG', 'push_vlan onto two VLAN headers (at most two are supported)');
      st.vlan1 = m.value[W.vlan_tci]!;
      m.mask[W.vlan_tci] = 0xffff;
      m.value[W.vlan_tci] = VLAN_CFI;
    },
    compile(a) {
      const tpid = a.ethertype;
      return (x) => {
        const r = x.rec;
        if (r !== null) {
          // OVS flow_push_vlan_uninit(): the headers already there, in full.
          if (!r.ovsExact || (x.key.w[W.vlan_tci]! & VLAN_CFI) !== 0) r.mark(W.vlan_tci, r.ovsExact ? 0xffff : 0xffffffff);
          if (r.ovsExact && (x.key.vlan2Tci & VLAN_CFI) !== 0) r.mark(WC_VLAN1, 0xffff);
          r.vlanChanged();
        }
        const k = x.key;
        k.vlan2Tci = k.w[W.vlan_tci]!;
        k.vlan2Tpid = k.vlanTpid;
        k.w[W.vlan_tci] = VLAN_CFI;
        k.vlanTpid = tpid;
        return false;
      };
    },
  },

  pop_vlan: {
    wire: {
      encode(_a, e) {
        e.std(e.of10 ? OFPAT10.STRIP_VLAN : OFPAT.POP_VLAN);
      },
      decode: {
        'of10:3': (_r, d) => (d.len(8), { type: 'pop_vlan' }),
        'of:18': (_r, d) => (d.len(8), { type: 'pop_vlan' }),
      },
    },
    keywords: ['pop_vlan', 'strip_vlan'],
    parse() {
      return [{ type: 'pop_vlan' }];
    },
    format() {
      return 'pop_vlan';
    },
    setClass: () => ActionSetClass.POP_VLAN,
    track(_a, ctx) {
      // A pop brings the inner header out (nothing when there is no outer header).
      if (ctx.hasVlan) {
        ctx.hasVlan = ctx.innerVlan ?? false;
        ctx.innerVlan = false;
      }
    },
    check(_a, st) {
      const m = st.m;
      if (!(m.value[W.vlan_tci]! & VLAN_CFI)) {
        st.narrowed ??= new OpenFlowError('OFPBAC_BAD_TAG', 'pop_vlan/strip_vlan without a VLAN match');
        return;
      }
      m.mask[W.vlan_tci] = 0xffff;
      m.value[W.vlan_tci] = st.vlan1 & VLAN_CFI ? st.vlan1 : 0;
      st.vlan1 = 0;
    },
    compile() {
      return (x) => {
        const r = x.rec;
        if (r !== null) {
          // OVS flow_pop_vlan() marks the inner headers; the popped one is marked when the change
          // is committed to the datapath (commit_vlan_action).
          if (!r.ovsExact) r.mark(W.vlan_tci, 0xffffffff);
          else if ((x.key.vlan2Tci & VLAN_CFI) !== 0) r.mark(WC_VLAN1, 0xffff);
          r.vlanChanged();
        }
        const k = x.key;
        if ((k.w[W.vlan_tci]! & VLAN_CFI) !== 0) {
          k.w[W.vlan_tci] = k.vlan2Tci;
          k.vlanTpid = k.vlan2Tpid;
          k.vlan2Tci = 0;
          k.vlan2Tpid = 0;
        }
        return false;
      };
    },
  },

  resubmit: {
    wire: {
      encode(a, e) {
        const port = a.port ?? OFPP.IN_PORT;
        if (a.table === undefined && !a.ct) e.nx(NXAST.RESUBMIT, (w) => w.u16(port));
        else e.nx(a.ct ? NXAST.RESUBMIT_TABLE_CT : NXAST.RESUBMIT_TABLE, (w) => w.u16(port).u8(a.table ?? 0xff).zeros(3));
      },
      decode: {
        'nx:1': (r, d) => (d.len(16), resubmitDecoded(r.u16(), 0xff, false)),
        'nx:14': (r, d) => {
          d.len(16);
          const port = r.u16();
          const table = r.u8();
          d.zeros(r, 3);
          return resubmitDecoded(port, table, false);
        },
        'nx:44': (r, d) => {
          d.len(16);
          const port = r.u16();
          const table = r.u8();
          d.zeros(r, 3);
          return resubmitDecoded(port, table, true);
        },
      },
    },
    keywords: ['resubmit'],
    parse(_kw, arg, p) {
      return [parseResubmit(p, p.need(arg), arg.paren)];
    },
    format(a) {
      if (a.table === undefined && !a.ct) return `resubmit:${formatPort(a.port!)}`;
      return `resubmit(${a.port === undefined ? '' : formatPort(a.port)},${a.table ?? ''}${a.ct ? ',ct' : ''})`;
    },
    setClass: () => ActionSetClass.RESUBMIT,
    check(a, st) {
      if (a.ct && !isCtValid(st.m)) throw inconsistent('resubmit(,,ct) needs a valid connection-tracking state in the match');
    },
    compile(a) {
      const port = a.port ?? OFPP.IN_PORT;
      const table = a.table ?? 255;
      if (!a.ct) return { kind: PrimKind.Resubmit, port, table };
      return (x) => {
        const w = x.key.w;
        const inPort = port === OFPP.IN_PORT ? w[W.in_port]! : port;
        const t = table === 255 ? x.tableId : table;
        const r = x.rec;
        if (r !== null) r.uncacheable();
        const dl = w[W.dl_type];
        if (w[W.ct_nw_proto] === 0 || (dl !== ETH_TYPE_IP && dl !== ETH_TYPE_IPV6)) {
          if (x.tr !== null) x.tr.report('error', 'resubmit(ct) with non-tracked or non-IP packet!');
          return false;
        }
        swapCtTuple(w);
        x.resubmit(inPort, t);
        swapCtTuple(w);
        return false;
      };
    },
  },

  group: {
    wire: u32ArgWire(OFPAT.GROUP, NXAST.GROUP, (a) => a.groupId, (groupId) => ({ type: 'group', groupId })),
    keywords: ['group'],
    parse(_kw, arg, p) {
      return [{ type: 'group', groupId: p.num(p.need(arg), 'group id', 0xffffff00) }];
    },
    format(a) {
      return `group:${a.groupId}`;
    },
    setClass: () => ActionSetClass.GROUP,
    checkEnv(a, env) {
      if (!env.groupExists(a.groupId)) throw new OpenFlowError('OFPBAC_BAD_OUT_GROUP', `group ${a.groupId} does not exist`);
    },
    compile(a) {
      const id = a.groupId;
      return (x) => x.group(id);
    },
  },

  note: {
    wire: {
      encode(a, e) {
        e.nx(NXAST.NOTE, (w) => w.bytes(a.data));
      },
      // OVS keeps the padding: the note is every byte after the subtype.
      decode: { 'nx:8': (r) => ({ type: 'note', data: r.bytes(r.remaining).slice() }) },
    },
    keywords: ['note'],
    parse(_kw, arg, p) {
      return [{ type: 'note', data: padNote(parseDottedHex(p, p.need(arg))) }];
    },
    format(a) {
      return `note:${dottedHex(padNote(a.data))}`;
    },
    setClass: () => ActionSetClass.INVALID,
    compile() {
      return () => false;
    },
  },

  ct: {
    wire: { encode: encodeCt, decode: { 'nx:35': decodeCt } },
    keywords: ['ct'],
    parse(_kw, arg, p) {
      return [parseCt(p, arg.paren ? arg.text : undefined)];
    },
    format: formatCt,
    setClass: () => ActionSetClass.CT,
    irreversible: () => true,
    nested: (a) => [a.exec],
    checkParsed(a) {
      for (const e of a.exec) {
        // OVS ofpacts_verify_nested(): a set_field or move whose destination is ct_mark or ct_label.
        const dst = e.type === 'set_field' ? e.field : e.type === 'move' ? e.dst.field : undefined;
        if (!dst || (dst.name !== 'ct_mark' && dst.name !== 'ct_label')) {
          throw new OpenFlowError('OFPBAC_BAD_ARGUMENT', 'ct exec only allows set_field or move to ct_mark or ct_label');
        }
      }
      checkActionsParsed(a.exec, true);
    },
    check(a, st) {
      const m = st.m;
      if (!prereqOk(Prereq.IpAny, m)) throw inconsistent('ct needs an IPv4 or IPv6 match');
      if (a.commit && m.value[W.ct_state]! & CS_INVALID) throw inconsistent('ct(commit) on an invalid connection (ct_state=+inv)');
      if (a.alg !== undefined) {
        const need = a.alg === 'ftp' ? 6 : a.alg === 'tftp' ? 17 : -1;
        if (m.nwProto !== need) throw inconsistent(`ct alg=${a.alg} needs ${need === 6 ? 'tcp' : 'udp'}`);
      }
      if (a.zone !== undefined && typeof a.zone !== 'number') {
        checkSrcPrereq(a.zone.field, m, 'ct zone');
        return; // OVS check_CT returns here: the nested actions are not checked
      }
      checkActionsAgainst(a.exec, st);
    },
    checkDecoded(a, ports) {
      checkActionsDecoded(a.exec, ports);
    },
    compile(a) {
      const c = prepareCt(a);
      return (x) => {
        x.ct(c);
        return false;
      };
    },
  },

  ct_clear: {
    wire: {
      encode(_a, e) {
        e.nx(NXAST.CT_CLEAR);
      },
      decode: { 'nx:43': (_r, d) => (d.len(16), { type: 'ct_clear' }) },
    },
    keywords: ['ct_clear'],
    parse() {
      return [{ type: 'ct_clear' }];
    },
    format() {
      return 'ct_clear';
    },
    setClass: () => ActionSetClass.CT_CLEAR,
    compile() {
      return (x) => {
        // Cacheable: a translation's events say whether the ct words are cleared (megaflow.ts).
        clearCt(x.key.w);
        // OVS emits the datapath ct_clear only for a packet the tracker has seen in this pass.
        if (x.tr !== null && x.conntracked) x.tr.datapath('ct_clear');
        return false;
      };
    },
  },

  learn: {
    wire: { encode: encodeLearn, decode: { 'nx:16': (r, d) => decodeLearn(r, d, false), 'nx:45': (r, d) => decodeLearn(r, d, true) } },
    keywords: ['learn'],
    parse(_kw, arg, p) {
      return [parseLearn(p, p.need(arg))];
    },
    format: formatLearn,
    setClass: () => ActionSetClass.INVALID,
    check(a, st) {
      checkLearn(a, st.m);
    },
    compile(a) {
      return (x) => {
        x.learn(a);
        return false;
      };
    },
  },

  conjunction: {
    wire: {
      encode(a, e) {
        e.nx(NXAST.CONJUNCTION, (w) => w.u8(a.clause - 1).u8(a.nClauses).u32(a.id));
      },
      decode: {
        'nx:34': (r, d) => {
          d.len(16);
          const clause = r.u8();
          const nClauses = r.u8();
          const id = r.u32();
          if (nClauses < 2 || nClauses > 64 || clause >= nClauses) throw new OpenFlowError('NXBAC_BAD_CONJUNCTION', `conjunction clause ${clause + 1}/${nClauses}`);
          return { type: 'conjunction', id, clause: clause + 1, nClauses };
        },
      },
    },
    keywords: ['conjunction'],
    parse(_kw, arg, p) {
      const m = /^\s*(\d+)\s*,\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(p.need(arg));
      if (!m) return p.err('expected conjunction(id,k/n)');
      const [id, k, n] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (n < 2 || n > 64 || k < 1 || k > n) p.err(`conjunction clause ${k}/${n} out of range (need 1 <= k <= n, 2 <= n <= 64)`);
      return [{ type: 'conjunction', id, clause: k, nClauses: n }];
    },
    format(a) {
      return `conjunction(${a.id},${a.clause}/${a.nClauses})`;
    },
    setClass: () => ActionSetClass.INVALID,
    compile() {
      return (x) => {
        if (x.rec !== null) x.rec.uncacheable();
        if (x.tr !== null) x.tr.report('error', 'executing no-op conjunction action');
        return false;
      };
    },
  },

  meter: {
    wire: {
      // OpenFlow 1.3 and 1.4 carry a meter as an instruction (encodeInstructions), 1.5 as an action.
      encode(a, e) {
        if (e.version < OfpVersion.OF15) e.unencodable('a meter action');
        e.std(OFPAT.METER, (w) => w.u32(a.meterId));
      },
      decode: { 'of:29': (r, d) => (d.len(8), { type: 'meter', meterId: r.u32() }) },
    },
    keywords: ['meter'],
    parse(_kw, arg, p) {
      return [{ type: 'meter', meterId: p.num(p.need(arg), 'meter id', 0xffffffff) }];
    },
    format(a) {
      return `meter:${a.meterId}`;
    },
    setClass: () => ActionSetClass.INVALID,
    irreversible: () => true,
    checkEnv(a, env) {
      if (!env.meterExists(a.meterId)) throw new OpenFlowError('OFPMMFC_INVALID_METER', `meter ${a.meterId} does not exist`);
    },
    compile(a) {
      const id = a.meterId;
      return (x) => {
        x.meter(id);
        return false;
      };
    },
  },
  clone: {
    wire: {
      encode(a, e) {
        e.nx(NXAST.CLONE, (w) => {
          w.zeros(6);
          e.nested(a.actions);
        });
      },
      decode: {
        'nx:42': (r, d) => {
          d.zeros(r, 6);
          return { type: 'clone', actions: d.nested(r) as Action[] };
        },
      },
    },
    keywords: ['clone'],
    parse(_kw, arg, p) {
      if (!arg.paren) p.err('clone needs (actions)');
      return [{ type: 'clone', actions: parseActionList(arg.text ?? '', p.input, arg.col, { ...p.ctx }) }];
    },
    format(a) {
      return `clone(${formatActionList(a.actions)})`;
    },
    setClass: () => ActionSetClass.INVALID,
    nested: (a) => [a.actions],
    checkParsed(a) {
      // OVS ofpacts_verify_nested(): no meter inside a clone (ct fields are refused by set_field's own check).
      for (const e of a.actions) if (e.type === 'meter') throw new OpenFlowError('OFPBAC_BAD_ARGUMENT', "clone action doesn't support nested action meter");
      checkActionsParsed(a.actions);
    },
    check(a, st) {
      // OVS check_CLONE: the nested actions see (and change) the same match.
      checkActionsAgainst(a.actions, st);
    },
    checkDecoded(a, ports) {
      checkActionsDecoded(a.actions, ports);
    },
    compile(a) {
      const ops = a.actions.map(compileAction);
      const reversible = reversibleActions(a.actions);
      return (x) => {
        x.clone(ops, reversible);
        return false;
      };
    },
  },

  stack_push: {
    wire: {
      encode(a, e) {
        e.nx(NXAST.STACK_PUSH, (w) => encodeStack(a.src, e, w));
      },
      decode: { 'nx:27': (r, d) => ({ type: 'stack_push', src: decodeStack(r, d) }) },
    },
    keywords: ['push'],
    parse(_kw, arg, p) {
      return [{ type: 'stack_push', src: parseSubfield(p.need(arg), p.input, arg.col) }];
    },
    format(a) {
      return `push:${formatSubfield(a.src)}`;
    },
    setClass: () => ActionSetClass.INVALID,
    check(a, st) {
      checkSrcPrereq(a.src.field, st.m, 'source');
    },
    compile(a) {
      const src = a.src;
      return (x) => {
        x.stackPush(src);
        return false;
      };
    },
  },

  stack_pop: {
    wire: {
      encode(a, e) {
        e.nx(NXAST.STACK_POP, (w) => encodeStack(a.dst, e, w));
      },
      decode: { 'nx:28': (r, d) => ({ type: 'stack_pop', dst: decodeStack(r, d) }) },
    },
    keywords: ['pop'],
    parse(_kw, arg, p) {
      return [{ type: 'stack_pop', dst: parseSubfield(p.need(arg), p.input, arg.col) }];
    },
    format(a) {
      return `pop:${formatSubfield(a.dst)}`;
    },
    setClass: () => ActionSetClass.INVALID,
    check(a, st) {
      checkDst(a.dst, st.m);
    },
    compile(a) {
      const dst = a.dst;
      return (x) => {
        x.stackPop(dst);
        return false;
      };
    },
  },

  check_pkt_larger: {
    wire: {
      encode(a, e) {
        e.nx(NXAST.CHECK_PKT_LARGER, (w) => {
          w.u16(a.len).u16(a.dst.ofs);
          e.header(a.dst.field);
        });
      },
      decode: {
        'nx:49': (r, d) => {
          d.len(24);
          const len = r.u16();
          const ofs = r.u16();
          return { type: 'check_pkt_larger', len, dst: d.subfield(d.field(r), ofs, 1) };
        },
      },
    },
    keywords: ['check_pkt_larger'],
    parse(_kw, arg, p) {
      // OVS parse_CHECK_PKT_LARGER: `check_pkt_larger(LEN)->DST`, DST one bit.
      const tail = arg.tail;
      if (!arg.paren || tail === undefined) p.err('expected check_pkt_larger(LEN)->DST[bit]');
      const dst = parseSubfield(tail!.slice(2), p.input, arg.col);
      if (dst.nBits !== 1) p.err('Only 1-bit destination field is allowed');
      return [{ type: 'check_pkt_larger', len: p.num(arg.text ?? '', 'packet length', 65535), dst }];
    },
    format(a) {
      return `check_pkt_larger(${a.len})->${formatSubfield(a.dst)}`;
    },
    setClass: () => ActionSetClass.INVALID,
    compile(a) {
      const len = a.len;
      const dst = a.dst;
      return (x, bucket) => x.checkPktLarger(len, dst, bucket);
    },
  },

  exit: {
    wire: {
      encode(_a, e) {
        e.nx(NXAST.EXIT);
      },
      decode: { 'nx:17': (_r, d) => (d.len(16), { type: 'exit' }) },
    },
    keywords: ['exit'],
    parse() {
      return [{ type: 'exit' }];
    },
    format() {
      return 'exit';
    },
    setClass: () => ActionSetClass.INVALID,
    compile() {
      return (x) => {
        x.exit();
        return true;
      };
    },
  },

  mod_tp: {
    wire: {
      encode(a, e) {
        const t = a.dir === 'src' ? OFPAT.SET_TP_SRC : OFPAT.SET_TP_DST;
        e.std(t, (w) => w.u16(a.port).zeros(2));
      },
      decode: {
        'of10:9': (r, d) => (d.len(8), { type: 'mod_tp', dir: 'src', port: r.u16() }),
        'of10:10': (r, d) => (d.len(8), { type: 'mod_tp', dir: 'dst', port: r.u16() }),
        'of:9': (r, d) => (d.len(8), { type: 'mod_tp', dir: 'src', port: r.u16() }),
        'of:10': (r, d) => (d.len(8), { type: 'mod_tp', dir: 'dst', port: r.u16() }),
      },
    },
    keywords: ['mod_tp_src', 'mod_tp_dst'],
    parse(kw, arg, p) {
      // OVS keeps OFPACT_SET_L4_*_PORT; for OpenFlow 1.5 it becomes a set_field of the matched
      // transport protocol, or stays the OpenFlow 1.0 action when the match names none.
      const dir = kw === 'mod_tp_src' ? 'src' : 'dst';
      const port = p.num(p.need(arg), 'port', 65535);
      const proto = p.ctx.nwProto;
      const name = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === 132 ? 'sctp' : undefined;
      if (name) return [{ type: 'set_field', field: fieldBySubfieldName(`${name}_${dir}`)!, value: BigInt(port), modTp: true }];
      return [{ type: 'mod_tp', dir, port }];
    },
    format(a) {
      return `mod_tp_${a.dir}:${a.port}`;
    },
    setClass: () => ActionSetClass.SET_OR_MOVE,
    check(a, st) {
      // OVS check_set_l4_port(): without TCP/UDP/SCTP the flow is OpenFlow 1.0 only.
      const m = st.m;
      const proto = m.nwProto;
      if (!prereqOk(Prereq.IpAny, m) || (m.value[W.nw_frag]! & FRAG_LATER) !== 0 || (proto !== 6 && proto !== 17 && proto !== 132)) {
        st.narrowed ??= inconsistent(`mod_tp_${a.dir} needs a tcp, udp or sctp match`);
      }
    },
    compile(a) {
      const word = a.dir === 'src' ? W.tp_src : W.tp_dst;
      const port = a.port;
      return (x) => {
        const w = x.key.w;
        const r = x.rec;
        const dl = w[W.dl_type];
        const ok = (dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6) && (w[W.nw_frag]! & FRAG_LATER) === 0;
        if (r !== null) {
          if (!r.ovsExact) {
            r.mark(W.dl_type, 0xffffffff);
            r.mark(W.nw_frag, 0xffffffff);
            r.mark(W.nw_proto, 0xffffffff);
            r.mark(word, 0xffffffff);
          } else if (ok) {
            // OVS OFPACT_SET_L4_*_PORT: nw_proto and the port, only when it sets the port.
            r.mark(W.nw_proto, 0xff);
            r.mark(word, 0xffff);
          }
        }
        if (ok) w[word] = port;
        return false;
      };
    },
  },

  set_queue: {
    wire: u32ArgWire(OFPAT.SET_QUEUE, NXAST.SET_QUEUE, (a) => a.queue, (queue) => ({ type: 'set_queue', queue })),
    keywords: ['set_queue', 'enqueue'],
    parse(kw, arg, p) {
      if (kw === 'set_queue') return [{ type: 'set_queue', queue: p.num(p.need(arg), 'queue id', 0xffffffff) }];
      // OVS parse_ENQUEUE: `enqueue:PORT:QUEUE` or `enqueue(PORT,QUEUE)`; under OpenFlow 1.5 the switch
      // holds it as set_queue, output, pop_queue. ovs-ofctl refuses a port that is neither a real port,
      // IN_PORT nor LOCAL (check_ENQUEUE).
      const m = /^\s*([^:q,]+)[:q,]([\s\S]*)$/.exec(p.need(arg));
      if (!m) return p.err('"enqueue" syntax is "enqueue:PORT:QUEUE" or "enqueue(PORT,QUEUE)"');
      const port = parsePort(m[1]!.trim());
      if (port === undefined) return p.err(`${m[1]}: enqueue to unknown port`);
      const queue = p.num(m[2]!, 'queue id', 0xffffffff);
      if (port >= OFPP.MAX && port !== OFPP.IN_PORT && port !== OFPP.LOCAL) throw new OpenFlowError('OFPBAC_BAD_OUT_PORT', `enqueue to port ${formatPort(port)}`);
      return [{ type: 'set_queue', queue }, outputTo(port), { type: 'pop_queue' }];
    },
    format(a) {
      return `set_queue:${a.queue}`;
    },
    setClass: () => ActionSetClass.SET_OR_MOVE,
    compile(a) {
      // dpif-netdev maps queue N to priority N (`dpif_netdev_queue_to_priority`).
      const q = a.queue;
      return (x) => {
        // OVS un-wildcards skb_priority (the trace's megaflow shows it).
        if (x.rec !== null && x.rec.ovsExact) x.rec.mark(WC_SKB_PRIORITY, 0xffffffff);
        x.key.skbPriority = q;
        return false;
      };
    },
  },

  pop_queue: {
    wire: {
      encode(_a, e) {
        e.nx(NXAST.POP_QUEUE);
      },
      decode: { 'nx:5': (_r, d) => (d.len(16), { type: 'pop_queue' }) },
    },
    keywords: ['pop_queue'],
    parse() {
      return [{ type: 'pop_queue' }];
    },
    format() {
      return 'pop_queue';
    },
    setClass: () => ActionSetClass.INVALID,
    compile() {
      return (x) => {
        // Back to the priority the packet arrived with (0 on our ports).
        if (x.rec !== null && x.rec.ovsExact) x.rec.mark(WC_SKB_PRIORITY, 0xffffffff);
        const k = x.key;
        if (k.skbPriority !== 0) {
          k.skbPriority = 0;
          if (x.tr !== null) x.tr.report('detail', 'queue = 0');
        }
        return false;
      };
    },
  },

  multipath: {
    wire: {
      encode(a, e) {
        e.nx(NXAST.MULTIPATH, (w) => {
          w.u16(HASH_FIELDS.indexOf(a.fields)).u16(a.basis).u16(0).u16(MP_ALGS.indexOf(a.algorithm));
          w.u16(a.nLinks - 1).u32(a.arg).u16(0).u16(ofsNbits(a.dst.ofs, a.dst.nBits)).u32(e.headerWord(a.dst.field));
        });
      },
      decode: {
        'nx:10': (r, d) => {
          d.len(32);
          const fields = HASH_FIELDS[r.u16()] ?? badArg('multipath fields');
          const basis = r.u16();
          r.skip(2);
          const algorithm = MP_ALGS[r.u16()] ?? badArg('multipath algorithm');
          const nLinks = r.u16() + 1;
          const arg = r.u32();
          r.skip(2);
          const on = r.u16();
          const dst = d.subfieldOfsNbits(d.fieldOfWord(r.u32()), on);
          return { type: 'multipath', fields, basis, algorithm, nLinks, arg, dst };
        },
      },
    },
    keywords: ['multipath'],
    parse(_kw, arg, p) {
      return [parseMultipath(p, p.need(arg), arg.col)];
    },
    format(a) {
      return `multipath(${a.fields},${a.basis},${a.algorithm},${a.nLinks},${a.arg},${formatSubfield(a.dst)})`;
    },
    setClass: () => ActionSetClass.INVALID,
    check(a, st) {
      checkDst(a.dst, st.m);
    },
    compile(a) {
      const { fields, basis, algorithm, nLinks, arg, dst } = a;
      return (x) => {
        const k = x.key;
        const r = x.rec;
        if (r !== null) {
          markHashFields(r, k.w, fields);
          r.markSubfield(dst);
        }
        const link = multipathLink(flowHashFields(k.w, fields, basis, k.vlan2Tci), algorithm, nLinks, arg);
        writeSubfield(k.w, dst, link);
        if (x.tr !== null) x.tr.report('detail', subfieldNowText(k.w, dst));
        return false;
      };
    },
  },

  bundle: {
    wire: {
      encode(a, e) {
        e.nx(a.dst ? NXAST.BUNDLE_LOAD : NXAST.BUNDLE, (w) => {
          w.u16(a.algorithm === 'hrw' ? 1 : 0).u16(HASH_FIELDS.indexOf(a.fields)).u16(a.basis);
          w.u32(e.headerWord(fieldBySubfieldName('in_port')!)).u16(a.members.length);
          w.u16(a.dst ? ofsNbits(a.dst.ofs, a.dst.nBits) : 0).u32(a.dst ? e.headerWord(a.dst.field) : 0).zeros(4);
          for (const m of a.members) w.u16(m);
        });
      },
      decode: { 'nx:12': (r, d) => decodeBundle(r, d, false), 'nx:13': (r, d) => decodeBundle(r, d, true) },
    },
    keywords: ['bundle', 'bundle_load'],
    parse(kw, arg, p) {
      return [parseBundle(p, p.need(arg), kw === 'bundle_load', arg.col)];
    },
    format(a) {
      const dst = a.dst ? `${formatSubfield(a.dst)},` : '';
      return `${a.dst ? 'bundle_load' : 'bundle'}(${a.fields},${a.basis},${a.algorithm},ofport,${dst}members:${a.members.map(formatPort).join(',')})`;
    },
    setClass: () => ActionSetClass.INVALID,
    check(a, st) {
      // OVS bundle_check().
      if (a.dst) checkDst(a.dst, st.m);
      for (const m of a.members) {
        if (m !== OFPP.NONE && !isValidOutputPort(m)) throw new OpenFlowError('OFPBAC_BAD_OUT_PORT', `invalid member ${formatPort(m)}`);
        if (m === OFPP.CONTROLLER) throw new OpenFlowError('OFPBAC_BAD_OUT_PORT', 'unsupported controller member');
      }
    },
    compile(a) {
      const { fields, basis, algorithm, members, dst } = a;
      return (x, bucket) => {
        const r = x.rec;
        const k = x.key;
        if (r !== null) {
          r.uncacheable(); // member liveness
          // OVS bundle_execute: hrw masks the hash fields when there is a choice; bundle_load the destination.
          if (r.ovsExact && algorithm !== 'active_backup' && members.length > 1) markHashFields(r, k.w, fields);
          if (dst) r.markSubfield(dst);
        }
        let port: number = OFPP.NONE;
        if (algorithm === 'active_backup') {
          for (const m of members) {
            if (x.memberEnabled(m)) {
              port = m;
              break;
            }
          }
        } else {
          const h = flowHashFields(k.w, fields, basis, k.vlan2Tci);
          let best = -1;
          let bestHash = 0;
          for (let i = 0; i < members.length; i++) {
            if (!x.memberEnabled(members[i]!)) continue;
            const v = hashInt(i, h);
            if (best < 0 || v > bestHash) {
              best = i;
              bestHash = v;
            }
          }
          if (best >= 0) port = members[best]!;
        }
        if (dst) {
          writeSubfield(k.w, dst, port);
          if (x.tr !== null) x.tr.report('detail', subfieldNowText(k.w, dst));
        } else x.output(port, 0, bucket);
        return false;
      };
    },
  },

  sample: {
    wire: {
      encode(a, e) {
        const sub = a.direction !== undefined ? NXAST.SAMPLE3 : a.samplingPort !== undefined ? NXAST.SAMPLE2 : NXAST.SAMPLE;
        e.nx(sub, (w) => {
          w.u16(a.probability).u32(a.collectorSetId).u32(a.obsDomainId).u32(a.obsPointId);
          if (sub === NXAST.SAMPLE) return;
          w.u16(a.samplingPort ?? OFPP.NONE).u8(a.direction === 'ingress' ? 1 : a.direction === 'egress' ? 2 : 0).zeros(5);
        });
      },
      decode: { 'nx:29': (r, d) => decodeSample(r, d, 1), 'nx:38': (r, d) => decodeSample(r, d, 2), 'nx:41': (r, d) => decodeSample(r, d, 3) },
    },
    keywords: ['sample'],
    parse(_kw, arg, p) {
      return [parseSample(p, p.need(arg))];
    },
    format(a) {
      let s = `sample(probability=${a.probability},collector_set_id=${a.collectorSetId},obs_domain_id=${a.obsDomainId},obs_point_id=${a.obsPointId}`;
      if (a.samplingPort !== undefined && a.samplingPort !== OFPP.NONE) s += `,sampling_port=${formatPort(a.samplingPort)}`;
      if (a.direction) s += `,${a.direction}`;
      return `${s})`;
    },
    setClass: () => ActionSetClass.INVALID,
    compile() {
      // Sampling feeds IPFIX/sFlow collectors, which the switch does not have: forwarding is unchanged.
      return () => false;
    },
  },

  fin_timeout: {
    wire: {
      encode(a, e) {
        e.nx(NXAST.FIN_TIMEOUT, (w) => w.u16(a.idleTimeout).u16(a.hardTimeout).zeros(2));
      },
      decode: { 'nx:19': (r, d) => (d.len(16), { type: 'fin_timeout', idleTimeout: r.u16(), hardTimeout: r.u16() }) },
    },
    keywords: ['fin_timeout'],
    parse(_kw, arg, p) {
      const a: FinTimeoutAction = { type: 'fin_timeout', idleTimeout: 0, hardTimeout: 0 };
      for (const { text } of splitTopLevel(arg.text ?? '')) {
        if (!text.trim()) continue;
        const [k, v] = splitKv(text);
        if (k === 'idle_timeout') a.idleTimeout = p.num(v ?? '', 'idle_timeout', 65535);
        else if (k === 'hard_timeout') a.hardTimeout = p.num(v ?? '', 'hard_timeout', 65535);
        else p.err(`invalid key '${k}' in 'fin_timeout' argument`);
      }
      return [a];
    },
    format(a) {
      const parts: string[] = [];
      if (a.idleTimeout) parts.push(`idle_timeout=${a.idleTimeout}`);
      if (a.hardTimeout) parts.push(`hard_timeout=${a.hardTimeout}`);
      return `fin_timeout(${parts.join(',')})`;
    },
    setClass: () => ActionSetClass.INVALID,
    check(_a, st) {
      // OVS check_FIN_TIMEOUT: only TCP flows can see a FIN; otherwise OpenFlow 1.0 only.
      if (st.m.nwProto !== 6) st.narrowed ??= inconsistent('fin_timeout needs a tcp match');
    },
    compile(a) {
      const idle = a.idleTimeout;
      const hard = a.hardTimeout;
      return (x) => {
        x.finTimeout(idle, hard);
        return false;
      };
    },
  },

  push_mpls: {
    wire: mplsEthertypeWire('push_mpls', OFPAT.PUSH_MPLS, NXAST.PUSH_MPLS),
    keywords: ['push_mpls'],
    parse(_kw, arg, p) {
      // OVS parse_PUSH_MPLS(): any 16-bit number; the switch refuses a non-MPLS one (checkDecoded).
      return [{ type: 'push_mpls', ethertype: p.u16(arg.text ?? '', 'push_mpls') }];
    },
    format(a) {
      return `push_mpls:0x${a.ethertype.toString(16).padStart(4, '0')}`;
    },
    setClass: () => ActionSetClass.PUSH_MPLS,
    track(_a, ctx) {
      // check_PUSH_MPLS(): the payload is opaque now, so no transport protocol is known.
      ctx.nwProto = 0;
    },
    check(a, st) {
      const m = st.m;
      m.value[W.dl_type] = a.ethertype;
      m.mask[W.dl_type] = 0xffff;
      m.value[W.nw_proto] = 0;
    },
    checkDecoded(a) {
      // OVS decode_OFPAT_RAW_PUSH_MPLS().
      if (!isEthTypeMpls(a.ethertype)) throw new OpenFlowError('OFPBAC_BAD_ARGUMENT', `push_mpls:0x${a.ethertype.toString(16).padStart(4, '0')}: not an MPLS EtherType`);
    },
    compile(a) {
      const ethertype = a.ethertype;
      return (x) => {
        // OVS compose_mpls_push_action() and flow_push_mpls().
        const w = x.key.w;
        const r = x.rec;
        const n = countMpls(x);
        if (n >= 3) return tooManyLabels(x, 'push');
        if (n === 0) x.commit();
        const L = W.mpls_lse;
        if (n > 0) {
          if (r !== null) for (let i = 0; i < n; i++) r.mark(L + i, 0xffffffff);
          for (let i = n; i >= 1; i--) w[L + i] = w[L + i - 1]!;
          w[L] = (w[L + 1]! & ~0x100) >>> 0;
        } else {
          const dl = w[W.dl_type]!;
          let tc = 0;
          let ttl = 64;
          if (dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6) {
            tc = (w[W.nw_tos]! >>> 2) & 7;
            if (w[W.nw_ttl]! !== 0) ttl = w[W.nw_ttl]! & 0xff;
            if (r !== null) {
              r.mark(W.nw_tos, r.ovsExact ? 0xfc : 0xffffffff);
              r.mark(W.nw_ttl, r.ovsExact ? 0xff : 0xffffffff);
            }
          }
          const label = dl === ETH_TYPE_IPV6 ? 2 : 0;
          w[L] = ((label << 12) | (tc << 9) | 0x100 | ttl) >>> 0;
          // The L3 and L4 fields are gone from the flow (what follows the labels is opaque).
          if (r !== null && !r.ovsExact) {
            for (let i = W.nw_src; i < KEY_WORDS; i++) r.mark(i, 0xffffffff);
            for (let i = W.ct_nw_src; i < W.ct_nw_proto; i++) r.mark(i, 0xffffffff);
            r.mark(W.ct_tp_src, 0xffffffff);
            r.mark(W.ct_tp_dst, 0xffffffff);
          }
          w.fill(0, W.nw_src, KEY_WORDS);
          w.fill(0, W.ct_nw_src, W.ct_nw_proto);
          w[W.ct_tp_src] = 0;
          w[W.ct_tp_dst] = 0;
        }
        w[W.dl_type] = ethertype;
        return false;
      };
    },
  },

  pop_mpls: {
    wire: mplsEthertypeWire('pop_mpls', OFPAT.POP_MPLS, NXAST.POP_MPLS),
    keywords: ['pop_mpls'],
    parse(_kw, arg, p) {
      return [{ type: 'pop_mpls', ethertype: p.u16(arg.text ?? '', 'pop_mpls') }];
    },
    format(a) {
      return `pop_mpls:0x${a.ethertype.toString(16).padStart(4, '0')}`;
    },
    setClass: () => ActionSetClass.POP_MPLS,
    check(a, st) {
      // OVS check_POP_MPLS(): without an MPLS match the flow is OpenFlow 1.0 only.
      const m = st.m;
      checkMpls(st, 'pop_mpls');
      m.value[W.dl_type] = a.ethertype;
      m.mask[W.dl_type] = 0xffff;
    },
    compile(a) {
      const ethertype = a.ethertype;
      return (x) => {
        // OVS compose_mpls_pop_action() and flow_pop_mpls().
        const w = x.key.w;
        const r = x.rec;
        const n = countMpls(x);
        if (n === 0) return false;
        const L = W.mpls_lse;
        if (n === 3 && (w[L + 2]! & 0x100) === 0) return tooManyLabels(x, 'pop');
        if (r !== null) for (let i = 1; i < n; i++) r.mark(L + i, 0xffffffff);
        for (let i = 1; i < n; i++) w[L + i - 1] = w[L + i]!;
        w[L + n - 1] = 0;
        w[W.dl_type] = ethertype;
        // What follows the last label is only known after the datapath has popped it: the next
        // action that needs it recirculates (OVS `was_mpls`).
        if (!isEthTypeMpls(ethertype)) x.mplsPopped();
        return false;
      };
    },
  },

  set_mpls_ttl: {
    wire: {
      // OpenFlow 1.1+: OFPAT_SET_MPLS_TTL (ofp11_action_mpls_ttl); 1.0: NXAST_SET_MPLS_TTL.
      encode(a, e) {
        if (e.of10) e.nx(NXAST.SET_MPLS_TTL, (w) => w.u8(a.ttl).zeros(5));
        else e.std(OFPAT.SET_MPLS_TTL, (w) => w.u8(a.ttl).zeros(3));
      },
      decode: {
        'of:15': (r, d) => (d.len(8), { type: 'set_mpls_ttl', ttl: r.u8() }),
        'nx:25': (r, d) => (d.len(16), { type: 'set_mpls_ttl', ttl: r.u8() }),
      },
    },
    keywords: ['set_mpls_ttl'],
    parse(_kw, arg, p) {
      const t = arg.text ?? '';
      if (t === '') p.err('set_mpls_ttl: expected ttl.');
      return [{ type: 'set_mpls_ttl', ttl: p.u8(t, 'MPLS TTL') }];
    },
    format(a) {
      return `set_mpls_ttl(${a.ttl})`;
    },
    setClass: () => ActionSetClass.SET_OR_MOVE,
    check(_a, st) {
      checkMpls(st, 'set_mpls_ttl');
    },
    compile(a) {
      const ttl = a.ttl;
      return (x) => {
        const w = x.key.w;
        if (!isEthTypeMpls(w[W.dl_type]!)) return false;
        if (x.rec !== null) x.rec.mark(W.mpls_lse, x.rec.ovsExact ? 0xff : 0xffffffff);
        w[W.mpls_lse] = ((w[W.mpls_lse]! & ~0xff) | ttl) >>> 0;
        return false;
      };
    },
  },

  dec_mpls_ttl: {
    wire: {
      // OpenFlow 1.1+: OFPAT_DEC_MPLS_TTL; 1.0: NXAST_DEC_MPLS_TTL.
      encode(_a, e) {
        if (e.of10) e.nx(NXAST.DEC_MPLS_TTL);
        else e.std(OFPAT.DEC_MPLS_TTL);
      },
      decode: {
        'of:16': (_r, d) => (d.len(8), { type: 'dec_mpls_ttl' }),
        'nx:26': (_r, d) => (d.len(16), { type: 'dec_mpls_ttl' }),
      },
    },
    keywords: ['dec_mpls_ttl'],
    parse() {
      return [{ type: 'dec_mpls_ttl' }];
    },
    format() {
      return 'dec_mpls_ttl';
    },
    setClass: () => ActionSetClass.DEC_MPLS_TTL,
    check(_a, st) {
      checkMpls(st, 'dec_mpls_ttl');
    },
    compile() {
      return (x) => {
        // OVS compose_dec_mpls_ttl_action(): also a packet that is not MPLS ends the action list.
        const w = x.key.w;
        if (isEthTypeMpls(w[W.dl_type]!)) {
          if (x.rec !== null) x.rec.mark(W.mpls_lse, x.rec.ovsExact ? 0xff : 0xffffffff);
          const ttl = w[W.mpls_lse]! & 0xff;
          if (ttl > 1) {
            w[W.mpls_lse] = ((w[W.mpls_lse]! & ~0xff) | (ttl - 1)) >>> 0;
            return false;
          }
          x.controller(65535, 'invalid_ttl', 0, undefined);
        }
        if (x.tr !== null) x.tr.report('warn', 'MPLS decrement TTL exception');
        return true;
      };
    },
  },
} satisfies DefMap;

/** OVS check_set_mpls(): without an MPLS match the flow is OpenFlow 1.0 only. */
function checkMpls(st: CheckState, what: string): void {
  if (!isEthTypeMpls(st.m.value[W.dl_type]!)) st.narrowed ??= inconsistent(`${what} needs an MPLS match`);
}

/** OVS `flow_count_mpls_labels()` with its marks: the bottom-of-stack bit of each entry looked at. */
function countMpls(x: Xlate): number {
  const w = x.key.w;
  if (!isEthTypeMpls(w[W.dl_type]!)) return 0;
  const r = x.rec;
  let n = 0;
  for (let i = 0; i < 3; i++) {
    if (r !== null) r.mark(W.mpls_lse + i, r.ovsExact ? 0x100 : 0xffffffff);
    const lse = w[W.mpls_lse + i]!;
    if ((lse & 0x100) !== 0) return i + 1;
    if (lse !== 0) n++;
  }
  return n;
}

/** OVS `XLATE_TOO_MANY_MPLS_LABELS`: the translation fails and the packet is dropped. */
function tooManyLabels(x: Xlate, what: 'push' | 'pop'): boolean {
  if (x.tr !== null) {
    x.tr.report('error', what === 'push'
      ? 'dropping packet on which an MPLS push action can\'t be performed as it would have more MPLS LSEs than the 3 supported.'
      : 'dropping packet on which an MPLS pop action can\'t be performed as it has more MPLS LSEs than the 3 supported.');
  }
  x.fail();
  return true;
}

/**
 * OVS `recirc_for_mpls()`: after a pop_mpls took the last label, does this action need the packet
 * recirculated (re-parsed) first? Outputs, groups, set_queue and writes of fields below L3 do not.
 */
export function recircForMpls(o: Op): boolean {
  switch (o.type) {
    case 'output':
    case 'output_reg':
    case 'group':
    case 'set_queue':
      return false;
    case 'controller':
      return !isPlainController(o.a);
    case 'set_field': {
      const p = o.a.field.prereq;
      return p !== Prereq.None && p !== Prereq.Ethernet && p !== Prereq.VlanVid && p !== Prereq.Mpls && p !== Prereq.Ct;
    }
    default:
      return true;
  }
}

const CS_INVALID = 0x10;

/** The table, typed per action type (the compiler checked every type has a record). */
const DEFS: DefMap = ACTIONS;

function isActionType(s: string): s is ActionType {
  return Object.hasOwn(DEFS, s);
}

/** Every action type, in table order. */
export const ACTION_TYPES: readonly ActionType[] = Object.keys(DEFS).filter(isActionType);

/** Keyword (lower case) -> action type. */
const KEYWORDS: ReadonlyMap<string, ActionType> = new Map(ACTION_TYPES.flatMap((t) => DEFS[t].keywords.map((k) => [k, t] as const)));

/** Every action type with its keywords (for documentation and completeness tests). */
export function actionKeywords(): ReadonlyArray<{ type: ActionType; keywords: readonly string[] }> {
  return ACTION_TYPES.map((type) => ({ type, keywords: DEFS[type].keywords }));
}

// ---------------------------------------------------------------------------------------------
// Walkers over the table

function parseWith<K extends ActionType>(type: K, kw: string, arg: ActionArg, p: ActionParser): Action[] {
  const parse = DEFS[type].parse;
  return parse ? parse(kw, arg, p) : p.err(`unknown action ${p.word}`);
}

function trackOne<K extends ActionType>(type: K, a: ActionMap[K], ctx: ActionContext): void {
  const t = DEFS[type].track;
  if (t) t(a, ctx);
}

/**
 * Parse one action token (already split at top-level commas). `ctx` carries what the match says
 * (VLAN present, ip_proto) for OVS's OpenFlow 1.5 normalisation; returns one or two actions.
 */
export function parseAction(tok: string, input: string, col: number, ctx: ActionContext): Action[] {
  return parseToken(tok, input, col, ctx).acts;
}

/** `parseAction` plus the size OVS gives the token's actions in its internal form (ofpact-size.ts). */
function parseToken(tok: string, input: string, col: number, ctx: ActionContext): { acts: Action[]; bytes: number } {
  const t = tok.trim();
  const { name, arg } = splitArg(tok, col);
  const p = new ActionParser(input, col + (tok.length - tok.trimStart().length), ctx, name);
  const lname = name.toLowerCase();
  if (arg.text === undefined && lname !== 'controller') {
    // A bare port (a number or a reserved name such as `in_port`, `LOCAL`, `NONE`) is an output.
    const port = parsePort(t);
    if (port !== undefined) {
      const acts = [outputTo(port)];
      return { acts, bytes: tokenBytes('output', undefined, acts) };
    }
  }
  if (lname === 'drop') return { acts: [], bytes: 0 };
  // OVS has no `apply_actions` keyword: the bare action list is the Apply-Actions instruction.
  if (lname === 'apply_actions') return p.err('apply_actions is the default instruction');
  const type = KEYWORDS.get(lname);
  if (type === undefined) return p.err(`unknown action ${name}`);
  const out = arg.unclosed ? unclosed(arg, name, () => parseWith(type, lname, arg, p)) : parseWith(type, lname, arg, p);
  for (const a of out) trackOne(a.type, a, ctx);
  return { acts: out, bytes: tokenBytes(lname, arg.text, out) };
}

/** Add one token's internal size to a list's; OVS refuses the list past 64 KB ("input too big"). */
function addBytes(total: number, bytes: number, input: string, col: number): number {
  const n = total + bytes;
  if (n > OFPACTS_MAX_BYTES) throw new TextParseError(input, col, 'input too big');
  return n;
}

/**
 * Run `parse` over an argument whose `(` is never closed (OVS takes the rest of the text, as we do);
 * an error from it says so, since the missing `)` is the likely cause.
 */
function unclosed<T>(arg: ActionArg, name: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof TextParseError)) throw e;
    throw new TextParseError(e.input, e.position, `${e.expected} (the "(" after ${name} at column ${arg.col} is never closed)`, e.line);
  }
}

/** Parse a comma-separated action list (no instructions): a flow's nested lists, a bucket, a packet-out. */
export function parseActionList(text: string, input: string, col: number, ctx: ActionContext): Action[] {
  const out: Action[] = [];
  const toks = splitTopLevel(text, col, ', \t\r\n').filter((t) => t.text.trim() !== '');
  let dropCol = -1;
  let bytes = 0;
  for (const { text: tok, col: c } of toks) {
    if (tok.trim().toLowerCase() === 'drop' && dropCol < 0) dropCol = c + (tok.length - tok.trimStart().length);
    const r = parseToken(tok, input, c, ctx);
    bytes = addBytes(bytes, r.bytes, input, c);
    for (const a of r.acts) out.push(a);
  }
  // OVS refuses `drop` only when the list holds something else (`drop,drop` is an empty list).
  if (dropCol >= 0 && out.length > 0) throw new TextParseError(input, dropCol, DROP_ALONE);
  recordListBytes(out, bytes);
  return out;
}

const DROP_ALONE = '"drop" must not be accompanied by any other action or instruction';
const INSTR_ORDER = ['meter', 'apply_actions', 'clear_actions', 'write_actions', 'write_metadata', 'goto_table'];

/** Parse the text after `actions=`: actions plus the OpenFlow 1.1+ instructions. */
export function parseInstructions(text: string, input: string, col: number, ctx: ActionContext): Instructions {
  const ins: Instructions = { apply: [], clearActions: false };
  const toks = splitTopLevel(text, col, ', \t\r\n').filter((t) => t.text.trim() !== '');
  let last = -1;
  let lastName = '';
  let dropCol = -1;
  let bytes = 0;
  for (const { text: raw, col: c } of toks) {
    const tok = raw.trim();
    const { name, arg } = splitArg(raw, c);
    const lname = name.toLowerCase();
    let kind = INSTR_ORDER.indexOf(lname);
    if (kind < 0) kind = 1;
    if (kind < last) {
      throw new TextParseError(input, c, `invalid instruction ordering: ${INSTR_ORDER[kind]} must appear before ${lastName}, for OpenFlow 1.1+ compatibility`);
    }
    if (kind === last && kind > 1) throw new TextParseError(input, c, `duplicate instruction ${lname}`);
    last = kind;
    lastName = INSTR_ORDER[kind]!;
    const p = new ActionParser(input, c, ctx, name);
    if (tok.toLowerCase() === 'drop' && dropCol < 0) dropCol = c + (raw.length - raw.trimStart().length);
    switch (lname) {
      case 'clear_actions':
        ins.clearActions = true;
        bytes = addBytes(bytes, 8, input, c);
        break;
      case 'write_actions': {
        if (!arg.paren) p.err('write_actions needs (actions)');
        const parse = (): Action[] => parseActionList(arg.text ?? '', input, c + tok.indexOf('(') + 1, { ...ctx });
        ins.writeActions = arg.unclosed ? unclosed(arg, name, parse) : parse();
        bytes = addBytes(bytes, 8 + listBytesOf(ins.writeActions), input, c);
        break;
      }
      case 'write_metadata': {
        const [v, m] = (arg.text ?? '').split('/');
        const value = parseUint((v ?? '').trim());
        const mask = m === undefined ? 0xffff_ffff_ffff_ffffn : parseUint(m.trim());
        if (value === undefined || mask === undefined || value > 0xffff_ffff_ffff_ffffn || mask > 0xffff_ffff_ffff_ffffn) return p.err('expected write_metadata:VALUE[/MASK]');
        // Kept as given, bits outside the mask too (OVS prints write_metadata:0x10/0xf back).
        ins.writeMetadata = { value, mask };
        bytes = addBytes(bytes, 24, input, c);
        break;
      }
      case 'goto_table': {
        const t = parseUint((arg.text ?? '').trim());
        if (t === undefined || t > 254n) p.err(`${arg.text}: goto_table to unknown table`);
        ins.gotoTable = Number(t);
        bytes = addBytes(bytes, 8, input, c);
        break;
      }
      default: {
        const r = parseToken(tok, input, c, ctx);
        bytes = addBytes(bytes, r.bytes, input, c);
        for (const a of r.acts) ins.apply.push(a);
      }
    }
  }
  const other = ins.apply.length > 0 || ins.clearActions || ins.writeActions !== undefined || ins.writeMetadata !== undefined || ins.gotoTable !== undefined;
  if (dropCol >= 0 && other) throw new TextParseError(input, dropCol, DROP_ALONE);
  // An empty Write-Actions instruction is not encoded (OVS's ofpacts_update_instruction_actions).
  if (ins.writeActions?.length === 0) delete ins.writeActions;
  return ins;
}

function formatWith<K extends ActionType>(type: K, a: ActionMap[K]): string {
  return DEFS[type].format(a);
}

/** Format one action as OVS prints it (OpenFlow 1.5). */
export function formatAction(a: Action): string {
  return formatWith(a.type, a);
}

/** Format an action list (`drop` when empty). */
export function formatActionList(list: readonly Action[]): string {
  return list.length ? list.map(formatAction).join(',') : 'drop';
}

/** Format instructions as the text after `actions=`. */
export function formatInstructions(ins: Instructions): string {
  const parts: string[] = ins.apply.map(formatAction);
  if (ins.clearActions) parts.push('clear_actions');
  if (ins.writeActions) parts.push(`write_actions(${ins.writeActions.map(formatAction).join(',')})`);
  if (ins.writeMetadata) parts.push(formatWriteMetadata(ins.writeMetadata.value, ins.writeMetadata.mask));
  if (ins.gotoTable !== undefined) parts.push(`goto_table:${ins.gotoTable}`);
  return parts.length ? parts.join(',') : 'drop';
}

function formatWriteMetadata(value: bigint, mask: bigint): string {
  return `write_metadata:${hexC(value)}${mask === 0xffff_ffff_ffff_ffffn ? '' : `/${hexC(mask)}`}`;
}

/** The action lists nested in `a` (`ct(exec(...))`). */
export function nestedActions(a: Action): ReadonlyArray<readonly Action[]> {
  return nestedWith(a.type, a);
}

function nestedWith<K extends ActionType>(type: K, a: ActionMap[K]): ReadonlyArray<readonly Action[]> {
  const n = DEFS[type].nested;
  return n ? n(a) : [];
}

/** Does `pred` hold for some action of `list` or of a list nested in one? */
export function someAction(list: readonly Action[] | undefined, pred: (a: Action) => boolean): boolean {
  if (!list) return false;
  for (const a of list) {
    if (pred(a)) return true;
    for (const n of nestedActions(a)) if (someAction(n, pred)) return true;
  }
  return false;
}

function checkParsedWith<K extends ActionType>(type: K, a: ActionMap[K], inCt: boolean): void {
  const c = DEFS[type].checkParsed;
  if (c) c(a, inCt);
}

/** What ovs-ofctl refuses while parsing (set_field values the field cannot hold, ct fields outside ct, ...). */
export function checkActionsParsed(list: readonly Action[], inCt = false): void {
  for (const a of list) checkParsedWith(a.type, a, inCt);
}

function checkWith<K extends ActionType>(type: K, a: ActionMap[K], st: CheckState): void {
  const c = DEFS[type].check;
  if (c) c(a, st);
}

/**
 * OVS `ofpact_check__()` over a list, in order. Checks that *return* an error in OVS throw at once;
 * those that only call `inconsistent_match()` (pop_vlan without a VLAN, dec_ttl and mod_nw_ttl
 * without IP) are recorded in `st.narrowed`, which the caller raises (ovs-ofctl: "none of the
 * usable flow formats") unless the list is a `write_actions`, whose narrowing OVS drops.
 */
export function checkActionsAgainst(list: readonly Action[], st: CheckState): void {
  for (const a of list) checkWith(a.type, a, st);
}

function checkDecodedWith<K extends ActionType>(type: K, a: ActionMap[K], ports: boolean): void {
  const c = DEFS[type].checkDecoded;
  if (c) c(a, ports);
}

/**
 * The switch decoding `mod_tp_*` written as a set_field (OVS check_SET_FIELD on the decoded action,
 * after the match's own prerequisites): `OFPBAC_MATCH_INCONSISTENT` when `m` lacks its transport.
 */
export function checkModTpDecoded(list: readonly Action[], m: Match): void {
  for (const a of list) {
    if (a.type === 'set_field' && a.modTp && !prereqOk(a.field.prereq, m)) throw inconsistent(`set_field ${a.field.name} lacks correct prerequisites`);
  }
}

/**
 * What the switch refuses when it decodes the OpenFlow 1.5 actions (OVS `decode_ofpat_set_field()`,
 * `decode_OFPAT_RAW11_OUTPUT()`): a set_field mask that leaves bits of the value wildcarded
 * (`OFPBMC_BAD_WILDCARDS`), a `vlan_vid` set_field without OFPVID_PRESENT in value and mask
 * (`OFPBAC_BAD_SET_ARGUMENT`) and, where `ports` is set (group buckets, which are never checked
 * against a match), a bad output port.
 */
export function checkActionsDecoded(list: readonly Action[], ports: boolean): void {
  for (const a of list) checkDecodedWith(a.type, a, ports);
}

function checkEnvWith<K extends ActionType>(type: K, a: ActionMap[K], env: ActionEnv): void {
  const c = DEFS[type].checkEnv;
  if (c) c(a, env);
}

/** What must exist in the switch for these actions (groups: `OFPBAC_BAD_OUT_GROUP`, meters: `OFPMMFC_INVALID_METER`). */
export function checkActionsEnv(list: readonly Action[] | undefined, env: ActionEnv): void {
  if (!list) return;
  for (const a of list) {
    checkEnvWith(a.type, a, env);
    for (const n of nestedActions(a)) checkActionsEnv(n, env);
  }
}

// ---------------------------------------------------------------------------------------------
// Compiling

function compileWith<K extends ActionType>(type: K, a: ActionMap[K]): ActionOp<K> {
  const d = DEFS[type];
  return { type, a, text: d.format(a), setClass: d.setClass(a), exec: d.compile(a) };
}

function setClassWith<K extends ActionType>(type: K, a: ActionMap[K]): ActionSetClass {
  return DEFS[type].setClass(a);
}

/** The action set class of an action (OVS `action_set_classify`). */
export function actionSetClass(a: Action): ActionSetClass {
  return setClassWith(a.type, a);
}

function irreversibleWith<K extends ActionType>(type: K, a: ActionMap[K]): boolean {
  const f = DEFS[type].irreversible;
  return f ? f(a) : false;
}

/** OVS `reversible_actions()`: can `list` run inside a clone without the datapath's clone action? */
export function reversibleActions(list: readonly Action[]): boolean {
  for (const a of list) if (irreversibleWith(a.type, a)) return false;
  return true;
}

/**
 * What the switch refuses in `write_actions` (OVS `ofpacts_decode_for_action_set()`): an action
 * that has no place in an action set (`OFPBAC_BAD_TYPE`, "disallowed action in action set").
 */
export function checkActionSet(list: readonly Action[]): void {
  for (const a of list) {
    if (actionSetClass(a) === ActionSetClass.INVALID) throw new OpenFlowError('OFPBAC_BAD_TYPE', `${formatAction(a)}: disallowed action in action set`);
  }
}

/** Prepare one action for execution. */
export function compileAction(a: Action): ActionOp {
  return compileWith(a.type, a);
}

function instruction(type: InstructionType, text: string, exec: OpExec): InstructionOp {
  return { type, a: null, text, setClass: ActionSetClass.INVALID, exec };
}

/** Compile a flow's instructions into one list in OpenFlow (and OVS) order. */
export function compileInstructions(ins: Instructions): Op[] {
  const ops: Op[] = ins.apply.map(compileAction);
  if (ins.clearActions) {
    ops.push(instruction('clear_actions', 'clear_actions', (x) => {
      if (x.rec !== null && !x.rec.ovsExact) x.rec.mark(W.actset_output, 0xffffffff);
      x.clearActionSet();
      return false;
    }));
  }
  if (ins.writeActions) {
    const inner = ins.writeActions.map(compileAction);
    ops.push(instruction('write_actions', `write_actions(${ins.writeActions.map(formatAction).join(',')})`, (x) => {
      if (x.rec !== null && !x.rec.ovsExact) x.rec.mark(W.actset_output, 0xffffffff);
      x.writeActionSet(inner);
      return false;
    }));
  }
  if (ins.writeMetadata) {
    const { value, mask } = ins.writeMetadata;
    const vw = bigToWords(value, 2);
    const mw = bigToWords(mask, 2);
    ops.push(instruction('write_metadata', formatWriteMetadata(value, mask), (x) => {
      const r = x.rec;
      // OVS un-wildcards nothing for write_metadata (the cache keys on what it wrote).
      if (r !== null && !r.ovsExact) {
        r.mark(W.metadata, mw[0]!);
        r.mark(W.metadata + 1, mw[1]!);
      }
      const w = x.key.w;
      w[W.metadata] = ((w[W.metadata]! & ~mw[0]!) | (vw[0]! & mw[0]!)) >>> 0;
      w[W.metadata + 1] = ((w[W.metadata + 1]! & ~mw[1]!) | (vw[1]! & mw[1]!)) >>> 0;
      return false;
    }));
  }
  if (ins.gotoTable !== undefined) {
    ops.push(instruction('goto_table', `goto_table:${ins.gotoTable}`, { kind: PrimKind.Resubmit, port: OFPP.IN_PORT, table: ins.gotoTable, goto: true }));
  }
  return ops;
}

/**
 * The actions an action set executes, in order (OVS `ofpacts_execute_action_set`): the last
 * action of each slot (pop_vlan, push_vlan, dec_ttl, in that order), every set_field/move in
 * order, then the final action with the highest priority (group > output > resubmit > ct_clear >
 * ct; the later one among equals). Nothing at all when there is no final action.
 */
export function actionSetOrder(set: readonly Op[], out: Op[] = []): Op[] {
  out.length = 0;
  let slots = 0;
  let fin: Op | null = null;
  let finClass = 0;
  for (const x of set) {
    const c = x.setClass;
    if (c < N_SLOTS) slots |= 1 << c;
    else if (c < ActionSetClass.SET_OR_MOVE) {
      if (c >= finClass) {
        fin = x;
        finClass = c;
      }
    }
  }
  if (!fin) return out;
  if (slots !== 0) {
    for (let s = 0; s < N_SLOTS; s++) {
      if ((slots & (1 << s)) === 0) continue;
      let last: Op | null = null;
      for (const x of set) if (x.setClass === s) last = x;
      out.push(last!);
    }
  }
  for (const x of set) if (x.setClass === ActionSetClass.SET_OR_MOVE) out.push(x);
  out.push(fin);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The wire (each record's `wire`; the frame is action-wire.ts)

function encodeWith<K extends ActionType>(type: K, a: ActionMap[K], e: ActionEncoder): void {
  DEFS[type].wire.encode(a, e);
}

function encodeList(list: readonly unknown[], e: ActionEncoder): void {
  const l = list as readonly Action[];
  for (let i = 0; i < l.length; i++) {
    const a = l[i]!;
    // OpenFlow 1.0's VLAN actions push a tag when there is none (OVS mod_vlan_vid/mod_vlan_pcp):
    // a push_vlan:0x8100 right before a whole vlan_vid/vlan_pcp set travels as that action alone.
    if (e.of10 && a.type === 'push_vlan' && a.ethertype === 0x8100 && isWholeVlanSet(l[i + 1])) continue;
    encodeWith(a.type, a, e);
  }
}

function isWholeVlanSet(a: Action | undefined): boolean {
  return a !== undefined && a.type === 'set_field' && a.mask === undefined && (a.field.name === 'vlan_vid' || a.field.name === 'vlan_pcp');
}

/**
 * OpenFlow 1.0's VLAN actions as OVS keeps them (`push_vlan_if_needed`, checked against the match
 * by `check_SET_VLAN_VID()`): each decoded OFPAT10_SET_VLAN_VID/PCP gets a `push_vlan:0x8100` before
 * it where the flow has no VLAN header at that point (`hasVlan`: the match's, then as the actions
 * push and pop), as `mod_vlan_vid`/`mod_vlan_pcp` parse. Returns the list without `vlanPush` marks.
 */
export function resolveVlanPush(list: readonly Action[], hasVlan: boolean): Action[] {
  if (!list.some((a) => a.type === 'set_field' && a.vlanPush)) return list as Action[];
  const ctx: ActionContext = { hasVlan, nwProto: -1 };
  const out: Action[] = [];
  for (const a of list) {
    if (a.type === 'set_field' && a.vlanPush) {
      const { vlanPush: _, ...plain } = a;
      if (!ctx.hasVlan) {
        const push: Action = { type: 'push_vlan', ethertype: 0x8100 };
        trackOne('push_vlan', push, ctx);
        out.push(push);
      }
      out.push(plain);
      continue;
    }
    trackOne(a.type, a as never, ctx);
    out.push(a);
  }
  return out;
}

/** Wire identity -> the decoder a record registered for it. */
const DECODERS: ReadonlyMap<WireKey, (r: WireReader, d: ActionDecoder) => Action | Action[]> = new Map(
  ACTION_TYPES.flatMap((t) => Object.entries(DEFS[t].wire.decode).flatMap(([k, fn]) => (fn ? [[k as WireKey, fn] as const] : []))),
);

function decodeList(r: WireReader, d: ActionDecoder): Action[] {
  const out: Action[] = [];
  while (r.remaining > 0) {
    const f = pullActionFrame(r, d.version);
    const fn = DECODERS.get(f.key);
    if (!fn) {
      const nx = f.key.startsWith('nx:') || f.key.startsWith('onf:');
      throw new OpenFlowError(nx ? 'OFPBAC_BAD_VENDOR_TYPE' : 'OFPBAC_BAD_TYPE', `unknown action ${f.key}`);
    }
    d.frameLen = f.len;
    const got = fn(f.body, d);
    if (Array.isArray(got)) out.push(...got);
    else out.push(got);
  }
  return out;
}

/**
 * Encode an action list as OpenFlow `version` (`OfpVersion`) writes it (OVS
 * `ofpacts_put_openflow_actions()`); returns the bytes, or appends to `w` when given.
 */
export function encodeActions(list: readonly Action[], version: number, w = new WireWriter()): Uint8Array {
  encodeList(list, new ActionEncoder(w, version, encodeList));
  return w.buf.subarray(0, w.len);
}

/**
 * Decode an OpenFlow `version` action list (OVS `ofpacts_pull_openflow_actions()`): all of `r`, or
 * the `len` bytes at `r`'s position. Raises the `OpenFlowError` OVS raises for a malformed action.
 */
export function decodeActions(r: WireReader | Uint8Array, version: number, len?: number): Action[] {
  const rd = r instanceof WireReader ? r : new WireReader(r);
  const sub = len === undefined ? rd.sub(rd.remaining) : subOrBadLen(rd, len, 'OFPBAC_BAD_LEN');
  // Without a match (packet-out, group buckets) OVS checks the actions against a flow with no VLAN.
  return resolveVlanPush(decodeList(sub, new ActionDecoder(version, decodeList)), false);
}

function subOrBadLen(r: WireReader, len: number, err: 'OFPBAC_BAD_LEN' | 'OFPBIC_BAD_LEN'): WireReader {
  if (len > r.remaining || len % 8 !== 0) throw new OpenFlowError(err, `${len} bytes of actions where ${r.remaining} are left`);
  return r.sub(len);
}

/** OpenFlow 1.1+ instruction types (`OFPIT_*`). */
export const OFPIT = { GOTO_TABLE: 1, WRITE_METADATA: 2, WRITE_ACTIONS: 3, APPLY_ACTIONS: 4, CLEAR_ACTIONS: 5, METER: 6 } as const;

/**
 * Encode instructions in OVS's order (`ofpacts_put_openflow_instructions()`): a meter instruction
 * (OpenFlow 1.3/1.4; in 1.5 the meter is the first apply action), apply_actions (left out when
 * empty), clear_actions, write_actions, write_metadata, goto_table. OpenFlow 1.0 has no
 * instructions: the apply actions only, and instructions it cannot carry raise `OFPBIC_UNSUP_INST`.
 */
export function encodeInstructions(ins: Instructions, version: number, w = new WireWriter()): Uint8Array {
  const start = w.len;
  const e = new ActionEncoder(w, version, encodeList);
  if (version === OfpVersion.OF10) {
    if (ins.clearActions || ins.writeActions || ins.gotoTable !== undefined) {
      throw new OpenFlowError('OFPBIC_UNSUP_INST', 'OpenFlow 1.0 has no instructions');
    }
    encodeList(ins.apply, e);
    // write_metadata is NXAST_WRITE_METADATA there, after the actions (its place as an instruction).
    if (ins.writeMetadata) w.u16(0xffff).u16(32).u32(VendorId.NX).u16(NXAST.WRITE_METADATA).zeros(6).u64(ins.writeMetadata.value).u64(ins.writeMetadata.mask);
    return w.buf.subarray(start, w.len);
  }
  let apply: readonly Action[] = ins.apply;
  const inst = (type: number, body: () => void): void => {
    const s = w.len;
    w.u16(type).u16(0);
    body();
    w.setU16(s + 2, w.len - s);
  };
  if (version < OfpVersion.OF15) {
    const meters = apply.filter((a) => a.type === 'meter');
    for (const m of meters) inst(OFPIT.METER, () => w.u32(m.meterId));
    if (meters.length) apply = apply.filter((a) => a.type !== 'meter');
  }
  if (apply.length) inst(OFPIT.APPLY_ACTIONS, () => (w.zeros(4), encodeList(apply, e)));
  if (ins.clearActions) inst(OFPIT.CLEAR_ACTIONS, () => w.zeros(4));
  if (ins.writeActions) inst(OFPIT.WRITE_ACTIONS, () => (w.zeros(4), encodeList(ins.writeActions!, e)));
  if (ins.writeMetadata) inst(OFPIT.WRITE_METADATA, () => w.zeros(4).u64(ins.writeMetadata!.value).u64(ins.writeMetadata!.mask));
  if (ins.gotoTable !== undefined) inst(OFPIT.GOTO_TABLE, () => w.u8(ins.gotoTable!).zeros(3));
  return w.buf.subarray(start, w.len);
}

/**
 * Decode OpenFlow `version` instructions (all of `r`; OVS `ofpacts_pull_openflow_instructions()`):
 * an unknown instruction `OFPBIC_UNKNOWN_INST`, one given twice `OFPBIC_DUP_INST`, a bad length
 * `OFPBIC_BAD_LEN`, an action that has no place in write_actions `OFPBAC_BAD_TYPE`. OpenFlow 1.0
 * reads a plain action list.
 */
export function decodeInstructions(r: WireReader, version: number, hasVlan = false): Instructions {
  const d = new ActionDecoder(version, decodeList);
  if (version === OfpVersion.OF10) {
    const ins = decodeInstructions10(r, d);
    // `hasVlan`: the flow's match has a VLAN header (OpenFlow 1.0's VLAN actions push one otherwise).
    ins.apply = resolveVlanPush(ins.apply, hasVlan);
    return ins;
  }
  return decodeInstructions11(r, version, d);
}

function decodeInstructions10(r: WireReader, d: ActionDecoder): Instructions {
  // OpenFlow 1.0 carries write_metadata as NXAST_WRITE_METADATA, which must be the last action
  // (OVS ofpacts_verify(): an action after it is OFPBAC_UNSUPPORTED_ORDER).
  let at = -1;
  for (let o = 0, len = 0; o + 10 <= r.remaining; o += len) {
    len = r.peekU16(o + 2);
    if (len < 8) break;
    if (r.peekU16(o) === 0xffff && len === 32 && o + 32 <= r.remaining && r.peekU32(o + 4) === VendorId.NX && r.peekU16(o + 8) === NXAST.WRITE_METADATA) {
      if (at >= 0 || o + 32 !== r.remaining) throw new OpenFlowError('OFPBAC_UNSUPPORTED_ORDER', 'an action after write_metadata');
      at = o;
    }
  }
  if (at < 0) return { apply: decodeList(r.sub(r.remaining), d), clearActions: false };
  const apply = decodeList(r.sub(at), d);
  r.skip(10);
  for (let i = 0; i < 6; i++) if (r.u8() !== 0) throw new OpenFlowError('NXBRC_MUST_BE_ZERO', 'NXAST_WRITE_METADATA padding');
  return { apply, clearActions: false, writeMetadata: { value: r.u64(), mask: r.u64() } };
}

function decodeInstructions11(r: WireReader, version: number, d: ActionDecoder): Instructions {
  const ins: Instructions = { apply: [], clearActions: false };
  const seen = new Set<number>();
  let meter: Action | undefined;
  while (r.remaining > 0) {
    if (r.remaining < 8) throw new OpenFlowError('OFPBIC_BAD_LEN', `instruction of ${r.remaining} bytes`);
    const type = r.peekU16();
    const len = r.peekU16(2);
    if (len < 8 || len % 8 !== 0 || len > r.remaining) throw new OpenFlowError('OFPBIC_BAD_LEN', `instruction length ${len}`);
    const b = r.sub(len);
    b.skip(4);
    if (type < 1 || type > 6 || (type === OFPIT.METER && version >= OfpVersion.OF15)) {
      throw new OpenFlowError(type === 0xffff ? 'OFPBIC_BAD_EXPERIMENTER' : 'OFPBIC_UNKNOWN_INST', `instruction type ${type}`);
    }
    if (seen.has(type)) throw new OpenFlowError('OFPBIC_DUP_INST', `instruction type ${type} given twice`);
    seen.add(type);
    const fixed = (n: number): void => {
      if (len !== n) throw new OpenFlowError('OFPBIC_BAD_LEN', `instruction type ${type} of length ${len}`);
    };
    if (type === OFPIT.GOTO_TABLE) (fixed(8), (ins.gotoTable = b.u8()));
    else if (type === OFPIT.WRITE_METADATA) {
      fixed(24);
      b.skip(4);
      ins.writeMetadata = { value: b.u64(), mask: b.u64() };
    } else if (type === OFPIT.CLEAR_ACTIONS) (fixed(8), (ins.clearActions = true));
    else if (type === OFPIT.METER) (fixed(8), (meter = { type: 'meter', meterId: b.u32() }));
    else {
      b.skip(4);
      const list = decodeList(b, d);
      if (type === OFPIT.APPLY_ACTIONS) ins.apply = list;
      else {
        checkActionSet(list);
        ins.writeActions = list;
      }
    }
  }
  if (meter) ins.apply.unshift(meter);
  return ins;
}
