/**
 * A zone's northbound database as an OVSDB standalone file (`ovnts kube nb`).
 *
 * Design. OVN-Kubernetes puts every ACL it writes in tier 2 (`ACL.tier`, OVN 23.06); the OVN
 * this project is tested against (23.03, its schema installed at
 * /usr/share/ovn/ovn-nb.ovsschema) has no tiers. With one tier in use, tiered evaluation is the
 * same as untiered evaluation, so the file for the installed schema leaves the column out (a copy
 * of the rows with `tier` at its default); ACLs in several tiers cannot be written for 23.03 and
 * are refused. `schema: 'modelled'` writes the schema ovn-ts models (23.03 plus `ACL.tier`), as is.
 */
import { NB_SCHEMA_UPSTREAM, RawDb, writeOvsdbFile } from '@ovnts/ovn';
import { KubeError } from './errors.js';
import type { KubeNetwork, Zone } from './translate.js';

/** Which schema `zoneOvsdbFile` writes. */
export type ExportSchema = 'installed' | 'modelled';

/** The zone of `node` (the only zone when `node` is omitted), or a `KubeError` listing the zones. */
export function zoneOf(net: KubeNetwork, node?: string): Zone {
  const zones = [...net.zones.keys()].join(', ');
  if (node === undefined) {
    if (net.zones.size !== 1) throw new KubeError({ object: 'cluster' }, `the cluster has ${net.zones.size} zones (${zones}); name one`);
    return [...net.zones.values()][0]!;
  }
  const z = net.zones.get(node);
  if (!z) throw new KubeError({ object: 'cluster' }, `no zone ${JSON.stringify(node)} (zones: ${zones})`);
  return z;
}

/** The rows of `raw` with `ACL.tier` at its default, when every ACL is in one tier. */
function withoutTiers(raw: RawDb, zone: string): RawDb {
  const tiers = new Set<number>();
  for (const row of raw.rows('ACL').values()) tiers.add(Number(row.get('tier')?.keys[0] ?? 0));
  if (tiers.size > 1) {
    throw new KubeError({ object: `zone ${zone}` }, `ACLs in tiers ${[...tiers].sort().join(', ')} need OVN 23.06 or later; the installed schema has no ACL.tier (export with the modelled schema)`);
  }
  const out = new RawDb(raw.schema);
  for (const [t, rows] of raw.tables) {
    const dst = out.rows(t);
    for (const [u, row] of rows) {
      const copy = new Map(row);
      if (t === 'ACL') copy.delete('tier');
      dst.set(u, copy);
    }
  }
  return out;
}

/** A zone's northbound database as an OVSDB standalone file for the installed OVN (default) or the modelled schema. */
export function zoneOvsdbFile(zone: Zone, opts: { schema?: ExportSchema; comment?: string } = {}): Uint8Array {
  const raw = zone.builder.toRaw();
  const comment = opts.comment ?? `ovnts kube nb: zone ${zone.node.name}`;
  if (opts.schema === 'modelled') return writeOvsdbFile(raw, { comment });
  return writeOvsdbFile(withoutTiers(raw, zone.node.name), { schema: NB_SCHEMA_UPSTREAM, comment });
}
