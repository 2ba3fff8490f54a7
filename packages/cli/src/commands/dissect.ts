/**
 * `ovnts dissect [--json] FILE|-`: one line per frame of a pcap or pcapng file (or of standard
 * input with `-`), tshark-summary style, or one JSON object per frame with every layer's fields
 * (see dissect.ts). Link types: Ethernet, Linux cooked SLL/SLL2 (`tcpdump -i any`), raw IP.
 */
import { createReadStream } from 'node:fs';
import { readCaptureStream, CaptureFormatError, type CaptureFrame } from '@ovnts/capture';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { CliError } from '../errors.js';
import { checkInputFile } from '../files.js';
import type { Io } from '../io.js';
import { DISSECT_LINK_TYPES, dissectFrameDetailed, summarize } from '../dissect.js';

const spec: CommandSpec = {
  name: 'dissect',
  summary: 'Decode every frame of a pcap/pcapng capture (Ethernet to Geneve/VXLAN inner frames)',
  usage: 'ovnts dissect [--json] FILE|-',
  options: { json: { kind: 'flag', help: 'one JSON object per frame per line' } },
  positionals: { min: 1, max: 1, names: 'FILE (a pcap or pcapng capture, or - for standard input)' },
};

/** Print the frames of `path` (`-`: `io.stdin`) to `io`; returns the number of frames. */
export async function dissectFile(path: string, json: boolean, io: Io): Promise<number> {
  let index = 0;
  let t0: bigint | undefined;
  let frames: AsyncIterable<CaptureFrame>;
  const name = path === '-' ? 'standard input' : path;
  if (path === '-') {
    if (!io.stdin) throw new CliError('dissect: no standard input to read');
    frames = readCaptureStream(io.stdin);
  } else {
    // A device or directory is refused here rather than read forever; a regular file is read up
    // to the size it has now (`/proc/kmsg`, size 0 and reads that block, is an empty file); a
    // pipe (`dissect <(tcpdump -w - ...)`) until its writer closes it.
    const st = checkInputFile(path, 'capture');
    if (st.isFIFO()) frames = readCaptureStream(createReadStream(path, { highWaterMark: 1 << 20 }));
    else frames = readCaptureStream(st.size === 0 ? [] : createReadStream(path, { start: 0, end: st.size - 1, highWaterMark: 1 << 20 }));
  }
  try {
    for await (const f of frames) {
      index++;
      if (!DISSECT_LINK_TYPES.includes(f.linkType)) {
        const line = { index, len: f.origLen, layers: [], error: { layer: 'link', code: 'Unsupported', offset: 0, linkType: f.linkType } };
        io.out(json ? `${JSON.stringify(line)}\n` : `${String(index).padStart(5)} link type ${f.linkType} is not supported (Ethernet 1, Linux cooked 113 and 276, raw IP 101)\n`);
        continue;
      }
      const d = dissectFrameDetailed(f.data, f.origLen, f.linkType);
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
    if (e instanceof CaptureFormatError) throw new CliError(`${name}: ${e.message} (after ${index} frame${index === 1 ? '' : 's'})`);
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') throw new CliError(`cannot read ${name}: ${code}`);
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
