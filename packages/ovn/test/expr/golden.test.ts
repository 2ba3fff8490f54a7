/**
 * errors.golden holds what real ovn-trace (OVN 23.03) says about each line of errors.input when
 * given it as a microflow: the expression error, or (ok). We must say the same, through the
 * same path ovn-trace takes (template expansion, parse, annotate, simplify, normalise, microflow
 * check). The live test regenerates the golden file with real OVN when it is installed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ExprError, expandTemplates, parseOvnMicroflow, type ExprContext } from '@ovnts/ovn';
import { requireOracle } from '@ovnts/testkit';

const here = fileURLToPath(new URL('.', import.meta.url));
const golden = readFileSync(`${here}errors.golden`, 'utf8');

/** The NB objects gen-errors-golden.sh creates, as ovn-trace sees them (it cannot resolve @port groups). */
const ctx: ExprContext = {
  addressSets: {
    as1: ['10.0.0.0/24', '10.0.0.1'],
    emptyset: [],
    macset: ['00:00:00:00:00:01'],
    pg1_ip4: ['10.0.0.11', '10.0.0.12'],
    pg1_ip6: [],
    svc_monitor_mac: ['92:de:87:f2:7a:9d'],
  },
  portGroups: {},
};

/** What we say about `input`, in golden-file terms. */
function verdict(input: string): string {
  try {
    parseOvnMicroflow(expandTemplates(input), ctx);
    return '(ok)';
  } catch (e) {
    if (e instanceof ExprError) return e.message;
    throw e;
  }
}

const cases = golden
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const i = l.indexOf(' => ');
    return [l.slice(0, i), l.slice(i + 4)] as const;
  });

describe('errors.golden (real ovn-trace messages)', () => {
  it('has a substantial number of cases', () => {
    expect(cases.length).toBeGreaterThan(200);
  });
  it.each(cases)('%s', (input, want) => {
    expect(verdict(input)).toBe(want);
  });
});

const req = requireOracle('live ovn-trace golden', 'ovn-sandbox', ['ovn-trace', 'ovn-northd', 'ovn-nbctl', 'ovsdb-server', 'ovsdb-tool'], 'apt-get install -y ovn-central');
describe.skipIf(req.skip)('errors.golden is what ovn-trace says today', () => {
  it('regenerates identically', async () => {
    // Asynchronously, so this worker keeps answering vitest's RPC during the run.
    const { stdout: out } = await promisify(execFile)('bash', [`${here}gen-errors-golden.sh`], { env: { ...process.env, OVN_SANDBOX: req.script }, encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(out).toBe(golden);
  }, 120_000);
});
