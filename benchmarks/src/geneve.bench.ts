/**
 * Geneve encapsulation and decapsulation per second, IPv4 outer, with OVN's option, outer UDP
 * checksum off (the OVS default) and on. Ours: `TunnelEncap.encap()` writing the outer headers
 * into the headroom in front of each inner frame (no copy, no allocation), and `decapsulate()`
 * into one reusable `DecapResult`. Baselines: fresh header Buffers filled with `writeUInt*` and
 * joined with `Buffer.concat`; decapsulation with `readUInt*` and an object per header. Before
 * timing, both encapsulations must produce byte-identical frames and both decapsulations the same
 * fields, on all 1024 frames. Then heap and GC activity over one million encap+decap round trips.
 */
import { isDeepStrictEqual } from 'node:util';
import { decapsulate, DecapResult, TunnelEncap, TunnelKey } from '@ovnts/geneve';
import { decapWithBuffer, encapWithBuffers, type BaselineDecap, type BaselineTunnel } from './baseline-decoder.js';
import { FRAME_COUNT, headroomRing, innerFrames } from './frames.js';
import { allocation, allocationTable, check, measureAll, table, target, type Measurement, type Row } from './harness.js';

const MASK = FRAME_COUNT - 1;
const inner = innerFrames();
const ring = headroomRing(inner.frames);
const vnis = new Int32Array(inner.keys.map((k) => k.datapath));
const ingress = new Int32Array(inner.keys.map((k) => k.ingress));
const egress = new Int32Array(inner.keys.map((k) => k.egress));

const ETH_SRC = 0x02000000a001;
const ETH_DST = 0x02000000b002;
const SRC = 0xc0a80a01;
const DST = 0xc0a80b02;

function tunnel(udpChecksum: boolean): { ours: TunnelEncap; base: BaselineTunnel } {
  const ident = { value: 0 };
  return {
    ours: new TunnelEncap({ ethSrc: ETH_SRC, ethDst: ETH_DST, src: SRC, dst: DST, ttl: 64, udpChecksum, ident }),
    base: { ethSrc: ETH_SRC, ethDst: ETH_DST, src: SRC, dst: DST, ttl: 64, udpChecksum, ident: 0 },
  };
}

const key = new TunnelKey();
const result = new DecapResult();
let sink = 0;
let lastBuf: Buffer | undefined;
let lastDecap: BaselineDecap | undefined;

function decapFields(r: DecapResult) {
  return {
    src: r.src4, dst: r.dst4, tos: r.tos, ttl: r.ttl, dontFragment: r.dontFragment, srcPort: r.srcPort, dstPort: r.dstPort,
    udpChecksum: r.udpChecksum, vni: r.vni, oam: r.oam, critical: r.critical, protocolType: r.protocolType,
    ingress: r.ovnIngress, egress: r.ovnEgress, inner: Buffer.from(r.inner()),
  };
}
function baseDecapFields(d: BaselineDecap) {
  return {
    src: d.src, dst: d.dst, tos: d.tos, ttl: d.ttl, dontFragment: d.dontFragment, srcPort: d.srcPort, dstPort: d.dstPort,
    udpChecksum: d.udpChecksum, vni: d.vni, oam: d.oam, critical: d.critical, protocolType: d.protocolType,
    ingress: d.ovn ? d.ovn.ingress : -1, egress: d.ovn ? d.ovn.egress : -1, inner: Buffer.from(d.inner),
  };
}

const rows: Row[] = [];
const targets: { name: string; ours: Measurement; base: Measurement }[] = [];

for (const csum of [false, true]) {
  const { ours, base } = tunnel(csum);
  const label = `UDP checksum ${csum ? 'on' : 'off'}`;

  // Encapsulated frames: ours and the baseline's must be byte-identical, and each decapsulation
  // must give back the inner frame and keys.
  const encapsulated: Buffer[] = [];
  for (let i = 0; i < FRAME_COUNT; i++) {
    key.setOvn(vnis[i]!, ingress[i]!, egress[i]!);
    ours.encap(key, ring.pool, ring.offsets[i]!, ring.lengths[i]!);
    const mine = Buffer.from(ours.buf.subarray(ours.off, ours.off + ours.len));
    const theirs = encapWithBuffers(base, inner.frames[i]!, vnis[i]!, ingress[i]!, egress[i]!);
    check(mine.equals(theirs), `frame ${i} (${label}): baseline encapsulation differs from ours`);
    check(decapsulate(mine, 0, mine.length, result), `frame ${i} (${label}): our decapsulation failed: ${String(result.toError())}`);
    const fields = decapFields(result);
    check(isDeepStrictEqual(fields, baseDecapFields(decapWithBuffer(mine))), `frame ${i} (${label}): baseline decapsulation differs from ours`);
    check(fields.inner.equals(inner.frames[i]!) && fields.vni === vnis[i] && fields.ingress === ingress[i] && fields.egress === egress[i], `frame ${i}: round trip lost data`);
    encapsulated.push(mine);
  }

  const encOurs = (n: number): void => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const j = i & MASK;
      key.setOvn(vnis[j]!, ingress[j]!, egress[j]!);
      s += ours.encap(key, ring.pool, ring.offsets[j]!, ring.lengths[j]!);
    }
    sink += s;
  };
  const encBase = (n: number): void => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const j = i & MASK;
      const b = encapWithBuffers(base, inner.frames[j]!, vnis[j]!, ingress[j]!, egress[j]!);
      s += b.length;
      lastBuf = b;
    }
    sink += s;
  };
  const decOurs = (n: number): void => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const f = encapsulated[i & MASK]!;
      decapsulate(f, 0, f.length, result);
      s += result.vni + result.innerLength;
    }
    sink += s;
  };
  const decBase = (n: number): void => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const d = decapWithBuffer(encapsulated[i & MASK]!);
      s += d.vni + d.inner.length;
      lastDecap = d;
    }
    sink += s;
  };

  const [eb, eo, db, dOurs] = measureAll([
    { name: `baseline: encap, Buffer.alloc+writeUInt*+concat, ${label}`, fn: encBase, ops: 200_000 },
    { name: `ours: TunnelEncap.encap into headroom, ${label}`, fn: encOurs, ops: 1_000_000, warmup: 500_000 },
    { name: `baseline: decap, readUInt*+object per header, ${label}`, fn: decBase, ops: 300_000 },
    { name: `ours: decapsulate into reusable DecapResult, ${label}`, fn: decOurs, ops: 1_000_000, warmup: 500_000 },
  ]) as [Measurement, Measurement, Measurement, Measurement];
  rows.push({ m: eb }, { m: eo, vs: eb }, { m: db }, { m: dOurs, vs: db });
  targets.push({ name: `encap, ${label}`, ours: eo, base: eb }, { name: `decap, ${label}`, ours: dOurs, base: db });
}
table('Geneve encap/decap, IPv4 outer, OVN option, 60-76 B inner frames (frames/s, one core)', rows);

// Heap and GC activity over one million encap+decap round trips (checksum off, the default).
const N = 1_000_000;
const { ours: enc, base } = tunnel(false);
const roundTripOurs = (n: number): void => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const j = i & MASK;
    key.setOvn(vnis[j]!, ingress[j]!, egress[j]!);
    enc.encap(key, ring.pool, ring.offsets[j]!, ring.lengths[j]!);
    decapsulate(enc.buf, enc.off, enc.len, result);
    s += result.innerLength;
  }
  sink += s;
};
const roundTripBase = (n: number): void => {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const j = i & MASK;
    const d = decapWithBuffer(encapWithBuffers(base, inner.frames[j]!, vnis[j]!, ingress[j]!, egress[j]!));
    s += d.inner.length;
    lastDecap = d;
  }
  sink += s;
};
roundTripOurs(200_000);
roundTripBase(100_000);
const heapOurs = allocation(N, () => roundTripOurs(N));
const heapBase = allocation(N, () => roundTripBase(N));
allocationTable(`heap over ${N.toLocaleString('en-US')} frames, encap+decap hot loop (full GC before; allocated = GC-profiler accounting)`, [
  { name: 'baseline: Buffer.concat encap + object decap', a: heapBase },
  { name: 'ours: TunnelEncap + decapsulate', a: heapOurs },
]);

console.log('');
for (const t of targets) console.log(`  ${t.name}: ours ${(t.ours.opsPerSec / t.base.opsPerSec).toFixed(1)}x baseline (${(t.ours.opsPerSec / 1e6).toFixed(2)} M frames/s)`);
target(
  'zero allocation per frame, encap+decap hot loop',
  heapOurs.allocated / N < 1 && heapOurs.gcs === 0,
  `${(heapOurs.allocated / N).toFixed(2)} B/frame allocated over 1M frames, ${heapOurs.gcs} GCs`,
);
if (sink === 42 && lastBuf && lastDecap) console.log('');
