/**
 * ovn-controller's pinctrl, in process: what a chassis does with the packets its flows send to the
 * controller (`controller(userdata=...)`), as OVN 23.03's `controller/pinctrl.c` does it.
 *
 * Design. A packet-in carries the packet, the flow's metadata (the packet-in match: metadata and
 * every non-zero register) and the userdata the flow was built with: a pinctrl opcode and, for
 * most operations, OpenFlow actions in wire form. `Pinctrl.handle` returns effects instead of
 * talking OpenFlow itself:
 * - `packet-out`: a packet pinctrl composed (an ARP request for `arp { ... }`, an ND solicitation
 *   or advertisement, an ICMP error, a TCP reset, ...) to run through the switch from port
 *   CONTROLLER with the original metadata reloaded (`set_field` of each register and `metadata`,
 *   `reload_metadata`) followed by the userdata's actions;
 * - `resume`: for the operations that pause the pipeline (`put_dhcp_opts`, `dns_lookup`, ...):
 *   the rewritten packet and the result bit to write; the caller continues the paused flow;
 * - `mac-binding`, `fdb`, `log`, `event`, `bind-vport`: state ovn-controller would write to the
 *   southbound database (or its log) for the rest of the cluster to act on;
 * - `ignored`: what ovn-controller drops with a warning (a malformed packet, an opcode this
 *   emulation does not implement), with the reason.
 * Packets whose next hop is unknown are buffered per (datapath, output port, next hop) while
 * `arp`/`nd_ns` resolve it (at most 4, dropped after 10 s), and come back as packet-outs from
 * `macLearned` once the binding is known, with the learnt MAC as Ethernet destination, exactly as
 * `buffered_send_packets` re-injects them into table 37.
 *
 * Composed packets are byte-for-byte pinctrl's: IPv4 headers with TOS 0, DF set, id 0 and TTL 255
 * (ICMP) or 63 (TCP reset, SCTP abort), ICMP errors quoting the original IP packet up to 576 bytes
 * (IPv4) or 1280 (IPv6), ND messages from the link-local address derived from the MAC.
 */
import { crc32c, fieldByName, getFieldBig, extractFlowKey, FlowKey, type MatchField, type PacketInField } from '@ovnts/openflow';
import { AddressParseError, internetChecksum, l4ChecksumV4, l4ChecksumV6, macFromBytes, macToBytes, ipv6ToBytes, ipv6FromBytes, parseIpv4, parseIpv6, parseMac, u16, u32, setU16, setU32, formatIpv4, formatIpv6, formatMac } from '@ovnts/packet';
import { ChassisError } from './errors.js';
import { decodeActions, fieldOfHeader } from './of-wire.js';
import type { OfAction } from './of-actions.js';
import { ACTION_OPCODE, OFTABLE } from './tables.js';
import { aclLogLine } from './acl-log.js';
import { McastSnoop } from './mcast-snoop.js';

/** OpenFlow port CONTROLLER: packet-outs from pinctrl come from it. */
export const OFPP_CONTROLLER = 0xfffd;

/** A packet-in as pinctrl reads it. */
export interface PinctrlPacketIn {
  /** The packet (as modified by the pipeline so far). */
  readonly frame: Uint8Array;
  /** `controller(userdata=...)`: opcode, then the operation's payload. */
  readonly userdata: Uint8Array;
  /** Table of the flow that sent it. */
  readonly tableId: number;
  /** The packet-in match: `in_port`, `metadata`, the non-zero registers, ... */
  readonly match: readonly PacketInField[];
}

/** A packet pinctrl sends into the switch (`packet-out` from port CONTROLLER). */
export interface PacketOutEffect {
  readonly kind: 'packet-out';
  /** The packet. */
  readonly frame: Uint8Array;
  /** Actions: the reloaded metadata, then the operation's actions. */
  readonly actions: OfAction[];
}

/** The paused pipeline continues with a rewritten packet and a result bit (`NXT_RESUME`). */
export interface ResumeEffect {
  readonly kind: 'resume';
  /** The packet to continue with (the original one when the operation failed). */
  readonly frame: Uint8Array;
  /** The result bit: field, bit offset, value. */
  readonly result: { readonly field: MatchField; readonly bit: number; readonly value: 0 | 1 } | undefined;
  /** The packet-in match to restore. */
  readonly match: readonly PacketInField[];
}

/** A neighbour learnt by `put_arp`/`put_nd` (a southbound `MAC_Binding`). */
export interface MacBindingEffect {
  readonly kind: 'mac-binding';
  /** Datapath key. */
  readonly dpKey: number;
  /** Logical input port key (the router port that learnt it). */
  readonly portKey: number;
  /** The IP address, as text. */
  readonly ip: string;
  /** The MAC address, as text. */
  readonly mac: string;
}

/** A MAC learnt by `put_fdb` (a southbound `FDB` row). */
export interface FdbEffect {
  readonly kind: 'fdb';
  /** Datapath key. */
  readonly dpKey: number;
  /** Logical port key. */
  readonly portKey: number;
  /** The MAC address, as text. */
  readonly mac: string;
}

/** Something ovn-controller logs or reports (ACL `log`, `trigger_event`, `bind_vport`). */
export interface NoteEffect {
  readonly kind: 'log' | 'event' | 'bind-vport';
  /** What it says. */
  readonly text: string;
}

/** IGMP/MLD snooping changed its groups on a datapath: the chassis's `IGMP_Group` rows are written again (`ip_mcast_sync`). */
export interface IgmpEffect {
  readonly kind: 'igmp';
  /** Datapath key. */
  readonly dpKey: number;
  /** The logical input port key of the packet snooped (0: a timer aged the groups). */
  readonly portKey: number;
  /** The groups changed (else a packet was snooped and changed nothing, e.g. a refresh). */
  readonly changed: boolean;
}

/** A packet-in pinctrl drops (with ovn-controller's warning, or why this emulation cannot act on it). */
export interface IgnoredEffect {
  readonly kind: 'ignored';
  /** Why. */
  readonly reason: string;
}

/** What handling a packet-in does. */
export type PinctrlEffect = PacketOutEffect | ResumeEffect | MacBindingEffect | FdbEffect | NoteEffect | IgmpEffect | IgnoredEffect;

/** DNS records of the switches, as pinctrl's DNS cache holds them. */
export interface DnsRecords {
  /** The records (lower-case names) of every DNS row that applies to datapath `dpKey`. */
  recordsFor(dpKey: number): readonly ReadonlyMap<string, string>[];
}

const ETH_TYPE_IP = 0x0800;
const ETH_TYPE_IPV6 = 0x86dd;
const ETH_TYPE_ARP = 0x0806;
const ETH_TYPE_VLAN = 0x8100;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_SCTP = 132;
const BUFFER_QUEUE_DEPTH = 4;
const BUFFER_MAP_TIMEOUT_MS = 10_000;
const BUFFER_MAP_MAX = 1000;

/** The headers pinctrl looks at (`flow_extract`), with the offsets of the layers. */
interface Headers {
  readonly key: Uint32Array;
  readonly dlDst: number;
  readonly dlSrc: number;
  /** The first VLAN tag's TCI with the CFI bit, 0 without a tag. */
  readonly vlanTci: number;
  readonly ethType: number;
  readonly l3: number;
  readonly l4: number;
  readonly nwProto: number;
}

const fieldCache = new Map<string, MatchField>();
function fld(name: string): MatchField {
  let f = fieldCache.get(name);
  if (!f) {
    f = fieldByName(name);
    if (!f) throw new ChassisError('bad-config', `no OpenFlow field ${name}`);
    fieldCache.set(name, f);
  }
  return f;
}

function headers(frame: Uint8Array): Headers {
  const k = new FlowKey();
  extractFlowKey(frame, 0, frame.length, 0, k);
  let o = 12;
  let type = frame.length >= 14 ? u16(frame, 12) : 0;
  let vlanTci = 0;
  while ((type === ETH_TYPE_VLAN || type === 0x88a8) && frame.length >= o + 6) {
    if (!vlanTci) vlanTci = u16(frame, o + 2) | 0x1000;
    o += 4;
    type = u16(frame, o);
  }
  const l3 = o + 2;
  let l4 = l3;
  let nwProto = 0;
  if (type === ETH_TYPE_IP && frame.length >= l3 + 20) {
    l4 = l3 + (frame[l3]! & 0x0f) * 4;
    nwProto = frame[l3 + 9]!;
  } else if (type === ETH_TYPE_IPV6 && frame.length >= l3 + 40) {
    nwProto = Number(getFieldBig(k.w, fld('nw_proto')));
    l4 = ipv6L4Offset(frame, l3);
  }
  return {
    key: k.w,
    dlDst: frame.length >= 6 ? macFromBytes(frame, 0) : 0,
    dlSrc: frame.length >= 12 ? macFromBytes(frame, 6) : 0,
    vlanTci,
    ethType: type,
    l3,
    l4,
    nwProto,
  };
}

/** Where the upper layer starts after an IPv6 header and its extension headers. */
function ipv6L4Offset(frame: Uint8Array, l3: number): number {
  let nh = frame[l3 + 6]!;
  let o = l3 + 40;
  while ((nh === 0 || nh === 43 || nh === 60 || nh === 44) && frame.length >= o + 8) {
    const next = frame[o]!;
    o += nh === 44 ? 8 : (frame[o + 1]! + 1) * 8;
    nh = next;
  }
  return o;
}

function matchValue(match: readonly PacketInField[], name: string): bigint {
  for (const f of match) if (f.name === name) return f.value;
  return 0n;
}

/** `reload_metadata`: a `set_field` for each register and `metadata` the packet-in match carries. */
export function reloadMetadata(match: readonly PacketInField[]): OfAction[] {
  const out: OfAction[] = [];
  for (let i = 0; i < 16; i++) {
    const v = matchValue(match, `reg${i}`);
    if (v !== 0n) out.push({ type: 'set_field', field: fld(`reg${i}`), value: v });
  }
  const md = matchValue(match, 'metadata');
  if (md !== 0n) out.push({ type: 'set_field', field: fld('metadata'), value: md });
  return out;
}

/** IPv4 packet as `pinctrl_compose_ipv4` lays it out (TOS 0, DF, id 0), payload zeroed. */
function composeIpv4(dlSrc: number, dlDst: number, src: number, dst: number, proto: number, ttl: number, payloadLen: number): Uint8Array {
  const b = new Uint8Array(14 + 20 + payloadLen);
  macToBytes(dlDst, b, 0);
  macToBytes(dlSrc, b, 6);
  setU16(b, 12, ETH_TYPE_IP);
  b[14] = 0x45;
  setU16(b, 16, 20 + payloadLen);
  setU16(b, 20, 0x4000);
  b[22] = ttl;
  b[23] = proto;
  setU32(b, 26, src);
  setU32(b, 30, dst);
  setU16(b, 24, internetChecksum(b, 14, 20));
  return b;
}

/** IPv6 packet as `pinctrl_compose_ipv6` / OVS `compose_ipv6` lay it out, payload zeroed. */
function composeIpv6(dlSrc: number, dlDst: number, src: bigint, dst: bigint, proto: number, hopLimit: number, payloadLen: number): Uint8Array {
  const b = new Uint8Array(14 + 40 + payloadLen);
  macToBytes(dlDst, b, 0);
  macToBytes(dlSrc, b, 6);
  setU16(b, 12, ETH_TYPE_IPV6);
  b[14] = 0x60;
  setU16(b, 18, payloadLen);
  b[20] = proto;
  b[21] = hopLimit;
  ipv6ToBytes(src, b, 22);
  ipv6ToBytes(dst, b, 38);
  return b;
}

/** Insert an 802.1Q tag after the Ethernet addresses (`eth_push_vlan`). */
function pushVlan(b: Uint8Array, tci: number): Uint8Array {
  const out = new Uint8Array(b.length + 4);
  out.set(b.subarray(0, 12), 0);
  setU16(out, 12, ETH_TYPE_VLAN);
  setU16(out, 14, tci & 0xffff);
  out.set(b.subarray(12), 16);
  return out;
}

/** `in6_generate_lla`: the EUI-64 link-local address of a MAC. */
export function linkLocalOf(mac: number): bigint {
  const m = new Uint8Array(6);
  macToBytes(mac, m, 0);
  const b = new Uint8Array(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b[8] = m[0]! ^ 0x02;
  b[9] = m[1]!;
  b[10] = m[2]!;
  b[11] = 0xff;
  b[12] = 0xfe;
  b[13] = m[3]!;
  b[14] = m[4]!;
  b[15] = m[5]!;
  return ipv6FromBytes(b, 0);
}

/** The solicited-node multicast address of `ip` and its Ethernet address. */
function solicitedNode(ip: bigint): { ip: bigint; mac: number } {
  const sn = (0xff020000000000000000000000000000n | 0x1ff000000n) | (ip & 0xffffffn);
  const mac = 0x333300000000 + Number(sn & 0xffffffffn);
  return { ip: sn, mac };
}

/** An ND solicitation or advertisement with one link-layer address option (`compose_nd_ns` / `compose_nd_na`). */
function composeNd(type: 135 | 136, dlSrc: number, dlDst: number, src: bigint, dst: bigint, target: bigint, rso: number, optType: 1 | 2, lla: number): Uint8Array {
  const b = composeIpv6(dlSrc, dlDst, src, dst, IPPROTO_ICMPV6, 255, 32);
  const o = 54;
  b[o] = type;
  setU32(b, o + 4, rso >>> 0);
  ipv6ToBytes(target, b, o + 8);
  b[o + 24] = optType;
  b[o + 25] = 1;
  macToBytes(lla, b, o + 26);
  setU16(b, o + 2, l4ChecksumV6(b, o, 32, IPPROTO_ICMPV6, 14));
  return b;
}

interface Buffered {
  readonly dpKey: number;
  readonly portKey: number;
  readonly ip: string;
  timestamp: number;
  readonly packets: { frame: Uint8Array; actions: OfAction[] }[];
}

/** One chassis's pinctrl (see the module comment). */
export class Pinctrl {
  private readonly buffered = new Map<string, Buffered>();
  /** IGMP/MLD snooping (mcast-snoop.ts). */
  readonly mcast = new McastSnoop();

  /**
   * @param dns the DNS records per datapath (the southbound `DNS` table)
   * @param now the current time in milliseconds (the cluster's virtual clock)
   */
  constructor(
    private readonly dns: DnsRecords,
    private readonly now: () => number,
  ) {}

  /** Handle one packet-in (`process_packet_in`). */
  handle(pi: PinctrlPacketIn): PinctrlEffect[] {
    if (pi.userdata.length < 8) return [{ kind: 'ignored', reason: 'packet-in userdata lacks action header' }];
    const op = u32(pi.userdata, 0);
    const payload = pi.userdata.subarray(8);
    const h = headers(pi.frame);
    try {
      switch (op) {
        case ACTION_OPCODE.ARP:
          return this.arp(pi, h, payload);
        case ACTION_OPCODE.ND_NS:
          return this.ndNs(pi, h, payload);
        case ACTION_OPCODE.ND_NA:
        case ACTION_OPCODE.ND_NA_ROUTER:
          return this.ndNa(pi, h, payload, op === ACTION_OPCODE.ND_NA_ROUTER);
        case ACTION_OPCODE.PUT_ARP:
        case ACTION_OPCODE.PUT_ND:
          return this.putMacBinding(pi, h, op === ACTION_OPCODE.PUT_ARP);
        case ACTION_OPCODE.PUT_FDB:
          return [{ kind: 'fdb', dpKey: Number(matchValue(pi.match, 'metadata')), portKey: Number(matchValue(pi.match, 'reg14')), mac: formatMac(h.dlSrc) }];
        case ACTION_OPCODE.ICMP:
          return this.icmp(pi, h, payload, true, false);
        case ACTION_OPCODE.ICMP4_ERROR:
        case ACTION_OPCODE.ICMP6_ERROR:
          return this.icmp(pi, h, payload, false, false);
        case ACTION_OPCODE.TCP_RESET:
          return this.tcpReset(pi, h, payload, false);
        case ACTION_OPCODE.SCTP_ABORT:
          return this.sctpAbort(pi, h, payload, false);
        case ACTION_OPCODE.REJECT:
          return this.reject(pi, h, payload);
        case ACTION_OPCODE.PUT_DHCP_OPTS:
          return this.putDhcpOpts(pi, h, payload);
        case ACTION_OPCODE.DNS_LOOKUP:
          return this.dnsLookup(pi, h, payload);
        case ACTION_OPCODE.LOG: {
          // acl-log.ts: the acl_log line ovn-controller writes.
          const line = aclLogLine(payload, pi.frame, pi.tableId);
          return [line === undefined ? { kind: 'ignored', reason: 'log data missing' } : { kind: 'log', text: line }];
        }
        case ACTION_OPCODE.EVENT:
          return [{ kind: 'event', text: `controller event ${payload.length ? u16(payload, 0) : 0}` }];
        case ACTION_OPCODE.IGMP:
          return this.igmp(pi, h);
        case ACTION_OPCODE.BIND_VPORT:
          return [{ kind: 'bind-vport', text: `bind_vport (port key ${payload.length >= 4 ? u32(payload, 0) : 0})` }];
        default:
          return [{ kind: 'ignored', reason: `pinctrl opcode ${op} is not emulated` }];
      }
    } catch (e) {
      if (e instanceof ChassisError) return [{ kind: 'ignored', reason: e.message }];
      throw e;
    }
  }

  /** `pinctrl_ip_mcast_handle`: snooping learns from the packet and forwards it (mcast-snoop.ts). */
  private igmp(pi: PinctrlPacketIn, h: Headers): PinctrlEffect[] {
    const dpKey = Number(matchValue(pi.match, 'metadata'));
    const r = this.mcast.handle(pi.frame, h.ethType, h.l3, h.l4, dpKey, Number(matchValue(pi.match, 'reg14')), this.now());
    const out: PinctrlEffect[] = r.out.map((o) => ({ kind: 'packet-out', frame: o.frame, actions: o.actions }));
    if (r.snooped) out.push({ kind: 'igmp', dpKey, portKey: Number(matchValue(pi.match, 'reg14')), changed: r.changed });
    if (r.warning) out.push({ kind: 'ignored', reason: r.warning });
    return out;
  }

  /** The snooping timers at the current time: aged groups and due queries (`ip_mcast_snoop_run`, `ip_mcast_querier_run`). */
  mcastDue(): PinctrlEffect[] {
    const r = this.mcast.due(this.now());
    const out: PinctrlEffect[] = r.out.map((o) => ({ kind: 'packet-out', frame: o.frame, actions: o.actions }));
    if (r.changed) out.push({ kind: 'igmp', dpKey: 0, portKey: 0, changed: true });
    return out;
  }

  private out(pi: PinctrlPacketIn, frame: Uint8Array, payload: Uint8Array): PacketOutEffect {
    return { kind: 'packet-out', frame, actions: [...reloadMetadata(pi.match), ...decodeActions(payload)] };
  }

  /** `pinctrl_handle_buffered_packets`: keep the packet until its next hop is known. */
  private buffer(pi: PinctrlPacketIn, isArp: boolean): void {
    const dpKey = Number(matchValue(pi.match, 'metadata'));
    const portKey = Number(matchValue(pi.match, 'reg15'));
    const ip = isArp ? formatIpv4(Number(matchValue(pi.match, 'reg0'))) : formatIpv6(this.xxreg0(pi.match));
    const key = `${dpKey}/${portKey}/${ip}`;
    let bp = this.buffered.get(key);
    if (!bp) {
      if (this.buffered.size >= BUFFER_MAP_MAX) return;
      this.buffered.set(key, (bp = { dpKey, portKey, ip, timestamp: 0, packets: [] }));
    }
    bp.timestamp = this.now();
    const actions: OfAction[] = [...reloadMetadata(pi.match), { type: 'set_field', field: fld('pkt_mark'), value: matchValue(pi.match, 'pkt_mark') }, { type: 'resubmit', port: OFPP_CONTROLLER, table: OFTABLE.OUTPUT_LARGE_PKT_DETECT }];
    bp.packets.push({ frame: pi.frame.slice(), actions });
    if (bp.packets.length >= BUFFER_QUEUE_DEPTH) bp.packets.shift();
  }

  /** xxreg0 from its four 32-bit registers (the packet-in match names the registers). */
  private xxreg0(match: readonly PacketInField[]): bigint {
    let v = 0n;
    for (let i = 0; i < 4; i++) v = (v << 32n) | matchValue(match, `reg${i}`);
    return v;
  }

  /**
   * A MAC binding became known (ours, or learnt elsewhere in the cluster): the packets buffered
   * for it, with the MAC as Ethernet destination, to re-inject (`buffered_send_packets`).
   */
  macLearned(dpKey: number, portKey: number, ip: string, mac: string): PacketOutEffect[] {
    this.expire();
    const bp = this.buffered.get(`${dpKey}/${portKey}/${ip}`);
    if (!bp) return [];
    this.buffered.delete(`${dpKey}/${portKey}/${ip}`);
    const m = parseMac(mac);
    return bp.packets.map((p) => {
      const frame = p.frame.slice();
      macToBytes(m, frame, 0);
      return { kind: 'packet-out', frame, actions: p.actions };
    });
  }

  /** Number of next hops with buffered packets. */
  get bufferedCount(): number {
    this.expire();
    return this.buffered.size;
  }

  private expire(): void {
    const now = this.now();
    for (const [k, bp] of this.buffered) if (now > bp.timestamp + BUFFER_MAP_TIMEOUT_MS) this.buffered.delete(k);
  }

  private arp(pi: PinctrlPacketIn, h: Headers, payload: Uint8Array): PinctrlEffect[] {
    if (h.ethType !== ETH_TYPE_IP) return [{ kind: 'ignored', reason: `ARP action on non-IP packet (Ethertype ${h.ethType.toString(16)})` }];
    this.buffer(pi, true);
    let b: Uint8Array = new Uint8Array(42);
    macToBytes(h.dlDst, b, 0);
    macToBytes(h.dlSrc, b, 6);
    setU16(b, 12, ETH_TYPE_ARP);
    setU16(b, 14, 1);
    setU16(b, 16, ETH_TYPE_IP);
    b[18] = 6;
    b[19] = 4;
    setU16(b, 20, 1);
    macToBytes(h.dlSrc, b, 22);
    setU32(b, 28, u32(pi.frame, h.l3 + 12));
    setU32(b, 38, u32(pi.frame, h.l3 + 16));
    if (h.vlanTci) b = pushVlan(b, h.vlanTci);
    return [this.out(pi, b, payload)];
  }

  private ndNs(pi: PinctrlPacketIn, h: Headers, payload: Uint8Array): PinctrlEffect[] {
    if (h.ethType !== ETH_TYPE_IPV6) return [{ kind: 'ignored', reason: 'NS action on non-IPv6 packet' }];
    this.buffer(pi, false);
    const target = ipv6FromBytes(pi.frame, h.l3 + 24);
    const sn = solicitedNode(target);
    const b = composeNd(135, h.dlSrc, sn.mac, linkLocalOf(h.dlSrc), sn.ip, target, 0, 1, h.dlSrc);
    return [this.out(pi, b, payload)];
  }

  private ndNa(pi: PinctrlPacketIn, h: Headers, payload: Uint8Array, router: boolean): PinctrlEffect[] {
    const isNd = h.ethType === ETH_TYPE_IPV6 && h.nwProto === IPPROTO_ICMPV6 && pi.frame.length >= h.l4 + 24 && (pi.frame[h.l4] === 135 || pi.frame[h.l4] === 136) && pi.frame[h.l4 + 1] === 0;
    if (!isNd) return [{ kind: 'ignored', reason: 'NA action on non-ND packet' }];
    const rso = (0x40000000 | 0x20000000 | (router ? 0x80000000 : 0)) >>> 0;
    const target = ipv6FromBytes(pi.frame, h.l4 + 8);
    const src = ipv6FromBytes(pi.frame, h.l3 + 8);
    // compose_nd_na(eth_src = dl_dst, eth_dst = dl_src, ipv6_src = nd_target, ipv6_dst = ipv6_src); TLL = eth_src.
    const b = composeNd(136, h.dlDst, h.dlSrc, target, src, target, rso, 2, h.dlDst);
    return [this.out(pi, b, payload)];
  }

  private putMacBinding(pi: PinctrlPacketIn, h: Headers, isArp: boolean): PinctrlEffect[] {
    const dpKey = Number(matchValue(pi.match, 'metadata'));
    const portKey = Number(matchValue(pi.match, 'reg14'));
    const ip = isArp ? formatIpv4(Number(matchValue(pi.match, 'reg0'))) : formatIpv6(this.xxreg0(pi.match));
    return [{ kind: 'mac-binding', dpKey, portKey, ip, mac: formatMac(h.dlSrc) }];
  }

  private icmp(pi: PinctrlPacketIn, h: Headers, payload: Uint8Array, setCode: boolean, loopback: boolean): PinctrlEffect[] {
    const f = pi.frame;
    let b: Uint8Array;
    if (h.ethType === ETH_TYPE_IP) {
      let inLen = u16(f, h.l3 + 2);
      if (inLen < 20) return [{ kind: 'ignored', reason: `ICMP action on IP packet with invalid length (${inLen})` }];
      const room = 576 - (14 + 20 + 8);
      if (inLen > room) inLen = room;
      b = this.reply(f, h, loopback, IPPROTO_ICMP, 255, 8 + inLen).b;
      b[34] = 3;
      b[35] = setCode && f[h.l3 + 9] === IPPROTO_UDP ? 3 : 1;
      b.set(f.subarray(h.l3, Math.min(f.length, h.l3 + inLen)), 42);
      setU16(b, 36, internetChecksum(b, 34, 8 + inLen));
    } else if (h.ethType === ETH_TYPE_IPV6) {
      let inLen = 40 + u16(f, h.l3 + 4);
      const room = 1280 - (14 + 40 + 8);
      if (inLen > room) inLen = room;
      b = this.reply(f, h, loopback, IPPROTO_ICMPV6, 255, 8 + inLen).b;
      b[54] = 1;
      b[55] = setCode && f[h.l3 + 6] === IPPROTO_UDP ? 4 : 1;
      b.set(f.subarray(h.l3, Math.min(f.length, h.l3 + inLen)), 62);
      setU16(b, 56, l4ChecksumV6(b, 54, 8 + inLen, IPPROTO_ICMPV6, 14));
    } else {
      return [{ kind: 'ignored', reason: `ICMP action on non-IP packet (eth_type 0x${h.ethType.toString(16)})` }];
    }
    if (h.vlanTci) b = pushVlan(b, h.vlanTci);
    return [this.out(pi, b, payload)];
  }

  /**
   * Ethernet and IPv4 or IPv6 headers of a reply to `f` (addresses swapped unless `loopback`) with
   * hop limit `ttl` and `l4Len` zeroed bytes of protocol `proto` after them, which start at `l4`.
   */
  private reply(f: Uint8Array, h: Headers, loopback: boolean, proto: number, ttl: number, l4Len: number): { b: Uint8Array; l4: number } {
    const ethSrc = loopback ? h.dlDst : h.dlSrc;
    const ethDst = loopback ? h.dlSrc : h.dlDst;
    if (h.ethType === ETH_TYPE_IPV6) {
      return { b: composeIpv6(ethSrc, ethDst, ipv6FromBytes(f, h.l3 + (loopback ? 24 : 8)), ipv6FromBytes(f, h.l3 + (loopback ? 8 : 24)), proto, ttl, l4Len), l4: 54 };
    }
    return { b: composeIpv4(ethSrc, ethDst, u32(f, h.l3 + (loopback ? 16 : 12)), u32(f, h.l3 + (loopback ? 12 : 16)), proto, ttl, l4Len), l4: 34 };
  }

  private tcpReset(pi: PinctrlPacketIn, h: Headers, payload: Uint8Array, loopback: boolean): PinctrlEffect[] {
    if (h.nwProto !== IPPROTO_TCP || pi.frame.length < h.l4 + 20) return [{ kind: 'ignored', reason: 'TCP_RESET action on non-TCP packet' }];
    const f = pi.frame;
    const { b, l4 } = this.reply(f, h, loopback, IPPROTO_TCP, 63, 20);
    setU16(b, l4, u16(f, h.l4 + 2));
    setU16(b, l4 + 2, u16(f, h.l4));
    setU32(b, l4 + 8, (u32(f, h.l4 + 4) + 1) >>> 0);
    setU16(b, l4 + 12, (5 << 12) | 0x04 | 0x10);
    const csum = h.ethType === ETH_TYPE_IPV6 ? l4ChecksumV6(b, l4, 20, IPPROTO_TCP, 14) : l4ChecksumV4(b, l4, 20, IPPROTO_TCP, u32(b, 26), u32(b, 30));
    setU16(b, l4 + 16, csum);
    return [this.out(pi, b, payload)];
  }

  private sctpAbort(pi: PinctrlPacketIn, h: Headers, payload: Uint8Array, loopback: boolean): PinctrlEffect[] {
    const f = pi.frame;
    if (h.nwProto !== IPPROTO_SCTP) return [{ kind: 'ignored', reason: 'SCTP_ABORT action on non-SCTP packet' }];
    if (f.length < h.l4 + 12) return [{ kind: 'ignored', reason: 'SCTP_ABORT action on malformed SCTP packet' }];
    if (f.length < h.l4 + 16) return [{ kind: 'ignored', reason: 'SCTP_ABORT action on SCTP packet with no chunks' }];
    const chunkType = f[h.l4 + 12]!;
    if (chunkType === 6) return [{ kind: 'ignored', reason: 'sctp_abort action on incoming SCTP ABORT.' }];
    let initTag: number | undefined;
    if (chunkType === 1) {
      if (f.length < h.l4 + 16 + 16) return [{ kind: 'ignored', reason: 'Incomplete SCTP INIT chunk. Ignoring packet.' }];
      initTag = u32(f, h.l4 + 16);
    }
    const { b, l4 } = this.reply(f, h, loopback, IPPROTO_SCTP, 63, 16);
    setU16(b, l4, u16(f, h.l4 + 2));
    setU16(b, l4 + 2, u16(f, h.l4));
    const inTag = u32(f, h.l4 + 4);
    const reflected = !(inTag === 0 && initTag !== undefined);
    setU32(b, l4 + 4, reflected ? inTag : initTag!);
    b[l4 + 12] = 6;
    b[l4 + 13] = reflected ? 1 : 0;
    setU16(b, l4 + 14, 4);
    const crc = crc32c(b, l4, 16);
    // The checksum field holds the CRC in little-endian byte order (as OVS's crc32c() result is stored).
    b[l4 + 8] = crc & 0xff;
    b[l4 + 9] = (crc >>> 8) & 0xff;
    b[l4 + 10] = (crc >>> 16) & 0xff;
    b[l4 + 11] = crc >>> 24;
    return [this.out(pi, b, payload)];
  }

  private reject(pi: PinctrlPacketIn, h: Headers, payload: Uint8Array): PinctrlEffect[] {
    const f = pi.frame;
    if (h.nwProto === IPPROTO_TCP) {
      if (f.length < h.l4 + 14 || f[h.l4 + 13]! & 0x04) return [{ kind: 'ignored', reason: 'reject of a TCP reset' }];
      return this.tcpReset(pi, h, payload, true);
    }
    if (h.ethType === ETH_TYPE_IP && h.nwProto === IPPROTO_ICMP && (f.length < h.l4 + 1 || f[h.l4] === 3)) return [{ kind: 'ignored', reason: 'reject of an ICMP destination unreachable' }];
    if (h.ethType === ETH_TYPE_IPV6 && h.nwProto === IPPROTO_ICMPV6 && (f.length < h.l4 + 1 || f[h.l4] === 1)) return [{ kind: 'ignored', reason: 'reject of an ICMPv6 destination unreachable' }];
    if (h.nwProto === IPPROTO_SCTP) return this.sctpAbort(pi, h, payload, true);
    return this.icmp(pi, h, payload, true, true);
  }

  /** The result field and bit of a pausing operation's payload (`nx_pull_header`, then the offset). */
  private resultOf(payload: Uint8Array): { field: MatchField; bit: number; rest: Uint8Array } {
    if (payload.length < 8) throw new ChassisError('decode', 'bad result OXM (truncated)');
    const h = u32(payload, 0);
    const hasExp = ((h >>> 16) & 0xffff) === 0xffff;
    const hdrLen = hasExp ? 8 : 4;
    const field = fieldOfHeader(h, 8);
    if (payload.length < hdrLen + 4) throw new ChassisError('decode', 'offset not present in the userdata');
    const bit = u32(payload, hdrLen);
    if (bit >= field.bits) throw new ChassisError('decode', `bad result bit ${bit} of ${field.name}`);
    return { field, bit, rest: payload.subarray(hdrLen + 4) };
  }

  private resume(pi: PinctrlPacketIn, frame: Uint8Array, r: { field: MatchField; bit: number } | undefined, ok: boolean): ResumeEffect {
    return { kind: 'resume', frame, result: r ? { field: r.field, bit: r.bit, value: ok ? 1 : 0 } : undefined, match: pi.match };
  }

  /** `pinctrl_handle_put_dhcp_opts`. */
  private putDhcpOpts(pi: PinctrlPacketIn, h: Headers, payload: Uint8Array): PinctrlEffect[] {
    let r;
    try {
      r = this.resultOf(payload);
    } catch (e) {
      return [this.resume(pi, pi.frame, undefined, false), { kind: 'ignored', reason: (e as Error).message }];
    }
    const fail = (reason: string): PinctrlEffect[] => [this.resume(pi, pi.frame, r, false), { kind: 'ignored', reason }];
    if (r.rest.length < 4) return fail('offset or offer_ip not present in the userdata');
    const offerIp = u32(r.rest, 0);
    let opts = r.rest.subarray(4);
    if (!opts.length) return fail('DHCP options not present in the userdata');
    const f = pi.frame;
    const udp = h.l4;
    const dhcp = udp + 8;
    const end = f.length;
    if (h.nwProto !== IPPROTO_UDP || dhcp > end) return fail('Invalid or incomplete DHCP packet received');
    if (dhcp + 236 > end) return fail('Invalid or incomplete DHCP packet received, bad data length');
    if (f[dhcp] !== 1) return fail(`Invalid opcode in the DHCP packet: ${f[dhcp]}`);
    let p = dhcp + 236;
    if (p + 4 > end || u32(f, p) !== 0x63825363) return fail('DHCP magic cookie not present in the DHCP packet');
    p += 4;
    let ipxe = false;
    let msgType: number | undefined;
    let requestIp = u32(f, dhcp + 12);
    while (p < end) {
      const code = f[p]!;
      if (code === 255) break;
      if (code === 0) {
        p++;
        continue;
      }
      if (p + 2 > end) break;
      const len = f[p + 1]!;
      const data = p + 2;
      p = data + len;
      if (p > end) break;
      if (code === 53 && len === 1) msgType = f[data]!;
      else if (code === 50 && len === 4) requestIp = u32(f, data);
      else if (code === 175) ipxe = true;
    }
    if (msgType === undefined) return fail('Missing DHCP message type');
    let reply = 0;
    switch (msgType) {
      case 1:
        reply = 2;
        break;
      case 3:
        reply = requestIp === offerIp ? 5 : 6;
        break;
      case 7:
        break;
      case 8: {
        reply = 5;
        const kept: number[] = [];
        for (let i = 0; i < opts.length; ) {
          const code = opts[i]!;
          const len = opts[i + 1] ?? 0;
          if (code !== 1 && code !== 51 && code !== 58 && code !== 59) kept.push(...opts.subarray(i, i + 2 + len));
          i += 2 + len;
        }
        opts = Uint8Array.from(kept);
        break;
      }
      case 4:
        return fail('DHCPDECLINE');
      default:
        return fail(`Invalid DHCP message type: ${msgType}`);
    }
    if (!reply) return [this.resume(pi, pi.frame, r, false)];
    // Next server and boot file options (253, 67, 254) are pinctrl's own: apply and rename them.
    let nextServer = u32(f, dhcp + 20);
    const o = opts.slice();
    let optStart = 0;
    let bootfileSet = false;
    for (let i = 0; i < o.length; ) {
      const code = o[i]!;
      const len = o[i + 1] ?? 0;
      if (code === 253 && len >= 4) nextServer = u32(o, i + 2);
      else if (code === 67) {
        const next = i + 2 + len;
        if (o[next] === 254) {
          if (!ipxe) {
            optStart = next;
            o[next] = 67;
          } else {
            const nextLen = o[next + 1] ?? 0;
            const mine = o.slice(i, i + 2 + len);
            optStart = i + 2 + nextLen;
            o.set(mine, optStart);
          }
        }
        bootfileSet = true;
      } else if (code === 254 && !bootfileSet) o[i] = 67;
      i += 2 + len;
    }
    const replyOpts = o.subarray(optStart);
    const nak = reply === 6;
    const newL4 = 8 + 236 + 16 + (nak ? 0 : replyOpts.length);
    const out = new Uint8Array(udp + newL4);
    out.set(f.subarray(0, udp + 8 + 236), 0);
    const d = udp + 8;
    out[d] = 2;
    if (msgType !== 8) {
      setU32(out, d + 16, nak ? 0 : offerIp);
      setU32(out, d + 20, nak ? 0 : nextServer);
    } else {
      setU32(out, d + 16, 0);
    }
    setU32(out, d + 236, 0x63825363);
    let q = d + 240;
    out[q++] = 53;
    out[q++] = 1;
    out[q++] = reply;
    if (!nak) {
      out.set(replyOpts, q);
      q += replyOpts.length;
    }
    q += 4;
    out[q] = 255;
    setU16(out, udp + 4, newL4);
    setU16(out, udp + 6, 0);
    const broadcast = (u16(out, d + 10) & 0x8000) !== 0;
    setU32(out, h.l3 + 16, broadcast ? 0xffffffff : offerIp);
    setU16(out, h.l3 + 2, udp - h.l3 + newL4);
    setU16(out, h.l3 + 10, 0);
    setU16(out, h.l3 + 10, internetChecksum(out, h.l3, 20));
    return [this.resume(pi, out, r, true)];
  }

  /** `pinctrl_handle_dns_lookup`. */
  private dnsLookup(pi: PinctrlPacketIn, h: Headers, payload: Uint8Array): PinctrlEffect[] {
    let r;
    try {
      r = this.resultOf(payload);
    } catch (e) {
      return [this.resume(pi, pi.frame, undefined, false), { kind: 'ignored', reason: (e as Error).message }];
    }
    const done = (reason?: string): PinctrlEffect[] => [this.resume(pi, pi.frame, r, false), ...(reason ? [{ kind: 'ignored' as const, reason }] : [])];
    const f = pi.frame;
    const udp = h.l4;
    if (h.nwProto !== IPPROTO_UDP || f.length - udp < 8 + 12) return done('truncated dns packet');
    const dns = udp + 8;
    if (f[dns + 2]! & 0x80) return done();
    if (!u16(f, dns + 4)) return done();
    if (u16(f, dns + 10)) return done();
    const end = udp + Math.min(u16(f, udp + 4), f.length - udp);
    const qname = dns + 12;
    let idx = 0;
    const labels: string[] = [];
    while (qname + idx < end && f[qname + idx]) {
      const len = f[qname + idx++]!;
      if (qname + idx + len > end) return done();
      labels.push(String.fromCharCode(...f.subarray(qname + idx, qname + idx + len)));
      idx += len;
    }
    idx++;
    const name = labels.join('.').toLowerCase();
    const afterName = qname + idx;
    if (afterName + 4 > end) return done();
    const qtype = u16(f, afterName);
    if (qtype !== 1 && qtype !== 28 && qtype !== 255 && qtype !== 12) return done();
    const dpKey = Number(matchValue(pi.match, 'metadata'));
    let answer: string | undefined;
    for (const recs of this.dns.recordsFor(dpKey)) {
      answer = recs.get(name);
      if (answer !== undefined) break;
    }
    if (answer === undefined) return done();
    const qbytes = f.subarray(qname, qname + idx);
    const ans: number[] = [];
    const base = (type: number) => {
      ans.push(...qbytes, type >> 8, type & 0xff, 0, 1, 0, 0, 0x0e, 0x10);
    };
    let ancount = 0;
    if (qtype === 12) {
      base(12);
      const enc: number[] = [0];
      let lenAt = 0;
      let n = 0;
      for (const ch of answer) {
        if (ch === '.') {
          enc[lenAt] = n;
          lenAt = enc.length;
          enc.push(0);
          n = 0;
        } else {
          enc.push(ch.charCodeAt(0) & 0xff);
          n++;
        }
      }
      enc[lenAt] = n;
      enc.push(0);
      ans.push(enc.length >> 8, enc.length & 0xff, ...enc);
      ancount++;
    } else {
      const v4: number[] = [];
      const v6: bigint[] = [];
      for (const tok of answer.split(/\s+/).filter((x) => x)) {
        const a = parseIpLoose(tok);
        if (a === undefined) return done();
        if (typeof a === 'number') v4.push(a);
        else v6.push(a);
      }
      if (qtype === 1 || qtype === 255) {
        for (const a of v4) {
          base(1);
          ans.push(0, 4, a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
          ancount++;
        }
      }
      if (qtype === 28 || qtype === 255) {
        for (const a of v6) {
          base(28);
          const b = new Uint8Array(16);
          ipv6ToBytes(a, b, 0);
          ans.push(0, 16, ...b);
          ancount++;
        }
      }
    }
    if (!ancount) return done();
    const newL4 = u16(f, udp + 4) + ans.length;
    const out = new Uint8Array(f.length + ans.length);
    out.set(f, 0);
    out.set(ans, f.length);
    out[dns + 2] = out[dns + 2]! | 0x80;
    setU16(out, dns + 6, ancount);
    setU16(out, dns + 10, 0);
    setU16(out, udp + 4, newL4);
    setU16(out, udp + 6, 0);
    if (h.ethType === ETH_TYPE_IP) {
      setU16(out, h.l3 + 2, udp - h.l3 + newL4);
      setU16(out, h.l3 + 10, 0);
      setU16(out, h.l3 + 10, internetChecksum(out, h.l3, 20));
    } else {
      setU16(out, h.l3 + 4, newL4);
      const c = l4ChecksumV6(out, udp, out.length - udp, IPPROTO_UDP, h.l3);
      setU16(out, udp + 6, c || 0xffff);
    }
    return [this.resume(pi, out, r, true)];
  }
}

function parseIpLoose(s: string): number | bigint | undefined {
  try {
    return s.includes(':') ? parseIpv6(s) : parseIpv4(s);
  } catch (e) {
    if (e instanceof AddressParseError) return undefined;
    throw e;
  }
}
