// The harness certifies itself (ARCHITECTURE.md section 7): every planted bug of the catalog
// must be found by its property (the crash property, or the differential one for a bug of the
// tree that shows without a crash) within a fixed budget. A bug that is not found is a
// weakness of the harness (generators, fault model or oracle), never a reason to drop it here.
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import * as referenceEngine from '../../engine/index.js';
import type { ColumnFamilyDatabase } from '../../engine/index.js';
import { FaultyVfs } from '../../fault/faultyVfs.js';
import type { EngineUnderTest } from '../../recovery/storeUnderTest.js';
import { MUTANTS_DIR, PLANTED_BUGS, applyPatches, plantBug, plantEngine } from '../../mutants/plantEngine.js';
import { crashCaseArb, PROFILES } from '../../properties/crashArbitraries.js';
import { runCrashCase } from '../../properties/crashCase.js';
import { runCrashCampaign, type CrashCampaignResult } from '../../properties/runCrash.js';
import { runDifferential } from '../../properties/runDifferential.js';

const SEEDS = [1, 2, 3];
/**
 * Catalog bugs the crash property does not find yet, with what it lacks. They stay in the catalog
 * (the mutant hunt runs them and reports them as survivors); this file shows instead that each
 * planted patch really is the bug (a direct scenario below).
 */
const NOT_YET_FOUND: Readonly<Record<string, string>> = {
  'skippast-after-log-reset': 'needs a flip of the log\'s newest header slot and then a second life that commits and loses power; '
    + 'the hunt kills it on crash seed 49, case 48 (234 s alone), past this test\'s seeds (test/mutants/mutantRunner.test.ts pins that seed)',
};
const RUNS = 100;
const PROFILE = 'default';

/**
 * Finding is enough here (shrinking is for the human replaying it). A live workload that never
 * settles is reported by the harness itself as a `hang` (an event-loop turn budget, no clock).
 */
function campaign(seed: number, engine: Awaited<ReturnType<typeof plantBug>>): Promise<CrashCampaignResult> {
  return runCrashCampaign({ seed, numRuns: RUNS, profile: PROFILE, engine, shrink: false });
}

const crashFound = PLANTED_BUGS.filter((bug) => bug.equivalent === undefined && bug.detectedBy !== 'differential' && !Object.hasOwn(NOT_YET_FOUND, bug.name));
for (const bug of crashFound) {
  // Serial: eleven campaigns at once on two cores would only slow each other down.
  test.serial(`planted bug ${bug.name} is found within ${SEEDS.length} seeds x ${RUNS} runs of '${PROFILE}'`, async (t) => {
    const engine = await plantBug(bug.name);
    const missed: number[] = [];
    for (const seed of SEEDS) {
      const result = await campaign(seed, engine);
      if (result.failure !== null) {
        const { violation, path } = result.failure;
        const run = Number(path.split(':')[0]) + 1;
        t.log(`${bug.name}: seed ${seed}, run ${run} (path ${path}): ${violation.kind} at I/O event ${violation.crashAt}: ${violation.detail.slice(0, 160)}`);
        t.false(result.ok, `${bug.name}: seed ${seed}: found ${violation.kind}`);
        return;
      }
      missed.push(seed);
    }
    t.fail(`${bug.name} (${bug.description}) was NOT found: seeds ${missed.join(', ')} x ${RUNS} runs of '${PROFILE}'`);
  });
}

const DIFFERENTIAL_SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);
const DIFFERENTIAL_RUNS = 5;

for (const bug of PLANTED_BUGS.filter((candidate) => candidate.equivalent === undefined && candidate.detectedBy === 'differential')) {
  test.serial(`planted bug ${bug.name} is found by the differential property within ${DIFFERENTIAL_SEEDS.length} seeds x ${DIFFERENTIAL_RUNS} runs`, async (t) => {
    const engine = await plantBug(bug.name);
    for (const seed of DIFFERENTIAL_SEEDS) {
      const result = await runDifferential({ seed, numRuns: DIFFERENTIAL_RUNS, vfs: 'memory', engine, shrink: false });
      if (result.ok) continue;
      t.log(`${bug.name}: seed ${seed}, run ${result.numRuns} (path ${result.path}): ${result.error.slice(0, 160)}`);
      t.pass();
      return;
    }
    t.fail(`${bug.name} (${bug.description}) was NOT found by the differential property`);
  });
}

test('the catalog names each bug once and describes it', (t) => {
  const names = PLANTED_BUGS.map((bug) => bug.name);
  for (const name of Object.keys(NOT_YET_FOUND)) t.true(names.includes(name), `NOT_YET_FOUND names ${name}, which the catalog lacks`);
  t.is(new Set(names).size, names.length);
  t.true(names.length >= 15);
  for (const bug of PLANTED_BUGS) {
    t.true(bug.patches.length > 0, bug.name);
    t.true(bug.description.length > 20, bug.name);
  }
});

test('a patch must match exactly once, or planting fails loudly', async (t) => {
  const files = new Map([['a.js', 'one two two']]);
  t.throws(() => applyPatches('m', files, [{ file: 'a.js', find: 'three', replace: '3' }]), { message: /matches 0 times/ });
  t.throws(() => applyPatches('m', files, [{ file: 'a.js', find: 'two', replace: '2' }]), { message: /matches 2 times/ });
  t.throws(() => applyPatches('m', files, [{ file: 'b.js', find: 'one', replace: '1' }]), { message: /no file b\.js/ });
  applyPatches('m', files, [{ file: 'a.js', find: 'one', replace: '1' }, { file: 'a.js', find: '1 two', replace: 'x' }]);
  t.is(files.get('a.js'), 'x two', 'patches apply in order, each to the result of the last');
  await t.throwsAsync(plantEngine('stale', [{ file: 'database.js', find: 'text the engine does not contain', replace: '' }]), { message: /matches 0 times/ });
  await t.throwsAsync(plantEngine('Bad Name', []), { instanceOf: TypeError });
});

test('a planted engine is a separate module graph, and with no patches it behaves exactly like the reference', async (t) => {
  const copy = await plantEngine('identity', []);
  t.not(copy.ColumnFamilyDatabase, referenceEngine.ColumnFamilyDatabase);
  t.is(copy.EngineError, referenceEngine.EngineError, 'one error class, so instanceof agrees with the fault layer');
  for (const crashCase of fc.sample(crashCaseArb(PROFILES.quick), { seed: 11, numRuns: 5 })) {
    const [a, b] = [await runCrashCase(referenceEngine, crashCase), await runCrashCase(copy, crashCase)];
    t.is(a.traceHash, b.traceHash);
    t.is(a.events, b.events);
    t.is(a.violation, null);
    t.is(b.violation, null);
  }
});

test('the patched copy is removed once loaded, unless kept', async (t) => {
  const listing = (): string[] => (existsSync(MUTANTS_DIR) ? readdirSync(MUTANTS_DIR) : []);
  await plantEngine('dropped-copy', []);
  t.false(listing().some((entry) => entry.startsWith('dropped-copy-')));
  await plantBug('reuse-reachable-page', { keep: true });
  const kept = listing().filter((entry) => entry.startsWith('reuse-reachable-page-'));
  t.true(kept.length > 0);
  const dir = path.join(MUTANTS_DIR, kept[0]!, 'engine');
  t.true(existsSync(path.join(dir, 'index.js')));
  for (const entry of kept) await rm(path.join(MUTANTS_DIR, entry), { recursive: true, force: true });
});

test('skippast-after-log-reset brings back the bug of issue 11: after a fallback to the older log slot a power cut loses the next acknowledged commit', async (t) => {
  // Commits 1 and 2, a checkpoint, commits 3 and 30 in the log only; a power cut with the
  // log's newest header slot and its mirror damaged (recovery falls back to the older slot and
  // loses 3 and 30: a strict open says so, a salvage open goes on); then commit 4, acknowledged,
  // and a plain power cut. The fixed engine keeps 4; the revert loses it.
  const powerCut = { survival: 'none', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: false, seed: 0 } as const;
  const options = { pageBytes: 512 };
  const commit = async (db: ColumnFamilyDatabase, key: number): Promise<void> => {
    const txn = await (await db.columnFamily('cf0')).beginWrite();
    txn.openTable('t').insert(Uint8Array.of(key), Uint8Array.of(key));
    await txn.commit({ durability: 'immediate' });
  };
  const keysAfterRecovery = async (engine: EngineUnderTest, image: ReadonlyMap<string, Uint8Array>): Promise<number[] | string> => {
    let db: Awaited<ReturnType<EngineUnderTest['ColumnFamilyDatabase']['open']>>;
    try {
      db = await engine.ColumnFamilyDatabase.open(FaultyVfs.fromImage(image), options);
    } catch (error) {
      // A planted engine is a copy of the engine: its errors are of its own EngineError class.
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string') return code;
      throw error;
    }
    const read = (await db.columnFamily('cf0')).beginRead();
    const keys = read.listTables().includes('t') ? [...read.openTable('t').range()].map(([key]) => key[0]!) : [];
    read.close();
    await db.close();
    return keys;
  };
  const commitAfterFallback = async (engine: EngineUnderTest): Promise<number[] | string> => {
    const first = new FaultyVfs();
    const db = await referenceEngine.ColumnFamilyDatabase.open(first, options);
    for (const key of [1, 2]) await commit(db, key);
    await db.checkpoint();
    for (const key of [3, 30]) await commit(db, key);
    const image = first.crashImage(powerCut);
    const log = image.get('crashlab.cf.wal')!.slice();
    const generation = (at: number): bigint => new DataView(log.buffer).getBigUint64(at + 16, true);
    const newest = generation(0) > generation(64) ? 0 : 64;
    for (const at of [newest, newest + 2048]) log[at + 16]! ^= 1; // one bit of the newest header slot and of its mirror
    const vfs = FaultyVfs.fromImage(new Map([...image, ['crashlab.cf.wal', log]]));
    const recovered = await engine.ColumnFamilyDatabase.open(vfs, { ...options, recover: 'salvage' }) as ColumnFamilyDatabase;
    await commit(recovered, 4);
    const keys = await keysAfterRecovery(engine, vfs.crashImage(powerCut));
    await recovered.close();
    return keys;
  };
  t.deepEqual(await commitAfterFallback(referenceEngine), [1, 2, 4], 'the fixed engine keeps the acknowledged commit 4');
  // The revert's header expects a sequence below what the family header covers: the next
  // strict open calls the log older than the data file, where it once lost commit 4 silently.
  t.deepEqual(await commitAfterFallback(await plantBug('skippast-after-log-reset')), 'CORRUPTION', 'the revert loses it, now loudly');
});
