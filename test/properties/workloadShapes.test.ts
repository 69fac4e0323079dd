// Compact workload specs: bulk inserts and strided removes expand deterministically into the
// model's operations, keys past the engine's limit are refused (TOO_LARGE) and modelled as such,
// and a range removal in the model removes exactly [start, end).
import test from 'ava';
import { FaultyVfs } from '../../fault/faultyVfs.js';
import * as referenceEngine from '../../engine/index.js';
import { CommitHistory, toHex } from '../../model/commitHistory.js';
import { applyOps, asModelled } from '../../properties/crashWorkload.js';
import { bulkKey, describeOp, expandOps, keyPrefix, refused, type BulkInsert } from '../../properties/workloadShapes.js';

const bulk = (fields: Partial<BulkInsert>): BulkInsert =>
  ({ op: 'bulk', table: 't0', from: 10, count: 5, order: 'asc', width: 6, valueBytes: 3, seed: 7, ...fields });
const keysOf = (ops: ReturnType<typeof expandOps>): string[] => ops.map((op) => ('key' in op ? toHex(op.key) : op.op));

test('a bulk insert expands to count keys in its order, the same every time', (t) => {
  const asc = keysOf(expandOps([bulk({})], undefined));
  t.deepEqual(asc, [10, 11, 12, 13, 14].map((i) => toHex(bulkKey(i, 6))));
  t.deepEqual(keysOf(expandOps([bulk({ order: 'desc' })], undefined)), [...asc].reverse());
  const random = keysOf(expandOps([bulk({ order: 'random', count: 50 })], undefined));
  t.deepEqual(random, keysOf(expandOps([bulk({ order: 'random', count: 50 })], undefined)));
  t.deepEqual([...random].sort(), keysOf(expandOps([bulk({ count: 50 })], undefined)).sort(), 'a permutation of the same keys');
  t.notDeepEqual(random, keysOf(expandOps([bulk({ count: 50 })], undefined)));
  t.is(describeOp(bulk({})), 'bulk:t0[5 keys from 10 asc, width 6, 3B values]');
});

test('key indices sort as their keys do, whatever the width, and keyPrefix bounds them', (t) => {
  for (const width of [4, 9, 200]) {
    t.true(Buffer.compare(bulkKey(255, width), bulkKey(256, width)) < 0);
    t.true(Buffer.compare(keyPrefix(256), bulkKey(256, width)) <= 0);
    t.true(Buffer.compare(bulkKey(255, width), keyPrefix(256)) < 0);
  }
  t.is(bulkKey(0x0102, 2).length, 2);
  t.deepEqual([...bulkKey(0x0102, 2)], [1, 2]);
});

test('widths max and over follow the engine limit; an over-long insert is refused and modelled as opening its table', async (t) => {
  const limit = referenceEngine.maxKeyBytes(512);
  const [atMax] = expandOps([bulk({ width: 'max', count: 1 })], limit);
  const [over] = expandOps([bulk({ width: 'over', count: 1 })], limit);
  t.is(atMax?.op === 'insert' ? atMax.key.length : 0, limit);
  t.is(over?.op === 'insert' ? over.key.length : 0, limit + 1);
  t.false(refused(atMax!, limit));
  t.true(refused(over!, limit));
  t.deepEqual(asModelled(over!, limit), { op: 'create', table: 't0' });
  // Without a limit there is nothing to refuse: 'over' is just a wide key.
  t.false(refused(expandOps([bulk({ width: 'over', count: 1 })], undefined)[0]!, undefined));
  const db = await referenceEngine.Database.open(new FaultyVfs(), { pageBytes: 512 });
  const txn = await db.beginWrite();
  applyOps(txn, [atMax!, over!], limit);
  t.is(txn.openTable('t0').len(), 1, 'the key at the limit is stored, the one past it refused');
  t.throws(() => applyOps(txn, [atMax!], limit - 1), { message: /stored a key of/ }, 'an engine that takes a key past the limit it names fails the workload');
  txn.abort();
  await db.close();
});

test('a strided bulk remove is one range per index; the model removes exactly [start, end)', (t) => {
  const ops = expandOps([{ op: 'bulkRemove', table: 't0', from: 4, count: 3, stride: 2 }], undefined);
  t.deepEqual(ops.map((op) => (op.op === 'removeRange' ? [toHex(op.start!), toHex(op.end!)] : [])), [4, 6, 8].map((i) => [toHex(keyPrefix(i)), toHex(keyPrefix(i + 1))]));
  const history = new CommitHistory();
  history.addFamily('cf0');
  const inserts = [1, 2, 3, 4, 5].map((i) => ({ op: 'insert' as const, table: 't0', key: bulkKey(i, 6), value: Uint8Array.of(i) }));
  history.issue('cf0', [...inserts, { op: 'removeRange', table: 't0', start: keyPrefix(2), end: keyPrefix(4) }, { op: 'removeRange', table: 't0', start: keyPrefix(5) }], 'immediate');
  const table = history.stateAfter(1).get('cf0')!.get('t0')!;
  t.deepEqual([...table.keys()], [1, 4].map((i) => toHex(bulkKey(i, 6))));
});
