// MemoryVfs: the shared storage contract, plus what only memory has (snapshots, counters, growth).
import { constants as bufferConstants } from 'node:buffer';
import test from 'ava';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { rejectsCode, storageContract, throwsCode } from './storage.contract.js';

storageContract(test, 'MemoryVfs', async () => ({ vfs: new MemoryVfs(), cleanup: async () => {} }));

test('snapshot copies every file, open or not, at its current length', (t) => {
  const vfs = new MemoryVfs();
  const open = vfs.open('open', { create: true });
  open.write(0, Uint8Array.of(1, 2, 3));
  open.setLen(2);
  const closed = vfs.open('closed', { create: true });
  closed.write(5, Uint8Array.of(9));
  closed.close();

  const snapshot = vfs.snapshot();
  t.deepEqual([...snapshot.keys()].sort(), ['closed', 'open']);
  t.deepEqual(snapshot.get('open'), Uint8Array.of(1, 2));
  t.deepEqual(snapshot.get('closed'), Uint8Array.of(0, 0, 0, 0, 0, 9));

  // Copies both ways: later writes do not reach the snapshot, and the snapshot is not the file.
  open.write(0, Uint8Array.of(7));
  snapshot.get('closed')?.fill(0xff);
  t.deepEqual(snapshot.get('open'), Uint8Array.of(1, 2));
  const reopened = vfs.open('closed', { create: false });
  t.deepEqual(reopened.read(0, 6), Uint8Array.of(0, 0, 0, 0, 0, 9));
  reopened.close();
  open.close();
});

test('fromSnapshot builds an unlocked directory of copies', (t) => {
  const bytes = Uint8Array.of(4, 5, 6);
  const vfs = MemoryVfs.fromSnapshot(new Map([['db', bytes], ['empty', new Uint8Array(0)]]));
  bytes.fill(0);
  t.true(vfs.exists('db'));
  const file = vfs.open('db', { create: false });
  t.deepEqual(file.read(0, 3), Uint8Array.of(4, 5, 6));
  file.write(3, Uint8Array.of(7)); // Grows past the snapshot's exact-size buffer.
  t.deepEqual(file.read(0, 4), Uint8Array.of(4, 5, 6, 7));
  file.close();
  t.is(vfs.open('empty', { create: false }).len(), 0);
  t.deepEqual(MemoryVfs.fromSnapshot(vfs.snapshot()).snapshot(), vfs.snapshot());
});

test('fromSnapshot rejects bad names and non-byte contents', (t) => {
  t.throws(() => MemoryVfs.fromSnapshot(new Map([['a/b', new Uint8Array(0)]])), { instanceOf: TypeError });
  const notBytes = new Map([['a', [1] as unknown as Uint8Array]]);
  t.throws(() => MemoryVfs.fromSnapshot(notBytes), { instanceOf: TypeError });
});

test('syncCount and syncDirCount count completed syncs', async (t) => {
  const vfs = new MemoryVfs();
  const file = vfs.open('a', { create: true });
  t.is(file.syncCount, 0);
  const pending = file.sync();
  t.is(file.syncCount, 0); // Not complete until awaited.
  await pending;
  await file.sync();
  t.is(file.syncCount, 2);
  await vfs.syncDir();
  t.is(vfs.syncDirCount, 1);
  file.close();
  await rejectsCode(t, () => file.sync(), 'CLOSED');
  t.is(file.syncCount, 2);
});

test('many small appends grow the buffer and keep every byte', (t) => {
  const file = new MemoryVfs().open('a', { create: true });
  const expected: number[] = [];
  for (let index = 0; index < 3000; index++) {
    const chunk = Uint8Array.from({ length: index % 17 }, (_, at) => (index + at) & 0xff);
    file.write(file.len(), chunk);
    expected.push(...chunk);
  }
  t.is(file.len(), expected.length);
  t.deepEqual(file.read(0, file.len()), Uint8Array.from(expected));
  file.close();
});

// Only where V8 refuses such a typed array outright; elsewhere this would really allocate 8 GiB.
const refusesHugeArrays = bufferConstants.MAX_LENGTH < 2 ** 33;
(refusesHugeArrays ? test : test.skip)('growing past what memory can hold throws IO', (t) => {
  const file = new MemoryVfs().open('a', { create: true });
  file.write(0, Uint8Array.of(1));
  throwsCode(t, () => file.setLen(2 ** 33), 'IO');
  t.is(file.len(), 1);
  t.deepEqual(file.read(0, 1), Uint8Array.of(1));
  file.close();
});
