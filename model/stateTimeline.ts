/**
 * The model's states without whole-state copies: a frozen base (the state a case starts from,
 * shared by every prefix and never mutated) with the changes of later commits laid over it,
 * per table. Applying a commit costs its operations (a clear or a delete costs the table), and
 * keeps each family's digest (model/stateDigest.ts) up to date, so the digest after every
 * prefix of an order of commits costs one pass over the order's operations.
 *
 * Pure data: no I/O, no clock, no randomness, no engine import.
 */
import type { CommitRecord, LogicalState, ModelOp } from './commitHistory.js';
import {
  addDigests, digestOfState, entryHasher, familyMark, fromHex, subtractDigests, tableMark, type EntryHash,
} from './stateDigest.js';

function toHexBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const tableId = (family: string, table: string): string => `${family}\0${table}`;

/** A state every prefix shares: never mutated once frozen. */
export class FrozenBase {
  /** Each family's digest (its tables, without its mark). */
  readonly digests: ReadonlyMap<string, number>;
  private readonly sorted = new Map<string, readonly string[]>();

  /**
   * `digests`: each family's digest of `state`, when the caller summed it from the same entries
   * (a state read in full, recovery/readState.ts); else computed here (a hash per entry).
   */
  constructor(readonly state: LogicalState, digests?: ReadonlyMap<string, number>) {
    if (digests !== undefined && ![...state.keys()].every((family) => digests.has(family))) throw new Error('model assertion failed: a digest for every family of the state');
    this.digests = digests ?? digestOfState(state).families;
  }

  static readonly EMPTY = new FrozenBase(new Map());

  table(family: string, table: string): ReadonlyMap<string, string> | undefined {
    return this.state.get(family)?.get(table);
  }

  /** The table's keys in byte order (hex order is byte order), sorted once. */
  sortedKeys(family: string, table: string): readonly string[] {
    const id = tableId(family, table);
    let keys = this.sorted.get(id);
    if (keys === undefined) {
      const inOrder = [...(this.table(family, table)?.keys() ?? [])];
      // A state read in full is already in key order (range's): a linear check instead of a sort.
      keys = inOrder.every((key, i) => i === 0 || inOrder[i - 1]! < key) ? inOrder : inOrder.sort();
      this.sorted.set(id, keys);
    }
    return keys;
  }
}

/** Index of the first key >= `key` in sorted `keys`. */
export function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One table's changes over the base: `null` marks a removed key. */
interface TableOverlay {
  readonly family: string;
  readonly name: string;
  readonly base: ReadonlyMap<string, string> | undefined;
  readonly hash: EntryHash;
  exists: boolean;
  /** The base's entries no longer count (a clear, a delete, a dropped family). */
  cleared: boolean;
  readonly changes: Map<string, string | null>;
}

/** The base with later commits applied: per-table overlays, family presence and digests. */
export class OverlayState {
  private readonly present: Set<string>;
  private readonly tables = new Map<string, TableOverlay>();
  private readonly digests: Map<string, number>;

  /**
   * `families`: the ones present before any commit of the order (all known ones, as stateAfter(0)).
   * Without `tracked`, digests are not kept (a state only read from costs no hashing).
   */
  constructor(private readonly base: FrozenBase, families: readonly string[], private readonly tracked = true) {
    this.present = new Set(families);
    this.digests = new Map(families.map((family) => [family, base.digests.get(family) ?? 0]));
  }

  familyDigest(family: string): number {
    return this.present.has(family) ? this.digests.get(family) ?? 0 : 0;
  }

  /** The whole state's digest: each present family's mark and tables. */
  total(): number {
    let total = 0;
    for (const family of this.present) total = addDigests(total, addDigests(familyMark(family), this.familyDigest(family)));
    return total;
  }

  apply(commit: CommitRecord): void {
    if (commit.change === 'drop') {
      this.dropFamily(commit.family);
      return;
    }
    this.present.add(commit.family);
    if (commit.change === 'create') return;
    for (const op of commit.ops) this.applyOp(commit.family, op);
  }

  tableExists(family: string, table: string): boolean {
    const overlay = this.tables.get(tableId(family, table));
    if (overlay !== undefined) return overlay.exists;
    return this.present.has(family) && this.base.table(family, table) !== undefined;
  }

  /** The hex value of a key, or undefined when absent (or its table is). */
  get(family: string, table: string, key: string): string | undefined {
    const overlay = this.tables.get(tableId(family, table));
    if (overlay === undefined) return this.present.has(family) ? this.base.table(family, table)?.get(key) : undefined;
    return valueIn(overlay, key);
  }

  /** Entries with start <= key < end (hex bounds, either optional), in key order. */
  range(family: string, table: string, start?: string, end?: string): Array<[string, string]> {
    const overlay = this.tables.get(tableId(family, table));
    const inRange = (key: string): boolean => (start === undefined || key >= start) && (end === undefined || key < end);
    const keys = new Set<string>();
    if (overlay === undefined ? this.present.has(family) : !overlay.cleared) {
      const sorted = this.base.sortedKeys(family, table);
      for (let i = start === undefined ? 0 : lowerBound(sorted, start); i < sorted.length && inRange(sorted[i]!); i++) keys.add(sorted[i]!);
    }
    for (const key of overlay?.changes.keys() ?? []) if (inRange(key)) keys.add(key);
    const entries: Array<[string, string]> = [];
    for (const key of [...keys].sort()) {
      const value = this.get(family, table, key);
      if (value !== undefined) entries.push([key, value]);
    }
    return entries;
  }

  private overlay(family: string, table: string): TableOverlay {
    const id = tableId(family, table);
    let overlay = this.tables.get(id);
    if (overlay === undefined) {
      const base = this.base.table(family, table);
      overlay = { family, name: table, base, hash: entryHasher(family, table), exists: base !== undefined, cleared: false, changes: new Map() };
      this.tables.set(id, overlay);
    }
    return overlay;
  }

  private change(family: string, by: number, sign: 1 | -1): void {
    if (!this.tracked) return;
    const digest = this.digests.get(family) ?? 0;
    this.digests.set(family, sign > 0 ? addDigests(digest, by) : subtractDigests(digest, by));
  }

  private applyOp(family: string, op: ModelOp): void {
    const table = this.overlay(family, op.table);
    if (op.op === 'delete') {
      if (!table.exists) return;
      this.emptyTable(table);
      table.exists = false;
      this.change(family, tableMark(family, op.table), -1);
      return;
    }
    if (!table.exists) {
      // Every operation but delete opens the table, and opening creates it (as the engine does).
      table.exists = true;
      this.change(family, tableMark(family, op.table), 1);
    }
    if (op.op === 'clear') this.emptyTable(table);
    else if (op.op === 'insert') this.put(table, op.key, op.value);
    else if (op.op === 'remove') this.put(table, op.key, null);
  }

  private put(table: TableOverlay, keyBytes: Uint8Array, value: Uint8Array | null): void {
    const key = toHexBytes(keyBytes);
    const old = valueIn(table, key);
    if (this.tracked) {
      if (old !== undefined) this.change(table.family, table.hash(keyBytes, fromHex(old)), -1);
      if (value !== null) this.change(table.family, table.hash(keyBytes, value), 1);
    }
    if (value === null && old === undefined) return;
    table.changes.set(key, value === null ? null : toHexBytes(value));
  }

  /** Removes every entry of the table (costs the table's size: clears are rare). */
  private emptyTable(table: TableOverlay): void {
    if (this.tracked) for (const [key, value] of entriesOf(table)) this.change(table.family, table.hash(fromHex(key), fromHex(value)), -1);
    table.cleared = true;
    table.changes.clear();
  }

  private dropFamily(family: string): void {
    if (!this.present.has(family)) return;
    for (const table of this.base.state.get(family)?.keys() ?? []) this.overlay(family, table);
    for (const overlay of this.tables.values()) {
      if (overlay.family !== family) continue;
      overlay.cleared = true;
      overlay.exists = false;
      overlay.changes.clear();
    }
    this.present.delete(family);
    this.digests.set(family, 0);
  }
}

function valueIn(table: TableOverlay, key: string): string | undefined {
  if (!table.exists) return undefined;
  const changed = table.changes.get(key);
  if (changed !== undefined) return changed ?? undefined;
  return table.cleared ? undefined : table.base?.get(key);
}

function* entriesOf(table: TableOverlay): Generator<[string, string]> {
  if (!table.exists) return;
  if (!table.cleared) {
    for (const [key, value] of table.base ?? []) if (!table.changes.has(key)) yield [key, value];
  }
  for (const [key, value] of table.changes) if (value !== null) yield [key, value];
}

/** Whose digest a prefix is judged by: the whole state (a shared log's one order), or one family's. */
export type DigestScope = { readonly family: null } | { readonly family: string };

/**
 * The digest after each prefix 0..n of `order`, for prefixes at or past `baseCount` (the base
 * holds the state after the first `baseCount` commits); NaN before it, where only the slow
 * explanation of a violation looks.
 */
export function prefixDigests(base: FrozenBase, families: readonly string[], order: readonly CommitRecord[], baseCount: number,
  scope: DigestScope): number[] {
  const state = new OverlayState(base, families);
  const digestOf = (): number => (scope.family === null ? state.total() : state.familyDigest(scope.family));
  const digests: number[] = new Array<number>(baseCount).fill(Number.NaN);
  digests.push(digestOf());
  for (const commit of order.slice(baseCount)) {
    state.apply(commit);
    digests.push(digestOf());
  }
  return digests;
}

/** The state after the first `k` commits of `order` (k >= baseCount), replayed from the base, for reading (no digests kept). */
export function overlayAt(base: FrozenBase, families: readonly string[], order: readonly CommitRecord[], baseCount: number, k: number): OverlayState {
  const state = new OverlayState(base, families, false);
  for (const commit of order.slice(baseCount, Math.max(baseCount, k))) state.apply(commit);
  return state;
}
