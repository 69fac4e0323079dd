/**
 * The standalone single-file Database (redb's shape: one file, no WAL, a commit made durable
 * by the two-fsync header protocol) driven by the same crash workloads and the same oracle as
 * the column-family store. It is seen as a store of one family, `cf0`, kept in the file the
 * corruption plans aim at. Its own code paths (creating a file and the unfinished-creation
 * rule, `none` commits held in memory until a later durable one, the header slots without a
 * log) are reached only this way: without it, a mutant there survives every campaign.
 */
import { DEFAULT_CF_FILE_NAME, type ColumnFamilyOptions } from '../engine/columnFamilyDatabase.js';
import type { Database, DatabaseOptions } from '../engine/database.js';
import type { Vfs } from '../engine/storage.js';
import { assert } from '../engine/errors.js';
import type { EngineUnderTest, FamilyUnderTest, StoreUnderTest } from '../recovery/checkImage.js';
import { familyName, type Workload } from './crashWorkload.js';

/** The same name as the column-family file, so that corruption plans hit it. */
export const SINGLE_FILE_NAME = DEFAULT_CF_FILE_NAME;
const FAMILY = familyName(0);

class SingleFamily implements FamilyUnderTest {
  readonly name = FAMILY;
  constructor(private readonly db: Database) {}
  beginWrite(): ReturnType<Database['beginWrite']> { return this.db.beginWrite(); }
  beginRead(): ReturnType<Database['beginRead']> { return this.db.beginRead(); }
  checkIntegrity(): ReturnType<Database['checkIntegrity']> { return this.db.checkIntegrity(); }
  digestState(...args: Parameters<Database['digestState']>): ReturnType<Database['digestState']> { return this.db.digestState(...args); }
}

class SingleFileStore implements StoreUnderTest {
  readonly #db: Database;
  readonly #family: SingleFamily;

  constructor(db: Database) {
    this.#db = db;
    this.#family = new SingleFamily(db);
  }

  listColumnFamilies(): string[] { return [FAMILY]; }

  columnFamily(name: string): Promise<FamilyUnderTest> {
    // A workload on this store has exactly one family (workloadArb): any other name is a harness bug.
    if (name !== FAMILY) return Promise.reject(new TypeError(`a single-file store has only the family ${FAMILY}, not ${name}`));
    return Promise.resolve(this.#family);
  }

  deleteColumnFamily(name: string): Promise<boolean> {
    // workloadArb draws no drop step for this store: one asked for is a harness bug.
    return Promise.reject(new TypeError(`a single-file store cannot delete its family (asked for ${name})`));
  }

  checkpoint(): Promise<number> { return this.#db.checkpoint(); }
  close(): Promise<void> { return this.#db.close(); }
}

/** The options of the column-family store that the standalone database shares. */
function databaseOptions(options: ColumnFamilyOptions | undefined): DatabaseOptions {
  const picked: { -readonly [K in keyof DatabaseOptions]: DatabaseOptions[K] } = { name: SINGLE_FILE_NAME };
  if (options?.pageBytes !== undefined) picked.pageBytes = options.pageBytes;
  if (options?.writeBufferBytes !== undefined) picked.writeBufferBytes = options.writeBufferBytes;
  if (options?.evictionHighWater !== undefined) picked.evictionHighWater = options.evictionHighWater;
  if (options?.evictionLowWater !== undefined) picked.evictionLowWater = options.evictionLowWater;
  return picked;
}

/** `engine` with its standalone Database standing in for the column-family store. */
export function singleFileEngine(engine: EngineUnderTest): EngineUnderTest {
  const open = async (vfs: Vfs, options?: ColumnFamilyOptions): Promise<StoreUnderTest> =>
    new SingleFileStore(await engine.Database.open(vfs, databaseOptions(options)));
  return { ...engine, ColumnFamilyDatabase: { open }, Database: engine.Database };
}

/** The engine a workload runs on: its store kind decides. */
export function engineForWorkload(engine: EngineUnderTest, workload: Workload): EngineUnderTest {
  if (workload.store !== 'single') return engine;
  assert(workload.families === 1, 'a single-file workload has one family');
  assert(workload.options.wal === false, 'a single-file workload has no shared log to judge by');
  return singleFileEngine(engine);
}
