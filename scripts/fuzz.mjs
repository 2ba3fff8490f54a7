#!/usr/bin/env node
// Fuzz every parser family for longer than the test suite does (issue 14, item 11).
// Usage: npm run fuzz [-- --seconds N] [--target NAME[,NAME...]] [--seed S] [--save] [--hang-ms MS]
//   --seconds  per target (default 60); --seed  default: drawn from the clock and printed;
//   --save     write each failing input (shrunk) to fixtures/fuzz/<target>/ for the corpus.
// The corpus is replayed first. Exit status 1 when any input breaks a property.
import { parseArgs } from 'node:util';
import { corpusFiles, formatFailure, fuzzTarget, fuzzTargetNames, saveToCorpus } from '../packages/testkit/dist/index.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    target: { type: 'string' },
    seed: { type: 'string' },
    save: { type: 'boolean', default: false },
    'hang-ms': { type: 'string', default: '5000' },
  },
});
const all = fuzzTargetNames();
const targets = values.target ? values.target.split(',') : all;
for (const t of targets) {
  if (!all.includes(t)) {
    console.error(`fuzz: unknown target ${JSON.stringify(t)} (targets: ${all.join(', ')})`);
    process.exit(2);
  }
}
const seconds = Number(values.seconds);
const hangMs = Number(values['hang-ms']);
if (!(seconds > 0) || !(hangMs > 0)) {
  console.error('fuzz: --seconds and --hang-ms take positive numbers');
  process.exit(2);
}
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
console.log(`fuzz: seed ${seed} (rerun with --seed ${seed}), ${seconds} s per target, hang bound ${hangMs} ms`);
let failed = 0;
for (const t of targets) {
  const n = corpusFiles(t).length;
  const r = await fuzzTarget(t, { seed, timeMs: seconds * 1000, hangMs });
  const rate = r.ms ? Math.round((r.execs * 1000) / r.ms) : 0;
  console.log(`${t.padEnd(12)} ${String(r.execs - n).padStart(9)} inputs drawn (${rate}/s) after ${n} corpus inputs, slowest ${r.slowestMs} ms, failures ${r.failures.length}`);
  for (const f of r.failures) {
    failed++;
    console.log(formatFailure(f));
    if (values.save && !f.source.startsWith('/')) console.log(`  saved to ${saveToCorpus(f)}`);
  }
}
process.exit(failed ? 1 : 0);
