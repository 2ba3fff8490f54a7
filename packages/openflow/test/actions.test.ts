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
  ACTION_TYPES, OpenFlowError, Switch, TextParseError, actionKeywords, checkActionsEnv, field, formatAction, formatActionList,
  formatFlow, parseAction, parseActionList, parseFlow, someAction, type Action,
} from '@ovnts/openflow';
import { compileAction } from '@ovnts/openflow/internal';

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
  // The rest printed by OVS 3.1 (`ovs-ofctl -O OpenFlow15 dump-flows` after add-flow).
  set_tunnel: ['set_tunnel:5', 'set_field:0x5->tun_id'],
  set_tunnel64: ['set_tunnel64:0x1ffffffff', 'set_field:0x1ffffffff->tun_id'],
  clone: ['clone(output:1,set_field:1->reg0)', 'clone(output:1,set_field:0x1->reg0)'],
  push: ['push:NXM_NX_REG0[]', 'push:NXM_NX_REG0[]'],
  pop: ['pop:NXM_NX_REG1[0..15]', 'pop:NXM_NX_REG1[0..15]'],
  check_pkt_larger: ['check_pkt_larger(100)->reg0[3]', 'check_pkt_larger(100)->NXM_NX_REG0[3]'],
  exit: ['exit', 'exit'],
  set_queue: ['set_queue:5', 'set_queue:5'],
  enqueue: ['enqueue:2:5', 'set_queue:5,output:2,pop_queue'],
  pop_queue: ['pop_queue', 'pop_queue'],
  multipath: ['multipath(symmetric_l4,1024,hrw,12,0,NXM_NX_REG0[0..3])', 'multipath(symmetric_l4,1024,hrw,12,0,NXM_NX_REG0[0..3])'],
  bundle: ['bundle(eth_src,0,active_backup,ofport,slaves:1,2)', 'bundle(eth_src,0,active_backup,ofport,members:1,2)'],
  bundle_load: ['bundle_load(eth_src,0,hrw,ofport,NXM_NX_REG0[],members:1,2)', 'bundle_load(eth_src,0,hrw,ofport,NXM_NX_REG0[],members:1,2)'],
  sample: ['sample(probability=100)', 'sample(probability=100,collector_set_id=0,obs_domain_id=0,obs_point_id=0)'],
  fin_timeout: ['fin_timeout(hard_timeout=10)', 'fin_timeout(hard_timeout=10)'],
};

/** Keywords that OVS turns into another action type in this context (the match says TCP). */
const NORMALISED = new Set(['mod_tp_src', 'mod_tp_dst', 'set_tunnel', 'set_tunnel64']);

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
        if (!NORMALISED.has(kw) || type === 'set_field') expect(acts.map((a) => a.type)).toContain(type);
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

/** Cases where our parser once differed from `ovs-ofctl -O OpenFlow15 parse-flow` (OVS 3.1); OVS's output or message. */
describe('parsing as ovs-ofctl parses', () => {
  const ok = (text: string): string => formatFlow(parseFlow(text));
  it('"drop" is refused only next to something else, in every nested list', () => {
    expect(ok('actions=drop,drop')).toBe('actions=drop');
    expect(ok('actions=clone(drop,drop)')).toBe('actions=clone(drop)');
    for (const t of ['ip,actions=write_actions(drop,output:1)', 'actions=clone(drop,output:1)', 'ip,actions=ct(exec(drop,set_field:1->ct_mark))', 'actions=drop,write_actions(drop)', 'actions=drop,goto_table:1']) {
      expect(() => parseFlow(t), t).toThrow('"drop" must not be accompanied by any other action or instruction');
    }
  });
  it('an empty write_actions is not encoded', () => {
    expect(ok('actions=output:1,write_actions(drop)')).toBe('actions=output:1');
    expect(ok('actions=write_actions(drop),goto_table:1')).toBe('actions=goto_table:1');
  });
  it('a huge token is not echoed whole in the error: cut, with its length (issue 14 item 6)', () => {
    const tok = 'x'.repeat(2_000_000);
    let err: unknown;
    try {
      parseFlow(`actions=${tok}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TextParseError);
    const e = err as TextParseError;
    expect(e.expected).toBe(`unknown action ${'x'.repeat(60)}... (2000000 characters)`);
    expect(e.message.length).toBeLessThan(300);
  });
  it('apply_actions is not a keyword', () => {
    expect(() => parseFlow('actions=apply_actions(output:1)')).toThrow('apply_actions is the default instruction');
  });
  it('mod_tp_* takes the ip_proto of the match as written (before normalisation drops it)', () => {
    // OVS then refuses the flow: set_field:443->tcp_dst without tcp is inconsistent.
    const f = parseFlow('nw_proto=6,actions=write_actions(mod_tp_dst:443,output:1)');
    expect(formatActionList(f.instructions.writeActions ?? [])).toBe('set_field:443->tcp_dst,output:1');
  });
  it('flags: numbers are exact unless masked, and bits outside the field are unknown', () => {
    expect(ok('ct_state=0/255,actions=drop')).toBe('ct_state=0 actions=drop');
    expect(parseFlow('ct_state=0,actions=drop').match.mask).toEqual(parseFlow('ct_state=0/0xff,actions=drop').match.mask);
    expect(ok('ct_state=0x21/0x23,actions=drop')).toBe('ct_state=+new-est+trk actions=drop');
    expect(ok('ct_state=trk|0x1,actions=drop')).toBe('ct_state=new|trk actions=drop');
    expect(ok('tcp,tcp_flags=syn|[800],actions=drop')).toBe('tcp,tcp_flags=syn|[800] actions=drop');
    expect(() => parseFlow('ct_state=0x100,actions=drop')).toThrow('0x100: unknown ct_state flag(s)');
    expect(() => parseFlow('ct_state=0/0x100,actions=drop')).toThrow('0/0x100: unknown ct_state flag(s)');
    expect(() => parseFlow('tcp,tcp_flags=0x1000,actions=drop')).toThrow('0x1000: unknown TCP flag(s)');
    expect(() => parseFlow('tcp,tcp_flags=+syn+syn,actions=drop')).toThrow('syn: Each TCP flag can be specified only once');
    expect(() => parseFlow('ct_state=+trkx,actions=drop')).toThrow('trkx: unknown ct_state flag(s)');
  });
});
