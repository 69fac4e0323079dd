/**
 * The page store's cache layer, between the B-tree and `Storage`:
 *
 * - a write buffer of dirty pages with a byte budget. When dirty bytes pass the high-water
 *   mark, the oldest dirty pages are written to the file (no fsync) until dirty bytes are at or
 *   below the low-water mark. The seed plan's eviction policy, made explicit and counted.
 * - a bounded read cache of decoded nodes, keyed by page number and checked against the
 *   checksum the parent expects, so a stale entry is never served for a reused page.
 *
 * A page is read from the write buffer first, then the file: wherever the committed bytes
 * currently live, a read returns them (invariant 8). The pager never decides what is safe to
 * write where: the allocator and the commit protocol above it do.
 */
import { checksum } from './checksum.js';
import { assert, corruption, EngineError, ioError } from './errors.js';
import { decodeNode, decodeOverflow, type Node, type OverflowPage } from './node.js';
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

interface CachedNode {
  readonly crc: number;
  readonly node: Node;
  /** Set on every hit, cleared when eviction passes it over once (CLOCK's second chance). */
  referenced: boolean;
}

export class Pager {
  readonly pageBytes: number;
  private readonly storage: Storage;
  private readonly options: PagerOptions;
  /** Insertion order is age: the first entry is the oldest dirty page. */
  private readonly dirty = new Map<number, Uint8Array>();
  private readonly cache = new Map<number, CachedNode>();
  private readonly cacheCapacityPages: number;
  private readonly counters: PagerStats = {
    dirtyBytes: 0, dirtyPages: 0, evictions: 0, pagesWritten: 0, pagesRead: 0, syncs: 0,
    cacheHits: 0, cacheMisses: 0,
  };

  /** Told of every storage failure, so the database can refuse work until reopened. */
  private readonly onIoError: (error: EngineError) => void;

  constructor(storage: Storage, options: PagerOptions, onIoError: (error: EngineError) => void) {
    assert(options.evictionLowWater <= options.evictionHighWater, 'low water at or below high water');
    assert(options.writeBufferBytes >= options.pageBytes, 'write buffer holds at least one page');
    this.storage = storage;
    this.options = options;
    this.onIoError = onIoError;
    this.pageBytes = options.pageBytes;
    this.cacheCapacityPages = Math.max(16, Math.floor(options.readCacheBytes / options.pageBytes));
  }

  stats(): PagerStats {
    return { ...this.counters, dirtyPages: this.dirty.size };
  }

  /** Pages the file holds now (rounded up: a torn extension still counts its partial page). */
  filePageCount(): number {
    return Math.ceil(this.storage.len() / this.pageBytes);
  }

  /** Raw page bytes from the write buffer or the file. Never cached: callers verify them. */
  readPage(page: number): Uint8Array {
    assert(page >= 1, 'page 0 is the header, not a B-tree page');
    const buffered = this.dirty.get(page);
    if (buffered !== undefined) return buffered;
    const offset = page * this.pageBytes;
    if (offset + this.pageBytes > this.storage.len()) {
      throw corruption(`page ${page} lies beyond the end of the file`);
    }
    this.counters.pagesRead++;
    return this.io('read', () => this.storage.read(offset, this.pageBytes));
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

  /** A decoded B-tree node, from the read cache when the checksum matches. */
  loadNode(page: number, expectedCrc: number): Node {
    const cached = this.cache.get(page);
    if (cached !== undefined && cached.crc === expectedCrc) {
      this.counters.cacheHits++;
      // A flag, not a reordering: hits are the hot path, eviction pays for recency instead.
      cached.referenced = true;
      return cached.node;
    }
    this.counters.cacheMisses++;
    const node = decodeNode(this.readVerified(page, expectedCrc), page);
    this.remember(page, expectedCrc, node);
    return node;
  }

  loadOverflow(page: number, expectedCrc: number): OverflowPage {
    return decodeOverflow(this.readVerified(page, expectedCrc), page);
  }

  /** Caches a node the caller has just encoded (it is clean and immutable from now on). */
  remember(page: number, crc: number, node: Node): void {
    this.cache.delete(page);
    this.cache.set(page, { crc, node, referenced: false });
    // CLOCK over the Map's insertion order: a referenced entry moves to the back once.
    for (let scanned = 0; this.cache.size > this.cacheCapacityPages; scanned++) {
      const [oldestPage, oldest] = this.cache.entries().next().value as [number, CachedNode];
      this.cache.delete(oldestPage);
      if (oldest.referenced && scanned < this.cacheCapacityPages) {
        oldest.referenced = false;
        this.cache.set(oldestPage, oldest);
      }
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
    const highBytes = this.options.writeBufferBytes * this.options.evictionHighWater;
    if (this.counters.dirtyBytes > highBytes) this.evict();
  }

  /** Forgets a page freed before it became durable: its bytes must never reach the file. */
  discard(page: number): void {
    this.cache.delete(page);
    if (this.dirty.delete(page)) this.counters.dirtyBytes -= this.pageBytes;
  }

  /** Writes the oldest dirty pages down to the low-water mark. */
  private evict(): void {
    const lowBytes = this.options.writeBufferBytes * this.options.evictionLowWater;
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
    const bytes = run.length === 1 ? this.dirty.get(first)! : new Uint8Array(run.length * this.pageBytes);
    if (run.length > 1) run.forEach((page, i) => bytes.set(this.dirty.get(page)!, i * this.pageBytes));
    this.io('write', () => this.storage.write(first * this.pageBytes, bytes));
    for (const page of run) {
      this.dirty.delete(page);
      this.counters.dirtyBytes -= this.pageBytes;
    }
    this.counters.pagesWritten += run.length;
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
