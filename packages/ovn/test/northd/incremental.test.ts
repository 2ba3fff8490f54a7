/**
 * Incremental northd (issue 12, item 3): along random sequences of northbound transactions —
 * pods added, removed and readdressed, ACLs on switches and port groups, port group and address
 * set members, load balancer backends, VIPs, health checks and attachments, router NATs, static routes, a third
 * node switch, a join switch with its router port, a localnet port, and (falling back to a full
 * recompute) a meter and NB_Global options — `IncrementalNorthd.update` gives exactly what a
 * fresh `compileNorthd` of the same database with the same previous southbound database gives:
 * the flow table row by row in order (stage, priority, match, actions, hint, port tag, source,
 * datapath group), and the whole southbound database (every row of every table, uuids and tunnel
 * keys included). Rows keep uuids derived from names, as an OVSDB server keeps them, so the
 * database changes only where the transaction says.
 *
 * NORTHD_INC_SEED and NORTHD_INC_RUNS replay a failure or run longer; the seed is printed.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compileNorthd, IncrementalNorthd, mapDatum, NB_SCHEMA, NbDatabase, RawDb, scalarDatum, setDatum, type Datum, type SbDatabase } from '@ovnts/ovn';
import { uuidFrom } from '@ovnts/ovn/internal';
import { ovnkBuilder } from '@ovnts/testkit';
import { canon, rowLines, sbLines } from './exact.js';

const PODS = 9; // three per node switch
const ADDRS = ['10.128.0.2', '10.128.0.3', '10.128.0.4', '10.128.1.2', '10.128.1.3', '10.128.1.4', '10.128.2.2', '10.128.2.3', '10.128.2.4'];
const BACKENDS = ['10.128.0.2:8080', '10.128.0.3:8080', '10.128.1.2:8080', '10.128.2.4:8080'];
const VIPS = ['172.30.0.1:80', '172.30.0.2:443', '172.30.0.3:53'];
const ACLS = [
  { pg: 0, direction: 'to-lport', priority: 1001, match: 'outport == @pg0 && ip4.src == $as0 && tcp.dst == {80, 443}', action: 'allow-related' },
  { pg: 1, direction: 'to-lport', priority: 1001, match: 'outport == @pg1 && ip4.src == $as1', action: 'allow' },
  { pg: 0, direction: 'to-lport', priority: 1000, match: 'outport == @pg0 && ip4', action: 'drop' },
  { pg: 1, direction: 'from-lport', priority: 1002, match: 'inport == @pg1 && udp.dst == 53', action: 'reject' },
  { pg: -1, direction: 'from-lport', priority: 900, match: 'ip4.dst == 8.8.8.8', action: 'drop' },
] as const;
const NATS = [
  { type: 'snat', external_ip: '172.16.0.10', logical_ip: '10.128.0.0/16' },
  { type: 'dnat_and_snat', external_ip: '172.16.0.11', logical_ip: '10.128.1.2', logical_port: 'pod-3', external_mac: '0a:00:00:00:00:0b' },
  { type: 'dnat', external_ip: '172.16.0.12', logical_ip: '10.128.2.3' },
];
const ROUTES = [
  { ip_prefix: '192.168.0.0/16', nexthop: '100.64.0.2' },
  { ip_prefix: '0.0.0.0/0', nexthop: '100.64.0.3' },
];

/** One northbound state (toggled by the edits). */
interface State {
  pods: boolean[];
  podAddr: boolean[];
  pg: boolean[][];
  as: boolean[][];
  acls: boolean[];
  backends: boolean[];
  vips: boolean[];
  lbOnSwitch: boolean[];
  lbOnRouter: boolean;
  lbGroup: boolean;
  nats: boolean[];
  routes: boolean[];
  node2: boolean;
  join: boolean;
  localnet: boolean;
  meter: boolean;
  global: boolean;
  hc: boolean;
  hcVip: boolean;
}

function initial(): State {
  return {
    pods: Array.from({ length: PODS }, (_x, i) => i % 3 !== 2),
    podAddr: Array<boolean>(PODS).fill(false),
    pg: [Array<boolean>(PODS).fill(true), Array<boolean>(PODS).fill(false)],
    as: [ADDRS.map((_a, i) => i < 3), ADDRS.map(() => false)],
    acls: ACLS.map((_a, i) => i < 2),
    backends: BACKENDS.map((_b, i) => i < 2),
    vips: VIPS.map((_v, i) => i === 0),
    lbOnSwitch: [true, true, false],
    lbOnRouter: false,
    lbGroup: false,
    nats: NATS.map(() => false),
    routes: ROUTES.map(() => false),
    node2: true,
    join: false,
    localnet: false,
    meter: false,
    global: false,
    hc: false,
    hcVip: false,
  };
}

const EDITS = ['pod', 'podAddr', 'pg', 'as', 'acl', 'backend', 'vip', 'lbOnSwitch', 'lbOnRouter', 'lbGroup', 'nat', 'route', 'node2', 'join', 'localnet', 'meter', 'global', 'hc', 'hcVip'] as const;
type Edit = readonly [(typeof EDITS)[number], number, number];

function apply(s: State, [kind, i, j]: Edit): void {
  const flip = (a: boolean[], n: number) => (a[n % a.length] = !a[n % a.length]);
  switch (kind) {
    case 'pod': return void flip(s.pods, i);
    case 'podAddr': return void flip(s.podAddr, i);
    case 'pg': return void flip(s.pg[j % 2]!, i);
    case 'as': return void flip(s.as[j % 2]!, i);
    case 'acl': return void flip(s.acls, i);
    case 'backend': return void flip(s.backends, i);
    case 'vip': return void flip(s.vips, i);
    case 'lbOnSwitch': return void flip(s.lbOnSwitch, i);
    case 'nat': return void flip(s.nats, i);
    case 'route': return void flip(s.routes, i);
    default: s[kind] = !s[kind];
  }
}

/** The raw database of a state, uuids derived from names (stable from one state to the next). */
function rawOf(s: State): RawDb {
  const raw = new RawDb(NB_SCHEMA);
  const row = (table: string, key: string, cols: Record<string, Datum>): string => {
    const uuid = uuidFrom(`${table}:${key}`);
    raw.rows(table).set(uuid, new Map(Object.entries(cols)));
    return uuid;
  };
  const str = (x: string) => scalarDatum(x);
  const set = (xs: string[]) => setDatum(xs);
  const map = (o: Record<string, string>) => mapDatum(Object.entries(o));
  row('NB_Global', 'g', { options: map(s.global ? { ignore_lsp_down: 'false', svc_monitor_mac: '0a:00:00:00:00:fe' } : {}) });
  const nodes = s.node2 ? [0, 1, 2] : [0, 1];
  const lrPorts: string[] = [];
  const swUuids: string[] = [];
  const podUuid = new Map<number, string>();
  for (const n of nodes) {
    lrPorts.push(row('Logical_Router_Port', `rtos-${n}`, { name: str(`rtos-${n}`), mac: str(`0a:58:0a:80:0${n}:01`), networks: set([`10.128.${n}.1/24`]) }));
    const ports = [row('Logical_Switch_Port', `stor-${n}`, { name: str(`stor-${n}`), type: str('router'), addresses: set(['router']), options: map({ 'router-port': `rtos-${n}` }) })];
    for (let p = n * 3; p < n * 3 + 3; p++) {
      if (!s.pods[p]) continue;
      const mac = `0a:58:0a:80:0${n}:${s.podAddr[p] ? 'a' : '0'}${(p % 3) + 2}`;
      const addr = `${mac} ${ADDRS[p]}`;
      const u = row('Logical_Switch_Port', `pod-${p}`, { name: str(`pod-${p}`), addresses: set([addr]), port_security: set([addr]) });
      podUuid.set(p, u);
      ports.push(u);
    }
    if (n === 1 && s.localnet) ports.push(row('Logical_Switch_Port', 'ln-1', { name: str('ln-1'), type: str('localnet'), addresses: set(['unknown']), options: map({ network_name: 'phys' }), tag_request: scalarDatum(100) }));
    const acls = n === 0 && s.acls[4] ? [row('ACL', 'sw-acl', { direction: str(ACLS[4].direction), priority: scalarDatum(ACLS[4].priority), match: str(ACLS[4].match), action: str(ACLS[4].action) })] : [];
    const cols: Record<string, Datum> = { name: str(`node-${n}`), ports: set(ports), acls: set(acls) };
    swUuids.push(row('Logical_Switch', `node-${n}`, cols));
  }
  if (s.join) {
    lrPorts.push(row('Logical_Router_Port', 'rtoj', { name: str('rtoj'), mac: str('0a:58:64:40:00:01'), networks: set(['100.64.0.1/16']) }));
    row('Logical_Switch', 'join', { name: str('join'), ports: set([row('Logical_Switch_Port', 'jtor', { name: str('jtor'), type: str('router'), addresses: set(['router']), options: map({ 'router-port': 'rtoj' }) })]) });
  }
  const vips: [string, string][] = VIPS.filter((_v, i) => s.vips[i]).map((v) => [v, BACKENDS.filter((_b, i) => s.backends[i]).join(',')]);
  // A health check whose own row changes (its VIP) while the load balancer's row does not.
  const hc = s.hc ? [row('Load_Balancer_Health_Check', 'hc0', { vip: str(s.hcVip ? VIPS[0]! : VIPS[1]!), options: map({ interval: '5' }) })] : [];
  const lb = row('Load_Balancer', 'svc0', { name: str('svc0'), vips: mapDatum(vips), protocol: setDatum(['tcp']), health_check: set(hc) });
  const lb1 = row('Load_Balancer', 'svc1', { name: str('svc1'), vips: map({ '172.30.1.1:80': '10.128.0.2:80' }), protocol: setDatum(['tcp']) });
  const grp = s.lbGroup ? [row('Load_Balancer_Group', 'grp', { name: str('grp'), load_balancer: set([lb1]) })] : [];
  nodes.forEach((n, k) => {
    const r = raw.get('Logical_Switch', swUuids[k]!)!;
    r.set('load_balancer', set(s.lbOnSwitch[n] ? [lb] : []));
    r.set('load_balancer_group', set(grp));
  });
  const nats = NATS.filter((_n, i) => s.nats[i]).map((n) => row('NAT', n.external_ip, Object.fromEntries(Object.entries(n).map(([k, v]) => [k, str(v)]))));
  const routes = ROUTES.filter((_r, i) => s.routes[i]).map((r) => row('Logical_Router_Static_Route', r.ip_prefix, { ip_prefix: str(r.ip_prefix), nexthop: str(r.nexthop) }));
  row('Logical_Router', 'lr0', { name: str('lr0'), ports: set(lrPorts), nat: set(nats), static_routes: set(routes), load_balancer: set(s.lbOnRouter ? [lb] : []), load_balancer_group: set(grp) });
  const pgAcls = [0, 1].map((g) => ACLS.flatMap((a, i) => (a.pg === g && s.acls[i] ? [row('ACL', `pg-acl-${i}`, { direction: str(a.direction), priority: scalarDatum(a.priority), match: str(a.match), action: str(a.action), ...(i === 2 && s.meter ? { log: scalarDatum(true), meter: setDatum(['acl-meter']) } : {}) })] : [])));
  [0, 1].forEach((g) => row('Port_Group', `pg${g}`, { name: str(`pg${g}`), ports: set([...podUuid].filter(([p]) => s.pg[g]![p]).map(([, u]) => u)), acls: set(pgAcls[g]!) }));
  [0, 1].forEach((a) => row('Address_Set', `as${a}`, { name: str(`as${a}`), addresses: set(ADDRS.filter((_x, i) => s.as[a]![i])) }));
  if (s.meter) row('Meter', 'acl-meter', { name: str('acl-meter'), unit: str('pktps'), bands: set([row('Meter_Band', 'b', { action: str('drop'), rate: scalarDatum(100) })]) });
  return raw;
}

/** The first difference between two line lists (for a readable failure). */
function firstDiff(a: readonly string[], b: readonly string[]): string | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `line ${i}:\n  incremental ${a[i]}\n  full        ${b[i]}`;
  return undefined;
}

const editArb: fc.Arbitrary<Edit> = fc.tuple(fc.constantFrom(...EDITS), fc.nat(8), fc.nat(1));

describe('incremental northd equals a full compilation', () => {
  test('along random northbound transaction sequences', () => {
    const seed = Number(process.env.NORTHD_INC_SEED ?? Date.now() % 0x7fffffff);
    const numRuns = Number(process.env.NORTHD_INC_RUNS ?? 12);
    console.log(`incremental northd property: seed ${seed}, ${numRuns} runs (NORTHD_INC_SEED=${seed} to replay)`);
    const counts = { steps: 0, incremental: 0, recomputes: 0, rebuilt: 0, segments: 0 };
    fc.assert(
      fc.property(fc.array(fc.array(editArb, { minLength: 1, maxLength: 3 }), { minLength: 4, maxLength: 10 }), (txns) => {
        const s = initial();
        let full = compileNorthd(NbDatabase.fromRaw(rawOf(s)));
        const inc = new IncrementalNorthd(NbDatabase.fromRaw(rawOf(s)));
        expect(rowLines(inc.result)).toEqual(rowLines(full));
        txns.forEach((txn, step) => {
          for (const e of txn) apply(s, e);
          const u = inc.update(NbDatabase.fromRaw(rawOf(s)));
          full = compileNorthd(NbDatabase.fromRaw(rawOf(s)), { previous: full.sb });
          counts.steps++;
          if (u.mode === 'incremental') {
            counts.incremental++;
            counts.rebuilt += u.rebuilt;
            counts.segments += u.segments;
          } else counts.recomputes++;
          const what = `step ${step}: ${JSON.stringify(txn)} (${u.mode}, ${u.rebuilt}/${u.segments} segments rebuilt)`;
          const d = firstDiff(rowLines(inc.result), rowLines(full));
          expect(d, `flow table, ${what}`).toBeUndefined();
          const ds = firstDiff(sbLines(inc.result.sb), sbLines(full.sb));
          expect(ds, `southbound, ${what}`).toBeUndefined();
        });
      }),
      { seed, numRuns },
    );
    console.log(`incremental northd property: ${counts.steps} updates, ${counts.incremental} incremental (${counts.rebuilt} of ${counts.segments} segments rebuilt), ${counts.recomputes} recomputed`);
    expect(counts.incremental).toBeGreaterThan(0);
    expect(counts.recomputes).toBeGreaterThan(0);
    expect(counts.rebuilt).toBeLessThan(counts.segments);
  }, 120_000);

  test('the comparison fails on a single differing flow', () => {
    const s = initial();
    const a = compileNorthd(NbDatabase.fromRaw(rawOf(s)));
    const b = compileNorthd(NbDatabase.fromRaw(rawOf(s)));
    const la = rowLines(a);
    expect(firstDiff(la, rowLines(b))).toBeUndefined();
    const i = la.length >> 1;
    const changed = la.map((l, k) => {
      if (k !== i) return l;
      const row = JSON.parse(l) as unknown[];
      row[3] = `${String(row[3])} drop;`; // the actions of one flow
      return JSON.stringify(row);
    });
    expect(changed[i]).not.toBe(la[i]);
    expect(firstDiff(changed, rowLines(b))).toContain(`line ${i}:`);
  });

  test('a one-pod change gives a small southbound delta: unchanged rows keep their uuids', () => {
    const raw = ovnkBuilder({ nodes: 10, pods: 20, lbAttach: 'switch' }).toRaw();
    const inc = new IncrementalNorthd(NbDatabase.fromRaw(raw));
    const before = byUuid(inc.result.sb);
    // What ovn-kubernetes writes for a new pod: the port, its switch's port list, its namespace's
    // port group and address set.
    const next = new RawDb(raw.schema);
    for (const [t, rows] of raw.tables) next.tables.set(t, new Map(rows));
    const sw = [...next.rows('Logical_Switch')].find(([, r]) => r.get('name')!.keys[0] === 'node-3')!;
    const pg = [...next.rows('Port_Group')][0]!;
    const as = [...next.rows('Address_Set')][0]!;
    const addr = '0a:58:0a:03:00:f0 10.3.0.240';
    const lsp = uuidFrom('new pod');
    next.rows('Logical_Switch_Port').set(lsp, new Map([['name', scalarDatum('new-pod')], ['addresses', setDatum([addr])], ['port_security', setDatum([addr])]]));
    next.rows('Logical_Switch').set(sw[0], new Map([...sw[1], ['ports', setDatum([...sw[1].get('ports')!.keys, lsp])]]));
    next.rows('Port_Group').set(pg[0], new Map([...pg[1], ['ports', setDatum([...pg[1].get('ports')!.keys, lsp])]]));
    next.rows('Address_Set').set(as[0], new Map([...as[1], ['addresses', setDatum([...as[1].get('addresses')!.keys, '10.3.0.240'])]]));
    const prevSb = inc.result.sb;
    const u = inc.update(NbDatabase.fromRaw(next));
    expect(u.mode).toBe('incremental');
    const full = compileNorthd(NbDatabase.fromRaw(next), { previous: prevSb });
    expect(firstDiff(rowLines(inc.result), rowLines(full))).toBeUndefined();
    expect(firstDiff(sbLines(inc.result.sb), sbLines(full.sb))).toBeUndefined();
    expect(u.switches).toBe(1);
    expect(u.routers).toBe(0);
    const after = byUuid(inc.result.sb);
    const added = [...after.keys()].filter((k) => !before.has(k));
    const removed = [...before.keys()].filter((k) => !after.has(k));
    const modified = [...after].filter(([k, v]) => before.has(k) && before.get(k) !== v).map(([k]) => k);
    const tables = (ks: string[]) => ks.map((k) => k.split(' ')[0]).sort().join(',');
    console.log(`one pod added: ${after.size} southbound rows, ${added.length} added (${tables(added)}), ${removed.length} removed, ${modified.length} modified (${tables(modified)})`);
    expect(added.filter((k) => k.startsWith('portBindings ')).length).toBe(1);
    expect(added.filter((k) => k.startsWith('logicalFlows ')).length).toBeGreaterThan(0);
    expect(removed).toEqual([]);
    // The pod's flows, its switch's flood groups, its port group's rows and address sets.
    expect(added.length + modified.length).toBeLessThan(40);
    expect(after.size - added.length).toBe(before.size);
  });
});

/** Southbound rows by `table uuid`, each as its canonical text. */
function byUuid(sb: SbDatabase): Map<string, string> {
  const m = new Map<string, string>();
  for (const [table, rows] of Object.entries(sb)) {
    if (!Array.isArray(rows)) continue;
    for (const r of rows as { uuid: string }[]) m.set(`${table} ${r.uuid}`, JSON.stringify(canon(r)));
  }
  return m;
}
