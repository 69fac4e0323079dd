/**
 * The reference engine (engine/, the column-family database with its shared WAL) seen through
 * the public target interface: what an outside engine's adapter looks like when the engine is
 * ours. The campaign of `crashlab run` drives the engine directly, with its own capabilities
 * (mutants, second lives, the digest fast path); this adapter is the same engine under the
 * harness's target-neutral path, so both paths can be held against each other.
 */
import { ColumnFamilyDatabase, type ColumnFamilyOptions } from '../../engine/columnFamilyDatabase.js';
import { readState } from '../../recovery/readState.js';
import { defineTarget, type Target, type TargetTxn } from '../target.js';

const DEFAULT_OPTIONS: ColumnFamilyOptions = { wal: true, barrier: 'always', pageBytes: 4096 };

export function referenceTarget(options: ColumnFamilyOptions = DEFAULT_OPTIONS): Target {
  return defineTarget({
    name: 'reference',
    description: 'crashlab\'s reference engine: copy-on-write B-tree, column families in one file, a shared WAL with group commit',
    // Without a WAL each family has its own commit order; this adapter keeps the shared log.
    capabilities: { families: true, noneCommits: true, ranges: true, synchronous: false },
    contract: { level: 'durable', mayRollBackUnderDamage: false, refusalIsViolation: true, volatileFiles: [] },
    identity: () => Promise.resolve('crashlab reference engine (engine/*.ts)'),
    async open(vfs) {
      if (options.wal === false) throw new TypeError('the reference target keeps the shared WAL (one commit order)');
      const db = await ColumnFamilyDatabase.open(vfs, options);
      return {
        apply: (txn) => apply(db, txn),
        readState: () => readState(db),
        integrityProblems: async () => {
          const problems: string[] = [];
          for (const name of db.listColumnFamilies()) problems.push(...(await db.columnFamily(name)).checkIntegrity().problems);
          return problems;
        },
        close: () => db.close(),
        abandon: () => db.close().catch(() => undefined),
      };
    },
  });
}

async function apply(db: ColumnFamilyDatabase, txn: TargetTxn): Promise<void> {
  const family = await db.columnFamily(txn.family);
  const write = await family.beginWrite();
  try {
    for (const op of txn.ops) {
      const table = write.openTable(op.table);
      if (op.op === 'insert') table.insert(op.key, op.value);
      else if (op.op === 'remove') table.remove(op.key);
      else table.clear();
    }
  } catch (error) {
    write.abort();
    throw error;
  }
  await write.commit({ durability: txn.durability });
}
