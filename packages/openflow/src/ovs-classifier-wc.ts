/**
 * The wildcards Open vSwitch's classifier un-wildcards when it looks a packet up, for the
 * `Megaflow:` line of a trace (OVS 3.1 lib/classifier.c `classifier_lookup__`, `find_match_wc`,
 * `check_tries`, `trie_lookup_value`). Our own classifier finds the same rule but consults other
 * bits (it has no staged lookup or prefix tries); this module replays OVS's algorithm on the
 * table's rules to say which bits OVS would have consulted. Traces only: it is not on the
 * forwarding path.
 *
 * The algorithm, as OVS runs it:
 * - Rules with the same mask form a subtable; subtables are visited in decreasing order of the
 *   highest priority they hold (ties in creation order), while that priority can still beat the
 *   best ("hard") match found so far.
 * - A subtable is searched in stages: metadata, L2, L3, L4 (`FLOW_SEGMENT_*`: the layout of
 *   OVS's `struct flow`, mapped onto our key words below). Each stage but the last checks whether
 *   any rule agrees with the packet on the stages so far; the first stage where none does ends
 *   the search, and only the mask bits of the stages before it are un-wildcarded. When a rule is
 *   found (or the last stage fails) the whole subtable mask is un-wildcarded, except that a failed
 *   last stage with L4 ports only un-wildcards, of the ports, the bits a trie of the subtable's
 *   port values needs to tell the packet apart (the rest of that stage fully, as Debian's 3.1.0
 *   with the CVE-2023-5366 fix does).
 * - Prefix tries on `nw_dst` and `nw_src` (OVS's default `prefixes`), one per table over all its
 *   rules: before a stage holding such a field, if no rule prefix of the subtable's length lies
 *   on the packet's address path, the subtable is skipped un-wildcarding only the address bits
 *   the trie needed (`maskbits`).
 * - Conjunctive ("soft") rules are matched like others; when they may beat the hard match, OVS
 *   looks the packet up again with `conj_id` set (its bits join the wildcards).
 * - Versions: a flow a `learn` installs during a translation (ofproto_flow_mod_learn) is in the
 *   classifier at once, visible only from the next table version, so the lookups of that
 *   translation do not find it (`find_match` skips it). Everything else counts it: its subtable
 *   (created if new, its maximum priority raised, which moves it in the visiting order), the
 *   stage indices, the prefix tries and the ports trie. Such rules are `invisible` here: they
 *   shape the search and its wildcards but never match.
 */
import { ETH_TYPE_IP } from './fields.js';
import { KEY_WORDS, W } from './flowkey.js';
import type { Match } from './match.js';

/** A rule as the emulation needs it. */
export interface WcRule {
  /** Its match (value within mask). */
  readonly match: Match;
  /** Priority. */
  readonly priority: number;
  /** A conjunction ("soft") flow. */
  readonly soft: boolean;
  /** Not visible in the lookup's version (learned during this translation): never matches. */
  readonly invisible?: boolean;
}

/** The lookup stage (OVS `FLOW_SEGMENT`) of each key word: 0 metadata, 1 L2, 2 L3, 3 L4. */
const STAGE_OF: Uint8Array = (() => {
  const s = new Uint8Array(KEY_WORDS);
  const set = (name: keyof typeof W, n: number, stage: number): void => {
    for (let i = 0; i < n; i++) s[W[name] + i] = stage;
  };
  // Everything defaults to metadata (tunnel, metadata, registers, pkt_mark, in_port, ct_state,
  // ct_zone, ct_mark, ct_label, ct_nw_proto, conj_id, actset_output).
  set('dl_dst', 2, 1);
  set('dl_src', 2, 1);
  set('dl_type', 1, 1);
  set('vlan_tci', 1, 1);
  set('mpls_lse', 3, 1);
  for (const [n, k] of [['nw_src', 1], ['nw_dst', 1], ['ipv6_src', 4], ['ipv6_dst', 4], ['ipv6_label', 1], ['nw_frag', 1], ['nw_tos', 1], ['nw_ttl', 1], ['nw_proto', 1],
    ['ct_nw_src', 1], ['ct_nw_dst', 1], ['ct_ipv6_src', 4], ['ct_ipv6_dst', 4]] as const) set(n, k, 2);
  for (const [n, k] of [['tp_src', 1], ['tp_dst', 1], ['tcp_flags', 1], ['arp_sha', 2], ['arp_tha', 2], ['nd_target', 4], ['ct_tp_src', 1], ['ct_tp_dst', 1]] as const) set(n, k, 3);
  return s;
})();

/** The prefix-trie fields in OVS's order (`default_prefix_fields`: ipv4_dst, ipv4_src). */
const TRIE_WORDS = [W.nw_dst, W.nw_src] as const;

/** A binary trie of 32-bit prefixes (uncompressed; OVS's is path-compressed, with the same answers). */
class PrefixTrie {
  /** `len:bits` of every node on a path to a prefix (the root is `0:0` when any). */
  private readonly nodes = new Set<string>();
  /** `len:bits` of the prefixes themselves (nodes with rules). */
  private readonly ends = new Set<string>();

  private static key(len: number, v: number): string {
    return `${len}:${len === 0 ? 0 : v >>> (32 - len)}`;
  }

  insert(value: number, len: number): void {
    for (let d = 0; d <= len; d++) this.nodes.add(PrefixTrie.key(d, value));
    this.ends.add(PrefixTrie.key(len, value));
  }

  /**
   * OVS `trie_lookup_value`: the number of bits needed to tell `value` apart from the prefixes
   * that do not lie on its path; `plens` gets every prefix length that does.
   */
  lookup(value: number, plens: Set<number>): number {
    if (this.nodes.size === 0) return 0;
    let d = 0;
    for (;;) {
      if (d > 0 && this.ends.has(PrefixTrie.key(d, value))) plens.add(d);
      if (d >= 32) return 32;
      const bit = (value >>> (31 - d)) & 1;
      const here = d === 0 ? 0 : value >>> (32 - d);
      const child = (here * 2 + bit) >>> 0;
      if (this.nodes.has(`${d + 1}:${child}`)) {
        d++;
        continue;
      }
      const other = (here * 2 + (bit ^ 1)) >>> 0;
      return this.nodes.has(`${d + 1}:${other}`) ? d + 1 : d;
    }
  }
}

/** The length of `mask` as a prefix (0 when it is not a contiguous prefix, or empty). */
function prefixLen(mask: number): number {
  if (mask === 0) return 0;
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return 0;
  return 32 - Math.log2(inv + 1);
}

function prefixMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

interface Subtable {
  readonly mask: Uint32Array;
  /** Mask words in use, by stage. */
  readonly stageWords: number[][];
  /** The stages that carry mask bits, in order; the last is the final stage. */
  readonly stages: number[];
  /** Rule values (masked) under each prefix of stages, as string keys: `prefixKeys[i]` covers stages[0..i]. */
  readonly prefixKeys: Set<string>[];
  readonly rules: WcRule[];
  maxPriority: number;
  /** Prefix length of each trie field in the mask (0: none). */
  readonly triePlen: number[];
  /** Combined tp_src:tp_dst mask and its prefix length (OVS `ports_mask_len`, 0 when none). */
  readonly portsMask: number;
  readonly portsLen: number;
  readonly portsTrie: PrefixTrie;
  readonly order: number;
}

function stageKey(v: Uint32Array, st: Subtable, upTo: number): string {
  let s = '';
  for (let i = 0; i <= upTo; i++) for (const w of st.stageWords[st.stages[i]!]!) s += `${(v[w]! & st.mask[w]!) >>> 0},`;
  return s;
}

/** OVS's classifier over one table's rules, for its wildcards. */
export class OvsClassifierWc {
  private readonly subtables: Subtable[] = [];
  private readonly tries = TRIE_WORDS.map(() => new PrefixTrie());

  constructor(rules: Iterable<WcRule>) {
    const byMask = new Map<string, Subtable>();
    for (const r of rules) {
      const m = r.match.mask;
      const id = m.join(',');
      let st = byMask.get(id);
      if (!st) {
        const stageWords: number[][] = [[], [], [], []];
        for (let w = 0; w < KEY_WORDS; w++) if (m[w] !== 0) stageWords[STAGE_OF[w]!]!.push(w);
        const stages = [0, 1, 2, 3].filter((s) => stageWords[s]!.length > 0);
        const portsMask = (((m[W.tp_src]! & 0xffff) << 16) | (m[W.tp_dst]! & 0xffff)) >>> 0;
        let tz = 0;
        while (tz < 32 && ((portsMask >>> tz) & 1) === 0) tz++;
        st = {
          mask: Uint32Array.from(m), stageWords, stages, prefixKeys: stages.map(() => new Set<string>()), rules: [], maxPriority: -1,
          triePlen: TRIE_WORDS.map((w) => prefixLen(m[w]!)), portsMask, portsLen: portsMask === 0 ? 0 : 32 - tz, portsTrie: new PrefixTrie(), order: byMask.size,
        };
        byMask.set(id, st);
        this.subtables.push(st);
      }
      st.rules.push(r);
      if (r.priority > st.maxPriority) st.maxPriority = r.priority;
      const v = r.match.value;
      for (let i = 0; i < st.stages.length; i++) st.prefixKeys[i]!.add(stageKey(v, st, i));
      st.triePlen.forEach((plen, j) => {
        if (plen > 0) this.tries[j]!.insert(v[TRIE_WORDS[j]!]!, plen);
      });
      if (st.portsLen > 0) st.portsTrie.insert((((v[W.tp_src]! & 0xffff) << 16) | (v[W.tp_dst]! & 0xffff)) >>> 0 & st.portsMask, st.portsLen);
    }
    // OVS's pvector: decreasing maximum priority; equal ones stay in creation order.
    this.subtables.sort((a, b) => b.maxPriority - a.maxPriority || a.order - b.order);
  }

  /**
   * OR into `wc` the bits OVS's `classifier_lookup` un-wildcards looking `key` up. `conjId`: the
   * conjunction id of the flow the lookup resolved to through a conjunctive match, if it did.
   */
  lookup(key: Uint32Array, wc: Uint32Array, conjId?: number): void {
    const ctx = TRIE_WORDS.map(() => ({ done: false, plens: new Set<number>(), maskbits: 0, all: false }));
    let hardPri = -Infinity;
    let softPri = -Infinity;
    for (const st of this.subtables) {
      if (st.maxPriority < hardPri + 1) break;
      const r = this.findMatchWc(st, key, wc, ctx);
      if (r === null || r.priority <= hardPri) continue;
      if (!r.soft) hardPri = r.priority;
      else if (r.priority > softPri) softPri = r.priority;
    }
    if (hardPri >= softPri || conjId === undefined) return;
    // The soft matches may make a conjunctive match: OVS looks the packet up again with conj_id.
    const save = key[W.conj_id]!;
    key[W.conj_id] = conjId;
    try {
      const ctx2 = TRIE_WORDS.map(() => ({ done: false, plens: new Set<number>(), maskbits: 0, all: false }));
      let hard = -Infinity;
      for (const st of this.subtables) {
        if (st.maxPriority < hard + 1) break;
        const r = this.findMatchWc(st, key, wc, ctx2);
        if (r !== null && !r.soft && r.priority > hard) hard = r.priority;
      }
    } finally {
      key[W.conj_id] = save;
    }
  }

  private fold(st: Subtable, wc: Uint32Array, upTo: number): void {
    for (let i = 0; i <= upTo; i++) {
      for (const w of st.stageWords[st.stages[i]!]!) {
        // An exact ipv6_label match has OVS's 32-bit mask (match_set_ipv6_label), ours 20 bits.
        const m = w === W.ipv6_label && st.mask[w] === 0xfffff ? 0xffffffff : st.mask[w]!;
        wc[w] = (wc[w]! | m) >>> 0;
      }
    }
  }

  /** OVS `check_tries` before stage `stage`: true when the subtable can be skipped (wc updated). */
  private checkTries(st: Subtable, stage: number, key: Uint32Array, wc: Uint32Array, ctx: { done: boolean; plens: Set<number>; maskbits: number; all: boolean }[]): boolean {
    for (let j = 0; j < TRIE_WORDS.length; j++) {
      const plen = st.triePlen[j]!;
      const word = TRIE_WORDS[j]!;
      if (plen === 0 || STAGE_OF[word] !== stage) continue;
      const c = ctx[j]!;
      if (!c.done) {
        c.done = true;
        // trie_lookup(): without the field's prerequisite (IPv4) every prefix length "may match".
        if (key[W.dl_type] !== ETH_TYPE_IP) c.all = true;
        else c.maskbits = this.tries[j]!.lookup(key[word]!, c.plens);
      }
      if (c.all || c.plens.has(plen)) continue;
      if (c.maskbits <= plen) {
        wc[word] = (wc[word]! | prefixMask(c.maskbits)) >>> 0;
        return true;
      }
      // mask_prefix_bits_set(): skip when those bits are un-wildcarded already.
      const need = prefixMask(c.maskbits);
      if ((wc[word]! & need) >>> 0 === need) return true;
    }
    return false;
  }

  private findMatchWc(st: Subtable, key: Uint32Array, wc: Uint32Array, ctx: { done: boolean; plens: Set<number>; maskbits: number; all: boolean }[]): WcRule | null {
    const n = st.stages.length;
    if (n === 0) return best(st, key);
    for (let i = 0; i < n - 1; i++) {
      if (this.checkTries(st, st.stages[i]!, key, wc, ctx)) {
        this.fold(st, wc, i - 1);
        return null;
      }
      if (!st.prefixKeys[i]!.has(stageKey(key, st, i))) {
        this.fold(st, wc, i);
        return null;
      }
    }
    if (this.checkTries(st, st.stages[n - 1]!, key, wc, ctx)) {
      this.fold(st, wc, n - 2);
      return null;
    }
    const r = best(st, key);
    if (r === null && st.portsLen > 0) {
      const value = ((((key[W.tp_src]! & 0xffff) << 16) | (key[W.tp_dst]! & 0xffff)) >>> 0) & st.portsMask;
      const mbits = st.portsTrie.lookup(value, new Set<number>());
      const m = (st.portsMask & prefixMask(mbits)) >>> 0;
      // Debian's OVS 3.1.0-2+deb12u1 carries "classifier: Fix missing masks on a final stage with
      // ports trie" (CVE-2023-5366): the whole final stage is un-wildcarded, then the port bits
      // are set back to what the trie needed plus what was already there.
      const src = (wc[W.tp_src]! | (m >>> 16)) >>> 0;
      const dst = (wc[W.tp_dst]! | (m & 0xffff)) >>> 0;
      this.fold(st, wc, n - 1);
      wc[W.tp_src] = src;
      wc[W.tp_dst] = dst;
      return null;
    }
    this.fold(st, wc, n - 1);
    return r;
  }
}

/** The highest-priority rule of `st` that matches `key` (OVS `find_match`). */
function best(st: Subtable, key: Uint32Array): WcRule | null {
  let b: WcRule | null = null;
  for (const r of st.rules) {
    if (r.invisible === true || (b !== null && r.priority <= b.priority)) continue;
    const v = r.match.value;
    let ok = true;
    for (const ws of st.stageWords) {
      for (const w of ws) {
        if (((key[w]! & st.mask[w]!) >>> 0) !== v[w]) {
          ok = false;
          break;
        }
      }
      if (!ok) break;
    }
    if (ok) b = r;
  }
  return b;
}

/** What `ovsClassifierWc` needs of a flow table (structurally `FlowTable`). */
export interface WcTable {
  /** The classifier's rules with their insertion order. */
  readonly cls: { rules(): Iterable<{ readonly match: Match; readonly priority: number; readonly seq: number }> };
  /** The conjunction ("soft") flows. */
  readonly softEntries: Iterable<{ readonly flow: { readonly match: Match; readonly priority: number } }>;
}

interface Built {
  readonly epoch: number;
  /** The table's rules in insertion order (hard, then soft). */
  readonly rules: readonly WcRule[];
  readonly wc: OvsClassifierWc;
  /** The emulation with the flows learned so far in the translation (`learned`), for `nLearned` of them. */
  withLearned: OvsClassifierWc | null;
  nLearned: number;
  lastLearned: WcRule | null;
}

const built = new WeakMap<WcTable, Built>();

/**
 * The emulation of OVS's classifier for `t`, rebuilt when the switch's table `epoch` moved on.
 * `learned`: the flows a `learn` installed in `t` earlier in this translation pass (in order; see
 * "Versions" above), which are in OVS's classifier but not visible to the pass.
 */
export function ovsClassifierWc(t: WcTable, epoch: number, learned: readonly WcRule[] = []): OvsClassifierWc {
  let c = built.get(t);
  if (!c || c.epoch !== epoch) {
    const hard = [...t.cls.rules()].sort((a, b) => a.seq - b.seq).map((r) => ({ match: r.match, priority: r.priority, soft: false }));
    const soft = [...t.softEntries].map((e) => ({ match: e.flow.match, priority: e.flow.priority, soft: true }));
    const rules = [...hard, ...soft];
    c = { epoch, rules, wc: new OvsClassifierWc(rules), withLearned: null, nLearned: 0, lastLearned: null };
    built.set(t, c);
  }
  const n = learned.length;
  if (n === 0) return c.wc;
  if (c.withLearned === null || c.nLearned !== n || c.lastLearned !== learned[n - 1]) {
    c.withLearned = new OvsClassifierWc([...c.rules, ...learned.map((r) => ({ ...r, invisible: true }))]);
    c.nLearned = n;
    c.lastLearned = learned[n - 1]!;
  }
  return c.withLearned;
}
