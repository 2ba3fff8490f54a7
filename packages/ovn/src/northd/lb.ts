/**
 * Load balancers as ovn-northd 23.03 reads them (`lib/lb.c`, `ovn_northd_lb_create`): each VIP
 * key and backend parsed and re-printed the way inet_ntop prints it, the protocol, `reject`,
 * `affinity_timeout` (clamped to 65535), `selection_fields` (tp_src/tp_dst renamed after the
 * protocol when one is set) and health checks. VIPs that fail to parse are skipped, as
 * ovn-northd does (it logs them).
 */
import type { LoadBalancer } from '../nb/model.js';
import { normalizeIp, parseIp4Text } from './addrs.js';

/** One backend. */
export interface LbBackend {
  /** Address text (normalised). */
  readonly ipS: string;
  /** Port, 0 when none. */
  readonly port: number;
  /** IPv6. */
  readonly v6: boolean;
}

/** One VIP of a load balancer. */
export interface NorthdLbVip {
  /** The NB `vips` key. */
  readonly key: string;
  /** VIP address text (normalised, no brackets). */
  readonly vipS: string;
  /** VIP port text, undefined when the VIP has no port. */
  readonly portS: string | undefined;
  /** IPv6 VIP. */
  readonly v6: boolean;
  /** Backends that parsed. */
  readonly backends: LbBackend[];
  /** The NB `vips` value as written. */
  readonly backendIps: string;
  /** `options:reject`. */
  readonly emptyBackendRej: boolean;
  /** A health check names this VIP. */
  readonly healthCheck: boolean;
}

/** A load balancer, parsed. */
export interface NorthdLb {
  /** NB row. */
  readonly nb: LoadBalancer;
  /** `tcp`, `udp` or `sctp`. */
  readonly proto: 'tcp' | 'udp' | 'sctp';
  /** Parsed VIPs. */
  readonly vips: NorthdLbVip[];
  /** `options:affinity_timeout` (0 = none). */
  readonly affinityTimeout: number;
  /** `selection_fields` joined as ovn-northd passes them to `hash_fields`, or undefined. */
  readonly selectionFields: string | undefined;
  /** `options:skip_snat`. */
  readonly skipSnat: boolean;
  /** `options:add_route`. */
  readonly routable: boolean;
  /** `options:neighbor_responder` (reachable, all, none). */
  readonly neighMode: 'reachable' | 'all' | 'none';
  /** IPv4 VIP texts. */
  readonly ipsV4: Set<string>;
  /** IPv6 VIP texts. */
  readonly ipsV6: Set<string>;
}

/** Parse `IP`, `IP:port`, `[IP6]:port` or a bare IPv6 (as `inet_parse_active`). */
export function parseLbKey(text: string): { ipS: string; v6: boolean; port: number } | undefined {
  const t = text.trim();
  let ip: string;
  let port = 0;
  if (t.startsWith('[')) {
    const close = t.indexOf(']');
    if (close < 0) return undefined;
    ip = t.slice(1, close);
    const rest = t.slice(close + 1);
    if (rest !== '') {
      if (!/^:[0-9]{1,5}$/.test(rest)) return undefined;
      port = Number(rest.slice(1));
    }
  } else if (t.split(':').length === 2) {
    const i = t.indexOf(':');
    ip = t.slice(0, i);
    if (!/^[0-9]{1,5}$/.test(t.slice(i + 1))) return undefined;
    port = Number(t.slice(i + 1));
  } else {
    ip = t;
  }
  if (port > 65535) return undefined;
  const ipS = normalizeIp(ip);
  if (ipS === undefined) return undefined;
  return { ipS, v6: parseIp4Text(ip) === undefined, port };
}

const cache = new WeakMap<LoadBalancer, NorthdLb>();

/** Parse a load balancer (cached per row). */
export function northdLb(nb: LoadBalancer): NorthdLb {
  let lb = cache.get(nb);
  if (lb) return lb;
  const proto = nb.protocol === 'udp' ? 'udp' : nb.protocol === 'sctp' ? 'sctp' : 'tcp';
  const reject = (nb.options.get('reject') ?? '').toLowerCase() === 'true';
  const vips: NorthdLbVip[] = [];
  const ipsV4 = new Set<string>();
  const ipsV6 = new Set<string>();
  const template = (nb.options.get('template') ?? '').toLowerCase() === 'true';
  if (!template) {
    for (const [key, value] of nb.vips) {
      const v = parseLbKey(key);
      if (!v) continue;
      const backends: LbBackend[] = [];
      let ok = true;
      for (const tok of value.split(',').filter((x) => x !== '')) {
        const b = parseLbKey(tok);
        if (!b || b.v6 !== v.v6 || (v.port !== 0) !== (b.port !== 0)) {
          ok = false;
          continue;
        }
        backends.push({ ipS: b.ipS, port: b.port, v6: b.v6 });
      }
      if (!ok) continue; // ovn-northd logs "Failed to initialize LB VIP" and skips it
      const healthCheck = proto !== 'sctp' && nb.health_check.some((h) => h.vip === key);
      vips.push({ key, vipS: v.ipS, portS: v.port ? String(v.port) : undefined, v6: v.v6, backends, backendIps: value, emptyBackendRej: reject, healthCheck });
      (v.v6 ? ipsV6 : ipsV4).add(v.ipS);
    }
  }
  let sel: string | undefined;
  if (nb.selection_fields.length) {
    const p = nb.protocol;
    sel = nb.selection_fields.map((f) => (f === 'tp_src' && p ? `${p}_src` : f === 'tp_dst' && p ? `${p}_dst` : f)).join(',');
  }
  let aff = 0;
  const at = nb.options.get('affinity_timeout');
  if (at !== undefined && /^[0-9]+$/.test(at.trim())) aff = Math.min(Number(at.trim()), 65535);
  const nm = nb.options.get('neighbor_responder');
  lb = {
    nb, proto, vips, affinityTimeout: aff, selectionFields: sel,
    skipSnat: (nb.options.get('skip_snat') ?? '').toLowerCase() === 'true',
    routable: (nb.options.get('add_route') ?? '').toLowerCase() === 'true',
    neighMode: nm === 'all' || nm === 'none' ? nm : 'reachable',
    ipsV4, ipsV6,
  };
  cache.set(nb, lb);
  return lb;
}

/**
 * The `ct_lb_mark(...)`/reject/drop action for a VIP (`build_lb_vip_actions`); `prefix` is what
 * precedes it. Returns the action and whether it is a reject. For routers also returns the
 * skip_snat/force_snat variants.
 */
export function lbVipActions(
  vip: NorthdLbVip,
  selectionFields: string | undefined,
  prefix: string,
  lsDp: boolean,
  rejectTable: number,
): { action: string; reject: boolean; skipSnat: string; forceSnat: string } {
  let body: string;
  let n = vip.backends.length;
  if (vip.healthCheck) {
    body = `ct_lb_mark(backends=${vip.backends.map((b) => (b.v6 ? `[${b.ipS}]:${b.port}` : `${b.ipS}:${b.port}`)).join(',')}`;
  } else {
    body = `ct_lb_mark(backends=${vip.backendIps}`;
  }
  const reject = n === 0 && vip.emptyBackendRej;
  const drop = n === 0 && !vip.emptyBackendRej;
  let action = prefix + body;
  if (reject) {
    action = `reg0 = 0; reject { outport <-> inport; next(pipeline=egress,table=${rejectTable});};`;
  } else if (drop) {
    action = 'drop;';
  } else if (selectionFields) {
    action += `; hash_fields="${selectionFields}"`;
  }
  const isLb = !(reject || drop);
  const enclose = isLb ? ');' : '';
  let skipSnat = '';
  let forceSnat = '';
  if (!lsDp) {
    skipSnat = `flags.skip_snat_for_lb = 1; ${action}${isLb ? '; skip_snat);' : enclose}`;
    forceSnat = `flags.force_snat_for_lb = 1; ${action}${isLb ? '; force_snat);' : enclose}`;
  }
  n = 0;
  return { action: action + enclose, reject, skipSnat, forceSnat };
}
