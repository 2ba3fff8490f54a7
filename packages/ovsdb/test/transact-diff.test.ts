/**
 * Differential test of "transact": the same seeded random transactions (txngen.ts) against real
 * ovsdb-server 3.1 and our server, on the test schema. Every reply must be identical ("error",
 * "details" and "syntax" included) after naming random uuids and dropping row versions, and so
 * must the whole database at the end. One difference is by design (docs/ovsdb.md): ovsdb-server
 * visits rows in its hash tables' order, we in insertion order, so "rows" lists are compared as
 * sets and, when an error's details name rows, a reply that differs only in which uuids it names
 * counts as an order difference (counted and printed, capped at 5 % of the transactions). OVSDB_DIFF_TXNS sets the number of transactions
 * (default 400), OVSDB_DIFF_SEED the seed (printed).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OvsdbClient } from '@ovnts/ovsdb';
import { RealOvsdb, requireOvsdbServer } from '@ovnts/testkit';
import { TEST_SCHEMA_FILE, UuidPairing, canon, sortRows, startOurs } from './helpers.js';
import { TxnGen, allPoolUuids } from './txngen.js';

/**
 * A reply with every uuid in error details replaced by one placeholder and the details'
 * sentences sorted: which duplicate pair a unique-index error reports, in which order, and which
 * row a reference error names follow the server's row order.
 */
function unnamed(reply: string): string {
  return reply.replace(/"details":"(?:[^"\\]|\\.)*"/g, (d) =>
    d
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<row>')
      .replace(/\b(First|Second) row/g, 'A row')
      .replace(/identical values \(.*?\) for index/, 'identical values (<values>) for index')
      .replace(/before the transaction: [^.]*/g, 'before the transaction: <values>')
      .replace(/ \(inserted within this transaction\)/g, '')
      .replace(/Deletion of \d+ weak/g, 'Deletion of <n> weak')
      .replace(/\.?"$/, '')
      .split('.  ')
      .sort()
      .join('.  '),
  );
}

const req = requireOvsdbServer('transact differential');
const N = Number(process.env.OVSDB_DIFF_TXNS ?? 400);
const SEED = Number(process.env.OVSDB_DIFF_SEED ?? 20261201);

describe.skipIf(req.skip)('transact: ours vs ovsdb-server', () => {
  let real: RealOvsdb;
  let ours: Awaited<ReturnType<typeof startOurs>>;
  let rc: OvsdbClient;
  let oc: OvsdbClient;

  beforeAll(async () => {
    real = await RealOvsdb.start({ schemaFile: TEST_SCHEMA_FILE });
    ours = await startOurs();
    rc = await OvsdbClient.connect(real.remote);
    oc = await OvsdbClient.connect(ours.remote);
  });
  afterAll(async () => {
    rc?.close();
    oc?.close();
    await real?.stop();
    await ours?.stop();
  });

  test(`${N} random transactions (seed ${SEED})`, async () => {
    console.log(`transact differential: seed ${SEED}, ${N} transactions`);
    const gen = new TxnGen(SEED);
    const known = allPoolUuids(gen.poolSize);
    const p = new UuidPairing(known);
    let committed = 0;
    let failed = 0;
    let orderOnly = 0;
    for (let i = 0; i < N; i++) {
      const params = gen.txn();
      const [a, b] = await Promise.all([rc.request('transact', params), oc.request('transact', params)]).catch((e: unknown) =>
        expect.fail(`transaction ${i} (seed ${SEED}) failed: ${String(e)}\nrequest: ${canon(params)}`),
      );
      p.pair(a, b);
      const ra = canon(sortRows(p.translate(a)));
      const rb = canon(sortRows(p.translate(b)));
      if (ra !== rb && unnamed(ra) === unnamed(rb)) orderOnly++;
      else if (ra !== rb) {
        expect.fail(`transaction ${i} (seed ${SEED}) differs\nrequest: ${canon(params)}\novsdb-server: ${ra}\nours:         ${rb}`);
      }
      if ((a as unknown[]).some((x) => typeof x === 'object' && x !== null && 'error' in x)) failed++;
      else committed++;
    }
    console.log(`transact differential: ${committed} committed, ${failed} refused, ${N - orderOnly} replies identical, ${orderOnly} differing only in which row an error names first`);
    expect(orderOnly).toBeLessThanOrEqual(N / 20);
    // The whole database at the end.
    const dump = ['Test', ...['Root', 'Child', 'Other', 'WeakMin'].map((t) => ({ op: 'select', table: t, where: [] }))];
    const [da, db] = await Promise.all([rc.request('transact', dump), oc.request('transact', dump)]);
    expect(canon(sortRows(p.translate(db)))).toBe(canon(sortRows(p.translate(da))));
    expect(committed).toBeGreaterThan(N / 10);
    expect(failed).toBeGreaterThan(N / 10);
  }, 120_000);
});
