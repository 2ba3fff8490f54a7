/**
 * Incremental processing, property (issue 9, item 4): a chassis brought through a random sequence
 * of northbound states — pods added and removed, ACLs with conjunctive matches (several sharing
 * clause flows) added and removed, port-group and address-set members, load-balancer backends,
 * a meter row and a second router port (datapath and meter changes force a full recompute, so
 * sequences mix recomputes and incremental updates) — holds exactly the flows and groups of a fresh
 * build of the step's southbound database (under the normalisation of `normalized` below): in its
 * desired tables (`updateChassisTables`) after every step; on its switch
 * (`ChassisCluster.updateSouthbound`: every flow and group installed) after the last.
 *
 * CHASSIS_INC_SEED and CHASSIS_INC_RUNS replay a failure or run longer; the seed is printed.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compileNorthd, type SbDatabase } from '@ovnts/ovn';
import { ChassisCluster, computeChassisTables, dumpFlows, dumpGroups, updateChassisTables, type ChassisTables } from '@ovnts/chassis';
import { formatGroup, formatGroupProps } from '@ovnts/openflow';
import { normalizeChassisDump } from '@ovnts/testkit';
import { cluster, coveringSequence, network, stateArb } from './nb-states.js';


/**
 * The normalisation of a chassis's flows for comparing an incrementally updated chassis with a
 * fresh build of the same southbound database:
 * - the `conjunction(...)` actions of a clause flow that several logical flows share are sorted
 *   (by id, then clause). The update removes and re-adds only the changed logical flow, so its
 *   conjunction comes last, where the fresh build merges them in the order it meets the logical
 *   flows. ovn-controller 23.03 differs the same way: `ofctrl_add_or_append_flow` appends, its
 *   recompute meets logical flows in the IDL's order and its incremental path re-adds the flows
 *   sharing a merged flow in the order of its flood-remove set. The order means nothing to OVS
 *   (a clause sets its bit whatever its position). Conjunction ids are compared as they are:
 *   both paths allocate `hash(lflow uuid, datapath uuid)` (`lflow_conj_ids_alloc`), so they are
 *   equal unless two hashes collide;
 * - ct zones (`reg11`-`reg13` loads) are renumbered by first appearance: a running chassis keeps
 *   the zone of each port (ovn-controller persists them) while a fresh one assigns them in order;
 * - group and meter ids are renumbered by first appearance (in flows and groups alike): the
 *   extend tables hand out the lowest free id, which depends on the history of allocations, in
 *   ovn-controller as here.
 * Everything else (tables, priorities, matches, cookies, actions) must be equal.
 */
function sortConjActions(lines: readonly string[]): string[] {
  const key = (a: string): [number, number] => {
    const m = /^conjunction\((\d+),(\d+)\//.exec(a)!;
    return [Number(m[1]), Number(m[2])];
  };
  return lines.map((l) =>
    l.trim().replace(/actions=((?:conjunction\(\d+,\d+\/\d+\),?)+)$/, (_m, a: string) => {
      const acts = a.split(/,(?=conjunction)/).sort((x, y) => key(x)[0] - key(y)[0] || key(x)[1] - key(y)[1]);
      return `actions=${acts.join(',')}`;
    }),
  );
}

/** Flows and groups under the normalisation above. */
function normalized(flows: readonly string[], groups: readonly string[]): string[] {
  const n = normalizeChassisDump(sortConjActions(flows), groups, { keep: ['cookie', 'conj'] });
  return [...n.flows, ...n.groups];
}

function text(t: ChassisTables): string[] {
  return normalized(dumpFlows(t.flows), dumpGroups(t.groups));
}

/** What a switch holds: every flow (without its statistics) and every group. */
function switchText(c: ChassisCluster, name: string): string[] {
  const sw = c.nodes.find((x) => x.name === name)!.sw;
  const groups = [...sw.groups.values()].map((e) => formatGroup(e.group) + formatGroupProps(e.props));
  return normalized(sw.dumpFlows().map((l) => l.replace(/ (duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*,/g, '')), groups);
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
      // The covering sequence first: both paths are exercised whatever the seed draws.
      { seed, numRuns, examples: [[coveringSequence()]] },
    );
    console.log(`incremental property: ${counts.steps} chassis updates, ${counts.incremental} incremental (${Math.round(counts.touched / Math.max(1, counts.incremental))} flow keys touched on average), ${counts.recomputed} recomputed`);
    // Both paths, and an incremental update after a recompute, are exercised.
    expect(counts.incremental).toBeGreaterThan(0);
    expect(counts.recomputed).toBeGreaterThan(0);
  }, 120_000);
});
