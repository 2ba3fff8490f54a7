/**
 * Shared by `replay` and `of-trace`: a port-list parser and loading flow/group files into a
 * `Switch`, with failures turned into CLI errors that name the file and line.
 */
import { readFileSync } from 'node:fs';
import { OpenFlowError, Switch, TextParseError, type SwitchOptions } from '@ovnts/openflow';
import { CliError, UsageError } from './errors.js';

/** Parse `1,2,5-8` into sorted distinct OpenFlow port numbers (1..0xfeff). */
export function parsePortList(command: string, text: string, option: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new UsageError(`${command}: --${option}: ${JSON.stringify(part)} is not a port number or range (e.g. 1,2,5-8)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a < 1 || b > 0xfeff || a > b) throw new UsageError(`${command}: --${option}: ${JSON.stringify(part.trim())} is outside 1-65279 or an empty range`);
    if (b - a > 4096) throw new UsageError(`${command}: --${option}: range ${part.trim()} is too large (at most 4096 ports)`);
    for (let p = a; p <= b; p++) out.add(p);
  }
  return [...out].sort((x, y) => x - y);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Read a groups file (one `add-group` line each; `#` comments, blank lines) into the switch. */
export function loadGroups(sw: Switch, path: string): number {
  const lines = readText(path, 'groups file', ).split(/\r?\n/);
  let n = 0;
  for (let i = 0; i < lines.length; i++) {
    const body = lines[i]!.replace(/#.*/, '').trim();
    if (!body) continue;
    try {
      sw.addGroup(body);
      n++;
    } catch (e) {
      throw explain(e, path, i + 1);
    }
  }
  return n;
}

/** Read an `add-flows` file into the switch. */
export function loadFlows(sw: Switch, path: string): number {
  try {
    return sw.addFlows(readText(path, 'flows file')).length;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw explain(e, path);
  }
}

function explain(e: unknown, path: string, line?: number): Error {
  if (e instanceof TextParseError) {
    return new CliError(`${path}:${e.line ?? line ?? '?'}: ${e.message}`);
  }
  if (e instanceof OpenFlowError) {
    const m = /^line (\d+): (.*)$/s.exec(e.detail);
    const where = m ? m[1] : line;
    return new CliError(`${path}:${where ?? '?'}: the switch refuses this ${line ? 'group' : 'flow'}: ${e.errorName}${m ? `: ${m[2]}` : e.detail ? `: ${e.detail}` : ''}`);
  }
  return e instanceof Error ? e : new CliError(String(e));
}

/** A switch with the given ports. */
export function makeSwitch(ports: number[], opts: SwitchOptions = {}): Switch {
  const sw = new Switch(opts);
  for (const p of ports) sw.addPort({ number: p });
  return sw;
}
