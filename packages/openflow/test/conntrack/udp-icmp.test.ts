import { describe, expect, it } from 'vitest';
import { PacketBuilder } from '@ovnts/packet';
import { Conntrack, VirtualClock, W, field } from '@ovnts/openflow';
import { ct, icmp, icmp6Echo, icmp6Error, icmpError, ipOf, tcp, TcpConv, udp } from './helpers.js';

function setup() {
  const clock = new VirtualClock(0);
  return { clock, t: new Conntrack({ clock }) };
}

describe('UDP', () => {
  it('request/reply: +new until a reply is seen, then +est; timeouts follow FIRST/MULTIPLE/BIDIR', () => {
    const { t } = setup();
    const req = udp('10.0.0.1', '10.0.0.2', 5353, 53);
    const rep = udp('10.0.0.2', '10.0.0.1', 53, 5353);
    expect(ct(t, req, { zone: 0 }).st).toBe('+new+trk');
    expect(t.count).toBe(0);
    expect(ct(t, req, { zone: 0, commit: true }).st).toBe('+new+trk');
    expect(t.entries()[0]!.timeoutMs).toBe(60_000); // udp_first
    expect(ct(t, req, { zone: 0 }).st).toBe('+new+trk'); // still one-way: OTHERS_MULTIPLE
    expect(t.entries()[0]!.timeoutMs).toBe(60_000); // udp_single
    expect(ct(t, rep, { zone: 0 }).st).toBe('+est+rpl+trk');
    expect(t.entries()[0]!.timeoutMs).toBe(30_000); // udp_multiple
    expect(ct(t, req, { zone: 0 }).st).toBe('+est+trk');
    expect(t.dump()).toEqual(['udp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=5353,dport=53),reply=(src=10.0.0.2,dst=10.0.0.1,sport=53,dport=5353)']);
  });

  it('reports the original-direction tuple in ct_nw_*/ct_tp_* for both directions', () => {
    const { t } = setup();
    ct(t, udp('10.0.0.1', '10.0.0.2', 1111, 2222), { zone: 0, commit: true });
    const r = ct(t, udp('10.0.0.2', '10.0.0.1', 2222, 1111), { zone: 0 });
    expect(r.key.get(field('ct_nw_src'))).toBe(0x0a000001);
    expect(r.key.get(field('ct_nw_dst'))).toBe(0x0a000002);
    expect(r.key.get(field('ct_nw_proto'))).toBe(17);
    expect(r.key.get(field('ct_tp_src'))).toBe(1111);
    expect(r.key.get(field('ct_tp_dst'))).toBe(2222);
    expect(r.key.get(field('ct_zone'))).toBe(0);
    // An uncommitted new packet reports its own tuple.
    const n = ct(t, udp('10.0.0.9', '10.0.0.8', 7, 8), { zone: 0 });
    expect(n.key.get(field('ct_nw_src'))).toBe(0x0a000009);
    expect(n.key.get(field('ct_tp_dst'))).toBe(8);
  });

  it('port 0 and short UDP length are invalid', () => {
    const { t } = setup();
    expect(ct(t, udp('10.0.0.1', '10.0.0.2', 0, 53), { zone: 0 }).st).toBe('+inv+trk');
  });

  it('a UDP checksum of 0 over IPv4 is accepted', () => {
    const { t } = setup();
    const f = new PacketBuilder().ethernet({ src: 1, dst: 2 }).ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }).udp({ srcPort: 1, dstPort: 2, checksum: false }).payload('x').build();
    expect(ct(t, f, { zone: 0 }).st).toBe('+new+trk');
  });
});

describe('other IP protocols', () => {
  it('GRE is tracked by addresses only', () => {
    const { t } = setup();
    const gre = (s: string, d: string) => new PacketBuilder().ethernet({ src: 1, dst: 2 }).ipv4({ src: s, dst: d, protocol: 47 }).payload('hex:00006558').build();
    expect(ct(t, gre('10.0.0.1', '10.0.0.2'), { zone: 0, commit: true }).st).toBe('+new+trk');
    expect(ct(t, gre('10.0.0.2', '10.0.0.1'), { zone: 0 }).st).toBe('+est+rpl+trk');
    expect(t.dump()).toEqual(['47,orig=(src=10.0.0.1,dst=10.0.0.2,sport=0,dport=0),reply=(src=10.0.0.2,dst=10.0.0.1,sport=0,dport=0)']);
  });

  it('non-IP frames and fragments are invalid', () => {
    const { t } = setup();
    const arp = new PacketBuilder().ethernet({ src: 1, dst: 2 }).arp({ sha: 1, spa: '1.1.1.1', tpa: '1.1.1.2' }).build();
    expect(ct(t, arp, { zone: 0 }).st).toBe('+inv+trk');
    const frag = new PacketBuilder().ethernet({ src: 1, dst: 2 }).ipv4({ src: '1.1.1.1', dst: '1.1.1.2', moreFragments: true }).udp({ srcPort: 1, dstPort: 2 }).payload('abc').build();
    expect(ct(t, frag, { zone: 0, commit: true }).st).toBe('+inv+trk');
  });
});

describe('ICMP', () => {
  it('echo request/reply by identifier', () => {
    const { t } = setup();
    expect(ct(t, icmp('10.0.0.1', '10.0.0.2', 8, 0x42), { zone: 0, commit: true }).st).toBe('+new+trk');
    expect(t.entries()[0]!.timeoutMs).toBe(60_000); // icmp_first
    expect(ct(t, icmp('10.0.0.1', '10.0.0.2', 8, 0x42, 2), { zone: 0 }).st).toBe('+new+trk');
    const rep = ct(t, icmp('10.0.0.2', '10.0.0.1', 0, 0x42), { zone: 0 });
    expect(rep.st).toBe('+est+rpl+trk');
    expect(rep.key.get(field('ct_tp_src'))).toBe(8); // original type
    expect(rep.key.get(field('ct_tp_dst'))).toBe(0); // code
    expect(t.entries()[0]!.timeoutMs).toBe(30_000); // icmp_reply
    expect(ct(t, icmp('10.0.0.1', '10.0.0.2', 8, 0x42, 3), { zone: 0 }).st).toBe('+est+trk');
    // Another identifier is another connection.
    expect(ct(t, icmp('10.0.0.2', '10.0.0.1', 0, 0x43), { zone: 0 }).st).toBe('+inv+trk');
    expect(t.dump()).toEqual(['icmp,orig=(src=10.0.0.1,dst=10.0.0.2,id=66,type=8,code=0),reply=(src=10.0.0.2,dst=10.0.0.1,id=66,type=0,code=0)']);
  });

  it('an echo reply, or an echo with a non-zero code, cannot start a connection', () => {
    const { t } = setup();
    expect(ct(t, icmp('10.0.0.2', '10.0.0.1', 0), { zone: 0, commit: true }).st).toBe('+inv+trk');
    expect(ct(t, icmp('10.0.0.2', '10.0.0.1', 8, 1, 1, 1), { zone: 0, commit: true }).st).toBe('+inv+trk');
    expect(ct(t, icmp('10.0.0.2', '10.0.0.1', 13), { zone: 0, commit: true }).st).toBe('+new+trk'); // timestamp
    expect(t.count).toBe(1);
  });

  it('destination unreachable quoting a tracked UDP packet is +rel (+rpl for the reply direction)', () => {
    const { t, clock } = setup();
    const req = udp('10.0.0.1', '10.0.0.2', 4000, 53);
    ct(t, req, { zone: 0, commit: true });
    const before = t.entries()[0]!.timeoutMs;
    clock.advance(5000);
    // The server (or a router) answers the client's packet with port unreachable.
    const err = icmpError('10.0.0.2', '10.0.0.1', 3, 3, ipOf(req));
    const r = ct(t, err, { zone: 0 });
    expect(r.st).toBe('+rel+rpl+trk');
    expect(r.key.get(field('ct_nw_src'))).toBe(0x0a000001);
    expect(r.key.get(field('ct_nw_proto'))).toBe(17);
    expect(r.key.get(field('ct_tp_dst'))).toBe(53);
    expect(t.entries()[0]!.timeoutMs).toBe(before - 5000); // related packets do not refresh
    // Only 8 bytes of the quoted UDP header are needed (RFC 792).
    expect(ct(t, icmpError('192.168.1.1', '10.0.0.1', 11, 0, ipOf(req, 28)), { zone: 0 }).st).toBe('+rel+rpl+trk');
    // An error about a reply-direction packet is +rel only.
    const rep = udp('10.0.0.2', '10.0.0.1', 53, 4000);
    expect(ct(t, icmpError('10.0.0.1', '10.0.0.2', 3, 3, ipOf(rep)), { zone: 0 }).st).toBe('+rel+trk');
  });

  it('ICMP errors about nothing tracked, or not addressed to the quoted source, are invalid', () => {
    const { t } = setup();
    const req = udp('10.0.0.1', '10.0.0.2', 4000, 53);
    expect(ct(t, icmpError('10.0.0.2', '10.0.0.1', 3, 3, ipOf(req)), { zone: 0, commit: true }).st).toBe('+inv+trk');
    ct(t, req, { zone: 0, commit: true });
    expect(ct(t, icmpError('10.0.0.2', '10.0.0.7', 3, 3, ipOf(req)), { zone: 0 }).st).toBe('+inv+trk');
    expect(ct(t, icmpError('10.0.0.2', '10.0.0.1', 3, 3, ipOf(req, 24)), { zone: 0 }).st).toBe('+inv+trk'); // 4 bytes of UDP
    expect(ct(t, icmpError('10.0.0.2', '10.0.0.1', 3, 3, ipOf(req)), { zone: 1 }).st).toBe('+inv+trk'); // other zone
  });

  it('an ICMP error quoting a TCP segment of a tracked connection is related', () => {
    const { t } = setup();
    const c = new TcpConv('10.0.0.1', '10.0.0.2', 33000, 80);
    const syn = c.c('S');
    ct(t, syn, { zone: 0, commit: true });
    expect(ct(t, icmpError('10.1.1.1', '10.0.0.1', 3, 4, ipOf(syn, 28)), { zone: 0 }).st).toBe('+rel+rpl+trk');
    expect(t.dump()[0]).toContain('state=SYN_SENT');
  });
});

describe('ICMPv6', () => {
  it('echo request/reply and a related error', () => {
    const { t } = setup();
    const a = 'fd00::1';
    const b = 'fd00::2';
    expect(ct(t, icmp6Echo(a, b, 128), { zone: 2, commit: true }).st).toBe('+new+trk');
    const rep = ct(t, icmp6Echo(b, a, 129), { zone: 2 });
    expect(rep.st).toBe('+est+rpl+trk');
    expect(rep.key.get(field('ct_tp_src'))).toBe(128);
    expect(rep.key.getBig(field('ct_ipv6_src'))).toBe(0xfd00_0000_0000_0000_0000_0000_0000_0001n);
    expect(rep.key.w[W.ct_nw_src]).toBe(0);
    expect(t.dump()).toEqual(['icmpv6,orig=(src=fd00::1,dst=fd00::2,id=119,type=128,code=0),reply=(src=fd00::2,dst=fd00::1,id=119,type=129,code=0),zone=2']);
    // Packet too big about a UDP flow.
    const u = udp(a, b, 1000, 2000);
    ct(t, u, { zone: 2, commit: true });
    expect(ct(t, icmp6Error('fd00::fe', a, 2, 0, ipOf(u)), { zone: 2 }).st).toBe('+rel+rpl+trk');
    // An error quoting the echo request.
    const echo = icmp6Echo(a, b, 128);
    expect(ct(t, icmp6Error(b, a, 1, 4, ipOf(echo)), { zone: 2 }).st).toBe('+rel+rpl+trk');
    // An echo reply of nothing, and neighbour discovery, are invalid.
    expect(ct(t, icmp6Echo(b, a, 129, 5), { zone: 2 }).st).toBe('+inv+trk');
    const ns = new PacketBuilder().ethernet({ src: 1, dst: 2 }).ipv6({ src: a, dst: 'ff02::1:ff00:2', hopLimit: 255 }).icmpv6({ kind: 'neighborSolicitation', code: 0, target: 0xfd00_0000_0000_0000_0000_0000_0000_0002n, options: [] }).build();
    expect(ct(t, ns, { zone: 2 }).st).toBe('+inv+trk');
  });
});

describe('zones, mark and label', () => {
  it('zones isolate connections', () => {
    const { t } = setup();
    const f = udp('10.0.0.1', '10.0.0.2', 1, 2);
    const r = udp('10.0.0.2', '10.0.0.1', 2, 1);
    ct(t, f, { zone: 1, commit: true });
    expect(ct(t, r, { zone: 1 }).st).toBe('+est+rpl+trk');
    expect(ct(t, r, { zone: 2 }).st).toBe('+new+trk');
    ct(t, f, { zone: 2, commit: true });
    expect(t.count).toBe(2);
    expect(t.dump(2)).toEqual(['udp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=1,dport=2),reply=(src=10.0.0.2,dst=10.0.0.1,sport=2,dport=1),zone=2']);
    expect(t.flush(1)).toBe(1);
    expect(ct(t, r, { zone: 1 }).st).toBe('+new+trk');
    expect(ct(t, r, { zone: 2 }).st).toBe('+est+rpl+trk');
    expect(t.flush()).toBe(1);
    expect(t.count).toBe(0);
  });

  it('ct_state is reset when a packet enters another zone, and kept in the same zone', () => {
    const { t } = setup();
    const f = udp('10.0.0.1', '10.0.0.2', 1, 2);
    const r = ct(t, f, { zone: 1, commit: true });
    expect(r.st).toBe('+new+trk');
    // Same packet, same zone, again (a second ct() in the pipeline): state goes on from +new.
    expect(t.execute(r.key, f, { zone: 1 })).toBe(0x21);
    expect(r.key.w[W.ct_zone]).toBe(1);
    // Another zone starts afresh.
    expect(t.execute(r.key, f, { zone: 9 })).toBe(0x21);
    expect(r.key.w[W.ct_zone]).toBe(9);
  });

  it('mark and label are stored on commit and reported to later packets; masks merge', () => {
    const { t } = setup();
    const f = udp('10.0.0.1', '10.0.0.2', 1, 2);
    const r = udp('10.0.0.2', '10.0.0.1', 2, 1);
    const c = ct(t, f, { zone: 0, commit: true, mark: { value: 0x12, mask: 0xffffffff }, label: { value: [0, 0, 0, 1], mask: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff] } });
    expect(c.key.get(field('ct_mark'))).toBe(0x12);
    expect(c.key.getBig(field('ct_label'))).toBe(1n);
    const rep = ct(t, r, { zone: 0 });
    expect(rep.key.get(field('ct_mark'))).toBe(0x12);
    expect(rep.key.getBig(field('ct_label'))).toBe(1n);
    // A commit on an established connection updates only the masked bits.
    ct(t, r, { zone: 0, commit: true, mark: { value: 0x300, mask: 0xf00 }, label: { value: [0x80000000, 0, 0, 0], mask: [0x80000000, 0, 0, 0] } });
    const again = ct(t, f, { zone: 0 });
    expect(again.key.get(field('ct_mark'))).toBe(0x312);
    expect(again.key.getBig(field('ct_label'))).toBe((1n << 127n) | 1n);
    expect(t.dump()).toEqual(['udp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=1,dport=2),reply=(src=10.0.0.2,dst=10.0.0.1,sport=2,dport=1),mark=786,labels=0x80000000000000000000000000000001']);
    // Without commit, exec is not OVS syntax, but a mark on a connection-less packet sets nothing.
    const n = ct(t, udp('10.0.0.5', '10.0.0.6', 1, 2), { zone: 0, mark: { value: 7, mask: 0xffffffff } });
    expect(n.key.get(field('ct_mark'))).toBe(0);
  });

  it('force: a committed packet in the reply direction replaces the connection', () => {
    const { t } = setup();
    ct(t, udp('10.0.0.1', '10.0.0.2', 1, 2), { zone: 0, commit: true });
    const r = ct(t, udp('10.0.0.2', '10.0.0.1', 2, 1), { zone: 0, commit: true, force: true });
    expect(r.st).toBe('+new+trk');
    expect(t.dump()).toEqual(['udp,orig=(src=10.0.0.2,dst=10.0.0.1,sport=2,dport=1),reply=(src=10.0.0.1,dst=10.0.0.2,sport=1,dport=2)']);
    // In the original direction force changes nothing.
    expect(ct(t, udp('10.0.0.2', '10.0.0.1', 2, 1), { zone: 0, commit: true, force: true }).st).toBe('+new+trk');
    expect(t.count).toBe(1);
  });

  it('ct on a TCP packet of another protocol family in the same ports is separate', () => {
    const { t } = setup();
    ct(t, tcp('10.0.0.1', '10.0.0.2', 1, 2, 'S'), { zone: 0, commit: true });
    expect(ct(t, udp('10.0.0.1', '10.0.0.2', 1, 2), { zone: 0 }).st).toBe('+new+trk');
  });
});
