/**
 * `ovnts chassis-run (--nb NBFILE | --sb SBFILE) [--chassis-map FILE] --chassis NAME
 * [--encap CHASSIS=IP]... [--geneve-port N] [--bind ADDR] [--pcap FILE] [--tunnels]`: run one chassis of a cluster as
 * its own process. It builds the chassis's OpenFlow tables as ovn-controller does, serves its
 * Geneve tunnel endpoint over real UDP (the encap address the chassis map or the southbound
 * Chassis row gives it, port 6081 unless told), and is driven by JSON lines on standard input,
 * answering with JSON lines on standard output (docs/chassis.md, "Chassis in separate processes or
 * hosts"):
 *
 *   in:  {"send": {"port": LPORT, "frame": HEX}}   inject a frame at a local VIF
 *        {"learn": {"macBinding"|"fdb": {...}}}    a row another chassis learnt ({"learnt"} lines)
 *        {"stats": {}}                             datagram counters (answered after every line before it)
 *        {"stop": {}}                              stop, as SIGINT/SIGTERM do
 *   out: {"ready": {"chassis", "address", "port", "ports"}}   listening
 *        {"deliver": {"port", "chassis", "frame"}}              a frame reached a local VIF
 *        {"tunnel": {"from", "to", "frame"}}                    a Geneve frame sent (--tunnels)
 *        {"learnt": {"chassis", "macBinding"|"fdb"}}           a row this chassis learnt
 *        {"stats": {"sent", "received", "dropped", "unsent"}}
 *        {"error": TEXT}                                        a bad line or a failed run; the process goes on
 *
 * The end of standard input does not stop the chassis (it keeps forwarding Geneve between its
 * VIFs and the other chassis); SIGINT, SIGTERM or `{"stop": {}}` close its socket, finish the
 * pcap and exit 0. `--pcap FILE` records every Geneve frame sent and received, outer headers as
 * on the wire, stamped with the wall clock.
 */
import { createWriteStream } from 'node:fs';
import { PcapWriter } from '@ovnts/capture';
import {
  ChassisError,
  ChassisHost,
  StaticSouthbound,
  clusterConfig,
  learntRowFromJson,
  learntRowToJson,
  type ChassisSettings,
  type ClusterConfig,
} from '@ovnts/chassis';
import { fromHex, toHex } from '@ovnts/packet';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { bindAllVifs } from './chassis-flows.js';
import { SOUTHBOUND_OPTIONS, readChassisMap, readSouthbound } from './chassis-common.js';

const spec: CommandSpec = {
  name: 'chassis-run',
  summary: 'Run one chassis as its own process: Geneve over real UDP, driven by JSON lines',
  usage: 'ovnts chassis-run (--nb NBFILE | --sb SBFILE) [--chassis-map FILE] --chassis NAME [--encap CHASSIS=IP]... [--geneve-port N] [--bind ADDR] [--pcap FILE] [--tunnels]',
  options: {
    ...SOUTHBOUND_OPTIONS,
    'chassis-map': { kind: 'string', metavar: 'FILE', help: 'bindings, one "LPORT CHASSIS [ENCAP-IP]" per line (the same file for every chassis of the cluster; default: every VIF on NAME)' },
    chassis: { kind: 'string', required: true, metavar: 'NAME', help: 'the chassis this process runs' },
    'geneve-port': { kind: 'string', metavar: 'N', help: 'UDP port of the Geneve tunnels, the same on every chassis (default 6081)' },
    encap: { kind: 'multi', metavar: 'CHASSIS=IP', help: "a chassis's encap IP, over the map's and the southbound database's (repeatable; the same on every chassis of the cluster)" },
    bind: { kind: 'string', metavar: 'ADDR', help: "address the tunnel socket binds (default: the chassis's encap IP)" },
    pcap: { kind: 'string', metavar: 'FILE', help: 'write every Geneve frame sent and received to this pcap file' },
    tunnels: { kind: 'flag', help: 'also print a {"tunnel": ...} line for every Geneve frame sent' },
  },
  positionals: { min: 0, max: 0, names: '' },
};

/** Read lines from `it`, calling `line` for each (with its number) until it returns false. */
async function readLines(it: AsyncIterator<Uint8Array>, line: (text: string, n: number) => boolean): Promise<void> {
  const dec = new TextDecoder();
  let buf = '';
  let n = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    buf += dec.decode(r.value, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line(text, ++n)) return;
    }
  }
  if (buf.trim()) line(buf, ++n);
}

/** The `chassis-run` command. */
export const chassisRunCommand = {
  spec,
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const portArg = args.values.get('geneve-port');
    let port = 6081;
    if (portArg !== undefined) {
      if (!/^\d+$/.test(portArg) || Number(portArg) < 1 || Number(portArg) > 65535) throw new UsageError(`chassis-run: --geneve-port must be a UDP port 1-65535, not "${portArg}"`, 'chassis-run');
      port = Number(portArg);
    }
    const bind = args.values.get('bind');
    if (bind !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(bind)) throw new UsageError(`chassis-run: --bind must be an IPv4 address, not "${bind}"`, 'chassis-run');
    const settings: Record<string, ChassisSettings> = {};
    for (const e of args.multi.get('encap') ?? []) {
      const m = /^([^=\s]+)=(\d{1,3}(?:\.\d{1,3}){3})$/.exec(e);
      if (!m) throw new UsageError(`chassis-run: --encap must be CHASSIS=IPV4, not "${e}"`, 'chassis-run');
      settings[m[1]!] = { encapIp: m[2]! };
    }
    const sb = readSouthbound(args, 'chassis-run');
    const name = args.values.get('chassis')!;
    const map = args.values.has('chassis-map') ? readChassisMap(args) : bindAllVifs(sb, name);
    let config: ClusterConfig;
    try {
      config = clusterConfig(map, settings, sb);
    } catch (e) {
      if (e instanceof ChassisError) throw new CliError(e.message);
      throw e;
    }
    const member = config.members.find((m) => m.name === name);
    if (!member) throw new CliError(`chassis ${name} is neither in the chassis map nor in the southbound database (known: ${config.members.map((m) => m.name).join(', ') || 'none'})`);

    const line = (o: unknown) => io.out(`${JSON.stringify(o)}\n`);
    const pcapFile = args.values.get('pcap');
    let pcap: PcapWriter | undefined;
    if (pcapFile !== undefined) {
      const stream = createWriteStream(pcapFile);
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', (e) => reject(new CliError(`cannot write ${pcapFile}: ${e.message}`)));
      });
      pcap = new PcapWriter({ sink: stream, resolution: 'ns' });
    }
    const source = new StaticSouthbound(args.values.get('sb') ?? args.values.get('nb')!, sb, (row, chassis) => line({ learnt: { chassis, ...learntRowToJson(row) } }));
    let host: ChassisHost;
    try {
      host = await ChassisHost.start(source, config, [name], {
        port,
        ...(bind !== undefined ? { bindAddress: bind } : {}),
        onDeliver: (d) => line({ deliver: { port: d.port, chassis: d.chassis, frame: toHex(d.frame) } }),
        ...(args.flags.has('tunnels') ? { onTunnel: (u) => line({ tunnel: { from: u.from, to: u.to ?? null, frame: toHex(u.frame) } }) } : {}),
        ...(pcap ? { onWire: (_dir, _c, frame) => void pcap!.write({ data: frame, timestampNs: BigInt(Date.now()) * 1_000_000n }) } : {}),
        onError: (e) => line({ error: e.message }),
      });
    } catch (e) {
      await pcap?.end();
      if (e instanceof ChassisError) throw new CliError(e.message);
      throw e;
    }

    let stopped!: () => void;
    const stop = new Promise<void>((r) => (stopped = r));
    const onSignal = () => stopped();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    line({ ready: { chassis: name, address: bind ?? member.encapIp, port, ports: [...member.vifs.keys()] } });

    const control = (text: string, n: number): boolean => {
      if (!text.trim()) return true;
      const where = `stdin line ${n}`;
      let msg: unknown;
      try {
        msg = JSON.parse(text);
      } catch {
        line({ error: `${where}: not JSON: ${JSON.stringify(text.slice(0, 80))}` });
        return true;
      }
      const o = (typeof msg === 'object' && msg !== null ? msg : {}) as Record<string, unknown>;
      try {
        if (o['send'] !== undefined) {
          const s = o['send'] as Record<string, unknown> | null;
          const lport = s?.['port'];
          const hex = s?.['frame'];
          if (typeof lport !== 'string' || typeof hex !== 'string') throw new CliError(`${where}: "send" needs "port" and "frame" strings`);
          if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new CliError(`${where}: "frame" must be hex bytes`);
          host.send(lport, fromHex(hex));
        } else if (o['learn'] !== undefined) {
          const row = learntRowFromJson(o['learn'], host.cluster.sb, `${where}: learn`);
          if (!source.deliver(row)) throw new CliError(`${where}: the southbound source takes no rows`);
        } else if (o['stats'] !== undefined) {
          line({ stats: { ...host.stats } });
        } else if (o['stop'] !== undefined) {
          stopped();
          return false;
        } else throw new CliError(`${where}: expected one of "send", "learn", "stats", "stop"`);
      } catch (e) {
        if (!(e instanceof CliError) && !(e instanceof ChassisError)) throw e;
        line({ error: e.message });
      }
      return true;
    };
    let stopping = false;
    const input = io.stdin?.[Symbol.asyncIterator]();
    if (input) {
      void readLines(input, control).catch((e: unknown) => {
        if (!stopping) line({ error: `standard input: ${e instanceof Error ? e.message : String(e)}` });
      });
    }
    await stop;
    stopping = true;
    // Release standard input: a stream (the process's) is destroyed, which ends a pending read;
    // any other iterable is told to finish (not awaited: a read may be pending).
    const stdin = io.stdin as { destroy?: () => void } | undefined;
    if (typeof stdin?.destroy === 'function') stdin.destroy();
    else void input?.return?.()?.catch(() => {});
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await host.close();
    await pcap?.end();
    return 0;
  },
};
