#!/usr/bin/env node
// Re-run every `$ ovnts ...` example of docs/cli.md and write the outputs back into the doc
// (after a deliberate change of output; packages/cli/test/docs-cli.test.ts checks them).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BufferIo, main } from '../packages/cli/dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const path = join(root, 'docs/cli.md');
let doc = readFileSync(path, 'utf8');
// The replay examples write here, and replay does not overwrite: start from nothing, leave nothing.
const replayDir = '/tmp/ovnts-replay-example';
rmSync(replayDir, { recursive: true, force: true });
const words = (line) => [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
for (const m of [...doc.matchAll(/```console\n\$ (ovnts [^\n]*)\n[\s\S]*?```/g)]) {
  const io = new BufferIo();
  await main(words(m[1]).slice(1), io);
  doc = doc.replace(m[0], `\`\`\`console\n$ ${m[1]}\n${io.stdout}${io.stderr}\`\`\``);
}
rmSync(replayDir, { recursive: true, force: true });
writeFileSync(path, doc);
console.log('docs/cli.md updated');
