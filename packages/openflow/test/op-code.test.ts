/**
 * op-code.ts: the flat programs a miss runs instead of the op objects. The differential proof that
 * a program does what the interpreter does is flowcache.test.ts (a switch without caches, which
 * runs the programs, against one recording every miss through the interpreter, on random tables
 * and frames) and chassis' cluster-cache test (OVN's pipeline, both ways); here: what is compiled,
 * that a modified flow runs its new actions, and that the store cannot grow without bound.
 */
import { describe, expect, it } from 'vitest';
import { Switch } from '@ovnts/openflow';
import { Instr, OpCode, compileInstructions, parseFlow } from '@ovnts/openflow/internal';

const ops = (text: string) => compileInstructions(parseFlow(text, { command: 'add' }).instructions);

/** A 60-byte IPv4/UDP frame from 10.0.0.1 to 10.0.0.2 with TTL `ttl`. */
function udp(ttl: number): Uint8Array {
  const f = new Uint8Array(60);
  f.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 46, 0, 0, 0, 0, ttl, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  f.set([0x30, 0x39, 0x00, 0x35, 0, 26], 34);
  return f;
}

function uncached(out: Array<[number, string]>): Switch {
  const sw = new Switch({ flowCache: false, onOutput: (port, frame) => out.push([port, Buffer.from(frame).toString('hex')]) });
  for (let p = 1; p <= 3; p++) sw.addPort({ number: p });
  return sw;
}

describe('OpCode: shareable action lists as flat programs', () => {
  it('compiles each list once, encodes the common ops natively and the rest as SLOW; unshareable lists get none', () => {
    const code = new OpCode(() => 0);
    const list = ops('ip,actions=dec_ttl,set_field:0x5->reg0,set_field:02:00:00:00:00:01->eth_src,move:NXM_OF_IP_DST[]->NXM_NX_REG1[],output:2,goto_table:3');
    const at = code.compile(list);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(code.compile(list)).toBe(at);
    const c = code.code;
    expect(c[at]).toBe(6);
    const kinds: number[] = [];
    const width: Record<number, number> = { [Instr.Set1]: 8, [Instr.Set2]: 7, [Instr.Resubmit]: 3, [Instr.Output]: 3, [Instr.DecTtl]: 1, [Instr.Slow]: 1 };
    for (let p = at + 1, i = 0; i < c[at]!; i++) {
      kinds.push(c[p]!);
      p += width[c[p]!]!;
    }
    expect(kinds).toEqual([Instr.DecTtl, Instr.Set1, Instr.Set2, Instr.Slow, Instr.Output, Instr.Resubmit]);
    expect(code.compile(ops('ip,actions=ct(commit),output:1'))).toBe(-1);
    expect(code.compile(ops('actions=drop'))).toBeGreaterThanOrEqual(0);
  });

  it('runs the same frames out of a switch without caches as through the interpreter, TTL exceptions included', () => {
    const flows = [
      'table=0,priority=10,in_port=1,ip,actions=set_field:0x7->reg3,dec_ttl,goto_table:1',
      'table=1,priority=10,ip,reg3=7,actions=set_field:02:00:00:00:00:09->eth_dst,move:NXM_OF_IP_SRC[]->NXM_NX_REG0[],output:2,resubmit(,2)',
      'table=2,priority=10,reg0=0x0a000001,actions=output:3',
    ].join('\n');
    const a: Array<[number, string]> = [];
    const b: Array<[number, string]> = [];
    const sa = uncached(a);
    const sb = new Switch({ onOutput: (port, frame) => b.push([port, Buffer.from(frame).toString('hex')]) });
    for (let p = 1; p <= 3; p++) sb.addPort({ number: p });
    sa.addFlows(flows);
    sb.addFlows(flows);
    for (const ttl of [64, 2, 1, 0]) {
      sa.receive(1, udp(ttl));
      sb.receive(1, udp(ttl));
    }
    expect(a.length).toBe(4);
    expect(a).toEqual(b);
    expect(sa.flows().map((e) => `${e.packets}/${e.bytes}`)).toEqual(sb.flows().map((e) => `${e.packets}/${e.bytes}`));
  });

  it('a modified flow runs its new actions (its rule is retagged)', () => {
    const out: Array<[number, string]> = [];
    const sw = uncached(out);
    sw.addFlow('table=0,priority=1,in_port=1,actions=output:2');
    sw.receive(1, udp(64));
    sw.modFlows('table=0,in_port=1,actions=output:3');
    const e = sw.flows()[0]!;
    expect(e.rule!.tag).toBe(sw.opCode.compile(e.ops));
    sw.receive(1, udp(64));
    expect(out.map(([p]) => p)).toEqual([2, 3]);
  });

  it('rebuilds the store when flows come and go with distinct actions, and the flows left still run theirs', () => {
    const out: Array<[number, string]> = [];
    const sw = uncached(out);
    sw.addFlow('table=0,priority=1,in_port=1,actions=set_field:0x2a->reg5,goto_table:1');
    sw.addFlow('table=1,priority=1,reg5=0x2a,actions=output:3');
    for (let i = 0; i < 12_000; i++) {
      sw.addFlow(`table=2,priority=1,reg1=${i},actions=set_field:${i}->reg2,output:2`);
      sw.delFlows(`table=2,reg1=${i}`);
    }
    expect(sw.opCode.size).toBeLessThanOrEqual(2 * 2 + 4096 + 1);
    for (const e of sw.flows()) expect(e.rule!.tag).toBe(sw.opCode.compile(e.ops));
    sw.receive(1, udp(64));
    expect(out.map(([p]) => p)).toEqual([3]);
  });
});
