/**
 * Issue 14, items 2 and 3, on the command line: `ovnts northd` and `ovnts ovn-trace` warn on
 * standard error about an ACL whose match does not parse (naming the row), and ovn-trace refuses
 * an unknown logical port after ovn-trace's warnings. The databases are real ones
 * (fixtures/nb/bad-acl.sh: the NB and the SB ovn-northd wrote); packages/ovn/test/sb/bad-match.test.ts
 * has the library side and the comparison with real ovn-trace's texts.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadNbFile } from '@ovnts/ovn';
import { BufferIo, main } from '@ovnts/cli';
import { repoRoot } from '@ovnts/testkit';

const NB = join(repoRoot, 'fixtures', 'nb', 'bad-acl.db');
const SB = join(repoRoot, 'fixtures', 'nb', 'bad-acl.sb.db');
const BAD = 'ip4 && tcp.dst == ';
const FLOW = 'inport=="vm1" && eth.src==00:00:00:00:00:01 && eth.dst==00:00:00:00:00:02 && ip4.src==10.0.0.1 && ip4.dst==10.0.0.2 && ip.ttl==64 && tcp && tcp.dst==22';
const PARSE_ERROR = 'Syntax error at end of input expecting constant.';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = new BufferIo();
  const code = await main(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('a drop ACL whose match does not parse', () => {
  const acl = loadNbFile(NB).acls[0]!;
  test('northd keeps the flow and warns naming the ACL row', async () => {
    expect(acl.match).toBe(BAD);
    const r = await run('northd', '--nb', NB);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`match=(${BAD})`);
    expect(r.err).toMatch(new RegExp(`^ovnts northd: warning: ACL ${acl.uuid} on switch "sw0" \\(to-lport priority 1002 drop\\): .*this ACL has no effect\\.\\n$`));
  });
  test('ovn-trace on the NB and on the real SB: the packet passes, with the warning', async () => {
    const nb = await run('ovn-trace', '--nb', NB, '--minimal', 'sw0', FLOW);
    expect(nb.code).toBe(0);
    expect(nb.out.split('\n').slice(1)).toEqual(['output("vm2");', '']);
    expect(nb.err).toBe(`ovnts ovn-trace: warning: ${BAD}: parsing expression failed (${PARSE_ERROR}) (logical flow from ACL ${acl.uuid} on switch "sw0" (to-lport priority 1002 drop))\n`);
    const sb = await run('ovn-trace', '--sb', SB, '--minimal', 'sw0', FLOW);
    expect(sb.out).toBe(nb.out);
    expect(sb.err).toBe(`ovnts ovn-trace: warning: ${BAD}: parsing expression failed (${PARSE_ERROR}) (logical flow from the NB row ${acl.uuid.slice(0, 8)}..., stage ls_out_acl)\n`);
  });
  test('ovn-trace wants exactly one of --nb and --sb', async () => {
    expect((await run('ovn-trace', '--nb', NB, '--sb', SB, 'sw0', FLOW)).code).toBe(2);
    expect((await run('ovn-trace', 'sw0', FLOW)).err).toMatch(/give exactly one of --nb NBFILE or --sb SBFILE/);
  });
});

describe('an unknown logical port in the microflow', () => {
  test('the CLI exits 1 after ovn-trace\'s warnings', async () => {
    const r = await run('ovn-trace', '--nb', NB, 'sw0', 'inport=="nosuch"');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.split('\n').slice(-4)).toEqual([
      'ovnts ovn-trace: warning: nosuch: unknown logical port',
      'ovnts ovn-trace: warning: microflow does not specify ingress port',
      'ovnts ovn-trace: unknown logical port "nosuch"',
      '',
    ]);
  });
});
