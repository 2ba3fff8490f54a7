#!/usr/bin/env node
// Run every benchmark (compiled by `npm run setup`), one process each, with --expose-gc so heap
// growth figures are clean, then repeat the issue-target lines they printed in one block.
// Usage: npm run bench [-- NAME...]   (e.g. `node benchmarks/run.mjs packet`)
//
// Exit status: 0 when every benchmark ran to its end, 1 when one failed for real (a
// BenchmarkError: ours and a baseline disagree; a crash; a signal), 2 when no benchmark matched.
// A missed performance target is printed as `target ...: FAIL` and does not change the status:
// on a loaded machine absolute rates drop, and the status must not depend on the load.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'dist');
const wanted = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.js') && (!wanted.length || wanted.some((w) => f.startsWith(w))));
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`node ${process.version}, ${process.arch}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; one core per benchmark process`);
console.log(`${new Date().toISOString()}; load average ${load()} (other work on the machine skews absolute rates; ratios are measured interleaved)`);
const scratch = mkdtempSync(join(tmpdir(), 'ovnts-bench-run-'));
const targets = join(scratch, 'targets.txt');
const t0 = Date.now();
const failed = [];
if (!files.length) {
  console.error(`bench: no benchmark in ${dir} matches ${wanted.join(' ') || '*.bench.js'} (run npm run setup to build them)`);
  process.exit(2);
}
try {
  for (const f of files.sort()) {
    const name = f.replace(/\.js$/, '');
    console.log(`\n=== ${name} ===`);
    const r = spawnSync(process.execPath, ['--expose-gc', join(dir, f)], { stdio: 'inherit', env: { ...process.env, BENCH_TARGETS: targets } });
    if (r.error) failed.push(`${name}: could not start (${r.error.message})`);
    else if (r.signal) failed.push(`${name}: killed by ${r.signal}`);
    else if (r.status !== 0) failed.push(`${name}: exit status ${r.status}`);
  }
  let lines = '';
  try {
    lines = readFileSync(targets, 'utf8');
  } catch {
    // no benchmark recorded a target
  }
  if (lines) console.log(`\n=== issue #2 targets ===\n${lines.trimEnd()}`);
  console.log(`\ntotal ${((Date.now() - t0) / 1000).toFixed(0)} s; load average ${load()}`);
  console.log(failed.length ? `\nFAILED (${failed.length} of ${files.length}):\n  ${failed.join('\n  ')}` : `\nall ${files.length} benchmarks ran to completion (target lines above are reports, not the exit status)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(failed.length ? 1 : 0);
