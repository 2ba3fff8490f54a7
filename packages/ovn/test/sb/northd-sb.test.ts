/**
 * The southbound database our northd produces against the one real ovn-northd 23.03 wrote for the
 * same northbound database: fixtures/sb/NAME.sb.db.gz, saved by fixtures/sb/gen.sh for every NB of
 * the ovn-trace corpus (fixtures/trace/NAME.nb.db: the 16 northd fixture topologies and 40 random
 * ones). Tunnel keys depend on the history of the NB (see keys-differential.test.ts), so here our
 * northd runs with the real SB as its previous database, as ovn-northd does on every run: its
 * bindings keep their keys, and every table must then come out as ovn-northd wrote it. Without
 * it, our northd must still give every key ovn-northd gave, since gen.sh has ovn-northd read the
 * whole NB at once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { compileNorthd, loadNb, loadSb, type SbDatabase } from '@ovnts/ovn';
import { repoRoot } from '@ovnts/testkit';
import { formatSbDiff, sbDiff, sbLines, SB_TABLES } from './diff.js';

const dir = join(repoRoot, 'fixtures', 'sb');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.sb.db.gz'))
  .map((f) => f.slice(0, -'.sb.db.gz'.length))
  .sort();
const read = (name: string, what: 'nb' | 'sb') =>
  what === 'nb' ? readFileSync(join(repoRoot, 'fixtures', 'trace', `${name}.nb.db`)) : gunzipSync(readFileSync(join(dir, `${name}.sb.db.gz`)));

describe('our northd SB = real ovn-northd SB (fixtures/sb)', () => {
  test('the fixtures are there', () => expect(cases.length).toBeGreaterThanOrEqual(56));
  test.each(cases)('%s', (name) => {
    const nb = loadNb(read(name, 'nb'));
    const real = loadSb(read(name, 'sb'));
    const ours = compileNorthd(nb, { previous: real }).sb;
    const d = sbDiff(ours, real);
    expect(d.size, formatSbDiff(d)).toBe(0);
    const fresh = sbDiff(compileNorthd(nb).sb, real, ['keys']);
    expect(fresh.size, formatSbDiff(fresh)).toBe(0);
    // The real SB has rows in every table we compare that the case exercises.
    expect(sbLines(real, 'logicalFlows').length).toBeGreaterThan(50);
  });
});

describe('producing twice gives the same database', () => {
  test('deterministic uuids and order', () => {
    const nb = loadNb(read('northd-lr-nat', 'nb'));
    const a = compileNorthd(nb).sb;
    const b = compileNorthd(nb).sb;
    const rows = (s: SbDatabase) => [s.datapaths, s.portBindings, s.logicalFlows, s.multicastGroups].map((t) => t.map((r) => r.uuid).join());
    expect(rows(a)).toEqual(rows(b));
    for (const t of SB_TABLES) expect(sbLines(a, t)).toEqual(sbLines(b, t));
  });
  test('a run with the previous SB keeps every uuid and key', () => {
    const nb = loadNb(read('northd-lr-basic', 'nb'));
    const first = compileNorthd(nb).sb;
    const second = compileNorthd(nb, { previous: first }).sb;
    expect(second.datapaths.map((d) => `${d.uuid} ${d.tunnelKey}`)).toEqual(first.datapaths.map((d) => `${d.uuid} ${d.tunnelKey}`));
    expect(second.portBindings.map((p) => `${p.uuid} ${p.tunnelKey}`)).toEqual(first.portBindings.map((p) => `${p.uuid} ${p.tunnelKey}`));
  });
});
