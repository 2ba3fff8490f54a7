import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex } from '@ovnts/packet';
import { ExtractStatus, FlowKey, FLOW_DL_TYPE_NONE, W, extractFlowKey, field } from '@ovnts/openflow';
import { minHeapGrowth } from '@ovnts/testkit';

const ETH = '0a0000000002' + '0a0000000001';
// IPv4/TCP SYN 10.0.0.1:1234 -> 10.0.0.2:80, ttl 64, tos 0x28 (checksums are not looked at).
const IP_TCP = '4528002c00004000400600000a0000010a000002' + '04d20050' + '00000001' + '00000000' + '6002faf0' + '00000000' + '020405b4';
const TCP_FRAME = fromHex(ETH + '0800' + IP_TCP);

function extract(frame: Uint8Array, inPort = 7, vlanLimit = 1): FlowKey {
  const k = new FlowKey();
  extractFlowKey(frame, 0, frame.length, inPort, k, vlanLimit);
  return k;
}

describe('extractFlowKey', () => {
  it('extracts Ethernet/IPv4/TCP', () => {
    const k = extract(TCP_FRAME);
    expect(k.status).toBe(ExtractStatus.Ok);
    expect(k.get(field('in_port'))).toBe(7);
    expect(k.get(field('eth_dst'))).toBe(0x0a0000000002);
    expect(k.get(field('eth_src'))).toBe(0x0a0000000001);
    expect(k.get(field('eth_type'))).toBe(0x0800);
    expect(k.get(field('ip_src'))).toBe(0x0a000001);
    expect(k.get(field('ip_dst'))).toBe(0x0a000002);
    expect(k.get(field('nw_proto'))).toBe(6);
    expect(k.get(field('nw_ttl'))).toBe(64);
    expect(k.get(field('nw_tos'))).toBe(0x28);
    expect(k.get(field('ip_dscp'))).toBe(10);
    expect(k.get(field('tcp_src'))).toBe(1234);
    expect(k.get(field('tcp_dst'))).toBe(80);
    expect(k.get(field('tcp_flags'))).toBe(0x002);
    expect(k.get(field('ip_frag'))).toBe(0);
    expect([k.l2, k.l3, k.l4, k.end]).toEqual([0, 14, 34, 14 + 44]);
  });

  it('extracts at an offset and ignores Ethernet padding', () => {
    const buf = new Uint8Array(TCP_FRAME.length + 10);
    buf.set(TCP_FRAME, 3);
    const k = new FlowKey();
    extractFlowKey(buf, 3, TCP_FRAME.length + 7, 1, k);
    expect(k.get(field('tcp_dst'))).toBe(80);
    expect([k.l3, k.l4, k.end]).toEqual([17, 37, 3 + 58]);
  });

  it('sets the VLAN CFI as the present bit and loses DEI; parses one tag by default', () => {
    const k = extract(fromHex(ETH + '8100' + 'a005' + '0800' + IP_TCP));
    expect(k.get(field('vlan_tci'))).toBe(0xb005);
    expect(k.get(field('dl_vlan'))).toBe(5);
    expect(k.get(field('vlan_pcp'))).toBe(5);
    expect(k.get(field('tcp_dst'))).toBe(80);
    const qinq = fromHex(ETH + '88a8' + '0064' + '8100' + '0005' + '0800' + IP_TCP);
    const k1 = extract(qinq);
    expect(k1.get(field('vlan_tci'))).toBe(0x1064);
    expect(k1.get(field('eth_type'))).toBe(0x8100); // vlan-limit 1: the inner TPID is the type
    expect(k1.get(field('ip_src'))).toBe(0);
    const k2 = extract(qinq, 1, 2);
    expect(k2.vlan2Tci).toBe(0x1005);
    expect(k2.get(field('eth_type'))).toBe(0x0800);
    expect(k2.get(field('tcp_dst'))).toBe(80);
  });

  it('maps 802.3 frames to LLC/SNAP type or FLOW_DL_TYPE_NONE', () => {
    expect(extract(fromHex(ETH + '0026' + '424203000000000000')).get(field('eth_type'))).toBe(FLOW_DL_TYPE_NONE);
    expect(extract(fromHex(ETH + '0030' + 'aaaa03000000' + '0800' + IP_TCP)).get(field('tcp_dst'))).toBe(80);
  });

  it('a truncated IPv4 header leaves every L3 field zero', () => {
    const k = extract(TCP_FRAME.subarray(0, 14 + 19));
    expect(k.status).toBe(ExtractStatus.L3Invalid);
    expect(k.get(field('eth_type'))).toBe(0x0800);
    expect(k.get(field('eth_src'))).toBe(0x0a0000000001);
    expect(k.get(field('ip_src'))).toBe(0);
    expect(k.get(field('nw_proto'))).toBe(0);
    // tot_len larger than the frame: also refused, as OVS's ipv4_sanity_check does.
    expect(extract(TCP_FRAME.subarray(0, 14 + 40)).get(field('ip_src'))).toBe(0);
  });

  it('a truncated TCP header leaves L4 fields zero but keeps L3', () => {
    const f = fromHex(ETH + '0800' + '45000021' + '00004000400600000a0000010a000002' + '04d20050000000010000000060');
    const k = extract(f);
    expect(k.status).toBe(ExtractStatus.L4Truncated);
    expect(k.get(field('nw_proto'))).toBe(6);
    expect(k.get(field('tcp_src'))).toBe(0);
    expect(k.get(field('tcp_flags'))).toBe(0);
  });

  it('IPv4 fragments: first has L4, later has none', () => {
    const first = fromHex(ETH + '0800' + '4500002c00002000400600000a0000010a000002' + IP_TCP.slice(40));
    const kf = extract(first);
    expect(kf.get(field('ip_frag'))).toBe(1);
    expect(kf.get(field('tcp_dst'))).toBe(80);
    const later = fromHex(ETH + '0800' + '4500002c00000010400600000a0000010a000002' + IP_TCP.slice(40));
    const kl = extract(later);
    expect(kl.get(field('ip_frag'))).toBe(3);
    expect(kl.get(field('nw_proto'))).toBe(6);
    expect(kl.get(field('tcp_dst'))).toBe(0);
  });

  const V6 = '6' + '12' + '54321'; // version, traffic class 0x12, flow label 0x54321
  const SRC6 = 'fe800000000000000000000000000001';
  const DST6 = 'fe800000000000000000000000000002';
  const UDP = '303900350008' + '0000';

  it('IPv6 with extension headers, fragments and truncation', () => {
    const hop = '11' + '00' + '000000000000'; // next UDP, 8 bytes
    const k = extract(fromHex(ETH + '86dd' + V6 + '0010' + '00' + '40' + SRC6 + DST6 + hop + UDP));
    expect(k.get(field('nw_proto'))).toBe(17);
    expect(k.get(field('ipv6_label'))).toBe(0x54321);
    expect(k.w[W.nw_tos]).toBe(0x12);
    expect(k.get(field('ip_dscp'))).toBe(4);
    expect(k.get(field('nw_ecn'))).toBe(2);
    expect(k.get(field('nw_ttl'))).toBe(0x40);
    expect(k.get(field('udp_src'))).toBe(12345);
    expect(k.get(field('udp_dst'))).toBe(53);
    expect(k.getBig(field('ipv6_src'))).toBe(0xfe800000000000000000000000000001n);
    expect(k.l4).toBe(14 + 40 + 8);
    const fragFirst = '11' + '00' + '0001' + '00000001';
    expect(extract(fromHex(ETH + '86dd' + V6 + '0010' + '2c' + '40' + SRC6 + DST6 + fragFirst + UDP)).get(field('ip_frag'))).toBe(1);
    const fragLater = '11' + '00' + '0010' + '00000001';
    const kl = extract(fromHex(ETH + '86dd' + V6 + '0010' + '2c' + '40' + SRC6 + DST6 + fragLater + UDP));
    expect(kl.get(field('ip_frag'))).toBe(3);
    expect(kl.get(field('nw_proto'))).toBe(44);
    expect(kl.get(field('udp_dst'))).toBe(0);
    // A short extension header: addresses kept, tos/ttl/proto/label zero (OVS order of pushes).
    const short = extract(fromHex(ETH + '86dd' + V6 + '0004' + '00' + '40' + SRC6 + DST6 + '11000000'));
    expect(short.status).toBe(ExtractStatus.L3Invalid);
    expect(short.getBig(field('ipv6_dst'))).toBe(0xfe800000000000000000000000000002n);
    expect(short.get(field('nw_ttl'))).toBe(0);
    expect(short.get(field('ipv6_label'))).toBe(0);
  });

  it('ND neighbor solicitation and advertisement', () => {
    const ns = '8700' + '0000' + '00000000' + DST6 + '0101' + '0a0000000001';
    const k = extract(fromHex(ETH + '86dd' + V6 + '0020' + '3a' + 'ff' + SRC6 + DST6 + ns));
    expect(k.get(field('icmpv6_type'))).toBe(135);
    expect(k.getBig(field('nd_target'))).toBe(0xfe800000000000000000000000000002n);
    expect(k.get(field('nd_sll'))).toBe(0x0a0000000001);
    expect(k.get(field('nd_tll'))).toBe(0);
    const na = '8800' + '0000' + '60000000' + DST6 + '0201' + '0a0000000002';
    const k2 = extract(fromHex(ETH + '86dd' + V6 + '0020' + '3a' + 'ff' + SRC6 + DST6 + na));
    expect(k2.get(field('nd_tll'))).toBe(0x0a0000000002);
    // Code 1 is not ND: no target.
    const bad = '8701' + '0000' + '00000000' + DST6;
    expect(extract(fromHex(ETH + '86dd' + V6 + '0018' + '3a' + 'ff' + SRC6 + DST6 + bad)).getBig(field('nd_target'))).toBe(0n);
    // A repeated SLL option clears target and addresses.
    const dup = '8700' + '0000' + '00000000' + DST6 + '0101' + '0a0000000001' + '0101' + '0a0000000003';
    const k3 = extract(fromHex(ETH + '86dd' + V6 + '0028' + '3a' + 'ff' + SRC6 + DST6 + dup));
    expect(k3.getBig(field('nd_target'))).toBe(0n);
    expect(k3.get(field('nd_sll'))).toBe(0);
    expect(k3.get(field('icmpv6_type'))).toBe(135);
  });

  it('ICMP type and code, ARP', () => {
    const icmp = fromHex(ETH + '0800' + '4500001c000000004001' + '0000' + '0a0000010a000002' + '0303' + '0000' + '00000000');
    const k = extract(icmp);
    expect(k.get(field('icmp_type'))).toBe(3);
    expect(k.get(field('icmp_code'))).toBe(3);
    const arp = fromHex(ETH + '0806' + '0001080006040001' + '0a0000000001' + '0a000001' + '000000000000' + '0a000002');
    const ka = extract(arp);
    expect(ka.get(field('arp_op'))).toBe(1);
    expect(ka.get(field('arp_spa'))).toBe(0x0a000001);
    expect(ka.get(field('arp_tpa'))).toBe(0x0a000002);
    expect(ka.get(field('arp_sha'))).toBe(0x0a0000000001);
    expect(ka.get(field('arp_tha'))).toBe(0);
    expect(extract(arp.subarray(0, 40)).status).toBe(ExtractStatus.ArpInvalid);
  });

  it('a runt frame sets only in_port', () => {
    const k = extract(TCP_FRAME.subarray(0, 13), 3);
    expect(k.status).toBe(ExtractStatus.EthTruncated);
    expect(k.get(field('in_port'))).toBe(3);
    expect(k.w.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('truncation sweep: every prefix extracts without throwing and never reads past len', () => {
    const frames = [TCP_FRAME, fromHex(ETH + '8100a0050800' + IP_TCP)];
    for (const f of frames) {
      for (let n = 0; n <= f.length; n++) {
        const buf = new Uint8Array(f.length + 8).fill(0xff);
        buf.set(f.subarray(0, n));
        const k = new FlowKey();
        expect(() => extractFlowKey(buf, 0, n, 1, k)).not.toThrow();
        const ref = new FlowKey();
        extractFlowKey(f.slice(0, n), 0, n, 1, ref);
        expect(Array.from(k.w)).toEqual(Array.from(ref.w));
      }
    }
  });

  it('arbitrary bytes never throw', () => {
    const k = new FlowKey();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('', '0800', '86dd', '0806', '8100'), (b, t) => {
        const f = fromHex(ETH + t + Buffer.from(b).toString('hex'));
        extractFlowKey(f, 0, f.length, 1, k, 2);
        return k.w[W.in_port] === 1;
      }),
      { numRuns: 2000 },
    );
  });

  it('allocates nothing per frame (1M extractions, heap growth stays small)', () => {
    const k = new FlowKey();
    const frames = [TCP_FRAME, fromHex(ETH + '8100a0050800' + IP_TCP), TCP_FRAME.subarray(0, 30)];
    for (let i = 0; i < 10000; i++) extractFlowKey(frames[i % 3]!, 0, frames[i % 3]!.length, 1, k);
    const g = minHeapGrowth(() => {
      for (let i = 0; i < 100_000; i++) {
        const f = frames[i % 3]!;
        extractFlowKey(f, 0, f.length, i & 0xff, k);
      }
    });
    // One small object per frame would be >= 1.6 MB per round.
    expect(g.min, `heap growth per 100k frames (${g.clean} of ${g.rounds} rounds without a GC)`).toBeLessThan(256 * 1024);
  });
});
