/**
 * A/B comparison of two builds of `@ovnts/openflow` in ONE process, on the same machine load: the
 * current build (the workspace's) against a baseline build given on the command line (a copy of
 * `packages/openflow/dist` from another commit, kept outside the repository while measuring).
 *
 *     node benchmarks/dist/openflow-ab.js /tmp/base/dist/index.js [rounds] [sizes...]
 *
 * With `OVNTS_AB_CURRENT=<another dist/index.js>` that build stands in for the current one (an
 * A/A run of a build against itself shows how much the machine's load alone moves the ratio).
 *
 * The baseline directory must resolve `@ovnts/packet` and `@ovnts/geneve` (e.g. a `node_modules`
 * symlink to `packages/openflow/node_modules` next to its `dist`). Both switches get the same
 * OVN-shaped 10-table pipeline (`openflow-pipeline.ts`) and the same 1024 frames; before anything
 * is timed every frame must leave both on the same port with the same bytes. Then the cached path
 * (translation cache on) and the miss path (every cache off: tuple-space search in every table and
 * the full translation) are timed in alternating runs (A B B A ...), and the medians and the ratio
 * current/baseline are printed, per wall-clock second and per CPU-second of this process.
 */
import { Switch } from '@ovnts/openflow';
import { BenchmarkError, check, median, rate } from './harness.js';
import { PORTS, ovnPipeline, type OvnPipeline } from './openflow-pipeline.js';

/** What the comparison needs of a switch, whichever build it comes from. */
interface BenchSwitch {
  flowCache: boolean;
  readonly tables: ReadonlyArray<{ readonly cls: { useCache: boolean } }>;
  addPort(c: { number: number }): unknown;
  addFlows(text: string): unknown;
  receive(port: number, frame: Uint8Array): void;
}

type SwitchCtor = new (opts: { onOutput: (port: number, frame: Uint8Array) => void }) => BenchSwitch;

function isSwitchModule(m: unknown): m is { Switch: SwitchCtor } {
  return typeof m === 'object' && m !== null && 'Switch' in m && typeof m.Switch === 'function';
}

const FRAMES = 1024;
const MASK = FRAMES - 1;

let sunk = 0;
let capture: string[] | null = null;
const sink = (port: number, frame: Uint8Array): void => {
  sunk += port + frame[22]!;
  if (capture) capture.push(`${port}:${Buffer.from(frame).toString('hex')}`);
};

function build(ctor: SwitchCtor, spec: OvnPipeline): BenchSwitch {
  const sw = new ctor({ onOutput: sink });
  for (let p = 1; p <= PORTS; p++) sw.addPort({ number: p });
  sw.addFlows(spec.flows.join('\n'));
  return sw;
}

function setMode(sw: BenchSwitch, cached: boolean): void {
  sw.flowCache = cached;
  for (const t of sw.tables) t.cls.useCache = cached;
}

// One loop per build, written twice on purpose: a shared loop would be one call site seeing both
// builds' `receive`, whose inlining would favour one of them; separate literals get separate feedback.
function runA(sw: BenchSwitch, spec: OvnPipeline, n: number): void {
  for (let i = 0; i < n; i++) sw.receive(spec.inPorts[i & MASK]!, spec.frames[i & MASK]!);
}
function runB(sw: BenchSwitch, spec: OvnPipeline, n: number): void {
  for (let i = 0; i < n; i++) sw.receive(spec.inPorts[i & MASK]!, spec.frames[i & MASK]!);
}
const RUNS = [runA, runB] as const;

function outputs(sw: BenchSwitch, spec: OvnPipeline, which: 0 | 1): string[] {
  capture = [];
  RUNS[which](sw, spec, FRAMES);
  const out = capture;
  capture = null;
  return out;
}

/** Frames per second (wall) and per CPU-second of `n` frames. */
function time(sw: BenchSwitch, spec: OvnPipeline, n: number, which: 0 | 1): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  RUNS[which](sw, spec, n);
  const ns = Number(process.hrtime.bigint() - t0);
  const cu = process.cpuUsage(c0);
  return { wall: (n * 1e9) / ns, cpu: (n * 1e6) / Math.max(1, cu.user + cu.system) };
}

async function main(): Promise<void> {
  const [basePath, roundsArg, ...sizeArgs] = process.argv.slice(2);
  if (!basePath) throw new BenchmarkError('usage: openflow-ab.js BASELINE_DIST_INDEX_JS [rounds] [sizes...]');
  const mod: unknown = await import(basePath);
  if (!isSwitchModule(mod)) throw new BenchmarkError(`${basePath} does not export a Switch class`);
  const rounds = roundsArg ? Number(roundsArg) : 31;
  const sizes = sizeArgs.length ? sizeArgs.map(Number) : [1000, 10_000, 100_000];
  let current: SwitchCtor = Switch;
  const other = process.env.OVNTS_AB_CURRENT;
  if (other) {
    const m: unknown = await import(other);
    if (!isSwitchModule(m)) throw new BenchmarkError(`${other} does not export a Switch class`);
    current = m.Switch;
  }
  const impls: Array<[string, SwitchCtor]> = [['baseline', mod.Switch], ['current', current]];
  console.log(`A/B: baseline ${basePath} vs ${other ?? 'the current build'}; ${rounds} alternating rounds per mode; ${FRAMES} distinct 64-byte frames`);
  for (const n of sizes) {
    const spec = ovnPipeline(n, FRAMES, n);
    const sws = impls.map(([, ctor]) => build(ctor, spec));
    for (const cached of [false, true]) {
      for (const sw of sws) setMode(sw, cached);
      const ref = outputs(sws[0]!, spec, 0);
      const cur = outputs(sws[1]!, spec, 1);
      check(ref.length === FRAMES && cur.length === FRAMES, `${n}: every frame sends one frame on both builds`);
      check(ref.every((x, i) => x === cur[i]), `${n}: the builds send different bytes`);
    }
    for (const [mode, cached, ops] of [['miss (all caches off)', false, n >= 100_000 ? 10_000 : 20_000], ['hit (translation cache)', true, 100_000]] as const) {
      const wall: number[][] = [[], []];
      const cpu: number[][] = [[], []];
      for (const which of [0, 1] as const) {
        setMode(sws[which]!, cached);
        RUNS[which](sws[which]!, spec, Math.min(ops, 100_000)); // warm up
      }
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const);
        for (const i of order) {
          const t = time(sws[i]!, spec, ops, i);
          wall[i]!.push(t.wall);
          cpu[i]!.push(t.cpu);
        }
      }
      const w = wall.map(median);
      // Each round times both builds back to back, so the ratio within a round sees (nearly) one machine load.
      const pw = wall[0]!.map((x, i) => wall[1]![i]! / x).sort((a, b) => a - b);
      const pc = cpu[0]!.map((x, i) => cpu[1]![i]! / x).sort((a, b) => a - b);
      const q = (xs: number[], f: number): string => xs[Math.min(xs.length - 1, Math.floor(f * xs.length))]!.toFixed(3);
      console.log(
        `${String(n).padStart(6)} flows, ${mode.padEnd(24)} baseline ${rate(w[0]!, 'frames/s').padStart(16)}  current ${rate(w[1]!, 'frames/s').padStart(16)}  ` +
          `current/baseline per round, median [quartiles]: wall ${q(pw, 0.5)} [${q(pw, 0.25)}..${q(pw, 0.75)}], cpu ${q(pc, 0.5)} [${q(pc, 0.25)}..${q(pc, 0.75)}]`,
      );
    }
  }
  console.log(`(checksum ${sunk})`);
}

await main();
