// Every `$ ovnts ...` example in docs/cli.md is run here and must print exactly what the doc shows.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferIo, main } from '@ovnts/cli';
import { repoRoot } from '@ovnts/testkit';

/** Split a shell command line into words (single and double quotes, no expansions). */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

const doc = readFileSync(join(repoRoot, 'docs/cli.md'), 'utf8');
const examples = [...doc.matchAll(/```console\n\$ (ovnts [^\n]*)\n([\s\S]*?)```/g)].map((m) => ({ cmd: m[1]!, want: m[2]! }));

describe('docs/cli.md examples', () => {
  // The replay examples write where the doc says (a fixed /tmp path; replay refuses to overwrite
  // without --force): start without it and remove it afterwards.
  beforeAll(() => rmSync('/tmp/ovnts-replay-example', { recursive: true, force: true }));
  afterAll(() => rmSync('/tmp/ovnts-replay-example', { recursive: true, force: true }));
  it('has examples', () => expect(examples.length).toBeGreaterThan(6));
  const cwd = process.cwd();
  it.each(examples)('$cmd', async ({ cmd, want }) => {
    process.chdir(repoRoot);
    try {
      const io = new BufferIo();
      await main(words(cmd).slice(1), io);
      expect(io.stdout + io.stderr).toBe(want);
    } finally {
      process.chdir(cwd);
    }
  });
});
