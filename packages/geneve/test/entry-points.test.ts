// Issue 14, item 8, for Geneve/VXLAN: every public entry point over bytes validates its input type,
// offset and length once, with a typed error (`parseGeneve(buf, NaN)` looped forever).
import { describe, expect, it } from 'vitest';
import * as gen from '@ovnts/geneve';
import { ArgumentError } from '@ovnts/packet';
import { checkEntryPoints, discoverEntryPoints, type EntryPoint } from '@ovnts/testkit';

const r = new gen.DecapResult();
const others: EntryPoint[] = [
  { name: 'checkGeneveAt', shape: 'spanRequired', call: (b, o, l) => gen.checkGeneveAt(b as Uint8Array, o as number, l as number) },
  { name: 'checkGeneveOptions', shape: 'spanRequired', call: (b, o, l) => gen.checkGeneveOptions(b as Uint8Array, o as number, l as number) },
  { name: 'findGeneveOption', shape: 'spanRequired', call: (b, o, l) => gen.findGeneveOption(b as Uint8Array, o as number, l as number, 0x0102, 0x80) },
  { name: 'hasCriticalGeneveOption', shape: 'spanRequired', call: (b, o, l) => gen.hasCriticalGeneveOption(b as Uint8Array, o as number, l as number) },
  { name: 'readOvnOption', shape: 'spanRequired', call: (b, o, l) => gen.readOvnOption(b as Uint8Array, o as number, l as number) },
  { name: 'checkOvnOption', shape: 'offset', call: (b, o) => gen.checkOvnOption(b as Uint8Array, o as number) },
  { name: 'innerFlowHash', shape: 'spanRequired', call: (b, o, l) => gen.innerFlowHash(b as Uint8Array, o as number, l as number) },
  { name: 'decapsulate', shape: 'spanRequired', call: (b, o, l) => gen.decapsulate(b as Uint8Array, o as number, l as number, r) },
];

describe('Geneve entry points refuse hostile arguments (issue 14, item 8)', () => {
  const found = discoverEntryPoints(gen as unknown as Record<string, unknown>);

  it('finds the parsers and views', () => {
    expect(found.map((e) => e.name).sort()).toEqual(['GeneveView.check', 'VxlanView.check', 'parseGeneve', 'parseVxlan']);
  });

  it('every entry point: valid integer spans return, anything else is an ArgumentError naming it', () => {
    expect(checkEntryPoints([...found, ...others], { numRuns: 250 })).toBeGreaterThanOrEqual(250 * 12);
  });

  it('parseGeneve(buf, NaN) no longer loops', () => {
    const buf = new Uint8Array(16);
    expect(() => gen.parseGeneve(buf, NaN)).toThrow(/parseGeneve: off must be an integer in 0\.\.16, got NaN/);
    expect(() => gen.parseGeneve(buf, 0, Infinity)).toThrow(ArgumentError);
    expect(gen.parseGeneve(buf).ok).toBe(true);
  });
});
