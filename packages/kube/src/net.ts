/**
 * IP addresses and prefixes as the Kubernetes layer needs them: parsing (IPv4 dotted quads,
 * IPv6 with `::`, both families in one `bigint` representation), formatting (RFC 5952 for IPv6),
 * containment and overlap, the n-th subnet of a prefix, and the n-th host of a subnet.
 */
import { formatIpv4, formatIpv6 } from '@ovnts/packet';
import { KubeError, type KubeErrorWhere } from './errors.js';

/** An address family. */
export type Family = 4 | 6;

/** An IP address. */
export interface Ip {
  /** Family. */
  readonly family: Family;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly addr: bigint;
}

/** A prefix (host bits kept as written). */
export interface Cidr extends Ip {
  /** Prefix length. */
  readonly plen: number;
}

const bits = (f: Family) => (f === 4 ? 32 : 128);

/** Parse an IP address; undefined when malformed. */
export function tryParseIp(s: string): Ip | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) {
    const parts = s.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return { family: 4, addr: BigInt(((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) };
  }
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let text = s;
  let tail: bigint[] = [];
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    const v4 = tryParseIp(m[2]!);
    if (!v4) return undefined;
    text = `${m[1]}0:0`;
    tail = [v4.addr];
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const grp = (h: string) => (h === '' ? [] : h.split(':'));
  const a = grp(halves[0]!);
  const b = halves.length === 2 ? grp(halves[1]!) : [];
  if ([...a, ...b].some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const fill = 8 - a.length - b.length;
  if ((halves.length === 2 && fill < 1) || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...a, ...Array(halves.length === 2 ? fill : 0).fill('0'), ...b];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  if (tail.length) v = (v & ~0xffffffffn) | tail[0]!;
  return { family: 6, addr: v };
}

/** Parse a prefix `IP/len`; undefined when malformed. */
export function tryParseCidr(s: string): Cidr | undefined {
  const i = s.indexOf('/');
  if (i < 0) return undefined;
  const ip = tryParseIp(s.slice(0, i));
  const len = s.slice(i + 1);
  if (!ip || !/^\d{1,3}$/.test(len) || Number(len) > bits(ip.family)) return undefined;
  return { ...ip, plen: Number(len) };
}

/** Parse an IP or throw a located `KubeError`. */
export function parseIp(s: unknown, where: KubeErrorWhere): Ip {
  const ip = typeof s === 'string' ? tryParseIp(s) : undefined;
  if (!ip) throw new KubeError(where, `invalid IP address ${JSON.stringify(s)}`);
  return ip;
}

/** Parse a prefix or throw a located `KubeError`. */
export function parseCidr(s: unknown, where: KubeErrorWhere): Cidr {
  const c = typeof s === 'string' ? tryParseCidr(s) : undefined;
  if (!c) throw new KubeError(where, `invalid CIDR ${JSON.stringify(s)}`);
  return c;
}

/** Format an address (IPv6 in RFC 5952 form). */
export function formatIp(ip: Ip): string {
  return ip.family === 4 ? formatIpv4(ip.addr) : formatIpv6(ip.addr);
}

/** Format a prefix. */
export function formatCidr(c: Cidr): string {
  return `${formatIp(c)}/${c.plen}`;
}

/** The network mask of a prefix length. */
export function maskOf(f: Family, plen: number): bigint {
  const w = BigInt(bits(f));
  return ((1n << w) - 1n) ^ ((1n << (w - BigInt(plen))) - 1n);
}

/** The network address of a prefix (host bits cleared). */
export function network(c: Cidr): Cidr {
  return { family: c.family, addr: c.addr & maskOf(c.family, c.plen), plen: c.plen };
}

/** Whether `ip` is inside `c`. */
export function contains(c: Cidr, ip: Ip): boolean {
  return c.family === ip.family && (ip.addr & maskOf(c.family, c.plen)) === (c.addr & maskOf(c.family, c.plen));
}

/** Whether two prefixes share an address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const p = Math.min(a.plen, b.plen);
  const m = maskOf(a.family, p);
  return (a.addr & m) === (b.addr & m);
}

/** The `index`-th subnet of length `plen` inside `c`, or undefined when `c` has fewer. */
export function nthSubnet(c: Cidr, plen: number, index: number): Cidr | undefined {
  if (plen < c.plen || plen > bits(c.family)) return undefined;
  const count = 1n << BigInt(plen - c.plen);
  if (BigInt(index) >= count) return undefined;
  const base = network(c).addr;
  return { family: c.family, addr: base + (BigInt(index) << BigInt(bits(c.family) - plen)), plen };
}

/** The address at `offset` inside prefix `c` (network address + offset), with c's length. */
export function hostAt(c: Cidr, offset: number | bigint): Cidr {
  return { family: c.family, addr: network(c).addr + BigInt(offset), plen: c.plen };
}

/** Number of addresses in a prefix. */
export function size(c: Cidr): bigint {
  return 1n << BigInt(bits(c.family) - c.plen);
}

/** Equality of addresses. */
export function sameIp(a: Ip, b: Ip): boolean {
  return a.family === b.family && a.addr === b.addr;
}

/** OVN-Kubernetes's `IPAddrToHWAddr`: `0a:58` + the IPv4 bytes, or the first 4 bytes of SHA-256 of an IPv6 address text. */
export function ipToMac(ip: Ip, sha256: (s: string) => Uint8Array): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  if (ip.family === 4) {
    const a = Number(ip.addr);
    return `0a:58:${hex(a >>> 24)}:${hex((a >>> 16) & 255)}:${hex((a >>> 8) & 255)}:${hex(a & 255)}`;
  }
  const h = sha256(formatIp(ip));
  return `0a:58:${hex(h[0]!)}:${hex(h[1]!)}:${hex(h[2]!)}:${hex(h[3]!)}`;
}
