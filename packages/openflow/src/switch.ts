/**
 * The bridge: ports, tables 0-254, flow mods with OVS's semantics, the group table, counters,
 * and the entry points that run a frame through the pipeline (`receive`) or explain it (`trace`).
 *
 * Flow mods follow OVS 3.1 (ofproto.c) under OpenFlow 1.5:
 *  - add: the flow is checked (`checkFlow`, plus OFPBAC_BAD_OUT_GROUP for a group that does not
 *    exist); a flow with the same table, match and priority is replaced: the new cookie, timeouts
 *    and actions take over, its counters carry over unless the new flow says `reset_counts`;
 *    `check_overlap` refuses (OFPFMFC_OVERLAP) when an overlapping flow of the same priority exists;
 *  - modify (loose or strict): the actions of every matching flow change, counters kept unless
 *    `reset_counts`; the cookie changes only when no cookie mask was given; nothing is added when
 *    nothing matches (OpenFlow 1.1+);
 *  - delete (loose or strict), with a cookie/mask filter; loose means "every flow at least as
 *    specific as the given match", strict means the same match and priority;
 *  - deleting a group deletes the flows that use it (reason GROUP_DELETE), deleting a meter the
 *    flows that use it (METER_DELETE).
 * Table-miss is a drop (OpenFlow 1.3+ default, OVS with fail-mode=secure and no controller).
 *
 * State and time (docs/openflow-stateful.md): the switch owns one injected `Clock` (nothing else
 * reads time), the connection tracker (`ct`), the meter table, the NORMAL MAC table, flow lifetimes
 * (`ExpiryScheduler`: idle/hard timeouts, flow-removed events) and learned-cookie counts
 * (`delete_learned`). Expiry runs at the start of `receive()` and, with a `TimerClock`, from a
 * timer at the next deadline, so a `VirtualClock.advance()` removes flows exactly on time.
 * Conjunction ("soft") flows live in each table's `ConjunctionTable`, not in its classifier.
 */
import { DecapResult, GeneveOptionCursor, TunnelKind, decapsulate } from '@ovnts/geneve';
import { OFPP, checkActionsEnv, compileAction, compileInstructions, actionSetOrder, formatInstructions, parseActionList, someAction, type Action, type ActionEnv, type LearnAction } from './actions.js';
import { RealClock, type Clock, type TimerClock, type TimerHandle } from './clock/clock.js';
import type { Rng } from './clock/random.js';
import { Conntrack, type ConntrackOptions } from './conntrack/conntrack.js';
import { ConjunctionTable, conjunctionClauses } from './stateful/conjunction.js';
import { defaultGroupProps, parseGroupProps } from './stateful/group-text.js';
import { LearnedCookies, decideLearn, formatLearnedActions, type ExistingFlowInfo, type LearnDecision, type LearnedFlow } from './stateful/learn.js';
import { MeterTable, type Meter, type MeterConfig } from './stateful/meters.js';
import { NormalSwitch, type NormalOptions } from './stateful/normal.js';
import { OfpRequestError, checkPacketOutConsistency, validatePacketOut, parsePacketOut, type PacketOut } from './stateful/packet-out.js';
import { SelectGroupState } from './stateful/select.js';
import { ExpiryScheduler, RemovedReason, lifeStats, type TableStats } from './stateful/timeouts.js';
import { Classifier } from './classifier.js';
import { OpCode } from './op-code.js';
import { OpPool } from './op-pool.js';
import { InstalledFlow, sameData } from './flow-entry.js';
import { Match } from './match.js';
import type { Op } from './actions.js';
import { OpenFlowError, TextParseError } from './errors.js';
import { KEY_WORDS, W } from './flowkey.js';
import { checkFlow, formatFlow, parseFlow, parseFlowMod, type Flow, type FlowCommand, type FlowMod, type Group } from './ofctl-text.js';
import { TraceBuilder, formatLearnedAction, parseCtState } from './trace-builder.js';
import {
  FORWARD_CACHED, FORWARD_UNCACHED, OFPG_ANY, OFPP_ANY, Pipeline, TUN_META_PRESENT_SHIFT, XlateError,
  type BucketEntry, type FlowEntry, type FlowTable, type GroupEntry, type PacketIn, type SwitchCore,
} from './pipeline.js';
import { makePort, type OutputSink, type Port, type PortConfig, type TlvMapping } from './ports.js';
import { parseMicroflow, type TraceResult } from './trace-format.js';
import { parseMeter } from './stateful/meters.js';
import { FlowKey } from './flowkey.js';

/** Number of flow tables (0..254). */
export const N_TABLES = 255;

/** OpenFlow port configuration bits a PORT_MOD changes (`Switch.setPortConfig`). */
export interface PortConfigBits {
  /** OFPPC_PORT_DOWN. */
  down: boolean;
  /** OFPPC_NO_RECV. */
  noRecv: boolean;
  /** OFPPC_NO_FLOOD. */
  noFlood: boolean;
  /** OFPPC_NO_FWD. */
  noForward: boolean;
  /** OFPPC_NO_PACKET_IN. */
  noPacketIn: boolean;
}

/** Options of a `Switch`. */
export interface SwitchOptions {
  /** Bridge name (default `br0`), shown in traces. */
  name?: string;
  /** OVS `other_config:vlan-limit` (default 1). */
  vlanLimit?: number;
  /**
   * The datapath port number of LOCAL in `Datapath actions` (default 100: what OVS's dummy
   * datapath gives the first bridge's internal port; other ports keep their OpenFlow numbers, as
   * when they are created in order).
   */
  localDpPort?: number;
  /**
   * The only source of time (ms): flow timeouts and durations, conntrack timeouts, meters, MAC
   * aging. Use a `VirtualClock` in tests and simulations; default `new RealClock()` (live use).
   * With a `TimerClock` (both are) flows expire from a timer exactly at their deadline.
   */
  clock?: Clock;
  /** Randomness for `nat(random)` and NAT retries (default: the tracker's `SeededRng(1)`). */
  rng?: Rng;
  /** The connection tracker, or options for the one the switch builds on `clock`/`rng`. */
  conntrack?: Conntrack | Omit<ConntrackOptions, 'clock' | 'rng'>;
  /** NORMAL's MAC table options (aging time, size, forward-bpdu). */
  normal?: NormalOptions;
  /** Default sink for ports without their own. */
  onOutput?: OutputSink;
  /** Packet-in hook (CONTROLLER output, `controller(...)`, dec_ttl expiry). */
  onPacketIn?: (pi: PacketIn) => void;
  /**
   * Flow-removed hook: every flow that leaves a table by timeout or delete (flow mod, group or
   * meter delete, `delete_learned`). `ev.notify` says whether OVS would send the message
   * (`send_flow_rem`).
   */
  onFlowRemoved?: (ev: FlowRemovedEvent) => void;
  /** Port-status hook: a port was added, removed, or its link state changed (OpenFlow PORT_STATUS). */
  onPortStatus?: (ev: PortStatusEvent) => void;
  /** Use the translation cache (default true). */
  flowCache?: boolean;
}

/** A flow-removed event (OpenFlow `ofp_flow_removed`). */
export interface FlowRemovedEvent {
  /** The flow (its `flow` holds table, match, priority, cookie). */
  entry: FlowEntry;
  /** Why (`RemovedReason`: IDLE_TIMEOUT 0, HARD_TIMEOUT 1, DELETE 2, GROUP_DELETE 3, METER_DELETE 4). */
  reason: RemovedReason;
  /** Milliseconds installed. */
  durationMs: number;
  /** Idle timeout (s) at removal. */
  idleTimeout: number;
  /** Hard timeout (s) at removal. */
  hardTimeout: number;
  /** Packets matched. */
  packets: number;
  /** Bytes matched. */
  bytes: number;
  /** The flow has `send_flow_rem` (OVS sends OFPT_FLOW_REMOVED to controllers only then). */
  notify: boolean;
}

/** A change of a flow table, for flow monitors (OVS `ofmonitor_report()`). */
export interface FlowChangeEvent {
  /** Added (also an add that replaced an identical flow), modified (its actions or cookie changed), or removed. */
  event: 'added' | 'modified' | 'removed';
  /** The flow, after the change. */
  entry: FlowEntry;
  /** Why a removed flow left (`RemovedReason`). */
  reason?: RemovedReason;
  /** A modified flow's instructions before the change (a monitor's out_port filter matches either). */
  oldInstructions?: Flow['instructions'];
}

/** A port-status event (OpenFlow `ofp_port_status`): the port as it is now (as it was, for a delete). */
export interface PortStatusEvent {
  /** What happened. */
  reason: 'add' | 'delete' | 'modify';
  /** The port. */
  port: Port;
}

/** Options of `Switch.trace`. */
export interface TraceOptions {
  /** ct_state of each recirculation after `ct(table=N)` in order (ofproto/trace `--ct-next`), e.g. `['trk,est']`; default trk|new. */
  ctNext?: Array<string | number>;
  /**
   * A microflow is traced as `ofproto/trace -generate` traces it: with a packet, so actions with
   * side effects (`learn`) are translated and shown. Default false: as `ofproto/trace` without
   * `-generate`, which reports `suppressing side effects, so learn action ignored`. A frame is
   * always traced with side effects, as OVS does when given packet bytes.
   */
  generate?: boolean;
}

/** Options of `modFlows`/`delFlows`. */
export interface FlowModOptions {
  /** Same match and priority only. */
  strict?: boolean;
  /** Cookie filter: only flows with `(cookie & cookieMask) == (flow.cookie & cookieMask)`. */
  cookieMask?: bigint;
  /** Every table, whatever the flow's table says (an OpenFlow flow mod or request for table 0xff). */
  allTables?: boolean;
  /** Only flows that output to this port (OpenFlow `out_port`; `OFPP.NONE` or absent: any). */
  outPort?: number;
  /** Only flows that send to this group (OpenFlow `out_group`; absent or 0xffffffff: any). */
  outGroup?: number;
}

const ETH_P_TEB = 0x6558;

/** An OpenFlow 1.5 switch (one bridge) with OVS's semantics. */
export class Switch implements SwitchCore {
  /** Bridge name. */
  readonly name: string;
  /** The datapath port number of LOCAL in traces' `Datapath actions` (see `SwitchOptions.localDpPort`). */
  readonly localDpPort: number;
  /** Tables 0..254. */
  readonly tables: FlowTable[] = [];
  /** Ports by number (LOCAL included). */
  readonly ports = new Map<number, Port>();
  /** Groups by id. */
  readonly groups = new Map<number, GroupEntry>();
  /** Geneve TLV map. */
  tlvMap: TlvMapping[] = [];
  /** vlan-limit. */
  readonly vlanLimit: number;
  /** Default output sink. */
  onOutput: OutputSink | undefined;
  /** Packet-in hook. */
  onPacketIn: ((pi: PacketIn) => void) | undefined;
  /** Frames received on an unknown port (dropped). */
  unknownPortDrops = 0;
  /**
   * Serve frames from the translation cache (a megaflow -> recorded translation, see
   * flowcache.ts); on by default. Results and counters are the same either way.
   */
  flowCache: boolean;
  /** Bumped on every flow-table and group-table change; shared by every table's classifier. */
  readonly epoch = { value: 0 };
  /** The clock (the only source of time). */
  readonly clock: Clock;
  /** The connection tracker (`ct`): `dump()`, `flush()`, limits, timeout policies. */
  readonly conntrack: Conntrack;
  /** Meters (`addMeter`). */
  readonly meters: MeterTable;
  /** NORMAL's MAC-learning switch (`entries()`, `lookup()`). */
  readonly normal: NormalSwitch;
  /** Flow-removed hook. */
  onFlowRemoved: ((ev: FlowRemovedEvent) => void) | undefined;
  /** Flow-change hook (additions, modifications, removals; OpenFlow flow monitors use it). */
  onFlowChange: ((ev: FlowChangeEvent) => void) | undefined;
  /** See `SwitchOptions.onPortStatus`. */
  onPortStatus: ((ev: PortStatusEvent) => void) | undefined;
  /**
   * A miss in table 0 sends a packet-in (OVS's hidden miss rule, `connmgr_wants_packet_in_on_miss()`:
   * a controller connection of OpenFlow 1.0-1.2, or not yet negotiated, is up). Set it with
   * `setMissToController`; the OpenFlow agent does.
   */
  missToController = false;

  private readonly pipe: Pipeline;
  private readonly expiry: ExpiryScheduler<FlowEntry>;
  private readonly learnedCookies = new LearnedCookies();
  /** The instructions of the first flow seen with each shared prepared list (`OpPool`), for flows whose instructions equal them. */
  private readonly sharedInstructions = new WeakMap<Op[], Flow['instructions']>();
  /** Action lists shared between flows with the same stateless actions (see op-pool.ts). */
  private readonly opPool = new OpPool(() => this.liveFlows());
  /** @internal The shared lists compiled to flat programs (see op-code.ts); rule tags are offsets into it. */
  readonly opCode = new OpCode(() => this.liveFlows());
  private readonly pendingLearn: { lf: LearnedFlow; a: LearnAction; d: LearnDecision; existing: FlowEntry | undefined }[] = [];
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private flood: Port[] = [];
  private readonly decap = new DecapResult();
  private readonly optCursor = new GeneveOptionCursor();

  constructor(opts: SwitchOptions = {}) {
    this.name = opts.name ?? 'br0';
    this.localDpPort = opts.localDpPort ?? 100;
    this.vlanLimit = opts.vlanLimit ?? 1;
    this.clock = opts.clock ?? new RealClock();
    const ct = opts.conntrack;
    this.conntrack = ct instanceof Conntrack ? ct : new Conntrack({ ...(ct ?? {}), clock: this.clock, ...(opts.rng ? { rng: opts.rng } : {}) });
    this.meters = new MeterTable(this.clock);
    this.normal = new NormalSwitch(this.clock, opts.normal);
    this.expiry = new ExpiryScheduler<FlowEntry>(this.clock);
    this.onOutput = opts.onOutput;
    this.onPacketIn = opts.onPacketIn;
    this.onFlowRemoved = opts.onFlowRemoved;
    this.onPortStatus = opts.onPortStatus;
    this.flowCache = opts.flowCache ?? true;
    for (let i = 0; i < N_TABLES; i++) {
      const cls = new Classifier<FlowEntry>();
      cls.epoch = this.epoch;
      this.tables.push({ id: i, cls, conj: new ConjunctionTable<FlowEntry>(), softEntries: new Set(), lookups: 0, matched: 0 });
    }
    this.pipe = new Pipeline(this);
    this.addPort({ number: OFPP.LOCAL, name: this.name, kind: 'internal' });
  }

  // -------------------------------------------------------------------------------------------
  // Ports

  /** Add a port; returns it. A port number already in use is replaced. */
  /** Turn the miss-to-controller behaviour on or off (see `missToController`); cached translations are dropped. */
  setMissToController(on: boolean): void {
    if (on === this.missToController) return;
    this.missToController = on;
    this.epoch.value++;
  }

  addPort(c: PortConfig): Port {
    if (!Number.isInteger(c.number) || c.number < 1 || (c.number >= OFPP.MAX && c.number !== OFPP.LOCAL)) {
      throw new RangeError(`port number ${c.number} is not a valid OpenFlow port (1..0xfeff)`);
    }
    if (c.kind === 'tunnel' && !c.tunnel) throw new RangeError(`tunnel port ${c.number} needs tunnel settings`);
    const p = makePort(c, this.clock.now());
    this.ports.set(p.number, p);
    this.normal.setPort({
      port: p.number, ...(c.tag !== undefined ? { tag: c.tag } : {}), ...(c.trunks ? { trunks: c.trunks } : {}),
      ...(c.vlanMode ? { vlanMode: c.vlanMode } : {}), noFlood: p.noFlood,
    });
    this.rebuildFlood();
    this.onPortStatus?.({ reason: 'add', port: p });
    return p;
  }

  /** Remove a port (and the MACs NORMAL learned on it). */
  removePort(n: number): boolean {
    const p = this.ports.get(n);
    const ok = this.ports.delete(n);
    this.normal.removePort(n);
    this.rebuildFlood();
    if (p) this.onPortStatus?.({ reason: 'delete', port: p });
    return ok;
  }

  /** The port with this number. */
  port(n: number): Port | undefined {
    return this.ports.get(n);
  }

  /** Set a port's link state (liveness for fast-failover groups; a down port transmits nothing). */
  setPortUp(n: number, up: boolean): void {
    const p = this.ports.get(n);
    if (!p || p.up === up) return;
    p.up = up;
    this.onPortStatus?.({ reason: 'modify', port: p });
  }

  /**
   * Change a port's OpenFlow configuration (PORT_MOD; OVS `update_port_config()`): `down`
   * (OFPPC_PORT_DOWN, which takes the link down with it, as a dummy or kernel port does),
   * `noRecv`, `noFlood`, `noForward`, `noPacketIn`. Fields left out keep their value. Returns the
   * port, or undefined if there is none with this number. Cached translations are dropped.
   */
  setPortConfig(n: number, change: Partial<PortConfigBits>): Port | undefined {
    const p = this.ports.get(n);
    if (!p) return undefined;
    if (change.down !== undefined && change.down !== p.adminDown) {
      p.adminDown = change.down;
      p.up = !change.down;
    }
    if (change.noRecv !== undefined) p.noRecv = change.noRecv;
    if (change.noForward !== undefined) p.noForward = change.noForward;
    if (change.noPacketIn !== undefined) p.noPacketIn = change.noPacketIn;
    if (change.noFlood !== undefined && change.noFlood !== p.noFlood) {
      p.noFlood = change.noFlood;
      this.normal.setPortNoFlood(n, p.noFlood);
    }
    this.epoch.value++;
    return p;
  }

  /** Ports in the order FLOOD/ALL visit them: LOCAL first, then by number. */
  floodOrder(): readonly Port[] {
    return this.flood;
  }

  private rebuildFlood(): void {
    this.flood = [...this.ports.values()].sort((a, b) => (a.number === OFPP.LOCAL ? -1 : b.number === OFPP.LOCAL ? 1 : a.number - b.number));
  }

  /** Set the Geneve TLV map (OVS `ovs-ofctl add-tlv-map`). */
  setTlvMap(map: TlvMapping[]): void {
    for (const m of map) {
      if (m.index < 0 || m.index > 7 || m.len % 4 !== 0 || m.len > 16 || m.len < 0) {
        throw new RangeError(`TLV mapping for tun_metadata${m.index}: length ${m.len} must be a multiple of 4 up to 16, index 0..7`);
      }
    }
    this.tlvMap = map.slice();
  }

  // -------------------------------------------------------------------------------------------
  // Flows

  private toFlow(f: string | Flow, command: FlowCommand): FlowMod {
    if (typeof f !== 'string') return { flow: f, hasTable: true, newCookie: true };
    return parseFlowMod(f, command);
  }

  /** What a flow's actions need to exist in this switch (groups, meters). */
  private readonly env: ActionEnv = {
    groupExists: (id) => this.groups.has(id),
    meterExists: (id) => this.meters.get(id) !== undefined,
  };

  private checkGroups(list: readonly Action[] | undefined): void {
    checkActionsEnv(list, this.env);
  }

  /**
   * Add a flow (`ovs-ofctl add-flow` text or a parsed `Flow`). Refuses with `OpenFlowError` what
   * OVS refuses; replaces an identical (table, match, priority) flow.
   */
  addFlow(f: string | Flow): FlowEntry {
    const { flow } = this.toFlow(f, 'add');
    checkFlow(flow);
    this.checkGroups(flow.instructions.apply);
    this.checkGroups(flow.instructions.writeActions);
    const t = this.tables[flow.table]!;
    const old = this.findExact(t, flow);
    if (!old && flow.flags.includes('check_overlap')) {
      const scratch = new Match();
      for (const r of this.entries(t)) {
        if (r.priority !== flow.priority) continue;
        const m = r.matchInto(scratch);
        if (overlaps(m.value, m.mask, flow.match.value, flow.match.mask)) {
          throw new OpenFlowError('OFPFMFC_OVERLAP', 'an overlapping flow of the same priority exists');
        }
      }
    }
    return this.install(flow, old);
  }

  /** The installed flow with `flow`'s table, match and priority (hard or soft). */
  private findExact(t: FlowTable, flow: Flow): FlowEntry | undefined {
    const r = t.cls.findExact(flow.match, flow.priority);
    if (r) return r.payload;
    if (t.conj.size) for (const e of t.softEntries) if (e.priority === flow.priority && e.match.equals(flow.match)) return e;
    return undefined;
  }

  /** Every flow of a table, hard and soft. */
  private *entries(t: FlowTable): Iterable<FlowEntry> {
    for (const r of t.cls.rules()) yield r.payload;
    if (t.conj.size) yield* t.softEntries;
  }

  /** Flows installed now, hard and soft. */
  private liveFlows(): number {
    let n = 0;
    for (const t of this.tables) n += t.cls.size + t.softEntries.size;
    return n;
  }

  /** The program tag of a flow's prepared list (see op-code.ts); rebuilds the store first when it has outgrown the live flows. */
  private tagOf(ops: Op[]): number {
    if (this.opCode.stale()) {
      this.opCode.reset();
      for (const t of this.tables) for (const r of t.cls.rules()) t.cls.retag(r, this.opCode.compile(r.payload.ops));
    }
    return this.opCode.compile(ops);
  }

  /** Put a flow in its table (replacing `old`, which leaves silently, as OVS's add does). */
  private install(flow: Flow, old: FlowEntry | undefined): FlowEntry {
    const now = this.clock.now();
    const t = this.tables[flow.table]!;
    const soft = conjunctionClauses(flow.instructions.apply) !== null && !flow.instructions.writeActions && flow.instructions.gotoTable === undefined;
    const compiled = compileInstructions(flow.instructions);
    const ops = this.opPool.share(compiled);
    const entry = new InstalledFlow(flow, ops, now, soft);
    if (ops !== compiled) {
      // Another flow has these prepared actions: share its instructions too when they are equal.
      const same = this.sharedInstructions.get(ops);
      if (same === undefined) this.sharedInstructions.set(ops, flow.instructions);
      else if (same !== flow.instructions && sameData(same, flow.instructions)) entry.instructions = same;
    }
    if (old) {
      if (!flow.flags.includes('reset_counts')) {
        entry.packets = old.packets;
        entry.bytes = old.bytes;
      }
      this.unlink(old);
    }
    if (soft) {
      t.conj.insert(flow.match, flow.priority, conjunctionClauses(flow.instructions.apply)!, entry);
      t.softEntries.add(entry);
      this.epoch.value++;
    } else entry.attach(t.cls.insert(flow.match, flow.priority, entry, this.tagOf(entry.ops)));
    this.expiry.addLife(entry);
    this.learnedCookies.add(flow.instructions.apply);
    if (flow.idleTimeout || flow.hardTimeout) this.arm();
    this.onFlowChange?.({ event: 'added', entry });
    return entry;
  }

  /** Take a flow out of its table and the lifetime/cookie books; returns the (table, cookie) pairs whose last delete_learned flow went. */
  private unlink(e: FlowEntry): Array<{ table: number; cookie: bigint }> {
    const t = this.tables[e.table]!;
    if (e.soft) {
      t.conj.remove(e);
      t.softEntries.delete(e);
      this.epoch.value++;
    } else if (e.rule) t.cls.remove(e.rule);
    (e as InstalledFlow).detach();
    if (e.life) this.expiry.removeLife(e.life);
    return this.learnedCookies.remove(e.instructions.apply);
  }

  /** Remove a flow for `reason`, tell `onFlowRemoved`, and apply `delete_learned`. */
  private removeFlow(e: FlowEntry, reason: RemovedReason, now = this.clock.now()): void {
    if (!e.life?.live && e.rule === null && !e.soft) return;
    const life = e.life;
    const dead = this.unlink(e);
    this.onFlowChange?.({ event: 'removed', entry: e, reason });
    if (this.onFlowRemoved) {
      this.onFlowRemoved({
        entry: e, reason, durationMs: now - e.created, idleTimeout: life?.idleTimeout ?? e.flow.idleTimeout, hardTimeout: life?.hardTimeout ?? e.flow.hardTimeout,
        packets: e.packets, bytes: e.bytes, notify: life?.sendFlowRem ?? false,
      });
    }
    for (const d of dead) {
      const t = this.tables[d.table]!;
      for (const x of [...this.entries(t)]) if (x.cookie === d.cookie) this.removeFlow(x, RemovedReason.DELETE, now);
    }
  }

  /** Add every flow of an `add-flows` file; a refused flow raises with its line number in the message. */
  addFlows(text: string): FlowEntry[] {
    const out: FlowEntry[] = [];
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!;
      const hash = raw.indexOf('#');
      const body = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
      if (!body) continue;
      try {
        out.push(this.addFlow(body));
      } catch (e) {
        if (e instanceof TextParseError) throw new TextParseError(e.input, e.position, e.expected, i + 1);
        if (e instanceof OpenFlowError) throw new OpenFlowError(e.errorName, `line ${i + 1}: ${e.detail}`);
        throw e;
      }
    }
    return out;
  }

  /**
   * The flows a flow mod or flow stats request with `flow`'s table, match, priority and cookie
   * selects (OVS `collect_rules_loose()`/`_strict()`), with the filters of `opts`.
   */
  selectFlows(flow: Flow, opts: FlowModOptions = {}): FlowEntry[] {
    return this.collect(flow, !opts.allTables, opts.strict ?? false, opts.cookieMask, opts);
  }

  private collect(flow: Flow, hasTable: boolean, strict: boolean, cookieMask: bigint | undefined, opts: FlowModOptions = {}): FlowEntry[] {
    const out: FlowEntry[] = [];
    const tables = hasTable ? [this.tables[flow.table]!] : this.tables;
    const outPort = opts.outPort === undefined || opts.outPort === OFPP.NONE ? undefined : opts.outPort;
    const outGroup = opts.outGroup === undefined || opts.outGroup === 0xffff_ffff ? undefined : opts.outGroup;
    const scratch = new Match();
    for (const t of tables) {
      for (const e of this.entries(t)) {
        if (cookieMask !== undefined && (e.cookie & cookieMask) !== (flow.cookie & cookieMask)) continue;
        if (outPort !== undefined && !outputsTo(e, (a) => (a.type === 'output' && a.port === outPort) || (a.type === 'controller' && outPort === OFPP.CONTROLLER))) continue;
        if (outGroup !== undefined && !outputsTo(e, (a) => a.type === 'group' && a.groupId === outGroup)) continue;
        if (strict && e.priority !== flow.priority) continue;
        const m = e.matchInto(scratch);
        if (strict) {
          if (m.equals(flow.match)) out.push(e);
        } else if (looseMatch(m.value, m.mask, flow.match.value, flow.match.mask)) out.push(e);
      }
    }
    return out;
  }

  /**
   * Modify the actions of matching flows (`ovs-ofctl mod-flows`); returns how many changed. The
   * cookie changes only when the text gives `cookie=V` without a mask (a parsed `Flow` always sets it).
   */
  modFlows(f: string | Flow, opts: FlowModOptions = {}): number {
    const { flow, cookieMask, hasTable, newCookie } = this.toFlow(f, 'modify');
    const mask = opts.cookieMask ?? cookieMask;
    checkFlow(flow);
    this.checkGroups(flow.instructions.apply);
    this.checkGroups(flow.instructions.writeActions);
    const hits = this.collect(flow, hasTable && !opts.allTables, opts.strict ?? false, mask, opts);
    const dead: Array<{ table: number; cookie: bigint }> = [];
    for (const e of hits) this.modifyEntry(e, flow.instructions, mask === undefined && newCookie ? flow.cookie : undefined, flow.flags.includes('reset_counts'), dead);
    if (hits.length) for (const t of this.tables) t.cls.invalidate();
    this.deleteLearned(dead);
    return hits.length;
  }

  /** Replace a flow's instructions (and cookie); a flow that becomes (or stops being) a conjunction flow changes place. */
  private modifyEntry(e: FlowEntry, ins: Flow['instructions'], cookie: bigint | undefined, reset: boolean, dead: Array<{ table: number; cookie: bigint }>): void {
    const t = this.tables[e.table]!;
    const before = { instructions: e.instructions, cookie: e.cookie };
    for (const d of this.learnedCookies.remove(e.instructions.apply)) dead.push(d);
    this.learnedCookies.add(ins.apply);
    e.flow = { ...e.flow, instructions: ins, ...(cookie !== undefined ? { cookie } : {}) };
    e.ops = this.opPool.share(compileInstructions(ins));
    if (e.life) this.expiry.refreshLife(e.life, this.clock.now()); // a modification restarts the hard timeout (hard_age)
    if (reset) {
      e.packets = 0;
      e.bytes = 0;
    }
    const soft = conjunctionClauses(ins.apply) !== null && !ins.writeActions && ins.gotoTable === undefined;
    if (soft !== e.soft || soft) {
      if (e.soft) {
        t.conj.remove(e);
        t.softEntries.delete(e);
      } else if (e.rule) t.cls.remove(e.rule);
      const x = e as InstalledFlow;
      x.detach();
      e.soft = soft;
      if (soft) {
        t.conj.insert(x.match, x.priority, conjunctionClauses(ins.apply)!, e);
        t.softEntries.add(e);
      } else x.attach(t.cls.insert(x.match, x.priority, e, this.tagOf(e.ops)));
    } else if (e.rule) t.cls.retag(e.rule, this.tagOf(e.ops));
    this.epoch.value++;
    if (this.onFlowChange) {
      // OVS reports a modification only when the actions or the cookie changed.
      const changedActions = formatInstructions(before.instructions) !== formatInstructions(ins);
      if (changedActions || before.cookie !== e.flow.cookie) {
        this.onFlowChange({ event: 'modified', entry: e, ...(changedActions ? { oldInstructions: before.instructions } : {}) });
      }
    }
  }

  private deleteLearned(dead: Array<{ table: number; cookie: bigint }>): void {
    for (const d of dead) {
      for (const x of [...this.entries(this.tables[d.table]!)]) if (x.cookie === d.cookie) this.removeFlow(x, RemovedReason.DELETE);
    }
  }

  /** Delete matching flows (`ovs-ofctl del-flows`; no argument deletes all); returns how many. */
  delFlows(f?: string | Flow, opts: FlowModOptions = {}): number {
    let hits: FlowEntry[];
    if (f === undefined || (typeof f === 'string' && f.trim() === '')) hits = this.flows();
    else {
      const { flow, cookieMask, hasTable } = this.toFlow(f, 'delete');
      hits = this.collect(flow, hasTable && !opts.allTables, opts.strict ?? false, opts.cookieMask ?? cookieMask, opts);
    }
    const now = this.clock.now();
    for (const e of hits) this.removeFlow(e, RemovedReason.DELETE, now);
    return hits.length;
  }

  /**
   * A checkpoint of the flow and group tables; calling the returned function puts them back as they
   * were (the same entries with their counters, lifetimes and insertion order; no flow-removed
   * events). An OpenFlow bundle that fails rolls back to it (OVS `do_bundle_commit()`'s revert).
   */
  checkpoint(): () => void {
    type Saved = {
      e: InstalledFlow; flow: Flow; ops: FlowEntry['ops']; soft: boolean; packets: number; bytes: number;
      life: { idleTimeout: number; hardTimeout: number; created: number; modified: number; used: number };
    };
    const saved: Saved[] = [];
    for (const t of this.tables) {
      const hard = [...t.cls.rules()].sort((a, b) => a.seq - b.seq).map((r) => r.payload);
      for (const x of [...hard, ...t.softEntries]) {
        const e = x as InstalledFlow;
        // `{ ...e.flow }` reads the match getter: the snapshot keeps its own `Match`.
        saved.push({
          e, flow: { ...e.flow }, ops: e.ops, soft: e.soft, packets: e.packets, bytes: e.bytes,
          life: { idleTimeout: e.idleTimeout, hardTimeout: e.hardTimeout, created: e.created, modified: e.modified, used: e.used },
        });
      }
    }
    const groups = new Map(this.groups);
    return () => {
      for (const e of this.flows()) this.unlink(e);
      for (const s of saved) {
        const { e } = s;
        e.flow = s.flow; // no rule holds it after unlink: the entry keeps the snapshot's match
        e.ops = s.ops;
        e.soft = s.soft;
        e.packets = s.packets;
        e.bytes = s.bytes;
        Object.assign(e, s.life);
        e.live = true;
        const t = this.tables[e.table]!;
        if (e.soft) {
          t.conj.insert(e.match, e.priority, conjunctionClauses(e.instructions.apply)!, e);
          t.softEntries.add(e);
        } else e.attach(t.cls.insert(e.match, e.priority, e, this.tagOf(e.ops)));
        this.expiry.addLife(e);
        this.learnedCookies.add(e.instructions.apply);
      }
      this.groups.clear();
      for (const [id, g] of groups) this.groups.set(id, g);
      this.epoch.value++;
      for (const t of this.tables) t.cls.invalidate();
      this.arm();
    };
  }

  /** Every flow, by table then priority (highest first). */
  flows(table?: number): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const t of table === undefined ? this.tables : [this.tables[table]!]) {
      const rs = [...t.cls.rules()].sort((a, b) => b.priority - a.priority || a.seq - b.seq).map((r) => r.payload);
      if (t.softEntries.size) {
        rs.push(...t.softEntries);
        rs.sort((a, b) => b.priority - a.priority);
      }
      for (const r of rs) out.push(r);
    }
    return out;
  }

  /**
   * `ovs-ofctl dump-flows` lines with counters, `idle_age` and (after a modification or learn
   * refresh) `hard_age`; learned flows with `fin_timeout` show it first in their actions.
   */
  dumpFlows(table?: number): string[] {
    this.expire();
    const now = this.clock.now();
    return this.flows(table).map((e) => {
      const st = e.life ? lifeStats(e.life, now) : undefined;
      let life: Partial<Flow> = {};
      if (e.life && (e.life.idleTimeout !== e.flow.idleTimeout || e.life.hardTimeout !== e.flow.hardTimeout)) {
        life = { idleTimeout: e.life.idleTimeout, hardTimeout: e.life.hardTimeout };
      }
      const text = formatFlow({
        ...e.flow, ...life,
        stats: {
          durationMs: Math.max(0, Math.floor(now - e.created)), nPackets: BigInt(e.packets), nBytes: BigInt(e.bytes),
          // OVS prints hard_age only when it differs from the duration in whole seconds.
          ...(st ? { idleAge: st.idleAge } : {}), ...(st && st.hardAge !== Math.floor((now - e.created) / 1000) ? { hardAge: st.hardAge } : {}),
        },
      });
      return text;
    });
  }

  /** Statistics of one flow (`dump-flows` figures as numbers). */
  flowStats(e: FlowEntry): { durationMs: number; packets: number; bytes: number; idleAge: number; hardAge: number; idleTimeout: number; hardTimeout: number } {
    const now = this.clock.now();
    const st = e.life ? lifeStats(e.life, now) : { idleAge: 0, hardAge: 0 };
    return {
      durationMs: now - e.created, packets: e.packets, bytes: e.bytes, idleAge: st.idleAge, hardAge: st.hardAge,
      idleTimeout: e.life?.idleTimeout ?? e.flow.idleTimeout, hardTimeout: e.life?.hardTimeout ?? e.flow.hardTimeout,
    };
  }

  /** OpenFlow table statistics (`ovs-ofctl dump-tables`): active flows, lookups, matches, for every table. */
  tableStats(): TableStats[] {
    return this.tables.map((t) => ({ tableId: t.id, activeCount: t.cls.size + t.softEntries.size, lookupCount: t.lookups, matchedCount: t.matched }));
  }

  // -------------------------------------------------------------------------------------------
  // Time: expiry

  /**
   * Remove every flow whose idle or hard timeout has passed (OVS `rule_expire`; strictly after
   * the deadline), telling `onFlowRemoved`. Runs by itself (timer, `receive`); public for callers
   * with a clock that has no timers.
   */
  expire(now: number = this.clock.now()): number {
    const next = this.expiry.nextDeadline();
    if (next === undefined || next >= now) return 0;
    const evs = this.expiry.expire(now);
    for (const ev of evs) {
      const e = ev.flow;
      const dead = this.unlinkExpired(e);
      this.onFlowChange?.({ event: 'removed', entry: e, reason: ev.reason });
      if (this.onFlowRemoved) {
        this.onFlowRemoved({
          entry: e, reason: ev.reason, durationMs: ev.durationMs, idleTimeout: ev.idleTimeout, hardTimeout: ev.hardTimeout,
          packets: e.packets, bytes: e.bytes, notify: ev.notify,
        });
      }
      this.deleteLearned(dead);
    }
    this.arm();
    return evs.length;
  }

  private unlinkExpired(e: FlowEntry): Array<{ table: number; cookie: bigint }> {
    const t = this.tables[e.table]!;
    if (e.soft) {
      t.conj.remove(e);
      t.softEntries.delete(e);
      this.epoch.value++;
    } else if (e.rule) t.cls.remove(e.rule);
    (e as InstalledFlow).detach();
    return this.learnedCookies.remove(e.instructions.apply);
  }

  /** With a timer clock: one timer at the next flow deadline + 1 ms. */
  private arm(): void {
    const c = this.clock as Partial<TimerClock>;
    if (typeof c.schedule !== 'function') return;
    const next = this.expiry.nextDeadline();
    const at = next === undefined ? Infinity : next + 1;
    if (at === this.timerAt) return;
    if (this.timer !== null) c.cancel!(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = c.schedule(at, () => {
      this.timer = null;
      this.timerAt = Infinity;
      this.expire();
      this.arm();
    });
  }

  // -------------------------------------------------------------------------------------------
  // learn (called by the pipeline)

  /** @internal Decide a learned flow now; it is installed by `learnCommit` when the pass ends. */
  learnStage(lf: LearnedFlow, a: LearnAction, _now: number, dry: boolean): boolean {
    const f = lf.flow;
    const t = this.tables[f.table]!;
    let existing: FlowEntry | undefined;
    for (let i = this.pendingLearn.length - 1; i >= 0 && !existing; i--) {
      const p = this.pendingLearn[i]!;
      if (p.lf.flow.table === f.table && p.lf.flow.priority === f.priority && p.lf.flow.match.equals(f.match)) existing = p.existing;
    }
    existing ??= this.findExact(t, f);
    const info: ExistingFlowInfo | undefined = existing
      ? {
          idleTimeout: existing.life?.idleTimeout ?? existing.flow.idleTimeout, hardTimeout: existing.life?.hardTimeout ?? existing.flow.hardTimeout,
          importance: existing.flow.importance, flags: existing.flow.flags, cookie: existing.flow.cookie,
          actionsText: formatLearnedActions({ flow: existing.flow }),
        }
      : undefined;
    let count = 0;
    const limit = a.limit ?? 0;
    if (limit) {
      for (const e of this.entries(t)) if (e.cookie === f.cookie) count++;
      for (const p of this.pendingLearn) if (p.d.kind === 'add' && p.lf.flow.table === f.table && p.lf.flow.cookie === f.cookie) count++;
    }
    const d = decideLearn(lf, info, limit, count);
    if (d.kind === 'limit') return false;
    if (!dry) this.pendingLearn.push({ lf, a, d, existing });
    return true;
  }

  /** @internal Install the flows staged during a translation pass. */
  learnCommit(now: number): void {
    if (!this.pendingLearn.length) return;
    const list = this.pendingLearn.splice(0);
    for (const { lf, d, existing } of list) {
      const live = existing && (existing.rule !== null || existing.soft) ? existing : undefined;
      if (d.kind === 'refresh' && live) {
        if (live.life) this.expiry.refreshLife(live.life, now);
        continue;
      }
      if (d.kind === 'modify' && live) {
        const dead: Array<{ table: number; cookie: bigint }> = [];
        this.modifyEntry(live, lf.flow.instructions, d.cookie, false, dead);
        this.deleteLearned(dead);
        continue;
      }
      const t = this.tables[lf.flow.table]!;
      const e = this.install(lf.flow, this.findExact(t, lf.flow));
      // A learned flow's loads are reg_load actions in OVS (learn_execute): traces print them `load:`.
      e.ops = e.ops.map((o) => (o.type === 'set_field' ? { ...o, text: formatLearnedAction(o.a) } : o));
    }
  }

  /** @internal `fin_timeout` ran on a FIN/RST packet: lower the flow's timeouts. */
  finTimeout(e: FlowEntry, idle: number, hard: number): void {
    if (!e.life) return;
    this.expiry.reduceLife(e.life, idle, hard);
    this.arm();
  }

  // -------------------------------------------------------------------------------------------
  // Meters

  /** Add a meter (`ovs-ofctl add-meter` text, e.g. `meter=1,pktps,burst,bands=type=drop,rate=10,burst_size=5`); an existing id is refused (OFPMMFC_METER_EXISTS). */
  addMeter(m: string | MeterConfig): Meter {
    const cfg = typeof m === 'string' ? parseMeterText(m) : m;
    if (this.meters.get(cfg.meterId)) throw new OpenFlowError('OFPMMFC_METER_EXISTS', `meter ${cfg.meterId} already exists`);
    return this.meters.set(cfg);
  }

  /** Replace a meter (its buckets start full again); an unknown id is refused (OFPMMFC_UNKNOWN_METER). */
  modMeter(m: string | MeterConfig): Meter {
    const cfg = typeof m === 'string' ? parseMeterText(m) : m;
    if (!this.meters.get(cfg.meterId)) throw new OpenFlowError('OFPMMFC_UNKNOWN_METER', `meter ${cfg.meterId} does not exist`);
    return this.meters.set(cfg);
  }

  /** Delete a meter and every flow that uses it (reason METER_DELETE). */
  delMeter(id: number): boolean {
    if (!this.meters.delete(id)) return false;
    const uses = (l?: readonly Action[]): boolean => someAction(l, (a) => a.type === 'meter' && a.meterId === id);
    for (const e of this.flows()) if (uses(e.instructions.apply) || uses(e.instructions.writeActions)) this.removeFlow(e, RemovedReason.METER_DELETE);
    this.epoch.value++;
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Groups

  /** Add a group (`ovs-ofctl add-group` text or a parsed `Group`); an existing id is refused (OFPGMFC_GROUP_EXISTS). */
  addGroup(g: string | Group): GroupEntry {
    const { group, props } = typeof g === 'string' ? parseGroupProps(g) : { group: g, props: defaultGroupProps() };
    if (this.groups.has(group.groupId)) throw new OpenFlowError('OFPGMFC_GROUP_EXISTS', `group ${group.groupId} already exists`);
    const e = this.makeGroup(group, props);
    this.groups.set(group.groupId, e);
    this.epoch.value++;
    return e;
  }

  /** Replace a group's type and buckets (`mod-group`); counters restart. */
  modGroup(g: string | Group): GroupEntry {
    const { group, props } = typeof g === 'string' ? parseGroupProps(g) : { group: g, props: defaultGroupProps() };
    const old = this.groups.get(group.groupId);
    if (!old) throw new OpenFlowError('OFPGMFC_UNKNOWN_GROUP', `group ${group.groupId} does not exist`);
    const e = this.makeGroup(group, props, old.created);
    this.groups.set(group.groupId, e);
    this.epoch.value++;
    return e;
  }

  /** Delete a group and every flow that uses it (OpenFlow semantics, as OVS). */
  delGroup(id: number): boolean {
    if (!this.groups.delete(id)) return false;
    this.epoch.value++;
    const uses = (l?: readonly Action[]): boolean => someAction(l, (a) => a.type === 'group' && a.groupId === id);
    const now = this.clock.now();
    for (const e of this.flows()) {
      const ins = e.instructions;
      if (uses(ins.apply) || uses(ins.writeActions)) this.removeFlow(e, RemovedReason.GROUP_DELETE, now);
    }
    return true;
  }

  private makeGroup(group: Group, props = defaultGroupProps(), created = this.clock.now()): GroupEntry {
    if (group.type === 'indirect' && group.buckets.length !== 1) throw new OpenFlowError('OFPGMFC_BAD_BUCKET', 'an indirect group must have exactly one bucket');
    const buckets: BucketEntry[] = group.buckets.map((b, i) => ({
      id: b.bucketId ?? i,
      ops: actionSetOrder(b.actions.map(compileAction)),
      weight: b.weight ?? (group.type === 'select' ? 1 : 0),
      watchPort: b.watchPort ?? OFPP_ANY,
      watchGroup: b.watchGroup ?? OFPG_ANY,
      packets: 0,
      bytes: 0,
    }));
    const select = group.type === 'select' ? new SelectGroupState(buckets, props) : null;
    return { group, type: group.type, buckets, select, props, packets: 0, bytes: 0, created };
  }

  // -------------------------------------------------------------------------------------------
  // Packets

  /**
   * The translation cache's size and hit counts (see `flowCache`): one lookup per pass, the frame
   * as received and each pass recirculated after `ct(table=N)` (`recircHits`/`recircMisses`).
   */
  flowCacheStats(): { megaflows: number; masks: number; hits: number; emcHits: number; megaflowHits: number; misses: number; recircHits: number; recircMisses: number } {
    const c = this.pipe.xcache;
    const { emcHits, megaflowHits, misses, recircHits, recircMisses } = c.stats;
    return { megaflows: c.size, masks: c.maskCount, hits: emcHits + megaflowHits, emcHits, megaflowHits, misses, recircHits, recircMisses };
  }

  /**
   * Whether the translation of the last frame `receive` ran stopped at one of OVS's limits
   * (`recursion`: resubmits and goto_table nested over 64 deep; `resubmits`: over 4,096 in one
   * translation); such a frame is dropped, as OVS drops it. Undefined when it did not.
   */
  lastTranslationLimit(): 'recursion' | 'resubmits' | undefined {
    const e = this.pipe.error;
    return e === XlateError.RecursionTooDeep ? 'recursion' : e === XlateError.TooManyResubmits ? 'resubmits' : undefined;
  }

  /**
   * Run a frame received on `inPort` through the pipeline. Outputs go to the ports' sinks (or
   * `onOutput`) and packet-ins to `onPacketIn`, after the pipeline finishes; the bytes passed to
   * them are valid only during the call. The frame itself is never modified.
   */
  receive(inPort: number, frame: Uint8Array, off = 0, len = frame.length - off): void {
    const port = this.ports.get(inPort);
    if (!port) {
      this.unknownPortDrops++;
      return;
    }
    port.stats.rxPackets++;
    port.stats.rxBytes += len;
    // One clock reading per frame (RealClock's performance.now() boxes its result: 16 bytes).
    const now = this.clock.now();
    this.expire(now);
    if (!this.prepare(port, frame, off, len)) return;
    const p = this.pipe;
    if (port.noRecv) {
      p.lookupOnly(now);
      return;
    }
    p.run(this.flowCache ? FORWARD_CACHED : FORWARD_UNCACHED, now);
    p.deliver(this.onPacketIn, this.onOutput);
  }

  /**
   * Packet-out (`ovs-ofctl packet-out`): run `actions` on `frame` as if received on `inPort`
   * (a port, LOCAL, CONTROLLER or NONE). Checked as OVS does (`OfpRequestError`: OFPBRC_BAD_PORT,
   * OFPBAC_BAD_OUT_GROUP, OFPMMFC_INVALID_METER...). Text form: `in_port=1 packet=HEX actions=...`.
   * `output:CONTROLLER` sends a packet-in with reason `packet_out`; `output:TABLE` runs table 0.
   */
  packetOut(po: string | { inPort: number; actions: string | Action[]; frame: Uint8Array }): void {
    let req: PacketOut;
    if (typeof po === 'string') req = parsePacketOut(po);
    else {
      const actions = typeof po.actions === 'string' ? parseActionList(po.actions, po.actions, 0, { hasVlan: false, nwProto: -1 }) : po.actions;
      req = { inPort: po.inPort, actions, frame: po.frame, bufferId: 0xffffffff };
    }
    validatePacketOut(req, this.env);
    checkPacketOutConsistency(req);
    this.expire();
    const p = this.pipe;
    p.begin(req.frame, 0, req.frame.length, req.inPort);
    p.runActions(req.actions.map(compileAction));
    if (p.error !== 0) {
      // ofproto-dpif.c packet_xlate(): a packet-out whose translation fails is refused, nothing sent.
      throw new OfpRequestError('OFPFMFC_UNKNOWN', 5, 0, `the actions could not be translated (${p.error === XlateError.RecursionTooDeep ? 'recursion too deep' : 'too many resubmits'})`);
    }
    p.deliver(this.onPacketIn, this.onOutput);
  }

  /** Extract (decapsulating on tunnel ports); false when a tunnel frame is malformed. */
  private prepare(port: Port, frame: Uint8Array, off: number, len: number): boolean {
    const p = this.pipe;
    if (port.kind !== 'tunnel' || !port.tunnel) {
      p.begin(frame, off, len, port.number);
      return true;
    }
    const r = this.decap;
    const gport = port.tunnel.kind === TunnelKind.Vxlan ? 0 : (port.tunnel.dstPort ?? 6081);
    const vport = port.tunnel.kind === TunnelKind.Vxlan ? (port.tunnel.dstPort ?? 4789) : 0;
    if (!decapsulate(frame, off, len, r, gport || 6081, vport || 4789) || r.protocolType !== ETH_P_TEB) {
      port.stats.rxErrors++;
      return false;
    }
    p.begin(frame, r.innerOffset, r.innerLength, port.number);
    const w = p.key.w;
    w[W.tun_id] = 0;
    w[W.tun_id + 1] = r.vni;
    if (r.ipVersion === 4) {
      w[W.tun_src] = r.src4;
      w[W.tun_dst] = r.dst4;
    }
    if (r.kind === TunnelKind.Geneve && r.optLength > 0) {
      const c = this.optCursor.reset(frame, r.optOffset, r.optLength);
      while (c.next()) {
        // A loop, not find(): a closure per option would allocate per frame.
        let m: TlvMapping | undefined;
        for (let i = 0; i < this.tlvMap.length; i++) {
          const x = this.tlvMap[i]!;
          if (x.optClass === c.optClass && x.type === c.type && x.len === c.dataLength) {
            m = x;
            break;
          }
        }
        if (m === undefined) continue;
        const word = W.tun_metadata0 + 4 * m.index;
        for (let j = 0; j < m.len; j++) {
          const byteFromEnd = m.len - 1 - j;
          const wi = word + 3 - Math.floor(byteFromEnd / 4);
          w[wi] = (w[wi]! | (frame[c.dataOffset + j]! << (8 * (byteFromEnd % 4)))) >>> 0;
        }
        w[W.tun_flags] = (w[W.tun_flags]! | (1 << (TUN_META_PRESENT_SHIFT + m.index))) >>> 0;
      }
    }
    return true;
  }

  /**
   * Explain what the pipeline does with a frame received on `inPort` (or with a microflow in
   * ofproto/trace syntax, built into a frame as `-generate` does). Counters are not touched and
   * nothing is sent; the result lists the outputs with their bytes. See `formatTrace`.
   */
  trace(frame: Uint8Array | string, inPort?: number, opts: TraceOptions = {}): TraceResult {
    let bytes: Uint8Array;
    let port: number;
    let flow: Uint32Array | null = null;
    if (typeof frame === 'string') {
      const mf = parseMicroflow(frame);
      bytes = mf.frame;
      port = inPort ?? mf.inPort;
      flow = mf.flow;
    } else {
      bytes = frame;
      port = inPort ?? 0;
    }
    const p = this.pipe;
    const pt = this.ports.get(port);
    if (pt) {
      if (!this.prepare(pt, bytes, 0, bytes.length)) p.begin(bytes, 0, bytes.length, port);
    } else p.begin(bytes, 0, bytes.length, port);
    if (flow) {
      // ofproto/trace traces the flow as given (e.g. dl_type=0), not what re-parsing its packet yields.
      const w = p.key.w;
      w.set(flow);
      w[W.in_port] = port;
      w[W.actset_output] = 0xfff7;
      if (w[W.vlan_tci]! & 0x1000 && p.key.vlanTpid === 0) p.key.vlanTpid = 0x8100;
    }
    const initial = new FlowKey().copyFrom(p.key);
    const sideEffects = typeof frame !== 'string' || opts.generate === true;
    const tb = new TraceBuilder(this.name, (opts.ctNext ?? []).map((x) => (typeof x === 'number' ? x : parseCtState(x))), sideEffects);
    p.run({ kind: 'trace', trace: tb, sideEffects });
    return tb.result(initial, p.key, p.error, p.error ? [] : p.emitted());
  }
}

/** Is rule (rv, rm) at least as specific as criteria (cv, cm) and agreeing with it (OVS loose match)? */
/** Does a flow's apply or write actions (nested lists included) hold an action `pred` accepts (OVS `ofpacts_output_to_port/group`)? */
function outputsTo(f: { readonly instructions: Flow['instructions'] }, pred: (a: Action) => boolean): boolean {
  return someAction(f.instructions.apply, pred) || someAction(f.instructions.writeActions, pred);
}

/**
 * Does a flow fall under a loose filter, as flow statistics and flow monitors select (the filter's
 * match is looser than or equal to the flow's; `outPort` (OFPP.NONE: any) and `outGroup` (all ones:
 * any) among its actions)?
 */
export function flowInFilter(f: Flow, match: Match, outPort = OFPP.NONE as number, outGroup = 0xffff_ffff): boolean {
  if (outPort !== OFPP.NONE && !outputsTo(f, (a) => (a.type === 'output' && a.port === outPort) || (a.type === 'controller' && outPort === OFPP.CONTROLLER))) return false;
  if (outGroup !== 0xffff_ffff && !outputsTo(f, (a) => a.type === 'group' && a.groupId === outGroup)) return false;
  return looseMatch(f.match.value, f.match.mask, match.value, match.mask);
}

function looseMatch(rv: Uint32Array, rm: Uint32Array, cv: Uint32Array, cm: Uint32Array): boolean {
  for (let i = 0; i < KEY_WORDS; i++) {
    if ((cm[i]! & ~rm[i]!) !== 0) return false;
    if (((rv[i]! & cm[i]!) >>> 0) !== cv[i]) return false;
  }
  return true;
}

/** Can some packet match both? */
function overlaps(av: Uint32Array, am: Uint32Array, bv: Uint32Array, bm: Uint32Array): boolean {
  for (let i = 0; i < KEY_WORDS; i++) {
    const m = am[i]! & bm[i]!;
    if (((av[i]! ^ bv[i]!) & m) !== 0) return false;
  }
  return true;
}

/** `ovs-ofctl add-meter` text to a meter (with OVS's checks). */
function parseMeterText(t: string): MeterConfig {
  return parseMeter(t);
}

export { formatCtState, parseCtState } from './trace-builder.js';
