import { describe, expect, it } from 'vitest';
import { Switch } from '@ovnts/openflow';
import { OpPool, compileInstructions, parseFlow } from '@ovnts/openflow/internal';

const ops = (text: string) => compileInstructions(parseFlow(text, { command: 'add' }).instructions);

describe('OpPool: flows with the same stateless actions share one prepared list', () => {
  it('shares equal lists of shareable actions and keeps the rest apart', () => {
    const pool = new OpPool(() => 0);
    const a = pool.share(ops('reg0=1,actions=set_field:0x1->reg1,goto_table:3'));
    expect(pool.share(ops('reg0=2,actions=set_field:0x1->reg1,goto_table:3'))).toBe(a);
    expect(pool.share(ops('reg0=3,actions=set_field:0x2->reg1,goto_table:3'))).not.toBe(a);
    const drop = pool.share(ops('reg0=4,actions=drop'));
    expect(pool.share(ops('reg0=5,actions=drop'))).toBe(drop);
    // learn and ct are not shareable: each flow keeps its own list.
    const learn = 'actions=learn(table=1,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])';
    const l1 = pool.share(ops(learn));
    expect(pool.share(ops(learn))).not.toBe(l1);
    const ct = 'ip,actions=ct(commit,zone=1),goto_table:2';
    expect(pool.share(ops(ct))).not.toBe(pool.share(ops(ct)));
  });

  it('forgets its lists once they outnumber twice the live flows (plus a margin), so churn cannot grow it', () => {
    let live = 0;
    const pool = new OpPool(() => live);
    for (let i = 0; i < 20_000; i++) pool.share(ops(`actions=set_field:${i}->reg0`));
    expect(pool.size).toBeLessThanOrEqual(2 * live + 4096 + 1);
    live = 10_000;
    for (let i = 0; i < 20_000; i++) pool.share(ops(`actions=set_field:${i}->reg1`));
    expect(pool.size).toBeLessThanOrEqual(2 * live + 4096 + 1);
    expect(pool.size).toBeGreaterThan(4096);
  });

  it('a switch shares the lists between its flows and still runs each flow as written', () => {
    const out: Array<[number, number]> = [];
    const sw = new Switch({ onOutput: (port, frame) => out.push([port, frame[5]!]) });
    for (let p = 1; p <= 3; p++) sw.addPort({ number: p });
    sw.addFlows([
      'table=0,in_port=1,actions=set_field:02:00:00:00:00:07->eth_dst,goto_table:1',
      'table=0,in_port=2,actions=set_field:02:00:00:00:00:07->eth_dst,goto_table:1',
      'table=1,priority=5,actions=output:3',
    ].join('\n'));
    const [e1, e2] = sw.flows().filter((e) => e.flow.table === 0);
    expect(e1!.ops).toBe(e2!.ops);
    // Modifying one flow gives it a new list; the other keeps the shared one.
    sw.modFlows('table=0,in_port=2,actions=set_field:02:00:00:00:00:09->eth_dst,goto_table:1', { strict: false });
    const [f1, f2] = sw.flows().filter((e) => e.flow.table === 0);
    expect(f1!.ops).not.toBe(f2!.ops);
    const frame = new Uint8Array(60);
    frame[12] = 0x88;
    frame[13] = 0xb5;
    sw.receive(1, frame);
    sw.receive(2, frame);
    expect(out).toEqual([[3, 7], [3, 9]]);
    expect(sw.flows().map((e) => e.packets)).toEqual(sw.flows().map((e) => (e.flow.table === 0 ? 1 : 2)));
  });
});
