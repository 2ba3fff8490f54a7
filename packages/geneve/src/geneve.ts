/**
 * Geneve (RFC 8926): an 8-byte base header followed by up to 252 bytes of TLV options, carried
 * over UDP port 6081. The options area is checked once, at the boundary: `GeneveView.check()`
 * proves that the declared options area is present and that the TLVs inside it tile it exactly
 * (RFC 8926 section 3.5: "the option length ... must be a multiple of 4 bytes" and "the total
 * length of all options is given by Opt Len"). After that, `GeneveOptionCursor` walks the TLVs
 * without allocating and without bounds checks of its own.
 *
 * ```
 *  0                   1                   2                   3
 * |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
 * |        Virtual Network Identifier (VNI)       |    Reserved   |
 * |          Option Class         |      Type     |R|R|R| Length  |
 * |                    Variable-Length Option Data                |
 * ```
 */
import { toHex, u16, u24, setU16, setU24 } from '@ovnts/packet';
import { checkSpan, fail, ok, needRoom, ReprError, WireErrorCode, type Result } from '@ovnts/packet';

/** The IANA-assigned UDP destination port for Geneve. */
export const GENEVE_UDP_PORT = 6081;
/** Length of the Geneve base header. */
export const GENEVE_HEADER_LEN = 8;
/** Length of one option's TLV header (class, type, length). */
export const GENEVE_OPTION_HEADER_LEN = 4;
/** The largest options area the 6-bit Opt Len field can declare (63 words). */
export const GENEVE_MAX_OPTIONS_LEN = 252;
/** The largest data of one option the 5-bit Length field can declare (31 words). */
export const GENEVE_MAX_OPTION_DATA_LEN = 124;
/** The type bit that marks an option critical (RFC 8926 section 3.5.1). */
export const GENEVE_CRITICAL_TYPE = 0x80;

/** Protocol Type values we name (an EtherType of the payload). Unknown values pass through. */
export const GeneveProtocol = {
  /** An Ethernet frame (what OVN carries). */
  TransparentEthernetBridging: 0x6558,
  IPv4: 0x0800,
  IPv6: 0x86dd,
} as const;

/** Byte offsets inside the Geneve base header. */
export const GeneveOffsets = { verOptLen: 0, flags: 1, protocolType: 2, vni: 4, reserved: 7, options: 8 } as const;
/** Byte offsets inside one option TLV. */
export const GeneveOptionOffsets = { optClass: 0, type: 2, length: 3, data: 4 } as const;

const EMPTY = new Uint8Array(0);

/** Byte offset of the last error `checkGeneveAt` found (module state; no allocation). */
let lastErrorOffset = 0;

/**
 * As `GeneveView.check`, and also remembers the offset of the problem for `geneveErrorOffset()`.
 * Used by the parser and by decapsulation to report where a header is bad.
 */
export function checkGeneveAt(buf: Uint8Array, off: number, len: number): WireErrorCode {
  checkSpan('checkGeneveAt', buf, off, len);
  return geneveCheck(buf, off, len);
}

/** `checkGeneveAt` on a span the caller has validated. */
function geneveCheck(buf: Uint8Array, off: number, len: number): WireErrorCode {
  lastErrorOffset = off;
  if (len < GENEVE_HEADER_LEN || off + GENEVE_HEADER_LEN > buf.length) return WireErrorCode.Truncated;
  if (buf[off]! >>> 6 !== 0) return WireErrorCode.BadVersion;
  const optLen = (buf[off]! & 0x3f) * 4;
  if (GENEVE_HEADER_LEN + optLen > len || off + GENEVE_HEADER_LEN + optLen > buf.length) {
    lastErrorOffset = off + GENEVE_HEADER_LEN;
    return WireErrorCode.Truncated;
  }
  // Every option is a whole number of words and so is the area: a TLV header always fits when
  // any bytes remain, and the only failure is data running past the end.
  let p = off + GENEVE_HEADER_LEN;
  const end = p + optLen;
  while (p < end) {
    const next = p + GENEVE_OPTION_HEADER_LEN + (buf[p + 3]! & 0x1f) * 4;
    if (next > end) {
      lastErrorOffset = p;
      return WireErrorCode.BadOption;
    }
    p = next;
  }
  return WireErrorCode.Ok;
}

/** The byte offset of the problem the last failing `checkGeneveAt`/`GeneveView.check` found. */
export function geneveErrorOffset(): number {
  return lastErrorOffset;
}

/** A reusable view over a Geneve header and its options; call `check()` before `reset()`. */
export class GeneveView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /**
   * `Ok` if `len` bytes at `off` hold a version-0 header whose options area is present
   * (`Truncated` otherwise) and is exactly filled by its TLVs (`BadOption` otherwise).
   */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('GeneveView.check', buf, off, len);
    return geneveCheck(buf, off, len);
  }

  /** Point the view at a new header (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Version (2 bits; only 0 is defined). */
  get version(): number {
    return this.buf[this.off]! >>> 6;
  }
  set version(v: number) {
    this.buf[this.off] = ((v & 3) << 6) | (this.buf[this.off]! & 0x3f);
  }
  /** Opt Len: the options area in 4-byte words (6 bits). */
  get optLenWords(): number {
    return this.buf[this.off]! & 0x3f;
  }
  set optLenWords(v: number) {
    this.buf[this.off] = (this.buf[this.off]! & 0xc0) | (v & 0x3f);
  }
  /** The options area in bytes. */
  get optionsLength(): number {
    return (this.buf[this.off]! & 0x3f) * 4;
  }
  /** O bit: an OAM (control) packet. */
  get oam(): boolean {
    return (this.buf[this.off + 1]! & 0x80) !== 0;
  }
  set oam(v: boolean) {
    this.buf[this.off + 1] = v ? this.buf[this.off + 1]! | 0x80 : this.buf[this.off + 1]! & 0x7f;
  }
  /** C bit: critical options are present. */
  get critical(): boolean {
    return (this.buf[this.off + 1]! & 0x40) !== 0;
  }
  set critical(v: boolean) {
    this.buf[this.off + 1] = v ? this.buf[this.off + 1]! | 0x40 : this.buf[this.off + 1]! & 0xbf;
  }
  /** The 6 reserved bits after O and C (zero on transmit, ignored on receipt). */
  get reservedFlags(): number {
    return this.buf[this.off + 1]! & 0x3f;
  }
  set reservedFlags(v: number) {
    this.buf[this.off + 1] = (this.buf[this.off + 1]! & 0xc0) | (v & 0x3f);
  }
  /** Protocol Type: the EtherType of the payload (`GeneveProtocol`). */
  get protocolType(): number {
    return u16(this.buf, this.off + GeneveOffsets.protocolType);
  }
  set protocolType(v: number) {
    setU16(this.buf, this.off + GeneveOffsets.protocolType, v);
  }
  /** Virtual Network Identifier (24 bits). */
  get vni(): number {
    return u24(this.buf, this.off + GeneveOffsets.vni);
  }
  set vni(v: number) {
    setU24(this.buf, this.off + GeneveOffsets.vni, v);
  }
  /** The reserved byte after the VNI. */
  get reserved(): number {
    return this.buf[this.off + GeneveOffsets.reserved]!;
  }
  set reserved(v: number) {
    this.buf[this.off + GeneveOffsets.reserved] = v & 0xff;
  }
  /** Offset of the options area in `buf`. */
  get optionsOffset(): number {
    return this.off + GENEVE_HEADER_LEN;
  }
  /** Header length including options. */
  get headerLength(): number {
    return GENEVE_HEADER_LEN + this.optionsLength;
  }
  /** Offset of the payload (the inner frame) in `buf`. */
  get payloadOffset(): number {
    return this.off + this.headerLength;
  }
  /** Length of the payload. */
  get payloadLength(): number {
    return this.len - this.headerLength;
  }
}

/**
 * An allocation-free walk over the TLVs of an options area that `GeneveView.check()` (or
 * `checkGeneveOptions()`) has accepted: `reset()` once, then `while (c.next()) { ... }`.
 * Should the area be malformed anyway, `next()` stops and `error` holds `BadOption`.
 */
export class GeneveOptionCursor {
  buf: Uint8Array = EMPTY;
  /** Offset of the next TLV to visit. */
  pos = 0;
  /** End of the options area. */
  end = 0;
  /** Offset of the current TLV (its class field). */
  offset = 0;
  /** Option Class of the current TLV. */
  optClass = 0;
  /** Type of the current TLV (including the critical bit). */
  type = 0;
  /** True if the current TLV's type has its high (critical) bit set. */
  critical = false;
  /** Offset of the current TLV's data in `buf`. */
  dataOffset = 0;
  /** Length of the current TLV's data in bytes (a multiple of 4). */
  dataLength = 0;
  /** `Ok`, or `BadOption` once a TLV ran past the end of the area. */
  error: WireErrorCode = WireErrorCode.Ok;

  /** Start a walk over the options area `buf[off, off + len)`. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = off + len;
    this.error = WireErrorCode.Ok;
    return this;
  }

  /** Start a walk over the options of a checked header view. */
  over(v: GeneveView): this {
    return this.reset(v.buf, v.optionsOffset, v.optionsLength);
  }

  /** Advance to the next TLV; false at the end of the area or on a malformed TLV. */
  next(): boolean {
    const p = this.pos;
    if (p >= this.end) return false;
    if (p + GENEVE_OPTION_HEADER_LEN > this.end) {
      this.error = WireErrorCode.BadOption;
      this.pos = this.end;
      return false;
    }
    const b = this.buf;
    const dataLength = (b[p + 3]! & 0x1f) * 4;
    if (p + GENEVE_OPTION_HEADER_LEN + dataLength > this.end) {
      this.error = WireErrorCode.BadOption;
      this.pos = this.end;
      return false;
    }
    this.offset = p;
    this.optClass = (b[p]! << 8) | b[p + 1]!;
    this.type = b[p + 2]!;
    this.critical = (this.type & GENEVE_CRITICAL_TYPE) !== 0;
    this.dataOffset = p + GENEVE_OPTION_HEADER_LEN;
    this.dataLength = dataLength;
    this.pos = this.dataOffset + dataLength;
    return true;
  }
}

/**
 * `Ok` if the TLVs in `buf[off, off + len)` tile it exactly (`BadOption` otherwise); `len` must
 * be a multiple of 4 (`BadLength` otherwise).
 */
export function checkGeneveOptions(buf: Uint8Array, off: number, len: number): WireErrorCode {
  checkSpan('checkGeneveOptions', buf, off, len);
  if (len % 4 !== 0) return WireErrorCode.BadLength;
  let p = off;
  const end = off + len;
  while (p < end) {
    p += GENEVE_OPTION_HEADER_LEN + (buf[p + 3]! & 0x1f) * 4;
    if (p > end) return WireErrorCode.BadOption;
  }
  return WireErrorCode.Ok;
}

/**
 * The offset of the first TLV with `optClass` and `type` in the (checked) options area
 * `buf[off, off + len)`, or -1 if there is none. Allocation-free.
 */
export function findGeneveOption(buf: Uint8Array, off: number, len: number, optClass: number, type: number): number {
  checkSpan('findGeneveOption', buf, off, len);
  const end = off + len;
  let p = off;
  while (p + GENEVE_OPTION_HEADER_LEN <= end) {
    if (((buf[p]! << 8) | buf[p + 1]!) === optClass && buf[p + 2] === type) return p;
    p += GENEVE_OPTION_HEADER_LEN + (buf[p + 3]! & 0x1f) * 4;
  }
  return -1;
}

/** True if any TLV in the (checked) options area has the critical type bit set. */
export function hasCriticalGeneveOption(buf: Uint8Array, off: number, len: number): boolean {
  checkSpan('hasCriticalGeneveOption', buf, off, len);
  const end = off + len;
  let p = off;
  while (p + GENEVE_OPTION_HEADER_LEN <= end) {
    if ((buf[p + 2]! & GENEVE_CRITICAL_TYPE) !== 0) return true;
    p += GENEVE_OPTION_HEADER_LEN + (buf[p + 3]! & 0x1f) * 4;
  }
  return false;
}

/** One Geneve option: class, type (critical bit included) and data (a multiple of 4 bytes). */
export interface GeneveOption {
  optClass: number;
  type: number;
  data: Uint8Array;
}

/** A plain Geneve header (version 0; reserved fields are dropped and emitted as zero). */
export interface GeneveRepr {
  /** O bit. */
  oam: boolean;
  /** C bit. */
  critical: boolean;
  protocolType: number;
  vni: number;
  options: GeneveOption[];
}

/** Build an option, checking what the wire can carry (`ReprError` otherwise). */
export function geneveOption(optClass: number, type: number, data: Uint8Array): GeneveOption {
  validateOption({ optClass, type, data });
  return { optClass, type, data };
}

/**
 * Build a header `Repr`: protocol defaults to Ethernet, and the C bit is set exactly when an
 * option is critical (as OVS sets it).
 */
export function geneveRepr(vni: number, options: GeneveOption[] = [], init: { oam?: boolean; protocolType?: number } = {}): GeneveRepr {
  return {
    oam: init.oam ?? false,
    critical: options.some((o) => (o.type & GENEVE_CRITICAL_TYPE) !== 0),
    protocolType: init.protocolType ?? GeneveProtocol.TransparentEthernetBridging,
    vni,
    options,
  };
}

function validateOption(o: GeneveOption): void {
  if (!Number.isInteger(o.optClass) || o.optClass < 0 || o.optClass > 0xffff) {
    throw new ReprError('geneve', `option class ${o.optClass} is not a 16-bit value`);
  }
  if (!Number.isInteger(o.type) || o.type < 0 || o.type > 0xff) {
    throw new ReprError('geneve', `option type ${o.type} is not an 8-bit value`);
  }
  if (o.data.length % 4 !== 0 || o.data.length > GENEVE_MAX_OPTION_DATA_LEN) {
    throw new ReprError('geneve', `option data of ${o.data.length} bytes is not a multiple of 4 up to ${GENEVE_MAX_OPTION_DATA_LEN}`);
  }
}

/** Bytes the options of `options` take on the wire. */
export function geneveOptionsLen(options: readonly GeneveOption[]): number {
  let n = 0;
  for (const o of options) n += GENEVE_OPTION_HEADER_LEN + o.data.length;
  return n;
}

/** Write TLVs at `off`; returns the number of bytes written. */
export function emitGeneveOptions(options: readonly GeneveOption[], buf: Uint8Array, off = 0): number {
  const n = geneveOptionsLen(options);
  needRoom('geneve', buf, off, n);
  let p = off;
  for (const o of options) {
    validateOption(o);
    setU16(buf, p, o.optClass);
    buf[p + 2] = o.type;
    buf[p + 3] = o.data.length / 4;
    buf.set(o.data, p + GENEVE_OPTION_HEADER_LEN);
    p += GENEVE_OPTION_HEADER_LEN + o.data.length;
  }
  return n;
}

const view = new GeneveView();
const cursor = new GeneveOptionCursor();

/** Parse a Geneve header and its options from `len` bytes at `off` (option data is copied). */
export function parseGeneve(buf: Uint8Array, off = 0, len?: number): Result<GeneveRepr> {
  len = checkSpan('parseGeneve', buf, off, len);
  const code = geneveCheck(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('geneve', code, lastErrorOffset);
  const v = view.reset(buf, off, len);
  const options: GeneveOption[] = [];
  cursor.over(v);
  while (cursor.next()) {
    options.push({
      optClass: cursor.optClass,
      type: cursor.type,
      data: buf.slice(cursor.dataOffset, cursor.dataOffset + cursor.dataLength),
    });
  }
  return ok({ oam: v.oam, critical: v.critical, protocolType: v.protocolType, vni: v.vni, options });
}

/** Bytes `emitGeneve` writes (base header plus options). */
export function geneveLen(r: GeneveRepr): number {
  return GENEVE_HEADER_LEN + geneveOptionsLen(r.options);
}

/** Write the header and options at `off`; returns the number of bytes written. */
export function emitGeneve(r: GeneveRepr, buf: Uint8Array, off = 0): number {
  const optLen = geneveOptionsLen(r.options);
  if (optLen > GENEVE_MAX_OPTIONS_LEN) {
    throw new ReprError('geneve', `options take ${optLen} bytes, more than ${GENEVE_MAX_OPTIONS_LEN}`);
  }
  if (!Number.isInteger(r.vni) || r.vni < 0 || r.vni > 0xffffff) {
    throw new ReprError('geneve', `VNI ${r.vni} is not a 24-bit value`);
  }
  const n = GENEVE_HEADER_LEN + optLen;
  needRoom('geneve', buf, off, n);
  buf[off] = optLen / 4;
  buf[off + 1] = (r.oam ? 0x80 : 0) | (r.critical ? 0x40 : 0);
  setU16(buf, off + GeneveOffsets.protocolType, r.protocolType);
  setU24(buf, off + GeneveOffsets.vni, r.vni);
  buf[off + GeneveOffsets.reserved] = 0;
  emitGeneveOptions(r.options, buf, off + GENEVE_HEADER_LEN);
  return n;
}

/** The name of a protocol type, as tshark prints it. */
function protocolName(p: number): string {
  switch (p) {
    case GeneveProtocol.TransparentEthernetBridging:
      return 'Transparent Ethernet bridging';
    case GeneveProtocol.IPv4:
      return 'IPv4';
    case GeneveProtocol.IPv6:
      return 'IPv6';
    default:
      return `0x${p.toString(16).padStart(4, '0')}`;
  }
}

/** One option as text: `class=0x102,type=0x80,len=4,0x00010002` (OVS `geneve(...)` style). */
export function formatGeneveOption(o: GeneveOption): string {
  return `{class=0x${o.optClass.toString(16)},type=0x${o.type.toString(16)},len=${o.data.length}${o.data.length ? `,0x${toHex(o.data)}` : ''}}`;
}

/** One-line summary, as tshark prints it, followed by the options in OVS style. */
export function formatGeneve(r: GeneveRepr): string {
  const flags = [r.oam ? 'OAM' : '', r.critical ? 'Critical' : ''].filter(Boolean).join(', ');
  const opts = r.options.length ? `, Options: ${r.options.map(formatGeneveOption).join('')}` : '';
  return `Generic Network Virtualization Encapsulation, VNI: 0x${r.vni.toString(16).padStart(6, '0')}, Protocol: ${protocolName(r.protocolType)}${flags ? `, Flags: ${flags}` : ''}${opts}`;
}
