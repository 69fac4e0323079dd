// freeList.ts: the persisted free-page list that open reads instead of walking the tree, and the checks that reject a damaged or insane one.
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { checksum } from '../../engine/checksum.js';
import { Database } from '../../engine/database.js';
import { encodeSlot, SLOT_OFFSETS, type CommitSlot } from '../../engine/format.js';
import {
  FREE_LIST_HEADER_BYTES, freeListCapacity, freeListPagesFor, readFreeList, writeFreeList,
} from '../../engine/freeList.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { Pager } from '../../engine/pager.js';
import { commitEntries, dumpDatabase, keyOf, mapPages, rawSlots, rejectsCode, valueOf } from './engineFixtures.js';

const NAME = 'crashlab.db';
const PAGE_BYTES = 512;
const CAPACITY = freeListCapacity(PAGE_BYTES);

/** A closed database with free pages spread over more than one free-list page. */
async function fileWithFreeSpace(): Promise<Uint8Array> {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs, { pageBytes: PAGE_BYTES });
  await commitEntries(db, 't', Array.from({ length: 3000 }, (_, i) => [keyOf(i), valueOf(i, 40)]));
  const txn = await db.beginWrite();
  for (let i = 0; i < 3000; i += 2) txn.openTable('t').remove(keyOf(i));
  await txn.commit();
  await db.close();
  return vfs.snapshot().get(NAME)!;
}

function pagerOver(vfs: MemoryVfs): Pager {
  const storage = vfs.open('list', { create: true });
  return new Pager(storage, {
    pageBytes: PAGE_BYTES, writeBufferBytes: 1 << 20, evictionHighWater: 0.8, evictionLowWater: 0.5, readCacheBytes: 1 << 20,
  }, () => {});
}

function slotNaming(first: number, crc: number, count: number, pageCount: number): CommitSlot {
  return { txnId: 2, catalogPage: 0, catalogCrc: 0, pageCount, walSeq: 0, freeListPage: first, freeListCrc: crc, freeCount: count };
}

test('open reads the free-list chain, never the tree; the list it reads is exactly the free space', async (t) => {
  const file = await fileWithFreeSpace();
  const map = mapPages(file);
  const chain = map.pages.filter((page) => page.kind === 'free-list');
  t.true(chain.length >= 2, `a chain of ${chain.length} pages`);
  t.true(map.slot.freeCount > CAPACITY, `${map.slot.freeCount} free pages`);
  const db = await Database.open(MemoryVfs.fromSnapshot(new Map([[NAME, file]])));
  t.is(db.stats().pagesRead, chain.length, 'open read the chain pages and nothing else');
  t.is(db.stats().freePages, map.slot.freeCount);
  t.is(db.stats().freeListPages, chain.length);
  const report = db.checkIntegrity();
  t.true(report.ok, report.problems.join('; '));
  t.is(report.reachablePages + report.freePages + report.pendingFreePages + report.freeListPages, report.pageCount - 1);
  await db.close();
});

test('a chain round trips any ascending set, with or without its one spare page', (t) => {
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { maxLength: 700 }), fc.boolean(), (entries, spare) => {
    const free = [...entries].sort((a, b) => a - b);
    const needed = freeListPagesFor(free.length, PAGE_BYTES) + (spare ? 1 : 0);
    // Chain pages above every entry, so none is listed.
    const chain = Array.from({ length: needed }, (_, i) => 6000 + 3 * i);
    const pager = pagerOver(new MemoryVfs());
    const crc = writeFreeList(chain, free, PAGE_BYTES, (page, bytes) => pager.writePage(page, bytes));
    const read = readFreeList(pager, slotNaming(chain[0] ?? 0, crc, free.length, 7000));
    assert.deepEqual(read.free, free);
    assert.deepEqual(read.chain, chain);
  }), { numRuns: 200 });
  t.pass();
});

/**
 * The file with page `at` of the newest slot's free-list chain rewritten by `edit`, and every CRC
 * above it (the earlier chain pages' next-CRC, the slot's list CRC, the slot) made valid again.
 */
function withEditedList(file: Uint8Array, edit: (view: DataView) => void, slotEdit: (slot: CommitSlot) => CommitSlot = (slot) => slot, at = 0): Uint8Array {
  const copy = file.slice();
  const slots = rawSlots(copy);
  const newest = slots[0]!.txnId > slots[1]!.txnId ? 0 : 1;
  const slot = slots[newest]!;
  const chain = mapPages(copy).pages.filter((page) => page.kind === 'free-list').map(({ page }) => page);
  const pageAt = (index: number): Uint8Array => copy.subarray(chain[index]! * PAGE_BYTES, (chain[index]! + 1) * PAGE_BYTES);
  const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  edit(viewOf(pageAt(at)));
  for (let i = at - 1; i >= 0; i--) viewOf(pageAt(i)).setUint32(12, checksum(pageAt(i + 1)), true);
  copy.set(encodeSlot(slotEdit({ ...slot, freeListCrc: checksum(pageAt(0)) })), SLOT_OFFSETS[newest]);
  return copy;
}

async function openCode(file: Uint8Array): Promise<string> {
  return Database.open(MemoryVfs.fromSnapshot(new Map([[NAME, file]]))).then(async (db) => {
    const report = db.checkIntegrity();
    await db.close();
    return report.ok ? 'ok' : `integrity: ${report.problems.join('; ')}`;
  }, (error: unknown) => (error instanceof Error && 'code' in error ? String(error.code) : String(error)));
}

const entryAt = (k: number): number => FREE_LIST_HEADER_BYTES + 4 * k;

test('an insane free list under valid checksums is CORRUPTION at open', async (t) => {
  const file = await fileWithFreeSpace();
  t.is(await openCode(withEditedList(file, () => {})), 'ok', 'resealing alone changes nothing');
  const pageCount = mapPages(file).slot.pageCount;
  const cases: Array<[string, (view: DataView) => void]> = [
    ['not a free-list page', (view) => view.setUint8(0, 1)],
    ['a count past the page', (view) => view.setUint16(2, CAPACITY + 1, true)],
    ['entries out of order', (view) => { const a = view.getUint32(entryAt(0), true); view.setUint32(entryAt(0), view.getUint32(entryAt(1), true), true); view.setUint32(entryAt(1), a, true); }],
    ['an entry repeated', (view) => view.setUint32(entryAt(1), view.getUint32(entryAt(0), true), true)],
    ['page 0 listed', (view) => view.setUint32(entryAt(0), 0, true)],
    ['a page past the page count', (view) => view.setUint32(entryAt(CAPACITY - 1), pageCount, true)],
    ['a shorter first page', (view) => view.setUint16(2, view.getUint16(2, true) - 1, true)],
    ['the chain cut short', (view) => { view.setUint32(8, 0, true); view.setUint32(12, 0, true); }],
    ['a CRC after the end', (view) => { view.setUint32(8, 0, true); view.setUint32(12, 1, true); }],
  ];
  for (const [what, edit] of cases) t.is(await openCode(withEditedList(file, edit)), 'CORRUPTION', what);
  t.is(await openCode(withEditedList(file, () => {}, (slot) => ({ ...slot, freeCount: slot.freeCount - 1 }))), 'CORRUPTION', 'a count the chain does not hold');
  const firstPage = mapPages(file).slot.freeListPage;
  const listingItself = withEditedList(file, (view) => view.setUint32(entryAt(0), firstPage, true));
  // Page firstPage may not sort first; either way the entry is refused.
  t.is(await openCode(listingItself), 'CORRUPTION', 'a chain page listed as free');
});

test('a list that lies within the rules opens, and checkIntegrity reports it (planted: a reachable page listed, a free page left out)', async (t) => {
  const file = await fileWithFreeSpace();
  const map = mapPages(file);
  const reachable = map.pages.filter((page) => page.kind !== 'free-list').map(({ page }) => page);
  // The last list page with entries loses its lowest entry and lists a reachable page above
  // every free one instead: the order, the counts and every CRC stay valid.
  const chain = map.pages.filter((page) => page.kind === 'free-list');
  const entriesOf = (page: number): number[] => {
    const view = new DataView(file.buffer, file.byteOffset + page * PAGE_BYTES, PAGE_BYTES);
    return Array.from({ length: view.getUint16(2, true) }, (_, k) => view.getUint32(entryAt(k), true));
  };
  const at = chain.map(({ page }) => entriesOf(page).length > 0).lastIndexOf(true);
  const entries = entriesOf(chain[at]!.page);
  const victim = Math.max(...reachable);
  t.true(victim > entries[entries.length - 1]!, 'a reachable page above every free one');
  const listsReachable = withEditedList(file, (view) => {
    [...entries.slice(1), victim].forEach((entry, k) => view.setUint32(entryAt(k), entry, true));
  }, undefined, at);
  const lied = await openCode(listsReachable);
  t.regex(lied, /integrity: .*(already counted|leaked)/, lied);
  const leaves = withEditedList(file, (view) => {
    const count = view.getUint16(2, true);
    view.setUint32(entryAt(count - 1), 0, true);
    view.setUint16(2, count - 1, true);
  }, (slot) => ({ ...slot, freeCount: slot.freeCount - 1 }));
  const leaked = await openCode(leaves);
  t.regex(leaked, /integrity: .*leaked/, leaked);
});

test('pages freed under a reader are in the durable list: after a crash, reachable + free = all pages', async (t) => {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs, { pageBytes: PAGE_BYTES });
  await commitEntries(db, 't', Array.from({ length: 200 }, (_, i) => [keyOf(i), valueOf(i, 30)]));
  const reader = db.beginRead();
  for (let round = 0; round < 3; round++) {
    await commitEntries(db, 't', Array.from({ length: 50 }, (_, i) => [keyOf(i), valueOf(i, 30, round + 1)]));
  }
  t.true(db.stats().pendingFreePages > 0, 'the reader holds frees back');
  const expected = dumpDatabase(db);
  // The crash: the file as the last immediate commit left it, reader still open.
  const crashed = await Database.open(MemoryVfs.fromSnapshot(vfs.snapshot()));
  t.deepEqual(dumpDatabase(crashed), expected);
  const report = crashed.checkIntegrity();
  t.true(report.ok, report.problems.join('; '));
  t.is(report.pendingFreePages, 0, 'a recovery has no readers: what was pending is free');
  t.true(report.freePages > 0);
  await crashed.close();
  reader.close();
  await db.close();
});

test('a checkpoint forced with nothing new writes the durable slot again, free list included: two slots of one txn name one list', async (t) => {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs, { pageBytes: PAGE_BYTES });
  await commitEntries(db, 't', Array.from({ length: 100 }, (_, i) => [keyOf(i), valueOf(i, 30)]));
  await commitEntries(db, 't', Array.from({ length: 50 }, (_, i) => [keyOf(i), valueOf(i, 30, 1)]));
  await db.checkpoint({ force: true });
  const [a, b] = rawSlots(vfs.snapshot().get(NAME)!);
  t.deepEqual(a, b);
  t.not(a!.freeListPage, 0, 'the slot names a free list');
  // A later commit frees that list; the page it reuses must not be one either slot still names.
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 30, 2)]]);
  const report = db.checkIntegrity();
  t.true(report.ok, report.problems.join('; '));
  await db.close();
  const reopened = await Database.open(MemoryVfs.fromSnapshot(vfs.snapshot()));
  t.true(reopened.checkIntegrity().ok);
  await reopened.close();
});

test('a damaged free-list page is CORRUPTION at open, for every byte of it', async (t) => {
  const file = await fileWithFreeSpace();
  const chain = mapPages(file).pages.filter((page) => page.kind === 'free-list');
  for (const { page } of chain) {
    for (const offset of [0, 2, 9, 13, FREE_LIST_HEADER_BYTES, PAGE_BYTES - 1]) {
      const damaged = file.slice();
      damaged[page * PAGE_BYTES + offset]! ^= 0x10;
      await rejectsCode(t, () => Database.open(MemoryVfs.fromSnapshot(new Map([[NAME, damaged]]))), 'CORRUPTION');
    }
  }
});
