/**
 * Errors of the OpenFlow layer, by regime: text that cannot be parsed raises a `TextParseError`
 * (input, column, what was expected); a flow that parses but that a switch refuses carries the
 * OpenFlow error type and code names OVS reports (`OFPBMC_BAD_PREREQ`, `OFPBAC_MATCH_INCONSISTENT`).
 */
import { errorEncoding, type OfpErrName } from './ofp-errors.js';

/** Raised by the ovs-ofctl text parsers: the input, the 0-based column and what was expected. */
export class TextParseError extends SyntaxError {
  override readonly name = 'TextParseError';
  /** What the parser expected or found wrong there (a quoted word longer than 100 characters is cut, with its length). */
  readonly expected: string;
  constructor(
    /** The whole input being parsed (one flow, group or action list). */
    readonly input: string,
    /** 0-based column in `input` where the problem starts. */
    readonly position: number,
    /** What the parser expected or found wrong there. */
    expected: string,
    /** 1-based line number, when parsing a file. */
    readonly line?: number,
  ) {
    const what = cutLongWords(expected);
    super(
      `${line !== undefined ? `line ${line}: ` : ''}${what} at column ${position + 1}: ` +
        `${JSON.stringify(input.length > 80 ? input.slice(0, 80) + '...' : input)}`,
    );
    this.expected = what;
  }
}

const LONG_WORD = /[^\s]{101,}/g;

/** Cut each run of more than 100 non-space characters to its first 60, saying how long it was (a 10 MB token is not echoed whole). */
function cutLongWords(s: string): string {
  return s.length <= 100 ? s : s.replace(LONG_WORD, (w) => `${w.slice(0, 60)}... (${w.length} characters)`);
}

/** OpenFlow error types (OpenFlow 1.5 `ofp_error_type`), by the names OVS prints. */
export const OfpErrorType = {
  OFPET_BAD_REQUEST: 1,
  OFPET_BAD_ACTION: 2,
  OFPET_BAD_INSTRUCTION: 3,
  OFPET_BAD_MATCH: 4,
  OFPET_FLOW_MOD_FAILED: 5,
  OFPET_GROUP_MOD_FAILED: 6,
  OFPET_METER_MOD_FAILED: 12,
} as const;

/** The OpenFlow error codes we raise, by name, with their type and code numbers (OpenFlow 1.5). */
export const OfpErrorCode = {
  OFPBAC_BAD_TYPE: [2, 0],
  OFPBAC_BAD_LEN: [2, 1],
  OFPBAC_BAD_OUT_PORT: [2, 4],
  OFPBAC_BAD_ARGUMENT: [2, 5],
  OFPBAC_BAD_OUT_GROUP: [2, 9],
  OFPBAC_MATCH_INCONSISTENT: [2, 10],
  OFPBAC_UNSUPPORTED_ORDER: [2, 11],
  OFPBAC_BAD_TAG: [2, 12],
  OFPBAC_BAD_SET_TYPE: [2, 13],
  OFPBAC_BAD_SET_LEN: [2, 14],
  OFPBAC_BAD_SET_ARGUMENT: [2, 15],
  OFPBIC_UNKNOWN_INST: [3, 0],
  OFPBIC_UNSUP_INST: [3, 1],
  OFPBIC_BAD_TABLE_ID: [3, 2],
  OFPBIC_DUP_INST: [3, 9],
  OFPBMC_BAD_TYPE: [4, 0],
  OFPBMC_BAD_LEN: [4, 1],
  OFPBMC_BAD_FIELD: [4, 6],
  OFPBMC_BAD_VALUE: [4, 7],
  OFPBMC_BAD_MASK: [4, 8],
  OFPBMC_BAD_PREREQ: [4, 9],
  OFPBMC_DUP_FIELD: [4, 10],
  OFPBMC_BAD_WILDCARDS: [4, 5],
  OFPFMFC_OVERLAP: [5, 3],
  OFPFMFC_BAD_PRIORITY: [5, 9],
  OFPFMFC_BAD_TIMEOUT: [5, 5],
  OFPGMFC_GROUP_EXISTS: [6, 0],
  OFPGMFC_UNKNOWN_GROUP: [6, 8],
  OFPGMFC_BAD_TYPE: [6, 10],
  OFPGMFC_BAD_BUCKET: [6, 12],
  OFPGMFC_CHAINING_UNSUPPORTED: [6, 5],
  OFPBRC_BUFFER_UNKNOWN: [1, 8],
  OFPBRC_BAD_PORT: [1, 11],
  OFPMMFC_METER_EXISTS: [12, 1],
  OFPMMFC_INVALID_METER: [12, 2],
  OFPMMFC_UNKNOWN_METER: [12, 3],
} as const satisfies Record<string, readonly [number, number]>;

/** The name of an OpenFlow error: one of the table above or any other error OVS knows (ofp-errors.ts). */
export type OfpErrorName = keyof typeof OfpErrorCode | OfpErrName;

/** OpenFlow 1.5 (type, code) of any error name; an experimenter error is (0xffff, exp_type). */
function of15TypeCode(name: OfpErrorName): readonly [number, number] {
  if (Object.hasOwn(OfpErrorCode, name)) return OfpErrorCode[name as keyof typeof OfpErrorCode];
  const t = errorEncoding(name as OfpErrName, 6);
  if (!t) return [0xffff, 0];
  return t.vendor ? [0xffff, t.type] : [t.type, t.code];
}

/** An OpenFlow error as a switch would send it: type and code, by OVS's names. */
export class OpenFlowError extends Error {
  override readonly name = 'OpenFlowError';
  /** OpenFlow error type number. */
  readonly type: number;
  /** OpenFlow error code number within the type. */
  readonly code: number;
  constructor(
    /** The code's name, e.g. `OFPBMC_BAD_PREREQ`. */
    readonly errorName: OfpErrorName,
    /** What in the flow caused it. */
    readonly detail: string,
  ) {
    super(`${errorName}: ${detail}`);
    [this.type, this.code] = of15TypeCode(errorName);
  }
}
