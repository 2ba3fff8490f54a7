/**
 * The option format IPv4 (RFC 791 section 3.1) and TCP (RFC 9293 section 3.1) share: a kind
 * octet; kind 0 (End of Option List) ends the list and kind 1 (No-Operation) is a single octet;
 * every other option has a length octet counting the kind and length octets themselves.
 */
import { WireErrorCode } from './errors.js';

const EMPTY = new Uint8Array(0);

/**
 * An allocation-free walk over kind-length options. After each `next()` that returns true,
 * `kind`, `offset` (of the kind octet in `buf`), `length` (whole option; 1 for EOL/NOP),
 * `dataOffset` and `dataLength` describe one option. End of List is reported once and ends the
 * walk. `next()` returns false at the end, or with `error` = `BadOption` on a malformed option.
 * Subclasses refine `lengthOk` for kinds whose length the protocol fixes.
 */
export class KindLengthOptionIter {
  buf: Uint8Array = EMPTY;
  pos = 0;
  end = 0;
  /** Option kind (type) octet. */
  kind = 0;
  /** Offset of the option in `buf`. */
  offset = 0;
  /** Length of the whole option in bytes. */
  length = 0;
  /** Offset of the option data (after kind and length). */
  dataOffset = 0;
  /** Length of the option data. */
  dataLength = 0;
  /** `Ok`, or `BadOption` once a malformed option stopped the walk. */
  error: WireErrorCode = WireErrorCode.Ok;

  /** Walk the `len` option bytes at `off`. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = off + len;
    this.error = WireErrorCode.Ok;
    return this;
  }

  /** Whether `length` is acceptable for an option of `kind` (any length >= 2 by default). */
  protected lengthOk(_kind: number, _length: number): boolean {
    return true;
  }

  /** Advance to the next option; false at the end or on error. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const p = this.pos;
    const k = this.buf[p]!;
    this.kind = k;
    this.offset = p;
    if (k === 0 || k === 1) {
      this.length = 1;
      this.dataOffset = p + 1;
      this.dataLength = 0;
      this.pos = k === 0 ? this.end : p + 1;
      return true;
    }
    if (p + 2 > this.end) return this.bad();
    const l = this.buf[p + 1]!;
    if (l < 2 || p + l > this.end || !this.lengthOk(k, l)) return this.bad();
    this.length = l;
    this.dataOffset = p + 2;
    this.dataLength = l - 2;
    this.pos = p + l;
    return true;
  }

  private bad(): boolean {
    this.error = WireErrorCode.BadOption;
    this.pos = this.end;
    return false;
  }
}
