/**
 * A seeded random OpenFlow 1.5 flow-table generator for differential tests against Open vSwitch,
 * with a frame generator aimed at the tables it draws.
 *
 * Design. Everything is drawn from small value pools (six MACs, six IPv4 and IPv6 addresses, a
 * handful of ports and TTLs 0/1/2/3/64/255), so random frames and random matches meet often. A
 * flow is drawn from a *frame plan* (`FramePlan`: the header values of one frame): its match is a
 * random subset of that plan's fields, sometimes masked or replaced by another pool value, so
 * building the plan's frame (`buildFrame`) usually hits the flow. Flows are kept structured
 * (`GenFlow`: match pieces, apply actions, clear/write/metadata/goto instructions) so a failing
 * table can be minimised piece by piece; `flowText` renders the ovs-ofctl line.
 *
 * Actions are drawn against what the match (and the actions so far) guarantee: IPv4/IPv6/ARP/L4
 * rewrites only with the matching protocol, `pop_vlan` only when a VLAN is known to be there,
 * `set_field` to `vlan_vid` only after a VLAN match or a push; the VLAN state follows OVS's
 * consistency check through the apply actions into `write_actions` (two VLAN headers at most: a
 * third push is drawn now and then, and both sides refuse that flow). With probability `badFlow` a
 * table also gets flows that Open vSwitch refuses (`GenFlow.bad` names the intent: an action
 * without its prerequisite, `goto_table` backwards, an undefined group, `vlan_pcp` without a VLAN,
 * an L4 match on later fragments, a bad set_field value, `output:NONE`, a set_field value outside
 * its mask, `output(port=N)` without `max_len`, ...). Whether OVS really refuses them is for the
 * test to find out; the intent only labels the case (some, e.g. `pop_vlan` moved into
 * `write_actions`, OVS accepts).
 *
 * Tables chain with `goto_table` (forward), `resubmit(,T)` forward and backward (loops reach the
 * recursion limit), `resubmit(P,T)` and the port form. Groups are `all`, `indirect` and `ff`
 * (watch ports that exist and some that do not), and with `selectGroups` also `select` (selection
 * methods, weights); buckets use actions without prerequisites.
 *
 * Beyond set/move/output/VLAN/resubmit/group, flows draw the actions ovn-controller and other
 * controllers emit (`extraActions`): `clone(...)`, the value stack (`push:`/`pop:`),
 * `check_pkt_larger(N)->R[b]` (frames of several lengths decide it), `exit`, `set_tunnel`,
 * `set_queue`/`enqueue`/`pop_queue`, `multipath`, `bundle`/`bundle_load`, `sample`, `fin_timeout`,
 * `mod_tp_*` in `write_actions` and buckets without a transport protocol, MPLS (`push_mpls` and
 * the label rewrites), and truncating outputs
 * (`output(port=P,max_len=N)`). Their results are made visible in the frame where the action itself
 * leaves no trace (a register or tun_id moved into the Ethernet source).
 */
import { IpProtocol, PacketBuilder, formatIpv4, formatIpv6, formatMac, type Layer } from '@ovnts/packet';
import { Rng } from './corpus.js';

// ---------------------------------------------------------------------------------------------
// Value pools

/** MAC pool (unicast, a broadcast and a multicast). */
export const GEN_MACS: readonly number[] = [0x505400000001, 0x505400000002, 0x505400000003, 0x0a00000000aa, 0xffffffffffff, 0x01005e000001];
/** IPv4 pool. */
export const GEN_IP4: readonly number[] = [0x0a000001, 0x0a000002, 0x0a000107, 0xc0a80101, 0xac100504, 0xe0000005];
/** IPv6 pool. */
export const GEN_IP6: readonly bigint[] = [
  0x20010db8000000000000000000000001n, 0x20010db8000000000000000000000002n, 0x20010db8000100000000000000000007n,
  0xfe800000000000000000000000000001n, 0xfe800000000000000000000000020003n, 0xff0200000000000000000001ff000001n,
];
/** L4 port pool. */
export const GEN_PORTS: readonly number[] = [53, 80, 443, 1234, 5555, 8080, 0, 65535];
/** TTL pool (0, 1, 2 exercise dec_ttl expiry). */
export const GEN_TTLS: readonly number[] = [0, 1, 2, 3, 64, 255];
/** Unknown EtherTypes (not the marker's 0x88b5). */
export const GEN_ETHERTYPES: readonly number[] = [0x1234, 0x88b6, 0x9000, 0x0601, 0x88cc];
/** Register / metadata value pool. */
const REGVALS: readonly number[] = [0, 1, 2, 5, 0x10, 0xff, 0x1234];

/** Kinds of frames a plan describes. */
export type FrameKind =
  | 'tcp4' | 'udp4' | 'icmp4' | 'sctp4' | 'ip4proto' | 'frag4'
  | 'tcp6' | 'udp6' | 'icmp6' | 'ns' | 'na' | 'ip6proto'
  | 'arp' | 'unknown';

const IP4_KINDS: readonly FrameKind[] = ['tcp4', 'udp4', 'icmp4', 'sctp4', 'ip4proto', 'frag4'];
const IP6_KINDS: readonly FrameKind[] = ['tcp6', 'udp6', 'icmp6', 'ns', 'na', 'ip6proto'];

/** The header values of one frame. */
export interface FramePlan {
  kind: FrameKind;
  inPort: number;
  dlSrc: number;
  dlDst: number;
  /** One 802.1Q tag (or 802.1ad TPID), if any. */
  vlan?: { vid: number; pcp: number; dei: boolean; tpid: number };
  /** EtherType of an `unknown` frame. */
  ethType: number;
  ttl: number;
  dscp: number;
  ecn: number;
  nwSrc: number;
  nwDst: number;
  ip6Src: bigint;
  ip6Dst: bigint;
  label: number;
  /** IP protocol of `ip4proto`/`ip6proto` (0 or an unknown one) and of later fragments. */
  proto: number;
  /** `first`: MF set, offset 0, L4 present; `later`: offset > 0. */
  frag: 'no' | 'first';
  tpSrc: number;
  tpDst: number;
  tcpFlags: number;
  udpCsum: boolean;
  icmpType: number;
  icmpCode: number;
  arpOp: number;
  arpSha: number;
  arpTha: number;
  ndTarget: bigint;
  ndLl: number | undefined;
  payloadLen: number;
  /** Cut the built frame to this many bytes (at least 14). */
  cut?: number;
}

function pickKind(r: Rng): FrameKind {
  return r.weighted({
    tcp4: 5, udp4: 4, icmp4: 2, sctp4: 1, ip4proto: 1, frag4: 1,
    tcp6: 3, udp6: 2, icmp6: 1, ns: 1.5, na: 1, ip6proto: 0.5,
    arp: 3, unknown: 1,
  });
}

/** A random frame plan with values from the pools. */
export function randomPlan(r: Rng, ports: readonly number[]): FramePlan {
  const kind = pickKind(r);
  const p: FramePlan = {
    kind,
    inPort: r.pick(ports),
    dlSrc: r.pick(GEN_MACS.slice(0, 4)),
    dlDst: r.pick(GEN_MACS),
    ethType: r.pick(GEN_ETHERTYPES),
    ttl: r.pick(GEN_TTLS),
    dscp: r.pick([0, 0, 10, 46, 63]),
    ecn: r.int(0, 3),
    nwSrc: r.pick(GEN_IP4),
    nwDst: r.pick(GEN_IP4),
    ip6Src: r.pick(GEN_IP6),
    ip6Dst: r.pick(GEN_IP6),
    label: r.pick([0, 0x12345, 1, 0xfffff]),
    proto: kind === 'frag4' ? r.pick([6, 17, 1]) : r.pick([0, 200, 99]),
    frag: r.chance(0.08) ? 'first' : 'no',
    tpSrc: r.pick(GEN_PORTS),
    tpDst: r.pick(GEN_PORTS),
    tcpFlags: r.pick([0x02, 0x12, 0x10, 0x18, 0x01, 0x04, 0x11, 0x29]),
    udpCsum: r.chance(0.8),
    icmpType: r.pick([0, 8, 3, 11]),
    icmpCode: r.pick([0, 0, 1]),
    arpOp: r.pick([1, 2, 3]),
    arpSha: r.pick(GEN_MACS.slice(0, 4)),
    arpTha: r.chance(0.5) ? 0 : r.pick(GEN_MACS),
    ndTarget: r.pick(GEN_IP6),
    ndLl: r.chance(0.7) ? r.pick(GEN_MACS.slice(0, 4)) : undefined,
    payloadLen: r.pick([0, 4, 18, 30]),
  };
  if (kind === 'icmp6') p.icmpType = r.pick([128, 129, 1]);
  if (r.chance(0.3)) p.vlan = { vid: r.pick([0, 5, 7, 100, 4095]), pcp: r.int(0, 7), dei: r.chance(0.2), tpid: r.chance(0.85) ? 0x8100 : 0x88a8 };
  return p;
}

/** A copy of `p` with a few fields redrawn (a near miss or a different hit). */
export function mutatePlan(r: Rng, p: FramePlan, ports: readonly number[]): FramePlan {
  const q: FramePlan = { ...p, ...(p.vlan ? { vlan: { ...p.vlan } } : {}) };
  const other = randomPlan(r, ports);
  const keys = Object.keys(q) as (keyof FramePlan)[];
  for (let i = r.int(0, 2); i > 0; i--) {
    const k = r.pick(keys);
    if (k === 'kind') continue;
    (q as unknown as Record<string, unknown>)[k] = (other as unknown as Record<string, unknown>)[k];
  }
  if (r.chance(0.15)) q.vlan = q.vlan ? undefined : other.vlan ?? { vid: 5, pcp: 0, dei: false, tpid: 0x8100 };
  return q;
}

// ---------------------------------------------------------------------------------------------
// Frames

/** CRC32c (Castagnoli), for SCTP. */
function crc32c(b: Uint8Array, off: number, len: number): number {
  let c = 0xffffffff;
  for (let i = off; i < off + len; i++) {
    c ^= b[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function sctpLayer(src: number, dst: number): Layer {
  return {
    name: 'sctp',
    ipProtocol: IpProtocol.SCTP,
    headerLen: () => 12,
    emit: (buf, off) => {
      buf[off] = src >> 8;
      buf[off + 1] = src & 0xff;
      buf[off + 2] = dst >> 8;
      buf[off + 3] = dst & 0xff;
      buf.fill(0, off + 4, off + 12);
      buf[off + 4] = 0x11;
    },
    finish: (buf, off, len) => {
      buf.fill(0, off + 8, off + 12);
      const c = crc32c(buf, off, len);
      // SCTP stores the CRC32c little-endian.
      buf[off + 8] = c & 0xff;
      buf[off + 9] = (c >>> 8) & 0xff;
      buf[off + 10] = (c >>> 16) & 0xff;
      buf[off + 11] = c >>> 24;
    },
  };
}

function payload(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
}

/** Build the frame a plan describes (correct lengths and checksums; then cut if `cut`). */
export function buildFrame(p: FramePlan): Uint8Array {
  const b = new PacketBuilder();
  const unknown = p.kind === 'unknown';
  b.ethernet({ src: p.dlSrc, dst: p.dlDst, ...(unknown && !p.vlan ? { etherType: p.ethType } : {}) });
  if (p.vlan) b.vlan({ vid: p.vlan.vid, pcp: p.vlan.pcp, dei: p.vlan.dei, tpid: p.vlan.tpid, ...(unknown ? { etherType: p.ethType } : {}) });
  const ip4 = (proto?: number, frag?: { mf: boolean; off: number }): void => {
    b.ipv4({
      src: p.nwSrc, dst: p.nwDst, ttl: p.ttl, dscp: p.dscp, ecn: p.ecn, ident: 0x1234,
      ...(proto !== undefined ? { protocol: proto } : {}),
      ...(frag ? { moreFragments: frag.mf, fragmentOffset: frag.off, dontFragment: false } : p.frag === 'first' ? { moreFragments: true } : {}),
    });
  };
  const ip6 = (next?: number): void => {
    b.ipv6({ src: p.ip6Src, dst: p.ip6Dst, hopLimit: p.ttl, trafficClass: (p.dscp << 2) | p.ecn, flowLabel: p.label, ...(next !== undefined ? { nextHeader: next } : {}) });
  };
  switch (p.kind) {
    case 'tcp4':
    case 'tcp6':
      if (p.kind === 'tcp4') ip4();
      else ip6();
      b.tcp({ srcPort: p.tpSrc, dstPort: p.tpDst, flags: p.tcpFlags, seq: 0x01020304, ack: 0x0a0b0c0d, window: 512 }).payload(payload(p.payloadLen));
      break;
    case 'udp4':
    case 'udp6':
      if (p.kind === 'udp4') ip4();
      else ip6();
      b.udp({ srcPort: p.tpSrc, dstPort: p.tpDst, checksum: p.kind === 'udp6' || p.udpCsum }).payload(payload(p.payloadLen));
      break;
    case 'icmp4':
      ip4();
      b.icmpv4({ type: p.icmpType, code: p.icmpCode, id: 7, seq: 9 }).payload(payload(p.payloadLen));
      break;
    case 'sctp4':
      ip4();
      b.push(sctpLayer(p.tpSrc, p.tpDst)).payload(payload(p.payloadLen));
      break;
    case 'ip4proto':
      ip4(p.proto);
      b.payload(payload(p.payloadLen + 8));
      break;
    case 'frag4':
      ip4(p.proto, { mf: p.payloadLen % 2 === 0, off: 185 });
      b.payload(payload(p.payloadLen + 8));
      break;
    case 'icmp6':
      ip6();
      if (p.icmpType >= 128) b.icmpv6({ kind: 'echo', type: p.icmpType, code: p.icmpCode, identifier: 7, sequence: 9, data: payload(p.payloadLen) });
      else b.icmpv6({ kind: 'error', type: p.icmpType, code: p.icmpCode, param: 0, invoking: payload(p.payloadLen + 8) });
      break;
    case 'ns':
      ip6();
      b.icmpv6({ kind: 'neighborSolicitation', code: p.icmpCode === 1 ? 1 : 0, target: p.ndTarget, options: p.ndLl !== undefined ? [{ kind: 'sourceLinkLayerAddress', mac: p.ndLl }] : [] });
      break;
    case 'na':
      ip6();
      b.icmpv6({
        kind: 'neighborAdvertisement', code: 0, router: false, solicited: true, override: true, target: p.ndTarget,
        options: p.ndLl !== undefined ? [{ kind: 'targetLinkLayerAddress', mac: p.ndLl }] : [],
      });
      break;
    case 'ip6proto':
      ip6(p.proto === 0 ? 59 : p.proto);
      b.payload(payload(p.payloadLen + 8));
      break;
    case 'arp':
      b.arp({ op: p.arpOp, sha: p.arpSha, spa: p.nwSrc, tha: p.arpTha, tpa: p.nwDst });
      break;
    case 'unknown':
      b.payload(payload(p.payloadLen + 10));
      break;
  }
  const f = b.build();
  if (p.cut !== undefined && p.cut < f.length) return f.slice(0, Math.max(14, p.cut));
  return f;
}

// ---------------------------------------------------------------------------------------------
// Flows

/** One generated flow, kept in pieces for minimisation. */
export interface GenFlow {
  table: number;
  /** Undefined: the default (32768). */
  priority?: number;
  /** Match pieces (`tcp`, `nw_src=10.0.0.0/24`, ...). */
  match: string[];
  /** apply_actions. */
  actions: string[];
  clear: boolean;
  /** write_actions(...) content, if present. */
  write?: string[];
  /** `write_metadata:V/M`. */
  writeMetadata?: string;
  /** `goto_table:N`. */
  goto?: number;
  /** Why the generator expects Open vSwitch to refuse this flow, if it does. */
  bad?: string;
  /** The plan the match was drawn from (a frame that should hit). */
  plan: FramePlan;
}

/** One generated group. */
export interface GenGroup {
  id: number;
  type: 'all' | 'indirect' | 'ff' | 'select';
  /** Select groups: the selection properties as ovs-ofctl takes them (`selection_method=hash,fields(ip_src)`). */
  props?: string;
  buckets: { watchPort?: number; weight?: number; actions: string[] }[];
  /** Why OVS should refuse it, if so. */
  bad?: string;
}

/** A generated case: groups, flows, and the ports of the switch. */
export interface GenTable {
  seed: number;
  /** Drawn with `FlowGenOptions.known` (frames for it may include the known-difference constructs too). */
  known: boolean;
  ports: number[];
  groups: GenGroup[];
  flows: GenFlow[];
}

/** Options of `randomFlowTable`. */
export interface FlowGenOptions {
  /** Switch ports (default 1..4). */
  ports?: number[];
  /** Probability that a table carries flows OVS should refuse (default 0.3). */
  badFlow?: number;
  /** Base group id (groups are numbered from here; default 1). */
  groupBase?: number;
  /**
   * Also draw constructs where `@ovnts/openflow` is known to differ from OVS 3.1
   * (packages/openflow/test/differential/KNOWN.md). None is open now: K1 (`mod_tp_*` without a
   * protocol in `write_actions`), K8 (first fragments) and K9 (a VLAN set_field after the action
   * set's pop_vlan) are fixed and drawn always. Default false.
   */
  known?: boolean;
  /**
   * Draw the actions added for ovn-controller (`extraActions`: clone, the stack, check_pkt_larger,
   * exit, set_tunnel, queues, multipath, bundle, sample, fin_timeout, truncating outputs). Default
   * true.
   */
  extraActions?: boolean;
  /** Also draw select groups (see `selectGroup`). Default false (the stream of other draws stays the same). */
  selectGroups?: boolean;
}

/** The ovs-ofctl add-flow text of a flow. */
export function flowText(f: GenFlow): string {
  const head = [`table=${f.table}`];
  if (f.priority !== undefined) head.push(`priority=${f.priority}`);
  head.push(...f.match);
  const ins: string[] = [...f.actions];
  if (f.clear) ins.push('clear_actions');
  if (f.write) ins.push(`write_actions(${f.write.join(',')})`);
  if (f.writeMetadata) ins.push(`write_metadata:${f.writeMetadata}`);
  if (f.goto !== undefined) ins.push(`goto_table:${f.goto}`);
  return `${head.join(',')},actions=${ins.length ? ins.join(',') : 'drop'}`;
}

/** The ovs-ofctl add-group text of a group. */
export function groupText(g: GenGroup): string {
  const bs = g.buckets.map((b) => `bucket=${b.weight !== undefined ? `weight:${b.weight},` : ''}${b.watchPort !== undefined ? `watch_port:${b.watchPort},` : ''}actions=${b.actions.length ? b.actions.join(',') : 'drop'}`);
  return `group_id=${g.id},type=${g.type}${g.props ? `,${g.props}` : ''}${bs.length ? ',' + bs.join(',') : ''}`;
}

/** Fields a `selection_method=hash` group hashes (some masked). */
const SELECT_FIELDS = ['eth_src', 'eth_dst', 'ip_src', 'ip_dst=255.255.0.0', 'ipv6_src', 'ipv6_dst', 'tcp_src', 'tcp_dst', 'udp_src', 'udp_dst', 'nw_proto', 'eth_type', 'vlan_tci', 'in_port', 'reg0', 'ip_dscp'];

/**
 * A select group (`selectGroups`): no `selection_method` (OVS picks dp_hash when the weights fit
 * 256 hash values, else its default hash), `selection_method=dp_hash` with a parameter (L4 or
 * symmetric L3/L4 hash, a basis), or `selection_method=hash` with fields (or none: the default);
 * weights now and then, some lopsided enough (1 and 300) for the default method, some 0 (never
 * live); watch ports now and then.
 */
function selectGroup(r: Rng, id: number, ports: readonly number[], bucketActions: () => string[]): GenGroup {
  const g: GenGroup = { id, type: 'select', buckets: [] };
  const m = r.weighted({ none: 5, dp_hash: 2, hash: 2.5, hashNoFields: 0.5 });
  if (m === 'dp_hash') g.props = `selection_method=dp_hash${r.chance(0.7) ? `,selection_method_param=${r.pick(['0', '7', '0x100000000', '0x100000005', '0x200000000'])}` : ''}`;
  else if (m === 'hash') {
    const fs = new Set<string>();
    for (let i = r.int(1, 3); i > 0; i--) fs.add(r.pick(SELECT_FIELDS));
    g.props = `selection_method=hash${r.chance(0.4) ? `,selection_method_param=${r.int(0, 99)}` : ''},fields(${[...fs].join(',')})`;
  } else if (m === 'hashNoFields') g.props = 'selection_method=hash';
  const weights = r.weighted({ none: 4, small: 3, lopsided: 1, zero: 1 });
  const nb = r.int(1, 4);
  for (let k = 0; k < nb; k++) {
    const b: GenGroup['buckets'][number] = { actions: bucketActions() };
    if (weights === 'small') b.weight = r.int(1, 9);
    else if (weights === 'lopsided') b.weight = k === 0 ? 1 : r.pick([300, 100, 1000]);
    else if (weights === 'zero') b.weight = r.pick([0, 1, 2]);
    if (r.chance(0.15)) b.watchPort = r.pick([...ports, 7]);
    g.buckets.push(b);
  }
  return g;
}

const hex = (v: number | bigint): string => '0x' + v.toString(16);
const mac = (m: number): string => formatMac(m);
const MAC_MASKS = [0xffffffffffff, 0xffffff000000, 0x010000000000, 0xfeffffffffff, 0x0000000000ff];
const IP4_MASKS = [0xffffffff, 0xffffff00, 0xffff0000, 0xff000000, 0x80000000, 0xffff00ff, 0x000000ff];

function maskedMac(r: Rng, v: number): string {
  if (r.chance(0.6)) return mac(v);
  const m = r.pick(MAC_MASKS);
  return `${mac(v)}/${mac(m)}`;
}

function maskedIp4(r: Rng, v: number): string {
  if (r.chance(0.5)) return formatIpv4(v);
  if (r.chance(0.6)) return `${formatIpv4(v)}/${r.pick([8, 16, 24, 31, 1])}`;
  return `${formatIpv4(v)}/${formatIpv4(r.pick(IP4_MASKS))}`;
}

function maskedIp6(r: Rng, v: bigint): string {
  if (r.chance(0.5)) return formatIpv6(v);
  if (r.chance(0.7)) return `${formatIpv6(v)}/${r.pick([64, 16, 120, 127])}`;
  return `${formatIpv6(v)}/${formatIpv6((0xffffn << 112n) | 0xffn)}`;
}

function maskedPort(r: Rng, v: number): string {
  if (r.chance(0.6)) return String(v);
  const m = r.pick([0xfff0, 0xff00, 0x8000, 0x00ff, 0xffff]);
  return `${hex(v & m)}/${hex(m)}`;
}

/** What a flow's match guarantees about the packet (for action prerequisites). */
interface Ctx {
  /** 'ip4' | 'ip6' | 'arp' | 'other' (an unknown dl_type) | undefined (no dl_type). */
  l3?: 'ip4' | 'ip6' | 'arp' | 'other';
  /** ip_proto, or undefined. */
  proto?: number;
  /** ICMPv6 type 135/136 with code 0 matched (ND fields usable). */
  nd?: 135 | 136;
  /** VLAN present known (true), absent known (false), or unknown. */
  vlan?: boolean;
  /** nw_frag=later matched. */
  later?: boolean;
}

function l3Of(kind: FrameKind): 'ip4' | 'ip6' | 'arp' | 'other' {
  if (IP4_KINDS.includes(kind)) return 'ip4';
  if (IP6_KINDS.includes(kind)) return 'ip6';
  return kind === 'arp' ? 'arp' : 'other';
}

function protoOf(kind: FrameKind, p: FramePlan): number | undefined {
  switch (kind) {
    case 'tcp4': case 'tcp6': return 6;
    case 'udp4': case 'udp6': return 17;
    case 'sctp4': return 132;
    case 'icmp4': return 1;
    case 'icmp6': case 'ns': case 'na': return 58;
    case 'ip4proto': case 'frag4': return p.proto;
    case 'ip6proto': return p.proto === 0 ? 59 : p.proto;
    default: return undefined;
  }
}

/** A random match drawn from a plan; returns the pieces and what they guarantee. */
function randomMatch(r: Rng, p: FramePlan, opts: { regs: boolean }): { match: string[]; ctx: Ctx } {
  const m: string[] = [];
  const ctx: Ctx = {};
  // Sometimes a value from the pool instead of the plan's (the flow then misses that frame).
  const v = <T>(planned: T, pool: readonly T[]): T => (r.chance(0.15) ? r.pick(pool) : planned);
  const l3 = l3Of(p.kind);
  const proto = protoOf(p.kind, p);
  const protoLevel = r.weighted({ none: 2, l3: 3, l4: 5 });
  if (protoLevel !== 'none') {
    if (l3 === 'other') {
      m.push(`dl_type=${hex(p.ethType)}`);
      ctx.l3 = 'other';
    } else if (l3 === 'arp') {
      m.push(r.chance(0.8) ? 'arp' : 'dl_type=0x0806');
      ctx.l3 = 'arp';
    } else {
      ctx.l3 = l3;
      const kw: Record<number, [string, string]> = { 6: ['tcp', 'tcp6'], 17: ['udp', 'udp6'], 132: ['sctp', 'sctp6'], 1: ['icmp', 'icmp'], 58: ['icmp6', 'icmp6'] };
      const k = proto !== undefined ? kw[proto] : undefined;
      if (protoLevel === 'l4' && k && (l3 === 'ip4' || proto !== 1)) {
        m.push(l3 === 'ip4' ? k[0] : k[1]);
        ctx.proto = proto;
      } else if (protoLevel === 'l4' && proto !== undefined) {
        m.push(l3 === 'ip4' ? 'ip' : 'ipv6', `nw_proto=${proto}`);
        ctx.proto = proto;
      } else m.push(l3 === 'ip4' ? (r.chance(0.8) ? 'ip' : 'dl_type=0x0800') : r.chance(0.8) ? 'ipv6' : 'dl_type=0x86dd');
    }
  }
  const n = r.int(0, 4);
  const cands: (() => void)[] = [
    () => m.push(`in_port=${v(p.inPort, [1, 2, 3, 4])}`),
    () => m.push(`dl_src=${maskedMac(r, v(p.dlSrc, GEN_MACS))}`),
    () => m.push(`dl_dst=${maskedMac(r, v(p.dlDst, GEN_MACS))}`),
    () => {
      const k = r.int(0, 5);
      const vl = p.vlan;
      if (k === 0 || (!vl && k < 4)) {
        m.push(r.chance(0.5) ? 'vlan_tci=0x0000/0x1000' : 'vlan_tci=0');
        ctx.vlan = false;
      } else if (k === 1 && vl) {
        m.push(`dl_vlan=${v(vl.vid, [5, 7, 100])}`);
        ctx.vlan = true;
      } else if (k === 2 && vl) {
        const mk = r.pick([0x1fff, 0xf000, 0x1000, 0xefff]);
        m.push(`vlan_tci=${hex(0x1000 | (vl.pcp << 13) | vl.vid)}/${hex(mk)}`);
        // Without the CFI bit in the mask the match says nothing about a VLAN being there.
        if (mk & 0x1000) ctx.vlan = true;
      } else if (k === 3 && vl) {
        m.push(`dl_vlan_pcp=${vl.pcp}`);
        ctx.vlan = true;
      } else if (k === 4) {
        m.push('vlan_tci=0x1000/0x1000');
        ctx.vlan = true;
      } else {
        m.push(`vlan_vid=${hex(0x1000 | (vl?.vid ?? 5))}`);
        ctx.vlan = true;
        if (r.chance(0.4)) m.push(`vlan_pcp=${vl?.pcp ?? 0}`);
      }
    },
  ];
  if (opts.regs) {
    cands.push(
      () => m.push(`metadata=${hex(r.pick(REGVALS))}${r.chance(0.5) ? '/' + hex(r.pick([0xff, 0xf, 0xffff])) : ''}`),
      () => m.push(`reg${r.int(0, 3)}=${hex(r.pick(REGVALS))}${r.chance(0.5) ? '/' + hex(r.pick([0xff, 0xf, 0x1])) : ''}`),
    );
  }
  if (ctx.l3 === 'ip4' || ctx.l3 === 'ip6') {
    cands.push(
      () => m.push(`nw_ttl=${v(p.ttl, GEN_TTLS)}`),
      () => m.push(`ip_dscp=${v(p.dscp, [0, 10, 46])}`),
      () => m.push(`nw_ecn=${v(p.ecn, [0, 1, 2, 3])}`),
      () => m.push(`nw_frag=${r.pick(['no', 'yes', 'first', 'not_later', p.kind === 'frag4' ? 'later' : 'no'])}`),
    );
  }
  if (ctx.l3 === 'ip4') {
    cands.push(() => m.push(`nw_src=${maskedIp4(r, v(p.nwSrc, GEN_IP4))}`), () => m.push(`nw_dst=${maskedIp4(r, v(p.nwDst, GEN_IP4))}`));
  }
  if (ctx.l3 === 'ip6') {
    cands.push(
      () => m.push(`ipv6_src=${maskedIp6(r, v(p.ip6Src, GEN_IP6))}`),
      () => m.push(`ipv6_dst=${maskedIp6(r, v(p.ip6Dst, GEN_IP6))}`),
      () => m.push(`ipv6_label=${hex(p.label)}${r.chance(0.3) ? '/0xff' : ''}`),
    );
  }
  if (ctx.l3 === 'arp') {
    cands.push(
      () => m.push(`arp_op=${v(p.arpOp, [1, 2])}`),
      () => m.push(`arp_spa=${maskedIp4(r, v(p.nwSrc, GEN_IP4))}`),
      () => m.push(`arp_tpa=${maskedIp4(r, v(p.nwDst, GEN_IP4))}`),
      () => m.push(`arp_sha=${maskedMac(r, v(p.arpSha, GEN_MACS))}`),
      () => m.push(`arp_tha=${maskedMac(r, v(p.arpTha, GEN_MACS))}`),
    );
  }
  if (ctx.proto === 6 || ctx.proto === 17 || ctx.proto === 132) {
    const pre = ctx.proto === 6 ? 'tcp' : ctx.proto === 17 ? 'udp' : 'sctp';
    cands.push(
      () => m.push(`${r.chance(0.5) ? 'tp' : pre}_src=${maskedPort(r, v(p.tpSrc, GEN_PORTS))}`),
      () => m.push(`${r.chance(0.5) ? 'tp' : pre}_dst=${maskedPort(r, v(p.tpDst, GEN_PORTS))}`),
    );
    if (ctx.proto === 6) cands.push(() => m.push(`tcp_flags=${r.pick(['+syn', '+syn-ack', '+ack', '-rst', '+fin+ack', '0x012/0x0ff'])}`));
  }
  if (ctx.proto === 1) cands.push(() => m.push(`icmp_type=${v(p.icmpType, [0, 8, 3])}`), () => m.push(`icmp_code=${v(p.icmpCode, [0, 1])}`));
  if (ctx.proto === 58) {
    const nd = p.kind === 'ns' ? 135 : p.kind === 'na' ? 136 : undefined;
    cands.push(() => {
      const t = nd ?? v(p.icmpType, [128, 129, 135, 136]);
      m.push(`icmp_type=${t}`, 'icmp_code=0');
      if (t === 135 || t === 136) {
        ctx.nd = t;
        if (r.chance(0.5)) m.push(`nd_target=${v(formatIpv6(p.ndTarget), GEN_IP6.map(formatIpv6))}`);
        if (r.chance(0.4)) m.push(`nd_${t === 135 ? 'sll' : 'tll'}=${mac(p.ndLl ?? 0)}`);
      }
    });
  }
  for (let i = 0; i < n && cands.length; i++) {
    const k = r.int(0, cands.length - 1);
    cands[k]!();
    cands.splice(k, 1);
  }
  // A field without its prerequisite (OVS drops it silently; so do we).
  // Only where it cannot land in a slot the match uses (`udp,arp_op=1` is `icmp` in OVS, and so for us).
  if (r.chance(0.04)) {
    const extra: string[] = [];
    if (ctx.proto === undefined) extra.push('tp_dst=80', 'icmp_type=8');
    if (ctx.l3 !== 'ip4' && ctx.l3 !== 'arp') extra.push('nw_src=10.0.0.1');
    if (ctx.l3 === undefined || ctx.l3 === 'other') extra.push('arp_op=1');
    if (ctx.l3 !== 'ip6') extra.push('ipv6_dst=::1');
    if (extra.length) m.push(r.pick(extra));
  }
  return { match: m, ctx };
}

/** `FlowGenOptions.known` of the table being drawn (set by `randomFlowTable` and `framesForTable`). */
let drawKnown = false;

/** `set_field:V/M->F` on a register; sometimes V has bits outside M (the switch refuses that: OFPBMC_BAD_WILDCARDS). */
function maskedSet(r: Rng, f: string): string {
  const m = r.pick([0xf, 0xff00, 0x1]);
  const v = r.pick(REGVALS);
  return `set_field:${hex(r.chance(0.1) ? v : v & m)}/${hex(m)}->${f}`;
}

/** Fields that may be set with their value text, given the context. */
function setFieldChoices(r: Rng, ctx: Ctx): string[] {
  const out = [
    `set_field:${mac(r.pick(GEN_MACS))}->eth_src`,
    `set_field:${mac(r.pick(GEN_MACS))}->eth_dst`,
    `mod_dl_src:${mac(r.pick(GEN_MACS))}`,
    `mod_dl_dst:${mac(r.pick(GEN_MACS))}`,
    `set_field:${hex(r.pick(REGVALS))}->reg${r.int(0, 3)}`,
    maskedSet(r, `reg${r.int(0, 3)}`),
    `load:${hex(r.int(0, 15))}->NXM_NX_REG${r.int(0, 3)}[${r.pick(['0..3', '4..7', '28..31'])}]`,
    `set_field:${hex(r.pick(REGVALS))}->metadata`,
    `move:NXM_NX_REG${r.int(0, 3)}[]->NXM_NX_REG${r.int(0, 3)}[]`,
    `move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]`,
    `move:NXM_OF_ETH_DST[0..15]->NXM_NX_REG${r.int(0, 3)}[0..15]`,
    `move:NXM_NX_REG${r.int(0, 3)}[0..15]->NXM_OF_ETH_SRC[0..15]`,
    `move:NXM_OF_IN_PORT[]->NXM_NX_REG${r.int(0, 3)}[0..15]`,
    `set_field:${hex(r.pick(REGVALS))}->pkt_mark`,
  ];
  if (r.chance(0.15)) out.push(`set_field:${r.int(1, 4)}->in_port`, `load:${r.int(1, 4)}->NXM_OF_IN_PORT[]`);
  if (ctx.vlan === true) {
    out.push(`set_field:${0x1000 | r.pick([5, 7, 100, 0])}->vlan_vid`, `set_field:${r.int(0, 7)}->vlan_pcp`, `mod_vlan_vid:${r.pick([8, 5, 4095])}`, `mod_vlan_pcp:${r.int(0, 7)}`);
  }
  if (ctx.l3 === 'ip4' || ctx.l3 === 'ip6') {
    out.push('dec_ttl', 'dec_ttl', 'dec_ttl', 'dec_ttl', `mod_nw_ttl:${r.pick([0, 1, 2, 64])}`, `set_field:${r.pick([1, 2, 9])}->nw_ttl`, `mod_nw_tos:${r.pick([0, 32, 184, 252])}`, `mod_nw_ecn:${r.int(0, 3)}`, `set_field:${r.int(0, 63)}->ip_dscp`);
  }
  if (ctx.l3 === 'ip4') {
    out.push(
      `mod_nw_src:${formatIpv4(r.pick(GEN_IP4))}`, `mod_nw_dst:${formatIpv4(r.pick(GEN_IP4))}`,
      `set_field:${formatIpv4(r.pick(GEN_IP4))}->ip_src`, `set_field:${formatIpv4(r.pick(GEN_IP4))}->nw_dst`,
      'move:NXM_OF_IP_SRC[]->NXM_OF_IP_DST[]', `move:NXM_OF_IP_DST[]->NXM_NX_REG${r.int(0, 3)}[]`,
      `move:NXM_NX_REG${r.int(0, 3)}[]->NXM_OF_IP_SRC[]`, `load:${r.int(0, 255)}->NXM_OF_IP_DST[0..7]`,
    );
  }
  if (ctx.l3 === 'ip6') {
    out.push(
      `set_field:${formatIpv6(r.pick(GEN_IP6))}->ipv6_src`, `set_field:${formatIpv6(r.pick(GEN_IP6))}->ipv6_dst`,
      `set_field:${hex(r.pick([0, 1, 0x54321]))}->ipv6_label`, `load:${r.int(0, 0xffff)}->NXM_NX_IPV6_DST[0..15]`,
      'move:NXM_NX_IPV6_SRC[]->NXM_NX_IPV6_DST[]',
    );
  }
  if (ctx.l3 === 'arp') {
    out.push(
      `set_field:${r.int(1, 2)}->arp_op`, `set_field:${formatIpv4(r.pick(GEN_IP4))}->arp_spa`, `set_field:${formatIpv4(r.pick(GEN_IP4))}->arp_tpa`,
      `set_field:${mac(r.pick(GEN_MACS))}->arp_sha`, `set_field:${mac(r.pick(GEN_MACS))}->arp_tha`,
      'move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[]', 'move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[]', 'move:NXM_OF_ETH_SRC[]->NXM_NX_ARP_SHA[]',
    );
  }
  if (ctx.proto === 6 || ctx.proto === 17 || ctx.proto === 132) {
    const pre = ctx.proto === 6 ? 'tcp' : ctx.proto === 17 ? 'udp' : 'sctp';
    out.push(`mod_tp_src:${r.pick(GEN_PORTS)}`, `mod_tp_dst:${r.pick(GEN_PORTS)}`, `set_field:${r.pick(GEN_PORTS)}->${pre}_src`, `set_field:${r.pick(GEN_PORTS)}->${pre}_dst`);
    if (pre !== 'sctp') out.push(`move:NXM_OF_${pre.toUpperCase()}_SRC[]->NXM_OF_${pre.toUpperCase()}_DST[]`, `move:NXM_NX_REG0[0..15]->NXM_OF_${pre.toUpperCase()}_SRC[]`);
  }
  if (ctx.proto === 1 && ctx.l3 === 'ip4') out.push(`set_field:${r.pick([0, 3, 8])}->icmp_type`, `set_field:${r.int(0, 3)}->icmp_code`);
  if (ctx.proto === 58 && ctx.l3 === 'ip6') {
    out.push(`set_field:${r.pick([128, 129, 1])}->icmpv6_type`, `set_field:${r.int(0, 3)}->icmpv6_code`);
    if (ctx.nd) out.push(`set_field:${formatIpv6(r.pick(GEN_IP6))}->nd_target`, `set_field:${mac(r.pick(GEN_MACS))}->nd_${ctx.nd === 135 ? 'sll' : 'tll'}`);
  }
  return out;
}

const EXPOSE_REG0 = 'move:NXM_NX_REG0[0..15]->NXM_OF_ETH_SRC[0..15]';

/**
 * One or a few of the actions ovn-controller and other controllers emit beyond the basics (see the
 * module comment), with what makes their effect visible in the output.
 */
function extraActions(r: Rng, ctx: Ctx, ports: readonly number[], vlan: boolean | undefined): string[] {
  const port = (): number => r.pick([...ports, 7]);
  const inner = (): string[] => {
    const a: string[] = [];
    for (let i = r.int(0, 2); i > 0; i--) a.push(r.pick(setFieldChoices(r, { ...ctx, vlan })));
    if (r.chance(0.7)) a.push(r.chance(0.2) ? `output(port=${port()},max_len=${r.pick([14, 30, 60])})` : `output:${port()}`);
    if (r.chance(0.1)) a.push('exit');
    return a;
  };
  const k = r.weighted({ clone: 3, stack: 2, pktlen: 2, exit: 0.5, tunnel: 1, queue: 1, multipath: 1.5, bundle: 1.5, sample: 0.5, fin: ctx.proto === 6 ? 1 : 0, trunc: 1.5, mpls: 2 });
  switch (k) {
    case 'mpls': {
      // A label stack pushed, rewritten and output; the list ends there. No pop back: a pop that
      // makes the actions after it recirculate can crash OVS 3.1 when an action set is frozen with
      // them (ofproto-dpif-rid.c:235 `action_set_len <= ofpacts_len` in recirc_alloc_id__, seen
      // with seed 1 of the random suite); pops are compared in test/mpls-ovs.test.ts.
      const out = [`push_mpls:${r.pick(['0x8847', '0x8848'])}`];
      if (r.chance(0.3)) out.push(`push_mpls:0x8847`);
      for (let i = r.int(0, 2); i > 0; i--) {
        out.push(r.pick([`set_mpls_label(${r.pick([0, 16, 1000, 0xfffff])})`, `set_mpls_tc(${r.int(0, 7)})`, `set_mpls_ttl(${r.pick([0, 1, 2, 64])})`,
          'dec_mpls_ttl', `set_field:${r.pick([3, 99])}->mpls_label`, 'move:OXM_OF_MPLS_LABEL[0..15]->NXM_OF_ETH_SRC[0..15]', `load:${r.int(0, 255)}->NXM_NX_MPLS_TTL[]`]));
      }
      out.push(`output:${port()}`, 'exit');
      return out;
    }
    case 'clone':
      return [`clone(${inner().join(',')})`];
    case 'stack': {
      const a = r.pick([`NXM_NX_REG${r.int(0, 3)}[]`, 'NXM_OF_ETH_SRC[]', `NXM_NX_REG${r.int(0, 3)}[0..7]`, 'NXM_OF_ETH_DST[0..15]']);
      const b = r.pick(['NXM_NX_REG0[0..15]', 'NXM_NX_REG0[]', 'NXM_OF_ETH_DST[]', 'NXM_OF_ETH_SRC[8..23]']);
      const out = [`push:${a}`];
      if (r.chance(0.3)) out.push(`push:${r.pick(['NXM_OF_IN_PORT[]', 'NXM_NX_REG1[]'])}`);
      for (let i = r.int(1, 3); i > 0; i--) out.push(`pop:${b}`);
      out.push(EXPOSE_REG0);
      return out;
    }
    case 'pktlen':
      return [`check_pkt_larger(${r.pick([40, 60, 64, 80, 100, 1500])})->NXM_NX_REG0[${r.int(0, 3)}]`, EXPOSE_REG0];
    case 'exit':
      return ['exit'];
    case 'tunnel':
      return [`${r.pick(['set_tunnel', 'set_tunnel64'])}:${hex(r.pick([5, 0x1234, 0xffff]))}`, 'move:NXM_NX_TUN_ID[0..15]->NXM_OF_ETH_SRC[0..15]'];
    case 'queue':
      return r.chance(0.5) ? [`enqueue:${r.pick([...ports, 'IN_PORT', 'LOCAL'])}:${r.int(0, 7)}`] : [`set_queue:${r.int(0, 7)}`, `output:${port()}`, 'pop_queue'];
    case 'multipath': {
      const n = r.pick([1, 2, 4, 12, 16]);
      const alg = r.pick(['modulo_n', 'hash_threshold', 'hrw', 'iter_hash']);
      return [`multipath(${r.pick(HASH_FIELDS)},${r.int(0, 100)},${alg},${n},${r.pick([0, 16, 20])},NXM_NX_REG0[0..${n > 8 ? 4 : 3}])`, EXPOSE_REG0];
    }
    case 'bundle': {
      const members = Array.from({ length: r.int(1, 4) }, () => r.pick([...ports, 7, 9]));
      const alg = r.pick(['hrw', 'active_backup']);
      if (r.chance(0.5)) return [`bundle(${r.pick(HASH_FIELDS)},${r.int(0, 50)},${alg},ofport,members:${members.join(',')})`];
      return [`bundle_load(${r.pick(HASH_FIELDS)},${r.int(0, 50)},${alg},ofport,NXM_NX_REG0[0..15],${r.chance(0.2) ? 'slaves' : 'members'}:${members.join(',')})`, EXPOSE_REG0];
    }
    case 'sample':
      return [`sample(probability=${r.pick([1, 100, 65535])},collector_set_id=${r.int(0, 3)},obs_domain_id=${r.int(0, 3)},obs_point_id=${r.int(0, 3)})`];
    case 'fin':
      return [r.pick(['fin_timeout(idle_timeout=5)', 'fin_timeout(hard_timeout=10)', 'fin_timeout(idle_timeout=3,hard_timeout=7)'])];
    default:
      return [`output(port=${r.pick([...ports, 'LOCAL', 'IN_PORT'])},max_len=${r.pick([14, 20, 40, 60, 100, 65535])})`];
  }
}

const HASH_FIELDS = ['eth_src', 'symmetric_l4', 'symmetric_l3l4', 'symmetric_l3l4+udp', 'nw_src', 'nw_dst', 'symmetric_l3'] as const;

/** Actions OVS refuses in this context (with the intent's name). */
function badAction(r: Rng, ctx: Ctx): [string, string] | undefined {
  const c: [string, string][] = [];
  if (ctx.l3 !== 'ip4') c.push(['mod_nw_src:1.2.3.4', 'mod_nw_src without ip'], ['set_field:1.2.3.4->ip_dst', 'set_field ip_dst without ip'], ['move:NXM_OF_IP_SRC[]->NXM_NX_REG0[]', 'move from ip_src without ip']);
  if (ctx.l3 !== 'ip4' && ctx.l3 !== 'ip6') c.push(['dec_ttl', 'dec_ttl without ip'], ['mod_nw_ttl:5', 'mod_nw_ttl without ip'], ['mod_nw_tos:4', 'mod_nw_tos without ip']);
  if (ctx.proto === undefined) c.push(['mod_tp_dst:80', 'mod_tp_dst without L4'], ['set_field:80->tcp_dst', 'set_field tcp_dst without tcp'], ['set_field:80->udp_src', 'set_field udp_src without udp']);
  if (ctx.vlan !== true) c.push(['pop_vlan', 'pop_vlan without VLAN'], ['strip_vlan', 'strip_vlan without VLAN'], ['set_field:4101->vlan_vid', 'set_field vlan_vid without VLAN'], ['set_field:3->vlan_pcp', 'set_field vlan_pcp without VLAN']);
  if (ctx.l3 !== 'arp') c.push(['set_field:2->arp_op', 'set_field arp_op without arp']);
  if (ctx.l3 !== 'ip6') c.push(['set_field:::1->ipv6_src', 'set_field ipv6_src without ipv6']);
  c.push(['set_field:9->ip_dscp', 'set_field ip_dscp without ip']);
  c.push(['output:65280', 'output to a reserved port number'], ['output:NONE', 'output to NONE'], ['output(port=2)', 'output(port=N) without max_len'], ['set_field:0x12/0x3->reg0', 'set_field value outside its mask']);
  c.push(
    ['drop', '"drop" with other actions'], ['pop:NXM_OF_ETH_TYPE[]', 'pop into a read-only field'], ['enqueue:NORMAL:3', 'enqueue to a reserved port'],
    ['check_pkt_larger(60)->NXM_NX_REG0[0..1]', 'check_pkt_larger into two bits'], ['bundle(eth_src,0,hrw,ofport,members:1,CONTROLLER)', 'bundle member CONTROLLER'],
    ['multipath(eth_src,0,modulo_n,32,0,NXM_NX_REG0[0..3])', 'multipath with more links than the field holds'], ['sample(collector_set_id=1)', 'sample without probability'],
  );
  if (ctx.proto !== 6) c.push(['fin_timeout(idle_timeout=5)', 'fin_timeout without tcp']);
  c.push(['pop_mpls:0x0800', 'pop_mpls without mpls'], ['set_mpls_ttl(5)', 'set_mpls_ttl without mpls'], ['dec_mpls_ttl', 'dec_mpls_ttl without mpls'],
    ['set_mpls_label(5)', 'set_mpls_label without mpls'], ['push_mpls:0x0800', 'push_mpls of a non-MPLS EtherType'], ['set_field:1->mpls_bos', 'set_field of the read-only mpls_bos']);
  if (ctx.l3 !== 'ip4') c.push(['push:NXM_OF_IP_SRC[]', 'push of ip_src without ip'], ['clone(mod_nw_dst:1.2.3.4,output:1)', 'clone with a set_field lacking its prerequisite']);
  if (ctx.vlan === true) c.push(['set_field:5000->vlan_vid', 'vlan_vid value out of range'], ['set_field:9->vlan_pcp', 'vlan_pcp value out of range']);
  return c.length ? r.pick(c) : undefined;
}

/** Draw a random table set (see the module comment). */
export function randomFlowTable(seed: number, opts: FlowGenOptions = {}): GenTable {
  const r = new Rng(seed);
  drawKnown = opts.known ?? false;
  const ports = opts.ports ?? [1, 2, 3, 4];
  const gbase = opts.groupBase ?? 1;
  const chain = r.chance(0.15);
  const nTables = chain ? r.int(4, 12) : r.int(1, 5);
  // Groups first (flows refer to them).
  const groups: GenGroup[] = [];
  const nGroups = r.chance(0.5) ? r.int(1, 3) : 0;
  const bucketActions = (): string[] => {
    const a: string[] = [];
    for (let i = r.int(0, 2); i > 0; i--) a.push(r.pick(setFieldChoices(r, {})));
    if (r.chance(0.3)) a.push(r.pick(['push_vlan:0x8100', 'mod_vlan_vid:9', 'mod_vlan_pcp:2']));
    if (r.chance(0.1)) a.push(r.pick([`mod_tp_dst:${r.pick(GEN_PORTS)}`, `mod_tp_src:${r.pick(GEN_PORTS)}`]));
    a.push(r.pick([`output:${r.pick(ports)}`, `output:${r.pick(ports)}`, 'in_port', `resubmit(,${r.int(0, nTables - 1)})`, `output:${r.pick(ports)}`]));
    if (r.chance(0.1) && groups.length) a.push(`group:${r.pick(groups).id}`);
    if (r.chance(0.15)) a.reverse();
    return a;
  };
  for (let i = 0; i < nGroups; i++) {
    const type = r.weighted({ all: 4, indirect: 2, ff: 2 });
    if (opts.selectGroups && r.chance(0.4)) {
      groups.push(selectGroup(r, gbase + i, ports, bucketActions));
      continue;
    }
    const g: GenGroup = { id: gbase + i, type, buckets: [] };
    const nb = type === 'indirect' ? 1 : r.int(1, 3);
    for (let k = 0; k < nb; k++) g.buckets.push({ ...(type === 'ff' ? { watchPort: r.pick([...ports, 7, 9]) } : {}), actions: bucketActions() });
    if (type === 'indirect' && r.chance(0.05)) {
      g.buckets.push({ actions: bucketActions() });
      g.bad = 'indirect group with two buckets';
    }
    groups.push(g);
  }
  const usedPrio = new Set<string>();
  const flows: GenFlow[] = [];
  const badTable = r.chance(opts.badFlow ?? 0.3);
  const perTable = (t: number): number => (t === 0 ? r.int(3, 12) : r.int(1, 6));
  for (let t = 0; t < nTables; t++) {
    const n = perTable(t);
    for (let i = 0; i < n; i++) {
      const plan = randomPlan(r, ports);
      const { match, ctx } = randomMatch(r, plan, { regs: t > 0 || r.chance(0.2) });
      let prio: number | undefined;
      do prio = r.chance(0.05) ? undefined : r.int(0, 0xfff0) % r.pick([10, 100, 1000, 65000]);
      while (usedPrio.has(`${t}/${prio ?? 32768}`));
      usedPrio.add(`${t}/${prio ?? 32768}`);
      const f: GenFlow = { table: t, ...(prio !== undefined ? { priority: prio } : {}), match, actions: [], clear: false, plan };
      fillActions(r, f, ctx, { ports, nTables, groups, chain, extra: opts.extraActions ?? true });
      flows.push(f);
    }
    if (!chain && r.chance(t === 0 ? 0.7 : 0.5) && !usedPrio.has(`${t}/0`)) {
      // A low-priority catch-all, so that fewer frames just miss.
      const plan = randomPlan(r, ports);
      const f: GenFlow = { table: t, priority: 0, match: [], actions: [], clear: false, plan };
      fillActions(r, f, {}, { ports, nTables, groups, chain, extra: opts.extraActions ?? true });
      usedPrio.add(`${t}/0`);
      flows.push(f);
    }
    if (chain && t + 1 < nTables) {
      const plan = randomPlan(r, ports);
      const f: GenFlow = { table: t, priority: 0, match: [], actions: [], clear: false, plan };
      if (r.chance(0.5)) f.goto = t + 1;
      else f.actions.push(`resubmit(,${t + 1})`);
      if (r.chance(0.5)) f.actions.unshift(r.pick(setFieldChoices(r, {})));
      if (usedPrio.has(`${t}/0`)) continue;
      usedPrio.add(`${t}/0`);
      flows.push(f);
    }
  }
  if (badTable) {
    for (let i = r.int(1, 2); i > 0; i--) {
      const plan = randomPlan(r, ports);
      const t = r.int(0, nTables - 1);
      const { match, ctx } = randomMatch(r, plan, { regs: false });
      const f: GenFlow = { table: t, priority: 60000 + r.int(0, 5000), match, actions: [], clear: false, plan };
      const k = r.int(0, 6);
      if (k <= 2) {
        const b = badAction(r, ctx);
        if (!b) continue;
        f.actions.push(`output:${r.pick(ports)}`, b[0]);
        // OVS 3.1 accepts pop_vlan/strip_vlan/dec_ttl/mod_nw_ttl/mod_tp_* inside write_actions (its
        // check there only narrows the usable protocols); so do we.
        if (r.chance(0.3)) {
          f.write = [b[0], 'output:1'];
          f.actions.pop();
        }
        f.bad = b[1];
        if (ctx.vlan === true && r.chance(0.2)) {
          // write_actions is checked against the match as the apply actions left it: no VLAN now.
          f.actions = [`output:${r.pick(ports)}`, r.pick(['pop_vlan', 'strip_vlan'])];
          f.write = [r.pick(['set_field:4101->vlan_vid', 'set_field:3->vlan_pcp']), 'output:1'];
          f.bad = 'VLAN set_field in write_actions after the apply actions popped the VLAN';
        }
      } else if (k === 3 && t > 0) {
        f.actions.push('output:1');
        f.goto = r.int(0, t);
        f.bad = 'goto_table not forward';
      } else if (k === 4) {
        f.actions.push(`group:${gbase + 50 + r.int(0, 3)}`);
        f.bad = 'undefined group';
      } else if (k === 5) {
        f.match = f.match.filter((x) => !/vlan/.test(x));
        f.match.push('vlan_tci=0x0000/0x1000', 'vlan_pcp=3');
        f.actions.push('output:2');
        f.bad = 'vlan_pcp without VLAN';
      } else {
        f.match = ['ip', 'nw_frag=later', r.pick(['udp', 'tcp'])].slice(r.chance(0.5) ? 0 : 1);
        f.match.push(`tp_dst=${r.pick(GEN_PORTS)}`);
        f.actions.push('output:2');
        f.bad = 'L4 match on later fragments';
      }
      // Keep the priority unique.
      while (usedPrio.has(`${t}/${f.priority}`)) f.priority = f.priority! + 1;
      usedPrio.add(`${t}/${f.priority}`);
      flows.splice(r.int(0, flows.length), 0, f);
    }
  }
  return { seed, known: drawKnown, ports, groups, flows };
}

function fillActions(r: Rng, f: GenFlow, ctx: Ctx, env: { ports: readonly number[]; nTables: number; groups: GenGroup[]; chain: boolean; extra: boolean }): void {
  const { ports, nTables, groups } = env;
  const t = f.table;
  // `v`: VLAN known present/absent; `depth`: tags OVS's consistency check counts (the match's
  // tag, then pushes and pops; it refuses a third with OFPBAC_BAD_TAG).
  const vlanNow = { v: ctx.vlan, depth: ctx.vlan === true ? 1 : 0 };
  const output = (): string => {
    const k = r.weighted({ port: 8, inport: 1.5, all: 0.4, flood: 0.4, local: 0.2, none: 0.3, missing: 0.3 });
    if (k === 'port') {
      if (r.chance(0.5)) return `output:${r.pick(ports)}`;
      // `output(port=N)` without max_len is a syntax error in ovs-ofctl; `output(N)` is output:N.
      const f = r.weighted({ bare: 8, paren: 1, portKey: 0.15 });
      return f === 'bare' ? String(r.pick(ports)) : f === 'paren' ? `output(${r.pick(ports)})` : `output(port=${r.pick(ports)})`;
    }
    if (k === 'inport') return r.pick(['in_port', 'output:in_port', 'IN_PORT', 'output:IN_PORT']);
    if (k === 'all') return 'ALL';
    if (k === 'flood') return 'FLOOD';
    if (k === 'local') return 'LOCAL';
    // Not output ports (OFPBAC_BAD_OUT_PORT): NONE/ANY, UNSET and 0xff00-0xfff7.
    if (k === 'none') return r.chance(0.4) ? r.pick(['output:NONE', 'NONE', 'output:ANY', 'output:65280', 'output:65527', 'output:UNSET']) : 'output:5';
    return 'output:5';
  };
  // A third VLAN header now and then: OVS and we refuse the flow (OFPBAC_BAD_TAG).
  const third = (): boolean => vlanNow.depth >= 2 && r.chance(0.15);
  const step = (into: string[], allowFlow: boolean): void => {
    const k = r.weighted({ set: 5, out: 4, vlan: 1.5, resubmit: allowFlow ? 1.5 : 0.3, group: groups.length ? 1 : 0, extra: !env.extra ? 0 : allowFlow ? 1.5 : 0.15 });
    if (k === 'set') {
      const c = setFieldChoices(r, { ...ctx, vlan: vlanNow.v });
      const a = r.pick(c);
      if (a.startsWith('mod_vlan_') && vlanNow.v !== true) {
        // mod_vlan_* pushes a tag when the check sees none.
        if (vlanNow.depth >= 2 && !third()) return;
        vlanNow.depth++;
      }
      into.push(a);
      if (a.startsWith('mod_vlan_')) vlanNow.v = true;
    } else if (k === 'out') into.push(output());
    else if (k === 'vlan') {
      const extra = third();
      if (vlanNow.v === true && !extra && (r.chance(0.5) || vlanNow.depth >= 2)) {
        into.push(r.pick(['pop_vlan', 'strip_vlan']));
        // A pop brings the inner header (if the check saw two) back out.
        vlanNow.depth = Math.max(0, vlanNow.depth - 1);
        vlanNow.v = vlanNow.depth > 0;
      } else if (vlanNow.depth < 2 || extra) {
        vlanNow.depth++;
        into.push(r.pick(['push_vlan:0x8100', 'push_vlan:0x88a8']));
        if (r.chance(0.7)) into.push(`set_field:${0x1000 | r.pick([5, 9, 0, 4095])}->vlan_vid`);
        vlanNow.v = true;
      }
    } else if (k === 'resubmit') {
      // Mostly forward; sometimes backward or to the same table (loops reach OVS's depth limit).
      const forward = t + 1 < nTables;
      if (!forward && r.chance(0.85)) {
        into.push(output());
        return;
      }
      const tt = forward && (r.chance(0.88) || f.match.length === 0) ? r.int(t + 1, nTables - 1) : r.int(0, nTables - 1);
      const form = r.weighted({ a: 6, b: 2, c: 0.5 });
      into.push(form === 'a' ? `resubmit(,${tt})` : form === 'b' ? `resubmit(${r.pick(ports)},${tt})` : `resubmit:${r.pick(ports)}`);
    } else if (k === 'extra') into.push(...extraActions(r, ctx, ports, vlanNow.v));
    else into.push(`group:${r.pick(groups).id}`);
  };
  const nApply = r.int(0, 5);
  for (let i = 0; i < nApply; i++) step(f.actions, true);
  if (r.chance(0.1)) f.clear = true;
  if (r.chance(0.25)) {
    // The action set, checked (by OVS and by us) against the match as the apply actions left it.
    const w: string[] = [];
    for (let i = r.int(1, 4); i > 0; i--) step(w, false);
    // The action set runs pop_vlan before any set_field: a VLAN set_field then writes a tag where
    // none is left, which gets TPID 0x8100 (OVS flow_fix_vlan_tpid; once KNOWN.md K9, now fixed).
    if (r.chance(0.7)) w.push(output());
    f.write = w;
  }
  if (r.chance(0.1)) f.writeMetadata = `${hex(r.pick(REGVALS))}/${hex(r.pick([0xff, 0xf, 0xffffffff]))}`;
  if (t + 1 < nTables && r.chance(0.3)) f.goto = r.int(t + 1, nTables - 1);
  if (!f.actions.length && !f.write && f.goto === undefined && r.chance(0.8)) f.actions.push(output());
}

// ---------------------------------------------------------------------------------------------
// Frames for a table

/** A frame to inject and where it comes from. */
export interface GenFrame {
  port: number;
  bytes: Uint8Array;
  /** `plan:<kind>` (aimed at a flow), `random:<kind>` (pool values), with `+vlan` and `/cut@N`, or `corpus`. */
  origin: string;
}

/**
 * `n` frames for a table: about half aimed at its flows (a flow's plan, sometimes mutated), a
 * quarter from random pool plans, the rest from `extra` (e.g. the random corpus). Some frames are
 * cut short (never below 14 bytes).
 */
export function framesForTable(seed: number, t: GenTable, n: number, extra: (rng: Rng) => Uint8Array | undefined): GenFrame[] {
  const r = new Rng(seed ^ 0x5bd1e995);
  drawKnown = t.known;
  const out: GenFrame[] = [];
  while (out.length < n) {
    const k = r.weighted({ plan: 5, random: 2.5, extra: 2.5 });
    let plan: FramePlan | undefined;
    let origin = k;
    if (k === 'plan' && t.flows.length) {
      const f = r.pick(t.flows);
      plan = r.chance(0.3) ? mutatePlan(r, f.plan, t.ports) : { ...f.plan };
    } else if (k === 'extra') {
      const b = extra(r);
      if (b && b.length >= 14) {
        out.push({ port: r.pick(t.ports), bytes: b, origin: 'corpus' });
        continue;
      }
      origin = 'random';
    }
    plan ??= randomPlan(r, t.ports);
    if (r.chance(0.08)) plan.cut = r.int(14, 70);
    const bytes = buildFrame(plan);
    out.push({ port: plan.inPort, bytes, origin: `${origin}:${plan.kind}${plan.vlan ? '+vlan' : ''}${plan.cut !== undefined && plan.cut < bytes.length + 1 ? `/cut@${bytes.length}` : ''}` });
  }
  return out;
}
