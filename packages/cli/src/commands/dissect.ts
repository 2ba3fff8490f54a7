/**
 * `ovnts dissect [--json] FILE`: one line per frame of a pcap or pcapng file, tshark-summary
 * style, or one JSON object per frame with every layer's fields (see dissect.ts).
 */
import { openCaptureFile, CaptureFormatError, LinkType } from '@ovnts/capture';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { dissectFrameDetailed, summarize } from '../dissect.js';

const spec: CommandSpec = {
  name: 'dissect',
  summary: 'Decode every frame of a pcap/pcapng capture (Ethernet to Geneve/VXLAN inner frames)',
  usage: 'ovnts dissect [--json] FILE',
  options: { json: { kind: 'flag', help: 'one JSON object per frame per line' } },
  positionals: { min: 1, max: 1, names: 'FILE (a pcap or pcapng capture)' },
};

/** Print the frames of `path` to `io`; returns the number of frames. */
export async function dissectFile(path: string, json: boolean, io: Io): Promise<number> {
  let index = 0;
  let t0: bigint | undefined;
  try {
    for await (const f of openCaptureFile(path)) {
      index++;
      if (f.linkType !== LinkType.ETHERNET) {
        const line = { index, len: f.origLen, layers: [], error: { layer: 'link', code: 'Unsupported', offset: 0, linkType: f.linkType } };
        io.out(json ? `${JSON.stringify(line)}\n` : `${String(index).padStart(5)} link type ${f.linkType} is not Ethernet\n`);
        continue;
      }
      const d = dissectFrameDetailed(f.data, f.origLen);
      if (json) {
        const line: Record<string, unknown> = { index, len: f.origLen, layers: d.layers };
        if (f.data.length < f.origLen) line.caplen = f.data.length;
        if (d.error) line.error = d.error;
        io.out(`${JSON.stringify(line)}\n`);
      } else {
        t0 ??= f.timestampNs;
        const rel = Number(f.timestampNs - t0) / 1e9;
        const s = summarize(d, f.origLen);
        const addrs = s.src ? `${s.src} → ${s.dst}` : '';
        io.out(`${String(index).padStart(5)} ${rel.toFixed(6).padStart(11)} ${addrs.padEnd(36)} ${s.proto.padEnd(7)} ${String(f.origLen).padStart(5)} ${s.info}\n`);
      }
    }
  } catch (e) {
    if (e instanceof CaptureFormatError) throw new CliError(`${path}: ${e.message} (after ${index} frame${index === 1 ? '' : 's'})`);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw new CliError(`cannot read ${path}: ${code}`);
    throw e;
  }
  return index;
}

/** The `dissect` command. */
export const dissectCommand = {
  spec,
  async run(args: ParsedArgs, io: Io): Promise<number> {
    await dissectFile(args.positionals[0]!, args.flags.has('json'), io);
    return 0;
  },
};
