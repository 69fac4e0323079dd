/**
 * The database: opens or creates the file, keeps the committed and the durable state, runs
 * the writer queue, and makes commits durable the redb way (no WAL in this layer):
 *
 *   1. write every dirty page to the file     (the write barrier)
 *   2. fsync                                  (pages durable before any header names them)
 *   3. write the commit slot not holding the current durable state
 *   4. fsync                                  (now, and only now, the commit is acknowledged)
 *
 * A crash before 4 leaves the other slot, which names pages that step 1 never overwrote: the
 * allocator does not reuse a page until the durable header and every reader have moved past
 * the transaction that freed it.
 */
import path from 'node:path';
import { inspect } from 'node:util';
import { Allocator } from './allocator.js';
import { EngineError, assert, ioError } from './errors.js';
import { FileVfs } from './fileVfs.js';
import {
  DEFAULT_PAGE_BYTES, SLOT_MIRROR_OFFSETS, SLOT_OFFSETS, encodeSlot, isValidPageSize, type CommitSlot,
} from './format.js';
import { freeListPagesFor, readFreeList, writeFreeList } from './freeList.js';
import { checkTree, walkDatabase, type IntegrityReport } from './integrity.js';
import { initializeFile, readFileHeader, type FileHeader } from './header.js';
import { digestDatabase, type DigestMemo, type EntryDigest, type StateDigestReport } from './subtreeDigest.js';
import { Layout } from './node.js';
import { PageBudget, Pager, type PagerStats } from './pager.js';
import { shape } from './shape.js';
import type { Storage, Vfs } from './storage.js';
import type { RedoOp } from './redo.js';
import {
  ReadTransaction, WriteTransaction, type DbState, type InstallOptions, type TxnHost,
} from './transaction.js';
import { WriterQueue } from './writerQueue.js';
import { ReadOnlyStorage } from './readOnlyStorage.js';

export interface DatabaseOptions {
  /** Page size for a new file (512 to 65536, a power of two); an existing file keeps its own. */
  readonly pageBytes?: number;
  /** Byte budget of the dirty-page write buffer (in a ColumnFamilyDatabase: of all families together). */
  readonly writeBufferBytes?: number;
  /** Fraction of the write buffer above which the oldest dirty pages are written out. */
  readonly evictionHighWater?: number;
  /** Fraction of the write buffer that eviction brings dirty bytes down to. */
  readonly evictionLowWater?: number;
  /** Byte budget of the read cache of verified page bytes (in a ColumnFamilyDatabase: of all families together). */
  readonly readCacheBytes?: number;
  /** Create the file when it does not exist (default true; false when `readOnly`). */
  readonly create?: boolean;
  /**
   * Open without writing a byte (default false): under a shared lock, recovery replays the log
   * in memory (within `writeBufferBytes`, else `READ_ONLY`), no checkpoint, and every write
   * transaction, checkpoint, family creation or deletion fails with `READ_ONLY`.
   */
  readonly readOnly?: boolean;
  /** File name inside the VFS when a VFS is given (default `crashlab.db`). */
  readonly name?: string;
}

/**
 * Where a database's commits go when a write-ahead log is on (a column family of a
 * ColumnFamilyDatabase): the log of this family. Without one, a commit is made durable by
 * the two-fsync header protocol at the top of this file.
 */
export interface Journal {
  /** `always` writes a commit's dirty pages to the file at commit (no fsync); `wal-aware` leaves them buffered. */
  readonly barrier: Barrier;
  /** Appends the redo of one commit; the record is completely written on return. */
  append(ops: RedoOp[], durability: 'immediate' | 'none'): number;
  /** Resolves once record `seq` is durable. */
  waitDurable(seq: number): Promise<void>;
  /** The last sequence appended to the log (by any family). */
  lastSeq(): number;
  /** Told after every acknowledged commit (a checkpoint trigger may fire). */
  committed(): void;
}

export type Barrier = 'always' | 'wal-aware';

/** @internal What a column-family database plugs into each family's database. */
export interface DatabaseHooks {
  readonly journal: Journal | null;
  /** Told of this database's first I/O failure (after it has poisoned itself). */
  readonly onIoError: ((error: EngineError) => void) | null;
  /** The cache and write-buffer budget shared with the other families (none: its own). */
  readonly budget?: PageBudget;
  /** The shared data file's durable master generation, witnessed by every new commit slot (CommitSlot.masterGeneration). */
  readonly masterGeneration?: () => number;
}

/** Where the database lives: a file path, or a VFS (in-memory, faulty...) and a file name. */
export type DatabaseTarget = string | Vfs;

export const DEFAULT_FILE_NAME = 'crashlab.db';

const DEFAULTS = {
  writeBufferBytes: 32 * 1024 * 1024,
  evictionHighWater: 0.8,
  evictionLowWater: 0.5,
  readCacheBytes: 32 * 1024 * 1024,
};

export interface DatabaseStats extends PagerStats {
  readonly pageCount: number;
  readonly freePages: number;
  readonly pendingFreePages: number;
  /** Pages of the persisted free list (freeList.ts). */
  readonly freeListPages: number;
  readonly committedTxnId: number;
  readonly durableTxnId: number;
}

const VFS_METHODS = ['open', 'remove', 'exists', 'syncDir'] as const;

/**
 * @internal Checks the caller's arguments (misuse is a TypeError naming the parameter, not a
 * failure deep inside) and resolves where the database lives: a string is the file's path, a
 * VFS opens `options.name`.
 */
export function resolveTarget(caller: string, target: unknown, options: unknown, defaultName: string): { vfs: Vfs; name: string } {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${caller}: options must be an object, not ${describe(options)}`);
  const { name, create } = options as { name?: unknown; create?: unknown };
  if (create !== undefined && typeof create !== 'boolean') throw new TypeError(`${caller}: options.create must be a boolean, not ${describe(create)}`);
  if (typeof target === 'string') {
    if (target === '') throw new TypeError(`${caller}: target must be a non-empty file path or a Vfs`);
    return { vfs: new FileVfs(path.dirname(path.resolve(target))), name: path.basename(target) };
  }
  const missing = typeof target === 'object' && target !== null
    ? VFS_METHODS.filter((method) => typeof (target as Record<string, unknown>)[method] !== 'function')
    : VFS_METHODS;
  if (missing.length > 0) {
    throw new TypeError(`${caller}: target must be a file path (string) or a Vfs, not ${describe(target)} (missing ${missing.join(', ')})`);
  }
  if (name !== undefined && (typeof name !== 'string' || name === '')) throw new TypeError(`${caller}: options.name must be a non-empty string, not ${describe(name)}`);
  return { vfs: target as Vfs, name: name ?? defaultName };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${inspect(value, { maxStringLength: 40 })}`;
}

/**
 * How the files are opened: `create` defaults to true, but to false on a read-only open, which
 * can never create a file (asking for both is a TypeError naming them).
 */
export function openMode(options: DatabaseOptions): { readonly create: boolean; readonly readOnly: boolean } {
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') throw new TypeError(`readOnly must be a boolean, not ${typeof options.readOnly}`);
  if (options.create !== undefined && typeof options.create !== 'boolean') throw new TypeError(`create must be a boolean, not ${typeof options.create}`);
  const readOnly = options.readOnly === true;
  if (readOnly && options.create === true) throw new TypeError('readOnly and create: true exclude each other: a read-only open never creates the file');
  return { create: options.create ?? !readOnly, readOnly };
}

function resolveOptions(options: DatabaseOptions): Required<Omit<DatabaseOptions, 'name' | 'create' | 'pageBytes' | 'readOnly'>> {
  const merged = { ...DEFAULTS, ...options };
  const { evictionHighWater: high, evictionLowWater: low } = merged;
  if (!(high > 0 && high <= 1)) throw new TypeError(`evictionHighWater must be in (0, 1], not ${high}`);
  if (!(low >= 0 && low <= high)) throw new TypeError(`evictionLowWater must be in [0, evictionHighWater], not ${low}`);
  for (const key of ['writeBufferBytes', 'readCacheBytes'] as const) {
    if (!Number.isSafeInteger(merged[key]) || merged[key] < 0) throw new TypeError(`${key} must be a byte count`);
  }
  return merged;
}

/** The error of a write on a read-only open. */
export function readOnlyRefusal(what: string): EngineError {
  return new EngineError('READ_ONLY', `${what} on a database opened read-only: open it without readOnly to write`);
}

export class Database implements TxnHost {
  readonly layout: Layout;
  readonly pager: Pager;
  private readonly storage: Storage;
  private readonly allocator: Allocator;
  private readonly writers = new WriterQueue();
  private readonly readers = new Map<number, number>();
  private committed: DbState;
  private durable: DbState;
  private durableSlot: number;
  /** What the durable slot holds: rewritten as it is when the durable state is persisted again. */
  private durableSlotFields: CommitSlot;
  /** The free-list chain the durable slot names: its pages are freed by the next durable state. */
  private listPages: number[];
  /** The chain a persist in progress writes (counted by checkIntegrity until it is durable). */
  private writingListPages: number[] = [];
  private activeWriter: WriteTransaction | null = null;
  private poisoned: EngineError | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** A read-only open's (set once its recovery is done): no write reaches the file. */
  private readOnly = false;
  private refusal: (what: string) => EngineError = readOnlyRefusal;
  private readonly journal: Journal | null;
  private readonly onIoError: ((error: EngineError) => void) | null;
  private readonly masterGeneration: () => number;

  private constructor(storage: Storage, header: FileHeader, options: ReturnType<typeof resolveOptions>,
    hooks: DatabaseHooks) {
    const { pageBytes, slot, slotIndex } = header;
    this.journal = hooks.journal;
    this.onIoError = hooks.onIoError;
    this.masterGeneration = hooks.masterGeneration ?? ((): number => 0);
    this.storage = storage;
    this.layout = new Layout(pageBytes);
    if (options.writeBufferBytes < pageBytes) {
      throw new TypeError(`writeBufferBytes (${options.writeBufferBytes}) must hold at least one ${pageBytes}-byte page`);
    }
    // The file's page size wins over the option (which only applies to new files).
    this.pager = new Pager(storage, { ...options, pageBytes }, (error) => this.poison(error), hooks.budget);
    const catalog = slot.catalogPage === 0 ? null : { page: slot.catalogPage, crc: slot.catalogCrc, node: null };
    this.committed = { txnId: slot.txnId, catalog, walSeq: slot.walSeq };
    this.durable = this.committed;
    this.durableSlot = slotIndex;
    this.durableSlotFields = slot;
    // No cleanup when this throws: a standalone database owns its budget, and a family that
    // fails to open fails its whole ColumnFamilyDatabase (open) or poisons it (creation).
    // Free space comes from the list the slot names (freeList.ts): open reads that chain, not
    // the tree, so it costs what the free space holds, whatever the size of the database.
    const list = readFreeList(this.pager, slot);
    this.allocator = new Allocator(slot.pageCount, list.free);
    this.listPages = list.chain;
  }

  /**
   * Opens (or creates) a database. A string is a file path; a VFS opens `options.name`.
   * Rejects with LOCKED when another handle has the file, CORRUPTION when it is damaged,
   * INVALID_FORMAT when it is not a crashlab file; nothing on disk is changed in those cases.
   */
  static async open(target: DatabaseTarget, options: DatabaseOptions = {}): Promise<Database> {
    const resolved = resolveOptions(options);
    const pageBytes = options.pageBytes ?? DEFAULT_PAGE_BYTES;
    if (!isValidPageSize(pageBytes)) throw new TypeError(`pageBytes must be a power of two in [512, 65536], not ${pageBytes}`);
    if (resolved.writeBufferBytes < pageBytes) {
      throw new TypeError(`writeBufferBytes (${resolved.writeBufferBytes}) must hold at least one ${pageBytes}-byte page`);
    }
    const { vfs, name } = resolveTarget('Database.open', target, options, DEFAULT_FILE_NAME);
    const existed = vfs.exists(name);
    const { create, readOnly } = openMode(options);
    let storage: Storage;
    try {
      const opened = vfs.open(name, { create, readOnly });
      storage = readOnly ? new ReadOnlyStorage(opened, name) : opened;
    } catch (error) {
      // A VFS other than FileVfs may throw the OS error as it is: the message still says why.
      throw error instanceof TypeError ? error : ioError(`open of ${name} failed`, error);
    }
    try {
      let header = readFileHeader(storage);
      if (header === null) {
        // Empty (or a creation that never finished): initialised only when creation was asked.
        if (!create) throw new EngineError('INVALID_FORMAT', `${name} is empty (${storage.len()} bytes), not a database, and create is false`);
        header = initializeFile(storage, pageBytes);
        await storage.sync();
        if (!existed) await vfs.syncDir();
      }
      const db = new Database(storage, header, resolved, { journal: null, onIoError: null });
      if (readOnly) db.refuseWrites();
      return db;
    } catch (error) {
      storage.close();
      if (error instanceof EngineError || error instanceof TypeError) throw error;
      throw ioError(`opening ${name} failed`, error);
    }
  }

  /**
   * @internal Opens a database whose header must already exist in `storage` (a column family:
   * its creation made the header durable, so an invalid or zeroed one is CORRUPTION, never
   * "empty"). Commits go to `journal` when one is given.
   */
  static openExisting(storage: Storage, options: DatabaseOptions, hooks: DatabaseHooks): Database {
    const header = readFileHeader(storage, { strict: true });
    assert(header !== null, 'strict header reading never asks for initialization');
    return new Database(storage, header, resolveOptions(options), hooks);
  }

  /**
   * @internal From here on every write fails (with `refusal`'s error, by default `READ_ONLY`)
   * and close persists nothing: a read-only open, or one on a full disk.
   */
  refuseWrites(refusal?: (what: string) => EngineError): void {
    this.readOnly = true;
    if (refusal !== undefined) this.refusal = refusal;
  }

  private checkWritable(what: string): void {
    if (this.readOnly) throw this.refusal(what);
  }

  // ---- TxnHost: used by transactions ----

  get recordsRedo(): boolean {
    return this.journal !== null;
  }

  checkUsable(): void {
    if (this.closed) throw new EngineError('CLOSED', 'the database is closed');
    if (this.poisoned !== null) {
      throw new EngineError('PREVIOUS_IO', 'an earlier I/O error poisoned this handle; reopen the database', { cause: this.poisoned });
    }
  }

  /** @internal Refuses all work until reopened; a shared file or log failing poisons every family. */
  poison(error: EngineError): void {
    if (this.poisoned !== null) return;
    this.poisoned = error;
    this.onIoError?.(error);
  }

  allocatePage(): number {
    return this.allocator.allocate();
  }

  freePagesNow(pages: number[]): void {
    this.allocator.freeNow(pages);
  }

  async installCommit(txn: WriteTransaction, state: DbState, freed: number[], options: InstallOptions): Promise<void> {
    assert(this.activeWriter === txn, 'only the active writer commits');
    assert(state.txnId === this.committed.txnId + 1, 'commits are numbered consecutively');
    let installed = state;
    if (this.journal !== null) {
      installed = { ...state, walSeq: await this.logCommit(this.journal, txn, options) };
    } else if (options.durability === 'immediate') {
      // Readers see an immediate commit only once it is durable: never a state a crash may undo.
      await this.persist(state, freed);
    }
    this.committed = installed;
    this.allocator.freeDeferred(state.txnId, [...freed]);
    this.advanceHorizon();
    if (options.replaySeq === undefined) this.journal?.committed();
  }

  /** The WAL path of a commit: log the redo, apply the barrier, wait for the log's fsync. */
  private async logCommit(journal: Journal, txn: WriteTransaction, options: InstallOptions): Promise<number> {
    // A replayed record is not flushed at its commit, whatever the barrier: recovery's forced
    // checkpoint writes every page before a header names them, and until that header is durable
    // the log still holds the record, so a crash mid-recovery replays it again. A page that
    // several replayed records change is then written once, not once per record.
    if (options.replaySeq !== undefined) return options.replaySeq;
    if (journal.barrier === 'always') this.pager.flush();
    assert(txn.redo !== null, 'a journaled transaction keeps its redo');
    if (txn.redo.length === 0) {
      // Nothing to log, but an acknowledged immediate commit still vouches for every commit
      // before it in the log's order (a `none` one of any family included).
      if (options.durability === 'immediate') await journal.waitDurable(journal.lastSeq());
      return this.committed.walSeq;
    }
    const seq = journal.append(txn.redo, options.durability);
    if (options.durability === 'immediate') await journal.waitDurable(seq);
    return seq;
  }

  endWrite(txn: WriteTransaction): void {
    assert(this.activeWriter === txn, 'the active writer ends');
    this.activeWriter = null;
    this.writers.release();
  }

  endRead(txn: ReadTransaction): void {
    const count = this.readers.get(txn.txnId) ?? 0;
    assert(count > 0, 'a reader ends once');
    if (count === 1) this.readers.delete(txn.txnId);
    else this.readers.set(txn.txnId, count - 1);
    if (!this.closed) this.advanceHorizon();
  }

  /**
   * The four steps of a durable commit (see the top of this file). `freed`: pages `state` stopped
   * reaching that the allocator does not hold yet (an immediate commit's, handed over after this).
   */
  private async persist(state: DbState, freed: readonly number[] = []): Promise<void> {
    // Not checkUsable: close persists after refusing new work. Only poison stops it.
    if (this.poisoned !== null) throw new EngineError('PREVIOUS_IO', 'an earlier I/O error poisoned this handle', { cause: this.poisoned });
    // The write-ahead rule: a header may cover a log record only once the log holds it
    // durably. Otherwise a `none` commit could outlive an earlier commit of another family
    // that the crash took from the log: a hole in the one global order.
    if (this.journal !== null) await this.journal.waitDurable(state.walSeq);
    const slot = this.slotFor(state, freed);
    this.pager.flush();
    await this.pager.sync();
    // Another family's failure on a shared file may have poisoned this one meanwhile.
    if (this.poisoned !== null) throw new EngineError('PREVIOUS_IO', 'an I/O error poisoned this handle during the commit', { cause: this.poisoned });
    const slotIndex = 1 - this.durableSlot;
    this.pager.writeHeader(SLOT_MIRROR_OFFSETS[slotIndex]!, encodeSlot(slot));
    this.pager.writeHeader(SLOT_OFFSETS[slotIndex]!, encodeSlot(slot));
    await this.pager.sync();
    this.durableSlot = slotIndex;
    this.durable = state;
    this.allocator.markDurable();
    this.supersedeList(slot);
  }

  /**
   * The slot that makes `state` durable, its free list written to the write buffer. A new state
   * gets a new list, on pages taken from the free stack (never a page a durable slot or a reader
   * reaches). The durable state persisted again (a forced checkpoint) keeps its slot exactly:
   * recovery may pick either of two slots with one txn id, so both must name the same list.
   */
  private slotFor(state: DbState, freed: readonly number[]): CommitSlot {
    if (state.txnId === this.durable.txnId) return this.durableSlotFields;
    const pageBytes = this.layout.pageBytes;
    const chain: number[] = [];
    // The list holds what `state` does not reach: free, pending, `freed` and the chain the
    // durable slot names. Each chain page taken from the free stack shortens it.
    const unreachable = (): number => this.allocator.unreachableCount + freed.length + this.listPages.length;
    while (chain.length < freeListPagesFor(unreachable(), pageBytes)) chain.push(this.allocator.allocate());
    this.writingListPages = chain;
    const free = this.allocator.unreachable([...freed, ...this.listPages]);
    const freeListCrc = writeFreeList(chain, free, pageBytes, (page, bytes) => this.pager.writePage(page, bytes));
    return {
      txnId: state.txnId,
      catalogPage: state.catalog?.page ?? 0,
      catalogCrc: state.catalog?.crc ?? 0,
      pageCount: this.allocator.pageCount,
      walSeq: state.walSeq,
      freeListPage: chain[0] ?? 0,
      freeListCrc,
      freeCount: free.length,
      masterGeneration: this.masterGeneration(),
    };
  }

  /** A new slot is durable: the chain the old one named is freed, deferred like its tree pages. */
  private supersedeList(slot: CommitSlot): void {
    if (slot === this.durableSlotFields) return;
    this.allocator.freeDeferred(slot.txnId, this.listPages);
    this.listPages = this.writingListPages;
    this.writingListPages = [];
    this.durableSlotFields = slot;
  }

  /** Pages freed at or below the horizon are no longer reachable by the durable root or a reader. */
  private advanceHorizon(): void {
    let readerHorizon = Number.POSITIVE_INFINITY;
    for (const txnId of this.readers.keys()) readerHorizon = Math.min(readerHorizon, txnId);
    const horizon = Math.min(this.durable.txnId, readerHorizon);
    this.allocator.advance(horizon, readerHorizon);
    // Pages a durable commit freed wait only for a reader: its snapshot holds back their reuse.
    if (horizon < this.durable.txnId && this.allocator.pendingAtOrBelow(this.durable.txnId)) shape.count('readerHolds');
  }

  // ---- public API ----

  /** @internal True while a write transaction of this database is open (a caller may be holding it). */
  get hasOpenWriter(): boolean {
    return this.activeWriter !== null;
  }

  /** Waits for the writer slot (one writer at a time, FIFO) and starts a write transaction. */
  async beginWrite(): Promise<WriteTransaction> {
    this.checkUsable();
    this.checkWritable('a write transaction');
    await this.writers.acquire();
    try {
      this.checkUsable();
    } catch (error) {
      this.writers.release();
      throw error;
    }
    assert(this.activeWriter === null, 'one writer at a time');
    this.activeWriter = new WriteTransaction(this, this.committed);
    return this.activeWriter;
  }

  /** A snapshot of the last commit; close it to let its pages be reused. */
  beginRead(): ReadTransaction {
    this.checkUsable();
    const txn = new ReadTransaction(this, this.committed);
    this.readers.set(txn.txnId, (this.readers.get(txn.txnId) ?? 0) + 1);
    return txn;
  }

  /** Walks the last committed state and checks page accounting. No writer may be active. */
  checkIntegrity(): IntegrityReport {
    this.checkUsable();
    if (this.activeWriter !== null) throw new TypeError('checkIntegrity while a write transaction is open');
    const walk = walkDatabase(this.pager, this.layout, this.committed.catalog);
    const listPages = [...this.listPages, ...this.writingListPages];
    return checkTree(walk, this.allocator.pageCount, this.allocator.freePages(), this.allocator.pendingPages(), listPages);
  }

  /**
   * A crash harness's capability (subtreeDigest.ts, where its trust assumption is written): the
   * integrity walk's checks and each table's digest under `hashFor`, re-reading only the
   * subtrees `memo` does not hold. No writer may be active.
   */
  digestState(hashFor: (table: string) => EntryDigest, memo: DigestMemo): StateDigestReport {
    this.checkUsable();
    if (this.activeWriter !== null) throw new TypeError('digestState while a write transaction is open');
    const accounting = {
      pageCount: this.allocator.pageCount, free: this.allocator.freePages(), pending: this.allocator.pendingPages(),
      listPages: [...this.listPages, ...this.writingListPages],
    };
    return digestDatabase(this.pager, this.layout, this.committed.catalog, hashFor, memo, accounting);
  }

  stats(): DatabaseStats {
    return {
      ...this.pager.stats(),
      pageCount: this.allocator.pageCount,
      freePages: this.allocator.freePages().length,
      pendingFreePages: this.allocator.pendingPages().length,
      freeListPages: this.listPages.length + this.writingListPages.length,
      committedTxnId: this.committed.txnId,
      durableTxnId: this.durable.txnId,
    };
  }

  /**
   * Makes the last committed state durable in the file itself: write every dirty page, fsync,
   * write the header slot (recording the WAL sequence it covers), fsync. Serialized with the
   * writers. With a WAL, records up to `walSeq` may be dropped only after this resolves.
   * With `force`, the header is rewritten even when nothing changed: what was read at open may
   * have been only in the page cache (after an earlier process's failed fsync), and this
   * process must not vouch for it until it has made it durable itself.
   * Returns the WAL sequence the durable header now covers.
   */
  async checkpoint(options: { force?: boolean } = {}): Promise<number> {
    this.checkUsable();
    this.checkWritable('a checkpoint');
    await this.writers.acquire();
    try {
      this.checkUsable();
      const changed = this.committed.txnId !== this.durable.txnId || this.pager.stats().dirtyPages > 0;
      if (changed || options.force === true) await this.persist(this.committed);
      return this.durable.walSeq;
    } finally {
      this.writers.release();
    }
  }

  /** The WAL sequence covered by the durable header. */
  get durableWalSeq(): number {
    return this.durable.walSeq;
  }

  /** @internal The master generation the durable slot witnesses (CommitSlot.masterGeneration). */
  get durableMasterGeneration(): number {
    return this.durableSlotFields.masterGeneration ?? 0;
  }

  /**
   * Makes the last commit durable (if a `none` commit is pending) and releases the file.
   * A write transaction still open is a caller bug (TypeError); waiting writers get CLOSED.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.closed) return Promise.resolve();
    if (this.activeWriter !== null) return Promise.reject(new TypeError('close while a write transaction is open'));
    // Refuse new work first, so no writer slips in while the last state is persisted.
    this.closed = true;
    // Lazily: an error captures a stack trace, which cost a share of every close with no waiter.
    this.writers.rejectAll(() => new EngineError('CLOSED', 'the database was closed'));
    this.closing = this.finishClose();
    return this.closing;
  }

  private async finishClose(): Promise<void> {
    try {
      // A read-only open's replayed commits stay where they are durable already: in the log.
      if (!this.readOnly && this.poisoned === null && this.committed.txnId !== this.durable.txnId) await this.persist(this.committed);
    } finally {
      this.pager.release();
      this.storage.close();
    }
  }
}

/** @internal One budget for the families of a ColumnFamilyDatabase, sized by its options. */
export function sharedPageBudget(options: DatabaseOptions, pageBytes: number): PageBudget {
  return new PageBudget({ ...resolveOptions(options), pageBytes });
}
