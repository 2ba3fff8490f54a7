/**
 * The load balancer VIP addresses of a router (`od->lb_ips` in ovn-northd 23.03): every VIP of
 * every load balancer applied to the router directly or through a load balancer group.
 */
import type { NorthdContext, RouterDp } from './context.js';
import { northdLb } from './lb.js';

/** VIP address texts of a router's load balancers. */
export interface RouterLbIps {
  /** IPv4 VIPs. */
  readonly v4: Set<string>;
  /** IPv6 VIPs. */
  readonly v6: Set<string>;
  /** IPv4 VIPs of `add_route` load balancers. */
  readonly v4Routable: Set<string>;
  /** IPv6 VIPs of `add_route` load balancers. */
  readonly v6Routable: Set<string>;
}

const cache = new WeakMap<RouterDp, RouterLbIps>();

/** The VIP addresses of a router (cached). */
export function routerLbIps(_ctx: NorthdContext, rt: RouterDp): RouterLbIps {
  let r = cache.get(rt);
  if (r) return r;
  r = { v4: new Set(), v6: new Set(), v4Routable: new Set(), v6Routable: new Set() };
  for (const nb of rt.lbs) {
    const lb = northdLb(nb);
    for (const ip of lb.ipsV4) {
      r.v4.add(ip);
      if (lb.routable) r.v4Routable.add(ip);
    }
    for (const ip of lb.ipsV6) {
      r.v6.add(ip);
      if (lb.routable) r.v6Routable.add(ip);
    }
  }
  cache.set(rt, r);
  return r;
}
