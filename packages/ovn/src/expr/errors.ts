/**
 * Errors of the OVN expression language. Every failure (lexical, syntactic, type, annotation,
 * normalisation size) is an `ExprError` whose message is worded as OVN 23.03 words it, e.g.
 * ``Syntax error at `=' expecting relational operator.``, so that output can be compared
 * with `ovn-trace` and `ovn-controller` logs.
 */

/** A parse, type or annotation error in an OVN match expression, with OVN's wording. */
export class ExprError extends Error {
  override readonly name = 'ExprError';
  constructor(
    /** OVN's message (what `ovn-trace` prints after `error parsing flow: `). */
    message: string,
    /** The expression text being processed, when known. */
    readonly input?: string,
    /** Character offset in `input` of the token where the error was found, when known. */
    readonly position?: number,
  ) {
    super(message);
  }
}
