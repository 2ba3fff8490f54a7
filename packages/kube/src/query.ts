/**
 * The Kubernetes-level questions: `kube trace` (one connection, its verdict and logical path) and
 * `kube reach` (the reachability matrix of every ordered pair of distinct pods, for each port and
 * protocol, as the Kubernetes network-policy e2e suite prints it). Both are answered by a
 * `VerdictEngine`; nothing here decides reachability on its own.
 */
import { KubeQueryError } from './errors.js';
import { matches, type Selector } from './labels.js';
import type { ClusterModel, PodModel } from './model.js';
import { formatIp, sameIp, tryParseIp, type Ip } from './net.js';
import type { ProbeProto, ProbeResult, VerdictEngine } from './engine.js';

/** A resolved `--to` target. */
export interface Target {
  /** Destination address. */
  readonly ip: Ip;
  /** Destination port (0 for ICMP or unspecified). */
  readonly port: number;
  /** Readable form. */
  readonly text: string;
}

/** Find a pod by `ns/name`. */
export function findPod(c: ClusterModel, ref: string): PodModel {
  const m = /^([^/]+)\/([^/]+)$/.exec(ref);
  if (!m) throw new KubeQueryError(`${JSON.stringify(ref)}: expected NAMESPACE/POD`);
  const p = c.pods.find((x) => x.namespace === m[1] && x.name === m[2]);
  if (!p) throw new KubeQueryError(`no pod ${ref} in the cluster (pods: ${c.pods.map((x) => `${x.namespace}/${x.name}`).join(', ') || 'none'})`);
  return p;
}

/** Resolve `IP[:PORT]`, `NS/POD[:PORT]` or `svc/NS/NAME[:PORT]` (a service's first port when none is given). */
export function resolveTarget(c: ClusterModel, s: string, proto: ProbeProto): Target {
  let body = s;
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    body = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else {
    const m = /^(.*?):(\d+)$/.exec(s);
    if (m && !tryParseIp(s)) {
      body = m[1]!;
      port = Number(m[2]);
    }
  }
  if (port !== undefined && (port < 1 || port > 65535)) throw new KubeQueryError(`${JSON.stringify(s)}: port out of range 1..65535`);
  const ip = tryParseIp(body);
  if (ip) return { ip, port: port ?? 0, text: s };
  const svc = /^svc\/([^/]+)\/([^/]+)$/.exec(body);
  if (svc) {
    const sv = c.services.find((x) => x.namespace === svc[1] && x.name === svc[2]);
    if (!sv) throw new KubeQueryError(`no service ${svc[1]}/${svc[2]} in the cluster`);
    const sp = port !== undefined ? sv.ports.find((p) => p.port === port) : sv.ports.find((p) => p.protocol.toLowerCase() === proto) ?? sv.ports[0];
    if (!sp) throw new KubeQueryError(`service ${svc[1]}/${svc[2]} has no port ${port}`);
    return { ip: sv.clusterIPs[0]!, port: sp.port, text: `svc/${sv.namespace}/${sv.name}:${sp.port}` };
  }
  const pod = findPod(c, body);
  if (pod.ips.length === 0) throw new KubeQueryError(`pod ${body} has no address`);
  return { ip: pod.ips[0]!, port: port ?? 0, text: s };
}

/** The JSON form of a `kube trace` answer. */
export interface TraceJson {
  /** Verdict. */
  verdict: 'delivered' | 'dropped';
  /** Destination reached. */
  to?: string;
  /** What dropped it. */
  droppedBy?: string;
  /** Source address after translation. */
  snat?: string;
  /** Load-balancer backend. */
  backend?: string;
  /** Egress router redirect: `{router, rule, to}` where the connection left the cluster. */
  redirect?: { router: string; rule: string; to: string };
  /** Logical path (forward, then the reply prefixed `reply: `). */
  path: string[];
  /** Departures from the Kubernetes API the verdict depends on. */
  note?: string;
  /** Audit log lines. */
  logs?: string[];
  /** The engine that decided the verdict: `chassis` (frames through the nodes' switches) or `lflow` (the logical flows). */
  engine: 'chassis' | 'lflow';
}

function redirectJson(x: NonNullable<ProbeResult['redirect']>): { router: string; rule: string; to: string } {
  const f = x.flow;
  const v6 = f.dl_type === 0x86ddn;
  const dst = formatIp({ family: v6 ? 6 : 4, addr: v6 ? f.ipv6_dst : f.nw_dst });
  return { router: x.router, rule: x.rule, to: f.nw_proto === 1n ? dst : v6 ? `[${dst}]:${f.tp_dst}` : `${dst}:${f.tp_dst}` };
}

/** A `kube trace` answer as one JSON object. */
export function traceJson(r: ProbeResult): TraceJson {
  const logs = [...r.forward.logs, ...(r.reply?.logs ?? [])];
  return {
    verdict: r.verdict,
    ...(r.to ? { to: r.to } : {}),
    ...(r.droppedBy ? { droppedBy: r.droppedBy } : {}),
    ...(r.snat ? { snat: r.snat } : {}),
    ...(r.backend ? { backend: r.backend } : {}),
    ...(r.redirect ? { redirect: redirectJson(r.redirect) } : {}),
    path: [...r.forward.path, ...(r.reply?.path ?? []).map((p) => `reply: ${p}`)],
    ...(r.departures.length ? { note: r.departures.join('; ') } : {}),
    ...(logs.length ? { logs } : {}),
    engine: r.engine ?? 'lflow',
  };
}

/** A `kube trace` answer for people. */
export function traceText(r: ProbeResult, from: string, to: string): string {
  const lines: string[] = [];
  lines.push(`${from} -> ${to}: ${r.verdict === 'delivered' ? `DELIVERED to ${r.to}` : `DROPPED${r.to ? ` (reached ${r.to})` : ''}`}`);
  if (r.backend) lines.push(`  load balancer backend: ${r.backend}`);
  if (r.snat) lines.push(`  source address seen there: ${r.snat}`);
  if (r.redirect) {
    const f = r.redirect.flow;
    const v6 = f.dl_type === 0x86ddn;
    const a = (x: bigint) => formatIp({ family: v6 ? 6 : 4, addr: x });
    lines.push(`  egress router ${r.redirect.router} (${r.redirect.rule}): out net1 from ${a(v6 ? f.ipv6_src : f.nw_src)} to ${a(v6 ? f.ipv6_dst : f.nw_dst)}${f.nw_proto === 1n ? '' : `:${f.tp_dst}`}`);
  }
  if (r.droppedBy) lines.push(`  dropped by: ${r.droppedBy}`);
  lines.push(r.engine === 'chassis' ? `  verdict: frames through the nodes' OpenFlow switches (${r.tunnelFrames ?? 0} Geneve frame${r.tunnelFrames === 1 ? '' : 's'} between nodes); path: the logical flows` : '  verdict: the logical flows');
  lines.push('  path:');
  for (const p of r.forward.path) lines.push(`    ${p}`);
  if (r.reply) {
    lines.push('  reply path:');
    for (const p of r.reply.path) lines.push(`    ${p}`);
  }
  const logs = [...r.forward.logs, ...(r.reply?.logs ?? [])];
  if (logs.length) {
    lines.push('  ACL log:');
    for (const l of logs) lines.push(`    ${l}`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
}

/** One probe of `kube reach`. */
export interface ReachProbe {
  /** Source `ns/pod`. */
  readonly from: string;
  /** Destination `ns/pod`. */
  readonly to: string;
  /** Port. */
  readonly port: number;
  /** Protocol. */
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  /** Verdict. */
  readonly verdict: 'allowed' | 'blocked';
  /** What blocked it. */
  readonly droppedBy?: string;
  /** Departures from the Kubernetes API the verdict depends on. */
  readonly note?: string;
}

/** Options of `reach`. */
export interface ReachOptions {
  /** Ports (default 80, 81). */
  readonly ports?: readonly number[];
  /** Protocols (default tcp). */
  readonly protocols?: readonly ('tcp' | 'udp' | 'sctp')[];
  /** Source pods filter. */
  readonly from?: (p: PodModel) => boolean;
  /** Destination pods filter. */
  readonly to?: (p: PodModel) => boolean;
}

/** Every ordered pair of distinct pod-network pods, each port and protocol. */
export function reach(c: ClusterModel, engine: VerdictEngine, o: ReachOptions = {}): ReachProbe[] {
  const pods = c.pods.filter((p) => !p.hostNetwork && p.ips.length);
  const out: ReachProbe[] = [];
  for (const protocol of o.protocols ?? ['tcp']) {
    for (const port of o.ports ?? [80, 81]) {
      for (const a of pods) {
        if (o.from && !o.from(a)) continue;
        for (const b of pods) {
          if (a === b || (o.to && !o.to(b))) continue;
          const dst = b.ips.find((x) => a.ips.some((y) => y.family === x.family))!;
          const r = engine.probe({ from: a, dst, proto: protocol, port, explain: false });
          const ok = r.verdict === 'delivered' && r.to === `${b.namespace}/${b.name}`;
          out.push({
            from: `${a.namespace}/${a.name}`,
            to: `${b.namespace}/${b.name}`,
            port,
            protocol,
            verdict: ok ? 'allowed' : 'blocked',
            ...(!ok && r.droppedBy ? { droppedBy: r.droppedBy } : {}),
            ...(r.departures.length ? { note: r.departures.join('; ') } : {}),
          });
        }
      }
    }
  }
  return out;
}

/** The e2e suite's truth table for one port and protocol (rows from, columns to; `.` allowed, `X` blocked, `#` self). */
export function truthTable(probes: readonly ReachProbe[], port: number, protocol: string): string {
  const sel = probes.filter((p) => p.port === port && p.protocol === protocol);
  const names = [...new Set(sel.flatMap((p) => [p.from, p.to]))].sort();
  const v = new Map(sel.map((p) => [`${p.from} ${p.to}`, p.verdict]));
  const w = Math.max(...names.map((n) => n.length), 4);
  const lines = [`${protocol.toUpperCase()}/${port}`, `${''.padEnd(w)}  ${names.map((n) => n).join('  ')}`];
  for (const a of names) {
    lines.push(
      `${a.padEnd(w)}  ${names
        .map((b) => {
          const x = a === b ? '#' : v.get(`${a} ${b}`) === 'allowed' ? '.' : v.has(`${a} ${b}`) ? 'X' : ' ';
          return x.padEnd(b.length);
        })
        .join('  ')}`.trimEnd(),
    );
  }
  return lines.join('\n') + '\n';
}

/** A pod filter from `NS/POD`, `NS/*`, `NS` or a label selector `k=v,k2=v2` on pods. */
export function podFilter(s: string): (p: PodModel) => boolean {
  if (s.includes('=')) {
    const sel: Selector = { reqs: s.split(',').map((kv) => { const [k, v] = kv.split('='); return { key: k!.trim(), op: 'In' as const, values: [(v ?? '').trim()] }; }) };
    return (p) => matches(sel, p.labels);
  }
  const m = /^([^/]+)(?:\/(.+))?$/.exec(s);
  if (!m) throw new KubeQueryError(`bad pod selector ${JSON.stringify(s)} (NS, NS/POD, NS/* or key=value)`);
  return (p) => p.namespace === m[1] && (!m[2] || m[2] === '*' || p.name === m[2]);
}

/** The address of a pod as text (first family). */
export function podAddress(p: PodModel): string {
  return p.ips[0] ? formatIp(p.ips[0]) : '';
}

/** Whether `ip` belongs to `p`. */
export function podHasIp(p: PodModel, ip: Ip): boolean {
  return p.ips.some((x) => sameIp(x, ip));
}
