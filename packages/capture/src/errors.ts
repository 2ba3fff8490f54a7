/**
 * Capture errors. Reading a file reports every problem as a `CaptureFormatError` that names the
 * format, a code, the absolute byte offset in the file and what was wrong. Truncation (the bytes
 * stop before a header or record does) is reported at the offset where the incomplete structure
 * starts; a malformation is reported at the offset of the offending field.
 */

/** Codes of capture format errors. */
export const CaptureErrorCode = {
  /** The file ends before a header, block or record it has started. */
  Truncated: 'Truncated',
  /** The magic number (pcap) or byte-order magic (pcapng) is not one we know. */
  BadMagic: 'BadMagic',
  /** The file format version is not supported. */
  BadVersion: 'BadVersion',
  /** A length field is inconsistent (too small, not aligned, larger than its container or limit). */
  BadLength: 'BadLength',
  /** A field holds a value the format forbids (e.g. an undefined interface id). */
  BadValue: 'BadValue',
} as const;

/** A capture format error code. */
export type CaptureErrorCode = (typeof CaptureErrorCode)[keyof typeof CaptureErrorCode];

/** A malformed or truncated pcap/pcapng file, with the absolute byte offset of the problem. */
export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
  constructor(
    /** The file format being read (`pcap`, `pcapng`, or `capture` before it is known). */
    readonly format: string,
    /** What kind of problem. */
    readonly code: CaptureErrorCode,
    /** Absolute byte offset in the file (or stream) where the problem lies. */
    readonly offset: number,
    /** Human-readable description, without the offset. */
    readonly detail: string,
  ) {
    super(`${format}: ${detail} at offset ${offset}`);
  }
  /** True when the file simply stops early (as opposed to holding malformed bytes). */
  get truncated(): boolean {
    return this.code === CaptureErrorCode.Truncated;
  }
}

/** A writer was asked to write something the format cannot represent (a caller bug). */
export class CaptureWriteError extends RangeError {
  override readonly name = 'CaptureWriteError';
  constructor(format: string, detail: string) {
    super(`${format} writer: ${detail}`);
  }
}

/** Live capture failed at run time (opening an interface, sending, bad options). */
export class LiveCaptureError extends Error {
  override readonly name: string = 'LiveCaptureError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Live capture is impossible here: the optional `cap` package or libpcap is missing. */
export class LiveCaptureUnavailableError extends LiveCaptureError {
  override readonly name = 'LiveCaptureUnavailableError';
}
