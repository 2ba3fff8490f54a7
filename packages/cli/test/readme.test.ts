// Issue 14, item 10: every command of the README works on a fresh clone. The repository's
// committed HEAD is cloned into a temporary folder and set up there with the README's own
// commands (`npm run setup`: the pinned pnpm through npx, reusing the machine's pnpm store),
// then every command the README shows is run there, through bash with pipefail, and must exit 0;
// where the README shows output (a `console` block), the output must match it (`...` on a line of
// its own stands for any lines, inside a line for any text). Commands that run for minutes run in
// a bounded form that still exercises them from the fresh clone (listed in BOUNDED), and every
// README command must be covered.
//
// It costs a clone, an install from the store, a full build, and the commands (`npm test` and
// `npm run bench` bounded, each still setting up and type-checking): 4-9 minutes on the shared
// 2-core machine. So it runs in CI (CI=true; OVNTS_README_TEST=0 turns it off there) or with
// OVNTS_README_TEST=1, and skips otherwise, with the reason printed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '@ovnts/testkit';

/** A command of the README, with the output it shows (console blocks). */
export interface ReadmeCommand {
  cmd: string;
  line: number;
  expect?: string[];
}

/** Every command of a README: `sh` block lines, `console` block `$` lines (with their output), inline `npm`/`npx` code. */
export function readmeCommands(text: string): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  const lines = text.split('\n');
  let block: string | undefined;
  let current: ReadmeCommand | undefined;
  lines.forEach((l, i) => {
    const fence = /^```(\w*)\s*$/.exec(l);
    if (fence) {
      block = block === undefined ? fence[1] || 'text' : undefined;
      current = undefined;
      return;
    }
    if (block === 'sh') {
      const c = l.replace(/\s+#.*$/, '').trim();
      if (c && !c.startsWith('#') && !c.startsWith('$')) out.push({ cmd: c, line: i + 1 });
    } else if (block === 'console') {
      if (l.startsWith('$ ')) {
        current = { cmd: l.slice(2).trim(), line: i + 1, expect: [] };
        out.push(current);
      } else current?.expect!.push(l);
    } else if (block === undefined) {
      for (const m of l.matchAll(/`((?:npm|npx) [^`]+)`/g)) out.push({ cmd: m[1]!, line: i + 1 });
    }
  });
  return out;
}

/** Whether `actual` output matches the README's `expected` lines (see the module comment). */
export function outputMatches(expected: string[], actual: string): boolean {
  const got = actual.replace(/\n$/, '').split('\n');
  const want = expected.filter((l, i) => !(i === expected.length - 1 && l === ''));
  const re = (l: string): RegExp => new RegExp(`^${l.split('...').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  const match = (wi: number, gi: number): boolean => {
    if (wi === want.length) return gi === got.length;
    if (want[wi]!.trim() === '...') {
      for (let k = gi; k <= got.length; k++) if (match(wi + 1, k)) return true;
      return false;
    }
    return gi < got.length && re(want[wi]!).test(got[gi]!) && match(wi + 1, gi + 1);
  };
  return match(0, 0);
}

/** Commands that run for minutes, and the bounded form the test runs instead. */
const BOUNDED: Record<string, string> = {
  'npm test': 'npm test -- packages/packet/test/ethernet.test.ts',
  'npm run bench': 'npm run bench -- capture',
  'npm run fuzz': 'npm run fuzz -- --seconds 2 --target ovn-actions --seed 1',
  'npm run fuzz -- --seconds 600 --target frames --seed 7': 'npm run fuzz -- --seconds 2 --target frames --seed 7',
  // Named in the prose without arguments (or with a placeholder): run with one.
  'npx ovnts': 'npx ovnts --help',
  'npm run ovnts -- ARGS': 'npm run ovnts -- --version',
};

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const commands = readmeCommands(readme);
const enabled = process.env.OVNTS_README_TEST === '1' || (process.env.CI === 'true' && process.env.OVNTS_README_TEST !== '0');
if (!enabled) console.warn('[readme] SKIP the fresh-clone README test (4-9 minutes): set OVNTS_README_TEST=1 (CI runs it)');

describe('the README', () => {
  it('has commands, and every one it names is run (directly or bounded)', () => {
    const names = commands.map((c) => c.cmd);
    expect(names).toEqual(expect.arrayContaining(['npm run demo', 'npm test', 'npm run bench', 'npm run fuzz', 'npm run setup']));
    expect(names.some((n) => n.startsWith('npx ovnts dissect'))).toBe(true);
    expect(names.filter((n) => /pnpm/.test(n))).toEqual([]); // pnpm is not installed on a fresh machine
  });

  it('the output matcher reads `...` as any lines / any text', () => {
    expect(outputMatches(['a', '...', 'd'], 'a\nb\nc\nd\n')).toBe(true);
    expect(outputMatches(['a', 'x...z'], 'a\nxyyz\n')).toBe(true);
    expect(outputMatches(['a', 'b'], 'a\nc\n')).toBe(false);
    expect(outputMatches(['a'], 'a\nb\n')).toBe(false);
  });
});

describe.skipIf(!enabled)('README commands on a fresh clone', () => {
  let clone = '';
  const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
  // Asynchronous, so vitest's worker stays responsive during minutes-long commands.
  const sh = (cmd: string, timeout = 600_000): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const p = spawn('bash', ['-o', 'pipefail', '-c', cmd], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
      const timer = setTimeout(() => p.kill('SIGKILL'), timeout);
      p.on('close', (status, signal) => {
        clearTimeout(timer);
        resolve({ status, signal, stdout, stderr });
      });
    });

  beforeAll(() => {
    clone = join(mkdtempSync(join(tmpdir(), 'ovnts-readme-')), 'ovn-ts');
    const c = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', repoRoot, clone], { encoding: 'utf8' });
    if (c.status !== 0) assert.fail(`git clone failed: ${c.stderr}`);
  }, 120_000);
  afterAll(() => {
    if (clone) rmSync(join(clone, '..'), { recursive: true, force: true });
  });

  // Each command once (the one that shows its output, if any); `npm run setup` first (the README's
  // first console command), so everything after runs built.
  const once = new Map<string, ReadmeCommand>();
  for (const c of commands) if (!once.has(c.cmd) || (c.expect?.length && !once.get(c.cmd)!.expect?.length)) once.set(c.cmd, c);
  const ordered = [...once.values()].sort((a, b) => Number(b.cmd === 'npm run setup') - Number(a.cmd === 'npm run setup'));
  it.each(ordered)('README line $line: $cmd', async ({ cmd, expect: want }) => {
    const run = BOUNDED[cmd] ?? cmd;
    const r = await sh(run);
    expect(r.status, `${run} exited ${r.status}${r.signal ? ` (${r.signal})` : ''}\n${r.stderr.slice(-3000)}`).toBe(0);
    if (want && want.length) expect(outputMatches(want, r.stdout), `output of ${run}:\n${r.stdout.slice(0, 3000)}`).toBe(true);
  }, 900_000);
});
