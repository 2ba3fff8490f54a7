/**
 * `ovnts chassis-flows (--nb NBFILE | --sb SBFILE) [--chassis-map FILE] --chassis NAME [--table N]`: the
 * OpenFlow tables ovn-controller 23.03 would install on chassis NAME's br-int, printed as
 * `ovs-ofctl -O OpenFlow15 --no-stats dump-flows br-int` prints them (sorted by table, then
 * priority, then text; `--table N` keeps table N only, as `dump-flows br-int table=N`), followed
 * by the groups with `--groups`. With a map, ports are bound
 * where it says (lines `LPORT CHASSIS [ENCAP-IP]`) and unlisted ports are not bound; without
 * one, every VIF port is bound to NAME.
 */
import { emptyChassisMap, clusterConfig, computeChassisTables, dumpFlows, dumpGroups, type ChassisMap } from '@ovnts/chassis';
import type { SbDatabase } from '@ovnts/ovn';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { SOUTHBOUND_OPTIONS, readChassisMap, readSouthbound } from './chassis-common.js';

const spec: CommandSpec = {
  name: 'chassis-flows',
  summary: "Print a chassis's OpenFlow tables as ovn-controller builds them (dump-flows form)",
  usage: 'ovnts chassis-flows (--nb NBFILE | --sb SBFILE) [--chassis-map FILE] --chassis NAME [--table N] [--groups]',
  options: {
    ...SOUTHBOUND_OPTIONS,
    'chassis-map': { kind: 'string', metavar: 'FILE', help: 'bindings, one "LPORT CHASSIS [ENCAP-IP]" per line' },
    chassis: { kind: 'string', required: true, metavar: 'NAME', help: 'the chassis whose tables to print' },
    table: { kind: 'string', metavar: 'N', help: 'print only OpenFlow table N (0-254)' },
    groups: { kind: 'flag', help: 'also print the groups (dump-groups form) after the flows' },
  },
  positionals: { min: 0, max: 0, names: '' },
};

/** Every VIF port of the database bound to `chassis` (the map used without --chassis-map). */
export function bindAllVifs(sb: SbDatabase, chassis: string): ChassisMap {
  const map = emptyChassisMap();
  const ports: string[] = [];
  for (const pb of sb.portBindings) if (pb.type === '' && !pb.parentPort) ports.push(pb.logicalPort);
  map.chassis.set(chassis, { name: chassis, ip: undefined, ports });
  for (const p of ports) map.bindings.set(p, chassis);
  return map;
}

/** The `chassis-flows` command. */
export const chassisFlowsCommand = {
  spec,
  run(args: ParsedArgs, io: Io): number {
    const tableArg = args.values.get('table');
    let table: number | undefined;
    if (tableArg !== undefined) {
      if (!/^\d+$/.test(tableArg) || Number(tableArg) > 254) throw new UsageError(`chassis-flows: --table must be a table number 0-254, not "${tableArg}"`, 'chassis-flows');
      table = Number(tableArg);
    }
    const sb = readSouthbound(args, 'chassis-flows');
    const name = args.values.get('chassis')!;
    const map = args.values.has('chassis-map') ? readChassisMap(args) : bindAllVifs(sb, name);
    const cluster = clusterConfig(map, {}, sb);
    let member = cluster.members.find((m) => m.name === name);
    if (!member) {
      if (args.values.has('chassis-map')) {
        throw new CliError(`chassis ${name} is neither in the chassis map nor in the southbound database (known: ${cluster.members.map((m) => m.name).join(', ') || 'none'})`);
      }
      member = { name, encapIp: '192.168.0.1', vifs: new Map(), mac: 'aa:55:c0:a8:00:01' };
    }
    const t = computeChassisTables(sb, member, cluster.facts);
    io.out(dumpFlows(t.flows, table).map((l) => `${l}\n`).join(''));
    if (args.flags.has('groups')) io.out(dumpGroups(t.groups).map((l) => `${l}\n`).join(''));
    return 0;
  },
};
