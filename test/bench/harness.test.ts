// bench/harness.ts without timing anything real: the stage timer on a fake clock, the seeded
// workloads (same seed, same case; another seed, another case), the population commits, the
// argument parser, and one tiny cell through the real crash-case runner.
import test from 'ava';
import * as referenceEngine from '../../engine/index.js';
import {
  STAGES, StageTimer, benchCase, formatHeader, formatRow, keyOf, parseArguments, populate, populationCommits, type RowResult,
} from '../../bench/harness.js';
import { runCrashCase } from '../../properties/crashCase.js';

test('StageTimer gives each stage the time until the next one starts, and counts entries', (t) => {
  let nowMs = 100;
  const timer = new StageTimer(() => nowMs);
  nowMs = 103;
  timer.enter('workload');
  nowMs = 110;
  timer.enter('open');
  nowMs = 111;
  timer.enter('workload');
  nowMs = 120;
  timer.enter('open');
  nowMs = 125;
  t.is(timer.totalMs(), 25);
  t.deepEqual([...timer.ms], [['other', 3], ['workload', 16], ['open', 6]]);
  t.is(timer.entries.get('open'), 2);
});

test('benchCase: one seed, one case; another seed, another case; every op on the bench table', (t) => {
  const first = benchCase(1000, 16, 42);
  t.deepEqual(benchCase(1000, 16, 42), first);
  t.notDeepEqual(benchCase(1000, 16, 43), first);
  t.is(first.workload.steps.length, 16);
  const keys = first.workload.steps.flatMap((step) => (step.kind === 'txns' ? step.txns.flatMap((txn) => txn.ops) : []));
  t.is(keys.length, 16 * 4);
  // Keys stay within 10% past the population (so most ops update existing keys).
  t.true(keys.every((op) => (op.op === 'insert' || op.op === 'remove') && Buffer.compare(op.key, keyOf(1100)) < 0));
});

test('populationCommits: every key once, a thousand per commit', (t) => {
  const commits = populationCommits(2500, 1);
  t.deepEqual(commits.map((commit) => commit.ops.length), [1000, 1000, 500]);
  const keys = new Set(commits.flatMap((commit) => commit.ops.map((op) => (op.op === 'insert' ? Buffer.from(op.key).toString('hex') : ''))));
  t.is(keys.size, 2500);
  t.true(keys.has(Buffer.from(keyOf(2499)).toString('hex')));
});

test('parseArguments: lists, numbers and --json; anything else is refused', (t) => {
  t.deepEqual(parseArguments(['--keys', '10,20', '--txns', '3', '--cases', '2', '--seed', '9', '--json']),
    { seed: 9, cases: 2, campaignRuns: 100, keys: [10, 20], txns: [3], json: true });
  t.deepEqual(parseArguments([]).keys, [100, 1_000, 10_000, 100_000], 'a 100,000-key row by default');
  t.throws(() => parseArguments(['--keys', '10,x']));
  t.throws(() => parseArguments(['--cases', '0']));
  t.throws(() => parseArguments(['--fast']));
});

test('a tiny cell through the real runner: no violation, images judged, the table row names every stage', async (t) => {
  const start = await populate(50, 3);
  const result = await runCrashCase(referenceEngine, benchCase(50, 3, 7), { start });
  t.is(result.violation, null);
  t.true(result.images > 1);
  const row: RowResult = {
    name: 'tiny', keys: 50, txns: 3, cases: 1, images: result.images, recoveries: result.images, eventsPerCase: result.events,
    secondLifeImages: result.secondLifeImages ?? 0, seconds: 2, imagesPerSecond: result.images / 2, cpuSeconds: 1, imagesPerCpuSecond: result.images,
    imagesPerSecondBesidesOpen: result.images,
    stagesMs: Object.fromEntries(STAGES.map((stage) => [stage, 2000 / STAGES.length])), gcMs: 0,
  };
  t.is(formatRow(row).match(/%/g)?.length, STAGES.length + 1, 'a share per stage, and the GC share');
  t.is(formatHeader().trim().split(/\s+/).length, 8 + STAGES.length + 1);
});
