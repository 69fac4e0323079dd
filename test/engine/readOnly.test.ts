// Read-only opens (issue 12): they write no byte, replay the log in memory, share a lock with other read-only opens, and refuse every write with READ_ONLY.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ColumnFamilyDatabase, DEFAULT_CF_FILE_NAME, type ColumnFamilyOptions } from '../../engine/columnFamilyDatabase.js';
import { Database } from '../../engine/database.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { CrashVfs, dumpAll, putKeys, type Image } from './cfFixtures.js';
import { dumpDatabase, keyOf, rejectsCode, valueOf } from './engineFixtures.js';

const SMALL: ColumnFamilyOptions = { pageBytes: 512, initialSegmentBytes: 8 * 512 };

function tempDir(t: ExecutionContext): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-ro-'));
  t.teardown(() => fs.rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** Each file's size, mtime and content hash: what "wrote no byte" compares. */
function fingerprint(directory: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(directory).sort()) {
    const file = path.join(directory, name);
    const stats = fs.statSync(file);
    out[name] = `${stats.size} ${stats.mtimeMs} ${createHash('sha256').update(fs.readFileSync(file)).digest('hex')}`;
  }
  return out;
}

/** Real files whose last commits live only in the log: what a crash (here, a copy) leaves. */
async function crashedCopy(t: ExecutionContext, commits: number): Promise<{ file: string; expected: Awaited<ReturnType<typeof dumpAll>> }> {
  const source = path.join(tempDir(t), DEFAULT_CF_FILE_NAME);
  const db = await ColumnFamilyDatabase.open(source, SMALL);
  for (const name of ['a', 'b']) {
    const family = await db.columnFamily(name);
    await putKeys(family, 0, commits, 90, family.id);
  }
  t.true((db.stats().wal?.liveRecords ?? 0) >= 2 * commits, 'the commits are in the log, not checkpointed');
  const expected = await dumpAll(db);
  const copy = path.join(tempDir(t), DEFAULT_CF_FILE_NAME);
  fs.copyFileSync(source, copy);
  fs.copyFileSync(`${source}.wal`, `${copy}.wal`);
  await db.close();
  return { file: copy, expected };
}

test('a read-only open of a crashed database serves every commit the log holds and writes no byte, even at close', async (t) => {
  const { file, expected } = await crashedCopy(t, 30);
  const before = fingerprint(path.dirname(file));
  const db = await ColumnFamilyDatabase.open(file, { ...SMALL, readOnly: true });
  t.deepEqual(await dumpAll(db), expected);
  await db.close();
  t.deepEqual(fingerprint(path.dirname(file)), before);
  // The log still holds the commits: a writable open replays them too, and checkpoints.
  const writable = await ColumnFamilyDatabase.open(file, SMALL);
  t.deepEqual(await dumpAll(writable), expected);
  await writable.close();
});

test('on a read-only open, write transactions, checkpoints, family creation and deletion fail with READ_ONLY; reads and existing families work', async (t) => {
  const { file, expected } = await crashedCopy(t, 5);
  const before = fingerprint(path.dirname(file));
  const db = await ColumnFamilyDatabase.open(file, { ...SMALL, readOnly: true });
  const family = await db.columnFamily('a');
  await rejectsCode(t, () => family.beginWrite(), 'READ_ONLY');
  await rejectsCode(t, () => db.checkpoint(), 'READ_ONLY');
  await rejectsCode(t, () => db.columnFamily('new'), 'READ_ONLY');
  await rejectsCode(t, () => db.deleteColumnFamily('b'), 'READ_ONLY');
  t.deepEqual(db.listColumnFamilies(), ['a', 'b']);
  const read = family.beginRead();
  t.is([...read.openTable('t').range()].length, expected['a']!['t']!.length);
  read.close();
  await db.close();
  t.deepEqual(fingerprint(path.dirname(file)), before);
});

test('read-only opens share the files; a writer meets LOCKED while one is open, and a read-only open meets LOCKED while a writer is (real files)', async (t) => {
  const { file } = await crashedCopy(t, 3);
  const first = await ColumnFamilyDatabase.open(file, { ...SMALL, readOnly: true });
  const second = await ColumnFamilyDatabase.open(file, { ...SMALL, readOnly: true });
  await rejectsCode(t, () => ColumnFamilyDatabase.open(file, SMALL), 'LOCKED');
  await first.close();
  await rejectsCode(t, () => ColumnFamilyDatabase.open(file, SMALL), 'LOCKED');
  await second.close();
  const writer = await ColumnFamilyDatabase.open(file, SMALL);
  await rejectsCode(t, () => ColumnFamilyDatabase.open(file, { ...SMALL, readOnly: true }), 'LOCKED');
  await writer.close();
});

test('a read-only open never creates: a missing file is NOT_FOUND and stays missing; readOnly with create: true is a TypeError', async (t) => {
  const directory = tempDir(t);
  const file = path.join(directory, 'absent.cf');
  await rejectsCode(t, () => ColumnFamilyDatabase.open(file, { readOnly: true }), 'NOT_FOUND');
  await rejectsCode(t, () => Database.open(path.join(directory, 'absent.db'), { readOnly: true }), 'NOT_FOUND');
  t.deepEqual(fs.readdirSync(directory), []);
  await t.throwsAsync(ColumnFamilyDatabase.open(file, { readOnly: true, create: true }), { instanceOf: TypeError, message: /readOnly and create/ });
  await t.throwsAsync(Database.open(file, { readOnly: 'yes' as unknown as boolean }), { instanceOf: TypeError, message: /readOnly must be a boolean/ });
  t.deepEqual(fs.readdirSync(directory), []);
});

test('a read-only open whose log needs more than the write buffer fails with READ_ONLY naming the bound, and wrote nothing', async (t) => {
  const vfs = new MemoryVfs();
  const db = await ColumnFamilyDatabase.open(vfs, SMALL);
  await putKeys(await db.columnFamily('a'), 0, 200, 200, 1);
  const image: Image = vfs.snapshot();
  await db.close();
  const crashed = CrashVfs.from(image);
  const error = await rejectsCode(t, () => ColumnFamilyDatabase.open(crashed, { ...SMALL, readOnly: true, writeBufferBytes: 4 * 512 }), 'READ_ONLY');
  t.regex(error?.message ?? '', /writeBufferBytes 2048.*open it writable/);
  t.deepEqual(crashed.cacheImage(), image, 'no byte changed');
  // Within a buffer that holds the replay, the same image opens read-only.
  const roomy = await ColumnFamilyDatabase.open(crashed, { ...SMALL, readOnly: true, writeBufferBytes: 4 << 20 });
  t.is([...(await roomy.columnFamily('a')).beginRead().openTable('t').range()].length, 200);
  await roomy.close();
  t.deepEqual(crashed.cacheImage(), image, 'no byte changed');
});

test('every crash image during recovery opens read-only to exactly the state a writable open then recovers, writing nothing', async (t) => {
  const options: ColumnFamilyOptions = { pageBytes: 512, initialSegmentBytes: 2 * 512, writeBufferBytes: 64 * 512 };
  const vfs = new CrashVfs();
  const db = await ColumnFamilyDatabase.open(vfs, options);
  const families = [await db.columnFamily('a'), await db.columnFamily('b')];
  const images: Image[] = [];
  vfs.onSynced = () => {
    images.push(vfs.durableImage(), vfs.cacheImage());
  };
  for (let i = 0; i < 40; i++) {
    const txn = await families[i % 2]!.beginWrite();
    const table = txn.openTable('t');
    for (let k = 0; k < 4; k++) table.insert(keyOf(i * 7 + k), valueOf(i * 7 + k, 30 + k * 50, i % 2));
    if (i % 6 === 5) table.remove(keyOf((i - 2) * 7));
    await txn.commit({ durability: i % 3 === 0 ? 'none' : 'immediate' });
    if (i === 20) await db.checkpoint();
  }
  vfs.onSynced = null;
  await db.close();
  t.true(images.length >= 40, `${images.length} images`);
  for (const [index, image] of images.entries()) {
    const readOnlyVfs = CrashVfs.from(image);
    // The write buffer of the run evicted pages; a read-only open holds its replay in memory.
    const readOnly = await ColumnFamilyDatabase.open(readOnlyVfs, { ...options, readOnly: true, writeBufferBytes: 4 << 20 });
    const seen = await dumpAll(readOnly);
    await readOnly.close();
    t.deepEqual(readOnlyVfs.cacheImage(), image, `image ${index}: a read-only open wrote nothing`);
    const writable = await ColumnFamilyDatabase.open(CrashVfs.from(image), options);
    t.deepEqual(seen, await dumpAll(writable), `image ${index}: the read-only state is the recovered one`);
    await writable.close();
  }
});

test('a standalone database opens read-only: reads work, a write transaction and a checkpoint are READ_ONLY, the file is untouched', async (t) => {
  const file = path.join(tempDir(t), 'single.db');
  const db = await Database.open(file, { pageBytes: 512 });
  const txn = await db.beginWrite();
  for (let i = 0; i < 50; i++) txn.openTable('t').insert(keyOf(i), valueOf(i, 60));
  await txn.commit();
  const expected = dumpDatabase(db);
  await db.close();
  const before = fingerprint(path.dirname(file));
  const readOnly = await Database.open(file, { readOnly: true });
  t.deepEqual(dumpDatabase(readOnly), expected);
  await rejectsCode(t, () => readOnly.beginWrite(), 'READ_ONLY');
  await rejectsCode(t, () => readOnly.checkpoint(), 'READ_ONLY');
  const alsoReadOnly = await Database.open(file, { readOnly: true });
  await rejectsCode(t, () => Database.open(file), 'LOCKED');
  await alsoReadOnly.close();
  await readOnly.close();
  t.deepEqual(fingerprint(path.dirname(file)), before);
  t.throws(() => new MemoryVfs().open('x', { create: true, readOnly: true }), { instanceOf: TypeError, message: /cannot create/ });
});
