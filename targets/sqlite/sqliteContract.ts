/**
 * What SQLite's documentation promises each configuration after a power loss
 * (https://www.sqlite.org/pragma.html#pragma_synchronous, #pragma_journal_mode, and
 * https://www.sqlite.org/atomiccommit.html):
 * - FULL and EXTRA, in the rollback journals (truncate, persist) and WAL: `durable`, every
 *   commit that returned survives;
 * - delete with FULL: `prefix`: the journal's unlink is not followed by a directory sync, so a
 *   power loss just after COMMIT may bring the journal back and roll the commit back (EXTRA
 *   exists for exactly that);
 * - WAL with NORMAL: `prefix`: commits since the last checkpoint may roll back, the database
 *   never corrupts;
 * - NORMAL with a rollback journal, OFF, and the memory and off journals: `none` (the
 *   documentation allows corruption).
 * SQLite checks page contents only where its format forces it to: damage may be read as data,
 * so `mayRollBackUnderDamage` is true; -shm is never durable state.
 */
import type { ContractLevel, TargetContract } from '../target.js';
import type { SqliteConfig } from './sqliteStore.js';

export function sqliteContractLevel(config: SqliteConfig): ContractLevel {
  const { journal, synchronous } = config;
  if (journal === 'memory' || journal === 'off' || synchronous === 'off') return 'none';
  if (journal === 'wal') return synchronous === 'normal' ? 'prefix' : 'durable';
  if (synchronous === 'normal') return 'none';
  if (journal === 'delete' && synchronous === 'full') return 'prefix';
  return 'durable';
}

export function sqliteContract(config: SqliteConfig): TargetContract {
  return { level: sqliteContractLevel(config), mayRollBackUnderDamage: true, refusalIsViolation: true, volatileFiles: ['crash.db-shm'] };
}
