/**
 * From a chassis map (and optional per-chassis settings) to what each chassis needs: its own
 * configuration (VIF ports in map order from OpenFlow port 1, encap address, bridge mappings,
 * chassis MACs) and the cluster facts every chassis shares (which chassis exist and where each
 * VIF is bound). When a southbound database is given, its Chassis rows join the cluster too
 * (their first encap address; `ovn-bridge-mappings` and `ovn-chassis-mac-mappings` from
 * `other_config`), so tunnels lead to every chassis ovn-controller would see. A chassis named
 * nowhere with an address gets 192.168.0.N, N its position among the chassis (from 1).
 */
import { parseIpv4 } from '@ovnts/packet';
import type { SbDatabase } from '@ovnts/ovn';
import type { ChassisMap } from './chassis-map.js';
import { ChassisError } from './errors.js';
import type { ChassisConfig, ClusterFacts } from './runtime.js';

/** Optional settings of one chassis. */
export interface ChassisSettings {
  /** Encap (Geneve endpoint) IPv4 address; overrides the map's. */
  readonly encapIp?: string;
  /** Underlay MAC of the chassis (default `aa:55:` + the address bytes, as the test oracle sets it). */
  readonly mac?: string;
  /** `ovn-bridge-mappings` as `network:bridge[,network:bridge]`, or a map. */
  readonly bridgeMappings?: string | ReadonlyMap<string, string>;
  /** `ovn-chassis-mac-mappings` as `network:MAC[,...]`, or a map. */
  readonly chassisMacs?: string | ReadonlyMap<string, string>;
}

/** A resolved chassis: its configuration and underlay identity. */
export interface ClusterMember extends ChassisConfig {
  /** Underlay MAC. */
  readonly mac: string;
}

/** The configuration of every chassis of a cluster. */
export interface ClusterConfig {
  /** The chassis in map order (then any only named in the settings). */
  readonly members: ClusterMember[];
  /** Facts shared by all chassis. */
  readonly facts: ClusterFacts;
}

/** The default underlay MAC of an encap address (`aa:55:` + its four bytes). */
export function defaultUnderlayMac(ip: string): string {
  const v = parseIpv4(ip);
  return ['aa', '55', ...[24, 16, 8, 0].map((s) => ((v >>> s) & 0xff).toString(16).padStart(2, '0'))].join(':');
}

function pairs(text: string | ReadonlyMap<string, string> | undefined, what: string): Map<string, string> | undefined {
  if (text === undefined) return undefined;
  if (typeof text !== 'string') return new Map(text);
  const m = new Map<string, string>();
  for (const tok of text.split(',').map((t) => t.trim()).filter((t) => t)) {
    const i = tok.indexOf(':');
    if (i <= 0) throw new ChassisError('bad-config', `${what}: ${JSON.stringify(tok)} is not NAME:VALUE`);
    m.set(tok.slice(0, i), tok.slice(i + 1));
  }
  return m;
}

/** Resolve a cluster from a chassis map and per-chassis settings. */
export function clusterConfig(map: ChassisMap, settings: Readonly<Record<string, ChassisSettings>> = {}, sb?: SbDatabase): ClusterConfig {
  const names = [...map.chassis.keys()];
  for (const n of Object.keys(settings)) if (!names.includes(n)) names.push(n);
  const sbChassis = new Map((sb?.chassis ?? []).map((c) => [c.name, c]));
  for (const n of sbChassis.keys()) if (!names.includes(n)) names.push(n);
  const members: ClusterMember[] = names.map((name, i) => {
    const mc = map.chassis.get(name);
    const row = sbChassis.get(name);
    const s: ChassisSettings = {
      ...(row?.otherConfig.get('ovn-bridge-mappings') ? { bridgeMappings: row.otherConfig.get('ovn-bridge-mappings')! } : {}),
      ...(row?.otherConfig.get('ovn-chassis-mac-mappings') ? { chassisMacs: row.otherConfig.get('ovn-chassis-mac-mappings')! } : {}),
      ...(settings[name] ?? {}),
    };
    const encapIp = s.encapIp ?? mc?.ip ?? row?.encaps[0]?.ip ?? `192.168.0.${i + 1}`;
    try {
      parseIpv4(encapIp);
    } catch {
      throw new ChassisError('bad-config', `chassis ${name}: encap IP ${JSON.stringify(encapIp)} is not an IPv4 address`);
    }
    const vifs = new Map<string, number>((mc?.ports ?? []).map((p, k) => [p, k + 1]));
    const bridgeMappings = pairs(s.bridgeMappings, `chassis ${name} bridge mappings`);
    const chassisMacs = pairs(s.chassisMacs, `chassis ${name} chassis MACs`);
    return {
      name,
      encapIp,
      vifs,
      mac: s.mac ?? defaultUnderlayMac(encapIp),
      ...(bridgeMappings ? { bridgeMappings } : {}),
      ...(chassisMacs ? { chassisMacs } : {}),
    };
  });
  const byName = new Map(members.map((m) => [m.name, { name: m.name, encapIp: m.encapIp, ...(m.chassisMacs ? { chassisMacs: m.chassisMacs } : {}) }]));
  return { members, facts: { chassis: byName, vifChassis: (lport) => map.bindings.get(lport) } };
}
