/**
 * Where a chassis running in its own process gets its southbound view, and how rows it learns
 * reach the other chassis: the seam between a chassis process and the southbound database.
 *
 * A `SouthboundSource` gives the database to start from, takes the rows a local chassis learnt
 * (pinctrl's MAC bindings and FDB entries, which ovn-controller writes to the southbound
 * database) and hands over rows learnt elsewhere. `StaticSouthbound` is the file form: the
 * database read once, learnt rows passed to a callback (e.g. printed for a driver to relay)
 * and rows from elsewhere fed in by hand (`deliver`). `DatabaseSouthbound` (sb-database.ts) is
 * the live form: a replica of a shared southbound database (a real ovsdb-server, clustered or
 * not), which also follows the database's changes (`follow`). Learnt rows travel as JSON
 * (`learntRowToJson`/`learntRowFromJson`): datapaths by tunnel key, resolved in the receiving
 * chassis's database.
 */
import type { SbDatabase } from '@ovnts/ovn';
import type { LearntRow } from './cluster.js';
import { ChassisError } from './errors.js';

/** A chassis process's southbound view; see the module comment. */
export interface SouthboundSource {
  /** What it reads, for messages (a file name, a database address). */
  readonly name: string;
  /** The southbound database to start from. */
  load(): SbDatabase | Promise<SbDatabase>;
  /** A row chassis `chassis` (local) learnt. */
  publish(row: LearntRow, chassis: string): void;
  /** Start handing over rows learnt elsewhere (called once). */
  subscribe(onRow: (row: LearntRow) => void): void;
  /** Call `onChange` with each new database when the source follows a live one (called once; absent: the database never changes). */
  follow?(onChange: (sb: SbDatabase) => void): void;
}

/** A southbound database given once (read from a file); learnt rows go to `onPublish`, rows from elsewhere come through `deliver`. */
export class StaticSouthbound implements SouthboundSource {
  private onRow: ((row: LearntRow) => void) | undefined;
  constructor(
    /** What it was read from. */
    readonly name: string,
    private readonly sb: SbDatabase,
    private readonly onPublish: (row: LearntRow, chassis: string) => void = () => {},
  ) {}

  /** See `SouthboundSource.load`. */
  load(): SbDatabase {
    return this.sb;
  }

  /** See `SouthboundSource.publish`. */
  publish(row: LearntRow, chassis: string): void {
    this.onPublish(row, chassis);
  }

  /** See `SouthboundSource.subscribe`. */
  subscribe(onRow: (row: LearntRow) => void): void {
    this.onRow = onRow;
  }

  /** Hand over a row learnt elsewhere (false before `subscribe`). */
  deliver(row: LearntRow): boolean {
    if (!this.onRow) return false;
    this.onRow(row);
    return true;
  }
}

/** A learnt row as JSON (datapaths by tunnel key). */
export interface LearntRowJson {
  /** A MAC binding. */
  macBinding?: { uuid: string; logicalPort: string; ip: string; mac: string; timestamp: number; datapath: number | null };
  /** An FDB entry. */
  fdb?: { uuid: string; mac: string; dpKey: number; portKey: number };
}

/** A learnt row as JSON. */
export function learntRowToJson(row: LearntRow): LearntRowJson {
  const out: LearntRowJson = {};
  const mb = row.macBinding;
  if (mb) out.macBinding = { uuid: mb.uuid, logicalPort: mb.logicalPort, ip: mb.ip, mac: mb.mac, timestamp: mb.timestamp, datapath: mb.datapath?.tunnelKey ?? null };
  if (row.fdb) out.fdb = { uuid: row.fdb.uuid, mac: row.fdb.mac, dpKey: row.fdb.dpKey, portKey: row.fdb.portKey };
  return out;
}

function field<T extends 'string' | 'number'>(o: Record<string, unknown>, k: string, t: T, where: string): T extends 'string' ? string : number {
  const v = o[k];
  if (typeof v !== t || (t === 'number' && !Number.isFinite(v))) throw new ChassisError('bad-config', `${where}: "${k}" must be a ${t}`);
  return v as T extends 'string' ? string : number;
}

/** A learnt row from JSON, its datapath resolved in `sb`; `where` names the source in errors. */
export function learntRowFromJson(json: unknown, sb: SbDatabase, where = 'learnt row'): LearntRow {
  if (typeof json !== 'object' || json === null) throw new ChassisError('bad-config', `${where}: expected an object with "macBinding" or "fdb"`);
  const o = json as Record<string, unknown>;
  const out: { macBinding?: LearntRow['macBinding']; fdb?: LearntRow['fdb'] } = {};
  if (o['macBinding'] !== undefined) {
    const w = `${where}: macBinding`;
    if (typeof o['macBinding'] !== 'object' || o['macBinding'] === null) throw new ChassisError('bad-config', `${w} must be an object`);
    const m = o['macBinding'] as Record<string, unknown>;
    const dpKey = m['datapath'] === null ? undefined : field(m, 'datapath', 'number', w);
    const datapath = dpKey === undefined ? undefined : sb.datapaths.find((d) => d.tunnelKey === dpKey);
    if (dpKey !== undefined && !datapath) throw new ChassisError('bad-config', `${w}: no datapath with tunnel key ${dpKey}`);
    out.macBinding = { uuid: field(m, 'uuid', 'string', w), logicalPort: field(m, 'logicalPort', 'string', w), ip: field(m, 'ip', 'string', w), mac: field(m, 'mac', 'string', w), timestamp: field(m, 'timestamp', 'number', w), datapath };
  }
  if (o['fdb'] !== undefined) {
    const w = `${where}: fdb`;
    if (typeof o['fdb'] !== 'object' || o['fdb'] === null) throw new ChassisError('bad-config', `${w} must be an object`);
    const f = o['fdb'] as Record<string, unknown>;
    out.fdb = { uuid: field(f, 'uuid', 'string', w), mac: field(f, 'mac', 'string', w), dpKey: field(f, 'dpKey', 'number', w), portKey: field(f, 'portKey', 'number', w) };
  }
  if (!out.macBinding && !out.fdb) throw new ChassisError('bad-config', `${where}: expected "macBinding" or "fdb"`);
  return out;
}
