/**
 * The interpreter's hooks (`TraceHooks`): conntrack state asked per lookup with its zone
 * context, commits reported, executed flows and deliveries observed, ACL log events, and
 * learned load-balancer affinity (chk_lb_aff / commit_lb_aff), on a small stateful switch.
 */
import { describe, expect, test } from 'vitest';
import { NbBuilder, ovnTrace, traceTree, type TraceCtQuery, type TraceHooks } from '@ovnts/ovn';
import { CS } from '@ovnts/ovn/internal';

function net(affinityTimeout?: number) {
  const nb = new NbBuilder();
  const sw = nb.logicalSwitch('sw0');
  const p1 = sw.port('p1', { addresses: ['00:00:00:00:00:01 10.0.0.1'], portSecurity: ['00:00:00:00:00:01 10.0.0.1'] });
  sw.port('p2', { addresses: ['00:00:00:00:00:02 10.0.0.2'], portSecurity: ['00:00:00:00:00:02 10.0.0.2'] });
  sw.port('p3', { addresses: ['00:00:00:00:00:03 10.0.0.3'], portSecurity: ['00:00:00:00:00:03 10.0.0.3'] });
  const pg = nb.portGroup('pg1', [p1]);
  nb.acl(pg, { direction: 'from-lport', priority: 1001, match: 'inport == @pg1 && ip4', action: 'allow-related', log: true, name: 'allow-p1', severity: 'info' });
  const lb = nb.loadBalancer('lb0', { vips: { '10.0.0.100:80': '10.0.0.2:8080,10.0.0.3:8080' }, protocol: 'tcp', ...(affinityTimeout ? { affinityTimeout } : {}) });
  sw.addLoadBalancer(lb);
  return nb.build();
}

const toVip = 'inport == "p1" && eth.src == 00:00:00:00:00:01 && eth.dst == 00:00:00:00:00:02 && ip4.src == 10.0.0.1 && ip4.dst == 10.0.0.100 && ip.ttl == 64 && tcp.src == 40000 && tcp.dst == 80';

describe('trace hooks', () => {
  const db = net();

  test('without hooks the trace is ovn-trace\'s', () => {
    const a = ovnTrace(db, null, toVip, { format: 'minimal', ct: ['new', 'new'], lbDst: '10.0.0.2:8080' });
    const b = ovnTrace(db, null, toVip, { format: 'minimal', ct: ['new', 'new'], lbDst: '10.0.0.2:8080', hooks: {} });
    expect(b).toBe(a);
    expect(a).toContain('output("p2")'); // delivered by eth.dst; the LB rewrote ip4.dst
    expect(a).toContain('ct_lb_mark');
  });

  test('ct lookups ask the hook with their zone; commits, flows, deliveries and logs are reported', () => {
    const asked: string[] = [];
    const commits: string[] = [];
    const stages = new Set<string>();
    const out: string[] = [];
    const logs: string[] = [];
    const hooks: TraceHooks = {
      ctState: (q: TraceCtQuery) => {
        asked.push(`${q.action}@${q.dp.name}/${q.pipeline}/${q.pipeline === 'ingress' ? q.inport : q.outport}`);
        return CS.NEW | CS.TRK;
      },
      ctLbNat: () => null,
      ctCommit: (q) => void commits.push(`${q.action}@${q.pipeline}`),
      flow: (_dp, _pl, lf) => void stages.add(lf.flow.stage),
      delivered: (_dp, _p, name, f) => void out.push(`${name} ${f.nw_dst.toString(16)}:${f.tp_dst}`),
      log: (e) => void logs.push(`${e.name} ${e.verdict} ${e.severity}`),
    };
    traceTree(db, null, toVip, { lbDst: '10.0.0.2:8080', hooks });
    expect(asked[0]).toBe('ct_lb_mark@sw0/ingress/p1');
    expect(asked.some((a) => a.endsWith('egress/p2'))).toBe(true);
    expect(commits).toContain('ct_lb_mark@ingress');
    expect(commits).toContain('ct_commit@egress');
    expect(stages.has('ls_in_lb')).toBe(true);
    expect(out).toEqual(['p2 a000002:8080']);
    expect(logs).toEqual(['allow-p1 allow info']);
  });

  test('learned affinity: commit_lb_aff is reported and chk_lb_aff answers from the hook', () => {
    const db = net(30);
    const learned: string[] = [];
    let table: { ip: bigint; port: number } | undefined;
    const hooks: TraceHooks = {
      ctState: () => CS.NEW | CS.TRK,
      ctLbNat: () => null,
      learnLbAffinity: (_dp, f, a) => {
        learned.push(`${f.nw_src.toString(16)} ${a.vip.ip}:${a.vip.port} -> ${a.backend.ip}:${a.backend.port} ${a.proto} ${a.timeout}`);
        table = { ip: BigInt(`0x${a.backend.ip.split('.').map((x) => Number(x).toString(16).padStart(2, '0')).join('')}`), port: a.backend.port };
      },
      lbAffinity: () => table,
    };
    const out: string[] = [];
    hooks.delivered = (_dp, _p, name, f) => void out.push(`${name} ${f.nw_dst.toString(16)}`);
    traceTree(db, null, toVip, { lbDst: '10.0.0.2:8080', hooks });
    expect(learned).toEqual(['a000001 10.0.0.100:80 -> 10.0.0.2:8080 tcp 30']);
    // The next connection asks for another backend, but the learned flow pins it to 10.0.0.3.
    const t = traceTree(db, null, toVip.replace('40000', '40001'), { lbDst: '10.0.0.3:8080', hooks });
    // OVN 23.03's ls_in_lb_aff_learn flow has no `next;`: the packet that learns is dropped
    // (a TCP client's retransmitted SYN then hits the learned flow); the second trace is delivered.
    expect(out).toEqual(['p2 a000002']);
    expect(JSON.stringify(t.root)).toContain('learned affinity: backend 10.0.0.2:8080');
  });
});
