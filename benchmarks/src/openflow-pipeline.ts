/**
 * The workloads of `openflow.bench.ts`, seeded and reproducible.
 *
 * `ovnPipeline(n)` is a 10-table pipeline shaped like OVN's logical switch + router ingress, with
 * about `n` flows. Workloads ("VMs") sit behind 32 switch ports; VM i has a MAC, an IPv4 address in
 * subnet 10.1.s.0/24 (200 per subnet), a logical port number (reg14/reg15) and a switch port.
 *
 * | table | what | masks |
 * |---|---|---|
 * | 0 | L2 port security: `in_port,dl_src` -> reg14, metadata | 2 (incl. the drop) |
 * | 1 | IP port security: `reg14,ip,dl_src,nw_src` | 3 (incl. `ip` drop, catch-all) |
 * | 2 | QoS marking by DSCP: `ip,nw_tos` -> reg1 | 2 |
 * | 3 | ingress ACL: TCP/UDP/ICMP by source or destination address (/32, /24, /16), ports (exact, masked range), reg14, tp_src | 9 |
 * | 4 | egress ACL: by destination address and port, subnet, a reg2 bit set by table 3, TCP flags | 5 |
 * | 5 | IPv4 routing, longest prefix by priority: /32, /24, /16, /8, /0; dec_ttl, next hop to reg0 (`move` from nw_dst for connected subnets), router MAC to eth_src | 5 |
 * | 6 | next-hop MAC ("ARP resolve"): `metadata,reg0` -> eth_dst | 1 |
 * | 7 | L2 lookup: `metadata,dl_dst` -> reg15, multicast bit | 2 |
 * | 8 | egress port security: `reg15,dl_dst` -> `resubmit(,9)` | 2 |
 * | 9 | output: `reg15` -> `output:port` | 1 |
 *
 * Frames are 64 bytes (Ethernet/IPv4/TCP with 10 bytes of payload, or Ethernet/IPv4/UDP with 22):
 * from VM a to VM b on another switch port, routed, so every frame is looked up in all 10 tables
 * and leaves on b's port with eth_src = the router MAC, eth_dst = b's MAC and TTL 63. Half hit a
 * per-host TCP allow in table 3, a quarter a per-subnet TCP allow, a quarter a UDP/53 allow.
 *
 * `aclTable(n)`: n rules over 20 distinct masks in one table, and keys that each match some rule,
 * for the single-table lookup comparison.
 */
import { KEY_WORDS, W, parseMatch, type Match } from '@ovnts/openflow';
import { PacketBuilder } from '@ovnts/packet';

/** Switch ports the VMs sit behind. */
export const PORTS = 32;
/** The router's MAC (eth_src of every routed frame). */
export const ROUTER_MAC = '02:ff:00:00:00:01';

/** A seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex2 = (v: number): string => v.toString(16).padStart(2, '0');
/** VM i's MAC. */
export const vmMac = (i: number): string => `02:00:00:${hex2((i >>> 16) & 255)}:${hex2((i >>> 8) & 255)}:${hex2(i & 255)}`;
const subnet = (i: number): number => Math.floor(i / 200);
/** VM i's IPv4 address. */
export const vmIp = (i: number): string => `10.1.${subnet(i)}.${(i % 200) + 10}`;
/** VM i's IPv4 address as a hex number (for registers). */
const vmIpHex = (i: number): string => `0x${vmIp(i).split('.').reduce((a, x) => a * 256 + Number(x), 0).toString(16)}`;
const vmNet = (i: number): string => `10.1.${subnet(i)}.0/24`;
/** VM i's switch port. */
export const vmPort = (i: number): number => 1 + (i % PORTS);
const lport = (i: number): number => i + 1;
const SVC = [22, 80, 443, 8080, 5432];
const svc = (i: number): number => SVC[i % SVC.length]!;
const subnetPort = (i: number): number => 3000 + (i % 50);

/** The generated pipeline. */
export interface OvnPipeline {
  /** Flow texts in `ovs-ofctl add-flow` syntax. */
  flows: string[];
  /** Complete VMs (all their flows are present). */
  vms: number;
  /** Frames and where each enters and must leave. */
  frames: Uint8Array[];
  inPorts: Int32Array;
  outPorts: Int32Array;
}

/** About `n` flows (exactly `n`), and `nFrames` frames that traverse all 10 tables. */
export function ovnPipeline(n: number, nFrames: number, seed = 1): OvnPipeline {
  const rnd = prng(seed);
  const flows: string[] = [
    'table=0,priority=0,actions=drop',
    'table=1,priority=80,ip,actions=drop',
    'table=1,priority=0,actions=goto_table:2',
    'table=2,priority=0,actions=goto_table:3',
    'table=3,priority=0,actions=goto_table:4',
    'table=3,priority=1998,tcp,tp_dst=0x4000/0xff00,actions=drop',
    'table=3,priority=1998,tcp,tp_dst=0x5100/0xff00,actions=drop',
    'table=3,priority=1997,ip,nw_src=172.16.0.0/16,actions=drop',
    'table=3,priority=1997,ip,nw_src=172.17.0.0/16,actions=drop',
    'table=4,priority=0,actions=goto_table:5',
    'table=4,priority=70,tcp,tcp_flags=+rst,actions=drop',
    `table=5,priority=1,ip,metadata=0x1,actions=dec_ttl,set_field:${vmIpHex(0)}->reg0,set_field:${ROUTER_MAC}->eth_src,goto_table:6`,
    `table=7,priority=70,metadata=0x1,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=set_field:0xffff->reg15,goto_table:8`,
    'table=8,priority=0,actions=drop',
  ];
  for (let k = 0; k < 8; k++) flows.push(`table=2,priority=100,ip,nw_tos=${(k + 1) * 4},actions=set_field:${k + 1}->reg1,goto_table:3`);
  for (let k = 0; k < 4; k++) {
    flows.push(`table=5,priority=33,ip,metadata=0x1,nw_dst=10.${2 + k}.0.0/16,actions=dec_ttl,set_field:${vmIpHex(1)}->reg0,set_field:${ROUTER_MAC}->eth_src,goto_table:6`);
    flows.push(`table=5,priority=17,ip,metadata=0x1,nw_dst=${20 + k}.0.0.0/8,actions=dec_ttl,set_field:${vmIpHex(2)}->reg0,set_field:${ROUTER_MAC}->eth_src,goto_table:6`);
  }
  const seenSubnet = new Set<number>();
  const seenSubnetPort = new Set<string>();
  let vms = 0;
  const block: string[] = [];
  for (let i = 0; flows.length < n; i++) {
    block.length = 0;
    const mac = vmMac(i), ip = vmIp(i), lp = lport(i);
    block.push(`table=0,priority=100,in_port=${vmPort(i)},dl_src=${mac},actions=set_field:${lp}->reg14,set_field:0x1->metadata,goto_table:1`);
    block.push(`table=1,priority=90,reg14=${lp},ip,dl_src=${mac},nw_src=${ip},actions=goto_table:2`);
    block.push(`table=3,priority=2001,tcp,nw_src=${ip},tp_dst=${svc(i)},actions=load:1->NXM_NX_REG2[0],goto_table:4`);
    block.push(`table=3,priority=1999,udp,nw_dst=${ip},tp_dst=53,actions=load:1->NXM_NX_REG2[0],goto_table:4`);
    if (i % 2 === 0) block.push(`table=3,priority=1996,icmp,icmp_type=8,nw_dst=${ip},actions=goto_table:4`);
    else block.push(`table=3,priority=1995,tcp,reg14=${lp},tp_src=${1000 + (i % 1000)},actions=drop`);
    block.push(`table=3,priority=1994,udp,nw_src=${ip},nw_dst=${vmIp(i + 1)},actions=goto_table:4`);
    const sp = `${subnet(i)}/${subnetPort(i)}`;
    if (!seenSubnetPort.has(sp)) {
      seenSubnetPort.add(sp);
      block.push(`table=3,priority=2000,tcp,nw_src=${vmNet(i)},tp_dst=${subnetPort(i)},actions=goto_table:4`);
    }
    block.push(`table=4,priority=100,tcp,nw_dst=${ip},tp_dst=${svc(i)},actions=goto_table:5`);
    block.push(`table=4,priority=80,ip,reg2=0x1/0x1,nw_dst=${ip},actions=goto_table:5`);
    if (!seenSubnet.has(subnet(i))) {
      seenSubnet.add(subnet(i));
      block.push(`table=4,priority=90,udp,nw_dst=${vmNet(i)},actions=goto_table:5`);
      block.push(`table=5,priority=49,ip,metadata=0x1,nw_dst=${vmNet(i)},actions=dec_ttl,move:NXM_OF_IP_DST[]->NXM_NX_REG0[],set_field:${ROUTER_MAC}->eth_src,goto_table:6`);
    }
    if (i % 4 === 0) block.push(`table=5,priority=65,ip,metadata=0x1,nw_dst=${ip},actions=dec_ttl,set_field:${vmIpHex(i)}->reg0,set_field:${ROUTER_MAC}->eth_src,goto_table:6`);
    block.push(`table=6,priority=100,metadata=0x1,reg0=${vmIpHex(i)},actions=set_field:${mac}->eth_dst,goto_table:7`);
    block.push(`table=7,priority=50,metadata=0x1,dl_dst=${mac},actions=set_field:${lp}->reg15,goto_table:8`);
    block.push(`table=8,priority=50,reg15=${lp},dl_dst=${mac},actions=resubmit(,9)`);
    block.push(`table=9,priority=100,reg15=${lp},actions=output:${vmPort(i)}`);
    let pushed = 0;
    for (const f of block) {
      if (flows.length < n) {
        flows.push(f);
        pushed++;
      }
    }
    if (pushed === block.length) vms = i + 1; // the last VM may be incomplete
  }
  vms = Math.max(2, vms);

  const frames: Uint8Array[] = [];
  const inPorts = new Int32Array(nFrames);
  const outPorts = new Int32Array(nFrames);
  for (let f = 0; f < nFrames; f++) {
    const a = Math.floor(rnd() * vms);
    let b = Math.floor(rnd() * vms);
    while (vmPort(b) === vmPort(a) || b === a) b = (b + 1) % vms;
    const kind = rnd();
    const sport = 40000 + Math.floor(rnd() * 20000);
    const pb = new PacketBuilder().ethernet({ src: vmMac(a), dst: ROUTER_MAC }).ipv4({ src: vmIp(a), dst: vmIp(b), ttl: 64 });
    let frame: Uint8Array;
    if (kind < 0.75) {
      const dport = kind < 0.5 ? svc(a) : subnetPort(a);
      frame = pb.tcp({ srcPort: sport, dstPort: dport, flags: 'S', seq: Math.floor(rnd() * 2 ** 32) }).payload(new Uint8Array(10)).build();
    } else {
      frame = pb.udp({ srcPort: sport, dstPort: 53 }).payload(new Uint8Array(22)).build();
    }
    if (frame.length !== 64) throw new RangeError(`frame ${f} is ${frame.length} bytes, not 64`);
    frames.push(frame);
    inPorts[f] = vmPort(a);
    outPorts[f] = vmPort(b);
  }
  return { flows, vms, frames, inPorts, outPorts };
}

/** One table of `n` rules over 20 distinct masks, and `nKeys` keys (flow keys) that each match one of them. */
export function aclTable(n: number, nKeys: number, seed = 2): { rules: { match: Match; priority: number }[]; keys: Uint32Array[]; masks: number } {
  const rnd = prng(seed);
  const r = (k: number): number => Math.floor(rnd() * k);
  const ip = (): string => `10.${r(4)}.${r(256)}.${r(256)}`;
  const port = (): number => 1 + r(4000);
  const mac = (): string => vmMac(r(1 << 20));
  const templates: Array<() => string> = [
    () => `tcp,nw_src=${ip()},tp_dst=${port()}`,
    () => `tcp,nw_src=${ip()}/24,tp_dst=${port()}`,
    () => `udp,nw_dst=${ip()},tp_dst=${port()}`,
    () => `tcp,tp_dst=0x${(0x10 + r(0xe0)).toString(16)}00/0xff00`,
    () => `ip,nw_src=${ip()}/16`,
    () => `icmp,icmp_type=8,nw_dst=${ip()}`,
    () => `tcp,reg14=${r(4096)},tp_src=${port()}`,
    () => `udp,nw_src=${ip()},nw_dst=${ip()}`,
    () => `tcp,nw_dst=${ip()},tp_dst=${port()}`,
    () => `udp,nw_dst=${ip()}/24`,
    () => `ip,reg2=0x1/0x1,nw_dst=${ip()}`,
    () => `ip,metadata=${1 + r(8)},nw_dst=${ip()}`,
    () => `ip,metadata=${1 + r(8)},nw_dst=${ip()}/24`,
    () => `ip,metadata=${1 + r(8)},nw_dst=${ip()}/16`,
    () => `ip,metadata=${1 + r(8)},nw_dst=${ip()}/8`,
    () => `in_port=${1 + r(64)},dl_src=${mac()}`,
    () => `reg14=${r(4096)},ip,dl_src=${mac()},nw_src=${ip()}`,
    () => `metadata=${1 + r(8)},reg0=0x${(0x0a000000 + r(1 << 26)).toString(16)}`,
    () => `metadata=${1 + r(8)},dl_dst=${mac()}`,
    () => `reg15=${r(4096)},dl_dst=${mac()}`,
  ];
  const rules: { match: Match; priority: number }[] = [];
  const seen = new Set<string>();
  while (rules.length < n) {
    const t = r(templates.length);
    const text = templates[t]!();
    if (seen.has(text)) continue;
    seen.add(text);
    rules.push({ match: parseMatch(text), priority: 100 + t * 50 + r(50) });
  }
  const masks = new Set(rules.map((x) => Array.from(x.match.mask).join(','))).size;
  const keys: Uint32Array[] = [];
  for (let k = 0; k < nKeys; k++) {
    const rule = rules[r(rules.length)]!;
    const key = new Uint32Array(KEY_WORDS);
    key[W.in_port] = 1 + r(64);
    key[W.dl_src] = 0x0200;
    key[W.dl_src + 1] = r(1 << 30);
    key[W.dl_dst] = 0x0200;
    key[W.dl_dst + 1] = r(1 << 30);
    key[W.dl_type] = 0x0800;
    key[W.nw_src] = (0x0a000000 + r(1 << 26)) >>> 0;
    key[W.nw_dst] = (0x0a000000 + r(1 << 26)) >>> 0;
    key[W.nw_proto] = 6;
    key[W.nw_ttl] = 64;
    key[W.tp_src] = 40000 + r(20000);
    key[W.tp_dst] = port();
    key[W.metadata + 1] = 1 + r(8);
    for (let i = 0; i < KEY_WORDS; i++) key[i] = ((key[i]! & ~rule.match.mask[i]!) | rule.match.value[i]!) >>> 0;
    keys.push(key);
  }
  return { rules, keys, masks };
}
