/**
 * Drivers for real `ovsdb-server` processes, as oracles and as the shared southbound database of
 * multi-process runs: a standalone server on a database created from a schema, and an N-member
 * Raft cluster (`ovsdb-tool create-cluster` / `join-cluster`, members talking over loopback TCP).
 *
 * Every server runs in the foreground as a child of the test process, so it is stopped by its own
 * pid (SIGTERM, SIGKILL after 3 s); a process `exit` hook kills what a test left running, and
 * `stop()` removes the working directory. Members of a cluster can be killed and restarted
 * one by one (`kill`, `restart`) to test failover.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTools, type Requirement } from './env.js';

/** Requirement for tests that start real ovsdb-server processes. */
export function requireOvsdbServer(what: string): Requirement {
  return requireTools(what, ['ovsdb-server', 'ovsdb-tool', 'ovsdb-client', 'ovs-appctl'], 'apt-get install -y openvswitch-switch');
}

/** A problem starting or driving a real ovsdb-server. */
export class OvsdbOracleError extends Error {
  override readonly name = 'OvsdbOracleError';
}

/** The installed OVN schemas (Debian's ovn-common). */
export const OVN_NB_SCHEMA_FILE = '/usr/share/ovn/ovn-nb.ovsschema';
/** The installed OVN southbound schema. */
export const OVN_SB_SCHEMA_FILE = '/usr/share/ovn/ovn-sb.ovsschema';

const live = new Set<ChildProcess>();
let hooked = false;
function track(p: ChildProcess): void {
  live.add(p);
  p.once('exit', () => live.delete(p));
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const c of live) {
        try {
          if (c.pid) process.kill(c.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    });
  }
}

/** A free TCP port on `address` (default 127.0.0.1; bound then released). */
export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, address, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Stop a child by pid: SIGTERM, then SIGKILL after `graceMs`. */
async function stopChild(p: ChildProcess, graceMs = 3000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || !p.pid) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      if (p.pid) process.kill(p.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, graceMs);
  await gone;
  clearTimeout(t);
}

function startServer(dir: string, name: string, dbFile: string, extra: string[] = []): { proc: ChildProcess; sock: string; ctl: string } {
  const sock = join(dir, `${name}.sock`);
  const ctl = join(dir, `${name}.ctl`);
  const proc = spawn(
    '/usr/sbin/ovsdb-server',
    ['--no-chdir', `--log-file=${join(dir, `${name}.log`)}`, `--unixctl=${ctl}`, `--remote=punix:${sock}`, ...extra, dbFile],
    { stdio: 'ignore', env: { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir } },
  );
  track(proc);
  return { proc, sock, ctl };
}

async function waitForSocket(sock: string, proc: ChildProcess, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new OvsdbOracleError(`${what}: ovsdb-server exited with status ${proc.exitCode}`);
    if (existsSync(sock)) return;
    await sleep(20);
  }
  throw new OvsdbOracleError(`${what}: ${sock} did not appear within ${timeoutMs} ms`);
}

/** A standalone ovsdb-server on a fresh database. */
export class RealOvsdb {
  private constructor(
    /** Working directory (database file, socket, log). */
    readonly dir: string,
    /** The database file. */
    readonly dbFile: string,
    /** `unix:` remote of the server. */
    readonly remote: string,
    private proc: ChildProcess,
    private readonly ownDir: boolean,
  ) {}

  /** Create a database from `schemaFile` (or use `dbFile` as is) and serve it. */
  static async start(opts: { schemaFile?: string; dbFile?: string; dir?: string } = {}): Promise<RealOvsdb> {
    const ownDir = opts.dir === undefined;
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ovnts-ovsdb-'));
    let dbFile = opts.dbFile;
    if (!dbFile) {
      dbFile = join(dir, 'db.db');
      execFileSync('ovsdb-tool', ['create', dbFile, opts.schemaFile ?? OVN_NB_SCHEMA_FILE], { stdio: 'pipe' });
    }
    const { proc, sock } = startServer(dir, 'db', dbFile);
    await waitForSocket(sock, proc, 'standalone ovsdb-server');
    return new RealOvsdb(dir, dbFile, `unix:${sock}`, proc, ownDir);
  }

  /** The server's pid. */
  get pid(): number {
    return this.proc.pid!;
  }

  /** Stop the server (by pid) and remove the directory when it created it. */
  async stop(): Promise<void> {
    await stopChild(this.proc);
    if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One member of a real Raft cluster. */
export interface ClusterMember {
  /** Member index. */
  readonly index: number;
  /** The member's database file. */
  readonly dbFile: string;
  /** Its Raft address (`tcp:127.0.0.1:PORT`). */
  readonly raft: string;
  /** Its client remote (`unix:PATH`). */
  readonly remote: string;
  /** Its unixctl socket. */
  readonly ctl: string;
  /** Its TCP client remote (`tcp:ADDR:PORT`), when the cluster was started with `tcpAddress`. */
  readonly tcp?: string;
}

/** A real N-member clustered ovsdb-server (Raft), each member a child process of the test. */
export class RealOvsdbCluster {
  private readonly procs: (ChildProcess | undefined)[] = [];

  private constructor(
    /** Working directory. */
    readonly dir: string,
    /** The database name (the schema's). */
    readonly dbName: string,
    /** The members. */
    readonly members: readonly ClusterMember[],
  ) {}

  /** Create and start an `n`-member cluster of the schema in `schemaFile`; resolves when every member has joined. */
  static async start(opts: { schemaFile?: string; n?: number; tcpAddress?: string } = {}): Promise<RealOvsdbCluster> {
    const n = opts.n ?? 3;
    const schemaFile = opts.schemaFile ?? OVN_SB_SCHEMA_FILE;
    const dbName = execFileSync('ovsdb-tool', ['schema-name', schemaFile], { encoding: 'utf8' }).trim();
    const dir = mkdtempSync(join(tmpdir(), 'ovnts-raft-'));
    const members: ClusterMember[] = [];
    for (let i = 0; i < n; i++) {
      const port = await freePort();
      const tcp = opts.tcpAddress === undefined ? undefined : `tcp:${opts.tcpAddress}:${await freePort(opts.tcpAddress)}`;
      members.push({ index: i, dbFile: join(dir, `m${i}.db`), raft: `tcp:127.0.0.1:${port}`, remote: `unix:${join(dir, `m${i}.sock`)}`, ctl: join(dir, `m${i}.ctl`), ...(tcp ? { tcp } : {}) });
    }
    execFileSync('ovsdb-tool', ['create-cluster', members[0]!.dbFile, schemaFile, members[0]!.raft], { stdio: 'pipe' });
    for (const m of members.slice(1)) execFileSync('ovsdb-tool', ['join-cluster', m.dbFile, dbName, m.raft, members[0]!.raft], { stdio: 'pipe' });
    const c = new RealOvsdbCluster(dir, dbName, members);
    try {
      for (const m of members) await c.startMember(m.index);
      await c.waitConverged();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  private async startMember(i: number): Promise<void> {
    const m = this.members[i]!;
    const { proc, sock } = startServer(this.dir, `m${i}`, m.dbFile, m.tcp ? [`--remote=p${m.tcp.replace(/^tcp:(.*):(\d+)$/, 'tcp:$2:$1')}`] : []);
    this.procs[i] = proc;
    await waitForSocket(sock, proc, `cluster member ${i}`);
  }

  /** Client remotes of every member (for a client's list of servers). */
  get remotes(): string[] {
    return this.members.map((m) => m.remote);
  }

  /** TCP client remotes of every member (started with `tcpAddress`). */
  get tcpRemotes(): string[] {
    return this.members.map((m) => {
      if (!m.tcp) throw new OvsdbOracleError('the cluster was started without tcpAddress');
      return m.tcp;
    });
  }

  /** The pid of a member, if running. */
  pid(i: number): number | undefined {
    const p = this.procs[i];
    return p && p.exitCode === null && p.signalCode === null ? p.pid : undefined;
  }

  /** `cluster/status` of a member (ovs-appctl), or undefined when it does not answer. */
  status(i: number): string | undefined {
    try {
      return execFileSync('ovs-appctl', ['-t', this.members[i]!.ctl, 'cluster/status', this.dbName], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    } catch {
      return undefined;
    }
  }

  /** Index of the current leader, or undefined while there is none. */
  leader(): number | undefined {
    for (let i = 0; i < this.members.length; i++) {
      if (this.pid(i) === undefined) continue;
      if (/^Role: leader$/m.test(this.status(i) ?? '')) return i;
    }
    return undefined;
  }

  /** Wait until every running member is a cluster member and one is leader. */
  async waitConverged(timeoutMs = 20_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const running = this.members.filter((m) => this.pid(m.index) !== undefined);
      const ok = running.every((m) => /^Status: cluster member$/m.test(this.status(m.index) ?? ''));
      const l = this.leader();
      if (ok && l !== undefined) return l;
      await sleep(100);
    }
    throw new OvsdbOracleError(`cluster did not converge within ${timeoutMs} ms:\n${this.members.map((m) => this.status(m.index) ?? `member ${m.index}: no answer`).join('\n')}`);
  }

  /** Kill a member by pid (SIGKILL by default: a crash). */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs[i];
    if (!p || !p.pid || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    process.kill(p.pid, signal);
    await gone;
  }

  /** Start a killed member again on its database file. */
  async restart(i: number): Promise<void> {
    if (this.pid(i) !== undefined) return;
    await this.startMember(i);
  }

  /** Stop every member (by pid) and remove the directory. */
  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => (p ? stopChild(p) : Promise.resolve())));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A real `ovn-northd` between a northbound and a southbound database, a child of the test. */
export class RealNorthd {
  private constructor(
    private readonly proc: ChildProcess,
    /** Its log file. */
    readonly logFile: string,
  ) {}

  /** Start ovn-northd on `nb` and `sb` (remote lists, comma-separated for a cluster), logging into `dir`. */
  static start(nb: string, sb: string, dir: string): RealNorthd {
    const logFile = join(dir, 'ovn-northd.log');
    const proc = spawn('ovn-northd', ['--no-chdir', `--log-file=${logFile}`, `--unixctl=${join(dir, 'ovn-northd.ctl')}`, `--ovnnb-db=${nb}`, `--ovnsb-db=${sb}`], {
      stdio: 'ignore',
      env: { ...process.env, OVN_RUNDIR: dir, OVN_LOGDIR: dir },
    });
    track(proc);
    return new RealNorthd(proc, logFile);
  }

  /** Its pid. */
  get pid(): number {
    return this.proc.pid!;
  }

  /** Stop it by pid. */
  async stop(): Promise<void> {
    await stopChild(this.proc);
  }
}
