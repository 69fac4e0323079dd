/**
 * Reads the complete logical state of a recovered database (every family, table and key) in
 * the model's representation, so the oracle can compare the two without trusting the engine.
 */
import { toHex, type LogicalState } from '../model/commitHistory.js';
import type { StoreUnderTest } from './storeUnderTest.js';

/** Reads every family's last committed state through ordinary read transactions. */
export async function readState(db: StoreUnderTest): Promise<LogicalState> {
  const state: LogicalState = new Map();
  for (const name of db.listColumnFamilies()) {
    const family = await db.columnFamily(name);
    const txn = family.beginRead();
    try {
      const tables = new Map<string, Map<string, string>>();
      for (const tableName of txn.listTables()) {
        const entries = new Map<string, string>();
        for (const [key, value] of txn.openTable(tableName).range()) entries.set(toHex(key), toHex(value));
        tables.set(tableName, entries);
      }
      state.set(name, tables);
    } finally {
      txn.close();
    }
  }
  return state;
}
