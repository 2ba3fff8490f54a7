/**
 * Runs a stateful scenario (a flow table, optional groups, and a list of steps: frames, clock
 * warps, port state changes, flow and conntrack dumps) through real Open vSwitch and through our
 * `Switch`, producing one comparable record per step on each side.
 *
 * Time. The OVS daemon's clock is stopped once (`timeStop`) for the whole suite and moves only
 * through `timeWarp`; our side gets a fresh `VirtualClock` per scenario advanced by the same
 * amounts, so flow timeouts, learned flows and conntrack expiry see the same elapsed times on both
 * sides. Before a warp the OVS side pushes datapath statistics to the rules (`revalidator/purge`,
 * so idle times are credited at the frame's time, not the warped one), and after it waits for a
 * revalidation round (`revalidator/wait`), after which OVS has run its flow expiry.
 *
 * Frames whose bytes depend on earlier outputs (replies to a NATed address) are functions of the
 * side's own history, so each side answers what it itself emitted.
 */
import assert from 'node:assert/strict';
import { toHex } from '@ovnts/packet';
import type { OvsBridge, OvsOracle } from '@ovnts/testkit';
import { OFPP, Switch, VirtualClock, formatFlow } from '@ovnts/openflow';

/** One frame's outputs: port number to the hex of each frame it sent, in order. */
export type PortOutputs = Record<number, string[]>;

/** What one side produced for one step. */
export type StepResult =
  | { t: 'frame'; label: string; out: PortOutputs }
  | { t: 'dump'; label: string; lines: string[] }
  | { t: 'none'; label: string };

/** A scenario step. */
export type Step =
  | { t: 'frame'; port: number; label: string; bytes: Uint8Array | ((h: readonly StepResult[]) => Uint8Array) }
  | { t: 'warp'; ms: number }
  | { t: 'port'; port: number; up: boolean }
  | { t: 'dumpFlows'; table: number }
  | { t: 'dumpCt'; zone?: number }
  | { t: 'flows'; text: string }
  /**
   * Let OVS's datapath flow cache catch up with the OpenFlow tables (`revalidator/purge`): a table
   * change made by `learn` reaches packets that hit an existing megaflow only after revalidation,
   * which races with the next injected frame. A no-op for our switch (its cache is invalidated on
   * every table change).
   */
  | { t: 'settle' };

/** A scenario: the same table and steps on both sides. */
export interface Scenario {
  name: string;
  ports: number[];
  flows: string;
  groups?: string;
  steps: Step[];
}

/** Frame step helper. */
export const frame = (port: number, label: string, bytes: Uint8Array | ((h: readonly StepResult[]) => Uint8Array)): Step => ({ t: 'frame', port, label, bytes });

function stepLabel(s: Step): string {
  switch (s.t) {
    case 'frame':
      return s.label;
    case 'warp':
      return `warp ${s.ms} ms`;
    case 'port':
      return `port ${s.port} ${s.up ? 'up' : 'down'}`;
    case 'dumpFlows':
      return `dump-flows table=${s.table}`;
    case 'dumpCt':
      return `dump-conntrack${s.zone === undefined ? '' : ` zone=${s.zone}`}`;
    case 'flows':
      return `add-flows ${s.text.split('\n')[0]}...`;
    case 'settle':
      return 'settle';
  }
}

/**
 * Normalise a `dump-flows` line (OVS's or ours): drop duration and ages (wall-clock values on the
 * OVS side), keep cookie, table, counters, timeouts, match and actions.
 */
export function normFlowLine(l: string): string {
  return l
    .trim()
    .replace(/duration=[0-9.]+s, /, '')
    .replace(/idle_age=\d+, /, '')
    .replace(/hard_age=\d+, /, '');
}

/** Sort dump lines (OVS prints flows and connections in hash order). */
const sorted = (xs: string[]): string[] => [...xs].sort();

/** Run a scenario on OVS bridge `br` (created with `s.ports`). Frames run in order, never reordered. */
export async function runOvs(ovs: OvsOracle, b: OvsBridge, s: Scenario): Promise<StepResult[]> {
  const br = b.name;
  await ovs.delFlows(br);
  await ovs.delGroups(br);
  await ovs.ctFlush();
  if (s.steps.some((x) => x.t === 'port')) for (const p of s.ports) await setOvsPort(ovs, b, p, true);
  if (s.groups) {
    const r = await ovs.addGroups(br, s.groups + '\n');
    if (!r.ok) assert.fail(`OVS refused groups of ${s.name}: ${r.error} ${r.message}`);
  }
  const r = await ovs.addFlows(br, s.flows + '\n');
  if (!r.ok) assert.fail(`OVS refused flows of ${s.name}: ${r.error} ${r.message}`);
  const res: StepResult[] = [];
  let pending: { port: number; bytes: Uint8Array; label: string }[] = [];
  const flush = async (): Promise<void> => {
    if (!pending.length) return;
    const out = await ovs.runFrames(br, pending.map((f) => ({ port: f.port, bytes: f.bytes })));
    out.forEach((o, i) => {
      const po: PortOutputs = {};
      for (const p of s.ports) po[p] = (o.outputs[p] ?? []).map((b) => toHex(b));
      res.push({ t: 'frame', label: pending[i]!.label, out: po });
    });
    pending = [];
  };
  for (const st of s.steps) {
    if (st.t === 'frame') {
      if (typeof st.bytes === 'function') await flush();
      pending.push({ port: st.port, label: st.label, bytes: typeof st.bytes === 'function' ? st.bytes(res) : st.bytes });
      continue;
    }
    await flush();
    switch (st.t) {
      case 'warp':
        await ovs.appctl('revalidator/purge');
        await ovs.timeWarp(st.ms);
        await ovs.appctl('revalidator/wait');
        await ovs.appctl('revalidator/wait');
        res.push({ t: 'none', label: stepLabel(st) });
        break;
      case 'settle':
        await ovs.appctl('revalidator/purge');
        res.push({ t: 'none', label: stepLabel(st) });
        break;
      case 'port':
        await setOvsPort(ovs, b, st.port, st.up);
        res.push({ t: 'none', label: stepLabel(st) });
        break;
      case 'dumpFlows': {
        const lines = await ovs.dumpFlows(br, { stats: true, filter: `table=${st.table}` });
        res.push({ t: 'dump', label: stepLabel(st), lines: sorted(lines.map(normFlowLine)) });
        break;
      }
      case 'dumpCt':
        res.push({ t: 'dump', label: stepLabel(st), lines: sorted(await ovs.dumpConntrack(st.zone)) });
        break;
      case 'flows': {
        const r2 = await ovs.addFlows(br, st.text + '\n');
        if (!r2.ok) assert.fail(`OVS refused flows: ${r2.error} ${r2.message}`);
        res.push({ t: 'none', label: stepLabel(st) });
        break;
      }
    }
  }
  await flush();
  return res;
}

/** Set a dummy port's admin state and wait until OVS reports the link state (liveness reaches xlate later). */
async function setOvsPort(ovs: OvsOracle, b: OvsBridge, port: number, up: boolean): Promise<void> {
  const br = b.name;
  const name = b.portNames.get(port)!;
  await ovs.appctl('netdev-dummy/set-admin-state', name, up ? 'up' : 'down');
  for (let i = 0; i < 100; i++) {
    const desc = (await ovs.exec('ovs-ofctl', ['-O', 'OpenFlow15', 'dump-ports-desc', br])).stdout;
    const block = desc.split(/\n(?= \d)/).find((x) => x.includes(`(${name})`)) ?? '';
    if (/state:\s+LINK_DOWN/.test(block) !== up) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 100));
}

/** Our side of a scenario: the switch, its clock, and what each port sent for the current frame. */
export interface OurSide {
  sw: Switch;
  clock: VirtualClock;
  cur: { out: PortOutputs };
}

/** Build our switch for a scenario (one fresh switch and clock per scenario). */
export function makeOurs(s: Scenario): OurSide {
  const clock = new VirtualClock();
  const cur: { out: PortOutputs } = { out: {} };
  const sw = new Switch({
    clock,
    onOutput: (port, f) => {
      if (port === OFPP.LOCAL) return;
      (cur.out[port] ??= []).push(toHex(f));
    },
  });
  for (const p of s.ports) sw.addPort({ number: p });
  if (s.groups) for (const g of s.groups.split('\n').filter((l) => l.trim())) sw.addGroup(g);
  sw.addFlows(s.flows);
  return { sw, clock, cur };
}

/** Our flow dump of one table, normalised like OVS's. */
function ourDump(sw: Switch, table: number): string[] {
  return sw.dumpFlows(table).map(normFlowLine);
}

/** Run a scenario through our switch. */
export function runOurs(s: Scenario, side: OurSide = makeOurs(s)): StepResult[] {
  const { sw, clock, cur } = side;
  const res: StepResult[] = [];
  for (const st of s.steps) {
    switch (st.t) {
      case 'frame': {
        const bytes = typeof st.bytes === 'function' ? st.bytes(res) : st.bytes;
        cur.out = Object.fromEntries(s.ports.map((p) => [p, [] as string[]]));
        sw.receive(st.port, bytes);
        res.push({ t: 'frame', label: st.label, out: cur.out });
        break;
      }
      case 'warp':
        clock.advance(st.ms);
        res.push({ t: 'none', label: stepLabel(st) });
        break;
      case 'settle':
        res.push({ t: 'none', label: stepLabel(st) });
        break;
      case 'port':
        sw.setPortUp(st.port, st.up);
        res.push({ t: 'none', label: stepLabel(st) });
        break;
      case 'dumpFlows':
        res.push({ t: 'dump', label: stepLabel(st), lines: sorted(ourDump(sw, st.table)) });
        break;
      case 'dumpCt': {
        res.push({ t: 'dump', label: stepLabel(st), lines: sorted(sw.conntrack.dump(st.zone)) });
        break;
      }
      case 'flows':
        sw.addFlows(st.text);
        res.push({ t: 'none', label: stepLabel(st) });
        break;
    }
  }
  return res;
}

/** Render one step result as text lines (for readable diffs). */
export function render(r: StepResult): string[] {
  if (r.t === 'none') return [r.label];
  if (r.t === 'dump') return [r.label, ...r.lines.map((l) => `  ${l}`)];
  const ports = Object.keys(r.out).map(Number).sort((a, b) => a - b);
  const lines = [r.label];
  for (const p of ports) for (const h of r.out[p]!) lines.push(`  -> ${p}: ${h}`);
  if (lines.length === 1) lines.push('  (dropped)');
  return lines;
}
