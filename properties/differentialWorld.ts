/**
 * The two sides of the differential property and the comparisons between them. The model side
 * is what `check()` of a command may look at (fast-check decides from it alone whether a
 * command applies); the real side holds the engine handles. The two lists of held readers are
 * parallel: reader i of the model is the snapshot reader i of the engine must show.
 */
import {
  EngineError, type Database, type DatabaseOptions, type ReadOnlyTable, type ReadTransaction, type Vfs,
  type WriteTransaction,
} from '../engine/index.js';
import type { EngineUnderTest } from '../recovery/storeUnderTest.js';
import type { Entry, ModelView, ModelWriteTransaction, SortedMapModel } from '../model/sortedMapModel.js';
import { hex } from './byteSpecs.js';

export interface DiffModel {
  readonly oracle: SortedMapModel;
  writer: ModelWriteTransaction | null;
  readonly readers: ModelView[];
  /** The open database's key limit, for sizing long keys. */
  maxKeyBytes: number;
}

/**
 * What the differential property needs of the engine under test: its standalone database. A
 * structural type (like the crash campaign's), so a mutant's copy of the engine, a separate
 * module graph, stands in for the reference. Errors are told apart by `instanceof EngineError`:
 * a planted engine shares errors.js with the reference (plantEngine.ts), so that still holds.
 */
export type DifferentialEngine = Pick<EngineUnderTest, 'Database'>;

export interface DiffReal {
  readonly engine: DifferentialEngine;
  db: Database;
  writer: WriteTransaction | null;
  readonly readers: ReadTransaction[];
  readonly vfs: Vfs;
  readonly options: DatabaseOptions;
}

/** Either kind of engine transaction, as far as reading goes. */
export interface RealView {
  listTables(): string[];
  openTable(name: string): ReadOnlyTable;
}

/** A difference between engine and model: the property's one kind of failure. */
export class Mismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Mismatch';
  }
}

export function expectEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) {
    throw new Mismatch(`${what}: engine ${JSON.stringify(actual)}, model ${JSON.stringify(expected)}`);
  }
}

export function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array | undefined, what: string): void {
  const same = actual === undefined || expected === undefined
    ? actual === expected
    : Buffer.from(actual).equals(Buffer.from(expected));
  if (!same) {
    const show = (bytes: Uint8Array | undefined): string => (bytes === undefined ? 'absent' : hex(bytes));
    throw new Mismatch(`${what}: engine ${show(actual)}, model ${show(expected)}`);
  }
}

export function expectEntries(actual: readonly Entry[], expected: readonly Entry[], what: string): void {
  const common = Math.min(actual.length, expected.length);
  for (let i = 0; i < common; i++) {
    expectBytes(actual[i]![0], expected[i]![0], `${what}: key #${i}`);
    expectBytes(actual[i]![1], expected[i]![1], `${what}: value #${i} (key ${hex(expected[i]![0])})`);
  }
  if (actual.length !== expected.length) {
    const extra = actual.length > expected.length ? actual[common]! : expected[common]!;
    throw new Mismatch(`${what}: engine has ${actual.length} entries, model ${expected.length}; `
      + `first unmatched key ${hex(extra[0])} (${actual.length > expected.length ? 'engine' : 'model'} only)`);
  }
}

/** Expects `action` to throw an EngineError with `code`. */
export function expectCode(code: EngineError['code'], action: () => unknown, what: string): void {
  try {
    action();
  } catch (error) {
    if (error instanceof EngineError && error.code === code) return;
    throw new Mismatch(`${what}: expected ${code}, got ${String(error)}`);
  }
  throw new Mismatch(`${what}: expected ${code}, got success`);
}

/**
 * Every table, every entry in both directions, every length, and a point get of every key: a
 * wrong separator hides a key from `get` (which follows one path down) while a scan, which
 * walks every leaf, still returns it.
 */
export function expectSameState(real: RealView, model: ModelView, where: string): void {
  try {
    const names = model.listTables();
    expectEqual(JSON.stringify(real.listTables()), JSON.stringify(names), `${where}: listTables`);
    for (const name of names) {
      const table = real.openTable(name);
      expectEntries([...table.range()], model.range(name), `${where}: table ${name}`);
      expectEntries([...table.range(undefined, undefined, { reverse: true })], model.range(name, undefined, undefined, true),
        `${where}: table ${name} reversed`);
      expectEqual(table.len(), model.len(name), `${where}: len of ${name}`);
      for (const [key, value] of model.range(name)) expectBytes(table.get(key), value, `${where}: get ${hex(key)} in ${name}`);
    }
  } catch (error) {
    // Whole-state checks run from several places (a command, the epilogue): say which one.
    if (error instanceof Mismatch) throw error;
    throw new Error(`${where}: the engine threw ${String(error)}`, { cause: error });
  }
}

/** A fresh reader must show exactly the model's last commit. */
export function expectCommitted(model: DiffModel, real: DiffReal, where: string): void {
  const reader = real.db.beginRead();
  try {
    expectSameState(reader, model.oracle.beginRead(), where);
  } finally {
    reader.close();
  }
}

export function expectIntegrity(db: Database, where: string): void {
  const report = db.checkIntegrity();
  if (!report.ok) throw new Mismatch(`${where}: checkIntegrity failed: ${report.problems.join('; ')}`);
}

/** Checks each held reader against its snapshot and closes it; both lists end empty. */
export function closeReaders(model: DiffModel, real: DiffReal, where: string): void {
  while (real.readers.length > 0) {
    const reader = real.readers.pop()!;
    const view = model.readers.pop()!;
    expectSameState(reader, view, `${where}: held reader`);
    reader.close();
  }
}

/** Closes the database (no writer may be open) and opens it again from the same VFS. */
export async function reopen(model: DiffModel, real: DiffReal, where: string): Promise<void> {
  closeReaders(model, real, where);
  await real.db.close();
  real.db = await real.engine.Database.open(real.vfs, real.options);
  model.maxKeyBytes = real.db.layout.maxKeyBytes;
  expectIntegrity(real.db, `${where}: after reopen`);
  expectCommitted(model, real, `${where}: after reopen`);
}
