/**
 * A small, strict command-line parser: declared options only, `--name value` and `--name=value`,
 * repeatable options collected in order, boolean flags, positional arguments counted. Anything
 * else is a `UsageError` naming the offending argument.
 */
import { UsageError } from './errors.js';

/** How one option is declared. */
export interface OptionSpec {
  /** `flag` takes no value; `string` takes one; `multi` takes one and may repeat. */
  kind: 'flag' | 'string' | 'multi';
  /** Required (for `string` and `multi`). */
  required?: boolean;
  /** One-line help. */
  help: string;
  /** Value placeholder for help text. */
  metavar?: string;
}

/** A command's declared options and positionals. */
export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Minimum and maximum positional arguments. */
  positionals: { min: number; max: number; names: string };
}

/** Parsed arguments. */
export interface ParsedArgs {
  flags: Set<string>;
  values: Map<string, string>;
  multi: Map<string, string[]>;
  positionals: string[];
}

/** Parse `argv` (after the command name) against `spec`. */
export function parseArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const out: ParsedArgs = { flags: new Set(), values: new Map(), multi: new Map(), positionals: [] };
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (onlyPositionals || !a.startsWith('--') || a === '-') {
      if (!onlyPositionals && a.startsWith('-') && a !== '-' && a.length > 1 && !/^-\d/.test(a)) {
        throw new UsageError(`${spec.name}: unknown option ${JSON.stringify(a)}`, spec.name);
      }
      out.positionals.push(a);
      continue;
    }
    if (a === '--') {
      onlyPositionals = true;
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const opt = spec.options[name];
    if (!opt) throw new UsageError(`${spec.name}: unknown option --${name}`, spec.name);
    if (opt.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`${spec.name}: option --${name} takes no value`, spec.name);
      out.flags.add(name);
      continue;
    }
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${spec.name}: option --${name} needs a value (${opt.metavar ?? 'VALUE'})`, spec.name);
      value = next;
      i++;
    }
    if (opt.kind === 'string') {
      if (out.values.has(name)) throw new UsageError(`${spec.name}: option --${name} given twice`, spec.name);
      out.values.set(name, value);
    } else {
      const list = out.multi.get(name) ?? [];
      list.push(value);
      out.multi.set(name, list);
    }
  }
  for (const [name, opt] of Object.entries(spec.options)) {
    if (opt.required && !out.values.has(name) && !out.multi.has(name)) {
      throw new UsageError(`${spec.name}: missing required option --${name} ${opt.metavar ?? 'VALUE'}`, spec.name);
    }
  }
  const n = out.positionals.length;
  if (n < spec.positionals.min) throw new UsageError(`${spec.name}: missing ${spec.positionals.names}`, spec.name);
  if (n > spec.positionals.max) {
    throw new UsageError(`${spec.name}: unexpected argument ${JSON.stringify(out.positionals[spec.positionals.max])}`, spec.name);
  }
  return out;
}

/** Help text for a command. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`usage: ${spec.usage}`, '', spec.summary, ''];
  const opts = Object.entries(spec.options);
  if (opts.length) {
    lines.push('options:');
    for (const [name, o] of opts) {
      const left = `  --${name}${o.kind === 'flag' ? '' : ` ${o.metavar ?? 'VALUE'}`}`;
      lines.push(`${left.padEnd(28)} ${o.help}${o.kind === 'multi' ? ' (repeatable)' : ''}`);
    }
  }
  return lines.join('\n');
}
