/**
 * Group bucket choice with OVS 3.1's semantics (ofproto-dpif.c `group_set_selection_method`,
 * `group_setup_dp_hash_table`; ofproto-dpif-xlate.c `pick_*_select_group`, `bucket_is_alive`,
 * `group_best_live_bucket`, `group_first_live_bucket`).
 *
 * Select groups. How OVS picks the method when the group is added:
 *  - no `selection_method`: **dp_hash** if the weights fit a table of at most 256 hash values
 *    (Webster's method spreads `max(16, pow2ceil(ceil(total/min_weight)))` slots over the buckets),
 *    with the symmetric L3/L4 hash and basis 0; otherwise the **default** method;
 *  - `selection_method=dp_hash`: dp_hash (algorithm and basis from `selection_method_param`,
 *    `hi32 = 0` L4 5-tuple, `1` symmetric L3/L4), any table size up to 256, else default;
 *  - `selection_method=hash` with `fields(...)`: **hash** over those fields; without fields, default.
 * Choosing a bucket:
 *  - dp_hash: the datapath computes the hash of the packet (`flowHashSymmetricL3L4(key, basis)`
 *    or `flowHash5Tuple`), then the first live bucket of `map[(hash + i) & mask]`, i = 0, 1, ...;
 *  - hash: basis = `hash_uint64(selection_method_param)`, then for each field in OVS field-id order
 *    whose prerequisites the packet meets, `hash_bytes(value & mask, n_bytes, basis)`; the bucket
 *    with the highest `(hash_int(bucket_id, basis) & 0xffff) * weight` among live ones (later
 *    buckets win ties);
 *  - default: the same best-score rule with `flow_hash_symmetric_l4(flow, 0)`.
 * A select bucket with weight 0 is never live. Liveness: no watch -> live; a watched port that
 * is up; a watched group that has a live bucket (recursively, depth limit 128); `watch_port
 * CONTROLLER` -> the controller connection is up.
 *
 * Fast failover: the first live bucket. All/indirect: every bucket. Counters: the group counts
 * every packet it handles (also when no bucket is live, OVS credits nothing then: see `credit`).
 */
import type { MatchField } from '../fields.js';
import type { MegaflowMarks } from '../xlate.js';
import { getFieldBig } from '../flowkey.js';
import { prereqOkKey } from '../match.js';
import type { Group, GroupType } from '../ofctl-text.js';
import { flowHash5Tuple, flowHashSymmetricL3L4, flowHashSymmetricL4 } from './flow-hash.js';
import { defaultGroupProps, parseGroupProps, type GroupProps, type SelectField } from './group-text.js';
import { hashBoolean, hashBytes, hashInt, hashUint64 } from './ovs-hash.js';

/** Watch port value meaning "none" (OFPP_ANY). */
export const NO_WATCH_PORT = 0xffff;
/** Watch group value meaning "none" (OFPG_ANY). */
export const NO_WATCH_GROUP = 0xffffffff;
/** OFPP_CONTROLLER as a watch port. */
export const WATCH_CONTROLLER = 0xfffd;
/** OVS `MAX_SELECT_GROUP_HASH_VALUES`. */
export const MAX_SELECT_GROUP_HASH_VALUES = 256;
/** OVS `MAX_LIVENESS_RECURSION`. */
export const MAX_LIVENESS_RECURSION = 128;

/** Datapath hash algorithms (OVS `ovs_hash_alg`). */
export const HashAlg = { L4: 0, SYM_L4: 1 } as const;

/** How a select group picks its bucket after OVS's decision. */
export type SelectMethod = 'dp_hash' | 'hash' | 'default';

/** What bucket choice needs to know about one bucket. */
export interface BucketInfo {
  /** Bucket id. */
  readonly id: number;
  /** Select weight (OVS default 1 for select groups, 0 otherwise). */
  readonly weight: number;
  /** Watched port or `NO_WATCH_PORT`. */
  readonly watchPort: number;
  /** Watched group or `NO_WATCH_GROUP`. */
  readonly watchGroup: number;
}

/** Liveness inputs: port link state, other groups, the controller connection. */
export interface LivenessSource {
  /** True when the port exists and may be used (OVS `may_enable`). */
  portLive(port: number): boolean;
  /** True when the group exists and has a live bucket (`depth` counts watch_group links). */
  groupLive(groupId: number, depth: number): boolean;
  /** OVS `ofproto_is_alive`: a controller is connected (default false in a standalone switch). */
  controllerLive?(): boolean;
}

/** OVS `bucket_is_alive`. */
export function bucketIsAlive(type: GroupType, b: BucketInfo, live: LivenessSource, depth: number): boolean {
  if (depth >= MAX_LIVENESS_RECURSION) return false;
  if (type === 'select' && b.weight === 0) return false;
  const hasLiveness = b.watchPort !== NO_WATCH_PORT || b.watchGroup !== NO_WATCH_GROUP;
  if (!hasLiveness) return true;
  if (b.watchPort !== NO_WATCH_PORT && b.watchPort !== WATCH_CONTROLLER && live.portLive(b.watchPort)) return true;
  if (b.watchGroup !== NO_WATCH_GROUP && live.groupLive(b.watchGroup, depth + 1)) return true;
  if (b.watchPort === WATCH_CONTROLLER && (live.controllerLive?.() ?? false)) return true;
  return false;
}

/**
 * What OVS's trace says about a bucket it passes over (`xlate_report_bucket_not_live`): `bucket N:
 * not live due to port P` (a watched group is printed as `port G` too, as OVS does), or null for a
 * bucket without liveness watches (a zero-weight select bucket).
 */
export function bucketNotLiveText(b: BucketInfo): string | null {
  const parts: string[] = [];
  if (b.watchPort !== NO_WATCH_PORT) parts.push(`port ${formatPortName(b.watchPort)}`);
  if (b.watchGroup !== NO_WATCH_GROUP) parts.push(`port ${b.watchGroup}`);
  return parts.length ? `bucket ${b.id}: not live due to ${parts.join(' and ')}` : null;
}

function formatPortName(p: number): string {
  return p === WATCH_CONTROLLER ? 'CONTROLLER' : p === 0xfffe ? 'LOCAL' : String(p);
}

/**
 * OVS `group_first_live_bucket`: index of the first live bucket, or -1; `report` gets the trace
 * lines OVS writes for the buckets passed over.
 */
export function firstLiveBucket(type: GroupType, buckets: readonly BucketInfo[], live: LivenessSource, depth = 0, report?: (line: string) => void): number {
  for (let i = 0; i < buckets.length; i++) {
    if (bucketIsAlive(type, buckets[i]!, live, depth)) return i;
    if (report) {
      const t = bucketNotLiveText(buckets[i]!);
      if (t !== null) report(t);
    }
  }
  return -1;
}

/**
 * OVS `group_best_live_bucket`: highest `(hash_int(id, basis) & 0xffff) * weight`, later wins ties;
 * -1 if none live. `report` gets OVS's trace lines (`bucket N: score S`, or not live).
 */
export function bestLiveBucket(buckets: readonly BucketInfo[], basis: number, live: LivenessSource, report?: (line: string) => void): number {
  let best = -1;
  let bestScore = 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    if (!bucketIsAlive('select', b, live, 0)) {
      if (report) {
        const t = bucketNotLiveText(b);
        if (t !== null) report(t);
      }
      continue;
    }
    const score = (hashInt(b.id, basis) & 0xffff) * b.weight;
    if (score >= bestScore) {
      best = i;
      bestScore = score;
    }
    report?.(`bucket ${b.id}: score ${score >>> 0}`);
  }
  return best;
}

/**
 * OVS `group_setup_dp_hash_table`: Webster's method over the bucket weights. Returns the map of
 * hash value -> bucket index (length a power of two), or null when the weights need more than
 * `maxHash` values (0 = the global maximum of 256) or all weights are 0.
 */
export function dpHashTable(buckets: readonly BucketInfo[], maxHash = 0): Int32Array | null {
  const n = buckets.length;
  if (n === 0) return null;
  let total = 0;
  let minWeight = 0xffff;
  for (const b of buckets) {
    if (b.weight > 0 && b.weight < minWeight) minWeight = b.weight;
    total += b.weight;
  }
  if (total === 0) return null;
  const minSlots = Math.ceil(total / minWeight);
  let pow2 = 1;
  while (pow2 < minSlots) pow2 *= 2;
  const nHash = Math.max(16, pow2);
  if (nHash > MAX_SELECT_GROUP_HASH_VALUES || (maxHash !== 0 && nHash > maxHash)) return null;
  const divisor = new Float64Array(n).fill(1);
  const value = Float64Array.from(buckets, (b) => b.weight);
  const map = new Int32Array(nHash);
  for (let h = 0; h < nHash; h++) {
    let win = 0;
    for (let i = 1; i < n; i++) if (value[i]! > value[win]!) win = i;
    divisor[win] = divisor[win]! + 2;
    value[win] = buckets[win]!.weight / divisor[win]!;
    map[h] = win;
  }
  return map;
}

/**
 * OVS's MFF order (`enum mf_field_id`) of the fields we know: select-group hash fields are hashed
 * in this order whatever order the text listed them in.
 */
const MFF_ORDER: readonly string[] = [
  'conj_id', 'tun_id', 'tun_src', 'tun_dst', 'tun_ipv6_src', 'tun_ipv6_dst',
  ...Array.from({ length: 8 }, (_, i) => `tun_metadata${i}`),
  'metadata', 'in_port', 'actset_output', 'pkt_mark', 'ct_state', 'ct_zone', 'ct_mark', 'ct_label', 'ct_nw_proto',
  'ct_nw_src', 'ct_nw_dst', 'ct_ipv6_src', 'ct_ipv6_dst', 'ct_tp_src', 'ct_tp_dst',
  ...Array.from({ length: 16 }, (_, i) => `reg${i}`), ...Array.from({ length: 8 }, (_, i) => `xreg${i}`),
  ...Array.from({ length: 4 }, (_, i) => `xxreg${i}`),
  'eth_src', 'eth_dst', 'eth_type', 'vlan_tci', 'dl_vlan', 'vlan_vid', 'dl_vlan_pcp', 'vlan_pcp',
  'ip_src', 'ip_dst', 'ipv6_src', 'ipv6_dst', 'ipv6_label', 'nw_proto', 'nw_tos', 'ip_dscp', 'nw_ecn', 'nw_ttl', 'ip_frag',
  'arp_op', 'arp_spa', 'arp_tpa', 'arp_sha', 'arp_tha', 'tcp_src', 'tcp_dst', 'tcp_flags', 'udp_src', 'udp_dst',
  'sctp_src', 'sctp_dst', 'icmp_type', 'icmp_code', 'icmpv6_type', 'icmpv6_code', 'nd_target', 'nd_sll', 'nd_tll',
];

/** Position of a field in OVS's field-id order (unknown fields last). */
export function mffOrder(f: MatchField): number {
  const i = MFF_ORDER.indexOf(f.name);
  return i < 0 ? MFF_ORDER.length : i;
}


/** A hash field prepared for the per-packet path. */
interface PreparedField {
  readonly field: MatchField;
  readonly nBytes: number;
  readonly mask: Uint8Array;
}

function toBytes(v: bigint, n: number, out: Uint8Array, off: number): void {
  for (let i = n - 1; i >= 0; i--) {
    out[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/**
 * The selection state of one select group, computed when the group is added or modified (OVS
 * `group_set_selection_method`). `pick()` runs per packet.
 */
export class SelectGroupState {
  /** The method OVS settled on. */
  readonly method: SelectMethod;
  /** dp_hash: the slot -> bucket index map (length `hashMask + 1`). */
  readonly hashMap: Int32Array | null;
  /** dp_hash: mask of the hash values used. */
  readonly hashMask: number;
  /** dp_hash: `HashAlg`. */
  readonly hashAlg: number;
  /** dp_hash: hash basis. */
  readonly hashBasis: number;
  /** hash: basis (`hash_uint64(selection_method_param)`). */
  readonly fieldsBasis: number;
  private readonly fields: readonly PreparedField[];
  private readonly scratch = new Uint8Array(16);

  constructor(
    /** The buckets in order. */
    readonly buckets: readonly BucketInfo[],
    /** The group's properties. */
    readonly props: GroupProps = defaultGroupProps(),
  ) {
    let method: SelectMethod = 'default';
    let map: Int32Array | null = null;
    let alg: number = HashAlg.SYM_L4;
    let basis = 0;
    if (props.selectionMethod === '') {
      map = dpHashTable(buckets, 256);
      if (map) method = 'dp_hash';
    } else if (props.selectionMethod === 'dp_hash') {
      map = dpHashTable(buckets, 0);
      if (map) {
        method = 'dp_hash';
        alg = Number(props.selectionMethodParam >> 32n);
        if (alg !== HashAlg.L4 && alg !== HashAlg.SYM_L4) alg = HashAlg.L4;
        basis = Number(props.selectionMethodParam & 0xffff_ffffn);
      }
    } else if (props.fields.length > 0) {
      method = 'hash';
    }
    this.method = method;
    this.hashMap = method === 'dp_hash' ? map : null;
    this.hashMask = this.hashMap ? this.hashMap.length - 1 : 0;
    this.hashAlg = alg;
    this.hashBasis = basis;
    this.fieldsBasis = hashUint64(props.selectionMethodParam);
    this.fields = [...props.fields]
      .sort((a, b) => mffOrder(a.field) - mffOrder(b.field))
      .map((f: SelectField) => {
        const nBytes = Math.ceil(f.field.bits / 8);
        const mask = new Uint8Array(nBytes);
        toBytes(f.mask, nBytes, mask, 0);
        return { field: f.field, nBytes, mask };
      });
  }

  /**
   * The hash the userspace datapath computes for dp_hash (what OVS stores in `dp_hash`):
   * `sym_l4`: `flow_hash_symmetric_l3l4(packet now, basis)`; `l4`: `hash_int(rss, basis)` where
   * the RSS hash is `flow_hash_5tuple` of the packet *as received* (`rxW`, default `w`).
   */
  dpHash(w: Uint32Array, vlan2Tci = 0, rxW: Uint32Array = w): number {
    return this.hashAlg === HashAlg.L4 ? hashInt(flowHash5Tuple(rxW, 0), this.hashBasis) : flowHashSymmetricL3L4(w, this.hashBasis, false, vlan2Tci);
  }

  /**
   * A trace's megaflow bits for `selection_method=hash` (OVS `pick_hash_fields_select_group`):
   * each field's prerequisites as checked, and the field's masked bits where they hold.
   */
  markFields(rec: MegaflowMarks, w: Uint32Array): void {
    for (const pf of this.fields) {
      rec.markPrereq(pf.field.prereq);
      if (!prereqOkKey(pf.field.prereq, w)) continue;
      const n = pf.nBytes * 8;
      for (let bit = 0; bit < n && bit < pf.field.bits; bit++) {
        if ((pf.mask[pf.nBytes - 1 - (bit >> 3)]! >> (bit & 7)) & 1) rec.markSubfield({ field: pf.field, ofs: bit, nBits: 1 });
      }
    }
  }

  /** The basis `selection_method=hash` computes from the packet's fields. */
  fieldsHash(w: Uint32Array): number {
    let basis = this.fieldsBasis;
    const s = this.scratch;
    for (const pf of this.fields) {
      if (!prereqOkKey(pf.field.prereq, w)) continue;
      toBytes(getFieldBig(w, pf.field), pf.nBytes, s, 0);
      for (let i = 0; i < pf.nBytes; i++) s[i] = s[i]! & pf.mask[i]!;
      basis = hashBytes(s, pf.nBytes, basis);
      if (pf.field.name.startsWith('tun_metadata')) basis = hashBoolean(true, basis);
    }
    return basis;
  }

  /**
   * Index of the bucket OVS would use for this packet, or -1 (no live bucket). `w` is the flow
   * now; `rxW` the flow of the packet as received (only dp_hash with the `l4` algorithm uses it).
   */
  pick(w: Uint32Array, live: LivenessSource, vlan2Tci = 0, rxW: Uint32Array = w, report?: (line: string) => void): number {
    switch (this.method) {
      case 'dp_hash': {
        const h = this.dpHash(w, vlan2Tci, rxW);
        const map = this.hashMap!;
        for (let i = 0; i <= this.hashMask; i++) {
          const b = map[(h + i) & this.hashMask]!;
          if (bucketIsAlive('select', this.buckets[b]!, live, 0)) return b;
        }
        return -1;
      }
      case 'hash':
        return bestLiveBucket(this.buckets, this.fieldsHash(w), live, report);
      default:
        return bestLiveBucket(this.buckets, flowHashSymmetricL4(w, 0, vlan2Tci), live, report);
    }
  }
}

/** Counters of a group or bucket. */
export interface GroupCounters {
  /** Packets. */
  packets: number;
  /** Bytes. */
  bytes: number;
}

/** A group in a `GroupTable`. */
export interface GroupState {
  /** The group as added. */
  readonly group: Group;
  /** Its properties. */
  readonly props: GroupProps;
  /** Bucket liveness data (weights defaulted). */
  readonly buckets: readonly BucketInfo[];
  /** Select groups: the selection state. */
  readonly select: SelectGroupState | null;
  /** Group counters. */
  readonly stats: GroupCounters;
  /** Per-bucket counters. */
  readonly bucketStats: GroupCounters[];
  /** When it was added (ms). */
  readonly created: number;
}

/**
 * A group table engine: groups by id with their selection state, liveness (ports through a
 * callback, watch_group recursively through this table) and counters. `choose()` says which
 * buckets a packet runs through; the executor runs them (each on a copy of the flow) and calls
 * `credit()`.
 */
export class GroupTable implements LivenessSource {
  private readonly groups = new Map<number, GroupState>();

  constructor(
    /** Port liveness (link up and may be used). */
    private readonly isPortLive: (port: number) => boolean,
    /** Controller connection liveness for `watch_port=CONTROLLER`. */
    private readonly isControllerLive: () => boolean = () => false,
  ) {}

  /** Add or replace a group (text in `ovs-ofctl add-group` syntax, or parsed). */
  set(g: string | Group, props?: GroupProps, now = 0): GroupState {
    let group: Group;
    let p: GroupProps;
    if (typeof g === 'string') ({ group, props: p } = parseGroupProps(g));
    else {
      group = g;
      p = props ?? defaultGroupProps();
    }
    const buckets: BucketInfo[] = group.buckets.map((b, i) => ({
      id: b.bucketId ?? i,
      weight: b.weight ?? (group.type === 'select' ? 1 : 0),
      watchPort: b.watchPort ?? NO_WATCH_PORT,
      watchGroup: b.watchGroup ?? NO_WATCH_GROUP,
    }));
    const st: GroupState = {
      group, props: p, buckets, select: group.type === 'select' ? new SelectGroupState(buckets, p) : null,
      stats: { packets: 0, bytes: 0 }, bucketStats: buckets.map(() => ({ packets: 0, bytes: 0 })), created: now,
    };
    this.groups.set(group.groupId, st);
    return st;
  }

  /** Remove a group; true when it existed. */
  delete(id: number): boolean {
    return this.groups.delete(id);
  }

  /** The group with this id. */
  get(id: number): GroupState | undefined {
    return this.groups.get(id);
  }

  /** Every group id. */
  ids(): number[] {
    return [...this.groups.keys()].sort((a, b) => a - b);
  }

  /** LivenessSource: port liveness. */
  portLive(port: number): boolean {
    return this.isPortLive(port);
  }

  /** LivenessSource: OVS `group_is_alive` (the group exists and has a live bucket). */
  groupLive(id: number, depth: number): boolean {
    const g = this.groups.get(id);
    return g !== undefined && firstLiveBucket(g.group.type, g.buckets, this, depth) >= 0;
  }

  /** LivenessSource: controller connection. */
  controllerLive(): boolean {
    return this.isControllerLive();
  }

  /**
   * The bucket indices a packet with key `w` runs through: every bucket for all/indirect, one
   * (or none) for select and ff. Undefined when the group does not exist.
   */
  choose(id: number, w: Uint32Array, vlan2Tci = 0): number[] | undefined {
    const g = this.groups.get(id);
    if (!g) return undefined;
    switch (g.group.type) {
      case 'all':
      case 'indirect':
        return g.buckets.map((_, i) => i);
      case 'ff': {
        const i = firstLiveBucket('ff', g.buckets, this, 0);
        return i < 0 ? [] : [i];
      }
      case 'select': {
        const i = g.select!.pick(w, this, vlan2Tci);
        return i < 0 ? [] : [i];
      }
    }
  }

  /**
   * Count a packet as OVS's `xlate_group_stats` does: all/indirect credit the group only;
   * select/ff credit the group and the chosen bucket; nothing when no bucket was live.
   */
  credit(id: number, bucket: number | null, bytes: number): void {
    const g = this.groups.get(id);
    if (!g) return;
    if (g.group.type === 'all' || g.group.type === 'indirect') {
      g.stats.packets++;
      g.stats.bytes += bytes;
      for (const b of g.bucketStats) {
        b.packets++;
        b.bytes += bytes;
      }
      return;
    }
    if (bucket === null || bucket < 0) return;
    g.stats.packets++;
    g.stats.bytes += bytes;
    const b = g.bucketStats[bucket]!;
    b.packets++;
    b.bytes += bytes;
  }
}
