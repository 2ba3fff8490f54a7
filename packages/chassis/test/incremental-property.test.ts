/**
 * Incremental processing, property (issue 9, item 4): a chassis brought through a random sequence
 * of northbound states — pods added and removed, ACLs with conjunctive matches (several sharing
 * clause flows) added and removed, port-group and address-set members, load-balancer backends,
 * a meter row and a second router port (datapath and meter changes force a full recompute, so
 * sequences mix recomputes and incremental updates) — holds exactly the flows and groups of a fresh
 * build of the step's southbound database: in its desired tables (`updateChassisTables`) after
 * every step; on its switch (`ChassisCluster.updateSouthbound`, groups by content and the number
 * of flows) after the last.
 *
 * CHASSIS_INC_SEED and CHASSIS_INC_RUNS replay a failure or run longer; the seed is printed.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { NbBuilder, compileNorthd, setDatum, type SbDatabase } from '@ovnts/ovn';
import { ChassisCluster, clusterConfig, computeChassisTables, dumpFlows, dumpGroups, parseChassisMap, updateChassisTables, type ChassisTables } from '@ovnts/chassis';
import { formatGroup, formatGroupProps } from '@ovnts/openflow';
import { normalizeChassisDump } from '@ovnts/testkit';

const PODS = 6;
const ADDRS = ['10.128.0.2', '10.128.0.3', '10.128.0.4', '10.128.1.2', '10.128.1.3', '10.128.1.4'];
const BACKENDS = ['10.128.0.2:8080', '10.128.0.3:8080', '10.128.1.2:8080', '10.128.1.3:8080'];
/** ACLs on port groups; the first three share clause flows (same priority, same `ip4.src` or `tcp.dst` dimension). */
const ACLS: { pg: 0 | 1; direction: 'to-lport' | 'from-lport'; priority: number; match: string; action: 'allow-related' | 'drop' | 'allow' }[] = [
  { pg: 0, direction: 'to-lport', priority: 1001, match: 'outport == @pg0 && ip4.src == $as0 && tcp.dst == {80, 443}', action: 'allow-related' },
  { pg: 1, direction: 'to-lport', priority: 1001, match: 'outport == @pg1 && ip4.src == $as0 && tcp.dst == {80, 8080}', action: 'allow-related' },
  { pg: 1, direction: 'to-lport', priority: 1001, match: 'outport == @pg1 && ip4.src == $as1 && tcp.dst == {80, 443}', action: 'allow-related' },
  { pg: 0, direction: 'to-lport', priority: 1000, match: 'outport == @pg0 && ip4', action: 'drop' },
  { pg: 1, direction: 'from-lport', priority: 1002, match: 'inport == @pg1 && ip4.dst == {$as0, $as1} && udp.dst == {53, 5353}', action: 'allow' },
  { pg: 0, direction: 'from-lport', priority: 1002, match: 'inport == @pg0 && tcp.dst == 22', action: 'drop' },
];

/** One northbound state. */
interface State {
  readonly pods: readonly boolean[];
  readonly pg: readonly (readonly boolean[])[];
  readonly as: readonly (readonly boolean[])[];
  readonly acls: readonly boolean[];
  readonly backends: readonly boolean[];
  readonly meter: boolean;
  readonly extraRouterPort: boolean;
}

const bools = (n: number) => fc.array(fc.boolean(), { minLength: n, maxLength: n });
const stateArb: fc.Arbitrary<State> = fc.record({
  pods: bools(PODS),
  pg: fc.tuple(bools(PODS), bools(PODS)),
  as: fc.tuple(bools(ADDRS.length), bools(ADDRS.length)),
  acls: bools(ACLS.length),
  backends: bools(BACKENDS.length),
  meter: fc.boolean(),
  extraRouterPort: fc.boolean(),
});

/** Two node switches behind a router; pods 0-2 on node-0, 3-5 on node-1. */
function network(s: State): NbBuilder {
  const nb = new NbBuilder();
  const lr = nb.router('lr0');
  const pods: { i: number; h: ReturnType<ReturnType<NbBuilder['logicalSwitch']>['port']> }[] = [];
  const switches = [0, 1].map((i) => {
    const sw = nb.logicalSwitch(`node-${i}`);
    lr.port(`rtos-${i}`, { mac: `0a:58:0a:80:0${i}:01`, networks: [`10.128.${i}.1/24`] });
    sw.port(`stor-${i}`, { type: 'router', addresses: ['router'], options: { 'router-port': `rtos-${i}` } });
    return sw;
  });
  for (let p = 0; p < PODS; p++) {
    if (!s.pods[p]) continue;
    const sw = p < 3 ? 0 : 1;
    const addr = `0a:58:0a:80:0${sw}:0${(p % 3) + 2} ${ADDRS[p]}`;
    pods.push({ i: p, h: switches[sw]!.port(`pod-${p}`, { addresses: [addr], portSecurity: [addr] }) });
  }
  const pgs = [0, 1].map((g) => nb.portGroup(`pg${g}`, pods.filter((x) => s.pg[g]![x.i]).map((x) => x.h)));
  [0, 1].forEach((a) => nb.addressSet(`as${a}`, ADDRS.filter((_x, i) => s.as[a]![i])));
  if (s.meter) nb.meter('acl-meter', { unit: 'pktps', bands: [{ rate: 100 }] });
  ACLS.forEach((a, i) => {
    if (!s.acls[i]) return;
    const log = i === 3 && s.meter ? { log: true, meter: 'acl-meter', name: 'drop-ip4' } : {};
    nb.acl(pgs[a.pg]!, { direction: a.direction, priority: a.priority, match: a.match, action: a.action, ...log });
  });
  const backends = BACKENDS.filter((_b, i) => s.backends[i]);
  const lb = nb.loadBalancer('svc0', { vips: { '172.30.0.1:80': backends.join(',') }, protocol: 'tcp' });
  for (const sw of switches) nb.set(sw, 'load_balancer', setDatum([lb.uuid]));
  if (s.extraRouterPort) {
    const sw = nb.logicalSwitch('join');
    lr.port('rtoj', { mac: '0a:58:64:40:00:01', networks: ['100.64.0.1/16'] });
    sw.port('jtor', { type: 'router', addresses: ['router'], options: { 'router-port': 'rtoj' } });
  }
  return nb;
}

const MAP_TEXT = 'pod-0 hv1\npod-1 hv1\npod-2 hv2\npod-3 hv2\npod-4 hv2\npod-5 hv1\n';
const cluster = clusterConfig(parseChassisMap(MAP_TEXT));

/**
 * Conjunction ids named by what they conjoin (each id's clause flows, without cookies), and the
 * actions of a merged conjunction flow sorted: which id an update or a recompute gives a
 * conjunction, and in which order a merged flow met its clauses, do not change what it matches.
 */
function sortConj(raw: readonly string[]): string[] {
  const lines = raw.map((l) => l.trim());
  const clauses = new Map<string, string[]>();
  const conjRe = /conjunction\((\d+),(\d+\/\d+)\)/g;
  for (const l of lines) {
    const m = /^(.*) actions=((?:conjunction\(\d+,\d+\/\d+\),?)+)$/.exec(l);
    if (!m) continue;
    const where = m[1]!.replace(/cookie=0x[0-9a-f]+, /, '');
    for (const [, id, k] of m[2]!.matchAll(conjRe)) {
      let c = clauses.get(id!);
      if (!c) clauses.set(id!, (c = []));
      c.push(`${where} ${k}`);
    }
  }
  const sig = [...clauses].map(([id, c]) => [id, c.sort().join('|')] as const).sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const rename = new Map(sig.map(([id], i) => [id, String(1_000_000 + i)]));
  return lines.map((l) =>
    l
      .replace(/conj_id=(\d+)/, (_m, id: string) => `conj_id=${rename.get(id) ?? id}`)
      .replace(conjRe, (_m, id: string, k: string) => `conjunction(${rename.get(id) ?? id},${k})`)
      .replace(/actions=((?:conjunction\(\d+,\d+\/\d+\),?)+)$/, (_m, a: string) => `actions=${a.split('),').map((x) => x.replace(/\)?$/, ')')).sort().join(',')}`),
  );
}

function text(t: ChassisTables): string[] {
  const n = normalizeChassisDump(sortConj(dumpFlows(t.flows)), dumpGroups(t.groups));
  return [...n.flows, ...n.groups];
}

/**
 * What a switch holds, ids aside: its groups by content and its number of flows (the flows
 * themselves are compared in the desired tables, which `sync` installs key by key).
 */
function switchText(c: ChassisCluster, name: string): string[] {
  const sw = c.nodes.find((x) => x.name === name)!.sw;
  const groups = [...sw.groups.values()].map((e) => (formatGroup({ ...e.group, groupId: 0 }) + formatGroupProps(e.props)).replace(/^group_id=0,/, '')).sort();
  return [`${sw.flows().length} flows`, ...groups];
}

describe('incremental updates along random northbound sequences equal a fresh build', () => {
  test('desired tables at every step, switches at the last', () => {
    const seed = Number(process.env.CHASSIS_INC_SEED ?? Date.now() % 0x7fffffff);
    const numRuns = Number(process.env.CHASSIS_INC_RUNS ?? 5);
    console.log(`incremental property: seed ${seed}, ${numRuns} runs (CHASSIS_INC_SEED=${seed} to replay)`);
    const counts = { steps: 0, recomputed: 0, incremental: 0, touched: 0 };
    fc.assert(
      fc.property(fc.array(stateArb, { minLength: 3, maxLength: 5 }), (states) => {
        let sb: SbDatabase = compileNorthd(network(states[0]!).build()).sb;
        const tables = cluster.members.map((m) => computeChassisTables(sb, m, cluster.facts));
        const running = new ChassisCluster(sb, cluster);
        for (let i = 1; i < states.length; i++) {
          sb = compileNorthd(network(states[i]!).build(), { previous: sb }).sb;
          running.updateSouthbound(sb);
          // The switches are compared at the last step (a stale group or flow stays there).
          const fresh = i === states.length - 1 ? new ChassisCluster(sb, cluster) : undefined;
          cluster.members.forEach((m, k) => {
            const r = updateChassisTables(tables[k]!, sb);
            counts.steps++;
            if (r.recomputed) counts.recomputed++;
            else {
              counts.incremental++;
              counts.touched += r.touched;
            }
            const want = text(computeChassisTables(sb, m, cluster.facts));
            expect(text(tables[k]!), `step ${i} on ${m.name}: ${JSON.stringify(states[i])}`).toEqual(want);
            if (fresh) expect(switchText(running, m.name), `switch, step ${i} on ${m.name}`).toEqual(switchText(fresh, m.name));
          });
        }
      }),
      { seed, numRuns },
    );
    console.log(`incremental property: ${counts.steps} chassis updates, ${counts.incremental} incremental (${Math.round(counts.touched / Math.max(1, counts.incremental))} flow keys touched on average), ${counts.recomputed} recomputed`);
    // Both paths, and an incremental update after a recompute, are exercised.
    expect(counts.incremental).toBeGreaterThan(0);
    expect(counts.recomputed).toBeGreaterThan(0);
  }, 120_000);
});
