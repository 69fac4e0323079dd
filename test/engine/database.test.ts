// database.ts: the lifecycle of a database (open, create, reopen, lock, close), its transactions' isolation and ordering, and its I/O failure rules.
import { maxTableNameBytes } from '../../engine/catalog.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Database } from '../../engine/database.js';
import { EngineError } from '../../engine/errors.js';
import { FileVfs } from '../../engine/fileVfs.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { Layout } from '../../engine/node.js';
import type { WriteTransaction } from '../../engine/transaction.js';
import {
  commitEntries, dumpDatabase, FlakyVfs, hex, keyOf, rejectsCode, settle, throwsCode, valueOf, type Dump,
} from './engineFixtures.js';

const NAME = 'crashlab.db';

function tempDir(t: ExecutionContext): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-db-'));
  t.teardown(() => fs.rmSync(directory, { recursive: true, force: true }));
  return directory;
}

function valueIn(db: Database, table: string, key: number): string | undefined {
  const reader = db.beginRead();
  try {
    const value = reader.openTable(table).get(keyOf(key));
    return value === undefined ? undefined : hex(value);
  } finally {
    reader.close();
  }
}

test('create, commit, close and reopen on MemoryVfs', async (t) => {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs, { pageBytes: 1024 });
  t.true(vfs.exists(NAME));
  t.is(db.stats().committedTxnId, 1, 'a new database starts at txn 1');
  t.deepEqual(dumpDatabase(db), {});
  await rejectsCode(t, () => Database.open(vfs), 'LOCKED');
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)], [keyOf(2), valueOf(2, 3000)]]);
  const expected = dumpDatabase(db);
  await db.close();

  const reopened = await Database.open(vfs);
  t.is(reopened.layout.pageBytes, 1024, 'the file\'s page size, not the default');
  t.deepEqual(dumpDatabase(reopened), expected);
  t.is(reopened.stats().committedTxnId, 2);
  t.is(reopened.stats().durableTxnId, 2);
  t.true(reopened.checkIntegrity().ok);
  await reopened.close();

  await rejectsCode(t, () => Database.open(vfs, { name: 'missing.db', create: false }), 'NOT_FOUND');
  t.false(vfs.exists('missing.db'));
});

test('reopening with a different pageBytes option keeps the file\'s own page size', async (t) => {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs, { pageBytes: 1024 });
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]]);
  await db.close();
  for (const pageBytes of [512, 4096]) {
    const reopened = await Database.open(vfs, { pageBytes }).catch((error: unknown) => error as Error);
    if (!(reopened instanceof Database)) {
      t.fail(`opening with pageBytes ${pageBytes}: ${reopened.message}`);
      continue;
    }
    t.is(reopened.layout.pageBytes, 1024);
    t.is(valueIn(reopened, 't', 1), hex(valueOf(1, 10)));
    await reopened.close();
  }
});

test('open, reopen and lock on real files, by path string and by FileVfs', async (t) => {
  const directory = tempDir(t);
  const filePath = path.join(directory, 'data.db');
  const db = await Database.open(filePath, { pageBytes: 512 });
  await commitEntries(db, 't', Array.from({ length: 100 }, (_, i) => [keyOf(i), valueOf(i, 200)]));
  const expected = dumpDatabase(db);

  // A second handle on the same file is refused at once, and the first one keeps working.
  await rejectsCode(t, () => Database.open(filePath), 'LOCKED');
  await rejectsCode(t, () => Database.open(new FileVfs(directory), { name: 'data.db' }), 'LOCKED');
  await commitEntries(db, 't', [[keyOf(1000), valueOf(1000, 5)]]);
  t.is(valueIn(db, 't', 1000), hex(valueOf(1000, 5)));
  await db.close();

  const size = fs.statSync(filePath).size;
  t.is(size % 512, 0, 'the file is whole pages');
  const reopened = await Database.open(new FileVfs(directory), { name: 'data.db' });
  t.deepEqual(dumpDatabase(reopened).t?.length, expected.t!.length + 1);
  t.is(valueIn(reopened, 't', 1000), hex(valueOf(1000, 5)));
  t.true(reopened.checkIntegrity().ok);
  await reopened.close();

  // Once closed, the lock is gone.
  const again = await Database.open(filePath);
  await again.close();
  await rejectsCode(t, () => Database.open(path.join(directory, 'no-such-dir', 'x.db')), 'NOT_FOUND');
});

test('snapshot isolation: a reader never sees a commit made after it began', async (t) => {
  const db = await Database.open(new MemoryVfs());
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]]);
  const before = db.beginRead();
  const beforeTable = before.openTable('t');

  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10, 1)], [keyOf(2), valueOf(2, 10)]]);
  await commitEntries(db, 'u', [[keyOf(3), valueOf(3, 10)]], 'none');
  const txn = await db.beginWrite();
  txn.openTable('t').remove(keyOf(1));
  t.deepEqual(before.listTables(), ['t']);
  t.is(hex(beforeTable.get(keyOf(1))!), hex(valueOf(1, 10)));
  t.is(beforeTable.get(keyOf(2)), undefined);
  t.is(beforeTable.len(), 1);
  throwsCode(t, () => before.openTable('u'), 'NOT_FOUND');

  // An uncommitted change is invisible; a none commit is visible to readers that begin after it.
  const after = db.beginRead();
  t.deepEqual(after.listTables(), ['t', 'u']);
  t.is(hex(after.openTable('t').get(keyOf(1))!), hex(valueOf(1, 10, 1)));
  await txn.commit();
  t.is(hex(after.openTable('t').get(keyOf(1))!), hex(valueOf(1, 10, 1)));
  t.is(valueIn(db, 't', 1), undefined);
  before.close();
  after.close();
  t.throws(() => beforeTable.get(keyOf(1)), { instanceOf: TypeError }, 'a closed reader is finished');
  await db.close();
});

test('a reader begun while an immediate commit is in flight sees the state before it', async (t) => {
  const flaky = new FlakyVfs(new MemoryVfs());
  const db = await Database.open(flaky);
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]]);
  flaky.holdSyncs = true;
  const txn = await db.beginWrite();
  txn.openTable('t').insert(keyOf(1), valueOf(1, 10, 1));
  const committing = txn.commit();
  await settle();
  t.is(valueIn(db, 't', 1), hex(valueOf(1, 10)), 'not yet durable, not yet visible');
  flaky.holdSyncs = false;
  while (flaky.heldSyncs.length > 0) {
    flaky.heldSyncs.shift()!.release();
    await settle();
  }
  await committing;
  t.is(valueIn(db, 't', 1), hex(valueOf(1, 10, 1)));
  await db.close();
});

test('one writer at a time, served first come first served', async (t) => {
  const db = await Database.open(new MemoryVfs());
  const order: string[] = [];
  const first = await db.beginWrite();
  const track = (name: string, pending: Promise<WriteTransaction>): Promise<WriteTransaction> =>
    pending.then((txn) => { order.push(name); return txn; });
  const second = track('second', db.beginWrite());
  const third = track('third', db.beginWrite());
  await settle();
  t.deepEqual(order, [], 'both wait while the first is open');
  first.openTable('t').insert(keyOf(1), valueOf(1, 10));
  await first.commit();
  const secondTxn = await second;
  await settle();
  t.deepEqual(order, ['second'], 'the third still waits');
  t.is(hex(secondTxn.openTable('t').get(keyOf(1))!), hex(valueOf(1, 10)), 'the next writer starts from the last commit');
  secondTxn.abort();
  const thirdTxn = await third;
  t.deepEqual(order, ['second', 'third']);
  t.is(thirdTxn.txnId, 3);
  await thirdTxn.commit();
  t.is(db.stats().committedTxnId, 3);
  await db.close();
});

test('abort discards every change, including tables it created, and returns its pages', async (t) => {
  const db = await Database.open(new MemoryVfs(), { pageBytes: 512 });
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]]);
  const expected = dumpDatabase(db);
  const pageCount = db.stats().pageCount;
  for (let round = 0; round < 5; round++) {
    const txn = await db.beginWrite();
    for (let i = 0; i < 200; i++) txn.openTable('t').insert(keyOf(i), valueOf(i, 100, round));
    txn.openTable('new').insert(keyOf(1), valueOf(1, 10));
    t.true(txn.deleteTable('t'));
    txn.abort();
    txn.abort(); // Idempotent.
    t.throws(() => txn.openTable('t'), { instanceOf: TypeError });
  }
  t.deepEqual(dumpDatabase(db), expected);
  const report = db.checkIntegrity();
  t.true(report.ok, report.problems.join('; '));
  // Aborted pages are reused by the next transaction: five aborts cost no more than one.
  const grown = db.stats().pageCount;
  t.true(grown - pageCount <= 200, `page count grew by ${grown - pageCount}`);
  const txn = await db.beginWrite();
  for (let i = 0; i < 200; i++) txn.openTable('t').insert(keyOf(i), valueOf(i, 100, 9));
  txn.abort();
  t.is(db.stats().pageCount, grown);
  await db.close();
});

test('listTables and deleteTable, within a transaction and across commits', async (t) => {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs, { pageBytes: 512 });
  const txn = await db.beginWrite();
  for (const name of ['beta', 'alpha', 'Zed', 'é']) txn.openTable(name).insert(keyOf(1), valueOf(1, 2000));
  t.deepEqual(txn.listTables(), ['Zed', 'alpha', 'beta', 'é'], 'catalog order is UTF-8 byte order');
  await txn.commit();
  const withAll = db.checkIntegrity();

  const reader = db.beginRead();
  const deleting = await db.beginWrite();
  const handle = deleting.openTable('beta');
  t.true(deleting.deleteTable('beta'));
  t.false(deleting.deleteTable('beta'));
  t.false(deleting.deleteTable('never'));
  throwsCode(t, () => handle.get(keyOf(1)), 'NOT_FOUND');
  t.deepEqual(deleting.listTables(), ['Zed', 'alpha', 'é']);
  // Re-created in the same transaction: a new, empty table.
  t.is(deleting.openTable('alpha').len(), 1);
  t.true(deleting.deleteTable('alpha'));
  t.is(deleting.openTable('alpha').len(), 0);
  await deleting.commit();

  t.deepEqual(reader.listTables(), ['Zed', 'alpha', 'beta', 'é'], 'an older reader still has every table');
  t.is(hex(reader.openTable('beta').get(keyOf(1))!), hex(valueOf(1, 2000)));
  reader.close();
  const fresh = db.beginRead();
  t.deepEqual(fresh.listTables(), ['Zed', 'alpha', 'é']);
  throwsCode(t, () => fresh.openTable('beta'), 'NOT_FOUND');
  fresh.close();
  const report = db.checkIntegrity();
  t.true(report.ok, report.problems.join('; '));
  t.true(report.reachablePages < withAll.reachablePages, 'the deleted tables\' pages are no longer reachable');
  t.throws(() => (db.beginRead() as unknown as { openTable(name: unknown): unknown }).openTable(''), { instanceOf: TypeError });
  await db.close();

  const reopened = await Database.open(vfs);
  t.deepEqual(reopened.beginRead().listTables(), ['Zed', 'alpha', 'é']);
  t.true(reopened.checkIntegrity().ok);
  await reopened.close();
});

// A catalog entry is the name plus a 16-byte meta: near the key limit it no longer fits inline.
test('a table name of every accepted length survives commit and reopen, at small pages too', async (t) => {
  for (const pageBytes of [512, 1024]) {
    const limitBytes = maxTableNameBytes(new Layout(pageBytes));
    for (const nameBytes of [1, limitBytes - 1, limitBytes]) {
      const vfs = new MemoryVfs();
      const db = await Database.open(vfs, { pageBytes });
      const name = 'n'.repeat(nameBytes);
      await commitEntries(db, name, [[keyOf(1), valueOf(1, 10)]]);
      const report = db.checkIntegrity();
      t.true(report.ok, `${pageBytes}-byte pages, ${nameBytes}-byte name: ${report.problems.join('; ')}`);
      await db.close();
      const reopened = await Database.open(vfs).catch((error: unknown) => error as Error);
      if (reopened instanceof Database) {
        t.is(valueIn(reopened, name, 1), hex(valueOf(1, 10)));
        await reopened.close();
      } else {
        t.fail(`${pageBytes}-byte pages, ${nameBytes}-byte name: reopen failed: ${reopened.message}`);
      }
    }
    // One byte more would push the catalog entry to an overflow page: refused up front.
    const db = await Database.open(new MemoryVfs(), { pageBytes });
    const txn = await db.beginWrite();
    t.throws(() => txn.openTable('n'.repeat(limitBytes + 1)), { instanceOf: TypeError });
    txn.abort();
    await db.close();
  }
});

test('durability none: visible at once, made durable by close', async (t) => {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs);
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]], 'none');
  await commitEntries(db, 't', [[keyOf(2), valueOf(2, 5000)]], 'none');
  t.is(db.stats().committedTxnId, 3);
  t.is(db.stats().durableTxnId, 1);
  t.is(valueIn(db, 't', 2), hex(valueOf(2, 5000)));
  const expected = dumpDatabase(db);
  await db.close();
  const reopened = await Database.open(vfs);
  t.deepEqual(dumpDatabase(reopened), expected);
  t.is(reopened.stats().durableTxnId, 3);
  await reopened.close();
});

test('durability none then a crash: the none commits may be lost, the immediate commit before them is not', async (t) => {
  for (const writeBufferBytes of [32 * 1024 * 1024, 4 * 512]) {
    const vfs = new MemoryVfs();
    const db = await Database.open(vfs, { pageBytes: 512, writeBufferBytes });
    const states: Dump[] = [];
    await commitEntries(db, 't', Array.from({ length: 100 }, (_, i) => [keyOf(i), valueOf(i, 50)]));
    states.push(dumpDatabase(db));
    for (let round = 1; round <= 3; round++) {
      await commitEntries(db, 't', Array.from({ length: 100 }, (_, i) => [keyOf(i), valueOf(i, 50, round)]), 'none');
      states.push(dumpDatabase(db));
    }
    // The crash: the file as it is now, without the close that would persist the none commits.
    const crashed = await Database.open(MemoryVfs.fromSnapshot(vfs.snapshot()));
    t.deepEqual(dumpDatabase(crashed), states[0], `write buffer ${writeBufferBytes}: the durable state, exactly`);
    const report = crashed.checkIntegrity();
    t.true(report.ok, report.problems.join('; '));
    await crashed.close();
    await db.close();
  }
});

/** Opens a database on a FlakyVfs and commits one acknowledged state. */
async function flakyDatabase(): Promise<{ flaky: FlakyVfs; db: Database; acknowledged: Dump }> {
  const flaky = new FlakyVfs(new MemoryVfs());
  const db = await Database.open(flaky, { pageBytes: 512 });
  await commitEntries(db, 't', Array.from({ length: 50 }, (_, i) => [keyOf(i), valueOf(i, 30)]));
  return { flaky, db, acknowledged: dumpDatabase(db) };
}

/** After an I/O failure, every entry point refuses with PREVIOUS_IO, and close still releases the file. */
async function assertPoisoned(t: ExecutionContext, db: Database, reader: ReturnType<Database['beginRead']>): Promise<void> {
  await rejectsCode(t, () => db.beginWrite(), 'PREVIOUS_IO');
  throwsCode(t, () => db.beginRead(), 'PREVIOUS_IO');
  throwsCode(t, () => db.checkIntegrity(), 'PREVIOUS_IO');
  throwsCode(t, () => reader.openTable('t'), 'PREVIOUS_IO');
  const error = throwsCode(t, () => db.beginRead(), 'PREVIOUS_IO');
  t.true(error?.cause instanceof EngineError, 'the first failure is kept as the cause');
  await db.close();
  throwsCode(t, () => db.beginRead(), 'CLOSED');
}

test('a failed fsync at commit rejects with IO, poisons the handle, and a reopen finds the last acknowledged commit', async (t) => {
  const { flaky, db, acknowledged } = await flakyDatabase();
  const reader = db.beginRead();
  flaky.failSyncs = true;
  const txn = await db.beginWrite();
  txn.openTable('t').insert(keyOf(1000), valueOf(1000, 30));
  await rejectsCode(t, () => txn.commit(), 'IO');
  await assertPoisoned(t, db, reader);
  const reopened = await Database.open(flaky.base);
  t.deepEqual(dumpDatabase(reopened), acknowledged);
  t.true(reopened.checkIntegrity().ok);
  await reopened.close();
});

test('a failed fsync after the slot write: the reopened database holds the failed commit or the one before, whole', async (t) => {
  const { flaky, db, acknowledged } = await flakyDatabase();
  const reader = db.beginRead();
  flaky.syncsBeforeFailure = 1; // The page fsync succeeds; the slot fsync fails.
  const txn = await db.beginWrite();
  for (let i = 0; i < 50; i++) txn.openTable('t').insert(keyOf(i), valueOf(i, 30, 1));
  await rejectsCode(t, () => txn.commit(), 'IO');
  await assertPoisoned(t, db, reader);
  const reopened = await Database.open(flaky.base);
  const recovered = dumpDatabase(reopened);
  const failed: Dump = { t: Array.from({ length: 50 }, (_, i) => [hex(keyOf(i)), hex(valueOf(i, 30, 1))]) };
  t.true(JSON.stringify(recovered) === JSON.stringify(acknowledged) || JSON.stringify(recovered) === JSON.stringify(failed));
  t.true(reopened.checkIntegrity().ok);
  await reopened.close();
});

test('a failed write at commit rejects with IO and poisons the handle', async (t) => {
  const { flaky, db, acknowledged } = await flakyDatabase();
  const reader = db.beginRead();
  flaky.failWrites = true;
  const txn = await db.beginWrite();
  txn.openTable('t').insert(keyOf(1000), valueOf(1000, 30));
  await rejectsCode(t, () => txn.commit(), 'IO');
  await assertPoisoned(t, db, reader);
  const reopened = await Database.open(flaky.base);
  t.deepEqual(dumpDatabase(reopened), acknowledged);
  await reopened.close();
});

test('a failed write during eviction fails the insert with IO; the transaction and the handle refuse further work', async (t) => {
  const flaky = new FlakyVfs(new MemoryVfs());
  const db = await Database.open(flaky, { pageBytes: 512, writeBufferBytes: 4 * 512 });
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 30)]]);
  const acknowledged = dumpDatabase(db);
  const reader = db.beginRead();
  const txn = await db.beginWrite();
  flaky.failWrites = true;
  const table = txn.openTable('t');
  const error = t.throws(() => {
    // Overflow values: their pages enter the write buffer during the transaction, not only at commit.
    for (let i = 0; i < 1000; i++) table.insert(keyOf(i), valueOf(i, 300));
  }, { instanceOf: EngineError });
  t.is(error?.code, 'IO');
  throwsCode(t, () => table.insert(keyOf(5000), valueOf(1, 1)), 'PREVIOUS_IO');
  await rejectsCode(t, () => txn.commit(), 'PREVIOUS_IO');
  // Refused before it began, that commit left the transaction open: abort releases the writer slot.
  txn.abort();
  await assertPoisoned(t, db, reader);
  const reopened = await Database.open(flaky.base);
  t.deepEqual(dumpDatabase(reopened), acknowledged);
  await reopened.close();
});

test('a closed database refuses work with CLOSED; close is idempotent; close with an open writer is misuse', async (t) => {
  const db = await Database.open(new MemoryVfs());
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]]);
  const reader = db.beginRead();
  const table = reader.openTable('t');
  const txn = await db.beginWrite();
  await t.throwsAsync(() => db.close(), { instanceOf: TypeError });
  txn.abort();
  await db.close();
  await db.close();
  await rejectsCode(t, () => db.beginWrite(), 'CLOSED');
  throwsCode(t, () => db.beginRead(), 'CLOSED');
  throwsCode(t, () => db.checkIntegrity(), 'CLOSED');
  throwsCode(t, () => table.get(keyOf(1)), 'CLOSED');
  reader.close(); // Closing a reader after the database is harmless.
});

test('writers waiting when the database closes are rejected with CLOSED', async (t) => {
  const db = await Database.open(new MemoryVfs());
  const first = await db.beginWrite();
  const second = db.beginWrite();
  const third = db.beginWrite();
  first.abort();
  await db.close();
  await rejectsCode(t, () => second, 'CLOSED');
  await rejectsCode(t, () => third, 'CLOSED');
});

test('writers waiting when the database closes are rejected with CLOSED, also while close persists a none commit', async (t) => {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs);
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]], 'none');
  const first = await db.beginWrite();
  const second = db.beginWrite();
  first.abort();
  const closing = db.close();
  const outcome = await second.then((txn) => `acquired txn ${txn.txnId} during close`, (error: unknown) => error);
  await closing;
  t.true(outcome instanceof EngineError && outcome.code === 'CLOSED', String(outcome));
});

test('two concurrent closes with a none commit pending both resolve', async (t) => {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs);
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]], 'none');
  const results = await Promise.allSettled([db.close(), db.close()]);
  t.deepEqual(results.map((result) => (result.status === 'rejected' ? String(result.reason) : 'ok')), ['ok', 'ok']);
  const reopened = await Database.open(MemoryVfs.fromSnapshot(vfs.snapshot()));
  t.is(valueIn(reopened, 't', 1), hex(valueOf(1, 10)));
  await reopened.close();
});

// fdatasync completions come back from a thread pool in any order; here the test picks the order.
test('an acknowledged commit is never lost to a close that persists a none commit concurrently', async (t) => {
  const flaky = new FlakyVfs(new MemoryVfs());
  const db = await Database.open(flaky);
  await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]]);
  await commitEntries(db, 't', [[keyOf(2), valueOf(2, 10)]], 'none');
  const first = await db.beginWrite();
  const waiting = db.beginWrite();
  flaky.holdSyncs = true;
  first.abort();
  const closing = db.close().then(() => 'closed', (error: unknown) => `close failed: ${String(error)}`);
  // Resolves to whether the waiting writer's commit was acknowledged (false if it never got to commit).
  const acknowledged = waiting.then((txn) => {
    txn.openTable('t').insert(keyOf(3), valueOf(3, 10));
    return txn.commit().then(() => true, () => false);
  }, () => false);
  // Release held fsyncs newest first, until none is left.
  for (let rounds = 0; rounds < 100; rounds++) {
    await settle();
    const held = flaky.heldSyncs.splice(0);
    if (held.length === 0) break;
    for (const heldSync of held.reverse()) {
      heldSync.release();
      await settle();
    }
  }
  flaky.holdSyncs = false;
  t.log(await closing);
  const wasAcknowledged = await acknowledged;
  t.log(`the waiting writer's commit ${wasAcknowledged ? 'was' : 'was not'} acknowledged`);
  const recovered = await Database.open(MemoryVfs.fromSnapshot((flaky.base as MemoryVfs).snapshot()));
  if (wasAcknowledged) t.is(valueIn(recovered, 't', 3), hex(valueOf(3, 10)), 'the acknowledged commit of key 3 is in the file');
  t.is(valueIn(recovered, 't', 1), hex(valueOf(1, 10)));
  t.true(recovered.checkIntegrity().ok);
  await recovered.close();
});

test('an empty or all-zero file is an unfinished creation and gets initialized', async (t) => {
  for (const bytes of [new Uint8Array(0), new Uint8Array(4096), new Uint8Array(512), new Uint8Array(65536)]) {
    const vfs = MemoryVfs.fromSnapshot(new Map([[NAME, bytes]]));
    const db = await Database.open(vfs, { pageBytes: 1024 });
    t.is(db.layout.pageBytes, 1024, `${bytes.length} zero bytes`);
    await commitEntries(db, 't', [[keyOf(1), valueOf(1, 10)]]);
    await db.close();
    const reopened = await Database.open(vfs);
    t.is(valueIn(reopened, 't', 1), hex(valueOf(1, 10)));
    await reopened.close();
  }
});

test('a foreign file is INVALID_FORMAT and is left byte for byte unchanged', async (t) => {
  // Deterministic noise (valueOf), so a failure replays.
  const foreign = [
    valueOf(1, 5000),
    valueOf(2, 70_000),
    Buffer.concat([Buffer.from('SQLite format 3\0'), valueOf(3, 4080)]),
    new Uint8Array(70_000), // Zeros, but longer than any page: maybe preallocated, never ours to wipe.
  ];
  for (const bytes of foreign) {
    const vfs = MemoryVfs.fromSnapshot(new Map([[NAME, new Uint8Array(bytes)]]));
    await rejectsCode(t, () => Database.open(vfs), 'INVALID_FORMAT');
    t.true(Buffer.from(vfs.snapshot().get(NAME)!).equals(Buffer.from(bytes)), `${bytes.length} bytes unchanged`);
    // The failed open released the file.
    vfs.open(NAME, { create: false }).close();
  }
  const directory = tempDir(t);
  const filePath = path.join(directory, 'notes.db');
  const bytes = Buffer.from(valueOf(4, 10_000));
  fs.writeFileSync(filePath, bytes);
  await rejectsCode(t, () => Database.open(filePath), 'INVALID_FORMAT');
  t.true(fs.readFileSync(filePath).equals(bytes));
});

test('a short foreign file (a few bytes of text) is INVALID_FORMAT, not CORRUPTION', async (t) => {
  const bytes = new TextEncoder().encode('hello world\n');
  const vfs = MemoryVfs.fromSnapshot(new Map([[NAME, bytes]]));
  await rejectsCode(t, () => Database.open(vfs), 'INVALID_FORMAT');
  t.deepEqual(vfs.snapshot().get(NAME), bytes);
});

test('invalid options are TypeError, and a refused open creates no file', async (t) => {
  const vfs = new MemoryVfs();
  for (const options of [{ pageBytes: 1000 }, { pageBytes: 256 }, { pageBytes: 131072 }, { evictionHighWater: 0 },
    { evictionHighWater: 0.5, evictionLowWater: 0.6 }, { writeBufferBytes: -1 }, { readCacheBytes: 1.5 }]) {
    await t.throwsAsync(() => Database.open(vfs, options), { instanceOf: TypeError }, JSON.stringify(options));
  }
  t.false(vfs.exists(NAME));
});

test('a write buffer smaller than one page is TypeError (misuse), not IO', async (t) => {
  const vfs = new MemoryVfs();
  const error = await t.throwsAsync(() => Database.open(vfs, { pageBytes: 4096, writeBufferBytes: 1000 }));
  t.true(error instanceof TypeError, `got ${String(error)}`);
});
