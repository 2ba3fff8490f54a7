/**
 * Computing a chassis's OpenFlow tables from the southbound database: the runtime data, then
 * lflow.c's and physical.c's flows into one desired flow table, with the group and meter tables
 * they allocate; and printing them as `ovs-ofctl -O OpenFlow15 --no-stats dump-flows br-int` /
 * `dump-groups` print them.
 */
import { formatMatch, formatGroup, formatGroupProps, parseGroupProps } from '@ovnts/openflow';
import { ExtendTable } from './extend-table.js';
import { DesiredFlowTable, type DesiredFlow } from './flow-table.js';
import { ConjIds, lflowRun, type LflowContext } from './lflow.js';
import { formatOfActions } from './of-actions.js';
import { Physical } from './physical.js';
import { buildRuntime, pgMember, type ChassisConfig, type ClusterFacts, type Runtime } from './runtime.js';
import type { SbDatabase } from '@ovnts/ovn';

/** A chassis's computed tables (and what computed them, for incremental updates). */
export interface ChassisTables {
  /** The southbound database they were computed from. */
  sb: SbDatabase;
  /** The chassis's configuration. */
  readonly config: ChassisConfig;
  /** The cluster facts. */
  facts: ClusterFacts;
  /** Runtime data. */
  rt: Runtime;
  /** Desired flows. */
  readonly flows: DesiredFlowTable;
  /** Group ids and texts. */
  readonly groups: ExtendTable;
  /** Meter ids and names. */
  readonly meters: ExtendTable;
  /** The logical-flow context. */
  lctx: LflowContext;
  /** The physical builder. */
  physical: Physical;
}

/** The lookups the logical-flow translation needs, from the southbound database. */
export function lflowContext(sb: SbDatabase, rt: Runtime, flows: DesiredFlowTable, groups: ExtendTable, meters: ExtendTable, conj = new ConjIds(), refs = new Map<string, Set<string>>()): LflowContext {
  const mcKeys = new Map<number, Map<string, number>>();
  for (const mc of sb.multicastGroups) {
    let m = mcKeys.get(mc.datapath.tunnelKey);
    if (!m) mcKeys.set(mc.datapath.tunnelKey, (m = new Map()));
    m.set(mc.name, mc.tunnelKey);
  }
  return {
    sb,
    rt,
    flows,
    groups,
    meters,
    conj,
    addressSets: new Map(sb.addressSets.map((a) => [a.name, a.addresses])),
    // ovn-controller expands port groups to their local ports only (`expr_const_sets_add_strings`).
    portGroups: new Map(sb.portGroups.map((p) => [p.name, p.ports.filter((n) => pgMember(rt, n))])),
    mcKeys,
    dhcpOpts: new Map(sb.dhcpOptions.map((o) => [o.name, { code: o.code, type: o.type }])),
    dhcpv6Opts: new Map(sb.dhcpv6Options.map((o) => [o.name, { code: o.code, type: o.type }])),
    refs,
  };
}

/** Compute every flow of one chassis (ovn-controller's full recompute). */
export function computeChassisTables(sb: SbDatabase, config: ChassisConfig, facts: ClusterFacts): ChassisTables {
  const rt = buildRuntime(sb, config, facts);
  const flows = new DesiredFlowTable();
  const groups = new ExtendTable();
  const meters = new ExtendTable();
  const lctx = lflowContext(sb, rt, flows, groups, meters);
  lflowRun(lctx);
  const physical = new Physical(sb, rt, flows);
  physical.run();
  return { sb, config, facts, rt, flows, groups, meters, lctx, physical };
}

/** One flow as `ovs-ofctl --no-stats dump-flows` prints it (OpenFlow 1.5). */
export function formatDumpFlow(f: Pick<DesiredFlow, 'table' | 'priority' | 'cookie' | 'match' | 'actions'>): string {
  const cookie = f.cookie ? `cookie=0x${f.cookie.toString(16)}, ` : '';
  const table = f.table ? `table=${f.table}, ` : '';
  return ` ${cookie}${table}${formatMatch(f.match, f.priority)} actions=${formatOfActions(f.actions)}`;
}

/** The installed flows (of `table` only, when given) in table order, then priority (highest first), then text. */
export function dumpFlows(t: DesiredFlowTable, table?: number): string[] {
  const rows: { f: DesiredFlow; text: string }[] = [];
  for (const f of t.installed()) if (table === undefined || f.table === table) rows.push({ f, text: formatDumpFlow(f) });
  rows.sort((a, b) => a.f.table - b.f.table || b.f.priority - a.f.priority || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return rows.map((r) => r.text);
}

/** The groups as `ovs-ofctl dump-groups` prints them (`group_id=N,type=select,...`). */
export function dumpGroups(groups: ExtendTable): string[] {
  return groups.entries().map((e) => {
    const { group, props } = parseGroupProps(`group_id=${e.id},${e.name}`);
    const text = formatGroup(group);
    const at = text.indexOf(',bucket=');
    return at < 0 ? text + formatGroupProps(props) : text.slice(0, at) + formatGroupProps(props) + text.slice(at);
  });
}
