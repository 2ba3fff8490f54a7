/**
 * `ovnts ovn-send`: a frame injected at a logical port crosses the emulated cluster (routed on
 * the sending chassis, Geneve to the receiving one, delivered with the router's rewrites); frames
 * OVN answers itself are deliveries to the sender; `--json` prints one object per line; `--pcap`
 * writes the underlay frames in a file tshark decodes; bad input gets exit status 1 or 2.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readCapture } from '@ovnts/capture';
import { compileNorthd, loadNbFile } from '@ovnts/ovn';
import { PacketBuilder, fromHex, toHex, u16, u32 } from '@ovnts/packet';
import { CHASSIS_FIXTURES, requireTools, tsharkRecords } from '@ovnts/testkit';
import { main } from '../src/main.js';

function run(argv: string[]): { code: Promise<number>; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s: string) => (out += s), err: (s: string) => (err += s) } as never);
  return { code, out: () => out, err: () => err };
}

// fixtures/northd/lr-basic: vm1 (00:..:01, 10.0.0.11) and vm2 on sw0, vm3 (00:..:03, 10.0.1.13) on
// sw1, router lr0 with 00:00:00:00:ff:01 10.0.0.1 on sw0 and 00:00:00:00:ff:02 10.0.1.1 on sw1.
const NB = join(CHASSIS_FIXTURES, '..', 'northd', 'lr-basic.nb.db');
const routed = (ttl: number, src: string, dst: string) =>
  new PacketBuilder().ethernet({ src, dst }).ipv4({ src: '10.0.0.11', dst: '10.0.1.13', ttl }).udp({ srcPort: 1234, dstPort: 5678 }).payload('hi').build();

const tmp = mkdtempSync(join(tmpdir(), 'ovnts-ovn-send-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tsh = requireTools('tshark decoding the --pcap file', ['tshark'], 'apt-get install -y tshark');

describe('ovnts ovn-send', () => {
  test('a routed frame is tunnelled from the sender\'s chassis and delivered with the router\'s rewrites', async () => {
    const r = run(['ovn-send', '--nb', NB, '--from', 'vm1', '--frame', toHex(routed(64, '00:00:00:00:00:01', '00:00:00:00:ff:01'))]);
    expect(await r.code, r.err()).toBe(0);
    const lines = r.out().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    // Default binding: sw0's VIFs on hv1, sw1's on hv2.
    const tunnel = /^tunnel hv1 -> hv2: ([0-9a-f]+)$/.exec(lines[0]!);
    const deliver = /^deliver vm3 on hv2: ([0-9a-f]+)$/.exec(lines[1]!);
    expect(tunnel, lines[0]).not.toBeNull();
    expect(deliver, lines[1]).not.toBeNull();
    const expected = routed(63, '00:00:00:00:ff:02', '00:00:00:00:00:03');
    expect(deliver![1]).toBe(toHex(expected));
    const outer = fromHex(tunnel![1]!);
    expect(u16(outer, 36)).toBe(6081); // Geneve
    expect(u32(outer, 26)).toBe(0xc0a80001); // 192.168.0.1 -> 192.168.0.2
    expect(u32(outer, 30)).toBe(0xc0a80002);
    const optWords = outer[42]! & 0x3f;
    expect(u16(outer, 50)).toBe(0x0102); // OVN option class, type 0x80
    expect(outer[52]).toBe(0x80);
    expect(toHex(outer.subarray(50 + optWords * 4))).toBe(toHex(expected));
  });

  test('--pcap writes the underlay frames; tshark decodes VNI and OVN option', async () => {
    const file = join(tmp, 'underlay.pcap');
    const r = run(['ovn-send', '--nb', NB, '--from', 'vm1', '--frame', toHex(routed(64, '00:00:00:00:00:01', '00:00:00:00:ff:01')), '--pcap', file]);
    expect(await r.code, r.err()).toBe(0);
    const printed = r.out().split('\n').filter((l) => l.startsWith('tunnel ')).map((l) => l.slice(l.indexOf(': ') + 2));
    const written = [...readCapture(readFileSync(file))].map((f) => toHex(f.data));
    expect(written).toEqual(printed);
    expect(written).toHaveLength(1);
    if (!tsh.skip) {
      const [rec] = tsharkRecords(file, ['geneve.vni', 'geneve.option.class', 'geneve.option.type', 'ip.dst']);
      // The VNI is sw1's (vm3's switch) tunnel key in our northd's southbound database.
      const sw1 = compileNorthd(loadNbFile(NB)).sb.datapaths.find((d) => d.name === 'sw1')!;
      expect(rec).toEqual({ 'geneve.vni': `0x${sw1.tunnelKey.toString(16).padStart(6, '0')}`, 'geneve.option.class': '0x0102', 'geneve.option.type': '0x80', 'ip.dst': '192.168.0.2,10.0.1.13' });
    }
  });

  test('--json: the router\'s ARP reply is a delivery to the sending port', async () => {
    const arp = new PacketBuilder().ethernet({ src: '00:00:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff' })
      .arp({ op: 1, sha: '00:00:00:00:00:01', spa: '10.0.0.11', tha: '00:00:00:00:00:00', tpa: '10.0.0.1' }).build();
    const r = run(['ovn-send', '--nb', NB, '--chassis-map', join(CHASSIS_FIXTURES, 'cases', 'lr-basic.map'), '--from', 'vm1', '--frame', toHex(arp), '--json']);
    expect(await r.code, r.err()).toBe(0);
    const lines = r.out().trimEnd().split('\n').map((l) => JSON.parse(l) as { deliver?: { port: string; chassis: string; frame: string } });
    const reply = new PacketBuilder().ethernet({ src: '00:00:00:00:ff:01', dst: '00:00:00:00:00:01' })
      .arp({ op: 2, sha: '00:00:00:00:ff:01', spa: '10.0.0.1', tha: '00:00:00:00:00:01', tpa: '10.0.0.11' }).build();
    expect(lines).toEqual([{ deliver: { port: 'vm1', chassis: 'hv1', frame: toHex(reply) } }]);
  });

  test('bad input: exit 2 for the command line, 1 for files, ports and maps', async () => {
    const f = toHex(routed(64, '00:00:00:00:00:01', '00:00:00:00:ff:01'));
    const cases: Array<[string[], number, RegExp]> = [
      [['ovn-send', '--nb', NB, '--from', 'vm1'], 2, /--frame/],
      [['ovn-send', '--nb', NB, '--from', 'vm1', '--frame', 'zz'], 2, /--frame must be hex bytes/],
      [['ovn-send', '--nb', NB, '--from', 'vm1', '--frame', '0011223344'], 2, /shorter than an Ethernet header/],
      [['ovn-send', '--nb', join(CHASSIS_FIXTURES, 'missing.db'), '--from', 'vm1', '--frame', f], 1, /missing\.db/],
      [['ovn-send', '--nb', NB, '--from', 'vmX', '--frame', f], 1, /no logical port vmX/],
      [['ovn-send', '--nb', NB, '--from', 'vm1', '--frame', f, '--pcap', join(tmp, 'no', 'such', 'dir.pcap')], 1, /cannot write .*dir\.pcap/],
      [['ovn-send', '--nb', NB, '--chassis-map', join(CHASSIS_FIXTURES, 'cases', 'ls-simple-2hv.map'), '--from', 'vm1', '--frame', f], 1, /vm1 is not bound to a chassis/],
    ];
    for (const [argv, code, msg] of cases) {
      const r = run(argv);
      expect(await r.code, argv.join(' ')).toBe(code);
      expect(r.err(), argv.join(' ')).toMatch(msg);
    }
  });
});
