/**
 * Tunnel keys as ovn-northd 23.03 allocates them (northd.c `build_datapaths`, `build_ports`,
 * `ovn_port_allocate_key`; lib/ovn-util.c `ovn_allocate_tnlid`).
 *
 * Design. One run of ovn-northd recomputes every key from the northbound database and the
 * southbound database it finds:
 *
 * 1. Rows are split into `both` (already bound in the SB: a Datapath_Binding whose
 *    `external_ids:logical-switch`/`logical-router` is the NB row, a Port_Binding with the port's
 *    name on the same datapath) and `nb_only` (new), each list in the order ovn-northd walks the NB.
 * 2. `requested-tnl-key` (switch `other_config`, router/port `options`) is honoured first, `both`
 *    before `nb_only`; a key asked for twice goes to the first and the second is warned about and
 *    allocated like any other.
 * 3. Rows in `both` keep their SB key when it is still free.
 * 4. Everything else is allocated by `ovn_allocate_tnlid`: the first free key after a hint,
 *    wrapping from the maximum to the minimum. For datapaths the hint starts at 0 in every run (so
 *    new datapaths get the lowest free keys); for ports the hint is per datapath and is raised to
 *    every key the datapath's ports keep or request, so a new port gets the key after the
 *    highest one in use (not a freed lower one) until the range wraps.
 *
 * Multicast groups have fixed keys (`MC_KEYS`); IP multicast groups learnt through IGMP_Group get
 * keys from `ovn_allocate_tnlid` over 32773..65535 with a per-datapath hint.
 *
 * The order ovn-northd walks datapaths is its OVSDB IDL's: rows of a table are kept in an OVS
 * `hmap` keyed by the first 32 bits of the row uuid, and rows that arrive in one update message are
 * inserted in the order of an OVS `shash` of their uuid strings built in uuid order. `idlTableOrder`
 * reproduces that for rows the SB already knows (one earlier batch) followed by the new rows (one
 * batch: a single transaction, or ovn-northd starting on a populated NB). The ports of a datapath
 * are walked in the order of its `ports` column, which OVSDB keeps sorted by uuid.
 */
import { hmapOrder, ovsHashString } from '../northd/ovs-hash.js';

/** Key ranges of OVN 23.03 (lib/ovn-util.h, lib/mcast-group-index.h). */
export const TNL = {
  /** Lowest datapath key. */
  DP_MIN: 1,
  /** Highest datapath key (24 bits). */
  DP_MAX: (1 << 24) - 1,
  /** Datapath keys reserved at the top of the range for OVN interconnection (`OVN_MAX_DP_GLOBAL_NUM`). */
  DP_GLOBAL_NUM: (1 << 16) - 1,
  /** Highest datapath key in VXLAN mode (12 bits). */
  DP_MAX_VXLAN: (1 << 12) - 1,
  /** Highest port key (15 bits; above are multicast groups). */
  PORT_MAX: (1 << 15) - 1,
  /** Highest port key in VXLAN mode (11 bits). */
  PORT_MAX_VXLAN: (1 << 11) - 1,
  /** Lowest multicast group key. */
  MC_MIN: 32768,
  /** Lowest key of an IP multicast group (`OVN_MIN_IP_MULTICAST`). */
  IP_MC_MIN: 32773,
  /** Highest multicast group key. */
  IP_MC_MAX: 65535,
  /** Lowest multicast key in VXLAN mode (`OVN_VXLAN_MIN_MULTICAST`). */
  VXLAN_MC_MIN: 2048,
} as const;

/** Multicast group keys (OVN 23.03 `enum ovn_mcast_tunnel_keys`). */
export const MC_KEYS = {
  _MC_flood: 32768,
  _MC_unknown: 32769,
  _MC_mrouter_flood: 32770,
  _MC_static: 32771,
  _MC_flood_l2: 32772,
} as const;

/** A set of used tunnel keys with OVN's allocator (`struct hmap tnlids` and `ovn_allocate_tnlid`). */
export class TnlIds {
  private readonly used = new Set<number>();

  /** Whether `key` is taken. */
  has(key: number): boolean {
    return this.used.has(key);
  }

  /** `ovn_add_tnlid`: takes `key`; false when it was already taken. */
  add(key: number): boolean {
    if (this.used.has(key)) return false;
    this.used.add(key);
    return true;
  }

  /**
   * `ovn_allocate_tnlid`: the first free key after `hint.value` in `min..max` (wrapping to `min`
   * after `max`; the hint itself is tried last, never), which becomes the new hint. 0 when every
   * key is taken.
   */
  allocate(min: number, max: number, hint: { value: number }): number {
    const next = (k: number) => (k + 1 <= max ? k + 1 : min);
    // ovn_allocate_tnlid stops when it comes back to the hint; a hint outside the range would
    // never be reached again, so bound the walk by the size of the range.
    let k = next(hint.value);
    for (let n = 0; n <= max - min && k !== hint.value; n++, k = next(k)) {
      if (this.add(k)) {
        hint.value = k;
        return k;
      }
    }
    return 0;
  }
}

/** A warning ovn-northd logs while allocating keys (the text is ovn-northd's). */
export interface KeyWarning {
  /** What the warning is about: a datapath or a port name. */
  readonly subject: string;
  /** ovn-northd's log message. */
  readonly message: string;
}

/** A datapath to key. */
export interface DatapathKeyInput {
  /** NB row uuid. */
  readonly nbUuid: string;
  /** Switch or router. */
  readonly kind: 'switch' | 'router';
  /** NB name (for warnings). */
  readonly name: string;
  /** `requested-tnl-key` (0 when absent or not a number). */
  readonly requested: number;
  /** `interconn-ts` is set (VXLAN key limits do not apply). */
  readonly interconn: boolean;
  /** Its key in the southbound database ovn-northd found, when it was bound there. */
  readonly existing: number | undefined;
}

/** A logical port to key (switch port, router port or chassis-redirect port). */
export interface PortKeyInput {
  /** Port name. */
  readonly name: string;
  /** Switch or router port (chassis-redirect ports are router ports and read the router port's `requested-tnl-key`). */
  readonly kind: 'switch' | 'router';
  /** `requested-tnl-key` of the NB row (0 when absent). */
  readonly requested: number;
  /** Its key in the southbound database, when it was bound there on the same datapath. */
  readonly existing: number | undefined;
}

/**
 * `smap_get_int(opts, "requested-tnl-key", 0)` read into a `uint32_t`, as ovn-northd reads it: the
 * whole value must be a decimal `int` (leading blanks and a sign allowed, as `strtol` does),
 * otherwise 0; a negative value wraps to 32 bits.
 */
export function requestedTnlKey(opts: ReadonlyMap<string, string>): number {
  const v = opts.get('requested-tnl-key');
  if (v === undefined) return 0;
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)$/.exec(v);
  if (!m) return 0;
  const n = Number(m[1]);
  return n >= -0x80000000 && n <= 0x7fffffff ? n >>> 0 : 0;
}

/**
 * `build_datapaths`' key assignment: returns each datapath's key (0 when the range is exhausted:
 * ovn-northd then drops the datapath). `both` and `nbOnly` are in ovn-northd's walking order.
 */
export function assignDatapathKeys(
  both: readonly DatapathKeyInput[],
  nbOnly: readonly DatapathKeyInput[],
  vxlan: boolean,
  warnings: KeyWarning[] = [],
): Map<string, number> {
  const ids = new TnlIds();
  const keys = new Map<string, number>();
  const requested = (d: DatapathKeyInput) => {
    if (!d.requested) return;
    if (!d.interconn && vxlan && d.requested >= 1 << 12) {
      warnings.push({ subject: d.name, message: `Tunnel key ${d.requested} for datapath ${d.name} is incompatible with VXLAN` });
      return;
    }
    if (ids.add(d.requested)) keys.set(d.nbUuid, d.requested);
    else {
      warnings.push({
        subject: d.name,
        message: `Logical ${d.kind} ${d.name} requests same tunnel key ${d.requested} as another logical switch or router`,
      });
    }
  };
  both.forEach(requested);
  nbOnly.forEach(requested);
  for (const d of both) {
    if (!keys.has(d.nbUuid) && d.existing !== undefined && ids.add(d.existing)) keys.set(d.nbUuid, d.existing);
  }
  const hint = { value: 0 };
  const max = vxlan ? TNL.DP_MAX_VXLAN : TNL.DP_MAX - TNL.DP_GLOBAL_NUM;
  for (const d of [...both, ...nbOnly]) {
    if (keys.has(d.nbUuid)) continue;
    const k = ids.allocate(TNL.DP_MIN, max, hint);
    if (!k) warnings.push({ subject: d.name, message: 'all datapath tunnel ids exhausted' });
    keys.set(d.nbUuid, k);
  }
  return keys;
}

/**
 * `build_ports`' key assignment for the ports of one datapath (`both` and `nbOnly` in the order
 * ovn-northd walks them). Returns each port's key (0 when the range is exhausted: ovn-northd then
 * drops the port).
 */
export function assignPortKeys(
  both: readonly PortKeyInput[],
  nbOnly: readonly PortKeyInput[],
  vxlan: boolean,
  warnings: KeyWarning[] = [],
): Map<string, number> {
  const ids = new TnlIds();
  const keys = new Map<string, number>();
  const hint = { value: 0 };
  const add = (p: PortKeyInput, k: number): boolean => {
    if (!ids.add(k)) return false;
    keys.set(p.name, k);
    if (k > hint.value) hint.value = k;
    return true;
  };
  const requested = (p: PortKeyInput) => {
    if (!p.requested) return;
    if (vxlan && p.requested >= TNL.VXLAN_MC_MIN) {
      warnings.push({ subject: p.name, message: `Tunnel key ${p.requested} for port ${p.name} is incompatible with VXLAN` });
      return;
    }
    if (!add(p, p.requested)) {
      warnings.push({
        subject: p.name,
        message: `Logical ${p.kind} port ${p.name} requests same tunnel key ${p.requested} as another LSP or LRP`,
      });
    }
  };
  both.forEach(requested);
  nbOnly.forEach(requested);
  for (const p of both) if (!keys.has(p.name) && p.existing !== undefined) add(p, p.existing);
  const max = vxlan ? TNL.PORT_MAX_VXLAN : TNL.PORT_MAX;
  for (const p of [...both, ...nbOnly]) {
    if (keys.has(p.name)) continue;
    const k = ids.allocate(1, max, hint);
    if (!k) warnings.push({ subject: p.name, message: 'all port tunnel ids exhausted' });
    keys.set(p.name, k);
  }
  return keys;
}

/**
 * ovn-northd's successive runs until the keys settle. A run writes its keys to the southbound
 * database, which wakes ovn-northd again; in the next run every row is bound (in `both`, in walking
 * order) with the key it got, so a row that lost a requested key to an already bound row in the
 * first run may now win it (rows that were new are no longer behind the bound ones). `rows` are
 * in walking order; `assign` is `assignDatapathKeys` or `assignPortKeys`. Warnings are the last
 * run's.
 */
export function settleKeys<T extends { readonly existing: number | undefined }>(
  rows: readonly T[],
  keyOf: (row: T) => string,
  bound: (row: T) => boolean,
  assign: (both: readonly T[], nbOnly: readonly T[], warnings: KeyWarning[]) => Map<string, number>,
  warnings: KeyWarning[],
): Map<string, number> {
  let both = rows.filter(bound);
  let nbOnly = rows.filter((r) => !bound(r));
  for (let run = 0; ; run++) {
    const w: KeyWarning[] = [];
    const keys = assign(both, nbOnly, w);
    const settled = nbOnly.every((r) => !keys.get(keyOf(r))) && both.every((r) => r.existing === keys.get(keyOf(r)));
    if (settled || run === 8) {
      warnings.push(...w);
      return keys;
    }
    const next = rows.map((r) => ({ ...r, existing: keys.get(keyOf(r)) || undefined }));
    both = next.filter((r) => r.existing !== undefined);
    nbOnly = next.filter((r) => r.existing === undefined);
  }
}

/** The first 32 bits of a uuid (`uuid_hash`), 0 for text that is not a uuid. */
function uuidHash(uuid: string): number {
  const n = parseInt(uuid.slice(0, 8), 16);
  return Number.isFinite(n) ? n >>> 0 : 0;
}

function byUuid<T extends { readonly uuid: string }>(a: T, b: T): number {
  return a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}

/** The order the IDL inserts the rows of one update message (an OVS shash of the uuid strings built in uuid order). */
function batchOrder<T extends { readonly uuid: string }>(rows: readonly T[]): T[] {
  return hmapOrder([...rows].sort(byUuid), (r) => ovsHashString(r.uuid, 0));
}

/**
 * The order an OVSDB IDL iterates the rows of one table that arrived in `batches` (one batch per
 * update message, in arrival order; a row deleted since is left out by the caller: the table's
 * hash map never shrinks, which this model ignores).
 */
export function idlOrder<T extends { readonly uuid: string }>(batches: readonly (readonly T[])[]): T[] {
  return hmapOrder(
    batches.flatMap((b) => batchOrder(b)),
    (r) => uuidHash(r.uuid),
  );
}

/**
 * The order ovn-northd's IDL iterates the rows of one table: rows it already knew (`known`, plus
 * `gone`: rows it knew that have been deleted since, which leave their mark on the hash table) as
 * one earlier batch, then the other rows as one batch.
 */
export function idlTableOrder<T extends { readonly uuid: string }>(
  rows: readonly T[],
  known: (row: T) => boolean,
  gone: readonly string[] = [],
): T[] {
  if (!gone.length) return idlOrder([rows.filter(known), rows.filter((r) => !known(r))]);
  // Simulate the earlier batch with the deleted rows in it, then take them out: an OVS hmap does
  // not shrink or reorder when a node is removed.
  type Slot = { readonly uuid: string; readonly row: T | undefined };
  const earlier: Slot[] = [...rows.filter(known).map((row) => ({ uuid: row.uuid, row })), ...gone.map((uuid) => ({ uuid, row: undefined }))];
  const later: Slot[] = rows.filter((r) => !known(r)).map((row) => ({ uuid: row.uuid, row }));
  return idlOrder<Slot>([earlier, later])
    .map((s) => s.row)
    .filter((r): r is T => r !== undefined);
}
