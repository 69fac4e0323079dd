/**
 * The logical state as a plain JSON object, table → hex key → hex value: what the stores that
 * keep one JSON document (lowdb, a write-file-atomic file, a user's JSON store) write. Applying
 * a transaction and reading the state back are the same for all of them, so they live here once.
 */
import { toHex } from '../../model/commitHistory.js';
import type { TargetOp, TargetState } from '../target.js';

export type JsonTables = Record<string, Record<string, string>>;

/** Applies `ops` to `tables` in place; every operation opens its table, as in the model. */
export function applyOps(tables: JsonTables, ops: readonly TargetOp[]): void {
  for (const op of ops) {
    const table = (tables[op.table] ??= {});
    if (op.op === 'insert') table[toHex(op.key)] = toHex(op.value);
    else if (op.op === 'remove') Reflect.deleteProperty(table, toHex(op.key));
    else tables[op.table] = {};
  }
}

/** The model's form of `tables` as the only family `family`; a TypeError if it is not JSON tables. */
export function stateOf(family: string, tables: unknown): TargetState {
  if (typeof tables !== 'object' || tables === null || Array.isArray(tables)) throw new TypeError(`the store holds ${JSON.stringify(tables)?.slice(0, 80)}, not tables`);
  const state: TargetState = new Map([[family, new Map<string, Map<string, string>>()]]);
  for (const [name, rows] of Object.entries(tables as Record<string, unknown>)) {
    if (typeof rows !== 'object' || rows === null) throw new TypeError(`table ${name} holds ${JSON.stringify(rows)}, not rows`);
    const table = new Map<string, string>();
    for (const [key, value] of Object.entries(rows as Record<string, unknown>)) {
      if (typeof value !== 'string') throw new TypeError(`table ${name} key ${key} holds ${JSON.stringify(value)}, not a hex value`);
      table.set(key, value);
    }
    state.get(family)?.set(name, table);
  }
  return state;
}

/** The one family of the single-family stores. */
export const ONLY_FAMILY = 'f0';

/** Capabilities of a store with one family, immediate commits, no ranges, promise-based. */
export const SINGLE_FAMILY = { families: false, noneCommits: false, ranges: false, synchronous: false } as const;
