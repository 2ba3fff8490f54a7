/**
 * Deterministic fixture traffic. `geneveTwoNodes()` is what two OVN-Kubernetes nodes exchange
 * over their Geneve overlay for a short session between pods: built with `PacketBuilder` and
 * encapsulated by the real `TunnelEncap` (OVN's option carries the logical port keys, the VNI
 * the transit switch's datapath key), plus one VXLAN frame to a hybrid-overlay (Windows) node
 * and one frame cut short by the capture's snaplen. The demo reads the committed capture
 * `fixtures/captures/geneve-two-nodes.pcapng`, which `scripts/make-fixtures.mjs` writes from
 * this function; a test checks the two agree.
 */
import { PacketBuilder, parseIpv4, parseMac, DnsType, DnsClass, type DnsRepr } from '@ovnts/packet';
import { TunnelEncap, TunnelKey, TunnelKind, TUNNEL_MAX_HEADROOM } from '@ovnts/geneve';
import type { WriteFrame } from '@ovnts/capture';

/** The addresses of the fixture cluster. */
export const fixtureCluster = {
  node1: { mac: '02:42:ac:12:00:02', ip: '172.18.0.2' },
  node2: { mac: '02:42:ac:12:00:03', ip: '172.18.0.3' },
  windows: { mac: '02:42:ac:12:00:04', ip: '172.18.0.4' },
  /** Transit-switch router ports of the two nodes (interconnect mode). */
  rtr1: { mac: '0a:58:64:58:00:02' },
  rtr2: { mac: '0a:58:64:58:00:03' },
  podA: { ip: '10.244.0.5', ip6: 'fd00:10:244:1::5' },
  podB: { ip: '10.244.1.7', ip6: 'fd00:10:244:2::7' },
  dns: { ip: '10.244.1.10' },
  winPod: { ip: '10.244.5.3', mac: '0a:58:0a:f4:05:03' },
  /** Tunnel keys: transit switch datapath 4; node1's port key 2, node2's 3. */
  transitDatapath: 4,
  portKey1: 2,
  portKey2: 3,
} as const;

const C = fixtureCluster;

function tunnel(inner: Uint8Array, fromNode1: boolean, kind: number = TunnelKind.Geneve): Uint8Array {
  const a = fromNode1 ? C.node1 : C.node2;
  const b = kind === TunnelKind.Vxlan ? C.windows : fromNode1 ? C.node2 : C.node1;
  const enc = new TunnelEncap({ kind: kind as TunnelKind, ethSrc: parseMac(a.mac), ethDst: parseMac(b.mac), src: parseIpv4(a.ip), dst: parseIpv4(b.ip) });
  const key = new TunnelKey();
  if (kind === TunnelKind.Vxlan) key.vni = 4097;
  else key.setOvn(C.transitDatapath, fromNode1 ? C.portKey1 : C.portKey2, fromNode1 ? C.portKey2 : C.portKey1);
  const buf = new Uint8Array(TUNNEL_MAX_HEADROOM + inner.length);
  buf.set(inner, TUNNEL_MAX_HEADROOM);
  enc.encap(key, buf, TUNNEL_MAX_HEADROOM, inner.length);
  return enc.buf.slice(enc.off, enc.off + enc.len);
}

/** The fixture session as capture frames (timestamps from 2026-01-01T00:00:00Z, 1 ms apart). */
export function geneveTwoNodes(): WriteFrame[] {
  const out: WriteFrame[] = [];
  const t0 = 1_767_225_600_000_000_000n;
  const add = (data: Uint8Array, origLen?: number) =>
    out.push({ data, timestampNs: t0 + BigInt(out.length) * 1_000_000n, ...(origLen !== undefined ? { origLen } : {}) });
  const fwd = (b: PacketBuilder) => b.ethernet({ src: C.rtr1.mac, dst: C.rtr2.mac });
  const rev = (b: PacketBuilder) => b.ethernet({ src: C.rtr2.mac, dst: C.rtr1.mac });
  const ab = { src: C.podA.ip, dst: C.podB.ip, ttl: 63 };
  const ba = { src: C.podB.ip, dst: C.podA.ip, ttl: 63 };

  // ping pod A -> pod B and back
  add(tunnel(fwd(new PacketBuilder()).ipv4(ab).icmpv4({ type: 8, id: 0x1c2d, seq: 1 }).payload('ovn-ts ping').build(), true));
  add(tunnel(rev(new PacketBuilder()).ipv4(ba).icmpv4({ type: 0, id: 0x1c2d, seq: 1 }).payload('ovn-ts ping').build(), false));
  // TCP: handshake, a request, the reply, teardown
  const tcp = (b: PacketBuilder, sport: number, dport: number, seq: number, ack: number, flags: string, data = '') => {
    const x = b.tcp({ srcPort: sport, dstPort: dport, seq, ack, flags, window: 64240 });
    return (data ? x.payload(data) : x).build();
  };
  add(tunnel(tcp(fwd(new PacketBuilder()).ipv4(ab), 43210, 8080, 1000, 0, 'S'), true));
  add(tunnel(tcp(rev(new PacketBuilder()).ipv4(ba), 8080, 43210, 5000, 1001, 'SA'), false));
  add(tunnel(tcp(fwd(new PacketBuilder()).ipv4(ab), 43210, 8080, 1001, 5001, 'A'), true));
  const req = 'GET / HTTP/1.1\r\nHost: pod-b\r\n\r\n';
  add(tunnel(tcp(fwd(new PacketBuilder()).ipv4(ab), 43210, 8080, 1001, 5001, 'PA', req), true));
  const resp = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n';
  add(tunnel(tcp(rev(new PacketBuilder()).ipv4(ba), 8080, 43210, 5001, 1001 + req.length, 'PA', resp), false));
  add(tunnel(tcp(fwd(new PacketBuilder()).ipv4(ab), 43210, 8080, 1001 + req.length, 5001 + resp.length, 'FA'), true));
  add(tunnel(tcp(rev(new PacketBuilder()).ipv4(ba), 8080, 43210, 5001 + resp.length, 1002 + req.length, 'FA'), false));
  // DNS lookup of a service name, to the cluster DNS pod on node 2
  const q: DnsRepr = {
    id: 0x4f1e, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: 0, rcode: 0,
    questions: [{ name: 'kubernetes.default.svc.cluster.local', type: DnsType.A, class: DnsClass.IN }],
    answers: [], authorities: [], additionals: [],
  };
  add(tunnel(fwd(new PacketBuilder()).ipv4({ ...ab, dst: C.dns.ip }).udp({ srcPort: 51515 }).dns(q).build(), true));
  const r: DnsRepr = {
    ...q, qr: true, aa: true, ra: true,
    answers: [{ name: q.questions[0]!.name, type: DnsType.A, class: DnsClass.IN, ttl: 30, data: { kind: 'a', address: parseIpv4('10.96.0.1') } }],
  };
  add(tunnel(rev(new PacketBuilder()).ipv4({ ...ba, src: C.dns.ip }).udp({ srcPort: 53, dstPort: 51515 }).dns(r).build(), false));
  // Dual stack: the same ping over IPv6 (ICMPv6 echo)
  const ping6 = (src: string, dst: string, type: number) =>
    new PacketBuilder().ethernet({ src: C.rtr1.mac, dst: C.rtr2.mac }).ipv6({ src, dst, hopLimit: 63 }).icmpv6({ kind: 'echo', type, code: 0, identifier: 0x1c2e, sequence: 1, data: new TextEncoder().encode('ovn-ts ping6') }).build();
  add(tunnel(ping6(C.podA.ip6, C.podB.ip6, 128), true));
  // Hybrid overlay: pod A to a pod on a Windows node, over VXLAN (VNI 4097, UDP 4789)
  add(tunnel(tcp(new PacketBuilder().ethernet({ src: C.rtr1.mac, dst: C.winPod.mac }).ipv4({ src: C.podA.ip, dst: C.winPod.ip, ttl: 63 }), 43211, 80, 77, 0, 'S'), true, TunnelKind.Vxlan));
  // A frame cut short by a 96-byte snaplen: dissection shows what parsed and where it stopped.
  const big = tunnel(tcp(fwd(new PacketBuilder()).ipv4(ab), 43210, 8080, 1001, 5001, 'A', 'x'.repeat(400)), true);
  add(big.slice(0, 96), big.length);
  return out;
}


/**
 * Traffic for the teaching pipeline `fixtures/openflow/vlan-router.flows`: what hosts on access
 * port 1 and trunk port 3 send (an ARP broadcast, a tagged frame from the trunk to the host just
 * learned, a routed TCP SYN, a ping to a host not yet learned (flooded), a frame with TTL 1 the
 * router must not forward, and a frame to the host learned on the trunk). Keyed by ingress port.
 */
export function vlanRouterTraffic(): Record<number, WriteFrame[]> {
  const t0 = 1_767_225_600_000_000_000n;
  const at = (ms: number) => t0 + BigInt(ms) * 1_000_000n;
  const h1 = { mac: '0a:00:00:00:00:01', ip: '10.0.10.1' };
  const router = '0a:00:00:00:00:fe';
  return {
    1: [
      { timestampNs: at(0), data: new PacketBuilder().ethernet({ src: h1.mac, dst: 'ff:ff:ff:ff:ff:ff' }).arp({ sha: h1.mac, spa: h1.ip, tpa: '10.0.10.254' }).build() },
      { timestampNs: at(2), data: new PacketBuilder().ethernet({ src: h1.mac, dst: router }).ipv4({ src: h1.ip, dst: '192.0.2.7' }).tcp({ srcPort: 40000, dstPort: 443, flags: 'S', seq: 1 }).build() },
      { timestampNs: at(3), data: new PacketBuilder().ethernet({ src: h1.mac, dst: '0a:00:00:00:00:02' }).ipv4({ src: h1.ip, dst: '10.0.10.2' }).icmpv4({ id: 7, seq: 1 }).build() },
      { timestampNs: at(4), data: new PacketBuilder().ethernet({ src: h1.mac, dst: router }).ipv4({ src: h1.ip, dst: '192.0.2.7', ttl: 1 }).udp({ srcPort: 33434, dstPort: 33434 }).build() },
      // h3 was learned on the trunk at t=1: this one goes to port 3 only, tagged.
      { timestampNs: at(5), data: new PacketBuilder().ethernet({ src: h1.mac, dst: '0a:00:00:00:00:03' }).ipv4({ src: h1.ip, dst: '10.0.10.3' }).udp({ srcPort: 5353, dstPort: 5353 }).payload('to the trunk').build() },
    ],
    3: [
      {
        timestampNs: at(1),
        data: new PacketBuilder().ethernet({ src: '0a:00:00:00:00:03', dst: h1.mac }).vlan({ vid: 10 }).ipv4({ src: '10.0.10.3', dst: h1.ip }).udp({ srcPort: 5353, dstPort: 5353 }).payload('tagged from the trunk').build(),
      },
    ],
  };
}
