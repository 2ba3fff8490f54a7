/**
 * NAT entries of a router as ovn-northd 23.03 prepares them (`init_nat_entries`): the parsed
 * external address (validity: exactly one IPv4 or one IPv6 address), family, and the texts the
 * flow builders print.
 */
import { formatMac } from '@ovnts/packet';
import type { Nat } from '../nb/model.js';
import type { RouterDp } from './context.js';
import { normalizeIp } from './addrs.js';

/** One NAT entry. */
export interface NatEntry {
  /** NB row. */
  readonly nb: Nat;
  /** The external address parsed to exactly one address. */
  readonly valid: boolean;
  /** IPv6 NAT. */
  readonly v6: boolean;
  /** External IP text (normalised). */
  readonly externalIp: string;
  /** Logical IP/prefix text as ovn-northd prints it in matches. */
  readonly logicalIp: string;
  /** External MAC text. */
  readonly externalMacText: string | undefined;
}

const cache = new WeakMap<RouterDp, NatEntry[]>();

/** The router's NAT entries (cached). */
export function natEntries(rt: RouterDp): NatEntry[] {
  let e = cache.get(rt);
  if (e) return e;
  e = rt.nb.nat.map((nb) => {
    const v6 = nb.external_ip.family === 6;
    const li = nb.logical_ip;
    const full = li.family === 4 ? 32 : 128;
    const lip = li.plen === full ? (normalizeIp(li.text.split('/')[0]!) ?? li.text) : li.text;
    return {
      nb, valid: true, v6, externalIp: normalizeIp(nb.external_ip.text) ?? nb.external_ip.text, logicalIp: lip,
      externalMacText: nb.external_mac === undefined ? undefined : formatMac(nb.external_mac),
    };
  });
  cache.set(rt, e);
  return e;
}
