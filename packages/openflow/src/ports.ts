/**
 * Switch ports: normal ports, tunnel ports (Geneve or VXLAN, remote endpoint taken from the flow's
 * `tun_dst` as OVS's `options:remote_ip=flow` does, or fixed per port as `options:remote_ip=IP`)
 * and the internal LOCAL port, plus the Geneve TLV map that ties `tun_metadata0..7` to option
 * class/type/length (OVS `add-tlv-map`), and the OpenFlow port numbers with their names as
 * ovs-ofctl reads and prints them.
 */
import type { TunnelKind } from '@ovnts/geneve';

/** OpenFlow 1.0 reserved port numbers (OVS `ofp_port_t`, 16 bits). */
export const OFPP = {
  MAX: 0xff00,
  IN_PORT: 0xfff8,
  TABLE: 0xfff9,
  NORMAL: 0xfffa,
  FLOOD: 0xfffb,
  ALL: 0xfffc,
  CONTROLLER: 0xfffd,
  LOCAL: 0xfffe,
  NONE: 0xffff,
} as const;

/** OpenFlow 1.1+ port numbers are 32 bits; the reserved ones (0xffffff00 up) map to 0xff00 up (OVS `OFPP11_OFFSET`). */
const OFPP11_OFFSET = 0xffff_0000;

/** OVS's `OFPP_UNSET`: no port (`actset_output` of an action set without output). */
export const OFPP_UNSET = 0xfff7;

// Names OVS parses (`OFPUTIL_NAMED_PORTS_WITH_NONE`) in the order it prints them: 0xffff prints as `ANY`.
const PORT_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['IN_PORT', OFPP.IN_PORT], ['TABLE', OFPP.TABLE], ['NORMAL', OFPP.NORMAL], ['FLOOD', OFPP.FLOOD],
  ['ALL', OFPP.ALL], ['CONTROLLER', OFPP.CONTROLLER], ['LOCAL', OFPP.LOCAL], ['ANY', OFPP.NONE], ['UNSET', OFPP_UNSET],
  ['NONE', OFPP.NONE],
];

/** A port number to OVS text (`LOCAL`, `IN_PORT`, `ANY`, or decimal). */
export function formatPort(p: number): string {
  for (const [n, v] of PORT_NAMES) if (v === p) return n;
  return String(p);
}

/**
 * Parse a port as OVS `ofputil_port_from_string()` does: a reserved name in any case (`NONE` is
 * `ANY`), a decimal number 0..65535, or an OpenFlow 1.1 reserved number 0xffffff00..0xffffffff
 * (mapped to 0xff00..0xffff); undefined if invalid. Range checks are the caller's.
 */
export function parsePort(s: string): number | undefined {
  const up = s.toUpperCase();
  for (const [n, v] of PORT_NAMES) if (n === up) return v;
  if (!/^[0-9]+$/.test(s)) return undefined;
  const v = Number(s);
  if (v <= 0xffff) return v;
  return v >= 0xffff_ff00 && v <= 0xffff_ffff ? v - OFPP11_OFFSET : undefined;
}

/**
 * Is `port` a valid output port (OVS `ofpact_check_output_port()` with `OFPP_MAX` ports)? The
 * reserved ports IN_PORT, TABLE, NORMAL, FLOOD, ALL, CONTROLLER and LOCAL are; ANY/NONE is not, nor
 * is any number from 0xff00 (OFPP_MAX) to 0xfff7.
 */
export function isValidOutputPort(port: number): boolean {
  return port < OFPP.MAX || (port >= OFPP.IN_PORT && port !== OFPP.NONE);
}

/** What a port is. */
export type PortKind = 'normal' | 'tunnel' | 'internal';

/**
 * Receives a frame a port transmits. The bytes are only valid during the call (they may live in a
 * scratch buffer reused for the next frame); copy them to keep them.
 */
export type OutputSink = (port: number, frame: Uint8Array) => void;

/** Tunnel port settings (the fixed part of the outer headers; the remote comes from the flow). */
export interface TunnelPortConfig {
  /** Geneve (default) or VXLAN (`TunnelKind` of @ovnts/geneve). */
  kind?: TunnelKind;
  /** Local IPv4 address (outer source when the flow's `tun_src` is 0). */
  localIp: number;
  /** Remote IPv4 address (OVS `options:remote_ip=IP`): the outer destination whatever the flow's `tun_dst` (absent: `remote_ip=flow`). */
  remoteIp?: number;
  /** Outer source MAC. */
  ethSrc: number;
  /** Outer destination MAC: a fixed next hop, or a function of the remote address. */
  ethDst: number | ((remoteIp: number) => number);
  /** Outer TTL (default 64). */
  ttl?: number;
  /** Outer UDP checksum (default false over IPv4). */
  udpChecksum?: boolean;
  /** UDP destination port (default 6081 / 4789). */
  dstPort?: number;
}

/** How a port is created. */
export interface PortConfig {
  /** OpenFlow port number (1..0xfeff). */
  number: number;
  /** Name (default `p<number>`). */
  name?: string;
  /** Kind (default `normal`). */
  kind?: PortKind;
  /** Tunnel settings (kind `tunnel`). */
  tunnel?: TunnelPortConfig;
  /** Link liveness (default true): a down port transmits nothing and is not live for ff groups. */
  up?: boolean;
  /** OFPPC_NO_FLOOD: excluded from FLOOD. */
  noFlood?: boolean;
  /** OFPPC_NO_FWD: output to it is skipped. */
  noForward?: boolean;
  /** OFPPC_NO_RECV: frames received on it are dropped. */
  noRecv?: boolean;
  /** OFPPC_NO_PACKET_IN: kept and reported (OVS 3.1 does not act on it either). */
  noPacketIn?: boolean;
  /** Where transmitted frames go (overrides the switch-wide sink). */
  sink?: OutputSink;
  /** NORMAL: OVS Port `tag` (access VLAN, or the native VLAN of the native-* modes). */
  tag?: number;
  /** NORMAL: OVS Port `trunks` (VLANs carried; none = all). */
  trunks?: number[];
  /** NORMAL: OVS Port `vlan_mode` (default `access` with a tag, else `trunk`). */
  vlanMode?: 'access' | 'trunk' | 'native-tagged' | 'native-untagged';
}

/** Per-port counters. */
export interface PortStats {
  /** Frames received. */
  rxPackets: number;
  /** Bytes received. */
  rxBytes: number;
  /** Frames transmitted. */
  txPackets: number;
  /** Bytes transmitted. */
  txBytes: number;
  /** Frames not transmitted because the port was down. */
  txDropped: number;
  /** Frames received that could not be decapsulated (tunnel ports). */
  rxErrors: number;
}

/** A port of the switch. */
export interface Port {
  /** OpenFlow port number (`OFPP.LOCAL` for the bridge's own port). */
  readonly number: number;
  /** Name. */
  readonly name: string;
  /** Kind. */
  readonly kind: PortKind;
  /** Tunnel settings. */
  readonly tunnel?: TunnelPortConfig;
  /** Link liveness. */
  up: boolean;
  /** Excluded from FLOOD. */
  noFlood: boolean;
  /** Output skipped. */
  noForward: boolean;
  /** OFPPC_NO_RECV: received frames are dropped (counted in `stats` first). */
  noRecv: boolean;
  /** OFPPC_NO_PACKET_IN (kept, reported in port descriptions). */
  noPacketIn: boolean;
  /** OFPPC_PORT_DOWN: administratively down (the link goes down with it, `up` false). */
  adminDown: boolean;
  /** When it was added (the switch clock's ms; port statistics' duration). */
  created: number;
  /** Sink for this port's frames. */
  sink?: OutputSink;
  /** Counters. */
  readonly stats: PortStats;
}

/** Build a port from its configuration. */
export function makePort(c: PortConfig, now = 0): Port {
  const p: Port = {
    number: c.number,
    name: c.name ?? (c.number === OFPP.LOCAL ? 'LOCAL' : `p${c.number}`),
    kind: c.kind ?? (c.number === OFPP.LOCAL ? 'internal' : 'normal'),
    up: c.up ?? true,
    noFlood: c.noFlood ?? false,
    noForward: c.noForward ?? false,
    noRecv: c.noRecv ?? false,
    noPacketIn: c.noPacketIn ?? false,
    adminDown: false,
    created: now,
    stats: { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0, rxErrors: 0 },
    ...(c.tunnel ? { tunnel: c.tunnel } : {}),
    ...(c.sink ? { sink: c.sink } : {}),
  };
  return p;
}

/** One Geneve TLV mapping: option (class, type, length in bytes) <-> `tun_metadata<index>`. */
export interface TlvMapping {
  /** Option class. */
  optClass: number;
  /** Option type (the critical bit included). */
  type: number;
  /** Data length in bytes (a multiple of 4, at most 16 here). */
  len: number;
  /** Which `tun_metadata` field (0..7). */
  index: number;
}
