/**
 * The baselines the benchmarks compare against, written the straightforward way a Node program
 * would: `Buffer.readUInt*` / `writeUInt*` calls, one object per header, fresh buffers and copies
 * (and, for parsing, `buffer-layout` structures as a second baseline). Each does the same work
 * as the library code it is measured against and produces the same fields or bytes; every
 * benchmark checks that on all its frames before timing anything.
 *
 * The baselines are deliberately not strawmen: MAC addresses are read as 48-bit numbers
 * (`readUIntBE(o, 6)`), the representation our views use, rather than as hex text; the
 * encapsulation baseline builds the outer headers with the same template values and the same
 * flow hash, and the decapsulation baseline verifies the same checksums.
 */
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';

// ---------------------------------------------------------------------------------------------
// Parsing: outer Ethernet/IPv4/UDP/Geneve + inner Ethernet/IPv4/TCP

/** One Geneve option as baseline A decodes it. */
export interface DecodedOption {
  cls: number;
  type: number;
  data: Buffer;
}

/** Headers of an outer Ethernet/IPv4/UDP/Geneve + inner Ethernet/IPv4/TCP frame (baseline A). */
export interface DecodedFrame {
  eth: { dst: number; src: number; type: number };
  ip: { ihl: number; totalLength: number; ttl: number; proto: number; src: number; dst: number };
  udp: { src: number; dst: number; length: number };
  geneve: { optLen: number; protocol: number; vni: number; options: DecodedOption[]; ovn: { ingress: number; egress: number } | undefined };
  inner: {
    eth: { dst: number; src: number; type: number };
    ip: { ihl: number; totalLength: number; ttl: number; proto: number; src: number; dst: number };
    tcp: { src: number; dst: number; seq: number; ack: number; flags: number };
  };
}

function eth(b: Buffer, o: number) {
  return { dst: b.readUIntBE(o, 6), src: b.readUIntBE(o + 6, 6), type: b.readUInt16BE(o + 12) };
}
function ip(b: Buffer, o: number) {
  return {
    ihl: b.readUInt8(o) & 0x0f,
    totalLength: b.readUInt16BE(o + 2),
    ttl: b.readUInt8(o + 8),
    proto: b.readUInt8(o + 9),
    src: b.readUInt32BE(o + 12),
    dst: b.readUInt32BE(o + 16),
  };
}

/** Decode with Buffer.readUInt* and an object per header (baseline A). Throws RangeError on short input. */
export function decodeWithBuffer(b: Buffer): DecodedFrame {
  let o = 0;
  const e = eth(b, o);
  o += 14;
  const i = ip(b, o);
  o += i.ihl * 4;
  const u = { src: b.readUInt16BE(o), dst: b.readUInt16BE(o + 2), length: b.readUInt16BE(o + 4) };
  o += 8;
  const optLen = (b.readUInt8(o) & 0x3f) * 4;
  const g = {
    optLen,
    protocol: b.readUInt16BE(o + 2),
    vni: b.readUIntBE(o + 4, 3),
    options: [] as DecodedOption[],
    ovn: undefined as { ingress: number; egress: number } | undefined,
  };
  let p = o + 8;
  const end = p + optLen;
  while (p < end) {
    const len = (b.readUInt8(p + 3) & 0x1f) * 4;
    g.options.push({ cls: b.readUInt16BE(p), type: b.readUInt8(p + 2), data: b.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  const ovn = g.options.find((x) => x.cls === 0x0102 && x.type === 0x80 && x.data.length === 4);
  if (ovn) {
    const v = ovn.data.readUInt32BE(0);
    g.ovn = { ingress: (v >>> 16) & 0x7fff, egress: v & 0xffff };
  }
  o = end;
  const ie = eth(b, o);
  o += 14;
  const ii = ip(b, o);
  o += ii.ihl * 4;
  const t = { src: b.readUInt16BE(o), dst: b.readUInt16BE(o + 2), seq: b.readUInt32BE(o + 4), ack: b.readUInt32BE(o + 8), flags: b.readUInt16BE(o + 12) & 0x1ff };
  return { eth: e, ip: i, udp: u, geneve: g, inner: { eth: ie, ip: ii, tcp: t } };
}

interface Layout<T> {
  decode(b: Buffer, o: number): T;
  span: number;
}
interface BL {
  struct<T>(fields: unknown[]): Layout<T>;
  blob(n: number, prop: string): unknown;
  u8(p?: string): Layout<number>;
  u16be(p?: string): Layout<number>;
  u32be(p?: string): Layout<number>;
  u24be(p?: string): Layout<number>;
}
const BufferLayout = createRequire(import.meta.url)('buffer-layout') as BL;

/** buffer-layout's Ethernet header. */
export interface BlEth { dst: Uint8Array; src: Uint8Array; type: number }
/** buffer-layout's IPv4 header. */
export interface BlIp { vihl: number; tos: number; totalLength: number; id: number; frag: number; ttl: number; proto: number; csum: number; src: number; dst: number }
/** buffer-layout's UDP header. */
export interface BlUdp { src: number; dst: number; length: number; csum: number }
/** buffer-layout's Geneve base header. */
export interface BlGeneve { verOptLen: number; flags: number; protocol: number; vni: number; rsvd: number }
/** buffer-layout's Geneve option TLV header. */
export interface BlOption { cls: number; type: number; len: number }
/** buffer-layout's TCP header (fixed part we read). */
export interface BlTcp { src: number; dst: number; seq: number; ack: number; offFlags: number }
/** What baseline B returns. */
export interface BufferLayoutFrame {
  e: BlEth; i: BlIp; u: BlUdp; g: BlGeneve; opts: BlOption[]; ovn: { ingress: number; egress: number } | undefined; ie: BlEth; ii: BlIp; t: BlTcp;
}

const L = BufferLayout;
const ethL = L.struct<BlEth>([L.blob(6, 'dst'), L.blob(6, 'src'), L.u16be('type')]);
const ipL = L.struct<BlIp>([
  L.u8('vihl'), L.u8('tos'), L.u16be('totalLength'), L.u16be('id'),
  L.u16be('frag'), L.u8('ttl'), L.u8('proto'), L.u16be('csum'),
  L.u32be('src'), L.u32be('dst'),
]);
const udpL = L.struct<BlUdp>([L.u16be('src'), L.u16be('dst'), L.u16be('length'), L.u16be('csum')]);
const genL = L.struct<BlGeneve>([L.u8('verOptLen'), L.u8('flags'), L.u16be('protocol'), L.u24be('vni'), L.u8('rsvd')]);
const optL = L.struct<BlOption>([L.u16be('cls'), L.u8('type'), L.u8('len')]);
const u32L = L.u32be();
const tcpL = L.struct<BlTcp>([L.u16be('src'), L.u16be('dst'), L.u32be('seq'), L.u32be('ack'), L.u16be('offFlags')]);

/** Decode the same headers with buffer-layout structures, one object per header (baseline B). */
export function decodeWithBufferLayout(b: Buffer): BufferLayoutFrame {
  let o = 0;
  const e = ethL.decode(b, o);
  o += 14;
  const i = ipL.decode(b, o);
  o += (i.vihl & 0x0f) * 4;
  const u = udpL.decode(b, o);
  o += 8;
  const g = genL.decode(b, o);
  let p = o + 8;
  o = p + (g.verOptLen & 0x3f) * 4;
  const opts: BlOption[] = [];
  let ovn: { ingress: number; egress: number } | undefined;
  while (p < o) {
    const opt = optL.decode(b, p);
    opts.push(opt);
    if (opt.cls === 0x0102 && opt.type === 0x80 && (opt.len & 0x1f) === 1) {
      const v = u32L.decode(b, p + 4);
      ovn = { ingress: (v >>> 16) & 0x7fff, egress: v & 0xffff };
    }
    p += 4 + (opt.len & 0x1f) * 4;
  }
  const ie = ethL.decode(b, o);
  o += 14;
  const ii = ipL.decode(b, o);
  o += (ii.vihl & 0x0f) * 4;
  const t = tcpL.decode(b, o);
  return { e, i, u, g, opts, ovn, ie, ii, t };
}

// ---------------------------------------------------------------------------------------------
// Geneve encapsulation and decapsulation

/** The outer headers the encapsulation baseline builds (the same values as the `TunnelEncap` it is compared with). */
export interface BaselineTunnel {
  ethSrc: number;
  ethDst: number;
  src: number;
  dst: number;
  ttl: number;
  udpChecksum: boolean;
  /** IPv4 identification, used then incremented. */
  ident: number;
}

function checksum(b: Buffer, o: number, len: number, initial = 0): number {
  let sum = initial;
  let i = 0;
  for (; i + 1 < len; i += 2) sum += b.readUInt16BE(o + i);
  if (i < len) sum += b.readUInt8(o + i) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

function mix(h: number, d: number): number {
  d = Math.imul(d, 0xcc9e2d51);
  d = (d << 15) | (d >>> 17);
  d = Math.imul(d, 0x1b873593);
  h ^= d;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The UDP source port for an inner IPv4 frame: MurmurHash3 of addresses, protocol and ports (as OVS and Linux do). */
function sourcePort(inner: Buffer): number {
  let h = 0;
  h = mix(h, inner.readUInt32BE(26));
  h = mix(h, inner.readUInt32BE(30));
  const proto = inner.readUInt8(23);
  h = mix(h, proto);
  const ihl = (inner.readUInt8(14) & 0x0f) * 4;
  if ((inner.readUInt16BE(20) & 0x3fff) === 0 && (proto === 6 || proto === 17)) h = mix(h, inner.readUInt32BE(14 + ihl));
  h ^= 12;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return 49152 + Math.floor(((h >>> 0) * 16384) / 0x1_0000_0000);
}

/** Encapsulate an inner IPv4 frame: a fresh Buffer per header, `writeUInt*`, then `Buffer.concat`. */
export function encapWithBuffers(t: BaselineTunnel, inner: Buffer, vni: number, ingress: number, egress: number): Buffer {
  const e = Buffer.alloc(14);
  e.writeUIntBE(t.ethDst, 0, 6);
  e.writeUIntBE(t.ethSrc, 6, 6);
  e.writeUInt16BE(0x0800, 12);

  const gen = Buffer.alloc(16);
  gen.writeUInt8(2, 0); // version 0, options: 2 words
  gen.writeUInt8(0x40, 1); // C: OVN's option is critical
  gen.writeUInt16BE(0x6558, 2);
  gen.writeUIntBE(vni, 4, 3);
  gen.writeUInt16BE(0x0102, 8);
  gen.writeUInt8(0x80, 10);
  gen.writeUInt8(1, 11);
  gen.writeUInt32BE(((ingress << 16) | egress) >>> 0, 12);

  const udpLen = 8 + gen.length + inner.length;
  const u = Buffer.alloc(8);
  u.writeUInt16BE(sourcePort(inner), 0);
  u.writeUInt16BE(6081, 2);
  u.writeUInt16BE(udpLen, 4);

  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0);
  ip.writeUInt16BE(20 + udpLen, 2);
  ip.writeUInt16BE(t.ident, 4);
  t.ident = (t.ident + 1) & 0xffff;
  ip.writeUInt16BE(0x4000, 6);
  ip.writeUInt8(t.ttl, 8);
  ip.writeUInt8(17, 9);
  ip.writeUInt32BE(t.src, 12);
  ip.writeUInt32BE(t.dst, 16);
  ip.writeUInt16BE(checksum(ip, 0, 20), 10);

  const out = Buffer.concat([e, ip, u, gen, inner]);
  if (t.udpChecksum) {
    const pseudo = (t.src >>> 16) + (t.src & 0xffff) + (t.dst >>> 16) + (t.dst & 0xffff) + 17 + udpLen;
    const c = checksum(out, 34, udpLen, pseudo);
    out.writeUInt16BE(c === 0 ? 0xffff : c, 40);
  }
  return out;
}

/** What the decapsulation baseline returns. */
export interface BaselineDecap {
  src: number;
  dst: number;
  tos: number;
  ttl: number;
  dontFragment: boolean;
  srcPort: number;
  dstPort: number;
  udpChecksum: number;
  vni: number;
  oam: boolean;
  critical: boolean;
  protocolType: number;
  options: DecodedOption[];
  ovn: { ingress: number; egress: number } | undefined;
  inner: Buffer;
}

/** A baseline decapsulation failure. */
export class BaselineDecapError extends RangeError {
  override readonly name = 'BaselineDecapError';
}

/**
 * Decapsulate an outer Ethernet/IPv4/UDP/Geneve frame with `Buffer.readUInt*`, objects per
 * header and option, verifying the IPv4 header checksum and a non-zero UDP checksum (as
 * `decapsulate()` does). The inner frame is a `subarray` (no copy). Throws on anything else.
 */
export function decapWithBuffer(b: Buffer): BaselineDecap {
  if (b.readUInt16BE(12) !== 0x0800) throw new BaselineDecapError('not IPv4');
  const ihl = (b.readUInt8(14) & 0x0f) * 4;
  const totalLength = b.readUInt16BE(16);
  if (checksum(b, 14, ihl) !== 0) throw new BaselineDecapError('bad IPv4 checksum');
  const frag = b.readUInt16BE(20);
  if ((frag & 0x3fff) !== 0 || b.readUInt8(23) !== 17) throw new BaselineDecapError('not an unfragmented UDP datagram');
  const src = b.readUInt32BE(26);
  const dst = b.readUInt32BE(30);
  const u = 14 + ihl;
  const udpLen = b.readUInt16BE(u + 4);
  if (udpLen < 8 || u + udpLen > 14 + totalLength) throw new BaselineDecapError('bad UDP length');
  const udp = { srcPort: b.readUInt16BE(u), dstPort: b.readUInt16BE(u + 2), checksum: b.readUInt16BE(u + 6) };
  if (udp.dstPort !== 6081) throw new BaselineDecapError('not Geneve');
  if (udp.checksum !== 0) {
    const pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 17 + udpLen;
    if (checksum(b, u, udpLen, pseudo) !== 0) throw new BaselineDecapError('bad UDP checksum');
  }
  const g = u + 8;
  const optLen = (b.readUInt8(g) & 0x3f) * 4;
  const flags = b.readUInt8(g + 1);
  const options: DecodedOption[] = [];
  let p = g + 8;
  const end = p + optLen;
  while (p < end) {
    const len = (b.readUInt8(p + 3) & 0x1f) * 4;
    options.push({ cls: b.readUInt16BE(p), type: b.readUInt8(p + 2), data: b.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  const o = options.find((x) => x.cls === 0x0102 && x.type === 0x80 && x.data.length === 4);
  const keys = o ? o.data.readUInt32BE(0) : -1;
  return {
    src,
    dst,
    tos: b.readUInt8(15),
    ttl: b.readUInt8(22),
    dontFragment: (frag & 0x4000) !== 0,
    srcPort: udp.srcPort,
    dstPort: udp.dstPort,
    udpChecksum: udp.checksum,
    vni: b.readUIntBE(g + 4, 3),
    oam: (flags & 0x80) !== 0,
    critical: (flags & 0x40) !== 0,
    protocolType: b.readUInt16BE(g + 2),
    options,
    ovn: keys >= 0 && (keys & 0x80000000) === 0 ? { ingress: keys >>> 16, egress: keys & 0xffff } : undefined,
    inner: b.subarray(end, u + udpLen),
  };
}

// ---------------------------------------------------------------------------------------------
// pcap reading

/** One frame as the pcap baseline hands it out (a copy). */
export interface BaselinePcapFrame {
  data: Buffer;
  origLen: number;
  timestampNs: bigint;
  linkType: number;
}

/** A pcap file the baseline cannot read. */
export class BaselinePcapError extends RangeError {
  override readonly name = 'BaselinePcapError';
}

interface PcapHeader {
  le: boolean;
  nano: boolean;
  linkType: number;
}

function pcapHeader(b: Buffer): PcapHeader {
  const magic = b.readUInt32LE(0);
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) return { le: true, nano: magic === 0xa1b23c4d, linkType: b.readUInt32LE(20) };
  const be = b.readUInt32BE(0);
  if (be === 0xa1b2c3d4 || be === 0xa1b23c4d) return { le: false, nano: be === 0xa1b23c4d, linkType: b.readUInt32BE(20) };
  throw new BaselinePcapError(`not a pcap file (magic 0x${magic.toString(16)})`);
}

function record(b: Buffer, o: number, h: PcapHeader): BaselinePcapFrame {
  const sec = h.le ? b.readUInt32LE(o) : b.readUInt32BE(o);
  const frac = h.le ? b.readUInt32LE(o + 4) : b.readUInt32BE(o + 4);
  const incl = h.le ? b.readUInt32LE(o + 8) : b.readUInt32BE(o + 8);
  const orig = h.le ? b.readUInt32LE(o + 12) : b.readUInt32BE(o + 12);
  return {
    data: Buffer.from(b.subarray(o + 16, o + 16 + incl)) as Buffer,
    origLen: orig,
    timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(h.nano ? frac : frac * 1000),
    linkType: h.linkType,
  };
}

function inclLen(b: Buffer, o: number, h: PcapHeader): number {
  return h.le ? b.readUInt32LE(o + 8) : b.readUInt32BE(o + 8);
}

/** Read a whole pcap buffer: `readUInt32*` per record field and a `Buffer.from` copy per frame. */
export function* readPcapCopying(b: Buffer): Generator<BaselinePcapFrame> {
  const h = pcapHeader(b);
  let o = 24;
  while (o + 16 <= b.length) {
    const incl = inclLen(b, o, h);
    if (o + 16 + incl > b.length) throw new BaselinePcapError(`truncated record at ${o}`);
    yield record(b, o, h);
    o += 16 + incl;
  }
}

/** Stream a pcap file: `Buffer.concat` the unconsumed tail with each chunk, copy each frame out. */
export async function* streamPcapCopying(path: string, chunkSize = 1 << 20): AsyncGenerator<BaselinePcapFrame> {
  let h: PcapHeader | undefined;
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: chunkSize }) as AsyncIterable<Buffer>) {
    const b = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let o = 0;
    if (!h) {
      if (b.length < 24) {
        rest = b;
        continue;
      }
      h = pcapHeader(b);
      o = 24;
    }
    while (o + 16 <= b.length && o + 16 + inclLen(b, o, h) <= b.length) {
      const f = record(b, o, h);
      o += 16 + f.data.length;
      yield f;
    }
    rest = b.subarray(o);
  }
  if (rest.length) throw new BaselinePcapError(`${rest.length} trailing bytes (truncated record)`);
}
