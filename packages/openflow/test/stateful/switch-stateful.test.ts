/**
 * The stateful features through the `Switch`, with real frames on a `VirtualClock`: connection
 * tracking (a TCP firewall, SNAT and DNAT with ranges, ICMP RELATED, zones, `ct(table)` forks and
 * their output order), learn (the learned flow's effect, its idle timeout, limit), conjunctive
 * matches, NORMAL (learning, flooding, VLANs, aging), select and fast-failover groups, meters,
 * timeouts with flow-removed events, packet-out and packet-ins, IP fragments looked up with L4
 * ports 0, and traces of recirculations.
 */
import { describe, expect, it } from 'vitest';
import { PacketBuilder, fromHex } from '@ovnts/packet';
import { OFPP, RemovedReason, Switch, VirtualClock, formatTrace, parseFlow, parseLearnAction, type FlowRemovedEvent, type PacketIn } from '@ovnts/openflow';
import { icmp, icmpError, tcp, udp } from '../conntrack/helpers.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Rig {
  sw: Switch;
  clock: VirtualClock;
  /** Frames per port since the last `take()`. */
  take(): Record<number, Uint8Array[]>;
  /** The ports the last frames went to, in order. */
  order: number[];
  pins: PacketIn[];
  removed: FlowRemovedEvent[];
}

function rig(ports = [1, 2, 3, 4], flows = '', configure?: (sw: Switch) => void): Rig {
  const clock = new VirtualClock();
  let out: Record<number, Uint8Array[]> = {};
  const order: number[] = [];
  const pins: PacketIn[] = [];
  const removed: FlowRemovedEvent[] = [];
  const sw = new Switch({
    clock,
    onOutput: (p, f) => {
      (out[p] ??= []).push(f.slice());
      order.push(p);
    },
    onPacketIn: (pi) => pins.push({ ...pi, frame: pi.frame.slice() }),
    onFlowRemoved: (ev) => removed.push(ev),
  });
  if (configure) configure(sw);
  else for (const p of ports) sw.addPort({ number: p });
  if (flows) sw.addFlows(flows);
  return {
    sw, clock, order, pins, removed,
    take() {
      const o = out;
      out = {};
      order.length = 0;
      return o;
    },
  };
}

/** Send and return the ports that got something (sorted). */
function send(r: Rig, port: number, frame: Uint8Array): number[] {
  r.take();
  r.sw.receive(port, frame);
  return Object.keys(r.take())
    .map(Number)
    .sort((a, b) => a - b);
}

const ip4 = (b: Uint8Array, at: number): string => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const port16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;

describe('connection tracking through the switch', () => {
  const FIREWALL = `
    table=0,priority=100,ip,actions=ct(table=1,zone=1)
    table=0,priority=0,actions=drop
    table=1,priority=100,in_port=1,ip,ct_state=+trk+new,actions=ct(commit,zone=1),output:2
    table=1,priority=100,ip,ct_state=+trk+est,in_port=1,actions=output:2
    table=1,priority=100,ip,ct_state=+trk+est,in_port=2,actions=output:1
    table=1,priority=100,ip,ct_state=+trk+rel,actions=output:NXM_NX_REG0[0..15]
    table=1,priority=90,ip,ct_state=+trk+new,in_port=2,actions=drop
    table=1,priority=90,ip,ct_state=+trk+inv,actions=drop
  `;

  it('stateful firewall: a TCP connection from inside works both ways, new connections from outside and invalid segments are dropped', () => {
    const r = rig([1, 2], FIREWALL);
    const A = '10.0.0.1';
    const B = '172.16.0.2';
    expect(send(r, 1, tcp(A, B, 40000, 80, 'S', 1000))).toEqual([2]);
    expect(send(r, 2, tcp(B, A, 80, 40000, 'SA', 5000, 1001))).toEqual([1]);
    expect(send(r, 1, tcp(A, B, 40000, 80, 'A', 1001, 5001))).toEqual([2]);
    expect(send(r, 1, tcp(A, B, 40000, 80, 'PA', 1001, 5001, 'GET /'))).toEqual([2]);
    expect(send(r, 2, tcp(B, A, 80, 40000, 'PA', 5001, 1006, 'HTTP/1.1 200'))).toEqual([1]);
    // A new connection from outside: +new from port 2 is dropped.
    expect(send(r, 2, tcp(B, A, 5555, 22, 'S', 1))).toEqual([]);
    // An invalid segment (SYN+FIN) is +inv and dropped, from either side.
    expect(send(r, 1, tcp(A, B, 40001, 80, 'SF', 1))).toEqual([]);
    expect(r.sw.conntrack.dump(1)).toEqual([
      'tcp,orig=(src=10.0.0.1,dst=172.16.0.2,sport=40000,dport=80),reply=(src=172.16.0.2,dst=10.0.0.1,sport=80,dport=40000),zone=1,protoinfo=(state=ESTABLISHED)',
    ]);
    // Counters: table 0 saw every packet, the est flows their packets.
    const est = r.sw.flows(1).find((e) => e.flow.match.toString().includes('est') && e.flow.match.toString().includes('in_port=2'));
    expect(est?.packets ?? r.sw.flows(1)[2]!.packets).toBeGreaterThan(0);
  });

  it('the connection expires on the clock: after tcp_established idle time a reply is +new (and dropped)', () => {
    const r = rig([1, 2], FIREWALL);
    r.sw.conntrack.setTimeoutPolicy(0, { tcp_established: 10 });
    const A = '10.0.0.1';
    const B = '172.16.0.2';
    send(r, 1, tcp(A, B, 40000, 80, 'S', 1000));
    send(r, 2, tcp(B, A, 80, 40000, 'SA', 5000, 1001));
    send(r, 1, tcp(A, B, 40000, 80, 'A', 1001, 5001));
    r.clock.advance(9999);
    expect(send(r, 2, tcp(B, A, 80, 40000, 'A', 5001, 1001))).toEqual([1]);
    r.clock.advance(10000);
    // Picked up as a new connection from outside (a bare ACK is +new in OVS): dropped.
    expect(send(r, 2, tcp(B, A, 80, 40000, 'A', 5001, 1001))).toEqual([]);
  });

  it('ICMP errors quoting a tracked connection are +rel', () => {
    const r = rig([1, 2], FIREWALL);
    r.sw.addFlow('table=0,priority=200,in_port=2,icmp,actions=load:1->NXM_NX_REG0[0..15],ct(table=1,zone=1)');
    const out = udp('10.0.0.1', '172.16.0.2', 1000, 53);
    expect(send(r, 1, out)).toEqual([2]);
    const err = icmpError('172.16.0.2', '10.0.0.1', 3, 3, out.subarray(14));
    expect(send(r, 2, err)).toEqual([1]);
    // The same error about a connection nobody opened is +inv.
    const other = udp('10.0.0.1', '172.16.0.2', 1001, 53);
    expect(send(r, 2, icmpError('172.16.0.2', '10.0.0.1', 3, 3, other.subarray(14)))).toEqual([]);
  });

  it('SNAT with an address and port range, replies un-NATed; the range runs out', () => {
    const r = rig([1, 2], `
      table=0,in_port=1,ip,actions=ct(commit,zone=5,nat(src=192.168.0.10-192.168.0.11:5000-5001),table=1)
      table=0,in_port=2,ip,actions=ct(zone=5,nat,table=2)
      table=1,ct_state=+snat,actions=output:2
      table=2,ct_state=+trk+est,actions=output:1
    `);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      r.take();
      r.sw.receive(1, udp('10.0.0.1', '8.8.8.8', 1000 + i, 53));
      const o = r.take()[2]!;
      expect(o.length, `connection ${i}`).toBe(1);
      const src = ip4(o[0]!, 26);
      const sport = port16(o[0]!, 34);
      expect(['192.168.0.10', '192.168.0.11']).toContain(src);
      expect([5000, 5001]).toContain(sport);
      seen.add(`${src}:${sport}`);
      // The reply to the translated address comes back to the original one.
      r.sw.receive(2, udp('8.8.8.8', src, 53, sport));
      const back = r.take()[1]!;
      expect(back.length).toBe(1);
      expect(ip4(back[0]!, 30)).toBe('10.0.0.1');
      expect(port16(back[0]!, 36)).toBe(1000 + i);
    }
    expect(seen.size).toBe(4);
    // The fifth connection finds no free tuple: the commit fails, the packet is not translated.
    expect(send(r, 1, udp('10.0.0.1', '8.8.8.8', 2000, 53))).toEqual([]);
    expect(r.sw.conntrack.stats.natExhausted).toBe(1);
  });

  it('DNAT load balancing to a range of backends; replies carry the virtual address', () => {
    const r = rig([1, 2], `
      table=0,in_port=1,tcp,nw_dst=10.0.0.100,tp_dst=80,actions=ct(commit,zone=7,nat(dst=10.1.0.1-10.1.0.3:8080),table=1)
      table=0,in_port=2,ip,actions=ct(zone=7,nat,table=2)
      table=1,ct_state=+dnat,actions=output:2
      table=2,ct_state=+est,actions=output:1
    `);
    const backends = new Set<string>();
    for (let i = 0; i < 24; i++) {
      r.take();
      r.sw.receive(1, tcp(`10.0.1.${i + 1}`, '10.0.0.100', 30000 + i, 80, 'S', 7));
      const o = r.take()[2]!;
      const be = ip4(o[0]!, 30);
      backends.add(be);
      expect(port16(o[0]!, 36)).toBe(8080);
      r.sw.receive(2, tcp(be, `10.0.1.${i + 1}`, 8080, 30000 + i, 'SA', 100, 8));
      const back = r.take()[1]!;
      expect(ip4(back[0]!, 26)).toBe('10.0.0.100');
      expect(port16(back[0]!, 34)).toBe(80);
    }
    expect([...backends].sort()).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3']);
  });

  it('zones are separate tables; zone from a register; exec sets ct_mark', () => {
    const r = rig([1, 2, 3], `
      table=0,in_port=1,ip,actions=load:7->NXM_NX_REG0[0..15],ct(commit,zone=NXM_NX_REG0[0..15],exec(set_field:0x5->ct_mark),table=1)
      table=0,in_port=3,ip,actions=ct(zone=8,table=2)
      table=1,ct_zone=7,ct_mark=5,ct_state=+new+trk,actions=output:2
      table=2,ct_state=+new+trk,ct_zone=8,actions=output:2
    `);
    const f = udp('10.0.0.1', '10.0.0.2', 1, 2);
    expect(send(r, 1, f)).toEqual([2]);
    expect(send(r, 3, f)).toEqual([2]); // zone 8 has never seen it: +new
    expect(r.sw.conntrack.dump()).toEqual(['udp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=1,dport=2),reply=(src=10.0.0.2,dst=10.0.0.1,sport=2,dport=1),zone=7,mark=5']);
  });

  it('ct(table=N) forks: the clone runs at the fork point, the original goes on untracked with the NATed bytes (OVS order)', () => {
    // Checked against OVS 3.1: port 2 gets the original, then the clone (..99), then the original (..77).
    const r = rig([1, 2, 3], `
      table=0,in_port=1,ip,actions=output:2,ct(table=1),mod_dl_src:00:00:00:00:00:77,output:2
      table=1,actions=mod_dl_src:00:00:00:00:00:99,output:2
    `);
    const f = new PacketBuilder().ethernet({ src: '50:54:00:00:00:01', dst: '50:54:00:00:00:02' }).ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }).udp({ srcPort: 1000, dstPort: 53 }).payload('hello').build();
    r.take();
    r.sw.receive(1, f);
    expect(r.take()[2]!.map((b) => hex(b.subarray(6, 12)))).toEqual(['505400000001', '000000000099', '000000000077']);
    // With NAT: both the clone and the rest of the original's actions see the translated bytes.
    const n = rig([1, 2, 3], `
      table=0,in_port=1,ip,actions=ct(commit,table=1,nat(src=10.9.9.9)),output:3
      table=1,actions=output:2
    `);
    n.take();
    n.sw.receive(1, f);
    const o = n.take();
    const want = '5054000000025054000000010800450000210000000040115db90a0909090a00000203e80035000d9ad168656c6c6f'; // OVS 3.1
    expect(hex(o[2]![0]!)).toBe(want);
    expect(hex(o[3]![0]!)).toBe(want);
    expect(n.sw.flows(1)[0]!.packets).toBe(1);
  });

  it('ct_clear clears the ct fields; resubmit(,N,ct) swaps the ct tuple in', () => {
    const r = rig([1, 2, 3], `
      table=0,in_port=1,ip,actions=ct(commit,table=1)
      table=1,ct_state=+trk,actions=ct_clear,resubmit(,2)
      table=2,ct_state=-trk,actions=output:2
      table=2,ct_state=+trk,actions=output:3
    `);
    expect(send(r, 1, udp('10.0.0.1', '10.0.0.2', 1, 2))).toEqual([2]);
  });

  it('trace: recirculation sections as ofproto/trace prints them, with --ct-next and the NAT simulation', () => {
    const r = rig([1, 2], `
      table=0,in_port=1,ip,actions=ct(commit,table=1,zone=3,exec(set_field:0x1->ct_mark),nat(src=10.9.9.9-10.9.9.20:1000-2000))
      table=1,ct_state=+new,actions=output:2
    `);
    const t = formatTrace(r.sw.trace('in_port=1,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,udp_src=1,udp_dst=2', undefined, { ctNext: ['trk,est'] }));
    // The lines OVS 3.1 prints for the same flows and microflow (ovs-appctl ofproto/trace ... --ct-next trk,est).
    for (const line of [
      '    set_field:0x1->ct_mark',
      '    nat(src=10.9.9.9-10.9.9.20:1000-2000)',
      '     -> A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table 1.',
      '     -> Sets the packet to an untracked state, and clears all the conntrack fields.',
      'Datapath actions: ct(commit,zone=3,mark=0x1/0xffffffff,nat(src=10.9.9.9-10.9.9.20:1000-2000)),recirc(0x1)',
      'recirc(0x1) - resume conntrack with ct_state=est|trk',
      'Replacing src/dst IP/ports to simulate NAT:',
      ' Initial flow: nw_src=10.0.0.1,tp_src=1,nw_dst=10.0.0.2,tp_dst=2',
      ' Modified flow: nw_src=10.9.9.9,tp_src=1000,nw_dst=10.0.0.2,tp_dst=2',
      'Flow: recirc_id=0x1,ct_state=est|trk,ct_zone=3,ct_mark=0x1,eth,udp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=10.9.9.9,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=1000,tp_dst=2',
      '    thaw',
      '        Resuming from table 1',
      ' 1. No match.',
    ]) {
      expect(t.split('\n'), line).toContain(line);
    }
    // Tracing changes nothing.
    expect(r.sw.conntrack.count).toBe(0);
  });

  it('trace: once the --ct-next states are used up, a recirculation takes the default and says so', () => {
    const r = rig([1, 2], `
      table=0,in_port=1,ip,actions=ct(table=1)
      table=1,ip,actions=ct(zone=7,table=2)
      table=2,actions=output:2
    `);
    const t = formatTrace(r.sw.trace('in_port=1,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,udp_src=1,udp_dst=2', undefined, { ctNext: ['trk,est'] }));
    // As OVS 3.1's ofproto_trace_recirc_node() prints them (seen in the stateful trace differential, seed 3).
    expect(t.split('\n').filter((l) => l.startsWith('recirc('))).toEqual([
      'recirc(0x1) - resume conntrack with ct_state=est|trk',
      'recirc(0x2) - resume conntrack with default ct_state=trk|new (use --ct-next to customize)',
    ]);
  });
});

describe('learn, timeouts and flow-removed events', () => {
  it('a learned flow forwards, is not visible to the packet that learned it, idles out exactly on time', () => {
    const r = rig([1, 2, 3], `
      table=0,in_port=1,actions=learn(table=1,idle_timeout=10,priority=100,send_flow_rem,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:2
      table=0,in_port=2,actions=resubmit(,1)
      table=1,priority=0,actions=output:3
    `);
    const a2b = new PacketBuilder().ethernet({ src: '50:54:00:00:00:0a', dst: '50:54:00:00:00:0b' }).ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).build();
    const b2a = new PacketBuilder().ethernet({ src: '50:54:00:00:00:0b', dst: '50:54:00:00:00:0a' }).ipv4({ src: '2.2.2.2', dst: '1.1.1.1' }).build();
    expect(send(r, 2, b2a)).toEqual([3]); // nothing learned yet
    expect(send(r, 1, a2b)).toEqual([2]);
    expect(r.sw.dumpFlows(1).map((l) => l.replace(/duration=[^,]+, /, ''))).toEqual([
      ' cookie=0x0, table=1, n_packets=0, n_bytes=0, idle_timeout=10, send_flow_rem idle_age=0, priority=100,dl_dst=50:54:00:00:00:0a actions=output:1',
      ' cookie=0x0, table=1, n_packets=1, n_bytes=34, idle_age=0, priority=0 actions=output:3',
    ]);
    expect(send(r, 2, b2a)).toEqual([1]);
    r.clock.advance(10_000); // idle since t=0 (last use): at exactly the deadline it is still there
    expect(r.removed).toEqual([]);
    r.clock.advance(1);
    expect(r.removed.map((e) => [e.reason, e.durationMs, e.packets, e.notify])).toEqual([[RemovedReason.IDLE_TIMEOUT, 10_001, 1, true]]);
    expect(send(r, 2, b2a)).toEqual([3]);
  });

  it('relearning refreshes the hard timeout; limit=1 with result_dst; delete_learned', () => {
    const r = rig([1, 2, 3]);
    r.sw.addFlows(`
      table=0,in_port=1,actions=learn(table=1,hard_timeout=5,cookie=0x9,delete_learned,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:2
      table=1,priority=0,actions=output:3
    `);
    const from = (mac: string): Uint8Array => new PacketBuilder().ethernet({ src: mac, dst: '50:54:00:00:00:ff' }).ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).build();
    send(r, 1, from('50:54:00:00:00:01'));
    r.clock.advance(4000);
    send(r, 1, from('50:54:00:00:00:01')); // identical: refreshed (modified = now)
    r.clock.advance(4000);
    expect(r.sw.flows(1).length).toBe(2);
    r.clock.advance(1001);
    expect(r.sw.flows(1).length).toBe(1);
    expect(r.removed.at(-1)!.reason).toBe(RemovedReason.HARD_TIMEOUT);
    send(r, 1, from('50:54:00:00:00:02'));
    send(r, 1, from('50:54:00:00:00:03'));
    expect(r.sw.flows(1).length).toBe(3);
    // delete_learned: deleting the learning flow deletes the flows it learned (cookie 0x9 in table 1).
    r.sw.delFlows('table=0,in_port=1');
    expect(r.sw.flows(1).map((e) => e.flow.cookie)).toEqual([0n]);
  });

  it('learn limit=N refuses further flows and result_dst says so (action given as LearnActionExt until actions.ts parses them)', () => {
    const r = rig([1, 2, 3]);
    const f = parseFlow('table=0,in_port=1,actions=learn(table=1,cookie=0x5,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,2)');
    f.instructions.apply[0] = parseLearnAction('learn(table=1,cookie=0x5,limit=2,result_dst=NXM_NX_REG0[0],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])');
    r.sw.addFlow(f);
    r.sw.addFlows('table=2,reg0=1,actions=output:2\ntable=2,reg0=0,actions=output:3');
    const from = (i: number): Uint8Array => new PacketBuilder().ethernet({ src: `50:54:00:00:00:0${i}`, dst: '50:54:00:00:00:ff' }).ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).build();
    expect([1, 2, 3, 1].map((i) => send(r, 1, from(i)))).toEqual([[2], [2], [3], [2]]); // the third is over the limit; relearning an existing one is fine
    expect(r.sw.flows(1).length).toBe(2);
  });

  it('idle and hard timeouts of ordinary flows; traffic keeps an idle flow; events carry counters', () => {
    const r = rig([1, 2], `
      priority=10,ip,nw_dst=10.0.0.1,idle_timeout=2,actions=output:2
      priority=10,ip,nw_dst=10.0.0.2,hard_timeout=5,send_flow_rem,actions=output:2
    `);
    const f1 = udp('10.0.0.9', '10.0.0.1', 1, 2);
    for (let t = 0; t < 8; t++) {
      expect(send(r, 1, f1), `t=${t}s`).toEqual([2]);
      r.clock.advance(1000);
    }
    expect(r.removed.map((e) => [e.reason, e.durationMs, e.notify])).toEqual([[RemovedReason.HARD_TIMEOUT, 5001, true]]);
    r.clock.advance(1000); // last packet at 7 s: idle deadline 9 s, still there at 9000 ms
    expect(r.removed.length).toBe(1);
    r.clock.advance(1);
    expect(r.removed.map((e) => e.reason)).toEqual([RemovedReason.HARD_TIMEOUT, RemovedReason.IDLE_TIMEOUT]);
    expect(r.removed[1]!.packets).toBe(8);
    expect(r.sw.flows().length).toBe(0);
  });

  it('delete, group delete and meter delete report their reasons', () => {
    const r = rig([1, 2]);
    r.sw.addGroup('group_id=1,type=all,bucket=output:2');
    r.sw.addMeter('meter=1,pktps,bands=type=drop,rate=10');
    r.sw.addFlows('priority=1,actions=group:1\npriority=2,ip,actions=meter:1,output:2\npriority=3,arp,actions=output:2');
    r.sw.delGroup(1);
    r.sw.delMeter(1);
    r.sw.delFlows();
    expect(r.removed.map((e) => e.reason)).toEqual([RemovedReason.GROUP_DELETE, RemovedReason.METER_DELETE, RemovedReason.DELETE]);
  });
});

describe('conjunctive matches', () => {
  it('conjunction(id,k/n) with conj_id flows, and fall-through to lower priorities', () => {
    const r = rig([1, 2, 3], `
      table=0,priority=100,ip,nw_src=10.0.0.1,actions=conjunction(1,1/2)
      table=0,priority=100,ip,nw_src=10.0.0.2,actions=conjunction(1,1/2)
      table=0,priority=100,tcp,tp_dst=80,actions=conjunction(1,2/2)
      table=0,priority=100,tcp,tp_dst=443,actions=conjunction(1,2/2)
      table=0,priority=50,conj_id=1,ip,actions=output:2
      table=0,priority=1,actions=output:3
    `);
    expect(send(r, 1, tcp('10.0.0.1', '10.9.0.1', 999, 80, 'S'))).toEqual([2]);
    expect(send(r, 1, tcp('10.0.0.2', '10.9.0.1', 999, 443, 'S'))).toEqual([2]);
    expect(send(r, 1, tcp('10.0.0.3', '10.9.0.1', 999, 80, 'S'))).toEqual([3]);
    expect(send(r, 1, tcp('10.0.0.1', '10.9.0.1', 999, 22, 'S'))).toEqual([3]);
    expect(r.sw.flows(0).find((e) => e.flow.priority === 50)!.packets).toBe(2);
    expect(r.sw.dumpFlows(0).filter((l) => l.includes('conjunction')).length).toBe(4);
    // Removing a clause makes the conjunction impossible for those packets.
    r.sw.delFlows('table=0,tcp,tp_dst=443', { strict: false });
    expect(send(r, 1, tcp('10.0.0.2', '10.9.0.1', 999, 443, 'S'))).toEqual([3]);
  });
});

describe('NORMAL', () => {
  function normalRig(): Rig {
    return rig([], 'actions=NORMAL', (sw) => {
      sw.addPort({ number: 1, tag: 10 });
      sw.addPort({ number: 2, tag: 10 });
      sw.addPort({ number: 3, trunks: [10, 20] });
      sw.addPort({ number: 4, tag: 20 });
    });
  }
  const eth = (src: string, dst: string, vid?: number): Uint8Array => {
    const b = new PacketBuilder().ethernet({ src, dst });
    if (vid !== undefined) b.vlan({ vid });
    return b.ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).build();
  };
  const A = '50:54:00:00:00:0a';
  const B = '50:54:00:00:00:0b';

  it('floods unknown destinations in the VLAN (tagging on trunks), forwards learned ones, ages out on the clock', () => {
    const r = normalRig();
    r.take();
    r.sw.receive(1, eth(A, B));
    const o = r.take();
    expect(Object.keys(o).map(Number).sort()).toEqual([2, 3, OFPP.LOCAL].sort((a, b) => a - b).filter((p) => p !== OFPP.LOCAL || o[p]));
    expect(hex(o[2]![0]!).slice(24, 28)).toBe('0800'); // access: untagged
    expect(hex(o[3]![0]!).slice(24, 32)).toBe('8100000a'); // trunk: tagged VLAN 10
    expect(send(r, 2, eth(B, A))).toEqual([1]);
    expect(send(r, 1, eth(A, B))).toEqual([2]);
    // A tagged frame on the trunk in VLAN 20 for A (learned in VLAN 10) floods VLAN 20: port 4 untagged.
    r.take();
    r.sw.receive(3, eth('50:54:00:00:00:0c', A, 20));
    const o20 = r.take();
    expect(o20[4]!.length).toBe(1);
    expect(hex(o20[4]![0]!).slice(24, 28)).toBe('0800');
    expect(o20[1]).toBeUndefined();
    // Access port 1 drops frames tagged with a VID.
    expect(send(r, 1, eth(A, B, 10))).toEqual([]);
    // Aging: 300 s after the last time A was learned, it is forgotten and B->A floods again.
    r.clock.advance(300_000);
    expect(send(r, 2, eth(B, A)).filter((p) => p !== OFPP.LOCAL)).toEqual([1, 3]);
    expect(r.sw.normal.entries().map((e) => e.port)).toEqual([2]);
  });

  it('tracing NORMAL learns nothing', () => {
    const r = normalRig();
    r.sw.trace(eth(A, B), 1);
    expect(r.sw.normal.entries()).toEqual([]);
  });
});

describe('groups', () => {
  it('select: OVS hash over the flows, every bucket used, the same flow always to the same bucket', () => {
    const r = rig([1, 2, 3, 4]);
    r.sw.addGroup('group_id=1,type=select,bucket=output:2,bucket=output:3,bucket=output:4');
    r.sw.addFlow('in_port=1,actions=group:1');
    const count: Record<number, number> = {};
    for (let i = 0; i < 300; i++) {
      const f = udp(`10.0.${i >> 8}.${i & 0xff}`, '10.1.0.1', 1000 + i, 80);
      const a = send(r, 1, f);
      expect(send(r, 1, f)).toEqual(a);
      expect(a.length).toBe(1);
      count[a[0]!] = (count[a[0]!] ?? 0) + 1;
    }
    for (const p of [2, 3, 4]) expect(count[p]).toBeGreaterThan(60);
    const g = r.sw.groups.get(1)!;
    expect(g.packets).toBe(600);
    expect(g.buckets.reduce((s, b) => s + b.packets, 0)).toBe(600);
  });

  it('select with hash fields and weights; weight 0 never chosen', () => {
    const r = rig([1, 2, 3, 4]);
    r.sw.addGroup('group_id=1,type=select,selection_method=hash,fields(ip_src),bucket=weight:0,actions=output:2,bucket=weight:1,actions=output:3,bucket=weight:3,actions=output:4');
    r.sw.addFlow('in_port=1,actions=group:1');
    const count: Record<number, number> = {};
    for (let i = 0; i < 200; i++) {
      const a = send(r, 1, udp(`10.0.0.${i}`, '10.1.0.1', 1000, 80));
      count[a[0]!] = (count[a[0]!] ?? 0) + 1;
      // Same source, other ports: same bucket (only ip_src is hashed).
      expect(send(r, 1, udp(`10.0.0.${i}`, '10.1.0.9', 7, 9))).toEqual(a);
    }
    expect(count[2]).toBeUndefined();
    expect(count[4]!).toBeGreaterThan(count[3]!);
  });

  it('fast failover follows port liveness; no live bucket sends nothing and credits nothing', () => {
    const r = rig([1, 2, 3]);
    r.sw.addGroup('group_id=1,type=ff,bucket=watch_port:2,actions=output:2,bucket=watch_port:3,actions=output:3');
    r.sw.addFlow('in_port=1,actions=group:1');
    const f = udp('10.0.0.1', '10.0.0.2', 1, 2);
    expect(send(r, 1, f)).toEqual([2]);
    r.sw.setPortUp(2, false);
    expect(send(r, 1, f)).toEqual([3]);
    r.sw.setPortUp(3, false);
    expect(send(r, 1, f)).toEqual([]);
    r.sw.setPortUp(2, true);
    expect(send(r, 1, f)).toEqual([2]);
    const g = r.sw.groups.get(1)!;
    expect([g.packets, g.buckets[0]!.packets, g.buckets[1]!.packets]).toEqual([3, 2, 1]);
  });
});

describe('meters', () => {
  it('a pktps drop band passes burst packets, then the rate, on the clock; later outputs of the flow are dropped, earlier ones not', () => {
    const r = rig([1, 2, 3]);
    r.sw.addMeter('meter=1,pktps,burst,stats,bands=type=drop,rate=10,burst_size=5');
    // OVS orders the meter instruction first: an output before it lives in another table.
    r.sw.addFlows('table=0,in_port=1,actions=output:3,resubmit(,1)\ntable=1,actions=meter:1,output:2');
    const f = udp('10.0.0.1', '10.0.0.2', 1, 2);
    let passed = 0;
    for (let i = 0; i < 20; i++) if (send(r, 1, f).includes(2)) passed++;
    expect(passed).toBe(5);
    r.clock.advance(1000);
    passed = 0;
    for (let i = 0; i < 20; i++) {
      const o = send(r, 1, f);
      expect(o).toContain(3);
      if (o.includes(2)) passed++;
    }
    expect(passed).toBe(5); // refill capped at burst_size
    r.clock.advance(300);
    passed = 0;
    for (let i = 0; i < 20; i++) if (send(r, 1, f).includes(2)) passed++;
    expect(passed).toBe(3);
    expect(r.sw.meters.get(1)!.stats().packets).toBe(60);
  });

  it('a flow using a missing meter is refused (OFPMMFC_INVALID_METER)', () => {
    const r = rig([1, 2]);
    expect(() => r.sw.addFlow('actions=meter:3,output:2')).toThrow(/OFPMMFC_INVALID_METER/);
  });
});

describe('packet-in and packet-out', () => {
  it('controller(reason,userdata,max_len) packet-ins carry the record', () => {
    const r = rig([1, 2], 'table=0,in_port=1,actions=load:5->NXM_NX_REG3[],resubmit(,3)\ntable=3,cookie=0x42,actions=controller(reason=no_match,userdata=01.02.03,max_len=20,id=7)');
    send(r, 1, udp('10.0.0.1', '10.0.0.2', 1, 2));
    expect(r.pins.length).toBe(1);
    const pi = r.pins[0]!;
    expect([pi.reason, pi.tableId, pi.cookie, pi.controllerId, pi.frame.length, pi.totalLen, pi.maxLen, pi.bufferId]).toEqual(['no_match', 3, 0x42n, 7, 20, 47, 20, 0xffffffff]);
    expect(hex(pi.userdata!)).toBe('010203');
    expect(pi.match).toEqual([{ name: 'in_port', value: 1n }, { name: 'reg3', value: 5n }]);
  });

  it('packet-out runs actions; output:CONTROLLER has reason packet_out; output:TABLE runs table 0; errors as OVS', () => {
    const r = rig([1, 2, 3], 'in_port=1,actions=output:3');
    const f = udp('10.0.0.1', '10.0.0.2', 1, 2);
    r.take();
    r.sw.packetOut({ inPort: 1, actions: 'mod_dl_dst:00:00:00:00:00:01,output:2', frame: f });
    expect(hex(r.take()[2]![0]!.subarray(0, 6))).toBe('000000000001');
    r.sw.packetOut({ inPort: 1, actions: 'output:TABLE', frame: f });
    expect(Object.keys(r.take())).toEqual(['3']);
    r.sw.packetOut(`in_port=2 packet=${hex(f)} actions=output:CONTROLLER`);
    expect(r.pins.at(-1)!.reason).toBe('packet_out');
    expect(() => r.sw.packetOut({ inPort: 1, actions: 'group:9', frame: f })).toThrow(/OFPBAC_BAD_OUT_GROUP/);
    expect(() => r.sw.packetOut({ inPort: 0xff00, actions: 'output:2', frame: f })).toThrow(/OFPBRC_BAD_PORT/);
    expect(r.sw.port(1)!.stats.rxPackets).toBe(0);
  });
});

describe('IP fragments (OVS frag_handling=normal)', () => {
  it('every fragment, first ones included, is looked up with L4 ports (and ICMP type/code) 0; the bytes are untouched', () => {
    // The two frames of KNOWN.md K8, with OVS 3.1's verdicts.
    const r = rig([1, 2, 3, 4], 'table=0,icmp,icmp_code=0,actions=output:2');
    const icmpFrag = fromHex('5054000000035054000000038100afff08004500002012342000ff0174a00a0001070a0000020001ebcc00070009030a1118');
    expect(send(r, 4, icmpFrag)).toEqual([2]);
    const t = rig([1, 2, 3, 4], 'table=0,tcp,tcp_src=0x1bb,actions=output:3\ntable=0,priority=1,tcp,actions=output:2');
    const tcpFrag = fromHex('5054000000015054000000018100f00708004503002c123420004006338e0a0001070a00000101bbffff010203040a0b0c0d5018020068c60000030a1118');
    t.take();
    t.sw.receive(4, tcpFrag);
    const o = t.take();
    expect(Object.keys(o)).toEqual(['2']);
    expect(hex(o[2]![0]!)).toBe(hex(tcpFrag)); // OVS 3.1 sends the bytes unchanged
    // The same ports in a non-fragment still match on them (and the cache keeps the two apart).
    const whole = tcp('10.0.1.7', '10.0.0.1', 443, 65535, 'A');
    expect(send(t, 4, whole)).toEqual([3]);
    expect(send(t, 4, tcpFrag)).toEqual([2]);
    // The ports are zeroed for the lookups only: a rewrite of one port keeps the other (OVS 3.1 bytes).
    const u = rig([1, 2, 3, 4], 'table=0,udp,actions=mod_tp_dst:5555,3');
    u.take();
    u.sw.receive(2, fromHex('505400000002505400000001080045ba001c12342000021171e20a0000010a0000011f90ffff0008cc4c'));
    expect(hex(u.take()[3]![0]!)).toBe('505400000002505400000001080045ba001c12342000021171e20a0000010a0000011f9015b30008b699');
  });
});
