/**
 * A/B comparison of two builds of `@ovnts/chassis` in ONE process, on the same machine load: the
 * current build (the workspace's) against a baseline build given on the command line (a copy of
 * `packages/chassis/dist` from another commit, kept outside the repository while measuring, with
 * a `node_modules` symlink next to it so it resolves `@ovnts/openflow` and `@ovnts/ovn`).
 *
 *     node --expose-gc benchmarks/dist/chassis-ab.js /tmp/base/dist/index.js [NODESxPODS] [rounds]
 *
 * On the OVN-Kubernetes-shaped network (default 200x20, `chassis-network.ts`), one chassis
 * (node-0's pods): each build computes the tables once (timed; memory retained = V8 heap +
 * ArrayBuffers after GC), both must print the same flows; then one more pod and one more ACL
 * are applied and undone with `updateChassisTables` given the changed rows, the two builds
 * alternating (A B, then B A), `rounds` times; medians of wall clock and CPU time, and the
 * ratio baseline/current, are printed. After each change both builds' tables must print the same.
 */
import { compileNorthd, type SbDatabase } from '@ovnts/ovn';
import * as current from '@ovnts/chassis';
import { BenchmarkError, bytes, check, median } from './harness.js';
import { benchChassis, network, retained } from './chassis-network.js';

type Chassis = Pick<typeof current, 'computeChassisTables' | 'updateChassisTables' | 'diffSouthbound' | 'dumpFlows'>;

function isChassisModule(m: unknown): m is Chassis {
  return typeof m === 'object' && m !== null && ['computeChassisTables', 'updateChassisTables', 'diffSouthbound', 'dumpFlows'].every((k) => typeof (m as Record<string, unknown>)[k] === 'function');
}

const gc = (globalThis as { gc?: () => void }).gc;

interface Built {
  readonly mod: Chassis;
  readonly tables: current.ChassisTables;
  readonly ms: number;
  readonly bytes: number;
}

function build(mod: Chassis, sb: SbDatabase, chassis: ReturnType<typeof benchChassis>): Built {
  gc!();
  const m0 = retained();
  const t0 = performance.now();
  const tables = mod.computeChassisTables(sb, chassis.member, chassis.facts);
  const ms = performance.now() - t0;
  gc!();
  return { mod, tables, ms, bytes: retained() - m0 };
}

function sameFlows(a: Built, b: Built, what: string): void {
  const x = a.mod.dumpFlows(a.tables.flows);
  const y = b.mod.dumpFlows(b.tables.flows);
  check(x.length === y.length && x.every((l, i) => l === y[i]), `chassis-ab: the builds print different flows ${what} (${x.length} vs ${y.length} lines)`);
}

/** One update, timed: wall ms and CPU ms. */
function timed(b: Built, sb: SbDatabase, changes: current.SbChanges): { wall: number; cpu: number; touched: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = b.mod.updateChassisTables(b.tables, sb, { changes });
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  check(!r.recomputed, 'chassis-ab: an update fell back to a full recompute');
  return { wall, cpu: (c.user + c.system) / 1000, touched: r.touched };
}

async function main(): Promise<void> {
  const [basePath, sizeArg = '200x20', roundsArg = '10'] = process.argv.slice(2);
  if (!basePath) throw new BenchmarkError('usage: chassis-ab.js BASELINE_DIST_INDEX_JS [NODESxPODS] [rounds]');
  if (!gc) throw new BenchmarkError('chassis-ab: run node with --expose-gc');
  const m = /^([0-9]+)x([0-9]+)$/.exec(sizeArg);
  if (!m) throw new BenchmarkError(`chassis-ab: bad size ${JSON.stringify(sizeArg)}: expected NODESxPODS`);
  const p = { nodes: Number(m[1]), pods: Number(m[2]) };
  const rounds = Number(roundsArg);
  const mod: unknown = await import(basePath);
  if (!isChassisModule(mod)) throw new BenchmarkError(`${basePath} does not export the chassis functions`);
  const sb = compileNorthd(network(p).build()).sb;
  const changed = { pod: compileNorthd(network(p, { pod: true }).build(), { previous: sb }).sb, acl: compileNorthd(network(p, { acl: true }).build(), { previous: sb }).sb };
  const chassis = benchChassis(sb, p);
  // Warm both builds' code on a small network first.
  const small = compileNorthd(network({ nodes: 4, pods: 10 }).build()).sb;
  for (const x of [mod, current]) x.computeChassisTables(small, benchChassis(small, { nodes: 4, pods: 10 }).member, benchChassis(small, { nodes: 4, pods: 10 }).facts);
  const base = build(mod, sb, chassis);
  const cur = build(current, sb, chassis);
  sameFlows(base, cur, 'after the build');
  const n = cur.tables.flows.size;
  console.log(`chassis A/B at ${sizeArg}, one chassis, ${n} rules; baseline ${basePath}`);
  console.log(`  build: baseline ${(base.ms / 1000).toFixed(2)} s, current ${(cur.ms / 1000).toFixed(2)} s (one each; baseline/current ${(base.ms / cur.ms).toFixed(2)}x)`);
  console.log(`  memory retained by the tables (V8 heap + ArrayBuffers): baseline ${bytes(base.bytes)} = ${Math.round(base.bytes / n)} B/rule, current ${bytes(cur.bytes)} = ${Math.round(cur.bytes / n)} B/rule (baseline/current ${(base.bytes / cur.bytes).toFixed(2)}x)`);
  for (const what of ['pod', 'acl'] as const) {
    const to = changed[what];
    const fwd = current.diffSouthbound(sb, to);
    const back = current.diffSouthbound(to, sb);
    const times = { base: [] as number[], cur: [] as number[], baseCpu: [] as number[], curCpu: [] as number[] };
    let touched = 0;
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 ? [cur, base] : [base, cur];
      for (const [db, ch] of [[to, fwd], [sb, back]] as const) {
        for (const b of order) {
          const r = timed(b, db, ch);
          (b === base ? times.base : times.cur).push(r.wall);
          (b === base ? times.baseCpu : times.curCpu).push(r.cpu);
          if (db === to && b === cur) touched = r.touched;
        }
        if (i === 0) sameFlows(base, cur, `after the ${what} update`);
      }
    }
    const [bw, cw, bc, cc] = [median(times.base), median(times.cur), median(times.baseCpu), median(times.curCpu)];
    console.log(
      `  one ${what === 'pod' ? 'pod' : 'ACL'} (${touched} rules touched), median of ${2 * rounds}: baseline ${bw.toFixed(1)} ms (CPU ${bc.toFixed(1)}), current ${cw.toFixed(1)} ms (CPU ${cc.toFixed(1)}); ` +
        `baseline/current ${(bw / cw).toFixed(1)}x wall, ${(bc / Math.max(cc, 0.01)).toFixed(1)}x CPU`,
    );
  }
}

await main();
