/**
 * `ovnts of-trace`: explain what an OpenFlow pipeline does with one packet, the way
 * `ovs-appctl ofproto/trace` does: from a microflow (`in_port=1,tcp,nw_dst=10.0.0.2,tcp_dst=80`)
 * or from a frame given in hex. A microflow is traced as `ofproto/trace FLOW` traces it, side
 * effects suppressed (a `learn` says so), or with `--generate` as `ofproto/trace -generate` (the
 * learned flow is shown); a frame is traced with side effects, as OVS traces packet bytes.
 */
import { ETHERNET_HEADER_LEN, fromHex, toHex } from '@ovnts/packet';
import { formatTrace, TextParseError } from '@ovnts/openflow';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import { readInputText } from '../files.js';
import type { Io } from '../io.js';
import { loadFlows, loadGroups, makeSwitch, parsePortList } from '../openflow-setup.js';

const spec: CommandSpec = {
  name: 'of-trace',
  summary: 'Trace one packet through an OpenFlow pipeline, as ovs-appctl ofproto/trace does',
  usage: 'ovnts of-trace --flows FILE [--groups FILE] [--ports LIST] (MICROFLOW [--generate] | --frame HEX --in-port N) [--json]',
  options: {
    flows: { kind: 'string', required: true, metavar: 'FILE', help: 'flows in ovs-ofctl add-flows syntax' },
    groups: { kind: 'string', metavar: 'FILE', help: 'groups in ovs-ofctl add-group syntax, one per line' },
    ports: { kind: 'string', metavar: 'LIST', help: 'switch ports (default: every port number the flows and the packet name)' },
    frame: { kind: 'string', metavar: 'HEX', help: 'the packet as hex bytes (with --in-port)' },
    'in-port': { kind: 'string', metavar: 'N', help: 'ingress port of --frame' },
    generate: { kind: 'flag', help: 'trace the microflow as ofproto/trace -generate: with side effects (learn shows the flow it installs)' },
    json: { kind: 'flag', help: 'print the trace as JSON (tables, actions, outputs with their bytes)' },
  },
  positionals: { min: 0, max: 1, names: 'MICROFLOW' },
};

/** Port numbers named in flow/group text and the microflow: in_port=N, output:N, port=N, bucket outputs. */
function impliedPorts(...texts: string[]): number[] {
  const out = new Set<number>();
  for (const t of texts) {
    for (const m of t.matchAll(/\b(?:in_port=|output:|output\(port=|watch_port:|port=)(\d+)/g)) {
      const n = Number(m[1]);
      if (n >= 1 && n <= 0xfeff) out.add(n);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** The `of-trace` command. */
export const ofTraceCommand = {
  spec,
  run(args: ParsedArgs, io: Io): number {
    const microflow = args.positionals[0];
    const hex = args.values.get('frame');
    const inPortText = args.values.get('in-port');
    if (microflow !== undefined && hex !== undefined) throw new UsageError('of-trace: give either MICROFLOW or --frame, not both');
    if (microflow === undefined && hex === undefined) throw new UsageError('of-trace: give a MICROFLOW or --frame HEX --in-port N');
    if (hex !== undefined && inPortText === undefined) throw new UsageError('of-trace: --frame needs --in-port N');
    if (hex !== undefined && args.flags.has('generate')) throw new UsageError('of-trace: --generate goes with a MICROFLOW (a --frame is always traced with side effects)');
    if (microflow !== undefined && inPortText !== undefined) throw new UsageError('of-trace: --in-port goes with --frame (a microflow names its in_port)');
    let frame: Uint8Array | undefined;
    let inPort: number | undefined;
    if (hex !== undefined) {
      try {
        frame = fromHex(hex);
      } catch {
        throw new UsageError(`of-trace: --frame: not an even-length hex string`);
      }
      // No port delivers a frame without a whole Ethernet header (nor can one be injected into
      // OVS's dummy ports: docs/testing.md), so there is nothing meaningful to trace.
      if (frame.length < ETHERNET_HEADER_LEN) {
        throw new UsageError(`of-trace: --frame: ${frame.length} byte${frame.length === 1 ? '' : 's'} is shorter than an Ethernet header (${ETHERNET_HEADER_LEN} bytes)`);
      }
      if (!/^\d+$/.test(inPortText!) || Number(inPortText) < 1 || Number(inPortText) > 0xfeff) {
        throw new UsageError(`of-trace: --in-port: ${JSON.stringify(inPortText)} is not a port number (1-65279)`);
      }
      inPort = Number(inPortText);
    }
    const flowsPath = args.values.get('flows')!;
    const groupsPath = args.values.get('groups');
    const read = (p: string) => readInputText(p, p === flowsPath ? 'flows file' : 'groups file');
    const portsText = args.values.get('ports');
    const ports = portsText
      ? parsePortList('of-trace', portsText, 'ports')
      : impliedPorts(read(flowsPath), groupsPath ? read(groupsPath) : '', microflow ?? `in_port=${inPort}`);
    const sw = makeSwitch(ports);
    if (groupsPath) loadGroups(sw, groupsPath);
    loadFlows(sw, flowsPath);
    let t;
    try {
      t = microflow !== undefined ? sw.trace(microflow, undefined, { generate: args.flags.has('generate') }) : sw.trace(frame!, inPort);
    } catch (e) {
      if (e instanceof TextParseError) throw new CliError(`bad microflow: ${e.message}`);
      throw e;
    }
    if (args.flags.has('json')) {
      // Bytes as hex; 64-bit values (cookies) as 0x-prefixed hex strings, since JSON has no bigint.
      const json = JSON.stringify(
        { ...t, outputs: t.outputs.map((o) => ({ ...o, bytes: toHex(o.bytes) })) },
        (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v),
        2,
      );
      io.out(`${json}\n`);
    } else io.out(formatTrace(t));
    return 0;
  },
};
