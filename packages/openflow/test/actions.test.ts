/**
 * The action table (actions.ts): every keyword parses to its own type and prints back as OVS
 * prints it, the walkers reach nested lists, `Action` values built in code behave like parsed ones,
 * and the module stands alone (no registration by another module: issue 8).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ACTION_TYPES, OpenFlowError, Switch, actionKeywords, checkActionsEnv, compileAction, field, formatAction, formatActionList,
  parseAction, parseActionList, parseFlow, someAction, type Action,
} from '@ovnts/openflow';

const ctx = (): { hasVlan: boolean; nwProto: number } => ({ hasVlan: true, nwProto: 6 });

/** One example per keyword: the text, and what OVS 3.1 prints for it (`ovs-ofctl -O OpenFlow15 dump-flows`). */
const EXAMPLES: Record<string, [string, string]> = {
  output: ['output:3', 'output:3'],
  controller: ['controller(reason=no_match,id=4)', 'controller(reason=no_match,id=4)'],
  set_field: ['set_field:0x5/0xf->reg1', 'set_field:0x5/0xf->reg1'],
  load: ['load:0x3->NXM_NX_REG2[4..7]', 'set_field:0x30/0xf0->reg2'],
  mod_dl_src: ['mod_dl_src:00:00:00:00:00:01', 'set_field:00:00:00:00:00:01->eth_src'],
  mod_dl_dst: ['mod_dl_dst:00:00:00:00:00:02', 'set_field:00:00:00:00:00:02->eth_dst'],
  mod_nw_src: ['mod_nw_src:10.0.0.1', 'set_field:10.0.0.1->ip_src'],
  mod_nw_dst: ['mod_nw_dst:10.0.0.2', 'set_field:10.0.0.2->ip_dst'],
  mod_nw_tos: ['mod_nw_tos:32', 'set_field:8->ip_dscp'],
  mod_nw_ecn: ['mod_nw_ecn:2', 'set_field:2->nw_ecn'],
  mod_tp_src: ['mod_tp_src:99', 'set_field:99->tcp_src'],
  mod_tp_dst: ['mod_tp_dst:80', 'set_field:80->tcp_dst'],
  mod_vlan_vid: ['mod_vlan_vid:5', 'set_field:4101->vlan_vid'],
  mod_vlan_pcp: ['mod_vlan_pcp:3', 'set_field:3->vlan_pcp'],
  move: ['move:NXM_NX_REG0[0..7]->NXM_NX_REG1[8..15]', 'move:NXM_NX_REG0[0..7]->NXM_NX_REG1[8..15]'],
  dec_ttl: ['dec_ttl(1,2)', 'dec_ttl(1,2)'],
  mod_nw_ttl: ['mod_nw_ttl:9', 'mod_nw_ttl:9'],
  push_vlan: ['push_vlan:0x88a8', 'push_vlan:0x88a8'],
  pop_vlan: ['pop_vlan', 'pop_vlan'],
  strip_vlan: ['strip_vlan', 'pop_vlan'],
  resubmit: ['resubmit(,3)', 'resubmit(,3)'],
  group: ['group:7', 'group:7'],
  note: ['note:01.02', 'note:01.02.00.00.00.00'],
  ct: ['ct(commit,zone=5,exec(set_field:0x1->ct_mark))', 'ct(commit,zone=5,exec(set_field:0x1->ct_mark))'],
  ct_clear: ['ct_clear', 'ct_clear'],
  learn: ['learn(table=2,NXM_OF_IN_PORT[])', 'learn(table=2,NXM_OF_IN_PORT[])'],
  conjunction: ['conjunction(3,1/2)', 'conjunction(3,1/2)'],
  meter: ['meter:2', 'meter:2'],
};

describe('action table', () => {
  it('every keyword parses to its own type and prints as OVS prints it', () => {
    const seen = new Set<string>();
    for (const { type, keywords } of actionKeywords()) {
      for (const kw of keywords) {
        expect(seen.has(kw), `keyword ${kw} claimed twice`).toBe(false);
        seen.add(kw);
        const ex = EXAMPLES[kw];
        expect(ex, `an example for keyword ${kw}`).toBeDefined();
        const [text, printed] = ex!;
        const acts = parseAction(text, text, 0, ctx());
        expect(acts.map((a) => a.type)).toContain(type);
        expect(formatActionList(acts)).toBe(printed);
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(EXAMPLES).sort());
  });

  it('lists every type of the Action union once', () => {
    expect(new Set(ACTION_TYPES).size).toBe(ACTION_TYPES.length);
    expect(ACTION_TYPES).toContain('output_reg');
  });

  it('actions built in code format, compile and check like parsed ones', () => {
    const built: Action[] = [
      { type: 'set_field', field: field('reg0'), value: 1n },
      { type: 'output', port: 2 },
      { type: 'group', groupId: 9 },
    ];
    const parsed = parseActionList('set_field:1->reg0,output:2,group:9', '', 0, ctx());
    expect(formatActionList(built)).toBe(formatActionList(parsed));
    expect(compileAction(built[1]!).text).toBe('output:2');
    const env = { groupExists: (id: number) => id !== 9, meterExists: () => true };
    expect(() => checkActionsEnv(built, env)).toThrow(OpenFlowError);
    expect(someAction(built, (a) => a.type === 'group' && a.groupId === 9)).toBe(true);
  });

  it('walks nested lists (ct exec) with the generic walkers', () => {
    const [ct] = parseAction('ct(commit,exec(set_field:0x1->ct_mark))', '', 0, ctx());
    expect(someAction([ct!], (a) => a.type === 'set_field' && a.field.name === 'ct_mark')).toBe(true);
    const f = parseFlow('ip,actions=set_field:0x1->ct_mark');
    const sw = new Switch();
    expect(() => sw.addFlow(f)).toThrow(/cannot set CT fields outside of ct action/);
  });

  it('dist/actions.js imported alone parses and prints set_field (no registration by another module)', () => {
    const dist = fileURLToPath(new URL('../dist/actions.js', import.meta.url));
    expect(existsSync(dist), `${dist} (npm run setup builds it)`).toBe(true);
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
      const m = await import(${JSON.stringify(dist)});
      const a = m.parseAction('set_field:1->reg0', 'set_field:1->reg0', 0, { hasVlan: false, nwProto: -1 });
      process.stdout.write(m.formatActionList(a));
    `], { encoding: 'utf8' });
    expect(out).toBe('set_field:0x1->reg0');
  });

  it('formats an action the same way before and after compiling it', () => {
    for (const [text] of Object.values(EXAMPLES)) {
      for (const a of parseAction(text, text, 0, ctx())) expect(compileAction(a).text).toBe(formatAction(a));
    }
  });
});
