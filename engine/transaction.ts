/**
 * Transactions and tables in redb's shape. A write transaction owns a private copy-on-write
 * view of the catalog and of every table it opens; nothing it does is visible to anyone until
 * its commit installs a new root. A read transaction pins a committed snapshot: the pages it
 * can reach are not reused until it closes.
 */
import {
  commitTree as commitTreeOf, freeTree, insert, lookup, readValue, remove, runKey, runValue, scan, scanLeaves, type TreeContext, type TreeRoot,
} from './btree.js';
import { decodeTableMeta, encodeTableMeta, tableNameKey, tableNameOf } from './catalog.js';
import { EngineError, assert } from './errors.js';
import { CopyArena, isOverflow, type ChildRef, type Layout } from './node.js';
import type { Pager } from './pager.js';
import type { RedoOp } from './redo.js';

/** A committed state: what a commit slot records and what a reader pins. */
export interface DbState {
  readonly txnId: number;
  /** Root of the catalog tree, clean (never mutated); null when no table exists. */
  readonly catalog: ChildRef | null;
  readonly walSeq: number;
}

export type Durability = 'immediate' | 'none';

export interface CommitOptions {
  readonly durability?: Durability;
}

/** How a commit reaches the host: a caller's commit, or the replay of a WAL record. */
export interface InstallOptions {
  readonly durability: Durability;
  /** Set when replaying WAL record `replaySeq`: install it without logging it again. */
  readonly replaySeq?: number;
}

/** What transactions need from the database that owns them. */
export interface TxnHost {
  readonly layout: Layout;
  readonly pager: Pager;
  /** Whether write transactions keep their logical redo (a WAL will log it). */
  readonly recordsRedo: boolean;
  /** Throws CLOSED or PREVIOUS_IO when the database refuses work. */
  checkUsable(): void;
  allocatePage(): number;
  freePagesNow(pages: number[]): void;
  installCommit(txn: WriteTransaction, state: DbState, freed: number[], options: InstallOptions): Promise<void>;
  endWrite(txn: WriteTransaction): void;
  endRead(txn: ReadTransaction): void;
}

export interface RangeOptions {
  readonly reverse?: boolean;
}

function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

function copyRef(ref: ChildRef | null): ChildRef | null {
  return ref === null ? null : { page: ref.page, crc: ref.crc, node: null };
}

/** Table state inside one transaction. */
interface TableState {
  readonly tree: TreeRoot;
  length: number;
  dirty: boolean;
  /** Bumped on every change, so an iterator notices the table moved under it. */
  version: number;
  dropped: boolean;
}

/** Read access to one table of a snapshot (or of a write transaction's private view). */
export class ReadOnlyTable {
  readonly name: string;
  protected readonly state: TableState;
  protected readonly ctx: TreeContext;
  protected readonly guard: () => void;

  /** @internal Use `openTable` on a transaction. */
  constructor(name: string, state: TableState, ctx: TreeContext, guard: () => void) {
    this.name = name;
    this.state = state;
    this.ctx = ctx;
    this.guard = guard;
  }

  protected check(): void {
    this.guard();
    if (this.state.dropped) throw new EngineError('NOT_FOUND', `table ${this.name} was deleted`);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.check();
    checkBytes(key, 'key');
    const stored = lookup(this.ctx, this.state.tree, key);
    return stored === undefined ? undefined : readValue(this.ctx, stored);
  }

  len(): number {
    this.check();
    return this.state.length;
  }

  /**
   * Entries with start <= key < end (either bound optional), as fresh copies. Small ones are
   * views of chunks the range's own arena shares between them (disjoint, the caller's to keep):
   * an ArrayBuffer per key and per value made a full scan mostly allocation and GC.
   */
  *range(start?: Uint8Array, end?: Uint8Array, options: RangeOptions = {}): Generator<[Uint8Array, Uint8Array]> {
    this.check();
    if (start !== undefined) checkBytes(start, 'range start');
    if (end !== undefined) checkBytes(end, 'range end');
    const version = this.state.version;
    const arena = new CopyArena();
    const reverse = options.reverse === true;
    for (const found of scanLeaves(this.ctx, this.state.tree, { start, end, reverse })) {
      // A clean leaf is copied once and its entries are views of the copy (disjoint in any page
      // encodeLeaf wrote, and checksums vouch that this one was); an owned node's, one by one.
      const run = found.page === null ? found : { ...found, page: arena.copyPage(found.page) };
      for (let k = 0; k < run.to - run.from; k++) {
        const i = reverse ? run.to - 1 - k : run.from + k;
        const stored = runValue(run, i);
        const key = run.page === null ? arena.copy(runKey(run, i)) : runKey(run, i);
        yield [key, isOverflow(stored) ? readValue(this.ctx, stored) : run.page === null ? arena.copy(stored) : stored];
        this.check();
        if (this.state.version !== version) throw new TypeError(`table ${this.name} changed during range iteration`);
      }
    }
  }
}

/** A table opened in a write transaction. */
export class Table extends ReadOnlyTable {
  private readonly mutate: <T>(action: () => T) => T;
  private readonly redo: RedoOp[] | null;
  private readonly arena: CopyArena;

  /** @internal */
  constructor(name: string, state: TableState, ctx: TreeContext, guard: () => void, mutate: <T>(action: () => T) => T,
    redo: RedoOp[] | null, arena: CopyArena) {
    super(name, state, ctx, guard);
    this.mutate = mutate;
    this.redo = redo;
    this.arena = arena;
  }

  private change<T>(action: () => T): T {
    this.check();
    const result = this.mutate(action);
    this.state.dirty = true;
    this.state.version++;
    return result;
  }

  /** Inserts or replaces. Returns true when a value was replaced. */
  insert(key: Uint8Array, value: Uint8Array): boolean {
    checkBytes(key, 'key');
    checkBytes(value, 'value');
    // One private copy each, shared by the tree and the redo: the caller may reuse its arrays.
    const ownKey = this.arena.copy(key);
    const ownValue = this.arena.copy(value);
    return this.change(() => {
      const replaced = insert(this.ctx, this.state.tree, ownKey, ownValue);
      if (!replaced) this.state.length++;
      this.redo?.push({ op: 'insert', table: this.name, key: ownKey, value: ownValue });
      return replaced;
    });
  }

  /** Removes a key. Returns true when it was present. */
  remove(key: Uint8Array): boolean {
    checkBytes(key, 'key');
    return this.change(() => {
      const removed = remove(this.ctx, this.state.tree, key);
      if (removed) {
        this.state.length--;
        this.redo?.push({ op: 'remove', table: this.name, key: this.arena.copy(key) });
      }
      return removed;
    });
  }

  /** Removes every entry. */
  clear(): void {
    this.change(() => {
      freeTree(this.ctx, this.state.tree);
      this.state.length = 0;
      this.redo?.push({ op: 'clear', table: this.name });
    });
  }
}

/** Catalog and table access shared by both kinds of transaction. */
abstract class TransactionBase {
  protected readonly host: TxnHost;
  protected readonly catalog: TreeRoot;
  protected readonly tables = new Map<string, TableState>();
  protected abstract readonly ctx: TreeContext;
  protected finished = false;

  constructor(host: TxnHost, snapshot: DbState) {
    this.host = host;
    this.catalog = { root: copyRef(snapshot.catalog) };
  }

  protected guard = (): void => {
    if (this.finished) throw new TypeError('transaction already committed, aborted or closed');
    this.host.checkUsable();
  };

  /** The state of a table already in the catalog, or undefined. */
  protected loadTable(name: string): TableState | undefined {
    const cached = this.tables.get(name);
    if (cached !== undefined) return cached;
    const stored = lookup(this.ctx, this.catalog, tableNameKey(name, this.ctx.layout));
    if (stored === undefined) return undefined;
    const meta = decodeTableMeta(readValue(this.ctx, stored), name);
    const state: TableState = { tree: { root: meta.root }, length: meta.length, dirty: false, version: 0, dropped: false };
    this.tables.set(name, state);
    return state;
  }

  listTables(): string[] {
    this.guard();
    return [...scan(this.ctx, this.catalog, {})].map(([key]) => tableNameOf(key));
  }
}

export class ReadTransaction extends TransactionBase {
  readonly txnId: number;
  protected readonly ctx: TreeContext;

  /** @internal Use `Database.beginRead`. */
  constructor(host: TxnHost, snapshot: DbState) {
    super(host, snapshot);
    this.txnId = snapshot.txnId;
    this.ctx = {
      layout: host.layout,
      pager: host.pager,
      allocate: () => { throw new Error('a read transaction allocates no page'); },
      free: () => { throw new Error('a read transaction frees no page'); },
    };
  }

  /** Opens an existing table of the snapshot; `NOT_FOUND` when it does not exist. */
  openTable(name: string): ReadOnlyTable {
    this.guard();
    const state = this.loadTable(name);
    if (state === undefined) throw new EngineError('NOT_FOUND', `no table named ${name}`);
    return new ReadOnlyTable(name, state, this.ctx, this.guard);
  }

  /** Releases the snapshot so its pages can be reused. Idempotent. */
  close(): void {
    if (this.finished) return;
    this.finished = true;
    this.host.endRead(this);
  }
}

/**
 * The one writer. Pages it allocates are its own until commit; pages it stops referencing
 * are freed at once if it allocated them, or handed to the allocator's deferred list at commit.
 */
export class WriteTransaction extends TransactionBase {
  readonly txnId: number;
  protected readonly ctx: TreeContext;
  private readonly walSeq: number;
  private readonly allocated = new Set<number>();
  private readonly freedShared: number[] = [];
  /** Set when a change failed halfway: the private view may be inconsistent, only abort is safe. */
  private broken: unknown = undefined;
  /** The logical redo, kept only when a WAL will log it. */
  readonly redo: RedoOp[] | null;
  /** Where its tables keep their copies of the caller's keys and values. */
  private readonly arena = new CopyArena();

  /** @internal Use `Database.beginWrite`. */
  constructor(host: TxnHost, snapshot: DbState) {
    super(host, snapshot);
    this.txnId = snapshot.txnId + 1;
    this.walSeq = snapshot.walSeq;
    this.redo = host.recordsRedo ? [] : null;
    this.ctx = {
      layout: host.layout,
      pager: host.pager,
      allocate: () => {
        const page = host.allocatePage();
        this.allocated.add(page);
        return page;
      },
      free: (page) => {
        if (this.allocated.delete(page)) {
          // Never visible to anyone: drop its bytes and reuse it at once.
          host.pager.discard(page);
          host.freePagesNow([page]);
        } else {
          this.freedShared.push(page);
        }
      },
    };
  }

  protected override guard = (): void => {
    if (this.finished) throw new TypeError('transaction already committed or aborted');
    this.host.checkUsable();
    if (this.broken !== undefined) {
      throw new EngineError('IO', 'an earlier change in this transaction failed; abort it', { cause: this.broken });
    }
  };

  /** Runs a change; a failure part-way leaves the transaction abort-only. */
  private mutate = <T>(action: () => T): T => {
    try {
      return action();
    } catch (error) {
      if (!(error instanceof TypeError) && !(error instanceof EngineError && error.code === 'TOO_LARGE')) {
        this.broken = error;
      }
      throw error;
    }
  };

  /** Opens a table, creating it (empty) when it does not exist. */
  openTable(name: string): Table {
    this.guard();
    const state = this.loadTable(name) ?? this.mutate(() => this.createTable(name));
    return new Table(name, state, this.ctx, this.guard, this.mutate, this.redo, this.arena);
  }

  private createTable(name: string): TableState {
    const state: TableState = { tree: { root: null }, length: 0, dirty: true, version: 0, dropped: false };
    insert(this.ctx, this.catalog, tableNameKey(name, this.ctx.layout), encodeTableMeta({ root: null, length: 0 }));
    this.tables.set(name, state);
    this.redo?.push({ op: 'create', table: name });
    return state;
  }

  /** Deletes a table and frees its pages. Returns false when it did not exist. */
  deleteTable(name: string): boolean {
    this.guard();
    const state = this.loadTable(name);
    if (state === undefined) return false;
    this.mutate(() => {
      freeTree(this.ctx, state.tree);
      remove(this.ctx, this.catalog, tableNameKey(name, this.ctx.layout));
      this.redo?.push({ op: 'delete', table: name });
    });
    state.dropped = true;
    this.tables.delete(name);
    return true;
  }

  /**
   * Makes the changes visible and (with `immediate` durability, the default) durable before
   * resolving. On failure nothing of this transaction is visible; after an I/O failure the
   * database refuses work until reopened.
   */
  async commit(options: CommitOptions = {}): Promise<void> {
    try {
      this.guard();
    } catch (error) {
      // A commit the database refuses (closed, poisoned, broken) still ends the transaction.
      if (!(error instanceof TypeError)) this.abort();
      throw error;
    }
    const durability = options.durability ?? 'immediate';
    if (durability !== 'immediate' && durability !== 'none') {
      throw new TypeError(`durability must be 'immediate' or 'none', not ${String(durability)}`);
    }
    await this.install({ durability });
  }

  /** @internal Installs the replay of WAL record `seq` (recovery), without logging it again. */
  async commitReplay(seq: number): Promise<void> {
    this.guard();
    await this.install({ durability: 'none', replaySeq: seq });
  }

  private async install(options: InstallOptions): Promise<void> {
    this.finished = true;
    try {
      const state = this.mutate(() => this.encodeChanges());
      await this.host.installCommit(this, state, this.freedShared, options);
    } catch (error) {
      this.rollback();
      throw error;
    } finally {
      this.host.endWrite(this);
    }
  }

  /** Writes each changed table's tree, records it in the catalog, then writes the catalog. */
  private encodeChanges(): DbState {
    for (const [name, state] of this.tables) {
      if (!state.dirty) continue;
      commitTreeOf(this.ctx, state.tree);
      insert(this.ctx, this.catalog, tableNameKey(name, this.ctx.layout), encodeTableMeta({ root: state.tree.root, length: state.length }));
    }
    commitTreeOf(this.ctx, this.catalog);
    assert(this.catalog.root === null || this.catalog.root.node === null, 'the catalog is fully encoded');
    return { txnId: this.txnId, catalog: copyRef(this.catalog.root), walSeq: this.walSeq };
  }

  /** Discards every change. Idempotent. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    this.rollback();
    this.host.endWrite(this);
  }

  /** Returns this transaction's pages; the shared pages it freed stay in use. */
  private rollback(): void {
    const pages = [...this.allocated];
    for (const page of pages) this.host.pager.discard(page);
    this.host.freePagesNow(pages);
    this.allocated.clear();
    this.freedShared.length = 0;
    for (const state of this.tables.values()) state.dropped = true;
  }
}
