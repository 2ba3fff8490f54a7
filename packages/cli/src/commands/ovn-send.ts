/**
 * `ovnts ovn-send --nb NBFILE [--sb SBFILE] [--chassis-map FILE] --from LPORT --frame HEX [--json]`:
 * build the cluster (every chassis's OpenFlow tables as ovn-controller builds them, Geneve
 * between them), inject an Ethernet frame at logical port LPORT, run until idle on the virtual
 * clock, and print every delivery to a logical port and every Geneve frame on the underlay.
 * Without --chassis-map the VIFs of each logical switch are bound to a chassis of their own.
 * `--pcap FILE` writes every underlay frame (Geneve and localnet physical networks) to a pcap file,
 * stamped with the virtual time it was sent at.
 */
import { writeFileSync } from 'node:fs';
import { PcapWriter } from '@ovnts/capture';
import { ChassisCluster, ChassisError, chassisPerSwitch, clusterConfig } from '@ovnts/chassis';
import { toHex } from '@ovnts/packet';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { readChassisMap, readSouthbound } from './chassis-common.js';

const spec: CommandSpec = {
  name: 'ovn-send',
  summary: 'Send a frame into an emulated OVN cluster and print its deliveries and Geneve frames',
  usage: 'ovnts ovn-send --nb NBFILE [--sb SBFILE] [--chassis-map FILE] --from LPORT --frame HEX [--json] [--pcap FILE]',
  options: {
    nb: { kind: 'string', required: true, metavar: 'NBFILE', help: 'OVN_Northbound database file (compiled with our northd unless --sb is given)' },
    sb: { kind: 'string', metavar: 'SBFILE', help: 'OVN_Southbound database file to run instead of our northd\'s' },
    'chassis-map': { kind: 'string', metavar: 'FILE', help: 'bindings, one "LPORT CHASSIS [ENCAP-IP]" per line (default: one chassis per switch)' },
    from: { kind: 'string', required: true, metavar: 'LPORT', help: 'the logical port the frame enters at' },
    frame: { kind: 'string', required: true, metavar: 'HEX', help: 'the Ethernet frame, in hex' },
    json: { kind: 'flag', help: 'one JSON object per line: {"deliver": {...}} or {"tunnel": {...}}' },
    pcap: { kind: 'string', metavar: 'FILE', help: 'write every underlay frame (Geneve, physical networks) to this pcap file' },
  },
  positionals: { min: 0, max: 0, names: '' },
};

/** The `ovn-send` command. */
export const ovnSendCommand = {
  spec,
  run(args: ParsedArgs, io: Io): number {
    const hex = args.values.get('frame')!.replace(/[\s:]/g, '');
    if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new UsageError(`ovn-send: --frame must be hex bytes, not ${JSON.stringify(args.values.get('frame'))}`, 'ovn-send');
    const frame = Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
    if (frame.length < 14) throw new UsageError(`ovn-send: --frame has ${frame.length} bytes, shorter than an Ethernet header`, 'ovn-send');
    const sb = readSouthbound(args, 'ovn-send', true);
    const map = args.values.has('chassis-map') ? readChassisMap(args) : chassisPerSwitch(sb);
    const from = args.values.get('from')!;
    if (!sb.portBindings.some((p) => p.logicalPort === from)) throw new CliError(`no logical port ${from}`);
    if (!map.bindings.has(from)) throw new CliError(`logical port ${from} is not bound to a chassis (bind it in the chassis map)`);
    let result;
    try {
      const cluster = new ChassisCluster(sb, clusterConfig(map, {}, sb));
      result = cluster.send(from, frame);
    } catch (e) {
      if (e instanceof ChassisError) throw new CliError(e.message);
      throw e;
    }
    const pcap = args.values.get('pcap');
    if (pcap !== undefined) {
      const w = new PcapWriter();
      for (const u of result.underlay) w.write({ data: u.frame, timestampNs: BigInt(Math.round(u.time * 1e6)) });
      try {
        writeFileSync(pcap, w.toBuffer());
      } catch (e) {
        throw new CliError(`cannot write ${pcap}: ${(e as Error).message}`);
      }
    }
    const json = args.flags.has('json');
    const events = [
      ...result.deliveries.map((d) => ({ t: d.time, line: json ? JSON.stringify({ deliver: { port: d.port, chassis: d.chassis, frame: toHex(d.frame) } }) : `deliver ${d.port} on ${d.chassis}: ${toHex(d.frame)}` })),
      ...result.underlay.filter((u) => u.network === 'geneve').map((u) => ({ t: u.time, line: json ? JSON.stringify({ tunnel: { from: u.from, to: u.to ?? null, frame: toHex(u.frame) } }) : `tunnel ${u.from} -> ${u.to ?? '?'}: ${toHex(u.frame)}` })),
    ];
    events.sort((a, b) => a.t - b.t);
    io.out(events.map((e) => `${e.line}\n`).join(''));
    return 0;
  },
};
