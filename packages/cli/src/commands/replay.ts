/**
 * `ovnts replay`: feed captures into an OpenFlow switch and write what each port transmits.
 * Frames of all inputs are merged in timestamp order (ties: the order of --in, then of the file);
 * each output keeps the timestamp of the frame that caused it.
 */
import { join } from 'node:path';
import { CaptureFormatError, LinkType, readCapture, writePcapFile, type CaptureFrame } from '@ovnts/capture';
import { VirtualClock, type Switch } from '@ovnts/openflow';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import { checkOutputs, prepareOutDir, readInputFile } from '../files.js';
import type { Io } from '../io.js';
import { loadFlows, loadGroups, makeSwitch, parsePortList } from '../openflow-setup.js';

const spec: CommandSpec = {
  name: 'replay',
  summary: 'Replay captures through an OpenFlow 1.5 switch; write each port\'s output as pcap',
  usage: 'ovnts replay --flows FILE [--groups FILE] --ports LIST --in PORT=PCAP [--in ...] --out-dir DIR [--force]',
  options: {
    flows: { kind: 'string', required: true, metavar: 'FILE', help: 'flows in ovs-ofctl add-flows syntax' },
    groups: { kind: 'string', metavar: 'FILE', help: 'groups in ovs-ofctl add-group syntax, one per line' },
    ports: { kind: 'string', required: true, metavar: 'LIST', help: 'switch ports, e.g. 1,2,3,4 or 1-4' },
    in: { kind: 'multi', required: true, metavar: 'PORT=PCAP', help: 'a capture to receive on a port' },
    'out-dir': { kind: 'string', required: true, metavar: 'DIR', help: 'where <port>.pcap files are written (created if missing)' },
    force: { kind: 'flag', help: 'overwrite existing <port>.pcap files (never an input)' },
  },
  positionals: { min: 0, max: 0, names: '' },
};

/** A frame of a capture and the port it is received on. */
export interface PortFrame {
  port: number;
  path: string;
  seq: number;
  frame: CaptureFrame;
}

/**
 * The frames of captures received on ports (`--in PORT=PCAP`, of `replay` and `switch`), merged
 * in timestamp order (ties: the order of the inputs, then of the file); Ethernet only. `CliError`
 * for a file that cannot be read, is corrupt, or holds another link type.
 */
export function readPortCaptures(list: readonly { port: number; path: string }[]): PortFrame[] {
  const inputs: PortFrame[] = [];
  let seq = 0;
  for (const { port, path } of list) {
    const bytes = readInputFile(path, 'capture');
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
  return inputs;
}

/** What `replay` needs: the switch's files and ports, and the captures per port. */
export interface ReplayInput {
  flowsPath: string;
  groupsPath?: string;
  ports: number[];
  inputs: { port: number; path: string }[];
  /** Called once the switch and the captures are loaded, before the first frame runs (the command checks its outputs here). */
  beforeRun?: () => void;
}

/** What came out: per port, the frames in order with the timestamp of the frame that caused them. */
export interface ReplayResult {
  /** The switch after the replay (its tables, learned flows, counters). */
  switch: Switch;
  frames: number;
  flows: number;
  groups: number;
  out: Map<number, { data: Uint8Array; timestampNs: bigint }[]>;
  /** Frames dropped because their translation hit a limit: nested too deep, or too many resubmits. */
  limitDrops: { recursion: number; resubmits: number };
}

/** Run captures through a switch built from flow/group files (the body of `ovnts replay`). */
export function replay(r: ReplayInput): ReplayResult {
  for (const { port, path } of r.inputs) {
    if (!r.ports.includes(port)) throw new UsageError(`replay: --in ${port}=${path}: port ${port} is not in --ports`);
  }
  const inputs = readPortCaptures(r.inputs);
  const out = new Map<number, { data: Uint8Array; timestampNs: bigint }[]>(r.ports.map((p) => [p, []]));
  let now = 0n;
  // The switch runs on a virtual clock that follows the capture's timestamps (from the first
  // frame): flow durations, idle/hard timeouts and conntrack expiry happen in capture time.
  const clock = new VirtualClock(0);
  const t0 = inputs[0]?.frame.timestampNs ?? 0n;
  const sw = makeSwitch(r.ports, { clock, onOutput: (port, frame) => out.get(port)?.push({ data: frame.slice(), timestampNs: now }) });
  const groups = r.groupsPath ? loadGroups(sw, r.groupsPath) : 0;
  const flows = loadFlows(sw, r.flowsPath);
  r.beforeRun?.();
  const limitDrops = { recursion: 0, resubmits: 0 };
  for (const i of inputs) {
    now = i.frame.timestampNs;
    const ms = Number(now - t0) / 1e6;
    if (ms > clock.now()) clock.set(ms);
    sw.receive(i.port, i.frame.data);
    const limit = sw.lastTranslationLimit();
    if (limit) limitDrops[limit]++;
  }
  return { switch: sw, frames: inputs.length, flows, groups, out, limitDrops };
}

/** The `replay` command. */
export const replayCommand = {
  spec,
  async run(args: ParsedArgs, io: Io): Promise<number> {
    const ports = parsePortList('replay', args.values.get('ports')!, 'ports');
    const inputs = args.multi.get('in')!.map((text) => {
      const m = /^(\d+)=(.+)$/.exec(text);
      if (!m) throw new UsageError(`replay: --in ${JSON.stringify(text)}: expected PORT=PCAP`);
      return { port: Number(m[1]), path: m[2]! };
    });
    const groupsPath = args.values.get('groups');
    const flowsPath = args.values.get('flows')!;
    const dir = args.values.get('out-dir')!;
    // Everything that would stop the writes is checked once the inputs are loaded, before any
    // frame runs and before anything is written.
    const beforeRun = (): void => {
      prepareOutDir('replay', dir);
      const outputs = ports.map((p) => join(dir, `${p}.pcap`));
      checkOutputs('replay', outputs, [flowsPath, ...(groupsPath ? [groupsPath] : []), ...inputs.map((i) => i.path)], args.flags.has('force'));
    };
    const res = replay({ flowsPath, ...(groupsPath ? { groupsPath } : {}), ports, inputs, beforeRun });
    for (const [port, frames] of res.out) {
      const file = join(dir, `${port}.pcap`);
      try {
        await writePcapFile(file, frames, { format: 'pcap', linkType: LinkType.ETHERNET });
      } catch (e) {
        throw new CliError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e))}`);
      }
    }
    const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
    const { recursion, resubmits } = res.limitDrops;
    io.out(
      `replayed ${plural(res.frames, 'frame')} through ${res.flows} flows` +
        `${res.groups ? ` and ${res.groups} groups` : ''} on ports ${ports.join(',')}\n` +
        [...res.out].map(([p, f]) => `  ${join(dir, `${p}.pcap`)}: ${plural(f.length, 'frame')}\n`).join('') +
        (recursion ? `  ${plural(recursion, 'frame')} dropped: translation nested over 64 deep (resubmit/goto_table recursion; OVS drops these too)\n` : '') +
        (resubmits ? `  ${plural(resubmits, 'frame')} dropped: over 4096 resubmits in one translation (OVS drops these too)\n` : ''),
    );
    return 0;
  },
};
