/**
 * `ovnts chassis-run (--nb NBFILE | --sb SBFILE) [--chassis-map FILE] --chassis NAME
 * [--encap CHASSIS=IP]... [--geneve-port N] [--bind ADDR] [--pcap FILE] [--tunnels]`, or with a
 * live southbound database `ovnts chassis-run --sb tcp:IP:PORT[,tcp:IP:PORT...] --chassis NAME
 * --encap-ip IP [--vif LPORT]... [--leader-only] [--no-shuffle-remotes] [--probe-interval MS]
 * [--hostname NAME] [...]`: run one chassis of a
 * cluster as its own process. It builds the chassis's OpenFlow tables as ovn-controller does, serves its
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
 *
 * With `--sb REMOTES` (a comma-separated list of `tcp:` or `unix:` remotes, the members of a
 * clustered ovsdb-server, as ovn-controller's `ovn-remote`) the chassis follows the live database
 * (`DatabaseSouthbound`): it registers its Chassis and Encap rows, claims the `--vif` ports and
 * sets them up, moves to another member when its server goes away, and rebuilds or updates its
 * tables on every change. Learnt rows go to the database (no `learnt` lines; `learn` is refused).
 * Extra output lines:
 *
 *        {"sb": {"connected"|"disconnected"|"retry"|"registered"|"claimed"|"up"|"released": ...}}
 *        {"sync": {"rebuilt", "flows", "bindings"}}            tables brought to a new database
 */
import { createWriteStream } from 'node:fs';
import { PcapWriter } from '@ovnts/capture';
import type { SbDatabase } from '@ovnts/ovn';
import { parseRemote } from '@ovnts/ovsdb';
import {
  ChassisError,
  ChassisHost,
  DatabaseSouthbound,
  StaticSouthbound,
  clusterConfig,
  learntRowFromJson,
  learntRowToJson,
  type ChassisSettings,
  type ClusterConfig,
  type DatabaseSouthboundEvent,
  type SouthboundSource,
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
  usage:
    'ovnts chassis-run (--nb NBFILE | --sb SBFILE) [--chassis-map FILE] --chassis NAME [--encap CHASSIS=IP]... [--geneve-port N] [--bind ADDR] [--pcap FILE] [--tunnels]\n' +
    '       ovnts chassis-run --sb tcp:IP:PORT[,tcp:IP:PORT...] --chassis NAME --encap-ip IP [--vif LPORT]... [--leader-only] [--no-shuffle-remotes] [--probe-interval MS] [--hostname NAME] [--geneve-port N] [--bind ADDR] [--pcap FILE] [--tunnels]',
  options: {
    ...SOUTHBOUND_OPTIONS,
    sb: { kind: 'string', metavar: 'SBFILE|REMOTES', help: 'OVN_Southbound database file (ovsdb-client backup), or a live database: comma-separated tcp:IP:PORT / unix:PATH remotes (the members of a cluster)' },
    'encap-ip': { kind: 'string', metavar: 'IP', help: "with --sb REMOTES: this chassis's Geneve encap IPv4 address (ovn-encap-ip), registered in its Encap row" },
    vif: { kind: 'multi', metavar: 'LPORT', help: 'with --sb REMOTES: a logical port this chassis hosts and claims (repeatable; OpenFlow ports from 1 in this order)' },
    'leader-only': { kind: 'flag', help: "with --sb REMOTES: follow only the cluster's leader (default: any connected member, as ovn-controller)" },
    'no-shuffle-remotes': { kind: 'flag', help: 'with --sb REMOTES: try the remotes in the order given (default: a random order, as ovn-controller)' },
    'probe-interval': { kind: 'string', metavar: 'MS', help: 'with --sb REMOTES: inactivity probe interval over TCP in ms, 0 for none, at least 1000 otherwise (default 5000, as ovn-remote-probe-interval)' },
    hostname: { kind: 'string', metavar: 'NAME', help: 'with --sb REMOTES: Chassis.hostname (default: the chassis name)' },
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

/** A southbound event as the JSON of an `{"sb": ...}` line. */
function sbEventJson(e: DatabaseSouthboundEvent): Record<string, unknown> {
  switch (e.kind) {
    case 'connected':
      return { connected: e.remote, resumed: e.resumed };
    case 'disconnected':
      return { disconnected: e.remote, reason: e.reason };
    case 'retry':
      return { retry: e.error, delayMs: e.delayMs };
    case 'registered':
      return { registered: e.chassis, encapIp: e.encapIp };
    default:
      return { [e.kind]: e.ports };
  }
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
    const sbArg = args.values.get('sb');
    const live = sbArg !== undefined && /^(tcp|unix|ssl):/.test(sbArg);
    const liveOnly = ['encap-ip', 'vif', 'leader-only', 'no-shuffle-remotes', 'probe-interval', 'hostname'].filter((o) => args.values.has(o) || args.multi.has(o) || args.flags.has(o));
    if (!live && liveOnly.length) throw new UsageError(`chassis-run: --${liveOnly[0]} goes with --sb REMOTES (a live southbound database)`, 'chassis-run');
    const fileOnly = ['nb', 'chassis-map', 'encap'].filter((o) => args.values.has(o) || args.multi.has(o));
    if (live && fileOnly.length) throw new UsageError(`chassis-run: --${fileOnly[0]} does not go with --sb REMOTES (the live database gives bindings and encaps)`, 'chassis-run');
    const name = args.values.get('chassis')!;
    let source: SouthboundSource & { close?: () => void };
    let config: ClusterConfig | ((sb: SbDatabase) => ClusterConfig);
    let member: { encapIp: string; ports: string[] };
    const line = (o: unknown) => io.out(`${JSON.stringify(o)}\n`);
    if (live) {
      const encapIp = args.values.get('encap-ip');
      if (encapIp === undefined) throw new UsageError('chassis-run: --sb REMOTES needs --encap-ip IP (the Geneve endpoint other chassis reach)', 'chassis-run');
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(encapIp)) throw new UsageError(`chassis-run: --encap-ip must be an IPv4 address, not "${encapIp}"`, 'chassis-run');
      const remotes = sbArg.split(',').map((r) => r.trim());
      for (const r of remotes) {
        try {
          parseRemote(r);
        } catch (e) {
          throw new UsageError(`chassis-run: --sb: ${e instanceof Error ? e.message : String(e)}`, 'chassis-run');
        }
      }
      const vifs = args.multi.get('vif') ?? [];
      const hostname = args.values.get('hostname');
      const probeArg = args.values.get('probe-interval');
      if (probeArg !== undefined && (!/^\d+$/.test(probeArg) || (Number(probeArg) !== 0 && Number(probeArg) < 1000))) {
        throw new UsageError(`chassis-run: --probe-interval must be 0 or a number of milliseconds >= 1000, not "${probeArg}"`, 'chassis-run');
      }
      let db: DatabaseSouthbound;
      try {
        db = await DatabaseSouthbound.connect({
          remotes,
          chassis: name,
          encapIp,
          vifs,
          ...(hostname !== undefined ? { hostname } : {}),
          ...(args.flags.has('leader-only') ? { leaderOnly: true } : {}),
          ...(args.flags.has('no-shuffle-remotes') ? { shuffleRemotes: false } : {}),
          ...(probeArg !== undefined ? { probeIntervalMs: Number(probeArg) } : {}),
          onEvent: (e) => line({ sb: sbEventJson(e) }),
          onError: (e) => line({ error: e.message }),
        });
      } catch (e) {
        if (e instanceof ChassisError) throw new CliError(e.message);
        throw e;
      }
      source = db;
      config = (sb) => db.config(sb);
      member = { encapIp, ports: [...vifs] };
    } else {
      const settings: Record<string, ChassisSettings> = {};
      for (const e of args.multi.get('encap') ?? []) {
        const m = /^([^=\s]+)=(\d{1,3}(?:\.\d{1,3}){3})$/.exec(e);
        if (!m) throw new UsageError(`chassis-run: --encap must be CHASSIS=IPV4, not "${e}"`, 'chassis-run');
        settings[m[1]!] = { encapIp: m[2]! };
      }
      const sb = readSouthbound(args, 'chassis-run');
      const map = args.values.has('chassis-map') ? readChassisMap(args) : bindAllVifs(sb, name);
      let cfg: ClusterConfig;
      try {
        cfg = clusterConfig(map, settings, sb);
      } catch (e) {
        if (e instanceof ChassisError) throw new CliError(e.message);
        throw e;
      }
      const m = cfg.members.find((x) => x.name === name);
      if (!m) throw new CliError(`chassis ${name} is neither in the chassis map nor in the southbound database (known: ${cfg.members.map((x) => x.name).join(', ') || 'none'})`);
      config = cfg;
      member = { encapIp: m.encapIp, ports: [...m.vifs.keys()] };
      source = new StaticSouthbound(args.values.get('sb') ?? args.values.get('nb')!, sb, (row, chassis) => line({ learnt: { chassis, ...learntRowToJson(row) } }));
    }

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
    let host: ChassisHost;
    try {
      host = await ChassisHost.start(source, config, [name], {
        port,
        ...(bind !== undefined ? { bindAddress: bind } : {}),
        onDeliver: (d) => line({ deliver: { port: d.port, chassis: d.chassis, frame: toHex(d.frame) } }),
        ...(args.flags.has('tunnels') ? { onTunnel: (u) => line({ tunnel: { from: u.from, to: u.to ?? null, frame: toHex(u.frame) } }) } : {}),
        ...(pcap ? { onWire: (_dir, _c, frame) => void pcap!.write({ data: frame, timestampNs: BigInt(Date.now()) * 1_000_000n }) } : {}),
        onError: (e) => line({ error: e.message }),
        onSync: (x) => line({ sync: x }),
      });
    } catch (e) {
      source.close?.();
      await pcap?.end();
      if (e instanceof ChassisError) throw new CliError(e.message);
      throw e;
    }

    let stopped!: () => void;
    const stop = new Promise<void>((r) => (stopped = r));
    const onSignal = () => stopped();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    line({ ready: { chassis: name, address: bind ?? member.encapIp, port, ports: member.ports } });

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
          if (!(source instanceof StaticSouthbound) || !source.deliver(row)) throw new CliError(`${where}: the southbound source takes no rows (a live database carries them)`);
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
    source.close?.();
    await pcap?.end();
    return 0;
  },
};
