/**
 * Multicast Listener Discovery, MLDv1 (RFC 2710) and MLDv2 (RFC 3810). MLD messages are ICMPv6
 * messages (types 130, 131, 132, 143); this codec starts at the ICMPv6 header and its checksum
 * goes through the ICMPv6 helpers (`fillIcmpv6Checksum`, `verifyIcmpv6Checksum`).
 *
 * The query version follows RFC 3810 section 8.1: "MLDv1 Query: length = 24 octets; MLDv2
 * Query: length >= 28 octets. Query messages that do not match any of the above conditions
 * (e.g., a Query Message of length 26 octets) MUST be silently ignored", which is `BadLength`
 * here. Bytes after the declared sources or records are ignored (RFC 3810 section 5.1.12).
 */
import { ipv6FromBytes, ipv6ToBytes } from './addr.js';
import { u16, u8, setU16, setU8 } from './bytes.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';
import { fillIcmpv6Checksum, Icmpv6Type } from './icmpv6.js';

/** MLD message types (the ICMPv6 type byte). */
export const MldType = {
  Query: Icmpv6Type.MldQuery,
  ReportV1: Icmpv6Type.MldReport,
  Done: Icmpv6Type.MldDone,
  ReportV2: Icmpv6Type.MldV2Report,
} as const;

/** MLDv2 multicast address record types (RFC 3810 section 5.2.12). */
export const MldRecordType = {
  ModeIsInclude: 1,
  ModeIsExclude: 2,
  ChangeToInclude: 3,
  ChangeToExclude: 4,
  AllowNewSources: 5,
  BlockOldSources: 6,
} as const;

/** Byte offsets inside an MLD message. */
export const MldOffsets = {
  type: 0,
  code: 1,
  checksum: 2,
  /** Query: maximum response code (v2) / delay (v1), in milliseconds. */
  maxResp: 4,
  /** Query, v1 report, done: the multicast address. */
  group: 8,
  /** v2 query: Resv(4) S(1) QRV(3). */
  sqrv: 24,
  /** v2 query: querier's query interval code. */
  qqic: 25,
  /** v2 query: number of sources. */
  numSources: 26,
  /** v2 query: first source address. */
  sources: 28,
  /** v2 report: number of multicast address records. */
  numRecords: 6,
  /** v2 report: first record. */
  records: 8,
} as const;

/** Length of an MLDv1 message (query, report, done). */
export const MLD_V1_LEN = 24;
/** Minimum length of an MLDv2 query. */
export const MLD_V2_QUERY_MIN_LEN = 28;
/** Length of an MLDv2 report header before its records. */
export const MLD_V2_REPORT_HEADER_LEN = 8;
/** Length of a multicast address record before its sources. */
export const MLD_RECORD_HEADER_LEN = 20;

/**
 * Walk the MLDv2 report records in `[off, end)` (`count` of them): `Ok`, or `Truncated` when the
 * records run past `end`. Allocation-free.
 */
function checkRecords(buf: Uint8Array, off: number, end: number, count: number): WireErrorCode {
  let p = off;
  for (let i = 0; i < count; i++) {
    if (p + MLD_RECORD_HEADER_LEN > end) return WireErrorCode.Truncated;
    p += MLD_RECORD_HEADER_LEN + buf[p + 1]! * 4 + u16(buf, p + 2) * 16;
    if (p > end) return WireErrorCode.Truncated;
  }
  return WireErrorCode.Ok;
}

const EMPTY = new Uint8Array(0);

/** A reusable view over an MLD message; call `check()` before `reset()`. */
export class MldView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /**
   * `Ok` if `len` bytes at `off` hold a whole MLD message: `Truncated` when bytes run out,
   * `BadLength` for a query of 25–27 bytes, `BadValue` for a type that is not MLD.
   */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('MldView.check', buf, off, len);
    if (len < 4) return WireErrorCode.Truncated;
    const t = buf[off]!;
    switch (t) {
      case MldType.Query: {
        if (len < MLD_V1_LEN) return WireErrorCode.Truncated;
        if (len === MLD_V1_LEN) return WireErrorCode.Ok;
        if (len < MLD_V2_QUERY_MIN_LEN) return WireErrorCode.BadLength;
        return len < MLD_V2_QUERY_MIN_LEN + u16(buf, off + MldOffsets.numSources) * 16 ? WireErrorCode.Truncated : WireErrorCode.Ok;
      }
      case MldType.ReportV1:
      case MldType.Done:
        return len < MLD_V1_LEN ? WireErrorCode.Truncated : WireErrorCode.Ok;
      case MldType.ReportV2:
        if (len < MLD_V2_REPORT_HEADER_LEN) return WireErrorCode.Truncated;
        return checkRecords(buf, off + MLD_V2_REPORT_HEADER_LEN, off + len, u16(buf, off + MldOffsets.numRecords));
      default:
        return WireErrorCode.BadValue;
    }
  }

  /** Point the view at a message (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** ICMPv6 type (130, 131, 132 or 143). */
  get type(): number {
    return u8(this.buf, this.off);
  }
  set type(v: number) {
    setU8(this.buf, this.off, v);
  }
  /** ICMPv6 code (0). */
  get code(): number {
    return u8(this.buf, this.off + MldOffsets.code);
  }
  set code(v: number) {
    setU8(this.buf, this.off + MldOffsets.code, v);
  }
  /** Checksum as stored. */
  get checksum(): number {
    return u16(this.buf, this.off + MldOffsets.checksum);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + MldOffsets.checksum, v);
  }
  /** True for an MLDv2 query (length >= 28). */
  get isV2Query(): boolean {
    return this.type === MldType.Query && this.len >= MLD_V2_QUERY_MIN_LEN;
  }
  /** Query: Maximum Response Code (v2) or Maximum Response Delay (v1). */
  get maxRespCode(): number {
    return u16(this.buf, this.off + MldOffsets.maxResp);
  }
  set maxRespCode(v: number) {
    setU16(this.buf, this.off + MldOffsets.maxResp, v);
  }
  /** Query / v1 report / done: offset in `buf` of the multicast address. */
  get groupOffset(): number {
    return this.off + MldOffsets.group;
  }
  /** Query / v1 report / done: the multicast address (allocates a bigint: control plane only). */
  get group(): bigint {
    return ipv6FromBytes(this.buf, this.groupOffset);
  }
  set group(a: bigint) {
    ipv6ToBytes(a, this.buf, this.groupOffset);
  }
  /** v2 query: suppress router-side processing flag. */
  get suppress(): boolean {
    return (this.buf[this.off + MldOffsets.sqrv]! & 0x08) !== 0;
  }
  set suppress(v: boolean) {
    const o = this.off + MldOffsets.sqrv;
    this.buf[o] = (this.buf[o]! & ~0x08) | (v ? 0x08 : 0);
  }
  /** v2 query: querier's robustness variable. */
  get qrv(): number {
    return this.buf[this.off + MldOffsets.sqrv]! & 0x07;
  }
  set qrv(v: number) {
    const o = this.off + MldOffsets.sqrv;
    this.buf[o] = (this.buf[o]! & ~0x07) | (v & 7);
  }
  /** v2 query: querier's query interval code. */
  get qqic(): number {
    return u8(this.buf, this.off + MldOffsets.qqic);
  }
  set qqic(v: number) {
    setU8(this.buf, this.off + MldOffsets.qqic, v);
  }
  /** v2 query: number of sources. */
  get numSources(): number {
    return u16(this.buf, this.off + MldOffsets.numSources);
  }
  set numSources(v: number) {
    setU16(this.buf, this.off + MldOffsets.numSources, v);
  }
  /** v2 query: offset in `buf` of source `i`. */
  sourceOffset(i: number): number {
    return this.off + MldOffsets.sources + 16 * i;
  }
  /** v2 report: number of multicast address records. */
  get numRecords(): number {
    return u16(this.buf, this.off + MldOffsets.numRecords);
  }
  set numRecords(v: number) {
    setU16(this.buf, this.off + MldOffsets.numRecords, v);
  }
  /** v2 report: offset in `buf` of the first record (each is 20 + 4·auxLen + 16·sources bytes). */
  get recordsOffset(): number {
    return this.off + MldOffsets.records;
  }
}

/**
 * The MLDv2 Maximum Response Delay in milliseconds for a Maximum Response Code (RFC 3810
 * section 5.1.3: codes from 32768 use a 3-bit exponent and 12-bit mantissa).
 */
export function mldMaxRespDelay(code: number): number {
  if (code < 0x8000) return code;
  const exp = (code >>> 12) & 7;
  const mant = code & 0xfff;
  return (mant | 0x1000) * 2 ** (exp + 3);
}

/** An MLDv2 multicast address record. */
export interface MldRecord {
  /** Record type (`MldRecordType`). */
  type: number;
  group: bigint;
  sources: bigint[];
  /** Auxiliary data (a multiple of 4 bytes). */
  auxData: Uint8Array;
}

/** A plain MLD message. The checksum depends on the IPv6 header and is not part of it. */
export type MldRepr =
  | { kind: 'queryV1'; maxRespDelay: number; group: bigint }
  | { kind: 'queryV2'; maxRespCode: number; group: bigint; suppress: boolean; qrv: number; qqic: number; sources: bigint[] }
  | { kind: 'reportV1'; group: bigint }
  | { kind: 'done'; group: bigint }
  | { kind: 'reportV2'; records: MldRecord[] };

const view = new MldView();

/** Parse an MLD message from `len` bytes at `off` (the checksum is not verified: see `verifyIcmpv6Checksum`). */
export function parseMld(buf: Uint8Array, off = 0, len?: number): Result<MldRepr> {
  len = checkSpan('parseMld', buf, off, len);
  const code = MldView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('mld', code, off);
  const v = view.reset(buf, off, len);
  switch (v.type) {
    case MldType.Query: {
      if (!v.isV2Query) return ok({ kind: 'queryV1', maxRespDelay: v.maxRespCode, group: v.group });
      const sources: bigint[] = [];
      for (let i = 0; i < v.numSources; i++) sources.push(ipv6FromBytes(buf, v.sourceOffset(i)));
      return ok({ kind: 'queryV2', maxRespCode: v.maxRespCode, group: v.group, suppress: v.suppress, qrv: v.qrv, qqic: v.qqic, sources });
    }
    case MldType.ReportV1:
      return ok({ kind: 'reportV1', group: v.group });
    case MldType.Done:
      return ok({ kind: 'done', group: v.group });
    default: {
      const records: MldRecord[] = [];
      let p = v.recordsOffset;
      for (let i = 0; i < v.numRecords; i++) {
        const aux = buf[p + 1]! * 4;
        const ns = u16(buf, p + 2);
        const sources: bigint[] = [];
        for (let j = 0; j < ns; j++) sources.push(ipv6FromBytes(buf, p + 20 + 16 * j));
        const a = p + 20 + 16 * ns;
        records.push({ type: buf[p]!, group: ipv6FromBytes(buf, p + 4), sources, auxData: buf.slice(a, a + aux) });
        p = a + aux;
      }
      return ok({ kind: 'reportV2', records });
    }
  }
}

/** Bytes `emitMld` writes. */
export function mldLen(r: MldRepr): number {
  switch (r.kind) {
    case 'queryV1':
    case 'reportV1':
    case 'done':
      return MLD_V1_LEN;
    case 'queryV2':
      return MLD_V2_QUERY_MIN_LEN + 16 * r.sources.length;
    case 'reportV2': {
      let n = MLD_V2_REPORT_HEADER_LEN;
      for (const rec of r.records) n += MLD_RECORD_HEADER_LEN + 16 * rec.sources.length + Math.ceil(rec.auxData.length / 4) * 4;
      return n;
    }
  }
}

/**
 * Write the message at `off`; returns the number of bytes written. The checksum is left zero
 * unless `ip6Off` gives the offset in `buf` of an IPv6 header already in place.
 */
export function emitMld(r: MldRepr, buf: Uint8Array, off = 0, ip6Off?: number): number {
  const n = mldLen(r);
  needRoom('mld', buf, off, n);
  buf.fill(0, off, off + n);
  const v = view.reset(buf, off, n);
  switch (r.kind) {
    case 'queryV1':
      v.type = MldType.Query;
      v.maxRespCode = r.maxRespDelay;
      v.group = r.group;
      break;
    case 'reportV1':
    case 'done':
      v.type = r.kind === 'done' ? MldType.Done : MldType.ReportV1;
      v.group = r.group;
      break;
    case 'queryV2':
      v.type = MldType.Query;
      v.maxRespCode = r.maxRespCode;
      v.group = r.group;
      v.suppress = r.suppress;
      v.qrv = r.qrv;
      v.qqic = r.qqic;
      v.numSources = r.sources.length;
      r.sources.forEach((s, i) => ipv6ToBytes(s, buf, v.sourceOffset(i)));
      break;
    case 'reportV2': {
      v.type = MldType.ReportV2;
      v.numRecords = r.records.length;
      let p = v.recordsOffset;
      for (const rec of r.records) {
        const aux = Math.ceil(rec.auxData.length / 4);
        buf[p] = rec.type;
        buf[p + 1] = aux;
        setU16(buf, p + 2, rec.sources.length);
        ipv6ToBytes(rec.group, buf, p + 4);
        p += MLD_RECORD_HEADER_LEN;
        for (const s of rec.sources) {
          ipv6ToBytes(s, buf, p);
          p += 16;
        }
        buf.set(rec.auxData, p);
        p += aux * 4;
      }
      break;
    }
  }
  if (ip6Off !== undefined) fillIcmpv6Checksum(buf, off, n, ip6Off);
  return n;
}

/** One-line summary, as tshark prints it (the message name only). */
export function formatMld(r: MldRepr): string {
  switch (r.kind) {
    case 'queryV1':
    case 'queryV2':
      return 'Multicast Listener Query';
    case 'reportV1':
      return 'Multicast Listener Report';
    case 'done':
      return 'Multicast Listener Done';
    case 'reportV2':
      return 'Multicast Listener Report Message v2';
  }
}
