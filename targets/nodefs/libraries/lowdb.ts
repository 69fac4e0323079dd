/**
 * lowdb 7.0.1 (with steno 4.0.2) as a node-fs target: the state is `db.data`, a transaction
 * changes it and `await db.write()` acknowledges it. steno writes `.<file>.tmp` with
 * `writeFile` and renames it over the file, with no fsync of the data or the directory.
 * Its documentation promises "Safe atomic writes" (lowdb) and "No partial writes (writes are
 * atomic)" (steno), nothing about durability: the contract is `atomic`, and a file the store
 * cannot read back (an empty `db.json`, lowdb#549) is a refusal that breaks it.
 */
import path from 'node:path';
import { defineNodeFsAdapter, type NodeFsStore } from '../nodeFsAdapter.js';
import { applyOps, ONLY_FAMILY, SINGLE_FAMILY, stateOf, type JsonTables } from '../jsonTables.js';

interface LowModule {
  JSONFile: new (file: string) => unknown;
}
interface LowCore {
  Low: new (adapter: unknown, defaults: { tables: JsonTables }) => { data: { tables: JsonTables }; read(): Promise<void>; write(): Promise<void> };
}

export default defineNodeFsAdapter({
  tier: 'node-fs',
  name: 'lowdb',
  description: 'lowdb 7.0.1 JSONFile (steno: write a temp file, rename; documented "safe atomic writes")',
  capabilities: { ...SINGLE_FAMILY, transactions: true },
  contract: { level: 'atomic', mayRollBackUnderDamage: true, refusalIsViolation: true, volatileFiles: [] },
  packages: { lowdb: '7.0.1' },
  async open(dir, context): Promise<NodeFsStore> {
    const node = await context.load('lowdb/node') as LowModule;
    const core = await context.load('lowdb') as LowCore;
    const db = new core.Low(new node.JSONFile(path.join(dir, 'db.json')), { tables: {} });
    await db.read();
    return {
      async apply(txn) {
        applyOps(db.data.tables, txn.ops);
        await db.write();
      },
      async readState() {
        return stateOf(ONLY_FAMILY, db.data.tables);
      },
      async close() {},
    };
  },
});
