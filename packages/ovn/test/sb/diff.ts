/**
 * Comparing two southbound databases table by table, without row uuids (which differ between any
 * two runs of ovn-northd): every row becomes one line of text naming what it is about by name
 * (datapaths by `external_ids:name`, ports by `logical_port`), and two databases agree on a table
 * when the sorted lines are equal.
 */
import { lflowDatapaths, type SbDatabase } from '@ovnts/ovn';

const m = (x: ReadonlyMap<string, string>, skip: readonly string[] = []) =>
  [...x]
    .filter(([k]) => !skip.includes(k))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
const l = (xs: readonly string[]) => [...xs].sort().join('|');

/** What the comparison looks at. */
export type SbTable =
  | 'datapaths'
  | 'keys'
  | 'portBindings'
  | 'multicastGroups'
  | 'logicalFlows'
  | 'addressSets'
  | 'portGroups'
  | 'loadBalancers'
  | 'dhcp'
  | 'dns'
  | 'meters'
  | 'ipMulticast'
  | 'haChassisGroups'
  | 'staticMacBindings'
  | 'global';

/** The rows of `table` as sorted text lines. */
export function sbLines(sb: SbDatabase, table: SbTable): string[] {
  const out: string[] = [];
  switch (table) {
    case 'keys':
      for (const d of sb.datapaths) out.push(`dp ${d.name} ${d.tunnelKey}`);
      for (const p of sb.portBindings) out.push(`port ${p.logicalPort} ${p.tunnelKey}`);
      for (const g of sb.multicastGroups) out.push(`mc ${g.datapath.name} ${g.name} ${g.tunnelKey}`);
      break;
    case 'datapaths':
      for (const d of sb.datapaths) out.push(`${d.name} ${d.kind} ${m(d.externalIds, ['logical-switch', 'logical-router'])} lbs=${d.loadBalancers.length}`);
      break;
    case 'portBindings':
      for (const p of sb.portBindings) {
        out.push(
          [
            p.logicalPort,
            `dp=${p.datapath.name}`,
            `type=${p.type}`,
            `options={${m(p.options)}}`,
            `mac=${l(p.mac)}`,
            `ps=${l(p.portSecurity)}`,
            `nat=${l(p.natAddresses)}`,
            `parent=${p.parentPort ?? ''}`,
            `tag=${p.tag ?? ''}`,
            `ha=${p.haChassisGroup?.name ?? ''}`,
            `gw=${p.gatewayChassis.length}`,
            `ids={${m(p.externalIds)}}`,
            `up=${p.up ?? ''}`,
            `req=${p.requestedChassis?.name ?? ''}`,
          ].join(' '),
        );
      }
      break;
    case 'multicastGroups':
      for (const g of sb.multicastGroups) out.push(`${g.datapath.name} ${g.name} ${l(g.ports.map((p) => p.logicalPort))}`);
      break;
    case 'logicalFlows':
      for (const f of sb.logicalFlows) {
        out.push(
          [
            l(lflowDatapaths(f).map((d) => d.name)),
            f.pipeline,
            f.tableId,
            f.priority,
            JSON.stringify(f.match),
            JSON.stringify(f.actions),
            m(f.externalIds, ['source', 'stage-hint']),
            m(f.tags),
            f.controllerMeter ?? '',
          ].join(' '),
        );
      }
      break;
    case 'addressSets':
      for (const a of sb.addressSets) out.push(`${a.name} ${l(a.addresses)}`);
      break;
    case 'portGroups':
      for (const g of sb.portGroups) out.push(`${g.name} ${l(g.ports)}`);
      break;
    case 'loadBalancers':
      for (const b of sb.loadBalancers) {
        const dps = [...b.datapaths, ...(b.datapathGroup?.datapaths ?? [])].map((d) => d.name);
        out.push(`${b.name} ${b.protocol ?? ''} {${m(b.vips)}} {${m(b.options)}} ${l(dps)} group=${b.datapathGroup !== undefined}`);
      }
      break;
    case 'dhcp':
      for (const o of sb.dhcpOptions) out.push(`v4 ${o.name} ${o.code} ${o.type}`);
      for (const o of sb.dhcpv6Options) out.push(`v6 ${o.name} ${o.code} ${o.type}`);
      break;
    case 'dns':
      for (const d of sb.dns) out.push(`{${m(d.records)}} ${l(d.datapaths.map((x) => x.name))}`);
      break;
    case 'meters':
      for (const x of sb.meters) out.push(`${x.name.replace(/__[0-9a-f-]{36}$/, '__ACL')} ${x.unit} ${x.bands.map((b) => `${b.action}/${b.rate}/${b.burstSize}`).join(',')}`);
      break;
    case 'ipMulticast':
      for (const x of sb.ipMulticast) {
        out.push(
          `${x.datapath.name} ${x.enabled} ${x.querier} ${x.ethSrc} ${x.ip4Src} ${x.ip6Src} ${x.tableSize} ${x.idleTimeout} ${x.queryInterval} ${x.queryMaxResp} ${x.seqNo}`,
        );
      }
      break;
    case 'haChassisGroups':
      for (const g of sb.haChassisGroups) {
        out.push(`${g.name} ${l(g.haChassis.map((h) => `${h.externalIds.get('chassis-name') ?? ''}:${h.priority}:${h.chassis?.name ?? ''}`))}`);
      }
      break;
    case 'staticMacBindings':
      for (const x of sb.staticMacBindings) out.push(`${x.logicalPort} ${x.ip} ${x.mac} ${x.overrideDynamicMac} ${x.datapath?.name ?? ''}`);
      break;
    case 'global':
      out.push(`options={${m(sb.global.options, ['mac_prefix', 'svc_monitor_mac'])}} ipsec=${sb.global.ipsec}`);
      break;
  }
  return out.sort();
}

/** Every table `sbLines` knows. */
export const SB_TABLES: readonly SbTable[] = [
  'keys',
  'datapaths',
  'portBindings',
  'multicastGroups',
  'logicalFlows',
  'addressSets',
  'portGroups',
  'loadBalancers',
  'dhcp',
  'dns',
  'meters',
  'ipMulticast',
  'haChassisGroups',
  'staticMacBindings',
  'global',
];

/** Lines only in `a` and only in `b`, per table (tables that agree are left out). */
export function sbDiff(a: SbDatabase, b: SbDatabase, tables: readonly SbTable[] = SB_TABLES): Map<SbTable, { onlyA: string[]; onlyB: string[] }> {
  const out = new Map<SbTable, { onlyA: string[]; onlyB: string[] }>();
  for (const t of tables) {
    const la = sbLines(a, t);
    const lb = sbLines(b, t);
    const cb = new Map<string, number>();
    for (const x of lb) cb.set(x, (cb.get(x) ?? 0) + 1);
    const onlyA: string[] = [];
    for (const x of la) {
      const c = cb.get(x) ?? 0;
      if (c) cb.set(x, c - 1);
      else onlyA.push(x);
    }
    const onlyB = [...cb].flatMap(([x, c]) => Array<string>(c).fill(x));
    if (onlyA.length || onlyB.length) out.set(t, { onlyA, onlyB });
  }
  return out;
}

/** A readable report of `sbDiff` (the first `max` lines of each side per table). */
export function formatSbDiff(d: ReturnType<typeof sbDiff>, max = 8): string {
  const parts: string[] = [];
  for (const [t, { onlyA, onlyB }] of d) {
    parts.push(`--- ${t}: ${onlyA.length} only in ours, ${onlyB.length} only in theirs`);
    for (const x of onlyA.slice(0, max)) parts.push(`  ours:   ${x}`);
    for (const x of onlyB.slice(0, max)) parts.push(`  theirs: ${x}`);
  }
  return parts.join('\n');
}
