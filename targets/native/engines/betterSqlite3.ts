/**
 * better-sqlite3 12.11.1 (SQLite compiled into a Node add-on, built from source here) as a
 * native target, `better-sqlite3:<journal>-<synchronous>` like the WebAssembly target
 * (targets/sqlite/), with the same schema and statements (sqliteStore.ts) and explicit pragmas,
 * so the two compare like with like; plus `better-sqlite3:wal-default`, WAL with the library's
 * compiled-in synchronous level (SQLITE_DEFAULT_WAL_SYNCHRONOUS=1, NORMAL: what users ship when
 * they follow its advice to turn WAL on; that level applies to a connection that opens a database
 * already in WAL mode, so the adapter switches to WAL, closes and reopens, as every run of an app
 * after its first does). A transaction is one `BEGIN IMMEDIATE … COMMIT`
 * (`db.transaction(fn).immediate()`); the call returning is the acknowledgement. The contract
 * is SQLite's documentation for the configuration in effect (sqliteContract.ts), the -shm
 * index is volatile. Recovery reads the state and runs `PRAGMA integrity_check`; a failure
 * there is an error opening the image.
 *
 * The configuration is this module's URL's `?config=` (the registry names one module URL per
 * target, so the traced child and the recovery processes load the same one).
 */
import path from 'node:path';
import { exportedFunction } from '../../nodefs/packageLoader.js';
import { sqliteContract } from '../../sqlite/sqliteContract.js';
import type { NodeFsContext, NodeFsStore } from '../../nodefs/nodeFsAdapter.js';
import {
  JOURNAL_MODES, parseSqliteTarget, SQLITE_FILE_NAME, SQLITE_OPEN_TABLE, SQLITE_SCHEMA, SQLITE_SELECT_ROWS, SQLITE_SELECT_TABLES, SYNCHRONOUS_LEVELS, sqliteStateOf, sqliteStatementOf, type SqliteConfig,
} from '../../sqlite/sqliteStore.js';
import { defineNativeAdapter, type NativeAdapter } from '../nativeAdapter.js';

interface Statement { run(...bindings: unknown[]): unknown; raw(): { all(): unknown[][] }; pluck(): { get(): unknown } }
interface Database {
  pragma(sql: string, options: { simple: true }): unknown;
  exec(sql: string): void;
  prepare(sql: string): Statement;
  transaction(fn: () => void): { immediate(): void };
  close(): void;
}

export const BETTER_SQLITE3_VERSION = '12.11.1';
/** `wal-default`: WAL, synchronous left at the library's compiled-in level for WAL (NORMAL). */
export const BETTER_SQLITE3_DEFAULTS = 'wal-default';
/** Every configuration: each `<journal>-<synchronous>` of the WebAssembly target, and the library's defaults. */
export const BETTER_SQLITE3_CONFIGS: readonly string[] = [...JOURNAL_MODES.flatMap((journal) => SYNCHRONOUS_LEVELS.map((level) => `${journal}-${level}`)), BETTER_SQLITE3_DEFAULTS];

const bytes = (value: unknown): unknown => (value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value);

/** The pragmas of the configuration, checked: `asked` null leaves synchronous at the library's default. */
function configure(db: Database, asked: SqliteConfig | null, effective: SqliteConfig): void {
  const mode = db.pragma(`journal_mode = ${effective.journal}`, { simple: true });
  if (mode !== effective.journal) throw new Error(`SQLite runs journal_mode ${String(mode)}, not ${effective.journal} as asked`);
  if (asked !== null) db.pragma(`synchronous = ${asked.synchronous}`, { simple: true });
  const level = db.pragma('synchronous', { simple: true });
  if (level !== SYNCHRONOUS_LEVELS.indexOf(effective.synchronous)) throw new Error(`SQLite runs synchronous=${String(level)}, not ${effective.synchronous}`);
  db.exec(SQLITE_SCHEMA);
}

async function openStore(dir: string, context: NodeFsContext, asked: SqliteConfig | null, effective: SqliteConfig): Promise<NodeFsStore> {
  const DatabaseClass = exportedFunction<new (file: string) => Database>(await context.load('better-sqlite3'));
  const file = path.join(dir, SQLITE_FILE_NAME);
  if (asked === null) {
    // SQLITE_DEFAULT_WAL_SYNCHRONOUS applies to a connection that opens a database already in WAL
    // mode (the one that switches it stays FULL): open once to switch, then as every later run of an app.
    const first = new DatabaseClass(file);
    first.pragma('journal_mode = wal', { simple: true });
    first.close();
  }
  const db = new DatabaseClass(file);
  try {
    configure(db, asked, effective);
  } catch (error) {
    db.close();
    throw error;
  }
  const prepared = new Map<string, Statement>();
  const statement = (sql: string): Statement => prepared.get(sql) ?? prepared.set(sql, db.prepare(sql)).get(sql)!;
  return {
    async apply(txn) {
      db.transaction(() => {
        for (const op of txn.ops) {
          statement(SQLITE_OPEN_TABLE).run(txn.family, op.table);
          const [sql, bindings] = sqliteStatementOf(txn.family, op);
          statement(sql).run(...bindings.map(bytes));
        }
      }).immediate();
    },
    async readState() {
      const problems = statement('PRAGMA integrity_check').raw().all().map((row) => String(row[0]));
      if (problems.length !== 1 || problems[0] !== 'ok') throw new Error(`PRAGMA integrity_check: ${problems.slice(0, 3).join('; ')}`);
      return sqliteStateOf(statement(SQLITE_SELECT_TABLES).raw().all(), statement(SQLITE_SELECT_ROWS).raw().all());
    },
    async close() {
      db.close();
    },
  };
}

/** The target `better-sqlite3:<configName>`; a TypeError for a configuration that does not exist. */
export function betterSqlite3Adapter(configName: string): NativeAdapter {
  const asked = configName === BETTER_SQLITE3_DEFAULTS ? null : parseSqliteTarget(`sqlite:${configName}`);
  const effective: SqliteConfig = asked ?? { journal: 'wal', synchronous: 'normal' };
  return defineNativeAdapter({
    tier: 'native',
    name: `better-sqlite3:${configName}`,
    description: asked === null ? 'better-sqlite3 with journal_mode=wal and the library\'s default synchronous (NORMAL in WAL)'
      : `better-sqlite3 with journal_mode=${effective.journal}, synchronous=${effective.synchronous}`,
    capabilities: { families: true, noneCommits: false, ranges: false, synchronous: false, transactions: true },
    contract: sqliteContract(effective),
    packages: { 'better-sqlite3': BETTER_SQLITE3_VERSION },
    freshBootId: false,
    open: (dir, context) => openStore(dir, context, asked, effective),
  });
}

export default betterSqlite3Adapter(new URL(import.meta.url).searchParams.get('config') ?? 'wal-full');
