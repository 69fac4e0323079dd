/**
 * Operations of real size in compact form: a bulk insert ("N keys from K in order O, keys of W
 * bytes, values of V bytes") kept as its spec in the case data, so that fast-check shrinks it as
 * five numbers and a saved failure stays small, and expanded deterministically into the model's
 * single-key operations when the workload runs. Keys are a key space of indices: index i in W
 * bytes is i big-endian in its first min(W, 4) bytes, then filler, so a range of indices is a
 * range of keys (`keyPrefix` bounds it) whatever the widths.
 *
 * A key wider than the engine stores is drawn as width 'over': the engine must refuse it with
 * TOO_LARGE, and the model leaves it out (a refused operation changes nothing).
 */
import { Prng } from '../fault/prng.js';
import type { ModelOp } from '../model/commitHistory.js';

/** Key width in bytes, or the engine's limit ('max'), or one byte past it ('over'). */
export type KeyWidth = number | 'max' | 'over';

export interface BulkInsert {
  readonly op: 'bulk';
  readonly table: string;
  /** The first key index. */
  readonly from: number;
  readonly count: number;
  readonly order: 'asc' | 'desc' | 'random';
  readonly width: KeyWidth;
  readonly valueBytes: number;
  /** Seeds the random order and the values' bytes. */
  readonly seed: number;
}

/**
 * Removes every `stride`-th key index of [from, from + count * stride), of every width: leaves
 * thinned all over, not emptied one after another, so underfull ones meet full siblings (the
 * entries are shared between them rather than merged).
 */
export interface BulkRemove {
  readonly op: 'bulkRemove';
  readonly table: string;
  readonly from: number;
  readonly count: number;
  readonly stride: number;
}

/** What a transaction spec holds: the model's operations and bulk specs. */
export type WorkloadOp = ModelOp | BulkInsert | BulkRemove;

/** A width when the engine names no limit: a key this long is taken by any engine worth testing. */
const UNKNOWN_LIMIT_BYTES = 64;

/** The widest key index bytes: 2^32 indices, more than any workload draws. */
const INDEX_BYTES = 4;

/** Key `index` in `widthBytes` bytes (see the file comment). */
export function bulkKey(index: number, widthBytes: number): Uint8Array {
  const key = new Uint8Array(widthBytes);
  const indexBytes = Math.min(widthBytes, INDEX_BYTES);
  for (let i = 0; i < indexBytes; i++) key[i] = (index >>> (8 * (indexBytes - 1 - i))) & 0xff;
  for (let i = indexBytes; i < widthBytes; i++) key[i] = (index * 31 + i * 7) & 0xff;
  return key;
}

/** The bound below every key of index >= `index` (of width 4 or more) and above the ones below it. */
export function keyPrefix(index: number): Uint8Array {
  return bulkKey(index, INDEX_BYTES);
}

function widthBytes(width: KeyWidth, keyLimitBytes: number | undefined): number {
  if (typeof width === 'number') return width;
  const limit = keyLimitBytes ?? UNKNOWN_LIMIT_BYTES;
  // Without a known limit there is no width the engine must refuse.
  return width === 'over' && keyLimitBytes !== undefined ? limit + 1 : limit;
}

function bulkValue(seed: number, index: number, lengthBytes: number): Uint8Array {
  const value = new Uint8Array(lengthBytes);
  const fill = (seed + index * 13) & 0xff;
  for (let i = 0; i < lengthBytes; i++) value[i] = (fill + i * 7) & 0xff;
  return value;
}

/** The key indices of a bulk insert, in its order. */
function bulkOrder(bulk: BulkInsert): number[] {
  const indices = Array.from({ length: bulk.count }, (_, i) => bulk.from + i);
  if (bulk.order === 'desc') indices.reverse();
  if (bulk.order === 'random') {
    const prng = new Prng(bulk.seed);
    for (let i = indices.length - 1; i > 0; i--) {
      const j = prng.below(i + 1);
      [indices[i], indices[j]] = [indices[j]!, indices[i]!];
    }
  }
  return indices;
}

/** The model's operations a spec stands for, refused ones included (see `refused`). */
export function expandOps(ops: readonly WorkloadOp[], keyLimitBytes: number | undefined): ModelOp[] {
  const out: ModelOp[] = [];
  for (const op of ops) {
    if (op.op === 'bulkRemove') {
      // One index at a time, every width at once: a range from the index's prefix to the next one's.
      for (let i = 0; i < op.count; i++) {
        const index = op.from + i * op.stride;
        out.push({ op: 'removeRange', table: op.table, start: keyPrefix(index), end: keyPrefix(index + 1) });
      }
      continue;
    }
    if (op.op !== 'bulk') {
      out.push(op);
      continue;
    }
    const width = widthBytes(op.width, keyLimitBytes);
    for (const index of bulkOrder(op)) {
      out.push({ op: 'insert', table: op.table, key: bulkKey(index, width), value: bulkValue(op.seed, index, op.valueBytes) });
    }
  }
  return out;
}

/** Whether the engine must refuse `op` (TOO_LARGE): a key past its limit. */
export function refused(op: ModelOp, keyLimitBytes: number | undefined): boolean {
  return keyLimitBytes !== undefined && op.op === 'insert' && op.key.length > keyLimitBytes;
}

/** One operation of a spec, short, for failure reports. */
export function describeOp(op: WorkloadOp): string {
  const hex = (bytes: Uint8Array | undefined): string => (bytes === undefined ? '' : Buffer.from(bytes).toString('hex'));
  switch (op.op) {
    case 'bulk': return `bulk:${op.table}[${op.count} keys from ${op.from} ${op.order}, width ${op.width}, ${op.valueBytes}B values]`;
    case 'bulkRemove': return `bulkRemove:${op.table}[${op.count} keys from ${op.from} every ${op.stride}]`;
    case 'removeRange': return `removeRange:${op.table}:[${hex(op.start)},${hex(op.end)})`;
    case 'insert': return `insert:${op.table}:${hex(op.key)}=${op.value.length}B`;
    case 'remove': return `remove:${op.table}:${hex(op.key)}`;
    default: return `${op.op}:${op.table}`;
  }
}
