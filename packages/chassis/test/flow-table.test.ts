/**
 * The desired flow table's compact storage: a flow keeps its match only as its key, so the match
 * decoded from the key must be the match it was given (after OVS's normalisation), and owner
 * bookkeeping (one owner as a string, several as a set) must follow adds and removals.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { KEY_WORDS, Match } from '@ovnts/openflow';
import { DesiredFlowTable, type OfAction } from '@ovnts/chassis';

const resubmit = (table: number): OfAction => ({ type: 'resubmit', table });
const conj = (id: number, clause: number): OfAction => ({ type: 'conjunction', id, clause, nClauses: 2 });

function matchOf(words: readonly [number, number, number][]): Match {
  const m = new Match();
  for (const [i, v, mk] of words) {
    m.mask[i] = mk;
    m.value[i] = (v & mk) >>> 0;
  }
  return m;
}

describe('DesiredFlowTable', () => {
  test('the match decoded from a flow key is the match added (normalised)', () => {
    const word = fc.tuple(fc.integer({ min: 0, max: KEY_WORDS - 1 }), fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 0xffff_ffff }));
    fc.assert(
      fc.property(fc.array(word, { maxLength: 12 }), fc.nat({ max: 254 }), fc.nat({ max: 65535 }), (words, table, prio) => {
        const t = new DesiredFlowTable();
        const m = matchOf(words);
        const want = m.clone();
        want.normalize();
        t.add(table, prio, 1n, m, [resubmit(1)], 'row');
        const [f] = [...t.installed()];
        expect(f!.match.equals(want)).toBe(true);
        expect(f!.table).toBe(table);
        expect(f!.priority).toBe(prio);
      }),
      { seed: 9, numRuns: 300 },
    );
  });

  test('owners: preference on a shared key, conjunction merging, removal', () => {
    const t = new DesiredFlowTable();
    const m = () => matchOf([[0, 5, 0xffff_ffff]]);
    t.add(8, 100, 1n, m(), [], 'a');
    t.add(8, 100, 2n, m(), [resubmit(9)], 'b');
    expect(t.size).toBe(1);
    const key = [...t.installed()][0]!.key;
    expect(t.active(key)!.cookie).toBe(2n);
    expect(t.removeOwner('b')).toBe(1);
    expect(t.active(key)!.cookie).toBe(1n);
    expect([...t.active(key)!.owners]).toEqual(['a']);
    t.removeOwner('a');
    expect(t.size).toBe(0);

    t.addOrAppend(9, 50, m(), [conj(1, 0)], 'x');
    t.addOrAppend(9, 50, m(), [conj(2, 1)], 'y');
    t.addOrAppend(9, 50, m(), [conj(3, 0)], 'x');
    const f = [...t.installed()][0]!;
    expect([...f.owners].sort()).toEqual(['x', 'y']);
    expect(f.actions).toEqual([conj(1, 0), conj(3, 0), conj(2, 1)]);
    expect(t.ownedBy('x')).toHaveLength(1);
    expect(t.removeOwner('x')).toBe(1);
    expect(f.actions).toEqual([conj(2, 1)]);
    expect([...f.owners]).toEqual(['y']);
    t.removeOwner('y');
    expect(t.size).toBe(0);
    expect(t.takeChanged().size).toBe(2);
  });
});
