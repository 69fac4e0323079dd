// Focus: the second life's model start (commitsOf) rebuilds exactly the recovered state, and a
// second life runs (and is judged) on the reference engine without a violation, from damaged
// cases too (the log header fallback case the campaign found).
import test from 'ava';
import * as referenceEngine from '../../engine/index.js';
import { CommitHistory, statesEqual, toHex, type LogicalState } from '../../model/commitHistory.js';
import { plantEngine } from '../../mutants/plantEngine.js';
import { runCrashCampaign } from '../../properties/runCrash.js';
import { commitsOf, commitsOfBytes, secondLifeCase, secondLifeOp } from '../../properties/secondLife.js';
import { FrozenBase } from '../../model/stateTimeline.js';
import { readRecovered } from '../../recovery/readState.js';
import { runCrashCase, splitByCrash, type CrashCase } from '../../properties/crashCase.js';
import type { TxnSpec } from '../../properties/crashWorkload.js';
import type { CrashDecision } from '../../fault/faultyVfs.js';

const hexState = (entries: Array<[string, string, number[], number[]]>): LogicalState => {
  const state: LogicalState = new Map();
  for (const [family, table, key, value] of entries) {
    const tables = state.get(family) ?? new Map<string, Map<string, string>>();
    const rows = tables.get(table) ?? new Map<string, string>();
    if (key.length > 0) rows.set(toHex(Uint8Array.from(key)), toHex(Uint8Array.from(value)));
    tables.set(table, rows);
    state.set(family, tables);
  }
  return state;
};

test('commitsOf gives commits whose replay is the state itself: tables (empty ones too), keys, values, empty families', (t) => {
  const state = hexState([['cf0', 't0', [1], [2, 3]], ['cf0', 't0', [0, 255], []], ['cf0', 't1', [], []], ['cf1', 'x', [9], [9, 9, 9]]]);
  state.set('cf2', new Map());
  const history = new CommitHistory();
  for (const commit of commitsOf(state)) {
    history.addFamily(commit.family);
    history.settle(history.issue(commit.family, commit.ops, 'immediate'), 'acked');
  }
  t.true(statesEqual(history.stateAfter(history.all().length), state));
  t.is(commitsOf(state).length, 3, 'one commit per family');
});

test('a second life drops injected errors, corruption and the recovery crash, and takes half the images', (t) => {
  const crashCase = {
    workload: { families: 1, options: {}, steps: [], scheduleSeed: 0 },
    plan: { survival: 'none', tear: false, sectorBytes: 512, atomicSector: false, keepUnsyncedDirOps: false, seed: 1 },
    errors: { failSyncAt: 2 }, corruption: [{ kind: 'flip', file: 'crashlab.cf', offset: 0, bit: 1 }], imagesPerRun: 12,
    recoveryCrash: { atFraction: 0.5, plan: { survival: 'all', tear: false, sectorBytes: 512, atomicSector: false, keepUnsyncedDirOps: true, seed: 2 } },
  } as const;
  const second = secondLifeCase(crashCase);
  t.deepEqual([second.errors, second.corruption, second.recoveryCrash, second.imagesPerRun], [{}, [], null, 6]);
  t.deepEqual(second.workload, crashCase.workload, 'no transactions, nothing to change');
});

test('a second life inserts the same keys with other values (a re-run of identical inserts would hide its lost commits); removes stay', (t) => {
  const insert = { op: 'insert', table: 't0', key: Uint8Array.of(1), value: Uint8Array.of(0, 0xff) } as const;
  const empty = { op: 'insert', table: 't0', key: Uint8Array.of(2), value: new Uint8Array(0) } as const;
  const bulk = { op: 'bulk', table: 't0', from: 0, count: 4, order: 'asc', width: 2, valueBytes: 8, seed: 7 } as const;
  const remove = { op: 'remove', table: 't0', key: Uint8Array.of(3) } as const;
  const changed = [insert, empty, bulk, remove].map(secondLifeOp);
  t.deepEqual(changed.map((op) => ('key' in op ? op.key : null)), [insert.key, empty.key, null, remove.key]);
  t.notDeepEqual(changed[0], insert);
  t.is((changed[0] as typeof insert).value.length, 2);
  t.is((changed[1] as typeof empty).value.length, 1, 'an empty value becomes one byte');
  t.not((changed[2] as typeof bulk).seed, bulk.seed);
  t.deepEqual({ ...changed[2], seed: bulk.seed }, bulk, 'a bulk insert keeps its keys and order');
  t.is(changed[3], remove);
});

test('with second lives, a campaign judges more crash images and the reference engine still passes', async (t) => {
  const options = { seed: 77, numRuns: 40, profile: 'default', barrier: 'wal-aware' } as const;
  const without = await runCrashCampaign({ ...options, secondLife: false, engine: referenceEngine });
  const withLives = await runCrashCampaign({ ...options, engine: referenceEngine });
  t.true(without.ok && withLives.ok, JSON.stringify(withLives.failure?.violation.detail ?? without.failure?.violation.detail));
  t.true(withLives.images > without.images, `${withLives.images} images with second lives, ${without.images} without`);
});

test('a recovery that starts the log\'s family chains wrong is caught by the next recovery (a second life or a reopen)', async (t) => {
  // The bug hurts only records appended after a recovery: the next recovery refuses them.
  const engine = await plantEngine('second-life-chain-start', [{
    file: 'columnFamilyDatabase.js',
    find: 'this.wal.noteFamilySeq(family.id, family.db.durableWalSeq);',
    replace: 'this.wal.noteFamilySeq(family.id, covered);',
  }]);
  const result = await runCrashCampaign({ seed: 1, numRuns: 40, profile: 'default', barrier: 'wal-aware', engine, shrink: false });
  t.false(result.ok);
  // Any later recovery meets the wrong chain start: a second life's, or a workload's own
  // reopen step (since workloads reopen more often, that one usually comes first).
  t.regex(result.failure?.violation.detail ?? '', /^second life \(the image at I\/O event \d+ recovered|log record \d+ follows record \d+/);
});

test('splitByCrash: a later write kept after an earlier one lost (in one file), or one new entry kept and another lost', (t) => {
  const write = (file: string, opIndex: number, fate: CrashDecision['fate']): CrashDecision => ({ file, opIndex, kind: 'write', offset: opIndex * 100, lengthBytes: 100, fate });
  const entry = (file: string, fate: 'kept' | 'dropped'): CrashDecision => ({ file, opIndex: -1, kind: 'create', offset: 0, lengthBytes: 0, fate });
  const split = (...decisions: CrashDecision[]): boolean => splitByCrash({ decisions });
  t.true(split(write('a', 0, 'dropped'), write('a', 1, 'kept')));
  t.true(split(write('a', 0, 'torn'), write('a', 1, 'kept')));
  t.true(split(entry('a', 'kept'), entry('a.wal', 'dropped')));
  t.false(split(write('a', 0, 'kept'), write('a', 1, 'dropped')), 'a lost tail is an ordinary crash');
  t.false(split(write('a', 0, 'dropped'), write('b', 0, 'kept')), 'different files');
  t.false(split(entry('a', 'dropped'), entry('a.wal', 'dropped')));
  t.false(split());
});

// Found by the crash property on its own once second lives start from damaged cases: with the
// skipPast fix reverted (issue 11), `crashlab run --seed 2 --runs 300` (case seed 3422942358,
// barrier always, case 176) reports lost-ack in a second life started from an image whose log
// header slot a flip damaged. The shrunk case, written out in full so that it stays the same
// case whatever the generators become: commits to cf1 and cf0, then cf0 dropped; the image
// after the drop's master write, its log's newest slot flipped, recovers by the older slot; the
// second life's commit to cf1 was acknowledged and then lost at the next power cut. The flips hit
// byte 16 (the generation) of slot 1, the newest, and of its mirror: since the log's header slots
// are mirrored, one damaged copy is read past. A strict recovery then finds the family header
// ahead of the log (CORRUPTION), and the second life starts from a salvage open.
const insert = (family: number): TxnSpec => ({ family, ops: [{ op: 'insert', table: 't0', key: Uint8Array.of(0), value: new Uint8Array(0) }], durability: 'immediate', abort: false });
const LOG_FALLBACK_CASE: CrashCase = {
  workload: {
    store: 'families', families: 2, steps: [{ kind: 'txns', txns: [insert(1), insert(0)] }, { kind: 'drop', family: 0 }], scheduleSeed: 0,
    options: { wal: true, barrier: 'always', pageBytes: 512, groupCommitWindowMicros: 0, preallocateBytes: 0, walCheckpointBytes: 2048, writeBufferBytes: 2560, evictionHighWater: 0.5, evictionLowWater: 0.25, initialSegmentBytes: 4096 },
  },
  plan: { survival: 'none', tear: false, sectorBytes: 512, atomicSector: false, keepUnsyncedDirOps: false, seed: 1606144550 },
  errors: {}, corruption: [{ kind: 'flip', file: 'crashlab.cf.wal', offset: 80, live: false, bit: 0, twin: true }, { kind: 'flip', file: 'crashlab.cf.wal', offset: 2048 + 80, live: false, bit: 0, twin: true }], imagesPerRun: 12, recoveryCrash: null,
};

test('a second life from a damaged case: after the log header fallback, no acknowledged commit is lost', async (t) => {
  const result = await runCrashCase(referenceEngine, LOG_FALLBACK_CASE);
  t.is(result.violation?.detail ?? null, null);
  t.true(Object.keys(result.crashPoints).some((point) => point.startsWith('second life: ')), 'the damaged case lived a second life');
});

// The skipPast revert planted into this case no longer loses the second life's commit: the
// log's durable watermarks make the sequences the revert's header skips a gap every family
// header covers, so the next scan reads past it (engine/wal.ts, Wal.scan). What is left of that
// bug, a reset header below what the data file covers, is CORRUPTION at the next strict open:
// test/mutants/plantedBugs.test.ts asserts it on the planted engine.

test('a full reading gives a second life its start as it is: commitsOfBytes replays to its state, and its family digests are the model\'s', async (t) => {
  const vfs = new referenceEngine.MemoryVfs();
  const db = await referenceEngine.ColumnFamilyDatabase.open(vfs, { wal: true });
  for (const name of ['cf0', 'cf1']) {
    const family = await db.columnFamily(name);
    const txn = await family.beginWrite();
    for (let i = 0; i < 300; i++) txn.openTable(`t${i % 3}`).insert(Uint8Array.of(i >> 8, i & 0xff), new Uint8Array(i % 5).fill(i));
    txn.openTable('empty');
    await txn.commit();
  }
  const reading = await readRecovered(db, undefined, undefined);
  await db.close();
  const history = new CommitHistory();
  for (const commit of commitsOfBytes(reading.tablesRead!)) {
    history.addFamily(commit.family);
    history.settle(history.issue(commit.family, commit.ops, 'immediate'), 'acked');
  }
  t.true(statesEqual(history.stateAfter(history.all().length), reading.state!));
  const read = new Map([...reading.families].map(([family, { digest }]) => [family, digest]));
  t.deepEqual(new FrozenBase(reading.state!, read).digests, new FrozenBase(reading.state!).digests);
});
