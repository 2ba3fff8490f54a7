/**
 * Flow-key extraction: one pass over a frame that fills a preallocated `FlowKey`, the way OVS's
 * `miniflow_extract()` (lib/flow.c) does, so that what a flow table matches is what OVS matches.
 *
 * It never throws and never allocates. Where a header is short or fails OVS's sanity checks, the
 * fields of that layer and below stay zero and `key.status` says why, exactly as OVS stops:
 *  - fewer than 14 bytes: nothing but `in_port` is set (OVS `goto out` before the MACs);
 *  - VLAN tags (TPID 0x8100 or 0x88a8) are parsed up to `vlanLimit` (OVS's `other_config:vlan-limit`,
 *    default 1), each only if 4 bytes of tag plus the next 2-byte type are present; the TCI gets the
 *    CFI bit set as OVS's "tag present" marker (so the frame's DEI bit is not visible);
 *  - an EtherType below 0x600 is an 802.3 length: an LLC/SNAP header with OUI 0 yields its type,
 *    anything else yields OVS's `FLOW_DL_TYPE_NONE` (0x05ff);
 *  - IPv4: the header must be whole (IHL >= 5, bytes present) and `tot_len` must cover it and fit in
 *    the frame, else no L3 field is set; Ethernet padding past `tot_len` is never parsed;
 *  - IPv6: the fixed header and the payload length must fit; extension headers (hop-by-hop,
 *    routing, destination options, AH, fragment) are walked; a short extension header leaves the
 *    addresses set but tos/ttl/proto/label zero, as OVS does;
 *  - fragments: `nw_frag` gets ANY, plus LATER when the offset is non-zero; later fragments get no
 *    L4 fields (an IPv6 later fragment reports `ip_proto` 44);
 *  - L4 fields are set only when the fixed L4 header is whole (TCP 20, UDP 8, SCTP 12, ICMP 8,
 *    ICMPv6 8); ND (ICMPv6 135/136 with code 0) also yields `nd_target` and the SLL/TLL options,
 *    and a repeated option clears all three;
 *  - MPLS (EtherType 0x8847 or 0x8848): the label stack entries are read up to the one with the
 *    bottom-of-stack bit (or the end of the frame), the first three go into `mpls_lse`, and nothing
 *    below the stack is parsed: L3 offsets point past it, no L3/L4 field is set (OVS parse_mpls);
 *  - ARP: only Ethernet/IPv4 ARP (htype 1, ptype 0x800, hlen 6, plen 4) sets fields, and `arp_op`
 *    only when the opcode fits in 8 bits.
 */
import { u16, u32 } from '@ovnts/packet';
import { ExtractStatus, W, type FlowKey } from './flowkey.js';
import { FRAG_ANY, FRAG_LATER } from './fields.js';

// Performance notes (the per-frame path; see docs/benchmarks.md). The word indexes are copied out
// of `W` once: `W` is built with computed keys, so V8 keeps it in dictionary mode and every
// `W.x` in a hot function would be a hash lookup. On the Ethernet/VLAN/IPv4/IPv6/TCP/UDP path
// the bytes are read with shifts written out here, not through `u16()`/`u32()`: TurboFan stops
// inlining callees once about 920 bytes of bytecode are inlined into one function, and a call
// left out of line that returns a 32-bit value of 2^31 or more returns it as a fresh heap number.
// A 32-bit word is stored as the signed int32 of its bits (`|` without `>>> 0`): the
// `Uint32Array` store keeps the same bits, and a signed value never needs boxing. The rarer
// layers (LLC/SNAP, ARP, IPv6 extension headers, ND) still use the helpers.
const W_IN_PORT = W.in_port;
const W_DL_DST = W.dl_dst;
const W_DL_SRC = W.dl_src;
const W_DL_TYPE = W.dl_type;
const W_VLAN_TCI = W.vlan_tci;
const W_NW_SRC = W.nw_src;
const W_NW_DST = W.nw_dst;
const W_IPV6_SRC = W.ipv6_src;
const W_IPV6_DST = W.ipv6_dst;
const W_IPV6_LABEL = W.ipv6_label;
const W_NW_FRAG = W.nw_frag;
const W_NW_TOS = W.nw_tos;
const W_NW_TTL = W.nw_ttl;
const W_NW_PROTO = W.nw_proto;
const W_TP_SRC = W.tp_src;
const W_TP_DST = W.tp_dst;
const W_TCP_FLAGS = W.tcp_flags;
const W_ARP_SHA = W.arp_sha;
const W_ARP_THA = W.arp_tha;
const W_ND_TARGET = W.nd_target;
const W_MPLS_LSE = W.mpls_lse;

/** OVS's `FLOW_DL_TYPE_NONE`: the EtherType recorded for 802.3 frames without an LLC/SNAP type. */
export const FLOW_DL_TYPE_NONE = 0x05ff;

const IPPROTO_HOPOPTS = 0;
const IPPROTO_ICMP = 1;
const IPPROTO_IGMP = 2;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_AH = 51;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_DSTOPTS = 60;
const IPPROTO_SCTP = 132;

function writeIpv6(w: Uint32Array, word: number, b: Uint8Array, o: number): void {
  w[word] = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  w[word + 1] = (b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!;
  w[word + 2] = (b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!;
  w[word + 3] = (b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!;
}

function writeMac(w: Uint32Array, word: number, b: Uint8Array, o: number): void {
  w[word] = u16(b, o);
  w[word + 1] = u32(b, o + 2);
}

/**
 * Fill `key` from the `len` bytes of `frame` at `off`, received on OpenFlow port `inPort`.
 * Every field is reset first; tunnel metadata, registers and ct fields are left zero for the
 * caller to set. `vlanLimit` is OVS's vlan-limit (1 by default, at most 2).
 */
export function extractFlowKey(frame: Uint8Array, off: number, len: number, inPort: number, key: FlowKey, vlanLimit = 1): void {
  key.clear();
  const w = key.w;
  w[W_IN_PORT] = inPort >>> 0;
  if (len > frame.length - off) len = frame.length - off;
  if (len < 0) len = 0;
  key.l2 = off;
  key.end = off + len;
  if (len < 14) {
    key.status = ExtractStatus.EthTruncated;
    return;
  }
  const b = frame;
  w[W_DL_DST] = (b[off]! << 8) | b[off + 1]!;
  w[W_DL_DST + 1] = (b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!;
  w[W_DL_SRC] = (b[off + 6]! << 8) | b[off + 7]!;
  w[W_DL_SRC + 1] = (b[off + 8]! << 24) | (b[off + 9]! << 16) | (b[off + 10]! << 8) | b[off + 11]!;
  let p = off + 12; // at the EtherType / TPID
  let size = len - 12;

  // VLAN tags.
  let n = 0;
  const limit = vlanLimit > 2 ? 2 : vlanLimit;
  while (n < limit && size >= 6) {
    const tpid = (b[p]! << 8) | b[p + 1]!;
    if (tpid !== 0x8100 && tpid !== 0x88a8) break;
    const tci = (b[p + 2]! << 8) | b[p + 3]! | 0x1000;
    if (n === 0) {
      w[W_VLAN_TCI] = tci;
      key.vlanTpid = tpid;
    } else {
      key.vlan2Tci = tci;
      key.vlan2Tpid = tpid;
    }
    n++;
    p += 4;
    size -= 4;
  }
  key.vlans = n;

  // EtherType (or 802.3 length with LLC/SNAP).
  let dlType = (b[p]! << 8) | b[p + 1]!;
  p += 2;
  size -= 2;
  if (dlType < 0x600) {
    if (size < 8) dlType = FLOW_DL_TYPE_NONE;
    else if (frame[p] !== 0xaa || frame[p + 1] !== 0xaa || frame[p + 2] !== 0x03 || frame[p + 3] !== 0 || frame[p + 4] !== 0 || frame[p + 5] !== 0) {
      dlType = FLOW_DL_TYPE_NONE;
    } else {
      const snapType = u16(frame, p + 6);
      p += 8;
      size -= 8;
      dlType = snapType >= 0x600 ? snapType : FLOW_DL_TYPE_NONE;
    }
  }
  w[W_DL_TYPE] = dlType;
  if (dlType === 0x8847 || dlType === 0x8848) {
    key.l25 = p;
    let n = 0;
    while (size >= 4) {
      const lse = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
      if (n < 3) w[W_MPLS_LSE + n] = lse;
      n++;
      p += 4;
      size -= 4;
      if ((lse & 0x100) !== 0) break;
    }
    key.l3 = p;
    return;
  }
  key.l3 = p;

  let nwProto = 0;
  let nwFrag = 0;
  if (dlType === 0x0800) {
    if (size < 20) return fail(key, ExtractStatus.L3Invalid);
    const ipLen = (b[p]! & 0x0f) * 4;
    if (ipLen < 20 || size < ipLen) return fail(key, ExtractStatus.L3Invalid);
    const totLen = (b[p + 2]! << 8) | b[p + 3]!;
    if (totLen > size || ipLen > totLen) return fail(key, ExtractStatus.L3Invalid);
    key.end = p + totLen;
    w[W_NW_SRC] = (b[p + 12]! << 24) | (b[p + 13]! << 16) | (b[p + 14]! << 8) | b[p + 15]!;
    w[W_NW_DST] = (b[p + 16]! << 24) | (b[p + 17]! << 16) | (b[p + 18]! << 8) | b[p + 19]!;
    w[W_NW_TOS] = b[p + 1]!;
    w[W_NW_TTL] = b[p + 8]!;
    nwProto = b[p + 9]!;
    const fragOff = (b[p + 6]! << 8) | b[p + 7]!;
    if ((fragOff & 0x3fff) !== 0) {
      nwFrag = FRAG_ANY;
      if ((fragOff & 0x1fff) !== 0) nwFrag |= FRAG_LATER;
    }
    size = totLen - ipLen;
    p += ipLen;
  } else if (dlType === 0x86dd) {
    if (size < 40) return fail(key, ExtractStatus.L3Invalid);
    const plen = (b[p + 4]! << 8) | b[p + 5]!;
    if (plen + 40 > size) return fail(key, ExtractStatus.L3Invalid);
    key.end = p + 40 + plen;
    writeIpv6(w, W_IPV6_SRC, frame, p + 8);
    writeIpv6(w, W_IPV6_DST, frame, p + 24);
    const tcFlow = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
    nwProto = frame[p + 6]!;
    const ttl = frame[p + 7]!;
    p += 40;
    size = plen;
    // Extension headers (OVS parse_ipv6_ext_hdrs__).
    for (;;) {
      if (nwProto !== IPPROTO_HOPOPTS && nwProto !== IPPROTO_ROUTING && nwProto !== IPPROTO_DSTOPTS && nwProto !== IPPROTO_AH && nwProto !== IPPROTO_FRAGMENT) break;
      if (size < 8) return fail(key, ExtractStatus.L3Invalid);
      if (nwProto === IPPROTO_FRAGMENT) {
        const offlg = u16(frame, p + 2);
        nwProto = frame[p]!;
        p += 8;
        size -= 8;
        if (offlg !== 0) {
          nwFrag = FRAG_ANY;
          if ((offlg & 0xfff8) !== 0) {
            nwFrag |= FRAG_LATER;
            nwProto = IPPROTO_FRAGMENT;
            break;
          }
        }
      } else {
        const hlen = nwProto === IPPROTO_AH ? (frame[p + 1]! + 2) * 4 : (frame[p + 1]! + 1) * 8;
        nwProto = frame[p]!;
        if (size < hlen) return fail(key, ExtractStatus.L3Invalid);
        p += hlen;
        size -= hlen;
      }
    }
    w[W_IPV6_LABEL] = tcFlow & 0xfffff;
    w[W_NW_TOS] = (tcFlow >>> 20) & 0xff;
    w[W_NW_TTL] = ttl;
  } else {
    if (dlType === 0x0806 || dlType === 0x8035) {
      if (size < 28 || u16(frame, p) !== 1 || u16(frame, p + 2) !== 0x0800 || frame[p + 4] !== 6 || frame[p + 5] !== 4) {
        key.status = ExtractStatus.ArpInvalid;
        return;
      }
      const op = u16(frame, p + 6);
      w[W_NW_SRC] = u32(frame, p + 14);
      w[W_NW_DST] = u32(frame, p + 24);
      if (op <= 0xff) w[W_NW_PROTO] = op;
      writeMac(w, W_ARP_SHA, frame, p + 8);
      writeMac(w, W_ARP_THA, frame, p + 18);
    }
    return;
  }

  key.l4 = p;
  w[W_NW_PROTO] = nwProto;
  w[W_NW_FRAG] = nwFrag;
  if ((nwFrag & FRAG_LATER) !== 0) return;

  if (nwProto === IPPROTO_TCP) {
    if (size < 20) return fail4(key);
    w[W_TP_SRC] = (b[p]! << 8) | b[p + 1]!;
    w[W_TP_DST] = (b[p + 2]! << 8) | b[p + 3]!;
    w[W_TCP_FLAGS] = ((b[p + 12]! << 8) | b[p + 13]!) & 0x0fff;
  } else if (nwProto === IPPROTO_UDP) {
    if (size < 8) return fail4(key);
    w[W_TP_SRC] = (b[p]! << 8) | b[p + 1]!;
    w[W_TP_DST] = (b[p + 2]! << 8) | b[p + 3]!;
  } else if (nwProto === IPPROTO_SCTP) {
    if (size < 12) return fail4(key);
    w[W_TP_SRC] = (b[p]! << 8) | b[p + 1]!;
    w[W_TP_DST] = (b[p + 2]! << 8) | b[p + 3]!;
  } else if (nwProto === IPPROTO_ICMP || nwProto === IPPROTO_IGMP) {
    if (size < 8) return fail4(key);
    w[W_TP_SRC] = frame[p]!;
    w[W_TP_DST] = frame[p + 1]!;
  } else if (nwProto === IPPROTO_ICMPV6) {
    if (size < 8) return fail4(key);
    const type = frame[p]!;
    const code = frame[p + 1]!;
    w[W_TP_SRC] = type;
    w[W_TP_DST] = code;
    if (code === 0 && (type === 135 || type === 136)) parseNd(frame, p + 8, size - 8, w);
  }
}

function fail(key: FlowKey, status: ExtractStatus): void {
  key.status = status;
}

function fail4(key: FlowKey): void {
  key.status = ExtractStatus.L4Truncated;
}

/** ND target and link-layer address options (OVS parse_icmpv6). */
function parseNd(b: Uint8Array, p: number, size: number, w: Uint32Array): void {
  if (size < 16) return;
  writeIpv6(w, W_ND_TARGET, b, p);
  p += 16;
  size -= 16;
  let haveSll = false;
  let haveTll = false;
  while (size >= 8) {
    const type = b[p]!;
    const optLen = b[p + 1]! * 8;
    if (optLen === 0 || optLen > size) return;
    if (type === 1 && optLen === 8) {
      // A zero MAC counts as "not yet seen", as in OVS's eth_addr_is_zero() test.
      if (haveSll && (w[W_ARP_SHA] !== 0 || w[W_ARP_SHA + 1] !== 0)) return invalidNd(w);
      writeMac(w, W_ARP_SHA, b, p + 2);
      haveSll = true;
    } else if (type === 2 && optLen === 8) {
      if (haveTll && (w[W_ARP_THA] !== 0 || w[W_ARP_THA + 1] !== 0)) return invalidNd(w);
      writeMac(w, W_ARP_THA, b, p + 2);
      haveTll = true;
    }
    p += optLen;
    size -= optLen;
  }
}

function invalidNd(w: Uint32Array): void {
  w.fill(0, W_ND_TARGET, W_ND_TARGET + 4);
  w.fill(0, W_ARP_SHA, W_ARP_SHA + 2);
  w.fill(0, W_ARP_THA, W_ARP_THA + 2);
}
