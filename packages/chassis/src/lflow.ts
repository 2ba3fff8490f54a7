/**
 * Logical flows to OpenFlow on one chassis (ovn-controller 23.03's `lflow.c`).
 *
 * Design. A logical flow applies to each of its datapaths that is local to the chassis. Its
 * actions are parsed with the flow's pipeline and table (`@ovnts/ovn` parseActions), their
 * prerequisites ANDed into its match, and the match compiled the way ovn-controller compiles it
 * (`exprToOpenFlow`: annotate, simplify, evaluate `is_chassis_resident()` for this chassis,
 * normalise, convert with conjunctive matches), with `@name` port groups looked up per datapath
 * (`<key>_<name>`) and port names resolved to tunnel keys of the datapath's ports or multicast
 * groups. A flow tagged with an `in_out_port` that is not related to this chassis is skipped,
 * and so is every match of a switch flow whose inport (ingress) or outport (egress) key names an
 * unrelated port: ports bound elsewhere need no flows here. The flows go to table 8 + table
 * (ingress) or 42 + table (egress) with metadata = the datapath key and cookie = the first 32 bits
 * of the logical flow's uuid; conjunctive clause flows carry cookie 0 and are merged with others
 * of the same match. Conjunction ids start at the hash of the flow and datapath uuids
 * (`lflow_conj_ids_alloc`), the next free range when taken.
 *
 * The same module builds lflow.c's other tables: MAC bindings (66/67), FDB (71/72), load
 * balancer hairpin detection and SNAT (68-70) and port security of bound VIFs (73-75).
 */
import { Match, hashInt, type Action } from '@ovnts/openflow';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6, parseMac } from '@ovnts/packet';
import { exprToOpenFlow, idlOrder, parseActions, parseMacIps, type MacIps, type NameTable } from '@ovnts/ovn';
import { encodeActions, load, ofField, resubmit, whole, type EncodeParams } from './encode.js';
import type { ExtendTable } from './extend-table.js';
import type { DesiredFlowTable } from './flow-table.js';
import type { OfAction } from './of-actions.js';
import { lportKey, type Runtime } from './runtime.js';
import { lflowDatapaths, type SbDatabase, type SbDatapath, type SbLoadBalancer, type SbLogicalFlow, type SbPortBinding } from '@ovnts/ovn';
import { MLF_BIT, NX_CTLR_NO_METER, OFTABLE } from './tables.js';

/** The first 32 bits of a uuid, as a cookie (`uuid.parts[0]`). */
export function uuidCookie(uuid: string): bigint {
  return BigInt(`0x${uuid.slice(0, 8)}`);
}

/** OVS `uuid_hash`: the first 32 bits. */
function uuidHash(uuid: string): number {
  return parseInt(uuid.slice(0, 8), 16) >>> 0;
}

/** Conjunction id ranges per (logical flow, datapath), as `lflow_conj_ids` allocates them. */
export class ConjIds {
  private readonly taken = new Set<number>();
  /** Ranges by logical flow, then datapath uuid. */
  private readonly byFlow = new Map<string, Map<string, { start: number; n: number }>>();

  /** Allocate `n` consecutive ids for the flow on the datapath (releasing its previous range). */
  alloc(lflow: string, dp: string, n: number): number {
    let ranges = this.byFlow.get(lflow);
    const prev = ranges?.get(dp);
    if (prev) {
      this.untake(prev);
      ranges!.delete(dp);
    }
    if (!n) return 0;
    let start = hashInt(uuidHash(lflow), uuidHash(dp)) >>> 0;
    if (start === 0) start = 1;
    for (;;) {
      let ok = true;
      let id = start;
      for (let i = 0; i < n; i++, id = (id + 1) >>> 0) {
        if (id === 0 || this.taken.has(id)) {
          ok = false;
          break;
        }
      }
      if (ok) break;
      start = (id + 1) >>> 0 || 1;
    }
    for (let i = 0; i < n; i++) this.taken.add(start + i);
    if (!ranges) this.byFlow.set(lflow, (ranges = new Map()));
    ranges.set(dp, { start, n });
    return start;
  }

  /** Release the ranges of a logical flow (every datapath). */
  releaseFlow(lflow: string): void {
    const ranges = this.byFlow.get(lflow);
    if (!ranges) return;
    for (const r of ranges.values()) this.untake(r);
    this.byFlow.delete(lflow);
  }

  private untake(r: { start: number; n: number }): void {
    for (let i = 0; i < r.n; i++) this.taken.delete(r.start + i);
  }
}

/** Everything the logical-flow translation of one chassis needs. */
export interface LflowContext {
  /** The southbound database. */
  readonly sb: SbDatabase;
  /** The chassis's runtime data. */
  readonly rt: Runtime;
  /** Desired flows. */
  readonly flows: DesiredFlowTable;
  /** Group ids. */
  readonly groups: ExtendTable;
  /** Meter ids. */
  readonly meters: ExtendTable;
  /** Conjunction ids. */
  readonly conj: ConjIds;
  /** Address sets by name. */
  readonly addressSets: Map<string, readonly string[]>;
  /** Southbound port groups by name (`<dp key>_<name>`). */
  readonly portGroups: Map<string, readonly string[]>;
  /** Multicast group keys: datapath key -> name -> key. */
  readonly mcKeys: Map<number, Map<string, number>>;
  /** DHCP option definitions. */
  readonly dhcpOpts: Map<string, { code: number; type: string }>;
  /** DHCPv6 option definitions. */
  readonly dhcpv6Opts: Map<string, { code: number; type: string }>;
  /** Names each logical flow referenced (address sets `$x`, port groups `@x`, ports), for incremental processing. */
  readonly refs: Map<string, Set<string>>;
}

/**
 * What a compilation looked up that depends on the datapath, with the answers it got: port
 * groups (`@name` as this datapath sees it), port keys and tunnel ports. Compiling the same
 * logical flow on another datapath of the same kind gives the same OpenFlow when every one of
 * these lookups gives the same answer there (`replayLookups`).
 */
interface LookupLog {
  /** Port group contents: name -> members joined (undefined: no such group). */
  readonly pg: Map<string, string | undefined>;
  /** Port keys: name -> key. */
  readonly port: Map<string, number | undefined>;
  /** Tunnel ports of `is_chassis_resident`-free outputs (`tunnelOfport`): name -> ofport. */
  readonly tunnel: Map<string, number | undefined>;
  /** Something made the result specific to this datapath whatever the lookups (snat-ct-zone, sample). */
  dpOnly: boolean;
}

function newLog(): LookupLog {
  return { pg: new Map(), port: new Map(), tunnel: new Map(), dpOnly: false };
}

/** The contents of `@name` on datapath `dpKey` (`<key>_<name>`, falling back to `name`), recording the names looked at. */
function portGroupOn(all: Map<string, readonly string[]>, dpKey: number, name: string, seen: Set<string>): readonly string[] | undefined {
  const sbName = `${dpKey}_${name}`;
  seen.add(`pg:${sbName}`);
  const v = all.get(sbName);
  if (v) return v;
  seen.add(`pg:${name}`);
  return all.get(name);
}

/** Port groups as one datapath's expressions see them, logged. */
class DpPortGroups extends Map<string, readonly string[]> {
  constructor(
    private readonly all: Map<string, readonly string[]>,
    private readonly dpKey: number,
    private readonly seen: Set<string>,
    private readonly log: LookupLog,
  ) {
    super();
  }
  override get(name: string): readonly string[] | undefined {
    const v = portGroupOn(this.all, this.dpKey, name, this.seen);
    this.log.pg.set(name, v?.join(','));
    return v;
  }
  override has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

/** Address sets, recording which names a flow used. */
class RecordingSets extends Map<string, readonly string[]> {
  constructor(
    private readonly all: Map<string, readonly string[]>,
    private readonly seen: Set<string>,
  ) {
    super();
  }
  override get(name: string): readonly string[] | undefined {
    this.seen.add(`as:${name}`);
    return this.all.get(name);
  }
  override has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

/** The port key of `name` in `dp`: a port of that datapath, or a multicast group of it (`lookup_port_cb`). */
function portKeyIn(ctx: LflowContext, dp: SbDatapath, name: string, seen: Set<string>): number | undefined {
  if (name === 'none') return 0;
  seen.add(`port:${name}`);
  const pb = ctx.rt.portByName.get(name);
  if (pb && pb.datapath.tunnelKey === dp.tunnelKey) return pb.tunnelKey;
  return ctx.mcKeys.get(dp.tunnelKey)?.get(name);
}

/** The tunnel port towards the chassis of port `name` of `dp` (undefined: not a remote port of it). */
function tunnelOfportIn(ctx: LflowContext, dp: SbDatapath, name: string): number | undefined {
  const pb = ctx.rt.portByName.get(name);
  if (!pb || pb.datapath.tunnelKey !== dp.tunnelKey) return undefined;
  const ch = ctx.rt.chassisOf(pb);
  return ch === undefined ? undefined : ctx.rt.tunnels.get(ch)?.ofport;
}

/** Do the lookups of `log` give the same answers on `dp`? Records the names looked at in `seen` either way. */
function replayLookups(ctx: LflowContext, log: LookupLog, dp: SbDatapath, seen: Set<string>): boolean {
  let same = !log.dpOnly;
  for (const [name, v] of log.pg) if (portGroupOn(ctx.portGroups, dp.tunnelKey, name, seen)?.join(',') !== v) same = false;
  for (const [name, v] of log.port) if (portKeyIn(ctx, dp, name, seen) !== v) same = false;
  for (const [name, v] of log.tunnel) if (tunnelOfportIn(ctx, dp, name) !== v) same = false;
  return same;
}

/** Translate one logical flow on every local datapath it applies to (`consider_logical_flow`). */
export function considerLogicalFlow(ctx: LflowContext, lflow: SbLogicalFlow): void {
  // As ovn-controller's lflow cache, and further: the OpenFlow of a logical flow depends on its
  // datapath only through what it looks up there (port groups, port keys, tunnels), so a
  // compilation is reused on every datapath of the same kind where those lookups give the same
  // answers (on most datapaths of a group a port group has no local port, for instance).
  const cache: Cached[] = [];
  for (const dp of lflowDatapaths(lflow)) considerOnDatapath(ctx, lflow, dp, cache);
  if (ctx.refs.get(lflow.uuid)?.size === 0) ctx.refs.delete(lflow.uuid);
}

interface Compiled {
  readonly flows: ReturnType<typeof exprToOpenFlow>['flows'];
  readonly nConj: number;
  readonly actions: OfAction[];
}

interface Cached {
  readonly isSwitch: boolean;
  readonly log: LookupLog;
  readonly compiled: Compiled;
}

/** Compilations kept per logical flow for reuse on its other datapaths. */
const MAX_CACHED_VARIANTS = 4;

function compileOnDatapath(ctx: LflowContext, lflow: SbLogicalFlow, dp: SbDatapath, isSwitch: boolean, seen: Set<string>, log: LookupLog): Compiled | undefined {
  const ingress = lflow.pipeline === 'ingress';
  const addressSets: NameTable = new RecordingSets(ctx.addressSets, seen);
  const portGroups: NameTable = new DpPortGroups(ctx.portGroups, dp.tunnelKey, seen, log);
  const lookup = (name: string) => {
    const v = portKeyIn(ctx, dp, name, seen);
    log.port.set(name, v);
    return v;
  };
  let parsed;
  try {
    parsed = parseActions(lflow.actions, { pipeline: lflow.pipeline, table: lflow.tableId, addressSets, portGroups });
  } catch {
    return undefined; // ovn-controller logs "error parsing actions" and skips the flow
  }
  const matchText = parsed.prereqs.length ? [`(${lflow.match})`, ...parsed.prereqs.map((p) => `(${p})`)].join(' && ') : lflow.match;
  let compiled;
  try {
    compiled = exprToOpenFlow(matchText, {
      addressSets,
      portGroups,
      portKeys: lookup,
      isChassisResident: (port) => {
        seen.add(`port:${port}`);
        return ctx.rt.isResident(port);
      },
    });
  } catch {
    return undefined; // "error parsing match"
  }
  if (!compiled.flows.length) return { flows: [], nConj: 0, actions: [] };
  let ctrlMeterId = NX_CTLR_NO_METER;
  if (lflow.controllerMeter) ctrlMeterId = ctx.meters.assign(lflow.controllerMeter, lflow.uuid);
  const params: EncodeParams = {
    lookupPort: lookup,
    tunnelOfport: (name) => {
      const v = tunnelOfportIn(ctx, dp, name);
      log.tunnel.set(name, v);
      return v;
    },
    isSwitch,
    groups: ctx.groups,
    meters: ctx.meters,
    lflowUuid: lflow.uuid,
    dpKey: dp.tunnelKey,
    pipeline: lflow.pipeline,
    outputTable: ingress ? OFTABLE.OUTPUT_LARGE_PKT_DETECT : OFTABLE.SAVE_INPORT,
    ctrlMeterId,
    commonNatZone: dp.externalIds.has('snat-ct-zone') ? 'reg12' : 'reg11',
    dhcpOption: (n) => ctx.dhcpOpts.get(n),
    dhcpv6Option: (n) => ctx.dhcpv6Opts.get(n),
  };
  const actions = encodeActions(parsed.actions, params);
  if (dp.externalIds.has('snat-ct-zone') || actions.some((a) => a.type === 'sample')) log.dpOnly = true;
  return { flows: compiled.flows, nConj: compiled.conjIds.length, actions };
}

/**
 * The names one logical flow looked up, each name string shared by every flow that looked it up
 * (a chassis keeps these sets for all its logical flows: one copy of `port:<name>` per name, not
 * one per flow).
 */
class RefSet extends Set<string> {
  constructor(private readonly pool: Map<string, string>) {
    super();
  }
  override add(name: string): this {
    let s = this.pool.get(name);
    if (s === undefined) this.pool.set(name, (s = name));
    return super.add(s);
  }
}

/** Name pools, one per `refs` map (a context and the updates that carry it over). */
const refPools = new WeakMap<Map<string, Set<string>>, Map<string, string>>();

function refsOf(ctx: LflowContext, uuid: string): Set<string> {
  let seen = ctx.refs.get(uuid);
  if (!seen) {
    let pool = refPools.get(ctx.refs);
    if (!pool) refPools.set(ctx.refs, (pool = new Map()));
    ctx.refs.set(uuid, (seen = new RefSet(pool)));
  }
  return seen;
}

const scratch = new Match();

/** The cookie of a logical flow's flows, one bigint shared by all of them (its datapaths are translated in a row). */
let lastCookie: { uuid: string; cookie: bigint } = { uuid: '', cookie: 0n };

function flowCookie(uuid: string): bigint {
  if (lastCookie.uuid !== uuid) lastCookie = { uuid, cookie: uuidCookie(uuid) };
  return lastCookie.cookie;
}

function considerOnDatapath(ctx: LflowContext, lflow: SbLogicalFlow, dp: SbDatapath, cache: Cached[]): void {
  const ld = ctx.rt.localDatapaths.get(dp.tunnelKey);
  if (!ld) return;
  const seen = refsOf(ctx, lflow.uuid);
  const ioPort = lflow.tags.get('in_out_port');
  if (ioPort !== undefined) {
    seen.add(`port:${ioPort}`);
    const pb = ctx.rt.portByName.get(ioPort);
    if (!pb || !ctx.rt.related.has(lportKey(dp.tunnelKey, pb.tunnelKey))) return;
  }
  let c: Compiled | undefined;
  for (const e of cache) {
    if (e.isSwitch === ld.isSwitch && replayLookups(ctx, e.log, dp, seen)) {
      c = e.compiled;
      break;
    }
  }
  if (!c) {
    const log = newLog();
    c = compileOnDatapath(ctx, lflow, dp, ld.isSwitch, seen, log);
    if (!c) return;
    if (!log.dpOnly && cache.length < MAX_CACHED_VARIANTS) cache.push({ isSwitch: ld.isSwitch, log, compiled: c });
  }
  if (!c.flows.length) return;
  const ingress = lflow.pipeline === 'ingress';
  const ptable = (ingress ? OFTABLE.LOG_INGRESS_PIPELINE : OFTABLE.LOG_EGRESS_PIPELINE) + lflow.tableId;
  let conjBase = 0;
  if (c.nConj) conjBase = ctx.conj.alloc(lflow.uuid, dp.uuid, c.nConj) - 1;
  const cookie = flowCookie(lflow.uuid);
  const portReg = ofField(ingress ? 'reg14' : 'reg15');
  const metadata = ofField('metadata');
  // The flow table keeps a flow's match as its key, never the object: one scratch match serves
  // every flow (a clone would allocate two 119-word arrays per flow).
  const m = scratch;
  for (const f of c.flows) {
    m.value.set(f.match.value);
    m.mask.set(f.match.mask);
    m.set(metadata, BigInt(dp.tunnelKey));
    if (ld.isSwitch) {
      const portId = Number(m.getValue(portReg));
      if (portId && !ctx.rt.related.has(lportKey(dp.tunnelKey, portId))) continue;
    }
    if (f.conjId !== undefined) m.set(ofField('conj_id'), BigInt(f.conjId + conjBase));
    if (f.conjunctions) {
      const conj: OfAction[] = f.conjunctions.map((x) => ({ type: 'conjunction', id: x.id + conjBase, clause: x.clause, nClauses: x.nClauses }));
      ctx.flows.addOrAppend(ptable, lflow.priority, m, conj, lflow.uuid);
    } else {
      ctx.flows.add(ptable, lflow.priority, cookie, m, c.actions, lflow.uuid);
    }
  }
}

function setReg(m: Match, reg: string, v: number | bigint): Match {
  return m.set(ofField(reg), BigInt(v));
}

/** MAC binding flows of tables 66 and 67 for one binding (`consider_neighbor_flow`). */
export function considerNeighbor(ctx: LflowContext, b: { uuid: string; logicalPort: string; ip: string; mac: string }, priority: number): void {
  const pb = ctx.rt.portByName.get(b.logicalPort);
  if (!pb || !ctx.rt.localDatapaths.has(pb.datapath.tunnelKey)) return;
  let mac: number;
  try {
    mac = parseMac(b.mac);
  } catch {
    return;
  }
  const get = new Match();
  const lookup = new Match();
  if (b.ip.includes('.')) {
    let ip: number;
    try {
      ip = parseIpv4(b.ip);
    } catch {
      return;
    }
    setReg(get, 'reg0', ip);
    setReg(lookup, 'reg0', ip);
    lookup.set(ofField('eth_type'), 0x806n);
  } else {
    let ip: bigint;
    try {
      ip = parseIpv6(b.ip);
    } catch {
      return;
    }
    setReg(get, 'xxreg0', ip);
    setReg(lookup, 'xxreg0', ip);
    lookup.set(ofField('eth_type'), 0x86ddn).set(ofField('nw_proto'), 58n).set(ofField('icmpv6_code'), 0n);
  }
  setReg(get, 'metadata', pb.datapath.tunnelKey);
  setReg(get, 'reg15', pb.tunnelKey);
  setReg(lookup, 'metadata', pb.datapath.tunnelKey);
  setReg(lookup, 'reg14', pb.tunnelKey);
  lookup.set(ofField('eth_src'), BigInt(mac));
  const cookie = uuidCookie(b.uuid);
  ctx.flows.add(OFTABLE.MAC_BINDING, priority, cookie, get, [load(mac, 'eth_dst'), load(1, 'reg10', MLF_BIT.LOOKUP_MAC, 1)], b.uuid);
  ctx.flows.add(OFTABLE.MAC_LOOKUP, priority, cookie, lookup, [load(1, 'reg10', MLF_BIT.LOOKUP_MAC, 1)], b.uuid);
}

/** FDB flows of tables 71 and 72 (`consider_fdb_flows`). */
export function considerFdb(ctx: LflowContext, fdb: { uuid: string; mac: string; dpKey: number; portKey: number }): void {
  if (!ctx.rt.localDatapaths.has(fdb.dpKey)) return;
  let mac: number;
  try {
    mac = parseMac(fdb.mac);
  } catch {
    return;
  }
  const cookie = uuidCookie(fdb.uuid);
  const m = setReg(new Match(), 'metadata', fdb.dpKey).set(ofField('eth_dst'), BigInt(mac));
  ctx.flows.add(OFTABLE.GET_FDB, 100, cookie, m, [load(fdb.portKey, 'reg15')], fdb.uuid);
  const l = setReg(new Match(), 'metadata', fdb.dpKey).set(ofField('eth_src'), BigInt(mac));
  setReg(l, 'reg14', fdb.portKey);
  ctx.flows.add(OFTABLE.LOOKUP_FDB, 100, cookie, l, [load(1, 'reg10', MLF_BIT.LOOKUP_FDB, 1)], fdb.uuid);
}

interface LbVip {
  v6: boolean;
  vip: bigint;
  port: number;
  backends: { ip: bigint; port: number }[];
}

function parseHostPort(text: string): { v6: boolean; ip: bigint; port: number } | undefined {
  try {
    const m6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
    if (m6) return { v6: true, ip: parseIpv6(m6[1]!), port: Number(m6[2] ?? 0) };
    if (text.includes(':') && !text.includes('.')) return { v6: true, ip: parseIpv6(text), port: 0 };
    const m4 = /^([\d.]+)(?::(\d+))?$/.exec(text);
    if (m4) return { v6: false, ip: BigInt(parseIpv4(m4[1]!)), port: Number(m4[2] ?? 0) };
  } catch {
    return undefined;
  }
  return undefined;
}

/** The VIPs of a southbound load balancer (`ovn_lb_vip_init_explicit`); unparseable entries are skipped. */
export function lbVips(lb: SbLoadBalancer): LbVip[] {
  const out: LbVip[] = [];
  for (const [k, v] of lb.vips) {
    const vip = parseHostPort(k);
    if (!vip) continue;
    const backends: { ip: bigint; port: number }[] = [];
    let ok = true;
    for (const b of v.split(',').map((s) => s.trim()).filter((s) => s)) {
      const be = parseHostPort(b);
      if (!be || be.v6 !== vip.v6) {
        ok = false;
        break;
      }
      backends.push({ ip: be.ip, port: be.port });
    }
    if (ok) out.push({ v6: vip.v6, vip: vip.ip, port: vip.port, backends });
  }
  return out;
}

const PROTO: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };

function hairpinSnatIp(lb: SbLoadBalancer, v6: boolean): bigint | undefined {
  const s = lb.options.get('hairpin_snat_ip');
  if (!s) return undefined;
  for (const t of s.split(/\s+/)) {
    const h = parseHostPort(t);
    if (h && h.v6 === v6) return h.ip;
  }
  return undefined;
}

/** Load balancer hairpin flows of tables 68-70 (`consider_lb_hairpin_flows`). */
export function considerLbHairpin(ctx: LflowContext, lb: SbLoadBalancer, useCtMark: boolean): void {
  const proto = PROTO[lb.protocol ?? ''] ?? 6;
  const orig = lb.options.get('hairpin_orig_tuple') === 'true';
  const cookie = uuidCookie(lb.uuid);
  const owner = lb.uuid;
  for (const v of lbVips(lb)) {
    const ipSrc = v.v6 ? 'ipv6_src' : 'ip_src';
    const ipDst = v.v6 ? 'ipv6_dst' : 'ip_dst';
    for (const be of v.backends) {
      const m = new Match();
      if (!orig) m.set(ofField('ct_state'), 0xa0n, 0xa0n);
      m.set(ofField('eth_type'), v.v6 ? 0x86ddn : 0x800n).set(ofField(ipSrc), be.ip).set(ofField(ipDst), be.ip);
      if (!orig) m.set(ofField(v.v6 ? 'ct_ipv6_dst' : 'ct_nw_dst'), v.vip);
      else setReg(m, v.v6 ? 'xxreg1' : 'reg1', v.vip);
      const snat = hairpinSnatIp(lb, v.v6) ?? v.vip;
      const specs: Extract<Action, { type: 'learn' }>['specs'] = [
        { kind: 'match', dst: whole('metadata'), src: whole('metadata') },
        { kind: 'match', dst: whole('eth_type'), src: { value: v.v6 ? 0x86ddn : 0x800n } },
        { kind: 'match', dst: whole(ipSrc), src: whole(ipSrc) },
        { kind: 'match', dst: whole(ipDst), src: { value: snat } },
      ];
      if (be.port) {
        specs.push({ kind: 'match', dst: whole('nw_proto'), src: { value: BigInt(proto) } });
        const l4 = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : 'sctp';
        specs.push({ kind: 'match', dst: whole(`${l4}_src`), src: whole(`${l4}_dst`) });
      } else {
        specs.push({ kind: 'match', dst: whole('nw_proto'), src: whole('nw_proto') });
      }
      specs.push({ kind: 'load', dst: { field: ofField('reg10'), ofs: MLF_BIT.LOOKUP_LB_HAIRPIN, nBits: 1 }, src: { value: 1n } });
      const learn: Action = {
        type: 'learn', table: OFTABLE.CHK_LB_HAIRPIN_REPLY, idleTimeout: 0, hardTimeout: 0, priority: 32768, cookie,
        finIdleTimeout: 0, finHardTimeout: 0, sendFlowRem: false, deleteLearned: true, specs,
      };
      if (be.port) {
        m.set(ofField('nw_proto'), BigInt(proto)).set(ofField(proto === 6 ? 'tcp_dst' : proto === 17 ? 'udp_dst' : 'sctp_dst'), BigInt(be.port));
        if (!orig) m.set(ofField('ct_nw_proto'), BigInt(proto)).set(ofField('ct_tp_dst'), BigInt(v.port));
        else m.set(ofField('reg2'), BigInt(v.port), 0xffffn);
      }
      if (useCtMark) m.set(ofField('ct_mark'), 2n, 2n);
      else m.set(ofField('ct_label'), 2n, 2n);
      ctx.flows.add(OFTABLE.CHK_LB_HAIRPIN, 100, cookie, m, [load(1, 'reg10', MLF_BIT.LOOKUP_LB_HAIRPIN, 1), learn], owner);
    }
    // ct_snat hairpin flow for the VIP.
    const snatIp = hairpinSnatIp(lb, v.v6);
    const m = new Match();
    if (!orig) m.set(ofField('ct_state'), 0xa0n, 0xa0n);
    m.set(ofField('eth_type'), v.v6 ? 0x86ddn : 0x800n);
    if (!orig) m.set(ofField(v.v6 ? 'ct_ipv6_dst' : 'ct_nw_dst'), v.vip);
    else setReg(m, v.v6 ? 'xxreg1' : 'reg1', v.vip);
    if (v.port) {
      m.set(ofField('nw_proto'), BigInt(proto));
      if (!orig) m.set(ofField('ct_nw_proto'), BigInt(proto)).set(ofField('ct_tp_dst'), BigInt(v.port));
      else m.set(ofField('reg2'), BigInt(v.port), 0xffffn);
    }
    const addr = snatIp ?? v.vip;
    const ct: Action = {
      type: 'ct', commit: true, force: false, zone: { field: ofField('reg12'), ofs: 0, nBits: 16 }, exec: [],
      nat: { kind: 'src', addrMin: v.v6 ? `[${formatIpv6(addr)}]` : formatIpv4(Number(addr)), flags: [] },
    };
    const prio = (snatIp === undefined ? 100 : 200) - (v.port ? 0 : 10);
    if (snatIp === undefined) ctx.flows.add(OFTABLE.CT_SNAT_HAIRPIN, prio, cookie, m, [ct], owner);
    else {
      for (const dp of [...lb.datapaths, ...(lb.datapathGroup?.datapaths ?? [])]) {
        if (!ctx.rt.localDatapaths.has(dp.tunnelKey)) continue;
        ctx.flows.add(OFTABLE.CT_SNAT_HAIRPIN, prio, cookie, m.clone().set(ofField('metadata'), BigInt(dp.tunnelKey)), [ct], owner);
      }
    }
  }
}

/** Is a load balancer applied to a local datapath? */
export function lbIsLocal(ctx: LflowContext, lb: SbLoadBalancer): boolean {
  for (const dp of [...lb.datapaths, ...(lb.datapathGroup?.datapaths ?? [])]) if (ctx.rt.localDatapaths.has(dp.tunnelKey)) return true;
  return false;
}

/** The IPv6 link-local address of a MAC (`in6_generate_lla`). */
export function lla(mac: number): bigint {
  const m = BigInt(mac);
  const eui = (((m >> 24n) ^ 0x020000n) << 40n) | (0xfffen << 24n) | (m & 0xffffffn);
  return (0xfe80n << 112n) | eui;
}

function psMatch(pb: SbPortBinding, reg: 'reg14' | 'reg15'): Match {
  return setReg(setReg(new Match(), 'metadata', pb.datapath.tunnelKey), reg, pb.tunnelKey);
}

/** Port security flows of tables 73-75 for a VIF bound here (`consider_port_sec_flows`). */
export function considerPortSec(ctx: LflowContext, pb: SbPortBinding): void {
  const addrs: MacIps[] = [];
  for (const text of pb.portSecurity) {
    try {
      addrs.push(parseMacIps(text));
    } catch {
      // "invalid syntax in port security": skipped
    }
  }
  if (!addrs.length) return;
  const cookie = uuidCookie(pb.uuid);
  const add = (table: number, prio: number, m: Match, acts: OfAction[]) => ctx.flows.add(table, prio, cookie, m.clone(), acts, pb.uuid);
  const deny = [load(1, 'reg10', MLF_BIT.CHECK_PORT_SEC, 1)];
  const allow = [load(0, 'reg10', MLF_BIT.CHECK_PORT_SEC, 1)];
  const advNd = [resubmit(OFTABLE.CHK_IN_PORT_SEC_ND)];
  const F = ofField;
  // Default flows.
  let m = psMatch(pb, 'reg14');
  add(OFTABLE.CHK_IN_PORT_SEC, 80, m, deny);
  m.set(F('eth_type'), 0x806n);
  add(OFTABLE.CHK_IN_PORT_SEC, 95, m, advNd);
  m = psMatch(pb, 'reg14').set(F('eth_type'), 0x806n);
  add(OFTABLE.CHK_IN_PORT_SEC_ND, 80, m, deny);
  m.set(F('eth_type'), 0x86ddn).set(F('nw_proto'), 58n).set(F('nw_ttl'), 255n).set(F('icmpv6_type'), 136n);
  add(OFTABLE.CHK_IN_PORT_SEC_ND, 80, m, deny);
  m.set(F('icmpv6_type'), 135n);
  add(OFTABLE.CHK_IN_PORT_SEC_ND, 80, m, allow);
  const ip4 = (a: MacIps) => a.ips.filter((i) => i.family === 4);
  const ip6 = (a: MacIps) => a.ips.filter((i) => i.family === 6);
  const v4Mask = (plen: number) => (plen === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - plen)) - 1n));
  const v6Mask = (plen: number) => (plen === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - plen)) - 1n));
  const setV4 = (mm: Match, f: string, a: { addr: number | bigint; plen: number }) => {
    const addr = BigInt(a.addr);
    const mask = v4Mask(a.plen);
    if (a.plen === 32 || addr & ~mask & 0xffffffffn) mm.set(F(f), addr);
    else mm.set(F(f), addr, mask);
  };
  const setV6 = (mm: Match, f: string, a: { addr: number | bigint; plen: number }) => {
    const addr = BigInt(a.addr);
    const mask = v6Mask(a.plen);
    if (a.plen === 128 || addr & ~mask & ((1n << 128n) - 1n)) mm.set(F(f), addr);
    else mm.set(F(f), addr & mask, mask);
  };
  for (const a of addrs) {
    const ea = BigInt(a.mac);
    const v4 = ip4(a);
    const v6 = ip6(a);
    if (!v4.length && !v6.length) add(OFTABLE.CHK_IN_PORT_SEC, 90, psMatch(pb, 'reg14').set(F('eth_src'), ea), advNd);
    if (v4.length) {
      for (const i of v4) {
        const mm = psMatch(pb, 'reg14').set(F('eth_src'), ea).set(F('eth_type'), 0x800n);
        setV4(mm, 'ip_src', i);
        add(OFTABLE.CHK_IN_PORT_SEC, 90, mm, allow);
      }
      const mm = psMatch(pb, 'reg14').set(F('eth_src'), ea).set(F('eth_type'), 0x800n);
      mm.set(F('ip_src'), 0n).set(F('ip_dst'), 0xffffffffn).set(F('nw_proto'), 17n).set(F('udp_src'), 68n).set(F('udp_dst'), 67n);
      add(OFTABLE.CHK_IN_PORT_SEC, 90, mm, allow);
    }
    if (v4.length || !v6.length) {
      if (!v4.length) add(OFTABLE.CHK_IN_PORT_SEC_ND, 90, psMatch(pb, 'reg14').set(F('eth_src'), ea).set(F('eth_type'), 0x806n).set(F('arp_sha'), ea), allow);
      for (const i of v4) {
        const mm = psMatch(pb, 'reg14').set(F('eth_src'), ea).set(F('eth_type'), 0x806n).set(F('arp_sha'), ea);
        setV4(mm, 'arp_spa', i);
        add(OFTABLE.CHK_IN_PORT_SEC_ND, 90, mm, allow);
      }
    }
    if (v6.length) {
      for (const i of v6) {
        const mm = psMatch(pb, 'reg14').set(F('eth_src'), ea).set(F('eth_type'), 0x86ddn);
        setV6(mm, 'ipv6_src', i);
        add(OFTABLE.CHK_IN_PORT_SEC, 90, mm, advNd);
      }
      const mm = psMatch(pb, 'reg14').set(F('eth_src'), ea).set(F('eth_type'), 0x86ddn).set(F('ipv6_src'), lla(a.mac));
      add(OFTABLE.CHK_IN_PORT_SEC, 90, mm, advNd);
      mm.set(F('ipv6_src'), 0n).set(F('ipv6_dst'), 0xff02n << 112n, 0xffffn << 112n).set(F('nw_proto'), 58n).set(F('icmpv6_type'), 131n).set(F('icmpv6_code'), 0n);
      add(OFTABLE.CHK_IN_PORT_SEC, 90, mm, allow);
      mm.set(F('icmpv6_type'), 143n);
      add(OFTABLE.CHK_IN_PORT_SEC, 90, mm, allow);
      mm.set(F('icmpv6_type'), 135n);
      add(OFTABLE.CHK_IN_PORT_SEC, 90, mm, advNd);
    }
    // Neighbor discovery.
    const nd = psMatch(pb, 'reg14').set(F('eth_type'), 0x86ddn).set(F('nw_proto'), 58n).set(F('nw_ttl'), 225n).set(F('icmpv6_type'), 135n).set(F('icmpv6_code'), 0n);
    nd.set(F('nd_sll'), 0n);
    add(OFTABLE.CHK_IN_PORT_SEC_ND, 90, nd, allow);
    nd.set(F('nd_sll'), ea);
    add(OFTABLE.CHK_IN_PORT_SEC_ND, 90, nd, allow);
    nd.set(F('icmpv6_type'), 136n).set(F('icmpv6_code'), 0n);
    if (v6.length) {
      nd.set(F('nd_tll'), 0n).set(F('nd_target'), lla(a.mac));
      add(OFTABLE.CHK_IN_PORT_SEC_ND, 90, nd, allow);
      nd.set(F('nd_tll'), ea).set(F('nd_target'), lla(a.mac));
      add(OFTABLE.CHK_IN_PORT_SEC_ND, 90, nd, allow);
      for (const i of v6) {
        const mm = psMatch(pb, 'reg14').set(F('eth_src'), ea).set(F('eth_type'), 0x86ddn).set(F('nw_proto'), 58n).set(F('icmpv6_type'), 136n).set(F('icmpv6_code'), 0n);
        mm.set(F('nd_tll'), 0n);
        setV6(mm, 'nd_target', i);
        add(OFTABLE.CHK_IN_PORT_SEC_ND, 90, mm, allow);
        mm.set(F('nd_tll'), ea);
        add(OFTABLE.CHK_IN_PORT_SEC_ND, 90, mm, allow);
      }
    } else {
      nd.set(F('nd_tll'), 0n);
      add(OFTABLE.CHK_IN_PORT_SEC_ND, 90, nd, allow);
      nd.set(F('nd_tll'), ea);
      add(OFTABLE.CHK_IN_PORT_SEC_ND, 90, nd, allow);
    }
  }
  // Out port security.
  add(OFTABLE.CHK_OUT_PORT_SEC, 80, psMatch(pb, 'reg15'), deny);
  for (const a of addrs) {
    const ea = BigInt(a.mac);
    const v4 = ip4(a);
    const v6 = ip6(a);
    add(OFTABLE.CHK_OUT_PORT_SEC, 85, psMatch(pb, 'reg15').set(F('eth_dst'), ea), allow);
    if (!v4.length && !v6.length) continue;
    add(OFTABLE.CHK_OUT_PORT_SEC, 90, psMatch(pb, 'reg15').set(F('eth_dst'), ea).set(F('eth_type'), 0x800n), deny);
    if (v4.length) {
      for (const i of v4) {
        const mm = psMatch(pb, 'reg15').set(F('eth_dst'), ea).set(F('eth_type'), 0x800n);
        const addr = BigInt(i.addr);
        const mask = v4Mask(i.plen);
        if (i.plen === 32 || addr & ~mask & 0xffffffffn) {
          if (i.plen !== 32) {
            mm.set(F('ip_dst'), (addr | (~mask & 0xffffffffn)) & 0xffffffffn);
            add(OFTABLE.CHK_OUT_PORT_SEC, 95, mm, allow);
          }
          mm.set(F('ip_dst'), addr);
        } else mm.set(F('ip_dst'), addr, mask);
        add(OFTABLE.CHK_OUT_PORT_SEC, 95, mm, allow);
      }
      const mm = psMatch(pb, 'reg15').set(F('eth_dst'), ea).set(F('eth_type'), 0x800n).set(F('ip_dst'), 0xffffffffn);
      add(OFTABLE.CHK_OUT_PORT_SEC, 95, mm, allow);
      mm.set(F('ip_dst'), 0xe0000000n, 0xf0000000n);
      add(OFTABLE.CHK_OUT_PORT_SEC, 95, mm, allow);
    }
    add(OFTABLE.CHK_OUT_PORT_SEC, 90, psMatch(pb, 'reg15').set(F('eth_dst'), ea).set(F('eth_type'), 0x86ddn), deny);
    if (v6.length) {
      for (const i of v6) {
        const mm = psMatch(pb, 'reg15').set(F('eth_dst'), ea).set(F('eth_type'), 0x86ddn);
        setV6(mm, 'ipv6_dst', i);
        add(OFTABLE.CHK_OUT_PORT_SEC, 95, mm, allow);
      }
      const mm = psMatch(pb, 'reg15').set(F('eth_dst'), ea).set(F('eth_type'), 0x86ddn).set(F('ipv6_dst'), lla(a.mac));
      add(OFTABLE.CHK_OUT_PORT_SEC, 95, mm, allow);
      mm.set(F('ipv6_dst'), 0xffn << 120n, 0xffn << 120n);
      add(OFTABLE.CHK_OUT_PORT_SEC, 95, mm, allow);
    }
  }
}

/** Every flow lflow.c builds for a chassis (`lflow_run`). */
export function lflowRun(ctx: LflowContext): void {
  // Tables are walked in ovn-controller's IDL (hash) order: group and meter ids are allocated, and
  // duplicate flow keys resolved, in that order.
  for (const f of idlOrder([ctx.sb.logicalFlows])) considerLogicalFlow(ctx, f);
  for (const b of idlOrder([ctx.sb.macBindings])) considerNeighbor(ctx, b, 100);
  for (const b of idlOrder([ctx.sb.staticMacBindings])) considerNeighbor(ctx, b, b.overrideDynamicMac ? 150 : 50);
  const useCtMark = ctx.sb.global.options.get('lb_hairpin_use_ct_mark') !== 'false';
  for (const lb of idlOrder([ctx.sb.loadBalancers])) if (lbIsLocal(ctx, lb)) considerLbHairpin(ctx, lb, useCtMark);
  for (const fdb of idlOrder([ctx.sb.fdb])) considerFdb(ctx, fdb);
  for (const pb of ctx.rt.bound.values()) if (pb.type === '' || pb.type === 'virtual') considerPortSec(ctx, pb);
}

