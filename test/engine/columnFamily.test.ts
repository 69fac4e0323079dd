// columnFamilyDatabase.ts: column families sharing one data file and one WAL, through reopen, crash (process and power loss), checkpoint and recovery.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { VirtualClock } from '../../engine/clock.js';
import { ColumnFamilyDatabase, DEFAULT_CF_FILE_NAME, type ColumnFamily, type ColumnFamilyOptions } from '../../engine/columnFamilyDatabase.js';
import { EngineError } from '../../engine/errors.js';
import { decodeMaster, MASTER_COPY_BYTES, MASTER_OFFSETS, type Master } from '../../engine/masterHeader.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import type { Durability } from '../../engine/transaction.js';
import { assertIntegrity, CrashVfs, dumpAll, dumpFamily, turns, type FamilyDump, type Image } from './cfFixtures.js';
import { FlakyVfs, hex, keyOf, rejectsCode, valueOf } from './engineFixtures.js';

const DATA = DEFAULT_CF_FILE_NAME;
const WAL = `${DATA}.wal`;
/** Small pages and segments: trees grow deep, families take several segments, images stay small. */
const SMALL: ColumnFamilyOptions = { pageBytes: 512, initialSegmentBytes: 8 * 512 };

async function open(vfs: CrashVfs, options: ColumnFamilyOptions = SMALL): Promise<ColumnFamilyDatabase> {
  return ColumnFamilyDatabase.open(vfs, options);
}

/** Opens a copy of `image` (all of it durable), as the machine would after a crash. */
async function reopen(image: Image, options: ColumnFamilyOptions = SMALL): Promise<{ db: ColumnFamilyDatabase; vfs: CrashVfs }> {
  const vfs = CrashVfs.from(image);
  return { db: await open(vfs, options), vfs };
}

async function put(family: ColumnFamily, index: number, durability: Durability = 'immediate', table = 't', valueBytes = 40): Promise<void> {
  const txn = await family.beginWrite();
  txn.openTable(table).insert(keyOf(index), valueOf(index, valueBytes, family.id));
  await txn.commit({ durability });
}

/** The keys (as numbers) of `table` in family `name` of a dump, in order. */
function keysIn(dump: FamilyDump, name: string, table = 't'): number[] {
  return (dump[name]?.[table] ?? []).map(([key]) => Number.parseInt(key, 16));
}

function masterOf(image: Image): Master {
  const file = image.get(DATA);
  if (file === undefined) throw new Error('no data file');
  const copies = MASTER_OFFSETS.map((at) => decodeMaster(file.subarray(at, at + MASTER_COPY_BYTES)));
  const newest = copies.reduce((best, copy) => (copy !== null && (best === null || copy.generation > best.generation) ? copy : best), null);
  if (newest === null) throw new Error('no valid master copy');
  return newest;
}

function tempDir(t: ExecutionContext): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-cf-'));
  t.teardown(() => fs.rmSync(directory, { recursive: true, force: true }));
  return directory;
}

// ---- families: create, list, delete ----

test('families are created, listed and deleted durably, across close/reopen and both kinds of crash', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  t.deepEqual(db.listColumnFamilies(), []);
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => db.columnFamily(name)));
  t.is(await db.columnFamily('a'), a!, 'a second lookup returns the same family');
  await put(a!, 1);
  await put(b!, 2);
  await put(c!, 3, 'none');
  t.true(await db.deleteColumnFamily('b'));
  t.false(await db.deleteColumnFamily('b'), 'deleting a missing family says so');
  t.deepEqual(db.listColumnFamilies(), ['a', 'c']);
  const expected = await dumpAll(db);

  for (const [what, image] of [['process crash', vfs.cacheImage()], ['power loss', vfs.durableImage()]] as const) {
    const { db: crashed } = await reopen(image);
    t.deepEqual(crashed.listColumnFamilies(), ['a', 'c'], what);
    const dump = await dumpAll(crashed);
    t.deepEqual(dump.a, expected.a, what);
    if (what === 'process crash') t.deepEqual(dump, expected, 'the none commit is in the page cache');
    await assertIntegrity(t, crashed, what);
  }

  await db.close();
  const reopened = await open(vfs);
  t.deepEqual(reopened.listColumnFamilies(), ['a', 'c']);
  t.deepEqual(await dumpAll(reopened), expected);
  await assertIntegrity(t, reopened);
  await reopened.close();
});

test('a family grows across many segments, interleaved with another, and survives reopen and crash', async (t) => {
  const vfs = new CrashVfs();
  const options: ColumnFamilyOptions = { pageBytes: 512, initialSegmentBytes: 2 * 512, writeBufferBytes: 8 * 512 };
  const db = await open(vfs, options);
  const a = await db.columnFamily('a');
  const b = await db.columnFamily('b');
  for (let batch = 0; batch < 12; batch++) {
    for (const family of [a, b]) {
      const txn = await family.beginWrite();
      const table = txn.openTable('t');
      for (let i = 0; i < 25; i++) table.insert(keyOf(batch * 100 + i), valueOf(batch * 100 + i, 60 + (i % 3) * 300, family.id));
      await txn.commit();
    }
  }
  await assertIntegrity(t, db);
  const expected = await dumpAll(db);
  await db.checkpoint();
  const master = masterOf(vfs.durableImage());
  const segments = Object.fromEntries(master.families.map((family) => [family.name, family.segments.length]));
  t.true(segments.a! >= 5 && segments.b! >= 5, `segments per family: ${JSON.stringify(segments)}`);
  const all = master.families.flatMap((family) => family.segments).sort((x, y) => x.offset - y.offset);
  all.forEach((segment, i) => {
    if (i > 0) t.true(all[i - 1]!.offset + all[i - 1]!.lengthBytes <= segment.offset, 'segments never overlap');
  });

  const { db: crashed } = await reopen(vfs.durableImage(), options);
  t.deepEqual(await dumpAll(crashed), expected);
  await assertIntegrity(t, crashed, 'after crash');
  await db.close();
  const reopened = await open(vfs, options);
  t.deepEqual(await dumpAll(reopened), expected);
  await assertIntegrity(t, reopened, 'after reopen');
  // It keeps growing after the reopen.
  await put(await reopened.columnFamily('a'), 5000, 'immediate', 't', 3000);
  await reopened.close();
  const again = await open(vfs, options);
  t.is(keysIn(await dumpAll(again), 'a').at(-1), 5000);
  await assertIntegrity(t, again);
});

// ---- concurrency, durability and crashes ----

interface Capture {
  readonly image: Image;
  /** Per family, commits acknowledged when the image was taken. */
  readonly acked: ReadonlyMap<string, number>;
}

/** Each recovered family holds exactly keys 0..m-1 of table t, with m between what was acknowledged and issued. */
function assertPrefixes(t: ExecutionContext, dump: FamilyDump, acked: ReadonlyMap<string, number>, issued: number, label: string): void {
  for (const [name, count] of acked) {
    const keys = keysIn(dump, name);
    t.deepEqual(keys, Array.from({ length: keys.length }, (_, i) => i), `${label}: family ${name} holds a prefix`);
    t.true(keys.length >= count && keys.length <= issued, `${label}: family ${name} has ${keys.length} commits, ${count} acknowledged`);
  }
}

/** `commits` immediate commits of key i into each family, all families at once. */
async function concurrentWriters(db: ColumnFamilyDatabase, names: readonly string[], commits: number, acked: Map<string, number>,
  pauseTurns = 0): Promise<void> {
  await Promise.all(names.map(async (name) => {
    const family = await db.columnFamily(name);
    for (let i = 0; i < commits; i++) {
      await put(family, i);
      acked.set(name, i + 1);
      await turns(pauseTurns);
    }
  }));
}

test('concurrent writers in different families are all acknowledged, share WAL syncs, and all survive a power loss', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  const names = ['a', 'b', 'c', 'd', 'e'];
  for (const name of names) await db.columnFamily(name);
  vfs.syncDelayTurns = 1; // a sync takes time: commits arrive while it is in flight
  const walSyncsBefore = vfs.syncs(WAL);
  const acked = new Map(names.map((name) => [name, 0]));
  const captures: Capture[] = [];
  vfs.onSynced = () => captures.push({ image: vfs.durableImage(), acked: new Map(acked) });
  await concurrentWriters(db, names, 20, acked);
  vfs.onSynced = null;
  const walSyncs = vfs.syncs(WAL) - walSyncsBefore;
  t.true(walSyncs < 100, `${walSyncs} WAL syncs for 100 commits: families share them`);
  t.log(`${walSyncs} WAL syncs for 100 concurrent commits in 5 families`);

  const { db: crashed } = await reopen(vfs.durableImage());
  assertPrefixes(t, await dumpAll(crashed), acked, 20, 'after the run');
  await assertIntegrity(t, crashed);
  for (const [i, capture] of captures.entries()) {
    const { db: recovered } = await reopen(capture.image);
    assertPrefixes(t, await dumpAll(recovered), capture.acked, 20, `image at sync ${i}`);
  }
});

test('durability none: a power loss (also inside a checkpoint) may lose none commits, but only as a suffix of the commit order', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  const families = [await db.columnFamily('a'), await db.columnFamily('b'), await db.columnFamily('c')];
  const states: string[] = [JSON.stringify(await dumpAll(db))];
  let lastImmediate = 0;
  const captures: Array<{ image: Image; atLeast: number; atMost: number }> = [];
  vfs.onSynced = () => captures.push({ image: vfs.durableImage(), atLeast: lastImmediate, atMost: states.length });
  for (let i = 0; i < 30; i++) {
    const durability: Durability = i % 4 === 3 ? 'immediate' : 'none';
    await put(families[(i * 7) % 3]!, i, durability);
    states.push(JSON.stringify(await dumpAll(db)));
    if (i % 8 === 6) await db.checkpoint(); // with none commits of several families pending: a crash inside it must leave a prefix
    if (durability === 'immediate') lastImmediate = states.length - 1;
  }
  vfs.onSynced = null;
  captures.push({ image: vfs.durableImage(), atLeast: lastImmediate, atMost: states.length - 1 });
  t.true(captures.length >= 7);
  for (const [i, capture] of captures.entries()) {
    const { db: recovered } = await reopen(capture.image);
    const k = states.indexOf(JSON.stringify(await dumpAll(recovered)));
    t.true(k >= capture.atLeast && k <= capture.atMost, `image ${i}: recovered state #${k}, expected one of #${capture.atLeast}..#${capture.atMost}`);
    await assertIntegrity(t, recovered, `image ${i}`);
  }
  // A process crash keeps the page cache: the none commits are all there.
  const { db: afterProcessCrash } = await reopen(vfs.cacheImage());
  t.is(states.lastIndexOf(JSON.stringify(await dumpAll(afterProcessCrash))), states.length - 1);
});

test('checkpoints while writers commit: every image at every sync recovers all acknowledged commits', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs, { ...SMALL, writeBufferBytes: 16 * 512 });
  const names = ['a', 'b', 'c'];
  for (const name of names) await db.columnFamily(name);
  vfs.syncDelayTurns = 1;
  const acked = new Map(names.map((name) => [name, 0]));
  const captures: Capture[] = [];
  vfs.onSynced = () => captures.push({ image: vfs.durableImage(), acked: new Map(acked) });
  let checkpoints = 0;
  let writing = true;
  const checkpointer = (async () => {
    while (writing) {
      await db.checkpoint();
      checkpoints++;
      await turns(1);
    }
  })();
  await concurrentWriters(db, names, 25, acked, 2);
  writing = false;
  await checkpointer;
  vfs.onSynced = null;
  t.true(checkpoints >= 3, `${checkpoints} checkpoints ran during the writes`);
  const { db: crashed } = await reopen(vfs.durableImage());
  assertPrefixes(t, await dumpAll(crashed), acked, 25, 'after the run');
  for (const name of names) t.is(keysIn(await dumpAll(crashed), name).length, 25);
  for (const [i, capture] of captures.entries()) {
    if (i % 2 === 1 && i !== captures.length - 1) continue; // every other image keeps the test fast
    const { db: recovered } = await reopen(capture.image);
    assertPrefixes(t, await dumpAll(recovered), capture.acked, 25, `image at sync ${i}`);
    await assertIntegrity(t, recovered, `image at sync ${i}`);
  }
});

// ---- checkpoints and the log ----

test('a checkpoint when idle drops every WAL record; the log resets and the data file holds everything', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  const a = await db.columnFamily('a');
  const b = await db.columnFamily('b');
  for (let i = 0; i < 10; i++) await put(i % 2 === 0 ? a : b, i, i % 3 === 0 ? 'none' : 'immediate');
  const before = db.stats().wal!;
  t.is(before.liveRecords, 10);
  t.true(before.liveBytes > 0);
  await db.checkpoint();
  const after = db.stats().wal!;
  t.is(after.liveRecords, 0);
  t.is(after.liveBytes, 0);
  t.is(after.nextSeq, before.nextSeq, 'sequence numbers continue after a reset');
  t.is(a.stats().durableTxnId, a.stats().committedTxnId);
  const expected = await dumpAll(db);
  // The data file alone holds the state, but it says its log is live (the database is open, so
  // commits after the checkpoint would be only in the log): without the log, a strict open is
  // CORRUPTION, and a salvage (reporting the missing log) recovers everything.
  const image = vfs.durableImage();
  image.delete(WAL);
  await t.throwsAsync(() => reopen(image), { message: /crashlab\.cf\.wal is missing, but crashlab\.cf says its log is live/ });
  const { db: dataOnly } = await reopen(image, { ...SMALL, recover: 'salvage' });
  t.deepEqual(dataOnly.recoveryReport().lost.map((loss) => loss.kind), ['missing-log']);
  t.deepEqual(await dumpAll(dataOnly), expected);
  await put(a, 100);
  t.true(db.stats().wal!.nextSeq > before.nextSeq);
});

test('walCheckpointBytes: the log stays small because checkpoints start by themselves', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs, { ...SMALL, walCheckpointBytes: 2000 });
  const a = await db.columnFamily('a');
  let maxLive = 0;
  for (let i = 0; i < 60; i++) {
    await put(a, i, 'immediate', 't', 100);
    maxLive = Math.max(maxLive, db.stats().wal!.liveBytes);
    await turns(2);
  }
  t.true(a.stats().durableTxnId > 30, `durable txn ${a.stats().durableTxnId}: checkpoints ran`);
  t.true(maxLive < 4000, `live log peaked at ${maxLive} bytes`);
  const expected = await dumpAll(db);
  const { db: crashed } = await reopen(vfs.durableImage());
  t.deepEqual(await dumpAll(crashed), expected);
});

test('checkpointIntervalMicros: a commit after the interval passed on the injected clock starts a checkpoint', async (t) => {
  const clock = new VirtualClock(5_000_000);
  const vfs = new CrashVfs();
  const db = await open(vfs, { ...SMALL, clock, checkpointIntervalMicros: 1_000_000 });
  const a = await db.columnFamily('a');
  await put(a, 1);
  await turns(3);
  const durable = a.stats().durableTxnId;
  t.is(db.stats().wal!.liveRecords, 1, 'no checkpoint before the interval');
  clock.advance(999_999);
  await put(a, 2);
  await turns(3);
  t.is(a.stats().durableTxnId, durable, 'still none one microsecond early');
  t.is(db.stats().wal!.liveRecords, 2);
  clock.advance(1);
  await put(a, 3);
  await turns(5);
  t.is(db.stats().wal!.liveRecords, 0, 'the checkpoint dropped the records');
  t.is(a.stats().durableTxnId, a.stats().committedTxnId);
  // The interval restarts from that checkpoint.
  await put(a, 4);
  await turns(3);
  t.is(db.stats().wal!.liveRecords, 1);
});

test('the group-commit window is spent on the injected clock', async (t) => {
  const clock = new VirtualClock(0);
  const vfs = new CrashVfs();
  const db = await open(vfs, { ...SMALL, clock, groupCommitWindowMicros: 300 });
  const [a, b] = [await db.columnFamily('a'), await db.columnFamily('b')];
  const start = clock.nowMicros();
  await Promise.all([put(a, 1), put(b, 1)]);
  t.is(clock.nowMicros() - start, 300, 'both commits shared one window');
  await put(a, 2, 'none');
  t.is(clock.nowMicros() - start, 300, 'a none commit waits for no window');
});

// ---- recovery ----

/** A database with many un-checkpointed commits in three families, and its power-loss image. */
async function unCheckpointed(options: ColumnFamilyOptions): Promise<{ image: Image; expected: FamilyDump }> {
  const vfs = new CrashVfs();
  const db = await open(vfs, options);
  const families = [await db.columnFamily('a'), await db.columnFamily('b'), await db.columnFamily('c')];
  for (let i = 0; i < 40; i++) {
    const family = families[i % 3]!;
    const txn = await family.beginWrite();
    const table = txn.openTable(i % 2 === 0 ? 't' : 'u');
    for (let k = 0; k < 8; k++) table.insert(keyOf(i * 10 + k), valueOf(i * 10 + k, 50 + k * 40, family.id));
    if (i % 5 === 4) table.remove(keyOf((i - 1) * 10));
    if (i === 30) txn.deleteTable('u');
    await txn.commit();
  }
  if ((db.stats().wal?.liveRecords ?? 0) < 40) throw new Error('the fixture must leave its records in the log');
  return { image: vfs.durableImage(), expected: await dumpAll(db) };
}

test('recovery is idempotent: crash-reopen twice, or crash at any sync during recovery, gives the same state', async (t) => {
  const options: ColumnFamilyOptions = { pageBytes: 512, initialSegmentBytes: 2 * 512, writeBufferBytes: 4 * 512 };
  const { image, expected } = await unCheckpointed(options);
  const vfs = CrashVfs.from(image);
  const captures: Array<[string, Image]> = [];
  vfs.onSynced = (name) => {
    captures.push([`power loss after a sync of ${name} (#${captures.length / 2})`, vfs.durableImage()]);
    captures.push([`process crash after a sync of ${name} (#${(captures.length - 1) / 2})`, vfs.cacheImage()]);
  };
  const first = await open(vfs, options);
  vfs.onSynced = null;
  t.deepEqual(await dumpAll(first), expected);
  t.true(captures.length >= 8, `${captures.length / 2} syncs during recovery`);
  for (const [what, captured] of captures) {
    const { db, vfs: again } = await reopen(captured, options);
    t.deepEqual(await dumpAll(db), expected, what);
    await assertIntegrity(t, db, what);
    // And once more, from the power-loss image of that recovery.
    const { db: twice } = await reopen(again.durableImage(), options);
    t.deepEqual(await dumpAll(twice), expected, `${what}, then again`);
  }
});

test('wal: false commits each family with two data-file fsyncs and survives a power loss', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs, { ...SMALL, wal: false });
  t.false(vfs.exists(WAL), 'no log file');
  t.is(db.stats().wal, null);
  const a = await db.columnFamily('a');
  const b = await db.columnFamily('b');
  const syncsBefore = vfs.syncs(DATA);
  for (let i = 0; i < 5; i++) await put(a, i);
  t.is(vfs.syncs(DATA) - syncsBefore, 10, 'two fsyncs per immediate commit');
  await Promise.all([put(a, 5), put(b, 0)]);
  await put(b, 1, 'none');
  const { db: crashed } = await reopen(vfs.durableImage(), { ...SMALL, wal: false });
  const dump = await dumpAll(crashed);
  t.deepEqual(keysIn(dump, 'a'), [0, 1, 2, 3, 4, 5]);
  t.deepEqual(keysIn(dump, 'b'), [0], 'the none commit was never made durable');
  await assertIntegrity(t, crashed);
  await put(b, 2);
  t.deepEqual(keysIn(await dumpAll(db), 'b'), [0, 1, 2]);
  const { db: again } = await reopen(vfs.durableImage(), { ...SMALL, wal: false });
  t.deepEqual(keysIn(await dumpAll(again), 'b'), [0, 1, 2], 'the next immediate commit carried the none one');
  await db.close();
  t.false(vfs.exists(WAL));
});

test('preallocateBytes: both files are pre-allocated, and their zeros are never a record, a header or an empty store', async (t) => {
  const options: ColumnFamilyOptions = { ...SMALL, preallocateBytes: 256 * 1024 };
  const vfs = new CrashVfs();
  const db = await open(vfs, options);
  const created = vfs.durableImage();
  t.is(created.get(DATA)?.length, 256 * 1024);
  t.is(created.get(WAL)?.length, 256 * 1024);
  // A crash right after creation: headers and zeros.
  const { db: empty } = await reopen(created, options);
  t.deepEqual(empty.listColumnFamilies(), []);

  const a = await db.columnFamily('a');
  for (let i = 0; i < 30; i++) await put(a, i, 'immediate', 't', 200);
  const expected = await dumpAll(db);
  t.is(vfs.cacheImage().get(WAL)?.length, 256 * 1024, 'the log appended inside its pre-allocated space');
  for (const [what, image] of [['power loss', vfs.durableImage()], ['process crash', vfs.cacheImage()]] as const) {
    const { db: crashed } = await reopen(image, options);
    t.deepEqual(await dumpAll(crashed), expected, what);
    await assertIntegrity(t, crashed, what);
  }
  // A pre-allocated data file whose creation never completed (all zeros, no log) is a new, empty store.
  const { db: fresh } = await reopen(new Map([[DATA, new Uint8Array(256 * 1024)]]), options);
  t.deepEqual(fresh.listColumnFamilies(), []);
  // A listed family whose header reads as zeros is refused, never an empty family (its code: see the regression: test below).
  const damaged = vfs.durableImage();
  const segment = masterOf(damaged).families[0]!.segments[0]!;
  damaged.get(DATA)!.fill(0, segment.offset, segment.offset + 512);
  await t.throwsAsync(() => reopen(damaged, options), { instanceOf: EngineError });
  await db.close();
  const reopened = await open(vfs, options);
  t.deepEqual(await dumpAll(reopened), expected);
});

test('deleting a family and creating one of the same name gives an empty family; the old records never come back', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  const old = await db.columnFamily('x');
  const keep = await db.columnFamily('keep');
  for (let i = 0; i < 6; i++) await put(old, i, i === 5 ? 'none' : 'immediate');
  await put(keep, 1);
  t.true(await db.deleteColumnFamily('x'));
  await rejectsCode(t, () => old.beginWrite(), 'CLOSED');
  const fresh = await db.columnFamily('x');
  t.not(fresh, old);
  t.deepEqual(dumpFamily(fresh), {});
  await put(fresh, 100);
  t.true(db.stats().wal!.liveRecords >= 7, 'the old family\'s records are still in the log');
  const expected = await dumpAll(db);
  t.deepEqual(keysIn(expected, 'x'), [100]);
  for (const [what, image] of [['power loss', vfs.durableImage()], ['process crash', vfs.cacheImage()]] as const) {
    const { db: crashed, vfs: crashedVfs } = await reopen(image);
    t.deepEqual(await dumpAll(crashed), expected, what);
    await assertIntegrity(t, crashed, what);
    const { db: twice } = await reopen(crashedVfs.durableImage());
    t.deepEqual(await dumpAll(twice), expected, `${what}, twice`);
  }
  await db.close();
  const reopened = await open(vfs);
  t.deepEqual(await dumpAll(reopened), expected);
});

test('deleting a family is a barrier in the log order: an earlier none commit of another family survives a power loss right after it', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  const doomed = await db.columnFamily('doomed');
  const other = await db.columnFamily('other');
  await put(doomed, 1);
  await put(other, 2, 'none');
  const syncsBefore = vfs.syncs('crashlab.cf.wal');
  t.true(await db.deleteColumnFamily('doomed'));
  t.true(vfs.syncs('crashlab.cf.wal') > syncsBefore, 'the log was synced before the removal');
  // The removal is durable; the none commit issued before it must be too (else no prefix of the order matches).
  const { db: crashed } = await reopen(vfs.durableImage());
  t.deepEqual(crashed.listColumnFamilies(), ['other']);
  t.deepEqual(keysIn(await dumpAll(crashed), 'other'), [2]);
  await db.close();
});

test('a second open of the same files is LOCKED (real files); after close it opens', async (t) => {
  const directory = tempDir(t);
  const file = path.join(directory, 'data.cf');
  const db = await ColumnFamilyDatabase.open(file, SMALL);
  await put(await db.columnFamily('a'), 1);
  await rejectsCode(t, () => ColumnFamilyDatabase.open(file, SMALL), 'LOCKED');
  t.deepEqual(fs.readdirSync(directory).sort(), ['data.cf', 'data.cf.wal']);
  await db.close();
  const again = await ColumnFamilyDatabase.open(file, SMALL);
  t.deepEqual(keysIn(await dumpAll(again), 'a'), [1]);
  await again.close();
});

test('misuse is a TypeError; a closed database is CLOSED', async (t) => {
  const vfs = new CrashVfs();
  await t.throwsAsync(() => open(vfs, { pageBytes: 512, initialSegmentBytes: 700 }), { instanceOf: TypeError });
  await t.throwsAsync(() => open(vfs, { barrier: 'sometimes' as never }), { instanceOf: TypeError });
  await t.throwsAsync(() => open(vfs, { walCheckpointBytes: -1 }), { instanceOf: TypeError });
  const db = await open(vfs);
  await t.throwsAsync(() => db.columnFamily(''), { instanceOf: TypeError });
  await t.throwsAsync(() => db.columnFamily('n'.repeat(65)), { instanceOf: TypeError });
  await db.close();
  t.throws(() => db.listColumnFamilies(), { message: /CLOSED/ });
  await t.notThrowsAsync(() => db.close(), 'close is idempotent');
});

test('a failed WAL fsync fails the commits waiting on it with IO and poisons every family; close releases the files; reopen recovers a prefix', async (t) => {
  const machine = new CrashVfs();
  const flaky = new FlakyVfs(machine);
  const db = await ColumnFamilyDatabase.open(flaky, SMALL);
  const a = await db.columnFamily('a');
  const b = await db.columnFamily('b');
  await put(a, 1);
  flaky.failSyncs = true;
  const results = await Promise.allSettled([put(a, 2), put(b, 2)]);
  t.deepEqual(results.map((result) => result.status === 'rejected' && (result.reason as EngineError).code), ['IO', 'IO']);
  await rejectsCode(t, () => put(b, 3), 'PREVIOUS_IO');
  await rejectsCode(t, async () => db.checkpoint(), 'PREVIOUS_IO');
  t.throws(() => b.beginRead(), { message: /PREVIOUS_IO/ });
  await db.close();
  flaky.failSyncs = false;
  // The failed commits were never acknowledged: after a power loss they are gone; after a process crash they may be back.
  const { db: afterPowerLoss } = await reopen(machine.durableImage());
  t.deepEqual({ a: keysIn(await dumpAll(afterPowerLoss), 'a'), b: keysIn(await dumpAll(afterPowerLoss), 'b') }, { a: [1], b: [] });
  const reopened = await open(machine);
  const dump = await dumpAll(reopened);
  t.true([[1], [1, 2]].some((keys) => JSON.stringify(keys) === JSON.stringify(keysIn(dump, 'a'))));
  await assertIntegrity(t, reopened);
});

test('a reader keeps its snapshot while writers overwrite, remove and checkpoint (no page it reaches is reused)', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs, { ...SMALL, writeBufferBytes: 4 * 512 });
  const a = await db.columnFamily('a');
  const txn = await a.beginWrite();
  for (let i = 0; i < 200; i++) txn.openTable('t').insert(keyOf(i), valueOf(i, 30 + (i % 5) * 200));
  await txn.commit();
  const reader = a.beginRead();
  const before = dumpFamily(a);
  for (let round = 0; round < 6; round++) {
    const writer = await a.beginWrite();
    const table = writer.openTable('t');
    for (let i = round; i < 200; i += 3) table.insert(keyOf(i), valueOf(i, 100, round + 1));
    for (let i = round * 7; i < round * 7 + 5; i++) table.remove(keyOf(i));
    if (round === 3) writer.openTable('t').clear();
    await writer.commit({ durability: round % 2 === 0 ? 'none' : 'immediate' });
    await db.checkpoint();
  }
  const seen = { t: [...reader.openTable('t').range()].map(([key, value]) => [hex(key), hex(value)]) };
  t.deepEqual(seen, before);
  reader.close();
  await assertIntegrity(t, db);
});

test('regression: checkpoint() and deleteColumnFamily() return a rejected promise (never throw synchronously) once the database is poisoned or closed', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  await db.columnFamily('a');
  await db.close();
  const outcomes: string[] = [];
  for (const [what, call] of [['checkpoint', () => db.checkpoint()], ['deleteColumnFamily', () => db.deleteColumnFamily('a')]] as const) {
    try {
      await call().then(() => outcomes.push(`${what}: resolved`), (error: unknown) => outcomes.push(`${what}: rejected ${String(error)}`));
    } catch (error) {
      outcomes.push(`${what}: threw synchronously ${String(error)}`);
    }
  }
  t.deepEqual(outcomes.map((outcome) => outcome.replace(/ EngineError.*/, '')), ['checkpoint: rejected', 'deleteColumnFamily: rejected'], outcomes.join('\n'));
});

// ---- the write-ahead rule: no data header may cover a WAL record that is not durable ----
// The first two failed before b5c9ed9 (checkpoint now waits for the log); the third still fails.

test('write-ahead rule (regression): a crash between a checkpoint\'s data header and its WAL sync must not make sequence numbers repeat and lose a later acknowledged commit', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  const a = await db.columnFamily('a');
  await put(a, 1); // WAL record 1, durable
  await put(a, 2, 'none'); // WAL record 2, written but not synced
  // The checkpoint writes a's data header ("covers WAL seq 2") before record 2 is durable in the log.
  const images: Image[] = [];
  vfs.onSynced = () => images.push(vfs.durableImage());
  await db.checkpoint();
  vfs.onSynced = null;
  for (const [i, image] of images.entries()) {
    // Power loss at this sync: at the header sync, the data file covers seq 2 and the log ends at seq 1.
    const { db: recovered, vfs: recoveredVfs } = await reopen(image);
    const keys = keysIn(await dumpAll(recovered), 'a');
    await put(await recovered.columnFamily('a'), 3); // acknowledged: its record is durable
    // Another power loss: in the bad case record 3 got seq 2, which the header "covers", so replay skips it.
    const { db: after } = await reopen(recoveredVfs.durableImage());
    t.deepEqual(keysIn(await dumpAll(after), 'a'), [...keys, 3], `power loss at sync ${i} of the checkpoint: the acknowledged commit of key 3 must survive`);
  }
});

test('regression: a listed family whose header page reads as zeros is CORRUPTION (not INVALID_FORMAT), as openExisting documents', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  await put(await db.columnFamily('a'), 1);
  await db.close();
  const image = vfs.durableImage();
  const segment = masterOf(image).families[0]!.segments[0]!;
  image.get(DATA)!.fill(0, segment.offset, segment.offset + 512);
  await rejectsCode(t, () => reopen(image), 'CORRUPTION');
});

test('write-ahead rule (regression): a crash in the middle of a checkpoint must not leave a hole (a later none commit of one family without an earlier one of another)', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  // Families are checkpointed in creation order: b first.
  const b = await db.columnFamily('b');
  const a = await db.columnFamily('a');
  await put(a, 1, 'none'); // seq 1
  await put(b, 1, 'none'); // seq 2
  const states = [JSON.stringify({ a: {}, b: {} }), JSON.stringify({ a: dumpFamily(a), b: {} })];
  states.push(JSON.stringify(await dumpAll(db)));
  const images: Image[] = [];
  vfs.onSynced = () => images.push(vfs.durableImage());
  await db.checkpoint();
  vfs.onSynced = null;
  for (const [i, image] of images.entries()) {
    const { db: recovered } = await reopen(image);
    const state = JSON.stringify(await dumpAll(recovered));
    t.true(states.includes(state), `image ${i} of ${images.length}: ${state} is not a prefix of the commit order`);
  }
});

test('regression: recovery never checkpoints records it read only from the page cache; a power loss during recovery leaves no hole and repeats no sequence number', async (t) => {
  const writer = new CrashVfs();
  const db = await open(writer);
  const b = await db.columnFamily('b');
  const a = await db.columnFamily('a');
  await put(b, 0);
  await put(a, 1, 'none');
  await put(b, 1, 'none');
  // A process crash (the log tail is only in the page cache), then recovery, then a power loss at any of its syncs.
  const vfs = new CrashVfs(MemoryVfs.fromSnapshot(writer.cacheImage()), writer.durableImage());
  const images: Image[] = [];
  vfs.onSynced = () => images.push(vfs.durableImage());
  const recovering = await open(vfs);
  vfs.onSynced = null;
  t.deepEqual(keysIn(await dumpAll(recovering), 'b'), [0, 1]);
  const prefixes = [
    { a: [], b: [0] },
    { a: [1], b: [0] },
    { a: [1], b: [0, 1] },
  ].map((state) => JSON.stringify(state));
  const problems: string[] = [];
  for (const [i, image] of images.entries()) {
    const { db: recovered, vfs: recoveredVfs } = await reopen(image);
    const dump = await dumpAll(recovered);
    const state = JSON.stringify({ a: keysIn(dump, 'a'), b: keysIn(dump, 'b') });
    if (!prefixes.includes(state)) problems.push(`power loss at sync ${i} of recovery: ${state} is not a prefix (a hole)`);
    // And commits acknowledged after that must survive the next power loss.
    await put(await recovered.columnFamily('a'), 7);
    await put(await recovered.columnFamily('b'), 7);
    const after = await dumpAll((await reopen(recoveredVfs.durableImage())).db);
    for (const name of ['a', 'b']) {
      if (!keysIn(after, name).includes(7)) problems.push(`power loss at sync ${i} of recovery: acknowledged key 7 of ${name} was lost`);
    }
  }
  t.deepEqual(problems, []);
});

// ---- names that are not well-formed UTF-16 ----

test('regression: table names that are not well-formed UTF-16 are refused (they would collide in the catalog)', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  const a = await db.columnFamily('a');
  const txn = await a.beginWrite();
  try {
    // '\uD800' (a lone surrogate) and '\uFFFD' encode to the same UTF-8 bytes, so the same catalog key.
    txn.openTable('\uD800').insert(keyOf(1), valueOf(1, 10));
    txn.openTable('\uFFFD').insert(keyOf(2), valueOf(2, 10));
    await txn.commit();
  } catch (error) {
    txn.abort();
    if (!(error instanceof TypeError)) throw error;
    t.pass('a name that is not well-formed is refused: fixed');
    return;
  }
  const live = await dumpAll(db);
  const report = a.checkIntegrity();
  const { db: crashed } = await reopen(vfs.cacheImage());
  t.deepEqual({ live, integrity: report.problems }, { live: await dumpAll(crashed), integrity: [] },
    'both inserts were committed: the live state must hold both, leak nothing, and equal what replay rebuilds');
});

test('regression: family names that are not well-formed UTF-16 are refused (they would collide in the master header)', async (t) => {
  const vfs = new CrashVfs();
  const db = await open(vfs);
  for (const name of ['\uD800', '\uFFFD']) {
    let family: ColumnFamily;
    try {
      family = await db.columnFamily(name);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      t.pass('a name that is not well-formed is refused: fixed');
      continue;
    }
    await put(family, name.charCodeAt(0));
  }
  const before = { families: db.listColumnFamilies(), dump: await dumpAll(db) };
  await db.close();
  const reopened = await open(vfs);
  t.deepEqual({ families: reopened.listColumnFamilies(), dump: await dumpAll(reopened) }, before);
});

test('every value read back is the committed bytes, wherever the page lives (write buffer, file) after checkpoint and reopen', async (t) => {
  const vfs = new CrashVfs();
  const options: ColumnFamilyOptions = { ...SMALL, writeBufferBytes: 4 * 512, barrier: 'wal-aware' };
  const db = await open(vfs, options);
  const a = await db.columnFamily('a');
  for (let i = 0; i < 20; i++) await put(a, i, 'immediate', 't', 700);
  const read = (family: ColumnFamily): string[] => {
    const txn = family.beginRead();
    try {
      return Array.from({ length: 20 }, (_, i) => hex(txn.openTable('t').get(keyOf(i)) ?? new Uint8Array(0)));
    } finally {
      txn.close();
    }
  };
  const expected = Array.from({ length: 20 }, (_, i) => hex(valueOf(i, 700, a.id)));
  t.deepEqual(read(a), expected);
  t.true(a.stats().evictions > 0, 'a tiny write buffer evicts');
  await db.checkpoint();
  t.deepEqual(read(a), expected);
  await db.close();
  const reopened = await open(vfs, options);
  t.deepEqual(read(await reopened.columnFamily('a')), expected);
});

test('the write buffer and read cache bound the whole store, not each family', async (t) => {
  const pageBytes = 512;
  const options = { pageBytes, writeBufferBytes: 8 * pageBytes, readCacheBytes: 16 * pageBytes, barrier: 'wal-aware' as const, walCheckpointBytes: 64 * 1024 * 1024 };
  const db = await ColumnFamilyDatabase.open(new MemoryVfs(), options);
  const families = await Promise.all(['a', 'b', 'c', 'd'].map((name) => db.columnFamily(name)));
  const value = new Uint8Array(100).fill(7);
  let peakDirtyBytes = 0;
  for (let round = 0; round < 20; round++) {
    for (const family of families) {
      const txn = await family.beginWrite();
      for (let i = 0; i < 8; i++) txn.openTable('t').insert(Uint8Array.of(round, i), value);
      await txn.commit({ durability: 'none' });
      const dirtyBytes = families.reduce((sum, f) => sum + f.stats().dirtyBytes, 0);
      peakDirtyBytes = Math.max(peakDirtyBytes, dirtyBytes);
    }
  }
  // Per-family budgets would allow 4 x 8 pages; the shared one stays near 8 (one commit's pages over).
  t.log(`peak dirty ${peakDirtyBytes} bytes`);
  t.true(peakDirtyBytes <= 12 * pageBytes, `peak dirty ${peakDirtyBytes} bytes`);
  t.true(families.some((f) => f.stats().evictions > 0), 'eviction did run');
  for (const family of families) {
    const read = family.beginRead();
    t.is(read.openTable('t').len(), 20 * 8, 'every family keeps all its rows');
    read.close();
  }
  await db.close();
});

// ---- space ----

test('the log gives its space back: after checkpoint() and after close() a real .wal holds only its header (issue 12)', async (t) => {
  const file = path.join(tempDir(t), DEFAULT_CF_FILE_NAME);
  const db = await ColumnFamilyDatabase.open(file, { pageBytes: 4096 });
  const family = await db.columnFamily('a');
  for (let i = 0; i < 200; i++) {
    const txn = await family.beginWrite();
    txn.openTable('t').insert(keyOf(i), valueOf(i, 300, 1));
    await txn.commit();
  }
  const walBytes = (): number => fs.statSync(`${file}.wal`).size;
  t.true(walBytes() > 200 * 300, `the log holds the commits first (${walBytes()} bytes)`);
  await db.checkpoint();
  t.is(walBytes(), 4096, 'after checkpoint()');
  const txn = await family.beginWrite();
  txn.openTable('t').insert(keyOf(1000), valueOf(1000, 300, 1));
  await txn.commit();
  t.true(walBytes() > 4096, 'appends start again after the header');
  await db.close();
  t.is(walBytes(), 4096, 'after close()');
  const again = await ColumnFamilyDatabase.open(file, { pageBytes: 4096 });
  const read = (await again.columnFamily('a')).beginRead();
  t.is([...read.openTable('t').range()].length, 201, 'every commit is there after the shrink');
  read.close();
  await again.close();
});
