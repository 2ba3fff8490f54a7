/**
 * The differential cases (fixtures/northd/cases/NAME.sh): for every case, switch and router flows
 * match real ovn-northd 23.03 exactly once ovn-northd's tunnel keys (NAME.keys.txt) are given.
 * Without them, only the flows that print a key (`$_rtr_lb_KEY_ip4`, `ct_mark.ecmp_reply_port`) may differ.
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
