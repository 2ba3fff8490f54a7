/**
 * Committing a flow key's pending rewrites to the packet bytes, the way OVS does at every output.
 *
 * OVS translates OpenFlow actions against `struct flow` only; the packet is not touched until an
 * action needs the bytes (output, controller, tunnel push). Then `commit_odp_actions()` compares
 * the flow with the "base flow" (what the bytes currently say) and emits datapath `set`/`push_vlan`
 * /`pop_vlan` actions, in a fixed order: Ethernet, L3 (IPv4, IPv6 with ND, ARP), L4 ports, ICMP,
 * VLAN tags. The datapath (`odp_execute_actions()` and lib/packets.c) applies each with an
 * incremental checksum update (RFC 1624), and only where the packet's value differs.
 *
 * `PacketState` holds the bytes being forwarded. It starts as a reference to the caller's frame
 * (no copy); the first rewrite copies the frame into a preallocated scratch buffer with headroom
 * (for VLAN pushes and tunnel headers), and later rewrites happen in place there. `commitKey()`
 * implements the comparison and the byte edits with OVS's quirks: nothing at L3/L4 when the flow's
 * `nw_proto` is 0; UDP checksum 0 stays 0 over IPv4 and a rewrite that computes 0 stores 0xffff;
 * TCP needs a whole header (data offset valid), UDP 8 bytes, ICMP 8 bytes; SCTP's CRC32c is
 * adjusted by XOR as OVS does; IPv6 destination rewrites skip the L4 checksum when a routing header
 * with segments left is present, and no L4 checksum is touched in non-first IPv6 fragments;
 * pushed VLAN tags get the TCI without the CFI ("present") bit.
 */
import { formatIpv4, formatIpv6Ntop, u16, u32 } from '@ovnts/packet';
import { W, WC_VLAN1, type FlowKey } from './flowkey.js';

/** Bytes of headroom kept in front of a copied frame: two VLAN tags and the largest tunnel header. */
export const PACKET_HEADROOM = 384;

const ETH_TYPE_IP = 0x0800;
const ETH_TYPE_IPV6 = 0x86dd;
const ETH_TYPE_ARP = 0x0806;
const ETH_TYPE_RARP = 0x8035;
const VLAN_CFI = 0x1000;

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** RFC 1624 update of checksum `c` for one 16-bit word changing from `o` to `n`. */
function csum16(c: number, o: number, n: number): number {
  return ~fold((~c & 0xffff) + (~o & 0xffff) + (n & 0xffff)) & 0xffff;
}

function csum32(c: number, o: number, n: number): number {
  return csum16(csum16(c, o >>> 16, n >>> 16), o & 0xffff, n & 0xffff);
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

const CRC32C_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC32c (Castagnoli) of `b[off, off+len)`, as SCTP stores it (little-endian on the wire). */
export function crc32c(b: Uint8Array, off: number, len: number): number {
  let c = 0xffffffff;
  for (let i = off; i < off + len; i++) c = CRC32C_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * The bytes of the packet being forwarded, with the offsets of its headers. Offsets are absolute
 * indices into `buf`; `l3`/`l4` are -1 when the layer was not parsed.
 */
export class PacketState {
  /** Current bytes (the caller's frame until the first rewrite, then the scratch buffer). */
  buf: Uint8Array = new Uint8Array(0);
  /** Start of the Ethernet header in `buf`. */
  off = 0;
  /** Frame length. */
  len = 0;
  /** L3 header offset or -1. */
  l3 = -1;
  /** L4 header offset or -1. */
  l4 = -1;
  /** End of the L3 packet (before Ethernet padding). */
  end = 0;
  /** True once the bytes live in one of our scratch buffers. */
  owned = false;
  /**
   * True when the scratch bytes in `buf` were handed to an output log entry: the next edit first
   * copies them to a fresh scratch buffer (copy-on-write), so an output costs no copy of its own.
   */
  frozen = false;
  /** Scratch buffers of the current frame (reused for every frame; grow when a larger frame arrives). */
  private readonly pool: Uint8Array[] = [new Uint8Array(PACKET_HEADROOM + 2048)];
  private poolUsed = 0;

  /** The first scratch buffer. */
  get scratch(): Uint8Array {
    return this.pool[0]!;
  }

  /** Reference a received frame (no copy) and the offsets extraction found. */
  load(frame: Uint8Array, off: number, len: number, key: FlowKey): void {
    this.buf = frame;
    this.off = off;
    this.len = len;
    this.l3 = key.l3;
    this.l4 = key.l4;
    this.end = key.end;
    this.owned = false;
    this.frozen = false;
    this.poolUsed = 0;
  }

  /**
   * Reference other bytes for the same packet (a recirculated clone) without recycling the
   * scratch buffers: earlier outputs may still reference them. The bytes are not ours: the first
   * edit copies them.
   */
  reload(buf: Uint8Array, off: number, len: number, l3: number, l4: number, end: number): void {
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.l3 = l3;
    this.l4 = l4;
    this.end = end;
    this.owned = false;
    this.frozen = false;
  }

  /**
   * Make the bytes ours to edit: copy them (from the caller's frame, or from a scratch buffer an
   * output still references) into a free scratch buffer behind `PACKET_HEADROOM` bytes.
   */
  own(): void {
    if (this.owned && !this.frozen) return;
    let s = this.pool[this.poolUsed];
    if (s === undefined || s.length < PACKET_HEADROOM + this.len + 16) {
      s = new Uint8Array(PACKET_HEADROOM + this.len + 2048);
      this.pool[this.poolUsed] = s;
    }
    this.poolUsed++;
    const src = this.buf;
    const off = this.off;
    const len = this.len;
    const delta = PACKET_HEADROOM - off;
    if (off === 0 && len === src.length) s.set(src, PACKET_HEADROOM);
    else for (let i = 0; i < len; i++) s[PACKET_HEADROOM + i] = src[off + i]!;
    this.buf = s;
    this.off = PACKET_HEADROOM;
    if (this.l3 >= 0) this.l3 += delta;
    if (this.l4 >= 0) this.l4 += delta;
    this.end += delta;
    this.owned = true;
    this.frozen = false;
  }

  /** Copy another state (used to save and restore around clones). */
  copyFrom(o: PacketState): void {
    this.buf = o.buf;
    this.off = o.off;
    this.len = o.len;
    this.l3 = o.l3;
    this.l4 = o.l4;
    this.end = o.end;
    this.owned = o.owned;
    this.frozen = o.frozen;
  }

  /** The frame as a view (allocates the view object unless it is the whole caller's array). */
  view(): Uint8Array {
    if (!this.owned && this.off === 0 && this.len === this.buf.length) return this.buf;
    return this.buf.subarray(this.off, this.off + this.len);
  }

  /** Bytes from the L4 header to the end of the L3 packet (OVS `dp_packet_l4_size`). */
  l4Size(): number {
    return this.l4 < 0 ? 0 : this.end - this.l4;
  }
}

function macEq(a: Uint32Array, b: Uint32Array, word: number): boolean {
  return a[word] === b[word] && a[word + 1] === b[word + 1];
}

function fmtIp6(w: Uint32Array, word: number): string {
  return formatIpv6Ntop((BigInt(w[word]!) << 96n) | (BigInt(w[word + 1]!) << 64n) | (BigInt(w[word + 2]!) << 32n) | BigInt(w[word + 3]!));
}

function eq4(a: Uint32Array, b: Uint32Array, word: number): boolean {
  return a[word] === b[word] && a[word + 1] === b[word + 1] && a[word + 2] === b[word + 2] && a[word + 3] === b[word + 3];
}

/** Number of VLAN headers in a key's stack (OVS `flow_count_vlan_headers`). */
function vlanCount(k: FlowKey): number {
  if ((k.w[W.vlan_tci]! & VLAN_CFI) === 0) return 0;
  return (k.vlan2Tci & VLAN_CFI) === 0 ? 1 : 2;
}

function vlanTci(k: FlowKey, i: number): number {
  return i === 0 ? k.w[W.vlan_tci]! : k.vlan2Tci;
}

function vlanTpid(k: FlowKey, i: number): number {
  return i === 0 ? k.vlanTpid : k.vlan2Tpid;
}

/** Pop the outer tag from the bytes (OVS `eth_pop_vlan`: only a whole 802.1Q/802.1ad tag). */
function popVlan(p: PacketState): void {
  if (p.len < 18) return;
  const t = u16(p.buf, p.off + 12);
  if (t !== 0x8100 && t !== 0x88a8) return;
  p.own();
  const b = p.buf;
  for (let i = 11; i >= 0; i--) b[p.off + 4 + i] = b[p.off + i]!;
  p.off += 4;
  p.len -= 4;
}

/** Push a tag (OVS `eth_push_vlan`: TCI written without the CFI bit). */
function pushVlan(p: PacketState, tpid: number, tci: number): void {
  p.own();
  const b = p.buf;
  const n = p.len < 12 ? p.len : 12;
  for (let i = 0; i < n; i++) b[p.off - 4 + i] = b[p.off + i]!;
  p.off -= 4;
  p.len += 4;
  put16(b, p.off + 12, tpid);
  put16(b, p.off + 14, tci & ~VLAN_CFI & 0xffff);
}

/**
 * Walk IPv6 extension headers between the fixed header and L4 like OVS `packet_rh_present()`:
 * returns bit 0 = a routing header with segments left, bit 1 = L4 checksums may be recalculated,
 * and the final next header in bits 8..15.
 */
function ipv6Walk(p: PacketState): number {
  const b = p.buf;
  let remaining = p.l4 - p.l3;
  let recalc = 2;
  if (remaining < 40) return recalc;
  let data = p.l3 + 40;
  remaining -= 40;
  let nh = b[p.l3 + 6]!;
  for (;;) {
    if (nh !== 0 && nh !== 43 && nh !== 60 && nh !== 51 && nh !== 44) break;
    if (remaining < 8) return recalc | (nh << 8);
    let len: number;
    if (nh === 51) {
      len = (b[data + 1]! + 2) * 4;
      nh = b[data]!;
    } else if (nh === 44) {
      const offlg = u16(b, data + 2);
      recalc = (offlg & 0xfff8) === 0 && (offlg & 1) !== 0 ? 2 : 0;
      nh = b[data]!;
      len = 8;
    } else if (nh === 43) {
      if (b[data + 3]! > 0) return recalc | 1 | (nh << 8);
      len = (b[data + 1]! + 1) * 8;
      nh = b[data]!;
    } else {
      len = (b[data + 1]! + 1) * 8;
      nh = b[data]!;
    }
    if (remaining < len) return recalc | (nh << 8);
    remaining -= len;
    data += len;
  }
  return recalc | (nh << 8);
}

/** Update the L4 checksum for a 128-bit address change (OVS `packet_update_csum128`). */
function csum128(p: PacketState, proto: number, b: Uint8Array, at: number, nw: Uint32Array, word: number): void {
  const l4 = p.l4;
  const size = p.l4Size();
  let co = -1;
  let udp = false;
  if (proto === 6 && size >= 20) co = l4 + 16;
  else if (proto === 17 && size >= 8) {
    co = l4 + 6;
    udp = true;
  } else if (proto === 58 && size >= 4) co = l4 + 2;
  if (co < 0) return;
  let c = u16(b, co);
  if (udp && c === 0) return;
  for (let i = 0; i < 4; i++) c = csum32(c, u32(b, at + 4 * i), nw[word + i]!);
  if (udp && c === 0) c = 0xffff;
  put16(b, co, c);
}

function write128(b: Uint8Array, at: number, w: Uint32Array, word: number): void {
  for (let i = 0; i < 4; i++) put32(b, at + 4 * i, w[word + i]!);
}

function same128(b: Uint8Array, at: number, w: Uint32Array, word: number): boolean {
  for (let i = 0; i < 4; i++) if (u32(b, at + 4 * i) !== w[word + i]) return false;
  return true;
}

function setIpv4Addr(p: PacketState, at: number, v: number): void {
  const b = p.buf;
  const old = u32(b, at);
  if (old === v) return;
  const l3 = p.l3;
  const proto = b[l3 + 9]!;
  const size = p.l4Size();
  if (p.l4 >= 0 && proto === 6 && size >= 20) put16(b, p.l4 + 16, csum32(u16(b, p.l4 + 16), old, v));
  else if (p.l4 >= 0 && proto === 17 && size >= 8) {
    const c = u16(b, p.l4 + 6);
    if (c !== 0) {
      const n = csum32(c, old, v);
      put16(b, p.l4 + 6, n === 0 ? 0xffff : n);
    }
  }
  put16(b, l3 + 10, csum32(u16(b, l3 + 10), old, v));
  put32(b, at, v);
}

function setPort16(b: Uint8Array, at: number, v: number, co: number): void {
  const old = u16(b, at);
  if (old === v) return;
  put16(b, co, csum16(u16(b, co), old, v));
  put16(b, at, v);
}

function setMac48(b: Uint8Array, at: number, w: Uint32Array, word: number): void {
  put16(b, at, w[word]!);
  put32(b, at + 2, w[word + 1]!);
}

/**
 * Where a trace's commit writes: the datapath action texts and the megaflow mask (OVS `ctx->wc`)
 * whose bits say which part of each changed field a masked `set` writes.
 */
export interface DpTrace {
  /** The datapath actions so far. */
  readonly dp: string[];
  /** The wildcards un-wildcarded so far (with the `WC_VLAN1` word). */
  readonly wc: Uint32Array;
}

/**
 * Commit every difference between `key` (the flow after the actions so far) and `base` (what the
 * bytes say) to `p`, then make `base` equal to `key`. When `tr` is given, the datapath actions OVS
 * would print for the commit are appended (`set(ipv4(src=...))`, `pop_vlan`, `push_vlan(...)`)
 * the way `commit_odp_actions()` builds them with masked sets: each changed field with the bits
 * the translation un-wildcarded (`tclass=0xdc/0xfc`), unchanged fields left out; ICMP type and
 * code as a whole `set(icmp(...))` that un-wildcards both; a popped VLAN tag un-wildcarded in
 * full; `pkt_mark` as `set(skb_mark(...))`.
 */
export function commitKey(key: FlowKey, base: FlowKey, p: PacketState, tr: DpTrace | null): void {
  const k = key.w;
  const bw = base.w;
  const dp = tr === null ? null : tr.dp;
  const wc = tr === null ? null : tr.wc;

  // Ethernet.
  if (!macEq(k, bw, W.dl_src) || !macEq(k, bw, W.dl_dst)) {
    if (dp && wc) {
      const f: string[] = [];
      if (!macEq(k, bw, W.dl_src)) putMac(f, 'src', k, wc, W.dl_src);
      if (!macEq(k, bw, W.dl_dst)) putMac(f, 'dst', k, wc, W.dl_dst);
      dp.push(`set(eth(${f.join(',')}))`);
    }
    if (p.len >= 14) {
      p.own();
      setMac48(p.buf, p.off, k, W.dl_dst);
      setMac48(p.buf, p.off + 6, k, W.dl_src);
    }
  }

  const dl = bw[W.dl_type]!;
  const nwProto = k[W.nw_proto]!;
  if (nwProto !== 0 && p.l3 >= 0) {
    if (dl === ETH_TYPE_IP) commitIpv4(k, bw, p, tr);
    else if (dl === ETH_TYPE_IPV6) {
      commitIpv6(k, bw, p, tr);
      if (bw[W.nw_proto] === 58) commitNd(k, bw, p, tr);
    } else if (dl === ETH_TYPE_ARP || dl === ETH_TYPE_RARP) commitArp(k, bw, p, tr);
  }

  // L4 ports.
  if (nwProto !== 0 && (dl === ETH_TYPE_IP || dl === ETH_TYPE_IPV6) && (nwProto === 6 || nwProto === 17 || nwProto === 132)) {
    if (k[W.tp_src] !== bw[W.tp_src] || k[W.tp_dst] !== bw[W.tp_dst]) {
      if (dp && wc) {
        const f: string[] = [];
        if (k[W.tp_src] !== bw[W.tp_src]) putU16(f, 'src', k[W.tp_src]!, wc[W.tp_src]! & 0xffff);
        if (k[W.tp_dst] !== bw[W.tp_dst]) putU16(f, 'dst', k[W.tp_dst]!, wc[W.tp_dst]! & 0xffff);
        dp.push(`set(${nwProto === 6 ? 'tcp' : nwProto === 17 ? 'udp' : 'sctp'}(${f.join(',')}))`);
      }
      commitPorts(k, p, nwProto);
    }
  }

  // ICMP type and code.
  const icmp4 = dl === ETH_TYPE_IP && nwProto === 1;
  const icmp6 = dl === ETH_TYPE_IPV6 && nwProto === 58;
  if ((icmp4 || icmp6) && (k[W.tp_src] !== bw[W.tp_src] || k[W.tp_dst] !== bw[W.tp_dst])) {
    if (dp && wc) {
      // commit_set_icmp_action(): never a masked set; the whole key is written and un-wildcarded.
      dp.push(`set(${icmp4 ? 'icmp' : 'icmpv6'}(type=${k[W.tp_src]! & 0xff},code=${k[W.tp_dst]! & 0xff}))`);
      wc[W.tp_src] = (wc[W.tp_src]! | 0xff) >>> 0;
      wc[W.tp_dst] = (wc[W.tp_dst]! | 0xff) >>> 0;
    }
    if (p.l4 >= 0 && p.l4Size() >= 8) {
      p.own();
      const b = p.buf;
      const l4 = p.l4;
      const o = u16(b, l4);
      const n = ((k[W.tp_src]! & 0xff) << 8) | (k[W.tp_dst]! & 0xff);
      if (o !== n) {
        put16(b, l4, n);
        put16(b, l4 + 2, csum16(u16(b, l4 + 2), o, n));
      }
    }
  }

  // VLAN tags (OVS commit_vlan_action): pop the base's mismatching tags, push the flow's.
  let bn = vlanCount(base);
  let fn = vlanCount(key);
  while (bn > 0 && fn > 0 && vlanTci(base, bn - 1) === vlanTci(key, fn - 1) && vlanTpid(base, bn - 1) === vlanTpid(key, fn - 1)) {
    bn--;
    fn--;
  }
  for (; bn > 0; bn--) {
    if (dp && wc) {
      dp.push('pop_vlan');
      const at = bn === 1 ? W.vlan_tci : WC_VLAN1;
      wc[at] = (wc[at]! | 0xffff) >>> 0;
    }
    popVlan(p);
  }
  for (; fn > 0; fn--) {
    const tci = vlanTci(key, fn - 1);
    const tpid = vlanTpid(key, fn - 1);
    if (dp) dp.push(`push_vlan(${tpid !== 0x8100 ? `tpid=0x${tpid.toString(16)},` : ''}vid=${tci & 0xfff},pcp=${tci >>> 13})`);
    pushVlan(p, tpid, tci);
  }
  // The datapath priority (set_queue/pop_queue): metadata, no bytes change.
  if (dp && key.skbPriority !== base.skbPriority) dp.push(`set(skb_priority(${key.skbPriority ? `0x${key.skbPriority.toString(16)}` : '0'}))`);
  // pkt_mark (datapath skb_mark): metadata only, nothing in the bytes.
  if (dp && wc && k[W.pkt_mark] !== bw[W.pkt_mark]) {
    const m = wc[W.pkt_mark]!;
    dp.push(`set(skb_mark(${m === 0xffffffff ? hx(k[W.pkt_mark]!) : `${hx((k[W.pkt_mark]! & m) >>> 0)}/${hx(m)}`}))`);
  }
  base.copyFrom(key);
}

/** C's `%#x`: `0x`-prefixed hexadecimal, but a bare `0` for zero. */
function hx(v: number): string {
  return v === 0 ? '0' : `0x${(v >>> 0).toString(16)}`;
}

// The field printers of OVS's format_odp_key_attr() for a masked set: the value under the mask,
// and the mask after it unless it is exact; a field whose mask is empty is left out.

function putMac(f: string[], name: string, k: Uint32Array, wc: Uint32Array, word: number): void {
  const mh = wc[word]! & 0xffff;
  const ml = wc[word + 1]!;
  if (mh === 0 && ml === 0) return;
  const v = macText((k[word]! & mh) >>> 0, (k[word + 1]! & ml) >>> 0);
  f.push(mh === 0xffff && ml === 0xffffffff ? `${name}=${v}` : `${name}=${v}/${macText(mh, ml)}`);
}

function macText(hi: number, lo: number): string {
  const b = [hi >>> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function putIp4(f: string[], name: string, v: number, m: number): void {
  if (m === 0) return;
  f.push(m === 0xffffffff ? `${name}=${formatIpv4(v)}` : `${name}=${formatIpv4((v & m) >>> 0)}/${formatIpv4(m)}`);
}

function putIp6(f: string[], name: string, k: Uint32Array, wc: Uint32Array, word: number): void {
  const m = new Uint32Array(4);
  const v = new Uint32Array(4);
  let any = false;
  let full = true;
  for (let i = 0; i < 4; i++) {
    m[i] = wc[word + i]!;
    v[i] = (k[word + i]! & m[i]!) >>> 0;
    if (m[i] !== 0) any = true;
    if (m[i] !== 0xffffffff) full = false;
  }
  if (!any) return;
  f.push(full ? `${name}=${fmtIp6(v, 0)}` : `${name}=${fmtIp6(v, 0)}/${fmtIp6(m, 0)}`);
}

/** `format_u8x` (`hex`) or `format_u8u` (decimal). */
function putU8(f: string[], name: string, v: number, m: number, hex: boolean): void {
  if (m === 0) return;
  const x = (v & m) >>> 0;
  f.push(`${name}=${hex ? hx(x) : String(x)}${m === 0xff ? '' : `/${hx(m)}`}`);
}

/** `format_be16`: decimal value, hexadecimal mask. */
function putU16(f: string[], name: string, v: number, m: number): void {
  if (m === 0) return;
  f.push(`${name}=${(v & m) >>> 0}${m === 0xffff ? '' : `/${hx(m)}`}`);
}

/** The ToS mask of a commit: without the ECN bits for a tunnelled packet whose ECN did not change (OVS). */
function tosMask(k: Uint32Array, bw: Uint32Array, wc: Uint32Array): number {
  let m = wc[W.nw_tos]! & 0xff;
  const tunnelled = bw[W.tun_dst] !== 0 || bw[W.tun_ipv6_dst] !== 0 || bw[W.tun_ipv6_dst + 1] !== 0 || bw[W.tun_ipv6_dst + 2] !== 0 || bw[W.tun_ipv6_dst + 3] !== 0;
  if (tunnelled && ((k[W.nw_tos]! ^ bw[W.nw_tos]!) & 3) === 0) m &= ~3;
  return m;
}

function commitIpv4(k: Uint32Array, bw: Uint32Array, p: PacketState, tr: DpTrace | null): void {
  const ch = k[W.nw_src] !== bw[W.nw_src] || k[W.nw_dst] !== bw[W.nw_dst] || k[W.nw_tos] !== bw[W.nw_tos] || k[W.nw_ttl] !== bw[W.nw_ttl];
  if (!ch) return;
  if (tr) {
    const f: string[] = [];
    const wc = tr.wc;
    if (k[W.nw_src] !== bw[W.nw_src]) putIp4(f, 'src', k[W.nw_src]!, wc[W.nw_src]!);
    if (k[W.nw_dst] !== bw[W.nw_dst]) putIp4(f, 'dst', k[W.nw_dst]!, wc[W.nw_dst]!);
    if (k[W.nw_tos] !== bw[W.nw_tos]) putU8(f, 'tos', k[W.nw_tos]!, tosMask(k, bw, wc), true);
    if (k[W.nw_ttl] !== bw[W.nw_ttl]) putU8(f, 'ttl', k[W.nw_ttl]!, wc[W.nw_ttl]! & 0xff, false);
    tr.dp.push(`set(ipv4(${f.join(',')}))`);
  }
  p.own();
  const b = p.buf;
  const l3 = p.l3;
  if (k[W.nw_src] !== bw[W.nw_src]) setIpv4Addr(p, l3 + 12, k[W.nw_src]!);
  if (k[W.nw_dst] !== bw[W.nw_dst]) setIpv4Addr(p, l3 + 16, k[W.nw_dst]!);
  if (k[W.nw_tos] !== bw[W.nw_tos]) {
    const o = b[l3 + 1]!;
    const n = k[W.nw_tos]! & 0xff;
    if (o !== n) {
      put16(b, l3 + 10, csum16(u16(b, l3 + 10), o, n));
      b[l3 + 1] = n;
    }
  }
  if (k[W.nw_ttl] !== bw[W.nw_ttl]) {
    const o = b[l3 + 8]!;
    const n = k[W.nw_ttl]! & 0xff;
    if (o !== n) {
      put16(b, l3 + 10, csum16(u16(b, l3 + 10), o << 8, n << 8));
      b[l3 + 8] = n;
    }
  }
}

function commitIpv6(k: Uint32Array, bw: Uint32Array, p: PacketState, tr: DpTrace | null): void {
  const srcCh = !eq4(k, bw, W.ipv6_src);
  const dstCh = !eq4(k, bw, W.ipv6_dst);
  const ch = srcCh || dstCh || k[W.nw_tos] !== bw[W.nw_tos] || k[W.nw_ttl] !== bw[W.nw_ttl] || k[W.ipv6_label] !== bw[W.ipv6_label];
  if (!ch) return;
  if (tr) {
    const f: string[] = [];
    const wc = tr.wc;
    if (srcCh) putIp6(f, 'src', k, wc, W.ipv6_src);
    if (dstCh) putIp6(f, 'dst', k, wc, W.ipv6_dst);
    if (k[W.ipv6_label] !== bw[W.ipv6_label]) {
      const m = wc[W.ipv6_label]! & 0xfffff;
      if (m !== 0) f.push(`label=${hx((k[W.ipv6_label]! & m) >>> 0)}${m === 0xfffff ? '' : `/${hx(m)}`}`);
    }
    if (k[W.nw_tos] !== bw[W.nw_tos]) putU8(f, 'tclass', k[W.nw_tos]!, tosMask(k, bw, wc), true);
    if (k[W.nw_ttl] !== bw[W.nw_ttl]) putU8(f, 'hlimit', k[W.nw_ttl]!, wc[W.nw_ttl]! & 0xff, false);
    tr.dp.push(`set(ipv6(${f.join(',')}))`);
  }
  p.own();
  const b = p.buf;
  const l3 = p.l3;
  const walk = ipv6Walk(p);
  const rh = (walk & 1) !== 0;
  const recalc = (walk & 2) !== 0;
  const proto = walk >>> 8;
  if (srcCh && !same128(b, l3 + 8, k, W.ipv6_src)) {
    if (recalc) csum128(p, proto, b, l3 + 8, k, W.ipv6_src);
    write128(b, l3 + 8, k, W.ipv6_src);
  }
  if (dstCh && !same128(b, l3 + 24, k, W.ipv6_dst)) {
    if (!rh && recalc) csum128(p, proto, b, l3 + 24, k, W.ipv6_dst);
    write128(b, l3 + 24, k, W.ipv6_dst);
  }
  const old = u32(b, l3);
  const tc = k[W.nw_tos]! & 0xff;
  const fl = k[W.ipv6_label]! & 0xfffff;
  put32(b, l3, ((old & 0xf0000000) | (tc << 20) | fl) >>> 0);
  b[l3 + 7] = k[W.nw_ttl]! & 0xff;
}

function commitNd(k: Uint32Array, bw: Uint32Array, p: PacketState, tr: DpTrace | null): void {
  const tCh = !eq4(k, bw, W.nd_target);
  const sCh = !macEq(k, bw, W.arp_sha);
  const lCh = !macEq(k, bw, W.arp_tha);
  if (!tCh && !sCh && !lCh) return;
  if (tr) {
    const f: string[] = [];
    if (tCh) putIp6(f, 'target', k, tr.wc, W.nd_target);
    if (sCh) putMac(f, 'sll', k, tr.wc, W.arp_sha);
    if (lCh) putMac(f, 'tll', k, tr.wc, W.arp_tha);
    tr.dp.push(`set(nd(${f.join(',')}))`);
  }
  if (p.l4 < 0 || p.l4Size() < 24) return;
  p.own();
  const b = p.buf;
  const l4 = p.l4;
  if (tCh && !same128(b, l4 + 8, k, W.nd_target)) {
    let c = u16(b, l4 + 2);
    for (let i = 0; i < 4; i++) c = csum32(c, u32(b, l4 + 8 + 4 * i), k[W.nd_target + i]!);
    put16(b, l4 + 2, c);
    write128(b, l4 + 8, k, W.nd_target);
  }
  let remain = p.l4Size() - 24;
  let o = l4 + 24;
  while (remain >= 8 && b[o + 1] !== 0) {
    const type = b[o]!;
    const olen = b[o + 1]!;
    if ((type === 1 || type === 2) && olen === 1) {
      const word = type === 1 ? W.arp_sha : W.arp_tha;
      const changed = type === 1 ? sCh : lCh;
      if (changed) {
        const oldHi = u16(b, o + 2);
        const oldLo = u32(b, o + 4);
        let c = u16(b, l4 + 2);
        c = csum16(c, oldHi, k[word]!);
        c = csum32(c, oldLo, k[word + 1]!);
        if (oldHi !== k[word] || oldLo !== k[word + 1]) {
          put16(b, l4 + 2, c);
          setMac48(b, o + 2, k, word);
        }
      }
      break;
    }
    o += olen * 8;
    remain -= olen * 8;
  }
}

function commitArp(k: Uint32Array, bw: Uint32Array, p: PacketState, tr: DpTrace | null): void {
  const ch = k[W.nw_src] !== bw[W.nw_src] || k[W.nw_dst] !== bw[W.nw_dst] || k[W.nw_proto] !== bw[W.nw_proto] ||
    !macEq(k, bw, W.arp_sha) || !macEq(k, bw, W.arp_tha);
  if (!ch) return;
  if (tr) {
    const f: string[] = [];
    const wc = tr.wc;
    if (k[W.nw_src] !== bw[W.nw_src]) putIp4(f, 'sip', k[W.nw_src]!, wc[W.nw_src]!);
    if (k[W.nw_dst] !== bw[W.nw_dst]) putIp4(f, 'tip', k[W.nw_dst]!, wc[W.nw_dst]!);
    // get_arp_key(): an exact nw_proto mask is an exact 16-bit arp_op mask.
    if (k[W.nw_proto] !== bw[W.nw_proto]) {
      const m = wc[W.nw_proto]! & 0xff;
      putU16(f, 'op', k[W.nw_proto]!, m === 0xff ? 0xffff : m);
    }
    if (!macEq(k, bw, W.arp_sha)) putMac(f, 'sha', k, wc, W.arp_sha);
    if (!macEq(k, bw, W.arp_tha)) putMac(f, 'tha', k, wc, W.arp_tha);
    tr.dp.push(`set(arp(${f.join(',')}))`);
  }
  p.own();
  const b = p.buf;
  const l3 = p.l3;
  if (k[W.nw_proto] !== bw[W.nw_proto]) put16(b, l3 + 6, k[W.nw_proto]!);
  if (!macEq(k, bw, W.arp_sha)) setMac48(b, l3 + 8, k, W.arp_sha);
  if (k[W.nw_src] !== bw[W.nw_src]) put32(b, l3 + 14, k[W.nw_src]!);
  if (!macEq(k, bw, W.arp_tha)) setMac48(b, l3 + 18, k, W.arp_tha);
  if (k[W.nw_dst] !== bw[W.nw_dst]) put32(b, l3 + 24, k[W.nw_dst]!);
}

function commitPorts(k: Uint32Array, p: PacketState, proto: number): void {
  if (p.l4 < 0) return;
  const size = p.l4Size();
  const l4 = p.l4;
  const src = k[W.tp_src]! & 0xffff;
  const dst = k[W.tp_dst]! & 0xffff;
  if (proto === 6) {
    if (size < 20) return;
    const doff = (p.buf[l4 + 12]! >>> 4) * 4;
    if (doff < 20 || doff > size) return;
    p.own();
    setPort16(p.buf, p.l4, src, p.l4 + 16);
    setPort16(p.buf, p.l4 + 2, dst, p.l4 + 16);
  } else if (proto === 17) {
    if (size < 8) return;
    p.own();
    const b = p.buf;
    const u = p.l4;
    if (u16(b, u + 6) !== 0) {
      setPort16(b, u, src, u + 6);
      setPort16(b, u + 2, dst, u + 6);
      if (u16(b, u + 6) === 0) put16(b, u + 6, 0xffff);
    } else {
      put16(b, u, src);
      put16(b, u + 2, dst);
    }
  } else {
    if (size < 12) return;
    p.own();
    const b = p.buf;
    const s = p.l4;
    if (u16(b, s) === src && u16(b, s + 2) === dst) return;
    const old0 = b[s + 8]!, old1 = b[s + 9]!, old2 = b[s + 10]!, old3 = b[s + 11]!;
    b[s + 8] = b[s + 9] = b[s + 10] = b[s + 11] = 0;
    const oldCorrect = crc32c(b, s, size);
    put16(b, s, src);
    put16(b, s + 2, dst);
    const now = crc32c(b, s, size);
    const x = (oldCorrect ^ now) >>> 0;
    // The CRC is stored least significant byte first.
    b[s + 8] = old0 ^ (x & 0xff);
    b[s + 9] = old1 ^ ((x >>> 8) & 0xff);
    b[s + 10] = old2 ^ ((x >>> 16) & 0xff);
    b[s + 11] = old3 ^ ((x >>> 24) & 0xff);
  }
}
