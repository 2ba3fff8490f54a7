import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { compileNorthd, flowKey, formatFlowLine, formatLflowList, lflowList, loadNb, parseLflowList, parseTunnelKeys } from '@ovnts/ovn';
import { CASES, FIXTURES } from './cases.js';

const UUID = /\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)/g;

describe('lflow-list form', () => {
  test('line layout is ovn-sbctl\'s (short and long stage names, wide priorities)', () => {
    expect(formatFlowLine({ table: 0, stage: 'ls_in_check_port_sec', priority: 100, match: 'eth.src[40]', actions: 'drop;' }))
      .toBe('  table=0 (ls_in_check_port_sec), priority=100  , match=(eth.src[40]), action=(drop;)');
    expect(formatFlowLine({ table: 25, stage: 'ls_in_l2_lkup', priority: 65535, match: '1', actions: 'next;' }))
      .toBe('  table=25(ls_in_l2_lkup      ), priority=65535, match=(1), action=(next;)');
  });

  test.each(CASES)('%s: whole output equals real lflow-list except datapath uuids', (name) => {
    const db = loadNb(readFileSync(join(FIXTURES, `${name}.nb.db`)));
    const real = readFileSync(join(FIXTURES, `${name}.lflows.txt`), 'utf8');
    const tunnelKeys = parseTunnelKeys(readFileSync(join(FIXTURES, `${name}.keys.txt`), 'utf8'));
    // Datapath order is by name then uuid; our uuids differ, so compare per datapath name (all names are unique here).
    expect(lflowList(db, { tunnelKeys }).replace(UUID, '(uuid)')).toBe(real.replace(UUID, '(uuid)'));
  });

  test('parseLflowList reads back what formatLflowList writes', () => {
    const db = loadNb(readFileSync(join(FIXTURES, 'ls-lb.nb.db')));
    const flows = compileNorthd(db).flows;
    const back = parseLflowList(formatLflowList(flows));
    expect(new Set(back.map(flowKey))).toEqual(new Set(flows.map(flowKey)));
    expect(back.length).toBe(flows.length);
  });

  test('output is deterministic', () => {
    const bytes = readFileSync(join(FIXTURES, 'lr-nat.nb.db'));
    expect(lflowList(loadNb(bytes))).toBe(lflowList(loadNb(bytes)));
  });
});
