import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { LR_IN_STAGES, LR_OUT_STAGES, LS_IN_STAGES, LS_OUT_STAGES, STAGES, parseLflowList, stageByName, stageTable } from '@ovnts/ovn';
import { CASES, FIXTURES } from './cases.js';

describe('stage table (OVN 23.03)', () => {
  test('sizes and a few numbers', () => {
    expect([LS_IN_STAGES.length, LS_OUT_STAGES.length, LR_IN_STAGES.length, LR_OUT_STAGES.length]).toEqual([27, 10, 22, 7]);
    expect(stageTable('ls_in_acl')).toBe(8);
    expect(stageTable('ls_in_l2_lkup')).toBe(25);
    expect(stageTable('ls_out_qos_mark')).toBe(5);
    expect(stageTable('lr_in_ip_routing')).toBe(13);
    expect(stageTable('lr_out_delivery')).toBe(6);
    expect(STAGES.length).toBe(66);
  });

  test('every stage real ovn-northd used in the fixtures has the same pipeline and table here', () => {
    const seen = new Map<string, string>();
    for (const name of CASES) {
      for (const f of parseLflowList(readFileSync(join(FIXTURES, `${name}.lflows.txt`), 'utf8'))) {
        seen.set(f.stage, `${f.pipeline}/${f.table}`);
      }
    }
    expect(seen.size).toBe(STAGES.length); // the fixtures exercise every stage
    for (const [stage, where] of seen) {
      const s = stageByName(stage);
      expect(s, stage).toBeDefined();
      expect(`${s!.pipeline}/${s!.table}`, stage).toBe(where);
    }
  });
});
