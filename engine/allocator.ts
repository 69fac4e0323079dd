/**
 * Page allocation with deferred frees (invariant 3).
 *
 * A page freed by the commit of transaction T may still be reached by the durable header (if
 * T is not yet durable) and by read transactions whose snapshot predates T. It is reused only
 * once the durable header's txn id is >= T and every live reader's snapshot is >= T: the
 * "horizon". A page allocated and freed within one uncommitted transaction was never visible
 * to anyone and is free at once.
 *
 * A page handed out since the last durable state (a "volatile" page) is not reached by the
 * durable header: a crash recovers from that header and the log, never from it. Freed by a
 * commit, it waits only for the readers, not for a checkpoint. With a log, checkpoints are
 * rare, and every commit copies its path from leaf to root: without this, each commit's pages
 * stayed allocated until the next checkpoint, and the file grew by about a path per commit
 * (3,000 commits of 632 bytes gave a 48 MB file, 25 times the logical bytes; issue 12).
 */
import { assert } from './errors.js';
import { MAX_PAGE_COUNT } from './format.js';

interface PendingFree {
  readonly txnId: number;
  readonly pages: number[];
}

export class Allocator {
  /** Free pages, used as a stack (most recently freed first, for locality). */
  private free: number[];
  private pending: PendingFree[] = [];
  /** Volatile pages freed by commits: they wait for the readers only (see the file comment). */
  private pendingVolatile: PendingFree[] = [];
  /** Pages in both pending queues, kept so the free list's size is known without flattening it. */
  private pendingCount = 0;
  /** Pages handed out since the last durable state (see the file comment). */
  private volatile = new Set<number>();
  /** One past the highest page ever handed out; page 0 is the header. */
  private highWater: number;

  constructor(pageCount: number, freePages: readonly number[]) {
    assert(pageCount >= 1 && pageCount <= MAX_PAGE_COUNT, 'page count in range');
    assert(freePages.every((page) => page >= 1 && page < pageCount), 'free pages within the file');
    this.highWater = pageCount;
    // Descending, so the stack hands out low pages first and the file stays compact.
    this.free = [...freePages].sort((a, b) => b - a);
  }

  get pageCount(): number {
    return this.highWater;
  }

  allocate(): number {
    const reused = this.free.pop();
    const page = reused ?? this.highWater;
    if (reused === undefined) {
      assert(this.highWater < MAX_PAGE_COUNT, 'file below the page limit');
      this.highWater++;
    }
    this.volatile.add(page);
    return page;
  }

  /** Returns pages that nobody but an aborted or in-progress transaction ever saw. */
  freeNow(pages: Iterable<number>): void {
    for (const page of pages) {
      assert(page >= 1 && page < this.highWater, 'freed page was allocated');
      this.volatile.delete(page);
      this.free.push(page);
    }
  }

  /**
   * Records pages freed by the commit of `txnId`; they wait for the horizon to pass it (a
   * volatile page only for the readers' part of it, see `advance`).
   */
  freeDeferred(txnId: number, pages: number[]): void {
    if (pages.length === 0) return;
    const durablePages = pages.filter((page) => !this.volatile.has(page));
    const volatilePages = pages.filter((page) => this.volatile.delete(page));
    for (const [queue, queued] of [[this.pending, durablePages], [this.pendingVolatile, volatilePages]] as const) {
      if (queued.length === 0) continue;
      const last = queue[queue.length - 1];
      assert(last === undefined || last.txnId <= txnId, 'deferred frees arrive in commit order');
      queue.push({ txnId, pages: queued });
    }
    this.pendingCount += pages.length;
  }

  /**
   * The state that was committed last is durable now: every page handed out so far is reached
   * by it or freed already, so none is volatile any more.
   */
  markDurable(): void {
    this.volatile.clear();
  }

  /**
   * Releases every pending page freed by a transaction at or below `horizon`, which the caller
   * computes as min(durable txn id, oldest live reader's snapshot txn id), and every volatile
   * page freed at or below `readerHorizon` (the oldest live reader's snapshot txn id; infinite
   * without readers).
   */
  advance(horizon: number, readerHorizon: number = horizon): number {
    assert(readerHorizon >= horizon, 'the readers part of the horizon is at or above the horizon');
    const released = release(this.pending, horizon, this.free) + release(this.pendingVolatile, readerHorizon, this.free);
    this.pendingCount -= released;
    return released;
  }

  /** Whether pages freed by a transaction at or below `txnId` still wait. */
  pendingAtOrBelow(txnId: number): boolean {
    return [this.pending, this.pendingVolatile].some((queue) => queue.length > 0 && queue[0]!.txnId <= txnId);
  }

  freePages(): readonly number[] {
    return this.free;
  }

  pendingPages(): number[] {
    return [...this.pending, ...this.pendingVolatile].flatMap((entry) => entry.pages);
  }

  /** Free and pending pages together: what the committed state does not reach. */
  get unreachableCount(): number {
    return this.free.length + this.pendingCount;
  }

  /**
   * Free and pending pages and `extra` (pages the caller knows are unreachable too), ascending:
   * the free list a durable slot records. Pending pages are in it because the slot being
   * written supersedes every state that reached them, and a recovery has no readers.
   */
  unreachable(extra: readonly number[]): number[] {
    const pages = [...this.free, ...extra];
    for (const entry of [...this.pending, ...this.pendingVolatile]) for (const page of entry.pages) pages.push(page);
    pages.sort((a, b) => a - b);
    for (let i = 1; i < pages.length; i++) assert(pages[i - 1]! < pages[i]!, 'a page is unreachable once');
    return pages;
  }
}

/** Moves the entries of `queue` freed at or below `horizon` onto `free`; returns the pages moved. */
function release(queue: PendingFree[], horizon: number, free: number[]): number {
  let released = 0;
  while (queue.length > 0 && queue[0]!.txnId <= horizon) {
    const entry = queue.shift()!;
    for (const page of entry.pages) free.push(page);
    released += entry.pages.length;
  }
  return released;
}
