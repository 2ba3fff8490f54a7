/**
 * `ovnts switch`: an OpenFlow switch that real tools drive over the wire. `--listen ptcp:PORT[:IP]`
 * is a bridge's passive controller listener (where `ovs-ofctl` connects); `--controller
 * tcp:HOST:PORT` connects out to a controller and reconnects when the connection drops, with OVS's
 * fail modes (`FailOpen`: standalone fails open to a learning switch while the controller is gone,
 * secure keeps the flows). Ports of `--ports` exist with no NIC behind them, as the dummy datapath
 * has; `--port N=IFACE` attaches port N to a real interface through live capture (`@ovnts/host`,
 * the optional native package `cap`). `--in N=PCAP` injects a capture at port N once the switch is
 * ready (with `--controller`: once the controller has set it up, see `waitForController`), and
 * `--out-dir DIR` records what leaves each port as `DIR/<port>.pcap`, written as frames leave. It
 * runs until SIGINT/SIGTERM (Ctrl-C), then closes its connections, interfaces and captures and
 * exits 0.
 */
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { LinkType, PcapWriter, liveCaptureAvailable } from '@ovnts/capture';
import { attachLivePort, type LiveInterface, type LivePort } from '@ovnts/host';
import { FailOpen, OfpAgent, connectController, listenOpenFlow, type FailMode, type OfpActiveConnection, type OfpListener, type Switch } from '@ovnts/openflow';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import { checkOutputs, prepareOutDir } from '../files.js';
import { untilStopSignal, type Io } from '../io.js';
import { loadFlows, makeSwitch, parsePortList } from '../openflow-setup.js';
import { readPortCaptures } from './replay.js';

const spec: CommandSpec = {
  name: 'switch',
  summary: 'Run an OpenFlow switch that ovs-ofctl and controllers drive over TCP (OpenFlow 1.0, 1.3-1.5)',
  usage:
    'ovnts switch [--ports LIST] [--port N=IFACE ...] [--listen ptcp:PORT[:IP]] [--controller tcp:HOST:PORT] [--fail-mode standalone|secure] ' +
    '[--inactivity-probe SECONDS] [--flows FILE] [--in N=PCAP ...] [--out-dir DIR [--force]]',
  options: {
    ports: { kind: 'string', metavar: 'LIST', help: 'switch ports, e.g. 1,2,3,4 or 1-4 (no NIC behind them)' },
    port: { kind: 'multi', metavar: 'N=IFACE', help: 'attach port N to a network interface (live capture: root and the optional package cap)' },
    listen: { kind: 'string', metavar: 'ptcp:PORT[:IP]', help: 'listen for OpenFlow connections (default IP 0.0.0.0)' },
    controller: { kind: 'string', metavar: 'tcp:HOST:PORT', help: 'connect to a controller (reconnects with backoff)' },
    'fail-mode': { kind: 'string', metavar: 'MODE', help: 'standalone (default, as OVS: a learning switch while the controller is gone) or secure' },
    'inactivity-probe': { kind: 'string', metavar: 'SECONDS', help: 'controller inactivity probe interval (default 5, 0 off, else at least 5, as OVS)' },
    flows: { kind: 'string', metavar: 'FILE', help: 'flows to install first, in ovs-ofctl add-flows syntax' },
    in: { kind: 'multi', metavar: 'N=PCAP', help: 'a capture to inject at port N once the switch (and its controller) is ready' },
    'out-dir': { kind: 'string', metavar: 'DIR', help: 'write what leaves each port to DIR/<port>.pcap (created if missing)' },
    force: { kind: 'flag', help: 'overwrite existing <port>.pcap files (never an input)' },
  },
  positionals: { min: 0, max: 0, names: '' },
};

/** `ptcp:PORT[:IP]` -> port and address. */
export function parseListen(text: string): { port: number; host: string } {
  const m = /^ptcp:(\d+)(?::(.+))?$/.exec(text);
  if (!m || Number(m[1]) > 65535) throw new UsageError(`switch: --listen ${JSON.stringify(text)}: expected ptcp:PORT[:IP] with PORT 0..65535`);
  return { port: Number(m[1]), host: m[2] ?? '0.0.0.0' };
}

/** `tcp:HOST:PORT` -> host and port. */
export function parseController(text: string): { host: string; port: number } {
  const m = /^tcp:(.+):(\d+)$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`switch: --controller ${JSON.stringify(text)}: expected tcp:HOST:PORT with PORT 1..65535`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}

/** `N=VALUE` of `--port`/`--in` -> port number and value; N must be an OpenFlow port (1..65279). */
export function parsePortAssignment(option: string, text: string, what: string): { port: number; value: string } {
  const m = /^(\d+)=(.+)$/.exec(text);
  if (!m) throw new UsageError(`switch: --${option} ${JSON.stringify(text)}: expected N=${what}`);
  const port = Number(m[1]);
  if (port < 1 || port > 0xfeff) throw new UsageError(`switch: --${option} ${JSON.stringify(text)}: port ${m[1]} is outside 1-65279`);
  return { port, value: m[2]! };
}

/** A Linux interface name that exists here (`/sys/class/net/IFACE`); a `UsageError` otherwise. */
export function checkInterface(option: string, ifname: string): void {
  if (ifname.length > 15 || !/^[^\s/:]+$/.test(ifname) || ifname === '.' || ifname === '..') {
    throw new UsageError(`switch: --${option}: ${JSON.stringify(ifname)} is not an interface name (at most 15 characters, no spaces, '/' or ':')`);
  }
  if (!existsSync(`/sys/class/net/${ifname}`)) throw new UsageError(`switch: --${option}: no network interface ${JSON.stringify(ifname)} here (see 'ip link')`);
}

/** `--fail-mode` -> the mode. */
export function parseFailMode(text: string): FailMode {
  if (text !== 'standalone' && text !== 'secure') throw new UsageError(`switch: --fail-mode ${JSON.stringify(text)}: expected standalone or secure`);
  return text;
}

/** `--inactivity-probe` -> whole seconds (0: off). */
export function parseProbe(text: string): number {
  if (!/^\d{1,6}$/.test(text)) throw new UsageError(`switch: --inactivity-probe ${JSON.stringify(text)}: expected a whole number of seconds (0 turns probes off)`);
  return Number(text);
}

/** What `startSwitch` takes (the options of `ovnts switch`, parsed). */
export interface SwitchOptions {
  /** Ports with no NIC behind them. */
  ports?: number[];
  /** Ports attached to interfaces. */
  live?: { port: number; ifname: string }[];
  listen?: string;
  controller?: string;
  /** Default `standalone`, as OVS. */
  failMode?: FailMode;
  /** Seconds (default 5). */
  probeIntervalS?: number;
  flowsPath?: string;
  /** Captures to inject, per port. */
  inputs?: { port: number; path: string }[];
  /** Where `<port>.pcap` files go. */
  outDir?: string;
  /** Overwrite existing outputs. */
  force?: boolean;
  /** Opens interfaces (tests inject a fake; default `@ovnts/capture`'s `openLive`). */
  open?: (ifname: string) => LiveInterface;
  /** Log lines (failing open, recovering, injecting). */
  log?: (line: string) => void;
  /** How long the controller must be quiet after its setup before `--in` frames go (ms, default 500). */
  controllerQuietMs?: number;
}

/** A running switch (what `ovnts switch` holds until it is stopped). */
export interface RunningSwitch {
  /** The switch. */
  readonly sw: Switch;
  /** The OpenFlow side. */
  readonly agent: OfpAgent;
  /** The listener, if `--listen`. */
  readonly listener?: OfpListener;
  /** The controller connection, if `--controller`. */
  readonly controller?: OfpActiveConnection;
  /** The fail-mode machinery, if `--controller`. */
  readonly failOpen?: FailOpen;
  /** The ports attached to interfaces. */
  readonly livePorts: readonly LivePort[];
  /** Every port's number, sorted. */
  readonly ports: readonly number[];
  /** Resolves once the `--in` frames have been injected (at once without `--in`), with how many. */
  readonly injected: Promise<number>;
  /** Frames written per port so far (with `--out-dir`). */
  readonly written: ReadonlyMap<number, number>;
  /** Receive a frame on a port (through the hidden fail-open flow while failed open). */
  receive(port: number, frame: Uint8Array): void;
  /** Close everything: connections, listener, interfaces, and the pcap files (flushed). */
  stop(): Promise<void>;
}

/** Wall-clock time in ns since the epoch, for pcap timestamps. */
function wallNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * Start a switch with the command's options (the body of `ovnts switch`, for tests). Everything
 * that can be wrong with the options is checked before anything is bound, opened or written.
 */
export async function startSwitch(o: SwitchOptions): Promise<RunningSwitch> {
  const log = o.log ?? (() => {});
  const listen = o.listen === undefined ? undefined : parseListen(o.listen);
  const ctl = o.controller === undefined ? undefined : parseController(o.controller);
  if (!listen && !ctl) throw new UsageError('switch: give --listen, --controller or both');
  const live = o.live ?? [];
  const ports = [...new Set([...(o.ports ?? []), ...live.map((l) => l.port)])].sort((a, b) => a - b);
  if (ports.length === 0) throw new UsageError('switch: give --ports, --port or both');
  const seenPort = new Map<number, string>();
  const seenIf = new Set<string>();
  for (const l of live) {
    if (seenPort.has(l.port)) throw new UsageError(`switch: --port ${l.port}=${l.ifname}: port ${l.port} is already attached to ${seenPort.get(l.port)}`);
    if (seenIf.has(l.ifname)) throw new UsageError(`switch: --port ${l.port}=${l.ifname}: ${l.ifname} is already attached to another port`);
    seenPort.set(l.port, l.ifname);
    seenIf.add(l.ifname);
    if (!o.open) checkInterface('port', l.ifname);
  }
  const inputs = o.inputs ?? [];
  for (const i of inputs) if (!ports.includes(i.port)) throw new UsageError(`switch: --in ${i.port}=${i.path}: port ${i.port} is not a port of the switch (--ports, --port)`);
  if (o.force && o.outDir === undefined) throw new UsageError('switch: --force needs --out-dir');
  const failMode = o.failMode ?? 'standalone';
  if (live.length && !o.open) {
    const cap = liveCaptureAvailable();
    if (!cap.ok) throw new CliError(`--port needs live capture: ${cap.reason}`);
  }
  // Inputs are read, and outputs checked, before anything runs.
  const frames = readPortCaptures(inputs);
  const outFiles = new Map<number, string>();
  if (o.outDir !== undefined) {
    prepareOutDir('switch', o.outDir);
    for (const p of ports) outFiles.set(p, join(o.outDir, `${p}.pcap`));
    checkOutputs('switch', [...outFiles.values()], [...(o.flowsPath ? [o.flowsPath] : []), ...inputs.map((i) => i.path)], o.force ?? false);
  }

  const sw = makeSwitch(ports);
  if (o.flowsPath) loadFlows(sw, o.flowsPath);
  const agent = new OfpAgent(sw);
  sw.onPacketIn = (pi) => agent.packetIn(pi);

  // Outputs: a pcap per port, written as frames leave.
  const writers = new Map<number, { w: PcapWriter; stream: WriteStream }>();
  const written = new Map<number, number>();
  let writeError: Error | undefined;
  for (const [p, file] of outFiles) {
    const stream = createWriteStream(file);
    stream.on('error', (e) => (writeError ??= new CliError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    writers.set(p, { w: new PcapWriter({ sink: stream, linkType: LinkType.ETHERNET }), stream });
    written.set(p, 0);
  }
  const record = (port: number, frame: Uint8Array): void => {
    const wr = writers.get(port);
    if (!wr) return;
    wr.w.write({ data: frame, timestampNs: wallNs() });
    written.set(port, written.get(port)! + 1);
  };
  if (writers.size) sw.onOutput = record;

  const failOpen = ctl
    ? new FailOpen(agent, {
        mode: failMode, ...(o.probeIntervalS !== undefined ? { probeIntervalS: o.probeIntervalS } : {}),
        onChange: (active, secs) =>
          log(active
            ? `could not connect to the controller for ${secs} seconds, failing open (hidden flow priority=15790320,actions=NORMAL; flows, groups and meters flushed)`
            : 'no longer in fail-open mode'),
      })
    : undefined;
  const receive = (port: number, frame: Uint8Array): void => {
    if (failOpen) failOpen.receive(port, frame);
    else sw.receive(port, frame);
  };

  const livePorts: LivePort[] = [];
  const cleanup = async (): Promise<void> => {
    failOpen?.stop();
    for (const lp of livePorts) lp.close();
    for (const { w } of writers.values()) await w.end();
  };
  let listener: OfpListener | undefined;
  try {
    for (const l of live) {
      const lp = attachLivePort({ port: (n) => sw.port(n), receive }, l.port, l.ifname, {
        ...(o.open ? { open: (n: string) => o.open!(n) } : {}),
        onTxError: (e) => log(`port ${l.port} (${l.ifname}): ${e instanceof Error ? e.message : String(e)}`),
      });
      livePorts.push(lp);
      if (writers.has(l.port)) {
        const tx = sw.port(l.port)!.sink!;
        sw.port(l.port)!.sink = (p, f) => {
          record(p, f);
          tx(p, f);
        };
      }
    }
    if (listen) {
      try {
        listener = await listenOpenFlow(agent, listen.port, listen.host);
      } catch (e) {
        throw new CliError(`cannot listen on ${listen.host}:${listen.port}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  } catch (e) {
    await cleanup();
    throw e instanceof Error && !(e instanceof CliError) && !(e instanceof UsageError) ? new CliError(e.message) : e;
  }
  const controller = ctl ? connectController(agent, ctl.host, ctl.port) : undefined;

  let stopped = false;
  let cancelWait: (() => void) | undefined;
  const injected = (async (): Promise<number> => {
    if (frames.length === 0) return 0;
    await new Promise((r) => setTimeout(r, 0)); // after the caller has said the switch is up
    if (controller) {
      const ready = await waitForController(agent, o.controllerQuietMs ?? 500, (c) => (cancelWait = c));
      if (!ready || stopped) return 0;
    }
    for (const f of frames) receive(f.port, f.frame.data);
    log(`injected ${frames.length} frame${frames.length === 1 ? '' : 's'} from ${inputs.map((i) => `${i.port}=${i.path}`).join(', ')}`);
    return frames.length;
  })();

  return {
    sw, agent, livePorts, ports, injected, written, receive,
    ...(listener ? { listener } : {}),
    ...(controller ? { controller } : {}),
    ...(failOpen ? { failOpen } : {}),
    async stop() {
      stopped = true;
      cancelWait?.();
      controller?.stop();
      await listener?.close();
      await cleanup();
      if (writeError) throw writeError;
    },
  };
}

/**
 * Resolve true once a controller connection has negotiated and then been quiet for `quietMs`
 * (its setup: features request, config, table-miss flow, is done); false when cancelled.
 */
function waitForController(agent: OfpAgent, quietMs: number, onCancel: (cancel: () => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    let last = -1;
    let seen = -1;
    const timer = setInterval(() => {
      const c = [...agent.conns].find((x) => x.primary && x.state === 'active');
      if (!c) {
        last = -1;
        return;
      }
      const now = Date.now();
      if (c.received !== seen) {
        seen = c.received;
        last = now;
      } else if (last >= 0 && now - last >= quietMs) {
        clearInterval(timer);
        resolve(true);
      }
    }, 50);
    onCancel(() => {
      clearInterval(timer);
      resolve(false);
    });
  });
}

export const switchCommand = {
  spec,
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const ports = args.values.has('ports') ? parsePortList('switch', args.values.get('ports')!, 'ports') : [];
    const live = (args.multi.get('port') ?? []).map((t) => {
      const a = parsePortAssignment('port', t, 'IFACE');
      return { port: a.port, ifname: a.value };
    });
    const inputs = (args.multi.get('in') ?? []).map((t) => {
      const a = parsePortAssignment('in', t, 'PCAP');
      return { port: a.port, path: a.value };
    });
    const flowsPath = args.values.get('flows');
    const outDir = args.values.get('out-dir');
    const log = (line: string): void => io.out(`ovnts switch: ${line}\n`);
    const running = await startSwitch({
      ports, live, inputs, log,
      ...(args.values.has('listen') ? { listen: args.values.get('listen')! } : {}),
      ...(args.values.has('controller') ? { controller: args.values.get('controller')! } : {}),
      ...(args.values.has('fail-mode') ? { failMode: parseFailMode(args.values.get('fail-mode')!) } : {}),
      ...(args.values.has('inactivity-probe') ? { probeIntervalS: parseProbe(args.values.get('inactivity-probe')!) } : {}),
      ...(flowsPath ? { flowsPath } : {}),
      ...(outDir !== undefined ? { outDir } : {}), force: args.flags.has('force'),
    });
    const portText = running.ports.map((p) => {
      const lp = running.livePorts.find((l) => l.portNo === p);
      return lp ? `${p}=${lp.ifname}` : String(p);
    }).join(',');
    if (running.listener) log(`listening on ${running.listener.host}:${running.listener.port} (ports ${portText})`);
    if (running.controller) log(`connecting to controller ${args.values.get('controller')} (fail mode ${running.failOpen!.mode}) (ports ${portText})`);
    if (inputs.length && running.controller) log(`the --in frames go once the controller has set the switch up`);
    await untilStopSignal();
    await running.stop();
    if (outDir !== undefined) for (const [p, n] of running.written) log(`${join(outDir, `${p}.pcap`)}: ${n} frame${n === 1 ? '' : 's'}`);
    log('stopped');
    return 0;
  },
};
