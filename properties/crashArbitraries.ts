/**
 * Generators for crash cases: an engine configuration, a workload over a few column
 * families, a crash plan, and (sometimes) injected errors, corruption and a second crash
 * during recovery. All plain data, so fast-check shrinks the workload and the faults together.
 */
import fc from 'fast-check';
import type { ColumnFamilyOptions } from '../engine/columnFamilyDatabase.js';
import type { CrashPlan, Corruption, ErrorPlan } from '../fault/faultyVfs.js';
import type { ModelOp } from '../model/commitHistory.js';
import type { CrashCase, RecoveryCrash } from './crashCase.js';
import type { Step, TxnSpec, Workload } from './crashWorkload.js';

/** Which fault kinds a campaign draws from. */
export interface CrashProfile {
  readonly maxSteps: number;
  readonly imagesPerRun: number;
  readonly errors: boolean;
  readonly corruption: boolean;
  readonly recoveryCrash: boolean;
  /** Restricts the barrier (for `--barrier`); both when undefined. */
  readonly barrier?: 'always' | 'wal-aware' | undefined;
  /**
   * Engine options pinned for every case (a certify matrix cell), applied after the drawn
   * ones. A pinned `pageBytes` also sizes the drawn page-counted options (write buffer,
   * initial segment) unless those are pinned too. Nothing is pinned when undefined.
   */
  readonly overrides?: Partial<ColumnFamilyOptions> | undefined;
}

export const PROFILES = {
  quick: { maxSteps: 8, imagesPerRun: 6, errors: true, corruption: true, recoveryCrash: true },
  default: { maxSteps: 14, imagesPerRun: 12, errors: true, corruption: true, recoveryCrash: true },
  thorough: { maxSteps: 30, imagesPerRun: 40, errors: true, corruption: true, recoveryCrash: true },
} as const satisfies Record<string, CrashProfile>;

const TABLES = ['t0', 't1'] as const;

const keyArb = fc.uint8Array({ minLength: 1, maxLength: 2, min: 0, max: 7 });
const valueArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 64 }) },
  { weight: 2, arbitrary: fc.integer({ min: 65, max: 700 }) },
  { weight: 1, arbitrary: fc.integer({ min: 701, max: 3000 }) },
).chain((lengthBytes) => fc.integer({ min: 0, max: 255 }).map((fill) => {
  const bytes = new Uint8Array(lengthBytes);
  for (let i = 0; i < lengthBytes; i++) bytes[i] = (fill + i * 13) & 0xff;
  return bytes;
}));

const opArb: fc.Arbitrary<ModelOp> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('insert' as const), table: fc.constantFrom(...TABLES), key: keyArb, value: valueArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('remove' as const), table: fc.constantFrom(...TABLES), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const), table: fc.constantFrom(...TABLES) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), table: fc.constantFrom(...TABLES) }) },
);

function txnsArb(families: number): fc.Arbitrary<TxnSpec[]> {
  return fc.uniqueArray(fc.integer({ min: 0, max: families - 1 }), { minLength: 1, maxLength: families }).chain((picked) =>
    fc.tuple(...picked.map((family) => fc.record({
      family: fc.constant(family),
      ops: fc.array(opArb, { minLength: 1, maxLength: 12 }),
      durability: fc.constantFrom<'immediate' | 'none'>('immediate', 'immediate', 'none'),
      abort: fc.constantFrom(false, false, false, false, true),
    }))));
}

/**
 * Steps of a workload. A `drop` (delete a family and create it again) only on the column-family
 * store: the standalone file has one family and no deletion.
 */
function stepArb(families: number, store: 'families' | 'single'): fc.Arbitrary<Step> {
  const kinds: Array<fc.WeightedArbitrary<Step>> = [
    { weight: 12, arbitrary: txnsArb(families).map((txns): Step => ({ kind: 'txns', txns })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'checkpoint' }) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'reopen' }) },
  ];
  if (store === 'families') kinds.push({ weight: 1, arbitrary: fc.integer({ min: 0, max: families - 1 }).map((family): Step => ({ kind: 'drop', family })) });
  return fc.oneof(...kinds);
}

export function optionsArb(profile: CrashProfile): fc.Arbitrary<ColumnFamilyOptions> {
  return fc.record({
    wal: fc.constantFrom(true, true, true, false),
    barrier: profile.barrier === undefined ? fc.constantFrom<'always' | 'wal-aware'>('always', 'wal-aware') : fc.constant(profile.barrier),
    pageBytes: fc.constantFrom(512, 1024, 4096),
    bufferPages: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 64 })),
    evictionHighWater: fc.constantFrom(0.5, 0.8, 1),
    groupCommitWindowMicros: fc.constantFrom(0, 0, 50, 250),
    preallocateBytes: fc.constantFrom(0, 0, 256 * 1024),
    walCheckpointBytes: fc.constantFrom(2048, 16 * 1024, 64 * 1024 * 1024),
    segmentPages: fc.constantFrom(8, 64, 256),
  }).map(({ bufferPages, segmentPages, evictionHighWater, ...drawn }) => {
    // The same draws with or without overrides: pinning never shifts the other options.
    const overrides = profile.overrides;
    const rest = overrides?.pageBytes === undefined ? drawn : { ...drawn, pageBytes: overrides.pageBytes };
    const options: ColumnFamilyOptions = {
      ...rest,
      writeBufferBytes: bufferPages * rest.pageBytes,
      evictionHighWater,
      evictionLowWater: evictionHighWater / 2,
      initialSegmentBytes: segmentPages * rest.pageBytes,
    };
    return overrides === undefined ? options : { ...options, ...overrides };
  });
}

/**
 * A quarter of the workloads run on the standalone single-file Database (one family, no WAL):
 * its creation, header and `none`-commit paths are its own, and only these workloads reach them.
 */
const storeArb = fc.constantFrom<'families' | 'single'>('families', 'families', 'families', 'single');

export function workloadArb(profile: CrashProfile): fc.Arbitrary<Workload> {
  return fc.tuple(storeArb, fc.integer({ min: 1, max: 3 })).chain(([store, drawnFamilies]) => {
    const families = store === 'single' ? 1 : drawnFamilies;
    return fc.record({
      store: fc.constant(store),
      families: fc.constant(families),
      options: optionsArb(profile).map((options) => (store === 'single' ? { ...options, wal: false } : options)),
      steps: fc.array(stepArb(families, store), { minLength: 1, maxLength: profile.maxSteps }),
      scheduleSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    });
  });
}

export const crashPlanArb: fc.Arbitrary<CrashPlan> = fc.record({
  survival: fc.constantFrom<CrashPlan['survival']>('none', 'all', 'prefix', 'subset'),
  tear: fc.boolean(),
  sectorBytes: fc.constantFrom<512 | 4096>(512, 4096),
  atomicSector: fc.boolean(),
  keepUnsyncedDirOps: fc.constantFrom<boolean | 'some'>(false, true, 'some'),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

/**
 * The Nth operation to fail: mostly among the first few (a run issues only a dozen or two
 * syncs), so that an injected failure actually happens in most cases that draw one.
 */
const faultIndexArb = (max: number): fc.Arbitrary<number> =>
  fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 16 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max }) });

const errorPlanArb: fc.Arbitrary<ErrorPlan> = fc.oneof(
  fc.record({ failSyncAt: faultIndexArb(60) }),
  fc.record({ failWriteAt: faultIndexArb(120) }),
  fc.record({ failReadAt: faultIndexArb(400) }),
  fc.record({ capacityBytes: fc.integer({ min: 140_000, max: 600_000 }) }),
);

/**
 * Where a flipped bit lands: anywhere (wrapping around the file), or aimed at the first 256
 * bytes of a header, where recovery decides: the column-family file's two master header copies
 * and every family's page 0 (static header and both commit slots), a standalone file's page 0,
 * the log's two header slots. The anchor is resolved in the image at corruption time
 * (properties/aimedFlips.ts): 0 and 1 are the master copies, 2 and up the families in master
 * order, wrapping around when the image has fewer. A uniform offset almost never hits those few
 * bytes.
 */
const ANCHORS = 2 + 3; // two master copies, then up to three families (workloadArb)
/** The magic (first 8 bytes), the static header's fields and checksums (first 32), or anywhere in the first 256. */
const headerDeltaArb = fc.oneof(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 255 }));
const flipPlaceArb: fc.Arbitrary<{ offset: number; live: boolean; anchor?: number }> = fc.oneof(
  { weight: 1, arbitrary: fc.nat().map((offset) => ({ offset, live: false })) },
  // Counted over the non-zero bytes only: pages, headers and records, not unused space.
  { weight: 1, arbitrary: fc.nat().map((offset) => ({ offset, live: true })) },
  { weight: 1, arbitrary: fc.tuple(fc.nat({ max: ANCHORS - 1 }), headerDeltaArb).map(([anchor, delta]) => ({ offset: delta, live: false, anchor })) },
);

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  fc.tuple(fc.constantFrom('crashlab.cf', 'crashlab.cf.wal'), flipPlaceArb, fc.integer({ min: 0, max: 7 }))
    .map(([file, place, bit]): Corruption => ({ kind: 'flip', file, ...place, bit })),
  fc.record({ kind: fc.constant('unreadable' as const), file: fc.constantFrom('crashlab.cf', 'crashlab.cf.wal'), offset: fc.nat({ max: 400_000 }), lengthBytes: fc.constant(512) }),
);

const recoveryCrashArb: fc.Arbitrary<RecoveryCrash> = fc.record({
  atFraction: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  plan: crashPlanArb,
});

/** A whole crash case. Injected errors in half the cases; corruption and a recovery crash in a quarter each. */
export function crashCaseArb(profile: CrashProfile): fc.Arbitrary<CrashCase> {
  const sometimes = <T>(enabled: boolean, arb: fc.Arbitrary<T>, none: T, weight: number): fc.Arbitrary<T> =>
    enabled ? fc.oneof({ weight: 3, arbitrary: fc.constant(none) }, { weight, arbitrary: arb }) : fc.constant(none);
  return fc.record({
    workload: workloadArb(profile),
    plan: crashPlanArb,
    // Injected errors in half the cases: the error paths are where durability bugs hide.
    errors: sometimes<ErrorPlan>(profile.errors, errorPlanArb, {}, 3),
    corruption: sometimes<readonly Corruption[]>(profile.corruption, fc.array(corruptionArb, { minLength: 1, maxLength: 2 }), [], 1),
    imagesPerRun: fc.constant(profile.imagesPerRun),
    recoveryCrash: sometimes<RecoveryCrash | null>(profile.recoveryCrash, recoveryCrashArb, null, 1),
  });
}
