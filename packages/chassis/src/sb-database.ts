/**
 * A chassis's southbound view taken from a live OVN_Southbound database (a real ovsdb-server,
 * standalone or a Raft cluster), and the rows the chassis owns there, written as ovn-controller
 * writes them: the `SouthboundSource` of `ovnts chassis-run --sb tcp:A,tcp:B,tcp:C`.
 *
 * Design. An `OvsdbFollower` (@ovnts/ovsdb) keeps a replica of the database over
 * `monitor_cond_since` on any connected member of the cluster (ovn-controller sets
 * `leader_only` false for the southbound database; `leaderOnly` asks for the leader), moving to
 * the next member when its server dies or leaves the cluster and resuming from the last
 * transaction it saw. Every update becomes a new southbound model (`sbFromRaw` of the replica's
 * live raw view, which the replica keeps up to date row by row, so nothing is copied) handed to the
 * host (`follow`), which brings its tables to it, and then the chassis's own rows are
 * reconciled with what it wants, as ovn-controller's main loop does after each change:
 *
 * - `Chassis` (name, hostname, `encaps`), its `Encap` (geneve, the encap IP, `csum=true`) and
 *   `Chassis_Private` (name, chassis) exist and are current;
 * - each of its VIFs (the logical ports whose OVS interfaces carry `iface-id`, here `vifs`) that
 *   has a VIF `Port_Binding` not requested elsewhere (`options:requested-chassis`) is claimed
 *   (`chassis` set to this chassis); once the claim is back in the replica and a host follows
 *   the database (so it has installed the port's flows), `up` is set to true (ovn-northd then sets the northbound
 *   port's `up`), in two steps as ovn-controller does;
 * - a VIF binding held by this chassis for a port it no longer has is released;
 * - `Chassis_Private.nb_cfg` follows `SB_Global.nb_cfg` once the host's tables reflect the
 *   database, so `ovn-nbctl --wait=hv` returns when every chassis has the change.
 *
 * Writes that fail because the connection dropped are retried on the next update or
 * reconnection (the reconciliation is idempotent; inserts are guarded by a `wait` for no row of
 * the name, so a view behind the chassis's own last write cannot add a row twice). Rows the chassis learnt (pinctrl's MAC
 * bindings and FDB entries) are written to `MAC_Binding` and `FDB` as ovn-controller writes them
 * (updating the row of the same port and IP, or MAC and datapath); the other chassis get them as
 * database updates, so nothing needs relaying.
 *
 * As ovn-controller, the servers are tried in a random order (`shuffleRemotes: false`: in the
 * order given) and probed for inactivity over TCP (`probeIntervalMs`, default 5 s). Difference
 * from ovn-controller: on stop, the chassis's rows stay (as after ovn-controller is stopped with
 * `--restart`).
 */
import type { SbDatabase } from '@ovnts/ovn';
import { sbFromRaw } from '@ovnts/ovn';
import { OvsdbConnectionError, OvsdbFollower, type FollowerEvent } from '@ovnts/ovsdb';
import type { ChassisMap } from './chassis-map.js';
import { clusterConfig, type ClusterConfig } from './cluster-config.js';
import type { LearntRow } from './cluster.js';
import { ChassisError } from './errors.js';
import type { SouthboundSource } from './sb-source.js';

const SB = 'OVN_Southbound';

/** Settings of a database-backed southbound source. */
export interface DatabaseSouthboundOptions {
  /** The servers (`tcp:HOST:PORT` or `unix:PATH`; the members of a cluster). */
  readonly remotes: readonly string[];
  /** This chassis's name (its system-id). */
  readonly chassis: string;
  /** Its Geneve encap IPv4 address (`ovn-encap-ip`). */
  readonly encapIp: string;
  /** `Chassis.hostname` (default: the chassis name). */
  readonly hostname?: string;
  /** The logical ports this chassis hosts, in OpenFlow port order from 1. */
  readonly vifs: readonly string[];
  /** Only follow the cluster's leader (default false, as ovn-controller). */
  readonly leaderOnly?: boolean;
  /** Try the remotes in a random order (default true, as ovn-controller; false: in the order given). */
  readonly shuffleRemotes?: boolean;
  /** Inactivity probe interval in ms (0: none; default 5000 over TCP, as `ovn-remote-probe-interval`). */
  readonly probeIntervalMs?: number;
  /** Connection and claim events. */
  readonly onEvent?: (e: DatabaseSouthboundEvent) => void;
  /** A write that failed for a reason other than a lost connection. */
  readonly onError?: (e: Error) => void;
}

/** What a database-backed source reports. */
export type DatabaseSouthboundEvent =
  | FollowerEvent
  | { readonly kind: 'registered'; readonly chassis: string; readonly encapIp: string }
  | { readonly kind: 'claimed' | 'up' | 'released'; readonly ports: readonly string[] };

/**
 * The chassis map a southbound database implies: VIF ports bound to the chassis its
 * `Port_Binding.chassis` names (in database order), with `local` (a chassis running here and its
 * VIFs, in OpenFlow port order) taking the ports it hosts whatever they are bound to now.
 */
export function southboundChassisMap(sb: SbDatabase, local?: { readonly name: string; readonly encapIp?: string; readonly vifs: readonly string[] }): ChassisMap {
  const map: ChassisMap = { bindings: new Map(), chassis: new Map() };
  const bind = (lport: string, chassis: string) => {
    let c = map.chassis.get(chassis);
    if (!c) map.chassis.set(chassis, (c = { name: chassis, ip: undefined, ports: [] }));
    c.ports.push(lport);
    map.bindings.set(lport, chassis);
  };
  if (local) {
    map.chassis.set(local.name, { name: local.name, ip: local.encapIp, ports: [] });
    const vifPorts = new Set(sb.portBindings.filter((p) => p.type === '').map((p) => p.logicalPort));
    for (const v of local.vifs) if (vifPorts.has(v) && !map.bindings.has(v)) bind(v, local.name);
  }
  for (const pb of sb.portBindings) {
    if (pb.type !== '' || !pb.chassis || map.bindings.has(pb.logicalPort)) continue;
    if (local && pb.chassis.name === local.name) continue;
    bind(pb.logicalPort, pb.chassis.name);
  }
  return map;
}

/** A chassis's southbound view and rows in a live OVN_Southbound database; see the module comment. */
export class DatabaseSouthbound implements SouthboundSource {
  private readonly changeHandlers = new Set<(sb: SbDatabase) => void>();
  private current: SbDatabase;
  private reconciling = false;
  private again = false;
  private closed = false;

  private constructor(
    private readonly follower: OvsdbFollower,
    private readonly opts: DatabaseSouthboundOptions,
  ) {
    this.current = sbFromRaw(follower.rawDb());
    follower.onEvent((e) => opts.onEvent?.(e));
    follower.onUpdate(() => {
      try {
        this.current = sbFromRaw(follower.rawDb());
      } catch (e) {
        // A database the model refuses (SbError names the row): keep the last good one.
        if (!(e instanceof Error) || e.name === 'Error') throw e;
        opts.onError?.(e);
        return;
      }
      for (const h of this.changeHandlers) h(this.current);
      void this.reconcile();
    });
  }

  /** Connect to the first qualifying server, register the chassis and claim its ports (the first round). */
  static async connect(opts: DatabaseSouthboundOptions): Promise<DatabaseSouthbound> {
    if (!opts.remotes.length) throw new ChassisError('bad-config', 'a southbound database needs at least one remote');
    let follower: OvsdbFollower;
    try {
      follower = await OvsdbFollower.start(opts.remotes, SB, {
        ...(opts.leaderOnly ? { leaderOnly: true } : {}),
        ...(opts.shuffleRemotes === false ? { shuffle: false } : {}),
        ...(opts.probeIntervalMs !== undefined ? { probeIntervalMs: opts.probeIntervalMs } : {}),
      });
    } catch (e) {
      throw new ChassisError('transport', `southbound ${opts.remotes.join(',')}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const s = new DatabaseSouthbound(follower, opts);
    opts.onEvent?.({ kind: 'connected', remote: follower.remote, resumed: false });
    await s.reconcile();
    return s;
  }

  /** See `SouthboundSource.name`: the remote list. */
  get name(): string {
    return this.opts.remotes.join(',');
  }

  /** The server followed now. */
  get remote(): string {
    return this.follower.remote;
  }

  /** See `SouthboundSource.load`: the database as replicated now. */
  load(): SbDatabase {
    return this.current;
  }

  /** This chassis's cluster configuration for database `sb` (its VIFs, remote bindings and encaps from the database). */
  config(sb: SbDatabase): ClusterConfig {
    const o = this.opts;
    return clusterConfig(southboundChassisMap(sb, { name: o.chassis, encapIp: o.encapIp, vifs: o.vifs }), { [o.chassis]: { encapIp: o.encapIp } }, sb);
  }

  /** See `SouthboundSource.follow`. */
  follow(onChange: (sb: SbDatabase) => void): void {
    this.changeHandlers.add(onChange);
    void this.reconcile();
  }

  /** See `SouthboundSource.publish`: a MAC binding or FDB entry written to the database. */
  publish(row: LearntRow, _chassis: string): void {
    const ops: unknown[] = [];
    const mb = row.macBinding;
    if (mb && mb.datapath) {
      const same = this.current.macBindings.find((m) => m.logicalPort === mb.logicalPort && m.ip === mb.ip);
      const cols = { mac: mb.mac, timestamp: mb.timestamp };
      ops.push(
        same
          ? { op: 'update', table: 'MAC_Binding', where: [['_uuid', '==', ['uuid', same.uuid]]], row: cols }
          : { op: 'insert', table: 'MAC_Binding', row: { ...cols, logical_port: mb.logicalPort, ip: mb.ip, datapath: ['uuid', mb.datapath.uuid] } },
      );
    }
    const f = row.fdb;
    if (f) {
      const same = this.current.fdb.find((x) => x.mac === f.mac && x.dpKey === f.dpKey);
      ops.push(
        same
          ? { op: 'update', table: 'FDB', where: [['_uuid', '==', ['uuid', same.uuid]]], row: { port_key: f.portKey } }
          : { op: 'insert', table: 'FDB', row: { mac: f.mac, dp_key: f.dpKey, port_key: f.portKey } },
      );
    }
    if (ops.length) void this.write(ops);
  }

  /** See `SouthboundSource.subscribe`: rows learnt elsewhere arrive with the database (`follow`). */
  subscribe(_onRow: (row: LearntRow) => void): void {}

  /** Stop following (the chassis's rows stay). */
  close(): void {
    this.closed = true;
    this.follower.close();
  }

  /** Run `reconcileOnce` until nothing asked for another round meanwhile; one round at a time. */
  private async reconcile(): Promise<void> {
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = true;
    try {
      do {
        this.again = false;
        await this.reconcileOnce();
      } while (this.again && !this.closed);
    } finally {
      this.reconciling = false;
    }
  }

  /** One transaction bringing this chassis's rows to what it wants (nothing when they are). */
  private async reconcileOnce(): Promise<void> {
    const o = this.opts;
    const sb = this.current;
    const ops: unknown[] = [];
    const events: DatabaseSouthboundEvent[] = [];
    let me: unknown;
    const ch = sb.chassis.find((c) => c.name === o.chassis);
    const encapOk = ch !== undefined && ch.encaps.length === 1 && ch.encaps[0]!.ip === o.encapIp && ch.encaps[0]!.type === 'geneve';
    const encap = { op: 'insert', table: 'Encap', 'uuid-name': 'encap', row: { type: 'geneve', ip: o.encapIp, chassis_name: o.chassis, options: ['map', [['csum', 'true']]] } };
    // Inserts are guarded (`wait` for no row of that name): a view that is behind our own last
    // write aborts the transaction instead of adding a second row; the next round sees the row.
    const absent = (table: string) => ({ op: 'wait', table, timeout: 0, where: [['name', '==', o.chassis]], columns: ['name'], until: '==', rows: [] });
    if (!ch) {
      ops.push(absent('Chassis'), encap, { op: 'insert', table: 'Chassis', 'uuid-name': 'me', row: { name: o.chassis, hostname: o.hostname ?? o.chassis, encaps: ['named-uuid', 'encap'] } });
      me = ['named-uuid', 'me'];
    } else {
      me = ['uuid', ch.uuid];
      if (!encapOk) ops.push(encap, { op: 'update', table: 'Chassis', where: [['_uuid', '==', me]], row: { encaps: ['named-uuid', 'encap'] } });
    }
    if (!ch || !encapOk) events.push({ kind: 'registered', chassis: o.chassis, encapIp: o.encapIp });
    // nb_cfg: the northbound sequence number whose southbound state this chassis's tables now
    // reflect (what `ovn-nbctl --wait=hv` waits for). Only once a host follows the database:
    // the reconciliation runs after it has brought its tables to `sb`.
    const installed = this.changeHandlers.size > 0;
    const priv = sb.chassisPrivate.find((p) => p.name === o.chassis);
    const cfg = installed ? { nb_cfg: sb.global.nbCfg, nb_cfg_timestamp: Date.now() } : {};
    if (!priv) ops.push(absent('Chassis_Private'), { op: 'insert', table: 'Chassis_Private', row: { name: o.chassis, chassis: me, ...cfg } });
    else if (installed && priv.nbCfg !== sb.global.nbCfg) ops.push({ op: 'update', table: 'Chassis_Private', where: [['_uuid', '==', ['uuid', priv.uuid]]], row: cfg });

    const vifs = new Set(o.vifs);
    const claimed: string[] = [];
    const up: string[] = [];
    const released: string[] = [];
    for (const pb of sb.portBindings) {
      if (pb.type !== '') continue;
      const where = [['_uuid', '==', ['uuid', pb.uuid]]];
      const mine = pb.chassis?.name === o.chassis;
      if (vifs.has(pb.logicalPort)) {
        const requested = pb.options.get('requested-chassis');
        if (requested && requested !== o.chassis && requested !== (o.hostname ?? o.chassis)) continue;
        if (!mine) {
          ops.push({ op: 'update', table: 'Port_Binding', where, row: { chassis: me } });
          claimed.push(pb.logicalPort);
        } else if (pb.up !== true && installed) {
          ops.push({ op: 'update', table: 'Port_Binding', where, row: { up: true } });
          up.push(pb.logicalPort);
        }
      } else if (mine) {
        ops.push({ op: 'update', table: 'Port_Binding', where, row: { chassis: ['set', []], up: false } });
        released.push(pb.logicalPort);
      }
    }
    if (!ops.length) return;
    if (!(await this.write(ops))) return;
    if (claimed.length) events.push({ kind: 'claimed', ports: claimed });
    if (up.length) events.push({ kind: 'up', ports: up });
    if (released.length) events.push({ kind: 'released', ports: released });
    for (const e of events) o.onEvent?.(e);
  }

  /** One transaction; false when it did not commit (a lost connection is left to the next round). */
  private async write(ops: unknown[]): Promise<boolean> {
    try {
      const r = await this.follower.transact(...ops);
      const err = r.find((x) => typeof x === 'object' && x !== null && 'error' in x) as { error: string; details?: string } | undefined;
      if (!err) return true;
      if (err.error === 'timed out') return false;
      this.opts.onError?.(new ChassisError('transport', `southbound transaction failed: ${err.error}${err.details ? ` (${err.details})` : ''}`));
      return false;
    } catch (e) {
      if (e instanceof OvsdbConnectionError) return false;
      if (e instanceof Error) this.opts.onError?.(e);
      return false;
    }
  }
}
