/**
 * SQLite as a built-in target, `sqlite:<journal>-<synchronous>`: every family a namespace of
 * one database (one global commit order), `PRAGMA integrity_check` as its integrity check, the
 * contract its documentation gives the configuration (sqliteContract.ts). It runs synchronously
 * inside WebAssembly, one open store per process at a time.
 */
import { defineTarget, type Target } from '../target.js';
import { sqliteContract } from './sqliteContract.js';
import { JOURNAL_MODES, SYNCHRONOUS_LEVELS, SqliteStore, parseSqliteTarget } from './sqliteStore.js';

export function sqliteTarget(name: string): Target {
  const config = parseSqliteTarget(name);
  return defineTarget({
    name,
    description: `SQLite (wa-sqlite) with journal_mode=${config.journal}, synchronous=${config.synchronous}`,
    capabilities: { families: true, noneCommits: false, ranges: false, synchronous: true },
    contract: sqliteContract(config),
    identity: () => SqliteStore.identity(),
    async open(vfs, context) {
      const store = await SqliteStore.open(vfs, config, context.device, context.seed, context.clock);
      return {
        apply: (txn) => store.apply(txn.family, txn.ops),
        readState: () => store.readState(),
        integrityProblems: () => store.integrityProblems(),
        close: () => store.close(),
        abandon: () => store.abandon(),
      };
    },
  });
}

/** Every SQLite configuration's target name. */
export const SQLITE_TARGET_NAMES: readonly string[] = JOURNAL_MODES.flatMap((journal) => SYNCHRONOUS_LEVELS.map((level) => `sqlite:${journal}-${level}`));
