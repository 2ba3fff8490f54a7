#!/usr/bin/env node
// Run every benchmark (compiled by `npm run setup`), one process each, with --expose-gc so heap
// growth figures are clean. Usage: npm run bench [-- NAME...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'dist');
const wanted = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.js') && (!wanted.length || wanted.some((w) => f.startsWith(w))));
console.log(`node ${process.version}, ${process.arch}; one core per benchmark process`);
let status = 0;
for (const f of files.sort()) {
  const r = spawnSync(process.execPath, ['--expose-gc', join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
