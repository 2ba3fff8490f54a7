/**
 * IGMP v1, v2 and v3 (RFC 1112, RFC 2236, RFC 3376). The codec starts at the IGMP message; its
 * checksum covers the message only (no pseudo-header), so `parseIgmp` verifies it and
 * `emitIgmp` fills it.
 *
 * Query versions follow RFC 3376 section 7.1: "IGMPv1 Query: length = 8 octets AND Max Resp
 * Code field is zero; IGMPv2 Query: length = 8 octets AND Max Resp Code field is non-zero;
 * IGMPv3 Query: length >= 12 octets. Query messages that do not match any of the above
 * conditions (e.g., a Query of length 10 octets) MUST be silently ignored" (`BadLength` here).
 * Octets after the declared sources or records are covered by the checksum but otherwise
 * ignored (RFC 3376 section 4.1.10).
 */
import { formatIpv4 } from './addr.js';
import { u16, u32, u8, setU16, setU32, setU8 } from './bytes.js';
import { internetChecksum } from './checksum.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';

/** IGMP message types. Unknown values pass through as plain numbers. */
export const IgmpType = {
  MembershipQuery: 0x11,
  V1MembershipReport: 0x12,
  V2MembershipReport: 0x16,
  LeaveGroup: 0x17,
  V3MembershipReport: 0x22,
} as const;

/** IGMPv3 group record types (RFC 3376 section 4.2.12). */
export const IgmpRecordType = {
  ModeIsInclude: 1,
  ModeIsExclude: 2,
  ChangeToInclude: 3,
  ChangeToExclude: 4,
  AllowNewSources: 5,
  BlockOldSources: 6,
} as const;

/** IP protocol number of IGMP. */
export const IPPROTO_IGMP = 2;

/** Byte offsets inside an IGMP message. */
export const IgmpOffsets = {
  type: 0,
  maxRespCode: 1,
  checksum: 2,
  group: 4,
  /** v3 query: Resv(4) S(1) QRV(3). */
  sqrv: 8,
  /** v3 query: querier's query interval code. */
  qqic: 9,
  /** v3 query: number of sources. */
  numSources: 10,
  /** v3 query: first source. */
  sources: 12,
  /** v3 report: number of group records. */
  numRecords: 6,
  /** v3 report: first group record. */
  records: 8,
} as const;

/** Length of an IGMPv1/v2 message. */
export const IGMP_V2_LEN = 8;
/** Minimum length of an IGMPv3 query. */
export const IGMP_V3_QUERY_MIN_LEN = 12;
/** Length of an IGMPv3 report header before its records. */
export const IGMP_V3_REPORT_HEADER_LEN = 8;
/** Length of a group record before its sources. */
export const IGMP_RECORD_HEADER_LEN = 8;

const EMPTY = new Uint8Array(0);

/** A reusable view over an IGMP message; call `check()` before `reset()`. */
export class IgmpView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /**
   * `Ok` if `len` bytes at `off` hold a whole IGMP message: `Truncated` when the bytes run out,
   * `BadLength` for a query of 9–11 bytes. The checksum is not checked here (`checksumOk`).
   */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('IgmpView.check', buf, off, len);
    if (len < IGMP_V2_LEN) return WireErrorCode.Truncated;
    const t = buf[off]!;
    if (t === IgmpType.MembershipQuery) {
      if (len === IGMP_V2_LEN) return WireErrorCode.Ok;
      if (len < IGMP_V3_QUERY_MIN_LEN) return WireErrorCode.BadLength;
      return len < IGMP_V3_QUERY_MIN_LEN + 4 * u16(buf, off + IgmpOffsets.numSources) ? WireErrorCode.Truncated : WireErrorCode.Ok;
    }
    if (t === IgmpType.V3MembershipReport) {
      const end = off + len;
      let p = off + IGMP_V3_REPORT_HEADER_LEN;
      const n = u16(buf, off + IgmpOffsets.numRecords);
      for (let i = 0; i < n; i++) {
        if (p + IGMP_RECORD_HEADER_LEN > end) return WireErrorCode.Truncated;
        p += IGMP_RECORD_HEADER_LEN + 4 * buf[p + 1]! + 4 * u16(buf, p + 2);
        if (p > end) return WireErrorCode.Truncated;
      }
    }
    return WireErrorCode.Ok;
  }

  /** Point the view at a message (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Message type. */
  get type(): number {
    return u8(this.buf, this.off);
  }
  set type(v: number) {
    setU8(this.buf, this.off, v);
  }
  /** Max Resp Code (v2: tenths of a second; v3: exponential above 127; v1: unused, 0). */
  get maxRespCode(): number {
    return u8(this.buf, this.off + IgmpOffsets.maxRespCode);
  }
  set maxRespCode(v: number) {
    setU8(this.buf, this.off + IgmpOffsets.maxRespCode, v);
  }
  /** Checksum as stored. */
  get checksum(): number {
    return u16(this.buf, this.off + IgmpOffsets.checksum);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + IgmpOffsets.checksum, v);
  }
  /** Group address (queries, v1/v2 reports, leave). */
  get group(): number {
    return u32(this.buf, this.off + IgmpOffsets.group);
  }
  set group(v: number) {
    setU32(this.buf, this.off + IgmpOffsets.group, v);
  }
  /** The IGMP version of a query by RFC 3376 section 7.1 (1, 2 or 3; 0 if not a query). */
  get queryVersion(): number {
    if (this.type !== IgmpType.MembershipQuery) return 0;
    if (this.len >= IGMP_V3_QUERY_MIN_LEN) return 3;
    return this.maxRespCode === 0 ? 1 : 2;
  }
  /** v3 query: suppress router-side processing flag. */
  get suppress(): boolean {
    return (this.buf[this.off + IgmpOffsets.sqrv]! & 0x08) !== 0;
  }
  set suppress(v: boolean) {
    const o = this.off + IgmpOffsets.sqrv;
    this.buf[o] = (this.buf[o]! & ~0x08) | (v ? 0x08 : 0);
  }
  /** v3 query: querier's robustness variable. */
  get qrv(): number {
    return this.buf[this.off + IgmpOffsets.sqrv]! & 7;
  }
  set qrv(v: number) {
    const o = this.off + IgmpOffsets.sqrv;
    this.buf[o] = (this.buf[o]! & ~7) | (v & 7);
  }
  /** v3 query: querier's query interval code. */
  get qqic(): number {
    return u8(this.buf, this.off + IgmpOffsets.qqic);
  }
  set qqic(v: number) {
    setU8(this.buf, this.off + IgmpOffsets.qqic, v);
  }
  /** v3 query: number of sources. */
  get numSources(): number {
    return u16(this.buf, this.off + IgmpOffsets.numSources);
  }
  set numSources(v: number) {
    setU16(this.buf, this.off + IgmpOffsets.numSources, v);
  }
  /** v3 query: source `i`. */
  source(i: number): number {
    return u32(this.buf, this.off + IgmpOffsets.sources + 4 * i);
  }
  /** v3 report: number of group records. */
  get numRecords(): number {
    return u16(this.buf, this.off + IgmpOffsets.numRecords);
  }
  set numRecords(v: number) {
    setU16(this.buf, this.off + IgmpOffsets.numRecords, v);
  }
  /** v3 report: offset in `buf` of the first record (each 8 + 4·sources + 4·auxLen bytes). */
  get recordsOffset(): number {
    return this.off + IgmpOffsets.records;
  }
  /** True if the checksum over the whole message verifies. */
  get checksumOk(): boolean {
    return internetChecksum(this.buf, this.off, this.len) === 0;
  }
  /** Compute and store the checksum over the whole message. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.buf, this.off, this.len);
  }
}

/** Fill the checksum of the IGMP message at `off` (length `len`); returns it. */
export function fillIgmpChecksum(buf: Uint8Array, off: number, len: number): number {
  setU16(buf, off + IgmpOffsets.checksum, 0);
  const c = internetChecksum(buf, off, len);
  setU16(buf, off + IgmpOffsets.checksum, c);
  return c;
}

/** True if the IGMP message at `off` (length `len`) carries a correct checksum. */
export function verifyIgmpChecksum(buf: Uint8Array, off: number, len: number): boolean {
  return internetChecksum(buf, off, len) === 0;
}

/**
 * The IGMPv3 Max Resp Time / QQI value for an 8-bit code (RFC 3376 sections 4.1.1 and 4.1.7:
 * codes from 128 use a 3-bit exponent and 4-bit mantissa).
 */
export function igmpV3CodeValue(code: number): number {
  if (code < 128) return code;
  return ((code & 0x0f) | 0x10) << (((code >>> 4) & 7) + 3);
}

/** An IGMPv3 group record. */
export interface IgmpRecord {
  /** Record type (`IgmpRecordType`). */
  type: number;
  group: number;
  sources: number[];
  /** Auxiliary data (a multiple of 4 bytes). */
  auxData: Uint8Array;
}

/** A plain IGMP message. */
export type IgmpRepr =
  | { kind: 'queryV1'; group: number }
  | {
      kind: 'queryV2';
      /** Max Resp Time in tenths of a second (non-zero, else the query is v1). */
      maxRespTime: number;
      group: number;
    }
  | { kind: 'queryV3'; maxRespCode: number; group: number; suppress: boolean; qrv: number; qqic: number; sources: number[] }
  | { kind: 'reportV1'; group: number }
  | { kind: 'reportV2'; group: number }
  | { kind: 'leave'; group: number }
  | { kind: 'reportV3'; records: IgmpRecord[] }
  /** Any other type (DVMRP, mtrace, ...): the second byte and the bytes after the checksum. */
  | { kind: 'raw'; type: number; code: number; body: Uint8Array };

const view = new IgmpView();

/** Parse an IGMP message from `len` bytes at `off`, verifying its checksum (`BadChecksum`). */
export function parseIgmp(buf: Uint8Array, off = 0, len?: number): Result<IgmpRepr> {
  len = checkSpan('parseIgmp', buf, off, len);
  const code = IgmpView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('igmp', code, off);
  const v = view.reset(buf, off, len);
  if (!v.checksumOk) return fail('igmp', WireErrorCode.BadChecksum, off + IgmpOffsets.checksum);
  switch (v.type) {
    case IgmpType.MembershipQuery: {
      const ver = v.queryVersion;
      if (ver === 1) return ok({ kind: 'queryV1', group: v.group });
      if (ver === 2) return ok({ kind: 'queryV2', maxRespTime: v.maxRespCode, group: v.group });
      const sources: number[] = [];
      for (let i = 0; i < v.numSources; i++) sources.push(v.source(i));
      return ok({ kind: 'queryV3', maxRespCode: v.maxRespCode, group: v.group, suppress: v.suppress, qrv: v.qrv, qqic: v.qqic, sources });
    }
    case IgmpType.V1MembershipReport:
      return ok({ kind: 'reportV1', group: v.group });
    case IgmpType.V2MembershipReport:
      return ok({ kind: 'reportV2', group: v.group });
    case IgmpType.LeaveGroup:
      return ok({ kind: 'leave', group: v.group });
    case IgmpType.V3MembershipReport: {
      const records: IgmpRecord[] = [];
      let p = v.recordsOffset;
      for (let i = 0; i < v.numRecords; i++) {
        const ns = u16(buf, p + 2);
        const sources: number[] = [];
        for (let j = 0; j < ns; j++) sources.push(u32(buf, p + 8 + 4 * j));
        const a = p + 8 + 4 * ns;
        const aux = 4 * buf[p + 1]!;
        records.push({ type: buf[p]!, group: u32(buf, p + 4), sources, auxData: buf.slice(a, a + aux) });
        p = a + aux;
      }
      return ok({ kind: 'reportV3', records });
    }
    default:
      return ok({ kind: 'raw', type: v.type, code: v.maxRespCode, body: buf.slice(off + 4, off + len) });
  }
}

/** Bytes `emitIgmp` writes (auxiliary data is padded to a multiple of 4). */
export function igmpLen(r: IgmpRepr): number {
  switch (r.kind) {
    case 'queryV3':
      return IGMP_V3_QUERY_MIN_LEN + 4 * r.sources.length;
    case 'reportV3': {
      let n = IGMP_V3_REPORT_HEADER_LEN;
      for (const rec of r.records) n += IGMP_RECORD_HEADER_LEN + 4 * rec.sources.length + Math.ceil(rec.auxData.length / 4) * 4;
      return n;
    }
    case 'raw':
      return Math.max(IGMP_V2_LEN, 4 + r.body.length);
    default:
      return IGMP_V2_LEN;
  }
}

/** Write the message at `off` with its checksum; returns the number of bytes written. */
export function emitIgmp(r: IgmpRepr, buf: Uint8Array, off = 0): number {
  const n = igmpLen(r);
  needRoom('igmp', buf, off, n);
  buf.fill(0, off, off + n);
  const v = view.reset(buf, off, n);
  switch (r.kind) {
    case 'queryV1':
      v.type = IgmpType.MembershipQuery;
      v.group = r.group;
      break;
    case 'queryV2':
      v.type = IgmpType.MembershipQuery;
      v.maxRespCode = r.maxRespTime;
      v.group = r.group;
      break;
    case 'queryV3':
      v.type = IgmpType.MembershipQuery;
      v.maxRespCode = r.maxRespCode;
      v.group = r.group;
      v.suppress = r.suppress;
      v.qrv = r.qrv;
      v.qqic = r.qqic;
      v.numSources = r.sources.length;
      r.sources.forEach((s, i) => setU32(buf, off + IgmpOffsets.sources + 4 * i, s));
      break;
    case 'reportV1':
    case 'reportV2':
    case 'leave':
      v.type = r.kind === 'reportV1' ? IgmpType.V1MembershipReport : r.kind === 'reportV2' ? IgmpType.V2MembershipReport : IgmpType.LeaveGroup;
      v.group = r.group;
      break;
    case 'reportV3': {
      v.type = IgmpType.V3MembershipReport;
      v.numRecords = r.records.length;
      let p = v.recordsOffset;
      for (const rec of r.records) {
        const aux = Math.ceil(rec.auxData.length / 4);
        buf[p] = rec.type;
        buf[p + 1] = aux;
        setU16(buf, p + 2, rec.sources.length);
        setU32(buf, p + 4, rec.group);
        p += IGMP_RECORD_HEADER_LEN;
        for (const s of rec.sources) {
          setU32(buf, p, s);
          p += 4;
        }
        buf.set(rec.auxData, p);
        p += 4 * aux;
      }
      break;
    }
    case 'raw':
      v.type = r.type;
      v.maxRespCode = r.code;
      buf.set(r.body, off + 4);
      break;
  }
  v.fillChecksum();
  return n;
}

function recordText(x: IgmpRecord): string {
  const g = formatIpv4(x.group);
  const exclude = x.type === IgmpRecordType.ModeIsExclude || x.type === IgmpRecordType.ChangeToExclude;
  if (x.sources.length === 0) return exclude ? `Join group ${g} for any sources` : `Leave group ${g}`;
  const src = `{${x.sources.map(formatIpv4).join(', ')}}`;
  const leave = exclude || x.type === IgmpRecordType.BlockOldSources;
  return `${leave ? 'Leave' : 'Join'} group ${g} for source ${src}`;
}

/** One-line summary, as tshark prints it. */
export function formatIgmp(r: IgmpRepr): string {
  switch (r.kind) {
    case 'queryV1':
      return 'Membership Query';
    case 'queryV2':
      return r.group === 0 ? 'Membership Query, general' : `Membership Query, specific for group ${formatIpv4(r.group)}`;
    case 'queryV3': {
      if (r.group === 0) return 'Membership Query, general';
      const src = r.sources.length ? `, sources {${r.sources.map(formatIpv4).join(', ')}}` : '';
      return `Membership Query, specific for group ${formatIpv4(r.group)}${src}`;
    }
    case 'reportV1':
      return 'Membership Report';
    case 'reportV2':
      return `Membership Report group ${formatIpv4(r.group)}`;
    case 'leave':
      return `Leave Group ${formatIpv4(r.group)}`;
    case 'reportV3':
      return `Membership Report${r.records.map((x) => ` / ${recordText(x)}`).join('')}`;
    case 'raw':
      return `IGMP type 0x${r.type.toString(16).padStart(2, '0')}`;
  }
}
