/**
 * Running real tshark over frames we build, for tests that check our codecs against Wireshark's
 * dissectors. Frames are written to a capture in a fresh temporary folder with our own
 * `PcapWriter` / `PcapngWriter` (so every such test also checks that the captures we write are
 * valid), tshark is run on it synchronously, and the folder is removed again even when tshark
 * fails. Callers check `requireTools('...', ['tshark'])` first.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapngWriter, PcapWriter, type ByteOrder, type TsResolution, type WriteFrame } from '@ovnts/capture';

/** A frame to write: bare bytes, or a `WriteFrame` (with `origLen`, timestamp, interface). */
export type FrameLike = Uint8Array | WriteFrame;

/** How to write a temporary capture. */
export interface CaptureFileOptions {
  /** `pcap` (default) or `pcapng`. */
  format?: 'pcap' | 'pcapng';
  /** Byte order of the file (default: this machine's). */
  byteOrder?: ByteOrder;
  /** Timestamp resolution (pcap default `us`, pcapng default `ns`). */
  resolution?: TsResolution;
  /** pcapng only: number of Ethernet interfaces to declare (frames pick one with `interfaceId`). */
  interfaces?: number;
  /** The LINKTYPE_* of the file (or of every pcapng interface); default Ethernet. */
  linkType?: number;
}

/** A capture file in its own temporary folder; `remove()` deletes the folder. */
export interface TempCapture {
  /** The capture file's path. */
  file: string;
  /** Delete the temporary folder (idempotent). */
  remove(): void;
}

function asWriteFrame(f: FrameLike, i: number): WriteFrame {
  // Bare frames get a distinct, increasing timestamp (one second apart) so tshark's time
  // columns and relative times are well defined.
  return f instanceof Uint8Array ? { data: f, timestampNs: BigInt(1_700_000_000 + i) * 1_000_000_000n } : f;
}

/** The bytes of a pcap or pcapng capture of `frames`, written by our own writers. */
export function captureBytes(frames: readonly FrameLike[], opts: CaptureFileOptions = {}): Uint8Array {
  if (opts.format === 'pcapng') {
    const n = opts.interfaces ?? 1;
    const interfaces = Array.from({ length: n }, (_, i) => ({ name: `if${i}`, ...(opts.resolution ? { tsresol: opts.resolution } : {}), ...(opts.linkType !== undefined ? { linkType: opts.linkType } : {}) }));
    const w = new PcapngWriter({ interfaces, ...(opts.byteOrder ? { byteOrder: opts.byteOrder } : {}) });
    frames.forEach((f, i) => w.write(asWriteFrame(f, i)));
    return w.toBuffer();
  }
  const w = new PcapWriter({ ...(opts.byteOrder ? { byteOrder: opts.byteOrder } : {}), ...(opts.resolution ? { resolution: opts.resolution } : {}), ...(opts.linkType !== undefined ? { linkType: opts.linkType } : {}) });
  frames.forEach((f, i) => w.write(asWriteFrame(f, i)));
  return w.toBuffer();
}

/** Write `frames` to a capture in a new temporary folder (remove it with `remove()`). */
export function writeTempCapture(frames: readonly FrameLike[], opts: CaptureFileOptions = {}): TempCapture {
  const dir = mkdtempSync(join(tmpdir(), 'ovnts-tshark-'));
  const file = join(dir, opts.format === 'pcapng' ? 'frames.pcapng' : 'frames.pcap');
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    writeFileSync(file, captureBytes(frames, opts));
  } catch (e) {
    remove();
    throw e;
  }
  return { file, remove };
}

/** Run `fn` on a temporary capture of `frames`, removing it afterwards (also on failure). */
export function withTempCapture<T>(frames: readonly FrameLike[], fn: (file: string) => T, opts: CaptureFileOptions = {}): T {
  const c = writeTempCapture(frames, opts);
  try {
    return fn(c.file);
  } finally {
    c.remove();
  }
}

/** Run tshark with `args` and return its standard output (stderr is dropped; big outputs allowed). */
export function runTshark(args: readonly string[]): string {
  return execFileSync('tshark', [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 30 });
}

/** Options of `tsharkFields`. */
export interface TsharkFieldsOptions {
  /** tshark preferences, `name:value` each (passed as `-o`). */
  prefs?: readonly string[];
  /** Field separator (default tab). */
  separator?: string;
  /** Separator of a field's occurrences (default `,`). */
  aggregator?: string;
  /** Which occurrences: `a` all (default), `f` first, `l` last. */
  occurrence?: 'a' | 'f' | 'l';
  /** Extra tshark arguments (e.g. `-d udp.port==9999,vxlan`). */
  extraArgs?: readonly string[];
  /** How to write the capture when frames (not a file) are given. */
  capture?: CaptureFileOptions;
}

/**
 * `tshark -T fields` over `source` (frames, written to a temporary capture, or a capture file's
 * path): one row per frame, one string per field, occurrences joined by the aggregator. For
 * the third argument a plain array is taken as the preferences.
 */
export function tsharkFields(source: readonly FrameLike[] | string, fields: readonly string[], opts: TsharkFieldsOptions | readonly string[] = {}): string[][] {
  const o = fieldsOptions(opts);
  const run = (file: string): string[][] => fieldRows(runTshark(fieldsArgs(file, fields, o)), o);
  return typeof source === 'string' ? run(source) : withTempCapture(source, run, o.capture);
}

/**
 * `tsharkFields` over a capture file without blocking the event loop (for long runs inside a
 * test worker, whose RPC with the test runner must keep flowing).
 */
export async function tsharkFieldsAsync(file: string, fields: readonly string[], opts: TsharkFieldsOptions | readonly string[] = {}): Promise<string[][]> {
  const o = fieldsOptions(opts);
  const { stdout } = await promisify(execFile)('tshark', fieldsArgs(file, fields, o), { encoding: 'utf8', maxBuffer: 1 << 30 });
  return fieldRows(stdout, o);
}

function fieldsOptions(opts: TsharkFieldsOptions | readonly string[]): TsharkFieldsOptions {
  return Array.isArray(opts) ? { prefs: opts as readonly string[] } : (opts as TsharkFieldsOptions);
}

function fieldsArgs(file: string, fields: readonly string[], o: TsharkFieldsOptions): string[] {
  const sep = o.separator ?? '\t';
  return [
    '-r', file, '-T', 'fields',
    '-E', `separator=${sep === '\t' ? '/t' : sep}`,
    '-E', `aggregator=${o.aggregator ?? ','}`,
    '-E', `occurrence=${o.occurrence ?? 'a'}`,
    ...(o.prefs ?? []).flatMap((p) => ['-o', p]),
    ...(o.extraArgs ?? []),
    ...fields.flatMap((f) => ['-e', f]),
  ];
}

function fieldRows(out: string, o: TsharkFieldsOptions): string[][] {
  if (out === '') return [];
  const sep = o.separator ?? '\t';
  return out.replace(/\n$/, '').split('\n').map((l) => l.split(sep));
}

/** Like `tsharkFields`, but each row is an object keyed by field name. */
export function tsharkRecords(source: readonly FrameLike[] | string, fields: readonly string[], opts: TsharkFieldsOptions | readonly string[] = {}): Record<string, string>[] {
  return tsharkFields(source, fields, opts).map((row) => Object.fromEntries(fields.map((f, i) => [f, row[i] ?? ''])));
}

/** tshark's Info column for each frame (trimmed), with `prefs` as `-o` preferences. */
export function tsharkInfo(source: readonly FrameLike[] | string, prefs: readonly string[] = []): string[] {
  const run = (file: string): string[] =>
    runTshark(['-r', file, '-o', 'gui.column.format:"Info","%i"', ...prefs.flatMap((p) => ['-o', p])])
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.trim());
  return typeof source === 'string' ? run(source) : withTempCapture(source, run);
}

/**
 * `tshark -T json --no-duplicate-keys` over `source`: one parsed object per frame (its
 * `_source.layers`); a protocol or field that occurs more than once becomes an array.
 */
export function tsharkJson(source: readonly FrameLike[] | string, prefs: readonly string[] = []): Record<string, unknown>[] {
  const run = (file: string): Record<string, unknown>[] => {
    const out = runTshark(['-r', file, '-T', 'json', '--no-duplicate-keys', ...prefs.flatMap((p) => ['-o', p])]);
    const arr = JSON.parse(out) as { _source: { layers: Record<string, unknown> } }[];
    return arr.map((p) => p._source.layers);
  };
  return typeof source === 'string' ? run(source) : withTempCapture(source, run);
}
