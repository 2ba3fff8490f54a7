/**
 * ACL log lines (acl-log.ts) against real ovn-controller: the case fixtures/chassis/acl-log/
 * ls-acl-log (ACLs with log=true: named and unnamed, severities alert..debug, verdicts allow,
 * allow-related, drop, reject, a name with a space and a non-ASCII letter) runs in a real OVN cluster and in
 * our `ChassisCluster` built from the real southbound database; the same frames go into both,
 * and the `acl_log` lines real ovn-controller writes to its log must equal the `log` notes of our
 * pinctrl, line for line and in order. Plus the decoding on its own (no tools needed).
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { jsonEscape, loadSb, type SbDatabase } from '@ovnts/ovn';
import { PacketBuilder } from '@ovnts/packet';
import { applyChassisCase, readChassisCase, repoRoot, requireOracle, startOvnCluster, type OvnCluster } from '@ovnts/testkit';
import { ChassisCluster, aclLogLine, clusterConfig, decodeAclLog, OFTABLE } from '@ovnts/chassis';
import { caseSettings } from './helpers.js';

const req = requireOracle('ACL log lines (live OVN cluster)', 'ovn-sandbox', ['ovn-controller', 'ovn-northd', 'ovs-vswitchd', 'ovsdb-server'], 'apt-get install -y ovn-central ovn-host openvswitch-switch');

const mac = (n: number) => `50:54:00:00:00:0${n}`;
const ip = (n: number) => `10.0.0.${n}`;

/** The frames: each sender, and what it sends. */
function frames(): { from: string; frame: Uint8Array; what: string }[] {
  const tcp = (a: number, b: number, dport: number, flags: number) =>
    new PacketBuilder().ethernet({ src: mac(a), dst: mac(b) }).ipv4({ src: ip(a), dst: ip(b), ttl: 64, dontFragment: true }).tcp({ srcPort: 40000 + dport, dstPort: dport, flags, seq: 1, ack: flags & 0x10 ? 1 : 0, window: 64240 }).build();
  const udp = (a: number, b: number) => new PacketBuilder().ethernet({ src: mac(a), dst: mac(b) }).ipv4({ src: ip(a), dst: ip(b), ttl: 64 }).udp({ srcPort: 5353, dstPort: 53, checksum: true }).payload('q').build();
  const ping = (a: number, b: number) => new PacketBuilder().ethernet({ src: mac(a), dst: mac(b) }).ipv4({ src: ip(a), dst: ip(b), ttl: 64 }).icmpv4({ type: 8, code: 0, id: 7, seq: 1 }).build();
  return [
    { from: 'vm1', frame: tcp(1, 2, 80, 0x02), what: 'vm1 -> vm2 TCP SYN :80 (allow-related, logged)' },
    { from: 'vm2', frame: tcp(2, 1, 80, 0x12), what: 'vm2 -> vm1 SYN+ACK (reply: not logged)' },
    { from: 'vm1', frame: tcp(1, 2, 22, 0x02), what: 'vm1 -> vm2 TCP SYN :22 (drop, logged)' },
    { from: 'vm3', frame: udp(3, 1), what: 'vm3 -> vm1 UDP (unnamed drop)' },
    { from: 'vm3', frame: ping(3, 1), what: 'vm3 -> vm1 ping (reject: neither logs it)' },
    { from: 'vm1', frame: ping(1, 3), what: 'vm1 -> vm3 ping (allow, debug, a name with a space and a non-ASCII letter)' },
  ];
}

describe('acl-log decoding', () => {
  test('the log header, names, unknown codes, direction by table', () => {
    const frame = new PacketBuilder().ethernet({ src: mac(1), dst: mac(2) }).ipv4({ src: ip(1), dst: ip(2), ttl: 63 }).udp({ srcPort: 1, dstPort: 2, checksum: true }).build();
    const payload = Uint8Array.from([1, 1, ...new TextEncoder().encode('NP:x:Ingress')]);
    expect(decodeAclLog(payload)).toEqual({ verdict: 'drop', severity: 'alert', name: 'NP:x:Ingress' });
    expect(decodeAclLog(Uint8Array.from([9, 3]))).toEqual({ verdict: '<unknown>', severity: '<unknown>', name: undefined });
    expect(decodeAclLog(Uint8Array.from([0]))).toBeUndefined();
    expect(aclLogLine(payload, frame, OFTABLE.LOG_EGRESS_PIPELINE + 4)).toBe(
      'name="NP:x:Ingress", verdict=drop, severity=alert, direction=to-lport: udp,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=63,nw_frag=no,tp_src=1,tp_dst=2',
    );
    expect(aclLogLine(Uint8Array.from([0, 6]), frame, OFTABLE.LOG_INGRESS_PIPELINE + 9)).toMatch(/^name="<unnamed>", verdict=allow, severity=info, direction=from-lport: udp,/);
    expect(jsonEscape('a"b\\c\n\u0001')).toBe('"a\\"b\\\\c\\n\\u0001"');
  });
});

describe.skipIf(req.skip)('acl_log lines vs real ovn-controller', () => {
  const c = readChassisCase('ls-acl-log', join(repoRoot, 'fixtures', 'chassis', 'acl-log'));
  let real: OvnCluster | undefined;
  let sb: SbDatabase;
  beforeAll(async () => {
    real = await startOvnCluster({ chassis: c.chassis });
    await applyChassisCase(real, c);
    await new Promise((r) => setTimeout(r, 1000));
    await real.discard();
    sb = loadSb(new Uint8Array(await real.sbBackup()));
  }, 120_000);
  afterAll(async () => {
    await real?.stop();
  });

  test('the same frames give the same lines, in order', async () => {
    const ours = new ChassisCluster(sb, clusterConfig(c.map, caseSettings(c), sb));
    const mine: string[] = [];
    for (const f of frames()) {
      await real!.send('hv1', f.from, f.frame);
      for (const n of ours.send(f.from, f.frame).notes) if (n.kind === 'log') mine.push(n.text);
    }
    await real!.settle();
    const log = readFileSync(join(real!.dir, 'hv1', 'ovn-controller.log'), 'utf8');
    const theirs = log.split('\n').filter((l) => l.includes('|acl_log(')).map((l) => l.replace(/^.*?\|acl_log\([^)]*\)\|INFO\|/, ''));
    console.log(`acl_log differential: ${theirs.length} lines from real ovn-controller, ${mine.length} from ours\n${theirs.join('\n')}`);
    expect(theirs.length).toBe(5);
    expect(theirs.at(-1)).toMatch(/^name="EF:x:0 \(é\)", verdict=allow, severity=debug, direction=from-lport: icmp,/);
    expect(mine).toEqual(theirs);
  }, 60_000);
});
