// bench/recovery.ts without timing anything real: its crash image really leaves records to replay, so each open it measures is a recovery.
import test from 'ava';
import { ColumnFamilyDatabase } from '../../engine/index.js';
import { FaultyVfs } from '../../fault/faultyVfs.js';
import { familyName } from '../../properties/crashWorkload.js';
import { BENCH_OPTIONS } from '../../bench/harness.js';
import { crashedImage, measure } from '../../bench/recovery.js';

test('the crash image holds the population durably and the extra commits only in the log', async (t) => {
  const image = await crashedImage(50, 3, 1);
  const log = image.get('crashlab.cf.wal');
  t.truthy(log, 'the image has a log');
  const db = await ColumnFamilyDatabase.open(FaultyVfs.fromImage(image), BENCH_OPTIONS);
  const family = await db.columnFamily(familyName(0));
  const reader = family.beginRead();
  const table = reader.openTable('t0');
  // The population has 50 keys; the three commits insert twelve more values, some new keys.
  t.true(table.len() >= 50, `${table.len()} keys`);
  t.true([...table.range()].some(([, value]) => value.length === 2), 'a value of an extra commit was replayed');
  reader.close();
  t.true(family.stats().committedTxnId > 2, 'the open replayed and checkpointed');
  await db.close();
});

test('measure reports one row per size with non-negative CPU times', async (t) => {
  const row = await measure(20, 2, 2);
  t.like(row, { keys: 20, txns: 2, opens: 2 });
  t.true(row.openCpuMs >= 0 && row.closeCpuMs >= 0);
});
