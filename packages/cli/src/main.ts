#!/usr/bin/env node
/**
 * The `ovnts` command. Each subcommand declares its options (see args.ts) and runs against an
 * injectable `Io`, so tests drive it in-process. Exit status: 0 success, 1 failure of a
 * well-formed command, 2 bad command line.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commandHelp, parseArgs, type CommandSpec, type ParsedArgs } from './args.js';
import { CliError, UsageError } from './errors.js';
import { processIo, type Io } from './io.js';
import { dissectCommand } from './commands/dissect.js';
import { demoCommand } from './commands/demo.js';
import { northdCommand } from './commands/northd.js';
import { replayCommand } from './commands/replay.js';
import { ofTraceCommand } from './commands/of-trace.js';
import { ovnTraceCommand } from './commands/ovn-trace.js';
import { chassisFlowsCommand } from './commands/chassis-flows.js';
import { chassisRunCommand } from './commands/chassis-run.js';
import { ovnSendCommand } from './commands/ovn-send.js';
import { kubeCommand } from './commands/kube.js';
import { nbServerCommand } from './commands/nb-server.js';
import { switchCommand } from './commands/switch.js';

/** A subcommand: its declaration and its body. */
export interface Command {
  spec: CommandSpec;
  run(args: ParsedArgs, io: Io): Promise<number> | number;
}

/** Every subcommand, by name. */
export const commands: Record<string, Command> = {
  'chassis-flows': chassisFlowsCommand,
  'chassis-run': chassisRunCommand,
  'ovn-send': ovnSendCommand,
  demo: demoCommand,
  dissect: dissectCommand,
  kube: kubeCommand,
  northd: northdCommand,
  'nb-server': nbServerCommand,
  'of-trace': ofTraceCommand,
  'ovn-trace': ovnTraceCommand,
  replay: replayCommand,
  switch: switchCommand,
};

function topHelp(): string {
  const names = Object.keys(commands).sort();
  const width = Math.max(...names.map((n) => n.length));
  return [
    'usage: ovnts COMMAND [OPTIONS] [ARGS]',
    '',
    'ovn-ts: a pure-TypeScript OpenFlow switch and OVN emulator.',
    '',
    'ovnts --version prints the version.',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${commands[n]!.spec.summary}`),
    '',
    "Run 'ovnts COMMAND --help' for a command's options.",
  ].join('\n');
}

/** The version of the `ovnts` command (its package's). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Run `ovnts` with `argv` (without node and script); returns the exit status. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    io.out(`ovnts ${version()}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? rest[0] : undefined;
    if (target && commands[target]) io.out(commandHelp(commands[target]!.spec) + '\n');
    else io.out(topHelp() + '\n');
    return name === undefined ? 2 : 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    io.err(`ovnts: unknown command ${JSON.stringify(name)}\n\n${topHelp()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(cmd.spec) + '\n');
    return 0;
  }
  try {
    return await cmd.run(parseArgs(cmd.spec, rest), io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`ovnts ${e.message}\nusage: ${cmd.spec.usage}\nRun 'ovnts ${name} --help' for details.\n`);
      return 2;
    }
    if (e instanceof CliError) {
      io.err(`ovnts ${name}: ${e.message}\n`);
      return 1;
    }
    // Typed library errors (capture format, text parse, NB validation) carry their own message,
    // which names what and where; the class name is ours, not the user's business.
    if (e instanceof Error && e.name !== 'Error') {
      io.err(`ovnts ${name}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

function isEntryPoint(): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Run `ovnts` as a process: exit status set, a closed stdout pipe ends quietly. */
export function runCli(argv: string[]): void {
  // `ovnts dissect big.pcap | head` closes our stdout early: stop quietly, as Unix tools do.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`ovnts: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
    },
  );
}

if (isEntryPoint()) runCli(process.argv.slice(2));
