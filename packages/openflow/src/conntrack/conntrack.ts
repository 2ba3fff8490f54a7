/**
 * Connection tracking with the semantics of Open vSwitch's userspace conntrack (lib/conntrack.c),
 * as a standalone engine the pipeline's `ct()` action calls with the packet's `FlowKey` and frame.
 *
 * Design. A connection is an id into a structure of typed arrays (`ConnStore`): its original and
 * reply tuples (zone, IP version, protocol, addresses, ports or ICMP id/type) and its state. The
 * lookup index is an open-addressing hash table over two typed arrays (32-bit hash, `id << 1 | dir`
 * value), linear probing, grown at 3/4 load, deleted from by backward shift (no tombstones).
 * As in OVS the tuple hash is symmetric (source and destination endpoints are hashed apart and
 * combined with XOR), so the reply tuple of a connection without NAT hashes like its original
 * tuple and one index entry finds both directions: an entry is compared against both stored
 * tuples. A NATed connection has a reply tuple of its own and gets a second entry. Lookups build
 * the packet's tuple in one preallocated scratch array and allocate nothing.
 *
 * Semantics follow `conntrack_execute()`/`process_one()`: the packet's ct_state is reset when it
 * enters a different zone; a packet already NATed in this zone is looked up by its reversed
 * tuple; a packet in the reply direction with `force` kills the connection; a found connection is
 * updated by its protocol (TCP: conntrack-tcp.c's window tracking, see tcp.ts; UDP and others:
 * FIRST/MULTIPLE/BIDIR; ICMP: FIRST/REPLY) giving +est, +new or +inv; a TCP SYN on a closed
 * connection replaces it; a packet of no connection is +new when its protocol allows a new
 * connection (not SYN+ACK, only echo/timestamp/info requests for ICMP, only echo request for ICMPv6)
 * and +inv otherwise; `commit` creates the connection unless the zone or global limit is reached or
 * no NAT tuple is free (the packet then stays +new, uncommitted). ICMP errors quoting a tracked
 * connection's packet are +rel (+rpl when quoting a reply-direction packet) and do not refresh it.
 * Expired connections are invisible: a lookup that hits one removes it; `sweep()` removes the
 * rest. Times come from the injected `Clock`; NAT's `random` from the injected `Rng`.
 */
import { internetChecksum, l4ChecksumV4, l4ChecksumV6, u16, u32 } from '@ovnts/packet';
import type { Clock, TimerClock } from '../clock/clock.js';
import { SeededRng, type Rng } from '../clock/random.js';
import { W, type FlowKey } from '../flowkey.js';
import { mhashAdd, mhashFinish } from '../stateful/ovs-hash.js';
import {
  CtFail, CtState, DEFAULT_MAX_CONNS, DEFAULT_SWEEP_MS, DEFAULT_TIMEOUTS, NatAction, TIMEOUT_NAMES, Tm,
  type TimeoutName, type TimeoutPolicy,
} from './constants.js';
import { formatCtEntry, type CtEntry } from './format.js';
import { ConntrackError, NatRewrite, sctpCrc32c, type CtNat } from './nat.js';
import {
  CONN_TUPLE_WORDS, ConnStore, F_USED, T_DPORT, T_DST, T_META, T_SPORT, T_SRC, TUPLE_WORDS,
} from './store.js';
import { tcpConnUpdate, tcpNewConn, tcpValidNew, Upd } from './tcp.js';

const TRK = CtState.Tracked;
const NAT_BITS = CtState.SrcNat | CtState.DstNat;

const P_ICMP = 1;
const P_TCP = 6;
const P_UDP = 17;
const P_ICMPV6 = 58;
const P_SCTP = 132;

const OTHER_FIRST = 0;
const OTHER_MULTIPLE = 1;
const OTHER_BIDIR = 2;
const ICMP_FIRST = 0;
const ICMP_REPLY = 1;

/** Options of `Conntrack`. */
export interface ConntrackOptions {
  /** Time source (ms). */
  clock: Clock;
  /** Random source for `nat(random)` and NAT retry rounds (default: `SeededRng(1)`). */
  rng?: Rng;
  /** Hash basis (OVS draws one at random; here fixed so NAT choices are reproducible). Non-zero. */
  hashBasis?: number;
  /** Global connection limit (OVS default 3,000,000; `dpctl/ct-set-maxconns`). */
  maxConns?: number;
  /** TCP sequence/window checking (`dpctl/ct-enable-tcp-seq-chk`, on by default). */
  tcpSeqCheck?: boolean;
  /** Verify IPv4 header and L4 checksums as the userspace datapath does without offload (default true). */
  checksums?: boolean;
  /** Initial capacity in connections (grows by doubling). */
  initialCapacity?: number;
}

/** What one `ct()` action asks of the tracker. Build it once per action, not per packet. */
export interface CtAction {
  /** Zone (16 bits). */
  zone: number;
  /** Create the connection if new (`ct(commit)`). */
  commit?: boolean;
  /** With commit: a packet in the reply direction ends the connection and starts a new one. */
  force?: boolean;
  /** `nat` / `nat(src|dst=...)` (see `compileCtNat`). */
  nat?: CtNat;
  /** `exec(set_field:value/mask->ct_mark)`. */
  mark?: { value: number; mask: number };
  /** `exec(set_field:value/mask->ct_label)`: 4 lanes each, most significant first. */
  label?: { value: ArrayLike<number>; mask: ArrayLike<number> };
}

/** Per-call details beyond ct_state, reused by every `execute()` (read it before the next call). */
export class CtResult {
  /** The ct_state written to the key. */
  state = 0;
  /** Connection id, or -1 (not tracked, not committed, or invalid). */
  conn = -1;
  /** The packet is in the connection's reply direction. */
  reply = false;
  /** The packet is an ICMP error about a tracked connection. */
  related = false;
  /** Why a commit created nothing (`CtFail`). */
  fail: CtFail = CtFail.None;
  /** The NAT rewrite to apply to the key and frame (`addr === 0`: none). */
  readonly nat = new NatRewrite();
}

/** Counters (monotonic since construction). */
export class CtStats {
  /** Packets through `execute()`. */
  packets = 0;
  /** Packets reported +inv. */
  invalid = 0;
  /** Connections created. */
  committed = 0;
  /** Commits refused by the global limit (OVS coverage `conntrack_full`). */
  full = 0;
  /** Commits refused by a zone limit (`conntrack_zone_full`). */
  zoneFull = 0;
  /** Commits refused for lack of a free NAT tuple. */
  natExhausted = 0;
  /** Connections removed because they expired (on lookup or sweep). */
  expired = 0;
  /** Connections removed by `flush()`, `force` or a TCP reopen. */
  removed = 0;
}

/** A zone limit as `dpctl/ct-get-limits` reports it. */
export interface ZoneLimitInfo {
  /** The zone. */
  zone: number;
  /** Effective limit (0 = unlimited when only the default applies and it is unset). */
  limit: number;
  /** Connections counted against the limit. */
  count: number;
}

interface ZoneLimit {
  /** -1: follow the default limit. */
  limit: number;
  count: number;
  seq: number;
}

function reverseIcmpType(type: number, v6: boolean): number {
  if (v6) return type === 128 ? 129 : type === 129 ? 128 : 0;
  switch (type) {
    case 8: return 0;
    case 0: return 8;
    case 13: return 14;
    case 14: return 13;
    case 15: return 16;
    case 16: return 15;
    default: return 0;
  }
}

function isIcmpInfo(type: number): boolean {
  return type === 0 || type === 8 || type === 13 || type === 14 || type === 15 || type === 16;
}

function reverseNat(a: number): number {
  if (a & NatAction.SRC) return (a ^ NatAction.SRC) | NatAction.DST;
  if (a & NatAction.DST) return (a ^ NatAction.DST) | NatAction.SRC;
  return a;
}

function reverseTuple(t: Uint32Array, o: number): void {
  for (let i = 0; i < 4; i++) {
    const x = t[o + T_SRC + i]!;
    t[o + T_SRC + i] = t[o + T_DST + i]!;
    t[o + T_DST + i] = x;
  }
  const p = t[o + T_SPORT]!;
  t[o + T_SPORT] = t[o + T_DPORT]!;
  t[o + T_DPORT] = p;
}

function policyArray(p: TimeoutPolicy, base: Float64Array): Float64Array {
  const a = new Float64Array(base);
  for (const [k, v] of Object.entries(p)) {
    const i = TIMEOUT_NAMES.indexOf(k as TimeoutName);
    if (i < 0) throw new ConntrackError(`timeout policy: unknown attribute ${k} (expected one of ${TIMEOUT_NAMES.join(', ')})`);
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new ConntrackError(`timeout policy: ${k}=${String(v)} is not a number of seconds`);
    a[i] = v * 1000;
  }
  return a;
}

const DEFAULT_POLICY_MS = new Float64Array(TIMEOUT_NAMES.map((n) => DEFAULT_TIMEOUTS[n] * 1000));

/** The connection tracker (see the module comment). */
export class Conntrack {
  /** Counters. */
  readonly stats = new CtStats();
  /** Details of the last `execute()`. */
  readonly result = new CtResult();
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly basis: number;
  private readonly checksums: boolean;
  private tcpSeqCheck: boolean;
  private maxConns: number;
  private nConns = 0;
  private readonly store: ConnStore;
  // Index: open addressing.
  /** Tuple hashes, signed (`| 0`): an int32 stays a small integer, a uint32 above 2^31 would be boxed per lookup. */
  private ixHash: Int32Array;
  private ixVal: Int32Array;
  private ixMask: number;
  private ixSize = 0;
  // Scratch and per-packet context.
  private readonly tk = new Uint32Array(TUPLE_WORDS);
  private readonly tk2 = new Uint32Array(TUPLE_WORDS);
  private lkReply = false;
  private now = 0;
  /**
   * The caller's clock reading for the next `execute` (NaN: read the clock). The pipeline sets it
   * to its frame's time: a fractional reading returned by `clock.now()` is a boxed double, 16 bytes
   * per `ct`, while a field holds it unboxed.
   */
  frameNow = NaN;
  private st = 0;
  private l4 = 0;
  private l4Len = 0;
  private related = false;
  private innerL3 = -1;
  private innerL4 = -1;
  private frame: Uint8Array = new Uint8Array(0);
  // Limits and policies.
  private readonly zoneLimits = new Map<number, ZoneLimit>();
  private defaultZoneLimit = 0;
  private zoneLimitSeq = 0;
  private readonly policies = new Map<number, Float64Array>([[0, DEFAULT_POLICY_MS]]);
  private readonly zonePolicy = new Map<number, number>();
  private sweepCursor = 0;

  constructor(opts: ConntrackOptions) {
    this.clock = opts.clock;
    this.rng = opts.rng ?? new SeededRng(1);
    this.basis = (opts.hashBasis ?? 0x2545f491) >>> 0 || 1;
    this.checksums = opts.checksums ?? true;
    this.tcpSeqCheck = opts.tcpSeqCheck ?? true;
    this.maxConns = opts.maxConns ?? DEFAULT_MAX_CONNS;
    this.store = new ConnStore(opts.initialCapacity ?? 1024);
    let cap = 16;
    while (cap * 3 < this.store.cap * 4) cap *= 2;
    this.ixHash = new Int32Array(cap);
    this.ixVal = new Int32Array(cap).fill(-1);
    this.ixMask = cap - 1;
  }

  // ---------------------------------------------------------------- configuration

  /** Number of tracked connections (including expired ones not yet removed, as OVS counts). */
  get count(): number {
    return this.nConns;
  }

  /** Set the global limit (`dpctl/ct-set-maxconns`). */
  setMaxConns(n: number): void {
    this.maxConns = n >>> 0;
  }

  /** The global limit. */
  getMaxConns(): number {
    return this.maxConns;
  }

  /** Turn TCP sequence checking on or off (`dpctl/ct-enable-tcp-seq-chk` / `ct-disable-tcp-seq-chk`). */
  setTcpSeqCheck(on: boolean): void {
    this.tcpSeqCheck = on;
  }

  /** Set a zone's limit (`dpctl/ct-set-limits zone=Z,limit=N`); as in OVS userspace, 0 admits nothing. */
  setZoneLimit(zone: number, limit: number): void {
    this.checkZone(zone);
    const zl = this.zoneLimits.get(zone);
    if (zl) zl.limit = limit >>> 0;
    else this.zoneLimits.set(zone, { limit: limit >>> 0, count: 0, seq: this.zoneLimitSeq++ });
  }

  /** Set the default per-zone limit (`dpctl/ct-set-limits default=N`); 0 removes it. */
  setDefaultZoneLimit(limit: number): void {
    if (limit === 0) {
      this.deleteDefaultZoneLimit();
      return;
    }
    this.defaultZoneLimit = limit >>> 0;
  }

  /** Remove a zone's limit (`dpctl/ct-del-limits zone=Z`). */
  deleteZoneLimit(zone: number): void {
    const zl = this.zoneLimits.get(zone);
    if (!zl) return;
    if (this.defaultZoneLimit) zl.limit = -1;
    else this.zoneLimits.delete(zone);
  }

  /** A zone's limit and count (`dpctl/ct-get-limits`). */
  getZoneLimit(zone: number): ZoneLimitInfo {
    const zl = this.zoneLimits.get(zone);
    if (!zl) return { zone, limit: this.defaultZoneLimit, count: 0 };
    return { zone, limit: zl.limit < 0 ? this.defaultZoneLimit : zl.limit, count: zl.count };
  }

  /** Define timeout policy `id` (0 is the default policy): seconds per attribute, others default. */
  setTimeoutPolicy(id: number, policy: TimeoutPolicy): void {
    this.policies.set(id >>> 0, policyArray(policy, DEFAULT_POLICY_MS));
  }

  /** Delete a timeout policy (connections using it fall back to OVS's defaults, as in OVS). */
  deleteTimeoutPolicy(id: number): void {
    if (id === 0) this.policies.set(0, DEFAULT_POLICY_MS);
    else this.policies.delete(id >>> 0);
  }

  /** Apply timeout policy `id` to connections committed in `zone` from now on (`undefined` = default). */
  setZoneTimeoutPolicy(zone: number, id: number | undefined): void {
    this.checkZone(zone);
    if (id === undefined) this.zonePolicy.delete(zone);
    else this.zonePolicy.set(zone, id >>> 0);
  }

  /** The timeouts (seconds) in effect for policy `id`. */
  getTimeoutPolicy(id = 0): Record<TimeoutName, number> {
    const a = this.policies.get(id) ?? DEFAULT_POLICY_MS;
    const o = {} as Record<TimeoutName, number>;
    TIMEOUT_NAMES.forEach((n, i) => (o[n] = a[i]! / 1000));
    return o;
  }

  private checkZone(zone: number): void {
    if (!Number.isInteger(zone) || zone < 0 || zone > 0xffff) throw new ConntrackError(`zone ${zone} is not in 0..65535`);
  }

  private deleteDefaultZoneLimit(): void {
    this.defaultZoneLimit = 0;
    for (const [z, zl] of this.zoneLimits) if (zl.limit < 0) this.zoneLimits.delete(z);
  }

  // ---------------------------------------------------------------- the ct action

  /**
   * Send the packet (`key` extracted from `frame`, with any earlier pipeline edits already
   * committed to the bytes, as OVS commits set actions before `ct`) through the tracker. Writes
   * ct_state, ct_zone, ct_mark, ct_label and the original-direction tuple fields into `key` and
   * returns ct_state. A NAT rewrite, if any, is described in `result.nat` and is NOT applied: call
   * `applyNatToKey`/`applyNatToFrame` (or commit it the executor's way).
   */
  execute(key: FlowKey, frame: Uint8Array, act: CtAction): number {
    const r = this.result;
    r.nat.reset();
    r.conn = -1;
    r.reply = false;
    r.related = false;
    r.fail = CtFail.None;
    this.stats.packets++;
    const fn = this.frameNow;
    if (fn === fn) {
      this.now = fn;
      this.frameNow = NaN;
    } else this.now = this.clock.now();
    this.frame = frame;
    const w = key.w;
    const zone = act.zone & 0xffff;
    const prevZone = w[W.ct_zone]!;
    let st = w[W.ct_state]!;
    if (st !== 0 && prevZone !== zone) st = 0;
    if (!this.extract(key, frame, zone)) {
      this.stats.invalid++;
      return this.writeMd(w, CtState.Invalid, zone, -1, false, act);
    }
    this.st = st;
    const tk = this.tk;
    const natted = (st & NAT_BITS) !== 0;
    if (natted) reverseTuple(tk, 0);
    let id = this.lookupAt(tk, 0);
    let reply = id >= 0 ? this.lkReply : false;
    if (natted) {
      if (id >= 0) {
        reply = !reply;
        const T = this.store.tuples;
        const from = id * CONN_TUPLE_WORDS + (reply ? TUPLE_WORDS : 0);
        for (let i = 0; i < TUPLE_WORDS; i++) tk[i] = T[from + i]!;
      } else reverseTuple(tk, 0);
    }
    if (act.force && reply && id >= 0) {
      this.removeConn(id);
      id = -1;
    }
    const related = this.related;
    let create = false;
    if (id >= 0) {
      create = this.updateState(id, reply, related);
      if (act.nat && !create) this.handleNat(id, zone, prevZone, reply, related);
    } else if ((id = this.checkOrigTuple(w, prevZone, act.nat)) >= 0) {
      create = this.updateState(id, reply, related);
    } else if (related) {
      this.st = CtState.Invalid;
    } else create = true;
    if (create) {
      id = this.lookupAt(tk, 0) < 0 ? this.connNotFound(act, zone, related) : -1;
    }
    if (id >= 0) {
      r.conn = id;
      r.reply = reply;
      r.related = related;
    }
    if (this.st & CtState.Invalid) this.stats.invalid++;
    return this.writeMd(w, this.st, zone, id, true, act);
  }

  /** Write ct metadata into the key (OVS `write_ct_md()` plus the mark/label `exec`). */
  private writeMd(w: Uint32Array, st: number, zone: number, id: number, haveKey: boolean, act: CtAction): number {
    const s = this.store;
    st = (st | TRK) >>> 0;
    w[W.ct_state] = st;
    w[W.ct_zone] = zone;
    this.result.state = st;
    if (id >= 0) {
      if (act.mark) s.mark[id] = ((act.mark.value & act.mark.mask) | (s.mark[id]! & ~act.mark.mask)) >>> 0;
      if (act.label) {
        const v = act.label.value;
        const m = act.label.mask;
        for (let i = 0; i < 4; i++) s.label[id * 4 + i] = ((v[i]! & m[i]!) | (s.label[id * 4 + i]! & ~m[i]!)) >>> 0;
      }
      w[W.ct_mark] = s.mark[id]!;
      for (let i = 0; i < 4; i++) w[W.ct_label + i] = s.label[id * 4 + i]!;
      this.writeTuple(w, s.tuples, id * CONN_TUPLE_WORDS);
    } else {
      w[W.ct_mark] = 0;
      w[W.ct_label] = w[W.ct_label + 1] = w[W.ct_label + 2] = w[W.ct_label + 3] = 0;
      if (haveKey) this.writeTuple(w, this.tk, 0);
      else {
        w[W.ct_nw_src] = w[W.ct_nw_dst] = w[W.ct_nw_proto] = w[W.ct_tp_src] = w[W.ct_tp_dst] = 0;
        w.fill(0, W.ct_ipv6_src, W.ct_ipv6_src + 4);
        w.fill(0, W.ct_ipv6_dst, W.ct_ipv6_dst + 4);
      }
    }
    return st;
  }

  private writeTuple(w: Uint32Array, a: Uint32Array, o: number): void {
    const meta = a[o + T_META]!;
    const v6 = (meta & 1) !== 0;
    const proto = (meta >>> 8) & 0xff;
    if (v6) {
      w[W.ct_nw_src] = 0;
      w[W.ct_nw_dst] = 0;
      for (let i = 0; i < 4; i++) {
        w[W.ct_ipv6_src + i] = a[o + T_SRC + i]!;
        w[W.ct_ipv6_dst + i] = a[o + T_DST + i]!;
      }
    } else {
      w[W.ct_nw_src] = a[o + T_SRC]!;
      w[W.ct_nw_dst] = a[o + T_DST]!;
      w.fill(0, W.ct_ipv6_src, W.ct_ipv6_src + 4);
      w.fill(0, W.ct_ipv6_dst, W.ct_ipv6_dst + 4);
    }
    w[W.ct_nw_proto] = proto;
    const sp = a[o + T_SPORT]!;
    if ((!v6 && proto === P_ICMP) || (v6 && proto === P_ICMPV6)) {
      w[W.ct_tp_src] = (sp >>> 8) & 0xff;
      w[W.ct_tp_dst] = sp & 0xff;
    } else {
      w[W.ct_tp_src] = sp >>> 16;
      w[W.ct_tp_dst] = a[o + T_DPORT]! >>> 16;
    }
  }

  /** `conn_update_state()`: returns true when a new connection must be created. */
  private updateState(id: number, reply: boolean, related: boolean): boolean {
    if (related) {
      this.st |= CtState.Related;
      if (reply) this.st |= CtState.Reply;
      return false;
    }
    switch (this.connUpdate(id, reply)) {
      case Upd.VALID:
        this.st = (this.st | CtState.Established) & ~CtState.New;
        if (reply) this.st |= CtState.Reply;
        return false;
      case Upd.INVALID:
        this.st = CtState.Invalid;
        return false;
      case Upd.NEW:
        this.removeConn(id);
        return true;
      default:
        this.st |= CtState.New;
        return false;
    }
  }

  private connUpdate(id: number, reply: boolean): number {
    const s = this.store;
    const meta = s.tuples[id * CONN_TUPLE_WORDS + T_META]!;
    const proto = (meta >>> 8) & 0xff;
    if (proto === P_TCP) {
      const r = tcpConnUpdate(s, id, this.frame, this.l4, this.l4Len, reply, this.tcpSeqCheck);
      const tm = (r >>> 4) - 1;
      if (tm >= 0) this.setExpiration(id, tm);
      return r & 0xf;
    }
    const pi = 2 * id;
    let state = s.pinfo[pi]! & 0xff;
    if (proto === P_ICMP || proto === P_ICMPV6) {
      let ret: number = Upd.VALID;
      if (reply && state === ICMP_FIRST) state = ICMP_REPLY;
      else if (state === ICMP_FIRST) ret = Upd.VALID_NEW;
      s.pinfo[pi] = state;
      this.setExpiration(id, state === ICMP_FIRST ? Tm.ICMP_FIRST : Tm.ICMP_REPLY);
      return ret;
    }
    if (reply && state !== OTHER_BIDIR) state = OTHER_BIDIR;
    else if (state === OTHER_FIRST) state = OTHER_MULTIPLE;
    s.pinfo[pi] = state;
    // OVS maps OTHERS_MULTIPLE to udp_single and OTHERS_BIDIR to udp_multiple (conntrack-tp.c).
    this.setExpiration(id, state === OTHER_FIRST ? Tm.UDP_FIRST : state === OTHER_MULTIPLE ? Tm.UDP_SINGLE : Tm.UDP_MULTIPLE);
    return state === OTHER_BIDIR ? Upd.VALID : Upd.VALID_NEW;
  }

  private setExpiration(id: number, tm: number): void {
    const tp = this.store.tp[id]!;
    const pol = tp === 0 ? this.policies.get(0)! : this.policies.get(tp) ?? DEFAULT_POLICY_MS;
    this.store.expiration[id] = this.now + pol[tm]!;
  }

  /** `valid_new()` for the packet in the scratch tuple. */
  private validNew(): boolean {
    const proto = (this.tk[T_META]! >>> 8) & 0xff;
    const f = this.frame;
    if (proto === P_TCP) return tcpValidNew(u16(f, this.l4 + 12) & 0x0fff);
    if (proto === P_ICMP) {
      const t = f[this.l4]!;
      return t === 8 || t === 15 || t === 13;
    }
    if (proto === P_ICMPV6) return f[this.l4] === 128;
    return true;
  }

  /** `conn_not_found()`: +new or +inv; with commit, create the connection. */
  private connNotFound(act: CtAction, zone: number, related: boolean): number {
    if (!this.validNew()) {
      this.st = CtState.Invalid;
      return -1;
    }
    this.st = CtState.New;
    if (!act.commit) return -1;
    let zl = this.zoneLimits.get(zone);
    if (!zl && this.defaultZoneLimit) {
      zl = { limit: -1, count: 0, seq: this.zoneLimitSeq++ };
      this.zoneLimits.set(zone, zl);
    }
    if (zl) {
      const limit = zl.limit < 0 ? (this.defaultZoneLimit || -1) : zl.limit;
      if (limit >= 0 && zl.count >= limit) {
        this.stats.zoneFull++;
        this.result.fail = CtFail.ZoneFull;
        return -1;
      }
    }
    if (this.nConns >= this.maxConns) {
      this.stats.full++;
      this.result.fail = CtFail.Full;
      return -1;
    }
    const s = this.store;
    const id = s.alloc();
    const base = id * CONN_TUPLE_WORDS;
    const T = s.tuples;
    T.set(this.tk, base);
    T.set(this.tk, base + TUPLE_WORDS);
    reverseTuple(T, base + TUPLE_WORDS);
    s.tp[id] = this.zonePolicy.get(zone) ?? 0;
    const proto = (this.tk[T_META]! >>> 8) & 0xff;
    if (proto === P_TCP) this.setExpiration(id, tcpNewConn(s, id, this.frame, this.l4, this.l4Len));
    else if (proto === P_ICMP || proto === P_ICMPV6) {
      s.pinfo[2 * id] = ICMP_FIRST;
      this.setExpiration(id, Tm.ICMP_FIRST);
    } else {
      s.pinfo[2 * id] = OTHER_FIRST;
      this.setExpiration(id, Tm.UDP_FIRST);
    }
    if (zl) s.admit[id] = zl.seq + 1;
    const nat = act.nat;
    if (nat && nat.action !== 0) {
      s.flags[id] = F_USED | (nat.action << 1);
      if (!this.natGetUniqueTuple(id, nat)) {
        s.free(id);
        this.stats.natExhausted++;
        this.result.fail = CtFail.NatExhausted;
        return -1;
      }
      this.natPacket(id, false, related);
      this.ixInsert(this.hashTuple(T, base + TUPLE_WORDS), (id << 1) | 1);
    }
    this.ixInsert(this.hashTuple(T, base), id << 1);
    this.nConns++;
    if (zl) zl.count++;
    this.stats.committed++;
    return id;
  }

  /** `check_orig_tuple()`: a NATed packet whose lookup failed, found by its ct original tuple. */
  private checkOrigTuple(w: Uint32Array, prevZone: number, nat: CtNat | undefined): number {
    if (!(this.st & NAT_BITS) || nat) return -1;
    const proto = w[W.ct_nw_proto]!;
    if (proto === 0) return -1;
    const t = this.tk2;
    const v6 = (this.tk[T_META]! & 1) !== 0;
    t.fill(0);
    t[T_META] = ((prevZone << 16) | (proto << 8) | (v6 ? 1 : 0)) >>> 0;
    if (v6) {
      for (let i = 0; i < 4; i++) {
        t[T_SRC + i] = w[W.ct_ipv6_src + i]!;
        t[T_DST + i] = w[W.ct_ipv6_dst + i]!;
      }
    } else {
      t[T_SRC] = w[W.ct_nw_src]!;
      t[T_DST] = w[W.ct_nw_dst]!;
    }
    const pktProto = (this.tk[T_META]! >>> 8) & 0xff;
    if ((!v6 && pktProto === P_ICMP) || (v6 && pktProto === P_ICMPV6)) {
      const icmpId = this.tk[T_SPORT]! >>> 16;
      const type = w[W.ct_tp_src]! & 0xff;
      t[T_SPORT] = ((icmpId << 16) | (type << 8)) >>> 0;
      t[T_DPORT] = ((icmpId << 16) | (reverseIcmpType(type, v6) << 8)) >>> 0;
    } else {
      t[T_SPORT] = (w[W.ct_tp_src]! << 16) >>> 0;
      t[T_DPORT] = (w[W.ct_tp_dst]! << 16) >>> 0;
    }
    return this.lookupAt(t, 0);
  }

  /** `handle_nat()`: NAT a packet of an existing connection unless already NATed in this zone. */
  private handleNat(id: number, zone: number, prevZone: number, reply: boolean, related: boolean): void {
    const na = this.store.flags[id]! >>> 1;
    if (na === 0) return;
    if (!(this.st & NAT_BITS) || zone !== prevZone) {
      this.st &= ~NAT_BITS;
      this.natPacket(id, reply, related);
    }
  }

  /** `nat_packet()`: describe the rewrite in `result.nat` and set +snat/+dnat. */
  private natPacket(id: number, reply: boolean, related: boolean): void {
    const s = this.store;
    const T = s.tuples;
    const fb = id * CONN_TUPLE_WORDS;
    const kb = reply ? fb : fb + TUPLE_WORDS; // the other direction's tuple
    let na = s.flags[id]! >>> 1;
    if (reply) na = reverseNat(na);
    if (na & NatAction.SRC) this.st |= CtState.SrcNat;
    else if (na & NatAction.DST) this.st |= CtState.DstNat;
    else return;
    const rw = this.result.nat;
    const meta = T[kb + T_META]!;
    const proto = (meta >>> 8) & 0xff;
    rw.v6 = (meta & 1) !== 0;
    const from = na & NatAction.SRC ? kb + T_DST : kb + T_SRC;
    rw.addr = na & NatAction.SRC ? NatAction.SRC : NatAction.DST;
    for (let i = 0; i < 4; i++) rw.newAddr[i] = T[from + i]!;
    const pat = proto === P_TCP || proto === P_UDP || proto === P_SCTP;
    if (related) {
      const na2 = reverseNat(na);
      rw.innerL3 = this.innerL3;
      rw.innerL4 = this.innerL4;
      rw.innerProto = proto;
      rw.inner = na2 & NatAction.SRC ? NatAction.SRC : NatAction.DST;
      const ifrom = na2 & NatAction.SRC ? kb + T_SRC : kb + T_DST;
      for (let i = 0; i < 4; i++) rw.innerAddr[i] = T[ifrom + i]!;
      if (pat) {
        rw.innerPorts = true;
        rw.innerSport = T[kb + T_SPORT]! >>> 16;
        rw.innerDport = T[kb + T_DPORT]! >>> 16;
      } else if (proto === P_ICMP && isIcmpInfo(this.frame[this.innerL4]!)) {
        rw.innerIcmpId = T[kb + T_DPORT]! >>> 16;
      }
    } else if (pat) {
      rw.ports = true;
      rw.sport = T[kb + T_DPORT]! >>> 16;
      rw.dport = T[kb + T_SPORT]! >>> 16;
    } else if (proto === P_ICMP && isIcmpInfo(this.frame[this.l4]!)) {
      rw.icmpId = T[kb + T_SPORT]! >>> 16;
    }
  }

  // ---------------------------------------------------------------- NAT tuple selection

  private natRangeHash(T: Uint32Array, fb: number, basis: number, nat: CtNat): number {
    let h = basis | 0;
    if (!basis) {
      for (let i = 0; i < 4; i++) h = mhashAdd(h, T[fb + T_SRC + i]!);
    } else {
      for (let i = 0; i < 4; i++) h = mhashAdd(h, T[fb + T_SRC + i]!);
      h = mhashAdd(h, T[fb + T_SPORT]!);
      for (let i = 0; i < 4; i++) h = mhashAdd(h, T[fb + T_DST + i]!);
      h = mhashAdd(h, T[fb + T_DPORT]!);
    }
    for (let i = 0; i < 4; i++) h = mhashAdd(h, nat.minAddr[i]!);
    for (let i = 0; i < 4; i++) h = mhashAdd(h, nat.maxAddr[i]!);
    h = mhashAdd(h, ((nat.maxPort << 16) | nat.minPort) >>> 0);
    const meta = T[fb + T_META]!;
    h = mhashAdd(h, meta & 1 ? 0x86dd : 0x0800);
    h = mhashAdd(h, (meta >>> 8) & 0xff);
    h = mhashAdd(h, meta >>> 16);
    return mhashFinish(h) >>> 0;
  }

  /** `nat_get_unique_tuple()`: choose the reply tuple of a new NATed connection. */
  private natGetUniqueTuple(id: number, nat: CtNat): boolean {
    const T = this.store.tuples;
    const fb = id * CONN_TUPLE_WORDS;
    const rb = fb + TUPLE_WORDS;
    const meta = T[fb + T_META]!;
    const proto = (meta >>> 8) & 0xff;
    const v6 = (meta & 1) !== 0;
    const na = nat.action;
    const pat = proto === P_TCP || proto === P_UDP || proto === P_SCTP || proto === P_ICMP;
    const basis = nat.persistent ? 0 : this.basis;
    const hash = this.natRangeHash(T, fb, basis, nat);
    const portOff = nat.random ? this.rng.nextU32() : basis ? hash : this.natRangeHash(T, fb, this.basis, nat);

    // Address: the range by hash, or the packet's own when the range is all zero.
    const addr = this.tk2;
    let zero = true;
    for (let i = 0; i < 4; i++) if (nat.minAddr[i] !== 0) zero = false;
    if (zero) {
      const from = na & NatAction.SRC ? fb + T_SRC : fb + T_DST;
      for (let i = 0; i < 4; i++) addr[i] = T[from + i]!;
    } else if (!v6 && !nat.v6) {
      const range = ((nat.maxAddr[0]! - nat.minAddr[0]!) >>> 0) + 1;
      addr[0] = (nat.minAddr[0]! + (hash % range)) >>> 0;
      addr[1] = addr[2] = addr[3] = 0;
    } else {
      addrInRange6(nat.minAddr, nat.maxAddr, hash, addr);
    }

    // Ports (host order).
    const fsport = T[fb + T_SPORT]! >>> 16;
    const fdport = T[fb + T_DPORT]! >>> 16;
    let cs: number, mins: number, maxs: number;
    if ((na & (NatAction.SRC | NatAction.SRC_PORT)) === NatAction.SRC || na & NatAction.DST) {
      cs = fsport;
      if (cs < 512) {
        mins = 1;
        maxs = 511;
      } else if (cs < 1024) {
        mins = 600;
        maxs = 1023;
      } else {
        mins = 1024;
        maxs = 65535;
      }
    } else {
      mins = nat.minPort;
      maxs = nat.maxPort;
      cs = mins + (portOff % (maxs - mins + 1));
    }
    let cd: number, mind: number, maxd: number;
    if (na & NatAction.DST_PORT) {
      mind = nat.minPort;
      maxd = nat.maxPort;
      cd = mind + (portOff % (maxd - mind + 1));
    } else {
      cd = mind = maxd = fdport;
    }
    if (pat) {
      T[rb + T_SPORT] = ((cd << 16) | (T[rb + T_SPORT]! & 0xffff)) >>> 0;
      T[rb + T_DPORT] = ((cs << 16) | (T[rb + T_DPORT]! & 0xffff)) >>> 0;
    }
    const to = na & NatAction.SRC ? rb + T_DST : rb + T_SRC;
    for (let i = 0; i < 4; i++) T[to + i] = addr[i]!;
    if (!pat) return this.lookupAt(T, rb) < 0;
    let found = false;
    if (na & NatAction.DST_PORT) found = this.natUniqueL4(rb, T_SPORT, -1, cd, mind, maxd);
    if (!found) found = this.natUniqueL4(rb, T_DPORT, proto === P_ICMP ? T_SPORT : -1, cs, mins, maxs);
    return found;
  }

  /** `nat_get_unique_l4()`: walk the port range from `curr` (then random restarts) for a free tuple. */
  private natUniqueL4(rb: number, at: number, peer: number, curr: number, min: number, max: number): boolean {
    const T = this.store.tuples;
    const range = (max - min + 1) & 0xffff;
    let attempts = Math.min(range, 128);
    const orig = curr;
    for (;;) {
      let n = (curr < min || curr > max ? max - min + 2 : max - min + 1) & 0xffff;
      let i = 0;
      for (; n > 0; n--) {
        if (i++ >= attempts) break;
        setPortWord(T, rb, at, peer, curr);
        if (this.lookupAt(T, rb) < 0) return true;
        curr = curr < min || curr > max || curr === max ? min : curr + 1;
      }
      if (attempts < range && attempts >= 16) {
        attempts = attempts >>> 1;
        curr = min + (this.rng.nextU32() % range);
        continue;
      }
      break;
    }
    setPortWord(T, rb, at, peer, orig);
    return false;
  }

  // ---------------------------------------------------------------- key extraction

  /** `conn_key_extract()` from the flow key and the frame: fills `tk`, `l4`, `related`. */
  private extract(key: FlowKey, f: Uint8Array, zone: number): boolean {
    const w = key.w;
    this.related = false;
    this.innerL3 = -1;
    this.innerL4 = -1;
    const l3 = key.l3;
    const l4 = key.l4;
    if (l3 < 0 || l4 < 0) return false;
    if (w[W.nw_frag] !== 0) return false; // no reassembly (OVS ipf): fragments are invalid
    const dl = w[W.dl_type];
    const tk = this.tk;
    let v6: boolean;
    if (dl === 0x0800) {
      v6 = false;
      if (this.checksums && internetChecksum(f, l3, (f[l3]! & 0x0f) * 4) !== 0) return false;
      tk[T_SRC] = w[W.nw_src]!;
      tk[T_SRC + 1] = tk[T_SRC + 2] = tk[T_SRC + 3] = 0;
      tk[T_DST] = w[W.nw_dst]!;
      tk[T_DST + 1] = tk[T_DST + 2] = tk[T_DST + 3] = 0;
    } else if (dl === 0x86dd) {
      v6 = true;
      for (let i = 0; i < 4; i++) {
        tk[T_SRC + i] = w[W.ipv6_src + i]!;
        tk[T_DST + i] = w[W.ipv6_dst + i]!;
      }
    } else return false;
    const proto = w[W.nw_proto]!;
    tk[T_META] = ((zone << 16) | (proto << 8) | (v6 ? 1 : 0)) >>> 0;
    tk[T_SPORT] = 0;
    tk[T_DPORT] = 0;
    const len = key.end - l4;
    this.l4 = l4;
    this.l4Len = len;
    const ck = this.checksums;
    switch (proto) {
      case P_TCP: {
        if (len < 20) return false;
        const hl = (f[l4 + 12]! >>> 4) * 4;
        if (hl < 20 || hl > len) return false;
        if (ck && !this.l4ChecksumOk(f, v6, l3, l4, len, proto)) return false;
        return this.ports(u16(f, l4), u16(f, l4 + 2));
      }
      case P_UDP: {
        if (len < 8) return false;
        const ulen = u16(f, l4 + 4);
        if (ulen < 8 || ulen > len) return false;
        if (ck && !(u16(f, l4 + 6) === 0 && !v6) && !this.l4ChecksumOk(f, v6, l3, l4, len, proto)) return false;
        return this.ports(u16(f, l4), u16(f, l4 + 2));
      }
      case P_SCTP: {
        if (len < 12 || !sctpLenOk(f, l4, len)) return false;
        if (ck && sctpCrc32c(f, l4, len, l4 + 8) !== (f[l4 + 8]! | (f[l4 + 9]! << 8) | (f[l4 + 10]! << 16) | (f[l4 + 11]! << 24)) >>> 0) return false;
        return this.ports(u16(f, l4), u16(f, l4 + 2));
      }
      case P_ICMP:
        if (v6) return true;
        if (ck && internetChecksum(f, l4, len) !== 0) return false;
        return this.icmp4(f, l4, len, key.end, true);
      case P_ICMPV6:
        if (!v6) return true;
        if (ck && l4ChecksumV6(f, l4, len, P_ICMPV6, l3) !== 0) return false;
        return this.icmp6(f, l4, len, key.end, true);
      default:
        return true;
    }
  }

  private l4ChecksumOk(f: Uint8Array, v6: boolean, l3: number, l4: number, len: number, proto: number): boolean {
    return (v6 ? l4ChecksumV6(f, l4, len, proto, l3) : l4ChecksumV4(f, l4, len, proto, u32(f, l3 + 12), u32(f, l3 + 16))) === 0;
  }

  private ports(sp: number, dp: number): boolean {
    this.tk[T_SPORT] = (sp << 16) >>> 0;
    this.tk[T_DPORT] = (dp << 16) >>> 0;
    return sp !== 0 && dp !== 0;
  }

  /** `extract_l4_icmp()`; `outer` allows an error message (and makes the key RELATED). */
  private icmp4(f: Uint8Array, l4: number, len: number, end: number, outer: boolean): boolean {
    if (len < 8) return false;
    const type = f[l4]!;
    const tk = this.tk;
    if (isIcmpInfo(type)) {
      if (f[l4 + 1] !== 0) return false;
      const id = u16(f, l4 + 4);
      tk[T_SPORT] = ((id << 16) | (type << 8)) >>> 0;
      tk[T_DPORT] = ((id << 16) | (reverseIcmpType(type, false) << 8)) >>> 0;
      return true;
    }
    if (!(type === 3 || type === 11 || type === 12 || type === 4 || type === 5) || !outer) return false;
    const il3 = l4 + 8;
    const size = end - il3;
    if (size < 20) return false;
    const ihl = (f[il3]! & 0x0f) * 4;
    if (ihl < 20 || size < ihl) return false;
    if ((u16(f, il3 + 6) & 0x1fff) !== 0) return false;
    const isrc = u32(f, il3 + 12);
    if (isrc !== tk[T_DST]) return false;
    const iproto = f[il3 + 9]!;
    tk[T_SRC] = isrc;
    tk[T_DST] = u32(f, il3 + 16);
    tk[T_META] = ((tk[T_META]! & 0xffff00ff) | (iproto << 8)) >>> 0;
    const il4 = il3 + ihl;
    if (!this.innerL4Key(f, iproto, false, il4, end - il4, 8)) return false;
    reverseTuple(tk, 0);
    this.related = true;
    this.innerL3 = il3;
    this.innerL4 = il4;
    return true;
  }

  /** `extract_l4_icmp6()`. */
  private icmp6(f: Uint8Array, l4: number, len: number, end: number, outer: boolean): boolean {
    if (len < 8) return false;
    const type = f[l4]!;
    const tk = this.tk;
    if (type === 128 || type === 129) {
      if (f[l4 + 1] !== 0) return false;
      const id = u16(f, l4 + 4);
      tk[T_SPORT] = ((id << 16) | (type << 8)) >>> 0;
      tk[T_DPORT] = ((id << 16) | (reverseIcmpType(type, true) << 8)) >>> 0;
      return true;
    }
    if (!(type >= 1 && type <= 4) || !outer) return false;
    const il3 = l4 + 8;
    if (end - il3 < 40) return false;
    for (let i = 0; i < 4; i++) if (u32(f, il3 + 8 + 4 * i) !== tk[T_DST + i]) return false;
    // Extension headers (a fragment header makes the quoted packet unusable).
    let nh = f[il3 + 6]!;
    let p = il3 + 40;
    for (;;) {
      if (nh === 0 || nh === 43 || nh === 60 || nh === 51) {
        if (end - p < 8) return false;
        const hl = nh === 51 ? (f[p + 1]! + 2) * 4 : (f[p + 1]! + 1) * 8;
        if (end - p < hl) return false;
        nh = f[p]!;
        p += hl;
      } else if (nh === 44) return false;
      else break;
    }
    for (let i = 0; i < 4; i++) {
      tk[T_SRC + i] = u32(f, il3 + 8 + 4 * i);
      tk[T_DST + i] = u32(f, il3 + 24 + 4 * i);
    }
    tk[T_META] = ((tk[T_META]! & 0xffff00ff) | (nh << 8)) >>> 0;
    if (!this.innerL4Key(f, nh, true, p, end - p, 0)) return false;
    reverseTuple(tk, 0);
    this.related = true;
    this.innerL3 = il3;
    this.innerL4 = p;
    return true;
  }

  /** L4 key of a quoted packet (no checksum; `chk` bytes suffice for TCP/UDP/SCTP when non-zero). */
  private innerL4Key(f: Uint8Array, proto: number, v6: boolean, l4: number, size: number, chk: number): boolean {
    this.tk[T_SPORT] = 0;
    this.tk[T_DPORT] = 0;
    if (proto === P_TCP || proto === P_UDP || proto === P_SCTP) {
      const need = chk || (proto === P_TCP ? 20 : proto === P_UDP ? 8 : 12);
      if (size < need) return false;
      return this.ports(u16(f, l4), u16(f, l4 + 2));
    }
    if (!v6 && proto === P_ICMP) return this.icmp4(f, l4, size, l4 + size, false);
    if (v6 && proto === P_ICMPV6) return this.icmp6(f, l4, size, l4 + size, false);
    return true;
  }

  // ---------------------------------------------------------------- index

  private hashTuple(a: Uint32Array, o: number): number {
    let hs = this.basis;
    let hd = this.basis;
    hs = mhashAdd(hs, a[o + 1]! | 0);
    hs = mhashAdd(hs, a[o + 2]! | 0);
    hs = mhashAdd(hs, a[o + 3]! | 0);
    hs = mhashAdd(hs, a[o + 4]! | 0);
    hs = mhashAdd(hs, a[o + 9]! | 0);
    hd = mhashAdd(hd, a[o + 5]! | 0);
    hd = mhashAdd(hd, a[o + 6]! | 0);
    hd = mhashAdd(hd, a[o + 7]! | 0);
    hd = mhashAdd(hd, a[o + 8]! | 0);
    hd = mhashAdd(hd, a[o + 10]! | 0);
    // Signed (int32): a uint32 above 2^31 would be a boxed number per lookup; `| 0` on the
    // Uint32Array reads keeps the whole computation in small integers.
    return mhashFinish(mhashAdd(mhashFinish(hs) ^ mhashFinish(hd), a[o]! | 0));
  }

  /** Find the live connection whose original or reply tuple equals `a[o..o+11)`; sets `lkReply`. */
  private lookupAt(a: Uint32Array, o: number): number {
    const h = this.hashTuple(a, o);
    const T = this.store.tuples;
    for (;;) {
      const ixh = this.ixHash;
      const ixv = this.ixVal;
      const mask = this.ixMask;
      let i = h & mask;
      let found = -1;
      let dir = 0;
      for (;;) {
        const v = ixv[i]!;
        if (v === -1) return -1;
        if (ixh[i] === h) {
          const b = (v >>> 1) * CONN_TUPLE_WORDS;
          if (tupleEq(T, b, a, o)) {
            found = v >>> 1;
            dir = 0;
            break;
          }
          if (tupleEq(T, b + TUPLE_WORDS, a, o)) {
            found = v >>> 1;
            dir = 1;
            break;
          }
        }
        i = (i + 1) & mask;
      }
      if (this.now >= this.store.expiration[found]!) {
        this.stats.expired++;
        this.deleteConn(found);
        continue; // look again: the index moved
      }
      this.lkReply = dir === 1;
      return found;
    }
  }

  private ixInsert(h: number, v: number): void {
    if ((this.ixSize + 1) * 4 > (this.ixMask + 1) * 3) this.ixGrow();
    const mask = this.ixMask;
    let i = h & mask;
    while (this.ixVal[i] !== -1) i = (i + 1) & mask;
    this.ixHash[i] = h;
    this.ixVal[i] = v;
    this.ixSize++;
  }

  private ixRemove(h: number, v: number): void {
    const hs = this.ixHash;
    const vs = this.ixVal;
    const mask = this.ixMask;
    let i = h & mask;
    while (vs[i] !== v) {
      if (vs[i] === -1) return;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const vj = vs[j]!;
      if (vj === -1) break;
      const k = hs[j]! & mask;
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!stays) {
        hs[i] = hs[j]!;
        vs[i] = vj;
        i = j;
      }
    }
    vs[i] = -1;
    this.ixSize--;
  }

  private ixGrow(): void {
    const oh = this.ixHash;
    const ov = this.ixVal;
    const cap = (this.ixMask + 1) * 2;
    this.ixHash = new Int32Array(cap);
    this.ixVal = new Int32Array(cap).fill(-1);
    this.ixMask = cap - 1;
    this.ixSize = 0;
    for (let i = 0; i < ov.length; i++) if (ov[i] !== -1) this.ixInsert(oh[i]!, ov[i]!);
  }

  /** Remove a connection from the index and the store, fixing the counts. */
  private deleteConn(id: number): void {
    const s = this.store;
    const T = s.tuples;
    const base = id * CONN_TUPLE_WORDS;
    this.ixRemove(this.hashTuple(T, base), id << 1);
    if (s.flags[id]! >>> 1) this.ixRemove(this.hashTuple(T, base + TUPLE_WORDS), (id << 1) | 1);
    const admit = s.admit[id]!;
    if (admit) {
      const zl = this.zoneLimits.get(T[base + T_META]! >>> 16);
      if (zl && zl.seq + 1 === admit) zl.count--;
    }
    s.free(id);
    this.nConns--;
  }

  private removeConn(id: number): void {
    this.stats.removed++;
    this.deleteConn(id);
  }

  // ---------------------------------------------------------------- maintenance and inspection

  /**
   * Remove expired connections, examining at most `max` slots from where the previous sweep
   * stopped (OVS's clean thread does the same in bounded batches). Returns how many were removed.
   */
  sweep(max = Infinity): number {
    const s = this.store;
    const now = this.clock.now();
    const hw = s.highWater;
    let removed = 0;
    let n = Math.min(max, hw);
    let i = this.sweepCursor < hw ? this.sweepCursor : 0;
    while (n-- > 0) {
      if (s.flags[i]! & F_USED && now >= s.expiration[i]!) {
        this.deleteConn(i);
        this.stats.expired++;
        removed++;
      }
      if (++i >= hw) i = 0;
    }
    this.sweepCursor = i;
    return removed;
  }

  /** Sweep every `intervalMs` (OVS default 20 s) on a timer clock; returns a function that stops it. */
  attachSweeper(timers: TimerClock, intervalMs = DEFAULT_SWEEP_MS): () => void {
    let handle = 0;
    let stopped = false;
    const tick = (): void => {
      if (stopped) return;
      this.sweep();
      handle = timers.after(intervalMs, tick);
    };
    handle = timers.after(intervalMs, tick);
    return () => {
      stopped = true;
      timers.cancel(handle);
    };
  }

  /** Delete every connection, or those of one zone (`dpctl/flush-conntrack [zone=N]`). */
  flush(zone?: number): number {
    const s = this.store;
    let n = 0;
    for (let i = 0; i < s.highWater; i++) {
      if (!(s.flags[i]! & F_USED)) continue;
      if (zone !== undefined && s.tuples[i * CONN_TUPLE_WORDS + T_META]! >>> 16 !== zone) continue;
      this.removeConn(i);
      n++;
    }
    return n;
  }

  /** Live connections (optionally of one zone), as structured entries. */
  entries(zone?: number): CtEntry[] {
    const s = this.store;
    const now = this.clock.now();
    const out: CtEntry[] = [];
    for (let id = 0; id < s.highWater; id++) {
      if (!(s.flags[id]! & F_USED) || now >= s.expiration[id]!) continue;
      const b = id * CONN_TUPLE_WORDS;
      const z = s.tuples[b + T_META]! >>> 16;
      if (zone !== undefined && z !== zone) continue;
      out.push({
        id,
        zone: z,
        orig: s.tuples.slice(b, b + TUPLE_WORDS),
        reply: s.tuples.slice(b + TUPLE_WORDS, b + 2 * TUPLE_WORDS),
        mark: s.mark[id]!,
        label: s.label.slice(id * 4, id * 4 + 4),
        tcpStates: [s.pinfo[2 * id]! & 0xff, s.pinfo[2 * id + 1]! & 0xff],
        state: s.pinfo[2 * id]! & 0xff,
        timeoutMs: s.expiration[id]! - now,
        nat: s.flags[id]! >>> 1,
      });
    }
    return out;
  }

  /** `ovs-appctl dpctl/dump-conntrack [zone=N]` lines (without `-s`), sorted. */
  dump(zone?: number): string[] {
    return this.entries(zone).map(formatCtEntry).sort();
  }

  /** Bytes held by the connection arrays and the index (for capacity planning). */
  byteLength(): number {
    return this.store.byteLength() + this.ixHash.byteLength + this.ixVal.byteLength;
  }
}

function setPortWord(T: Uint32Array, rb: number, at: number, peer: number, p: number): void {
  T[rb + at] = ((p << 16) | (T[rb + at]! & 0xffff)) >>> 0;
  if (peer >= 0) T[rb + peer] = ((p << 16) | (T[rb + peer]! & 0xffff)) >>> 0;
}

function tupleEq(T: Uint32Array, b: number, a: Uint32Array, o: number): boolean {
  return (
    T[b] === a[o] && T[b + 1] === a[o + 1] && T[b + 5] === a[o + 5] && T[b + 9] === a[o + 9] && T[b + 10] === a[o + 10] &&
    T[b + 2] === a[o + 2] && T[b + 3] === a[o + 3] && T[b + 4] === a[o + 4] &&
    T[b + 6] === a[o + 6] && T[b + 7] === a[o + 7] && T[b + 8] === a[o + 8]
  );
}

/** OVS `sctp_check_len()`: chunk lengths (each >= 4, padded to 4) must add up to exactly the packet. */
function sctpLenOk(f: Uint8Array, l4: number, len: number): boolean {
  let next = 12;
  while (next < len) {
    if (next + 4 > len) return false; // a chunk header cut short (OVS would read past the end)
    const clen = u16(f, l4 + next + 2);
    if (clen < 4) return false;
    next += (clen + 3) & ~3;
  }
  return next === len;
}

/** `get_addr_in_range()` for IPv6: `min + hash % (delta + 1)`, the delta capped at 0xfffffffe as OVS does. */
function addrInRange6(min: Uint32Array, max: Uint32Array, hash: number, out: Uint32Array): void {
  const big = (a: Uint32Array): bigint => (BigInt(a[0]!) << 96n) | (BigInt(a[1]!) << 64n) | (BigInt(a[2]!) << 32n) | BigInt(a[3]!);
  const lo = big(min);
  const hi = big(max);
  let delta = hi >= lo ? hi - lo : 0n;
  if (delta > 0xfffffffen) delta = 0xfffffffen;
  const v = lo + (BigInt(hash >>> 0) % (delta + 1n));
  for (let i = 0; i < 4; i++) out[i] = Number((v >> BigInt(32 * (3 - i))) & 0xffff_ffffn);
}
