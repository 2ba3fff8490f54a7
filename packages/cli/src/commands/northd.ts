/**
 * `ovnts northd --nb NBFILE`: compile a northbound database (an OVSDB standalone file as
 * ovsdb-server writes it or `ovsdb-client backup` prints it) to logical flows, printed in
 * `ovn-sbctl lflow-list` form. Problems ovn-northd would not mention but that change what the
 * network does (an ACL whose match does not parse, so ovn-controller installs nothing for it) and
 * what it logs (tunnel key conflicts) are warnings on standard error.
 */
import { compileNorthd, formatLflowList } from '@ovnts/ovn';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { readNbFile } from '../files.js';
import type { Io } from '../io.js';

const spec: CommandSpec = {
  name: 'northd',
  summary: 'Compile a northbound database to logical flows (ovn-sbctl lflow-list form)',
  usage: 'ovnts northd --nb NBFILE [--switches-only]',
  options: {
    nb: { kind: 'string', required: true, metavar: 'NBFILE', help: 'OVN_Northbound database file (ovsdb-client backup)' },
    'switches-only': { kind: 'flag', help: 'compile logical switches only (skip router pipelines)' },
  },
  positionals: { min: 0, max: 0, names: '' },
};

/** The `northd` command. */
export const northdCommand = {
  spec,
  run(args: ParsedArgs, io: Io): number {
    const db = readNbFile(args.values.get('nb')!);
    const r = compileNorthd(db, { routers: !args.flags.has('switches-only') });
    io.out(formatLflowList(r.flows));
    for (const w of r.warnings) io.err(`ovnts northd: warning: ${w.message}\n`);
    return 0;
  },
};
