/**
 * Mirrored headers (issue 12): the log's header slots, the commit slots and the master copies are
 * each written twice, so one damaged copy is read past. Reading one is always the same choice.
 */

/**
 * Of a header's copy and its mirror (each null when torn, damaged or absent), the valid one that
 * is newer by `order`; the copy on a tie. A newer mirror is a copy write a crash dropped while
 * the mirror's survived: unsynced either way, so taking it is a legal outcome.
 */
export function newerCopy<T>(copy: T | null, mirror: T | null, order: (header: T) => number): T | null {
  if (copy === null) return mirror;
  return mirror !== null && order(mirror) > order(copy) ? mirror : copy;
}
