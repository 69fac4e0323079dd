// One adapter per store of bench/peers, behind one small interface. The native peers are not
// dependencies of the root package (CI's `npm ci` must stay lean): they live in
// bench/peers/node_modules, are loaded with a dynamic import() of a path resolved there, and
// the few calls used are described by the local interfaces below.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  ColumnFamilyDatabase, FileVfs, type Barrier, type Clock, type ColumnFamily, type ReadOnlyTable, type ReadTransaction,
} from '../engine/index.js';
import type { Entry } from './peerWorkload.js';

export const STORES = [
  'crashlab-always', 'crashlab-wal-aware', 'lmdb', 'better-sqlite3', 'classic-level', 'rocksdb', 'append-log',
] as const;
export type StoreName = (typeof STORES)[number];

/** crashlab's own configurations: the ratios compare the best of them with every other store. */
export const CRASHLAB_STORES: readonly StoreName[] = ['crashlab-always', 'crashlab-wal-aware'];

/** The npm package behind each peer (the others need nothing from bench/peers). */
export const PEER_PACKAGES: Readonly<Partial<Record<StoreName, string>>> = {
  lmdb: 'lmdb', 'better-sqlite3': 'better-sqlite3', 'classic-level': 'classic-level', rocksdb: '@nxtedition/rocksdb',
};

/** bench/peers, seen from dist/bench/ where this module runs. */
export const DEFAULT_PEERS_DIR = fileURLToPath(new URL('../../bench/peers/', import.meta.url));

export type MaybePromise<T> = T | Promise<T>;

export interface OpenOptions {
  readonly keyspaces: number;
  /** Whether commits must be durable when acknowledged (the store's per-commit or per-handle switch). */
  readonly durable: boolean;
}

export interface PeerStore {
  /** One commit of `entries` into `keyspace`; resolves when the store acknowledges it. */
  commit(keyspace: number, entries: readonly Entry[]): Promise<void>;
  get(keyspace: number, key: Buffer): MaybePromise<Uint8Array | undefined>;
  /** Visits every entry of `keyspace` in key order. */
  scan(keyspace: number, visit: (key: Uint8Array, value: Uint8Array) => void): Promise<void>;
  /** fsync/fdatasync calls the store has issued so far, where it counts them itself; else null. */
  fsyncs(): number | null;
  close(): Promise<void>;
}

export interface PeerAdapter {
  /** Opens the store in `directory`, creating it when empty: a second open there is the reopen. */
  open(directory: string, options: OpenOptions): Promise<PeerStore>;
}

/** Loads a peer package from `<peersDir>/node_modules`; throws a one-line reason when it is not there. */
export async function loadPeerModule(packageName: string, peersDir: string): Promise<unknown> {
  let resolved: string;
  try {
    resolved = createRequire(path.join(peersDir, 'package.json')).resolve(packageName);
  } catch {
    throw new Error(`${packageName} is not installed in ${path.join(peersDir, 'node_modules')} (npm ci --prefix bench/peers)`);
  }
  return (await import(pathToFileURL(resolved).href)) as unknown;
}

/** A named export of a loaded module, or of its CommonJS `default` (module.exports). */
function member<T>(loaded: unknown, name: string): T {
  const holders = [loaded, (loaded as { default?: unknown } | null)?.default];
  for (const holder of holders) {
    if ((typeof holder === 'object' || typeof holder === 'function') && holder !== null && name in holder) {
      return (holder as Record<string, unknown>)[name] as T;
    }
  }
  throw new Error(`the peer module has no export ${name}`);
}

const keyspaceName = (keyspace: number): string => `cf${keyspace}`;
const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`no keyspace ${index}`);
  return item;
}

export function adapterFor(store: StoreName, peersDir: string = DEFAULT_PEERS_DIR): PeerAdapter {
  switch (store) {
    case 'crashlab-always': return crashlabAdapter('always');
    case 'crashlab-wal-aware': return crashlabAdapter('wal-aware');
    case 'lmdb': return lmdbAdapter(peersDir);
    case 'better-sqlite3': return sqliteAdapter(peersDir);
    case 'classic-level': return classicLevelAdapter(peersDir);
    case 'rocksdb': return rocksdbAdapter(peersDir);
    case 'append-log': return appendLogAdapter();
  }
}

// ---------------------------------------------------------------------------------------------
// crashlab: column families of one ColumnFamilyDatabase on real files, one table each.

/** Real time, so the engine's checkpoint interval and group-commit window mean wall-clock time. */
class SystemClock implements Clock {
  nowMicros(): number {
    return Math.round(performance.now() * 1000);
  }

  sleep(durationMicros: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, durationMicros / 1000));
  }
}

const CRASHLAB_TABLE = 'bench';

function crashlabAdapter(barrier: Barrier): PeerAdapter {
  return {
    async open(directory, { keyspaces, durable }) {
      const db = await ColumnFamilyDatabase.open(new FileVfs(directory), { barrier, clock: new SystemClock() });
      const families: ColumnFamily[] = [];
      for (const keyspace of range(keyspaces)) families.push(await db.columnFamily(keyspaceName(keyspace)));
      // One snapshot per family, opened on first read: the reads see the reopened state.
      const readers = new Map<number, { txn: ReadTransaction; table: ReadOnlyTable }>();
      const tableOf = (keyspace: number): ReadOnlyTable => {
        let reader = readers.get(keyspace);
        if (reader === undefined) {
          const txn = at(families, keyspace).beginRead();
          readers.set(keyspace, reader = { txn, table: txn.openTable(CRASHLAB_TABLE) });
        }
        return reader.table;
      };
      return {
        async commit(keyspace, entries) {
          const txn = await at(families, keyspace).beginWrite();
          const table = txn.openTable(CRASHLAB_TABLE);
          for (const { key, value } of entries) table.insert(key, value);
          await txn.commit({ durability: durable ? 'immediate' : 'none' });
        },
        get: (keyspace, key) => tableOf(keyspace).get(key),
        async scan(keyspace, visit) {
          for (const [key, value] of tableOf(keyspace).range()) visit(key, value);
        },
        // WAL syncs plus every family's data-file syncs: what the engine counts itself.
        fsyncs: () => (db.stats().wal?.syncs ?? 0) + families.reduce((sum, family) => sum + family.stats().syncs, 0),
        async close() {
          for (const reader of readers.values()) reader.txn.close();
          await db.close();
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// lmdb: named sub-databases of one environment.

interface LmdbDatabase {
  openDB(options: { name: string; keyEncoding: 'binary'; encoding: 'binary'; compression: false }): LmdbDatabase;
  transactionSync<T>(action: () => T): T;
  transaction<T>(action: () => T): Promise<T>;
  putSync(key: Uint8Array, value: Uint8Array): boolean;
  get(key: Uint8Array): Uint8Array | undefined;
  getRange(options: object): Iterable<{ key: Uint8Array; value: Uint8Array }>;
  close(): Promise<void>;
}
type LmdbOpen = (options: { path: string; keyEncoding: 'binary'; encoding: 'binary'; compression: false }) => LmdbDatabase;

function lmdbAdapter(peersDir: string): PeerAdapter {
  return {
    async open(directory, { keyspaces, durable }) {
      const open = member<LmdbOpen>(await loadPeerModule('lmdb', peersDir), 'open');
      const encodings = { keyEncoding: 'binary', encoding: 'binary', compression: false } as const;
      const root = open({ path: path.join(directory, 'data.mdb'), ...encodings });
      const dbs = range(keyspaces).map((keyspace) => root.openDB({ name: keyspaceName(keyspace), ...encodings }));
      return {
        async commit(keyspace, entries) {
          const db = at(dbs, keyspace);
          const write = (): void => {
            for (const { key, value } of entries) db.putSync(key, value);
          };
          // transactionSync commits with an fdatasync before it returns (the default durable
          // commit); the asynchronous transaction resolves once committed and visible, with the
          // flush overlapping later work (lmdb's overlappingSync): its non-durable acknowledgement.
          if (durable) db.transactionSync(write);
          else await db.transaction(write);
        },
        get: (keyspace, key) => at(dbs, keyspace).get(key),
        async scan(keyspace, visit) {
          for (const { key, value } of at(dbs, keyspace).getRange({})) visit(key, value);
        },
        fsyncs: () => null,
        close: () => root.close(),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// better-sqlite3: one table per keyspace, WAL journal.

interface SqliteStatement {
  run(...parameters: unknown[]): unknown;
  get(...parameters: unknown[]): unknown;
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
  pluck(): SqliteStatement;
  raw(): SqliteStatement;
}
interface SqliteDatabase {
  pragma(source: string): unknown;
  exec(source: string): unknown;
  prepare(source: string): SqliteStatement;
  transaction<A extends unknown[]>(action: (...parameters: A) => void): (...parameters: A) => void;
  close(): unknown;
}
type SqliteConstructor = new (filename: string) => SqliteDatabase;

function sqliteAdapter(peersDir: string): PeerAdapter {
  return {
    async open(directory, { keyspaces, durable }) {
      const Sqlite = member<SqliteConstructor>(await loadPeerModule('better-sqlite3', peersDir), 'default');
      const db = new Sqlite(path.join(directory, 'bench.sqlite'));
      db.pragma('journal_mode = WAL');
      // FULL syncs the WAL at every commit; NORMAL syncs only at checkpoints, so a power loss
      // may lose the last commits but never corrupts: SQLite's non-durable acknowledgement.
      db.pragma(`synchronous = ${durable ? 'FULL' : 'NORMAL'}`);
      const tables = range(keyspaces).map((keyspace) => {
        const table = keyspaceName(keyspace);
        db.exec(`CREATE TABLE IF NOT EXISTS ${table} (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID`);
        const insert = db.prepare(`INSERT OR REPLACE INTO ${table} (k, v) VALUES (?, ?)`);
        return {
          commit: db.transaction((entries: readonly Entry[]) => {
            for (const { key, value } of entries) insert.run(key, value);
          }),
          select: db.prepare(`SELECT v FROM ${table} WHERE k = ?`).pluck(),
          scan: db.prepare(`SELECT k, v FROM ${table} ORDER BY k`).raw(),
        };
      });
      return {
        async commit(keyspace, entries) {
          at(tables, keyspace).commit(entries);
        },
        get: (keyspace, key) => at(tables, keyspace).select.get(key) as Uint8Array | undefined,
        async scan(keyspace, visit) {
          for (const row of at(tables, keyspace).scan.iterate()) {
            const [key, value] = row as [Uint8Array, Uint8Array];
            visit(key, value);
          }
        },
        fsyncs: () => null,
        async close() {
          db.close();
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// classic-level (LevelDB) and @nxtedition/rocksdb: both abstract-level stores.

interface LevelPut {
  readonly type: 'put';
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly column?: unknown;
}
interface LevelIterator {
  nextv(size: number): Promise<Array<[Uint8Array, Uint8Array]>>;
  close(): Promise<void>;
}
interface LevelDatabase {
  open(options?: object): Promise<void>;
  close(): Promise<void>;
  batch(operations: LevelPut[], options: { sync: boolean }): Promise<void>;
  get(key: Uint8Array, options?: object): Promise<Uint8Array | undefined>;
  iterator(options: object): LevelIterator;
}
interface ClassicLevelDatabase extends LevelDatabase {
  sublevel(name: string, options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }): ClassicLevelDatabase;
  getSync(key: Uint8Array): Uint8Array | undefined;
}
type ClassicLevelConstructor = new (location: string, options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }) => ClassicLevelDatabase;
interface RocksDatabase extends LevelDatabase {
  readonly columns: Readonly<Record<string, unknown>>;
}
type RocksConstructor = new (location: string, options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }) => RocksDatabase;

const BUFFERS = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
/** Entries per nextv() call of a scan: big enough that the per-call cost fades. */
const SCAN_CHUNK = 1_000;

async function drain(iterator: LevelIterator, visit: (key: Uint8Array, value: Uint8Array) => void): Promise<void> {
  try {
    for (let chunk = await iterator.nextv(SCAN_CHUNK); chunk.length > 0; chunk = await iterator.nextv(SCAN_CHUNK)) {
      for (const [key, value] of chunk) visit(key, value);
    }
  } finally {
    await iterator.close();
  }
}

function classicLevelAdapter(peersDir: string): PeerAdapter {
  return {
    async open(directory, { keyspaces, durable }) {
      const ClassicLevel = member<ClassicLevelConstructor>(await loadPeerModule('classic-level', peersDir), 'ClassicLevel');
      const db = new ClassicLevel(path.join(directory, 'leveldb'), BUFFERS);
      await db.open();
      // Sublevels are key prefixes: LevelDB's native way to keep keyspaces in one database.
      const sublevels = range(keyspaces).map((keyspace) => db.sublevel(keyspaceName(keyspace), BUFFERS));
      // A new sublevel opens on a later tick; getSync() refuses to run before that.
      for (const sublevel of sublevels) await sublevel.open();
      return {
        commit: (keyspace, entries) => at(sublevels, keyspace).batch(
          entries.map(({ key, value }) => ({ type: 'put', key, value })), { sync: durable }),
        // getSync: classic-level's synchronous point read, the fastest it offers.
        get: (keyspace, key) => at(sublevels, keyspace).getSync(key),
        scan: (keyspace, visit) => drain(at(sublevels, keyspace).iterator(BUFFERS), visit),
        fsyncs: () => null,
        close: () => db.close(),
      };
    },
  };
}

function rocksdbAdapter(peersDir: string): PeerAdapter {
  return {
    async open(directory, { keyspaces, durable }) {
      const RocksLevel = member<RocksConstructor>(await loadPeerModule('@nxtedition/rocksdb', peersDir), 'RocksLevel');
      const db = new RocksLevel(path.join(directory, 'rocksdb'), BUFFERS);
      // Column families; RocksDB wants every existing family named at open, 'default' included.
      const columns: Record<string, object> = { default: {} };
      for (const keyspace of range(keyspaces)) columns[keyspaceName(keyspace)] = {};
      await db.open({ columns, createIfMissing: true });
      const handles = range(keyspaces).map((keyspace) => db.columns[keyspaceName(keyspace)]);
      return {
        commit: (keyspace, entries) => {
          const column = at(handles, keyspace);
          return db.batch(entries.map(({ key, value }) => ({ type: 'put', key, value, column })), { sync: durable });
        },
        // This binding has no public synchronous get: each get is a thread-pool round trip.
        get: (keyspace, key) => db.get(key, { column: at(handles, keyspace) }),
        scan: (keyspace, visit) => drain(db.iterator({ ...BUFFERS, column: at(handles, keyspace) }), visit),
        fsyncs: () => null,
        close: () => db.close(),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The append-only log: the practical ceiling of a durable write (append, one fdatasync).

/** Record header: keyspace (u8), key length (u16), value length (u32), then key and value. */
const LOG_HEADER_BYTES = 7;

function encodeRecords(keyspace: number, entries: readonly Entry[]): Buffer {
  let totalBytes = 0;
  for (const { key, value } of entries) totalBytes += LOG_HEADER_BYTES + key.length + value.length;
  const records = Buffer.allocUnsafe(totalBytes);
  let offset = 0;
  for (const { key, value } of entries) {
    offset = records.writeUInt8(keyspace, offset);
    offset = records.writeUInt16BE(key.length, offset);
    offset = records.writeUInt32BE(value.length, offset);
    offset += key.copy(records, offset);
    offset += value.copy(records, offset);
  }
  return records;
}

interface LogIndex {
  /** Per keyspace: key (as latin1 text, a cheap exact map key) to value. */
  readonly byKey: Map<string, Uint8Array>[];
  /** Per keyspace, in log order, which is key order here because each keyspace appends ascending keys. */
  readonly ordered: Array<Array<[Uint8Array, Uint8Array]>>;
}

/** Reads the whole log back into memory (a Bitcask-style key directory): what serves gets and scans. */
function indexLog(contents: Buffer, keyspaces: number): LogIndex {
  const index: LogIndex = { byKey: range(keyspaces).map(() => new Map<string, Uint8Array>()), ordered: range(keyspaces).map(() => []) };
  for (let offset = 0; offset + LOG_HEADER_BYTES <= contents.length;) {
    const keyspace = contents.readUInt8(offset);
    const keyBytes = contents.readUInt16BE(offset + 1);
    const valueBytes = contents.readUInt32BE(offset + 3);
    const keyStart = offset + LOG_HEADER_BYTES;
    const key = contents.subarray(keyStart, keyStart + keyBytes);
    const value = contents.subarray(keyStart + keyBytes, keyStart + keyBytes + valueBytes);
    at(index.byKey, keyspace).set(key.toString('latin1'), value);
    at(index.ordered, keyspace).push([key, value]);
    offset = keyStart + keyBytes + valueBytes;
  }
  return index;
}

function appendLogAdapter(): PeerAdapter {
  return {
    async open(directory, { keyspaces, durable }) {
      const file = path.join(directory, 'append.log');
      const fd = fs.openSync(file, 'a+');
      // The index is built at open and not kept up to date by writes: the write workloads
      // measure the bare append + fdatasync, the read workloads run after a reopen.
      const index = indexLog(fs.readFileSync(file), keyspaces);
      let syncCount = 0;
      return {
        async commit(keyspace, entries) {
          fs.writeSync(fd, encodeRecords(keyspace, entries));
          if (durable) {
            fs.fdatasyncSync(fd);
            syncCount++;
          }
        },
        get: (keyspace, key) => at(index.byKey, keyspace).get(key.toString('latin1')),
        async scan(keyspace, visit) {
          for (const [key, value] of at(index.ordered, keyspace)) visit(key, value);
        },
        fsyncs: () => syncCount,
        async close() {
          // Like every other store's close, this one leaves what was acknowledged on disk.
          fs.fdatasyncSync(fd);
          fs.closeSync(fd);
        },
      };
    },
  };
}
