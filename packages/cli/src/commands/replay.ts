/**
 * `ovnts replay`: feed captures into an OpenFlow switch and write what each port transmits.
 * Frames of all inputs are merged in timestamp order (ties: the order of --in, then of the file);
 * each output keeps the timestamp of the frame that caused it.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureFormatError, LinkType, readCapture, writePcapFile, type CaptureFrame } from '@ovnts/capture';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { loadFlows, loadGroups, makeSwitch, parsePortList } from '../openflow-setup.js';

const spec: CommandSpec = {
  name: 'replay',
  summary: 'Replay captures through an OpenFlow 1.5 switch; write each port\'s output as pcap',
  usage: 'ovnts replay --flows FILE [--groups FILE] --ports LIST --in PORT=PCAP [--in ...] --out-dir DIR',
  options: {
    flows: { kind: 'string', required: true, metavar: 'FILE', help: 'flows in ovs-ofctl add-flows syntax' },
    groups: { kind: 'string', metavar: 'FILE', help: 'groups in ovs-ofctl add-group syntax, one per line' },
    ports: { kind: 'string', required: true, metavar: 'LIST', help: 'switch ports, e.g. 1,2,3,4 or 1-4' },
    in: { kind: 'multi', required: true, metavar: 'PORT=PCAP', help: 'a capture to receive on a port' },
    'out-dir': { kind: 'string', required: true, metavar: 'DIR', help: 'where <port>.pcap files are written' },
  },
  positionals: { min: 0, max: 0, names: '' },
};

interface Input {
  port: number;
  path: string;
  seq: number;
  frame: CaptureFrame;
}

/** The `replay` command. */
export const replayCommand = {
  spec,
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const ports = parsePortList('replay', args.values.get('ports')!, 'ports');
    const inputs: Input[] = [];
    let seq = 0;
    for (const spec of args.multi.get('in')!) {
      const m = /^(\d+)=(.+)$/.exec(spec);
      if (!m) throw new UsageError(`replay: --in ${JSON.stringify(spec)}: expected PORT=PCAP`);
      const port = Number(m[1]);
      const path = m[2]!;
      if (!ports.includes(port)) throw new UsageError(`replay: --in ${spec}: port ${port} is not in --ports`);
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(path);
      } catch (e) {
        throw new CliError(`cannot read capture ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      try {
        for (const frame of readCapture(bytes)) {
          if (frame.linkType !== LinkType.ETHERNET) throw new CliError(`${path}: frame ${seq + 1}: link type ${frame.linkType} is not Ethernet`);
          inputs.push({ port, path, seq: seq++, frame });
        }
      } catch (e) {
        if (e instanceof CaptureFormatError) throw new CliError(`${path}: ${e.message}`);
        throw e;
      }
    }
    inputs.sort((a, b) => (a.frame.timestampNs < b.frame.timestampNs ? -1 : a.frame.timestampNs > b.frame.timestampNs ? 1 : a.seq - b.seq));

    const out = new Map<number, { data: Uint8Array; timestampNs: bigint }[]>(ports.map((p) => [p, []]));
    let now = 0n;
    const sw = makeSwitch(ports, { onOutput: (port, frame) => out.get(port)?.push({ data: frame.slice(), timestampNs: now }) });
    const flowsPath = args.values.get('flows')!;
    const groupsPath = args.values.get('groups');
    const nGroups = groupsPath ? loadGroups(sw, groupsPath) : 0;
    const nFlows = loadFlows(sw, flowsPath);

    for (const i of inputs) {
      now = i.frame.timestampNs;
      sw.receive(i.port, i.frame.data);
    }

    const dir = args.values.get('out-dir')!;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new CliError(`cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    for (const [port, frames] of out) {
      await writePcapFile(join(dir, `${port}.pcap`), frames, { format: 'pcap', linkType: LinkType.ETHERNET });
    }
    io.out(
      `replayed ${inputs.length} frame${inputs.length === 1 ? '' : 's'} through ${nFlows} flows` +
        `${nGroups ? ` and ${nGroups} groups` : ''} on ports ${ports.join(',')}\n` +
        [...out].map(([p, f]) => `  ${join(dir, `${p}.pcap`)}: ${f.length} frame${f.length === 1 ? '' : 's'}\n`).join(''),
    );
    return 0;
  },
};

