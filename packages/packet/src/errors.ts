/**
 * Wire errors. Codecs report problems as small integer codes (no allocation on the hot path):
 * `Truncated` means the bytes stop before the structure does; every other code is a malformation
 * of bytes that are present. `WireError` carries a code with the layer and byte offset for the
 * control plane and for tools such as `ovnts dissect`.
 */

/** Numeric wire error codes; 0 is success. */
export const WireErrorCode = {
  Ok: 0,
  /** The buffer ends before the header or a length it declares. */
  Truncated: 1,
  /** A length field is inconsistent (too small, or larger than its container). */
  BadLength: 2,
  /** A version field holds a value the codec does not handle. */
  BadVersion: 3,
  /** A checksum does not verify. */
  BadChecksum: 4,
  /** A TLV/option is malformed. */
  BadOption: 5,
  /** A field holds a value the protocol forbids. */
  BadValue: 6,
  /** Compression pointers or extension headers loop or go backwards. */
  PointerLoop: 7,
  /** Too many nested items (labels, extension headers, options) for the limits we allow. */
  TooDeep: 8,
} as const;

/** A numeric wire error code. */
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

const names: Record<number, string> = Object.fromEntries(
  Object.entries(WireErrorCode).map(([k, v]) => [v, k]),
);

/** The name of a wire error code (`Truncated`, `BadLength`, ...). */
export function wireErrorName(code: number): string {
  return names[code] ?? `Unknown(${code})`;
}

/** A wire error with its layer and offset, for the control plane. */
export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    /** The protocol layer that failed (`ipv4`, `dns`, ...). */
    readonly layer: string,
    /** The numeric code. */
    readonly code: WireErrorCode,
    /** The byte offset (from the start of the buffer given to the codec) where the problem lies. */
    readonly offset: number,
    detail?: string,
  ) {
    super(`${layer}: ${wireErrorName(code)} at offset ${offset}${detail ? `: ${detail}` : ''}`);
  }
  /** The code's name. */
  get codeName(): string {
    return wireErrorName(this.code);
  }
}

/** The result of parsing a `Repr`: the value, or the error that stopped it. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** A successful result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A failed result. */
export function fail<T = never>(layer: string, code: WireErrorCode, offset: number, detail?: string): Result<T> {
  return { ok: false, error: new WireError(layer, code, offset, detail) };
}

/** Thrown by `emit*` when the destination buffer is too small: a caller bug, not a wire problem. */
export class EmitError extends RangeError {
  override readonly name = 'EmitError';
  constructor(layer: string, need: number, have: number) {
    super(`${layer}: emit needs ${need} bytes, buffer has ${have}`);
  }
}

/** Throw an `EmitError` unless `buf` has `need` bytes from `off`. */
export function needRoom(layer: string, buf: Uint8Array, off: number, need: number): void {
  if (off < 0 || off + need > buf.length) throw new EmitError(layer, need, buf.length - off);
}
