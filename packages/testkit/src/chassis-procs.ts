/**
 * Drive a cluster of `ovnts chassis-run` processes (one chassis each, Geneve over real UDP on
 * loopback) from a test or a benchmark.
 *
 * Design. Each process is spawned with the same southbound file and chassis map and answers JSON
 * lines (docs/chassis.md, "Chassis in separate processes or hosts"). `ChassisProcCluster.send()`
 * injects a frame at a logical port and waits until the whole cluster is idle, then returns every delivery
 * and Geneve frame it caused. Idle is decided by counting, as distributed termination detection
 * does: every process answers `{"stats":{}}` after it has processed every line before it, with
 * its datagram counters; the cluster is idle when, in two consecutive rounds, the datagrams sent
 * equal those received (queued or dropped) and nothing changed, and no row learnt by one chassis
 * was left to relay to the others (what a shared southbound database would carry: the driver
 * passes every `{"learnt"}` line on as `{"learn"}` to the other chassis). Processes are stopped
 * by pid (SIGTERM, then `reapPids`), also when starting one fails.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './oracles.js';
import { reapPids } from './ovs.js';

/** The `ovnts` command a chassis process runs. */
export const OVNTS_CLI = join(repoRoot, 'packages', 'cli', 'dist', 'main.js');

/** One JSON line a chassis process printed. */
export type ChassisLine = Record<string, unknown>;

/** Why a chassis process failed. */
export class ChassisProcError extends Error {
  override readonly name = 'ChassisProcError';
}

/** How to start one chassis process. */
export interface ChassisProcOptions {
  /** `--sb` file (or `--nb` with `nb: true`). */
  readonly dbFile: string;
  /** The file is a northbound database. */
  readonly nb?: boolean;
  /** `--chassis-map` file. */
  readonly mapFile: string;
  /** The chassis to run. */
  readonly chassis: string;
  /** `--geneve-port`. */
  readonly port: number;
  /** `--encap CHASSIS=IP` settings. */
  readonly encap?: Readonly<Record<string, string>>;
  /** `--tunnels`. */
  readonly tunnels?: boolean;
  /** `--pcap DIR/CHASSIS.pcap` for each chassis. */
  readonly pcapDir?: string;
  /** How long to wait for `ready` (default 60 s). */
  readonly timeoutMs?: number;
}

/** One running `ovnts chassis-run` process. */
export class ChassisProc {
  /** Every line printed so far. */
  readonly lines: ChassisLine[] = [];
  /** Standard error so far. */
  stderr = '';
  private waiters: (() => void)[] = [];
  private exited: number | null | undefined;

  private constructor(
    /** The chassis. */
    readonly chassis: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      let o: ChassisLine;
      try {
        o = JSON.parse(l) as ChassisLine;
      } catch {
        o = { unparsed: l };
      }
      this.lines.push(o);
      this.wake();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.stdin.on('error', () => {});
    child.on('exit', (code) => {
      this.exited = code;
      this.wake();
    });
  }

  /** The process id. */
  get pid(): number {
    return this.child.pid!;
  }

  /** Start a chassis process and wait for its `ready` line (rejects with its error output when it exits first). */
  static async start(o: ChassisProcOptions): Promise<ChassisProc> {
    const args = [OVNTS_CLI, 'chassis-run', o.nb ? '--nb' : '--sb', o.dbFile, '--chassis-map', o.mapFile, '--chassis', o.chassis, '--geneve-port', String(o.port)];
    for (const [c, ip] of Object.entries(o.encap ?? {})) args.push('--encap', `${c}=${ip}`);
    if (o.tunnels) args.push('--tunnels');
    if (o.pcapDir) args.push('--pcap', join(o.pcapDir, `${o.chassis}.pcap`));
    return ChassisProc.spawn(o.chassis, args.slice(1), o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {});
  }

  /**
   * Start `ovnts ARGS...` for chassis `chassis` (inside network namespace `netns` when given,
   * through `ip netns exec`, which keeps the pid) and wait for its `ready` line.
   */
  static async spawn(chassis: string, cliArgs: readonly string[], o: { netns?: string; timeoutMs?: number } = {}): Promise<ChassisProc> {
    const argv = [process.execPath, OVNTS_CLI, ...cliArgs];
    const [cmd, ...rest] = o.netns ? ['ip', 'netns', 'exec', o.netns, ...argv] : argv;
    const p = new ChassisProc(chassis, spawn(cmd!, rest, { stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      await p.until(() => p.lines.some((l) => 'ready' in l), o.timeoutMs ?? 60_000, 'ready');
    } catch (e) {
      await p.stop();
      throw e;
    }
    return p;
  }

  /** Write one JSON line to its standard input. */
  write(o: unknown): void {
    this.child.stdin.write(`${JSON.stringify(o)}\n`);
  }

  /** Write text (whole JSON lines) to its standard input as it is. */
  writeLines(text: string): void {
    this.child.stdin.write(text);
  }

  /** Its datagram counters, answered after every line written before. */
  async stats(timeoutMs = 30_000): Promise<{ sent: number; received: number; dropped: number; unsent: number }> {
    const from = this.lines.length;
    this.write({ stats: {} });
    let found: ChassisLine | undefined;
    await this.until(() => (found = this.lines.slice(from).find((l) => 'stats' in l)) !== undefined, timeoutMs, 'stats');
    return found!['stats'] as { sent: number; received: number; dropped: number; unsent: number };
  }

  /** Wait until `cond()` holds; rejects when the process exits or `timeoutMs` passes. */
  async until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.exited !== undefined) throw new ChassisProcError(`chassis ${this.chassis} exited (status ${this.exited}) waiting for ${what}: ${this.stderr.trim() || 'no error output'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new ChassisProcError(`chassis ${this.chassis}: no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Stop it (SIGTERM; SIGKILL when it has not exited 10 s later) and wait for it to exit; its exit status (null: killed). */
  async stop(): Promise<number | null | undefined> {
    // Once it has exited its pid may be someone else's: never signal it again.
    if (this.exited !== undefined) return this.exited;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    // A clean stop closes the socket and the pcap; give it time on a loaded machine, then reap.
    await this.until(() => this.exited !== undefined, 10_000, 'exit').catch(() => {});
    if (this.exited === undefined) await reapPids([this.pid]);
    if (this.exited === undefined) await this.until(() => this.exited !== undefined, 1000, 'exit').catch(() => {});
    return this.exited;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** What one frame caused across the processes. */
export interface ChassisProcResult {
  /** Deliveries: `{port, chassis, frame}` (hex). */
  readonly deliveries: { port: string; chassis: string; frame: string }[];
  /** Geneve frames sent (with `tunnels`): `{from, to, frame}` (hex). */
  readonly tunnels: { from: string; to: string | null; frame: string }[];
  /** Rows learnt and relayed. */
  readonly learnt: number;
}

/** Several chassis processes forming one cluster; see the module comment. */
export class ChassisProcCluster {
  private readonly seen: number[];

  private constructor(
    /** The processes, in the order given. */
    readonly procs: ChassisProc[],
  ) {
    this.seen = procs.map((p) => p.lines.length);
  }

  /** Start one process per chassis (all or none: on failure the started ones are stopped). */
  static async start(chassis: readonly string[], o: Omit<ChassisProcOptions, 'chassis'>): Promise<ChassisProcCluster> {
    const started = await Promise.allSettled(chassis.map((c) => ChassisProc.start({ ...o, chassis: c })));
    const procs = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(procs.map((p) => p.stop()));
      throw failed.reason;
    }
    return new ChassisProcCluster(procs);
  }

  /** A cluster of processes started otherwise (`ChassisProc.spawn`). */
  static of(procs: ChassisProc[]): ChassisProcCluster {
    return new ChassisProcCluster(procs);
  }

  /** Process ids. */
  get pids(): number[] {
    return this.procs.map((p) => p.pid);
  }

  /** The process running `chassis`. */
  proc(chassis: string): ChassisProc {
    const p = this.procs.find((x) => x.chassis === chassis);
    if (!p) throw new ChassisProcError(`no process runs chassis ${chassis}`);
    return p;
  }

  /** Inject `frame` (hex) at `lport` on `chassis` and wait until the cluster is idle; what it caused. */
  async send(chassis: string, lport: string, frame: string, timeoutMs = 30_000): Promise<ChassisProcResult> {
    const mark = this.procs.map((p) => p.lines.length);
    this.proc(chassis).write({ send: { port: lport, frame } });
    await this.settle(timeoutMs);
    return this.collect(mark);
  }

  /** Wait until no datagram is in flight and no learnt row is left to relay (see the module comment). */
  async settle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let prev = '';
    for (;;) {
      let relayed = 0;
      for (const [i, p] of this.procs.entries()) {
        const fresh = p.lines.slice(this.seen[i]);
        this.seen[i] = p.lines.length;
        for (const l of fresh) {
          if ('error' in l) throw new ChassisProcError(`chassis ${p.chassis}: ${String(l['error'])}`);
          if (!('learnt' in l)) continue;
          for (const q of this.procs) {
            if (q === p) continue;
            q.write({ learn: l['learnt'] });
            relayed++;
          }
        }
      }
      const stats = await Promise.all(this.procs.map((p) => p.stats(Math.max(1, deadline - Date.now()))));
      const sent = stats.reduce((a, s) => a + s.sent, 0);
      const arrived = stats.reduce((a, s) => a + s.received + s.dropped, 0);
      const key = `${sent}/${arrived}`;
      if (relayed === 0 && sent === arrived && key === prev) return;
      prev = key;
      if (Date.now() > deadline) throw new ChassisProcError(`cluster not idle after ${timeoutMs} ms (${sent} datagrams sent, ${arrived} arrived)`);
      if (sent !== arrived) await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Stop every process by pid; their exit statuses (null: killed). */
  async stop(): Promise<(number | null | undefined)[]> {
    return Promise.all(this.procs.map((p) => p.stop()));
  }

  private collect(mark: number[]): ChassisProcResult {
    const out: ChassisProcResult = { deliveries: [], tunnels: [], learnt: 0 };
    for (const [i, p] of this.procs.entries()) {
      for (const l of p.lines.slice(mark[i])) {
        if ('deliver' in l) out.deliveries.push(l['deliver'] as ChassisProcResult['deliveries'][number]);
        else if ('tunnel' in l) out.tunnels.push(l['tunnel'] as ChassisProcResult['tunnels'][number]);
        else if ('learnt' in l) (out as { learnt: number }).learnt++;
      }
    }
    return out;
  }
}
