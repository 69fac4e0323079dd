/**
 * Triage of the automatic mutants (properties/mutantGenerator.ts) that survive the crash
 * harness: the ones judged EQUIVALENT (no crash the harness can produce tells them apart from
 * the reference engine, whatever the budget), by mutant name, with the reason. The mutant
 * runner lists these as `equivalent` instead of running them. Survivors that a stronger harness
 * could kill are deliberately NOT listed here: they stay survivors.
 *
 * Names are `<operator>-<file>-<line>` of the COMPILED engine: an engine change that moves a
 * line orphans its entry (the runner then runs the mutant again, which is the safe direction).
 */
export const AUTOMATIC_EQUIVALENTS: Readonly<Record<string, string>> = {
  'empty-catch-catalog-58':
    'tableNameOf only throws for a catalog key that is not UTF-8; keys are always encoded from strings and live in '
    + 'checksummed pages (a flipped bit fails the page CRC first), so the emptied catch is unreachable by any crash image',
  'empty-catch-masterheader-82':
    'decodeMasterBody runs only after the master copy\'s CRC matched (skip-checksum-masterheader-74 is killed); a '
    + 'CRC-valid body was written by encodeMaster and never throws RangeError/TypeError, so the catch is unreachable',
  'skip-checksum-format-44':
    'every field under the static header\'s checksum is validated on its own: the magic (INVALID_FORMAT), the version (must '
    + 'equal), the page size (a power of two in range: a one- or two-bit flip of a power of two never yields a usable one, or '
    + 'the pages\' own CRCs fail); a flip in the checksum field alone leaves a correct header, read correctly',
  'continue-past-invalid-format-83':
    'decodeSlot checks the slot CRC first (skip-checksum-format-73 is killed); a CRC-valid slot was written by encodeSlot '
    + 'from a safe-integer walSeq, and CRC-32 detects every 1- and 2-bit error at this length, so the check never fires',
  'empty-catch-columnfamilydatabase-182':
    'applyRedo during replay cannot throw: the open-time integrity walk already read every reachable page (an unreadable '
    + 'sector fails the open first), and a CRC-valid record re-applies ops that succeeded on the same state in the same order',
  'delete-write-wal-324':
    'the header write of a truncation that keeps records only moves the scan start forward past records every family\'s '
    + 'durable header covers; without it, recovery reads those records again and skips them by sequence, and the next '
    + 'truncation or reset writes a newer generation anyway',
};
