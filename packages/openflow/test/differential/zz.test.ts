import { it } from 'vitest';
import { randomFlowTable, startOvs } from '@ovnts/testkit';
import { formatTrace } from '@ovnts/openflow';
import { fromHex } from '@ovnts/packet';
import { loadCase, tableText } from './harness.js';
import { diffTrace } from './trace-compare.js';
it('x', async () => {
  const ovs = await startOvs();
  try {
    await ovs.bridge('br0', { ports: [1, 2, 3, 4], portPrefix: 't', markers: false });
    for (const c of (process.env.ZZ ?? '').split(';')) {
      const [seedS, portS, hex] = c.split(' ');
      const seed = Number(seedS);
      const t = randomFlowTable(seed, { ports: [1, 2, 3, 4], badFlow: 0 });
      const l = await loadCase(ovs, { name: 'br0', hasGroups: false }, t);
      const f = fromHex(hex!);
      const port = Number(portS);
      const ours = formatTrace(l.sw.trace(f, port));
      const theirs = await ovs.trace('br0', { port, bytes: f });
      console.log(`===== seed ${seed}\n${tableText(l.groups, l.flows)}`);
      const d = diffTrace(ours, theirs);
      if (process.env.ZZ_FULL) console.log('--- OURS\n' + ours + '--- OVS\n' + theirs);
      else for (const x of d.lines) console.log(`${x.kind} @${x.line}\n  ours: ${x.ours}\n  OVS:  ${x.theirs}`);
    }
  } finally { await ovs.stop(); }
}, 120000);
