// The tshark fields `ovnts dissect --json` is compared on, and how our layers give them: shared by
// the random-corpus cross-check (tshark-crosscheck.test.ts) and the link-type one
// (tshark-linktypes.test.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LayerInfo } from '@ovnts/cli';
import { repoRoot } from '@ovnts/testkit';

/** The built CLI the cross-checks run. */
export const CLI = join(repoRoot, 'packages/cli/dist/main.js');

export type Get = (l: LayerInfo, prev: LayerInfo | undefined) => unknown[] | undefined;

/** Our layer fields as tshark fields: for each tshark field, the values one of our layers gives. */
export const FIELDS: [string, string, Get][] = [
  ['eth.src', 'eth', (l) => [l.src]],
  ['eth.dst', 'eth', (l) => [l.dst]],
  ['eth.type', 'eth', (l) => [l.type]],
  // tshark calls an 802.1ad (0x88a8) tag "ieee8021ad", an 802.1Q one "vlan".
  ['vlan.id', 'vlan', (l) => (l.tpid === 0x88a8 ? undefined : [l.vid])],
  ['vlan.priority', 'vlan', (l) => (l.tpid === 0x88a8 ? undefined : [l.pcp])],
  ['ieee8021ad.id', 'vlan', (l) => (l.tpid === 0x88a8 ? [l.vid] : undefined)],
  ['ieee8021ad.priority', 'vlan', (l) => (l.tpid === 0x88a8 ? [l.pcp] : undefined)],
  ['arp.opcode', 'arp', (l) => [l.op]],
  ['arp.src.proto_ipv4', 'arp', (l) => [l.spa]],
  ['arp.dst.proto_ipv4', 'arp', (l) => [l.tpa]],
  ['arp.src.hw_mac', 'arp', (l) => [l.sha]],
  ['arp.dst.hw_mac', 'arp', (l) => [l.tha]],
  ['ip.src', 'ipv4', (l) => [l.src]],
  ['ip.dst', 'ipv4', (l) => [l.dst]],
  ['ip.ttl', 'ipv4', (l) => [l.ttl]],
  ['ip.proto', 'ipv4', (l) => [l.proto]],
  ['ipv6.src', 'ipv6', (l) => [l.src]],
  ['ipv6.dst', 'ipv6', (l) => [l.dst]],
  ['ipv6.hlim', 'ipv6', (l) => [l.hlim]],
  ['ipv6.nxt', 'ipv6', (l) => [l.next]],
  ['udp.srcport', 'udp', (l) => [l.src]],
  ['udp.dstport', 'udp', (l) => [l.dst]],
  ['udp.length', 'udp', (l) => [l.len]],
  ['tcp.srcport', 'tcp', (l) => [l.src]],
  ['tcp.dstport', 'tcp', (l) => [l.dst]],
  ['tcp.flags', 'tcp', (l) => [l.flags]],
  ['tcp.seq_raw', 'tcp', (l) => [l.seq]],
  ['tcp.ack_raw', 'tcp', (l) => [l.ack]],
  ['tcp.len', 'tcp', (l) => [l.len]],
  ['icmp.type', 'icmp', (l) => [l.type]],
  ['icmp.code', 'icmp', (l) => [l.code]],
  ['icmpv6.type', 'icmpv6', (l) => [l.type]],
  ['icmpv6.code', 'icmpv6', (l) => [l.code]],
  ['icmpv6.nd.ns.target_address', 'nd', (l, p) => (p?.type === 135 ? [l.target] : undefined)],
  ['icmpv6.nd.na.target_address', 'nd', (l, p) => (p?.type === 136 ? [l.target] : undefined)],
  ['igmp.type', 'igmp', (l) => [l.type]],
  ['igmp.maddr', 'igmp', (l) => (Array.isArray(l.groups) ? l.groups : l.group === null ? [] : [l.group])],
  // MLDv1 messages and MLDv2 queries carry one address; an MLDv2 report one per record.
  ['icmpv6.mld.multicast_address', 'mld', (l) => (l.type === 143 ? undefined : [l.group])],
  ['icmpv6.mldr.mar.multicast_address', 'mld', (l) => (l.type === 143 ? (l.groups as unknown[]) : undefined)],
  ['dhcp.type', 'dhcp', (l) => [l.op]],
  ['dhcp.id', 'dhcp', (l) => [l.xid]],
  ['dhcp.option.dhcp', 'dhcp', (l) => (l.msgType === null ? [] : [l.msgType])],
  ['dhcpv6.msgtype', 'dhcpv6', (l) => [l.msgType]],
  ['dhcpv6.xid', 'dhcpv6', (l) => ('xid' in l ? [l.xid] : [])],
  ['dhcpv6.hopcount', 'dhcpv6', (l) => ('hopCount' in l ? [l.hopCount] : [])],
  ['dns.id', 'dns', (l) => [l.id]],
  ['dns.flags.response', 'dns', (l) => [l.qr]],
  ['dns.qry.name', 'dns', (l) => l.questions as unknown[]],
  ['geneve.vni', 'geneve', (l) => [l.vni]],
  ['geneve.proto_type', 'geneve', (l) => [l.protocol]],
  ['geneve.option.class', 'geneve', (l) => opts(l).map((o) => o.class)],
  ['geneve.option.type', 'geneve', (l) => opts(l).map((o) => o.type)],
  // tshark's geneve.option.length: the header's total options length, then each option's length.
  ['geneve.option.length', 'geneve', (l) => [opts(l).reduce((n, o) => n + 4 + o.data.length / 2, 0), ...opts(l).map((o) => 4 + o.data.length / 2)]],
  ['geneve.option.unknown.data', 'geneve', (l) => opts(l).map((o) => o.data)],
  ['vxlan.vni', 'vxlan', (l) => [l.vni]],
];

export function opts(l: LayerInfo): { class: number; type: number; data: string }[] {
  return l.options as { class: number; type: number; data: string }[];
}

/** One value in a comparable form: numbers (tshark prints many in hex) in decimal, text lower-case. */
export function norm(v: unknown): string {
  if (v === true || v === 'True') return '1';
  if (v === false || v === 'False') return '0';
  if (v === '<MISSING>') return '';
  const s = String(v).toLowerCase();
  return /^0x[0-9a-f]+$/.test(s) ? String(parseInt(s, 16)) : s;
}

/** Our occurrences of every compared field, in frame order. */
export function expected(layers: LayerInfo[], fields: readonly [string, string, Get][] = FIELDS): Map<string, string[]> {
  const m = new Map<string, string[]>(fields.map(([f]) => [f, []]));
  layers.forEach((l, i) => {
    for (const [field, layer, get] of fields) {
      if (l.layer !== layer) continue;
      const vs = get(l, layers[i - 1]);
      if (vs) m.get(field)!.push(...vs.map(norm));
    }
  });
  return m;
}

/** tshark dissects past where we stop by design (see the comment at the top). */
export function tsharkGoesDeeper(layers: LayerInfo[]): boolean {
  const last = layers[layers.length - 1];
  if (!last) return false;
  if (last.layer === 'icmp') return last.type !== 0 && last.type !== 8;
  if (last.layer === 'icmpv6') return (last.type as number) < 128;
  if (last.layer === 'dhcpv6') return last.msgType === 12 || last.msgType === 13;
  return false;
}

/** One line of `ovnts dissect --json`. */
export interface Json {
  index: number;
  len: number;
  caplen?: number;
  layers: LayerInfo[];
  error?: { layer: string; code: string; offset: number };
}

/** `ovnts dissect --json FILE`, parsed, without blocking the worker's event loop (vitest's RPC needs it). */
export async function runCli(file: string): Promise<Json[]> {
  let out: string;
  try {
    out = (await promisify(execFile)(process.execPath, [CLI, 'dissect', '--json', file], { encoding: 'utf8', maxBuffer: 1 << 30 })).stdout;
  } catch (e) {
    assert.fail(`ovnts dissect --json failed: ${(e as Error).message}`);
  }
  return out.trimEnd().split('\n').map((l) => JSON.parse(l) as Json);
}

