/**
 * The incremental capture parser shared by the whole-buffer and the streaming readers.
 *
 * Design: `CaptureParser.step(buf, pos, end, eof)` looks at the bytes `buf[pos, end)` and either
 * consumes exactly one unit (the pcap file header, one pcap record, or one pcapng block) and
 * returns how many bytes it took, or returns 0 and sets `need` to the number of bytes (counted from
 * `pos`) that the unit requires. The caller (a reader) then supplies more bytes and calls again
 * with the same unconsumed bytes at the front. When `eof` is set there will be no more bytes, so a
 * short unit is a truncation error instead; at a clean unit boundary `step` returns -1 (done).
 * Because a unit is only ever consumed whole, memory is bounded by the largest unit, and a frame's
 * `data` is a subarray of the caller's buffer (no copy).
 *
 * The parser counts consumed bytes in `offset`, so every error carries the absolute file offset.
 * Truncation is reported at the start of the incomplete unit; malformations at the bad field.
 * The format is detected from the first four bytes: the four pcap magics (both byte orders,
 * micro- and nanosecond resolution) or the pcapng Section Header Block type.
 */
import { checkRange } from '@ovnts/packet';
import { CaptureErrorCode, CaptureFormatError } from './errors.js';
import { rd16, rd32, rdI64 } from './endian.js';
import {
  BlockType,
  BYTE_ORDER_MAGIC,
  MAX_BLOCK_LEN,
  MAX_SNAPLEN,
  MinBlockLen,
  OptionCode,
  PCAP_HEADER_LEN,
  PCAP_RECORD_HEADER_LEN,
  PcapMagic,
  TSRESOL_MICRO,
} from './format.js';
import type { CaptureFrame } from './frame.js';

/** A pcapng interface (or the single pcap "interface") as described by the file. */
export interface CaptureInterface {
  /** LINKTYPE_* of the interface. */
  linkType: number;
  /** Snapshot length; 0 means unlimited. */
  snaplen: number;
  /** if_name option, when present. */
  name?: string;
  /** Raw if_tsresol byte (6 = microseconds when absent; pcap: 6 or 9). */
  tsresol: number;
  /** if_tsoffset in seconds (0n when absent). */
  tsoffset: bigint;
}

interface TsConv {
  mul: bigint;
  div: bigint;
  shift: bigint;
  offsetNs: bigint;
}

const enum State {
  Detect,
  PcapHeader,
  PcapRecord,
  Block,
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function hex32(v: number): string {
  return '0x' + v.toString(16).padStart(8, '0');
}

/** Timestamp conversion factors for an if_tsresol byte. */
function tsConv(tsresol: number, tsoffset: bigint): TsConv {
  const v = tsresol & 0x7f;
  const offsetNs = tsoffset * 1_000_000_000n;
  if (tsresol & 0x80) return { mul: 1_000_000_000n, div: 1n, shift: BigInt(v), offsetNs };
  if (v <= 9) return { mul: 10n ** BigInt(9 - v), div: 1n, shift: 0n, offsetNs };
  return { mul: 1n, div: 10n ** BigInt(v - 9), shift: 0n, offsetNs };
}

/** Incremental pcap/pcapng parser; see the module comment for the `step` protocol. */
export class CaptureParser {
  /** The detected format (`unknown` until the first four bytes are seen). */
  format: 'unknown' | 'pcap' | 'pcapng' = 'unknown';
  /** Absolute offset of the next unconsumed byte. */
  offset = 0;
  /** After `step` returned 0: how many bytes from `pos` the next unit needs. */
  need = 0;
  /** After `step` consumed a packet record/block: the frame; otherwise null. */
  frame: CaptureFrame | null = null;
  /** pcapng section index (0 for the first SHB; pcap: 0). */
  section = -1;
  /** Interfaces of the current section (pcap: one, from the file header). */
  interfaces: CaptureInterface[] = [];
  /** pcap: timestamps are nanoseconds (magic a1b23c4d). */
  nanosecond = false;
  /** Byte order of the file (pcap) or current section (pcapng). */
  littleEndian = false;

  private state: State = State.Detect;
  private conv: TsConv[] = [];

  private err(code: CaptureErrorCode, offset: number, detail: string): CaptureFormatError {
    return new CaptureFormatError(this.format === 'unknown' ? 'capture' : this.format, code, offset, detail);
  }

  /** Return 0 asking for `need` bytes, or throw a truncation error at eof. */
  private short(need: number, avail: number, eof: boolean, what: string): number {
    if (!eof) {
      this.need = need;
      return 0;
    }
    throw this.err(CaptureErrorCode.Truncated, this.offset, `truncated ${what} (needs ${need} bytes, ${avail} remain)`);
  }

  /** Consume one unit from `b[pos, end)`; returns bytes consumed, 0 for "need more", -1 at the end. */
  step(b: Uint8Array, pos: number, end: number, eof: boolean): number {
    checkRange('CaptureParser.step', b, pos, end);
    this.frame = null;
    const avail = end - pos;
    if (this.state === State.Detect) {
      if (avail === 0 && eof) throw this.err(CaptureErrorCode.Truncated, this.offset, 'empty file (no pcap or pcapng header)');
      if (avail < 4) return this.short(4, avail, eof, 'file header');
      const magic = rd32(b, pos, false);
      switch (magic) {
        case PcapMagic.Micro:
        case PcapMagic.MicroSwapped:
        case PcapMagic.Nano:
        case PcapMagic.NanoSwapped:
          this.format = 'pcap';
          this.littleEndian = magic === PcapMagic.MicroSwapped || magic === PcapMagic.NanoSwapped;
          this.nanosecond = magic === PcapMagic.Nano || magic === PcapMagic.NanoSwapped;
          this.state = State.PcapHeader;
          break;
        case BlockType.SectionHeader:
          this.format = 'pcapng';
          this.state = State.Block;
          break;
        case PcapMagic.Modified:
        case PcapMagic.ModifiedSwapped:
          throw this.err(CaptureErrorCode.BadMagic, this.offset, `bad magic ${hex32(magic)}: modified (Kuznetzov) pcap is not supported`);
        default:
          throw this.err(CaptureErrorCode.BadMagic, this.offset, `bad magic ${hex32(magic)} (neither pcap nor pcapng)`);
      }
    }
    if (this.state === State.PcapRecord) return this.pcapRecord(b, pos, avail, eof);
    if (this.state === State.Block) return this.block(b, pos, avail, eof);
    return this.pcapHeader(b, pos, avail, eof);
  }

  private pcapHeader(b: Uint8Array, pos: number, avail: number, eof: boolean): number {
    if (avail < PCAP_HEADER_LEN) return this.short(PCAP_HEADER_LEN, avail, eof, 'pcap file header');
    const le = this.littleEndian;
    const major = rd16(b, pos + 4, le);
    const minor = rd16(b, pos + 6, le);
    if (major !== 2) throw this.err(CaptureErrorCode.BadVersion, this.offset + 4, `unsupported pcap version ${major}.${minor} (expected 2.x)`);
    const snaplen = rd32(b, pos + 16, le);
    const linkType = rd32(b, pos + 20, le) & 0xffff;
    const tsresol = this.nanosecond ? 9 : TSRESOL_MICRO;
    this.interfaces = [{ linkType, snaplen, tsresol, tsoffset: 0n }];
    this.conv = [];
    this.section = 0;
    this.state = State.PcapRecord;
    this.offset += PCAP_HEADER_LEN;
    return PCAP_HEADER_LEN;
  }

  private pcapRecord(b: Uint8Array, pos: number, avail: number, eof: boolean): number {
    if (avail === 0 && eof) return -1;
    if (avail < PCAP_RECORD_HEADER_LEN) return this.short(PCAP_RECORD_HEADER_LEN, avail, eof, 'record header');
    const le = this.littleEndian;
    const incl = rd32(b, pos + 8, le);
    const orig = rd32(b, pos + 12, le);
    const iface = this.interfaces[0]!;
    const limit = iface.snaplen === 0 ? MAX_SNAPLEN : iface.snaplen;
    if (incl > orig) {
      throw this.err(CaptureErrorCode.BadLength, this.offset + 8, `record captured length ${incl} exceeds original length ${orig}`);
    }
    if (incl > limit) {
      throw this.err(CaptureErrorCode.BadLength, this.offset + 8, `record length ${incl} exceeds snaplen ${limit}`);
    }
    if (incl > MAX_BLOCK_LEN) {
      throw this.err(CaptureErrorCode.BadLength, this.offset + 8, `record length ${incl} exceeds the ${MAX_BLOCK_LEN}-byte limit`);
    }
    const total = PCAP_RECORD_HEADER_LEN + incl;
    if (avail < total) return this.short(total, avail, eof, 'record');
    const sec = rd32(b, pos, le);
    const frac = rd32(b, pos + 4, le);
    this.frame = {
      data: b.subarray(pos + PCAP_RECORD_HEADER_LEN, pos + total),
      origLen: orig,
      timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(this.nanosecond ? frac : frac * 1000),
      interfaceId: 0,
      linkType: iface.linkType,
    };
    this.offset += total;
    return total;
  }

  private block(b: Uint8Array, pos: number, avail: number, eof: boolean): number {
    if (avail === 0 && eof) return -1;
    if (avail < 8) return this.short(avail >= 4 && rd32(b, pos, false) === BlockType.SectionHeader ? 12 : 8, avail, eof, 'block header');
    let le = this.littleEndian;
    const typeBE = rd32(b, pos, false);
    const isShb = typeBE === BlockType.SectionHeader;
    if (isShb) {
      if (avail < 12) return this.short(12, avail, eof, 'section header block');
      const bom = rd32(b, pos + 8, false);
      if (bom === BYTE_ORDER_MAGIC) le = false;
      else if (bom === 0x4d3c2b1a) le = true;
      else throw this.err(CaptureErrorCode.BadMagic, this.offset + 8, `bad byte-order magic ${hex32(bom)} in section header block`);
    }
    const type = isShb ? typeBE : rd32(b, pos, le);
    const len = rd32(b, pos + 4, le);
    const min = isShb ? MinBlockLen.SectionHeader : MinBlockLen.Any;
    if (len < min) throw this.err(CaptureErrorCode.BadLength, this.offset + 4, `block total length ${len} too small (minimum ${min})`);
    if (len % 4 !== 0) throw this.err(CaptureErrorCode.BadLength, this.offset + 4, `block total length ${len} is not a multiple of 4`);
    if (len > MAX_BLOCK_LEN) throw this.err(CaptureErrorCode.BadLength, this.offset + 4, `block total length ${len} exceeds the ${MAX_BLOCK_LEN}-byte limit`);
    if (avail < len) return this.short(len, avail, eof, `block (type ${hex32(type)})`);
    const trail = rd32(b, pos + len - 4, le);
    if (trail !== len) {
      throw this.err(CaptureErrorCode.BadLength, this.offset + len - 4, `trailing block length ${trail} does not match leading length ${len}`);
    }
    switch (type) {
      case BlockType.SectionHeader:
        this.sectionHeader(b, pos, le);
        break;
      case BlockType.InterfaceDescription:
        this.interfaceDescription(b, pos, len, le);
        break;
      case BlockType.EnhancedPacket:
        this.packet(b, pos, len, le, false);
        break;
      case BlockType.ObsoletePacket:
        this.packet(b, pos, len, le, true);
        break;
      case BlockType.SimplePacket:
        this.simplePacket(b, pos, len, le);
        break;
      default:
        break; // unknown or uninteresting block: skipped whole
    }
    this.offset += len;
    return len;
  }

  private sectionHeader(b: Uint8Array, pos: number, le: boolean): void {
    const major = rd16(b, pos + 12, le);
    const minor = rd16(b, pos + 14, le);
    if (major !== 1) throw this.err(CaptureErrorCode.BadVersion, this.offset + 12, `unsupported pcapng version ${major}.${minor} (expected 1.x)`);
    this.littleEndian = le;
    this.section++;
    this.interfaces = [];
    this.conv = [];
  }

  private interfaceDescription(b: Uint8Array, pos: number, len: number, le: boolean): void {
    if (len < MinBlockLen.InterfaceDescription) {
      throw this.err(CaptureErrorCode.BadLength, this.offset + 4, `interface description block length ${len} too small (minimum ${MinBlockLen.InterfaceDescription})`);
    }
    const iface: CaptureInterface = { linkType: rd16(b, pos + 8, le), snaplen: rd32(b, pos + 12, le), tsresol: TSRESOL_MICRO, tsoffset: 0n };
    const end = pos + len - 4;
    let o = pos + 16;
    while (o + 4 <= end) {
      const code = rd16(b, o, le);
      const olen = rd16(b, o + 2, le);
      if (code === OptionCode.EndOfOpt) break;
      if (o + 4 + olen > end) {
        throw this.err(CaptureErrorCode.BadLength, this.offset + (o - pos), `option ${code} length ${olen} overruns its block`);
      }
      const v = o + 4;
      if (code === OptionCode.IfName) iface.name = decoder.decode(b.subarray(v, v + olen));
      else if (code === OptionCode.IfTsresol && olen >= 1) iface.tsresol = b[v]!;
      else if (code === OptionCode.IfTsoffset && olen >= 8) iface.tsoffset = rdI64(b, v, le);
      o = v + ((olen + 3) & ~3);
    }
    this.interfaces.push(iface);
    this.conv.push(tsConv(iface.tsresol, iface.tsoffset));
  }

  private packet(b: Uint8Array, pos: number, len: number, le: boolean, obsolete: boolean): void {
    const min = obsolete ? MinBlockLen.ObsoletePacket : MinBlockLen.EnhancedPacket;
    const what = obsolete ? 'packet block' : 'enhanced packet block';
    if (len < min) throw this.err(CaptureErrorCode.BadLength, this.offset + 4, `${what} length ${len} too small (minimum ${min})`);
    const ifid = obsolete ? rd16(b, pos + 8, le) : rd32(b, pos + 8, le);
    const iface = this.interfaces[ifid];
    if (iface === undefined) {
      throw this.err(CaptureErrorCode.BadValue, this.offset + 8, `${what} names interface ${ifid}, but the section defines ${this.interfaces.length}`);
    }
    const cap = rd32(b, pos + 20, le);
    const orig = rd32(b, pos + 24, le);
    if (cap > len - min) throw this.err(CaptureErrorCode.BadLength, this.offset + 20, `captured length ${cap} exceeds the block body (${len - min} bytes)`);
    if (cap > orig) throw this.err(CaptureErrorCode.BadLength, this.offset + 20, `captured length ${cap} exceeds original length ${orig}`);
    if (iface.snaplen !== 0 && cap > iface.snaplen) {
      throw this.err(CaptureErrorCode.BadLength, this.offset + 20, `captured length ${cap} exceeds interface ${ifid} snaplen ${iface.snaplen}`);
    }
    const units = (BigInt(rd32(b, pos + 12, le)) << 32n) | BigInt(rd32(b, pos + 16, le));
    const c = this.conv[ifid]!;
    this.frame = {
      data: b.subarray(pos + 28, pos + 28 + cap),
      origLen: orig,
      timestampNs: (((units * c.mul) / c.div) >> c.shift) + c.offsetNs,
      interfaceId: ifid,
      linkType: iface.linkType,
    };
  }

  private simplePacket(b: Uint8Array, pos: number, len: number, le: boolean): void {
    const iface = this.interfaces[0];
    if (iface === undefined) throw this.err(CaptureErrorCode.BadValue, this.offset, 'simple packet block before any interface description block');
    const orig = rd32(b, pos + 8, le);
    let cap = Math.min(orig, len - MinBlockLen.SimplePacket);
    if (iface.snaplen !== 0) cap = Math.min(cap, iface.snaplen);
    this.frame = { data: b.subarray(pos + 12, pos + 12 + cap), origLen: orig, timestampNs: 0n, interfaceId: 0, linkType: iface.linkType };
  }
}
