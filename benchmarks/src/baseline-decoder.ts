/**
 * The baseline decoders the parse benchmark compares against, written the straightforward way:
 * `Buffer.readUInt*` calls and one object per header (and, in the second, `buffer-layout`
 * structures). They decode the same fields our views extract from a Geneve-encapsulated TCP frame.
 */
import { createRequire } from 'node:module';

/** Headers of an outer Ethernet/IPv4/UDP/Geneve + inner Ethernet/IPv4/TCP frame. */
export interface DecodedFrame {
  eth: { dst: string; src: string; type: number };
  ip: { ihl: number; totalLength: number; ttl: number; proto: number; src: number; dst: number };
  udp: { src: number; dst: number; length: number };
  geneve: { optLen: number; protocol: number; vni: number; options: { cls: number; type: number; data: Buffer }[] };
  inner: {
    eth: { dst: string; src: string; type: number };
    ip: { ihl: number; totalLength: number; ttl: number; proto: number; src: number; dst: number };
    tcp: { src: number; dst: number; seq: number; ack: number; flags: number };
  };
}

const macText = (b: Buffer, o: number) => b.subarray(o, o + 6).toString('hex');

function eth(b: Buffer, o: number) {
  return { dst: macText(b, o), src: macText(b, o + 6), type: b.readUInt16BE(o + 12) };
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

/** Decode with Buffer.readUInt* and an object per header. Throws RangeError on short input. */
export function decodeWithBuffer(b: Buffer): DecodedFrame {
  let o = 0;
  const e = eth(b, o);
  o += 14;
  const i = ip(b, o);
  o += i.ihl * 4;
  const u = { src: b.readUInt16BE(o), dst: b.readUInt16BE(o + 2), length: b.readUInt16BE(o + 4) };
  o += 8;
  const optLen = (b.readUInt8(o) & 0x3f) * 4;
  const g = { optLen, protocol: b.readUInt16BE(o + 2), vni: b.readUIntBE(o + 4, 3), options: [] as { cls: number; type: number; data: Buffer }[] };
  let p = o + 8;
  const end = p + optLen;
  while (p < end) {
    const len = (b.readUInt8(p + 3) & 0x1f) * 4;
    g.options.push({ cls: b.readUInt16BE(p), type: b.readUInt8(p + 2), data: b.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  o = end;
  const ie = eth(b, o);
  o += 14;
  const ii = ip(b, o);
  o += ii.ihl * 4;
  const t = { src: b.readUInt16BE(o), dst: b.readUInt16BE(o + 2), seq: b.readUInt32BE(o + 4), ack: b.readUInt32BE(o + 8), flags: b.readUInt16BE(o + 12) & 0x1ff };
  return { eth: e, ip: i, udp: u, geneve: g, inner: { eth: ie, ip: ii, tcp: t } };
}

interface BL {
  struct(fields: unknown[]): { decode(b: Buffer, o: number): Record<string, number | Uint8Array>; span: number };
  blob(n: number, prop: string): unknown;
  u8(p: string): unknown;
  u16be(p: string): unknown;
  u32be(p: string): unknown;
  u24be(p: string): unknown;
}
const BufferLayout = createRequire(import.meta.url)('buffer-layout') as BL;
const ethL = BufferLayout.struct([BufferLayout.blob(6, 'dst'), BufferLayout.blob(6, 'src'), BufferLayout.u16be('type')]);
const ipL = BufferLayout.struct([
  BufferLayout.u8('vihl'), BufferLayout.u8('tos'), BufferLayout.u16be('totalLength'), BufferLayout.u16be('id'),
  BufferLayout.u16be('frag'), BufferLayout.u8('ttl'), BufferLayout.u8('proto'), BufferLayout.u16be('csum'),
  BufferLayout.u32be('src'), BufferLayout.u32be('dst'),
]);
const udpL = BufferLayout.struct([BufferLayout.u16be('src'), BufferLayout.u16be('dst'), BufferLayout.u16be('length'), BufferLayout.u16be('csum')]);
const genL = BufferLayout.struct([BufferLayout.u8('verOptLen'), BufferLayout.u8('flags'), BufferLayout.u16be('protocol'), BufferLayout.u24be('vni'), BufferLayout.u8('rsvd')]);
const tcpL = BufferLayout.struct([
  BufferLayout.u16be('src'), BufferLayout.u16be('dst'), BufferLayout.u32be('seq'), BufferLayout.u32be('ack'), BufferLayout.u16be('offFlags'),
]);

/** Decode the same headers with buffer-layout structures (one object per header). */
export function decodeWithBufferLayout(b: Buffer): unknown {
  let o = 0;
  const e = ethL.decode(b, o);
  o += 14;
  const i = ipL.decode(b, o);
  o += ((i.vihl as number) & 0x0f) * 4;
  const u = udpL.decode(b, o);
  o += 8;
  const g = genL.decode(b, o);
  o += 8 + ((g.verOptLen as number) & 0x3f) * 4;
  const ie = ethL.decode(b, o);
  o += 14;
  const ii = ipL.decode(b, o);
  o += ((ii.vihl as number) & 0x0f) * 4;
  const t = tcpL.decode(b, o);
  return { e, i, u, g, ie, ii, t };
}
