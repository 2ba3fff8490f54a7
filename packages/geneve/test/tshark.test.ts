// Frames we encapsulate must decode the same way in Wireshark's dissectors: write them to a
// classic pcap (link type 1, Ethernet) and compare `tshark -T fields` against what we meant.
import { describe, expect, it } from 'vitest';
import { formatMac, fromHex, macFromBytes, parseIpv4, parseIpv6, parseMac, toHex } from '@ovnts/packet';
import { requireTools, tsharkRecords } from '@ovnts/testkit';
import { decapsulate, DecapResult, TUNNEL_MAX_HEADROOM, TunnelEncap, TunnelKey, TunnelKind, type TunnelConfig } from '@ovnts/geneve';

const req = requireTools('geneve/vxlan frames decoded by tshark', ['tshark'], 'apt-get install -y tshark');

const macA = parseMac('aa:55:aa:55:00:00');
const macB = parseMac('f8:bc:12:44:34:b6');
const inner = fromHex(
  '50540000000a 505400000009 0800 4500001e 00010000 4011f9cd c0a80001 c0a80002 1f90 0035 000a 0000 6869',
);

function encapsulate(cfg: TunnelConfig, key: TunnelKey): Uint8Array {
  const enc = new TunnelEncap(cfg);
  const buf = new Uint8Array(TUNNEL_MAX_HEADROOM + inner.length);
  buf.set(inner, TUNNEL_MAX_HEADROOM);
  enc.encap(key, buf, TUNNEL_MAX_HEADROOM, inner.length);
  return buf.slice(enc.off, enc.off + enc.len);
}

const ovn = new TunnelKey().setOvn(5, 3, 0x1234);
const extra = fromHex('ffff 01 01 0000000b');
const ovnPlus = new TunnelKey().setOvn(0xabcdef, 0x7fff, 0x8005);
const frames: { name: string; frame: Uint8Array }[] = [
  // From OVS's tests/tunnel-push-pop.at (Geneve with two experimental-class options).
  {
    name: 'ovs',
    frame: fromHex(
      'aa55aa550000001b213cab64080045000096794640004011ba5b0101025c01010258308817c1008200000400655800007b00' +
        'ffff80010000000affff00010000000b' +
        'fe71d883724fbeb6f4e1494a080045000054ba200000400184861e0000011e00000200004227e75400030af3195500000000' +
        'f265010000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637',
    ),
  },
  { name: 'v4-ovn-csum', frame: encapsulate({ ethSrc: macA, ethDst: macB, src: parseIpv4('1.1.2.88'), dst: parseIpv4('1.1.2.92'), udpChecksum: true }, ovn) },
  { name: 'v6-ovn', frame: encapsulate({ ethSrc: macA, ethDst: macB, src: parseIpv6('2001:db8::88'), dst: parseIpv6('2001:db8::92') }, ovn) },
  {
    name: 'v4-vlan-ovn-extra',
    frame: encapsulate(
      { ethSrc: macA, ethDst: macB, vlanTci: 0x2064, src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') },
      ovnPlus.setOptions(extra, 0, extra.length),
    ),
  },
  {
    name: 'v4-vxlan',
    frame: encapsulate(
      { kind: TunnelKind.Vxlan, ethSrc: macA, ethDst: macB, src: parseIpv4('1.1.2.88'), dst: parseIpv4('1.1.2.92'), udpChecksum: true },
      Object.assign(new TunnelKey(), { vni: 4242 }),
    ),
  },
];

const fields = [
  'frame.number',
  'ip.checksum.status',
  'udp.checksum.status',
  'udp.srcport',
  'udp.dstport',
  'vlan.id',
  'geneve.vni',
  'geneve.flags.critical',
  'geneve.option.class',
  'geneve.option.type',
  'geneve.option.unknown.data',
  'vxlan.vni',
  'vxlan.flag_i',
  'eth.src',
];

describe.skipIf(req.skip)('tshark decodes our tunnel frames as we do', () => {
  let rows: Record<string, string>[] = [];

  it('writes a pcap tshark reads', () => {
    rows = tsharkRecords(frames.map((f) => f.frame), fields, { prefs: ['udp.check_checksum:TRUE', 'ip.check_checksum:TRUE'], separator: '|', aggregator: ',' });
    expect(rows.length).toBe(frames.length);
  });

  it('agrees on every frame with our decapsulation', () => {
    const r = new DecapResult();
    frames.forEach(({ name, frame }, i) => {
      const t = rows[i]!;
      expect(decapsulate(frame, 0, frame.length, r), name).toBe(true);
      const first = (f: string): string => (t[f] ?? '').split(',')[0]!;
      expect(Number(first('udp.srcport')), name).toBe(r.srcPort);
      expect(Number(first('udp.dstport')), name).toBe(r.dstPort);
      // Outer IPv4 header checksum and (when present) outer UDP checksum verify in tshark:
      // 1 = Good, 3 = Not present (zero UDP checksum).
      if (r.ipVersion === 4) expect(first('ip.checksum.status'), name).toBe('1');
      expect(first('udp.checksum.status'), name).toBe(r.udpChecksum === 0 ? '3' : '1');
      expect(first('vlan.id') === '' ? -1 : Number(first('vlan.id')), name).toBe(r.vlanTci === -1 ? -1 : r.vlanTci & 0xfff);
      // The inner frame starts where we say: tshark's second eth.src is the inner source MAC.
      expect(t['eth.src']!.split(',')[1], name).toBe(formatMac(macFromBytes(frame, r.innerOffset + 6)));
      if (r.kind === TunnelKind.Vxlan) {
        expect(Number(t['vxlan.vni']), name).toBe(r.vni);
        expect(t['vxlan.flag_i'], name).toBe('1');
        return;
      }
      expect(Number(t['geneve.vni']), name).toBe(r.vni);
      expect(t['geneve.flags.critical'], name).toBe(r.critical ? '1' : '0');
      // Every option: class, type, data as our cursor sees them.
      const classes: string[] = [];
      const types: string[] = [];
      const datas: string[] = [];
      for (let p = r.optOffset; p < r.optOffset + r.optLength; ) {
        const dl = (frame[p + 3]! & 0x1f) * 4;
        classes.push(`0x${toHex(frame, p, 2)}`);
        types.push(`0x${toHex(frame, p + 2, 1)}`);
        datas.push(toHex(frame, p + 4, dl));
        p += 4 + dl;
      }
      expect(t['geneve.option.class'], name).toBe(classes.join(','));
      expect(t['geneve.option.type'], name).toBe(types.join(','));
      expect(t['geneve.option.unknown.data'], name).toBe(datas.join(','));
    });
  });

  it('shows the OVN keys where OVN puts them', () => {
    const t = rows[1]!;
    expect(t['geneve.vni']).toBe('0x000005');
    expect(t['geneve.option.class']).toBe('0x0102');
    expect(t['geneve.option.type']).toBe('0x80');
    expect(t['geneve.option.unknown.data']).toBe('00031234'); // inport 3 << 16 | outport 0x1234
    expect(t['geneve.flags.critical']).toBe('1');
    const v = rows[3]!;
    expect(v['geneve.vni']).toBe('0xabcdef');
    expect(v['geneve.option.unknown.data']).toBe('7fff8005,0000000b');
    expect(v['vlan.id']).toBe('100');
    expect(rows[4]!['vxlan.vni']).toBe('4242');
  });
});
