/**
 * Text forms of addresses used in northbound columns, parsed the way OVN reads them: MACs,
 * IPv4/IPv6 addresses and prefixes, Logical_Switch_Port `addresses` and `port_security` entries,
 * load balancer VIPs and backends, NAT port ranges and `exclude_ips` ranges. Every parser throws
 * an `NbError` (without location; callers add table/row/column) quoting the offending text.
 */
import { parseIpv4, parseIpv6, parseMac } from '@ovnts/packet';
import { NbError } from './errors.js';

/** An IP address with its family and the text it was parsed from. */
export type IpAddr = { family: 4; addr: number; text: string } | { family: 6; addr: bigint; text: string };

/** An IP address with a prefix length (host bits are kept, as in router port `networks`). */
export type IpPrefix = IpAddr & { plen: number };

function bad(kind: string, text: string, why?: string): never {
  throw new NbError({}, `invalid ${kind} ${JSON.stringify(text)}${why ? `: ${why}` : ''}`);
}

/** Parse a MAC `aa:bb:cc:dd:ee:ff` into a 48-bit number. */
export function parseMacText(text: string): number {
  if (!/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(text)) bad('MAC address', text);
  return parseMac(text);
}

/** True if `text` is a MAC address. */
export function isMacText(text: string): boolean {
  return /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(text);
}

/** Parse an IPv4 or IPv6 address (no prefix). */
export function parseIpAddr(text: string): IpAddr {
  if (text.includes(':')) {
    if (!/^[0-9a-fA-F:.]+$/.test(text)) bad('IPv6 address', text);
    try {
      return { family: 6, addr: parseIpv6(text), text };
    } catch {
      return bad('IPv6 address', text);
    }
  }
  try {
    return { family: 4, addr: parseIpv4(text), text };
  } catch {
    return bad('IP address', text);
  }
}

/** Parse an IPv4 address only. */
export function parseIp4(text: string): IpAddr & { family: 4 } {
  const a = parseIpAddr(text);
  if (a.family !== 4) bad('IPv4 address', text);
  return a as IpAddr & { family: 4 };
}

/**
 * Parse `IP/plen` (or a bare IP, meaning /32 or /128, unless `requirePlen`). The prefix length
 * is decimal; host bits are allowed (OVN keeps them in router networks).
 */
export function parseIpPrefix(text: string, requirePlen = false): IpPrefix {
  const slash = text.indexOf('/');
  if (slash < 0) {
    if (requirePlen) bad('network', text, 'expected IP/prefix-length');
    const a = parseIpAddr(text);
    return { ...a, plen: a.family === 4 ? 32 : 128 } as IpPrefix;
  }
  const ipText = text.slice(0, slash);
  const plenText = text.slice(slash + 1);
  let a: IpAddr;
  try {
    a = parseIpAddr(ipText);
  } catch {
    return bad('CIDR', text);
  }
  const max = a.family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(plenText) || Number(plenText) > max) bad('CIDR', text, `bad prefix length ${JSON.stringify(plenText)}`);
  return { ...a, text, plen: Number(plenText) } as IpPrefix;
}

/** One entry of Logical_Switch_Port `addresses`. */
export type LspAddress =
  | { kind: 'static'; text: string; mac: number; ips: IpPrefix[] }
  | { kind: 'router'; text: string }
  | { kind: 'unknown'; text: string }
  | { kind: 'dynamic'; text: string; mac?: number; ip4?: IpAddr; ip6?: IpAddr };

function words(text: string): string[] {
  return text.split(/[ \t]+/).filter((w) => w !== '');
}

/**
 * Parse one `addresses` entry: `router`, `unknown`, `dynamic`, `MAC dynamic`,
 * `dynamic IP [IP6]`, or `MAC IP IP...` (IPs may carry a /plen).
 */
export function parseLspAddress(text: string): LspAddress {
  const w = words(text);
  if (w.length === 1 && w[0] === 'router') return { kind: 'router', text };
  if (w.length === 1 && w[0] === 'unknown') return { kind: 'unknown', text };
  const di = w.indexOf('dynamic');
  if (di >= 0) {
    if (di > 1) bad('address', text);
    const out: LspAddress = { kind: 'dynamic', text };
    if (di === 1) out.mac = parseMacText(w[0]!);
    for (const t of w.slice(di + 1)) {
      const a = parseIpAddr(t);
      if (a.family === 4) {
        if (out.ip4) bad('address', text, 'more than one IPv4 address after "dynamic"');
        out.ip4 = a;
      } else {
        if (out.ip6) bad('address', text, 'more than one IPv6 address after "dynamic"');
        out.ip6 = a;
      }
    }
    return out;
  }
  if (w.length === 0) bad('address', text, 'empty');
  if (!isMacText(w[0]!)) bad('address', text, `expected a MAC address, "router", "unknown" or "dynamic", got ${JSON.stringify(w[0])}`);
  return { kind: 'static', text, mac: parseMacText(w[0]!), ips: w.slice(1).map((t) => parseIpPrefix(t)) };
}

/** A parsed `MAC [IP...]` entry (port_security, dynamic_addresses). */
export interface MacIps {
  /** The original text. */
  text: string;
  /** The MAC address. */
  mac: number;
  /** The IP addresses or prefixes that follow. */
  ips: IpPrefix[];
}

/** Parse `MAC [IP[/plen] ...]`. */
export function parseMacIps(text: string): MacIps {
  const w = words(text);
  if (w.length === 0) bad('address', text, 'empty');
  return { text, mac: parseMacText(w[0]!), ips: w.slice(1).map((t) => parseIpPrefix(t)) };
}

/** An IP with an optional L4 port (`IP`, `IP:port`, `[IP6]:port`, bare IPv6). */
export interface IpPort {
  /** The original text. */
  text: string;
  /** Address. */
  ip: IpAddr;
  /** Port 1..65535, when given. */
  port?: number;
}

function parsePort(text: string, whole: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) bad('port', whole, 'port must be 1..65535');
  return Number(text);
}

/** Parse `IP[:port]` / `[IP6][:port]` / bare IPv6 as OVN reads load balancer VIPs and backends. */
export function parseIpPort(text: string): IpPort {
  const t = text.trim();
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    if (close < 0) bad('address', text, 'missing "]"');
    const ip = parseIpAddr(t.slice(1, close));
    if (ip.family !== 6) bad('address', text, 'brackets are for IPv6');
    const rest = t.slice(close + 1);
    if (rest === '') return { text, ip };
    if (!rest.startsWith(':')) bad('address', text);
    return { text, ip, port: parsePort(rest.slice(1), text) };
  }
  const colons = t.split(':').length - 1;
  if (colons === 1) {
    const i = t.indexOf(':');
    const ip = parseIpAddr(t.slice(0, i));
    return { text, ip, port: parsePort(t.slice(i + 1), text) };
  }
  return { text, ip: parseIpAddr(t) };
}

/** Parse a load balancer backend list `IP[:port],IP[:port],...` (empty = no backends). */
export function parseBackends(text: string): IpPort[] {
  if (text.trim() === '') return [];
  return text.split(',').map((b) => parseIpPort(b));
}

/** A port range `lo-hi` (or one port). */
export interface PortRange {
  /** First port. */
  min: number;
  /** Last port (inclusive). */
  max: number;
}

/** Parse NAT `external_port_range`: `PORT` or `LO-HI`, 1..65535. */
export function parsePortRange(text: string): PortRange {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(text);
  if (!m) bad('port range', text);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) bad('port range', text, 'must be within 1..65535 with low <= high');
  return { min: lo, max: hi };
}

/** An inclusive IPv4 range from `exclude_ips` (`A` or `A..B`). */
export interface Ip4Range {
  /** First address. */
  from: number;
  /** Last address (inclusive). */
  to: number;
}

/** Parse Logical_Switch `other_config:exclude_ips`: space separated `IP` or `IP..IP`. */
export function parseExcludeIps(text: string): Ip4Range[] {
  return words(text).map((w) => {
    const dots = w.indexOf('..');
    if (dots < 0) {
      const a = parseIp4(w).addr;
      return { from: a, to: a };
    }
    const a = parseIp4(w.slice(0, dots)).addr;
    const b = parseIp4(w.slice(dots + 2)).addr;
    if (a > b) bad('exclude_ips range', w, 'start after end');
    return { from: a, to: b };
  });
}

