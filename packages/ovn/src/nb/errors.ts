/**
 * Errors of the northbound layer. Every problem found while reading an OVSDB file or checking a
 * northbound database is an `NbError` that says where it is: the table, the row (uuid, and name
 * when the row has one) and the column, or for file-level problems the record number and byte
 * offset. Offending text is quoted in the message.
 */

/** Where an `NbError` happened; every field is optional. */
export interface NbErrorWhere {
  /** Table name, e.g. `Logical_Switch_Port`. */
  table?: string;
  /** Row uuid. */
  row?: string;
  /** Row name (the `name` column) when the row has one. */
  rowName?: string;
  /** Column name. */
  column?: string;
  /** Record number in an OVSDB file (0 = the schema record). */
  record?: number;
  /** Byte offset in an OVSDB file (start of the record, or of the problem). */
  offset?: number;
}

function describe(w: NbErrorWhere): string {
  const parts: string[] = [];
  if (w.record !== undefined) parts.push(`record ${w.record}`);
  if (w.offset !== undefined) parts.push(`byte offset ${w.offset}`);
  if (w.table !== undefined) {
    let t = `table ${w.table}`;
    if (w.row !== undefined) t += ` row ${w.row}`;
    if (w.rowName !== undefined && w.rowName !== '') t += ` (name ${JSON.stringify(w.rowName)})`;
    parts.push(t);
  }
  if (w.column !== undefined) parts.push(`column ${w.column}`);
  return parts.join(', ');
}

/** A northbound database problem with its location (table, row, column or file offset). */
export class NbError extends Error {
  override readonly name = 'NbError';
  /** Table name, when the problem is in a table. */
  readonly table: string | undefined;
  /** Row uuid, when the problem is in a row. */
  readonly row: string | undefined;
  /** Row name, when the row has a `name` column. */
  readonly rowName: string | undefined;
  /** Column name, when the problem is in a column. */
  readonly column: string | undefined;
  /** OVSDB file record number (0 = schema), for file problems. */
  readonly record: number | undefined;
  /** Byte offset in the OVSDB file, for file problems. */
  readonly offset: number | undefined;
  /** The problem without the location prefix. */
  readonly detail: string;

  constructor(where: NbErrorWhere, detail: string) {
    const loc = describe(where);
    super(loc ? `${loc}: ${detail}` : detail);
    this.table = where.table;
    this.row = where.row;
    this.rowName = where.rowName;
    this.column = where.column;
    this.record = where.record;
    this.offset = where.offset;
    this.detail = detail;
  }

  /** The same error with more location filled in (fields already set win). */
  at(where: NbErrorWhere): NbError {
    return new NbError(
      {
        table: this.table ?? where.table,
        row: this.row ?? where.row,
        rowName: this.rowName ?? where.rowName,
        column: this.column ?? where.column,
        record: this.record ?? where.record,
        offset: this.offset ?? where.offset,
      },
      this.detail,
    );
  }
}
