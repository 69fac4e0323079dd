/**
 * The persisted free-page list (format version 2, docs/format.md "Free-list pages"): the set of
 * pages below a commit slot's `pageCount` that the slot's state does not reach, written as a
 * chain of pages at every durable commit and named by the slot (first page, its CRC, the count).
 *
 * It replaces the walk of the whole tree that used to rebuild free space at every open: open
 * now reads only this chain, so its cost grows with the free space, not with the database.
 * The chain's own pages belong to the slot that names it (like its tree pages): they are freed,
 * deferred, by the next durable commit, never reused while that slot is the durable one.
 *
 * Trust: the chain is checked on read (CRCs from the slot down the chain, page type, counts,
 * entries strictly increasing and inside the page space, no entry naming a chain page, the
 * total equal to the slot's count); anything else is CORRUPTION. That the list is exactly the
 * complement of what the tree reaches is what `checkIntegrity` verifies (reachable + list +
 * free + pending = all pages), since checking it at open would mean walking the tree again.
 */
import { checksum } from './checksum.js';
import { assert, corruption } from './errors.js';
import type { CommitSlot } from './format.js';
import type { Pager } from './pager.js';

export const FREE_LIST_PAGE_TYPE = 4;
export const FREE_LIST_HEADER_BYTES = 16;

/** Page numbers one free-list page holds. */
export function freeListCapacity(pageBytes: number): number {
  return Math.floor((pageBytes - FREE_LIST_HEADER_BYTES) / 4);
}

/** Pages a list of `count` entries needs. */
export function freeListPagesFor(count: number, pageBytes: number): number {
  return Math.ceil(count / freeListCapacity(pageBytes));
}

/**
 * Encodes ascending `entries` into the pages of `chain` (in order), last page first so that
 * each page records its successor's CRC; `write` receives each page. Returns the CRC of the
 * first page (0 for an empty chain). A chain may have one page more than the entries need
 * (allocating its pages can take the last free entries away): that page holds none.
 */
export function writeFreeList(chain: readonly number[], entries: readonly number[], pageBytes: number,
  write: (page: number, bytes: Uint8Array) => void): number {
  const capacity = freeListCapacity(pageBytes);
  assert(chain.length >= freeListPagesFor(entries.length, pageBytes), 'the chain holds every entry');
  assert(chain.length <= freeListPagesFor(entries.length, pageBytes) + 1, 'the chain has at most one spare page');
  let nextPage = 0;
  let nextCrc = 0;
  for (let i = chain.length - 1; i >= 0; i--) {
    const from = Math.min(entries.length, i * capacity);
    const to = Math.min(entries.length, (i + 1) * capacity);
    const bytes = new Uint8Array(pageBytes);
    const view = new DataView(bytes.buffer);
    bytes[0] = FREE_LIST_PAGE_TYPE;
    view.setUint16(2, to - from, true);
    view.setUint32(8, nextPage, true);
    view.setUint32(12, nextCrc, true);
    for (let k = from; k < to; k++) view.setUint32(FREE_LIST_HEADER_BYTES + 4 * (k - from), entries[k]!, true);
    write(chain[i]!, bytes);
    nextPage = chain[i]!;
    nextCrc = checksum(bytes);
  }
  return nextCrc;
}

export interface FreeList {
  /** Free page numbers, ascending. */
  readonly free: number[];
  /** The pages of the chain, in chain order (owned by the slot that names them). */
  readonly chain: number[];
}

/** Decodes one verified chain page, appending its entries to `free`; returns its successor. */
function decodeFreeListPage(bytes: Uint8Array, page: number, slot: CommitSlot, free: number[]): { page: number; crc: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint16(2, true);
  if (bytes[0] !== FREE_LIST_PAGE_TYPE || bytes[1] !== 0 || view.getUint32(4, true) !== 0) {
    throw corruption(`free list: page ${page} is not a free-list page (type ${bytes[0]})`);
  }
  if (count > freeListCapacity(bytes.length)) throw corruption(`free list: page ${page} claims ${count} entries`);
  for (let k = 0; k < count; k++) {
    const entry = view.getUint32(FREE_LIST_HEADER_BYTES + 4 * k, true);
    const last = free.length === 0 ? 0 : free[free.length - 1]!;
    if (entry <= last || entry >= slot.pageCount) {
      throw corruption(`free list: page ${page} entry ${k} (${entry}) is not above ${last} and below ${slot.pageCount}`);
    }
    free.push(entry);
  }
  const next = { page: view.getUint32(8, true), crc: view.getUint32(12, true) };
  if (next.page === 0 && next.crc !== 0) throw corruption(`free list: page ${page} ends the chain with a CRC`);
  return next;
}

/** Reads and checks the free list `slot` names (see the trust note at the top). */
export function readFreeList(pager: Pager, slot: CommitSlot): FreeList {
  const free: number[] = [];
  const chain: number[] = [];
  const maxChain = freeListPagesFor(slot.freeCount, pager.pageBytes) + 1;
  let ref = { page: slot.freeListPage, crc: slot.freeListCrc };
  while (ref.page !== 0) {
    if (chain.length >= maxChain) throw corruption(`free list: longer than the ${maxChain} pages ${slot.freeCount} entries need`);
    if (ref.page >= slot.pageCount) throw corruption(`free list: page ${ref.page} outside the ${slot.pageCount} pages`);
    chain.push(ref.page);
    ref = decodeFreeListPage(pager.readVerified(ref.page, ref.crc), ref.page, slot, free);
  }
  if (free.length !== slot.freeCount) throw corruption(`free list: ${free.length} entries, the commit slot says ${slot.freeCount}`);
  for (const page of chain) {
    if (isListed(free, page)) throw corruption(`free list: its own page ${page} is listed as free`);
  }
  return { free, chain };
}

/** Binary search in an ascending array. */
function isListed(sorted: readonly number[], page: number): boolean {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < page) low = middle + 1;
    else high = middle;
  }
  return sorted[low] === page;
}
