/**
 * A driver for real Open vSwitch as a test oracle (differential tests of `@ovnts/openflow`).
 *
 * Design. `startOvs()` runs the shared `ovs-sandbox` script in a fresh temporary directory: a
 * private ovsdb-server and ovs-vswitchd whose bridges use the userspace "dummy" datapath, so no
 * kernel module or root is needed. Bridges get dummy ports `p<N>` with OpenFlow port number N whose
 * transmitted frames OVS appends to `DIR/p<N>-tx.pcap`. Flow tables are managed with `ovs-ofctl`
 * (one process per call, a few milliseconds). Everything that happens per frame goes instead over
 * one persistent JSON-RPC connection to ovs-vswitchd's unixctl socket (what `ovs-appctl` speaks),
 * which is about a hundred times cheaper than spawning `ovs-appctl`.
 *
 * Attribution. OVS's dummy netdev hands the datapath at most one queued packet per port per
 * main-loop iteration and processes it completely (upcall, actions, recirculation, tx flush into
 * the pcap) before the next; so frames queued on one port are processed strictly in order. After
 * every injected frame we queue a *marker* frame (a reserved source MAC and EtherType 0x88b5 with a
 * sequence number) on the same port; a reserved flow in table 0 (priority 65535, cookie
 * `MARKER_COOKIE`) copies every marker to every port of the bridge. Each port's tx capture is
 * therefore cut by the markers into per-frame segments: what a port transmitted before marker n
 * (and after marker n-1) is the output of frame n. Up to 49 frame+marker pairs travel in one
 * `netdev-dummy/receive` call (the dummy rx queue holds 100 packets and drops the rest silently),
 * and the batch is complete when its last marker has appeared in every port's capture. Frames on
 * different ports are never in flight together (their processing would interleave), but
 * different bridges are independent and may run concurrently on one daemon.
 *
 * With `markers: false` the reserved flows are absent and each frame is injected alone, followed by
 * a barrier on the datapath's received-packet counter (`dpif-netdev/pmd-stats-show`); as fast when
 * ports alternate, half as fast on same-port runs, and the flow table and the megaflows (visible in
 * `ofproto/trace`) are exactly the user's.
 *
 * Time: OVS runs on the real clock (timeouts, conntrack expiry, idle_age); the daemon offers
 * `time/stop` and `time/warp`, exposed here as `timeStop()`/`timeWarp()` for tests that need it.
 * Flow counters: see `settleStats()`.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureParser } from '@ovnts/capture';
import { oracleScript } from './oracles.js';

/** Why an oracle operation failed (`code` names the step). */
export class OvsOracleError extends Error {
  /** A short machine-readable reason: start, stop, exec, unixctl, port, frame, timeout, bridge. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'OvsOracleError';
    this.code = code;
  }
}

/** Options of `startOvs`. */
export interface OvsStartOptions {
  /** Parent of the temporary directory (default: the OS temp dir). */
  tmpDir?: string;
  /** Keep the directory (logs, databases, captures) after `stop()`, for debugging. */
  keepDir?: boolean;
  /** The sandbox script (default: `oracleScript('ovs-sandbox')`). */
  script?: string;
  /** Timeout for one external command in ms (default 30000). */
  timeoutMs?: number;
  /** A frame batch fails when no output arrives for this long (ms, default 10000). */
  stallMs?: number;
}

/** Options of `OvsOracle.bridge`. */
export interface OvsBridgeOptions {
  /** OpenFlow port numbers; port N is the dummy interface `<portPrefix><N>`. */
  ports: number[];
  /** The bridge's `protocols` column, e.g. `OpenFlow15` (default) or `OpenFlow10,OpenFlow15`. */
  protocols?: string;
  /** `secure` (default: no flows at start, table miss drops) or `standalone`. */
  failMode?: 'secure' | 'standalone';
  /** Interface name prefix (default `p`); interface names are global to the daemon, so a second bridge needs another. */
  portPrefix?: string;
  /** `mtu_request` of every port; OVS silently drops outputs longer than MTU+14 (+4 if VLAN tagged). Default 1500. */
  mtu?: number;
  /** Interface type `dummy-pmd`: a poll-mode thread processes the frames instead of the main loop. */
  pmd?: boolean;
  /** Install the table-0 marker flows that make batched attribution possible (default true; see the module comment). */
  markers?: boolean;
}

/** A bridge created by `OvsOracle.bridge`. */
export interface OvsBridge {
  /** The bridge name. */
  name: string;
  /** Its OpenFlow port numbers. */
  ports: number[];
  /** The `-O` version given to ovs-ofctl (the last entry of `protocols`). */
  ofVersion: string;
  /** Whether the marker flows are in use. */
  markers: boolean;
  /** Interface name of each port number. */
  portNames: Map<number, string>;
  /** Path of each port's transmit capture. */
  txPcap: Map<number, string>;
}

/** The outcome of an `ovs-ofctl` table modification. */
export interface OfctlResult {
  /** True when ovs-ofctl exited 0. */
  ok: boolean;
  /** On failure: the OpenFlow error name (`OFPBAC_BAD_OUT_GROUP`, `OFPBAC_MATCH_INCONSISTENT`, ...) when OVS or ovs-ofctl named one, else `OFCTL_UNUSABLE_FORMAT` (ovs-ofctl found no protocol able to express the flow under the bridge's version, e.g. `pop_vlan` without a VLAN match under OpenFlow 1.1+) or `OFCTL_PARSE` (a syntax error). */
  error?: string;
  /** On failure: the relevant error text. */
  message?: string;
  /** On failure: who refused: the switch (an OFPT_ERROR reply) or ovs-ofctl itself before sending. */
  source?: 'switch' | 'ovs-ofctl';
  /** On failure, when ovs-ofctl named the input line (1-based, of the text passed in). */
  line?: number;
  /** Log messages ovs-ofctl printed (notably `normalization changed ofp_match`: a match field whose prerequisite is missing is silently dropped). */
  warnings: string[];
  /** Raw stderr. */
  stderr: string;
}

/** A frame to inject: the OpenFlow port it arrives on and its bytes (at least 14). */
export interface OvsFrame {
  /** Ingress OpenFlow port number. */
  port: number;
  /** Frame bytes, Ethernet header first, no FCS. */
  bytes: Uint8Array;
}

/** What one injected frame made the bridge transmit. */
export interface OvsFrameResult {
  /** The ingress port. */
  port: number;
  /** For every port of the bridge (all keys present), the frames it transmitted, in order. */
  outputs: Record<number, Uint8Array[]>;
}

/** What `packetOut` returns. */
export interface OvsPacketOutResult {
  /** ovs-ofctl's verdict (an OpenFlow error such as `OFPBRC_BAD_PORT` when the switch refused it). */
  result: OfctlResult;
  /** For every port of the bridge (all keys present), the frames it transmitted, in order. */
  outputs: Record<number, Uint8Array[]>;
}

/** Options of `dumpFlows`. */
export interface DumpFlowsOptions {
  /** Include the statistics (duration, n_packets, ...); default false (`--no-stats`). */
  stats?: boolean;
  /** A flow filter as accepted by `ovs-ofctl dump-flows` (e.g. `table=1`). */
  filter?: string;
}

/** Options of `runFrames`. */
export interface RunFramesOptions {
  /**
   * Inject grouped by ingress port (stable) instead of in the given order; results still come back
   * in the given order. Several times faster when ports alternate, but only valid when no frame can
   * change how a later one is handled (no ct, learn, NORMAL's MAC learning, meters, ...).
   */
  reorder?: boolean;
}

/** Options of the table-modifying calls. */
export interface ModifyOptions {
  /** Use `--bundle` (atomic: all or nothing). Default false: flows before a refused one stay. */
  bundle?: boolean;
}

/** The cookie of the reserved marker flows (filtered out of `dumpFlows`). */
export const MARKER_COOKIE = 0x6f766e74736d6b72n; // "ovntsmkr"
/** Source MAC of marker frames. */
export const MARKER_SRC = Uint8Array.of(0x02, 0x6d, 0x61, 0x72, 0x6b, 0x72);
/** EtherType of marker frames (IEEE local experimental). */
export const MARKER_ETHERTYPE = 0x88b5;
const MARKER_MAC_TEXT = '02:6d:61:72:6b:72';
const MARKER_DST = Uint8Array.of(0x02, 0x6f, 0x76, 0x6e, 0x74, 0x73);
const MARKER_MAGIC = 0x6f6b6d72; // "okmr"
/** Frame+marker pairs in OVS's queue at most: the dummy rx queue holds 100 packets and drops the rest without a word. */
const PAIRS_PER_CALL = 49;

/** One marker frame carrying `seq`. */
function markerFrame(seq: number): Uint8Array {
  const b = new Uint8Array(60);
  b.set(MARKER_DST, 0);
  b.set(MARKER_SRC, 6);
  b[12] = MARKER_ETHERTYPE >> 8;
  b[13] = MARKER_ETHERTYPE & 0xff;
  const dv = new DataView(b.buffer);
  dv.setUint32(14, MARKER_MAGIC);
  dv.setUint32(18, seq >>> 0);
  return b;
}

/** The sequence number of a marker frame, or -1 if `f` is not one. */
function markerSeq(f: Uint8Array): number {
  if (f.length < 22 || f[12] !== MARKER_ETHERTYPE >> 8 || f[13] !== (MARKER_ETHERTYPE & 0xff)) return -1;
  for (let i = 0; i < 6; i++) if (f[6 + i] !== MARKER_SRC[i]) return -1;
  const dv = new DataView(f.buffer, f.byteOffset, f.length);
  if (dv.getUint32(14) !== MARKER_MAGIC) return -1;
  return dv.getUint32(18);
}

/** True when `f` carries the marker source MAC and EtherType (injecting such a frame would confuse attribution). */
export function isMarkerLike(f: Uint8Array): boolean {
  if (f.length < 14 || f[12] !== MARKER_ETHERTYPE >> 8 || f[13] !== (MARKER_ETHERTYPE & 0xff)) return false;
  for (let i = 0; i < 6; i++) if (f[6 + i] !== MARKER_SRC[i]) return false;
  return true;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

const EMPTY = new Uint8Array(0);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True while process `pid` exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false; // kill(0) would address the process group
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/**
 * Parse ovs-ofctl's stderr after a failed (or successful) table modification. Recognised forms:
 * `OFPT_ERROR (OF1.5) (xid=0x6): OFPBAC_BAD_OUT_GROUP` (the switch refused; the next line echoes
 * the request), `Error OFPBAC_... for: ...` (the same inside a bundle), and
 * `ovs-ofctl: -:LINE: text (OFPBAC_...)` (ovs-ofctl refused before sending).
 */
export function parseOfctlStderr(stderr: string, exitOk: boolean): OfctlResult {
  const lines = stderr.split('\n').filter((l) => l.length > 0);
  const warnings: string[] = [];
  let pendingLog: string[] | null = null;
  for (const l of lines) {
    const m = /^\d{4}-\d\d-\d\dT[\d:.]+Z\|\d+\|([\w-]+)\|(\w+)\|(.*)$/.exec(l);
    if (m) {
      // Multi-line log records (normalization pre:/post:) are joined into one warning.
      if (pendingLog && /^\s*(pre|post):/.test(m[3]!)) pendingLog.push(m[3]!.trim());
      else {
        if (pendingLog) warnings.push(pendingLog.join(' '));
        pendingLog = [`${m[1]}: ${m[3]}`];
      }
    }
  }
  if (pendingLog) warnings.push(pendingLog.join(' '));
  const res: OfctlResult = { ok: exitOk, warnings, stderr };
  if (exitOk) return res;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    let m = /^OFPT_ERROR \([^)]*\) \(xid=[^)]*\): ([A-Z][A-Z0-9_]+)/.exec(l);
    if (m) {
      res.error = m[1];
      res.source = 'switch';
      res.message = [l, lines[i + 1] ?? ''].join('\n').trim();
      return res;
    }
    m = /^Error ([A-Z][A-Z0-9_]+) for: (.*)$/.exec(l);
    if (m) {
      res.error = m[1];
      res.source = 'switch';
      res.message = l;
      return res;
    }
  }
  for (const l of lines) {
    const m = /^ovs-ofctl: (?:-:(\d+): )?(.*)$/.exec(l);
    if (!m) continue;
    const text = m[2]!;
    if (m[1]) res.line = Number(m[1]);
    res.source = 'ovs-ofctl';
    res.message = l;
    const named = /\((OFP[A-Z0-9_]+)\)\s*$/.exec(text);
    if (named) res.error = named[1];
    else if (/none of the usable flow formats/.test(text)) res.error = 'OFCTL_UNUSABLE_FORMAT';
    else res.error = 'OFCTL_PARSE';
    return res;
  }
  res.error = 'OFCTL_UNKNOWN';
  res.message = stderr.trim();
  return res;
}

/** A persistent JSON-RPC client of an OVS unixctl socket (the protocol of `ovs-appctl`). */
export class Unixctl {
  private sock: Socket;
  private buf = '';
  private nextId = 0;
  private waiting = new Map<number, { resolve: (s: string) => void; reject: (e: Error) => void; method: string }>();
  private closed: Error | null = null;

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    const fail = (e: Error) => {
      this.closed = e;
      for (const w of this.waiting.values()) w.reject(new OvsOracleError('unixctl', `unixctl ${w.method}: ${e.message}`));
      this.waiting.clear();
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed')));
  }

  /** Connect to the unixctl socket at `path`. */
  static open(path: string): Promise<Unixctl> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new Unixctl(s)));
      s.once('error', (e) => reject(new OvsOracleError('unixctl', `cannot connect to ${path}: ${e.message}`)));
    });
  }

  /** Split the stream into top-level JSON objects (OVS sends them back to back, no delimiter). */
  private onData(d: string): void {
    this.buf += d;
    let depth = 0;
    let inStr = false;
    let esc = false;
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf.charCodeAt(i);
      if (inStr) {
        if (esc) esc = false;
        else if (c === 92) esc = true;
        else if (c === 34) inStr = false;
      } else if (c === 34) inStr = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        depth--;
        if (depth === 0) {
          this.onMessage(this.buf.slice(start, i + 1));
          start = i + 1;
        }
      }
    }
    this.buf = this.buf.slice(start);
  }

  private onMessage(text: string): void {
    const msg = JSON.parse(text) as { id?: number; result?: unknown; error?: unknown };
    const w = this.waiting.get(msg.id ?? -1);
    if (!w) return;
    this.waiting.delete(msg.id!);
    if (msg.error !== null && msg.error !== undefined) {
      w.reject(new OvsOracleError('unixctl', `ovs-appctl ${w.method}: ${String(msg.error).trim()}`));
    } else w.resolve(typeof msg.result === 'string' ? msg.result : '');
  }

  /** Run one command; resolves with its text output. */
  call(method: string, params: string[]): Promise<string> {
    if (this.closed) return Promise.reject(new OvsOracleError('unixctl', `unixctl ${method}: ${this.closed.message}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, method });
      this.sock.write(JSON.stringify({ id, method, params }));
    });
  }

  /** Close the connection. */
  close(): void {
    this.sock.destroy();
  }
}

/** Incremental reader of one port's tx pcap that OVS keeps appending to. */
export class TxReader {
  private fd: number;
  private parser = new CaptureParser();
  private pending: Uint8Array = EMPTY;
  private offset = 0;
  private chunk = new Uint8Array(1 << 16); // not a Buffer: slices of it must be plain Uint8Arrays

  /** Open the capture at `path` (it must exist). */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
  }

  /** Frames appended since the last call (copies); a partially written record stays for next time. */
  read(out: Uint8Array[]): void {
    let n = 0;
    for (;;) {
      if (n === this.chunk.length) {
        const bigger = new Uint8Array(this.chunk.length * 2);
        bigger.set(this.chunk.subarray(0, n));
        this.chunk = bigger;
      }
      const k = readSync(this.fd, this.chunk, n, this.chunk.length - n, this.offset + n);
      if (k === 0) break;
      n += k;
    }
    if (n === 0) return;
    this.offset += n;
    let buf: Uint8Array;
    if (this.pending.length) {
      buf = new Uint8Array(this.pending.length + n);
      buf.set(this.pending, 0);
      buf.set(this.chunk.subarray(0, n), this.pending.length);
    } else buf = this.chunk.subarray(0, n);
    let pos = 0;
    for (;;) {
      const k = this.parser.step(buf, pos, buf.length, false);
      if (k === 0) break;
      pos += k;
      const f = this.parser.frame;
      if (f) out.push(Uint8Array.prototype.slice.call(f.data));
    }
    this.pending = pos === buf.length ? EMPTY : Uint8Array.prototype.slice.call(buf.subarray(pos));
  }

  /** Close the file. */
  close(): void {
    closeSync(this.fd);
  }
}

interface BridgeState {
  info: OvsBridge;
  readers: Map<number, TxReader>;
  /** Serialises frame runs on this bridge. */
  lock: Promise<unknown>;
  seq: number;
}

/** A command's exit code and output. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

const live = new Set<OvsOracle>();
let exitHooked = false;

function onExit(): void {
  for (const o of live) o.killNow();
}

/** Wait up to 3 s for the processes to exit, then SIGKILL those still alive (ours, by pid). */
export async function reapPids(pids: readonly number[]): Promise<void> {
    for (let i = 0; i < 300 && pids.some(pidAlive); i++) await sleep(10);
    for (const pid of pids) {
      if (pidAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
}

/**
 * Run a command with `env`, killed after `timeoutMs`; resolves with its exit code and output (never
 * rejects for a non-zero exit), rejects with `OvsOracleError` when it cannot be started.
 */
export function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(new OvsOracleError('exec', `${cmd}: ${e.message}`));
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    p.stdin.on('error', () => {});
    p.stdin.end(input ?? '');
  });
}

/** A private Open vSwitch (ovsdb-server + ovs-vswitchd with the dummy datapath); see the module comment. */
export class OvsOracle {
  /** The sandbox directory (databases, sockets, logs, captures). */
  readonly dir: string;
  /** The environment every OVS command runs with (OVS_RUNDIR etc.). */
  readonly env: NodeJS.ProcessEnv;
  /** Process ids of ovsdb-server and ovs-vswitchd. */
  readonly pids: { ovsdbServer: number; vswitchd: number };
  private readonly script: string;
  private readonly opts: OvsStartOptions;
  private ctl: Unixctl | null = null;
  private ctlOpening: Promise<Unixctl> | null = null;
  private bridges = new Map<string, BridgeState>();
  private stopped = false;
  private watcher: FSWatcher | null = null;
  /** Bumped on every change notification in the directory (the tx pcaps being appended). */
  private txGen = 0;
  private txWaiters: (() => void)[] = [];
  private readonly stallMs: number;
  /** Frames ran since the last `revalidator/purge` (their megaflow counters are not yet credited to rules). */
  private statsDirty = false;
  /** Running estimate of OVS's processing time per queued packet (ms). */
  private pktCostMs = 0.05;

  /** @internal use `startOvs`. */
  constructor(dir: string, env: NodeJS.ProcessEnv, pids: { ovsdbServer: number; vswitchd: number }, script: string, opts: OvsStartOptions) {
    this.dir = dir;
    this.env = env;
    this.pids = pids;
    this.script = script;
    this.opts = opts;
    this.stallMs = opts.stallMs ?? 10_000;
  }

  /**
   * Resolve when the directory changed after generation `gen` (inotify through fs.watch), or
   * after a short fallback delay in case a notification was coalesced or missed.
   */
  private txChange(gen: number): Promise<void> {
    if (!this.watcher) {
      this.watcher = watch(this.dir, { persistent: false }, () => {
        this.txGen++;
        const w = this.txWaiters;
        this.txWaiters = [];
        for (const f of w) f();
      });
      this.watcher.on('error', () => {});
    }
    if (this.txGen !== gen) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 5);
      this.txWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Run an OVS command-line tool with the sandbox environment (never throws for a non-zero exit). */
  exec(cmd: string, args: string[], input?: string): Promise<CommandResult> {
    return runCommand(cmd, args, this.env, this.opts.timeoutMs ?? 30_000, input);
  }

  /** `ovs-vsctl` against the private database; throws `OvsOracleError` on failure, returns stdout. */
  async vsctl(...args: string[]): Promise<string> {
    const r = await this.exec('ovs-vsctl', [`--db=${this.env.DB_SOCK}`, '--timeout=20', ...args]);
    if (r.code !== 0) throw new OvsOracleError('exec', `ovs-vsctl ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Run an `ovs-appctl` command on ovs-vswitchd over the persistent unixctl connection; returns its text. */
  async appctl(command: string, ...args: string[]): Promise<string> {
    return (await this.unixctl()).call(command, args);
  }

  private unixctl(): Promise<Unixctl> {
    if (this.stopped) return Promise.reject(new OvsOracleError('stop', 'the OVS oracle is stopped'));
    if (this.ctl) return Promise.resolve(this.ctl);
    this.ctlOpening ??= Unixctl.open(join(this.dir, `ovs-vswitchd.${this.pids.vswitchd}.ctl`)).then((c) => (this.ctl = c));
    return this.ctlOpening;
  }

  private state(bridge: string): BridgeState {
    const s = this.bridges.get(bridge);
    if (!s) throw new OvsOracleError('bridge', `no bridge ${bridge} was created through this oracle (have: ${[...this.bridges.keys()].join(', ') || 'none'})`);
    return s;
  }

  /** Create a dummy-datapath bridge with dummy ports `<prefix><N>` (ofport N) capturing to `DIR/<prefix><N>-tx.pcap`. */
  async bridge(name: string, opts: OvsBridgeOptions): Promise<OvsBridge> {
    if (this.bridges.has(name)) throw new OvsOracleError('bridge', `bridge ${name} already exists`);
    const ports = [...opts.ports];
    for (const p of ports) {
      if (!Number.isInteger(p) || p < 1 || p > 0xfeff) throw new OvsOracleError('port', `bridge ${name}: port number ${p} is not in 1..65279`);
    }
    if (new Set(ports).size !== ports.length) throw new OvsOracleError('port', `bridge ${name}: duplicate port numbers in ${ports.join(',')}`);
    const protocols = opts.protocols ?? 'OpenFlow15';
    const ofVersion = protocols.split(',').pop()!.trim();
    const prefix = opts.portPrefix ?? 'p';
    const portNames = new Map<number, string>();
    const txPcap = new Map<number, string>();
    const args = ['add-br', name, '--', 'set', 'bridge', name, 'datapath_type=dummy', `fail-mode=${opts.failMode ?? 'secure'}`, `protocols=${protocols}`];
    for (const p of ports) {
      const ifname = `${prefix}${p}`;
      const pcap = join(this.dir, `${ifname}-tx.pcap`);
      if (existsSync(pcap)) unlinkSync(pcap);
      portNames.set(p, ifname);
      txPcap.set(p, pcap);
      args.push('--', 'add-port', name, ifname, '--', 'set', 'interface', ifname, `type=${opts.pmd ? 'dummy-pmd' : 'dummy'}`, `ofport_request=${p}`, `options:tx_pcap=${pcap}`);
      if (opts.mtu !== undefined) args.push(`mtu_request=${opts.mtu}`);
    }
    await this.vsctl(...args);
    // ofport_request is a request: check that OVS granted every number.
    const got = await this.vsctl(...ports.flatMap((p) => ['--', 'get', 'interface', portNames.get(p)!, 'ofport']));
    const nums = got.trim().split('\n').map(Number);
    ports.forEach((p, i) => {
      if (nums[i] !== p) throw new OvsOracleError('port', `bridge ${name}: interface ${portNames.get(p)} got ofport ${nums[i]}, not ${p}`);
    });
    const readers = new Map<number, TxReader>();
    for (const p of ports) {
      for (let i = 0; !existsSync(txPcap.get(p)!) && i < 100; i++) await sleep(10);
      readers.set(p, new TxReader(txPcap.get(p)!));
    }
    const info: OvsBridge = { name, ports, ofVersion, markers: opts.markers ?? true, portNames, txPcap };
    this.bridges.set(name, { info, readers, lock: Promise.resolve(), seq: 0 });
    if (info.markers) {
      const r = await this.ofctlModify(name, 'add-flows', this.markerFlows(info));
      if (!r.ok) throw new OvsOracleError('bridge', `bridge ${name}: marker flows refused: ${r.message}`);
    }
    return info;
  }

  /** The reserved marker flows of a bridge, one per ingress port, in add-flows syntax. */
  private markerFlows(b: OvsBridge, prefix = ''): string {
    return b.ports
      .map((inPort) => {
        const acts = b.ports.map((p) => (p === inPort ? 'in_port' : `output:${p}`)).join(',');
        return `${prefix}table=0,priority=65535,cookie=0x${MARKER_COOKIE.toString(16)},in_port=${inPort},dl_src=${MARKER_MAC_TEXT},dl_type=0x${MARKER_ETHERTYPE.toString(16)} actions=${acts}\n`;
      })
      .join('');
  }

  /**
   * Credit datapath (megaflow) counters to the OpenFlow rules now: `revalidator/purge` pushes them
   * and removes the megaflows. Without it `n_packets` lags by up to the revalidation period, and
   * after a table change OVS credits earlier frames to whatever rule matches them *then*. Called
   * automatically before table changes and statistics dumps when frames ran since the last call.
   */
  async settleStats(): Promise<void> {
    if (!this.statsDirty) return;
    this.statsDirty = false;
    await this.appctl('revalidator/purge');
  }

  private async ofctlModify(bridge: string, cmd: string, text: string, extra: string[] = []): Promise<OfctlResult> {
    const b = this.state(bridge).info;
    await this.settleStats();
    const r = await this.exec('ovs-ofctl', ['-O', b.ofVersion, ...extra, cmd, bridge, '-'], text);
    return parseOfctlStderr(r.stderr, r.code === 0);
  }

  private warnReserved(b: OvsBridge, text: string, r: OfctlResult): OfctlResult {
    if (b.markers && /priority=65535\b/.test(text)) r.warnings.push('ovs-ts oracle: a flow uses priority 65535, the priority of the marker flows; attribution may break');
    return r;
  }

  /** `ovs-ofctl add-flows BR -` with `text` (one flow per line; `#` comments allowed). */
  async addFlows(bridge: string, text: string, opts: ModifyOptions = {}): Promise<OfctlResult> {
    const b = this.state(bridge).info;
    return this.warnReserved(b, text, await this.ofctlModify(bridge, 'add-flows', text, opts.bundle ? ['--bundle'] : []));
  }

  /** `ovs-ofctl replace-flows BR -`: the table becomes exactly `text` (plus the marker flows). */
  async replaceFlows(bridge: string, text: string, opts: ModifyOptions = {}): Promise<OfctlResult> {
    const b = this.state(bridge).info;
    const full = b.markers ? `${text.endsWith('\n') || text === '' ? text : text + '\n'}${this.markerFlows(b)}` : text;
    return this.warnReserved(b, text, await this.ofctlModify(bridge, 'replace-flows', full, opts.bundle ? ['--bundle'] : []));
  }

  /** Delete flows: every flow when `spec` is omitted, else those matching each line of `spec` (non-strict). Marker flows are restored. */
  async delFlows(bridge: string, spec?: string, opts: ModifyOptions = {}): Promise<OfctlResult> {
    const b = this.state(bridge).info;
    const specs = spec === undefined ? [''] : spec.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    // One ovs-ofctl call: per-line "delete" commands, then the markers again.
    const text = specs.map((s) => `delete ${s}\n`).join('') + (b.markers ? this.markerFlows(b, 'add ') : '');
    return this.ofctlModify(bridge, 'add-flows', text, opts.bundle ? ['--bundle'] : []);
  }

  /** `ovs-ofctl dump-flows`: one flow per line (header and marker flows removed). */
  async dumpFlows(bridge: string, opts: DumpFlowsOptions = {}): Promise<string[]> {
    const b = this.state(bridge).info;
    const args = ['-O', b.ofVersion, 'dump-flows', bridge];
    if (opts.filter) args.push(opts.filter);
    if (!opts.stats) args.push('--no-stats');
    else await this.settleStats();
    const r = await this.exec('ovs-ofctl', args);
    if (r.code !== 0) throw new OvsOracleError('exec', `ovs-ofctl dump-flows ${bridge}: ${r.stderr.trim()}`);
    const mark = `cookie=0x${MARKER_COOKIE.toString(16)}`;
    return r.stdout
      .split('\n')
      .filter((l) => l.startsWith(' '))
      .map((l) => l.trim())
      .filter((l) => !l.includes(mark) && !(b.markers && l.includes(`dl_src=${MARKER_MAC_TEXT},dl_type=0x88b5`)));
  }

  /** `ovs-ofctl add-groups BR -` (`group_id=1,type=all,bucket=...` per line). */
  async addGroups(bridge: string, text: string, opts: ModifyOptions = {}): Promise<OfctlResult> {
    return this.ofctlModify(bridge, 'add-groups', text, opts.bundle ? ['--bundle'] : []);
  }

  /** Delete all groups, or those named by each line of `spec` (`group_id=N`). */
  async delGroups(bridge: string, spec?: string): Promise<OfctlResult> {
    const b = this.state(bridge).info;
    const specs = spec === undefined ? [undefined] : spec.split('\n').filter((l) => l.trim());
    await this.settleStats();
    for (const s of specs) {
      const r = await this.exec('ovs-ofctl', ['-O', b.ofVersion, 'del-groups', bridge, ...(s ? [s] : [])]);
      const res = parseOfctlStderr(r.stderr, r.code === 0);
      if (!res.ok) return res;
    }
    return { ok: true, warnings: [], stderr: '' };
  }

  /** `ovs-ofctl dump-groups`: one group per line. */
  async dumpGroups(bridge: string, opts: { stats?: boolean } = {}): Promise<string[]> {
    const b = this.state(bridge).info;
    if (opts.stats) await this.settleStats();
    const r = await this.exec('ovs-ofctl', ['-O', b.ofVersion, opts.stats ? 'dump-group-stats' : 'dump-groups', bridge]);
    if (r.code !== 0) throw new OvsOracleError('exec', `ovs-ofctl dump-groups ${bridge}: ${r.stderr.trim()}`);
    return r.stdout
      .split('\n')
      .filter((l) => l.startsWith(' '))
      .map((l) => l.trim());
  }

  /** Inject frames on one port and return, per frame, what every port transmitted (see `runFrames`). */
  inject(bridge: string, port: number, frames: Uint8Array | Uint8Array[]): Promise<OvsFrameResult[]> {
    const list = frames instanceof Uint8Array ? [frames] : frames;
    return this.runFrames(
      bridge,
      list.map((bytes) => ({ port, bytes })),
    );
  }

  /**
   * Inject `frames` in order and attribute every transmitted frame to the injected frame that
   * caused it. Runs on one bridge are serialised; runs on different bridges may overlap.
   */
  runFrames(bridge: string, frames: OvsFrame[], opts: RunFramesOptions = {}): Promise<OvsFrameResult[]> {
    const s = this.state(bridge);
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (!s.info.portNames.has(f.port)) {
        throw new OvsOracleError('port', `frame ${i}: bridge ${bridge} has no port ${f.port} (ports: ${s.info.ports.join(', ')})`);
      }
      if (f.bytes.length < 14) throw new OvsOracleError('frame', `frame ${i}: ${f.bytes.length} bytes; netdev-dummy/receive needs at least an Ethernet header (14)`);
      if (s.info.markers && isMarkerLike(f.bytes)) throw new OvsOracleError('frame', `frame ${i} looks like an attribution marker (source ${MARKER_MAC_TEXT}, type 0x88b5)`);
    }
    let order: number[] | null = null;
    let input = frames;
    if (opts.reorder && s.info.markers) {
      order = frames.map((_, i) => i).sort((a, b) => frames[a]!.port - frames[b]!.port || a - b);
      input = order.map((i) => frames[i]!);
    }
    const run = s.lock.then(async () => {
      this.statsDirty = true;
      const r = s.info.markers ? await this.runMarked(s, input) : await this.runBarrier(s, input);
      if (!order) return r;
      const out = new Array<OvsFrameResult>(r.length);
      order.forEach((orig, k) => (out[orig] = r[k]!));
      return out;
    });
    s.lock = run.catch(() => {});
    return run;
  }

  private emptyOutputs(s: BridgeState): Record<number, Uint8Array[]> {
    const o: Record<number, Uint8Array[]> = {};
    for (const p of s.info.ports) o[p] = [];
    return o;
  }

  /** Read and drop whatever the ports transmitted outside a run (returned for diagnostics). */
  drainTx(bridge: string): Record<number, Uint8Array[]> {
    const s = this.state(bridge);
    const o = this.emptyOutputs(s);
    for (const [p, r] of s.readers) r.read(o[p]!);
    return o;
  }

  private async runMarked(s: BridgeState, frames: OvsFrame[]): Promise<OvsFrameResult[]> {
    const n = frames.length;
    const results: OvsFrameResult[] = frames.map((f) => ({ port: f.port, outputs: this.emptyOutputs(s) }));
    this.drainTx(s.info.name);
    const ctl = await this.unixctl();
    const scratch: Uint8Array[] = [];
    const baseSeq = s.seq;
    s.seq = (s.seq + n) >>> 0;
    // cursor[p] = markers seen on port p in this run = index of the frame whose outputs come next.
    const ports = s.info.ports;
    const cursor = new Map<number, number>(ports.map((p) => [p, 0]));
    let minCursor = 0;
    let next = 0; // next frame to send
    let lastProgress = Date.now();
    let sentAt = performance.now();
    let sentPkts = 0;
    while (minCursor < n) {
      // Send while the rx queue has room. A port change waits until everything before it is done,
      // since frames queued on two ports would be processed in the same main-loop iterations.
      if (next < n) {
        const port = frames[next]!.port;
        const inflight = next - minCursor;
        const sameRun = next > 0 && frames[next - 1]!.port === port;
        let runLeft = 0;
        while (next + runLeft < n && frames[next + runLeft]!.port === port && runLeft < PAIRS_PER_CALL) runLeft++;
        const room = PAIRS_PER_CALL - inflight;
        if ((inflight === 0 || sameRun) && room > 0 && (inflight === 0 || room >= Math.min(runLeft, 16))) {
          const k = Math.min(room, runLeft);
          const args = [s.info.portNames.get(port)!];
          for (let j = next; j < next + k; j++) args.push(hex(frames[j]!.bytes), hex(markerFrame((baseSeq + j) >>> 0)));
          await ctl.call('netdev-dummy/receive', args);
          if (inflight === 0) {
            sentAt = performance.now();
            sentPkts = 0;
          }
          sentPkts += 2 * k;
          next += k;
          // A long batch takes about one OVS main-loop iteration per queued packet: sleep through
          // most of it instead of waking on every capture write.
          if (inflight === 0) {
            const est = 2 * k * this.pktCostMs * 0.6;
            if (est >= 2) await sleep(Math.floor(est));
          }
        }
      }
      const gen = this.txGen;
      let progress = false;
      for (const p of ports) {
        scratch.length = 0;
        s.readers.get(p)!.read(scratch);
        if (scratch.length === 0) continue;
        progress = true;
        let c = cursor.get(p)!;
        for (const f of scratch) {
          const seq = markerSeq(f);
          if (seq >= 0) {
            if (seq !== ((baseSeq + c) >>> 0)) {
              throw new OvsOracleError('frame', `bridge ${s.info.name} port ${p}: marker ${seq} where ${(baseSeq + c) >>> 0} was expected (a frame or marker was lost)`);
            }
            c++;
          } else if (c < next) results[c]!.outputs[p]!.push(f);
          else throw new OvsOracleError('frame', `bridge ${s.info.name} port ${p}: output that no injected frame explains`);
        }
        cursor.set(p, c);
      }
      if (progress) {
        let m = n;
        for (const c of cursor.values()) if (c < m) m = c;
        if (m === next && sentPkts > 0) {
          // Learn from long batches only: short ones are dominated by round trips.
          if (sentPkts >= 40) this.pktCostMs = 0.8 * this.pktCostMs + 0.2 * Math.min((performance.now() - sentAt) / sentPkts, 1);
          sentPkts = 0;
        }
        minCursor = m;
        lastProgress = Date.now();
        continue;
      }
      if (Date.now() - lastProgress > this.stallMs) {
        throw new OvsOracleError(
          'timeout',
          `bridge ${s.info.name}: frames ${minCursor}..${next - 1}: markers did not come back within ${this.stallMs} ms (port down, MTU, or a user flow at priority 65535 in table 0?); markers seen per port: ${JSON.stringify([...cursor])}`,
        );
      }
      await this.txChange(gen);
    }
    return results;
  }

  private async rxCount(ctl: Unixctl): Promise<number> {
    const t = await ctl.call('dpif-netdev/pmd-stats-show', []);
    let sum = 0;
    for (const m of t.matchAll(/packets received: (\d+)/g)) sum += Number(m[1]);
    return sum;
  }

  private async runBarrier(s: BridgeState, frames: OvsFrame[]): Promise<OvsFrameResult[]> {
    const results: OvsFrameResult[] = [];
    this.drainTx(s.info.name);
    const ctl = await this.unixctl();
    let count = await this.rxCount(ctl);
    for (const f of frames) {
      await ctl.call('netdev-dummy/receive', [s.info.portNames.get(f.port)!, hex(f.bytes)]);
      count++;
      // The counter is read by the main thread, which processes a dequeued packet completely
      // (including the pcap writes) before it serves the next unixctl request.
      for (let k = 0; (await this.rxCount(ctl)) < count; k++) {
        if (k > 10000) throw new OvsOracleError('timeout', `bridge ${s.info.name}: frame not processed`);
        if (k > 3) await sleep(1);
      }
      results.push({ port: f.port, outputs: this.drainTx(s.info.name) });
    }
    return results;
  }

  /**
   * `ovs-ofctl packet-out BR TEXT` (`in_port=1 packet=HEX actions=...`) and what every port
   * transmitted because of it. ovs-ofctl waits for a barrier, so the packet-out's frames are in
   * the captures when it returns; a marker frame injected after it (the bridge needs markers)
   * then marks the end of its outputs on every port. Serialised with the bridge's frame runs.
   */
  packetOut(bridge: string, text: string): Promise<OvsPacketOutResult> {
    const s = this.state(bridge);
    if (!s.info.markers) throw new OvsOracleError('bridge', `packetOut needs a bridge with markers (${bridge} has none)`);
    const run = s.lock.then(async () => {
      this.statsDirty = true;
      this.drainTx(bridge);
      const r = await this.exec('ovs-ofctl', ['-O', s.info.ofVersion, 'packet-out', bridge, text]);
      const result = parseOfctlStderr(r.stderr, r.code === 0);
      return { result, outputs: await this.outputsUntilMarker(s) };
    });
    s.lock = run.catch(() => {});
    return run;
  }

  /** Inject one marker and return what each port sent before it (the caller holds the bridge's lock). */
  private async outputsUntilMarker(s: BridgeState): Promise<Record<number, Uint8Array[]>> {
    const out = this.emptyOutputs(s);
    const seq = s.seq;
    s.seq = (s.seq + 1) >>> 0;
    const ctl = await this.unixctl();
    const first = s.info.ports[0]!;
    await ctl.call('netdev-dummy/receive', [s.info.portNames.get(first)!, hex(markerFrame(seq))]);
    const done = new Set<number>();
    const scratch: Uint8Array[] = [];
    let lastProgress = Date.now();
    while (done.size < s.info.ports.length) {
      const gen = this.txGen;
      for (const p of s.info.ports) {
        if (done.has(p)) continue;
        scratch.length = 0;
        s.readers.get(p)!.read(scratch);
        for (const f of scratch) {
          const m = markerSeq(f);
          if (m === seq) done.add(p);
          else if (m >= 0) throw new OvsOracleError('frame', `bridge ${s.info.name} port ${p}: marker ${m} where ${seq} was expected`);
          else if (done.has(p)) throw new OvsOracleError('frame', `bridge ${s.info.name} port ${p}: output after the marker that nothing explains`);
          else out[p]!.push(f);
        }
        if (scratch.length) lastProgress = Date.now();
      }
      if (done.size === s.info.ports.length) break;
      if (Date.now() - lastProgress > this.stallMs) throw new OvsOracleError('timeout', `bridge ${s.info.name}: the marker after a packet-out did not come back within ${this.stallMs} ms`);
      await this.txChange(gen);
    }
    return out;
  }

  /** `ovs-ofctl add-meter` for each meter (`meter=1,pktps,bands=type=drop,rate=10`), after deleting every meter. */
  async replaceMeters(bridge: string, meters: readonly string[]): Promise<OfctlResult> {
    const b = this.state(bridge).info;
    await this.settleStats();
    const d = await this.exec('ovs-ofctl', ['-O', b.ofVersion, 'del-meters', bridge]);
    if (d.code !== 0) return parseOfctlStderr(d.stderr, false);
    for (const m of meters) {
      const r = await this.exec('ovs-ofctl', ['-O', b.ofVersion, 'add-meter', bridge, m]);
      if (r.code !== 0) return parseOfctlStderr(r.stderr, false);
    }
    return parseOfctlStderr('', true);
  }

  /** `ovs-ofctl meter-stats`: per meter id, packets/bytes in and per band packets/bytes. */
  async meterStats(bridge: string): Promise<Map<number, { packets: number; bytes: number; bands: { packets: number; bytes: number }[] }>> {
    const b = this.state(bridge).info;
    const r = await this.exec('ovs-ofctl', ['-O', b.ofVersion, 'meter-stats', bridge]);
    if (r.code !== 0) throw new OvsOracleError('exec', `ovs-ofctl meter-stats ${bridge}: ${r.stderr.trim()}`);
    const out = new Map<number, { packets: number; bytes: number; bands: { packets: number; bytes: number }[] }>();
    let cur: { packets: number; bytes: number; bands: { packets: number; bytes: number }[] } | undefined;
    for (const l of r.stdout.split('\n')) {
      const m = /meter:(\d+) flow_count:\d+ packet_in_count:(\d+) byte_in_count:(\d+)/.exec(l);
      if (m) {
        cur = { packets: Number(m[2]), bytes: Number(m[3]), bands: [] };
        out.set(Number(m[1]), cur);
        continue;
      }
      const bm = /^\s*\d+: packet_count:(\d+) byte_count:(\d+)/.exec(l);
      if (bm && cur) cur.bands.push({ packets: Number(bm[1]), bytes: Number(bm[2]) });
    }
    return out;
  }

  /** `ovs-appctl fdb/show BR`: the MAC table as port, VLAN, MAC rows (ages left out). */
  async fdb(bridge: string): Promise<{ port: number; vlan: number; mac: string }[]> {
    const t = await this.appctl('fdb/show', bridge);
    const out: { port: number; vlan: number; mac: string }[] = [];
    for (const l of t.split('\n')) {
      const m = /^\s*(\d+|LOCAL)\s+(\d+)\s+([0-9a-f:]{17})\s+\d+/.exec(l);
      if (m) out.push({ port: m[1] === 'LOCAL' ? 0xfffe : Number(m[1]), vlan: Number(m[2]), mac: m[3]! });
    }
    return out;
  }

  /** `ovs-appctl ofproto/trace`: `what` is a microflow (`in_port=1,tcp,nw_dst=10.0.0.2`) or a frame with its ingress port. */
  trace(bridge: string, what: string | OvsFrame, extra: string[] = []): Promise<string> {
    this.state(bridge);
    if (typeof what === 'string') return this.appctl('ofproto/trace', bridge, what, ...extra);
    return this.appctl('ofproto/trace', bridge, `in_port=${what.port}`, hex(what.bytes), ...extra);
  }

  /** Flush the userspace connection tracker (`dpctl/flush-conntrack`), optionally one zone. */
  async ctFlush(zone?: number): Promise<void> {
    await this.appctl('dpctl/flush-conntrack', ...(zone === undefined ? [] : [`zone=${zone}`]));
  }

  /** `dpctl/dump-conntrack` (optionally one zone): one connection per line. */
  async dumpConntrack(zone?: number): Promise<string[]> {
    const t = await this.appctl('dpctl/dump-conntrack', ...(zone === undefined ? [] : [`zone=${zone}`]));
    return t.split('\n').filter((l) => l.trim().length > 0);
  }

  /** `time/stop`: freeze OVS's monotonic clock (then advance it only with `timeWarp`). */
  async timeStop(): Promise<void> {
    await this.appctl('time/stop');
  }

  /** `time/warp MS`: advance OVS's (stopped) clock by `ms` milliseconds. */
  async timeWarp(ms: number): Promise<void> {
    await this.appctl('time/warp', String(ms));
  }

  /** Kill the daemons and remove the directory synchronously (the process-exit safety net). */
  killNow(): void {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    this.ctl?.close();
    this.watcher?.close();
    for (const r of this.bridges.values()) for (const t of r.readers.values()) t.close();
    for (const pid of [this.pids.vswitchd, this.pids.ovsdbServer]) {
      if (pid <= 0) continue; // never signal a process group
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (!this.opts.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stop both daemons (the sandbox's `stop`, by pid), wait until they are gone, remove the directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    this.ctl?.close();
    this.ctl = null;
    this.watcher?.close();
    this.watcher = null;
    for (const r of this.bridges.values()) for (const t of r.readers.values()) t.close();
    await new Promise<void>((resolve) => {
      const p = spawn('bash', [this.script, 'stop', this.dir], { stdio: 'ignore' });
      p.on('close', () => resolve());
      p.on('error', () => resolve());
    });
    const pids = [this.pids.vswitchd, this.pids.ovsdbServer].filter((p) => p > 0);
    await reapPids(pids);
    if (!this.opts.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Start a private Open vSwitch in a fresh temporary directory (throws `OvsOracleError` if it cannot). */
export async function startOvs(opts: OvsStartOptions = {}): Promise<OvsOracle> {
  const script = opts.script ?? oracleScript('ovs-sandbox');
  if (!script) throw new OvsOracleError('start', 'the ovs-sandbox script was not found (set OVNTS_SHARED to the folder holding oracles/)');
  const dir = mkdtempSync(join(opts.tmpDir ?? tmpdir(), 'ovnts-ovs-oracle-'));
  const out = await new Promise<CommandResult>((resolve) => {
    const p = spawn('bash', [script, 'start', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    p.on('error', (e) => resolve({ code: 127, stdout, stderr: e.message }));
  });
  const readPid = (name: string): number => {
    try {
      return Number(readFileSync(join(dir, `${name}.pid`), 'utf8').trim()) || 0;
    } catch {
      return 0;
    }
  };
  const pids = { ovsdbServer: readPid('ovsdb-server'), vswitchd: readPid('ovs-vswitchd') };
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const m of out.stdout.matchAll(/(\w+)='([^']*)'/g)) env[m[1]!] = m[2]!;
  const ctl = join(dir, `ovs-vswitchd.${pids.vswitchd}.ctl`);
  if (out.code !== 0 || !env.DB_SOCK || !pids.vswitchd || !existsSync(ctl)) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'ovs-vswitchd.log'), 'utf8').split('\n').slice(-10).join('\n');
    } catch {
      /* none */
    }
    const o = new OvsOracle(dir, env, pids, script, opts);
    await o.stop();
    throw new OvsOracleError('start', `ovs-sandbox start ${dir} failed (exit ${out.code}): ${out.stderr.trim()}\n${log}`);
  }
  const o = new OvsOracle(dir, env, pids, script, opts);
  live.add(o);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', onExit);
  }
  return o;
}
