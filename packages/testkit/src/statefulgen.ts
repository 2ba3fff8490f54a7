/**
 * Seeded random cases for the differential tests of the switch's stateful engines against Open
 * vSwitch: meters (token buckets on the clock), NORMAL (MAC learning, VLAN modes, MAC aging) and
 * packet-out (actions run on a given packet with a given in_port).
 *
 * Design. A case is plain data (ovs-ofctl text, port settings, and a list of steps: a frame on a
 * port, or a clock advance), so both sides run exactly the same thing and a failure prints its
 * seed. Values come from small pools so that frames meet each other (a MAC learned by one frame
 * is the destination of a later one, two flows share a meter, a VLAN is carried by some ports
 * and not by others). Frames are well-formed (correct checksums); their sizes vary so that
 * kbps meters see different byte counts.
 */
import { PacketBuilder, formatMac } from '@ovnts/packet';
import { Rng } from './corpus.js';

/** One step: a frame received on a port, or the clock moving on by `warp` milliseconds. */
export type StatefulStep = { port: number; bytes: Uint8Array; label: string } | { warp: number };

/** A random meter case. */
export interface MeterCase {
  /** `ovs-ofctl add-meter` lines. */
  meters: string[];
  /** `ovs-ofctl add-flows` text. */
  flows: string;
  /** Frames and clock advances, in order. */
  steps: StatefulStep[];
}

/** UDP or TCP frame of about `size` bytes between two hosts of the pools. */
function sizedFrame(r: Rng, size: number): Uint8Array {
  const src = r.pick(HOST_MACS);
  const dst = r.pick(HOST_MACS.filter((m) => m !== src));
  const b = new PacketBuilder().ethernet({ src, dst }).ipv4({ src: `10.0.0.${r.int(1, 9)}`, dst: `10.0.1.${r.int(1, 9)}`, ttl: 64 });
  const pay = Math.max(0, size - 14 - 20 - 8);
  if (r.chance(0.5)) b.udp({ srcPort: r.int(1000, 1010), dstPort: 53 });
  else b.tcp({ srcPort: r.int(1000, 1010), dstPort: 80, flags: 'A', seq: 1, ack: 1 });
  return b.payload(new Uint8Array(pay).map((_, i) => i & 0xff)).build();
}

const HOST_MACS = ['50:54:00:00:00:01', '50:54:00:00:00:02', '50:54:00:00:00:03', '50:54:00:00:00:04', '50:54:00:00:00:05'];

/**
 * Meters (pktps or kbps, with or without `burst`, one or two drop bands) used by flows of several
 * ports, and a sequence of bursts of frames of varied sizes with clock advances between them
 * (from 0 to a few seconds, so buckets drain, refill partly and refill to the brim).
 */
export function randomMeterCase(seed: number): MeterCase {
  const r = new Rng(seed);
  const ids = [1, 2, 3, 7, 100].slice(0, r.int(1, 3));
  const meters = ids.map((id) => {
    const kbps = r.chance(0.5);
    const burst = r.chance(0.5);
    const flags = [kbps ? 'kbps' : 'pktps', ...(burst ? ['burst'] : []), ...(r.chance(0.5) ? ['stats'] : [])];
    const nb = r.int(1, 2);
    const rates = new Set<number>();
    while (rates.size < nb) rates.add(kbps ? r.pick([8, 64, 100, 500, 1000, 4000]) : r.int(1, 40));
    const bands = [...rates].map((rate) => {
      const b = `type=drop,rate=${rate}`;
      if (!burst) return b;
      return `${b},burst_size=${kbps ? r.pick([8, 64, 512, 2000, 12000]) : r.int(1, 20)}`;
    });
    return `meter=${id},${flags.join(',')},bands=${bands.join(',')}`;
  });
  const flows: string[] = [];
  for (const p of [1, 2, 3]) {
    const m = r.pick(ids);
    const out = r.pick([2, 3, 4].filter((q) => q !== p).concat([4]));
    if (r.chance(0.3)) {
      flows.push(`table=0,priority=10,in_port=${p},actions=meter:${m},goto_table:1`);
    } else if (r.chance(0.2)) {
      flows.push(`table=0,priority=10,in_port=${p},tcp,actions=meter:${m},output:${out}`, `table=0,priority=5,in_port=${p},actions=output:${out}`);
    } else flows.push(`table=0,priority=10,in_port=${p},actions=meter:${m},output:${out}`);
  }
  flows.push(`table=1,priority=0,actions=${r.chance(0.5) ? `meter:${r.pick(ids)},` : ''}output:4`);
  const steps: StatefulStep[] = [];
  const n = r.int(20, 45);
  for (let i = 0; i < n; i++) {
    if (r.chance(0.25)) {
      steps.push({ warp: r.pick([0, 1, 2, 5, 10, 50, 100, 250, 999, 1000, 1001, 3000]) });
      continue;
    }
    const port = r.int(1, 3);
    const f = sizedFrame(r, r.pick([60, 64, 128, 300, 512, 1000, 1400]));
    const times = r.pick([1, 1, 2, 3, 5, 8]);
    for (let k = 0; k < times; k++) steps.push({ port, bytes: f, label: `frame ${i} x${k + 1} on ${port} (${f.length} B)` });
  }
  return { meters, flows: flows.join('\n'), steps };
}

/** A port's NORMAL (OVS `Port`) settings. */
export interface NormalGenPort {
  /** OpenFlow port number. */
  port: number;
  /** `tag`. */
  tag?: number;
  /** `trunks`. */
  trunks?: number[];
  /** `vlan_mode`. */
  vlanMode?: 'access' | 'trunk' | 'native-tagged' | 'native-untagged';
}

/** A random NORMAL case. */
export interface NormalCase {
  /** The ports and their VLAN settings. */
  ports: NormalGenPort[];
  /** `ovs-ofctl add-flows` text (NORMAL, sometimes behind other flows). */
  flows: string;
  /** Frames and clock advances. */
  steps: StatefulStep[];
}

const VLANS = [10, 20, 30];

/**
 * Five ports with random VLAN modes (trunk of everything, access, trunks of some VLANs, native
 * tagged/untagged), a table that is NORMAL (sometimes behind a flow that outputs elsewhere or
 * strips a tag first), and frames between a handful of hosts, untagged, priority-tagged or tagged
 * with VLANs the ports carry or not, to unicast, broadcast, multicast and reserved (BPDU)
 * addresses; hosts move between ports; the clock sometimes jumps past the MAC aging time (300 s).
 */
export function randomNormalCase(seed: number): NormalCase {
  const r = new Rng(seed);
  const ports: NormalGenPort[] = [];
  const someVlans = (): number[] => {
    const s = VLANS.filter(() => r.chance(0.5));
    return s.length ? s : [r.pick(VLANS)];
  };
  for (let p = 1; p <= 5; p++) {
    const kind = r.weighted({ trunk: 2, access: 3, trunks: 2, nativeTagged: 1, nativeUntagged: 1 });
    if (kind === 'trunk') ports.push({ port: p });
    else if (kind === 'access') ports.push({ port: p, tag: r.pick(VLANS) });
    else if (kind === 'trunks') ports.push({ port: p, trunks: someVlans() });
    else ports.push({ port: p, tag: r.pick(VLANS), trunks: someVlans(), vlanMode: kind === 'nativeTagged' ? 'native-tagged' : 'native-untagged' });
  }
  const flows = ['priority=0,actions=NORMAL'];
  if (r.chance(0.3)) flows.push(`priority=10,in_port=${r.int(1, 5)},dl_dst=${HOST_MACS[0]},actions=output:${r.int(1, 5)}`);
  if (r.chance(0.3)) flows.push(`priority=10,in_port=${r.int(1, 5)},dl_vlan=${r.pick(VLANS)},actions=strip_vlan,NORMAL`);
  const dsts = [...HOST_MACS, 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '33:33:00:00:00:01', '01:80:c2:00:00:00'];
  const home = new Map<string, number>(HOST_MACS.map((m) => [m, r.int(1, 5)]));
  const steps: StatefulStep[] = [];
  const n = r.int(15, 40);
  for (let i = 0; i < n; i++) {
    if (r.chance(0.08)) {
      steps.push({ warp: r.pick([1000, 30_000, 100_000, 150_000, 290_000, 310_000]) });
      continue;
    }
    const src = r.pick(HOST_MACS);
    if (r.chance(0.1)) home.set(src, r.int(1, 5));
    const port = home.get(src)!;
    const dst = r.pick(dsts.filter((d) => d !== src));
    const b = new PacketBuilder().ethernet({ src, dst });
    const tag = r.weighted({ none: 4, vlan: 4, prio: 1 });
    let vid: number | undefined;
    if (tag === 'vlan') vid = r.chance(0.85) ? r.pick(VLANS) : 40;
    else if (tag === 'prio') vid = 0;
    if (vid !== undefined) b.vlan({ vid, pcp: r.int(0, 7) });
    const bytes = b.ipv4({ src: '10.0.0.1', dst: '10.0.0.2', ttl: 64 }).udp({ srcPort: 1000 + i, dstPort: 2000 }).payload('normal').build();
    steps.push({ port, bytes, label: `frame ${i}: ${src} -> ${dst}${vid === undefined ? '' : ` vid ${vid}`} on ${port}` });
  }
  return { ports, flows: flows.join('\n'), steps };
}

/** One random packet-out. */
export interface GenPacketOut {
  /** `in_port` as ovs-ofctl writes it (a number, `LOCAL`, `NONE`, `CONTROLLER`). */
  inPort: string;
  /** The packet. */
  frame: Uint8Array;
  /** The action list, ovs-ofctl text. */
  actions: string;
  /** `in_port=... packet=HEX actions=...`, as `ovs-ofctl packet-out` takes it. */
  text: string;
}

/**
 * Packet-outs with random in_ports (switch ports, LOCAL, NONE, CONTROLLER, a port that does not
 * exist) and action lists from a pool that includes outputs to real and reserved ports
 * (IN_PORT, ALL, FLOOD, TABLE), rewrites with and without their prerequisites (so some are
 * refused), VLAN push/pop, groups and resubmit; `frames` are the packets to send (e.g. from
 * `framesForTable`), `groups` the group ids the table defines.
 */
export function randomPacketOuts(seed: number, frames: readonly Uint8Array[], ports: readonly number[], groups: readonly number[], n: number): GenPacketOut[] {
  const r = new Rng(seed);
  const out: GenPacketOut[] = [];
  const pool = (): string => {
    const k = r.weighted({ output: 6, reserved: 3, table: 2, dl: 2, vlan: 2, ip: 2, group: groups.length ? 1 : 0, resubmit: 1, ttl: 1, misc: 1 });
    switch (k) {
      case 'output':
        return `output:${r.pick(ports)}`;
      case 'reserved':
        return `output:${r.pick(['IN_PORT', 'ALL', 'FLOOD', 'NONE'])}`;
      case 'table':
        return 'output:TABLE';
      case 'dl':
        return r.chance(0.5) ? `mod_dl_src:${formatMac(0x020000000000 + r.int(1, 9))}` : `set_field:${formatMac(0x020000000000 + r.int(1, 9))}->eth_dst`;
      case 'vlan':
        return r.pick(['push_vlan:0x8100', 'mod_vlan_vid:5', 'set_field:4101->vlan_vid', 'strip_vlan', 'mod_vlan_pcp:3', 'push_vlan:0x88a8']);
      case 'ip':
        return r.pick(['mod_nw_dst:10.9.9.9', 'set_field:10.8.8.8->ip_src', 'mod_nw_tos:8', 'mod_tp_dst:99', 'set_field:2001:db8::9->ipv6_dst']);
      case 'group':
        return `group:${r.pick(groups)}`;
      case 'resubmit':
        return `resubmit(,${r.int(0, 2)})`;
      case 'ttl':
        return r.pick(['dec_ttl', 'mod_nw_ttl:2']);
      default:
        return r.pick(['controller', 'drop', 'set_field:0x5->reg0', 'load:0x1->NXM_NX_REG1[0..3]']);
    }
  };
  for (let i = 0; i < n; i++) {
    const inPort = r.weighted({ port: 8, LOCAL: 1, NONE: 1, CONTROLLER: 1, missing: 1 });
    const ip = inPort === 'port' ? String(r.pick(ports)) : inPort === 'missing' ? '77' : inPort;
    const acts: string[] = [];
    const na = r.int(1, 4);
    for (let k = 0; k < na; k++) acts.push(pool());
    const drop = acts.indexOf('drop');
    const actions = drop >= 0 ? (acts.length === 1 ? 'drop' : acts.filter((a) => a !== 'drop').join(',')) : acts.join(',');
    const frame = r.pick(frames);
    out.push({ inPort: ip, frame, actions, text: `in_port=${ip} packet=${Buffer.from(frame).toString('hex')} actions=${actions}` });
  }
  return out;
}
