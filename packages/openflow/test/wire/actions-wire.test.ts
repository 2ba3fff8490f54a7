import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomFlowTable, flowText } from '@ovnts/testkit';
import {
  OpenFlowError, checkFlow, formatInstructions, formatMatch, parseFlow, parseActionList, decodeActions, decodeInstructions, encodeActions,
  encodeInstructions, OfpVersion, WireReader, WireWriter, putOxmMatch, pullOxmMatch, putNxMatch, pullNxMatch, type Action, type Flow, type Instructions,
} from '@ovnts/openflow';

const CORPUS = new URL('../fixtures/flows-corpus.txt', import.meta.url);
const VERSIONS = [OfpVersion.OF13, OfpVersion.OF14, OfpVersion.OF15];

/** A flow the switch accepts (parsed and checked), or undefined. */
function tryParse(text: string): Flow | undefined {
  try {
    const f = parseFlow(text);
    checkFlow(f);
    return f;
  } catch {
    return undefined;
  }
}

/** text -> struct -> wire -> struct -> text, for the instructions and the match. */
function roundTrip(f: Flow, version: number): { ins: string; match: string } {
  const bytes = encodeInstructions(f.instructions, version).slice();
  const ins = decodeInstructions(new WireReader(bytes), version);
  const w = new WireWriter();
  putOxmMatch(w, f.match, version);
  const m = pullOxmMatch(new WireReader(w.finish()));
  return { ins: formatInstructions(ins), match: formatMatch(m, f.priority) };
}

const ctx = { hasVlan: false, nwProto: -1 };

/**
 * What OpenFlow 1.2-1.4 can carry of a partial set_field: one NXAST_REG_LOAD per run of contiguous
 * mask bits, at most 64 bits each (OVS `next_load_segment()`), so the list comes back that way.
 */
function asLoads(list: readonly Action[]): Action[] {
  const out: Action[] = [];
  for (const a of list) {
    if (a.type === 'clone') out.push({ ...a, actions: asLoads(a.actions) });
    else if (a.type !== 'set_field' || a.mask === undefined || a.mask === (1n << BigInt(a.field.bits)) - 1n) out.push(a);
    else {
      for (let ofs = 0; ofs < a.field.bits; ) {
        let n = 0;
        while (ofs + n < a.field.bits && n < 64 && (a.mask >> BigInt(ofs + n)) & 1n) n++;
        if (n === 0) ofs++;
        else {
          const m = ((1n << BigInt(n)) - 1n) << BigInt(ofs);
          out.push({ ...a, value: a.value & m, mask: m });
          ofs += n;
        }
      }
    }
  }
  return out;
}

function expected(ins: Instructions, version: number): string {
  if (version >= OfpVersion.OF15) return formatInstructions(ins);
  return formatInstructions({ ...ins, apply: asLoads(ins.apply), ...(ins.writeActions ? { writeActions: asLoads(ins.writeActions) } : {}) });
}

describe('action and match wire codec', () => {
  it('round-trips every flow of the ovs-ofctl corpus in OpenFlow 1.3, 1.4 and 1.5', () => {
    const lines = readFileSync(CORPUS, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    let n = 0;
    for (const line of lines) {
      const f = tryParse(line);
      if (!f) continue;
      for (const v of VERSIONS) {
        const r = roundTrip(f, v);
        expect(r.ins, `${line} (version ${v})`).toBe(expected(f.instructions, v));
        expect(r.match, `${line} (version ${v})`).toBe(formatMatch(f.match, f.priority));
      }
      n++;
    }
    expect(n).toBeGreaterThan(150);
  });

  it('round-trips the OpenFlow tables real ovn-controller installed (fixtures/chassis)', () => {
    const dir = new URL('../../../../fixtures/chassis/', import.meta.url);
    let n = 0;
    const seen = new Set<string>();
    for (const name of readdirSync(dir).filter((x) => x.endsWith('.flows'))) {
      for (const line of readFileSync(new URL(name, dir), 'utf8').split('\n')) {
        // Distinct action lists only (the tables repeat them with other matches).
        const acts = line.slice(line.indexOf(' actions=') + 1);
        if (!line.trim() || seen.has(acts)) continue;
        seen.add(acts);
        const f = tryParse(line);
        expect(f, line).toBeDefined();
        for (const v of [OfpVersion.OF13, OfpVersion.OF15]) expect(roundTrip(f!, v).ins, `${name}: ${line}`).toBe(expected(f!.instructions, v));
        n++;
      }
    }
    expect(n).toBeGreaterThan(800);
  });

  it('round-trips random flow tables (property, seeded)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.constantFrom(...VERSIONS), (seed, v) => {
        const t = randomFlowTable(seed);
        for (const g of t.flows) {
          const f = tryParse(flowText(g));
          if (!f) continue;
          const r = roundTrip(f, v);
          expect(r.ins, flowText(g)).toBe(expected(f.instructions, v));
          expect(r.match).toBe(formatMatch(f.match, f.priority));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('round-trips the NXM form of matches', () => {
    const lines = readFileSync(CORPUS, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    for (const line of lines) {
      const f = tryParse(line);
      if (!f) continue;
      const w = new WireWriter();
      const len = putNxMatch(w, f.match);
      const m = pullNxMatch(new WireReader(w.finish()), len, { strict: true }).match;
      expect(formatMatch(m, f.priority), line).toBe(formatMatch(f.match, f.priority));
    }
  });

  it('writes the bytes OVS writes for common actions', () => {
    const hex = (text: string, v: number = OfpVersion.OF15): string => Buffer.from(encodeActions(parseActionList(text, text, 0, { ...ctx }), v)).toString('hex');
    expect(hex('output:2')).toBe('00000010000000020000000000000000');
    expect(hex('output:LOCAL')).toBe('0000001000000002'.replace('00000002', 'fffffffe') + '0000000000000000');
    expect(hex('resubmit(,3)')).toBe('ffff001000002320000efff803000000');
    expect(hex('ct_clear')).toBe('ffff00100000232000' + '2b000000000000');
    expect(hex('group:7', OfpVersion.OF13)).toBe('0016000800000007');
    // A partial set_field in OpenFlow 1.3 is an NXAST_REG_LOAD per run of mask bits.
    expect(hex('load:5->NXM_NX_REG1[0..7]', OfpVersion.OF13)).toBe('ffff0018000023200007' + '0007' + '00010204' + '0000000000000005');
  });

  it('keeps a note\'s padding, as OVS does', () => {
    const b = encodeActions(parseActionList('note:01.02', 'note:01.02', 0, { ...ctx }), OfpVersion.OF15);
    expect(b.length).toBe(16);
    const [a] = decodeActions(b, OfpVersion.OF15);
    expect(a).toMatchObject({ type: 'note', data: Uint8Array.of(1, 2, 0, 0, 0, 0) });
  });

  it('refuses malformed actions with OVS\'s errors, never anything else', () => {
    const err = (bytes: number[], v: number = OfpVersion.OF15): string => {
      try {
        decodeActions(Uint8Array.from(bytes), v);
        return 'ok';
      } catch (e) {
        expect(e).toBeInstanceOf(OpenFlowError);
        return (e as OpenFlowError).errorName;
      }
    };
    expect(err([0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0])).toBe('OFPBAC_BAD_LEN');
    expect(err([0, 0, 0, 16, 0, 0, 0, 1])).toBe('OFPBAC_BAD_LEN');
    expect(err([0, 99, 0, 8, 0, 0, 0, 0])).toBe('OFPBAC_BAD_TYPE');
    expect(err([0xff, 0xff, 0, 16, 0, 0, 0x23, 0x20, 0, 200, 0, 0, 0, 0, 0, 0])).toBe('OFPBAC_BAD_VENDOR_TYPE');
    expect(err([0xff, 0xff, 0, 16, 0, 0, 0x11, 0x11, 0, 1, 0, 0, 0, 0, 0, 0])).toBe('OFPBAC_BAD_VENDOR');
    expect(err([0, 0x16, 0, 16, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0], OfpVersion.OF13)).toBe('OFPBAC_BAD_LEN');
  });

  it('never throws anything but an OpenFlowError on arbitrary bytes (robustness property)', () => {
    const good = [...readFileSync(CORPUS, 'utf8').split('\n')].filter((l) => l && !l.startsWith('#')).map(tryParse).filter((f): f is Flow => !!f);
    const samples = good.map((f) => encodeInstructions(f.instructions, OfpVersion.OF15).slice()).filter((b) => b.length > 0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: samples.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), (i, flips, cut) => {
        const b = samples[i]!.slice(0, Math.max(0, samples[i]!.length - (cut % 9)));
        for (const [pos, val] of flips) if (b.length) b[pos % b.length] = val;
        try {
          decodeInstructions(new WireReader(b), OfpVersion.OF15);
        } catch (e) {
          if (!(e instanceof OpenFlowError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
