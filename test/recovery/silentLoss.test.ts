// Focus: the `silent-loss` verdict: a damaged image that opens without an error but lost an
// acknowledged commit a later durable record vouches for is a violation for a strict store, and
// acceptable only for a store whose declared contract allows rollback under damage.
import test from 'ava';
import { CommitHistory, toHex, type LogicalState, type ModelOp } from '../../model/commitHistory.js';
import { matchState, silentLoss } from '../../recovery/classify.js';
import type { CrashCase } from '../../properties/crashCase.js';

const ins = (key: number, value: number): ModelOp => ({ op: 'insert', table: 't', key: Uint8Array.of(key), value: Uint8Array.of(value) });

/** Families a and b; commits issued and acknowledged `immediate` one after the other. */
function sequential(commits: Array<[string, ModelOp]>): CommitHistory {
  const history = new CommitHistory();
  history.addFamily('a');
  history.addFamily('b');
  for (const [family, op] of commits) history.settle(history.issue(family, [op], 'immediate'), 'acked');
  return history;
}

function state(a: Array<[number, number]>, b: Array<[number, number]>): LogicalState {
  const family = (entries: Array<[number, number]>): Map<string, Map<string, string>> =>
    new Map(entries.length === 0 ? [] : [['t', new Map(entries.map(([k, v]) => [toHex(Uint8Array.of(k)), toHex(Uint8Array.of(v))]))]]);
  return new Map([['a', family(a)], ['b', family(b)]]);
}

test('a rolled-back acknowledged commit vouched for by a later durable record is a silent loss', (t) => {
  const history = sequential([['a', ins(1, 1)], ['b', ins(2, 2)]]);
  const matched = matchState(history, state([], [[2, 2]]), false, 'any-prefix');
  t.not(matched, null, 'each family holds a prefix of its own commits');
  const verdict = silentLoss(history, matched!);
  t.like(verdict, { ok: false, kind: 'silent-loss' });
  t.regex(verdict!.ok ? '' : verdict!.detail, /commit #0 \(a\)/);
});

test('the newest acknowledged commit with no later record is the declared limit, not a silent loss', (t) => {
  const history = sequential([['b', ins(2, 2)], ['a', ins(1, 1)]]);
  const matched = matchState(history, state([], [[2, 2]]), false, 'any-prefix');
  t.is(silentLoss(history, matched!), null, 'nothing issued after commit #1 can vouch for it');
});

test('a commit issued before the lost one was acknowledged does not vouch for it (one group commit)', (t) => {
  const history = new CommitHistory();
  history.addFamily('a');
  history.addFamily('b');
  const first = history.issue('a', [ins(1, 1)], 'immediate');
  const second = history.issue('b', [ins(2, 2)], 'immediate');
  history.settle(first, 'acked');
  history.settle(second, 'acked');
  t.is(history.all()[1]!.vouchesFor, -1);
  t.is(silentLoss(history, matchState(history, state([], [[2, 2]]), false, 'any-prefix')!), null);
});

test('nothing lost, nothing to report', (t) => {
  const history = sequential([['a', ins(1, 1)], ['b', ins(2, 2)]]);
  t.is(silentLoss(history, matchState(history, state([[1, 1]], [[2, 2]]), false, 'any-prefix')!), null);
});

// The campaign's shrunk case (seed 1856141384 under run --seed 1): one bit of the data file's
// master header flipped rolls family cf1 back to nothing, and the engine opens without an error.
const OPTIONS = { wal: true, barrier: 'always', pageBytes: 512, groupCommitWindowMicros: 0, preallocateBytes: 0, walCheckpointBytes: 2048,
  writeBufferBytes: 512, evictionHighWater: 0.5, evictionLowWater: 0.25, initialSegmentBytes: 4096 } as const;
const POWER_CUT = { survival: 'none', tear: false, sectorBytes: 512, atomicSector: false, keepUnsyncedDirOps: false, seed: 0 } as const;
const removal = (family: number): CrashCase['workload']['steps'][number] =>
  ({ kind: 'txns', txns: [{ family, ops: [{ op: 'remove', table: 't0', key: Uint8Array.of(0) }], durability: 'immediate', abort: false }] });
const HEADER_FLIP: CrashCase = {
  workload: { families: 2, options: OPTIONS, steps: [removal(1), removal(0)], scheduleSeed: 0 },
  plan: POWER_CUT, errors: {}, corruption: [{ kind: 'flip', file: 'crashlab.cf', offset: 128, live: false, anchor: 3, bit: 0 }],
  imagesPerRun: 12, recoveryCrash: null,
};

// Shrunk from `run --seed 1 --runs 300 --barrier wal-aware` judged strictly before the master
// copies had mirrors: cf0 dropped and created again, a live bit flip in the data file (the newest
// master copy) and one in the first family's slot 0; it rolled cf0 back without an error.
const DROP_CASE: CrashCase = {
  workload: { families: 1, options: { ...OPTIONS, barrier: 'wal-aware', writeBufferBytes: 2560 }, steps: [{ kind: 'drop', family: 0 },
    { kind: 'txns', txns: [{ family: 0, ops: [{ op: 'delete', table: 't0' }], durability: 'immediate', abort: false }] }], scheduleSeed: 0 },
  plan: POWER_CUT, errors: {},
  corruption: [{ kind: 'flip', file: 'crashlab.cf', offset: 422210475, live: true, bit: 0 }, { kind: 'flip', file: 'crashlab.cf', offset: 64, live: false, anchor: 2, bit: 0 }],
  imagesPerRun: 12, recoveryCrash: null,
};

test('the master-header flips that once rolled a family back silently are told now: strictly, no violation', async (t) => {
  const { runCrashCase } = await import('../../properties/crashCase.js');
  const referenceEngine = await import('../../engine/index.js');
  for (const crashCase of [HEADER_FLIP, DROP_CASE]) {
    const strict = await runCrashCase({ ...referenceEngine, contract: { mayRollBackUnderDamage: false } }, crashCase);
    t.is(strict.violation, null, 'the master generation witnesses and mirrored slots tell it');
    t.true(strict.images > 0);
  }
});

test('several prefixes giving one state: the longest is taken, so a no-op commit is never called lost', (t) => {
  const history = new CommitHistory();
  history.addFamily('a');
  history.addFamily('b');
  history.settle(history.issue('a', [ins(1, 1)], 'immediate'), 'acked');
  history.settle(history.issue('a', [{ op: 'remove', table: 't', key: Uint8Array.of(9) }], 'immediate'), 'acked'); // changes nothing
  history.settle(history.issue('b', [ins(2, 2)], 'immediate'), 'acked');
  const matched = matchState(history, state([[1, 1]], []), false, 'any-prefix');
  t.is(matched!.find((match) => match.family === 'a')!.k, 2, 'a holds both of its commits: the second changed nothing');
  t.is(silentLoss(history, matched!), null, 'only b\'s newest commit is lost, with nothing after it: the declared limit');
});

// Shrunk from `run --seed 1 --runs 300` judged strictly: a family's commit slot 0 and its mirror
// flipped alike (twin flips). Beyond the format's redundancy: the rollback is its declared limit.
const pattern64 = Uint8Array.from({ length: 64 }, (_, i) => (i * 13) & 0xff);
const put0 = (): CrashCase['workload']['steps'][number] =>
  ({ kind: 'txns', txns: [{ family: 0, ops: [{ op: 'insert', table: 't0', key: Uint8Array.of(0), value: pattern64 }], durability: 'immediate', abort: false }] });
const TWIN_CASE: CrashCase = {
  workload: { families: 2, options: { ...OPTIONS, barrier: 'wal-aware' }, steps: [{ kind: 'reopen' }, put0(), put0()], scheduleSeed: 0 },
  plan: POWER_CUT, errors: {},
  corruption: [64, 192].map((offset) => ({ kind: 'flip', file: 'crashlab.cf', offset, live: false, anchor: 2, bit: 0, twin: true } as const)),
  imagesPerRun: 12, recoveryCrash: { atFraction: 0, plan: POWER_CUT },
};

test('damage to a slot and its mirror alike is beyond the format\'s redundancy: strictly, no violation; unmarked, the same rollback is a silent loss', async (t) => {
  const { runCrashCase } = await import('../../properties/crashCase.js');
  const referenceEngine = await import('../../engine/index.js');
  const strict = { ...referenceEngine, contract: { mayRollBackUnderDamage: false } };
  const twin = await runCrashCase(strict, TWIN_CASE);
  t.is(twin.violation, null);
  const unmarked = await runCrashCase(strict, { ...TWIN_CASE, corruption: TWIN_CASE.corruption.map((flip) => ({ ...flip, twin: false })) });
  t.is(unmarked.violation?.kind, 'silent-loss', 'the oracle still sees the rollback: only the marker says it is the declared limit');
});
