/**
 * Differential tests against real OVN 23.03: ovn-nbctl builds topologies in a private sandbox,
 * `ovsdb-client backup` (and the server's own multi-transaction file) are loaded with our
 * reader, and every row and column must equal what `ovsdb-client dump -f json` reports.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NbDatabase, loadNb, loadNbFile, readOvsdbFile, writeOvsdbFile } from '../../src/nb/index.js';
import { Sandbox, rawTables, requireOvn } from './helpers.js';

const req = requireOvn();

/** Build the big topology; every feature of ovn-nb(5) we model appears at least once. */
function buildTopology(sb: Sandbox): void {
  const n = (...a: string[]) => sb.nbctl(...a);
  n('ls-add', 'sw0', '--', 'set', 'Logical_Switch', 'sw0', 'other_config:subnet=10.0.0.0/24',
    'other_config:exclude_ips="10.0.0.1..10.0.0.9 10.0.0.20"', 'other_config:ipv6_prefix=fd00::',
    'other_config:mcast_snoop=true', 'other_config:mcast_querier=false', 'other_config:mcast_idle_timeout=100');
  n('lsp-add', 'sw0', 'p1', '--', 'lsp-set-addresses', 'p1', '00:00:00:00:00:01 10.0.0.11 fd00::11',
    '--', 'lsp-set-port-security', 'p1', '00:00:00:00:00:01 10.0.0.11/32 fd00::11');
  n('lsp-add', 'sw0', 'p2', '--', 'lsp-set-addresses', 'p2', 'dynamic');
  n('lsp-add', 'sw0', 'p3', '--', 'lsp-set-addresses', 'p3', '00:00:00:00:00:03 dynamic', 'unknown', '--', 'lsp-set-enabled', 'p3', 'disabled');
  n('lsp-add', 'sw0', 'ln0', '--', 'lsp-set-type', 'ln0', 'localnet', '--', 'lsp-set-addresses', 'ln0', 'unknown',
    '--', 'lsp-set-options', 'ln0', 'network_name=physnet1', '--', 'set', 'Logical_Switch_Port', 'ln0', 'tag_request=100');
  n('lsp-add', 'sw0', 'lp0', '--', 'lsp-set-type', 'lp0', 'localport', '--', 'lsp-set-addresses', 'lp0', '00:00:00:00:00:f0 10.0.0.240');
  n('lsp-add', 'sw0', 'c1', 'p1', '42', '--', 'lsp-set-addresses', 'c1', '00:00:00:00:00:c1 10.0.0.193');
  n('ls-add', 'sw1');
  n('lsp-add', 'sw1', 'q1', '--', 'lsp-set-addresses', 'q1', '00:00:00:00:01:01 10.0.1.11');
  n('lsp-add', 'sw1', 'rem', '--', 'lsp-set-type', 'rem', 'remote', '--', 'lsp-set-addresses', 'rem', '00:00:00:00:01:99 10.0.1.99',
    '--', 'lsp-set-options', 'rem', 'requested-chassis=hv2');
  n('ha-chassis-group-add', 'hag1');
  n('ha-chassis-group-add-chassis', 'hag1', 'hv1', '30');
  n('ha-chassis-group-add-chassis', 'hag1', 'hv2', '20');
  n('lsp-add', 'sw1', 'ext1', '--', 'lsp-set-type', 'ext1', 'external', '--', 'lsp-set-addresses', 'ext1', '00:00:00:00:01:e1 10.0.1.225');
  n('set', 'Logical_Switch_Port', 'ext1', `ha_chassis_group=${sb.uuidOf('HA_Chassis_Group', 'hag1')}`);

  n('lr-add', 'lr0', '--', 'set', 'Logical_Router', 'lr0', 'options:mcast_relay=true', 'options:lb_force_snat_ip=router_ip',
    'options:dynamic_neigh_routers=true');
  n('lrp-add', 'lr0', 'lr0-sw0', '00:00:00:00:ff:01', '10.0.0.1/24', 'fd00::1/64');
  n('lrp-add', 'lr0', 'lr0-sw1', '00:00:00:00:ff:02', '10.0.1.1/24');
  for (const s of ['sw0', 'sw1']) {
    n('lsp-add', s, `${s}-lr0`, '--', 'lsp-set-type', `${s}-lr0`, 'router', '--', 'lsp-set-addresses', `${s}-lr0`, 'router',
      '--', 'lsp-set-options', `${s}-lr0`, `router-port=lr0-${s}`);
  }
  n('lrp-add', 'lr0', 'lr0-ext', '00:00:00:00:ff:03', '172.16.0.1/24');
  n('lrp-set-gateway-chassis', 'lr0-ext', 'hv1', '20');
  n('lrp-set-gateway-chassis', 'lr0-ext', 'hv2', '10');
  n('lr-add', 'gw0', '--', 'set', 'Logical_Router', 'gw0', 'options:chassis=hv1', 'options:lb_force_snat_ip="100.64.0.1 fd98::1"');
  n('lrp-add', 'gw0', 'gw0-lr0', '00:00:00:00:ee:01', '100.64.0.1/16', 'peer=lr0-gw0');
  n('lrp-add', 'lr0', 'lr0-gw0', '00:00:00:00:ee:02', '100.64.0.2/16', 'peer=gw0-lr0');

  n('meter-add', 'acl-meter', 'drop', '100', 'pktps', '10');
  n('--fair', 'meter-add', 'm2', 'drop', '1000', 'kbps');
  n('acl-add', 'sw0', 'from-lport', '1001', 'inport == "p1" && ip4', 'allow-related');
  n('--log', '--severity=alert', '--name=deny-ssh', '--meter=acl-meter', 'acl-add', 'sw0', 'to-lport', '1002', 'tcp.dst == 22', 'reject');
  n('acl-add', 'sw0', 'to-lport', '0', '1', 'allow-stateless');
  n('--apply-after-lb', 'acl-add', 'sw0', 'from-lport', '900', 'ip4.dst == 10.0.0.200', 'drop');
  n('--label=1234', 'acl-add', 'sw0', 'from-lport', '950', 'ip4.src == 10.0.0.11', 'allow');
  n('create', 'Address_Set', 'name=as1', 'addresses="10.0.0.11","10.0.1.0/24"');
  n('create', 'Address_Set', 'name=as_v6', 'addresses="fd00::11"');
  n('pg-add', 'pg1', 'p1', 'q1');
  n('acl-add', 'pg1', 'to-lport', '1003', 'outport == @pg1 && ip4.src == $as1', 'allow-related');

  n('lb-add', 'lb0', '10.0.0.100:80', '10.0.0.11:80,10.0.1.11:80', 'tcp');
  n('lb-add', 'lb0', '[fd00::100]:80', '[fd00::11]:80');
  n('lb-add', 'lb1', '10.0.0.200', '10.0.0.11,10.0.1.11');
  n('lb-add', 'lb2', '10.0.0.201:53', '10.0.0.11:53', 'udp');
  n('lb-add', 'lb3', '10.0.0.202:80', '', 'tcp');
  n('set', 'Load_Balancer', 'lb0', 'options:affinity_timeout=60', 'options:hairpin_snat_ip="169.254.169.5 fd69::5"',
    'selection_fields=ip_src,ip_dst', 'ip_port_mappings:10.0.0.11=p1:10.0.0.2');
  n('set', 'Load_Balancer', 'lb3', 'options:reject=true', 'options:skip_snat=true');
  n('--id=@hc', 'create', 'Load_Balancer_Health_Check', 'vip="10.0.0.100:80"', 'options:interval=5', '--',
    'add', 'Load_Balancer', 'lb0', 'health_check', '@hc');
  n('ls-lb-add', 'sw0', 'lb0');
  n('ls-lb-add', 'sw0', 'lb3');
  n('lr-lb-add', 'lr0', 'lb1');
  n('create', 'Load_Balancer_Group', 'name=lbg0', `load_balancer=${sb.uuidOf('Load_Balancer', 'lb2')}`);
  n('add', 'Logical_Switch', 'sw1', 'load_balancer_group', sb.uuidOf('Load_Balancer_Group', 'lbg0'));

  n('lr-nat-add', 'lr0', 'snat', '172.16.0.1', '10.0.0.0/24');
  n('lr-nat-add', 'lr0', 'dnat', '172.16.0.100', '10.0.0.11');
  n('lr-nat-add', 'lr0', 'dnat_and_snat', '172.16.0.111', '10.0.1.11', 'q1', '00:00:00:00:aa:11');
  n('--stateless', 'lr-nat-add', 'lr0', 'dnat_and_snat', '172.16.0.112', '10.0.0.12');
  n('--portrange', 'lr-nat-add', 'gw0', 'snat', '100.64.0.1', '10.0.1.0/24', '1000-2000');

  n('lr-route-add', 'lr0', '0.0.0.0/0', '172.16.0.254');
  n('--ecmp', 'lr-route-add', 'lr0', '192.168.0.0/24', '10.0.1.100');
  n('--ecmp', 'lr-route-add', 'lr0', '192.168.0.0/24', '10.0.1.101');
  n('--ecmp-symmetric-reply', 'lr-route-add', 'lr0', '192.168.1.0/24', '10.0.1.102');
  n('--policy=src-ip', 'lr-route-add', 'lr0', '10.0.0.0/24', '172.16.0.253', 'lr0-ext');
  n('--route-table=rtb1', 'lr-route-add', 'lr0', '10.9.0.0/16', '10.0.1.103');
  n('lr-route-add', 'lr0', '10.10.0.0/16', 'discard');
  n('lr-route-add', 'gw0', '10.0.0.0/16', '100.64.0.2');

  n('lr-policy-add', 'lr0', '100', 'ip4.src == 10.0.0.11', 'reroute', '10.0.1.100');
  n('lr-policy-add', 'lr0', '110', 'ip4.src == 10.0.0.12', 'reroute', '10.0.1.100,10.0.1.101');
  n('lr-policy-add', 'lr0', '90', 'ip4.dst == 10.0.5.0/24', 'drop');
  n('lr-policy-add', 'lr0', '80', 'ip4', 'allow', 'pkt_mark=5');

  const d4 = n('dhcp-options-create', '10.0.0.0/24');
  const d4u = n('--bare', '--columns=_uuid', 'find', 'DHCP_Options', 'cidr="10.0.0.0/24"');
  void d4;
  n('dhcp-options-set-options', d4u, 'lease_time=3600', 'router=10.0.0.1', 'server_id=10.0.0.1', 'server_mac=c0:ff:ee:00:00:01');
  n('lsp-set-dhcpv4-options', 'p1', d4u);
  n('dhcp-options-create', 'fd00::/64');
  const d6u = n('--bare', '--columns=_uuid', 'find', 'DHCP_Options', 'cidr="fd00::/64"');
  n('dhcp-options-set-options', d6u, 'server_id=00:00:00:00:10:02');
  n('lsp-set-dhcpv6-options', 'p1', d6u);
  n('--id=@d', 'create', 'DNS', 'records={"vm1.ovn.org"="10.0.0.11 fd00::11"}', 'external_ids:owner=test', '--',
    'add', 'Logical_Switch', 'sw0', 'dns_records', '@d');
  n('qos-add', 'sw0', 'from-lport', '100', 'ip4.src == 10.0.0.11', 'dscp=12', 'rate=1000', 'burst=100');
  n('static-mac-binding-add', 'lr0-ext', '172.16.0.254', '00:00:00:00:ee:ff');
  n('set', 'NB_Global', '.', 'options:ovnts_test=yes', 'external_ids:k=v');
  n('--wait=sb', 'sync');
}

/** Modifications and deletions, each its own transaction. */
function modify(sb: Sandbox): void {
  const n = (...a: string[]) => sb.nbctl(...a);
  n('lsp-set-addresses', 'p1', '00:00:00:00:00:01 10.0.0.21');
  n('lsp-set-port-security', 'p1');
  n('set', 'Logical_Switch', 'sw0', 'other_config:mcast_snoop=false');
  n('remove', 'Logical_Switch', 'sw0', 'other_config', 'mcast_querier');
  n('acl-del', 'sw0', 'to-lport', '0', '1');
  n('lr-nat-del', 'lr0', 'dnat', '172.16.0.100');
  n('lb-del', 'lb2');
  n('lsp-del', 'q1');
  n('lr-route-del', 'lr0', '192.168.0.0/24', '10.0.1.100');
  n('lr-policy-del', 'lr0', '90', 'ip4.dst == 10.0.5.0/24');
  n('meter-del', 'm2');
  n('set', 'Load_Balancer', 'lb0', 'options:affinity_timeout=120');
  n('lsp-set-enabled', 'p3', 'enabled');
  n('lrp-set-gateway-chassis', 'lr0-ext', 'hv1', '5');
  n('lrp-del-gateway-chassis', 'lr0-ext', 'hv2');
  n('ls-add', 'sw2', '--', 'lsp-add', 'sw2', 'r1', '--', 'lsp-set-addresses', 'r1', '00:00:00:00:02:01 10.0.2.1');
  n('ls-del', 'sw2');
  n('--wait=sb', 'sync');
}

describe.skipIf(req.skip)('northbound database against real OVN', () => {
  const sb = new Sandbox();
  beforeAll(() => {
    try {
      sb.start();
    } catch (e) {
      sb.stop();
      throw e;
    }
  });
  afterAll(() => sb.stop());

  test('every row and column of a backup matches ovsdb-client dump', () => {
    buildTopology(sb);
    const backup = sb.backup();
    const dump = sb.dump();
    const file = readOvsdbFile(backup);
    expect(file.schema.name).toBe('OVN_Northbound');
    expect(file.schema.version).toBe('7.0.0');
    const db = NbDatabase.fromRaw(file.raw);
    expect(rawTables(db.raw)).toEqual(dump);
    writeFileSync(join(sb.dir, 'backup1.db'), backup);
  });

  test('typed rows read the topology the way ovn-nb(5) describes it', () => {
    const db = loadNbFile(join(sb.dir, 'backup1.db'));
    const sw0 = db.lookupSwitch('sw0')!;
    expect(sw0.config.subnet?.text).toBe('10.0.0.0/24');
    expect(sw0.config.excludeIps).toEqual([
      { from: 0x0a000001, to: 0x0a000009 },
      { from: 0x0a000014, to: 0x0a000014 },
    ]);
    expect(sw0.config.ipv6Prefix?.family).toBe(6);
    expect(sw0.config.mcastSnoop).toBe(true);
    expect(sw0.config.mcastQuerier).toBe(false);
    expect(sw0.config.mcastIdleTimeout).toBe(100);
    expect(sw0.config.mcastQueryInterval).toBe(50);
    expect(sw0.ports.map((p) => p.name).sort()).toEqual(['c1', 'ln0', 'lp0', 'p1', 'p2', 'p3', 'sw0-lr0']);
    const p1 = db.lookupPort('p1')!;
    expect(db.switchOf(p1)).toBe(sw0);
    expect(p1.addresses).toEqual([
      {
        kind: 'static',
        text: '00:00:00:00:00:01 10.0.0.11 fd00::11',
        mac: 1,
        ips: [
          { family: 4, addr: 0x0a00000b, text: '10.0.0.11', plen: 32 },
          { family: 6, addr: 0xfd000000000000000000000000000011n, text: 'fd00::11', plen: 128 },
        ],
      },
    ]);
    expect(p1.port_security[0]!.ips.map((i) => [i.text, i.plen])).toEqual([
      ['10.0.0.11/32', 32],
      ['fd00::11', 128],
    ]);
    expect(p1.dhcpv4_options?.options.get('lease_time')).toBe('3600');
    expect(p1.dhcpv6_options?.cidr.text).toBe('fd00::/64');
    const p2 = db.lookupPort('p2')!;
    expect(p2.addresses[0]!.kind).toBe('dynamic');
    expect(p2.dynamic_addresses?.ips.map((i) => i.family)).toEqual([4, 6]);
    expect(p2.dynamic_addresses?.ips[0]!.text).toBe('10.0.0.10');
    const p3 = db.lookupPort('p3')!;
    expect(p3.addresses.map((a) => a.kind).sort()).toEqual(['dynamic', 'unknown']);
    expect(p3.enabled).toBe(false);
    expect(db.lookupPort('ln0')!.type).toBe('localnet');
    expect(db.lookupPort('ln0')!.tag_request).toBe(100);
    expect(db.lookupPort('c1')!.parent_name).toBe('p1');
    expect(db.lookupPort('c1')!.tag).toBe(42);
    expect(db.lookupPort('rem')!.type).toBe('remote');
    expect(db.lookupPort('ext1')!.ha_chassis_group?.ha_chassis.map((c) => [c.chassis_name, c.priority]).sort()).toEqual([
      ['hv1', 30],
      ['hv2', 20],
    ]);
    const rp = db.lookupPort('sw0-lr0')!;
    expect(rp.addresses).toEqual([{ kind: 'router', text: 'router' }]);
    expect(db.routerPortOf(rp)?.name).toBe('lr0-sw0');

    const lr0 = db.lookupRouter('lr0')!;
    expect(lr0.config).toMatchObject({ mcastRelay: true, lbForceSnatIp: 'router_ip', dynamicNeighRouters: true });
    const gw0 = db.lookupRouter('gw0')!;
    expect(gw0.config.chassis).toBe('hv1');
    expect((gw0.config.lbForceSnatIp as { text: string }[]).map((a) => a.text)).toEqual(['100.64.0.1', 'fd98::1']);
    const ext = db.lookupRouterPort('lr0-ext')!;
    expect(db.routerOf(ext)).toBe(lr0);
    expect(ext.gateway_chassis.map((g) => [g.name, g.chassis_name, g.priority]).sort()).toEqual([
      ['lr0-ext-hv1', 'hv1', 20],
      ['lr0-ext-hv2', 'hv2', 10],
    ]);
    expect(db.lookupRouterPort('lr0-sw0')!.networks.map((n) => [n.text, n.plen])).toEqual([
      ['10.0.0.1/24', 24],
      ['fd00::1/64', 64],
    ]);
    expect(db.lookupRouterPort('gw0-lr0')!.peer).toBe('lr0-gw0');

    const acls = [...sw0.acls].sort((a, b) => a.priority - b.priority);
    expect(acls.map((a) => [a.priority, a.direction, a.action, a.applyAfterLb])).toEqual([
      [0, 'to-lport', 'allow-stateless', false],
      [900, 'from-lport', 'drop', true],
      [950, 'from-lport', 'allow', false],
      [1001, 'from-lport', 'allow-related', false],
      [1002, 'to-lport', 'reject', false],
    ]);
    expect(acls[2]!.label).toBe(1234);
    expect(acls[4]).toMatchObject({ log: true, severity: 'alert', name: 'deny-ssh', meter: 'acl-meter', tier: 0 });
    const pg1 = db.lookupPortGroup('pg1')!;
    expect(pg1.ports.map((p) => p.name).sort()).toEqual(['p1', 'q1']);
    expect(pg1.acls[0]!.match).toBe('outport == @pg1 && ip4.src == $as1');
    expect(db.portGroupsOf(p1)).toEqual([pg1]);
    expect(db.lookupAddressSet('as1')!.addresses).toEqual(['10.0.0.11', '10.0.1.0/24']);

    const lb0 = db.lookupLoadBalancer('lb0')!;
    expect(lb0.protocol).toBe('tcp');
    expect(lb0.vipList.map((v) => [v.vip.ip.text, v.vip.port, v.backends.map((b) => `${b.ip.text}/${b.port}`)]).sort()).toEqual([
      ['10.0.0.100', 80, ['10.0.0.11/80', '10.0.1.11/80']],
      ['fd00::100', 80, ['fd00::11/80']],
    ]);
    expect(lb0.config.affinityTimeout).toBe(60);
    expect(lb0.config.hairpinSnatIp.map((a) => a.text)).toEqual(['169.254.169.5', 'fd69::5']);
    expect(lb0.selection_fields).toEqual(['ip_dst', 'ip_src']);
    expect(lb0.health_check[0]!.vip).toBe('10.0.0.100:80');
    expect(db.lookupLoadBalancer('lb1')!.vipList[0]!.vip.port).toBeUndefined();
    expect(db.lookupLoadBalancer('lb3')!.vipList[0]!.backends).toEqual([]);
    expect(db.lookupLoadBalancer('lb3')!.config).toMatchObject({ reject: true, skipSnat: true });
    expect(sw0.load_balancer.map((l) => l.name).sort()).toEqual(['lb0', 'lb3']);
    expect(db.lookupSwitch('sw1')!.load_balancer_group[0]!.load_balancer[0]!.name).toBe('lb2');

    const nats = lr0.nat.map((x) => [x.type, x.external_ip.text, x.logical_ip.text, x.logical_port, x.external_mac, x.options.get('stateless')]);
    expect(nats.sort()).toEqual([
      ['dnat', '172.16.0.100', '10.0.0.11', undefined, undefined, 'false'],
      ['dnat_and_snat', '172.16.0.111', '10.0.1.11', 'q1', 0xaa11, 'false'],
      ['dnat_and_snat', '172.16.0.112', '10.0.0.12', undefined, undefined, 'true'],
      ['snat', '172.16.0.1', '10.0.0.0/24', undefined, undefined, 'false'],
    ]);
    expect(gw0.nat[0]!.external_port_range).toEqual({ min: 1000, max: 2000 });

    const routes = lr0.static_routes.map((r) => [
      r.ip_prefix.text,
      r.nexthop === 'discard' ? 'discard' : r.nexthop.text,
      r.policy ?? '',
      r.output_port ?? '',
      r.route_table,
      r.ecmpSymmetricReply,
    ]);
    expect(routes.sort()).toEqual([
      ['0.0.0.0/0', '172.16.0.254', '', '', '', false],
      ['10.0.0.0/24', '172.16.0.253', 'src-ip', 'lr0-ext', '', false],
      ['10.10.0.0/16', 'discard', '', '', '', false],
      ['10.9.0.0/16', '10.0.1.103', '', '', 'rtb1', false],
      ['192.168.0.0/24', '10.0.1.100', '', '', '', false],
      ['192.168.0.0/24', '10.0.1.101', '', '', '', false],
      ['192.168.1.0/24', '10.0.1.102', '', '', '', true],
    ]);
    const pols = lr0.policies.map((p) => [p.priority, p.action, p.nexthops.map((h) => h.text), p.pktMark]);
    expect(pols.sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
      [80, 'allow', [], 5],
      [90, 'drop', [], undefined],
      [100, 'reroute', ['10.0.1.100'], undefined],
      [110, 'reroute', ['10.0.1.100', '10.0.1.101'], undefined],
    ]);
    expect(sw0.dns_records[0]!.records.get('vm1.ovn.org')).toBe('10.0.0.11 fd00::11');
    expect(sw0.qos_rules[0]!.action.get('dscp')).toBe(12);
    expect(sw0.qos_rules[0]!.bandwidth).toEqual(new Map([['burst', 100], ['rate', 1000]]));
    const m = db.lookupMeter('acl-meter')!;
    expect([m.unit, m.bands.map((b) => [b.action, b.rate, b.burst_size])]).toEqual(['pktps', [['drop', 100, 10]]]);
    expect(db.lookupMeter('m2')!.fair).toBe(true);
    expect(db.staticMacBindings.map((s) => [s.logical_port, s.ip.text, s.mac])).toEqual([['lr0-ext', '172.16.0.254', 0xeeff]]);
    expect(db.global?.options.get('ovnts_test')).toBe('yes');
  });

  test('modifications and deletions across transactions replay like ovsdb-server', () => {
    modify(sb);
    const dump = sb.dump();
    // The server's own file: schema plus one diff transaction per command since creation.
    const live = readOvsdbFile(execFileSync('cat', [sb.file]));
    expect(live.transactions).toBeGreaterThan(80);
    expect(rawTables(NbDatabase.fromRaw(live.raw).raw)).toEqual(dump);
    // And the compacted backup.
    const db = loadNb(sb.backup());
    expect(rawTables(db.raw)).toEqual(dump);
    expect(db.lookupPort('q1')).toBeUndefined();
    expect(db.lookupLoadBalancer('lb2')).toBeUndefined();
    expect(db.lookupLoadBalancerGroup('lbg0')!.load_balancer).toEqual([]);
    expect(db.lookupPortGroup('pg1')!.ports.map((p) => p.name)).toEqual(['p1']);
    expect(db.lookupSwitch('sw0')!.config.mcastQuerier).toBe(true);
    expect(db.lookupPort('p1')!.port_security).toEqual([]);
    expect(db.lookupSwitch('sw2')).toBeUndefined();
    // `ovsdb-client dump -f json` text loads too (into the embedded schema, which adds ACL.tier).
    const text = execFileSync('ovsdb-client', ['dump', '-f', 'json', sb.db, 'OVN_Northbound'], { encoding: 'utf8' });
    const fromDump = rawTables(loadNb(text).raw);
    for (const acl of Object.values(fromDump.ACL ?? {})) {
      expect(acl.tier).toBe('0');
      delete acl.tier;
    }
    expect(fromDump).toEqual(dump);
  });

  test('a file we write opens in real ovsdb-tool, which reads the same rows back', () => {
    const db = loadNb(sb.backup());
    const path = join(sb.dir, 'ours.db');
    const compacted = join(sb.dir, 'ours-compacted.db');
    writeFileSync(path, writeOvsdbFile(db.raw, { comment: 'ovn-ts' }));
    // ovsdb-tool compact parses, checks constraints and references, and writes its own form.
    execFileSync('ovsdb-tool', ['compact', path, compacted], { stdio: 'ignore' });
    expect(rawTables(loadNbFile(compacted).raw)).toEqual(rawTables(db.raw));
    const q = JSON.parse(
      execFileSync('ovsdb-tool', ['query', path, '["OVN_Northbound",{"op":"select","table":"Logical_Switch","where":[],"columns":["name"]}]'], {
        encoding: 'utf8',
      }),
    ) as { rows: { name: string }[] }[];
    expect(q[0]!.rows.map((r) => r.name).sort()).toEqual(db.switches.map((s) => s.name).sort());
  });
});
