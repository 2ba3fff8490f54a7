/**
 * 802.1Q VLAN tags and 802.1ad stacked tags (Q-in-Q). A tag is the 4 bytes after a TPID:
 * the TCI (PCP 3 bits, DEI 1 bit, VID 12 bits) and the next EtherType. The TPID itself
 * belongs to the header before (Ethernet's EtherType or the previous tag's inner type).
 */
import { u16, setU16 } from './bytes.js';
import { EtherType } from './ethernet.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';

/** Byte offsets inside a VLAN tag (after its TPID). */
export const VlanOffsets = { tci: 0, etherType: 2 } as const;
/** Length of a VLAN tag after its TPID. */
export const VLAN_TAG_LEN = 4;

/** True if `etherType` is a TPID that introduces a VLAN tag (0x8100, 0x88a8, 0x9100). */
export function isVlanTpid(etherType: number): boolean {
  return etherType === EtherType.VLAN || etherType === EtherType.QinQ || etherType === EtherType.QinQ9100;
}

const EMPTY = new Uint8Array(0);

/** A reusable view over a VLAN tag. */
export class VlanView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `WireErrorCode.Ok` if a whole tag is present. */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('VlanView.check', buf, off, len);
    return len < VLAN_TAG_LEN ? WireErrorCode.Truncated : WireErrorCode.Ok;
  }
  /** Point the view at a tag. */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }
  /** Tag control information (PCP, DEI, VID). */
  get tci(): number {
    return u16(this.buf, this.off);
  }
  set tci(v: number) {
    setU16(this.buf, this.off, v);
  }
  /** Priority code point (3 bits). */
  get pcp(): number {
    return this.buf[this.off]! >>> 5;
  }
  /** Drop eligible indicator. */
  get dei(): boolean {
    return (this.buf[this.off]! & 0x10) !== 0;
  }
  /** VLAN identifier (12 bits). */
  get vid(): number {
    return this.tci & 0x0fff;
  }
  /** The EtherType of what follows the tag. */
  get etherType(): number {
    return u16(this.buf, this.off + VlanOffsets.etherType);
  }
  set etherType(v: number) {
    setU16(this.buf, this.off + VlanOffsets.etherType, v);
  }
  /** Offset of what follows the tag. */
  get payloadOffset(): number {
    return this.off + VLAN_TAG_LEN;
  }
}

/** A plain VLAN tag. */
export interface VlanRepr {
  pcp: number;
  dei: boolean;
  vid: number;
  etherType: number;
}

const view = new VlanView();

/** Parse a VLAN tag (the 4 bytes after a TPID). */
export function parseVlan(buf: Uint8Array, off = 0, len?: number): Result<VlanRepr> {
  len = checkSpan('parseVlan', buf, off, len);
  const code = VlanView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('vlan', code, off);
  const v = view.reset(buf, off, len);
  return ok({ pcp: v.pcp, dei: v.dei, vid: v.vid, etherType: v.etherType });
}

/** Bytes `emitVlan` writes. */
export function vlanLen(_r: VlanRepr): number {
  return VLAN_TAG_LEN;
}

/** Write a tag at `off`; returns the number of bytes written. */
export function emitVlan(r: VlanRepr, buf: Uint8Array, off = 0): number {
  needRoom('vlan', buf, off, VLAN_TAG_LEN);
  setU16(buf, off, ((r.pcp & 7) << 13) | (r.dei ? 0x1000 : 0) | (r.vid & 0xfff));
  setU16(buf, off + 2, r.etherType);
  return VLAN_TAG_LEN;
}

/** One-line summary, as tshark prints it. */
export function formatVlan(r: VlanRepr): string {
  return `802.1Q Virtual LAN, PRI: ${r.pcp}, DEI: ${r.dei ? 1 : 0}, ID: ${r.vid}`;
}
