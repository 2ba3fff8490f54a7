/**
 * Running a stateful case (steps: frames and clock advances) on our `Switch` with a
 * `VirtualClock` and on an OVS bridge whose clock is stopped and warped, and rendering both runs
 * as one comparable transcript: per frame, the hex of what each port sent.
 */
import { toHex } from '@ovnts/packet';
import type { OvsOracle, StatefulStep } from '@ovnts/testkit';
import { OFPP, Switch, VirtualClock, type PortConfig } from '@ovnts/openflow';

/** Per frame step: `label` then ` -> port: hex` per port that sent something; a warp is `warp N`. */
export type Transcript = string[];

/** A fresh switch on a virtual clock whose outputs (LOCAL left out) go to `cur.out`. */
export function ourSwitch(ports: readonly PortConfig[]): { sw: Switch; clock: VirtualClock; cur: { out: Record<number, string[]> } } {
  const clock = new VirtualClock();
  const cur: { out: Record<number, string[]> } = { out: {} };
  const sw = new Switch({ clock, onOutput: (p, f) => void (p !== OFPP.LOCAL && (cur.out[p] ??= []).push(toHex(f))) });
  for (const p of ports) sw.addPort(p);
  return { sw, clock, cur };
}

function line(label: string, ports: readonly number[], out: Record<number, string[]>): string {
  const parts = ports.filter((p) => out[p]?.length).map((p) => `${p}: ${out[p]!.join(',')}`);
  return `${label} -> ${parts.length ? parts.join(' | ') : 'nothing'}`;
}

/** Run the steps on our switch. */
export function runOursSteps(sw: Switch, clock: VirtualClock, cur: { out: Record<number, string[]> }, ports: readonly number[], steps: readonly StatefulStep[]): Transcript {
  const t: Transcript = [];
  for (const s of steps) {
    if ('warp' in s) {
      clock.advance(s.warp);
      t.push(`warp ${s.warp}`);
      continue;
    }
    cur.out = {};
    sw.receive(s.port, s.bytes);
    t.push(line(s.label, ports, cur.out));
  }
  return t;
}

/**
 * Run the steps on an OVS bridge (its daemon's clock stopped): frames in order (no reordering),
 * each followed by `settle` when given (e.g. `revalidator/purge`, so a datapath flow cached
 * before a MAC table change cannot carry an old decision over), clock advances with `time/warp`
 * (between revalidations unless `revalidateOnWarp` is false).
 */
export async function runOvsSteps(
  ovs: OvsOracle,
  br: string,
  ports: readonly number[],
  steps: readonly StatefulStep[],
  opts: { settle?: () => Promise<void>; revalidateOnWarp?: boolean } = {},
): Promise<Transcript> {
  const { settle, revalidateOnWarp = true } = opts;
  const t: Transcript = [];
  let batch: { port: number; bytes: Uint8Array; label: string }[] = [];
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    const res = await ovs.runFrames(br, batch);
    res.forEach((r, i) => {
      const out: Record<number, string[]> = {};
      for (const p of ports) if (r.outputs[p]!.length) out[p] = r.outputs[p]!.map((f) => toHex(f));
      t.push(line(batch[i]!.label, ports, out));
    });
    batch = [];
  };
  for (const s of steps) {
    if ('warp' in s) {
      await flush();
      if (s.warp > 0) {
        // Revalidation lets OVS run what is due at the new time (MAC aging, flow expiry); meters
        // need none (the datapath reads the clock per packet).
        if (revalidateOnWarp) await ovs.appctl('revalidator/purge');
        await ovs.timeWarp(s.warp);
        if (revalidateOnWarp) await ovs.appctl('revalidator/wait');
      }
      t.push(`warp ${s.warp}`);
      continue;
    }
    batch.push(s);
    if (settle) {
      await flush();
      await settle();
    }
  }
  await flush();
  return t;
}

/** The first differing step of two transcripts, with a little context, or undefined when equal. */
export function firstDifference(ours: Transcript, theirs: Transcript): string | undefined {
  const n = Math.max(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    if (ours[i] === theirs[i]) continue;
    return [
      ...theirs.slice(Math.max(0, i - 3), i).map((l) => `  same: ${l.slice(0, 200)}`),
      `  step ${i}:`,
      `    ours: ${ours[i] ?? '(missing)'}`,
      `    OVS:  ${theirs[i] ?? '(missing)'}`,
    ].join('\n');
  }
  return undefined;
}
