/**
 * `ovnts switch`: an OpenFlow switch that real tools drive over the wire. `--listen ptcp:PORT[:IP]`
 * is a bridge's passive controller listener (where `ovs-ofctl` connects); `--controller
 * tcp:HOST:PORT` connects out to a controller and reconnects when the connection drops. Ports of
 * `--ports` exist with no NIC behind them, as the dummy datapath has. It runs until SIGINT/SIGTERM
 * (Ctrl-C), then closes its connections and listener and exits 0.
 */
import { OfpAgent, connectController, listenOpenFlow, type OfpActiveConnection, type OfpListener } from '@ovnts/openflow';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import { untilStopSignal, type Io } from '../io.js';
import { loadFlows, makeSwitch, parsePortList } from '../openflow-setup.js';

const spec: CommandSpec = {
  name: 'switch',
  summary: 'Run an OpenFlow switch that ovs-ofctl and controllers drive over TCP (OpenFlow 1.0, 1.3-1.5)',
  usage: 'ovnts switch --ports LIST [--listen ptcp:PORT[:IP]] [--controller tcp:HOST:PORT] [--flows FILE]',
  options: {
    ports: { kind: 'string', required: true, metavar: 'LIST', help: 'switch ports, e.g. 1,2,3,4 or 1-4 (no NIC behind them)' },
    listen: { kind: 'string', metavar: 'ptcp:PORT[:IP]', help: 'listen for OpenFlow connections (default IP 0.0.0.0)' },
    controller: { kind: 'string', metavar: 'tcp:HOST:PORT', help: 'connect to a controller (reconnects with backoff)' },
    flows: { kind: 'string', metavar: 'FILE', help: 'flows to install first, in ovs-ofctl add-flows syntax' },
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

/** A running switch (what `ovnts switch` holds until it is stopped). */
export interface RunningSwitch {
  /** The OpenFlow side. */
  readonly agent: OfpAgent;
  /** The listener, if `--listen`. */
  readonly listener?: OfpListener;
  /** The controller connection, if `--controller`. */
  readonly controller?: OfpActiveConnection;
  /** Close everything. */
  stop(): Promise<void>;
}

/** Start a switch with the command's options (the body of `ovnts switch`, for tests and benchmarks). */
export async function startSwitch(o: { ports: number[]; listen?: string; controller?: string; flowsPath?: string }): Promise<RunningSwitch> {
  const listen = o.listen === undefined ? undefined : parseListen(o.listen);
  const ctl = o.controller === undefined ? undefined : parseController(o.controller);
  if (!listen && !ctl) throw new UsageError('switch: give --listen, --controller or both');
  const sw = makeSwitch(o.ports);
  if (o.flowsPath) loadFlows(sw, o.flowsPath);
  const agent = new OfpAgent(sw);
  sw.onPacketIn = (pi) => agent.packetIn(pi);
  let listener: OfpListener | undefined;
  if (listen) {
    try {
      listener = await listenOpenFlow(agent, listen.port, listen.host);
    } catch (e) {
      throw new CliError(`cannot listen on ${listen.host}:${listen.port}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const controller = ctl ? connectController(agent, ctl.host, ctl.port) : undefined;
  return {
    agent,
    ...(listener ? { listener } : {}),
    ...(controller ? { controller } : {}),
    async stop() {
      controller?.stop();
      await listener?.close();
    },
  };
}

export const switchCommand = {
  spec,
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const ports = parsePortList('switch', args.values.get('ports')!, 'ports');
    const flowsPath = args.values.get('flows');
    const running = await startSwitch({
      ports, ...(args.values.has('listen') ? { listen: args.values.get('listen')! } : {}),
      ...(args.values.has('controller') ? { controller: args.values.get('controller')! } : {}), ...(flowsPath ? { flowsPath } : {}),
    });
    if (running.listener) io.out(`ovnts switch: listening on ${running.listener.host}:${running.listener.port} (ports ${ports.join(',')})\n`);
    if (running.controller) io.out(`ovnts switch: connecting to controller ${args.values.get('controller')}\n`);
    await untilStopSignal();
    await running.stop();
    io.out('ovnts switch: stopped\n');
    return 0;
  },
};
