/**
 * pinctrl in process: the packets it composes and the state it reports, checked field by field
 * against pinctrl.c's construction (the frames through a whole cluster are compared with real OVN
 * by the frame differential).
 */
import assert from 'node:assert/strict';
import { describe, expect, test } from 'vitest';
import { PacketBuilder, dhcpv4Chaddr, internetChecksum, parseDhcpv4, parseDns, parseIcmpv4, parseTcp, u16, u32, fromHex, toHex } from '@ovnts/packet';
import { fieldByName } from '@ovnts/openflow';
import { ACTION_OPCODE, Pinctrl, encodeOfActions, linkLocalOf, reloadMetadata, type PinctrlPacketIn } from '@ovnts/chassis';

const reg = (n: string) => fieldByName(n)!;
const match = [
  { name: 'in_port', value: 1n },
  { name: 'metadata', value: 3n },
  { name: 'reg0', value: 0x0a000001n },
  { name: 'reg14', value: 2n },
  { name: 'reg15', value: 1n },
];

function userdata(op: number, tail: Uint8Array = new Uint8Array()): Uint8Array {
  const b = new Uint8Array(8 + tail.length);
  new DataView(b.buffer).setUint32(0, op);
  b.set(tail, 8);
  return b;
}

const outputAction = encodeOfActions([{ type: 'resubmit', port: 0xfff8, table: 37 }]);

function pin(frame: Uint8Array, ud: Uint8Array, m = match): PinctrlPacketIn {
  return { frame, userdata: ud, tableId: 20, match: m };
}

const ip4 = new PacketBuilder()
  .ethernet({ src: '00:00:00:00:00:01', dst: '00:00:00:00:ff:01' })
  .ipv4({ src: '10.0.0.5', dst: '10.0.1.9', ttl: 64 })
  .udp({ srcPort: 5000, dstPort: 53 })
  .payload('x'.repeat(20))
  .build();

describe('pinctrl packets', () => {
  test('arp { ... }: an ARP request from the packet, the metadata reloaded, the packet buffered until the MAC is learnt', () => {
    let now = 0;
    const p = new Pinctrl({ recordsFor: () => [] }, () => now);
    const [e] = p.handle(pin(ip4, userdata(ACTION_OPCODE.ARP, outputAction)));
    expect(e!.kind).toBe('packet-out');
    if (e!.kind !== 'packet-out') return;
    expect(toHex(e.frame)).toBe(`00000000ff01000000000001080600010800060400010000000000010a0000050000000000000a000109`);
    expect(e.actions.slice(0, -1)).toEqual(reloadMetadata(match));
    expect(e.actions.map((a) => a.type)).toEqual(['set_field', 'set_field', 'set_field', 'set_field', 'resubmit']);
    expect(e.actions[0]).toEqual({ type: 'set_field', field: reg('reg0'), value: 0x0a000001n });
    expect(p.bufferedCount).toBe(1);
    const out = p.macLearned(3, 1, '10.0.0.1', '0a:00:00:00:00:77');
    expect(out).toHaveLength(1);
    expect(toHex(out[0]!.frame.subarray(0, 6))).toBe('0a0000000077');
    expect(out[0]!.frame.subarray(6)).toEqual(ip4.subarray(6));
    expect(out[0]!.actions.at(-1)).toEqual({ type: 'resubmit', port: 0xfffd, table: 37 });
    expect(p.bufferedCount).toBe(0);
    // Buffers expire after 10 s and keep at most 3 packets per next hop.
    for (let i = 0; i < 5; i++) p.handle(pin(ip4, userdata(ACTION_OPCODE.ARP, outputAction)));
    expect(p.macLearned(3, 1, '10.0.0.1', '0a:00:00:00:00:77')).toHaveLength(3);
    p.handle(pin(ip4, userdata(ACTION_OPCODE.ARP, outputAction)));
    now = 10_001;
    expect(p.bufferedCount).toBe(0);
  });

  test('put_arp: a MAC binding for the logical input port', () => {
    const p = new Pinctrl({ recordsFor: () => [] }, () => 0);
    expect(p.handle(pin(ip4, userdata(ACTION_OPCODE.PUT_ARP)))).toEqual([{ kind: 'mac-binding', dpKey: 3, portKey: 2, ip: '10.0.0.1', mac: '00:00:00:00:00:01' }]);
  });

  test('icmp4_error { ... }: destination unreachable quoting the packet, TTL 255, DF, TOS 0', () => {
    const p = new Pinctrl({ recordsFor: () => [] }, () => 0);
    const [e] = p.handle(pin(ip4, userdata(ACTION_OPCODE.ICMP4_ERROR, outputAction)));
    if (e!.kind !== 'packet-out') assert.fail(`unexpected ${e!.kind}`);
    const f = e.frame;
    expect(u16(f, 16)).toBe(20 + 8 + (ip4.length - 14));
    expect(f[15]).toBe(0);
    expect(u16(f, 20)).toBe(0x4000);
    expect(f[22]).toBe(255);
    expect(internetChecksum(f, 14, 20)).toBe(0);
    const icmp = parseIcmpv4(f, 34, f.length - 34);
    expect(icmp.ok && icmp.value.type).toBe(3);
    expect(icmp.ok && icmp.value.code).toBe(1);
    expect(internetChecksum(f, 34, f.length - 34)).toBe(0);
    expect(f.subarray(42)).toEqual(ip4.subarray(14));
    // icmp4 { ... } (ACTION_OPCODE.ICMP) says port unreachable for UDP.
    const [e2] = p.handle(pin(ip4, userdata(ACTION_OPCODE.ICMP, outputAction)));
    if (e2!.kind !== 'packet-out') assert.fail(`unexpected ${e2!.kind}`);
    expect(e2.frame[35]).toBe(3);
  });

  test('tcp_reset { ... } and reject { ... }: RST+ACK acknowledging seq + 1, TTL 63; reject answers from the destination', () => {
    const syn = new PacketBuilder()
      .ethernet({ src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02' })
      .ipv4({ src: '10.0.0.5', dst: '10.0.0.6' })
      .tcp({ srcPort: 40000, dstPort: 80, flags: 'S', seq: 1000 })
      .build();
    const p = new Pinctrl({ recordsFor: () => [] }, () => 0);
    const [e] = p.handle(pin(syn, userdata(ACTION_OPCODE.TCP_RESET, outputAction)));
    if (e!.kind !== 'packet-out') assert.fail(`unexpected ${e!.kind}`);
    const t = parseTcp(e.frame, 34, 20);
    expect(t.ok && [t.value.srcPort, t.value.dstPort, t.value.seq, t.value.ack, t.value.flags]).toEqual([80, 40000, 0, 1001, 0x14]);
    expect(e.frame[22]).toBe(63);
    expect(toHex(e.frame.subarray(26, 34))).toBe('0a0000050a000006');
    const [r] = p.handle(pin(syn, userdata(ACTION_OPCODE.REJECT, outputAction)));
    if (r!.kind !== 'packet-out') assert.fail(`unexpected ${r!.kind}`);
    expect(toHex(r.frame.subarray(0, 12))).toBe('000000000001000000000002');
    expect(toHex(r.frame.subarray(26, 34))).toBe('0a0000060a000005');
  });

  test('nd_ns { ... }: a solicitation from the link-local address to the solicited-node group', () => {
    const v6 = new PacketBuilder()
      .ethernet({ src: '00:00:00:00:00:01', dst: '00:00:00:00:ff:01' })
      .ipv6({ src: 'fd00::5', dst: 'fd00:1::9' })
      .udp({ srcPort: 1, dstPort: 2 })
      .build();
    const p = new Pinctrl({ recordsFor: () => [] }, () => 0);
    const [e] = p.handle(pin(v6, userdata(ACTION_OPCODE.ND_NS, outputAction)));
    if (e!.kind !== 'packet-out') assert.fail(`unexpected ${e!.kind}`);
    expect(toHex(e.frame.subarray(0, 6))).toBe('3333ff000009');
    expect(e.frame[21]).toBe(255);
    expect(linkLocalOf(0x000000000001)).toBe(0xfe800000000000000200_00fffe000001n);
    expect(e.frame[54]).toBe(135);
  });
});

describe('pinctrl pausing operations', () => {
  // put_dhcp_opts(offerip = 10.0.0.5, netmask = 255.255.255.0, router = 10.0.0.1, lease_time = 3600) -> reg0[3]
  const result = fromHex('00010004' + '00000003'); // NXM_NX_REG0, bit 3
  const dhcpOpts = fromHex('0a000005' + '0104ffffff00' + '03040a000001' + '330400000e10');
  const discover = new PacketBuilder()
    .ethernet({ src: '00:00:00:00:00:05', dst: 'ff:ff:ff:ff:ff:ff' })
    .ipv4({ src: '0.0.0.0', dst: '255.255.255.255' })
    .udp({ srcPort: 68, dstPort: 67 })
    .dhcpv4({
      op: 1, htype: 1, hops: 0, xid: 0x1234, secs: 0, flags: 0, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0,
      chaddr: dhcpv4Chaddr(5), sname: '', file: '', options: { messageType: 1, other: [] },
    })
    .build();

  test('put_dhcp_opts: DHCPOFFER with the options, unicast to the offered address; the result bit set', () => {
    const p = new Pinctrl({ recordsFor: () => [] }, () => 0);
    const [e] = p.handle(pin(discover, userdata(ACTION_OPCODE.PUT_DHCP_OPTS, Uint8Array.from([...result, ...dhcpOpts]))));
    if (e!.kind !== 'resume') assert.fail(`unexpected ${e!.kind}`);
    expect(e.result).toEqual({ field: reg('reg0'), bit: 3, value: 1 });
    const f = e.frame;
    expect(u32(f, 30)).toBe(0x0a000005);
    expect(internetChecksum(f, 14, 20)).toBe(0);
    const d = parseDhcpv4(f, 42, f.length - 42);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value.op).toBe(2);
    expect(d.value.yiaddr).toBe(0x0a000005);
    expect(d.value.options.messageType).toBe(2);
    // Options: 53 first, then the userdata's options in order, 4 bytes of padding, END, 4 more bytes.
    expect(toHex(f.subarray(42 + 240))).toBe('350102' + '0104ffffff00' + '03040a000001' + '330400000e10' + '00000000' + 'ff' + '00000000');
    expect(u16(f, 38)).toBe(f.length - 34);
  });

  test('put_dhcp_opts: a DHCPREQUEST for another address gets a NAK without options; a bad packet fails the result bit', () => {
    const p = new Pinctrl({ recordsFor: () => [] }, () => 0);
    const req = discover.slice();
    // message type 3 (request); ciaddr = 10.0.0.9
    const mt = req.findIndex((_, i) => i >= 42 + 240 && req[i] === 53 && req[i + 1] === 1);
    req[mt + 2] = 3;
    req.set([10, 0, 0, 9], 42 + 12);
    const [e] = p.handle(pin(req, userdata(ACTION_OPCODE.PUT_DHCP_OPTS, Uint8Array.from([...result, ...dhcpOpts]))));
    if (e!.kind !== 'resume') assert.fail(`unexpected ${e!.kind}`);
    expect(toHex(e.frame.subarray(42 + 240))).toBe('350106' + '00000000' + 'ff' + '00000000');
    expect(u32(e.frame, 42 + 16)).toBe(0);
    const [bad, why] = p.handle(pin(ip4, userdata(ACTION_OPCODE.PUT_DHCP_OPTS, Uint8Array.from([...result, ...dhcpOpts]))));
    expect(bad!.kind === 'resume' && bad.result?.value).toBe(0);
    expect(why!.kind).toBe('ignored');
  });

  test('dns_lookup: an A answer appended after the question, the response bit set', () => {
    const q = new PacketBuilder()
      .ethernet({ src: '00:00:00:00:00:05', dst: '00:00:00:00:ff:01' })
      .ipv4({ src: '10.0.0.5', dst: '10.0.0.1' })
      .udp({ srcPort: 3333, dstPort: 53 })
      .dns({ id: 7, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: 0, rcode: 0, questions: [{ name: 'vm1.ovn.org', type: 1, class: 1 }], answers: [], authorities: [], additionals: [] })
      .build();
    const p = new Pinctrl({ recordsFor: (k) => (k === 3 ? [new Map([['vm1.ovn.org', '10.0.0.7 fd00::7']])] : []) }, () => 0);
    const [e] = p.handle(pin(q, userdata(ACTION_OPCODE.DNS_LOOKUP, result)));
    if (e!.kind !== 'resume') assert.fail(`unexpected ${e!.kind}`);
    expect(e.result?.value).toBe(1);
    const d = parseDns(e.frame, 42, e.frame.length - 42);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value.qr).toBe(true);
    expect(d.value.answers).toHaveLength(1);
    expect(d.value.answers[0]!.ttl).toBe(3600);
    expect(internetChecksum(e.frame, 14, 20)).toBe(0);
    // Unknown name: the original packet, result 0.
    const p2 = new Pinctrl({ recordsFor: () => [] }, () => 0);
    const [e2] = p2.handle(pin(q, userdata(ACTION_OPCODE.DNS_LOOKUP, result)));
    expect(e2!.kind === 'resume' && e2.result?.value).toBe(0);
    expect(e2!.kind === 'resume' && e2.frame).toEqual(q);
  });

  test('malformed userdata and unknown opcodes are reported, never thrown', () => {
    const p = new Pinctrl({ recordsFor: () => [] }, () => 0);
    expect(p.handle(pin(ip4, new Uint8Array(3)))[0]!.kind).toBe('ignored');
    expect(p.handle(pin(ip4, userdata(999)))[0]!.kind).toBe('ignored');
    expect(p.handle(pin(ip4, userdata(ACTION_OPCODE.ARP, Uint8Array.from([0, 0, 0, 9, 1, 2, 3, 4]))))[0]!.kind).toBe('ignored');
    const arpFrame = new PacketBuilder().ethernet({ src: '00:00:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff' }).arp({ op: 1, sha: '00:00:00:00:00:01', spa: '10.0.0.1', tha: '00:00:00:00:00:00', tpa: '10.0.0.2' }).build();
    expect(p.handle(pin(arpFrame, userdata(ACTION_OPCODE.ARP, outputAction)))[0]!.kind).toBe('ignored');
  });
});
