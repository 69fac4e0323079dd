// btree.ts through the Database API on small (512-byte) pages: splits, merges, redistribution, overflow values, ranges and misuse.
import assert from 'node:assert/strict';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { Database } from '../../engine/database.js';
import { compareBytes, Layout, MAX_VALUE_BYTES } from '../../engine/node.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { campaignSeed } from '../campaignSeed.js';
import { commitEntries, hex, indexOf, keyOf, throwsCode, valueOf } from './engineFixtures.js';

const PAGE_BYTES = 512;
const layout = new Layout(PAGE_BYTES);
/** Largest value stored inline next to an 8-byte key: 126 - 8 - 8 = 110 bytes at 512-byte pages. */
const INLINE_MAX_BYTES = layout.maxEntryBytes - 8 - 8;
const CHUNK_BYTES = layout.overflowDataBytes;

async function openSmall(vfs = new MemoryVfs()): Promise<Database> {
  return Database.open(vfs, { pageBytes: PAGE_BYTES });
}

function assertIntact(t: ExecutionContext, db: Database, when: string): void {
  const report = db.checkIntegrity();
  t.true(report.ok, `${when}: ${report.problems.join('; ')}`);
}

function tableDepth(db: Database, name: string): number {
  return db.checkIntegrity().tables.find((table) => table.name === name)?.depth ?? -1;
}

/** Deterministic shuffle (xorshift), so a failing order replays. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('splits grow the tree, removes merge it back to nothing, integrity holds after every commit', async (t) => {
  const db = await openSmall();
  const keyCount = 3000;
  const order = shuffled(Array.from({ length: keyCount }, (_, i) => i), 7);
  let depth = 0;
  for (let start = 0; start < keyCount; start += 150) {
    await commitEntries(db, 't', order.slice(start, start + 150).map((i) => [keyOf(i), valueOf(i, 20)]));
    assertIntact(t, db, `after inserting ${start + 150}`);
    const grown = tableDepth(db, 't');
    t.true(grown >= depth, 'depth never shrinks while inserting');
    depth = grown;
  }
  t.true(depth >= 3, `3000 keys on 512-byte pages make a deep tree (depth ${depth})`);

  const removals = shuffled(order, 11);
  for (let start = 0; start < keyCount; start += 150) {
    const txn = await db.beginWrite();
    const table = txn.openTable('t');
    for (const i of removals.slice(start, start + 150)) t.true(table.remove(keyOf(i)));
    await txn.commit();
    assertIntact(t, db, `after removing ${start + 150}`);
    const shrunk = tableDepth(db, 't');
    t.true(shrunk <= depth, 'depth never grows while removing');
    depth = shrunk;
  }
  t.is(depth, 0, 'an emptied table has no pages');
  const report = db.checkIntegrity();
  t.is(report.reachablePages, 1, 'only the catalog leaf is left');
  t.is(report.freePages + report.pendingFreePages + report.freeListPages, report.pageCount - 2);
  const reader = db.beginRead();
  t.is(reader.openTable('t').len(), 0);
  t.deepEqual([...reader.openTable('t').range()], []);
  reader.close();
  await db.close();
});

type Op = { kind: 'insert'; key: number; valueBytes: number; salt: number } | { kind: 'remove'; key: number }
  | { kind: 'commit' } | { kind: 'abort' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('insert' as const), key: fc.nat({ max: 400 }),
    valueBytes: fc.oneof(fc.nat({ max: INLINE_MAX_BYTES }), fc.nat({ max: 3 * CHUNK_BYTES })), salt: fc.nat({ max: 1000 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('remove' as const), key: fc.nat({ max: 400 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'abort' as const }) },
);

// A fixed seed (CRASHLAB_SEED overrides it, CRASHLAB_RUNS widens it), printed in the title: a red run replays.
const treeSeed = campaignSeed(88);
const treeRuns = Number(process.env['CRASHLAB_RUNS'] ?? 25);

test(`random inserts and removes (variable sizes: merges and redistribution) match a sorted-map model (seed ${treeSeed.seed})`, async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 50, maxLength: 400 }), async (ops) => {
    const vfs = new MemoryVfs();
    const db = await openSmall(vfs);
    let committed = new Map<number, Uint8Array>();
    let pending = new Map(committed);
    let txn = await db.beginWrite();
    const check = (): void => {
      const report = db.checkIntegrity();
      assert.ok(report.ok, report.problems.join('; '));
      const reader = db.beginRead();
      const table = reader.listTables().includes('t') ? reader.openTable('t') : null;
      const actual = table === null ? [] : [...table.range()].map(([key, value]) => [indexOf(key), hex(value)]);
      const expected = [...committed.entries()].sort((a, b) => a[0] - b[0]).map(([key, value]) => [key, hex(value)]);
      assert.deepEqual(actual, expected);
      reader.close();
    };
    for (const op of [...ops, { kind: 'commit' } as const]) {
      if (op.kind === 'insert') {
        const value = valueOf(op.key, op.valueBytes, op.salt);
        assert.equal(txn.openTable('t').insert(keyOf(op.key), value), pending.has(op.key));
        pending.set(op.key, value);
      } else if (op.kind === 'remove') {
        assert.equal(txn.openTable('t').remove(keyOf(op.key)), pending.delete(op.key));
      } else {
        if (op.kind === 'commit') {
          await txn.commit();
          committed = pending;
        } else {
          txn.abort();
        }
        pending = new Map(committed);
        check();
        txn = await db.beginWrite();
      }
    }
    txn.abort();
    await db.close();
    // The same state after a reopen: the pages, not the caches, hold it.
    const reopened = await openSmall(vfs);
    const report = reopened.checkIntegrity();
    assert.ok(report.ok, report.problems.join('; '));
    // A run whose only commit follows an abort never creates the table: no table is zero keys.
    const reread = reopened.beginRead();
    assert.equal(reread.listTables().includes('t') ? reread.openTable('t').len() : 0, committed.size);
    reread.close();
    await reopened.close();
  }), { numRuns: treeRuns, seed: treeSeed.seed });
  t.pass();
});

const OVERFLOW_SIZES_BYTES = [
  0, 1, INLINE_MAX_BYTES, INLINE_MAX_BYTES + 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, PAGE_BYTES,
  2 * CHUNK_BYTES, 2 * CHUNK_BYTES + 1, 10_000,
];

test('values of every size around the inline limit and the page boundary round trip, with exact page counts', async (t) => {
  for (const sizeBytes of OVERFLOW_SIZES_BYTES) {
    const vfs = new MemoryVfs();
    const db = await openSmall(vfs);
    const value = valueOf(1, sizeBytes);
    await commitEntries(db, 't', [[keyOf(1), value]]);
    const overflowPages = sizeBytes > INLINE_MAX_BYTES ? Math.ceil(sizeBytes / CHUNK_BYTES) : 0;
    const report = db.checkIntegrity();
    t.true(report.ok, report.problems.join('; '));
    // Catalog leaf + table leaf + the chain.
    t.is(report.reachablePages, 2 + overflowPages, `${sizeBytes} bytes`);
    t.is(hex(db.beginRead().openTable('t').get(keyOf(1))!), hex(value), `${sizeBytes} bytes, same handle`);
    await db.close();
    const reopened = await openSmall(vfs);
    t.is(hex(reopened.beginRead().openTable('t').get(keyOf(1))!), hex(value), `${sizeBytes} bytes, after reopen`);
    await reopened.close();
  }
});

test('replacing an overflow value with an inline one frees its chain, and the chain is reused', async (t) => {
  const db = await openSmall();
  const bigBytes = 5000;
  const chainPages = Math.ceil(bigBytes / CHUNK_BYTES);
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, bigBytes)], [keyOf(2), valueOf(2, 10)]]);
  const before = db.checkIntegrity();
  t.true(before.ok);

  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]]);
  const after = db.checkIntegrity();
  t.true(after.ok, after.problems.join('; '));
  t.is(after.reachablePages, before.reachablePages - chainPages);
  // No reader and a durable commit: the chain and the copied leaf pages are free at once.
  const stats = db.stats();
  t.is(stats.pendingFreePages, 0);
  t.true(stats.freePages >= chainPages, `free ${stats.freePages}`);
  t.is(stats.freePages + after.reachablePages + stats.freeListPages, stats.pageCount - 1, 'page accounting');

  // Inline back to overflow: the chain comes from the free pages, the file does not grow.
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, bigBytes, 2)]]);
  // At most one page more: when the chain takes every free page, the commit's free list needs
  // one, and the pages it could use (the old list, the pages just freed) are still durable.
  t.true(db.stats().pageCount <= stats.pageCount + 1, `${db.stats().pageCount} pages, ${stats.pageCount} before`);
  const last = db.checkIntegrity();
  t.true(last.ok, last.problems.join('; '));
  t.is(last.reachablePages, before.reachablePages);
  t.is(hex(db.beginRead().openTable('t').get(keyOf(1))!), hex(valueOf(1, bigBytes, 2)));
  await db.close();
});

test('overflow chains written and replaced inside one transaction are reused at once', async (t) => {
  const db = await openSmall();
  const bigBytes = 5000;
  const chainPages = Math.ceil(bigBytes / CHUNK_BYTES);
  const txn = await db.beginWrite();
  const table = txn.openTable('t');
  for (let round = 0; round < 20; round++) table.insert(keyOf(1), valueOf(1, bigBytes, round));
  table.insert(keyOf(2), valueOf(2, 3000));
  table.remove(keyOf(2));
  await txn.commit();
  const report = db.checkIntegrity();
  t.true(report.ok, report.problems.join('; '));
  // 20 chains were written, but each replaced one was never visible: at most two chains' worth of pages.
  t.true(db.stats().pageCount <= 1 + 2 + 2 * chainPages + 2, `page count ${db.stats().pageCount}`);
  t.is(hex(db.beginRead().openTable('t').get(keyOf(1))!), hex(valueOf(1, bigBytes, 19)));
  await db.close();
});

test('range: bounds are [start, end), reverse walks backwards, empty and inverted ranges yield nothing', async (t) => {
  const db = await openSmall();
  // Even keys only, so odd bounds fall between keys.
  const keys = Array.from({ length: 2000 }, (_, i) => 2 * i);
  for (let start = 0; start < keys.length; start += 500) {
    await commitEntries(db, 't', keys.slice(start, start + 500).map((k) => [keyOf(k), valueOf(k, 12)]));
  }
  t.true(tableDepth(db, 't') >= 3);
  const reader = db.beginRead();
  const table = reader.openTable('t');
  const rangeOf = (start?: number, end?: number, reverse = false): number[] =>
    [...table.range(start === undefined ? undefined : keyOf(start), end === undefined ? undefined : keyOf(end), { reverse })]
      .map(([key]) => indexOf(key));
  const expected = (start?: number, end?: number, reverse = false): number[] => {
    const inside = keys.filter((k) => (start === undefined || k >= start) && (end === undefined || k < end));
    return reverse ? inside.reverse() : inside;
  };

  t.deepEqual(rangeOf(), keys);
  t.deepEqual(rangeOf(undefined, undefined, true), [...keys].reverse());
  t.deepEqual(rangeOf(100, 110), [100, 102, 104, 106, 108]);
  t.deepEqual(rangeOf(101, 111, true), [110, 108, 106, 104, 102]);
  t.deepEqual(rangeOf(100, 100), []);
  t.deepEqual(rangeOf(100, 100, true), []);
  t.deepEqual(rangeOf(200, 100), []);
  t.deepEqual(rangeOf(101, 102), []);
  t.deepEqual(rangeOf(5000), []);
  t.deepEqual(rangeOf(undefined, 0), []);
  t.deepEqual(rangeOf(3998), [3998]);
  t.deepEqual(rangeOf(undefined, 1, true), [0]);

  const bound = fc.option(fc.integer({ min: -1, max: 4001 }), { nil: undefined });
  fc.assert(fc.property(bound, bound, fc.boolean(), (start, end, reverse) => {
    const clamp = (k: number | undefined): number | undefined => (k === undefined ? undefined : Math.max(0, k));
    assert.deepEqual(rangeOf(clamp(start), clamp(end), reverse), expected(clamp(start), clamp(end), reverse));
  }), { numRuns: 300 });

  // Each value is a fresh copy: changing it changes nothing stored.
  const [first] = table.range(keyOf(0), keyOf(1));
  first![1].fill(0);
  t.is(hex(table.get(keyOf(0))!), hex(valueOf(0, 12)));
  reader.close();

  const empty = await db.beginWrite();
  t.deepEqual([...empty.openTable('empty').range()], []);
  t.deepEqual([...empty.openTable('empty').range(undefined, undefined, { reverse: true })], []);
  empty.abort();
  await db.close();
});

test('keys sort as unsigned bytes, shorter first; empty keys and values are legal', async (t) => {
  const db = await openSmall();
  const keys = [Uint8Array.of(0x80), Uint8Array.of(0x7f), Uint8Array.of(0xff, 0), Uint8Array.of(0xff), new Uint8Array(0), Uint8Array.of(0, 0)];
  await commitEntries(db, 't', keys.map((key) => [key, new Uint8Array(0)]));
  const reader = db.beginRead();
  const stored = [...reader.openTable('t').range()];
  t.deepEqual(stored.map(([key]) => hex(key)), ['', '0000', '7f', '80', 'ff', 'ff00']);
  t.true(stored.every(([, value]) => value.length === 0));
  t.deepEqual(reader.openTable('t').get(new Uint8Array(0)), new Uint8Array(0));
  t.deepEqual([...keys].sort(compareBytes).map(hex), stored.map(([key]) => hex(key)));
  reader.close();
  await db.close();
});

test('an oversize key or value is TOO_LARGE and leaves the transaction usable', async (t) => {
  const db = await openSmall();
  const txn = await db.beginWrite();
  const table = txn.openTable('t');
  throwsCode(t, () => table.insert(new Uint8Array(layout.maxKeyBytes + 1), Uint8Array.of(1)), 'TOO_LARGE');
  throwsCode(t, () => table.insert(Uint8Array.of(1), new Uint8Array(MAX_VALUE_BYTES + 1)), 'TOO_LARGE');
  // The largest key is fine, even with a value that needs an overflow chain.
  table.insert(new Uint8Array(layout.maxKeyBytes).fill(7), valueOf(3, 2000));
  table.insert(Uint8Array.of(2), Uint8Array.of(2));
  await txn.commit();
  const reader = db.beginRead();
  t.is(reader.openTable('t').len(), 2);
  t.is(hex(reader.openTable('t').get(new Uint8Array(layout.maxKeyBytes).fill(7))!), hex(valueOf(3, 2000)));
  reader.close();
  t.true(db.checkIntegrity().ok);
  await db.close();
});

test('keys, values and bounds that are not Uint8Array are TypeError; Buffers and views are accepted', async (t) => {
  const db = await openSmall();
  const txn = await db.beginWrite();
  const table = txn.openTable('t');
  const misuse = table as unknown as Record<'insert' | 'remove' | 'get', (...args: unknown[]) => unknown>;
  for (const bad of ['key', 42, null, undefined, [1, 2], new ArrayBuffer(2), new Uint16Array(2)]) {
    t.throws(() => misuse.insert(bad, Uint8Array.of(1)), { instanceOf: TypeError });
    t.throws(() => misuse.insert(Uint8Array.of(1), bad), { instanceOf: TypeError });
    t.throws(() => misuse.get(bad), { instanceOf: TypeError });
    t.throws(() => misuse.remove(bad), { instanceOf: TypeError });
    if (bad !== undefined) {
      t.throws(() => [...table.range(bad as unknown as Uint8Array)], { instanceOf: TypeError });
      t.throws(() => [...table.range(undefined, bad as unknown as Uint8Array)], { instanceOf: TypeError });
    }
  }
  t.is(table.len(), 0, 'no misuse changed anything');
  // A view stores its own bytes only, and a Buffer is a Uint8Array.
  const backing = Uint8Array.of(9, 1, 2, 9);
  table.insert(backing.subarray(1, 3), Buffer.from([5, 6]));
  backing.fill(0);
  t.is(hex(table.get(Uint8Array.of(1, 2))!), '0506');
  await txn.commit();
  await db.close();
});

// Buffer#slice is a view, not a copy: an engine that copies with .slice() aliases its caller's Buffers.
test('Buffer keys and values are copied on insert, and results are the caller\'s own copies', async (t) => {
  const db = await openSmall();
  const key = Buffer.from([1]);
  const value = Buffer.from([10, 11]);
  const txn = await db.beginWrite();
  const table = txn.openTable('t');
  table.insert(key, value);
  key[0] = 9; // A caller reusing its buffers after insert, as codecs do.
  value[0] = 99;
  t.is(hex(table.get(Uint8Array.of(1)) ?? new Uint8Array(0)), '0a0b', 'inside the transaction');
  t.is(table.get(Uint8Array.of(9)), undefined, 'inside the transaction');
  await txn.commit();

  const later = Buffer.from([20]);
  await commitEntries(db, 't', [[Buffer.from([2]), later]]);
  later[0] = 77; // After the commit: the stored (and cached) value must not follow.
  const reader = db.beginRead();
  const stored = reader.openTable('t');
  t.is(hex(stored.get(Uint8Array.of(1)) ?? new Uint8Array(0)), '0a0b', 'after commit');
  t.is(hex(stored.get(Uint8Array.of(2)) ?? new Uint8Array(0)), '14', 'after commit, from the read cache');
  const result = stored.get(Uint8Array.of(2))!;
  result.fill(55); // The result is the caller's to keep and change.
  t.is(hex(stored.get(Uint8Array.of(2))!), '14', 'a changed result does not change the store');
  const firstEntry = [...stored.range(Uint8Array.of(1), Uint8Array.of(2))][0]!;
  firstEntry[0].fill(0xee);
  t.deepEqual([...stored.range()].map(([k]) => hex(k)), ['01', '02'], 'a changed range key does not change the store');
  reader.close();
  await db.close();
});

test('modifying a table while iterating it throws TypeError; other tables are unaffected', async (t) => {
  const db = await openSmall();
  await commitEntries(db, 't', Array.from({ length: 200 }, (_, i) => [keyOf(i), valueOf(i, 30)]));
  await commitEntries(db, 'other', [[keyOf(1), Uint8Array.of(1)]]);
  const txn = await db.beginWrite();
  const table = txn.openTable('t');
  const changes: Array<[string, () => void]> = [
    ['insert', () => table.insert(keyOf(1000), Uint8Array.of(1))],
    ['replace', () => table.insert(keyOf(5), Uint8Array.of(1))],
    ['remove', () => table.remove(keyOf(150))],
    ['clear', () => table.clear()],
  ];
  for (const [what, change] of changes) {
    const iterator = table.range();
    t.false(iterator.next().done);
    change();
    t.throws(() => iterator.next(), { instanceOf: TypeError }, what);
  }
  txn.abort();
  // Reading it, or changing another table, does not disturb an iteration.
  const second = await db.beginWrite();
  const again = second.openTable('t');
  let seen = 0;
  for (const [key] of again.range()) {
    second.openTable('other').insert(key, Uint8Array.of(2));
    again.get(key);
    seen++;
  }
  t.is(seen, 200);
  second.abort();
  await db.close();
});

// Directory offsets are u16; a 64 KiB page filled to its last byte ends at offset 65536.
test('a 64 KiB-page leaf filled to the last byte, ending in an empty value, survives reopen', async (t) => {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs, { pageBytes: 65536 });
  const big = new Layout(65536);
  // Entries of 12289-12290 bytes plus a last entry of 8 + maxKeyBytes: exactly usableBytes in one leaf.
  const entries: Array<[Uint8Array, Uint8Array]> = [12290, 12290, 12289, 12289].map((entryBytes, i) =>
    [Uint8Array.of(i + 1), valueOf(i, entryBytes - 9)]);
  entries.push([new Uint8Array(big.maxKeyBytes).fill(0xff), new Uint8Array(0)]);
  t.is(entries.reduce((sum, [key, value]) => sum + 8 + key.length + value.length, 0), big.usableBytes);
  await commitEntries(db, 't', entries);
  const report = db.checkIntegrity();
  t.true(report.ok, report.problems.join('; '));
  await db.close();
  const reopened = await Database.open(vfs).catch((error: unknown) => error as Error);
  if (reopened instanceof Database) {
    t.is(reopened.beginRead().openTable('t').len(), 5);
    await reopened.close();
  } else {
    t.fail(`an acknowledged commit left an unopenable database: ${reopened.message}`);
  }
});
