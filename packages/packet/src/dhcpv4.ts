/**
 * DHCPv4 (RFC 2131) with the options of RFC 2132 and RFC 3442 (classless static routes). The
 * codec starts at the BOOTP header (the UDP payload): a 236-byte fixed part, the magic cookie
 * 99.130.83.99 and the options.
 *
 * Options are walked by the allocation-free `Dhcpv4OptionIter`: Pad (0) is one byte, End (255)
 * stops the walk, every other option is code, length, data. An option whose length runs past
 * the end of the message is `BadOption`; options that stop without an End are `Truncated`.
 * The Repr decodes the common options into typed fields and keeps the others raw. Following
 * RFC 3396, several instances of one option are concatenated before decoding, and an option
 * longer than 255 bytes is emitted split into several instances. Option overload (52), which
 * moves options into `sname` and `file`, is not interpreted: those fields stay as they are.
 */
import { u16, u32, u48, u8, setU16, setU32, setU8 } from './bytes.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';

/** DHCP message types (option 53). */
export const DhcpMessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;

/** DHCP option codes we name. Unknown codes pass through as plain numbers. */
export const DhcpOption = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DnsServers: 6,
  Hostname: 12,
  DomainName: 15,
  InterfaceMtu: 26,
  BroadcastAddress: 28,
  RequestedIp: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerId: 54,
  ParameterRequestList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  VendorClassId: 60,
  ClientId: 61,
  ClasslessStaticRoute: 121,
  End: 255,
} as const;

/** BOOTP op codes. */
export const BootpOp = { Request: 1, Reply: 2 } as const;

/** The DHCP magic cookie (99.130.83.99). */
export const DHCP_MAGIC_COOKIE = 0x63825363;
/** Length of the fixed BOOTP header before the magic cookie. */
export const BOOTP_HEADER_LEN = 236;
/** Offset of the first option (after the magic cookie). */
export const DHCPV4_OPTIONS_OFFSET = 240;
/** UDP port of DHCP servers. */
export const DHCPV4_SERVER_PORT = 67;
/** UDP port of DHCP clients. */
export const DHCPV4_CLIENT_PORT = 68;
/** The broadcast bit of `flags`. */
export const DHCP_FLAG_BROADCAST = 0x8000;

/** Byte offsets inside a DHCPv4 message. */
export const Dhcpv4Offsets = {
  op: 0,
  htype: 1,
  hlen: 2,
  hops: 3,
  xid: 4,
  secs: 8,
  flags: 10,
  ciaddr: 12,
  yiaddr: 16,
  siaddr: 20,
  giaddr: 24,
  chaddr: 28,
  sname: 44,
  file: 108,
  cookie: 236,
  options: 240,
} as const;

const EMPTY = new Uint8Array(0);

/**
 * An allocation-free walker over DHCPv4 options: `reset()` then `while (it.next()) {...}`.
 * Pad options are skipped; the walk ends at End (`sawEnd`) or on an error (`error`).
 */
export class Dhcpv4OptionIter {
  buf: Uint8Array = EMPTY;
  /** Offset of the next option. */
  pos = 0;
  /** End of the options area. */
  end = 0;
  /** Code of the current option. */
  code = 0;
  /** Offset of the current option's data. */
  dataOff = 0;
  /** Length of the current option's data. */
  dataLen = 0;
  /** True once the End option was read. */
  sawEnd = false;
  /** `Ok`, or why the walk stopped early. */
  error: WireErrorCode = WireErrorCode.Ok;

  /** Walk the options in `buf[off, end)`. */
  reset(buf: Uint8Array, off: number, end: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = end;
    this.code = 0;
    this.dataOff = off;
    this.dataLen = 0;
    this.sawEnd = false;
    this.error = WireErrorCode.Ok;
    return this;
  }

  /** Advance to the next option other than Pad; false at End, at the end of the bytes, or on an error. */
  next(): boolean {
    if (this.sawEnd || this.error !== WireErrorCode.Ok) return false;
    const b = this.buf;
    let p = this.pos;
    while (p < this.end && b[p] === DhcpOption.Pad) p++;
    if (p >= this.end) {
      this.pos = p;
      return false;
    }
    const c = b[p]!;
    if (c === DhcpOption.End) {
      this.pos = p + 1;
      this.sawEnd = true;
      return false;
    }
    if (p + 2 > this.end || p + 2 + b[p + 1]! > this.end) {
      this.pos = p;
      this.error = WireErrorCode.BadOption;
      return false;
    }
    this.code = c;
    this.dataOff = p + 2;
    this.dataLen = b[p + 1]!;
    this.pos = p + 2 + this.dataLen;
    return true;
  }
}

/** Check the options in `[off, end)`: `Ok`, `BadOption` if one runs past `end`, `Truncated` without End. */
function checkOptions(it: Dhcpv4OptionIter, buf: Uint8Array, off: number, end: number): WireErrorCode {
  it.reset(buf, off, end);
  while (it.next());
  if (it.error !== WireErrorCode.Ok) return it.error;
  return it.sawEnd ? WireErrorCode.Ok : WireErrorCode.Truncated;
}

const checkIter = new Dhcpv4OptionIter();

/** A reusable view over a DHCPv4 message; call `check()` before `reset()`. */
export class Dhcpv4View {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /**
   * `Ok` if `len` bytes at `off` hold a whole message: `Truncated` when the header or the
   * options stop early, `BadValue` for a wrong magic cookie or `hlen` > 16, `BadOption` for an
   * option running past the end.
   */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('Dhcpv4View.check', buf, off, len);
    if (len < DHCPV4_OPTIONS_OFFSET) return WireErrorCode.Truncated;
    if (u32(buf, off + Dhcpv4Offsets.cookie) !== DHCP_MAGIC_COOKIE) return WireErrorCode.BadValue;
    if (buf[off + Dhcpv4Offsets.hlen]! > 16) return WireErrorCode.BadValue;
    return checkOptions(checkIter, buf, off + DHCPV4_OPTIONS_OFFSET, off + len);
  }

  /** Point the view at a message (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** BOOTP op (1 request, 2 reply). */
  get op(): number {
    return u8(this.buf, this.off);
  }
  set op(v: number) {
    setU8(this.buf, this.off, v);
  }
  /** Hardware type (1 = Ethernet). */
  get htype(): number {
    return u8(this.buf, this.off + Dhcpv4Offsets.htype);
  }
  set htype(v: number) {
    setU8(this.buf, this.off + Dhcpv4Offsets.htype, v);
  }
  /** Hardware address length. */
  get hlen(): number {
    return u8(this.buf, this.off + Dhcpv4Offsets.hlen);
  }
  set hlen(v: number) {
    setU8(this.buf, this.off + Dhcpv4Offsets.hlen, v);
  }
  /** Relay hops. */
  get hops(): number {
    return u8(this.buf, this.off + Dhcpv4Offsets.hops);
  }
  set hops(v: number) {
    setU8(this.buf, this.off + Dhcpv4Offsets.hops, v);
  }
  /** Transaction id. */
  get xid(): number {
    return u32(this.buf, this.off + Dhcpv4Offsets.xid);
  }
  set xid(v: number) {
    setU32(this.buf, this.off + Dhcpv4Offsets.xid, v);
  }
  /** Seconds since the client began. */
  get secs(): number {
    return u16(this.buf, this.off + Dhcpv4Offsets.secs);
  }
  set secs(v: number) {
    setU16(this.buf, this.off + Dhcpv4Offsets.secs, v);
  }
  /** Flags (bit 15 broadcast). */
  get flags(): number {
    return u16(this.buf, this.off + Dhcpv4Offsets.flags);
  }
  set flags(v: number) {
    setU16(this.buf, this.off + Dhcpv4Offsets.flags, v);
  }
  /** Client IP address. */
  get ciaddr(): number {
    return u32(this.buf, this.off + Dhcpv4Offsets.ciaddr);
  }
  set ciaddr(v: number) {
    setU32(this.buf, this.off + Dhcpv4Offsets.ciaddr, v);
  }
  /** "Your" (offered) IP address. */
  get yiaddr(): number {
    return u32(this.buf, this.off + Dhcpv4Offsets.yiaddr);
  }
  set yiaddr(v: number) {
    setU32(this.buf, this.off + Dhcpv4Offsets.yiaddr, v);
  }
  /** Next server IP address. */
  get siaddr(): number {
    return u32(this.buf, this.off + Dhcpv4Offsets.siaddr);
  }
  set siaddr(v: number) {
    setU32(this.buf, this.off + Dhcpv4Offsets.siaddr, v);
  }
  /** Relay agent IP address. */
  get giaddr(): number {
    return u32(this.buf, this.off + Dhcpv4Offsets.giaddr);
  }
  set giaddr(v: number) {
    setU32(this.buf, this.off + Dhcpv4Offsets.giaddr, v);
  }
  /** Offset in `buf` of the 16-byte client hardware address field. */
  get chaddrOffset(): number {
    return this.off + Dhcpv4Offsets.chaddr;
  }
  /** The client MAC when `htype` is Ethernet and `hlen` is 6, else -1. */
  get clientMac(): number {
    return this.htype === 1 && this.hlen === 6 ? u48(this.buf, this.chaddrOffset) : -1;
  }
  /** Offset in `buf` of the 64-byte server host name field. */
  get snameOffset(): number {
    return this.off + Dhcpv4Offsets.sname;
  }
  /** Offset in `buf` of the 128-byte boot file name field. */
  get fileOffset(): number {
    return this.off + Dhcpv4Offsets.file;
  }
  /** The magic cookie as stored. */
  get cookie(): number {
    return u32(this.buf, this.off + Dhcpv4Offsets.cookie);
  }
  set cookie(v: number) {
    setU32(this.buf, this.off + Dhcpv4Offsets.cookie, v);
  }
  /** Offset in `buf` of the first option. */
  get optionsOffset(): number {
    return this.off + DHCPV4_OPTIONS_OFFSET;
  }
  /** Start walking the options with `it` (no allocation). */
  options(it: Dhcpv4OptionIter): Dhcpv4OptionIter {
    return it.reset(this.buf, this.optionsOffset, this.off + this.len);
  }
  /** The DHCP message type (option 53), or 0 if absent; allocation-free. */
  get messageType(): number {
    const it = this.options(checkIter);
    while (it.next()) if (it.code === DhcpOption.MessageType && it.dataLen >= 1) return this.buf[it.dataOff]!;
    return 0;
  }
}

/** A classless static route (RFC 3442). */
export interface Dhcpv4Route {
  /** Destination network (host bits zero). */
  destination: number;
  prefixLength: number;
  router: number;
}

/** DHCPv4 options: typed fields for the common ones, `other` for the rest (in order of appearance). */
export interface Dhcpv4Options {
  /** 53. */
  messageType?: number;
  /** 1. */
  subnetMask?: number;
  /** 3. */
  routers?: number[];
  /** 6. */
  dnsServers?: number[];
  /** 12. */
  hostname?: string;
  /** 15. */
  domainName?: string;
  /** 26. */
  mtu?: number;
  /** 28. */
  broadcastAddress?: number;
  /** 50. */
  requestedIp?: number;
  /** 51, seconds. */
  leaseTime?: number;
  /** 54. */
  serverId?: number;
  /** 55. */
  parameterRequestList?: number[];
  /** 58, seconds. */
  renewalTime?: number;
  /** 59, seconds. */
  rebindingTime?: number;
  /** 61 (type byte and identifier). */
  clientId?: Uint8Array;
  /** 121. */
  classlessRoutes?: Dhcpv4Route[];
  /** Every other option, data only, in order of first appearance. */
  other: { code: number; data: Uint8Array }[];
}

/** A plain DHCPv4 message. */
export interface Dhcpv4Repr {
  op: number;
  htype: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** The client hardware address (`hlen` bytes, at most 16). */
  chaddr: Uint8Array;
  /** Server host name (up to the first NUL; Latin-1). */
  sname: string;
  /** Boot file name (up to the first NUL; Latin-1). */
  file: string;
  options: Dhcpv4Options;
}

/** The client MAC of a Repr when the hardware is Ethernet with a 6-byte address. */
export function dhcpv4ClientMac(r: Dhcpv4Repr): number | undefined {
  return r.htype === 1 && r.chaddr.length === 6 ? u48(r.chaddr, 0) : undefined;
}

/** A 6-byte `chaddr` for a MAC given as a 48-bit number. */
export function dhcpv4Chaddr(mac: number): Uint8Array {
  const b = new Uint8Array(6);
  setU16(b, 0, Math.floor(mac / 0x1_0000_0000));
  setU32(b, 2, mac >>> 0);
  return b;
}

const view = new Dhcpv4View();
const iter = new Dhcpv4OptionIter();
const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

function latin1(b: Uint8Array, off: number, max: number): string {
  let s = '';
  for (let i = off; i < off + max && b[i] !== 0; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function addrs(d: Uint8Array): number[] | undefined {
  if (d.length === 0 || d.length % 4 !== 0) return undefined;
  const out: number[] = [];
  for (let i = 0; i < d.length; i += 4) out.push(u32(d, i));
  return out;
}

function routes(d: Uint8Array): Dhcpv4Route[] | undefined {
  const out: Dhcpv4Route[] = [];
  let p = 0;
  while (p < d.length) {
    const pl = d[p]!;
    if (pl > 32) return undefined;
    const sig = Math.ceil(pl / 8);
    if (p + 1 + sig + 4 > d.length) return undefined;
    let dst = 0;
    for (let i = 0; i < 4; i++) dst = dst * 256 + (i < sig ? d[p + 1 + i]! : 0);
    out.push({ destination: dst >>> 0, prefixLength: pl, router: u32(d, p + 1 + sig) });
    p += 1 + sig + 4;
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
}

/** Decode the gathered options into typed fields; returns the code of a malformed one, or -1. */
function decodeOptions(all: Map<number, Uint8Array>, out: Dhcpv4Options): number {
  for (const [code, d] of all) {
    const one32 = d.length === 4 ? u32(d, 0) : undefined;
    switch (code) {
      case DhcpOption.MessageType:
        if (d.length !== 1) return code;
        out.messageType = d[0]!;
        break;
      case DhcpOption.SubnetMask:
      case DhcpOption.BroadcastAddress:
      case DhcpOption.RequestedIp:
      case DhcpOption.LeaseTime:
      case DhcpOption.ServerId:
      case DhcpOption.RenewalTime:
      case DhcpOption.RebindingTime:
        if (one32 === undefined) return code;
        if (code === 1) out.subnetMask = one32;
        else if (code === 28) out.broadcastAddress = one32;
        else if (code === 50) out.requestedIp = one32;
        else if (code === 51) out.leaseTime = one32;
        else if (code === 54) out.serverId = one32;
        else if (code === 58) out.renewalTime = one32;
        else out.rebindingTime = one32;
        break;
      case DhcpOption.Router:
      case DhcpOption.DnsServers: {
        const a = addrs(d);
        if (!a) return code;
        if (code === DhcpOption.Router) out.routers = a;
        else out.dnsServers = a;
        break;
      }
      case DhcpOption.Hostname:
        out.hostname = utf8.decode(d);
        break;
      case DhcpOption.DomainName:
        out.domainName = utf8.decode(d);
        break;
      case DhcpOption.InterfaceMtu:
        if (d.length !== 2) return code;
        out.mtu = u16(d, 0);
        break;
      case DhcpOption.ParameterRequestList:
        out.parameterRequestList = Array.from(d);
        break;
      case DhcpOption.ClientId:
        out.clientId = d;
        break;
      case DhcpOption.ClasslessStaticRoute: {
        const r = routes(d);
        if (!r) return code;
        out.classlessRoutes = r;
        break;
      }
      default:
        out.other.push({ code, data: d });
    }
  }
  return -1;
}

/** Parse a DHCPv4 message from `len` bytes at `off`. */
export function parseDhcpv4(buf: Uint8Array, off = 0, len?: number): Result<Dhcpv4Repr> {
  len = checkSpan('parseDhcpv4', buf, off, len);
  const code = Dhcpv4View.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('dhcpv4', code, off + (code === WireErrorCode.BadValue ? Dhcpv4Offsets.cookie : 0));
  const v = view.reset(buf, off, len);
  const all = new Map<number, Uint8Array>();
  const it = v.options(iter);
  while (it.next()) {
    const d = buf.slice(it.dataOff, it.dataOff + it.dataLen);
    const prev = all.get(it.code);
    all.set(it.code, prev ? concat(prev, d) : d);
  }
  const options: Dhcpv4Options = { other: [] };
  const bad = decodeOptions(all, options);
  if (bad >= 0) return fail('dhcpv4', WireErrorCode.BadOption, v.optionsOffset, `option ${bad}`);
  return ok({
    op: v.op,
    htype: v.htype,
    hops: v.hops,
    xid: v.xid,
    secs: v.secs,
    flags: v.flags,
    ciaddr: v.ciaddr,
    yiaddr: v.yiaddr,
    siaddr: v.siaddr,
    giaddr: v.giaddr,
    chaddr: buf.slice(v.chaddrOffset, v.chaddrOffset + v.hlen),
    sname: latin1(buf, v.snameOffset, 64),
    file: latin1(buf, v.fileOffset, 128),
    options,
  });
}

function u32s(xs: number[]): Uint8Array {
  const b = new Uint8Array(4 * xs.length);
  xs.forEach((x, i) => setU32(b, 4 * i, x));
  return b;
}

function one32(x: number): Uint8Array {
  return u32s([x]);
}

function encodeRoutes(rs: Dhcpv4Route[]): Uint8Array {
  const parts: number[] = [];
  for (const r of rs) {
    const sig = Math.ceil(r.prefixLength / 8);
    parts.push(r.prefixLength);
    for (let i = 0; i < sig; i++) parts.push((r.destination >>> (24 - 8 * i)) & 0xff);
    parts.push((r.router >>> 24) & 0xff, (r.router >>> 16) & 0xff, (r.router >>> 8) & 0xff, r.router & 0xff);
  }
  return Uint8Array.from(parts);
}

/** The options of a Repr as (code, data) pairs in emission order (message type first). */
function optionList(o: Dhcpv4Options): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  if (o.messageType !== undefined) out.push([DhcpOption.MessageType, Uint8Array.of(o.messageType)]);
  if (o.clientId !== undefined) out.push([DhcpOption.ClientId, o.clientId]);
  if (o.serverId !== undefined) out.push([DhcpOption.ServerId, one32(o.serverId)]);
  if (o.requestedIp !== undefined) out.push([DhcpOption.RequestedIp, one32(o.requestedIp)]);
  if (o.leaseTime !== undefined) out.push([DhcpOption.LeaseTime, one32(o.leaseTime)]);
  if (o.renewalTime !== undefined) out.push([DhcpOption.RenewalTime, one32(o.renewalTime)]);
  if (o.rebindingTime !== undefined) out.push([DhcpOption.RebindingTime, one32(o.rebindingTime)]);
  if (o.subnetMask !== undefined) out.push([DhcpOption.SubnetMask, one32(o.subnetMask)]);
  if (o.broadcastAddress !== undefined) out.push([DhcpOption.BroadcastAddress, one32(o.broadcastAddress)]);
  if (o.routers !== undefined) out.push([DhcpOption.Router, u32s(o.routers)]);
  if (o.dnsServers !== undefined) out.push([DhcpOption.DnsServers, u32s(o.dnsServers)]);
  if (o.hostname !== undefined) out.push([DhcpOption.Hostname, utf8enc.encode(o.hostname)]);
  if (o.domainName !== undefined) out.push([DhcpOption.DomainName, utf8enc.encode(o.domainName)]);
  if (o.mtu !== undefined) {
    const b = new Uint8Array(2);
    setU16(b, 0, o.mtu);
    out.push([DhcpOption.InterfaceMtu, b]);
  }
  if (o.parameterRequestList !== undefined) out.push([DhcpOption.ParameterRequestList, Uint8Array.from(o.parameterRequestList)]);
  if (o.classlessRoutes !== undefined) out.push([DhcpOption.ClasslessStaticRoute, encodeRoutes(o.classlessRoutes)]);
  for (const x of o.other) out.push([x.code, x.data]);
  return out;
}

function encodedLen(n: number): number {
  // RFC 3396: data over 255 bytes is split into several instances; empty data is one instance.
  return n === 0 ? 2 : n + 2 * Math.ceil(n / 255);
}

/** Bytes `emitDhcpv4` writes (header, cookie, options, End; no trailing padding). */
export function dhcpv4Len(r: Dhcpv4Repr): number {
  let n = DHCPV4_OPTIONS_OFFSET + 1;
  for (const [, d] of optionList(r.options)) n += encodedLen(d.length);
  return n;
}

/** Write the message at `off`; returns the number of bytes written. */
export function emitDhcpv4(r: Dhcpv4Repr, buf: Uint8Array, off = 0): number {
  const n = dhcpv4Len(r);
  needRoom('dhcpv4', buf, off, n);
  buf.fill(0, off, off + DHCPV4_OPTIONS_OFFSET);
  const v = view.reset(buf, off, n);
  v.op = r.op;
  v.htype = r.htype;
  v.hlen = Math.min(r.chaddr.length, 16);
  v.hops = r.hops;
  v.xid = r.xid;
  v.secs = r.secs;
  v.flags = r.flags;
  v.ciaddr = r.ciaddr;
  v.yiaddr = r.yiaddr;
  v.siaddr = r.siaddr;
  v.giaddr = r.giaddr;
  buf.set(r.chaddr.subarray(0, 16), v.chaddrOffset);
  for (let i = 0; i < r.sname.length && i < 64; i++) buf[v.snameOffset + i] = r.sname.charCodeAt(i) & 0xff;
  for (let i = 0; i < r.file.length && i < 128; i++) buf[v.fileOffset + i] = r.file.charCodeAt(i) & 0xff;
  v.cookie = DHCP_MAGIC_COOKIE;
  let p = v.optionsOffset;
  for (const [code, d] of optionList(r.options)) {
    let i = 0;
    do {
      const k = Math.min(255, d.length - i);
      buf[p] = code;
      buf[p + 1] = k;
      buf.set(d.subarray(i, i + k), p + 2);
      p += 2 + k;
      i += k;
    } while (i < d.length);
  }
  buf[p] = DhcpOption.End;
  return n;
}

const typeNames: Record<number, string> = {
  1: 'Discover',
  2: 'Offer',
  3: 'Request',
  4: 'Decline',
  5: 'ACK',
  6: 'NAK',
  7: 'Release',
  8: 'Inform',
};

/** One-line summary, as tshark prints it. */
export function formatDhcpv4(r: Dhcpv4Repr): string {
  const xid = `Transaction ID 0x${r.xid.toString(16).padStart(8, '0')}`;
  const t = r.options.messageType;
  if (t === undefined) return `Boot ${r.op === BootpOp.Reply ? 'Reply' : 'Request'} - ${xid}`;
  return `DHCP ${(typeNames[t] ?? `Unknown (${t})`).padEnd(8)} - ${xid}`;
}
