/**
 * lmdb 3.5.6 (lmdb-js, LMDB with its overlappingSync extension) as a native target, with the
 * default options (overlappingSync on, no writemap, no noSync), binary keys and values. Each
 * transaction is one `db.batch()`. Its documentation (README, `put`): "Once the promise
 * resolves, the transaction will have been fully written to the physical storage medium
 * (durable commit, guaranteed available in the future ... even if there is power loss or
 * system crash)": the contract is `durable`. lmdb-js trusts the latest committed (not yet
 * flushed) meta page while the boot id is the same, so recovery runs under a fresh boot id
 * (bootNamespace.ts). The lock file is not durable state. With `useWritemap` the data file is
 * mapped shared and writable and the trace is refused (SHARED_MMAP): the `lmdb:writemap`
 * configuration exists to show that refusal.
 */
import path from 'node:path';
import type { NodeFsContext, NodeFsStore } from '../../nodefs/nodeFsAdapter.js';
import { defineNativeAdapter, type NativeAdapter } from '../nativeAdapter.js';
import { kvState, kvWritesOf, rowRange } from '../kvTables.js';

interface LmdbDb {
  batch(fn: () => void): Promise<unknown>;
  put(key: Buffer, value: Buffer): unknown;
  remove(key: Buffer): unknown;
  getKeys(options: { start?: Buffer; end?: Buffer }): { asArray: Buffer[] };
  getRange(options: Record<string, never>): { asArray: Array<{ key: Buffer; value: Buffer }> };
  close(): Promise<void>;
}
type Open = (options: { path: string; keyEncoding: 'binary'; encoding: 'binary'; useWritemap?: boolean }) => LmdbDb;

async function openStore(dir: string, context: NodeFsContext, writemap: boolean): Promise<NodeFsStore> {
  const { open } = await context.load('lmdb') as { open: Open };
  const db = open({ path: path.join(dir, 'data.mdb'), keyEncoding: 'binary', encoding: 'binary', ...(writemap ? { useWritemap: true } : {}) });
  return {
    async apply(txn) {
      const writes = await kvWritesOf(txn.ops, async (table) => db.getKeys({ start: rowRange(table).start, end: rowRange(table).end }).asArray);
      await db.batch(() => {
        for (const write of writes) {
          if (write.value === null) db.remove(write.key);
          else db.put(write.key, write.value);
        }
      });
    },
    async readState() {
      return kvState(db.getRange({}).asArray.map(({ key, value }) => [key, value] as const));
    },
    async close() {
      await db.close();
    },
  };
}

/** `lmdb` (default options) or `lmdb:writemap` (refused). */
export function lmdbAdapter(writemap: boolean): NativeAdapter {
  return defineNativeAdapter({
    tier: 'native',
    name: writemap ? 'lmdb:writemap' : 'lmdb',
    description: writemap ? 'lmdb 3.5.6 with useWritemap (refused: its writes go through a shared map)' : 'lmdb 3.5.6 with the default options (overlappingSync)',
    capabilities: { families: false, noneCommits: false, ranges: false, synchronous: false, transactions: true },
    contract: { level: 'durable', mayRollBackUnderDamage: true, refusalIsViolation: true, volatileFiles: ['data.mdb-lock'] },
    packages: { lmdb: '3.5.6' },
    freshBootId: true,
    open: (dir, context) => openStore(dir, context, writemap),
  });
}

export default lmdbAdapter(new URL(import.meta.url).searchParams.get('config') === 'writemap');
