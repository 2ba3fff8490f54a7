/**
 * `ovnts kube nb|trace|reach`: Kubernetes manifests (a cluster directory) to OVN, and questions
 * answered by the emulated OVN. `nb` writes a zone's northbound database as an OVSDB standalone
 * file; `trace` answers one connection with its logical path; `reach` prints the reachability
 * matrix like the Kubernetes network-policy e2e suite (or one JSON line per probe).
 */
import { writeFileSync } from 'node:fs';
import {
  KubeError,
  KubeQueryError,
  ChassisEngine,
  OvnTraceEngine,
  buildCluster,
  findPod,
  formatIp,
  isMulticast,
  podFilter,
  reach,
  readManifests,
  resolveTarget,
  traceJson,
  traceText,
  translateCluster,
  truthTable,
  zoneOf,
  zoneOvsdbFile,
  type KubeNetwork,
  type ProbeProto,
  type Semantics,
  type VerdictEngine,
} from '@ovnts/kube';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';

const SUB: Record<string, readonly string[]> = {
  nb: ['cluster', 'out', 'node', 'semantics'],
  trace: ['cluster', 'from', 'to', 'proto', 'at', 'join', 'json', 'semantics', 'engine'],
  reach: ['cluster', 'ports', 'protocols', 'from', 'to', 'json', 'semantics', 'engine'],
};

const spec: CommandSpec = {
  name: 'kube',
  summary: 'Kubernetes manifests to OVN: kube nb (export), kube trace (one connection), kube reach (the matrix)',
  usage:
    'ovnts kube nb --cluster DIR --out FILE [--node NODE]\n' +
    '       ovnts kube trace --cluster DIR --from NS/POD --to (IP|NS/POD|svc/NS/NAME)[:PORT] [--proto tcp|udp|sctp|icmp] [--at SECONDS] [--join NS/POD,...] [--engine chassis|lflow] [--json]\n' +
    '       ovnts kube reach --cluster DIR [--ports 80,81] [--protocols tcp,udp] [--from SEL] [--to SEL] [--engine lflow|chassis] [--json]',
  options: {
    cluster: { kind: 'string', required: true, metavar: 'DIR', help: 'a manifest file or a directory of *.yaml/*.yml/*.json' },
    out: { kind: 'string', metavar: 'FILE', help: '(nb) the OVSDB file to write' },
    node: { kind: 'string', metavar: 'NODE', help: '(nb) the zone (node) to export; required when the cluster has several nodes' },
    from: { kind: 'string', metavar: 'NS/POD|SEL', help: '(trace) source pod; (reach) source pods: NS, NS/POD or key=value' },
    to: { kind: 'string', metavar: 'TARGET|SEL', help: '(trace) IP, NS/POD or svc/NS/NAME with :PORT; (reach) destination pods' },
    proto: { kind: 'string', metavar: 'PROTO', help: '(trace) tcp (default), udp, sctp or icmp' },
    at: { kind: 'string', metavar: 'SECONDS', help: '(trace) virtual time of the connection' },
    join: { kind: 'string', metavar: 'NS/POD,...', help: '(trace, to a multicast group) pods that join the group first (an IGMPv3 report each, through snooping)' },
    ports: { kind: 'string', metavar: 'LIST', help: '(reach) ports, default 80,81' },
    protocols: { kind: 'string', metavar: 'LIST', help: '(reach) protocols, default tcp' },
    json: { kind: 'flag', help: 'JSON output' },
    semantics: { kind: 'string', metavar: 'MODE', help: 'ovn-kubernetes (default: as OVN-Kubernetes behaves) or kubernetes (the API semantics)' },
    engine: { kind: 'string', metavar: 'ENGINE', help: '(trace, reach) chassis (frames through each node\'s OpenFlow switch and Geneve; trace\'s default) or lflow (the logical flows only; reach\'s default, faster)' },
  },
  positionals: { min: 1, max: 1, names: 'SUBCOMMAND (nb, trace or reach)' },
};

function load(args: ParsedArgs) {
  const sem = args.values.get('semantics') ?? 'ovn-kubernetes';
  if (sem !== 'ovn-kubernetes' && sem !== 'kubernetes') throw new UsageError(`kube: --semantics: ${JSON.stringify(sem)} is not ovn-kubernetes or kubernetes`);
  const cluster = buildCluster(readManifests(args.values.get('cluster')!));
  return translateCluster(cluster, { semantics: sem as Semantics });
}

/**
 * The verdict engine `--engine` names. Defaults: `kube trace` chassis (one connection as frames
 * through the nodes), `kube reach` lflow (a matrix of hundreds of connections: the logical flows
 * answer it in about a third of the time, docs/benchmarks.md; both engines give the same verdicts
 * on every e2e probe).
 */
function engineFor(args: ParsedArgs, net: KubeNetwork, o: { dropReasons: boolean; dflt: 'chassis' | 'lflow' }): VerdictEngine {
  if ((args.values.get('engine') ?? o.dflt) === 'lflow') return new OvnTraceEngine(net);
  return new ChassisEngine(net, { dropReasons: o.dropReasons });
}

/** The `kube` command. */
export const kubeCommand = {
  spec,
  run(args: ParsedArgs, io: Io): number {
    const sub = args.positionals[0]!;
    const allowed = SUB[sub];
    if (!allowed) throw new UsageError(`kube: unknown subcommand ${JSON.stringify(sub)} (nb, trace, reach)`);
    for (const k of [...args.values.keys(), ...args.flags]) if (!allowed.includes(k)) throw new UsageError(`kube ${sub}: option --${k} does not apply`);
    const eng = args.values.get('engine');
    if (eng !== undefined && eng !== 'chassis' && eng !== 'lflow') throw new UsageError(`kube ${sub}: --engine: ${JSON.stringify(eng)} is not chassis or lflow`);
    try {
      if (sub === 'nb') return nb(args, io);
      if (sub === 'trace') return trace(args, io);
      return reachCmd(args, io);
    } catch (e) {
      if (e instanceof KubeError || e instanceof KubeQueryError) throw new CliError(e.message);
      throw e;
    }
  },
};

function nb(args: ParsedArgs, io: Io): number {
  const out = args.values.get('out');
  if (!out) throw new UsageError('kube nb: --out FILE is required');
  const net = load(args);
  const name = args.values.get('node');
  if (name === undefined && net.zones.size !== 1) throw new UsageError(`kube nb: the cluster has ${net.zones.size} zones (${[...net.zones.keys()].join(', ')}); choose one with --node`);
  const z = zoneOf(net, name);
  writeFileSync(out, zoneOvsdbFile(z));
  const n = (k: number, one: string, many = `${one}s`): string => `${k} ${k === 1 ? one : many}`;
  io.out(`wrote ${out}: zone ${z.node.name}, ${n(z.db.switches.length, 'switch', 'switches')}, ${n(z.db.routers.length, 'router')}, ${n(z.db.switchPorts.length, 'switch port')}, ${n(z.db.acls.length, 'ACL')}, ${n(z.db.loadBalancers.length, 'load balancer')}\n`);
  return 0;
}

function trace(args: ParsedArgs, io: Io): number {
  const fromS = args.values.get('from');
  const toS = args.values.get('to');
  if (!fromS || !toS) throw new UsageError('kube trace: --from and --to are required');
  const proto = (args.values.get('proto') ?? 'tcp') as ProbeProto;
  if (!['tcp', 'udp', 'sctp', 'icmp'].includes(proto)) throw new UsageError(`kube trace: --proto: ${JSON.stringify(proto)} is not tcp, udp, sctp or icmp`);
  const atS = args.values.get('at');
  if (atS !== undefined && !/^\d+(\.\d+)?$/.test(atS)) throw new UsageError(`kube trace: --at: ${JSON.stringify(atS)} is not a number of seconds`);
  const net = load(args);
  const from = findPod(net.cluster, fromS);
  const t = resolveTarget(net.cluster, toS, proto);
  if (proto !== 'icmp' && !t.port) throw new UsageError(`kube trace: --to ${toS}: give a port (:PORT) for ${proto}`);
  const engine = engineFor(args, net, { dropReasons: true, dflt: 'chassis' }) as OvnTraceEngine | ChassisEngine;
  const joinS = args.values.get('join');
  if (joinS !== undefined && !isMulticast(t.ip)) throw new UsageError(`kube trace: --join applies to a multicast group (--to ${toS} is not one)`);
  const joins = (joinS ? joinS.split(',') : []).map((ref): { pod: string; snooped?: string; droppedBy?: string } => {
    const r = engine.joinGroup(findPod(net.cluster, ref.trim()), t.ip, { explain: false });
    const learnt = r.snooped.find((e) => e.joined);
    return { pod: ref.trim(), ...(learnt ? { snooped: `switch ${learnt.datapath} (node ${learnt.zone})` } : { droppedBy: r.droppedBy ?? 'not learnt by snooping' }) };
  });
  const r = engine.probe({ from, dst: t.ip, proto, port: t.port, ...(atS !== undefined ? { at: Number(atS) } : {}) });
  if (args.flags.has('json')) io.out(JSON.stringify({ ...(joins.length ? { joins } : {}), ...traceJson(r) }) + '\n');
  else {
    for (const j of joins) io.out(`${j.pod} joins ${formatIp(t.ip)}: ${j.snooped ? `learnt by IGMP snooping on ${j.snooped}` : `not learnt (dropped by: ${j.droppedBy})`}\n`);
    io.out(traceText(r, fromS, t.text));
    for (const d of r.departures) io.err(`warning: this verdict depends on OVN-Kubernetes departing from the Kubernetes API: ${d}\n`);
  }
  return 0;
}

function list(s: string | undefined, what: string, def: string): string[] {
  return (s ?? def).split(',').map((x) => x.trim()).filter((x) => {
    if (!x) throw new UsageError(`kube reach: --${what}: empty element`);
    return true;
  });
}

function reachCmd(args: ParsedArgs, io: Io): number {
  const ports = list(args.values.get('ports'), 'ports', '80,81').map((p) => {
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw new UsageError(`kube reach: --ports: ${JSON.stringify(p)} is not a port`);
    return Number(p);
  });
  const protocols = list(args.values.get('protocols'), 'protocols', 'tcp').map((p) => {
    if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw new UsageError(`kube reach: --protocols: ${JSON.stringify(p)} is not tcp, udp or sctp`);
    return p;
  });
  const net = load(args);
  const fromS = args.values.get('from');
  const toS = args.values.get('to');
  const probes = reach(net.cluster, engineFor(args, net, { dropReasons: args.flags.has('json'), dflt: 'lflow' }), { ports, protocols, ...(fromS ? { from: podFilter(fromS) } : {}), ...(toS ? { to: podFilter(toS) } : {}) });
  if (args.flags.has('json')) {
    for (const p of probes) io.out(JSON.stringify(p) + '\n');
    return 0;
  }
  for (const pr of protocols) for (const port of ports) io.out(truthTable(probes, port, pr) + '\n');
  const notes = [...new Set(probes.map((p) => p.note).filter((x): x is string => !!x))];
  for (const n of notes) io.err(`warning: some verdicts depend on OVN-Kubernetes departing from the Kubernetes API: ${n}\n`);
  return 0;
}
