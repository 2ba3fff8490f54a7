/**
 * VXLAN (RFC 7348), carried over UDP port 4789: an 8-byte header with a flags byte whose I bit
 * (0x08) must be set ("The I flag MUST be set to 1 for a valid VXLAN Network ID"), 24 reserved
 * bits, the 24-bit VNI and 8 more reserved bits. Reserved bits are kept in the `Repr` so that
 * extensions that reuse them (VXLAN-GBP's group policy ID, VXLAN-GPE) round-trip unchanged.
 *
 * ```
 * |R|R|R|R|I|R|R|R|            Reserved                           |
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * ```
 */
import { u24, setU24 } from '@ovnts/packet';
import { checkSpan, fail, ok, needRoom, ReprError, WireErrorCode, type Result } from '@ovnts/packet';

/** The IANA-assigned UDP destination port for VXLAN. */
export const VXLAN_UDP_PORT = 4789;
/** Length of the VXLAN header. */
export const VXLAN_HEADER_LEN = 8;

/** VXLAN flag bits (in the first byte). */
export const VxlanFlags = {
  /** The VNI is valid; required. */
  I: 0x08,
} as const;

/** Byte offsets inside a VXLAN header. */
export const VxlanOffsets = { flags: 0, reserved1: 1, vni: 4, reserved2: 7 } as const;

const EMPTY = new Uint8Array(0);

/** A reusable view over a VXLAN header; call `check()` before `reset()`. */
export class VxlanView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `Ok` if a whole header is present (`Truncated`) with the I flag set (`BadValue`). */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('VxlanView.check', buf, off, len);
    if (len < VXLAN_HEADER_LEN || off < 0 || off + VXLAN_HEADER_LEN > buf.length) return WireErrorCode.Truncated;
    return (buf[off]! & VxlanFlags.I) === 0 ? WireErrorCode.BadValue : WireErrorCode.Ok;
  }
  /** Point the view at a new header (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }
  /** The flags byte (I = 0x08). */
  get flags(): number {
    return this.buf[this.off]!;
  }
  set flags(v: number) {
    this.buf[this.off] = v & 0xff;
  }
  /** The 24 reserved bits after the flags. */
  get reserved1(): number {
    return u24(this.buf, this.off + VxlanOffsets.reserved1);
  }
  set reserved1(v: number) {
    setU24(this.buf, this.off + VxlanOffsets.reserved1, v);
  }
  /** VXLAN Network Identifier (24 bits). */
  get vni(): number {
    return u24(this.buf, this.off + VxlanOffsets.vni);
  }
  set vni(v: number) {
    setU24(this.buf, this.off + VxlanOffsets.vni, v);
  }
  /** The reserved byte after the VNI. */
  get reserved2(): number {
    return this.buf[this.off + VxlanOffsets.reserved2]!;
  }
  set reserved2(v: number) {
    this.buf[this.off + VxlanOffsets.reserved2] = v & 0xff;
  }
  /** Offset of the payload (the inner Ethernet frame) in `buf`. */
  get payloadOffset(): number {
    return this.off + VXLAN_HEADER_LEN;
  }
  /** Length of the payload. */
  get payloadLength(): number {
    return this.len - VXLAN_HEADER_LEN;
  }
}

/** A plain VXLAN header. */
export interface VxlanRepr {
  /** The flags byte; must include `VxlanFlags.I`. */
  flags: number;
  /** The 24 reserved bits after the flags (zero per RFC 7348). */
  reserved1: number;
  vni: number;
  /** The reserved byte after the VNI (zero per RFC 7348). */
  reserved2: number;
}

/** A header with only the I flag and `vni`, reserved fields zero. */
export function vxlanRepr(vni: number): VxlanRepr {
  return { flags: VxlanFlags.I, reserved1: 0, vni, reserved2: 0 };
}

const view = new VxlanView();

/** Parse a VXLAN header from `len` bytes at `off`. */
export function parseVxlan(buf: Uint8Array, off = 0, len?: number): Result<VxlanRepr> {
  len = checkSpan('parseVxlan', buf, off, len);
  const code = VxlanView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('vxlan', code, off, code === WireErrorCode.BadValue ? 'I flag clear' : undefined);
  const v = view.reset(buf, off, len);
  return ok({ flags: v.flags, reserved1: v.reserved1, vni: v.vni, reserved2: v.reserved2 });
}

/** Bytes `emitVxlan` writes. */
export function vxlanLen(_r: VxlanRepr): number {
  return VXLAN_HEADER_LEN;
}

/** Write the header at `off`; returns the number of bytes written. */
export function emitVxlan(r: VxlanRepr, buf: Uint8Array, off = 0): number {
  if ((r.flags & VxlanFlags.I) === 0) throw new ReprError('vxlan', 'the I flag must be set');
  if (!Number.isInteger(r.vni) || r.vni < 0 || r.vni > 0xffffff) {
    throw new ReprError('vxlan', `VNI ${r.vni} is not a 24-bit value`);
  }
  needRoom('vxlan', buf, off, VXLAN_HEADER_LEN);
  const v = view.reset(buf, off, VXLAN_HEADER_LEN);
  v.flags = r.flags;
  v.reserved1 = r.reserved1;
  v.vni = r.vni;
  v.reserved2 = r.reserved2;
  return VXLAN_HEADER_LEN;
}

/** One-line summary, as tshark prints it. */
export function formatVxlan(r: VxlanRepr): string {
  return `Virtual eXtensible Local Area Network, Flags: 0x${((r.flags << 8) | (r.reserved1 >>> 16)).toString(16).padStart(4, '0')}, VNI: ${r.vni}`;
}
