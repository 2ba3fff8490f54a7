/**
 * Recording a translation as a megaflow, and replaying one (the two halves of the translation
 * cache; the cache's lookup structures are in flowcache.ts).
 *
 * While a frame is translated with recording on, everything the translation depended on or changed
 * is declared here: the classifier lookups report the bits their subtables consulted (for a
 * conjunctive match also the soft subtables and the `conj_id` lookups), the actions (through
 * `MegaflowMarks`, see xlate.ts) the bits they read or wrote, and the pipeline every counter it
 * bumped (flows, tables, groups, buckets) and every event: outputs and ct actions, each with the
 * change of the key since the previous one. Anything the cache cannot key on (packet-ins, output
 * to TABLE, select groups but dp_hash ones, fast-failover groups, learn, meters, fin_timeout)
 * makes the translation uncacheable. `finish()` turns a cacheable record into a `CachedXlate`
 * under the union mask; why replaying it is exact is explained in flowcache.ts.
 *
 * The ct fields are the one part of the key an action sets to values that are not the same for
 * every frame of a megaflow: the tracker writes them (the state of this frame's connection) and
 * `ct`/`ct_clear` clear them. So they never appear in an event's XOR delta; each event says instead
 * whether they are the pass's initial ones (`CT_MODE_INIT`: nothing cleared them, or a clone's end
 * restored them) or cleared (`CT_MODE_ZERO`), which is all they can be between actions. A lookup
 * made while they are cleared consults zeros, not the initial key, so it adds no ct bits to the
 * mask. One case is not followed: a clone whose actions ran `ct` (the tracker's NAT rewrote the
 * bytes, which the clone's end puts back) followed by another event; such a translation is not
 * cached.
 *
 * `replayCached()` does what translating did: the same counters, then the same events on the same
 * keys, through the pipeline's own functions (so port checks, the commit of the key to the bytes,
 * the tracker, the recirculations and the log are the interpreter's).
 */
import {
  CT_MODE_INIT, CT_MODE_ZERO, CachedXlate, MegaflowCache, XEV_CT, XEV_OUTPUT, XEV_OUTPUT_REG, XEV_OUTPUT_TRUNC, eventsAt,
  type CachedCt, type Counted, type SelectGuard,
} from './flowcache.js';
import { Prereq, VLAN_CFI, type MatchField, type Subfield } from './fields.js';
import { FlowKey, KEY_WORDS, W } from './flowkey.js';
import { isTunMetadata } from './key-ops.js';
import type { FlowEntry, FlowTable } from './pipeline.js';
import type { MegaflowMarks } from './xlate.js';
import type { Classifier } from './classifier.js';
import type { ConjunctionTable } from './stateful/conjunction.js';

/** The first ct word of a key (ct_state) and one past the last (after ct_tp_dst): the words the tracker writes. */
export const CT_FIRST: number = W.ct_state;
/** One past the last ct word. */
export const CT_END: number = W.ct_tp_dst + 1;
const CT_N = CT_END - CT_FIRST;

/** Records one translation for the cache. Reused for every frame; allocates only in `finish()`. */
export class MegaflowRecorder implements MegaflowMarks {
  /** The cache may mark more than OVS (see `MegaflowMarks.ovsExact`). */
  readonly ovsExact: boolean = false;
  /** The megaflow mask: every key bit the translation read or wrote. */
  readonly mask = new Uint32Array(KEY_WORDS);
  /** False once something made the translation uncacheable. */
  ok = true;
  private readonly init = new FlowKey();
  private readonly prev = new Uint32Array(KEY_WORDS);
  private readonly flows: FlowEntry[] = [];
  private readonly tables: FlowTable[] = [];
  private readonly matched: FlowTable[] = [];
  private readonly counted: Counted[] = [];
  private readonly srcs: Subfield[] = [];
  /** The events part of `CachedXlate.code`. */
  private readonly ev: number[] = [];
  private events = 0;
  private vlanDep = false;
  private readonly cts: CachedCt<unknown, unknown>[] = [];
  private readonly guards: SelectGuard<unknown>[] = [];
  /** ct events recorded (a clone compares the count at its start and end). */
  ctEvents = 0;
  /** A clone that ran ct ended: one more event makes the translation uncacheable. */
  private ctCloneEnded = false;
  /** The initial ct words, and whether they are all zero. */
  private readonly initCt = new Uint32Array(CT_N);
  private initCtZero = true;
  private readonly ctMaskSave = new Uint32Array(CT_N);

  constructor(
    /** The key the pipeline translates (read at every output). */
    protected readonly key: FlowKey,
  ) {}

  /** Start recording the translation of the key as it is now. */
  start(): void {
    this.ok = true;
    this.vlanDep = false;
    this.mask.fill(0);
    // OVS always unwildcards dl_type and (for IP) nw_frag; fragments are looked up with ports 0.
    this.mark(W.dl_type, 0xffffffff);
    this.mark(W.nw_frag, 0xffffffff);
    this.init.copyFrom(this.key);
    this.prev.set(this.key.w);
    this.flows.length = 0;
    this.tables.length = 0;
    this.matched.length = 0;
    this.counted.length = 0;
    this.srcs.length = 0;
    this.ev.length = 0;
    this.events = 0;
    this.cts.length = 0;
    this.guards.length = 0;
    this.ctEvents = 0;
    this.ctCloneEnded = false;
    const w = this.key.w;
    let z = true;
    for (let i = 0; i < CT_N; i++) {
      const v = w[CT_FIRST + i]!;
      this.initCt[i] = v;
      if (v !== 0) z = false;
    }
    this.initCtZero = z;
  }

  /**
   * The ct words now: the initial ones (`CT_MODE_INIT`), cleared (`CT_MODE_ZERO`), or -1 (neither;
   * the translation is then not cached). With initial ct words all zero (a received frame) both
   * are the same and INIT is said.
   */
  private ctMode(): number {
    const w = this.key.w;
    let init = true;
    let zero = true;
    for (let i = 0; i < CT_N; i++) {
      const v = w[CT_FIRST + i]!;
      if (v !== this.initCt[i]) init = false;
      if (v !== 0) zero = false;
    }
    return init ? CT_MODE_INIT : zero ? CT_MODE_ZERO : -1;
  }

  /** The ct words are cleared while the initial ones were not: lookups now consult zeros. */
  private ctCleared(): boolean {
    return !this.initCtZero && this.key.w[W.ct_state] === 0 && this.initCt[0] !== 0;
  }

  /** The recorded translation as a cache entry of recirculation `recirc` (0: a received frame), inserted into `cache`; nothing when it was uncacheable. */
  finish(cache: MegaflowCache, recirc = 0): void {
    if (!this.ok) return;
    const m = this.mask;
    const ev = this.ev;
    // Every bit that changed is a bit some action wrote, and is marked already; mark again defensively.
    for (let p = 0; p < ev.length; ) {
      const end = p + 7 + 2 * ev[p + 6]!;
      for (let q = p + 7; q < end; q += 2) m[ev[q]!] = (m[ev[q]!]! | ev[q + 1]!) >>> 0;
      p = end + 3;
    }
    const sub = cache.subtable(m);
    const code: number[] = [];
    MegaflowCache.maskCode(sub, this.init.w, code);
    const k = this.init;
    code.push(this.events, this.vlanDep ? 1 : 0, k.vlanTpid, k.vlan2Tci, k.vlan2Tpid);
    for (const v of ev) code.push(v);
    const x = new CachedXlate(
      sub, Int32Array.from(code), this.flows.slice(), this.tables.slice(), this.matched.slice(), this.counted.slice(), this.srcs.slice(), recirc,
      this.cts.map((c) => ({ ct: c.ct, frozen: c.frozen })), this.guards.slice(),
    );
    cache.insert(x, this.init.w);
  }

  /** A flow matched (its counters are bumped at replay). */
  flowHit(e: FlowEntry): void {
    this.flows.push(e);
  }

  /** A table was looked up (`matched`: and a flow found); `consulted` ORs in the bits the lookup read. */
  tableLookup(t: FlowTable, matched: boolean): void {
    this.clsConsulted(t.cls);
    this.tables.push(t);
    if (matched) this.matched.push(t);
  }

  /** The bits the classifier's last lookup consulted (its visited subtables); none of the ct words while they are cleared. */
  clsConsulted(cls: Classifier<FlowEntry>): void {
    const m = this.mask;
    if (!this.ctCleared()) {
      cls.orConsulted(m);
      return;
    }
    const save = this.ctMaskSave;
    for (let i = 0; i < CT_N; i++) save[i] = m[CT_FIRST + i]!;
    cls.orConsulted(m);
    for (let i = 0; i < CT_N; i++) m[CT_FIRST + i] = save[i]!;
  }

  /** A conjunctive resolution above hard priority `hardPriority`: the masks of the soft subtables it searched. */
  conjConsulted(conj: ConjunctionTable<FlowEntry>, hardPriority: number): void {
    const m = this.mask;
    if (!this.ctCleared()) {
      conj.orMasks(m, hardPriority);
      return;
    }
    const save = this.ctMaskSave;
    for (let i = 0; i < CT_N; i++) save[i] = m[CT_FIRST + i]!;
    conj.orMasks(m, hardPriority);
    for (let i = 0; i < CT_N; i++) m[CT_FIRST + i] = save[i]!;
  }

  /** A ct action runs here (its frozen state follows with `ctFrozen` when it forks). */
  ctEvent(ct: unknown): void {
    this.event(XEV_CT, this.cts.length, 0, false, null);
    this.cts.push({ ct, frozen: null });
    this.ctEvents++;
  }

  /** The frozen state the last ct event's `table=N` resumes from. */
  ctFrozen(frozen: unknown): void {
    const c = this.cts[this.cts.length - 1];
    if (c !== undefined) c.frozen = frozen;
  }

  /** A clone ended; `ctBefore`: `ctEvents` at its start. */
  cloneEnded(ctBefore: number): void {
    if (this.ctEvents !== ctBefore) this.ctCloneEnded = true;
  }

  /** A dp_hash select group chose bucket `bucket` (a guard of the cached translation). */
  selectGuard(group: unknown, bucket: number): void {
    this.guards.push({ group, bucket });
  }

  /** A group or bucket's counters were bumped. */
  countedHit(c: Counted): void {
    this.counted.push(c);
  }

  /** The translation depends on (or writes) these bits of key word `word`. */
  mark(word: number, bits: number): void {
    const m = this.mask;
    m[word] = (m[word]! | bits) >>> 0;
  }

  /** The bits a prerequisite check reads (`prereqOkKey`). */
  markPrereq(p: Prereq): void {
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

  /** A subfield: the cache marks its whole field. */
  markSubfield(sf: Subfield): void {
    this.markField(sf.field);
  }

  /** Every word of a field. */
  markField(f: MatchField): void {
    for (let i = 0; i < f.nwords; i++) this.mark(f.word + i, 0xffffffff);
    if (isTunMetadata(f)) this.mark(W.tun_flags, 0xffffffff);
  }

  /** The translation depends on something the cache cannot key on: do not cache it. */
  uncacheable(): void {
    this.ok = false;
  }

  /** The VLAN headers outside the key words changed: a replay must start from the same ones. */
  vlanChanged(): void {
    this.vlanDep = true;
  }

  /** An output to a fixed port. */
  outputEvent(port: number, maxLen: number, bucket: boolean): void {
    this.event(XEV_OUTPUT, port, maxLen, bucket, null);
  }

  /** An output to the port held in `src`. */
  outputRegEvent(src: Subfield, maxLen: number, bucket: boolean): void {
    this.event(XEV_OUTPUT_REG, 0, maxLen, bucket, src);
  }

  /** An output truncated to `maxLen` bytes. */
  outputTruncEvent(port: number, maxLen: number, bucket: boolean): void {
    this.event(XEV_OUTPUT_TRUNC, port, maxLen, bucket, null);
  }

  /** An output-like event, with the key change since the previous one. */
  private event(kind: number, port: number, maxLen: number, bucket: boolean, src: Subfield | null): void {
    if (!this.ok) return;
    const mode = this.ctMode();
    if (mode < 0 || this.ctCloneEnded) {
      this.ok = false;
      return;
    }
    const w = this.key.w;
    const prev = this.prev;
    const ev = this.ev;
    let srcIdx = -1;
    if (src !== null) {
      srcIdx = this.srcs.length;
      this.srcs.push(src);
    }
    ev.push(kind, port | 0, maxLen | 0, bucket ? 1 : 0, srcIdx, mode, 0);
    const at = ev.length - 1;
    for (let i = 0; i < KEY_WORDS; i++) {
      if (i === CT_FIRST) i = CT_END;
      const d = (w[i]! ^ prev[i]!) | 0;
      if (d !== 0) {
        ev.push(i, d);
        ev[at] = ev[at]! + 1;
        prev[i] = w[i]!;
      }
    }
    const k = this.key;
    ev.push(k.vlanTpid, k.vlan2Tci, k.vlan2Tpid);
    this.events++;
  }
}

/** What replaying needs from the pipeline: its key, the frame's length and time, its output functions. */
export interface ReplayTarget {
  /** The key (brought to each output's state). */
  readonly key: FlowKey;
  /** The received frame's length (for the counters). */
  readonly frameLen: number;
  /** The clock reading of this pass (flow `used` times). */
  readonly now: number;
  /** Output to a port. */
  output(port: number, maxLen: number, bucket: boolean): void;
  /** Output to the port held in a subfield. */
  outputReg(src: Subfield, maxLen: number, bucket: boolean): void;
  /** Output truncated to `maxLen` bytes. */
  outputTrunc(port: number, maxLen: number): void;
  /** Run a ct action on the frame (the tracker, NAT, the recirculation to the frozen state). */
  ctReplay(ct: unknown, frozen: unknown): void;
}

/** The initial ct words of the pass being replayed (replays do not nest: recirculations run after). */
const replayCt = new Uint32Array(CT_N);

/** Whether a megaflow hit holds for `key` beyond its mask: the VLAN headers outside the key words (when the translation depends on them) are the ones it was recorded with. */
export function vlanStateHolds(x: CachedXlate, key: FlowKey): boolean {
  const c = x.code;
  const at = eventsAt(c);
  return c[at + 1] === 0 || (key.vlanTpid === c[at + 2] && key.vlan2Tci === c[at + 3] && key.vlan2Tpid === c[at + 4]);
}

/** Do what translating the frame did: bump the same counters, then run the outputs on the same keys. */
export function replayCached(x: CachedXlate, t: ReplayTarget): void {
  const frameLen = t.frameLen;
  const now = t.now;
  const flows = x.flows;
  for (let i = 0; i < flows.length; i++) {
    const f = flows[i]!;
    f.packets++;
    f.bytes += frameLen;
  }
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
    c.bytes += frameLen;
  }
  const c = x.code;
  let p = eventsAt(c);
  const n = c[p]!;
  const vlanDep = c[p + 1] !== 0;
  p += 5;
  const k = t.key;
  const w = k.w;
  for (let i = 0; i < CT_N; i++) replayCt[i] = w[CT_FIRST + i]!;
  for (let e = 0; e < n; e++) {
    const kind = c[p]!;
    const port = c[p + 1]!;
    const maxLen = c[p + 2]!;
    const bucket = c[p + 3] !== 0;
    const srcIdx = c[p + 4]!;
    if (c[p + 5] === CT_MODE_ZERO) w.fill(0, CT_FIRST, CT_END);
    else for (let i = 0; i < CT_N; i++) w[CT_FIRST + i] = replayCt[i]!;
    const end = p + 7 + 2 * c[p + 6]!;
    for (p += 7; p < end; p += 2) {
      const i = c[p]!;
      w[i] = w[i]! ^ c[p + 1]!;
    }
    if (vlanDep) {
      k.vlanTpid = c[p]!;
      k.vlan2Tci = c[p + 1]!;
      k.vlan2Tpid = c[p + 2]!;
    }
    p += 3;
    if (kind === XEV_OUTPUT) t.output(port, maxLen, bucket);
    else if (kind === XEV_OUTPUT_TRUNC) t.outputTrunc(port, maxLen);
    else if (kind === XEV_CT) {
      const ct = x.cts[port]!;
      t.ctReplay(ct.ct, ct.frozen);
    } else t.outputReg(x.srcs[srcIdx]!, maxLen, bucket);
  }
}

/**
 * The marks of a traced translation, with OVS's exact semantics (its `ctx->wc`), into a trace:
 * `sink` receives every bit. Prerequisite checks mark what OVS's `mf_are_prereqs_ok` inspects
 * (`nw_proto` for transport fields of IP packets, `tp_src`/`tp_dst` for ND, the VLAN CFI), a
 * subfield only its own bits. The classifier part of the megaflow is not marked here (see
 * ovs-classifier-wc.ts), nor what the translation cache needs to replay.
 */
export class TraceWildcards extends MegaflowRecorder {
  override readonly ovsExact: boolean = true;

  constructor(
    key: FlowKey,
    /** Where the bits go (the trace section being built). */
    private readonly sink: (word: number, bits: number) => void,
  ) {
    super(key);
  }

  override mark(word: number, bits: number): void {
    if (bits !== 0) this.sink(word, bits >>> 0);
  }

  override markPrereq(p: Prereq): void {
    const w = this.key.w;
    const dl = w[W.dl_type]!;
    const ip = dl === 0x0800 || dl === 0x86dd;
    switch (p) {
      case Prereq.VlanVid:
        this.mark(W.vlan_tci, VLAN_CFI);
        return;
      case Prereq.Tcp:
      case Prereq.Udp:
      case Prereq.Sctp:
      case Prereq.Icmpv4:
        if (ip) this.mark(W.nw_proto, 0xff);
        return;
      case Prereq.Icmpv6:
      case Prereq.Nd:
      case Prereq.NdSolicit:
      case Prereq.NdAdvert:
        if (dl !== 0x86dd) return;
        this.mark(W.nw_proto, 0xff);
        if (p === Prereq.Icmpv6 || w[W.nw_proto] !== 58) return;
        this.mark(W.tp_dst, 0xffff);
        if (w[W.tp_dst] !== 0) return;
        this.mark(W.tp_src, 0xffff);
        return;
      case Prereq.Ct:
        this.mark(W.ct_state, 0xff);
        return;
      default:
        // dl_type (always exact in a megaflow) or nothing.
        return;
    }
  }

  override markSubfield(sf: Subfield): void {
    const f = sf.field;
    for (let i = 0; i < sf.nBits; i++) {
      const bit = sf.ofs + i;
      if (f.nwords === 1) this.mark(f.word, (1 << (f.shift + bit)) >>> 0);
      else {
        // Multi-word fields: most significant word first.
        const wi = f.word + f.nwords - 1 - Math.floor(bit / 32);
        this.mark(wi, (1 << (bit % 32)) >>> 0);
      }
    }
  }

  override tableLookup(): void {
    // The classifier's part comes from ovs-classifier-wc.ts.
  }

  override clsConsulted(): void {
    // As tableLookup.
  }

  override conjConsulted(): void {
    // As tableLookup.
  }
}
