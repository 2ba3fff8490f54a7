#!/usr/bin/env node
// Run the whole vitest suite, then print one plain summary line ("N passed, N failed, N skipped")
// that CI can read whatever the runner, and exit non-zero on any failure or when nothing ran.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const report = join(root, '.vitest-report.json');
rmSync(report, { force: true });
// Test files are type-checked too (vitest only strips types).
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.test.json')], { cwd: root, stdio: 'inherit' });
// The API reference in docs/api is generated from the sources; a stale page fails the suite.
const doc = spawnSync(process.execPath, [join(root, 'scripts/api-doc.mjs'), '--check'], { cwd: root, stdio: 'inherit' });
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const r = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit' },
);
if (!existsSync(report)) {
  console.error('test: vitest wrote no report');
  process.exit(r.status || 1);
}
const j = JSON.parse(readFileSync(report, 'utf8'));
const skipped = j.numPendingTests + j.numTodoTests;
console.log(`\ntests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${skipped} skipped`);
if (j.numTotalTests === 0) {
  console.error('test: no test ran');
  process.exit(1);
}
if (tsc.status !== 0) {
  console.error('test: type errors in test files (tsc -p tsconfig.test.json)');
  process.exit(1);
}
if (doc.status !== 0) {
  console.error('test: docs/api is out of date (node scripts/api-doc.mjs regenerates it)');
  process.exit(1);
}
process.exit(r.status ?? 1);
