// pager.ts: the write buffer evicts oldest-first within its budget, the read cache is bounded, and reads return the latest bytes wherever they live.
import test from 'ava';
import { checksum } from '../../engine/checksum.js';
import { Database } from '../../engine/database.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { encodeNode, type LeafNode } from '../../engine/node.js';
import { Pager, type PagerOptions } from '../../engine/pager.js';
import type { Storage } from '../../engine/storage.js';
import { commitEntries, dumpDatabase, hex, keyOf, valueOf } from './engineFixtures.js';

const PAGE_BYTES = 512;

/** Storage that records every write as the list of pages it covers, in issue order. */
class RecordingStorage implements Storage {
  readonly writtenPages: number[][] = [];
  constructor(private readonly inner: Storage) {}
  len(): number { return this.inner.len(); }
  read(offset: number, length: number): Uint8Array { return this.inner.read(offset, length); }
  write(offset: number, data: Uint8Array): void {
    const first = offset / PAGE_BYTES;
    this.writtenPages.push(Array.from({ length: Math.ceil(data.length / PAGE_BYTES) }, (_, i) => first + i));
    this.inner.write(offset, data);
  }
  setLen(length: number): void { this.inner.setLen(length); }
  sync(): Promise<void> { return this.inner.sync(); }
  close(): void { this.inner.close(); }
}

function makePager(options: Partial<PagerOptions> = {}): { pager: Pager; storage: RecordingStorage } {
  const storage = new RecordingStorage(new MemoryVfs().open('db', { create: true }));
  storage.setLen(PAGE_BYTES); // Page 0 exists, as in a real file.
  const pager = new Pager(storage, {
    pageBytes: PAGE_BYTES, writeBufferBytes: 4 * PAGE_BYTES, evictionHighWater: 0.8, evictionLowWater: 0.5,
    readCacheBytes: 0, ...options,
  }, () => {});
  return { pager, storage };
}

/** A page whose bytes name it and its version, so a stale or misplaced page is recognizable. */
function pageBytesOf(page: number, version: number): Uint8Array {
  const bytes = valueOf(page, PAGE_BYTES, version);
  bytes[0] = page & 0xff;
  bytes[1] = version & 0xff;
  return bytes;
}

test('eviction writes the oldest dirty pages first, down to the low-water mark', (t) => {
  const { pager, storage } = makePager();
  // Budget 4 pages: high water 3.2 pages, low water 2 pages.
  for (const page of [5, 3, 9]) pager.writePage(page, pageBytesOf(page, 1));
  t.deepEqual(storage.writtenPages, [], 'three pages are below the high-water mark');
  pager.writePage(3, pageBytesOf(3, 2)); // A rewrite makes page 3 the youngest.
  t.is(pager.stats().dirtyPages, 3);
  pager.writePage(7, pageBytesOf(7, 1));
  // Four dirty pages pass the high-water mark: the two oldest (5, then 9) go, in page order.
  t.deepEqual(storage.writtenPages, [[5], [9]]);
  t.is(pager.stats().evictions, 2);
  t.is(pager.stats().dirtyPages, 2);
  t.is(pager.stats().dirtyBytes, 2 * PAGE_BYTES);
  t.is(hex(storage.read(5 * PAGE_BYTES, PAGE_BYTES)), hex(pageBytesOf(5, 1)));
  pager.flush();
  t.deepEqual(storage.writtenPages.slice(2), [[3], [7]]);
  t.is(pager.stats().dirtyBytes, 0);
});

test('dirty bytes never exceed the high-water mark after a write', (t) => {
  for (const [high, low] of [[0.8, 0.5], [1, 1], [0.5, 0], [0.3, 0.2]] as const) {
    const writeBufferBytes = 10 * PAGE_BYTES;
    const { pager } = makePager({ writeBufferBytes, evictionHighWater: high, evictionLowWater: low });
    for (let i = 0; i < 200; i++) {
      pager.writePage(1 + ((i * 7) % 37), pageBytesOf(i, i));
      const { dirtyBytes } = pager.stats();
      t.true(dirtyBytes <= writeBufferBytes * high, `high ${high}: ${dirtyBytes} dirty bytes after write ${i}`);
    }
    t.true(pager.stats().evictions > 0);
  }
});

test('contiguous evicted pages are coalesced into one write', (t) => {
  const { pager, storage } = makePager({ writeBufferBytes: 8 * PAGE_BYTES, evictionHighWater: 1, evictionLowWater: 0 });
  for (const page of [4, 2, 3, 8, 1, 6, 7, 10]) pager.writePage(page, pageBytesOf(page, 1));
  t.deepEqual(storage.writtenPages, []);
  pager.writePage(11, pageBytesOf(11, 1));
  t.deepEqual(storage.writtenPages, [[1, 2, 3, 4], [6, 7, 8], [10, 11]]);
});

test('a read returns the latest bytes, from the write buffer, after eviction, and after flush (invariant 8)', (t) => {
  const { pager } = makePager();
  const latest = new Map<number, Uint8Array>();
  for (let version = 1; version <= 30; version++) {
    for (const page of [1, 2, 3, 4, 5, 6]) {
      if ((page + version) % 3 === 0) continue;
      const bytes = pageBytesOf(page, version);
      pager.writePage(page, bytes);
      latest.set(page, bytes);
      // Every page written so far reads back as its last version, wherever it now lives.
      for (const [other, expected] of latest) t.is(hex(pager.readPage(other)), hex(expected), `page ${other} at version ${version}`);
    }
  }
  t.true(pager.stats().evictions > 0);
  pager.flush();
  for (const [page, expected] of latest) t.is(hex(pager.readPage(page)), hex(expected));
});

test('a discarded page never reaches the file', (t) => {
  const { pager, storage } = makePager({ writeBufferBytes: 8 * PAGE_BYTES });
  pager.writePage(2, pageBytesOf(2, 1));
  pager.writePage(3, pageBytesOf(3, 1));
  pager.discard(2);
  t.is(pager.stats().dirtyPages, 1);
  pager.flush();
  t.deepEqual(storage.writtenPages, [[3]]);
});

function leafPage(tag: number): { bytes: Uint8Array; crc: number } {
  const leaf: LeafNode = { kind: 'leaf', keys: [Uint8Array.of(tag)], values: [valueOf(tag, 20)], size: 8 + 1 + 20 };
  const bytes = encodeNode(leaf, PAGE_BYTES);
  return { bytes, crc: checksum(bytes) };
}

test('loadNode verifies the checksum its parent recorded, cached or not', (t) => {
  const { pager } = makePager();
  const first = leafPage(1);
  pager.writePage(4, first.bytes);
  t.is(pager.loadNode(4, first.crc).kind, 'leaf');
  t.is(pager.loadNode(4, first.crc).kind, 'leaf', 'from the cache');
  const error = t.throws(() => pager.loadNode(4, first.crc ^ 1));
  t.is((error as { code?: string }).code, 'CORRUPTION');
  // The page is rewritten (reused): the cached node of the old content must not be served.
  const second = leafPage(2);
  pager.writePage(4, second.bytes);
  const node = pager.loadNode(4, second.crc);
  t.true(node.kind === 'leaf' && node.keys[0]![0] === 2);
  t.throws(() => pager.loadNode(4, first.crc));
});

test('the read cache is bounded by readCacheBytes (at least 16 pages)', (t) => {
  for (const capacityPages of [16, 40]) {
    const { pager } = makePager({ readCacheBytes: capacityPages * PAGE_BYTES, writeBufferBytes: 1024 * PAGE_BYTES });
    const pages = Array.from({ length: 200 }, (_, i) => ({ page: i + 1, ...leafPage(i) }));
    for (const { page, bytes } of pages) pager.writePage(page, bytes);
    pager.flush();
    for (const { page, crc } of pages) pager.loadNode(page, crc);
    t.is(pager.stats().cacheMisses, 200);
    for (const { page, crc } of pages) pager.loadNode(page, crc);
    const hits = pager.stats().cacheHits;
    t.true(hits <= capacityPages, `${hits} hits from a cache of ${capacityPages} pages`);
    // The page loaded last is still cached.
    pager.loadNode(pages[199]!.page, pages[199]!.crc);
    t.is(pager.stats().cacheHits, hits + 1);
  }
  // A zero budget still keeps the minimum of 16 pages.
  const { pager } = makePager({ readCacheBytes: 0 });
  const one = leafPage(1);
  pager.writePage(1, one.bytes);
  pager.loadNode(1, one.crc);
  pager.loadNode(1, one.crc);
  t.is(pager.stats().cacheHits, 1);
});

test('a big transaction through the Database evicts, stays within budget and reads back exactly', async (t) => {
  const vfs = new MemoryVfs();
  const writeBufferBytes = 6 * PAGE_BYTES;
  const db = await Database.open(vfs, { pageBytes: PAGE_BYTES, writeBufferBytes, evictionHighWater: 0.8, evictionLowWater: 0.5 });
  const txn = await db.beginWrite();
  const table = txn.openTable('t');
  for (let i = 0; i < 2000; i++) {
    table.insert(keyOf((i * 7919) % 2000), valueOf(i, i % 3 === 0 ? 700 : 30));
    t.true(db.stats().dirtyBytes <= writeBufferBytes * 0.8, `dirty bytes after insert ${i}`);
  }
  // Read-your-writes while most of the transaction lives in the file.
  for (let i = 0; i < 2000; i++) {
    t.is(hex(table.get(keyOf((i * 7919) % 2000))!), hex(valueOf(i, i % 3 === 0 ? 700 : 30)));
  }
  await txn.commit();
  const stats = db.stats();
  t.true(stats.evictions > 0, 'the transaction overflowed the write buffer');
  t.is(stats.dirtyBytes, 0, 'a durable commit flushes everything');
  t.true(db.checkIntegrity().ok);
  const expected = dumpDatabase(db);
  await db.close();
  const reopened = await Database.open(vfs);
  t.deepEqual(dumpDatabase(reopened), expected);
  await reopened.close();
});

test('an aborted transaction\'s evicted pages do not disturb the committed state', async (t) => {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs, { pageBytes: PAGE_BYTES, writeBufferBytes: 4 * PAGE_BYTES });
  await commitEntries(db, 't', Array.from({ length: 300 }, (_, i) => [keyOf(i), valueOf(i, 40)]));
  const expected = dumpDatabase(db);
  const txn = await db.beginWrite();
  for (let i = 0; i < 300; i++) txn.openTable('t').insert(keyOf(i), valueOf(i, 40, 1));
  t.true(db.stats().evictions > 0);
  txn.abort();
  t.deepEqual(dumpDatabase(db), expected);
  t.true(db.checkIntegrity().ok);
  await db.close();
  const reopened = await Database.open(vfs);
  t.deepEqual(dumpDatabase(reopened), expected);
  await reopened.close();
});
