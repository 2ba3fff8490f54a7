/**
 * Issue 14, items 2 and 3, on the command line: `ovnts northd` and `ovnts ovn-trace` warn on
 * standard error about an ACL whose match does not parse (naming the row), and ovn-trace refuses
 * an unknown logical port after ovn-trace's warnings (packages/ovn/test/sb/bad-match.test.ts has
 * the library side and the comparison with real ovn-trace).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { NbBuilder, writeOvsdbFile } from '@ovnts/ovn';
import { BufferIo, main } from '@ovnts/cli';

const BAD = 'ip4 && tcp.dst == ';
const FLOW = 'inport=="vm1" && eth.src==00:00:00:00:00:01 && eth.dst==00:00:00:00:00:02 && ip4.src==10.0.0.1 && ip4.dst==10.0.0.2 && ip.ttl==64 && tcp && tcp.dst==22';
const PARSE_ERROR = 'Syntax error at end of input expecting constant.';

function badNb() {
  const nb = new NbBuilder();
  const sw = nb.logicalSwitch('sw0');
  sw.port('vm1', { addresses: ['00:00:00:00:00:01 10.0.0.1'] });
  sw.port('vm2', { addresses: ['00:00:00:00:00:02 10.0.0.2'] });
  const acl = nb.acl(sw, { direction: 'to-lport', priority: 1002, match: BAD, action: 'drop' });
  return { nb, acl };
}

describe('a drop ACL whose match does not parse', () => {
  const { nb, acl } = badNb();
  test('the CLI prints the warnings on standard error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovnts-badacl-'));
    try {
      const file = join(dir, 'nb.db');
      writeFileSync(file, writeOvsdbFile(nb.toRaw()));
      const io = new BufferIo();
      expect(await main(['northd', '--nb', file], io)).toBe(0);
      expect(io.stdout).toContain(`match=(${BAD})`);
      expect(io.stderr).toMatch(new RegExp(`^ovnts northd: warning: ACL ${acl.uuid} on switch "sw0" .*this ACL has no effect\\.\\n$`));
      const io2 = new BufferIo();
      expect(await main(['ovn-trace', '--nb', file, '--minimal', 'sw0', FLOW], io2)).toBe(0);
      expect(io2.stderr).toBe(`ovnts ovn-trace: warning: ${BAD}: parsing expression failed (${PARSE_ERROR}) (logical flow from ACL ${acl.uuid} on switch "sw0" (to-lport priority 1002 drop))\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an unknown logical port in the microflow', () => {
  const { nb } = badNb();
  test('the CLI exits 1 and prints the warnings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovnts-badport-'));
    try {
      const file = join(dir, 'nb.db');
      writeFileSync(file, writeOvsdbFile(nb.toRaw()));
      const io = new BufferIo();
      expect(await main(['ovn-trace', '--nb', file, 'sw0', 'inport=="nosuch"'], io)).toBe(1);
      expect(io.stdout).toBe('');
      expect(io.stderr.split('\n').slice(-4)).toEqual([
        'ovnts ovn-trace: warning: nosuch: unknown logical port',
        'ovnts ovn-trace: warning: microflow does not specify ingress port',
        'ovnts ovn-trace: unknown logical port "nosuch"',
        '',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
