/**
 * The chassis map: which chassis each logical port is bound on. One binding per line,
 * `LPORT CHASSIS [ENCAP-IP]`; `#` starts a comment; blank lines are ignored. The encap IP may be
 * given on any line of a chassis (and must then agree on all of them). A port's OpenFlow port
 * number on its chassis is its position among that chassis's ports in the file, from 1, which is
 * also how the differential fixtures request the ports of real OVS.
 */
import { parseIpv4 } from '@ovnts/packet';
import { ChassisError } from './errors.js';

/** One chassis named by a map. */
export interface MappedChassis {
  /** Chassis name. */
  readonly name: string;
  /** Encap (underlay) IPv4 address, when the map gives one. */
  ip: string | undefined;
  /** Logical ports bound here, in file order (OpenFlow port = index + 1). */
  readonly ports: string[];
}

/** A parsed chassis map. */
export interface ChassisMap {
  /** Logical port -> chassis name. */
  readonly bindings: Map<string, string>;
  /** Chassis in order of first mention. */
  readonly chassis: Map<string, MappedChassis>;
}

/** An empty map. */
export function emptyChassisMap(): ChassisMap {
  return { bindings: new Map(), chassis: new Map() };
}

/** Parse chassis-map text (`file` names the source in error messages). */
export function parseChassisMap(text: string, file = 'chassis map'): ChassisMap {
  const map = emptyChassisMap();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const where = `${file}:${i + 1}`;
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const f = line.split(/\s+/);
    if (f.length < 2 || f.length > 3) {
      throw new ChassisError('map-syntax', `${where}: expected "LPORT CHASSIS [ENCAP-IP]", got ${JSON.stringify(raw.trim())}`);
    }
    const [lport, chassis, ip] = f as [string, string, string | undefined];
    if (ip !== undefined) {
      try {
        parseIpv4(ip);
      } catch {
        throw new ChassisError('map-syntax', `${where}: ${JSON.stringify(ip)} is not an IPv4 address`);
      }
    }
    const prev = map.bindings.get(lport);
    if (prev !== undefined) throw new ChassisError('map-conflict', `${where}: port ${lport} is already bound to chassis ${prev}`);
    let c = map.chassis.get(chassis);
    if (!c) map.chassis.set(chassis, (c = { name: chassis, ip: undefined, ports: [] }));
    if (ip !== undefined) {
      if (c.ip !== undefined && c.ip !== ip) throw new ChassisError('map-conflict', `${where}: chassis ${chassis} has encap IP ${c.ip}, not ${ip}`);
      c.ip = ip;
    }
    map.bindings.set(lport, chassis);
    c.ports.push(lport);
  });
  return map;
}

/** The map as text (one `LPORT CHASSIS [ENCAP-IP]` line per binding; the IP on the chassis's first line). */
export function formatChassisMap(map: ChassisMap): string {
  const out: string[] = [];
  for (const c of map.chassis.values()) {
    c.ports.forEach((p, i) => out.push(i === 0 && c.ip !== undefined ? `${p} ${c.name} ${c.ip}` : `${p} ${c.name}`));
  }
  return out.map((l) => `${l}\n`).join('');
}
