// Issue 14, item 9: `ovnts dissect` reads the link types of `tcpdump -i any` (Linux cooked capture
// v1, LINKTYPE_LINUX_SLL 113, and v2, LINKTYPE_LINUX_SLL2 276) and raw IP (LINKTYPE_RAW 101), and
// agrees with real tshark field by field, as the Ethernet cross-check does. The frames are the
// seeded random corpus of @ovnts/testkit re-framed: the Ethernet header replaced by a cooked header
// carrying its EtherType (VLAN tags and everything after stay), or, for raw IP, the IPv4/IPv6
// packet after the Ethernet header and tags. Packet types, ARPHRD types, address lengths and
// interface indexes vary per frame.
import { describe, expect, it } from 'vitest';
import { dissectFrame, type LayerInfo } from '@ovnts/cli';
import { randomCorpus, requireTools, tsharkFieldsAsync, writeTempCapture, type CorpusFrame } from '@ovnts/testkit';
import { expected, FIELDS, norm, runCli, tsharkGoesDeeper, type Get } from './tshark-fields.js';

const SEEDS = [0x11e0001, 0x11e0002];
const PER_SEED = Number(process.env.OVNTS_CORPUS_SIZE ?? 300);
const PREFS = ['ip.defragment:FALSE', 'ipv6.defragment:FALSE'];

const sllFields: [string, string, Get][] = [];
for (const layer of ['sll', 'sll2']) {
  sllFields.push(
    ['sll.pkttype', layer, (l) => [l.pkttype]],
    ['sll.hatype', layer, (l) => [l.hatype]],
    ['sll.halen', layer, (l) => [l.halen]],
    // tshark 4.0 shows a 6-byte address of ARPHRD_ETHER (1) and ARPHRD_LOOPBACK (772) as a MAC.
    ['sll.src.eth', layer, (l) => (l.halen === 6 && (l.hatype === 1 || l.hatype === 772) ? [l.src] : undefined)],
    ['sll.etype', layer, (l) => ((l.proto as number) > 1536 ? [l.proto] : undefined)],
  );
}
sllFields.push(['sll.ifindex', 'sll2', (l) => [l.ifindex]]);
const ALL = [...FIELDS, ...sllFields];

interface Reframed {
  data: Uint8Array;
  origLen: number;
  desc: string;
  truncated: boolean;
}

/** The EtherType after the Ethernet header and any VLAN tags, and where the network layer starts. */
function l3Of(d: Uint8Array): { type: number; at: number } | undefined {
  if (d.length < 14) return undefined;
  let type = (d[12]! << 8) | d[13]!;
  let at = 14;
  while (type === 0x8100 || type === 0x88a8) {
    if (d.length < at + 4) return undefined;
    type = (d[at + 2]! << 8) | d[at + 3]!;
    at += 4;
  }
  return { type, at };
}

function sll(f: CorpusFrame, i: number): Reframed | undefined {
  if (f.data.length < 14) return undefined;
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  dv.setUint16(0, i % 5); // packet type: to us, broadcast, multicast, to another host, sent by us
  dv.setUint16(2, i % 7 === 3 ? 772 : 1); // ARPHRD_ETHER, sometimes ARPHRD_LOOPBACK
  const halen = i % 11 === 5 ? 4 : 6;
  dv.setUint16(4, halen);
  h.set(f.data.subarray(6, 6 + halen), 6);
  h.set(f.data.subarray(12, 14), 14);
  const data = new Uint8Array([...h, ...f.data.subarray(14)]);
  return { data, origLen: f.origLen + 2, desc: `sll/${f.desc}`, truncated: f.truncated };
}

function sll2(f: CorpusFrame, i: number): Reframed | undefined {
  if (f.data.length < 14) return undefined;
  const h = new Uint8Array(20);
  const dv = new DataView(h.buffer);
  h.set(f.data.subarray(12, 14), 0);
  dv.setUint32(4, 1 + (i % 1000));
  dv.setUint16(8, i % 7 === 3 ? 772 : 1);
  h[10] = i % 5;
  const halen = i % 11 === 5 ? 4 : 6;
  h[11] = halen;
  h.set(f.data.subarray(6, 6 + halen), 12);
  const data = new Uint8Array([...h, ...f.data.subarray(14)]);
  return { data, origLen: f.origLen + 6, desc: `sll2/${f.desc}`, truncated: f.truncated };
}

function raw(f: CorpusFrame): Reframed | undefined {
  const l3 = l3Of(f.data);
  if (!l3 || (l3.type !== 0x0800 && l3.type !== 0x86dd) || f.data.length <= l3.at) return undefined;
  return { data: f.data.slice(l3.at), origLen: f.origLen - l3.at, desc: `raw/${f.desc}`, truncated: f.truncated };
}

const tshark = requireTools('tshark cross-check of ovnts dissect link types', ['tshark'], 'apt-get install -y tshark');

const corpus = SEEDS.flatMap((seed) => randomCorpus(seed, PER_SEED));
const cases: { name: string; linkType: number; frames: Reframed[] }[] = [
  { name: 'Linux cooked v1 (113)', linkType: 113, frames: corpus.map(sll).filter((f): f is Reframed => f !== undefined) },
  { name: 'Linux cooked v2 (276)', linkType: 276, frames: corpus.map(sll2).filter((f): f is Reframed => f !== undefined) },
  { name: 'raw IP (101)', linkType: 101, frames: corpus.map(raw).filter((f): f is Reframed => f !== undefined) },
];

describe.skipIf(tshark.skip)('ovnts dissect --json agrees with tshark on other link types', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.frames.length} frames, every field equal`, async () => {
      expect(c.frames.length).toBeGreaterThan(PER_SEED);
      const cap = writeTempCapture(c.frames.map((f) => ({ data: f.data, origLen: f.origLen })), { linkType: c.linkType });
      try {
        // Each tshark field once (sll and sll2 share their names).
        const names = ['frame.len', ...new Set(ALL.map(([f]) => f))];
        const [ours, theirs] = await Promise.all([runCli(cap.file), tsharkFieldsAsync(cap.file, names, { prefs: PREFS })]);
        expect(ours.length).toBe(c.frames.length);
        expect(theirs.length).toBe(c.frames.length);
        const bad: string[] = [];
        let values = 0;
        const layerSeen = new Set<string>();
        c.frames.forEach((f, k) => {
          const j = ours[k]!;
          // The CLI and the library agree.
          const d = dissectFrame(f.data, f.origLen, c.linkType);
          if (JSON.stringify(j.layers) !== JSON.stringify(d.layers)) bad.push(`${f.desc}: CLI and dissectFrame differ`);
          for (const l of j.layers) layerSeen.add(l.layer);
          const exp = expected(j.layers, ALL);
          const last: LayerInfo | undefined = j.layers[j.layers.length - 1];
          const must = f.truncated && j.error && last?.layer === j.error.layer ? expected(j.layers.slice(0, -1), ALL) : exp;
          const prefix = f.truncated || tsharkGoesDeeper(j.layers);
          ALL.forEach(([field], n) => {
            if (field === 'tcp.len' && /frag0|\/frag\//.test(f.desc)) return;
            if (!exp.has(field)) return;
            const col = names.indexOf(field);
            const rawV = theirs[k]![col]!;
            const got = rawV === '' ? [] : rawV.split(',').map(norm);
            const want = exp.get(field)!;
            const need = must.get(field)!;
            if (ALL.findIndex(([x]) => x === field) !== n) return; // a field listed twice (sll and sll2) is compared once
            values += want.length;
            const agree = want.every((v, i) => i >= got.length || got[i] === v);
            const same = prefix ? agree && got.length >= need.length : want.length === got.length && agree;
            if (!same) bad.push(`${f.desc} ${field}: ours [${want.join(',')}] tshark [${got.join(',')}]`);
          });
        });
        console.log(`[tshark-linktypes] ${c.name}: ${c.frames.length} frames, ${values} field values compared`);
        expect(bad.slice(0, 30), `${bad.length} disagreements`).toEqual([]);
        const first = c.linkType === 113 ? 'sll' : c.linkType === 276 ? 'sll2' : 'ipv4';
        expect([...layerSeen]).toContain(first);
        expect([...layerSeen]).toEqual(expect.arrayContaining(['ipv4', 'ipv6', 'tcp', 'udp', 'geneve']));
      } finally {
        cap.remove();
      }
    });
  }
});
