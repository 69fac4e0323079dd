/** The reference engine's public API. */
export { Database, DEFAULT_FILE_NAME, type DatabaseOptions, type DatabaseStats, type DatabaseTarget } from './database.js';
export { EngineError, isEngineError, type EngineErrorCode } from './errors.js';
export { FileVfs, FileStorage } from './fileVfs.js';
export { MemoryVfs, MemoryStorage } from './memoryVfs.js';
export type { Storage, Vfs, OpenOptions } from './storage.js';
export {
  ReadOnlyTable, ReadTransaction, Table, WriteTransaction, type CommitOptions, type Durability, type RangeOptions,
} from './transaction.js';
export type { IntegrityReport, TableSummary } from './integrity.js';
export { ColumnFamily, ColumnFamilyDatabase, DEFAULT_CF_FILE_NAME, type ColumnFamilyOptions, type RecoveryReport } from './columnFamilyDatabase.js';
export type { SalvageLoss } from './wal.js';
export { VirtualClock, type Clock } from './clock.js';
export type { Barrier } from './database.js';
export { DEFAULT_PAGE_BYTES, MAX_PAGE_BYTES, MIN_PAGE_BYTES } from './format.js';
export { MAX_VALUE_BYTES, maxKeyBytes } from './node.js';
export { shapeCounts, MAX_COUNTED_DEPTH, type ShapeCounts } from './shape.js';

/**
 * The reference engine's contract under damage, as the crash oracle reads it (the shape of
 * recovery/storeUnderTest.ts StoreContract; declared here because the engine imports nothing
 * of the harness). Strict: damage to what was durable and acknowledged is reported, never
 * silently rolled back, wherever a later byte vouches for it (durable watermarks in log records,
 * mirrored header, commit and master slots, the log's live flag, master generation witnesses:
 * docs/format.md). What nothing vouches for, or damage that strikes a slot and its mirror alike,
 * is the format's declared limit (docs/format.md, "Declared limits").
 */
export const contract: { readonly mayRollBackUnderDamage: boolean } = { mayRollBackUnderDamage: false };
