/**
 * DNS messages (RFC 1035): header, questions and resource records, with name compression both
 * ways. The codec starts at the DNS header (the UDP payload); compression offsets are relative
 * to that start.
 *
 * Reading a name follows compression pointers under two rules that make hostile input
 * harmless. First, a pointer must point strictly backwards, to a position before the start of
 * the label run it interrupts (the start of the name, or the target of the previous pointer).
 * Targets therefore decrease strictly and no loop can form: a self-pointing pointer, two
 * pointers pointing at each other, or a forward pointer is `PointerLoop`. Second, a name may
 * take at most `DNS_MAX_POINTERS` jumps (`TooDeep`), so a long chain cannot cost more than a
 * bounded amount of work. A label length with the top bits 01 or 10 (a label over 63 bytes or an
 * obsolete extended label type) is `BadValue`, and a name whose wire form exceeds 255 bytes is
 * `BadLength` (RFC 1035 section 3.1). Bytes that run out are `Truncated`.
 *
 * Names in the Repr are text without the trailing dot (the root is ""); label bytes other than
 * letters, digits and printable punctuation are escaped as in master files (`\.`, `\\`, `\DDD`),
 * so any wire name round-trips. Emitting compresses every name (owner names and the names inside
 * NS, CNAME and PTR data) against the suffixes written before it, matching bytes exactly.
 */
import { formatIpv4, formatIpv6, ipv6FromBytes, ipv6ToBytes } from './addr.js';
import { u16, u32, setU16, setU32 } from './bytes.js';
import { ArgumentError, checkRange, checkSpan, fail, needRoom, ok, WireErrorCode, type Result } from './errors.js';

/** Resource record types we name. Unknown values pass through as plain numbers. */
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  HTTPS: 65,
  ANY: 255,
} as const;

/** Classes we name. */
export const DnsClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

/** Header opcodes. */
export const DnsOpcode = { Query: 0, IQuery: 1, Status: 2, Notify: 4, Update: 5 } as const;

/** Header response codes. */
export const DnsRcode = { NoError: 0, FormErr: 1, ServFail: 2, NXDomain: 3, NotImp: 4, Refused: 5 } as const;

/** Byte offsets inside the DNS header. */
export const DnsOffsets = { id: 0, flags: 2, qdcount: 4, ancount: 6, nscount: 8, arcount: 10 } as const;
/** Length of the DNS header. */
export const DNS_HEADER_LEN = 12;
/** Longest name in wire form (RFC 1035 section 3.1). */
export const DNS_MAX_NAME_LEN = 255;
/** Longest label. */
export const DNS_MAX_LABEL_LEN = 63;
/** Most compression pointers one name may follow. */
export const DNS_MAX_POINTERS = 127;
/** UDP port of DNS. */
export const DNS_PORT = 53;

/** Raised by `emitDns` for a name that cannot be encoded (empty or over-long label, over-long name). */
export class DnsNameError extends RangeError {
  override readonly name = 'DnsNameError';
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`dns: cannot encode name ${JSON.stringify(input)}: ${reason}`);
  }
}

// The text of the last name read with `wantText` (control plane only).
let nameText = '';

function escapeLabel(b: Uint8Array, off: number, n: number): string {
  let s = '';
  for (let i = off; i < off + n; i++) {
    const c = b[i]!;
    if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\${c.toString().padStart(3, '0')}`;
  }
  return s;
}

/**
 * Read the name at `pos` of the message `buf[base, end)`; returns the position after the name
 * as it stands (after its terminating zero or first pointer), or a negated `WireErrorCode`.
 * With `wantText` the name's text is left in a module variable for `lastNameText()`; without,
 * nothing is allocated.
 */
function readName(buf: Uint8Array, base: number, end: number, pos: number, wantText: boolean): number {
  let p = pos;
  let floor = pos;
  let after = -1;
  let jumps = 0;
  let wire = 1;
  if (wantText) nameText = '';
  for (;;) {
    if (p >= end) return -WireErrorCode.Truncated;
    const l = buf[p]!;
    if (l === 0) {
      return after < 0 ? p + 1 : after;
    }
    const top = l & 0xc0;
    if (top === 0xc0) {
      if (p + 2 > end) return -WireErrorCode.Truncated;
      const target = base + (((l & 0x3f) << 8) | buf[p + 1]!);
      if (target >= floor) return -WireErrorCode.PointerLoop;
      if (++jumps > DNS_MAX_POINTERS) return -WireErrorCode.TooDeep;
      if (after < 0) after = p + 2;
      floor = target;
      p = target;
      continue;
    }
    if (top !== 0) return -WireErrorCode.BadValue;
    wire += l + 1;
    if (wire > DNS_MAX_NAME_LEN) return -WireErrorCode.BadLength;
    if (p + 1 + l > end) return -WireErrorCode.Truncated;
    if (wantText) nameText += (nameText ? '.' : '') + escapeLabel(buf, p + 1, l);
    p += 1 + l;
  }
}

/**
 * The position after the (possibly compressed) name at `pos` in the message `buf[base, end)`,
 * or a negated `WireErrorCode`; follows and validates pointers without allocating.
 */
export function skipDnsName(buf: Uint8Array, base: number, end: number, pos: number): number {
  checkDnsRange('skipDnsName', buf, base, end, pos);
  return readName(buf, base, end, pos, false);
}

/** `base <= pos <= end <= buf.length`, integers (a name may start at `end`: it is then truncated). */
function checkDnsRange(fn: string, buf: Uint8Array, base: number, end: number, pos: number): void {
  checkRange(fn, buf, base, end, 'base');
  if (!Number.isInteger(pos) || pos < base || pos > end) throw new ArgumentError(fn, 'pos', `an integer in ${base}..${end} (base..end)`, pos);
}

/** Read the name at `pos` in the message `buf[base, end)` as text (allocates). */
export function readDnsName(buf: Uint8Array, base: number, end: number, pos: number): Result<{ name: string; next: number }> {
  checkDnsRange('readDnsName', buf, base, end, pos);
  const n = readName(buf, base, end, pos, true);
  if (n < 0) return fail('dns', -n as WireErrorCode, pos - base, 'name');
  return ok({ name: nameText, next: n });
}

/** Split name text into label bytes (undoing `\.`, `\\` and `\DDD` escapes). */
export function dnsNameLabels(name: string): Uint8Array[] {
  const labels: Uint8Array[] = [];
  if (name === '' || name === '.') return labels;
  const text = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  let cur: number[] = [];
  let wire = 1;
  const push = () => {
    if (cur.length === 0) throw new DnsNameError(name, 'empty label');
    if (cur.length > DNS_MAX_LABEL_LEN) throw new DnsNameError(name, 'label longer than 63 bytes');
    wire += cur.length + 1;
    labels.push(Uint8Array.from(cur));
    cur = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      push();
    } else if (c === 0x5c) {
      const d = text.slice(i + 1, i + 4);
      if (/^[0-9]{3}$/.test(d) && Number(d) < 256) {
        cur.push(Number(d));
        i += 3;
      } else if (i + 1 < text.length) {
        cur.push(text.charCodeAt(++i) & 0xff);
      } else {
        throw new DnsNameError(name, 'dangling backslash');
      }
    } else {
      if (c > 0xff) throw new DnsNameError(name, 'character outside Latin-1 (use \\DDD escapes)');
      cur.push(c);
    }
  }
  push();
  if (wire > DNS_MAX_NAME_LEN) throw new DnsNameError(name, 'name longer than 255 bytes');
  return labels;
}

/** Encode a name uncompressed (as DHCPv6 domain lists and other uncompressed contexts need). */
export function encodeDnsName(name: string): Uint8Array {
  const labels = dnsNameLabels(name);
  let n = 1;
  for (const l of labels) n += 1 + l.length;
  const out = new Uint8Array(n);
  let p = 0;
  for (const l of labels) {
    out[p] = l.length;
    out.set(l, p + 1);
    p += 1 + l.length;
  }
  return out;
}

/** Decode an uncompressed name at `pos` in `buf[pos, end)`: the name and the next position, or an error code. */
export function decodeDnsNameUncompressed(buf: Uint8Array, pos: number, end: number): { name: string; next: number } | WireErrorCode {
  checkRange('decodeDnsNameUncompressed', buf, pos, end);
  // Base = pos makes any pointer point "before the name", which the reader rejects.
  const n = readName(buf, pos, end, pos, true);
  return n < 0 ? (-n as WireErrorCode) : { name: nameText, next: n };
}

const EMPTY = new Uint8Array(0);

/** A reusable view over a DNS message; call `check()` before `reset()`. */
export class DnsView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /**
   * `Ok` if `len` bytes at `off` hold the header and every question and record it counts, with
   * valid names (see the module comment for the codes). Allocation-free.
   */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('DnsView.check', buf, off, len);
    if (len < DNS_HEADER_LEN) return WireErrorCode.Truncated;
    const end = off + len;
    let p = off + DNS_HEADER_LEN;
    const qd = u16(buf, off + DnsOffsets.qdcount);
    for (let i = 0; i < qd; i++) {
      p = readName(buf, off, end, p, false);
      if (p < 0) return -p as WireErrorCode;
      p += 4;
      if (p > end) return WireErrorCode.Truncated;
    }
    const rr = u16(buf, off + DnsOffsets.ancount) + u16(buf, off + DnsOffsets.nscount) + u16(buf, off + DnsOffsets.arcount);
    for (let i = 0; i < rr; i++) {
      p = readName(buf, off, end, p, false);
      if (p < 0) return -p as WireErrorCode;
      if (p + 10 > end) return WireErrorCode.Truncated;
      const type = u16(buf, p);
      const rdlen = u16(buf, p + 8);
      p += 10;
      if (p + rdlen > end) return WireErrorCode.Truncated;
      const c = checkRdata(buf, off, end, p, rdlen, type);
      if (c !== WireErrorCode.Ok) return c;
      p += rdlen;
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

  /** Message id. */
  get id(): number {
    return u16(this.buf, this.off);
  }
  set id(v: number) {
    setU16(this.buf, this.off, v);
  }
  /** The 16-bit flags word (QR, opcode, AA, TC, RD, RA, Z, rcode). */
  get flags(): number {
    return u16(this.buf, this.off + DnsOffsets.flags);
  }
  set flags(v: number) {
    setU16(this.buf, this.off + DnsOffsets.flags, v);
  }
  /** True for a response. */
  get qr(): boolean {
    return (this.flags & 0x8000) !== 0;
  }
  /** Opcode (4 bits). */
  get opcode(): number {
    return (this.flags >>> 11) & 0xf;
  }
  /** Authoritative answer. */
  get aa(): boolean {
    return (this.flags & 0x0400) !== 0;
  }
  /** Truncated (TC). */
  get tc(): boolean {
    return (this.flags & 0x0200) !== 0;
  }
  /** Recursion desired. */
  get rd(): boolean {
    return (this.flags & 0x0100) !== 0;
  }
  /** Recursion available. */
  get ra(): boolean {
    return (this.flags & 0x0080) !== 0;
  }
  /** The three bits after RA (Z, AD, CD). */
  get z(): number {
    return (this.flags >>> 4) & 7;
  }
  /** Response code (4 bits). */
  get rcode(): number {
    return this.flags & 0xf;
  }
  /** Number of questions. */
  get qdcount(): number {
    return u16(this.buf, this.off + DnsOffsets.qdcount);
  }
  set qdcount(v: number) {
    setU16(this.buf, this.off + DnsOffsets.qdcount, v);
  }
  /** Number of answer records. */
  get ancount(): number {
    return u16(this.buf, this.off + DnsOffsets.ancount);
  }
  set ancount(v: number) {
    setU16(this.buf, this.off + DnsOffsets.ancount, v);
  }
  /** Number of authority records. */
  get nscount(): number {
    return u16(this.buf, this.off + DnsOffsets.nscount);
  }
  set nscount(v: number) {
    setU16(this.buf, this.off + DnsOffsets.nscount, v);
  }
  /** Number of additional records. */
  get arcount(): number {
    return u16(this.buf, this.off + DnsOffsets.arcount);
  }
  set arcount(v: number) {
    setU16(this.buf, this.off + DnsOffsets.arcount, v);
  }
  /** Offset in `buf` of the first question. */
  get questionsOffset(): number {
    return this.off + DNS_HEADER_LEN;
  }
  /** The type of the first question, or -1 if there is none; allocation-free. */
  get firstQuestionType(): number {
    if (this.qdcount === 0) return -1;
    const p = readName(this.buf, this.off, this.off + this.len, this.questionsOffset, false);
    return p < 0 ? -1 : u16(this.buf, p);
  }
}

function checkRdata(buf: Uint8Array, base: number, end: number, p: number, rdlen: number, type: number): WireErrorCode {
  if (type === DnsType.A) return rdlen === 4 ? WireErrorCode.Ok : WireErrorCode.BadLength;
  if (type === DnsType.AAAA) return rdlen === 16 ? WireErrorCode.Ok : WireErrorCode.BadLength;
  if (type === DnsType.CNAME || type === DnsType.PTR || type === DnsType.NS) {
    // The name as it stands (up to its zero or first pointer) must fill the rdata exactly.
    const n = readName(buf, base, end, p, false);
    if (n < 0) return -n as WireErrorCode;
    return n === p + rdlen ? WireErrorCode.Ok : WireErrorCode.BadLength;
  }
  return WireErrorCode.Ok;
}

/** A question. */
export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

/** Decoded record data: A, AAAA, a name (NS, CNAME, PTR), or the raw bytes of any other type. */
export type DnsRdata =
  | { kind: 'a'; address: number }
  | { kind: 'aaaa'; address: bigint }
  | { kind: 'name'; name: string }
  | { kind: 'raw'; bytes: Uint8Array };

/** A resource record. `data.kind` follows `type`: A → a, AAAA → aaaa, NS/CNAME/PTR → name, else raw. */
export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: DnsRdata;
}

/** A plain DNS message; the section counts are the array lengths. */
export interface DnsRepr {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** The three bits after RA (Z, AD, CD), kept for round trips. */
  z: number;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

const view = new DnsView();

function isNameType(t: number): boolean {
  return t === DnsType.CNAME || t === DnsType.PTR || t === DnsType.NS;
}

/** Parse a DNS message from `len` bytes at `off`. */
export function parseDns(buf: Uint8Array, off = 0, len?: number): Result<DnsRepr> {
  len = checkSpan('parseDns', buf, off, len);
  const code = DnsView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('dns', code, off);
  const v = view.reset(buf, off, len);
  const end = off + len;
  let p = v.questionsOffset;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < v.qdcount; i++) {
    p = readName(buf, off, end, p, true);
    questions.push({ name: nameText, type: u16(buf, p), class: u16(buf, p + 2) });
    p += 4;
  }
  const section = (n: number): DnsRecord[] => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < n; i++) {
      p = readName(buf, off, end, p, true);
      const name = nameText;
      const type = u16(buf, p);
      const rdlen = u16(buf, p + 8);
      const d = p + 10;
      let data: DnsRdata;
      if (type === DnsType.A) data = { kind: 'a', address: u32(buf, d) };
      else if (type === DnsType.AAAA) data = { kind: 'aaaa', address: ipv6FromBytes(buf, d) };
      else if (isNameType(type)) {
        readName(buf, off, end, d, true);
        data = { kind: 'name', name: nameText };
      } else data = { kind: 'raw', bytes: buf.slice(d, d + rdlen) };
      out.push({ name, type, class: u16(buf, p + 2), ttl: u32(buf, p + 4), data });
      p = d + rdlen;
    }
    return out;
  };
  const answers = section(v.ancount);
  const authorities = section(v.nscount);
  const additionals = section(v.arcount);
  return ok({
    id: v.id,
    qr: v.qr,
    opcode: v.opcode,
    aa: v.aa,
    tc: v.tc,
    rd: v.rd,
    ra: v.ra,
    z: v.z,
    rcode: v.rcode,
    questions,
    answers,
    authorities,
    additionals,
  });
}

/**
 * Lay out a message: with `buf`, write it at `off`; always return its length. One function does
 * both so that `dnsLen` and `emitDns` agree on compression.
 */
function layout(r: DnsRepr, buf: Uint8Array | null, off: number): number {
  const seen = new Map<string, number>();
  let p = DNS_HEADER_LEN;
  const name = (text: string): void => {
    const labels = dnsNameLabels(text);
    const keys: string[] = [];
    let key = '';
    for (let i = labels.length - 1; i >= 0; i--) {
      key = `${String.fromCharCode(labels[i]!.length)}${String.fromCharCode(...labels[i]!)}${key}`;
      keys[i] = key;
    }
    for (let i = 0; i < labels.length; i++) {
      const at = seen.get(keys[i]!);
      if (at !== undefined) {
        if (buf) setU16(buf, off + p, 0xc000 | at);
        p += 2;
        return;
      }
      if (p < 0x4000) seen.set(keys[i]!, p);
      const l = labels[i]!;
      if (buf) {
        buf[off + p] = l.length;
        buf.set(l, off + p + 1);
      }
      p += 1 + l.length;
    }
    if (buf) buf[off + p] = 0;
    p += 1;
  };
  for (const q of r.questions) {
    name(q.name);
    if (buf) {
      setU16(buf, off + p, q.type);
      setU16(buf, off + p + 2, q.class);
    }
    p += 4;
  }
  for (const rec of [...r.answers, ...r.authorities, ...r.additionals]) {
    name(rec.name);
    const fixed = p;
    p += 10;
    const d = rec.data;
    switch (d.kind) {
      case 'a':
        if (buf) setU32(buf, off + p, d.address);
        p += 4;
        break;
      case 'aaaa':
        if (buf) ipv6ToBytes(d.address, buf, off + p);
        p += 16;
        break;
      case 'name':
        name(d.name);
        break;
      case 'raw':
        if (buf) buf.set(d.bytes, off + p);
        p += d.bytes.length;
        break;
    }
    if (buf) {
      setU16(buf, off + fixed, rec.type);
      setU16(buf, off + fixed + 2, rec.class);
      setU32(buf, off + fixed + 4, rec.ttl);
      setU16(buf, off + fixed + 8, p - fixed - 10);
    }
  }
  if (buf) {
    setU16(buf, off + DnsOffsets.id, r.id);
    setU16(
      buf,
      off + DnsOffsets.flags,
      (r.qr ? 0x8000 : 0) |
        ((r.opcode & 0xf) << 11) |
        (r.aa ? 0x400 : 0) |
        (r.tc ? 0x200 : 0) |
        (r.rd ? 0x100 : 0) |
        (r.ra ? 0x80 : 0) |
        ((r.z & 7) << 4) |
        (r.rcode & 0xf),
    );
    setU16(buf, off + DnsOffsets.qdcount, r.questions.length);
    setU16(buf, off + DnsOffsets.ancount, r.answers.length);
    setU16(buf, off + DnsOffsets.nscount, r.authorities.length);
    setU16(buf, off + DnsOffsets.arcount, r.additionals.length);
  }
  return p;
}

/** Bytes `emitDns` writes (with name compression). Throws `DnsNameError` for an unencodable name. */
export function dnsLen(r: DnsRepr): number {
  return layout(r, null, 0);
}

/** Write the message at `off`, compressing names; returns the number of bytes written. */
export function emitDns(r: DnsRepr, buf: Uint8Array, off = 0): number {
  const n = layout(r, null, 0);
  needRoom('dns', buf, off, n);
  layout(r, buf, off);
  return n;
}

const typeNames: Record<number, string> = Object.fromEntries(Object.entries(DnsType).map(([k, v]) => [v, k]));
const rcodeNames: Record<number, string> = {
  1: 'Format error',
  2: 'Server failure',
  3: 'No such name',
  4: 'Not implemented',
  5: 'Refused',
};
const opcodeNames: Record<number, string> = { 0: 'Standard query', 1: 'Inverse query', 2: 'Server status request', 4: 'Zone change notification', 5: 'Dynamic update' };

function shown(name: string): string {
  return name === '' ? '<Root>' : name;
}

function rdataText(rec: DnsRecord): string {
  const d = rec.data;
  switch (d.kind) {
    case 'a':
      return ` ${formatIpv4(d.address)}`;
    case 'aaaa':
      return ` ${formatIpv6(d.address)}`;
    case 'name':
      return ` ${shown(d.name)}`;
    case 'raw':
      return '';
  }
}

/** One-line summary, as tshark prints it. */
export function formatDns(r: DnsRepr): string {
  const op = opcodeNames[r.opcode] ?? `Unknown operation (${r.opcode})`;
  let s = `${op}${r.qr ? ' response' : ''} 0x${r.id.toString(16).padStart(4, '0')}`;
  if (r.qr && r.rcode !== 0) s += ` ${rcodeNames[r.rcode] ?? `Unknown error (${r.rcode})`}`;
  const tn = (t: number) => typeNames[t] ?? `Unknown (${t})`;
  for (const q of r.questions) s += ` ${tn(q.type)} ${shown(q.name)}`;
  for (const a of r.answers) s += ` ${tn(a.type)}${rdataText(a)}`;
  for (const a of r.authorities) s += ` ${tn(a.type)}${rdataText(a)}`;
  for (const a of r.additionals) s += ` ${tn(a.type)}${rdataText(a)}`;
  return s;
}
