/**
 * Files the commands read and write, checked before anything is done (issue 14, item 7).
 *
 * Reading: a path is opened non-blocking and `fstat`ed first. A regular file is read up to the
 * size `fstat` reports, never "until EOF": `/proc/kmsg` (a regular file of size 0 whose reads
 * block) reads as an empty file instead of hanging. A FIFO (`--nb <(ovsdb-client backup ...)`) is
 * read until its writer closes it, as `cat` would, up to `MAX_STREAM_BYTES`. A character device
 * (`/dev/zero`, a terminal), a socket or a directory is refused with what it is. Standard input
 * is read only when the user names it with `-` (`dissect -`).
 *
 * Writing: `checkOutputs` runs before a command writes anything. Every output that exists must be
 * a regular file and is refused without `--force`; an output that is one of the command's inputs
 * (the same file by device and inode, so through any path, symlink or hard link) is refused even
 * with `--force`. `--out-dir` naming something that exists but is not a directory says so.
 */
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { loadNb, loadSb, NbError, SbError, type NbDatabase, type SbDatabase } from '@ovnts/ovn';
import { CliError, UsageError } from './errors.js';

/** What kind of file system object `st` is, in words. */
function kind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

/**
 * Open `path` without blocking and `fstat` it; a regular file or a FIFO is returned open (the
 * caller closes `fd`), anything else is refused with what it is. `CliError` either way.
 */
function openInput(path: string, what: string): { fd: number; st: Stats } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new CliError(`cannot read ${what} ${path}: ${errno(e)}`);
  }
  const st = fstatSync(fd);
  if (st.isFile() || st.isFIFO()) return { fd, st };
  closeSync(fd);
  throw new CliError(`cannot read ${what} ${path}: ${kind(st)}, not a regular file or a pipe`);
}

/**
 * Read the file at `path` (`what` names it in errors: "capture", "flows file", ...): a regular
 * file up to the size `fstat` reports, without blocking; a FIFO until its writer closes it.
 * `CliError` when it cannot be opened or is something else.
 */
export function readInputFile(path: string, what: string): Buffer {
  const { fd, st } = openInput(path, what);
  try {
    if (st.isFIFO()) return readPipe(path, what);
    if (st.size > bufferConstants.MAX_LENGTH) throw new CliError(`cannot read ${what} ${path}: ${st.size} bytes is more than one buffer holds`);
    const buf = Buffer.allocUnsafe(st.size);
    let n = 0;
    while (n < st.size) {
      let k: number;
      try {
        k = readSync(fd, buf, n, st.size - n, n);
      } catch (e) {
        throw new CliError(`cannot read ${what} ${path}: ${errno(e)}`);
      }
      if (k === 0) break; // the file shrank while we read it
      n += k;
    }
    return n === st.size ? buf : buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The most a command reads from a pipe (1 GiB). */
export const MAX_STREAM_BYTES = 1 << 30;

/** Read a FIFO until its writer closes it (blocking, like `cat`), at most `MAX_STREAM_BYTES`. */
function readPipe(path: string, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (e) {
    throw new CliError(`cannot read ${what} ${path}: ${errno(e)}`);
  }
  try {
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(1 << 16);
      let k: number;
      try {
        k = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        throw new CliError(`cannot read ${what} ${path}: ${errno(e)}`);
      }
      if (k === 0) break;
      total += k;
      if (total > MAX_STREAM_BYTES) throw new CliError(`cannot read ${what} ${path}: more than ${MAX_STREAM_BYTES} bytes`);
      parts.push(chunk.subarray(0, k));
    }
    return Buffer.concat(parts, total);
  } finally {
    closeSync(fd);
  }
}

/** `readInputFile` as UTF-8 text. */
export function readInputText(path: string, what: string): string {
  return readInputFile(path, what).toString('utf8');
}

/**
 * Check that `path` names a regular file or a FIFO, without reading it (for inputs that are
 * streamed); returns its `Stats`. `CliError` otherwise.
 */
export function checkInputFile(path: string, what: string): Stats {
  const { fd, st } = openInput(path, what);
  closeSync(fd);
  return st;
}

/** Make sure `dir` is a directory (creating it and its parents if missing); `command` and `option` name it in errors. */
export function prepareOutDir(command: string, dir: string, option = '--out-dir'): void {
  let st: Stats | undefined;
  try {
    st = statSync(dir);
  } catch (e) {
    if (errno(e) === 'ENOTDIR') throw new UsageError(`${command}: ${option} ${dir}: a path through a file, not a directory`);
    if (errno(e) !== 'ENOENT') throw new CliError(`cannot use ${option} ${dir}: ${errno(e)}`);
  }
  if (st && !st.isDirectory()) throw new UsageError(`${command}: ${option} ${dir}: ${kind(st) === 'not a regular file' ? 'a file' : kind(st)}, not a directory`);
  if (st) return;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = errno(e);
    // A path through a file (`file/sub`) is ENOTDIR.
    if (code === 'ENOTDIR' || code === 'EEXIST') throw new UsageError(`${command}: ${option} ${dir}: a path through a file, not a directory`);
    throw new CliError(`cannot create ${option} ${dir}: ${code}`);
  }
}

/**
 * Refuse outputs that would overwrite an input (always) or an existing file (unless `force`), or
 * that exist as something other than a regular file (always: writing to a FIFO or a device could
 * block or do harm). `inputs` are the command's input paths (files that do not exist are ignored).
 */
export function checkOutputs(command: string, outputs: readonly string[], inputs: readonly string[], force: boolean): void {
  const ids = new Map<string, string>();
  for (const p of inputs) {
    try {
      const st = statSync(p);
      ids.set(`${st.dev}:${st.ino}`, p);
    } catch {
      // an input that cannot be read is reported when it is read
    }
  }
  for (const out of outputs) {
    let st: Stats;
    try {
      st = statSync(out);
    } catch (e) {
      if (errno(e) === 'ENOENT') continue;
      throw new CliError(`cannot write ${out}: ${errno(e)}`);
    }
    const same = ids.get(`${st.dev}:${st.ino}`);
    if (same !== undefined) throw new UsageError(`${command}: output ${out} is the input ${same}; it would be overwritten (choose another --out-dir)`);
    if (!st.isFile()) throw new CliError(`cannot write ${out}: it exists and is ${kind(st) === 'not a regular file' ? 'not a regular file' : kind(st)}`);
    if (!force) throw new CliError(`${out} exists; not overwriting it without --force`);
  }
}

/** Load the northbound database file at `path` (read as `readInputFile` does); problems name the file. */
export function readNbFile(path: string): NbDatabase {
  const bytes = readInputFile(path, 'northbound database');
  try {
    return loadNb(bytes);
  } catch (e) {
    if (e instanceof NbError) throw new CliError(`${path}: ${e.message}`);
    throw e;
  }
}

/** A southbound database file (standalone OVSDB file or JSON dump), read as `readNbFile` reads one. */
export function readSbFile(path: string): SbDatabase {
  const bytes = readInputFile(path, 'southbound database');
  try {
    return loadSb(bytes);
  } catch (e) {
    if (e instanceof SbError) throw new CliError(`${path}: ${e.message}`);
    throw e;
  }
}
