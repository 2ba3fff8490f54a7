/**
 * OVSDB errors (RFC 7047 section 3.1 <error>, with ovsdb-server's "syntax" extension) and the
 * typed errors of the JSON-RPC layer.
 *
 * An `OvsdbError` is what ovsdb-server puts in a transaction result or a JSON-RPC error reply:
 * `{"error": tag, "details": text, "syntax": json}`. The tags and detail texts are ovsdb-server
 * 3.1's own, word for word (they are compared with the real server in the differential tests);
 * "syntax" is the offending JSON printed with sorted members, as ovsdb-server prints it.
 */
import { formatJson } from './json.js';

/** The RFC 7047 <error> object as it travels on the wire. */
export interface OvsdbErrorJson {
  /** The error tag ("syntax error", "constraint violation", ...). */
  error: string;
  /** Human-readable details. */
  details?: string;
  /** The offending JSON (an ovsdb-server extension). */
  syntax?: string;
}

/** An OVSDB error: a tag, details and optionally the JSON it is about. */
export class OvsdbError extends Error {
  override readonly name = 'OvsdbError';
  /** RFC 7047 error tag. */
  readonly tag: string;
  /** Details text, if any. */
  readonly details: string | undefined;
  /** The offending JSON, printed with sorted members, if any. */
  readonly syntax: string | undefined;

  constructor(tag: string, details?: string, syntax?: string) {
    super(details === undefined ? tag : `${tag}: ${details}`);
    this.tag = tag;
    this.details = details;
    this.syntax = syntax;
  }

  /** The <error> JSON object. */
  toJson(): OvsdbErrorJson {
    const j: OvsdbErrorJson = { error: this.tag };
    if (this.details !== undefined) j.details = this.details;
    if (this.syntax !== undefined) j.syntax = this.syntax;
    return j;
  }

  /** The same error with `prefix: ` in front of its details (ovsdb_wrap_error). */
  wrap(prefix: string): OvsdbError {
    return new OvsdbError(this.tag, this.details === undefined ? prefix : `${prefix}: ${this.details}`, this.syntax);
  }
}

/** `ovsdb_error(tag, details)`: a missing tag becomes "ovsdb error". */
export function ovsdbError(tag: string | undefined, details: string): OvsdbError {
  return new OvsdbError(tag ?? 'ovsdb error', details);
}

/**
 * `ovsdb_syntax_error(json, tag, details)`: tag defaults to "syntax error"; `json` (when given,
 * `undefined` meaning none) becomes the "syntax" member.
 */
export function syntaxError(json: unknown, tag: string | undefined, details: string): OvsdbError {
  return new OvsdbError(tag ?? 'syntax error', details, json === undefined ? undefined : formatJson(json, { sort: true }));
}

/** A JSON text that does not parse, or a stream that breaks JSON framing. */
export class JsonParseError extends Error {
  override readonly name = 'JsonParseError';
  /** Byte offset in the stream where the problem was found. */
  readonly offset: number;
  constructor(offset: number, detail: string) {
    super(`byte ${offset}: ${detail}`);
    this.offset = offset;
  }
}

/** A JSON-RPC message that is not valid (ovsdb-server closes such connections). */
export class JsonRpcError extends Error {
  override readonly name = 'JsonRpcError';
}

/** A request that got a JSON-RPC error reply; `error` is the reply's "error" member. */
export class OvsdbRpcError extends Error {
  override readonly name = 'OvsdbRpcError';
  /** The "error" member of the reply (a string or an <error> object). */
  readonly error: unknown;
  /** The method of the request. */
  readonly method: string;
  constructor(method: string, error: unknown) {
    super(`${method}: ${describeRpcError(error)}`);
    this.method = method;
    this.error = error;
  }
}

function describeRpcError(e: unknown): string {
  if (typeof e === 'string') return e;
  if (typeof e === 'object' && e !== null && typeof (e as OvsdbErrorJson).error === 'string') {
    const j = e as OvsdbErrorJson;
    return j.details ? `${j.error}: ${j.details}` : j.error;
  }
  return formatJson(e);
}

/** The connection to a server is down (closed, refused, or never established). */
export class OvsdbConnectionError extends Error {
  override readonly name = 'OvsdbConnectionError';
}

/** A bad remote or listen specification (`unix:PATH`, `tcp:IP:PORT`, `punix:`, `ptcp:`). */
export class RemoteSpecError extends Error {
  override readonly name = 'RemoteSpecError';
}

/** A transaction that ovsdb reported as failed, with the results array. */
export class OvsdbTxnError extends Error {
  override readonly name = 'OvsdbTxnError';
  /** The first error among the results. */
  readonly error: OvsdbErrorJson;
  /** The whole results array. */
  readonly results: readonly unknown[];
  constructor(error: OvsdbErrorJson, results: readonly unknown[]) {
    super(error.details ? `${error.error}: ${error.details}` : error.error);
    this.error = error;
    this.results = results;
  }
}
