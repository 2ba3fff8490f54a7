/**
 * Tunnel key allocation (sb/keys.ts) on its own, and northd and ovn-trace agreeing on every key
 * (issue 8: they used to allocate separately and disagree). The real ovn-northd comparisons are
 * in keys-differential.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { assignPortKeys, compileNorthd, idlOrder, idlTableOrder, NbBuilder, requestedTnlKey, TnlIds, traceDb, type PortKeyInput } from '@ovnts/ovn';

const port = (name: string, requested = 0, existing?: number): PortKeyInput => ({ name, kind: 'switch', requested, existing });

describe('ovn_allocate_tnlid', () => {
  test('first free key after the hint, wrapping to the minimum, never the hint itself', () => {
    const ids = new TnlIds();
    const hint = { value: 0 };
    expect([1, 2, 3].map(() => ids.allocate(1, 4, hint))).toEqual([1, 2, 3]);
    expect(ids.allocate(1, 4, hint)).toBe(4);
    expect(ids.allocate(1, 4, hint)).toBe(0);
    const ids2 = new TnlIds();
    ids2.add(2);
    const h2 = { value: 4 };
    expect(ids2.allocate(1, 4, h2)).toBe(1);
    expect(h2.value).toBe(1);
    expect(ids2.allocate(1, 4, h2)).toBe(3);
  });
  test('requested-tnl-key is read as smap_get_int reads it', () => {
    const k = (v: string) => requestedTnlKey(new Map([['requested-tnl-key', v]]));
    expect(k('5')).toBe(5);
    expect(k(' 7')).toBe(7);
    expect(k('+9')).toBe(9);
    expect(k('5x')).toBe(0);
    expect(k('')).toBe(0);
    expect(k('99999999999')).toBe(0);
    expect(k('-1')).toBe(0xffffffff);
    expect(requestedTnlKey(new Map())).toBe(0);
  });
});

describe('port keys (build_ports)', () => {
  test('a requested key raises the hint: the others follow it (one run)', () => {
    const keys = assignPortKeys([], [port('a', 5), port('b'), port('c')], false);
    expect([...keys]).toEqual([['a', 5], ['b', 6], ['c', 7]]);
  });
  test('kept keys raise the hint too: a new port gets the key after the highest, not a freed one', () => {
    const keys = assignPortKeys([port('a', 0, 1), port('c', 0, 3)], [port('d')], false);
    expect(keys.get('d')).toBe(4);
  });
  test('requested beats kept, the loser is reallocated, the second request is warned about', () => {
    const warnings: { subject: string; message: string }[] = [];
    const keys = assignPortKeys([port('a', 0, 2)], [port('b', 2), port('c', 2)], false, warnings);
    expect(keys.get('b')).toBe(2);
    expect(keys.get('a')).toBe(3);
    expect(keys.get('c')).toBe(4);
    expect(warnings.map((w) => w.message)).toEqual(['Logical switch port c requests same tunnel key 2 as another LSP or LRP']);
  });
  test('the range wraps from 32767 to 1', () => {
    const keys = assignPortKeys([], [port('a', 32767), port('b'), port('c')], false);
    expect([keys.get('b'), keys.get('c')]).toEqual([1, 2]);
  });
});

describe("northd and ovn-trace agree (issue 8's example)", () => {
  test('a switch whose port a has requested-tnl-key=5', () => {
    const nb = new NbBuilder();
    const sw = nb.logicalSwitch('sw');
    sw.port('a', { addresses: ['00:00:00:00:00:01 10.0.0.1'], options: { 'requested-tnl-key': '5' } });
    sw.port('b', { addresses: ['00:00:00:00:00:02 10.0.0.2'] });
    sw.port('c', { addresses: ['00:00:00:00:00:03 10.0.0.3'] });
    const db = nb.build();
    const r = compileNorthd(db);
    const northd = ['a', 'b', 'c'].map((n) => r.context.portKey(n));
    const sb = ['a', 'b', 'c'].map((n) => r.sb.portBindings.find((p) => p.logicalPort === n)!.tunnelKey);
    const trace = ['a', 'b', 'c'].map((n) => traceDb(db).ports.get(n)!.key);
    expect(northd).toEqual([5, 6, 7]);
    expect(sb).toEqual(northd);
    expect(trace).toEqual(northd);
  });
});

describe('the IDL walks a table in hash order (facts recorded from real ovn-northd 23.03)', () => {
  // 13 switches created in one ovn-nbctl transaction; ovn-northd numbered them in this order.
  const oneTxn = [
    '86f7b6a0-4194-4158-a767-6b818e33ab05 sw8', '910ee631-844e-4526-af14-2f2f4e244c57 sw7', 'f1b1e229-463d-4d86-8204-e29a8257fc8c sw6',
    'e0479491-2270-49cc-9543-fb8625b5c564 sw13', '7a8d0f73-441c-4577-ad41-34bb7a9f2537 sw5', 'bae40a53-1ab6-4cef-b798-8cbc48b31d2f sw4',
    '68f6d524-e52c-4fa0-a58c-dd9f7a641f62 sw2', '91734314-4ec4-49ea-b53c-9e9cea416a58 sw3', 'd8cd2835-5227-44c7-895d-3643baca9f47 sw1',
    'bb9babd5-8b61-4f04-8b1d-732ee08d3356 sw12', '665f8c2e-3182-4276-b51d-66fdbfaf4ec3 sw11', '549c361e-c833-459a-8b06-e89c8142858d sw9',
    'b6c6b176-90d3-4344-be71-94a10c77ab26 sw10',
  ].map((l) => ({ uuid: l.split(' ')[0]!, name: l.split(' ')[1]! }));
  test('rows that arrived in one update message', () => {
    const shuffled = [...oneTxn].sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(idlTableOrder(shuffled, () => false).map((r) => r.name)).toEqual(oneTxn.map((r) => r.name));
  });
  // 13 switches created one transaction each (ovn-northd paused), in name order; its numbering.
  const oneEach = [
    '1f27ee69 sw1', '5b1e03af sw2', 'f0a54740 sw3', 'b1457e97 sw4', '224806d1 sw5', 'e567f528 sw6', '675169f5 sw7',
    '9842c349 sw8', 'b64b619e sw9', 'e449b8ae sw10', '2823ae5f sw11', '3750f1d6 sw12', '3f5139a2 sw13',
  ].map((l) => ({ uuid: `${l.split(' ')[0]}-0000-4000-8000-000000000000`, name: l.split(' ')[1]! }));
  test('rows that arrived one by one (each a batch of its own)', () => {
    const order = idlOrder(oneEach.map((r) => [r]));
    expect(order.map((r) => r.name).join(' ')).toBe('sw3 sw6 sw1 sw5 sw8 sw13 sw7 sw12 sw10 sw9 sw11 sw2 sw4');
  });
});
