/**
 * The golden `ovs-appctl ofproto/trace` texts of the openflow package's trace test
 * (packages/openflow/test/fixtures/traces/NAME.{flows,groups,microflows,ovs.txt}): recorded from
 * real Open vSwitch 3.1 by `recordTraceGoldens` on a fresh daemon per set (so the datapath numbers
 * LOCAL 100 and recirculation ids start where a fresh daemon starts them), written by
 * packages/openflow/test/fixtures/traces/gen.mjs and re-checked live by trace.test.ts.
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OvsOracleError, startOvs } from './ovs.js';

/** One golden set: its flows, groups and microflows (the files' text). */
export interface TraceGoldenSet {
  /** The set's name (`basic` for basic.flows). */
  readonly name: string;
  /** ovs-ofctl add-flows text. */
  readonly flows: string;
  /** ovs-ofctl add-groups text ('' when none). */
  readonly groups: string;
  /** The microflows traced, in order. */
  readonly microflows: readonly string[];
}

/** The bridge of the golden traces: `br0` with OpenFlow ports 1-3. */
export const TRACE_GOLDEN_PORTS: readonly number[] = [1, 2, 3];

/** Separator between traces in a NAME.ovs.txt file (after each trace). */
export const TRACE_GOLDEN_SEPARATOR = '=====\n';

/** The golden sets in `dir` (every NAME.flows with its NAME.microflows), by name. */
export function traceGoldenSets(dir: string): TraceGoldenSet[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.flows'))
    .map((f) => f.slice(0, -'.flows'.length))
    .sort()
    .map((name) => ({
      name,
      flows: readFileSync(join(dir, `${name}.flows`), 'utf8'),
      groups: existsSync(join(dir, `${name}.groups`)) ? readFileSync(join(dir, `${name}.groups`), 'utf8') : '',
      microflows: readFileSync(join(dir, `${name}.microflows`), 'utf8').split('\n').filter(Boolean),
    }));
}

/** The stored golden texts of set `name` in `dir`, one per microflow. */
export function readTraceGolden(dir: string, name: string): string[] {
  const parts = readFileSync(join(dir, `${name}.ovs.txt`), 'utf8').split(TRACE_GOLDEN_SEPARATOR);
  parts.pop();
  return parts;
}

/** What OVS 3.1 prints for each microflow of `set`, on a fresh ovs-vswitchd (stopped afterwards, also on failure). */
export async function recordTraceGoldens(set: TraceGoldenSet): Promise<string[]> {
  const ovs = await startOvs();
  try {
    await ovs.bridge('br0', { ports: [...TRACE_GOLDEN_PORTS], markers: false });
    if (set.groups.trim()) {
      const g = await ovs.addGroups('br0', set.groups);
      if (!g.ok) throw new OvsOracleError('exec', `${set.name}.groups: ${g.stderr}`);
    }
    const f = await ovs.addFlows('br0', set.flows);
    if (!f.ok) throw new OvsOracleError('exec', `${set.name}.flows: ${f.stderr}`);
    const out: string[] = [];
    for (const m of set.microflows) out.push(await ovs.trace('br0', m));
    return out;
  } finally {
    await ovs.stop();
  }
}
