// SortedMapModel: the oracle itself behaves as the engine's logical API promises.
import test from 'ava';
import { compareBytes, SortedMapModel } from '../../model/sortedMapModel.js';

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const keysOf = (entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): number[][] => entries.map(([key]) => [...key]);

test('compareBytes is unsigned lexicographic with prefixes first', (t) => {
  t.is(compareBytes(b(), b()), 0);
  t.is(compareBytes(b(), b(0)), -1);
  t.is(compareBytes(b(1, 2), b(1, 2)), 0);
  t.is(compareBytes(b(1, 2), b(1, 2, 0)), -1);
  t.is(compareBytes(b(0x7f), b(0x80)), -1); // Unsigned: a signed compare gets this backwards.
  t.is(compareBytes(b(0xff), b(0x00, 0xff)), 1);
});

test('insert, replace, get, remove and len', (t) => {
  const model = new SortedMapModel();
  const w = model.beginWrite();
  t.true(w.createTable('t'));
  t.false(w.createTable('t'));
  t.false(w.insert('t', b(2), b(20)));
  t.false(w.insert('t', b(), b()));
  t.true(w.insert('t', b(2), b(21)));
  t.deepEqual(w.get('t', b(2)), b(21));
  t.deepEqual(w.get('t', b()), b());
  t.is(w.get('t', b(3)), undefined);
  t.is(w.len('t'), 2);
  t.true(w.remove('t', b(2)));
  t.false(w.remove('t', b(2)));
  t.is(w.len('t'), 1);
});

test('values are copied in and out', (t) => {
  const w = new SortedMapModel().beginWrite();
  w.createTable('t');
  const value = b(1, 2, 3);
  w.insert('t', b(1), value);
  value[0] = 9;
  const read = w.get('t', b(1))!;
  read[1] = 9;
  t.deepEqual(w.get('t', b(1)), b(1, 2, 3));
});

test('range is start-inclusive, end-exclusive, optionally reversed', (t) => {
  const w = new SortedMapModel().beginWrite();
  w.createTable('t');
  for (const key of [[0xff], [0x00], [0x61], [0x61, 0x00], [0x80]]) w.insert('t', b(...key), b(key.length));
  t.deepEqual(keysOf(w.range('t')), [[0x00], [0x61], [0x61, 0x00], [0x80], [0xff]]);
  t.deepEqual(keysOf(w.range('t', b(0x61), b(0x80))), [[0x61], [0x61, 0x00]]);
  t.deepEqual(keysOf(w.range('t', b(0x61), b(0x80), true)), [[0x61, 0x00], [0x61]]);
  t.deepEqual(keysOf(w.range('t', b(0x62))), [[0x80], [0xff]]);
  t.deepEqual(keysOf(w.range('t', undefined, b(0x61, 0x00))), [[0x00], [0x61]]);
  t.deepEqual(w.range('t', b(0x80), b(0x61)), []); // An empty interval, not an error.
  t.deepEqual(w.range('t', b(0x80), b(0x80)), []);
});

test('clear and deleteTable', (t) => {
  const w = new SortedMapModel().beginWrite();
  w.createTable('t');
  w.insert('t', b(1), b(1));
  w.clear('t');
  t.is(w.len('t'), 0);
  t.true(w.hasTable('t'));
  t.true(w.deleteTable('t'));
  t.false(w.deleteTable('t'));
  t.false(w.hasTable('t'));
});

test('listTables sorts by UTF-8 bytes, not UTF-16 code units', (t) => {
  const w = new SortedMapModel().beginWrite();
  // U+1F600 is a surrogate pair (0xD83D...) in UTF-16, below U+FFFD there, but F0... in UTF-8.
  for (const name of ['\u{1F600}', '\uFFFD', 'b', 'a']) w.createTable(name);
  t.deepEqual(w.listTables(), ['a', 'b', '\uFFFD', '\u{1F600}']);
});

test('commit publishes, abort discards', (t) => {
  const model = new SortedMapModel();
  const first = model.beginWrite();
  first.createTable('t');
  first.insert('t', b(1), b(1));
  first.commit();
  t.is(model.commits, 1);
  const second = model.beginWrite();
  second.insert('t', b(2), b(2));
  second.deleteTable('t');
  second.abort();
  t.false(model.writeOpen);
  t.deepEqual(keysOf(model.beginRead().range('t')), [[1]]);
  t.is(model.commits, 1);
});

test('a reader keeps its snapshot across later commits; a writer sees only its own changes', (t) => {
  const model = new SortedMapModel();
  const setup = model.beginWrite();
  setup.createTable('t');
  setup.insert('t', b(1), b(1));
  setup.commit();
  const reader = model.beginRead();
  const writer = model.beginWrite();
  writer.insert('t', b(2), b(2));
  writer.createTable('u');
  t.deepEqual(keysOf(model.beginRead().range('t')), [[1]]); // Uncommitted: invisible.
  writer.commit();
  t.deepEqual(keysOf(reader.range('t')), [[1]]);
  t.deepEqual(reader.listTables(), ['t']);
  t.deepEqual(keysOf(model.beginRead().range('t')), [[1], [2]]);
});

test('misuse is an assertion failure, not silent success', (t) => {
  const model = new SortedMapModel();
  const writer = model.beginWrite();
  t.throws(() => model.beginWrite(), { message: /one writer/ });
  t.throws(() => writer.insert('missing', b(1), b(1)), { message: /exists/ });
  t.throws(() => writer.createTable(''), { message: /non-empty/ });
  writer.commit();
  t.throws(() => writer.commit(), { message: /still open/ });
  t.notThrows(() => model.beginWrite());
});
