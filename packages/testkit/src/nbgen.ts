/**
 * An OVN-Kubernetes-shaped northbound database generator, the same network
 * `../shared/bench/ovn-northd-baseline.sh` builds (its `gen_topology`), so our northd compiler and
 * real ovn-northd can be timed on the same NB:
 *
 * - one logical router `ovn_cluster_router`;
 * - per node `i`: switch `node-i`, router port `rtos-node-i` (MAC `0a:58:0a:XX:YY:01`, network
 *   `10.X.Y.1/24` with X = 128 + i/256, Y = i % 256) and its router-type switch port `stor-node-i`;
 * - per node, `pods` pod ports `pod-i-p` with addresses and port security `MAC 10.X.Y.(p+2)`;
 * - namespaces of `nsSize` pods (pod k = i*pods+p goes to namespace k % NS): per namespace a port
 *   group `pg_nsN`, an address set `as_nsN` with its pod IPs and four ACLs on the port group;
 * - `svcPerNs` load balancers per namespace (`172.30.A.B:80` -> `backends` pod IPs `:8080`, tcp),
 *   attached to every node switch (`lbAttach: 'switch'`) or through one load balancer group.
 *
 * The plan is computed once and rendered two ways: an `NbDatabase` through `NbBuilder`, and the
 * `ovn-nbctl` argument list that applies the same network in one transaction (one argument per
 * element, exactly the lines the baseline script writes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NbBuilder, setDatum, type NbDatabase, type RowHandle, type SwitchHandle } from '@ovnts/ovn';

/** Generator parameters (defaults as the baseline script's). */
export interface OvnKParams {
  /** Nodes. */
  readonly nodes: number;
  /** Pods per node. */
  readonly pods: number;
  /** Pods per namespace (20). */
  readonly nsSize?: number;
  /** Load balancers per namespace (1). */
  readonly svcPerNs?: number;
  /** Backends per load balancer (3). */
  readonly backends?: number;
  /** Attach load balancers to every node switch or through one group ('switch'). */
  readonly lbAttach?: 'switch' | 'group';
}

/** Sizes of a generated network. */
export interface OvnKCounts {
  /** Logical switches. */
  readonly switches: number;
  /** Logical switch ports (pods + router ports). */
  readonly lsps: number;
  /** Namespaces (port groups, address sets). */
  readonly namespaces: number;
  /** ACLs. */
  readonly acls: number;
  /** Load balancers. */
  readonly lbs: number;
}

interface Pod {
  readonly node: number;
  readonly name: string;
  readonly addr: string;
  readonly ip: string;
}

interface Plan {
  readonly p: Required<OvnKParams>;
  readonly ns: number;
  readonly pods: Pod[][];
  readonly members: Pod[][];
  readonly lbs: { name: string; vip: string; backends: string }[];
}

const hex = (x: number) => x.toString(16).padStart(2, '0');
const nodeIp = (i: number) => `${128 + Math.floor(i / 256)}.${i % 256}`;
const podIp = (i: number, p: number) => `10.${nodeIp(i)}.${p + 2}`;
const nodeMacPrefix = (i: number) => `0a:58:0a:${hex(128 + Math.floor(i / 256))}:${hex(i % 256)}`;

function plan(params: OvnKParams): Plan {
  const p: Required<OvnKParams> = { nsSize: 20, svcPerNs: 1, backends: 3, lbAttach: 'switch', ...params };
  const total = p.nodes * p.pods;
  const ns = Math.max(1, Math.ceil(total / p.nsSize));
  const pods: Pod[][] = [];
  const members: Pod[][] = Array.from({ length: ns }, () => []);
  for (let i = 0; i < p.nodes; i++) {
    const row: Pod[] = [];
    for (let q = 0; q < p.pods; q++) {
      const ip = podIp(i, q);
      const pod: Pod = { node: i, name: `pod-${i}-${q}`, addr: `${nodeMacPrefix(i)}:${hex(q + 2)} ${ip}`, ip };
      row.push(pod);
      members[(i * p.pods + q) % ns]!.push(pod);
    }
    pods.push(row);
  }
  const lbs: Plan['lbs'] = [];
  for (let n = 0; n < ns; n++) {
    const m = members[n]!;
    for (let s = 0; s < p.svcPerNs; s++) {
      const be: string[] = [];
      for (let b = 1; b <= p.backends && b <= m.length; b++) be.push(`${m[(s * p.backends + b - 1) % m.length]!.ip}:8080`);
      const l = lbs.length;
      lbs.push({ name: `svc_ns${n}_${s}`, vip: `172.30.${Math.floor(l / 250)}.${(l % 250) + 1}:80`, backends: be.join(',') });
    }
  }
  return { p, ns, pods, members, lbs };
}

function aclsFor(n: number): { dir: 'to-lport' | 'from-lport'; prio: number; match: string; action: 'allow-related' | 'drop' }[] {
  const pg = `pg_ns${n}`;
  return [
    { dir: 'to-lport', prio: 1001, match: `outport == @${pg} && ip4.src == $as_ns${n}`, action: 'allow-related' },
    { dir: 'to-lport', prio: 1001, match: `outport == @${pg} && tcp.dst == 8080`, action: 'allow-related' },
    { dir: 'to-lport', prio: 1000, match: `outport == @${pg} && ip4`, action: 'drop' },
    { dir: 'from-lport', prio: 1000, match: `inport == @${pg} && ip4`, action: 'allow-related' },
  ];
}

/** The sizes of the network `params` describes. */
export function ovnkCounts(params: OvnKParams): OvnKCounts {
  const pl = plan(params);
  return { switches: pl.p.nodes, lsps: pl.p.nodes * (pl.p.pods + 1), namespaces: pl.ns, acls: pl.ns * 4, lbs: pl.lbs.length };
}

/** The network as an `NbDatabase` built with `NbBuilder`. */
export function ovnkNb(params: OvnKParams): NbDatabase {
  return ovnkBuilder(params).build();
}

/** The network in an `NbBuilder` (`.toRaw()` for `writeOvsdbFile`, `.build()` for the database). */
export function ovnkBuilder(params: OvnKParams): NbBuilder {
  const pl = plan(params);
  const nb = new NbBuilder();
  const lr = nb.router('ovn_cluster_router');
  const switches: SwitchHandle[] = [];
  const podRows = new Map<string, RowHandle>();
  for (let i = 0; i < pl.p.nodes; i++) {
    const ls = `node-${i}`;
    const sw = nb.logicalSwitch(ls);
    switches.push(sw);
    lr.port(`rtos-${ls}`, { mac: `${nodeMacPrefix(i)}:01`, networks: [`10.${nodeIp(i)}.1/24`] });
    sw.port(`stor-${ls}`, { type: 'router', addresses: ['router'], options: { 'router-port': `rtos-${ls}` } });
    for (const pod of pl.pods[i]!) podRows.set(pod.name, sw.port(pod.name, { addresses: [pod.addr], portSecurity: [pod.addr] }));
  }
  for (let n = 0; n < pl.ns; n++) {
    const pg = nb.portGroup(`pg_ns${n}`, pl.members[n]!.map((m) => podRows.get(m.name)!));
    nb.addressSet(`as_ns${n}`, pl.members[n]!.map((m) => m.ip));
    for (const a of aclsFor(n)) nb.acl(pg, { direction: a.dir, priority: a.prio, match: a.match, action: a.action });
  }
  const lbRows = pl.lbs.map((l) => nb.loadBalancer(l.name, { vips: { [l.vip]: l.backends }, protocol: 'tcp' }));
  if (pl.p.lbAttach === 'group') {
    const g = nb.loadBalancerGroup('cluster_lb_group', lbRows);
    for (const sw of switches) sw.addLoadBalancerGroup(g);
  } else {
    const all = setDatum(lbRows.map((h) => h.uuid));
    for (const sw of switches) nb.set(sw, 'load_balancer', all);
  }
  return nb;
}

/**
 * The `ovn-nbctl` arguments that create the network in one transaction (`--` separated
 * commands; pass them after `ovn-nbctl --db=...`), as the baseline script's `gen_topology`.
 */
export function ovnkNbctlArgs(params: OvnKParams): string[] {
  const pl = plan(params);
  const out: string[] = [];
  const c = (...xs: string[]) => out.push('--', ...xs);
  c('lr-add', 'ovn_cluster_router');
  for (let i = 0; i < pl.p.nodes; i++) {
    const ls = `node-${i}`;
    c('ls-add', ls);
    c('lrp-add', 'ovn_cluster_router', `rtos-${ls}`, `${nodeMacPrefix(i)}:01`, `10.${nodeIp(i)}.1/24`);
    c('lsp-add', ls, `stor-${ls}`);
    c('lsp-set-type', `stor-${ls}`, 'router');
    c('lsp-set-addresses', `stor-${ls}`, 'router');
    c('lsp-set-options', `stor-${ls}`, `router-port=rtos-${ls}`);
    for (const pod of pl.pods[i]!) {
      c('lsp-add', ls, pod.name);
      c('lsp-set-addresses', pod.name, pod.addr);
      c('lsp-set-port-security', pod.name, pod.addr);
    }
  }
  for (let n = 0; n < pl.ns; n++) {
    const pg = `pg_ns${n}`;
    c('pg-add', pg, ...pl.members[n]!.map((m) => m.name));
    c('create', 'Address_Set', `name=as_ns${n}`, `addresses=[${pl.members[n]!.map((m) => `"${m.ip}"`).join(',')}]`);
    for (const a of aclsFor(n)) c('acl-add', pg, a.dir, String(a.prio), a.match, a.action);
  }
  pl.lbs.forEach((l, k) => {
    c(`--id=@lb${k}`, 'create', 'Load_Balancer', `name=${l.name}`, 'protocol=tcp', `vips:"${l.vip}"="${l.backends}"`);
  });
  if (pl.p.lbAttach === 'group') {
    c('--id=@lbg', 'create', 'Load_Balancer_Group', 'name=cluster_lb_group', `load_balancer=[${pl.lbs.map((_, k) => `@lb${k}`).join(',')}]`);
    for (let i = 0; i < pl.p.nodes; i++) c('add', 'Logical_Switch', `node-${i}`, 'load_balancer_group', '@lbg');
  } else {
    const refs = pl.lbs.map((_, k) => `@lb${k}`);
    for (let i = 0; i < pl.p.nodes; i++) c('add', 'Logical_Switch', `node-${i}`, 'load_balancer', ...refs);
  }
  return out;
}

/** A running private OVN control plane (`ovn-sandbox start`): NB and SB ovsdb-servers and ovn-northd. */
export interface OvnSandbox {
  /** Its folder (sockets, databases, logs, pid files). */
  readonly dir: string;
  /** Environment for ovn-nbctl/ovn-sbctl (OVN_NB_DB, OVN_SB_DB, ...). */
  readonly env: NodeJS.ProcessEnv;
  /** `unix:` address of the NB database. */
  readonly nbDb: string;
  /** Run a tool with the sandbox environment; returns stdout (throws on failure). */
  run(cmd: string, args: readonly string[], input?: string | Uint8Array): string;
  /** Process id of ovn-northd. */
  northdPid(): number;
  /** Stop the daemons (by the pids the sandbox recorded). */
  stop(): void;
}

/** Start `script` (the shared `ovn-sandbox`) in a fresh temporary folder. */
export function startOvnSandbox(script: string): OvnSandbox {
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-ovn-sandbox-'));
  const stop = () => {
    spawnSync('bash', [script, 'stop', dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  let out: string;
  try {
    out = execFileSync('bash', [script, 'start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    stop();
    throw e;
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const m of out.matchAll(/([A-Z_]+)='([^']*)'/g)) env[m[1]!] = m[2]!;
  const nbDb = env.OVN_NB_DB ?? `unix:${dir}/nb.sock`;
  return {
    dir,
    env,
    nbDb,
    run(cmd, args, input) {
      return execFileSync(cmd, [...args], { env, encoding: 'utf8', input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] });
    },
    northdPid: () => Number(readFileSync(join(dir, 'northd.pid'), 'utf8').trim()),
    stop,
  };
}
