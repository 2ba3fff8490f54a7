/**
 * What `chassis-flows` and `ovn-send` share: reading the southbound database (a real one, or the
 * one our northd compiles from a northbound file) and the chassis map.
 */
import { readFileSync } from 'node:fs';
import { compileNorthd, loadNbFile, loadSbFile, type SbDatabase } from '@ovnts/ovn';
import { emptyChassisMap, parseChassisMap, type ChassisMap } from '@ovnts/chassis';
import { CliError, UsageError } from '../errors.js';
import type { OptionSpec, ParsedArgs } from '../args.js';

/** The `--nb NBFILE` / `--sb SBFILE` options of the commands that read a southbound database (exactly one of them). */
export const SOUTHBOUND_OPTIONS: Record<'nb' | 'sb', OptionSpec> = {
  nb: { kind: 'string', metavar: 'NBFILE', help: 'OVN_Northbound database file (compiled with our northd)' },
  sb: { kind: 'string', metavar: 'SBFILE', help: 'OVN_Southbound database file (ovsdb-client backup)' },
};

/** The southbound database of `--sb SBFILE`, or compiled from `--nb NBFILE` (exactly one of them; `nbRequired` when --nb must be given). */
export function readSouthbound(args: ParsedArgs, command: string, nbRequired = false): SbDatabase {
  const nb = args.values.get('nb');
  const sb = args.values.get('sb');
  if (nbRequired && nb === undefined) throw new UsageError(`${command}: --nb NBFILE is required`, command);
  if (sb !== undefined) {
    if (nb !== undefined && !nbRequired) throw new UsageError(`${command}: give either --nb or --sb, not both`, command);
    return loadSbFile(sb);
  }
  if (nb === undefined) throw new UsageError(`${command}: one of --nb NBFILE or --sb SBFILE is required`, command);
  return compileNorthd(loadNbFile(nb)).sb;
}

/** The chassis map of `--chassis-map FILE`, or an empty map. */
export function readChassisMap(args: ParsedArgs): ChassisMap {
  const file = args.values.get('chassis-map');
  if (file === undefined) return emptyChassisMap();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read chassis map ${file}: ${(e as Error).message}`);
  }
  return parseChassisMap(text, file);
}
