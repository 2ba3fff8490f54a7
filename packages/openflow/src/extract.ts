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
 *  - ARP: only Ethernet/IPv4 ARP (htype 1, ptype 0x800, hlen 6, plen 4) sets fields, and `arp_op`
 *    only when the opcode fits in 8 bits.
 */
import { u16, u32 } from '@ovnts/packet';
import { ExtractStatus, W, type FlowKey } from './flowkey.js';
import { FRAG_ANY, FRAG_LATER } from './fields.js';

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
  w[word] = u32(b, o);
  w[word + 1] = u32(b, o + 4);
  w[word + 2] = u32(b, o + 8);
  w[word + 3] = u32(b, o + 12);
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
  w[W.in_port] = inPort >>> 0;
  if (len > frame.length - off) len = frame.length - off;
  if (len < 0) len = 0;
  key.l2 = off;
  key.end = off + len;
  if (len < 14) {
    key.status = ExtractStatus.EthTruncated;
    return;
  }
  writeMac(w, W.dl_dst, frame, off);
  writeMac(w, W.dl_src, frame, off + 6);
  let p = off + 12; // at the EtherType / TPID
  let size = len - 12;

  // VLAN tags.
  let n = 0;
  const limit = vlanLimit > 2 ? 2 : vlanLimit;
  while (n < limit && size >= 6) {
    const tpid = u16(frame, p);
    if (tpid !== 0x8100 && tpid !== 0x88a8) break;
    const tci = u16(frame, p + 2) | 0x1000;
    if (n === 0) {
      w[W.vlan_tci] = tci;
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
  let dlType = u16(frame, p);
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
  w[W.dl_type] = dlType;
  key.l3 = p;

  let nwProto = 0;
  let nwFrag = 0;
  if (dlType === 0x0800) {
    if (size < 20) return fail(key, ExtractStatus.L3Invalid);
    const ipLen = (frame[p]! & 0x0f) * 4;
    if (ipLen < 20 || size < ipLen) return fail(key, ExtractStatus.L3Invalid);
    const totLen = u16(frame, p + 2);
    if (totLen > size || ipLen > totLen) return fail(key, ExtractStatus.L3Invalid);
    key.end = p + totLen;
    w[W.nw_src] = u32(frame, p + 12);
    w[W.nw_dst] = u32(frame, p + 16);
    w[W.nw_tos] = frame[p + 1]!;
    w[W.nw_ttl] = frame[p + 8]!;
    nwProto = frame[p + 9]!;
    const fragOff = u16(frame, p + 6);
    if ((fragOff & 0x3fff) !== 0) {
      nwFrag = FRAG_ANY;
      if ((fragOff & 0x1fff) !== 0) nwFrag |= FRAG_LATER;
    }
    size = totLen - ipLen;
    p += ipLen;
  } else if (dlType === 0x86dd) {
    if (size < 40) return fail(key, ExtractStatus.L3Invalid);
    const plen = u16(frame, p + 4);
    if (plen + 40 > size) return fail(key, ExtractStatus.L3Invalid);
    key.end = p + 40 + plen;
    writeIpv6(w, W.ipv6_src, frame, p + 8);
    writeIpv6(w, W.ipv6_dst, frame, p + 24);
    const tcFlow = u32(frame, p);
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
    w[W.ipv6_label] = tcFlow & 0xfffff;
    w[W.nw_tos] = (tcFlow >>> 20) & 0xff;
    w[W.nw_ttl] = ttl;
  } else {
    if (dlType === 0x0806 || dlType === 0x8035) {
      if (size < 28 || u16(frame, p) !== 1 || u16(frame, p + 2) !== 0x0800 || frame[p + 4] !== 6 || frame[p + 5] !== 4) {
        key.status = ExtractStatus.ArpInvalid;
        return;
      }
      const op = u16(frame, p + 6);
      w[W.nw_src] = u32(frame, p + 14);
      w[W.nw_dst] = u32(frame, p + 24);
      if (op <= 0xff) w[W.nw_proto] = op;
      writeMac(w, W.arp_sha, frame, p + 8);
      writeMac(w, W.arp_tha, frame, p + 18);
    }
    return;
  }

  key.l4 = p;
  w[W.nw_proto] = nwProto;
  w[W.nw_frag] = nwFrag;
  if ((nwFrag & FRAG_LATER) !== 0) return;

  if (nwProto === IPPROTO_TCP) {
    if (size < 20) return fail4(key);
    w[W.tp_src] = u16(frame, p);
    w[W.tp_dst] = u16(frame, p + 2);
    w[W.tcp_flags] = u16(frame, p + 12) & 0x0fff;
  } else if (nwProto === IPPROTO_UDP) {
    if (size < 8) return fail4(key);
    w[W.tp_src] = u16(frame, p);
    w[W.tp_dst] = u16(frame, p + 2);
  } else if (nwProto === IPPROTO_SCTP) {
    if (size < 12) return fail4(key);
    w[W.tp_src] = u16(frame, p);
    w[W.tp_dst] = u16(frame, p + 2);
  } else if (nwProto === IPPROTO_ICMP || nwProto === IPPROTO_IGMP) {
    if (size < 8) return fail4(key);
    w[W.tp_src] = frame[p]!;
    w[W.tp_dst] = frame[p + 1]!;
  } else if (nwProto === IPPROTO_ICMPV6) {
    if (size < 8) return fail4(key);
    const type = frame[p]!;
    const code = frame[p + 1]!;
    w[W.tp_src] = type;
    w[W.tp_dst] = code;
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
  writeIpv6(w, W.nd_target, b, p);
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
      if (haveSll && (w[W.arp_sha] !== 0 || w[W.arp_sha + 1] !== 0)) return invalidNd(w);
      writeMac(w, W.arp_sha, b, p + 2);
      haveSll = true;
    } else if (type === 2 && optLen === 8) {
      if (haveTll && (w[W.arp_tha] !== 0 || w[W.arp_tha + 1] !== 0)) return invalidNd(w);
      writeMac(w, W.arp_tha, b, p + 2);
      haveTll = true;
    }
    p += optLen;
    size -= optLen;
  }
}

function invalidNd(w: Uint32Array): void {
  w.fill(0, W.nd_target, W.nd_target + 4);
  w.fill(0, W.arp_sha, W.arp_sha + 2);
  w.fill(0, W.arp_tha, W.arp_tha + 2);
}
