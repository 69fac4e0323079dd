/**
 * What the parent (captureTrace.ts) and the traced child (preload.ts, childMain.ts) exchange:
 * the config in the environment variable CRASHLAB_TRACE_CONFIG, the workload in a JSON file
 * (keys and values as hex), and the child's result in a JSON file next to the trace.
 */
import type { TargetOp, TargetTxn } from '../target.js';

export const CONFIG_ENV = 'CRASHLAB_TRACE_CONFIG';

export interface ChildConfig {
  /** The traced root (exists, empty). */
  readonly root: string;
  readonly seed: number;
  /** An adapter module: an absolute path, a file: URL or a specifier import() resolves; its default export is the adapter. */
  readonly adapterModule: string;
  /** Package name → its installed folder (what `context.load(name)` imports). */
  readonly packages: Readonly<Record<string, string>>;
  readonly workloadFile: string;
  readonly traceFile: string;
  readonly resultFile: string;
}

export type ChildResult =
  | { readonly status: 'ok' }
  | { readonly status: 'refused'; readonly code: 'UNSUPPORTED_IO'; readonly message: string }
  | { readonly status: 'library-error'; readonly message: string; readonly txn: number | null }
  | { readonly status: 'harness-fault'; readonly code: 'TRACE_INCOMPLETE'; readonly message: string; readonly path: string };

type HexOp =
  | { readonly op: 'insert'; readonly table: string; readonly key: string; readonly value: string }
  | { readonly op: 'remove'; readonly table: string; readonly key: string }
  | { readonly op: 'clear'; readonly table: string };

interface HexTxn { readonly family: string; readonly ops: readonly HexOp[]; readonly durability: 'immediate' | 'none' }

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

export function workloadToJson(workload: readonly TargetTxn[]): string {
  const txns: HexTxn[] = workload.map((txn) => ({
    family: txn.family, durability: txn.durability,
    ops: txn.ops.map((op): HexOp => (op.op === 'insert' ? { ...op, key: hex(op.key), value: hex(op.value) } : op.op === 'remove' ? { ...op, key: hex(op.key) } : op)),
  }));
  return JSON.stringify(txns);
}

export function workloadFromJson(text: string): TargetTxn[] {
  const txns = JSON.parse(text) as HexTxn[];
  if (!Array.isArray(txns)) throw new TypeError('a workload is a JSON list of transactions');
  return txns.map((txn) => ({
    family: txn.family, durability: txn.durability,
    ops: txn.ops.map((op): TargetOp => (op.op === 'insert' ? { ...op, key: unhex(op.key), value: unhex(op.value) } : op.op === 'remove' ? { ...op, key: unhex(op.key) } : op)),
  }));
}
