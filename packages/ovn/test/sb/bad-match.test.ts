/**
 * Issue 14, items 2 and 3. A drop ACL whose match does not parse (`ip4 && tcp.dst == `) used to
 * compile and be skipped by ovn-trace with nothing said, so TCP/22 reached the port silently; an
 * unknown logical port in the microflow traced from `inport="(unnamed)"` with exit status 0.
 *
 * As OVN does: ovn-northd keeps the logical flow (it never parses ACL matches), ovn-controller and
 * ovn-trace fail to parse it and skip it, so the packet still reaches the port. What we add: our
 * northd warns naming the ACL row, ovn-trace warns with ovn-trace's own text plus the row, and
 * the southbound model says the flow does not parse (`parseLogicalFlow`), so the physical layer
 * installs nothing for it exactly as ovn-controller does. The warning texts are checked against
 * real ovn-trace 23.03 where OVN is installed; the command-line side is in
 * packages/cli/test/ovn-warnings.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { compileNorthd, lflowDatapaths, lflowParseContext, loadSb, NbBuilder, ovnTrace, parseLogicalFlow, TraceError, traceTree } from '@ovnts/ovn';
import { requireOracle, startOvnSandbox } from '@ovnts/testkit';

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
  const db = nb.build();
  const r = compileNorthd(db);

  test('northd keeps its logical flow, as ovn-northd does, and warns naming the ACL row', () => {
    const f = r.flows.find((x) => x.stage === 'ls_out_acl' && x.match === BAD);
    expect(f?.priority).toBe(2002);
    expect(f?.actions).toBe('/* drop */');
    const w = r.warnings.filter((x) => x.table === 'ACL');
    expect(w).toHaveLength(1);
    expect(w[0]!.row).toBe(acl.uuid);
    expect(w[0]!.message).toContain(`ACL ${acl.uuid} on switch "sw0" (to-lport priority 1002 drop)`);
    expect(w[0]!.message).toContain(PARSE_ERROR);
  });

  test('the southbound model says the flow does not parse, with ovn-controller\'s warning', () => {
    const sb = r.sb;
    const lf = sb.logicalFlows.find((x) => x.match === BAD)!;
    const p = parseLogicalFlow(lf, lflowDatapaths(lf)[0]!, lflowParseContext(sb));
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect(p.what).toBe('match');
    expect(p.controllerWarning).toBe(`error parsing match "${BAD}": ${PARSE_ERROR}`);
    expect(p.traceWarning).toBe(`${BAD}: parsing expression failed (${PARSE_ERROR})`);
    // Every other flow parses.
    const bad = sb.logicalFlows.filter((x) => lflowDatapaths(x).some((d) => !parseLogicalFlow(x, d, lflowParseContext(sb)).ok));
    expect(bad).toEqual([lf]);
  });

  test('ovn-trace skips it as ovn-trace does (TCP/22 reaches vm2) and says so', () => {
    const warnings: string[] = [];
    const out = ovnTrace(db, 'sw0', FLOW, { format: 'minimal', onWarning: (w) => warnings.push(w) });
    expect(out.trim().split('\n').slice(1)).toEqual(['output("vm2");']);
    expect(warnings).toEqual([`${BAD}: parsing expression failed (${PARSE_ERROR}) (logical flow from ACL ${acl.uuid} on switch "sw0" (to-lport priority 1002 drop))`]);
  });

});

describe('an unknown logical port in the microflow', () => {
  const { nb } = badNb();
  const db = nb.build();
  test('warns as ovn-trace does, then refuses (ovn-trace 23.03 aborts)', () => {
    let err: unknown;
    try {
      traceTree(db, 'sw0', 'inport=="nosuch" && eth.src==00:00:00:00:00:01');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TraceError);
    const e = err as TraceError;
    expect(e.message).toBe('unknown logical port "nosuch"');
    expect(e.warnings.slice(-2)).toEqual(['nosuch: unknown logical port', 'microflow does not specify ingress port']);
  });
  test('a port of another datapath is refused too', () => {
    const b = new NbBuilder();
    b.logicalSwitch('a').port('pa', { addresses: ['00:00:00:00:00:01 10.0.0.1'] });
    b.logicalSwitch('b').port('pb', { addresses: ['00:00:00:00:00:02 10.0.0.2'] });
    expect(() => traceTree(b.build(), 'a', 'inport=="pb"')).toThrow('inport "pb" is not a port of datapath "a"');
  });
});

const req = requireOracle('ovn-trace warning texts', 'ovn-sandbox', ['ovn-northd', 'ovn-nbctl', 'ovn-trace', 'ovsdb-client'], 'apt-get install -y ovn-central');

describe.skipIf(req.skip)('the warning texts are real ovn-trace 23.03\'s', () => {
  test('bad ACL match and unknown port', () => {
    const sb = startOvnSandbox(req.script);
    try {
      sb.run('ovn-nbctl', ['ls-add', 'sw0', '--', 'lsp-add', 'sw0', 'vm1', '--', 'lsp-set-addresses', 'vm1', '00:00:00:00:00:01 10.0.0.1', '--', 'lsp-add', 'sw0', 'vm2', '--', 'lsp-set-addresses', 'vm2', '00:00:00:00:00:02 10.0.0.2']);
      sb.run('ovn-nbctl', ['acl-add', 'sw0', 'to-lport', '1002', BAD, 'drop']);
      sb.run('ovn-nbctl', ['--wait=sb', 'sync']);
      const real = spawnSync('ovn-trace', ['--minimal', 'sw0', FLOW], { env: sb.env, encoding: 'utf8' });
      const realWarnings = real.stderr.split('\n').filter((l) => l.includes('|WARN|')).map((l) => l.replace(/^.*\|WARN\|/, ''));
      const sbBytes = execFileSync('ovsdb-client', ['backup', String(sb.env.OVN_SB_DB), 'OVN_Southbound'], { env: sb.env });
      const ours: string[] = [];
      const out = ovnTrace(loadSb(sbBytes), 'sw0', FLOW, { format: 'minimal', onWarning: (w) => ours.push(w.replace(/ \(logical flow from .*\)$/, '')) });
      expect(ours).toEqual(realWarnings);
      expect(out).toBe(real.stdout);
      const realPort = spawnSync('ovn-trace', ['--minimal', 'sw0', 'inport=="nosuch" && eth.src==00:00:00:00:00:01'], { env: sb.env, encoding: 'utf8' });
      const realPortWarnings = realPort.stderr.split('\n').filter((l) => l.includes('|WARN|')).map((l) => l.replace(/^.*\|WARN\|/, ''));
      let e: TraceError | undefined;
      try {
        traceTree(loadSb(sbBytes), 'sw0', 'inport=="nosuch" && eth.src==00:00:00:00:00:01');
      } catch (x) {
        e = x as TraceError;
      }
      expect(e?.warnings.map((w) => w.replace(/ \(logical flow from .*\)$/, ''))).toEqual(realPortWarnings);
    } finally {
      sb.stop();
    }
  }, 60_000);
});
