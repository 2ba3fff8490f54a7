/**
 * What makes tracing many packets cheap must not change a trace: flows prepared on demand through
 * the shared memo, matches compiled to predicates, packets given as flows instead of microflow
 * text, and traces run without a tree.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CS, Tracer, compileMatch } from '@ovnts/ovn/internal';
import {
  NbBuilder,
  emptyFlow,
  loadNbFile,
  minimalText,
  traceDb,
  traceFlowTree,
  traceTree,
  type TraceFlow,
  type TraceHooks,
} from '@ovnts/ovn';
import { TRACE_FIXTURES, corpusCases } from './corpus.js';

const SEED = Number(process.env.FC_SEED ?? 20250101);

/** Values a packet field takes: the constants the flows compare it with, and a few others. */
function packetArb(ports: number[], addrs4: bigint[], macs: bigint[]): fc.Arbitrary<TraceFlow> {
  const pick = <T,>(xs: T[], ...more: T[]) => fc.constantFrom(...xs, ...more);
  return fc
    .record({
      dlType: fc.constantFrom(0x800n, 0x86ddn, 0x806n),
      proto: fc.constantFrom(1n, 2n, 6n, 17n, 58n, 132n),
      inport: pick(ports, 0),
      outport: pick(ports, 0, 32768),
      src4: pick(addrs4, 0n, 0xe0000001n),
      dst4: pick(addrs4, 0xffffffffn, 0xe0000016n),
      dlSrc: pick(macs, 0x010000000000n),
      dlDst: pick(macs, 0xffffffffffffn, 0x01005e000001n),
      tpSrc: fc.constantFrom(0n, 67n, 68n, 135n, 136n, 128n, 8n, 40000n),
      tpDst: fc.constantFrom(0n, 53n, 67n, 80n, 546n, 547n, 8080n),
      ct: fc.bigInt({ min: 0n, max: 0xffn }),
      reg0: fc.bigInt({ min: 0n, max: 0xffffffffn }),
      reg8: fc.bigInt({ min: 0n, max: 0xffffffffn }),
      reg10: fc.bigInt({ min: 0n, max: 0x3ffn }),
      ttl: fc.constantFrom(0n, 1n, 64n, 255n),
    })
    .map((r) => {
      const f = emptyFlow();
      f.dl_type = r.dlType;
      f.nw_proto = r.proto;
      f.regs[14] = BigInt(r.inport);
      f.regs[15] = BigInt(r.outport);
      f.nw_src = r.src4;
      f.nw_dst = r.dst4;
      f.ipv6_dst = r.dst4 === 0xffffffffn ? 0xff020000000000000000000000000001n : r.dst4;
      f.dl_src = r.dlSrc;
      f.dl_dst = r.dlDst;
      f.tp_src = r.tpSrc;
      f.tp_dst = r.tpDst;
      f.ct_state = r.ct;
      f.regs[0] = r.reg0;
      f.regs[8] = r.reg8;
      f.regs[10] = r.reg10;
      f.nw_ttl = r.ttl;
      return f;
    });
}

describe('compiled matches', () => {
  const names = corpusCases(TRACE_FIXTURES);
  test('the corpus is there', () => expect(names.length).toBeGreaterThan(10));
  // A sample of the corpus topologies: every flow of every datapath, random packets.
  test.each(names.filter((_, i) => i % 4 === 0))('%s: the predicate answers what Tracer.evaluate answers, the text precheck rejects only non-matches', (name) => {
    const db = loadNbFile(join(TRACE_FIXTURES, `${name}.nb.db`));
    const t = traceDb(db);
    const tracer = new Tracer(t);
    const ports = [...t.ports.values()].map((p) => p.key);
    const addrs4 = [...t.addressSets.values()].flat().filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)).map((a) => BigInt(a.split('.').reduce((n, o) => n * 256 + Number(o), 0)));
    const macs = [0x0a0000000001n, 0x000000000001n, 0x00000000ff01n];
    let checked = 0;
    let held = 0;
    let rejected = 0;
    for (const dp of t.datapaths) {
      const flows = [...dp.flows.values()].flat();
      const preds = flows.map((lf) => compileMatch(lf.match, t.ports, dp));
      fc.assert(
        fc.property(packetArb(ports, addrs4, macs), (f) => {
          flows.forEach((lf, i) => {
            const want = tracer.evaluate(lf.match, f, dp);
            expect(preds[i]!(f), `${dp.name} ${lf.flow.stage} ${lf.flow.match}`).toBe(want);
            // The text precheck is a necessary condition: it may only reject what does not match.
            const pre = lf.precheck;
            if (pre && !pre(f)) {
              expect(want, `precheck rejected a match: ${dp.name} ${lf.flow.stage} ${lf.flow.match}`).toBe(false);
              rejected++;
            }
            checked++;
            if (want) held++;
          });
        }),
        { seed: SEED, numRuns: 40 },
      );
    }
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(checked);
    expect(rejected).toBeGreaterThan(0);
  });
});

function aclNet(members: string[]) {
  const nb = new NbBuilder();
  const sw = nb.logicalSwitch('sw0');
  sw.port('p1', { addresses: ['00:00:00:00:00:01 10.0.0.1'] });
  sw.port('p2', { addresses: ['00:00:00:00:00:02 10.0.0.2'] });
  nb.addressSet('allowed', members);
  nb.acl(sw, { direction: 'to-lport', priority: 1001, match: 'ip4.src == $allowed', action: 'allow' });
  nb.acl(sw, { direction: 'to-lport', priority: 1000, match: 'ip4', action: 'drop' });
  return nb.build();
}

const p1ToP2 = 'inport == "p1" && eth.src == 00:00:00:00:00:01 && eth.dst == 00:00:00:00:00:02 && ip4.src == 10.0.0.1 && ip4.dst == 10.0.0.2 && ip.ttl == 64 && udp.src == 5000 && udp.dst == 53';

describe('prepared flows', () => {
  test('the memo is keyed on what the named sets hold', () => {
    // Same flow texts, different address set contents: each database traces by its own.
    const allow = traceTree(aclNet(['10.0.0.1']), null, p1ToP2);
    const deny = traceTree(aclNet(['10.0.0.9']), null, p1ToP2);
    expect(minimalText(allow.root)).toContain('output("p2")');
    expect(minimalText(deny.root)).not.toContain('output("p2")');
  });

  test('a flow that does not parse is skipped, and reported', () => {
    const nb = new NbBuilder();
    const sw = nb.logicalSwitch('sw0');
    sw.port('p1', { addresses: ['00:00:00:00:00:01 10.0.0.1'] });
    sw.port('p2', { addresses: ['00:00:00:00:00:02 10.0.0.2'] });
    nb.acl(sw, { direction: 'to-lport', priority: 1001, match: 'ip4.src == $no_such_set', action: 'drop' });
    const db = nb.build();
    expect(minimalText(traceTree(db, null, p1ToP2).root)).toContain('output("p2")');
    // (Without NB_Global svc_monitor_mac, the service-monitor flows are skipped too, as by ovn-trace.)
    const skipped = traceDb(db).skipped.filter((s) => !s.flow.match.includes('$svc_monitor_mac'));
    expect(skipped.map((s) => s.flow.match)).toEqual(['ip4.src == $no_such_set']);
    expect(skipped[0]!.error).toMatch(/address set/);
  });

  test('a packet given as a flow traces as its microflow does; without a tree the hooks see the same', () => {
    const db = aclNet(['10.0.0.1']);
    const t = traceDb(db);
    const p1 = t.ports.get('p1')!;
    const f = emptyFlow();
    f.regs[14] = BigInt(p1.key);
    f.dl_src = 1n;
    f.dl_dst = 2n;
    f.dl_type = 0x800n;
    f.nw_src = 0x0a000001n;
    f.nw_dst = 0x0a000002n;
    f.nw_ttl = 64n;
    f.nw_proto = 17n;
    f.tp_src = 5000n;
    f.tp_dst = 53n;
    const fromText = traceTree(db, null, p1ToP2, { ct: ['new'] });
    const fromFlow = traceFlowTree(db, p1.dp, f, { ct: ['new'] });
    expect(fromFlow.header).toBe(fromText.header);
    expect(minimalText(fromFlow.root)).toBe(minimalText(fromText.root));
    const seen = (tree: boolean) => {
      const ev: string[] = [];
      const hooks: TraceHooks = {
        ctState: () => CS.NEW | CS.TRK,
        flow: (dp, pl, lf) => void ev.push(`${dp.name} ${pl} ${lf.flow.stage} ${lf.flow.priority}`),
        delivered: (_dp, _p, name) => void ev.push(`out ${name}`),
      };
      const r = traceFlowTree(db, 'sw0', f, { hooks, tree });
      return { ev, subs: r.root[0]!.subs.length };
    };
    const a = seen(true);
    const b = seen(false);
    expect(b.ev).toEqual(a.ev);
    expect(a.ev).toContain('out p2');
    expect(a.subs).toBeGreaterThan(0);
    expect(b.subs).toBe(0);
  });
});
