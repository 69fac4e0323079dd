// The reference engine's digest capability (engine/subtreeDigest.ts): the digest it sums from
// memoized subtrees equals the model's digest of the state read through range, a second walk
// re-reads only what changed, and the integrity walk's checks still fire (a damaged page, a
// leaked page) when the memo cannot vouch for what is on disk.
import test from 'ava';
import { Database } from '../../engine/database.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import type { DigestMemo } from '../../engine/subtreeDigest.js';
import { digestOfState, entryHasher, tableMark, addDigests } from '../../model/stateDigest.js';
import { readState } from '../../recovery/readState.js';

const key = (i: number): Uint8Array => Uint8Array.of(i >> 8, i & 0xff);

async function filled(count: number): Promise<{ vfs: MemoryVfs; db: Database }> {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs, { pageBytes: 512 });
  const txn = await db.beginWrite();
  for (let i = 0; i < count; i++) txn.openTable('t').insert(key(i), new Uint8Array(i % 7 === 0 ? 700 : 20).fill(i & 0xff));
  await txn.commit();
  return { vfs, db };
}

function digestOf(db: Database, memo: DigestMemo): { digest: number; pagesRead: number; problems: string[] } {
  const report = db.digestState((table) => entryHasher('cf0', table), memo);
  let digest = 0;
  for (const table of report.tables) digest = addDigests(digest, addDigests(tableMark('cf0', table.name), table.digest));
  return { digest, pagesRead: report.pagesRead, problems: report.problems };
}

const store = (db: Database) => ({
  listColumnFamilies: () => ['cf0'], columnFamily: () => Promise.resolve({ name: 'cf0', beginWrite: () => db.beginWrite(), beginRead: () => db.beginRead(), checkIntegrity: () => db.checkIntegrity() }),
  deleteColumnFamily: () => Promise.resolve(false), checkpoint: () => db.checkpoint(), close: () => db.close(),
});

test('the memoized digest equals the model digest of the state read through range, and a second walk reads only changed pages', async (t) => {
  const { db } = await filled(400);
  const memo: DigestMemo = new Map();
  const first = digestOf(db, memo);
  t.deepEqual(first.problems, []);
  t.is(first.digest, digestOfState(await readState(store(db))).families.get('cf0') ?? -1);
  t.true(first.pagesRead > 20, 'a deep tree with overflow chains was read');
  t.is(digestOf(db, memo).pagesRead, 1, 'nothing changed: only the catalog (never memoized) is re-read');
  const txn = await db.beginWrite();
  txn.openTable('t').insert(key(5), Uint8Array.of(1));
  await txn.commit();
  const third = digestOf(db, memo);
  t.true(third.pagesRead > 0 && third.pagesRead < 8, `one path re-read (${third.pagesRead} pages)`);
  t.is(third.digest, digestOfState(await readState(store(db))).families.get('cf0') ?? -1);
  t.not(third.digest, first.digest);
});

test('a page damaged on disk is a problem for a walk the memo cannot vouch for', async (t) => {
  const { vfs, db } = await filled(200);
  await db.close();
  const file = vfs.open('crashlab.db', { create: false });
  // Page 3 of 512-byte pages: a B-tree or overflow page the root reaches.
  file.write(3 * 512 + 40, Uint8Array.of(0xee, 0xee));
  file.close();
  const reopened = await Database.open(vfs, { pageBytes: 512 }).catch((error: unknown) => error);
  // The open itself may detect it; otherwise the digest walk must.
  if (reopened instanceof Database) t.true(digestOf(reopened, new Map()).problems.length > 0);
  else t.true(reopened instanceof Error);
});

test('pages of the persisted free list count in the digest walk\'s page accounting, as in checkIntegrity', async (t) => {
  const { db } = await filled(400);
  for (let round = 0; round < 3; round++) {
    const txn = await db.beginWrite();
    for (let i = round; i < 400; i += 3) txn.openTable('t').remove(key(i));
    await txn.commit();
    await db.checkpoint();
  }
  t.true(db.stats().freeListPages > 0, 'the free list was persisted on pages of its own');
  t.deepEqual(db.checkIntegrity().problems, []);
  t.deepEqual(digestOf(db, new Map()).problems, []);
});
