// Opening errors say why: the OS code and path in the message, TypeErrors naming the parameter, empty files without `create`, and deleteColumnFamily refusing (BUSY) instead of waiting on the caller's own transaction.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ColumnFamilyDatabase } from '../../engine/columnFamilyDatabase.js';
import { Database } from '../../engine/database.js';
import { EngineError, ioError, osErrorCode } from '../../engine/errors.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import type { OpenOptions, Storage } from '../../engine/storage.js';
import { ForwardingVfs } from '../../fault/forwarding.js';
import { keyOf, rejectsCode, valueOf } from './engineFixtures.js';
import { turns } from './cfFixtures.js';

function tempDir(t: ExecutionContext): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-openerrors-'));
  t.teardown(() => fs.rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** A VFS whose open fails as a 0444 file does for a non-root user: the root-proof way to see EACCES. */
class DeniedVfs extends ForwardingVfs {
  override open(name: string, _options: OpenOptions): Storage {
    throw Object.assign(new Error(`EACCES: permission denied, open '${name}'`), { code: 'EACCES' });
  }
}

const openers = [
  ['Database', (target: string) => Database.open(target)],
  ['ColumnFamilyDatabase', (target: string) => ColumnFamilyDatabase.open(target)],
] as const;

for (const [label, open] of openers) {
  test(`${label}: a directory is an IO error naming EISDIR and the path`, async (t) => {
    const directory = tempDir(t);
    const target = path.join(directory, 'is-a-dir');
    fs.mkdirSync(target);
    const error = await rejectsCode(t, () => open(target), 'IO');
    t.regex(error?.message ?? '', /EISDIR/);
    t.true(error?.message.includes(target), error?.message);
  });

  test(`${label}: a 0444 file is an IO error naming EACCES and the path`, async (t) => {
    const directory = tempDir(t);
    const target = path.join(directory, 'read-only');
    fs.writeFileSync(target, '');
    fs.chmodSync(target, 0o444);
    if (process.getuid?.() === 0) {
      t.log('running as root: chmod 0444 cannot deny root, so EACCES comes from a VFS that throws it');
      const denied = new DeniedVfs(new MemoryVfs());
      const error = await rejectsCode(t, () => (label === 'Database' ? Database.open(denied) : ColumnFamilyDatabase.open(denied)), 'IO');
      t.regex(error?.message ?? '', /EACCES/);
      return;
    }
    const error = await rejectsCode(t, () => open(target), 'IO');
    t.regex(error?.message ?? '', /EACCES/);
    t.true(error?.message.includes(target), error?.message);
  });

  test(`${label}: wrong argument types are TypeErrors naming the parameter`, async (t) => {
    const call = label === 'Database' ? Database.open.bind(Database) : ColumnFamilyDatabase.open.bind(ColumnFamilyDatabase);
    const bad = call as unknown as (target: unknown, options?: unknown) => Promise<unknown>;
    const number = await t.throwsAsync(() => bad(42), { instanceOf: TypeError });
    t.regex(number.message, new RegExp(`${label}\\.open: target must be a file path .* not number 42`));
    await t.throwsAsync(() => bad(null), { instanceOf: TypeError, message: /target must be/ });
    await t.throwsAsync(() => bad({ open: () => undefined }), { instanceOf: TypeError, message: /missing remove, exists, syncDir/ });
    await t.throwsAsync(() => bad(new MemoryVfs(), 'fast'), { instanceOf: TypeError, message: /options must be an object/ });
    await t.throwsAsync(() => bad(new MemoryVfs(), { create: 'yes' }), { instanceOf: TypeError, message: /options\.create must be a boolean/ });
    await t.throwsAsync(() => bad(new MemoryVfs(), { name: 7 }), { instanceOf: TypeError, message: /options\.name must be/ });
  });

  test(`${label}: an empty file is INVALID_FORMAT with create: false and initialised by default`, async (t) => {
    const directory = tempDir(t);
    const target = path.join(directory, 'empty');
    fs.writeFileSync(target, '');
    if (label === 'ColumnFamilyDatabase') fs.writeFileSync(`${target}.wal`, '');
    const strict = label === 'Database'
      ? () => Database.open(target, { create: false })
      : () => ColumnFamilyDatabase.open(target, { create: false });
    await rejectsCode(t, strict, 'INVALID_FORMAT');
    t.is(fs.statSync(target).size, 0, 'a refused open writes nothing');
    const db = await open(target);
    t.true(fs.statSync(target).size > 0, 'the default create initialises it');
    await db.close();
  });
}

test('ioError appends the OS code found down the cause chain, and keeps typed errors', (t) => {
  const enospc = Object.assign(new Error('no space'), { code: 'ENOSPC' });
  t.is(ioError('write of /x failed', enospc).message, 'IO: write of /x failed: ENOSPC');
  t.is(ioError('write failed', new Error('plain')).message, 'IO: write failed');
  t.is(osErrorCode(new Error('outer', { cause: enospc })), 'ENOSPC');
  const typed = new EngineError('LOCKED', 'held');
  t.is(ioError('x', typed), typed);
  t.is(osErrorCode(typed), undefined, 'an EngineError code is not an OS code');
});

test('deleteColumnFamily while a write transaction of another family is open rejects at once with BUSY', async (t) => {
  const db = await ColumnFamilyDatabase.open(new MemoryVfs());
  const doomed = await db.columnFamily('doomed');
  const busy = await db.columnFamily('busy');
  const doomedTxn = await doomed.beginWrite();
  doomedTxn.openTable('t').insert(keyOf(1), valueOf(1, 32));
  await doomedTxn.commit();
  const txn = await busy.beginWrite();
  txn.openTable('t').insert(keyOf(2), valueOf(2, 32));
  // A checkpoint queued ahead waits for `busy`'s writer slot: before the fix the deletion queued
  // behind it and waited on the caller's own transaction forever.
  const checkpoint = db.checkpoint();
  let outcome: unknown = 'pending';
  db.deleteColumnFamily('doomed').then(() => { outcome = 'resolved'; }, (error: unknown) => { outcome = error; });
  await turns(20); // bounded: a prompt rejection needs a few event-loop turns, not time
  t.true(outcome instanceof EngineError && outcome.code === 'BUSY', `settled as ${String(outcome)}`);
  t.regex(String(outcome), /family busy is open/);
  await txn.commit();
  await checkpoint;
  t.true(await db.deleteColumnFamily('doomed'), 'with no open writer the deletion goes ahead');
  t.deepEqual(db.listColumnFamilies(), ['busy']);
  await db.close();
});
