/**
 * CLI errors. A `UsageError` is a mistake in the command line (exit status 2, with a hint to
 * `--help`); a `CliError` is a failure of a well-formed command (exit status 1). Both carry a
 * message that names what was wrong and where.
 */

/** A bad command line: unknown option, missing argument, bad value. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose usage to show, if any. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A well-formed command that could not be carried out (unreadable file, corrupt capture, ...). */
export class CliError extends Error {
  override readonly name = 'CliError';
}
