/**
 * Page allocation with deferred frees (invariant 3).
 *
 * A page freed by the commit of transaction T may still be reached by the durable header (if
 * T is not yet durable) and by read transactions whose snapshot predates T. It is reused only
 * once the durable header's txn id is >= T and every live reader's snapshot is >= T: the
 * "horizon". A page allocated and freed within one uncommitted transaction was never visible
 * to anyone and is free at once.
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
  /** Pages in `pending`, kept so the free list's size is known without flattening it. */
  private pendingCount = 0;
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
    if (reused !== undefined) return reused;
    assert(this.highWater < MAX_PAGE_COUNT, 'file below the page limit');
    return this.highWater++;
  }

  /** Returns pages that nobody but an aborted or in-progress transaction ever saw. */
  freeNow(pages: Iterable<number>): void {
    for (const page of pages) {
      assert(page >= 1 && page < this.highWater, 'freed page was allocated');
      this.free.push(page);
    }
  }

  /** Records pages freed by the commit of `txnId`; they wait for the horizon to pass it. */
  freeDeferred(txnId: number, pages: number[]): void {
    if (pages.length === 0) return;
    const last = this.pending[this.pending.length - 1];
    assert(last === undefined || last.txnId <= txnId, 'deferred frees arrive in commit order');
    this.pending.push({ txnId, pages });
    this.pendingCount += pages.length;
  }

  /**
   * Releases every pending page freed by a transaction at or below `horizon`, which the caller
   * computes as min(durable txn id, oldest live reader's snapshot txn id).
   */
  advance(horizon: number): number {
    let released = 0;
    while (this.pending.length > 0 && this.pending[0]!.txnId <= horizon) {
      const entry = this.pending.shift()!;
      for (const page of entry.pages) this.free.push(page);
      released += entry.pages.length;
    }
    this.pendingCount -= released;
    return released;
  }

  /** Whether pages freed by a transaction at or below `txnId` still wait. */
  pendingAtOrBelow(txnId: number): boolean {
    return this.pending.length > 0 && this.pending[0]!.txnId <= txnId;
  }

  freePages(): readonly number[] {
    return this.free;
  }

  pendingPages(): number[] {
    return this.pending.flatMap((entry) => entry.pages);
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
    for (const entry of this.pending) for (const page of entry.pages) pages.push(page);
    pages.sort((a, b) => a - b);
    for (let i = 1; i < pages.length; i++) assert(pages[i - 1]! < pages[i]!, 'a page is unreachable once');
    return pages;
  }
}
