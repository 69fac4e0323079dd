// Scale: one million keys in 1,000-insert commits on MemoryVfs, read back, checked, reopened (figures are logged, never asserted).
import test from 'ava';
import { Database } from '../../engine/database.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { keyOf } from './engineFixtures.js';

const KEY_COUNT = 1_000_000;
const INSERTS_PER_COMMIT = 1_000;
const VALUE_BYTES = 150;
/** Every value is checked for its key prefix; one in this many is checked byte for byte. */
const SPOT_CHECK_EVERY = 997;

/** 150 bytes: the key (so a value in the wrong place is caught), then a pattern of the index. */
function valueFor(index: number): Uint8Array {
  const value = new Uint8Array(VALUE_BYTES);
  value.set(keyOf(index), 0);
  for (let i = 8; i < VALUE_BYTES; i++) value[i] = (index * 31 + i * 7) & 0xff;
  return value;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

test('one million keys: insert, read back, check integrity, reopen', async (t) => {
  const startMs = performance.now();
  const lapMs = (): number => Math.round(performance.now() - startMs);
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs);
  for (let first = 0; first < KEY_COUNT; first += INSERTS_PER_COMMIT) {
    const txn = await db.beginWrite();
    const table = txn.openTable('scale');
    for (let i = first; i < first + INSERTS_PER_COMMIT; i++) table.insert(keyOf(i), valueFor(i));
    await txn.commit();
  }
  const insertedMs = lapMs();
  const stats = db.stats();
  t.is(stats.committedTxnId, 1 + KEY_COUNT / INSERTS_PER_COMMIT);
  t.log(`insert: ${insertedMs} ms, ${stats.pageCount} pages, ${stats.syncs} fsyncs, ${stats.pagesWritten} pages written`);

  const reader = db.beginRead();
  const table = reader.openTable('scale');
  t.is(table.len(), KEY_COUNT);
  let wrong = 0;
  for (let i = 0; i < KEY_COUNT; i++) {
    const value = table.get(keyOf(i));
    const ok = value !== undefined && value.length === VALUE_BYTES && sameBytes(value.subarray(0, 8), keyOf(i))
      && (i % SPOT_CHECK_EVERY !== 0 || sameBytes(value, valueFor(i)));
    if (!ok) wrong++;
  }
  t.is(wrong, 0, 'every key reads back its own value');
  t.is(table.get(keyOf(KEY_COUNT)), undefined);
  const readMs = lapMs();
  let scanned = 0;
  let previous = -1;
  for (const [key] of table.range()) {
    const index = Number(Buffer.from(key).readBigUInt64BE());
    if (index !== previous + 1) break;
    previous = index;
    scanned++;
  }
  t.is(scanned, KEY_COUNT, 'a full scan yields every key once, in order');
  reader.close();
  const scannedMs = lapMs();

  const report = db.checkIntegrity();
  t.true(report.ok, report.problems.join('; '));
  t.deepEqual(report.tables, [{ name: 'scale', entries: KEY_COUNT, depth: report.tables[0]!.depth }]);
  t.is(report.reachablePages + report.freePages + report.pendingFreePages + report.freeListPages, report.pageCount - 1);
  const checkedMs = lapMs();
  await db.close();

  const reopened = await Database.open(vfs);
  const again = reopened.beginRead().openTable('scale');
  t.is(again.len(), KEY_COUNT);
  for (let i = 0; i < KEY_COUNT; i += 9973) t.true(sameBytes(again.get(keyOf(i))!, valueFor(i)), `key ${i} after reopen`);
  t.true(sameBytes(again.get(keyOf(KEY_COUNT - 1))!, valueFor(KEY_COUNT - 1)));
  await reopened.close();
  const reopenedMs = lapMs();
  t.log(`get all: ${readMs - insertedMs} ms, scan: ${scannedMs - readMs} ms, integrity: ${checkedMs - scannedMs} ms, `
    + `close+reopen+spot gets: ${reopenedMs - checkedMs} ms, total: ${reopenedMs} ms, depth ${report.tables[0]!.depth}, `
    + `file ${(report.pageCount * 4096 / 2 ** 20).toFixed(0)} MiB, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
});
