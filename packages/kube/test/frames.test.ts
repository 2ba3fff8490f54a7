/**
 * Frames between nodes: ESP (RFC 4303 with AES-GCM as RFC 4106 frames it) round trips and fails
 * cleanly; a probe across nodes in an IPsec cluster gives the Geneve frame OVN sends, and that
 * frame in ESP, which tshark decrypts with the keys back to the same Geneve and inner packet; a
 * probe to a pod on a Windows node gives the hybrid overlay's VXLAN frame (VNI 4097, UDP 4789).
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ESP_GCM_ICV_LEN,
  KubeQueryError,
  crossingFrame,
  formatIp,
  espTransportV4,
  espUntransportV4,
  hybridOverlayFrame,
  ipsecCrossingFrame,
  ipsecSa,
  openEsp,
  sealEsp,
  type EspSa,
} from '@ovnts/kube';
import { requireTools, tsharkRecords } from '@ovnts/testkit';
import { TWO_NODES, clusterOf, realOvnCompare, scenario } from './scenario-kit.js';

const SEED = Number(process.env.FC_SEED ?? 20250107);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('ESP with AES-GCM', () => {
  const saArb = fc.record({
    spi: fc.integer({ min: 256, max: 0xffffffff }),
    key: fc.constantFrom(16, 24, 32).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
    salt: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  });
  test('round trip: what is sealed opens to the same payload, next header and sequence number', () => {
    fc.assert(
      fc.property(saArb, fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 300 }), (sa, seq, nh, payload) => {
        const esp = sealEsp(sa, seq, nh, payload);
        // Header, IV, payload padded with its trailer to a 4-octet boundary, ICV.
        expect((esp.length - 8 - 8 - ESP_GCM_ICV_LEN) % 4).toBe(0);
        const o = openEsp(sa, esp);
        expect(o).toEqual({ ok: true, spi: sa.spi, seq, nextHeader: nh, payload });
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
  test('every shorter length, a flipped bit anywhere, another SPI or key: an error code, never a throw', () => {
    const sa: EspSa = ipsecSa('node-a', 'node-b');
    const esp = sealEsp(sa, 9, 17, new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
    for (let n = 0; n < esp.length; n++) expect(openEsp(sa, esp.subarray(0, n)).ok, `length ${n}`).toBe(false);
    for (let i = 8; i < esp.length; i++) {
      const bad = esp.slice();
      bad[i]! ^= 0x40;
      expect(openEsp(sa, bad)).toEqual({ ok: false, error: 'AuthFailed' });
    }
    // The header is authenticated too (RFC 4106 section 5: SPI and sequence number are the AAD).
    const seqFlip = esp.slice();
    seqFlip[7]! ^= 1;
    expect(openEsp(sa, seqFlip)).toEqual({ ok: false, error: 'AuthFailed' });
    expect(openEsp({ ...sa, spi: sa.spi + 1 }, esp)).toEqual({ ok: false, error: 'WrongSpi' });
    expect(openEsp({ ...sa, key: new Uint8Array(16) }, esp)).toEqual({ ok: false, error: 'AuthFailed' });
    expect(() => sealEsp({ ...sa, key: new Uint8Array(10) }, 1, 17, esp)).toThrow(KubeQueryError);
    expect(() => sealEsp({ ...sa, spi: 7 }, 1, 17, esp)).toThrow(/SPI 7/);
  });
});

const ipsecCluster = `
apiVersion: operator.openshift.io/v1
kind: Network
metadata: {name: cluster}
spec: {defaultNetwork: {type: OVNKubernetes, ovnKubernetesConfig: {ipsecConfig: {mode: Full}}}}
---
${TWO_NODES}
---
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app}
spec: {nodeName: node-a, containers: [{name: c, image: curl}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: app}
spec: {nodeName: node-b, containers: [{name: s, image: nginx}]}
`;

const tshark = requireTools('ESP and Geneve frames against tshark', ['tshark'], 'apt-get install -y tshark');

describe('IPsec: Geneve between nodes carried in ESP', () => {
  const s = scenario('ipsec', clusterOf(ipsecCluster));
  const r = s.probe({ from: 'app/client', dst: s.ip('app/server'), proto: 'tcp', port: 8443 });

  test('the probe crosses once each way, and says it is encrypted', () => {
    expect(r.verdict).toBe('delivered');
    expect(r.forward.crossings.map((c) => `${c.from}>${c.to}`)).toEqual(['node-a>node-b']);
    expect(r.reply!.crossings.map((c) => `${c.from}>${c.to}`)).toEqual(['node-b>node-a']);
    expect(r.forward.path).toContain('node-a -> node-b: tunnel (Geneve in ESP: IPsec)');
    expect(s.net.zones.get('node-a')!.db.global?.ipsec).toBe(true);
  });

  test('ESP transport mode is reversible, byte for byte, with or without UDP encapsulation', () => {
    const c = r.forward.crossings[0]!;
    const plain = crossingFrame(s.net, c);
    for (const natt of [false, true]) {
      const enc = ipsecCrossingFrame(s.net, c, 41, { natt });
      const back = espUntransportV4(enc, ipsecSa('node-a', 'node-b'));
      expect(back.ok && hex(back.frame)).toBe(hex(plain));
      expect(espUntransportV4(enc, ipsecSa('node-b', 'node-a')).ok).toBe(false);
    }
    expect(() => espTransportV4(new Uint8Array(20), ipsecSa('a', 'b'), 1)).toThrow(KubeQueryError);
  });

  test.skipIf(tshark.skip)('tshark decrypts the frames with the keys: the Geneve frame and packet inside are the ones OVN sends', () => {
    const sa = ipsecSa('node-a', 'node-b');
    const c = r.forward.crossings[0]!;
    const prefs = [
      'esp.enable_encryption_decode:TRUE',
      `uat:esp_sa:"IPv4","*","*","0x${sa.spi.toString(16).padStart(8, '0')}","AES-GCM with 16 octet ICV [RFC4106]","0x${hex(sa.key)}${hex(sa.salt)}","NULL",""`,
    ];
    const frames = [crossingFrame(s.net, c), ipsecCrossingFrame(s.net, c, 41), ipsecCrossingFrame(s.net, c, 42, { natt: true })];
    const fields = ['ip.src', 'ip.dst', 'ip.proto', 'esp.spi', 'esp.sequence', 'esp.pad_len', 'esp.protocol', 'udp.dstport', 'geneve.vni', 'geneve.option.class', 'geneve.option.type', 'tcp.dstport', 'tcp.flags.syn'];
    const rows = tsharkRecords(frames, fields, { prefs });
    const nodeA = '192.168.50.10';
    const nodeB = '192.168.50.11';
    const inner = `${nodeA},${formatIp(s.ip('app/client'))}`;
    // Plain Geneve: node to node, UDP 6081, the transit switch's key, OVN's option (class 0x0102, type 0x80).
    expect(rows[0]).toMatchObject({ 'ip.src': inner, 'esp.spi': '', 'udp.dstport': '6081', 'geneve.vni': `0x${c.vni.toString(16).padStart(6, '0')}`, 'geneve.option.class': '0x0102', 'geneve.option.type': '0x80', 'tcp.dstport': '8443', 'tcp.flags.syn': '1' });
    expect(rows[0]!['ip.dst']).toBe(`${nodeB},${formatIp(s.ip('app/server'))}`);
    // ESP: protocol 50, our SPI and sequence number; decrypted, the same UDP/Geneve/inner packet.
    for (const [row, seq] of [[rows[1]!, '41'], [rows[2]!, '42']] as const) {
      expect(row).toMatchObject({ 'esp.spi': `0x${sa.spi.toString(16).padStart(8, '0')}`, 'esp.sequence': seq, 'esp.protocol': '0x11', 'geneve.vni': `0x${c.vni.toString(16).padStart(6, '0')}`, 'tcp.dstport': '8443' });
      expect(row['ip.dst']).toBe(rows[0]!['ip.dst']);
    }
    expect(rows[1]!['ip.proto']).toMatch(/^50/);
    expect(rows[2]!['ip.proto']).toMatch(/^17/);
    expect(rows[1]!['udp.dstport']).toBe('6081');
    expect(rows[2]!['udp.dstport']).toBe('4500,6081');
  });
});

const hybridCluster = `
apiVersion: operator.openshift.io/v1
kind: Network
metadata: {name: cluster}
spec:
  defaultNetwork:
    type: OVNKubernetes
    ovnKubernetesConfig:
      hybridOverlayConfig:
        hybridClusterNetwork: [{cidr: 10.132.0.0/14, hostPrefix: 23}]
---
apiVersion: v1
kind: Node
metadata: {name: linux-0, labels: {kubernetes.io/os: linux}}
status: {addresses: [{type: InternalIP, address: 192.168.50.10}]}
---
apiVersion: v1
kind: Node
metadata:
  name: win-0
  labels: {kubernetes.io/os: windows}
  annotations: {k8s.ovn.org/hybrid-overlay-distributed-router-gateway-mac: "00:15:5d:aa:bb:cc"}
status: {addresses: [{type: InternalIP, address: 192.168.50.20}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {name: linux-pod, namespace: app}
spec: {nodeName: linux-0, containers: [{name: c, image: curl}]}
---
apiVersion: v1
kind: Pod
metadata: {name: win-pod, namespace: app}
spec: {nodeName: win-0, containers: [{name: c, image: mcr.microsoft.com/windows/servercore/iis}]}
`;

describe('hybrid overlay: Linux pods reach Windows nodes over VXLAN (UDP 4789, VNI 4097)', () => {
  const s = scenario('hybrid-overlay', clusterOf(hybridCluster));
  const win = s.ip('app/win-pod');
  const r = s.probe({ from: 'app/linux-pod', dst: win, proto: 'tcp', port: 80, reply: false });

  test('OVN reroutes to the node\'s hybrid overlay port', () => {
    const d = r.forward.deliveries[0]!;
    expect(d.kind).toBe('hybrid-overlay');
    expect(d.name).toBe('int-linux-0');
    expect(win.family).toBe(4);
  });

  test.skipIf(tshark.skip)('the VXLAN frame tshark reads: to the Windows node, VNI 4097, its distributed-router MAC inside', () => {
    const f = hybridOverlayFrame(s.net, r.forward.deliveries[0]!);
    const [row] = tsharkRecords([f], ['ip.src', 'ip.dst', 'udp.dstport', 'vxlan.vni', 'eth.dst', 'tcp.dstport']);
    expect(row!['ip.dst']).toBe(`192.168.50.20,${formatIp(win)}`);
    expect(row!['ip.src']!.split(',')[0]).toBe('192.168.50.10');
    expect(row!['udp.dstport']).toBe('4789');
    expect(row!['vxlan.vni']).toBe('4097');
    expect(row!['eth.dst']!.split(',')[1]).toBe('00:15:5d:aa:bb:cc');
    expect(row!['tcp.dstport']).toBe('80');
  });

  test('a delivery to a pod is not a hybrid overlay frame', () => {
    expect(() => hybridOverlayFrame(s.net, { ...r.forward.deliveries[0]!, kind: 'pod' })).toThrow(KubeQueryError);
  });
});

realOvnCompare('kube frames scenarios vs real OVN', 4);
