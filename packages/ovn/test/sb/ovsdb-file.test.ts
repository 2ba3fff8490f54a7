/**
 * Importing real southbound databases: an `ovsdb-client backup` file and the `ovsdb-client dump
 * -f json` of the same database (fixtures/nb/bad-acl.sb.*, written by real ovn-northd and
 * ovsdb-client) read into the same model, references resolved; a file that is not one is an
 * `SbError` saying where.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadSb, loadSbFile, SbError, sbIndex } from '@ovnts/ovn';
import { repoRoot } from '@ovnts/testkit';
import { SB_TABLES, sbLines } from './diff.js';

const dir = join(repoRoot, 'fixtures', 'nb');

describe('loadSb', () => {
  const backup = loadSbFile(join(dir, 'bad-acl.sb.db'));
  const dump = loadSb(readFileSync(join(dir, 'bad-acl.sb.json')));

  test('a backup file: rows, references and derived names', () => {
    expect(backup.datapaths.map((d) => [d.name, d.kind, d.tunnelKey])).toEqual([['sw0', 'switch', 1]]);
    const ix = sbIndex(backup);
    const vm1 = ix.portByName.get('vm1')!;
    expect(vm1.datapath).toBe(backup.datapaths[0]);
    expect(vm1.mac).toEqual(['00:00:00:00:00:01 10.0.0.1']);
    expect(vm1.up).toBe(false);
    expect(backup.multicastGroups.find((g) => g.name === '_MC_flood')!.ports.map((p) => p.logicalPort).sort()).toEqual(['vm1', 'vm2']);
    expect(backup.logicalFlows.some((f) => f.match === 'ip4 && tcp.dst == ' && f.externalIds.get('stage-name') === 'ls_out_acl')).toBe(true);
    expect(backup.dhcpOptions.length).toBe(38);
    expect(backup.global.options.get('northd_internal_version')).toBe('23.03.1-20.27.0-70.6');
  });

  test('the JSON dump of the same database reads into the same model', () => {
    for (const t of SB_TABLES) expect(sbLines(dump, t), t).toEqual(sbLines(backup, t));
    expect(dump.logicalFlows.map((f) => f.uuid).sort()).toEqual(backup.logicalFlows.map((f) => f.uuid).sort());
  });

  test('what is not a southbound database is an SbError saying where', () => {
    const nb = readFileSync(join(dir, 'bad-acl.db'));
    expect(() => loadSb(nb)).toThrow(SbError);
    expect(() => loadSb(nb)).toThrow('record 0, byte offset 0: schema name is "OVN_Northbound", expected "OVN_Southbound"');
    const sb = readFileSync(join(dir, 'bad-acl.sb.db'));
    const cut = sb.subarray(0, sb.length - 10);
    expect(() => loadSb(cut)).toThrow(/record 1, byte offset \d+: record length \d+ runs past the end of the file/);
    expect(() => loadSb('{"caption": "No_Such table", "headings": ["_uuid"], "data": []}\n')).toThrow('record 0, byte offset 0, table No_Such: no such table in the OVN_Southbound schema');
    expect(() => loadSbFile(join(dir, 'no-such-file.db'))).toThrow(/^cannot read .*no-such-file\.db/);
  });
});
