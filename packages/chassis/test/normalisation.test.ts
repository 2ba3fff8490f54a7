/**
 * The documented normalisation of chassis flow dumps (docs/chassis.md, `normalizeChassisDump` in
 * @ovnts/testkit): each masked family on made-up lines, and, with OVN installed, two runs of real
 * ovn-controller on the same input: their raw dumps differ, their normalised dumps are equal, and
 * keeping any one family un-normalised shows which families actually vary between runs (cookies
 * always do).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHASSIS_FIXTURES, diffFlowDumps, normalizeChassisDump, requireOracle } from '@ovnts/testkit';
import { realDump } from './helpers.js';

describe('normalizeChassisDump families', () => {
  const norm = (a: string[], g: string[] = [], ports = new Map<number, string>()) => normalizeChassisDump(a, g, { tunnelPorts: ports });

  test('cookies are renumbered by first appearance in the sorted masked lines', () => {
    const a = norm([' cookie=0xdead, table=8, priority=50,reg14=0x1,metadata=0x1 actions=resubmit(,9)', ' cookie=0xbeef, table=9, priority=0,metadata=0x1 actions=resubmit(,10)']);
    const b = norm([' cookie=0x1234, table=9, priority=0,metadata=0x1 actions=resubmit(,10)', ' cookie=0x5678, table=8, priority=50,reg14=0x1,metadata=0x1 actions=resubmit(,9)']);
    expect(a).toEqual(b);
    expect(a.flows.join('\n')).toMatch(/cookie=c1, table=8/);
    // The same cookie on two flows stays the same number; different ones do not merge.
    const c = norm([' cookie=0x1, table=8, priority=50,metadata=0x1 actions=drop', ' cookie=0x1, table=9, priority=50,metadata=0x1 actions=drop']);
    const d = norm([' cookie=0x1, table=8, priority=50,metadata=0x1 actions=drop', ' cookie=0x2, table=9, priority=50,metadata=0x1 actions=drop']);
    expect(c).not.toEqual(d);
  });

  test('conjunction ids, zones, meters and group ids are renumbered consistently', () => {
    const a = norm(
      [' table=44, priority=2001,conj_id=77,ip,metadata=0x1 actions=set_field:0x5->reg13,ct(commit,zone=NXM_NX_REG13[0..15]),group:9,meter:3', ' table=44, priority=2001,ip,reg15=0x2,metadata=0x1 actions=conjunction(77,1/2)'],
      ['group_id=9,type=select,bucket=bucket_id:0,actions=ct(commit,table=20,zone=NXM_NX_REG13[0..15])'],
    );
    const b = norm(
      [' table=44, priority=2001,conj_id=1234,ip,metadata=0x1 actions=set_field:0x9->reg13,ct(commit,zone=NXM_NX_REG13[0..15]),group:2,meter:8', ' table=44, priority=2001,ip,reg15=0x2,metadata=0x1 actions=conjunction(1234,1/2)'],
      ['group_id=2,type=select,bucket=bucket_id:0,actions=ct(commit,table=20,zone=NXM_NX_REG13[0..15])'],
    );
    expect(a).toEqual(b);
    expect(a.groups[0]).toMatch(/^group_id=g1,/);
  });

  test('multicast segments are sorted, tunnel ports named, shared conjunction flows lose their cookie', () => {
    const seg = (k: number) => `set_field:0x${k}->reg15,resubmit(,41)`;
    const a = norm([` table=40, priority=100,reg15=0x8000,metadata=0x1 actions=${seg(1)},${seg(2)},set_field:0x8000->reg15`, ' priority=100,in_port=7 actions=resubmit(,40)', ' cookie=0xaa, priority=180,vlan_tci=0x0000/0x1000 actions=conjunction(5,2/2)'], [], new Map([[7, 'ovn-hv2-0']]));
    const b = norm([` table=40, priority=100,reg15=0x8000,metadata=0x1 actions=${seg(2)},${seg(1)},set_field:0x8000->reg15`, ' priority=100,in_port=3 actions=resubmit(,40)', ' cookie=0xbb, priority=180,vlan_tci=0x0000/0x1000 actions=conjunction(6,2/2)'], [], new Map([[3, 'ovn-hv2-0']]));
    expect(a).toEqual(b);
    // Nothing else is masked: a different match, action or priority still differs.
    const c = norm([` table=40, priority=100,reg15=0x8000,metadata=0x1 actions=${seg(1)},${seg(3)},set_field:0x8000->reg15`]);
    expect(c.flows).not.toEqual(a.flows.slice(0, 1));
    expect(norm([' priority=100,in_port=3 actions=resubmit(,40)'], [], new Map([[3, 'ovn-hv2-0']]))).not.toEqual(norm([' priority=100,in_port=3 actions=resubmit(,39)'], [], new Map([[3, 'ovn-hv2-0']])));
  });
});

const req = requireOracle('two runs of real ovn-controller', 'ovn-sandbox', ['ovn-controller', 'ovn-northd', 'ovs-vswitchd', 'ovsdb-server'], 'apt-get install -y ovn-central ovn-host openvswitch-switch');
// A topology whose tunnel keys ovn-northd assigns in creation order (in ovnk-small they follow the
// random uuids, so two runs would not even have the same southbound input).
const CASE = 'ls-ports';

describe.skipIf(req.skip)('two runs of real ovn-controller on the same input', () => {
  const dirs: string[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'ovnts-chassis-tworuns-'));
      dirs.push(dir);
      // Asynchronously (docs/testing.md, "Long oracle runs"): minutes of a synchronous child would starve vitest's worker RPC.
      const r = await promisify(execFile)(process.execPath, [join(CHASSIS_FIXTURES, 'gen.mjs'), dir, CASE], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 26 });
      process.stdout.write(r.stdout + r.stderr);
    }
  }, 620_000);
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('differ raw, equal normalised; the families that vary are named', () => {
    for (const chassis of ['hv1', 'hv2']) {
      const [a, b] = dirs.map((d) => realDump(d, CASE, chassis));
      expect(a!.flows, 'the raw dumps differ').not.toEqual(b!.flows);
      const n = (x: typeof a, keep: ('cookie' | 'conj' | 'zone' | 'mcast' | 'meter' | 'group')[] = []) =>
        normalizeChassisDump(x!.flows, x!.groups, { tunnelPorts: x!.ports, keep });
      const base = diffFlowDumps([...n(a).flows, ...n(a).groups], [...n(b).flows, ...n(b).groups]);
      expect({ onlyA: base.onlyA, onlyB: base.onlyB }, `${chassis}: normalised dumps of two runs`).toEqual({ onlyA: [], onlyB: [] });
      const varying: string[] = [];
      for (const f of ['cookie', 'conj', 'zone', 'mcast', 'meter', 'group'] as const) {
        const d = diffFlowDumps([...n(a, [f]).flows, ...n(a, [f]).groups], [...n(b, [f]).flows, ...n(b, [f]).groups]);
        if (d.onlyA.length || d.onlyB.length) varying.push(`${f} (${d.onlyA.length} lines)`);
      }
      console.log(`${CASE} ${chassis}: ${a!.flows.length} flows; families that differ between the two runs: ${varying.join(', ')}`);
      // Southbound uuids are drawn afresh, so the cookies (their first 32 bits) always differ.
      expect(varying.some((v) => v.startsWith('cookie'))).toBe(true);
      // Zones (the order hv1 claims its ports in) and the order of flood ports *may* vary: a run
      // where they happen to come out the same is not a failure, but no other family may vary.
      const allowed = ['cookie', 'zone', 'mcast'];
      const unexpected = varying.filter((v) => !allowed.some((f) => v.startsWith(f)));
      expect(unexpected, `${chassis}: families that vary beyond cookies, zones and flood order`).toEqual([]);
    }
  });
});
