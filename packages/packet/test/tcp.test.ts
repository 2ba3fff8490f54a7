import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EmitError,
  emitIpv6,
  emitTcp,
  fillTcpChecksumV4,
  fillTcpChecksumV6,
  formatTcp,
  fromHex,
  IpProtocol,
  parseTcp,
  ReprError,
  TcpFlags,
  tcpLen,
  TcpOptionIter,
  TcpOptionKind,
  TcpView,
  updateChecksum16,
  updateChecksum32,
  verifyTcpChecksumV4,
  verifyTcpChecksumV6,
  WireErrorCode,
  type TcpRepr,
} from '@ovnts/packet';

// A Linux-style SYN 10.0.0.1:43210 -> 10.0.0.2:80; tshark: "Header Length: 40 bytes (10)",
// "Flags: 0x002 (SYN)", "Checksum: 0x2340 [correct]", "Options: (20 bytes), Maximum segment
// size, SACK permitted, Timestamps, No-Operation (NOP), Window scale" (MSS=1460 SACK_PERM
// TSval=16909060 TSecr=0 WS=128).
const SRC = 0x0a000001;
const DST = 0x0a000002;
const bytes = fromHex('a8ca 0050 12345678 00000000 a002 faf0 2340 0000 020405b4 0402 080a 01020304 00000000 01 030307');
const repr: TcpRepr = {
  srcPort: 43210,
  dstPort: 80,
  seq: 0x12345678,
  ack: 0,
  flags: TcpFlags.SYN,
  window: 64240,
  checksum: 0x2340,
  urgent: 0,
  options: fromHex('020405b4 0402 080a 01020304 00000000 01 030307'),
};

function walk(b: Uint8Array, off = 0, len = b.length - off) {
  const it = new TcpOptionIter().reset(b, off, len);
  const seen: number[] = [];
  while (it.next()) seen.push(it.kind);
  return { seen, error: it.error };
}

describe('tcp', () => {
  it('deconstructs the canonical bytes', () => {
    expect(TcpView.check(bytes, 0, bytes.length)).toBe(WireErrorCode.Ok);
    const v = new TcpView().reset(bytes, 0, bytes.length);
    expect([v.srcPort, v.dstPort, v.seq, v.ack]).toEqual([43210, 80, 0x12345678, 0]);
    expect([v.dataOffset, v.headerLength, v.flags, v.window, v.checksum, v.urgent]).toEqual([10, 40, 2, 64240, 0x2340, 0]);
    expect(v.hasFlags(TcpFlags.SYN)).toBe(true);
    expect(v.hasFlags(TcpFlags.SYN | TcpFlags.ACK)).toBe(false);
    expect([v.optionsOffset, v.optionsLength, v.payloadOffset, v.payloadLength]).toEqual([20, 20, 40, 0]);
    expect(v.checkOptions()).toBe(WireErrorCode.Ok);
    const it = new TcpOptionIter().reset(bytes, v.optionsOffset, v.optionsLength);
    expect(it.next() && it.kind === TcpOptionKind.MaxSegmentSize && it.mss).toBe(1460);
    expect(it.next() && it.kind === TcpOptionKind.SackPermitted && it.length).toBe(2);
    expect(it.next() && it.kind === TcpOptionKind.Timestamps && [it.tsVal, it.tsEcr]).toEqual([16909060, 0]);
    expect(it.next() && it.kind).toBe(TcpOptionKind.NoOperation);
    expect(it.next() && it.kind === TcpOptionKind.WindowScale && it.windowScale).toBe(7);
    expect(it.next()).toBe(false);
    expect(it.error).toBe(WireErrorCode.Ok);
  });

  it('constructs the canonical bytes through the view', () => {
    const b = new Uint8Array(40);
    const v = new TcpView().reset(b, 0, 40);
    v.srcPort = 43210;
    v.dstPort = 80;
    v.seq = 0x12345678;
    v.ack = 0;
    v.dataOffset = 10;
    v.flags = TcpFlags.SYN;
    v.window = 64240;
    v.urgent = 0;
    b.set(repr.options, v.optionsOffset);
    expect(fillTcpChecksumV4(b, 0, 40, SRC, DST)).toBe(0x2340);
    expect(b).toEqual(bytes);
    // All nine flags, and the data offset survives flag writes.
    v.flags = 0x1ff;
    expect([v.flags, v.dataOffset]).toEqual([0x1ff, 10]);
    expect(v.hasFlags(TcpFlags.NS | TcpFlags.CWR | TcpFlags.ECE | TcpFlags.URG | TcpFlags.FIN)).toBe(true);
    v.dataOffset = 5;
    expect([v.flags, v.dataOffset]).toEqual([0x1ff, 5]);
  });

  it('parses, emits and formats the canonical bytes', () => {
    expect(parseTcp(bytes)).toEqual({ ok: true, value: repr });
    const out = new Uint8Array(tcpLen(repr));
    expect(emitTcp(repr, out)).toBe(40);
    expect(out).toEqual(bytes);
    expect(formatTcp(repr)).toBe('Transmission Control Protocol, Src Port: 43210, Dst Port: 80, Seq: 305419896, Len: 0');
    expect(formatTcp({ ...repr, flags: TcpFlags.ACK | TcpFlags.PSH, ack: 7 }, 12)).toBe(
      'Transmission Control Protocol, Src Port: 43210, Dst Port: 80, Seq: 305419896, Ack: 7, Len: 12',
    );
  });

  it('reports truncation at every shorter length, BadLength for data offset < 5', () => {
    for (let n = 0; n < bytes.length; n++) {
      const r = parseTcp(bytes.subarray(0, n));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(WireErrorCode.Truncated);
    }
    for (const d of [0, 1, 4]) {
      const b = bytes.slice();
      b[12] = (d << 4) | (b[12]! & 0x0f);
      const r = parseTcp(b);
      expect(!r.ok && r.error.code).toBe(WireErrorCode.BadLength);
    }
  });

  it('refuses unpadded or oversized options and short buffers', () => {
    expect(() => emitTcp({ ...repr, options: new Uint8Array(2) }, new Uint8Array(60))).toThrow(ReprError);
    expect(() => emitTcp({ ...repr, options: new Uint8Array(44) }, new Uint8Array(80))).toThrow(ReprError);
    expect(() => emitTcp(repr, new Uint8Array(39))).toThrow(EmitError);
  });

  describe('option iterator', () => {
    it('walks SACK blocks and unknown options, and stops at End of List', () => {
      const b = fromHex('0101 050a 00000064 000000c8 fe04abcd 00 ffff');
      const it = new TcpOptionIter().reset(b, 0, b.length);
      expect(it.next() && it.next() && it.next()).toBe(true);
      expect(it.kind).toBe(TcpOptionKind.Sack);
      expect([it.sackBlocks, it.sackLeft(0), it.sackRight(0)]).toEqual([1, 100, 200]);
      expect(walk(b)).toEqual({ seen: [1, 1, 5, 254, 0], error: WireErrorCode.Ok });
    });

    it('reports malformed options as BadOption', () => {
      for (const hex of [
        '0203 05b4', // MSS of length 3
        '0204 05', // MSS running past the area
        '0302', // window scale of length 2
        '0403', // SACK-permitted of length 3
        '050b 0000000000000000 00', // SACK of 11 bytes
        '0502', // SACK with no block
        '0809 0000000000000000', // timestamps of length 9
        '1e01', // length below 2
        '0101 1e', // no length octet
      ]) {
        expect(walk(fromHex(hex)).error, hex).toBe(WireErrorCode.BadOption);
      }
      const b = bytes.slice();
      b[21] = 5; // MSS length 5
      expect(TcpView.check(b, 0, b.length)).toBe(WireErrorCode.Ok);
      expect(new TcpView().reset(b, 0, b.length).checkOptions()).toBe(WireErrorCode.BadOption);
    });
  });

  describe('checksum', () => {
    it('breaks when any byte of the segment or pseudo-header changes', () => {
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes.slice();
        b[i]! ^= 0x81;
        expect(verifyTcpChecksumV4(b, 0, b.length, SRC, DST), `byte ${i}`).toBe(false);
      }
      expect(verifyTcpChecksumV4(bytes, 0, bytes.length, SRC, DST)).toBe(true);
      expect(verifyTcpChecksumV4(bytes, 0, bytes.length, SRC, DST + 1)).toBe(false);
      expect(verifyTcpChecksumV4(bytes, 0, bytes.length - 4, SRC, DST)).toBe(false);
    });

    it('fills and verifies over IPv6, and any flipped byte breaks it', () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }), fc.uint8Array({ maxLength: 40 }), fc.nat(200), (a, data, pick) => {
          const b = new Uint8Array(40 + 40 + data.length);
          emitIpv6(
            { trafficClass: 0, flowLabel: 0, payloadLength: 40 + data.length, nextHeader: IpProtocol.TCP, hopLimit: 64, src: a, dst: ~a & (2n ** 128n - 1n) },
            b,
          );
          emitTcp(repr, b, 40);
          b.set(data, 80);
          fillTcpChecksumV6(b, 40, 40 + data.length, 0);
          expect(verifyTcpChecksumV6(b, 40, 40 + data.length, 0)).toBe(true);
          const i = 8 + (pick % (b.length - 8)); // anything from the source address on is covered
          b[i]! ^= 0x10;
          expect(verifyTcpChecksumV6(b, 40, 40 + data.length, 0)).toBe(false);
        }),
      );
    });

    it('updates incrementally (RFC 1624) exactly as a recomputation, after NAT of address and port', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 64 }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffff }),
          (data, newDst, src, newPort) => {
            const b = new Uint8Array(40 + data.length);
            emitTcp(repr, b);
            b.set(data, 40);
            fillTcpChecksumV4(b, 0, b.length, src, DST);
            const v = new TcpView().reset(b, 0, b.length);
            let c = updateChecksum32(v.checksum, DST, newDst);
            c = updateChecksum16(c, v.dstPort, newPort);
            v.dstPort = newPort;
            v.checksum = c;
            expect(verifyTcpChecksumV4(b, 0, b.length, src, newDst)).toBe(true);
            expect(fillTcpChecksumV4(b.slice(), 0, b.length, src, newDst)).toBe(c);
          },
        ),
      );
    });

    it('refuses to fill a segment whose bytes are missing', () => {
      expect(() => fillTcpChecksumV4(bytes.slice(), 0, 41, SRC, DST)).toThrow(ReprError);
      expect(() => fillTcpChecksumV4(bytes.slice(), 0, 19, SRC, DST)).toThrow(ReprError);
      expect(() => fillTcpChecksumV6(bytes.slice(), 0, 40, 10)).toThrow(ReprError);
      expect(verifyTcpChecksumV6(bytes, 0, 40, 10)).toBe(false);
    });
  });

  const arbRepr: fc.Arbitrary<TcpRepr> = fc.record({
    srcPort: fc.integer({ min: 0, max: 0xffff }),
    dstPort: fc.integer({ min: 0, max: 0xffff }),
    seq: fc.integer({ min: 0, max: 0xffffffff }),
    ack: fc.integer({ min: 0, max: 0xffffffff }),
    flags: fc.integer({ min: 0, max: 0x1ff }),
    window: fc.integer({ min: 0, max: 0xffff }),
    checksum: fc.integer({ min: 0, max: 0xffff }),
    urgent: fc.integer({ min: 0, max: 0xffff }),
    options: fc.integer({ min: 0, max: 10 }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w })),
  });

  it('round-trips any header, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), fc.nat(8), (r, at, extra) => {
        const b = new Uint8Array(at + tcpLen(r) + extra);
        expect(emitTcp(r, b, at)).toBe(tcpLen(r));
        expect(parseTcp(b, at)).toEqual({ ok: true, value: r });
        expect(new TcpView().reset(b, at, b.length - at).payloadLength).toBe(extra);
      }),
    );
  });

  it('never throws on arbitrary bytes, and the option walk stays inside the header', () => {
    const v = new TcpView();
    const it = new TcpOptionIter();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        const r = parseTcp(b);
        if (TcpView.check(b, 0, b.length) !== WireErrorCode.Ok) return void expect(r.ok).toBe(false);
        v.reset(b, 0, b.length);
        it.reset(b, v.optionsOffset, v.optionsLength);
        while (it.next()) expect(it.offset + it.length).toBeLessThanOrEqual(v.payloadOffset);
        expect(typeof verifyTcpChecksumV4(b, 0, b.length, 1, 2)).toBe('boolean');
      }),
    );
  });
});
