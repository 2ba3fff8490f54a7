/**
 * The chassis's OpenFlow tables against real ovn-controller 23.03 (issue 9, item 2): for every
 * fixture topology (fixtures/chassis/cases) and every chassis of it, the flows and groups we
 * compute from the real southbound database ovn-northd wrote equal the real `dump-flows br-int` /
 * `dump-groups br-int` under the documented normalisation (docs/chassis.md). The stored fixtures
 * run everywhere; with OVN installed, two cases are also regenerated live (all with
 * `CHASSIS_LIVE_ALL=1`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHASSIS_FIXTURES, chassisCaseNames, requireOracle } from '@ovnts/testkit';
import { compareWithReal, loadCase, ourTables, realDump } from './helpers.js';

function check(dir: string, name: string): void {
  const l = loadCase(name, dir);
  for (const m of l.cluster.members) {
    const d = compareWithReal(ourTables(l, m.name), realDump(dir, name, m.name));
    expect(d.total).toBeGreaterThan(0);
    expect({ missing: d.missing, extra: d.extra }, `${name} ${m.name}`).toEqual({ missing: [], extra: [] });
  }
}

const CASES = chassisCaseNames();

describe('chassis flows vs stored real ovn-controller dumps (fixtures/chassis)', () => {
  test('at least 12 topologies, with and without a second chassis and gateway ports', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(12);
  });
  test.each(CASES)('%s', (name) => check(CHASSIS_FIXTURES, name));
});

const req = requireOracle('chassis flows (live ovn-controller)', 'ovn-sandbox', ['ovn-controller', 'ovn-northd', 'ovs-vswitchd', 'ovsdb-server'], 'apt-get install -y ovn-central ovn-host openvswitch-switch');
const LIVE = process.env.CHASSIS_LIVE_ALL ? CASES : ['lr-nat', 'ls-acls'];

describe.skipIf(req.skip)('chassis flows vs live ovn-controller', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ovnts-chassis-live-'));
    // Asynchronously (docs/testing.md, "Long oracle runs"): minutes of a synchronous child would starve vitest's worker RPC.
    const r = await promisify(execFile)(process.execPath, [join(CHASSIS_FIXTURES, 'gen.mjs'), dir, ...LIVE], { encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 26 });
    process.stdout.write(r.stdout + r.stderr);
  }, 620_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  test.each(LIVE)('%s', (name) => check(dir, name));
});
