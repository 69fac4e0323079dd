// fault/traceLint.ts: what each acked transaction left not durable, under posix and ext4, for the lowdb pattern, the correct pattern and a few in between.
import test from 'ava';
import { lintAcks } from '../../fault/traceLint.js';
import { FS_MODELS } from '../../fault/traceCrash.js';
import type { TraceEvent } from '../../fault/trace.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const issued = (txn: number): TraceEvent => ({ kind: 'marker', marker: 'issued', txn });
const acked = (txn: number): TraceEvent => ({ kind: 'marker', marker: 'acked', txn });
const create = (path: string, ino: number): TraceEvent => ({ kind: 'create', path, ino });
const write = (ino: number, text: string): TraceEvent => ({ kind: 'write', ino, offsetBytes: 0, data: bytes(text) });
const fsync = (ino: number): TraceEvent => ({ kind: 'fsync', ino, dataOnly: false });
const rename = (from: string, to: string): TraceEvent => ({ kind: 'rename', from, to });

/** db.json created and synced properly before transaction 3. */
const setup: TraceEvent[] = [create('db.json', 1), write(1, '{}'), fsync(1), fsync(0)];

test('the lowdb pattern (writeFile tmp, rename, no fsync) lists the unsynced data and the unsynced rename', (t) => {
  const events = [...setup, issued(3), create('.db.json.tmp', 2), write(2, '{"a":1}'), rename('.db.json.tmp', 'db.json'), acked(3)];
  const posix = lintAcks(events, 'posix');
  t.is(posix.length, 1);
  t.is(posix[0]!.txn, 3);
  const items = posix[0]!.items;
  t.deepEqual(items.map((item) => item.kind).sort(), ['data', 'name', 'name', 'renameData']);
  const data = items.find((item) => item.kind === 'data')!;
  t.is(data.path, 'db.json');
  t.is(data.bytesUnsynced, 7);
  const renamed = items.find((item) => item.kind === 'name' && item.path.includes('→'))!;
  t.is(renamed.explanation, "rename .db.json.tmp → db.json (txn 3): the directory '' was never fsynced after it");
  t.regex(items.find((item) => item.kind === 'renameData')!.explanation, /7 bytes of \.db\.json\.tmp were not fsynced before the rename/);

  const ext4 = lintAcks(events, 'ext4')[0]!.items;
  t.true(ext4.some((item) => item.kind === 'name' && item.explanation.includes('committed the journal after it')));
  t.true(ext4.some((item) => item.kind === 'data' && item.explanation.includes('auto_da_alloc')));
  t.false(ext4.some((item) => item.kind === 'renameData'), 'ext4 forces the data out with a rename over an existing file');
});

test('the correct pattern (write tmp, fsync tmp, rename, fsync dir) lists nothing under either model', (t) => {
  const events = [...setup, issued(0), create('tmp', 2), write(2, 'new'), fsync(2), rename('tmp', 'db.json'), fsync(0), acked(0)];
  for (const model of FS_MODELS) t.deepEqual(lintAcks(events, model), [{ txn: 0, ackIndex: events.length - 1, items: [] }]);
});

test('a file fsync without a directory fsync: posix lists the create, ext4 nothing', (t) => {
  const events = [issued(0), create('f', 1), write(1, 'x'), fsync(1), acked(0)];
  const posix = lintAcks(events, 'posix')[0]!.items;
  t.deepEqual(posix.map((item) => item.explanation), ["create f (txn 0): the directory '' was never fsynced after it"]);
  t.deepEqual(lintAcks(events, 'ext4')[0]!.items, []);
});

test('ext4: a new file written without fsync and an unrelated fsync: the data may be zero-length; a rename to a new name is not forced', (t) => {
  const events = [issued(0), create('a', 1), write(1, 'aaaa'), create('b', 2), write(2, 'b'), fsync(2), rename('a', 'c'), fsync(2), acked(0)];
  const items = lintAcks(events, 'ext4')[0]!.items;
  const data = items.filter((item) => item.kind === 'data');
  t.deepEqual(data.map((item) => item.path), ['c']);
  t.regex(data[0]!.explanation, /delayed allocation/);
  t.regex(items.find((item) => item.kind === 'renameData')!.explanation, /auto_da_alloc does not force them out/);
});

test('every acked marker gets an entry, items named by the txn that made them', (t) => {
  const events = [issued(0), create('a', 1), acked(0), issued(1), create('b', 2), fsync(0), acked(1)];
  const lints = lintAcks(events, 'posix');
  t.deepEqual(lints.map((lint) => lint.txn), [0, 1]);
  t.deepEqual(lints[0]!.items.map((item) => item.txn), [0]);
  t.deepEqual(lints[1]!.items, [], 'the directory fsync made both creates durable');
});

test('ext4: a truncate alone is explained as uncommitted metadata; a synced rename source gives no renameData item', (t) => {
  const events = [...setup, issued(0), { kind: 'truncate', ino: 1, sizeBytes: 1 } as TraceEvent, acked(0),
    issued(1), create('tmp', 2), write(2, 'x'), fsync(2), rename('tmp', 'other'), acked(1)];
  const [first, second] = lintAcks(events, 'ext4');
  t.deepEqual(first!.items.map((item) => item.explanation), ['data of db.json (txn 0): 0 bytes written and 1 truncate(s) not durable: a truncate is journalled metadata, and no fsync of anything committed the journal after it']);
  t.deepEqual(second!.items.map((item) => item.kind), ['name'], 'the fsync of tmp committed the truncate and the create');
});
