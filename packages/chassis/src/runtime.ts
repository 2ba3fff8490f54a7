/**
 * What one chassis knows about itself before it builds flows: ovn-controller's "runtime data"
 * (`binding.c`, `local_data.c`, `encaps.c`, `patch.c`, the ct zone allocator of
 * `ovn-controller.c`).
 *
 * Design. From the southbound database, the chassis's own configuration (its VIFs as iface-id
 * -> OpenFlow port, bridge mappings, encap address) and where every other port is bound, it
 * decides:
 * - which ports are bound here (VIFs with a local interface, containers whose parent is here,
 *   gateway router ports pinned here, the chassisredirect ports of HA groups it leads) and which
 *   are *related* (those, plus every patch, localnet and local localport port): a logical flow
 *   tagged with an unrelated `in_out_port`, or a switch flow matching an unrelated port key, is
 *   not installed;
 * - the local datapaths: every datapath with a port bound here, and, recursively, the datapaths
 *   on the far side of their patch ports (`add_local_datapath`), with each one's localnet port;
 * - a conntrack zone for every local port and a DNAT and an SNAT zone for every local datapath,
 *   each the lowest free number from 1 in the order of ovn-controller's string set of users (a
 *   restarted ovn-controller keeps the zones it had, so real numbers differ run to run; the
 *   comparison normalises them);
 * - the OpenFlow ports: VIFs keep their numbers; tunnel ports (one per other chassis, named
 *   `ovn-<first 6 chars of its name>-0` as encaps.c names them) and the br-int side of the patch
 *   ports to mapped bridges (`patch-br-int-to-<localnet port>`) take the next numbers.
 */
import { ssetOrder, type SbChassis, type SbDatabase, type SbDatapath, type SbHaChassisGroup, type SbPortBinding } from '@ovnts/ovn';

/** A chassis's own configuration (what ovn-controller reads from its Open_vSwitch database). */
export interface ChassisConfig {
  /** Chassis name (system-id). */
  readonly name: string;
  /** Geneve endpoint address. */
  readonly encapIp: string;
  /** VIFs: logical port (iface-id) -> OpenFlow port. */
  readonly vifs: ReadonlyMap<string, number>;
  /** `ovn-bridge-mappings`: physical network -> bridge. */
  readonly bridgeMappings?: ReadonlyMap<string, string>;
  /** `ovn-chassis-mac-mappings`: physical network -> chassis MAC. */
  readonly chassisMacs?: ReadonlyMap<string, string>;
}

/** Where ports are bound and which chassis exist (what the Chassis/Port_Binding columns say). */
export interface ClusterFacts {
  /** Every chassis by name (the local one included). */
  readonly chassis: ReadonlyMap<string, { readonly name: string; readonly encapIp: string; readonly chassisMacs?: ReadonlyMap<string, string> }>;
  /** The chassis a VIF port is bound on (undefined: unbound). */
  vifChassis(lport: string): string | undefined;
  /** Chassis whose tunnels are up (BFD); undefined = all. */
  readonly activeTunnels?: ReadonlySet<string>;
}

/** A tunnel to another chassis. */
export interface ChassisTunnel {
  /** Remote chassis name. */
  readonly chassis: string;
  /** Remote encap address. */
  readonly ip: string;
  /** OpenFlow port of the tunnel on this chassis. */
  readonly ofport: number;
  /** Port name. */
  readonly name: string;
}

/** A datapath this chassis has flows for. */
export interface LocalDatapath {
  /** The datapath. */
  readonly datapath: SbDatapath;
  /** Logical switch (vs router). */
  readonly isSwitch: boolean;
  /** Its localnet port when the network is plugged here. */
  localnetPort: SbPortBinding | undefined;
  /** Patch ports to other local datapaths: local side, remote side. */
  readonly peerPorts: { local: SbPortBinding; remote: SbPortBinding }[];
  /** External ports. */
  readonly externalPorts: SbPortBinding[];
  /** Ports with additional chassis. */
  readonly multichassisPorts: SbPortBinding[];
}

/** The runtime data of one chassis. */
export interface Runtime {
  /** The chassis's configuration. */
  readonly config: ChassisConfig;
  /** Its southbound Chassis row name. */
  readonly name: string;
  /** Ports bound here (logical port name -> port binding). */
  readonly bound: Map<string, SbPortBinding>;
  /** VIF ports bound here with their OpenFlow port (containers map to their parent's). */
  readonly vifOfport: Map<string, number>;
  /** `dpkey_portkey` of related ports. */
  readonly related: Set<string>;
  /** Local datapaths by tunnel key. */
  readonly localDatapaths: Map<number, LocalDatapath>;
  /** Local logical ports (`local_lports`): every VIF's iface-id, ports bound here, localnet ports. Port groups only expand to these. */
  readonly localLports: Set<string>;
  /** Conntrack zones by user (`lport`, `<dp uuid>_dnat`, `<dp uuid>_snat`). */
  readonly ctZones: Map<string, number>;
  /** Patch ports of localnet/l2gateway ports: logical port -> OpenFlow port. */
  readonly patchOfports: Map<string, number>;
  /** Tunnels by remote chassis name. */
  readonly tunnels: Map<string, ChassisTunnel>;
  /** Port bindings by name. */
  readonly portByName: Map<string, SbPortBinding>;
  /** Every port binding by `lportKey(datapath key, port key)`. */
  readonly portByKey: Map<string, SbPortBinding>;
  /** Names of ports that are the parent of a container port. */
  readonly parents: Set<string>;
  /** The chassis a port is bound to (VIFs per the facts, gateway ports per their options/HA groups). */
  chassisOf(pb: SbPortBinding): string | undefined;
  /** `is_chassis_resident(port)` on this chassis. */
  isResident(port: string): boolean;
}

/**
 * Whether a port counts for this chassis's port groups: a local port, or a patch or vtep port
 * (ovn-controller expands port groups over `related_lports.lport_names`, which `binding.c`
 * fills with the local ports and every patch and vtep port).
 */
export function pgMember(rt: Runtime, name: string): boolean {
  if (rt.localLports.has(name)) return true;
  const t = rt.portByName.get(name)?.type;
  return t === 'patch' || t === 'vtep';
}

/** `get_unique_lport_key`. */
export function lportKey(dpKey: number, portKey: number): string {
  return `${dpKey}_${portKey}`;
}

/** The ct zone key of a datapath's NAT zone (`alloc_nat_zone_key`). */
export function natZoneKey(dp: SbDatapath, kind: 'dnat' | 'snat'): string {
  return `${dp.uuid}_${kind}`;
}

/** HA group members ordered as ovn-controller orders them (priority, then name, both descending). */
export function haOrdered(g: SbHaChassisGroup | undefined, alive?: (c: string) => boolean): SbChassis[] {
  if (!g) return [];
  return g.haChassis
    .filter((h) => h.chassis && (!alive || alive(h.chassis.name)))
    .sort((a, b) => b.priority - a.priority || (b.chassis!.name < a.chassis!.name ? -1 : b.chassis!.name > a.chassis!.name ? 1 : 0))
    .map((h) => h.chassis!);
}

/** The active chassis of an HA group (`ha_chassis_group_is_active` from every member's view). */
export function haActive(g: SbHaChassisGroup | undefined, activeTunnels?: ReadonlySet<string>): string | undefined {
  const members = g?.haChassis.filter((h) => h.chassis) ?? [];
  if (members.length === 1) return members[0]!.chassis!.name;
  return haOrdered(g, activeTunnels ? (c) => activeTunnels.has(c) : undefined)[0]?.name;
}

function haContains(g: SbHaChassisGroup | undefined, name: string): boolean {
  return !!g?.haChassis.some((h) => h.chassis?.name === name);
}

/** Where ports are bound, over a name index (`chassisOf` for any port, `isResident` for `is_chassis_resident()`). */
function lookups(portByName: ReadonlyMap<string, SbPortBinding>, facts: ClusterFacts, me: string): Pick<Runtime, 'chassisOf' | 'isResident'> {
  const chassisOf = (pb: SbPortBinding): string | undefined => {
    switch (pb.type) {
      case '':
      case 'virtual':
        if (pb.parentPort) {
          const parent = portByName.get(pb.parentPort);
          return parent ? facts.vifChassis(parent.logicalPort) : undefined;
        }
        return facts.vifChassis(pb.logicalPort);
      case 'l3gateway':
        return pb.options.get('l3gateway-chassis');
      case 'l2gateway':
        return pb.options.get('l2gateway-chassis');
      case 'chassisredirect':
      case 'external':
        return haActive(pb.haChassisGroup, facts.activeTunnels);
      default:
        return pb.chassis?.name;
    }
  };
  const isResident = (port: string): boolean => {
    const pb = portByName.get(port);
    if (!pb) return false;
    if (pb.type !== 'chassisredirect') return chassisOf(pb) === me;
    return haContains(pb.haChassisGroup, me) && haActive(pb.haChassisGroup, facts.activeTunnels) === me;
  };
  return { chassisOf, isResident };
}

/**
 * Patch the runtime data in place after some port bindings changed, when every changed binding
 * is a plain VIF (no container, not a parent) on a datapath already local or bound elsewhere,
 * and no datapath loses its last VIF bound here: then only the name and key indexes, the bound ports and their relation change, each by the
 * changed rows alone (no copy of the indexes, which hold every port of the database). Returns
 * false, having changed nothing, when a rebuild is needed. Whoever needs `rt`'s previous
 * answers must read them before.
 */
export function patchRuntime(rt: Runtime, facts: ClusterFacts, changed: readonly { before: SbPortBinding | undefined; after: SbPortBinding | undefined }[]): boolean {
  const me = rt.name;
  const plain = (p: SbPortBinding | undefined) => !p || (p.type === '' && p.parentPort === undefined && !rt.parents.has(p.logicalPort));
  for (const { before, after } of changed) {
    if (!plain(before) || !plain(after)) return false;
    if (before && after && before.logicalPort !== after.logicalPort) return false;
    // A VIF bound here whose datapath is not local yet makes new local datapaths: rebuild.
    if (after && rt.config.vifs.has(after.logicalPort) && facts.vifChassis(after.logicalPort) === me && !rt.localDatapaths.has(after.datapath.tunnelKey)) return false;
  }
  // A VIF bound here that goes away (removed, unbound, on another datapath) may have been the
  // last one making its datapath local: the local datapaths are what the remaining bound ports
  // reach, so rebuild unless another bound port stays on that datapath.
  const leaving = new Set<string>();
  const emptied = new Set<number>();
  for (const { before } of changed) {
    if (before && rt.bound.get(before.logicalPort)?.uuid === before.uuid) {
      leaving.add(before.logicalPort);
      emptied.add(before.datapath.tunnelKey);
    }
  }
  if (emptied.size) {
    for (const { after } of changed) if (after && rt.config.vifs.has(after.logicalPort) && facts.vifChassis(after.logicalPort) === me) emptied.delete(after.datapath.tunnelKey);
    for (const [name, pb] of rt.bound) if (!leaving.has(name)) emptied.delete(pb.datapath.tunnelKey);
    if (emptied.size) return false;
  }
  const { portByName, portByKey, bound, vifOfport, related } = rt;
  for (const { before } of changed) {
    if (!before) continue;
    if (portByName.get(before.logicalPort)?.uuid === before.uuid) portByName.delete(before.logicalPort);
    const k = lportKey(before.datapath.tunnelKey, before.tunnelKey);
    if (portByKey.get(k)?.uuid === before.uuid) portByKey.delete(k);
    if (bound.get(before.logicalPort)?.uuid === before.uuid) {
      bound.delete(before.logicalPort);
      vifOfport.delete(before.logicalPort);
      related.delete(k);
    }
  }
  for (const { after } of changed) {
    if (!after) continue;
    if (!portByName.has(after.logicalPort)) portByName.set(after.logicalPort, after);
    portByKey.set(lportKey(after.datapath.tunnelKey, after.tunnelKey), after);
  }
  for (const { after } of changed) {
    if (!after) continue;
    const ofport = rt.config.vifs.get(after.logicalPort);
    if (ofport === undefined || facts.vifChassis(after.logicalPort) !== me) continue;
    bound.set(after.logicalPort, after);
    vifOfport.set(after.logicalPort, ofport);
    related.add(lportKey(after.datapath.tunnelKey, after.tunnelKey));
  }
  return true;
}

/** Build a chassis's runtime data. */
export function buildRuntime(sb: SbDatabase, config: ChassisConfig, facts: ClusterFacts, previousZones?: ReadonlyMap<string, number>): Runtime {
  const me = config.name;
  const portByName = new Map<string, SbPortBinding>();
  const portByKey = new Map<string, SbPortBinding>();
  const portsOf = new Map<SbDatapath, SbPortBinding[]>();
  const parents: string[] = [];
  for (const pb of sb.portBindings) {
    if (!portByName.has(pb.logicalPort)) portByName.set(pb.logicalPort, pb);
    portByKey.set(lportKey(pb.datapath.tunnelKey, pb.tunnelKey), pb);
    if (pb.parentPort !== undefined) parents.push(pb.parentPort);
    let l = portsOf.get(pb.datapath);
    if (!l) portsOf.set(pb.datapath, (l = []));
    l.push(pb);
  }
  const { chassisOf, isResident } = lookups(portByName, facts, me);
  const rt: Runtime = {
    config,
    name: me,
    bound: new Map(),
    vifOfport: new Map(),
    related: new Set(),
    localDatapaths: new Map(),
    localLports: new Set(),
    ctZones: new Map(),
    patchOfports: new Map(),
    tunnels: new Map(),
    portByName,
    portByKey,
    parents: new Set(),
    chassisOf,
    isResident,
  };
  for (const p of parents) rt.parents.add(p);
  const localLports = rt.localLports;
  for (const iface of config.vifs.keys()) localLports.add(iface);
  const relate = (pb: SbPortBinding) => rt.related.add(lportKey(pb.datapath.tunnelKey, pb.tunnelKey));

  const addLocalDatapath = (dp: SbDatapath, depth = 0): LocalDatapath => {
    const have = rt.localDatapaths.get(dp.tunnelKey);
    if (have) return have;
    const ld: LocalDatapath = { datapath: dp, isSwitch: dp.kind === 'switch', localnetPort: undefined, peerPorts: [], externalPorts: [], multichassisPorts: [] };
    rt.localDatapaths.set(dp.tunnelKey, ld);
    if (depth >= 100) return ld;
    for (const pb of portsOf.get(dp) ?? []) {
      if (pb.type !== 'patch' && pb.type !== 'l3gateway') continue;
      const peerName = pb.options.get('peer');
      const peer = peerName === undefined ? undefined : portByName.get(peerName);
      if (!peer || !needAddPeer(pb)) continue;
      const peerLd = addLocalDatapath(peer.datapath, depth + 1);
      if (!peerLd.peerPorts.some((p) => p.local === peer)) peerLd.peerPorts.push({ local: peer, remote: pb });
      if (!ld.peerPorts.some((p) => p.local === pb)) ld.peerPorts.push({ local: pb, remote: peer });
    }
    return ld;
  };
  const needAddPeer = (pb: SbPortBinding): boolean => {
    if (pb.type === 'l3gateway') return pb.options.get('l3gateway-chassis') === me;
    if (pb.type !== 'patch') return false;
    const crp = pb.options.get('chassis-redirect-port');
    if (crp === undefined) return true;
    const pbCrp = portByName.get(crp);
    if (!pbCrp) return false;
    if (pbCrp.options.get('always-redirect') !== 'true') return true;
    return pbCrp.haChassisGroup ? haContains(pbCrp.haChassisGroup, me) : false;
  };
  const bind = (pb: SbPortBinding) => {
    rt.bound.set(pb.logicalPort, pb);
    addLocalDatapath(pb.datapath);
    relate(pb);
    localLports.add(pb.logicalPort);
  };

  const localnets: SbPortBinding[] = [];
  const externals: SbPortBinding[] = [];
  for (const pb of sb.portBindings) {
    switch (pb.type) {
      case 'patch':
      case 'vtep':
        relate(pb);
        break;
      case 'localport':
        if (config.vifs.has(pb.logicalPort)) {
          relate(pb);
          rt.vifOfport.set(pb.logicalPort, config.vifs.get(pb.logicalPort)!);
          localLports.add(pb.logicalPort);
        }
        break;
      case '':
      case 'virtual': {
        const host = pb.parentPort ?? pb.logicalPort;
        const ofport = config.vifs.get(host);
        if (ofport !== undefined && chassisOf(pb) === me && (!pb.parentPort || pb.tag !== undefined)) {
          bind(pb);
          rt.vifOfport.set(pb.logicalPort, ofport);
        }
        break;
      }
      case 'l2gateway':
      case 'l3gateway':
        if (chassisOf(pb) === me) bind(pb);
        break;
      case 'chassisredirect':
      case 'external':
        if (haContains(pb.haChassisGroup, me)) {
          if (chassisOf(pb) === me) bind(pb);
          else {
            addLocalDatapath(pb.datapath);
            relate(pb);
          }
        }
        if (pb.type === 'external') externals.push(pb);
        break;
      case 'localnet':
        localLports.add(pb.logicalPort);
        relate(pb);
        localnets.push(pb);
        break;
      default:
        break;
    }
  }

  // OpenFlow ports: VIFs keep theirs; tunnels, then patch ports, take the next numbers.
  let next = Math.max(0, ...config.vifs.values()) + 1;
  for (const c of [...facts.chassis.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (c.name === me) continue;
    rt.tunnels.set(c.name, { chassis: c.name, ip: c.encapIp, ofport: next++, name: `ovn-${c.name.slice(0, 6)}-0` });
  }
  for (const pb of localnets) {
    const network = pb.options.get('network_name');
    if (network === undefined || !config.bridgeMappings?.has(network)) continue;
    if (!rt.localDatapaths.has(pb.datapath.tunnelKey)) continue;
    rt.patchOfports.set(pb.logicalPort, next++);
    const ld = rt.localDatapaths.get(pb.datapath.tunnelKey)!;
    if (!ld.localnetPort) ld.localnetPort = pb;
  }
  for (const pb of externals) rt.localDatapaths.get(pb.datapath.tunnelKey)?.externalPorts.push(pb);

  // Conntrack zones: ports, then each local datapath's DNAT and SNAT zones, lowest free number
  // first; a user that already had a zone (a running chassis) keeps it.
  const users = [...localLports];
  for (const ld of rt.localDatapaths.values()) users.push(natZoneKey(ld.datapath, 'dnat'), natZoneKey(ld.datapath, 'snat'));
  const taken = new Set<number>();
  for (const u of users) {
    const z = previousZones?.get(u);
    if (z !== undefined) {
      rt.ctZones.set(u, z);
      taken.add(z);
    }
  }
  let zone = 1;
  for (const u of rt.ctZones.size === users.length ? [] : ssetOrder(users)) {
    if (rt.ctZones.has(u)) continue;
    while (taken.has(zone)) zone++;
    rt.ctZones.set(u, zone);
    taken.add(zone);
  }
  return rt;
}
