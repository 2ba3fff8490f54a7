// The code of docs/tutorial.md, run as a test so the tutorial stays true. Keep the two in step.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('tutorial', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-tutorial-'));
  try {
    // --- 1. Build a frame
    const { PacketBuilder, TcpView, Ipv4View, formatIpv4 } = await import('@ovnts/packet');
    const syn = new PacketBuilder()
      .ethernet({ src: '0a:58:0a:f4:00:05', dst: '0a:58:0a:f4:00:01' })
      .ipv4({ src: '10.244.0.5', dst: '10.96.0.10' })
      .tcp({ srcPort: 40000, dstPort: 80, flags: 'S', seq: 1 })
      .build(); // lengths and checksums filled in

    // --- 2. Read it back through zero-copy views (no allocation per packet)
    const ip = new Ipv4View().reset(syn, 14, syn.length - 14);
    const tcp = new TcpView().reset(syn, ip.payloadOffset, ip.payloadLength);
    expect(`${formatIpv4(ip.dst)}:${tcp.dstPort}`).toBe('10.96.0.10:80');
    expect(ip.checksumValid()).toBe(true);

    // --- 3. Send it across the Geneve overlay, as OVN would between two nodes
    const { TunnelEncap, TunnelKey, decapsulate, DecapResult, TUNNEL_MAX_HEADROOM } = await import('@ovnts/geneve');
    const { parseIpv4, parseMac } = await import('@ovnts/packet');
    const tunnel = new TunnelEncap({
      ethSrc: parseMac('02:42:ac:12:00:02'), ethDst: parseMac('02:42:ac:12:00:03'),
      src: parseIpv4('172.18.0.2'), dst: parseIpv4('172.18.0.3'),
    });
    const key = new TunnelKey().setOvn(/* datapath */ 4, /* ingress port */ 2, /* egress port */ 3);
    const room = new Uint8Array(TUNNEL_MAX_HEADROOM + syn.length);
    room.set(syn, TUNNEL_MAX_HEADROOM); // leave headroom: encap writes in front, no copy
    tunnel.encap(key, room, TUNNEL_MAX_HEADROOM, syn.length);
    const onWire = tunnel.buf.subarray(tunnel.off, tunnel.off + tunnel.len);

    const rx = new DecapResult();
    expect(decapsulate(onWire, 0, onWire.length, rx)).toBe(true);
    expect([rx.vni, rx.ovnIngress, rx.ovnEgress]).toEqual([4, 2, 3]);
    expect(rx.inner()).toEqual(syn);

    // --- 4. Write a capture, read it back, dissect it
    const { writePcapFile, openCaptureFile } = await import('@ovnts/capture');
    const { dissectFrame } = await import('@ovnts/cli');
    const file = join(dir, 'overlay.pcap');
    await writePcapFile(file, [{ data: onWire, timestampNs: 0n }]);
    for await (const frame of openCaptureFile(file)) {
      const d = dissectFrame(frame.data);
      expect(d.layers.map((l) => l.layer)).toEqual(['eth', 'ipv4', 'udp', 'geneve', 'eth', 'ipv4', 'tcp']);
      expect(d.layers[3]).toMatchObject({ vni: 4, ovn: { ingressPort: 2, egressPort: 3 } });
    }

    // --- 5. Bad bytes never throw: they give a typed error with the layer and offset
    const cut = dissectFrame(onWire.subarray(0, 60));
    expect(cut.error).toEqual({ layer: 'eth', code: 'Truncated', offset: 58 }); // the inner Ethernet header
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
