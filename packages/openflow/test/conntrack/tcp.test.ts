import { describe, expect, it } from 'vitest';
import { Conntrack, VirtualClock, W } from '@ovnts/openflow';
import { ct, tcp, TcpConv } from './helpers.js';

function setup() {
  const clock = new VirtualClock(1_000_000);
  return { clock, t: new Conntrack({ clock }) };
}

describe('TCP tracking', () => {
  it('handshake, data, FIN teardown, TIME_WAIT and reuse', () => {
    const { clock, t } = setup();
    const c = new TcpConv('10.0.0.1', '10.0.0.2', 40000, 80);
    const z = { zone: 0 };
    const commit = { zone: 0, commit: true };
    const syn = c.c('S');
    expect(ct(t, syn, z).st).toBe('+new+trk');
    expect(t.count).toBe(0); // not committed: nothing created
    expect(ct(t, syn, commit).st).toBe('+new+trk');
    expect(t.count).toBe(1);
    expect(t.dump()).toEqual(['tcp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=40000,dport=80),reply=(src=10.0.0.2,dst=10.0.0.1,sport=80,dport=40000),protoinfo=(state=SYN_SENT)']);
    expect(ct(t, c.s('SA'), z).st).toBe('+est+rpl+trk');
    expect(ct(t, c.c('A'), z).st).toBe('+est+trk');
    expect(t.dump()[0]).toContain('state=ESTABLISHED');
    expect(ct(t, c.c('PA', 'GET / HTTP/1.0\r\n\r\n'), z).st).toBe('+est+trk');
    expect(ct(t, c.s('PA', 'HTTP/1.0 200 OK\r\n\r\n'), z).st).toBe('+est+rpl+trk');
    expect(ct(t, c.c('A'), z).st).toBe('+est+trk');
    // Active close by the client.
    expect(ct(t, c.c('FA'), z).st).toBe('+est+trk');
    expect(t.dump()[0]).toContain('state=CLOSING');
    expect(ct(t, c.s('A'), z).st).toBe('+est+rpl+trk');
    expect(ct(t, c.s('FA'), z).st).toBe('+est+rpl+trk');
    expect(ct(t, c.c('A'), z).st).toBe('+est+trk');
    expect(t.dump()[0]).toContain('state=TIME_WAIT'); // FIN_WAIT_2 on both sides, shown as TIME_WAIT
    // Both sides done: tcp_close (30 s) applies.
    expect(t.entries()[0]!.timeoutMs).toBe(30_000);
    // A new SYN on the same tuple reopens the connection (CT_UPDATE_NEW).
    clock.advance(1000);
    const c2 = new TcpConv('10.0.0.1', '10.0.0.2', 40000, 80, 900_000, 7);
    expect(ct(t, c2.c('S'), commit).st).toBe('+new+trk');
    expect(t.count).toBe(1);
    expect(t.dump()[0]).toContain('state=SYN_SENT');
    expect(ct(t, c2.s('SA'), z).st).toBe('+est+rpl+trk');
    expect(ct(t, c2.c('A'), z).st).toBe('+est+trk');
  });

  it('a reopening SYN without commit still ends the old connection, as in OVS', () => {
    const { t } = setup();
    const c = new TcpConv('10.0.0.1', '10.0.0.2', 40001, 80);
    ct(t, c.c('S'), { zone: 0, commit: true });
    ct(t, c.s('SA'), { zone: 0 });
    ct(t, c.c('A'), { zone: 0 });
    ct(t, c.c('FA'), { zone: 0 });
    ct(t, c.s('FA'), { zone: 0 });
    ct(t, c.c('A'), { zone: 0 });
    expect(t.count).toBe(1);
    expect(ct(t, tcp('10.0.0.1', '10.0.0.2', 40001, 80, 'S', 123), { zone: 0 }).st).toBe('+new+trk');
    expect(t.count).toBe(0);
  });

  it('RST closes the connection (TIME_WAIT, tcp_close timeout)', () => {
    const { t } = setup();
    const c = new TcpConv('10.0.0.1', '10.0.0.2', 40002, 22);
    ct(t, c.c('S'), { zone: 0, commit: true });
    ct(t, c.s('SA'), { zone: 0 });
    ct(t, c.c('A'), { zone: 0 });
    expect(ct(t, c.s('RA'), { zone: 0 }).st).toBe('+est+rpl+trk');
    expect(t.dump()[0]).toContain('state=TIME_WAIT');
    expect(t.entries()[0]!.timeoutMs).toBe(30_000);
  });

  it('an RST with a wrong sequence number is invalid', () => {
    const { t } = setup();
    const c = new TcpConv('10.0.0.1', '10.0.0.2', 40003, 22);
    ct(t, c.c('S'), { zone: 0, commit: true });
    ct(t, c.s('SA'), { zone: 0 });
    ct(t, c.c('A'), { zone: 0 });
    const bad = tcp('10.0.0.2', '10.0.0.1', 22, 40003, 'RA', (c.sseq + 100) >>> 0, c.cseq);
    const r = ct(t, bad, { zone: 0 });
    expect(r.st).toBe('+inv+trk');
    // The connection's metadata is still reported with an invalid packet of it.
    expect(r.key.w[W.ct_nw_src]).toBe(0x0a000001);
    expect(t.dump()[0]).toContain('state=ESTABLISHED');
  });

  it('invalid flag combinations and half-open pick-ups', () => {
    const { t } = setup();
    const z = { zone: 0, commit: true };
    expect(ct(t, tcp('10.0.0.1', '10.0.0.2', 1000, 80, 'SF'), z).st).toBe('+inv+trk');
    expect(ct(t, tcp('10.0.0.1', '10.0.0.2', 1001, 80, 'SR'), z).st).toBe('+inv+trk');
    expect(ct(t, tcp('10.0.0.1', '10.0.0.2', 1002, 80, ''), z).st).toBe('+inv+trk'); // null scan
    expect(ct(t, tcp('10.0.0.1', '10.0.0.2', 1003, 80, 'F'), z).st).toBe('+inv+trk'); // FIN without ACK
    expect(ct(t, tcp('10.0.0.1', '10.0.0.2', 1004, 80, 'SA'), z).st).toBe('+inv+trk'); // SYN+ACK cannot create
    expect(t.count).toBe(0);
    // OVS picks up established streams: a bare ACK (or RST) of no connection is +new, not +inv.
    expect(ct(t, tcp('10.0.0.1', '10.0.0.2', 1005, 80, 'A', 5, 9), z).st).toBe('+new+trk');
    expect(t.count).toBe(1);
    // Port 0 is invalid.
    expect(ct(t, tcp('10.0.0.1', '10.0.0.2', 0, 80, 'S'), z).st).toBe('+inv+trk');
  });

  it('data far outside the window is invalid; with sequence checking off it passes', () => {
    const { t } = setup();
    const c = new TcpConv('10.0.0.1', '10.0.0.2', 40004, 80);
    ct(t, c.c('S'), { zone: 0, commit: true });
    ct(t, c.s('SA'), { zone: 0 });
    ct(t, c.c('A'), { zone: 0 });
    const far = tcp('10.0.0.1', '10.0.0.2', 40004, 80, 'PA', (c.cseq + 0x4000_0000) >>> 0, c.sseq, 'x');
    expect(ct(t, far, { zone: 0 }).st).toBe('+inv+trk');
    t.setTcpSeqCheck(false);
    expect(ct(t, far, { zone: 0 }).st).toBe('+est+trk');
  });

  it('a retransmitted SYN keeps the connection +new', () => {
    const { t } = setup();
    const c = new TcpConv('10.0.0.1', '10.0.0.2', 40005, 80);
    const syn = c.c('S');
    ct(t, syn, { zone: 0, commit: true });
    expect(ct(t, syn, { zone: 0 }).st).toBe('+new+trk');
    expect(t.count).toBe(1);
  });

  it('window scaling from the SYN options is honoured', () => {
    const { t } = setup();
    const ws = new Uint8Array([1, 3, 3, 7]); // NOP, window scale 7
    const a = '10.0.0.1';
    const b = '10.0.0.2';
    ct(t, tcp(a, b, 40006, 80, 'S', 100, 0, '', 65535, ws), { zone: 0, commit: true });
    ct(t, tcp(b, a, 80, 40006, 'SA', 900, 101, '', 65535, ws), { zone: 0 });
    expect(ct(t, tcp(a, b, 40006, 80, 'A', 101, 901, '', 512), { zone: 0 }).st).toBe('+est+trk');
    // The server opens its window to 65535 << 7 bytes: data 1 MB ahead is inside it.
    expect(ct(t, tcp(b, a, 80, 40006, 'A', 901, 101, '', 65535), { zone: 0 }).st).toBe('+est+rpl+trk');
    expect(ct(t, tcp(a, b, 40006, 80, 'PA', 101 + 1_000_000, 901, 'z', 512), { zone: 0 }).st).toBe('+est+trk');
    // Without the option the same exchange leaves the segment out of the window.
    const t2 = new Conntrack({ clock: new VirtualClock() });
    ct(t2, tcp(a, b, 40007, 80, 'S', 100, 0, '', 65535), { zone: 0, commit: true });
    ct(t2, tcp(b, a, 80, 40007, 'SA', 900, 101, '', 65535), { zone: 0 });
    ct(t2, tcp(a, b, 40007, 80, 'A', 101, 901, '', 512), { zone: 0 });
    ct(t2, tcp(b, a, 80, 40007, 'A', 901, 101, '', 65535), { zone: 0 });
    expect(ct(t2, tcp(a, b, 40007, 80, 'PA', 101 + 1_000_000, 901, 'z', 512), { zone: 0 }).st).toBe('+inv+trk');
  });

  it('IPv6 TCP handshake', () => {
    const { t } = setup();
    const c = new TcpConv('2001:db8::1', '2001:db8::2', 5555, 443);
    expect(ct(t, c.c('S'), { zone: 3, commit: true }).st).toBe('+new+trk');
    expect(ct(t, c.s('SA'), { zone: 3 }).st).toBe('+est+rpl+trk');
    expect(ct(t, c.c('A'), { zone: 3 }).st).toBe('+est+trk');
    expect(t.dump()).toEqual(['tcp,orig=(src=2001:db8::1,dst=2001:db8::2,sport=5555,dport=443),reply=(src=2001:db8::2,dst=2001:db8::1,sport=443,dport=5555),zone=3,protoinfo=(state=ESTABLISHED)']);
  });

  it('a bad TCP checksum makes the packet invalid with no tuple', () => {
    const { t } = setup();
    const f = tcp('10.0.0.1', '10.0.0.2', 1234, 80, 'S');
    f[14 + 20 + 16] ^= 0xff;
    const r = ct(t, f, { zone: 0, commit: true });
    expect(r.st).toBe('+inv+trk');
    expect(r.key.w[W.ct_nw_proto]).toBe(0);
    expect(t.count).toBe(0);
    const t2 = new Conntrack({ clock: new VirtualClock(), checksums: false });
    expect(ct(t2, f, { zone: 0 }).st).toBe('+new+trk');
  });
});
