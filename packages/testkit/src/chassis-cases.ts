/**
 * The chassis differential cases (fixtures/chassis/cases/NAME.sh + NAME.map): a northbound
 * network, the chassis that run it and where each logical port is bound.
 *
 * A case script is `ovn-nbctl` commands with a comment header:
 * - `# chassis NAME IP [key=value ...]` one per chassis (`bridge-mappings=...` is
 *   `ovn-bridge-mappings`; any other key is an `Open_vSwitch` external id);
 * - `# include northd/CASE` runs fixtures/northd/cases/CASE.sh first;
 * - `# nbgen NxP` applies the OVN-Kubernetes-shaped network of `ovnkNbctlArgs` first.
 *
 * NAME.map is a chassis map (`LPORT CHASSIS [ENCAP-IP]`, see `@ovnts/chassis`): each port becomes a
 * VIF named after the port, with OpenFlow port number = its position on its chassis, from 1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChassisMap, type ChassisMap } from '@ovnts/chassis';
import { ovnkNbctlArgs } from './nbgen.js';
import { repoRoot } from './oracles.js';
import type { OvnChassisSpec, OvnCluster } from './ovn-cluster.js';
import { OvsOracleError } from './ovs.js';

/** Folder of the chassis fixtures. */
export const CHASSIS_FIXTURES = join(repoRoot, 'fixtures', 'chassis');

/** One case, read. */
export interface ChassisCase {
  /** Case name. */
  readonly name: string;
  /** The header's first comment lines (what it covers). */
  readonly description: string;
  /** The chassis, with their VIFs from the map. */
  readonly chassis: OvnChassisSpec[];
  /** The bindings. */
  readonly map: ChassisMap;
  /** The shell text of the NB commands (includes resolved). */
  readonly script: string;
  /** `ovn-nbctl` arguments of one transaction applied before the script (nbgen), if any. */
  readonly nbctlArgs: string[] | undefined;
}

/** Names of the cases. */
export function chassisCaseNames(dir = join(CHASSIS_FIXTURES, 'cases')): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.sh')).map((f) => f.slice(0, -3)).sort();
}

/** Read one case. */
export function readChassisCase(name: string, dir = join(CHASSIS_FIXTURES, 'cases')): ChassisCase {
  const text = readFileSync(join(dir, `${name}.sh`), 'utf8');
  const map = parseChassisMap(readFileSync(join(dir, `${name}.map`), 'utf8'), `${name}.map`);
  const chassis: OvnChassisSpec[] = [];
  const desc: string[] = [];
  let script = '';
  let nbctlArgs: string[] | undefined;
  let inHeader = true;
  for (const line of text.split('\n')) {
    const m = /^#\s*(chassis|include|nbgen)\s+(.*)$/.exec(line);
    if (m) {
      const arg = m[2]!.trim();
      if (m[1] === 'chassis') {
        const [cname, ip, ...kv] = arg.split(/\s+/);
        const ext: Record<string, string> = {};
        let bridgeMappings: string | undefined;
        for (const p of kv) {
          const eq = p.indexOf('=');
          if (p.slice(0, eq) === 'bridge-mappings') bridgeMappings = p.slice(eq + 1);
          else ext[p.slice(0, eq)] = p.slice(eq + 1);
        }
        const ports = map.chassis.get(cname!)?.ports ?? [];
        chassis.push({ name: cname!, ip: ip!, bridgeMappings, externalIds: ext, vifs: ports.map((p, i) => ({ iface: p, lport: p, ofport: i + 1 })) });
      } else if (m[1] === 'include') {
        const [sub, cname] = arg.split('/');
        script += readFileSync(join(repoRoot, 'fixtures', sub!, 'cases', `${cname}.sh`), 'utf8') + '\n';
      } else {
        const [n, p] = arg.split('x').map(Number);
        nbctlArgs = ovnkNbctlArgs({ nodes: n!, pods: p! });
      }
      continue;
    }
    if (inHeader && line.startsWith('#')) {
      desc.push(line.replace(/^#\s?/, ''));
      continue;
    }
    inHeader = false;
    script += line + '\n';
  }
  for (const c of map.chassis.keys()) {
    if (!chassis.some((s) => s.name === c)) throw new OvsOracleError('case', `${name}.map binds ports to chassis ${c}, which the case does not declare`);
  }
  return { name, description: desc.join(' '), chassis, map, script, nbctlArgs };
}

/** Apply a case's northbound network to a running cluster and wait until every chassis has its flows. */
export async function applyChassisCase(cluster: OvnCluster, c: ChassisCase): Promise<void> {
  if (c.nbctlArgs) await cluster.nbctl(...c.nbctlArgs);
  if (c.script.trim()) await cluster.sh(c.script);
  await cluster.sync();
}
