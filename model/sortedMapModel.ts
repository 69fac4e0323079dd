/**
 * The oracle: the engine's logical API as plain in-memory data, simple enough to be obviously
 * correct. Tables are named sorted maps from byte strings (unsigned lexicographic order) to
 * byte strings. A write transaction works on a private deep copy of the committed tables and
 * commit installs that copy whole; a reader pins the committed object it saw, which nobody
 * mutates afterwards, so snapshot isolation needs no bookkeeping at all.
 *
 * No I/O, no clock, no randomness, no engine import: if the model needed the engine's code to
 * be right, it could not catch the engine being wrong.
 */

export type Bytes = Uint8Array;
export type Entry = readonly [key: Bytes, value: Bytes];

/** Unsigned lexicographic byte order; a proper prefix sorts first. */
export function compareBytes(a: Bytes, b: Bytes): number {
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    const diff = a[i]! - b[i]!;
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

const encoder = new TextEncoder();

/** Table names sort by their UTF-8 bytes, as the engine's catalog stores them (not UTF-16). */
function compareNames(a: string, b: string): number {
  return compareBytes(encoder.encode(a), encoder.encode(b));
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`model assertion failed: ${message}`);
}

function assertName(name: string): void {
  assert(typeof name === 'string' && name.length > 0, 'a table name is a non-empty string');
}

/** One sorted map: entries kept sorted by key, with unique keys. */
class SortedTable {
  readonly entries: Entry[];

  constructor(entries: Entry[] = []) {
    this.entries = entries;
  }

  copy(): SortedTable {
    // Entries are immutable (bytes are copied on the way in and out), so a shallow copy suffices.
    return new SortedTable(this.entries.slice());
  }

  /** Index of the first entry whose key is >= `key`. */
  lowerBound(key: Bytes): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.entries[mid]![0], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  indexOf(key: Bytes): number {
    const i = this.lowerBound(key);
    const entry = this.entries[i];
    return entry !== undefined && compareBytes(entry[0], key) === 0 ? i : -1;
  }
}

type Tables = ReadonlyMap<string, SortedTable>;

/** Read access to one state: the committed state a reader pinned, or a writer's private copy. */
export class ModelView {
  protected readonly tables: Tables;

  constructor(tables: Tables) {
    this.tables = tables;
  }

  listTables(): string[] {
    return [...this.tables.keys()].sort(compareNames);
  }

  hasTable(name: string): boolean {
    return this.tables.has(name);
  }

  get(name: string, key: Bytes): Bytes | undefined {
    const table = this.table(name);
    const i = table.indexOf(key);
    return i < 0 ? undefined : table.entries[i]![1].slice();
  }

  len(name: string): number {
    return this.table(name).entries.length;
  }

  /** Entries with start <= key < end (either bound optional), as fresh copies. */
  range(name: string, start?: Bytes, end?: Bytes, reverse = false): Entry[] {
    const table = this.table(name);
    const from = start === undefined ? 0 : table.lowerBound(start);
    const to = end === undefined ? table.entries.length : table.lowerBound(end);
    const result: Entry[] = [];
    for (let i = from; i < to; i++) {
      const [key, value] = table.entries[i]!;
      result.push([key.slice(), value.slice()]);
    }
    return reverse ? result.reverse() : result;
  }

  protected table(name: string): SortedTable {
    const table = this.tables.get(name);
    assert(table !== undefined, `table ${name} exists`);
    return table;
  }
}

/** The one writer: mutates a private copy; commit hands the copy to the model. */
export class ModelWriteTransaction extends ModelView {
  private readonly owned: Map<string, SortedTable>;
  private readonly install: (tables: Tables) => void;
  private finished = false;

  constructor(base: Tables, install: (tables: Tables) => void) {
    const owned = new Map<string, SortedTable>();
    for (const [name, table] of base) owned.set(name, table.copy());
    super(owned);
    this.owned = owned;
    this.install = install;
  }

  /** Creates an empty table. Returns false (and changes nothing) when it already exists. */
  createTable(name: string): boolean {
    this.checkOpen();
    assertName(name);
    if (this.owned.has(name)) return false;
    this.owned.set(name, new SortedTable());
    return true;
  }

  /** Returns false when the table did not exist. */
  deleteTable(name: string): boolean {
    this.checkOpen();
    return this.owned.delete(name);
  }

  /** Inserts or replaces. Returns true when a value was replaced. */
  insert(name: string, key: Bytes, value: Bytes): boolean {
    this.checkOpen();
    const table = this.table(name);
    const entry: Entry = [key.slice(), value.slice()];
    const i = table.lowerBound(key);
    const replaced = i < table.entries.length && compareBytes(table.entries[i]![0], key) === 0;
    table.entries.splice(i, replaced ? 1 : 0, entry);
    return replaced;
  }

  /** Returns true when the key was present. */
  remove(name: string, key: Bytes): boolean {
    this.checkOpen();
    const table = this.table(name);
    const i = table.indexOf(key);
    if (i < 0) return false;
    table.entries.splice(i, 1);
    return true;
  }

  clear(name: string): void {
    this.checkOpen();
    this.table(name).entries.length = 0;
  }

  commit(): void {
    this.checkOpen();
    this.finished = true;
    this.install(this.owned);
  }

  abort(): void {
    this.checkOpen();
    this.finished = true;
  }

  get isOpen(): boolean {
    return !this.finished;
  }

  private checkOpen(): void {
    assert(!this.finished, 'the write transaction is still open');
  }
}

/** The whole database: the committed state, at most one writer, and any number of readers. */
export class SortedMapModel {
  /** Never mutated once installed: readers share it by reference. */
  private committed: Tables = new Map();
  private writer: ModelWriteTransaction | null = null;
  /** Count of commits so far, so callers can tell snapshots apart. */
  private commitCount = 0;

  beginWrite(): ModelWriteTransaction {
    assert(this.writer === null || !this.writer.isOpen, 'one writer at a time');
    const writer = new ModelWriteTransaction(this.committed, (tables) => {
      assert(this.writer === writer, 'only the current writer commits');
      this.committed = tables;
      this.commitCount++;
    });
    this.writer = writer;
    return writer;
  }

  /** A snapshot of the last commit; later commits do not change what it sees. */
  beginRead(): ModelView {
    return new ModelView(this.committed);
  }

  get commits(): number {
    return this.commitCount;
  }

  get writeOpen(): boolean {
    return this.writer !== null && this.writer.isOpen;
  }
}
