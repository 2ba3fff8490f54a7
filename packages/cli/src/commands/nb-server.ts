/**
 * `ovnts nb-server --listen punix:PATH|ptcp:PORT[:IP] [--db FILE] [--lflows FILE]`: serve the
 * OVN_Northbound database over OVSDB (RFC 7047, as ovsdb-server does), so `ovn-nbctl
 * --db=unix:PATH` configures ovn-ts, and recompile the logical flows as transactions commit
 * (incrementally, once per burst of commits; see @ovnts/ovsdb's NbServer). `--db` loads an OVSDB
 * standalone file (created when missing) and appends every commit to it; `--lflows` rewrites the
 * flows in `ovn-sbctl lflow-list` form after every recompute. After each recompute it copies
 * NB_Global `nb_cfg` to `sb_cfg` and `hv_cfg`, as ovn-northd does, so `ovn-nbctl --wait=sb|hv`
 * returns (`--no-sync-cfg` leaves that to a real ovn-northd). Runs until SIGINT or SIGTERM, then
 * closes its sockets and exits 0.
 */
import { writeFileSync } from 'node:fs';
import { formatLflowList } from '@ovnts/ovn';
import { NbServer, OvsdbError, RemoteSpecError, parseListen, type NbRecompute } from '@ovnts/ovsdb';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import { untilStopSignal, type Io } from '../io.js';

const spec: CommandSpec = {
  name: 'nb-server',
  summary: 'Serve the northbound database over OVSDB (ovn-nbctl) and recompile logical flows',
  usage: 'ovnts nb-server --listen punix:PATH|ptcp:PORT[:IP] [--db FILE] [--lflows FILE] [--switches-only] [--no-sync-cfg]',
  options: {
    listen: { kind: 'multi', required: true, metavar: 'REMOTE', help: 'listen on punix:PATH or ptcp:PORT[:IP] (port 0: any free port)' },
    db: { kind: 'string', metavar: 'FILE', help: 'OVSDB database file to load (created when missing) and append commits to' },
    lflows: { kind: 'string', metavar: 'FILE', help: 'write the logical flows (ovn-sbctl lflow-list form) here after every recompute' },
    'switches-only': { kind: 'flag', help: 'compile logical switches only (skip router pipelines)' },
    'no-sync-cfg': { kind: 'flag', help: 'leave NB_Global sb_cfg/hv_cfg (ovn-nbctl --wait) to another northd, e.g. a real ovn-northd reading this server' },
  },
  positionals: { min: 0, max: 0, names: '' },
};

function report(io: Io, lflows: string | undefined, r: NbRecompute): void {
  if (!r.result) {
    io.err(`ovnts nb-server: warning: transaction ${r.transactions}: northbound database not compiled, keeping the previous flows: ${r.error}\n`);
    return;
  }
  const u = r.update;
  const how = !u ? 'full compile' : u.mode === 'incremental' ? `incremental: ${u.rebuilt} of ${u.segments} segments rebuilt` : `full recompute, ${u.reason ?? ''}`;
  io.out(`northd: transaction ${r.transactions}: ${r.result.datapaths.length} datapaths, ${r.result.rowCount} logical flows (${how}, ${r.ms.toFixed(1)} ms)\n`);
  if (lflows !== undefined) {
    try {
      writeFileSync(lflows, formatLflowList(r.result.flows));
    } catch (e) {
      io.err(`ovnts nb-server: warning: cannot write ${lflows}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    }
  }
}

/** The `nb-server` command. */
export const nbServerCommand = {
  spec,
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const listen = args.multi.get('listen') ?? [];
    for (const l of listen) {
      try {
        parseListen(l);
      } catch (e) {
        if (e instanceof RemoteSpecError) throw new UsageError(`nb-server: --listen ${e.message}`);
        throw e;
      }
    }
    const lflows = args.values.get('lflows');
    const dbFile = args.values.get('db');
    let nb: NbServer;
    try {
      nb = await NbServer.start({
        listen,
        ...(dbFile !== undefined ? { dbFile } : {}),
        routers: !args.flags.has('switches-only'),
        syncCfg: !args.flags.has('no-sync-cfg'),
        onRecompute: (r) => report(io, lflows, r),
        log: (line) => io.err(`ovnts nb-server: ${line}\n`),
      });
    } catch (e) {
      if (e instanceof OvsdbError) throw new CliError(e.details ?? e.message);
      const code = (e as NodeJS.ErrnoException).code;
      if (code) throw new CliError(`cannot listen on ${listen.join(', ')}: ${code}`);
      throw e;
    }
    for (const r of nb.remotes) io.out(`nb-server: listening on ${r}\n`);
    await untilStopSignal();
    await nb.close();
    io.out('nb-server: stopped\n');
    return 0;
  },
};
