/**
 * NAT for the connection tracker: compiling `ct(nat(...))` arguments the way ofproto-dpif-xlate
 * and dpif-netdev hand them to OVS's conntrack (an upper address or port only when it is above
 * the lower one; a port range only with an address range; `hash` is the default and `random`
 * yields to it), the rewrite a packet must undergo (`NatRewrite`, filled by `Conntrack.execute`),
 * and two ways to apply it: to the `FlowKey` fields (`applyNatToKey`) and to the frame bytes with
 * RFC 1624 incremental checksum updates (`applyNatToFrame`). For an ICMP error that is RELATED to a
 * NATed connection the quoted packet inside it is rewritten too, as OVS's `nat_inner_packet()`
 * does, and the ICMP checksum is recomputed.
 */
import {
  internetChecksum, l4ChecksumV6, parseIpv4, parseIpv6, u16, u32, setU16, setU32, updateChecksum16, updateChecksum32,
} from '@ovnts/packet';
import type { NatSpec } from '../actions.js';
import { W, type FlowKey } from '../flowkey.js';
import { NatAction } from './constants.js';

/** Raised when a NAT specification cannot be compiled (bad address, mixed families). */
export class ConntrackError extends RangeError {
  override readonly name = 'ConntrackError';
}

/** A compiled `nat(...)`: what OVS's `struct nat_action_info_t` holds. */
export interface CtNat {
  /** `NatAction` bits; 0 for a bare `nat` (apply the translation of an existing connection). */
  readonly action: number;
  /** The address range is IPv6. */
  readonly v6: boolean;
  /** Lowest address (IPv4 in lane 0); all zero when no address was given. */
  readonly minAddr: Uint32Array;
  /** Highest address (equal to `minAddr` for a single address). */
  readonly maxAddr: Uint32Array;
  /** Lowest port (0 when no port range). */
  readonly minPort: number;
  /** Highest port. */
  readonly maxPort: number;
  /** `persistent`: pick the address from a hash of the source address only. */
  readonly persistent: boolean;
  /** `random`: pick the first port candidate with the injected RNG instead of the tuple hash. */
  readonly random: boolean;
}

function addrLanes(text: string, out: Uint32Array): boolean {
  const t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (t.includes(':')) {
    const v = parseIpv6(t);
    for (let i = 3; i >= 0; i--) {
      out[i] = Number((v >> BigInt(32 * (3 - i))) & 0xffff_ffffn);
    }
    return true;
  }
  out[0] = parseIpv4(t);
  return false;
}

function lanesGreater(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < 4; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return false;
}

/** Compile the `nat` argument of a parsed `ct` action (see `NatSpec` in actions.ts). */
export function compileCtNat(spec: NatSpec): CtNat {
  const minAddr = new Uint32Array(4);
  const maxAddr = new Uint32Array(4);
  if (spec.kind === undefined) {
    return { action: 0, v6: false, minAddr, maxAddr, minPort: 0, maxPort: 0, persistent: false, random: false };
  }
  let action: number = spec.kind === 'src' ? NatAction.SRC : NatAction.DST;
  let v6 = false;
  let minPort = 0;
  let maxPort = 0;
  try {
    if (spec.addrMin !== undefined) {
      v6 = addrLanes(spec.addrMin, minAddr);
      maxAddr.set(minAddr);
      if (spec.addrMax !== undefined) {
        const hi = new Uint32Array(4);
        if (addrLanes(spec.addrMax, hi) !== v6) throw new ConntrackError(`nat: ${spec.addrMin}-${spec.addrMax} mixes IPv4 and IPv6`);
        if (lanesGreater(hi, minAddr)) maxAddr.set(hi);
      }
      if (spec.portMin !== undefined && spec.portMin !== 0) {
        minPort = spec.portMin & 0xffff;
        maxPort = spec.portMax !== undefined && spec.portMax > spec.portMin ? spec.portMax & 0xffff : minPort;
        action |= spec.kind === 'src' ? NatAction.SRC_PORT : NatAction.DST_PORT;
      }
    }
  } catch (e) {
    if (e instanceof ConntrackError) throw e;
    throw new ConntrackError(`nat: bad address range ${spec.addrMin}${spec.addrMax ? '-' + spec.addrMax : ''}: ${(e as Error).message}`);
  }
  const hash = spec.flags.includes('hash');
  return {
    action, v6, minAddr, maxAddr, minPort, maxPort,
    persistent: spec.flags.includes('persistent'),
    random: !hash && spec.flags.includes('random'),
  };
}

/**
 * The header rewrite `Conntrack.execute` asks for. `addr` says which outer address changes
 * (`NatAction.SRC` or `NatAction.DST`, 0 = no NAT at all); ports are rewritten together (both, as
 * OVS's `pat_packet()` writes both); for ICMPv4 echo/timestamp/info messages the identifier is
 * rewritten instead. For a RELATED ICMP error, `inner*` describe the quoted packet.
 */
export class NatRewrite {
  /** `NatAction.SRC` or `NatAction.DST`: the outer address to replace; 0 when nothing changes. */
  addr = 0;
  /** IPv6 packet. */
  v6 = false;
  /** The new outer address (IPv4 in lane 0). */
  readonly newAddr = new Uint32Array(4);
  /** TCP/UDP/SCTP ports are rewritten to `sport`/`dport`. */
  ports = false;
  /** New source port. */
  sport = 0;
  /** New destination port. */
  dport = 0;
  /** New ICMPv4 identifier, or -1. */
  icmpId = -1;
  /** `NatAction.SRC`/`DST`: the quoted packet's address to replace (RELATED ICMP errors), or 0. */
  inner = 0;
  /** Offset of the quoted IP header in the frame (-1 when not an ICMP error). */
  innerL3 = -1;
  /** Offset of the quoted L4 header. */
  innerL4 = -1;
  /** IP protocol of the quoted packet. */
  innerProto = 0;
  /** New address of the quoted packet. */
  readonly innerAddr = new Uint32Array(4);
  /** The quoted packet's ports are rewritten. */
  innerPorts = false;
  /** New quoted source port. */
  innerSport = 0;
  /** New quoted destination port. */
  innerDport = 0;
  /** New quoted ICMPv4 identifier, or -1. */
  innerIcmpId = -1;

  /** Forget the previous packet's rewrite. */
  reset(): void {
    this.addr = 0;
    this.ports = false;
    this.icmpId = -1;
    this.inner = 0;
    this.innerL3 = -1;
    this.innerL4 = -1;
    this.innerPorts = false;
    this.innerIcmpId = -1;
  }
}

/** Apply the outer rewrite to the key's address and port fields (what the pipeline matches next). */
export function applyNatToKey(key: FlowKey, rw: NatRewrite): void {
  if (rw.addr === 0) return;
  const w = key.w;
  if (rw.v6) {
    const o = rw.addr === NatAction.SRC ? W.ipv6_src : W.ipv6_dst;
    w[o] = rw.newAddr[0]!;
    w[o + 1] = rw.newAddr[1]!;
    w[o + 2] = rw.newAddr[2]!;
    w[o + 3] = rw.newAddr[3]!;
  } else {
    w[rw.addr === NatAction.SRC ? W.nw_src : W.nw_dst] = rw.newAddr[0]!;
  }
  if (rw.ports) {
    w[W.tp_src] = rw.sport;
    w[W.tp_dst] = rw.dport;
  }
}

const CRC32C = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC32c of `b[off, off+len)` with the 4 bytes at `skip` read as zero (SCTP's checksum field). */
export function sctpCrc32c(b: Uint8Array, off: number, len: number, skip: number): number {
  let c = 0xffffffff;
  for (let i = off, end = off + len; i < end; i++) {
    const v = i >= skip && i < skip + 4 ? 0 : b[i]!;
    c = CRC32C[(c ^ v) & 0xff]! ^ (c >>> 8);
  }
  return ~c >>> 0;
}

/** The SCTP checksum field holds the CRC little-endian (RFC 9260 appendix A). */
export function sctpStoreCrc(b: Uint8Array, l4: number, len: number): void {
  const c = sctpCrc32c(b, l4, len, l4 + 8);
  b[l4 + 8] = c & 0xff;
  b[l4 + 9] = (c >>> 8) & 0xff;
  b[l4 + 10] = (c >>> 16) & 0xff;
  b[l4 + 11] = c >>> 24;
}

function fixUdp(c: number): number {
  return c === 0 ? 0xffff : c;
}

/** Replace an IPv4 address at `at`, updating the IP header checksum at `ipCsum` and an L4 checksum at `l4Csum` (-1: none; `udp`: keep 0). */
function setV4Addr(b: Uint8Array, at: number, v: number, ipCsum: number, l4Csum: number, udp: boolean): void {
  const old = u32(b, at);
  if (old === v) return;
  setU32(b, at, v);
  setU16(b, ipCsum, updateChecksum32(u16(b, ipCsum), old, v));
  if (l4Csum >= 0) {
    const c = u16(b, l4Csum);
    if (!(udp && c === 0)) setU16(b, l4Csum, udp ? fixUdp(updateChecksum32(c, old, v)) : updateChecksum32(c, old, v));
  }
}

function setV6Addr(b: Uint8Array, at: number, lanes: Uint32Array, l4Csum: number, udp: boolean): void {
  for (let i = 0; i < 4; i++) {
    const old = u32(b, at + 4 * i);
    const v = lanes[i]!;
    if (old === v) continue;
    setU32(b, at + 4 * i, v);
    if (l4Csum >= 0) {
      const c = u16(b, l4Csum);
      if (!(udp && c === 0)) setU16(b, l4Csum, udp ? fixUdp(updateChecksum32(c, old, v)) : updateChecksum32(c, old, v));
    }
  }
}

function setPort(b: Uint8Array, at: number, v: number, l4Csum: number, udp: boolean): void {
  const old = u16(b, at);
  if (old === v) return;
  setU16(b, at, v);
  if (l4Csum >= 0) {
    const c = u16(b, l4Csum);
    if (!(udp && c === 0)) setU16(b, l4Csum, udp ? fixUdp(updateChecksum16(c, old, v)) : updateChecksum16(c, old, v));
  }
}

/** Where an L4 header keeps its checksum, or -1 when it is not within `avail` bytes. */
function l4CsumAt(proto: number, v6: boolean, l4: number, avail: number): number {
  if (proto === 6) return avail >= 20 ? l4 + 16 : -1;
  if (proto === 17) return avail >= 8 ? l4 + 6 : -1;
  if (v6 && proto === 58) return avail >= 8 ? l4 + 2 : -1;
  return -1;
}

/**
 * Write the rewrite into the frame the key was extracted from (`key.l3/l4/end`), with incremental
 * checksum updates (IPv4 header, TCP, UDP unless its checksum is 0 over IPv4, ICMPv6 pseudo-header;
 * SCTP's CRC32c is recomputed). For a RELATED ICMP error the quoted header is rewritten and the
 * ICMP checksum recomputed over the whole message.
 */
export function applyNatToFrame(frame: Uint8Array, key: FlowKey, rw: NatRewrite): void {
  if (rw.addr === 0) return;
  const l3 = key.l3;
  const l4 = key.l4;
  const end = key.end;
  const proto = key.w[W.nw_proto]!;
  const related = rw.innerL3 >= 0;
  if (related) {
    const il3 = rw.innerL3;
    const il4 = rw.innerL4;
    const ip = rw.innerProto;
    const avail = end - il4;
    const csum = l4CsumAt(ip, rw.v6, il4, avail);
    const udp = ip === 17;
    if (rw.innerPorts) {
      setPort(frame, il4, rw.innerSport, csum, udp);
      setPort(frame, il4 + 2, rw.innerDport, csum, udp);
    } else if (rw.innerIcmpId >= 0) {
      setPort(frame, il4 + 4, rw.innerIcmpId, il4 + 2, false);
    }
    if (rw.inner !== 0) {
      if (rw.v6) setV6Addr(frame, il3 + (rw.inner === NatAction.SRC ? 8 : 24), rw.innerAddr, csum, udp);
      else setV4Addr(frame, il3 + (rw.inner === NatAction.SRC ? 12 : 16), rw.innerAddr[0]!, il3 + 10, csum, udp);
    }
  } else if (rw.ports) {
    const avail = end - l4;
    const udp = proto === 17;
    const csum = proto === 132 ? -1 : l4CsumAt(proto, rw.v6, l4, avail);
    setPort(frame, l4, rw.sport, csum, udp);
    setPort(frame, l4 + 2, rw.dport, csum, udp);
  } else if (rw.icmpId >= 0) {
    setPort(frame, l4 + 4, rw.icmpId, l4 + 2, false);
  }
  // Outer address (its pseudo-header share of the L4 checksum, except ICMP errors: recomputed below).
  const outerCsum = related || proto === 132 ? -1 : l4CsumAt(proto, rw.v6, l4, end - l4);
  if (rw.v6) setV6Addr(frame, l3 + (rw.addr === NatAction.SRC ? 8 : 24), rw.newAddr, outerCsum, proto === 17);
  else setV4Addr(frame, l3 + (rw.addr === NatAction.SRC ? 12 : 16), rw.newAddr[0]!, l3 + 10, outerCsum, proto === 17);
  if (proto === 132 && !related && rw.ports) sctpStoreCrc(frame, l4, end - l4);
  if (related) {
    frame[l4 + 2] = 0;
    frame[l4 + 3] = 0;
    const c = rw.v6 ? l4ChecksumV6(frame, l4, end - l4, 58, l3) : internetChecksum(frame, l4, end - l4);
    setU16(frame, l4 + 2, c);
  }
}
