// Reach: the crash workloads drive the engine's structural paths (splits of branches,
// merges, redistributions, root changes, replay merges, bounded scans, readers holding pages,
// the family chain check), and bugs on those paths are now caught by the crash property.
import test from 'ava';
import * as referenceEngine from '../../engine/index.js';
import type { ColumnFamilyOptions } from '../../engine/index.js';
import { addShapes, countShape, formatShape, type CampaignShape } from '../../properties/campaignShape.js';
import { runCrashCase, type CrashCase } from '../../properties/crashCase.js';
import type { Step, TxnSpec, WorkloadTally } from '../../properties/crashWorkload.js';
import { plantEngine } from '../../mutants/plantEngine.js';
import { runCrashCampaign } from '../../properties/runCrash.js';
import { keyPrefix, type WorkloadOp } from '../../properties/workloadShapes.js';

const OPTIONS: ColumnFamilyOptions = {
  wal: true, barrier: 'wal-aware', pageBytes: 512, writeBufferBytes: 4 * 512, evictionHighWater: 0.8, evictionLowWater: 0.4,
  walCheckpointBytes: 64 * 1024 * 1024, initialSegmentBytes: 64 * 512,
};

const txn = (ops: WorkloadOp[], durability: 'immediate' | 'none' = 'immediate'): Step =>
  ({ kind: 'txns', txns: [{ family: 0, ops, durability, abort: false } satisfies TxnSpec] });

/**
 * Every structural path in one case: a base of 400 keys, wide keys in random order (branch
 * splits, a new branch root), a snapshot held across commits and checkpoints, strided and
 * contiguous removes (redistributions, merges, root shrinks), large values (overflow chains),
 * and records left in the log past two checkpoints, so recovery replays removes (replay merges)
 * and, with the newest commit slot flipped, must refuse a record that no longer chains.
 */
const STEPS: Step[] = [
  txn([{ op: 'bulk', table: 't0', from: 400, count: 300, order: 'random', width: 'max', valueBytes: 0, seed: 5 }]),
  { kind: 'snapshot', family: 0, from: 0, to: 500 },
  txn([{ op: 'bulkRemove', table: 't0', from: 0, count: 150, stride: 2 }, { op: 'bulk', table: 't1', from: 0, count: 2, order: 'asc', width: 8, valueBytes: 3000, seed: 1 }]),
  { kind: 'checkpoint' },
  txn([{ op: 'removeRange', table: 't0', start: keyPrefix(450), end: keyPrefix(650) }]),
  { kind: 'checkpoint' },
  txn([{ op: 'removeRange', table: 't0', start: keyPrefix(100), end: keyPrefix(390) }], 'none'),
  txn([{ op: 'bulk', table: 't0', from: 0, count: 60, order: 'desc', width: 'over', valueBytes: 1, seed: 2 }]),
];

function reachCase(flipSlot: 0 | 1 | null): CrashCase {
  return {
    workload: { families: 1, options: OPTIONS, steps: STEPS, scheduleSeed: 1, base: { keys: 400, widthBytes: 24, valueBytes: 8 } },
    // The plan's seed samples the crash points: seed 1 keeps one that replays a merge.
    plan: { survival: 'all', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: true, seed: 1 },
    errors: {},
    // The first family's commit slots sit 64 bytes into its first segment (at 128 KiB), their
    // mirrors 128 bytes further: one damaged copy alone is read past.
    corruption: flipSlot === null ? [] : [0, 128].map((mirror) => ({ kind: 'flip', file: 'crashlab.cf', offset: 128 * 1024 + 64 + 64 * flipSlot + mirror + 20, live: false, bit: 1, twin: true })),
    imagesPerRun: 24,
    recoveryCrash: null,
  };
}

async function shapeOf(crashCase: CrashCase): Promise<CampaignShape> {
  const end = countShape(referenceEngine);
  const result = await runCrashCase(referenceEngine, crashCase, { secondLife: false });
  const { snapshots, boundedRanges }: WorkloadTally = result.tally;
  if (result.violation !== null) throw new Error(`${result.violation.kind}: ${result.violation.detail}`);
  return end({ snapshots, boundedRanges });
}

test.serial('one fixed case reaches every structural path of the engine, and the shape line says so', async (t) => {
  const plain = await shapeOf(reachCase(null));
  // One of the two slots is the newest: flipping it sends recovery to the older one.
  const flipped = [await shapeOf(reachCase(0)), await shapeOf(reachCase(1))];
  t.log(formatShape(plain));
  t.true(plain.engineCounted);
  t.true(plain.depth >= 3, `depth ${plain.depth}`);
  for (const name of ['leafSplits', 'branchSplits', 'merges', 'replayMerges', 'redistributions', 'rootGrowths', 'rootShrinks',
    'overflowChains', 'boundedScans', 'readerHolds', 'snapshots', 'boundedRanges'] as const) {
    t.true(plain[name] > 0, `${name} reached (${plain[name]})`);
  }
  t.is(plain.chainRejections, 0, 'without damage every log record chains');
  t.true(flipped.some((shape) => shape.chainRejections > 0), 'a damaged newest slot makes recovery refuse the record after it');
  t.regex(formatShape(plain), /^shape: tree depth \d+, splits \d+ \(branch [1-9]\d*\)/);
});

test.serial('the default campaign reaches the structural paths the crash workloads used to miss', async (t) => {
  // A small fixed campaign per barrier: the paths of issue 11's table, each reached.
  let shape: CampaignShape | undefined;
  for (const barrier of ['always', 'wal-aware'] as const) {
    const result = await runCrashCampaign({ seed: 1, numRuns: 60, profile: 'default', barrier });
    t.true(result.ok, result.failure?.violation.detail);
    shape = addShapes(shape, result.shape);
  }
  t.log(formatShape(shape!));
  for (const name of ['branchSplits', 'merges', 'rootGrowths', 'readerHolds', 'boundedRanges'] as const) t.true(shape![name] > 0, name);
  t.true(shape!.depth >= 3);
});

test.serial('a branch split that hands up the wrong separator is caught by the crash property', async (t) => {
  const engine = await plantEngine('branch-split-separator', [
    { file: 'btree.js', find: 'const up = node.keys[m - 1];', replace: 'const up = node.keys[m - 2] ?? node.keys[m - 1];' },
  ]);
  const result = await runCrashCampaign({ seed: 1, numRuns: 100, profile: 'default', engine, shrink: false });
  t.false(result.ok);
  t.log(`${result.failure?.violation.kind}: ${result.failure?.violation.detail.slice(0, 160)}`);
});

test.serial('a reader that does not hold back page reuse is caught live, by the held snapshot', async (t) => {
  const engine = await plantEngine('reader-ignored', [
    { file: 'database.js', find: 'for (const txnId of this.readers.keys())', replace: 'for (const txnId of [])' },
  ]);
  const result = await runCrashCase(engine, reachCase(null), { secondLife: false });
  t.is(result.violation?.kind, 'snapshot', result.violation?.detail);
  t.is(result.images, 0, 'found before any crash image was judged');
  const clean = await runCrashCase(referenceEngine, reachCase(null), { secondLife: false });
  t.is(clean.violation, null);
});
