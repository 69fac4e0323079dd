// A full disk (issue 12): a plain open recovers and serves every acknowledged commit without new space, writes fail with IO naming ENOSPC, and nothing is lost once space exists.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ColumnFamilyDatabase, DEFAULT_CF_FILE_NAME, type ColumnFamilyOptions } from '../../engine/columnFamilyDatabase.js';
import { EngineError } from '../../engine/errors.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { FaultyVfs } from '../../fault/faultyVfs.js';
import { dumpAll, putKeys } from './cfFixtures.js';
import { keyOf, rejectsCode, valueOf } from './engineFixtures.js';

const SMALL: ColumnFamilyOptions = { pageBytes: 512, initialSegmentBytes: 8 * 512 };

/** A database whose 300 acknowledged commits are in its log only, as a crash leaves it. */
async function crashedImage(): Promise<{ image: Map<string, Uint8Array>; expected: Awaited<ReturnType<typeof dumpAll>>; totalBytes: number }> {
  const vfs = new MemoryVfs();
  const db = await ColumnFamilyDatabase.open(vfs, SMALL);
  await putKeys(await db.columnFamily('a'), 0, 300, 100, 1);
  const expected = await dumpAll(db);
  const image = vfs.snapshot();
  let totalBytes = 0;
  for (const bytes of image.values()) totalBytes += bytes.length;
  return { image, expected, totalBytes };
}

test('no byte of room: a plain open serves every acknowledged commit, writes fail with IO naming ENOSPC, nothing grows; with room it checkpoints', async (t) => {
  const { image, expected, totalBytes } = await crashedImage();
  const full = FaultyVfs.fromImage(image, { errors: { capacityBytes: totalBytes } });
  const db = await ColumnFamilyDatabase.open(full, SMALL);
  t.deepEqual(await dumpAll(db), expected);
  const family = await db.columnFamily('a');
  const error = await rejectsCode(t, () => family.beginWrite(), 'IO');
  t.regex(error?.message ?? '', /disk is full \(ENOSPC\).*reopen/);
  t.true(error?.cause instanceof EngineError && /ENOSPC/.test(error.cause.message), 'the cause is the failed write');
  await rejectsCode(t, () => db.checkpoint(), 'IO');
  await rejectsCode(t, () => db.columnFamily('b'), 'IO');
  await db.close();
  t.deepEqual(full.currentImage(), image, 'the open on the full disk wrote nothing');
  // Space again: the same files open writable, with every commit, and take new ones.
  const roomy = FaultyVfs.fromImage(full.currentImage());
  const again = await ColumnFamilyDatabase.open(roomy, SMALL);
  t.deepEqual(await dumpAll(again), expected);
  const txn = await (await again.columnFamily('a')).beginWrite();
  txn.openTable('t').insert(keyOf(999), valueOf(999, 10, 1));
  await txn.commit();
  await again.close();
});

test('no byte of room and a write buffer of one page: the open still serves every commit (the replay stays in memory; found by the crash campaign, seed 1011350669)', async (t) => {
  const { image, expected, totalBytes } = await crashedImage();
  const full = FaultyVfs.fromImage(image, { errors: { capacityBytes: totalBytes } });
  const db = await ColumnFamilyDatabase.open(full, { ...SMALL, writeBufferBytes: 512 });
  t.deepEqual(await dumpAll(db), expected);
  await rejectsCode(t, async () => (await db.columnFamily('a')).beginWrite(), 'IO');
  await db.close();
  t.deepEqual(full.currentImage(), image, 'nothing written');
});

/** A tmpfs of `sizeBytes` mounted in a fresh folder, or the reason it cannot be (not root, no mount). */
function mountTmpfs(sizeBytes: number): { dir: string; resize: (bytes: number) => void; unmount: () => void } | string {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-fulldisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    fs.rmdirSync(dir);
    return `mount -t tmpfs failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  }
  return {
    dir,
    resize: (bytes) => execFileSync('mount', ['-o', `remount,size=${bytes}`, dir], { stdio: 'pipe' }),
    unmount: () => {
      execFileSync('umount', [dir], { stdio: 'pipe' });
      fs.rmdirSync(dir);
    },
  };
}

/** Commits until the file system is full; the commits that were acknowledged (resolved). */
async function fillUntilFull(t: ExecutionContext, file: string): Promise<number> {
  const db = await ColumnFamilyDatabase.open(file, { pageBytes: 4096 });
  const family = await db.columnFamily('a');
  let acknowledged = 0;
  let failure: unknown = null;
  for (let i = 0; i < 100_000 && failure === null; i++) {
    try {
      const txn = await family.beginWrite();
      txn.openTable('t').insert(keyOf(i), valueOf(i, 700, 1));
      await txn.commit();
      acknowledged++;
    } catch (error) {
      failure = error;
    }
  }
  t.true(failure instanceof EngineError && failure.code === 'IO' && /ENOSPC/.test(failure.message), `the filling ends with IO ENOSPC: ${String(failure)}`);
  await db.close().catch(() => undefined);
  return acknowledged;
}

const tmpfs = mountTmpfs(512 * 1024);
if (typeof tmpfs === 'string') {
  // Never silently: the reason is printed, and the in-memory full-disk test above still runs.
  console.log(`fullDisk: the real small file system test is not run here: ${tmpfs}`);
} else {
  const mounted = tmpfs;
  test.serial('a real 512 KiB tmpfs filled by commits: a plain reopen on the full disk serves every acknowledged commit; after it grows, writable again with all of them', async (t) => {
    t.teardown(() => mounted.unmount());
    const file = path.join(mounted.dir, DEFAULT_CF_FILE_NAME);
    const acknowledged = await fillUntilFull(t, file);
    t.true(acknowledged > 50, `${acknowledged} commits acknowledged before the disk filled`);
    // Whatever room is left goes too: the reopen has no byte to write.
    try {
      fs.writeFileSync(path.join(mounted.dir, 'filler'), new Uint8Array(1024 * 1024));
    } catch { /* ENOSPC: the filler took what was left */ }
    const full = await ColumnFamilyDatabase.open(file, { pageBytes: 4096 });
    const read = (await full.columnFamily('a')).beginRead();
    t.is([...read.openTable('t').range()].length, acknowledged);
    read.close();
    await rejectsCode(t, async () => (await full.columnFamily('a')).beginWrite(), 'IO');
    await full.close();
    mounted.resize(4 * 1024 * 1024);
    const again = await ColumnFamilyDatabase.open(file, { pageBytes: 4096 });
    const family = await again.columnFamily('a');
    const txn = await family.beginWrite();
    txn.openTable('t').insert(keyOf(acknowledged + 1), valueOf(1, 10, 1));
    await txn.commit();
    const after = family.beginRead();
    t.is([...after.openTable('t').range()].length, acknowledged + 1);
    after.close();
    await again.close();
  });
}
