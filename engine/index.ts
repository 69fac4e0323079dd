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
export { ColumnFamily, ColumnFamilyDatabase, DEFAULT_CF_FILE_NAME, type ColumnFamilyOptions } from './columnFamilyDatabase.js';
export { VirtualClock, type Clock } from './clock.js';
export type { Barrier } from './database.js';
export { DEFAULT_PAGE_BYTES, MAX_PAGE_BYTES, MIN_PAGE_BYTES } from './format.js';
export { MAX_VALUE_BYTES, maxKeyBytes } from './node.js';
export { shapeCounts, MAX_COUNTED_DEPTH, type ShapeCounts } from './shape.js';
