/**
 * classic-level 3.0.0 (LevelDB 1.23 as a Node add-on; its binary ships prebuilt) as a native
 * target. Each transaction is one `db.batch()`: with `{ sync: true }` for an immediate commit,
 * `{ sync: false }` (the default) for a `none` one. LevelDB's documentation (doc/index.md,
 * "Synchronous Writes"): with sync "the write will be flushed from the operating system buffer
 * cache before the write is considered complete"; without, "if the machine crashes, some recent
 * writes may be lost"; a WriteBatch is applied atomically. So the contract is `durable` for the
 * synced commits (unsynced ones may be lost, the oracle allows that for `none` commits).
 * `LOCK`, `LOG` and `LOG.old` are not durable state (a lock and an info log).
 */
import { defineNativeAdapter } from '../nativeAdapter.js';
import { KV_CAPABILITIES, kvState, kvWritesOf, rowRange } from '../kvTables.js';

interface LevelIterator { all(): Promise<Array<[Buffer, Buffer]>> }
interface Level {
  open(): Promise<void>;
  close(): Promise<void>;
  batch(ops: Array<{ type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }>, options: { sync: boolean }): Promise<void>;
  iterator(options: { gte?: Buffer; lt?: Buffer }): LevelIterator;
  keys(options: { gte: Buffer; lt: Buffer }): { all(): Promise<Buffer[]> };
}
type LevelClass = new (location: string, options: { keyEncoding: 'buffer'; valueEncoding: 'buffer' }) => Level;

export default defineNativeAdapter({
  tier: 'native',
  name: 'classic-level',
  description: 'classic-level 3.0.0 (LevelDB): sync batches for immediate commits, unsynced for none',
  capabilities: KV_CAPABILITIES,
  contract: { level: 'durable', mayRollBackUnderDamage: true, refusalIsViolation: true, volatileFiles: ['LOCK', 'LOG', 'LOG.old'] },
  packages: { 'classic-level': '3.0.0' },
  freshBootId: false,
  async open(dir, context) {
    const { ClassicLevel } = await context.load('classic-level') as { ClassicLevel: LevelClass };
    const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return {
      async apply(txn) {
        const writes = await kvWritesOf(txn.ops, (table) => db.keys({ gte: rowRange(table).start, lt: rowRange(table).end }).all());
        await db.batch(writes.map((write) => (write.value === null ? { type: 'del', key: write.key } : { type: 'put', key: write.key, value: write.value })), { sync: txn.durability === 'immediate' });
      },
      async readState() {
        return kvState(await db.iterator({}).all());
      },
      async close() {
        await db.close();
      },
    };
  },
});
