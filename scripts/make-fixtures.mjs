#!/usr/bin/env node
// Regenerate the committed fixture captures from @ovnts/testkit's deterministic generators
// (run `npm run setup` first). A test checks the committed files equal what this writes.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapngWriter } from '../packages/capture/dist/index.js';
import { geneveTwoNodes } from '../packages/testkit/dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const w = new PcapngWriter({ byteOrder: 'le', interfaces: [{ linkType: 1, name: 'underlay', snaplen: 262144 }] });
for (const f of geneveTwoNodes()) w.write(f);
w.end();
const path = join(root, 'fixtures/captures/geneve-two-nodes.pcapng');
writeFileSync(path, w.toBuffer());
console.log(`wrote ${path}`);
