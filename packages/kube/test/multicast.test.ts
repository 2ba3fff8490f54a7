/**
 * Multicast per namespace (the guide's chapter 4), with frames: off by default, on with
 * `k8s.ovn.org/multicast-enabled=true`, not blocked by a deny-all NetworkPolicy, never leaking to
 * a namespace without it; and the guide's socat check as frames (the listener's IGMP join, the
 * sender's datagram to 224.1.0.1:30102 delivered to the listener only, the listener's reply with
 * its hostname). fixtures/cluster: frontend (web-0 on worker-0, web-1 on worker-1) has the
 * annotation, backend (api-0 on worker-0, api-1 and db-0 on worker-1) does not. Every hop is
 * traced again by real ovn-trace with the same IGMP_Group rows in its southbound database.
 */
import { describe, expect, test } from 'vitest';
import { IgmpRecordType, PacketBuilder, formatMac } from '@ovnts/packet';
import { buildCluster, findPod, flowFrame, igmpReportFrame, multicastMac, parseManifests, readManifests, tryParseIp, type FrameResult } from '@ovnts/kube';
import { requireTools, tsharkRecords } from '@ovnts/testkit';
import { realOvnCompare, scenario, type Scenario } from './scenario-kit.js';

const GROUP = '224.1.0.1';
const PORT = 30102;
const groupIp = tryParseIp(GROUP)!;
const mcastMac = (g: string) => formatMac(Number(multicastMac(tryParseIp(g)!)));

/** The IGMPv3 report Linux sends when socat joins (`ip-add-membership`): CHANGE_TO_EXCLUDE, no sources. */
const joinFrame = (s: Scenario, pod: string, group = GROUP, type: number = IgmpRecordType.ChangeToExclude): Uint8Array => igmpReportFrame(findPod(s.cluster, pod), tryParseIp(group)!, type);

/** `echo | socat STDIO UDP4-DATAGRAM:224.1.0.1:30102,...,ip-multicast-ttl=64`: one datagram holding a newline. */
function datagram(s: Scenario, pod: string, sport = 40000, payload = '\n'): Uint8Array {
  const p = findPod(s.cluster, pod);
  return new PacketBuilder().ethernet({ src: p.mac, dst: mcastMac(GROUP) }).ipv4({ src: fmt(s.ip(pod).addr), dst: GROUP, ttl: 64 }).udp({ srcPort: sport, dstPort: PORT, checksum: true }).payload(payload).build();
}

function fmt(a: bigint): string {
  return [24, 16, 8, 0].map((sh) => Number((a >> BigInt(sh)) & 255n)).join('.');
}

const pods = (r: FrameResult) => r.deliveries.filter((d) => d.kind === 'pod').map((d) => d.name).sort();

/** Records every frame result in the scenario (for the real-OVN comparison). */
function send(s: Scenario, pod: string, frame: Uint8Array, at?: number): FrameResult {
  const r = s.sendFrame(pod, frame, at);
  s.results.push({ verdict: r.deliveries.length ? 'delivered' : 'dropped', forward: r, departures: [], notes: r.notes });
  return r;
}

const fixture = (extra = '') => buildCluster([...readManifests('fixtures/cluster'), ...(extra ? parseManifests(extra, 'extra.yaml') : [])]);

describe('multicast per namespace', () => {
  test('off by default: no join, no datagram, the multicast default deny names itself', () => {
    const s = scenario('multicast-off', fixture());
    const j = send(s, 'backend/api-1', joinFrame(s, 'backend/api-1'));
    expect(j.snooped).toEqual([]);
    expect(j.droppedBy).toMatch(/^multicast default deny \(namespace without k8s.ovn.org\/multicast-enabled\)/);
    const d = send(s, 'backend/api-0', datagram(s, 'backend/api-0'));
    expect(pods(d)).toEqual([]);
    expect(d.droppedBy).toMatch(/^multicast default deny/);
    expect(s.engine.igmpGroups('worker-1')).toEqual([]);
  });

  test('on with the annotation: the join registers the group, the datagram reaches the member across nodes, only it', () => {
    const s = scenario('multicast-on', fixture());
    expect(pods(send(s, 'frontend/web-0', datagram(s, 'frontend/web-0')))).toEqual([]); // nobody joined yet
    const j = send(s, 'frontend/web-1', joinFrame(s, 'frontend/web-1'));
    expect(j.snooped).toEqual([{ zone: 'worker-1', datapath: 'worker-1', port: 'frontend_web-1', group: GROUP, joined: true }]);
    expect(s.engine.igmpGroups('worker-1')).toEqual([{ datapath: 'worker-1', address: GROUP, ports: ['frontend_web-1'] }]);
    const d = send(s, 'frontend/web-0', datagram(s, 'frontend/web-0'));
    expect(pods(d)).toEqual(['frontend/web-1']);
    expect(d.crossings.map((c) => `${c.from}>${c.to}`)).toEqual(['worker-0>worker-1']);
    // A leave (IGMPv3 CHANGE_TO_INCLUDE with no sources) removes it.
    expect(send(s, 'frontend/web-1', joinFrame(s, 'frontend/web-1', GROUP, IgmpRecordType.ChangeToInclude)).snooped[0]!.joined).toBe(false);
    expect(pods(send(s, 'frontend/web-0', datagram(s, 'frontend/web-0')))).toEqual([]);
  });

  test('a probe to the group (kube trace --join): sent to the group MAC, delivered to every member, no reply leg', () => {
    const s = scenario('multicast-probe', fixture());
    const probe = () => s.probe({ from: 'frontend/web-0', dst: groupIp, proto: 'udp', port: PORT });
    expect(probe().verdict).toBe('dropped');
    for (const p of ['frontend/web-1', 'backend/db-0']) send(s, p, joinFrame(s, p));
    const r = probe();
    expect(r.verdict).toBe('delivered');
    expect(r.to).toBe('frontend/web-1');
    expect(r.reply).toBeUndefined();
    expect(r.forward.hops[0]!.microflow).toContain(`eth.dst == ${mcastMac(GROUP)}`);
    expect(() => s.engine.joinGroup(findPod(s.cluster, 'frontend/web-1'), s.ip('frontend/web-0'))).toThrow(/not an IPv4 multicast group/);
  });

  test('the membership ages out 300 s after the last report (mcast_idle_timeout, whole seconds as OVS counts them), on the virtual clock', () => {
    const s = scenario('multicast-aging', fixture());
    send(s, 'frontend/web-1', joinFrame(s, 'frontend/web-1'), 0);
    expect(pods(send(s, 'frontend/web-0', datagram(s, 'frontend/web-0'), 299))).toEqual(['frontend/web-1']);
    send(s, 'frontend/web-1', joinFrame(s, 'frontend/web-1'), 299.5); // a refresh
    expect(pods(send(s, 'frontend/web-0', datagram(s, 'frontend/web-0'), 598))).toEqual(['frontend/web-1']);
    expect(pods(send(s, 'frontend/web-0', datagram(s, 'frontend/web-0'), 599))).toEqual([]);
  });

  test('not blocked by a deny-all NetworkPolicy (its unicast is)', () => {
    const s = scenario('multicast-deny-all', fixture('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: frontend}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n'));
    send(s, 'frontend/web-1', joinFrame(s, 'frontend/web-1'));
    expect(pods(send(s, 'frontend/web-0', datagram(s, 'frontend/web-0')))).toEqual(['frontend/web-1']);
    const unicast = s.probe({ from: 'frontend/web-1', dst: s.ip('frontend/web-0'), proto: 'udp', port: 40000 });
    expect(unicast.verdict).toBe('dropped');
    expect(unicast.droppedBy).toMatch(/default deny of namespace frontend/);
  });

  test('never leaking to a namespace without it: its pods cannot join, and frontend\'s datagrams do not reach them', () => {
    const s = scenario('multicast-no-leak', fixture());
    for (const p of ['backend/api-1', 'backend/db-0']) expect(send(s, p, joinFrame(s, p)).snooped).toEqual([]);
    send(s, 'frontend/web-1', joinFrame(s, 'frontend/web-1'));
    expect(pods(send(s, 'frontend/web-0', datagram(s, 'frontend/web-0')))).toEqual(['frontend/web-1']);
    // Even a backend listener the switch had registered would not be sent frontend's traffic:
    // the to-lport allow needs the source in the listener's own namespace.
    const t = scenario('multicast-no-leak-2', fixture(`apiVersion: v1\nkind: Namespace\nmetadata: {name: other, annotations: {k8s.ovn.org/multicast-enabled: "true"}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: listener, namespace: other}\nspec: {nodeName: worker-1, containers: [{name: l, image: socat}]}\n`));
    send(t, 'other/listener', joinFrame(t, 'other/listener'));
    send(t, 'frontend/web-1', joinFrame(t, 'frontend/web-1'));
    const d = send(t, 'frontend/web-0', datagram(t, 'frontend/web-0'));
    expect(pods(d)).toEqual(['frontend/web-1']);
    expect(pods(send(t, 'other/listener', datagram(t, 'other/listener')))).toEqual([]);
  });
});

const tshark = requireTools('multicast frames against tshark', ['tshark'], 'apt-get install -y tshark');

describe('the guide\'s socat check as frames: mlistener joins 224.1.0.1, msender sends, mlistener answers', () => {
  const s = scenario('socat', fixture());
  const join = send(s, 'frontend/web-1', joinFrame(s, 'frontend/web-1'));
  const sent = send(s, 'frontend/web-0', datagram(s, 'frontend/web-0', 45678));
  const reply = s.probe({ from: 'frontend/web-1', dst: s.ip('frontend/web-0'), proto: 'udp', port: 45678, srcPort: PORT });

  test('listener: UDP4-RECVFROM:30102,ip-add-membership=224.1.0.1:$POD_IP (an IGMPv3 report)', () => {
    expect(join.snooped.map((e) => `${e.group} ${e.joined ? 'join' : 'leave'} ${e.port}`)).toEqual([`${GROUP} join frontend_web-1`]);
  });
  test('sender: the datagram is delivered to the listener only, as sent (newline, TTL less the two routers)', () => {
    expect(sent.deliveries.map((d) => `${d.kind} ${d.name}`)).toEqual(['pod frontend/web-1']);
    const d = sent.deliveries[0]!;
    expect(d.flow.nw_dst).toBe(groupIp.addr);
    expect(Number(d.flow.tp_dst)).toBe(PORT);
    expect(Buffer.from(sent.payload).toString()).toBe('\n');
  });
  test('listener: EXEC:hostname answers the sender (unicast UDP), which prints mlistener', () => {
    expect(reply.verdict).toBe('delivered');
    expect(reply.to).toBe('frontend/web-0');
  });
  test.skipIf(tshark.skip)('the frames as tshark reads them: the report, and the datagram as delivered', () => {
    const delivered = flowFrame(sent.deliveries[0]!.flow, sent.payload);
    const rows = tsharkRecords([joinFrame(s, 'frontend/web-1'), delivered], ['ip.dst', 'ip.ttl', 'igmp.version', 'igmp.maddr', 'igmp.record_type', 'udp.dstport', 'data.data', 'eth.dst']);
    expect(rows[0]).toMatchObject({ 'ip.dst': '224.0.0.22', 'ip.ttl': '1', 'igmp.version': '3', 'igmp.maddr': GROUP, 'igmp.record_type': '4' });
    expect(rows[1]).toMatchObject({ 'ip.dst': GROUP, 'udp.dstport': String(PORT), 'data.data': '0a', 'eth.dst': mcastMac(GROUP) });
    expect(Number(rows[1]!['ip.ttl'])).toBe(62);
  });
});

realOvnCompare('kube multicast vs real OVN', 10);
