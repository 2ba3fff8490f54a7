/**
 * Hand builders for pcap/pcapng test files, written from the format drafts independently of the
 * package's writers, so reader tests do not check the reader against itself.
 */
import assert from 'node:assert/strict';
import { CaptureFormatError, CaptureParser, readCapture, type CaptureFrame } from '@ovnts/capture';

export function n32(v: number, le: boolean): number[] {
  const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return le ? b.reverse() : b;
}
export function n16(v: number, le: boolean): number[] {
  const b = [(v >>> 8) & 0xff, v & 0xff];
  return le ? b.reverse() : b;
}
export function n64(v: bigint, le: boolean): number[] {
  const u = BigInt.asUintN(64, v);
  const hi = n32(Number(u >> 32n), false);
  const lo = n32(Number(u & 0xffffffffn), false);
  const b = [...hi, ...lo];
  return le ? b.reverse() : b;
}
export function cat(...parts: ArrayLike<number>[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) for (let i = 0; i < p.length; i++) out.push(p[i]!);
  return Uint8Array.from(out);
}
export function pad(b: ArrayLike<number>): Uint8Array {
  const n = (b.length + 3) & ~3;
  const out = new Uint8Array(n);
  out.set(Array.from(b));
  return out;
}
export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

export function pcapHeader(o: { le: boolean; ns?: boolean; snaplen?: number; linkType?: number; major?: number }): Uint8Array {
  const magic = o.ns ? 0xa1b23c4d : 0xa1b2c3d4;
  return cat(n32(magic, o.le), n16(o.major ?? 2, o.le), n16(4, o.le), n32(0, o.le), n32(0, o.le), n32(o.snaplen ?? 65535, o.le), n32(o.linkType ?? 1, o.le));
}
export function pcapRecord(o: { le: boolean; sec: number; frac: number; data: ArrayLike<number>; orig?: number; incl?: number }): Uint8Array {
  return cat(n32(o.sec, o.le), n32(o.frac, o.le), n32(o.incl ?? o.data.length, o.le), n32(o.orig ?? o.data.length, o.le), o.data);
}

export function opt(le: boolean, code: number, value: ArrayLike<number>): Uint8Array {
  return cat(n16(code, le), n16(value.length, le), pad(value));
}
export const endOpt = (le: boolean): Uint8Array => cat(n16(0, le), n16(0, le));

export function block(le: boolean, type: number, body: ArrayLike<number>, lenOverride?: { lead?: number; trail?: number }): Uint8Array {
  const b = pad(body);
  const len = 12 + b.length;
  return cat(n32(type, le), n32(lenOverride?.lead ?? len, le), b, n32(lenOverride?.trail ?? len, le));
}
export function shb(le: boolean, options: Uint8Array[] = [], major = 1): Uint8Array {
  const opts = options.length ? cat(...options, endOpt(le)) : new Uint8Array(0);
  return block(le, 0x0a0d0d0a, cat(n32(0x1a2b3c4d, le), n16(major, le), n16(0, le), n64(-1n, le), opts));
}
export function idb(le: boolean, linkType: number, snaplen: number, options: Uint8Array[] = []): Uint8Array {
  const opts = options.length ? cat(...options, endOpt(le)) : new Uint8Array(0);
  return block(le, 1, cat(n16(linkType, le), n16(0, le), n32(snaplen, le), opts));
}
export function epb(le: boolean, o: { ifid: number; units: bigint; data: ArrayLike<number>; orig?: number; options?: Uint8Array[] }): Uint8Array {
  const opts = o.options?.length ? cat(...o.options, endOpt(le)) : new Uint8Array(0);
  return block(
    le,
    6,
    cat(n32(o.ifid, le), n32(Number(o.units >> 32n), le), n32(Number(o.units & 0xffffffffn), le), n32(o.data.length, le), n32(o.orig ?? o.data.length, le), pad(o.data), opts),
  );
}
export function spb(le: boolean, orig: number, data: ArrayLike<number>): Uint8Array {
  return block(le, 3, cat(n32(orig, le), pad(data)));
}

/** All frames (copied) and the error, if any, of a whole-buffer read. */
export function readAll(buf: Uint8Array): { frames: CaptureFrame[]; error?: CaptureFormatError } {
  const frames: CaptureFrame[] = [];
  try {
    for (const f of readCapture(buf)) frames.push({ ...f, data: Uint8Array.from(f.data) });
  } catch (e) {
    if (e instanceof CaptureFormatError) return { frames, error: e };
    throw e;
  }
  return { frames };
}

/** Unit boundaries (end offsets) and the cumulative frame count at each, from a full parse. */
export function boundaries(buf: Uint8Array): { ends: number[]; framesAt: number[] } {
  const p = new CaptureParser();
  const ends = [0];
  const framesAt = [0];
  let pos = 0;
  let count = 0;
  for (;;) {
    const n = p.step(buf, pos, buf.length, true);
    if (n < 0) break;
    pos += n;
    if (p.frame) count++;
    ends.push(pos);
    framesAt.push(count);
  }
  return { ends, framesAt };
}

/** Check every prefix of `buf`: the complete frames before the cut, then a Truncated error at the unit start. */
export function truncationSweep(buf: Uint8Array, ends: number[], expectFrames: (k: number) => CaptureFrame[]): void {
  for (let len = 0; len < buf.length; len++) {
    const r = readAll(buf.subarray(0, len));
    let unit = 0;
    while (unit + 1 < ends.length && ends[unit + 1]! <= len) unit++;
    const atBoundary = ends[unit] === len && len > 0;
    const want = expectFrames(unit);
    if (r.frames.length !== want.length) assert.fail(`prefix ${len}: ${r.frames.length} frames, want ${want.length}`);
    for (let i = 0; i < want.length; i++) {
      const a = r.frames[i]!;
      const b = want[i]!;
      if (a.origLen !== b.origLen || a.timestampNs !== b.timestampNs || Buffer.compare(a.data, b.data) !== 0) assert.fail(`prefix ${len}: frame ${i} differs`);
    }
    if (atBoundary) {
      if (r.error) assert.fail(`prefix ${len} (a unit boundary): unexpected ${r.error.message}`);
    } else {
      if (!r.error) assert.fail(`prefix ${len}: no error`);
      if (!r.error.truncated || r.error.offset !== ends[unit]) assert.fail(`prefix ${len}: got ${r.error.message} (code ${r.error.code}), want Truncated at ${ends[unit]}`);
    }
  }
}
