/**
 * The native tier of the target interface: an engine whose writes never pass through
 * JavaScript (better-sqlite3, lmdb, classic-level). Its adapter has the node-fs adapter's
 * shape (targets/nodefs/nodeFsAdapter.ts: `open(dir, context)` giving `apply`, `readState`,
 * `close`; `packages` installed on demand; the same capabilities and contract), with `tier:
 * 'native'`: its workload runs in a child under strace (captureSyscalls.ts), its crash images
 * are built from the system calls, and each is recovered in a fresh process (recoveryPool.ts
 * with `process`). `contract.volatileFiles` names what is never durable state (`LOCK`,
 * `lock.mdb`, a WAL index), left out of the trace and allowed to be mapped shared.
 */
import { checkTracedAdapter, type NodeFsAdapter } from '../nodefs/nodeFsAdapter.js';

export interface NativeAdapter extends Omit<NodeFsAdapter, 'tier'> {
  readonly tier: 'native';
  /**
   * The engine trusts state it wrote earlier in the same boot (lmdb-js's overlappingSync keeps
   * an unflushed meta page valid while the boot id is the same): recover under a fresh boot id,
   * as after a real power cut.
   */
  readonly freshBootId: boolean;
}

/** Checks a native adapter's shape; a TypeError names the first thing wrong. */
export function defineNativeAdapter(adapter: NativeAdapter): NativeAdapter {
  checkTracedAdapter(adapter, 'native');
  if (typeof adapter.freshBootId !== 'boolean') throw new TypeError(`native adapter ${JSON.stringify(adapter.name)}: freshBootId must be true or false`);
  if (!Array.isArray(adapter.contract.volatileFiles)) throw new TypeError(`native adapter ${JSON.stringify(adapter.name)}: contract.volatileFiles must be a list of file names`);
  return Object.freeze(adapter);
}
