/**
 * The trace across chassis (`traceCluster`): a routed frame on lr-basic (stored real southbound
 * database) goes through the switch and router pipelines on hv1, out a Geneve tunnel, and through
 * the egress pipeline on hv2 to vm3; every logical-table step names the logical flow its cookie
 * comes from, and the trace changes no state (the same frame then crosses the cluster for real
 * with the same result).
 */
import { describe, expect, test } from 'vitest';
import { PacketBuilder, toHex } from '@ovnts/packet';
import { ChassisCluster, formatClusterTrace, traceCluster } from '@ovnts/chassis';
import { loadCase } from './helpers.js';

const frame = new PacketBuilder().ethernet({ src: '00:00:00:00:00:01', dst: '00:00:00:00:ff:01' })
  .ipv4({ src: '10.0.0.11', dst: '10.0.1.13', ttl: 64 }).udp({ srcPort: 1234, dstPort: 5678 }).payload('trace').build();

describe('trace across chassis', () => {
  test('vm1 on hv1 -> router -> Geneve -> vm3 on hv2, each step mapped to its logical flow', () => {
    const l = loadCase('lr-basic');
    const cluster = new ChassisCluster(l.sb, l.cluster);
    const t = traceCluster(cluster, 'vm1', frame);
    expect(t.hops.map((h) => h.chassis)).toEqual(['hv1', 'hv2']);
    const [a, b] = t.hops;
    expect(a!.inPortName).toBe('vm1');
    expect(a!.tunnels).toEqual(['hv2']);
    expect(a!.deliveries).toEqual([]);
    expect(b!.inPortName).toMatch(/^ovn-hv1-0$/);
    expect(b!.deliveries).toEqual(['vm3']);
    // hv1 runs the ingress of sw0, lr0 and sw1; hv2 only the egress of sw1.
    const stages = (h: typeof a) => h!.steps.filter((s) => s.source.kind === 'lflow').map((s) => s.source.stage);
    expect(stages(a)).toEqual(expect.arrayContaining(['ls_in_l2_lkup', 'lr_in_ip_routing', 'lr_in_arp_resolve', 'lr_out_delivery', 'ls_out_apply_port_sec']));
    expect(stages(b)!.every((s) => s!.startsWith('ls_out_'))).toBe(true);
    expect(stages(b)).toContain('ls_out_apply_port_sec');
    for (const s of [...a!.steps, ...b!.steps]) {
      if (s.source.kind !== 'lflow') continue;
      expect(s.cookie).toBe(BigInt(`0x${s.source.uuid!.slice(0, 8)}`));
      expect(s.table).toBe((s.source.pipeline === 'ingress' ? 8 : 42) + s.source.tableId!);
    }
    expect(b!.steps.some((s) => s.source.kind === 'port' && s.source.name === 'vm3')).toBe(true);
    const text = formatClusterTrace(t);
    expect(text).toMatch(/^hv1: in_port 1 \(vm1\)$/m);
    expect(text).toMatch(/-> Geneve to hv2/);
    expect(text).toMatch(/-> deliver to vm3/);
    // The trace changed nothing: the frame now crosses the cluster and arrives as the trace said.
    const r = cluster.send('vm1', frame);
    expect(r.deliveries.map((d) => `${d.chassis} ${d.port}`)).toEqual(['hv2 vm3']);
    expect(r.underlay.map((u) => `${u.from} -> ${u.to}`)).toEqual(['hv1 -> hv2']);
    expect(toHex(r.deliveries[0]!.frame)).toMatch(/^00000000000300000000ff02/);
  });

  test('a frame the pipeline drops ends the trace on the first chassis', () => {
    const l = loadCase('lr-basic');
    const cluster = new ChassisCluster(l.sb, l.cluster);
    // vm1 has port security: a spoofed source MAC is dropped in ls_in_port_sec_l2.
    const spoofed = new PacketBuilder().ethernet({ src: '02:99:00:00:00:01', dst: '00:00:00:00:00:02' }).ipv4({ src: '10.0.0.11', dst: '10.0.0.12' }).udp({ srcPort: 1, dstPort: 2 }).build();
    const t = traceCluster(cluster, 'vm1', spoofed);
    expect(t.hops).toHaveLength(1);
    expect(t.hops[0]!.deliveries).toEqual([]);
    expect(t.hops[0]!.tunnels).toEqual([]);
    expect(formatClusterTrace(t)).toMatch(/-> dropped\n$/);
  });
});
