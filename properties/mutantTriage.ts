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
};
