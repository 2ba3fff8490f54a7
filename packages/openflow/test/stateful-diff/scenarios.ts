/**
 * The stateful differential scenarios (issue 4, item 8): each is a flow table (and groups) loaded
 * into OVS and into our switch, and one sequence of steps run on both. Every ct scenario ends its
 * table-1 flows with `resubmit(,2)` into a *witness* flow that copies ct_state, ct_zone and the low
 * 16 bits of ct_mark into the Ethernet addresses and sends the frame to port 4, so the comparison
 * sees the connection state of every packet, including the dropped ones, byte for byte.
 */
import assert from 'node:assert/strict';
import { fromHex } from '@ovnts/packet';
import { echo, host, icmpError, l2, tcp, TcpConv, udp, type Host } from './frames.js';
import { frame, type Scenario, type Step, type StepResult } from './run.js';

/** The witness flow: ct_state -> eth_dst[0..7], ct_zone -> eth_dst[8..23], ct_mark[0..15] -> eth_src[0..15], output to port 4. */
export const WITNESS = 'table=2,priority=0,actions=move:NXM_NX_CT_STATE[0..7]->NXM_OF_ETH_DST[0..7],move:NXM_NX_CT_ZONE[]->NXM_OF_ETH_DST[8..23],move:NXM_NX_CT_MARK[0..15]->NXM_OF_ETH_SRC[0..15],output:4';

const IN = host(0x11, '10.0.1.1');
const OUT = host(0x21, '192.0.2.1');
const OUT2 = host(0x22, '192.0.2.2');
const ROUTER = host(0x31, '198.51.100.1');

/** A stateful firewall: port 1 inside, port 2 outside, port 4 the witness. */
export const FIREWALL = [
  'table=0,priority=100,ip,actions=ct(table=1)',
  'table=1,priority=100,in_port=1,ct_state=+new+trk,ip,actions=ct(commit),output:2,resubmit(,2)',
  'table=1,priority=100,in_port=1,ct_state=+est+trk,actions=output:2,resubmit(,2)',
  'table=1,priority=100,in_port=2,ct_state=+est+trk,actions=output:1,resubmit(,2)',
  'table=1,priority=100,in_port=2,ct_state=+rel+trk,actions=output:1,resubmit(,2)',
  'table=1,priority=100,in_port=1,ct_state=+rel+trk,actions=output:2,resubmit(,2)',
  'table=1,priority=90,in_port=2,ct_state=+new+trk,actions=resubmit(,2)',
  'table=1,priority=80,ct_state=+inv+trk,actions=resubmit(,2)',
  'table=1,priority=1,actions=resubmit(,2)',
  WITNESS,
].join('\n');

function badChecksum(f: Uint8Array): Uint8Array {
  const g = f.slice();
  g[50] ^= 0x55; // TCP checksum (14 + 20 + 16)
  return g;
}

function firewallSteps(): Step[] {
  const s: Step[] = [];
  // A: full handshake, data both ways, FIN/ACK teardown, a late segment.
  const a = new TcpConv(IN, OUT, 40000, 80);
  s.push(frame(1, 'A SYN', a.c('S')), frame(2, 'A SYN-ACK', a.s('SA')), frame(1, 'A ACK', a.c('A')));
  s.push(frame(1, 'A data c->s', a.c('PA', 'GET / HTTP/1.0\r\n\r\n')), frame(2, 'A data s->c', a.s('PA', 'HTTP/1.0 200 OK\r\n\r\nhello')), frame(1, 'A ACK 2', a.c('A')));
  s.push({ t: 'dumpCt' });
  s.push(frame(1, 'A FIN c', a.c('FA')), frame(2, 'A ACK of FIN', a.s('A')), frame(2, 'A FIN s', a.s('FA')), frame(1, 'A last ACK', a.c('A')));
  s.push({ t: 'dumpCt' });
  s.push(frame(1, 'A data after close', a.c('PA', 'late')));
  // B: handshake, then RST from the server, then data.
  const b = new TcpConv(IN, OUT, 40001, 22, 7000, 9000);
  s.push(frame(1, 'B SYN', b.c('S')), frame(2, 'B SYN-ACK', b.s('SA')), frame(1, 'B ACK', b.c('A')), frame(1, 'B data', b.c('PA', 'ssh')));
  s.push(frame(2, 'B RST', b.s('R')), frame(1, 'B data after RST', b.c('PA', 'more')));
  // SYN from outside (dropped), retransmitted.
  s.push(frame(2, 'SYN from outside', tcp(OUT, IN, 5555, 22, 'S', 100, 0)), frame(2, 'SYN from outside again', tcp(OUT, IN, 5555, 22, 'S', 100, 0)));
  // Out-of-state ACKs: inside (OVS picks the stream up), outside (new from outside: dropped).
  s.push(frame(1, 'ACK no conn from inside', tcp(IN, OUT, 40002, 443, 'A', 7777, 8888, 'x')), frame(2, 'reply to picked-up ACK', tcp(OUT, IN, 443, 40002, 'A', 8888, 7778, 'y')));
  s.push(frame(2, 'ACK no conn from outside', tcp(OUT, IN, 443, 40003, 'A', 1, 1, 'z')));
  s.push(frame(2, 'SYN-ACK no conn', tcp(OUT, IN, 443, 40004, 'SA', 1, 1)), frame(1, 'SYN+FIN', tcp(IN, OUT, 40005, 443, 'SF', 1, 0)));
  s.push(frame(1, 'bad TCP checksum', badChecksum(tcp(IN, OUT, 40006, 443, 'S', 1, 0))));
  // UDP request/reply.
  s.push(frame(1, 'UDP request', udp(IN, OUT, 5000, 53, 'query')), frame(2, 'UDP reply', udp(OUT, IN, 53, 5000, 'answer')), frame(1, 'UDP request 2', udp(IN, OUT, 5000, 53, 'q2')));
  s.push(frame(2, 'UDP unsolicited', udp(OUT2, IN, 53, 5001, 'spam')));
  // ICMP echo.
  s.push(frame(1, 'echo request', echo(IN, OUT, 8, 7, 1)), frame(2, 'echo reply', echo(OUT, IN, 0, 7, 1)), frame(2, 'echo reply unsolicited', echo(OUT2, IN, 0, 9, 1)));
  s.push(frame(2, 'echo request from outside', echo(OUT2, IN, 8, 10, 1)));
  s.push({ t: 'dumpCt' });
  // Conntrack timeouts: the UDP connection (bidirectional: udp_multiple 30 s).
  s.push({ t: 'warp', ms: 29_999 }, frame(2, 'UDP reply at 29.999 s', udp(OUT, IN, 53, 5000, 'a2')));
  s.push({ t: 'warp', ms: 29_999 }, frame(2, 'UDP reply 29.999 s after the last', udp(OUT, IN, 53, 5000, 'a3')));
  s.push({ t: 'warp', ms: 30_000 }, frame(2, 'UDP reply 30 s after the last', udp(OUT, IN, 53, 5000, 'a4')));
  s.push({ t: 'dumpCt' });
  s.push({ t: 'warp', ms: 86_400_000 }, frame(1, 'A after a day', a.c('A')), frame(2, 'B after a day', b.s('A')));
  s.push({ t: 'dumpCt' });
  return s;
}

function relatedSteps(): Step[] {
  const s: Step[] = [];
  const u = udp(IN, OUT, 6000, 9999, 'to a closed port');
  s.push(frame(1, 'UDP out', u));
  s.push(frame(2, 'port unreachable quoting it', icmpError(OUT, IN, 3, 3, u)));
  s.push(frame(2, 'router: TTL exceeded quoting it (28 bytes)', icmpError(ROUTER, IN, 11, 0, u, 28)));
  s.push(frame(2, 'port unreachable, unknown flow', icmpError(OUT, IN, 3, 3, udp(IN, OUT, 6001, 9999, 'x'))));
  s.push(frame(2, 'unreachable quoting a wrong source', icmpError(OUT, IN, 3, 3, udp(OUT2, OUT, 6000, 9999, 'to a closed port'))));
  const c = new TcpConv(IN, OUT, 41000, 443);
  const syn = c.c('S');
  s.push(frame(1, 'TCP SYN', syn), frame(2, 'frag needed quoting the SYN', icmpError(ROUTER, IN, 3, 4, syn)));
  const reply = udp(OUT, IN, 9999, 6000, 'reply');
  s.push(frame(2, 'UDP reply', reply), frame(1, 'inside: unreachable quoting the reply', icmpError(IN, OUT, 3, 3, reply)));
  s.push(frame(2, 'redirect quoting the UDP', icmpError(ROUTER, IN, 5, 1, u)));
  s.push(frame(2, 'source quench quoting the UDP', icmpError(ROUTER, IN, 4, 0, u)));
  s.push(frame(2, 'echo reply quoting (not an error)', echo(OUT, IN, 0, 99, 1)));
  s.push({ t: 'dumpCt' });
  return s;
}

const Z1 = host(0x11, '10.0.1.1');
const Z2 = host(0x13, '10.0.1.1'); // same address: the same 5-tuple in another zone

/** Zones 1 (port 1, literal) and 2 (port 3, from reg0); replies from port 2 pick the zone by eth_dst. */
export const ZONES = [
  'table=0,priority=100,in_port=1,ip,actions=ct(zone=1,table=1)',
  'table=0,priority=100,in_port=3,ip,actions=load:2->NXM_NX_REG0[0..15],ct(zone=NXM_NX_REG0[0..15],table=1)',
  `table=0,priority=100,in_port=2,ip,dl_dst=${Z1.mac},actions=ct(zone=1,table=1)`,
  `table=0,priority=100,in_port=2,ip,dl_dst=${Z2.mac},actions=load:2->NXM_NX_REG0[0..15],ct(zone=NXM_NX_REG0[0..15],table=1)`,
  'table=1,priority=100,ct_state=+new+trk,ip,in_port=1,actions=ct(commit,zone=1,exec(set_field:0x11->ct_mark)),output:2,resubmit(,2)',
  'table=1,priority=100,ct_state=+new+trk,ip,in_port=3,actions=ct(commit,zone=NXM_NX_REG0[0..15],exec(set_field:0x22->ct_mark)),output:2,resubmit(,2)',
  'table=1,priority=100,ct_state=+est+trk,in_port=1,actions=output:2,resubmit(,2)',
  'table=1,priority=100,ct_state=+est+trk,in_port=3,actions=output:2,resubmit(,2)',
  'table=1,priority=100,ct_state=+est+trk,ct_zone=1,in_port=2,actions=output:1,resubmit(,2)',
  'table=1,priority=100,ct_state=+est+trk,ct_zone=2,in_port=2,actions=output:3,resubmit(,2)',
  'table=1,priority=1,actions=resubmit(,2)',
  WITNESS,
].join('\n');

function zoneSteps(): Step[] {
  const s: Step[] = [];
  s.push(frame(1, 'zone 1: UDP out', udp(Z1, OUT, 7000, 53, 'z1')));
  s.push(frame(2, 'zone 2: reply before any commit', udp(OUT, Z2, 53, 7000, 'r2')));
  s.push(frame(3, 'zone 2: same 5-tuple out', udp(Z2, OUT, 7000, 53, 'z2')));
  s.push(frame(2, 'zone 2: reply', udp(OUT, Z2, 53, 7000, 'r2')));
  s.push(frame(2, 'zone 1: reply', udp(OUT, Z1, 53, 7000, 'r1')));
  s.push(frame(3, 'zone 2: again', udp(Z2, OUT, 7000, 53, 'z2b')));
  const t1 = new TcpConv(Z1, OUT, 42000, 80);
  const t2 = new TcpConv(Z2, OUT, 42000, 80, 1000, 777);
  s.push(frame(1, 'zone 1: SYN', t1.c('S')), frame(2, 'zone 1: SYN-ACK', t1.s('SA')));
  s.push(frame(2, 'zone 2: SYN-ACK before SYN', t2.s('SA')), frame(3, 'zone 2: SYN', t2.c('S')), frame(2, 'zone 2: SYN-ACK', t2.s('SA')), frame(3, 'zone 2: ACK', t2.c('A')));
  s.push(frame(1, 'zone 1: ACK', t1.c('A')));
  s.push({ t: 'dumpCt', zone: 1 }, { t: 'dumpCt', zone: 2 }, { t: 'dumpCt' });
  return s;
}

// ------------------------------------------------------------------------------------------------
// NAT

const NAT_IP = '192.0.2.10';
const VIP = host(0x40, '192.0.2.100');

/** SNAT of inside traffic to 192.0.2.10:1024-1030; DNAT of the VIP 192.0.2.100 to 10.0.0.10-12:8080. */
export const NAT = [
  'table=0,priority=100,in_port=1,ip,actions=ct(table=1,zone=5,nat)',
  'table=0,priority=100,in_port=2,ip,actions=ct(table=1,zone=5,nat)',
  'table=1,priority=100,in_port=1,ct_state=+new+trk,ip,nw_dst=192.0.2.0/24,actions=ct(commit,zone=5,nat(src=192.0.2.10:1024-1030)),output:2',
  'table=1,priority=100,in_port=2,ct_state=+new+trk,ip,nw_dst=192.0.2.100,actions=ct(commit,zone=5,nat(dst=10.0.0.10-10.0.0.12:8080)),output:1',
  'table=1,priority=90,in_port=1,ct_state=+est+trk,actions=output:2',
  'table=1,priority=90,in_port=2,ct_state=+est+trk,actions=output:1',
  'table=1,priority=1,actions=drop',
].join('\n');

/** How a frame's outputs may differ between OVS and us: the NAT-chosen fields (and the checksums covering them). */
export interface NatExpect {
  /** Which translation the outputs on `port` carry. */
  kind: 'snat' | 'dnat';
  port: number;
}

/** NAT expectations by step label (steps not listed must be byte-identical). */
export const NAT_EXPECT = new Map<string, NatExpect>();

const ipStr = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

/** The first output on `port` of the step labelled `label` in this side's history. */
export function outputOf(h: readonly StepResult[], label: string, port: number): Uint8Array {
  const r = h.find((x) => x.label === label);
  if (!r || r.t !== 'frame' || !r.out[port]?.length) assert.fail(`no output on port ${port} for '${label}'`);
  return fromHex(r.out[port]![0]!);
}

/** The IPv4 source or destination (address, L4 port) of an IPv4 frame without options. */
export function endpoint(f: Uint8Array, which: 'src' | 'dst'): { ip: string; port: number } {
  return which === 'src' ? { ip: ipStr(f, 26), port: u16(f, 34) } : { ip: ipStr(f, 30), port: u16(f, 36) };
}

function natSteps(): Step[] {
  const s: Step[] = [];
  const snat = (label: string, f: Uint8Array) => {
    NAT_EXPECT.set(label, { kind: 'snat', port: 2 });
    s.push(frame(1, label, f));
  };
  // Seven UDP flows fill the 7-port range; the eighth finds no free tuple.
  for (let i = 0; i < 7; i++) snat(`udp ${i}`, udp(IN, OUT, 3000 + i, 53, `q${i}`));
  s.push(frame(1, 'udp 7 (range exhausted)', udp(IN, OUT, 3007, 53, 'q7')));
  // Replies to each chosen source port, built from what this side sent: un-SNATed, byte-identical.
  for (let i = 0; i < 7; i++) {
    s.push(
      frame(2, `reply ${i}`, (h) => {
        const o = endpoint(outputOf(h, `udp ${i}`, 2), 'src');
        return udp(OUT, { mac: IN.mac, ip: o.ip }, 53, o.port, `a${i}`);
      }),
    );
  }
  s.push(frame(2, 'reply to an unused port', udp(OUT, { mac: IN.mac, ip: NAT_IP }, 53, 1031, 'nobody')));
  snat('udp 0 again', udp(IN, OUT, 3000, 53, 'q0b'));
  // TCP through SNAT (the UDP tuples do not collide with TCP ones).
  const c = new TcpConv(IN, OUT, 45000, 80);
  snat('tcp SYN', c.c('S'));
  const natAddr = (h: readonly StepResult[]) => endpoint(outputOf(h, 'tcp SYN', 2), 'src');
  s.push(frame(2, 'tcp SYN-ACK', (h) => tcp(OUT, { mac: IN.mac, ip: natAddr(h).ip }, 80, natAddr(h).port, 'SA', 50000, 1001)));
  snat('tcp ACK', tcp(IN, OUT, 45000, 80, 'A', 1001, 50001));
  snat('tcp data', tcp(IN, OUT, 45000, 80, 'PA', 1001, 50001, 'hello'));
  s.push(frame(2, 'tcp data back', (h) => tcp(OUT, { mac: IN.mac, ip: natAddr(h).ip }, 80, natAddr(h).port, 'PA', 50001, 1006, 'world')));
  // DNAT of the VIP to the pool, from three clients; the backend answers: un-DNATed, byte-identical.
  for (let i = 0; i < 3; i++) {
    const cl = host(0x50 + i, `192.0.2.${51 + i}`);
    const label = `VIP SYN ${i}`;
    NAT_EXPECT.set(label, { kind: 'dnat', port: 1 });
    s.push(frame(2, label, tcp(cl, VIP, 33000 + i, 80, 'S', 500, 0)));
    s.push(
      frame(1, `backend SYN-ACK ${i}`, (h) => {
        const d = endpoint(outputOf(h, label, 1), 'dst');
        return tcp({ mac: VIP.mac, ip: d.ip }, cl, d.port, 33000 + i, 'SA', 9000, 501);
      }),
    );
    const ack = `VIP ACK ${i}`;
    NAT_EXPECT.set(ack, { kind: 'dnat', port: 1 });
    s.push(frame(2, ack, tcp(cl, VIP, 33000 + i, 80, 'A', 501, 9001)));
  }
  return s;
}

/** The checks on one NATed output: the chosen address/port within the configured range. */
export function natInRange(e: NatExpect, f: Uint8Array): string | undefined {
  if (e.kind === 'snat') {
    const x = endpoint(f, 'src');
    if (x.ip !== NAT_IP || x.port < 1024 || x.port > 1030) return `SNAT to ${x.ip}:${x.port}, outside 192.0.2.10:1024-1030`;
  } else {
    const x = endpoint(f, 'dst');
    if (!['10.0.0.10', '10.0.0.11', '10.0.0.12'].includes(x.ip) || x.port !== 8080) return `DNAT to ${x.ip}:${x.port}, outside 10.0.0.10-10.0.0.12:8080`;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------------
// learn

const MA = '0a:00:00:00:aa:01';
const MB = '0a:00:00:00:bb:02';
const MC = '0a:00:00:00:cc:03';

/** MAC learning with learn(): table 10 learned by destination (idle 10 s), table 11 by source (hard 5 s), output from reg0 or flood. */
export const LEARN = [
  'table=0,priority=10,actions=learn(table=10,idle_timeout=10,priority=5,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15]),' +
    'learn(table=11,hard_timeout=5,cookie=0x7,NXM_OF_ETH_SRC[],load:0x1->NXM_NX_REG1[0..3]),resubmit(,10),resubmit(,20)',
  'table=10,priority=0,actions=load:0->NXM_NX_REG0[0..15]',
  'table=20,priority=10,reg0=0,in_port=1,actions=output:2,output:3',
  'table=20,priority=10,reg0=0,in_port=2,actions=output:1,output:3',
  'table=20,priority=10,reg0=0,in_port=3,actions=output:1,output:2',
  'table=20,priority=5,actions=output:NXM_NX_REG0[0..15]',
].join('\n');

function learnSteps(): Step[] {
  const s: Step[] = [];
  // Each frame may learn; OVS applies a learned flow to later frames once its datapath cache is
  // revalidated, so every frame is followed by a settle (see run.ts).
  const f = (port: number, label: string, bytes: Uint8Array) => s.push(frame(port, label, bytes), { t: 'settle' });
  f(1, 'A->B (flood)', l2(MA, MB, 1));
  f(2, 'B->A (learned A@1)', l2(MB, MA, 2));
  f(1, 'A->B (learned B@2)', l2(MA, MB, 3));
  f(3, 'C->A', l2(MC, MA, 4));
  f(2, 'B->C', l2(MB, MC, 5));
  s.push({ t: 'dumpFlows', table: 10 }, { t: 'dumpFlows', table: 11 });
  s.push({ t: 'warp', ms: 2000 });
  f(3, 'A moved to port 3: A->B', l2(MA, MB, 6));
  f(2, 'B->A (now port 3)', l2(MB, MA, 7));
  f(1, 'C moved to port 1: C->A', l2(MC, MA, 8));
  f(2, 'B->C (now port 1)', l2(MB, MC, 9));
  s.push({ t: 'dumpFlows', table: 10 }, { t: 'dumpFlows', table: 11 });
  // Hard timeouts of table 11 (refreshed by every frame from that source, the last at t=2000).
  s.push({ t: 'warp', ms: 5000 }, { t: 'dumpFlows', table: 11 }, { t: 'warp', ms: 1 }, { t: 'dumpFlows', table: 11 });
  // t=7001: B->C uses dst=C (idle restarts) and learns B again: an identical flow is only
  // refreshed, which restarts its hard timeout but not its idle timeout.
  f(2, 't=7001 B->C', l2(MB, MC, 12));
  // Idle timeouts of table 10 (10 s after the last frame that matched each entry).
  // A and B at 12000 (present at the deadline, gone 1 ms later); C at 17001.
  s.push({ t: 'warp', ms: 4999 }, { t: 'dumpFlows', table: 10 }, { t: 'warp', ms: 1 }, { t: 'dumpFlows', table: 10 });
  s.push({ t: 'warp', ms: 5000 }, { t: 'dumpFlows', table: 10 }, { t: 'warp', ms: 1 }, { t: 'dumpFlows', table: 10 });
  f(1, 'after expiry: C->B', l2(MC, MB, 10));
  f(2, 'B->C', l2(MB, MC, 11));
  s.push({ t: 'dumpFlows', table: 10 });
  return s;
}

// ------------------------------------------------------------------------------------------------
// conjunction, fast failover, timeouts

/** ACL-like conjunctions (two of two dimensions, three of three, a lower-priority one) and plain flows. */
export const CONJ = [
  'priority=100,ip,nw_src=10.0.0.1,actions=conjunction(1,1/2)',
  'priority=100,ip,nw_src=10.0.1.7,actions=conjunction(1,1/2),conjunction(2,1/3)',
  'priority=100,tcp,tp_dst=80,actions=conjunction(1,2/2)',
  'priority=100,tcp,tp_dst=81,actions=conjunction(1,2/2),conjunction(2,2/3)',
  'priority=100,ip,nw_dst=10.1.0.13,actions=conjunction(2,3/3)',
  'priority=90,udp,actions=conjunction(3,1/2)',
  'priority=90,ip,nw_dst=10.1.0.91,actions=conjunction(3,2/2)',
  'priority=100,conj_id=1,ip,actions=set_field:1->ip_dscp,output:2',
  'priority=50,conj_id=2,ip,actions=output:3',
  'priority=10,conj_id=3,ip,actions=dec_ttl,output:4',
  'priority=95,ip,nw_dst=10.1.0.26,actions=output:5',
  'priority=1,actions=output:6',
].join('\n');

function conjSteps(): Step[] {
  const s: Step[] = [];
  const M = { mac: '0a:00:00:00:00:01', ip: '' };
  for (const src of ['10.0.0.1', '10.0.1.7', '10.0.0.9'])
    for (const dst of ['10.1.0.13', '10.1.0.26', '10.1.0.91', '10.1.0.1'])
      for (const [l4, p] of [['tcp', 80], ['tcp', 81], ['tcp', 82], ['udp', 81]] as const) {
        const a: Host = { ...M, ip: src };
        const b: Host = { mac: '0a:00:00:00:00:02', ip: dst };
        s.push(frame(1, `${src}->${dst} ${l4}/${p}`, l4 === 'tcp' ? tcp(a, b, 999, p, 'S', 1, 0) : udp(a, b, 999, p)));
      }
  return s;
}

/** Fast-failover groups: 1 watches ports 2 and 3; 2 watches group 1, then port 4. */
export const FF_GROUPS = [
  'group_id=1,type=ff,bucket=watch_port:2,actions=output:2,bucket=watch_port:3,actions=output:3',
  'group_id=2,type=ff,bucket=watch_group:1,actions=group:1,bucket=watch_port:4,actions=output:4',
].join('\n');

export const FF = [
  'table=0,in_port=1,udp,tp_dst=1,actions=group:1',
  'table=0,in_port=1,udp,tp_dst=2,actions=group:2',
  'table=0,in_port=1,udp,tp_dst=3,actions=output:2,output:3',
].join('\n');

function ffSteps(): Step[] {
  const s: Step[] = [];
  const A = host(0x01, '10.0.0.1');
  const B = host(0x02, '10.0.0.2');
  let n = 0;
  // tp_dst=3 (plain outputs to ports 2 and 3) only while every port is up: OVS's dummy netdev
  // transmits on an admin-down port, our switch does not (see the report in docs/testing.md).
  const burst = (what: string, allUp = false) => {
    for (const d of allUp ? [1, 2, 3] : [1, 2]) s.push(frame(1, `${what}: tp_dst=${d}`, udp(A, B, 100 + n++, d)));
  };
  burst('all up', true);
  s.push({ t: 'port', port: 2, up: false });
  burst('2 down');
  s.push({ t: 'port', port: 3, up: false });
  burst('2, 3 down');
  s.push({ t: 'port', port: 2, up: true });
  burst('3 down');
  s.push({ t: 'port', port: 3, up: true });
  burst('all up again', true);
  return s;
}

/** Flows with hard and idle timeouts; a priority-1 fallback shows when they are gone. */
export const TIMEOUTS = [
  'table=0,priority=10,in_port=1,udp,tp_dst=1,hard_timeout=5,actions=output:2',
  'table=0,priority=10,in_port=1,udp,tp_dst=2,idle_timeout=3,actions=output:2',
  'table=0,priority=10,in_port=1,udp,tp_dst=3,idle_timeout=4,hard_timeout=6,actions=output:2',
  'table=0,priority=1,actions=output:3',
].join('\n');

function timeoutSteps(): Step[] {
  const A = host(0x01, '10.0.0.1');
  const B = host(0x02, '10.0.0.2');
  const f = (d: number, label: string) => frame(1, label, udp(A, B, 100, d));
  return [
    f(1, 't=0 hard'), f(2, 't=0 idle'), f(3, 't=0 both'),
    { t: 'warp', ms: 2000 }, f(3, 't=2000 both'),
    { t: 'warp', ms: 500 }, f(2, 't=2500 idle'),
    { t: 'warp', ms: 2500 }, { t: 'dumpFlows', table: 0 }, f(1, 't=5000 hard (deadline)'),
    { t: 'warp', ms: 1 }, { t: 'dumpFlows', table: 0 }, f(1, 't=5001 hard (gone)'),
    { t: 'warp', ms: 499 }, { t: 'dumpFlows', table: 0 },
    { t: 'warp', ms: 1 }, { t: 'dumpFlows', table: 0 }, f(2, 't=5501 idle (gone)'),
    { t: 'warp', ms: 498 }, { t: 'dumpFlows', table: 0 }, { t: 'warp', ms: 1 }, { t: 'dumpFlows', table: 0 },
    { t: 'warp', ms: 1 }, { t: 'dumpFlows', table: 0 }, f(3, 't=6001 both (gone)'),
  ];
}

/**
 * `fin_timeout`: a TCP FIN or RST through the flow lowers its timeouts (never raises them; a flow
 * without timeouts gains one), an ACK changes nothing. tp_dst=4: idle 10 s/hard 20 s lowered to
 * 2 s/4 s by a FIN at t=1000; tp_dst=5: idle 10 s kept (fin_timeout asks 30 s); tp_dst=6: no
 * timeouts, hard 3 s after an RST. A priority-1 fallback (port 3) shows when they are gone.
 */
export const FIN_TIMEOUT = [
  'table=0,priority=10,in_port=1,tcp,tp_dst=4,idle_timeout=10,hard_timeout=20,actions=fin_timeout(idle_timeout=2,hard_timeout=4),output:2',
  'table=0,priority=10,in_port=1,tcp,tp_dst=5,idle_timeout=10,actions=fin_timeout(idle_timeout=30),output:2',
  'table=0,priority=10,in_port=1,tcp,tp_dst=6,actions=fin_timeout(hard_timeout=3),output:2',
  'table=0,priority=1,actions=output:3',
].join('\n');

function finTimeoutSteps(): Step[] {
  const A = host(0x01, '10.0.0.1');
  const B = host(0x02, '10.0.0.2');
  const f = (d: number, flags: string, label: string) => frame(1, label, tcp(A, B, 1000 + d, d, flags, 1, 1));
  return [
    f(4, 'A', 't=0 ack 4'), f(5, 'A', 't=0 ack 5'), f(6, 'A', 't=0 ack 6'),
    { t: 'warp', ms: 1000 }, { t: 'dumpFlows', table: 0 },
    f(4, 'FA', 't=1000 fin 4'), f(5, 'FA', 't=1000 fin 5'), f(6, 'RA', 't=1000 rst 6'),
    { t: 'warp', ms: 1999 }, { t: 'dumpFlows', table: 0 },
    { t: 'warp', ms: 2 }, { t: 'dumpFlows', table: 0 },
    f(4, 'A', 't=3001 ack 4 (idle gone)'), f(5, 'A', 't=3001 ack 5'), f(6, 'A', 't=3001 ack 6 (hard gone)'),
  ];
}

/**
 * A load balancer with one backend (DNAT to a single address and port: nothing to choose, so
 * byte-identical), ct_label and masked ct_mark set on commit, the original-direction tuple fields
 * (ct_nw_proto, ct_nw_dst, ct_tp_dst) matched on every later packet, and ct_clear: table 3 copies
 * ct_label[0..15] to eth_src, ct_state and ct_mark[0..7] to eth_dst and outputs to port 5, then
 * clears the ct fields; table 4 copies ct_state again (0 after ct_clear) and outputs to port 6.
 */
export const LB = [
  'table=0,priority=100,in_port=1,ip,actions=ct(table=1,zone=9,nat)',
  'table=0,priority=100,in_port=2,ip,actions=ct(table=1,zone=9,nat)',
  'table=1,priority=100,in_port=1,ct_state=+new+trk,tcp,nw_dst=192.0.2.200,tp_dst=80,actions=ct(commit,zone=9,nat(dst=10.0.0.20:8080),exec(set_field:0x1234->ct_label,set_field:0x5/0xff->ct_mark)),output:2,resubmit(,3)',
  'table=1,priority=100,in_port=1,ct_state=+est+trk,actions=output:2,resubmit(,3)',
  'table=1,priority=100,in_port=2,ct_state=+est+trk,actions=output:1,resubmit(,3)',
  'table=1,priority=50,actions=resubmit(,3)',
  'table=3,priority=10,ct_state=+trk-inv,tcp,ct_nw_proto=6,ct_nw_dst=192.0.2.200,ct_tp_dst=80,actions=move:NXM_NX_CT_LABEL[0..15]->NXM_OF_ETH_SRC[0..15],move:NXM_NX_CT_STATE[0..7]->NXM_OF_ETH_DST[0..7],move:NXM_NX_CT_MARK[0..7]->NXM_OF_ETH_DST[8..15],output:5,ct_clear,resubmit(,4)',
  'table=3,priority=1,actions=resubmit(,4)',
  'table=4,priority=0,actions=move:NXM_NX_CT_STATE[0..7]->NXM_OF_ETH_SRC[0..7],output:6',
].join('\n');

function lbSteps(): Step[] {
  const s: Step[] = [];
  const vip = host(0x60, '192.0.2.200');
  const be = host(0x61, '10.0.0.20');
  for (const [i, cport] of [[0, 46000], [1, 46001]] as const) {
    const c = new TcpConv(IN, vip, cport, 80, 100 + i, 9000 + i);
    s.push(frame(1, `c${i} SYN to the VIP`, c.c('S')));
    // The backend answers from its own address and port; conntrack un-DNATs it.
    const b = (flags: string, data = '') => {
      const f = c.s(flags, data);
      return tcp(be, IN, 8080, cport, flags, ((f[38]! << 24) | (f[39]! << 16) | (f[40]! << 8) | f[41]!) >>> 0, ((f[42]! << 24) | (f[43]! << 16) | (f[44]! << 8) | f[45]!) >>> 0, data);
    };
    s.push(frame(2, `c${i} SYN-ACK from the backend`, b('SA')), frame(1, `c${i} ACK`, c.c('A')), frame(1, `c${i} request`, c.c('PA', 'GET /')));
    s.push(frame(2, `c${i} response`, b('PA', '200 OK')));
    if (i === 0) s.push(frame(1, 'c0 FIN', c.c('FA')), frame(2, 'c0 FIN-ACK', b('FA')), frame(1, 'c0 last ACK', c.c('A')));
    else s.push(frame(2, 'c1 RST from the backend', b('RA')));
  }
  s.push(frame(1, 'direct to the backend (no VIP)', tcp(IN, be, 46002, 8080, 'S', 1, 0)));
  s.push(frame(2, 'backend to the client, no connection', tcp(be, IN, 8080, 46003, 'SA', 1, 1)));
  s.push({ t: 'dumpCt', zone: 9 }, { t: 'dumpCt' });
  return s;
}

/** Every scenario uses the same six ports (one OVS bridge serves them all). */
export const P6 = [1, 2, 3, 4, 5, 6];

/** Every scenario. `nat: true` ones are compared by properties where NAT choices are involved. */
export function scenarios(): (Scenario & { nat?: boolean })[] {
  return [
    { name: 'stateful firewall: TCP handshake/data/FIN/RST, pick-up, UDP, ICMP echo, ct timeouts', ports: P6, flows: FIREWALL, steps: firewallSteps() },
    { name: 'ICMP related (+rel, +inv for unrelated errors)', ports: P6, flows: FIREWALL, steps: relatedSteps() },
    { name: 'zones: one 5-tuple tracked in zone 1 and zone 2 (zone from reg0), marks', ports: P6, flows: ZONES, steps: zoneSteps() },
    { name: 'SNAT with a port range (exhausted) and DNAT to a pool', ports: P6, flows: NAT, steps: natSteps(), nat: true },
    { name: 'load balancer: DNAT to one backend, ct_label/ct_mark, ct_nw_dst/ct_tp_dst matches, ct_clear', ports: P6, flows: LB, steps: lbSteps() },
    { name: 'learn: MAC learning, the learned flows, idle and hard expiry', ports: P6, flows: LEARN, steps: learnSteps() },
    { name: 'conjunction: every combination of the clauses', ports: P6, flows: CONJ, steps: conjSteps() },
    { name: 'fast failover (watch_port, watch_group) with ports going down and up', ports: P6, flows: FF, groups: FF_GROUPS, steps: ffSteps() },
    { name: 'flow hard and idle timeouts at the millisecond', ports: P6, flows: TIMEOUTS, steps: timeoutSteps() },
    { name: 'fin_timeout: a FIN or RST lowers the running flow\'s timeouts', ports: P6, flows: FIN_TIMEOUT, steps: finTimeoutSteps() },
  ];
}

// ------------------------------------------------------------------------------------------------
// Randomized firewall: random interleavings of a few connections' packets

/** The firewall with source NAT to 192.0.2.10 (no port range: the source port is kept when free) in zone 7. */
export const NAT_FIREWALL = FIREWALL.replace('table=0,priority=100,ip,actions=ct(table=1)', 'table=0,priority=100,ip,actions=ct(table=1,zone=7,nat)').replace(
  'ct_state=+new+trk,ip,actions=ct(commit),output:2',
  'ct_state=+new+trk,ip,actions=ct(commit,zone=7,nat(src=192.0.2.10)),output:2',
);

const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** A small deterministic PRNG (mulberry32). */
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

/**
 * The firewall with 3-5 connections (TCP with FIN or RST teardown, some opened from outside,
 * UDP, ICMP echo) whose packets are interleaved at random (each connection's own order kept);
 * some packets are dropped from the script (a lost segment makes later ones out of window or
 * out of state) and some duplicated (retransmissions).
 */
export function randomFirewall(seed: number, nat = false): Scenario {
  const r = prng(seed);
  // With nat: inside traffic leaves as 192.0.2.10 (same ports: no port range, so nothing to choose
  // while the ports are distinct) and the outside answers that address.
  const IN_SEEN: Host = nat ? { mac: IN.mac, ip: NAT_IP } : IN;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const scripts: { port: number; label: string; bytes: Uint8Array }[][] = [];
  const n = 3 + Math.floor(r() * 3);
  for (let c = 0; c < n; c++) {
    const cport = 20000 + seed * 16 + c;
    const kind = pick(['tcp', 'tcp', 'tcp-out', 'udp', 'icmp'] as const);
    const sc: { port: number; label: string; bytes: Uint8Array }[] = [];
    const push = (port: number, what: string, bytes: Uint8Array) => sc.push({ port, label: `c${c} ${kind} ${what}`, bytes });
    if (kind === 'tcp' || kind === 'tcp-out') {
      const inside = kind === 'tcp';
      const t = inside ? new TcpConv(IN, OUT, cport, 80, 1000 * (c + 1), 70000 * (c + 1)) : new TcpConv(OUT, IN_SEEN, cport, 22, 1000 * (c + 1), 70000 * (c + 1));
      // The server's segments go to the address it sees (the NAT address with nat).
      const srv = (flags: string, data = ''): Uint8Array => {
        const f = t.s(flags, data);
        return inside && nat ? tcp(OUT, IN_SEEN, 80, cport, flags, u32(f, 38), u32(f, 42), data) : f;
      };
      const cp = inside ? 1 : 2;
      const sp = inside ? 2 : 1;
      // Sometimes window scaling (RFC 7323 option in both SYNs, or in one only: then not used) and small windows.
      if (r() < 0.4) {
        const ws = (shift: number) => Uint8Array.of(2, 4, 5, 0xb4, 1, 3, 3, shift);
        t.copts = ws(Math.floor(r() * 15));
        if (r() < 0.8) t.sopts = ws(Math.floor(r() * 15));
        t.cwin = 64 + Math.floor(r() * 65000);
        t.swin = 64 + Math.floor(r() * 65000);
      }
      push(cp, 'SYN', t.c('S'));
      push(sp, 'SYN-ACK', srv('SA'));
      push(cp, 'ACK', t.c('A'));
      for (let d = Math.floor(r() * 3); d > 0; d--) {
        if (r() < 0.5) push(cp, 'data c', t.c('PA', 'x'.repeat(1 + Math.floor(r() * 20))));
        else push(sp, 'data s', srv('PA', 'y'.repeat(1 + Math.floor(r() * 20))));
        // Now and then a segment ahead of the stream by up to 8 MB (in or out of the, possibly
        // scaled, window; not advancing the conversation).
        if (r() < 0.25) {
          const ahead = Math.floor(2 ** (8 + r() * 15));
          push(cp, `ahead by ${ahead}`, tcp(inside ? IN : OUT, inside ? OUT : IN_SEEN, cport, inside ? 80 : 22, 'PA', (t.cseq + ahead) >>> 0, t.sseq, 'oow', t.cwin));
        }
      }
      if (r() < 0.7) {
        push(cp, 'FIN c', t.c('FA'));
        push(sp, 'FIN s', srv('FA'));
        push(cp, 'last ACK', t.c('A'));
      } else {
        if (r() < 0.5) push(cp, 'RST c', t.c('R'));
        else push(sp, 'RST s', srv('RA'));
      }
      if (r() < 0.3) push(cp, 'late data', t.c('PA', 'late'));
    } else if (kind === 'udp') {
      for (let m = 1 + Math.floor(r() * 3); m > 0; m--) {
        if (r() < 0.6) push(1, 'req', udp(IN, OUT, cport, 53, 'q'));
        else push(2, 'rep', udp(OUT, IN_SEEN, 53, cport, 'a'));
      }
    } else {
      const id = cport & 0xffff;
      push(1, 'echo req', echo(IN, OUT, 8, id, 1));
      push(2, 'echo rep', echo(OUT, IN_SEEN, 0, id, 1));
      if (r() < 0.5) push(2, 'echo rep dup', echo(OUT, IN_SEEN, 0, id, 1));
    }
    // Lose or duplicate a packet now and then.
    const edited: typeof sc = [];
    for (const p of sc) {
      const x = r();
      if (x < 0.08) continue;
      edited.push(p);
      if (x > 0.93) edited.push({ ...p, label: p.label + ' (dup)' });
    }
    scripts.push(edited);
  }
  const steps: Step[] = [];
  const pos = scripts.map(() => 0);
  for (;;) {
    const live = scripts.map((s, i) => i).filter((i) => pos[i]! < scripts[i]!.length);
    if (!live.length) break;
    const i = pick(live);
    const p = scripts[i]![pos[i]!++]!;
    steps.push(frame(p.port, p.label, p.bytes));
  }
  steps.push({ t: 'dumpCt' });
  return { name: `random ${nat ? 'SNAT ' : ''}firewall interleaving, seed ${seed}`, ports: P6, flows: nat ? NAT_FIREWALL : FIREWALL, steps };
}
