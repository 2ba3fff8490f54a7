/**
 * The differential cases (fixtures/northd/cases/NAME.sh) and what we claim for each: logical
 * switch flows match real ovn-northd 23.03 exactly everywhere; router flows match exactly for
 * the cases listed in ROUTER_EXACT, and for the others at least `routerMin` flows match (a floor
 * that catches regressions while the router pipeline is incomplete).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@ovnts/testkit';

/** Folder of the northd fixtures. */
export const FIXTURES = join(repoRoot, 'fixtures', 'northd');

/** Case names, from the case scripts. */
export const CASES: string[] = readdirSync(join(FIXTURES, 'cases'))
  .filter((f) => f.endsWith('.sh'))
  .map((f) => f.slice(0, -3))
  .sort();

/** Cases whose router flows must match exactly. */
export const ROUTER_EXACT = new Set(['lr-basic', 'lr-routes']);

/** Minimum number of matching router flows for the other router cases. */
export const ROUTER_MIN: Record<string, number> = { 'lr-nat': 194 };
