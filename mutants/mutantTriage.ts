/**
 * Triage of the automatic mutants (properties/mutantGenerator.ts) that survive the crash
 * harness: the ones judged EQUIVALENT (no crash the harness can produce tells them apart from
 * the reference engine, whatever the budget), by mutant name, with the reason. The mutant
 * runner lists these as `equivalent` instead of running them. Survivors that a stronger harness
 * could kill are deliberately NOT listed here: they stay survivors.
 *
 * Names are `<operator>-<file stem>-<function>[-<n>]` of the COMPILED engine (rule in
 * mutantGenerator.ts): edits elsewhere in a file keep them, but renaming the function, or adding
 * or removing a site of the same operator in it, orphans its entry (the runner then runs the
 * mutant again, which is the safe direction). Reasons name other sites by mutant or function,
 * never by line, for the same reason.
 */
export const AUTOMATIC_EQUIVALENTS: Readonly<Record<string, string>> = {
  'empty-catch-catalog-tablenameof':
    'tableNameOf only throws for a catalog key that is not UTF-8; keys are always encoded from strings and live in '
    + 'checksummed pages (a flipped bit fails the page CRC first), so the emptied catch is unreachable by any crash image',
  'empty-catch-masterheader-decodemaster':
    'decodeMasterBody runs only after the master copy\'s CRC matched (skip-checksum-masterheader-decodemaster is killed); a '
    + 'CRC-valid body was written by encodeMaster and never throws RangeError/TypeError, so the catch is unreachable',
  'skip-checksum-format-decodestaticheader':
    'every field under the static header\'s checksum is validated on its own: the magic (INVALID_FORMAT), the version (must '
    + 'equal), the page size (a power of two in range: a one- or two-bit flip of a power of two never yields a usable one, or '
    + 'the pages\' own CRCs fail); a flip in the checksum field alone leaves a correct header, read correctly',
  'continue-past-invalid-format-decodeslot-1':
    'decodeSlot checks the slot CRC first (skip-checksum-format-decodeslot-1 is killed); a CRC-valid slot was written by encodeSlot '
    + 'from a safe-integer walSeq, and CRC-32 detects every 1- and 2-bit error at this length, so the check never fires',
  'continue-past-invalid-format-decodeslot-2':
    'decodeSlot checks the slot CRC first (skip-checksum-format-decodeslot-1 is killed); a CRC-valid slot was written by encodeSlot, '
    + 'which asserts that a slot without a free list (freeListPage 0) has freeCount 0 and freeListCrc 0, and CRC-32 detects every '
    + '1- and 2-bit error at this length, so the check never fires',
  'skip-checksum-format-decodeslot-2':
    'the comparison is freeListCrc !== 0 inside the same free-list consistency check as continue-past-invalid-format-decodeslot-2 '
    + '(not a checksum verification): it runs only on a CRC-valid slot, which encodeSlot wrote with freeListCrc 0 whenever '
    + 'freeListPage is 0, so it never fires',
  'skip-checksum-freelist-decodefreelistpage':
    'the comparison is next.crc !== 0 on the last page of a free-list chain (not a checksum verification): the page was '
    + 'read through Pager.readVerified against the CRC its predecessor or the slot recorded, and a CRC-valid page was written '
    + 'by writeFreeList, which gives the last page next 0 and next CRC 0, so the check never fires',
  'delete-write-wal-truncate-2':
    'the header write of a truncation that keeps records only moves the scan start forward past records every family\'s '
    + 'durable header covers; without it, recovery reads those records again and skips them by sequence, and the next '
    + 'truncation or reset writes a newer generation anyway',
  // Defence in depth: each poison check below is masked by another that stays in place, so
  // removing one alone changes no outcome (a failure poisons every family synchronously).
  'pass-poison-check-segmentedfile-run':
    'after a failed data-file fsync every family is poisoned (poisonAll); the only syncs that follow come from persist, '
    + 'whose own poison check (pass-poison-check-database-persist-1) throws first, and close skips persist on a poisoned family',
  'pass-poison-check-database-persist-1':
    'persist is reached only through commit (whose guard checks the poison), checkpoint (checkUsable) and close (which '
    + 'skips persist when poisoned); a failure between those checks and persist fails the sync itself, whose '
    + 'permanent syncFailure (pass-poison-check-segmentedfile-run, in SegmentedFile.sync) or the log\'s failure throws before any slot is written',
  'pass-poison-check-database-persist-2':
    'the state persisted here was made durable in the log before (the write-ahead rule waits for it at the top of '
    + 'persist), so writing its slot after another family poisoned this one exposes nothing that was not durable already; '
    + 'a data-file failure makes the slot\'s own sync throw (pass-poison-check-segmentedfile-run)',
  'pass-poison-check-wal-checkusable':
    'Wal.fail calls onIoError synchronously, which poisons every family and the store; every path to append, '
    + 'waitDurable and truncate passes a family\'s or the store\'s poison check first (commit guard, persist, checkpoint)',
  'empty-catch-transaction-commit':
    'a commit refused by its guard (poisoned or closed family) that runs on anyway reaches installCommit, where the '
    + 'log (Wal.checkUsable, failed for good) or persist (pass-poison-check-database-persist-1) refuses it again: it is never acknowledged',
  'empty-catch-database-beginwrite':
    'the second check in beginWrite matters only to a writer that queued on the same family before a failure; the '
    + 'transaction it then gets cannot commit (the commit guard checks the poison again), so no state or acknowledgement '
    + 'the harness can observe differs',
  'delete-write-wal-open':
    'ColumnFamilyDatabase.open always ends in recover(), whose forced checkpoint truncates the empty log and so writes '
    + 'a header slot (generation 2) before any record is appended; a crash before that leaves a log of zeros, which is '
    + 'an unfinished creation with or without the deleted write',
  'skip-checksum-wal-decodeheader':
    'a damaged log header slot taken as valid only moves where the scan starts or what salt and sequence it expects: '
    + 'records are then not read (a loss the corruption contract allows, each family keeping a prefix), never misread, '
    + 'since each record carries its own CRC, salt and sequence and replay checks the family chain',
  // Structural operators (btree.js, node.js): killed by the differential property unless listed here.
  'shift-bound-btree-balancedindex':
    'the split point then never takes the last candidate `max`, which is never strictly the best one: balancedIndex is only '
    + 'called on a node over a page (an overflowing node, or two siblings that do not fit in one), every entry is at most a '
    + 'quarter page, so for a leaf moving the split from n-2 to n-1 puts at least a quarter page more on the left of a node over '
    + 'a page and only worsens the balance (ties keep the first candidate); for a branch (n >= 5, else min = max and nothing '
    + 'changes) the next candidate n-3 still leaves both halves in bounds (the left loses one entry of at most a quarter page '
    + 'from more than half a page, the right holds three children), so both halves hold the same entries in the same order '
    + 'and no get, scan or integrity check can tell which page holds which',
  'shift-bound-btree-scanleaves':
    'it only lets an empty range [k, k) past the early return; scanRef then computes from = to at every level (lowerBound or '
    + 'leafPageLowerBound in leaves, childIndex or branchPageChild in branches, of the same key), so every leaf run it yields '
    + 'is empty and the loops over it yield nothing, exactly as the early return does',
};
