// The crash property against the reference engine: a CI-sized campaign per barrier policy
// (a fixed seed; CRASHLAB_SEED=N or =random to explore, printed in the title), determinism of one crash
// case, and an exhaustive sweep (a crash image at every I/O event) of a short fixed workload.
import test from 'ava';
import fc from 'fast-check';
import * as referenceEngine from '../../engine/index.js';
import type { ColumnFamilyOptions } from '../../engine/index.js';
import type { CrashPlan, Survival } from '../../fault/faultyVfs.js';
import type { ModelOp } from '../../model/commitHistory.js';
import { crashCaseArb, PROFILES } from '../../properties/crashArbitraries.js';
import { runCrashCase, type CrashCase } from '../../properties/crashCase.js';
import type { Step, TxnSpec } from '../../properties/crashWorkload.js';
import { runCrashCampaign } from '../../properties/runCrash.js';
import { campaignSeed } from '../campaignSeed.js';

const { seed: SEED, source: SEED_SOURCE } = campaignSeed(2_026_112_401);
const RUNS = Number(process.env.CRASHLAB_RUNS ?? 120);
const PROFILE = 'default';

for (const barrier of ['always', 'wal-aware'] as const) {
  test.serial(`crash property, barrier ${barrier}: ${RUNS} runs of '${PROFILE}', seed ${SEED} (${SEED_SOURCE}) finds nothing`, async (t) => {
    const started = performance.now();
    // A workload or recovery that never settles is a `hang` violation (an event-loop turn budget).
    const result = await runCrashCampaign({ seed: SEED, numRuns: RUNS, profile: PROFILE, barrier });
    const seconds = (performance.now() - started) / 1000;
    t.log(`seed ${SEED}: ${result.numRuns} runs, ${result.images} crash images checked, ${result.events} I/O events, `
      + `${seconds.toFixed(1)} s, ${Math.round(result.images / seconds)} images/s`);
    const failure = result.failure;
    if (failure !== null) {
      t.log(`counterexample: ${JSON.stringify(failure.counterexample, (_key, value: unknown) => (value instanceof Uint8Array ? `<${value.length} bytes>` : value))}`);
      t.log(`events around the crash: ${JSON.stringify(failure.violation.eventsAround)}`);
    }
    t.true(result.ok, failure === null ? 'the campaign failed without a violation'
      : `${failure.violation.kind} at I/O event ${failure.violation.crashAt}: ${failure.violation.detail}\nreplay: ${failure.replay} (or CRASHLAB_SEED=${SEED})`);
    t.true(result.images >= RUNS, 'every run checked at least one image');
  });
}

test.serial('determinism: one crash case run twice gives the same trace hash, events and images', async (t) => {
  const cases = fc.sample(crashCaseArb(PROFILES.default), { seed: 20240601, numRuns: 12 });
  for (const crashCase of cases) {
    const first = await runCrashCase(referenceEngine, crashCase);
    const second = await runCrashCase(referenceEngine, crashCase);
    t.is(second.traceHash, first.traceHash);
    t.is(second.events, first.events);
    t.is(second.images, first.images);
    t.deepEqual(second.violation, first.violation);
  }
  // ... and the hash does tell runs apart: the cases' traces are not all one.
  const hashes = new Set<string>();
  for (const crashCase of cases) hashes.add((await runCrashCase(referenceEngine, crashCase)).traceHash);
  t.true(hashes.size > cases.length / 2);
});

// ---- exhaustive: every event of a short fixed workload ----

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const value = (lengthBytes: number, fill: number): Uint8Array => new Uint8Array(lengthBytes).fill(fill);
const txn = (family: number, ops: ModelOp[], durability: 'immediate' | 'none' = 'immediate', abort = false): TxnSpec =>
  ({ family, ops, durability, abort });

/** Two families, concurrent commits of both durabilities, an overflow value, a delete, a checkpoint and a reopen. */
const STEPS: Step[] = [
  { kind: 'txns', txns: [txn(0, [{ op: 'insert', table: 't0', key: b(1), value: value(40, 1) }]), txn(1, [{ op: 'insert', table: 't0', key: b(1), value: value(10, 2) }], 'none')] },
  { kind: 'txns', txns: [txn(0, [{ op: 'insert', table: 't0', key: b(2), value: value(900, 3) }, { op: 'insert', table: 't1', key: b(3), value: value(5, 4) }])] },
  { kind: 'txns', txns: [txn(1, [{ op: 'insert', table: 't0', key: b(4), value: value(20, 5) }]), txn(0, [{ op: 'remove', table: 't0', key: b(1) }], 'none')] },
  { kind: 'checkpoint' },
  { kind: 'txns', txns: [txn(0, [{ op: 'clear', table: 't1' }, { op: 'insert', table: 't0', key: b(5), value: value(30, 6) }]), txn(1, [{ op: 'delete', table: 't0' }], 'immediate', true)] },
  { kind: 'reopen' },
  { kind: 'txns', txns: [txn(1, [{ op: 'delete', table: 't0' }, { op: 'insert', table: 't1', key: b(6), value: value(7, 7) }]), txn(0, [{ op: 'insert', table: 't0', key: b(2), value: value(8, 8) }], 'none')] },
  { kind: 'txns', txns: [txn(0, [{ op: 'insert', table: 't0', key: b(7), value: value(600, 9) }])] },
];

const BASE_OPTIONS: ColumnFamilyOptions = {
  pageBytes: 512, writeBufferBytes: 2 * 512, evictionHighWater: 0.8, evictionLowWater: 0.4,
  walCheckpointBytes: 2048, initialSegmentBytes: 8 * 512,
};

const CONFIGS: Array<{ name: string; options: ColumnFamilyOptions }> = [
  { name: 'wal, barrier always', options: { ...BASE_OPTIONS, wal: true, barrier: 'always' } },
  { name: 'wal, barrier wal-aware', options: { ...BASE_OPTIONS, wal: true, barrier: 'wal-aware' } },
  { name: 'no wal', options: { ...BASE_OPTIONS, wal: false } },
];

const PLANS: Array<{ name: string; plan: Omit<CrashPlan, 'survival'> }> = [
  { name: 'whole writes', plan: { tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: false, seed: 7 } },
  { name: 'torn 512 non-atomic, dir ops kept', plan: { tear: true, sectorBytes: 512, atomicSector: false, keepUnsyncedDirOps: true, seed: 8 } },
];

const SURVIVALS: Survival[] = ['none', 'all', 'prefix', 'subset'];

for (const { name, options } of CONFIGS) {
  test.serial(`exhaustive: a crash image at every I/O event of a fixed workload is clean (${name}, every survival mode)`, async (t) => {
    let images = 0;
    for (const survival of SURVIVALS) {
      for (const { name: planName, plan } of PLANS) {
        const crashCase: CrashCase = {
          workload: { families: 2, options, steps: STEPS, scheduleSeed: 3 },
          plan: { ...plan, survival },
          errors: {},
          corruption: [],
          imagesPerRun: 100_000,
          recoveryCrash: null,
        };
        // The first life only: a second life would add images past one per event.
        const result = await runCrashCase(referenceEngine, crashCase, { secondLife: false });
        const where = `${survival}, ${planName}`;
        t.is(result.violation, null, result.violation === null ? where
          : `${where}: ${result.violation.kind} at I/O event ${result.violation.crashAt}: ${result.violation.detail}`);
        t.is(result.images, result.events + 1, `${where}: one image before every event, and one after the last`);
        t.true(result.events > 40, `${where}: the workload is not trivially short (${result.events} events)`);
        images += result.images;
      }
    }
    t.log(`${images} crash images checked`);
  });
}
