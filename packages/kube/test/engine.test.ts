/**
 * The verdict engine's own mechanics: the packet it traces is the one its microflow describes
 * (it skips parsing the text), and a probe that does not explain gives the same verdict as one
 * that does.
 */
import { describe, expect, test } from 'vitest';
import { traceDb, traceFlowTree, traceTree } from '@ovnts/ovn';
import { OvnTraceEngine, microflow, packetFlow, tryParseIp, podPortName, translateCluster, type Packet, type ProbeProto } from '@ovnts/kube';
import { modelCluster } from './e2e-model.js';

describe('packets as flows', () => {
  const cluster = modelCluster();
  const net = translateCluster(cluster);
  const a = cluster.pods.find((p) => p.namespace === 'x' && p.name === 'a')!;
  const zone = net.zones.get(a.node)!;
  const port = traceDb(zone.db).ports.get(podPortName(a))!;
  const cases: [ProbeProto, 4 | 6][] = [['tcp', 4], ['udp', 4], ['sctp', 4], ['icmp', 4], ['tcp', 6], ['icmp', 6]];
  test.each(cases)('%s over IPv%d: the flow is what the microflow parses to', (proto, family) => {
    const p: Packet = {
      inport: podPortName(a),
      ethSrc: BigInt(`0x${a.mac.split(':').join('')}`),
      ethDst: 0x0a580a800001n,
      src: family === 4 ? a.ips[0]! : tryParseIp('fd00::5')!,
      dst: family === 4 ? tryParseIp('10.128.2.7')! : tryParseIp('fd00::7')!,
      ttl: 64,
      proto,
      sport: 40000,
      dport: 80,
    };
    const mf = microflow(p);
    const fromText = traceTree(zone.db, null, mf);
    const fromFlow = traceFlowTree(zone.db, port.dp, packetFlow(port.key, p));
    expect(fromFlow.header).toBe(fromText.header);
    expect(fromFlow.header).toMatch(proto === 'icmp' ? (family === 4 ? /^# icmp,/ : /^# icmp6,/) : new RegExp(`^# ${proto}${family === 6 ? '6' : ''},`));
  });

  test('a probe without explanation gives the same verdict, with no path', () => {
    const engine = new OvnTraceEngine(net);
    const b = cluster.pods.find((p) => p.namespace === 'y' && p.name === 'b')!;
    const full = engine.probe({ from: a, dst: b.ips[0]!, proto: 'tcp', port: 80 });
    const bare = engine.probe({ from: a, dst: b.ips[0]!, proto: 'tcp', port: 80, explain: false });
    expect(bare.verdict).toBe(full.verdict);
    expect(bare.to).toBe(full.to);
    expect(full.verdict).toBe('delivered');
    expect(full.forward.path.length).toBeGreaterThan(1);
    expect(bare.forward.path).toEqual([]);
    expect(bare.forward.hops.map((h) => h.microflow)).toEqual(full.forward.hops.map((h) => h.microflow));
  });
});
