/**
 * Address text forms. In a `Repr`, a MAC is a 48-bit number, an IPv4 address a 32-bit unsigned
 * number and an IPv6 address a 128-bit bigint; these helpers convert to and from text.
 * IPv6 text follows RFC 5952 (lower case, longest zero run compressed, first on ties, no
 * compression of a single zero group, dotted quad only for IPv4-mapped addresses).
 */

/** Raised when an address string cannot be parsed. */
export class AddressParseError extends TypeError {
  override readonly name = 'AddressParseError';
  constructor(
    readonly kind: 'mac' | 'ipv4' | 'ipv6' | 'prefix',
    readonly input: string,
    reason: string,
  ) {
    super(`invalid ${kind} address ${JSON.stringify(input)}: ${reason}`);
  }
}

/** A MAC address as a 48-bit number to `aa:bb:cc:dd:ee:ff`. */
export function formatMac(mac: number): string {
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const byte = Math.floor(mac / 2 ** (8 * i)) & 0xff;
    s += (byte < 16 ? '0' : '') + byte.toString(16) + (i ? ':' : '');
  }
  return s;
}

/** `aa:bb:cc:dd:ee:ff` (or `-` separated) to a 48-bit number. */
export function parseMac(text: string): number {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6) throw new AddressParseError('mac', text, 'expected six hex octets');
  let v = 0;
  for (const p of parts) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) throw new AddressParseError('mac', text, `bad octet ${JSON.stringify(p)}`);
    v = v * 256 + parseInt(p, 16);
  }
  return v;
}

/** An IPv4 address (an unsigned 32-bit number, or a bigint whose low 32 bits are used) to dotted quad. */
export function formatIpv4(a: number | bigint): string {
  const n = typeof a === 'bigint' ? Number(a & 0xffffffffn) : a;
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Dotted quad to an unsigned 32-bit number. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new AddressParseError('ipv4', text, 'expected four decimal octets');
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) {
      throw new AddressParseError('ipv4', text, `bad octet ${JSON.stringify(p)}`);
    }
    v = v * 256 + Number(p);
  }
  return v >>> 0;
}

/**
 * An IPv6 address as a bigint to RFC 5952 text: lower-case hex, leading zeros dropped, the
 * longest run of two or more zero groups (the first of equal runs) as `::`, and an IPv4-mapped
 * address with its dotted tail (`::ffff:192.0.2.1`, RFC 5952 section 5). What tshark prints; for
 * what OVS and OVN print, see `formatIpv6Ntop`.
 */
export function formatIpv6(a: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((a >> BigInt(16 * i)) & 0xffffn));
  // IPv4-mapped ::ffff:a.b.c.d keeps its dotted tail (RFC 5952 section 5).
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIpv4(((g[6]! << 16) | g[7]!) >>> 0)}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/**
 * An IPv6 address as glibc's `inet_ntop` writes it, which is how Open vSwitch
 * (`ipv6_format_addr`) and OVN print addresses: RFC 5952 (`formatIpv6`) except that an
 * IPv4-compatible address (the first 96 bits zero, not `::` and not `::0.0.0.x`) also keeps a
 * dotted tail: `::192.0.2.1`, where RFC 5952 writes `::c000:201`.
 */
export function formatIpv6Ntop(a: bigint): string {
  const high = a >> 32n;
  if (high === 0n && a >> 16n !== 0n) return `::${formatIpv4(a)}`;
  return formatIpv6(a);
}

/** IPv6 text (any valid RFC 4291 form, including a dotted IPv4 tail) to a bigint. */
export function parseIpv6(text: string): bigint {
  const bad = (why: string): never => {
    throw new AddressParseError('ipv6', text, why);
  };
  let s = text;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.includes('.', lastColon)) {
    // An embedded dotted IPv4 tail becomes two hex groups.
    const v4 = parseIpv4Safe(s.slice(lastColon + 1)) ?? bad('bad embedded IPv4 address');
    s = `${s.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) bad('more than one "::"');
  const groups = (h: string): number[] =>
    h === ''
      ? []
      : h.split(':').map((x) => (/^[0-9a-fA-F]{1,4}$/.test(x) ? parseInt(x, 16) : bad(`bad group ${JSON.stringify(x)}`)));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const total = head.length + rest.length;
  let all: number[];
  if (halves.length === 2) {
    if (total > 7) bad('too many groups around "::"');
    all = [...head, ...new Array<number>(8 - total).fill(0), ...rest];
  } else {
    if (total !== 8) bad('expected eight groups');
    all = head;
  }
  let v = 0n;
  for (const x of all) v = (v << 16n) | BigInt(x);
  return v;
}

function parseIpv4Safe(text: string): number | undefined {
  try {
    return parseIpv4(text);
  } catch {
    return undefined;
  }
}

/** Read a 16-byte IPv6 address from a buffer as a bigint. */
export function ipv6FromBytes(b: Uint8Array, off: number): bigint {
  let v = 0n;
  for (let i = 0; i < 16; i += 4) {
    v = (v << 32n) | BigInt(((b[off + i]! << 24) | (b[off + i + 1]! << 16) | (b[off + i + 2]! << 8) | b[off + i + 3]!) >>> 0);
  }
  return v;
}

/** Write an IPv6 address given as a bigint into 16 bytes of a buffer. */
export function ipv6ToBytes(a: bigint, b: Uint8Array, off: number): void {
  for (let i = 15; i >= 0; i--) {
    b[off + i] = Number(a & 0xffn);
    a >>= 8n;
  }
}

/** Read a 6-byte MAC from a buffer as a number. */
export function macFromBytes(b: Uint8Array, off: number): number {
  return ((b[off]! << 8) | b[off + 1]!) * 0x1_0000_0000 + (((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>> 0);
}

/** Write a MAC given as a number into 6 bytes of a buffer. */
export function macToBytes(mac: number, b: Uint8Array, off: number): void {
  const hi = Math.floor(mac / 0x1_0000_0000);
  const lo = mac >>> 0;
  b[off] = (hi >>> 8) & 0xff;
  b[off + 1] = hi & 0xff;
  b[off + 2] = lo >>> 24;
  b[off + 3] = (lo >>> 16) & 0xff;
  b[off + 4] = (lo >>> 8) & 0xff;
  b[off + 5] = lo & 0xff;
}
