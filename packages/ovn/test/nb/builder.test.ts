import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { NbBuilder, NbError, loadNb, writeOvsdbFile } from '../../src/nb/index.js';
import { DEMO_DB, rawTables } from './helpers.js';

function nbError(f: () => unknown): NbError {
  try {
    f();
  } catch (e) {
    if (e instanceof NbError) return e;
    throw e;
  }
  assert.fail('expected an NbError');
}

/** The demo topology of fixtures/nb/demo.sh, through the builder. */
function demo(): NbBuilder {
  const nb = new NbBuilder();
  const sw0 = nb.logicalSwitch('sw0', { subnet: '10.0.0.0/24' });
  sw0.port('vm1', { addresses: ['00:00:00:00:00:01 10.0.0.11'], portSecurity: ['00:00:00:00:00:01 10.0.0.11'] });
  sw0.port('vm2', { addresses: ['00:00:00:00:00:02 10.0.0.12'], portSecurity: ['00:00:00:00:00:02 10.0.0.12'] });
  const sw1 = nb.logicalSwitch('sw1', { subnet: '10.0.1.0/24' });
  sw1.port('vm3', { addresses: ['00:00:00:00:00:03 10.0.1.13'] });
  const lr0 = nb.router('lr0');
  nb.connect(sw0, lr0, { mac: '00:00:00:00:ff:01', networks: ['10.0.0.1/24'] });
  nb.connect(sw1, lr0, { mac: '00:00:00:00:ff:02', networks: ['10.0.1.1/24'] });
  nb.acl(sw0, { direction: 'to-lport', priority: 1000, match: 'ip4 && tcp.dst == 22', action: 'drop' });
  nb.acl(sw0, { direction: 'from-lport', priority: 100, match: 'ip4', action: 'allow-related' });
  const lb = nb.loadBalancer('lb0', { vips: { '10.0.0.100:80': '10.0.0.11:80,10.0.1.13:80' }, protocol: 'tcp' });
  sw0.addLoadBalancer(lb);
  lr0.addLoadBalancer(lb);
  return nb;
}

/** Rows as (table, name-ish) -> columns with uuids replaced by the referenced row's name, to compare independent of uuids. */
function shape(db: ReturnType<NbBuilder['build']>): unknown {
  const sw = db.switches.map((s) => ({
    name: s.name,
    other_config: [...s.other_config],
    ports: s.ports
      .map((p) => ({ name: p.name, type: p.type, addresses: p.addresses.map((a) => a.text), ps: p.port_security.map((x) => x.text), options: [...p.options] }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    acls: s.acls.map((a) => [a.direction, a.priority, a.match, a.action, a.tier, a.log]).sort(),
    lbs: s.load_balancer.map((l) => [l.name, [...l.vips], l.protocol]),
  }));
  const lr = db.routers.map((r) => ({
    name: r.name,
    ports: r.ports.map((p) => [p.name, p.mac, p.networks.map((n) => n.text)]).sort(),
    lbs: r.load_balancer.map((l) => l.name),
  }));
  return { sw: sw.sort((a, b) => a.name.localeCompare(b.name)), lr };
}

describe('NbBuilder', () => {
  test('builds the same topology as ovn-nbctl did for the demo fixture', () => {
    const built = demo().build();
    const loaded = loadNb(readFileSync(DEMO_DB));
    expect(shape(built)).toEqual(shape(loaded));
  });

  test('uuids are deterministic and the file writer round-trips', () => {
    const a = demo().build();
    const b = demo().build();
    expect(rawTables(a.raw)).toEqual(rawTables(b.raw));
    expect(rawTables(loadNb(writeOvsdbFile(a.raw)).raw)).toEqual(rawTables(a.raw));
  });

  test('every feature: port groups, address sets, NAT, routes, policies, DHCP, DNS, meters, QoS, gateway chassis', () => {
    const nb = new NbBuilder();
    nb.globalOptions({ mac_prefix: '0a:00:00' });
    const sw = nb.logicalSwitch('sw', { subnet: '10.0.0.0/24', excludeIps: '10.0.0.1..10.0.0.5', ipv6Prefix: 'fd00::/64', mcastSnoop: true });
    const dhcp = nb.dhcpOptions('10.0.0.0/24', { lease_time: '3600', router: '10.0.0.1' });
    const p1 = sw.port('p1', { addresses: ['00:00:00:00:00:01 10.0.0.11', 'unknown'], portSecurity: ['00:00:00:00:00:01 10.0.0.0/24'], dhcpv4Options: dhcp });
    const p2 = sw.port('p2', { addresses: ['dynamic'] });
    sw.port('c1', { parentName: 'p1', tag: 7, addresses: ['00:00:00:00:00:c1 dynamic'] });
    sw.port('ln', { type: 'localnet', addresses: ['unknown'], options: { network_name: 'phys' }, tag: 100 });
    sw.addDns(nb.dns({ 'a.example': '10.0.0.11' }));
    nb.addressSet('as1', ['10.0.0.11', '10.0.0.0/24', 'fd00::1', '00:00:00:00:00:01']);
    const pg = nb.portGroup('pg1', [p1, p2]);
    nb.meter('acl-meter', { unit: 'pktps', bands: [{ rate: 10, burstSize: 5 }] });
    nb.acl(pg, { direction: 'to-lport', priority: 1001, match: 'outport == @pg1 && ip4.src == $as1', action: 'pass', tier: 2, log: true, name: 'np', severity: 'info', meter: 'acl-meter' });
    nb.acl(sw, { direction: 'from-lport', priority: 1000, match: 'ip4', action: 'allow-related', applyAfterLb: true, label: 7 });
    nb.qos(sw, { direction: 'from-lport', priority: 10, match: 'ip4', dscp: 10, rate: 100, burst: 10 });
    const lr = nb.router('lr', { chassis: 'hv1', mcastRelay: true, lbForceSnatIp: '172.16.0.1' });
    nb.connect(sw, lr, { mac: '00:00:00:00:ff:01', networks: ['10.0.0.1/24', 'fd00::1/64'] });
    lr.port('lr-ext', { mac: '00:00:00:00:ff:02', networks: ['172.16.0.1/24'], gatewayChassis: [{ chassis: 'hv1', priority: 10 }] });
    nb.nat(lr, { type: 'snat', externalIp: '172.16.0.1', logicalIp: '10.0.0.0/24', externalPortRange: '1000-2000' });
    nb.nat(lr, { type: 'dnat_and_snat', externalIp: '172.16.0.10', logicalIp: '10.0.0.11', logicalPort: 'p1', externalMac: '00:00:00:00:aa:01' });
    nb.route(lr, { prefix: '0.0.0.0/0', nexthop: '172.16.0.254' });
    nb.route(lr, { prefix: '10.0.0.0/24', nexthop: '172.16.0.253', policy: 'src-ip', outputPort: 'lr-ext', ecmpSymmetricReply: true });
    nb.policy(lr, { priority: 100, match: 'ip4.src == 10.0.0.11', action: 'reroute', nexthops: ['172.16.0.253'], pktMark: 3 });
    const lb = nb.loadBalancer('lb', { vips: { '[fd00::100]:80': '[fd00::11]:80', '10.0.0.100': '10.0.0.11' }, affinityTimeout: 30, hairpinSnatIp: '169.254.169.5', reject: true, skipSnat: true, selectionFields: ['ip_src'] });
    sw.addLoadBalancerGroup(nb.loadBalancerGroup('g', [lb]));
    nb.staticMacBinding('lr-ext', '172.16.0.254', '00:00:00:00:ee:ff', true);
    const db = nb.build();

    const s = db.lookupSwitch('sw')!;
    expect(s.config).toMatchObject({ mcastSnoop: true, excludeIps: [{ from: 0x0a000001, to: 0x0a000005 }] });
    expect(s.config.ipv6Prefix?.plen).toBe(64);
    expect(db.lookupPort('p1')!.dhcpv4_options?.options.get('router')).toBe('10.0.0.1');
    expect(db.lookupPort('c1')!.addresses[0]).toMatchObject({ kind: 'dynamic', mac: 0xc1 });
    expect(db.lookupPort('ln')!.tag).toBe(100);
    const pga = db.lookupPortGroup('pg1')!.acls[0]!;
    expect([pga.action, pga.tier, pga.log, pga.severity, pga.meter]).toEqual(['pass', 2, true, 'info', 'acl-meter']);
    expect(s.acls[0]!.applyAfterLb).toBe(true);
    const r = db.lookupRouter('lr')!;
    expect(r.config).toMatchObject({ chassis: 'hv1', mcastRelay: true });
    expect(r.ports.find((p) => p.name === 'lr-ext')!.gateway_chassis[0]).toMatchObject({ name: 'lr-ext-hv1', chassis_name: 'hv1', priority: 10 });
    expect(r.nat.map((n) => n.type).sort()).toEqual(['dnat_and_snat', 'snat']);
    expect(r.static_routes.find((x) => x.policy === 'src-ip')!.ecmpSymmetricReply).toBe(true);
    expect(r.policies[0]!.pktMark).toBe(3);
    const l = s.load_balancer_group[0]!.load_balancer[0]!;
    expect(l.config).toMatchObject({ affinityTimeout: 30, reject: true, skipSnat: true });
    expect(l.vipList.map((v) => v.vip.ip.family).sort()).toEqual([4, 6]);
    expect(db.meters[0]!.bands[0]).toMatchObject({ rate: 10, burst_size: 5, action: 'drop' });
    expect(db.global?.options.get('mac_prefix')).toBe('0a:00:00');
    expect(db.staticMacBindings[0]!.override_dynamic_mac).toBe(true);
    expect(s.qos_rules[0]!.bandwidth.get('rate')).toBe(100);
  });

  test('the same validation as the loader, errors naming table/row/column', () => {
    let nb = new NbBuilder();
    nb.logicalSwitch('sw').port('p', { addresses: ['00:00:00:00:00:01 10.0.0.300'] });
    let e = nbError(() => nb.build());
    expect([e.table, e.rowName, e.column, e.detail]).toEqual(['Logical_Switch_Port', 'p', 'addresses', 'invalid IP address "10.0.0.300"']);

    nb = new NbBuilder();
    const sw = nb.logicalSwitch('sw');
    sw.port('p');
    sw.port('p');
    e = nbError(() => nb.build());
    expect([e.table, e.column]).toEqual(['Logical_Switch_Port', 'name']);

    nb = new NbBuilder();
    nb.acl(nb.logicalSwitch('sw'), { direction: 'to-lport', priority: 70000, match: '1', action: 'drop' });
    e = nbError(() => nb.build());
    expect([e.table, e.column, e.detail]).toEqual(['ACL', 'priority', '70000 is out of range 0..32767']);

    nb = new NbBuilder();
    nb.acl(nb.logicalSwitch('sw'), { direction: 'to-lport', priority: 1, match: '1', action: 'drop', tier: 4 });
    expect(nbError(() => nb.build()).detail).toBe('4 is out of range 0..3');

    nb = new NbBuilder();
    nb.router('lr').port('lrp', { mac: '00:00:00:00:00:01', networks: ['10.0.0.1/24', 'fe80::/129'] });
    e = nbError(() => nb.build());
    expect([e.table, e.rowName, e.column, e.detail]).toEqual(['Logical_Router_Port', 'lrp', 'networks', 'invalid CIDR "fe80::/129": bad prefix length "129"']);

    nb = new NbBuilder();
    nb.router('lr').port('lrp', { mac: '00:00:00:00:00:01', networks: [] });
    expect(nbError(() => nb.build()).detail).toBe('has 0 elements, needs at least 1');

    nb = new NbBuilder();
    nb.logicalSwitch('sw');
    expect(nbError(() => nb.logicalSwitch('sw')).message).toBe('table Logical_Switch (name "sw"): a row named "sw" already exists');
    expect(nb.check()).toEqual([]);
  });

  test('a port listed in two switches is rejected', () => {
    const nb = new NbBuilder();
    const a = nb.logicalSwitch('a');
    const b = nb.logicalSwitch('b');
    const p = a.port('p');
    nb.addRef(b, 'ports', p);
    const e = nbError(() => nb.build());
    expect([e.table, e.column]).toEqual(['Logical_Switch', 'ports']);
    expect(e.detail).toMatch(/logical switch port "p" .* is also a port of "a"/);
  });

  test('ambiguous switch names need a uuid to look up', () => {
    const nb = new NbBuilder();
    const a = nb.logicalSwitch('a');
    nb.insert('Logical_Switch', { name: { keys: ['a'] } });
    const db = nb.build();
    expect(nbError(() => db.lookupSwitch('a')).detail).toBe('multiple rows named "a": use a uuid');
    expect(db.lookupSwitch(a.uuid)!.uuid).toBe(a.uuid);
  });
});
