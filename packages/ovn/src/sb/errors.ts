/**
 * Errors of the southbound layer: a southbound database file that cannot be read, with where the
 * problem is (record number and byte offset in the file, or table, row and column).
 */

/** Where an `SbError` happened; every field is optional. */
export interface SbErrorWhere {
  /** Table name. */
  table?: string;
  /** Row uuid. */
  row?: string;
  /** Column name. */
  column?: string;
  /** Record number in an OVSDB file (0 = the schema record), or line number of a JSON dump. */
  record?: number;
  /** Byte offset in the file. */
  offset?: number;
}

function describe(w: SbErrorWhere): string {
  const parts: string[] = [];
  if (w.record !== undefined) parts.push(`record ${w.record}`);
  if (w.offset !== undefined) parts.push(`byte offset ${w.offset}`);
  if (w.table !== undefined) parts.push(w.row !== undefined ? `table ${w.table} row ${w.row}` : `table ${w.table}`);
  if (w.column !== undefined) parts.push(`column ${w.column}`);
  return parts.join(', ');
}

/** A southbound database problem with its location. */
export class SbError extends Error {
  override readonly name = 'SbError';
  /** Where. */
  readonly where: Readonly<SbErrorWhere>;
  /** The problem without the location prefix. */
  readonly detail: string;

  constructor(where: SbErrorWhere, detail: string) {
    const loc = describe(where);
    super(loc ? `${loc}: ${detail}` : detail);
    this.where = where;
    this.detail = detail;
  }
}
