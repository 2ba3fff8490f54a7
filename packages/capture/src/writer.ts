/**
 * pcap and pcapng writers. Each writer encodes into fresh buffers (a frame's bytes are copied once
 * into its record, so the caller may reuse or mutate the frame right after `write`) and hands them
 * to a Node `Writable`, or, without one, collects them for `toBuffer()`. Headers are emitted at
 * construction; pcapng interfaces can be added later with `addInterface` (an IDB may appear
 * anywhere in a section). Frames longer than the snaplen are truncated to it, with `origLen` kept.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { CaptureWriteError } from './errors.js';
import { HOST_LE, wr16, wr32, wr64 } from './endian.js';
import { BlockType, BYTE_ORDER_MAGIC, LinkType, MAX_SNAPLEN, OptionCode, PcapMagic, TSRESOL_MICRO, TSRESOL_NANO } from './format.js';
import type { WriteFrame } from './frame.js';

/** Byte order of a written file. */
export type ByteOrder = 'le' | 'be';

/** Timestamp resolution: microseconds or nanoseconds. */
export type TsResolution = 'us' | 'ns';

/** Options of `PcapWriter`. */
export interface PcapWriterOptions {
  /** LINKTYPE_* of every record (default `LinkType.ETHERNET`). */
  linkType?: number;
  /** Timestamp resolution (default `us`; `ns` writes magic a1b23c4d). */
  resolution?: TsResolution;
  /** Snapshot length; longer frames are truncated (default 262144). */
  snaplen?: number;
  /** Byte order (default: this machine's). */
  byteOrder?: ByteOrder;
  /** Where to write; without it, bytes are collected for `toBuffer()`. */
  sink?: Writable;
}

/** One pcapng interface to describe in an IDB. */
export interface PcapngInterfaceOptions {
  /** LINKTYPE_* (default `LinkType.ETHERNET`). */
  linkType?: number;
  /** Snapshot length; 0 = unlimited (default 262144). */
  snaplen?: number;
  /** if_name option. */
  name?: string;
  /** Timestamp resolution: `us`, `ns` (default) or a raw if_tsresol byte (e.g. 0x8a = 2^-10 s). */
  tsresol?: TsResolution | number;
}

/** Options of `PcapngWriter`. */
export interface PcapngWriterOptions {
  /** Interfaces of the section (default one Ethernet interface). */
  interfaces?: PcapngInterfaceOptions[];
  /** Byte order (default: this machine's). */
  byteOrder?: ByteOrder;
  /** shb_userappl option (default `ovn-ts`; empty string omits it). */
  application?: string;
  /** Where to write; without it, bytes are collected for `toBuffer()`. */
  sink?: Writable;
}

const NS = 1_000_000_000n;
const encoder = new TextEncoder();

function checkU32(fmt: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new CaptureWriteError(fmt, `${what} ${v} is not a 32-bit unsigned integer`);
}

function checkLinkType(fmt: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new CaptureWriteError(fmt, `link type ${v} is not a 16-bit unsigned integer`);
}

/** Common buffering and sink handling of the writers. */
abstract class WriterBase {
  /** Bytes written so far (headers included). */
  bytesWritten = 0;
  private readonly chunks: Uint8Array[] | null;
  private ended = false;

  protected constructor(
    protected readonly fmt: string,
    protected readonly sink: Writable | undefined,
  ) {
    this.chunks = sink ? null : [];
  }

  protected emit(b: Uint8Array): boolean {
    if (this.ended) throw new CaptureWriteError(this.fmt, 'write after end()');
    this.bytesWritten += b.length;
    if (this.chunks) {
      this.chunks.push(b);
      return true;
    }
    return this.sink!.write(b);
  }

  /** Resolves when the sink can take more (after `write` returned false). */
  async drain(): Promise<void> {
    if (this.sink && this.sink.writableNeedDrain) await once(this.sink, 'drain');
  }

  /** Finish: end the sink (if any) and wait until it has flushed. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.sink) {
      const done = once(this.sink, 'finish');
      this.sink.end();
      await done;
    }
  }

  /** Everything written so far, as one buffer (collecting writers only). */
  toBuffer(): Buffer {
    if (!this.chunks) throw new CaptureWriteError(this.fmt, 'toBuffer() needs a writer without a sink');
    return Buffer.concat(this.chunks);
  }

  protected frameLens(f: WriteFrame, snaplen: number): { cap: number; orig: number } {
    const orig = f.origLen ?? f.data.length;
    checkU32(this.fmt, 'origLen', orig);
    if (orig < f.data.length) throw new CaptureWriteError(this.fmt, `origLen ${orig} is smaller than the frame's ${f.data.length} bytes`);
    const cap = snaplen !== 0 && f.data.length > snaplen ? snaplen : f.data.length;
    return { cap, orig };
  }
}

/** Writes a classic pcap file (one link type, micro- or nanosecond timestamps). */
export class PcapWriter extends WriterBase {
  /** LINKTYPE_* of the file. */
  readonly linkType: number;
  /** Snapshot length written in the header. */
  readonly snaplen: number;
  /** Timestamp resolution. */
  readonly resolution: TsResolution;
  private readonly le: boolean;

  constructor(opts: PcapWriterOptions = {}) {
    super('pcap', opts.sink);
    this.linkType = opts.linkType ?? LinkType.ETHERNET;
    this.snaplen = opts.snaplen ?? MAX_SNAPLEN;
    this.resolution = opts.resolution ?? 'us';
    this.le = (opts.byteOrder ?? (HOST_LE ? 'le' : 'be')) === 'le';
    checkLinkType('pcap', this.linkType);
    checkU32('pcap', 'snaplen', this.snaplen);
    const h = new Uint8Array(24);
    wr32(h, 0, this.resolution === 'ns' ? PcapMagic.Nano : PcapMagic.Micro, this.le);
    wr16(h, 4, 2, this.le);
    wr16(h, 6, 4, this.le);
    wr32(h, 16, this.snaplen, this.le);
    wr32(h, 20, this.linkType, this.le);
    this.emit(h);
  }

  /** Append one record; returns false when the sink asks to wait for `drain()`. */
  write(f: WriteFrame): boolean {
    if (f.linkType !== undefined && f.linkType !== this.linkType) {
      throw new CaptureWriteError('pcap', `frame link type ${f.linkType} differs from the file's ${this.linkType}`);
    }
    const { cap, orig } = this.frameLens(f, this.snaplen);
    const ts = f.timestampNs ?? 0n;
    const sec = ts / NS;
    if (ts < 0n || sec > 0xffff_ffffn) throw new CaptureWriteError('pcap', `timestamp ${ts} ns is outside the 32-bit seconds range`);
    const frac = this.resolution === 'ns' ? ts % NS : (ts % NS) / 1000n;
    const r = new Uint8Array(16 + cap);
    wr32(r, 0, Number(sec), this.le);
    wr32(r, 4, Number(frac), this.le);
    wr32(r, 8, cap, this.le);
    wr32(r, 12, orig, this.le);
    r.set(cap === f.data.length ? f.data : f.data.subarray(0, cap), 16);
    return this.emit(r);
  }
}

interface IfState {
  linkType: number;
  snaplen: number;
  tsresol: number;
}

function tsresolByte(r: TsResolution | number | undefined): number {
  if (r === undefined || r === 'ns') return TSRESOL_NANO;
  if (r === 'us') return TSRESOL_MICRO;
  if (!Number.isInteger(r) || r < 0 || r > 0xff) throw new CaptureWriteError('pcapng', `if_tsresol ${r} is not a byte`);
  return r;
}

/** ns -> timestamp units for an if_tsresol byte (truncating). */
function toUnits(ns: bigint, tsresol: number): bigint {
  const v = tsresol & 0x7f;
  if (tsresol & 0x80) return (ns << BigInt(v)) / NS;
  return v <= 9 ? ns / 10n ** BigInt(9 - v) : ns * 10n ** BigInt(v - 9);
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Writes a pcapng file: one section (SHB), its interfaces (IDBs) and enhanced packet blocks. */
export class PcapngWriter extends WriterBase {
  private readonly le: boolean;
  private readonly ifs: IfState[] = [];

  constructor(opts: PcapngWriterOptions = {}) {
    super('pcapng', opts.sink);
    this.le = (opts.byteOrder ?? (HOST_LE ? 'le' : 'be')) === 'le';
    const app = encoder.encode(opts.application ?? 'ovn-ts');
    const optLen = app.length ? 4 + pad4(app.length) + 4 : 0;
    const len = 28 + optLen;
    const b = new Uint8Array(len);
    wr32(b, 0, BlockType.SectionHeader, this.le);
    wr32(b, 4, len, this.le);
    wr32(b, 8, BYTE_ORDER_MAGIC, this.le);
    wr16(b, 12, 1, this.le);
    wr16(b, 14, 0, this.le);
    wr64(b, 16, -1n, this.le);
    if (app.length) {
      wr16(b, 24, OptionCode.ShbUserAppl, this.le);
      wr16(b, 26, app.length, this.le);
      b.set(app, 28);
    }
    wr32(b, len - 4, len, this.le);
    this.emit(b);
    for (const i of opts.interfaces ?? [{}]) this.addInterface(i);
  }

  /** Number of interfaces described so far. */
  get interfaceCount(): number {
    return this.ifs.length;
  }

  /** Describe another interface (writes an IDB); returns its interface id. */
  addInterface(i: PcapngInterfaceOptions = {}): number {
    const st: IfState = { linkType: i.linkType ?? LinkType.ETHERNET, snaplen: i.snaplen ?? MAX_SNAPLEN, tsresol: tsresolByte(i.tsresol) };
    checkLinkType('pcapng', st.linkType);
    checkU32('pcapng', 'snaplen', st.snaplen);
    const name = i.name !== undefined ? encoder.encode(i.name) : null;
    if (name && name.length > 0xffff) throw new CaptureWriteError('pcapng', 'if_name longer than 65535 bytes');
    let optLen = 0;
    if (name) optLen += 4 + pad4(name.length);
    if (st.tsresol !== TSRESOL_MICRO) optLen += 8;
    if (optLen) optLen += 4;
    const len = 20 + optLen;
    const b = new Uint8Array(len);
    wr32(b, 0, BlockType.InterfaceDescription, this.le);
    wr32(b, 4, len, this.le);
    wr16(b, 8, st.linkType, this.le);
    wr32(b, 12, st.snaplen, this.le);
    let o = 16;
    if (name) {
      wr16(b, o, OptionCode.IfName, this.le);
      wr16(b, o + 2, name.length, this.le);
      b.set(name, o + 4);
      o += 4 + pad4(name.length);
    }
    if (st.tsresol !== TSRESOL_MICRO) {
      wr16(b, o, OptionCode.IfTsresol, this.le);
      wr16(b, o + 2, 1, this.le);
      b[o + 4] = st.tsresol;
    }
    wr32(b, len - 4, len, this.le);
    this.emit(b);
    this.ifs.push(st);
    return this.ifs.length - 1;
  }

  /** Append one enhanced packet block; returns false when the sink asks to wait for `drain()`. */
  write(f: WriteFrame): boolean {
    const id = f.interfaceId ?? 0;
    const st = this.ifs[id];
    if (st === undefined) throw new CaptureWriteError('pcapng', `interface ${id} is not defined (${this.ifs.length} interfaces)`);
    if (f.linkType !== undefined && f.linkType !== st.linkType) {
      throw new CaptureWriteError('pcapng', `frame link type ${f.linkType} differs from interface ${id}'s ${st.linkType}`);
    }
    const { cap, orig } = this.frameLens(f, st.snaplen);
    const ts = f.timestampNs ?? 0n;
    if (ts < 0n) throw new CaptureWriteError('pcapng', `timestamp ${ts} ns is negative`);
    const units = toUnits(ts, st.tsresol);
    if (units > 0xffff_ffff_ffff_ffffn) throw new CaptureWriteError('pcapng', `timestamp ${ts} ns overflows 64 bits at if_tsresol ${st.tsresol}`);
    const len = 32 + pad4(cap);
    const b = new Uint8Array(len);
    wr32(b, 0, BlockType.EnhancedPacket, this.le);
    wr32(b, 4, len, this.le);
    wr32(b, 8, id, this.le);
    wr32(b, 12, Number(units >> 32n), this.le);
    wr32(b, 16, Number(units & 0xffff_ffffn), this.le);
    wr32(b, 20, cap, this.le);
    wr32(b, 24, orig, this.le);
    b.set(cap === f.data.length ? f.data : f.data.subarray(0, cap), 28);
    wr32(b, len - 4, len, this.le);
    return this.emit(b);
  }
}

/** Options of `writePcapFile`: the format plus that format's writer options. */
export type WritePcapFileOptions =
  | ({ format?: 'pcap' } & Omit<PcapWriterOptions, 'sink'>)
  | ({ format: 'pcapng' } & Omit<PcapngWriterOptions, 'sink'>);

/** Write `frames` to a new file at `path` (pcap by default, or pcapng), honouring backpressure. */
export async function writePcapFile(path: string, frames: Iterable<WriteFrame> | AsyncIterable<WriteFrame>, opts: WritePcapFileOptions = {}): Promise<void> {
  const sink = createWriteStream(path);
  const failed = new Promise<never>((_, reject) => sink.once('error', reject));
  failed.catch(() => undefined);
  const w = opts.format === 'pcapng' ? new PcapngWriter({ ...opts, sink }) : new PcapWriter({ ...opts, sink });
  try {
    for await (const f of frames) {
      if (!w.write(f)) await Promise.race([w.drain(), failed]);
    }
    await Promise.race([w.end(), failed]);
  } catch (e) {
    sink.destroy();
    throw e;
  }
}
