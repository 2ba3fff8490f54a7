// Robustness of `dissectFrame`: no input makes it throw, and what it returns is always
// well-formed (printable as JSON, known layer names, an `error` with a known code and an offset
// inside the frame). Inputs: arbitrary bytes, and frames of the seeded random corpus with
// random bytes overwritten and random cut points (close to real traffic, so the mutations reach
// deep layers: tunnels, DHCP, DNS, ND options...). fast-check prints the seed of a failure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dissectFrame, type Dissection } from '@ovnts/cli';
import { WireErrorCode } from '@ovnts/packet';
import { randomCorpus, randomFrame, Rng } from '@ovnts/testkit';

const LAYERS = new Set([
  'eth', 'vlan', 'arp', 'ipv4', 'ipv6', 'udp', 'tcp', 'icmp', 'icmpv6', 'nd', 'igmp', 'mld', 'dhcp', 'dhcpv6', 'dns', 'geneve', 'vxlan',
]);
const CODES = new Set(Object.keys(WireErrorCode).filter((k) => k !== 'Ok'));

/** Throws (with the reason) unless `d` is a well-formed dissection of `frame`. */
function checkWellFormed(frame: Uint8Array, d: Dissection): void {
  const text = JSON.stringify(d); // no bigint, no cycles: the CLI prints exactly this
  expect(JSON.parse(text)).toEqual(d);
  expect(Array.isArray(d.layers)).toBe(true);
  for (const l of d.layers) {
    expect(LAYERS.has(l.layer), `layer ${l.layer}`).toBe(true);
    for (const v of Object.values(l)) expect(typeof v === 'number' ? Number.isFinite(v) : true).toBe(true);
  }
  if (d.layers.length) expect(d.layers[0]!.layer).toBe('eth');
  if (d.error) {
    expect(Object.keys(d.error).sort()).toEqual(['code', 'layer', 'offset']);
    expect(d.error.layer).toMatch(/^[a-z0-9]+$/);
    expect(CODES.has(d.error.code), `code ${d.error.code}`).toBe(true);
    expect(Number.isInteger(d.error.offset)).toBe(true);
    expect(d.error.offset).toBeGreaterThanOrEqual(0);
    expect(d.error.offset).toBeLessThanOrEqual(frame.length);
  }
}

/** Dissect a copy-checked frame: never throws, leaves the bytes alone, same answer twice. */
function dissectChecked(frame: Uint8Array): Dissection {
  const before = frame.slice();
  const d = dissectFrame(frame);
  expect(frame).toEqual(before);
  expect(dissectFrame(frame)).toEqual(d);
  checkWellFormed(frame, d);
  return d;
}

describe('dissectFrame robustness', () => {
  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        dissectChecked(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on arbitrary bytes behind plausible headers', () => {
    // Ethernet + IPv4/IPv6 + UDP to the Geneve/VXLAN/DHCP/DNS ports, then random bytes.
    const heads = randomCorpus(0xfeed, 400).filter((f) => !f.truncated && f.data.length > 60).map((f) => f.data);
    fc.assert(
      fc.property(fc.nat(heads.length - 1), fc.nat(), fc.uint8Array({ maxLength: 200 }), (i, at, tail) => {
        const h = heads[i]!;
        const cut = at % h.length;
        const b = new Uint8Array(cut + tail.length);
        b.set(h.subarray(0, cut));
        b.set(tail, cut);
        dissectChecked(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated and truncated corpus frames', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.option(fc.nat(), { nil: undefined }),
        (seed, edits, cutAt) => {
          const f = randomFrame(new Rng(seed), { truncate: 0 });
          const b = f.data.slice();
          for (const [pos, v] of edits) b[pos % b.length] = v;
          const frame = cutAt === undefined ? b : b.subarray(0, cutAt % (b.length + 1));
          dissectChecked(frame);
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('reports an error for every cut of a well-formed IP frame, and never one for the whole frame', () => {
    const frames = randomCorpus(0xc0ffee, 60, { truncate: 0 });
    for (const f of frames) {
      expect(dissectChecked(f.data).error, f.desc).toBeUndefined();
      // Every byte of an ARP or IP frame lies inside a length it declares.
      if (f.desc.split('/|/')[0]!.includes('ethertype-')) continue;
      for (let n = 0; n < f.data.length; n++) {
        const d = dissectChecked(f.data.subarray(0, n));
        expect(d.error, `${f.desc} cut at ${n}`).toBeDefined();
      }
    }
  });
});
