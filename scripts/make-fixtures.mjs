#!/usr/bin/env node
// Regenerate the committed fixture captures from @ovnts/testkit's deterministic generators
// (run `npm run setup` first). A test checks the committed files equal what this writes.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapngWriter, PcapWriter } from '../packages/capture/dist/index.js';
import { geneveTwoNodes, vlanRouterTraffic } from '../packages/testkit/dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const w = new PcapngWriter({ byteOrder: 'le', interfaces: [{ linkType: 1, name: 'underlay', snaplen: 262144 }] });
for (const f of geneveTwoNodes()) w.write(f);
w.end();
const path = join(root, 'fixtures/captures/geneve-two-nodes.pcapng');
writeFileSync(path, w.toBuffer());
console.log(`wrote ${path}`);

for (const [port, frames] of Object.entries(vlanRouterTraffic())) {
  const p = new PcapWriter({ linkType: 1, byteOrder: 'le' });
  for (const f of frames) p.write(f);
  p.end();
  const out = join(root, `fixtures/captures/vlan-router-in${port}.pcap`);
  writeFileSync(out, p.toBuffer());
  console.log(`wrote ${out}`);
}
