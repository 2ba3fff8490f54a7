/**
 * Test helpers: the chassis fixture cases (fixtures/chassis) as chassis configurations, and the
 * comparison of our tables with a real ovn-controller dump under the documented normalisation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSbFile, type SbDatabase } from '@ovnts/ovn';
import { CHASSIS_FIXTURES, diffFlowDumps, normalizeChassisDump, readChassisCase, type ChassisCase } from '@ovnts/testkit';
import { clusterConfig, computeChassisTables, dumpFlows, dumpGroups, type ChassisSettings, type ChassisTables, type ClusterConfig } from '@ovnts/chassis';

/** The settings a case's `# chassis` header lines give. */
export function caseSettings(c: ChassisCase): Record<string, ChassisSettings> {
  const out: Record<string, ChassisSettings> = {};
  for (const s of c.chassis) {
    const macs = s.externalIds?.['ovn-chassis-mac-mappings'];
    out[s.name] = { encapIp: s.ip, ...(s.bridgeMappings ? { bridgeMappings: s.bridgeMappings } : {}), ...(macs ? { chassisMacs: macs } : {}) };
  }
  return out;
}

/** A case with its southbound database (the real one ovn-northd wrote) and cluster configuration. */
export interface LoadedCase {
  readonly c: ChassisCase;
  readonly sb: SbDatabase;
  readonly cluster: ClusterConfig;
}

/** Load a case from `dir` (default fixtures/chassis). */
export function loadCase(name: string, dir = CHASSIS_FIXTURES): LoadedCase {
  const c = readChassisCase(name);
  const sb = loadSbFile(join(dir, `${name}.sb.db`));
  return { c, sb, cluster: clusterConfig(c.map, caseSettings(c)) };
}

/** Our tables of one chassis of a loaded case. */
export function ourTables(l: LoadedCase, chassis: string): ChassisTables {
  const m = l.cluster.members.find((x) => x.name === chassis);
  if (!m) assert.fail(`no chassis ${chassis}`);
  return computeChassisTables(l.sb, m, l.cluster.facts);
}

/** The port names ovn-controller gives tunnel and patch ports, by OpenFlow port, for our tables. */
export function ourPortNames(t: ChassisTables): Map<number, string> {
  const m = new Map<number, string>();
  for (const x of t.rt.tunnels.values()) m.set(x.ofport, x.name);
  for (const [lp, of] of t.rt.patchOfports) m.set(of, `patch-br-int-to-${lp}`);
  return m;
}

/** Read a real dump of a case's chassis: flow lines, group lines, port names. */
export function realDump(dir: string, name: string, chassis: string): { flows: string[]; groups: string[]; ports: Map<number, string> } {
  const lines = (f: string) => readFileSync(join(dir, `${name}.${chassis}.${f}`), 'utf8').split('\n').filter((l) => l);
  const ports = new Map(lines('tunnels').map((l) => {
    const [p, n] = l.split(' ');
    return [Number(p), n!] as [number, string];
  }));
  return { flows: lines('flows'), groups: lines('groups'), ports };
}

/** Normalised comparison of our tables with a real dump: lines only in the real one, only in ours. */
export function compareWithReal(t: ChassisTables, real: { flows: string[]; groups: string[]; ports: Map<number, string> }): { missing: string[]; extra: string[]; total: number } {
  const a = normalizeChassisDump(real.flows, real.groups, { tunnelPorts: real.ports });
  const b = normalizeChassisDump(dumpFlows(t.flows), dumpGroups(t.groups), { tunnelPorts: ourPortNames(t) });
  const d = diffFlowDumps([...a.flows, ...a.groups], [...b.flows, ...b.groups]);
  return { missing: d.onlyA, extra: d.onlyB, total: a.flows.length + a.groups.length };
}
