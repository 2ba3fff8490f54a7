/**
 * A trace across chassis: the OpenFlow steps a frame takes from the sending port through the
 * tunnel to the receiving ports, each step mapped back to what ovn-controller built it from.
 *
 * Design. Each hop is one switch's `ofproto/trace` (`Switch.trace`, which changes no state). Its
 * table nodes are the steps; a step's cookie names its source the way ovn-controller sets
 * cookies: the first 32 bits of the logical flow's uuid (then the step shows the logical flow,
 * its pipeline stage and `stage-name`), of a port binding or multicast group (physical flows), or
 * 0 (the chassis's fixed flows and conjunction clauses). Outputs to a tunnel port continue as a
 * new hop on the chassis that owns the outer destination address, received on its tunnel port;
 * outputs to VIF ports are deliveries; packets to the controller are listed (pinctrl's answers
 * are not traced: they are new packets). A `ct(table=N)` recirculation continues the hop's steps
 * with the connection tracker's state assumed `trk|new`, as ofproto/trace assumes by default.
 */
import { formatTrace, type TraceNode, type TraceResult } from '@ovnts/openflow';
import { parseIpv4, u16, u32 } from '@ovnts/packet';
import type { SbLogicalFlow } from '@ovnts/ovn';
import type { ChassisCluster, ChassisNode } from './cluster.js';
import { ChassisError } from './errors.js';
import { OFTABLE } from './tables.js';

/** Where a step's flow came from. */
export interface StepSource {
  /** `lflow`, `port` (a port binding's physical flows), `mcast` (a multicast group's), or `chassis` (fixed flows, conjunction clauses). */
  readonly kind: 'lflow' | 'port' | 'mcast' | 'chassis';
  /** The southbound row's uuid (absent for `chassis`). */
  readonly uuid?: string;
  /** Logical flows: pipeline, logical table, stage name, match and actions; ports and groups: the name. */
  readonly pipeline?: 'ingress' | 'egress';
  /** Logical table number. */
  readonly tableId?: number;
  /** `external_ids:stage-name`. */
  readonly stage?: string;
  /** The logical flow's match. */
  readonly match?: string;
  /** The logical flow's actions. */
  readonly actions?: string;
  /** Port or multicast group name. */
  readonly name?: string;
}

/** One OpenFlow table lookup of a hop. */
export interface TraceStep {
  /** OpenFlow table. */
  readonly table: number;
  /** The matching flow in ovs-ofctl text, or undefined on a miss. */
  readonly flow: string | undefined;
  /** Its cookie. */
  readonly cookie: bigint;
  /** What ovn-controller built it from. */
  readonly source: StepSource;
}

/** One switch's part of the trace. */
export interface TraceHop {
  /** Chassis. */
  readonly chassis: string;
  /** OpenFlow input port and its name. */
  readonly inPort: number;
  /** Port name (logical port of a VIF, tunnel port name). */
  readonly inPortName: string;
  /** Table lookups in order. */
  readonly steps: TraceStep[];
  /** Logical ports that received the frame here. */
  readonly deliveries: string[];
  /** Tunnel outputs: the chassis each went to. */
  readonly tunnels: string[];
  /** Packets sent to the controller (pinctrl), by table. */
  readonly controller: number[];
  /** The switch's own trace (ofproto/trace form). */
  readonly ofprotoTrace: string;
}

/** A trace across chassis. */
export interface ClusterTrace {
  /** Hops in order (breadth first). */
  readonly hops: TraceHop[];
}

/** Logical flows by the cookie ovn-controller gives their OpenFlow flows. */
function lflowsByCookie(flows: readonly SbLogicalFlow[]): Map<bigint, SbLogicalFlow[]> {
  const m = new Map<bigint, SbLogicalFlow[]>();
  for (const f of flows) {
    const c = BigInt(`0x${f.uuid.slice(0, 8)}`);
    const l = m.get(c);
    if (l) l.push(f);
    else m.set(c, [f]);
  }
  return m;
}

function collectSteps(nodes: readonly TraceNode[], out: { table: number; flow: TraceNode['flow'] }[]): void {
  for (const n of nodes) {
    if (n.type === 'table' && n.tableId !== undefined && n.tableId >= 0) out.push({ table: n.tableId, flow: n.flow });
    collectSteps(n.children, out);
  }
}

/** Trace `frame` entering at logical port `lport` through the cluster (see the module comment). */
export function traceCluster(cluster: ChassisCluster, lport: string, frame: Uint8Array, maxHops = 16): ClusterTrace {
  const start = cluster.nodeOfPort(lport);
  const byCookie = lflowsByCookie(cluster.sb.logicalFlows);
  const pbByCookie = new Map(cluster.sb.portBindings.map((p) => [BigInt(`0x${p.uuid.slice(0, 8)}`), p] as const));
  const mcByCookie = new Map(cluster.sb.multicastGroups.map((g) => [BigInt(`0x${g.uuid.slice(0, 8)}`), g] as const));
  const source = (table: number, cookie: bigint): StepSource => {
    if (cookie === 0n) return { kind: 'chassis' };
    const ingress = table >= OFTABLE.LOG_INGRESS_PIPELINE && table < OFTABLE.OUTPUT_LARGE_PKT_DETECT;
    const egress = table >= OFTABLE.LOG_EGRESS_PIPELINE && table < OFTABLE.SAVE_INPORT;
    const lf = byCookie.get(cookie)?.find((f) =>
      ingress ? f.pipeline === 'ingress' && f.tableId === table - OFTABLE.LOG_INGRESS_PIPELINE : egress ? f.pipeline === 'egress' && f.tableId === table - OFTABLE.LOG_EGRESS_PIPELINE : true,
    );
    if (lf) {
      return { kind: 'lflow', uuid: lf.uuid, pipeline: lf.pipeline, tableId: lf.tableId, stage: lf.externalIds.get('stage-name') ?? '', match: lf.match, actions: lf.actions };
    }
    const pb = pbByCookie.get(cookie);
    if (pb) return { kind: 'port', uuid: pb.uuid, name: pb.logicalPort };
    const mc = mcByCookie.get(cookie);
    if (mc) return { kind: 'mcast', uuid: mc.uuid, name: mc.name };
    return { kind: 'chassis' };
  };
  const hops: TraceHop[] = [];
  const queue: { node: ChassisNode; port: number; frame: Uint8Array }[] = [{ node: start, port: start.vifPort(lport)!, frame }];
  while (queue.length && hops.length < maxHops) {
    const { node, port, frame: f } = queue.shift()!;
    const r: TraceResult = node.sw.trace(f, port);
    const raw: { table: number; flow: TraceNode['flow'] }[] = [];
    collectSteps(r.nodes, raw);
    for (const rc of r.recirculations ?? []) collectSteps(rc.nodes, raw);
    const steps: TraceStep[] = raw.map((s) => ({
      table: s.table,
      flow: s.flow ? formatFlowBrief(s.flow) : undefined,
      cookie: s.flow?.cookie ?? 0n,
      source: s.flow ? source(s.table, s.flow.cookie) : { kind: 'chassis' },
    }));
    const deliveries: string[] = [];
    const tunnels: string[] = [];
    const controller: number[] = [];
    for (const o of r.outputs) {
      if (o.kind === 'packet_in') {
        controller.push(o.packetIn?.tableId ?? -1);
        continue;
      }
      const lp = node.lportOfPort.get(o.port);
      if (lp !== undefined) {
        deliveries.push(lp);
        continue;
      }
      if (o.bytes.length >= 34 && u16(o.bytes, 12) === 0x0800 && [...node.tunnelByRemote.values()].includes(o.port)) {
        const dst = cluster.nodes.find((n) => parseIpv4(n.member.encapIp) === u32(o.bytes, 30));
        tunnels.push(dst?.name ?? '?');
        const src = u32(o.bytes, 26);
        const inPort = dst?.tunnelByRemote.get(src);
        if (dst && inPort !== undefined) queue.push({ node: dst, port: inPort, frame: o.bytes });
      }
    }
    hops.push({
      chassis: node.name,
      inPort: port,
      inPortName: node.sw.port(port)?.name ?? String(port),
      steps,
      deliveries,
      tunnels,
      controller,
      ofprotoTrace: formatTrace(r),
    });
  }
  if (queue.length) throw new ChassisError('loop', `the trace went through more than ${maxHops} hops`);
  return { hops };
}

function formatFlowBrief(flow: NonNullable<TraceNode['flow']>): string {
  return `priority=${flow.priority}${flow.cookie ? `,cookie=0x${flow.cookie.toString(16)}` : ''}`;
}

/** A cluster trace as text: per hop, each table step with its logical flow or physical source. */
export function formatClusterTrace(t: ClusterTrace): string {
  const out: string[] = [];
  for (const h of t.hops) {
    out.push(`${h.chassis}: in_port ${h.inPort} (${h.inPortName})`);
    for (const s of h.steps) {
      const src = s.source;
      let what: string;
      switch (src.kind) {
        case 'lflow':
          what = `${src.pipeline} table ${src.tableId} (${src.stage}): ${src.match} => ${src.actions}`;
          break;
        case 'port':
          what = `physical: port ${src.name}`;
          break;
        case 'mcast':
          what = `physical: multicast group ${src.name}`;
          break;
        default:
          what = s.flow ? 'ovn-controller' : 'no match';
      }
      out.push(`  table ${s.table}${s.flow ? ` ${s.flow}` : ''}: ${what}`);
    }
    for (const d of h.deliveries) out.push(`  -> deliver to ${d}`);
    for (const c of h.tunnels) out.push(`  -> Geneve to ${c}`);
    for (const c of h.controller) out.push(`  -> controller (pinctrl) from table ${c}`);
    if (!h.deliveries.length && !h.tunnels.length && !h.controller.length) out.push('  -> dropped');
  }
  return out.join('\n') + '\n';
}

