/**
 * IGMP/MLD snooping in a chassis, as ovn-controller 23.03's pinctrl does it (`controller/pinctrl.c`:
 * `ip_mcast_snoop_*`, `pinctrl_ip_mcast_handle_igmp/mld`, `ip_mcast_querier_*`, `ip_mcast_sync`)
 * on Open vSwitch 3.1's snooping table (`lib/mcast-snooping.c`).
 *
 * Design. Every local logical switch whose southbound `IP_Multicast` row enables snooping has one
 * `McastSnoopTable`: the groups in least-recently-used order, each with its member ports (logical
 * port keys) in least-recently-used order and an expiry time, and the multicast routers (ports a
 * query came from) likewise. Times are whole seconds of the chassis's clock, as OVS's `time_now()`:
 * a member expires when `expires <= now`, `idle_timeout` seconds after its last report; a router
 * port after 180 s. As in OVS, pruning walks the groups from the least recently used one and stops
 * at the first that loses nothing (`mcast_snooping_run`), and a leave removes the member at once
 * while the emptied group stays until pruned (it is not reported meanwhile).
 *
 * A packet the `igmp;` action sends to the controller updates the table of its datapath
 * (`metadata`) for its logical input port (`reg14`): IGMPv1/v2 reports join, leaves leave,
 * IGMPv3 and MLDv2 records join (a record in INCLUDE mode without sources leaves), MLDv1 reports
 * join and dones leave, queries (MLD ones from a non-zero source) mark the port a router. Bad
 * checksums are dropped with ovn-controller's warning. Reports are then re-injected towards
 * `_MC_mrouter_flood` and queries towards `_MC_flood_l2` from table 39 (`pinctrl_forward_pkt`).
 *
 * The querier (`mcast_querier` with `mcast_eth_src` and `mcast_ip4_src`/`mcast_ip6_src`) sends
 * an IGMPv3 general query (224.0.0.1, TTL 1, max response and QQIC in tenths of a second) and an
 * MLDv2 one (ff02::1 from 33:33:00:00:00:00 as OVN addresses it, hop-by-hop Router Alert, max
 * response in ms) as soon as snooping is configured and then every `mcast_query_interval`
 * seconds, into table 40 with `_MC_flood` as output port and `MLF_LOCAL_ONLY` (each chassis
 * queries its own ports).
 *
 * What the tables hold becomes the chassis's southbound `IGMP_Group` rows (`ip_mcast_sync`): one
 * per group with members (address as `ipv6_string_mapped` prints it), and one `mrouters` row per
 * snooping datapath, with the ports that resolve to port bindings of the datapath.
 */
import { formatIpv4, formatIpv6Ntop, internetChecksum, l4ChecksumV6, macToBytes, parseIpv4, parseIpv6, parseMac, setU16, setU32, u16, u32, ipv6FromBytes, ipv6ToBytes, AddressParseError } from '@ovnts/packet';
import { compileNorthd, type NbDatabase, type SbChassis, type SbDatabase, type SbDatapath, type SbIgmpGroup, type SbIpMulticast, type SbPortBinding } from '@ovnts/ovn';
import type { OfAction } from './of-actions.js';
import { MLF_BIT, OFTABLE } from './tables.js';
import { load } from './encode.js';

/** OVS `MCAST_MROUTER_PORT_IDLE_TIME`: seconds a multicast router port is remembered. */
export const MCAST_MROUTER_PORT_IDLE_TIME = 180;
/** The `IGMP_Group` address of a datapath's multicast routers row (`OVN_IGMP_GROUP_MROUTERS`). */
export const IGMP_GROUP_MROUTERS = 'mrouters';

const MC_FLOOD_KEY = 32768;
const MC_MROUTER_FLOOD_KEY = 32770;
const MC_FLOOD_L2_KEY = 32772;
const V4_MAPPED = 0xffff00000000n;
const ALL_HOSTS_V6 = 0xff020000000000000000000000000001n;

/** A member port of a group (or a router port), with its expiry in seconds. */
export interface McastBundle {
  /** Logical port key. */
  readonly port: number;
  /** When it expires (seconds). */
  expires: number;
}

/** A learnt group: its address (IPv4 mapped into IPv6) and member ports, least recently used first. */
export interface McastGroup {
  /** The group address (an IPv4 group as `::ffff:a.b.c.d`). */
  readonly addr: bigint;
  /** Member ports (logical port keys), least recently used first. */
  readonly bundles: McastBundle[];
}

function removeItem<T>(list: T[], x: T): void {
  const i = list.indexOf(x);
  if (i >= 0) list.splice(i, 1);
}

/** One datapath's snooping table (OVS `struct mcast_snooping`; see the module comment). */
export class McastSnoopTable {
  /** Member idle time in seconds (15..3600). */
  idleTime = 300;
  /** Most groups kept (10..1000000). */
  maxEntries = 2048;
  /** Groups, least recently used first. */
  readonly groups: McastGroup[] = [];
  /** Multicast router ports, least recently used first. */
  readonly mrouters: McastBundle[] = [];
  private readonly byAddr = new Map<bigint, McastGroup>();
  private needRevalidate = false;

  /** `mcast_snooping_set_idle_time`: existing members' expiries move by the difference. */
  setIdleTime(t: number): void {
    const idle = t < 15 ? 15 : t > 3600 ? 3600 : t;
    if (idle === this.idleTime) return;
    const delta = idle - this.idleTime;
    for (const g of this.groups) for (const b of g.bundles) b.expires += delta;
    this.idleTime = idle;
  }

  /** `mcast_snooping_set_max_entries`. */
  setMaxEntries(n: number): void {
    this.maxEntries = n < 10 ? 10 : n > 1_000_000 ? 1_000_000 : n;
  }

  /** Forget everything (`mcast_snooping_flush`). */
  flush(): void {
    this.groups.length = 0;
    this.mrouters.length = 0;
    this.byAddr.clear();
    this.needRevalidate = true;
  }

  /** The group of an address, if learnt. */
  lookup(addr: bigint): McastGroup | undefined {
    return this.byAddr.get(addr);
  }

  /** `mcast_snooping_add_group`: true when the group is new. */
  addGroup(addr: bigint, port: number, now: number): boolean {
    if (this.mrouters.some((m) => m.port === port)) return false;
    let learned = false;
    let g = this.byAddr.get(addr);
    if (!g) {
      if (this.byAddr.size >= this.maxEntries && this.groups.length) this.flushGroup(this.groups[0]!);
      g = { addr, bundles: [] };
      this.byAddr.set(addr, g);
      learned = true;
      this.needRevalidate = true;
    } else {
      removeItem(this.groups, g);
    }
    let b = g.bundles.find((x) => x.port === port);
    if (b) removeItem(g.bundles, b);
    else {
      b = { port, expires: 0 };
      this.needRevalidate = true;
    }
    b.expires = now + this.idleTime;
    g.bundles.push(b);
    this.groups.push(g);
    return learned;
  }

  /** `mcast_snooping_leave_group`: true when the port was a member. */
  leaveGroup(addr: bigint, port: number): boolean {
    const g = this.byAddr.get(addr);
    const b = g?.bundles.find((x) => x.port === port);
    if (!g || !b) return false;
    removeItem(g.bundles, b);
    this.needRevalidate = true;
    return true;
  }

  /** `mcast_snooping_add_mrouter`: true when the table needs revalidation. */
  addMrouter(port: number, now: number): boolean {
    let m = this.mrouters.find((x) => x.port === port);
    if (m) removeItem(this.mrouters, m);
    else {
      m = { port, expires: 0 };
      this.needRevalidate = true;
    }
    m.expires = now + MCAST_MROUTER_PORT_IDLE_TIME;
    this.mrouters.push(m);
    return this.needRevalidate;
  }

  /** `mcast_snooping_add_report`: the records of an IGMPv3 report at `l4` (up to `end`). */
  addIgmpv3Report(f: Uint8Array, l4: number, end: number, port: number, now: number): number {
    if (l4 + 8 > end) return 0;
    let ngrp = u16(f, l4 + 6);
    let o = l4 + 8;
    let count = 0;
    while (ngrp--) {
      if (o + 8 > end) break;
      const type = f[o]!;
      const aux = f[o + 1]!;
      const nsrcs = u16(f, o + 2);
      // OVS skips an unknown record type without advancing (it reads the same record again).
      if (type < 1 || type > 6) continue;
      const addr = V4_MAPPED | BigInt(u32(f, o + 4));
      const ret = nsrcs === 0 && (type === 1 || type === 3) ? this.leaveGroup(addr, port) : this.addGroup(addr, port, now);
      if (ret) count++;
      o += 8 + nsrcs * 4 + aux;
    }
    return count;
  }

  /** `mcast_snooping_add_mld`: an MLDv1 report or done, or the records of an MLDv2 report, at `l4`. */
  addMld(f: Uint8Array, l4: number, end: number, port: number, now: number): number {
    if (l4 + 8 > end) return 0;
    const type = f[l4]!;
    let ngrp = u16(f, l4 + 6);
    let o = l4 + 8;
    let count = 0;
    if (type === 131 || type === 132) {
      if (o + 16 > end) return 0;
      const addr = ipv6FromBytes(f, o);
      if (type === 131 ? this.addGroup(addr, port, now) : this.leaveGroup(addr, port)) count++;
      return count;
    }
    if (type !== 143) return 0;
    while (ngrp--) {
      if (o + 20 > end) break;
      const rtype = f[o]!;
      const aux = f[o + 1]!;
      const nsrcs = u16(f, o + 2);
      if (rtype >= 1 && rtype <= 6) {
        const addr = ipv6FromBytes(f, o + 4);
        const ret = nsrcs === 0 && (rtype === 1 || rtype === 3) ? this.leaveGroup(addr, port) : this.addGroup(addr, port, now);
        if (ret) count++;
      }
      o += 20 + nsrcs * 16 + aux;
    }
    return count;
  }

  private flushGroup(g: McastGroup): void {
    g.bundles.length = 0;
    removeItem(this.groups, g);
    this.byAddr.delete(g.addr);
    this.needRevalidate = true;
  }

  /** `mcast_snooping_prune_expired` of one group: how many members (and the group) went. */
  private prune(g: McastGroup, now: number): number {
    let expired = 0;
    while (g.bundles.length && g.bundles[0]!.expires <= now) {
      g.bundles.shift();
      expired++;
    }
    if (!g.bundles.length) {
      removeItem(this.groups, g);
      this.byAddr.delete(g.addr);
      expired++;
    }
    if (expired) this.needRevalidate = true;
    return expired;
  }

  /** `mcast_snooping_run`: age the table at `now` (seconds); true when something changed since the last run. */
  run(now: number): boolean {
    while (this.groups.length) {
      const g = this.groups[0]!;
      if (this.byAddr.size > this.maxEntries) this.flushGroup(g);
      else if (!this.prune(g, now)) break;
    }
    let gone = 0;
    while (this.mrouters.length && now >= this.mrouters[0]!.expires) {
      this.mrouters.shift();
      gone++;
    }
    if (gone) this.needRevalidate = true;
    const r = this.needRevalidate;
    this.needRevalidate = false;
    return r;
  }

  /** `mcast_snooping_wait`: when (seconds) `run` has work next; undefined when nothing will expire. */
  nextExpiry(): number | undefined {
    let t: number | undefined;
    const g = this.groups[0];
    if (g?.bundles.length) t = g.bundles[0]!.expires;
    else if (g) t = 0;
    const m = this.mrouters[0];
    if (m) t = t === undefined ? m.expires : Math.min(t, m.expires);
    return t;
  }
}

/** The snooping configuration of one datapath (`struct ip_mcast_snoop_cfg`, from its `IP_Multicast` row). */
export interface McastSnoopConfig {
  /** `enabled`. */
  readonly enabled: boolean;
  /** IGMP querier on (querier, a valid `ip4_src` and `eth_src`). */
  readonly querierV4: boolean;
  /** MLD querier on (querier, a valid `ip6_src` and `eth_src`). */
  readonly querierV6: boolean;
  /** `table_size`. */
  readonly tableSize: number;
  /** `idle_timeout` (s). */
  readonly idleTime: number;
  /** `query_interval` (s). */
  readonly queryInterval: number;
  /** `query_max_resp` (s). */
  readonly queryMaxResp: number;
  /** `seq_no`. */
  readonly seqNo: number;
  /** Query source MAC. */
  readonly ethSrc: number;
  /** IGMP query source. */
  readonly ip4Src: number;
  /** MLD query source. */
  readonly ip6Src: bigint;
  /** What ovn-controller warns about the row (an invalid address disables the querier). */
  readonly warnings: readonly string[];
}

/** `ip_mcast_snoop_cfg_load`: a datapath's configuration from its `IP_Multicast` row. */
export function mcastSnoopConfig(row: SbIpMulticast): McastSnoopConfig {
  const enabled = row.enabled === true;
  const querier = enabled && row.querier === true;
  const idleTime = row.idleTimeout ?? 300;
  const warnings: string[] = [];
  // An address that does not parse is undefined (ovn-controller logs a warning and disables that querier).
  const parsed = <T>(text: string, parse: (t: string) => T): T | undefined => {
    try {
      return text ? parse(text) : undefined;
    } catch (e) {
      if (!(e instanceof AddressParseError)) throw e;
      return undefined;
    }
  };
  const ip4 = querier ? parsed(row.ip4Src, parseIpv4) : undefined;
  const ip6 = querier ? parsed(row.ip6Src, parseIpv6) : undefined;
  const mac = querier ? parsed(row.ethSrc, parseMac) : undefined;
  let v4 = ip4 !== undefined;
  let v6 = ip6 !== undefined;
  if (querier) {
    if (row.ip4Src && !v4) warnings.push('IGMP Querier enabled with invalid IPv4 src address');
    if (row.ip6Src && !v6) warnings.push('MLD Querier enabled with invalid IPv6 src address');
    if (!v4 && !v6) warnings.push('IGMP Querier enabled without a valid IPv4 or IPv6 address');
    if (mac === undefined) {
      warnings.push('IGMP Querier enabled with invalid ETH src address');
      v4 = false;
      v6 = false;
    }
  }
  const ip4Src = ip4 ?? 0;
  const ip6Src = ip6 ?? 0n;
  const ethSrc = mac ?? 0;
  return {
    enabled,
    querierV4: v4,
    querierV6: v6,
    tableSize: row.tableSize ?? 2048,
    idleTime,
    queryInterval: row.queryInterval ?? Math.max(1, Math.floor(idleTime / 2)),
    queryMaxResp: row.queryMaxResp ?? 1,
    seqNo: row.seqNo,
    ethSrc,
    ip4Src,
    ip6Src,
    warnings,
  };
}

function sameConfig(a: McastSnoopConfig, b: McastSnoopConfig): boolean {
  return a.enabled === b.enabled && a.querierV4 === b.querierV4 && a.querierV6 === b.querierV6 && a.tableSize === b.tableSize && a.idleTime === b.idleTime &&
    a.queryInterval === b.queryInterval && a.queryMaxResp === b.queryMaxResp && a.seqNo === b.seqNo && a.ethSrc === b.ethSrc && a.ip4Src === b.ip4Src && a.ip6Src === b.ip6Src;
}

/** One datapath's snooping (`struct ip_mcast_snoop`). */
interface IpMcastSnoop {
  readonly dpKey: number;
  cfg: McastSnoopConfig;
  table: McastSnoopTable | undefined;
  /** Next query time (ms). */
  queryTimeMs: number;
}

/** A packet the snooping sends into the switch: from port CONTROLLER with these actions. */
export interface McastPacketOut {
  /** The packet. */
  readonly frame: Uint8Array;
  /** The actions (register loads, then a resubmit). */
  readonly actions: OfAction[];
}

/** What handling a packet or a timer did. */
export interface McastResult {
  /** Packets to send (a forwarded report or query, the querier's queries). */
  readonly out: McastPacketOut[];
  /** The groups changed: the chassis's `IGMP_Group` rows must be written again. */
  readonly changed: boolean;
  /** The packet was snooped (a valid IGMP or MLD message on a snooping datapath). */
  readonly snooped?: boolean;
  /** Why a packet was dropped (ovn-controller's warning), if it was. */
  readonly warning?: string;
}

/** OVS `recalc_csum16` (RFC 1624), on 16-bit values. */
function recalcCsum16(csum: number, oldV: number, newV: number): number {
  let sum = (~csum & 0xffff) + (~oldV & 0xffff) + newV;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/** The chassis's snooping (pinctrl's `mcast_snoop_map`; see the module comment). */
export class McastSnoop {
  private readonly dps = new Map<number, IpMcastSnoop>();

  /** The datapaths snooping runs on, by datapath key. */
  get datapaths(): ReadonlyMap<number, { readonly cfg: McastSnoopConfig; readonly table: McastSnoopTable | undefined }> {
    return this.dps;
  }

  /**
   * `ip_mcast_sync` + `ip_mcast_snoop_run` configuration: snooping on every local datapath with an
   * `IP_Multicast` row, reconfigured where the row changed, removed where the datapath is no longer
   * local. True when a datapath's groups were flushed or removed (the rows must be written again).
   */
  configure(rows: readonly SbIpMulticast[], local: ReadonlySet<number>, nowMs: number): boolean {
    let changed = false;
    const seen = new Set<number>();
    for (const row of rows) {
      const key = row.datapath.tunnelKey;
      if (!local.has(key)) continue;
      seen.add(key);
      const cfg = mcastSnoopConfig(row);
      const cur = this.dps.get(key);
      if (!cur) {
        const s: IpMcastSnoop = { dpKey: key, cfg, table: undefined, queryTimeMs: 0 };
        this.apply(s, cfg, nowMs, true);
        this.dps.set(key, s);
      } else if (!sameConfig(cur.cfg, cfg)) {
        if (this.apply(cur, cfg, nowMs, false)) changed = true;
      }
    }
    for (const key of [...this.dps.keys()]) {
      if (!seen.has(key)) {
        this.dps.delete(key);
        changed = true;
      }
    }
    return changed;
  }

  /** `ip_mcast_snoop_configure`; true when the groups were flushed or dropped. */
  private apply(s: IpMcastSnoop, cfg: McastSnoopConfig, nowMs: number, fresh: boolean): boolean {
    let changed = false;
    if (cfg.enabled) {
      if (!s.table) s.table = new McastSnoopTable();
      else if (!fresh && s.cfg.seqNo !== cfg.seqNo) {
        s.table.flush();
        changed = true;
      }
      if (fresh || cfg.tableSize !== s.cfg.tableSize) s.table.setMaxEntries(cfg.tableSize);
      if (fresh || cfg.idleTime !== s.cfg.idleTime) s.table.setIdleTime(cfg.idleTime);
      if (!fresh && cfg.queryInterval !== s.cfg.queryInterval && s.queryTimeMs > nowMs + cfg.queryInterval * 1000) s.queryTimeMs = nowMs;
    } else if (s.table) {
      s.table = undefined;
      changed = true;
    }
    s.cfg = cfg;
    return changed;
  }

  /**
   * `pinctrl_ip_mcast_handle`: an IGMP or MLD packet of datapath `dpKey` from logical port
   * `inPortKey`; `l3`/`l4` are its header offsets (after VLAN tags and IPv6 extension headers).
   */
  handle(frame: Uint8Array, ethType: number, l3: number, l4: number, dpKey: number, inPortKey: number, nowMs: number): McastResult {
    if (ethType !== 0x0800 && ethType !== 0x86dd) return { out: [], changed: false, warning: `IGMP action on non-IP packet (eth_type 0x${ethType.toString(16)})` };
    const s = this.dps.get(dpKey);
    if (!s || !s.cfg.enabled || !s.table) return { out: [], changed: false };
    const now = Math.floor(nowMs / 1000);
    const t = s.table;
    if (ethType === 0x0800) {
      const end = Math.min(frame.length, l3 + u16(frame, l3 + 2));
      if (l4 + 8 > end || internetChecksum(frame, l4, end - l4) !== 0) return { out: [], changed: false, warning: 'multicast snooping received bad IGMP checksum' };
      const type = frame[l4]!;
      let change = false;
      if (type === 0x12 || type === 0x16) change = t.addGroup(V4_MAPPED | BigInt(u32(frame, l4 + 4)), inPortKey, now);
      else if (type === 0x17) change = t.leaveGroup(V4_MAPPED | BigInt(u32(frame, l4 + 4)), inPortKey);
      else if (type === 0x11) change = t.addMrouter(inPortKey, now);
      else if (type === 0x22) change = t.addIgmpv3Report(frame, l4, end, inPortKey, now) > 0;
      // The handler thread runs the table after the packet (`ip_mcast_snoop_run`), which reports
      // any new member or router too; the rows are then written again (`ip_mcast_sync`).
      change = t.run(now) || change;
      const member = type === 0x12 || type === 0x16 || type === 0x22 || type === 0x17;
      const out = member ? [forward(frame, dpKey, inPortKey, MC_MROUTER_FLOOD_KEY)] : type === 0x11 ? [forward(frame, dpKey, inPortKey, MC_FLOOD_L2_KEY)] : [];
      return { out, changed: change, snooped: true };
    }
    const end = Math.min(frame.length, l3 + 40 + u16(frame, l3 + 4));
    if (l4 + 8 > end || l4ChecksumV6(frame, l4, end - l4, 58, l3) !== 0) return { out: [], changed: false, warning: 'multicast snooping received bad MLD checksum' };
    const type = frame[l4]!;
    let change = false;
    if (type === 130) {
      if (ipv6FromBytes(frame, l3 + 8) !== 0n) change = t.addMrouter(inPortKey, now);
    } else if (type === 131 || type === 132 || type === 143) change = t.addMld(frame, l4, end, inPortKey, now) > 0;
    change = t.run(now) || change;
    const out = type === 131 || type === 132 || type === 143 ? [forward(frame, dpKey, inPortKey, MC_MROUTER_FLOOD_KEY)] : type === 130 ? [forward(frame, dpKey, inPortKey, MC_FLOOD_L2_KEY)] : [];
    return { out, changed: change, snooped: true };
  }

  /**
   * The timers at `nowMs`: every table aged (`ip_mcast_snoop_run`), then the queries that are due
   * sent (`ip_mcast_querier_run`), in datapath configuration order.
   */
  due(nowMs: number): McastResult {
    const now = Math.floor(nowMs / 1000);
    let changed = false;
    const out: McastPacketOut[] = [];
    for (const s of this.dps.values()) {
      if (s.cfg.enabled && s.table && s.table.run(now)) changed = true;
    }
    for (const s of this.dps.values()) {
      if (!(s.cfg.querierV4 || s.cfg.querierV6) || nowMs < s.queryTimeMs) continue;
      if (s.cfg.querierV4) out.push(igmpQuery(s));
      if (s.cfg.querierV6) out.push(mldQuery(s));
      s.queryTimeMs = nowMs + s.cfg.queryInterval * 1000;
    }
    return { out, changed };
  }

  /** When (ms) `due` has work next: the earliest query or expiry; undefined when nothing is pending. */
  nextWakeMs(): number | undefined {
    let t: number | undefined;
    for (const s of this.dps.values()) {
      if (s.cfg.querierV4 || s.cfg.querierV6) t = t === undefined ? s.queryTimeMs : Math.min(t, s.queryTimeMs);
      const e = s.cfg.enabled ? s.table?.nextExpiry() : undefined;
      if (e !== undefined) t = t === undefined ? e * 1000 : Math.min(t, e * 1000);
    }
    return t;
  }

  /**
   * The chassis's `IGMP_Group` rows (`ip_mcast_sync`): for every snooping datapath, a row per group
   * with members and the `mrouters` row, keeping the uuids of `previous` rows of the same
   * (address, datapath, chassis).
   */
  igmpRows(sb: SbDatabase, chassis: SbChassis, previous: readonly SbIgmpGroup[]): SbIgmpGroup[] {
    const out: SbIgmpGroup[] = [];
    const dpByKey = new Map(sb.datapaths.map((d) => [d.tunnelKey, d]));
    const pbByKey = new Map<string, SbPortBinding>();
    for (const pb of sb.portBindings) if (pb.datapath) pbByKey.set(`${pb.datapath.tunnelKey}/${pb.tunnelKey}`, pb);
    const prev = new Map(previous.filter((r) => r.chassis?.name === chassis.name).map((r) => [`${r.datapath?.tunnelKey}/${r.address}`, r.uuid]));
    const row = (dp: SbDatapath, address: string, ports: readonly number[]): SbIgmpGroup => ({
      uuid: prev.get(`${dp.tunnelKey}/${address}`) ?? igmpUuid(chassis.name, dp.uuid, address),
      address,
      datapath: dp,
      chassis,
      ports: ports.map((k) => pbByKey.get(`${dp.tunnelKey}/${k}`)).filter((p): p is SbPortBinding => p !== undefined),
    });
    for (const s of this.dps.values()) {
      const dp = dpByKey.get(s.dpKey);
      if (!dp || !s.cfg.enabled || !s.table) continue;
      for (const g of s.table.groups) if (g.bundles.length) out.push(row(dp, groupAddressText(g.addr), g.bundles.map((b) => b.port)));
      out.push(row(dp, IGMP_GROUP_MROUTERS, s.table.mrouters.map((m) => m.port)));
    }
    return out;
  }
}

/** `ipv6_string_mapped`: an IPv4-mapped address as dotted IPv4, any other as `inet_ntop` prints it. */
export function groupAddressText(addr: bigint): string {
  if (addr >> 32n === 0xffffn) return formatIpv4(Number(addr & 0xffffffffn));
  return formatIpv6Ntop(addr);
}

/** A stable uuid for a chassis's IGMP_Group row. */
function igmpUuid(chassis: string, dp: string, address: string): string {
  let h = 0x811c9dc5;
  const s = `${chassis}\0${dp}\0${address}`;
  const words: number[] = [];
  for (let k = 0; k < 4; k++) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ k, 0x01000193) >>> 0;
    words.push(h);
  }
  const x = words.map((w) => w.toString(16).padStart(8, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-a${x.slice(17, 20)}-${x.slice(20, 32)}`;
}

/** `pinctrl_forward_pkt`: the packet again, from the original input port, towards `outKey` from table 39. */
function forward(frame: Uint8Array, dpKey: number, inKey: number, outKey: number): McastPacketOut {
  return {
    frame: frame.slice(),
    actions: [load(dpKey, 'metadata'), load(inKey, 'reg14'), load(outKey, 'reg15'), { type: 'resubmit', port: 0xfffd, table: OFTABLE.REMOTE_OUTPUT }],
  };
}

/** The actions of a query: the datapath, `_MC_flood`, `MLF_LOCAL_ONLY`, then table 40. */
function queryActions(dpKey: number): OfAction[] {
  return [load(dpKey, 'metadata'), load(MC_FLOOD_KEY, 'reg15'), load(1, 'reg10', MLF_BIT.LOCAL_ONLY, 1), { type: 'resubmit', port: 0xfffd, table: OFTABLE.LOCAL_OUTPUT }];
}

/** `ip_mcast_querier_send_igmp`: an IGMPv3 general query as pinctrl composes it. */
function igmpQuery(s: IpMcastSnoop): McastPacketOut {
  const b = new Uint8Array(14 + 20 + 12);
  macToBytes(0x01005e000001, b, 0);
  macToBytes(s.cfg.ethSrc, b, 6);
  setU16(b, 12, 0x0800);
  b[14] = 0x45;
  setU16(b, 16, 32);
  setU16(b, 20, 0x4000);
  b[22] = 1;
  b[23] = 2;
  setU32(b, 26, s.cfg.ip4Src);
  setU32(b, 30, 0xe0000001);
  setU16(b, 24, internetChecksum(b, 14, 20));
  // packet_set_igmp3_query on a zeroed header: the checksum follows each change incrementally.
  const maxResp = (s.cfg.queryMaxResp * 10) & 0xff;
  const qqic = maxResp;
  let csum = 0;
  const typeResp = (0x11 << 8) | maxResp;
  if (typeResp !== 0) {
    b[34] = 0x11;
    b[35] = maxResp;
    csum = recalcCsum16(csum, 0, typeResp);
  }
  if (qqic !== 0) {
    b[43] = qqic;
    csum = recalcCsum16(csum, 0, qqic);
  }
  setU16(b, 36, csum);
  return { frame: b, actions: queryActions(s.dpKey) };
}

/** `ip_mcast_querier_send_mld`: an MLDv2 general query as pinctrl composes it. */
function mldQuery(s: IpMcastSnoop): McastPacketOut {
  const b = new Uint8Array(14 + 40 + 8 + 28);
  macToBytes(0x333300000000, b, 0);
  macToBytes(s.cfg.ethSrc, b, 6);
  setU16(b, 12, 0x86dd);
  b[14] = 0x60;
  setU16(b, 18, 36);
  b[20] = 0; // hop-by-hop options
  b[21] = 1;
  ipv6ToBytes(s.cfg.ip6Src, b, 22);
  ipv6ToBytes(ALL_HOSTS_V6, b, 38);
  const ext = 54;
  b[ext] = 58;
  b[ext + 1] = 0;
  b.set([0x05, 0x02, 0x00, 0x00], ext + 2);
  const q = ext + 8;
  b[q] = 130;
  setU16(b, q + 4, (s.cfg.queryMaxResp * 1000) & 0xffff);
  b[q + 25] = s.cfg.queryMaxResp & 0xff;
  setU16(b, q + 2, l4ChecksumV6(b, q, 28, 58, 14));
  return { frame: b, actions: queryActions(s.dpKey) };
}

/**
 * ovn-northd for a cluster (`ChassisClusterOptions.northd`): our northd run on `nb` with the
 * current southbound database as its previous run, which turns the `IGMP_Group` rows into
 * multicast groups and flows (`build_mcast_groups`) and keeps every other row's keys and uuids.
 */
export function northdFor(nb: NbDatabase): (sb: SbDatabase) => SbDatabase {
  return (sb) => compileNorthd(nb, { previous: sb }).sb;
}
