/**
 * Differential test of "transact": the same seeded random transactions (txngen.ts) against real
 * ovsdb-server 3.1 and our server, on the test schema. Every reply must be identical ("error",
 * "details" and "syntax" included) after naming random uuids and dropping row versions, and so
 * must the whole database at the end. OVSDB_DIFF_TXNS sets the number of transactions
 * (default 400), OVSDB_DIFF_SEED the seed (printed).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OvsdbClient } from '@ovnts/ovsdb';
import { RealOvsdb, requireOvsdbServer } from '@ovnts/testkit';
import { Normalizer, TEST_SCHEMA_FILE, canon, sortRows, startOurs } from './helpers.js';
import { TxnGen, allPoolUuids } from './txngen.js';

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
    const nr = new Normalizer(known);
    const no = new Normalizer(known);
    let committed = 0;
    let failed = 0;
    for (let i = 0; i < N; i++) {
      const params = gen.txn();
      const [a, b] = await Promise.all([rc.request('transact', params), oc.request('transact', params)]);
      const ra = canon(nr.norm(sortRows(a)));
      const rb = canon(no.norm(sortRows(b)));
      if (ra !== rb) {
        expect.fail(`transaction ${i} (seed ${SEED}) differs\nrequest: ${canon(params)}\novsdb-server: ${ra}\nours:         ${rb}`);
      }
      if ((a as unknown[]).some((x) => typeof x === 'object' && x !== null && 'error' in x)) failed++;
      else committed++;
    }
    console.log(`transact differential: ${committed} committed, ${failed} refused, all ${N} replies identical`);
    // The whole database at the end.
    const dump = ['Test', ...['Root', 'Child', 'Other', 'WeakMin'].map((t) => ({ op: 'select', table: t, where: [] }))];
    const [da, db] = await Promise.all([rc.request('transact', dump), oc.request('transact', dump)]);
    expect(canon(no.norm(sortRows(db)))).toBe(canon(nr.norm(sortRows(da))));
    expect(committed).toBeGreaterThan(N / 10);
    expect(failed).toBeGreaterThan(N / 10);
  }, 120_000);
});
