/**
 * Readers over `CaptureParser`. `readCapture(buf)` walks one buffer and hands out frames as
 * subarrays of it. `readCaptureStream(chunks)` parses incrementally: it keeps only the unconsumed
 * tail of the previous chunk plus the chunks needed to complete the current unit, joins them once
 * when the unit is complete, and drops them as soon as the unit is consumed. Memory is therefore
 * bounded by the largest block/record (plus one chunk), not by the file. Frames handed out while
 * streaming view the current chunk (or the joined buffer) and are only valid until the next
 * iteration; `copyFrame()` them to keep them.
 */
import { createReadStream } from 'node:fs';
import { ArgumentError, checkSpan } from '@ovnts/packet';
import type { CaptureFrame } from './frame.js';
import { CaptureParser } from './parser.js';

/** Every frame of a whole pcap or pcapng file in `buf` (format auto-detected); throws `CaptureFormatError` after the last good frame. */
export function readCapture(buf: Uint8Array): Iterable<CaptureFrame> {
  checkSpan('readCapture', buf, 0);
  return {
    *[Symbol.iterator]() {
      const p = new CaptureParser();
      let pos = 0;
      for (;;) {
        const n = p.step(buf, pos, buf.length, true);
        if (n < 0) return;
        pos += n;
        if (p.frame) yield p.frame;
      }
    },
  };
}

/** Chunks accepted by the streaming reader: any async iterable of bytes (a Node Readable qualifies). */
export type ByteChunks = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

const EMPTY = new Uint8Array(0);

function join(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Frames parsed incrementally from a stream of chunks; each frame's `data` is valid until the next iteration. */
export async function* readCaptureStream(chunks: ByteChunks, parser: CaptureParser = new CaptureParser()): AsyncGenerator<CaptureFrame, void, undefined> {
  const it = chunks as { [Symbol.asyncIterator]?: unknown; [Symbol.iterator]?: unknown } | null;
  if (it === null || typeof it !== 'object' || (typeof it[Symbol.asyncIterator] !== 'function' && typeof it[Symbol.iterator] !== 'function')) {
    throw new ArgumentError('readCaptureStream', 'chunks', 'an iterable or async iterable of byte chunks (a Node Readable qualifies)', chunks);
  }
  let buf: Uint8Array = EMPTY; // the current working buffer
  let pos = 0; // first unconsumed byte in buf
  const pending: Uint8Array[] = []; // chunks received while waiting for `parser.need` bytes
  let pendingLen = 0;
  for await (const raw of chunks as AsyncIterable<Uint8Array>) {
    if (!(raw instanceof Uint8Array)) {
      throw new ArgumentError('readCaptureStream', 'a chunk', typeof raw === 'string' ? 'bytes (open the stream without an encoding)' : 'a Uint8Array (or Buffer)', raw);
    }
    const chunk = raw;
    if (chunk.length === 0) continue;
    if (pendingLen > 0) {
      pending.push(chunk);
      pendingLen += chunk.length;
      if (pendingLen < parser.need) continue;
      buf = join(pending, pendingLen);
      pending.length = 0;
      pendingLen = 0;
    } else {
      buf = chunk;
    }
    pos = 0;
    for (;;) {
      const n = parser.step(buf, pos, buf.length, false);
      if (n === 0) break;
      pos += n;
      if (parser.frame) yield parser.frame;
    }
    if (pos < buf.length) {
      pending.push(buf.subarray(pos));
      pendingLen = buf.length - pos;
    }
    buf = EMPTY;
  }
  buf = join(pending, pendingLen);
  pending.length = 0;
  pos = 0;
  for (;;) {
    const n = parser.step(buf, pos, buf.length, true);
    if (n < 0) return;
    pos += n;
    if (parser.frame) yield parser.frame;
  }
}

/** Options of `openCaptureFile`. */
export interface OpenCaptureFileOptions {
  /** Read chunk size in bytes (default 1 MiB). */
  chunkSize?: number;
}

/** Stream the frames of a pcap/pcapng file from disk; each frame's `data` is valid until the next iteration. */
export function openCaptureFile(path: string, opts: OpenCaptureFileOptions = {}): AsyncGenerator<CaptureFrame, void, undefined> {
  return readCaptureStream(createReadStream(path, { highWaterMark: opts.chunkSize ?? 1 << 20 }));
}
