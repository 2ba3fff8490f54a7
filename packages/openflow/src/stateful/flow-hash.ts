/**
 * OVS's flow hashes over our flow key (lib/flow.c): `flow_hash_symmetric_l3l4` (what the
 * datapath's `hash(sym_l4(basis))` action computes for a select group's default dp_hash method),
 * its L2 fallback `flow_hash_symmetric_l2`, `flow_hash_symmetric_l4` (the slow-path "default"
 * selection method) and `flow_hash_5tuple` (`hash(l4(basis))`). Each reproduces how OVS reads the
 * fields from memory on a little-endian host (see ovs-hash.ts), so the results are OVS's values.
 * `flowHashFields` is OVS's `flow_hash_fields()`, what `multipath` and `bundle` hash.
 */
import { ETH_TYPE_IP, ETH_TYPE_IPV6 } from '../fields.js';
import { W } from '../flowkey.js';
import { bswap16, bswap32, hashAdd, hashAdd64, hashFinish, jhashBytes } from './ovs-hash.js';

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_SCTP = 132;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

/** OVS `flow_hash_symmetric_l2`: Ethernet type, VLAN VIDs and the XOR of the MACs. */
export function flowHashSymmetricL2(w: Uint32Array, basis: number, vlan2Tci = 0): number {
  const ethType = w[W.dl_type]!;
  const vid = ((w[W.vlan_tci]! ^ vlan2Tci) & 0x0fff) >>> 0;
  const hi = (w[W.dl_src]! ^ w[W.dl_dst]!) & 0xffff; // bytes 0..1 of the XORed MAC
  const lo = (w[W.dl_src + 1]! ^ w[W.dl_dst + 1]!) >>> 0; // bytes 2..5
  const e0 = hi >>> 8, e1 = hi & 0xff;
  const e2 = lo >>> 24, e3 = (lo >>> 16) & 0xff, e4 = (lo >>> 8) & 0xff, e5 = lo & 0xff;
  const w0 = (bswap16(ethType) | (bswap16(vid) << 16)) >>> 0;
  const w1 = (e0 | (e1 << 8) | (e2 << 16) | (e3 << 24)) >>> 0;
  const w2 = (e4 | (e5 << 8)) >>> 0;
  let h = basis >>> 0;
  h = hashAdd(h, w0);
  h = hashAdd(h, w1);
  h = hashAdd(h, w2);
  return hashFinish(h, basis >>> 0);
}

/**
 * OVS `flow_hash_symmetric_l3l4(flow, basis, incUdpPorts)`: IPv4/IPv6 address XOR, protocol, and
 * for TCP/SCTP (and UDP when asked) of non-fragments the port XOR; non-IP falls back to L2.
 */
export function flowHashSymmetricL3L4(w: Uint32Array, basis: number, incUdpPorts = false, vlan2Tci = 0): number {
  const dl = w[W.dl_type]!;
  let h = basis >>> 0;
  if (dl === ETH_TYPE_IP) {
    h = hashAdd(h, bswap32((w[W.nw_src]! ^ w[W.nw_dst]!) >>> 0));
  } else if (dl === ETH_TYPE_IPV6) {
    for (let i = 0; i < 4; i += 2) {
      const a = (w[W.ipv6_src + i]! ^ w[W.ipv6_dst + i]!) >>> 0;
      const b = (w[W.ipv6_src + i + 1]! ^ w[W.ipv6_dst + i + 1]!) >>> 0;
      h = hashAdd64(h, bswap32(a), bswap32(b));
    }
  } else {
    return flowHashSymmetricL2(w, basis, vlan2Tci);
  }
  const proto = w[W.nw_proto]!;
  h = hashAdd(h, proto);
  if ((w[W.nw_frag]! & 3) === 0 && (proto === IPPROTO_TCP || proto === IPPROTO_SCTP || (incUdpPorts && proto === IPPROTO_UDP))) {
    h = hashAdd(h, bswap16((w[W.tp_src]! ^ w[W.tp_dst]!) & 0xffff));
  }
  return hashFinish(h, basis >>> 0);
}

/** OVS `flow_hash_5tuple(flow, basis)` (the datapath's `hash(l4(basis))` without an RSS hash). */
export function flowHash5Tuple(w: Uint32Array, basis: number): number {
  let h = basis >>> 0;
  const dl = w[W.dl_type]!;
  if (dl === ETH_TYPE_IPV6) {
    for (const base of [W.ipv6_src, W.ipv6_dst]) {
      for (let i = 0; i < 4; i += 2) h = hashAdd64(h, bswap32(w[base + i]!), bswap32(w[base + i + 1]!));
    }
  } else if (dl === ETH_TYPE_IP || dl === 0x0806) {
    h = hashAdd(h, bswap32(w[W.nw_src]!));
    h = hashAdd(h, bswap32(w[W.nw_dst]!));
  } else {
    return hashFinish(h, 42);
  }
  const proto = w[W.nw_proto]!;
  h = hashAdd(h, proto);
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP || proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
    // tp_src and tp_dst as one 32-bit word in memory: [tp_src BE][tp_dst BE] read little-endian.
    h = hashAdd(h, (bswap16(w[W.tp_src]! & 0xffff) | (bswap16(w[W.tp_dst]! & 0xffff) << 16)) >>> 0);
  }
  return hashFinish(h, 42);
}

const l4Scratch = new Uint8Array(32);

/**
 * OVS `flow_hash_symmetric_l4(flow, basis)`: jhash over a zeroed 32-byte struct holding the
 * address XOR, EtherType, VLAN VID XOR, TCP/SCTP port XOR, MAC XOR and IP protocol.
 */
export function flowHashSymmetricL4(w: Uint32Array, basis: number, vlan2Tci = 0): number {
  const b = l4Scratch;
  b.fill(0);
  const dl = w[W.dl_type]!;
  const put16 = (o: number, v: number): void => {
    b[o] = (v >>> 8) & 0xff;
    b[o + 1] = v & 0xff;
  };
  const put32 = (o: number, v: number): void => {
    b[o] = v >>> 24;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
  };
  put16(16, dl);
  put16(18, ((w[W.vlan_tci]! ^ vlan2Tci) & 0x0fff) >>> 0);
  const hi = (w[W.dl_src]! ^ w[W.dl_dst]!) & 0xffff;
  put16(22, hi);
  put32(24, (w[W.dl_src + 1]! ^ w[W.dl_dst + 1]!) >>> 0);
  let proto = -1;
  if (dl === ETH_TYPE_IP) {
    put32(0, (w[W.nw_src]! ^ w[W.nw_dst]!) >>> 0);
    proto = w[W.nw_proto]!;
  } else if (dl === ETH_TYPE_IPV6) {
    for (let i = 0; i < 4; i++) put32(4 * i, (w[W.ipv6_src + i]! ^ w[W.ipv6_dst + i]!) >>> 0);
    proto = w[W.nw_proto]!;
  }
  if (proto >= 0) {
    b[28] = proto;
    if (proto === IPPROTO_TCP || proto === IPPROTO_SCTP) put16(20, (w[W.tp_src]! ^ w[W.tp_dst]!) & 0xffff);
  }
  return jhashBytes(b, 32, basis >>> 0);
}

const hashScratch = new Uint8Array(20);

function putBe32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** jhash of `n` key words from `word` as the network-order bytes OVS keeps in `struct flow`. */
function jhashWords(w: Uint32Array, word: number, n: number, basis: number): number {
  const b = hashScratch;
  for (let i = 0; i < n; i++) putBe32(b, 4 * i, w[word + i]!);
  return jhashBytes(b, 4 * n, basis >>> 0);
}

/**
 * OVS `flow_hash_fields(flow, fields, basis)`: `eth_src` (jhash of the MAC), the symmetric hashes
 * above, `nw_src`/`nw_dst` (jhash of the IPv4 or IPv6 address, the basis itself for other
 * packets) and `symmetric_l3` (jhash of a zeroed 20-byte struct holding the address XOR and the
 * Ethernet type).
 */
export function flowHashFields(w: Uint32Array, fields: string, basis: number, vlan2Tci = 0): number {
  const dl = w[W.dl_type]!;
  switch (fields) {
    case 'eth_src': {
      const b = hashScratch;
      b[0] = (w[W.dl_src]! >>> 8) & 0xff;
      b[1] = w[W.dl_src]! & 0xff;
      putBe32(b, 2, w[W.dl_src + 1]!);
      return jhashBytes(b, 6, basis >>> 0);
    }
    case 'symmetric_l4':
      return flowHashSymmetricL4(w, basis, vlan2Tci);
    case 'symmetric_l3l4':
      return flowHashSymmetricL3L4(w, basis, false, vlan2Tci);
    case 'symmetric_l3l4+udp':
      return flowHashSymmetricL3L4(w, basis, true, vlan2Tci);
    case 'nw_src':
    case 'nw_dst': {
      const src = fields === 'nw_src';
      if (dl === ETH_TYPE_IP) return jhashWords(w, src ? W.nw_src : W.nw_dst, 1, basis);
      if (dl === ETH_TYPE_IPV6) return jhashWords(w, src ? W.ipv6_src : W.ipv6_dst, 4, basis);
      return basis >>> 0;
    }
    default: {
      // symmetric_l3
      const b = hashScratch;
      b.fill(0);
      if (dl === ETH_TYPE_IP) putBe32(b, 0, (w[W.nw_src]! ^ w[W.nw_dst]!) >>> 0);
      else if (dl === ETH_TYPE_IPV6) for (let i = 0; i < 4; i++) putBe32(b, 4 * i, (w[W.ipv6_src + i]! ^ w[W.ipv6_dst + i]!) >>> 0);
      b[16] = (dl >>> 8) & 0xff;
      b[17] = dl & 0xff;
      return jhashBytes(b, 20, basis >>> 0);
    }
  }
}
