/**
 * DHCPv6 (RFC 8415). The codec starts at the DHCPv6 message (the UDP payload). Client/server
 * messages are a type, a 24-bit transaction id and options; relay messages (Relay-forw,
 * Relay-repl) are a type, a hop count, a link address, a peer address and options.
 *
 * Options are code (16 bits), length (16 bits), data; the allocation-free `Dhcpv6OptionIter`
 * walks one level of them. At the top level an option running past the end of the message is
 * `Truncated` (the bytes stop before a length the message declares); inside an option that
 * holds options (IA_NA, IA_TA, IA Address, IA_PD, IA Prefix) an option running past its
 * container is `BadOption`, as is a known option with an impossible length. A Relay Message
 * option holds a whole DHCPv6 message, decoded recursively up to `DHCPV6_MAX_NESTING` levels
 * (`TooDeep` beyond).
 */
import { formatIpv6, ipv6FromBytes, ipv6ToBytes } from './addr.js';
import { toHex, u16, u24, u32, u8, setU16, setU24, setU32, setU8 } from './bytes.js';
import { decodeDnsNameUncompressed, encodeDnsName } from './dns.js';
import { checkSpan, fail, needRoom, ok, WireErrorCode, type Result } from './errors.js';

/** DHCPv6 message types. */
export const Dhcpv6MessageType = {
  Solicit: 1,
  Advertise: 2,
  Request: 3,
  Confirm: 4,
  Renew: 5,
  Rebind: 6,
  Reply: 7,
  Release: 8,
  Decline: 9,
  Reconfigure: 10,
  InformationRequest: 11,
  RelayForw: 12,
  RelayRepl: 13,
} as const;

/** DHCPv6 option codes we name. Unknown codes pass through as plain numbers. */
export const Dhcpv6Option = {
  ClientId: 1,
  ServerId: 2,
  IaNa: 3,
  IaTa: 4,
  IaAddr: 5,
  Oro: 6,
  Preference: 7,
  ElapsedTime: 8,
  RelayMsg: 9,
  Auth: 11,
  Unicast: 12,
  StatusCode: 13,
  RapidCommit: 14,
  UserClass: 15,
  VendorClass: 16,
  VendorOpts: 17,
  InterfaceId: 18,
  ReconfMsg: 19,
  DnsServers: 23,
  DomainList: 24,
  IaPd: 25,
  IaPrefix: 26,
} as const;

/** DHCPv6 status codes (option 13). */
export const Dhcpv6Status = {
  Success: 0,
  UnspecFail: 1,
  NoAddrsAvail: 2,
  NoBinding: 3,
  NotOnLink: 4,
  UseMulticast: 5,
  NoPrefixAvail: 6,
} as const;

/** Byte offsets inside a DHCPv6 message. */
export const Dhcpv6Offsets = {
  msgType: 0,
  /** Client/server messages: 24-bit transaction id. */
  transactionId: 1,
  /** Client/server messages: first option. */
  options: 4,
  /** Relay messages: hop count. */
  hopCount: 1,
  /** Relay messages: link address. */
  linkAddress: 2,
  /** Relay messages: peer address. */
  peerAddress: 18,
  /** Relay messages: first option. */
  relayOptions: 34,
} as const;

/** Length of a client/server message header. */
export const DHCPV6_HEADER_LEN = 4;
/** Length of a relay message header. */
export const DHCPV6_RELAY_HEADER_LEN = 34;
/** Length of an option header (code, length). */
export const DHCPV6_OPTION_HEADER_LEN = 4;
/** How deep Relay Message options may nest. */
export const DHCPV6_MAX_NESTING = 32;
/** UDP port of DHCPv6 clients. */
export const DHCPV6_CLIENT_PORT = 546;
/** UDP port of DHCPv6 servers and relays. */
export const DHCPV6_SERVER_PORT = 547;

/** True for the relay message types (Relay-forw, Relay-repl). */
export function isDhcpv6Relay(msgType: number): boolean {
  return msgType === Dhcpv6MessageType.RelayForw || msgType === Dhcpv6MessageType.RelayRepl;
}

const EMPTY = new Uint8Array(0);

/**
 * An allocation-free walker over one level of DHCPv6 options: `reset()` then
 * `while (it.next()) {...}`; on a malformed option `next()` returns false and `error` says why.
 */
export class Dhcpv6OptionIter {
  buf: Uint8Array = EMPTY;
  /** Offset of the next option. */
  pos = 0;
  /** End of the options area. */
  end = 0;
  /** The code given for an option running past `end` (`Truncated` at top level, `BadOption` nested). */
  overrun: WireErrorCode = WireErrorCode.Truncated;
  /** Code of the current option. */
  code = 0;
  /** Offset of the current option's data. */
  dataOff = 0;
  /** Length of the current option's data. */
  dataLen = 0;
  /** `Ok`, or why the walk stopped early. */
  error: WireErrorCode = WireErrorCode.Ok;

  /** Walk the options in `buf[off, end)`; `overrun` is the code for an option that does not fit. */
  reset(buf: Uint8Array, off: number, end: number, overrun: WireErrorCode = WireErrorCode.Truncated): this {
    this.buf = buf;
    this.pos = off;
    this.end = end;
    this.overrun = overrun;
    this.code = 0;
    this.dataOff = off;
    this.dataLen = 0;
    this.error = WireErrorCode.Ok;
    return this;
  }

  /** Advance to the next option; false at the end or on an error. */
  next(): boolean {
    const p = this.pos;
    if (p >= this.end || this.error !== WireErrorCode.Ok) return false;
    if (p + DHCPV6_OPTION_HEADER_LEN > this.end || p + DHCPV6_OPTION_HEADER_LEN + u16(this.buf, p + 2) > this.end) {
      this.error = this.overrun;
      return false;
    }
    this.code = u16(this.buf, p);
    this.dataOff = p + DHCPV6_OPTION_HEADER_LEN;
    this.dataLen = u16(this.buf, p + 2);
    this.pos = this.dataOff + this.dataLen;
    return true;
  }
}

const checkIter = new Dhcpv6OptionIter();

/** A reusable view over a DHCPv6 message; call `check()` before `reset()`. */
export class Dhcpv6View {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `Ok` if `len` bytes at `off` hold the header and whole top-level options (nested ones are checked by `parseDhcpv6`). */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('Dhcpv6View.check', buf, off, len);
    if (len < DHCPV6_HEADER_LEN) return WireErrorCode.Truncated;
    const relay = isDhcpv6Relay(buf[off]!);
    if (relay && len < DHCPV6_RELAY_HEADER_LEN) return WireErrorCode.Truncated;
    const it = checkIter.reset(buf, off + (relay ? DHCPV6_RELAY_HEADER_LEN : DHCPV6_HEADER_LEN), off + len);
    while (it.next());
    return it.error;
  }

  /** Point the view at a message (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Message type. */
  get msgType(): number {
    return u8(this.buf, this.off);
  }
  set msgType(v: number) {
    setU8(this.buf, this.off, v);
  }
  /** True for Relay-forw and Relay-repl. */
  get isRelay(): boolean {
    return isDhcpv6Relay(this.msgType);
  }
  /** Client/server messages: the 24-bit transaction id. */
  get transactionId(): number {
    return u24(this.buf, this.off + Dhcpv6Offsets.transactionId);
  }
  set transactionId(v: number) {
    setU24(this.buf, this.off + Dhcpv6Offsets.transactionId, v);
  }
  /** Relay messages: hop count. */
  get hopCount(): number {
    return u8(this.buf, this.off + Dhcpv6Offsets.hopCount);
  }
  set hopCount(v: number) {
    setU8(this.buf, this.off + Dhcpv6Offsets.hopCount, v);
  }
  /** Relay messages: offset in `buf` of the link address. */
  get linkAddressOffset(): number {
    return this.off + Dhcpv6Offsets.linkAddress;
  }
  /** Relay messages: offset in `buf` of the peer address. */
  get peerAddressOffset(): number {
    return this.off + Dhcpv6Offsets.peerAddress;
  }
  /** Offset in `buf` of the first option. */
  get optionsOffset(): number {
    return this.off + (this.isRelay ? DHCPV6_RELAY_HEADER_LEN : DHCPV6_HEADER_LEN);
  }
  /** Start walking the top-level options with `it` (no allocation). */
  options(it: Dhcpv6OptionIter): Dhcpv6OptionIter {
    return it.reset(this.buf, this.optionsOffset, this.off + this.len);
  }
}

/** A decoded DHCPv6 option. */
export type Dhcpv6OptionRepr =
  | { kind: 'clientId'; duid: Uint8Array }
  | { kind: 'serverId'; duid: Uint8Array }
  | { kind: 'iaNa'; iaid: number; t1: number; t2: number; options: Dhcpv6OptionRepr[] }
  | { kind: 'iaAddr'; address: bigint; preferredLifetime: number; validLifetime: number; options: Dhcpv6OptionRepr[] }
  | { kind: 'oro'; codes: number[] }
  | { kind: 'elapsedTime'; centiseconds: number }
  | { kind: 'statusCode'; status: number; message: string }
  | { kind: 'rapidCommit' }
  | { kind: 'dnsServers'; servers: bigint[] }
  | { kind: 'domainList'; domains: string[] }
  | { kind: 'relayMessage'; message: Dhcpv6Repr }
  /** Any other option (IA_TA, IA_PD, interface-id, ...): its data. */
  | { kind: 'raw'; code: number; data: Uint8Array };

/** A plain DHCPv6 message. */
export type Dhcpv6Repr =
  | { kind: 'message'; msgType: number; transactionId: number; options: Dhcpv6OptionRepr[] }
  | { kind: 'relay'; msgType: number; hopCount: number; linkAddress: bigint; peerAddress: bigint; options: Dhcpv6OptionRepr[] };

const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

type Parsed<T> = T | { err: WireErrorCode; at: number };

function isErr<T>(x: Parsed<T>): x is { err: WireErrorCode; at: number } {
  return typeof x === 'object' && x !== null && 'err' in x;
}

function parseOptions(buf: Uint8Array, off: number, end: number, overrun: WireErrorCode, depth: number): Parsed<Dhcpv6OptionRepr[]> {
  const it = new Dhcpv6OptionIter().reset(buf, off, end, overrun);
  const out: Dhcpv6OptionRepr[] = [];
  while (it.next()) {
    const o = parseOption(buf, it.code, it.dataOff, it.dataLen, depth);
    if (isErr(o)) return o;
    out.push(o);
  }
  if (it.error !== WireErrorCode.Ok) return { err: it.error, at: it.pos };
  return out;
}

function parseOption(buf: Uint8Array, code: number, d: number, n: number, depth: number): Parsed<Dhcpv6OptionRepr> {
  const bad = { err: WireErrorCode.BadOption, at: d - DHCPV6_OPTION_HEADER_LEN };
  const end = d + n;
  switch (code) {
    case Dhcpv6Option.ClientId:
      return { kind: 'clientId', duid: buf.slice(d, end) };
    case Dhcpv6Option.ServerId:
      return { kind: 'serverId', duid: buf.slice(d, end) };
    case Dhcpv6Option.IaNa: {
      if (n < 12) return bad;
      const options = parseOptions(buf, d + 12, end, WireErrorCode.BadOption, depth);
      if (isErr(options)) return options;
      return { kind: 'iaNa', iaid: u32(buf, d), t1: u32(buf, d + 4), t2: u32(buf, d + 8), options };
    }
    case Dhcpv6Option.IaAddr: {
      if (n < 24) return bad;
      const options = parseOptions(buf, d + 24, end, WireErrorCode.BadOption, depth);
      if (isErr(options)) return options;
      return { kind: 'iaAddr', address: ipv6FromBytes(buf, d), preferredLifetime: u32(buf, d + 16), validLifetime: u32(buf, d + 20), options };
    }
    case Dhcpv6Option.Oro: {
      if (n % 2 !== 0) return bad;
      const codes: number[] = [];
      for (let i = d; i < end; i += 2) codes.push(u16(buf, i));
      return { kind: 'oro', codes };
    }
    case Dhcpv6Option.ElapsedTime:
      if (n !== 2) return bad;
      return { kind: 'elapsedTime', centiseconds: u16(buf, d) };
    case Dhcpv6Option.StatusCode:
      if (n < 2) return bad;
      return { kind: 'statusCode', status: u16(buf, d), message: utf8.decode(buf.subarray(d + 2, end)) };
    case Dhcpv6Option.RapidCommit:
      if (n !== 0) return bad;
      return { kind: 'rapidCommit' };
    case Dhcpv6Option.DnsServers: {
      if (n % 16 !== 0) return bad;
      const servers: bigint[] = [];
      for (let i = d; i < end; i += 16) servers.push(ipv6FromBytes(buf, i));
      return { kind: 'dnsServers', servers };
    }
    case Dhcpv6Option.DomainList: {
      const domains: string[] = [];
      let p = d;
      while (p < end) {
        const r = decodeDnsNameUncompressed(buf, p, end);
        if (typeof r === 'number') return { err: r === WireErrorCode.Truncated ? WireErrorCode.BadOption : r, at: p };
        domains.push(r.name);
        p = r.next;
      }
      return { kind: 'domainList', domains };
    }
    case Dhcpv6Option.RelayMsg: {
      if (depth >= DHCPV6_MAX_NESTING) return { err: WireErrorCode.TooDeep, at: d };
      const m = parseMessage(buf, d, n, depth + 1);
      if (isErr(m)) return m.err === WireErrorCode.Truncated ? { err: WireErrorCode.BadOption, at: m.at } : m;
      return { kind: 'relayMessage', message: m };
    }
    default:
      return { kind: 'raw', code, data: buf.slice(d, end) };
  }
}

function parseMessage(buf: Uint8Array, off: number, len: number, depth: number): Parsed<Dhcpv6Repr> {
  const c = Dhcpv6View.check(buf, off, len);
  if (c !== WireErrorCode.Ok) return { err: c, at: off };
  const v = new Dhcpv6View().reset(buf, off, len);
  const options = parseOptions(buf, v.optionsOffset, off + len, WireErrorCode.Truncated, depth);
  if (isErr(options)) return options;
  if (v.isRelay) {
    return {
      kind: 'relay',
      msgType: v.msgType,
      hopCount: v.hopCount,
      linkAddress: ipv6FromBytes(buf, v.linkAddressOffset),
      peerAddress: ipv6FromBytes(buf, v.peerAddressOffset),
      options,
    };
  }
  return { kind: 'message', msgType: v.msgType, transactionId: v.transactionId, options };
}

/** Parse a DHCPv6 message from `len` bytes at `off`, with its nested options. */
export function parseDhcpv6(buf: Uint8Array, off = 0, len?: number): Result<Dhcpv6Repr> {
  len = checkSpan('parseDhcpv6', buf, off, len);
  const m = parseMessage(buf, off, len, 0);
  if (isErr(m)) return fail('dhcpv6', m.err, m.at - off);
  return ok(m);
}

function optionDataLen(o: Dhcpv6OptionRepr): number {
  switch (o.kind) {
    case 'clientId':
    case 'serverId':
      return o.duid.length;
    case 'iaNa':
      return 12 + optionsLen(o.options);
    case 'iaAddr':
      return 24 + optionsLen(o.options);
    case 'oro':
      return 2 * o.codes.length;
    case 'elapsedTime':
      return 2;
    case 'statusCode':
      return 2 + utf8enc.encode(o.message).length;
    case 'rapidCommit':
      return 0;
    case 'dnsServers':
      return 16 * o.servers.length;
    case 'domainList': {
      let n = 0;
      for (const x of o.domains) n += encodeDnsName(x).length;
      return n;
    }
    case 'relayMessage':
      return dhcpv6Len(o.message);
    case 'raw':
      return o.data.length;
  }
}

function optionsLen(opts: Dhcpv6OptionRepr[]): number {
  let n = 0;
  for (const o of opts) n += DHCPV6_OPTION_HEADER_LEN + optionDataLen(o);
  return n;
}

const codes: Record<Exclude<Dhcpv6OptionRepr['kind'], 'raw'>, number> = {
  clientId: Dhcpv6Option.ClientId,
  serverId: Dhcpv6Option.ServerId,
  iaNa: Dhcpv6Option.IaNa,
  iaAddr: Dhcpv6Option.IaAddr,
  oro: Dhcpv6Option.Oro,
  elapsedTime: Dhcpv6Option.ElapsedTime,
  statusCode: Dhcpv6Option.StatusCode,
  rapidCommit: Dhcpv6Option.RapidCommit,
  dnsServers: Dhcpv6Option.DnsServers,
  domainList: Dhcpv6Option.DomainList,
  relayMessage: Dhcpv6Option.RelayMsg,
};

function emitOptions(opts: Dhcpv6OptionRepr[], buf: Uint8Array, off: number): number {
  let p = off;
  for (const o of opts) {
    const n = optionDataLen(o);
    setU16(buf, p, o.kind === 'raw' ? o.code : codes[o.kind]);
    setU16(buf, p + 2, n);
    const d = p + DHCPV6_OPTION_HEADER_LEN;
    switch (o.kind) {
      case 'clientId':
      case 'serverId':
        buf.set(o.duid, d);
        break;
      case 'iaNa':
        setU32(buf, d, o.iaid);
        setU32(buf, d + 4, o.t1);
        setU32(buf, d + 8, o.t2);
        emitOptions(o.options, buf, d + 12);
        break;
      case 'iaAddr':
        ipv6ToBytes(o.address, buf, d);
        setU32(buf, d + 16, o.preferredLifetime);
        setU32(buf, d + 20, o.validLifetime);
        emitOptions(o.options, buf, d + 24);
        break;
      case 'oro':
        o.codes.forEach((c, i) => setU16(buf, d + 2 * i, c));
        break;
      case 'elapsedTime':
        setU16(buf, d, o.centiseconds);
        break;
      case 'statusCode':
        setU16(buf, d, o.status);
        buf.set(utf8enc.encode(o.message), d + 2);
        break;
      case 'rapidCommit':
        break;
      case 'dnsServers':
        o.servers.forEach((s, i) => ipv6ToBytes(s, buf, d + 16 * i));
        break;
      case 'domainList': {
        let q = d;
        for (const x of o.domains) {
          const e = encodeDnsName(x);
          buf.set(e, q);
          q += e.length;
        }
        break;
      }
      case 'relayMessage':
        emitDhcpv6(o.message, buf, d);
        break;
      case 'raw':
        buf.set(o.data, d);
        break;
    }
    p = d + n;
  }
  return p - off;
}

/** Bytes `emitDhcpv6` writes. */
export function dhcpv6Len(r: Dhcpv6Repr): number {
  return (r.kind === 'relay' ? DHCPV6_RELAY_HEADER_LEN : DHCPV6_HEADER_LEN) + optionsLen(r.options);
}

/** Write the message at `off`; returns the number of bytes written. */
export function emitDhcpv6(r: Dhcpv6Repr, buf: Uint8Array, off = 0): number {
  const n = dhcpv6Len(r);
  needRoom('dhcpv6', buf, off, n);
  buf[off] = r.msgType;
  if (r.kind === 'relay') {
    buf[off + 1] = r.hopCount;
    ipv6ToBytes(r.linkAddress, buf, off + Dhcpv6Offsets.linkAddress);
    ipv6ToBytes(r.peerAddress, buf, off + Dhcpv6Offsets.peerAddress);
    emitOptions(r.options, buf, off + DHCPV6_RELAY_HEADER_LEN);
  } else {
    setU24(buf, off + 1, r.transactionId);
    emitOptions(r.options, buf, off + DHCPV6_HEADER_LEN);
  }
  return n;
}

const typeNames: Record<number, string> = {
  1: 'Solicit',
  2: 'Advertise',
  3: 'Request',
  4: 'Confirm',
  5: 'Renew',
  6: 'Rebind',
  7: 'Reply',
  8: 'Release',
  9: 'Decline',
  10: 'Reconfigure',
  11: 'Information-request',
  12: 'Relay-forw',
  13: 'Relay-reply',
};

function findIaAddr(opts: Dhcpv6OptionRepr[]): bigint | undefined {
  for (const o of opts) {
    if (o.kind === 'iaAddr') return o.address;
    if (o.kind === 'iaNa') {
      const a = findIaAddr(o.options);
      if (a !== undefined) return a;
    }
  }
  return undefined;
}

/** One-line summary, as tshark prints it. */
export function formatDhcpv6(r: Dhcpv6Repr): string {
  const name = typeNames[r.msgType] ?? `Unknown (${r.msgType})`;
  if (r.kind === 'relay') {
    const inner = r.options.find((o) => o.kind === 'relayMessage');
    const tail = inner && inner.kind === 'relayMessage' ? ` ${formatDhcpv6(inner.message)}` : '';
    return `${name} L: ${formatIpv6(r.linkAddress)} ${tail.trimStart()}`.trimEnd();
  }
  let s = `${name} XID: 0x${r.transactionId.toString(16).padStart(6, '0')}`;
  const cid = r.options.find((o) => o.kind === 'clientId');
  if (cid && cid.kind === 'clientId') s += ` CID: ${toHex(cid.duid)}`;
  const ia = findIaAddr(r.options);
  if (ia !== undefined) s += ` IAA: ${formatIpv6(ia)}`;
  return s;
}
