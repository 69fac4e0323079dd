// Focus: the mutant runner (mutants/mutantRunner.ts) hunts with both properties, kills fast mutants in parallel workers and reports consistent fields; the CLI command's exit code and JSON line.
// Budgets are generous and seeds explicit: a mutant stops when its seeds run out, so a slow
// machine changes only the time taken, never the verdict.
import test from 'ava';
import { automaticCatalog, median, percentile, runMutants, UnknownMutantError } from '../../mutants/mutantRunner.js';
import { AUTOMATIC_EQUIVALENTS } from '../../mutants/mutantTriage.js';
import { mutantsCommand } from '../../cli/mutantsCommand.js';
import type { PlantedBug } from '../../mutants/plantEngine.js';
import { PLANTED_BUGS } from '../../mutants/plantEngine.js';
import { captured } from '../captureConsole.js';

const FAST = ['ack-before-wal-fsync', 'read-file-before-buffer'];

test('runMutants kills two fast mutants in parallel and the report is consistent', async (t) => {
  const report = await runMutants({ budgetSeconds: 120, only: FAST, concurrency: 2, seeds: [1, 2, 3] });
  t.deepEqual(report.mutants.map((m) => m.name), FAST);
  for (const m of report.mutants) {
    t.is(m.status, 'killed', `${m.name}: ${m.reason ?? ''}`);
    t.true(m.msToKill !== null && m.msToKill >= 0);
    t.true(m.seed !== null && [1, 2, 3].includes(m.seed));
    t.true(m.runs !== null && m.runs >= 1);
    t.is(typeof m.kind, 'string');
    t.log(`${m.name}: seed ${m.seed}, case ${m.runs}, ${m.kind}, ${m.msToKill} ms`);
  }
  t.is(report.killed, 2);
  t.is(report.survived, 0);
  t.is(report.equivalent, 0);
  t.is(report.score, 1);
  const times = report.mutants.map((m) => m.msToKill!);
  t.is(report.maxMsToKill, Math.max(...times));
  t.is(report.medianMsToKill, (times[0]! + times[1]!) / 2);
});

test('equivalent mutants are listed, not run, and do not count in the score', async (t) => {
  const bug = PLANTED_BUGS.find((b) => b.name === 'ack-before-wal-fsync')!;
  const catalog: PlantedBug[] = [{ ...bug, name: 'ack-before-wal-fsync', equivalent: 'for the test' }];
  const report = await runMutants({ budgetSeconds: 1, catalog });
  t.is(report.equivalent, 1);
  t.is(report.score, 1);
  t.is(report.mutants[0]!.status, 'equivalent');
  t.is(report.mutants[0]!.reason, 'for the test');
  t.is(report.medianMsToKill, null);
  await t.throwsAsync(runMutants({ budgetSeconds: 1, only: 'no-such-mutant' }), { message: /no mutant named/, instanceOf: UnknownMutantError });
  const unknown = await captured(() => mutantsCommand({ budgetSeconds: 1, only: 'no-such-mutant' }));
  t.is(unknown.value, 2);
  t.regex(unknown.out, /crashlab: no mutant named "no-such-mutant"/);
});

test('median and percentile', (t) => {
  t.is(median([]), null);
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 2, 3]), 2.5);
  t.is(percentile([], 90), null);
  t.is(percentile([5], 90), 5);
  const tens = Array.from({ length: 10 }, (_, i) => 10 - i); // 10, 9, ..., 1
  t.is(percentile(tens, 90), 9);
  t.is(percentile(tens, 100), 10);
  t.is(percentile([...tens, 11], 90), 10);
  t.throws(() => percentile(tens, 0), { instanceOf: TypeError });
});

test('structural mutants of the tree are killed by the differential property, the verdict naming it', async (t) => {
  // A reversed comparator, a leaked subtree and a read snapshot whose pages are reused: the
  // differential property (no crashes) names each; the verdict says which property killed.
  const STRUCTURAL = ['flip-comparator-btree-lowerbound', 'leak-page-btree-freesubtree', 'reader-snapshot-page-reuse'];
  const report = await runMutants({ budgetSeconds: 240, automatic: true, only: STRUCTURAL, concurrency: 2, seeds: [1, 2, 3, 4, 5, 6, 7, 8], properties: ['differential'] });
  t.deepEqual(report.mutants.map((m) => m.name), STRUCTURAL);
  for (const m of report.mutants) {
    t.is(m.status, 'killed', `${m.name}: ${m.reason ?? ''}`);
    t.is(m.property, 'differential');
    t.regex(m.kind ?? '', /^differential-(mismatch|error)$/);
    t.log(`${m.name}: seed ${m.seed}, run ${m.runs}, ${m.kind}, ${m.msToKill} ms: ${m.detail ?? ''}`);
  }
  t.deepEqual(report.killedBy, { differential: 3, crash: 0 });
  t.is(report.p90MsToKill, Math.max(...report.mutants.map((m) => m.msToKill!)));
});

test('with both properties a durability mutant is still killed by the crash campaign, named in the verdict', async (t) => {
  const report = await runMutants({ budgetSeconds: 120, only: ['ack-before-wal-fsync'], concurrency: 1, seeds: [1, 2, 3] });
  const m = report.mutants[0]!;
  t.is(m.status, 'killed', m.reason ?? '');
  t.is(m.property, 'crash');
  t.is(m.kind, 'lost-ack');
  t.deepEqual(report.killedBy, { differential: 0, crash: 1 });
});

test.serial('mutantsCommand prints a table and ends with one JSON line; exit 0 when all are killed', async (t) => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => { lines.push(parts.join(' ')); };
  let code: number;
  try {
    code = await mutantsCommand({ budgetSeconds: 60, only: 'ack-before-wal-fsync', json: true });
  } finally {
    console.log = log;
  }
  t.is(code, 0);
  const last = JSON.parse(lines.at(-1)!) as {
    score: number; killed: number; survived: number; equivalent: number; medianMsToKill: number; p90MsToKill: number; maxMsToKill: number;
    killedBy: Record<string, number>; mutants: Array<{ name: string; status: string; msToKill: number; property: string }>;
  };
  t.is(last.killed, 1);
  t.is(last.score, 1);
  t.is(last.mutants[0]!.name, 'ack-before-wal-fsync');
  t.is(last.mutants[0]!.status, 'killed');
  t.is(last.maxMsToKill, last.mutants[0]!.msToKill);
  t.is(last.p90MsToKill, last.mutants[0]!.msToKill);
  t.deepEqual(last.killedBy, { differential: 0, crash: 1 });
  t.is(last.mutants[0]!.property, 'crash');
  t.true(lines.some((line) => line.startsWith('mutation score 100.0%')));
  t.true(lines.some((line) => /p90 \d+ ms, slowest \d+ ms; killed by differential 0, crash 1;/.test(line)));
});

test('automatic: true runs generated mutants by name (patches sent to the worker) and kills fast ones', async (t) => {
  const AUTOMATIC_FAST = ['delete-write-wal-append', 'delete-sync-wal-leadsyncrounds'];
  const report = await runMutants({ budgetSeconds: 120, automatic: true, only: AUTOMATIC_FAST, concurrency: 2, seeds: [1, 2, 3] });
  t.deepEqual(report.mutants.map((m) => m.name), AUTOMATIC_FAST);
  for (const m of report.mutants) {
    t.is(m.status, 'killed', `${m.name}: ${m.reason ?? ''}`);
    t.regex(m.description, /^delete-(write|sync) at wal\.js:\d+: /);
    t.log(`${m.name}: seed ${m.seed}, case ${m.runs}, ${m.kind}, ${m.msToKill} ms`);
  }
  t.is(report.killed, 2);
  t.deepEqual(report.excluded, []);
});

test('the mutants that outlived earlier harnesses are killed: a family drop step, second lives on split images', async (t) => {
  const ONCE_SURVIVED = [
    'delete-sync-segmentedfile-removefamily', // needs workloads that delete families
    'delete-sync-columnfamilydatabase-openlog', // needs a second life from a capture at a directory sync
  ];
  const report = await runMutants({ budgetSeconds: 240, automatic: true, only: ONCE_SURVIVED, concurrency: 2, seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
  t.deepEqual(report.mutants.map((m) => m.name), ONCE_SURVIVED);
  for (const m of report.mutants) {
    t.is(m.status, 'killed', `${m.name}: ${m.reason ?? ''}`);
    t.log(`${m.name}: seed ${m.seed}, case ${m.runs}, ${m.kind}, ${m.msToKill} ms`);
  }
});

// Slow kills since the workloads grew (issue 11), each pinned to the crash seed the full hunt
// killed it on, so the tests keep proving the harness can see them; the hunt's time to kill is
// the figure to improve. Since the log's watermarks and mirrored header, commit and master
// slots (issue 12), both fall on crash seed 22, case 19 (a poisoning: the engine's own check
// refuses what they let through), 113-138 s in a hunt of the two on two workers: a record read
// past its invalid check, and the skipPast revert (a reset header below a family header).
for (const [name, seed] of [['continue-past-invalid-wal-decodepayload', 22], ['skippast-after-log-reset', 22]] as const) {
  test(`slow kill ${name} is killed on crash seed ${seed}`, async (t) => {
    const report = await runMutants({ budgetSeconds: 240, automatic: true, only: [name], concurrency: 1, seeds: [seed] });
    t.is(report.mutants.length, 1);
    const m = report.mutants[0]!;
    t.is(m.status, 'killed', `${m.name}: ${m.reason ?? ''}`);
    t.log(`${m.name}: seed ${m.seed}, case ${m.runs}, ${m.kind}, ${m.msToKill} ms`);
  });
}

test('automatic mutants of engine files the crash harness never runs are listed as excluded, with the reason', (t) => {
  const { mutants, excluded } = automaticCatalog();
  t.true(mutants.length > 0);
  t.true(excluded.length > 0);
  for (const m of excluded) t.regex(m.reason, /^(fileVfs|memoryVfs)\.js: /);
  t.false(mutants.some((m) => /^[a-z-]+-(filevfs|memoryvfs)-/.test(m.name)));
  for (const m of mutants) if (Object.hasOwn(AUTOMATIC_EQUIVALENTS, m.name)) t.is(m.equivalent, AUTOMATIC_EQUIVALENTS[m.name]);
});

test('the budget a quick kill leaves goes to the mutants still alive: a survivor runs on past its even share', async (t) => {
  // A mutant that changes only a comment survives every seed; beside a quick kill, it gets its
  // even share first and then what the quick kill left, so the run spends most of its budget.
  const noop: PlantedBug = {
    name: 'comment-only', description: 'changes a comment, nothing else',
    patches: [{ file: 'wal.js', find: 'Bytes of live records: the checkpoint trigger.', replace: 'Bytes of live records (the checkpoint trigger).' }],
  };
  const quick = PLANTED_BUGS.find((bug) => bug.name === 'ack-before-wal-fsync')!;
  const budgetSeconds = 12;
  // The crash property only: the quick kill is a crash kill, and a differential step before it would eat into its share.
  const report = await runMutants({ budgetSeconds, catalog: [quick, noop], only: [quick.name, noop.name], concurrency: 1, properties: ['crash'] });
  t.is(report.mutants[0]!.status, 'killed');
  const survivor = report.mutants[1]!;
  t.is(survivor.status, 'inconclusive', 'its time ran out with seeds untried: not a survivor');
  t.is(report.inconclusive, 1);
  // -1: the runner stopped it over its share (a crash seed outlasting it on a loaded machine): it ran too.
  t.not(survivor.seedsTried, 0, 'it ran seeds');
  t.true(report.ms >= 0.8 * budgetSeconds * 1000, `the run took ${report.ms} ms of its ${budgetSeconds} s: the even share alone is half`);
});

test('a shard takes every N-th mutant of the selection, so shards divide the mutants between them', async (t) => {
  const catalog: PlantedBug[] = PLANTED_BUGS.slice(0, 5).map((bug) => ({ ...bug, equivalent: 'listed only, for the test' }));
  const names = async (index: number): Promise<string[]> => (await runMutants({ budgetSeconds: 1, catalog, shard: { index, total: 2 } })).mutants.map((m) => m.name);
  const [first, second] = [await names(1), await names(2)];
  t.deepEqual(first, [catalog[0]!.name, catalog[2]!.name, catalog[4]!.name]);
  t.deepEqual(second, [catalog[1]!.name, catalog[3]!.name]);
});
