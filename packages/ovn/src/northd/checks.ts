/**
 * Checks of the northbound text ovn-northd copies into logical flows without reading it: the
 * matches of ACLs, QoS rules and router policies. ovn-northd 23.03 does not parse them, so a match
 * that does not parse (`ip4 && tcp.dst == `) still becomes logical flows, and ovn-controller then
 * fails to parse those flows and installs nothing for them: a drop ACL with such a match drops
 * nothing, silently. We compile exactly as ovn-northd does (the flows are kept) and report each
 * such row as a warning that names it, so `ovnts northd` and ovn-trace can say so.
 *
 * Each match is parsed against the address sets and port groups the southbound database will
 * have (the NB sets plus the `<port group>_ip4/_ip6` and `svc_monitor_mac` sets ovn-northd adds),
 * which is what makes the flows fail in ovn-controller.
 */
import { ExprError } from '../expr/errors.js';
import { parseExprText } from '../expr/parse.js';
import type { NbDatabase } from '../nb/db.js';
import type { Acl, LogicalRouterPolicy, QoS } from '../nb/model.js';
import type { SbDatabase } from '../sb/model.js';

/** A warning about one northbound row. */
export interface NbRowWarning {
  /** NB table. */
  readonly table: 'ACL' | 'QoS' | 'Logical_Router_Policy';
  /** Row uuid. */
  readonly row: string;
  /** Who the row belongs to (`switch "sw0"`, `port group "pg1"`, `router "lr0"`). */
  readonly owner: string;
  /** A short description of the row (`to-lport priority 1002 drop`). */
  readonly description: string;
  /** The match text. */
  readonly match: string;
  /** The parse error. */
  readonly error: string;
  /** The whole message. */
  readonly message: string;
}

function aclText(a: Acl): string {
  return `${a.direction} priority ${a.priority} ${a.action}${a.name ? ` name ${JSON.stringify(a.name)}` : ''}`;
}

function qosText(q: QoS): string {
  return `${q.direction} priority ${q.priority}`;
}

function policyText(p: LogicalRouterPolicy): string {
  return `priority ${p.priority} ${p.action}`;
}

/** Who owns each ACL, QoS rule and policy, and how to describe it. */
function owners(db: NbDatabase): Map<string, { table: NbRowWarning['table']; owner: string; description: string; match: string }> {
  const out = new Map<string, { table: NbRowWarning['table']; owner: string; description: string; match: string }>();
  for (const ls of db.switches) {
    for (const a of ls.acls) out.set(a.uuid, { table: 'ACL', owner: `switch ${JSON.stringify(ls.name)}`, description: aclText(a), match: a.match });
    for (const q of ls.qos_rules) out.set(q.uuid, { table: 'QoS', owner: `switch ${JSON.stringify(ls.name)}`, description: qosText(q), match: q.match });
  }
  for (const pg of db.portGroups) {
    for (const a of pg.acls) out.set(a.uuid, { table: 'ACL', owner: `port group ${JSON.stringify(pg.name)}`, description: aclText(a), match: a.match });
  }
  for (const lr of db.routers) {
    for (const p of lr.policies) out.set(p.uuid, { table: 'Logical_Router_Policy', owner: `router ${JSON.stringify(lr.name)}`, description: policyText(p), match: p.match });
  }
  return out;
}

/**
 * A description of the NB row whose uuid starts with `hint` (a logical flow's `stage-hint`), for
 * messages: `ACL 480fe7a3-... on switch "sw0" (to-lport priority 1002 drop)`. Undefined when no
 * ACL, QoS rule or router policy matches.
 */
export function describeNbRow(db: NbDatabase, hint: string): string | undefined {
  if (hint.length < 8) return undefined;
  for (const [uuid, o] of owners(db)) {
    if (uuid.startsWith(hint.toLowerCase())) return `${o.table} ${uuid} on ${o.owner} (${o.description})`;
  }
  return undefined;
}

/**
 * Every ACL, QoS rule and router policy whose match does not parse, with a message naming the row.
 * `sb` supplies the address set names the southbound database will have.
 */
export function checkNbMatches(db: NbDatabase, sb: SbDatabase): NbRowWarning[] {
  const addressSets = new Map(sb.addressSets.map((a) => [a.name, a.addresses]));
  const portGroups = new Map(db.portGroups.map((g) => [g.name, g.ports.map((p) => p.name)]));
  const out: NbRowWarning[] = [];
  for (const [row, o] of owners(db)) {
    try {
      parseExprText(o.match, { addressSets, portGroups });
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      // Template references (`^NAME`) are expanded per chassis by ovn-controller.
      if (e.message.startsWith('Unexpanded template')) continue;
      const consequence =
        o.table === 'ACL' ? 'this ACL has no effect' : o.table === 'QoS' ? 'this QoS rule has no effect' : 'this policy has no effect';
      out.push({
        table: o.table,
        row,
        owner: o.owner,
        description: o.description,
        match: o.match,
        error: e.message,
        message:
          `${o.table} ${row} on ${o.owner} (${o.description}): match ${JSON.stringify(o.match)} does not parse: ${e.message} ` +
          `ovn-northd keeps its logical flows, but ovn-controller cannot parse them and installs no OpenFlow flow for them, so ${consequence}.`,
      });
    }
  }
  return out;
}
