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
 *  - deleting a group deletes the flows that use it.
 * Table-miss is a drop (OpenFlow 1.3+ default, OVS with fail-mode=secure and no controller).
 */
import { DecapResult, GeneveOptionCursor, TunnelKind, decapsulate } from '@ovnts/geneve';
import { OFPP } from './actions.js';
import { Classifier } from './classifier.js';
import { OpenFlowError, TextParseError } from './errors.js';
import { KEY_WORDS, W } from './flowkey.js';
import { checkFlow, formatFlow, parseFlow, parseGroup, type Flow, type Group } from './ofctl-text.js';
import {
  OFPG_ANY, OFPP_ANY, Pipeline, TUN_META_PRESENT_SHIFT, XlateError, actionSetOrder, compileAction, compileInstructions,
  type BucketEntry, type FlowEntry, type FlowTable, type GroupEntry, type PacketIn, type SwitchCore, type TraceNode,
} from './pipeline.js';
import { makePort, type OutputSink, type Port, type PortConfig, type TlvMapping } from './ports.js';
import { formatFlowKey, formatMegaflow, parseMicroflow, type TraceResult } from './trace-format.js';
import { FlowKey } from './flowkey.js';
import type { Action } from './actions.js';

/** Number of flow tables (0..254). */
export const N_TABLES = 255;

/** Options of a `Switch`. */
export interface SwitchOptions {
  /** Bridge name (default `br0`), shown in traces. */
  name?: string;
  /** OVS `other_config:vlan-limit` (default 1). */
  vlanLimit?: number;
  /** Milliseconds clock for flow durations (default: always 0; the datapath never reads real time). */
  clock?: () => number;
  /** Default sink for ports without their own. */
  onOutput?: OutputSink;
  /** Packet-in hook (CONTROLLER output, `controller(...)`, dec_ttl expiry). */
  onPacketIn?: (pi: PacketIn) => void;
  /** Use the translation cache (default true). */
  flowCache?: boolean;
}

/** Options of `modFlows`/`delFlows`. */
export interface FlowModOptions {
  /** Same match and priority only. */
  strict?: boolean;
  /** Cookie filter: only flows with `(cookie & cookieMask) == (flow.cookie & cookieMask)`. */
  cookieMask?: bigint;
}

const ETH_P_TEB = 0x6558;

/** An OpenFlow 1.5 switch (one bridge) with OVS's semantics. */
export class Switch implements SwitchCore {
  /** Bridge name. */
  readonly name: string;
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

  private readonly pipe: Pipeline;
  private readonly clock: () => number;
  private flood: Port[] = [];
  private readonly decap = new DecapResult();
  private readonly optCursor = new GeneveOptionCursor();

  constructor(opts: SwitchOptions = {}) {
    this.name = opts.name ?? 'br0';
    this.vlanLimit = opts.vlanLimit ?? 1;
    this.clock = opts.clock ?? (() => 0);
    this.onOutput = opts.onOutput;
    this.onPacketIn = opts.onPacketIn;
    this.flowCache = opts.flowCache ?? true;
    for (let i = 0; i < N_TABLES; i++) {
      const cls = new Classifier<FlowEntry>();
      cls.epoch = this.epoch;
      this.tables.push({ id: i, cls, lookups: 0, matched: 0 });
    }
    this.pipe = new Pipeline(this);
    this.addPort({ number: OFPP.LOCAL, name: this.name, kind: 'internal' });
  }

  // -------------------------------------------------------------------------------------------
  // Ports

  /** Add a port; returns it. A port number already in use is replaced. */
  addPort(c: PortConfig): Port {
    if (!Number.isInteger(c.number) || c.number < 1 || (c.number >= OFPP.MAX && c.number !== OFPP.LOCAL)) {
      throw new RangeError(`port number ${c.number} is not a valid OpenFlow port (1..0xfeff)`);
    }
    if (c.kind === 'tunnel' && !c.tunnel) throw new RangeError(`tunnel port ${c.number} needs tunnel settings`);
    const p = makePort(c);
    this.ports.set(p.number, p);
    this.rebuildFlood();
    return p;
  }

  /** Remove a port. */
  removePort(n: number): boolean {
    const ok = this.ports.delete(n);
    this.rebuildFlood();
    return ok;
  }

  /** The port with this number. */
  port(n: number): Port | undefined {
    return this.ports.get(n);
  }

  /** Set a port's link state (liveness for fast-failover groups; a down port transmits nothing). */
  setPortUp(n: number, up: boolean): void {
    const p = this.ports.get(n);
    if (p) p.up = up;
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

  private toFlow(f: string | Flow, command: 'add' | 'any'): { flow: Flow; cookieMask?: bigint; hasTable: boolean; newCookie: boolean } {
    if (typeof f !== 'string') return { flow: f, hasTable: true, newCookie: true };
    let text = f;
    let cookieMask: bigint | undefined;
    const cm = /(^|[\s,])cookie=(0x[0-9a-fA-F]+|\d+)\/(0x[0-9a-fA-F]+|\d+|-1)/.exec(text);
    if (cm && command === 'any') {
      cookieMask = cm[3] === '-1' ? 0xffff_ffff_ffff_ffffn : BigInt(cm[3]!);
      text = text.replace(`cookie=${cm[2]}/${cm[3]}`, `cookie=${cm[2]}`);
    }
    if (!/\bactions?\s*[=:]/.test(text)) text = `${text.trim()}${text.trim() ? ' ' : ''}actions=drop`;
    return {
      flow: parseFlow(text, { command }), ...(cookieMask !== undefined ? { cookieMask } : {}),
      hasTable: /(^|[\s,])table=/.test(text), newCookie: cookieMask === undefined && /(^|[\s,])cookie=/.test(text),
    };
  }

  private checkGroups(list: readonly Action[] | undefined): void {
    if (!list) return;
    for (const a of list) {
      if (a.type === 'group' && !this.groups.has(a.groupId)) throw new OpenFlowError('OFPBAC_BAD_OUT_GROUP', `group ${a.groupId} does not exist`);
    }
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
    const old = t.cls.findExact(flow.match, flow.priority);
    if (!old && flow.flags.includes('check_overlap')) {
      for (const r of t.cls.rules()) {
        if (r.priority === flow.priority && overlaps(r.match.value, r.match.mask, flow.match.value, flow.match.mask)) {
          throw new OpenFlowError('OFPFMFC_OVERLAP', 'an overlapping flow of the same priority exists');
        }
      }
    }
    const entry: FlowEntry = { flow, ops: compileInstructions(flow.instructions), packets: 0, bytes: 0, created: this.clock(), rule: null };
    if (old) {
      if (!flow.flags.includes('reset_counts')) {
        entry.packets = old.payload.packets;
        entry.bytes = old.payload.bytes;
      }
      t.cls.remove(old);
    }
    entry.rule = t.cls.insert(flow.match, flow.priority, entry);
    return entry;
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

  private collect(flow: Flow, hasTable: boolean, strict: boolean, cookieMask: bigint | undefined): FlowEntry[] {
    const out: FlowEntry[] = [];
    const tables = hasTable ? [this.tables[flow.table]!] : this.tables;
    for (const t of tables) {
      for (const r of t.cls.rules()) {
        if (cookieMask !== undefined && (r.payload.flow.cookie & cookieMask) !== (flow.cookie & cookieMask)) continue;
        if (strict) {
          if (r.priority === flow.priority && r.match.equals(flow.match)) out.push(r.payload);
        } else if (looseMatch(r.match.value, r.match.mask, flow.match.value, flow.match.mask)) out.push(r.payload);
      }
    }
    return out;
  }

  /**
   * Modify the actions of matching flows (`ovs-ofctl mod-flows`); returns how many changed. The
   * cookie changes only when the text gives `cookie=V` without a mask (a parsed `Flow` always sets it).
   */
  modFlows(f: string | Flow, opts: FlowModOptions = {}): number {
    const { flow, cookieMask, hasTable, newCookie } = this.toFlow(f, 'any');
    const mask = opts.cookieMask ?? cookieMask;
    checkFlow(flow);
    this.checkGroups(flow.instructions.apply);
    this.checkGroups(flow.instructions.writeActions);
    const hits = this.collect(flow, hasTable, opts.strict ?? false, mask);
    for (const e of hits) {
      e.flow = { ...e.flow, instructions: flow.instructions, ...(mask === undefined && newCookie ? { cookie: flow.cookie } : {}) };
      e.ops = compileInstructions(flow.instructions);
      if (flow.flags.includes('reset_counts')) {
        e.packets = 0;
        e.bytes = 0;
      }
    }
    if (hits.length) for (const t of this.tables) t.cls.invalidate();
    return hits.length;
  }

  /** Delete matching flows (`ovs-ofctl del-flows`; no argument deletes all); returns how many. */
  delFlows(f?: string | Flow, opts: FlowModOptions = {}): number {
    if (f === undefined || (typeof f === 'string' && f.trim() === '')) {
      let n = 0;
      for (const t of this.tables) {
        n += t.cls.size;
        t.cls.clear();
      }
      return n;
    }
    const { flow, cookieMask, hasTable } = this.toFlow(f, 'any');
    const hits = this.collect(flow, hasTable, opts.strict ?? false, opts.cookieMask ?? cookieMask);
    for (const e of hits) if (e.rule) this.tables[e.flow.table]!.cls.remove(e.rule);
    return hits.length;
  }

  /** Every flow, by table then priority (highest first). */
  flows(table?: number): FlowEntry[] {
    const out: FlowEntry[] = [];
    for (const t of table === undefined ? this.tables : [this.tables[table]!]) {
      const rs = [...t.cls.rules()].sort((a, b) => b.priority - a.priority || a.seq - b.seq);
      for (const r of rs) out.push(r.payload);
    }
    return out;
  }

  /** `ovs-ofctl dump-flows` lines with counters. */
  dumpFlows(table?: number): string[] {
    const now = this.clock();
    return this.flows(table).map((e) =>
      formatFlow({ ...e.flow, stats: { durationMs: Math.max(0, now - e.created), nPackets: BigInt(e.packets), nBytes: BigInt(e.bytes) } }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Groups

  /** Add a group (`ovs-ofctl add-group` text or a parsed `Group`); an existing id is refused (OFPGMFC_GROUP_EXISTS). */
  addGroup(g: string | Group): GroupEntry {
    const group = typeof g === 'string' ? parseGroup(g) : g;
    if (this.groups.has(group.groupId)) throw new OpenFlowError('OFPGMFC_GROUP_EXISTS', `group ${group.groupId} already exists`);
    const e = this.makeGroup(group);
    this.groups.set(group.groupId, e);
    this.epoch.value++;
    return e;
  }

  /** Replace a group's type and buckets (`mod-group`); counters restart. */
  modGroup(g: string | Group): GroupEntry {
    const group = typeof g === 'string' ? parseGroup(g) : g;
    if (!this.groups.has(group.groupId)) throw new OpenFlowError('OFPGMFC_UNKNOWN_GROUP', `group ${group.groupId} does not exist`);
    const e = this.makeGroup(group);
    this.groups.set(group.groupId, e);
    this.epoch.value++;
    return e;
  }

  /** Delete a group and every flow that uses it (OpenFlow semantics, as OVS). */
  delGroup(id: number): boolean {
    if (!this.groups.delete(id)) return false;
    this.epoch.value++;
    for (const t of this.tables) {
      for (const r of [...t.cls.rules()]) {
        const ins = r.payload.flow.instructions;
        const uses = (l?: readonly Action[]): boolean => !!l && l.some((a) => a.type === 'group' && a.groupId === id);
        if (uses(ins.apply) || uses(ins.writeActions)) t.cls.remove(r);
      }
    }
    return true;
  }

  private makeGroup(group: Group): GroupEntry {
    if (group.type === 'indirect' && group.buckets.length !== 1) throw new OpenFlowError('OFPGMFC_BAD_BUCKET', 'an indirect group must have exactly one bucket');
    const buckets: BucketEntry[] = group.buckets.map((b, i) => ({
      id: b.bucketId ?? i,
      ops: actionSetOrder(b.actions.map(compileAction)),
      weight: b.weight ?? 1,
      watchPort: b.watchPort ?? OFPP_ANY,
      watchGroup: b.watchGroup ?? OFPG_ANY,
      packets: 0,
      bytes: 0,
    }));
    return { group, type: group.type, buckets, packets: 0, bytes: 0 };
  }

  // -------------------------------------------------------------------------------------------
  // Packets

  /** The translation cache's size and hit counts (see `flowCache`). */
  flowCacheStats(): { megaflows: number; masks: number; hits: number; emcHits: number; megaflowHits: number; misses: number } {
    const c = this.pipe.xcache;
    const { emcHits, megaflowHits, misses } = c.stats;
    return { megaflows: c.size, masks: c.maskCount, hits: emcHits + megaflowHits, emcHits, megaflowHits, misses };
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
    if (!this.prepare(port, frame, off, len)) return;
    const p = this.pipe;
    p.trace = null;
    p.dp = null;
    p.wc = null;
    p.countStats = true;
    p.useCache = this.flowCache;
    p.run();
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
        const m = this.tlvMap.find((x) => x.optClass === c.optClass && x.type === c.type && x.len === c.dataLength);
        if (!m) continue;
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
  trace(frame: Uint8Array | string, inPort?: number): TraceResult {
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
    const root: TraceNode[] = [];
    const bridge: TraceNode = { type: 'bridge', text: `bridge("${this.name}")`, children: [] };
    root.push(bridge);
    p.trace = bridge.children;
    p.dp = [];
    p.wc = new Uint32Array(KEY_WORDS);
    p.countStats = false;
    p.useCache = false;
    try {
      p.run();
    } finally {
      p.countStats = true;
    }
    const dp = p.dp;
    const wc = p.wc;
    p.trace = null;
    p.dp = null;
    p.wc = null;
    const tables: { tableId: number; flow?: string }[] = [];
    const walk = (ns: readonly TraceNode[]): void => {
      for (const n of ns) {
        if (n.type === 'table' && n.tableId !== undefined && n.tableId >= 0) tables.push({ tableId: n.tableId, ...(n.flow ? { flow: formatFlow(n.flow) } : {}) });
        walk(n.children);
      }
    };
    walk(root);
    const same = initial.w.every((x, i) => x === p.key.w[i]) && initial.vlan2Tci === p.key.vlan2Tci && initial.vlanTpid === p.key.vlanTpid;
    const res: TraceResult = {
      bridge: this.name,
      initialFlow: formatFlowKey(initial),
      nodes: root,
      tables,
      finalFlow: same ? null : formatFlowKey(p.key),
      megaflow: formatMegaflow(initial, wc),
      datapathActions: p.error ? [] : dp,
      outputs: p.error ? [] : p.emitted(),
    };
    if (p.error === XlateError.RecursionTooDeep) res.error = 'Recursion too deep';
    else if (p.error === XlateError.TooManyResubmits) res.error = 'Too many resubmits';
    return res;
  }
}

/** Is rule (rv, rm) at least as specific as criteria (cv, cm) and agreeing with it (OVS loose match)? */
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
