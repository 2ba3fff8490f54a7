/**
 * `ovnts chassis-flows`: the tables printed for a chassis equal real ovn-controller's dump of the
 * fixture (after the documented normalisation), from a real southbound file and from our own
 * northd's compilation of the northbound file; bad input gets exit status 1 or 2.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CHASSIS_FIXTURES, diffFlowDumps, normalizeChassisDump } from '@ovnts/testkit';
import { main } from '../src/main.js';

function run(argv: string[]): { code: Promise<number>; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s: string) => (out += s), err: (s: string) => (err += s) } as never);
  return { code, out: () => out, err: () => err };
}

function realDump(name: string, chassis: string): { flows: string[]; groups: string[]; ports: Map<number, string> } {
  const lines = (f: string) => readFileSync(join(CHASSIS_FIXTURES, `${name}.${chassis}.${f}`), 'utf8').split('\n').filter((l) => l);
  return {
    flows: lines('flows'),
    groups: lines('groups'),
    ports: new Map(lines('tunnels').map((l) => [Number(l.split(' ')[0]), l.split(' ')[1]!] as [number, string])),
  };
}

/** Port names of our dump: tunnels to the other chassis follow the VIFs (map order), as the chassis numbers them. */
function ourPorts(others: string[], nVifs: number): Map<number, string> {
  return new Map([...others].sort().map((c, i) => [nVifs + 1 + i, `ovn-${c.slice(0, 6)}-0`] as [number, string]));
}

const tmp = mkdtempSync(join(tmpdir(), 'ovnts-chassis-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ovnts chassis-flows', () => {
  test.each([
    ['--sb', 'ls-simple-2hv', 'hv1', ['hv2'], 1],
    ['--sb', 'ls-simple-2hv', 'hv2', ['hv1'], 2],
    ['--nb', 'ovnk-small', 'hv1', ['hv2'], 4],
    ['--nb', 'ovnk-small', 'hv2', ['hv1'], 4],
    ['--nb', 'ls-simple-1hv', 'hv1', [], 2],
  ] as const)('%s %s --chassis %s equals real ovn-controller', async (opt, name, chassis, others, nVifs) => {
    const file = join(CHASSIS_FIXTURES, `${name}.${opt === '--sb' ? 'sb' : 'nb'}.db`);
    const r = run(['chassis-flows', opt, file, '--chassis-map', join(CHASSIS_FIXTURES, 'cases', `${name}.map`), '--chassis', chassis, '--groups']);
    expect(await r.code, r.err()).toBe(0);
    const lines = r.out().split('\n').filter((l) => l);
    const ours = normalizeChassisDump(lines.filter((l) => !l.startsWith('group_id=')), lines.filter((l) => l.startsWith('group_id=')), { tunnelPorts: ourPorts([...others], nVifs) });
    const real = realDump(name, chassis);
    const theirs = normalizeChassisDump(real.flows, real.groups, { tunnelPorts: real.ports });
    const d = diffFlowDumps([...theirs.flows, ...theirs.groups], [...ours.flows, ...ours.groups]);
    expect({ missing: d.onlyA, extra: d.onlyB }).toEqual({ missing: [], extra: [] });
  });

  test('without a map, every VIF port is bound to the chassis', async () => {
    const r = run(['chassis-flows', '--nb', join(CHASSIS_FIXTURES, 'ls-simple-1hv.nb.db'), '--chassis', 'hv9']);
    expect(await r.code).toBe(0);
    expect(r.out()).toMatch(/priority=100,in_port=1 actions=.*resubmit\(,8\)/);
    expect(r.out()).toMatch(/priority=100,in_port=2 actions=.*resubmit\(,8\)/);
    expect(r.out()).not.toMatch(/tun_id/);
  });

  test('bad input: exit 2 for the command line, 1 for files and maps', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['chassis-flows', '--chassis', 'hv1'], 2, /one of --nb NBFILE or --sb SBFILE is required/],
      [['chassis-flows', '--sb', 'x', '--nb', 'y', '--chassis', 'hv1'], 2, /either --nb or --sb/],
      [['chassis-flows', '--sb', join(CHASSIS_FIXTURES, 'ls-simple-2hv.sb.db')], 2, /--chassis/],
      [['chassis-flows', '--sb', join(tmp, 'missing.db'), '--chassis', 'hv1'], 1, /missing\.db/],
      [['chassis-flows', '--nb', join(CHASSIS_FIXTURES, 'ls-simple-2hv.nb.db'), '--chassis-map', join(tmp, 'nomap'), '--chassis', 'hv1'], 1, /cannot read chassis map/],
    ];
    writeFileSync(join(tmp, 'bad.map'), 'p1 hv1 10.0.0.1\np1 hv2\n');
    cases.push([['chassis-flows', '--nb', join(CHASSIS_FIXTURES, 'ls-simple-2hv.nb.db'), '--chassis-map', join(tmp, 'bad.map'), '--chassis', 'hv1'], 1, /bad\.map:2: port p1 is already bound to chassis hv1/]);
    writeFileSync(join(tmp, 'bad2.map'), 'p1 hv1 not-an-ip\n');
    cases.push([['chassis-flows', '--nb', join(CHASSIS_FIXTURES, 'ls-simple-2hv.nb.db'), '--chassis-map', join(tmp, 'bad2.map'), '--chassis', 'hv1'], 1, /bad2\.map:1: "not-an-ip" is not an IPv4 address/]);
    cases.push([['chassis-flows', '--nb', join(CHASSIS_FIXTURES, 'ls-simple-2hv.nb.db'), '--chassis-map', join(CHASSIS_FIXTURES, 'cases', 'ls-simple-2hv.map'), '--chassis', 'nope'], 1, /chassis nope is neither in the chassis map/]);
    for (const [argv, code, msg] of cases) {
      const r = run(argv);
      expect(await r.code, argv.join(' ')).toBe(code);
      expect(r.err(), argv.join(' ')).toMatch(msg);
    }
  });
});
