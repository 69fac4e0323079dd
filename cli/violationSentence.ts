/**
 * A violation in one plain sentence, built from its events and commit timings: "commit #0 (cf0)
 * was acknowledged at event 15, before any log sync made it durable, and the power cut before
 * event 16 lost it". The console, the HTML report and JUnit say the same sentence.
 */
import type { IoEvent } from '../fault/faultyVfs.js';
import type { CommitTiming, Violation } from '../properties/crashCase.js';

/** How a 0-byte value reads wherever a value is shown (never an empty cell). */
export const EMPTY_VALUE = '(empty, 0 bytes)';

/** A recovered or expected value for people: absent, empty, or itself. */
export function shownValue(value: string | undefined): string {
  return value === undefined ? '(absent)' : value === '' ? EMPTY_VALUE : value;
}

const KIND_WORDS: Readonly<Record<string, string>> = {
  'lost-ack': 'an acknowledged commit was lost',
  'torn-transaction': 'a transaction came back in part',
  hole: 'a commit came back while an earlier one of the same order did not',
  'resurrected-delete': 'a deleted key came back',
  'phantom-value': 'a value that was never committed came back',
  'other-divergence': 'the recovered state matches no prefix of the commits',
  integrity: 'the recovered file failed its integrity walk',
  'undetected-corruption': 'corrupted data was read back as good',
  'silent-loss': 'commits were lost under damage without an error',
  'unexpected-error': 'the engine failed with an error it should not raise',
  hang: 'the workload never settled',
  poisoning: 'the engine went on after an I/O error as if nothing had happened',
  'clean-reopen': 'a clean reopen did not return what was committed',
  snapshot: 'a read snapshot changed under its reader',
};

const isLog = (file: string): boolean => file.endsWith('.wal');

/** The first successful sync at or after `from` of the log (or, without a log, of any file). */
function syncAfter(events: readonly IoEvent[], from: number): IoEvent | undefined {
  const logged = events.some((e) => isLog(e.file));
  return events.find((e) => e.op === 'sync' && e.outcome === 'ok' && e.index >= from && (!logged || isLog(e.file)));
}

function lostAckSentence(v: Violation, commit: CommitTiming, events: readonly IoEvent[]): string {
  const what = `commit #${commit.index} (${commit.family}) was acknowledged at event ${commit.settledAt}`;
  const cut = `the power cut before event ${v.crashAt} lost it`;
  const syncName = events.some((e) => isLog(e.file)) ? 'log sync' : 'sync';
  const before = syncAfter(events, commit.issuedAt);
  if (before !== undefined && before.index < commit.settledAt!) {
    return `${what}, after the ${syncName} at event ${before.index}, yet ${cut}`;
  }
  const next = syncAfter(events, commit.settledAt!);
  if (next === undefined || next.index >= v.crashAt) return `${what}, before any ${syncName} made it durable, and ${cut}`;
  return `${what}, and the ${syncName} at event ${next.index} came before the power cut at event ${v.crashAt}, yet the recovered state lacks it`;
}

/** One sentence that says what went wrong, from the events where they tell, else from the kind and detail. */
export function violationSentence(v: Violation): string {
  const events = v.events ?? v.eventsAround;
  const lostIndex = v.kind === 'lost-ack' ? /commit #(\d+)/.exec(v.detail) : null;
  const commit = lostIndex === null ? undefined : v.commits?.find((c) => c.index === Number(lostIndex[1]) && c.settledAt !== undefined);
  if (commit !== undefined) return `${lostAckSentence(v, commit, events)}.`;
  const words = KIND_WORDS[v.kind] ?? v.kind;
  const where = v.crash === undefined ? 'while the workload ran' : `after a power cut before event ${v.crashAt}`;
  return `${words.charAt(0).toUpperCase()}${words.slice(1)} ${where}: ${v.detail}.`;
}
