/** Frame builders and a tiny ct() driver for the conntrack tests (frames go through the real FlowKey). */
import { PacketBuilder } from '@ovnts/packet';
import { FlowKey, extractFlowKey, CT_STATE_FLAGS, type Conntrack, type CtAction } from '@ovnts/openflow';

export const MAC_A = '0a:00:00:00:00:01';
export const MAC_B = '0a:00:00:00:00:02';

/** ct_state as OVS prints it: `+new+trk`. */
export function cs(st: number): string {
  let s = '';
  for (const [n, b] of CT_STATE_FLAGS) if (st & b) s += `+${n}`;
  return s || '0';
}

/** Extract a frame into a fresh key (in_port 1). */
export function keyOf(frame: Uint8Array): FlowKey {
  const k = new FlowKey();
  extractFlowKey(frame, 0, frame.length, 1, k);
  return k;
}

/** Send a fresh packet through ct(); returns the key (with ct fields) and the printed state. */
export function ct(t: Conntrack, frame: Uint8Array, act: CtAction): { key: FlowKey; st: string; state: number } {
  const key = keyOf(frame);
  const state = t.execute(key, frame, act);
  return { key, st: cs(state), state };
}

/** An IPv4 or IPv6 TCP frame. */
export function tcp(src: string, dst: string, sport: number, dport: number, flags: string, seq = 0, ack = 0, data = '', window = 65535, options?: Uint8Array): Uint8Array {
  const b = new PacketBuilder().ethernet({ src: MAC_A, dst: MAC_B });
  if (src.includes(':')) b.ipv6({ src, dst });
  else b.ipv4({ src, dst });
  b.tcp({ srcPort: sport, dstPort: dport, flags, seq, ack, window, ...(options ? { options } : {}) });
  if (data) b.payload(data);
  return b.build();
}

/** An IPv4 or IPv6 UDP frame. */
export function udp(src: string, dst: string, sport: number, dport: number, data = 'hello'): Uint8Array {
  const b = new PacketBuilder().ethernet({ src: MAC_A, dst: MAC_B });
  if (src.includes(':')) b.ipv6({ src, dst });
  else b.ipv4({ src, dst });
  return b.udp({ srcPort: sport, dstPort: dport }).payload(data).build();
}

/** An ICMPv4 echo request (type 8) or reply (type 0), or any type/code with `rest`. */
export function icmp(src: string, dst: string, type: number, id = 0x1234, seq = 1, code = 0): Uint8Array {
  return new PacketBuilder().ethernet({ src: MAC_A, dst: MAC_B }).ipv4({ src, dst }).icmpv4({ type, code, id, seq }).payload('ping').build();
}

/** An ICMPv4 error from `src` to `dst` quoting `quoted` (an IP packet without Ethernet). */
export function icmpError(src: string, dst: string, type: number, code: number, quoted: Uint8Array): Uint8Array {
  return new PacketBuilder().ethernet({ src: MAC_B, dst: MAC_A }).ipv4({ src, dst }).icmpv4({ type, code, rest: 0 }).payload(quoted).build();
}

/** An ICMPv6 echo request (128) or reply (129). */
export function icmp6Echo(src: string, dst: string, type: number, identifier = 0x77, sequence = 1): Uint8Array {
  return new PacketBuilder().ethernet({ src: MAC_A, dst: MAC_B }).ipv6({ src, dst }).icmpv6({ kind: 'echo', type, code: 0, identifier, sequence, data: new Uint8Array([1, 2, 3, 4]) }).build();
}

/** An ICMPv6 error from `src` to `dst` quoting `quoted` (an IPv6 packet without Ethernet). */
export function icmp6Error(src: string, dst: string, type: number, code: number, quoted: Uint8Array): Uint8Array {
  return new PacketBuilder().ethernet({ src: MAC_B, dst: MAC_A }).ipv6({ src, dst }).icmpv6({ kind: 'error', type, code, param: 0, invoking: quoted }).build();
}

/** The IP packet of a frame (strip the 14-byte Ethernet header), cut to `n` bytes. */
export function ipOf(frame: Uint8Array, n = frame.length - 14): Uint8Array {
  return frame.slice(14, 14 + n);
}

/**
 * A TCP conversation between a client and a server with consistent sequence numbers:
 * `c('S')`, `s('SA')`, `c('A', 'data')`... each returns the frame for that segment.
 */
export class TcpConv {
  cseq: number;
  sseq: number;
  constructor(
    readonly client: string,
    readonly server: string,
    readonly cport: number,
    readonly sport: number,
    cseq = 1000,
    sseq = 50000,
  ) {
    this.cseq = cseq;
    this.sseq = sseq;
  }

  /** A segment from the client. */
  c(flags: string, data = ''): Uint8Array {
    const f = tcp(this.client, this.server, this.cport, this.sport, flags, this.cseq, flags.includes('A') ? this.sseq : 0, data);
    this.cseq = (this.cseq + data.length + (flags.includes('S') ? 1 : 0) + (flags.includes('F') ? 1 : 0)) >>> 0;
    return f;
  }

  /** A segment from the server. */
  s(flags: string, data = ''): Uint8Array {
    const f = tcp(this.server, this.client, this.sport, this.cport, flags, this.sseq, flags.includes('A') ? this.cseq : 0, data);
    this.sseq = (this.sseq + data.length + (flags.includes('S') ? 1 : 0) + (flags.includes('F') ? 1 : 0)) >>> 0;
    return f;
  }
}
