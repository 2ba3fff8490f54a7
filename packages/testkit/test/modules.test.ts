/**
 * Every built module of every runtime package (packet, geneve, capture, openflow, ovn, chassis,
 * host, cli) loads on its own, in a fresh Node process, and exports what it should (issue 8: no
 * load-order dependence between modules); no name is exported by two packages' public entries with
 * different meanings; and @ovnts/ovn's two entries, the curated `@ovnts/ovn` and
 * `@ovnts/ovn/internal`, resolve through its `exports` map.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, test } from 'vitest';
import { repoRoot } from '@ovnts/testkit';

const PACKAGES = ['packet', 'geneve', 'capture', 'openflow', 'ovn', 'chassis', 'host', 'cli'];
const dist = (p: string): string => join(repoRoot, 'packages', p, 'dist');

function modules(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...modules(p));
    else if (f.endsWith('.js')) out.push(p);
  }
  return out.sort();
}

describe.skipIf(!PACKAGES.every((p) => existsSync(dist(p))))('modules load alone', () => {
  test('each built module of each package, alone (a fresh module graph each)', async () => {
    // Executables (a shebang: cli's main.js runs the command) are loaded by the README test instead.
    const mods = PACKAGES.flatMap((p) => modules(dist(p))).filter((m) => !readFileSync(m, 'utf8').startsWith('#!'));
    expect(mods.length).toBeGreaterThan(150);
    // One worker thread per module (an isolate of its own, so nothing else is loaded first; four
    // at a time); each reports how many names the module exports. A module of types only
    // compiles to `export {};`.
    const dir = mkdtempSync(join(tmpdir(), 'ovnts-modules-'));
    const script = join(dir, 'load.mjs');
    writeFileSync(script, "import { parentPort, workerData } from 'node:worker_threads';\nconst m = await import(workerData);\nparentPort.postMessage(Object.keys(m).length);\n");
    const load = (m: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const w = new Worker(script, { workerData: pathToFileURL(m).href, stdout: true, stderr: true });
        let n = -1;
        w.on('message', (x: number) => (n = x));
        w.on('error', reject);
        w.on('exit', (code) => (code === 0 ? resolve(n) : reject(new Error(`exit ${code}`))));
      });
    const failures: string[] = [];
    const queue = [...mods];
    const worker = async () => {
      for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
        try {
          const n = await load(m);
          const typesOnly = /^export \{\};\s*(\/\/# sourceMappingURL=.*)?\s*$/m.test(readFileSync(m, 'utf8').replace(/\/\*\*[\s\S]*?\*\/\s*/g, ''));
          if (!(n > 0) && !typesOnly) failures.push(`${relative(repoRoot, m)}: exports nothing`);
        } catch (e) {
          failures.push(`${relative(repoRoot, m)}: ${String(e).split('\n').slice(0, 3).join(' ')}`);
        }
      }
    };
    try {
      await Promise.all([worker(), worker(), worker(), worker()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(failures).toEqual([]);
  }, 300_000);

  test('no name is exported by two packages with different meanings', async () => {
    const seen = new Map<string, { pkg: string; value: unknown }>();
    const clashes: string[] = [];
    let shared = 0;
    for (const p of PACKAGES) {
      const m = (await import(join(dist(p), 'index.js'))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(m)) {
        const first = seen.get(name);
        if (first === undefined) seen.set(name, { pkg: p, value });
        else if (first.value !== value) clashes.push(`${name}: @ovnts/${first.pkg} and @ovnts/${p}`);
        else shared++; // a re-export of the same object
      }
    }
    expect(seen.size).toBeGreaterThan(500);
    expect(clashes).toEqual([]);
    expect(shared).toBeGreaterThanOrEqual(0);
  });

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
