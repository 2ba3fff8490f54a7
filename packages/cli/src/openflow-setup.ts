/**
 * Shared by `replay` and `of-trace`: a port-list parser and loading flow/group files into a
 * `Switch`, with failures turned into CLI errors that name the file and line.
 */
import { OpenFlowError, Switch, TextParseError, type SwitchOptions } from '@ovnts/openflow';
import { CliError, UsageError } from './errors.js';
import { readInputText } from './files.js';

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

/** At most `max` characters of `text`, cut in the middle with the length said (a 10 MB token stays readable). */
export function clip(text: string, max = 200): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 30) / 2);
  return `${text.slice(0, half)}... (${text.length} characters) ...${text.slice(-half)}`;
}

/**
 * The lines of a flows or groups file with what each holds: the body (the text before any `#`,
 * trimmed) and the 0-based column where the body starts in the line.
 */
function bodies(text: string): { line: number; body: string; col: number; raw: string }[] {
  const out: { line: number; body: string; col: number; raw: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const hash = raw.indexOf('#');
    const before = hash >= 0 ? raw.slice(0, hash) : raw;
    const body = before.trim();
    if (body) out.push({ line: i + 1, body, col: before.length - before.trimStart().length, raw });
  }
  return out;
}

/** Add every line of a flows or groups file with `add`; errors say `file:line:col` once. */
function loadLines(path: string, what: 'flow' | 'group', add: (body: string) => unknown): number {
  let n = 0;
  for (const l of bodies(readInputText(path, `${what}s file`))) {
    try {
      add(l.body);
      n++;
    } catch (e) {
      throw explain(e, path, l.line, l.col, l.raw, what);
    }
  }
  return n;
}

/** Read a groups file (one `add-group` line each; `#` comments, blank lines) into the switch. */
export function loadGroups(sw: Switch, path: string): number {
  return loadLines(path, 'group', (body) => sw.addGroup(body));
}

/** Read an `add-flows` file (one flow per line; `#` comments, blank lines) into the switch. */
export function loadFlows(sw: Switch, path: string): number {
  return loadLines(path, 'flow', (body) => sw.addFlow(body));
}

/**
 * A parse error as `file:line:col: what`, then the line with a caret under the column (both
 * clipped around the column on long lines); a refusal by the switch as `file:line: ...`.
 */
function explain(e: unknown, path: string, line: number, col: number, raw: string, what: 'flow' | 'group'): Error {
  if (e instanceof TextParseError) {
    const at = col + e.position;
    const from = Math.max(0, at - 60);
    const shown = raw.slice(from, at + 60);
    const excerpt = `${from > 0 ? '...' : ''}${shown}${at + 60 < raw.length ? '...' : ''}`;
    // Tabs stay tabs under the excerpt, so the caret lines up however the terminal shows them.
    const caret = `${from > 0 ? '   ' : ''}${raw.slice(from, at).replace(/[^\t]/g, ' ')}^`;
    return new CliError(`${path}:${line}:${at + 1}: ${clip(e.expected)}\n  ${excerpt}\n  ${caret}`);
  }
  if (e instanceof OpenFlowError) {
    return new CliError(`${path}:${line}: the switch refuses this ${what}: ${e.errorName}${e.detail ? `: ${clip(e.detail)}` : ''}`);
  }
  return e instanceof Error ? e : new CliError(String(e));
}

/** A switch with the given ports. */
export function makeSwitch(ports: number[], opts: SwitchOptions = {}): Switch {
  const sw = new Switch(opts);
  for (const p of ports) sw.addPort({ number: p });
  return sw;
}
