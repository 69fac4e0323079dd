/**
 * The logical state in a key-value engine (LevelDB, LMDB, an SQLite table of blobs): what the
 * native adapters share, so the state's encoding is written once. A table that exists is a
 * marker key `T<table>` (empty value; every operation opens its table, as in the model, so an
 * empty table survives); a row is `R<table>\0<key bytes>` → the value's bytes. A transaction's
 * operations become one batch of puts and deletes, applied in order (a clear deletes the rows
 * the engine holds and the ones inserted earlier in the same transaction).
 */
import { toHex } from '../../model/commitHistory.js';
import type { TargetOp, TargetState } from '../target.js';

/** A put (value) or a delete (null), in batch order. */
export interface KvWrite { readonly key: Buffer; readonly value: Buffer | null }

const FAMILY = 'f0';

export function tableKey(table: string): Buffer {
  return Buffer.from(`T${table}`, 'utf8');
}

/** The first key of a table's rows, and the first key after them (for range scans). */
export function rowRange(table: string): { start: Buffer; end: Buffer } {
  return { start: Buffer.from(`R${table}\0`, 'utf8'), end: Buffer.from(`R${table}\u0001`, 'utf8') };
}

function rowKey(table: string, key: Uint8Array): Buffer {
  return Buffer.concat([rowRange(table).start, key]);
}

/** The batch for `ops`; `rowsOf(table)` gives the keys of the table's rows the engine holds now. */
export async function kvWritesOf(ops: readonly TargetOp[], rowsOf: (table: string) => Promise<Buffer[]>): Promise<KvWrite[]> {
  const overlay = new Map<string, KvWrite>();
  const set = (key: Buffer, value: Buffer | null): void => {
    const id = key.toString('hex');
    overlay.delete(id);
    overlay.set(id, { key, value });
  };
  for (const op of ops) {
    set(tableKey(op.table), Buffer.alloc(0));
    if (op.op === 'insert') set(rowKey(op.table, op.key), Buffer.from(op.value));
    else if (op.op === 'remove') set(rowKey(op.table, op.key), null);
    else {
      const { start } = rowRange(op.table);
      const inTxn = [...overlay.values()].filter((write) => write.value !== null && write.key.subarray(0, start.length).equals(start)).map((write) => write.key);
      for (const key of [...await rowsOf(op.table), ...inTxn]) set(key, null);
    }
  }
  return [...overlay.values()];
}

/** The model's form of the engine's entries (every key, in any order). */
export function kvState(entries: Iterable<readonly [Uint8Array, Uint8Array]>): TargetState {
  const tables = new Map<string, Map<string, string>>();
  const state: TargetState = new Map([[FAMILY, tables]]);
  for (const [rawKey, value] of entries) {
    const key = Buffer.from(rawKey);
    if (key[0] === 0x54) {
      const table = key.subarray(1).toString('utf8');
      if (!tables.has(table)) tables.set(table, new Map<string, string>());
      continue;
    }
    const zero = key.indexOf(0);
    if (key[0] !== 0x52 || zero < 0) throw new TypeError(`the engine holds a key crashlab never wrote: ${key.toString('hex').slice(0, 40)}`);
    const table = key.subarray(1, zero).toString('utf8');
    if (!tables.has(table)) tables.set(table, new Map());
    tables.get(table)!.set(toHex(key.subarray(zero + 1)), toHex(value));
  }
  return state;
}

/** Capabilities of these engines: one family, immediate and unsynced commits, no ranges, promise-based. */
export const KV_CAPABILITIES = { families: false, noneCommits: true, ranges: false, synchronous: false, transactions: true } as const;
