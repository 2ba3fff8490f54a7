/**
 * OVN northbound database files: committed NB files (the demo's and northd fixtures) with one of
 * their records mutated as JSON (a value of the wrong type, a dangling or malformed uuid, a
 * missing or extra column, an out-of-range integer, a bad set or map) and re-framed with a valid
 * length and SHA-1, sometimes also mutated as bytes; loaded (`loadNb`, which validates against the
 * schema) and compiled to logical flows (`lflowList`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lflowList, loadNb } from '@ovnts/ovn';
import type { Rng } from '../../corpus.js';
import { repoRoot } from '../../oracles.js';
import { concat, defineTarget, mutateBytes, textInput } from '../harness.js';

const SEEDS = ['fixtures/nb/demo.db', 'fixtures/northd/ls-acls-stateless.nb.db', 'fixtures/northd/lr-nat.nb.db', 'fixtures/northd/lr-basic.nb.db'];
let seeds: string[][] | undefined;

/** The records' JSON texts of each seed file. */
function seedRecords(): string[][] {
  seeds ??= SEEDS.map((f) => {
    const text = readFileSync(join(repoRoot, f), 'utf8');
    const out: string[] = [];
    const re = /OVSDB JSON (\d+) [0-9a-f]+\n/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text))) {
      const body = text.slice(re.lastIndex, re.lastIndex + Number(m[1]));
      out.push(body);
      re.lastIndex += body.length;
    }
    return out;
  });
  return seeds;
}

const WEIRD: unknown[] = [null, true, 0, -1, 4294967296, 1e300, '', 'x', [], {}, ['set', []], ['set', [1, 'a']], ['uuid', 'not-a-uuid'], ['uuid', '00000000-0000-0000-0000-000000000000'], ['map', [['k']]], ['map', [['a', 1], ['a', 2]]], ['named-uuid', 'x'], ['set', [['uuid', 'bad']]]];

/** Mutate one value somewhere inside `v` (objects and arrays are walked at random). */
function mutateJson(r: Rng, v: unknown, depth = 0): unknown {
  if (depth > 0 && (r.chance(0.25) || v === null || typeof v !== 'object')) {
    if (typeof v === 'string' && r.chance(0.5)) return mutateText(r, v);
    if (typeof v === 'number' && r.chance(0.5)) return r.pick([v + 1, -v, v * 65536, 2 ** 53, NaN]);
    return r.pick(WEIRD);
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return [r.pick(WEIRD)];
    const i = r.int(0, v.length - 1);
    const out = v.slice();
    if (r.chance(0.1)) out.splice(i, 1);
    else out[i] = mutateJson(r, v[i], depth + 1);
    return out;
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    if (keys.length === 0 || r.chance(0.1)) {
      out[r.pick(['name', 'ports', 'acls', 'bogus_column', '_uuid', 'options'])] = r.pick(WEIRD);
      return out;
    }
    const k = r.pick(keys);
    if (r.chance(0.1)) delete out[k];
    else out[k] = mutateJson(r, out[k], depth + 1);
    return out;
  }
  return v;
}

function mutateText(r: Rng, s: string): string {
  const at = r.int(0, s.length);
  return r.chance(0.5) ? s.slice(0, at) : s.slice(0, at) + r.pick(['"', '\\', '\u0000', '-', '.', 'ff']) + s.slice(at);
}

function frame(records: string[]): Uint8Array {
  return concat(
    ...records.map((body) => {
      const b = textInput(body);
      return concat(textInput(`OVSDB JSON ${b.length} ${createHash('sha1').update(b).digest('hex')}\n`), b);
    }),
  );
}

export default defineTarget({
  name: 'nb-file',
  about: 'OVN_Northbound database files through loadNb and northd (lflowList)',
  generate(r) {
    const records = r.pick(seedRecords()).slice();
    for (let n = r.int(1, 3); n > 0; n--) {
      const i = r.chance(0.08) || records.length === 1 ? 0 : r.int(1, records.length - 1);
      let json: unknown;
      try {
        json = JSON.parse(records[i]!);
      } catch {
        continue;
      }
      records[i] = `${JSON.stringify(mutateJson(r, json))}\n`;
    }
    const bytes = frame(records);
    return r.chance(0.15) ? mutateBytes(r, bytes, 3, 1 << 20) : bytes;
  },
  run(b) {
    const text = lflowList(loadNb(b));
    return { lines: text.split('\n').length, digest: createHash('sha1').update(text).digest('hex') };
  },
});
