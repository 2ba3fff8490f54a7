/**
 * The frames every benchmark runs over, built once per process with `PacketBuilder` from a
 * seeded generator, so runs are reproducible. Each set holds many distinct frames (addresses,
 * ports, sequence numbers, TCP option lengths, payload lengths and OVN keys all vary), and the
 * hot loops cycle through them, so the JIT cannot fold any field to a constant. The frames of a
 * set are `Buffer` subarrays of one pool, as a receive ring would hand them out.
 */
import { PacketBuilder } from '@ovnts/packet';
import { geneveLayer, ovnGeneveRepr, TUNNEL_MAX_HEADROOM } from '@ovnts/geneve';

/** Number of distinct frames in a set (a power of two: loops index with `i & (FRAME_COUNT - 1)`). */
export const FRAME_COUNT = 1024;

/** A seeded 32-bit generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Copy frames into one pool and return them as `Buffer` subarrays of it. */
export function pooled(frames: Uint8Array[]): Buffer[] {
  const pool = Buffer.alloc(frames.reduce((n, f) => n + f.length, 0));
  const out: Buffer[] = [];
  let o = 0;
  for (const f of frames) {
    pool.set(f, o);
    out.push(pool.subarray(o, o + f.length));
    o += f.length;
  }
  return out;
}

/** Parameters of one inner TCP frame (all numbers, as the views return them). */
interface InnerSpec {
  ethSrc: number;
  ethDst: number;
  ipSrc: number;
  ipDst: number;
  ttl: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** TCP options: 0 or 12 bytes (NOP, NOP, timestamps). */
  options: Uint8Array;
  payload: Uint8Array;
}

const FLAG_MIX = [0x010, 0x018, 0x002, 0x012, 0x011, 0x010, 0x018, 0x004];

function innerSpec(next: () => number): InnerSpec {
  const withTs = (next() & 3) === 0;
  const options = new Uint8Array(withTs ? 12 : 0);
  if (withTs) {
    options.set([1, 1, 8, 10]);
    for (let i = 4; i < 12; i++) options[i] = next() & 0xff;
  }
  // Inner frames of 60..76 bytes: a 64-byte frame give or take.
  const payload = new Uint8Array(Math.max(0, 6 + (next() % 17) - options.length));
  for (let i = 0; i < payload.length; i++) payload[i] = next() & 0xff;
  return {
    ethSrc: 0x0a5800000000 + (next() & 0xffffff),
    ethDst: 0x0a5800000000 + (next() & 0xffffff),
    ipSrc: (0x0a800000 | (next() & 0x7fffff)) >>> 0,
    ipDst: (0x0a800000 | (next() & 0x7fffff)) >>> 0,
    ttl: 32 + (next() & 31),
    srcPort: 1024 + (next() % 64000),
    dstPort: [80, 443, 8080, 5432, 6379][next() % 5]!,
    seq: next(),
    ack: next(),
    flags: FLAG_MIX[next() & 7]!,
    options,
    payload,
  };
}

function addInner(b: PacketBuilder, s: InnerSpec): PacketBuilder {
  return b
    .ethernet({ src: s.ethSrc, dst: s.ethDst })
    .ipv4({ src: s.ipSrc, dst: s.ipDst, ttl: s.ttl, dontFragment: true })
    .tcp({ srcPort: s.srcPort, dstPort: s.dstPort, seq: s.seq, ack: s.ack, flags: s.flags, options: s.options })
    .payload(s.payload);
}

/** OVN keys of one tunnelled frame. */
export interface OvnKeys {
  datapath: number;
  ingress: number;
  egress: number;
}

/** A set of inner frames and the OVN keys each is sent with. */
export interface InnerSet {
  frames: Buffer[];
  keys: OvnKeys[];
}

/** `FRAME_COUNT` inner Ethernet/IPv4/TCP frames of about 64 bytes, with OVN keys for each. */
export function innerFrames(seed = 1): InnerSet {
  const next = rng(seed);
  const frames: Uint8Array[] = [];
  const keys: OvnKeys[] = [];
  for (let i = 0; i < FRAME_COUNT; i++) {
    frames.push(addInner(new PacketBuilder(), innerSpec(next)).build());
    keys.push({ datapath: 1 + (next() % 5000), ingress: 1 + (next() % 0x7ffe), egress: 1 + (next() % 0xfffe) });
  }
  return { frames: pooled(frames), keys };
}

/**
 * `FRAME_COUNT` Geneve-encapsulated TCP frames as OVN sends them between chassis: outer
 * Ethernet/IPv4/UDP 6081/Geneve with OVN's option (VNI = datapath key), then an inner
 * Ethernet/IPv4/TCP frame of 60-76 bytes; 118-134 bytes each. The outer UDP checksum
 * is zero (the OVS default over IPv4) on even frames and computed on odd ones.
 */
export function geneveTcpFrames(seed = 2): Buffer[] {
  const next = rng(seed);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < FRAME_COUNT; i++) {
    const chassis = next() & 0xff;
    const b = new PacketBuilder()
      .ethernet({ src: 0x02000000a000 + chassis, dst: 0x02000000b000 + (next() & 0xff) })
      .ipv4({ src: (0xc0a80000 | (next() & 0xffff)) >>> 0, dst: (0xc0a80000 | (next() & 0xffff)) >>> 0, ttl: 64, dontFragment: true, ident: next() & 0xffff })
      .udp({ srcPort: 49152 + (next() % 16384), checksum: (i & 1) === 1 })
      .push(geneveLayer(ovnGeneveRepr({ datapath: 1 + (next() % 5000), ingress: 1 + (next() % 0x7ffe), egress: 1 + (next() % 0xfffe) })));
    frames.push(addInner(b, innerSpec(next)).build());
  }
  return pooled(frames);
}

/**
 * Inner frames laid out with `TUNNEL_MAX_HEADROOM` free bytes in front of each, in one pool, as
 * a receive path that reserves headroom would keep them: encapsulation writes the outer headers
 * in place. `offsets[i]`/`lengths[i]` locate frame i in `pool`.
 */
export interface HeadroomRing {
  pool: Buffer;
  offsets: Int32Array;
  lengths: Int32Array;
}

/** Lay `frames` out in a pool with `TUNNEL_MAX_HEADROOM` bytes before each. */
export function headroomRing(frames: Buffer[]): HeadroomRing {
  const slot = TUNNEL_MAX_HEADROOM + Math.max(...frames.map((f) => f.length));
  const pool = Buffer.alloc(slot * frames.length);
  const offsets = new Int32Array(frames.length);
  const lengths = new Int32Array(frames.length);
  frames.forEach((f, i) => {
    offsets[i] = i * slot + TUNNEL_MAX_HEADROOM;
    lengths[i] = f.length;
    pool.set(f, offsets[i]!);
  });
  return { pool, offsets, lengths };
}

/**
 * Frames for the capture benchmark: the simple IMIX mix (7 x 64, 4 x 594, 1 x 1518 bytes on
 * the wire, i.e. 60/590/1514 captured without the FCS), as Ethernet/IPv4/UDP, 64 distinct frames
 * per size. Returns the frames in file order (`count` of them, cycling through the mix).
 */
export function imixFrames(count: number, seed = 3): Buffer[] {
  const next = rng(seed);
  const sizes = [60, 590, 1514];
  const distinct = sizes.map((size) =>
    pooled(
      Array.from({ length: 64 }, () => {
        const payload = new Uint8Array(size - 14 - 20 - 8);
        for (let i = 0; i < payload.length; i += 7) payload[i] = next() & 0xff;
        return new PacketBuilder()
          .ethernet({ src: 0x0a5800000000 + (next() & 0xffffff), dst: 0x0a5800000000 + (next() & 0xffffff) })
          .ipv4({ src: next() >>> 0, dst: next() >>> 0 })
          .udp({ srcPort: 1024 + (next() % 60000), dstPort: 53 })
          .payload(payload)
          .build();
      }),
    ),
  );
  const pattern = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2];
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(distinct[pattern[i % pattern.length]!]![(i / pattern.length) & 63]!);
  return out;
}
