/**
 * Frames worth sending into an OVN cluster, drawn from its southbound database: the frame
 * differential between our chassis and real ovn-controller/OVS injects the same sequence into both.
 *
 * Design. The endpoints are the VIF ports bound to some chassis whose `mac` column gives a MAC
 * and addresses; the routers are found through the switches' patch ports and their peers' `mac`
 * (`MAC IP/prefix ...`). Each frame is one of a few kinds, drawn with fixed weights from a seeded
 * PRNG: L2 unicast between ports of a switch, ARP/ND for a neighbour or the router, a ping of the
 * router, a routed packet (UDP, TCP, ICMP) to a port of another switch (sometimes with TTL 1, so
 * the router answers with an ICMP error), a frame to an unknown MAC, one with a spoofed source,
 * a DHCP discover, a DNS query for a name the switch knows, a TCP SYN to a load balancer VIP.
 * Every frame names its sender and says what it is, so a failing comparison can be read.
 */
import { PacketBuilder, parseIpv4, parseIpv6, formatIpv4, type MacLike } from '@ovnts/packet';
import type { SbDatabase, SbDatapath, SbPortBinding } from '@ovnts/ovn';
import type { Rng } from './corpus.js';

/** A frame to inject at a logical port. */
export interface OvnTestFrame {
  /** The sending logical port. */
  readonly from: string;
  /** The Ethernet frame. */
  readonly frame: Uint8Array;
  /** What it is (for messages). */
  readonly what: string;
}

interface Endpoint {
  readonly port: string;
  readonly dp: SbDatapath;
  readonly mac: string;
  readonly ip4: string[];
  readonly ip6: string[];
}

interface RouterIf {
  readonly mac: string;
  readonly ip4: string[];
  readonly ip6: string[];
  /** The router datapath. */
  readonly router: SbDatapath;
}

function addressesOf(pb: SbPortBinding): { mac: string; ip4: string[]; ip6: string[] } | undefined {
  for (const m of pb.mac) {
    const words = m.split(/\s+/).filter((w) => w);
    if (!words.length || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(words[0]!)) continue;
    const ip4: string[] = [];
    const ip6: string[] = [];
    for (const w of words.slice(1)) {
      const a = w.replace(/\/\d+$/, '');
      if (a.includes(':')) ip6.push(a);
      else ip4.push(a);
    }
    return { mac: words[0]!.toLowerCase(), ip4, ip6 };
  }
  return undefined;
}

/** Draw `n` frames for the ports in `bound` (see the module comment). */
export function ovnTestFrames(sb: SbDatabase, bound: ReadonlySet<string>, rng: Rng, n: number): OvnTestFrame[] {
  const eps: Endpoint[] = [];
  for (const pb of sb.portBindings) {
    if (pb.type !== '' || pb.parentPort || !bound.has(pb.logicalPort)) continue;
    const a = addressesOf(pb);
    if (a) eps.push({ port: pb.logicalPort, dp: pb.datapath, ...a });
  }
  if (!eps.length) return [];
  const byName = new Map(sb.portBindings.map((p) => [p.logicalPort, p]));
  const routersOf = new Map<SbDatapath, RouterIf[]>();
  for (const pb of sb.portBindings) {
    if (pb.type !== 'patch' && pb.type !== 'l3gateway') continue;
    const peer = byName.get(pb.options.get('peer') ?? '');
    if (!peer || peer.datapath.kind !== 'router') continue;
    const a = addressesOf(peer);
    if (!a) continue;
    const l = routersOf.get(pb.datapath) ?? [];
    l.push({ ...a, router: peer.datapath });
    routersOf.set(pb.datapath, l);
  }
  const vips: { ip: string; port: number }[] = [];
  for (const lb of sb.loadBalancers) {
    for (const k of lb.vips.keys()) {
      const m = /^([0-9.]+)(?::(\d+))?$/.exec(k);
      if (m) vips.push({ ip: m[1]!, port: Number(m[2] ?? 80) });
    }
  }
  const dnsNames = new Map<SbDatapath, string[]>();
  for (const d of sb.dns) for (const dp of d.datapaths) dnsNames.set(dp, [...(dnsNames.get(dp) ?? []), ...d.records.keys()]);

  const out: OvnTestFrame[] = [];
  const eth = (src: MacLike, dst: MacLike) => new PacketBuilder().ethernet({ src, dst });
  const payload = () => `ovn-ts ${rng.u32().toString(16)}`;
  for (let i = 0; i < n; i++) {
    const a = rng.pick(eps);
    const peers = eps.filter((e) => e !== a && e.dp === a.dp);
    const routers = routersOf.get(a.dp) ?? [];
    const remote = routers.length ? eps.filter((e) => e.dp !== a.dp && (routersOf.get(e.dp) ?? []).some((r) => routers.some((x) => x.router === r.router))) : [];
    const kind = rng.weighted({
      l2: peers.length ? 4 : 0,
      arp: a.ip4.length ? 2 : 0,
      nd: a.ip6.length ? 1 : 0,
      routerArp: routers.length && a.ip4.length ? 1 : 0,
      routerPing: routers.length && a.ip4.length ? 2 : 0,
      routed: remote.length && a.ip4.length ? 4 : 0,
      ttl1: remote.length && a.ip4.length ? 1 : 0,
      unknownMac: 1,
      spoofed: 1,
      dhcp: 1,
      dns: (dnsNames.get(a.dp)?.length ?? 0) && a.ip4.length ? 1 : 0,
      lb: vips.length && a.ip4.length ? 2 : 0,
    });
    const src4 = a.ip4[0] ?? '0.0.0.0';
    switch (kind) {
      case 'l2': {
        const b = rng.pick(peers);
        const f = eth(a.mac, b.mac);
        const fr = a.ip4.length && b.ip4.length
          ? f.ipv4({ src: src4, dst: b.ip4[0]!, ttl: 64 }).udp({ srcPort: rng.int(1024, 65535), dstPort: rng.int(1, 65535) }).payload(payload()).build()
          : a.ip6.length && b.ip6.length
            ? f.ipv6({ src: a.ip6[0]!, dst: b.ip6[0]!, hopLimit: 64 }).udp({ srcPort: rng.int(1024, 65535), dstPort: 53 }).payload(payload()).build()
            : f.payload(payload()).build();
        out.push({ from: a.port, frame: fr, what: `L2 ${a.port} -> ${b.port}` });
        break;
      }
      case 'arp': {
        const target = peers.length && rng.chance(0.7) && rng.pick(peers).ip4[0] ? rng.pick(peers).ip4[0] ?? src4 : formatIpv4((parseIpv4(src4) & 0xffffff00) | rng.int(1, 254));
        out.push({ from: a.port, frame: eth(a.mac, 'ff:ff:ff:ff:ff:ff').arp({ op: 1, sha: a.mac, spa: src4, tha: '00:00:00:00:00:00', tpa: target }).build(), what: `ARP who-has ${target} from ${a.port}` });
        break;
      }
      case 'nd': {
        const t = peers.find((p) => p.ip6.length)?.ip6[0] ?? a.ip6[0]!;
        const tb = parseIpv6(t);
        const sn = 0xff0200000000000000000001ff000000n | (tb & 0xffffffn);
        const dmac = `33:33:ff:${[16, 8, 0].map((s) => Number((tb >> BigInt(s)) & 0xffn).toString(16).padStart(2, '0')).join(':')}`;
        const fr = eth(a.mac, dmac).ipv6({ src: a.ip6[0]!, dst: sn, hopLimit: 255 }).icmpv6({ kind: 'raw', type: 135, code: 0, body: ndBody(tb, a.mac) }).build();
        out.push({ from: a.port, frame: fr, what: `ND who-has ${t} from ${a.port}` });
        break;
      }
      case 'routerArp': {
        const r = rng.pick(routers);
        if (!r.ip4.length) continue;
        out.push({ from: a.port, frame: eth(a.mac, 'ff:ff:ff:ff:ff:ff').arp({ op: 1, sha: a.mac, spa: src4, tha: '00:00:00:00:00:00', tpa: r.ip4[0]! }).build(), what: `ARP for router ${r.ip4[0]} from ${a.port}` });
        break;
      }
      case 'routerPing': {
        const r = rng.pick(routers);
        if (!r.ip4.length) continue;
        const fr = eth(a.mac, r.mac).ipv4({ src: src4, dst: r.ip4[0]!, ttl: 64 }).icmpv4({ type: 8, code: 0, id: rng.int(1, 65535), seq: 1 }).payload(payload()).build();
        out.push({ from: a.port, frame: fr, what: `ping router ${r.ip4[0]} from ${a.port}` });
        break;
      }
      case 'routed':
      case 'ttl1': {
        const b = rng.pick(remote);
        const r = routers[0]!;
        if (!b.ip4.length) continue;
        const ttl = kind === 'ttl1' ? 1 : 64;
        const f = eth(a.mac, r.mac).ipv4({ src: src4, dst: b.ip4[0]!, ttl });
        const l4 = rng.int(0, 2);
        const fr = l4 === 0
          ? f.udp({ srcPort: rng.int(1024, 65535), dstPort: rng.int(1, 65535) }).payload(payload()).build()
          : l4 === 1
            ? f.tcp({ srcPort: rng.int(1024, 65535), dstPort: 80, flags: 'S', seq: rng.u32() }).build()
            : f.icmpv4({ type: 8, code: 0, id: rng.int(1, 65535), seq: 1 }).payload(payload()).build();
        out.push({ from: a.port, frame: fr, what: `routed ${a.port} -> ${b.port} ttl ${ttl}` });
        break;
      }
      case 'unknownMac': {
        const dst = `02:00:00:${[0, 0, 0].map(() => rng.int(0, 255).toString(16).padStart(2, '0')).join(':')}`;
        out.push({ from: a.port, frame: eth(a.mac, dst).ipv4({ src: src4, dst: '10.255.255.1', ttl: 64 }).udp({ srcPort: 1, dstPort: 2 }).payload(payload()).build(), what: `to unknown MAC ${dst} from ${a.port}` });
        break;
      }
      case 'spoofed': {
        const src = `02:99:00:00:00:${rng.int(1, 255).toString(16).padStart(2, '0')}`;
        const b = peers.length ? rng.pick(peers).mac : 'ff:ff:ff:ff:ff:ff';
        out.push({ from: a.port, frame: eth(src, b).ipv4({ src: src4, dst: '10.0.0.250', ttl: 64 }).udp({ srcPort: 1, dstPort: 2 }).payload(payload()).build(), what: `spoofed source ${src} from ${a.port}` });
        break;
      }
      case 'dhcp': {
        const fr = eth(a.mac, 'ff:ff:ff:ff:ff:ff')
          .ipv4({ src: '0.0.0.0', dst: '255.255.255.255', ttl: 64 })
          .udp({ srcPort: 68, dstPort: 67 })
          .dhcpv4({ op: 1, htype: 1, hops: 0, xid: rng.u32(), secs: 0, flags: 0, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: macBytes(a.mac), sname: '', file: '', options: { messageType: 1, other: [] } })
          .build();
        out.push({ from: a.port, frame: fr, what: `DHCPDISCOVER from ${a.port}` });
        break;
      }
      case 'dns': {
        const name = rng.pick(dnsNames.get(a.dp)!);
        const server = routers[0]?.ip4[0] ?? '10.0.0.1';
        const dmac = routers[0]?.mac ?? (peers[0]?.mac ?? 'ff:ff:ff:ff:ff:ff');
        const fr = eth(a.mac, dmac).ipv4({ src: src4, dst: server, ttl: 64 }).udp({ srcPort: rng.int(1024, 65535), dstPort: 53 })
          .dns({ id: rng.int(0, 65535), qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: 0, rcode: 0, questions: [{ name, type: rng.chance(0.7) ? 1 : 28, class: 1 }], answers: [], authorities: [], additionals: [] })
          .build();
        out.push({ from: a.port, frame: fr, what: `DNS query ${name} from ${a.port}` });
        break;
      }
      case 'lb': {
        const v = rng.pick(vips);
        const dmac = routers[0]?.mac ?? (peers[0]?.mac ?? 'ff:ff:ff:ff:ff:ff');
        const fr = eth(a.mac, dmac).ipv4({ src: src4, dst: v.ip, ttl: 64 }).tcp({ srcPort: rng.int(1024, 65535), dstPort: v.port, flags: 'S', seq: rng.u32() }).build();
        out.push({ from: a.port, frame: fr, what: `TCP SYN to VIP ${v.ip}:${v.port} from ${a.port}` });
        break;
      }
    }
  }
  return out;
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((x) => parseInt(x, 16)));
}

/** The body of a neighbour solicitation after the ICMPv6 header: reserved, target, source link-layer option. */
function ndBody(target: bigint, mac: string): Uint8Array {
  const b = new Uint8Array(4 + 16 + 8);
  for (let i = 0; i < 16; i++) b[4 + i] = Number((target >> BigInt(8 * (15 - i))) & 0xffn);
  b[20] = 1;
  b[21] = 1;
  b.set(macBytes(mac), 22);
  return b;
}
