/**
 * Exact comparison of two compilations (incremental against full): the flow table row by row in
 * order with every field, and every row of every southbound table, as lines.
 */
import type { NorthdResult, SbDatabase } from '@ovnts/ovn';

/** A value in canonical text: rows referenced from a row by their uuid, maps sorted. */
export function canon(x: unknown, top = true): unknown {
  if (x instanceof Map) return [...x].map(([k, v]) => [canon(k, false), canon(v, false)]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (Array.isArray(x)) return x.map((v) => canon(v, false));
  if (x && typeof x === 'object') {
    if (!top && 'uuid' in x && typeof x.uuid === 'string') return `@${x.uuid}`;
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, canon(v, false)]));
  }
  return x;
}

/** Every table of a southbound database, one line per row (rows sorted by uuid). */
export function sbLines(sb: SbDatabase): string[] {
  const out: string[] = [];
  for (const [table, rows] of Object.entries(sb)) {
    if (Array.isArray(rows)) out.push(...rows.map((r) => `${table} ${JSON.stringify(canon(r))}`).sort());
    else out.push(`${table} ${JSON.stringify(canon(rows))}`);
  }
  return out;
}

/** The flow table row by row, in order, every field. */
export function rowLines(r: NorthdResult): string[] {
  return [...r.sink.rows()].map((x) => JSON.stringify([x.stage, x.priority, x.match, x.actions, x.hint, x.ioPort, x.source, x.otherSources, x.datapaths.map((d) => `${d.name}/${d.key}/${d.uuid}`)]));
}
