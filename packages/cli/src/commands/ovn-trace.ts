/**
 * `ovnts ovn-trace`: trace a microflow through the logical flows of a northbound database
 * (compiled by our northd) or of a southbound database file (a real one, as `ovsdb-client backup`
 * saves it), the way `ovn-trace` does (its microflow syntax, `--ct`, `--lb-dst`, `--select-id`,
 * and its three output forms).
 */
import { ovnTrace, parseLbDst, TraceError } from '@ovnts/ovn';
import { parseCtState } from '@ovnts/ovn/internal';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import { readNbFile, readSbFile } from '../files.js';
import type { Io } from '../io.js';

const spec: CommandSpec = {
  name: 'ovn-trace',
  summary: 'Trace a microflow through the logical network of a northbound or southbound database, as ovn-trace does',
  usage: 'ovnts ovn-trace (--nb NBFILE | --sb SBFILE) [--ct=FLAGS]... [--lb-dst=IP[:PORT]] [--select-id=ID] [--minimal|--summary|--detailed] [DATAPATH] MICROFLOW',
  options: {
    nb: { kind: 'string', metavar: 'NBFILE', help: 'OVN_Northbound database file (ovsdb-client backup), compiled by our northd' },
    sb: { kind: 'string', metavar: 'SBFILE', help: 'OVN_Southbound database file (ovsdb-client backup), traced as it is' },
    ct: { kind: 'multi', metavar: 'FLAGS', help: 'conntrack state for the next ct action, e.g. new or est,rpl (default est,trk when used up)' },
    'lb-dst': { kind: 'string', metavar: 'IP[:PORT]', help: 'the load balancer backend ct_lb_mark picks' },
    'select-id': { kind: 'string', metavar: 'ID', help: 'the member the select action picks' },
    minimal: { kind: 'flag', help: 'only the externally visible actions' },
    summary: { kind: 'flag', help: 'a compact summary of the actions' },
    detailed: { kind: 'flag', help: 'every table, flow and action (the default)' },
  },
  positionals: { min: 1, max: 2, names: 'MICROFLOW (and optionally a DATAPATH before it)' },
};

/** The `ovn-trace` command. */
export const ovnTraceCommand = {
  spec,
  run(args: ParsedArgs, io: Io): number {
    const forms = (['minimal', 'summary', 'detailed'] as const).filter((f) => args.flags.has(f));
    if (forms.length > 1) throw new UsageError(`ovn-trace: give at most one of --minimal, --summary, --detailed`);
    const [a, b] = args.positionals;
    const datapath = b === undefined ? null : a!;
    const microflow = b === undefined ? a! : b;
    const sel = args.values.get('select-id');
    if (sel !== undefined && !/^\d+$/.test(sel)) throw new UsageError(`ovn-trace: --select-id: ${JSON.stringify(sel)} is not a number`);
    // Bad option values are a bad command line (exit 2), caught before the database is read.
    const lbDst = args.values.get('lb-dst');
    if (lbDst !== undefined) {
      try {
        parseLbDst(lbDst);
      } catch {
        throw new UsageError(`ovn-trace: --lb-dst: ${JSON.stringify(lbDst)} is not an IP address with an optional port (10.0.0.5, 10.0.0.5:80, [fd00::5]:80)`);
      }
    }
    for (const ct of args.multi.get('ct') ?? []) {
      try {
        parseCtState(ct);
      } catch (e) {
        throw new UsageError(`ovn-trace: --ct: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const nbFile = args.values.get('nb');
    const sbFile = args.values.get('sb');
    if ((nbFile === undefined) === (sbFile === undefined)) throw new UsageError('ovn-trace: give exactly one of --nb NBFILE or --sb SBFILE');
    const db = nbFile !== undefined ? readNbFile(nbFile) : readSbFile(sbFile!);
    try {
      io.out(
        ovnTrace(db, datapath, microflow, {
          format: forms[0] ?? 'detailed',
          ...(args.multi.has('ct') ? { ct: args.multi.get('ct')! } : {}),
          ...(args.values.has('lb-dst') ? { lbDst: args.values.get('lb-dst')! } : {}),
          ...(sel !== undefined ? { selectId: Number(sel) } : {}),
          onWarning: (w) => io.err(`ovnts ovn-trace: warning: ${w}\n`),
        }),
      );
    } catch (e) {
      // ovn-trace's own text, without its "ovn-trace: " prefix (ours goes in front).
      if (e instanceof TraceError) throw new CliError(e.output.trimEnd().replace(/^ovn-trace: /, ''));
      throw e;
    }
    return 0;
  },
};
