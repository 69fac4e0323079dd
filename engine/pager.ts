/**
 * The page store's cache layer, between the B-tree and `Storage`:
 *
 * - a write buffer of dirty pages with a byte budget. When dirty bytes pass the high-water
 *   mark, the oldest dirty pages are written to the file (no fsync) until dirty bytes are at or
 *   below the low-water mark. The seed plan's eviction policy, made explicit and counted.
 * - a bounded read cache of verified page bytes (not decoded nodes: a decoded leaf takes more
 *   memory than its page, and lookups search the bytes directly), keyed by page number and
 *   checked against the checksum the parent expects, so a stale entry is never served for a
 *   reused page.
 *
 * A page is read from the write buffer first, then the file: wherever the committed bytes
 * currently live, a read returns them (invariant 8). The pager never decides what is safe to
 * write where: the allocator and the commit protocol above it do.
 */
import { checksum } from './checksum.js';
import { assert, corruption, EngineError, ioError } from './errors.js';
import { checkNodePage, decodeNode, decodeOverflow, type Node, type OverflowPage } from './node.js';
import type { Storage } from './storage.js';

export interface PagerOptions {
  readonly pageBytes: number;
  readonly writeBufferBytes: number;
  /** Fraction of `writeBufferBytes` above which eviction starts. */
  readonly evictionHighWater: number;
  /** Fraction of `writeBufferBytes` eviction brings dirty bytes down to. */
  readonly evictionLowWater: number;
  readonly readCacheBytes: number;
}

export interface PagerStats {
  dirtyBytes: number;
  dirtyPages: number;
  evictions: number;
  pagesWritten: number;
  pagesRead: number;
  syncs: number;
  cacheHits: number;
  cacheMisses: number;
}

/** Largest single write the pager issues when coalescing contiguous dirty pages. */
const MAX_WRITE_RUN_BYTES = 1 << 20;

interface CachedPage {
  readonly crc: number;
  /** Checked by checkNodePage; never mutated (the write buffer may hold the same array). */
  readonly bytes: Uint8Array;
  /** Set on every hit, cleared when eviction passes it over once (CLOCK's second chance). */
  referenced: boolean;
}

/**
 * The read-cache and write-buffer budgets of the pagers that share it: one pager (a Database)
 * or every family of a ColumnFamilyDatabase, so that the configured sizes bound the whole
 * store and not each family (8 families used to hold 8 times the configured memory). Each
 * pager keeps its own pages; the budget only decides when, and from whom, pages go.
 */
export class PageBudget {
  /** In bytes, not pages: the families of one file may have been created with other page sizes. */
  readonly cacheCapacityBytes: number;
  readonly highBytes: number;
  readonly lowBytes: number;
  private readonly pagers: Pager[] = [];
  /** Round-robin cursor over `pagers` for cache eviction. */
  private hand = 0;

  constructor(options: PagerOptions) {
    assert(options.evictionLowWater <= options.evictionHighWater, 'low water at or below high water');
    assert(options.writeBufferBytes >= options.pageBytes, 'write buffer holds at least one page');
    this.cacheCapacityBytes = Math.max(16, Math.floor(options.readCacheBytes / options.pageBytes)) * options.pageBytes;
    this.highBytes = options.writeBufferBytes * options.evictionHighWater;
    this.lowBytes = options.writeBufferBytes * options.evictionLowWater;
  }

  /** @internal Pagers join at construction and leave at release. */
  join(pager: Pager): void {
    this.pagers.push(pager);
  }

  leave(pager: Pager): void {
    const at = this.pagers.indexOf(pager);
    if (at >= 0) this.pagers.splice(at, 1);
  }

  cachedBytes(): number {
    let total = 0;
    for (const pager of this.pagers) total += pager.cachedPages() * pager.pageBytes;
    return total;
  }

  dirtyBytes(): number {
    let total = 0;
    for (const pager of this.pagers) total += pager.dirtyBytes();
    return total;
  }

  /** Drops cached pages, one pager at a time in turn, until the cache is within budget. */
  trimCache(): void {
    while (this.pagers.length > 0 && this.cachedBytes() > this.cacheCapacityBytes) {
      this.hand = (this.hand + 1) % this.pagers.length;
      this.pagers[this.hand]!.dropOldestCached();
    }
  }

  /**
   * Brings the dirty bytes of all pagers down to the low-water mark, each pager writing its
   * oldest pages in proportion to what it holds. Writing another family's dirty pages is what
   * that family's own eviction would do: they are pages no durable header names yet.
   */
  evict(): void {
    const totalBytes = this.dirtyBytes();
    for (const pager of [...this.pagers]) {
      pager.evictDownTo(pager.dirtyBytes() * (this.lowBytes / totalBytes));
    }
  }
}

export class Pager {
  readonly pageBytes: number;
  private readonly storage: Storage;
  /** Insertion order is age: the first entry is the oldest dirty page. */
  private readonly dirty = new Map<number, Uint8Array>();
  private readonly cache = new Map<number, CachedPage>();
  private readonly budget: PageBudget;
  /** See gather(): allocated on the first multi-page run. */
  private runScratch = new Uint8Array(0);
  private readonly counters: PagerStats = {
    dirtyBytes: 0, dirtyPages: 0, evictions: 0, pagesWritten: 0, pagesRead: 0, syncs: 0,
    cacheHits: 0, cacheMisses: 0,
  };

  /** Told of every storage failure, so the database can refuse work until reopened. */
  private readonly onIoError: (error: EngineError) => void;

  /** Without `budget`, the pager has one of its own, sized by `options`. */
  constructor(storage: Storage, options: PagerOptions, onIoError: (error: EngineError) => void, budget?: PageBudget) {
    assert(options.evictionLowWater <= options.evictionHighWater, 'low water at or below high water');
    assert(options.writeBufferBytes >= options.pageBytes, 'write buffer holds at least one page');
    this.storage = storage;
    this.onIoError = onIoError;
    this.pageBytes = options.pageBytes;
    this.budget = budget ?? new PageBudget(options);
    this.budget.join(this);
  }

  /** Leaves the shared budget (the database closed): its pages no longer count or get evicted. */
  release(): void {
    this.budget.leave(this);
    this.cache.clear();
  }

  cachedPages(): number {
    return this.cache.size;
  }

  dirtyBytes(): number {
    return this.counters.dirtyBytes;
  }

  stats(): PagerStats {
    return { ...this.counters, dirtyPages: this.dirty.size };
  }

  /** Pages the file holds now (rounded up: a torn extension still counts its partial page). */
  filePageCount(): number {
    return Math.ceil(this.storage.len() / this.pageBytes);
  }

  /**
   * Raw page bytes from the write buffer or the file. Never cached: callers verify them. Never
   * written either (by anyone: see Storage.readShared), so a storage may hand out its own.
   */
  readPage(page: number): Uint8Array {
    assert(page >= 1, 'page 0 is the header, not a B-tree page');
    const buffered = this.dirty.get(page);
    if (buffered !== undefined) return buffered;
    const offset = page * this.pageBytes;
    if (offset + this.pageBytes > this.storage.len()) {
      throw corruption(`page ${page} lies beyond the end of the file`);
    }
    this.counters.pagesRead++;
    const storage = this.storage;
    return this.io('read', () => (storage.readShared !== undefined ? storage.readShared(offset, this.pageBytes) : storage.read(offset, this.pageBytes)));
  }

  /** Reads and verifies a page against the checksum its parent recorded. */
  readVerified(page: number, expectedCrc: number): Uint8Array {
    const bytes = this.readPage(page);
    const actual = checksum(bytes);
    if (actual !== expectedCrc) {
      throw corruption(`page ${page}: checksum ${actual} does not match ${expectedCrc} recorded by its parent`);
    }
    return bytes;
  }

  /**
   * The verified, structurally checked bytes of a B-tree page, from the read cache when the
   * checksum matches. The caller must not mutate them.
   */
  loadNodePage(page: number, expectedCrc: number): Uint8Array {
    const cached = this.cache.get(page);
    if (cached !== undefined && cached.crc === expectedCrc) {
      this.counters.cacheHits++;
      // A flag, not a reordering: hits are the hot path, eviction pays for recency instead.
      cached.referenced = true;
      return cached.bytes;
    }
    this.counters.cacheMisses++;
    const bytes = this.readVerified(page, expectedCrc);
    checkNodePage(bytes, page);
    this.remember(page, expectedCrc, bytes);
    return bytes;
  }

  /** A freshly decoded B-tree node (its arrays are the caller's; keys and values view the page). */
  loadNode(page: number, expectedCrc: number): Node {
    return decodeNode(this.loadNodePage(page, expectedCrc), page);
  }

  loadOverflow(page: number, expectedCrc: number): OverflowPage {
    return decodeOverflow(this.readVerified(page, expectedCrc), page);
  }

  /** Caches node page bytes that are verified and checked (or just encoded): immutable from now on. */
  remember(page: number, crc: number, bytes: Uint8Array): void {
    this.cache.delete(page);
    this.cache.set(page, { crc, bytes, referenced: false });
    this.budget.trimCache();
  }

  /** Drops the oldest cached page not referenced since it was last passed over (CLOCK). */
  dropOldestCached(): void {
    // CLOCK over the Map's insertion order: a referenced entry moves to the back once.
    const limit = this.cache.size;
    for (let scanned = 0; this.cache.size > 0; scanned++) {
      const [oldestPage, oldest] = this.cache.entries().next().value as [number, CachedPage];
      this.cache.delete(oldestPage);
      if (!oldest.referenced || scanned >= limit) return;
      oldest.referenced = false;
      this.cache.set(oldestPage, oldest);
    }
  }

  /**
   * Caches verified, decodable node page bytes only while the cache has room: a bulk reader
   * (the integrity walk) warms the cache without evicting what gets made hot.
   */
  offer(page: number, crc: number, bytes: Uint8Array): void {
    if (this.budget.cachedBytes() + this.pageBytes <= this.budget.cacheCapacityBytes && !this.cache.has(page)) {
      this.cache.set(page, { crc, bytes, referenced: false });
    }
  }

  /** Puts a page in the write buffer (replacing an older version) and evicts if needed. */
  writePage(page: number, bytes: Uint8Array): void {
    assert(page >= 1, 'page 0 is written only through writeHeader');
    assert(bytes.length === this.pageBytes, 'a page write is exactly one page');
    this.cache.delete(page);
    if (this.dirty.delete(page)) this.counters.dirtyBytes -= this.pageBytes;
    this.dirty.set(page, bytes);
    this.counters.dirtyBytes += this.pageBytes;
    if (this.budget.dirtyBytes() > this.budget.highBytes) this.budget.evict();
  }

  /** Forgets a page freed before it became durable: its bytes must never reach the file. */
  discard(page: number): void {
    this.cache.delete(page);
    if (this.dirty.delete(page)) this.counters.dirtyBytes -= this.pageBytes;
  }

  /** Writes this pager's oldest dirty pages until its dirty bytes are at or below `lowBytes`. */
  evictDownTo(lowBytes: number): void {
    const victims: number[] = [];
    let remainingBytes = this.counters.dirtyBytes;
    for (const page of this.dirty.keys()) {
      if (remainingBytes <= lowBytes) break;
      victims.push(page);
      remainingBytes -= this.pageBytes;
    }
    this.counters.evictions += victims.length;
    this.writeOut(victims);
  }

  /** Writes every dirty page to the file (no fsync): the commit's write barrier. */
  flush(): void {
    this.writeOut([...this.dirty.keys()]);
    assert(this.dirty.size === 0 && this.counters.dirtyBytes === 0, 'flush empties the write buffer');
  }

  /** Writes the given dirty pages in page order, coalescing contiguous runs into one write. */
  private writeOut(pages: number[]): void {
    pages.sort((a, b) => a - b);
    let start = 0;
    while (start < pages.length) {
      let end = start + 1;
      while (end < pages.length && pages[end] === pages[end - 1]! + 1
        && (end - start + 1) * this.pageBytes <= MAX_WRITE_RUN_BYTES) end++;
      this.writeRun(pages.slice(start, end));
      start = end;
    }
  }

  private writeRun(run: number[]): void {
    const first = run[0]!;
    const bytes = run.length === 1 ? this.dirty.get(first)! : this.gather(run);
    this.io('write', () => this.storage.write(first * this.pageBytes, bytes));
    for (const page of run) {
      this.dirty.delete(page);
      this.counters.dirtyBytes -= this.pageBytes;
    }
    this.counters.pagesWritten += run.length;
  }

  /**
   * The pages of a run side by side, in one scratch buffer reused by every run: storage.write
   * does not retain its argument, and a fresh zeroed megabyte per run cost more than the copy.
   * The buffer grows by doubling to the longest run seen, not to the largest run at once: a
   * pager that lives for one recovery and writes a few short runs no longer zeroes a megabyte.
   */
  private gather(run: readonly number[]): Uint8Array {
    const sizeBytes = run.length * this.pageBytes;
    const limitBytes = Math.max(MAX_WRITE_RUN_BYTES, this.pageBytes);
    assert(sizeBytes <= limitBytes, 'a run fits the scratch buffer');
    if (this.runScratch.length < sizeBytes) {
      let grownBytes = Math.max(this.runScratch.length, 4 * this.pageBytes);
      while (grownBytes < sizeBytes) grownBytes *= 2;
      this.runScratch = new Uint8Array(Math.min(grownBytes, limitBytes));
    }
    const bytes = this.runScratch.subarray(0, sizeBytes);
    for (let i = 0; i < run.length; i++) bytes.set(this.dirty.get(run[i]!)!, i * this.pageBytes);
    return bytes;
  }

  /** Writes header bytes (page 0) straight to the file; headers never sit in the buffer. */
  writeHeader(offset: number, bytes: Uint8Array): void {
    assert(offset + bytes.length <= this.pageBytes, 'header writes stay inside page 0');
    this.io('write header', () => this.storage.write(offset, bytes));
  }

  readHeader(lengthBytes: number): Uint8Array {
    return this.io('read header', () => this.storage.read(0, Math.min(lengthBytes, this.storage.len())));
  }

  async sync(): Promise<void> {
    this.counters.syncs++;
    try {
      await this.storage.sync();
    } catch (error) {
      throw this.failed('fsync of the data file', error);
    }
  }

  private io<T>(what: string, action: () => T): T {
    try {
      return action();
    } catch (error) {
      throw this.failed(what, error);
    }
  }

  /** Types a storage failure as IO (keeping other typed errors) and reports it once. */
  private failed(what: string, error: unknown): EngineError {
    const typed = error instanceof EngineError && error.code !== 'IO' ? error : ioError(`${what} failed`, error);
    this.onIoError(typed);
    return typed;
  }
}
