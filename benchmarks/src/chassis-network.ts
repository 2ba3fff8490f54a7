/**
 * The OVN-Kubernetes-shaped network the chassis benchmarks build (`@ovnts/testkit` nbgen, the
 * topology of ../shared/bench/ovn-northd-baseline.sh), with the incremental changes they apply,
 * and the chassis that hosts node-0's pods.
 */
import { mapDatum, scalarDatum, setDatum, type NbBuilder, type SbDatabase } from '@ovnts/ovn';
import { clusterConfig, parseChassisMap, type ChassisConfig, type ClusterFacts } from '@ovnts/chassis';
import { ovnkBuilder, type OvnKParams } from '@ovnts/testkit';
import { BenchmarkError } from './harness.js';

/** The chassis that hosts node-0's pods. */
export const CHASSIS = 'hv-node-0';
/** The pod the incremental change adds. */
export const NEW_POD = 'pod-0-new';

/** The northbound network of a size, with options fixed as the oracle fixes them; `pod` / `acl` add the incremental changes. */
export function network(p: OvnKParams, extra: { pod?: boolean; acl?: boolean } = {}): NbBuilder {
  const nb = ovnkBuilder(p);
  const raw = nb.toRaw();
  const byName = (table: string, name: string) => {
    for (const [uuid, row] of raw.rows(table)) if (row.get('name')?.keys[0] === name) return { uuid, table };
    throw new BenchmarkError(`chassis benchmark: no ${table} ${name}`);
  };
  for (const [, row] of raw.rows('NB_Global')) {
    row.set('nb_cfg', scalarDatum(1000));
    row.set('options', mapDatum([['svc_monitor_mac', '0a:00:00:00:00:fe'], ['mac_prefix', '0a:00:00']]));
  }
  if (extra.pod) {
    const addr = '0a:58:0a:80:00:fe 10.128.0.254';
    const lsp = nb.insert('Logical_Switch_Port', { name: scalarDatum(NEW_POD), addresses: setDatum([addr]), port_security: setDatum([addr]) });
    nb.addRef(byName('Logical_Switch', 'node-0'), 'ports', lsp);
    nb.addRef(byName('Port_Group', 'pg_ns0'), 'ports', lsp);
    const as = byName('Address_Set', 'as_ns0');
    nb.set(as, 'addresses', setDatum([...raw.get('Address_Set', as.uuid)!.get('addresses')!.keys, '10.128.0.254']));
  }
  if (extra.acl) nb.acl(byName('Port_Group', 'pg_ns0'), { direction: 'to-lport', priority: 1002, match: 'outport == @pg_ns0 && tcp.dst == 22', action: 'drop' });
  return nb;
}

/** The chassis hosting node-0's pods (and the new pod), with the cluster facts. */
export function benchChassis(sb: SbDatabase, p: OvnKParams): { member: ChassisConfig; facts: ClusterFacts } {
  const map = parseChassisMap([...Array(p.pods).keys()].map((i) => `pod-0-${i} ${CHASSIS} 192.168.0.1`).concat(`${NEW_POD} ${CHASSIS}`).join('\n'), 'bench');
  const cluster = clusterConfig(map, {}, sb);
  return { member: cluster.members[0]!, facts: cluster.facts };
}

/** Retained memory: V8 heap plus ArrayBuffer backing stores (off-heap for typed arrays over 64 bytes). */
export function retained(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
