/**
 * The real-UDP underlay: Geneve between chassis in different processes or hosts, as UDP
 * datagrams through the operating system's sockets.
 *
 * Design. A `UdpUnderlay` is a `ChassisCluster`'s `UnderlayTransport` for the chassis that run in
 * this process (usually one). Each local chassis gets one UDP socket bound to its encap address
 * (or a given bind address) and the Geneve port (6081 unless configured; every chassis of a
 * cluster uses the same port, as OVS's `options:dst_port`). A tunnel port's transmission is an
 * outer Ethernet/IPv4/UDP/Geneve frame; the socket API carries only the UDP payload, so the
 * transport strips the outer headers and sends the Geneve header onward to the remote chassis's
 * encap address. A datagram that arrives is the Geneve header onward; the outer Ethernet, IPv4
 * and UDP headers are rebuilt from what the socket says (source address and port, the local
 * address and port) with the conventions our tunnel ports send (IPv4 identification 0, DF,
 * TTL 64, UDP checksum computed; the outer MACs are each chassis's underlay MAC, as on the
 * in-process underlay), and the frame is queued on the receiving chassis's tunnel port towards
 * the sender, so decapsulation, the OVN option and the egress pipeline are the switch's own.
 * Differences from the in-process underlay, by nature of the socket: the outer UDP source port
 * is the sending socket's port, not the inner flow's hash, and the IPv4 TTL and identification
 * are not carried (the kernel writes its own); neither reaches a logical port.
 *
 * Every frame actually sent or received can be observed (`onWire`) with its outer headers as
 * they were on the wire (for a pcap). Datagrams from an address no local chassis has a tunnel
 * from are dropped and counted, as OVS drops them. Nothing here runs the cluster: `onDatagram`
 * tells the owner a frame was queued.
 */
import { createSocket, type Socket } from 'node:dgram';
import { GENEVE_UDP_PORT } from '@ovnts/geneve';
import { internetChecksum, l4ChecksumV4, macToBytes, parseIpv4, parseMac, setU16, setU32 } from '@ovnts/packet';
import type { ClusterMember } from './cluster-config.js';
import { defaultUnderlayMac } from './cluster-config.js';
import type { UnderlayEndpoint, UnderlayTransport } from './cluster.js';
import { ChassisError } from './errors.js';

/** Options of a UDP underlay. */
export interface UdpUnderlayOptions {
  /** The UDP port every chassis listens on and sends to (default 6081). */
  readonly port?: number;
  /** Address each local chassis's socket binds (default: its encap address). */
  readonly bindAddress?: string;
  /** Every chassis of the cluster (to name senders and give their underlay MACs); default: the local ones. */
  readonly members?: readonly ClusterMember[];
  /** Called with every frame sent (`out`) or received (`in`), outer headers as on the wire. */
  readonly onWire?: (dir: 'out' | 'in', chassis: string, frame: Uint8Array) => void;
  /** Called after a received datagram was queued on the cluster (the owner then runs it). */
  readonly onDatagram?: () => void;
  /** Called when a socket reports an error after it was bound (a send to an unreachable address, ...). */
  readonly onError?: (e: ChassisError) => void;
}

/** Datagram counters of a UDP underlay. */
export interface UdpUnderlayStats {
  /** Datagrams sent. */
  sent: number;
  /** Datagrams received and queued on a chassis. */
  received: number;
  /** Datagrams received and dropped (no local chassis with a tunnel from their source). */
  dropped: number;
  /** Frames not sent: their outer destination is no chassis, or the frame is not IPv4/UDP. */
  unsent: number;
}

const ETH = 14;
const IP = 20;
const UDP = 8;
const HDR = ETH + IP + UDP;

/**
 * The outer Ethernet/IPv4/UDP frame around a UDP payload (Geneve header onward), as our tunnel
 * ports build it: IPv4 identification 0, DF, TTL 64, UDP checksum computed.
 */
export function outerUdpFrame(o: { srcMac: string; dstMac: string; srcIp: string; dstIp: string; srcPort: number; dstPort: number; payload: Uint8Array }): Uint8Array {
  const f = new Uint8Array(HDR + o.payload.length);
  macToBytes(parseMac(o.dstMac), f, 0);
  macToBytes(parseMac(o.srcMac), f, 6);
  setU16(f, 12, 0x0800);
  const src = parseIpv4(o.srcIp);
  const dst = parseIpv4(o.dstIp);
  f[ETH] = 0x45;
  setU16(f, ETH + 2, IP + UDP + o.payload.length);
  setU16(f, ETH + 6, 0x4000);
  f[ETH + 8] = 64;
  f[ETH + 9] = 17;
  setU32(f, ETH + 12, src);
  setU32(f, ETH + 16, dst);
  setU16(f, ETH + 10, internetChecksum(f, ETH, IP));
  setU16(f, ETH + IP, o.srcPort);
  setU16(f, ETH + IP + 2, o.dstPort);
  setU16(f, ETH + IP + 4, UDP + o.payload.length);
  f.set(o.payload, HDR);
  const sum = l4ChecksumV4(f, ETH + IP, UDP + o.payload.length, 17, src, dst);
  setU16(f, ETH + IP + 6, sum === 0 ? 0xffff : sum);
  return f;
}

/** The UDP payload of an outer Ethernet/IPv4/UDP frame, or undefined when it is not one. */
function udpPayload(f: Uint8Array): Uint8Array | undefined {
  if (f.length < HDR || f[12] !== 0x08 || f[13] !== 0x00 || f[ETH]! >> 4 !== 4 || f[ETH + 9] !== 17) return undefined;
  const l4 = ETH + (f[ETH]! & 0x0f) * 4;
  if (f.length < l4 + UDP) return undefined;
  return f.subarray(l4 + UDP);
}

interface LocalSocket {
  readonly member: ClusterMember;
  readonly socket: Socket;
  readonly address: string;
}

/** Geneve over real UDP sockets between processes or hosts; see the module comment. */
export class UdpUnderlay implements UnderlayTransport {
  /** Datagram counters. */
  readonly stats: UdpUnderlayStats = { sent: 0, received: 0, dropped: 0, unsent: 0 };
  /** The UDP port. */
  readonly port: number;
  private endpoint: UnderlayEndpoint | undefined;
  private readonly sockets = new Map<string, LocalSocket>();
  private readonly macByIp = new Map<string, string>();
  private closed = false;

  constructor(
    /** The chassis that run in this process. */
    readonly local: readonly ClusterMember[],
    private readonly opts: UdpUnderlayOptions = {},
  ) {
    const port = opts.port ?? GENEVE_UDP_PORT;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ChassisError('bad-config', `Geneve UDP port ${port} is not 1-65535`);
    this.port = port;
    for (const m of [...(opts.members ?? []), ...local]) this.macByIp.set(m.encapIp, m.mac);
  }

  /** Learn the cluster's members anew (chassis that joined since; their underlay MACs). */
  setMembers(members: readonly ClusterMember[]): void {
    for (const m of members) this.macByIp.set(m.encapIp, m.mac);
  }

  /** Bind one socket per local chassis; resolves when every one listens. */
  async listen(): Promise<void> {
    for (const m of this.local) {
      const address = this.opts.bindAddress ?? m.encapIp;
      const socket = createSocket({ type: 'udp4' });
      await new Promise<void>((resolve, reject) => {
        const fail = (e: Error) => {
          socket.close();
          reject(new ChassisError('transport', `chassis ${m.name}: cannot listen on UDP ${address}:${this.port}: ${e.message}`));
        };
        socket.once('error', fail);
        socket.bind(this.port, address, () => {
          socket.off('error', fail);
          resolve();
        });
      });
      socket.on('error', (e) => this.opts.onError?.(new ChassisError('transport', `chassis ${m.name}: UDP socket ${address}:${this.port}: ${e.message}`)));
      socket.on('message', (msg, rinfo) => this.datagram(m, msg, rinfo.address, rinfo.port));
      this.sockets.set(m.name, { member: m, socket, address });
    }
  }

  /** Close every socket (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.sockets.values()].map((s) => new Promise<void>((r) => s.socket.close(() => r()))));
    this.sockets.clear();
  }

  /** See `UnderlayTransport.attach`. */
  attach(endpoint: UnderlayEndpoint): void {
    this.endpoint = endpoint;
  }

  /** See `UnderlayTransport.send`: the Geneve header onward, as a datagram to the remote chassis's encap address. */
  send(from: ClusterMember, to: ClusterMember | undefined, frame: Uint8Array): void {
    const s = this.sockets.get(from.name);
    const payload = udpPayload(frame);
    if (!s || !to || !payload || this.closed) {
      this.stats.unsent++;
      return;
    }
    this.stats.sent++;
    s.socket.send(payload, this.port, to.encapIp, (e) => {
      if (e) this.opts.onError?.(new ChassisError('transport', `chassis ${from.name}: Geneve datagram to ${to.encapIp}:${this.port}: ${e.message}`));
    });
    this.opts.onWire?.('out', from.name, outerUdpFrame({ srcMac: from.mac, dstMac: to.mac, srcIp: from.encapIp, dstIp: to.encapIp, srcPort: this.port, dstPort: this.port, payload }));
  }

  private datagram(m: ClusterMember, msg: Uint8Array, address: string, port: number): void {
    const frame = outerUdpFrame({ srcMac: this.macByIp.get(address) ?? defaultUnderlayMac(address), dstMac: m.mac, srcIp: address, dstIp: m.encapIp, srcPort: port, dstPort: this.port, payload: msg });
    this.opts.onWire?.('in', m.name, frame);
    const e = this.endpoint;
    if (e && e.receive(frame, e.now())) this.stats.received++;
    else this.stats.dropped++;
    this.opts.onDatagram?.();
  }
}
