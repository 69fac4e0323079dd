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
import type { BaseSpec, Step, TxnSpec, Workload } from './crashWorkload.js';
import { keyPrefix, type BulkInsert, type KeyWidth, type WorkloadOp } from './workloadShapes.js';

/**
 * The version of the case generator: a `SEED:PATH` address means one case only under the
 * generator that printed it. Bump it with any change to what these arbitraries draw or how they
 * shrink (test/cli/failures.test.ts pins a fingerprint of drawn cases to this number). Saved
 * failures store their case itself and replay from it, whatever the version.
 */
export const GENERATOR_VERSION = 2;

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

/**
 * Key indices of the bulk key space (workloadShapes.ts): bulk inserts, range removes, snapshot
 * ranges and bases all draw from it, so they meet each other's keys. Its width follows the
 * workload's scale (a few bulk inserts' worth), so that small workloads overlap too.
 */
const indexSpan = (bulkKeysMax: number): number => 4 * bulkKeysMax;

/**
 * How large a workload's bulk inserts get: most workloads stay small (a bulk insert of a few
 * dozen keys is a split or two, and with wide keys on small pages a few levels), some reach
 * hundreds, a few thousands. With BASE_MIX, the constants to retune as checking large images
 * gets cheaper: each entry is a relative weight and the most keys one bulk insert writes.
 */
export const WORKLOAD_SCALES: ReadonlyArray<{ readonly weight: number; readonly bulkKeysMax: number }> = [
  { weight: 20, bulkKeysMax: 16 },
  { weight: 3, bulkKeysMax: 200 },
  { weight: 1, bulkKeysMax: 2_000 },
];
/** Mostly the low end of the scale's sizes. */
const bulkCountArb = (max: number): fc.Arbitrary<number> => fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: Math.max(1, Math.floor(max / 8)) }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max }) },
);
/** Wide keys make deep trees from few keys: near the format's limit a 512-byte page holds about four. */
const keyWidthArb: fc.Arbitrary<KeyWidth> = fc.oneof(
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) },
  { weight: 6, arbitrary: fc.integer({ min: 4, max: 16 }) },
  { weight: 2, arbitrary: fc.integer({ min: 17, max: 120 }) },
  { weight: 2, arbitrary: fc.constant<KeyWidth>('max') },
  { weight: 1, arbitrary: fc.constant<KeyWidth>('over') },
);
/** From empty values to several overflow pages (of the largest page size drawn). */
const bulkValueArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 16 }) },
  { weight: 2, arbitrary: fc.integer({ min: 17, max: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 301, max: 20_000 }) },
);
/** Value bytes allowed by a bulk insert's size: overflow chains only for a few keys, so a transaction stays small. */
const valueBytesFor = (count: number, drawn: number): number => Math.min(drawn, count <= 4 ? drawn : count <= 64 ? 300 : 64);
const bulkArb = (bulkKeysMax: number): fc.Arbitrary<BulkInsert> => fc.record({
  op: fc.constant('bulk' as const),
  table: fc.constantFrom(...TABLES),
  from: fc.integer({ min: 0, max: indexSpan(bulkKeysMax) }),
  count: bulkCountArb(bulkKeysMax),
  order: fc.constantFrom<BulkInsert['order']>('asc', 'desc', 'random'),
  width: keyWidthArb,
  valueBytes: bulkValueArb,
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
}).map((bulk) => ({ ...bulk, valueBytes: valueBytesFor(bulk.count, bulk.valueBytes) }));

/**
 * A range of the key space removed key by key: mostly a stretch about one bulk insert long (it
 * empties some leaves and leaves its neighbours underfull: merges and redistributions), now and
 * then open at one end or both (a whole table, key by key: the root shrinks level by level).
 */
const removeRangeArb = (bulkKeysMax: number): fc.Arbitrary<ModelOp> => fc.record({
  table: fc.constantFrom(...TABLES),
  from: fc.integer({ min: 0, max: indexSpan(bulkKeysMax) }),
  span: fc.integer({ min: 1, max: bulkKeysMax }),
  open: fc.constantFrom('none', 'none', 'none', 'none', 'start', 'end', 'both'),
}).map(({ table, from, span, open }): ModelOp => ({
  op: 'removeRange', table,
  start: open === 'start' || open === 'both' ? undefined : keyPrefix(from),
  end: open === 'end' || open === 'both' ? undefined : keyPrefix(from + span),
}));

const bulkRemoveArb = (bulkKeysMax: number): fc.Arbitrary<WorkloadOp> => fc.record({
  op: fc.constant('bulkRemove' as const),
  table: fc.constantFrom(...TABLES),
  from: fc.integer({ min: 0, max: indexSpan(bulkKeysMax) }),
  count: bulkCountArb(bulkKeysMax),
  stride: fc.integer({ min: 2, max: 4 }),
});

const opArb = (bulkKeysMax: number): fc.Arbitrary<WorkloadOp> => fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant('insert' as const), table: fc.constantFrom(...TABLES), key: keyArb, value: valueArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('remove' as const), table: fc.constantFrom(...TABLES), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const), table: fc.constantFrom(...TABLES) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), table: fc.constantFrom(...TABLES) }) },
  { weight: 2, arbitrary: bulkArb(bulkKeysMax) },
  { weight: 1, arbitrary: removeRangeArb(bulkKeysMax) },
  { weight: 1, arbitrary: bulkRemoveArb(bulkKeysMax) },
);

function txnsArb(families: number, bulkKeysMax: number): fc.Arbitrary<TxnSpec[]> {
  return fc.uniqueArray(fc.integer({ min: 0, max: families - 1 }), { minLength: 1, maxLength: families }).chain((picked) =>
    fc.tuple(...picked.map((family) => fc.record({
      family: fc.constant(family),
      ops: fc.array(opArb(bulkKeysMax), { minLength: 1, maxLength: 12 }),
      durability: fc.constantFrom<'immediate' | 'none'>('immediate', 'immediate', 'none'),
      abort: fc.constantFrom(false, false, false, false, true),
    }))));
}

function snapshotArb(families: number, bulkKeysMax: number): fc.Arbitrary<Step> {
  return fc.record({
    family: fc.integer({ min: 0, max: families - 1 }),
    from: fc.integer({ min: 0, max: indexSpan(bulkKeysMax) }),
    span: fc.integer({ min: 0, max: 2 * bulkKeysMax }),
  }).map(({ family, from, span }): Step => ({ kind: 'snapshot', family, from, to: from + span }));
}

/**
 * Steps of a workload. A `drop` (delete a family and create it again) only on the column-family
 * store: the standalone file has one family and no deletion.
 */
function stepArb(families: number, store: 'families' | 'single', bulkKeysMax: number): fc.Arbitrary<Step> {
  const kinds: Array<fc.WeightedArbitrary<Step>> = [
    { weight: 12, arbitrary: txnsArb(families, bulkKeysMax).map((txns): Step => ({ kind: 'txns', txns })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'checkpoint' }) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'reopen' }) },
    { weight: 1, arbitrary: snapshotArb(families, bulkKeysMax) },
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

/**
 * How often a case starts from a base database, and how large: the one constant to retune as
 * checking large images gets cheaper. Each entry: relative weight, keys per family (0: an empty
 * directory). A base is built once per configuration; what every case still pays is reading
 * (and comparing) its state at each crash image.
 */
export const BASE_MIX: ReadonlyArray<{ readonly weight: number; readonly keys: number }> = [
  { weight: 40, keys: 0 },
  { weight: 3, keys: 300 },
  { weight: 1, keys: 1_000 },
];

const baseArb: fc.Arbitrary<BaseSpec | undefined> = fc.oneof(...BASE_MIX.map(({ weight, keys }) => ({
  weight,
  arbitrary: keys === 0 ? fc.constant(undefined) : fc.record({
    keys: fc.constant(keys),
    // Few variants, so bases are shared more; building one costs a few hundred ms on a busy machine.
    widthBytes: fc.constantFrom(4, 8),
    valueBytes: fc.constantFrom(0, 8),
  }),
})));

export function workloadArb(profile: CrashProfile): fc.Arbitrary<Workload> {
  const scaleArb = fc.oneof(...WORKLOAD_SCALES.map(({ weight, bulkKeysMax }) => ({ weight, arbitrary: fc.constant(bulkKeysMax) })));
  return fc.tuple(storeArb, fc.integer({ min: 1, max: 3 }), scaleArb).chain(([store, drawnFamilies, bulkKeysMax]) => {
    const families = store === 'single' ? 1 : drawnFamilies;
    return fc.record({
      store: fc.constant(store),
      families: fc.constant(families),
      options: optionsArb(profile).map((options) => (store === 'single' ? { ...options, wal: false } : options)),
      steps: fc.array(stepArb(families, store, bulkKeysMax), { minLength: 1, maxLength: profile.maxSteps }),
      scheduleSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      base: baseArb,
    }).map(({ base, ...workload }): Workload => (base === undefined ? workload : { ...workload, base }));
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
  // A family's two commit slots (bytes 64..191 of its page 0): a damaged newest slot sends
  // recovery to the older one, whose log records may no longer chain to it.
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 2, max: ANCHORS - 1 }), fc.integer({ min: 64, max: 191 })).map(([anchor, delta]) => ({ offset: delta, live: false, anchor })) },
);

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  fc.tuple(fc.constantFrom('crashlab.cf', 'crashlab.cf.wal'), flipPlaceArb, fc.integer({ min: 0, max: 7 }))
    .map(([file, place, bit]): Corruption => ({ kind: 'flip', file, ...place, bit })),
  fc.record({ kind: fc.constant('unreadable' as const), file: fc.constantFrom('crashlab.cf', 'crashlab.cf.wal'), offset: fc.nat({ max: 400_000 }), lengthBytes: fc.constant(512) }),
);

/**
 * One bit flipped in a header slot and the same bit in its mirror (the log's slots are mirrored
 * 2048 bytes on, a family's commit slots 128 bytes on: engine/wal.ts, engine/format.ts): damage
 * one copy alone never reaches, which sends recovery to the older slot. Where trust goes: this
 * knows the reference engine's mirror distances; for another store it is two flips near a header.
 */
const twinFlipArb: fc.Arbitrary<readonly Corruption[]> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 127 }), fc.integer({ min: 0, max: 7 })).map(([offset, bit]): readonly Corruption[] => [
    { kind: 'flip', file: 'crashlab.cf.wal', offset, live: false, bit, twin: true },
    { kind: 'flip', file: 'crashlab.cf.wal', offset: offset + 2048, live: false, bit, twin: true },
  ]),
  fc.tuple(fc.integer({ min: 2, max: ANCHORS - 1 }), fc.integer({ min: 64, max: 191 }), fc.integer({ min: 0, max: 7 })).map(([anchor, offset, bit]): readonly Corruption[] => [
    { kind: 'flip', file: 'crashlab.cf', offset, live: false, anchor, bit, twin: true },
    { kind: 'flip', file: 'crashlab.cf', offset: offset + 128, live: false, anchor, bit, twin: true },
  ]),
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
    corruption: sometimes<readonly Corruption[]>(profile.corruption, fc.oneof(
      { weight: 4, arbitrary: fc.array(corruptionArb, { minLength: 1, maxLength: 2 }) },
      { weight: 1, arbitrary: twinFlipArb },
    ), [], 1),
    imagesPerRun: fc.constant(profile.imagesPerRun),
    recoveryCrash: sometimes<RecoveryCrash | null>(profile.recoveryCrash, recoveryCrashArb, null, 1),
  });
}
