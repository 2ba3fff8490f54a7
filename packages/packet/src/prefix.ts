/**
 * IP prefixes (CIDR) for the control plane: parsing, containment and overlap. Validation and
 * range arithmetic use `ip-num` (off the hot path; the data path works on numbers and masks);
 * addresses come back in our Repr forms (u32 number / bigint) so they mix with the codecs.
 */
import { IPv4CidrRange, IPv6CidrRange, Validator } from 'ip-num';
import { AddressParseError, formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './addr.js';

/** A parsed prefix: the network address (host bits cleared) and its length. */
export type Prefix =
  | { family: 4; address: number; length: number }
  | { family: 6; address: bigint; length: number };

/**
 * Parse `a.b.c.d/n` or `x::y/n` (a bare address is a host prefix). With `strict`, host bits set
 * after the prefix are an error (as `ip-num`'s validator says); otherwise they are cleared.
 */
export function parsePrefix(text: string, strict = false): Prefix {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  const v6 = addrText.includes(':');
  const max = v6 ? 128 : 32;
  if (lenText !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(lenText)) {
    throw new AddressParseError('prefix', text, 'prefix length is not a decimal number');
  }
  const length = lenText === undefined ? max : Number(lenText);
  if (length > max) throw new AddressParseError('prefix', text, `prefix length ${length} exceeds ${max}`);
  if (strict) {
    const [valid, why] = v6 ? Validator.isValidIPv6CidrNotation(`${addrText}/${length}`) : Validator.isValidIPv4CidrNotation(`${addrText}/${length}`);
    if (!valid) throw new AddressParseError('prefix', text, why.join('; ') || 'not a valid CIDR');
  }
  if (v6) {
    const a = parseIpv6(addrText);
    const mask = length === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - length)) - 1n);
    if (strict && (a & ~mask & ((1n << 128n) - 1n)) !== 0n) throw new AddressParseError('prefix', text, 'host bits are set');
    return { family: 6, address: a & mask, length };
  }
  const a = parseIpv4(addrText);
  const mask = length === 0 ? 0 : (0xffff_ffff << (32 - length)) >>> 0;
  if (strict && ((a & ~mask) >>> 0) !== 0) throw new AddressParseError('prefix', text, 'host bits are set');
  return { family: 4, address: (a & mask) >>> 0, length };
}

/** A prefix as text. */
export function formatPrefix(p: Prefix): string {
  return `${p.family === 4 ? formatIpv4(p.address) : formatIpv6(p.address)}/${p.length}`;
}

function range(p: Prefix): IPv4CidrRange | IPv6CidrRange {
  return p.family === 4 ? IPv4CidrRange.fromCidr(formatPrefix(p)) : IPv6CidrRange.fromCidr(formatPrefix(p));
}

/** True if `inner` lies wholly inside `outer` (same family). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || inner.length < outer.length) return false;
  return (range(outer) as IPv4CidrRange).contains(range(inner) as IPv4CidrRange);
}

/** True if the two prefixes share any address. */
export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}

/** True if `address` (u32 number or bigint, per family) is inside `p`. */
export function prefixHas(p: Prefix, address: number | bigint): boolean {
  if (p.family === 4) {
    if (typeof address !== 'number') return false;
    const mask = p.length === 0 ? 0 : (0xffff_ffff << (32 - p.length)) >>> 0;
    return ((address & mask) >>> 0) === p.address;
  }
  if (typeof address !== 'bigint') return false;
  return address >> BigInt(128 - p.length) === p.address >> BigInt(128 - p.length);
}
