/**
 * SQLite as a store under crash test: one database file (with its journal or WAL beside it)
 * on a crashlab `Vfs`, every family a table of it (so there is one global commit order), each
 * logical table a name inside that table's rows. A transaction of logical operations is one
 * `BEGIN IMMEDIATE … COMMIT`; resolving means SQLite returned from COMMIT (acknowledged).
 *
 * The configuration is SQLite's own: `journal_mode` and `synchronous`, named
 * `sqlite:<journal>-<synchronous>`; `open` checks that SQLite really runs in the mode asked
 * for (WAL silently stays `delete` without shared memory, for one).
 */
import type { Vfs } from '../../engine/storage.js';
import { SQLITE } from './sqliteCodes.js';
import { toHex } from '../../model/commitHistory.js';
import type { Clock, DeviceTraits, TargetOp, TargetState } from '../target.js';
import { SqliteVfsBridge } from './sqliteVfsBridge.js';
import { loadWaSqlite, type SqliteApi, type WaSqlite } from './waSqlite.js';

export const JOURNAL_MODES = ['delete', 'truncate', 'persist', 'wal', 'memory', 'off'] as const;
export const SYNCHRONOUS_LEVELS = ['off', 'normal', 'full', 'extra'] as const;
export type JournalMode = (typeof JOURNAL_MODES)[number];
export type SynchronousLevel = (typeof SYNCHRONOUS_LEVELS)[number];

export interface SqliteConfig {
  readonly journal: JournalMode;
  readonly synchronous: SynchronousLevel;
}

/** `sqlite:wal-full` → its configuration; anything else is a TypeError naming what is wrong. */
export function parseSqliteTarget(name: string): SqliteConfig {
  const match = /^sqlite:([a-z]+)-([a-z]+)$/.exec(name);
  const journal = match?.[1] as JournalMode | undefined;
  const synchronous = match?.[2] as SynchronousLevel | undefined;
  if (journal === undefined || !JOURNAL_MODES.includes(journal)) {
    throw new TypeError(`${JSON.stringify(name)} is not sqlite:<journal>-<synchronous> with journal one of ${JOURNAL_MODES.join(', ')}`);
  }
  if (synchronous === undefined || !SYNCHRONOUS_LEVELS.includes(synchronous)) {
    throw new TypeError(`${JSON.stringify(name)}: synchronous must be one of ${SYNCHRONOUS_LEVELS.join(', ')}`);
  }
  return { journal, synchronous };
}

export const SQLITE_FILE_NAME = 'crash.db';
const VFS_NAME = 'crashlab';
/**
 * Two tables hold every family: `tables` names each logical table (an empty one exists too: any
 * operation opens its table, as in the model), `kv` holds the rows, (family, tbl, key) → value.
 */
export const SQLITE_SCHEMA = 'CREATE TABLE IF NOT EXISTS tables (family TEXT NOT NULL, tbl TEXT NOT NULL, PRIMARY KEY (family, tbl)) WITHOUT ROWID; '
  + 'CREATE TABLE IF NOT EXISTS kv (family TEXT NOT NULL, tbl TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, PRIMARY KEY (family, tbl, key)) WITHOUT ROWID';
export const SQLITE_OPEN_TABLE = 'INSERT OR IGNORE INTO tables (family, tbl) VALUES (?, ?)';
/** The rows' and the tables' SELECTs, in the order readState reads them. */
export const SQLITE_SELECT_TABLES = 'SELECT family, tbl FROM tables';
export const SQLITE_SELECT_ROWS = 'SELECT family, tbl, key, value FROM kv ORDER BY family, tbl, key';

/** One logical operation of `family` as SQL and its bindings (after SQLITE_OPEN_TABLE for its table). */
export function sqliteStatementOf(family: string, op: TargetOp): [string, unknown[]] {
  return op.op === 'insert'
    // wa-sqlite binds an empty Uint8Array as NULL: coalesce gives back the empty blob it was.
    ? ['INSERT OR REPLACE INTO kv (family, tbl, key, value) VALUES (?, ?, coalesce(?, X\'\'), coalesce(?, X\'\'))', [family, op.table, op.key, op.value]]
    : op.op === 'remove'
      ? ['DELETE FROM kv WHERE family = ? AND tbl = ? AND key = ?', [family, op.table, op.key]]
      : ['DELETE FROM kv WHERE family = ? AND tbl = ?', [family, op.table]];
}

/** The model's form of the rows of SQLITE_SELECT_TABLES and SQLITE_SELECT_ROWS. */
export function sqliteStateOf(tableRows: Iterable<readonly unknown[]>, kvRows: Iterable<readonly unknown[]>): TargetState {
  const state: TargetState = new Map();
  const tableOf = (family: string, table: string): Map<string, string> => {
    let tables = state.get(family);
    if (tables === undefined) state.set(family, tables = new Map<string, Map<string, string>>());
    let entries = tables.get(table);
    if (entries === undefined) tables.set(table, entries = new Map<string, string>());
    return entries;
  };
  for (const row of tableRows) tableOf(String(row[0]), String(row[1]));
  // A row whose table is not named is itself a finding: it shows up as a table the model lacks.
  for (const row of kvRows) {
    const [family, table, key, value] = row as [string, string, Uint8Array, Uint8Array];
    tableOf(family, table).set(toHex(key), toHex(value));
  }
  return state;
}

let bridge: { sqlite: WaSqlite; bridge: SqliteVfsBridge } | null = null;

async function sharedBridge(): Promise<{ sqlite: WaSqlite; bridge: SqliteVfsBridge }> {
  if (bridge !== null) return bridge;
  const sqlite = await loadWaSqlite();
  const vfs = new SqliteVfsBridge(VFS_NAME, sqlite.module);
  // The default VFS: SQLite seeds its PRNG from the default VFS's xRandomness.
  const rc = sqlite.sqlite3.vfs_register(vfs, true);
  if (rc !== SQLITE.OK) throw new Error(`sqlite3_vfs_register failed with ${rc}`);
  bridge = { sqlite, bridge: vfs };
  return bridge;
}

export class SqliteStore {
  private closed = false;
  private readonly prepared = new Map<string, number>();

  private constructor(private readonly sqlite3: SqliteApi, private readonly vfs: SqliteVfsBridge, private readonly db: number,
    readonly config: SqliteConfig) {}

  /** The SQLite build under test (package, SQLite version, wasm hash). */
  static async identity(): Promise<string> {
    return (await sharedBridge()).sqlite.identity;
  }

  /**
   * Opens (creating when absent) the database on `vfs`; SQLite's PRNG is reset and reseeded
   * from `seed`, so a case's journal nonces and WAL salts are its own.
   */
  static async open(vfs: Vfs, config: SqliteConfig, device: DeviceTraits, seed: number, clock: Clock = () => 0): Promise<SqliteStore> {
    const shared = await sharedBridge();
    shared.bridge.mount(vfs, device, seed, clock);
    shared.sqlite.module._sqlite3_randomness(0, 0);
    let db = 0;
    try {
      db = await shared.sqlite.sqlite3.open_v2(SQLITE_FILE_NAME, SQLITE.OPEN_READWRITE | SQLITE.OPEN_CREATE, VFS_NAME);
      const store = new SqliteStore(shared.sqlite.sqlite3, shared.bridge, db, config);
      await store.configure();
      return store;
    } catch (error) {
      if (db !== 0) await shared.sqlite.sqlite3.close(db).catch(() => undefined);
      shared.bridge.unmount();
      throw error;
    }
  }

  private async configure(): Promise<void> {
    const mode = await this.scalar(`PRAGMA journal_mode = ${this.config.journal}`);
    if (mode !== this.config.journal) throw new Error(`SQLite runs journal_mode ${String(mode)}, not ${this.config.journal} as asked`);
    await this.sqlite3.exec(this.db, `PRAGMA synchronous = ${this.config.synchronous}`);
    const level = await this.scalar('PRAGMA synchronous');
    if (level !== SYNCHRONOUS_LEVELS.indexOf(this.config.synchronous)) throw new Error(`SQLite runs synchronous=${String(level)}, not ${this.config.synchronous}`);
    await this.sqlite3.exec(this.db, SQLITE_SCHEMA);
  }

  private async scalar(sql: string): Promise<unknown> {
    let value: unknown;
    await this.sqlite3.exec(this.db, sql, (row) => {
      value ??= row[0];
    });
    return value;
  }

  /** The last error the crashlab VFS raised under SQLite (its code says less). */
  get lastVfsError(): unknown {
    return this.vfs.lastError;
  }

  /** One transaction of `family`; resolves once SQLite's COMMIT returned (acknowledged). */
  async apply(family: string, ops: readonly TargetOp[]): Promise<void> {
    this.checkOpen();
    await this.statement('BEGIN IMMEDIATE', []);
    try {
      for (const op of ops) await this.run(family, op);
    } catch (error) {
      await this.statement('ROLLBACK', []).catch(() => undefined);
      throw error;
    }
    await this.statement('COMMIT', []);
  }

  private async run(family: string, op: TargetOp): Promise<void> {
    await this.statement(SQLITE_OPEN_TABLE, [family, op.table]);
    const [sql, bindings] = sqliteStatementOf(family, op);
    await this.statement(sql, bindings);
  }

  /**
   * Runs one statement, prepared once per connection (preparing costs more than running), and
   * hands each row it returns to `onRow`.
   */
  private async statement(sql: string, bindings: unknown[], onRow?: (row: unknown[]) => void): Promise<void> {
    let statement = this.prepared.get(sql);
    if (statement === undefined) {
      for await (const first of this.sqlite3.statements(this.db, sql, { unscoped: true })) {
        statement = first;
        break;
      }
      if (statement === undefined) throw new TypeError(`no statement in ${sql}`);
      this.prepared.set(sql, statement);
    }
    if (bindings.length > 0) this.sqlite3.bind_collection(statement, bindings);
    try {
      while (await this.sqlite3.step(statement) === SQLITE.ROW) onRow?.(this.sqlite3.row(statement));
    } finally {
      // reset repeats a failed step's error: the step's own is the one to report
      await this.sqlite3.reset(statement).catch(() => undefined);
    }
  }

  /** Finalizes the prepared statements (before the connection closes). */
  private async finalizeAll(): Promise<void> {
    // finalize reports no errors (a failed statement's error was reported when it ran)
    for (const statement of this.prepared.values()) await this.sqlite3.finalize(statement);
    this.prepared.clear();
  }

  /** Every row, in the model's terms (hex keys and values), through one SELECT. */
  async readState(): Promise<TargetState> {
    this.checkOpen();
    const tables: unknown[][] = [];
    const rows: unknown[][] = [];
    await this.statement(SQLITE_SELECT_TABLES, [], (row) => tables.push(row));
    await this.statement(SQLITE_SELECT_ROWS, [], (row) => rows.push(row));
    return sqliteStateOf(tables, rows);
  }

  /** `PRAGMA integrity_check`: the problems it names (empty when it says `ok`). */
  async integrityProblems(): Promise<string[]> {
    this.checkOpen();
    const rows: string[] = [];
    await this.statement('PRAGMA integrity_check', [], (row) => {
      rows.push(String(row[0]));
    });
    return rows.length === 1 && rows[0] === 'ok' ? [] : rows;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.finalizeAll();
      await this.sqlite3.close(this.db);
    } finally {
      this.vfs.unmount();
    }
  }

  /**
   * After a crash the handles are dead: drop the connection without flushing anything more
   * (the crashed Vfs refuses every call; SQLite's errors on the way out are expected).
   */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.finalizeAll().catch(() => undefined);
    await this.sqlite3.close(this.db).catch(() => undefined);
    this.vfs.unmount();
  }

  private checkOpen(): void {
    if (this.closed) throw new TypeError('the SQLite store is closed');
  }
}
