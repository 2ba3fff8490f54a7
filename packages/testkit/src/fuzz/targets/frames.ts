/**
 * Frames: the random corpus of well-formed frames (every protocol of @ovnts/packet, tunnels
 * included), mutated a little, driven through every reader of a frame: `ovnts dissect` as
 * Ethernet, Linux cooked SLL/SLL2 and raw IP, the switch's flow key extraction, Geneve/VXLAN
 * decapsulation, and every `parseX` of @ovnts/packet and @ovnts/geneve at offset 0.
 */
import * as packet from '@ovnts/packet';
import * as geneve from '@ovnts/geneve';
import { dissectFrame } from '@ovnts/cli';
import { extractFlowKey, FlowKey } from '@ovnts/openflow';
import { randomFrame } from '../../corpus.js';
import { defineTarget, mutateBytes } from '../harness.js';

type Parse = (b: Uint8Array) => packet.Result<unknown>;
const parsers: [string, Parse][] = [...Object.entries(packet), ...Object.entries(geneve)]
  .filter(([name, f]) => /^parse[A-Z]/.test(name) && typeof f === 'function' && /^function\s*\w*\(\s*buf\b/.test(Function.prototype.toString.call(f)))
  .map(([name, f]) => [name, f as Parse]);

const key = new FlowKey();
const decap = new geneve.DecapResult();

export default defineTarget({
  name: 'frames',
  about: 'frames through dissect (4 link types), flow key extraction, decapsulation and every parseX',
  generate(r) {
    const f = randomFrame(r).data;
    return r.chance(0.8) ? mutateBytes(r, f, 4, 2048) : f;
  },
  run(b) {
    const dissected = [1, 113, 276, 101].map((lt) => dissectFrame(b, b.length, lt));
    extractFlowKey(b, 0, b.length, 1, key);
    const ok = geneve.decapsulate(b, 0, b.length, decap);
    const parsed = parsers.map(([name, p]) => {
      const r = p(b);
      return r.ok ? [name, r.value] : [name, r.error.message];
    });
    return { dissected, key: Array.from(key.w), decap: ok ? [decap.vni, decap.ovnKeys, decap.innerOffset, decap.innerLength] : [decap.layer, decap.code, decap.errorOffset], parsed };
  },
});
