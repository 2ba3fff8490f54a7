/**
 * Locating the shared oracle scripts (`ovs-sandbox`, `ovn-sandbox`) that start private Open
 * vSwitch / OVN daemons for differential tests. They live in `shared/oracles/` beside the
 * repository (CI lays `shared/` next to its clone); `OVNTS_SHARED` overrides the location.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decide, hasTool, type Requirement } from './env.js';

/** The repository root (the folder holding pnpm-workspace.yaml). */
export const repoRoot: string = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'pnpm-workspace.yaml'))) {
    const up = dirname(d);
    if (up === d) return process.cwd();
    d = up;
  }
  return d;
})();

/** The path of a shared oracle script, or undefined when none is found. */
export function oracleScript(name: 'ovs-sandbox' | 'ovn-sandbox'): string | undefined {
  const candidates = [
    process.env.OVNTS_SHARED && join(process.env.OVNTS_SHARED, 'oracles', name),
    resolve(repoRoot, '..', 'shared', 'oracles', name),
    join('/work/shared/oracles', name),
  ].filter((x): x is string => !!x);
  return candidates.find((c) => existsSync(c));
}

/**
 * Require an oracle: its sandbox script and the tools it starts. Skips locally with a printed
 * reason when either is missing; under CI never skips (the test then fails, naming what is missing).
 */
export function requireOracle(what: string, name: 'ovs-sandbox' | 'ovn-sandbox', tools: string[], hint: string): Requirement & { script: string } {
  const script = oracleScript(name);
  const missing = tools.filter((t) => !hasTool(t)).map((t) => `${t} (${hint})`);
  if (!script) missing.push(`shared/oracles/${name} (set OVNTS_SHARED to the folder holding oracles/)`);
  const r = decide(what, missing);
  return { ...r, script: script ?? `shared/oracles/${name}` };
}
