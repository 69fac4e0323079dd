/**
 * The wire between a kill worker (killWorker.ts, the child) and its parent (processKill.ts):
 * the worker's arguments, with every byte string as hex so a workload survives JSON, and the
 * report lines the worker prints. One module for both sides, so the two cannot drift apart.
 */
import type { ColumnFamilyOptions } from '../engine/columnFamilyDatabase.js';
import type { FamilyChange, ModelOp } from '../model/commitHistory.js';
import type { Step, Workload } from './crashWorkload.js';
import { expandOps } from './workloadShapes.js';

/** 'plain': the child writes real files directly; 'power': through a WriteBackVfs (fault/). */
export type KillTier = 'plain' | 'power';

export type WireOp =
  | { readonly op: 'insert'; readonly table: string; readonly key: string; readonly value: string }
  | { readonly op: 'remove'; readonly table: string; readonly key: string }
  | { readonly op: 'removeRange'; readonly table: string; readonly start?: string | undefined; readonly end?: string | undefined }
  | { readonly op: 'clear' | 'create' | 'delete'; readonly table: string };

export interface WireTxn {
  readonly family: number;
  readonly ops: readonly WireOp[];
  readonly durability: 'immediate' | 'none';
  readonly abort: boolean;
}

export type WireStep =
  | { readonly kind: 'txns'; readonly txns: readonly WireTxn[] }
  | { readonly kind: 'checkpoint' }
  | { readonly kind: 'reopen' }
  | { readonly kind: 'drop'; readonly family: number }
  /** Held snapshots are checked in memory only (crashWorkload.ts); the worker passes over them. */
  | { readonly kind: 'snapshot'; readonly family: number; readonly from: number; readonly to: number };

export interface WireWorkload {
  readonly store: 'families' | 'single';
  readonly families: number;
  readonly options: ColumnFamilyOptions;
  readonly steps: readonly WireStep[];
  readonly scheduleSeed: number;
}

export interface KillWorkerArgs {
  /** The database directory (it exists; the parent holds the campaign lock on it). */
  readonly dir: string;
  readonly tier: KillTier;
  readonly workload: WireWorkload;
  /** Seeds the fresh values of the workload's later rounds. */
  readonly seed: number;
  /** Absolute path of an engine index.js to run instead of the reference one (a planted bug). */
  readonly engineModule?: string;
}

/** One line of the worker's stdout. `i` numbers commits in issue order, from 0. */
export type ReportLine =
  | { readonly t: 'family'; readonly name: string }
  | {
    readonly t: 'issue'; readonly i: number; readonly family: string; readonly ops: readonly WireOp[]; readonly durability: 'immediate' | 'none';
    /** A family deletion or creation (a `drop` step); its ops are empty. */
    readonly change?: FamilyChange;
  }
  | { readonly t: 'ack'; readonly i: number }
  | { readonly t: 'fail'; readonly i: number; readonly detail: string }
  | { readonly t: 'error'; readonly kind: 'clean-reopen' | 'worker-error'; readonly detail: string };

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

function bytesOf(text: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) throw new Error(`kill protocol: ${JSON.stringify(text.slice(0, 40))} is not hex`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function opToWire(op: ModelOp): WireOp {
  if (op.op === 'insert') return { op: 'insert', table: op.table, key: hex(op.key), value: hex(op.value) };
  if (op.op === 'remove') return { op: 'remove', table: op.table, key: hex(op.key) };
  if (op.op === 'removeRange') return { op: 'removeRange', table: op.table, start: op.start && hex(op.start), end: op.end && hex(op.end) };
  return { op: op.op, table: op.table };
}

export function opFromWire(op: WireOp): ModelOp {
  if (op.op === 'insert') return { op: 'insert', table: op.table, key: bytesOf(op.key), value: bytesOf(op.value) };
  if (op.op === 'remove') return { op: 'remove', table: op.table, key: bytesOf(op.key) };
  if (op.op === 'removeRange') {
    return { op: 'removeRange', table: op.table, start: op.start === undefined ? undefined : bytesOf(op.start), end: op.end === undefined ? undefined : bytesOf(op.end) };
  }
  return { op: op.op, table: op.table };
}

export function workloadToWire(workload: Workload): WireWorkload {
  // A clock is a live object: it cannot cross a process boundary, and the worker needs none.
  if (workload.options.clock !== undefined) throw new TypeError('a kill workload cannot carry a clock');
  const steps = workload.steps.map((step): WireStep => step.kind !== 'txns' ? step
    // Bulk specs cross expanded (no engine here to name a key limit: no key is drawn past it).
    : { kind: 'txns', txns: step.txns.map((txn) => ({ ...txn, ops: expandOps(txn.ops, undefined).map(opToWire) })) });
  return { store: workload.store ?? 'families', families: workload.families, options: workload.options, steps, scheduleSeed: workload.scheduleSeed };
}

export function workloadFromWire(wire: WireWorkload): Workload {
  const steps = wire.steps.map((step): Step => step.kind !== 'txns' ? step
    : { kind: 'txns', txns: step.txns.map((txn) => ({ ...txn, ops: txn.ops.map(opFromWire) })) });
  return { store: wire.store, families: wire.families, options: wire.options, steps, scheduleSeed: wire.scheduleSeed };
}

const isIndex = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Parses one complete report line; throws on anything the worker never prints. */
export function parseReportLine(text: string): ReportLine {
  const line = JSON.parse(text) as Partial<Record<string, unknown>>;
  const fine = (line.t === 'family' && typeof line.name === 'string')
    || (line.t === 'issue' && isIndex(line.i) && typeof line.family === 'string' && Array.isArray(line.ops)
      && (line.durability === 'immediate' || line.durability === 'none')
      && (line.change === undefined || line.change === 'drop' || line.change === 'create'))
    || ((line.t === 'ack' || line.t === 'fail') && isIndex(line.i))
    || (line.t === 'error' && typeof line.detail === 'string');
  if (!fine) throw new Error(`kill protocol: unexpected line ${text.slice(0, 200)}`);
  return line as unknown as ReportLine;
}
