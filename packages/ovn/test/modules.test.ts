/**
 * Every built module of @ovnts/ovn loads on its own, in a fresh Node process, and exports what it
 * should (issue 8: no load-order dependence between modules), and the package's two entries, the
 * curated `@ovnts/ovn` and `@ovnts/ovn/internal`, resolve through its `exports` map.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '@ovnts/testkit';

const dist = join(repoRoot, 'packages', 'ovn', 'dist');

function modules(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...modules(p));
    else if (f.endsWith('.js')) out.push(p);
  }
  return out.sort();
}

describe.skipIf(!existsSync(dist))('@ovnts/ovn modules load alone', () => {
  test('each built module, in its own process', async () => {
    const mods = modules(dist);
    expect(mods.length).toBeGreaterThan(40);
    // One process per module (four at a time); each prints how many names the module exports. A
    // module of types only compiles to `export {};`.
    const script = `const m = await import(process.argv[1]); console.log(Object.keys(m).length);`;
    const run = promisify(execFile);
    const failures: string[] = [];
    const queue = [...mods];
    const worker = async () => {
      for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
        try {
          const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, m], { encoding: 'utf8' });
          const typesOnly = /^export \{\};\s*(\/\/# sourceMappingURL=.*)?\s*$/m.test(readFileSync(m, 'utf8').replace(/\/\*\*[\s\S]*?\*\/\s*/g, ''));
          if (!(Number(stdout.trim()) > 0) && !typesOnly) failures.push(`${relative(dist, m)}: exports nothing`);
        } catch (e) {
          failures.push(`${relative(dist, m)}: ${String((e as { stderr?: string }).stderr ?? e).split('\n').slice(0, 3).join(' ')}`);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(failures).toEqual([]);
  }, 120_000);

  test('the public entry and the internal entry resolve by package name and work', () => {
    const script = [
      "const ovn = await import('@ovnts/ovn');",
      "const internal = await import('@ovnts/ovn/internal');",
      "const db = new ovn.NbBuilder(); db.logicalSwitch('sw').port('p', { addresses: ['00:00:00:00:00:01 10.0.0.1'] });",
      "const r = ovn.compileNorthd(db.build());",
      "console.log(JSON.stringify([r.sb.portBindings.length, typeof ovn.formatLogicalAction, 'formatAction' in ovn, typeof internal.formatAction, typeof internal.emptyFlow]));",
    ].join('\n');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(repoRoot, 'packages', 'cli'), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([1, 'function', false, 'function', 'function']);
  });
});
