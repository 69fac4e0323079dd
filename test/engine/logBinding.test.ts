// The log is bound to its data file (issue 12): a log of another database is refused with CORRUPTION naming both ids and never replayed; an empty one is taken over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ColumnFamilyDatabase, DEFAULT_CF_FILE_NAME } from '../../engine/columnFamilyDatabase.js';
import { decodeMaster, MASTER_COPY_BYTES } from '../../engine/masterHeader.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { Prng } from '../../fault/prng.js';
import { dumpAll, putKeys } from './cfFixtures.js';
import { hex, keyOf, rejectsCode, valueOf } from './engineFixtures.js';

function tempDir(t: ExecutionContext): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-bind-'));
  t.teardown(() => fs.rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** A database on real files whose last commits (of `salt`'s values) are only in its log, as a crash leaves it. */
async function crashedDatabase(t: ExecutionContext, salt: number): Promise<string> {
  const source = path.join(tempDir(t), DEFAULT_CF_FILE_NAME);
  const db = await ColumnFamilyDatabase.open(source, { pageBytes: 512 });
  const family = await db.columnFamily('a');
  // The first ten reach the data file itself; the last ten live only in the log.
  await putKeys(family, 0, 10, 50, salt);
  await db.checkpoint();
  await putKeys(family, 10, 10, 50, salt);
  const copy = path.join(tempDir(t), DEFAULT_CF_FILE_NAME);
  fs.copyFileSync(source, copy);
  fs.copyFileSync(`${source}.wal`, `${copy}.wal`);
  await db.close();
  return copy;
}

/** Uniform draws in [0, 1) from a seeded PRNG: what a simulation injects. */
function seeded(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.nextU32() / 2 ** 32;
}

function databaseIdOf(file: string): number {
  return decodeMaster(fs.readFileSync(file).subarray(0, MASTER_COPY_BYTES))!.databaseId;
}

test('another database\'s log with records is CORRUPTION naming both ids, and nothing is changed; without it the data file opens', async (t) => {
  const mine = await crashedDatabase(t, 1);
  const theirs = await crashedDatabase(t, 2);
  t.not(databaseIdOf(mine), databaseIdOf(theirs), 'real files draw their ids from the OS');
  fs.copyFileSync(`${theirs}.wal`, `${mine}.wal`);
  const before = [fs.readFileSync(mine), fs.readFileSync(`${mine}.wal`)];
  const error = await rejectsCode(t, () => ColumnFamilyDatabase.open(mine, { pageBytes: 512 }), 'CORRUPTION');
  t.regex(error?.message ?? '', new RegExp(`belongs to another database \\(id ${databaseIdOf(theirs)}\\), not to this data file \\(id ${databaseIdOf(mine)}\\).*never replayed`));
  await rejectsCode(t, () => ColumnFamilyDatabase.open(mine, { pageBytes: 512, readOnly: true }), 'CORRUPTION');
  t.deepEqual([fs.readFileSync(mine), fs.readFileSync(`${mine}.wal`)], before, 'a refused open changes no byte');
  fs.rmSync(`${mine}.wal`);
  await rejectsCode(t, () => ColumnFamilyDatabase.open(mine, { pageBytes: 512 }), 'CORRUPTION'); // its own live log is gone
  const opened = await ColumnFamilyDatabase.open(mine, { pageBytes: 512, recover: 'salvage' });
  const dump = await dumpAll(opened);
  const entries = dump['a']?.['t'] ?? [];
  t.is(entries.length, 10, 'the checkpointed commits, and no record of the other log');
  for (const [key, value] of entries) t.is(value, hex(valueOf(Number.parseInt(key, 16), 50, 1)), 'only this database\'s values');
  await opened.close();
});

test('a log of another id with no record is taken over after a clean close: the database opens, commits, and recovers them from it', async (t) => {
  const closedDatabase = async (seed: number): Promise<Map<string, Uint8Array>> => {
    const vfs = new MemoryVfs();
    await (await ColumnFamilyDatabase.open(vfs, { pageBytes: 512, random: seeded(seed) })).close();
    return vfs.snapshot();
  };
  const theirs = await closedDatabase(7);
  const mine = await closedDatabase(8);
  const log = theirs.get(`${DEFAULT_CF_FILE_NAME}.wal`)!;
  t.true(log.length > 0);
  // Cleanly closed: the data file says its log is empty, so another's empty log holds nothing of anyone's.
  const vfs = MemoryVfs.fromSnapshot(new Map([...mine, [`${DEFAULT_CF_FILE_NAME}.wal`, log]]));
  const db = await ColumnFamilyDatabase.open(vfs, { pageBytes: 512 });
  const family = await db.columnFamily('a');
  const txn = await family.beginWrite();
  txn.openTable('t').insert(keyOf(1), valueOf(1, 20, 1));
  await txn.commit();
  const crashed = MemoryVfs.fromSnapshot(vfs.snapshot());
  await db.close();
  const again = await ColumnFamilyDatabase.open(crashed, { pageBytes: 512 });
  t.is([...(await again.columnFamily('a')).beginRead().openTable('t').range()].length, 1);
  await again.close();
});

test('a log that outlived its data file is CORRUPTION: a log is created only once its data file is durable', async (t) => {
  const vfs = new MemoryVfs();
  await (await ColumnFamilyDatabase.open(vfs, { pageBytes: 512, random: seeded(7) })).close();
  vfs.remove(DEFAULT_CF_FILE_NAME);
  const error = await rejectsCode(t, () => ColumnFamilyDatabase.open(MemoryVfs.fromSnapshot(vfs.snapshot()), { pageBytes: 512, random: seeded(8) }), 'CORRUPTION');
  t.regex(error?.message ?? '', /has a valid header .* but its data file is new/);
  const salvaged = await ColumnFamilyDatabase.open(MemoryVfs.fromSnapshot(vfs.snapshot()), { pageBytes: 512, random: seeded(8), recover: 'salvage' });
  t.deepEqual(salvaged.listColumnFamilies(), []);
  await salvaged.close();
});

test('an injected seeded source gives each database its own id, the same for the same seed; a Vfs without one gets a fixed id (a deterministic simulation)', async (t) => {
  const idWith = async (random?: () => number): Promise<number> => {
    const vfs = new MemoryVfs();
    const db = await ColumnFamilyDatabase.open(vfs, { pageBytes: 512, ...(random === undefined ? {} : { random }) });
    await db.close();
    return decodeMaster(vfs.snapshot().get(DEFAULT_CF_FILE_NAME)!.subarray(0, MASTER_COPY_BYTES))!.databaseId;
  };
  t.is(await idWith(seeded(1)), await idWith(seeded(1)));
  t.not(await idWith(seeded(1)), await idWith(seeded(2)));
  t.is(await idWith(), await idWith());
  await t.throwsAsync(ColumnFamilyDatabase.open(new MemoryVfs(), { random: 3 as unknown as () => number }), { instanceOf: TypeError, message: /random must be a function/ });
});
