/**
 * The NORMAL action: OVS's MAC-learning L2 switch (ofproto-dpif-xlate.c `xlate_normal`,
 * `input_vid_is_valid`, `xvlan_input_translate`, `xvlan_output_translate`, `xbundle_includes_vlan`,
 * `xlate_normal_flood`; lib/mac-learning.c), on the injected clock, for single-interface ports
 * (no bonds, mirrors, multicast snooping or dot1q-tunnel).
 *
 * Port VLAN modes (OVS `Port` columns `tag`, `trunks`, `vlan_mode`):
 *  - no tag, no trunks: `trunk` of every VLAN (untagged frames are VLAN 0);
 *  - `tag=N`: `access` (drops tagged frames with a VID; priority-tagged VID 0 is accepted);
 *  - `trunks=[...]`: `trunk` of those VLANs (VLAN 0 is allowed only if listed);
 *  - `native-untagged`/`native-tagged` with `tag=N`: untagged frames belong to VLAN N; on output
 *    `native-untagged` strips VLAN N's tag, `native-tagged` keeps it. VLAN N is carried even when
 *    `trunks` leaves it out, VLAN 0 never (no `trunks`: every VLAN but 0), as OVS's `bundle_set`.
 * A frame's VLAN is its outer VID after input translation. Then:
 *  - frames to reserved multicast MACs (01:80:c2:00:00:0x, CDP/PVST...) are dropped unless
 *    `forwardBpdu`; frames with a VID the input port does not carry are dropped;
 *  - the source MAC is learned on (VLAN, MAC) -> input port unless it is multicast; an entry
 *    moves when the MAC appears on another port; an existing entry's age restarts;
 *  - a unicast destination with an entry is sent to that port (nothing if that is the input port),
 *    anything else is flooded to every other floodable port that carries the VLAN.
 * Output: the VLAN of the frame on that port (0 = untagged) after output translation: access ports
 * send untagged, trunks send the VLAN tagged (0 untagged), native-untagged strips its native VLAN.
 * The PCP of a tag pushed on output is the PCP of the frame's input tag (0 if it had none).
 *
 * MAC table (lib/mac-learning.c): entries expire `idleTime` seconds (default 300) after they were
 * last learned, at whole-second granularity like OVS's `time_now()`: an entry learned at second s
 * is gone once the clock reaches second s + idleTime. At most `maxEntries` (default 8192); a new MAC
 * when full evicts the least recently learned entry of the port that has the most entries (OVS's
 * "fair" eviction; ties go to the port that became the largest first).
 */
import type { Clock } from '../clock/index.js';

/** OVS `vlan_mode`. */
export type VlanMode = 'access' | 'trunk' | 'native-tagged' | 'native-untagged';

/** A port's NORMAL configuration (OVS Port `tag`, `trunks`, `vlan_mode`, Interface flood settings). */
export interface NormalPortConfig {
  /** OpenFlow port number. */
  port: number;
  /** `tag`: access VLAN, or the native VLAN of native-* modes. */
  tag?: number;
  /** `trunks`: VLANs carried (empty/undefined = all). */
  trunks?: readonly number[];
  /** `vlan_mode`; default `access` with a tag, else `trunk`. */
  vlanMode?: VlanMode;
  /** Excluded from flooding (OFPPC_NO_FLOOD). */
  noFlood?: boolean;
}

/** What to do with the frame's VLAN tag on one output. */
export type VlanAction =
  | { kind: 'none' } // the frame leaves as it came (same VID or still untagged)
  | { kind: 'pop' } // remove the tag
  | { kind: 'push'; vid: number; pcp: number } // add a tag (the frame was untagged)
  | { kind: 'set'; vid: number; pcp: number }; // rewrite the VID of the existing tag

/** One output of NORMAL. */
export interface NormalOutput {
  /** Port. */
  port: number;
  /** VLAN the frame carries there (0 = untagged). */
  vlan: number;
  /** Tag edit relative to the received frame. */
  vlanAction: VlanAction;
}

/** Why NORMAL sent nothing (or flooded), as OVS's trace says. */
export type NormalReason =
  | 'forward' | 'flood' | 'learned port is input port' | 'no input bundle' | 'disallowed VLAN' | 'reserved destination';

/** The result of NORMAL for one frame. */
export interface NormalResult {
  /** The frame's VLAN inside the switch. */
  vlan: number;
  /** Outputs in port order. */
  outputs: NormalOutput[];
  /** What happened. */
  reason: NormalReason;
}

/** A MAC table entry. */
export interface MacEntry {
  /** VLAN. */
  vlan: number;
  /** MAC (48-bit number). */
  mac: number;
  /** Port it was learned on. */
  port: number;
  /** Second (floor(ms/1000)) at which it expires. */
  expires: number;
}

/** Options of `NormalSwitch`. */
export interface NormalOptions {
  /** MAC aging time in seconds (OVS `other_config:mac-aging-time`, default 300). */
  idleTime?: number;
  /** Maximum MAC entries (OVS `other_config:mac-table-size`, default 8192). */
  maxEntries?: number;
  /** Forward frames to reserved multicast addresses (OVS `other_config:forward-bpdu`, default false). */
  forwardBpdu?: boolean;
}

const RESERVED = new Set<number>([
  ...Array.from({ length: 16 }, (_, i) => 0x0180c2000000 + i),
  0x00e02b000000, 0x00e02b000004, 0x00e02b000006, 0x01000c000000, 0x01000ccccccc, 0x01000ccccccd, 0x01000ccdcdcd,
  ...Array.from({ length: 8 }, (_, i) => 0x01000cccccc0 + i),
]);

/** OVS `eth_addr_is_reserved`. */
export function isReservedMac(mac: number): boolean {
  return RESERVED.has(mac);
}

/** Multicast (or broadcast) MAC: the group bit of the first byte. */
export function isMulticastMac(mac: number): boolean {
  return Math.floor(mac / 0x10000000000) % 2 === 1;
}

interface PortState {
  readonly port: number;
  readonly mode: VlanMode;
  readonly tag: number;
  readonly trunks: ReadonlySet<number> | null;
  /** Native-* mode without `trunks`: every VLAN but 0. */
  readonly noVlan0: boolean;
  noFlood: boolean;
  /** Entries learned on this port, least recently learned first. */
  readonly lru: Set<string>;
  /** When it last grew to its current size (for eviction ties). */
  grewAt: number;
}

/** A MAC-learning switch with OVS's NORMAL semantics (see the module comment). */
export class NormalSwitch {
  private readonly ports = new Map<number, PortState>();
  private readonly table = new Map<string, MacEntry>();
  /** Entries in learning order (least recently learned first) for aging. */
  private readonly lru = new Set<string>();
  private seq = 0;
  /** Aging time (s). */
  readonly idleTime: number;
  /** Capacity. */
  readonly maxEntries: number;
  /** Forward reserved multicast. */
  readonly forwardBpdu: boolean;
  /** Counters. */
  readonly counters = { learned: 0, expired: 0, evicted: 0, moved: 0 };

  constructor(private readonly clock: Clock, opts: NormalOptions = {}) {
    this.idleTime = opts.idleTime ?? 300;
    this.maxEntries = opts.maxEntries ?? 8192;
    this.forwardBpdu = opts.forwardBpdu ?? false;
  }

  /** Configure (or reconfigure) a port. */
  setPort(c: NormalPortConfig): void {
    const mode: VlanMode = c.vlanMode ?? (c.tag !== undefined ? 'access' : 'trunk');
    if (mode !== 'trunk' && c.tag === undefined) throw new RangeError(`port ${c.port}: vlan_mode ${mode} needs a tag`);
    const old = this.ports.get(c.port);
    let trunks: Set<number> | null = c.trunks && c.trunks.length ? new Set(c.trunks) : null;
    let noVlan0 = false;
    if ((mode === 'native-tagged' || mode === 'native-untagged') && c.tag) {
      // ofproto-dpif.c bundle_set(): a native VLAN is always trunked, VLAN 0 never.
      if (trunks) {
        trunks.add(c.tag);
        trunks.delete(0);
      } else noVlan0 = true;
    }
    this.ports.set(c.port, {
      port: c.port, mode, tag: c.tag ?? 0, trunks, noVlan0,
      noFlood: c.noFlood ?? false, lru: old?.lru ?? new Set(), grewAt: old?.grewAt ?? 0,
    });
  }

  /** Change a port's OFPPC_NO_FLOOD (PORT_MOD), keeping its VLAN settings and learned MACs. */
  setPortNoFlood(port: number, noFlood: boolean): void {
    const p = this.ports.get(port);
    if (p) p.noFlood = noFlood;
  }

  /** Remove a port and the MACs learned on it. */
  removePort(port: number): void {
    const p = this.ports.get(port);
    if (!p) return;
    for (const k of p.lru) {
      this.table.delete(k);
      this.lru.delete(k);
    }
    this.ports.delete(port);
  }

  private static key(vlan: number, mac: number): string {
    return `${vlan}/${mac}`;
  }

  private sec(now: number): number {
    return Math.floor(now / 1000);
  }

  /** OVS `mac_learning_run`: drop expired entries (and the excess over `maxEntries`). */
  age(now = this.clock.now()): number {
    const s = this.sec(now);
    let n = 0;
    for (const k of this.lru) {
      const e = this.table.get(k)!;
      if (this.table.size <= this.maxEntries && s < e.expires) break;
      this.expireEntry(k, e);
      this.counters.expired++;
      n++;
    }
    return n;
  }

  private expireEntry(k: string, e: MacEntry): void {
    this.table.delete(k);
    this.lru.delete(k);
    this.ports.get(e.port)?.lru.delete(k);
  }

  /** Look a destination up (undefined for multicast, unknown or aged-out MACs). */
  lookup(vlan: number, mac: number, now = this.clock.now()): MacEntry | undefined {
    if (isMulticastMac(mac)) return undefined;
    this.age(now);
    return this.table.get(NormalSwitch.key(vlan, mac));
  }

  /** Every entry that has not aged out at `now` (oldest learned first), like `fdb/show`. */
  entries(now = this.clock.now()): MacEntry[] {
    this.age(now);
    return [...this.lru].map((k) => this.table.get(k)!);
  }

  /** Learn `mac` on (`vlan`, `port`) (OVS `update_learning_table`); true when the table changed. */
  learn(vlan: number, mac: number, port: number, now = this.clock.now()): boolean {
    if (isMulticastMac(mac)) return false;
    this.age(now);
    const k = NormalSwitch.key(vlan, mac);
    let e = this.table.get(k);
    if (!e) {
      if (this.table.size >= this.maxEntries) this.evictFairly();
      e = { vlan, mac, port: -1, expires: 0 };
      this.table.set(k, e);
      this.counters.learned++;
    } else this.lru.delete(k);
    this.lru.add(k);
    e.expires = this.sec(now) + this.idleTime;
    const ps = this.ports.get(port);
    if (e.port !== port) {
      if (e.port >= 0) {
        this.counters.moved++;
        this.ports.get(e.port)?.lru.delete(k);
      }
      e.port = port;
      if (ps) {
        ps.lru.add(k);
        ps.grewAt = this.seq++;
      }
      return true;
    }
    if (ps) {
      ps.lru.delete(k);
      ps.lru.add(k);
    }
    return false;
  }

  private evictFairly(): void {
    let best: PortState | null = null;
    for (const p of this.ports.values()) {
      if (!p.lru.size) continue;
      if (!best || p.lru.size > best.lru.size || (p.lru.size === best.lru.size && p.grewAt < best.grewAt)) best = p;
    }
    if (!best) return;
    const k = best.lru.values().next().value as string;
    const e = this.table.get(k)!;
    this.expireEntry(k, e);
    this.counters.evicted++;
  }

  private trunks(p: PortState, vid: number): boolean {
    return p.mode !== 'access' && (p.trunks === null ? !(p.noVlan0 && vid === 0) : p.trunks.has(vid));
  }

  private inputVidValid(p: PortState, vid: number): boolean {
    switch (p.mode) {
      case 'access':
        return vid === 0;
      case 'native-tagged':
      case 'native-untagged':
        if (vid === 0) return true;
        return this.trunks(p, vid);
      case 'trunk':
        return this.trunks(p, vid);
    }
  }

  private includesVlan(p: PortState, vlan: number): boolean {
    return p.mode === 'access' ? vlan === p.tag : this.trunks(p, vlan);
  }

  private outVlan(p: PortState, vlan: number): number {
    if (p.mode === 'access') return 0;
    if (p.mode === 'native-untagged' && vlan === p.tag) return 0;
    return vlan;
  }

  /**
   * NORMAL for a frame received on `inPort` whose outer tag has VID `vlanOfPacket` (0 = untagged or
   * priority-tagged) and PCP `pcp`: learns the source (unless `learn` is false, as when tracing),
   * returns the outputs. `tagged`: the frame has an outer tag at all (a tag with VID 0 and PCP 0
   * too), so that an output without a tag pops it.
   */
  normalForward(inPort: number, vlanOfPacket: number, srcMac: number, dstMac: number, now = this.clock.now(), pcp = 0, learn = true, tagged = vlanOfPacket !== 0 || pcp !== 0): NormalResult {
    const p = this.ports.get(inPort);
    if (!p) return { vlan: 0, outputs: [], reason: 'no input bundle' };
    if (!this.inputVidValid(p, vlanOfPacket)) return { vlan: vlanOfPacket, outputs: [], reason: 'disallowed VLAN' };
    const vlan = p.mode === 'access' || (vlanOfPacket === 0 && p.mode !== 'trunk') ? p.tag : vlanOfPacket;
    if (!this.forwardBpdu && isReservedMac(dstMac)) return { vlan, outputs: [], reason: 'reserved destination' };
    if (learn) this.learn(vlan, srcMac, inPort, now);
    else this.age(now);
    const e = isMulticastMac(dstMac) ? undefined : this.table.get(NormalSwitch.key(vlan, dstMac));
    if (e) {
      if (e.port === inPort) return { vlan, outputs: [], reason: 'learned port is input port' };
      const op = this.ports.get(e.port);
      if (!op) return { vlan, outputs: [], reason: 'forward' };
      return { vlan, outputs: [this.output(op, vlan, tagged, vlanOfPacket, pcp)], reason: 'forward' };
    }
    const outputs: NormalOutput[] = [];
    const order = [...this.ports.values()].sort((a, b) => a.port - b.port);
    for (const op of order) {
      if (op.port === inPort || op.noFlood || !this.includesVlan(op, vlan)) continue;
      outputs.push(this.output(op, vlan, tagged, vlanOfPacket, pcp));
    }
    return { vlan, outputs, reason: 'flood' };
  }

  /**
   * The tag a frame leaves `op` with (OVS `xvlan_output_translate` + `xvlan_put`): none on an
   * access port or for the native VLAN of a native-untagged port, else the VLAN with the input
   * PCP; a VLAN 0 tag with PCP 0 is no tag at all (a priority tag keeps its PCP).
   */
  private output(op: PortState, vlan: number, tagged: boolean, inVid: number, pcp: number): NormalOutput {
    const out = this.outVlan(op, vlan);
    const untag = op.mode === 'access' || (op.mode === 'native-untagged' && vlan === op.tag) || (out === 0 && pcp === 0);
    let vlanAction: VlanAction;
    if (untag) vlanAction = tagged ? { kind: 'pop' } : { kind: 'none' };
    else if (!tagged) vlanAction = { kind: 'push', vid: out, pcp };
    else if (out === inVid) vlanAction = { kind: 'none' };
    else vlanAction = { kind: 'set', vid: out, pcp };
    return { port: op.port, vlan: out, vlanAction };
  }
}
