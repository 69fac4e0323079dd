/**
 * write-file-atomic 7.0.1 as a node-fs target: the state is one JSON file, rewritten whole by
 * `writeFileAtomic(file, json)` per transaction with the default options (`fsync: true`: the
 * temporary file is fsynced, then renamed over the file; the directory is not fsynced). Its
 * documentation promises that the write is atomic ("Atomically and asynchronously writes data
 * to a file, replacing the file if it already exists"), not that it is durable once the call
 * returns: the contract is `atomic`; a lost acknowledged write is reported as a finding.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { defineNodeFsAdapter, type NodeFsStore } from '../nodeFsAdapter.js';
import { exportedFunction } from '../packageLoader.js';
import { applyOps, ONLY_FAMILY, SINGLE_FAMILY, stateOf, type JsonTables } from '../jsonTables.js';

type WriteFileAtomic = (file: string, data: string) => Promise<void>;

export default defineNodeFsAdapter({
  tier: 'node-fs',
  name: 'write-file-atomic',
  description: 'write-file-atomic 7.0.1 (write + fsync a temp file, rename; no directory fsync)',
  capabilities: { ...SINGLE_FAMILY, transactions: true },
  contract: { level: 'atomic', mayRollBackUnderDamage: true, refusalIsViolation: true, volatileFiles: [] },
  packages: { 'write-file-atomic': '7.0.1' },
  async open(dir, context): Promise<NodeFsStore> {
    const writeFileAtomic = exportedFunction<WriteFileAtomic>(await context.load('write-file-atomic'));
    const file = path.join(dir, 'store.json');
    let tables: JsonTables = {};
    const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null; // a new store
      throw error;
    });
    if (text !== null) tables = JSON.parse(text) as JsonTables;
    return {
      async apply(txn) {
        applyOps(tables, txn.ops);
        await writeFileAtomic(file, JSON.stringify(tables));
      },
      async readState() {
        return stateOf(ONLY_FAMILY, tables);
      },
      async close() {},
    };
  },
});
