/**
 * Port addresses the way ovn-northd holds them (`struct lport_addresses` in lib/ovn-util.c):
 * a MAC and lists of IPv4/IPv6 addresses with their prefix, network, broadcast and (IPv6)
 * solicited-node multicast address, each also as the text inet_ntop gives. Router port
 * networks always gain the EUI-64 link-local address derived from the port MAC.
 */
import { formatIpv4, formatIpv6Ntop as formatIpv6, formatMac } from '@ovnts/packet';
import type { IpPrefix } from '../nb/addresses.js';

/** One IPv4 address of a port. */
export interface Ip4NetAddr {
  /** Address. */
  readonly addr: number;
  /** Prefix length. */
  readonly plen: number;
  /** Netmask. */
  readonly mask: number;
  /** Network address. */
  readonly network: number;
  /** Address text. */
  readonly addrS: string;
  /** Network text. */
  readonly networkS: string;
  /** Broadcast text. */
  readonly bcastS: string;
}

/** One IPv6 address of a port. */
export interface Ip6NetAddr {
  /** Address. */
  readonly addr: bigint;
  /** Prefix length. */
  readonly plen: number;
  /** Network address. */
  readonly network: bigint;
  /** Address text (RFC 5952, as inet_ntop). */
  readonly addrS: string;
  /** Network text. */
  readonly networkS: string;
  /** Solicited-node multicast address text. */
  readonly snAddrS: string;
}

/** A MAC with its IPv4 and IPv6 addresses (`struct lport_addresses`). */
export interface LportAddresses {
  /** MAC as a 48-bit number. */
  readonly ea: number;
  /** MAC text, lower case, two digits per octet. */
  readonly eaS: string;
  /** IPv4 addresses in the order given. */
  readonly ipv4: Ip4NetAddr[];
  /** IPv6 addresses in the order given. */
  readonly ipv6: Ip6NetAddr[];
}

const ALL6 = (1n << 128n) - 1n;

/** IPv4 netmask for a prefix length. */
export function mask4(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}

/** IPv6 netmask for a prefix length. */
export function mask6(plen: number): bigint {
  return plen === 0 ? 0n : (ALL6 << BigInt(128 - plen)) & ALL6;
}

/** An IPv4 address record. */
export function ip4NetAddr(addr: number, plen: number): Ip4NetAddr {
  const mask = mask4(plen);
  const network = (addr & mask) >>> 0;
  return { addr, plen, mask, network, addrS: formatIpv4(addr), networkS: formatIpv4(network), bcastS: formatIpv4((addr | ~mask) >>> 0) };
}

/** Solicited-node multicast address ff02::1:ffXX:XXXX of an IPv6 address. */
export function solicitedNode(addr: bigint): bigint {
  return (0xff020000000000000000000000000000n | 0x1ff000000n) | (addr & 0xffffffn);
}

/** An IPv6 address record. */
export function ip6NetAddr(addr: bigint, plen: number): Ip6NetAddr {
  const network = addr & mask6(plen);
  return { addr, plen, network, addrS: formatIpv6(addr), networkS: formatIpv6(network), snAddrS: formatIpv6(solicitedNode(addr)) };
}

/** EUI-64 link-local address fe80::/64 for a MAC (`in6_generate_lla`). */
export function linkLocal(mac: number): bigint {
  const hi = Math.floor(mac / 2 ** 24);
  const lo = mac % 2 ** 24;
  const eui = ((BigInt(hi ^ 0x020000) << 40n) | (0xfffen << 24n) | BigInt(lo));
  return (0xfe80n << 112n) | eui;
}

/** Addresses from a MAC and parsed IPs (an `addresses`/`port_security` entry). */
export function lportAddresses(mac: number, ips: readonly IpPrefix[]): LportAddresses {
  const out: LportAddresses = { ea: mac, eaS: formatMac(mac), ipv4: [], ipv6: [] };
  for (const ip of ips) {
    if (ip.family === 4) out.ipv4.push(ip4NetAddr(ip.addr, ip.plen));
    else out.ipv6.push(ip6NetAddr(ip.addr, ip.plen));
  }
  return out;
}

/** Router port networks plus the link-local address (`extract_lrp_networks`). */
export function lrpNetworks(mac: number, networks: readonly IpPrefix[]): LportAddresses {
  const out = lportAddresses(
    mac,
    networks.filter((n) => !(n.family === 4 && n.addr === 0)),
  );
  out.ipv6.push(ip6NetAddr(linkLocal(mac), 64));
  return out;
}

/** Parse `MAC [IP[/plen]...]` loosely (as `extract_lsp_addresses`), undefined without a MAC. */
export function parseLportAddresses(text: string): LportAddresses | undefined {
  const w = text.trim().split(/\s+/);
  const m = /^([0-9a-fA-F]{1,2})(?::([0-9a-fA-F]{1,2})){5}$/.test(w[0] ?? '');
  if (!m) return undefined;
  const mac = w[0]!.split(':').reduce((v, x) => v * 256 + parseInt(x, 16), 0);
  const out: LportAddresses = { ea: mac, eaS: formatMac(mac), ipv4: [], ipv6: [] };
  for (const t of w.slice(1)) {
    const p = parseCidr(t);
    if (!p) break;
    if (p.family === 4) out.ipv4.push(ip4NetAddr(p.addr as number, p.plen));
    else out.ipv6.push(ip6NetAddr(p.addr as bigint, p.plen));
  }
  return out;
}

/** Parse `IP[/plen]`; undefined when it is not one. */
export function parseCidr(t: string): { family: 4 | 6; addr: number | bigint; plen: number } | undefined {
  const [ip, pl] = t.split('/');
  if (ip === undefined) return undefined;
  const v4 = parseIp4Text(ip);
  if (v4 !== undefined) {
    const plen = pl === undefined ? 32 : Number(pl);
    if (!Number.isInteger(plen) || plen < 0 || plen > 32) return undefined;
    return { family: 4, addr: v4, plen };
  }
  const v6 = parseIp6Text(ip);
  if (v6 !== undefined) {
    const plen = pl === undefined ? 128 : Number(pl);
    if (!Number.isInteger(plen) || plen < 0 || plen > 128) return undefined;
    return { family: 6, addr: v6, plen };
  }
  return undefined;
}

/** Dotted-quad IPv4 to a number, or undefined. */
export function parseIp4Text(t: string): number | undefined {
  const p = t.split('.');
  if (p.length !== 4 || !p.every((x) => /^[0-9]{1,3}$/.test(x) && Number(x) <= 255)) return undefined;
  return p.reduce((v, x) => v * 256 + Number(x), 0) >>> 0;
}

/** IPv6 text to a bigint, or undefined. */
export function parseIp6Text(t: string): bigint | undefined {
  if (!t.includes(':') || !/^[0-9a-fA-F:.]+$/.test(t)) return undefined;
  let s = t;
  const lc = s.lastIndexOf(':');
  if (s.includes('.', lc)) {
    const v4 = parseIp4Text(s.slice(lc + 1));
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lc + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const dbl = s.split('::');
  if (dbl.length > 2) return undefined;
  const head = dbl[0] ? dbl[0].split(':') : [];
  const tail = dbl.length === 2 && dbl[1] ? dbl[1].split(':') : [];
  const n = head.length + tail.length;
  if ((dbl.length === 1 && n !== 8) || n > 8 || (dbl.length === 2 && n > 7)) return undefined;
  const groups = [...head, ...Array(8 - n).fill('0'), ...tail];
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** Normalised text of an IP address as inet_ntop would print it (or undefined). */
export function normalizeIp(t: string): string | undefined {
  const v4 = parseIp4Text(t);
  if (v4 !== undefined) return formatIpv4(v4);
  const v6 = parseIp6Text(t);
  return v6 === undefined ? undefined : formatIpv6(v6);
}
