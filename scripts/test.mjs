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
process.exit(r.status ?? 1);
