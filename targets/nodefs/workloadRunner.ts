/**
 * The traced workload, the same in both traced tiers' children (node-fs: childMain.ts; native:
 * targets/native/nativeChildMain.ts): open the store, then for each transaction a marker
 * `issued`, the library's apply, a marker `acked` once it resolved; then a clean close. A
 * library error ends the run and names the transaction it happened in (null: open or close).
 */
import type { TargetTxn } from '../target.js';
import type { NodeFsStore } from './nodeFsAdapter.js';

export interface WorkloadRun {
  readonly open: () => Promise<NodeFsStore>;
  readonly workload: readonly TargetTxn[];
  readonly marker: (marker: 'issued' | 'acked', txn: number) => void;
}

export interface LibraryFailure { readonly message: string; readonly txn: number | null }

export async function runWorkload(run: WorkloadRun): Promise<LibraryFailure | null> {
  let store: NodeFsStore;
  try {
    store = await run.open();
  } catch (error) {
    return { message: messageOf(error), txn: null };
  }
  let failure: LibraryFailure | null = null;
  for (const [index, txn] of run.workload.entries()) {
    run.marker('issued', index);
    try {
      await store.apply(txn);
    } catch (error) {
      failure = { message: messageOf(error), txn: index };
      break;
    }
    run.marker('acked', index);
  }
  try {
    await store.close();
  } catch (error) {
    failure ??= { message: messageOf(error), txn: null };
  }
  return failure;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
