/**
 * Differential tests against real ovn-northd 23.03: each case's NB database (an
 * `ovsdb-client backup`) compiled by us must give the same set of (datapath, pipeline, table,
 * stage, priority, match, actions) as `ovn-sbctl lflow-list` of real ovn-northd on that NB.
 * The stored fixtures (fixtures/northd/) run everywhere; when OVN is installed the fixtures are
 * also regenerated live in a temporary folder (fixtures/northd/gen.sh) and compared the same way.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { oracleScript, requireTools } from '@ovnts/testkit';
import { CASES, FIXTURES } from './cases.js';
import { diffFixture, formatDiff } from './diff.js';

function check(dir: string, name: string): void {
  const sw = diffFixture(dir, name, 'switch');
  expect(sw.expected).toBeGreaterThan(0);
  expect(sw.missing.length + sw.extra.length, formatDiff(`${name} (switches)`, sw)).toBe(0);
  const rt = diffFixture(dir, name, 'router');
  if (rt.expected > 0) console.log(`${name} (routers): ${rt.matched}/${rt.expected} match, ${rt.missing.length} missing, ${rt.extra.length} extra`);
  expect(rt.missing.length + rt.extra.length, formatDiff(`${name} (routers)`, rt)).toBe(0);
  // Without ovn-northd's tunnel keys, only the flows that print a key differ.
  // (Which ones depends on the order ovn-northd saw the rows, so on the run.)
  const nk = diffFixture(dir, name, 'all', false);
  if (nk.missing.length) console.log(`${name} with our own tunnel keys: ${nk.missing.length} flows differ (key-dependent)`);
  expect(nk.extra.length, formatDiff(`${name} (own tunnel keys)`, nk)).toBe(nk.missing.length);
  for (const l of [...nk.missing, ...nk.extra]) expect(l).toMatch(/\$_rtr_lb_[0-9]+_ip[46]|ecmp_reply_port (==|=) [0-9]+/);
}

describe('northd vs stored ovn-northd 23.03 output (fixtures/northd)', () => {
  test.each(CASES)('%s', (name) => check(FIXTURES, name));
});

const req = requireTools('northd differential (live)', ['ovn-northd', 'ovn-nbctl', 'ovn-sbctl', 'ovsdb-client', 'ovsdb-server', 'ovsdb-tool'], 'apt-get install -y ovn-central');
const sandbox = oracleScript('ovn-sandbox');

describe.skipIf(req.skip)('northd vs live ovn-northd', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ovnts-northd-'));
    const env = { ...process.env, ...(sandbox ? { OVN_SANDBOX: sandbox } : {}) };
    execFileSync(join(FIXTURES, 'gen.sh'), [dir], { env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  }, 320_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  test.each(CASES)('%s', (name) => check(dir, name));
});
