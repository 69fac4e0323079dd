// allocator.ts: a freed page is reused only once no durable header and no live reader can reach it (invariant 3).
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { Allocator } from '../../engine/allocator.js';
import { Database } from '../../engine/database.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { commitEntries, dumpDatabase, hex, keyOf, valueOf } from './engineFixtures.js';

test('allocate hands out free pages lowest first, then grows the file', (t) => {
  const allocator = new Allocator(10, [7, 3, 5]);
  t.is(allocator.pageCount, 10);
  t.deepEqual([allocator.allocate(), allocator.allocate(), allocator.allocate()], [3, 5, 7]);
  t.deepEqual([allocator.allocate(), allocator.allocate()], [10, 11]);
  t.is(allocator.pageCount, 12);
});

test('freeNow makes a page reusable at once', (t) => {
  const allocator = new Allocator(1, []);
  const page = allocator.allocate();
  allocator.freeNow([page]);
  t.deepEqual(allocator.freePages(), [page]);
  t.is(allocator.allocate(), page);
});

test('deferred frees are released only when the horizon reaches their transaction', (t) => {
  const allocator = new Allocator(20, []);
  allocator.freeDeferred(5, [3, 4]);
  allocator.freeDeferred(6, [8]);
  allocator.freeDeferred(6, []);
  allocator.freeDeferred(9, [12, 13]);
  t.deepEqual(allocator.pendingPages().sort((a, b) => a - b), [3, 4, 8, 12, 13]);
  t.is(allocator.advance(4), 0, 'horizon below the freeing txn releases nothing');
  t.is(allocator.allocate(), 20, 'pending pages are not handed out');
  t.is(allocator.advance(5), 2, 'horizon at the freeing txn releases its pages');
  t.deepEqual([...allocator.freePages()].sort((a, b) => a - b), [3, 4]);
  t.is(allocator.advance(8), 1);
  t.deepEqual(allocator.pendingPages(), [12, 13]);
  t.is(allocator.advance(8), 0, 'advancing again is harmless');
  t.is(allocator.advance(100), 2);
  t.deepEqual(allocator.pendingPages(), []);
  t.is(allocator.freePages().length, 5);
});

test('property: no page is handed out twice, and no deferred page before its horizon', (t) => {
  type Step = { kind: 'allocate' } | { kind: 'freeNow'; pick: number } | { kind: 'commit'; frees: number[] } | { kind: 'advance'; lag: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.constant({ kind: 'allocate' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('freeNow' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), frees: fc.array(fc.nat(), { maxLength: 4 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), lag: fc.nat({ max: 3 }) }) },
  );
  fc.assert(fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
    const allocator = new Allocator(1, []);
    const inUse = new Set<number>();
    /** Page -> txn that freed it, while it waits for the horizon. */
    const waiting = new Map<number, number>();
    let txnId = 1;
    let horizon = 1;
    for (const s of steps) {
      if (s.kind === 'allocate') {
        const page = allocator.allocate();
        assert.ok(page >= 1, 'page 0 is the header');
        assert.ok(!inUse.has(page), `page ${page} handed out twice`);
        assert.ok(!waiting.has(page), `page ${page} reused before the horizon passed txn ${waiting.get(page)}`);
        inUse.add(page);
      } else if (s.kind === 'freeNow' && inUse.size > 0) {
        const page = [...inUse][s.pick % inUse.size]!;
        inUse.delete(page);
        allocator.freeNow([page]);
      } else if (s.kind === 'commit') {
        txnId++;
        const pages = [...new Set(s.frees.map((pick) => [...inUse][pick % Math.max(1, inUse.size)]))]
          .filter((page): page is number => page !== undefined);
        for (const page of pages) { inUse.delete(page); waiting.set(page, txnId); }
        allocator.freeDeferred(txnId, pages);
      } else if (s.kind === 'advance') {
        horizon = Math.max(horizon, txnId - s.lag);
        allocator.advance(horizon);
        for (const [page, freedBy] of waiting) if (freedBy <= horizon) waiting.delete(page);
      }
    }
    assert.deepEqual(new Set(allocator.pendingPages()), new Set(waiting.keys()));
  }), { numRuns: 300 });
  t.pass();
});

test('a reader pins its snapshot: pages it can reach are not reused until it closes', async (t) => {
  const db = await Database.open(new MemoryVfs(), { pageBytes: 512 });
  const keyCount = 300;
  await commitEntries(db, 't', Array.from({ length: keyCount }, (_, i) => [keyOf(i), valueOf(i, 40)]));
  const expected = dumpDatabase(db);
  const reader = db.beginRead();
  const pinned = reader.openTable('t');

  // Overwrite everything, several times: every page of the pinned snapshot is freed by some commit.
  for (let round = 1; round <= 5; round++) {
    await commitEntries(db, 't', Array.from({ length: keyCount }, (_, i) => [keyOf(i), valueOf(i, 40, round)]));
    const report = db.checkIntegrity();
    t.true(report.ok, report.problems.join('; '));
    t.true(db.stats().pendingFreePages > 0, 'frees wait for the reader');
  }
  const grownPages = db.stats().pageCount;
  // The reader still sees its exact snapshot, reading pages (the read cache holds only some of them).
  t.deepEqual([...pinned.range()].map(([key, value]) => [hex(key), hex(value)]), expected.t);
  reader.close();
  t.is(db.stats().pendingFreePages, 0, 'closing the last old reader releases every pending page');

  // Now freed pages are reused: more rounds of the same size do not grow the file.
  for (let round = 6; round <= 10; round++) {
    await commitEntries(db, 't', Array.from({ length: keyCount }, (_, i) => [keyOf(i), valueOf(i, 40, round)]));
    t.true(db.checkIntegrity().ok);
  }
  t.is(db.stats().pageCount, grownPages, 'page count stops growing once the reader is gone');
  await db.close();
});

test('the oldest of several readers sets the horizon', async (t) => {
  const db = await Database.open(new MemoryVfs(), { pageBytes: 512 });
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 2000)]]);
  const oldest = db.beginRead();
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 2000, 1)]]);
  const newer = db.beginRead();
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 2000, 2)]]);
  const pendingWithBoth = db.stats().pendingFreePages;
  t.true(pendingWithBoth > 0);
  newer.close();
  t.is(db.stats().pendingFreePages, pendingWithBoth, 'the older reader still pins everything freed after it');
  t.is(hex(oldest.openTable('t').get(keyOf(1))!), hex(valueOf(1, 2000)));
  oldest.close();
  t.is(db.stats().pendingFreePages, 0);
  t.true(db.checkIntegrity().ok);
  await db.close();
});

test('pages the durable state reaches, freed by none commits, stay unused until a durable commit; pages the none commits allocated are reused at once', async (t) => {
  const vfs = new MemoryVfs();
  // A write buffer of eight pages: the none commits' pages are evicted into the file.
  const db = await Database.open(vfs, { pageBytes: 512, writeBufferBytes: 8 * 512 });
  const keyCount = 200;
  await commitEntries(db, 't', Array.from({ length: keyCount }, (_, i) => [keyOf(i), valueOf(i, 40)]));
  const durable = dumpDatabase(db);
  const durablePages = db.stats().pageCount;
  let afterFirst = { pending: 0, pageCount: 0 };
  let afterSecondPages = 0;
  for (let round = 1; round <= 4; round++) {
    const evictionsBefore = db.stats().evictions;
    // Every key rewritten: each round frees every page of the tree the round before it made.
    await commitEntries(db, 't', Array.from({ length: keyCount }, (_, i) => [keyOf(i), valueOf(i, 40, round)]), 'none');
    const stats = db.stats();
    if (round === 1) {
      t.true(stats.pendingFreePages > 0, 'the durable tree\'s pages wait for a durable commit');
      afterFirst = { pending: stats.pendingFreePages, pageCount: stats.pageCount };
    } else {
      t.is(stats.pendingFreePages, afterFirst.pending, 'only the durable tree\'s pages wait: the none commits\' own are free at once');
      // Round 2 still needs new pages (round 1's tree is live while it writes its own); from
      // round 3 on, each round reuses the tree of the round before the last.
      if (round === 2) afterSecondPages = stats.pageCount;
      else t.is(stats.pageCount, afterSecondPages, `the file stops growing (${stats.pageCount} pages, ${afterSecondPages} after round 2)`);
    }
    t.true(stats.evictions > evictionsBefore, 'none commits reached the file through eviction');
    t.true(db.checkIntegrity().ok);
  }
  t.true(afterFirst.pageCount > durablePages, 'round 1 could not reuse the durable tree\'s pages');
  // A crash now: the file must still hold the durable state intact, whatever the evictions wrote.
  const crashed = await Database.open(MemoryVfs.fromSnapshot(vfs.snapshot()));
  t.deepEqual(dumpDatabase(crashed), durable);
  const report = crashed.checkIntegrity();
  t.true(report.ok, report.problems.join('; '));
  await crashed.close();

  await commitEntries(db, 't', [[keyOf(0), valueOf(0, 40, 99)]]);
  t.is(db.stats().pendingFreePages, 0, 'a durable commit moves the horizon past every none commit');
  t.true(db.checkIntegrity().ok);
  await db.close();
});
