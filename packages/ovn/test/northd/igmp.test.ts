/**
 * IP multicast groups learnt by snooping (southbound IGMP_Group rows) against real ovn-northd
 * 23.03 and ovn-trace: on fixtures/northd/lr-mcast (switches with snooping, a relay router with a
 * static flood port, a router without relay), groups recorded on several switches give the same
 * Multicast_Group rows (name, key, members), the same logical flows (every flow of the database)
 * and the same traces of packets to the groups. Without OVN only our side runs, against the flows
 * real ovn-northd printed for this input (kept below).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compileNorthd, flowKey, loadNb, minimalText, parseLflowList, traceTree, type IgmpGroupRecord } from '@ovnts/ovn';
import { oracleScript, requireTools, startOvnSandbox, type OvnSandbox } from '@ovnts/testkit';
import { FIXTURES } from './cases.js';

const NB = join(FIXTURES, 'lr-mcast.nb.db');
const RECORDS: IgmpGroupRecord[] = [
  { datapath: 'sw0', address: '239.1.1.1', ports: ['vm1', 'vm3'] },
  { datapath: 'sw1', address: '239.1.1.1', ports: ['vm4'] },
  { datapath: 'sw3', address: '239.2.2.2', ports: ['vm6'] },
  { datapath: 'sw0', address: '224.0.0.5', ports: ['vm1'] },
  { datapath: 'sw0', address: 'ff0e::1234', ports: ['vm1'] },
  // A port that floods anyway, and a link-local IPv6 group: no group.
  { datapath: 'sw0', address: '239.9.9.9', ports: ['vm2'] },
  { datapath: 'sw0', address: 'ff02::1:3', ports: ['vm1'] },
];

// What real ovn-northd 23.03 printed for these records (ovn-sbctl lflow-list, the group flows).
const REAL_GROUP_FLOWS = `Datapath: "lr0" (00000000-0000-0000-0000-000000000000)  Pipeline: ingress
  table=13(lr_in_ip_routing   ), priority=10500, match=(ip4 && ip4.dst == 224.0.0.5 ), action=(clone { outport = "_MC_static"; ip.ttl--; next; };outport = "224.0.0.5"; ip.ttl--; next;)
  table=13(lr_in_ip_routing   ), priority=10500, match=(ip4 && ip4.dst == 239.1.1.1 ), action=(clone { outport = "_MC_static"; ip.ttl--; next; };outport = "239.1.1.1"; ip.ttl--; next;)
  table=13(lr_in_ip_routing   ), priority=10500, match=(ip6 && ip6.dst == ff0e::1234 ), action=(clone { outport = "_MC_static"; ip.ttl--; next; };outport = "ff0e::1234"; ip.ttl--; next;)
Datapath: "sw0" (00000000-0000-0000-0000-000000000001)  Pipeline: ingress
  table=25(ls_in_l2_lkup      ), priority=90   , match=(eth.mcast && ip4 && ip4.dst == 239.1.1.1 ), action=(clone { outport = "_MC_mrouter_flood"; output; };clone { outport ="_MC_static"; output; };outport = "239.1.1.1"; output; )
  table=25(ls_in_l2_lkup      ), priority=90   , match=(eth.mcast && ip6 && ip6.dst == ff0e::1234 ), action=(clone { outport = "_MC_mrouter_flood"; output; };clone { outport ="_MC_static"; output; };outport = "ff0e::1234"; output; )
  table=25(ls_in_l2_lkup      ), priority=90   , match=(eth.mcast && ip6 && ip6.dst == ff02::1:3 ), action=(clone { outport = "_MC_mrouter_flood"; output; };clone { outport ="_MC_static"; output; };outport = "ff02::1:3"; output; )
Datapath: "sw1" (00000000-0000-0000-0000-000000000002)  Pipeline: ingress
  table=25(ls_in_l2_lkup      ), priority=90   , match=(eth.mcast && ip4 && ip4.dst == 239.1.1.1 ), action=(clone { outport = "_MC_mrouter_flood"; output; };outport = "239.1.1.1"; output; )
Datapath: "sw3" (00000000-0000-0000-0000-000000000003)  Pipeline: ingress
  table=25(ls_in_l2_lkup      ), priority=90   , match=(eth.mcast && ip4 && ip4.dst == 239.2.2.2 ), action=(outport = "239.2.2.2"; output; )
`;

function groupFlows(records: IgmpGroupRecord[]): string[] {
  const res = compileNorthd(loadNb(readFileSync(NB)), { igmpGroups: records });
  return res.flows.filter((f) => (f.stage === 'ls_in_l2_lkup' && f.priority === 90) || (f.stage === 'lr_in_ip_routing' && f.priority === 10500)).map(flowKey).sort();
}

const toGroup = (src: string, group: string) =>
  `inport == "vm5" && eth.src == 00:00:00:00:00:05 && eth.dst == 01:00:5e:01:01:01 && ip4.src == ${src} && ip4.dst == ${group} && ip.ttl == 64 && udp.src == 5000 && udp.dst == 30102`;

describe('IP multicast groups from IGMP_Group rows', () => {
  test('the group flows real ovn-northd 23.03 printed', () => {
    expect(groupFlows(RECORDS)).toEqual(parseLflowList(REAL_GROUP_FLOWS).map(flowKey).sort());
  });
  test('groups, keys and members; no group without a record', () => {
    const res = compileNorthd(loadNb(readFileSync(NB)), { igmpGroups: RECORDS });
    const g = res.ipMulticastGroups.map((x) => `${x.datapath.name} ${x.name} ${x.key} [${x.ports.join(',')}]`);
    expect(g).toEqual([
      'sw0 239.1.1.1 32774 [vm1,vm3]',
      'sw1 239.1.1.1 32774 [vm4]',
      'sw3 239.2.2.2 32774 [vm6]',
      'sw0 224.0.0.5 32775 [vm1]',
      'sw0 ff0e::1234 32776 [vm1]',
      'sw0 ff02::1:3 32777 [vm1]',
      'lr0 239.1.1.1 32774 [lr0-sw0]',
      'lr0 224.0.0.5 32775 [lr0-sw0]',
      'lr0 ff0e::1234 32776 [lr0-sw0]',
    ]);
    expect(compileNorthd(loadNb(readFileSync(NB))).ipMulticastGroups).toEqual([]);
  });
  test('an IGMP report is handed to snooping (the igmp hook), as ovn-controller gets it', () => {
    const seen: string[] = [];
    traceTree(loadNb(readFileSync(NB)), null, 'inport == "vm1" && eth.src == 00:00:00:00:00:01 && eth.dst == 01:00:5e:00:00:16 && ip4.src == 10.0.0.11 && ip4.dst == 224.0.0.22 && ip.ttl == 1 && ip.proto == 2', {
      hooks: { igmp: (dp, pl, f) => void seen.push(`${dp.name} ${pl} ${f.nw_dst.toString(16)}`) },
    });
    expect(seen).toEqual(['sw0 ingress e0000016']);
  });
  test('a packet to a registered group reaches its members, through the relay router to the other switch', () => {
    const t = traceTree(loadNb(readFileSync(NB)), null, toGroup('10.2.0.15', '239.1.1.1'), { igmpGroups: RECORDS });
    const m = minimalText(t.root);
    for (const p of ['vm1', 'vm3', 'vm4']) expect(m).toContain(`output("${p}")`);
    expect(m).not.toContain('output("vm6")');
  });
});

const req = requireTools('IGMP groups vs live ovn-northd/ovn-trace', ['ovn-northd', 'ovn-nbctl', 'ovn-sbctl', 'ovn-trace', 'ovsdb-client'], 'apt-get install -y ovn-central');

describe.skipIf(req.skip)('IGMP groups vs live ovn-northd 23.03 and ovn-trace', () => {
  let sb: OvnSandbox;
  beforeAll(() => {
    sb = startOvnSandbox(oracleScript('ovn-sandbox')!);
    sb.run('bash', ['-c', 'exec ovsdb-client --force restore "$0" < "$1"', sb.nbDb, NB]);
    sb.run('ovn-nbctl', ['--wait=sb', 'sync']);
    sb.run('ovn-nbctl', ['--wait=sb', 'sync']);
    // A chassis to own the rows, with the features northd assumes when there is none.
    sb.run('ovn-sbctl', ['chassis-add', 'hv1', 'geneve', '127.0.0.1']);
    sb.run('ovn-sbctl', ['set', 'Chassis', 'hv1', 'other_config:ct-no-masked-label=true', 'other_config:mac-binding-timestamp=true', 'other_config:ovn-ct-lb-related=true', 'other_config:port-up-notif=true']);
    const one = (table: string, cond: string) => sb.run('ovn-sbctl', ['--bare', '--columns=_uuid', 'find', table, cond]).trim();
    const ch = one('Chassis', 'name=hv1');
    for (const r of RECORDS) {
      const ports = r.ports.map((p) => one('Port_Binding', `logical_port=${p}`)).join(',');
      sb.run('ovn-sbctl', ['create', 'IGMP_Group', `address="${r.address}"`, `datapath=${one('Datapath_Binding', `external_ids:name=${r.datapath}`)}`, `chassis=${ch}`, `ports=[${ports}]`]);
    }
    sb.run('ovn-nbctl', ['--wait=sb', 'sync']);
  }, 120_000);
  afterAll(() => sb?.stop());

  test('every logical flow of the database is the same', () => {
    const real = new Set(parseLflowList(sb.run('ovn-sbctl', ['lflow-list'])).map(flowKey));
    const ours = new Set(compileNorthd(loadNb(readFileSync(NB)), { igmpGroups: RECORDS }).flows.map(flowKey));
    expect([...real].filter((k) => !ours.has(k)), 'missing').toEqual([]);
    expect([...ours].filter((k) => !real.has(k)), 'extra').toEqual([]);
  });

  test('the IP multicast groups: names, keys, members', () => {
    const rows = sb.run('ovn-sbctl', ['--format=csv', '--no-headings', '--columns=name,tunnel_key,datapath,ports', 'list', 'Multicast_Group']);
    const dpName = new Map<string, string>();
    for (const l of sb.run('ovn-sbctl', ['--format=csv', '--no-headings', '--columns=_uuid,external_ids', 'list', 'Datapath_Binding']).trim().split('\n')) {
      const m = /^([0-9a-f-]+),.*name=([^,}"]+)/.exec(l);
      if (m) dpName.set(m[1]!, m[2]!);
    }
    const pbName = new Map<string, string>();
    for (const l of sb.run('ovn-sbctl', ['--format=csv', '--no-headings', '--columns=_uuid,logical_port', 'list', 'Port_Binding']).trim().split('\n')) {
      const [u, n] = l.split(',');
      pbName.set(u!, n!.replace(/"/g, ''));
    }
    const real = rows
      .trim()
      .split('\n')
      .map((l) => /^"*([^",]+)"*,(\d+),([0-9a-f-]+),"?\[([^\]]*)\]"?$/.exec(l)!)
      .filter((m) => !m[1]!.startsWith('_MC_'))
      .map((m) => `${dpName.get(m[3]!)} ${m[1]} ${m[2]} [${m[4]!.split(/,\s*/).filter(Boolean).map((u) => pbName.get(u.trim())).sort().join(',')}]`)
      .sort();
    const ours = compileNorthd(loadNb(readFileSync(NB)), { igmpGroups: RECORDS }).ipMulticastGroups.map((x) => `${x.datapath.name} ${x.name} ${x.key} [${[...x.ports].sort().join(',')}]`).sort();
    expect(ours).toEqual(real);
  });

  test('ovn-trace of packets to groups, registered or not, from both sides of the router', () => {
    const db = loadNb(readFileSync(NB));
    const igmpReport = 'inport == "vm1" && eth.src == 00:00:00:00:00:01 && eth.dst == 01:00:5e:00:00:16 && ip4.src == 10.0.0.11 && ip4.dst == 224.0.0.22 && ip.ttl == 1 && ip.proto == 2';
    const flows = [toGroup('10.2.0.15', '239.1.1.1'), toGroup('10.2.0.15', '239.2.2.2'), toGroup('10.2.0.15', '224.0.0.5'), toGroup('10.2.0.15', '239.7.7.7'), igmpReport];
    for (const mf of flows) {
      const real = sb.run('ovn-trace', ['--minimal', mf]);
      expect(minimalText(traceTree(db, null, mf, { igmpGroups: RECORDS }).root), mf).toBe(real.slice(real.indexOf('\n') + 1));
    }
  });
});
