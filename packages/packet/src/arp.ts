/**
 * ARP (RFC 826) for Ethernet and IPv4 only, the one combination an OVN network carries. Any
 * other hardware type, protocol type or address length is `BadValue`.
 */
import { formatIpv4, formatMac } from './addr.js';
import { u8, u16, u32, u48, setU8, setU16, setU32, setU48 } from './bytes.js';
import { EtherType } from './ethernet.js';
import { checkSpan, fail, ok, needRoom, WireErrorCode, type Result } from './errors.js';

/** ARP operation codes. */
export const ArpOp = {
  Request: 1,
  Reply: 2,
  RarpRequest: 3,
  RarpReply: 4,
} as const;

/** ARP hardware types we name. */
export const ArpHardware = { Ethernet: 1 } as const;

/** Byte offsets inside an Ethernet/IPv4 ARP packet. */
export const ArpOffsets = {
  htype: 0,
  ptype: 2,
  hlen: 4,
  plen: 5,
  op: 6,
  sha: 8,
  spa: 14,
  tha: 18,
  tpa: 24,
} as const;
/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = 28;

const EMPTY = new Uint8Array(0);

/** A reusable view over an Ethernet/IPv4 ARP packet. */
export class ArpView {
  buf: Uint8Array = EMPTY;
  off = 0;
  len = 0;

  /** `Ok` for a whole Ethernet/IPv4 ARP packet; `Truncated`, or `BadValue` for other types/lengths. */
  static check(buf: Uint8Array, off: number, len: number): WireErrorCode {
    checkSpan('ArpView.check', buf, off, len);
    if (len < ARP_LEN) return WireErrorCode.Truncated;
    if (
      u16(buf, off + ArpOffsets.htype) !== ArpHardware.Ethernet ||
      u16(buf, off + ArpOffsets.ptype) !== EtherType.IPv4 ||
      buf[off + ArpOffsets.hlen] !== 6 ||
      buf[off + ArpOffsets.plen] !== 4
    ) {
      return WireErrorCode.BadValue;
    }
    return WireErrorCode.Ok;
  }

  /** Point the view at a new packet (no allocation). */
  reset(buf: Uint8Array, off: number, len: number): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }

  /** Hardware type (1 = Ethernet). */
  get htype(): number {
    return u16(this.buf, this.off + ArpOffsets.htype);
  }
  set htype(v: number) {
    setU16(this.buf, this.off + ArpOffsets.htype, v);
  }
  /** Protocol type (0x0800 = IPv4). */
  get ptype(): number {
    return u16(this.buf, this.off + ArpOffsets.ptype);
  }
  set ptype(v: number) {
    setU16(this.buf, this.off + ArpOffsets.ptype, v);
  }
  /** Hardware address length (6). */
  get hlen(): number {
    return u8(this.buf, this.off + ArpOffsets.hlen);
  }
  set hlen(v: number) {
    setU8(this.buf, this.off + ArpOffsets.hlen, v);
  }
  /** Protocol address length (4). */
  get plen(): number {
    return u8(this.buf, this.off + ArpOffsets.plen);
  }
  set plen(v: number) {
    setU8(this.buf, this.off + ArpOffsets.plen, v);
  }
  /** Operation (see `ArpOp`). */
  get op(): number {
    return u16(this.buf, this.off + ArpOffsets.op);
  }
  set op(v: number) {
    setU16(this.buf, this.off + ArpOffsets.op, v);
  }
  /** Sender hardware address. */
  get sha(): number {
    return u48(this.buf, this.off + ArpOffsets.sha);
  }
  set sha(v: number) {
    setU48(this.buf, this.off + ArpOffsets.sha, v);
  }
  /** Sender protocol address. */
  get spa(): number {
    return u32(this.buf, this.off + ArpOffsets.spa);
  }
  set spa(v: number) {
    setU32(this.buf, this.off + ArpOffsets.spa, v);
  }
  /** Target hardware address. */
  get tha(): number {
    return u48(this.buf, this.off + ArpOffsets.tha);
  }
  set tha(v: number) {
    setU48(this.buf, this.off + ArpOffsets.tha, v);
  }
  /** Target protocol address. */
  get tpa(): number {
    return u32(this.buf, this.off + ArpOffsets.tpa);
  }
  set tpa(v: number) {
    setU32(this.buf, this.off + ArpOffsets.tpa, v);
  }
}

/** A plain Ethernet/IPv4 ARP packet. */
export interface ArpRepr {
  op: number;
  sha: number;
  spa: number;
  tha: number;
  tpa: number;
}

const view = new ArpView();

/** Parse an Ethernet/IPv4 ARP packet from `len` bytes at `off`. */
export function parseArp(buf: Uint8Array, off = 0, len?: number): Result<ArpRepr> {
  len = checkSpan('parseArp', buf, off, len);
  const code = ArpView.check(buf, off, len);
  if (code !== WireErrorCode.Ok) return fail('arp', code, off);
  const v = view.reset(buf, off, len);
  return ok({ op: v.op, sha: v.sha, spa: v.spa, tha: v.tha, tpa: v.tpa });
}

/** Bytes `emitArp` writes. */
export function arpLen(_r: ArpRepr): number {
  return ARP_LEN;
}

/** Write the packet at `off` (Ethernet/IPv4 types and lengths); returns the bytes written. */
export function emitArp(r: ArpRepr, buf: Uint8Array, off = 0): number {
  needRoom('arp', buf, off, ARP_LEN);
  const v = view.reset(buf, off, ARP_LEN);
  v.htype = ArpHardware.Ethernet;
  v.ptype = EtherType.IPv4;
  v.hlen = 6;
  v.plen = 4;
  v.op = r.op;
  v.sha = r.sha;
  v.spa = r.spa;
  v.tha = r.tha;
  v.tpa = r.tpa;
  return ARP_LEN;
}

const opNames: Record<number, string> = { 1: 'request', 2: 'reply', 3: 'reverse request', 4: 'reverse reply' };

/** One-line summary, as tshark prints it (protocol line, then the Info column's sentence). */
export function formatArp(r: ArpRepr): string {
  const name = opNames[r.op] ?? `opcode ${r.op}`;
  let info: string;
  if (r.op === ArpOp.Request) {
    info = r.spa === r.tpa ? `ARP Announcement for ${formatIpv4(r.tpa)}` : `Who has ${formatIpv4(r.tpa)}? Tell ${formatIpv4(r.spa)}`;
  } else if (r.op === ArpOp.Reply) {
    info = `${formatIpv4(r.spa)} is at ${formatMac(r.sha)}`;
  } else {
    info = `Sender: ${formatMac(r.sha)} (${formatIpv4(r.spa)}), Target: ${formatMac(r.tha)} (${formatIpv4(r.tpa)})`;
  }
  return `Address Resolution Protocol (${name}), ${info}`;
}
