/**
 * Frame builders for the stateful differential scenarios: hosts with fixed MAC and IPv4 addresses,
 * TCP conversations with consistent sequence numbers, UDP, ICMP echo and ICMP errors quoting an
 * earlier frame. Every frame carries valid checksums (OVS's conntrack verifies them).
 */
import { PacketBuilder } from '@ovnts/packet';

/** A host: MAC and IPv4 address. */
export interface Host {
  mac: string;
  ip: string;
}

/** A host with this MAC suffix and address. */
export const host = (macLast: number, ip: string): Host => ({ mac: `0a:00:00:00:00:${macLast.toString(16).padStart(2, '0')}`, ip });

/** An IPv4 TCP segment from `a` to `b`. */
export function tcp(a: Host, b: Host, sport: number, dport: number, flags: string, seq: number, ack: number, data = '', window = 65535, options?: Uint8Array): Uint8Array {
  const p = new PacketBuilder().ethernet({ src: a.mac, dst: b.mac }).ipv4({ src: a.ip, dst: b.ip }).tcp({ srcPort: sport, dstPort: dport, flags, seq, ack, window, ...(options ? { options } : {}) });
  if (data) p.payload(data);
  return p.build();
}

/** An IPv4 UDP datagram from `a` to `b`. */
export function udp(a: Host, b: Host, sport: number, dport: number, data = 'hello'): Uint8Array {
  return new PacketBuilder().ethernet({ src: a.mac, dst: b.mac }).ipv4({ src: a.ip, dst: b.ip }).udp({ srcPort: sport, dstPort: dport }).payload(data).build();
}

/** An ICMPv4 echo request (8) or reply (0). */
export function echo(a: Host, b: Host, type: 0 | 8, id: number, seq: number): Uint8Array {
  return new PacketBuilder().ethernet({ src: a.mac, dst: b.mac }).ipv4({ src: a.ip, dst: b.ip }).icmpv4({ type, code: 0, id, seq }).payload('ping data').build();
}

/** An ICMPv4 error (type/code) from `a` to `b` quoting the IP part of `quoted` (a frame), cut to `n` bytes of IP. */
export function icmpError(a: Host, b: Host, type: number, code: number, quoted: Uint8Array, n = quoted.length - 14): Uint8Array {
  return new PacketBuilder().ethernet({ src: a.mac, dst: b.mac }).ipv4({ src: a.ip, dst: b.ip }).icmpv4({ type, code, rest: 0 }).payload(quoted.slice(14, 14 + n)).build();
}

/** A plain Ethernet frame with some payload (for L2 scenarios). */
export function l2(src: string, dst: string, tag: number): Uint8Array {
  return new PacketBuilder().ethernet({ src, dst }).ipv4({ src: `10.9.0.${tag & 0xff}`, dst: '10.9.0.254' }).udp({ srcPort: 1000 + tag, dstPort: 7 }).payload('l2 frame').build();
}

/** A TCP conversation (client `c`, server `s`) with consistent sequence numbers. */
export class TcpConv {
  cseq: number;
  sseq: number;
  constructor(
    readonly client: Host,
    readonly server: Host,
    readonly cport: number,
    readonly sport: number,
    cseq = 1000,
    sseq = 50000,
  ) {
    this.cseq = cseq;
    this.sseq = sseq;
  }

  /** Window field of the client's and the server's segments; TCP options of their SYNs. */
  cwin = 65535;
  swin = 65535;
  copts: Uint8Array | undefined;
  sopts: Uint8Array | undefined;

  /** A segment from the client (advances its sequence number). */
  c(flags: string, data = ''): Uint8Array {
    const f = tcp(this.client, this.server, this.cport, this.sport, flags, this.cseq, flags.includes('A') ? this.sseq : 0, data, this.cwin, flags.includes('S') ? this.copts : undefined);
    this.cseq = (this.cseq + data.length + (flags.includes('S') ? 1 : 0) + (flags.includes('F') ? 1 : 0)) >>> 0;
    return f;
  }

  /** A segment from the server (advances its sequence number). */
  s(flags: string, data = ''): Uint8Array {
    const f = tcp(this.server, this.client, this.sport, this.cport, flags, this.sseq, flags.includes('A') ? this.cseq : 0, data, this.swin, flags.includes('S') ? this.sopts : undefined);
    this.sseq = (this.sseq + data.length + (flags.includes('S') ? 1 : 0) + (flags.includes('F') ? 1 : 0)) >>> 0;
    return f;
  }
}
