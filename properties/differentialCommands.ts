/**
 * The commands of the differential property. Each one does the same thing to the engine and
 * to the model and throws a `Mismatch` on the first difference in what they return. `check()`
 * sees only the model, so a command that needs a writer (or a held reader) is skipped when
 * there is none; fast-check then drops it while shrinking.
 */
import fc from 'fast-check';
import type { Durability, ReadOnlyTable, Table, WriteTransaction } from '../engine/index.js';
import type { ModelView, ModelWriteTransaction } from '../model/sortedMapModel.js';
import {
  boundSpecArb, keyBytes, keySpecArb, showKey, showValue, valueBytes, valueSpecArb, type KeySpec, type ValueSpec,
} from './byteSpecs.js';
import {
  expectBytes, expectCode, expectCommitted, expectEntries, expectEqual, expectIntegrity, expectSameState, reopen,
  type DiffModel, type DiffReal,
} from './differentialWorld.js';

type Cmd = fc.AsyncCommand<DiffModel, DiffReal>;

/** Table names: two plain ones, and two whose UTF-8 order differs from their UTF-16 order. */
const TABLE_NAMES = ['a', 'b', '\uFFFD', '\u{1F600}'] as const;
const HELD_READERS_MAX = 3;

/** Both writers, after checking that both sides agree one is open. */
function writers(m: DiffModel, r: DiffReal): { mw: ModelWriteTransaction; rw: WriteTransaction } {
  if (m.writer === null || r.writer === null) throw new Error('command ran without a writer');
  return { mw: m.writer, rw: r.writer };
}

/** A write transaction's openTable creates a missing table; the model mirrors that. */
function writeTable(m: DiffModel, r: DiffReal, name: string): { mw: ModelWriteTransaction; table: Table } {
  const { mw, rw } = writers(m, r);
  mw.createTable(name);
  return { mw, table: rw.openTable(name) };
}

/**
 * Runs a read against the writer's private view when a writer is open, otherwise against a
 * fresh read transaction (which must refuse a table the last commit does not have).
 */
function read(m: DiffModel, r: DiffReal, name: string, action: (table: ReadOnlyTable, view: ModelView) => void): void {
  if (m.writer !== null) {
    const { mw, table } = writeTable(m, r, name);
    action(table, mw);
    return;
  }
  const view = m.oracle.beginRead();
  const reader = r.db.beginRead();
  try {
    if (!view.hasTable(name)) {
      expectCode('NOT_FOUND', () => reader.openTable(name), `read of missing table ${name}`);
      return;
    }
    action(reader.openTable(name), view);
  } finally {
    reader.close();
  }
}

class BeginWrite implements Cmd {
  check(m: Readonly<DiffModel>): boolean { return m.writer === null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    r.writer = await r.db.beginWrite();
    m.writer = m.oracle.beginWrite();
  }
  toString(): string { return 'beginWrite'; }
}

class Commit implements Cmd {
  constructor(readonly durability: Durability) {}
  check(m: Readonly<DiffModel>): boolean { return m.writer !== null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const { mw, rw } = writers(m, r);
    m.writer = null;
    r.writer = null;
    await rw.commit({ durability: this.durability });
    mw.commit();
  }
  toString(): string { return `commit(${this.durability})`; }
}

class Abort implements Cmd {
  check(m: Readonly<DiffModel>): boolean { return m.writer !== null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const { mw, rw } = writers(m, r);
    m.writer = null;
    r.writer = null;
    rw.abort();
    mw.abort();
  }
  toString(): string { return 'abort'; }
}

class Insert implements Cmd {
  constructor(readonly table: string, readonly key: KeySpec, readonly value: ValueSpec) {}
  check(m: Readonly<DiffModel>): boolean { return m.writer !== null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const { mw, table } = writeTable(m, r, this.table);
    const key = keyBytes(this.key, m.maxKeyBytes);
    const value = valueBytes(this.value);
    if (this.key.long === 'over') {
      expectCode('TOO_LARGE', () => table.insert(key, value), `insert of a ${key.length}-byte key`);
      return;
    }
    expectEqual(table.insert(key, value), mw.insert(this.table, key, value), `insert ${this.toString()} replaced`);
  }
  toString(): string { return `insert(${JSON.stringify(this.table)}, ${showKey(this.key)}, ${showValue(this.value)})`; }
}

/** The order InsertMany inserts its keys in: appends split leaves 3/4 : 1/4, the others in halves. */
export type InsertOrder = 'ascending' | 'descending' | 'shuffled';

/**
 * The indexes first..first+count-1 in `order`; `shuffled` is a Fisher-Yates shuffle driven by a
 * small LCG from `shuffleSeed`, so a counterexample replays the same order.
 */
export function insertionOrder(first: number, count: number, order: InsertOrder, shuffleSeed: number): number[] {
  const indexes = Array.from({ length: count }, (_, i) => first + i);
  if (order === 'descending') return indexes.reverse();
  if (order === 'shuffled') {
    let state = (shuffleSeed >>> 0) || 1;
    for (let i = indexes.length - 1; i > 0; i--) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      const j = state % (i + 1);
      [indexes[i], indexes[j]] = [indexes[j]!, indexes[i]!];
    }
  }
  return indexes;
}

/**
 * Many consecutive keys at once, so trees grow several levels and split often. Wide keys are
 * padded to the page's key limit: branches then hold only a few children, so even a hundred
 * keys make a deep tree whose branches split, merge and borrow. Ascending keys fill leaves to
 * three quarters (the appending split), so a later removal merges them; descending and shuffled
 * ones leave leaves between half and full, so a removal next to a full sibling redistributes.
 */
class InsertMany implements Cmd {
  constructor(readonly table: string, readonly prefix: number, readonly first: number, readonly count: number,
    readonly wide: boolean, readonly value: ValueSpec, readonly order: InsertOrder, readonly shuffleSeed: number) {}
  check(m: Readonly<DiffModel>): boolean { return m.writer !== null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const { mw, table } = writeTable(m, r, this.table);
    for (const i of insertionOrder(this.first, this.count, this.order, this.shuffleSeed)) {
      const base = [this.prefix, i >>> 8, i & 0xff];
      const key = this.wide ? keyBytes({ base, long: 'max' }, m.maxKeyBytes) : Uint8Array.from(base);
      const value = valueBytes({ lengthBytes: this.value.lengthBytes, fill: (this.value.fill + i) & 0xff });
      expectEqual(table.insert(key, value), mw.insert(this.table, key, value), `insertMany key #${i} replaced`);
    }
  }
  toString(): string {
    const order = this.order === 'ascending' ? '' : this.order === 'descending' ? ' desc' : ` shuffled#${this.shuffleSeed}`;
    const range = `${this.first}+${this.count}${this.wide ? ' wide' : ''}${order}`;
    return `insertMany(${JSON.stringify(this.table)}, ${this.prefix}, ${range}, ${showValue(this.value)})`;
  }
}

class Remove implements Cmd {
  constructor(readonly table: string, readonly key: KeySpec) {}
  check(m: Readonly<DiffModel>): boolean { return m.writer !== null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const { mw, table } = writeTable(m, r, this.table);
    const key = keyBytes(this.key, m.maxKeyBytes);
    expectEqual(table.remove(key), mw.remove(this.table, key), `remove ${showKey(this.key)} found`);
  }
  toString(): string { return `remove(${JSON.stringify(this.table)}, ${showKey(this.key)})`; }
}

/** Removes every key of a range one by one, so underfull nodes merge and borrow. */
class RemoveRange implements Cmd {
  constructor(readonly table: string, readonly start: KeySpec | null, readonly end: KeySpec | null) {}
  check(m: Readonly<DiffModel>): boolean { return m.writer !== null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const { mw, table } = writeTable(m, r, this.table);
    const start = this.start === null ? undefined : keyBytes(this.start, m.maxKeyBytes);
    const end = this.end === null ? undefined : keyBytes(this.end, m.maxKeyBytes);
    for (const [key] of mw.range(this.table, start, end)) {
      expectEqual(table.remove(key), mw.remove(this.table, key), 'removeRange found the key');
    }
    expectEqual(table.len(), mw.len(this.table), `len after ${this.toString()}`);
  }
  toString(): string {
    const show = (spec: KeySpec | null): string => (spec === null ? '-' : showKey(spec));
    return `removeRange(${JSON.stringify(this.table)}, ${show(this.start)}, ${show(this.end)})`;
  }
}

class Clear implements Cmd {
  constructor(readonly table: string) {}
  check(m: Readonly<DiffModel>): boolean { return m.writer !== null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const { mw, table } = writeTable(m, r, this.table);
    table.clear();
    mw.clear(this.table);
    expectEqual(table.len(), 0, `len after clear of ${this.table}`);
  }
  toString(): string { return `clear(${JSON.stringify(this.table)})`; }
}

class CreateTable implements Cmd {
  constructor(readonly table: string) {}
  check(m: Readonly<DiffModel>): boolean { return m.writer !== null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const { mw, table } = writeTable(m, r, this.table);
    expectEqual(table.len(), mw.len(this.table), `len of opened table ${this.table}`);
  }
  toString(): string { return `createTable(${JSON.stringify(this.table)})`; }
}

class DeleteTable implements Cmd {
  constructor(readonly table: string) {}
  check(m: Readonly<DiffModel>): boolean { return m.writer !== null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const { mw, rw } = writers(m, r);
    expectEqual(rw.deleteTable(this.table), mw.deleteTable(this.table), `deleteTable ${this.table} existed`);
    expectEqual(JSON.stringify(rw.listTables()), JSON.stringify(mw.listTables()), 'listTables after deleteTable');
  }
  toString(): string { return `deleteTable(${JSON.stringify(this.table)})`; }
}

class Get implements Cmd {
  constructor(readonly table: string, readonly key: KeySpec) {}
  check(): boolean { return true; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const key = keyBytes(this.key, m.maxKeyBytes);
    read(m, r, this.table, (table, view) => {
      expectBytes(table.get(key), view.get(this.table, key), `get ${showKey(this.key)} in ${this.table}`);
      expectEqual(table.len(), view.len(this.table), `len of ${this.table}`);
    });
  }
  toString(): string { return `get(${JSON.stringify(this.table)}, ${showKey(this.key)})`; }
}

class Range implements Cmd {
  constructor(readonly table: string, readonly start: KeySpec | null, readonly end: KeySpec | null,
    readonly reverse: boolean) {}
  check(): boolean { return true; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const start = this.start === null ? undefined : keyBytes(this.start, m.maxKeyBytes);
    const end = this.end === null ? undefined : keyBytes(this.end, m.maxKeyBytes);
    read(m, r, this.table, (table, view) => {
      expectEntries([...table.range(start, end, { reverse: this.reverse })],
        view.range(this.table, start, end, this.reverse), this.toString());
    });
  }
  toString(): string {
    const show = (spec: KeySpec | null): string => (spec === null ? '-' : showKey(spec));
    return `range(${JSON.stringify(this.table)}, ${show(this.start)}, ${show(this.end)}${this.reverse ? ', reverse' : ''})`;
  }
}

/** The writer's whole private view, and (at the same time) a fresh reader's committed view. */
class VerifyAll implements Cmd {
  check(): boolean { return true; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    if (m.writer !== null) expectSameState(writers(m, r).rw, m.writer, 'writer view');
    expectCommitted(m, r, 'fresh reader');
  }
  toString(): string { return 'verifyAll'; }
}

class BeginHeldRead implements Cmd {
  check(m: Readonly<DiffModel>): boolean { return m.readers.length < HELD_READERS_MAX; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    r.readers.push(r.db.beginRead());
    m.readers.push(m.oracle.beginRead());
  }
  toString(): string { return 'beginRead(held)'; }
}

/** A held reader must still see exactly its snapshot, whatever was committed since. */
class VerifyHeldRead implements Cmd {
  constructor(readonly index: number, readonly close: boolean) {}
  check(m: Readonly<DiffModel>): boolean { return m.readers.length > 0; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    const i = this.index % m.readers.length;
    expectEqual(r.readers.length, m.readers.length, 'held readers');
    expectSameState(r.readers[i]!, m.readers[i]!, `held reader ${i}`);
    if (!this.close) return;
    r.readers.splice(i, 1)[0]!.close();
    m.readers.splice(i, 1);
  }
  toString(): string { return `verifyRead(${this.index}${this.close ? ', close' : ''})`; }
}

class Reopen implements Cmd {
  check(m: Readonly<DiffModel>): boolean { return m.writer === null; }
  async run(m: DiffModel, r: DiffReal): Promise<void> {
    await reopen(m, r, 'reopen');
  }
  toString(): string { return 'reopen'; }
}

class CheckIntegrity implements Cmd {
  check(m: Readonly<DiffModel>): boolean { return m.writer === null; }
  async run(_m: DiffModel, r: DiffReal): Promise<void> {
    expectIntegrity(r.db, 'checkIntegrity');
  }
  toString(): string { return 'checkIntegrity'; }
}

const tableArb = fc.constantFrom(...TABLE_NAMES);
/**
 * Bulk inserts and range removes favour one table, so that a run's range removes often fall
 * on a tree its bulk inserts made deep: that is what merges, redistributes and shrinks it.
 */
const bulkTableArb = fc.oneof({ weight: 3, arbitrary: fc.constant(TABLE_NAMES[0]) }, { weight: 1, arbitrary: tableArb });
const boundArb = fc.option(boundSpecArb, { nil: null, freq: 3 });
const insertManyArb = fc.tuple(
  bulkTableArb, fc.constantFrom(0x00, 0x61, 0xff), fc.nat(600), fc.integer({ min: 1, max: 250 }), fc.boolean(), valueSpecArb,
  fc.constantFrom<InsertOrder>('ascending', 'descending', 'shuffled'), fc.nat(),
).map(([t, prefix, first, count, wide, v, order, shuffleSeed]) => new InsertMany(t, prefix, first, count, wide, v, order, shuffleSeed));

/** Weighted so that most commands run inside a write transaction and commits are frequent. */
export const differentialCommandArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(new BeginWrite()) },
  { weight: 5, arbitrary: fc.constantFrom<Durability>('immediate', 'none').map((d) => new Commit(d)) },
  { weight: 1, arbitrary: fc.constant(new Abort()) },
  { weight: 20, arbitrary: fc.tuple(tableArb, keySpecArb, valueSpecArb).map(([t, k, v]) => new Insert(t, k, v)) },
  { weight: 6, arbitrary: insertManyArb },
  { weight: 8, arbitrary: fc.tuple(tableArb, keySpecArb).map(([t, k]) => new Remove(t, k)) },
  { weight: 8, arbitrary: fc.tuple(bulkTableArb, boundArb, boundArb).map(([t, s, e]) => new RemoveRange(t, s, e)) },
  { weight: 1, arbitrary: tableArb.map((t) => new Clear(t)) },
  { weight: 2, arbitrary: tableArb.map((t) => new CreateTable(t)) },
  { weight: 2, arbitrary: tableArb.map((t) => new DeleteTable(t)) },
  { weight: 5, arbitrary: fc.tuple(tableArb, keySpecArb).map(([t, k]) => new Get(t, k)) },
  { weight: 4, arbitrary: fc.tuple(tableArb, boundArb, boundArb, fc.boolean()).map(([t, s, e, rev]) => new Range(t, s, e, rev)) },
  { weight: 2, arbitrary: fc.constant(new VerifyAll()) },
  { weight: 2, arbitrary: fc.constant(new BeginHeldRead()) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(HELD_READERS_MAX - 1), fc.boolean()).map(([i, c]) => new VerifyHeldRead(i, c)) },
  { weight: 1, arbitrary: fc.constant(new Reopen()) },
  { weight: 1, arbitrary: fc.constant(new CheckIntegrity()) },
);
