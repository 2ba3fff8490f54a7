/**
 * Ethernet II (IEEE 802.3 with an EtherType). Frames arrive without the FCS, as every capture
 * and every OVS port hands them out.
 */
import { formatMac } from './addr.js';
import { i32, u16, setU16, u48, setU48 } from './bytes.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';

/** EtherType values we name. Unknown values pass through as plain numbers. */
export const EtherType = {
  IPv4: 0x0800,
  ARP: 0x0806,
  RARP: 0x8035,
  VLAN: 0x8100,
  IPv6: 0x86dd,
  QinQ: 0x88a8,
  /** The pre-standard 802.1ad TPID some switches still use. */
  QinQ9100: 0x9100,
  MPLS: 0x8847,
  LLDP: 0x88cc,
  TransparentEthernetBridging: 0x6558,
} as const;

/** Byte offsets inside an Ethernet header. */
export const EthernetOffsets = { dst: 0, src: 6, etherType: 12 } as const;
/** Length of an Ethernet II header. */
export const ETHERNET_HEADER_LEN = 14;

const EMPTY = new Uint8Array(0);

/** A reusable view over an Ethernet header; call `check()` before `reset()`. */
export class EthernetView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `WireErrorCode.Ok` if `len` bytes at `off` hold a whole Ethernet header. */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('EthernetView.check', buf, off, len);
    return len < ETHERNET_HEADER_LEN ? WireErrorCode.Truncated : WireErrorCode.Ok;
  }

  /** Point the view at a new frame (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Destination MAC as a 48-bit number. */
  get dst(): number {
    return u48(this.buf, this.off + EthernetOffsets.dst);
  }
  set dst(v: number) {
    setU48(this.buf, this.off + EthernetOffsets.dst, v);
  }
  /** Source MAC as a 48-bit number. */
  get src(): number {
    return u48(this.buf, this.off + EthernetOffsets.src);
  }
  set src(v: number) {
    setU48(this.buf, this.off + EthernetOffsets.src, v);
  }
  /**
   * Per-packet lanes of the MACs, which never allocate: `dst`/`src` are 48-bit numbers, and a
   * getter that V8 leaves as a call returns such a number as a fresh heap number. The high lane
   * is the first 16 bits; the low lane the last 32 bits as a signed int32 (`>>> 0`, or a store
   * into a `Uint32Array`, gives the unsigned value): `dst === dstHi16 * 2 ** 32 + (dstLo32 >>> 0)`.
   */
  get dstHi16(): number {
    return u16(this.buf, this.off + EthernetOffsets.dst);
  }
  /** Low 32 bits of the destination MAC as a signed int32 (see `dstHi16`). */
  get dstLo32(): number {
    return i32(this.buf, this.off + EthernetOffsets.dst + 2);
  }
  /** High 16 bits of the source MAC (see `dstHi16`). */
  get srcHi16(): number {
    return u16(this.buf, this.off + EthernetOffsets.src);
  }
  /** Low 32 bits of the source MAC as a signed int32 (see `dstHi16`). */
  get srcLo32(): number {
    return i32(this.buf, this.off + EthernetOffsets.src + 2);
  }
  /** The EtherType (or TPID of a VLAN tag that follows). */
  get etherType(): number {
    return u16(this.buf, this.off + EthernetOffsets.etherType);
  }
  set etherType(v: number) {
    setU16(this.buf, this.off + EthernetOffsets.etherType, v);
  }
  /** Offset of the payload (the first byte after the header) in `buf`. */
  get payloadOffset(): number {
    return this.off + ETHERNET_HEADER_LEN;
  }
  /** Length of the payload. */
  get payloadLength(): number {
    return this.len - ETHERNET_HEADER_LEN;
  }
}

/** A plain Ethernet header. */
export interface EthernetRepr {
  dst: number;
  src: number;
  etherType: number;
}

const view = new EthernetView();

/** Parse an Ethernet header from `len` bytes at `off`. */
export function parseEthernet(buf: Uint8Array, off = 0, len?: number): Result<EthernetRepr> {
  len = checkSpan('parseEthernet', buf, off, len);
  const code = EthernetView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('eth', code, off);
  const v = view.reset(buf, off, len);
  return ok({ dst: v.dst, src: v.src, etherType: v.etherType });
}

/** Bytes `emitEthernet` writes. */
export function ethernetLen(_r: EthernetRepr): number {
  return ETHERNET_HEADER_LEN;
}

/** Write the header at `off`; returns the number of bytes written. */
export function emitEthernet(r: EthernetRepr, buf: Uint8Array, off = 0): number {
  needRoom('eth', buf, off, ETHERNET_HEADER_LEN);
  const v = view.reset(buf, off, ETHERNET_HEADER_LEN);
  v.dst = r.dst;
  v.src = r.src;
  v.etherType = r.etherType;
  return ETHERNET_HEADER_LEN;
}

/** One-line summary, as tshark prints it. */
export function formatEthernet(r: EthernetRepr): string {
  return `Ethernet II, Src: ${formatMac(r.src)}, Dst: ${formatMac(r.dst)}, Type: 0x${r.etherType.toString(16).padStart(4, '0')}`;
}
