/**
 * The frame handed out by every reader. `data` is a view into the reader's buffer, never a copy:
 * for `readCapture(buf)` it stays valid as long as `buf` does; in streaming mode and in live
 * capture callbacks it is only valid until the next frame is produced, unless `copyFrame()`d.
 */

/** One captured frame. */
export interface CaptureFrame {
  /** The captured bytes (a subarray of the reader's buffer; see the module comment on lifetime). */
  data: Uint8Array;
  /** The frame's length on the wire (>= `data.length` when the capture was truncated by snaplen). */
  origLen: number;
  /** Capture time in nanoseconds since the Unix epoch (0n when the format has none, e.g. SPB). */
  timestampNs: bigint;
  /** The pcapng interface index within its section (always 0 for pcap). */
  interfaceId: number;
  /** The LINKTYPE_* of the frame's interface (see `LinkType`). */
  linkType: number;
}

/** What writers accept: a frame, with everything but the bytes optional. */
export interface WriteFrame {
  /** The bytes to write. */
  data: Uint8Array;
  /** Length on the wire; defaults to `data.length`, must not be smaller. */
  origLen?: number;
  /** Timestamp in ns since the epoch; defaults to 0n. */
  timestampNs?: bigint;
  /** pcapng interface index; defaults to 0 (ignored by the pcap writer). */
  interfaceId?: number;
  /** If given, must match the link type of the interface written to. */
  linkType?: number;
}

/** A copy of `f` whose `data` owns its bytes (use when a frame must outlive its iteration). */
export function copyFrame<F extends CaptureFrame>(f: F): F {
  // Uint8Array.prototype.slice copies; Buffer#slice would not, so never call it on `data`.
  return { ...f, data: Uint8Array.prototype.slice.call(f.data) };
}
