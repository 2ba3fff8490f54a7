import { describe, expect, it } from 'vitest';
import { formatIpv4, l4ChecksumV4, internetChecksum, u16, u32 } from '@ovnts/packet';
import {
  Conntrack, CtFail, VirtualClock, W, applyNatToFrame, applyNatToKey, compileCtNat, extractFlowKey, field,
  type CtAction, type FlowKey, type NatSpec, type Rng,
} from '@ovnts/openflow';
import { cs, ct, icmp, icmpError, ipOf, keyOf, tcp, TcpConv, udp } from './helpers.js';

const nat = (s: NatSpec) => compileCtNat(s);
const SNAT1 = nat({ kind: 'src', addrMin: '192.168.0.1', flags: [] });

/** ct(nat...) as the pipeline would do it: execute, then commit the rewrite to the key and the frame. */
function natRun(t: Conntrack, frame: Uint8Array, act: CtAction, key?: FlowKey) {
  const k = key ?? keyOf(frame);
  const state = t.execute(k, frame, act);
  applyNatToFrame(frame, k, t.result.nat);
  applyNatToKey(k, t.result.nat);
  return { key: k, st: cs(state), frame };
}

function ipv4Ok(f: Uint8Array): boolean {
  return internetChecksum(f, 14, (f[14]! & 15) * 4) === 0;
}

function l4Ok(f: Uint8Array): boolean {
  const ihl = (f[14]! & 15) * 4;
  const len = u16(f, 16) - ihl;
  const proto = f[23]!;
  if (proto === 1) return internetChecksum(f, 14 + ihl, len) === 0;
  return l4ChecksumV4(f, 14 + ihl, len, proto, u32(f, 26), u32(f, 30)) === 0;
}

/** A fresh key from the rewritten bytes equals the key the rewrite was applied to. */
function keyMatchesBytes(k: FlowKey, f: Uint8Array): void {
  const fresh = keyOf(f);
  for (const n of ['ip_src', 'ip_dst', 'tp_src', 'tp_dst']) expect(fresh.get(field(n))).toBe(k.get(field(n)));
}

describe('compileCtNat', () => {
  it('follows xlate/dpif-netdev: ranges only when the upper bound is above the lower one', () => {
    expect(nat({ flags: [] }).action).toBe(0);
    const a = nat({ kind: 'src', addrMin: '10.0.0.5', addrMax: '10.0.0.1', portMin: 100, portMax: 50, flags: ['persistent', 'hash', 'random'] });
    expect(a.action).toBe(1 | 2);
    expect(a.maxAddr[0]).toBe(a.minAddr[0]);
    expect([a.minPort, a.maxPort]).toEqual([100, 100]);
    expect(a.persistent).toBe(true);
    expect(a.random).toBe(false); // hash wins
    const d = nat({ kind: 'dst', addrMin: '[fd00::1]', addrMax: '[fd00::3]', portMin: 80, portMax: 81, flags: ['random'] });
    expect(d.v6).toBe(true);
    expect(d.action).toBe(4 | 8);
    expect(Array.from(d.maxAddr)).toEqual([0xfd000000, 0, 0, 3]);
    expect(d.random).toBe(true);
    expect(() => nat({ kind: 'src', addrMin: '10.0.0.1', addrMax: '[fd00::1]', flags: [] })).toThrow(/mixes/);
    expect(() => nat({ kind: 'src', addrMin: '10.0.0.300', flags: [] })).toThrow(/bad address/);
  });
});

describe('SNAT', () => {
  it('translates the first packet, later packets with bare nat, and un-NATs replies', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const c = new TcpConv('10.0.0.1', '8.8.8.8', 40000, 443);
    const syn = natRun(t, c.c('S'), { zone: 5, commit: true, nat: SNAT1 });
    expect(syn.st).toBe('+new+trk+snat');
    expect(formatIpv4(syn.key.get(field('ip_src')))).toBe('192.168.0.1');
    expect(syn.key.get(field('tcp_src'))).toBe(40000); // no collision: the port is kept
    expect(ipv4Ok(syn.frame) && l4Ok(syn.frame)).toBe(true);
    keyMatchesBytes(syn.key, syn.frame);
    expect(t.dump()).toEqual(['tcp,orig=(src=10.0.0.1,dst=8.8.8.8,sport=40000,dport=443),reply=(src=8.8.8.8,dst=192.168.0.1,sport=443,dport=40000),zone=5,protoinfo=(state=SYN_SENT)']);
    // The server answers the translated address; ct(nat) restores the client's.
    const sa = tcp('8.8.8.8', '192.168.0.1', 443, 40000, 'SA', c.sseq, c.cseq);
    c.sseq++;
    const r = natRun(t, sa, { zone: 5, nat: nat({ flags: [] }) });
    expect(r.st).toBe('+est+rpl+trk+dnat');
    expect(formatIpv4(r.key.get(field('ip_dst')))).toBe('10.0.0.1');
    expect(ipv4Ok(r.frame) && l4Ok(r.frame)).toBe(true);
    keyMatchesBytes(r.key, r.frame);
    // Without nat the tracker still knows the packet, but nothing is rewritten.
    const plain = ct(t, tcp('8.8.8.8', '192.168.0.1', 443, 40000, 'A', c.sseq, c.cseq), { zone: 5 });
    expect(plain.st).toBe('+est+rpl+trk');
    expect(t.result.nat.addr).toBe(0);
    // nat(src=...) on an established connection behaves as bare nat.
    const ack = natRun(t, c.c('A'), { zone: 5, nat: nat({ kind: 'src', addrMin: '1.2.3.4', flags: [] }) });
    expect(ack.st).toBe('+est+trk+snat');
    expect(formatIpv4(ack.key.get(field('ip_src')))).toBe('192.168.0.1');
  });

  it('a second ct() in the same zone finds a NATed packet by its reversed tuple', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const f = udp('10.0.0.1', '8.8.4.4', 5000, 53);
    const first = natRun(t, f, { zone: 1, commit: true, nat: SNAT1 });
    expect(first.st).toBe('+new+trk+snat');
    // Same packet, now translated, through ct(zone=1) again (e.g. after recirculation).
    const again = t.execute(first.key, first.frame, { zone: 1 });
    expect(cs(again)).toBe('+new+trk+snat');
    expect(t.result.conn).toBeGreaterThanOrEqual(0);
    expect(t.count).toBe(1);
    // A reply, un-NATed, then through ct(zone=1) again: found as reply.
    const rep = natRun(t, udp('8.8.4.4', '192.168.0.1', 53, 5000), { zone: 1, nat: nat({ flags: [] }) });
    expect(rep.st).toBe('+est+rpl+trk+dnat');
    expect(cs(t.execute(rep.key, rep.frame, { zone: 1 }))).toBe('+est+rpl+trk+dnat');
  });

  it('picks ports from the range deterministically, avoids collisions, and fails when the range is exhausted', () => {
    const spec = nat({ kind: 'src', addrMin: '192.168.0.1', portMin: 2000, portMax: 2009, flags: [] });
    const run = () => {
      const t = new Conntrack({ clock: new VirtualClock() });
      const ports: number[] = [];
      for (let i = 0; i < 10; i++) {
        const r = natRun(t, udp(`10.0.1.${i + 1}`, '8.8.8.8', 3333, 53), { zone: 0, commit: true, nat: spec });
        expect(r.st).toBe('+new+trk+snat');
        ports.push(r.key.get(field('udp_src')));
      }
      const over = ct(t, udp('10.0.1.99', '8.8.8.8', 3333, 53), { zone: 0, commit: true, nat: spec });
      expect(over.st).toBe('+new+trk'); // not committed, not translated
      expect(t.result.fail).toBe(CtFail.NatExhausted);
      expect(t.result.nat.addr).toBe(0);
      expect(t.stats.natExhausted).toBe(1);
      expect(t.count).toBe(10);
      return ports;
    };
    const p1 = run();
    expect([...p1].sort((a, b) => a - b)).toEqual([2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008, 2009]);
    expect(run()).toEqual(p1); // the same choices every time
  });

  it('many connections sharing a large range get distinct tuples until the range runs out', () => {
    // OVS picks the address by hash and then searches ports only (128 in a row, then 64, 32, 16, 8
    // from random points), so a nearly full range refuses some commits before every tuple is used.
    const t = new Conntrack({ clock: new VirtualClock() });
    const spec = nat({ kind: 'src', addrMin: '192.168.0.1', addrMax: '192.168.0.2', portMin: 10000, portMax: 10499, flags: [] });
    const seen = new Set<string>();
    let refused = 0;
    for (let i = 0; i < 1100; i++) {
      const r = natRun(t, tcp(`10.${i >> 8}.${i & 255}.1`, '8.8.8.8', 40000, 80, 'S'), { zone: 0, commit: true, nat: spec });
      if (r.st === '+new+trk') {
        refused++;
        expect(t.result.fail).toBe(CtFail.NatExhausted);
        continue;
      }
      expect(r.st).toBe('+new+trk+snat');
      const port = r.key.get(field('tcp_src'));
      expect(port).toBeGreaterThanOrEqual(10000);
      expect(port).toBeLessThanOrEqual(10499);
      seen.add(`${formatIpv4(r.key.get(field('ip_src')))}:${port}`);
      if (i < 600) expect(refused).toBe(0); // plenty of room: never refused
    }
    expect(seen.size).toBe(t.count); // every committed connection has its own tuple
    expect(seen.size + refused).toBe(1100);
    expect(seen.size).toBeLessThanOrEqual(1000);
    expect(refused).toBeGreaterThanOrEqual(100);
    expect(t.stats.natExhausted).toBe(refused);
  });

  it('without a port range a colliding source port moves within its ephemeral class', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const a = natRun(t, udp('10.0.0.1', '8.8.8.8', 700, 53), { zone: 0, commit: true, nat: SNAT1 });
    const b = natRun(t, udp('10.0.0.2', '8.8.8.8', 700, 53), { zone: 0, commit: true, nat: SNAT1 });
    expect(a.key.get(field('udp_src'))).toBe(700);
    expect(b.key.get(field('udp_src'))).toBe(701); // 600..1023 class, next port
  });

  it('nat(src=0.0.0.0) keeps the address and moves the port only on a collision', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const zero = nat({ kind: 'src', addrMin: '0.0.0.0', flags: [] });
    natRun(t, udp('10.0.0.9', '8.8.8.8', 5000, 53), { zone: 0, commit: true, nat: nat({ kind: 'src', addrMin: '10.0.0.1', flags: [] }) });
    const free = natRun(t, udp('10.0.0.2', '8.8.8.8', 5000, 53), { zone: 0, commit: true, nat: zero });
    expect(free.st).toBe('+new+trk+snat');
    expect([formatIpv4(free.key.get(field('ip_src'))), free.key.get(field('udp_src'))]).toEqual(['10.0.0.2', 5000]);
    const clash = natRun(t, udp('10.0.0.1', '8.8.8.8', 5000, 53), { zone: 0, commit: true, nat: zero });
    expect([formatIpv4(clash.key.get(field('ip_src'))), clash.key.get(field('udp_src'))]).toEqual(['10.0.0.1', 5001]);
  });

  it('a bare nat on a new connection commits it without translation (null binding)', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const r = natRun(t, udp('10.0.0.1', '8.8.8.8', 5000, 53), { zone: 0, commit: true, nat: nat({ flags: [] }) });
    expect(r.st).toBe('+new+trk');
    expect(ct(t, udp('8.8.8.8', '10.0.0.1', 53, 5000), { zone: 0, nat: nat({ flags: [] }) }).st).toBe('+est+rpl+trk');
  });

  it('random takes the first candidate from the injected RNG', () => {
    const rng: Rng = { nextU32: () => 7 };
    const t = new Conntrack({ clock: new VirtualClock(), rng });
    const spec = nat({ kind: 'src', addrMin: '192.168.0.1', portMin: 3000, portMax: 3099, flags: ['random'] });
    expect(natRun(t, udp('10.0.0.1', '8.8.8.8', 1, 53), { zone: 0, commit: true, nat: spec }).key.get(field('udp_src'))).toBe(3007);
    expect(natRun(t, udp('10.0.0.2', '8.8.8.8', 1, 53), { zone: 0, commit: true, nat: spec }).key.get(field('udp_src'))).toBe(3008);
  });

  it('persistent picks the address from the source address alone', () => {
    const spec = (f: string[]) => nat({ kind: 'src', addrMin: '192.168.0.1', addrMax: '192.168.0.8', flags: f });
    const t = new Conntrack({ clock: new VirtualClock() });
    const pers = new Set<number>();
    const plain = new Set<number>();
    for (let i = 0; i < 32; i++) {
      pers.add(natRun(t, udp('10.0.0.1', `8.8.8.${i + 1}`, 1000 + i, 53), { zone: 0, commit: true, nat: spec(['persistent']) }).key.get(field('ip_src')));
      plain.add(natRun(t, udp('10.0.0.2', `8.8.8.${i + 1}`, 1000 + i, 53), { zone: 0, commit: true, nat: spec([]) }).key.get(field('ip_src')));
    }
    expect(pers.size).toBe(1);
    expect(plain.size).toBeGreaterThan(1);
  });

  it('ICMP echo: the identifier is the port; a collision changes it and replies get it back', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const a = natRun(t, icmp('10.0.0.1', '8.8.8.8', 8, 0x1234), { zone: 0, commit: true, nat: SNAT1 });
    const b = natRun(t, icmp('10.0.0.2', '8.8.8.8', 8, 0x1234), { zone: 0, commit: true, nat: SNAT1 });
    expect(a.st).toBe('+new+trk+snat');
    expect(u16(a.frame, 38)).toBe(0x1234);
    expect(u16(b.frame, 38)).toBe(0x1235);
    expect(l4Ok(b.frame)).toBe(true);
    const rep = natRun(t, icmp('8.8.8.8', '192.168.0.1', 0, 0x1235), { zone: 0, nat: nat({ flags: [] }) });
    expect(rep.st).toBe('+est+rpl+trk+dnat');
    expect(formatIpv4(rep.key.get(field('ip_dst')))).toBe('10.0.0.2');
    expect(u16(rep.frame, 38)).toBe(0x1234);
    expect(l4Ok(rep.frame) && ipv4Ok(rep.frame)).toBe(true);
  });

  it('an ICMP error about a NATed connection is un-NATed inside and out', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const out = natRun(t, udp('10.0.0.1', '8.8.8.8', 5000, 53, 'query'), { zone: 0, commit: true, nat: SNAT1 });
    // The server replies "port unreachable" to the translated address, quoting the translated packet.
    const err = icmpError('8.8.8.8', '192.168.0.1', 3, 3, ipOf(out.frame));
    const r = natRun(t, err, { zone: 0, nat: nat({ flags: [] }) });
    expect(r.st).toBe('+rel+rpl+trk+dnat');
    expect(formatIpv4(u32(r.frame, 30))).toBe('10.0.0.1'); // outer destination
    const inner = 14 + 20 + 8;
    expect(formatIpv4(u32(r.frame, inner + 12))).toBe('10.0.0.1'); // quoted source
    expect(u16(r.frame, inner + 20)).toBe(5000); // quoted source port
    expect(internetChecksum(r.frame, inner, 20)).toBe(0); // quoted IP header checksum
    expect(ipv4Ok(r.frame) && l4Ok(r.frame)).toBe(true); // outer IP and ICMP checksums
    // The quoted UDP checksum is right again for the original packet.
    expect(l4ChecksumV4(r.frame, inner + 20, 8 + 5, 17, u32(r.frame, inner + 12), u32(r.frame, inner + 16))).toBe(0);
  });
});

describe('DNAT', () => {
  const LB = nat({ kind: 'dst', addrMin: '10.0.0.10', addrMax: '10.0.0.12', portMin: 8080, flags: [] });

  it('load-balances to a backend and port and un-NATs replies as +snat', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const backends = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const c = new TcpConv('172.16.0.1', '10.96.0.1', 30000 + i, 80);
      const r = natRun(t, c.c('S'), { zone: 7, commit: true, nat: LB });
      expect(r.st).toBe('+new+trk+dnat');
      expect(r.key.get(field('tcp_dst'))).toBe(8080);
      expect(r.key.get(field('tcp_src'))).toBe(30000 + i);
      expect(r.key.get(field('ct_nw_dst'))).toBe(0x0a600001); // ct_nw_dst stays the VIP
      expect(ipv4Ok(r.frame) && l4Ok(r.frame)).toBe(true);
      const be = formatIpv4(r.key.get(field('ip_dst')));
      backends.add(be);
      const rep = natRun(t, tcp(be, '172.16.0.1', 8080, 30000 + i, 'SA', c.sseq, c.cseq), { zone: 7, nat: nat({ flags: [] }) });
      expect(rep.st).toBe('+est+rpl+trk+snat');
      expect(formatIpv4(rep.key.get(field('ip_src')))).toBe('10.96.0.1');
      expect(rep.key.get(field('tcp_src'))).toBe(80);
      expect(ipv4Ok(rep.frame) && l4Ok(rep.frame)).toBe(true);
    }
    expect(backends).toEqual(new Set(['10.0.0.10', '10.0.0.11', '10.0.0.12']));
  });

  it('when the backend tuple is taken, OVS falls back to another source port', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const one = nat({ kind: 'dst', addrMin: '10.0.0.10', portMin: 8080, flags: [] });
    ct(t, tcp('172.16.0.1', '10.0.0.10', 40000, 8080, 'S'), { zone: 0, commit: true }); // direct, no NAT
    const r = natRun(t, tcp('172.16.0.1', '10.96.0.1', 40000, 80, 'S'), { zone: 0, commit: true, nat: one });
    expect(r.st).toBe('+new+trk+dnat');
    expect(formatIpv4(r.key.get(field('ip_dst')))).toBe('10.0.0.10');
    expect(r.key.get(field('tcp_dst'))).toBe(8080);
    expect(r.key.get(field('tcp_src'))).toBe(40001);
    expect(l4Ok(r.frame)).toBe(true);
  });

  it('IPv6 DNAT over an address range', () => {
    const t = new Conntrack({ clock: new VirtualClock() });
    const spec = nat({ kind: 'dst', addrMin: '[fd00::a]', addrMax: '[fd00::c]', portMin: 8443, flags: [] });
    const k = keyOf(tcp('fd00::1', 'fd00::100', 1234, 443, 'S'));
    const f = tcp('fd00::1', 'fd00::100', 1234, 443, 'S');
    extractFlowKey(f, 0, f.length, 1, k);
    expect(cs(t.execute(k, f, { zone: 0, commit: true, nat: spec }))).toBe('+new+trk+dnat');
    applyNatToFrame(f, k, t.result.nat);
    applyNatToKey(k, t.result.nat);
    const dst = k.getBig(field('ipv6_dst'));
    expect(dst >= 0xfd00_0000_0000_0000_0000_0000_0000_000an && dst <= 0xfd00_0000_0000_0000_0000_0000_0000_000cn).toBe(true);
    expect(k.get(field('tcp_dst'))).toBe(8443);
    // The rewritten frame passes a checksum-verifying tracker as the same connection's packet.
    const t2 = new Conntrack({ clock: new VirtualClock() });
    expect(ct(t2, f, { zone: 0 }).st).toBe('+new+trk');
    expect(keyOf(f).getBig(field('ipv6_dst'))).toBe(dst);
    expect(k.w[W.ct_ipv6_dst + 3]).toBe(0x100);
  });
});
