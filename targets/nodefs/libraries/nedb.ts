/**
 * @seald-io/nedb 4.1.2 as a node-fs target: one document per table, `{ _id: table, rows }`;
 * an operation is one `updateAsync` (upsert), which nedb persists by appending the whole new
 * document as a line with `appendFile`, no fsync; loading replays the lines and compacts the
 * file (write `<file>~`, fsync, rename, fsync the directory). nedb has no multi-operation
 * transactions, so the workload commits one operation at a time. Its documentation
 * (lib/persistence.js) promises: "a server crash can never cause complete data loss ... The
 * worst that can happen is a crash between two syncs, causing a loss of all data between the
 * two syncs": the contract is `prefix`, and refusing to start ("Cautiously refusing to start
 * NeDB", more than `corruptAlertThreshold` of the lines corrupt) breaks it.
 */
import path from 'node:path';
import { toHex } from '../../../model/commitHistory.js';
import { defineNodeFsAdapter, type NodeFsStore } from '../nodeFsAdapter.js';
import { exportedFunction } from '../packageLoader.js';
import { ONLY_FAMILY, SINGLE_FAMILY, stateOf, type JsonTables } from '../jsonTables.js';
import type { TargetOp } from '../../target.js';

interface Datastore {
  loadDatabaseAsync(): Promise<void>;
  updateAsync(query: object, update: object, options: { upsert: boolean }): Promise<unknown>;
  findAsync(query: object): Promise<Array<{ _id: string; rows: Record<string, string> }>>;
}
type DatastoreClass = new (options: { filename: string }) => Datastore;

/** The update of one operation: set or unset one row, or empty the table. */
function updateOf(op: TargetOp): object {
  if (op.op === 'insert') return { $set: { [`rows.${toHex(op.key)}`]: toHex(op.value) } };
  if (op.op === 'remove') return { $unset: { [`rows.${toHex(op.key)}`]: true } };
  return { $set: { rows: {} } };
}

export default defineNodeFsAdapter({
  tier: 'node-fs',
  name: 'nedb',
  description: '@seald-io/nedb 4.1.2 (append-only lines with appendFile, no fsync; compaction on load)',
  capabilities: { ...SINGLE_FAMILY, transactions: false },
  contract: { level: 'prefix', mayRollBackUnderDamage: true, refusalIsViolation: true, volatileFiles: [] },
  packages: { '@seald-io/nedb': '4.1.2' },
  async open(dir, context): Promise<NodeFsStore> {
    const Datastore = exportedFunction<DatastoreClass>(await context.load('@seald-io/nedb'));
    const db = new Datastore({ filename: path.join(dir, 'store.db') });
    await db.loadDatabaseAsync();
    return {
      async apply(txn) {
        // One operation per transaction (capabilities.transactions is false): one appended line.
        for (const op of txn.ops) await db.updateAsync({ _id: op.table }, updateOf(op), { upsert: true });
      },
      async readState() {
        const tables: JsonTables = {};
        for (const doc of await db.findAsync({})) tables[doc._id] = doc.rows ?? {};
        return stateOf(ONLY_FAMILY, tables);
      },
      async close() {},
    };
  },
});
